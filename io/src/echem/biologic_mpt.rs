//! BioLogic EC-Lab text export (`.mpt`).
//!
//! Layout (EC-Lab 10–11): line 1 `EC-Lab ASCII FILE`, line 2 `Nb header lines : N`; lines
//! 3 … N−1 are settings, among them `Acquisition started on : MM/DD/YYYY HH:MM:SS.fff`; line
//! N holds the tab-separated column names and the data follow. A file without the two magic
//! lines is read with its first line as the column names. Decimal commas (European locales)
//! are accepted.
//!
//! Columns used: `time/s`; voltage `Ewe/V` (else `<Ewe>/V`, `Ecell/V`); current `<I>/mA` or
//! `I/mA` (also `/A`, `/µA`); charge `(Q-Qo)/mA.h` (or `/C`, `/A.h`), else the current is
//! integrated; `cycle number` (0-based → 1-based); `Ns` (0-based → 1-based step); `mode`
//! (3 = rest/OCV). Other columns are ignored.

use super::text::{counter_at, find_col, num_at, parse_naive_datetime, read_text, split_fields};
use super::{
    finish, integrate_charge, zero_first_charge, CellState, EchemFormat, EchemLog, EchemPoint, Loc,
};
use crate::error::{Error, Result};
use std::path::Path;

/// Reads a BioLogic `.mpt` text export.
pub fn read_mpt(path: impl AsRef<Path>) -> Result<EchemLog> {
    let path = path.as_ref();
    let text = read_text(path)?;
    parse_mpt(path, &text)
}

/// (column names, factor to the normalised unit) for a quantity.
type Units<'a> = &'a [(&'a str, f64)];

fn find_scaled(header: &[String], units: Units<'_>) -> Option<(usize, f64)> {
    units.iter().find_map(|(name, f)| find_col(header, &[name]).map(|i| (i, *f)))
}

/// Parses the text of a BioLogic `.mpt` export (`path` names the file in errors).
pub fn parse_mpt(path: &Path, text: &str) -> Result<EchemLog> {
    let lines: Vec<&str> = text.lines().collect();
    let mut header_line = 1; // 1-based line of the column names
    let mut start = None;
    if lines.first().is_some_and(|l| l.trim() == "EC-Lab ASCII FILE") {
        let second = lines.get(1).copied().unwrap_or("");
        let n = second
            .split(':')
            .nth(1)
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|_| second.trim_start().starts_with("Nb header lines"))
            .ok_or_else(|| Error::Parse {
                path: path.to_path_buf(),
                line: 2,
                message: format!("expected 'Nb header lines : N', found '{}'", second.trim()),
            })?;
        if n < 3 || n > lines.len() {
            return Err(Error::Data {
                path: path.to_path_buf(),
                line: 2,
                message: format!("{n} header lines announced, the file has {} lines", lines.len()),
            });
        }
        header_line = n;
        for (i, l) in lines.iter().enumerate().take(n - 1).skip(2) {
            if let Some(rest) = l.trim().strip_prefix("Acquisition started on") {
                let value = rest.trim_start().trim_start_matches(':').trim();
                start = Some(parse_naive_datetime(value).ok_or_else(|| Error::Parse {
                    path: path.to_path_buf(),
                    line: i + 1,
                    message: format!("cannot read the acquisition date-time '{value}'"),
                })?);
            }
        }
    }
    let delim = '\t';
    let header: Vec<String> =
        split_fields(lines.get(header_line - 1).copied().unwrap_or(""), delim)
            .into_iter()
            .filter(|h| !h.is_empty())
            .collect();
    let missing = |what: &str| Error::Missing {
        path: path.to_path_buf(),
        line: header_line,
        what: what.to_string(),
    };
    let t_col = find_col(&header, &["time/s"]).ok_or_else(|| missing("column 'time/s'"))?;
    let v_col = find_col(&header, &["Ewe/V", "<Ewe>/V", "Ecell/V", "<Ecell>/V"])
        .ok_or_else(|| missing("voltage column 'Ewe/V'"))?;
    let (i_col, i_f) = find_scaled(
        &header,
        &[
            ("<I>/mA", 1.0),
            ("I/mA", 1.0),
            ("<I>/A", 1e3),
            ("I/A", 1e3),
            ("<I>/µA", 1e-3),
            ("I/µA", 1e-3),
            ("<I>/uA", 1e-3),
            ("I/uA", 1e-3),
        ],
    )
    .ok_or_else(|| missing("current column '<I>/mA' or 'I/mA'"))?;
    let q =
        find_scaled(&header, &[("(Q-Qo)/mA.h", 1.0), ("(Q-Qo)/A.h", 1e3), ("(Q-Qo)/C", 1.0 / 3.6)]);
    let cyc_col = find_col(&header, &["cycle number"]);
    let ns_col = find_col(&header, &["Ns"]);
    let mode_col = find_col(&header, &["mode"]);

    let mut rows = Vec::new();
    for (i, l) in lines.iter().enumerate().skip(header_line) {
        let line = i + 1;
        if l.trim().is_empty() {
            continue;
        }
        let f = split_fields(l, delim);
        let time_s = num_at(path, line, &f, t_col, &header[t_col], delim)?;
        let voltage_v = num_at(path, line, &f, v_col, &header[v_col], delim)?;
        let current_ma = num_at(path, line, &f, i_col, &header[i_col], delim)? * i_f;
        let charge_mah = match q {
            Some((c, fac)) => num_at(path, line, &f, c, &header[c], delim)? * fac,
            None => 0.0,
        };
        // BioLogic counters are 0-based.
        let counter = |col: Option<usize>| -> Result<u32> {
            col.map_or(Ok(1), |c| Ok(counter_at(path, line, &f, c, &header[c], delim)? + 1))
        };
        let cycle = counter(cyc_col)?;
        let step = counter(ns_col)?;
        let rest = match mode_col {
            Some(c) => num_at(path, line, &f, c, &header[c], delim)? == 3.0,
            None => false,
        };
        let state = if rest { CellState::Rest } else { CellState::from_current(current_ma) };
        rows.push((
            EchemPoint { time_s, voltage_v, current_ma, charge_mah, cycle, step, state },
            Loc::Line(line),
        ));
    }
    if q.is_none() {
        integrate_charge(&mut rows);
    }
    zero_first_charge(&mut rows);
    finish(path, EchemFormat::BiologicMpt, start, rows, Loc::Line(lines.len().max(1)))
}
