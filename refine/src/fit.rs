//! The Levenberg–Marquardt driver: weighted residuals r = √w (y_calc − y_obs), the analytic
//! Jacobian from the crystal engine chained through the constraints, bounds, and the result
//! (values ± esd, correlations, R-factors, termination).
//!
//! The `levenberg-marquardt` crate (MINPACK's lmder algorithm) has no weights, bounds or
//! covariance: weights enter the residuals, a step past a bound is stopped at the bound (and
//! reported), and the covariance C = (JᵀWJ)⁻¹·χ²_ν is computed here from the final Jacobian
//! (Prince, *Mathematical Techniques in Crystallography and Materials Science*, 3rd ed., ch. 8).

use crate::covariance::{Covariance, CovarianceOptions};
use crate::error::{Error, Result};
use crate::key::ParamKey;
use crate::observations::Observations;
use crate::params::{Constraint, Parameter, Reduction};
use crate::stats::{PatternFit, Statistics};
use bragg_crystal::pattern::{Evaluation, Evaluator, PatternModel, Target};
use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt, TerminationReason};
use nalgebra::storage::Owned;
use nalgebra::{DMatrix, DVector, Dyn};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;

/// Why a fit stopped. Normal stops are values, not errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Termination {
    /// Relative change of χ² or of the parameters below tolerance.
    Converged,
    /// The residuals are orthogonal to the Jacobian columns (a minimum).
    Orthogonal,
    /// The tolerances cannot be met in floating point (at a minimum to machine precision).
    NoFurtherImprovement,
    /// The evaluation budget was used up before convergence.
    MaxEvaluations,
    /// Nothing was refined.
    NothingRefined,
    /// The minimiser failed (non-finite values, wrong shapes): the text says why.
    Failed(String),
}

impl Termination {
    fn from_lm(reason: &TerminationReason) -> Self {
        match reason {
            TerminationReason::Converged { .. } | TerminationReason::ResidualsZero => {
                Termination::Converged
            }
            TerminationReason::Orthogonal => Termination::Orthogonal,
            TerminationReason::NoImprovementPossible(_) => Termination::NoFurtherImprovement,
            TerminationReason::LostPatience => Termination::MaxEvaluations,
            TerminationReason::NoParameters => Termination::NothingRefined,
            other => Termination::Failed(format!("{other:?}")),
        }
    }

    /// Whether the fit reached a minimum.
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            Termination::Converged | Termination::Orthogonal | Termination::NoFurtherImprovement
        )
    }
}

/// Options of one LM run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    /// Relative tolerance on χ² and parameter changes (MINPACK ftol = xtol).
    pub tolerance: f64,
    /// Evaluation budget factor (MINPACK: patience·(n + 1) evaluations).
    pub patience: usize,
    /// Compute the covariance from a fresh Jacobian at the solution (exact esds). When false
    /// the minimiser's last Jacobian is used (one step before the solution at most): good
    /// enough for intermediate stages and singularity checks, and one evaluation cheaper.
    /// The serial-correlation esds (`Parameter::esd_serial`) are computed only when true.
    pub exact_covariance: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions { tolerance: 1e-8, patience: 100, exact_covariance: true }
    }
}

/// A parameter that stopped at one of its bounds during the fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundHit {
    /// The parameter.
    pub key: ParamKey,
    /// The bound value it was held at.
    pub bound: f64,
}

/// The outcome of one fit.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOutcome {
    /// Why it stopped.
    pub termination: Termination,
    /// Residual evaluations used.
    pub evaluations: usize,
    /// Profile statistics at the end.
    pub statistics: Statistics,
    /// Covariance of the independent variables (None when the system is singular: see
    /// `singular`).
    pub covariance: Option<Covariance>,
    /// The parameters that make the normal matrix singular, if it is.
    pub singular: Option<Vec<String>>,
    /// Parameters held at a bound.
    pub bound_hits: Vec<BoundHit>,
    /// The final evaluation on the fitted points.
    pub evaluation: Evaluation,
    /// Things the user should know (e.g. profile widths that needed the floor).
    pub warnings: Vec<String>,
}

/// A refinement: a model, its parameters and constraints, and the observations.
#[derive(Debug, Clone)]
pub struct Refinement {
    /// The model (updated by every fit).
    pub model: PatternModel,
    /// The parameters (refine flags, bounds, values and esds).
    pub parameters: Vec<Parameter>,
    /// Linear equality constraints among refined parameters.
    pub constraints: Vec<Constraint>,
    /// The fitted data.
    pub observations: Observations,
    evaluator: Evaluator,
}

impl Refinement {
    /// A refinement of `model` against `observations`, every parameter of the model listed
    /// (see [`ParamKey::all_for`]) and none refined.
    ///
    /// The refinement evaluates with floored profile widths (see
    /// [`Evaluator::set_width_floor`]): a trial step or a final model with a negative Caglioti
    /// H_G² somewhere is judged by χ² instead of failing (a rejected step shrinks the
    /// minimiser's trust region until it stalls); reflections in range that need the floor
    /// are reported in [`FitOutcome::warnings`].
    pub fn new(model: PatternModel, observations: Observations) -> Result<Self> {
        let mut evaluator = Evaluator::new(&model, &observations.two_theta_deg)?;
        // The starting model must be physical everywhere (a negative width² there is the
        // user's error, named); the floor is for the minimiser's excursions only.
        evaluator.evaluate(&model, &[], None)?;
        evaluator.set_width_floor(true);
        let mut r = Refinement {
            model,
            parameters: Vec::new(),
            constraints: Vec::new(),
            observations,
            evaluator,
        };
        r.parameters = ParamKey::all_for(&r.model)
            .into_iter()
            .map(|key| {
                let value = r.target(&key).and_then(|t| Ok(r.model.get(t)?)).unwrap_or(f64::NAN);
                Parameter { key, value, esd: None, esd_serial: None, refined: false, bounds: None }
            })
            .collect();
        Ok(r)
    }

    /// The engine's evaluator (fixed reflection lists on the fitted grid).
    pub fn evaluator(&self) -> &Evaluator {
        &self.evaluator
    }

    /// Rebuilds the reflection lists (after a large cell change or a change of phases).
    pub fn rebuild_evaluator(&mut self) -> Result<()> {
        self.evaluator = Evaluator::new(&self.model, &self.observations.two_theta_deg)?;
        self.evaluator.set_width_floor(true);
        Ok(())
    }

    /// The target of a key in the current model.
    pub fn target(&self, key: &ParamKey) -> Result<Target> {
        let ev = &self.evaluator;
        key.resolve(&self.model, &|p| ev.reflections(p).iter().map(|r| r.hkl).collect())
    }

    /// The parameter of a key (added to the list if the key is valid but not listed, e.g. a
    /// Pawley intensity).
    pub fn parameter_mut(&mut self, key: &ParamKey) -> Result<&mut Parameter> {
        if let Some(i) = self.parameters.iter().position(|p| p.key == *key) {
            return Ok(&mut self.parameters[i]);
        }
        let t = self.target(key)?;
        let value = self.model.get(t)?;
        self.parameters.push(Parameter {
            key: key.clone(),
            value,
            esd: None,
            esd_serial: None,
            refined: false,
            bounds: None,
        });
        let last = self.parameters.len() - 1;
        Ok(&mut self.parameters[last])
    }

    /// Sets the refine flag of every listed key (errors name an unknown key).
    pub fn refine(&mut self, keys: &[ParamKey], on: bool) -> Result<()> {
        for k in keys {
            self.parameter_mut(k)?.refined = on;
        }
        Ok(())
    }

    /// Fixes every parameter.
    pub fn fix_all(&mut self) {
        for p in &mut self.parameters {
            p.refined = false;
        }
    }

    /// Evaluates the current model on the fitted points.
    pub fn evaluate(&self) -> Result<Evaluation> {
        Ok(self.evaluator.evaluate(&self.model, &[], None)?)
    }

    /// Statistics of the current model with `n_params` refined parameters.
    pub fn statistics(&self, evaluation: &Evaluation, n_params: usize) -> Result<Statistics> {
        let w = self.observations.weights();
        let fit = PatternFit::new(&self.observations.y_obs, &evaluation.total, &w)?
            .with_background(&evaluation.background)?;
        Statistics::compute(&fit, n_params)
    }

    /// Runs Levenberg–Marquardt on the refined parameters. Values, esds and the model are
    /// updated; the outcome reports statistics, covariance (or the parameters making it
    /// singular), bound hits and the termination. A fit that ends with a worse χ² than it
    /// started (divergence) is rolled back and reported as `Failed`.
    pub fn fit(&mut self, options: FitOptions) -> Result<FitOutcome> {
        // Active set for bounds: a parameter that ends a run held at its bound (a dependent
        // parameter clamped there, or an independent one whose bound map reached it) is fixed
        // there and the others are refitted. Up to three passes. (Steps never leave the bounds
        // — see `BoundMap` — and unphysical widths are floored rather than rejected, so the
        // trust region does not collapse on invalid steps.)
        let flags: Vec<bool> = self.parameters.iter().map(|p| p.refined).collect();
        let mut held: Vec<BoundHit> = Vec::new();
        let mut out = self.fit_once(options)?;
        for _ in 0..3 {
            let newly: Vec<BoundHit> = out
                .bound_hits
                .iter()
                .filter(|h| {
                    self.parameters.iter().any(|p| {
                        p.key == h.key
                            && p.refined
                            && (p.value - h.bound).abs() <= 1e-12 * h.bound.abs().max(1.0)
                    })
                })
                .cloned()
                .collect();
            if newly.is_empty()
                || !out.termination.is_success()
                    && !matches!(out.termination, Termination::MaxEvaluations)
            {
                break;
            }
            for h in &newly {
                if let Some(p) = self.parameters.iter_mut().find(|p| p.key == h.key) {
                    p.refined = false;
                    (p.esd, p.esd_serial) = (None, None);
                }
            }
            held.extend(newly);
            let evaluations = out.evaluations;
            out = self.fit_once(options)?;
            out.evaluations += evaluations;
        }
        for (p, f) in self.parameters.iter_mut().zip(flags) {
            p.refined = f;
        }
        for h in held {
            if !out.bound_hits.iter().any(|x| x.key == h.key) {
                out.bound_hits.push(h);
            }
        }
        Ok(out)
    }

    /// One Levenberg–Marquardt run on the refined parameters (see [`Refinement::fit`]).
    fn fit_once(&mut self, options: FitOptions) -> Result<FitOutcome> {
        let refined: Vec<usize> =
            (0..self.parameters.len()).filter(|&i| self.parameters[i].refined).collect();
        let keys: Vec<ParamKey> = refined.iter().map(|&i| self.parameters[i].key.clone()).collect();
        let targets: Vec<Target> = keys.iter().map(|k| self.target(k)).collect::<Result<_>>()?;
        // Constraint rows over the refined list.
        let mut rows = Vec::new();
        for c in &self.constraints {
            let mut row = Vec::new();
            for (k, coef) in c.terms(&self.model)? {
                if let Some(i) = keys.iter().position(|x| *x == k) {
                    row.push((i, coef));
                }
            }
            if !row.is_empty() {
                rows.push(row);
            }
        }
        let reduction = Reduction::new(&keys, &rows)?;
        let start_model = self.model.clone();
        let p0: Vec<f64> =
            targets.iter().map(|t| self.model.get(*t)).collect::<std::result::Result<_, _>>()?;
        let bounds: Vec<Option<(f64, f64)>> =
            refined.iter().map(|&i| self.parameters[i].bounds).collect();
        let sqrt_w: Vec<f64> = self.observations.sigma.iter().map(|s| 1.0 / s).collect();
        let start_eval = self.evaluate()?;
        let chi2_start = chi2(&self.observations.y_obs, &start_eval.total, &sqrt_w);

        let lm_evaluator = &self.evaluator;
        let problem = Problem {
            model: RefCell::new(self.model.clone()),
            evaluator: lm_evaluator,
            targets: &targets,
            keys: &keys,
            reduction: &reduction,
            p0: p0.clone(),
            u: reduction
                .independent
                .iter()
                .map(|&i| BoundMap::new(bounds[i], p0[i]).inverse(p0[i]))
                .collect::<Vec<_>>()
                .into(),
            maps: reduction.independent.iter().map(|&i| BoundMap::new(bounds[i], p0[i])).collect(),
            bounds: &bounds,
            y_obs: &self.observations.y_obs,
            sqrt_w: &sqrt_w,
            mode: std::cell::Cell::new(
                if self.observations.len() >= 2 * (reduction.independent.len() + 1) {
                    Mode::Undecided
                } else {
                    Mode::Full
                },
            ),
            pending: RefCell::new(None),
            last_jacobian: RefCell::new(None),
            hits: RefCell::new(Vec::new()),
        };
        let n_free = reduction.independent.len();
        if n_free == 0 {
            let statistics = self.statistics(&start_eval, 0)?;
            return Ok(FitOutcome {
                termination: Termination::NothingRefined,
                evaluations: 0,
                statistics,
                covariance: None,
                singular: None,
                bound_hits: Vec::new(),
                evaluation: start_eval,
                warnings: Vec::new(),
            });
        }
        problem.set_u(&problem.u.clone());
        let lm = LevenbergMarquardt::new()
            .with_ftol(options.tolerance)
            .with_xtol(options.tolerance)
            .with_patience(options.patience.max(1));
        let (problem, report) = lm.minimize(problem);
        let termination = Termination::from_lm(&report.termination);
        if matches!(
            report.termination,
            TerminationReason::User(_) | TerminationReason::Numerical(_)
        ) {
            // Name the parameters whose derivative is not finite at the start (e.g. W refined
            // from a pure Lorentzian, where ∂H_G/∂W = 1/(2H_G) is infinite).
            let mut jp = DMatrix::zeros(self.observations.len(), targets.len());
            if self.evaluator.evaluate(&start_model, &targets, Some(&mut jp)).is_ok() {
                let bad: Vec<String> = (0..targets.len())
                    .filter(|&c| jp.column(c).iter().any(|v| !v.is_finite()))
                    .map(|c| keys[c].to_string())
                    .collect();
                if !bad.is_empty() {
                    self.model = start_model;
                    return Err(Error::NonFinite {
                        what: "derivative of the pattern".into(),
                        at: format!(
                            "{} (a width term refined from zero? start W above 0 and Y above 0 for pure shapes)",
                            bad.join(", ")
                        ),
                    });
                }
            }
        }
        let mut final_model = problem.model.into_inner();
        let hits = problem.hits.into_inner();
        let cached_jacobian = problem.last_jacobian.into_inner();
        let mut hits = hits;
        // Independent parameters that ended on a bound (the maps approach it asymptotically).
        for (j, &i) in reduction.independent.iter().enumerate() {
            // Only a parameter without dependents can be snapped without breaking a constraint.
            let alone = reduction.t.column(j).iter().filter(|x| **x != 0.0).count() == 1;
            if let (Some((lo, hi)), true) = (bounds[i], alone) {
                let v = final_model.get(targets[i])?;
                // Tolerance relative to the bound map's scale (see `BoundMap::new`): the range
                // for two-sided bounds, |p₀ − bound| for one-sided ones.
                let span = if lo.is_finite() && hi.is_finite() {
                    hi - lo
                } else {
                    let b = if lo.is_finite() { lo } else { hi };
                    let d = (p0[i] - b).abs();
                    if d > 0.0 && d.is_finite() {
                        d
                    } else {
                        1.0
                    }
                };
                for b in [lo, hi] {
                    if b.is_finite()
                        && (v - b).abs() <= 1e-6 * span
                        && !hits.iter().any(|h| h.key == keys[i])
                    {
                        // Snap onto the bound (the map only approaches it).
                        final_model.set(targets[i], b)?;
                        hits.push(BoundHit { key: keys[i].clone(), bound: b });
                    }
                }
            }
        }
        let evaluation = lm_evaluator.evaluate(&final_model, &[], None)?;
        let chi2_end = chi2(&self.observations.y_obs, &evaluation.total, &sqrt_w);
        if !chi2_end.is_finite() || chi2_end > chi2_start * (1.0 + 1e-4) {
            self.model = start_model;
            let ev = self.evaluate()?;
            let statistics = self.statistics(&ev, n_free)?;
            return Ok(FitOutcome {
                termination: Termination::Failed(format!("diverged: χ² went from {chi2_start:.6e} to {chi2_end:.6e}; the start values were kept")),
                evaluations: report.number_of_evaluations,
                statistics,
                covariance: None,
                singular: None,
                bound_hits: hits,
                evaluation: ev,
                warnings: Vec::new(),
            });
        }
        self.model = final_model;
        // Covariance from the undamped Jacobian at the solution.
        let ju = match cached_jacobian {
            Some(j) if !options.exact_covariance => j,
            _ => {
                let mut jp = DMatrix::zeros(self.observations.len(), targets.len());
                lm_evaluator.evaluate(&self.model, &targets, Some(&mut jp))?;
                let mut ju = &jp * &reduction.t;
                for (mut row, w) in ju.row_iter_mut().zip(&sqrt_w) {
                    row *= *w;
                }
                ju
            }
        };
        let names: Vec<String> =
            reduction.independent.iter().map(|&i| keys[i].to_string()).collect();
        let (covariance, singular) = match Covariance::from_jacobian(
            &ju,
            chi2_end,
            self.observations.len(),
            &names,
            &CovarianceOptions::default(),
        ) {
            Ok(c) => (Some(c), None),
            Err(Error::Singular { params }) => (None, Some(params)),
            Err(e) => return Err(e),
        };
        // Values and esds of every refined parameter (dependent ones through T).
        for (j, &pi) in refined.iter().enumerate() {
            let t = targets[j];
            let value = self.model.get(t)?;
            let esd = covariance.as_ref().map(|c| mapped_esd(&reduction.t, j, &c.matrix));
            let p = &mut self.parameters[pi];
            p.value = value;
            // A parameter held at a bound has no meaningful esd (its derivative constrains
            // nothing at the bound); it is reported in `bound_hits` instead.
            let at_bound = hits.iter().any(|h| {
                h.key == p.key && (value - h.bound).abs() <= 1e-5 * h.bound.abs().max(1.0)
            });
            p.esd = if at_bound { None } else { esd };
        }
        let statistics = self.statistics(&evaluation, n_free)?;
        // esds allowing for serial correlation: AR(1) with ρ = 1 − d/2 (no shrinking for d > 2).
        let serial = match (&covariance, statistics.durbin_watson) {
            (Some(c), Some(d)) if options.exact_covariance => {
                Some(c.serial_corrected(&ju, (1.0 - 0.5 * d).clamp(0.0, 0.99))?)
            }
            _ => None,
        };
        for (j, &pi) in refined.iter().enumerate() {
            let p = &mut self.parameters[pi];
            p.esd_serial = match (&serial, p.esd) {
                (Some(cs), Some(esd)) => Some(mapped_esd(&reduction.t, j, cs).max(esd)),
                _ => None,
            };
        }
        Ok(FitOutcome {
            termination,
            evaluations: report.number_of_evaluations,
            statistics,
            covariance,
            singular,
            bound_hits: hits,
            warnings: floored_warnings(&evaluation, &self.observations),
            evaluation,
        })
    }

    /// Sets a parameter's value in the model and the list.
    pub fn set_value(&mut self, key: &ParamKey, value: f64) -> Result<()> {
        let t = self.target(key)?;
        self.model
            .set(t, value)
            .map_err(|e| Error::InvalidInput(format!("parameter {key} = {value}: {e}")))?;
        self.parameter_mut(key)?.value = value;
        Ok(())
    }

    /// Re-reads every listed parameter's value from the model (after external changes).
    pub fn sync_values(&mut self) {
        let ev = &self.evaluator;
        let model = &self.model;
        for p in &mut self.parameters {
            if let Ok(t) =
                p.key.resolve(model, &|i| ev.reflections(i).iter().map(|r| r.hkl).collect())
            {
                if let Ok(v) = model.get(t) {
                    p.value = v;
                }
            }
        }
    }
}

fn chi2(y: &[f64], yc: &[f64], sqrt_w: &[f64]) -> f64 {
    y.iter().zip(yc).zip(sqrt_w).map(|((o, c), w)| ((c - o) * w).powi(2)).sum()
}

/// The map between a bounded parameter p and the unbounded variable v the minimiser varies
/// (the transformations of MINUIT, F. James, *MINUIT Reference Manual*, CERN D506, §1.3):
/// two-sided p = lo + (hi − lo)(sin v + 1)/2; lower only p = lo − 1 + √(v² + 1); upper only
/// p = hi + 1 − √(v² + 1). A step can then never leave the bounds, so the minimiser never
/// sees a clamped (inconsistent) point.
#[derive(Debug, Clone, Copy, PartialEq)]
enum BoundMap {
    Free,
    /// Lower bound and the length scale s of the map.
    Lower(f64, f64),
    /// Upper bound and the length scale s of the map.
    Upper(f64, f64),
    Both(f64, f64),
}

impl BoundMap {
    /// The map for bounds `bounds` around a start value `p0`. One-sided maps are scaled by
    /// s = |p0 − bound| (1 when the start is on the bound), p = lo + s(√(v² + 1) − 1), so that
    /// v is of order one whatever the magnitude of p (a phase scale of 10⁻⁷ and a B_iso of 1 Å²
    /// alike); an unscaled map makes p ∝ v² for small p and the steps overshoot.
    fn new(bounds: Option<(f64, f64)>, p0: f64) -> Self {
        let scale = |b: f64| {
            let d = (p0 - b).abs();
            if d > 0.0 && d.is_finite() {
                d
            } else {
                1.0
            }
        };
        match bounds {
            None => BoundMap::Free,
            Some((lo, hi)) => match (lo.is_finite(), hi.is_finite()) {
                (true, true) => BoundMap::Both(lo, hi),
                (true, false) => BoundMap::Lower(lo, scale(lo)),
                (false, true) => BoundMap::Upper(hi, scale(hi)),
                (false, false) => BoundMap::Free,
            },
        }
    }

    /// p(v) and dp/dv.
    fn forward(self, v: f64) -> (f64, f64) {
        match self {
            BoundMap::Free => (v, 1.0),
            BoundMap::Lower(lo, s) => {
                let r = (v * v + 1.0).sqrt();
                (lo + s * (r - 1.0), s * v / r)
            }
            BoundMap::Upper(hi, s) => {
                let r = (v * v + 1.0).sqrt();
                (hi - s * (r - 1.0), -s * v / r)
            }
            BoundMap::Both(lo, hi) => {
                (lo + 0.5 * (hi - lo) * (v.sin() + 1.0), 0.5 * (hi - lo) * v.cos())
            }
        }
    }

    /// v(p) for p inside the bounds, first moved 10⁻⁴ of the range (or 10⁻⁶ of the map scale
    /// for a one-sided bound) inside so that dp/dv ≠ 0 at the start (a variable started exactly
    /// on a bound could never leave it).
    fn inverse(self, p: f64) -> f64 {
        match self {
            BoundMap::Free => p,
            BoundMap::Lower(lo, s) => {
                let q = (p.max(lo + 1e-6 * s) - lo) / s + 1.0;
                (q * q - 1.0).max(0.0).sqrt()
            }
            BoundMap::Upper(hi, s) => {
                let q = (hi - p.min(hi - 1e-6 * s)) / s + 1.0;
                -(q * q - 1.0).max(0.0).sqrt()
            }
            BoundMap::Both(lo, hi) => {
                let eps = 1e-4 * (hi - lo);
                let x =
                    (2.0 * (p.clamp(lo + eps, hi - eps) - lo) / (hi - lo) - 1.0).clamp(-1.0, 1.0);
                x.asin()
            }
        }
    }
}

/// The LM problem: independent variables u, model updated on `set_params`.
struct Problem<'a> {
    model: RefCell<PatternModel>,
    evaluator: &'a Evaluator,
    targets: &'a [Target],
    keys: &'a [ParamKey],
    reduction: &'a Reduction,
    p0: Vec<f64>,
    u: DVector<f64>,
    bounds: &'a [Option<(f64, f64)>],
    /// Transformation of each independent variable (by its parameter's bounds).
    maps: Vec<BoundMap>,
    y_obs: &'a [f64],
    sqrt_w: &'a [f64],
    /// Full or compressed problem (see [`compress`]); decided at the first residuals.
    mode: std::cell::Cell<Mode>,
    /// At the point of the last `residuals()` call (compressed mode, or the first call): the
    /// Jacobian for the minimiser (compressed, or full with the bound maps) and the weighted
    /// parameter-space Jacobian.
    pending: RefCell<Option<(DMatrix<f64>, DMatrix<f64>)>>,
    last_jacobian: RefCell<Option<DMatrix<f64>>>,
    hits: RefCell<Vec<BoundHit>>,
}

impl Problem<'_> {
    /// The independent parameters p_I(v) from the minimiser's variables v.
    fn independent(&self, v: &DVector<f64>) -> DVector<f64> {
        DVector::from_iterator(v.len(), v.iter().zip(&self.maps).map(|(x, m)| m.forward(*x).0))
    }

    /// p = p⁰ + T (p_I(v) − p⁰_I), written into the model; dependent parameters with bounds
    /// are held at them (reported as bound hits). Returns false when the model rejects a
    /// value (the residuals then signal a bad step).
    fn set_u(&self, v: &DVector<f64>) -> bool {
        let u0: DVector<f64> =
            self.reduction.independent.iter().map(|&i| self.p0[i]).collect::<Vec<_>>().into();
        let p = DVector::from_vec(self.p0.clone()) + &self.reduction.t * (self.independent(v) - u0);
        let mut model = self.model.borrow_mut();
        let mut ok = true;
        for (i, t) in self.targets.iter().enumerate() {
            let mut value = p[i];
            if !self.reduction.independent.contains(&i) {
                if let Some((lo, hi)) = self.bounds[i] {
                    let clamped = value.clamp(lo, hi);
                    if clamped != value {
                        let mut hits = self.hits.borrow_mut();
                        if !hits.iter().any(|h| h.key == self.keys[i]) {
                            hits.push(BoundHit { key: self.keys[i].clone(), bound: clamped });
                        }
                        value = clamped;
                    }
                }
            }
            if model.set(*t, value).is_err() {
                ok = false;
            }
        }
        ok
    }
}

impl LeastSquaresProblem<f64, Dyn, Dyn> for Problem<'_> {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, Dyn>;
    type ParameterStorage = Owned<f64, Dyn>;

    fn set_params(&mut self, u: &DVector<f64>) {
        self.u = u.clone();
        // A rejected value leaves the model unchanged; `residuals` then answers with a large
        // residual so the minimiser shrinks its step.
        let _ = self.set_u(u);
    }

    fn params(&self) -> DVector<f64> {
        self.u.clone()
    }

    fn residuals(&self) -> Option<DVector<f64>> {
        let model = self.model.borrow();
        let m = self.y_obs.len();
        let mode = self.mode.get();
        if mode == Mode::Full {
            return Some(match self.evaluator.evaluate(&model, &[], None) {
                Ok(e) if e.total.iter().all(|v| v.is_finite()) => self.weighted_residuals(&e.total),
                _ => self.rejection(m),
            });
        }
        // Compressed (or undecided) mode: the Jacobian is computed with the residuals (one
        // evaluation per point instead of two at every accepted step).
        let mut jp = DMatrix::zeros(m, self.targets.len());
        let n = self.u.len();
        let evaluated = match self.evaluator.evaluate(&model, self.targets, Some(&mut jp)) {
            Ok(e) if e.total.iter().all(|v| v.is_finite()) => {
                let r = self.weighted_residuals(&e.total);
                let ju = self.weighted_jacobian(jp);
                if ju.iter().all(|v| v.is_finite()) {
                    Some((r, ju))
                } else {
                    None
                }
            }
            _ => None,
        };
        let d = self.map_derivatives();
        if mode == Mode::Undecided {
            // The first call (the start point) decides for the whole minimisation: compress
            // only a well-conditioned problem (see [`compress`]).
            let compressed =
                evaluated.as_ref().and_then(|(r, ju)| compress(ju, &d, r, MAX_CONDITION));
            match (compressed, evaluated) {
                (Some((rt, jt)), Some((_, ju))) => {
                    self.mode.set(Mode::Compressed);
                    *self.pending.borrow_mut() = Some((jt, ju));
                    return Some(rt);
                }
                (None, Some((r, ju))) => {
                    self.mode.set(Mode::Full);
                    let mut jv = ju.clone();
                    scale_columns(&mut jv, &d);
                    *self.pending.borrow_mut() = Some((jv, ju));
                    return Some(r);
                }
                (_, None) => {
                    self.mode.set(Mode::Full);
                    *self.pending.borrow_mut() = None;
                    return Some(self.rejection(m));
                }
            }
        }
        match evaluated.and_then(|(r, ju)| compress(&ju, &d, &r, f64::INFINITY).map(|c| (c, ju))) {
            Some(((rt, jt), ju)) => {
                *self.pending.borrow_mut() = Some((jt, ju));
                Some(rt)
            }
            None => {
                *self.pending.borrow_mut() = None;
                let big = self.rejection(m).norm();
                let mut rt = DVector::zeros(n + 1);
                rt[n] = big;
                Some(rt)
            }
        }
    }

    fn jacobian(&self) -> Option<DMatrix<f64>> {
        // The minimiser asks for the Jacobian only at the point of its last residuals: in
        // compressed mode (and at the start point) it was computed with them.
        if let Some((jt, ju)) = self.pending.borrow_mut().take() {
            *self.last_jacobian.borrow_mut() = Some(ju);
            return Some(jt);
        }
        if self.mode.get() == Mode::Compressed {
            return None;
        }
        let model = self.model.borrow();
        let mut jp = DMatrix::zeros(self.y_obs.len(), self.targets.len());
        self.evaluator.evaluate(&model, self.targets, Some(&mut jp)).ok()?;
        let mut ju = self.weighted_jacobian(jp);
        // Cached in parameter space (for the covariance), then chained through the bound maps.
        if ju.iter().all(|v| v.is_finite()) {
            *self.last_jacobian.borrow_mut() = Some(ju.clone());
        }
        scale_columns(&mut ju, &self.map_derivatives());
        if ju.iter().all(|v| v.is_finite()) {
            Some(ju)
        } else {
            None
        }
    }
}

/// How the minimiser sees the problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Not yet decided (before the first residuals).
    Undecided,
    /// The m-row weighted residuals and Jacobian.
    Full,
    /// The (n + 1)-row compressed problem.
    Compressed,
}

/// The largest condition number of the column-scaled normal matrix for which the problem is
/// compressed: the normal equations square the condition of J, so 10¹⁰ keeps about six
/// significant digits in the steps; worse-conditioned fits (nearly singular parameter sets)
/// go to the minimiser's pivoted QR of the full Jacobian.
const MAX_CONDITION: f64 = 1e10;

/// Multiplies column k of `j` by `d[k]` (the bound maps' dp/dv).
fn scale_columns(j: &mut DMatrix<f64>, d: &[f64]) {
    for (k, &dk) in d.iter().enumerate() {
        if dk != 1.0 {
            j.column_mut(k).scale_mut(dk);
        }
    }
}

impl Problem<'_> {
    /// (y_calc − y_obs)·√w.
    fn weighted_residuals(&self, total: &[f64]) -> DVector<f64> {
        DVector::from_iterator(
            self.y_obs.len(),
            total.iter().zip(self.y_obs).zip(self.sqrt_w).map(|((c, o), w)| (c - o) * w),
        )
    }

    /// An unphysical step (negative width², NaN): large residuals, so the minimiser rejects
    /// the step and shrinks its trust region.
    fn rejection(&self, m: usize) -> DVector<f64> {
        DVector::from_iterator(
            m,
            self.y_obs.iter().zip(self.sqrt_w).map(|(o, w)| (o.abs() + 1.0) * w * 1e3),
        )
    }

    /// √w·∂y/∂p·T: the weighted Jacobian in the independent parameters.
    fn weighted_jacobian(&self, jp: DMatrix<f64>) -> DMatrix<f64> {
        let t = &self.reduction.t;
        let mut ju = if t.is_square() && t.is_identity(0.0) { jp } else { jp * t };
        let m = self.sqrt_w.len();
        for column in ju.as_mut_slice().chunks_exact_mut(m) {
            for (v, w) in column.iter_mut().zip(self.sqrt_w) {
                *v *= w;
            }
        }
        ju
    }

    /// dp_I/dv of each bound map at the current variables.
    fn map_derivatives(&self) -> Vec<f64> {
        self.u.iter().zip(&self.maps).map(|(x, m)| m.forward(*x).1).collect()
    }
}

/// Compresses a least-squares problem (residuals r, m × n Jacobian J·diag(d)) to n + 1 rows
/// with the same normal matrix, gradient and residual norm — so the same Levenberg–Marquardt
/// steps, trust region and convergence tests (MINPACK's use only JᵀJ, Jᵀr and ‖r‖) — at a
/// cost of m·n² / 2 for JᵀJ instead of the minimiser's 2·m·n² pivoted QR of J.
///
/// With G = JᵀJ (scaled to unit diagonal, S⁻¹GS⁻¹ = VΛVᵀ) and g = Jᵀr: J̃ = [Λ^½VᵀS; 0],
/// r̃ = [Λ^−½VᵀS⁻¹g; ρ] with ρ² = ‖r‖² − ‖Λ^−½VᵀS⁻¹g‖² (the part of r no step can reduce);
/// then J̃ᵀJ̃ = G, J̃ᵀr̃ = g and ‖r̃‖ = ‖r‖. Directions with λ below 10⁻¹⁴·λ_max are left out
/// of r̃ (g has no component there): a rank-deficient J stays rank-deficient in J̃, and the
/// minimiser's pivoted QR still sees it. Returns None for a non-finite input, or when the
/// scaled normal matrix's condition number exceeds `max_condition`.
fn compress(
    ju: &DMatrix<f64>,
    map_derivatives: &[f64],
    r: &DVector<f64>,
    max_condition: f64,
) -> Option<(DVector<f64>, DMatrix<f64>)> {
    let n = ju.ncols();
    let d = DVector::from_column_slice(map_derivatives);
    let mut g = crate::covariance::normal_matrix(ju);
    let m = ju.nrows().max(1);
    let mut grad = DVector::from_iterator(
        n,
        ju.as_slice().chunks_exact(m).map(|c| crate::covariance::dot(c, r.as_slice())),
    );
    for a in 0..n {
        grad[a] *= d[a];
        for b in 0..n {
            g[(a, b)] *= d[a] * d[b];
        }
    }
    let s: Vec<f64> =
        (0..n).map(|k| if g[(k, k)] > 0.0 { g[(k, k)].sqrt() } else { 1.0 }).collect();
    let mut gs = g.clone();
    for a in 0..n {
        for b in 0..n {
            gs[(a, b)] /= s[a] * s[b];
        }
    }
    if !gs.iter().all(|v| v.is_finite()) || !grad.iter().all(|v| v.is_finite()) {
        return None;
    }
    let eig = nalgebra::SymmetricEigen::new(gs);
    let lmax = eig.eigenvalues.iter().copied().fold(0.0_f64, f64::max);
    let lmin = eig.eigenvalues.iter().copied().fold(f64::INFINITY, f64::min);
    if !(lmin > 0.0 && lmax <= max_condition * lmin) && max_condition.is_finite() {
        return None;
    }
    let mut jt = DMatrix::zeros(n + 1, n);
    let mut rt = DVector::zeros(n + 1);
    let mut reducible = 0.0;
    for i in 0..n {
        let lambda = eig.eigenvalues[i];
        if lambda.is_nan() || lambda <= 1e-14 * lmax {
            continue;
        }
        let v = eig.eigenvectors.column(i);
        let root = lambda.sqrt();
        let mut proj = 0.0;
        for k in 0..n {
            jt[(i, k)] = root * v[k] * s[k];
            proj += v[k] * grad[k] / s[k];
        }
        rt[i] = proj / root;
        reducible += rt[i] * rt[i];
    }
    rt[n] = (r.norm_squared() - reducible).max(0.0).sqrt();
    Some((rt, jt))
}

/// The esd of refined parameter `j` from the covariance `c` of the free parameters:
/// √(t_j C t_jᵀ), with t_j row j of the map T from free to refined parameters (a dependent
/// parameter's esd carries its constraint).
fn mapped_esd(t: &DMatrix<f64>, j: usize, c: &DMatrix<f64>) -> f64 {
    let row = t.row(j);
    let n = c.nrows().min(row.len());
    let var: f64 = (0..n).map(|a| (0..n).map(|b| row[a] * c[(a, b)] * row[b]).sum::<f64>()).sum();
    var.max(0.0).sqrt()
}

/// Whether some reflection inside the observed range had its width floored (a negative
/// Caglioti width² there).
pub(crate) fn widths_floored_in_range(
    evaluation: &Evaluation,
    observations: &Observations,
) -> bool {
    !floored_warnings(evaluation, observations).is_empty()
}

/// Warnings for reflections inside the fitted range whose profile widths needed the floor.
fn floored_warnings(evaluation: &Evaluation, observations: &Observations) -> Vec<String> {
    let (lo, hi) = match (observations.two_theta_deg.first(), observations.two_theta_deg.last()) {
        (Some(a), Some(b)) => (*a, *b),
        _ => return Vec::new(),
    };
    let at: Vec<String> = evaluation
        .records
        .iter()
        .flatten()
        .filter(|r| r.width_floored && r.two_theta_deg >= lo && r.two_theta_deg <= hi)
        .map(|r| format!("{:.2}°", r.two_theta_deg))
        .collect();
    if at.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "U, V, W (or X, Y) give a negative width² at {} reflection(s) in range (2θ = {}): widths floored there; the profile is unphysical — fix or constrain U, V, W",
            at.len(),
            at.join(", ")
        )]
    }
}
