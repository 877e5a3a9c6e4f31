#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! Bruker .brml and RAW v4 on the samples of fixtures/data (written by
//! fixtures/gen/make_io_samples.py from the format descriptions), and bad input.

use bragg_io::brml::{parse_brml_scans, read_brml};
use bragg_io::bruker::{parse_bruker_raw_ranges, read_bruker_raw};
use bragg_io::{read_powder, Error, PowderFormat};
use std::io::Write;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data").join(name)
}

const RAW: [f64; 11] = [100., 120., 150., 400., 1600., 300., 1500., 420., 160., 118., 101.];
const ATT: [f64; 11] = [1., 1., 1., 1., 1., 10., 1., 1., 1., 1., 1.];

fn zip_of(members: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in members {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(text.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn brml_sample() {
    let p = fixture("sample.brml");
    let s = read_brml(&p).unwrap();
    assert_eq!(s.meta.format, PowderFormat::BrukerBrml);
    assert_eq!(s.data.len(), 11);
    for i in 0..11 {
        assert!((s.data.two_theta_deg[i] - (20.0 + 0.02 * i as f64)).abs() < 1e-12);
        assert_eq!(s.data.intensity[i], RAW[i] * ATT[i]);
        assert!((s.data.esd.as_ref().unwrap()[i] - RAW[i].sqrt() * ATT[i]).abs() < 1e-12);
    }
    let w = &s.meta.wavelengths;
    assert_eq!(
        (w[0].angstrom, w[1].angstrom, w[1].relative_intensity),
        (1.540593, 1.544414, Some(0.5))
    );
    assert_eq!(s.meta.timestamp.as_deref(), Some("2024-01-02T10:28:43+01:00"));
    assert_eq!(s.data.source, p);
    assert_eq!(read_powder(&p).unwrap().meta.format, PowderFormat::BrukerBrml);
}

#[test]
fn brml_bad_input() {
    let bytes = std::fs::read(fixture("sample.brml")).unwrap();
    let p = Path::new("bad.brml");
    for cut in [4, 30, bytes.len() / 2, bytes.len() - 1] {
        let e = parse_brml_scans(&bytes[..cut], p).unwrap_err();
        assert!(matches!(e, Error::ParseBinary { .. }), "{e}");
    }
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] = b[i].wrapping_add(0x31);
        let _ = parse_brml_scans(&b, p);
    }
    // Malformed XML inside: names archive/member:line.
    let z = zip_of(&[("Experiment0/RawData0.xml", "<RawData>\n<DataRoutes>\n</RawData>\n")]);
    let m = parse_brml_scans(&z, p).unwrap_err().to_string();
    assert!(m.starts_with("bad.brml/Experiment0/RawData0.xml:3:"), "{m}");
    // A short Datum row.
    let raw = "<RawData><DataRoutes><DataRoute>\n<Datum>1,1,20.0,10.0,5</Datum>\n<Datum>1,1</Datum>\n</DataRoute></DataRoutes></RawData>";
    let m =
        parse_brml_scans(&zip_of(&[("Experiment0/RawData0.xml", raw)]), p).unwrap_err().to_string();
    assert!(
        m.contains("RawData0.xml:3:") && m.contains("Datum[2]") && m.contains("2 fields"),
        "{m}"
    );
    // A zip that is not a brml.
    let m = parse_brml_scans(&zip_of(&[("a.txt", "x")]), p).unwrap_err().to_string();
    assert!(m.contains("RawData0.xml"), "{m}");
}

#[test]
fn raw4_sample() {
    let p = fixture("sample_raw4.raw");
    let s = read_bruker_raw(&p).unwrap();
    assert_eq!(s.meta.format, PowderFormat::BrukerRaw);
    assert_eq!(s.meta.field("format"), Some("RAW v4 (RAW4.00)"));
    assert_eq!(s.meta.field("SAMPLE"), Some("NiO test"));
    assert_eq!(s.meta.field("scan type"), Some("Locked Coupled"));
    assert_eq!(s.data.len(), 11);
    for i in 0..11 {
        assert!((s.data.two_theta_deg[i] - (20.0 + 0.02 * i as f64)).abs() < 1e-12);
        assert_eq!(s.data.intensity[i], RAW[i] * ATT[i]);
    }
    let w = &s.meta.wavelengths;
    assert_eq!(
        (w[0].angstrom, w[1].angstrom, w[1].relative_intensity),
        (1.540593, 1.544414, Some(0.5))
    );
    assert_eq!(s.meta.timestamp.as_deref(), Some("2024-01-02 10:28:43"));
    assert_eq!(read_powder(&p).unwrap().data.intensity, s.data.intensity);
}

#[test]
fn raw4_truncation_and_corruption_name_offsets() {
    let bytes = std::fs::read(fixture("sample_raw4.raw")).unwrap();
    let p = Path::new("bad.raw");
    // Every truncation is an error naming the offset of the field that is cut (a field of
    // the complete layout, so at most the full length).
    for cut in 7..bytes.len() {
        match parse_bruker_raw_ranges(&bytes[..cut], p) {
            Err(Error::ParseBinary { offset, message, .. }) => {
                assert!(offset as usize <= bytes.len(), "{offset} > {}", bytes.len());
                assert!(message.contains("version 4"), "{message}");
            }
            Err(e) => panic!("cut {cut}: {e}"),
            Ok(r) => panic!("cut {cut}: read {} ranges", r.len()),
        }
    }
    // Any corrupted byte: an error or a read, never a panic.
    for i in 0..bytes.len() {
        for x in [0xffu8, 0x80, 0x00] {
            let mut b = bytes.clone();
            b[i] = x;
            let _ = parse_bruker_raw_ranges(&b, p);
        }
    }
    // A NaN count names its byte offset: the data start at 61 + 60 + 120 + 160 + 64 = 465.
    let mut b = bytes.clone();
    b[465 + 8..465 + 12].copy_from_slice(&f32::NAN.to_le_bytes());
    let e = parse_bruker_raw_ranges(&b, p).unwrap_err();
    assert!(matches!(e, Error::ParseBinary { offset: 473, .. }), "{e}");
    // A step below the resolution of 2θ (found by cargo fuzz): the range header starts at
    // 61 + 60 + 120 = 241, its f64 step at +80.
    let mut b = bytes.clone();
    b[321..329].copy_from_slice(&1e-300f64.to_le_bytes());
    let e = parse_bruker_raw_ranges(&b, p).unwrap_err();
    assert!(matches!(e, Error::ParseBinary { offset: 321, .. }), "{e}");
    assert!(e.to_string().contains("no distinct 2θ"), "{e}");
}
