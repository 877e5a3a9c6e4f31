#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! End-to-end tests of `bragg density`, run in-process through `bragg::run` (and once as a
//! process for the exit code): the seed paper's numbers in the JSON, the closed-form fit of a
//! density measurement, a CIF input, a table with figures, and bad input that names the
//! argument.

use bragg::Cli;
use bragg_crystal::examples::ltno_rock_salt;
use bragg_io::cif::{CellSu, PhaseSu, SiteSu};
use bragg_io::write_cif;
use clap::Parser;
use serde_json::Value;
use std::path::{Path, PathBuf};

const LMR: &str = "Li1.18Ni0.21Mn0.53Co0.08O2";

/// A typical LMR-NMC cell (the seed paper's text gives none): R-3m, a = 2.85, c = 14.24 Å.
fn lmr_volume() -> f64 {
    3f64.sqrt() / 2.0 * 2.85 * 2.85 * 14.24
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/density")
}

fn run(args: &[&str]) -> anyhow::Result<String> {
    let mut full = vec!["bragg", "density"];
    full.extend_from_slice(args);
    let cli = Cli::try_parse_from(&full).map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let mut out = Vec::new();
    bragg::run(cli, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

fn run_json(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    serde_json::from_str(&run(&a).unwrap()).unwrap()
}

fn err(args: &[&str]) -> String {
    format!("{:#}", run(args).unwrap_err())
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn seed_paper_numbers_in_json() {
    // Seed paper: after 500 cycles (O1.87) Li:TM 1.44 (vacancy) vs 1.12 (densified), the
    // same TM oxidation state, densities about 10 % apart.
    let vol = format!("{}", lmr_volume());
    let j = run_json(&["--pristine", LMR, "--delta", "0.13", "--volume", &vol, "--z", "3"]);
    let (vac, den) = (&j["vacancy"], &j["densified"]);
    for m in [vac, den] {
        for key in ["formula", "li_tm", "tm_oxidation", "density", "density_esd", "capacity"] {
            assert!(!m[key].is_null(), "missing {key}");
        }
    }
    assert_eq!(vac["formula"], "Li1.18Ni0.21Mn0.53Co0.08O1.87");
    assert_eq!(format!("{:.2}", f(&vac["li_tm"])), "1.44");
    assert_eq!(format!("{:.2}", f(&den["li_tm"])), "1.12");
    assert_eq!(vac["tm_oxidation"], den["tm_oxidation"]);
    let rel = f(&den["density"]) / f(&vac["density"]) - 1.0;
    assert!((0.09..0.10).contains(&rel), "{rel}");
    assert_eq!(f(&vac["density_esd"]), 0.0);
    assert!(j["best_f"].is_null());
    assert_eq!(j["verdict"], "no measurements given: no verdict");
}

#[test]
fn density_measurement_gives_the_closed_form_fraction() {
    let vol = format!("{}", lmr_volume());
    let base = ["--pristine", LMR, "--tm-oxidation", "3.1219512195121952", "--volume", &vol];
    let mut a = base.to_vec();
    a.extend(["--z", "3"]);
    let j = run_json(&a);
    let (rv, rd) = (f(&j["vacancy"]["density"]), f(&j["densified"]["density"]));
    assert!((f(&j["delta"]) - 0.13).abs() < 1e-12);
    let rho = rv + 0.1 * (rd - rv);
    let meas = format!("{rho}±0.03");
    a.extend(["--measured-density", &meas]);
    let j = run_json(&a);
    // f̂ = (ρ − ρ_v)/(ρ_d − ρ_v), σ_f = σ_ρ/(ρ_d − ρ_v) (density is linear in f).
    assert!((f(&j["best_f"]) - 0.1).abs() < 1e-9);
    assert!((f(&j["best_f_esd"]) - 0.03 / (rd - rv)).abs() < 1e-9);
    let upper = 0.1 + 1.6448536269514722 * 0.03 / (rd - rv);
    let pct = (100.0 * upper).ceil() as u32;
    assert_eq!(j["verdict"], format!("vacancy model preferred, densification ≤ {pct} %"));
    // The text report names the verdict and the z-scores.
    let text = run(&a).unwrap();
    assert!(text.contains("verdict: vacancy model preferred"), "{text}");
    assert!(text.contains("density") && text.contains("χ²"), "{text}");
}

#[test]
fn rock_salt_from_cif_with_su() {
    // LTNO written with su on a: V = a³, σ_V = 3a²σ_a; Z = 4 anion sites / 2 = 2; the refined
    // density equals Phase::density.
    let dir = tempfile::tempdir().unwrap();
    let phase = ltno_rock_salt(4.14, 0.5).unwrap();
    let su = PhaseSu {
        cell: CellSu { a: Some(0.0002), ..Default::default() },
        sites: vec![SiteSu::default(), SiteSu::default()],
    };
    let cif = dir.path().join("ltno.cif");
    write_cif(&cif, &phase, Some(&su)).unwrap();
    let j = run_json(&[
        "--pristine",
        "Li1.17Ti0.58Ni0.25O2",
        "--delta",
        "0.05",
        "--cif",
        cif.to_str().unwrap(),
    ]);
    assert!((f(&j["z"]) - 2.0).abs() < 1e-12);
    assert!((f(&j["volume"]) - 4.14f64.powi(3)).abs() < 1e-9);
    let s = &j["samples"][0];
    assert!((f(&s["volume_esd"]) - 3.0 * 4.14 * 4.14 * 0.0002).abs() < 1e-12);
    let refined = &s["refined_phase"];
    assert!((f(&refined["density"]) - phase.density().unwrap()).abs() < 1e-12);
    // δ = 0.05: v = (2·1.95 − 1.17)/0.83 for both models.
    let v = (2.0 * 1.95 - 1.17) / 0.83;
    assert!((f(&j["vacancy"]["tm_oxidation"]) - v).abs() < 1e-12);
    assert!((f(&j["densified"]["li_tm"]) - (v - 2.0)).abs() < 1e-12);
}

#[test]
fn table_writes_json_csv_and_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let table = fixtures().join("lmr_cycles.csv");
    let text = run(&[
        "--pristine",
        LMR,
        "--table",
        table.to_str().unwrap(),
        "--z",
        "3",
        "--initial-capacity",
        "250±5",
        "-o",
        out.to_str().unwrap(),
    ])
    .unwrap();
    assert!(text.contains("cycle 500"), "{text}");
    for name in ["density.json", "density.csv"] {
        assert!(out.join(name).metadata().unwrap().len() > 100, "{name}");
    }
    for stem in ["density", "li_tm", "capacity"] {
        let png = std::fs::read(out.join(format!("{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let svg = std::fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap();
        assert!(svg.contains("<svg") && svg.contains("densified model"), "{stem}");
    }
    let j: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("density.json")).unwrap()).unwrap();
    assert_eq!(j["samples"].as_array().unwrap().len(), 4);
    // Top level = the last cycle (500, δ = 0.13).
    assert!((f(&j["delta"]) - 0.13).abs() < 1e-12);
    assert_eq!(j["comparison"]["residuals"].as_array().unwrap().len(), 11);
    assert!(f(&j["best_f"]) < 0.3);
    assert!(j["verdict"].as_str().unwrap().starts_with("vacancy model preferred"));
    let csv = std::fs::read_to_string(out.join("density.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5);
    let ncols = lines[0].split(',').count();
    assert!(lines.iter().all(|l| l.split(',').count() == ncols));
    assert!(lines[0].starts_with("cycle,delta"));
}

#[test]
fn table_with_cif_rows() {
    let table = fixtures().join("ltno_cif.csv");
    let j = run_json(&["--pristine", "Li1.17Ti0.58Ni0.25O2", "--table", table.to_str().unwrap()]);
    let s = j["samples"].as_array().unwrap();
    assert_eq!(s.len(), 2);
    assert!((f(&s[0]["z"]) - 2.0).abs() < 1e-12);
    assert!((f(&s[1]["volume"]) - 4.1403f64.powi(3)).abs() < 1e-9);
    // δ = 0: both models coincide with the pristine density.
    assert!((f(&s[0]["vacancy"]["density"]) - f(&s[0]["densified"]["density"])).abs() < 1e-12);
    assert!(!j["best_f"].is_null());
}

#[test]
fn bad_input_names_the_argument() {
    let vol = "100.17";
    let common = ["--volume", vol, "--z", "3"];
    let with = |extra: &[&str]| {
        let mut a = extra.to_vec();
        a.extend(common);
        err(&a)
    };
    let e = with(&["--pristine", LMR, "--delta", "-0.1"]);
    assert!(e.contains("--delta") && e.contains("≥ 0"), "{e}");
    let e = with(&["--pristine", LMR, "--tm-oxidation", "3.6"]);
    assert!(e.contains("--tm-oxidation") && e.contains("impossible"), "{e}");
    let e = with(&["--pristine", LMR, "--tm-oxidation", "1.5"]);
    assert!(e.contains("impossible"), "{e}");
    let e = with(&["--pristine", "LiXx0.8O2", "--delta", "0.1"]);
    assert!(e.contains("--pristine") && e.contains("Xx"), "{e}");
    let e = with(&["--pristine", "Li1.2Pm0.8O2", "--delta", "0.1"]);
    assert!(e.contains("Pm") && e.contains("atomic weight"), "{e}");
    let e = with(&["--pristine", LMR, "--delta", "0.1", "--measured-density", "4.2"]);
    assert!(e.contains("--measured-density") && e.contains("uncertainty"), "{e}");
    let e = with(&["--pristine", LMR, "--delta", "0.1", "--measured-li-tm", "1.4±x"]);
    assert!(e.contains("--measured-li-tm") && e.contains("not a number"), "{e}");
    let e = with(&["--pristine", LMR, "--delta", "0.1", "--measured-capacity", "240±5"]);
    assert!(e.contains("--initial-capacity"), "{e}");
    let e = err(&["--pristine", LMR, "--delta", "0.1", "--volume", vol]);
    assert!(e.contains("--z"), "{e}");
    let e = err(&["--pristine", LMR, "--volume", vol, "--z", "3"]);
    assert!(e.contains("--delta") && e.contains("--tm-oxidation"), "{e}");
    let e = err(&["--pristine", LMR, "--delta", "0.1", "--tm-oxidation", "3.1"]);
    assert!(e.contains("--tm-oxidation") || e.contains("--delta"), "{e}");
}

#[test]
fn bad_table_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.csv");
    std::fs::write(&t, "cycle,volume,delta,density\n500,100.4,0.13,4.22\n").unwrap();
    let e = err(&["--pristine", LMR, "--table", t.to_str().unwrap(), "--z", "3"]);
    assert!(e.contains("t.csv:2") && e.contains("density_esd"), "{e}");
    std::fs::write(&t, "cycle,volume,delta,densty\n").unwrap();
    let e = err(&["--pristine", LMR, "--table", t.to_str().unwrap(), "--z", "3"]);
    assert!(e.contains("unknown column 'densty'"), "{e}");
}

#[test]
fn the_binary_exits_non_zero_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_bragg"))
        .args(["density", "--pristine", LMR, "--delta=-0.2", "--volume", "100", "--z", "3"])
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!status.status.success());
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(stderr.contains("--delta"), "{stderr}");
    assert!(!out.exists());
}
