//! Powder text data: reading real and synthetic files, every rejection naming file and line,
//! gzip, and writers checked by reading back.

// Test helpers outside #[test] functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::panic)]

use bragg_io::reflections::REFLECTIONS_HEADER;
use bragg_io::xye::parse_xye;
use bragg_io::{read_xye, write_reflections_csv, write_xye, Error, PowderData, ReflectionRow};
use std::io::Write;
use std::path::{Path, PathBuf};

fn parse(text: &str) -> Result<PowderData, Error> {
    parse_xye(text, Path::new("scan.xye"))
}

/// Asserts an error of the given line whose message starts with `scan.xye:<line>:` and contains
/// `needle`.
fn assert_error(text: &str, line: usize, needle: &str) {
    let e = parse(text).unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with(&format!("scan.xye:{line}:")), "{msg}");
    assert!(msg.contains(needle), "{msg}");
    match e {
        Error::Data { line: l, .. } | Error::Parse { line: l, .. } => assert_eq!(l, line),
        other => panic!("{other:?}"),
    }
}

#[test]
fn real_synchrotron_xye() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/operando-coincell/xrd_data/1355639_summed_mythen3.xye");
    if !path.exists() {
        eprintln!("note: {} is absent; skipping", path.display());
        return;
    }
    let d = read_xye(&path).unwrap();
    // 16553 lines, first "2.080000 1288.000000 35.888717", last "68.312000 519.000000 22.781571".
    assert_eq!(d.len(), 16553);
    assert_eq!(
        (d.two_theta_deg[0], d.intensity[0], d.esd.as_ref().unwrap()[0]),
        (2.08, 1288.0, 35.888717)
    );
    assert_eq!(
        (d.two_theta_deg[16552], d.intensity[16552], d.esd.as_ref().unwrap()[16552]),
        (68.312, 519.0, 22.781571)
    );
    assert_eq!(d.source, path);

    // The same file gzip-compressed reads identically.
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("scan.xye.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(&path).unwrap()).unwrap();
    enc.finish().unwrap();
    let z = read_xye(&gz).unwrap();
    assert_eq!((z.two_theta_deg, z.intensity, z.esd), (d.two_theta_deg, d.intensity, d.esd));
}

#[test]
fn separators_comments_and_headers() {
    let d = parse("Title of the scan\n2theta;I\n# comment\n! another\n\n10.0;5\n10.5 ; 6\n11,7\n  11.5\t8  \n").unwrap();
    assert_eq!(d.two_theta_deg, [10.0, 10.5, 11.0, 11.5]);
    assert_eq!(d.intensity, [5.0, 6.0, 7.0, 8.0]);
    assert!(d.esd.is_none());
    let d = parse("2theta,I,sigma\n10,5,2\n11,-3,0\n").unwrap();
    // Zero esd is kept (the refinement excludes the point), negative intensity allowed.
    assert_eq!(d.esd.unwrap(), [2.0, 0.0]);
    assert_eq!(d.intensity[1], -3.0);
}

#[test]
fn each_bad_input_names_file_and_line() {
    assert_error("10 1 1\n11 2\n", 2, "columns");
    assert_error("# h\n10 1\n11 2 3\n", 3, "first data line (line 2)");
    assert_error("10 1\n11 NaN\n", 2, "finite");
    assert_error("10 1\ninf 2\n", 2, "finite");
    assert_error("10 1\n11 2\n11 3\n", 3, "does not increase");
    assert_error("10 1\n11 2\n10.5 3\n", 3, "does not increase");
    assert_error("10 1 1\n11 2 -0.5\n", 2, "negative esd");
    assert_error("10 1\n11 abc\n", 2, "not a number");
    assert_error("10 1\n11 2\nfooter\n", 3, "not a number");
    assert_error("10\n", 1, "1 columns");
    assert_error("10 1 2 3\n", 1, "4 columns");
    assert_error("", 1, "no data points");
    assert_error("# only\n# comments\n", 2, "no data points");
}

#[test]
fn missing_file_is_io_error() {
    let e = read_xye(Path::new("/nonexistent/dir/scan.xye")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }));
    assert!(e.to_string().starts_with("/nonexistent/dir/scan.xye:"), "{e}");
}

#[test]
fn write_xye_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.xye");
    let data = PowderData {
        two_theta_deg: vec![10.0, 10.02, 10.04 + 1e-12],
        intensity: vec![1.0 / 3.0, 2.5e6, -0.1],
        esd: Some(vec![0.0, 1581.1388300841897, 0.3]),
        source: PathBuf::new(),
    };
    write_xye(&path, &data, "lambda = 1.540593 A").unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# bragg lambda = 1.540593 A\n"), "{text}");
    let back = read_xye(&path).unwrap();
    assert_eq!(
        (back.two_theta_deg, back.intensity, back.esd),
        (data.two_theta_deg.clone(), data.intensity.clone(), data.esd.clone())
    );
    // Two columns without esd.
    let two = PowderData { esd: None, ..data.clone() };
    write_xye(&path, &two, "calc").unwrap();
    assert!(read_xye(&path).unwrap().esd.is_none());
    // Bad input: nothing written, the previous file intact.
    let bad = PowderData { intensity: vec![1.0], ..data };
    assert!(matches!(write_xye(&path, &bad, "x"), Err(Error::InvalidInput { .. })));
    assert!(matches!(write_xye(&path, &two, "two\nlines"), Err(Error::InvalidInput { .. })));
    assert!(read_xye(&path).unwrap().esd.is_none());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn reflections_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("refl.csv");
    let rows = vec![
        ReflectionRow {
            phase: "LTNO".into(),
            h: 1,
            k: 1,
            l: 1,
            d: 2.3904,
            two_theta_deg: 37.6,
            multiplicity: 8,
            f2: 1234.5,
        },
        ReflectionRow {
            phase: "odd, \"name\"".into(),
            h: -2,
            k: 0,
            l: 0,
            d: 2.07,
            two_theta_deg: 43.7,
            multiplicity: 6,
            f2: 0.0,
        },
    ];
    write_reflections_csv(&path, &rows).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], REFLECTIONS_HEADER);
    assert_eq!(lines[0], "phase,h,k,l,d,two_theta,multiplicity,F2");
    assert_eq!(lines[1], "LTNO,1,1,1,2.3904,37.6,8,1234.5");
    assert_eq!(lines[2], "\"odd, \"\"name\"\"\",-2,0,0,2.07,43.7,6,0");
    assert_eq!(lines.len(), 3);
}
