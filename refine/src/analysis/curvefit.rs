//! A small weighted least-squares curve fit y(t; p) with Levenberg–Marquardt (the
//! `levenberg-marquardt` crate, MINPACK lmder) and the covariance of the project's convention
//! C = (JᵀWJ)⁻¹·χ²_ν ([`crate::covariance`]; Prince, *Mathematical Techniques in
//! Crystallography and Materials Science*, 3rd ed., ch. 6).

use crate::covariance::{Covariance, CovarianceOptions};
use crate::error::{Error, Result};
use crate::fit::Termination;
use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt};
use nalgebra::storage::Owned;
use nalgebra::{DMatrix, DVector, Dyn};

/// A model y(t; p) with its gradient ∂y/∂p.
pub(crate) trait CurveModel {
    /// Parameter names (for error messages and the covariance).
    fn names(&self) -> Vec<String>;
    /// y(t; p); when `grad` is given (length = number of parameters) it receives ∂y/∂p.
    fn eval(&self, t: f64, p: &[f64], grad: Option<&mut [f64]>) -> f64;
    /// Whether p is inside the model's domain (τ > 0, ...).
    fn valid(&self, p: &[f64]) -> bool;
}

/// The result of [`fit_curve`].
#[derive(Debug, Clone)]
pub(crate) struct CurveFit {
    /// Fitted parameters.
    pub params: Vec<f64>,
    /// Covariance (χ²_ν-scaled).
    pub covariance: Covariance,
    /// χ² = Σ ((y − f)/σ)².
    pub chi2: f64,
    /// Why the minimiser stopped.
    pub termination: Termination,
}

struct Problem<'a, M: CurveModel> {
    model: &'a M,
    t: &'a [f64],
    y: &'a [f64],
    inv_sigma: Vec<f64>,
    p: DVector<f64>,
}

impl<M: CurveModel> LeastSquaresProblem<f64, Dyn, Dyn> for Problem<'_, M> {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, Dyn>;
    type ParameterStorage = Owned<f64, Dyn>;

    fn set_params(&mut self, p: &DVector<f64>) {
        self.p.copy_from(p);
    }

    fn params(&self) -> DVector<f64> {
        self.p.clone()
    }

    fn residuals(&self) -> Option<DVector<f64>> {
        let p = self.p.as_slice();
        if !self.model.valid(p) {
            // Outside the domain: large residuals make the minimiser reject the step.
            return Some(DVector::from_iterator(
                self.t.len(),
                self.y.iter().zip(&self.inv_sigma).map(|(y, w)| (y.abs() + 1.0) * w * 1e3),
            ));
        }
        let r = DVector::from_iterator(
            self.t.len(),
            self.t
                .iter()
                .zip(self.y)
                .zip(&self.inv_sigma)
                .map(|((&t, &y), &w)| (self.model.eval(t, p, None) - y) * w),
        );
        r.iter().all(|v| v.is_finite()).then_some(r)
    }

    fn jacobian(&self) -> Option<DMatrix<f64>> {
        jacobian(self.model, self.t, &self.inv_sigma, self.p.as_slice())
    }
}

fn jacobian<M: CurveModel>(
    model: &M,
    t: &[f64],
    inv_sigma: &[f64],
    p: &[f64],
) -> Option<DMatrix<f64>> {
    let k = p.len();
    let mut j = DMatrix::zeros(t.len(), k);
    let mut g = vec![0.0; k];
    for (i, (&ti, &w)) in t.iter().zip(inv_sigma).enumerate() {
        model.eval(ti, p, Some(&mut g));
        for c in 0..k {
            j[(i, c)] = g[c] * w;
        }
    }
    j.iter().all(|v| v.is_finite()).then_some(j)
}

/// χ² of `p`.
pub(crate) fn chi2_of<M: CurveModel>(
    model: &M,
    t: &[f64],
    y: &[f64],
    sigma: &[f64],
    p: &[f64],
) -> f64 {
    t.iter()
        .zip(y)
        .zip(sigma)
        .map(|((&t, &y), &s)| ((model.eval(t, p, None) - y) / s).powi(2))
        .sum()
}

/// Fits `model` to (t, y ± σ) from `p0`. Inputs must already be checked (equal lengths,
/// σ > 0, more points than parameters).
///
/// Errors: [`Error::Singular`] when the parameters are not independently determined,
/// [`Error::InvalidInput`] when the minimiser ends outside the model's domain or fails.
pub(crate) fn fit_curve<M: CurveModel>(
    model: &M,
    t: &[f64],
    y: &[f64],
    sigma: &[f64],
    p0: &[f64],
) -> Result<CurveFit> {
    let inv_sigma: Vec<f64> = sigma.iter().map(|s| 1.0 / s).collect();
    let problem =
        Problem { model, t, y, inv_sigma: inv_sigma.clone(), p: DVector::from_column_slice(p0) };
    let lm = LevenbergMarquardt::new().with_ftol(1e-12).with_xtol(1e-12).with_patience(400);
    let (problem, report) = lm.minimize(problem);
    let p: Vec<f64> = problem.p.iter().copied().collect();
    let termination = match report.termination {
        levenberg_marquardt::TerminationReason::Converged { .. }
        | levenberg_marquardt::TerminationReason::ResidualsZero => Termination::Converged,
        levenberg_marquardt::TerminationReason::Orthogonal => Termination::Orthogonal,
        levenberg_marquardt::TerminationReason::NoImprovementPossible(_) => {
            Termination::NoFurtherImprovement
        }
        levenberg_marquardt::TerminationReason::LostPatience => Termination::MaxEvaluations,
        other => Termination::Failed(format!("{other:?}")),
    };
    if !model.valid(&p) || p.iter().any(|v| !v.is_finite()) {
        return Err(Error::InvalidInput(format!(
            "the fit left the model's domain ({}); the data do not determine this model",
            model
                .names()
                .iter()
                .zip(&p)
                .map(|(n, v)| format!("{n} = {v:.4e}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let chi2 = chi2_of(model, t, y, sigma, &p);
    let j = jacobian(model, t, &inv_sigma, &p).ok_or_else(|| Error::NonFinite {
        what: "Jacobian of the relaxation model".into(),
        at: "the solution".into(),
    })?;
    let covariance = Covariance::from_jacobian(
        &j,
        chi2,
        t.len(),
        &model.names(),
        &CovarianceOptions::default(),
    )?;
    Ok(CurveFit { params: p, covariance, chi2, termination })
}

/// Weighted linear least squares y ≈ X c (rows weighted by 1/σ): returns (c, χ²), or None
/// when XᵀWX is singular.
pub(crate) fn linear_lsq(x: &DMatrix<f64>, y: &[f64], sigma: &[f64]) -> Option<(Vec<f64>, f64)> {
    let mut xw = x.clone();
    let mut yw = DVector::from_column_slice(y);
    for (i, s) in sigma.iter().enumerate() {
        let w = 1.0 / s;
        for c in 0..x.ncols() {
            xw[(i, c)] *= w;
        }
        yw[i] *= w;
    }
    let svd = xw.clone().svd(true, true);
    let smax = svd.singular_values.max();
    if smax.is_nan() || smax <= 0.0 || svd.singular_values.min() < 1e-12 * smax {
        return None;
    }
    let c = svd.solve(&yw, 1e-14 * smax).ok()?;
    let r = &xw * &c - &yw;
    Some((c.iter().copied().collect(), r.norm_squared()))
}
