#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! Neware `.ndax` with ndc versions 2, 11, 14, 16 and 17, on synthetic files written here
//! following the layouts documented in `io/src/echem/neware.rs` (from the open-source
//! NewareNDA package), checked two ways:
//!
//! 1. against the closed forms of the synthetic protocol (below), and
//! 2. record by record against `fixtures/echem/ndax_versions_newarenda.csv`, what NewareNDA
//!    (v2026.06.11) itself reads from the same files (`gen_ndax_versions_reference.py`; write
//!    the files with `BRAGG_WRITE_NDAX_DIR=DIR cargo test --release -p bragg-io --test
//!    echem_neware_versions`).
//!
//! Protocol: records every 5 s; steps (cycle, step index, status, records, current):
//! (0, 1, Rest, 5, 0), (0, 2, CC_Chg, 9, +0.5 mA), (0, 3, Rest, 3, 0), (0, 4, CC_DChg, 21,
//! −0.5 mA), (1, 2, CC_Chg, 7, +0.5 mA); the step time restarts at 0 on each step, whose
//! first record shares the instant of the previous step's last one, so the test time runs
//! 0–20, 20–60, 60–70, 70–170, 170–200 s; V = 3.1 V + 1 mV/s × t. Capacity counters restart
//! each step. For versions 11–17, the run information of records 8, 9 and 30 is left out (as
//! BTS 8 does), so the reader must fill them from the record interval.

use bragg_io::echem::neware::read_ndax;
use bragg_io::echem::{CellState, EchemLog};
use std::io::Write;
use std::path::{Path, PathBuf};

const PAGE: usize = 4096;
/// Steps: (cycle raw, step index, status code, records, current mA).
const STEPS: [(i32, i32, u8, usize, f64); 5] = [
    (0, 1, 4, 5, 0.0),
    (0, 2, 1, 9, 0.5),
    (0, 3, 4, 3, 0.0),
    (0, 4, 2, 21, -0.5),
    (1, 2, 1, 7, 0.5),
];
const DT_S: f64 = 5.0;
/// Records (1-based indices) whose run information is left out.
const NO_RUN_INFO: [usize; 3] = [8, 9, 30];
/// 2025-07-02 19:08:11 on the cycler clock; the UTC stamps assume UTC+2.
const START_UNIX_UTC: i64 = 1_751_476_091;

/// One record of the protocol: (step number 0-based, step time s, test time s, V, mA,
/// charge counter mA·s, discharge counter mA·s).
fn protocol() -> Vec<(usize, f64, f64, f64, f64, f64, f64)> {
    let mut out = Vec::new();
    let mut offset = 0.0;
    for (s, &(_, _, _, n, i)) in STEPS.iter().enumerate() {
        for k in 0..n {
            let tau = k as f64 * DT_S;
            let t = offset + tau;
            let q = i * tau;
            out.push((s, tau, t, 3.1 + 1e-3 * t, i, q.max(0.0), (-q).max(0.0)));
        }
        offset += (n - 1) as f64 * DT_S;
    }
    out
}

/// A `.ndc` of `pages` record pages after the 4096-byte header (type, version in bytes 0, 2).
fn ndc(filetype: u8, version: u8, pages: usize) -> Vec<u8> {
    let mut b = vec![0u8; PAGE * (1 + pages)];
    b[0] = filetype;
    b[2] = version;
    b
}

/// Puts `records` of `size` bytes into the pages of `b` from page byte 132, `tail` bytes
/// unused at the end of each page; returns the file cut to whole pages used.
fn fill_pages(filetype: u8, version: u8, records: &[Vec<u8>], size: usize, tail: usize) -> Vec<u8> {
    let per_page = (PAGE - 132 - tail) / size;
    let pages = records.len().div_ceil(per_page).max(1);
    let mut b = ndc(filetype, version, pages);
    for (k, r) in records.iter().enumerate() {
        assert_eq!(r.len(), size);
        let at = PAGE * (1 + k / per_page) + 132 + (k % per_page) * size;
        b[at..at + size].copy_from_slice(r);
    }
    b
}

fn put(r: &mut [u8], at: usize, bytes: &[u8]) {
    r[at..at + bytes.len()].copy_from_slice(bytes);
}

/// The three members of a split-version `.ndax`.
fn split_members(version: u8) -> Vec<(&'static str, Vec<u8>)> {
    let si = matches!(version, 11 | 16); // 0.1 mV, mA, mA·s; else V, A, Ah
    let wide = matches!(version, 16 | 17);
    let recs = protocol();
    // data.ndc: (voltage, current) f32 pairs, slots = record indices from 1.
    let data: Vec<Vec<u8>> = recs
        .iter()
        .map(|&(_, _, _, v, i, _, _)| {
            let mut r = vec![0u8; 8];
            let (v, i) = if si { (v * 1e4, i) } else { (v, i * 1e-3) };
            put(&mut r, 0, &(v as f32).to_le_bytes());
            put(&mut r, 4, &(i as f32).to_le_bytes());
            r
        })
        .collect();
    // data_runInfo.ndc
    let (run_size, run_tail) = match version {
        11 => (47, 16),
        14 => (55, 4),
        _ => (100, 64),
    };
    let runs: Vec<Vec<u8>> = recs
        .iter()
        .enumerate()
        .filter(|(k, _)| !NO_RUN_INFO.contains(&(k + 1)))
        .map(|(k, &(s, tau, t, _, _, qc, qd))| {
            let mut r = vec![0u8; run_size];
            let q = |x: f64| if si { x } else { x / 3600.0 * 1e-3 };
            put(&mut r, 0, &((tau * 1e3) as i32).to_le_bytes());
            put(&mut r, 5, &(q(qc) as f32).to_le_bytes());
            put(&mut r, 9, &(q(qd) as f32).to_le_bytes());
            put(&mut r, 29, &((DT_S * 1e3) as i32).to_le_bytes());
            put(&mut r, 33, &((START_UNIX_UTC - 7200 + t as i64) as i32).to_le_bytes());
            put(&mut r, 37, &(10 * (s as i32 + 1)).to_le_bytes()); // only changes count
            put(&mut r, 41, &((k + 1) as i32).to_le_bytes());
            r
        })
        .collect();
    // data_step.ndc
    let (step_size, step_tail) = if wide { (100, 64) } else { (37, 5) };
    let mut first = 1;
    let steps: Vec<Vec<u8>> = STEPS
        .iter()
        .map(|&(cycle, index, status, n, _)| {
            let mut r = vec![0u8; step_size];
            put(&mut r, 0, &cycle.to_le_bytes());
            put(&mut r, 4, &index.to_le_bytes());
            r[24] = status;
            if wide {
                put(&mut r, 33, &(first as i32).to_le_bytes());
            }
            first += n;
            r
        })
        .collect();
    vec![
        ("data.ndc", fill_pages(1, version, &data, 8, 4)),
        ("data_runInfo.ndc", fill_pages(18, version, &runs, run_size, run_tail)),
        ("data_step.ndc", fill_pages(7, version, &steps, step_size, step_tail)),
    ]
}

/// A version 2 `data.ndc`: 94-byte records from byte 517, each starting with the same 8
/// bytes (`0x55` first), fields as in version 5; current range 10 (1e-3 mA per unit).
fn v2_member() -> Vec<u8> {
    let recs = protocol();
    let mut b = vec![0u8; 517 + 94 * recs.len() + 200];
    b[0] = 1;
    b[2] = 2;
    for (k, &(s, tau, t, v, i, qc, qd)) in recs.iter().enumerate() {
        let (cycle, index, status, _, _) = STEPS[s];
        let at = 517 + 94 * k;
        let r = &mut b[at..at + 94];
        put(r, 0, &[0x55, 0x00, 0x01, 0x02, 0x5a, 0xa5, 0x00, 0x00]);
        put(r, 8, &((k + 1) as u32).to_le_bytes());
        put(r, 12, &(cycle as u32).to_le_bytes());
        r[16] = index as u8;
        r[17] = status;
        put(r, 23, &((tau * 1e3).round() as u64).to_le_bytes());
        put(r, 31, &((v * 1e4).round() as i32).to_le_bytes());
        put(r, 35, &((i / 1e-3).round() as i32).to_le_bytes());
        put(r, 43, &((qc / 1e-3).round() as i64).to_le_bytes());
        put(r, 51, &((qd / 1e-3).round() as i64).to_le_bytes());
        // Cycler clock stamp 2025-07-02 19:08:11 + t.
        let sec = 11 + t as u32;
        put(r, 75, &2025u16.to_le_bytes());
        put(r, 77, &[7, 2, 19, (8 + sec / 60) as u8, (sec % 60) as u8]);
        put(r, 82, &10i32.to_le_bytes());
    }
    b
}

fn write_ndax(path: &Path, members: &[(&str, Vec<u8>)], test_info: bool) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    if test_info {
        z.start_file("TestInfo.xml", opts).unwrap();
        z.write_all(b"<root><config><TestInfo StartTime=\"2025-07-02 19:08:11\"/></config></root>")
            .unwrap();
    }
    for (name, bytes) in members {
        z.start_file(*name, opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

fn members(version: u8) -> Vec<(&'static str, Vec<u8>)> {
    if version == 2 {
        vec![("data.ndc", v2_member())]
    } else {
        split_members(version)
    }
}

const VERSIONS: [u8; 5] = [2, 11, 14, 16, 17];

/// Writes the synthetic files (named `synthetic_v<N>.ndax`) into `dir`.
fn write_all(dir: &Path) -> Vec<(u8, PathBuf)> {
    VERSIONS
        .iter()
        .map(|&v| {
            let p = dir.join(format!("synthetic_v{v}.ndax"));
            write_ndax(&p, &members(v), true);
            (v, p)
        })
        .collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn every_version_reads_the_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::env::var_os("BRAGG_WRITE_NDAX_DIR").map(PathBuf::from);
    if let Some(o) = &out {
        std::fs::create_dir_all(o).unwrap();
        write_all(o);
        eprintln!("wrote the synthetic .ndax files to {}", o.display());
    }
    let recs = protocol();
    for (version, path) in write_all(dir.path()) {
        let log = read_ndax(&path).unwrap_or_else(|e| panic!("v{version}: {e}"));
        assert_eq!(log.points.len(), recs.len(), "v{version}");
        let start = chrono::NaiveDate::from_ymd_opt(2025, 7, 2).unwrap().and_hms_opt(19, 8, 11);
        assert_eq!(log.start, start, "v{version}");
        for (k, (p, &(s, _, t, v, i, _, _))) in log.points.iter().zip(&recs).enumerate() {
            let (cycle, index, status, _, _) = STEPS[s];
            let what = format!("v{version} record {}", k + 1);
            assert!(close(p.time_s, t, 1e-9), "{what}: t {} vs {t}", p.time_s);
            assert!(close(p.voltage_v, v, 1e-6), "{what}: V {} vs {v}", p.voltage_v);
            assert!(close(p.current_ma, i, 1e-6), "{what}: I {} vs {i}", p.current_ma);
            assert_eq!((p.cycle, p.step), (cycle as u32 + 1, index as u32), "{what}");
            let state = match status {
                1 => CellState::Charge,
                2 => CellState::Discharge,
                _ => CellState::Rest,
            };
            assert_eq!(p.state, state, "{what}");
            // Net charge ∫I dt (mA·s → mAh), closed form of the protocol.
            let q = match t {
                t if t <= 20.0 => 0.0,
                t if t <= 60.0 => 0.5 * (t - 20.0),
                t if t <= 70.0 => 20.0,
                t if t <= 170.0 => 20.0 - 0.5 * (t - 70.0),
                t => -30.0 + 0.5 * (t - 170.0),
            } / 3600.0;
            assert!(close(p.charge_mah, q, 1e-9), "{what}: Q {} vs {q}", p.charge_mah);
        }
    }
}

/// Reads `fixtures/echem/ndax_versions_newarenda.csv`: version → rows of (Index, Cycle,
/// Step, Step_Index, Status, Time, Voltage, Current(mA), Charge_Capacity(mAh),
/// Discharge_Capacity(mAh)).
fn newarenda() -> Vec<(u8, Vec<String>)> {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/echem/ndax_versions_newarenda.csv");
    let text = std::fs::read_to_string(p).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header = lines.next().unwrap();
    assert_eq!(
        header,
        "version,Index,Cycle,Step,Step_Index,Status,Time,Voltage,Current(mA),\
         Charge_Capacity(mAh),Discharge_Capacity(mAh)"
    );
    lines
        .map(|l| {
            let f: Vec<String> = l.split(',').map(str::to_string).collect();
            (f[0].parse().unwrap(), f)
        })
        .collect()
}

/// bragg against NewareNDA on the same bytes, record by record: NewareNDA gives the step
/// time and the per-step counters (float32); their running sums over its own `Step` column
/// must be bragg's test time and net charge.
#[test]
fn every_version_matches_newarenda() {
    let reference = newarenda();
    let dir = tempfile::tempdir().unwrap();
    for (version, path) in write_all(dir.path()) {
        let log: EchemLog = read_ndax(&path).unwrap();
        let rows: Vec<&Vec<String>> =
            reference.iter().filter(|(v, _)| *v == version).map(|(_, r)| r).collect();
        assert_eq!(rows.len(), log.points.len(), "v{version}: record count");
        let num = |r: &Vec<String>, k: usize| r[k].parse::<f64>().unwrap();
        let (mut offset, mut prev): (f64, Option<(String, f64)>) = (0.0, None);
        let (mut q_off, mut last_q) = (0.0, 0.0);
        for (p, r) in log.points.iter().zip(&rows) {
            let what = format!("v{version} index {}", r[1]);
            let (step, time) = (r[3].clone(), num(r, 6));
            if let Some((ps, pt)) = &prev {
                if *ps != step {
                    offset += pt;
                    q_off += last_q;
                }
            }
            let q_step = (num(r, 9) - num(r, 10)) / 1.0;
            prev = Some((step, time));
            last_q = q_step;
            assert_eq!(p.cycle.to_string(), r[2], "{what}: cycle");
            assert_eq!(p.step.to_string(), r[4], "{what}: step index");
            let state = match r[5].as_str() {
                s if s.ends_with("_DChg") => CellState::Discharge,
                s if s.ends_with("_Chg") => CellState::Charge,
                _ => CellState::Rest,
            };
            assert_eq!(p.state, state, "{what}: status {}", r[5]);
            // float32 in NewareNDA's frame: ~1e-7 relative.
            assert!(
                close(p.time_s, offset + time, 1e-4),
                "{what}: t {} vs {}",
                p.time_s,
                offset + time
            );
            assert!(close(p.voltage_v, num(r, 7), 1e-6), "{what}: V");
            assert!(close(p.current_ma, num(r, 8), 1e-6), "{what}: I");
            assert!(
                close(p.charge_mah, q_off + q_step, 1e-8),
                "{what}: Q {} vs {}",
                p.charge_mah,
                q_off + q_step
            );
        }
    }
}

#[test]
fn unknown_version_and_missing_members_are_named() {
    let dir = tempfile::tempdir().unwrap();
    // ndc version 9 does not exist: named with the file.
    let mut m = split_members(14);
    m[0].1[2] = 9;
    let p = dir.path().join("v9.ndax");
    write_ndax(&p, &m, false);
    let e = read_ndax(&p).unwrap_err().to_string();
    assert!(e.contains("v9.ndax") && e.contains("ndc version 9 is not supported"), "{e}");

    // Version 14 without data_step.ndc.
    let m = split_members(14);
    let p = dir.path().join("nostep.ndax");
    write_ndax(&p, &m[..2], false);
    let e = read_ndax(&p).unwrap_err().to_string();
    assert!(e.contains("nostep.ndax") && e.contains("ndc version 14"), "{e}");
    assert!(e.contains("lacks data_step.ndc"), "{e}");

    // A runInfo member of another version than data.ndc.
    let mut m = split_members(14);
    m[1].1[2] = 11;
    let p = dir.path().join("mixed.ndax");
    write_ndax(&p, &m, false);
    let e = read_ndax(&p).unwrap_err().to_string();
    assert!(e.contains("data_runInfo.ndc") && e.contains("ndc version 11"), "{e}");

    // Without run information for the first record.
    let mut m = split_members(11);
    let first_run = PAGE + 132;
    m[1].1[first_run..first_run + 47].fill(0);
    let p = dir.path().join("norun.ndax");
    write_ndax(&p, &m, false);
    let e = read_ndax(&p).unwrap_err().to_string();
    assert!(e.contains("record 1: no run information"), "{e}");

    // Without TestInfo.xml a split file has no start (its stamps are UTC), a v2 file dates
    // time zero from its first record's cycler-clock stamp.
    let p = dir.path().join("v17_noinfo.ndax");
    write_ndax(&p, &split_members(17), false);
    assert_eq!(read_ndax(&p).unwrap().start, None);
    let p = dir.path().join("v2_noinfo.ndax");
    write_ndax(&p, &members(2), false);
    let start = chrono::NaiveDate::from_ymd_opt(2025, 7, 2).unwrap().and_hms_opt(19, 8, 11);
    assert_eq!(read_ndax(&p).unwrap().start, start);

    // A data.ndc cut inside a page.
    let mut m = split_members(16);
    m[0].1.truncate(PAGE + 1000);
    let p = dir.path().join("cut.ndax");
    write_ndax(&p, &m, false);
    let e = read_ndax(&p).unwrap_err().to_string();
    assert!(e.contains("whole number of 4096-byte pages"), "{e}");
}
