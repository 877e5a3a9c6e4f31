#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! The peak window (`ProfileParams::window_fwhm`, FullProf's Wdt): each peak is drawn within
//! ±window × FWHM of its position and nowhere else.

use bragg_crystal::examples::ltno_al_lab_model;
use bragg_crystal::pattern::{simulate, TwoThetaRange};
use bragg_crystal::profile::ProfileFunction;

/// With Wdt = 6, a point farther than 6 FWHM from every Kα1 and Kα2 peak carries no phase
/// intensity at all (without the window it does: the Lorentzian tails), a point within some
/// peak's window does, and the window only ever removes intensity (every pseudo-Voigt here has
/// η ≤ 1, so its tails are ≥ 0).
#[test]
fn window_truncates_each_peak_at_wdt_fwhm() {
    let grid = TwoThetaRange::new(15.0, 80.0, 0.005).unwrap().points();
    let mut model = ltno_al_lab_model().unwrap();
    let p = &mut model.instrument.profile;
    p.function = ProfileFunction::PseudoVoigt;
    (p.asym, p.bb, p.x, p.y) = (0.0, [0.0; 4], 0.004, 0.3);
    let full = simulate(&model, &grid).unwrap();
    model.instrument.profile.window_fwhm = 6.0;
    let cut = simulate(&model, &grid).unwrap();
    let profile = model.instrument.profile;
    let ratio = {
        let w = model.instrument.radiation.components();
        w[1].wavelength_angstrom / w[0].wavelength_angstrom
    };
    // Every peak position (both wavelengths) with its FWHM.
    let mut peaks = vec![];
    for ph in &full.reflections {
        for r in &ph.reflections {
            let t1 = r.two_theta_deg;
            let t2 = 2.0 * (ratio * (0.5 * t1).to_radians().sin()).asin().to_degrees();
            for t in [t1, t2] {
                peaks.push((t, profile.fwhm_estimate(t).unwrap()));
            }
        }
    }
    let (mut outside, mut inside, mut tails) = (0, 0, 0);
    for (i, &t) in grid.iter().enumerate() {
        let sum_cut: f64 = cut.phases.iter().map(|y| y[i]).sum();
        let sum_full: f64 = full.phases.iter().map(|y| y[i]).sum();
        assert!(sum_cut <= sum_full * (1.0 + 1e-12) + 1e-300, "{t}: {sum_cut} > {sum_full}");
        if peaks.iter().all(|&(c, h)| (t - c).abs() > 6.0 * h * (1.0 + 1e-9)) {
            outside += 1;
            assert_eq!(sum_cut, 0.0, "{t}: {sum_cut} beyond every window");
            if sum_full > 0.0 {
                tails += 1;
            }
        } else {
            inside += 1;
            assert!(sum_cut > 0.0, "{t}");
        }
    }
    assert!(outside > 1000 && inside > 1000, "{outside} outside, {inside} inside");
    // ... where the default cutoff still draws the tails.
    assert!(tails > 1000, "{tails} of {outside} points beyond the windows carry tails");
    // A negative or NaN window is refused.
    model.instrument.profile.window_fwhm = -1.0;
    assert!(simulate(&model, &grid).is_err());
}
