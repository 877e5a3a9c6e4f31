//! Relaxation kinetics of a refined parameter (a lattice parameter a, in Å) at open circuit:
//! a(t) during a rest fitted with
//!
//! - a single exponential, a(t) = a∞ − Δa·exp(−t/τ);
//! - a stretched exponential (Kohlrausch 1854; Williams & Watts 1970, Trans. Faraday Soc. 66,
//!   80: "KWW"), a(t) = a∞ − Δa·exp(−(t/τ)^β), 0 < β (β < 1: a distribution of time
//!   constants);
//! - a bi-exponential, a(t) = a∞ − Δa₁·exp(−t/τ₁) − Δa₂·exp(−t/τ₂), τ₁ < τ₂;
//!
//! weighted by the esds of the refined values (residuals (a − f)/σ), t in s counted from the
//! start of the rest. Values in the unit of a; τ in s; β dimensionless.
//!
//! # Uncertainties
//! Covariance C = (JᵀWJ)⁻¹·χ²_ν at the minimum, the convention of the refinement itself
//! ([`crate::covariance`]), so Rietveld esds that are too small by a common factor are rescaled
//! by the scatter of the series. Derived quantities (the mean relaxation time, Δa of the
//! bi-exponential) get their esds from the gradient, σ² = gᵀCg.
//!
//! # Model choice
//! For least squares with weights known up to a common factor, the maximised log-likelihood
//! gives AIC = n·ln(χ²/n) + 2K with K = k + 1 (the k model parameters and the unknown scale of
//! the weights), and the small-sample AICc = AIC + 2K(K + 1)/(n − K − 1) (Burnham & Anderson,
//! *Model Selection and Multimodel Inference*, 2nd ed. 2002, §2.2 and §2.4; Hurvich & Tsai
//! (1989) Biometrika 76, 297). `auto` chooses the lowest **AICc**: a relaxation series has
//! tens of points, where n/K < 40 and AIC over-fits; AICc tends to AIC for large n. Both are
//! reported, with Akaike weights exp(−Δ_i/2)/Σ exp(−Δ_j/2) of the AICc differences.
//!
//! # Mean relaxation time
//! ⟨τ⟩ = ∫₀^∞ φ(t) dt of the normalised decay φ: τ for one exponential, (τ/β)·Γ(1/β) for KWW
//! (Lindsey & Patterson (1980) J. Chem. Phys. 73, 3348), Σ Δa_i τ_i / Σ Δa_i for two.

use super::check_increasing;
use super::curvefit::{fit_curve, linear_lsq, CurveModel};
use super::lithium::CurrentState;
use crate::error::{Error, Result};
use crate::fit::Termination;
use crate::uncertain::Uncertain;
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A relaxation model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelaxModel {
    /// a∞ − Δa·exp(−t/τ).
    Exp,
    /// a∞ − Δa·exp(−(t/τ)^β).
    Kww,
    /// a∞ − Δa₁·exp(−t/τ₁) − Δa₂·exp(−t/τ₂).
    Biexp,
}

impl RelaxModel {
    /// All models, simplest first.
    pub const ALL: [RelaxModel; 3] = [RelaxModel::Exp, RelaxModel::Kww, RelaxModel::Biexp];

    /// Number of fitted parameters.
    pub fn n_params(self) -> usize {
        match self {
            RelaxModel::Exp => 3,
            RelaxModel::Kww => 4,
            RelaxModel::Biexp => 5,
        }
    }

    /// The name used on the command line and in JSON (`exp`, `kww`, `biexp`).
    pub fn as_str(self) -> &'static str {
        match self {
            RelaxModel::Exp => "exp",
            RelaxModel::Kww => "kww",
            RelaxModel::Biexp => "biexp",
        }
    }

    fn names(self) -> Vec<String> {
        let n: &[&str] = match self {
            RelaxModel::Exp => &["a_inf", "delta", "tau"],
            RelaxModel::Kww => &["a_inf", "delta", "tau", "beta"],
            RelaxModel::Biexp => &["a_inf", "delta1", "tau1", "delta2", "tau2"],
        };
        n.iter().map(|s| (*s).to_string()).collect()
    }
}

impl fmt::Display for RelaxModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for RelaxModel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "exp" | "single" => Ok(RelaxModel::Exp),
            "kww" | "stretched" => Ok(RelaxModel::Kww),
            "biexp" | "double" => Ok(RelaxModel::Biexp),
            _ => Err(Error::InvalidInput(format!(
                "unknown relaxation model '{s}' (exp, kww or biexp)"
            ))),
        }
    }
}

/// Largest β accepted by the KWW fit (compressed exponentials up to β = 5).
const BETA_MAX: f64 = 5.0;

impl CurveModel for RelaxModel {
    fn names(&self) -> Vec<String> {
        RelaxModel::names(*self)
    }

    fn eval(&self, t: f64, p: &[f64], grad: Option<&mut [f64]>) -> f64 {
        match self {
            RelaxModel::Exp => {
                let e = (-t / p[2]).exp();
                if let Some(g) = grad {
                    g[0] = 1.0;
                    g[1] = -e;
                    g[2] = -p[1] * e * t / (p[2] * p[2]);
                }
                p[0] - p[1] * e
            }
            RelaxModel::Kww => {
                let (tau, beta) = (p[2], p[3]);
                let r = t / tau;
                let u = if r > 0.0 { r.powf(beta) } else { 0.0 };
                let e = (-u).exp();
                if let Some(g) = grad {
                    g[0] = 1.0;
                    g[1] = -e;
                    // ∂u/∂τ = −βu/τ, ∂u/∂β = u·ln(t/τ) (both 0 at t = 0).
                    g[2] = -p[1] * e * beta * u / tau;
                    g[3] = if r > 0.0 { p[1] * e * u * r.ln() } else { 0.0 };
                }
                p[0] - p[1] * e
            }
            RelaxModel::Biexp => {
                let e1 = (-t / p[2]).exp();
                let e2 = (-t / p[4]).exp();
                if let Some(g) = grad {
                    g[0] = 1.0;
                    g[1] = -e1;
                    g[2] = -p[1] * e1 * t / (p[2] * p[2]);
                    g[3] = -e2;
                    g[4] = -p[3] * e2 * t / (p[4] * p[4]);
                }
                p[0] - p[1] * e1 - p[3] * e2
            }
        }
    }

    fn valid(&self, p: &[f64]) -> bool {
        p.iter().all(|v| v.is_finite())
            && match self {
                RelaxModel::Exp => p[2] > 0.0,
                RelaxModel::Kww => p[2] > 0.0 && p[3] > 0.0 && p[3] <= BETA_MAX,
                RelaxModel::Biexp => p[2] > 0.0 && p[4] > 0.0,
            }
    }
}

/// One exponential component of a bi-exponential fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Component {
    /// Amplitude Δa_i (unit of a).
    pub delta: Uncertain,
    /// Time constant τ_i in s.
    pub tau_s: Uncertain,
}

/// A fitted relaxation model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelaxFit {
    /// The model.
    pub model: RelaxModel,
    /// Points fitted.
    pub n_points: usize,
    /// Parameter names in the order of `params` and `covariance`.
    pub names: Vec<String>,
    /// Fitted parameters (a∞, Δa, τ[, β] or a∞, Δa₁, τ₁, Δa₂, τ₂).
    pub params: Vec<f64>,
    /// Covariance matrix (rows), χ²_ν-scaled.
    pub covariance: Vec<Vec<f64>>,
    /// Plateau a∞ (unit of a).
    pub a_inf: Uncertain,
    /// Total amplitude Δa = a∞ − a(0) (unit of a).
    pub delta: Uncertain,
    /// τ in s (KWW: its τ; bi-exponential: the amplitude-weighted mean Σ Δa_i τ_i / Σ Δa_i).
    pub tau_s: Uncertain,
    /// β of KWW; exactly 1 for the exponential; `None` for the bi-exponential.
    pub beta: Option<Uncertain>,
    /// The two components of the bi-exponential (τ₁ < τ₂); empty otherwise.
    pub components: Vec<Component>,
    /// Mean relaxation time ⟨τ⟩ = ∫φ dt in s (module docs).
    pub tau_mean_s: Uncertain,
    /// χ² = Σ ((a − f)/σ)².
    pub chi2: f64,
    /// χ²/(n − k).
    pub chi2_reduced: f64,
    /// AIC = n ln(χ²/n) + 2(k + 1).
    pub aic: f64,
    /// AICc = AIC + 2K(K + 1)/(n − K − 1), K = k + 1; `None` when n ≤ K + 1.
    pub aicc: Option<f64>,
    /// Why the minimiser stopped.
    pub termination: Termination,
}

impl RelaxFit {
    /// The fitted curve at time `t_s` (s from the start of the rest).
    pub fn predict(&self, t_s: f64) -> f64 {
        self.model.eval(t_s, &self.params, None)
    }
}

/// The outcome of [`fit_relaxation_auto`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelaxSelection {
    /// The chosen model's fit (lowest AICc).
    pub best: RelaxFit,
    /// Every model that could be fitted, in [`RelaxModel::ALL`] order.
    pub candidates: Vec<RelaxFit>,
    /// Akaike weights of the candidates (same order), from their AICc.
    pub weights: Vec<f64>,
    /// Models that were not fitted and why (too few points, not determined, ...).
    pub skipped: Vec<(RelaxModel, String)>,
}

fn check_data(t: &[f64], y: &[f64], sigma: &[f64], need: usize, what: &str) -> Result<()> {
    if t.is_empty() {
        return Err(Error::InvalidInput(
            "the relaxation window holds no points; check --window and the series' times".into(),
        ));
    }
    if y.len() != t.len() || sigma.len() != t.len() {
        return Err(Error::InvalidInput(format!(
            "{} times, {} values, {} esds",
            t.len(),
            y.len(),
            sigma.len()
        )));
    }
    if t.len() < need {
        return Err(Error::InvalidInput(format!(
            "{} points in the relaxation window; {what} needs at least {need}",
            t.len()
        )));
    }
    check_increasing(t, "relaxation series")?;
    if let Some(i) = t.iter().position(|v| *v < 0.0) {
        return Err(Error::InvalidInput(format!(
            "relaxation series: t = {} s at point {i} is before the start of the rest (t must \
             be ≥ 0, counted from the rest's start)",
            t[i]
        )));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidInput(format!("relaxation series: value {i} is not finite")));
    }
    if let Some(i) = sigma.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(Error::InvalidInput(format!(
            "relaxation series: esd {} at point {i} (t = {} s) is not positive; the fit is \
             weighted by 1/esd², so every point needs an esd > 0",
            sigma[i], t[i]
        )));
    }
    Ok(())
}

/// `n` log-spaced values from `lo` to `hi`.
fn log_grid(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let (a, b) = (lo.ln(), hi.ln());
    (0..n).map(|i| (a + (b - a) * i as f64 / (n - 1) as f64).exp()).collect()
}

/// Start values: a grid over the non-linear parameters with the linear ones (a∞, Δa…) solved
/// exactly for each (variable projection); the best grid point.
fn start_values(model: RelaxModel, t: &[f64], y: &[f64], sigma: &[f64]) -> Option<Vec<f64>> {
    let t_max = t.iter().fold(0.0_f64, |m, v| m.max(*v));
    let t_min_pos = t.iter().copied().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
    let lo = (t_max * 1e-3).max(0.2 * t_min_pos.min(t_max)).max(f64::MIN_POSITIVE);
    let hi = 10.0 * t_max.max(lo);
    let taus = log_grid(lo, hi, 48);
    let n = t.len();
    let solve = |phis: &[Vec<f64>]| -> Option<(Vec<f64>, f64)> {
        let mut x = DMatrix::zeros(n, 1 + phis.len());
        for i in 0..n {
            x[(i, 0)] = 1.0;
            for (c, phi) in phis.iter().enumerate() {
                x[(i, c + 1)] = -phi[i];
            }
        }
        linear_lsq(&x, y, sigma)
    };
    let mut best: Option<(f64, Vec<f64>)> = None;
    let mut consider = |chi2: f64, p: Vec<f64>| {
        if chi2.is_finite() && best.as_ref().is_none_or(|(b, _)| chi2 < *b) {
            best = Some((chi2, p));
        }
    };
    match model {
        RelaxModel::Exp | RelaxModel::Kww => {
            let betas: Vec<f64> = if model == RelaxModel::Exp {
                vec![1.0]
            } else {
                (2..=15).map(|k| 0.1 * k as f64).collect()
            };
            for &beta in &betas {
                for &tau in &taus {
                    let phi: Vec<f64> =
                        t.iter().map(|&ti| (-(ti / tau).powf(beta)).exp()).collect();
                    if let Some((c, chi2)) = solve(&[phi]) {
                        let mut p = vec![c[0], c[1], tau];
                        if model == RelaxModel::Kww {
                            p.push(beta);
                        }
                        consider(chi2, p);
                    }
                }
            }
        }
        RelaxModel::Biexp => {
            let phis: Vec<Vec<f64>> =
                taus.iter().map(|&tau| t.iter().map(|&ti| (-ti / tau).exp()).collect()).collect();
            for i in 0..taus.len() {
                for j in (i + 2)..taus.len() {
                    if let Some((c, chi2)) = solve(&[phis[i].clone(), phis[j].clone()]) {
                        consider(chi2, vec![c[0], c[1], taus[i], c[2], taus[j]]);
                    }
                }
            }
        }
    }
    best.map(|(_, p)| p)
}

/// σ of a derived quantity h(p) from the covariance, by central differences of h.
fn derived_esd(h: &dyn Fn(&[f64]) -> f64, p: &[f64], cov: &DMatrix<f64>) -> f64 {
    let k = p.len();
    let mut g = vec![0.0; k];
    for i in 0..k {
        let step = 1e-6 * p[i].abs().max(cov[(i, i)].max(0.0).sqrt()).max(1e-12);
        let mut a = p.to_vec();
        let mut b = p.to_vec();
        a[i] += step;
        b[i] -= step;
        g[i] = (h(&a) - h(&b)) / (2.0 * step);
    }
    let mut var = 0.0;
    for i in 0..k {
        for j in 0..k {
            var += g[i] * cov[(i, j)] * g[j];
        }
    }
    var.max(0.0).sqrt()
}

/// Γ(x) for x > 0 by the Lanczos approximation (g = 7, 9 terms; Lanczos (1964) SIAM J. Numer.
/// Anal. B1, 86; coefficients as in Press et al., *Numerical Recipes*, 3rd ed., §6.1),
/// relative error below 1e-13.
pub fn gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        return std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma(1.0 - x));
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * a
}

fn mean_tau(model: RelaxModel, p: &[f64]) -> f64 {
    match model {
        RelaxModel::Exp => p[2],
        RelaxModel::Kww => p[2] / p[3] * gamma(1.0 / p[3]),
        RelaxModel::Biexp => (p[1] * p[2] + p[3] * p[4]) / (p[1] + p[3]),
    }
}

/// Fits one relaxation model to a(t) ± σ (t in s from the start of the rest, strictly
/// increasing, ≥ 0; σ > 0).
///
/// Errors ([`Error::InvalidInput`] unless said): no points; fewer than k + 1 points for the
/// k parameters; a time that does not increase or is negative; a zero, negative or non-finite
/// esd; a fit that leaves the model's domain; [`Error::Singular`] when the data do not
/// determine the parameters (e.g. a bi-exponential fitted to one exponential).
pub fn fit_relaxation(t: &[f64], y: &[f64], sigma: &[f64], model: RelaxModel) -> Result<RelaxFit> {
    let k = model.n_params();
    check_data(t, y, sigma, k + 1, &format!("the {model} model ({k} parameters)"))?;
    let p0 = start_values(model, t, y, sigma).ok_or_else(|| {
        Error::InvalidInput(format!(
            "no start values for the {model} model: the series is constant or degenerate"
        ))
    })?;
    let fit = fit_curve(&model, t, y, sigma, &p0)?;
    let mut p = fit.params;
    let mut cov = fit.covariance.matrix.clone();
    if model == RelaxModel::Biexp && p[2] > p[4] {
        // Order the components τ₁ < τ₂ (swap parameters 1,2 with 3,4 and the covariance).
        let perm = [0usize, 3, 4, 1, 2];
        p = perm.iter().map(|&i| p[i]).collect();
        cov = DMatrix::from_fn(5, 5, |i, j| cov[(perm[i], perm[j])]);
    }
    let n = t.len();
    let sd = |i: usize| cov[(i, i)].max(0.0).sqrt();
    let u = |i: usize| Uncertain::new(p[i], sd(i));
    let chi2 = fit.chi2;
    let big_k = (k + 1) as f64;
    let nf = n as f64;
    // χ² = 0 (a perfect fit) would give −∞: floor it at a tiny fraction of n.
    let aic = nf * (chi2.max(1e-300 * nf) / nf).ln() + 2.0 * big_k;
    let aicc =
        (nf - big_k - 1.0 > 0.0).then(|| aic + 2.0 * big_k * (big_k + 1.0) / (nf - big_k - 1.0));
    let tau_mean_value = mean_tau(model, &p);
    let tau_mean_esd = derived_esd(&|q: &[f64]| mean_tau(model, q), &p, &cov);
    let tau_mean = Uncertain::new(tau_mean_value, tau_mean_esd);
    let (delta, tau, beta, components) = match model {
        RelaxModel::Exp => (u(1), u(2), Some(Uncertain::exact(1.0)), Vec::new()),
        RelaxModel::Kww => (u(1), u(2), Some(u(3)), Vec::new()),
        RelaxModel::Biexp => {
            let d = Uncertain::new(
                p[1] + p[3],
                (cov[(1, 1)] + cov[(3, 3)] + 2.0 * cov[(1, 3)]).max(0.0).sqrt(),
            );
            let comps = vec![
                Component { delta: u(1), tau_s: u(2) },
                Component { delta: u(3), tau_s: u(4) },
            ];
            (d, tau_mean, None, comps)
        }
    };
    Ok(RelaxFit {
        model,
        n_points: n,
        names: model.names(),
        covariance: (0..k).map(|i| (0..k).map(|j| cov[(i, j)]).collect()).collect(),
        a_inf: u(0),
        delta,
        tau_s: tau,
        beta,
        components,
        tau_mean_s: tau_mean,
        chi2,
        chi2_reduced: chi2 / (n - k) as f64,
        aic,
        aicc,
        termination: fit.termination,
        params: p,
    })
}

/// Fits every model that the number of points allows (n ≥ k + 3, so that AICc is defined)
/// and chooses the lowest AICc (module docs). Models whose fit fails are listed in
/// `skipped` with the reason.
///
/// Errors: those of [`fit_relaxation`] on the data, or no model could be fitted.
pub fn fit_relaxation_auto(t: &[f64], y: &[f64], sigma: &[f64]) -> Result<RelaxSelection> {
    let need = RelaxModel::Exp.n_params() + 3;
    check_data(t, y, sigma, need, "model selection by AICc (the exp model with 3 parameters)")?;
    let mut candidates = Vec::new();
    let mut skipped = Vec::new();
    for model in RelaxModel::ALL {
        let need = model.n_params() + 3;
        if t.len() < need {
            skipped.push((model, format!("{} points; needs {need} for AICc", t.len())));
            continue;
        }
        match fit_relaxation(t, y, sigma, model) {
            Ok(f) => candidates.push(f),
            Err(e) => skipped.push((model, e.to_string())),
        }
    }
    let scores: Vec<f64> = candidates.iter().map(|c| c.aicc.unwrap_or(f64::INFINITY)).collect();
    let min = scores.iter().copied().fold(f64::INFINITY, f64::min);
    let Some(best_index) = scores.iter().position(|s| *s == min) else {
        return Err(Error::InvalidInput(format!(
            "no relaxation model could be fitted: {}",
            skipped.iter().map(|(m, why)| format!("{m}: {why}")).collect::<Vec<_>>().join("; ")
        )));
    };
    let raw: Vec<f64> = scores.iter().map(|s| (-(s - min) / 2.0).exp()).collect();
    let total: f64 = raw.iter().sum();
    let weights = raw.iter().map(|w| w / total).collect();
    Ok(RelaxSelection { best: candidates[best_index].clone(), candidates, weights, skipped })
}

/// One rest of a series: the points `first..=last` (indices into the series) were taken at
/// rest, and the rest began at `start_s`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RestWindow {
    /// Index of the first point at rest.
    pub first: usize,
    /// Index of the last point at rest (inclusive).
    pub last: usize,
    /// Estimated start of the rest in s: midway between the last point before it and its
    /// first point (the first point's time when the series starts at rest). A cycler log
    /// gives the exact start (the time the current dropped).
    pub start_s: f64,
}

/// The runs of consecutive [`CurrentState::Rest`] points of a series (times in s).
pub fn rest_windows(time_s: &[f64], state: &[CurrentState]) -> Vec<RestWindow> {
    let mut out = Vec::new();
    let n = time_s.len().min(state.len());
    let mut i = 0;
    while i < n {
        if state[i] != CurrentState::Rest {
            i += 1;
            continue;
        }
        let first = i;
        while i + 1 < n && state[i + 1] == CurrentState::Rest {
            i += 1;
        }
        let start_s =
            if first > 0 { 0.5 * (time_s[first - 1] + time_s[first]) } else { time_s[first] };
        out.push(RestWindow { first, last: i, start_s });
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_known_values() {
        // Γ(n) = (n − 1)!, Γ(1/2) = √π, Γ(3/2) = √π/2.
        assert!((gamma(5.0) - 24.0).abs() < 1e-10);
        assert!((gamma(0.5) - std::f64::consts::PI.sqrt()).abs() < 1e-12);
        assert!((gamma(1.5) - 0.5 * std::f64::consts::PI.sqrt()).abs() < 1e-12);
        assert!((gamma(3.0) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn analytic_gradients_match_finite_differences() {
        let cases = [
            (RelaxModel::Exp, vec![4.14, 0.02, 300.0]),
            (RelaxModel::Kww, vec![4.14, 0.02, 300.0, 0.6]),
            (RelaxModel::Biexp, vec![4.14, 0.01, 100.0, 0.02, 2000.0]),
        ];
        for (m, p) in cases {
            for &t in &[0.0, 50.0, 400.0, 3000.0] {
                let mut g = vec![0.0; p.len()];
                m.eval(t, &p, Some(&mut g));
                for i in 0..p.len() {
                    let h = 1e-6 * p[i].abs();
                    let mut a = p.clone();
                    let mut b = p.clone();
                    a[i] += h;
                    b[i] -= h;
                    let fd = (m.eval(t, &a, None) - m.eval(t, &b, None)) / (2.0 * h);
                    // Truncation error O(h²) plus the rounding of f (≈ 4.1) over 2h.
                    let tol = 1e-6 * g[i].abs() + 10.0 * f64::EPSILON * 4.2 / h;
                    assert!((fd - g[i]).abs() <= tol, "{m} t={t} p{i}: {fd} vs {}", g[i]);
                }
            }
        }
    }

    #[test]
    fn rests_are_found_with_their_start() {
        use CurrentState::*;
        let t = [0.0, 10.0, 20.0, 30.0, 40.0, 50.0];
        let s = [Charge, Charge, Rest, Rest, Discharge, Rest];
        let r = rest_windows(&t, &s);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].first, r[0].last, r[0].start_s), (2, 3, 15.0));
        assert_eq!((r[1].first, r[1].last, r[1].start_s), (5, 5, 45.0));
    }
}
