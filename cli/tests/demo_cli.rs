#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! `bragg demo` end to end: the simulated in situ experiment (LTNO rock salt, Be window, Al
//! current collector, Cu Kα1/Kα2; charge, open-circuit rest with a KWW relaxation, discharge
//! with the structural hysteresis of the seed paper, B. Li et al., Nat. Mater. 21, 1165 (2022),
//! Fig. 3) run through the whole pipeline, checked against the truth it was simulated from:
//!
//! - every output exists and is non-empty; a failed run writes nothing;
//! - every scan's refined a within 3 esd of the true a (the exposure average);
//! - x(Li) of each scan within 1e-3 of Faraday's law applied to the simulated cell and to the
//!   simulated log (integrated here, independently of the library);
//! - τ and β of the simulated KWW relaxation (τ = 7200 s, β = 0.6) within their esds;
//! - Δa(x) = a_discharge − a_charge positive with its maximum where the simulated inversion
//!   puts it (the end of Ni oxidation on charge, x = 0.67), and the loop area within 3 esd of
//!   the true a's.

use bragg::commands::demo::data::SUB_EXPOSURES;
use bragg::commands::demo::scenario::Scenario;
use bragg_refine::analysis::hysteresis::HysteresisInput;
use bragg_refine::analysis::{hysteresis, CurrentState, HysteresisOptions};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// Every file the demo writes.
const FILES: [&str; 27] = [
    "sequential.csv",
    "sequential.json",
    "echem.csv",
    "scan_times.csv",
    "truth.csv",
    "hysteresis.csv",
    "hysteresis.json",
    "hysteresis_x.png",
    "hysteresis_x.svg",
    "hysteresis_voltage.png",
    "hysteresis_voltage.svg",
    "lattice_time.png",
    "lattice_time.svg",
    "relax.json",
    "relax_fit.csv",
    "relax_fit.png",
    "relax_fit.svg",
    "relax_residuals.png",
    "relax_residuals.svg",
    "relax_voltage.png",
    "relax_voltage.svg",
    "insitu_map.png",
    "insitu_map.svg",
    "rietveld_scan1.png",
    "rietveld_scan1.svg",
    "report.txt",
    "demo.json",
];

fn run_demo(dir: &Path, extra: &[&str]) -> String {
    let mut args: Vec<String> =
        vec!["bragg".into(), "demo".into(), "-o".into(), dir.display().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let cli = <bragg::Cli as clap::Parser>::try_parse_from(&args).unwrap();
    let mut out = Vec::new();
    bragg::run(cli, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// A CSV written by the demo (no quoted fields) as rows of column → text.
fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), header.len(), "{}: {l}", path.display());
            header.iter().cloned().zip(f.iter().map(|s| s.to_string())).collect()
        })
        .collect()
}

fn num(row: &HashMap<String, String>, key: &str) -> f64 {
    row[key].parse().unwrap_or_else(|_| panic!("{key} = '{}'", row[key]))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every output present and non-empty, nothing left in the parent but the output folder.
fn check_files(dir: &Path) {
    for f in FILES {
        let p = dir.join(f);
        let len = std::fs::metadata(&p).unwrap_or_else(|_| panic!("{f} missing")).len();
        assert!(len > 0, "{f} is empty");
    }
    let parent = dir.parent().unwrap();
    for e in std::fs::read_dir(parent).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".partial-"), "staging folder {name} left behind");
    }
}

/// Every scan's refined a within 3 esd of the true a; the true a recomputed here from the
/// scenario at the sub-exposure midpoints of each exposure in scan_times.csv (what the
/// simulated pattern holds). Returns the largest |Δ|/esd.
fn check_a(dir: &Path, s: &Scenario) -> f64 {
    let tl = s.timeline().unwrap();
    let rate = s.dx_per_s().unwrap();
    let rows = read_csv(&dir.join("sequential.csv"));
    let times = read_csv(&dir.join("scan_times.csv"));
    assert_eq!(rows.len(), times.len());
    let mut worst: f64 = 0.0;
    for (r, t) in rows.iter().zip(&times) {
        assert_eq!(r["scan"], t["scan"]);
        assert!(r["flags"].is_empty(), "scan {} flagged: {}", r["scan"], r["flags"]);
        let (t0, t1) = (num(t, "start_s"), num(t, "end_s"));
        let k = SUB_EXPOSURES as f64;
        let truth = (0..SUB_EXPOSURES)
            .map(|j| s.a_at(&tl, rate, t0 + (t1 - t0) * (j as f64 + 0.5) / k))
            .sum::<f64>()
            / k;
        let (a, esd) = (num(r, "LTNO.cell.a"), num(r, "LTNO.cell.a_esd"));
        assert!(esd > 0.0 && esd < 5e-4, "scan {}: esd {esd}", r["scan"]);
        let z = (a - truth) / esd;
        worst = worst.max(z.abs());
        assert!(z.abs() < 3.0, "scan {}: a = {a} ± {esd}, true {truth}", r["scan"]);
    }
    worst
}

/// x(Li) of each scan against (1) Faraday's law for the demo's cell, written out here
/// (10 mg of Li1.17Ti0.58Ni0.25O2, M from the IUPAC 2021 abridged atomic weights Li 6.94,
/// Ti 47.867, Ni 58.693, O 15.999; ±0.4 mA; F = 96485.33212 C/mol, CODATA 2018) and (2) the
/// trapezoid integral of the simulated log's current up to mid-exposure.
fn check_x(dir: &Path) -> f64 {
    let rows = read_csv(&dir.join("sequential.csv"));
    let times = read_csv(&dir.join("scan_times.csv"));
    let log = read_csv(&dir.join("echem.csv"));
    let m = 1.17 * 6.94 + 0.58 * 47.867 + 0.25 * 58.693 + 2.0 * 15.999;
    let k = m / (96_485.332_12 * 10e-3); // Δx per coulomb
    let rate = k * 0.4e-3; // Δx per second at 0.4 mA
    let t_charge = (1.17 - 0.37) / rate;
    let t_rest = t_charge + 8.0 * 3600.0;
    let faraday = |t: f64| {
        if t <= t_charge {
            1.17 - rate * t
        } else if t <= t_rest {
            0.37
        } else {
            0.37 + rate * (t - t_rest)
        }
    };
    let lt: Vec<f64> = log.iter().map(|r| num(r, "time_s")).collect();
    let li: Vec<f64> = log.iter().map(|r| num(r, "current_ma")).collect();
    let from_log = |t: f64| {
        let mut q = 0.0;
        for i in 1..lt.len() {
            if lt[i] <= t {
                q += 0.5 * (li[i] + li[i - 1]) * 1e-3 * (lt[i] - lt[i - 1]);
            } else {
                let f = (t - lt[i - 1]) / (lt[i] - lt[i - 1]);
                let i_t = li[i - 1] + f * (li[i] - li[i - 1]);
                q += 0.5 * (li[i - 1] + i_t) * 1e-3 * (t - lt[i - 1]);
                break;
            }
        }
        1.17 - k * q
    };
    let mut worst: f64 = 0.0;
    for (r, t) in rows.iter().zip(&times) {
        let mid = 0.5 * (num(t, "start_s") + num(t, "end_s"));
        assert!((num(r, "time_s") - mid).abs() < 1e-6);
        let x = num(r, "x_li");
        for (what, want) in [("Faraday", faraday(mid)), ("log", from_log(mid))] {
            let d = (x - want).abs();
            worst = worst.max(d);
            assert!(d < 1e-3, "scan {}: x = {x}, {what} {want}", r["scan"]);
        }
    }
    worst
}

/// The simulated Δa(x) = a_discharge(x) − a_charge(x) on a fine grid of the common range:
/// its maximum and where (the inversion's largest gap).
fn true_inversion(s: &Scenario) -> (f64, f64) {
    let a_start = s.a_rest(s.rest_s);
    let (lo, hi) = (s.x_charged, s.x_discharged.min(s.x0));
    (0..=10_000)
        .map(|i| {
            let x = lo + (hi - lo) * f64::from(i) / 1e4;
            (s.a_discharge(a_start, x) - s.a_charge(x), x)
        })
        .fold((f64::NEG_INFINITY, 0.0), |b, c| if c.0 > b.0 { c } else { b })
}

/// Δa(x) against the truth: positive maximum near the simulated one, and the same metrics
/// as those of the true a at the same scans within 3 esd.
fn check_hysteresis(dir: &Path, s: &Scenario, x_spacing: f64) -> serde_json::Value {
    let h = json(&dir.join("hysteresis.json"));
    let c = &h["x_li"]["cycles"][0];
    let (dmax, dmax_esd, at) = (
        c["delta_max"].as_f64().unwrap(),
        c["delta_max_esd"].as_f64().unwrap(),
        c["delta_max_at"].as_f64().unwrap(),
    );
    let (true_max, true_at) = true_inversion(s);
    assert!((true_at - s.x_ni_charge).abs() < 1e-3, "the simulated inversion peaks at {true_at}");
    assert!(dmax > 10.0 * dmax_esd, "Δa max {dmax} ± {dmax_esd} is not a clear inversion");
    assert!((at - true_at).abs() <= x_spacing, "Δa max at x = {at}, simulated {true_at}");
    // Linear interpolation between scans cuts the kink's peak by at most the chord error.
    assert!(dmax <= true_max + 3.0 * dmax_esd, "{dmax} vs simulated {true_max}");
    assert!(dmax > 0.8 * true_max, "{dmax} vs simulated {true_max}");
    // The same analysis of the true a at the same x, state and cycle.
    let rows = read_csv(&dir.join("sequential.csv"));
    let truth = read_csv(&dir.join("truth.csv"));
    let x: Vec<f64> = rows.iter().map(|r| num(r, "x_li")).collect();
    let a: Vec<f64> = truth.iter().map(|r| num(r, "a_true")).collect();
    let st: Vec<CurrentState> =
        rows.iter().map(|r| CurrentState::parse(&r["segment"]).unwrap()).collect();
    let cy: Vec<u32> = rows.iter().map(|r| r["cycle"].parse().unwrap()).collect();
    let zero = vec![0.0; x.len()];
    let t = hysteresis(
        &HysteresisInput { abscissa: &x, value: &a, esd: &zero, state: &st, cycle: &cy },
        &HysteresisOptions::default(),
    )
    .unwrap();
    let tc = &t.cycles[0];
    assert!((dmax - tc.delta_max.value).abs() < 3.0 * dmax_esd);
    let (area, area_esd) = (c["loop_area"].as_f64().unwrap(), c["loop_area_esd"].as_f64().unwrap());
    assert!(area > 0.0, "Δa > 0 on the whole loop: ∮a dx = {area}");
    assert!(
        (area - tc.loop_area.value).abs() < 3.0 * area_esd,
        "{area} ± {area_esd} vs {}",
        tc.loop_area.value
    );
    c.clone()
}

#[test]
fn small_demo_writes_everything_and_recovers_the_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let clock = Instant::now();
    let text = run_demo(&dir, &["--scans", "16"]);
    let seconds = clock.elapsed().as_secs_f64();
    eprintln!("{text}(16 scans in {seconds:.1} s)");
    assert!(text.contains("refined vs true LTNO.cell.a"));
    check_files(&dir);
    let z = check_a(&dir, &Scenario::default());
    let dx = check_x(&dir);
    // 16 scans: 5 on charge (Δx 0.16 apart).
    let h = check_hysteresis(&dir, &Scenario::default(), 0.17);
    eprintln!("worst |Δa|/esd {z:.2}, worst |Δx| {dx:.1e}, hysteresis {h}");
    let d = json(&dir.join("demo.json"));
    assert_eq!(d["n_scans"], 16);
    assert_eq!(d["n_points"], 3251);
    assert_eq!(d["n_flagged"], 0);

    // A second run into the same folder replaces the demo's files and keeps the user's.
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    run_demo(&dir, &["--scans", "16", "--seed", "7", "--write-scans"]);
    assert_eq!(json(&dir.join("demo.json"))["seed"], 7);
    // The scans as files, readable by the powder readers (2θ, counts, √counts).
    let scan = bragg_io::read_xye(&dir.join("scans").join("scan_016.xye")).unwrap();
    assert_eq!(scan.two_theta_deg.len(), 3251);
    assert!((scan.two_theta_deg[3250] - 80.0).abs() < 1e-9);
    assert_eq!(std::fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
    check_files(&dir);
}

#[test]
fn default_demo_recovers_the_relaxation_and_the_inversion() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bragg-demo");
    let clock = Instant::now();
    let text = run_demo(&dir, &[]);
    let seconds = clock.elapsed().as_secs_f64();
    eprintln!("{text}(default demo in {seconds:.1} s)");
    check_files(&dir);
    let s = Scenario::default();
    check_a(&dir, &s);
    check_x(&dir);
    // 19 scans on charge: 0.042 apart in x.
    check_hysteresis(&dir, &s, 0.05);
    let r = json(&dir.join("relax.json"));
    assert_eq!(r["model"], "kww", "AICc should prefer the simulated stretched exponential");
    let n = r["n_points"].as_u64().unwrap();
    assert!(n >= 20, "{n} scans in the rest");
    let (tau, tau_esd) = (r["tau_s"].as_f64().unwrap(), r["tau_s_esd"].as_f64().unwrap());
    let (beta, beta_esd) = (r["beta"].as_f64().unwrap(), r["beta_esd"].as_f64().unwrap());
    // Within one esd, as the issue asks (a 68 % test at this seed; across seeds 1–9 the
    // deviations scatter as z-scores of unit width).
    assert!(
        (tau - s.relax_tau_s).abs() < tau_esd,
        "τ = {tau} ± {tau_esd} s, true {}",
        s.relax_tau_s
    );
    assert!(
        (beta - s.relax_beta).abs() < beta_esd,
        "β = {beta} ± {beta_esd}, true {}",
        s.relax_beta
    );
    // The precision is useful: τ to a few %, β to a few hundredths.
    assert!(tau_esd < 0.05 * s.relax_tau_s && beta_esd < 0.05);
    let (delta, delta_esd) = (r["delta"].as_f64().unwrap(), r["delta_esd"].as_f64().unwrap());
    assert!((delta - s.relax_delta).abs() < 3.0 * delta_esd, "Δa = {delta} ± {delta_esd}");
}

#[test]
fn a_failed_demo_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    // Too few scans: refused before anything is written.
    let dir = tmp.path().join("few");
    let cli = <bragg::Cli as clap::Parser>::try_parse_from([
        "bragg",
        "demo",
        "-o",
        dir.to_str().unwrap(),
        "--scans",
        "5",
    ])
    .unwrap();
    let err = bragg::run(cli, &mut Vec::new()).unwrap_err().to_string();
    assert!(err.contains("at least 16"), "{err}");
    assert!(!dir.exists());
    // The output is a file: refused, the file untouched.
    let file = tmp.path().join("taken");
    std::fs::write(&file, "x").unwrap();
    let cli = <bragg::Cli as clap::Parser>::try_parse_from([
        "bragg",
        "demo",
        "-o",
        file.to_str().unwrap(),
        "--scans",
        "16",
    ])
    .unwrap();
    let err = bragg::run(cli, &mut Vec::new()).unwrap_err().to_string();
    assert!(err.contains("not a folder"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the file remains");
}
