//! Shared helpers of the text cycler formats: decoding, delimiters, fields, numbers, dates.

use crate::error::{Error, Result};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use std::path::Path;

/// Reads a text file; bytes that are not UTF-8 are decoded as Latin-1 (EC-Lab and Maccor
/// write Windows code pages, e.g. `µ` and `°` in column names).
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes =
        std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
    })
}

/// A delimited table: the header (the first line that is neither blank nor, with `comments`,
/// a `#` comment) with its 1-based line, delimiter and fields (a UTF-8 BOM stripped), and the
/// remaining such lines as (0-based index, text).
pub(crate) struct Table<'a> {
    /// 1-based line of the header.
    pub header_line: usize,
    /// Field delimiter ([`detect_delimiter`] of the header).
    pub delim: char,
    /// Header fields.
    pub header: Vec<String>,
    /// The data lines after the header.
    pub rows: Box<dyn Iterator<Item = (usize, &'a str)> + 'a>,
}

/// Splits `text` into a [`Table`]; `empty` is the message of the error for a text without a
/// header line (naming line 1 of `path`).
pub(crate) fn table<'a>(
    path: &Path,
    text: &'a str,
    comments: bool,
    empty: &str,
) -> Result<Table<'a>> {
    let mut rows = text.lines().enumerate().filter(move |(_, l)| {
        !(l.trim().is_empty() || (comments && l.trim_start().starts_with('#')))
    });
    let Some((h_idx, h_line)) = rows.next() else {
        return Err(Error::Data { path: path.to_path_buf(), line: 1, message: empty.into() });
    };
    let delim = detect_delimiter(h_line);
    let header = split_fields(h_line.trim_start_matches('\u{feff}'), delim);
    Ok(Table { header_line: h_idx + 1, delim, header, rows: Box::new(rows) })
}

/// The field delimiter of a header line: tab, semicolon or comma, whichever occurs most
/// (tab preferred on ties).
pub(crate) fn detect_delimiter(header: &str) -> char {
    let count = |c: char| header.chars().filter(|&x| x == c).count();
    let (t, s, c) = (count('\t'), count(';'), count(','));
    if t >= s && t >= c && t > 0 {
        '\t'
    } else if s >= c && s > 0 {
        ';'
    } else {
        ','
    }
}

/// Splits a line at `delim`, honouring double quotes (a quoted field may contain the
/// delimiter; `""` inside quotes is a quote). Fields are trimmed.
pub(crate) fn split_fields(line: &str, delim: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut chars = line.trim_end_matches(['\r', '\n']).chars().peekable();
    while let Some(ch) = chars.next() {
        if in_quotes {
            if ch == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                }
            } else {
                cur.push(ch);
            }
        } else if ch == '"' {
            in_quotes = true;
        } else if ch == delim {
            out.push(cur.trim().to_string());
            cur.clear();
        } else {
            cur.push(ch);
        }
    }
    out.push(cur.trim().to_string());
    out
}

/// A column name reduced for matching: lower case, without spaces, underscores and quotes.
pub(crate) fn norm(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '"')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Index of the first column whose normalised name is one of `candidates` (normalised).
pub(crate) fn find_col(header: &[String], candidates: &[&str]) -> Option<usize> {
    let normed: Vec<String> = header.iter().map(|h| norm(h)).collect();
    candidates.iter().find_map(|c| {
        let c = norm(c);
        normed.iter().position(|h| *h == c)
    })
}

/// Parses a number; a decimal comma is accepted when the field delimiter is not a comma.
pub(crate) fn parse_num(field: &str, delim: char) -> Option<f64> {
    let f = field.trim();
    if let Ok(v) = f.parse::<f64>() {
        return Some(v);
    }
    if delim != ',' && f.contains(',') {
        return f.replace(',', ".").parse::<f64>().ok();
    }
    None
}

/// Parses a numeric field of a data line or fails naming the line and the column.
pub(crate) fn num_at(
    path: &Path,
    line: usize,
    fields: &[String],
    col: usize,
    col_name: &str,
    delim: char,
) -> Result<f64> {
    let Some(f) = fields.get(col) else {
        return Err(Error::Data {
            path: path.to_path_buf(),
            line,
            message: format!(
                "missing column '{col_name}' ({} fields, column {} expected)",
                fields.len(),
                col + 1
            ),
        });
    };
    parse_num(f, delim).ok_or_else(|| Error::Parse {
        path: path.to_path_buf(),
        line,
        message: format!("column '{col_name}': '{f}' is not a number"),
    })
}

/// Date-time formats tried for naive (zone-less) stamps, in order.
const NAIVE_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%m/%d/%Y %H:%M:%S%.f",
    "%m/%d/%Y %I:%M:%S%.f %p",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M:%S%.f",
    "%d.%m.%Y %H:%M:%S%.f",
];

/// Parses a date-time without time zone: ISO 8601 (`2025-07-02 19:05:59.614`, `T` or space),
/// `YYYY/MM/DD`, US `MM/DD/YYYY` with 24-hour or AM/PM time, or `DD.MM.YYYY`.
pub(crate) fn parse_naive_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    NAIVE_FORMATS.iter().find_map(|f| NaiveDateTime::parse_from_str(s, f).ok()).or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0))
    })
}

/// Parses an ISO 8601 date-time carrying a UTC offset (`Z`, `+02:00`, `+0200`).
pub(crate) fn parse_zoned_datetime(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    let fixed: String = if let Some(stripped) = s.strip_suffix('Z') {
        format!("{stripped}+00:00")
    } else {
        s.to_string()
    };
    [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f %:z",
    ]
    .iter()
    .find_map(|f| DateTime::parse_from_str(&fixed, f).ok())
}

/// The log's start: the date-time in `field` (column `column`, 1-based `line` of `path`) minus
/// the relative time `time_s` of that record; `None` when `time_s` is not finite.
pub(crate) fn start_from_record(
    field: &str,
    time_s: f64,
    path: &Path,
    line: usize,
    column: &str,
) -> Result<Option<NaiveDateTime>> {
    let d = parse_naive_datetime(field).ok_or_else(|| Error::Parse {
        path: path.to_path_buf(),
        line,
        message: format!("column '{column}': cannot read date-time '{field}'"),
    })?;
    Ok(if time_s.is_finite() {
        d.checked_sub_signed(chrono::TimeDelta::microseconds((time_s * 1e6).round() as i64))
    } else {
        None
    })
}

/// A cycle or step counter (a non-negative integer) in column `c` of the record `fields` on
/// `line`; an error naming the column otherwise.
pub(crate) fn counter_at(
    path: &Path,
    line: usize,
    fields: &[String],
    c: usize,
    column: &str,
    delim: char,
) -> Result<u32> {
    let x = num_at(path, line, fields, c, column, delim)?;
    if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < f64::from(u32::MAX) {
        Ok(x as u32)
    } else {
        Err(Error::Data {
            path: path.to_path_buf(),
            line,
            message: format!("column '{column}': {x} is not a counter"),
        })
    }
}
