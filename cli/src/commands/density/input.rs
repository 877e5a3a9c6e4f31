//! Inputs of `bragg density`: values with esd, the CIF cell, the `--table` CSV.

use super::DensityArgs;
use anyhow::{anyhow, bail, Context, Result};
use bragg_crystal::density::{CellVolume, Estimate, Measurements, OxygenLoss};
use bragg_crystal::{CrystalSystem, Element, Phase};
use bragg_io::{read_cif, CifPhase};
use bragg_refine::derived::{cell_volume_gradient, occupancy_mass_derivatives};
use bragg_refine::uncertain::Uncertain;
use serde::Serialize;
use std::path::Path;

/// The columns `--table` accepts (header row; `#` starts a comment line; empty cell = not
/// given). Each row needs `cycle`, one of `volume`/`cif` (a CIF path is relative to the
/// table), one of `delta`/`tm_oxidation`; `z` defaults to `--z` (or, for a CIF, to the anion
/// sites per cell over the pristine O count). A measured `density`, `li_tm` or `capacity` needs
/// its `_esd` column.
pub const TABLE_COLUMNS: [&str; 15] = [
    "cycle",
    "volume",
    "volume_esd",
    "cif",
    "z",
    "delta",
    "delta_esd",
    "tm_oxidation",
    "tm_oxidation_esd",
    "density",
    "density_esd",
    "li_tm",
    "li_tm_esd",
    "capacity",
    "capacity_esd",
];

/// Parses `VALUE±ESD` (also `VALUE+-ESD`, `VALUE+/-ESD` or the CIF form `VALUE(ESD)`), or a
/// plain number when `need_esd` is false (esd 0). `what` names the argument in messages.
pub fn parse_value(text: &str, what: &str, need_esd: bool) -> Result<Estimate> {
    let t = text.trim();
    let num = |s: &str, part: &str| -> Result<f64> {
        let v: f64 = s
            .trim()
            .parse()
            .map_err(|_| anyhow!("{what} '{text}': {part} '{}' is not a number", s.trim()))?;
        if !v.is_finite() {
            bail!("{what} '{text}': {part} must be finite");
        }
        Ok(v)
    };
    let split = ["±", "+/-", "+-"].iter().find_map(|sep| t.split_once(sep));
    let est = if let Some((v, e)) = split {
        Estimate::new(num(v, "value")?, num(e, "esd")?)
    } else if t.contains('(') {
        let u: Uncertain = t.parse().map_err(|e| anyhow!("{what} '{text}': {e}"))?;
        Estimate::new(u.value, u.esd.unwrap_or(0.0))
    } else {
        let v = num(t, "value")?;
        if need_esd {
            bail!(
                "{what} '{text}': a measurement needs its uncertainty; write VALUE±ESD, e.g. \
                 {v}±0.01"
            );
        }
        Estimate::exact(v)
    };
    if est.esd < 0.0 {
        bail!("{what} '{text}': the esd must not be negative");
    }
    if need_esd && est.esd == 0.0 {
        bail!("{what} '{text}': the uncertainty must be positive");
    }
    Ok(est)
}

/// One sample as read from the command line or a table row, before the models are built.
#[derive(Debug, Clone)]
pub(super) struct Input {
    pub(super) cycle: f64,
    pub(super) loss: OxygenLoss,
    /// Which argument/column gave the loss (for messages).
    pub(super) loss_name: String,
    pub(super) cell: CellVolume,
    pub(super) refined: Option<RefinedPhase>,
    pub(super) measurements: Measurements,
}

/// The X-ray density of a refined phase read from a CIF.
#[derive(Debug, Clone, Serialize)]
pub struct RefinedPhase {
    /// The CIF file.
    pub cif: String,
    /// Formula per formula unit of the refined structure.
    pub formula: String,
    /// ρ = M_cell/(N_A·V), g/cm³, from the refined occupancies.
    pub density: f64,
    /// esd from the cell and occupancy su (correlations not in the CIF are neglected).
    pub density_esd: f64,
}

/// Covariance of (a, b, c, α, β, γ) from CIF su: parameters the crystal system ties (a = b = c
/// cubic; a = b tetragonal/hexagonal; a = b = c, α = β = γ rhombohedral axes) fully correlated,
/// others independent (the CIF carries no correlations).
fn cell_covariance(cp: &CifPhase) -> [[f64; 6]; 6] {
    let su = &cp.su.cell;
    let s = [su.a, su.b, su.c, su.alpha_deg, su.beta_deg, su.gamma_deg].map(|x| x.unwrap_or(0.0));
    let cell = &cp.phase.cell;
    let rhombohedral = cell.alpha_deg != 90.0 && cell.alpha_deg == cell.gamma_deg;
    let groups: Vec<Vec<usize>> = match cp.phase.space_group.crystal_system() {
        CrystalSystem::Cubic => vec![vec![0, 1, 2], vec![3], vec![4], vec![5]],
        CrystalSystem::Trigonal if rhombohedral => vec![vec![0, 1, 2], vec![3, 4, 5]],
        CrystalSystem::Tetragonal | CrystalSystem::Trigonal | CrystalSystem::Hexagonal => {
            vec![vec![0, 1], vec![2], vec![3], vec![4], vec![5]]
        }
        _ => (0..6).map(|i| vec![i]).collect(),
    };
    let mut cov = [[0.0; 6]; 6];
    for g in &groups {
        // The tied parameters are one: use the largest su given for any of them.
        let sg = g.iter().map(|&i| s[i]).fold(0.0, f64::max);
        for &i in g {
            for &j in g {
                cov[i][j] = sg * sg;
            }
        }
    }
    cov
}

/// gᵀCg for a 6-vector (first-order propagation, GUM JCGM 100:2008 §5.2).
fn quadratic_form(g: &[f64; 6], cov: &[[f64; 6]; 6]) -> f64 {
    let mut var = 0.0;
    for i in 0..6 {
        for j in 0..6 {
            var += g[i] * cov[i][j] * g[j];
        }
    }
    var.max(0.0)
}

/// Volume (with esd), Z and the refined density of the first phase of a CIF.
fn from_cif(path: &Path, z: Option<f64>, anion_sites: f64) -> Result<(CellVolume, RefinedPhase)> {
    let phases = read_cif(path)?;
    let cp = phases.into_iter().next().ok_or_else(|| anyhow!("{}: no phase", path.display()))?;
    let cov6 = cell_covariance(&cp);
    let phase: &Phase = &cp.phase;
    let (v, grad_v) = cell_volume_gradient(&phase.cell);
    let sigma_v = quadratic_form(&grad_v, &cov6).sqrt();
    let z = match z {
        Some(z) => z,
        None => {
            let o = Element::from_symbol("O")?;
            let sites: usize = phase
                .sites
                .iter()
                .zip(phase.expanded_positions())
                .filter(|(s, _)| s.occupants.iter().any(|oc| oc.species.element == o))
                .map(|(_, orbit)| orbit.len())
                .sum();
            if sites == 0 {
                bail!("{}: no O site, so Z cannot be derived; give --z", path.display());
            }
            sites as f64 / anion_sites
        }
    };
    // The refined phase's own density ρ = M_cell/(N_A·V) with the cell and occupancy su:
    // σ_ρ² = (ρ/V)²σ_V² + Σ_i (ρ/M · ∂M/∂occ_i · σ_occ,i)² (occupancies independent of the
    // cell and of each other, as the CIF carries no correlations).
    let dm = occupancy_mass_derivatives(phase)?;
    let occ_su: Vec<f64> =
        cp.su.sites.iter().flat_map(|s| s.occupancy.iter().map(|x| x.unwrap_or(0.0))).collect();
    let mass = phase.cell_mass()?;
    let rho = phase.density()?;
    let mut var = (rho / v * sigma_v).powi(2);
    for (d, s) in dm.iter().zip(&occ_su) {
        var += (rho / mass * d.dmass_docc * s).powi(2);
    }
    let volume = Estimate::new(v, sigma_v);
    let rho = Estimate::new(rho, var.sqrt());
    let cell = CellVolume { volume, z };
    let refined = RefinedPhase {
        cif: path.display().to_string(),
        formula: phase.formula(),
        density: rho.value,
        density_esd: rho.esd,
    };
    Ok((cell, refined))
}

/// The sample of the command-line arguments.
pub(super) fn input_from_args(args: &DensityArgs, n_o: f64) -> Result<Input> {
    let loss = match (&args.delta, &args.tm_oxidation) {
        (Some(d), None) => {
            (OxygenLoss::Delta(parse_value(d, "--delta", false)?), format!("--delta {d}"))
        }
        (None, Some(v)) => (
            OxygenLoss::TmOxidation(parse_value(v, "--tm-oxidation", false)?),
            format!("--tm-oxidation {v}"),
        ),
        _ => bail!("give the oxygen loss: --delta δ or --tm-oxidation v (or a --table)"),
    };
    let (cell, refined) = match (&args.volume, &args.cif) {
        (Some(v), None) => {
            let volume = parse_value(v, "--volume", false)?;
            let z = args.z.ok_or_else(|| anyhow!("--volume needs --z (formula units per cell)"))?;
            (CellVolume { volume, z }, None)
        }
        (None, Some(path)) => {
            let (c, r) = from_cif(path, args.z, n_o).context("--cif")?;
            (c, Some(r))
        }
        _ => bail!("give the cell: --volume Å³ --z Z, or --cif FILE (or a --table)"),
    };
    let m = |o: &Option<String>, name: &str| o.as_ref().map(|t| parse_value(t, name, true));
    let measurements = Measurements {
        density: m(&args.measured_density, "--measured-density").transpose()?,
        li_tm: m(&args.measured_li_tm, "--measured-li-tm").transpose()?,
        capacity: m(&args.measured_capacity, "--measured-capacity").transpose()?,
    };
    Ok(Input { cycle: 0.0, loss: loss.0, loss_name: loss.1, cell, refined, measurements })
}

/// The samples of a `--table` CSV.
pub(super) fn inputs_from_table(
    path: &Path,
    z_default: Option<f64>,
    n_o: f64,
) -> Result<Vec<Input>> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let (_, header) = lines.next().ok_or_else(|| anyhow!("{}: empty table", path.display()))?;
    let cols: Vec<String> = header.split(',').map(|c| c.trim().trim_matches('"').into()).collect();
    for c in &cols {
        if !TABLE_COLUMNS.contains(&c.as_str()) {
            bail!(
                "{}: unknown column '{c}' (allowed: {})",
                path.display(),
                TABLE_COLUMNS.join(", ")
            );
        }
    }
    if !cols.iter().any(|c| c == "cycle") {
        bail!("{}: the table needs a 'cycle' column", path.display());
    }
    let mut out = Vec::new();
    for (line, row) in lines {
        let at = format!("{}:{line}", path.display());
        let cells: Vec<&str> = row.split(',').map(|c| c.trim().trim_matches('"')).collect();
        if cells.len() != cols.len() {
            bail!("{at}: {} cells for {} columns", cells.len(), cols.len());
        }
        let get = |name: &str| -> Option<&str> {
            cols.iter().position(|c| c == name).map(|i| cells[i]).filter(|c| !c.is_empty())
        };
        let num = |name: &str| -> Result<Option<f64>> {
            get(name)
                .map(|t| {
                    t.parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .ok_or_else(|| anyhow!("{at}: {name} '{t}' is not a number"))
                })
                .transpose()
        };
        let with_esd = |name: &str, need: bool| -> Result<Option<Estimate>> {
            let esd_name = format!("{name}_esd");
            match (num(name)?, num(&esd_name)?) {
                (None, None) => Ok(None),
                (None, Some(_)) => bail!("{at}: {esd_name} given without {name}"),
                (Some(v), None) if need => bail!(
                    "{at}: measured {name} {v} has no {esd_name} (a measurement needs its \
                     uncertainty)"
                ),
                (Some(v), e) => {
                    let e = e.unwrap_or(0.0);
                    if e < 0.0 || (need && e == 0.0) {
                        bail!("{at}: {esd_name} must be positive");
                    }
                    Ok(Some(Estimate::new(v, e)))
                }
            }
        };
        let cycle = num("cycle")?.ok_or_else(|| anyhow!("{at}: no cycle"))?;
        let (loss, loss_name) = match (with_esd("delta", false)?, with_esd("tm_oxidation", false)?)
        {
            (Some(d), None) => (OxygenLoss::Delta(d), format!("{at}: delta")),
            (None, Some(v)) => (OxygenLoss::TmOxidation(v), format!("{at}: tm_oxidation")),
            _ => bail!("{at}: give exactly one of delta and tm_oxidation"),
        };
        let z = num("z")?.or(z_default);
        let (cell, refined) = match (with_esd("volume", false)?, get("cif")) {
            (Some(volume), None) => {
                let z = z.ok_or_else(|| anyhow!("{at}: a volume needs z (column z or --z)"))?;
                (CellVolume { volume, z }, None)
            }
            (None, Some(cif)) => {
                let (c, r) = from_cif(&dir.join(cif), z, n_o).with_context(|| at.clone())?;
                (c, Some(r))
            }
            _ => bail!("{at}: give exactly one of volume and cif"),
        };
        let measurements = Measurements {
            density: with_esd("density", true)?,
            li_tm: with_esd("li_tm", true)?,
            capacity: with_esd("capacity", true)?,
        };
        out.push(Input { cycle, loss, loss_name, cell, refined, measurements });
    }
    if out.is_empty() {
        bail!("{}: the table has no rows", path.display());
    }
    out.sort_by(|a, b| a.cycle.total_cmp(&b.cycle));
    Ok(out)
}
