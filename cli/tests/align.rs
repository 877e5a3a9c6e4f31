#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! End-to-end tests of `bragg align`, in-process:
//!
//! * the real operando coin-cell series (`../shared/data/operando-coincell`: five Mythen3
//!   scans, the Neware log `cc8.ndax` and the beamline's scan-time log) against reference
//!   values computed independently with the Python package NewareNDA and pandas
//!   (`fixtures/operando/coincell8_alignment_reference.csv`, made by
//!   `fixtures/operando/gen_coincell8_alignment_reference.py`; provenance in
//!   `fixtures/README.md`): exposure windows, mean voltage and current, segment, x(Li) by
//!   coulomb counting against the cycler's own capacity counters, and the first scan (which
//!   ends 74.8 s before the log starts) flagged, not extrapolated;
//! * `bragg sequential --echem` writes the same `time_s, x_li, voltage_v, segment, cycle` as
//!   `bragg align` for the same simulated series, log and scan-time table (scans before,
//!   partly inside and after the log included), and the analytic values of that log.

use bragg_crystal::examples::ltno_al_lab_model;
use bragg_crystal::pattern::{simulate, TwoThetaRange};
use bragg_crystal::Cell;
use bragg_io::{write_xye, PowderData};
use rand::SeedableRng;
use rand_distr::{Distribution, Poisson};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/operando-coincell");
const REFERENCE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/operando/coincell8_alignment_reference.csv");

fn run(args: &[&str]) -> anyhow::Result<String> {
    let mut all = vec!["bragg"];
    all.extend_from_slice(args);
    let cli = <bragg::Cli as clap::Parser>::try_parse_from(all)?;
    let mut out = Vec::new();
    bragg::run(cli, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

/// A CSV without quoted fields as one map per row (column → text).
fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), header.len(), "{l}");
            header.iter().cloned().zip(f.iter().map(|s| s.to_string())).collect()
        })
        .collect()
}

fn num(row: &HashMap<String, String>, key: &str) -> f64 {
    let t = &row[key];
    t.parse().unwrap_or_else(|_| panic!("{key} = '{t}' is not a number"))
}

/// Faraday constant, C/mol (CODATA 2018, exact).
const FARADAY: f64 = 96_485.332_12;

#[test]
fn coincell_scans_match_newarenda_reference() {
    let data = Path::new(DATA);
    if !data.is_dir() {
        println!("skipped: {} is absent", data.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out_csv = tmp.path().join("align.csv");
    let (ndax, times, scans) = (
        data.join("Echem/cc8.ndax"),
        data.join("Log/log_operando_coincell8_LDE2_reduced.csv"),
        data.join("xrd_data"),
    );
    // A hypothetical cell (10 mg of M = 97.6314 g/mol, x0 = 1) to check the coulomb counting.
    let (mass_mg, molar, x0) = (10.0, 97.6314, 1.0);
    let report = run(&[
        "align",
        scans.to_str().unwrap(),
        "--echem",
        ndax.to_str().unwrap(),
        "--scan-times",
        times.to_str().unwrap(),
        "--active-mass",
        "10",
        "--molar-mass",
        "97.6314",
        "--x0",
        "1",
        "-o",
        out_csv.to_str().unwrap(),
    ])
    .unwrap();
    println!("{report}");
    assert!(report.contains("ends 74.8 s before the log starts"), "{report}");
    for ext in ["png", "svg"] {
        assert!(out_csv.with_extension(ext).is_file(), "{ext} written");
    }
    let svg = std::fs::read_to_string(out_csv.with_extension("svg")).unwrap();
    assert!(svg.contains("1355639") && svg.contains("1355671"), "bands labelled by scan number");

    let rows = read_csv(&out_csv);
    let reference = read_csv(Path::new(REFERENCE));
    assert_eq!(rows.len(), 5);
    assert_eq!(reference.len(), 5);
    let k = molar / (FARADAY * mass_mg * 1e-3); // Δx per coulomb
    println!("scan      |ΔV| (V)   |ΔI| (mA)  |ΔQ| (mAh)");
    for (r, want) in rows.iter().zip(&reference) {
        assert_eq!(r["scan_id"], want["scan_number"]);
        assert!(r["file"].contains(&want["scan_number"]), "{}", r["file"]);
        for (got, exp) in [("start_s", "start_s"), ("end_s", "end_s"), ("time_s", "mid_s")] {
            // Both sides read the same millisecond stamps against the same start time.
            assert!((num(r, got) - num(want, exp)).abs() < 1e-6, "{got}: {r:?} vs {want:?}");
        }
        assert!((num(r, "coverage") - num(want, "coverage")).abs() < 1e-9);
        if want["mean_voltage_v"].is_empty() {
            // The pristine scan ends before the log starts: flagged, nothing extrapolated.
            assert_eq!(r["scan_id"], "1355639");
            assert_eq!(r["flag"], "before_log");
            for key in ["voltage_v", "current_ma", "segment", "cycle", "x_li"] {
                assert!(r[key].is_empty(), "{key} = {}", r[key]);
            }
            assert_eq!(r["start_time"], "2025-07-02T19:05:59.614");
            continue;
        }
        assert_eq!(r["flag"], "");
        // NewareNDA keeps V and I as float32 (half an ulp: 1.2e-7 V at 3.6 V, 1.5e-8 mA at
        // 0.3 mA); bragg reads the raw integers in f64. Same averaging definition on both sides
        // (time-weighted mean of the piecewise-linear interpolation over the window).
        let dv = (num(r, "voltage_v") - num(want, "mean_voltage_v")).abs();
        let di = (num(r, "current_ma") - num(want, "mean_current_ma")).abs();
        assert!(dv < 1e-6, "{}: V {} vs {}", r["scan_id"], r["voltage_v"], want["mean_voltage_v"]);
        assert!(
            di < 1e-6,
            "{}: I {} vs {}",
            r["scan_id"],
            r["current_ma"],
            want["mean_current_ma"]
        );
        // x(Li) by bragg's coulomb counting of the logged current against the cycler's own
        // capacity counters: Q = (x0 − x)/k in C, /3.6 in mAh. The logged current is rounded
        // to 1e-4 mA (1.6e-4 relative at 0.3059 mA) while the counter integrates the true
        // current: 5e-6 mAh covers that on 0.023 mAh.
        let q_mah = (x0 - num(r, "x_li")) / k / 3.6;
        let dq = (q_mah - num(want, "mean_net_charge_mah")).abs();
        assert!(dq < 5e-6, "{}: Q {q_mah} vs {}", r["scan_id"], want["mean_net_charge_mah"]);
        let segment = match want["status"].as_str() {
            "Rest" => "rest",
            "CCCV_Chg" | "CC_Chg" => "charge",
            "CCCV_DChg" | "CC_DChg" => "discharge",
            s => panic!("status {s}"),
        };
        assert_eq!(r["segment"], segment, "{}", r["scan_id"]);
        assert_eq!(r["cycle"], "1");
        println!("{}  {dv:9.2e}  {di:9.2e}  {dq:9.2e}", r["scan_id"]);
    }

    // --json: the same rows in OUT.json, printed instead of the table.
    let printed = run(&[
        "align",
        scans.to_str().unwrap(),
        "--echem",
        ndax.to_str().unwrap(),
        "--scan-times",
        times.to_str().unwrap(),
        "--no-plot",
        "--json",
        "-o",
        out_csv.to_str().unwrap(),
    ])
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&printed).unwrap();
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_csv.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(json, file);
    assert_eq!(json["rows"][0]["placement"], "before_log");
    assert_eq!(json["rows"][4]["segment"], "charge");
    assert!(json["rows"][4]["x_li"].is_null(), "no cell, no x");
    assert_eq!(json["log"]["start_time"], "2025-07-02T19:08:11.000");
}

// ---- bragg sequential and bragg align on one simulated series ----

const N: usize = 4;
const I_MA: f64 = 0.5;

/// Writes scan_1.xye … scan_N.xye (LTNO + Al, Cu Kα, a from 4.10 to 4.13 Å, Poisson noise).
fn write_series(dir: &Path) {
    let grid = TwoThetaRange::new(15.0, 80.0, 0.02).unwrap().points();
    for scan in 1..=N {
        let mut m = ltno_al_lab_model().unwrap();
        m.phases[0].phase.cell = Cell::cubic(4.10 + 0.01 * (scan - 1) as f64).unwrap();
        let y = simulate(&m, &grid).unwrap().total;
        let mut rng = rand_pcg::Pcg64::seed_from_u64(2000 + scan as u64);
        let y: Vec<f64> = y.iter().map(|&v| Poisson::new(v).unwrap().sample(&mut rng)).collect();
        let data = PowderData {
            two_theta_deg: grid.clone(),
            intensity: y.clone(),
            esd: Some(y.iter().map(|v| v.max(1.0).sqrt()).collect()),
            source: PathBuf::new(),
        };
        write_xye(&dir.join(format!("scan_{scan}.xye")), &data, "simulated").unwrap();
    }
}

/// Cycler log: charge at +I from 0 to 3000 s, V = 3.5 + 1e-4 t, then discharge at −I to
/// 6000 s, V = 3.8 − 1e-4 (t − 3000) (records every 100 s, the step written twice).
fn write_log(path: &Path) {
    let mut text = String::from("time_s,voltage_v,current_ma\n");
    for k in 0..=30 {
        let t = 100.0 * k as f64;
        text.push_str(&format!("{t},{},{I_MA}\n", 3.5 + 1e-4 * t));
    }
    for k in 30..=60 {
        let t = 100.0 * k as f64;
        text.push_str(&format!("{t},{},{}\n", 3.8 - 1e-4 * (t - 3000.0), -I_MA));
    }
    std::fs::write(path, text).unwrap();
}

/// Scan windows: 1 before the log, 2 in the charge, 3 in the discharge, 4 straddling the end.
const WINDOWS: [(f64, f64); N] =
    [(-500.0, -200.0), (1000.0, 1300.0), (4000.0, 4300.0), (5900.0, 6200.0)];

#[test]
fn sequential_and_align_write_the_same_echem_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let scans = tmp.path().join("scans");
    std::fs::create_dir(&scans).unwrap();
    write_series(&scans);
    let log = tmp.path().join("cycler.csv");
    write_log(&log);
    let times = tmp.path().join("times.csv");
    let mut text = String::from("file,start_s,end_s\n");
    for (i, (a, b)) in WINDOWS.iter().enumerate() {
        text.push_str(&format!("scan_{}.xye,{a},{b}\n", i + 1));
    }
    std::fs::write(&times, text).unwrap();
    let dir = scans.to_str().unwrap();
    let echem = [
        "--echem",
        log.to_str().unwrap(),
        "--scan-times",
        times.to_str().unwrap(),
        "--active-mass",
        "5",
        "--molar-mass",
        "90",
        "--x0",
        "1",
    ];

    let align_csv = tmp.path().join("align.csv");
    let mut args = vec!["align", dir, "--no-plot", "-o", align_csv.to_str().unwrap()];
    args.extend(echem);
    let report = run(&args).unwrap();
    println!("{report}");

    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/models/ltno-al-cuka.toml");
    let seq_dir = tmp.path().join("seq");
    let mut args = vec![
        "sequential",
        dir,
        "--model",
        model.to_str().unwrap(),
        "--radiation",
        "CuKa",
        "--fixed-phase",
        "Al",
        "--no-progress",
        "-o",
        seq_dir.to_str().unwrap(),
    ];
    args.extend(echem);
    let seq_report = run(&args).unwrap();
    println!("{seq_report}");

    let a = read_csv(&align_csv);
    let s = read_csv(&seq_dir.join("sequential.csv"));
    assert_eq!(a.len(), N);
    assert_eq!(s.len(), N);
    for (ra, rs) in a.iter().zip(&s) {
        assert_eq!(ra["scan"], rs["scan"]);
        assert_eq!(ra["file"], rs["file"]);
        for key in ["time_s", "x_li", "voltage_v", "segment", "cycle"] {
            assert_eq!(ra[key], rs[key], "scan {}: {key}", ra["scan"]);
        }
    }
    // Flags: before, inside, inside, partly after the end (not extrapolated).
    let flags: Vec<&str> = a.iter().map(|r| r["flag"].as_str()).collect();
    assert_eq!(flags, ["before_log", "", "", "partly_outside_log"]);
    assert!((num(&a[3], "coverage") - 1.0 / 3.0).abs() < 1e-12);
    assert!(a[3]["voltage_v"].is_empty() && s[3]["voltage_v"].is_empty());
    // Analytic values of the log: V and x linear in t within a segment, so their window means
    // are their values at the mid time; x by Faraday's law by hand.
    let x_at = |t: f64| {
        let q = if t <= 3000.0 { I_MA * 1e-3 * t } else { I_MA * 1e-3 * (6000.0 - t) };
        1.0 - q * 90.0 / (FARADAY * 5e-3)
    };
    for (i, (v, seg, cur)) in
        [(3.615, "charge", I_MA), (3.685, "discharge", -I_MA)].iter().enumerate()
    {
        let r = &a[i + 1];
        let mid = num(r, "time_s");
        assert!((num(r, "voltage_v") - v).abs() < 1e-9, "{r:?}");
        assert!((num(r, "current_ma") - cur).abs() < 1e-12, "{r:?}");
        assert!((num(r, "x_li") - x_at(mid)).abs() < 1e-9, "{r:?}");
        assert_eq!(r["segment"], *seg);
    }
    assert!(seq_report.contains("2 scans aligned"), "{seq_report}");
}

#[test]
fn align_needs_a_log_and_an_output_file() {
    let tmp = tempfile::tempdir().unwrap();
    let scans = tmp.path().join("scans");
    std::fs::create_dir(&scans).unwrap();
    std::fs::write(scans.join("a.xy"), "10 1\n11 2\n12 3\n").unwrap();
    let out = tmp.path().join("out.csv");
    let e = run(&["align", scans.to_str().unwrap(), "-o", out.to_str().unwrap()]).unwrap_err();
    assert!(e.to_string().contains("--echem LOG"), "{e:#}");
    let log = tmp.path().join("cycler.csv");
    write_log(&log);
    // A header without a time stamp and no table: the generic CSV log has no start date-time.
    let e = run(&[
        "align",
        scans.to_str().unwrap(),
        "--echem",
        log.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("--scan-times"), "{e:#}");
    let e = run(&[
        "align",
        scans.to_str().unwrap(),
        "--echem",
        log.to_str().unwrap(),
        "-o",
        tmp.path().to_str().unwrap(),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("is a folder"), "{e:#}");
    assert!(!out.exists());
}
