//! `bragg simulate`: a powder pattern from CIF phases or a TOML model.

use crate::commands::radiation::RadiationArgs;
use anyhow::{bail, Context, Result};
use bragg_crystal::background::ChebyshevBackground;
use bragg_crystal::instrument::Radiation;
use bragg_crystal::pattern::{simulate, PatternModel, SimulatedPattern, TwoThetaRange};
use bragg_io::model::{parse_model, LoadedModel};
use bragg_io::{read_model, write_reflections_csv, write_xye, PowderData, ReflectionRow};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The embedded default model: LTNO rock salt at an 11-BM-like beamline.
pub const DEFAULT_MODEL: &str = include_str!("../../../fixtures/models/ltno-11bm.toml");

/// Arguments of `bragg simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// A phase from a CIF file, optionally named: `--phase LTNO=ltno.cif` (repeatable). The
    /// name defaults to the CIF data block name.
    #[arg(long = "phase", value_name = "[NAME=]FILE.cif")]
    pub phases: Vec<String>,
    /// A TOML model (phases, instrument, background, range); see the README.
    #[arg(long, value_name = "FILE.toml", conflicts_with = "phases")]
    pub model: Option<PathBuf>,
    /// Radiation and instrument defaults (else the model's, else λ = 0.458 Å at a
    /// synchrotron).
    #[command(flatten)]
    pub beam: RadiationArgs,
    /// 2θ grid in degrees, START:STOP:STEP.
    #[arg(long, value_name = "START:STOP:STEP")]
    pub range: Option<String>,
    /// Write the pattern as three-column xye (2θ, intensity, √intensity).
    #[arg(short = 'o', long, value_name = "OUT.xye")]
    pub output: Option<PathBuf>,
    /// Write the reflection list as CSV: phase,h,k,l,d,two_theta,multiplicity,F2.
    #[arg(long, value_name = "OUT.csv")]
    pub reflections: Option<PathBuf>,
}

/// Parses `START:STOP:STEP` (degrees 2θ).
pub fn parse_range(text: &str) -> Result<TwoThetaRange> {
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() != 3 {
        bail!("--range '{text}': expected START:STOP:STEP in degrees 2θ, e.g. 2:40:0.001");
    }
    let mut v = [0.0; 3];
    for (slot, (part, name)) in v.iter_mut().zip(parts.iter().zip(["START", "STOP", "STEP"])) {
        *slot = part
            .trim()
            .parse::<f64>()
            .with_context(|| format!("--range '{text}': {name} '{part}' is not a number"))?;
    }
    TwoThetaRange::new(v[0], v[1], v[2]).with_context(|| format!("--range '{text}'"))
}

/// Builds the model the arguments describe: a TOML model, CIF phases, or the embedded default;
/// command-line radiation and range override the model's.
pub fn build_model(args: &SimulateArgs) -> Result<(PatternModel, TwoThetaRange, String)> {
    let radiation = args.beam.radiation()?;
    let (mut model, file_range, label) = if let Some(path) = &args.model {
        let LoadedModel { model, range } = read_model(path)?;
        (model, range, path.display().to_string())
    } else if !args.phases.is_empty() {
        let radiation = radiation.clone().unwrap_or(Radiation::monochromatic(0.458)?);
        let mut model = args.beam.bare_model(radiation)?;
        model.phases = crate::commands::refine::cif_phases(&args.phases)?;
        (model, None, args.phases.join(", "))
    } else {
        let path = Path::new("embedded:ltno-11bm.toml");
        let file = parse_model(DEFAULT_MODEL, path)?;
        let LoadedModel { model, range } = file.build(path, DEFAULT_MODEL)?;
        (model, range, "embedded LTNO rock salt (11-BM-like, λ = 0.458 Å)".to_string())
    };
    if let Some(r) = radiation {
        model.instrument.radiation = r;
    }
    let range = match (&args.range, file_range) {
        (Some(text), _) => parse_range(text)?,
        (None, Some(r)) => r,
        (None, None) => {
            if model.instrument.radiation.components().len() > 1 || args.beam.radiation.is_some() {
                TwoThetaRange::new(10.0, 120.0, 0.02)?
            } else {
                TwoThetaRange::new(2.0, 40.0, 0.001)?
            }
        }
    };
    // The background's Chebyshev domain follows the grid.
    model.background = ChebyshevBackground::new(
        model.background.coeffs().to_vec(),
        range.start_deg,
        range.stop_deg,
    )?;
    if model.phases.is_empty() {
        bail!("no phases: give --phase FILE.cif or a --model with [[phase]] entries");
    }
    Ok((model, range, label))
}

/// Runs `bragg simulate`.
pub fn run(args: &SimulateArgs, out: &mut dyn Write) -> Result<()> {
    let (model, range, label) = build_model(args)?;
    let grid = range.points();
    let pattern = simulate(&model, &grid)?;
    report(&model, &range, &label, &pattern, out)?;
    if let Some(path) = &args.output {
        let data = PowderData {
            esd: Some(pattern.total.iter().map(|y| y.max(0.0).sqrt()).collect()),
            two_theta_deg: pattern.two_theta_deg.clone(),
            intensity: pattern.total.clone(),
            source: path.clone(),
        };
        let comment = format!(
            "bragg simulate: {label}; wavelengths {} Å; 2θ in degrees",
            model
                .instrument
                .radiation
                .components()
                .iter()
                .map(|c| format!("{:.6}", c.wavelength_angstrom))
                .collect::<Vec<_>>()
                .join(" / ")
        );
        write_xye(path, &data, &comment)?;
        writeln!(out, "wrote {} ({} points)", path.display(), grid.len())?;
    }
    if let Some(path) = &args.reflections {
        let rows = reflection_rows(&pattern);
        write_reflections_csv(path, &rows)?;
        writeln!(out, "wrote {} ({} reflections)", path.display(), rows.len())?;
    }
    Ok(())
}

/// The reflection table rows of a simulated pattern (peaks inside the grid only).
pub fn reflection_rows(pattern: &SimulatedPattern) -> Vec<ReflectionRow> {
    let lo = pattern.two_theta_deg.first().copied().unwrap_or(0.0);
    let hi = pattern.two_theta_deg.last().copied().unwrap_or(180.0);
    let mut rows = Vec::new();
    for phase in &pattern.reflections {
        for r in &phase.reflections {
            if !(r.two_theta_deg >= lo && r.two_theta_deg <= hi) {
                continue;
            }
            let [h, k, l] = r.reflection.hkl;
            rows.push(ReflectionRow {
                phase: phase.phase.clone(),
                h,
                k,
                l,
                d: r.reflection.d,
                two_theta_deg: r.two_theta_deg,
                multiplicity: r.reflection.multiplicity,
                f2: r.f2,
            });
        }
    }
    rows
}

fn report(
    model: &PatternModel,
    range: &TwoThetaRange,
    label: &str,
    pattern: &SimulatedPattern,
    out: &mut dyn Write,
) -> Result<()> {
    writeln!(out, "bragg simulate: {label}")?;
    let waves = model.instrument.radiation.components();
    for c in waves {
        writeln!(
            out,
            "  λ = {:.6} Å (relative intensity {})",
            c.wavelength_angstrom, c.relative_intensity
        )?;
    }
    writeln!(
        out,
        "  2θ {}° to {}° step {}° ({} points)",
        range.start_deg,
        range.stop_deg,
        range.step_deg,
        range.len()
    )?;
    for (contribution, refl) in model.phases.iter().zip(&pattern.reflections) {
        let p = &contribution.phase;
        let c = &p.cell;
        writeln!(out)?;
        writeln!(
            out,
            "phase {}: {} ({}), Z = {}",
            p.name,
            p.formula(),
            p.space_group.symbol(),
            p.formula_units()
        )?;
        writeln!(
            out,
            "  a = {:.5} Å, b = {:.5} Å, c = {:.5} Å, α = {}°, β = {}°, γ = {}°, V = {:.4} Å³",
            c.a,
            c.b,
            c.c,
            c.alpha_deg,
            c.beta_deg,
            c.gamma_deg,
            c.volume()
        )?;
        if let (Ok(m), Ok(rho)) = (p.molar_mass(), p.density()) {
            writeln!(out, "  M = {m:.4} g/mol per formula unit, X-ray density {rho:.4} g/cm³")?;
        }
        writeln!(
            out,
            "  {:>4} {:>4} {:>4} {:>10} {:>11} {:>4} {:>14}",
            "h", "k", "l", "d (Å)", "2θ (°)", "m", "|F|²"
        )?;
        for r in refl
            .reflections
            .iter()
            .filter(|r| r.two_theta_deg >= range.start_deg && r.two_theta_deg <= range.stop_deg)
        {
            let [h, k, l] = r.reflection.hkl;
            writeln!(
                out,
                "  {h:>4} {k:>4} {l:>4} {:>10.5} {:>11.4} {:>4} {:>14.3}",
                r.reflection.d, r.two_theta_deg, r.reflection.multiplicity, r.f2
            )?;
        }
    }
    let (imax, ymax) =
        pattern
            .total
            .iter()
            .enumerate()
            .fold((0, f64::MIN), |acc, (i, &y)| if y > acc.1 { (i, y) } else { acc });
    writeln!(out)?;
    writeln!(out, "pattern: maximum {ymax:.1} counts at 2θ = {:.3}°", pattern.two_theta_deg[imax])?;
    Ok(())
}
