//! Any delimited text log with a header line, read through a [`ColumnMapping`].
//!
//! Lines starting with `#` before the header are comments. The delimiter (comma, semicolon or
//! tab) is taken from the header line. With the default mapping the columns are found by name
//! (case, spaces and underscores ignored): time in s (`time_s`, `time/s`, `time (s)`,
//! `time`), voltage in V (`voltage_v`, `voltage/V`, `voltage (V)`, `Ewe/V`, `voltage`),
//! current in mA (`current_ma`, `current/mA`, `current (mA)`, `I/mA`, `current`), and
//! optionally charge in mAh (`charge_mah`, `capacity_mah`, `Q/mAh` …; else the current is
//! integrated), `cycle`, `step` and an absolute `datetime` of each record (its first value
//! minus the first time dates time zero). Factors convert other units.

use super::text::{
    counter_at, find_col, num_at, read_text, split_fields, start_from_record, table, Table,
};
use super::{
    finish, integrate_charge, zero_first_charge, CellState, EchemFormat, EchemLog, EchemPoint, Loc,
};
use crate::error::{Error, Result};
use std::path::Path;

/// Which columns of a generic CSV hold what, and in which units.
///
/// A `None` name means "find it by its usual names"; a given name must exist.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnMapping {
    /// Column of the time since the start.
    pub time: Option<String>,
    /// Column of the voltage.
    pub voltage: Option<String>,
    /// Column of the current.
    pub current: Option<String>,
    /// Column of the net charge (optional; integrated from the current when absent).
    pub charge: Option<String>,
    /// Column of the cycle number (optional; 1 when absent).
    pub cycle: Option<String>,
    /// Column of the step number (optional; 1 when absent).
    pub step: Option<String>,
    /// Column of an absolute date-time (optional), local clock.
    pub datetime: Option<String>,
    /// Seconds per unit of the time column (1 for s, 60 for min, 3600 for h).
    pub time_to_s: f64,
    /// Volts per unit of the voltage column (1 for V, 1e-3 for mV).
    pub voltage_to_v: f64,
    /// Milliamperes per unit of the current column (1 for mA, 1000 for A, 1e-3 for µA).
    pub current_to_ma: f64,
    /// Milliampere-hours per unit of the charge column (1 for mAh, 1000 for Ah, 1/3.6 for C).
    pub charge_to_mah: f64,
}

impl Default for ColumnMapping {
    /// Columns found by name; time in s, voltage in V, current in mA, charge in mAh.
    fn default() -> Self {
        Self {
            time: None,
            voltage: None,
            current: None,
            charge: None,
            cycle: None,
            step: None,
            datetime: None,
            time_to_s: 1.0,
            voltage_to_v: 1.0,
            current_to_ma: 1.0,
            charge_to_mah: 1.0,
        }
    }
}

/// Reads a generic CSV log with a column mapping.
pub fn read_generic_csv(path: impl AsRef<Path>, mapping: &ColumnMapping) -> Result<EchemLog> {
    let path = path.as_ref();
    let text = read_text(path)?;
    parse_generic_csv(path, &text, mapping)
}

/// Parses the text of a generic CSV log (`path` names the file in errors).
pub fn parse_generic_csv(path: &Path, text: &str, m: &ColumnMapping) -> Result<EchemLog> {
    let Table { header_line, delim, header, rows: lines } =
        table(path, text, true, "empty file (no header line)")?;
    let col = |given: &Option<String>, defaults: &[&str], what: &str, required: bool| {
        let found = match given {
            Some(name) => find_col(&header, &[name.as_str()]),
            None => find_col(&header, defaults),
        };
        match (found, required) {
            (None, true) => Err(Error::Missing {
                path: path.to_path_buf(),
                line: header_line,
                what: match given {
                    Some(name) => format!("{what} column '{name}'"),
                    None => format!("{what} column (one of {})", defaults.join(", ")),
                },
            }),
            (None, false) if given.is_some() => Err(Error::Missing {
                path: path.to_path_buf(),
                line: header_line,
                what: format!("{what} column '{}'", given.as_deref().unwrap_or("")),
            }),
            (c, _) => Ok(c),
        }
    };
    let t = col(
        &m.time,
        &["time_s", "time/s", "time (s)", "time(s)", "t/s", "t_s", "test_time_s", "time"],
        "time",
        true,
    )?;
    let v = col(
        &m.voltage,
        &["voltage_v", "voltage/V", "voltage (V)", "voltage(V)", "Ewe/V", "Ecell/V", "voltage"],
        "voltage",
        true,
    )?;
    let i = col(
        &m.current,
        &["current_ma", "current/mA", "current (mA)", "current(mA)", "I/mA", "<I>/mA", "current"],
        "current",
        true,
    )?;
    let q = col(
        &m.charge,
        &["charge_mah", "charge/mAh", "charge (mAh)", "capacity_mah", "Q/mAh", "(Q-Qo)/mA.h"],
        "charge",
        false,
    )?;
    let cyc =
        col(&m.cycle, &["cycle", "cycle_number", "cycle number", "cycle_index"], "cycle", false)?;
    let stp = col(&m.step, &["step", "step_index", "Ns"], "step", false)?;
    let dt = col(&m.datetime, &["datetime", "date_time", "timestamp"], "date-time", false)?;
    let (Some(t), Some(v), Some(i)) = (t, v, i) else {
        // INVARIANT: required columns return Err above when absent.
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: header_line,
            what: "time, voltage and current columns".into(),
        });
    };
    let name = |c: usize| header.get(c).map_or("", String::as_str);

    let mut rows = Vec::new();
    let mut start = None;
    let mut last_line = header_line;
    for (idx, l) in lines {
        let line = idx + 1;
        last_line = line;
        let f = split_fields(l, delim);
        let time_s = num_at(path, line, &f, t, name(t), delim)? * m.time_to_s;
        let voltage_v = num_at(path, line, &f, v, name(v), delim)? * m.voltage_to_v;
        let current_ma = num_at(path, line, &f, i, name(i), delim)? * m.current_to_ma;
        let charge_mah = match q {
            Some(c) => num_at(path, line, &f, c, name(c), delim)? * m.charge_to_mah,
            None => 0.0,
        };
        let counter = |col: Option<usize>| -> Result<u32> {
            col.map_or(Ok(1), |c| counter_at(path, line, &f, c, name(c), delim))
        };
        let cycle = counter(cyc)?;
        let step = counter(stp)?;
        if start.is_none() {
            if let Some(c) = dt {
                let s = f.get(c).map_or("", String::as_str);
                start = start_from_record(s, time_s, path, line, name(c))?;
            }
        }
        rows.push((
            EchemPoint {
                time_s,
                voltage_v,
                current_ma,
                charge_mah,
                cycle,
                step,
                state: CellState::from_current(current_ma),
            },
            Loc::Line(line),
        ));
    }
    if q.is_none() {
        integrate_charge(&mut rows);
    }
    zero_first_charge(&mut rows);
    finish(path, EchemFormat::GenericCsv, start, rows, Loc::Line(last_line))
}
