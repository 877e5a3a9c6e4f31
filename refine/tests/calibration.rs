#![allow(clippy::unwrap_used, clippy::expect_used)] // test code
//! Statistical calibration of the esds: Monte-Carlo over Poisson realisations of a simulated
//! synchrotron pattern (LTNO rock salt at λ = 0.458 Å, 2–40° 2θ, `ltno_synchrotron_model`).
//!
//! If the model is right and the weights are 1/σ², the least-squares estimate p̂ of a
//! parameter is, to first order, normal about the truth with standard deviation σ(p) given by
//! the covariance (JᵀWJ)⁻¹χ²_ν (Prince, *Mathematical Techniques in Crystallography and
//! Materials Science*, 3rd ed., §8.1; Cramér–Rao). Hence over realisations the normalised
//! deviation z = (p̂ − p_true)/esd(p̂) has mean 0 and standard deviation 1, and |z| ≤ 1 with
//! probability erf(1/√2) = 0.6827. The tolerances are 99.9 % sampling intervals for the number
//! of realisations: the exact binomial interval for the count within 1 esd, 3.29·1/√N for the
//! mean of z and 3.29/√(2(N − 1)) for its standard deviation (normal approximation of the
//! sample sd). Everything is seeded, so each run is the same run.
//!
//! To keep the suite fast the grid step is 0.002° (19 001 points, ≈ 4 points per FWHM at low
//! angle) instead of the instrument's 0.001°; data and model use the same grid, so this changes
//! the information content, not the validity of the check (a run with 0.001° and N = 400 gave
//! the same figures within sampling error).

mod common;

use bragg_crystal::examples::ltno_synchrotron_model;
use bragg_crystal::pattern::{simulate, PatternModel, TwoThetaRange};
use bragg_crystal::Cell;
use bragg_refine::{FitOptions, Observations, Refinement};
use common::{binomial_interval, keys, mean_sd, param, poisson};
use rayon::prelude::*;

/// Number of Poisson realisations of the calibration test.
const N_REALISATIONS: u64 = 300;
/// Two-sided 99.9 % normal quantile.
const Z999: f64 = 3.2905;
/// P(|Z| ≤ 1) for a standard normal Z.
const P_ONE_SIGMA: f64 = 0.682_689_492;

/// Parameters refined in every realisation.
const REFINED: [&str; 13] = [
    "LTNO.scale",
    "LTNO.cell.a",
    "inst.zero",
    "inst.W",
    "LTNO.M1.biso",
    "LTNO.O1.biso",
    "bkg.0",
    "bkg.1",
    "bkg.2",
    "bkg.3",
    "bkg.4",
    "bkg.5",
    // Y is refined too so that the profile has both width terms free, as in practice.
    "inst.Y",
];

/// Parameters whose normalised deviations are checked (truth values read from the model).
const CHECKED: [&str; 7] =
    ["LTNO.cell.a", "LTNO.scale", "inst.zero", "inst.W", "inst.Y", "LTNO.M1.biso", "LTNO.O1.biso"];

fn grid() -> Vec<f64> {
    TwoThetaRange::new(2.0, 40.0, 0.002).unwrap().points()
}

/// The start of every fit: the truth moved by many esds in a, scale, zero, W, Y and B_iso
/// (a by +2 ppm ≈ 16 esd, B by +0.05 Å² ≈ 40 esd), so that each realisation has to converge.
fn perturbed(truth: &PatternModel) -> PatternModel {
    let mut m = truth.clone();
    let a = m.phases[0].phase.cell.a;
    m.phases[0].phase.cell = Cell::cubic(a * (1.0 + 2e-6)).unwrap();
    m.phases[0].scale *= 1.01;
    m.instrument.zero_deg += 5e-4;
    m.instrument.profile.w *= 1.05;
    m.instrument.profile.y *= 0.97;
    for s in &mut m.phases[0].phase.sites {
        s.biso += 0.05;
    }
    m
}

/// Refines one realisation and returns the (value, esd, esd_serial) of `checked`, the GoF, the
/// number of evaluations and the Durbin–Watson d.
fn refine_one(
    start: &PatternModel,
    grid: &[f64],
    y_obs: &[f64],
    sigma: Option<&[f64]>,
    checked: &[&str],
) -> (Vec<(f64, f64, f64)>, f64, usize, f64) {
    let obs = Observations::new(grid, y_obs, sigma, None, &[]).unwrap();
    let mut r = Refinement::new(start.clone(), obs).unwrap();
    r.refine(&keys(&REFINED), true).unwrap();
    let out = r.fit(FitOptions::default()).unwrap();
    assert!(out.termination.is_success(), "{:?}", out.termination);
    let vals = checked
        .iter()
        .map(|k| {
            let p = param(&r, k);
            (p.value, p.esd.unwrap(), p.esd_serial.unwrap())
        })
        .collect();
    (vals, out.statistics.gof, out.evaluations, out.statistics.durbin_watson.unwrap())
}

fn truth_values(truth: &PatternModel, checked: &[&str]) -> Vec<f64> {
    let obs = Observations::new(&[10.0, 20.0], &[1.0, 1.0], None, None, &[]).unwrap();
    let r = Refinement::new(truth.clone(), obs).unwrap();
    checked.iter().map(|k| param(&r, k).value).collect()
}

#[test]
#[cfg_attr(debug_assertions, ignore = "Monte Carlo: run with --release")]
fn esds_are_calibrated_over_poisson_realisations() {
    let t0 = std::time::Instant::now();
    let truth = ltno_synchrotron_model().unwrap();
    let grid = grid();
    let y_true = simulate(&truth, &grid).unwrap().total;
    let start = perturbed(&truth);
    let p_true = truth_values(&truth, &CHECKED);
    let runs: Vec<_> = (0..N_REALISATIONS)
        .into_par_iter()
        .map(|i| {
            let y = poisson(&y_true, 10_000 + i);
            refine_one(&start, &grid, &y, None, &CHECKED)
        })
        .collect();
    let n = runs.len() as f64;
    let (lo, hi) = binomial_interval(N_REALISATIONS, P_ONE_SIGMA, 0.999);
    let mean_tol = Z999 / n.sqrt();
    let sd_tol = Z999 / (2.0 * (n - 1.0)).sqrt();
    let (gof_mean, _) = mean_sd(&runs.iter().map(|r| r.1).collect::<Vec<_>>());
    let evals = runs.iter().map(|r| r.2).max().unwrap();
    eprintln!(
        "{N_REALISATIONS} realisations, 19 001 points, {} parameters: {:?} ({:.1} ms per fit per \
         core, ≤ {evals} evaluations), mean GoF {gof_mean:.4}",
        REFINED.len(),
        t0.elapsed(),
        t0.elapsed().as_secs_f64() * 1e3 * 2.0 / n,
    );
    eprintln!(
        "acceptance: count within 1 esd in [{lo}, {hi}] ({:.3}–{:.3}), |mean z| ≤ {mean_tol:.3}, \
         |sd z − 1| ≤ {sd_tol:.3}",
        lo as f64 / n,
        hi as f64 / n
    );
    let mut failures = Vec::new();
    for (j, key) in CHECKED.iter().enumerate() {
        let z: Vec<f64> = runs.iter().map(|r| (r.0[j].0 - p_true[j]) / r.0[j].1).collect();
        let within = z.iter().filter(|v| v.abs() <= 1.0).count() as u64;
        let (mean, sd) = mean_sd(&z);
        let esd_mean = runs.iter().map(|r| r.0[j].1).sum::<f64>() / n;
        eprintln!(
            "{key:14} truth {:<10.6e} mean esd {esd_mean:.3e}: within 1 esd {within}/{N_REALISATIONS} \
             = {:.3}, mean z {mean:+.3}, sd z {sd:.3}",
            p_true[j],
            within as f64 / n
        );
        if !(lo..=hi).contains(&within) {
            failures.push(format!("{key}: {within} of {N_REALISATIONS} within 1 esd"));
        }
        if mean.abs() > mean_tol {
            failures.push(format!("{key}: mean z = {mean:.3}"));
        }
        if (sd - 1.0).abs() > sd_tol {
            failures.push(format!("{key}: sd z = {sd:.3}"));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
    assert!((gof_mean - 1.0).abs() < 0.01, "mean GoF {gof_mean}");
}

/// The counting-statistics weights w = 1/max(y_obs, 1) of [`Observations::new`] (the usual
/// Rietveld choice) make the estimate of a constant level the harmonic mean of the counts,
/// which is biased low by σ²/μ = 1 count for Poisson data (Neyman's χ²; e.g. Hauschild &
/// Jentschel, Nucl. Instrum. Methods A 457, 384 (2001)). The Chebyshev background's constant
/// term T₀ ≡ 1 absorbs that shift: bkg.0 comes out ≈ 1 count low, ≈ 8 of its esds here, while
/// the same data weighted by the true variances σ² = y_true give a calibrated bkg.0. The test
/// pins both: the calibration of the profile parameters above is not an artefact of the
/// weights, and a change in the weighting scheme shows up here.
#[test]
#[cfg_attr(debug_assertions, ignore = "Monte Carlo: run with --release")]
fn counting_weights_bias_the_background_by_one_count_and_true_weights_do_not() {
    const N: u64 = 100;
    let truth = ltno_synchrotron_model().unwrap();
    let grid = grid();
    let y_true = simulate(&truth, &grid).unwrap().total;
    let sigma_true: Vec<f64> = y_true.iter().map(|v| v.sqrt()).collect();
    let start = perturbed(&truth);
    let b0 = truth.background.coeffs()[0];
    let runs: Vec<_> = (0..N)
        .into_par_iter()
        .map(|i| {
            let y = poisson(&y_true, 20_000 + i);
            let counting = refine_one(&start, &grid, &y, None, &["bkg.0"]).0[0];
            let exact = refine_one(&start, &grid, &y, Some(&sigma_true), &["bkg.0"]).0[0];
            (counting, exact)
        })
        .collect();
    let shift: Vec<f64> = runs.iter().map(|r| r.0 .0 - b0).collect();
    let (shift_mean, shift_sd) = mean_sd(&shift);
    let z_exact: Vec<f64> = runs.iter().map(|r| (r.1 .0 - b0) / r.1 .1).collect();
    let (zm, zs) = mean_sd(&z_exact);
    let esd = runs[0].0 .1;
    eprintln!(
        "bkg.0 (truth {b0}): counting weights shift {shift_mean:+.3} ± {:.3} counts \
         ({:+.1} esd); true-variance weights mean z {zm:+.3}, sd z {zs:.3}",
        shift_sd / (N as f64).sqrt(),
        shift_mean / esd
    );
    // Predicted shift −1 count (harmonic-mean bias, O(1/μ) ≈ 0.5 % corrections at ≈ 200
    // counts); tolerance 3.29 standard errors of the mean plus that correction.
    let tol = Z999 * shift_sd / (N as f64).sqrt() + 0.01;
    assert!((shift_mean + 1.0).abs() < tol, "shift {shift_mean} ± {tol}");
    assert!(zm.abs() < Z999 / (N as f64).sqrt(), "mean z {zm}");
    assert!((zs - 1.0).abs() < Z999 / (2.0 * (N as f64 - 1.0)).sqrt(), "sd z {zs}");
}

/// Serially correlated noise, as real Rietveld residuals are (FullProf's PbSO4 fit has
/// Durbin–Watson d = 0.73): Gaussian noise of σ = √y with AR(1) correlation ρ = 0.6 between
/// neighbouring points. The usual esds (C = A⁻¹χ²_ν) are then too small; the `esd_serial` of
/// every parameter (the least-squares sandwich with ρ estimated from d,
/// `Covariance::serial_corrected`) matches the spread of the estimates over realisations.
/// Tolerance: 3.29/√(2(N − 1)) on the ratio spread/esd (normal approximation of a sample sd).
#[test]
#[cfg_attr(debug_assertions, ignore = "Monte Carlo: run with --release")]
fn serial_esds_match_the_spread_under_ar1_noise() {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    const N: u64 = 200;
    const RHO: f64 = 0.6;
    let truth = ltno_synchrotron_model().unwrap();
    let grid = grid();
    let y_true = simulate(&truth, &grid).unwrap().total;
    let sigma: Vec<f64> = y_true.iter().map(|v| v.sqrt()).collect();
    let start = perturbed(&truth);
    let p_true = truth_values(&truth, &CHECKED);
    // Per realisation: (value, esd, esd_serial) of each checked parameter, and d.
    type Run = (Vec<(f64, f64, f64)>, f64);
    let runs: Vec<Run> = (0..N)
        .into_par_iter()
        .map(|i| {
            let mut rng = rand_pcg::Pcg64::seed_from_u64(30_000 + i);
            let mut e = 0.0;
            let y: Vec<f64> = y_true
                .iter()
                .zip(&sigma)
                .map(|(v, s)| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    e = RHO * e + (1.0 - RHO * RHO).sqrt() * z;
                    v + s * e
                })
                .collect();
            let (vals, _, _, d) = refine_one(&start, &grid, &y, Some(&sigma), &CHECKED);
            (vals, d)
        })
        .collect();
    let n = N as f64;
    let (d_mean, _) = mean_sd(&runs.iter().map(|r| r.1).collect::<Vec<_>>());
    assert!((d_mean - 2.0 * (1.0 - RHO)).abs() < 0.02, "mean d {d_mean}");
    let tol = Z999 / (2.0 * (n - 1.0)).sqrt();
    let mut failures = Vec::new();
    for (j, key) in CHECKED.iter().enumerate() {
        let (_, spread) = mean_sd(&runs.iter().map(|r| r.0[j].0 - p_true[j]).collect::<Vec<_>>());
        let (esd, _) = mean_sd(&runs.iter().map(|r| r.0[j].1).collect::<Vec<_>>());
        let (esd_serial, _) = mean_sd(&runs.iter().map(|r| r.0[j].2).collect::<Vec<_>>());
        eprintln!(
            "{key:14} spread/esd {:.3}, spread/esd_serial {:.3}",
            spread / esd,
            spread / esd_serial
        );
        if (spread / esd_serial - 1.0).abs() > tol {
            failures.push(format!("{key}: spread/esd_serial = {:.3}", spread / esd_serial));
        }
        // The plain esds are too small here: the correction is needed, not cosmetic.
        if spread / esd < 1.0 + tol {
            failures.push(format!("{key}: spread/esd = {:.3} (expected > 1)", spread / esd));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
