//! Maccor text export (MacTest / MIMS "ASCII export", tab separated).
//!
//! A few header lines (`Today's Date`, `Date of Test:`, `Filename:`, `Procedure:` …) precede
//! the column-name line, recognised by a `Cyc#` or `Rec#` column. Columns used: test time
//! `Test (Sec)` (or `Test Time (sec)`, `TestTime(s)`), voltage `Volts` (or `Voltage`,
//! `Voltage (V)`), current `Amps` (or `Current`, `Current (A)`; A → mA), cycle `Cyc#`
//! (a 0-based counter, i.e. a first record with 0, is shifted to 1-based), `Step`, state
//! `State` or `MD` (`C` charge, `D` discharge, `R`/`O`/`S`/`P` rest), date-time `DPt Time`.
//!
//! Maccor writes the current unsigned with the state telling the direction: a positive
//! current on a `D` record is made negative. The net charge is the trapezoidal integral of the
//! signed current (the `Amp-hr` column is an unsigned per-step counter). Time zero is dated by
//! the first `DPt Time` minus its test time, else by `Date of Test:`.

use super::text::{
    counter_at, find_col, num_at, parse_naive_datetime, read_text, split_fields, start_from_record,
};
use super::{finish, integrate_charge, CellState, EchemFormat, EchemLog, EchemPoint, Loc};
use crate::error::{Error, Result};
use std::path::Path;

/// Reads a Maccor text export.
pub fn read_maccor(path: impl AsRef<Path>) -> Result<EchemLog> {
    let path = path.as_ref();
    let text = read_text(path)?;
    parse_maccor(path, &text)
}

/// Parses the text of a Maccor export (`path` names the file in errors).
pub fn parse_maccor(path: &Path, text: &str) -> Result<EchemLog> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(h_idx) = lines.iter().position(|l| l.contains("Cyc#") || l.contains("Rec#")) else {
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: 1,
            what: "Maccor column line (with 'Rec#' or 'Cyc#')".into(),
        });
    };
    let header_line = h_idx + 1;
    let delim = if lines[h_idx].contains('\t') { '\t' } else { ',' };
    let header = split_fields(lines[h_idx], delim);
    let mut start_from_header = None;
    for l in &lines[..h_idx] {
        if let Some(rest) = l.trim().strip_prefix("Date of Test:") {
            start_from_header = parse_naive_datetime(rest.trim());
        }
    }
    let missing = |what: &str| Error::Missing {
        path: path.to_path_buf(),
        line: header_line,
        what: format!("column '{what}'"),
    };
    let t = find_col(
        &header,
        &["Test (Sec)", "Test Time (sec)", "TestTime(s)", "Test Time (s)", "Test(Sec)"],
    )
    .ok_or_else(|| missing("Test (Sec)"))?;
    let v =
        find_col(&header, &["Volts", "Voltage", "Voltage (V)"]).ok_or_else(|| missing("Volts"))?;
    let i =
        find_col(&header, &["Amps", "Current", "Current (A)"]).ok_or_else(|| missing("Amps"))?;
    let cyc = find_col(&header, &["Cyc#", "Cycle", "Cycle P"]);
    let stp = find_col(&header, &["Step"]);
    let st = find_col(&header, &["State", "MD"]);
    let dpt = find_col(&header, &["DPt Time", "DPtTime"]);
    let name = |c: usize| header.get(c).map_or("", String::as_str);

    let mut rows = Vec::new();
    let mut cycle_base: Option<u32> = None;
    let mut start = None;
    for (idx, l) in lines.iter().enumerate().skip(h_idx + 1) {
        let line = idx + 1;
        if l.trim().is_empty() {
            continue;
        }
        let f = split_fields(l, delim);
        let time_s = num_at(path, line, &f, t, name(t), delim)?;
        let voltage_v = num_at(path, line, &f, v, name(v), delim)?;
        let amps = num_at(path, line, &f, i, name(i), delim)?;
        let state_code = st
            .and_then(|c| f.get(c))
            .and_then(|s| s.trim().chars().next())
            .map(|c| c.to_ascii_uppercase());
        let (state, current_ma) = match state_code {
            Some('C') => (CellState::Charge, amps.abs() * 1e3),
            Some('D') => (CellState::Discharge, -amps.abs() * 1e3),
            Some('R' | 'O' | 'S' | 'P') => (CellState::Rest, amps * 1e3),
            Some(other) => {
                return Err(Error::Data {
                    path: path.to_path_buf(),
                    line,
                    message: format!("column '{}': unknown state '{other}'", name(st.unwrap_or(0))),
                })
            }
            None => (CellState::from_current(amps * 1e3), amps * 1e3),
        };
        let counter = |col: Option<usize>| -> Result<u32> {
            col.map_or(Ok(1), |c| counter_at(path, line, &f, c, name(c), delim))
        };
        let raw_cycle = counter(cyc)?;
        // A counter that starts at 0 is 0-based.
        let base = *cycle_base.get_or_insert(if raw_cycle == 0 { 1 } else { 0 });
        let step = counter(stp)?;
        if start.is_none() {
            if let Some(c) = dpt {
                let s = f.get(c).map_or("", String::as_str);
                start = start_from_record(s, time_s, path, line, name(c))?;
            }
        }
        rows.push((
            EchemPoint {
                time_s,
                voltage_v,
                current_ma,
                charge_mah: 0.0,
                cycle: raw_cycle + base,
                step,
                state,
            },
            Loc::Line(line),
        ));
    }
    integrate_charge(&mut rows);
    finish(
        path,
        EchemFormat::MaccorText,
        start.or(start_from_header),
        rows,
        Loc::Line(lines.len().max(1)),
    )
}
