//! From CIF data blocks to [`Phase`]s: cell with su, space group, sites with mixed occupancy.

use super::symops::resolve_space_group;
use super::syntax::{parse_blocks, CifLoop, CifValue, DataBlock};
use crate::error::{Error, Result};
use bragg_crystal::structure::{Occupant, Phase, Site};
use bragg_crystal::{Cell, Element, Species};
use std::f64::consts::PI;
use std::path::Path;

/// Two rows of `_atom_site_` whose fractional coordinates differ by less than this (modulo
/// whole lattice translations) describe one site shared by several species.
pub const SAME_POSITION_TOLERANCE: f64 = 1e-4;

/// Standard uncertainties of the cell parameters (Å, degrees), where the file gives them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CellSu {
    /// su of a, Å.
    pub a: Option<f64>,
    /// su of b, Å.
    pub b: Option<f64>,
    /// su of c, Å.
    pub c: Option<f64>,
    /// su of α, degrees.
    pub alpha_deg: Option<f64>,
    /// su of β, degrees.
    pub beta_deg: Option<f64>,
    /// su of γ, degrees.
    pub gamma_deg: Option<f64>,
}

/// Standard uncertainties of one site's parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteSu {
    /// su of the fractional coordinates x, y, z.
    pub position: [Option<f64>; 3],
    /// su of each occupant's occupancy, in the order of [`Site::occupants`].
    pub occupancy: Vec<Option<f64>>,
    /// su of B_iso in Å² (8π² × su of U_iso when the file gives U; `None` for a B_eq
    /// reduced from anisotropic U, whose su would need the covariances).
    pub biso: Option<f64>,
}

/// Standard uncertainties of a phase, in the order of its sites.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhaseSu {
    /// Cell parameters.
    pub cell: CellSu,
    /// One entry per site of the phase.
    pub sites: Vec<SiteSu>,
}

/// A phase read from one CIF data block, with what the file says beyond the model.
#[derive(Debug, Clone, PartialEq)]
pub struct CifPhase {
    /// The validated phase, named after the data block (`data_LTNO` → `LTNO`).
    pub phase: Phase,
    /// Standard uncertainties given in the file.
    pub su: PhaseSu,
    /// 1-based line of the `data_` header.
    pub block_line: usize,
    /// For each site, the 1-based lines of the `_atom_site_` rows merged into it (one per
    /// occupant).
    pub site_lines: Vec<Vec<usize>>,
    /// `_pd_phase_name`, when given (GSAS-II writes the phase name there).
    pub pd_phase_name: Option<String>,
    /// Things that were read with an assumption, each naming its line (no displacement
    /// parameter given, a negative U set to 0, a symbol not recognised, ...).
    pub warnings: Vec<String>,
}

/// Reads every data block of a CIF 1.1 file that describes a structure (see
/// [`parse_cif_phases`]).
pub fn read_cif(path: &Path) -> Result<Vec<CifPhase>> {
    let bytes =
        std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let text = String::from_utf8_lossy(&bytes);
    parse_cif_phases(&text, path)
}

/// Builds one [`CifPhase`] per data block of CIF text that has a cell or atom sites; blocks with
/// neither (publication data, `data_global`) are skipped. `path` names the file in messages.
///
/// * Cell: `_cell_length_a/b/c` (required), `_cell_angle_alpha/beta/gamma` (default 90°, the
///   coreCIF dictionary default), su kept in [`CellSu`].
/// * Space group, first usable of: `_space_group_name_H-M_alt`,
///   `_symmetry_space_group_name_H-M`, `_space_group_name_Hall`, `_symmetry_space_group_name_Hall`,
///   `_space_group_IT_number`, `_symmetry_Int_Tables_number`; a stated number must agree with
///   the symbol. When operators are listed (`_space_group_symop_operation_xyz` or
///   `_symmetry_equiv_pos_as_xyz`) they must be exactly the group's (another setting of the
///   same group is looked up from them); with operators only, the setting is identified
///   from them. A mismatch is an error, never silently ignored.
/// * Sites from the `_atom_site_` loop: label (else type symbol and row number), species from
///   `_atom_site_type_symbol` (e.g. `O2-`, `Co+3`) or from the label's leading letters,
///   `fract_x/y/z`, occupancy (default 1), displacement from the `_atom_site_aniso_` loop
///   (B_eq, see [`ueq_from_uij`]), else `B_iso_or_equiv`, else `U_iso_or_equiv` (B = 8π²U),
///   else B = 0 with a warning. Rows with `_atom_site_calc_flag dum` are skipped. Rows at the
///   same position (within [`SAME_POSITION_TOLERANCE`], modulo lattice translations) become
///   one site with several occupants, labelled as the first row. Symmetry-equivalent but
///   different coordinates are not merged.
/// * `_cell_formula_units_Z` into [`Phase::z`].
///
/// A negative U or B (a refinement artefact, e.g. GSAS-II's CuCr2O4 O at −0.004 Å²) is set to
/// B = 0 with a warning, since [`Phase`] requires B ≥ 0.
pub fn parse_cif_phases(text: &str, path: &Path) -> Result<Vec<CifPhase>> {
    let blocks = parse_blocks(text, path)?;
    let mut phases = Vec::new();
    for block in &blocks {
        let has_cell = block.value("_cell_length_a").is_some()
            || block.value("_cell_length_b").is_some()
            || block.value("_cell_length_c").is_some();
        let has_sites = block.find_loop("_atom_site_fract_x").is_some()
            || block.value("_atom_site_fract_x").is_some();
        if has_cell || has_sites {
            phases.push(block_to_phase(block, path)?);
        }
    }
    if phases.is_empty() {
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: blocks.first().map_or(1, |b| b.line),
            what: "a data block with a crystal structure (_cell_length_a, _atom_site_fract_x)"
                .to_string(),
        });
    }
    Ok(phases)
}

/// A required or defaulted number from a tag–value pair.
fn number_of(
    block: &DataBlock,
    path: &Path,
    tag: &str,
    default: Option<f64>,
) -> Result<(f64, Option<f64>, usize)> {
    match block.value(tag) {
        Some(v) if !v.is_null() => {
            let (x, su) = number(v, path, tag)?;
            Ok((x, su, v.line))
        }
        _ => match default {
            Some(d) => Ok((d, None, block.line)),
            None => Err(Error::Missing {
                path: path.to_path_buf(),
                line: block.line,
                what: format!("{tag} in data block '{}'", block.name),
            }),
        },
    }
}

fn number(v: &CifValue, path: &Path, what: &str) -> Result<(f64, Option<f64>)> {
    v.number().ok_or_else(|| Error::Parse {
        path: path.to_path_buf(),
        line: v.line,
        message: format!(
            "{what}: '{}' is not a number (expected e.g. 4.1403 or 4.1403(2))",
            v.text
        ),
    })
}

fn block_to_phase(block: &DataBlock, path: &Path) -> Result<CifPhase> {
    let crystal_err = |line: usize, source: bragg_crystal::Error| Error::Crystal {
        path: path.to_path_buf(),
        line,
        source,
    };
    let (a, a_su, a_line) = number_of(block, path, "_cell_length_a", None)?;
    let (b, b_su, _) = number_of(block, path, "_cell_length_b", None)?;
    let (c, c_su, _) = number_of(block, path, "_cell_length_c", None)?;
    let (al, al_su, _) = number_of(block, path, "_cell_angle_alpha", Some(90.0))?;
    let (be, be_su, _) = number_of(block, path, "_cell_angle_beta", Some(90.0))?;
    let (ga, ga_su, _) = number_of(block, path, "_cell_angle_gamma", Some(90.0))?;
    let cell = Cell::new(a, b, c, al, be, ga).map_err(|e| crystal_err(a_line, e))?;
    let cell_su =
        CellSu { a: a_su, b: b_su, c: c_su, alpha_deg: al_su, beta_deg: be_su, gamma_deg: ga_su };

    let resolved = resolve_space_group(block, path)?;
    let mut warnings = resolved.warnings;

    let rows = read_site_rows(block, path, &cell, &mut warnings)?;
    let (sites, site_su, site_lines) = merge_rows(rows, &mut warnings);

    let z = match block.non_null("_cell_formula_units_z") {
        Some(v) => {
            let (z, _) = number(v, path, "_cell_formula_units_Z")?;
            if !(z.is_finite() && z > 0.0) {
                return Err(Error::Data {
                    path: path.to_path_buf(),
                    line: v.line,
                    message: format!("_cell_formula_units_Z = {z} must be positive"),
                });
            }
            Some(z)
        }
        None => None,
    };
    if sites.is_empty() {
        warnings.push(format!(
            "data block '{}' (line {}) has a cell but no atom sites",
            block.name, block.line
        ));
    }
    let mut phase = Phase::new(block.name.clone(), cell, resolved.group, sites)
        .map_err(|e| crystal_err(block.line, e))?;
    phase.z = z;
    Ok(CifPhase {
        phase,
        su: PhaseSu { cell: cell_su, sites: site_su },
        block_line: block.line,
        site_lines,
        pd_phase_name: block.non_null("_pd_phase_name").map(|v| v.text.clone()),
        warnings,
    })
}

/// One `_atom_site_` row, before rows at a common position are merged.
struct SiteRow {
    label: String,
    species: Species,
    position: [f64; 3],
    position_su: [Option<f64>; 3],
    occupancy: f64,
    occupancy_su: Option<f64>,
    biso: f64,
    biso_su: Option<f64>,
    line: usize,
}

fn read_site_rows(
    block: &DataBlock,
    path: &Path,
    cell: &Cell,
    warnings: &mut Vec<String>,
) -> Result<Vec<SiteRow>> {
    let Some(sites) = block.find_loop("_atom_site_fract_x") else {
        return Ok(Vec::new());
    };
    let missing = |what: &str| Error::Missing {
        path: path.to_path_buf(),
        line: sites.line,
        what: format!("{what} in the _atom_site_ loop of data block '{}'", block.name),
    };
    let col = |tag: &str| sites.column(tag);
    let cx = col("_atom_site_fract_x").ok_or_else(|| missing("_atom_site_fract_x"))?;
    let cy = col("_atom_site_fract_y").ok_or_else(|| missing("_atom_site_fract_y"))?;
    let cz = col("_atom_site_fract_z").ok_or_else(|| missing("_atom_site_fract_z"))?;
    let c_label = col("_atom_site_label");
    let c_type = col("_atom_site_type_symbol");
    if c_label.is_none() && c_type.is_none() {
        return Err(missing("_atom_site_label or _atom_site_type_symbol"));
    }
    let c_occ = col("_atom_site_occupancy");
    let c_u = col("_atom_site_u_iso_or_equiv");
    let c_b = col("_atom_site_b_iso_or_equiv");
    let c_flag = col("_atom_site_calc_flag");
    let aniso = block.find_loop("_atom_site_aniso_label");

    let mut out = Vec::new();
    for (k, row) in sites.rows().enumerate() {
        let get = |c: Option<usize>| c.and_then(|c| row.get(c)).filter(|v| !v.is_null());
        let line = row.first().map_or(sites.line, |v| v.line);
        if get(c_flag).is_some_and(|v| v.text.eq_ignore_ascii_case("dum")) {
            continue;
        }
        let label = match get(c_label) {
            Some(v) => v.text.clone(),
            None => format!("{}{}", get(c_type).map_or("X", |v| v.text.as_str()), k + 1),
        };
        let species = match get(c_type) {
            Some(v) => Species::parse(&v.text).map_err(|source| Error::Crystal {
                path: path.to_path_buf(),
                line: v.line,
                source,
            })?,
            None => species_from_label(&label).map_err(|source| Error::Crystal {
                path: path.to_path_buf(),
                line,
                source,
            })?,
        };
        let mut position = [0.0; 3];
        let mut position_su = [None; 3];
        for (i, (c, name)) in
            [(cx, "_atom_site_fract_x"), (cy, "_atom_site_fract_y"), (cz, "_atom_site_fract_z")]
                .into_iter()
                .enumerate()
        {
            let v = get(Some(c)).ok_or_else(|| Error::Data {
                path: path.to_path_buf(),
                line,
                message: format!("site {label}: {name} is unknown ('?' or '.')"),
            })?;
            let (x, su) = number(v, path, &format!("site {label} {name}"))?;
            position[i] = x;
            position_su[i] = su;
        }
        let (occupancy, occupancy_su) = match get(c_occ) {
            Some(v) => number(v, path, &format!("site {label} _atom_site_occupancy"))?,
            None => (1.0, None),
        };
        // Displacement: anisotropic (reduced to B_eq), else B_iso, else U_iso.
        let eight_pi2 = 8.0 * PI * PI;
        let mut adp: Option<(f64, Option<f64>, usize, &str)> = None;
        if let Some(l) = aniso {
            if let Some(u) = aniso_row(l, &label, path)? {
                adp = Some((eight_pi2 * ueq_from_uij(cell, u.0), None, u.1, "U_aniso"));
            }
        }
        if adp.is_none() {
            if let Some(v) = get(c_b) {
                let (b, su) = number(v, path, &format!("site {label} _atom_site_B_iso_or_equiv"))?;
                adp = Some((b, su, v.line, "B_iso"));
            } else if let Some(v) = get(c_u) {
                let (u, su) = number(v, path, &format!("site {label} _atom_site_U_iso_or_equiv"))?;
                adp = Some((eight_pi2 * u, su.map(|s| eight_pi2 * s), v.line, "U_iso"));
            }
        }
        let (biso, biso_su) = match adp {
            Some((b, su, l, what)) if b < 0.0 => {
                warnings.push(format!(
                    "line {l}: site {label} has a negative {what} (B = {b:.4} Å²); B set to 0"
                ));
                (0.0, su)
            }
            Some((b, su, _, _)) => (b, su),
            None => {
                warnings.push(format!(
                    "line {line}: site {label} has no displacement parameter; B = 0 Å² assumed"
                ));
                (0.0, None)
            }
        };
        out.push(SiteRow {
            label,
            species,
            position,
            position_su,
            occupancy,
            occupancy_su,
            biso,
            biso_su,
            line,
        });
    }
    Ok(out)
}

/// The U_ij (Å²; order U11, U22, U33, U12, U13, U23) of a label in the `_atom_site_aniso_`
/// loop, with its line. B_ij are converted to U_ij = B_ij/(8π²).
fn aniso_row(l: &CifLoop, label: &str, path: &Path) -> Result<Option<([f64; 6], usize)>> {
    let Some(c_label) = l.column("_atom_site_aniso_label") else { return Ok(None) };
    let Some(row) = l.rows().find(|r| r.get(c_label).is_some_and(|v| v.text == label)) else {
        return Ok(None);
    };
    let line = row.first().map_or(l.line, |v| v.line);
    let names = ["11", "22", "33", "12", "13", "23"];
    for (prefix, scale) in
        [("_atom_site_aniso_u_", 1.0), ("_atom_site_aniso_b_", 1.0 / (8.0 * PI * PI))]
    {
        let cols: Vec<Option<usize>> =
            names.iter().map(|n| l.column(&format!("{prefix}{n}"))).collect();
        if cols.iter().all(Option::is_none) {
            continue;
        }
        let mut u = [0.0; 6];
        for (k, c) in cols.iter().enumerate() {
            let Some(v) = c.and_then(|c| row.get(c)) else {
                return Err(Error::Missing {
                    path: path.to_path_buf(),
                    line: l.line,
                    what: format!("{prefix}{} in the aniso loop", names[k]),
                });
            };
            if v.is_null() {
                return Ok(None);
            }
            u[k] = number(v, path, &format!("site {label} {prefix}{}", names[k]))?.0 * scale;
        }
        return Ok(Some((u, line)));
    }
    Ok(None)
}

/// The equivalent isotropic displacement U_eq (Å²) of anisotropic U_ij (order U11, U22, U33,
/// U12, U13, U23, referred to the reciprocal-axis-normalised basis of CIF):
/// U_eq = ⅓ Σ_ij U_ij a*_i a*_j (a_i·a_j).
///
/// Source: R. X. Fischer & E. Tillmanns, Acta Cryst. C44, 775–776 (1988), eq. (1); exact for
/// any cell (for orthogonal axes it reduces to ⅓(U11 + U22 + U33)). Multiply by 8π² for B_eq.
pub fn ueq_from_uij(cell: &Cell, u: [f64; 6]) -> f64 {
    let g = cell.metric();
    let r = cell.reciprocal();
    let astar = [r.a_star, r.b_star, r.c_star];
    let [u11, u22, u33, u12, u13, u23] = u;
    let um = [[u11, u12, u13], [u12, u22, u23], [u13, u23, u33]];
    let mut sum = 0.0;
    for i in 0..3 {
        for j in 0..3 {
            sum += um[i][j] * astar[i] * astar[j] * g[(i, j)];
        }
    }
    sum / 3.0
}

/// The species named by a label's leading letters (`Li1` → Li, `O2a` → O, `Co1` → Co): the
/// two-letter element if it exists, else the one-letter one.
fn species_from_label(label: &str) -> bragg_crystal::Result<Species> {
    let letters: Vec<char> = label.chars().take_while(char::is_ascii_alphabetic).collect();
    let first = letters.first().map(char::to_ascii_uppercase);
    if let (Some(f), Some(s)) = (first, letters.get(1)) {
        let two = format!("{f}{}", s.to_ascii_lowercase());
        if let Ok(element) = Element::from_symbol(&two) {
            return Ok(Species { element, charge: 0 });
        }
    }
    match first {
        Some(f) => {
            Element::from_symbol(&f.to_string()).map(|element| Species { element, charge: 0 })
        }
        None => Err(bragg_crystal::Error::UnknownElement { symbol: label.to_string() }),
    }
}

fn same_position(a: [f64; 3], b: [f64; 3]) -> bool {
    a.iter().zip(&b).all(|(x, y)| {
        let d = x - y;
        (d - d.round()).abs() < SAME_POSITION_TOLERANCE
    })
}

fn merge_rows(
    rows: Vec<SiteRow>,
    warnings: &mut Vec<String>,
) -> (Vec<Site>, Vec<SiteSu>, Vec<Vec<usize>>) {
    let mut sites: Vec<Site> = Vec::new();
    let mut sus: Vec<SiteSu> = Vec::new();
    let mut lines: Vec<Vec<usize>> = Vec::new();
    for row in rows {
        let occupant = Occupant { species: row.species, occupancy: row.occupancy };
        if let Some(k) = sites.iter().position(|s| same_position(s.position, row.position)) {
            let site = &mut sites[k];
            if (site.biso - row.biso).abs() > 1e-6 {
                warnings.push(format!(
                    "line {}: {} shares site {} but has B = {:.4} Å² instead of {:.4}; the first row's B is kept",
                    row.line, row.label, site.label, row.biso, site.biso
                ));
            }
            site.occupants.push(occupant);
            sus[k].occupancy.push(row.occupancy_su);
            lines[k].push(row.line);
        } else {
            sites.push(Site::new(row.label, row.position, vec![occupant], row.biso));
            sus.push(SiteSu {
                position: row.position_su,
                occupancy: vec![row.occupancy_su],
                biso: row.biso_su,
            });
            lines.push(vec![row.line]);
        }
    }
    (sites, sus, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ueq_orthogonal_and_monoclinic_limits() {
        // Orthogonal axes: U_eq = (U11 + U22 + U33)/3 (Fischer & Tillmanns 1988).
        let cell = Cell::new(5.0, 6.0, 7.0, 90.0, 90.0, 90.0).unwrap();
        let u = [0.01, 0.02, 0.03, 0.004, 0.005, 0.006];
        assert!((ueq_from_uij(&cell, u) - 0.02).abs() < 1e-15);
        // Monoclinic (unique b): U_eq = ⅓[U22 + (U11 + U33 + 2 U13 cos β)/sin²β]
        // (Fischer & Tillmanns 1988, monoclinic case).
        let beta = 99.8314f64;
        let cell = Cell::new(4.68, 3.42, 5.13, 90.0, beta, 90.0).unwrap();
        let (u11, u22, u33, u13) = (0.011, 0.007, 0.013, 0.003);
        let (sb, cb) = (beta.to_radians().sin(), beta.to_radians().cos());
        let expected = (u22 + (u11 + u33 + 2.0 * u13 * cb) / (sb * sb)) / 3.0;
        assert!((ueq_from_uij(&cell, [u11, u22, u33, 0.0, u13, 0.0]) - expected).abs() < 1e-14);
    }
}
