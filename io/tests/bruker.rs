//! Bruker RAW (binary) and UXD (text): the same real LiCoO2 scan in both formats must agree;
//! RAW v2/v3 files built here from the documented layouts; truncated, corrupted and
//! wrong-magic files give errors naming the byte offset; UXD variants and rejections.

#![allow(clippy::unwrap_used, clippy::panic)]

use bragg_io::bruker::{
    parse_bruker_raw, parse_bruker_raw_ranges, parse_uxd, parse_uxd_ranges, read_bruker_raw,
    read_uxd,
};
use bragg_io::{Error, PowderFormat, Wavelength};
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

fn raw(bytes: &[u8]) -> Result<bragg_io::PowderScan, Error> {
    parse_bruker_raw(bytes, Path::new("scan.raw"))
}

/// The byte offset of a `ParseBinary` error, asserting the message prefix.
fn offset(e: Error) -> u64 {
    let m = e.to_string();
    match e {
        Error::ParseBinary { offset, .. } => {
            assert!(m.starts_with(&format!("scan.raw: at byte {offset}:")), "{m}");
            offset
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn raw_and_uxd_of_the_same_scan_agree() {
    let (Some(r), Some(u)) =
        (shared("licoo2-bruker/LiCoO2.RAW"), shared("licoo2-bruker/LiCoO2.UXD"))
    else {
        return;
    };
    let r = read_bruker_raw(&r).unwrap();
    let u = read_uxd(&u).unwrap();
    assert_eq!(r.meta.format, PowderFormat::BrukerRaw);
    assert_eq!(u.meta.format, PowderFormat::BrukerUxd);
    // 15.985–136° with 0.03° steps (UXD _START=15.985000, _STEPSIZE=0.030000): 4001 points.
    assert_eq!(r.data.len(), 4001);
    assert_eq!(u.data.len(), 4001);
    assert_eq!(r.data.two_theta_deg, u.data.two_theta_deg);
    assert_eq!(u.data.two_theta_deg[0], 15.985);
    assert!((u.data.two_theta_deg[4000] - 135.985).abs() < 1e-9);
    assert_eq!(r.data.intensity, u.data.intensity);
    // First UXD data line "649 609 622 618 611 622 638 607", last "401".
    assert_eq!(&u.data.intensity[..4], &[649.0, 609.0, 622.0, 618.0]);
    assert_eq!(u.data.intensity[4000], 401.0);
    assert_eq!(r.data.esd.as_ref().unwrap()[0], 649f64.sqrt());
    assert_eq!(r.data.esd, u.data.esd);
    // UXD: _WL1=1.540600, _WL2=1.544430, _WLRATIO=0.514000. RAW v1 stores both wavelengths
    // (f32) but no ratio.
    let w = |a, r| Wavelength { angstrom: a, relative_intensity: r };
    assert_eq!(u.meta.wavelengths, vec![w(1.5406, Some(1.0)), w(1.54443, Some(0.514))]);
    assert_eq!(r.meta.wavelengths, vec![w(1.5406, Some(1.0)), w(1.54443, None)]);
    assert_eq!(r.meta.comment.as_deref(), Some("LICOO2"));
    assert_eq!(u.meta.comment.as_deref(), Some("LICoO2"));
    assert_eq!(u.meta.field("ANODE"), Some("Cu"));
}

#[test]
fn raw_truncated_corrupted_and_wrong_magic() {
    let Some(p) = shared("licoo2-bruker/LiCoO2.RAW") else { return };
    let b = std::fs::read(&p).unwrap();
    assert_eq!(b.len(), 156 + 4 * 4001);
    // Cut in the header: the next-range flag at byte 152 is the first field missing.
    let e = raw(&b[..100]).unwrap_err();
    assert_eq!(offset(e), 152);
    // Cut in the counts: the 4001 counts start at byte 156.
    let e = raw(&b[..10_000]).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    assert_eq!(offset(e), 156);
    // Every prefix fails cleanly.
    for cut in (0..b.len()).step_by(53) {
        assert!(raw(&b[..cut]).is_err(), "cut {cut}");
    }
    // Wrong magic.
    let mut w = b.clone();
    w[..4].copy_from_slice(b"XRAW");
    let e = raw(&w).unwrap_err();
    assert!(e.to_string().contains("not a Bruker RAW"), "{e}");
    assert_eq!(offset(e), 0);
    // A NaN count: its own offset.
    let mut n = b.clone();
    n[156 + 4 * 10..156 + 4 * 11].copy_from_slice(&f32::NAN.to_le_bytes());
    assert_eq!(offset(raw(&n).unwrap_err()), 156 + 40);
    // Zero steps, zero step size.
    let mut z = b.clone();
    z[4..8].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(offset(raw(&z).unwrap_err()), 4);
    let mut z = b.clone();
    z[12..16].copy_from_slice(&0f32.to_le_bytes());
    assert_eq!(offset(raw(&z).unwrap_err()), 12);
    // A step below the resolution of 2θ (found by the fuzzer): no two points would differ.
    let mut z = b.clone();
    z[12..16].copy_from_slice(&1e-30f32.to_le_bytes());
    let e = raw(&z).unwrap_err();
    assert!(e.to_string().contains("no distinct 2θ"), "{e}");
    assert_eq!(offset(e), 12);
    // Deterministic corruption never panics.
    let mut state = 99u64;
    for _ in 0..300 {
        let mut c = b[..2000].to_vec();
        for _ in 0..4 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let i = (state >> 33) as usize % 160;
            c[i] = (state >> 24) as u8;
        }
        let _ = raw(&c);
        let _ = parse_bruker_raw_ranges(&c, Path::new("scan.raw"));
    }
}

#[test]
fn raw_v1_second_range_without_magic() {
    let Some(p) = shared("licoo2-bruker/LiCoO2.RAW") else { return };
    let mut b = std::fs::read(&p).unwrap();
    b[152..156].copy_from_slice(&1u32.to_le_bytes()); // another range follows
                                                      // Second range header (no "RAW " repeat, as in early DIFFRAC-AT files): 3 steps of 0.5°
                                                      // from 140°, no further range.
    let mut h = vec![0u8; 152];
    h[0..4].copy_from_slice(&3u32.to_le_bytes());
    h[8..12].copy_from_slice(&0.5f32.to_le_bytes());
    h[20..24].copy_from_slice(&140f32.to_le_bytes());
    b.extend_from_slice(&h);
    for c in [4.0f32, 9.0, 16.0] {
        b.extend_from_slice(&c.to_le_bytes());
    }
    let r = parse_bruker_raw_ranges(&b, Path::new("scan.raw")).unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[1].data.two_theta_deg, vec![140.0, 140.5, 141.0]);
    assert_eq!(r[1].data.esd.as_ref().unwrap(), &vec![2.0, 3.0, 4.0]);
    assert!(raw(&b).unwrap().meta.notes[0].contains("2 ranges"));
    // Truncate the second range's counts.
    let e = raw(&b[..b.len() - 2]).unwrap_err();
    assert_eq!(offset(e), (156 + 4 * 4001 + 152) as u64);
}

/// A RAW v3 ("RAW1.01") file laid out as documented (DIFFRAC^plus XCH V.5.0 manual appendix
/// A, via xylib): 712-byte file header, a 304-byte range header, `supp` bytes of
/// supplementary header, then f32 counts.
fn build_v3(start: f64, step: f64, counts: &[f32], supp: usize) -> Vec<u8> {
    let mut b = vec![0u8; 712];
    b[..7].copy_from_slice(b"RAW1.01");
    b[8..12].copy_from_slice(&1u32.to_le_bytes());
    b[12..16].copy_from_slice(&1u32.to_le_bytes());
    b[16..24].copy_from_slice(b"11/23/20");
    b[26..34].copy_from_slice(b"02:36:00");
    b[326..332].copy_from_slice(b"LiCoO2");
    b[608..610].copy_from_slice(b"Cu");
    b[624..632].copy_from_slice(&1.5406f64.to_le_bytes());
    b[632..640].copy_from_slice(&1.54443f64.to_le_bytes());
    b[648..656].copy_from_slice(&0.514f64.to_le_bytes());
    let mut r = vec![0u8; 304];
    r[0..4].copy_from_slice(&304u32.to_le_bytes());
    r[4..8].copy_from_slice(&(counts.len() as u32).to_le_bytes());
    r[16..24].copy_from_slice(&start.to_le_bytes());
    r[176..184].copy_from_slice(&step.to_le_bytes());
    r[192..196].copy_from_slice(&12.5f32.to_le_bytes());
    r[256..260].copy_from_slice(&(supp as u32).to_le_bytes());
    b.extend_from_slice(&r);
    b.extend(std::iter::repeat_n(0xAAu8, supp));
    for c in counts {
        b.extend_from_slice(&c.to_le_bytes());
    }
    b
}

#[test]
fn raw_v3_layout() {
    let counts = [649.0f32, 609.0, 622.0, 618.0];
    let b = build_v3(15.985, 0.03, &counts, 40);
    let s = raw(&b).unwrap();
    assert_eq!(s.data.len(), 4);
    assert_eq!(s.data.two_theta_deg[0], 15.985);
    assert_eq!(s.data.two_theta_deg[3], 15.985 + 3.0 * 0.03);
    assert_eq!(s.data.intensity, vec![649.0, 609.0, 622.0, 618.0]);
    assert_eq!(s.meta.wavelengths[1].relative_intensity, Some(0.514));
    assert_eq!(s.meta.timestamp.as_deref(), Some("11/23/20 02:36:00"));
    assert_eq!(s.meta.comment.as_deref(), Some("LiCoO2"));
    // Truncation inside the file header, the range header and the counts.
    assert_eq!(offset(raw(&b[..630]).unwrap_err()), 624);
    assert_eq!(offset(raw(&b[..800]).unwrap_err()), 712 + 176);
    assert_eq!(offset(raw(&b[..b.len() - 1]).unwrap_err()), (712 + 304 + 40) as u64);
    // Zero ranges; a range header too short to hold its fields.
    let mut z = b.clone();
    z[12..16].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(offset(raw(&z).unwrap_err()), 12);
    let mut z = b.clone();
    z[712..716].copy_from_slice(&100u32.to_le_bytes());
    assert_eq!(offset(raw(&z).unwrap_err()), 712);
    // A negative step.
    let n = build_v3(15.985, -0.03, &counts, 0);
    assert_eq!(offset(raw(&n).unwrap_err()), 712 + 176);
}

#[test]
fn raw_v2_layout() {
    let mut b = vec![0u8; 256];
    b[..4].copy_from_slice(b"RAW2");
    b[4..6].copy_from_slice(&1u16.to_le_bytes());
    b[168..176].copy_from_slice(b"23-11-20");
    b[188..190].copy_from_slice(b"Cu");
    b[190..194].copy_from_slice(&1.5406f32.to_le_bytes());
    b[194..198].copy_from_slice(&1.54443f32.to_le_bytes());
    b[198..202].copy_from_slice(&0.514f32.to_le_bytes());
    let mut r = vec![0u8; 64];
    r[0..2].copy_from_slice(&64u16.to_le_bytes());
    r[2..4].copy_from_slice(&2u16.to_le_bytes());
    r[12..16].copy_from_slice(&0.02f32.to_le_bytes());
    r[16..20].copy_from_slice(&10f32.to_le_bytes());
    r[46..48].copy_from_slice(&298u16.to_le_bytes());
    b.extend_from_slice(&r);
    b.extend_from_slice(&100f32.to_le_bytes());
    b.extend_from_slice(&121f32.to_le_bytes());
    let s = raw(&b).unwrap();
    // f32 header values widened through their shortest decimal: 0.02f32 → 0.02.
    assert_eq!(s.data.two_theta_deg, vec![10.0, 10.02]);
    assert_eq!(s.data.esd.unwrap(), vec![10.0, 11.0]);
    assert_eq!(s.meta.temperature_k, Some(298.0));
    assert_eq!(
        s.meta.wavelengths[1],
        Wavelength { angstrom: 1.54443, relative_intensity: Some(0.514) }
    );
    assert_eq!(offset(raw(&b[..b.len() - 4]).unwrap_err()), 256 + 64);
    let mut h = b.clone();
    h[256..258].copy_from_slice(&40u16.to_le_bytes());
    assert_eq!(offset(raw(&h).unwrap_err()), 256);
}

fn uxd(text: &str) -> Result<bragg_io::PowderScan, Error> {
    parse_uxd(text, Path::new("scan.uxd"))
}

fn uxd_err(text: &str) -> (usize, String) {
    let e = uxd(text).unwrap_err();
    let m = e.to_string();
    let line = match e {
        Error::Data { line, .. } | Error::Parse { line, .. } | Error::Missing { line, .. } => line,
        other => panic!("{other:?}"),
    };
    assert!(m.starts_with(&format!("scan.uxd:{line}:")), "{m}");
    (line, m)
}

#[test]
fn uxd_variants() {
    // (2θ, counts) pairs.
    let s = uxd("_FILEVERSION=2\n_WL1=1.5406\n_DRIVE='COUPLED'\n_2THETACOUNTS\n10.0 4\n10.5 9\n")
        .unwrap();
    assert_eq!(s.data.two_theta_deg, vec![10.0, 10.5]);
    assert_eq!(s.data.esd.unwrap(), vec![2.0, 3.0]);
    assert_eq!(s.meta.wavelengths.len(), 1);
    // Counts per second with a step time: σ = √(cps·t)/t.
    let s = uxd("_FILEVERSION=1\n_DRIVE='COUPLED'\n_STEPTIME=4\n_STEPSIZE=0.5\n_2THETA=20\n_STEPCOUNT=2\n_CPS\n25 4\n").unwrap();
    assert_eq!(s.data.two_theta_deg, vec![20.0, 20.5]);
    assert_eq!(s.data.esd.unwrap(), vec![2.5, 1.0]);
    // Without the step time, no esd.
    let s = uxd("_FILEVERSION=1\n_DRIVE='C'\n_STEPSIZE=0.5\n_START=20\n_CPS\n25 4\n").unwrap();
    assert_eq!(s.data.esd, None);
    // Two ranges; range keys shadow file keys; peak lists skipped.
    let t = "_FILEVERSION=1\n_STEPSIZE=1\n_DRIVE='C'\n_START=10\n_COUNTS\n1 4\n_DRIVE='C'\n_START=30\n_STEPSIZE=2\n_COUNTS\n9\n16\n_2THETA-I\n31.0 100\n";
    let r = parse_uxd_ranges(t, Path::new("scan.uxd")).unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].data.two_theta_deg, vec![10.0, 11.0]);
    assert_eq!(r[1].data.two_theta_deg, vec![30.0, 32.0]);
    assert!(uxd(t).unwrap().meta.notes[0].contains("2 ranges"));
}

#[test]
fn uxd_rejections() {
    let h = "_FILEVERSION=1\n_DRIVE='C'\n";
    let (l, m) = uxd_err(&format!("{h}_STEPSIZE=0.5\n_START=20\n_STEPCOUNT=3\n_COUNTS\n1 2\n"));
    assert_eq!(l, 5);
    assert!(m.contains("_STEPCOUNT=3") && m.contains("holds 2"), "{m}");
    assert!(uxd_err(&format!("{h}_START=20\n_COUNTS\n1 2\n")).1.contains("_STEPSIZE"));
    assert!(uxd_err(&format!("{h}_STEPSIZE=1\n_COUNTS\n1 2\n")).1.contains("_START"));
    assert_eq!(uxd_err(&format!("{h}_STEPSIZE=-1\n_START=2\n_COUNTS\n1 2\n")).0, 3);
    assert_eq!(uxd_err(&format!("{h}_STEPSIZE=x\n_START=2\n_COUNTS\n1 2\n")).0, 3);
    // A step below the resolution of 2θ at the start (found by cargo fuzz): no distinct 2θ.
    let (_, m) = uxd_err(&format!("{h}_STEPSIZE=0.01\n_START=2e19\n_COUNTS\n1 2\n"));
    assert!(m.contains("no distinct 2θ"), "{m}");
    assert_eq!(uxd_err(&format!("{h}_STEPSIZE=1\n_START=2\n_COUNTS\n1 two\n")).0, 6);
    assert_eq!(uxd_err(&format!("{h}_STEPSIZE=1\n_START=2\n_COUNTS\n1 -2\n")).0, 6);
    assert_eq!(uxd_err(&format!("{h}_STEPSIZE=1\n_START=2\n_COUNTS\n1 inf\n")).0, 6);
    assert_eq!(uxd_err(&format!("{h}_2THETACOUNTS\n10 1\n10 2\n")).0, 5);
    assert_eq!(uxd_err(&format!("{h}_2THETACOUNTS\n10 1 3\n")).0, 4);
    assert_eq!(uxd_err(&format!("{h}_STEPSIZE=1\n1 2\n")).0, 4);
    assert_eq!(uxd_err("1 2 3\n").0, 1);
    assert!(uxd_err(&format!("{h}_STEPSIZE=1\n")).1.contains("missing UXD data"));
}
