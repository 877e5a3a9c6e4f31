//! `bragg hysteresis SEQUENTIAL.csv`: the structural hysteresis of an in situ series — a
//! refined parameter (default the first `*.cell.a`) on charge and on discharge of each cycle
//! against Li content and against voltage, Δa with esd, its maximum and where, and the loop
//! area ([`bragg_refine::analysis::hysteresis`]).
//!
//! Writes to OUTDIR (default: the folder of SEQUENTIAL.csv) `hysteresis.csv` (the common grids),
//! `hysteresis.json` (metrics per cycle), `hysteresis_x.png/.svg` and
//! `hysteresis_voltage.png/.svg` (the a(x) and a(V) loops), and `lattice_time.png/.svg` (a(t)
//! with the voltage on a second axis). [`write_hysteresis`] does the same from a series in
//! memory (for `bragg sequential` with a cycler log).

pub mod series;

use crate::plot::{Series, SeriesAxis, SeriesPlot, SeriesStyle};
use anyhow::{bail, Context, Result};
use bragg_refine::analysis::hysteresis::HysteresisInput;
use bragg_refine::analysis::{
    hysteresis, CurrentState, EchemTrace, HysteresisCycle, HysteresisOptions, HysteresisReport,
};
use bragg_refine::uncertain::Uncertain;
use clap::Args;
use serde::Serialize;
use series::{load_with_echem, EchemArgs, InsituSeries};
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `bragg hysteresis`.
#[derive(Debug, Clone, Args)]
pub struct HysteresisArgs {
    /// The series table written by `bragg sequential` (sequential.csv).
    #[arg(value_name = "SEQUENTIAL.csv")]
    pub table: PathBuf,
    /// The parameter column (default: the first `*.cell.a`).
    #[arg(long, value_name = "KEY")]
    pub param: Option<String>,
    /// Cycler log and cell options.
    #[command(flatten)]
    pub echem: EchemArgs,
    /// Points of the common grid of each cycle.
    #[arg(long = "grid", value_name = "N", default_value_t = 101)]
    pub grid_points: usize,
    /// Output folder (default: the folder of SEQUENTIAL.csv).
    #[arg(short = 'o', long = "output", value_name = "OUTDIR")]
    pub outdir: Option<PathBuf>,
    /// Keep rows that `bragg sequential` flagged (left out by default).
    #[arg(long = "include-flagged")]
    pub include_flagged: bool,
    /// Print the JSON summary instead of the text report.
    #[arg(long)]
    pub json: bool,
}

/// One cycle's metrics in `hysteresis.json`.
#[derive(Debug, Clone, Serialize)]
pub struct CycleSummary {
    /// Cycle number.
    pub cycle: u32,
    /// Scans on charge and on discharge.
    pub n_charge: usize,
    /// Scans on discharge.
    pub n_discharge: usize,
    /// Common range of the abscissa.
    pub range: [f64; 2],
    /// Δa (a_discharge − a_charge) of largest magnitude.
    pub delta_max: f64,
    /// Its esd.
    pub delta_max_esd: f64,
    /// Where.
    pub delta_max_at: f64,
    /// ∫ Δa dX.
    pub area: f64,
    /// Its esd.
    pub area_esd: f64,
    /// ∮ a dX along the cycle.
    pub loop_area: f64,
    /// Its esd.
    pub loop_area_esd: f64,
}

/// The analysis against one abscissa.
#[derive(Debug, Clone, Serialize)]
pub struct AxisSummary {
    /// `x_li` or `voltage_v`.
    pub axis: String,
    /// Per cycle.
    pub cycles: Vec<CycleSummary>,
    /// Cycles left out and why.
    pub skipped: Vec<(u32, String)>,
}

/// The content of `hysteresis.json`.
#[derive(Debug, Clone, Serialize)]
pub struct HysteresisSummary {
    /// The parameter analysed.
    pub param: String,
    /// Rows of the series used.
    pub n_scans: usize,
    /// Against x(Li), when the series has it.
    pub x_li: Option<AxisSummary>,
    /// Against voltage, when the series has it.
    pub voltage_v: Option<AxisSummary>,
    /// Why an axis was not analysed.
    pub notes: Vec<String>,
}

fn summary_of(axis: &str, r: &HysteresisReport) -> AxisSummary {
    let e = |u: &Uncertain| u.esd.unwrap_or(0.0);
    AxisSummary {
        axis: axis.into(),
        cycles: r
            .cycles
            .iter()
            .map(|c| CycleSummary {
                cycle: c.cycle,
                n_charge: c.n_charge,
                n_discharge: c.n_discharge,
                range: [c.grid[0], c.grid[c.grid.len() - 1]],
                delta_max: c.delta_max.value,
                delta_max_esd: e(&c.delta_max),
                delta_max_at: c.delta_max_at,
                area: c.area.value,
                area_esd: e(&c.area),
                loop_area: c.loop_area.value,
                loop_area_esd: e(&c.loop_area),
            })
            .collect(),
        skipped: r.skipped.clone(),
    }
}

/// Runs `bragg hysteresis`.
pub fn run(args: &HysteresisArgs, out: &mut dyn Write) -> Result<()> {
    let (series, trace) =
        load_with_echem(&args.table, args.param.as_deref(), args.include_flagged, &args.echem)?;
    let outdir = match &args.outdir {
        Some(d) => d.clone(),
        None => match args.table.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        },
    };
    let options = HysteresisOptions { grid_points: args.grid_points };
    let (summary, text) = write_hysteresis(&series, trace.as_ref(), &options, &outdir)?;
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&summary)?)?;
    } else {
        out.write_all(text.as_bytes())?;
    }
    Ok(())
}

/// The hysteresis of a `sequential.csv` already holding x_li, voltage_v, segment and cycle
/// (as `bragg sequential` writes it with a cycler log): reads `table`, analyses the parameter
/// `param` (default the first `*.cell.a`; flagged rows left out) and writes every output to
/// `outdir`, like [`write_hysteresis`]. `trace` (the log) only feeds the a(t)/voltage plot.
pub fn hysteresis_for_table(
    table: &Path,
    param: Option<&str>,
    trace: Option<&EchemTrace>,
    outdir: &Path,
) -> Result<(HysteresisSummary, String)> {
    let s = series::load_series(table, param, false)?;
    write_hysteresis(&s, trace, &HysteresisOptions::default(), outdir)
}

/// Analyses `series` against x(Li) and voltage, writes every output to `outdir` (which must
/// exist or is created) and returns the summary and a text report. Errors when neither axis
/// can be analysed (the message says why for each).
pub fn write_hysteresis(
    series: &InsituSeries,
    trace: Option<&EchemTrace>,
    options: &HysteresisOptions,
    outdir: &Path,
) -> Result<(HysteresisSummary, String)> {
    if series.state.iter().all(Option::is_none) {
        bail!(
            "the series has no current direction (empty segment column); give the cycler log \
             with --echem LOG"
        );
    }
    let n = series.value.len();
    let states: Vec<CurrentState> =
        series.state.iter().map(|s| s.unwrap_or(CurrentState::Rest)).collect();
    let cycles: Vec<u32> = series.cycle.iter().map(|c| c.unwrap_or(1)).collect();
    if let Some(i) = series.esd.iter().position(|e| !e.is_finite()) {
        bail!(
            "{}: scan {} has no esd; the hysteresis needs the esds of the refined values",
            series.key,
            series.scan[i]
        );
    }
    let mut notes = Vec::new();
    let mut analyse = |axis: &str, abscissa: &[f64]| -> Option<(HysteresisReport, AxisSummary)> {
        if abscissa.iter().all(|v| !v.is_finite()) {
            notes.push(format!("{axis}: no values in the series"));
            return None;
        }
        let input = HysteresisInput {
            abscissa,
            value: &series.value,
            esd: &series.esd,
            state: &states,
            cycle: &cycles,
        };
        match hysteresis(&input, options) {
            Ok(r) => {
                let s = summary_of(axis, &r);
                Some((r, s))
            }
            Err(e) => {
                notes.push(format!("{axis}: {e}"));
                None
            }
        }
    };
    let by_x = analyse("x_li", &series.x_li);
    let by_v = analyse("voltage_v", &series.voltage_v);
    if by_x.is_none() && by_v.is_none() {
        bail!("no hysteresis could be computed: {}", notes.join("; "));
    }
    std::fs::create_dir_all(outdir)
        .with_context(|| format!("cannot create the output folder {}", outdir.display()))?;

    // Grids as one CSV.
    let mut csv = String::from(
        "axis,cycle,abscissa,a_charge,a_charge_esd,a_discharge,a_discharge_esd,delta,delta_esd\n",
    );
    for (axis, r) in [("x_li", &by_x), ("voltage_v", &by_v)] {
        if let Some((r, _)) = r {
            for c in &r.cycles {
                for g in 0..c.grid.len() {
                    let _ = writeln!(
                        csv,
                        "{axis},{},{},{},{},{},{},{},{}",
                        c.cycle,
                        c.grid[g],
                        c.charge[g],
                        c.charge_esd[g],
                        c.discharge[g],
                        c.discharge_esd[g],
                        c.delta[g],
                        c.delta_esd[g]
                    );
                }
            }
        }
    }
    let summary = HysteresisSummary {
        param: series.key.clone(),
        n_scans: n,
        x_li: by_x.as_ref().map(|(_, s)| s.clone()),
        voltage_v: by_v.as_ref().map(|(_, s)| s.clone()),
        notes: notes.clone(),
    };
    let json = serde_json::to_string_pretty(&summary)?;
    bragg_io::write_atomic(&outdir.join("hysteresis.csv"), |w| w.write_all(csv.as_bytes()))?;
    bragg_io::write_atomic(&outdir.join("hysteresis.json"), |w| w.write_all(json.as_bytes()))?;

    // Figures.
    let unit = unit_of(&series.key);
    let y_label = format!(
        "{}{}",
        series.key,
        if unit.is_empty() { String::new() } else { format!(" ({unit})") }
    );
    let mut written = vec!["hysteresis.csv".to_string(), "hysteresis.json".to_string()];
    for (axis, label, file, rep) in [
        ("x_li", "x(Li) per formula unit", "hysteresis_x", &by_x),
        ("voltage_v", "Voltage (V)", "hysteresis_voltage", &by_v),
    ] {
        if rep.is_none() {
            continue;
        }
        let abscissa = if axis == "x_li" { &series.x_li } else { &series.voltage_v };
        loop_plot(series, abscissa, &states, &cycles, label, &y_label, &outdir.join(file))?;
        written.push(format!("{file}.png/.svg"));
    }
    time_plot(series, trace, &y_label, &outdir.join("lattice_time"))?;
    written.push("lattice_time.png/.svg".into());

    // Report.
    let mut text = String::new();
    let _ = writeln!(text, "hysteresis of {} over {n} scans", series.key);
    for (axis, rep, xunit) in [("x(Li)", &by_x, ""), ("voltage", &by_v, " V")] {
        if let Some((r, _)) = rep {
            for c in &r.cycles {
                report_cycle(&mut text, axis, c, unit, xunit);
            }
            for (c, why) in &r.skipped {
                let _ = writeln!(text, "  {axis}: cycle {c} left out: {why}");
            }
        }
    }
    for note in &notes {
        let _ = writeln!(text, "  note: {note}");
    }
    let _ = writeln!(text, "wrote {} in {}", written.join(", "), outdir.display());
    Ok((summary, text))
}

fn report_cycle(text: &mut String, axis: &str, c: &HysteresisCycle, unit: &str, xunit: &str) {
    let (lo, hi) = (c.grid[0], c.grid[c.grid.len() - 1]);
    let _ = writeln!(
        text,
        "  against {axis}, cycle {}: {} charge + {} discharge scans over {lo:.4}–{hi:.4}{xunit}; \
         max Δa = {} {unit} at {:.4}{xunit}; loop ∮a d{} = {}",
        c.cycle,
        c.n_charge,
        c.n_discharge,
        c.delta_max,
        c.delta_max_at,
        if axis == "x(Li)" { "x" } else { "V" },
        c.loop_area,
    );
}

/// The unit of a parameter key for axis titles (Å for cell edges, ° for angles).
pub fn unit_of(key: &str) -> &'static str {
    let last = key.rsplit('.').next().unwrap_or("");
    match last {
        "a" | "b" | "c" if key.contains(".cell.") => "Å",
        "alpha" | "beta" | "gamma" if key.contains(".cell.") => "°",
        "volume" => "Å³",
        _ => "",
    }
}

/// a against X for each cycle and branch, as measured (markers with esd bars and lines).
fn loop_plot(
    s: &InsituSeries,
    abscissa: &[f64],
    states: &[CurrentState],
    cycles: &[u32],
    x_label: &str,
    y_label: &str,
    stem: &Path,
) -> Result<()> {
    let mut keys: Vec<(u32, CurrentState)> = Vec::new();
    for (c, st) in cycles.iter().zip(states) {
        if *st != CurrentState::Rest && !keys.contains(&(*c, *st)) {
            keys.push((*c, *st));
        }
    }
    // (name, x, value, esd) of each branch.
    type Branch = (String, Vec<f64>, Vec<f64>, Vec<f64>);
    let data: Vec<Branch> = keys
        .iter()
        .map(|&(c, st)| {
            let idx: Vec<usize> = (0..s.value.len())
                .filter(|&i| cycles[i] == c && states[i] == st && abscissa[i].is_finite())
                .collect();
            (
                format!("cycle {c} {st}"),
                idx.iter().map(|&i| abscissa[i]).collect::<Vec<f64>>(),
                idx.iter().map(|&i| s.value[i]).collect(),
                idx.iter().map(|&i| s.esd[i]).collect(),
            )
        })
        .filter(|d| !d.1.is_empty())
        .collect();
    let mut plot = SeriesPlot::new(x_label, y_label);
    for (name, x, y, e) in &data {
        let mut ser = Series::new(name.clone(), x, y);
        ser.y_err = Some(e);
        plot.series.push(ser);
    }
    plot.render(&stem.with_extension("png"), &stem.with_extension("svg"))?;
    Ok(())
}

/// a(t) in h with the voltage on the right axis (the log's trace when given).
pub fn time_plot(
    s: &InsituSeries,
    trace: Option<&EchemTrace>,
    y_label: &str,
    stem: &Path,
) -> Result<()> {
    let t_h: Vec<f64> = s.time_s.iter().map(|t| t / 3600.0).collect();
    let ok: Vec<usize> = (0..t_h.len()).filter(|&i| t_h[i].is_finite()).collect();
    let (t, y, e): (Vec<f64>, Vec<f64>, Vec<f64>) = (
        ok.iter().map(|&i| t_h[i]).collect(),
        ok.iter().map(|&i| s.value[i]).collect(),
        ok.iter().map(|&i| if s.esd[i].is_finite() { s.esd[i] } else { 0.0 }).collect(),
    );
    let (vt, vv): (Vec<f64>, Vec<f64>) = match trace {
        Some(tr) => {
            // Every k-th record: a plot needs no more than a few thousand points.
            let k = (tr.time_s.len() / 4000).max(1);
            (
                tr.time_s.iter().step_by(k).map(|t| t / 3600.0).collect(),
                tr.voltage_v.iter().step_by(k).copied().collect(),
            )
        }
        None => ok
            .iter()
            .filter(|&&i| s.voltage_v[i].is_finite())
            .map(|&i| (t_h[i], s.voltage_v[i]))
            .unzip(),
    };
    let mut plot = SeriesPlot::new("Time (h)", y_label);
    plot.y2_label = "Voltage (V)".into();
    let mut a = Series::new(s.key.clone(), &t, &y);
    a.y_err = Some(&e);
    a.style = SeriesStyle::Markers;
    plot.series.push(a);
    if !vt.is_empty() {
        let mut v = Series::new("voltage", &vt, &vv);
        v.axis = SeriesAxis::Right;
        v.style = SeriesStyle::Line;
        plot.series.push(v);
    }
    plot.render(&stem.with_extension("png"), &stem.with_extension("svg"))?;
    Ok(())
}
