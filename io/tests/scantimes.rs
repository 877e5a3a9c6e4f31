#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! Scan-time tables: the real beamline log, matching scan files, time zones, and the
//! alignment of the operando coin-cell scans with their Neware log.

use bragg_io::echem::{biologic_mpt::read_mpt, neware::read_ndax, CellState};
use bragg_io::scantimes::{parse_scan_times, read_scan_times, ScanId, ScanInstant};
use bragg_io::Error;
use chrono::{FixedOffset, NaiveDateTime};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/echem").join(name)
}

fn real(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(rel);
    if p.exists() {
        Some(p)
    } else {
        println!("note: {} absent, test skipped", p.display());
        None
    }
}

fn dt(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
}

const LOG_CSV: &str = "operando-coincell/Log/log_operando_coincell8_LDE2_reduced.csv";

#[test]
fn real_scan_time_table() {
    let Some(path) = real(LOG_CSV) else { return };
    let t = read_scan_times(&path).unwrap();
    assert_eq!(t.entries.len(), 5);
    let numbers: Vec<ScanId> = t.entries.iter().map(|e| e.scan.clone()).collect();
    assert_eq!(numbers, [1355639, 1355647, 1355655, 1355663, 1355671].map(ScanId::Number));
    assert_eq!(t.entries[0].start, ScanInstant::Local(dt("2025-07-02 19:05:59.614")));
    assert_eq!(t.entries[4].end, ScanInstant::Local(dt("2025-07-02 19:43:13.916")));
    assert_eq!(t.entries[2].line, 4);
    // Matching by whole digit runs of the file name.
    let f = t.find("1355639_summed_mythen3.xye").unwrap();
    assert_eq!(f.scan, ScanId::Number(1355639));
    let f = t.find("/beamline/xrd/1355671_summed_mythen3.xye").unwrap();
    assert_eq!(f.scan, ScanId::Number(1355671));
    assert!(t.find("135563_summed_mythen3.xye").is_none()); // part of a number is no match
    assert!(t.find("13556390.xye").is_none());
}

/// The five operando scans on the Neware clock. Reference: NewareNDA's wall-clock stamps
/// (fixtures/echem/cc8_newarenda.json, `scan_windows`).
#[test]
fn operando_scans_aligned_with_ndax() {
    let (Some(table), Some(ndax), Some(xrd)) = (
        real(LOG_CSV),
        real("operando-coincell/Echem/cc8.ndax"),
        real("operando-coincell/xrd_data"),
    ) else {
        return;
    };
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("cc8_newarenda.json")).unwrap())
            .unwrap();
    let reference = reference["scan_windows"].as_array().unwrap();
    let t = read_scan_times(table).unwrap();
    let log = read_ndax(ndax).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(xrd)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".xye"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5);
    println!("scan                         start_s    end_s  coverage  mean V   state");
    for (k, f) in files.iter().enumerate() {
        let w = t.window_for_file(f, &log, None).unwrap().unwrap();
        let r = &reference[k];
        assert!((w.start_s - r["start_s"].as_f64().unwrap()).abs() < 1e-6, "{f}");
        assert!((w.end_s - r["end_s"].as_f64().unwrap()).abs() < 1e-6, "{f}");
        match (log.window(w.start_s, w.end_s), r["mean_voltage_v"].as_f64()) {
            (Some(s), Some(v_ref)) => {
                // NewareNDA's stamps are truncated to the second: 2 mV covers the voltage
                // drift of ±1 s at the start of the charge.
                assert!(
                    (s.mean_voltage_v - v_ref).abs() < 2e-3,
                    "{f}: {} vs {v_ref}",
                    s.mean_voltage_v
                );
                assert_eq!(s.coverage, 1.0);
                println!(
                    "{f:28} {:8.1} {:8.1} {:8.2} {:8.4}  {}",
                    w.start_s,
                    w.end_s,
                    s.coverage,
                    s.mean_voltage_v,
                    s.state.as_str()
                );
                // The first 30 min of the program are a rest; scan 5 falls in the first charge.
                let want = if k == 4 { CellState::Charge } else { CellState::Rest };
                assert_eq!(s.state, want, "{f}");
            }
            (None, None) => {
                // The first scan (pristine) ends 74.8 s before the cycler test starts.
                assert_eq!(k, 0);
                assert!(w.end_s < 0.0);
                println!(
                    "{f:28} {:8.1} {:8.1}     0.00   (before the log starts)",
                    w.start_s, w.end_s
                );
            }
            (got, want) => panic!("{f}: window {got:?}, reference {want:?}"),
        }
    }
}

#[test]
fn file_names_and_seconds() {
    let t = read_scan_times(fixture("scan_times_seconds.csv")).unwrap();
    assert_eq!(t.entries[0].scan, ScanId::File("scan_a.xye".into()));
    assert!(t.find("data/scan_b.xye").is_some());
    assert!(t.find("scan_b.xy").is_some()); // same stem
    assert!(t.find("scan_c.xye").is_none());
    let log = read_mpt(fixture("small.mpt")).unwrap();
    // Seconds are used as given: scan_a is the constant-current charge (30–70 s).
    let w = t.window_for_file("scan_a.xye", &log, None).unwrap().unwrap();
    assert_eq!((w.start_s, w.end_s, w.mid_s()), (30.0, 70.0, 50.0));
    let s = log.window(w.start_s, w.end_s).unwrap();
    assert!((s.mean_current_ma - 0.5).abs() < 1e-12);
    assert_eq!(s.state, CellState::Charge);
    let w = t.window_for_file("scan_b.xye", &log, None).unwrap().unwrap();
    let s = log.window(w.start_s, w.end_s).unwrap();
    assert!((s.mean_current_ma + 0.5).abs() < 1e-12);
    assert!((s.delta_charge_mah + 0.5 * 40.0 / 3600.0).abs() < 1e-12);
}

#[test]
fn zoned_times_need_the_log_offset() {
    let t = read_scan_times(fixture("scan_times_zoned.csv")).unwrap();
    // small.mpt started 2025-07-02 19:08:11 on its (naive) local clock.
    let log = read_mpt(fixture("small.mpt")).unwrap();
    let e = t.window_for_file("scan_0017.xye", &log, None).unwrap_err();
    match &e {
        Error::Data { line, message, .. } => {
            assert_eq!(*line, 2);
            assert!(message.contains("UTC offset"), "{e}");
        }
        _ => panic!("{e}"),
    }
    let cest = FixedOffset::east_opt(2 * 3600).unwrap();
    // 17:08:41Z = 19:08:41 at UTC+2 = 30 s; 19:09:51+02:00 = 100 s.
    let w = t.window_for_file("scan_0017.xye", &log, Some(cest)).unwrap().unwrap();
    assert_eq!((w.start_s, w.end_s), (30.0, 70.0));
    let w = t.window_for_file("scan_0018.xye", &log, Some(cest)).unwrap().unwrap();
    assert_eq!((w.start_s, w.end_s), (100.0, 140.0));
    // Read as UTC the same stamps are two hours earlier: before the log.
    let utc = FixedOffset::east_opt(0).unwrap();
    let w = t.window_for_file("scan_0017.xye", &log, Some(utc)).unwrap().unwrap();
    assert_eq!(w.start_s, 30.0 - 7200.0);
    assert!(log.window(w.start_s, w.end_s).is_none());
}

#[test]
fn bad_tables() {
    let p = Path::new("times.csv");
    let e = parse_scan_times(p, "scan,start,end\n1,10,5\n").unwrap_err();
    assert!(matches!(e, Error::Data { line: 2, .. }), "{e}");
    let e = parse_scan_times(p, "scan,start\n1,10\n").unwrap_err();
    assert!(matches!(e, Error::Missing { line: 1, .. }), "{e}");
    let e = parse_scan_times(p, "scan,start,end\n1,yesterday,5\n").unwrap_err();
    assert!(matches!(e, Error::Parse { line: 2, .. }), "{e}");
    let e = parse_scan_times(p, "scan,start,end\n1,10,2025-07-02 19:00:00\n").unwrap_err();
    assert!(e.to_string().contains("mix"), "{e}");
    let e = parse_scan_times(p, "scan,start,end\nx1,10,20\n").unwrap_err();
    assert!(matches!(e, Error::Parse { line: 2, .. }), "{e}");
    let e = parse_scan_times(p, "scan,start,end\n").unwrap_err();
    assert!(e.to_string().contains("no rows"), "{e}");
    // Date-times need a dated log.
    let t =
        parse_scan_times(p, "scan,start,end\n7,2025-07-02 19:00:00,2025-07-02 19:01:00\n").unwrap();
    let log = bragg_io::echem::generic::read_generic_csv(
        fixture("generic.csv"),
        &bragg_io::echem::ColumnMapping::default(),
    )
    .unwrap();
    let e = t.window_for_file("run7.xye", &log, None).unwrap_err();
    assert!(e.to_string().contains("no start date-time"), "{e}");
}
