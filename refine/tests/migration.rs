#![allow(clippy::unwrap_used, clippy::expect_used)] // test code
//! Ni migration from octahedral 4a to tetrahedral 8c in the LTNO rock salt (the seed paper,
//! B. Li et al., Nat. Mater. 21, 1165 (2022)), recovered from simulated synchrotron data with
//! the composition-conserving constraint `Constraint::ConserveSpecies`.
//!
//! **Meaning of "1.5 % migration" here: 1.5 % of the Ni atoms sit on 8c.** Per cell the
//! 4a site (multiplicity 4) holds 4 × 0.125 = 0.5 Ni; with a fraction f of it on 8c
//! (multiplicity 8, Fm-3m 8c at ¼,¼,¼):
//!   occ(8c) = f · 0.5 / 8 = 9.375·10⁻⁴,  occ(4a, Ni) = 0.125 (1 − f) = 0.123125,
//! and 4·occ(4a) + 8·occ(8c) = 0.5 is conserved. The constraint makes occ(4a) move by −2 per
//! unit of occ(8c), so esd(4a) = 2·esd(8c) exactly (T C Tᵀ with T = (1, −½) or (−2, 1)).
//!
//! Sensitivity (why this is measurable): 8c contributes ±8 f_Ni occ(8c) to F for h+k+l ≡ 0, 2
//! (mod 4) and nothing for odd hkl; taking the Ni from 4a cancels it for h+k+l ≡ 0 and doubles
//! it for ≡ 2 (200, 222, 420 …), while odd reflections (111, 311 …) lose −8 f_Ni occ(8c). So
//! the move changes the 111 and 200 intensities by ≈ −3 % and −1 %: at 10⁵ counts on the
//! strongest peak that is ≈ 9 esds. This is an ideal-model test (no systematic errors), so it
//! shows the estimator and its esd are right, not that 1.5 % is detectable on real data.
//!
//! Data: λ = 0.458 Å, 2–40° in 0.001° steps (the instrument's step), phase scale chosen so the
//! strongest peak has 1.0·10⁵ counts (the low end of an 11-BM scan), background ≈ 200 counts.

mod common;

use bragg_crystal::element::Species;
use bragg_crystal::examples::ltno_synchrotron_model;
use bragg_crystal::pattern::{simulate, PatternModel, TwoThetaRange};
use bragg_crystal::structure::{Occupant, Site};
use bragg_refine::{Constraint, FitOptions, Observations, ParamKey, Refinement};
use common::{keys, mean_sd, param, poisson};
use rayon::prelude::*;

/// Ni atoms per cell (4a multiplicity 4 × occupancy 0.125).
const NI_PER_CELL: f64 = 0.5;
/// Fraction of the Ni on 8c in the truth.
const MIGRATED_FRACTION: f64 = 0.015;
/// Counts on the strongest peak (above background).
const PEAK_COUNTS: f64 = 1.0e5;
/// Two-sided 99.9 % normal quantile.
const Z999: f64 = 3.2905;

/// The LTNO model with a fraction `f` of its Ni moved from 4a (M1) to a tetrahedral 8c site
/// T1 at (¼, ¼, ¼), B_iso(T1) = B_iso(M1) = 0.5 Å², phase scale `scale`.
fn migrated(f: f64, scale: f64) -> PatternModel {
    let mut m = ltno_synchrotron_model().unwrap();
    m.phases[0].scale = scale;
    let ph = &mut m.phases[0].phase;
    let ni = ph.sites[0].occupants.iter_mut().find(|o| o.species.element.symbol() == "Ni").unwrap();
    ni.occupancy = NI_PER_CELL * (1.0 - f) / 4.0;
    let t1 = Site::at_wyckoff(
        "T1",
        &ph.space_group,
        'c',
        [0.0; 3],
        vec![Occupant { species: Species::parse("Ni").unwrap(), occupancy: NI_PER_CELL * f / 8.0 }],
        0.5,
    )
    .unwrap();
    assert_eq!(t1.position, [0.25; 3]);
    assert_eq!(ph.space_group.orbit(t1.position).len(), 8);
    ph.sites.push(t1);
    ph.validate().unwrap();
    m
}

/// The phase scale giving `PEAK_COUNTS` on the strongest peak (intensity ∝ scale).
fn scale_for_peak_counts(grid: &[f64]) -> f64 {
    let m = migrated(MIGRATED_FRACTION, 0.01);
    let peak = simulate(&m, grid).unwrap().phases[0].iter().copied().fold(0.0, f64::max);
    0.01 * PEAK_COUNTS / peak
}

/// The refinement used throughout: scale, a, zero, W, B_iso (T1 tied to M1), Ni on 4a and 8c
/// under `ConserveSpecies`, six background terms; started from no migration.
fn migration_refinement(grid: &[f64], y: &[f64], scale: f64) -> Refinement {
    let obs = Observations::new(grid, y, None, None, &[]).unwrap();
    let mut r = Refinement::new(migrated(0.0, scale), obs).unwrap();
    r.constraints.push(Constraint::ConserveSpecies {
        phase: "LTNO".into(),
        species: "Ni".into(),
        sites: vec!["M1".into(), "T1".into()],
    });
    // B_iso(T1) = B_iso(M1), held at its start difference 0.
    r.constraints.push(Constraint::Linear {
        terms: vec![
            ("LTNO.M1.biso".parse::<ParamKey>().unwrap(), 1.0),
            ("LTNO.T1.biso".parse::<ParamKey>().unwrap(), -1.0),
        ],
    });
    r.refine(
        &keys(&[
            "LTNO.scale",
            "LTNO.cell.a",
            "inst.zero",
            "inst.W",
            "LTNO.M1.biso",
            "LTNO.O1.biso",
            "LTNO.T1.biso",
            "LTNO.M1.occ.Ni",
            "LTNO.T1.occ.Ni",
            "bkg.0",
            "bkg.1",
            "bkg.2",
            "bkg.3",
            "bkg.4",
            "bkg.5",
        ]),
        true,
    )
    .unwrap();
    r
}

/// One fit: (occ 8c, esd 8c, occ 4a, esd 4a), after checking the constraints hold exactly.
fn fit_one(grid: &[f64], y: &[f64], scale: f64) -> (f64, f64, f64, f64) {
    let mut r = migration_refinement(grid, y, scale);
    let out = r.fit(FitOptions::default()).unwrap();
    assert!(out.termination.is_success(), "{:?}", out.termination);
    assert!(out.bound_hits.is_empty(), "{:?}", out.bound_hits);
    let t1 = param(&r, "LTNO.T1.occ.Ni").clone();
    let m1 = param(&r, "LTNO.M1.occ.Ni").clone();
    let (e1, e4) = (t1.esd.unwrap(), m1.esd.unwrap());
    // The 4a Ni follows the constraint exactly, in the parameter list and in the model …
    let total = 4.0 * m1.value + 8.0 * t1.value;
    assert!((total - NI_PER_CELL).abs() < 1e-12, "Ni per cell {total}");
    let sites = &r.model.phases[0].phase.sites;
    assert_eq!(sites[0].occupants[2].occupancy, m1.value);
    assert_eq!(sites[2].occupants[0].occupancy, t1.value);
    // … its esd is the propagated one, 2 × that of 8c (8/4), and the two are one variable.
    assert!((e4 / e1 - 2.0).abs() < 1e-9, "esd ratio {}", e4 / e1);
    let cov = out.covariance.as_ref().unwrap();
    let n_occ = cov.names.iter().filter(|n| n.contains(".occ.Ni")).count();
    assert_eq!(n_occ, 1, "one independent Ni occupancy, got {:?}", cov.names);
    // The tied B_iso stays tied.
    assert_eq!(sites[2].biso, sites[0].biso);
    (t1.value, e1, m1.value, e4)
}

#[test]
#[cfg_attr(debug_assertions, ignore = "Monte Carlo: run with --release")]
fn one_and_a_half_percent_ni_migration_is_recovered() {
    let t0 = std::time::Instant::now();
    let grid = TwoThetaRange::new(2.0, 40.0, 0.001).unwrap().points();
    let scale = scale_for_peak_counts(&grid);
    let truth = migrated(MIGRATED_FRACTION, scale);
    let occ_true = NI_PER_CELL * MIGRATED_FRACTION / 8.0;
    let y_true = simulate(&truth, &grid).unwrap().total;

    // One realisation, as a user would have it.
    let (occ, esd, occ4, esd4) = fit_one(&grid, &poisson(&y_true, 2022), scale);
    let z = (occ - occ_true) / esd;
    eprintln!(
        "scale {scale:.4e}; occ(8c) = {occ:.4e} ± {esd:.1e} (truth {occ_true:.4e}, z = {z:+.2}, \
         {:.1} esd from 0); occ(4a, Ni) = {occ4:.6} ± {esd4:.1e}; Ni on 8c = {:.2} ± {:.2} %",
        occ / esd,
        100.0 * 8.0 * occ / NI_PER_CELL,
        100.0 * 8.0 * esd / NI_PER_CELL
    );
    // Within 2 esd of the truth: one realisation's z is N(0, 1) (checked below and in
    // calibration.rs), so a 1-esd criterion would fail for 32 % of seeds, i.e. it would be a
    // statement about the seed; 2 esd fails for 4.6 %, and the ensemble below is the real
    // check of the distribution.
    assert!(z.abs() <= 2.0, "occ(8c) {occ} ± {esd}, truth {occ_true}");
    // Significantly non-zero: more than 5 esd (p < 3·10⁻⁷ under no migration).
    assert!(occ / esd > 5.0, "occ(8c) {occ} ± {esd}");

    // Ensemble of realisations: z of occ(8c) must be N(0, 1) within 99.9 % sampling limits.
    const N: u64 = 100;
    let runs: Vec<_> = (0..N)
        .into_par_iter()
        .map(|i| fit_one(&grid, &poisson(&y_true, 3000 + i), scale))
        .collect();
    let zs: Vec<f64> = runs.iter().map(|r| (r.0 - occ_true) / r.1).collect();
    let (zm, zsd) = mean_sd(&zs);
    let min_signif = runs.iter().map(|r| r.0 / r.1).fold(f64::INFINITY, f64::min);
    let (occ_mean, occ_sd) = mean_sd(&runs.iter().map(|r| r.0).collect::<Vec<_>>());
    eprintln!(
        "{N} realisations: mean occ(8c) {occ_mean:.4e} (sd {occ_sd:.1e}, mean esd {:.1e}), \
         z mean {zm:+.3} sd {zsd:.3}, smallest occ/esd {min_signif:.1}; {:?}",
        runs.iter().map(|r| r.1).sum::<f64>() / N as f64,
        t0.elapsed()
    );
    let n = N as f64;
    assert!(zm.abs() < Z999 / n.sqrt(), "mean z {zm}");
    assert!((zsd - 1.0).abs() < Z999 / (2.0 * (n - 1.0)).sqrt(), "sd z {zsd}");
    assert!(min_signif > 3.0, "a realisation with occ(8c)/esd = {min_signif}");
}

#[test]
fn no_migration_is_not_reported_as_migration() {
    // The negative control: the same refinement of data without migration gives an 8c
    // occupancy within 3.29 esd of zero (from above: the model refuses negative occupancies).
    let grid = TwoThetaRange::new(2.0, 40.0, 0.001).unwrap().points();
    let scale = scale_for_peak_counts(&grid);
    let y_true = simulate(&migrated(0.0, scale), &grid).unwrap().total;
    let (occ, esd, occ4, _) = fit_one(&grid, &poisson(&y_true, 2023), scale);
    eprintln!("no migration: occ(8c) = {occ:.2e} ± {esd:.1e}, occ(4a, Ni) = {occ4:.6}");
    assert!(occ.abs() < Z999 * esd, "occ(8c) = {occ} ± {esd}");
}
