//! Battery-cycler logs, normalised to one time series.
//!
//! Every reader returns an [`EchemLog`]: one [`EchemPoint`] per record with the time since the
//! start of the test in seconds, the cell voltage in V, the current in mA, the cumulative net
//! charge in mAh, the cycle and step numbers and the cell state (charge, discharge or rest).
//!
//! Conventions, the same for every format:
//!
//! * **Current sign**: positive current charges the cell (oxidation at the working electrode,
//!   the convention of BioLogic, Neware and Arbin); formats that write unsigned currents with a
//!   state column (Maccor) are given the sign of their state.
//! * **Charge** `charge_mah` is the net charge passed since the first record, Q(t) = ∫ I dt,
//!   in mAh (1 mAh = 3.6 C), positive on charge. Where the file carries a cumulative signed
//!   charge (BioLogic `(Q-Qo)/mA.h`) it is used as given (shifted to start at zero); where it
//!   carries charge and discharge capacity counters that reset per step or per cycle (Neware,
//!   Arbin) they are summed across resets; otherwise the current is integrated with the
//!   trapezoidal rule.
//! * **Cycle** numbers are 1-based: a file's 0-based counter (BioLogic `cycle number`, the raw
//!   Neware cycle, Maccor `Cyc#` when it starts at 0) is shifted by one. **Step** is the
//!   program step index as the file gives it (BioLogic `Ns` shifted to 1-based).
//! * **State** comes from the file where it says it (Neware status, BioLogic `mode`/`ox/red`,
//!   Maccor `State`); otherwise from the sign of the current, |I| ≤ [`REST_CURRENT_MA`] being
//!   rest.
//! * **Start**: the absolute date-time of `time_s = 0` when the file gives one, as a naive
//!   date-time on the cycler computer's local clock (no file format here records its time
//!   zone). See [`crate::scantimes`] for how scan time stamps are put on this clock.
//!
//! Every reader checks that times are finite and non-decreasing and that voltage and current
//! are finite; errors name the file and the line (text formats) or the byte offset / record
//! (binary formats).

pub mod arbin;
pub mod biologic_mpr;
pub mod biologic_mpt;
pub mod generic;
pub mod maccor;
pub mod neware;
pub(crate) mod text;

use crate::error::{Error, Result};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use generic::ColumnMapping;

/// Currents with |I| at or below this value (mA) count as rest when a format gives no state.
pub const REST_CURRENT_MA: f64 = 1e-6;

/// What the cell is doing at a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CellState {
    /// Current flowing in the charging direction (positive current).
    Charge,
    /// Current flowing in the discharging direction (negative current).
    Discharge,
    /// No current (rest, open circuit, pause).
    Rest,
}

impl CellState {
    /// The state implied by the sign of a current in mA (|I| ≤ [`REST_CURRENT_MA`] is rest).
    pub fn from_current(current_ma: f64) -> Self {
        if current_ma > REST_CURRENT_MA {
            Self::Charge
        } else if current_ma < -REST_CURRENT_MA {
            Self::Discharge
        } else {
            Self::Rest
        }
    }

    /// Lower-case name: `charge`, `discharge` or `rest`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Charge => "charge",
            Self::Discharge => "discharge",
            Self::Rest => "rest",
        }
    }
}

/// One record of a cycler log, in normalised units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EchemPoint {
    /// Time since the start of the test, s.
    pub time_s: f64,
    /// Cell (working-electrode) voltage, V.
    pub voltage_v: f64,
    /// Current, mA, positive on charge.
    pub current_ma: f64,
    /// Net charge passed since the first record, mAh, positive on charge.
    pub charge_mah: f64,
    /// Cycle number, 1-based.
    pub cycle: u32,
    /// Program step index as given by the file (1-based).
    pub step: u32,
    /// Charge, discharge or rest.
    pub state: CellState,
}

/// The file format a log was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EchemFormat {
    /// BioLogic EC-Lab text export (`.mpt`).
    BiologicMpt,
    /// BioLogic EC-Lab binary file (`.mpr`).
    BiologicMpr,
    /// Neware BTS `.ndax` (zip of `.ndc` binary records and XML).
    NewareNdax,
    /// Arbin MITS Pro CSV export.
    ArbinCsv,
    /// Maccor text export.
    MaccorText,
    /// Any CSV with a column mapping ([`ColumnMapping`]).
    GenericCsv,
}

/// A cycler log normalised to time (s), voltage (V), current (mA), charge (mAh), cycle, step.
#[derive(Debug, Clone, PartialEq)]
pub struct EchemLog {
    /// The records, in file order, with non-decreasing `time_s`.
    pub points: Vec<EchemPoint>,
    /// Absolute date-time of `time_s = 0` on the cycler's local clock, when the file says.
    pub start: Option<NaiveDateTime>,
    /// The file read.
    pub source: PathBuf,
    /// The format it was read as.
    pub format: EchemFormat,
}

/// Voltage, current and charge of a log at one instant (linear interpolation between records).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EchemSample {
    /// Time since the start of the test, s.
    pub time_s: f64,
    /// Interpolated voltage, V.
    pub voltage_v: f64,
    /// Interpolated current, mA.
    pub current_ma: f64,
    /// Interpolated net charge, mAh.
    pub charge_mah: f64,
    /// Cycle of the record at or before the instant.
    pub cycle: u32,
    /// Step of the record at or before the instant.
    pub step: u32,
    /// State of the record at or before the instant.
    pub state: CellState,
}

/// Averages of a log over a time window (e.g. one scan's exposure).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowSummary {
    /// Requested window start, s on the log clock.
    pub start_s: f64,
    /// Requested window end, s on the log clock.
    pub end_s: f64,
    /// Fraction of the requested window covered by the log (0 < coverage ≤ 1; a window of
    /// zero length inside the log has coverage 1).
    pub coverage: f64,
    /// Time average of the voltage over the covered part, V (exact integral of the linear
    /// interpolation between records).
    pub mean_voltage_v: f64,
    /// Time average of the current over the covered part, mA.
    pub mean_current_ma: f64,
    /// Net charge at the middle of the covered part, mAh.
    pub charge_mid_mah: f64,
    /// Charge passed during the covered part, mAh.
    pub delta_charge_mah: f64,
    /// State at the middle of the covered part.
    pub state: CellState,
    /// Cycle at the middle of the covered part.
    pub cycle: u32,
    /// Step at the middle of the covered part.
    pub step: u32,
    /// Number of records inside the covered part.
    pub n_points: usize,
}

impl EchemLog {
    /// Time of the first record, s.
    pub fn first_time_s(&self) -> f64 {
        self.points.first().map_or(0.0, |p| p.time_s)
    }

    /// Time of the last record, s.
    pub fn last_time_s(&self) -> f64 {
        self.points.last().map_or(0.0, |p| p.time_s)
    }

    /// Seconds on this log's clock of an absolute date-time on the same (local) clock, or
    /// `None` when the log has no start date-time.
    pub fn seconds_since_start(&self, t: NaiveDateTime) -> Option<f64> {
        let start = self.start?;
        let d = t.signed_duration_since(start);
        d.num_microseconds().map(|us| us as f64 / 1e6)
    }

    /// The date-time of a time on this log's clock, or `None` without a start date-time.
    pub fn datetime_at(&self, time_s: f64) -> Option<NaiveDateTime> {
        let start = self.start?;
        if !time_s.is_finite() {
            return None;
        }
        let us = (time_s * 1e6).round();
        if us.abs() > 9.0e15 {
            return None;
        }
        start.checked_add_signed(chrono::TimeDelta::microseconds(us as i64))
    }

    /// Index of the last record with `time_s <= t` (records sharing a time: the last one).
    fn index_at(&self, t: f64) -> Option<usize> {
        let n = self.points.partition_point(|p| p.time_s <= t);
        n.checked_sub(1)
    }

    /// Voltage, current and charge at time `t` (s), linearly interpolated between the records
    /// around it; `None` outside the log's time range.
    pub fn sample_at(&self, t: f64) -> Option<EchemSample> {
        let first = self.points.first()?;
        let last = self.points.last()?;
        if !(t >= first.time_s && t <= last.time_s) {
            return None;
        }
        let i = self.index_at(t)?;
        let p = self.points.get(i)?;
        let (v, c, q) = match self.points.get(i + 1) {
            Some(n) if n.time_s > p.time_s => {
                let w = (t - p.time_s) / (n.time_s - p.time_s);
                (
                    p.voltage_v + w * (n.voltage_v - p.voltage_v),
                    p.current_ma + w * (n.current_ma - p.current_ma),
                    p.charge_mah + w * (n.charge_mah - p.charge_mah),
                )
            }
            _ => (p.voltage_v, p.current_ma, p.charge_mah),
        };
        Some(EchemSample {
            time_s: t,
            voltage_v: v,
            current_ma: c,
            charge_mah: q,
            cycle: p.cycle,
            step: p.step,
            state: p.state,
        })
    }

    /// Time averages of voltage and current over `[start_s, end_s]` (s on the log clock),
    /// clipped to the log's time range; `None` when the window does not overlap the log or
    /// is not a valid interval.
    ///
    /// The averages are exact integrals of the piecewise-linear interpolation between records
    /// (trapezoidal rule on the records, with the clipped ends interpolated), divided by the
    /// covered length.
    pub fn window(&self, start_s: f64, end_s: f64) -> Option<WindowSummary> {
        if !(start_s.is_finite() && end_s.is_finite() && end_s >= start_s) {
            return None;
        }
        let a = start_s.max(self.first_time_s());
        let b = end_s.min(self.last_time_s());
        if self.points.is_empty() || a > b {
            return None;
        }
        let mid = self.sample_at(0.5 * (a + b))?;
        let sa = self.sample_at(a)?;
        let sb = self.sample_at(b)?;
        let (mean_v, mean_i) = if b > a {
            let mut iv = 0.0;
            let mut ii = 0.0;
            let mut t0 = a;
            let (mut v0, mut i0) = (sa.voltage_v, sa.current_ma);
            let first_inside = self.points.partition_point(|p| p.time_s <= a);
            for p in self.points.iter().skip(first_inside) {
                if p.time_s >= b {
                    break;
                }
                iv += 0.5 * (v0 + p.voltage_v) * (p.time_s - t0);
                ii += 0.5 * (i0 + p.current_ma) * (p.time_s - t0);
                t0 = p.time_s;
                v0 = p.voltage_v;
                i0 = p.current_ma;
            }
            iv += 0.5 * (v0 + sb.voltage_v) * (b - t0);
            ii += 0.5 * (i0 + sb.current_ma) * (b - t0);
            (iv / (b - a), ii / (b - a))
        } else {
            (sa.voltage_v, sa.current_ma)
        };
        let n_points = self.points.iter().filter(|p| p.time_s >= a && p.time_s <= b).count();
        let coverage = if end_s > start_s { (b - a) / (end_s - start_s) } else { 1.0 };
        Some(WindowSummary {
            start_s,
            end_s,
            coverage,
            mean_voltage_v: mean_v,
            mean_current_ma: mean_i,
            charge_mid_mah: mid.charge_mah,
            delta_charge_mah: sb.charge_mah - sa.charge_mah,
            state: mid.state,
            cycle: mid.cycle,
            step: mid.step,
            n_points,
        })
    }

    /// Renumbers cycles "charge first": cycle 1 runs until the first charge that follows a
    /// discharge, which starts cycle 2, and so on (rests do not change the cycle). This is the
    /// counting of Neware's "charge first" statistics and what a charge/discharge hysteresis
    /// needs when the cycler program has no loop step (every record of the file in cycle 1).
    pub fn renumber_cycles_charge_first(&mut self) {
        let mut cycle = 1;
        let mut seen_discharge = false;
        for p in &mut self.points {
            match p.state {
                CellState::Charge if seen_discharge => {
                    cycle += 1;
                    seen_discharge = false;
                }
                CellState::Discharge => seen_discharge = true,
                _ => {}
            }
            p.cycle = cycle;
        }
    }
}

/// Reads a cycler log, choosing the format from the extension and, for text files, the
/// content: `.mpt` BioLogic text, `.mpr` BioLogic binary, `.ndax` Neware, `.csv`/`.txt`
/// Arbin (a `Test_Time(s)` column), Maccor (a `Cyc#` or `Rec#` column), BioLogic text (an
/// `EC-Lab ASCII FILE` first line) or else a generic CSV with the default [`ColumnMapping`].
pub fn read_echem(path: impl AsRef<Path>) -> Result<EchemLog> {
    let path = path.as_ref();
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "mpt" => return biologic_mpt::read_mpt(path),
        "mpr" => return biologic_mpr::read_mpr(path),
        "ndax" => return neware::read_ndax(path),
        "xlsx" | "xls" => return arbin::read_arbin_excel(path),
        _ => {}
    }
    let text = text::read_text(path)?;
    let head: String = text.lines().take(40).collect::<Vec<_>>().join("\n");
    if head.starts_with("EC-Lab ASCII FILE") {
        biologic_mpt::parse_mpt(path, &text)
    } else if head.contains("Test_Time(s)") || head.contains("Test_Time (s)") {
        arbin::parse_arbin_csv(path, &text)
    } else if head.contains("Cyc#") || head.contains("Rec#") {
        maccor::parse_maccor(path, &text)
    } else {
        generic::parse_generic_csv(path, &text, &ColumnMapping::default())
    }
}

/// Where a record came from, for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Loc {
    /// 1-based line of a text file.
    Line(usize),
    /// Byte offset in a binary file (or in a member of a container), with a description.
    Byte(u64),
}

/// Error at a record location.
pub(crate) fn loc_error(path: &Path, loc: Loc, message: String) -> Error {
    match loc {
        Loc::Line(line) => Error::Data { path: path.to_path_buf(), line, message },
        Loc::Byte(offset) => Error::ParseBinary { path: path.to_path_buf(), offset, message },
    }
}

/// Validates records (finite values, non-decreasing time, at least one record) and builds
/// the log, with cycles made 1-based (a log counting from 0 is shifted by one).
pub(crate) fn finish(
    path: &Path,
    format: EchemFormat,
    start: Option<NaiveDateTime>,
    rows: Vec<(EchemPoint, Loc)>,
    end_loc: Loc,
) -> Result<EchemLog> {
    if rows.is_empty() {
        return Err(loc_error(path, end_loc, "no data records".into()));
    }
    let mut prev_t = f64::NEG_INFINITY;
    let mut points = Vec::with_capacity(rows.len());
    for (p, loc) in rows {
        let fields = [
            ("time", p.time_s),
            ("voltage", p.voltage_v),
            ("current", p.current_ma),
            ("charge", p.charge_mah),
        ];
        for (name, v) in fields {
            if !v.is_finite() {
                return Err(loc_error(path, loc, format!("{name} is not finite ({v})")));
            }
        }
        if p.time_s < prev_t {
            return Err(loc_error(
                path,
                loc,
                format!(
                    "time goes backwards: {} s after {} s (times must be non-decreasing)",
                    p.time_s, prev_t
                ),
            ));
        }
        prev_t = p.time_s;
        points.push(p);
    }
    // Cycles are 1-based in an EchemLog: a log that counts from 0 (Maccor's Cyc#, some generic
    // exports) is shifted by one (found by cargo fuzz: a 0 passed through unchanged).
    if points.iter().any(|p| p.cycle == 0) {
        for p in &mut points {
            p.cycle = p.cycle.saturating_add(1);
        }
    }
    Ok(EchemLog { points, start, source: path.to_path_buf(), format })
}

/// Cumulative trapezoidal integral of current (mA) over time (s), in mAh.
///
/// Q_i = Q_{i−1} + ½ (I_{i−1} + I_i)(t_i − t_{i−1}) / 3600 — mA·s to mAh.
pub(crate) fn integrate_charge(points: &mut [(EchemPoint, Loc)]) {
    let mut q = 0.0;
    let mut prev: Option<(f64, f64)> = None;
    for (p, _) in points.iter_mut() {
        if let Some((t0, i0)) = prev {
            q += 0.5 * (i0 + p.current_ma) * (p.time_s - t0) / 3600.0;
        }
        p.charge_mah = q;
        prev = Some((p.time_s, p.current_ma));
    }
}

/// Net charge from a pair of unsigned capacity counters (charge, discharge) that each grow
/// within a segment and reset to zero at segment boundaries (per step for Neware, per cycle
/// for Arbin): Q = Σ(previous segments) + chg − dchg.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct CounterSum {
    off_c: f64,
    off_d: f64,
    prev_c: f64,
    prev_d: f64,
}

impl CounterSum {
    /// Feeds one record's counters and returns the net charge (mAh).
    pub(crate) fn push(&mut self, chg: f64, dchg: f64) -> f64 {
        // A counter that drops has been reset: carry what it had reached.
        if chg < self.prev_c - 1e-12 {
            self.off_c += self.prev_c;
        }
        if dchg < self.prev_d - 1e-12 {
            self.off_d += self.prev_d;
        }
        self.prev_c = chg;
        self.prev_d = dchg;
        (self.off_c + chg) - (self.off_d + dchg)
    }
}

/// Shifts the charge so that the first record has zero net charge.
pub(crate) fn zero_first_charge(points: &mut [(EchemPoint, Loc)]) {
    if let Some(q0) = points.first().map(|(p, _)| p.charge_mah) {
        for (p, _) in points.iter_mut() {
            p.charge_mah -= q0;
        }
    }
}
