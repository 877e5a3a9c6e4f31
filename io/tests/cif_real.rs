//! The CIF reader on real files from `../shared/data/` (see that folder's README for their
//! provenance). Reference values are the numbers printed in the files themselves; the chemical
//! formula computed from the model (site multiplicities × occupancies / Z) is checked against the
//! file's own `_chemical_formula_sum`, an independent statement of the same content.

// Test helpers outside #[test] functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::panic)]

use bragg_io::cif::{read_cif, CifPhase};
use std::f64::consts::PI;
use std::path::PathBuf;

fn data_file(rel: &str) -> Option<PathBuf> {
    let root =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("..").join("shared").join("data");
    if !root.is_dir() {
        eprintln!("note: {} is absent; skipping real-data CIF test", root.display());
        return None;
    }
    Some(root.join(rel))
}

fn read_one(rel: &str) -> Option<CifPhase> {
    let path = data_file(rel)?;
    let mut phases = read_cif(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(phases.len(), 1, "{rel}");
    phases.pop()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn pbso4_round_robin() {
    let Some(p) = read_one("pbso4-roundrobin/PbSO4-Wyckoff.cif") else { return };
    let ph = &p.phase;
    assert_eq!(ph.name, "pbso4-phase");
    assert_eq!(p.pd_phase_name.as_deref(), Some("PbSO4"));
    let c = &ph.cell;
    assert!(close(c.a, 8.48) && close(c.b, 5.398) && close(c.c, 6.958));
    assert!(close(c.alpha_deg, 90.0) && close(c.beta_deg, 90.0) && close(c.gamma_deg, 90.0));
    assert_eq!(ph.space_group.number(), 62, "P n m a");
    assert_eq!(ph.sites.len(), 5);
    let labels: Vec<&str> = ph.sites.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["Pb", "S", "O1", "O2", "O3"]);
    let o3 = &ph.sites[4];
    assert_eq!(o3.position, [0.085, 0.026, 0.806]);
    // U_iso = 0.010 Å² → B = 8π²U.
    assert!(close(o3.biso, 8.0 * PI * PI * 0.010));
    assert!(ph.sites.iter().all(|s| s.occupants.len() == 1 && s.occupants[0].occupancy == 1.0));
    assert_eq!(ph.z, Some(4.0));
    // The file's volume 318.503 Å³ and formula "O4 Pb S".
    assert!((c.volume() - 318.503).abs() < 5e-4);
    assert_eq!(ph.formula(), "O4PbS");
    // The Pb row is line 39 of the file.
    assert_eq!(p.site_lines[0], vec![39]);
}

#[test]
fn licoo2_cod() {
    let Some(p) = read_one("licoo2-bruker/LiCoO2-COD-1533825.cif") else { return };
    let ph = &p.phase;
    assert_eq!(ph.name, "1533825");
    assert!(close(ph.cell.a, 2.814) && close(ph.cell.b, 2.814) && close(ph.cell.c, 14.048));
    assert!(close(ph.cell.gamma_deg, 120.0));
    assert_eq!(ph.space_group.number(), 166);
    assert_eq!(ph.sites.len(), 3);
    assert_eq!(ph.sites[0].position, [0.0, 0.0, 0.2268]);
    // Type symbols O-2, Co+3, Li+1 keep their charges.
    let charges: Vec<i8> = ph.sites.iter().map(|s| s.occupants[0].species.charge).collect();
    assert_eq!(charges, [-2, 3, 1]);
    assert_eq!(ph.z, Some(3.0));
    assert!((ph.cell.volume() - 96.337).abs() < 1e-3);
    assert_eq!(ph.formula(), "CoLiO2");
}

#[test]
fn nio_pymatgen() {
    let Some(p) = read_one("nio-xrdml/NiO_225_sym.cif") else { return };
    let ph = &p.phase;
    assert_eq!(ph.name, "NiO");
    assert!(close(ph.cell.a, 4.178));
    assert_eq!(ph.space_group.number(), 225);
    assert_eq!(ph.sites.len(), 2);
    assert_eq!(ph.sites[1].position, [0.0, 0.0, 0.5]);
    assert_eq!(ph.z, Some(4.0));
    assert_eq!(ph.formula(), "NiO");
    // No displacement parameters in the file: B = 0 with a warning per site.
    assert!(ph.sites.iter().all(|s| s.biso == 0.0));
    assert_eq!(p.warnings.iter().filter(|w| w.contains("no displacement")).count(), 2);
}

#[test]
fn cucr2o4_gsas2() {
    let Some(p) = read_one("seq-cucr2o4-11bm/CuCr2O4.cif") else { return };
    let ph = &p.phase;
    assert_eq!(ph.name, "2p10h");
    assert_eq!(p.pd_phase_name.as_deref(), Some("CuCr2O4"));
    assert!(close(ph.cell.a, 7.712699) && close(ph.cell.b, 8.543299) && close(ph.cell.c, 8.536427));
    assert_eq!(ph.space_group.number(), 70, "Fddd (origin choice 2, from the listed operators)");
    assert_eq!(ph.sites.len(), 3);
    assert_eq!(ph.sites[2].position, [0.24582, 0.26828, 0.26736]);
    assert_eq!(ph.z, Some(8.0));
    assert_eq!(ph.formula(), "Cr2CuO4");
    // O has U_iso = -0.004 in the file: B set to 0 and said so.
    assert_eq!(ph.sites[2].biso, 0.0);
    assert!(
        p.warnings.iter().any(|w| w.contains("negative") && w.contains("line 63")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn cuo_gsas2() {
    let Some(p) = read_one("seq-cucr2o4-11bm/CuO.cif") else { return };
    let ph = &p.phase;
    assert_eq!(p.pd_phase_name.as_deref(), Some("CuO"));
    assert!(close(ph.cell.a, 4.67951) && close(ph.cell.b, 3.420647) && close(ph.cell.c, 5.125283));
    assert!(close(ph.cell.beta_deg, 99.8314));
    assert_eq!(ph.space_group.number(), 15, "C 1 2/c 1");
    assert_eq!(ph.sites.len(), 2);
    assert_eq!(ph.sites[0].occupants[0].species.charge, 2);
    assert!(close(ph.sites[1].biso, 8.0 * PI * PI * 0.001));
    assert_eq!(ph.z, Some(4.0));
    assert!((ph.cell.volume() - 80.835).abs() < 1e-3);
    assert_eq!(ph.formula(), "CuO");
}
