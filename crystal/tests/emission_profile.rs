#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! Emission profiles: wavelength components with a natural Lorentzian width
//! (`WavelengthComponent::lorentz_fwhm_angstrom`) and Hölzer's Cu Kα profile
//! (`Radiation::cu_kalpha_emission`).

use bragg_crystal::background::ChebyshevBackground;
use bragg_crystal::examples::ltno_al_lab_model;
use bragg_crystal::instrument::{Radiation, WavelengthComponent};
use bragg_crystal::pattern::{simulate, Geometry, PatternModel, TwoThetaRange};
use bragg_crystal::profile::ProfileFunction;

/// A lab model with no asymmetry, no position shifts and no background.
fn bare() -> PatternModel {
    let mut model = ltno_al_lab_model().unwrap();
    model.instrument.zero_deg = 0.0;
    if let Geometry::BraggBrentano { displacement_um, .. } = &mut model.instrument.geometry {
        *displacement_um = 0.0;
    }
    let p = &mut model.instrument.profile;
    (p.asym, p.bb) = (0.0, [0.0; 4]);
    model.background = ChebyshevBackground::new(vec![0.0], 15.0, 80.0).unwrap();
    model
}

/// A line of natural width Δλ adds 2(Δλ/λ)·(180/π) degrees to the X of H_L = X tan θ + Y/cos θ
/// (Lorentzian FWHMs add under convolution): the two models give the same pattern.
#[test]
fn a_line_width_is_an_x_term() {
    let grid = TwoThetaRange::new(15.0, 80.0, 0.005).unwrap().points();
    let (lambda, width) = (1.5406, 4.4e-4);
    let mut wide = bare();
    wide.instrument.radiation = Radiation::new(vec![WavelengthComponent {
        wavelength_angstrom: lambda,
        relative_intensity: 1.0,
        lorentz_fwhm_angstrom: width,
    }])
    .unwrap();
    let mut sharp = wide.clone();
    sharp.instrument.radiation = Radiation::monochromatic(lambda).unwrap();
    sharp.instrument.profile.x += 2.0 * width / lambda * 180.0 / std::f64::consts::PI;
    let (a, b) = (simulate(&wide, &grid).unwrap(), simulate(&sharp, &grid).unwrap());
    let top = b.total.iter().copied().fold(0.0, f64::max);
    let worst = a.total.iter().zip(&b.total).map(|(u, v)| (u - v).abs()).fold(0.0, f64::max);
    assert!(top > 0.0 && worst <= 1e-12 * top, "worst {worst:e} of {top:e}");
    // And the width matters: without it the pattern differs.
    let mut plain = wide.clone();
    plain.instrument.radiation = Radiation::monochromatic(lambda).unwrap();
    let c = simulate(&plain, &grid).unwrap();
    let diff = a.total.iter().zip(&c.total).map(|(u, v)| (u - v).abs()).fold(0.0, f64::max);
    assert!(diff > 1e-2 * top, "{diff:e}");
}

/// With an almost sharp instrument, Hölzer's profile puts a peak's maximum where the ITC Cu
/// Kα1 peak wavelength 1.5405929 Å puts it (ITC Vol. C Table 4.2.2.1, the maximum of the
/// measured Kα1 line), not at Kα11's own 1.5405909 Å: the Kα12 satellite (8 % of the area,
/// 2.47 eV below) pulls the maximum 1.5·10⁻⁴° up at Al 311 (2θ ≈ 78°).
#[test]
fn holzer_profile_peaks_at_the_itc_kalpha1() {
    let mut model = bare();
    model.instrument.radiation = Radiation::cu_kalpha_emission();
    let p = &mut model.instrument.profile;
    (p.u, p.v, p.w, p.x, p.y) = (0.0, 0.0, 1e-7, 0.0, 0.0);
    let probe = TwoThetaRange::new(15.0, 80.0, 0.01).unwrap().points();
    let sim = simulate(&model, &probe).unwrap();
    let al = sim.reflections.iter().find(|r| r.phase == "Al").unwrap();
    let r = al.reflections.iter().find(|r| r.reflection.hkl == [3, 1, 1]).unwrap();
    let d = r.reflection.d;
    let expect = 2.0 * (1.540_592_9 / (2.0 * d)).asin().to_degrees();
    let kalpha11 = 2.0
        * (model.instrument.radiation.components()[0].wavelength_angstrom / (2.0 * d))
            .asin()
            .to_degrees();
    assert!(expect - kalpha11 > 1.2e-4, "{expect} {kalpha11}");
    let grid = TwoThetaRange::new(expect - 0.01, expect + 0.01, 1e-5).unwrap().points();
    let y = simulate(&model, &grid).unwrap().phases[1].clone();
    let i = (1..y.len() - 1).max_by(|&a, &b| y[a].total_cmp(&y[b])).unwrap();
    // Parabola through the three highest points.
    let (l, c, h) = (y[i - 1], y[i], y[i + 1]);
    let top = grid[i] + 0.5 * 1e-5 * (l - h) / (l - 2.0 * c + h);
    assert!((top - expect).abs() < 2e-5, "maximum at {top}, ITC Kα1 at {expect}");
}

/// The FullProf pseudo-Voigt carries η, not a Lorentzian FWHM: line widths need TCH.
#[test]
fn line_widths_need_the_tch_function() {
    let mut model = bare();
    model.instrument.radiation = Radiation::cu_kalpha_emission();
    model.instrument.profile.function = ProfileFunction::PseudoVoigt;
    let grid = TwoThetaRange::new(15.0, 80.0, 0.01).unwrap().points();
    let e = simulate(&model, &grid).unwrap_err().to_string();
    assert!(e.contains("lorentz_fwhm_angstrom"), "{e}");
}

/// A grid that ends just past a reflection's Kα1 peak but before its Kα2 peak still draws
/// the Kα1 peak (the reflection list is cut at the shortest wavelength's d_min; it was once
/// cut at the longest, which dropped such reflections when the peaks are sharp).
#[test]
fn a_grid_ending_between_kalpha1_and_kalpha2_keeps_the_kalpha1_peak() {
    let mut model = bare();
    let p = &mut model.instrument.profile;
    (p.u, p.v, p.w, p.x, p.y) = (0.0, 0.0, 1e-6, 0.0, 0.001);
    let probe = TwoThetaRange::new(15.0, 80.0, 0.01).unwrap().points();
    let sim = simulate(&model, &probe).unwrap();
    let al = sim.reflections.iter().find(|r| r.phase == "Al").unwrap();
    let t = al.reflections.iter().find(|r| r.reflection.hkl == [3, 1, 1]).unwrap().two_theta_deg;
    let grid = TwoThetaRange::new(t - 0.05, t + 0.01, 0.001).unwrap().points();
    let y = simulate(&model, &grid).unwrap().phases[1].clone();
    let top = y.iter().copied().fold(0.0, f64::max);
    let at = y[grid.iter().position(|&g| (g - t).abs() < 5e-4).unwrap()];
    assert!(top > 0.0 && at == top, "Kα1 peak of Al 311 missing: max {top}, at peak {at}");
}
