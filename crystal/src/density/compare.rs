//! Both oxygen-loss models against measurements: z-scores, generalised χ², the best fraction
//! of densification and the verdict (see the parent module's docs for the statistics).

use super::{CellVolume, Estimate, OxygenLossModels, Z_ONE_SIDED_95};
use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A measured quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observable {
    /// Density (He pycnometry), g/cm³.
    Density,
    /// Li:TM molar ratio (ICP).
    LiTm,
    /// Discharge capacity, mAh/g of the material as made.
    Capacity,
}

impl Observable {
    /// Name used in files (`density`, `li_tm`, `capacity`).
    pub fn name(self) -> &'static str {
        match self {
            Observable::Density => "density",
            Observable::LiTm => "li_tm",
            Observable::Capacity => "capacity",
        }
    }
}

/// Measurements of one sample, each with its esd (> 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    /// Density, g/cm³.
    pub density: Option<Estimate>,
    /// Li:TM.
    pub li_tm: Option<Estimate>,
    /// Capacity, mAh/g (needs a reference capacity in [`compare`]).
    pub capacity: Option<Estimate>,
}

impl Measurements {
    /// The given measurements in the order density, Li:TM, capacity.
    pub fn list(&self) -> Vec<(Observable, Estimate)> {
        [
            (Observable::Density, self.density),
            (Observable::LiTm, self.li_tm),
            (Observable::Capacity, self.capacity),
        ]
        .into_iter()
        .filter_map(|(o, m)| m.map(|m| (o, m)))
        .collect()
    }
}

/// One sample (e.g. one cycle number): its models, cell and measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Label for outputs (the cycle number).
    pub cycle: f64,
    /// The oxygen-loss models of this sample.
    pub models: OxygenLossModels,
    /// Its refined cell.
    pub cell: CellVolume,
    /// What was measured on it.
    pub measurements: Measurements,
}

/// One measurement against both models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Residual {
    /// Index of the sample.
    pub sample: usize,
    /// Its cycle label.
    pub cycle: f64,
    /// What was measured.
    pub observable: Observable,
    /// The measurement.
    pub measured: Estimate,
    /// Vacancy-model prediction (with its model esd).
    pub vacancy: Estimate,
    /// Densified-model prediction.
    pub densified: Estimate,
    /// (measured − vacancy)/√(σ_meas² + σ_model²).
    pub z_vacancy: f64,
    /// (measured − densified)/√(σ_meas² + σ_model²).
    pub z_densified: f64,
}

/// The plain conclusion of a comparison (its `Display` is the verdict string).
///
/// Rule: with f̂ ± σ_f the best fraction of densification and the one-sided 95 % bounds
/// lo = f̂ − 1.645σ_f, hi = f̂ + 1.645σ_f: hi < ½ → vacancy model preferred, densification ≤ hi
/// (rounded up to a whole percent, at least 0); lo > ½ → densified model preferred,
/// densification ≥ lo (rounded down, at most 100 %); otherwise inconclusive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing was measured.
    NoMeasurements,
    /// Both models predict the same values (δ = 0): f is not determined.
    Undetermined,
    /// The vacancy model is preferred; densification at most `max_percent` % (95 %).
    Vacancy {
        /// Upper 95 % bound of the densified fraction, whole percent.
        max_percent: u32,
    },
    /// The densified model is preferred; densification at least `min_percent` % (95 %).
    Densified {
        /// Lower 95 % bound of the densified fraction, whole percent.
        min_percent: u32,
    },
    /// The 95 % interval straddles ½.
    Inconclusive {
        /// Best fraction.
        f: f64,
        /// Lower 95 % bound.
        lower: f64,
        /// Upper 95 % bound.
        upper: f64,
    },
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::NoMeasurements => write!(f, "no measurements given: no verdict"),
            Verdict::Undetermined => {
                write!(f, "undetermined: without oxygen loss both models predict the same values")
            }
            Verdict::Vacancy { max_percent } => {
                write!(f, "vacancy model preferred, densification ≤ {max_percent} %")
            }
            Verdict::Densified { min_percent } => {
                write!(f, "densified model preferred, densification ≥ {min_percent} %")
            }
            Verdict::Inconclusive { f: x, lower, upper } => write!(
                f,
                "inconclusive: densification {:.0} % (95 % bounds {:.0} % to {:.0} %)",
                100.0 * x,
                100.0 * lower,
                100.0 * upper
            ),
        }
    }
}

impl Verdict {
    /// The verdict of a best fraction `f` ± `esd` by the rule of [`Verdict`].
    pub fn from_fraction(f: f64, esd: f64) -> Verdict {
        let (lo, hi) = (f - Z_ONE_SIDED_95 * esd, f + Z_ONE_SIDED_95 * esd);
        let pct = |x: f64| 100.0 * x.clamp(0.0, 1.0);
        if hi < 0.5 {
            // 1e-9 keeps an exact whole percent (15.000000001 from round-off) at 15.
            Verdict::Vacancy { max_percent: (pct(hi) - 1e-9).ceil() as u32 }
        } else if lo > 0.5 {
            Verdict::Densified { min_percent: (pct(lo) + 1e-9).floor() as u32 }
        } else {
            Verdict::Inconclusive { f, lower: lo, upper: hi }
        }
    }
}

/// The best fraction of densification.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DensificationFit {
    /// f̂ ± σ_f (unconstrained: may fall outside [0, 1]).
    pub f: Estimate,
    /// χ² at f̂.
    pub chi2: f64,
    /// Degrees of freedom, measurements − 1.
    pub dof: usize,
    /// One-sided 95 % lower bound f̂ − 1.645σ_f.
    pub lower95: f64,
    /// One-sided 95 % upper bound f̂ + 1.645σ_f.
    pub upper95: f64,
}

/// Both models against the measurements (see [`compare`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// One row per measurement.
    pub residuals: Vec<Residual>,
    /// Generalised χ² of the vacancy model (f = 0).
    pub chi2_vacancy: f64,
    /// Generalised χ² of the densified model (f = 1).
    pub chi2_densified: f64,
    /// The best fraction (None without measurements or when the models coincide).
    pub fit: Option<DensificationFit>,
    /// The plain conclusion.
    pub verdict: Verdict,
}

/// The stacked predictions, their f-derivatives and the model covariance of all measurements.
struct Stack {
    obs: DVector<f64>,
    pred: DVector<f64>,
    jac_f: DVector<f64>,
    cov: DMatrix<f64>,
    /// Marginal model esd of each prediction.
    model_esd: Vec<f64>,
}

fn stack(samples: &[Sample], f: f64, q_ref: Option<Estimate>) -> Result<Stack> {
    let rows: Vec<(usize, Observable, Estimate)> = samples
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.measurements.list().into_iter().map(move |(o, m)| (i, o, m)))
        .collect();
    let m = rows.len();
    let mut obs = DVector::zeros(m);
    let mut pred = DVector::zeros(m);
    let mut jac_f = DVector::zeros(m);
    let mut cov = DMatrix::zeros(m, m);
    // Model-error columns: δ and V of each sample, then Q_ref.
    let mut u = DMatrix::zeros(m, 2 * samples.len() + 1);
    for (r, &(i, o, meas)) in rows.iter().enumerate() {
        let s = &samples[i];
        let by_delta = s.models.observables(f, true, &s.cell);
        let by_f = s.models.observables(f, false, &s.cell);
        let (sd, sv) = (s.models.delta.esd, s.cell.volume.esd);
        let (value, d_delta, d_f, d_v) = match o {
            Observable::Density => {
                let rho = by_delta.density.v;
                (rho, by_delta.density.d, by_f.density.d, -rho / s.cell.volume.value)
            }
            Observable::LiTm => (by_delta.li_tm.v, by_delta.li_tm.d, by_f.li_tm.d, 0.0),
            Observable::Capacity => {
                let q = q_ref.ok_or_else(|| {
                    Error::Model(
                        "a measured capacity needs the reference (initial) capacity, mAh/g, \
                         which the models scale by the predicted retention"
                            .into(),
                    )
                })?;
                let ret = by_delta.retention;
                u[(r, 2 * samples.len())] = ret.v * q.esd;
                (q.value * ret.v, q.value * ret.d, q.value * by_f.retention.d, 0.0)
            }
        };
        obs[r] = meas.value;
        pred[r] = value;
        jac_f[r] = d_f;
        cov[(r, r)] = meas.esd * meas.esd;
        u[(r, 2 * i)] = d_delta * sd;
        u[(r, 2 * i + 1)] = d_v * sv;
    }
    let model_cov = &u * u.transpose();
    let model_esd = (0..m).map(|r| model_cov[(r, r)].max(0.0).sqrt()).collect();
    cov += model_cov;
    Ok(Stack { obs, pred, jac_f, cov, model_esd })
}

/// χ², the information JᵀC⁻¹J and the score JᵀC⁻¹r of a stack.
fn gls(st: &Stack) -> Result<(f64, f64, f64)> {
    let chol = st.cov.clone().cholesky().ok_or_else(|| {
        Error::Model("the covariance of the measurements is not positive definite".into())
    })?;
    let r = &st.obs - &st.pred;
    let cr = chol.solve(&r);
    let cj = chol.solve(&st.jac_f);
    Ok((r.dot(&cr), st.jac_f.dot(&cj), st.jac_f.dot(&cr)))
}

/// Compares the vacancy and densified models of every sample with its measurements: z-scores,
/// generalised χ² of each model, the best fraction of densification f̂ ± σ_f shared by all
/// samples (Gauss–Newton on χ²(f), see the module docs) and the [`Verdict`].
///
/// `reference_capacity` (mAh/g, with esd) is the measured initial capacity that the predicted
/// retention multiplies; it is required when a capacity is measured.
///
/// Errors: a measurement with a non-positive or non-finite esd ([`Error::InvalidValue`]); a
/// capacity without reference; a fit that does not converge ([`Error::Model`]).
pub fn compare(samples: &[Sample], reference_capacity: Option<Estimate>) -> Result<Comparison> {
    for s in samples {
        for (o, m) in s.measurements.list() {
            m.check(o.name())?;
            if m.esd <= 0.0 {
                return Err(Error::InvalidValue {
                    name: format!("measured {} (cycle {})", o.name(), s.cycle),
                    value: m.esd,
                    reason: "a measurement needs a positive uncertainty",
                });
            }
        }
        s.cell.check()?;
    }
    let q_ref = reference_capacity.map(|q| q.check("reference capacity")).transpose()?;
    let at0 = stack(samples, 0.0, q_ref)?;
    let at1 = stack(samples, 1.0, q_ref)?;
    let rows: Vec<(usize, Observable, Estimate)> = samples
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.measurements.list().into_iter().map(move |(o, m)| (i, o, m)))
        .collect();
    let z =
        |meas: Estimate, pred: f64, model_esd: f64| (meas.value - pred) / meas.esd.hypot(model_esd);
    let residuals: Vec<Residual> = rows
        .iter()
        .enumerate()
        .map(|(r, &(i, o, meas))| Residual {
            sample: i,
            cycle: samples[i].cycle,
            observable: o,
            measured: meas,
            vacancy: Estimate::new(at0.pred[r], at0.model_esd[r]),
            densified: Estimate::new(at1.pred[r], at1.model_esd[r]),
            z_vacancy: z(meas, at0.pred[r], at0.model_esd[r]),
            z_densified: z(meas, at1.pred[r], at1.model_esd[r]),
        })
        .collect();
    if rows.is_empty() {
        return Ok(Comparison {
            residuals,
            chi2_vacancy: 0.0,
            chi2_densified: 0.0,
            fit: None,
            verdict: Verdict::NoMeasurements,
        });
    }
    let (chi2_vacancy, info0, _) = gls(&at0)?;
    let (chi2_densified, _, _) = gls(&at1)?;
    if info0.is_nan() || info0 <= 1e-12 {
        return Ok(Comparison {
            residuals,
            chi2_vacancy,
            chi2_densified,
            fit: None,
            verdict: Verdict::Undetermined,
        });
    }
    // Gauss–Newton in f with C re-evaluated at each step (it varies weakly with f).
    let mut f = 0.0;
    let mut result = None;
    for _ in 0..200 {
        let st = stack(samples, f, q_ref)?;
        let (chi2, info, score) = gls(&st)?;
        let step = score / info;
        if !step.is_finite() {
            break;
        }
        if step.abs() < 1e-12 * f.abs().max(1.0) {
            result = Some((f, chi2, info));
            break;
        }
        f += step;
    }
    let (f, chi2, info) = result.ok_or_else(|| {
        Error::Model("the fit of the densified fraction f did not converge".into())
    })?;
    let esd = info.sqrt().recip();
    let fit = DensificationFit {
        f: Estimate::new(f, esd),
        chi2,
        dof: rows.len() - 1,
        lower95: f - Z_ONE_SIDED_95 * esd,
        upper95: f + Z_ONE_SIDED_95 * esd,
    };
    Ok(Comparison {
        residuals,
        chi2_vacancy,
        chi2_densified,
        fit: Some(fit),
        verdict: Verdict::from_fraction(f, esd),
    })
}
