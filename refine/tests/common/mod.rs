//! Shared helpers of the statistical validation tests (simulated Poisson data, key lists,
//! parameter look-up, exact binomial acceptance intervals, simple sample statistics).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // each test binary uses a subset

use bragg_crystal::pattern::{simulate, PatternModel};
use bragg_refine::{ParamKey, Parameter, Refinement};
use rand::SeedableRng;
use rand_distr::{Distribution, Poisson};

/// One Poisson realisation of `model` on `grid` (degrees 2θ), reproducible from `seed`.
pub fn noisy(model: &PatternModel, grid: &[f64], seed: u64) -> Vec<f64> {
    let y = simulate(model, grid).unwrap().total;
    poisson(&y, seed)
}

/// Poisson counts with means `mean`, reproducible from `seed` (PCG64).
pub fn poisson(mean: &[f64], seed: u64) -> Vec<f64> {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    mean.iter().map(|&v| Poisson::new(v.max(1e-9)).unwrap().sample(&mut rng)).collect()
}

/// Parses a list of parameter keys.
pub fn keys(list: &[&str]) -> Vec<ParamKey> {
    list.iter().map(|k| k.parse().unwrap()).collect()
}

/// The parameter of `key` (text form) in a refinement.
pub fn param<'a>(r: &'a Refinement, key: &str) -> &'a Parameter {
    let k: ParamKey = key.parse().unwrap();
    r.parameters.iter().find(|p| p.key == k).unwrap_or_else(|| panic!("no parameter {key}"))
}

/// ln C(n, k).
fn ln_choose(n: u64, k: u64) -> f64 {
    let lf = |m: u64| (1..=m).map(|i| (i as f64).ln()).sum::<f64>();
    lf(n) - lf(k) - lf(n - k)
}

/// The exact central acceptance interval [k_lo, k_hi] of a Binomial(n, p) count at confidence
/// `level`: P(X < k_lo) ≤ (1 − level)/2 and P(X > k_hi) ≤ (1 − level)/2 (the tails summed from
/// the probability mass function, no normal approximation).
pub fn binomial_interval(n: u64, p: f64, level: f64) -> (u64, u64) {
    let tail = 0.5 * (1.0 - level);
    let pmf: Vec<f64> = (0..=n)
        .map(|k| (ln_choose(n, k) + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()).exp())
        .collect();
    let mut lo = 0;
    let mut below = 0.0;
    while below + pmf[lo as usize] <= tail {
        below += pmf[lo as usize];
        lo += 1;
    }
    let mut hi = n;
    let mut above = 0.0;
    while above + pmf[hi as usize] <= tail {
        above += pmf[hi as usize];
        hi -= 1;
    }
    (lo, hi)
}

/// Mean and sample standard deviation (n − 1 in the denominator).
pub fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

#[test]
fn binomial_interval_matches_a_hand_computed_case() {
    // Binomial(10, 0.5): P(X ≤ 1) = 11/1024 = 0.0107 > 0.005, P(X = 0) = 1/1024 < 0.005, so at
    // 99 % the interval is [1, 9].
    assert_eq!(binomial_interval(10, 0.5, 0.99), (1, 9));
    // At 95 %: P(X ≤ 1) = 0.0107 ≤ 0.025, P(X ≤ 2) = 56/1024 = 0.0547 > 0.025 → [2, 8].
    assert_eq!(binomial_interval(10, 0.5, 0.95), (2, 8));
}
