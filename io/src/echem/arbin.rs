//! Arbin MITS Pro CSV export.
//!
//! One header line then one record per line, comma separated (semicolon and tab accepted),
//! fields optionally quoted. Columns used (unit in parentheses, also with a space before it):
//! `Test_Time(s)`, `Voltage(V)`, `Current(A)` (or `(mA)`), `Charge_Capacity(Ah)` and
//! `Discharge_Capacity(Ah)` (or `(mAh)`; unsigned counters that reset at each cycle, summed
//! into the net charge; without them the current is integrated), `Cycle_Index`,
//! `Step_Index`, `Date_Time` (the first record's date-time minus its test time dates time
//! zero; formats `MM/DD/YYYY hh:mm:ss[.fff] [AM|PM]` or ISO). Excel workbooks are not read.

use super::text::{
    counter_at, detect_delimiter, find_col, num_at, read_text, split_fields, start_from_record,
};
use super::{
    finish, integrate_charge, CellState, CounterSum, EchemFormat, EchemLog, EchemPoint, Loc,
};
use crate::error::{Error, Result};
use std::path::Path;

/// Reads an Arbin CSV export.
pub fn read_arbin_csv(path: impl AsRef<Path>) -> Result<EchemLog> {
    let path = path.as_ref();
    let text = read_text(path)?;
    parse_arbin_csv(path, &text)
}

/// Column index and factor to the normalised unit, over `(name, factor)` candidates.
fn scaled(header: &[String], c: &[(&str, f64)]) -> Option<(usize, f64)> {
    c.iter().find_map(|(n, f)| find_col(header, &[n]).map(|i| (i, *f)))
}

/// Parses the text of an Arbin CSV export (`path` names the file in errors).
pub fn parse_arbin_csv(path: &Path, text: &str) -> Result<EchemLog> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((h_idx, h_line)) = lines.next() else {
        return Err(Error::Data {
            path: path.to_path_buf(),
            line: 1,
            message: "empty file".into(),
        });
    };
    let header_line = h_idx + 1;
    let delim = detect_delimiter(h_line);
    let header = split_fields(h_line.trim_start_matches('\u{feff}'), delim);
    let missing = |what: &str| Error::Missing {
        path: path.to_path_buf(),
        line: header_line,
        what: format!("column '{what}'"),
    };
    let t = scaled(&header, &[("Test_Time(s)", 1.0), ("Test_Time(h)", 3600.0)])
        .ok_or_else(|| missing("Test_Time(s)"))?;
    let v = find_col(&header, &["Voltage(V)"]).ok_or_else(|| missing("Voltage(V)"))?;
    let i = scaled(&header, &[("Current(A)", 1e3), ("Current(mA)", 1.0)])
        .ok_or_else(|| missing("Current(A)"))?;
    let qc = scaled(&header, &[("Charge_Capacity(Ah)", 1e3), ("Charge_Capacity(mAh)", 1.0)]);
    let qd = scaled(&header, &[("Discharge_Capacity(Ah)", 1e3), ("Discharge_Capacity(mAh)", 1.0)]);
    let cyc = find_col(&header, &["Cycle_Index"]);
    let stp = find_col(&header, &["Step_Index"]);
    let dt = find_col(&header, &["Date_Time", "DateTime"]);
    let name = |c: usize| header.get(c).map_or("", String::as_str);

    let mut rows = Vec::new();
    let mut q = CounterSum::default();
    let mut start = None;
    let mut last_line = header_line;
    for (idx, l) in lines {
        let line = idx + 1;
        last_line = line;
        let f = split_fields(l, delim);
        let time_s = num_at(path, line, &f, t.0, name(t.0), delim)? * t.1;
        let voltage_v = num_at(path, line, &f, v, name(v), delim)?;
        let current_ma = num_at(path, line, &f, i.0, name(i.0), delim)? * i.1;
        let charge_mah = match (qc, qd) {
            (Some((c, fc)), Some((d, fd))) => q.push(
                num_at(path, line, &f, c, name(c), delim)? * fc,
                num_at(path, line, &f, d, name(d), delim)? * fd,
            ),
            _ => 0.0,
        };
        let counter = |col: Option<usize>| -> Result<u32> {
            col.map_or(Ok(1), |c| counter_at(path, line, &f, c, name(c), delim))
        };
        let cycle = counter(cyc)?.max(1);
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
    if qc.is_none() || qd.is_none() {
        integrate_charge(&mut rows);
    }
    super::zero_first_charge(&mut rows);
    finish(path, EchemFormat::ArbinCsv, start, rows, Loc::Line(last_line))
}
