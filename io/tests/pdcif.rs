#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! pdCIF: reading several blocks (counts on a 2θ range, processed intensities with su in
//! parentheses), the writer's round trip, and bad input.

use bragg_io::pdcif::{parse_pdcif_scans, pdcif_string, read_pdcif, read_pdcif_scans};
use bragg_io::{
    read_powder, write_pdcif, Error, PdCifPattern, PdCifStats, PdCifTwoTheta, PowderFormat,
    Wavelength,
};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data").join(name)
}

const RAW: [f64; 11] = [100., 120., 150., 400., 1600., 300., 1500., 420., 160., 118., 101.];

#[test]
fn sample_blocks() {
    let p = fixture("sample_pdcif.cif");
    let all = read_pdcif_scans(&p).unwrap();
    assert_eq!(all.len(), 2, "the instrument block has no points");
    let a = &all[0];
    assert_eq!(a.meta.format, PowderFormat::PdCif);
    assert_eq!(a.meta.field("data block"), Some("counts"));
    assert_eq!(a.data.intensity, RAW.to_vec());
    for (i, raw) in RAW.iter().enumerate() {
        assert!((a.data.two_theta_deg[i] - (20.0 + 0.02 * i as f64)).abs() < 1e-12);
        assert_eq!(a.data.esd.as_ref().unwrap()[i], raw.sqrt()); // counts: σ = √counts
    }
    assert_eq!(a.meta.wavelengths[0].angstrom, 1.540593); // from the instrument block
    assert_eq!(a.meta.temperature_k, Some(295.0));
    assert_eq!(a.meta.comment.as_deref(), Some("NiO test"));
    let b = &all[1];
    assert_eq!(b.data.intensity[5], 3000.0);
    assert_eq!(b.data.esd.as_ref().unwrap()[5], 173.0); // su in parentheses: 3000(173)
    assert_eq!(b.data.two_theta_deg[10], 20.2);
    let first = read_pdcif(&p).unwrap();
    assert!(first.meta.notes.iter().any(|n| n.contains("2 powder data blocks")));
    assert_eq!(read_powder(&p).unwrap().meta.format, PowderFormat::PdCif);
}

#[test]
fn writer_round_trip() {
    let tth: Vec<f64> = (0..500).map(|i| 5.0 + 0.013 * i as f64).collect();
    let obs: Vec<f64> =
        tth.iter().map(|t| 100.0 + 1e4 * (-(t - 8.0f64).powi(2)).exp() + t / 3.0).collect();
    let mut esd: Vec<f64> = obs.iter().map(|y| y.sqrt()).collect();
    esd[3] = 0.0; // an excluded point
    let calc: Vec<f64> = obs.iter().map(|y| y * 0.99 + 0.1).collect();
    let bkg: Vec<f64> = tth.iter().map(|t| 100.0 + t / 3.0).collect();
    let wl = [
        Wavelength { angstrom: 1.540593, relative_intensity: Some(1.0) },
        Wavelength { angstrom: 1.544414, relative_intensity: Some(0.5) },
    ];
    let stats = PdCifStats {
        r_p: Some(0.0612),
        r_wp: Some(0.0845),
        r_exp: Some(0.0421),
        goodness_of_fit: Some(0.0845 / 0.0421),
        number_of_parameters: Some(17),
        ..Default::default()
    };
    let mut pat = PdCifPattern::new("LTNO fit", &tth, &obs);
    pat.two_theta_tag = PdCifTwoTheta::Corrected;
    pat.esd = Some(&esd);
    pat.calculated = Some(&calc);
    pat.background = Some(&bkg);
    pat.wavelengths = &wl;
    pat.stats = Some(&stats);
    pat.comment = Some("it's a 'test'");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fit.cif");
    write_pdcif(&out, &pat).unwrap();
    let back = read_powder(&out).unwrap();
    assert_eq!(back.meta.format, PowderFormat::PdCif);
    assert_eq!(back.data.two_theta_deg, tth); // shortest exact decimals: bit-identical
    assert_eq!(back.data.intensity, obs);
    let e = back.data.esd.as_ref().unwrap();
    for i in 0..tth.len() {
        assert!((e[i] - esd[i]).abs() <= 1e-13 * esd[i], "{i}: {} vs {}", e[i], esd[i]);
    }
    assert_eq!(back.meta.wavelengths, wl.to_vec());
    assert_eq!(back.meta.comment.as_deref(), Some("it's a 'test'"));
    assert_eq!(back.meta.field("_pd_proc_ls_prof_wr_factor"), Some("0.0845"));
    assert_eq!(back.meta.field("data block"), Some("LTNO_fit"));
    // The calculated and background columns are in the file (checked with the CIF tokenizer).
    let text = std::fs::read_to_string(&out).unwrap();
    let blocks = bragg_io::cif::syntax::parse_blocks(&text, &out).unwrap();
    let l = blocks[0].find_loop("_pd_calc_intensity_total").unwrap();
    let c = l.column("_pd_calc_intensity_total").unwrap();
    let k = l.column("_pd_proc_intensity_bkg_calc").unwrap();
    let rows: Vec<_> = l.rows().collect();
    assert_eq!(rows[7][c].number().unwrap().0, calc[7]);
    assert_eq!(rows[499][k].number().unwrap().0, bkg[499]);
    assert_eq!(blocks[0].value("_refine_ls_number_parameters").unwrap().text, "17");
}

#[test]
fn writer_refuses_bad_input_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.cif");
    let t = [1.0, 2.0, 3.0];
    let y = [1.0, 2.0];
    let e = write_pdcif(&out, &PdCifPattern::new("b", &t, &y)).unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e}");
    let y = [1.0, f64::NAN, 2.0];
    assert!(write_pdcif(&out, &PdCifPattern::new("b", &t, &y)).is_err());
    let t2 = [1.0, 1.0, 3.0];
    let y = [1.0, 2.0, 3.0];
    assert!(pdcif_string(&PdCifPattern::new("b", &t2, &y)).is_err());
    assert!(!out.exists());
}

#[test]
fn bad_pdcif_names_the_line() {
    let p = Path::new("bad.cif");
    let e = parse_pdcif_scans(
        "data_a\nloop_\n_pd_meas_2theta_scan\n_pd_meas_counts_total\n1 10\n2 x\n",
        p,
    )
    .unwrap_err();
    assert!(matches!(e, Error::Parse { line: 6, .. }), "{e}");
    let e = parse_pdcif_scans(
        "data_a\nloop_\n_pd_meas_2theta_scan\n_pd_meas_counts_total\n1 10\n1 11\n",
        p,
    )
    .unwrap_err();
    assert!(matches!(e, Error::Data { line: 6, .. }), "{e}");
    let e = parse_pdcif_scans("data_a\nloop_\n_pd_meas_counts_total\n10\n11\n", p).unwrap_err();
    assert!(matches!(e, Error::Missing { line: 2, .. }), "{e}");
    let e = parse_pdcif_scans(
        "data_a\nloop_\n_pd_meas_2theta_scan\n_pd_meas_counts_total\n1 10\n2 ?\n",
        p,
    )
    .unwrap_err();
    assert!(matches!(e, Error::Data { line: 6, .. }), "{e}");
    let e = parse_pdcif_scans("data_a\n_cell_length_a 4\n", p).unwrap_err();
    assert!(matches!(e, Error::Missing { .. }), "{e}");
    let e = parse_pdcif_scans("data_a\n_pd_meas_2theta_range_min 1\n_pd_meas_2theta_range_inc 0.1\n_pd_meas_2theta_range_max 9\nloop_\n_pd_meas_counts_total\n1\n2\n", p).unwrap_err();
    assert!(matches!(e, Error::Data { line: 4, .. }), "{e}");
}
