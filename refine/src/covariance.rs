//! Covariance, esds and correlations of the refined parameters from the weighted Jacobian.
//!
//! # Method
//! Least-squares theory (W. C. Hamilton, *Statistics in Physical Science*, Ronald Press 1964,
//! ch. 4; Prince, *Mathematical Techniques in Crystallography and Materials Science*, 3rd ed.
//! 2004, ch. 6; International Tables Vol. C (2004) §8.1.2): with the weighted Jacobian
//! J_w (N × P, row i multiplied by √w_i) at the minimum and χ²_ν = Σ w r²/(N − P),
//!
//! - normal matrix A = J_wᵀ J_w;
//! - covariance C = A⁻¹ χ²_ν, esd_i = √C_ii, correlation ρ_ij = C_ij/√(C_ii C_jj).
//!
//! The multiplication by χ²_ν (rather than using A⁻¹ alone) follows the convention of
//! Rietveld programs (GSAS-II, FullProf, TOPAS); see Prince & Nicholson in Young (1993) ch. 4.
//! Use the Jacobian of the undamped problem: Levenberg–Marquardt damping is not part of A.
//!
//! # Numerical treatment
//! Parameters can differ in scale by many orders of magnitude (a scale factor 10⁻⁵ next to a
//! cell edge 10 Å), so A is first scaled to unit diagonal, S = D A D with D = diag(1/√A_ii)
//! (S is the correlation form of A; the scaling is exact and leaves C unchanged). S is
//! decomposed S = V Λ Vᵀ (symmetric eigen decomposition); an eigenvalue below
//! `singular_tolerance`·λ_max marks a (near-)null direction, and the parameters with an
//! eigenvector component above `null_component` in magnitude are reported as
//! [`Error::Singular`]. A parameter whose Jacobian column is entirely zero (it does not change
//! the pattern) is reported the same way before scaling. Otherwise A⁻¹ = D V Λ⁻¹ Vᵀ D.

use crate::error::{Error, Result};
use nalgebra::{DMatrix, SymmetricEigen};
use serde::{Serialize, Serializer};

/// Thresholds of the covariance analysis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CovarianceOptions {
    /// Eigenvalues of the unit-diagonal normal matrix below this fraction of the largest are
    /// treated as zero (default 1e-10, i.e. condition number 10¹⁰).
    pub singular_tolerance: f64,
    /// Eigenvector components above this magnitude name a parameter of a null direction
    /// (default 0.3).
    pub null_component: f64,
    /// |ρ| above this is reported as a high correlation (default 0.9).
    pub high_correlation: f64,
}

impl Default for CovarianceOptions {
    fn default() -> Self {
        CovarianceOptions { singular_tolerance: 1e-10, null_component: 0.3, high_correlation: 0.9 }
    }
}

/// A pair of parameters whose correlation exceeds [`CovarianceOptions::high_correlation`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrelatedPair {
    /// First parameter (lower index).
    pub a: String,
    /// Second parameter.
    pub b: String,
    /// Correlation coefficient ρ_ab in [−1, 1].
    pub rho: f64,
}

/// Covariance of the refined parameters and what follows from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Covariance {
    /// Parameter names, in column order of the Jacobian.
    pub names: Vec<String>,
    /// Covariance matrix C = A⁻¹ χ²_ν (P × P, units of pᵢ·pⱼ), serialised as rows.
    #[serde(serialize_with = "serialize_rows")]
    pub matrix: DMatrix<f64>,
    /// esd_i = √C_ii, same units as parameter i.
    pub esd: Vec<f64>,
    /// Correlation matrix ρ (P × P, unit diagonal, symmetric), serialised as rows.
    #[serde(serialize_with = "serialize_rows")]
    pub correlation: DMatrix<f64>,
    /// Pairs with |ρ| above the threshold, largest |ρ| first.
    pub high_correlations: Vec<CorrelatedPair>,
    /// True when `high_correlations` is not empty.
    pub warning: bool,
    /// χ²_ν used to scale A⁻¹.
    pub chi2_reduced: f64,
    /// Condition number λ_max/λ_min of the unit-diagonal normal matrix.
    pub condition_number: f64,
}

/// Writes a matrix as a list of rows (JSON `[[…], […]]`).
fn serialize_rows<S: Serializer>(m: &DMatrix<f64>, s: S) -> std::result::Result<S::Ok, S::Error> {
    let rows: Vec<Vec<f64>> = (0..m.nrows()).map(|i| m.row(i).iter().copied().collect()).collect();
    rows.serialize(s)
}

impl Covariance {
    /// From the weighted Jacobian J_w (N × P: ∂r_i/∂p_j with r_i = √w_i (y_o,i − y_c,i); the
    /// sign does not matter), the minimised χ² = Σ w r² (`chi2_sum`) and the number of
    /// observations N with w > 0 (rows of zero weight may be present; they add nothing to A).
    ///
    /// Errors: [`Error::InvalidInput`] (names/columns mismatch, N ≤ P, χ² < 0);
    /// [`Error::NonFinite`]; [`Error::Singular`] naming the parameters of a null direction.
    pub fn from_jacobian(
        jw: &DMatrix<f64>,
        chi2_sum: f64,
        n_points: usize,
        names: &[String],
        options: &CovarianceOptions,
    ) -> Result<Self> {
        if let Some(k) = jw.iter().position(|x| !x.is_finite()) {
            let (row, col) = (k % jw.nrows(), k / jw.nrows());
            let name = names.get(col).map_or("?", String::as_str);
            return Err(Error::NonFinite {
                what: "weighted Jacobian".to_string(),
                at: format!("row {row}, column {col} ({name})"),
            });
        }
        let p = jw.ncols();
        if n_points <= p {
            return Err(Error::InvalidInput(format!(
                "{n_points} observations for {p} parameters: no degrees of freedom"
            )));
        }
        if !(chi2_sum.is_finite() && chi2_sum >= 0.0) {
            return Err(Error::InvalidInput(format!("χ² = {chi2_sum} must be finite and ≥ 0")));
        }
        let a = normal_matrix(jw);
        Self::from_normal_matrix(&a, chi2_sum / (n_points - p) as f64, names, options)
    }

    /// From the normal matrix A = J_wᵀ J_w (P × P, symmetric) and χ²_ν directly (for callers
    /// that accumulate A without storing J_w).
    ///
    /// Errors as [`Covariance::from_jacobian`].
    pub fn from_normal_matrix(
        a: &DMatrix<f64>,
        chi2_reduced: f64,
        names: &[String],
        options: &CovarianceOptions,
    ) -> Result<Self> {
        let p = a.ncols();
        if a.nrows() != p || names.len() != p {
            return Err(Error::InvalidInput(format!(
                "normal matrix is {}×{} for {} parameter names",
                a.nrows(),
                p,
                names.len()
            )));
        }
        if p == 0 {
            return Err(Error::InvalidInput("no refined parameters".to_string()));
        }
        if !(chi2_reduced.is_finite() && chi2_reduced >= 0.0) {
            return Err(Error::InvalidInput(format!(
                "χ²ν = {chi2_reduced} must be finite and ≥ 0"
            )));
        }
        if let Some(k) = a.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                what: "normal matrix".to_string(),
                at: format!("row {}, column {}", k % p, k / p),
            });
        }
        // Parameters with no effect on the pattern: zero diagonal (a zero Jacobian column).
        let dead: Vec<String> =
            (0..p).filter(|&i| a[(i, i)] <= 0.0).map(|i| names[i].clone()).collect();
        if !dead.is_empty() {
            return Err(Error::Singular { params: dead });
        }
        let d: Vec<f64> = (0..p).map(|i| 1.0 / a[(i, i)].sqrt()).collect();
        // Unit-diagonal form, symmetrised against round-off.
        let s = DMatrix::from_fn(p, p, |i, j| {
            if i == j {
                1.0
            } else {
                0.5 * (a[(i, j)] + a[(j, i)]) * d[i] * d[j]
            }
        });
        let eigen =
            SymmetricEigen::try_new(s, f64::EPSILON, 1000 * p.max(10)).ok_or_else(|| {
                Error::InvalidInput(
                    "eigen decomposition of the normal matrix did not converge".into(),
                )
            })?;
        let lambda_max = eigen.eigenvalues.max();
        let lambda_min = eigen.eigenvalues.min();
        let cutoff = options.singular_tolerance * lambda_max;
        let null: Vec<usize> = (0..p).filter(|&k| eigen.eigenvalues[k] <= cutoff).collect();
        if !null.is_empty() {
            return Err(Error::Singular { params: null_parameters(&eigen, &null, names, options) });
        }
        // S⁻¹ = V Λ⁻¹ Vᵀ
        let v = &eigen.eigenvectors;
        let inv_lambda = eigen.eigenvalues.map(|l| 1.0 / l);
        let s_inv = v * DMatrix::from_diagonal(&inv_lambda) * v.transpose();
        // C = D S⁻¹ D χ²ν, symmetrised; ρ from S⁻¹ (the D's cancel).
        let matrix = DMatrix::from_fn(p, p, |i, j| {
            0.5 * (s_inv[(i, j)] + s_inv[(j, i)]) * d[i] * d[j] * chi2_reduced
        });
        let esd: Vec<f64> = (0..p).map(|i| matrix[(i, i)].sqrt()).collect();
        let correlation = DMatrix::from_fn(p, p, |i, j| {
            if i == j {
                1.0
            } else {
                let r =
                    0.5 * (s_inv[(i, j)] + s_inv[(j, i)]) / (s_inv[(i, i)] * s_inv[(j, j)]).sqrt();
                r.clamp(-1.0, 1.0)
            }
        });
        let mut high_correlations = Vec::new();
        for i in 0..p {
            for j in i + 1..p {
                let rho = correlation[(i, j)];
                if rho.abs() > options.high_correlation {
                    high_correlations.push(CorrelatedPair {
                        a: names[i].clone(),
                        b: names[j].clone(),
                        rho,
                    });
                }
            }
        }
        high_correlations.sort_by(|x, y| y.rho.abs().total_cmp(&x.rho.abs()));
        Ok(Covariance {
            names: names.to_vec(),
            matrix,
            esd,
            correlation,
            warning: !high_correlations.is_empty(),
            high_correlations,
            chi2_reduced,
            condition_number: lambda_max / lambda_min,
        })
    }

    /// Column index of a parameter by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// esd of a parameter by name.
    pub fn esd_of(&self, name: &str) -> Option<f64> {
        self.index_of(name).map(|i| self.esd[i])
    }

    /// Correlation coefficient of two parameters by name.
    pub fn correlation_between(&self, a: &str, b: &str) -> Option<f64> {
        Some(self.correlation[(self.index_of(a)?, self.index_of(b)?)])
    }

    /// The covariance of derived variables q_k = p_(idx_k) (or constants where `None`):
    /// entry (k, l) is C(idx_k, idx_l), zero for a constant. An index may repeat, which
    /// expresses an equality constraint: for a cubic cell, `[Some(a), Some(a), Some(a), None,
    /// None, None]` is the covariance of (a, b, c, α, β, γ) with b ≡ c ≡ a, i.e. T C Tᵀ with
    /// T the constraint matrix.
    ///
    /// Errors: [`Error::InvalidInput`] for an index ≥ P.
    pub fn block(&self, idx: &[Option<usize>]) -> Result<DMatrix<f64>> {
        let p = self.names.len();
        if let Some(bad) = idx.iter().flatten().find(|&&i| i >= p) {
            return Err(Error::InvalidInput(format!("parameter index {bad} ≥ {p}")));
        }
        Ok(DMatrix::from_fn(idx.len(), idx.len(), |k, l| match (idx[k], idx[l]) {
            (Some(i), Some(j)) => self.matrix[(i, j)],
            _ => 0.0,
        }))
    }

    /// As [`Covariance::block`] with parameter names (`None` = constant).
    ///
    /// Errors: [`Error::InvalidInput`] naming an unknown parameter.
    pub fn block_by_name(&self, names: &[Option<&str>]) -> Result<DMatrix<f64>> {
        let idx = names
            .iter()
            .map(|n| match n {
                None => Ok(None),
                Some(name) => self
                    .index_of(name)
                    .map(Some)
                    .ok_or_else(|| Error::InvalidInput(format!("no refined parameter '{name}'"))),
            })
            .collect::<Result<Vec<_>>>()?;
        self.block(&idx)
    }
}

/// Parameters with a large component in any null eigenvector (at least the largest one of
/// each, so that a null direction spread over many parameters still names someone).
fn null_parameters(
    eigen: &SymmetricEigen<f64, nalgebra::Dyn>,
    null: &[usize],
    names: &[String],
    options: &CovarianceOptions,
) -> Vec<String> {
    let p = names.len();
    let mut flagged = vec![false; p];
    for &k in null {
        let v = eigen.eigenvectors.column(k);
        let mut largest = 0;
        for i in 0..p {
            if v[i].abs() > options.null_component {
                flagged[i] = true;
            }
            if v[i].abs() > v[largest].abs() {
                largest = i;
            }
        }
        flagged[largest] = true;
    }
    (0..p).filter(|&i| flagged[i]).map(|i| names[i].clone()).collect()
}

/// R·v for the AR(1) correlation matrix R_ik = ρ^|i−k| (unit diagonal), in O(N): a forward
/// and a backward recursive sum, f_i = v_i + ρ f_{i−1} and g_i = v_i + ρ g_{i+1}, give
/// R v = f + g − v.
pub(crate) fn ar1_apply(v: &[f64], rho: f64) -> Vec<f64> {
    let mut out = vec![0.0; v.len()];
    let mut f = 0.0;
    for (o, &x) in out.iter_mut().zip(v) {
        f = x + rho * f;
        *o = f - x;
    }
    let mut g = 0.0;
    for (o, &x) in out.iter_mut().zip(v).rev() {
        g = x + rho * g;
        *o += g;
    }
    out
}

impl Covariance {
    /// The covariance allowing for serially correlated residuals: the least-squares
    /// "sandwich" C_s = χ²_ν·A⁻¹ (J_wᵀ R J_w) A⁻¹ = C (J_wᵀ R J_w) C / χ²_ν, with R the
    /// AR(1) correlation ρ^|i−k| between points i and k of the weighted residuals (P × P).
    /// For ρ = 0 it is C itself.
    ///
    /// Source: the covariance of a least-squares estimate under correlated errors, Cov(β̂) =
    /// (XᵀX)⁻¹ Xᵀ Σ X (XᵀX)⁻¹ (G. A. F. Seber & C. J. Wild, *Nonlinear Regression*, Wiley
    /// 1989, §2.1.4 and ch. 6, "autocorrelated errors"), with the AR(1) ρ estimated from the
    /// Durbin–Watson d as ρ = 1 − d/2 (Durbin & Watson 1950). Unlike one global factor (such as
    /// FullProf's SCOR), it inflates each esd by what its own Jacobian column feels: about
    /// √((1 + ρ)/(1 − ρ)) for smooth columns (scale, B_iso), less for the fine structure of
    /// positions and widths (test `serial_esds_match_the_spread_under_ar1_noise`).
    pub fn serial_corrected(&self, jw: &DMatrix<f64>, rho: f64) -> Result<DMatrix<f64>> {
        let p = jw.ncols();
        if p != self.names.len() {
            return Err(Error::InvalidInput(format!(
                "Jacobian has {p} columns for {} parameters",
                self.names.len()
            )));
        }
        if !(rho.is_finite() && (0.0..1.0).contains(&rho)) {
            return Err(Error::InvalidInput(format!("AR(1) ρ = {rho} must lie in [0, 1)")));
        }
        let m = jw.nrows().max(1);
        let columns: Vec<&[f64]> = jw.as_slice().chunks_exact(m).collect();
        let filtered: Vec<Vec<f64>> = columns.iter().map(|c| ar1_apply(c, rho)).collect();
        let mut b = DMatrix::zeros(p, p);
        for i in 0..p {
            for k in i..p {
                let v = dot(columns[i], &filtered[k]);
                b[(i, k)] = v;
                b[(k, i)] = v;
            }
        }
        let chi2 = self.chi2_reduced;
        if chi2.is_nan() || chi2 <= 0.0 {
            return Ok(self.matrix.clone());
        }
        Ok(&self.matrix * b * &self.matrix / chi2)
    }
}

/// Σ aᵢbᵢ with eight independent partial sums, so that the loop vectorises (a single running
/// sum cannot be reordered by the compiler).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// The normal matrix JᵀJ of a column-major J (symmetric; each entry one vectorised dot
/// product of two contiguous columns, the upper triangle mirrored).
pub(crate) fn normal_matrix(j: &DMatrix<f64>) -> DMatrix<f64> {
    let n = j.ncols();
    let m = j.nrows().max(1);
    let columns: Vec<&[f64]> = j.as_slice().chunks_exact(m).collect();
    let mut g = DMatrix::zeros(n, n);
    for a in 0..n {
        for b in a..n {
            let v = dot(columns[a], columns[b]);
            g[(a, b)] = v;
            g[(b, a)] = v;
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn ar1_filter_is_the_correlation_matrix_product() {
        let v = [0.3, -1.0, 2.0, 0.5, 0.0, -0.7];
        let rho: f64 = 0.6;
        let got = ar1_apply(&v, rho);
        for (i, g) in got.iter().enumerate() {
            let want: f64 =
                v.iter().enumerate().map(|(k, x)| rho.powi((i as i32 - k as i32).abs()) * x).sum();
            assert_relative_eq!(*g, want, epsilon = 1e-14);
        }
        assert_eq!(ar1_apply(&v, 0.0), v.to_vec());
    }

    #[test]
    fn serial_correction_is_the_identity_at_rho_zero_and_grows_with_rho() {
        let jw = DMatrix::from_fn(50, 2, |i, j| if j == 0 { 1.0 } else { (i as f64 * 0.3).sin() });
        let names = names(&["a", "b"]);
        let c = Covariance::from_jacobian(&jw, 48.0, 50, &names, &CovarianceOptions::default())
            .unwrap();
        let s0 = c.serial_corrected(&jw, 0.0).unwrap();
        assert!((&s0 - &c.matrix).amax() < 1e-12 * c.matrix.amax());
        // A constant column (a mean) under AR(1): variance × (1 + ρ)/(1 − ρ) for long series,
        // less the end correction 2ρ(1 − ρ^N)/(N(1 − ρ)²).
        let rho: f64 = 0.5;
        let s = c.serial_corrected(&jw, rho).unwrap();
        let n = 50.0;
        let exact =
            (1.0 + rho) / (1.0 - rho) - 2.0 * rho * (1.0 - rho.powf(n)) / (n * (1.0 - rho).powi(2));
        let ratio = s[(0, 0)] / c.matrix[(0, 0)];
        assert!((ratio / exact - 1.0).abs() < 0.05, "{ratio} vs {exact}");
        assert!(c.serial_corrected(&jw, 1.0).is_err());
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// Straight line y = m x + b with known σ_i: J_w rows are (x_i/σ_i, 1/σ_i).
    fn line(xs: &[f64], sigma: &[f64]) -> DMatrix<f64> {
        DMatrix::from_fn(xs.len(), 2, |i, j| if j == 0 { xs[i] / sigma[i] } else { 1.0 / sigma[i] })
    }

    #[test]
    fn straight_line_matches_textbook_formulas() {
        // Bevington & Robinson, Data Reduction and Error Analysis (3rd ed.) eqs. 6.21–6.22 and
        // the covariance σ²_mb = −S_x/Δ: with S = Σ1/σ², S_x = Σx/σ², S_xx = Σx²/σ²,
        // Δ = S S_xx − S_x², var(m) = S/Δ, var(b) = S_xx/Δ, cov(m, b) = −S_x/Δ (× χ²ν here).
        let xs = [0.0, 1.0, 2.0, 3.0, 4.0, 5.5, 7.0];
        let sig = [0.5, 0.4, 0.6, 0.3, 0.5, 0.7, 0.45];
        let jw = line(&xs, &sig);
        let (s, sx, sxx) = xs.iter().zip(&sig).fold((0.0, 0.0, 0.0), |(a, b, c), (x, s)| {
            let w = 1.0 / (s * s);
            (a + w, b + w * x, c + w * x * x)
        });
        let delta = s * sxx - sx * sx;
        let chi2_sum = 7.5; // any value; χ²ν = 7.5/5 = 1.5
        let cov = Covariance::from_jacobian(
            &jw,
            chi2_sum,
            xs.len(),
            &names(&["slope", "intercept"]),
            &CovarianceOptions::default(),
        )
        .unwrap();
        let k = 1.5;
        assert_relative_eq!(cov.matrix[(0, 0)], k * s / delta, max_relative = 1e-12);
        assert_relative_eq!(cov.matrix[(1, 1)], k * sxx / delta, max_relative = 1e-12);
        assert_relative_eq!(cov.matrix[(0, 1)], -k * sx / delta, max_relative = 1e-12);
        assert_relative_eq!(
            cov.esd_of("slope").unwrap(),
            (k * s / delta).sqrt(),
            max_relative = 1e-12
        );
        assert_relative_eq!(
            cov.correlation_between("slope", "intercept").unwrap(),
            -sx / (s * sxx).sqrt(),
            max_relative = 1e-12
        );
    }

    #[test]
    fn predicted_esds_match_monte_carlo_scatter() {
        // Repeated straight-line fits to data with Gaussian noise of known σ (deterministic
        // LCG + Box–Muller): the sample variance of the fitted slope over many trials must
        // agree with the mean predicted C_00 = χ²ν·(A⁻¹)_00 (Hamilton 1964 ch. 4).
        let xs: Vec<f64> = (0..20).map(|i| f64::from(i) * 0.5).collect();
        let sigma = 0.3;
        let jw = line(&xs, &vec![sigma; xs.len()]);
        let a_inv = jw.tr_mul(&jw).try_inverse().unwrap();
        let mut state: u64 = 12345;
        let mut uniform = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let trials = 4000;
        let (mut slopes, mut predicted) = (Vec::new(), 0.0);
        for _ in 0..trials {
            let y: Vec<f64> = xs
                .iter()
                .map(|x| {
                    let g = (-2.0 * uniform().ln()).sqrt()
                        * (2.0 * std::f64::consts::PI * uniform()).cos();
                    1.5 * x - 2.0 + sigma * g
                })
                .collect();
            let yw = nalgebra::DVector::from_iterator(y.len(), y.iter().map(|v| v / sigma));
            let p = &a_inv * jw.tr_mul(&yw);
            let r = &yw - &jw * &p;
            let cov = Covariance::from_jacobian(
                &jw,
                r.norm_squared(),
                xs.len(),
                &names(&["m", "b"]),
                &CovarianceOptions::default(),
            )
            .unwrap();
            predicted += cov.matrix[(0, 0)] / f64::from(trials);
            slopes.push(p[0]);
        }
        let mean = slopes.iter().sum::<f64>() / f64::from(trials);
        let var = slopes.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / f64::from(trials - 1);
        // Relative sd of a variance estimate from 4000 samples ≈ √(2/4000) = 2.2 %; allow 10 %.
        assert!((var / predicted - 1.0).abs() < 0.1, "MC {var} vs predicted {predicted}");
        assert!((mean - 1.5).abs() < 5.0 * (var / f64::from(trials)).sqrt());
    }

    #[test]
    fn unit_weights_line_var_slope() {
        // Equally spaced x = 0..n−1, σ = 1: var(m) = 12/(n(n²−1)) (× χ²ν = 1 here).
        let n = 11;
        let xs: Vec<f64> = (0..n).map(f64::from).collect();
        let jw = line(&xs, &vec![1.0; xs.len()]);
        let cov = Covariance::from_jacobian(
            &jw,
            f64::from(n - 2),
            xs.len(),
            &names(&["m", "b"]),
            &CovarianceOptions::default(),
        )
        .unwrap();
        let nf = f64::from(n);
        assert_relative_eq!(
            cov.matrix[(0, 0)],
            12.0 / (nf * (nf * nf - 1.0)),
            max_relative = 1e-12
        );
        assert_eq!(cov.chi2_reduced, 1.0);
    }

    #[test]
    fn scaling_invariance_with_wildly_different_units() {
        // Rescaling parameter j by s_j (J column × s_j) must scale esd_j by 1/s_j and leave ρ
        // unchanged: the unit-diagonal scaling makes this exact even for s = 1e-8 … 1e8.
        let xs: Vec<f64> = (0..30).map(|i| f64::from(i) * 0.1).collect();
        let base = DMatrix::from_fn(30, 3, |i, j| xs[i].powi(j as i32) + 0.01 * (i * j) as f64);
        let nm = names(&["p0", "p1", "p2"]);
        let opts = CovarianceOptions::default();
        let c0 = Covariance::from_jacobian(&base, 27.0, 30, &nm, &opts).unwrap();
        let sc = [1e-8, 1.0, 1e8];
        let scaled = DMatrix::from_fn(30, 3, |i, j| base[(i, j)] * sc[j]);
        let c1 = Covariance::from_jacobian(&scaled, 27.0, 30, &nm, &opts).unwrap();
        for (j, s) in sc.iter().enumerate() {
            assert_relative_eq!(c1.esd[j] * s, c0.esd[j], max_relative = 1e-9);
            for k in 0..3 {
                assert_relative_eq!(c1.correlation[(j, k)], c0.correlation[(j, k)], epsilon = 1e-9);
            }
        }
    }

    #[test]
    fn correlation_symmetric_unit_diagonal_and_inverse_of_a() {
        let jw = DMatrix::from_fn(40, 4, |i, j| {
            ((i * (j + 3) + j) as f64 * 0.37).sin() + 0.1 * j as f64
        });
        let nm = names(&["a", "b", "c", "d"]);
        let cov =
            Covariance::from_jacobian(&jw, 36.0, 40, &nm, &CovarianceOptions::default()).unwrap();
        for i in 0..4 {
            assert_eq!(cov.correlation[(i, i)], 1.0);
            for j in 0..4 {
                assert_eq!(cov.correlation[(i, j)], cov.correlation[(j, i)]);
                assert!(cov.correlation[(i, j)].abs() <= 1.0);
            }
        }
        // χ²ν = 1: C·A = I (independent check by nalgebra's LU inverse).
        let a = jw.tr_mul(&jw);
        let lu_inv = a.clone().try_inverse().unwrap();
        assert_relative_eq!(cov.matrix, lu_inv, max_relative = 1e-9, epsilon = 1e-12);
        assert_relative_eq!(&cov.matrix * &a, DMatrix::identity(4, 4), epsilon = 1e-9);
    }

    #[test]
    fn collinear_pair_is_named() {
        // Columns 1 and 2 are exactly proportional (zero shift vs a constant background,
        // say): the null direction lies in them, column 0 is independent.
        let n = 25;
        let jw = DMatrix::from_fn(n, 3, |i, j| {
            let x = i as f64 * 0.2;
            match j {
                0 => x * x,
                1 => x.cos() + 2.0,
                _ => -3.0 * (x.cos() + 2.0),
            }
        });
        let err = Covariance::from_jacobian(
            &jw,
            1.0,
            n,
            &names(&["scale", "zero", "bkg0"]),
            &CovarianceOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err, Error::Singular { params: names(&["zero", "bkg0"]) });
    }

    #[test]
    fn nearly_collinear_pair_is_named_but_independent_one_passes() {
        let n = 25;
        let make = |eps: f64| {
            DMatrix::from_fn(n, 3, |i, j| {
                let x = i as f64 * 0.2;
                match j {
                    0 => x * x,
                    1 => x.cos() + 2.0,
                    _ => x.cos() + 2.0 + eps * x.sin(),
                }
            })
        };
        let nm = names(&["p", "q", "r"]);
        let opts = CovarianceOptions::default();
        // ε = 1e-7: smallest scaled eigenvalue ~ ε² ≪ 1e-10 → singular.
        let err = Covariance::from_jacobian(&make(1e-7), 1.0, n, &nm, &opts).unwrap_err();
        assert_eq!(err, Error::Singular { params: names(&["q", "r"]) });
        // ε = 0.05: resolvable, but the pair is flagged as highly correlated.
        let cov = Covariance::from_jacobian(&make(0.05), 1.0, n, &nm, &opts).unwrap();
        assert!(cov.warning);
        assert_eq!(cov.high_correlations[0].a, "q");
        assert_eq!(cov.high_correlations[0].b, "r");
        assert!(cov.high_correlations[0].rho < -0.9);
        assert!(cov.condition_number > 1e3);
    }

    #[test]
    fn zero_column_is_named() {
        let jw = DMatrix::from_fn(10, 3, |i, j| if j == 1 { 0.0 } else { (i + j) as f64 + 1.0 });
        let err = Covariance::from_jacobian(
            &jw,
            1.0,
            10,
            &names(&["a", "biso_unused", "c"]),
            &CovarianceOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err, Error::Singular { params: names(&["biso_unused"]) });
    }

    #[test]
    fn input_errors() {
        let jw = DMatrix::from_element(3, 2, 1.0);
        let opts = CovarianceOptions::default();
        assert!(matches!(
            Covariance::from_jacobian(&jw, 1.0, 2, &names(&["a", "b"]), &opts),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            Covariance::from_jacobian(&jw, 1.0, 3, &names(&["a"]), &opts),
            Err(Error::InvalidInput(_))
        ));
        let mut bad = DMatrix::from_fn(4, 2, |i, j| (i + 2 * j) as f64);
        bad[(2, 1)] = f64::NAN;
        let err = Covariance::from_jacobian(&bad, 1.0, 4, &names(&["a", "b"]), &opts).unwrap_err();
        assert_eq!(
            err,
            Error::NonFinite { what: "weighted Jacobian".into(), at: "row 2, column 1 (b)".into() }
        );
    }

    #[test]
    fn blocks_express_equality_constraints() {
        let xs = [0.0, 1.0, 2.0, 3.0, 4.0];
        let cov = Covariance::from_jacobian(
            &line(&xs, &[1.0; 5]),
            3.0,
            5,
            &names(&["m", "b"]),
            &CovarianceOptions::default(),
        )
        .unwrap();
        let blk = cov.block_by_name(&[Some("m"), Some("m"), None, Some("b")]).unwrap();
        assert_eq!(blk[(0, 1)], cov.matrix[(0, 0)]);
        assert_eq!(blk[(2, 2)], 0.0);
        assert_eq!(blk[(0, 3)], cov.matrix[(0, 1)]);
        assert!(cov.block_by_name(&[Some("nope")]).is_err());
        assert!(cov.block(&[Some(2)]).is_err());
        let json = serde_json::to_value(&cov).unwrap();
        assert_eq!(json["matrix"].as_array().unwrap().len(), 2);
        assert_eq!(json["correlation"][0][0], 1.0);
    }
}
