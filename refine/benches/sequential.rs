#![allow(missing_docs)] // criterion_group! generates undocumented items
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Issue 5 benchmark: sequential refinement of lab scans (LTNO + Al window, Cu Kα1/Kα2,
//! 15–80° step 0.02° = 3,251 points, Poisson noise), per-scan cell, scales, W, Y and two
//! background terms. The scans come from a pool of 50 noisy patterns along a 4.10 → 4.16 Å
//! ramp, walked up and down (a triangle wave) so that neighbouring scans stay neighbours in a;
//! each scan is handed out as a fresh copy, as a file read would.
//!
//! Printed once (one-shot runs): scans/s for 1,000 scans chained, independent on 2 threads and
//! independent on 1 thread, and the peak resident memory (VmHWM) after 1,000 and after 10,000
//! chained scans (flat when memory is bounded by the scans in flight). Then criterion
//! medians for 100 scans. Run: `cargo bench -p bragg-refine --bench sequential`.
use bragg_crystal::examples::ltno_al_lab_model;
use bragg_crystal::pattern::{simulate, TwoThetaRange};
use bragg_crystal::Cell;
use bragg_refine::sequential::{
    plan, run_series, LoadedScan, PerScan, Resume, ScanEntry, ScanMeta, SequentialOptions,
    SeriesEvent, SeriesMode,
};
use bragg_refine::{Observations, Refinement};
use criterion::{criterion_group, criterion_main, Criterion};
use rand::SeedableRng;
use rand_distr::{Distribution, Poisson};
use std::time::Instant;

const POOL: usize = 50;

fn pool() -> Vec<Observations> {
    let grid = TwoThetaRange::new(15.0, 80.0, 0.02).unwrap().points();
    (0..POOL)
        .map(|k| {
            let mut m = ltno_al_lab_model().unwrap();
            m.phases[0].phase.cell =
                Cell::cubic(4.10 + 0.06 * k as f64 / (POOL - 1) as f64).unwrap();
            let y = simulate(&m, &grid).unwrap().total;
            let mut rng = rand_pcg::Pcg64::seed_from_u64(k as u64);
            let y: Vec<f64> =
                y.iter().map(|&v| Poisson::new(v).unwrap().sample(&mut rng)).collect();
            Observations::new(&grid, &y, None, None, &[]).unwrap()
        })
        .collect()
}

/// Pool index of scan n (1-based): a triangle wave 0, 1, …, 49, 48, …, 0, 1, …
fn pool_index(n: usize) -> usize {
    let period = 2 * (POOL - 1);
    let p = (n - 1) % period;
    if p < POOL {
        p
    } else {
        period - p
    }
}

fn vm_hwm_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `n` scans; returns (seconds, flagged rows).
fn series(pool: &[Observations], n: usize, mode: SeriesMode, jobs: usize) -> (f64, usize) {
    let entries: Vec<ScanEntry> =
        (1..=n).map(|scan| ScanEntry { scan, file: format!("scan_{scan}") }).collect();
    let p = plan(&entries, mode, None).unwrap();
    let loader = |e: &ScanEntry| -> bragg_refine::Result<LoadedScan> {
        Ok(LoadedScan { observations: pool[pool_index(e.scan)].clone(), meta: ScanMeta::default() })
    };
    let mut start = ltno_al_lab_model().unwrap();
    start.phases[0].phase.cell = Cell::cubic(4.101).unwrap();
    let template = Refinement::new(start, loader(&p.reference).unwrap().observations).unwrap();
    let options = SequentialOptions {
        mode,
        jobs,
        per_scan: PerScan { fixed_phases: vec!["Al".into()], ..PerScan::default() },
        ..SequentialOptions::default()
    };
    let flagged = std::sync::atomic::AtomicUsize::new(0);
    let sink = |e: SeriesEvent<'_>| -> bragg_refine::Result<()> {
        if let SeriesEvent::Row(r) = e {
            if !r.is_good() {
                flagged.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        Ok(())
    };
    let clock = Instant::now();
    run_series(&template, ScanMeta::default(), &p, &loader, &options, &Resume::default(), &sink)
        .unwrap();
    (clock.elapsed().as_secs_f64(), flagged.into_inner())
}

fn bench(c: &mut Criterion) {
    let pool = pool();
    let n = 1000;
    for (name, mode, jobs) in [
        ("chained", SeriesMode::Chained, 1),
        ("independent, 2 threads", SeriesMode::Independent, 2),
        ("independent, 1 thread", SeriesMode::Independent, 1),
    ] {
        let (s, flagged) = series(&pool, n, mode, jobs);
        eprintln!("{n} scans {name}: {s:.1} s = {:.1} scans/s ({flagged} flagged)", n as f64 / s);
    }
    for n in [1000, 10_000] {
        let (s, _) = series(&pool, n, SeriesMode::Chained, 1);
        eprintln!(
            "peak RSS (VmHWM) after {n} chained scans: {} kB ({:.1} scans/s)",
            vm_hwm_kb().unwrap_or(0),
            n as f64 / s
        );
    }
    let mut group = c.benchmark_group("sequential");
    group.sample_size(10);
    group.bench_function("chained_100_lab_scans", |b| {
        b.iter(|| series(&pool, 100, SeriesMode::Chained, 1))
    });
    group.bench_function("independent_100_lab_scans_2_threads", |b| {
        b.iter(|| series(&pool, 100, SeriesMode::Independent, 2))
    });
    group.bench_function("independent_100_lab_scans_1_thread", |b| {
        b.iter(|| series(&pool, 100, SeriesMode::Independent, 1))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
