#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark code
//! Profile benchmarks: a 38,001-point pattern (5–119° 2θ, step 0.003°) with 100 TCH peaks
//! (lab Cu Kα widths), symmetric and FCJ-asymmetric, value only and with derivatives; and the
//! peak part of the synchrotron pattern of `benches/pattern.rs` (38,001 points, 2–40° step
//! 0.001°, 15 peaks with W = 4·10⁻⁵ deg², Y = 0.002°, asym = 0.002), peaks only.
#![allow(missing_docs)] // criterion_group! generates an undocumented public fn

use bragg_crystal::profile::{
    FcjTch, PeakShape, ProfileParams, ProfileSlices, TchPseudoVoigt, DEFAULT_CUTOFF,
};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

const PARAMS: ProfileParams = ProfileParams {
    u: 0.004,
    v: -0.002,
    w: 0.002,
    p: 0.0,
    x: 0.02,
    y: 0.01,
    asym: 0.03,
    bb: [0.0; 4],
    function: bragg_crystal::profile::ProfileFunction::Tch,
    window_fwhm: 0.0,
    divergence_deg: 0.0,
};

fn grid() -> Vec<f64> {
    (0..38_001).map(|i| 5.0 + i as f64 * 0.003).collect()
}

fn centers() -> Vec<f64> {
    (0..100).map(|k| 10.0 + 1.05 * k as f64).collect()
}

/// Synchrotron widths of `Instrument::synchrotron` (pattern.rs).
const SYNC: ProfileParams = ProfileParams {
    u: 0.0,
    v: 0.0,
    w: 4.0e-5,
    p: 0.0,
    x: 0.0,
    y: 0.002,
    asym: 0.002,
    bb: [0.0; 4],
    function: bragg_crystal::profile::ProfileFunction::Tch,
    window_fwhm: 0.0,
    divergence_deg: 0.0,
};

fn bench_synchrotron(c: &mut Criterion) {
    let x: Vec<f64> = (0..38_001).map(|i| 2.0 + i as f64 * 0.001).collect();
    let mut y = vec![0.0; x.len()];
    // Rock-salt reflections of a = 4.14 Å at λ = 0.458 Å below 40°: d = a/√(h²+k²+l²).
    let centers: Vec<f64> = [3u32, 4, 8, 11, 12, 16, 19, 20, 24, 27, 32, 35, 36, 40, 43]
        .iter()
        .map(|&s2| 2.0 * (0.458 / (2.0 * 4.14 / f64::from(s2).sqrt())).asin().to_degrees())
        .collect();
    let fcj: Vec<FcjTch> =
        centers.iter().filter_map(|&t| FcjTch::from_params(t, &SYNC).ok().map(|p| p.0)).collect();
    let sym: Vec<TchPseudoVoigt> = centers
        .iter()
        .filter_map(|&t| {
            let w = SYNC.widths(t).ok()?;
            TchPseudoVoigt::new(t, w.fwhm_g, w.fwhm_l).ok()
        })
        .collect();
    c.bench_function("sync_fcj_15_peaks_38001_pts_build_and_add", |b| {
        b.iter(|| {
            y.iter_mut().for_each(|v| *v = 0.0);
            for &t in &centers {
                if let Ok((p, _)) = FcjTch::from_params(t, &SYNC) {
                    p.add_scaled(&x, 1000.0, DEFAULT_CUTOFF, &mut y);
                }
            }
            black_box(&y);
        })
    });
    c.bench_function("sync_fcj_15_peaks_38001_pts_add", |b| {
        b.iter(|| {
            y.iter_mut().for_each(|v| *v = 0.0);
            for p in &fcj {
                p.add_scaled(&x, 1000.0, DEFAULT_CUTOFF, &mut y);
            }
            black_box(&y);
        })
    });
    c.bench_function("sync_tch_15_peaks_38001_pts_add", |b| {
        b.iter(|| {
            y.iter_mut().for_each(|v| *v = 0.0);
            for p in &sym {
                p.add_scaled(&x, 1000.0, DEFAULT_CUTOFF, &mut y);
            }
            black_box(&y);
        })
    });
}

fn bench(c: &mut Criterion) {
    let x = grid();
    let mut y = vec![0.0; x.len()];
    let sym: Vec<TchPseudoVoigt> = centers()
        .iter()
        .filter_map(|&t| {
            let w = PARAMS.widths(t).ok()?;
            TchPseudoVoigt::new(t, w.fwhm_g, w.fwhm_l).ok()
        })
        .collect();
    let fcj: Vec<FcjTch> = centers()
        .iter()
        .filter_map(|&t| FcjTch::from_params(t, &PARAMS).ok().map(|p| p.0))
        .collect();

    for &cutoff in &[DEFAULT_CUTOFF, 1e-3] {
        c.bench_function(&format!("tch_100_peaks_38001_pts_cutoff_{cutoff:e}"), |b| {
            b.iter(|| {
                y.iter_mut().for_each(|v| *v = 0.0);
                for p in &sym {
                    p.add_scaled(&x, 1000.0, cutoff, &mut y);
                }
                black_box(&y);
            })
        });
        c.bench_function(&format!("fcj_100_peaks_38001_pts_cutoff_{cutoff:e}"), |b| {
            b.iter(|| {
                y.iter_mut().for_each(|v| *v = 0.0);
                for p in &fcj {
                    p.add_scaled(&x, 1000.0, cutoff, &mut y);
                }
                black_box(&y);
            })
        });
    }
    c.bench_function("fcj_build_100_peaks_from_params", |b| {
        b.iter(|| {
            for &t in &centers() {
                black_box(FcjTch::from_params(black_box(t), &PARAMS).ok());
            }
        })
    });
    let mut d = vec![vec![0.0; x.len()]; 5];
    c.bench_function("fcj_100_peaks_with_derivatives_cutoff_1e-3", |b| {
        b.iter(|| {
            let [v, dc, dg, dl, da] = &mut d[..] else { return };
            let mut s =
                ProfileSlices { value: v, d_center: dc, d_fwhm_g: dg, d_fwhm_l: dl, d_asym: da };
            for p in &fcj {
                p.add_with_derivatives(&x, 1000.0, 1e-3, &mut s);
            }
            black_box(&s);
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench_synchrotron, bench
}
criterion_main!(benches);
