//! BioLogic EC-Lab binary file (`.mpr`).
//!
//! The format is not published by BioLogic; this reader follows the reverse-engineered
//! description used by the open-source readers `galvani` (echemdata/galvani, `BioLogic.py`)
//! and `eclabfiles`:
//!
//! * magic: `BIO-LOGIC MODULAR FILE\x1a` padded with spaces to 48 bytes, then 4 zero bytes;
//! * then modules, each `MODULE` + header + `length` bytes of content. Header (EC-Lab < 11.50):
//!   short name (10 bytes), long name (25), length u32, version u32, date (8 ASCII,
//!   `MM/DD/YY`); from EC-Lab 11.50 (the u32 after the long name is `0xFFFFFFFF`): short name,
//!   long name, max length u32, length u32, version u32, an unknown u32, date. Little-endian.
//! * the data module (`VMP data  `): number of points u32, number of columns u8, then the
//!   column ids (u8 in version 0, u16 in versions 2 and 3), zero padding, and the records from
//!   byte 100 (version 0), 405 (version 2) or 406 (version 3) of the module content. A record
//!   is the columns in id order with the types of [`column_type`]; the flag columns (mode,
//!   ox/red, error, control changes, Ns changes, counter inc.) share one byte placed where
//!   the first of them appears (mode = bits 0–1, 3 = rest).
//! * the log module (`VMP LOG   `) holds the acquisition start as an OLE automation date
//!   (f64 days since 1899-12-30) at byte 465, 469, 473 or 585 of its content; the one whose
//!   date equals the module's date field is used.
//!
//! Columns used: time (id 4), Ewe (6, else 77 or 174), current (11 `<I>/mA` f64, else 8
//! `I/mA` or 76 `<I>/mA` f32), charge (13 `(Q-Qo)/mA.h`, else 434 `(Q-Qo)/C`; else the
//! current is integrated), cycle number (24), Ns (131), mode (flag 1). A column id outside
//! the table is an error naming the id (its size is unknown, so the records cannot be cut).

use super::{
    finish, integrate_charge, zero_first_charge, CellState, EchemFormat, EchemLog, EchemPoint, Loc,
};
use crate::error::{Error, Result};
use chrono::{NaiveDate, NaiveDateTime};
use std::path::Path;

/// Storage type of an `.mpr` data column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MprType {
    /// Bit field in the shared flags byte.
    Flag,
    /// u8.
    U1,
    /// u16.
    U2,
    /// u32.
    U4,
    /// f32.
    F4,
    /// f64.
    F8,
}

impl MprType {
    fn size(self) -> usize {
        match self {
            Self::Flag | Self::U1 => 1,
            Self::U2 => 2,
            Self::U4 | Self::F4 => 4,
            Self::F8 => 8,
        }
    }
}

/// Name and storage type of a known data-module column id (galvani's table).
pub fn column_type(id: u16) -> Option<(&'static str, MprType)> {
    use MprType::*;
    Some(match id {
        1 => ("mode", Flag),
        2 => ("ox/red", Flag),
        3 => ("error", Flag),
        21 => ("control changes", Flag),
        31 => ("Ns changes", Flag),
        65 => ("counter inc.", Flag),
        4 => ("time/s", F8),
        5 => ("control/V/mA", F4),
        6 => ("Ewe/V", F4),
        7 => ("dq/mA.h", F8),
        8 => ("I/mA", F4),
        9 => ("Ece/V", F4),
        11 => ("<I>/mA", F8),
        13 => ("(Q-Qo)/mA.h", F8),
        16 => ("Analog IN 1/V", F4),
        17 => ("Analog IN 2/V", F4),
        19 => ("control/V", F4),
        20 => ("control/mA", F4),
        23 => ("dQ/mA.h", F8),
        24 => ("cycle number", F8),
        26 => ("Rapp/Ohm", F4),
        27 => ("Ewe-Ece/V", F4),
        32 => ("freq/Hz", F4),
        33 => ("|Ewe|/V", F4),
        34 => ("|I|/A", F4),
        35 => ("Phase(Z)/deg", F4),
        36 => ("|Z|/Ohm", F4),
        37 => ("Re(Z)/Ohm", F4),
        38 => ("-Im(Z)/Ohm", F4),
        39 => ("I Range", U2),
        69 => ("R/Ohm", F4),
        70 => ("P/W", F4),
        74 => ("Energy/W.h", F8),
        75 => ("Analog OUT/V", F4),
        76 => ("<I>/mA", F4),
        77 => ("<Ewe>/V", F4),
        78 => ("Cs-2/µF-2", F4),
        96 => ("|Ece|/V", F4),
        98 => ("Phase(Zce)/deg", F4),
        99 => ("|Zce|/Ohm", F4),
        100 => ("Re(Zce)/Ohm", F4),
        101 => ("-Im(Zce)/Ohm", F4),
        123 => ("Energy charge/W.h", F8),
        124 => ("Energy discharge/W.h", F8),
        125 => ("Capacitance charge/µF", F8),
        126 => ("Capacitance discharge/µF", F8),
        131 => ("Ns", U2),
        163 => ("|Estack|/V", F4),
        168 => ("Rcmp/Ohm", F4),
        169 => ("Cs/µF", F4),
        172 => ("Cp/µF", F4),
        173 => ("Cp-2/µF-2", F4),
        174 => ("<Ewe>/V", F4),
        178 => ("(Q-Qo)/C", F4),
        179 => ("dQ/C", F4),
        182 => ("step time/s", F8),
        211 => ("Q charge/discharge/mA.h", F8),
        212 => ("half cycle", U4),
        213 => ("z cycle", U4),
        241 => ("|E1|/V", F4),
        242 => ("|E2|/V", F4),
        430 => ("Phase(Zwe-ce)/deg", F4),
        431 => ("|Zwe-ce|/Ohm", F4),
        432 => ("Re(Zwe-ce)/Ohm", F4),
        433 => ("-Im(Zwe-ce)/Ohm", F4),
        434 => ("(Q-Qo)/C", F4),
        435 => ("dQ/C", F4),
        438 => ("step time/s", F8),
        441 => ("<Ecv>/V", F4),
        462 => ("Temperature/°C", F4),
        467 => ("Q charge/discharge/mA.h", F8),
        468 => ("half cycle", U4),
        469 => ("z cycle", U4),
        471 => ("<Ece>/V", F4),
        498 => ("Q charge/mA.h", F8),
        499 => ("Q discharge/mA.h", F8),
        500 => ("step time/s", F8),
        501 => ("Efficiency/%", F8),
        502 => ("Capacity/mA.h", F8),
        505 => ("Rdc/Ohm", F4),
        509 => ("Acir/Dcir Control", U1),
        _ => return None,
    })
}

/// The `.mpr` magic (52 bytes).
fn magic() -> Vec<u8> {
    let mut m = b"BIO-LOGIC MODULAR FILE\x1a".to_vec();
    m.resize(48, b' ');
    m.extend_from_slice(&[0, 0, 0, 0]);
    m
}

struct Module<'a> {
    short: String,
    version: u32,
    date: String,
    content: &'a [u8],
    offset: u64,
}

fn bin_err(path: &Path, offset: u64, message: String) -> Error {
    Error::ParseBinary { path: path.to_path_buf(), offset, message }
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).and_then(|s| s.try_into().ok()).map(u32::from_le_bytes)
}

fn modules<'a>(path: &Path, bytes: &'a [u8]) -> Result<Vec<Module<'a>>> {
    let m = magic();
    if bytes.len() < m.len() || bytes[..m.len()] != m[..] {
        return Err(bin_err(
            path,
            0,
            "not a BioLogic .mpr file (missing 'BIO-LOGIC MODULAR FILE' magic)".into(),
        ));
    }
    let mut pos = m.len();
    let mut out = Vec::new();
    while pos < bytes.len() {
        if bytes.get(pos..pos + 6) != Some(b"MODULE".as_slice()) {
            return Err(bin_err(path, pos as u64, "expected 'MODULE'".into()));
        }
        let h = pos + 6;
        let short_b = bytes
            .get(h..h + 35)
            .ok_or_else(|| bin_err(path, h as u64, "truncated module header".into()))?;
        let short = String::from_utf8_lossy(&short_b[..10]).trim().to_string();
        let marker = u32_at(bytes, h + 35)
            .ok_or_else(|| bin_err(path, (h + 35) as u64, "truncated module header".into()))?;
        let (length, version, date_at, content_at) = if marker == u32::MAX {
            // EC-Lab >= 11.50: max length, length, version, unknown, date.
            let len = u32_at(bytes, h + 39);
            let ver = u32_at(bytes, h + 43);
            (len, ver, h + 51, h + 59)
        } else {
            (Some(marker), u32_at(bytes, h + 39), h + 43, h + 51)
        };
        let (Some(length), Some(version)) = (length, version) else {
            return Err(bin_err(path, h as u64, "truncated module header".into()));
        };
        let date = bytes
            .get(date_at..date_at + 8)
            .map(|d| String::from_utf8_lossy(d).trim().to_string())
            .ok_or_else(|| bin_err(path, date_at as u64, "truncated module header".into()))?;
        let end = content_at
            .checked_add(length as usize)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| {
                bin_err(
                    path,
                    content_at as u64,
                    format!(
                        "module '{short}' announces {length} bytes, the file ends after {}",
                        bytes.len().saturating_sub(content_at)
                    ),
                )
            })?;
        out.push(Module {
            short,
            version,
            date,
            content: &bytes[content_at..end],
            offset: content_at as u64,
        });
        pos = end;
    }
    Ok(out)
}

/// A module date `MM/DD/YY` (also `-` or `.` separated).
fn module_date(s: &str) -> Option<NaiveDate> {
    ["%m/%d/%y", "%m-%d-%y", "%m.%d.%y"].iter().find_map(|f| NaiveDate::parse_from_str(s, f).ok())
}

/// OLE automation date (days since 1899-12-30 00:00) to a date-time.
fn ole_to_datetime(days: f64) -> Option<NaiveDateTime> {
    if !(days.is_finite() && days > 0.0 && days < 1.0e6) {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
    let us = (days * 86_400.0e6).round() as i64;
    base.checked_add_signed(chrono::TimeDelta::microseconds(us))
}

fn log_start(log: &Module<'_>) -> Option<NaiveDateTime> {
    let date = module_date(&log.date)?;
    [465usize, 469, 473, 585].iter().find_map(|&at| {
        let b: [u8; 8] = log.content.get(at..at + 8)?.try_into().ok()?;
        let dt = ole_to_datetime(f64::from_le_bytes(b))?;
        (dt.date() == date).then_some(dt)
    })
}

/// Reads a BioLogic `.mpr` binary file.
pub fn read_mpr(path: impl AsRef<Path>) -> Result<EchemLog> {
    let path = path.as_ref();
    let bytes =
        std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    parse_mpr(path, &bytes)
}

/// Parses the bytes of a BioLogic `.mpr` file (`path` names the file in errors).
pub fn parse_mpr(path: &Path, bytes: &[u8]) -> Result<EchemLog> {
    let mods = modules(path, bytes)?;
    let data = mods
        .iter()
        .find(|m| m.short == "VMP data")
        .ok_or_else(|| bin_err(path, 0, "no 'VMP data' module".into()))?;
    let start = mods.iter().find(|m| m.short == "VMP LOG").and_then(log_start);
    let c = data.content;
    let n_points = u32_at(c, 0)
        .ok_or_else(|| bin_err(path, data.offset, "truncated data module".into()))?
        as usize;
    let n_cols =
        *c.get(4).ok_or_else(|| bin_err(path, data.offset + 4, "truncated data module".into()))?
            as usize;
    let (ids, data_at): (Vec<u16>, usize) = match data.version {
        0 => (
            c.get(5..5 + n_cols)
                .ok_or_else(|| bin_err(path, data.offset + 5, "truncated column list".into()))?
                .iter()
                .map(|&b| u16::from(b))
                .collect(),
            100,
        ),
        2 | 3 => (
            c.get(5..5 + 2 * n_cols)
                .ok_or_else(|| bin_err(path, data.offset + 5, "truncated column list".into()))?
                .chunks_exact(2)
                .map(|w| u16::from_le_bytes([w[0], w[1]]))
                .collect(),
            if data.version == 3 { 406 } else { 405 },
        ),
        v => {
            return Err(bin_err(
                path,
                data.offset,
                format!("data module version {v} is not supported (0, 2 and 3 are)"),
            ))
        }
    };
    // Column layout: (id, byte offset in record, type); flags share one byte.
    let mut layout: Vec<(u16, usize, MprType)> = Vec::new();
    let mut rec_len = 0usize;
    let mut flag_at: Option<usize> = None;
    for (k, &id) in ids.iter().enumerate() {
        let Some((_, ty)) = column_type(id) else {
            return Err(bin_err(
                path,
                data.offset + 5 + (k as u64) * if data.version == 0 { 1 } else { 2 },
                format!(
                    "unknown column id {id} (column {} of {n_cols}); its size is not known, \
                     export the file as .mpt",
                    k + 1
                ),
            ));
        };
        if ty == MprType::Flag {
            let at = *flag_at.get_or_insert_with(|| {
                let at = rec_len;
                rec_len += 1;
                at
            });
            layout.push((id, at, ty));
        } else {
            layout.push((id, rec_len, ty));
            rec_len += ty.size();
        }
    }
    let body = c.get(data_at..).unwrap_or(&[]);
    let need = n_points.saturating_mul(rec_len);
    if rec_len == 0 || body.len() < need {
        return Err(bin_err(
            path,
            data.offset + data_at as u64,
            format!(
                "data module holds {} bytes of records, {n_points} records of {rec_len} bytes \
                 need {need} (truncated file?)",
                body.len()
            ),
        ));
    }
    let find = |wanted: &[u16]| {
        wanted.iter().find_map(|w| layout.iter().find(|(id, _, _)| id == w).copied())
    };
    let missing =
        |what: &str| bin_err(path, data.offset + 5, format!("data module has no {what} column"));
    let t_col = find(&[4]).ok_or_else(|| missing("time/s (id 4)"))?;
    let v_col = find(&[6, 77, 174]).ok_or_else(|| missing("Ewe/V (id 6)"))?;
    let i_col = find(&[11, 8, 76]).ok_or_else(|| missing("current (id 11 or 8)"))?;
    let q_col = find(&[13]).map(|c| (c, 1.0)).or(find(&[434]).map(|c| (c, 1.0 / 3.6)));
    let cyc_col = find(&[24]);
    let ns_col = find(&[131]);
    let mode_col = find(&[1]);

    let read = |rec: &[u8], (id, at, ty): (u16, usize, MprType)| -> f64 {
        let Some(b) = rec.get(at..at + ty.size()) else {
            return f64::NAN;
        };
        match ty {
            MprType::Flag => {
                let mask = match id {
                    1 => 0x03,
                    2 => 0x04,
                    3 => 0x08,
                    21 => 0x10,
                    31 => 0x20,
                    _ => 0x80,
                };
                f64::from(b[0] & mask)
            }
            MprType::U1 => f64::from(b[0]),
            MprType::U2 => f64::from(u16::from_le_bytes([b[0], b[1]])),
            MprType::U4 => f64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            MprType::F4 => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            MprType::F8 => f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        }
    };
    let mut rows = Vec::with_capacity(n_points);
    for (r, rec) in body.chunks_exact(rec_len).take(n_points).enumerate() {
        let off = data.offset + (data_at + r * rec_len) as u64;
        let counter = |col: Option<(u16, usize, MprType)>| -> Result<u32> {
            let Some(col) = col else { return Ok(1) };
            let v = read(rec, col);
            if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < f64::from(u32::MAX) {
                Ok(v as u32 + 1)
            } else {
                Err(bin_err(
                    path,
                    off + col.1 as u64,
                    format!("record {}: column id {}: {v} is not a counter", r + 1, col.0),
                ))
            }
        };
        let current_ma = read(rec, i_col);
        let rest = mode_col.is_some_and(|c| read(rec, c) == 3.0);
        rows.push((
            EchemPoint {
                time_s: read(rec, t_col),
                voltage_v: read(rec, v_col),
                current_ma,
                charge_mah: q_col.map_or(0.0, |(c, f)| read(rec, c) * f),
                cycle: counter(cyc_col)?,
                step: counter(ns_col)?,
                state: if rest { CellState::Rest } else { CellState::from_current(current_ma) },
            },
            Loc::Byte(off),
        ));
    }
    if q_col.is_none() {
        integrate_charge(&mut rows);
    }
    zero_first_charge(&mut rows);
    finish(path, EchemFormat::BiologicMpr, start, rows, Loc::Byte(data.offset + data_at as u64))
}
