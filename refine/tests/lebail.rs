//! Le Bail extraction and Pawley fitting on simulated patterns with Poisson noise: the
//! extracted |F|²-equivalents are compared with the |F|² the simulation used (the independent
//! truth: the structure factors of `bragg_crystal::examples`), and the cells refined in
//! extraction mode with the simulated cells.

use bragg_crystal::examples::{ltno_al_lab_model, ltno_synchrotron_model};
use bragg_crystal::pattern::{simulate, PatternModel, TwoThetaRange};
use bragg_crystal::Cell;
use bragg_refine::lebail::{lebail, ExtractedReflection, InitialIntensities, LeBailOptions};
use bragg_refine::pawley::{pawley, PawleyOptions};
use bragg_refine::{Observations, ParamKey, Refinement};
use rand::SeedableRng;
use rand_distr::{Distribution, Poisson};
use std::collections::HashMap;

fn noisy(model: &PatternModel, grid: &[f64], seed: u64) -> Vec<f64> {
    let y = simulate(model, grid).unwrap().total;
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    y.iter().map(|&v| Poisson::new(v.max(1e-9)).unwrap().sample(&mut rng)).collect()
}

fn keys(list: &[&str]) -> Vec<ParamKey> {
    list.iter().map(|k| k.parse().unwrap()).collect()
}

/// |F|² (per reflection, e²) the simulation used, by phase name and hkl.
fn truth_f2(model: &PatternModel, grid: &[f64]) -> HashMap<(String, [i32; 3]), f64> {
    let sim = simulate(model, grid).unwrap();
    let mut out = HashMap::new();
    for ph in &sim.reflections {
        for r in &ph.reflections {
            out.insert((ph.phase.clone(), r.reflection.hkl), r.f2);
        }
    }
    out
}

fn param(r: &Refinement, key: &str) -> (f64, f64) {
    let p = r.parameters.iter().find(|p| p.key.to_string() == key).unwrap();
    (p.value, p.esd.unwrap())
}

/// The counting-statistics relative uncertainty of an isolated reflection's partitioned
/// intensity: I ∝ Σ_window (y_o − y_b) with Var = Σ_window y_o (Poisson), so
/// σ_I/I ≈ √(Σ y_o)/Σ (y_o − y_b) over the points where the reflection adds counts.
fn counting_sigma(r: &Refinement, phase: usize) -> Vec<f64> {
    let e = r.evaluate().unwrap();
    let contributions = r.evaluator().reflection_contributions(&r.model, phase).unwrap();
    contributions
        .iter()
        .map(|(lo, v)| {
            let (mut counts, mut net) = (0.0, 0.0);
            let max = v.iter().copied().fold(0.0, f64::max);
            for (j, &c) in v.iter().enumerate() {
                // Points carrying the peak (above 1 % of its maximum).
                if c > 0.01 * max {
                    counts += r.observations.y_obs[lo + j];
                    net += r.observations.y_obs[lo + j] - e.background[lo + j];
                }
            }
            if net > 0.0 {
                counts.sqrt() / net
            } else {
                f64::INFINITY
            }
        })
        .collect()
}

/// Whether a reflection has no other (non-exactly-overlapping) reflection of any phase within
/// `k` total FWHM (primary wavelength positions).
fn well_separated(
    r: &Refinement,
    all: &[ExtractedReflection],
    x: &ExtractedReflection,
    k: f64,
) -> bool {
    let w = r.model.instrument.profile.widths(x.two_theta_deg).unwrap();
    let fwhm = w.fwhm_g + w.fwhm_l;
    all.iter().all(|o| {
        (o.phase == x.phase && (o.hkl == x.hkl || x.exact_overlaps.contains(&o.hkl)))
            || (o.two_theta_deg - x.two_theta_deg).abs() > k * fwhm
    })
}

/// Checks every in-range reflection of `phase_name` against the truth: well-separated
/// singletons within `tol` (relative), exact-overlap groups by their Σ m I. Returns the
/// largest relative error of each kind.
fn compare(
    r: &Refinement,
    refl: &[ExtractedReflection],
    truth: &HashMap<(String, [i32; 3]), f64>,
    phase_name: &str,
    tol: f64,
) -> (f64, f64, usize) {
    let (mut worst_single, mut worst_group, mut n) = (0.0_f64, 0.0_f64, 0);
    let phase = r.model.phases.iter().position(|c| c.phase.name == phase_name).unwrap();
    let sigma = counting_sigma(r, phase);
    let list = r.evaluator().reflections(phase);
    let sigma_of = |hkl: [i32; 3]| sigma[list.iter().position(|x| x.hkl == hkl).unwrap()];
    for x in refl.iter().filter(|x| x.phase_name == phase_name && x.in_range) {
        if !well_separated(r, refl, x, 4.0) {
            continue;
        }
        let f2 = truth[&(phase_name.to_string(), x.hkl)];
        if x.exact_overlaps.is_empty() {
            let rel = (x.intensity - f2) / f2;
            eprintln!(
                "{phase_name} {:?} d = {:.4} 2θ = {:.3} m = {:2} I = {:10.2}{} |F|² = {:10.2} \
                 Δ = {:+.3} %, counting σ = {:.3} %",
                x.hkl,
                x.d,
                x.two_theta_deg,
                x.multiplicity,
                x.intensity,
                x.esd.map(|e| format!(" ± {e:.2}")).unwrap_or_default(),
                f2,
                100.0 * rel,
                100.0 * sigma_of(x.hkl)
            );
            assert!(
                rel.abs() < tol,
                "{phase_name} {:?}: I = {} vs |F|² = {f2}",
                x.hkl,
                x.intensity
            );
            worst_single = worst_single.max(rel.abs());
            n += 1;
        } else if x.exact_overlaps.iter().all(|h| h < &x.hkl) {
            // Once per group (at its member with the largest hkl): Σ m I vs Σ m |F|².
            let members: Vec<&ExtractedReflection> = refl
                .iter()
                .filter(|o| {
                    o.phase_name == phase_name
                        && (o.hkl == x.hkl || x.exact_overlaps.contains(&o.hkl))
                })
                .collect();
            let sum_i: f64 = members.iter().map(|o| f64::from(o.multiplicity) * o.intensity).sum();
            let sum_f: f64 = members
                .iter()
                .map(|o| f64::from(o.multiplicity) * truth[&(phase_name.to_string(), o.hkl)])
                .sum();
            let rel = (sum_i - sum_f) / sum_f;
            eprintln!(
                "{phase_name} group {:?}: Σ m I = {sum_i:.1} vs Σ m |F|² = {sum_f:.1}, Δ = {:+.3} %",
                members.iter().map(|o| o.hkl).collect::<Vec<_>>(),
                100.0 * rel
            );
            // Equal shares: all members carry the same |F|²-equivalent.
            assert!(members.iter().all(|o| o.intensity == x.intensity));
            assert!(rel.abs() < tol, "group {:?}: {sum_i} vs {sum_f}", x.hkl);
            worst_group = worst_group.max(rel.abs());
        }
    }
    (worst_single, worst_group, n)
}

#[test]
fn lebail_recovers_synchrotron_intensities_and_cell() {
    let truth = ltno_synchrotron_model().unwrap();
    let grid = TwoThetaRange::new(4.0, 40.0, 0.002).unwrap().points();
    let y = noisy(&truth, &grid, 11);
    let f2 = truth_f2(&truth, &grid);
    let obs = Observations::new(&grid, &y, None, None, &[]).unwrap();
    let mut start = truth.clone();
    start.phases[0].phase.cell = Cell::cubic(4.14 * 1.0005).unwrap();
    let mut r = Refinement::new(start, obs).unwrap();
    r.refine(
        &keys(&["LTNO.cell.a", "inst.zero", "bkg.0", "bkg.1", "bkg.2", "bkg.3", "bkg.4", "bkg.5"]),
        true,
    )
    .unwrap();
    let t = std::time::Instant::now();
    let res = lebail(&mut r, &[0], LeBailOptions::default()).unwrap();
    eprintln!(
        "Le Bail: {} cycles (converged {}) in {:?}; {}",
        res.cycles,
        res.converged,
        t.elapsed(),
        res.statistics
    );
    for c in &res.history {
        eprintln!("  χ² = {:.1}  ΔI = {:.2e}", c.chi2_sum, c.intensity_change);
    }
    assert!(res.converged);
    let sigma = counting_sigma(&r, 0);
    eprintln!("counting σ_I/I: max {:.2e}", sigma.iter().cloned().fold(0.0, f64::max));
    let (single, group, n) = compare(&r, &res.reflections, &f2, "LTNO", 0.02);
    eprintln!("worst single {:.3} %, worst group {:.3} % over {n}", 100.0 * single, 100.0 * group);
    let (a, esd) = param(&r, "LTNO.cell.a");
    eprintln!("a = {a} ± {esd}");
    assert!((a - 4.14).abs() < 3.0 * esd, "a = {a} ± {esd}");
    assert!((res.statistics.gof - 1.0).abs() < 0.05, "GoF {}", res.statistics.gof);
}

#[test]
fn pawley_recovers_synchrotron_intensities_with_esds_and_cell() {
    let truth = ltno_synchrotron_model().unwrap();
    let grid = TwoThetaRange::new(4.0, 40.0, 0.002).unwrap().points();
    let y = noisy(&truth, &grid, 12);
    let f2 = truth_f2(&truth, &grid);
    let obs = Observations::new(&grid, &y, None, None, &[]).unwrap();
    let mut start = truth.clone();
    start.phases[0].phase.cell = Cell::cubic(4.14 * 0.9995).unwrap();
    let mut r = Refinement::new(start, obs).unwrap();
    r.refine(
        &keys(&["LTNO.cell.a", "inst.zero", "bkg.0", "bkg.1", "bkg.2", "bkg.3", "bkg.4", "bkg.5"]),
        true,
    )
    .unwrap();
    let t = std::time::Instant::now();
    let res = pawley(&mut r, &[0], PawleyOptions::default()).unwrap();
    eprintln!(
        "Pawley: {:?}, {} evaluations in {:?}; {}",
        res.outcome.termination,
        res.outcome.evaluations,
        t.elapsed(),
        res.statistics
    );
    assert!(res.outcome.termination.is_success());
    let sigma = counting_sigma(&r, 0);
    let (single, group, n) = compare(&r, &res.reflections, &f2, "LTNO", 0.02);
    eprintln!("worst single {:.3} %, worst group {:.3} % over {n}", 100.0 * single, 100.0 * group);
    let (a, esd) = param(&r, "LTNO.cell.a");
    eprintln!("a = {a} ± {esd}");
    assert!((a - 4.14).abs() < 3.0 * esd, "a = {a} ± {esd}");
    for (k, x) in res.reflections.iter().enumerate() {
        eprintln!(
            "{:?} esd/I = {:.2e} counting {:.2e} in range {}",
            x.hkl,
            x.esd.unwrap_or(f64::NAN) / x.intensity,
            sigma[k],
            x.in_range
        );
    }
}

#[test]
fn lebail_two_phase_lab_tracks_both_cells() {
    let truth = ltno_al_lab_model().unwrap();
    let grid = TwoThetaRange::new(15.0, 80.0, 0.01).unwrap().points();
    let y = noisy(&truth, &grid, 13);
    let f2 = truth_f2(&truth, &grid);
    let obs = Observations::new(&grid, &y, None, None, &[]).unwrap();
    let mut start = truth.clone();
    start.phases[0].phase.cell = Cell::cubic(4.14 * 1.0005).unwrap();
    start.phases[1].phase.cell = Cell::cubic(4.0495 * 0.9995).unwrap();
    let mut r = Refinement::new(start, obs).unwrap();
    r.refine(
        &keys(&["LTNO.cell.a", "Al.cell.a", "inst.zero", "bkg.0", "bkg.1", "bkg.2", "bkg.3"]),
        true,
    )
    .unwrap();
    let t = std::time::Instant::now();
    let res = lebail(&mut r, &[0, 1], LeBailOptions::default()).unwrap();
    eprintln!(
        "Le Bail (2 phases): {} cycles (converged {}) in {:?}; {}",
        res.cycles,
        res.converged,
        t.elapsed(),
        res.statistics
    );
    for c in &res.history {
        eprintln!("  χ² = {:.1}  ΔI = {:.2e}", c.chi2_sum, c.intensity_change);
    }
    assert!(res.converged);
    compare(&r, &res.reflections, &f2, "LTNO", 0.05);
    compare(&r, &res.reflections, &f2, "Al", 0.05);
    for (key, truth_a) in [("LTNO.cell.a", 4.14), ("Al.cell.a", 4.0495)] {
        let (a, esd) = param(&r, key);
        eprintln!("{key} = {a} ± {esd}");
        assert!((a - truth_a).abs() < 3.0 * esd, "{key} = {a} ± {esd}");
    }
}
