//! Peak profiles of a constant-wavelength powder pattern.
//!
//! * [`widths`]: the Caglioti Gaussian width and the Lorentzian width as functions of 2θ
//!   (FullProf/TCH units: U, V, W, P in deg², X, Y in deg; conversion from GSAS centidegrees).
//! * [`tch`]: the Thompson–Cox–Hastings pseudo-Voigt (TCH 1987, J. Appl. Cryst. 20, 79).
//! * [`fcj`]: the Finger–Cox–Jephcoat axial-divergence asymmetry (FCJ 1994, J. Appl. Cryst.
//!   27, 892), convolved with the TCH pseudo-Voigt by Gauss–Legendre quadrature.
//! * [`berar`]: the Bérar–Baldinozzi empirical asymmetry (J. Appl. Cryst. 1993, 26, 128;
//!   FullProf's `Asy1`…`Asy4`), a multiplier on either of the above.
//!
//! Every profile has unit area over 2θ in **degrees**, so `scale × profile` adds an integrated
//! intensity `scale` (counts·degree). The [`PeakShape`] trait gives the value and all
//! derivatives from one call, the FWHM, the area and the support, and batch methods that add
//! a scaled profile over a sorted 2θ grid (the window is found by binary search).
//!
//! # Truncation of the tails
//! Pseudo-Voigt tails fall off as 1/z², so truncating them loses area. [`PeakShape::support`]
//! with `cutoff` c returns the interval outside which every component of the profile is below
//! c × its maximum; the area lost outside it is at most [`truncated_area_bound`]`(c)`
//! = (2/π)·√(c/(2 − c)) + c for every η (worst case: pure Lorentzian). The default
//! [`DEFAULT_CUTOFF`] = 4·10⁻⁶ loses at most 0.090 % of the area (window ≈ ±354 FWHM for a
//! pure Lorentzian, ±2.3 FWHM for a pure Gaussian). For comparison, GSAS-II truncates at
//! −10/+15 FWHM and FullProf at `WDT` FWHM (typically 8–20), losing 2–4 % of a Lorentzian's
//! area. Far from the centre (|z| > 3.8 FWHM) the kernels skip the Gaussian term (below
//! 4·10⁻¹⁸ of its peak), so the long Lorentzian tails cost one division per point; for FCJ
//! peaks too, where beyond a near zone the quadrature over the axial-divergence shifts is
//! replaced by a second-order moment expansion with error ≤ 10⁻⁷ of the peak height (see
//! [`fcj`], "Far tails").

pub mod berar;
pub mod fcj;
pub mod flat_specimen;
mod gauss_legendre;
pub mod pseudo_voigt;
pub mod tch;
pub mod widths;

use std::ops::Range;

pub use berar::{BbShape, BerarBaldinozzi};
pub use fcj::{FcjAsymmetry, FcjTch};
pub use pseudo_voigt::{PseudoVoigt, PseudoVoigtPeak, PvPartials};
pub use tch::{tch_mix, TchMix, TchPseudoVoigt};
pub use widths::{ProfileFunction, ProfileParams, Widths};

/// What a pattern draws at every peak: the peak function and the asymmetry models — the FCJ
/// axial divergence (convolved; TCH only) and the Bérar–Baldinozzi factor (multiplied);
/// either, both or neither.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Asymmetry {
    /// The peak function (TCH or FullProf's pseudo-Voigt).
    pub function: ProfileFunction,
    /// FCJ (S + H)/L, dimensionless (0: none).
    pub fcj: f64,
    /// Bérar–Baldinozzi P₁…P₄ (all 0: none).
    pub bb: BerarBaldinozzi,
    /// Peak window ±`window_fwhm` × FWHM (0: the default area cutoff); see
    /// [`ProfileParams::window_fwhm`].
    pub window_fwhm: f64,
}

impl Asymmetry {
    /// The peak function and asymmetry of a set of profile parameters.
    pub fn of(profile: &ProfileParams) -> Self {
        Self {
            function: profile.function,
            fcj: profile.asym,
            bb: BerarBaldinozzi { p: profile.bb },
            window_fwhm: profile.window_fwhm,
        }
    }
}

/// Default relative cutoff for [`PeakShape::support`]: the truncated area is at most
/// [`truncated_area_bound`]`(4e-6)` ≈ 9.0·10⁻⁴ (0.090 %) of the peak's area.
pub const DEFAULT_CUTOFF: f64 = 4.0e-6;

/// Upper bound on the fraction of a peak's unit area that lies outside
/// [`PeakShape::support`]`(cutoff)`: (2/π)·√(c/(2 − c)) + c, valid for every η in [0, 1] and
/// for the FCJ-convolved profiles (whose support contains every shifted component's support).
///
/// Derivation: the Lorentzian component with FWHM H is cut where it falls to c/2 of the total
/// peak height, i.e. at |z| = (H/2)·√(2ηL₀/(cM) − 1) (L₀ = 2/(πH), M the peak height), and a
/// unit Lorentzian loses (2/π)·atan(H/(2|z|)) beyond ±|z|; maximised over η this gives the
/// first term; the Gaussian component loses erfc(√ln(2/c)) < c.
pub fn truncated_area_bound(cutoff: f64) -> f64 {
    2.0 / std::f64::consts::PI * (cutoff / (2.0 - cutoff)).sqrt() + cutoff
}

/// A profile value and its partial derivatives at one 2θ, all from one evaluation.
///
/// Units: `value` in 1/degree (unit area over 2θ in degrees); derivatives per degree of the
/// named width or position, `d_asym` per unit of the dimensionless `asym` = S/L + H/L.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ProfilePoint {
    /// Profile value (1/degree).
    pub value: f64,
    /// ∂value/∂2θ₀ with respect to the peak position (1/degree²). For FCJ peaks this includes
    /// the dependence of the asymmetry on the position.
    pub d_center: f64,
    /// ∂value/∂H_G, the Gaussian FWHM (1/degree²).
    pub d_fwhm_g: f64,
    /// ∂value/∂H_L, the Lorentzian FWHM (1/degree²).
    pub d_fwhm_l: f64,
    /// ∂value/∂asym at a fixed ratio S/L : H/L (1/degree); 0 for symmetric shapes.
    pub d_asym: f64,
}

/// Output slices for [`PeakShape::add_with_derivatives`]: each receives `scale ×` the
/// corresponding field of [`ProfilePoint`]. All slices must have the length of the 2θ grid.
#[derive(Debug)]
pub struct ProfileSlices<'a> {
    /// Accumulates scale × value.
    pub value: &'a mut [f64],
    /// Accumulates scale × ∂value/∂2θ₀.
    pub d_center: &'a mut [f64],
    /// Accumulates scale × ∂value/∂H_G.
    pub d_fwhm_g: &'a mut [f64],
    /// Accumulates scale × ∂value/∂H_L.
    pub d_fwhm_l: &'a mut [f64],
    /// Accumulates scale × ∂value/∂asym.
    pub d_asym: &'a mut [f64],
}

/// Index range of the sorted grid `two_theta_deg` that lies inside `[lo, hi]` (binary search).
pub fn window(two_theta_deg: &[f64], lo: f64, hi: f64) -> Range<usize> {
    let start = two_theta_deg.partition_point(|&t| t < lo);
    let end = two_theta_deg.partition_point(|&t| t <= hi).max(start);
    start..end
}

/// A normalised peak shape in 2θ (degrees).
///
/// Implementors give the value and all derivatives from one call ([`PeakShape::eval`]); the
/// batch methods add `scale × profile` over the part of a sorted 2θ grid inside
/// [`PeakShape::support`] and return the index range they touched.
pub trait PeakShape {
    /// Peak position 2θ₀ (degrees) of the underlying symmetric profile.
    fn center_deg(&self) -> f64;

    /// Value and all partial derivatives at `two_theta_deg`.
    fn eval(&self, two_theta_deg: f64) -> ProfilePoint;

    /// Value only at `two_theta_deg` (1/degree); equals `eval(..).value`.
    fn value(&self, two_theta_deg: f64) -> f64;

    /// FWHM of the underlying symmetric profile (degrees): the TCH H.
    fn fwhm(&self) -> f64;

    /// Integral of the profile over all 2θ in degrees; 1 for every normalised bragg shape,
    /// so `scale` in the batch methods is the integrated intensity.
    fn area(&self) -> f64 {
        1.0
    }

    /// The interval (lo_deg, hi_deg) outside which the profile is below `cutoff` × its
    /// maximum (see the module documentation; lost area ≤ [`truncated_area_bound`]).
    fn support(&self, cutoff: f64) -> (f64, f64);

    /// Adds `scale × profile` at every grid point inside `support(cutoff)` to `out`
    /// (`out.len() == two_theta_deg.len()`, grid sorted ascending); returns the touched range.
    fn add_scaled(
        &self,
        two_theta_deg: &[f64],
        scale: f64,
        cutoff: f64,
        out: &mut [f64],
    ) -> Range<usize> {
        let (lo, hi) = self.support(cutoff);
        let r = window(two_theta_deg, lo, hi);
        let n = out.len().min(two_theta_deg.len());
        let r = r.start.min(n)..r.end.min(n);
        for (o, &t) in out[r.clone()].iter_mut().zip(&two_theta_deg[r.clone()]) {
            *o += scale * self.value(t);
        }
        r
    }

    /// Calls `f(index, point)` for every grid point inside `support(cutoff)`; returns the
    /// range. Use it to chain the derivatives into refinement parameters without storing them.
    fn for_each_in_support<F: FnMut(usize, &ProfilePoint)>(
        &self,
        two_theta_deg: &[f64],
        cutoff: f64,
        mut f: F,
    ) -> Range<usize>
    where
        Self: Sized,
    {
        let (lo, hi) = self.support(cutoff);
        let r = window(two_theta_deg, lo, hi);
        for i in r.clone() {
            f(i, &self.eval(two_theta_deg[i]));
        }
        r
    }

    /// Adds `scale ×` the value and each derivative into `out` over `support(cutoff)`;
    /// returns the touched range (clipped to the shortest slice).
    fn add_with_derivatives(
        &self,
        two_theta_deg: &[f64],
        scale: f64,
        cutoff: f64,
        out: &mut ProfileSlices<'_>,
    ) -> Range<usize>
    where
        Self: Sized,
    {
        let n = [
            two_theta_deg.len(),
            out.value.len(),
            out.d_center.len(),
            out.d_fwhm_g.len(),
            out.d_fwhm_l.len(),
            out.d_asym.len(),
        ]
        .into_iter()
        .min()
        .unwrap_or(0);
        let grid = &two_theta_deg[..n];
        self.for_each_in_support(grid, cutoff, |i, p| {
            out.value[i] += scale * p.value;
            out.d_center[i] += scale * p.d_center;
            out.d_fwhm_g[i] += scale * p.d_fwhm_g;
            out.d_fwhm_l[i] += scale * p.d_fwhm_l;
            out.d_asym[i] += scale * p.d_asym;
        })
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    /// Composite Simpson integral of `f` over [a, b] with `n` (even) intervals.
    pub fn simpson<F: Fn(f64) -> f64>(f: F, a: f64, b: f64, n: usize) -> f64 {
        let h = (b - a) / n as f64;
        let mut s = f(a) + f(b);
        for i in 1..n {
            let w = if i % 2 == 1 { 4.0 } else { 2.0 };
            s += w * f(a + i as f64 * h);
        }
        s * h / 3.0
    }
}
