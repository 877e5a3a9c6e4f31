#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! Space groups checked against International Tables for Crystallography Vol. A (2016), Part 7
//! ("ITA"): operator counts (general-position multiplicity), reflection conditions, powder
//! multiplicities of the Laue classes (ITA Vol. A Table 3.2.3.2 forms {hkl}), Wyckoff positions,
//! and group axioms over all 530 Hall settings.

// Test helpers outside #[test] functions panic on failure by design.

use bragg_crystal::symmetry::{CellParam, CellRule, CrystalSystem, SpaceGroup, SymOp};
use bragg_crystal::{Cell, Error};

fn group(symbol: &str) -> SpaceGroup {
    SpaceGroup::from_symbol(symbol).unwrap_or_else(|e| panic!("{symbol}: {e}"))
}

/// Every hkl with |h|, |k|, |l| ≤ 6 except 000.
fn box6() -> Vec<[i32; 3]> {
    let mut v = Vec::new();
    for h in -6..=6 {
        for k in -6..=6 {
            for l in -6..=6 {
                if [h, k, l] != [0, 0, 0] {
                    v.push([h, k, l]);
                }
            }
        }
    }
    v
}

/// Compares `is_absent` with the ITA reflection conditions (`present` gives true when hkl
/// satisfies them) over the whole box.
fn check_conditions(g: &SpaceGroup, present: impl Fn(i32, i32, i32) -> bool) {
    for [h, k, l] in box6() {
        assert_eq!(
            g.is_absent([h, k, l]),
            !present(h, k, l),
            "{} ({}): hkl = {h} {k} {l}",
            g.symbol(),
            g.number()
        );
    }
}

fn even(n: i32) -> bool {
    n.rem_euclid(2) == 0
}

// ---------------------------------------------------------------------------------------------
// Names and settings
// ---------------------------------------------------------------------------------------------

#[test]
fn symbols_written_any_common_way() {
    // (spelling, ITA number, operators in the conventional cell = ITA general multiplicity)
    let cases: &[(&str, u16, usize)] = &[
        ("Fm-3m", 225, 192),
        ("F m -3 m", 225, 192),
        ("Fm3m", 225, 192),
        ("F 4/m -3 2/m", 225, 192),
        ("F 4/m 3 2/m", 225, 192),
        ("fm-3m", 225, 192),
        ("225", 225, 192),
        ("-F 4 2 3", 225, 192), // Hall symbol, ITA Vol. B Table A1.4.2.7
        ("P6_3/mmc", 194, 24),
        ("P 63/m m c", 194, 24),
        ("P 6_3/m 2/m 2/c", 194, 24),
        ("R-3m", 166, 36),
        ("R -3 m :H", 166, 36),
        ("R -3 m :R", 166, 12),
        ("R-3m:R", 166, 12),
        ("R -3 m R", 166, 12),
        ("166:R", 166, 12),
        ("Pnma", 62, 8),
        ("P n m a", 62, 8),
        ("P 21/n 21/m 21/a", 62, 8),
        ("Pbnm", 62, 8),
        ("Ia-3", 206, 48),
        ("I a -3", 206, 48),
        ("Ia3", 206, 48),
        ("P1", 1, 1),
        ("P -1", 2, 2),
        ("P 21/c", 14, 4),
        ("P2_1/c", 14, 4),
        ("P 1 21/c 1", 14, 4),
        ("P 1 21/n 1", 14, 4),
        ("P21/n", 14, 4),
        ("C2/c", 15, 8),
        ("C 1 2/c 1", 15, 8),
        ("I 2/a", 15, 8),
        ("I41/amd", 141, 32),
        ("I 4_1/a m d", 141, 32),
        ("Fd-3m", 227, 192),
        ("Fd3m", 227, 192),
        ("Fd-3m:1", 227, 192),
        ("F d -3 m :2", 227, 192),
        ("F d -3 m S", 227, 192),
        ("Cmce", 64, 16),
        ("Cmca", 64, 16), // pre-2016 symbol of No. 64 (ITA 2016 §1.5.4)
        ("P4/nmm", 129, 16),
        ("P 4/n m m :1", 129, 16),
        ("P 42/n", 86, 8),
    ];
    for &(symbol, number, n_ops) in cases {
        let g = group(symbol);
        assert_eq!(g.number(), number, "{symbol}");
        assert_eq!(g.operations().len(), n_ops, "{symbol}");
    }
}

#[test]
fn settings_are_the_ones_asked_for() {
    // ITA standard choices: Fd-3m origin choice 2 at -3m, so the inversion is at the origin;
    // origin choice 1 at -43m with the inversion at 1/8,1/8,1/8 (ITA No. 227).
    let o2 = group("Fd-3m");
    let o1 = group("Fd-3m:1");
    assert_eq!(o2.setting(), "2");
    assert_eq!(o1.setting(), "1");
    let inv = SymOp::from_xyz("-x,-y,-z").unwrap();
    let inv_1 = SymOp::from_xyz("-x+1/4,-y+1/4,-z+1/4").unwrap();
    assert!(o2.operations().contains(&inv));
    assert!(!o1.operations().contains(&inv));
    assert!(o1.operations().contains(&inv_1));
    // ITA No. 227: 8a at 1/8,1/8,1/8 (origin 2) and 0,0,0 (origin 1).
    assert_eq!(o2.wyckoff('a').unwrap().position([0.0; 3]), [0.125; 3]);
    assert_eq!(o1.wyckoff('a').unwrap().position([0.0; 3]), [0.0; 3]);

    // P 1 21/n 1 (No. 14, cell choice 2): the glide is (x+1/2, -y+1/2, z+1/2).
    let p21n = group("P 1 21/n 1");
    assert_eq!(p21n.setting(), "b2");
    assert!(p21n.operations().contains(&SymOp::from_xyz("x+1/2,-y+1/2,z+1/2").unwrap()));
    assert_eq!(p21n.symbol(), "P 2_1/n");
    let p21c = group("P 21/c");
    assert!(p21c.operations().contains(&SymOp::from_xyz("x,-y+1/2,z+1/2").unwrap()));

    // Pbnm is the cab setting of Pnma.
    let pbnm = group("Pbnm");
    assert_eq!(pbnm.setting(), "cab");

    // R-3m on rhombohedral axes: primitive cell, threefold along [111] as z,x,y (ITA No. 166 R).
    let rh = group("R -3 m :R");
    assert_eq!(rh.centring(), 'P');
    assert!(rh.operations().contains(&SymOp::from_xyz("z,x,y").unwrap()));
    assert_eq!(group("R-3m").centring(), 'R');
    assert_eq!(group("Fm-3m").centring_translations().len(), 4);
    assert_eq!(group("Fm-3m").hall_symbol(), "-F 4 2 3");
    assert_eq!(group("Fm-3m").full_symbol(), "F 4/m -3 2/m");
}

#[test]
fn every_setting_round_trips_through_its_symbol() {
    for hall in 1..=530u16 {
        let g = SpaceGroup::from_hall_number(hall).unwrap();
        let back = SpaceGroup::from_symbol(g.symbol()).unwrap();
        assert_eq!(back.hall_number(), hall, "symbol '{}'", g.symbol());
        assert_eq!(back, g);
        let via_string = SpaceGroup::try_from(String::from(g.clone())).unwrap();
        assert_eq!(via_string, g);
    }
}

#[test]
fn every_number_loads_and_is_a_group() {
    for n in 1..=230u16 {
        let g = SpaceGroup::from_number(n).unwrap();
        assert_eq!(g.number(), n);
        let s = SpaceGroup::from_symbol(&n.to_string()).unwrap();
        assert_eq!(s, g);
    }
    // Closure under composition modulo lattice translations, identity present, |det R| = 1,
    // and the number of operators a multiple of the point-group order, for all 530 settings.
    for hall in 1..=530u16 {
        let g = SpaceGroup::from_hall_number(hall).unwrap();
        assert!(g.is_closed(), "Hall {hall} ({})", g.symbol());
        assert_eq!(g.operations()[0], SymOp::from_xyz("x,y,z").unwrap());
        for op in g.operations() {
            assert!(op.translation.iter().all(|t| (0.0..1.0).contains(t)), "Hall {hall}");
        }
        let pg = g.point_group_rotations().len();
        assert_eq!(g.operations().len() % pg, 0);
        // Point-group orders by crystal system (ITA Table 3.2.3.2): at most 2, 4, 8, 16, 12, 24, 48.
        let max = match g.crystal_system() {
            CrystalSystem::Triclinic => 2,
            CrystalSystem::Monoclinic => 4,
            CrystalSystem::Orthorhombic => 8,
            CrystalSystem::Tetragonal => 16,
            CrystalSystem::Trigonal => 12,
            CrystalSystem::Hexagonal => 24,
            CrystalSystem::Cubic => 48,
        };
        assert_eq!(max % pg, 0, "Hall {hall}");
    }
}

#[test]
fn operator_counts_of_ita() {
    // ITA general-position multiplicities.
    for (symbol, n) in [
        ("Fm-3m", 192),
        ("R-3m", 36),
        ("R-3m:R", 12),
        ("Pnma", 8),
        ("P6_3/mmc", 24),
        ("Ia-3", 48),
        ("P1", 1),
        ("P2_1/c", 4),
        ("I4_1/amd", 32),
        ("Fd-3m", 192),
    ] {
        assert_eq!(group(symbol).operations().len(), n, "{symbol}");
    }
}

#[test]
fn unknown_names_are_errors_naming_the_input() {
    for bad in ["", "Xyz", "P 7", "231", "0", "-1", "P 21/c :R", "Fm-3m:Q", "R-3m:9", "Pnma:xyz"] {
        match SpaceGroup::from_symbol(bad) {
            Err(Error::UnknownSpaceGroup { symbol }) => assert_eq!(symbol, bad),
            other => panic!("'{bad}' gave {other:?}"),
        }
    }
    assert!(matches!(SpaceGroup::from_number(0), Err(Error::UnknownSpaceGroup { .. })));
    assert!(matches!(SpaceGroup::from_number(231), Err(Error::UnknownSpaceGroup { .. })));
    assert!(SpaceGroup::from_hall_number(531).is_err());
    assert!(matches!(group("Fm-3m").wyckoff('z'), Err(Error::UnknownWyckoff { letter: 'z', .. })));
    // A group without origin choices accepts an origin suffix (nothing to choose).
    assert_eq!(group("Pnma:2"), group("Pnma"));
}

#[test]
fn operators_identify_their_setting() {
    let pbnm = group("Pbnm");
    let mut ops: Vec<SymOp> = pbnm.operations().iter().rev().copied().collect();
    ops.swap(1, 3);
    assert_eq!(SpaceGroup::from_operations(&ops).unwrap(), pbnm);
    let from_xyz: Vec<SymOp> =
        ["x,y,z", "-x,-y,-z"].iter().map(|s| SymOp::from_xyz(s).unwrap()).collect();
    assert_eq!(SpaceGroup::from_operations(&from_xyz).unwrap().number(), 2);
    let not_a_group: Vec<SymOp> =
        ["x,y,z", "-x,y,z+1/3"].iter().map(|s| SymOp::from_xyz(s).unwrap()).collect();
    assert!(SpaceGroup::from_operations(&not_a_group).is_err());
}

// ---------------------------------------------------------------------------------------------
// Reflection conditions (ITA Part 7, "Reflection conditions, General")
// ---------------------------------------------------------------------------------------------

#[test]
fn fm3m_reflection_conditions() {
    // ITA No. 225: hkl: h+k, h+l, k+l = 2n (all even or all odd).
    check_conditions(&group("Fm-3m"), |h, k, l| even(h + k) && even(h + l) && even(k + l));
}

#[test]
fn r3m_obverse_reflection_conditions() {
    // ITA No. 166 (hexagonal axes, obverse): hkil: −h+k+l = 3n; the conditions on the special
    // zones (hki0: −h+k = 3n, hh(−2h)l: l = 3n, h(−h)0l: h+l = 3n, 000l: l = 3n) follow from it.
    check_conditions(&group("R-3m"), |h, k, l| (-h + k + l).rem_euclid(3) == 0);
    // Rhombohedral axes: primitive, no conditions.
    check_conditions(&group("R-3m:R"), |_, _, _| true);
}

#[test]
fn pnma_reflection_conditions() {
    // ITA No. 62: 0kl: k+l = 2n; hk0: h = 2n; h00: h = 2n; 0k0: k = 2n; 00l: l = 2n.
    check_conditions(&group("Pnma"), |h, k, l| {
        !((h == 0 && !even(k + l))
            || (l == 0 && !even(h))
            || (k == 0 && l == 0 && !even(h))
            || (h == 0 && l == 0 && !even(k))
            || (h == 0 && k == 0 && !even(l)))
    });
}

#[test]
fn p63mmc_reflection_conditions() {
    // ITA No. 194: hh(−2h)l: l = 2n; 000l: l = 2n. With i = −h−k, the zone hh(−2h)l and its
    // symmetry mates are those with two equal indices among h, k, i: h = k, k = i (h = −2k) or
    // h = i (k = −2h).
    check_conditions(&group("P6_3/mmc"), |h, k, l| {
        let on_zone = h == k || h == -2 * k || k == -2 * h;
        !on_zone || even(l)
    });
}

#[test]
fn ia3_reflection_conditions() {
    // ITA No. 206: hkl: h+k+l = 2n; 0kl: k, l = 2n (h, k, l cyclically permutable);
    // h00: h = 2n. The hhl zone carries only the I condition (l = 2n): m-3 has no operator
    // fixing a general hhl, and 211 is observed for bixbyite-type In2O3 (Ia-3, ICDD 06-0416),
    // so no "hhl: h+l = 2n" condition exists.
    check_conditions(&group("Ia-3"), |h, k, l| {
        let zone_ok = |a: i32, b: i32, c: i32| a != 0 || (even(b) && even(c));
        even(h + k + l) && zone_ok(h, k, l) && zone_ok(k, l, h) && zone_ok(l, h, k)
    });
    let g = group("Ia-3");
    assert!(!g.is_absent([2, 1, 1]));
    assert!(g.is_absent([1, 1, 1]));
    assert!(g.is_absent([0, 1, 1]));
    assert!(!g.is_absent([2, 2, 2]));
}

#[test]
fn fd3m_reflection_conditions_both_origins() {
    // ITA No. 227: hkl: h+k, h+l, k+l = 2n; 0kl: k+l = 4n (and k, l = 2n); hhl: h+l = 2n
    // (implied by F); h00: h = 4n. Absences do not depend on the origin choice.
    for symbol in ["Fd-3m", "Fd-3m:1"] {
        check_conditions(&group(symbol), |h, k, l| {
            let unmixed = even(h + k) && even(h + l) && even(k + l);
            let zone_ok = |a: i32, b: i32, c: i32| a != 0 || (b + c).rem_euclid(4) == 0;
            unmixed && zone_ok(h, k, l) && zone_ok(k, l, h) && zone_ok(l, h, k)
        });
    }
    let g = group("Fd-3m");
    assert!(g.is_absent([2, 0, 0]));
    for present in [[1, 1, 1], [2, 2, 0], [3, 1, 1], [4, 0, 0]] {
        assert!(!g.is_absent(present), "{present:?}");
    }
    // 222 is NOT a space-group absence of Fd-3m (spinel MgAl2O4 shows 222); it vanishes for
    // atoms on 8a only (diamond): Σ over the 8a orbit of exp(2πi h·x) = 0 for h = 222.
    assert!(!g.is_absent([2, 2, 2]));
    let orbit_8a = g.orbit(g.wyckoff('a').unwrap().position([0.0; 3]));
    assert_eq!(orbit_8a.len(), 8);
    let f = |h: [i32; 3]| {
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for x in &orbit_8a {
            let phase =
                2.0 * std::f64::consts::PI * (0..3).map(|i| f64::from(h[i]) * x[i]).sum::<f64>();
            re += phase.cos();
            im += phase.sin();
        }
        (re * re + im * im).sqrt()
    };
    assert!(f([2, 2, 2]) < 1e-9);
    assert!((f([2, 2, 0]) - 8.0).abs() < 1e-9);
}

#[test]
fn p21c_reflection_conditions() {
    // ITA No. 14 (unique axis b, cell choice 1): h0l: l = 2n; 0k0: k = 2n; 00l: l = 2n.
    check_conditions(&group("P21/c"), |h, k, l| {
        !((k == 0 && !even(l)) || (h == 0 && l == 0 && !even(k)))
    });
    // Cell choice 2, P 1 21/n 1: h0l: h+l = 2n; 0k0: k = 2n; h00, 00l: h, l = 2n.
    check_conditions(&group("P 1 21/n 1"), |h, k, l| {
        !((k == 0 && !even(h + l)) || (h == 0 && l == 0 && !even(k)))
    });
}

// ---------------------------------------------------------------------------------------------
// Powder multiplicities (number of members of the form {hkl} of the Laue class)
// ---------------------------------------------------------------------------------------------

#[test]
fn powder_multiplicities() {
    let cubic = group("Fm-3m"); // m-3m
    for (hkl, m) in [
        ([1, 0, 0], 6),
        ([1, 1, 0], 12),
        ([1, 1, 1], 8),
        ([2, 1, 0], 24),
        ([2, 1, 1], 24),
        ([3, 2, 1], 48),
    ] {
        assert_eq!(cubic.equivalent_reflections(hkl).len(), m, "m-3m {hkl:?}");
        assert_eq!(cubic.multiplicity(hkl), m);
    }
    // m-3 (Ia-3): {hk0} and {hkl} split into two forms of 12 and 24.
    let th = group("Ia-3");
    assert_eq!(th.multiplicity([2, 1, 0]), 12);
    assert_eq!(th.multiplicity([3, 2, 1]), 24);
    assert_eq!(th.multiplicity([1, 1, 1]), 8);
    let hex = group("P6_3/mmc"); // 6/mmm
    for (hkl, m) in [
        ([1, 0, 0], 6),
        ([0, 0, 1], 2),
        ([1, 0, 1], 12),
        ([2, 1, 0], 12),
        ([2, 1, 1], 24),
        ([1, 1, 0], 6),
    ] {
        assert_eq!(hex.multiplicity(hkl), m, "6/mmm {hkl:?}");
    }
    // −3m1 (R-3m, hexagonal axes); values as tabulated for corundum-type patterns (same
    // Laue class): 003 → 2, 101 → 6, 104 → 6, 110 → 6, 113 → 12.
    let trig = group("R-3m");
    for (hkl, m) in
        [([0, 0, 3], 2), ([1, 0, 1], 6), ([1, 0, 4], 6), ([1, 1, 0], 6), ([1, 1, 3], 12)]
    {
        assert_eq!(trig.multiplicity(hkl), m, "-3m {hkl:?}");
    }
    // mmm and 2/m and −1.
    assert_eq!(group("Pnma").multiplicity([1, 2, 3]), 8);
    assert_eq!(group("Pnma").multiplicity([1, 2, 0]), 4);
    assert_eq!(group("P21/c").multiplicity([1, 2, 3]), 4);
    assert_eq!(group("P21/c").multiplicity([1, 0, 3]), 2);
    assert_eq!(group("P-1").multiplicity([1, 2, 3]), 2);
    assert_eq!(group("P1").multiplicity([1, 2, 3]), 2); // Friedel pairs merged
}

#[test]
fn canonical_hkl_is_a_class_invariant() {
    for symbol in ["Fm-3m", "R-3m", "P6_3/mmc", "Pnma", "P21/c", "Ia-3", "R-3m:R"] {
        let g = group(symbol);
        for hkl in box6() {
            let c = g.canonical_hkl(hkl);
            let eq = g.equivalent_reflections(hkl);
            assert!(eq.contains(&hkl) && eq.contains(&c));
            assert_eq!(eq[0], c);
            for e in &eq {
                assert_eq!(g.canonical_hkl(*e), c, "{symbol} {hkl:?}");
                // Equivalent reflections share absence (ITA Vol. A §1.6.3).
                assert_eq!(g.is_absent(*e), g.is_absent(hkl), "{symbol} {hkl:?}");
            }
        }
    }
    assert_eq!(group("Fm-3m").canonical_hkl([-1, 0, 2]), [2, 1, 0]);
}

#[test]
fn equivalent_reflections_have_equal_d_spacing() {
    let hex = Cell::hexagonal(2.9, 14.2).unwrap();
    let g = group("R-3m");
    for hkl in box6() {
        let d = hex.d_spacing(hkl);
        for e in g.equivalent_reflections(hkl) {
            assert!((hex.d_spacing(e) - d).abs() < 1e-12 * d, "{hkl:?} vs {e:?}");
        }
    }
    let rh = Cell::new(5.0, 5.0, 5.0, 55.0, 55.0, 55.0).unwrap();
    let g = group("R-3m:R");
    for hkl in box6() {
        let d = rh.d_spacing(hkl);
        for e in g.equivalent_reflections(hkl) {
            assert!((rh.d_spacing(e) - d).abs() < 1e-9 * d);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Wyckoff positions and orbits
// ---------------------------------------------------------------------------------------------

#[test]
fn wyckoff_positions_of_ita() {
    let fm3m = group("Fm-3m");
    let cases = [
        ('a', 4, [0.0, 0.0, 0.0]),
        ('b', 4, [0.5, 0.5, 0.5]),
        ('c', 8, [0.25, 0.25, 0.25]),
        ('d', 24, [0.0, 0.25, 0.25]),
    ];
    for (letter, m, x) in cases {
        let w = fm3m.wyckoff(letter).unwrap();
        assert_eq!(w.multiplicity, m);
        assert_eq!(w.position([0.3, 0.2, 0.1]), x, "Fm-3m {letter}");
        assert_eq!(w.n_free(), 0);
    }
    let f = fm3m.wyckoff('f').unwrap();
    assert_eq!((f.multiplicity, f.site_symmetry.as_str(), f.n_free()), (32, ".3m", 1));
    assert_eq!(f.position([0.3, 0.9, 0.9]), [0.3, 0.3, 0.3]);
    assert_eq!(f.coordinates(), "x,x,x");
    assert_eq!(fm3m.wyckoff('a').unwrap().site_symmetry, "m-3m");

    let r3m = group("R-3m");
    assert_eq!(r3m.wyckoff('a').unwrap().position([0.1; 3]), [0.0, 0.0, 0.0]);
    assert_eq!(r3m.wyckoff('a').unwrap().multiplicity, 3);
    assert_eq!(r3m.wyckoff('b').unwrap().position([0.1; 3]), [0.0, 0.0, 0.5]);
    let c = r3m.wyckoff('c').unwrap();
    assert_eq!((c.multiplicity, c.position([0.1, 0.2, 0.25])), (6, [0.0, 0.0, 0.25]));

    let pnma = group("Pnma");
    let c4 = pnma.wyckoff('c').unwrap();
    assert_eq!((c4.multiplicity, c4.coordinates().as_str()), (4, "x,1/4,z"));
    assert_eq!(c4.position([0.1, 0.7, 0.3]), [0.1, 0.25, 0.3]);
}

#[test]
fn wyckoff_multiplicities_equal_orbit_sizes_in_all_settings() {
    // For every Wyckoff position of every setting, a point of the position with generic values
    // of its free parameters has an orbit of exactly `multiplicity` points, a site-symmetry
    // group of order |G|/multiplicity, and a coordinate constraint with as many free
    // parameters as the representative triplet has variables.
    let free = [0.1123, 0.2319, 0.3571];
    for hall in 1..=530u16 {
        let g = SpaceGroup::from_hall_number(hall).unwrap();
        let positions = g.wyckoff_positions();
        assert!(!positions.is_empty());
        assert_eq!(
            positions[0].multiplicity,
            g.operations().len(),
            "general position, Hall {hall}"
        );
        for w in positions {
            let x = w.position(free);
            let orbit = g.orbit(x);
            assert_eq!(orbit.len(), w.multiplicity, "Hall {hall} ({}) {}", g.symbol(), w.letter);
            assert_eq!(g.site_multiplicity(x, 1e-6), w.multiplicity);
            let pc = g.position_constraint(x, 1e-6);
            assert_eq!(pc.n_free(), w.n_free(), "Hall {hall} {}", w.letter);
            let back = pc.apply(&pc.free_params(x)).unwrap();
            for i in 0..3 {
                assert!((back[i] - x[i]).abs() < 1e-12, "Hall {hall} {}", w.letter);
            }
            for p in &orbit {
                assert!(p.iter().all(|v| (0.0..1.0).contains(v)));
            }
        }
    }
}

#[test]
fn orbit_merges_periodic_duplicates() {
    let g = group("Fm-3m");
    assert_eq!(g.orbit([0.0, 0.0, 0.0]).len(), 4);
    // 1 − 1e-9 is the same point as 0 modulo the lattice.
    assert_eq!(g.orbit([1.0 - 1e-9, 0.0, 1e-9]).len(), 4);
    assert_eq!(g.orbit([0.11, 0.23, 0.37]).len(), 192);
    // (x, y, x+y) is not general in Fm-3m: 0.1, 0.2, 0.3 lies on a mirror (96k-type orbit).
    assert_eq!(g.orbit([0.1, 0.2, 0.3]).len(), 96);
    assert_eq!(group("P1").orbit([-0.25, 1.5, 0.3]), vec![[0.75, 0.5, 0.3]]);
}

// ---------------------------------------------------------------------------------------------
// Special-position, displacement and cell constraints
// ---------------------------------------------------------------------------------------------

#[test]
fn special_position_constraints() {
    let g = group("Fm-3m");
    // 32f x,x,x: one parameter along (1,1,1), site symmetry .3m of order 192/32 = 6.
    let pc = g.position_constraint([0.3, 0.3, 0.3], 1e-6);
    assert_eq!(pc.n_free(), 1);
    assert_eq!(pc.basis, vec![[1.0, 1.0, 1.0]]);
    assert_eq!(pc.apply(&[0.31]).unwrap(), [0.31, 0.31, 0.31]);
    assert_eq!(pc.free_params([0.3, 0.3, 0.3]), vec![0.3]);
    assert_eq!(g.site_symmetry([0.3, 0.3, 0.3], 1e-6).len(), 6);
    // 4a: no parameter, site symmetry m-3m of order 48.
    let pa = g.position_constraint([0.0, 0.0, 0.0], 1e-6);
    assert_eq!(pa.n_free(), 0);
    assert_eq!(pa.apply(&[]).unwrap(), [0.0, 0.0, 0.0]);
    assert!(pa.apply(&[0.1]).is_err());
    assert_eq!(g.site_symmetry([0.0; 3], 1e-6).len(), 48);
    // 24e x,0,0: one parameter along a.
    let pe = g.position_constraint([0.23, 0.0, 0.0], 1e-6);
    assert_eq!(pe.basis, vec![[1.0, 0.0, 0.0]]);
    // General position: three parameters, identity basis.
    assert_eq!(g.position_constraint([0.11, 0.23, 0.37], 1e-6).n_free(), 3);
    // Pnma 4c x,1/4,z: y fixed at 1/4 (or 3/4 for the mate).
    let pnma = group("Pnma");
    let pc = pnma.position_constraint([0.1, 0.25, 0.3], 1e-6);
    assert_eq!(pc.n_free(), 2);
    assert_eq!(pc.apply(&[0.2, 0.4]).unwrap(), [0.2, 0.25, 0.4]);
    // A slightly-off input is symmetrised onto the subspace within the tolerance.
    let pc = pnma.position_constraint([0.1, 0.2500004, 0.3], 1e-5);
    let x = pc.apply(&pc.free_params([0.1, 0.2500004, 0.3])).unwrap();
    assert!((x[1] - 0.25).abs() < 1e-15);
    // P6_3/mmc 6h x,2x,1/4 (ITA No. 194): parameter x along (1,2,0).
    let hex = group("P6_3/mmc");
    let ph = hex.position_constraint([0.17, 0.34, 0.25], 1e-6);
    assert_eq!(ph.basis, vec![[1.0, 2.0, 0.0]]);
    assert!((ph.free_params([0.17, 0.34, 0.25])[0] - 0.17).abs() < 1e-15);
}

#[test]
fn adp_constraints_on_special_positions() {
    // Site-symmetry restrictions on β_ij (Peterse & Palm 1966; ITA Vol. D Table 1.2.4.1).
    // Cubic m-3m site: β11 = β22 = β33, off-diagonal 0 → 1 parameter.
    let fm3m = group("Fm-3m");
    let a = fm3m.adp_constraint([0.0; 3], 1e-6);
    assert_eq!(a.n_free(), 1);
    assert_eq!(a.apply(&[0.01]).unwrap(), [0.01, 0.01, 0.01, 0.0, 0.0, 0.0]);
    // .3m on (x,x,x) in a cubic group: β11 = β22 = β33, β12 = β13 = β23 → 2 parameters.
    let f = fm3m.adp_constraint([0.3; 3], 1e-6);
    assert_eq!(f.n_free(), 2);
    let v = f.apply(&[0.01, 0.002]).unwrap();
    assert_eq!(v, [0.01, 0.01, 0.01, 0.002, 0.002, 0.002]);
    // 3m on the hexagonal c axis (R-3m 6c): β11 = β22 = 2β12, β13 = β23 = 0 → 2 parameters.
    let r = group("R-3m").adp_constraint([0.0, 0.0, 0.23], 1e-6);
    assert_eq!(r.n_free(), 2);
    let v = r.apply(&r.free_params([0.02, 0.02, 0.005, 0.01, 0.0, 0.0])).unwrap();
    assert!((v[0] - 0.02).abs() < 1e-15 && (v[3] - 0.01).abs() < 1e-15 && v[4] == 0.0);
    // .m. in Pnma 4c: β12 = β23 = 0 → 4 parameters.
    let p = group("Pnma").adp_constraint([0.1, 0.25, 0.3], 1e-6);
    assert_eq!(p.n_free(), 4);
    let v = p.apply(&p.free_params([0.01, 0.02, 0.03, 0.004, 0.005, 0.006])).unwrap();
    assert_eq!(v, [0.01, 0.02, 0.03, 0.0, 0.005, 0.0]);
    // General position: 6.
    assert_eq!(p.n_free(), 4);
    assert_eq!(group("Pnma").adp_constraint([0.1, 0.2, 0.3], 1e-6).n_free(), 6);
}

#[test]
fn cell_constraints_by_system() {
    use CellParam::*;
    use CellRule::*;
    let c = group("Fm-3m").cell_constraint();
    assert_eq!(c.free_params(), vec![A]);
    assert_eq!(c.rule(C), SameAs(A));
    assert_eq!(c.rule(Gamma), FixedDeg(90.0));
    assert_eq!(group("R-3m").cell_constraint().free_params(), vec![A, C]);
    assert_eq!(group("R-3m").cell_constraint().rule(Gamma), FixedDeg(120.0));
    let rh = group("R-3m:R").cell_constraint();
    assert_eq!(rh.free_params(), vec![A, Alpha]);
    assert_eq!(rh.rule(Gamma), SameAs(Alpha));
    assert_eq!(group("P21/c").cell_constraint().free_params(), vec![A, B, C, Beta]);
    assert_eq!(group("P 1 1 21/a").cell_constraint().free_params(), vec![A, B, C, Gamma]);
    assert_eq!(group("P 21/b 1 1").cell_constraint().free_params(), vec![A, B, C, Alpha]);
    assert_eq!(group("Pnma").cell_constraint().n_free(), 3);
    assert_eq!(group("I41/amd").cell_constraint().free_params(), vec![A, C]);
    assert_eq!(group("P-1").cell_constraint().n_free(), 6);
    assert_eq!(group("P6_3/mmc").crystal_system(), CrystalSystem::Hexagonal);
    assert_eq!(group("R-3m:R").crystal_system(), CrystalSystem::Trigonal);
    // apply ∘ free_values is the identity on a consistent cell.
    let cell = Cell::new(5.1, 6.2, 7.3, 90.0, 101.5, 90.0).unwrap();
    let mono = group("P21/c").cell_constraint();
    assert_eq!(mono.apply(&mono.free_values(&cell)).unwrap(), cell);
}

#[test]
fn check_cell_reports_inconsistent_cells() {
    let cubic = group("Fm-3m");
    assert!(cubic.check_cell(&Cell::cubic(4.05).unwrap()).is_ok());
    let tetragonal = Cell::new(4.05, 4.05, 4.10, 90.0, 90.0, 90.0).unwrap();
    match cubic.check_cell(&tetragonal) {
        Err(Error::InvalidCell { reason }) => assert!(reason.contains("c = a"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let hexcell = Cell::hexagonal(2.88, 14.2).unwrap();
    assert!(group("R-3m").check_cell(&hexcell).is_ok());
    assert!(group("R-3m:R").check_cell(&hexcell).is_err());
    assert!(group("R-3m:R")
        .check_cell(&Cell::new(5.0, 5.0, 5.0, 33.0, 33.0, 33.0).unwrap())
        .is_ok());
    assert!(group("P6_3/mmc")
        .check_cell(&Cell::new(3.0, 3.0, 5.0, 90.0, 90.0, 90.0).unwrap())
        .is_err());
    let mono = Cell::new(5.0, 6.0, 7.0, 90.0, 100.0, 90.0).unwrap();
    assert!(group("P21/c").check_cell(&mono).is_ok());
    assert!(group("P 1 1 21/a").check_cell(&mono).is_err());
    assert!(group("P-1").check_cell(&Cell::new(5.0, 6.0, 7.0, 80.0, 100.0, 95.0).unwrap()).is_ok());
    // Rounded values as in CIFs pass (tolerance 1e-4 relative / degrees).
    assert!(cubic
        .check_cell(&Cell::new(4.05, 4.050001, 4.05, 90.0, 90.00001, 90.0).unwrap())
        .is_ok());
    // impose() repairs what check_cell rejects.
    let fixed = cubic.cell_constraint().impose(&tetragonal).unwrap();
    assert!(cubic.check_cell(&fixed).is_ok());
}

#[test]
fn pmmm_has_27_positions() {
    // ITA No. 47 lists 27 Wyckoff positions, a–z and α (here `A`), α being the general 8-fold.
    let g = group("Pmmm");
    assert_eq!(g.wyckoff_positions().len(), 27);
    assert_eq!(g.wyckoff('A').unwrap().multiplicity, 8);
    assert_eq!(g.wyckoff('α').unwrap(), g.wyckoff('A').unwrap());
    assert_eq!(g.wyckoff('a').unwrap().position([0.3; 3]), [0.0; 3]);
}
