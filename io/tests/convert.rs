#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! Cross-format checks through `read_powder`: the same scan written in six vendor formats
//! reads the same, and every sample survives truncation at any point and single-byte
//! corruption with an error (never a panic) that names the file.

use bragg_io::powder::parse_powder;
use bragg_io::{read_powder, PowderFormat};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data").join(name)
}

const SAMPLES: [(&str, PowderFormat); 8] = [
    ("sample.ras", PowderFormat::RigakuRas),
    ("sample.rasx", PowderFormat::RigakuRasx),
    ("sample.brml", PowderFormat::BrukerBrml),
    ("sample_raw4.raw", PowderFormat::BrukerRaw),
    ("sample_2theta.chi", PowderFormat::Chi),
    ("sample_q_pyfai.dat", PowderFormat::Chi),
    ("sample_pdcif.cif", PowderFormat::PdCif),
    ("sample_q.chi", PowderFormat::Chi),
];

#[test]
fn the_same_scan_in_every_vendor_format() {
    let reference = read_powder(&fixture("sample.brml")).unwrap().data;
    for (name, format) in SAMPLES.iter().take(6) {
        let s = read_powder(&fixture(name)).unwrap();
        assert_eq!(s.meta.format, *format, "{name}");
        assert_eq!(s.data.len(), 11, "{name}");
        for i in 0..11 {
            assert!((s.data.two_theta_deg[i] - reference.two_theta_deg[i]).abs() < 1e-9, "{name}");
            assert!((s.data.intensity[i] - reference.intensity[i]).abs() < 1e-3, "{name} {i}");
        }
    }
}

#[test]
fn truncation_and_corruption_never_panic() {
    for (name, _) in SAMPLES {
        let p = fixture(name);
        let bytes = std::fs::read(&p).unwrap();
        for cut in 0..bytes.len() {
            if let Err(e) = parse_powder(&bytes[..cut], &p) {
                assert!(e.to_string().contains(name), "{name}: {e}");
            }
        }
        for i in 0..bytes.len() {
            for x in [b'\0', b'<', b'9', b'-', 0xff] {
                let mut b = bytes.clone();
                b[i] = x;
                let _ = parse_powder(&b, &p);
            }
        }
    }
    // XRDML: truncations of a real-sized document.
    let Some(p) = Some(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/nio-xrdml/NiO_0p6007-Bi2O3_0p4008--8min.xrdml"),
    )
    .filter(|p| p.exists()) else {
        eprintln!("note: shared XRDML absent; skipping");
        return;
    };
    let bytes = std::fs::read(&p).unwrap();
    for cut in (0..bytes.len()).step_by(97) {
        if let Err(e) = parse_powder(&bytes[..cut], &p) {
            assert!(e.to_string().contains("NiO_0p6007"), "{e}");
        }
    }
}
