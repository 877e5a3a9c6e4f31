//! `bragg demo`: the whole in situ pipeline on an embedded, simulated experiment.
//!
//! With no input files it simulates, in memory, an in situ lab experiment on the seed paper's
//! Li-rich rock salt Li1.17Ti0.58Ni0.25O2 (B. Li et al., Nat. Mater. 21, 1165 (2022), Fig. 3;
//! [`scenario`]): Cu Kα1/Kα2 Bragg–Brentano scans (15–80° 2θ, 3,251 points) of the electrode in
//! a cell with a beryllium window and an aluminium current collector, through a charge (the
//! lattice shrinks to ≈ 4.111 Å), a rest at open circuit (the lattice relaxes, a stretched
//! exponential with τ = 2 h, β = 0.6, Δa = 0.01 Å) and a discharge with the structural
//! hysteresis of the redox inversion, each scan the average over its exposure with Poisson
//! noise, and the cycler's log (constant current, known active mass). Then it runs what a user
//! runs on real data: the chained sequential fit (`bragg sequential`, Be and Al cells fixed
//! after the reference fit), the Li content of each scan from the log (Faraday), the
//! hysteresis (`bragg hysteresis`) and the relaxation kinetics (`bragg relax`, model by
//! AICc), and writes every table and figure to the output folder (all or nothing: see
//! [`staging`]). The report compares what was refined with the truth.

pub mod data;
mod noise;
mod report;
pub mod scenario;
mod staging;

use crate::commands::hysteresis::hysteresis_for_table;
use crate::commands::hysteresis::series::EchemArgs;
use crate::commands::relax::{self, ModelArg, RelaxArgs};
use crate::commands::sequential::log::RunHeader;
use crate::commands::sequential::{write_outputs, SequentialJson};
use crate::plot::{insitu_map, PhaseTicks, RietveldPlot};
use anyhow::{anyhow, Context, Result};
use bragg_io::write_atomic;
use bragg_refine::analysis::{scan_echem, CellSpec, ScanEchem, ScanWindow};
use bragg_refine::sequential::{
    plan, run_series, LoadedScan, PerScan, Resume, ScanEntry, ScanMeta, ScanRow, SequentialOptions,
    SequentialTable, SeriesEvent, SeriesMode,
};
use bragg_refine::{Constraint, Observations, ParamKey, Refinement};
use clap::Args;
use data::{simulate_series, start_model, SimData};
use scenario::Scenario;
use staging::Staging;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

pub use report::{DemoSummary, HysteresisComparison, RelaxComparison, SegmentComparison, Timings};

/// The cells of the window phases, held at their known values.
const WINDOW_CELLS: [&str; 3] = ["Be.cell.a", "Be.cell.c", "Al.cell.a"];

/// The refined parameter the analyses follow.
pub const A_KEY: &str = "LTNO.cell.a";

/// Arguments of `bragg demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Output folder (created; files of an earlier demo in it are replaced).
    #[arg(short = 'o', long = "output", value_name = "DIR", default_value = "bragg-demo")]
    pub outdir: PathBuf,
    /// Number of scans of the series (charge, rest and discharge share them by duration).
    #[arg(long, value_name = "N", default_value_t = 60)]
    pub scans: usize,
    /// Seed of the counting and voltage noise.
    #[arg(long, value_name = "S", default_value_t = 2022)]
    pub seed: u64,
    /// Also write the simulated scans (DIR/scans/scan_NNN.xye), so that `bragg sequential` can
    /// be run on them by hand.
    #[arg(long = "write-scans")]
    pub write_scans: bool,
}

/// The file name of scan `n` (also its label in the tables).
pub fn scan_file(n: usize) -> String {
    format!("scan_{n:03}.xye")
}

/// The fitted series.
struct SeriesFit {
    table: SequentialTable,
    header: RunHeader,
    reference: ScanRow,
    template: Refinement,
}

fn observations(data: &SimData, scan: usize) -> bragg_refine::Result<Observations> {
    let s = data
        .scans
        .get(scan.wrapping_sub(1))
        .ok_or_else(|| bragg_refine::Error::InvalidInput(format!("the demo has no scan {scan}")))?;
    Observations::new(&data.grid, &s.counts, None, None, &[])
}

/// The chained sequential fit of the whole series (as `bragg sequential --fixed-phase Be
/// --fixed-phase Al` does).
fn fit_series(data: &SimData) -> Result<SeriesFit> {
    let entries: Vec<ScanEntry> = data
        .scans
        .iter()
        .map(|s| ScanEntry { scan: s.slot.scan, file: scan_file(s.slot.scan) })
        .collect();
    let the_plan = plan(&entries, SeriesMode::Chained, None)?;
    let first = observations(data, the_plan.reference.scan)?;
    // A flat starting background at the lower decile of the counts.
    let mut sorted = first.y_obs.clone();
    sorted.sort_by(f64::total_cmp);
    let level = sorted.get(sorted.len() / 10).copied().unwrap_or(1.0).max(1.0);
    let mut template = Refinement::new(start_model(level)?, first)?;
    // Be and Al are internal standards: their cells are known and held (a one-term linear
    // constraint keeps a parameter at its start), so they calibrate the zero shift.
    for key in WINDOW_CELLS {
        let key: ParamKey = key.parse()?;
        template.constraints.push(Constraint::Linear { terms: vec![(key, 1.0)] });
    }
    let options = SequentialOptions {
        mode: SeriesMode::Chained,
        // Per scan: the LTNO cell (the window cells are held), scales, W, Y, T0 and T1.
        per_scan: PerScan { cell: false, extra: vec![A_KEY.parse()?], ..PerScan::default() },
        jobs: 1,
        ..SequentialOptions::default()
    };
    let loader = |e: &ScanEntry| -> bragg_refine::Result<LoadedScan> {
        Ok(LoadedScan { observations: observations(data, e.scan)?, meta: ScanMeta::default() })
    };
    let rows: Mutex<Vec<ScanRow>> = Mutex::new(Vec::new());
    let sink = |event: SeriesEvent<'_>| -> bragg_refine::Result<()> {
        if let SeriesEvent::Row(row) = event {
            let mut row = row.clone();
            row.state.clear();
            rows.lock()
                .map_err(|_| bragg_refine::Error::InvalidInput("row sink poisoned".into()))?
                .push(row);
        }
        Ok(())
    };
    let summary = run_series(
        &template,
        ScanMeta::default(),
        &the_plan,
        &loader,
        &options,
        &Resume::default(),
        &sink,
    )?;
    let rows = rows.into_inner().unwrap_or_else(|e| e.into_inner());
    let header = RunHeader {
        mode: SeriesMode::Chained,
        shard: None,
        n_scans: entries.len(),
        per_scan_keys: summary.per_scan_keys.clone(),
        phases: summary.phases.clone(),
    };
    let table = SequentialTable::new(
        summary.per_scan_keys.clone(),
        summary.phases.clone(),
        summary.reference.shared.clone(),
        rows,
    );
    Ok(SeriesFit { table, header, reference: summary.reference, template })
}

/// Puts each scan on the log's clock (time_s = mid-exposure) with its electrochemistry.
fn attach_echem(table: &mut SequentialTable, data: &SimData, echem: &[ScanEchem]) {
    for row in &mut table.rows {
        let Some(i) = row.scan.checked_sub(1) else { continue };
        if let (Some(s), Some(e)) = (data.scans.get(i), echem.get(i)) {
            row.time_s = Some(s.slot.mid_s());
            row.echem.x_li = Some(e.x_li);
            row.echem.voltage_v = Some(e.voltage_v);
            row.echem.segment = Some(e.state.as_str().to_string());
            row.echem.cycle = Some(e.cycle);
        }
    }
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, |w: &mut dyn Write| w.write_all(text.as_bytes()))?;
    Ok(())
}

/// The inputs a user would have: the cycler log, the scan-time table and (for checking) the
/// truth of every scan.
fn write_inputs(dir: &Path, data: &SimData, write_scans: bool) -> Result<()> {
    let t = &data.trace;
    let mut log = String::from("time_s,voltage_v,current_ma\n");
    for i in 0..t.time_s.len() {
        let _ = writeln!(log, "{},{},{}", t.time_s[i], t.voltage_v[i], t.current_ma[i]);
    }
    write_text(&dir.join("echem.csv"), &log)?;
    let mut times = String::from("scan,file,start_s,end_s\n");
    let mut truth = String::from("scan,file,segment,start_s,end_s,time_s,x_li,a_true\n");
    for s in &data.scans {
        let sl = &s.slot;
        let _ = writeln!(times, "{},{},{},{}", sl.scan, scan_file(sl.scan), sl.start_s, sl.end_s);
        let _ = writeln!(
            truth,
            "{},{},{},{},{},{},{},{}",
            sl.scan,
            scan_file(sl.scan),
            sl.segment.as_str(),
            sl.start_s,
            sl.end_s,
            sl.mid_s(),
            s.x_true,
            s.a_true
        );
    }
    write_text(&dir.join("scan_times.csv"), &times)?;
    write_text(&dir.join("truth.csv"), &truth)?;
    if write_scans {
        let sub = dir.join("scans");
        std::fs::create_dir_all(&sub)?;
        for s in &data.scans {
            let p = bragg_io::xye::PowderData {
                two_theta_deg: data.grid.clone(),
                intensity: s.counts.clone(),
                esd: Some(s.counts.iter().map(|c| c.max(1.0).sqrt()).collect()),
                source: PathBuf::new(),
            };
            bragg_io::xye::write_xye(
                &sub.join(scan_file(s.slot.scan)),
                &p,
                &format!("bragg demo scan {} Cu Ka1/Ka2", s.slot.scan),
            )?;
        }
    }
    Ok(())
}

/// The Rietveld plot of the reference scan with the reference fit's parameters.
fn reference_plot(fit: &SeriesFit, dir: &Path) -> Result<()> {
    let mut r = fit.template.clone();
    for (k, v) in &fit.reference.state {
        // Keys come from this refinement's own parameter list.
        let _ = r.set_value(k, *v);
    }
    let ev = r.evaluate()?;
    let o = &r.observations;
    let mut plot = RietveldPlot::new(&o.two_theta_deg, &o.y_obs, &ev.total, &ev.background);
    plot.phases = r
        .model
        .phases
        .iter()
        .zip(&ev.records)
        .map(|(c, rec)| PhaseTicks {
            name: c.phase.name.clone(),
            positions_deg: rec.iter().map(|p| p.two_theta_deg).collect(),
        })
        .collect();
    plot.title = format!(
        "bragg demo: scan {} (reference fit), Rwp {:.2} %",
        fit.reference.scan,
        100.0 * fit.reference.rwp.unwrap_or(f64::NAN)
    );
    plot.wavelength_label = Some("Cu Kα1/Kα2".into());
    plot.render(&dir.join("rietveld_scan1.png"), &dir.join("rietveld_scan1.svg"))?;
    Ok(())
}

/// The in situ map of the (111)/(200) region next to the voltage.
fn map_plot(data: &SimData, dir: &Path) -> Result<()> {
    let scans: Vec<(&[f64], &[f64])> =
        data.scans.iter().map(|s| (data.grid.as_slice(), s.counts.as_slice())).collect();
    let times: Vec<f64> = data.scans.iter().map(|s| s.slot.mid_s()).collect();
    insitu_map(
        &scans,
        &times,
        Some((35.0, 47.0)),
        &data.trace.time_s,
        &data.trace.voltage_v,
        &dir.join("insitu_map.png"),
        &dir.join("insitu_map.svg"),
    )?;
    Ok(())
}

/// Runs `bragg demo` (module documentation).
pub fn run(args: &DemoArgs, out: &mut dyn Write) -> Result<()> {
    let clock = Instant::now();
    if args.outdir.exists() && !args.outdir.is_dir() {
        anyhow::bail!("-o {}: exists and is not a folder", args.outdir.display());
    }
    let scenario = Scenario::default();
    let counts = scenario.scans_per_segment(args.scans)?;
    let data = simulate_series(&scenario, args.scans, args.seed)?;
    let t_simulate = clock.elapsed().as_secs_f64();

    let staging = Staging::new(&args.outdir)?;
    let dir = staging.path().to_path_buf();
    let t = Instant::now();
    let mut fit = fit_series(&data).context("sequential fit of the simulated series")?;
    let t_fit = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let cell = CellSpec {
        active_mass_mg: scenario.active_mass_mg,
        molar_mass_g_mol: scenario.molar_mass()?,
        x0: scenario.x0,
        rest_threshold_ma: None,
    };
    let windows: Vec<ScanWindow> = data
        .scans
        .iter()
        .map(|s| ScanWindow { start_s: s.slot.start_s, end_s: s.slot.end_s })
        .collect();
    let echem = scan_echem(&data.trace, &cell, &windows)?;
    attach_echem(&mut fit.table, &data, &echem);
    let json = SequentialJson {
        run: fit.header.clone(),
        columns: fit.table.columns(),
        reference_scan: Some(fit.reference.scan),
        shared_covariance: fit.reference.shared_covariance.clone(),
        table: fit.table.clone(),
    };
    write_outputs(&dir, &json)?;
    write_inputs(&dir, &data, args.write_scans)?;
    let table_path = dir.join("sequential.csv");

    let (hyst, hyst_text) = hysteresis_for_table(&table_path, Some(A_KEY), Some(&data.trace), &dir)
        .context("hysteresis of the demo series")?;
    let exposure =
        data.scans.iter().map(|s| s.slot.end_s - s.slot.start_s).fold(f64::INFINITY, f64::min);
    let relax_args = RelaxArgs {
        table: Some(table_path.clone()),
        param: Some(A_KEY.into()),
        window: None,
        model: ModelArg::Auto,
        all_rests: false,
        arrhenius: None,
        echem: EchemArgs {
            echem: vec![dir.join("echem.csv")],
            exposure_s: exposure,
            ..EchemArgs::default()
        },
        outdir: Some(dir.clone()),
        include_flagged: false,
        json: false,
    };
    let mut relax_text = Vec::new();
    relax::run(&relax_args, &mut relax_text).context("relaxation fit of the demo's rest")?;
    let relax_json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("relax.json")).context("reading relax.json")?,
    )?;
    map_plot(&data, &dir)?;
    reference_plot(&fit, &dir)?;
    let t_analysis = t.elapsed().as_secs_f64();

    let mut summary = report::summarise(
        &scenario,
        &data,
        &fit.table,
        &echem,
        &hyst,
        &relax_json,
        report::Setup { seed: args.seed, counts },
    )?;
    summary.timings = report::Timings {
        simulate_s: t_simulate,
        fit_s: t_fit,
        analysis_s: t_analysis,
        total_s: clock.elapsed().as_secs_f64(),
        scans_per_s: data.scans.len() as f64 / t_fit.max(1e-9),
    };
    let mut text = report::text(&summary);
    // report.txt: the summary, then the full reports of the hysteresis and relaxation steps.
    let details = format!(
        "{text}\n$ bragg hysteresis sequential.csv\n{hyst_text}\n$ bragg relax sequential.csv \
         --echem echem.csv --exposure {exposure}\n{}",
        String::from_utf8_lossy(&relax_text)
    );
    // The steps name the staging folder; the files end up in the output folder.
    let details = details.replace(&dir.display().to_string(), &args.outdir.display().to_string());
    write_text(&dir.join("report.txt"), &details)?;
    write_text(&dir.join("demo.json"), &serde_json::to_string_pretty(&summary)?)?;
    let files = staging.commit()?;
    let shown: Vec<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(&args.outdir).ok())
        .filter(|f| !f.starts_with("scans"))
        .filter(|f| f.extension().is_none_or(|e| e != "svg"))
        .map(|f| f.display().to_string())
        .collect();
    let _ = writeln!(
        text,
        "wrote {} files to {} in {:.1} s (PNG and SVG of each figure): {}",
        files.len(),
        args.outdir.display(),
        clock.elapsed().as_secs_f64(),
        shown.join(", ")
    );
    out.write_all(text.as_bytes()).map_err(|e| anyhow!("writing the report: {e}"))?;
    Ok(())
}
