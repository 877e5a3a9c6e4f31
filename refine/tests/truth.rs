#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions
//! Truth recovery on simulated data (issue 3 "must show").

use bragg_crystal::examples::ltno_synchrotron_model;
use bragg_crystal::pattern::{simulate, PatternModel, TwoThetaRange};
use bragg_refine::{FitOptions, Observations, ParamKey, Refinement};
use rand::SeedableRng;
use rand_distr::{Distribution, Poisson};

fn noisy(model: &PatternModel, grid: &[f64], seed: u64) -> Vec<f64> {
    let y = simulate(model, grid).unwrap().total;
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    y.iter().map(|&v| Poisson::new(v.max(1e-9)).unwrap().sample(&mut rng)).collect()
}

fn keys(list: &[&str]) -> Vec<ParamKey> {
    list.iter().map(|k| k.parse().unwrap()).collect()
}

#[test]
fn refined_a_recovers_truth_from_close_start() {
    let truth = ltno_synchrotron_model().unwrap();
    let grid = TwoThetaRange::new(2.0, 40.0, 0.001).unwrap().points();
    let y = noisy(&truth, &grid, 1);
    let obs = Observations::new(&grid, &y, None, None, &[]).unwrap();
    let mut start = truth.clone();
    start.phases[0].phase.cell = bragg_crystal::Cell::cubic(4.14 * 1.0002).unwrap();
    start.phases[0].scale *= 0.9;
    let mut r = Refinement::new(start, obs).unwrap();
    r.refine(
        &keys(&["LTNO.scale", "LTNO.cell.a", "bkg.0", "bkg.1", "bkg.2", "bkg.3", "bkg.4", "bkg.5"]),
        true,
    )
    .unwrap();
    let t = std::time::Instant::now();
    let out = r.fit(FitOptions::default()).unwrap();
    eprintln!(
        "{:?} in {:?}, {} evaluations, Rwp {:.3} %, GoF {:.3}",
        out.termination,
        t.elapsed(),
        out.evaluations,
        out.statistics.rwp * 100.0,
        out.statistics.gof
    );
    let a = r.parameters.iter().find(|p| p.key.to_string() == "LTNO.cell.a").unwrap();
    eprintln!("a = {} ± {:?}", a.value, a.esd);
    assert!(out.termination.is_success(), "{:?}", out.termination);
    let esd = a.esd.unwrap();
    assert!((a.value - 4.14).abs() < 4.0 * esd, "a = {} ± {esd}", a.value);
    assert!((out.statistics.gof - 1.0).abs() < 0.05, "GoF {}", out.statistics.gof);
}

#[test]
fn default_strategy_converges_from_half_a_percent_off() {
    let truth = ltno_synchrotron_model().unwrap();
    let grid = TwoThetaRange::new(2.0, 40.0, 0.001).unwrap().points();
    let y = noisy(&truth, &grid, 2);
    let obs = Observations::new(&grid, &y, None, None, &[]).unwrap();
    let mut start = truth.clone();
    start.phases[0].phase.cell = bragg_crystal::Cell::cubic(4.14 * 1.005).unwrap();
    start.phases[0].scale *= 0.5;
    start.instrument.zero_deg = 0.003;
    let mut r = Refinement::new(start, obs).unwrap();
    let t = std::time::Instant::now();
    let (stages, out) = bragg_refine::strategy::run_default(
        &mut r,
        &bragg_refine::strategy::StrategyOptions::default(),
    )
    .unwrap();
    for s in &stages {
        eprintln!(
            "{:40} {:?} evals {} Rwp {:.3} % dropped {:?}",
            s.name,
            s.termination,
            s.evaluations,
            100.0 * s.rwp,
            s.dropped
        );
    }
    eprintln!("total {:?}", t.elapsed());
    let a = r.parameters.iter().find(|p| p.key.to_string() == "LTNO.cell.a").unwrap();
    eprintln!("a = {} ± {:?}; GoF {}", a.value, a.esd, out.statistics.gof);
    assert!((a.value - 4.14).abs() < 4.0 * a.esd.unwrap());
    assert!(out.statistics.gof < 1.05);
}
