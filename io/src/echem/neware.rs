//! Neware BTS `.ndax` (BTS Server/Client 8): a zip archive of XML descriptions and `.ndc`
//! binary record files.
//!
//! Format knowledge (no official specification; the layout is the one decoded by the
//! open-source `NewareNDA` package, SES AI, and used by the datalab in situ plugin):
//!
//! * `TestInfo.xml` holds the test's `StartTime="YYYY-MM-DD hh:mm:ss"` (the cycler computer's
//!   local clock). `data.ndc` holds the records.
//! * An `.ndc` file starts with its file type (byte 0; 1 = main data) and its version (byte 2).
//!   **Version 5, type 1** (read here): 4096-byte pages from byte 4096; in each page the bytes
//!   125 … 4096−56 are 45 records of 87 bytes; a record is valid when its byte 7 is `0x55`.
//!   Record fields (little-endian, offsets within the record): 8 index u32, 12 cycle u32
//!   (0-based), 16 step index u8, 17 status u8, 23 step time u64 (ms), 31 voltage i32
//!   (0.1 mV), 35 current i32, 43/51 charge/discharge capacity i64, 59/67 charge/discharge
//!   energy i64, 75 date-time (year u16, month, day, hour, minute, second u8), 82 current
//!   range i32. Current (mA) = raw × m and capacity (mAh) = raw × m / 3600, where the
//!   multiplier m depends on the range ([`range_multiplier`]).
//! * Later BTS versions (ndc versions 11, 14, 16, 17) split records over `data.ndc`,
//!   `data_runInfo.ndc` and `data_step.ndc`; they are reported as unsupported.
//!
//! Normalisation: the step time restarts at zero on every step, so the test time is the
//! running sum of the previous steps' last step times plus the step time (a step's first
//! record shares the instant of the previous step's last one). The per-step capacity counters
//! are summed across steps into the net charge. Status codes give the state (CC/CV/CCCV/CP
//! charge → charge; … discharge → discharge; rest, pause, OCV → rest; others by current sign).

use super::{finish, CellState, CounterSum, EchemFormat, EchemLog, EchemPoint, Loc};
use crate::error::{Error, Result};
use chrono::{NaiveDate, NaiveDateTime};
use std::io::Read;
use std::path::Path;

/// Current multiplier (mA per raw unit) of a Neware current range setting, from the table
/// decoded by NewareNDA (`multiplier_dict`); `None` for an unknown range.
pub fn range_multiplier(range: i32) -> Option<f64> {
    Some(match range {
        -100_000_000 => 10.0,
        -200_000 | -100_000 | -60_000 | -50_000 | -40_000 | -30_000 | -20_000 | -12_000
        | -10_000 | -6_000 | -5_000 | -3_000 | -2_000 | -1_000 => 1e-2,
        -500 | -100 => 1e-3,
        -50 | -25 | -20 | -10 => 1e-4,
        -5 | -2 | -1 => 1e-5,
        0 => 0.0,
        1 | 2 | 5 => 1e-4,
        10 | 20 | 25 | 50 => 1e-3,
        100 | 200 | 250 | 500 => 1e-2,
        1_000 | 6_000 | 10_000 | 12_000 | 20_000 | 30_000 | 40_000 | 50_000 | 60_000 | 100_000
        | 200_000 => 1e-1,
        _ => return None,
    })
}

/// Name of a Neware status code (as printed by BTSDA), `None` when unknown.
pub fn status_name(code: u8) -> Option<&'static str> {
    Some(match code {
        1 => "CC_Chg",
        2 => "CC_DChg",
        3 => "CV_Chg",
        4 => "Rest",
        5 => "Cycle",
        7 => "CCCV_Chg",
        8 => "CP_DChg",
        9 => "CP_Chg",
        10 => "CR_DChg",
        13 => "Pause",
        16 => "Pulse",
        17 => "SIM",
        19 => "CV_DChg",
        20 => "CCCV_DChg",
        21 => "Control",
        22 => "OCV",
        26 => "CPCV_DChg",
        27 => "CPCV_Chg",
        _ => return None,
    })
}

fn state_of(status: u8, current_ma: f64) -> CellState {
    match status {
        1 | 3 | 7 | 9 | 27 => CellState::Charge,
        2 | 8 | 10 | 19 | 20 | 26 => CellState::Discharge,
        4 | 13 | 22 => CellState::Rest,
        _ => CellState::from_current(current_ma),
    }
}

fn bin_err(path: &Path, offset: u64, message: String) -> Error {
    Error::ParseBinary { path: path.to_path_buf(), offset, message }
}

/// Reads a Neware `.ndax` file.
pub fn read_ndax(path: impl AsRef<Path>) -> Result<EchemLog> {
    let path = path.as_ref();
    let file = std::fs::File::open(path)
        .map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| {
        bin_err(path, 0, format!("not a readable .ndax (zip) archive, truncated or damaged: {e}"))
    })?;
    let mut member = |name: &str| -> Result<Option<Vec<u8>>> {
        let mut f = match zip.by_name(name) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(bin_err(path, 0, format!("zip member '{name}': {e}"))),
        };
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)
            .map_err(|e| bin_err(path, 0, format!("zip member '{name}' cannot be read: {e}")))?;
        Ok(Some(buf))
    };
    let start = match member("TestInfo.xml")? {
        Some(xml) => start_time(&String::from_utf8_lossy(&xml)),
        None => None,
    };
    let data = member("data.ndc")?
        .ok_or_else(|| bin_err(path, 0, "no 'data.ndc' in the archive".into()))?;
    let has_split = member("data_runInfo.ndc")?.is_some();
    parse_ndc(path, &data, start, has_split)
}

/// `StartTime="…"` of `TestInfo.xml`.
fn start_time(xml: &str) -> Option<NaiveDateTime> {
    let key = "StartTime=\"";
    let at = xml.find(key)? + key.len();
    let end = at + xml.get(at..)?.find('"')?;
    NaiveDateTime::parse_from_str(xml.get(at..end)?, "%Y-%m-%d %H:%M:%S").ok()
}

const PAGE: usize = 4096;
const REC: usize = 87;
const REC_START: usize = 125;
const REC_TAIL: usize = 56;

fn le<const N: usize>(r: &[u8], at: usize) -> [u8; N] {
    let mut b = [0u8; N];
    if let Some(s) = r.get(at..at + N) {
        b.copy_from_slice(s);
    }
    b
}

/// Parses the bytes of a `data.ndc` member (`path` names the `.ndax` in errors; offsets are
/// within `data.ndc`).
fn parse_ndc(
    path: &Path,
    data: &[u8],
    start: Option<NaiveDateTime>,
    has_split: bool,
) -> Result<EchemLog> {
    if data.len() < 3 {
        return Err(bin_err(path, 0, "data.ndc: shorter than its header".into()));
    }
    let (filetype, version) = (data[0], data[2]);
    if filetype != 1 || version != 5 {
        return Err(bin_err(
            path,
            0,
            format!(
                "data.ndc: ndc version {version}, file type {filetype} is not supported \
                 (version 5, type 1 is){}",
                if has_split {
                    "; this file splits its records over data_runInfo.ndc and data_step.ndc"
                } else {
                    ""
                }
            ),
        ));
    }
    if data.len() % PAGE != 0 {
        return Err(bin_err(
            path,
            (data.len() - data.len() % PAGE) as u64,
            format!(
                "data.ndc: {} bytes is not a whole number of 4096-byte pages (truncated?)",
                data.len()
            ),
        ));
    }
    let mut rows = Vec::new();
    let mut offset_s = 0.0; // sum of the finished steps' durations
    let mut prev: Option<(u32, u8, f64)> = None; // (cycle, step, step time)
    let mut q = CounterSum::default();
    let mut first_stamp: Option<(NaiveDateTime, f64)> = None;
    for page in (PAGE..data.len()).step_by(PAGE) {
        for k in 0..(PAGE - REC_START - REC_TAIL) / REC {
            let at = page + REC_START + k * REC;
            let r = &data[at..at + REC];
            if r[7] != 0x55 {
                continue;
            }
            let loc = Loc::Byte(at as u64);
            let index = u32::from_le_bytes(le(r, 8));
            let cycle_raw = u32::from_le_bytes(le(r, 12));
            let step = r[16];
            let status = r[17];
            let step_time_s = u64::from_le_bytes(le(r, 23)) as f64 / 1e3;
            let voltage_v = f64::from(i32::from_le_bytes(le(r, 31))) / 1e4;
            let current_raw = i32::from_le_bytes(le(r, 35));
            let chg = i64::from_le_bytes(le(r, 43));
            let dchg = i64::from_le_bytes(le(r, 51));
            let range = i32::from_le_bytes(le(r, 82));
            let mult = range_multiplier(range).ok_or_else(|| {
                bin_err(
                    path,
                    at as u64 + 82,
                    format!("data.ndc record {index}: unknown current range {range}"),
                )
            })?;
            if let Some((pc, ps, pt)) = prev {
                if pc != cycle_raw || ps != step || step_time_s < pt {
                    offset_s += pt;
                }
            }
            prev = Some((cycle_raw, step, step_time_s));
            let time_s = offset_s + step_time_s;
            let current_ma = f64::from(current_raw) * mult;
            let charge_mah = q.push(chg as f64 * mult / 3600.0, dchg as f64 * mult / 3600.0);
            if first_stamp.is_none() {
                let y = u16::from_le_bytes(le(r, 75));
                let stamp =
                    NaiveDate::from_ymd_opt(i32::from(y), u32::from(r[77]), u32::from(r[78]))
                        .and_then(|d| {
                            d.and_hms_opt(u32::from(r[79]), u32::from(r[80]), u32::from(r[81]))
                        });
                if let Some(s) = stamp {
                    first_stamp = Some((s, time_s));
                }
            }
            rows.push((
                EchemPoint {
                    time_s,
                    voltage_v,
                    current_ma,
                    charge_mah,
                    cycle: cycle_raw.saturating_add(1),
                    step: u32::from(step),
                    state: state_of(status, current_ma),
                },
                loc,
            ));
        }
    }
    // Without TestInfo.xml, the first record's clock stamp (1 s resolution) dates time zero.
    let start = start.or_else(|| {
        first_stamp.and_then(|(s, t)| {
            s.checked_sub_signed(chrono::TimeDelta::milliseconds((t * 1e3).round() as i64))
        })
    });
    finish(path, EchemFormat::NewareNdax, start, rows, Loc::Byte(PAGE as u64))
}
