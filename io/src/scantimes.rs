//! Scan-time tables: when each diffraction scan was exposed, to put it on a cycler's clock.
//!
//! A table is a CSV (comma, semicolon or tab) with a header naming a scan column and the
//! exposure start and end, e.g. the beamline log
//!
//! ```text
//! scan_number,cell_name,start_time,end_time
//! 1355639,coincell8_LDE2,2025-07-02 19:05:59.614000,2025-07-02 19:06:56.167000
//! ```
//!
//! * scan column: `scan_number`, `scan`, `scan_no`, `number` (an integer matched against the
//!   numbers in scan file names) or `file`, `filename`, `file_name`, `scan_file` (a file
//!   name); start: `start_time`, `start`, `exposure_start`, `start_s`; end: `end_time`, `end`,
//!   `exposure_end`, `end_s`. Other columns are ignored.
//! * times: seconds on the cycler log's clock (a plain number), or ISO 8601 date-times.
//!
//! **Time zones.** A date-time without an offset (`2025-07-02 19:05:59.614`) is taken to be on
//! the cycler log's local clock, the clock of [`EchemLog::start`](crate::echem::EchemLog) —
//! neither the beamline log nor any cycler format records its zone, so bragg does not guess;
//! shift the table if the two computers' clocks differ. A date-time with an offset
//! (`…+02:00`, `…Z`) is converted to the log's clock, which then needs the log's UTC offset
//! (an error otherwise).

use crate::echem::text::{
    find_col, parse_naive_datetime, parse_num, parse_zoned_datetime, read_text, split_fields,
    table, Table,
};
use crate::echem::EchemLog;
use crate::error::{Error, Result};
use chrono::{DateTime, FixedOffset, NaiveDateTime};
use std::path::{Path, PathBuf};

/// A time in a scan-time table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScanInstant {
    /// Seconds on the cycler log's clock.
    Seconds(f64),
    /// A date-time without offset: the cycler log's local clock.
    Local(NaiveDateTime),
    /// A date-time with a UTC offset.
    Zoned(DateTime<FixedOffset>),
}

/// How a table row names its scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanId {
    /// A scan number, matched against the numbers in scan file names.
    Number(u64),
    /// A file name, matched against scan file names (with or without directories/extension).
    File(String),
}

/// One row of a scan-time table.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanTime {
    /// The scan.
    pub scan: ScanId,
    /// Exposure start.
    pub start: ScanInstant,
    /// Exposure end.
    pub end: ScanInstant,
    /// 1-based line of the row in the table.
    pub line: usize,
}

/// A scan's exposure window on the cycler log's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanWindow {
    /// Start, s since the log's time zero.
    pub start_s: f64,
    /// End, s since the log's time zero.
    pub end_s: f64,
}

impl ScanWindow {
    /// Middle of the window, s.
    pub fn mid_s(&self) -> f64 {
        0.5 * (self.start_s + self.end_s)
    }
}

/// A scan-time table.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanTimeTable {
    /// Rows in file order.
    pub entries: Vec<ScanTime>,
    /// The file read.
    pub source: PathBuf,
}

/// Reads a scan-time table (see the module documentation).
pub fn read_scan_times(path: impl AsRef<Path>) -> Result<ScanTimeTable> {
    let path = path.as_ref();
    let text = read_text(path)?;
    parse_scan_times(path, &text)
}

fn parse_instant(s: &str) -> Option<ScanInstant> {
    let s = s.trim();
    if let Some(v) = parse_num(s, ',') {
        return Some(ScanInstant::Seconds(v));
    }
    if let Some(z) = parse_zoned_datetime(s) {
        return Some(ScanInstant::Zoned(z));
    }
    parse_naive_datetime(s).map(ScanInstant::Local)
}

/// Parses the text of a scan-time table (`path` names the file in errors).
pub fn parse_scan_times(path: &Path, text: &str) -> Result<ScanTimeTable> {
    let Table { header_line, delim, header, rows: lines } =
        table(path, text, true, "empty scan-time table")?;
    let missing = |what: &str| Error::Missing {
        path: path.to_path_buf(),
        line: header_line,
        what: what.to_string(),
    };
    let num_col = find_col(&header, &["scan_number", "scan", "scan_no", "number", "scan number"]);
    let file_col = find_col(&header, &["file", "filename", "file_name", "scan_file"]);
    let (id_col, by_number) = match (num_col, file_col) {
        (Some(c), _) => (c, true),
        (None, Some(c)) => (c, false),
        _ => return Err(missing("scan column ('scan_number' or 'file')")),
    };
    let s_col = find_col(&header, &["start_time", "start", "exposure_start", "start_s"])
        .ok_or_else(|| missing("column 'start_time'"))?;
    let e_col = find_col(&header, &["end_time", "end", "exposure_end", "end_s"])
        .ok_or_else(|| missing("column 'end_time'"))?;
    let mut entries = Vec::new();
    for (idx, l) in lines {
        let line = idx + 1;
        let f = split_fields(l, delim);
        let get = |c: usize| -> Result<&str> {
            f.get(c).map(String::as_str).ok_or_else(|| Error::Data {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "{} fields, column '{}' (number {}) missing",
                    f.len(),
                    header.get(c).map_or("", String::as_str),
                    c + 1
                ),
            })
        };
        let id_s = get(id_col)?;
        let scan = if by_number {
            ScanId::Number(id_s.trim().parse::<u64>().map_err(|_| Error::Parse {
                path: path.to_path_buf(),
                line,
                message: format!("scan number '{id_s}' is not a non-negative integer"),
            })?)
        } else {
            if id_s.is_empty() {
                return Err(Error::Data {
                    path: path.to_path_buf(),
                    line,
                    message: "empty scan file name".into(),
                });
            }
            ScanId::File(id_s.to_string())
        };
        let instant = |c: usize| -> Result<ScanInstant> {
            let s = get(c)?;
            parse_instant(s).ok_or_else(|| Error::Parse {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "column '{}': '{s}' is neither seconds nor an ISO 8601 date-time",
                    header.get(c).map_or("", String::as_str)
                ),
            })
        };
        let start = instant(s_col)?;
        let end = instant(e_col)?;
        let bad = |message: String| Error::Data { path: path.to_path_buf(), line, message };
        match (start, end) {
            (ScanInstant::Seconds(a), ScanInstant::Seconds(b)) => {
                if !(a.is_finite() && b.is_finite()) {
                    return Err(bad("start and end must be finite".into()));
                }
                if b < a {
                    return Err(bad(format!("end {b} s is before start {a} s")));
                }
            }
            (ScanInstant::Local(a), ScanInstant::Local(b)) if b < a => {
                return Err(bad(format!("end {b} is before start {a}")));
            }
            (ScanInstant::Zoned(a), ScanInstant::Zoned(b)) if b < a => {
                return Err(bad(format!("end {b} is before start {a}")));
            }
            (ScanInstant::Local(_), ScanInstant::Local(_))
            | (ScanInstant::Zoned(_), ScanInstant::Zoned(_)) => {}
            _ => {
                return Err(bad(
                    "start and end mix kinds (seconds, local and zoned date-times)".into()
                ))
            }
        }
        entries.push(ScanTime { scan, start, end, line });
    }
    if entries.is_empty() {
        return Err(Error::Data {
            path: path.to_path_buf(),
            line: header_line,
            message: "no rows after the header".into(),
        });
    }
    Ok(ScanTimeTable { entries, source: path.to_path_buf() })
}

/// The runs of ASCII digits in a string, as numbers (runs too long for u64 are skipped).
fn digit_runs(s: &str) -> Vec<u64> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|r| !r.is_empty())
        .filter_map(|r| r.parse::<u64>().ok())
        .collect()
}

fn base_name(s: &str) -> &str {
    s.rsplit(['/', '\\']).next().unwrap_or(s)
}

fn stem(s: &str) -> &str {
    let b = base_name(s);
    b.rsplit_once('.').map_or(b, |(st, _)| st)
}

impl ScanTimeTable {
    /// The row for a scan file. Rows naming a file match when the base names (or the names
    /// without extension) are equal. Rows with a number match when the number equals one of
    /// the whole runs of digits in the file's base name (`1355639_summed_mythen3.xye` has runs
    /// 1355639 and 3), the first run in the name that matches any row winning; a number never
    /// matches part of a longer run.
    pub fn find(&self, file_name: &str) -> Option<&ScanTime> {
        let base = base_name(file_name);
        if let Some(e) = self.entries.iter().find(|e| match &e.scan {
            ScanId::File(f) => base_name(f) == base || stem(f) == stem(base),
            ScanId::Number(_) => false,
        }) {
            return Some(e);
        }
        digit_runs(base)
            .into_iter()
            .find_map(|n| self.entries.iter().find(|e| e.scan == ScanId::Number(n)))
    }

    /// A row's exposure window in seconds on `log`'s clock. Seconds are taken as given; local
    /// date-times are measured from the log's start; zoned date-times are first converted to
    /// the log's clock with `log_utc_offset` (the offset of the cycler computer's clock).
    /// Errors (naming the table and the row's line) when date-times are given but the log has
    /// no start date-time, or zoned ones without `log_utc_offset`.
    pub fn window_s(
        &self,
        entry: &ScanTime,
        log: &EchemLog,
        log_utc_offset: Option<FixedOffset>,
    ) -> Result<ScanWindow> {
        let err =
            |message: String| Error::Data { path: self.source.clone(), line: entry.line, message };
        let to_s = |i: ScanInstant| -> Result<f64> {
            let local = match i {
                ScanInstant::Seconds(s) => return Ok(s),
                ScanInstant::Local(t) => t,
                ScanInstant::Zoned(z) => {
                    let off = log_utc_offset.ok_or_else(|| {
                        err(format!(
                            "time {z} carries a UTC offset but the cycler log's clock offset \
                             is not known; give it"
                        ))
                    })?;
                    z.with_timezone(&off).naive_local()
                }
            };
            log.seconds_since_start(local).ok_or_else(|| {
                err(format!(
                    "scan times are date-times but the cycler log {} has no start date-time",
                    log.source.display()
                ))
            })
        };
        Ok(ScanWindow { start_s: to_s(entry.start)?, end_s: to_s(entry.end)? })
    }

    /// [`find`](Self::find) then [`window_s`](Self::window_s): the window of a scan file on
    /// `log`'s clock, `Ok(None)` when no row matches the file.
    pub fn window_for_file(
        &self,
        file_name: &str,
        log: &EchemLog,
        log_utc_offset: Option<FixedOffset>,
    ) -> Result<Option<ScanWindow>> {
        match self.find(file_name) {
            Some(e) => self.window_s(e, log, log_utc_offset).map(Some),
            None => Ok(None),
        }
    }
}
