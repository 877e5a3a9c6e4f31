//! Criterion benchmark: bragg vs PhaseSmith 0.7.0 on the same two workloads.
//!
//! Run from benches-peer/:
//!   cargo bench -- --warm-up-time 1 --measurement-time 5            (PhaseSmith only)
//!   cargo bench --features bragg -- --warm-up-time 1 --measurement-time 5   (both sides)
//!
//! Functions per group:
//! * `phasesmith`           full model → y_calc (reflection generation + calculate_rietveld_pattern), 1 thread
//! * `phasesmith_prepared`  PhaseSmith's re-evaluation path (PreparedStructuralMultiphase::calculate + background), 1 thread
//! * `phasesmith_2threads`, `phasesmith_prepared_2threads`  the same with PhaseSmith's 2-thread ExecutionPolicy
//! * `bragg`, `bragg_cached` (with `--features bragg`) — see benches/bragg_side.rs

#![allow(missing_docs)]

use std::hint::black_box;

use bragg_benches_peer::phasesmith_side::{Config, PhasesmithWorkload};
use bragg_benches_peer::spec::{self, WorkloadSpec};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

#[cfg(feature = "bragg")]
mod bragg_side;

fn group(c: &mut Criterion, spec: WorkloadSpec) {
    let mut g = c.benchmark_group(spec.name);
    g.throughput(Throughput::Elements(spec.n_points as u64));

    for threads in [1_usize, 2] {
        let suffix = if threads == 1 { String::new() } else { format!("_{threads}threads") };
        let config = Config { threads, ..Config::default() };

        let mut workload =
            PhasesmithWorkload::new(spec.clone(), &config).expect("PhaseSmith workload");
        g.bench_function(format!("phasesmith{suffix}"), |b| {
            b.iter(|| black_box(workload.simulate_full().expect("simulate_full").y))
        });

        let prepared = workload.prepare().expect("prepare");
        g.bench_function(format!("phasesmith_prepared{suffix}"), |b| {
            b.iter(|| black_box(prepared.evaluate().expect("evaluate")))
        });
    }

    // ---- bragg's side: plugged in here (benches/bragg_side.rs) --------------------------
    #[cfg(feature = "bragg")]
    {
        let mut bragg = bragg_side::BraggWorkload::new(&spec);
        g.bench_function("bragg", |b| b.iter(|| black_box(bragg.simulate_full())));
        g.bench_function("bragg_cached", |b| b.iter(|| black_box(bragg.evaluate_cached())));
    }

    g.finish();
}

fn synchrotron(c: &mut Criterion) {
    group(c, spec::synchrotron());
}

fn lab(c: &mut Criterion) {
    group(c, spec::lab());
}

criterion_group!(benches, synchrotron, lab);
criterion_main!(benches);
