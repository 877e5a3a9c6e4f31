//! Where PhaseSmith's time goes: median wall time of the timed paths under variations of the
//! workload (FCJ on/off, truncation policy, threads). A quick diagnostic, not the benchmark.
//!
//! Run: `cargo run --release --bin breakdown`

use std::hint::black_box;
use std::time::Instant;

use bragg_benches_peer::phasesmith_side::{BoxError, Config, PhasesmithWorkload, SupportChoice};
use bragg_benches_peer::spec::{self, WorkloadSpec};

fn median_ms(mut f: impl FnMut() -> Result<(), BoxError>) -> Result<f64, BoxError> {
    for _ in 0..3 {
        f()?;
    }
    let mut times = Vec::new();
    let start_all = Instant::now();
    while times.len() < 15 || (start_all.elapsed().as_secs_f64() < 1.0 && times.len() < 2000) {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn row(label: &str, spec: &WorkloadSpec, config: &Config) -> Result<(), BoxError> {
    let mut w = PhasesmithWorkload::new(spec.clone(), config)?;
    let full = median_ms(|| {
        black_box(w.simulate_full()?);
        Ok(())
    })?;
    let generation = median_ms(|| {
        black_box(w.reflections()?);
        Ok(())
    })?;
    let calculate = median_ms(|| {
        black_box(w.calculate_only()?);
        Ok(())
    })?;
    let p = w.prepare()?;
    let prepared = median_ms(|| {
        black_box(p.evaluate()?);
        Ok(())
    })?;
    let active: usize = p
        .calculate_structural()?
        .phases
        .iter()
        .map(|r| r.accumulation.derivatives.local.active_sample_count())
        .sum();
    println!(
        "{:<18} {label:<34} full {full:>8.3} ms = gen {generation:>7.3} + calc {calculate:>8.3}; prepared {prepared:>8.3} ms; peak-samples {active}",
        spec.name
    );
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let supports = [
        SupportChoice::TailArea(9.0e-4),
        SupportChoice::TailArea(1.0e-2),
        SupportChoice::FwhmMultiple(30.0),
        SupportChoice::FwhmMultiple(20.0),
        SupportChoice::FwhmMultiple(8.0),
    ];
    for base in [spec::synchrotron(), spec::lab()] {
        for fcj in [true, false] {
            if !fcj && base.fcj.is_none() {
                continue;
            }
            let mut s = base.clone();
            if !fcj {
                s.fcj = None;
            }
            for support in supports {
                let config = Config { support, ..Config::default() };
                row(&format!("fcj={} {support:?}", s.fcj.is_some()), &s, &config)?;
            }
        }
        let config = Config { threads: 2, ..Config::default() };
        row("threads=2 matched", &base, &config)?;
        if base.fcj.is_some() {
            let config = Config { fast_fcj: true, ..Config::default() };
            row("fast_fcj matched", &base, &config)?;
            let config = Config {
                fast_fcj: true,
                support: SupportChoice::FwhmMultiple(20.0),
                ..Config::default()
            };
            row("fast_fcj FwhmMultiple(20.0)", &base, &config)?;
        }
    }
    Ok(())
}
