#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! `bragg convert`: a real XRDML to xye with every value preserved, the vendor samples to
//! each output format and back, and bad input (truncated zip, malformed XML, unknown
//! extension, Q data without λ) failing with a non-zero exit and nothing written.

use bragg_io::{read_powder, read_xye, PowderFormat};
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(args: &[&str]) -> anyhow::Result<String> {
    let mut argv = vec!["bragg", "convert"];
    argv.extend_from_slice(args);
    let cli = <bragg::Cli as clap::Parser>::try_parse_from(&argv)?;
    let mut out = Vec::new();
    bragg::run(cli, &mut out)?;
    Ok(String::from_utf8(out)?)
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data").join(name)
}

fn shared(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("note: {} is absent; skipping", p.display());
        None
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn real_xrdml_to_xye_preserves_values() {
    let Some(src) = shared("nio-xrdml/NiO_0p6007-Bi2O3_0p4008--8min.xrdml") else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nio.xye");
    let report = run(&[s(&src), s(&out)]).unwrap();
    assert!(report.contains("Xrdml, 8282 points"), "{report}");
    assert!(report.contains("1.540598 Å / 1.544426 Å"), "{report}");
    let a = bragg_io::xrdml::read_xrdml(&src).unwrap().data;
    let b = read_xye(&out).unwrap();
    // Shortest round-trip decimals: every value bit-identical.
    assert_eq!(a.two_theta_deg, b.two_theta_deg);
    assert_eq!(a.intensity, b.intensity);
    assert_eq!(a.esd, b.esd);
    let header = std::fs::read_to_string(&out).unwrap();
    assert!(header.lines().next().unwrap().contains("wavelength 1.540598 Å / 1.544426 Å"));
}

#[test]
fn samples_to_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let reference = read_powder(&fixture("sample.brml")).unwrap().data;
    for (input, extra) in [
        ("sample.brml", vec![]),
        ("sample.ras", vec![]),
        ("sample.rasx", vec![]),
        ("sample_raw4.raw", vec![]),
        ("sample_q_pyfai.dat", vec![]),
    ] {
        for ext in ["xye", "xy", "csv", "cif", "fxye"] {
            let out = dir.path().join(format!("{input}.{ext}"));
            let mut args = vec![s(&fixture(input)).to_string(), s(&out).to_string()];
            args.extend(extra.iter().map(|x: &&str| x.to_string()));
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&argv).unwrap_or_else(|e| panic!("{input} → {ext}: {e:#}"));
            let back = read_powder(&out).unwrap();
            let d = &back.data;
            assert_eq!(d.len(), 11, "{input} → {ext}");
            for i in 0..11 {
                assert!(
                    (d.two_theta_deg[i] - reference.two_theta_deg[i]).abs() < 1e-9,
                    "{input} → {ext}"
                );
                let tol = if input.ends_with(".dat") { 1e-3 } else { 1e-9 };
                assert!(
                    (d.intensity[i] - reference.intensity[i]).abs() <= tol * reference.intensity[i],
                    "{input} → {ext}"
                );
            }
            if ext != "xy" {
                let e = d.esd.as_ref().unwrap();
                // The RAW v4 sample stores the corrected intensity 3000 without its attenuation
                // factor, so its σ is √3000; the others keep √300·10.
                let r = if input.ends_with(".raw") { 3000f64.sqrt() } else { 300f64.sqrt() * 10.0 };
                assert!((e[5] - r).abs() < 1e-3 * r, "{input} → {ext}");
            }
            let expected = match ext {
                "cif" => PowderFormat::PdCif,
                "fxye" => PowderFormat::Gsas,
                _ => PowderFormat::Xye,
            };
            assert_eq!(back.meta.format, expected, "{input} → {ext}");
        }
    }
    // CSV is what pandas reads: a header and comma-separated numbers.
    let csv = std::fs::read_to_string(dir.path().join("sample.ras.csv")).unwrap();
    assert_eq!(csv.lines().next().unwrap(), "two_theta_deg,intensity,esd");
    assert_eq!(csv.lines().nth(6).unwrap(), format!("20.1,3000,{}", 300f64.sqrt() * 10.0));
    // pdCIF keeps the wavelengths.
    let cif = read_powder(&dir.path().join("sample.brml.cif")).unwrap();
    assert_eq!(cif.meta.wavelengths[0].angstrom, 1.540593);
}

#[test]
fn q_data_need_the_wavelength() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.xy");
    let e = run(&[s(&fixture("sample_q.chi")), s(&out)]).unwrap_err();
    assert!(format!("{e:#}").contains("wavelength"), "{e:#}");
    assert!(!out.exists());
    run(&[s(&fixture("sample_q.chi")), s(&out), "--wavelength", "1.540593"]).unwrap();
    let d = read_powder(&out).unwrap().data;
    assert!((d.two_theta_deg[10] - 20.2).abs() < 1e-9);
}

#[test]
fn bad_input_fails_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let brml = std::fs::read(fixture("sample.brml")).unwrap();
    let truncated = dir.path().join("cut.brml");
    std::fs::write(&truncated, &brml[..brml.len() / 2]).unwrap();
    let malformed = dir.path().join("bad.xrdml");
    std::fs::write(&malformed, "<?xml version=\"1.0\"?>\n<xrdMeasurements>\n<xrdMeasurement>\n")
        .unwrap();
    let good = fixture("sample.ras");
    let cases: [(&Path, &str, &str); 4] = [
        (&truncated, "out.xye", "zip"),
        (&malformed, "out.xye", "bad.xrdml:1: malformed XML"),
        (&good, "out.foo", "unknown output extension"),
        (&fixture("sample_2theta.chi"), "out.fxye", "needs an esd"),
    ];
    for (input, name, expect) in cases {
        let out = dir.path().join(name);
        let e = run(&[s(input), s(&out)]).unwrap_err();
        assert!(format!("{e:#}").contains(expect), "{e:#}");
        assert!(!out.exists(), "{name} was written");
    }
    // The binary exits non-zero and names the file on stderr.
    let out = dir.path().join("bin.xye");
    let o = Command::new(env!("CARGO_BIN_EXE_bragg"))
        .args(["convert", s(&truncated), s(&out)])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cut.brml"), "{err}");
    assert!(!out.exists());
    // No stray temporary files either.
    let left: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 2, "{left:?}");
}
