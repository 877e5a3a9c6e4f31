#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! End-to-end tests of `bragg hysteresis` and `bragg relax` on a simulated in situ experiment
//! (a charge, a rest, a discharge with the lattice inversion, and a rest with a KWW
//! relaxation; its cycler log as a generic CSV), and of the in situ map figure.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn run(args: &[&str]) -> anyhow::Result<String> {
    let mut argv = vec!["bragg"];
    argv.extend_from_slice(args);
    let cli = <bragg::Cli as clap::Parser>::try_parse_from(&argv)?;
    let mut out = Vec::new();
    bragg::run(cli, &mut out)?;
    Ok(String::from_utf8(out)?)
}

const I_MA: f64 = 0.1;
const MASS_MG: f64 = 5.0;
const X0: f64 = 1.17;
// Segments: charge 10 h, rest 2 h, discharge 10 h, rest 8 h.
const CH_END: f64 = 36_000.0;
const R1_END: f64 = 43_200.0;
const DIS_END: f64 = 79_200.0;
const END: f64 = 108_000.0;

fn current(t: f64) -> f64 {
    if t < CH_END {
        I_MA
    } else if t < R1_END {
        0.0
    } else if t < DIS_END {
        -I_MA
    } else {
        0.0
    }
}

fn molar() -> f64 {
    bragg_refine::analysis::molar_mass_of_formula("Li1.17Ti0.58Ni0.25O2").unwrap()
}

/// x(t) for the protocol (Faraday's law).
fn x_of(t: f64) -> f64 {
    let k = molar() / (96_485.332_12 * MASS_MG * 1e-3) * I_MA * 1e-3;
    let ch = t.min(CH_END);
    let dis = (t.min(DIS_END) - R1_END).max(0.0);
    X0 - k * ch + k * dis
}

/// The seed's Fig. 3d in shape: linear on charge, fast then flat on discharge.
fn a_charge(x: f64, x_min: f64) -> f64 {
    4.111 + 0.029 * (x - x_min) / (X0 - x_min)
}
fn a_discharge(x: f64, x_min: f64) -> f64 {
    4.111 + 0.029 * ((x - x_min) / (X0 - x_min)).max(0.0).sqrt()
}
fn kww(t: f64) -> f64 {
    // In the last rest: from 4.140 toward 4.150 with τ = 1 h, β = 0.5.
    4.150 - 0.010 * (-(t / 3600.0).powf(0.5)).exp()
}

/// Writes log.csv and sequential.csv (scans of 10 min every 10 min, times at the middle).
fn experiment(dir: &Path, with_segments: bool) -> (PathBuf, PathBuf) {
    let mut log = String::from("time_s,voltage_v,current_ma\n");
    let mut t = 0.0;
    while t <= END {
        // Step changes logged at their instant with both currents.
        for edge in [CH_END, R1_END, DIS_END] {
            if (t - edge).abs() < 1e-9 {
                let _ = writeln!(log, "{},{},{}", t - 1e-3, 4.0, current(t - 1.0));
            }
        }
        let v = 3.0 + 1.8 * (X0 - x_of(t)) / 0.9;
        let _ = writeln!(log, "{t},{v},{}", current(t));
        t += 60.0;
    }
    let log_path = dir.join("log.csv");
    std::fs::write(&log_path, log).unwrap();

    let x_min = x_of(CH_END);
    let mut rng = 12345u64;
    let mut noise = move || {
        // A small deterministic generator (xorshift) for ±1e-4 Å noise with zero mean.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        ((rng % 20_001) as f64 / 10_000.0 - 1.0) * 1.7e-4
    };
    let mut csv = String::from(
        "scan,file,time_s,x_li,voltage_v,segment,cycle,epoch_s,temperature_k,LTNO.cell.a,LTNO.cell.a_esd,LTNO.volume,LTNO.volume_esd,rwp,gof,flags\n",
    );
    let mut k = 0;
    let mut tm = 300.0;
    while tm < END {
        k += 1;
        let x = x_of(tm);
        let (a, seg) = if tm < CH_END {
            (a_charge(x, x_min), "charge")
        } else if tm < R1_END {
            (4.111, "rest")
        } else if tm < DIS_END {
            (a_discharge(x, x_min), "discharge")
        } else {
            (kww(tm - DIS_END), "rest")
        };
        let a = a + noise();
        let seg = if with_segments { seg } else { "" };
        let flags = if k == 7 { "rwp_jump" } else { "" };
        let _ = writeln!(
            csv,
            "{k},scan_{k:04}.xye,{tm},,,{seg},,,,{a},1e-4,{},0.05,0.08,1.1,{flags}",
            a * a * a
        );
        tm += 600.0;
    }
    let seq = dir.join("sequential.csv");
    std::fs::write(&seq, csv).unwrap();
    (seq, log_path)
}

#[test]
fn hysteresis_from_the_log_matches_the_simulated_inversion() {
    let dir = tempfile::tempdir().unwrap();
    let (seq, log) = experiment(dir.path(), false);
    let out = dir.path().join("out");
    let report = run(&[
        "hysteresis",
        seq.to_str().unwrap(),
        "--echem",
        log.to_str().unwrap(),
        "--active-mass",
        "5",
        "--formula",
        "Li1.17Ti0.58Ni0.25O2",
        "--exposure",
        "600",
        "-o",
        out.to_str().unwrap(),
    ])
    .unwrap();
    assert!(report.contains("hysteresis of LTNO.cell.a"), "{report}");
    assert!(report.contains("against x(Li), cycle 1"), "{report}");
    for f in [
        "hysteresis.csv",
        "hysteresis.json",
        "hysteresis_x.png",
        "hysteresis_x.svg",
        "hysteresis_voltage.png",
        "hysteresis_voltage.svg",
        "lattice_time.png",
        "lattice_time.svg",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("hysteresis.json")).unwrap())
            .unwrap();
    let c = &j["x_li"]["cycles"][0];
    // Δa = 0.029(√u − u): maximum 0.029/4 at u = 1/4; area 0.029·(x_max − x_min)/6.
    let x_min = x_of(CH_END);
    let dmax = c["delta_max"].as_f64().unwrap();
    let dmax_esd = c["delta_max_esd"].as_f64().unwrap();
    assert!((dmax - 0.00725).abs() < 4.0 * dmax_esd + 2e-4, "{dmax} ± {dmax_esd}");
    let at = c["delta_max_at"].as_f64().unwrap();
    assert!((at - (x_min + 0.25 * (X0 - x_min))).abs() < 0.08, "{at}");
    let area = c["area"].as_f64().unwrap();
    let area_true = 0.029 * (X0 - x_min) / 6.0;
    let area_esd = c["area_esd"].as_f64().unwrap();
    assert!((area - area_true).abs() < 4.0 * area_esd + 1e-4, "{area} ± {area_esd} vs {area_true}");
    // The flagged scan (7) is left out; the rest of the series is counted.
    let n = j["n_scans"].as_u64().unwrap();
    assert_eq!(n, (END / 600.0) as u64 - 1);
    // Voltage: increasing on charge, so the loop integral has the opposite sign of the area.
    let v = &j["voltage_v"]["cycles"][0];
    assert_eq!(v["loop_area"].as_f64().unwrap(), -v["area"].as_f64().unwrap());
    let grid = std::fs::read_to_string(out.join("hysteresis.csv")).unwrap();
    assert!(grid.starts_with("axis,cycle,abscissa,a_charge"));
    assert_eq!(grid.lines().filter(|l| l.starts_with("x_li,1,")).count(), 101);
}

#[test]
fn relax_fits_the_last_rest_and_prefers_kww() {
    let dir = tempfile::tempdir().unwrap();
    let (seq, log) = experiment(dir.path(), true);
    let text = run(&[
        "relax",
        seq.to_str().unwrap(),
        "--param",
        "LTNO.cell.a",
        "--echem",
        log.to_str().unwrap(),
        "--json",
    ])
    .unwrap();
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(j["model"], "kww", "{text}");
    // t counted from the rest's start in the log (DIS_END).
    assert!((j["t0_s"].as_f64().unwrap() - DIS_END).abs() < 1.0, "{}", j["t0_s"]);
    let (tau, tau_e) = (j["tau_s"].as_f64().unwrap(), j["tau_s_esd"].as_f64().unwrap());
    assert!((tau - 3600.0).abs() < 3.0 * tau_e, "τ = {tau} ± {tau_e}");
    let (beta, beta_e) = (j["beta"].as_f64().unwrap(), j["beta_esd"].as_f64().unwrap());
    assert!((beta - 0.5).abs() < 3.0 * beta_e, "β = {beta} ± {beta_e}");
    for key in ["a_inf", "a_inf_esd", "delta", "delta_esd", "aic", "aicc"] {
        assert!(j[key].is_number(), "{key}: {text}");
    }
    for f in
        ["relax.json", "relax_fit.csv", "relax_fit.png", "relax_residuals.svg", "relax_voltage.png"]
    {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    // The text report and an explicit model and window.
    let report = run(&[
        "relax",
        seq.to_str().unwrap(),
        "--window",
        &format!("{}:{}", DIS_END, END),
        "--model",
        "exp",
    ])
    .unwrap();
    assert!(report.contains("chosen exp"), "{report}");
}

#[test]
fn relax_and_hysteresis_bad_input_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (seq, _) = experiment(dir.path(), false);
    let s = seq.to_str().unwrap();
    let e = run(&["relax", s, "--window", "1e9:2e9"]).unwrap_err().to_string();
    assert!(e.contains("holds no scan"), "{e}");
    let e = run(&["relax", s, "--window", "300:1500", "--model", "kww"]).unwrap_err().to_string();
    assert!(e.contains("3 points") && e.contains("at least 5"), "{e}");
    let e = run(&["relax", s]).unwrap_err().to_string();
    assert!(e.contains("--window") && e.contains("--echem"), "{e}");
    let e = run(&["hysteresis", s]).unwrap_err().to_string();
    assert!(e.contains("--echem"), "{e}");
    let e = run(&["relax", s, "--param", "LTNO.cell.b"]).unwrap_err().to_string();
    assert!(e.contains("no column 'LTNO.cell.b'") && e.contains("LTNO.cell.a"), "{e}");
    // Zero esd in the window.
    let text = std::fs::read_to_string(&seq).unwrap().replace(",1e-4,", ",0,");
    std::fs::write(&seq, text).unwrap();
    let e = run(&["relax", s, "--window", "80000:108000"]).unwrap_err().to_string();
    assert!(e.contains("esd 0"), "{e}");
    // Time going backwards.
    let (seq2, _) = experiment(dir.path(), true);
    let mut lines: Vec<String> =
        std::fs::read_to_string(&seq2).unwrap().lines().map(String::from).collect();
    lines.swap(20, 21);
    std::fs::write(&seq2, lines.join("\n")).unwrap();
    let e = run(&["relax", seq2.to_str().unwrap()]).unwrap_err().to_string();
    assert!(e.contains("not strictly increasing"), "{e}");
}

#[test]
fn relax_arrhenius_table() {
    let dir = tempfile::tempdir().unwrap();
    // Ea = 0.65 eV, τ0 = 1e-6 s; exact τ with 5 % esds.
    let mut t = String::from("temperature_c,tau_s,tau_s_esd\n");
    for c in [25.0_f64, 55.0, 85.0, 120.0, 140.0] {
        let tau = 1e-6 * (0.65 / (8.617_333_262e-5 * (c + 273.15))).exp();
        let _ = writeln!(t, "{c},{tau},{}", 0.05 * tau);
    }
    let p = dir.path().join("taus.csv");
    std::fs::write(&p, t).unwrap();
    let text = run(&["relax", "--arrhenius", p.to_str().unwrap(), "--json"]).unwrap();
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ea = j["arrhenius"]["ea_ev"].as_f64().unwrap();
    assert!((ea - 0.65).abs() < 1e-9, "{ea}");
    assert!((j["arrhenius"]["ea_kj_mol"].as_f64().unwrap() - 0.65 * 96.485_332_12).abs() < 1e-6);
    assert!(dir.path().join("arrhenius.json").is_file());
}

#[test]
fn insitu_map_writes_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    // 40 scans of a (200) peak moving with a(t), 2θ 40–48° (Cu Kα, a ≈ 4.11–4.14 Å).
    let x: Vec<f64> = (0..801).map(|i| 40.0 + 0.01 * f64::from(i)).collect();
    let times: Vec<f64> = (0..40).map(|k| 300.0 + 1800.0 * f64::from(k)).collect();
    let ys: Vec<Vec<f64>> = times
        .iter()
        .map(|t| {
            let a = 4.14 - 0.03 * (t / 72_000.0).min(1.0);
            let tt = 2.0 * (1.5406 / a).asin().to_degrees();
            x.iter().map(|v| 50.0 + 1000.0 * (-((v - tt) / 0.08).powi(2)).exp()).collect()
        })
        .collect();
    let scans: Vec<(&[f64], &[f64])> = ys.iter().map(|y| (x.as_slice(), y.as_slice())).collect();
    let vt: Vec<f64> = (0..200).map(|k| 360.0 * f64::from(k)).collect();
    let vv: Vec<f64> = vt.iter().map(|t| 3.0 + 1.8 * (t / 72_000.0).min(1.0)).collect();
    let (png, svg) = (dir.path().join("map.png"), dir.path().join("map.svg"));
    bragg::plot::insitu_map(&scans, &times, Some((42.0, 46.0)), &vt, &vv, &png, &svg).unwrap();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let reader = decoder.read_info().unwrap();
    assert_eq!((reader.info().width, reader.info().height), bragg::plot::PNG_SIZE);
    let s = std::fs::read_to_string(&svg).unwrap();
    assert!(s.contains("Voltage (V)") && s.contains("<image"), "svg lacks the panel or the map");
    // Mismatched voltage arrays: an error, no file.
    let bad = dir.path().join("bad.png");
    assert!(bragg::plot::insitu_map(&scans, &times, None, &vt, &vv[..10], &bad, &svg).is_err());
    assert!(!bad.exists());
}
