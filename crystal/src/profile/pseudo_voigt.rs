//! The pseudo-Voigt kernel: a unit-area mixture η·L + (1 − η)·G of a Lorentzian and a
//! Gaussian sharing one FWHM, with all per-peak constants precomputed.
//!
//! Source: the pseudo-Voigt approximation of the Voigt function as used by Thompson, Cox &
//! Hastings (1987), J. Appl. Cryst. 20, 79–83, eqs. (1)–(3); Gaussian and Lorentzian
//! normalised to unit area (International Tables for Crystallography Vol. C, §2.3.5.1).
//! Units: positions and FWHM in degrees 2θ; values in 1/degree (unit area over 2θ in degrees).

use super::{PeakShape, ProfilePoint};
use crate::error::{Error, Result};
use std::f64::consts::{LN_2, PI};
use std::ops::Range;

/// 4 ln 2: the Gaussian exponent coefficient for a FWHM-parametrised Gaussian,
/// G(z) = (2/H)·√(ln2/π)·exp(−4 ln2 z²/H²).
pub(crate) const FOUR_LN2: f64 = 4.0 * LN_2;

/// Beyond |z| > `GAUSS_CORE_FWHM`·H the Gaussian factor exp(−4 ln2 z²/H²) is below
/// exp(−40.04) ≈ 4·10⁻¹⁸ of its peak value, so kernels drop the Gaussian term there (its
/// contribution is below the rounding error of the Gaussian peak height).
pub(crate) const GAUSS_CORE_FWHM: f64 = 3.8;

/// A pseudo-Voigt η·L(z) + (1 − η)·G(z) in the offset z = 2θ − 2θ₀ (degrees), both components
/// with FWHM `fwhm_deg` and unit area, constants precomputed for the hot loops.
///
/// Formulas (TCH 1987 eqs. 1–3; unit area in degrees 2θ):
/// G(z) = (2/H)·√(ln2/π)·exp(−4 ln2 z²/H²), L(z) = (2/(πH)) / (1 + 4z²/H²).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PseudoVoigt {
    fwhm: f64,
    eta: f64,
    inv_fwhm: f64,
    /// (1 − η)·(2/H)·√(ln2/π): Gaussian amplitude.
    g_amp: f64,
    /// 4 ln2 / H².
    g_k: f64,
    /// η·2/(πH): Lorentzian amplitude.
    l_amp: f64,
    /// 4 / H².
    l_k: f64,
    /// Beyond this |z| the Gaussian term is dropped (`GAUSS_CORE_FWHM`·H).
    core: f64,
}

/// A pseudo-Voigt value and its partial derivatives, from one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PvPartials {
    /// Profile value (1/degree).
    pub value: f64,
    /// ∂value/∂z, z = 2θ − 2θ₀ in degrees (1/degree²).
    pub d_z: f64,
    /// ∂value/∂H at fixed η (1/degree²).
    pub d_fwhm: f64,
    /// ∂value/∂η at fixed H (1/degree): L(z) − G(z).
    pub d_eta: f64,
}

impl PseudoVoigt {
    /// Builds the kernel. The caller guarantees `fwhm_deg > 0` (finite) and `0 ≤ eta ≤ 1`;
    /// the public constructors (`TchPseudoVoigt::new`, `FcjTch::new`) validate this.
    pub(crate) fn new_unchecked(fwhm_deg: f64, eta: f64) -> Self {
        let inv = 1.0 / fwhm_deg;
        let gauss_norm = 2.0 * (LN_2 / PI).sqrt() * inv;
        let lor_norm = 2.0 / PI * inv;
        Self {
            fwhm: fwhm_deg,
            eta,
            inv_fwhm: inv,
            g_amp: (1.0 - eta) * gauss_norm,
            g_k: FOUR_LN2 * inv * inv,
            l_amp: eta * lor_norm,
            l_k: 4.0 * inv * inv,
            core: GAUSS_CORE_FWHM * fwhm_deg,
        }
    }

    /// FWHM H in degrees.
    pub fn fwhm(&self) -> f64 {
        self.fwhm
    }

    /// Mixing parameter η (0 = Gaussian, 1 = Lorentzian).
    pub fn eta(&self) -> f64 {
        self.eta
    }

    /// Half-width of the region where the Gaussian term is evaluated (degrees).
    pub(crate) fn gauss_core(&self) -> f64 {
        self.core
    }

    /// Peak height P(0) in 1/degree.
    pub fn peak_height(&self) -> f64 {
        self.g_amp + self.l_amp
    }

    /// Value at offset z (degrees from the centre).
    #[inline]
    pub fn value(&self, z: f64) -> f64 {
        let z2 = z * z;
        let lor = self.l_amp / (1.0 + self.l_k * z2);
        if z.abs() <= self.core {
            lor + self.g_amp * (-self.g_k * z2).exp()
        } else {
            lor
        }
    }

    /// Lorentzian term only, valid where |z| > the Gaussian core.
    #[inline(always)]
    pub(crate) fn lorentz_tail(&self, z: f64) -> f64 {
        self.l_amp / (1.0 + self.l_k * z * z)
    }

    /// Both terms (no core test), for use inside the Gaussian core.
    #[inline(always)]
    pub(crate) fn full(&self, z: f64) -> f64 {
        let z2 = z * z;
        self.l_amp / (1.0 + self.l_k * z2) + self.g_amp * (-self.g_k * z2).exp()
    }

    /// 4/H² × `var`: the dimensionless second-moment factor κ of [`Self::lorentz_smeared`].
    #[inline]
    pub(crate) fn smear_factor(&self, var: f64) -> f64 {
        self.l_k * var
    }

    /// Lorentzian term averaged over a distribution of shifts with mean 0 and variance V,
    /// to second order: η·[L(u) + ½V·L″(u)] = η·L(u)·(1 + κ(3s² − 1)/(1 + s²)²) with
    /// s = 2u/H and `kappa` κ = 4V/H² ([`Self::smear_factor`]). Valid where |u| is beyond the
    /// Gaussian core of every shift (the Gaussian term is dropped). One division per point.
    ///
    /// Source: second-order Taylor expansion of the Lorentzian of TCH 1987 (J. Appl. Cryst.
    /// 20, 79, eq. 2) about the weight centroid; L″(u) = (2/(πH))·(4/H²)·(6s² − 2)/(1 + s²)³.
    #[inline(always)]
    pub(crate) fn lorentz_smeared(&self, u: f64, kappa: f64) -> f64 {
        let s2 = self.l_k * u * u;
        let g = 1.0 / (1.0 + s2);
        self.l_amp * g * (1.0 + kappa * (3.0 * s2 - 1.0) * g * g)
    }

    /// [`Self::lorentz_smeared`] with its partial derivatives: returns the partials (value,
    /// ∂/∂u, ∂/∂H at fixed η and V, ∂/∂η) and ∂value/∂V (1/degree³), for shift variance `var`
    /// (degrees²).
    #[inline]
    pub(crate) fn lorentz_smeared_partials(&self, u: f64, var: f64) -> (PvPartials, f64) {
        let inv_h = self.inv_fwhm;
        let unit = (2.0 / PI) * inv_h; // unit-area Lorentzian amplitude 2/(πH)
        let kappa = self.l_k * var;
        let s = 2.0 * u * inv_h;
        let s2 = s * s;
        let g = 1.0 / (1.0 + s2);
        let g2 = g * g;
        // q = ½g″(s) = (3s² − 1)g³; g′ = −2s g², q′ = ½g‴ = 12s(1 − s²)g⁴.
        let q = (3.0 * s2 - 1.0) * g2 * g;
        let dg_ds = -2.0 * s * g2;
        let dq_ds = 12.0 * s * (1.0 - s2) * g2 * g2;
        let t_unit = unit * (g + kappa * q);
        // ds/du = 2/H; ∂s/∂H = −s/H, ∂(2/(πH))/∂H = −(2/(πH))/H, ∂κ/∂H = −2κ/H.
        let dt_du = unit * 2.0 * inv_h * (dg_ds + kappa * dq_ds);
        let dt_dh = -t_unit * inv_h
            + unit * ((dg_ds + kappa * dq_ds) * (-s * inv_h) - 2.0 * kappa * inv_h * q);
        let eta = self.eta;
        (
            PvPartials {
                value: eta * t_unit,
                d_z: eta * dt_du,
                d_fwhm: eta * dt_dh,
                d_eta: t_unit,
            },
            eta * unit * self.l_k * q,
        )
    }

    /// Value and partial derivatives with respect to z, H and η (TCH 1987 eqs. 1–3
    /// differentiated analytically).
    #[inline]
    pub fn partials(&self, z: f64) -> PvPartials {
        let z2 = z * z;
        let inv_h = self.inv_fwhm;
        // Lorentzian part: L = (2/(πH))/(1 + 4z²/H²); with D = 1 + l_k z²:
        // ∂L/∂z = −2 l_k z L / D, ∂L/∂H = L·(−1/H + 2 l_k z²/(H D)).
        let d = 1.0 + self.l_k * z2;
        let inv_d = 1.0 / d;
        let lor_unit = (2.0 / PI) * inv_h * inv_d; // unit-area Lorentzian
        let lor_dz = -2.0 * self.l_k * z * inv_d * lor_unit;
        let lor_dh = lor_unit * inv_h * (-1.0 + 2.0 * self.l_k * z2 * inv_d);
        // Gaussian part: G = (2/H)√(ln2/π) e^{−g_k z²};
        // ∂G/∂z = −2 g_k z G, ∂G/∂H = G·(−1/H + 2 g_k z²/H).
        let (gau_unit, gau_dz, gau_dh) = if z.abs() <= self.core {
            let g = 2.0 * (LN_2 / PI).sqrt() * inv_h * (-self.g_k * z2).exp();
            (g, -2.0 * self.g_k * z * g, g * inv_h * (-1.0 + 2.0 * self.g_k * z2))
        } else {
            (0.0, 0.0, 0.0)
        };
        let eta = self.eta;
        PvPartials {
            value: eta * lor_unit + (1.0 - eta) * gau_unit,
            d_z: eta * lor_dz + (1.0 - eta) * gau_dz,
            d_fwhm: eta * lor_dh + (1.0 - eta) * gau_dh,
            d_eta: lor_unit - gau_unit,
        }
    }

    /// Half-width w such that for |z| > w both terms are below `cutoff`/2 × the peak height,
    /// hence the profile is below `cutoff` × peak height. For `cutoff ≥ 1` (or NaN) this is 0;
    /// for `cutoff ≤ 0` it is +∞ (the profile is positive everywhere).
    pub fn half_support(&self, cutoff: f64) -> f64 {
        if cutoff <= 0.0 {
            return f64::INFINITY;
        }
        let level = 0.5 * cutoff * self.peak_height();
        let mut w: f64 = 0.0;
        if self.l_amp > level {
            // l_amp/(1 + l_k z²) = level
            w = w.max(((self.l_amp / level - 1.0) / self.l_k).sqrt());
        }
        if self.g_amp > level {
            // g_amp·exp(−g_k z²) = level
            w = w.max(((self.g_amp / level).ln() / self.g_k).sqrt());
        }
        w
    }
}

/// A pseudo-Voigt peak at 2θ₀ with its own FWHM H and mixing η (FullProf profile function 5,
/// [`super::ProfileFunction::PseudoVoigt`]); unit area over 2θ in degrees. η above 1 is allowed
/// (FullProf does not clamp η = η₀ + X·2θ): the Gaussian weight 1 − η is then negative and the
/// peak narrower-topped than a Lorentzian, still of unit area.
///
/// As a [`PeakShape`], ∂/∂H is reported in `d_fwhm_g` and ∂/∂η in `d_fwhm_l`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PseudoVoigtPeak {
    center: f64,
    pv: PseudoVoigt,
}

impl PseudoVoigtPeak {
    /// Errors: a non-finite centre, H not finite and positive, or η not finite and ≥ 0.
    pub fn new(center_deg: f64, fwhm_deg: f64, eta: f64) -> Result<Self> {
        for (name, v, ok) in [
            ("peak position 2θ₀", center_deg, center_deg.is_finite()),
            ("pseudo-Voigt FWHM", fwhm_deg, fwhm_deg.is_finite() && fwhm_deg > 0.0),
            ("pseudo-Voigt η", eta, eta.is_finite() && eta >= 0.0),
        ] {
            if !ok {
                return Err(Error::InvalidValue {
                    name: name.to_string(),
                    value: v,
                    reason: "must be finite (a FWHM > 0, η ≥ 0)",
                });
            }
        }
        Ok(Self::from_kernel(center_deg, PseudoVoigt::new_unchecked(fwhm_deg, eta)))
    }

    /// The peak of a validated kernel at `center_deg` (the TCH peak builds its own kernel).
    pub(crate) fn from_kernel(center_deg: f64, pv: PseudoVoigt) -> Self {
        Self { center: center_deg, pv }
    }

    /// The kernel.
    pub fn kernel(&self) -> &PseudoVoigt {
        &self.pv
    }
}

impl PeakShape for PseudoVoigtPeak {
    fn center_deg(&self) -> f64 {
        self.center
    }

    fn eval(&self, two_theta_deg: f64) -> ProfilePoint {
        let p = self.pv.partials(two_theta_deg - self.center);
        ProfilePoint {
            value: p.value,
            d_center: -p.d_z,
            d_fwhm_g: p.d_fwhm,
            d_fwhm_l: p.d_eta,
            d_asym: 0.0,
        }
    }

    fn value(&self, two_theta_deg: f64) -> f64 {
        self.pv.value(two_theta_deg - self.center)
    }

    fn fwhm(&self) -> f64 {
        self.pv.fwhm()
    }

    fn support(&self, cutoff: f64) -> (f64, f64) {
        let w = self.pv.half_support(cutoff);
        (self.center - w, self.center + w)
    }

    fn add_scaled(
        &self,
        two_theta_deg: &[f64],
        scale: f64,
        cutoff: f64,
        out: &mut [f64],
    ) -> Range<usize> {
        let (lo, hi) = self.support(cutoff);
        let r = super::window(two_theta_deg, lo, hi);
        super::tch::add_symmetric(&self.pv, self.center, two_theta_deg, r.clone(), scale, out);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fd<F: Fn(f64) -> f64>(f: F, x: f64, h: f64) -> f64 {
        (f(x + h) - f(x - h)) / (2.0 * h)
    }

    #[test]
    fn partials_match_finite_differences() {
        for &(h, eta) in &[(0.05, 0.0), (0.1, 0.3), (0.2, 0.7), (0.07, 1.0)] {
            let pv = PseudoVoigt::new_unchecked(h, eta);
            for k in -40..=40 {
                let z = k as f64 * 0.09 * h;
                let p = pv.partials(z);
                assert!((p.value - pv.value(z)).abs() <= 1e-13 * pv.peak_height());
                let dz = fd(|t| pv.value(t), z, 1e-6 * h);
                let dh = fd(|t| PseudoVoigt::new_unchecked(t, eta).value(z), h, 1e-6 * h);
                let de = fd(|t| PseudoVoigt::new_unchecked(h, t).value(z), eta, 1e-6);
                let scale = pv.peak_height() / h;
                assert!((p.d_z - dz).abs() < 1e-6 * scale, "dz {z} {} {dz}", p.d_z);
                assert!((p.d_fwhm - dh).abs() < 1e-6 * scale, "dh {z} {} {dh}", p.d_fwhm);
                assert!((p.d_eta - de).abs() < 1e-6 * pv.peak_height(), "deta {z}");
            }
        }
    }

    /// η > 1 (FullProf's unclamped η = η₀ + X·2θ): still unit area (the two unit-area terms
    /// mix linearly) and positive at the centre; derivatives against finite differences.
    #[test]
    fn pseudo_voigt_peak_with_eta_above_one() {
        let peak = PseudoVoigtPeak::new(50.0, 0.1, 1.8).unwrap();
        let area = crate::profile::test_util::simpson(|t| peak.value(t), 20.0, 80.0, 600_000);
        assert!((area - 1.0).abs() < 2e-3, "{area}");
        assert!(peak.value(50.0) > 0.0);
        for t in [49.9, 49.97, 50.0, 50.04, 50.3] {
            let e = peak.eval(t);
            let h = 1e-6;
            let dc = (PseudoVoigtPeak::new(50.0 + h, 0.1, 1.8).unwrap().value(t)
                - PseudoVoigtPeak::new(50.0 - h, 0.1, 1.8).unwrap().value(t))
                / (2.0 * h);
            let dh = (PseudoVoigtPeak::new(50.0, 0.1 + h, 1.8).unwrap().value(t)
                - PseudoVoigtPeak::new(50.0, 0.1 - h, 1.8).unwrap().value(t))
                / (2.0 * h);
            let de = (PseudoVoigtPeak::new(50.0, 0.1, 1.8 + h).unwrap().value(t)
                - PseudoVoigtPeak::new(50.0, 0.1, 1.8 - h).unwrap().value(t))
                / (2.0 * h);
            assert!((e.d_center - dc).abs() < 1e-4 * dc.abs().max(1.0), "{t}");
            assert!((e.d_fwhm_g - dh).abs() < 1e-4 * dh.abs().max(1.0), "{t}");
            assert!((e.d_fwhm_l - de).abs() < 1e-6 * de.abs().max(1.0), "{t}");
        }
        assert!(PseudoVoigtPeak::new(50.0, 0.1, -0.1).is_err());
        assert!(PseudoVoigtPeak::new(50.0, 0.0, 0.5).is_err());
    }

    #[test]
    fn half_support_bounds_the_value() {
        for &eta in &[0.0, 0.01, 0.5, 1.0] {
            let pv = PseudoVoigt::new_unchecked(0.1, eta);
            for &c in &[1e-2, 1e-4, 4e-6] {
                let w = pv.half_support(c);
                assert!(pv.value(w) <= c * pv.peak_height() * (1.0 + 1e-12));
                // Not absurdly conservative: at w/2 the profile is above the cutoff/2 level
                // of one of the terms, so above cutoff/4 of the height.
                assert!(pv.value(0.5 * w) > 0.25 * c * pv.peak_height(), "{eta} {c}");
            }
        }
        assert_eq!(PseudoVoigt::new_unchecked(0.1, 0.5).half_support(0.0), f64::INFINITY);
    }
}
