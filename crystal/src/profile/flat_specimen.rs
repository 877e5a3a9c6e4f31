//! The flat-specimen (equatorial divergence) aberration of a Bragg–Brentano diffractometer.
//!
//! Source: R. W. Cheary & A. Coelho (1992), *J. Appl. Cryst.* 25, 109–121, and R. W. Cheary,
//! A. A. Coelho & J. P. Cline (2004), *J. Res. NIST* 109, 1–25 (§3.2, "flat specimen"). A flat
//! specimen tangent to the focusing circle, lit by a beam of equatorial divergence α (the
//! divergence slit's full angle), broadens each peak towards low angle with the aberration
//! function
//!
//! f(ε) = 1 / (2·√(ε_m·ε)) for ε_m ≤ ε ≤ 0,  ε_m = −(α²/2)·cot θ  (radians of 2θ),
//!
//! of unit area, centroid ε_m/3 = −(α²/6)·cot θ (the classical flat-specimen peak shift, Klug &
//! Alexander, *X-ray Diffraction Procedures*, 2nd ed. 1974, §5-2) and variance
//! (4/45)·ε_m². The tail is on the low-angle side at every 2θ and vanishes towards 180°.
//!
//! # Quadrature
//! With ε = ε_m·u² the aberration is uniform in u ∈ [0, 1], so a peak P convolved with it is
//! ∫₀¹ P(2θ − 2θ₀ − ε_m·u²) du: a sum of copies of P shifted by ε_m·uᵢ² with weights wᵢ
//! (composite 4-point Gauss–Legendre in u). A panel of width 1/n in u spans at most 2|ε_m|/n
//! of shift, so n = ⌈4|ε_m|/H⌉ panels (H the FWHM) keep each panel within H/2, at most
//! [`MAX_PANELS`]. The copies keep the widths and asymmetry of P.
//!
//! Units: angles in degrees at the interface (α and 2θ), radians inside.

use super::gauss_legendre;
use crate::error::{Error, Result};

/// Most panels of 4 Gauss–Legendre nodes (64 copies of the peak).
pub const MAX_PANELS: usize = 16;

/// Nodes per panel.
const ORDER: usize = 4;

/// One shifted copy of a peak.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlatSpecimenNode {
    /// Shift ε_m·u² of the copy (degrees 2θ).
    pub shift_deg: f64,
    /// Weight (the weights sum to 1).
    pub weight: f64,
    /// ∂shift/∂2θ₀ (degrees per degree), through ε_m(θ).
    pub dshift_dcenter: f64,
    /// ∂shift/∂α (degrees 2θ per degree of divergence).
    pub dshift_ddivergence: f64,
}

/// ε_m = −(α²/2)·cot θ in degrees 2θ for a peak at `center_deg` and a divergence of
/// `divergence_deg` (both degrees), with ∂ε_m/∂2θ₀ (degrees per degree) and ∂ε_m/∂α
/// (degrees per degree).
pub fn tail_length_deg(center_deg: f64, divergence_deg: f64) -> (f64, f64, f64) {
    let alpha = divergence_deg.to_radians();
    let theta = 0.5 * center_deg.to_radians();
    let (s, c) = theta.sin_cos();
    let em = -(0.5 * alpha * alpha) * (c / s);
    // d cot θ / d(2θ in degrees) = −csc²θ · ½ · π/180, and ε_m in degrees = em·180/π.
    let dem_dc = 0.25 * alpha * alpha / (s * s);
    // ∂/∂α_deg of −(α²/2)cot θ·(180/π) = −α·cot θ (α in radians).
    let dem_da = -alpha * (c / s);
    (em.to_degrees(), dem_dc, dem_da)
}

/// The shifted copies that draw a peak at `center_deg` of FWHM `fwhm_deg` convolved with the
/// flat-specimen aberration of divergence `divergence_deg` (module documentation); an empty
/// list for α = 0. Errors for α not finite or negative, or a peak at or beyond 0°/180°.
pub fn nodes(center_deg: f64, fwhm_deg: f64, divergence_deg: f64) -> Result<Vec<FlatSpecimenNode>> {
    let mut out = Vec::new();
    nodes_into(center_deg, fwhm_deg, divergence_deg, &mut out)?;
    Ok(out)
}

/// [`nodes`] into `out` (cleared first), so that a caller drawing many peaks reuses one
/// allocation.
pub fn nodes_into(
    center_deg: f64,
    fwhm_deg: f64,
    divergence_deg: f64,
    out: &mut Vec<FlatSpecimenNode>,
) -> Result<()> {
    out.clear();
    if !(divergence_deg.is_finite() && divergence_deg >= 0.0) {
        return Err(Error::InvalidValue {
            name: "inst.divergence_deg".into(),
            value: divergence_deg,
            reason: "must be finite and ≥ 0 (degrees)",
        });
    }
    if divergence_deg == 0.0 {
        return Ok(());
    }
    if !(center_deg > 0.0 && center_deg < 180.0) {
        return Err(Error::InvalidValue {
            name: "peak position (degrees 2θ)".into(),
            value: center_deg,
            reason: "the flat-specimen aberration needs 0° < 2θ < 180°",
        });
    }
    let (em, dem_dc, dem_da) = tail_length_deg(center_deg, divergence_deg);
    let ratio = if fwhm_deg > 0.0 { 4.0 * em.abs() / fwhm_deg } else { f64::INFINITY };
    let panels =
        if ratio.is_finite() { (ratio.ceil() as usize).clamp(1, MAX_PANELS) } else { MAX_PANELS };
    let (x, w) = gauss_legendre::rule(ORDER);
    let width = 1.0 / panels as f64;
    out.reserve(panels * ORDER);
    for p in 0..panels {
        let mid = (p as f64 + 0.5) * width;
        for (xi, wi) in x.iter().zip(w) {
            let u = mid + 0.5 * width * xi;
            let u2 = u * u;
            out.push(FlatSpecimenNode {
                shift_deg: em * u2,
                weight: 0.5 * width * wi,
                dshift_dcenter: dem_dc * u2,
                dshift_ddivergence: dem_da * u2,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Weights sum to 1; the centroid is ε_m/3 = −(α²/6)·cot θ (Klug & Alexander §5-2) and
    /// the variance (4/45)·ε_m², the moments of f(ε) = 1/(2√(ε_m ε)) on [ε_m, 0].
    #[test]
    fn moments_match_the_aberration_function() {
        for (tt, alpha, fwhm) in [(20.0, 1.0, 0.05), (60.0, 0.5, 0.1), (140.0, 2.0, 0.2)] {
            let n = nodes(tt, fwhm, alpha).unwrap();
            let sum: f64 = n.iter().map(|k| k.weight).sum();
            let mean: f64 = n.iter().map(|k| k.weight * k.shift_deg).sum();
            let var: f64 = n.iter().map(|k| k.weight * (k.shift_deg - mean).powi(2)).sum();
            let a = f64::to_radians(alpha);
            let theta = f64::to_radians(0.5 * tt);
            let centroid = -(a * a / 6.0) / theta.tan();
            assert!((sum - 1.0).abs() < 1e-14);
            assert!((mean - centroid.to_degrees()).abs() < 1e-12 * mean.abs().max(1e-9), "{tt}");
            let em = 3.0 * centroid.to_degrees();
            assert!((var - 4.0 / 45.0 * em * em).abs() < 1e-10 * em * em, "{tt}: {var}");
            // The tail is on the low-angle side at every angle.
            assert!(mean < 0.0, "{tt}");
        }
        assert!(nodes(30.0, 0.1, 0.0).unwrap().is_empty());
        for bad in [-0.5, f64::NAN] {
            assert!(nodes(30.0, 0.1, bad).is_err());
        }
        assert!(nodes(0.0, 0.1, 1.0).is_err());
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let (tt, alpha) = (35.0, 0.8);
        let (_, dc, da) = tail_length_deg(tt, alpha);
        let h = 1e-6;
        let fd_c =
            (tail_length_deg(tt + h, alpha).0 - tail_length_deg(tt - h, alpha).0) / (2.0 * h);
        let fd_a =
            (tail_length_deg(tt, alpha + h).0 - tail_length_deg(tt, alpha - h).0) / (2.0 * h);
        assert!((dc - fd_c).abs() < 1e-7 * fd_c.abs());
        assert!((da - fd_a).abs() < 1e-7 * fd_a.abs());
    }

    /// Panels follow the tail: a tail much longer than the FWHM gets more nodes.
    #[test]
    fn panel_count_follows_the_tail_length() {
        assert_eq!(nodes(60.0, 1.0, 0.5).unwrap().len(), ORDER);
        let long = nodes(10.0, 0.01, 2.0).unwrap();
        assert_eq!(long.len(), MAX_PANELS * ORDER);
    }
}
