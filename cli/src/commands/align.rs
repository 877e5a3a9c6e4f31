//! `bragg align`: put a series of scans on a cycler log's clock without fitting anything.
//!
//! For each scan (numbered 1, 2, … in natural order of the paths, as `bragg sequential`
//! numbers them) the exposure window comes from the scan-time table (`--scan-times`) or from
//! the scan's header time stamp (+ `--exposure` s); the cell's response during the window is
//! computed by the coupling code of `bragg sequential`
//! ([`EchemSetup::align`](super::sequential::echem::EchemSetup::align), which calls
//! [`bragg_refine::analysis::scan_echem`]): time-weighted means of the piecewise-linear voltage
//! and current over the window, the current direction that lasted longest (segment), the cycle
//! at the mid time and, with a cell (`--active-mass` and `--formula` or `--molar-mass`), x(Li)
//! by coulomb counting averaged over the window. So `time_s`, `voltage_v`, `segment`, `cycle`
//! and `x_li` are the very numbers `bragg sequential --echem` writes for the same inputs.
//!
//! A scan whose window is not wholly inside the log gets no electrochemistry and a flag
//! (`before_log`, `after_log`, `partly_outside_log`, or `no_time` without any time) — it is
//! never extrapolated.
//!
//! Outputs: `OUT.csv` (columns `scan, file, scan_id, start_s, end_s, time_s, start_time,
//! mid_time, end_time, voltage_v, current_ma, segment, cycle, x_li, coverage, flag`; seconds
//! on the log's clock, date-times ISO 8601 on the log's local clock, empty cells for missing
//! values), `OUT.json` with `--json` (also printed instead of the table), and `OUT.png` /
//! `OUT.svg`: the voltage against time with the exposures as labelled bands. All written
//! atomically.

use super::sequential::echem::{
    expand_scans, header_epoch_s, Aligned, EchemOptions, EchemSetup, Placement, ScanStamp,
};
use crate::plot::{AlignPlot, ExposureBand};
use anyhow::{anyhow, bail, Result};
use bragg_io::write_atomic;
use clap::Args;
use rayon::prelude::*;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `bragg align`.
#[derive(Debug, Clone, Args)]
pub struct AlignArgs {
    /// The scans: files, folders (their scan files) or quoted glob patterns; numbered 1, 2, …
    /// in natural order of their paths (as `bragg sequential`).
    #[arg(value_name = "SCANS", required = true)]
    pub scans: Vec<String>,
    /// Output table (CSV); OUT.json (with --json), OUT.png and OUT.svg are written beside it.
    #[arg(short = 'o', long = "output", value_name = "OUT.csv")]
    pub output: PathBuf,
    /// Also write OUT.json and print it instead of the text table.
    #[arg(long)]
    pub json: bool,
    /// No figure.
    #[arg(long)]
    pub no_plot: bool,
    /// The cycler log (required), scan times and cell.
    #[command(flatten)]
    pub echem: EchemOptions,
}

/// One row of `bragg align`'s table (module documentation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlignRow {
    /// 1-based scan number.
    pub scan: usize,
    /// The scan's file as given.
    pub file: String,
    /// The scan-time table's name of the scan (scan number or file), if a table is given.
    pub scan_id: Option<String>,
    /// Exposure start in s on the log's clock.
    pub start_s: Option<f64>,
    /// Exposure end in s on the log's clock.
    pub end_s: Option<f64>,
    /// Mid time of the exposure in s on the log's clock.
    pub time_s: Option<f64>,
    /// Exposure start as an ISO 8601 date-time on the log's local clock.
    pub start_time: Option<String>,
    /// Mid time as an ISO 8601 date-time.
    pub mid_time: Option<String>,
    /// Exposure end as an ISO 8601 date-time.
    pub end_time: Option<String>,
    /// Voltage averaged over the exposure, V.
    pub voltage_v: Option<f64>,
    /// Current averaged over the exposure, mA (positive on charge).
    pub current_ma: Option<f64>,
    /// `charge`, `discharge` or `rest`: the state that lasted longest during the exposure.
    pub segment: Option<String>,
    /// Cycle at the mid time (counted charge first).
    pub cycle: Option<u32>,
    /// Li content per formula unit averaged over the exposure (with a cell).
    pub x_li: Option<f64>,
    /// Fraction of the exposure inside the log.
    pub coverage: f64,
    /// Where the exposure lies with respect to the log.
    pub placement: Placement,
}

/// The CSV columns, in order.
pub const COLUMNS: [&str; 16] = [
    "scan",
    "file",
    "scan_id",
    "start_s",
    "end_s",
    "time_s",
    "start_time",
    "mid_time",
    "end_time",
    "voltage_v",
    "current_ma",
    "segment",
    "cycle",
    "x_li",
    "coverage",
    "flag",
];

/// `OUT.json`.
#[derive(Debug, Clone, Serialize)]
struct AlignJson {
    bragg_version: &'static str,
    log: LogJson,
    scan_times: Option<String>,
    cell: Option<bragg_refine::analysis::CellSpec>,
    columns: Vec<&'static str>,
    rows: Vec<AlignRow>,
    notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
struct LogJson {
    file: String,
    records: usize,
    start_time: Option<String>,
    first_s: f64,
    last_s: f64,
}

/// A number as the shortest text that reads back to the same f64 (as `sequential.csv`);
/// empty for none.
fn num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x}"),
        _ => String::new(),
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The table as CSV text (header, then one line per row).
pub fn to_csv(rows: &[AlignRow]) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for r in rows {
        let f = [
            r.scan.to_string(),
            field(&r.file),
            field(r.scan_id.as_deref().unwrap_or("")),
            num(r.start_s),
            num(r.end_s),
            num(r.time_s),
            r.start_time.clone().unwrap_or_default(),
            r.mid_time.clone().unwrap_or_default(),
            r.end_time.clone().unwrap_or_default(),
            num(r.voltage_v),
            num(r.current_ma),
            r.segment.clone().unwrap_or_default(),
            r.cycle.map(|c| c.to_string()).unwrap_or_default(),
            num(r.x_li),
            num(Some(r.coverage)),
            r.placement.flag().to_string(),
        ];
        out.push_str(&f.join(","));
        out.push('\n');
    }
    out
}

/// `OUT` with its extension replaced.
fn beside(out: &Path, ext: &str) -> PathBuf {
    out.with_extension(ext)
}

fn iso(setup: &EchemSetup, t: Option<f64>) -> Option<String> {
    let dt = setup.log.datetime_at(t?)?;
    Some(dt.format("%Y-%m-%dT%H:%M:%S%.3f").to_string())
}

fn row_of(setup: &EchemSetup, a: &Aligned) -> AlignRow {
    let w = a.window;
    let (start, end, mid) = (w.map(|w| w.start_s), w.map(|w| w.end_s), w.map(|w| w.mid_s()));
    let e = a.echem.as_ref();
    AlignRow {
        scan: a.scan,
        file: a.file.clone(),
        scan_id: setup.table_id(&a.file),
        start_s: start,
        end_s: end,
        time_s: mid,
        start_time: iso(setup, start),
        mid_time: iso(setup, mid),
        end_time: iso(setup, end),
        voltage_v: e.map(|e| e.voltage_v),
        current_ma: e.map(|e| e.current_ma),
        segment: e.map(|e| e.state.as_str().to_string()),
        cycle: e.map(|e| e.cycle),
        x_li: e.and_then(|e| setup.cell.map(|_| e.x_li)),
        coverage: a.coverage,
        placement: a.placement,
    }
}

/// The aligned rows of `args` and the notes for scans without electrochemistry, with the
/// checked log (no file is written).
pub fn align_rows(args: &AlignArgs) -> Result<(EchemSetup, Vec<AlignRow>, Vec<String>)> {
    if args.echem.log.is_none() {
        bail!("bragg align needs the cycler log: give it with --echem LOG");
    }
    let paths = expand_scans(&args.scans)?;
    let setup = EchemSetup::new(&args.echem)?
        .ok_or_else(|| anyhow!("bragg align needs the cycler log: give it with --echem LOG"))?;
    let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let table_windows = setup.table_windows(&files)?;
    let epochs: Vec<Option<f64>> = match table_windows {
        Some(_) => vec![None; paths.len()],
        None => {
            // Every scan is read for its header time stamp: on all cores, and the first
            // unreadable scan in path order is the one reported.
            let stamps: Vec<Result<Option<f64>>> =
                paths.par_iter().map(|p| header_epoch_s(p)).collect();
            stamps.into_iter().collect::<Result<_>>()?
        }
    };
    let stamps: Vec<ScanStamp<'_>> = files
        .iter()
        .zip(&epochs)
        .enumerate()
        .map(|(i, (f, e))| ScanStamp { scan: i + 1, file: f, epoch_s: *e })
        .collect();
    let aligned = setup.align(&stamps, table_windows.as_deref())?;
    let notes = aligned.iter().filter_map(|a| setup.note(a)).collect();
    let rows = aligned.iter().map(|a| row_of(&setup, a)).collect();
    Ok((setup, rows, notes))
}

fn dash(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "—".to_string(), |x| format!("{x:.decimals$}"))
}

fn text_table(setup: &EchemSetup, rows: &[AlignRow], out: &mut dyn Write) -> Result<()> {
    let (first, last) = setup.span_s()?;
    let start = setup
        .log
        .start
        .map(|t| format!(", started {}", t.format("%Y-%m-%dT%H:%M:%S")))
        .unwrap_or_default();
    writeln!(
        out,
        "cycler log {}: {} records, {first:.1}..{last:.1} s{start}",
        setup.source().display(),
        setup.log.points.len()
    )?;
    let with_x = setup.cell.is_some();
    write!(
        out,
        "{:>4}  {:<10} {:>10} {:>10}  {:<23} {:>8} {:>9}  {:<9} {:>5}",
        "scan", "id", "start (s)", "end (s)", "mid time", "V", "I (mA)", "segment", "cycle"
    )?;
    if with_x {
        write!(out, " {:>8}", "x(Li)")?;
    }
    writeln!(out, "  flag")?;
    for r in rows {
        write!(
            out,
            "{:>4}  {:<10} {:>10} {:>10}  {:<23} {:>8} {:>9}  {:<9} {:>5}",
            r.scan,
            r.scan_id.as_deref().unwrap_or("—"),
            dash(r.start_s, 1),
            dash(r.end_s, 1),
            r.mid_time.as_deref().unwrap_or("—"),
            dash(r.voltage_v, 4),
            dash(r.current_ma, 4),
            r.segment.as_deref().unwrap_or("—"),
            r.cycle.map_or_else(|| "—".to_string(), |c| c.to_string()),
        )?;
        if with_x {
            write!(out, " {:>8}", dash(r.x_li, 4))?;
        }
        writeln!(out, "  {}", r.placement.flag())?;
    }
    Ok(())
}

/// Runs `bragg align` (module documentation); the report goes to `out`.
pub fn run(args: &AlignArgs, out: &mut dyn Write) -> Result<()> {
    if args.output.is_dir() {
        bail!(
            "-o {}: is a folder; give the output table's file name (OUT.csv)",
            args.output.display()
        );
    }
    let (setup, rows, notes) = align_rows(args)?;
    let csv_path = args.output.clone();
    let csv = to_csv(&rows);
    write_atomic(&csv_path, |w: &mut dyn Write| w.write_all(csv.as_bytes()))?;
    let mut written = vec![csv_path.clone()];
    let mut json_text = None;
    if args.json {
        let (first_s, last_s) = setup.span_s()?;
        let json = AlignJson {
            bragg_version: env!("CARGO_PKG_VERSION"),
            log: LogJson {
                file: setup.source().display().to_string(),
                records: setup.log.points.len(),
                start_time: setup.log.start.map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()),
                first_s,
                last_s,
            },
            scan_times: setup.times.as_ref().map(|t| t.source.display().to_string()),
            cell: setup.cell,
            columns: COLUMNS.to_vec(),
            rows: rows.clone(),
            notes: notes.clone(),
        };
        let text = serde_json::to_string_pretty(&json)?;
        let path = beside(&csv_path, "json");
        write_atomic(&path, |w: &mut dyn Write| w.write_all(text.as_bytes()))?;
        written.push(path);
        json_text = Some(text);
    }
    if !args.no_plot {
        let bands: Vec<ExposureBand> = rows
            .iter()
            .filter_map(|r| {
                Some(ExposureBand {
                    label: r.scan_id.clone().unwrap_or_else(|| r.scan.to_string()),
                    start_s: r.start_s?,
                    end_s: r.end_s?,
                    inside_log: r.placement == Placement::Inside,
                    mean_voltage_v: r.voltage_v,
                })
            })
            .collect();
        let name = setup
            .source()
            .file_name()
            .map_or_else(|| setup.source().display().to_string(), |n| n.to_string_lossy().into());
        let plot = AlignPlot {
            time_s: &setup.trace.time_s,
            voltage_v: &setup.trace.voltage_v,
            bands,
            title: format!("{} scans on the clock of {name}", rows.len()),
        };
        let (png, svg) = (beside(&csv_path, "png"), beside(&csv_path, "svg"));
        plot.render(&png, &svg).map_err(|e| anyhow!("{e}"))?;
        written.extend([png, svg]);
    }
    if let Some(text) = json_text {
        writeln!(out, "{text}")?;
        return Ok(());
    }
    text_table(&setup, &rows, out)?;
    for n in &notes {
        writeln!(out, "note: {n}")?;
    }
    for p in &written {
        writeln!(out, "wrote {}", p.display())?;
    }
    Ok(())
}
