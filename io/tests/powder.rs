//! `read_powder`: every real file goes to the right reader by content, content beats the
//! extension, `.gz` is transparent, and unknown or unsupported content gives a clear error.

#![allow(clippy::unwrap_used, clippy::panic)]

use bragg_io::powder::parse_powder;
use bragg_io::{read_powder, Error, PowderFormat};
use flate2::write::GzEncoder;
use std::io::Write;
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
fn real_files_by_content() {
    let cases = [
        ("pbso4-roundrobin/PBSO4.XRA", PowderFormat::Gsas, 6001),
        ("pbso4-roundrobin/PBSO4.CWN", PowderFormat::Gsas, 2919),
        ("lab-lab6-660/NIST660CBI.gsas", PowderFormat::Gsas, 8378),
        ("seq-cucr2o4-11bm/OH_00.fxye", PowderFormat::Gsas, 12799),
        ("pbso4-roundrobin/pbsox.dat", PowderFormat::FullProf, 6001),
        ("licoo2-bruker/LiCoO2.RAW", PowderFormat::BrukerRaw, 4001),
        ("licoo2-bruker/LiCoO2.UXD", PowderFormat::BrukerUxd, 4001),
        ("operando-coincell/xrd_data/1355639_summed_mythen3.xye", PowderFormat::Xye, 16553),
    ];
    for (rel, format, n) in cases {
        let Some(p) = shared(rel) else { continue };
        let s = read_powder(&p).unwrap();
        assert_eq!(s.meta.format, format, "{rel}");
        assert_eq!(s.data.len(), n, "{rel}");
    }
}

#[test]
fn content_beats_extension_and_gzip_is_transparent() {
    let (Some(raw), Some(uxd), Some(xra)) = (
        shared("licoo2-bruker/LiCoO2.RAW"),
        shared("licoo2-bruker/LiCoO2.UXD"),
        shared("pbso4-roundrobin/PBSO4.XRA"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &Path, name: &str| {
        let to = dir.path().join(name);
        std::fs::copy(from, &to).unwrap();
        to
    };
    // Misleading extensions.
    assert_eq!(read_powder(&copy(&uxd, "scan.xy")).unwrap().meta.format, PowderFormat::BrukerUxd);
    assert_eq!(read_powder(&copy(&raw, "scan.dat")).unwrap().meta.format, PowderFormat::BrukerRaw);
    assert_eq!(read_powder(&copy(&xra, "scan.xye")).unwrap().meta.format, PowderFormat::Gsas);
    // Gzip, with and without the .gz name.
    for (src, name, format) in [
        (&raw, "a.raw.gz", PowderFormat::BrukerRaw),
        (&xra, "b.gz", PowderFormat::Gsas),
        (&uxd, "c", PowderFormat::BrukerUxd),
    ] {
        let to = dir.path().join(name);
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&std::fs::read(src).unwrap()).unwrap();
        std::fs::write(&to, gz.finish().unwrap()).unwrap();
        let s = read_powder(&to).unwrap();
        assert_eq!(s.meta.format, format, "{name}");
        assert_eq!(s.data.source, to);
    }
}

#[test]
fn extension_second_and_xye_fallback() {
    let p = |name: &str| PathBuf::from(name);
    // Plain columns with any extension.
    let s = parse_powder(b"# x y\n10 1\n11 2\n", &p("scan.foo")).unwrap();
    assert_eq!(s.meta.format, PowderFormat::Xye);
    // A 3-column file whose first line could read as "start step stop" stays xye.
    let s = parse_powder(b"5.0 0.5 100\n5.1 0.6 101\n5.2 0.7 102\n", &p("s.xye")).unwrap();
    assert_eq!(s.meta.format, PowderFormat::Xye);
    assert_eq!(s.data.len(), 3);
    // A FullProf file whose count is wrong is still reported as FullProf, with its error.
    let e = parse_powder(b"10 0.5 12\n1 2 3 4\n", &p("s.dat")).unwrap_err();
    assert!(e.to_string().contains("announces 5 points"), "{e}");
    // A .gsa without BANK: the GSAS reader's error.
    let e = parse_powder(b"title\n1 2\n", &p("s.gsa")).unwrap_err();
    assert!(e.to_string().contains("BANK"), "{e}");
    // A .raw that is not RAW: the binary reader's error with offset 0.
    let e = parse_powder(b"hello world\n", &p("s.raw")).unwrap_err();
    assert!(matches!(e, Error::ParseBinary { offset: 0, .. }), "{e}");
}

#[test]
fn unknown_and_unsupported_content() {
    let p = |name: &str| PathBuf::from(name);
    let e =
        parse_powder(b"<?xml version=\"1.0\"?>\n<xrdMeasurements/>\n", &p("a.xrdml")).unwrap_err();
    assert!(e.to_string().contains("XRDML"), "{e}");
    let e = parse_powder(b"INS   HTYPE   PXCR\n", &p("inst.prm")).unwrap_err();
    assert!(e.to_string().contains("instrument parameter file"), "{e}");
    let e = parse_powder(&[0u8, 1, 2, 3, 0, 0, 7], &p("a.bin")).unwrap_err();
    assert!(matches!(e, Error::ParseBinary { offset: 0, .. }), "{e}");
    let e = parse_powder(b"RAW4.00 rest", &p("a.raw")).unwrap_err();
    assert!(e.to_string().contains("version 4"), "{e}");
    let e = parse_powder(b"hello\nworld\n", &p("a.foo")).unwrap_err();
    let m = e.to_string();
    assert!(m.starts_with("a.foo:") && m.contains("unrecognised powder format"), "{m}");
    // With an xye extension the xye reader's own message is kept.
    let e = parse_powder(b"hello\nworld\n", &p("a.xy")).unwrap_err();
    assert!(e.to_string().contains("no data points"), "{e}");
    let e = read_powder(Path::new("/nonexistent/scan.xy")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
}
