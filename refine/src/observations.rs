//! Observed data prepared for fitting: weights from esds or counting statistics, excluded
//! points and regions.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Smallest σ used for a point with zero counts and no esd column (counting statistics give
/// σ = √max(y, 1), the usual floor of GSAS-II and FullProf for empty channels).
pub const COUNTS_SIGMA_FLOOR: f64 = 1.0;

/// Observed points with their weights, restricted to the fitted range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observations {
    /// 2θ of the used points (degrees), strictly increasing.
    pub two_theta_deg: Vec<f64>,
    /// Observed intensities of the used points.
    pub y_obs: Vec<f64>,
    /// σ of the used points (> 0).
    pub sigma: Vec<f64>,
    /// Points outside the range or inside excluded regions (not fitted).
    pub n_outside: usize,
    /// Points whose esd was zero (excluded from the fit and reported, as real files end with
    /// such points).
    pub n_zero_esd: usize,
}

impl Observations {
    /// Builds the fitted data from a scan: `esd` (if given) becomes σ; else σ = √max(y, 1).
    /// Points outside `range` (degrees, inclusive) or inside any `exclude` region are left
    /// out, as are points whose esd is exactly zero. A NaN intensity, a negative or NaN esd,
    /// or 2θ not strictly increasing is an error naming the point (1-based).
    pub fn new(
        two_theta_deg: &[f64],
        y: &[f64],
        esd: Option<&[f64]>,
        range: Option<(f64, f64)>,
        exclude: &[(f64, f64)],
    ) -> Result<Self> {
        if y.len() != two_theta_deg.len() || esd.is_some_and(|e| e.len() != y.len()) {
            return Err(Error::InvalidInput(
                "2θ, intensity and esd columns differ in length".into(),
            ));
        }
        if y.is_empty() {
            return Err(Error::InvalidInput("the scan has no points".into()));
        }
        let mut out = Observations {
            two_theta_deg: Vec::new(),
            y_obs: Vec::new(),
            sigma: Vec::new(),
            n_outside: 0,
            n_zero_esd: 0,
        };
        for i in 0..y.len() {
            let (t, yi) = (two_theta_deg[i], y[i]);
            if !t.is_finite() || !yi.is_finite() {
                return Err(Error::InvalidInput(format!(
                    "point {}: 2θ = {t}, y = {yi} is not finite",
                    i + 1
                )));
            }
            if i > 0 && t <= two_theta_deg[i - 1] {
                return Err(Error::InvalidInput(format!(
                    "point {}: 2θ = {t}° does not increase",
                    i + 1
                )));
            }
            let inside = range.is_none_or(|(lo, hi)| t >= lo && t <= hi)
                && !exclude.iter().any(|&(lo, hi)| t >= lo && t <= hi);
            let sigma = match esd {
                Some(e) => {
                    let s = e[i];
                    if !(s.is_finite() && s >= 0.0) {
                        return Err(Error::InvalidInput(format!(
                            "point {}: esd = {s} must be finite and non-negative",
                            i + 1
                        )));
                    }
                    s
                }
                None => yi.max(COUNTS_SIGMA_FLOOR).sqrt(),
            };
            if !inside {
                out.n_outside += 1;
                continue;
            }
            if sigma == 0.0 {
                out.n_zero_esd += 1;
                continue;
            }
            out.two_theta_deg.push(t);
            out.y_obs.push(yi);
            out.sigma.push(sigma);
        }
        if out.y_obs.is_empty() {
            return Err(Error::InvalidInput(
                "no points left to fit after the range, exclusions and zero-esd points".into(),
            ));
        }
        Ok(out)
    }

    /// Number of fitted points.
    pub fn len(&self) -> usize {
        self.y_obs.len()
    }

    /// True when no point is fitted.
    pub fn is_empty(&self) -> bool {
        self.y_obs.is_empty()
    }

    /// Weights w = 1/σ².
    pub fn weights(&self) -> Vec<f64> {
        self.sigma.iter().map(|s| 1.0 / (s * s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_exclusions_and_errors() {
        let t = [10.0, 10.1, 10.2, 10.3, 10.4];
        let y = [0.0, 4.0, 9.0, 16.0, 25.0];
        let o = Observations::new(&t, &y, None, Some((10.0, 10.35)), &[(10.15, 10.25)]).unwrap();
        assert_eq!(o.two_theta_deg, vec![10.0, 10.1, 10.3]);
        assert_eq!(o.sigma, vec![1.0, 2.0, 4.0]); // floor 1 for zero counts
        assert_eq!(o.n_outside, 2);
        let e = [1.0, 0.0, 3.0, 0.0, 5.0];
        let o = Observations::new(&t, &y, Some(&e), None, &[]).unwrap();
        assert_eq!(o.n_zero_esd, 2);
        assert_eq!(o.len(), 3);
        let bad = [1.0, -1.0, 3.0, 4.0, 5.0];
        let err = Observations::new(&t, &y, Some(&bad), None, &[]).unwrap_err();
        assert!(err.to_string().contains("point 2"), "{err}");
        let err = Observations::new(&[1.0, 1.0], &[1.0, 2.0], None, None, &[]).unwrap_err();
        assert!(err.to_string().contains("point 2"), "{err}");
        assert!(Observations::new(&[], &[], None, None, &[]).is_err());
        assert!(Observations::new(&[1.0], &[f64::NAN], None, None, &[]).is_err());
    }
}
