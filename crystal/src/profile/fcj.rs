//! Finger–Cox–Jephcoat axial-divergence asymmetry convolved with the TCH pseudo-Voigt.
//!
//! Source: L. W. Finger, D. E. Cox & A. P. Jephcoat (1994), J. Appl. Cryst. 27, 892–900,
//! after J. van Laar & W. B. Yelon (1984), J. Appl. Cryst. 17, 47. With sample half-height S,
//! detector half-height H and distance L, a ray leaving the Debye cone at 2θ₀ with height
//! offset h reaches the detector at 2φ with cos 2φ = cos 2θ₀·√(1 + h²/L²). The observed
//! profile is the symmetric profile averaged over 2φ with the FCJ weight
//! D(2φ) ∝ W(2φ)/(h(2φ)·|cos 2φ|), where W = 2·min(H, S) for h ≤ |H − S| and W = H + S − h
//! for |H − S| ≤ h ≤ H + S.
//!
//! # Quadrature
//! Substituting t = h/L removes the 1/√(2θ₀ − 2φ) singularity of D at the peak:
//! D d(2φ) ∝ W(t)/((1 + t²)·sin 2φ(t)) dt, smooth on each of the two pieces
//! [0, |H − S|/L] and [|H − S|/L, (H + S)/L]. Let Δ be the full asymmetry range
//! |2φ_min − 2θ₀| and H the TCH FWHM. When Δ ≤ 0.3 H each piece is one panel with an n-point
//! Gauss–Legendre rule, n = 3 for Δ/H ≤ 0.03, 4 for ≤ 0.1, 6 for ≤ 0.3; above, each piece is
//! split into panels of equal range of t² (hence of equal 2θ shift, which is
//! ≈ −t²·cot(2θ₀)/2) with 8 nodes each, ⌈Δ/(0.6 H)⌉ panels in all, at most 32 (256 nodes).
//! The weights are normalised by their own sum, so the area is exactly 1 whatever the node
//! count. Verified accuracy: against a converged 32-panel quadrature ≤ 3·10⁻⁷ × the peak
//! maximum for Δ/H from 0.01 to 10 (test `low_order_rules_match_the_converged_quadrature`;
//! 1-H panels reached 2.2·10⁻⁵ just below Δ/H = 1); against an independent brute-force
//! integration in 2φ (test `matches_independent_brute_force_integration`) ≤ 1·10⁻⁵ for 2θ₀
//! from 3° to 170°, S/L and H/L up to 0.05 (equal and unequal, and S = 0), Δ/H up to ≈ 21.
//! Beyond Δ/H ≈ 19 the panel cap lowers the accuracy (extreme asymmetry of very sharp peaks
//! below ≈ 5° 2θ).
//!
//! # Far tails
//! Far from the peak every node's Gaussian term is negligible and the shifted Lorentzians
//! differ little, so the quadrature Σ ŵᵢ·η·L(z − δᵢ) is replaced by its second-order Taylor
//! expansion about the weight centroid m = Σ ŵᵢδᵢ: η·[L(u) + ½V·L″(u)], u = z − m,
//! V = Σ ŵᵢ(δᵢ − m)² (one division per point instead of one per node). Each node's Lagrange
//! remainder is ⅙L‴(ξᵢ)(δᵢ − m)³ with ξᵢ between z − δᵢ and u, and |d³/ds³ (1 + s²)⁻¹|
//! ≤ 6/(1 + s²)² (from (1 + s²)⁻¹ = Im (s − i)⁻¹), so with s = 2d/H and d the distance from
//! 2θ to the shift range [2θ₀ + δ_min, 2θ₀ + δ_max]:
//! |fast − full| ≤ (2/H)³·μ₃/(1 + s²)² × peak height, μ₃ = Σ ŵᵢ|δᵢ − m|³.
//! The near zone (full quadrature) extends d₀ beyond the shift range, with d₀ the larger of
//! the Gaussian core 3.8 H and the distance where this bound equals 10⁻⁷; outside it
//! |fast − full| ≤ 10⁻⁷ × the peak height (measured ≤ 1.5·10⁻⁸, test
//! `far_tail_matches_full_quadrature`). The expansion has the same area as the quadrature
//! (∫L″ = 0). Derivatives in the tails are the exact derivatives of the expansion (m and V
//! depend on 2θ₀ and asym). For the synchrotron widths of the benchmarks d₀ ≈ 4–5 H, so
//! > 95 % of a peak's ±350 H support takes the fast path.
//!
//! Above 90° the same formula gives 2φ > 2θ₀: the asymmetry mirrors to the high-angle side.
//! At asym = 0 the profile is exactly the symmetric TCH kernel (no quadrature).
//! The derivative with respect to asym is 0 at asym = 0 (the shifts grow as asym²), so a
//! refinement should start from a small positive asym.

use super::gauss_legendre;
use super::pseudo_voigt::PseudoVoigt;
use super::tch::{add_symmetric, TchPseudoVoigt};
use super::widths::{ProfileParams, Widths};
use super::{PeakShape, ProfilePoint};
use crate::error::{Error, Result};
use std::f64::consts::PI;
use std::ops::Range;

/// Maximum number of Gauss–Legendre panels (8 nodes each).
const MAX_PANELS: usize = 32;
/// Maximum number of quadrature nodes.
const MAX_NODES: usize = MAX_PANELS * gauss_legendre::ORDER;
/// With 8-point panels, a panel spans at most `PANEL_FWHM` × H of 2θ shift (module docs).
const PANEL_FWHM: f64 = 0.6;
/// Gauss–Legendre order per panel when the whole asymmetry range Δ is at most the given
/// fraction of the FWHM H (one panel per piece); above the last entry, 8 nodes per panel
/// and ⌈Δ/H⌉ panels. Chosen from the convergence study in the test
/// `low_order_rules_match_the_converged_quadrature` (error ≤ 10⁻⁶ × peak height).
const ORDER_BY_RANGE: [(f64, usize); 3] = [(0.03, 3), (0.1, 4), (0.3, 6)];
/// Design bound of the far-tail approximation, relative to the peak height (module docs).
const TAIL_TOL: f64 = 1.0e-7;

/// Moments of the normalised node shifts, used by the far-tail approximation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct TailMoments {
    /// Mean shift m = Σ ŵᵢδᵢ (degrees).
    mean: f64,
    /// Variance V = Σ ŵᵢ(δᵢ − m)² (degrees²).
    var: f64,
    /// κ = 4V/H², the factor of [`PseudoVoigt::lorentz_smeared`].
    kappa: f64,
    /// ∂m/∂2θ₀ and ∂m/∂asym.
    dmean_dc: f64,
    dmean_da: f64,
    /// ∂V/∂2θ₀ and ∂V/∂asym.
    dvar_dc: f64,
    dvar_da: f64,
}

/// FCJ axial-divergence parameters S/L and H/L (dimensionless, ≥ 0).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FcjAsymmetry {
    /// Sample half-height over the sample–detector distance, S/L.
    pub s_l: f64,
    /// Detector (receiving slit) half-height over the distance, H/L.
    pub h_l: f64,
}

impl FcjAsymmetry {
    /// The one-parameter form used by GSAS-II (SH/L): S/L = H/L = asym/2.
    pub fn from_sum(asym: f64) -> Self {
        Self { s_l: 0.5 * asym, h_l: 0.5 * asym }
    }

    /// asym = S/L + H/L, the parameter that [`ProfilePoint::d_asym`] differentiates (at a
    /// fixed ratio S/L : H/L).
    pub fn sum(&self) -> f64 {
        self.s_l + self.h_l
    }
}

/// One quadrature node of the FCJ convolution.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Node {
    /// Shift 2φᵢ − 2θ₀ (degrees).
    delta: f64,
    /// Normalised weight (Σ = 1).
    weight: f64,
    /// ∂weightᵢ/∂asym.
    dw_da: f64,
    /// ∂δᵢ/∂asym (degrees).
    ddelta_da: f64,
    /// ∂weightᵢ/∂2θ₀ (per degree).
    dw_dc: f64,
    /// ∂δᵢ/∂2θ₀ (dimensionless).
    ddelta_dc: f64,
}

/// A TCH pseudo-Voigt convolved with the FCJ axial-divergence function (FCJ 1994), unit area
/// over 2θ in degrees. Per-peak quadrature nodes are precomputed (one allocation of exactly
/// the node count: a fixed 256-node array cost more to zero and move than to allocate).
#[derive(Debug, Clone)]
pub struct FcjTch {
    tch: TchPseudoVoigt,
    asym: FcjAsymmetry,
    /// Quadrature nodes (empty when symmetric).
    nodes: Vec<Node>,
    /// Range of the shifts [min(0, δ_end), max(0, δ_end)] in degrees.
    delta_lo: f64,
    delta_hi: f64,
    /// Panels and nodes per panel of the quadrature (0, 0 when symmetric).
    panels: usize,
    order: usize,
    /// Far-tail moments of the shift distribution.
    tail: TailMoments,
    /// The near zone [near_lo, near_hi] (2θ, degrees): full quadrature inside, the
    /// second-moment tail approximation outside.
    near_lo: f64,
    near_hi: f64,
}

impl FcjTch {
    /// Builds the FCJ-asymmetric TCH peak at `center_deg` with Gaussian and Lorentzian FWHM
    /// (degrees) and asymmetry `asym`.
    ///
    /// Errors (`Error::InvalidValue`): widths rejected by [`super::tch_mix`]; 2θ₀ outside
    /// (0°, 180°); negative or non-finite S/L or H/L; or an asymmetry so large that the
    /// divergence range reaches 0° or 180° (|cos 2θ₀|·√(1 + asym²) ≥ 1).
    pub fn new(
        center_deg: f64,
        fwhm_g_deg: f64,
        fwhm_l_deg: f64,
        asym: FcjAsymmetry,
    ) -> Result<Self> {
        let tch = TchPseudoVoigt::new(center_deg, fwhm_g_deg, fwhm_l_deg)?;
        let a = asym.sum();
        let (panels, order) = if a > 0.0 {
            let ratio = end_shift_deg(center_deg, a).abs() / tch.fwhm();
            match ORDER_BY_RANGE.iter().find(|&&(r, _)| ratio <= r) {
                Some(&(_, order)) => (1, order),
                None => (
                    (ratio / PANEL_FWHM).ceil().clamp(1.0, MAX_PANELS as f64) as usize,
                    gauss_legendre::ORDER,
                ),
            }
        } else {
            (0, 0)
        };
        Self::with_layout(tch, asym, panels, order)
    }

    /// Builds the peak at `center_deg` from [`ProfileParams`] (widths at 2θ₀, S/L = H/L =
    /// asym/2); also returns the widths and their derivatives for chaining.
    pub fn from_params(center_deg: f64, params: &ProfileParams) -> Result<(Self, Widths)> {
        let w = params.widths(center_deg)?;
        let peak = Self::new(center_deg, w.fwhm_g, w.fwhm_l, FcjAsymmetry::from_sum(params.asym))?;
        Ok((peak, w))
    }

    /// As [`FcjTch::new`] with an explicit panel count and Gauss–Legendre order per panel
    /// (one of 2, 3, 4, 6, 8; tests and convergence studies).
    pub(crate) fn with_layout(
        tch: TchPseudoVoigt,
        asym: FcjAsymmetry,
        panels: usize,
        order: usize,
    ) -> Result<Self> {
        let center = tch.center_deg();
        for (name, v) in [("FCJ S/L", asym.s_l), ("FCJ H/L", asym.h_l)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::InvalidValue {
                    name: name.to_string(),
                    value: v,
                    reason: "must be finite and non-negative",
                });
            }
        }
        let mut me = Self {
            tch,
            asym,
            nodes: Vec::new(),
            delta_lo: 0.0,
            delta_hi: 0.0,
            panels: 0,
            order: 0,
            tail: TailMoments::default(),
            near_lo: f64::NEG_INFINITY,
            near_hi: f64::INFINITY,
        };
        let a = asym.sum();
        if a == 0.0 || panels == 0 {
            return Ok(me);
        }
        if !(center > 0.0 && center < 180.0) {
            return Err(Error::InvalidValue {
                name: "2θ₀ of an FCJ-asymmetric peak".to_string(),
                value: center,
                reason: "must lie strictly between 0° and 180°",
            });
        }
        let th2 = center.to_radians();
        let (sin2, cos2) = th2.sin_cos();
        if cos2.abs() * (1.0 + a * a).sqrt() >= 1.0 {
            return Err(Error::InvalidValue {
                name: format!("FCJ asym (S+H)/L at 2θ₀ = {center}°"),
                value: a,
                reason: "the axial-divergence range reaches 0° or 180°",
            });
        }
        let panels = panels.min(MAX_PANELS);
        let (gl_nodes, gl_weights) = gauss_legendre::rule(order);
        me.panels = panels;
        me.order = gl_nodes.len();
        // τ = t/a ∈ [0, 1]; piece boundary τ_b = |H − S|/(H + S); ρ = S/(S + H).
        let rho = asym.s_l / a;
        let tau_b = (asym.h_l - asym.s_l).abs() / a;
        // Weight factors W(t)/(a·2ρ(1−ρ)·L): piece 1 (τ ≤ τ_b): 1/max(ρ, 1−ρ);
        // piece 2: (1 − τ)/(2ρ(1−ρ)). Common constants cancel in the normalisation.
        let f1 = 1.0 / rho.max(1.0 - rho);
        let two_rr = 2.0 * rho * (1.0 - rho);
        let m1 =
            if tau_b > 0.0 { ((panels as f64 * tau_b * tau_b).round() as usize).max(1) } else { 0 };
        let m2 = if tau_b < 1.0 && two_rr > 0.0 {
            ((panels as f64 * (1.0 - tau_b * tau_b)).round() as usize).max(1)
        } else {
            0
        };
        let (m1, m2) = if m1 + m2 > MAX_PANELS {
            // INVARIANT: m1 + m2 ≤ panels + 1 ≤ MAX_PANELS + 1; give the spare to the larger.
            if m1 >= m2 {
                (m1 - 1, m2)
            } else {
                (m1, m2 - 1)
            }
        } else {
            (m1, m2)
        };
        me.nodes.reserve_exact(((m1 + m2) * me.order).min(MAX_NODES));
        let add_piece = |lo: f64, hi: f64, m: usize, linear: bool, me: &mut Self| {
            let (lo2, hi2) = (lo * lo, hi * hi);
            for k in 0..m {
                let pa = (lo2 + (hi2 - lo2) * k as f64 / m as f64).sqrt();
                let pb = (lo2 + (hi2 - lo2) * (k + 1) as f64 / m as f64).sqrt();
                let (mid, half) = (0.5 * (pa + pb), 0.5 * (pb - pa));
                for (x, w) in gl_nodes.iter().zip(gl_weights) {
                    if me.nodes.len() >= MAX_NODES {
                        return;
                    }
                    let tau = mid + half * x;
                    let f = if linear { (1.0 - tau) / two_rr } else { f1 };
                    me.nodes.push(node(tau, a, sin2, cos2, half * w * f));
                }
            }
        };
        add_piece(0.0, tau_b, m1, false, &mut me);
        add_piece(tau_b, 1.0, m2, true, &mut me);
        // Normalise: ŵᵢ = wᵢ/Σw, ∂ŵᵢ/∂p = ŵᵢ(∂ln wᵢ/∂p − Σⱼ ŵⱼ ∂ln wⱼ/∂p); `node` stored
        // raw wᵢ in `weight` and ∂ln wᵢ/∂p in `dw_*`.
        let sum: f64 = me.nodes.iter().map(|nd| nd.weight).sum();
        if !(sum > 0.0 && sum.is_finite()) {
            return Err(Error::InvalidValue {
                name: "FCJ quadrature weight sum".to_string(),
                value: sum,
                reason: "not positive and finite",
            });
        }
        let inv = 1.0 / sum;
        let (mut mean_a, mut mean_c) = (0.0, 0.0);
        for nd in &mut me.nodes {
            nd.weight *= inv;
            mean_a += nd.weight * nd.dw_da;
            mean_c += nd.weight * nd.dw_dc;
        }
        for nd in &mut me.nodes {
            nd.dw_da = nd.weight * (nd.dw_da - mean_a);
            nd.dw_dc = nd.weight * (nd.dw_dc - mean_c);
        }
        let end = end_shift_deg(center, a);
        me.delta_lo = end.min(0.0);
        me.delta_hi = end.max(0.0);
        me.set_tail();
        Ok(me)
    }

    /// Computes the shift moments and the near zone of the far-tail approximation (module
    /// docs, "Far tails"), from the normalised nodes.
    fn set_tail(&mut self) {
        let mean: f64 = self.nodes.iter().map(|nd| nd.weight * nd.delta).sum();
        let (mut var, mut mu3) = (0.0, 0.0);
        let (mut dmean_dc, mut dmean_da) = (0.0, 0.0);
        // ∂V/∂p = Σ ∂ŵᵢ/∂p·(δᵢ − m)² + 2Σ ŵᵢ(δᵢ − m)·∂δᵢ/∂p (the ∂m/∂p term sums to 0).
        let (mut dvar_dc, mut dvar_da) = (0.0, 0.0);
        for nd in &self.nodes {
            let (w, d) = (nd.weight, nd.delta);
            let e = d - mean;
            var += w * e * e;
            mu3 += w * (e * e * e).abs();
            dmean_dc += nd.dw_dc * d + w * nd.ddelta_dc;
            dmean_da += nd.dw_da * d + w * nd.ddelta_da;
            dvar_dc += nd.dw_dc * e * e + 2.0 * w * e * nd.ddelta_dc;
            dvar_da += nd.dw_da * e * e + 2.0 * w * e * nd.ddelta_da;
        }
        let pv = *self.kernel();
        let h = pv.fwhm();
        self.tail = TailMoments {
            mean,
            var,
            kappa: pv.smear_factor(var),
            dmean_dc,
            dmean_da,
            dvar_dc,
            dvar_da,
        };
        // Error ≤ (2/H)³·μ₃/(1 + s²)² × peak height at s = 2d/H (module docs): solve for d.
        let ratio = (2.0 / h).powi(3) * mu3 / TAIL_TOL;
        let s = (ratio.sqrt() - 1.0).max(0.0).sqrt();
        let d = (0.5 * h * s).max(pv.gauss_core());
        let c = self.tch.center_deg();
        self.near_lo = c + self.delta_lo - d;
        self.near_hi = c + self.delta_hi + d;
    }

    /// True when `two_theta_deg` lies in the far tails (outside the near zone).
    #[inline(always)]
    fn in_tail(&self, two_theta_deg: f64) -> bool {
        two_theta_deg < self.near_lo || two_theta_deg > self.near_hi
    }

    /// The near zone (lo_deg, hi_deg): inside it the profile is the full quadrature, outside
    /// it the second-moment far-tail approximation (module docs). (−∞, +∞) when symmetric.
    pub fn near_zone(&self) -> (f64, f64) {
        (self.near_lo, self.near_hi)
    }

    /// The full quadrature Σ ŵᵢ·P(z − δᵢ) at `two_theta_deg`, without the far-tail shortcut
    /// (reference for tests and accuracy studies).
    pub fn value_full(&self, two_theta_deg: f64) -> f64 {
        if self.nodes.is_empty() {
            return self.tch.value(two_theta_deg);
        }
        let z0 = two_theta_deg - self.tch.center_deg();
        let pv = self.kernel();
        self.nodes.iter().map(|nd| nd.weight * pv.value(z0 - nd.delta)).sum()
    }

    /// The underlying symmetric TCH peak.
    pub fn symmetric(&self) -> &TchPseudoVoigt {
        &self.tch
    }

    /// The asymmetry parameters.
    pub fn asymmetry(&self) -> FcjAsymmetry {
        self.asym
    }

    /// Number of quadrature nodes (0 when symmetric).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Range of shifts 2φ − 2θ₀ (degrees) covered by the axial divergence: (δ_min, δ_max),
    /// with δ_max = 0 below 90° and δ_min = 0 above.
    pub fn shift_range(&self) -> (f64, f64) {
        (self.delta_lo, self.delta_hi)
    }

    fn kernel(&self) -> &PseudoVoigt {
        self.tch.kernel()
    }
}

/// The node at τ (t = aτ) with raw weight `base/((1 + t²) sin 2φ)`, its shift, the
/// logarithmic derivatives of the weight (in `dw_*`) and the derivatives of the shift.
fn node(tau: f64, a: f64, sin2: f64, cos2: f64, base: f64) -> Node {
    let t = a * tau;
    let one_t2 = 1.0 + t * t;
    let sq = one_t2.sqrt();
    let cos_phi = cos2 * sq;
    let sin_phi = ((1.0 - cos_phi) * (1.0 + cos_phi)).sqrt();
    // Cancellation-free shift: sin(φ − 2θ₀) = cos2θ₀·(sin φ − √(1+t²)·sin 2θ₀), and
    // sin²φ − (1 + t²)·sin²2θ₀ = −t², so sin(φ − 2θ₀) = −cos2θ₀·t²/(sin φ + √(1+t²)·sin 2θ₀).
    let delta_rad = (-cos2 * t * t / (sin_phi + sq * sin2)).asin();
    let cot_phi = cos_phi / sin_phi;
    // φ(t): dφ/dt = −cos2θ₀·t/(√(1+t²)·sin φ); t = aτ ⇒ dφ/da = τ·dφ/dt.
    let dphi_da = -tau * cos2 * t / (sq * sin_phi);
    // dφ/d(2θ₀) = sin 2θ₀·√(1+t²)/sin φ (radians per radian).
    let dphi_dc = sin2 * sq / sin_phi;
    Node {
        weight: base / (one_t2 * sin_phi),
        delta: delta_rad.to_degrees(),
        ddelta_da: dphi_da.to_degrees(),
        ddelta_dc: dphi_dc - 1.0,
        // ln w = ln base − ln(1 + t²) − ln sin φ.
        dw_da: -2.0 * t * tau / one_t2 - cot_phi * dphi_da,
        dw_dc: -cot_phi * dphi_dc * (PI / 180.0),
    }
}

/// Adds `scale ×` the far-tail expansion over `x` into `y` (equal lengths). A plain loop over
/// two slices so that it auto-vectorises; the operations are those of `FcjTch::value`
/// ((t − 2θ₀) − m), so the results are bit-identical.
#[inline]
fn add_far_tail(
    pv: &PseudoVoigt,
    center: f64,
    tail: &TailMoments,
    x: &[f64],
    scale: f64,
    y: &mut [f64],
) {
    let (mean, kappa) = (tail.mean, tail.kappa);
    for (o, &t) in y.iter_mut().zip(x) {
        *o += scale * pv.lorentz_smeared((t - center) - mean, kappa);
    }
}

/// Shift 2φ_min − 2θ₀ (degrees) of the far end of the FCJ range, t = (S + H)/L = a.
fn end_shift_deg(center_deg: f64, a: f64) -> f64 {
    let c = center_deg.to_radians().cos() * (1.0 + a * a).sqrt();
    (c.clamp(-1.0, 1.0).acos() - center_deg.to_radians()).to_degrees()
}

impl PeakShape for FcjTch {
    fn center_deg(&self) -> f64 {
        self.tch.center_deg()
    }

    fn eval(&self, two_theta_deg: f64) -> ProfilePoint {
        if self.nodes.is_empty() {
            return self.tch.eval(two_theta_deg);
        }
        let z0 = two_theta_deg - self.tch.center_deg();
        let pv = self.kernel();
        let mut p = ProfilePoint::default();
        let (mut d_h, mut d_eta) = (0.0, 0.0);
        if self.in_tail(two_theta_deg) {
            let tm = &self.tail;
            let (q, d_var) = pv.lorentz_smeared_partials(z0 - tm.mean, tm.var);
            p.value = q.value;
            p.d_center = -q.d_z * (1.0 + tm.dmean_dc) + d_var * tm.dvar_dc;
            p.d_asym = -q.d_z * tm.dmean_da + d_var * tm.dvar_da;
            d_h = q.d_fwhm;
            d_eta = q.d_eta;
        } else {
            for nd in &self.nodes {
                let w = nd.weight;
                let q = pv.partials(z0 - nd.delta);
                p.value += w * q.value;
                p.d_center += nd.dw_dc * q.value - w * q.d_z * (1.0 + nd.ddelta_dc);
                p.d_asym += nd.dw_da * q.value - w * q.d_z * nd.ddelta_da;
                d_h += w * q.d_fwhm;
                d_eta += w * q.d_eta;
            }
        }
        let m = self.tch.mix();
        p.d_fwhm_g = d_h * m.dfwhm_dg + d_eta * m.deta_dg;
        p.d_fwhm_l = d_h * m.dfwhm_dl + d_eta * m.deta_dl;
        p
    }

    fn value(&self, two_theta_deg: f64) -> f64 {
        if !self.nodes.is_empty() && self.in_tail(two_theta_deg) {
            let z0 = two_theta_deg - self.tch.center_deg();
            return self.kernel().lorentz_smeared(z0 - self.tail.mean, self.tail.kappa);
        }
        self.value_full(two_theta_deg)
    }

    fn fwhm(&self) -> f64 {
        self.tch.fwhm()
    }

    /// The union of the supports of the shifted symmetric components: every component loses
    /// at most [`super::truncated_area_bound`]`(cutoff)` of its area, hence so does the sum.
    fn support(&self, cutoff: f64) -> (f64, f64) {
        let w = self.kernel().half_support(cutoff);
        let c = self.tch.center_deg();
        (c + self.delta_lo - w, c + self.delta_hi + w)
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
        let center = self.tch.center_deg();
        let pv = self.kernel();
        if self.nodes.is_empty() {
            add_symmetric(pv, center, two_theta_deg, r.clone(), scale, out);
            return r;
        }
        let n = out.len().min(two_theta_deg.len());
        let (start, end) = (r.start.min(n), r.end.min(n));
        let (x, y) = (&two_theta_deg[start..end], &mut out[start..end]);
        // Split into [far tail | near zone | far tail] with the comparisons of `in_tail`.
        let n0 = x.partition_point(|&t| t < self.near_lo);
        let n1 = x.partition_point(|&t| t <= self.near_hi).max(n0);
        let (x_lo, x_rest) = x.split_at(n0);
        let (x, x_hi) = x_rest.split_at(n1 - n0);
        let (y_lo, y_rest) = y.split_at_mut(n0);
        let (y, y_hi) = y_rest.split_at_mut(n1 - n0);
        add_far_tail(pv, center, &self.tail, x_lo, scale, y_lo);
        add_far_tail(pv, center, &self.tail, x_hi, scale, y_hi);
        let core = pv.gauss_core();
        let (core_lo, core_hi) = (center + self.delta_lo - core, center + self.delta_hi + core);
        let nodes = &self.nodes[..];
        for (o, &t) in y.iter_mut().zip(x) {
            let z0 = t - center;
            let s: f64 = if t < core_lo || t > core_hi {
                nodes.iter().map(|nd| nd.weight * pv.lorentz_tail(z0 - nd.delta)).sum()
            } else {
                nodes.iter().map(|nd| nd.weight * pv.full(z0 - nd.delta)).sum()
            };
            *o += scale * s;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::simpson;
    use super::super::{truncated_area_bound, DEFAULT_CUTOFF};
    use super::*;

    fn peak(c: f64, g: f64, l: f64, a: f64) -> FcjTch {
        FcjTch::new(c, g, l, FcjAsymmetry::from_sum(a)).unwrap()
    }

    /// Independent brute force of the FCJ convolution, directly in 2φ with the FCJ (1994)
    /// weight D ∝ W(2φ)/(h(2φ)·|cos 2φ|), using 2φ = 2θ₀ ∓ u² to tame the 1/√ singularity.
    fn brute_force(c_deg: f64, g: f64, l: f64, s_l: f64, h_l: f64, x_deg: f64) -> f64 {
        let sym = TchPseudoVoigt::new(c_deg, g, l).unwrap();
        let th2 = c_deg.to_radians();
        let a = s_l + h_l;
        let end = end_shift_deg(c_deg, a).to_radians(); // signed
        let sign = end.signum();
        let umax = end.abs().sqrt();
        let integrand = |u: f64| {
            let phi = th2 + sign * u * u;
            let hh = (phi.cos().powi(2) / th2.cos().powi(2) - 1.0).max(0.0).sqrt(); // h/L
            let w = if hh <= (h_l - s_l).abs() { 2.0 * h_l.min(s_l) } else { (a - hh).max(0.0) };
            if hh == 0.0 {
                // lim u→0 of W·2u/(h cos φ): h/L ≈ √(2 tan2θ₀)·u ⇒ 2u/h → 2/√(2|tan 2θ₀|).
                return w * 2.0 / (2.0 * th2.tan().abs()).sqrt() / th2.cos().abs()
                    * sym.value(x_deg - sign * 0.0);
            }
            let dens = w * 2.0 * u / (hh * phi.cos().abs());
            dens * sym.value(x_deg - (phi - th2).to_degrees())
        };
        let norm_f = |u: f64| {
            let phi = th2 + sign * u * u;
            let hh = (phi.cos().powi(2) / th2.cos().powi(2) - 1.0).max(0.0).sqrt();
            let w = if hh <= (h_l - s_l).abs() { 2.0 * h_l.min(s_l) } else { (a - hh).max(0.0) };
            if hh == 0.0 {
                return w * 2.0 / (2.0 * th2.tan().abs()).sqrt() / th2.cos().abs();
            }
            w * 2.0 * u / (hh * phi.cos().abs())
        };
        let nn = 20_000;
        simpson(integrand, 0.0, umax, nn) / simpson(norm_f, 0.0, umax, nn)
    }

    #[test]
    fn matches_independent_brute_force_integration() {
        // Cases: (2θ₀, H_G, H_L, S/L, H/L). Covers low/high angle, both FCJ pieces, Δ/H ≫ 1.
        let cases = [
            (10.0, 0.05, 0.03, 0.02, 0.02),
            (5.0, 0.03, 0.02, 0.03, 0.03),
            (3.0, 0.04, 0.04, 0.01, 0.04),
            (30.0, 0.08, 0.02, 0.05, 0.02),
            (60.0, 0.1, 0.05, 0.05, 0.05),
            (120.0, 0.1, 0.05, 0.04, 0.01),
            (170.0, 0.3, 0.1, 0.03, 0.03),
            (20.0, 0.01, 0.005, 0.0, 0.04),
        ];
        let mut worst: f64 = 0.0;
        for &(c, g, l, s, h) in &cases {
            let p = FcjTch::new(c, g, l, FcjAsymmetry { s_l: s, h_l: h }).unwrap();
            let (lo, hi) = p.shift_range();
            let m = p.symmetric().kernel().peak_height();
            for k in 0..=60 {
                let x = c + lo - 3.0 * p.fwhm() + (hi - lo + 6.0 * p.fwhm()) * k as f64 / 60.0;
                let e = (p.value(x) - brute_force(c, g, l, s, h, x)).abs() / m;
                worst = worst.max(e);
            }
        }
        assert!(worst < 1e-5, "worst relative error {worst}");
    }

    #[test]
    fn reduces_to_symmetric_and_converges_as_asym_vanishes() {
        let sym = TchPseudoVoigt::new(25.0, 0.06, 0.03).unwrap();
        let zero = peak(25.0, 0.06, 0.03, 0.0);
        assert_eq!(zero.node_count(), 0);
        let mut prev = f64::INFINITY;
        for &a in &[0.04, 0.02, 0.01, 0.005] {
            let p = peak(25.0, 0.06, 0.03, a);
            let mut diff: f64 = 0.0;
            for k in -50..=50 {
                let t = 25.0 + 0.01 * k as f64;
                assert_eq!(zero.value(t), sym.value(t));
                diff = diff.max((p.value(t) - sym.value(t)).abs());
            }
            // Shifts grow as a², so halving a divides the difference by ≈ 4.
            assert!(diff < prev / 3.0, "{a}: {diff} vs {prev}");
            prev = diff;
        }
    }

    #[test]
    fn maximum_shifts_low_below_90_and_high_above_and_mirrors() {
        for &(c, expect_low) in &[(15.0, true), (40.0, true), (140.0, false), (165.0, false)] {
            let p = peak(c, 0.05, 0.03, 0.06);
            let mut best = (f64::NEG_INFINITY, 0.0);
            for k in -3000..=3000 {
                let t = c + 1e-4 * k as f64;
                let v = p.value(t);
                if v > best.0 {
                    best = (v, t);
                }
            }
            assert_eq!(best.1 < c, expect_low, "{c}: max at {}", best.1);
            assert!((best.1 - c).abs() > 1e-3);
        }
        // Exact mirror symmetry about 90°: P_{180−c}(180 − c + z) = P_c(c − z).
        let (a, b) = (peak(35.0, 0.05, 0.02, 0.05), peak(145.0, 0.05, 0.02, 0.05));
        for k in -100..=100 {
            let z = 0.01 * k as f64;
            assert!((a.value(35.0 - z) - b.value(145.0 + z)).abs() < 1e-9);
        }
        // At exactly 90° the asymmetry vanishes.
        let p90 = peak(90.0, 0.05, 0.02, 0.05);
        let s90 = TchPseudoVoigt::new(90.0, 0.05, 0.02).unwrap();
        assert!((p90.value(90.03) - s90.value(90.03)).abs() < 1e-12);
    }

    #[test]
    fn centroid_shift_matches_leading_order_fcj() {
        // Analytic limit of the FCJ weight for S = H, small a: the mean shift is
        // ⟨2φ − 2θ₀⟩ = −cot(2θ₀)·⟨t²⟩/2 with ⟨t²⟩ = ∫t²(a − t)dt/∫(a − t)dt = a²/6.
        let (c, a) = (20.0, 0.01);
        let p = peak(c, 0.05, 0.0, a); // Gaussian: the centroid integral converges
        let (lo, hi) = p.support(1e-12);
        let centroid = simpson(|t| (t - c) * p.value(t), lo, hi, 40_000);
        let expect = -(c.to_radians().tan().recip()) * a * a / 12.0;
        assert!((centroid - expect.to_degrees()).abs() < 0.02 * expect.to_degrees().abs());
    }

    #[test]
    fn unit_area_within_support() {
        let bound = truncated_area_bound(DEFAULT_CUTOFF);
        for &(c, g, l, a) in
            &[(8.0, 0.05, 0.01, 0.05), (30.0, 0.04, 0.06, 0.03), (150.0, 0.2, 0.1, 0.05)]
        {
            let p = peak(c, g, l, a);
            let (lo, hi) = p.support(DEFAULT_CUTOFF);
            let (dl, dh) = p.shift_range();
            let (a0, a1) = (c + dl - 6.0 * p.fwhm(), c + dh + 6.0 * p.fwhm());
            let area = simpson(|t| p.value(t), lo, a0, 100_000)
                + simpson(|t| p.value(t), a0, a1, 40_000)
                + simpson(|t| p.value(t), a1, hi, 100_000);
            assert!(area <= 1.0 + 1e-7 && area >= 1.0 - bound, "{c}: {area}");
        }
    }

    #[test]
    fn derivatives_match_finite_differences() {
        // Deterministic grid of (2θ₀, H_G, H_L, S/L, H/L) including both FCJ pieces and > 90°.
        let cases = [
            (12.0, 0.05, 0.03, 0.02, 0.02),
            (35.0, 0.08, 0.02, 0.01, 0.04),
            (130.0, 0.1, 0.05, 0.03, 0.01),
        ];
        for &(c, g, l, s, h) in &cases {
            let asym = FcjAsymmetry { s_l: s, h_l: h };
            let p = FcjTch::new(c, g, l, asym).unwrap();
            let (panels, order) = (p.panels, p.order);
            // Keep the node layout fixed under the perturbation (same panels and order).
            let mk = |c: f64, g: f64, l: f64, k: f64| {
                let tch = TchPseudoVoigt::new(c, g, l).unwrap();
                let asym = FcjAsymmetry { s_l: s * k, h_l: h * k };
                FcjTch::with_layout(tch, asym, panels, order).unwrap()
            };
            let (dl, dh) = p.shift_range();
            let m = p.symmetric().kernel().peak_height();
            for j in 0..=40 {
                let t = c + dl - 2.0 * p.fwhm() + (dh - dl + 4.0 * p.fwhm()) * j as f64 / 40.0;
                let e = p.eval(t);
                assert!((e.value - p.value(t)).abs() < 1e-12 * m);
                let cd =
                    |f: &dyn Fn(f64) -> f64, x: f64, hh: f64| (f(x + hh) - f(x - hh)) / (2.0 * hh);
                let d_c = cd(&|x| mk(x, g, l, 1.0).value(t), c, 1e-6);
                let d_g = cd(&|x| mk(c, x, l, 1.0).value(t), g, 1e-7);
                let d_l = cd(&|x| mk(c, g, x, 1.0).value(t), l, 1e-7);
                // asym scaled at fixed ratio: d/da with a = s + h, k = a'/a.
                let a = s + h;
                let d_a = cd(&|x| mk(c, g, l, x / a).value(t), a, 1e-7);
                let tol = 1e-5 * m / p.fwhm();
                assert!((e.d_center - d_c).abs() < tol, "dc {c} {t}: {} {d_c}", e.d_center);
                assert!((e.d_fwhm_g - d_g).abs() < tol, "dg {c} {t}");
                assert!((e.d_fwhm_l - d_l).abs() < tol, "dl {c} {t}");
                assert!((e.d_asym - d_a).abs() < 1e-5 * m, "da {c} {t}: {} {d_a}", e.d_asym);
            }
        }
    }

    #[test]
    fn batch_equals_pointwise() {
        let grid: Vec<f64> = (0..38_001).map(|i| 5.0 + i as f64 * 0.003).collect();
        for &(c, a) in &[(12.0, 0.05), (100.0, 0.02), (50.0, 0.0)] {
            let p = peak(c, 0.05, 0.04, a);
            let mut out = vec![0.5; grid.len()];
            let r = p.add_scaled(&grid, 3.0, DEFAULT_CUTOFF, &mut out);
            let (lo, hi) = p.support(DEFAULT_CUTOFF);
            for (i, (&t, &o)) in grid.iter().zip(&out).enumerate() {
                let inside = t >= lo && t <= hi;
                let expect = if inside { 0.5 + 3.0 * p.value(t) } else { 0.5 };
                assert!((o - expect).abs() < 1e-12, "{i}");
                assert_eq!(r.contains(&i), inside);
            }
            // Derivative batch equals point-by-point eval.
            let len = grid.len();
            let mut bufs = vec![vec![0.0; len]; 5];
            let [v, dc, dg, dl, da] = &mut bufs[..] else { unreachable!() };
            let mut sl = super::super::ProfileSlices {
                value: v,
                d_center: dc,
                d_fwhm_g: dg,
                d_fwhm_l: dl,
                d_asym: da,
            };
            let r2 = p.add_with_derivatives(&grid, 2.0, DEFAULT_CUTOFF, &mut sl);
            assert_eq!(r, r2);
            for i in r2.clone().step_by(97) {
                let e = p.eval(grid[i]);
                assert!((bufs[0][i] - 2.0 * e.value).abs() < 1e-12);
                assert!((bufs[1][i] - 2.0 * e.d_center).abs() < 1e-9);
                assert!((bufs[4][i] - 2.0 * e.d_asym).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn rejects_bad_inputs() {
        assert!(FcjTch::new(1.0, 0.05, 0.0, FcjAsymmetry::from_sum(0.1)).is_err());
        assert!(FcjTch::new(30.0, 0.05, 0.0, FcjAsymmetry { s_l: -0.01, h_l: 0.02 }).is_err());
        assert!(FcjTch::new(30.0, -0.05, 0.0, FcjAsymmetry::from_sum(0.02)).is_err());
    }

    /// Finds asym (S/L = H/L) whose FCJ range Δ is `ratio` × the FWHM of `tch`.
    fn asym_for_ratio(tch: &TchPseudoVoigt, ratio: f64) -> f64 {
        let c = tch.center_deg();
        let mut a: f64 = 0.01;
        for _ in 0..80 {
            a *= (ratio * tch.fwhm() / end_shift_deg(c, a).abs()).sqrt();
        }
        a
    }

    #[test]
    fn low_order_rules_match_the_converged_quadrature() {
        // At the upper end of each ORDER_BY_RANGE entry, and above it with 8-point panels of
        // ≤ 0.6 H, the chosen layout agrees with a converged 32-panel × 8-point quadrature of
        // the same FCJ integral within 10⁻⁶ × peak height (measured ≤ 3·10⁻⁷); the
        // brute-force test above checks the integral itself. (With 1-H panels, the layout
        // used before, the error reached 2.2·10⁻⁵ just below Δ/H = 1.)
        let mut seen = Vec::new();
        for &ratio in &[0.01, 0.03, 0.1, 0.3, 0.6, 1.0, 1.2, 3.0, 10.0] {
            for &(hg, hl) in &[(0.05, 0.0), (0.03, 0.03), (0.01, 0.05), (0.0, 0.05)] {
                for &(c, rho) in &[(4.0, 0.5), (25.0, 0.2), (70.0, 0.0), (150.0, 0.5)] {
                    let tch = TchPseudoVoigt::new(c, hg, hl).unwrap();
                    let a = asym_for_ratio(&tch, ratio);
                    let asym = FcjAsymmetry { s_l: rho * a, h_l: (1.0 - rho) * a };
                    let p = FcjTch::new(c, hg, hl, asym).unwrap();
                    seen.push(p.order);
                    let conv = FcjTch::with_layout(tch, asym, 32, 8).unwrap();
                    let m = tch.kernel().peak_height();
                    let (lo, hi) = p.shift_range();
                    let h = p.fwhm();
                    let mut worst: f64 = 0.0;
                    for k in 0..=400 {
                        let x = c + lo - 4.0 * h + (hi - lo + 8.0 * h) * k as f64 / 400.0;
                        worst = worst.max((p.value_full(x) - conv.value_full(x)).abs() / m);
                    }
                    assert!(worst < 1e-6, "Δ/H {ratio} {hg} {hl} {c} {rho}: {worst:e}");
                }
            }
        }
        // Every rule was exercised.
        for order in [3, 4, 6, 8] {
            assert!(seen.contains(&order), "order {order} unused");
        }
    }

    /// Cases for the far-tail tests: (2θ₀, H_G, H_L, S/L, H/L). Synchrotron (Δ/H ≈ 0.02–0.4),
    /// lab (Δ/H ≈ 0.1–1), extreme asymmetry (Δ/H up to ≈ 21), S ≠ H, S = 0, above 90°.
    const TAIL_CASES: [(f64, f64, f64, f64, f64); 11] = [
        (2.5, 0.0063, 0.002, 0.001, 0.001),
        (10.0, 0.0063, 0.002, 0.001, 0.001),
        (39.0, 0.0063, 0.002, 0.001, 0.001),
        (15.0, 0.05, 0.03, 0.01, 0.01),
        (45.0, 0.06, 0.04, 0.01, 0.01),
        (120.0, 0.1, 0.05, 0.04, 0.01),
        (5.0, 0.03, 0.02, 0.03, 0.03),
        (3.0, 0.04, 0.04, 0.01, 0.04),
        (20.0, 0.01, 0.005, 0.0, 0.04),
        (30.0, 0.0, 0.05, 0.02, 0.02),
        (160.0, 0.2, 0.1, 0.03, 0.03),
    ];

    #[test]
    fn far_tail_matches_full_quadrature() {
        // The second-moment far-tail approximation against the full quadrature over the whole
        // DEFAULT_CUTOFF support: ≤ TAIL_TOL (the documented Taylor-remainder bound) and hence
        // < 10⁻⁵ of the peak height everywhere.
        let mut fast_fraction_min: f64 = 1.0;
        for &(c, g, l, s, h) in &TAIL_CASES {
            let p = FcjTch::new(c, g, l, FcjAsymmetry { s_l: s, h_l: h }).unwrap();
            let m = p.symmetric().kernel().peak_height();
            let (lo, hi) = p.support(DEFAULT_CUTOFF);
            let (nlo, nhi) = p.near_zone();
            assert!(nlo > lo && nhi < hi, "{c}: near zone {nlo}..{nhi} not inside {lo}..{hi}");
            let mut worst: f64 = 0.0;
            let n = 20_000;
            let probe = (0..=n)
                .map(|k| lo + (hi - lo) * k as f64 / n as f64)
                // Just outside the near zone, where the approximation is worst.
                .chain((0..200).flat_map(|k| {
                    let e = 1e-3 * p.fwhm() * k as f64;
                    [nlo - e, nhi + e]
                }));
            for x in probe {
                let e = (p.value(x) - p.value_full(x)).abs() / m;
                worst = worst.max(e);
            }
            // TAIL_TOL = 10⁻⁷, so this also shows the required < 10⁻⁵.
            assert!(worst <= TAIL_TOL, "{c} {g} {l} {s} {h}: {worst:e}");
            if g * s > 0.0 && p.panels <= 2 {
                // Ordinary peaks (Δ ≲ H): the fast path covers most of the support.
                fast_fraction_min = fast_fraction_min.min(1.0 - (nhi - nlo) / (hi - lo));
            }
        }
        // The fast path covers > 90 % of ordinary supports (else the test would be vacuous).
        assert!(fast_fraction_min > 0.9, "{fast_fraction_min}");
        // The bound is not vacuous either: a plain centroid shift (κ = 0) is visibly worse
        // just outside the near zone of a lab peak.
        let p = FcjTch::new(15.0, 0.05, 0.03, FcjAsymmetry { s_l: 0.01, h_l: 0.01 }).unwrap();
        let x = p.near_zone().0 - 1e-9;
        let z = x - p.center_deg() - p.tail.mean;
        let centroid_only = p.kernel().lorentz_smeared(z, 0.0);
        let m = p.symmetric().kernel().peak_height();
        assert!(
            (centroid_only - p.value_full(x)).abs() > 10.0 * (p.value(x) - p.value_full(x)).abs()
        );
        assert!((centroid_only - p.value_full(x)).abs() > 1e-7 * m);
    }

    #[test]
    fn far_tail_keeps_unit_area() {
        // Analytic limit: unit area up to the documented truncation bound, for the
        // synchrotron peak whose support is ≈ 700 FWHM of mostly far tail; and the far-tail
        // approximation changes the area by < 10⁻⁷ (it integrates to the same moments).
        let bound = truncated_area_bound(DEFAULT_CUTOFF);
        for &(c, g, l, a) in &[(6.0, 0.0063, 0.0021, 0.002), (25.0, 0.05, 0.03, 0.02)] {
            let p = peak(c, g, l, a);
            let (lo, hi) = p.support(DEFAULT_CUTOFF);
            let (nlo, nhi) = p.near_zone();
            let (a0, a1) = (nlo - p.fwhm(), nhi + p.fwhm());
            let area = |f: &dyn Fn(f64) -> f64| {
                simpson(f, lo, a0, 200_000)
                    + simpson(f, a0, a1, 40_000)
                    + simpson(f, a1, hi, 200_000)
            };
            let fast = area(&|t| p.value(t));
            let full = area(&|t| p.value_full(t));
            assert!(fast <= 1.0 + 1e-7 && fast >= 1.0 - bound, "{c}: {fast}");
            assert!((fast - full).abs() < 1e-7, "{c}: {fast} vs {full}");
        }
    }

    #[test]
    fn far_tail_derivatives_match_finite_differences() {
        for &(c, g, l, s, h) in &TAIL_CASES {
            if g == 0.0 || l == 0.0 {
                continue; // one-sided widths: covered by the pure-limit tests of tch.rs
            }
            let p = FcjTch::new(c, g, l, FcjAsymmetry { s_l: s, h_l: h }).unwrap();
            let (panels, order) = (p.panels, p.order);
            let mk = |c: f64, g: f64, l: f64, k: f64| {
                let tch = TchPseudoVoigt::new(c, g, l).unwrap();
                let asym = FcjAsymmetry { s_l: s * k, h_l: h * k };
                FcjTch::with_layout(tch, asym, panels, order).unwrap()
            };
            let (nlo, nhi) = p.near_zone();
            let (lo, hi) = p.support(DEFAULT_CUTOFF);
            let a = s + h;
            for j in 0..=20 {
                let f = (j as f64 / 20.0).powi(2);
                for t in
                    [nlo - 0.5 * p.fwhm() - f * (nlo - lo), nhi + 0.5 * p.fwhm() + f * (hi - nhi)]
                {
                    let e = p.eval(t);
                    assert!((e.value - p.value(t)).abs() <= 1e-14 * p.value(t));
                    let cd = |f: &dyn Fn(f64) -> f64, x: f64, hh: f64| {
                        (f(x + hh) - f(x - hh)) / (2.0 * hh)
                    };
                    let d_c = cd(&|x| mk(x, g, l, 1.0).value(t), c, 1e-6);
                    let d_g = cd(&|x| mk(c, x, l, 1.0).value(t), g, 1e-7);
                    let d_l = cd(&|x| mk(c, g, x, 1.0).value(t), l, 1e-7);
                    let d_a = cd(&|x| mk(c, g, l, x / a).value(t), a, 1e-7);
                    // Relative to the local value: the tails are small.
                    let ok = |an: f64, fd: f64, scale: f64| (an - fd).abs() <= 1e-5 * scale;
                    let v = e.value;
                    let tz = (t - c).abs();
                    assert!(ok(e.d_center, d_c, v / tz), "dc {c} {t}: {} {d_c}", e.d_center);
                    assert!(ok(e.d_fwhm_g, d_g, v / p.fwhm()), "dg {c} {t}: {} {d_g}", e.d_fwhm_g);
                    assert!(ok(e.d_fwhm_l, d_l, v / p.fwhm()), "dl {c} {t}: {} {d_l}", e.d_fwhm_l);
                    assert!(ok(e.d_asym, d_a, v.max(d_a.abs())), "da {c} {t}: {} {d_a}", e.d_asym);
                }
            }
        }
    }
}
