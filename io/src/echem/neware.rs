//! Neware BTS `.ndax` (BTS Server/Client 8): a zip archive of XML descriptions and `.ndc`
//! binary record files.
//!
//! Format knowledge (no official specification; the layout is the one decoded by the
//! open-source `NewareNDA` package, SES AI, and used by the datalab in situ plugin):
//!
//! * `TestInfo.xml` holds the test's `StartTime="YYYY-MM-DD hh:mm:ss"` (the cycler computer's
//!   local clock). `data.ndc` holds the records.
//! * An `.ndc` file starts with its file type (byte 0: 1 = main data, 7 = steps, 18 = run
//!   information) and its version (byte 2).
//! * **Version 5, type 1**: 4096-byte pages from byte 4096; in each page the bytes
//!   125 … 4096−56 are 45 records of 87 bytes; a record is valid when its byte 7 is `0x55`.
//!   Record fields (little-endian, offsets within the record): 8 index u32, 12 cycle u32
//!   (0-based), 16 step index u8, 17 status u8, 23 step time u64 (ms), 31 voltage i32
//!   (0.1 mV), 35 current i32, 43/51 charge/discharge capacity i64, 59/67 charge/discharge
//!   energy i64, 75 date-time (year u16, month, day, hour, minute, second u8), 82 current
//!   range i32. Current (mA) = raw × m and capacity (mAh) = raw × m / 3600, where the
//!   multiplier m depends on the range ([`range_multiplier`]).
//! * **Version 2, type 1**: 94-byte records with the same fields at the same offsets, valid
//!   when byte 0 is `0x55`; the first starts at byte 517 and every record begins with the
//!   same 8 bytes, which locate them.
//! * **Versions 11, 14, 16, 17** (BTS 8/9) keep the records in three files, each of 4096-byte
//!   pages from byte 4096 holding fixed-size little-endian records from byte 132 of the page:
//!   - `data.ndc` (type 1): 495 records of 8 bytes (page bytes 132 … 4096−4): voltage f32,
//!     current f32; versions 11/16 in 0.1 mV and mA, 14/17 in V and A. A record's index is
//!     its 1-based slot number over all pages; slots with voltage 0 are empty.
//!   - `data_runInfo.ndc` (type 18), one record per data record it covers, records of 47
//!     bytes (v11, page bytes 132 … 4096−16), 55 (v14, … 4096−4) or 100 (v16/17, … 4096−64):
//!     0 step time i32 (ms), 5/9 charge/discharge capacity f32 (v11/16 mA·s, v14/17 Ah),
//!     13/17 energies f32, 29 record interval i32 (ms), 33 Unix time i32 (s, UTC), 37 step
//!     i32, 41 index i32 (0 = empty), 45 milliseconds i16. Consecutive equal step values
//!     form one step of the run.
//!   - `data_step.ndc` (type 7), one record per step of the run in order, records of 37 bytes
//!     (v11/14, page bytes 132 … 4096−5) or 100 (v16/17, … 4096−64): 0 cycle i32 (0-based),
//!     4 step index i32 (0 = empty for v11/14), 24 status i8, and for v16/17 33 index i32
//!     (0 = empty).
//!
//!   A data record takes the run information with its index and the step of the last run
//!   record at or before it. Records without run information (BTS 8 leaves some out) are
//!   filled as NewareNDA does: step time = the last known one plus the record interval per
//!   record, capacity counters advanced by I·Δt. Data records before the first run record
//!   are an error.
//!
//! Normalisation: the step time restarts at zero on every step, so the test time is the
//! running sum of the previous steps' last step times plus the step time (a step's first
//! record shares the instant of the previous step's last one). The per-step capacity counters
//! are summed across steps into the net charge. Status codes give the state (CC/CV/CCCV/CP
//! charge → charge; … discharge → discharge; rest, pause, OCV → rest; others by current sign).
//! The start is `TestInfo.xml`'s `StartTime`; without it, versions 2 and 5 date time zero from
//! the first record's clock stamp, while versions 11–17 (whose stamps are UTC, not the
//! cycler's local clock) leave it unknown.

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

/// Reads a Neware `.ndax` file (ndc versions 2, 5, 11, 14, 16 and 17; see the
/// [module documentation](self)). Errors name the file and the byte offset within the `.ndc`
/// member the message names; an unknown version is an error naming the version.
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
    let run_info = member("data_runInfo.ndc")?;
    let steps = member("data_step.ndc")?;
    if data.len() < 3 {
        return Err(bin_err(path, 0, "data.ndc: shorter than its header".into()));
    }
    let (filetype, version) = (data[0], data[2]);
    if filetype != 1 {
        return Err(bin_err(
            path,
            0,
            format!(
                "data.ndc: file type {filetype} (ndc version {version}); data.ndc must be type 1"
            ),
        ));
    }
    match version {
        2 => parse_ndc_v2(path, &data, start),
        5 => parse_ndc(path, &data, start),
        11 | 14 | 16 | 17 => {
            let lacks = match (&run_info, &steps) {
                (None, None) => "both",
                (None, Some(_)) => "data_runInfo.ndc",
                (Some(_), None) => "data_step.ndc",
                (Some(_), Some(_)) => "",
            };
            let (Some(run_info), Some(steps)) = (run_info, steps) else {
                return Err(bin_err(
                    path,
                    2,
                    format!(
                        "data.ndc: ndc version {version} keeps its records in data.ndc, \
                         data_runInfo.ndc and data_step.ndc, but the archive lacks {lacks}"
                    ),
                ));
            };
            parse_split(path, version, &data, &run_info, &steps, start)
        }
        _ => Err(bin_err(
            path,
            2,
            format!(
                "data.ndc: ndc version {version} is not supported (versions 2, 5, 11, 14, 16 and \
                 17 are){}",
                if run_info.is_some() {
                    "; this file splits its records over data_runInfo.ndc and data_step.ndc"
                } else {
                    ""
                }
            ),
        )),
    }
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

/// A record of a version 2 or 5 `data.ndc` decoded (units normalised), `at` its offset.
struct LegacyRecord {
    at: usize,
    cycle_raw: u32,
    step: u8,
    status: u8,
    step_time_s: f64,
    voltage_v: f64,
    current_ma: f64,
    chg_mah: f64,
    dchg_mah: f64,
    stamp: Option<NaiveDateTime>,
}

/// Decodes the fields of a version 2 / 5 record `r` found at byte `at` of `data.ndc`.
fn legacy_record(path: &Path, r: &[u8], at: usize) -> Result<LegacyRecord> {
    let index = u32::from_le_bytes(le(r, 8));
    let range = i32::from_le_bytes(le(r, 82));
    let mult = range_multiplier(range).ok_or_else(|| {
        bin_err(
            path,
            at as u64 + 82,
            format!("data.ndc record {index}: unknown current range {range}"),
        )
    })?;
    let y = u16::from_le_bytes(le(r, 75));
    let b = |k: usize| u32::from(r.get(k).copied().unwrap_or(0));
    let stamp = NaiveDate::from_ymd_opt(i32::from(y), b(77), b(78))
        .and_then(|d| d.and_hms_opt(b(79), b(80), b(81)));
    Ok(LegacyRecord {
        at,
        cycle_raw: u32::from_le_bytes(le(r, 12)),
        step: r.get(16).copied().unwrap_or(0),
        status: r.get(17).copied().unwrap_or(0),
        step_time_s: u64::from_le_bytes(le(r, 23)) as f64 / 1e3,
        voltage_v: f64::from(i32::from_le_bytes(le(r, 31))) / 1e4,
        current_ma: f64::from(i32::from_le_bytes(le(r, 35))) * mult,
        chg_mah: i64::from_le_bytes(le(r, 43)) as f64 * mult / 3600.0,
        dchg_mah: i64::from_le_bytes(le(r, 51)) as f64 * mult / 3600.0,
        stamp,
    })
}

/// Builds the log of version 2 / 5 records: test time from the step times, net charge from
/// the counters, start from `TestInfo.xml` or else the first record's clock stamp.
fn legacy_log(
    path: &Path,
    records: Vec<LegacyRecord>,
    start: Option<NaiveDateTime>,
    end: usize,
) -> Result<EchemLog> {
    let mut rows = Vec::with_capacity(records.len());
    let mut offset_s = 0.0; // sum of the finished steps' durations
    let mut prev: Option<(u32, u8, f64)> = None; // (cycle, step, step time)
    let mut q = CounterSum::default();
    let mut first_stamp: Option<(NaiveDateTime, f64)> = None;
    for r in records {
        if let Some((pc, ps, pt)) = prev {
            if pc != r.cycle_raw || ps != r.step || r.step_time_s < pt {
                offset_s += pt;
            }
        }
        prev = Some((r.cycle_raw, r.step, r.step_time_s));
        let time_s = offset_s + r.step_time_s;
        let charge_mah = q.push(r.chg_mah, r.dchg_mah);
        if first_stamp.is_none() {
            first_stamp = r.stamp.map(|s| (s, time_s));
        }
        rows.push((
            EchemPoint {
                time_s,
                voltage_v: r.voltage_v,
                current_ma: r.current_ma,
                charge_mah,
                cycle: r.cycle_raw.saturating_add(1),
                step: u32::from(r.step),
                state: state_of(r.status, r.current_ma),
            },
            Loc::Byte(r.at as u64),
        ));
    }
    // Without TestInfo.xml, the first record's clock stamp (1 s resolution) dates time zero.
    let start = start.or_else(|| {
        first_stamp.and_then(|(s, t)| {
            s.checked_sub_signed(chrono::TimeDelta::milliseconds((t * 1e3).round() as i64))
        })
    });
    finish(path, EchemFormat::NewareNdax, start, rows, Loc::Byte(end as u64))
}

/// Parses a version 5 `data.ndc` member (`path` names the `.ndax` in errors; offsets are
/// within `data.ndc`).
fn parse_ndc(path: &Path, data: &[u8], start: Option<NaiveDateTime>) -> Result<EchemLog> {
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
    let mut records = Vec::new();
    for page in (PAGE..data.len()).step_by(PAGE) {
        for k in 0..(PAGE - REC_START - REC_TAIL) / REC {
            let at = page + REC_START + k * REC;
            let Some(r) = data.get(at..at + REC) else { continue };
            if r[7] == 0x55 {
                records.push(legacy_record(path, r, at)?);
            }
        }
    }
    legacy_log(path, records, start, PAGE)
}

/// Parses a version 2 `data.ndc` member: 94-byte records from byte 517, each starting with
/// the 8 bytes the first one starts with.
fn parse_ndc_v2(path: &Path, data: &[u8], start: Option<NaiveDateTime>) -> Result<EchemLog> {
    const FIRST: usize = 517;
    const LEN: usize = 94;
    let Some(id) = data.get(FIRST..FIRST + 8) else {
        return Err(bin_err(path, 0, "data.ndc (version 2): no record at byte 517".into()));
    };
    let mut records = Vec::new();
    let mut at = FIRST;
    while let Some(k) = memchr::memmem::find(data.get(at..).unwrap_or_default(), id) {
        let pos = at + k;
        let Some(r) = data.get(pos..pos + LEN) else {
            return Err(bin_err(
                path,
                pos as u64,
                format!("data.ndc: record at byte {pos} is cut short (truncated?)"),
            ));
        };
        if r[0] == 0x55 {
            records.push(legacy_record(path, r, pos)?);
        }
        at = pos + LEN;
    }
    legacy_log(path, records, start, FIRST)
}

/// Record layout of a split (version 11–17) `.ndc`: record size and the page bytes
/// `[132, 4096 − tail)` that hold records.
#[derive(Debug, Clone, Copy)]
struct SplitLayout {
    size: usize,
    tail: usize,
}

/// The records of a split `.ndc` member with their byte offsets, after checking its header
/// (file type `filetype`, version `version`) and its length. `name` names the member.
fn split_records<'a>(
    path: &Path,
    name: &str,
    bytes: &'a [u8],
    filetype: u8,
    version: u8,
    layout: SplitLayout,
) -> Result<Vec<(usize, &'a [u8])>> {
    const FIRST: usize = 132;
    if bytes.len() < 3 {
        return Err(bin_err(path, 0, format!("{name}: shorter than its header")));
    }
    if bytes[0] != filetype || bytes[2] != version {
        return Err(bin_err(
            path,
            0,
            format!(
                "{name}: file type {}, ndc version {} (expected type {filetype}, version \
                 {version} as data.ndc)",
                bytes[0], bytes[2]
            ),
        ));
    }
    if bytes.len() % PAGE != 0 {
        return Err(bin_err(
            path,
            (bytes.len() - bytes.len() % PAGE) as u64,
            format!(
                "{name}: {} bytes is not a whole number of 4096-byte pages (truncated?)",
                bytes.len()
            ),
        ));
    }
    let per_page = (PAGE - FIRST - layout.tail) / layout.size;
    let mut out = Vec::new();
    for page in (PAGE..bytes.len()).step_by(PAGE) {
        for k in 0..per_page {
            let at = page + FIRST + k * layout.size;
            if let Some(r) = bytes.get(at..at + layout.size) {
                out.push((at, r));
            }
        }
    }
    Ok(out)
}

/// Run information of one data record (a `data_runInfo.ndc` record), normalised.
#[derive(Debug, Clone, Copy)]
struct RunInfo {
    step_time_s: f64,
    chg_mah: f64,
    dchg_mah: f64,
    interval_s: f64,
    /// 1-based step of the run (consecutive equal raw step values counted as one).
    step: usize,
}

fn f32_at(r: &[u8], at: usize) -> f64 {
    f64::from(f32::from_le_bytes(le(r, at)))
}

fn i32_at(r: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(le(r, at))
}

/// Parses the three members of a split (version 11, 14, 16 or 17) `.ndax`.
fn parse_split(
    path: &Path,
    version: u8,
    data: &[u8],
    run_info: &[u8],
    steps: &[u8],
    start: Option<NaiveDateTime>,
) -> Result<EchemLog> {
    // Units: versions 11 and 16 store 0.1 mV, mA and mA·s; 14 and 17 V, A and Ah.
    let (v_scale, i_scale, q_scale) = match version {
        11 | 16 => (1e-4, 1.0, 1.0 / 3600.0),
        _ => (1.0, 1e3, 1e3),
    };
    let wide = matches!(version, 16 | 17);
    let run_layout = match version {
        11 => SplitLayout { size: 47, tail: 16 },
        14 => SplitLayout { size: 55, tail: 4 },
        _ => SplitLayout { size: 100, tail: 64 },
    };
    let step_layout =
        if wide { SplitLayout { size: 100, tail: 64 } } else { SplitLayout { size: 37, tail: 5 } };

    // Steps of the run, in order: (cycle raw, step index, status).
    let mut step_list: Vec<(u32, u32, u8)> = Vec::new();
    for (at, r) in split_records(path, "data_step.ndc", steps, 7, version, step_layout)? {
        let used = if wide { i32_at(r, 33) != 0 } else { i32_at(r, 4) != 0 };
        if !used {
            continue;
        }
        let cycle = u32::try_from(i32_at(r, 0)).map_err(|_| {
            bin_err(path, at as u64, format!("data_step.ndc: negative cycle {}", i32_at(r, 0)))
        })?;
        let step_index = u32::try_from(i32_at(r, 4)).map_err(|_| {
            bin_err(path, at as u64 + 4, format!("data_step.ndc: negative step {}", i32_at(r, 4)))
        })?;
        step_list.push((cycle, step_index, r.get(24).copied().unwrap_or(0)));
    }

    // Run information by record index (the first record of an index wins).
    let mut runs: std::collections::HashMap<u32, (usize, RunInfo)> =
        std::collections::HashMap::new();
    let mut raw_step: Option<i32> = None;
    let mut step = 0usize;
    for (at, r) in split_records(path, "data_runInfo.ndc", run_info, 18, version, run_layout)? {
        let index = i32_at(r, 41);
        if index == 0 {
            continue;
        }
        let s = i32_at(r, 37);
        if raw_step != Some(s) {
            step += 1;
            raw_step = Some(s);
        }
        let info = RunInfo {
            step_time_s: f64::from(i32_at(r, 0)) / 1e3,
            chg_mah: f32_at(r, 5) * q_scale,
            dchg_mah: f32_at(r, 9) * q_scale,
            interval_s: f64::from(i32_at(r, 29)) / 1e3,
            step,
        };
        let index = u32::try_from(index).map_err(|_| {
            bin_err(path, at as u64 + 41, format!("data_runInfo.ndc: negative index {index}"))
        })?;
        runs.entry(index).or_insert((at, info));
    }

    let mut rows = Vec::new();
    let mut offset_s = 0.0; // sum of the finished steps' durations
    let mut prev: Option<(usize, f64)> = None; // (step, step time)
    let mut q = CounterSum::default();
    // The last run information and the charge I·Δt (mAh) accumulated since it.
    let mut last: Option<RunInfo> = None;
    let mut fill_mah = 0.0;
    let data_layout = SplitLayout { size: 8, tail: 4 };
    for (slot, (at, r)) in
        split_records(path, "data.ndc", data, 1, version, data_layout)?.into_iter().enumerate()
    {
        let raw_v = f32_at(r, 0);
        if raw_v == 0.0 {
            continue; // empty slot
        }
        let index = u32::try_from(slot + 1).unwrap_or(u32::MAX);
        let voltage_v = raw_v * v_scale;
        let current_ma = f32_at(r, 4) * i_scale;
        let (step_time_s, chg, dchg, info) = match runs.get(&index) {
            Some(&(_, info)) => {
                fill_mah = 0.0;
                last = Some(info);
                (info.step_time_s, info.chg_mah, info.dchg_mah, info)
            }
            None => {
                let Some(mut info) = last else {
                    return Err(bin_err(
                        path,
                        at as u64,
                        format!(
                            "data.ndc record {index}: no run information (time, step) in \
                             data_runInfo.ndc at or before it"
                        ),
                    ));
                };
                // Filled as NewareNDA does: one record interval later, I·Δt more charge.
                info.step_time_s += info.interval_s;
                fill_mah += current_ma * info.interval_s / 3600.0;
                last = Some(info);
                (
                    info.step_time_s,
                    info.chg_mah + fill_mah.max(0.0),
                    info.dchg_mah + (-fill_mah).max(0.0),
                    info,
                )
            }
        };
        let Some(&(cycle_raw, step_index, status)) = step_list.get(info.step - 1) else {
            return Err(bin_err(
                path,
                at as u64,
                format!(
                    "data.ndc record {index}: step {} of the run, but data_step.ndc lists {}",
                    info.step,
                    step_list.len()
                ),
            ));
        };
        if let Some((ps, pt)) = prev {
            if ps != info.step || step_time_s < pt {
                offset_s += pt;
            }
        }
        prev = Some((info.step, step_time_s));
        rows.push((
            EchemPoint {
                time_s: offset_s + step_time_s,
                voltage_v,
                current_ma,
                charge_mah: q.push(chg, dchg),
                cycle: cycle_raw.saturating_add(1),
                step: step_index,
                state: state_of(status, current_ma),
            },
            Loc::Byte(at as u64),
        ));
    }
    finish(path, EchemFormat::NewareNdax, start, rows, Loc::Byte(PAGE as u64))
}
