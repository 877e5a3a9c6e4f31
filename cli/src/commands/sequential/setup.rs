//! From the command line and the model to the reference scan's unfitted refinement: the
//! wavelength (command line, else the model, else the GSAS `.prm`, else the scan header), the
//! phases (model, then CIFs), the instrument (model or preset, then the `.prm`), the fitted
//! window and exclusions, the `[refine]` bounds, constraints and stages, and first guesses of
//! background and scales (the same rules as `bragg refine`).

use super::time::parse_timestamp;
use super::SequentialArgs;
use crate::commands::model_source::{apply_bounds_and_constraints, manual_stages};
use crate::commands::radiation::{model_has_wavelength, no_wavelength, radiation_from_waves};
use crate::commands::refine::cif_phases;
use crate::commands::refine::{parse_window, DEFAULT_BACKGROUND_TERMS};
use anyhow::{anyhow, bail, Context, Result};
use bragg_crystal::background::ChebyshevBackground;
use bragg_crystal::instrument::Polarization;
use bragg_crystal::pattern::{Instrument, PatternModel};
use bragg_io::gsas::prm::{read_gsas_prm, GsasPrmBank};
use bragg_io::model::RefineMode;
use bragg_io::{read_powder, PowderScan};
use bragg_refine::sequential::{LoadedScan, ScanMeta};
use bragg_refine::{Observations, ParamKey, Refinement};
use std::path::Path;

pub use crate::commands::model_source::ModelSource;

/// Which points of every scan are fitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Fitted window (degrees 2θ), if restricted.
    pub window: Option<(f64, f64)>,
    /// Excluded regions (degrees 2θ).
    pub exclude: Vec<(f64, f64)>,
}

impl Selection {
    /// From `--range`/`--exclude` and the model's `[refine]` range/exclusions (`[range]`).
    pub fn new(args: &SequentialArgs, src: Option<&ModelSource>) -> Result<Self> {
        let spec = src.and_then(|s| s.file.refine.clone()).unwrap_or_default();
        let window = match (&args.range, spec.range, src.and_then(|s| s.file.range)) {
            (Some(text), _, _) => Some(parse_window(text, "--range")?),
            (None, Some([lo, hi]), _) if lo.is_finite() && hi.is_finite() && hi > lo => {
                Some((lo, hi))
            }
            (None, Some([lo, hi]), _) => {
                let src = src.ok_or_else(|| anyhow!("refine.range"))?;
                return Err(src.error(
                    "range",
                    format!("refine.range = [{lo}, {hi}]: STOP must be greater than START"),
                ));
            }
            (None, None, Some(r)) => Some((r.start, r.stop)),
            (None, None, None) => None,
        };
        let mut exclude = Vec::new();
        for [lo, hi] in &spec.exclude {
            exclude.push((*lo, *hi));
        }
        for text in &args.exclude {
            exclude.push(parse_window(text, "--exclude")?);
        }
        Ok(Selection { window, exclude })
    }
}

/// Reads one scan: its fitted points and its time stamp and temperature.
pub fn load_scan(path: &Path, sel: &Selection) -> Result<(LoadedScan, PowderScan)> {
    let mut scan = read_powder(path)?;
    let d = &scan.data;
    let observations = Observations::new(
        &d.two_theta_deg,
        &d.intensity,
        d.esd.as_deref(),
        sel.window,
        &sel.exclude,
    )
    .with_context(|| format!("{}: selecting the fitted points", path.display()))?;
    let meta = ScanMeta {
        epoch_s: scan.meta.timestamp.as_deref().and_then(parse_timestamp),
        temperature_k: scan.meta.temperature_k,
    };
    // The points are in `observations`; keep only the header.
    scan.data.two_theta_deg = Vec::new();
    scan.data.intensity = Vec::new();
    scan.data.esd = None;
    Ok((LoadedScan { observations, meta }, scan))
}

/// The GSAS instrument bank of `--prm` (first bank).
pub fn read_prm(path: &Path) -> Result<GsasPrmBank> {
    let prm = read_gsas_prm(path)?;
    prm.banks.first().cloned().ok_or_else(|| anyhow!("{}: no instrument bank", path.display()))
}

/// Applies a GSAS bank to the instrument: zero (centidegrees → degrees), polarisation fraction
/// (IPOLA = 0), and the first profile function's TCH terms converted to bragg's convention:
/// GSAS gives the Gaussian σ² = GU tan²θ + GV tanθ + GW in centidegree² and the Lorentzian
/// FWHM γ = LX/cosθ + LY tanθ in centidegrees (Larson & Von Dreele, GSAS manual LAUR 86-748,
/// CW profile functions 2 and 3), bragg the FWHMs H_G² = U tan²θ + V tanθ + W (deg²) and
/// H_L = X tanθ + Y/cosθ (deg), so U = 8 ln 2 · GU / 10⁴ (likewise V, W), X = LY/100,
/// Y = LX/100, asym = S/L + H/L.
pub fn apply_prm(instrument: &mut Instrument, bank: &GsasPrmBank) {
    instrument.zero_deg = bank.zero_centideg / 100.0;
    if bank.ipola == 0 && (0.0..=1.0).contains(&bank.pola) {
        instrument.polarization = Polarization::Fraction { fraction: bank.pola };
    }
    if let Some(p) = bank.profiles.first() {
        let g = 8.0 * std::f64::consts::LN_2 / 1e4;
        let get = |n: &str| p.get(n).unwrap_or(0.0);
        let prof = &mut instrument.profile;
        prof.u = g * get("GU");
        prof.v = g * get("GV");
        prof.w = g * get("GW");
        prof.x = get("LY") / 100.0;
        prof.y = get("LX") / 100.0;
        if let (Some(s), Some(h)) = (p.get("S/L"), p.get("H/L")) {
            prof.asym = s + h;
        }
    }
}

/// The pattern model for the reference scan.
pub fn build_model(
    args: &SequentialArgs,
    src: Option<&ModelSource>,
    scan: &PowderScan,
    prm: Option<&GsasPrmBank>,
) -> Result<PatternModel> {
    // Notes about unweighted wavelengths are not reported here: the prm and scan files of a
    // series state their weights.
    let mut notes = Vec::new();
    let chosen =
        match args.beam.radiation()? {
            Some(r) => Some(r),
            None if model_has_wavelength(src) => None,
            None => match prm
                .map(|b| radiation_from_waves(&b.wavelengths(), "--prm", &mut notes))
                .transpose()?
            {
                Some(Some(r)) => Some(r),
                _ => match radiation_from_waves(
                    &scan.meta.wavelengths,
                    &scan.data.source.display().to_string(),
                    &mut notes,
                )? {
                    Some(r) => Some(r),
                    None => return Err(no_wavelength(
                        &scan.data.source,
                        "give --wavelength Å, --radiation CuKa, --prm FILE.prm or a model with \
                         instrument.wavelength",
                    )),
                },
            },
        };
    let mut model = match src {
        Some(s) => args.beam.model_from_file(s, chosen)?,
        None => {
            // INVARIANT: without a model the wavelength came from the command line, the prm or
            // the scan, else the match above returned an error.
            let Some(r) = chosen else { bail!("no wavelength") };
            args.beam.bare_model(r)?
        }
    };
    if let Some(b) = prm {
        apply_prm(&mut model.instrument, b);
    }
    model.instrument.validate().context("instrument")?;
    model.phases.extend(cif_phases(&args.phases)?);
    if model.phases.is_empty() {
        bail!("no phases: give --phase FILE.cif or a --model with [[phase]] entries");
    }
    for (i, c) in model.phases.iter().enumerate() {
        if model.phases[..i].iter().any(|d| d.phase.name == c.phase.name) {
            bail!("two phases are called '{}': name them with --phase NAME=FILE.cif", c.phase.name);
        }
        if c.phase.name.is_empty() || c.phase.name.contains(['.', '/', '\\', ',']) {
            bail!(
                "phase name '{}' cannot be used in parameter keys (no '.', ',', '/' or '\\'): \
                 rename it with --phase NAME=FILE.cif",
                c.phase.name
            );
        }
    }
    Ok(model)
}

/// Manual stages: (name, keys refined).
pub type Stages = Vec<(String, Vec<ParamKey>)>;

/// Applies the `[refine]` bounds and constraints; returns the manual stages, if any.
pub fn apply_refine_table(r: &mut Refinement, src: &ModelSource) -> Result<Option<Stages>> {
    let Some(spec) = &src.file.refine else { return Ok(None) };
    if spec.mode.is_some_and(|m| m != RefineMode::Rietveld) {
        return Err(src.error("mode", "bragg sequential fits Rietveld models only (refine.mode)"));
    }
    apply_bounds_and_constraints(r, src)?;
    let stages = manual_stages(r, src)?;
    Ok(if stages.is_empty() { None } else { Some(stages) })
}

/// The unfitted refinement of the reference scan and the manual stages of the model.
pub fn template(
    args: &SequentialArgs,
    src: Option<&ModelSource>,
    prm: Option<&GsasPrmBank>,
    loaded: &LoadedScan,
    header: &PowderScan,
) -> Result<(Refinement, Option<Stages>)> {
    let mut model = build_model(args, src, header, prm)?;
    let obs = &loaded.observations;
    let (first, last) = (obs.two_theta_deg[0], obs.two_theta_deg[obs.len() - 1]);
    let mut coeffs = model.background.coeffs().to_vec();
    let background_given = coeffs.iter().any(|c| *c != 0.0);
    if coeffs.is_empty() {
        coeffs = vec![0.0; DEFAULT_BACKGROUND_TERMS];
    }
    model.background = ChebyshevBackground::new(coeffs, first, last)?;
    let mut r = Refinement::new(model, obs.clone())?;
    let stages = match src {
        Some(s) => apply_refine_table(&mut r, s)?,
        None => None,
    };
    bragg_refine::strategy::initial_guess(&mut r, background_given)?;
    Ok((r, stages))
}
