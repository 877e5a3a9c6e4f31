//! GSAS raw powder data, GSAS `.prm` and GSAS-II `.instprm` instrument parameters: real files
//! checked against the numbers in their text, synthetic files for every layout and every
//! rejection (each naming file and line), and robustness on mangled input.

#![allow(clippy::unwrap_used, clippy::panic)]

use approx::assert_relative_eq;
use bragg_io::gsas::prm::parse_gsas_prm;
use bragg_io::gsas::{parse_gsas, parse_gsas_banks, read_gsas, read_gsas_prm};
use bragg_io::instprm::{parse_instprm, read_instprm};
use bragg_io::{Error, PowderFormat};
use std::path::{Path, PathBuf};

/// `../shared/data/<rel>` beside the workspace, or `None` (with a note) when absent.
fn shared(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("note: {} is absent; skipping", p.display());
        None
    }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data").join(name)
}

fn parse(text: &str) -> Result<bragg_io::PowderScan, Error> {
    parse_gsas(text, Path::new("scan.gsa"))
}

/// The error's line and message, asserting the `scan.gsa:<line>:` prefix.
fn err_line(text: &str) -> (usize, String) {
    let e = parse(text).unwrap_err();
    let msg = e.to_string();
    let line = match e {
        Error::Data { line, .. } | Error::Parse { line, .. } | Error::Missing { line, .. } => line,
        other => panic!("{other:?}"),
    };
    assert!(msg.starts_with(&format!("scan.gsa:{line}:")), "{msg}");
    (line, msg)
}

#[test]
fn pbso4_xray_std() {
    let Some(p) = shared("pbso4-roundrobin/PBSO4.XRA") else { return };
    let s = read_gsas(&p).unwrap();
    let d = &s.data;
    assert_eq!(s.meta.format, PowderFormat::Gsas);
    // "BANK 1  6001  601 CONST 1000 2.5 0 0 STD": 6001 points from 1000 centideg, step 2.5.
    assert_eq!(d.len(), 6001);
    assert_eq!(d.two_theta_deg[0], 10.0);
    assert_relative_eq!(d.two_theta_deg[3000], 85.0, epsilon = 1e-12);
    assert_relative_eq!(d.two_theta_deg[6000], 160.0, epsilon = 1e-12);
    // Counts from the file text: record 1 "179 147 ...", record 2 "167 ...", record 301
    // "197 ...", record 600 ends "328", record 601 is "368" followed by 9 padding zeros.
    assert_eq!((d.intensity[0], d.intensity[1], d.intensity[10]), (179.0, 147.0, 167.0));
    assert_eq!(d.intensity[3000], 197.0);
    assert_eq!(d.intensity[5999], 328.0);
    assert_eq!(d.intensity[6000], 368.0);
    // No counter field: σ = √counts.
    assert_relative_eq!(d.esd.as_ref().unwrap()[0], 179f64.sqrt());
    assert!(s.meta.comment.as_deref().unwrap().contains("PbSO4"));
    assert!(s.meta.notes.is_empty(), "{:?}", s.meta.notes);
}

#[test]
fn pbso4_neutron_counter_field() {
    let Some(p) = shared("pbso4-roundrobin/PBSO4.CWN") else { return };
    let s = read_gsas(&p).unwrap();
    let d = &s.data;
    // "BANK 1 2919 292 CONST 1000 5 0 0" (no TYPE: STD); title gives 10.0 0.05 155.9.
    assert_eq!(d.len(), 2919);
    assert_relative_eq!(d.two_theta_deg[2918], 155.9, epsilon = 1e-12);
    let e = d.esd.as_ref().unwrap();
    // " 1   220": NCTR = 1, YO = 220 → σ = √220.
    assert_eq!(d.intensity[0], 220.0);
    assert_relative_eq!(e[0], 220f64.sqrt());
    // Record 124 "10   21110   216...": NCTR = 10, YO = 211 counts per counter,
    // σ = √(NCTR·YO)/NCTR = √(211/10) (LAUR 86-748; GSAS-II variance YO/NCTR).
    assert_eq!(d.intensity[1230], 211.0);
    assert_relative_eq!(e[1230], (211.0f64 / 10.0).sqrt(), max_relative = 1e-15);
    assert_eq!(d.intensity[1234], 219.0);
    assert_eq!(d.intensity[2918], 450.0);
    // The file repeats its last record after the 292 announced: tolerated, noted.
    assert_eq!(s.meta.notes.len(), 1, "{:?}", s.meta.notes);
    assert!(s.meta.notes[0].contains("lines 295-295"), "{:?}", s.meta.notes);
}

#[test]
fn nist_lab6_std() {
    let Some(p) = shared("lab-lab6-660/NIST660CBI.gsas") else { return };
    let d = read_gsas(&p).unwrap().data;
    // 8378 points, 15.0066° (1500.66 centideg), step 0.0131303° (shared/data/README.md).
    assert_eq!(d.len(), 8378);
    assert_relative_eq!(d.two_theta_deg[0], 15.0066, epsilon = 1e-12);
    assert_relative_eq!(d.two_theta_deg[1] - d.two_theta_deg[0], 0.0131303, epsilon = 1e-12);
    assert_relative_eq!(d.two_theta_deg[8377], 15.0066 + 8377.0 * 0.0131303, epsilon = 1e-9);
    assert!((d.two_theta_deg[8377] - 125.0).abs() < 1e-3);
    assert_eq!((d.intensity[0], d.intensity[4000], d.intensity[8377]), (2364.0, 3890.0, 370.0));
}

#[test]
fn cucr2o4_fxye() {
    let Some(p) = shared("seq-cucr2o4-11bm/OH_00.fxye") else { return };
    let s = read_gsas(&p).unwrap();
    let d = &s.data;
    let e = d.esd.as_ref().unwrap();
    // "BANK 1 12799 12799 CONS 50.000000 0.200000 0 0 FXYE", x in centidegrees.
    assert_eq!(d.len(), 12799);
    assert_eq!((d.two_theta_deg[0], d.intensity[0], e[0]), (0.5, 65.247734, 11.584726));
    // Line 6420: "1329.800000 16.664575 3.790634" (point 6399).
    assert_relative_eq!(d.two_theta_deg[6399], 13.298, epsilon = 1e-12);
    assert_eq!((d.intensity[6399], e[6399]), (16.664575, 3.790634));
    assert_relative_eq!(d.two_theta_deg[12798], 26.096, epsilon = 1e-12);
    // Header comments: "# Temp (K) = 6.778", "# Calibrated wavelength = 0.413263".
    assert_eq!(s.meta.temperature_k, Some(6.778));
    assert_eq!(s.meta.wavelengths.len(), 1);
    assert_eq!(s.meta.wavelengths[0].angstrom, 0.413263);
    assert_eq!(s.meta.timestamp.as_deref(), Some("APR 25, 2011 12:35:45.325926"));
    assert_eq!(s.meta.field("Composition"), Some("CuCr2O4"));
}

#[test]
fn synthetic_layouts() {
    // STD with counters, in fixed width, numbers touching across fields.
    let t = "title\nBANK 1 3 1 CONST 1000 10 0 0 STD\n 4    4010    50 1     9\n";
    let d = parse(t).unwrap().data;
    assert_eq!(d.two_theta_deg, vec![10.0, 10.1, 10.2]);
    assert_eq!(d.intensity, vec![40.0, 50.0, 9.0]);
    assert_eq!(d.esd.unwrap(), vec![10f64.sqrt(), 5f64.sqrt(), 3.0]);
    // A free-format STD file (not aligned on 8 columns): counts, one counter each.
    let t = "t\nBANK 1 12 2 CONST 400 1\n20 21 26 29 30 36 18 21 25 25\n4 9\n";
    let d = parse(t).unwrap().data;
    assert_eq!(d.len(), 12);
    assert_eq!(d.intensity[11], 9.0);
    assert_eq!(d.esd.unwrap()[10], 2.0);
    // ESD, fixed width and free format.
    let t = "t\nBANK 1 3 1 CONST 500 5 0 0 ESD\n   100.0    10.0    -2.5     1.5     9.0     3.0\n";
    let d = parse(t).unwrap().data;
    assert_eq!(d.intensity, vec![100.0, -2.5, 9.0]);
    assert_eq!(d.esd.unwrap(), vec![10.0, 1.5, 3.0]);
    let t = "t\nBANK 1 2 1 CONST 500 5 0 0 ESD\n100 10 4 2\n";
    assert_eq!(parse(t).unwrap().data.esd.unwrap(), vec![10.0, 2.0]);
    // FXY: σ = √y.
    let t = "t\nBANK 1 2 2 CONS 0 0 0 0 FXY\n1000 16\n1010 25\n";
    let d = parse(t).unwrap().data;
    assert_eq!(d.two_theta_deg, vec![10.0, 10.1]);
    assert_eq!(d.esd.unwrap(), vec![4.0, 5.0]);
    // Two banks, a comment inside the data, instrument-file line.
    let t = "t\nInstrument parameter file:inst.prm\nBANK 1 2 1 CONST 1000 10 STD\n     1     4\n\
             # between\nBANK 2 1 1 CONST 2000 10 STD\n    16\n";
    let b = parse_gsas_banks(t, Path::new("scan.gsa")).unwrap();
    assert_eq!(b.len(), 2);
    assert_eq!(b[1].data.two_theta_deg, vec![20.0]);
    assert_eq!(b[0].meta.field("Instrument parameter file"), Some("inst.prm"));
    assert!(parse(t).unwrap().meta.notes[0].contains("2 banks"));
}

#[test]
fn rejections_name_the_line() {
    assert!(err_line("").1.contains("BANK"));
    assert!(err_line("title only\n1 2 3\n").1.contains("BANK"));
    let (l, m) = err_line("t\nBANK 1 10 1 RALF 1 2 3 4 FXYE\n");
    assert_eq!(l, 2);
    assert!(m.contains("RALF"), "{m}");
    assert!(err_line("t\nBANK 1 10 1 CONST 1 2 0 0 ALT\n").1.contains("ALT"));
    assert_eq!(err_line("t\nBANK 1 10 1 CONST 1 -2 0 0 STD\n").0, 2);
    assert_eq!(err_line("t\nBANK 1 ten 1 CONST 1 2 0 0 STD\n").0, 2);
    assert_eq!(err_line("t\nBANK 1 0 1 CONST 1 2 0 0 STD\n").0, 2);
    assert!(err_line("t\nBANK 1 5 1 CONST\n").1.contains("BCOEF1"));
    // Too few points: the message gives both counts, the line is the last record.
    let (l, m) = err_line("t\nBANK 1 25 3 CONST 1000 10 0 0 STD\n       1       2       3       4       5       6       7       8       9      10\n       1       2       3       4       5       6       7       8       9      10\n");
    assert_eq!(l, 4);
    assert!(m.contains("NCHAN = 25") && m.contains("only 20"), "{m}");
    // A short record followed by more data.
    let (l, m) = err_line("t\nBANK 1 12 2 CONST 1000 10 0 0 STD\n       1       2\n       3       4       5       6       7       8       9      10       1       2\n");
    assert_eq!(l, 3);
    assert!(m.contains("holds 2 points"), "{m}");
    assert_eq!(err_line("t\nBANK 1 2 1 CONST 1000 10 0 0 STD\n      -5       3\n").0, 3);
    assert_eq!(err_line("t\nBANK 1 2 1 CONST 1000 10 0 0 STD\n     abc       3\n").0, 3);
    assert_eq!(err_line("t\nBANK 1 1 1 CONST 1000 10 0 0 ESD\n    10.0    -1.0\n").0, 3);
    // A step below the resolution of 2θ (found by cargo fuzz): the data line is named.
    let (l, m) = err_line("t\nBANK 1 2 1 CONST 2e21 10 0 0 STD\n       1       2\n");
    assert_eq!(l, 3);
    assert!(m.contains("no distinct 2θ"), "{m}");
    assert_eq!(err_line("t\nBANK 1 1 1 CONST 1000 10 0 0 ESD\n    10.0\n").0, 3);
    let fx = "t\nBANK 1 3 3 CONS 0 0 0 0 FXYE\n1000 1 1\n";
    assert_eq!(err_line(&format!("{fx}1000 1 1\n1020 1 1\n")).0, 4); // not increasing
    assert_eq!(err_line(&format!("{fx}1010 NaN 1\n1020 1 1\n")).0, 4);
    assert_eq!(err_line(&format!("{fx}1010 1 -1\n1020 1 1\n")).0, 4);
    assert_eq!(err_line(&format!("{fx}1010 1\n1020 1 1\n")).0, 4);
    assert_eq!(err_line("t\nBANK 1 2 2 CONS 0 0 0 0 FXY\n1000 -4\n1010 1\n").0, 3);
    assert!(err_line("t\nTIME_MAP 1 2 3\n").1.contains("TIME_MAP"));
}

#[test]
fn mangled_input_never_panics() {
    let Some(p) = shared("pbso4-roundrobin/PBSO4.CWN") else { return };
    let text = std::fs::read_to_string(&p).unwrap();
    let bytes = text.as_bytes();
    // Every truncation point in the first records, then coarser.
    // (The last two lines are the 292nd record and its repetition: stop before them.)
    let cuts = (0..600).chain((600..bytes.len() - 200).step_by(997));
    for cut in cuts {
        let t = String::from_utf8_lossy(&bytes[..cut]);
        let r = parse(&t);
        assert!(r.is_err(), "truncated at {cut} should not give a full bank");
    }
    // Deterministic byte substitutions (a small LCG), including non-ASCII bytes.
    let mut state = 12345u64;
    for _ in 0..300 {
        let mut b = bytes[..4000].to_vec();
        for _ in 0..5 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let i = (state >> 33) as usize % b.len();
            b[i] = (state >> 20) as u8;
        }
        let _ = parse(&String::from_utf8_lossy(&b));
    }
}

// ---------------------------------------------------------------- instrument parameters

#[test]
fn prm_pbso4_xray() {
    let Some(p) = shared("pbso4-roundrobin/INST_XRY.PRM") else { return };
    let prm = read_gsas_prm(&p).unwrap();
    assert_eq!(prm.htype.as_deref(), Some("PXCR"));
    assert!(!prm.is_neutron());
    let b = prm.bank(1).unwrap();
    // "INS  1 ICONS  1.540500  1.544300       0.0         0       0.7    0       0.5"
    assert_eq!((b.lambda1_angstrom, b.lambda2_angstrom), (1.5405, Some(1.5443)));
    assert_eq!((b.zero_centideg, b.pola, b.ipola, b.kratio), (0.0, 0.7, 0, 0.5));
    assert_eq!(b.irad, Some(3));
    assert_eq!(b.head.as_deref(), Some("DUMMY INCIDENT SPECTRUM FOR X-RAY DIFFRACTOMETER"));
    // "PRCF1     3    8      0.01" then GU GV GW GP / LX LY S/L H/L.
    let f = &b.profiles[0];
    assert_eq!((f.function_type, f.coefficients.len(), f.peak_cutoff), (3, 8, 0.01));
    assert_eq!(f.coefficients, vec![2.0, -2.0, 5.0, 0.1, 0.0, 0.0, 0.015, 0.015]);
    assert_eq!((f.get("GW"), f.get("GP"), f.get("H/L")), (Some(5.0), Some(0.1), Some(0.015)));
    assert_eq!(f.get("L11"), None);
    let w = b.wavelengths();
    assert_eq!(w[1].relative_intensity, Some(0.5));
    // GSAS → GSAS-II conversion equals the hand-written GSAS-II file of the same instrument.
    let converted = b.to_instprm(prm.htype.as_deref());
    let written = read_instprm(&fixture("pbso4_xry.instprm")).unwrap();
    assert_eq!(converted.kind, written.kind);
    assert_eq!(converted.wavelengths, written.wavelengths);
    assert_eq!((converted.u, converted.v, converted.w), (written.u, written.v, written.w));
    assert_eq!((converted.x, converted.y, converted.z), (written.x, written.y, written.z));
    assert_eq!(converted.zero_deg, written.zero_deg);
    assert_eq!(converted.polarisation, written.polarisation);
    assert_relative_eq!(converted.sh_l, written.sh_l, epsilon = 1e-15);
}

#[test]
fn prm_d1a_neutron_two_profiles() {
    let Some(p) = shared("pbso4-roundrobin/inst_d1a.prm") else { return };
    let prm = read_gsas_prm(&p).unwrap();
    assert!(prm.is_neutron());
    let b = &prm.banks[0];
    assert_eq!((b.lambda1_angstrom, b.lambda2_angstrom, b.zero_centideg), (1.909, None, -0.1));
    assert_eq!(b.wavelengths().len(), 1);
    assert_eq!(b.profiles.len(), 2);
    let (p1, p2) = (&b.profiles[0], &b.profiles[1]);
    assert_eq!((p1.number, p1.function_type, p2.number, p2.function_type), (1, 1, 2, 2));
    assert_eq!(p1.coefficients, vec![354.031, -760.404, 651.592, 0.0, 0.0, 0.0]);
    assert_eq!(p2.get("LX"), Some(0.0));
    assert_eq!(b.to_instprm(prm.htype.as_deref()).zero_deg, -0.001);
}

#[test]
fn prm_11bm() {
    let Some(p) = shared("seq-cucr2o4-11bm/OH_00.prm") else { return };
    let prm = read_gsas_prm(&p).unwrap();
    let b = &prm.banks[0];
    // "INS  1 ICONS 0.4132630    0.0000    0.0000               0.990    0     0.500"
    assert_eq!((b.lambda1_angstrom, b.lambda2_angstrom), (0.413263, None));
    assert_eq!((b.pola, b.kratio, b.irad), (0.99, 0.5, Some(0)));
    assert_eq!(b.instrument_name.as_deref(), Some("APS11BM"));
    let f = &b.profiles[0];
    assert_eq!((f.function_type, f.coefficients.len(), f.peak_cutoff), (3, 19, 0.001));
    assert_eq!((f.get("GU"), f.get("GV"), f.get("GW")), (Some(1.163), Some(-0.126), Some(0.063)));
    assert_eq!(
        (f.get("LX"), f.get("S/L"), f.get("H/L")),
        (Some(0.173), Some(0.0011), Some(0.0011))
    );
    assert_eq!(f.get("L23"), Some(0.0));
    let i = b.to_instprm(prm.htype.as_deref());
    assert_relative_eq!(i.sh_l, 0.0022, epsilon = 1e-15);
    assert_eq!(i.wavelengths.len(), 1);
}

#[test]
fn prm_rejections() {
    let p = Path::new("inst.prm");
    let head = "INS   HTYPE   PXCR\n";
    let e = parse_gsas_prm("hello\n", p).unwrap_err();
    assert!(matches!(e, Error::Missing { line: 1, .. }), "{e}");
    let e = parse_gsas_prm(&format!("{head}INS  1 IRAD     3\n"), p).unwrap_err();
    assert!(e.to_string().contains("ICONS"), "{e}");
    let e = parse_gsas_prm(&format!("{head}INS  1 ICONS  1.54x500  1.544300\n"), p).unwrap_err();
    assert!(matches!(e, Error::Parse { line: 2, .. }), "{e}");
    let e = parse_gsas_prm(&format!("{head}INS  1 ICONS -1.540500\n"), p).unwrap_err();
    assert!(matches!(e, Error::Data { line: 2, .. }), "{e}");
    let e = parse_gsas_prm(
        &format!("{head}INS  1 ICONS  1.540500\nINS  1PRCF1     3    8      0.01\nINS  1PRCF11   1 2 3 4\n"),
        p,
    )
    .unwrap_err();
    assert!(matches!(e, Error::Missing { line: 3, .. }), "{e}");
    assert!(e.to_string().contains("announces 8 terms"), "{e}");
    let e = parse_gsas_prm("INS   HTYPE   PNTR\nINS  1 ICONS  1.5\n", p).unwrap_err();
    assert!(e.to_string().contains("time-of-flight"), "{e}");
}

#[test]
fn instprm_multibank_and_rejections() {
    let path = fixture("two_banks.instprm");
    let first = read_instprm(&path).unwrap();
    assert_eq!(first.kind, "PXC");
    assert_eq!(first.wavelengths.len(), 1);
    assert_eq!(first.wavelengths[0].angstrom, 0.413263);
    assert_eq!((first.zero_deg, first.polarisation, first.sh_l), (-0.0012, Some(0.99), 0.0022));
    let text = std::fs::read_to_string(&path).unwrap();
    let second = parse_instprm(&text, &path, Some(2)).unwrap();
    assert_eq!((second.kind.as_str(), second.u, second.z), ("PNC", 354.031, 0.0));
    assert_eq!(second.azimuth_deg, None);
    let e = parse_instprm(&text, &path, Some(3)).unwrap_err();
    assert!(matches!(e, Error::Missing { .. }), "{e}");

    let p = Path::new("x.instprm");
    let h = "#GSAS-II instrument parameter file\n";
    let e = parse_instprm("Type:PXC\n", p, None).unwrap_err();
    assert!(matches!(e, Error::Parse { line: 1, .. }), "{e}");
    let e = parse_instprm(&format!("{h}Type:PXC\nLam:1.5\nZero\n"), p, None).unwrap_err();
    assert!(matches!(e, Error::Parse { line: 4, .. }), "{e}");
    let e = parse_instprm(&format!("{h}Type:PXC\nLam:1.5x\n"), p, None).unwrap_err();
    assert!(matches!(e, Error::Parse { line: 3, .. }), "{e}");
    let e = parse_instprm(&format!("{h}Type:PXC\nLam:1.5\nZero:0\n"), p, None).unwrap_err();
    assert!(e.to_string().contains("'U'"), "{e}");
    let e = parse_instprm(&format!("{h}Type:PNT\n"), p, None).unwrap_err();
    assert!(matches!(e, Error::Data { line: 2, .. }), "{e}");
    let full = format!("{h}Type:PXC\nLam:-1.5\nZero:0\nU:1\nV:1\nW:1\nX:0\nY:0\nSH/L:0.002\n");
    assert!(matches!(parse_instprm(&full, p, None).unwrap_err(), Error::Data { line: 3, .. }));
}
