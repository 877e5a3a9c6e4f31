//! The text summary of `bragg refine`: stage table, refined parameters with units and esds,
//! agreement indices, per-phase results, high correlations, bound hits and warnings.

use super::outputs::{Bundle, CORRELATION_THRESHOLD};
use super::{Fitted, Prepared};
use anyhow::Result;
use bragg_crystal::pattern::ProfileTerm;
use bragg_refine::key::{InstItem, PhaseItem};
use bragg_refine::uncertain::Uncertain;
use bragg_refine::ParamKey;
use std::io::Write;

/// The unit of a parameter's value: `Å` (cell edges, wavelength), `°` (cell angles, zero
/// shift, TCH X and Y in degrees 2θ, equatorial divergence), `deg²` (TCH U, V, W, P), `Å²`
/// (B_iso), `µm` (specimen displacement), `counts` (background coefficients), empty for
/// dimensionless quantities (scale, occupancy, fractional coordinates, March–Dollase r,
/// asymmetry, Kα2/Kα1 ratio, extracted intensities).
pub fn unit_of(key: &ParamKey) -> &'static str {
    match key {
        ParamKey::Phase { item, .. } => match item {
            PhaseItem::Cell(c) if c.param().is_angle() => "°",
            PhaseItem::Cell(_) => "Å",
            PhaseItem::Biso { .. } => "Å²",
            _ => "",
        },
        ParamKey::Inst(InstItem::Zero) => "°",
        ParamKey::Inst(InstItem::Displacement) => "µm",
        ParamKey::Inst(InstItem::Wavelength) => "Å",
        ParamKey::Inst(InstItem::Kalpha2Ratio) => "",
        ParamKey::Inst(InstItem::Profile(p)) => match p.term() {
            ProfileTerm::U | ProfileTerm::V | ProfileTerm::W | ProfileTerm::P => "deg²",
            ProfileTerm::X | ProfileTerm::Y | ProfileTerm::Divergence => "°",
            _ => "",
        },
        ParamKey::Background(_) => "counts",
    }
}

fn pct(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

fn with_esd(value: f64, esd: Option<f64>, unit: &str) -> String {
    Uncertain { value, esd }.format_with_unit(unit)
}

/// Prints the summary.
pub(crate) fn print(out: &mut dyn Write, b: &Bundle, f: &Fitted, p: &Prepared) -> Result<()> {
    let res = &b.result;
    let r = &f.refinement;
    writeln!(out, "bragg refine: {} ({} mode, {} strategy)", res.data, res.mode, res.strategy)?;
    writeln!(out, "  {}", p.wavelength_line())?;
    let phases: Vec<String> = r
        .model
        .phases
        .iter()
        .map(|c| {
            format!("{} ({}, {})", c.phase.name, c.phase.formula(), c.phase.space_group.symbol())
        })
        .collect();
    writeln!(out, "  phases: {}", phases.join(", "))?;
    let excl = if res.excluded.is_empty() {
        String::new()
    } else {
        format!(
            ", excluded {}",
            res.excluded.iter().map(|[a, c]| format!("{a}–{c}°")).collect::<Vec<_>>().join(", ")
        )
    };
    writeln!(
        out,
        "  fitted 2θ {}–{}°: {} points ({} outside or excluded{excl}, {} with zero esd)",
        res.range[0], res.range[1], res.n_points, res.n_outside, res.n_excluded_zero_esd
    )?;
    writeln!(out)?;
    writeln!(out, "stages:")?;
    let w = f.reports.iter().map(|s| s.name.chars().count()).max().unwrap_or(5).max(5);
    writeln!(
        out,
        "  {:>2}  {:<w$}  {:>3}  {:>6}  {:>8}  termination",
        "#", "stage", "P", "evals", "Rwp"
    )?;
    for (i, s) in res.stages.iter().enumerate() {
        writeln!(
            out,
            "  {:>2}  {:<w$}  {:>3}  {:>6}  {:>8}  {}",
            i + 1,
            s.name,
            s.refined.len(),
            s.evaluations,
            pct(s.rwp),
            s.termination
        )?;
    }
    writeln!(out)?;
    writeln!(out, "refined parameters (last stage):")?;
    let kw = b.refined.iter().map(|(k, _)| k.to_string().chars().count()).max().unwrap_or(0);
    for (key, u) in &b.refined {
        let hit = res.bound_hits.iter().any(|h| h.key == *key);
        writeln!(
            out,
            "  {:<kw$} = {}{}",
            key.to_string(),
            u.format_with_unit(unit_of(key)),
            if hit { "   [at bound]" } else { "" }
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Rp = {}  Rwp = {}  Rexp = {}  χ²ν = {:.3}  GoF = {:.3}  (N = {}, P = {}, {} evaluations, {})",
        pct(res.rp),
        pct(res.rwp),
        pct(res.rexp),
        res.chi2,
        res.gof,
        res.n_points,
        res.n_params,
        res.iterations,
        res.termination
    )?;
    if let Some(d) = res.durbin_watson {
        let verdict = if d < res.durbin_watson_q {
            "serially correlated residuals: the esds understate the uncertainty; result.json's \
             esd_serial allows for it (AR(1) sandwich)"
        } else {
            "no serial correlation at 99.9 %"
        };
        writeln!(
            out,
            "Durbin–Watson d = {d:.3} (Hill & Flack Q = {:.3}): {verdict}",
            res.durbin_watson_q
        )?;
    }
    for ph in &res.phases {
        let mut parts = Vec::new();
        if let (Some(rb), Some(rf)) = (ph.r_bragg, ph.r_f) {
            parts.push(format!("R_Bragg = {}, R_F = {}", pct(rb), pct(rf)));
        }
        parts.push(format!("V = {}", with_esd(ph.volume, ph.volume_esd, "Å³")));
        if let Some(d) = ph.density {
            parts.push(format!("ρ = {}", with_esd(d, ph.density_esd, "g/cm³")));
        }
        if let Some(wf) = ph.weight_fraction {
            parts.push(format!("w = {}", with_esd(wf, ph.weight_fraction_esd, "")));
        }
        if let Some(s) = ph.size_nm {
            parts.push(format!("apparent size {}", with_esd(s, ph.size_nm_esd, "nm")));
        }
        if let Some(s) = ph.strain {
            parts.push(format!(
                "apparent strain {}",
                with_esd(100.0 * s, ph.strain_esd.map(|e| 100.0 * e), "%")
            ));
        }
        writeln!(out, "  {}: {}", ph.name, parts.join(", "))?;
    }
    if res.phases.iter().any(|p| p.size_nm.is_some() || p.strain.is_some()) {
        writeln!(
            out,
            "  (size and strain from the TCH Lorentzian X, Y without instrumental correction: \
             the size is a lower bound)"
        )?;
    }
    if !res.correlations.is_empty() {
        writeln!(out)?;
        writeln!(out, "correlations |ρ| > {CORRELATION_THRESHOLD}:")?;
        for (a, c, rho) in &res.correlations {
            writeln!(out, "  ! {a} ~ {c}: ρ = {rho:+.3}")?;
        }
    }
    if !res.bound_hits.is_empty() {
        writeln!(out)?;
        writeln!(out, "bound hits:")?;
        for h in &res.bound_hits {
            writeln!(out, "  {} held at {}", h.key, h.bound)?;
        }
    }
    if !res.warnings.is_empty() {
        writeln!(out)?;
        for w in &res.warnings {
            writeln!(out, "warning: {w}")?;
        }
    }
    writeln!(out)?;
    Ok(())
}
