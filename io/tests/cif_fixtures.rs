//! The CIF reader on the hand-written files of `fixtures/cif/` (provenance in its README) and on
//! inline snippets for each error path; every error must name the file and the line.

// Test helpers outside #[test] functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::panic)]

use bragg_io::cif::{parse_cif_phases, read_cif, ueq_from_uij};
use bragg_io::Error;
use std::f64::consts::PI;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("fixtures").join("cif").join(name)
}

#[test]
fn pymatgen_ltno_three_rows_become_one_mixed_site() {
    let phases = read_cif(&fixture("LTNO_pymatgen.cif")).unwrap();
    assert_eq!(phases.len(), 1);
    let p = &phases[0];
    let ph = &p.phase;
    assert_eq!(ph.name, "LTNO");
    assert_eq!(ph.cell.a, 4.1403);
    assert_eq!(ph.space_group.number(), 225);
    assert_eq!(ph.sites.len(), 2, "Li/Ti/Ni rows at 0,0,0 merge; O is separate");
    let m = &ph.sites[0];
    assert_eq!(m.label, "Li0", "label of the first row");
    let occ: Vec<(String, f64)> =
        m.occupants.iter().map(|o| (o.species.element.symbol().to_string(), o.occupancy)).collect();
    assert_eq!(
        occ,
        [("Li".to_string(), 0.585), ("Ti".to_string(), 0.29), ("Ni".to_string(), 0.125)]
    );
    assert_eq!(m.occupants[1].species.charge, 4);
    assert_eq!(p.site_lines[0], vec![225, 226, 227]);
    assert_eq!(ph.z, Some(2.0));
    // The file's own formula: Li1.17Ti0.58Ni0.25O2 per Z = 2 (Hill order: Li Ni O Ti).
    assert_eq!(ph.formula(), "Li1.17Ni0.25O2Ti0.58");
}

#[test]
fn vesta_rutile_su_uiso_and_aniso() {
    let p = &read_cif(&fixture("rutile_vesta.cif")).unwrap()[0];
    let ph = &p.phase;
    assert_eq!(ph.name, "VESTA_phase_1");
    assert_eq!(ph.space_group.number(), 136);
    assert_eq!((ph.cell.a, ph.cell.c), (4.5937, 2.9587));
    let su = &p.su;
    assert!((su.cell.a.unwrap() - 1e-4).abs() < 1e-16 && (su.cell.c.unwrap() - 1e-4).abs() < 1e-16);
    assert_eq!(su.cell.alpha_deg, None);
    // Ti is Uani: B_eq = 8π²·(U11 + U22 + U33)/3 for orthogonal axes = 8π²·0.016/3.
    assert!((ph.sites[0].biso - 8.0 * PI * PI * 0.016 / 3.0).abs() < 1e-12);
    assert!(
        (ueq_from_uij(&ph.cell, [0.006, 0.006, 0.004, -0.0002, 0.0, 0.0]) - 0.016 / 3.0).abs()
            < 1e-15
    );
    // O: U_iso 0.0070(3) → B = 8π²·0.007, su 8π²·0.0003.
    let o = &ph.sites[1];
    assert!((o.biso - 8.0 * PI * PI * 0.007).abs() < 1e-12);
    assert!((su.sites[1].biso.unwrap() - 8.0 * PI * PI * 0.0003).abs() < 1e-12);
    assert_eq!(o.position, [0.30478, 0.30478, 0.0]);
    assert!((su.sites[1].position[0].unwrap() - 6e-5).abs() < 1e-16);
    assert_eq!(su.sites[1].position[2], None);
    assert_eq!(o.occupants[0].species.charge, -2);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn missing_cell_names_file_block_and_line() {
    let path = fixture("no_cell.cif");
    let e = read_cif(&path).unwrap_err();
    match &e {
        Error::Missing { path: p, line, what } => {
            assert_eq!(p, &path);
            assert_eq!(*line, 2, "the data_nocell header");
            assert!(what.contains("_cell_length_a") && what.contains("nocell"), "{what}");
        }
        other => panic!("expected Missing, got {other:?}"),
    }
    let msg = e.to_string();
    assert!(msg.contains("no_cell.cif:2:") && msg.contains("_cell_length_a"), "{msg}");
}

#[test]
fn unknown_element_names_its_line() {
    let e = read_cif(&fixture("unknown_element.cif")).unwrap_err();
    match &e {
        Error::Crystal { line, source, .. } => {
            assert_eq!(*line, 15);
            assert!(matches!(source, bragg_crystal::Error::UnknownElement { .. }), "{source:?}");
        }
        other => panic!("expected Crystal, got {other:?}"),
    }
    assert!(e.to_string().contains("unknown_element.cif:15:"), "{e}");
}

#[test]
fn multi_block_file() {
    let phases = read_cif(&fixture("two_blocks.cif")).unwrap();
    let names: Vec<&str> = phases.iter().map(|p| p.phase.name.as_str()).collect();
    assert_eq!(names, ["NiO", "Si"], "data_global has no structure and is skipped");
    let nio = &phases[0];
    assert_eq!(nio.phase.space_group.number(), 225);
    assert_eq!(nio.phase.cell.a, 4.1771);
    assert!((nio.su.cell.a.unwrap() - 3e-4).abs() < 1e-16);
    // Species from labels, angles defaulting to 90°, B 0.35(2) and '.' → 0 with a warning.
    assert_eq!(nio.phase.sites[0].occupants[0].species.element.symbol(), "Ni");
    assert_eq!(nio.phase.cell.beta_deg, 90.0);
    assert_eq!(nio.phase.sites[0].biso, 0.35);
    assert!((nio.su.sites[0].biso.unwrap() - 0.02).abs() < 1e-16);
    assert!(nio.warnings.iter().any(|w| w.contains("O1")), "{:?}", nio.warnings);
    let si = &phases[1];
    assert_eq!(si.phase.space_group.number(), 227);
    assert_eq!(si.block_line, 21);
    assert!((si.phase.sites[0].biso - 8.0 * PI * PI * 0.0058).abs() < 1e-12);
}

fn parse(text: &str) -> Result<Vec<bragg_io::CifPhase>, Error> {
    parse_cif_phases(text, Path::new("inline.cif"))
}

const ROCKSALT_SITES: &str = "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nNi1 0 0 0\nO1 0.5 0.5 0.5\n";

#[test]
fn malformed_number_names_its_line() {
    let text = format!("data_x\n_cell_length_a 4.1x\n_cell_length_b 4\n_cell_length_c 4\n_space_group_IT_number 225\n{ROCKSALT_SITES}");
    let e = parse(&text).unwrap_err();
    assert!(matches!(e, Error::Parse { line: 2, .. }), "{e:?}");
    assert!(
        e.to_string().starts_with("inline.cif:2: _cell_length_a: '4.1x' is not a number"),
        "{e}"
    );
}

#[test]
fn symbol_and_number_must_agree() {
    let text = format!("data_x\n_cell_length_a 4\n_cell_length_b 4\n_cell_length_c 4\n_symmetry_space_group_name_H-M 'F m -3 m'\n_space_group_IT_number 221\n{ROCKSALT_SITES}");
    let e = parse(&text).unwrap_err();
    assert!(matches!(e, Error::Data { line: 5, .. }), "{e:?}");
    assert!(e.to_string().contains("221"), "{e}");
}

#[test]
fn operators_alone_identify_the_group() {
    // Pnma operators (as in PbSO4-Wyckoff.cif) without any symbol or number.
    let ops = [
        "x,y,z",
        "1/2-x,1/2+y,1/2+z",
        "x,1/2-y,z",
        "1/2-x,-y,1/2+z",
        "-x,-y,-z",
        "1/2+x,1/2-y,1/2-z",
        "-x,1/2+y,-z",
        "1/2+x,y,1/2-z",
    ];
    let text = format!(
        "data_x\n_cell_length_a 8.48\n_cell_length_b 5.398\n_cell_length_c 6.958\nloop_\n_symmetry_equiv_pos_as_xyz\n{}\n{ROCKSALT_SITES}",
        ops.join("\n")
    );
    let p = &parse(&text).unwrap()[0];
    assert_eq!(p.phase.space_group.number(), 62);
}

#[test]
fn operators_contradicting_the_symbol_are_an_error() {
    // Says F m -3 m but lists only the operators of P m -3 m's subgroup P-1: refuse.
    let text = format!(
        "data_x\n_cell_length_a 4\n_cell_length_b 4\n_cell_length_c 4\n_symmetry_space_group_name_H-M 'F m -3 m'\nloop_\n_space_group_symop_operation_xyz\nx,y,z\n-x,-y,-z\n{ROCKSALT_SITES}"
    );
    let e = parse(&text).unwrap_err();
    assert!(matches!(e, Error::Data { line: 6, .. }), "{e:?}");
}

#[test]
fn unresolvable_operators_are_an_error() {
    let text = format!("data_x\n_cell_length_a 4\n_cell_length_b 5\n_cell_length_c 6\nloop_\n_symmetry_equiv_pos_as_xyz\nx,y,z\nx+1/3,y,z\n{ROCKSALT_SITES}");
    let e = parse(&text).unwrap_err();
    assert!(matches!(e, Error::Data { line: 5, .. }), "{e:?}");
    let text = format!("data_x\n_cell_length_a 4\n_cell_length_b 5\n_cell_length_c 6\nloop_\n_symmetry_equiv_pos_as_xyz\nx,y,z\nx,y,q\n{ROCKSALT_SITES}");
    let e = parse(&text).unwrap_err();
    assert!(matches!(e, Error::Data { line: 8, .. }), "{e:?}");
}

#[test]
fn missing_space_group_and_bad_symbol() {
    let text =
        format!("data_x\n_cell_length_a 4\n_cell_length_b 4\n_cell_length_c 4\n{ROCKSALT_SITES}");
    let e = parse(&text).unwrap_err();
    assert!(matches!(e, Error::Missing { line: 1, .. }), "{e:?}");
    assert!(e.to_string().contains("space group"), "{e}");
    let text = format!("data_x\n_cell_length_a 4\n_cell_length_b 4\n_cell_length_c 4\n_symmetry_space_group_name_H-M 'Q 9 9'\n{ROCKSALT_SITES}");
    let e = parse(&text).unwrap_err();
    assert!(matches!(e, Error::Crystal { line: 5, .. }), "{e:?}");
}

#[test]
fn hall_symbol_alone() {
    // LiCoO2's Hall symbol from the COD file, without H-M symbol or number.
    let text = "data_x\n_cell_length_a 2.814\n_cell_length_b 2.814\n_cell_length_c 14.048\n_cell_angle_gamma 120\n_symmetry_space_group_name_Hall '-R 3 2\"'\nloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nCo1 0 0 0\n";
    let p = &parse(text).unwrap()[0];
    assert_eq!(p.phase.space_group.number(), 166);
}

#[test]
fn occupancy_above_one_and_bad_cell_are_model_errors() {
    let text = "data_x\n_cell_length_a 4\n_cell_length_b 4\n_cell_length_c 4\n_space_group_IT_number 225\nloop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n_atom_site_occupancy\nLi1 Li 0 0 0 0.7\nNi1 Ni 0 0 0 0.5\n";
    let e = parse(text).unwrap_err();
    match e {
        Error::Crystal {
            line: 1,
            source: bragg_crystal::Error::OccupancyExceedsOne { site, total },
            ..
        } => {
            assert_eq!(site, "Li1");
            assert!((total - 1.2).abs() < 1e-12);
        }
        other => panic!("{other:?}"),
    }
    let text = format!("data_x\n_cell_length_a -4\n_cell_length_b 4\n_cell_length_c 4\n_space_group_IT_number 225\n{ROCKSALT_SITES}");
    assert!(matches!(parse(&text).unwrap_err(), Error::Crystal { line: 2, .. }));
}

#[test]
fn unknown_coordinate_and_missing_column() {
    let text = "data_x\n_cell_length_a 4\n_cell_length_b 4\n_cell_length_c 4\n_space_group_IT_number 225\nloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nNi1 0 ? 0\n";
    assert!(matches!(parse(text).unwrap_err(), Error::Data { line: 11, .. }));
    let text = "data_x\n_cell_length_a 4\n_cell_length_b 4\n_cell_length_c 4\n_space_group_IT_number 225\nloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\nNi1 0 0\n";
    assert!(matches!(parse(text).unwrap_err(), Error::Missing { line: 6, .. }));
}

#[test]
fn no_structure_at_all() {
    let e = parse("data_global\n_journal_name_full 'x'\n").unwrap_err();
    assert!(matches!(e, Error::Missing { .. }), "{e:?}");
    assert!(matches!(read_cif(Path::new("/nonexistent/x.cif")).unwrap_err(), Error::Io { .. }));
}
