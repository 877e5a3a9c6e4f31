//! `bragg sequential`: fit a series of scans (in situ / operando, temperature ramps) and write
//! one row per scan to `OUTDIR/sequential.csv` and `sequential.json`.
//!
//! The reference scan (the first; the last with `--mode reverse`) gets the full strategy of
//! `bragg refine` (the default stages or the model's `[refine]` stages); every other scan
//! refines only the per-scan parameters (`--per-scan`, default cell, scale, profile W and Y,
//! background T0 and T1) with everything else fixed at the reference fit (see
//! [`bragg_refine::sequential`]). Each finished scan is appended to
//! `OUTDIR/sequential.log.jsonl` and synced to disk, so an interrupted run continues with
//! `--resume` without refitting finished scans; the CSV and JSON are written atomically from
//! the log at the end (also after a failure). `--shard K/N` fits every N-th scan from the
//! K-th, and `bragg merge` joins the shards' folders.
//!
//! With a cycler log (`--echem`), each scan's exposure window (from `--scan-times` or the
//! header time stamps) gives `time_s` (the mid time on the log's clock), `voltage_v`,
//! `segment` (charge, discharge or rest), `cycle` and, with the cell (`--active-mass` and
//! `--formula` or `--molar-mass`, `--x0`), `x_li` averaged over the exposure (see
//! [`echem`]); the hysteresis analysis of `bragg hysteresis` then runs into OUTDIR.

pub mod echem;
mod files;
pub mod log;
mod setup;
pub mod time;

pub use time::parse_timestamp;

use crate::commands::hysteresis::hysteresis_for_table;
use crate::commands::radiation::RadiationArgs;
use anyhow::{anyhow, bail, Result};
use bragg_crystal::pattern::ProfileTerm;
use bragg_io::write_atomic;
use bragg_refine::sequential::{
    plan, run_series, FirstFit, LoadedScan, PerScan, ScanEntry, ScanRow, SequentialOptions,
    SequentialTable, SeriesEvent, SeriesMode, Shard, SharedCovariance,
};
use bragg_refine::strategy::StrategyOptions;
use bragg_refine::uncertain::Uncertain;
use bragg_refine::{FitOptions, ParamKey};
use clap::{Args, ValueEnum};
use log::{LogContent, LogLine, LogWriter, RunHeader, LOG_NAME};
use serde::{Deserialize, Serialize};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Series mode on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Each scan starts from the previous good scan's result (default).
    Chained,
    /// Every scan starts from the reference result; parallel over scans.
    Independent,
    /// Chained from the last scan backwards.
    Reverse,
}

impl From<ModeArg> for SeriesMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Chained => SeriesMode::Chained,
            ModeArg::Independent => SeriesMode::Independent,
            ModeArg::Reverse => SeriesMode::Reverse,
        }
    }
}

/// Arguments of `bragg sequential`.
#[derive(Debug, Clone, Args)]
pub struct SequentialArgs {
    /// The scans: files, folders (their scan files) or quoted glob patterns; fitted in
    /// natural order of their paths (scan_2 before scan_10).
    #[arg(value_name = "SCANS", required = true)]
    pub scans: Vec<String>,
    /// A phase from a CIF file, optionally named: `--phase LTNO=ltno.cif` (repeatable).
    #[arg(long = "phase", value_name = "[NAME=]FILE.cif")]
    pub phases: Vec<String>,
    /// Radiation and instrument defaults.
    #[command(flatten)]
    pub beam: RadiationArgs,
    /// A TOML model (phases, instrument, background, `[refine]` for the reference fit,
    /// `[sequential]` for the series).
    #[arg(long, value_name = "FILE.toml")]
    pub model: Option<PathBuf>,
    /// A GSAS instrument parameter file: zero, polarisation, TCH profile (and the wavelength
    /// when no other source gives it).
    #[arg(long, value_name = "FILE.prm")]
    pub prm: Option<PathBuf>,
    /// Fitted 2θ window in degrees, START:STOP.
    #[arg(long, value_name = "START:STOP")]
    pub range: Option<String>,
    /// A 2θ region left out of the fit, START:STOP (repeatable).
    #[arg(long = "exclude", value_name = "START:STOP")]
    pub exclude: Vec<String>,
    /// Output folder (created if needed).
    #[arg(short = 'o', long = "output", value_name = "OUTDIR")]
    pub outdir: PathBuf,
    /// chained (default), independent or reverse.
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Continue an interrupted run in OUTDIR: scans in its log are not refitted.
    #[arg(long)]
    pub resume: bool,
    /// Fit every N-th scan starting at the K-th (1-based), e.g. 2/4; join with `bragg merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Threads for independent mode (default: all cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Parameters refined per scan, comma-separated groups (cell, scale, profile, background,
    /// zero, displacement) and/or keys (LTNO.M1.biso); default cell,scale,profile,background.
    #[arg(long = "per-scan", value_name = "LIST")]
    pub per_scan: Option<String>,
    /// A phase whose cell stays at the reference fit (window: Be, Al, Li; repeatable).
    #[arg(long = "fixed-phase", value_name = "NAME")]
    pub fixed_phases: Vec<String>,
    /// Profile terms of the profile group, e.g. W,X,Y (default W,Y).
    #[arg(long = "profile-terms", value_name = "LIST")]
    pub profile_terms: Option<String>,
    /// Chebyshev terms of the background group from T0, or `all` (default 2).
    #[arg(long = "background-terms", value_name = "N|all")]
    pub background_terms: Option<String>,
    /// A scan whose Rwp exceeds this factor × the last good scan's is retried, then flagged
    /// (default 1.5).
    #[arg(long = "rwp-factor", value_name = "F")]
    pub rwp_factor: Option<f64>,
    /// No progress bar (it is shown only when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Cycler log, scan times and cell (x(Li) by coulomb counting).
    #[command(flatten)]
    pub echem: Box<echem::EchemOptions>,
}

/// `sequential.json`: the run's settings and the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequentialJson {
    /// The run (mode, shard, series length, columns).
    pub run: RunHeader,
    /// CSV column names.
    pub columns: Vec<String>,
    /// The reference fit's scan number.
    pub reference_scan: Option<usize>,
    /// The covariance the shared parameters transmit to the per-scan ones.
    pub shared_covariance: Option<SharedCovariance>,
    /// Per-scan keys, phases, shared parameters and rows.
    pub table: SequentialTable,
}

/// Writes `sequential.csv` and `sequential.json` atomically into `outdir`.
pub fn write_outputs(outdir: &Path, json: &SequentialJson) -> Result<Vec<PathBuf>> {
    let csv_path = outdir.join("sequential.csv");
    let json_path = outdir.join("sequential.json");
    let csv = json.table.to_csv();
    write_atomic(&csv_path, |w: &mut dyn Write| w.write_all(csv.as_bytes()))?;
    let text = serde_json::to_string_pretty(json)?;
    write_atomic(&json_path, |w: &mut dyn Write| w.write_all(text.as_bytes()))?;
    Ok(vec![csv_path, json_path])
}

fn parse_per_scan(
    args: &SequentialArgs,
    spec: Option<&bragg_io::model::SequentialSpec>,
) -> Result<PerScan> {
    let mut p = PerScan::default();
    let list: Option<Vec<String>> = match (&args.per_scan, spec.map(|s| &s.per_scan)) {
        (Some(text), _) => {
            Some(text.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        }
        (None, Some(v)) if !v.is_empty() => Some(v.clone()),
        _ => None,
    };
    if let Some(items) = list {
        p = PerScan {
            cell: false,
            scale: false,
            profile: Vec::new(),
            background_terms: Some(0),
            zero: false,
            displacement: false,
            extra: Vec::new(),
            fixed_phases: Vec::new(),
        };
        let mut profile = false;
        let mut background = false;
        for item in items {
            match item.to_ascii_lowercase().as_str() {
                "cell" => p.cell = true,
                "scale" => p.scale = true,
                "profile" => profile = true,
                "background" => background = true,
                "zero" => p.zero = true,
                "displacement" => p.displacement = true,
                _ => p.extra.push(item.parse::<ParamKey>().map_err(|e| {
                    anyhow!("--per-scan '{item}': not a group (cell, scale, profile, background, zero, displacement) nor a key: {e}")
                })?),
            }
        }
        if profile {
            p.profile = PerScan::default().profile;
        }
        if background {
            p.background_terms = PerScan::default().background_terms;
        }
    }
    let terms = match (&args.profile_terms, spec.and_then(|s| s.profile_terms.clone())) {
        (Some(t), _) => Some(t.split(',').map(|s| s.trim().to_string()).collect::<Vec<_>>()),
        (None, Some(v)) => Some(v),
        _ => None,
    };
    if let Some(terms) = terms {
        if !p.profile.is_empty() {
            p.profile = terms
                .iter()
                .filter(|t| !t.is_empty())
                .map(|t| {
                    ProfileTerm::ALL
                        .into_iter()
                        .find(|x| x.name().eq_ignore_ascii_case(t))
                        .ok_or_else(|| {
                            anyhow!("profile term '{t}': expected U, V, W, P, X, Y or asym")
                        })
                })
                .collect::<Result<_>>()?;
        }
    }
    let bkg = match (&args.background_terms, spec.and_then(|s| s.background_terms)) {
        (Some(t), _) if t.eq_ignore_ascii_case("all") => Some(None),
        (Some(t), _) => Some(Some(
            t.parse::<usize>()
                .map_err(|_| anyhow!("--background-terms '{t}': expected a number or all"))?,
        )),
        (None, Some(n)) => Some(Some(n)),
        _ => None,
    };
    if let Some(b) = bkg {
        if p.background_terms != Some(0) {
            p.background_terms = b;
        }
    }
    p.fixed_phases = args.fixed_phases.clone();
    if let Some(s) = spec {
        for f in &s.fixed_phases {
            if !p.fixed_phases.contains(f) {
                p.fixed_phases.push(f.clone());
            }
        }
    }
    Ok(p)
}

fn progress_bar(len: usize, show: bool) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} scans  {per_sec}  ETA {eta}  {msg}",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

fn refine_error(e: anyhow::Error) -> bragg_refine::Error {
    bragg_refine::Error::InvalidInput(format!("{e:#}"))
}

/// Runs `bragg sequential` (module documentation); the report goes to `out`.
pub fn run(args: &SequentialArgs, out: &mut dyn Write) -> Result<()> {
    let clock = Instant::now();
    if args.outdir.exists() && !args.outdir.is_dir() {
        bail!("-o {}: exists and is not a folder", args.outdir.display());
    }
    let paths = files::expand(&args.scans)?;
    let src = args.model.as_deref().map(setup::ModelSource::read).transpose()?;
    let spec = src.as_ref().and_then(|s| s.file.sequential.clone());
    let mode: SeriesMode = match (args.mode, spec.as_ref().and_then(|s| s.mode.clone())) {
        (Some(m), _) => m.into(),
        (None, Some(text)) => match (text.parse(), src.as_ref()) {
            (Ok(m), _) => m,
            (Err(e), Some(s)) => return Err(s.error("mode", e)),
            (Err(e), None) => return Err(anyhow!("{e}")),
        },
        (None, None) => SeriesMode::Chained,
    };
    let shard: Option<Shard> = args.shard.as_deref().map(str::parse).transpose()?;
    if args.jobs == Some(0) {
        bail!("--jobs must be at least 1");
    }
    let entries: Vec<ScanEntry> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| ScanEntry { scan: i + 1, file: p.display().to_string() })
        .collect();
    let the_plan = plan(&entries, mode, shard)?;
    let echem_setup = echem::EchemSetup::new(&args.echem)?;
    let table_windows = match &echem_setup {
        Some(e) => {
            let files: Vec<String> = entries.iter().map(|e| e.file.clone()).collect();
            e.table_windows(&files)?
        }
        None => None,
    };
    let sel = setup::Selection::new(args, src.as_ref())?;
    let prm = args.prm.as_deref().map(setup::read_prm).transpose()?;
    let reference_path = &paths[the_plan.reference.scan - 1];
    let (reference_scan, header) = setup::load_scan(reference_path, &sel)
        .map_err(|e| anyhow!("reference scan {}: {e:#}", reference_path.display()))?;
    let (template, stages) =
        setup::template(args, src.as_ref(), prm.as_ref(), &reference_scan, &header)?;
    let per_scan = parse_per_scan(args, spec.as_ref())?;
    let rwp_factor = args.rwp_factor.or(spec.as_ref().and_then(|s| s.rwp_factor)).unwrap_or(1.5);
    let options = SequentialOptions {
        mode,
        first: match stages {
            Some(s) => FirstFit::Stages(s),
            None => FirstFit::Default(StrategyOptions::default()),
        },
        per_scan,
        fit: FitOptions::default(),
        rwp_factor,
        jobs: args.jobs.unwrap_or(0),
    };
    let keys = options.per_scan.keys(&template)?;
    let run_header = RunHeader {
        mode,
        shard,
        n_scans: entries.len(),
        per_scan_keys: keys,
        phases: template.model.phases.iter().map(|c| c.phase.name.clone()).collect(),
    };

    std::fs::create_dir_all(&args.outdir)
        .map_err(|e| anyhow!("-o {}: {e}", args.outdir.display()))?;
    let log_path = args.outdir.join(LOG_NAME);
    let logged = LogContent::read(&log_path)?;
    if !args.resume && (logged.header.is_some() || !logged.rows.is_empty()) {
        bail!(
            "{} holds a previous run: continue it with --resume or choose another output folder",
            args.outdir.display()
        );
    }
    if let Some(h) = &logged.header {
        log::check_header(h, &run_header, &log_path)?;
        let files: Vec<String> = entries.iter().map(|e| e.file.clone()).collect();
        log::check_files(&logged, &files, &log_path)?;
    }
    let writer = LogWriter::open(&log_path, logged.complete_len, !args.resume)?;
    if logged.header.as_ref().is_none_or(|h| h.n_scans != run_header.n_scans) {
        writer.append(&LogLine::Run(run_header.clone()))?;
    }
    let resume = logged.resume();

    let show = !args.no_progress && std::io::stderr().is_terminal();
    let pb = progress_bar(the_plan.todo.len(), show);
    if resume.reference.is_none() {
        pb.set_message(format!("reference fit of scan {}", the_plan.reference.scan));
    }
    let loader = |e: &ScanEntry| -> bragg_refine::Result<LoadedScan> {
        let path = paths
            .get(e.scan - 1)
            .ok_or_else(|| bragg_refine::Error::InvalidInput(format!("no scan {}", e.scan)))?;
        setup::load_scan(path, &sel).map(|(l, _)| l).map_err(refine_error)
    };
    let sink = |event: SeriesEvent<'_>| -> bragg_refine::Result<()> {
        match event {
            SeriesEvent::Reference(row) => {
                writer.append(&LogLine::Reference { row: row.clone() }).map_err(refine_error)?;
                pb.set_message("");
            }
            SeriesEvent::Row(row) => {
                writer.append(&LogLine::Row { row: row.clone() }).map_err(refine_error)?;
                if !row.is_good() {
                    pb.println(format!(
                        "scan {} ({}) flagged: {}",
                        row.scan,
                        row.file,
                        row.flags.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
                    ));
                }
                pb.inc(1);
            }
            SeriesEvent::Skipped(_) => pb.inc(1),
        }
        Ok(())
    };
    let result =
        run_series(&template, reference_scan.meta, &the_plan, &loader, &options, &resume, &sink);
    pb.finish_and_clear();
    // The tables from the log, also after a failure (they hold every finished scan).
    let content = LogContent::read(&log_path)?;
    let mut echem_notes = Vec::new();
    let written = match content.table() {
        Some(mut table) => {
            if let Some(e) = &echem_setup {
                echem_notes = e.fill(&mut table.rows, table_windows.as_deref())?;
            }
            let json = SequentialJson {
                run: run_header.clone(),
                columns: table.columns(),
                reference_scan: content.reference.as_ref().map(|r| r.scan),
                shared_covariance: content
                    .reference
                    .as_ref()
                    .and_then(|r| r.shared_covariance.clone()),
                table,
            };
            let w = write_outputs(&args.outdir, &json)?;
            Some((w, json))
        }
        None => None,
    };
    let summary = result?;
    let hysteresis = match (&echem_setup, &written) {
        (Some(e), Some(_)) => Some(
            hysteresis_for_table(
                &args.outdir.join("sequential.csv"),
                None,
                Some(&e.trace),
                &args.outdir,
            )
            .map_err(|err| format!("{err:#}")),
        ),
        _ => None,
    };
    let seconds = clock.elapsed().as_secs_f64();
    writeln!(
        out,
        "{} series of {} scans{}: {} fitted, {} skipped (finished earlier), {} flagged in {:.1} s ({:.2} scans/s)",
        mode,
        entries.len(),
        shard.map(|s| format!(", shard {s}")).unwrap_or_default(),
        summary.fitted,
        summary.skipped,
        summary.flagged,
        seconds,
        summary.fitted as f64 / seconds.max(1e-9)
    )?;
    let r = &summary.reference;
    writeln!(
        out,
        "reference scan {} ({}): Rwp {:.2} %, GoF {:.2}{}",
        r.scan,
        r.file,
        100.0 * r.rwp.unwrap_or(f64::NAN),
        r.gof.unwrap_or(f64::NAN),
        if r.is_good() { String::new() } else { format!(" — flagged: {}", flags_text(r)) }
    )?;
    if !r.shared.is_empty() {
        let shared: Vec<String> = r
            .shared
            .iter()
            .map(|p| format!("{} = {}", p.key, Uncertain { value: p.value, esd: p.esd }))
            .collect();
        writeln!(out, "shared (fixed after the reference fit): {}", shared.join(", "))?;
    }
    writeln!(
        out,
        "per scan: {}",
        summary.per_scan_keys.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )?;
    if let Some((paths, json)) = &written {
        for row in json.table.rows.iter().filter(|r| !r.is_good()) {
            writeln!(out, "flagged scan {} ({}): {}", row.scan, row.file, flags_text(row))?;
        }
        for p in paths {
            writeln!(out, "wrote {}", p.display())?;
        }
    }
    if let Some(e) = &echem_setup {
        let with = written.as_ref().map_or(0, |(_, j)| {
            j.table.rows.iter().filter(|r| r.echem.voltage_v.is_some()).count()
        });
        writeln!(
            out,
            "cycler log {}: {} scans aligned{}",
            e.source().display(),
            with,
            if e.cell.is_some() { " (x(Li) by coulomb counting)" } else { "" }
        )?;
        for n in &echem_notes {
            writeln!(out, "note: {n}")?;
        }
    }
    match hysteresis {
        Some(Ok((_, text))) => {
            out.write_all(text.as_bytes())?;
        }
        Some(Err(err)) => writeln!(out, "note: hysteresis not computed: {err}")?,
        None => {}
    }
    Ok(())
}

fn flags_text(r: &ScanRow) -> String {
    r.flags.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}
