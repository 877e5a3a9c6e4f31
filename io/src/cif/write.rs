//! A minimal, valid CIF 1.1 for a [`Phase`]: cell (with su), space group with its operators,
//! Z, and one `_atom_site_` row per occupant (B_iso), readable back by [`super::read_cif`].

use super::read::PhaseSu;
use super::symops::format_xyz;
use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use bragg_crystal::structure::Phase;
use std::io::Write;
use std::path::Path;

/// A value with its standard uncertainty written the crystallographer's way, `4.1403(2)`: the su
/// rounded to one digit, or two when they start with 1 (so it lies in 2..=19, the IUCr
/// convention, *Notes for Authors*), and the value rounded to the same decimal. Without an su
/// (or with su ≤ 0 or non-finite) the value is written with all the digits that make it
/// round-trip exactly.
pub fn format_with_su(value: f64, su: Option<f64>) -> String {
    let Some(su) = su.filter(|s| s.is_finite() && *s > 0.0) else {
        return format!("{value}");
    };
    // Decimal position of the su's first significant digit.
    let mut decimals = (-su.log10()).ceil() as i32;
    if (su * 10f64.powi(decimals)).round() < 2.0 {
        decimals += 1;
    }
    if decimals <= 0 {
        return format!("{value:.0}({})", su.round());
    }
    let digits = (su * 10f64.powi(decimals)).round();
    let d = usize::try_from(decimals).unwrap_or(0);
    format!("{value:.d$}({digits})")
}

/// Quotes a CIF value when needed (blank, spaces, or a leading character with a meaning).
fn quote(text: &str) -> String {
    let needs = text.is_empty()
        || text.chars().any(char::is_whitespace)
        || text.starts_with(['_', '#', '$', '\'', '"', ';', '[', ']'])
        || text == "?"
        || text == "."
        || ["data_", "loop_", "save_", "global_", "stop_"]
            .iter()
            .any(|w| text.to_ascii_lowercase().starts_with(w));
    if !needs {
        text.to_string()
    } else if !text.contains("' ") && !text.ends_with('\'') {
        format!("'{text}'")
    } else {
        format!("\"{text}\"")
    }
}

/// The CIF text of a phase; `su` (same site order as the phase) adds standard uncertainties in
/// parentheses. Mixed sites are written as one row per occupant at the same position, the
/// first with the site's label, the others `label_Element` (made unique), as the reader merges
/// them back into one site.
pub fn cif_string(phase: &Phase, su: Option<&PhaseSu>) -> String {
    let mut s = String::new();
    let mut line = |text: String| {
        s.push_str(&text);
        s.push('\n');
    };
    let block: String =
        phase.name.chars().map(|c| if c.is_whitespace() { '_' } else { c }).collect();
    line("#\\#CIF_1.1".to_string());
    line("# written by bragg".to_string());
    line(format!("data_{block}"));
    line("_audit_creation_method 'bragg'".to_string());
    let cs = su.map(|s| s.cell).unwrap_or_default();
    let c = &phase.cell;
    for (tag, v, e) in [
        ("_cell_length_a", c.a, cs.a),
        ("_cell_length_b", c.b, cs.b),
        ("_cell_length_c", c.c, cs.c),
        ("_cell_angle_alpha", c.alpha_deg, cs.alpha_deg),
        ("_cell_angle_beta", c.beta_deg, cs.beta_deg),
        ("_cell_angle_gamma", c.gamma_deg, cs.gamma_deg),
    ] {
        line(format!("{tag:<27} {}", format_with_su(v, e)));
    }
    line(format!("{:<27} {:.4}", "_cell_volume", c.volume()));
    if let Some(z) = phase.z {
        line(format!("{:<27} {z}", "_cell_formula_units_Z"));
    }
    let g = &phase.space_group;
    line(format!("{:<32} {}", "_space_group_name_H-M_alt", quote(g.symbol())));
    line(format!("{:<32} {}", "_symmetry_space_group_name_H-M", quote(g.symbol())));
    line(format!("{:<32} {}", "_space_group_IT_number", g.number()));
    line(String::new());
    line("loop_".to_string());
    line("_space_group_symop_id".to_string());
    line("_space_group_symop_operation_xyz".to_string());
    for (k, op) in g.operations().iter().enumerate() {
        line(format!("{} {}", k + 1, format_xyz(op)));
    }
    line(String::new());
    line("loop_".to_string());
    for tag in [
        "_atom_site_label",
        "_atom_site_type_symbol",
        "_atom_site_fract_x",
        "_atom_site_fract_y",
        "_atom_site_fract_z",
        "_atom_site_occupancy",
        "_atom_site_adp_type",
        "_atom_site_B_iso_or_equiv",
    ] {
        line(tag.to_string());
    }
    let mut used: Vec<String> = phase.sites.iter().map(|s| s.label.clone()).collect();
    for (k, site) in phase.sites.iter().enumerate() {
        let ssu = su.and_then(|s| s.sites.get(k));
        let xyz: Vec<String> = (0..3)
            .map(|i| format_with_su(site.position[i], ssu.and_then(|s| s.position[i])))
            .collect();
        let b = format_with_su(site.biso, ssu.and_then(|s| s.biso));
        for (j, occ) in site.occupants.iter().enumerate() {
            let label = if j == 0 {
                site.label.clone()
            } else {
                let base = format!("{}_{}", site.label, occ.species.element.symbol());
                let mut candidate = base.clone();
                let mut n = 2;
                while used.contains(&candidate) {
                    candidate = format!("{base}{n}");
                    n += 1;
                }
                used.push(candidate.clone());
                candidate
            };
            let occ_su = ssu.and_then(|s| s.occupancy.get(j).copied().flatten());
            line(format!(
                "{} {} {} {} {} {} Biso {}",
                quote(&label),
                quote(&occ.species.to_string()),
                xyz[0],
                xyz[1],
                xyz[2],
                format_with_su(occ.occupancy, occ_su),
                b
            ));
        }
    }
    s
}

/// Writes a phase as CIF 1.1 (see [`cif_string`]), atomically.
///
/// Errors: [`Error::InvalidInput`] if `su` does not have one entry per site (nothing written);
/// [`Error::Io`] if the file cannot be written.
pub fn write_cif(path: &Path, phase: &Phase, su: Option<&PhaseSu>) -> Result<()> {
    if let Some(su) = su {
        if su.sites.len() != phase.sites.len() {
            return Err(Error::InvalidInput {
                path: path.to_path_buf(),
                message: format!(
                    "{} site su entries for {} sites of phase {}",
                    su.sites.len(),
                    phase.sites.len(),
                    phase.name
                ),
            });
        }
    }
    let text = cif_string(phase, su);
    write_atomic(path, |w: &mut dyn Write| w.write_all(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cif::syntax::parse_number;

    #[test]
    fn su_formatting_follows_the_rule_of_19() {
        assert_eq!(format_with_su(4.14032, Some(0.0002)), "4.1403(2)");
        assert_eq!(format_with_su(4.14032, Some(0.00015)), "4.14032(15)");
        // su 0.000097 rounds to 0.00010: two digits starting with 1 (GSAS-II prints 8.480297(97)).
        assert_eq!(format_with_su(8.480297, Some(0.000097)), "8.48030(10)");
        assert_eq!(format_with_su(90.0, None), "90");
        assert_eq!(format_with_su(1234.4, Some(25.0)), "1234(25)");
        assert_eq!(format_with_su(0.25, Some(0.0)), "0.25");
        // The written su reads back as the rounded su: 0.00034 → 0.4184(3).
        assert_eq!(format_with_su(0.41840, Some(0.00034)), "0.4184(3)");
        let (v, e) = parse_number(&format_with_su(0.41840, Some(0.00034))).unwrap();
        assert!((v - 0.4184).abs() < 1e-12 && (e.unwrap() - 0.0003).abs() < 1e-12);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("Fm-3m"), "Fm-3m");
        assert_eq!(quote("P n m a"), "'P n m a'");
        assert_eq!(quote("_x"), "'_x'");
        assert_eq!(quote("it' s"), "\"it' s\"");
        assert_eq!(quote("?"), "'?'");
    }
}
