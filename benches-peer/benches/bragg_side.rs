//! bragg's side of the peer benchmark — **TO BE FILLED BY THE LEAD** once bragg's pattern API
//! exists. Compiled only with `cargo bench --features bragg`.
//!
//! Contract (mirrors `bragg_benches_peer::phasesmith_side`):
//! * [`BraggWorkload::new`] builds bragg's model from a [`WorkloadSpec`] (not timed): the
//!   phases (cell, space group from `spec.space_group_symbol`, atoms with B_iso), radiation
//!   from `spec.wavelengths` (Kα1 relative 1, Kα2 0.5), the TCH widths in
//!   `spec::BRAGG_WIDTH_CONVENTION`, FCJ `spec.fcj` (S/L, H/L), LP with
//!   `spec.polarization.fraction()`, the 6-term Chebyshev background `spec.background` over
//!   [`WorkloadSpec::two_theta_start_deg`, `two_theta_end_deg()`], grid `spec.grid()`.
//! * [`BraggWorkload::simulate_full`] is timed as `bragg` in each criterion group: model →
//!   y_calc including reflection generation and structure factors (as PhaseSmith's
//!   `phasesmith` function). Generate reflections over the pattern range widened by
//!   `phasesmith_side::REFLECTION_MARGIN_DEG` (1°) on each side, as PhaseSmith does.
//! * [`BraggWorkload::evaluate_cached`] is timed as `bragg_cached`: bragg's re-evaluation
//!   with the reflection list (and, if bragg caches them, |F|²) reused — compare with
//!   `phasesmith_prepared`.
//! * Match truncation: PhaseSmith runs with a discarded-area budget of 9e-4 per peak
//!   (`MATCHED_SUPPORT`), the worst-case bound of bragg's `DEFAULT_CUTOFF` = 4e-6.
//! * f′/f″: PhaseSmith uses f0 only. Either disable dispersion on bragg's side, or pass
//!   bragg's `scattering::anomalous::dispersion_at_wavelength` values to PhaseSmith through
//!   `phasesmith_side::Dispersion` in `benches/peer.rs` so both use the same f′/f″.
//! * Kα doublet: PhaseSmith normalises the relative intensities to unit sum (Kα1 2/3,
//!   Kα2 1/3 of scale·m·|F|²·LP). If bragg does not, its lab intensities are 1.5× PhaseSmith's
//!   (irrelevant for speed; relevant for the out/ comparison).

use bragg_benches_peer::spec::WorkloadSpec;

/// bragg's model for one workload (fill in).
pub struct BraggWorkload {
    /// The grid (degrees 2θ).
    pub x_deg: Vec<f64>,
    // TODO(lead): bragg's structure(s), instrument, radiation, background, cached reflections.
}

impl BraggWorkload {
    /// Build bragg's model from the shared spec (not timed).
    pub fn new(spec: &WorkloadSpec) -> Self {
        // TODO(lead): translate `spec` into bragg's types.
        Self { x_deg: spec.grid() }
    }

    /// Full model → y_calc (reflection generation + |F|² + profiles + background). Timed.
    pub fn simulate_full(&mut self) -> Vec<f64> {
        // TODO(lead): call bragg's simulate / pattern API here.
        vec![0.0; self.x_deg.len()]
    }

    /// Cached re-evaluation (reflection list reused). Timed.
    pub fn evaluate_cached(&mut self) -> Vec<f64> {
        // TODO(lead): call bragg's cached evaluation here.
        vec![0.0; self.x_deg.len()]
    }
}
