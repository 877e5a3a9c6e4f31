#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark code
#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Pattern-calculation benchmarks (issue 2): the 38,001-point synchrotron pattern of the LTNO
//! rock salt (2–40° 2θ, step 0.001°, λ = 0.458 Å) and the 3,251-point Cu Kα1/Kα2 lab pattern
//! (15–80°, step 0.02°) of LTNO + Al. Timed from the model to y_calc, reflection generation and
//! structure factors included. Run: `cargo bench -p bragg-crystal --bench pattern`.
use bragg_crystal::examples::{ltno_al_lab_model, ltno_synchrotron_model};
use bragg_crystal::pattern::{simulate, TwoThetaRange};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let sync = ltno_synchrotron_model().expect("model");
    let grid = TwoThetaRange::new(2.0, 40.0, 0.001).expect("range").points();
    assert_eq!(grid.len(), 38_001);
    c.bench_function("synchrotron_38001", |b| {
        b.iter(|| simulate(black_box(&sync), black_box(&grid)).expect("simulate"))
    });

    let lab = ltno_al_lab_model().expect("model");
    let grid = TwoThetaRange::new(15.0, 80.0, 0.02).expect("range").points();
    assert_eq!(grid.len(), 3_251);
    c.bench_function("lab_two_phase_3251", |b| {
        b.iter(|| simulate(black_box(&lab), black_box(&grid)).expect("simulate"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
