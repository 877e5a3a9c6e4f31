//! The cycler log of `bragg sequential` and `bragg align`: each scan's exposure window on the
//! log's clock, and what the cell did during it (mid time, mean voltage and current, current
//! direction, cycle, and x(Li) averaged over the exposure by coulomb counting;
//! [`bragg_refine::analysis::scan_echem`]). Both commands go through [`EchemSetup::align`], so
//! their `time_s`, `voltage_v`, `segment`, `cycle` and `x_li` are the same numbers.
//!
//! Windows come from a scan-time table (`--scan-times`, [`bragg_io::scantimes`]) or, without
//! one, from the scans' header time stamps: the stamp is taken as the start of the exposure,
//! which lasts `--exposure` seconds (default 0), and is put on the log's clock through the
//! log's start date-time (both read as naive local times of their computers). A scan whose
//! window is not wholly inside the log gets no electrochemistry, with a note and a
//! [`Placement`] (never an extrapolation).

use super::parse_timestamp;
use crate::commands::hysteresis::series::{cell_spec, EchemArgs};
use anyhow::{anyhow, bail, Context, Result};
use bragg_io::scantimes::ScanId;
use bragg_io::{EchemLog, ScanTimeTable};
use bragg_refine::analysis::{scan_echem, CellSpec, EchemTrace, ScanEchem, ScanWindow};
use bragg_refine::sequential::{Echem, ScanRow};
use clap::Args;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The cycler-log options of `bragg sequential`, checked.
#[derive(Debug, Clone)]
pub struct EchemSetup {
    /// The log as read.
    pub log: EchemLog,
    /// The log reduced to time, voltage and current (cycles counted charge first).
    pub trace: EchemTrace,
    /// The cell for x(Li), when a mass and a molar mass are given.
    pub cell: Option<CellSpec>,
    /// The scan-time table, when given.
    pub times: Option<ScanTimeTable>,
    /// Exposure in s after a header time stamp.
    pub exposure_s: f64,
    /// |I| at or below this (mA) is rest (`--rest-current`; default 1 % of the largest |I|).
    pub rest_threshold_ma: Option<f64>,
}

/// A scan to put on the cycler log's clock.
#[derive(Debug, Clone, Copy)]
pub struct ScanStamp<'a> {
    /// 1-based scan number in the series (natural order of the files).
    pub scan: usize,
    /// The scan's file as given.
    pub file: &'a str,
    /// Its header time stamp in s since 1970 on the scan computer's clock, if any.
    pub epoch_s: Option<f64>,
}

/// Where a scan's exposure lies with respect to the cycler log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Wholly inside the log: electrochemistry is computed.
    Inside,
    /// Partly inside: no electrochemistry (it would be extrapolated).
    #[serde(rename = "partly_outside_log")]
    PartlyOutside,
    /// Wholly before the log's first record.
    BeforeLog,
    /// Wholly after the log's last record.
    AfterLog,
    /// No window: no scan-time row and no header time stamp.
    NoTime,
}

impl Placement {
    /// The flag written for the scan: empty when inside the log, else `partly_outside_log`,
    /// `before_log`, `after_log` or `no_time`.
    pub fn flag(self) -> &'static str {
        match self {
            Placement::Inside => "",
            Placement::PartlyOutside => "partly_outside_log",
            Placement::BeforeLog => "before_log",
            Placement::AfterLog => "after_log",
            Placement::NoTime => "no_time",
        }
    }
}

/// One scan on the cycler log's clock (see [`EchemSetup::align`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Aligned {
    /// 1-based scan number.
    pub scan: usize,
    /// The scan's file as given.
    pub file: String,
    /// Exposure window in s on the log's clock, when known.
    pub window: Option<ScanWindow>,
    /// Where the window lies with respect to the log.
    pub placement: Placement,
    /// Fraction of the window inside the log's time span (0…1; a zero-length window counts
    /// 1 inside, 0 outside).
    pub coverage: f64,
    /// What the cell did during the exposure; `None` unless the window is inside the log.
    pub echem: Option<ScanEchem>,
}

/// The placement of window `w` in the log span `first..last` (tolerance `tol` s) and the
/// fraction of `w` inside it.
fn placement_of(w: ScanWindow, first: f64, last: f64, tol: f64) -> (Placement, f64) {
    let overlap = (w.end_s.min(last) - w.start_s.max(first)).max(0.0);
    let len = w.end_s - w.start_s;
    let inside = w.start_s >= first - tol && w.end_s <= last + tol;
    let coverage = if len > 0.0 { (overlap / len).min(1.0) } else { f64::from(u8::from(inside)) };
    let placement = if inside {
        Placement::Inside
    } else if w.end_s < first - tol {
        Placement::BeforeLog
    } else if w.start_s > last + tol {
        Placement::AfterLog
    } else {
        Placement::PartlyOutside
    };
    (placement, if inside { 1.0 } else { coverage })
}

/// The scan files of a series from the SCANS arguments (files, folders, glob patterns) in
/// the natural order of their paths, numbered 1, 2, … as `bragg sequential` numbers them.
pub fn expand_scans(args: &[String]) -> Result<Vec<PathBuf>> {
    super::files::expand(args)
}

/// The header time stamp of a scan file in s since 1970 on its own clock
/// ([`super::parse_timestamp`]), `None` when the header has none. Errors: an unreadable scan.
pub fn header_epoch_s(path: &Path) -> Result<Option<f64>> {
    let scan = bragg_io::read_powder(path)
        .with_context(|| format!("cannot read the scan {}", path.display()))?;
    Ok(scan.meta.timestamp.as_deref().and_then(parse_timestamp))
}

/// The cycler-log options of `bragg sequential`.
#[derive(Debug, Clone, Default, Args)]
pub struct EchemOptions {
    /// Cycler log on the scans' clock (BioLogic .mpt/.mpr, Neware .ndax, Arbin, Maccor, or a
    /// CSV naming time in s, voltage in V and current in mA): adds time_s, x_li, voltage_v,
    /// segment and cycle per scan (`bragg sequential` also runs the hysteresis analysis).
    #[arg(long = "echem", value_name = "LOG")]
    pub log: Option<PathBuf>,
    /// CSV of each scan's exposure (scan number or file; start and end as seconds on the
    /// log's clock or ISO date-times); otherwise the scans' header time stamps.
    #[arg(long = "scan-times", value_name = "TABLE")]
    pub scan_times: Option<PathBuf>,
    /// Exposure in s after each scan's header time stamp (without --scan-times; default 0).
    #[arg(long = "exposure", value_name = "SECONDS")]
    pub exposure_s: Option<f64>,
    /// Active mass in mg (with --formula or --molar-mass: x(Li) by coulomb counting).
    #[arg(long = "active-mass", value_name = "mg")]
    pub active_mass_mg: Option<f64>,
    /// Formula of the active material, e.g. Li1.17Ti0.58Ni0.25O2 (its molar mass; its Li
    /// count is the default --x0).
    #[arg(long, value_name = "FORMULA", conflicts_with = "molar_mass")]
    pub formula: Option<String>,
    /// Molar mass of the active material in g/mol (instead of --formula).
    #[arg(long = "molar-mass", value_name = "g/mol")]
    pub molar_mass: Option<f64>,
    /// Li content per formula unit at the start of the log.
    #[arg(long, value_name = "X")]
    pub x0: Option<f64>,
    /// |I| at or below this (mA) is rest (default: 1 % of the largest |I| of the log).
    #[arg(long = "rest-current", value_name = "mA")]
    pub rest_current_ma: Option<f64>,
}

/// A log's records as a trace on one clock: records at the same time are separated by 1 µs so
/// that a step change keeps both currents; cycles are counted "charge first" from the current
/// (the pairing the hysteresis needs), whatever the cycler's loop counter.
pub fn trace_of(log: &EchemLog) -> Result<EchemTrace> {
    let mut trace = EchemTrace::default();
    for p in &log.points {
        let t = match trace.time_s.last() {
            Some(&prev) if p.time_s <= prev => prev + 1e-6,
            _ => p.time_s,
        };
        trace.time_s.push(t);
        trace.voltage_v.push(p.voltage_v);
        trace.current_ma.push(p.current_ma);
    }
    trace.validate().map_err(|e| anyhow!("cycler log {}: {e}", log.source.display()))?;
    Ok(trace)
}

impl EchemSetup {
    /// Reads and checks the options; `None` without `--echem` (then any cell or time option is
    /// an error). Errors: unreadable log or table, `--active-mass` without `--formula` or
    /// `--molar-mass` (or the reverse), a non-positive or non-finite mass, molar mass or
    /// exposure.
    pub fn new(o: &EchemOptions) -> Result<Option<Self>> {
        let Some(path) = &o.log else {
            let stray = [
                ("--scan-times", o.scan_times.is_some()),
                ("--exposure", o.exposure_s.is_some()),
                ("--active-mass", o.active_mass_mg.is_some()),
                ("--formula", o.formula.is_some()),
                ("--molar-mass", o.molar_mass.is_some()),
                ("--x0", o.x0.is_some()),
                ("--rest-current", o.rest_current_ma.is_some()),
            ];
            if let Some((name, _)) = stray.iter().find(|(_, given)| *given) {
                bail!("{name} needs a cycler log: give it with --echem LOG");
            }
            return Ok(None);
        };
        if let Some(m) = o.active_mass_mg {
            if !(m.is_finite() && m > 0.0) {
                bail!("--active-mass {m} mg: the active mass must be positive");
            }
        }
        if let Some(m) = o.molar_mass {
            if !(m.is_finite() && m > 0.0) {
                bail!("--molar-mass {m} g/mol: the molar mass must be positive");
            }
        }
        let exposure_s = o.exposure_s.unwrap_or(0.0);
        if !(exposure_s.is_finite() && exposure_s >= 0.0) {
            bail!("--exposure {exposure_s} s must be ≥ 0");
        }
        if let Some(x) = o.x0 {
            if !x.is_finite() {
                bail!("--x0 {x} is not a number");
            }
        }
        let cell = cell_spec(&EchemArgs {
            echem: vec![path.clone()],
            active_mass_mg: o.active_mass_mg,
            formula: o.formula.clone(),
            molar_mass: o.molar_mass,
            x0: o.x0,
            exposure_s,
            rest_current_ma: o.rest_current_ma,
        })?;
        if cell.is_none() && o.x0.is_some() {
            bail!("--x0 needs --active-mass and --formula or --molar-mass to count x(Li)");
        }
        let log = bragg_io::read_echem(path)
            .with_context(|| format!("cannot read the cycler log {}", path.display()))?;
        let trace = trace_of(&log)?;
        let times = o
            .scan_times
            .as_deref()
            .map(|p| {
                bragg_io::read_scan_times(p)
                    .with_context(|| format!("cannot read the scan-time table {}", p.display()))
            })
            .transpose()?;
        if times.is_none() && log.start.is_none() {
            bail!(
                "the cycler log {} has no start date-time, so the scans' header time stamps \
                 cannot be put on its clock: give a scan-time table with --scan-times",
                path.display()
            );
        }
        Ok(Some(EchemSetup {
            log,
            trace,
            cell,
            times,
            exposure_s,
            rest_threshold_ma: o.rest_current_ma,
        }))
    }

    /// The exposure window of every file from the scan-time table (none without a table).
    /// Errors: a file without a row, or a row that cannot be put on the log's clock.
    pub fn table_windows(&self, files: &[String]) -> Result<Option<Vec<ScanWindow>>> {
        let Some(table) = &self.times else { return Ok(None) };
        files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let w = table.window_for_file(f, &self.log, None)?.ok_or_else(|| {
                    anyhow!(
                        "scan {} ({f}) is not in the scan-time table {} (rows match by file name \
                         or by a scan number among the digits of the file name)",
                        i + 1,
                        table.source.display()
                    )
                })?;
                Ok(ScanWindow { start_s: w.start_s, end_s: w.end_s })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// The log's time zero in seconds since 1970 on its own clock (as
    /// [`super::parse_timestamp`] counts a stamp without zone).
    fn log_epoch_s(&self) -> Option<f64> {
        self.log.start.map(|t| t.and_utc().timestamp_micros() as f64 * 1e-6)
    }

    /// First and last time of the log's trace in s.
    pub fn span_s(&self) -> Result<(f64, f64)> {
        match (self.trace.time_s.first(), self.trace.time_s.last()) {
            (Some(&a), Some(&b)) => Ok((a, b)),
            _ => bail!("the cycler log {} is empty", self.log.source.display()),
        }
    }

    /// The scan-time table's name of a file's row (its scan number or file name), when a
    /// table is given and has a row for the file.
    pub fn table_id(&self, file: &str) -> Option<String> {
        let row = self.times.as_ref()?.find(file)?;
        Some(match &row.scan {
            ScanId::Number(n) => n.to_string(),
            ScanId::File(f) => f.clone(),
        })
    }

    /// Puts every scan on the log's clock and computes what the cell did during its exposure
    /// (the coupling of `bragg sequential` and `bragg align`): the window is
    /// `windows[scan − 1]` from the table when given, else the header time stamp on the log's
    /// clock lasting `--exposure` s; a window wholly inside the log gets
    /// [`scan_echem`]'s time-weighted means, any other gets none and its [`Placement`].
    /// Errors: header time stamps needed but the log has no start date-time; an empty log.
    pub fn align(
        &self,
        scans: &[ScanStamp<'_>],
        table_windows: Option<&[ScanWindow]>,
    ) -> Result<Vec<Aligned>> {
        let log_epoch = match table_windows {
            Some(_) => None,
            None => Some(self.log_epoch_s().ok_or_else(|| {
                anyhow!(
                    "the cycler log {} has no start date-time, so the scans' header time stamps \
                     cannot be put on its clock: give a scan-time table with --scan-times",
                    self.log.source.display()
                )
            })?),
        };
        let (first, last) = self.span_s()?;
        let tol = 1e-9 * (last - first).abs().max(1.0);
        // Without a cell, x is not reported: any positive mass and molar mass give the rest.
        let spec = self.cell.unwrap_or(CellSpec {
            active_mass_mg: 1.0,
            molar_mass_g_mol: 1.0,
            x0: 0.0,
            rest_threshold_ma: self.rest_threshold_ma,
        });
        let mut out: Vec<Aligned> = Vec::with_capacity(scans.len());
        let mut inside: Vec<(usize, ScanWindow)> = Vec::new();
        for (k, s) in scans.iter().enumerate() {
            let window = match (table_windows, log_epoch) {
                (Some(w), _) => w.get(s.scan.wrapping_sub(1)).copied(),
                (None, Some(origin)) => s.epoch_s.map(|t| ScanWindow {
                    start_s: t - origin,
                    end_s: t - origin + self.exposure_s,
                }),
                (None, None) => None,
            };
            let (placement, coverage) = match window {
                None => (Placement::NoTime, 0.0),
                Some(w) => placement_of(w, first, last, tol),
            };
            if placement == Placement::Inside {
                if let Some(w) = window {
                    inside.push((k, w));
                }
            }
            out.push(Aligned {
                scan: s.scan,
                file: s.file.to_string(),
                window,
                placement,
                coverage,
                echem: None,
            });
        }
        let windows: Vec<ScanWindow> = inside.iter().map(|(_, w)| *w).collect();
        let e = scan_echem(&self.trace, &spec, &windows)
            .map_err(|e| anyhow!("aligning the scans with the cycler log: {e}"))?;
        for ((k, _), e) in inside.iter().zip(e) {
            if let Some(a) = out.get_mut(*k) {
                a.echem = Some(e);
            }
        }
        Ok(out)
    }

    /// Why a scan has no electrochemistry (`None` when it has): the notes of `bragg
    /// sequential` and `bragg align`.
    pub fn note(&self, a: &Aligned) -> Option<String> {
        let (first, last) = self.span_s().unwrap_or((f64::NAN, f64::NAN));
        match (a.placement, a.window) {
            (Placement::Inside, _) => None,
            (Placement::NoTime, _) | (_, None) => Some(format!(
                "scan {} ({}): no time stamp in its header, no electrochemistry",
                a.scan, a.file
            )),
            (_, Some(w)) => {
                let how = if w.end_s < first {
                    format!(": it ends {:.1} s before the log starts;", first - w.end_s)
                } else if w.start_s > last {
                    format!(": it starts {:.1} s after the log ends;", w.start_s - last)
                } else {
                    format!(": only {:.0} % of it is;", 100.0 * a.coverage)
                };
                Some(format!(
                    "scan {} ({}): exposure {:.1}..{:.1} s is not inside the cycler log \
                     ({first:.1}..{last:.1} s){how} no electrochemistry",
                    a.scan, a.file, w.start_s, w.end_s
                ))
            }
        }
    }

    /// Fills `time_s` (mid time on the log's clock) and the electrochemistry of each row
    /// through [`align`](Self::align), with the scans' header time stamps from
    /// `row.meta.epoch_s`. Returns notes for rows left empty. Errors: those of `align`.
    pub fn fill(
        &self,
        rows: &mut [ScanRow],
        table_windows: Option<&[ScanWindow]>,
    ) -> Result<Vec<String>> {
        let stamps: Vec<ScanStamp<'_>> = rows
            .iter()
            .map(|r| ScanStamp { scan: r.scan, file: &r.file, epoch_s: r.meta.epoch_s })
            .collect();
        let aligned = self.align(&stamps, table_windows)?;
        let notes = aligned.iter().filter_map(|a| self.note(a)).collect();
        for (row, a) in rows.iter_mut().zip(&aligned) {
            row.time_s = a.window.map(|w| w.mid_s());
            row.echem = match &a.echem {
                Some(e) => Echem {
                    x_li: self.cell.map(|_| e.x_li),
                    voltage_v: Some(e.voltage_v),
                    segment: Some(e.state.as_str().to_string()),
                    cycle: Some(e.cycle),
                },
                None => Echem::default(),
            };
        }
        Ok(notes)
    }

    /// The log's file.
    pub fn source(&self) -> &Path {
        &self.log.source
    }
}
