//! Chebyshev polynomial background.
//!
//! y_bkg(2θ) = Σ_{n=0}^{N−1} c_n T_n(x),  x = 2(2θ − 2θ_min)/(2θ_max − 2θ_min) − 1,
//!
//! with T_n the Chebyshev polynomials of the first kind (T_0 = 1, T_1 = x,
//! T_{n+1} = 2x T_n − T_{n−1}; Abramowitz & Stegun (1964) §22.7.4), the linear map taking the
//! pattern range [2θ_min, 2θ_max] (degrees) onto [−1, 1] as GSAS-II's `chebyschev-1` and TOPAS's
//! `bkg` do. Evaluation uses the Clenshaw recurrence (Clenshaw 1955, *Math. Tables Aids
//! Comput.* 9, 118). Outside the range the polynomial is extrapolated, not clamped.
//! ∂y/∂c_n = T_n(x): use [`ChebyshevBackground::basis_into`] for the Jacobian. Coefficients are
//! in counts (the units of the pattern); an empty coefficient list is a zero background.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A Chebyshev background over a 2θ range, validated: 2θ_min < 2θ_max, both finite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ChebyshevSpec", into = "ChebyshevSpec")]
pub struct ChebyshevBackground {
    coeffs: Vec<f64>,
    two_theta_min_deg: f64,
    two_theta_max_deg: f64,
}

/// The unvalidated serialised form of [`ChebyshevBackground`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ChebyshevSpec {
    coeffs: Vec<f64>,
    two_theta_min_deg: f64,
    two_theta_max_deg: f64,
}

impl TryFrom<ChebyshevSpec> for ChebyshevBackground {
    type Error = Error;
    fn try_from(s: ChebyshevSpec) -> Result<Self> {
        ChebyshevBackground::new(s.coeffs, s.two_theta_min_deg, s.two_theta_max_deg)
    }
}

impl From<ChebyshevBackground> for ChebyshevSpec {
    fn from(b: ChebyshevBackground) -> Self {
        ChebyshevSpec {
            coeffs: b.coeffs,
            two_theta_min_deg: b.two_theta_min_deg,
            two_theta_max_deg: b.two_theta_max_deg,
        }
    }
}

/// T_n(x) of the first kind by the three-term recurrence (A&S §22.7.4).
pub fn chebyshev_t(n: usize, x: f64) -> f64 {
    let (mut t0, mut t1) = (1.0, x);
    match n {
        0 => t0,
        _ => {
            for _ in 1..n {
                let t2 = 2.0 * x * t1 - t0;
                t0 = t1;
                t1 = t2;
            }
            t1
        }
    }
}

impl ChebyshevBackground {
    /// A background with coefficients `coeffs` (c_0 first) over [min, max] in degrees 2θ.
    /// Errors unless both bounds are finite and min < max, or if a coefficient is not finite.
    pub fn new(coeffs: Vec<f64>, two_theta_min_deg: f64, two_theta_max_deg: f64) -> Result<Self> {
        if !(two_theta_min_deg.is_finite() && two_theta_max_deg.is_finite()) {
            return Err(Error::InvalidRange {
                reason: "background 2θ bounds must be finite".into(),
            });
        }
        if two_theta_min_deg >= two_theta_max_deg {
            return Err(Error::InvalidRange {
                reason: format!(
                    "background range needs 2θ_min < 2θ_max, got {two_theta_min_deg}° .. {two_theta_max_deg}°"
                ),
            });
        }
        if let Some(c) = coeffs.iter().find(|c| !c.is_finite()) {
            return Err(Error::InvalidValue {
                name: "Chebyshev coefficient".into(),
                value: *c,
                reason: "must be finite",
            });
        }
        Ok(ChebyshevBackground { coeffs, two_theta_min_deg, two_theta_max_deg })
    }

    /// The coefficients c_0 … c_{N−1}.
    pub fn coeffs(&self) -> &[f64] {
        &self.coeffs
    }

    /// Mutable access for a refinement update (the number of terms cannot change this way).
    pub fn coeffs_mut(&mut self) -> &mut [f64] {
        &mut self.coeffs
    }

    /// Number of terms N.
    pub fn len(&self) -> usize {
        self.coeffs.len()
    }

    /// True for a zero background (no terms).
    pub fn is_empty(&self) -> bool {
        self.coeffs.is_empty()
    }

    /// Lower bound of the mapping range, degrees 2θ.
    pub fn two_theta_min_deg(&self) -> f64 {
        self.two_theta_min_deg
    }

    /// Upper bound of the mapping range, degrees 2θ.
    pub fn two_theta_max_deg(&self) -> f64 {
        self.two_theta_max_deg
    }

    /// The reduced abscissa x = 2(2θ − min)/(max − min) − 1 ∈ [−1, 1] inside the range.
    pub fn reduced_x(&self, two_theta_deg: f64) -> f64 {
        2.0 * (two_theta_deg - self.two_theta_min_deg)
            / (self.two_theta_max_deg - self.two_theta_min_deg)
            - 1.0
    }

    /// The background at one 2θ (degrees), by Clenshaw's recurrence.
    pub fn value(&self, two_theta_deg: f64) -> f64 {
        let x = self.reduced_x(two_theta_deg);
        let c = &self.coeffs;
        match c.len() {
            0 => 0.0,
            1 => c[0],
            n => {
                // b_k = c_k + 2x b_{k+1} − b_{k+2}; y = c_0 + x b_1 − b_2.
                let (mut b1, mut b2) = (0.0, 0.0);
                for &ck in c[1..n].iter().rev() {
                    let b0 = ck + 2.0 * x * b1 - b2;
                    b2 = b1;
                    b1 = b0;
                }
                c[0] + x * b1 - b2
            }
        }
    }

    /// The background at each 2θ of `two_theta_deg`, written into `out` (same length).
    pub fn evaluate_into(&self, two_theta_deg: &[f64], out: &mut [f64]) -> Result<()> {
        if two_theta_deg.len() != out.len() {
            return Err(Error::Model(format!(
                "background: {} abscissae but an output of length {}",
                two_theta_deg.len(),
                out.len()
            )));
        }
        // Clenshaw over lanes of LANES points at once, so that the recurrence vectorises
        // (the same arithmetic as `value`, point by point).
        const LANES: usize = 8;
        let c = &self.coeffs;
        if c.len() < 2 {
            out.iter_mut().for_each(|o| *o = c.first().copied().unwrap_or(0.0));
            return Ok(());
        }
        let scale = 2.0 / (self.two_theta_max_deg - self.two_theta_min_deg);
        let mut t_chunks = two_theta_deg.chunks_exact(LANES);
        let mut o_chunks = out.chunks_exact_mut(LANES);
        for (t, o) in (&mut t_chunks).zip(&mut o_chunks) {
            let mut x = [0.0; LANES];
            for (xi, ti) in x.iter_mut().zip(t) {
                *xi = scale * (ti - self.two_theta_min_deg) - 1.0;
            }
            let (mut b1, mut b2) = ([0.0; LANES], [0.0; LANES]);
            for &ck in c[1..].iter().rev() {
                for l in 0..LANES {
                    let b0 = ck + 2.0 * x[l] * b1[l] - b2[l];
                    b2[l] = b1[l];
                    b1[l] = b0;
                }
            }
            for l in 0..LANES {
                o[l] = c[0] + x[l] * b1[l] - b2[l];
            }
        }
        for (o, &t) in o_chunks.into_remainder().iter_mut().zip(t_chunks.remainder()) {
            *o = self.value(t);
        }
        Ok(())
    }

    /// The background at each 2θ of `two_theta_deg`.
    pub fn evaluate(&self, two_theta_deg: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; two_theta_deg.len()];
        // INVARIANT: `out` has the length of the abscissae, so evaluate_into cannot fail.
        if self.evaluate_into(two_theta_deg, &mut out).is_err() {
            out.clear();
        }
        out
    }

    /// The basis values T_0(x) … T_{N−1}(x) at one 2θ, i.e. ∂y_bkg/∂c_n, into `out`
    /// (length N = [`ChebyshevBackground::len`]; a shorter or longer slice is an error).
    pub fn basis_into(&self, two_theta_deg: f64, out: &mut [f64]) -> Result<()> {
        if out.len() != self.coeffs.len() {
            return Err(Error::Model(format!(
                "background basis: {} terms but an output of length {}",
                self.coeffs.len(),
                out.len()
            )));
        }
        let x = self.reduced_x(two_theta_deg);
        for n in 0..out.len() {
            out[n] = match n {
                0 => 1.0,
                1 => x,
                _ => 2.0 * x * out[n - 1] - out[n - 2],
            };
        }
        Ok(())
    }

    /// T_k at every point of `two_theta_deg` into `out` (the Jacobian column ∂y_bkg/∂c_k over
    /// a grid), by the recurrence T_{n+1} = 2x·T_n − T_{n−1} run over whole columns so that it
    /// vectorises. Errors: `k` ≥ [`ChebyshevBackground::len`] or slices of unequal length.
    pub fn basis_column_into(
        &self,
        two_theta_deg: &[f64],
        k: usize,
        out: &mut [f64],
    ) -> Result<()> {
        if k >= self.coeffs.len() || two_theta_deg.len() != out.len() {
            return Err(Error::Model(format!(
                "background basis column T_{k}: {} terms, {} abscissae, output of length {}",
                self.coeffs.len(),
                two_theta_deg.len(),
                out.len()
            )));
        }
        let x: Vec<f64> = two_theta_deg.iter().map(|&t| self.reduced_x(t)).collect();
        match k {
            0 => out.iter_mut().for_each(|o| *o = 1.0),
            1 => out.copy_from_slice(&x),
            _ => {
                // (T_{n−1}, T_n) rolled forward to n = k − 1, then T_k written into `out`.
                let mut prev = vec![1.0; x.len()];
                let mut cur = x.clone();
                for _ in 2..k {
                    for ((p, c), xi) in prev.iter_mut().zip(cur.iter_mut()).zip(&x) {
                        let next = 2.0 * xi * *c - *p;
                        *p = *c;
                        *c = next;
                    }
                }
                for (((o, p), c), xi) in out.iter_mut().zip(&prev).zip(&cur).zip(&x) {
                    *o = 2.0 * xi * c - p;
                }
            }
        }
        Ok(())
    }

    /// [`ChebyshevBackground::basis_into`] returning a new vector.
    pub fn basis(&self, two_theta_deg: f64) -> Vec<f64> {
        let mut out = vec![0.0; self.coeffs.len()];
        // INVARIANT: `out` has exactly `len()` entries, so basis_into cannot fail.
        if self.basis_into(two_theta_deg, &mut out).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chebyshev_of_cosine_is_cosine_of_multiple() {
        // T_n(cos t) = cos(n t) (A&S 22.3.15).
        for n in 0..12 {
            for t in [0.0, 0.3, 1.1, 2.0, 3.1] {
                let got = chebyshev_t(n, f64::cos(t));
                assert!((got - (n as f64 * t).cos()).abs() < 1e-12, "n {n} t {t}");
            }
        }
        // And through the background's basis and map: range [10, 110], 2θ = 60 + 50 cos t.
        let bg = ChebyshevBackground::new(vec![0.0; 9], 10.0, 110.0).unwrap();
        for t in [0.2, 1.4, 2.9] {
            let b = bg.basis(60.0 + 50.0 * f64::cos(t));
            for (n, v) in b.iter().enumerate() {
                assert!((v - (n as f64 * t).cos()).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn clenshaw_equals_direct_sum() {
        let c = vec![120.0, -35.5, 12.25, -4.0, 2.5, -0.75, 0.3];
        let bg = ChebyshevBackground::new(c.clone(), 5.0, 145.0).unwrap();
        let grid: Vec<f64> = (0..=200).map(|i| -5.0 + 0.8 * i as f64).collect();
        let fast = bg.evaluate(&grid);
        for (&t, &y) in grid.iter().zip(&fast) {
            let x = 2.0 * (t - 5.0) / 140.0 - 1.0;
            let direct: f64 = c.iter().enumerate().map(|(n, cn)| cn * chebyshev_t(n, x)).sum();
            assert!((y - direct).abs() < 1e-9 * direct.abs().max(1.0), "{t}: {y} vs {direct}");
        }
        // Endpoints map to ∓1: T_n(1) = 1, T_n(−1) = (−1)^n.
        let sum: f64 = c.iter().sum();
        let alt: f64 = c.iter().enumerate().map(|(n, v)| if n % 2 == 0 { *v } else { -v }).sum();
        assert!((bg.value(145.0) - sum).abs() < 1e-10);
        assert!((bg.value(5.0) - alt).abs() < 1e-10);
    }

    #[test]
    fn basis_is_the_coefficient_derivative() {
        let c = vec![3.0, 1.0, -2.0, 0.5, 0.25];
        let bg = ChebyshevBackground::new(c.clone(), 20.0, 80.0).unwrap();
        for t in [20.0, 33.3, 57.0, 80.0] {
            let b = bg.basis(t);
            assert_eq!(b.len(), c.len());
            for (n, &bn) in b.iter().enumerate() {
                let h = 1e-3;
                let mut up = bg.clone();
                up.coeffs_mut()[n] += h;
                let mut dn = bg.clone();
                dn.coeffs_mut()[n] -= h;
                let fd = (up.value(t) - dn.value(t)) / (2.0 * h);
                assert!((bn - fd).abs() < 1e-9, "{t} {n}");
            }
        }
    }

    /// The column form equals cos(k·acos x) (the closed form of T_k on [−1, 1]).
    #[test]
    fn basis_columns_are_chebyshev_polynomials() {
        let bg = ChebyshevBackground::new(vec![0.0; 9], 10.0, 90.0).unwrap();
        let grid: Vec<f64> = (0..=80).map(|i| 10.0 + i as f64).collect();
        let mut col = vec![0.0; grid.len()];
        for k in 0..9 {
            bg.basis_column_into(&grid, k, &mut col).unwrap();
            for (t, v) in grid.iter().zip(&col) {
                let x: f64 = (2.0 * (t - 10.0) / 80.0 - 1.0).clamp(-1.0, 1.0);
                assert!((v - (k as f64 * x.acos()).cos()).abs() < 1e-12, "T_{k}({x})");
            }
        }
        assert!(bg.basis_column_into(&grid, 9, &mut col).is_err());
    }

    #[test]
    fn small_cases_and_validation() {
        let empty = ChebyshevBackground::new(vec![], 10.0, 20.0).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.evaluate(&[10.0, 15.0]), vec![0.0, 0.0]);
        assert!(empty.basis(12.0).is_empty());
        let flat = ChebyshevBackground::new(vec![7.5], 10.0, 20.0).unwrap();
        assert_eq!(flat.value(13.0), 7.5);
        let lin = ChebyshevBackground::new(vec![1.0, 2.0], 10.0, 20.0).unwrap();
        assert!((lin.value(17.5) - (1.0 + 2.0 * 0.5)).abs() < 1e-15);
        let mut out = [0.0; 3];
        assert!(lin.evaluate_into(&[1.0, 2.0], &mut out).is_err());
        assert!(lin.basis_into(15.0, &mut out).is_err());
        assert!(ChebyshevBackground::new(vec![1.0], 20.0, 20.0).is_err());
        assert!(ChebyshevBackground::new(vec![1.0], 30.0, 20.0).is_err());
        assert!(ChebyshevBackground::new(vec![1.0], f64::NAN, 20.0).is_err());
        assert!(ChebyshevBackground::new(vec![f64::INFINITY], 10.0, 20.0).is_err());
        // The serde path validates too.
        let spec =
            ChebyshevSpec { coeffs: vec![1.0], two_theta_min_deg: 5.0, two_theta_max_deg: 1.0 };
        assert!(ChebyshevBackground::try_from(spec).is_err());
    }
}
