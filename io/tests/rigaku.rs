#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! Rigaku .ras and .rasx on the samples of fixtures/data (written by
//! fixtures/gen/make_io_samples.py from the format description), and bad input.

use bragg_io::rigaku::{parse_ras_scans, parse_rasx_scans, read_ras, read_ras_scans, read_rasx};
use bragg_io::{read_powder, Error, PowderFormat};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data").join(name)
}

// The sample scan: raw counts and attenuation factors as written by the generator.
const RAW: [f64; 11] = [100., 120., 150., 400., 1600., 300., 1500., 420., 160., 118., 101.];
const ATT: [f64; 11] = [1., 1., 1., 1., 1., 10., 1., 1., 1., 1., 1.];

fn check_sample(s: &bragg_io::PowderScan) {
    assert_eq!(s.data.len(), 11);
    for i in 0..11 {
        assert!((s.data.two_theta_deg[i] - (20.0 + 0.02 * i as f64)).abs() < 1e-12);
        // intensity = counts·a, σ = √counts·a (Poisson statistics of the counts measured).
        assert_eq!(s.data.intensity[i], RAW[i] * ATT[i]);
        assert!((s.data.esd.as_ref().unwrap()[i] - RAW[i].sqrt() * ATT[i]).abs() < 1e-12);
    }
    let w = &s.meta.wavelengths;
    assert_eq!((w[0].angstrom, w[1].angstrom), (1.540593, 1.544414));
    assert_eq!(s.meta.comment.as_deref(), Some("NiO test"));
}

#[test]
fn ras_sample_two_scans() {
    let p = fixture("sample.ras");
    let s = read_ras(&p).unwrap();
    assert_eq!(s.meta.format, PowderFormat::RigakuRas);
    check_sample(&s);
    assert_eq!(s.meta.timestamp.as_deref(), Some("01/02/24 10:28:43"));
    assert!(s.meta.notes.iter().any(|n| n.contains("2 scans")));
    let all = read_ras_scans(&p).unwrap();
    assert_eq!(all.len(), 2);
    // Second scan in cps: t = 60 s/min · 0.02° / (2°/min) = 0.6 s, σ = √(I t)/t.
    let b = &all[1];
    assert_eq!(b.data.intensity, vec![250., 500., 750., 1000., 1250.]);
    let t: f64 = 0.6;
    assert!((b.data.esd.as_ref().unwrap()[0] - (250.0 * t).sqrt() / t).abs() < 1e-9);
    assert_eq!(read_powder(&p).unwrap().meta.format, PowderFormat::RigakuRas);
}

#[test]
fn rasx_sample_matches_ras() {
    let p = fixture("sample.rasx");
    let s = read_rasx(&p).unwrap();
    assert_eq!(s.meta.format, PowderFormat::RigakuRasx);
    check_sample(&s);
    assert_eq!(s.meta.timestamp.as_deref(), Some("2024-01-02T10:28:43"));
    // By content, even with a lying extension.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("scan.xy");
    std::fs::copy(&p, &copy).unwrap();
    assert_eq!(
        read_powder(&copy).unwrap().data,
        bragg_io::PowderData { source: copy.clone(), ..s.data }
    );
}

#[test]
fn ras_bad_input_names_the_line() {
    let good = std::fs::read_to_string(fixture("sample.ras")).unwrap();
    let p = Path::new("bad.ras");
    // Data count disagrees with *MEAS_DATA_COUNT (line 14).
    let t = good.replace("*MEAS_DATA_COUNT \"11\"", "*MEAS_DATA_COUNT \"12\"");
    let e = parse_ras_scans(&t, p).unwrap_err();
    assert!(matches!(e, Error::Data { line: 14, .. }), "{e}");
    // A non-number on data line 20.
    let t = good.replace("20.0800 1600.0000", "20.0800 16x0.0000");
    let e = parse_ras_scans(&t, p).unwrap_err();
    assert!(matches!(e, Error::Parse { line: 21, .. }), "{e}");
    // Non-monotonic 2θ.
    let t = good.replace("20.0800 1600.0000", "20.0400 1600.0000");
    assert!(parse_ras_scans(&t, p).unwrap_err().to_string().contains("does not increase"));
    // A rocking curve is refused.
    let t = good.replace("\"TwoThetaTheta\"", "\"Omega\"");
    assert!(parse_ras_scans(&t, p).unwrap_err().to_string().contains("not a 2θ axis"));
    // Truncated: data section never closed.
    let cut = &good[..good.find("20.1000").unwrap()];
    let e = parse_ras_scans(cut, p).unwrap_err();
    assert!(matches!(e, Error::Missing { line: 16, .. }), "{e}");
    // Empty file.
    assert!(matches!(parse_ras_scans("", p).unwrap_err(), Error::Missing { .. }));
}

#[test]
fn rasx_bad_input() {
    let bytes = std::fs::read(fixture("sample.rasx")).unwrap();
    let p = Path::new("bad.rasx");
    // Truncated archive: a binary error, never a panic.
    for cut in [10, bytes.len() / 2, bytes.len() - 5] {
        let e = parse_rasx_scans(&bytes[..cut], p).unwrap_err();
        assert!(matches!(e, Error::ParseBinary { .. }), "{e}");
    }
    // Corrupt every byte in turn: errors only.
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x5a;
        let _ = parse_rasx_scans(&b, p);
    }
}
