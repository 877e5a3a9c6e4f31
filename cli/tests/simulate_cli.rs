#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions
//! End-to-end tests of `bragg simulate`, in process through `bragg::run_from_args`.

use bragg::commands::simulate::DEFAULT_MODEL;
use bragg_crystal::examples::ltno_synchrotron_model;
use bragg_crystal::pattern::{simulate, TwoThetaRange};
use std::path::{Path, PathBuf};

fn run(args: &[&str]) -> anyhow::Result<String> {
    let mut argv = vec!["bragg", "simulate"];
    argv.extend_from_slice(args);
    let cli = <bragg::Cli as clap::Parser>::try_parse_from(&argv)?;
    let mut out = Vec::new();
    bragg::run(cli, &mut out)?;
    Ok(String::from_utf8(out)?)
}

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn default_run_writes_pattern_and_reflection_table() {
    let dir = tempfile::tempdir().unwrap();
    let xye = dir.path().join("ltno.xye");
    let csv = dir.path().join("ltno.csv");
    let report =
        run(&["-o", xye.to_str().unwrap(), "--reflections", csv.to_str().unwrap()]).unwrap();
    assert!(report.contains("phase LTNO"), "{report}");
    assert!(report.contains("38001 points"), "{report}");
    let text = std::fs::read_to_string(&xye).unwrap();
    let data: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(data.len(), 38_001);
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(csv_text.lines().next().unwrap(), "phase,h,k,l,d,two_theta,multiplicity,F2");
    // 15 reflections of LTNO between 2° and 40° at 0.458 Å (111 … 442/600).
    assert_eq!(csv_text.lines().count(), 1 + 15);
}

#[test]
fn embedded_toml_model_is_the_programmatic_reference_model() {
    let file = bragg_io::model::parse_model(DEFAULT_MODEL, Path::new("ltno-11bm.toml")).unwrap();
    let loaded = file.build(Path::new("ltno-11bm.toml"), DEFAULT_MODEL).unwrap();
    let grid = TwoThetaRange::new(2.0, 40.0, 0.005).unwrap().points();
    let a = simulate(&loaded.model, &grid).unwrap().total;
    let b = simulate(&ltno_synchrotron_model().unwrap(), &grid).unwrap().total;
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0));
    }
}

#[test]
fn cif_phases_and_lab_radiation() {
    let dir = tempfile::tempdir().unwrap();
    let cif = fixture("fixtures/cif/LTNO_pymatgen.cif");
    if !cif.exists() {
        eprintln!("note: {} missing", cif.display());
        return;
    }
    let out = dir.path().join("lab.xye");
    let spec = format!("LTNO={}", cif.display());
    let report = run(&[
        "--phase",
        &spec,
        "--radiation",
        "CuKa",
        "--range",
        "15:80:0.02",
        "-o",
        out.to_str().unwrap(),
    ])
    .unwrap();
    assert!(report.contains("3251 points"), "{report}");
    assert!(report.contains("1.540593"), "{report}");
    assert!(report.contains("1.544427"), "{report}");
}

#[test]
fn models_in_fixtures_simulate() {
    for m in ["fixtures/models/ltno-al-cuka.toml", "fixtures/models/lco-r3m-cuka.toml"] {
        let report = run(&["--model", fixture(m).to_str().unwrap()]).unwrap();
        assert!(report.contains("pattern: maximum"), "{m}: {report}");
    }
}

/// Runs a failing case and checks the message and that no output file was left.
fn fails(args: &[&str], out: &Path, needle: &str) {
    let err = run(args).expect_err("must fail");
    let msg = format!("{err:#}");
    assert!(msg.contains(needle), "expected '{needle}' in: {msg}");
    assert!(!out.exists(), "{} was written despite the error", out.display());
}

#[test]
fn bad_input_is_reported_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never.xye");
    let o = out.to_str().unwrap();
    let base = DEFAULT_MODEL.to_string();
    let cases = [
        ("unknown_element.toml", base.replace("species = [\"O\"]", "species = [\"Xq\"]"), "Xq"),
        ("unknown_group.toml", base.replace("Fm-3m", "Fm-3q"), "Fm-3q"),
        ("occupancy.toml", base.replace("0.585, 0.29, 0.125", "0.7, 0.29, 0.125"), "M1"),
        ("edge.toml", base.replace("a = 4.14", "a = -4.14"), "edge"),
        ("wavelength.toml", base.replace("wavelength = 0.458", "wavelength = 0.0"), "wavelength"),
        (
            "typo.toml",
            base.replace("biso = 0.5\n\n[[phase.site]]", "bisso = 0.5\n\n[[phase.site]]"),
            "bisso",
        ),
    ];
    for (name, text, needle) in cases {
        let model = write(dir.path(), name, &text);
        fails(&["--model", model.to_str().unwrap(), "-o", o], &out, needle);
        // The error names the file.
        let msg = format!("{:#}", run(&["--model", model.to_str().unwrap()]).unwrap_err());
        assert!(msg.contains(name), "{msg}");
    }
    fails(&["--range", "40:2:0.01", "-o", o], &out, "STOP");
    fails(&["--range", "2:40:0", "-o", o], &out, "STEP");
    fails(&["--range", "2:40", "-o", o], &out, "START:STOP:STEP");
    fails(&["--wavelength", "-1", "-o", o], &out, "wavelength");
    fails(&["--radiation", "ZnKa", "-o", o], &out, "ZnKa");
    let broken = write(dir.path(), "broken.cif", "data_x\n_cell_length_a 4.1\n_cell_length_b 4.1\n_cell_length_c 4.1\nloop_\n_atom_site_label\n_atom_site_fract_x\nNi1 0.0 0.5\n");
    fails(&["--phase", broken.to_str().unwrap(), "-o", o], &out, "broken.cif:");
    fails(
        &["--phase", dir.path().join("absent.cif").to_str().unwrap(), "-o", o],
        &out,
        "absent.cif",
    );
}

#[test]
fn binary_exits_non_zero_with_the_error_chain() {
    let exe = env!("CARGO_BIN_EXE_bragg");
    let out = std::process::Command::new(exe)
        .args(["simulate", "--range", "40:2:0.01"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error:") && err.contains("STOP"), "{err}");
    let ok = std::process::Command::new(exe)
        .args(["simulate", "--range", "10:12:0.01"])
        .output()
        .unwrap();
    assert!(ok.status.success());
    let help = std::process::Command::new(exe).arg("--help").output().unwrap();
    assert!(help.status.success());
}
