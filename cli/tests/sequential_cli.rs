#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! End-to-end tests of `bragg sequential` and `bragg merge`, in-process: a simulated lab
//! series on disk (LTNO + Al window, Cu Kα1/Kα2, a from 4.10 to 4.16 Å, Poisson noise with
//! fixed seeds) fitted with the truth recovered within 3 esd; natural order of the files;
//! resume after an interrupted run refits nothing already done; shards merged equal the
//! unsharded run; a scan with a NaN is flagged and the series continues; and the real
//! 17-scan 11-BM CuCr2O4 temperature series when `../shared/data` is present.

use bragg_crystal::examples::ltno_al_lab_model;
use bragg_crystal::pattern::{simulate, TwoThetaRange};
use bragg_crystal::Cell;
use bragg_io::{write_xye, PowderData};
use rand::SeedableRng;
use rand_distr::{Distribution, Poisson};
use std::path::{Path, PathBuf};

const N: usize = 10;

fn truth_a(scan: usize) -> f64 {
    4.10 + 0.06 * (scan - 1) as f64 / (N - 1) as f64
}

fn model_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/models/ltno-al-cuka.toml")
}

/// Writes scan_1.xye … scan_N.xye (3,251 points, 15–80°) into `dir`; scan `nan` (if any) gets
/// a NaN intensity.
fn write_series(dir: &Path, nan: Option<usize>) {
    let grid = TwoThetaRange::new(15.0, 80.0, 0.02).unwrap().points();
    for scan in 1..=N {
        let mut m = ltno_al_lab_model().unwrap();
        m.phases[0].phase.cell = Cell::cubic(truth_a(scan)).unwrap();
        let y = simulate(&m, &grid).unwrap().total;
        let mut rng = rand_pcg::Pcg64::seed_from_u64(1000 + scan as u64);
        let mut y: Vec<f64> =
            y.iter().map(|&v| Poisson::new(v).unwrap().sample(&mut rng)).collect();
        if nan == Some(scan) {
            y[200] = f64::NAN;
        }
        let data = PowderData {
            two_theta_deg: grid.clone(),
            intensity: y.clone(),
            esd: Some(y.iter().map(|v| v.max(1.0).sqrt()).collect()),
            source: PathBuf::new(),
        };
        write_xye(&dir.join(format!("scan_{scan}.xye")), &data, "simulated").unwrap();
    }
}

fn run(args: &[&str]) -> anyhow::Result<String> {
    let mut all = vec!["bragg"];
    all.extend_from_slice(args);
    let cli = <bragg::Cli as clap::Parser>::try_parse_from(all)?;
    let mut out = Vec::new();
    bragg::run(cli, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

fn sequential(scans: &[String], outdir: &Path, extra: &[&str]) -> anyhow::Result<String> {
    let model = model_path();
    let mut args: Vec<&str> = vec!["sequential"];
    args.extend(scans.iter().map(String::as_str));
    args.extend([
        "--model",
        model.to_str().unwrap(),
        "--radiation",
        "CuKa",
        "--fixed-phase",
        "Al",
        "--no-progress",
        "-o",
        outdir.to_str().unwrap(),
    ]);
    args.extend_from_slice(extra);
    run(&args)
}

/// The CSV as (header, rows of fields).
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    // File names hold no comma here: a plain split is exact.
    let rows = lines.map(|l| l.split(',').map(String::from).collect()).collect();
    (header, rows)
}

fn col(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"))
}

fn log_rows(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("sequential.log.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"event\":\"row\""))
        .count()
}

#[test]
fn series_in_natural_order_with_truth_within_3_esd() {
    let tmp = tempfile::tempdir().unwrap();
    write_series(tmp.path(), None);
    let out = tmp.path().join("out");
    let report = sequential(&[tmp.path().to_str().unwrap().to_string()], &out, &[]).unwrap();
    assert!(report.contains("10 fitted, 0 skipped"), "{report}");
    let (h, rows) = read_csv(&out.join("sequential.csv"));
    assert_eq!(&h[..7], ["scan", "file", "time_s", "x_li", "voltage_v", "segment", "cycle"]);
    let (a, e, f) = (col(&h, "LTNO.cell.a"), col(&h, "LTNO.cell.a_esd"), col(&h, "flags"));
    assert!(h.iter().any(|c| c == "LTNO.volume_esd") && h.last().unwrap() == "flags");
    assert_eq!(rows.len(), N);
    for (i, r) in rows.iter().enumerate() {
        // Natural order: scan_2 before scan_10.
        assert!(r[1].ends_with(&format!("scan_{}.xye", i + 1)), "{}", r[1]);
        let (v, s): (f64, f64) = (r[a].parse().unwrap(), r[e].parse().unwrap());
        assert!((v - truth_a(i + 1)).abs() < 3.0 * s, "scan {}: {v} ± {s}", i + 1);
        assert!(r[f].is_empty() || i == 0, "scan {} flagged {}", i + 1, r[f]);
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sequential.json")).unwrap())
            .unwrap();
    assert_eq!(json["table"]["rows"].as_array().unwrap().len(), N);
    // A second run into the same folder without --resume is refused.
    let err = sequential(&[tmp.path().to_str().unwrap().to_string()], &out, &[]).unwrap_err();
    assert!(err.to_string().contains("--resume"), "{err}");
}

#[test]
fn resume_refits_nothing_already_done() {
    let tmp = tempfile::tempdir().unwrap();
    write_series(tmp.path(), None);
    let files: Vec<String> =
        (1..=N).map(|s| tmp.path().join(format!("scan_{s}.xye")).display().to_string()).collect();
    let out = tmp.path().join("out");
    // The interrupted run: the first 4 scans, then a crash in the middle of a log line.
    sequential(&files[..4], &out, &[]).unwrap();
    let (_, first) = read_csv(&out.join("sequential.csv"));
    let log = out.join("sequential.log.jsonl");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("{\"event\":\"row\",\"row\":{\"scan\":5,\"fi");
    std::fs::write(&log, text).unwrap();
    let report = sequential(&files, &out, &["--resume"]).unwrap();
    assert!(report.contains("6 fitted, 4 skipped"), "{report}");
    assert_eq!(log_rows(&out), N, "every scan logged once");
    let (h, all) = read_csv(&out.join("sequential.csv"));
    assert_eq!(all.len(), N);
    assert_eq!(&all[..4], &first[..], "finished rows are kept as they were");
    let (a, e) = (col(&h, "LTNO.cell.a"), col(&h, "LTNO.cell.a_esd"));
    for (i, r) in all.iter().enumerate() {
        let (v, s): (f64, f64) = (r[a].parse().unwrap(), r[e].parse().unwrap());
        assert!((v - truth_a(i + 1)).abs() < 3.0 * s, "scan {}: {v} ± {s}", i + 1);
    }
    // Resuming a finished run fits nothing.
    let report = sequential(&files, &out, &["--resume"]).unwrap();
    assert!(report.contains("0 fitted, 10 skipped"), "{report}");
}

#[test]
fn shards_merge_to_the_unsharded_table_and_a_nan_scan_is_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    write_series(tmp.path(), Some(6));
    let dir = tmp.path().to_str().unwrap().to_string();
    let whole = tmp.path().join("whole");
    let report =
        sequential(std::slice::from_ref(&dir), &whole, &["--mode", "independent", "--jobs", "2"])
            .unwrap();
    assert!(report.contains("flagged scan 6"), "{report}");
    let (h, rows) = read_csv(&whole.join("sequential.csv"));
    assert_eq!(rows.len(), N, "the series continues after the bad scan");
    assert_eq!(rows[5][col(&h, "flags")], "unreadable");
    assert!(rows[5][col(&h, "LTNO.cell.a")].is_empty());
    assert!(rows[6][col(&h, "flags")].is_empty());
    let s1 = tmp.path().join("s1");
    let s2 = tmp.path().join("s2");
    sequential(std::slice::from_ref(&dir), &s1, &["--mode", "independent", "--shard", "1/2"])
        .unwrap();
    sequential(&[dir], &s2, &["--mode", "independent", "--shard", "2/2"]).unwrap();
    assert_eq!(log_rows(&s1), 5);
    let merged = tmp.path().join("merged");
    let report =
        run(&["merge", s1.to_str().unwrap(), s2.to_str().unwrap(), "-o", merged.to_str().unwrap()])
            .unwrap();
    assert!(report.contains("10 of 10 scans"), "{report}");
    assert_eq!(
        std::fs::read_to_string(merged.join("sequential.csv")).unwrap(),
        std::fs::read_to_string(whole.join("sequential.csv")).unwrap()
    );
}

/// The GSAS-II sequential tutorial's CuCr2O4 series (APS 11-BM, 17 scans, 6.8–289 K): fitted
/// with CuO as a second phase in chained and independent modes. Fddd at low temperature
/// (b ≠ c) becoming tetragonal (b = c; I4₁/amd in its F-centred setting) near 120 K
/// (Suchomel et al., Phys. Rev. B 86, 054406 (2012)): a and the volume grow monotonically with
/// temperature over the whole range, b and c merge above the transition. One Fddd model
/// holds throughout (the tetragonal cell is its b = c special case).
#[test]
fn cucr2o4_temperature_series_in_both_modes() {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/seq-cucr2o4-11bm");
    if !d.exists() {
        eprintln!("note: {} absent, real-data series test skipped", d.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // The scales of these phases are ~1e-6: the bound map of the default scale bound [0, ∞)
    // stalls them (reported to the lead); explicit symmetric bounds keep the map linear.
    let model = tmp.path().join("bounds.toml");
    std::fs::write(
        &model,
        "[instrument]\n[refine.bounds]\n\"CuCr2O4.scale\" = [-1.0, 1.0]\n\"CuO.scale\" = [-1.0, 1.0]\n",
    )
    .unwrap();
    let mut tables = Vec::new();
    for mode in ["chained", "independent"] {
        let out = tmp.path().join(mode);
        let cucr = format!("CuCr2O4={}", d.join("CuCr2O4.cif").display());
        let cuo = format!("CuO={}", d.join("CuO.cif").display());
        let report = run(&[
            "sequential",
            d.to_str().unwrap(),
            "--phase",
            &cucr,
            "--phase",
            &cuo,
            "--wavelength",
            "0.413263",
            "--prm",
            d.join("OH_00.prm").to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--profile-terms",
            "X",
            "--mode",
            mode,
            "--jobs",
            "2",
            "--no-progress",
            "-o",
            out.to_str().unwrap(),
        ])
        .unwrap();
        eprintln!("{report}");
        let (h, rows) = read_csv(&out.join("sequential.csv"));
        assert_eq!(rows.len(), 17);
        let get = |r: &Vec<String>, c: &str| -> f64 { r[col(&h, c)].parse().unwrap() };
        let t: Vec<f64> = rows.iter().map(|r| get(r, "temperature_k")).collect();
        assert!(t.windows(2).all(|w| w[1] > w[0]), "temperature rises: {t:?}");
        // Trends over the good rows (flagged rows are reported, not trusted).
        let flags = col(&h, "flags");
        let good_rows: Vec<&Vec<String>> =
            rows.iter().filter(|r| r[flags].is_empty() || r[flags] == "not_converged").collect();
        let a: Vec<f64> = good_rows.iter().map(|r| get(r, "CuCr2O4.cell.a")).collect();
        let v: Vec<f64> = good_rows.iter().map(|r| get(r, "CuCr2O4.volume")).collect();
        assert!(a.windows(2).all(|w| w[1] > w[0]), "{mode}: a(T) monotonic: {a:?}");
        assert!(v.windows(2).all(|w| w[1] > w[0]), "{mode}: V(T) monotonic: {v:?}");
        for r in &good_rows {
            let (b, c) = (get(r, "CuCr2O4.cell.b"), get(r, "CuCr2O4.cell.c"));
            let s = get(r, "CuCr2O4.cell.b_esd").hypot(get(r, "CuCr2O4.cell.c_esd"));
            let temp = get(r, "temperature_k");
            if temp < 50.0 {
                assert!(b - c > 10.0 * s, "{mode}: orthorhombic at {temp} K: b {b}, c {c}");
            }
            if temp > 125.0 {
                assert!((b - c).abs() < 3.0 * s, "{mode}: tetragonal at {temp} K: b {b}, c {c}");
            }
        }
        // Most scans are good (a scan may be flagged for Rwp: the flags are in the table).
        let good = rows.iter().filter(|r| r[col(&h, "flags")].is_empty()).count();
        assert!(good >= 14, "{mode}: only {good} good scans");
        tables.push(
            rows.iter()
                .map(|r| (r[flags].is_empty(), get(r, "CuCr2O4.cell.a")))
                .collect::<Vec<_>>(),
        );
    }
    // Both modes agree on the scans good in both (to well below the esds, ~3e-5 Å).
    for (x, y) in tables[0].iter().zip(&tables[1]).filter(|(x, y)| x.0 && y.0) {
        assert!((x.1 - y.1).abs() < 1e-5, "{x:?} vs {y:?}");
    }
}

/// The cycler log and scan-time table of the echem test: a constant-current charge at
/// +I from 0 to 5000 s then a discharge at −I to 10000 s (records every 100 s, the step at
/// 5000 s written twice); scan 1 is exposed before the log starts, scan k ≥ 2 from
/// 1000(k − 2) + 200 s for 300 s.
const I_MA: f64 = 0.5;
const MASS_MG: f64 = 5.0;
const MOLAR: f64 = 90.0;
const X0: f64 = 1.0;

fn window(scan: usize) -> (f64, f64) {
    if scan == 1 {
        (-400.0, -100.0)
    } else {
        let s = 1000.0 * (scan - 2) as f64 + 200.0;
        (s, s + 300.0)
    }
}

/// Faraday's law by hand (Δx = Q·M/(F·m), F = 96485.33212 C/mol, CODATA 2018): x at time t
/// of the log above; x is linear in t within a segment, so its mean over a window inside one
/// segment is its value at the mid time.
fn x_faraday(t: f64) -> f64 {
    let q = if t <= 5000.0 { I_MA * 1e-3 * t } else { I_MA * 1e-3 * (10000.0 - t) };
    X0 - q * MOLAR / (96_485.332_12 * MASS_MG * 1e-3)
}

#[test]
fn cycler_log_gives_faraday_x_segments_and_hysteresis() {
    let tmp = tempfile::tempdir().unwrap();
    let scans = tmp.path().join("scans");
    std::fs::create_dir(&scans).unwrap();
    write_series(&scans, None);
    let log = tmp.path().join("cycler.csv");
    let mut text = String::from("time_s,voltage_v,current_ma\n");
    for k in 0..=50 {
        let t = 100.0 * k as f64;
        text.push_str(&format!("{t},{},{I_MA}\n", 3.5 + 1e-4 * t));
    }
    for k in 50..=100 {
        let t = 100.0 * k as f64;
        text.push_str(&format!("{t},{},{}\n", 4.0 - 1e-4 * (t - 5000.0), -I_MA));
    }
    std::fs::write(&log, text).unwrap();
    let times = tmp.path().join("times.csv");
    let mut text = String::from("scan,start_s,end_s\n");
    for s in 1..=N {
        let (a, b) = window(s);
        text.push_str(&format!("{s},{a},{b}\n"));
    }
    std::fs::write(&times, &text).unwrap();
    let dir = scans.to_str().unwrap().to_string();
    let (log_s, times_s) = (log.to_str().unwrap(), times.to_str().unwrap());
    let mass = MASS_MG.to_string();
    let molar = MOLAR.to_string();
    let x0 = X0.to_string();
    let cell = ["--active-mass", &mass, "--molar-mass", &molar, "--x0", &x0];
    let mut extra = vec!["--echem", log_s, "--scan-times", times_s];
    extra.extend(cell);

    // Clear errors before any fit.
    let out_err = tmp.path().join("err");
    let e =
        sequential(std::slice::from_ref(&dir), &out_err, &["--echem", log_s, "--active-mass", "5"])
            .unwrap_err();
    assert!(e.to_string().contains("--formula or --molar-mass"), "{e:#}");
    let e = sequential(
        std::slice::from_ref(&dir),
        &out_err,
        &["--echem", log_s, "--active-mass", "0", "--molar-mass", "90"],
    )
    .unwrap_err();
    assert!(e.to_string().contains("must be positive"), "{e:#}");
    let missing = tmp.path().join("missing.csv");
    let e =
        sequential(std::slice::from_ref(&dir), &out_err, &["--echem", missing.to_str().unwrap()])
            .unwrap_err();
    assert!(format!("{e:#}").contains("cannot read the cycler log"), "{e:#}");
    let short = tmp.path().join("short.csv");
    std::fs::write(&short, text.lines().take(N).collect::<Vec<_>>().join("\n")).unwrap();
    let e = sequential(
        std::slice::from_ref(&dir),
        &out_err,
        &["--echem", log_s, "--scan-times", short.to_str().unwrap()],
    )
    .unwrap_err();
    assert!(e.to_string().contains("is not in the scan-time table"), "{e:#}");

    let out = tmp.path().join("out");
    let report = sequential(std::slice::from_ref(&dir), &out, &extra).unwrap();
    eprintln!("{report}");
    assert!(report.contains("9 scans aligned"), "{report}");
    assert!(report.contains("note: scan 1 "), "the scan before the log is noted: {report}");
    let (h, rows) = read_csv(&out.join("sequential.csv"));
    let c = |n: &str| col(&h, n);
    for (i, r) in rows.iter().enumerate() {
        let scan = i + 1;
        let (a, b) = window(scan);
        let mid = 0.5 * (a + b);
        assert!((r[c("time_s")].parse::<f64>().unwrap() - mid).abs() < 1e-9, "{r:?}");
        if scan == 1 {
            for k in ["x_li", "voltage_v", "segment", "cycle"] {
                assert!(r[c(k)].is_empty(), "scan 1 before the log: {k} = {}", r[c(k)]);
            }
            continue;
        }
        let x: f64 = r[c("x_li")].parse().unwrap();
        assert!((x - x_faraday(mid)).abs() < 1e-3, "scan {scan}: x {x} vs {}", x_faraday(mid));
        let expect = if mid < 5000.0 { "charge" } else { "discharge" };
        assert_eq!(r[c("segment")], expect, "scan {scan}");
        assert_eq!(r[c("cycle")], "1", "scan {scan}");
        let v: f64 = r[c("voltage_v")].parse().unwrap();
        let v_true = if mid < 5000.0 { 3.5 + 1e-4 * mid } else { 4.0 - 1e-4 * (mid - 5000.0) };
        assert!((v - v_true).abs() < 1e-9, "scan {scan}: V {v} vs {v_true}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sequential.json")).unwrap())
            .unwrap();
    assert_eq!(json["table"]["rows"][1]["echem"]["segment"], "charge");
    for f in ["hysteresis.csv", "hysteresis.json"] {
        assert!(out.join(f).exists(), "{f} written: {report}");
    }
    let hyst: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("hysteresis.json")).unwrap())
            .unwrap();
    assert_eq!(hyst["x_li"]["cycles"].as_array().unwrap().len(), 1, "{hyst}");
}
