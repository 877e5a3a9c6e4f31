#![allow(missing_docs)] // criterion_group! generates undocumented items
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Issue 3 benchmark: full refinement of the 38,001-point LTNO SXRD pattern (2–40°, step
//! 0.001°, λ = 0.458 Å) refining scale, a, zero, U, V, W, X, Y, six background terms and two
//! B_iso (16 parameters) from a start with a 0.3 % wrong, with the newcomer's default
//! strategy (widening search + stages). Run: `cargo bench -p bragg-refine --bench refine`.
use bragg_crystal::examples::ltno_synchrotron_model;
use bragg_crystal::pattern::{simulate, TwoThetaRange};
use bragg_refine::strategy::{run_default, StrategyOptions};
use bragg_refine::{Observations, Refinement};
use criterion::{criterion_group, criterion_main, Criterion};
use rand::SeedableRng;
use rand_distr::{Distribution, Poisson};

fn bench(c: &mut Criterion) {
    let mut truth = ltno_synchrotron_model().unwrap();
    truth.instrument.profile.asym = 0.0; // 16 parameters: asymmetry not refined
    let grid = TwoThetaRange::new(2.0, 40.0, 0.001).unwrap().points();
    let y = simulate(&truth, &grid).unwrap().total;
    let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
    let y: Vec<f64> =
        y.iter().map(|&v| Poisson::new(v.max(1e-9)).unwrap().sample(&mut rng)).collect();
    let obs = Observations::new(&grid, &y, None, None, &[]).unwrap();
    let mut start = truth.clone();
    start.phases[0].phase.cell = bragg_crystal::Cell::cubic(4.14 * 1.003).unwrap();
    let options = StrategyOptions { asymmetry: false, ..StrategyOptions::default() };
    // Report iterations once.
    let mut r = Refinement::new(start.clone(), obs.clone()).unwrap();
    let (stages, out) = run_default(&mut r, &options).unwrap();
    let evals: usize = stages.iter().map(|s| s.evaluations).sum();
    for s in &stages {
        eprintln!(
            "  {:50} {:?} evals {} Rwp {:.3} %",
            s.name,
            s.termination,
            s.evaluations,
            100.0 * s.rwp
        );
    }
    let a = r.parameters.iter().find(|p| p.key.to_string() == "LTNO.cell.a").unwrap();
    eprintln!(
        "default strategy: {} stages, {evals} LM evaluations, {} refined at the end, a = {} ± {:?}, Rwp {:.3} %",
        stages.len(),
        r.parameters.iter().filter(|p| p.refined).count(),
        a.value,
        a.esd,
        100.0 * out.statistics.rwp
    );
    let mut group = c.benchmark_group("refine");
    group.sample_size(10);
    group.bench_function("ltno_sxrd_38001_default_strategy_from_0.3pct", |b| {
        b.iter(|| {
            let mut r = Refinement::new(start.clone(), obs.clone()).unwrap();
            run_default(&mut r, &options).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
