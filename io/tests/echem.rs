#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! Cycler-log readers: the real Neware log against NewareNDA, small written files of every
//! other format against the protocol they were written from (fixtures/echem/gen_small.py),
//! and bad input.

use bragg_io::echem::{
    arbin::read_arbin_csv, biologic_mpr::read_mpr, biologic_mpt::parse_mpt, biologic_mpt::read_mpt,
    generic::parse_generic_csv, generic::read_generic_csv, maccor::read_maccor, neware::read_ndax,
    read_echem, CellState, ColumnMapping, EchemFormat, EchemLog, EchemPoint,
};
use bragg_io::Error;
use chrono::NaiveDateTime;
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

fn json(name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

// ---------------------------------------------------------------- the real Neware log

#[test]
fn neware_ndax_matches_newarenda() {
    let Some(path) = real("operando-coincell/Echem/cc8.ndax") else {
        return;
    };
    let r = json("cc8_newarenda.json");
    let log = read_ndax(&path).unwrap();
    assert_eq!(log.format, EchemFormat::NewareNdax);
    assert_eq!(log.points.len() as u64, r["n_records"].as_u64().unwrap());
    assert_eq!(log.start, Some(dt(r["start_time"].as_str().unwrap())));
    assert_eq!(log.first_time_s(), 0.0);

    // Test time = sum of the steps' durations (NewareNDA's per-step last step times).
    let steps = r["steps"].as_array().unwrap();
    let total: f64 = steps.iter().map(|s| s["last_step_time_s"].as_f64().unwrap()).sum();
    assert!((log.last_time_s() - total).abs() < 1e-3, "{} vs {total}", log.last_time_s());
    // Independent clock: the records' own wall-clock stamps (1 s resolution, truncated).
    let last = dt(r["last_timestamp"].as_str().unwrap());
    let end = log.datetime_at(log.last_time_s()).unwrap();
    let gap = (end - last).num_milliseconds() as f64 / 1e3;
    assert!((0.0..2.0).contains(&gap), "end {end} vs last stamp {last}");

    // Voltage range and current extremes (NewareNDA stores float32: compare to 1e-6 relative).
    let vmin = log.points.iter().map(|p| p.voltage_v).fold(f64::INFINITY, f64::min);
    let vmax = log.points.iter().map(|p| p.voltage_v).fold(f64::NEG_INFINITY, f64::max);
    let imin = log.points.iter().map(|p| p.current_ma).fold(f64::INFINITY, f64::min);
    let imax = log.points.iter().map(|p| p.current_ma).fold(f64::NEG_INFINITY, f64::max);
    for (got, key) in [
        (vmin, "voltage_min_v"),
        (vmax, "voltage_max_v"),
        (imin, "current_min_ma"),
        (imax, "current_max_ma"),
    ] {
        let want = r[key].as_f64().unwrap();
        assert!((got - want).abs() <= 1e-6 * want.abs(), "{key}: {got} vs {want}");
    }
    assert!((vmin - 2.4996).abs() < 1e-9 && (vmax - 4.3021).abs() < 1e-9);

    // Sign convention: charge steps positive current, discharge negative, rest zero.
    let count = |s: CellState| log.points.iter().filter(|p| p.state == s).count() as u64;
    let sc = &r["status_counts"];
    assert_eq!(count(CellState::Charge), sc["CCCV_Chg"].as_u64().unwrap());
    assert_eq!(count(CellState::Discharge), sc["CCCV_DChg"].as_u64().unwrap());
    assert_eq!(count(CellState::Rest), sc["Rest"].as_u64().unwrap());
    for p in &log.points {
        match p.state {
            CellState::Charge => assert!(p.current_ma > 0.0),
            CellState::Discharge => assert!(p.current_ma < 0.0),
            CellState::Rest => assert_eq!(p.current_ma, 0.0),
        }
    }

    // Sampled records: voltage, current, step, total time and net charge rebuilt from
    // NewareNDA's per-step counters.
    let mut step_offsets = vec![(0.0, 0.0)]; // (time, net charge) before each step
    for s in steps {
        let (t, q) = *step_offsets.last().unwrap();
        step_offsets.push((
            t + s["last_step_time_s"].as_f64().unwrap(),
            q + s["last_charge_capacity_mah"].as_f64().unwrap()
                - s["last_discharge_capacity_mah"].as_f64().unwrap(),
        ));
    }
    for row in r["sample_rows"].as_array().unwrap() {
        let k = row["record"].as_u64().unwrap() as usize;
        let p = log.points[k];
        let step = row["step_index"].as_u64().unwrap() as u32;
        assert_eq!(p.step, step);
        let (t0, q0) = step_offsets[step as usize - 1];
        let f = |key: &str| row[key].as_f64().unwrap();
        assert!((p.time_s - (t0 + f("step_time_s"))).abs() < 1e-3, "record {k} time");
        assert!((p.voltage_v - f("voltage_v")).abs() < 1e-6, "record {k} voltage");
        assert!((p.current_ma - f("current_ma")).abs() < 1e-6, "record {k} current");
        let q = q0 + f("charge_capacity_mah") - f("discharge_capacity_mah");
        assert!((p.charge_mah - q).abs() < 1e-5, "record {k}: charge {} vs {q}", p.charge_mah);
        let stamp = dt(row["timestamp"].as_str().unwrap());
        let at = log.datetime_at(p.time_s).unwrap();
        let lag = (at - stamp).num_milliseconds() as f64 / 1e3;
        assert!((0.0..2.0).contains(&lag), "record {k}: {at} vs stamp {stamp}");
    }

    // Cycles: the program has no loop step, so the file says cycle 1 throughout; counted
    // "charge first", the second charge (step 4) opens cycle 2.
    assert_eq!(r["cycles"].as_array().unwrap().len(), 1);
    assert!(log.points.iter().all(|p| p.cycle == 1));
    let mut renum = log.clone();
    renum.renumber_cycles_charge_first();
    for p in &renum.points {
        assert_eq!(p.cycle, if p.step >= 4 { 2 } else { 1 }, "step {}", p.step);
    }
    println!(
        "cc8.ndax: {} records, {} s, V {vmin}..{vmax}, I {imin}..{imax} mA, net charge at end {:.4} mAh",
        log.points.len(),
        log.last_time_s(),
        log.points.last().unwrap().charge_mah
    );
}

#[test]
fn truncated_real_ndax_is_an_error() {
    let Some(path) = real("operando-coincell/Echem/cc8.ndax") else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.ndax");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = read_ndax(&cut).unwrap_err();
    assert!(matches!(e, Error::ParseBinary { .. }), "{e}");
    assert!(e.to_string().contains("cut.ndax"), "{e}");
}

// ---------------------------------------------------------------- the written protocol

/// The protocol of gen_small.py: records every 10 s, 0–140 s; current 0 (≤ 20 s), +0.5 mA
/// (30–70 s), 0 (80–90 s), −0.5 mA (100–140 s).
fn protocol_current(t: f64) -> f64 {
    if t <= 20.0 {
        0.0
    } else if t <= 70.0 {
        0.5
    } else if t <= 90.0 {
        0.0
    } else {
        -0.5
    }
}

fn protocol_voltage(t: f64) -> f64 {
    if t <= 90.0 {
        3.1 + 0.002 * t
    } else {
        3.28 - 0.004 * (t - 90.0)
    }
}

/// Checks time, voltage, current and state against the protocol.
fn check_protocol(log: &EchemLog, n: usize) {
    assert_eq!(log.points.len(), n);
    for (k, p) in log.points.iter().enumerate().take(15) {
        let t = 10.0 * k as f64;
        assert!((p.time_s - t).abs() < 1e-9, "record {k}");
        assert!((p.voltage_v - protocol_voltage(t)).abs() < 1e-5, "record {k}: {}", p.voltage_v);
        assert!((p.current_ma - protocol_current(t)).abs() < 1e-9, "record {k}: {}", p.current_ma);
        assert_eq!(p.state, CellState::from_current(protocol_current(t)), "record {k}");
    }
}

/// EC-Lab's (Q-Qo): each record's current holds until the next record (gen_small.py), so
/// at 140 s Q = 0.5 mA·50 s − 0.5 mA·40 s = 5 mA·s.
const Q_END_ECLAB_MAH: f64 = 5.0 / 3600.0;
/// Trapezoidal integral of the same records: 25 mA·s on charge − 22.5 mA·s on discharge.
const Q_END_TRAPZ_MAH: f64 = 2.5 / 3600.0;

#[test]
fn biologic_mpt_small() {
    let log = read_mpt(fixture("small.mpt")).unwrap();
    check_protocol(&log, 15);
    assert_eq!(log.format, EchemFormat::BiologicMpt);
    assert_eq!(log.start, Some(dt("2025-07-02 19:08:11")));
    let last = log.points[14];
    assert!((last.charge_mah - Q_END_ECLAB_MAH).abs() < 1e-12);
    // cycle number 0 → 1, 1 → 2; Ns 0..3 → steps 1..4
    assert_eq!(log.points[9].cycle, 1);
    assert_eq!(last.cycle, 2);
    assert_eq!((log.points[0].step, log.points[3].step, last.step), (1, 2, 4));
}

#[test]
fn biologic_mpr_small_equals_mpt() {
    // small.mpr holds the same records as small.mpt (and galvani 0.5.0 reads it back, see
    // gen_small.py); f32 columns round voltage and control to ~1e-7.
    let mpr = read_mpr(fixture("small.mpr")).unwrap();
    let mpt = read_mpt(fixture("small.mpt")).unwrap();
    check_protocol(&mpr, 15);
    assert_eq!(mpr.start, Some(dt("2025-07-02 19:08:11")));
    for (a, b) in mpr.points.iter().zip(&mpt.points) {
        assert_eq!((a.cycle, a.step, a.state), (b.cycle, b.step, b.state));
        assert!((a.voltage_v - b.voltage_v).abs() < 1e-6);
        assert!((a.charge_mah - b.charge_mah).abs() < 1e-12);
        assert_eq!(a.time_s, b.time_s);
    }
}

#[test]
fn biologic_mpt_decimal_comma_and_rest_mode() {
    let text = "EC-Lab ASCII FILE\nNb header lines : 4\nAcquisition started on : 07/02/2025 19:08:11.500\n\
                mode\ttime/s\tEwe/V\tI/mA\n3\t0,0\t3,1000\t0,0000\n1\t1,5\t3,2000\t0,2500\n";
    let log = parse_mpt(Path::new("comma.mpt"), text).unwrap();
    assert_eq!(log.start, Some(dt("2025-07-02 19:08:11.5")));
    assert_eq!(log.points[1].time_s, 1.5);
    assert_eq!(log.points[1].voltage_v, 3.2);
    assert_eq!(log.points[0].state, CellState::Rest);
    assert_eq!(log.points[1].state, CellState::Charge);
    // no (Q-Qo) column: trapezoid ½(0 + 0.25 mA)·1.5 s
    assert!((log.points[1].charge_mah - 0.5 * 0.25 * 1.5 / 3600.0).abs() < 1e-15);
}

#[test]
fn arbin_csv_small() {
    let log = read_arbin_csv(fixture("arbin.csv")).unwrap();
    check_protocol(&log, 18);
    assert_eq!(log.start, Some(dt("2025-07-02 19:08:11")));
    // Current(A) → mA, cycles 1 and 2, Step_Index as given.
    assert_eq!(log.points[17].current_ma, 0.5);
    assert_eq!((log.points[14].cycle, log.points[15].cycle), (1, 2));
    assert_eq!(log.points[4].step, 2);
    // Counters reset at cycle 2; net charge carried across: at 140 s the EC-Lab-style sum,
    // then +0.5 mA for 20 s more (records 150, 160 → 170 s).
    assert!((log.points[14].charge_mah - Q_END_ECLAB_MAH).abs() < 1e-9);
    assert!((log.points[15].charge_mah - Q_END_ECLAB_MAH).abs() < 1e-9);
    let want = Q_END_ECLAB_MAH + 0.5 * 20.0 / 3600.0;
    assert!((log.points[17].charge_mah - want).abs() < 1e-9, "{}", log.points[17].charge_mah);
}

#[test]
fn maccor_text_small() {
    let log = read_maccor(fixture("maccor.txt")).unwrap();
    check_protocol(&log, 15); // unsigned Amps made negative on 'D' records
    assert_eq!(log.start, Some(dt("2025-07-02 19:08:11")));
    assert_eq!(log.points[0].cycle, 1); // Cyc# 0-based
    assert_eq!(log.points[14].cycle, 2);
    assert!((log.points[14].charge_mah - Q_END_TRAPZ_MAH).abs() < 1e-12);
}

#[test]
fn generic_csv_small_and_mapping() {
    let log = read_generic_csv(fixture("generic.csv"), &ColumnMapping::default()).unwrap();
    check_protocol(&log, 15);
    assert_eq!(log.start, None);
    assert!((log.points[14].charge_mah - Q_END_TRAPZ_MAH).abs() < 1e-12);

    // Explicit mapping with other names and units (min, mV, A).
    let text = "t_min;U_mV;I_A;stamp\n0;3100;0.001;2025-07-02T19:08:11\n0.5;3200;0.001;2025-07-02T19:08:41\n";
    let m = ColumnMapping {
        time: Some("t_min".into()),
        voltage: Some("U_mV".into()),
        current: Some("I_A".into()),
        datetime: Some("stamp".into()),
        time_to_s: 60.0,
        voltage_to_v: 1e-3,
        current_to_ma: 1e3,
        ..ColumnMapping::default()
    };
    let log = parse_generic_csv(Path::new("mapped.csv"), text, &m).unwrap();
    let p: EchemPoint = log.points[1];
    assert_eq!((p.time_s, p.voltage_v, p.current_ma), (30.0, 3.2, 1.0));
    assert!((p.charge_mah - 30.0 / 3600.0).abs() < 1e-15);
    assert_eq!(log.start, Some(dt("2025-07-02 19:08:11")));

    // A log counting cycles from 0 is shifted to 1-based (found by cargo fuzz).
    let text = "time_s,voltage_v,current_ma,cycle\n0,3.1,1,0\n10,3.2,1,0\n20,3.3,-1,1\n";
    let log = parse_generic_csv(Path::new("c0.csv"), text, &ColumnMapping::default()).unwrap();
    assert_eq!(log.points.iter().map(|p| p.cycle).collect::<Vec<_>>(), vec![1, 1, 2]);
    let text = "time_s,voltage_v,current_ma,cycle\n0,3.1,1,1\n10,3.2,-1,2\n";
    let log = parse_generic_csv(Path::new("c1.csv"), text, &ColumnMapping::default()).unwrap();
    assert_eq!(log.points.iter().map(|p| p.cycle).collect::<Vec<_>>(), vec![1, 2]);
}

#[test]
fn dispatcher_picks_the_format() {
    for (name, f) in [
        ("small.mpt", EchemFormat::BiologicMpt),
        ("small.mpr", EchemFormat::BiologicMpr),
        ("arbin.csv", EchemFormat::ArbinCsv),
        ("maccor.txt", EchemFormat::MaccorText),
        ("generic.csv", EchemFormat::GenericCsv),
    ] {
        assert_eq!(read_echem(fixture(name)).unwrap().format, f, "{name}");
    }
}

#[test]
fn window_averages_are_exact_for_linear_data() {
    let log = read_mpt(fixture("small.mpt")).unwrap();
    // On 0–90 s the voltage is 3.1 + 0.002 t: the mean over [15, 45] is V(30) = 3.16.
    let w = log.window(15.0, 45.0).unwrap();
    assert!((w.mean_voltage_v - 3.16).abs() < 1e-6, "{}", w.mean_voltage_v);
    assert_eq!(w.coverage, 1.0);
    assert_eq!(w.n_points, 3);
    // Current, linear 0 → 0.5 mA between the records at 20 and 30 s: ∫ over [15, 45] =
    // 0 (15–20) + 2.5 (20–30) + 7.5 (30–45) mA·s, mean 10/30 mA.
    assert!((w.mean_current_ma - 10.0 / 30.0).abs() < 1e-12);
    assert_eq!(w.state, CellState::Charge);
    // Half outside the log.
    let w = log.window(130.0, 150.0).unwrap();
    assert!((w.coverage - 0.5).abs() < 1e-12);
    assert!(log.window(150.0, 160.0).is_none());
    assert!(log.window(20.0, 10.0).is_none());
}

// ---------------------------------------------------------------- bad input

#[test]
fn bad_inputs_name_file_and_place() {
    let e = read_ndax(fixture("bad_truncated.ndax")).unwrap_err();
    assert!(matches!(e, Error::ParseBinary { .. }), "{e}");
    assert!(e.to_string().contains("bad_truncated.ndax"), "{e}");

    let e = read_ndax(fixture("bad_ndc_v17.ndax")).unwrap_err();
    assert!(e.to_string().contains("ndc version 17"), "{e}");
    assert!(e.to_string().contains("data_runInfo.ndc"), "{e}");

    let e =
        read_generic_csv(fixture("bad_non_monotonic.csv"), &ColumnMapping::default()).unwrap_err();
    match &e {
        Error::Data { line, message, .. } => {
            assert_eq!(*line, 8, "{e}");
            assert!(message.contains("backwards"), "{e}");
        }
        _ => panic!("{e}"),
    }
    assert!(e
        .to_string()
        .starts_with(&format!("{}:8:", fixture("bad_non_monotonic.csv").display())));

    let e = read_echem(fixture("bad_missing_column.csv")).unwrap_err();
    match &e {
        Error::Missing { line, what, .. } => {
            assert_eq!(*line, 1);
            assert!(what.contains("Voltage(V)"), "{e}");
        }
        _ => panic!("{e}"),
    }

    let e = read_mpr(fixture("bad_unknown_column.mpr")).unwrap_err();
    assert!(matches!(e, Error::ParseBinary { .. }), "{e}");
    assert!(e.to_string().contains("unknown column id 9999"), "{e}");

    let e = read_mpr(fixture("bad_truncated.mpr")).unwrap_err();
    assert!(matches!(e, Error::ParseBinary { .. }), "{e}");

    let e = read_mpt(fixture("small.mpr")).unwrap_err();
    assert!(e.to_string().contains("small.mpr"), "{e}");

    // NaN voltage, a malformed number, an empty file.
    let p = Path::new("x.csv");
    let m = ColumnMapping::default();
    let e =
        parse_generic_csv(p, "time_s,voltage_v,current_ma\n0,3.1,0\n1,NaN,0\n", &m).unwrap_err();
    assert!(matches!(e, Error::Data { line: 3, .. }), "{e}");
    let e =
        parse_generic_csv(p, "time_s,voltage_v,current_ma\n0,3.1,0\n1,3.x,0\n", &m).unwrap_err();
    assert!(matches!(e, Error::Parse { line: 3, .. }), "{e}");
    let e = parse_generic_csv(p, "time_s,voltage_v,current_ma\n0,3.1\n", &m).unwrap_err();
    assert!(matches!(e, Error::Data { line: 2, .. }), "{e}");
    let e = parse_generic_csv(p, "", &m).unwrap_err();
    assert!(matches!(e, Error::Data { .. }), "{e}");
    let e = parse_generic_csv(p, "time_s,voltage_v,current_ma\n", &m).unwrap_err();
    assert!(e.to_string().contains("no data records"), "{e}");
}
