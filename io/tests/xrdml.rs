#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! PANalytical XRDML: the real NiO files of `../shared/data/nio-xrdml/` (values checked
//! against the catalogue and an independent count of the file's <counts> list), and small
//! documents for the 1.x layout, list positions, counts per second, attenuation, several
//! scans and bad input.

use bragg_io::xrdml::{parse_xrdml, parse_xrdml_scans, read_xrdml};
use bragg_io::{read_powder, Error, PowderFormat};
use std::path::{Path, PathBuf};

fn shared(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("note: {} is absent; skipping", p.display());
        None
    }
}

#[test]
fn real_nio_files() {
    // Reference values: the catalogue (Cu Kα1 1.540598 / Kα2 1.544426 Å) and the files' own
    // <startPosition>/<endPosition>, counted independently with a Python regex (8282 counts,
    // first 2408 / 3016, sum 24155615 / 32020834).
    let cases = [
        (
            "nio-xrdml/NiO_0p6007-Bi2O3_0p4008--8min.xrdml",
            2408.0,
            24_155_615.0,
            "2024-11-21T07:43:37-08:00",
        ),
        (
            "nio-xrdml/NiO_0p7028-LaOH3_0p1010-ZnO_0p2000--8min.xrdml",
            3016.0,
            32_020_834.0,
            "2024-11-14T16:39:12-08:00",
        ),
    ];
    for (rel, first, sum, stamp) in cases {
        let Some(p) = shared(rel) else { continue };
        let s = read_xrdml(&p).unwrap();
        assert_eq!(s.meta.format, PowderFormat::Xrdml);
        assert_eq!(s.data.len(), 8282, "{rel}");
        assert_eq!(s.data.two_theta_deg[0], 10.00943322);
        assert!((s.data.two_theta_deg[8281] - 99.99442286).abs() < 1e-9);
        let step = (99.99442286 - 10.00943322) / 8281.0;
        assert!((s.data.two_theta_deg[100] - (10.00943322 + 100.0 * step)).abs() < 1e-9);
        assert_eq!(s.data.intensity[0], first);
        assert_eq!(s.data.intensity.iter().sum::<f64>(), sum);
        let esd = s.data.esd.as_ref().unwrap();
        assert_eq!(esd[0], first.sqrt()); // counts kept as counts, σ = √counts
        let w = &s.meta.wavelengths;
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].angstrom, w[0].relative_intensity), (1.540598, Some(1.0)));
        assert_eq!((w[1].angstrom, w[1].relative_intensity), (1.544426, Some(0.5)));
        assert_eq!(s.meta.timestamp.as_deref(), Some(stamp));
        assert_eq!(s.meta.field("counting time (s)"), Some("12.495"));
        assert_eq!(s.meta.field("intensity unit"), Some("counts"));
        // The dispatcher finds it by content whatever the extension.
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("scan.dat");
        std::fs::copy(&p, &copy).unwrap();
        let r = read_powder(&copy).unwrap();
        assert_eq!(r.meta.format, PowderFormat::Xrdml);
        assert_eq!(r.data.intensity, s.data.intensity);
    }
}

const V1: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<xrdMeasurements xmlns="http://www.xrdml.com/XRDMeasurement/1.0">
  <sample><id>S1</id></sample>
  <xrdMeasurement measurementType="Scan">
    <usedWavelength intended="K-Alpha"><kAlpha1 unit="Angstrom">1.54060</kAlpha1><kAlpha2 unit="Angstrom">1.54443</kAlpha2><ratioKAlpha2KAlpha1>0.5</ratioKAlpha2KAlpha1></usedWavelength>
    <scan scanAxis="Gonio">
      <dataPoints>
        <positions axis="2Theta" unit="deg"><listPositions>10.0 10.5 11.5</listPositions></positions>
        <countingTimes unit="seconds">2 2 4</countingTimes>
        <intensities unit="counts/s">50 8 25</intensities>
      </dataPoints>
    </scan>
    <scan scanAxis="Gonio">
      <dataPoints>
        <positions axis="2Theta" unit="deg"><startPosition>30</startPosition><endPosition>20</endPosition></positions>
        <commonCountingTime unit="seconds">1</commonCountingTime>
        <beamAttenuationFactors>1 4 1 1 1 1 1 1 1 1 1</beamAttenuationFactors>
        <intensities unit="counts">0 100 1 2 3 4 5 6 7 8 9</intensities>
      </dataPoints>
    </scan>
  </xrdMeasurement>
</xrdMeasurements>
"#;

#[test]
fn version1_list_positions_cps_attenuation_and_several_scans() {
    let p = Path::new("v1.xrdml");
    let scans = parse_xrdml_scans(V1, p).unwrap();
    assert_eq!(scans.len(), 2);
    let a = &scans[0];
    assert_eq!(a.data.two_theta_deg, vec![10.0, 10.5, 11.5]);
    assert_eq!(a.data.intensity, vec![50.0, 8.0, 25.0]);
    // cps with per-point time t: σ = √(I t)/t.
    let e = a.data.esd.as_ref().unwrap();
    assert!((e[0] - (100f64).sqrt() / 2.0).abs() < 1e-12);
    assert!((e[2] - (100f64).sqrt() / 4.0).abs() < 1e-12);
    assert_eq!(a.meta.comment.as_deref(), Some("S1"));
    // Second scan: decreasing 2θ reversed, attenuation applied to counts and σ.
    let b = &scans[1];
    assert_eq!(b.data.two_theta_deg[0], 20.0);
    assert_eq!(b.data.two_theta_deg[10], 30.0);
    assert_eq!(b.data.intensity[10], 0.0);
    assert_eq!(b.data.intensity[9], 400.0);
    assert_eq!(b.data.esd.as_ref().unwrap()[9], 40.0);
    assert!(b.meta.notes.iter().any(|n| n.contains("reversed")));
    let first = parse_xrdml(V1, p).unwrap();
    assert!(first.meta.notes.iter().any(|n| n.contains("2 scans")));
}

#[test]
fn bad_documents_name_line_and_element() {
    let p = Path::new("bad.xrdml");
    // Malformed XML: the parser's line.
    let e = parse_xrdml_scans("<xrdMeasurements>\n<xrdMeasurement>\n</xrdMeasurements>\n", p)
        .unwrap_err();
    assert!(matches!(e, Error::Parse { line: 3, .. }), "{e}");
    // Truncated real-looking document.
    let cut = &V1[..V1.len() / 2];
    assert!(parse_xrdml_scans(cut, p).is_err());
    // Count mismatch: names the listPositions element and its line.
    let t = V1.replace("10.0 10.5 11.5", "10.0 10.5");
    let e = parse_xrdml_scans(&t, p).unwrap_err();
    let m = e.to_string();
    assert!(
        m.starts_with("bad.xrdml:8:")
            && m.contains("listPositions")
            && m.contains("2 positions but 3"),
        "{m}"
    );
    // A non-number.
    let t = V1.replace(">50 8 25<", ">50 x 25<");
    let m = parse_xrdml_scans(&t, p).unwrap_err().to_string();
    assert!(
        m.contains(":10:") && m.contains("'x'") && m.contains("scan[1]/dataPoints/intensities"),
        "{m}"
    );
    // Negative counts.
    let t = V1.replace(">0 100 1 2", ">0 -100 1 2");
    assert!(parse_xrdml_scans(&t, p).unwrap_err().to_string().contains("negative"));
    // Not a 2θ scan: only an Omega axis.
    let t = V1.replace(
        "axis=\"2Theta\" unit=\"deg\"><listPositions>",
        "axis=\"Omega\" unit=\"deg\"><listPositions>",
    );
    assert!(parse_xrdml_scans(&t, p).unwrap_err().to_string().contains("not a 2θ scan"));
    // Wrong root, and no scan at all.
    assert!(parse_xrdml_scans("<foo/>", p).unwrap_err().to_string().contains("not a PANalytical"));
    let e = parse_xrdml_scans("<xrdMeasurements/>", p).unwrap_err();
    assert!(matches!(e, Error::Missing { .. }), "{e}");
}
