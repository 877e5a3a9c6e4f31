#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! The flat-specimen aberration drawn by the pattern engine
//! (`ProfileParams::divergence_deg`, `bragg_crystal::profile::flat_specimen`).

use bragg_crystal::background::ChebyshevBackground;
use bragg_crystal::examples::ltno_al_lab_model;
use bragg_crystal::instrument::Radiation;
use bragg_crystal::pattern::{simulate, Geometry, PatternModel, TwoThetaRange};

/// Al alone under one wavelength, no shifts, asymmetry or background, narrow Gaussian peaks.
fn al_model() -> PatternModel {
    let mut model = ltno_al_lab_model().unwrap();
    model.phases.remove(0);
    model.instrument.radiation = Radiation::monochromatic(1.540_592_9).unwrap();
    model.instrument.zero_deg = 0.0;
    if let Geometry::BraggBrentano { displacement_um, .. } = &mut model.instrument.geometry {
        *displacement_um = 0.0;
    }
    let p = &mut model.instrument.profile;
    (p.u, p.v, p.w, p.x, p.y, p.asym, p.bb) = (0.0, 0.0, 4e-4, 0.0, 0.0, 0.0, [0.0; 4]);
    model.background = ChebyshevBackground::new(vec![0.0], 15.0, 80.0).unwrap();
    model
}

/// Centroid of `y` over `grid` within ±`half` of `at`.
fn centroid(grid: &[f64], y: &[f64], at: f64, half: f64) -> f64 {
    let (mut m0, mut m1) = (0.0, 0.0);
    for (t, v) in grid.iter().zip(y) {
        if (t - at).abs() <= half {
            m0 += v;
            m1 += v * t;
        }
    }
    m1 / m0
}

/// Every peak keeps its area and its centroid moves by −(α²/6)·cot θ (the classical
/// flat-specimen shift, Klug & Alexander 1974 §5-2; Cheary, Coelho & Cline 2004): for Al 111
/// at 38.5° with α = 1° that is −0.0146°.
#[test]
fn centroid_moves_by_the_flat_specimen_shift_and_area_is_kept() {
    let grid = TwoThetaRange::new(15.0, 80.0, 0.001).unwrap().points();
    let plain = al_model();
    let mut flat = plain.clone();
    flat.instrument.profile.divergence_deg = 1.0;
    let (a, b) = (simulate(&plain, &grid).unwrap(), simulate(&flat, &grid).unwrap());
    let mut checked = 0;
    for r in &a.reflections[0].reflections {
        let t = r.two_theta_deg;
        if !(20.0..75.0).contains(&t) {
            continue;
        }
        let alpha = 1f64.to_radians();
        let shift = (-(alpha * alpha / 6.0) / (0.5 * t).to_radians().tan()).to_degrees();
        let (c0, c1) = (centroid(&grid, &a.total, t, 0.6), centroid(&grid, &b.total, t, 0.6));
        assert!(
            ((c1 - c0) - shift).abs() < 0.01 * shift.abs(),
            "{:?} at {t}: centroid moved {} vs {shift}",
            r.reflection.hkl,
            c1 - c0
        );
        let area = |y: &[f64]| -> f64 {
            grid.iter().zip(y).filter(|(g, _)| (*g - t).abs() <= 0.6).map(|(_, v)| v).sum()
        };
        assert!((area(&b.total) / area(&a.total) - 1.0).abs() < 1e-3);
        checked += 1;
    }
    assert!(checked >= 3, "{checked}");
}

/// A capillary has no flat specimen: a divergence there is an error naming the parameter.
#[test]
fn divergence_needs_bragg_brentano() {
    let mut model = al_model();
    model.instrument.profile.divergence_deg = 0.5;
    model.instrument.geometry = Geometry::DebyeScherrer { mu_r: 0.0 };
    let grid = TwoThetaRange::new(15.0, 80.0, 0.01).unwrap().points();
    let e = simulate(&model, &grid).unwrap_err().to_string();
    assert!(e.contains("divergence"), "{e}");
    model.instrument.geometry =
        Geometry::BraggBrentano { goniometer_radius_mm: 240.0, displacement_um: 0.0 };
    model.instrument.profile.divergence_deg = -1.0;
    assert!(simulate(&model, &grid).unwrap_err().to_string().contains("divergence"));
}
