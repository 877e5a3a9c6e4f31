//! End-to-end tests of `bragg refine`, run in-process through `bragg::run`: outputs present
//! and complete, truth recovery on a simulated lab pattern, failures that name the problem and
//! leave no partial output, and one fit of real data (LiCoO₂, Bruker UXD) when `../shared` is
//! present.

// Test helpers use unwrap too (clippy's allow-unwrap-in-tests covers only #[test] fns).
#![allow(clippy::unwrap_used)]

use bragg::Cli;
use bragg_crystal::pattern::simulate;
use bragg_io::model::parse_model;
use bragg_io::{write_cif, write_xye, PowderData};
use clap::Parser;
use std::path::{Path, PathBuf};

/// The fixture start model: LiCoO₂, R-3m, COD 1533825 cell (a = 2.814, c = 14.048 Å), Cu Kα.
fn fixture_model() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/models/lco-r3m-cuka.toml");
    std::fs::read_to_string(path).unwrap()
}

/// The truth of the simulated pattern: the fixture with a = 2.8155, c = 14.052 Å, a sloping
/// background, and 3,001 points from 15° to 75° 2θ.
const TRUE_A: f64 = 2.8155;
const TRUE_C: f64 = 14.052;

fn truth_model() -> String {
    fixture_model()
        .replace(
            "cell = { a = 2.814, c = 14.048 }",
            &format!("cell = {{ a = {TRUE_A}, c = {TRUE_C} }}"),
        )
        .replace("stop = 120.0", "stop = 75.0")
        .replace("[range]", "[background]\nchebyshev = [300.0, -60.0, 20.0]\n\n[range]")
}

/// xorshift64* (Vigna 2016) with a fixed seed, and Box–Muller normal deviates.
struct Rng(u64);
impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Simulates the truth, adds Gaussian counting noise σ = √y (seeded) and writes `data.xye`
/// (2θ, y, σ) into `dir`; `zero_esd_tail` last points get esd 0.
fn write_data(dir: &Path, zero_esd_tail: usize) -> PathBuf {
    let text = truth_model();
    let path = dir.join("truth.toml");
    let file = parse_model(&text, &path).unwrap();
    let loaded = file.build(&path, &text).unwrap();
    let range = loaded.range.unwrap();
    let mut model = loaded.model;
    // Scale so that the strongest peak has ~20,000 counts.
    let first = simulate(&model, &range.points()).unwrap();
    let peak = first.phases[0].iter().cloned().fold(0.0, f64::max);
    model.phases[0].scale = 2.0e4 / peak;
    let sim = simulate(&model, &range.points()).unwrap();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let n = sim.total.len();
    let y: Vec<f64> = sim.total.iter().map(|v| (v + v.sqrt() * rng.normal()).round()).collect();
    let esd: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(i, v)| if i + zero_esd_tail >= n { 0.0 } else { v.max(1.0).sqrt() })
        .collect();
    let data = PowderData {
        two_theta_deg: sim.two_theta_deg.clone(),
        intensity: y,
        esd: Some(esd),
        source: dir.join("data.xye"),
    };
    let out = dir.join("data.xye");
    write_xye(&out, &data, "simulated LiCoO2, Cu Ka; 2theta in degrees").unwrap();
    out
}

/// The start model of the refinements (the fixture as is: cell 0.05 % off the truth, no
/// background), written into `dir`, with `extra` appended.
fn write_start_model(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("model.toml");
    std::fs::write(&path, format!("{}\n{extra}", fixture_model())).unwrap();
    path
}

/// Runs `bragg refine ARGS…`, returning the summary or the error chain as text.
fn refine(args: &[&str]) -> Result<String, String> {
    let mut argv = vec!["bragg", "refine"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    match bragg::run(cli, &mut out) {
        Ok(()) => Ok(String::from_utf8(out).unwrap()),
        Err(e) => Err(format!("{e:#}")),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Nothing of a result is in `dir` (it may be absent).
fn assert_no_outputs(dir: &Path) {
    for f in ["result.json", "fit.csv", "fit.png", "fit.svg", "LCO.cif"] {
        assert!(!dir.join(f).exists(), "{f} was written");
    }
    if dir.exists() {
        let left: Vec<_> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(left.is_empty(), "left in OUTDIR: {left:?}");
    }
}

#[test]
fn refines_simulated_pattern_writes_every_output_and_recovers_the_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let data = write_data(tmp.path(), 0);
    let model = write_start_model(tmp.path(), "");
    let outdir = tmp.path().join("out");
    // Wavelength from the model (CuKa), default strategy.
    let summary = refine(&[s(&data), "--model", s(&model), "-o", s(&outdir)]).unwrap();
    println!("{summary}");
    for f in ["result.json", "fit.csv", "LCO.cif", "fit.png", "fit.svg"] {
        let meta = std::fs::metadata(outdir.join(f)).unwrap();
        assert!(meta.len() > 100, "{f} is {} bytes", meta.len());
    }
    // No temporary files left behind.
    for e in std::fs::read_dir(&outdir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(!name.starts_with(".bragg-tmp"), "{name}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(outdir.join("result.json")).unwrap())
            .unwrap();
    for key in [
        "parameters",
        "rp",
        "rwp",
        "rexp",
        "chi2",
        "gof",
        "durbin_watson",
        "durbin_watson_q",
        "n_points",
        "n_excluded_zero_esd",
        "phases",
        "iterations",
        "termination",
        "stages",
        "correlations",
        "bound_hits",
        "singular",
    ] {
        assert!(json.get(key).is_some(), "result.json lacks {key}");
    }
    let phase = &json["phases"][0];
    for key in [
        "name",
        "r_bragg",
        "r_f",
        "volume",
        "volume_esd",
        "density",
        "density_esd",
        "weight_fraction",
        "weight_fraction_esd",
    ] {
        assert!(phase.get(key).is_some(), "phase lacks {key}");
    }
    assert_eq!(json["n_points"], 3001);
    assert_eq!(json["n_excluded_zero_esd"], 0);
    // Truth recovery: a and c within 3 esd of the simulated values (Gaussian noise of σ = √y
    // on the very model refined, so the estimate is unbiased with the covariance's esd).
    let param = |k: &str| {
        json["parameters"].as_array().unwrap().iter().find(|p| p["key"] == k).unwrap().clone()
    };
    for (key, truth) in [("LCO.cell.a", TRUE_A), ("LCO.cell.c", TRUE_C)] {
        let p = param(key);
        let (v, e) = (p["value"].as_f64().unwrap(), p["esd"].as_f64().unwrap());
        assert!(p["refined"].as_bool().unwrap());
        assert!(e > 0.0 && e < 1e-3, "{key} esd {e}");
        // Uncorrelated noise: the serial-correlation esd stays the plain one (within 10 %).
        let es = p["esd_serial"].as_f64().unwrap();
        assert!(es >= e && es < 1.1 * e, "{key} esd_serial {es} vs esd {e}");
        assert!((v - truth).abs() < 3.0 * e, "{key} = {v}({e}), truth {truth}");
    }
    // A fit of the true model to noise σ = √y: χ²ν ≈ 1 (within the spread of a few %).
    let gof = json["gof"].as_f64().unwrap();
    assert!(gof > 0.9 && gof < 1.2, "GoF {gof}");
    // Volume esd propagated from a and c: V = (√3/2) a² c.
    let (a, c) = (
        param("LCO.cell.a")["value"].as_f64().unwrap(),
        param("LCO.cell.c")["value"].as_f64().unwrap(),
    );
    let v = phase["volume"].as_f64().unwrap();
    assert!((v - 3f64.sqrt() / 2.0 * a * a * c).abs() < 1e-9 * v, "V = {v}");
    assert!(phase["volume_esd"].as_f64().unwrap() > 0.0);
    // fit.csv: header, one row per point, diff = obs − calc.
    let csv = std::fs::read_to_string(outdir.join("fit.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), "two_theta,obs,calc,background,diff,LCO");
    let rows: Vec<Vec<f64>> =
        lines.map(|l| l.split(',').map(|x| x.parse().unwrap()).collect()).collect();
    assert_eq!(rows.len(), 3001);
    for r in &rows {
        assert_eq!(r.len(), 6);
        assert!((r[4] - (r[1] - r[2])).abs() < 1e-9 * r[1].abs().max(1.0));
        assert!((r[2] - r[3] - r[5]).abs() < 1e-6 * r[2].abs().max(1.0), "calc = bkg + phase");
    }
    // The refined CIF carries su in parentheses and reads back.
    let cif = std::fs::read_to_string(outdir.join("LCO.cif")).unwrap();
    let line_a = cif.lines().find(|l| l.starts_with("_cell_length_a")).unwrap();
    assert!(line_a.contains('('), "{line_a}");
    let back = bragg_io::read_cif(&outdir.join("LCO.cif")).unwrap();
    assert!((back[0].phase.cell.a - a).abs() < 1e-3);
    // Summary: parameters with units and the R-factors.
    assert!(summary.contains("LCO.cell.a") && summary.contains(" Å"), "{summary}");
    assert!(summary.contains("Rwp = ") && summary.contains("GoF = "));
    // The true model fitted to uncorrelated noise: d ≈ 2, above Hill & Flack's Q.
    let (d, q) =
        (json["durbin_watson"].as_f64().unwrap(), json["durbin_watson_q"].as_f64().unwrap());
    assert!(d > q && (d - 2.0).abs() < 0.2, "d = {d}, Q = {q}");
    assert!(summary.contains("Durbin–Watson d = ") && summary.contains("no serial correlation"));
    assert!(summary.contains("wrote ") && summary.contains("result.json"));
}

/// Calibration against a standard from the model's `[refine]` table: the cell fixed at the
/// simulated ("certified") values, the wavelength refined with the scale, zero and background;
/// result.json and the summary carry `inst.wavelength`, recovered within 3 esd of Cu Kα1.
#[test]
fn wavelength_calibration_from_the_refine_table() {
    let tmp = tempfile::tempdir().unwrap();
    let data = write_data(tmp.path(), 0);
    let model = tmp.path().join("calibrate.toml");
    let refine_table = "[refine]\nparams = [\"LCO.scale\", \"inst.wavelength\", \"inst.zero\", \
                        \"bkg.0\", \"bkg.1\", \"bkg.2\"]\n";
    let text =
        truth_model().replace("chebyshev = [300.0, -60.0, 20.0]", "chebyshev = [300.0, 0.0, 0.0]");
    std::fs::write(&model, format!("{text}\n{refine_table}")).unwrap();
    let outdir = tmp.path().join("out");
    let summary = refine(&[s(&data), "--model", s(&model), "-o", s(&outdir)]).unwrap();
    assert!(summary.contains("inst.wavelength"), "{summary}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(outdir.join("result.json")).unwrap())
            .unwrap();
    let p = json["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == "inst.wavelength")
        .unwrap()
        .clone();
    let (v, e) = (p["value"].as_f64().unwrap(), p["esd"].as_f64().unwrap());
    assert!(p["refined"].as_bool().unwrap() && e > 0.0 && e < 1e-4, "esd {e}");
    assert!((v - 1.540_592_9).abs() < 3.0 * e, "λ = {v}({e})");
}

#[test]
fn cif_phase_range_exclusion_and_zero_esd_points() {
    let tmp = tempfile::tempdir().unwrap();
    let data = write_data(tmp.path(), 3);
    // The start structure as a CIF (from the fixture model).
    let text = fixture_model();
    let mpath = tmp.path().join("start.toml");
    let file = parse_model(&text, &mpath).unwrap();
    let phase = file.build(&mpath, &text).unwrap().model.phases[0].phase.clone();
    let cif = tmp.path().join("lco.cif");
    write_cif(&cif, &phase, None).unwrap();
    let outdir = tmp.path().join("out2");
    let phase_arg = format!("LCO={}", s(&cif));
    let summary = refine(&[
        s(&data),
        "--phase",
        &phase_arg,
        "--radiation",
        "CuKa",
        "--range",
        "16:74",
        "--exclude",
        "30:32",
        "-o",
        s(&outdir),
    ])
    .unwrap();
    println!("{summary}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(outdir.join("result.json")).unwrap())
            .unwrap();
    // 16–74° at 0.02° holds 2901 points, 30–32° 101 of them; the zero-esd tail lies past 74°.
    assert_eq!(json["n_points"], 2800, "{summary}");
    assert_eq!(json["range"], serde_json::json!([16.0, 74.0]));
    assert_eq!(json["excluded"], serde_json::json!([[30.0, 32.0]]));
    let rows = std::fs::read_to_string(outdir.join("fit.csv")).unwrap().lines().count() - 1;
    assert_eq!(rows, 2901, "fit.csv covers the window, excluded region included");
    let a =
        json["parameters"].as_array().unwrap().iter().find(|p| p["key"] == "LCO.cell.a").unwrap();
    let (v, e) = (a["value"].as_f64().unwrap(), a["esd"].as_f64().unwrap());
    assert!((v - TRUE_A).abs() < 3.0 * e, "a = {v}({e})");
    // Zero-esd points inside the window are counted, not fitted.
    let out3 = tmp.path().join("out3");
    refine(&[
        s(&data),
        "--phase",
        &phase_arg,
        "--radiation",
        "CuKa",
        "--range",
        "60:75",
        "-o",
        s(&out3),
    ])
    .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out3.join("result.json")).unwrap()).unwrap();
    assert_eq!(json["n_excluded_zero_esd"], 3);
    assert_eq!(json["n_points"], 751 - 3);
}

/// The failures below are all detected before fitting and must leave OUTDIR empty.
#[test]
fn bad_inputs_name_the_problem_and_leave_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let data = write_data(tmp.path(), 0);
    let outdir = tmp.path().join("never");
    let o = s(&outdir);

    // Missing data file.
    let missing = tmp.path().join("nope.xye");
    let err = refine(&[s(&missing), "--model", s(&write_start_model(tmp.path(), "")), "-o", o])
        .unwrap_err();
    assert!(err.contains("nope.xye"), "{err}");
    assert_no_outputs(&outdir);

    // NaN on line 5, negative esd on line 7.
    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let fields: Vec<String> = lines[4].split(' ').map(String::from).collect();
    lines[4] = format!("{} NaN {}", fields[0], fields[2]);
    let nan = tmp.path().join("nan.xye");
    std::fs::write(&nan, lines.join("\n")).unwrap();
    let model = write_start_model(tmp.path(), "");
    let err = refine(&[s(&nan), "--model", s(&model), "-o", o]).unwrap_err();
    assert!(err.contains("nan.xye:5:"), "{err}");
    assert_no_outputs(&outdir);
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let fields: Vec<String> = lines[6].split(' ').map(String::from).collect();
    lines[6] = format!("{} {} -3", fields[0], fields[1]);
    let neg = tmp.path().join("neg.xye");
    std::fs::write(&neg, lines.join("\n")).unwrap();
    let err = refine(&[s(&neg), "--model", s(&model), "-o", o]).unwrap_err();
    assert!(err.contains("neg.xye:7:") && err.contains("esd"), "{err}");
    assert_no_outputs(&outdir);

    // Unknown phase in a key of the model: named with the model's file and line.
    let m = write_start_model(tmp.path(), "[refine]\nparams = [\"LCO.scale\", \"NMC.cell.a\"]\n");
    let line =
        std::fs::read_to_string(&m).unwrap().lines().position(|l| l.contains("NMC")).unwrap() + 1;
    let err = refine(&[s(&data), "--model", s(&m), "-o", o]).unwrap_err();
    assert!(err.contains(&format!("model.toml:{line}:")) && err.contains("NMC"), "{err}");
    assert_no_outputs(&outdir);

    // Unknown parameter key (malformed) in the bounds.
    let m = write_start_model(tmp.path(), "[refine.bounds]\n\"LCO.cell.q\" = [2.0, 3.0]\n");
    let line =
        std::fs::read_to_string(&m).unwrap().lines().position(|l| l.contains("cell.q")).unwrap()
            + 1;
    let err = refine(&[s(&data), "--model", s(&m), "-o", o]).unwrap_err();
    assert!(err.contains(&format!("model.toml:{line}:")) && err.contains("LCO.cell.q"), "{err}");
    assert_no_outputs(&outdir);

    // Unknown site in a constraint.
    let m = write_start_model(
        tmp.path(),
        "[refine]\nconstraints = [{ kind = \"site_total\", phase = \"LCO\", site = \"M9\" }]\n",
    );
    let err = refine(&[s(&data), "--model", s(&m), "-o", o]).unwrap_err();
    assert!(err.contains("model.toml:") && err.contains("M9"), "{err}");
    assert_no_outputs(&outdir);

    // Range STOP ≤ START, on the command line and in the model.
    let err = refine(&[s(&data), "--model", s(&model), "--range", "70:20", "-o", o]).unwrap_err();
    assert!(err.contains("--range") && err.contains("STOP"), "{err}");
    let err = refine(&[s(&data), "--model", s(&model), "--exclude", "22:22", "-o", o]).unwrap_err();
    assert!(err.contains("--exclude") && err.contains("STOP"), "{err}");
    let m = write_start_model(tmp.path(), "[refine]\nrange = [70.0, 20.0]\n");
    let err = refine(&[s(&data), "--model", s(&m), "-o", o]).unwrap_err();
    assert!(err.contains("model.toml:") && err.contains("STOP"), "{err}");
    assert_no_outputs(&outdir);

    // Missing wavelength: xye has none, no model, no --wavelength / --radiation.
    let text = fixture_model();
    let file = parse_model(&text, &model).unwrap();
    let phase = file.build(&model, &text).unwrap().model.phases[0].phase.clone();
    let cif = tmp.path().join("lco.cif");
    write_cif(&cif, &phase, None).unwrap();
    let err = refine(&[s(&data), "--phase", s(&cif), "-o", o]).unwrap_err();
    assert!(err.contains("no wavelength") && err.contains("--wavelength"), "{err}");
    assert_no_outputs(&outdir);

    // A manual strategy without stages.
    let m = write_start_model(tmp.path(), "[refine]\nstrategy = \"manual\"\n");
    let err = refine(&[s(&data), "--model", s(&m), "-o", o]).unwrap_err();
    assert!(err.contains("manual"), "{err}");
    assert_no_outputs(&outdir);

    // An existing OUTDIR keeps its other files after a failure.
    std::fs::create_dir_all(&outdir).unwrap();
    std::fs::write(outdir.join("notes.txt"), "mine").unwrap();
    assert!(refine(&[s(&missing), "--model", s(&model), "-o", o]).is_err());
    assert_eq!(std::fs::read_to_string(outdir.join("notes.txt")).unwrap(), "mine");
    assert!(!outdir.join("result.json").exists());
}

/// Real data: LiCoO₂ on a Bruker lab diffractometer (Cu Kα1/Kα2 from the UXD header), the COD
/// 1533825 structure (its O z = 0.2268 is far from the true ≈ 0.26), a March–Dollase axis along
/// [001] and the newcomer's default strategy. Ozaki et al., npj Comput. Mater. 6, 75 (2020)
/// report Rwp 8.447 % (automated GSAS-II) and 8.958 % (expert); the issue asks for < 8.9 %. The
/// COD cell is a = 2.814, c = 14.048 Å.
/// `../shared/data/licoo2-bruker`, or None (with a note) when the shared data are absent.
fn licoo2_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/licoo2-bruker");
    if dir.join("LiCoO2.UXD").exists() {
        Some(dir)
    } else {
        println!("note: {} absent; LiCoO2 real-data test skipped", dir.display());
        None
    }
}

#[test]
fn licoo2_bruker_uxd() {
    let Some(dir) = licoo2_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cif = dir.join("LiCoO2-COD-1533825.cif");
    let model = format!(
        r#"[instrument]
preset = "lab"

[background]
chebyshev = [500.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]

[[phase]]
name = "LCO"
cif = "{cif}"
preferred_orientation = {{ axis_hkl = [0, 0, 1], r = 1.0 }}

"#,
        cif = cif.display()
    );
    let mpath = tmp.path().join("lco.toml");
    std::fs::write(&mpath, model).unwrap();
    let outdir = tmp.path().join("out");
    let summary =
        refine(&[s(&dir.join("LiCoO2.UXD")), "--model", s(&mpath), "-o", s(&outdir)]).unwrap();
    println!("{summary}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(outdir.join("result.json")).unwrap())
            .unwrap();
    let rwp = json["rwp"].as_f64().unwrap();
    println!(
        "LiCoO2.UXD: Rwp = {:.2} % (published 8.447 % automated, 8.958 % expert)",
        100.0 * rwp
    );
    let value = |k: &str| {
        json["parameters"].as_array().unwrap().iter().find(|p| p["key"] == k).unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    // COD cell within 0.1 % (different sample, lab calibration).
    assert!((value("LCO.cell.a") - 2.814).abs() < 0.003, "a = {}", value("LCO.cell.a"));
    assert!((value("LCO.cell.c") - 14.048).abs() < 0.015, "c = {}", value("LCO.cell.c"));
    // Wavelengths from the UXD header.
    assert_eq!(json["wavelengths"][0]["angstrom"], 1.5406);
    assert!(rwp < 0.089, "Rwp = {rwp}");
    // O moved from the CIF's 0.2268 to the layered-oxide value.
    assert!((value("LCO.O1.z") - 0.26).abs() < 0.005, "O z = {}", value("LCO.O1.z"));
}

/// The newcomer's path on real data: LiCoO₂ from its CIF alone (no texture), default
/// strategy. Its free U, V, W end with a negative Gaussian width² above 95°; the strategy
/// refits with V = 0 and U, W ≥ 0 (Rwp within 2 %), so the result is a physical profile with
/// no floored widths.
#[test]
fn negative_caglioti_widths_are_repaired_on_licoo2() {
    let Some(dir) = licoo2_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cif = format!("LCO={}", dir.join("LiCoO2-COD-1533825.cif").display());
    let data = dir.join("LiCoO2.UXD");
    let out = tmp.path().join("out");
    let summary = refine(&[s(&data), "--phase", &cif, "-o", s(&out)]).unwrap();
    assert!(summary.contains("profile repaired"), "{summary}");
    assert!(!summary.contains("negative width²"), "{summary}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    let value = |k: &str| {
        json["parameters"].as_array().unwrap().iter().find(|p| p["key"] == k).unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(value("inst.V"), 0.0);
    assert!(value("inst.U") >= 0.0 && value("inst.W") > 0.0);
    assert!(json["rwp"].as_f64().unwrap() < 0.11, "{}", json["rwp"]);
}
