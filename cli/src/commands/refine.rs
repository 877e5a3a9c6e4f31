//! `bragg refine`: fit a powder scan with CIF phases or a TOML model, and write the refined
//! result (`result.json`, `fit.csv`, one CIF per phase, `fit.png` / `fit.svg`) to a folder.
//!
//! The pipeline: read the scan ([`bragg_io::read_powder`], any supported format) → choose the
//! wavelength (command line, else the model, else the file's header, else an error) → build the
//! model (the TOML model's phases, then each `--phase` CIF) → select the fitted points (range,
//! excluded regions, zero-esd points) → resolve the `[refine]` table of the model (bounds,
//! constraints, manual stages; every unknown key is reported with the model's file and line)
//! → run the default staged strategy ([`bragg_refine::strategy::run_default`]) or the manual
//! stages → compute the derived quantities → write every output atomically.
//!
//! Every input is checked before the first file is written; if writing fails half-way, the
//! files this run wrote are removed again (and the output folder, if this run created it), so
//! a failed run leaves no partial result.

mod outputs;
mod summary;

pub use outputs::{
    ParameterOut, PhaseOut, RefineResult, StageOut, WavelengthOut, CORRELATION_THRESHOLD,
};
pub use summary::unit_of;

use crate::commands::model_source::{apply_bounds_and_constraints, manual_stages, ModelSource};
use crate::commands::radiation::{
    model_has_wavelength, no_wavelength, radiation_from_waves, RadiationArgs,
};
use anyhow::{anyhow, bail, Context, Result};
use bragg_crystal::background::ChebyshevBackground;
use bragg_crystal::instrument::Radiation;
use bragg_crystal::pattern::ProfileTerm;
use bragg_crystal::pattern::{PatternModel, PhaseContribution};
use bragg_io::model::{RefineMode, StrategyKind};
use bragg_io::{read_cif, read_powder, PowderScan};
use bragg_refine::fit::FitOutcome;
use bragg_refine::key::{InstItem, PhaseItem};
use bragg_refine::lebail::{lebail, ExtractedReflection, InitialIntensities, LeBailOptions};
use bragg_refine::pawley::{pawley, PawleyOptions};
use bragg_refine::strategy::StrategyOptions;
use bragg_refine::strategy::{apply_default_bounds, run_default, run_stage, StageReport};
use bragg_refine::{FitOptions, Observations, ParamKey, Refinement, Termination};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

/// Chebyshev coefficients of the background when the model gives none.
pub const DEFAULT_BACKGROUND_TERMS: usize = 6;

/// Refinement mode on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Intensities from the structure.
    Rietveld,
    /// Le Bail intensity extraction.
    Lebail,
    /// Pawley intensity extraction.
    Pawley,
}

impl From<ModeArg> for RefineMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Rietveld => RefineMode::Rietveld,
            ModeArg::Lebail => RefineMode::Lebail,
            ModeArg::Pawley => RefineMode::Pawley,
        }
    }
}

/// Arguments of `bragg refine`.
#[derive(Debug, Clone, Args)]
pub struct RefineArgs {
    /// The powder scan: xye/xy/csv, GSAS, FullProf .dat, Bruker UXD or RAW (gzip allowed).
    #[arg(value_name = "DATA")]
    pub data: PathBuf,
    /// A phase from a CIF file, optionally named: `--phase LCO=LiCoO2.cif` (repeatable; the
    /// name defaults to the CIF data block name). Added after the model's phases.
    #[arg(long = "phase", value_name = "[NAME=]FILE.cif")]
    pub phases: Vec<String>,
    /// Radiation and instrument defaults.
    #[command(flatten)]
    pub beam: RadiationArgs,
    /// A TOML model: phases, instrument, background, and the `[refine]` table (strategy,
    /// bounds, constraints, range, exclusions); see the README.
    #[arg(long, value_name = "FILE.toml")]
    pub model: Option<PathBuf>,
    /// Rietveld (default), Le Bail or Pawley (overrides `refine.mode` of the model).
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Fitted 2θ window in degrees, START:STOP (overrides the model's).
    #[arg(long, value_name = "START:STOP")]
    pub range: Option<String>,
    /// A 2θ region left out of the fit, START:STOP in degrees (repeatable; added to the
    /// model's).
    #[arg(long = "exclude", value_name = "START:STOP")]
    pub exclude: Vec<String>,
    /// Output folder (created if needed).
    #[arg(short = 'o', long = "output", value_name = "OUTDIR")]
    pub outdir: PathBuf,
}

/// Parses `START:STOP` (degrees 2θ) with START < STOP; `what` names the option in messages.
pub fn parse_window(text: &str, what: &str) -> Result<(f64, f64)> {
    let parts: Vec<&str> = text.split(':').collect();
    let [a, b] = parts.as_slice() else {
        bail!("{what} '{text}': expected START:STOP in degrees 2θ, e.g. 20:22");
    };
    let num = |part: &str, name: &str| -> Result<f64> {
        let v: f64 = part
            .trim()
            .parse()
            .map_err(|_| anyhow!("{what} '{text}': {name} '{part}' is not a number"))?;
        if !v.is_finite() {
            bail!("{what} '{text}': {name} must be finite");
        }
        Ok(v)
    };
    let (start, stop) = (num(a, "START")?, num(b, "STOP")?);
    if stop <= start {
        bail!("{what} '{text}': STOP ({stop}) must be greater than START ({start})");
    }
    Ok((start, stop))
}

/// Where the wavelength came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavelengthSource {
    /// `--wavelength` or `--radiation`.
    CommandLine,
    /// `[instrument]` of the model.
    Model,
    /// The data file's header.
    DataFile,
}

impl WavelengthSource {
    fn describe(self) -> &'static str {
        match self {
            WavelengthSource::CommandLine => "command line",
            WavelengthSource::Model => "model",
            WavelengthSource::DataFile => "data file header",
        }
    }
}

/// A manual stage, resolved.
struct Stage {
    name: String,
    keys: Vec<ParamKey>,
}

/// Everything checked and ready to fit.
struct Prepared {
    refinement: Refinement,
    scan: PowderScan,
    mode: RefineMode,
    stages: Option<Vec<Stage>>,
    window: (f64, f64),
    exclude: Vec<(f64, f64)>,
    wavelength_source: WavelengthSource,
    notes: Vec<String>,
}

/// Reads the phases of `--phase [NAME=]FILE.cif` arguments (shared by every subcommand that
/// takes them).
pub(crate) fn cif_phases(specs: &[String]) -> Result<Vec<PhaseContribution>> {
    let mut phases = Vec::new();
    for spec in specs {
        let (name, file) = match spec.split_once('=') {
            Some((n, f)) if !n.is_empty() && !n.contains(['/', '\\']) => {
                (Some(n.to_string()), PathBuf::from(f))
            }
            _ => (None, PathBuf::from(spec)),
        };
        let blocks = read_cif(&file)?;
        if blocks.is_empty() {
            bail!("{}: no data block with a structure", file.display());
        }
        if name.is_some() && blocks.len() > 1 {
            bail!(
                "--phase {spec}: the CIF has {} structures; a name can only be given to one",
                blocks.len()
            );
        }
        for block in blocks {
            let mut phase = block.phase;
            if let Some(n) = &name {
                phase.name = n.clone();
            }
            phases.push(PhaseContribution::new(phase, 1.0));
        }
    }
    Ok(phases)
}

/// Builds the model and says where its wavelength came from.
fn build_model(
    args: &RefineArgs,
    source: Option<&ModelSource>,
    scan: &PowderScan,
    notes: &mut Vec<String>,
) -> Result<(PatternModel, WavelengthSource)> {
    let (chosen, origin) = match args.beam.radiation()? {
        Some(r) => (Some(r), WavelengthSource::CommandLine),
        None if model_has_wavelength(source) => (None, WavelengthSource::Model),
        None => {
            let what = scan.data.source.display().to_string();
            match radiation_from_waves(&scan.meta.wavelengths, &what, notes)? {
                Some(r) => (Some(r), WavelengthSource::DataFile),
                None => {
                    return Err(no_wavelength(
                        &scan.data.source,
                        if source.is_some() {
                            "nor does the model; give --wavelength Å or --radiation CuKa (or \
                             instrument.wavelength / instrument.radiation in the model)"
                        } else {
                            "give --wavelength Å or --radiation CuKa"
                        },
                    ))
                }
            }
        }
    };
    let mut model = match source {
        Some(src) => args.beam.model_from_file(src, chosen)?,
        None => {
            // INVARIANT: without a model the wavelength comes from the command line or the
            // data file, else the match above returned an error.
            let Some(r) = chosen else { bail!("no wavelength") };
            args.beam.bare_model(r)?
        }
    };
    model.phases.extend(cif_phases(&args.phases)?);
    if model.phases.is_empty() {
        bail!("no phases: give --phase FILE.cif or a --model with [[phase]] entries");
    }
    for (i, c) in model.phases.iter().enumerate() {
        if model.phases[..i].iter().any(|d| d.phase.name == c.phase.name) {
            bail!("two phases are called '{}': name them with --phase NAME=FILE.cif", c.phase.name);
        }
        if c.phase.name.is_empty() || c.phase.name.contains(['.', '/', '\\']) {
            bail!(
                "phase name '{}' cannot be used in parameter keys and file names (no '.', '/' \
                 or '\\'): rename it with --phase NAME=FILE.cif",
                c.phase.name
            );
        }
    }
    Ok((model, origin))
}

/// Applies the `[refine]` bounds and constraints and resolves the manual stages.
fn apply_refine_table(
    r: &mut Refinement,
    src: &ModelSource,
    strategy: StrategyKind,
) -> Result<Option<Vec<Stage>>> {
    if src.file.refine.is_none() {
        return Ok(None);
    }
    apply_bounds_and_constraints(r, src)?;
    if strategy == StrategyKind::Default {
        return Ok(None);
    }
    let stages = manual_stages(r, src)?;
    Ok(Some(stages.into_iter().map(|(name, keys)| Stage { name, keys }).collect()))
}

/// The strategy the model asks for, checked for consistency.
fn strategy_of(src: Option<&ModelSource>) -> Result<StrategyKind> {
    let Some(src) = src else { return Ok(StrategyKind::Default) };
    let Some(spec) = &src.file.refine else { return Ok(StrategyKind::Default) };
    let has_stages = !spec.params.is_empty() || !spec.stages.is_empty();
    if !spec.params.is_empty() && !spec.stages.is_empty() {
        return Err(src.error(
            "[[refine.stage]]",
            "give refine.params (one stage) or [[refine.stage]] entries, not both",
        ));
    }
    match (spec.strategy, has_stages) {
        (Some(StrategyKind::Default), true) => Err(src.error(
            "strategy",
            "refine.strategy = \"default\" runs its own stages: remove refine.params / \
             [[refine.stage]] or set strategy = \"manual\"",
        )),
        (Some(StrategyKind::Manual), false) => Err(src.error(
            "strategy",
            "refine.strategy = \"manual\" needs refine.params or [[refine.stage]] entries",
        )),
        (_, true) => Ok(StrategyKind::Manual),
        (_, false) => Ok(StrategyKind::Default),
    }
}

/// Reads, builds and checks everything; nothing is written.
fn prepare(args: &RefineArgs) -> Result<Prepared> {
    let scan = read_powder(&args.data)?;
    let mut notes: Vec<String> =
        scan.meta.notes.iter().map(|n| format!("{}: {n}", args.data.display())).collect();
    let source = match &args.model {
        Some(path) => Some(ModelSource::read(path)?),
        None => None,
    };
    let spec = source.as_ref().and_then(|s| s.file.refine.clone()).unwrap_or_default();
    let strategy = strategy_of(source.as_ref())?;
    let mode = args.mode.map(RefineMode::from).or(spec.mode).unwrap_or(RefineMode::Rietveld);
    // Fitted window and exclusions.
    let mut window = match (&args.range, spec.range, source.as_ref().and_then(|s| s.file.range)) {
        (Some(text), _, _) => Some(parse_window(text, "--range")?),
        (None, Some([lo, hi]), _) => {
            if !(lo.is_finite() && hi.is_finite() && hi > lo) {
                let src = source.as_ref().ok_or_else(|| anyhow!("refine.range"))?;
                return Err(src.error(
                    "range",
                    format!("refine.range = [{lo}, {hi}]: STOP must be greater than START"),
                ));
            }
            Some((lo, hi))
        }
        (None, None, Some(r)) => Some((r.start, r.stop)),
        (None, None, None) => None,
    };
    let mut exclude = Vec::new();
    for [lo, hi] in &spec.exclude {
        if !(lo.is_finite() && hi.is_finite() && hi > lo) {
            let src = source.as_ref().ok_or_else(|| anyhow!("refine.exclude"))?;
            return Err(src.error(
                "exclude",
                format!("refine.exclude region [{lo}, {hi}]: STOP must be greater than START"),
            ));
        }
        exclude.push((*lo, *hi));
    }
    for text in &args.exclude {
        exclude.push(parse_window(text, "--exclude")?);
    }
    let data = &scan.data;
    let observations = Observations::new(
        &data.two_theta_deg,
        &data.intensity,
        data.esd.as_deref(),
        window,
        &exclude,
    )
    .with_context(|| format!("{}: selecting the fitted points", args.data.display()))?;
    let n = observations.len();
    if n < 2 {
        bail!("{}: only {n} point left to fit", args.data.display());
    }
    let (first, last) = (observations.two_theta_deg[0], observations.two_theta_deg[n - 1]);
    let win = window.get_or_insert((first, last));
    win.0 = win.0.max(data.two_theta_deg[0]);
    win.1 = win.1.min(data.two_theta_deg[data.len() - 1]);

    let (mut model, wavelength_source) = build_model(args, source.as_ref(), &scan, &mut notes)?;
    // The background's Chebyshev domain is the fitted window.
    let mut coeffs = model.background.coeffs().to_vec();
    let background_given = coeffs.iter().any(|c| *c != 0.0);
    if coeffs.is_empty() {
        coeffs = vec![0.0; DEFAULT_BACKGROUND_TERMS];
    }
    model.background = ChebyshevBackground::new(coeffs, first, last)?;
    let mut refinement = Refinement::new(model, observations)?;
    let stages = match &source {
        Some(src) => apply_refine_table(&mut refinement, src, strategy)?,
        None => None,
    };
    bragg_refine::strategy::initial_guess(&mut refinement, background_given)?;
    Ok(Prepared { refinement, scan, mode, stages, window: *win, exclude, wavelength_source, notes })
}

/// The fitted refinement with its stage reports and last fit.
pub(crate) struct Fitted {
    refinement: Refinement,
    reports: Vec<StageReport>,
    last: FitOutcome,
    /// Extracted intensities (Le Bail and Pawley modes).
    extracted: Vec<ExtractedReflection>,
}

fn is_bkg(k: &ParamKey) -> bool {
    matches!(k, ParamKey::Background(_))
}

fn is_cell_or_shift(k: &ParamKey) -> bool {
    matches!(
        k,
        ParamKey::Phase { item: PhaseItem::Cell(_), .. }
            | ParamKey::Inst(InstItem::Zero)
            | ParamKey::Inst(InstItem::Displacement)
    )
}

/// The default stages of a Le Bail or Pawley extraction (the intensities are handled by the
/// extraction itself): background → + cell, zero, displacement → + W → + U, V, X, Y (and the
/// asymmetry when it starts above zero).
fn extraction_stages(r: &Refinement) -> Result<Vec<Stage>> {
    let keys = |pred: &dyn Fn(&ParamKey) -> bool| -> Vec<ParamKey> {
        r.parameters.iter().map(|p| p.key.clone()).filter(|k| pred(k)).collect()
    };
    let mut k = keys(&is_bkg);
    let mut stages = vec![Stage { name: "background".into(), keys: k.clone() }];
    k.extend(keys(&is_cell_or_shift));
    stages.push(Stage { name: "+ cell, zero, displacement".into(), keys: k.clone() });
    k.push(ParamKey::profile(ProfileTerm::W));
    stages.push(Stage { name: "+ W".into(), keys: k.clone() });
    k.extend(
        [ProfileTerm::U, ProfileTerm::V, ProfileTerm::X, ProfileTerm::Y].map(ParamKey::profile),
    );
    k.extend(bragg_refine::strategy::asymmetry_keys(r)?);
    stages.push(Stage { name: "+ U, V, X, Y (asym)".into(), keys: k });
    Ok(stages)
}

/// Le Bail or Pawley: each stage refines its keys (besides the intensities) with the
/// extraction; the first starts from equal intensities, the next ones from the previous
/// stage's.
fn execute_extraction(r: &mut Refinement, mode: RefineMode, stages: &[Stage]) -> Result<Fitted> {
    apply_default_bounds(r);
    let phases: Vec<usize> = (0..r.model.phases.len()).collect();
    let mut reports = Vec::with_capacity(stages.len());
    let mut last = None;
    let mut extracted = Vec::new();
    for (i, s) in stages.iter().enumerate() {
        let initial = if i == 0 { InitialIntensities::Equal } else { InitialIntensities::Current };
        r.fix_all();
        r.refine(&s.keys, true).with_context(|| format!("stage '{}'", s.name))?;
        let (outcome, statistics, reflections) = if mode == RefineMode::Lebail {
            let res = lebail(r, &phases, LeBailOptions { initial, ..LeBailOptions::default() })
                .with_context(|| format!("Le Bail stage '{}'", s.name))?;
            let mut outcome = match res.last_fit {
                Some(o) => o,
                None => FitOutcome {
                    termination: Termination::NothingRefined,
                    evaluations: 0,
                    statistics: res.statistics,
                    covariance: None,
                    singular: None,
                    bound_hits: Vec::new(),
                    evaluation: r.evaluate()?,
                    warnings: Vec::new(),
                },
            };
            if !res.converged && outcome.termination.is_success() {
                outcome.termination = Termination::MaxEvaluations;
            }
            (outcome, res.statistics, res.reflections)
        } else {
            let options = PawleyOptions {
                initial,
                partition_sweeps: if i == 0 { 3 } else { 0 },
                ..PawleyOptions::default()
            };
            let res = pawley(r, &phases, options)
                .with_context(|| format!("Pawley stage '{}'", s.name))?;
            (res.outcome, res.statistics, res.reflections)
        };
        reports.push(StageReport {
            name: s.name.clone(),
            refined: s.keys.iter().map(ToString::to_string).collect(),
            termination: outcome.termination.clone(),
            evaluations: outcome.evaluations,
            rwp: statistics.rwp,
            dropped: Vec::new(),
        });
        last = Some(FitOutcome { statistics, ..outcome });
        extracted = reflections;
    }
    let Some(last) = last else { bail!("no stage to run") };
    r.sync_values();
    Ok(Fitted { refinement: r.clone(), reports, last, extracted })
}

fn execute(prepared: &Prepared) -> Result<Fitted> {
    let mut r = prepared.refinement.clone();
    if prepared.mode != RefineMode::Rietveld {
        let stages = match &prepared.stages {
            Some(s) => {
                s.iter().map(|s| Stage { name: s.name.clone(), keys: s.keys.clone() }).collect()
            }
            None => extraction_stages(&r)?,
        };
        return execute_extraction(&mut r, prepared.mode, &stages);
    }
    let (reports, last) = match &prepared.stages {
        None => run_default(&mut r, &StrategyOptions::default())?,
        Some(stages) => {
            apply_default_bounds(&mut r);
            let mut reports = Vec::with_capacity(stages.len());
            let mut last = None;
            for s in stages {
                let (rep, out) = run_stage(&mut r, &s.name, &s.keys, FitOptions::default())
                    .with_context(|| format!("stage '{}'", s.name))?;
                reports.push(rep);
                last = Some(out);
            }
            let Some(last) = last else { bail!("the manual strategy has no stage") };
            (reports, last)
        }
    };
    r.sync_values();
    Ok(Fitted { refinement: r, reports, last, extracted: Vec::new() })
}

/// Runs `bragg refine`: fit, write the outputs to OUTDIR, print the summary to `out`.
pub fn run(args: &RefineArgs, out: &mut dyn Write) -> Result<()> {
    if args.outdir.exists() && !args.outdir.is_dir() {
        bail!("-o {}: exists and is not a folder", args.outdir.display());
    }
    let prepared = prepare(args)?;
    let fitted = execute(&prepared)?;
    let bundle = outputs::assemble(args, &prepared, &fitted)?;
    let written = outputs::write_all(&args.outdir, &bundle)?;
    summary::print(out, &bundle, &fitted, &prepared)?;
    for path in &written {
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}

/// Text of a termination for tables and JSON.
pub(crate) fn termination_text(t: &bragg_refine::Termination) -> String {
    use bragg_refine::Termination as T;
    match t {
        T::Converged => "converged".into(),
        T::Orthogonal => "converged (orthogonal)".into(),
        T::NoFurtherImprovement => "converged (no further improvement)".into(),
        T::MaxEvaluations => "evaluation budget used up".into(),
        T::NothingRefined => "nothing refined".into(),
        T::Failed(why) => format!("failed: {why}"),
        #[allow(unreachable_patterns)]
        other => format!("{other:?}"),
    }
}

/// A wavelength description `λ = 1.540598 / 1.544426 Å (Kα2/Kα1 0.5)`.
pub(crate) fn describe_radiation(r: &Radiation) -> String {
    let c = r.components();
    let lam = c.iter().map(|c| format!("{:.6}", c.wavelength_angstrom)).collect::<Vec<_>>();
    if c.len() > 1 {
        let ratios = c[1..].iter().map(|c| format!("{}", c.relative_intensity)).collect::<Vec<_>>();
        format!("λ = {} Å (intensity ratio {})", lam.join(" / "), ratios.join(", "))
    } else {
        format!("λ = {} Å", lam.join(""))
    }
}

impl Prepared {
    fn wavelength_line(&self) -> String {
        format!(
            "{} (from the {})",
            describe_radiation(&self.refinement.model.instrument.radiation),
            self.wavelength_source.describe()
        )
    }
}

/// Where a path's file name is safe for a phase: whitespace and separators replaced by `_`.
pub(crate) fn file_stem_for(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_whitespace() || matches!(c, '/' | '\\' | ':') { '_' } else { c })
        .collect()
}
