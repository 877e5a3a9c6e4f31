//! FullProf free-format `.dat`: the round-robin X-ray scan must equal its GSAS twin, and every
//! variant and rejection is checked on synthetic text.

#![allow(clippy::unwrap_used, clippy::panic)]

use approx::assert_relative_eq;
use bragg_io::fullprof::{parse_fullprof, read_fullprof};
use bragg_io::gsas::read_gsas;
use bragg_io::{Error, PowderFormat};
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

fn parse(text: &str) -> Result<bragg_io::PowderScan, Error> {
    parse_fullprof(text, Path::new("scan.dat"))
}

#[test]
fn pbsox_equals_the_gsas_file_of_the_same_scan() {
    let (Some(dat), Some(xra)) =
        (shared("pbso4-roundrobin/pbsox.dat"), shared("pbso4-roundrobin/PBSO4.XRA"))
    else {
        return;
    };
    let f = read_fullprof(&dat).unwrap();
    let g = read_gsas(&xra).unwrap();
    assert_eq!(f.meta.format, PowderFormat::FullProf);
    // Header "10.000 0.025 160.000 PbSO4 XrayDif ...": round(150/0.025) + 1 = 6001 points.
    assert_eq!(f.data.len(), 6001);
    assert_eq!(f.data.len(), g.data.len());
    // The two files differ in exactly two counts (checked by reading the text): point 5335
    // (2θ 143.375°) is 275 in PBSO4.XRA line 536 but 278 in pbsox.dat line 535, and point
    // 5749 (153.725°) is 275 in XRA line 577 but 276 in pbsox.dat line 576.
    let mut differ = Vec::new();
    for i in 0..f.data.len() {
        assert_relative_eq!(f.data.two_theta_deg[i], g.data.two_theta_deg[i], epsilon = 1e-9);
        if f.data.intensity[i] != g.data.intensity[i] {
            differ.push((i, g.data.intensity[i], f.data.intensity[i]));
        }
    }
    assert_eq!(differ, vec![(5335, 275.0, 278.0), (5749, 275.0, 276.0)]);
    assert_relative_eq!(f.data.two_theta_deg[5335], 143.375, epsilon = 1e-9);
    assert_eq!(f.data.esd.as_ref().unwrap()[0], g.data.esd.as_ref().unwrap()[0]);
    assert!(f.meta.comment.as_deref().unwrap().contains("PbSO4 XrayDif"));
}

#[test]
fn variants() {
    // Plain: header then counts, any number per line; σ = √I.
    let d = parse("1.0 0.5 2.0\n4 9\n16\n").unwrap();
    assert_eq!(d.data.two_theta_deg, vec![1.0, 1.5, 2.0]);
    assert_eq!(d.data.esd.unwrap(), vec![2.0, 3.0, 4.0]);
    // Title and comment lines first; the title is kept.
    let d = parse("! comment\nMy sample 300 K\n1.0 0.5 2.0\n4 9 16\n").unwrap();
    assert_eq!(d.meta.comment.as_deref(), Some("comment | My sample 300 K"));
    assert_eq!(d.data.len(), 3);
    // A line of extra numbers after the header (monitor, time) when the count then fits.
    let d = parse("1.0 0.5 2.0\n 1000 60\n4 9 16\n").unwrap();
    assert_eq!(d.data.intensity, vec![4.0, 9.0, 16.0]);
    assert!(d.meta.notes[0].contains("line 2"), "{:?}", d.meta.notes);
    // Zero padding of the last line.
    let d = parse("1.0 0.5 2.0\n4 9 16 0 0 0\n").unwrap();
    assert_eq!(d.data.len(), 3);
    assert!(d.meta.notes[0].contains("padding"));
    // A numeric line before the real header is tried and skipped.
    let d = parse("5 1 9 run\n1.0 0.5 2.0\n4 9 16\n").unwrap();
    assert_eq!(d.data.two_theta_deg[0], 1.0);
}

/// (line, message) of the error, asserting the `scan.dat:<line>:` prefix.
fn err(text: &str) -> (usize, String) {
    let e = parse(text).unwrap_err();
    let m = e.to_string();
    let line = match e {
        Error::Data { line, .. } | Error::Parse { line, .. } | Error::Missing { line, .. } => line,
        other => panic!("{other:?}"),
    };
    assert!(m.starts_with(&format!("scan.dat:{line}:")), "{m}");
    (line, m)
}

#[test]
fn rejections() {
    // Too few points: names the last line and both counts.
    let (l, m) = err("1.0 0.5 3.0\n4 9\n16\n");
    assert_eq!(l, 3);
    assert!(m.contains("announces 5 points") && m.contains("holds 3"), "{m}");
    // Too many (non-zero) points: names the line of the first excess value.
    let (l, _) = err("1.0 0.5 2.0\n4 9 16\n25\n");
    assert_eq!(l, 3);
    assert_eq!(err("1.0 0.5 2.0\n4 x 16\n").0, 2);
    assert_eq!(err("1.0 0.5 2.0\n4 NaN 16\n").0, 2);
    assert_eq!(err("1.0 0.5 2.0\n4 -9 16\n").0, 2);
    assert!(err("just a title\nno numbers\n").1.contains("start step stop"));
    assert!(err("").1.contains("start step stop"));
    // Step ≤ 0 or stop ≤ start is not a header.
    assert!(err("2.0 -0.5 1.0\n4 9\n").1.contains("start step stop"));
}
