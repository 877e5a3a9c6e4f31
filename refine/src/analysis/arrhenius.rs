//! Arrhenius analysis of relaxation times measured at several temperatures:
//! ln τ = ln τ₀ + Eₐ/(k_B T) (Arrhenius 1889, Z. Phys. Chem. 4, 226), fitted as a weighted
//! straight line of y = ln τ against 1/T with σ_y = σ_τ/τ (first-order propagation).
//!
//! Units: T in K, τ in s, Eₐ in eV (k_B = 8.617333262×10⁻⁵ eV/K, exact in the 2019 SI) and
//! kJ/mol (1 eV per particle = N_A·e = 96.48533212 kJ/mol, CODATA 2018, exact).
//!
//! The covariance of (ln τ₀, Eₐ/k_B) is (XᵀWX)⁻¹·χ²_ν as in the refinement
//! ([`crate::covariance`]) when there are more temperatures than two; with exactly two the
//! line passes through both points and the esds come from (XᵀWX)⁻¹ alone.

use crate::error::{Error, Result};
use crate::uncertain::Uncertain;
use serde::{Deserialize, Serialize};

/// Boltzmann constant in eV/K (exact in the 2019 SI).
pub const BOLTZMANN_EV_PER_K: f64 = 8.617_333_262e-5;

/// kJ/mol per eV (N_A·e/1000, exact in the 2019 SI).
pub const KJ_PER_MOL_PER_EV: f64 = 96.485_332_12;

/// One relaxation time at one temperature.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ArrheniusPoint {
    /// Temperature in K (> 0).
    pub temperature_k: f64,
    /// Relaxation time in s (> 0).
    pub tau_s: f64,
    /// Its esd in s (> 0).
    pub tau_s_esd: f64,
}

/// The fitted Arrhenius line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArrheniusFit {
    /// Activation energy in eV.
    pub ea_ev: Uncertain,
    /// Activation energy in kJ/mol.
    pub ea_kj_mol: Uncertain,
    /// ln(τ₀/s).
    pub ln_tau0: Uncertain,
    /// Pre-exponential time τ₀ in s (esd by first-order propagation, τ₀·σ(ln τ₀)).
    pub tau0_s: Uncertain,
    /// Correlation between ln τ₀ and Eₐ.
    pub correlation: f64,
    /// χ² of the line.
    pub chi2: f64,
    /// χ²/(n − 2), NaN for two points.
    pub chi2_reduced: f64,
    /// Number of temperatures.
    pub n_points: usize,
    /// Whether the covariance was scaled by χ²_ν (n > 2).
    pub scaled_by_chi2: bool,
}

impl ArrheniusFit {
    /// τ(T) in s on the fitted line.
    pub fn tau_at(&self, temperature_k: f64) -> f64 {
        (self.ln_tau0.value + self.ea_ev.value / (BOLTZMANN_EV_PER_K * temperature_k)).exp()
    }
}

/// Fits ln τ = ln τ₀ + Eₐ/(k_B T) to the points (module docs).
///
/// Errors: fewer than two distinct temperatures; T, τ or σ_τ not finite and positive.
pub fn arrhenius_fit(points: &[ArrheniusPoint]) -> Result<ArrheniusFit> {
    for (i, p) in points.iter().enumerate() {
        for (name, v) in [("T", p.temperature_k), ("tau", p.tau_s), ("tau esd", p.tau_s_esd)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::InvalidInput(format!(
                    "Arrhenius point {i}: {name} = {v} must be finite and positive (T in K)"
                )));
            }
        }
    }
    let n = points.len();
    let t0 = points.first().map_or(0.0, |p| p.temperature_k);
    if n < 2 || points.iter().all(|p| (p.temperature_k - t0).abs() < 1e-9 * t0) {
        return Err(Error::InvalidInput(format!(
            "an Arrhenius fit needs relaxation times at two or more temperatures; got {n} \
             point(s){}",
            if n >= 2 { " all at the same temperature" } else { "" }
        )));
    }
    // Weighted sums for y = c + m x, x = 1/T, y = ln τ, w = 1/σ_y².
    let (mut s, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for p in points {
        let x = 1.0 / p.temperature_k;
        let y = p.tau_s.ln();
        let w = (p.tau_s / p.tau_s_esd).powi(2);
        s += w;
        sx += w * x;
        sy += w * y;
        sxx += w * x * x;
        sxy += w * x * y;
    }
    let det = s * sxx - sx * sx;
    if det.is_nan() || det <= 0.0 {
        return Err(Error::Singular { params: vec!["ln_tau0".into(), "Ea".into()] });
    }
    let m = (s * sxy - sx * sy) / det;
    let c = (sxx * sy - sx * sxy) / det;
    let chi2: f64 = points
        .iter()
        .map(|p| {
            let r = p.tau_s.ln() - c - m / p.temperature_k;
            r * r * (p.tau_s / p.tau_s_esd).powi(2)
        })
        .sum();
    let scaled = n > 2;
    let chi2_reduced = if scaled { chi2 / (n - 2) as f64 } else { f64::NAN };
    let f = if scaled { chi2_reduced } else { 1.0 };
    let (var_c, var_m, cov_cm) = (sxx / det * f, s / det * f, -sx / det * f);
    let ea_ev = Uncertain::new(m * BOLTZMANN_EV_PER_K, var_m.sqrt() * BOLTZMANN_EV_PER_K);
    let ln_tau0 = Uncertain::new(c, var_c.sqrt());
    Ok(ArrheniusFit {
        ea_kj_mol: ea_ev.scaled(KJ_PER_MOL_PER_EV),
        ea_ev,
        tau0_s: Uncertain::new(c.exp(), c.exp() * var_c.sqrt()),
        ln_tau0,
        correlation: cov_cm / (var_c * var_m).sqrt(),
        chi2,
        chi2_reduced,
        n_points: n,
        scaled_by_chi2: scaled,
    })
}
