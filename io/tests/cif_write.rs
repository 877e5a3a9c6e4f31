//! The CIF writer, tested by reading its output back with the reader (and checking the su in
//! parentheses), on a fixture with mixed occupancy and on real files.

// Test helpers outside #[test] functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::panic)]

use bragg_crystal::structure::Phase;
use bragg_io::cif::{cif_string, read_cif, write_cif, PhaseSu};
use bragg_io::Error;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("fixtures").join("cif").join(name)
}

fn round_trip(source: &std::path::Path, use_su: bool) {
    let dir = tempfile::tempdir().unwrap();
    for (k, original) in read_cif(source).unwrap().into_iter().enumerate() {
        let out = dir.path().join(format!("out{k}.cif"));
        write_cif(&out, &original.phase, use_su.then_some(&original.su)).unwrap();
        let back = read_cif(&out).unwrap_or_else(|e| {
            panic!("{e}\n{}", std::fs::read_to_string(&out).unwrap_or_default())
        });
        assert_eq!(back.len(), 1);
        let back = &back[0];
        if use_su {
            // Values are rounded to their su's last digit: equal within half of it.
            assert_close_by_su(&back.phase, &original.phase, &original.su);
            // su are written rounded to 1–2 significant digits; the fixtures' su already are.
            assert_eq!(back.su.cell, original.su.cell);
            for (a, b) in back.su.sites.iter().zip(&original.su.sites) {
                for (x, y) in a.position.iter().zip(&b.position) {
                    assert!(
                        x.zip(*y).is_none_or(|(x, y)| (x - y).abs() < 1e-15)
                            && x.is_some() == y.is_some()
                    );
                }
            }
        } else {
            assert_eq!(back.phase, original.phase, "{}", source.display());
            // Without su nothing in parentheses: every su reads back as None.
            assert_eq!(back.su.cell, Default::default());
            for s in &back.su.sites {
                assert!(
                    s.position.iter().all(Option::is_none)
                        && s.biso.is_none()
                        && s.occupancy.iter().all(Option::is_none)
                );
            }
        }
    }
}

/// |a − b| ≤ su/2 (with rounding slack), or a == b when there is no su.
fn within(a: f64, b: f64, su: Option<f64>, what: &str) {
    match su {
        Some(s) => {
            assert!((a - b).abs() <= 0.5 * s * (1.0 + 1e-9) + 1e-15, "{what}: {a} vs {b} (su {s})")
        }
        None => assert_eq!(a, b, "{what}"),
    }
}

fn assert_close_by_su(back: &Phase, orig: &Phase, su: &PhaseSu) {
    assert_eq!((&back.name, &back.space_group, back.z), (&orig.name, &orig.space_group, orig.z));
    let (b, o, s) = (&back.cell, &orig.cell, &su.cell);
    within(b.a, o.a, s.a, "a");
    within(b.b, o.b, s.b, "b");
    within(b.c, o.c, s.c, "c");
    within(b.alpha_deg, o.alpha_deg, s.alpha_deg, "alpha");
    within(b.beta_deg, o.beta_deg, s.beta_deg, "beta");
    within(b.gamma_deg, o.gamma_deg, s.gamma_deg, "gamma");
    assert_eq!(back.sites.len(), orig.sites.len());
    for ((bs, os), ss) in back.sites.iter().zip(&orig.sites).zip(&su.sites) {
        assert_eq!(bs.label, os.label);
        for i in 0..3 {
            within(bs.position[i], os.position[i], ss.position[i], &format!("{} x{i}", os.label));
        }
        within(bs.biso, os.biso, ss.biso, &format!("{} B", os.label));
        assert_eq!(bs.occupants.len(), os.occupants.len());
        for (j, (bo, oo)) in bs.occupants.iter().zip(&os.occupants).enumerate() {
            assert_eq!(bo.species, oo.species);
            within(bo.occupancy, oo.occupancy, ss.occupancy[j], &format!("{} occ", os.label));
        }
    }
}

#[test]
fn round_trip_fixtures() {
    for name in ["LTNO_pymatgen.cif", "rutile_vesta.cif", "two_blocks.cif"] {
        round_trip(&fixture(name), true);
        round_trip(&fixture(name), false);
    }
}

#[test]
fn round_trip_real_files() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    if !root.is_dir() {
        eprintln!("note: {} is absent; skipping", root.display());
        return;
    }
    for rel in [
        "pbso4-roundrobin/PbSO4-Wyckoff.cif",
        "licoo2-bruker/LiCoO2-COD-1533825.cif",
        "seq-cucr2o4-11bm/CuCr2O4.cif",
        "seq-cucr2o4-11bm/CuO.cif",
    ] {
        round_trip(&root.join(rel), true);
    }
}

#[test]
fn su_in_parentheses_and_mixed_rows() {
    let p = &read_cif(&fixture("rutile_vesta.cif")).unwrap()[0];
    let text = cif_string(&p.phase, Some(&p.su));
    // su 0.0001: leading digit 1, so two digits (rule of 19).
    assert!(text.contains("_cell_length_a              4.59370(10)\n"), "{text}");
    assert!(text.contains("_cell_angle_alpha           90\n"), "{text}");
    assert!(text.contains(" 0.30478(6) 0.30478(6) 0 "), "{text}");
    let ltno = &read_cif(&fixture("LTNO_pymatgen.cif")).unwrap()[0];
    let text = cif_string(&ltno.phase, None);
    // One row per occupant of the mixed site, distinct labels.
    assert!(text.contains("\nLi0 Li1+ 0 0 0 0.585 Biso 0\n"), "{text}");
    assert!(text.contains("\nLi0_Ti Ti4+ 0 0 0 0.29 Biso 0\n"), "{text}");
    assert!(text.contains("\nLi0_Ni Ni2+ 0 0 0 0.125 Biso 0\n"), "{text}");
    assert_eq!(text.matches("\n1 x,y,z\n").count(), 1);
}

#[test]
fn su_of_wrong_length_writes_nothing() {
    let p = &read_cif(&fixture("rutile_vesta.cif")).unwrap()[0];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.cif");
    let bad = PhaseSu { cell: p.su.cell, sites: Vec::new() };
    assert!(matches!(write_cif(&out, &p.phase, Some(&bad)), Err(Error::InvalidInput { .. })));
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no temporary file left behind");
}
