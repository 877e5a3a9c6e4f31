#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! Every analytic derivative of the pattern engine against central finite differences.

use bragg_crystal::examples::{ltno_al_lab_model, ltno_synchrotron_model};
use bragg_crystal::instrument::MarchDollase;
use bragg_crystal::pattern::{
    Evaluator, Geometry, PatternModel, PhaseContribution, ProfileTerm, Target, TwoThetaRange,
};
use bragg_crystal::symmetry::CellParam;
use bragg_crystal::{Cell, Occupant, Phase, Site, SpaceGroup, Species};
use nalgebra::DMatrix;

/// Compares each analytic Jacobian column with (y(p + h) − y(p − h))/2h. The step is small
/// (10⁻⁷ relative) because synchrotron peaks are narrow: a cell step of 10⁻⁵ moves a peak by
/// 0.04 FWHM, enough for the O(h²) error of the central difference to reach 0.5 %.
fn check(model: &PatternModel, grid: &[f64], targets: &[Target], rel_step: f64, tol: f64) {
    let ev = Evaluator::new(model, grid).unwrap();
    let mut j = DMatrix::zeros(grid.len(), targets.len());
    ev.evaluate(model, targets, Some(&mut j)).unwrap();
    for (col, &t) in targets.iter().enumerate() {
        let v = model.get(t).unwrap();
        // y is linear in scale, background and extracted intensities: a large step is exact
        // there and keeps rounding noise (|y|·ε/h) away.
        let linear =
            matches!(t, Target::Scale { .. } | Target::Background(_) | Target::Intensity { .. });
        let h = if linear {
            if v != 0.0 {
                1e-2 * v.abs()
            } else {
                1e-2
            }
        } else if v.abs() > 1e-8 {
            rel_step * v.abs()
        } else {
            rel_step
        };
        let mut up = model.clone();
        up.set(t, v + h).unwrap();
        let mut dn = model.clone();
        dn.set(t, v - h).unwrap();
        let yu = ev.evaluate(&up, &[], None).unwrap().total;
        let yd = ev.evaluate(&dn, &[], None).unwrap().total;
        let scale =
            yu.iter().zip(&yd).map(|(a, b)| ((a - b) / (2.0 * h)).abs()).fold(0.0, f64::max);
        assert!(scale > 0.0, "{t:?}: the pattern does not depend on it");
        let mut worst: f64 = 0.0;
        for i in 0..grid.len() {
            let fd = (yu[i] - yd[i]) / (2.0 * h);
            worst = worst.max((j[(i, col)] - fd).abs());
        }
        if worst > tol * scale {
            let i = (0..grid.len())
                .max_by(|&a, &b| {
                    let ea = (j[(a, col)] - (yu[a] - yd[a]) / (2.0 * h)).abs();
                    let eb = (j[(b, col)] - (yu[b] - yd[b]) / (2.0 * h)).abs();
                    ea.total_cmp(&eb)
                })
                .unwrap_or(0);
            eprintln!(
                "worst at 2θ = {}: analytic {} fd {}",
                grid[i],
                j[(i, col)],
                (yu[i] - yd[i]) / (2.0 * h)
            );
        }
        assert!(
            worst <= tol * scale,
            "{t:?}: max |analytic − FD| = {worst:e}, column scale {scale:e}"
        );
    }
}

/// The wavelength target holds the anomalous-scattering terms f′, f″ at their current values
/// (as the Jacobian of every other target does): checked with them off, since Cu Kα lies
/// 0.05 Å from the Ni K edge, where f′ of Ni changes fast enough with λ to show in a central
/// difference (5·10⁻⁴ of the column; the far-from-edge synchrotron case checks it with them on).
fn wavelength_without_dispersion(model: &PatternModel, grid: &[f64]) {
    let mut m = model.clone();
    m.instrument.anomalous = false;
    check(&m, grid, &[Target::Wavelength], 1e-7, 2e-4);
}

#[test]
fn synchrotron_targets_match_finite_differences() {
    let mut model = ltno_synchrotron_model().unwrap();
    model.instrument.profile.u = 2e-4;
    model.instrument.profile.v = -1e-5;
    model.instrument.profile.x = 0.003;
    model.instrument.profile.asym = 0.01;
    model.instrument.zero_deg = 0.004;
    let grid = TwoThetaRange::new(8.0, 30.0, 0.002).unwrap().points();
    let mut targets = vec![
        Target::Scale { phase: 0 },
        Target::Cell { phase: 0, param: CellParam::A },
        Target::Occupancy { phase: 0, site: 0, occupant: 0 },
        Target::Occupancy { phase: 0, site: 0, occupant: 2 },
        Target::Biso { phase: 0, site: 0 },
        Target::Biso { phase: 0, site: 1 },
        Target::Zero,
        Target::Wavelength,
    ];
    targets.extend(
        [
            ProfileTerm::U,
            ProfileTerm::V,
            ProfileTerm::W,
            ProfileTerm::X,
            ProfileTerm::Y,
            ProfileTerm::Asym,
        ]
        .map(Target::Profile),
    );
    targets.extend((0..6).map(Target::Background));
    check(&model, &grid, &targets, 1e-7, 2e-4);
}

/// The lab reference model with a 50 µm specimen displacement, its 15–80° grid and the
/// position targets every lab check starts with.
fn displaced_lab() -> (PatternModel, Vec<f64>, [Target; 3]) {
    let mut model = ltno_al_lab_model().unwrap();
    if let Geometry::BraggBrentano { displacement_um, .. } = &mut model.instrument.geometry {
        *displacement_um = 50.0;
    }
    let grid = TwoThetaRange::new(15.0, 80.0, 0.01).unwrap().points();
    (model, grid, [Target::Displacement, Target::Zero, Target::Kalpha2Ratio])
}

#[test]
fn lab_doublet_displacement_and_capillary_targets_match_finite_differences() {
    let (mut model, grid, [t0, t1, t2]) = displaced_lab();
    let targets = [
        t0,
        t1,
        t2,
        Target::Scale { phase: 1 },
        Target::Cell { phase: 1, param: CellParam::A },
        Target::Cell { phase: 0, param: CellParam::A },
        Target::Profile(ProfileTerm::Asym),
        Target::Profile(ProfileTerm::W),
    ];
    check(&model, &grid, &targets, 1e-7, 2e-4);
    wavelength_without_dispersion(&model, &grid);
    // The flat-specimen aberration: every position and profile target through the shifted
    // copies, and the divergence itself.
    let mut flat = model.clone();
    flat.instrument.profile.divergence_deg = 0.7;
    let mut with_divergence = targets.to_vec();
    with_divergence.push(Target::Profile(ProfileTerm::Divergence));
    with_divergence.push(Target::Profile(ProfileTerm::X));
    check(&flat, &grid, &with_divergence, 1e-7, 2e-4);
    // Capillary absorption: the 2θ dependence of A enters the cell derivative.
    model.instrument.geometry = Geometry::DebyeScherrer { mu_r: 1.5 };
    check(
        &model,
        &grid,
        &[Target::Cell { phase: 0, param: CellParam::A }, Target::Zero],
        1e-7,
        2e-4,
    );
}

/// Hölzer's Cu Kα emission profile (four lines with natural Lorentzian widths): the line
/// widths vary with 2θ, so position targets carry ∂H_L/∂2θ of the lines too.
#[test]
fn emission_profile_targets_match_finite_differences() {
    let (mut model, grid, [t0, t1, t2]) = displaced_lab();
    model.instrument.radiation = bragg_crystal::instrument::Radiation::cu_kalpha_emission();
    let targets = [
        t0,
        t1,
        t2,
        Target::Cell { phase: 0, param: CellParam::A },
        Target::Profile(ProfileTerm::X),
        Target::Profile(ProfileTerm::Asym),
        Target::Profile(ProfileTerm::W),
    ];
    check(&model, &grid, &targets, 1e-7, 2e-4);
    wavelength_without_dispersion(&model, &grid);
    // The pattern is linear in the Kα2/Kα1 ratio, so its column is the same at every ratio,
    // including 0 (the Kα2 lines switched off, where the FD above cannot step below; from 0
    // the Kα2 lines come back with equal shares, hence both columns start from there).
    model.set(Target::Kalpha2Ratio, 0.0).unwrap();
    let column = |r: f64| {
        let mut m = model.clone();
        m.set(Target::Kalpha2Ratio, r).unwrap();
        let ev = Evaluator::new(&m, &grid).unwrap();
        let mut j = DMatrix::zeros(grid.len(), 1);
        ev.evaluate(&m, &[Target::Kalpha2Ratio], Some(&mut j)).unwrap();
        j
    };
    let (at0, at3) = (column(0.0), column(0.3));
    let top = at3.amax();
    assert!(top > 0.0 && (at0 - &at3).amax() <= 1e-9 * top);
}

/// Bérar–Baldinozzi asymmetry (FullProf Asy1–4) on the lab doublet, alone and on top of FCJ:
/// every profile and position target, and the four P's, including from P = 0.
#[test]
fn berar_baldinozzi_targets_match_finite_differences() {
    let grid = TwoThetaRange::new(15.0, 140.0, 0.01).unwrap().points();
    let mut targets = vec![
        Target::Zero,
        Target::Displacement,
        Target::Scale { phase: 1 },
        Target::Cell { phase: 1, param: CellParam::A },
        Target::Cell { phase: 0, param: CellParam::A },
    ];
    targets.extend(
        [
            ProfileTerm::U,
            ProfileTerm::W,
            ProfileTerm::X,
            ProfileTerm::Y,
            ProfileTerm::Asy1,
            ProfileTerm::Asy2,
            ProfileTerm::Asy3,
            ProfileTerm::Asy4,
        ]
        .map(Target::Profile),
    );
    for fcj in [0.0, 0.02] {
        let mut model = ltno_al_lab_model().unwrap();
        model.instrument.profile.asym = fcj;
        model.instrument.profile.bb = [-0.3, 0.01, 0.9, 0.02];
        if let Geometry::BraggBrentano { displacement_um, .. } = &mut model.instrument.geometry {
            *displacement_um = 30.0;
        }
        check(&model, &grid, &targets, 1e-7, 2e-4);
    }
    // From P = 0 (the first step of refining them): the columns still exist.
    let mut model = ltno_al_lab_model().unwrap();
    model.instrument.profile.bb = [0.0; 4];
    check(&model, &grid, &targets[5..], 1e-7, 2e-4);
}

/// FullProf's pseudo-Voigt function (η = Y + X·2θ, reaching η > 1 at high angle) with and
/// without the Bérar–Baldinozzi factor: every profile and position target.
#[test]
fn pseudo_voigt_function_targets_match_finite_differences() {
    let grid = TwoThetaRange::new(15.0, 140.0, 0.01).unwrap().points();
    let mut targets = vec![
        Target::Zero,
        Target::Scale { phase: 1 },
        Target::Cell { phase: 1, param: CellParam::A },
        Target::Cell { phase: 0, param: CellParam::A },
    ];
    targets.extend(
        [
            ProfileTerm::U,
            ProfileTerm::V,
            ProfileTerm::W,
            ProfileTerm::X,
            ProfileTerm::Y,
            ProfileTerm::Asy1,
            ProfileTerm::Asy3,
        ]
        .map(Target::Profile),
    );
    // The third case also draws each peak within ±6 FWHM only (FullProf's Wdt).
    for (bb, window) in
        [([0.0; 4], 0.0), ([-0.3, 0.01, 0.9, 0.0], 0.0), ([-0.3, 0.01, 0.9, 0.0], 6.0)]
    {
        let mut model = ltno_al_lab_model().unwrap();
        let p = &mut model.instrument.profile;
        p.function = bragg_crystal::profile::ProfileFunction::PseudoVoigt;
        (p.asym, p.bb, p.x, p.y, p.window_fwhm) = (0.0, bb, 0.012, 0.05, window);
        check(&model, &grid, &targets, 1e-7, 2e-4);
    }
}

/// Layered LiCoO2 (R-3m, hexagonal axes) with O on 6c (0, 0, z) and (00l) texture.
fn licoo2() -> PatternModel {
    let g = SpaceGroup::from_symbol("R-3m").unwrap();
    let occ =
        |s: &str, o: f64| vec![Occupant { species: Species::parse(s).unwrap(), occupancy: o }];
    let sites = vec![
        Site::at_wyckoff("Li1", &g, 'b', [0.0; 3], occ("Li", 0.97), 1.0).unwrap(),
        Site::at_wyckoff("Co1", &g, 'a', [0.0; 3], occ("Co", 1.0), 0.3).unwrap(),
        Site::at_wyckoff("O1", &g, 'c', [0.0, 0.0, 0.2604], occ("O", 1.0), 0.5).unwrap(),
    ];
    let phase = Phase::new("LCO", Cell::hexagonal(2.814, 14.048).unwrap(), g, sites).unwrap();
    let mut model = ltno_al_lab_model().unwrap();
    let mut c = PhaseContribution::new(phase, 0.01);
    c.preferred_orientation = Some(MarchDollase { axis_hkl: [0, 0, 1], r: 0.85 });
    model.phases = vec![c];
    model
}

#[test]
fn hexagonal_cell_coordinate_and_texture_targets_match_finite_differences() {
    let model = licoo2();
    let grid = TwoThetaRange::new(15.0, 80.0, 0.01).unwrap().points();
    let targets = [
        Target::Cell { phase: 0, param: CellParam::A },
        Target::Cell { phase: 0, param: CellParam::C },
        Target::Coordinate { phase: 0, site: 2, free: 0 },
        Target::Occupancy { phase: 0, site: 0, occupant: 0 },
        Target::Biso { phase: 0, site: 2 },
        Target::PreferredOrientation { phase: 0 },
    ];
    // Texture makes the cell derivative of P_hkl matter only for non-cubic cells; the engine
    // includes it through the cell-independent direction cosines of hexagonal (00l) planes.
    check(&model, &grid, &targets, 1e-7, 2e-4);
}

#[test]
fn extracted_intensity_targets_match_finite_differences() {
    let mut model = ltno_synchrotron_model().unwrap();
    let grid = TwoThetaRange::new(8.0, 30.0, 0.002).unwrap().points();
    let ev = Evaluator::new(&model, &grid).unwrap();
    let n = ev.reflections(0).len();
    model.phases[0].extracted_intensities = Some((0..n).map(|k| 100.0 + 10.0 * k as f64).collect());
    let targets: Vec<Target> =
        (0..n.min(6)).map(|k| Target::Intensity { phase: 0, reflection: k }).collect();
    check(&model, &grid, &targets, 1e-7, 2e-4);
}
