//! Agreement indices of a profile fit: R-factors, χ², goodness of fit, Durbin–Watson, and the
//! per-phase Bragg R-factors from Rietveld-partitioned observed intensities.
//!
//! # Profile indices
//! Sources: L. B. McCusker, R. B. Von Dreele, D. E. Cox, D. Louër & P. Scardi (1999),
//! "Rietveld refinement guidelines", J. Appl. Cryst. 32, 36–50, §§5–6; R. A. Young (ed.),
//! *The Rietveld Method* (IUCr/OUP 1993), ch. 1 eqs. 1.6–1.9; pdCIF dictionary
//! (`_pd_proc_ls_prof_R_factor`, `_wR_factor`, `_wR_expected`). With weights w_i = 1/σ_i²,
//! sums over the N points with w_i > 0 (points with w_i = 0 are excluded) and P refined
//! parameters:
//!
//! - R_p   = Σ|y_o − y_c| / Σ y_o
//! - R_wp  = √( Σ w (y_o − y_c)² / Σ w y_o² )
//! - R_exp = √( (N − P) / Σ w y_o² )
//! - χ²    = Σ w (y_o − y_c)²  (the plain sum, `chi2_sum`), χ²_ν = χ²/(N − P) (`chi2`)
//! - GoF   = R_wp/R_exp = √χ²_ν
//!
//! Background-corrected indices (called "conventional Rietveld R-factors" in FullProf's output,
//! as in Rietveld's original program; J. Rodríguez-Carvajal, FullProf manual, "R-factors";
//! McCusker et al. 1999 §6) replace the observed intensity in the denominators by the net
//! intensity y_o − y_b:
//!
//! - R_p'   = Σ|y_o − y_c| / Σ|y_o − y_b|
//! - R_wp'  = √( Σ w (y_o − y_c)² / Σ w (y_o − y_b)² )
//! - R_exp' = √( (N − P) / Σ w (y_o − y_b)² )
//!
//! Durbin–Watson d = Σ_{i≥2} (Δ_i − Δ_{i−1})² / Σ Δ_i², Δ_i = √w_i (y_o,i − y_c,i) over
//! consecutive used points (J. Durbin & G. S. Watson (1971) Biometrika 58, 1; Hill & Flack
//! (1987) J. Appl. Cryst. 20, 356): ≈ 2 for uncorrelated residuals, < 2 for serial correlation.
//!
//! All R values are fractions (0.05 = 5 %); intensities in counts (any consistent unit).
//!
//! # Bragg R-factors
//! The observed integrated intensity of reflection k is obtained by Rietveld's partition
//! (Rietveld 1969, J. Appl. Cryst. 2, 65; Young 1993 ch. 1 eq. 1.10; McCusker et al. 1999
//! §6), sharing the net observed counts at each point among the peaks in proportion to their
//! calculated contributions:
//!
//! I_obs,k = I_calc,k Σ_i Ω_k(i) (y_o,i − y_b,i)/(y_c,i − y_b,i),
//!
//! where Ω_k(i) is the profile of peak k at point i normalised so that Σ_i Ω_k(i) = 1 over the
//! points used. The caller gives, per reflection, I_calc,k and the counts c_k(i) the reflection
//! adds to y_c over its window (see [`ReflectionProfile`]); Ω_k(i) = c_k(i)/Σ_j c_k(j), so that
//! I_obs,k = I_calc,k exactly when y_o = y_c, whatever the step width or window truncation.
//! Then (Young 1993 eq. 1.11; pdCIF `_refine_ls_R_I_factor`, `_refine_ls_R_F_factor`):
//!
//! - R_Bragg = Σ_k |I_obs,k − I_calc,k| / Σ_k I_obs,k
//! - R_F     = Σ_k |√I_obs,k − √I_calc,k| / Σ_k √I_obs,k
//!
//! A partitioned I_obs,k can come out negative (noise below the background); R_F then uses
//! √0 for it, and the number of such reflections is reported (`n_negative`).

use crate::error::{Error, Result};
use serde::Serialize;
use std::fmt;

/// The observed and calculated pattern with weights (and optionally the background), as given
/// to the statistics. All slices have the same length; `weights` are 1/σ² (0 = excluded).
#[derive(Debug, Clone, Copy)]
pub struct PatternFit<'a> {
    y_obs: &'a [f64],
    y_calc: &'a [f64],
    weights: &'a [f64],
    y_bkg: Option<&'a [f64]>,
}

impl<'a> PatternFit<'a> {
    /// Checks that the slices have equal lengths, are finite, and that weights are ≥ 0.
    ///
    /// Errors: [`Error::InvalidInput`] on a length mismatch or a negative weight,
    /// [`Error::NonFinite`] on NaN/∞.
    pub fn new(y_obs: &'a [f64], y_calc: &'a [f64], weights: &'a [f64]) -> Result<Self> {
        let n = y_obs.len();
        check_len("y_calc", y_calc.len(), n)?;
        check_len("weights", weights.len(), n)?;
        check_finite("y_obs", y_obs)?;
        check_finite("y_calc", y_calc)?;
        check_finite("weights", weights)?;
        if let Some(i) = weights.iter().position(|&w| w < 0.0) {
            return Err(Error::InvalidInput(format!(
                "weight {} at point {i} is negative",
                weights[i]
            )));
        }
        Ok(PatternFit { y_obs, y_calc, weights, y_bkg: None })
    }

    /// Adds the calculated background y_b (same length, finite), needed for the
    /// background-corrected indices and the Bragg R-factors.
    pub fn with_background(mut self, y_bkg: &'a [f64]) -> Result<Self> {
        check_len("y_bkg", y_bkg.len(), self.y_obs.len())?;
        check_finite("y_bkg", y_bkg)?;
        self.y_bkg = Some(y_bkg);
        Ok(self)
    }

    /// Number of points (used and excluded).
    pub fn len(&self) -> usize {
        self.y_obs.len()
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.y_obs.is_empty()
    }

    /// Indices of the points used (w > 0).
    fn used(&self) -> impl Iterator<Item = usize> + '_ {
        self.weights.iter().enumerate().filter(|(_, &w)| w > 0.0).map(|(i, _)| i)
    }
}

fn check_len(name: &str, len: usize, n: usize) -> Result<()> {
    if len == n {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!("{name} has {len} points, y_obs has {n}")))
    }
}

fn check_finite(name: &str, v: &[f64]) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(Error::NonFinite { what: name.to_string(), at: format!("point {i}") }),
        None => Ok(()),
    }
}

/// Background-corrected ("conventional", FullProf) profile indices (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BackgroundCorrected {
    /// R_p' = Σ|y_o − y_c| / Σ|y_o − y_b| (fraction).
    pub rp: f64,
    /// R_wp' = √(Σ w (y_o − y_c)² / Σ w (y_o − y_b)²) (fraction).
    pub rwp: f64,
    /// R_exp' = √((N − P) / Σ w (y_o − y_b)²) (fraction).
    pub rexp: f64,
}

/// Agreement indices of one profile fit (formulas and sources in the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Statistics {
    /// Profile R-factor R_p (fraction).
    pub rp: f64,
    /// Weighted profile R-factor R_wp (fraction).
    pub rwp: f64,
    /// Expected R-factor R_exp (fraction).
    pub rexp: f64,
    /// Reduced χ²_ν = Σ w (y_o − y_c)² / (N − P).
    pub chi2: f64,
    /// χ² = Σ w (y_o − y_c)², the minimised sum.
    pub chi2_sum: f64,
    /// Goodness of fit R_wp/R_exp = √χ²_ν.
    pub gof: f64,
    /// Durbin–Watson d of the weighted residuals; `None` when all residuals vanish.
    pub durbin_watson: Option<f64>,
    /// N: points used (w > 0).
    pub n_points: usize,
    /// Points excluded because their weight is zero.
    pub n_excluded: usize,
    /// P: refined parameters.
    pub n_params: usize,
    /// Background-corrected indices, when the background was given.
    pub background_corrected: Option<BackgroundCorrected>,
}

impl Statistics {
    /// Computes the indices of `fit` with `n_params` refined parameters.
    ///
    /// Errors ([`Error::InvalidInput`]): N ≤ P (no degrees of freedom), Σ y_o ≤ 0 or
    /// Σ w y_o² = 0 (nothing observed), or Σ|y_o − y_b| = 0 with a background given.
    pub fn compute(fit: &PatternFit<'_>, n_params: usize) -> Result<Self> {
        let n_points = fit.used().count();
        let n_excluded = fit.len() - n_points;
        if n_points <= n_params {
            return Err(Error::InvalidInput(format!(
                "{n_points} observations (w > 0) for {n_params} parameters: no degrees of freedom"
            )));
        }
        let dof = (n_points - n_params) as f64;
        let (mut abs_diff, mut sum_obs, mut chi2_sum, mut wyo2) = (0.0, 0.0, 0.0, 0.0);
        let (mut net_abs, mut w_net2) = (0.0, 0.0);
        let (mut dw_num, mut previous) = (0.0, None);
        for i in fit.used() {
            let (yo, yc, w) = (fit.y_obs[i], fit.y_calc[i], fit.weights[i]);
            let d = yo - yc;
            abs_diff += d.abs();
            sum_obs += yo;
            chi2_sum += w * d * d;
            wyo2 += w * yo * yo;
            if let Some(yb) = fit.y_bkg {
                let net = yo - yb[i];
                net_abs += net.abs();
                w_net2 += w * net * net;
            }
            let delta = w.sqrt() * d;
            if let Some(p) = previous {
                let step: f64 = delta - p;
                dw_num += step * step;
            }
            previous = Some(delta);
        }
        if sum_obs <= 0.0 || wyo2 <= 0.0 {
            return Err(Error::InvalidInput(format!(
                "observed intensities sum to {sum_obs} (Σ w y_o² = {wyo2}): R-factors undefined"
            )));
        }
        let background_corrected =
            match fit.y_bkg {
                None => None,
                Some(_) if net_abs <= 0.0 || w_net2 <= 0.0 => return Err(Error::InvalidInput(
                    "observed intensity equals the background everywhere: background-corrected \
                     R-factors undefined"
                        .to_string(),
                )),
                Some(_) => Some(BackgroundCorrected {
                    rp: abs_diff / net_abs,
                    rwp: (chi2_sum / w_net2).sqrt(),
                    rexp: (dof / w_net2).sqrt(),
                }),
            };
        let chi2 = chi2_sum / dof;
        Ok(Statistics {
            rp: abs_diff / sum_obs,
            rwp: (chi2_sum / wyo2).sqrt(),
            rexp: (dof / wyo2).sqrt(),
            chi2,
            chi2_sum,
            gof: chi2.sqrt(),
            durbin_watson: (chi2_sum > 0.0).then(|| dw_num / chi2_sum),
            n_points,
            n_excluded,
            n_params,
            background_corrected,
        })
    }

    /// Hill & Flack's critical value of the Durbin–Watson d at 99.9 % confidence,
    /// Q = 2·[(N − 1)/(N − P) − 3.0902/√(N + 2)] (R. J. Hill & H. D. Flack (1987), *J. Appl.
    /// Cryst.* 20, 356, eq. 6; FullProf's "DW-exp"): d < Q means the residuals are serially
    /// correlated and the esds understate the real uncertainty (Bérar & Lelann (1991),
    /// *J. Appl. Cryst.* 24, 1). Dimensionless.
    pub fn durbin_watson_critical(&self) -> f64 {
        let n = self.n_points as f64;
        let p = self.n_params as f64;
        2.0 * ((n - 1.0) / (n - p) - 3.0902 / (n + 2.0).sqrt())
    }
}

impl fmt::Display for Statistics {
    /// One line, R-factors in percent: `Rp = 5.60 %  Rwp = 7.40 %  Rexp = 4.37 %  χ²ν = 2.868
    /// GoF = 1.69  (N = 4000, P = 25)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Rp = {:.2} %  Rwp = {:.2} %  Rexp = {:.2} %  χ²ν = {:.3}  GoF = {:.2}  (N = {}, P = {})",
            100.0 * self.rp,
            100.0 * self.rwp,
            100.0 * self.rexp,
            self.chi2,
            self.gof,
            self.n_points,
            self.n_params
        )?;
        if let Some(b) = &self.background_corrected {
            write!(
                f,
                "; background-corrected Rp = {:.2} %  Rwp = {:.2} %  Rexp = {:.2} %",
                100.0 * b.rp,
                100.0 * b.rwp,
                100.0 * b.rexp
            )?;
        }
        Ok(())
    }
}

/// One reflection of a phase as it enters the Bragg R-factors.
///
/// `contribution[j]` is the calculated intensity (counts) this reflection adds to y_c at point
/// `start + j`, summed over all its wavelength components (Kα1 + Kα2 of one hkl form one
/// reflection). Only its shape matters (it is normalised over the used points); it must be
/// ≥ 0. `i_calc` is the calculated integrated intensity in whatever unit the caller reports
/// (e.g. s·m·|F|²·LP, counts·degree); I_obs comes out in the same unit.
#[derive(Debug, Clone, Copy)]
pub struct ReflectionProfile<'a> {
    /// Calculated integrated intensity I_calc,k (≥ 0).
    pub i_calc: f64,
    /// Index of the first pattern point of the window.
    pub start: usize,
    /// Counts added to y_c at points `start..start + contribution.len()`.
    pub contribution: &'a [f64],
}

/// Bragg R-factors of one phase (module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BraggRFactors {
    /// R_Bragg = Σ|I_obs − I_calc| / Σ I_obs (fraction).
    pub r_bragg: f64,
    /// R_F = Σ|√I_obs − √I_calc| / Σ √I_obs (fraction).
    pub r_f: f64,
    /// Reflections with at least one used point under their profile.
    pub n_reflections: usize,
    /// Reflections whose partitioned I_obs is negative (taken as 0 in R_F).
    pub n_negative: usize,
    /// Partitioned I_obs per input reflection (same order), `None` where the reflection has no
    /// used point with a non-zero contribution. Not serialised (it belongs in a reflection
    /// list, not in a summary).
    #[serde(skip)]
    pub i_obs: Vec<Option<f64>>,
}

/// Partitions the observed intensity among `reflections` of one phase and computes its Bragg
/// R-factors. `fit` must carry the background ([`PatternFit::with_background`]); y_c and y_b
/// are the totals over all phases, so a phase's reflections share counts correctly with
/// overlapping peaks of other phases.
///
/// Errors ([`Error::InvalidInput`]): no background; a window outside the pattern; a negative
/// or non-finite contribution or I_calc; a point where a reflection contributes but
/// y_c − y_b ≤ 0; no observed reflection or Σ I_obs ≤ 0.
pub fn bragg_r_factors(
    fit: &PatternFit<'_>,
    reflections: &[ReflectionProfile<'_>],
) -> Result<BraggRFactors> {
    let y_bkg = fit.y_bkg.ok_or_else(|| {
        Error::InvalidInput("Bragg R-factors need the calculated background".to_string())
    })?;
    let mut i_obs = Vec::with_capacity(reflections.len());
    for (k, r) in reflections.iter().enumerate() {
        if !(r.i_calc.is_finite() && r.i_calc >= 0.0) {
            return Err(Error::InvalidInput(format!(
                "reflection {k}: I_calc = {} must be finite and ≥ 0",
                r.i_calc
            )));
        }
        let end = r.start.checked_add(r.contribution.len()).filter(|&e| e <= fit.len());
        if end.is_none() {
            return Err(Error::InvalidInput(format!(
                "reflection {k}: window {}..{}+{} extends beyond the {} points",
                r.start,
                r.start,
                r.contribution.len(),
                fit.len()
            )));
        }
        let (mut sum_c, mut acc) = (0.0, 0.0);
        for (j, &c) in r.contribution.iter().enumerate() {
            let i = r.start + j;
            if !(c.is_finite() && c >= 0.0) {
                return Err(Error::InvalidInput(format!(
                    "reflection {k}: contribution {c} at point {i} must be finite and ≥ 0"
                )));
            }
            if c == 0.0 || fit.weights[i] <= 0.0 {
                continue;
            }
            let net_calc = fit.y_calc[i] - y_bkg[i];
            if net_calc <= 0.0 {
                return Err(Error::InvalidInput(format!(
                    "reflection {k} adds {c} at point {i} but y_calc − y_bkg = {net_calc} ≤ 0"
                )));
            }
            sum_c += c;
            acc += c / net_calc * (fit.y_obs[i] - y_bkg[i]);
        }
        i_obs.push((sum_c > 0.0).then(|| r.i_calc * acc / sum_c));
    }
    let (mut num, mut den, mut num_f, mut den_f) = (0.0, 0.0, 0.0, 0.0);
    let (mut n_reflections, mut n_negative) = (0, 0);
    for (r, io) in reflections.iter().zip(&i_obs) {
        let Some(io) = *io else { continue };
        n_reflections += 1;
        if io < 0.0 {
            n_negative += 1;
        }
        num += (io - r.i_calc).abs();
        den += io;
        let sqrt_obs = io.max(0.0).sqrt();
        num_f += (sqrt_obs - r.i_calc.sqrt()).abs();
        den_f += sqrt_obs;
    }
    if n_reflections == 0 || den <= 0.0 || den_f <= 0.0 {
        return Err(Error::InvalidInput(format!(
            "no observed intensity to compare ({n_reflections} reflections, Σ I_obs = {den})"
        )));
    }
    Ok(BraggRFactors { r_bragg: num / den, r_f: num_f / den_f, n_reflections, n_negative, i_obs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed_indices() {
        // Four points, one excluded (w = 0); values worked by hand:
        // used: (yo, yc, w) = (10, 8, 0.1), (20, 21, 0.05), (30, 30, 1/30)
        let yo = [10.0, 20.0, 30.0, 1000.0];
        let yc = [8.0, 21.0, 30.0, 0.0];
        let w = [0.1, 0.05, 1.0 / 30.0, 0.0];
        let fit = PatternFit::new(&yo, &yc, &w).unwrap();
        let s = Statistics::compute(&fit, 1).unwrap();
        assert_eq!((s.n_points, s.n_excluded, s.n_params), (3, 1, 1));
        // Σ|Δ| = 3, Σyo = 60
        assert_relative_eq!(s.rp, 3.0 / 60.0, max_relative = 1e-15);
        // Σ wΔ² = 0.4 + 0.05 + 0 = 0.45; Σ w yo² = 10 + 20 + 30 = 60
        assert_relative_eq!(s.chi2_sum, 0.45, max_relative = 1e-14);
        assert_relative_eq!(s.rwp, (0.45f64 / 60.0).sqrt(), max_relative = 1e-14);
        assert_relative_eq!(s.rexp, (2.0f64 / 60.0).sqrt(), max_relative = 1e-14);
        assert_relative_eq!(s.chi2, 0.225, max_relative = 1e-14);
        assert_relative_eq!(s.gof, s.rwp / s.rexp, max_relative = 1e-14);
        // Δ = √w·(yo − yc) = (0.632456, −0.223607, 0): d = ((−0.223607−0.632456)² + 0.05)/0.45
        let d1 = 0.1f64.sqrt() * 2.0;
        let d2 = -(0.05f64.sqrt());
        assert_relative_eq!(
            s.durbin_watson.unwrap(),
            ((d2 - d1).powi(2) + d2 * d2) / 0.45,
            max_relative = 1e-13
        );
        assert!(s.background_corrected.is_none());
    }

    #[test]
    fn background_corrected_indices_by_hand() {
        let yo = [10.0, 20.0, 30.0];
        let yc = [8.0, 21.0, 30.0];
        let yb = [5.0, 5.0, 40.0];
        let w = [1.0, 1.0, 1.0];
        let fit = PatternFit::new(&yo, &yc, &w).unwrap().with_background(&yb).unwrap();
        let s = Statistics::compute(&fit, 0).unwrap();
        let b = s.background_corrected.unwrap();
        // |yo − yb| = 5, 15, 10 → 30; Σ(yo − yb)² = 25 + 225 + 100 = 350
        assert_relative_eq!(b.rp, 3.0 / 30.0, max_relative = 1e-15);
        assert_relative_eq!(b.rwp, (5.0f64 / 350.0).sqrt(), max_relative = 1e-14);
        assert_relative_eq!(b.rexp, (3.0f64 / 350.0).sqrt(), max_relative = 1e-14);
        // Background-corrected GoF equals the plain one (same χ², same N − P).
        assert_relative_eq!(b.rwp / b.rexp, s.gof, max_relative = 1e-14);
    }

    #[test]
    fn poisson_noise_gives_chi2_near_one_and_dw_near_two() {
        // A model equal to the truth with Gaussian noise of σ = √y: E[χ²ν] = 1 (N − P dof),
        // and uncorrelated residuals give E[d] ≈ 2 (Durbin & Watson 1971). Deterministic
        // pseudo-random normals (LCG + Box–Muller, fixed seed).
        let n = 20_000;
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut uniform = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let truth: Vec<f64> = (0..n).map(|i| 200.0 + 100.0 * (i as f64 * 0.01).sin()).collect();
        let obs: Vec<f64> = truth
            .iter()
            .map(|&t| {
                let g =
                    (-2.0 * uniform().ln()).sqrt() * (2.0 * std::f64::consts::PI * uniform()).cos();
                t + t.sqrt() * g
            })
            .collect();
        let w: Vec<f64> = truth.iter().map(|t| 1.0 / t).collect();
        let s = Statistics::compute(&PatternFit::new(&obs, &truth, &w).unwrap(), 0).unwrap();
        // sd of χ²ν is √(2/N) = 0.01; 5σ band.
        assert!((s.chi2 - 1.0).abs() < 0.05, "χ²ν = {}", s.chi2);
        assert!((s.durbin_watson.unwrap() - 2.0).abs() < 0.1);
        // R_exp ≈ √(N/Σ y) for Poisson weights.
        let sum_y: f64 = obs.iter().zip(&w).map(|(y, w)| w * y * y).sum();
        assert_relative_eq!(s.rexp, (n as f64 / sum_y).sqrt(), max_relative = 1e-12);
    }

    #[test]
    fn rejects_bad_input() {
        let y = [1.0, 2.0, 3.0];
        assert!(matches!(PatternFit::new(&y, &y[..2], &y), Err(Error::InvalidInput(_))));
        assert!(matches!(
            PatternFit::new(&y, &y, &[1.0, f64::NAN, 1.0]),
            Err(Error::NonFinite { .. })
        ));
        assert!(PatternFit::new(&y, &y, &[1.0, -1.0, 1.0]).is_err());
        let fit = PatternFit::new(&y, &y, &[1.0, 1.0, 0.0]).unwrap();
        // Two used points, two parameters: no degrees of freedom.
        assert!(Statistics::compute(&fit, 2).is_err());
        let perfect = Statistics::compute(&fit, 1).unwrap();
        assert_eq!(perfect.rwp, 0.0);
        assert!(perfect.durbin_watson.is_none());
        let zeros = [0.0; 3];
        assert!(Statistics::compute(&PatternFit::new(&zeros, &y, &y).unwrap(), 0).is_err());
    }

    /// y_calc, y_bkg, peak 1 and peak 2 contributions, weights.
    type Toy = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

    /// A two-peak toy pattern with a constant background; peak k has triangular shape.
    fn toy() -> Toy {
        let bkg = vec![10.0; 12];
        let p1 = vec![1.0, 3.0, 6.0, 3.0, 1.0]; // points 1..6, sum 14
        let p2 = vec![2.0, 4.0, 2.0]; // points 4..7, sum 8 (overlaps p1 at 4, 5)
        let mut yc = bkg.clone();
        for (j, c) in p1.iter().enumerate() {
            yc[1 + j] += c;
        }
        for (j, c) in p2.iter().enumerate() {
            yc[4 + j] += c;
        }
        (yc, bkg, p1, p2, vec![1.0; 12])
    }

    #[test]
    fn bragg_partition_recovers_i_calc_for_a_perfect_fit() {
        let (yc, bkg, p1, p2, w) = toy();
        let fit = PatternFit::new(&yc, &yc, &w).unwrap().with_background(&bkg).unwrap();
        let refl = [
            ReflectionProfile { i_calc: 140.0, start: 1, contribution: &p1 },
            ReflectionProfile { i_calc: 80.0, start: 4, contribution: &p2 },
        ];
        let b = bragg_r_factors(&fit, &refl).unwrap();
        assert_eq!(b.r_bragg, 0.0);
        assert_eq!(b.r_f, 0.0);
        assert_relative_eq!(b.i_obs[0].unwrap(), 140.0, max_relative = 1e-14);
        assert_relative_eq!(b.i_obs[1].unwrap(), 80.0, max_relative = 1e-14);
    }

    #[test]
    fn bragg_partition_by_hand() {
        // Observed net intensity twice the calculated one at every point: every I_obs doubles
        // (the ratio (yo − yb)/(yc − yb) = 2 everywhere), so R_Bragg = Σ|2I − I|/Σ2I = 1/2 and
        // R_F = (√2 − 1)/√2.
        let (yc, bkg, p1, p2, w) = toy();
        let yo: Vec<f64> = yc.iter().zip(&bkg).map(|(c, b)| b + 2.0 * (c - b)).collect();
        let fit = PatternFit::new(&yo, &yc, &w).unwrap().with_background(&bkg).unwrap();
        let refl = [
            ReflectionProfile { i_calc: 140.0, start: 1, contribution: &p1 },
            ReflectionProfile { i_calc: 80.0, start: 4, contribution: &p2 },
        ];
        let b = bragg_r_factors(&fit, &refl).unwrap();
        assert_relative_eq!(b.r_bragg, 0.5, max_relative = 1e-14);
        assert_relative_eq!(b.r_f, 1.0 - 1.0 / 2f64.sqrt(), max_relative = 1e-14);

        // Extra 6 counts only at point 5, where p1 adds 1 and p2 adds 4 of the 5 net calculated
        // counts: (yo − yb)/(yc − yb) = 11/5 there, Ω_1(5) = 1/14, Ω_2(5) = 4/8, so
        // I_obs,1 = 140·[1 + (1/14)(11/5 − 1)] and I_obs,2 = 80·[1 + (4/8)(11/5 − 1)].
        let mut yo = yc.clone();
        yo[5] += 6.0;
        let fit = PatternFit::new(&yo, &yc, &w).unwrap().with_background(&bkg).unwrap();
        let b = bragg_r_factors(&fit, &refl).unwrap();
        let i1 = 140.0 * (1.0 + 1.0 / 14.0 * 1.2);
        let i2 = 80.0 * (1.0 + 4.0 / 8.0 * 1.2);
        assert_relative_eq!(b.i_obs[0].unwrap(), i1, max_relative = 1e-14);
        assert_relative_eq!(b.i_obs[1].unwrap(), i2, max_relative = 1e-14);
        // The 6 extra counts are fully shared out: in counts (I_calc/Σc = 10 for both), 1.2 + 4.8.
        assert_relative_eq!((i1 - 140.0) / 10.0 + (i2 - 80.0) / 10.0, 6.0, max_relative = 1e-13);
        let rb = ((i1 - 140.0) + (i2 - 80.0)) / (i1 + i2);
        assert_relative_eq!(b.r_bragg, rb, max_relative = 1e-14);
    }

    #[test]
    fn bragg_excluded_points_and_errors() {
        let (yc, bkg, p1, p2, mut w) = toy();
        // Exclude p2's whole window: it is not observed; p1 keeps its points 1..4.
        for wi in &mut w[4..7] {
            *wi = 0.0;
        }
        let fit = PatternFit::new(&yc, &yc, &w).unwrap().with_background(&bkg).unwrap();
        let refl = [
            ReflectionProfile { i_calc: 140.0, start: 1, contribution: &p1 },
            ReflectionProfile { i_calc: 80.0, start: 4, contribution: &p2 },
        ];
        let b = bragg_r_factors(&fit, &refl).unwrap();
        assert_eq!(b.n_reflections, 1);
        assert!(b.i_obs[1].is_none());
        assert_relative_eq!(b.i_obs[0].unwrap(), 140.0, max_relative = 1e-14);

        let no_bkg = PatternFit::new(&yc, &yc, &w).unwrap();
        assert!(bragg_r_factors(&no_bkg, &refl).is_err());
        let outside = [ReflectionProfile { i_calc: 1.0, start: 10, contribution: &p1 }];
        assert!(bragg_r_factors(&fit, &outside).is_err());
        let negative = [ReflectionProfile { i_calc: 1.0, start: 0, contribution: &[-1.0] }];
        assert!(bragg_r_factors(&fit, &negative).is_err());
        // Contribution where y_calc = y_bkg: inconsistent input.
        let flat = [ReflectionProfile { i_calc: 1.0, start: 9, contribution: &[1.0] }];
        assert!(bragg_r_factors(&fit, &flat).is_err());
    }

    #[test]
    fn negative_partitioned_intensity_counts_as_zero_in_r_f() {
        let (yc, bkg, p1, p2, w) = toy();
        let mut yo = yc.clone();
        // p2 alone at point 6: push its observed counts far below background.
        yo[6] = 0.0;
        let fit = PatternFit::new(&yo, &yc, &w).unwrap().with_background(&bkg).unwrap();
        let refl = [
            ReflectionProfile { i_calc: 140.0, start: 1, contribution: &p1 },
            ReflectionProfile { i_calc: 80.0, start: 4, contribution: &p2 },
        ];
        let b = bragg_r_factors(&fit, &refl).unwrap();
        // I_obs,2 = 80·[1 + (2/8)·((0 − 10)/2 − 1)] = 80·(1 − 1.5) = −40
        assert_relative_eq!(b.i_obs[1].unwrap(), -40.0, max_relative = 1e-14);
        assert_eq!(b.n_negative, 1);
        let rf = (80f64.sqrt()) / 140f64.sqrt();
        assert_relative_eq!(b.r_f, rf, max_relative = 1e-14);
    }

    #[test]
    fn serialises() {
        let y = [1.0, 2.0, 3.0];
        let s = Statistics::compute(&PatternFit::new(&y, &y, &y).unwrap(), 0).unwrap();
        let v = serde_json::to_value(s).unwrap();
        for key in ["rp", "rwp", "rexp", "chi2", "chi2_sum", "gof", "n_points", "n_excluded"] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert!(s.to_string().starts_with("Rp = 0.00 %"));
    }
}
