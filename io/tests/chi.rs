#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! Fit2D .chi and pyFAI patterns: 2θ read as is, Q converted with the wavelength
//! (2θ = 2 asin(Qλ/4π)), and a clear error for Q without it.

use bragg_io::chi::{parse_chi, q_to_two_theta_deg, read_chi};
use bragg_io::{read_powder, read_powder_with_wavelength, Error, PowderFormat};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data").join(name)
}

const Y: [f64; 11] = [100., 120., 150., 400., 1600., 3000., 1500., 420., 160., 118., 101.];
const KA1: f64 = 1.540593;

#[test]
fn q_conversion_limits() {
    // Analytic limits: Q = 0 → 2θ = 0; Q = 4π/λ → 2θ = 180°; beyond → None.
    assert_eq!(q_to_two_theta_deg(0.0, 1.0), Some(0.0));
    let q_max = 4.0 * std::f64::consts::PI / 1.5;
    assert!((q_to_two_theta_deg(q_max, 1.5).unwrap() - 180.0).abs() < 1e-9);
    assert_eq!(q_to_two_theta_deg(q_max * 1.01, 1.5), None);
    // Bragg: d = 2π/Q and λ = 2 d sin θ.
    let (d, lambda) = (2.0, 1.54);
    let tth = q_to_two_theta_deg(2.0 * std::f64::consts::PI / d, lambda).unwrap();
    assert!((2.0 * d * (tth / 2.0).to_radians().sin() - lambda).abs() < 1e-12);
}

#[test]
fn fit2d_two_theta() {
    let p = fixture("sample_2theta.chi");
    let s = read_powder(&p).unwrap();
    assert_eq!(s.meta.format, PowderFormat::Chi);
    assert_eq!(s.data.intensity, Y.to_vec());
    assert!((s.data.two_theta_deg[10] - 20.2).abs() < 1e-9);
    assert_eq!(s.meta.comment.as_deref(), Some("NiO test (Fit2D)"));
    assert!(s.data.esd.is_none());
}

#[test]
fn q_needs_the_wavelength() {
    let p = fixture("sample_q.chi");
    // No wavelength: a clear error naming the axis line (line 2).
    let e = read_powder(&p).unwrap_err();
    assert!(matches!(e, Error::Missing { line: 2, .. }), "{e}");
    assert!(e.to_string().contains("wavelength"), "{e}");
    // With λ: the 2θ grid of the generator (20.00 + 0.02 i), Q was written with 13 digits.
    for s in [read_chi(&p, Some(KA1)).unwrap(), read_powder_with_wavelength(&p, Some(KA1)).unwrap()]
    {
        for i in 0..11 {
            assert!((s.data.two_theta_deg[i] - (20.0 + 0.02 * i as f64)).abs() < 1e-9, "{i}");
        }
        assert_eq!(s.data.intensity, Y.to_vec());
        assert_eq!(s.meta.wavelengths[0].angstrom, KA1);
    }
    // pyFAI: Q in Å⁻¹ and the wavelength in its header (metres).
    let s = read_powder(&fixture("sample_q_pyfai.dat")).unwrap();
    assert_eq!(s.meta.format, PowderFormat::Chi);
    assert!((s.meta.wavelengths[0].angstrom - KA1).abs() < 1e-12);
    assert!((s.data.two_theta_deg[5] - 20.1).abs() < 1e-9);
    assert!((s.data.esd.as_ref().unwrap()[5] - 300f64.sqrt() * 10.0).abs() < 1e-3);
}

#[test]
fn bad_chi_input() {
    let p = Path::new("bad.chi");
    let head = "t\n2-Theta Angle (Degrees)\nIntensity\n       3\n";
    // Count mismatch names the count line.
    let e = parse_chi(&format!("{head}1 2\n2 3\n"), p, None).unwrap_err();
    assert!(matches!(e, Error::Data { line: 4, .. }), "{e}");
    // Three numbers in a two-column file.
    let e = parse_chi(&format!("{head}1 2\n2 3 4\n3 4\n"), p, None).unwrap_err();
    assert!(matches!(e, Error::Data { line: 6, .. }), "{e}");
    // NaN, non-monotonic, non-number.
    assert!(matches!(
        parse_chi(&format!("{head}1 2\n2 NaN\n3 4\n"), p, None).unwrap_err(),
        Error::Data { line: 6, .. }
    ));
    assert!(matches!(
        parse_chi(&format!("{head}1 2\n1 3\n3 4\n"), p, None).unwrap_err(),
        Error::Data { line: 6, .. }
    ));
    assert!(matches!(
        parse_chi(&format!("{head}1 2\n2 x\n3 4\n"), p, None).unwrap_err(),
        Error::Parse { line: 6, .. }
    ));
    // Radial axis refused; Q without unit refused; empty file.
    let e = parse_chi("t\nRadial Distance (mm)\nIntensity\n 1\n1 2\n", p, None).unwrap_err();
    assert!(matches!(e, Error::Data { line: 2, .. }), "{e}");
    let e = parse_chi("t\nQ\nIntensity\n 1\n1 2\n", p, Some(1.0)).unwrap_err();
    assert!(e.to_string().contains("unit"), "{e}");
    assert!(parse_chi("", p, None).is_err());
    // Q beyond 4π/λ.
    let e = parse_chi("t\nQ (Inverse Angstroms)\nIntensity\n 1\n50 2\n", p, Some(1.5)).unwrap_err();
    assert!(matches!(e, Error::Data { line: 5, .. }), "{e}");
}
