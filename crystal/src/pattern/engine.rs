//! The pattern engine: one code path for y_calc and, on request, its Jacobian ∂y/∂p with
//! respect to any list of [`Target`]s.
//!
//! Per peak (reflection k, wavelength component c) the engine computes the area A, the
//! position 2θ_k, the widths H_G, H_L and — for each target — the derivatives (∂A, ∂2θ_k, ∂H_G,
//! ∂H_L, ∂asym); the profile then supplies Ω and ∂Ω/∂(2θ_k, H_G, H_L, asym) at each point of
//! the peak's window from one call, and the chain rule gives
//!
//! ```text
//! ∂y_i/∂p = Σ_k ∂A_k/∂p·Ω_k(i)
//!         + A_k·(∂Ω/∂2θ_k·∂2θ_k/∂p + ∂Ω/∂H_G·∂H_G/∂p + ∂Ω/∂H_L·∂H_L/∂p + ∂Ω/∂asym·∂asym/∂p)
//! ```
//!
//! Cell derivatives go through Q = 1/d² = hᵀG*h with ∂G*/∂p = −G*(∂G/∂p)G* (ITA Vol. B
//! §1.1), and 2θ_B = 2 asin(λ√Q/2) so that ∂2θ_B/∂Q = λ/(2√Q cosθ) (radians). Every derivative
//! is checked against finite differences in `crystal/tests/jacobian.rs`.

use super::target::ProfileTerm;
use super::{
    Geometry, Instrument, PatternModel, PeakReflection, PhaseContribution, PhaseReflections,
    ProbeKind, SimulatedPattern, Target,
};
use crate::error::{Error, Result};
use crate::profile::{
    flat_specimen, Asymmetry, BbShape, FcjAsymmetry, FcjTch, PeakShape, ProfileFunction,
    ProfilePoint, PseudoVoigtPeak, TchPseudoVoigt, DEFAULT_CUTOFF,
};
use crate::reflection::{self, Reflection};
use crate::structure::Phase;
use crate::structure_factor::{StructureFactors, StructureParam};
use crate::symmetry::CellParam;
use crate::units::two_theta_deg;
use nalgebra::{DMatrix, Matrix3, Vector3};
use rayon::prelude::*;
use std::f64::consts::PI;

const DEG: f64 = 180.0 / PI;

/// One peak ready to be drawn: position, integrated area, widths.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// Position, degrees 2θ.
    pub center_deg: f64,
    /// Integrated area (counts·degree).
    pub area: f64,
    /// Gaussian FWHM, degrees.
    pub fwhm_g_deg: f64,
    /// Lorentzian FWHM, degrees.
    pub fwhm_l_deg: f64,
}

/// Derivatives of one peak's descriptors with respect to one Jacobian column.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PeakDeriv {
    col: usize,
    d_area: f64,
    d_center: f64,
    d_g: f64,
    d_l: f64,
    d_asym: f64,
    /// For a Bérar–Baldinozzi target: its index 0…3 (the other fields are then 0).
    bb: Option<usize>,
}

/// What the engine reports of each reflection (primary wavelength component).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeakRecord {
    /// hkl, multiplicity and current d.
    pub reflection: Reflection,
    /// |F|² (or the extracted intensity in Le Bail / Pawley mode).
    pub f2: f64,
    /// Peak position at the primary wavelength (degrees 2θ).
    pub two_theta_deg: f64,
    /// Integrated area of the primary-wavelength peak (counts·degree).
    pub area: f64,
    /// Total area over all wavelength components (counts·degree).
    pub area_all_components: f64,
    /// Whether the profile widths had to be floored (see [`Evaluator::set_width_floor`]).
    pub width_floored: bool,
}

/// The result of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Background + phases at each grid point.
    pub total: Vec<f64>,
    /// Background alone.
    pub background: Vec<f64>,
    /// Each phase alone.
    pub phases: Vec<Vec<f64>>,
    /// Each phase's reflections as evaluated.
    pub records: Vec<Vec<PeakRecord>>,
}

/// A fixed grid and fixed per-phase reflection lists, ready to evaluate a model (and its
/// Jacobian) many times, as a refinement does. The reflection lists are generated once, with
/// a 2 % margin in d so that a refined cell does not lose reflections at the range end.
#[derive(Debug, Clone)]
pub struct Evaluator {
    grid: Vec<f64>,
    reflections: Vec<Vec<Reflection>>,
    /// Per phase, per reflection, its equivalent hkls (only for phases with preferred
    /// orientation).
    equivalents: Vec<Option<Vec<Vec<[i32; 3]>>>>,
    /// Floor unphysical widths instead of failing (see [`Evaluator::set_width_floor`]).
    width_floor: bool,
}

/// Gaussian FWHM (degrees) used where the Caglioti H_G² = U tan²θ + V tanθ + W + P/cos²θ is
/// negative, when width flooring is on (GSAS-II floors its Gaussian variance the same way).
pub const GAUSSIAN_FWHM_FLOOR_DEG: f64 = 1e-4;

/// The widths at `center` with the Gaussian FWHM floored at [`GAUSSIAN_FWHM_FLOOR_DEG`] where
/// H_G² is negative and the Lorentzian at 0 where H_L is negative; the floored terms have zero
/// derivatives (the floor is flat).
fn floored_widths(
    profile: &crate::profile::ProfileParams,
    center_deg: f64,
) -> Result<crate::profile::Widths> {
    let theta = 0.5 * center_deg.to_radians();
    let (t, c) = (theta.tan(), theta.cos());
    let hg2 = profile.u * t * t + profile.v * t + profile.w + profile.p / (c * c);
    let hl = match profile.function {
        crate::profile::ProfileFunction::Tch => profile.x * t + profile.y / c,
        // The pseudo-Voigt's η = Y + X·2θ takes the Lorentzian width's place.
        crate::profile::ProfileFunction::PseudoVoigt => profile.y + profile.x * center_deg,
    };
    let floor_g = hg2 < GAUSSIAN_FWHM_FLOOR_DEG * GAUSSIAN_FWHM_FLOOR_DEG;
    let floor_l = hl < 0.0;
    let mut p = *profile;
    if floor_g {
        (p.u, p.v, p.w, p.p) = (0.0, 0.0, GAUSSIAN_FWHM_FLOOR_DEG * GAUSSIAN_FWHM_FLOOR_DEG, 0.0);
    }
    if floor_l {
        (p.x, p.y) = (0.0, 0.0);
    }
    let mut w = p.widths(center_deg)?;
    if floor_g {
        (w.dg_du, w.dg_dv, w.dg_dw, w.dg_dp, w.dg_dtth) = (0.0, 0.0, 0.0, 0.0, 0.0);
    }
    if floor_l {
        (w.dl_dx, w.dl_dy, w.dl_dtth) = (0.0, 0.0, 0.0);
    }
    Ok(w)
}

/// Highest 2θ (degrees) whose peaks can reach a grid ending at `max_deg`: the grid end plus a
/// margin of 30 FWHM (the Lorentzian tails), capped below 180°.
fn reach_deg(instrument: &Instrument, max_deg: f64) -> f64 {
    let fwhm = instrument.profile.fwhm_estimate(max_deg.clamp(1.0, 179.0)).unwrap_or(0.5);
    (max_deg + 30.0 * fwhm).min(179.9)
}

/// d_min (Å) of the reflections that can reach a grid ending at `max_deg`, with a relative
/// `margin` (0.02 keeps reflections that a 2 % larger cell would bring in). The shortest
/// wavelength sets it: a reflection reaches the grid if any component's peak does, and the
/// shortest wavelength puts it at the lowest 2θ.
fn d_min_for(instrument: &Instrument, max_deg: f64, margin: f64) -> f64 {
    let shortest = instrument
        .radiation
        .components()
        .iter()
        .map(|c| c.wavelength_angstrom)
        .fold(f64::INFINITY, f64::min);
    let theta_max = 0.5 * reach_deg(instrument, max_deg).to_radians();
    shortest / (2.0 * theta_max.sin()) * (1.0 - margin)
}

fn check_grid(grid: &[f64]) -> Result<()> {
    if grid.is_empty() {
        return Err(Error::InvalidRange { reason: "the 2θ grid is empty".into() });
    }
    if let Some(i) = grid.iter().position(|t| !t.is_finite()) {
        return Err(Error::InvalidRange { reason: format!("2θ value #{} is not finite", i + 1) });
    }
    if let Some(i) = grid.windows(2).position(|w| w[1] <= w[0]) {
        return Err(Error::InvalidRange {
            reason: format!("2θ values must increase strictly (points #{} and #{})", i + 1, i + 2),
        });
    }
    Ok(())
}

impl Evaluator {
    /// Prepares the reflection lists of every phase of `model` for the sorted 2θ grid
    /// (degrees).
    pub fn new(model: &PatternModel, grid: &[f64]) -> Result<Self> {
        Self::with_margin(model, grid, 0.02)
    }

    fn with_margin(model: &PatternModel, grid: &[f64], margin: f64) -> Result<Self> {
        check_grid(grid)?;
        model.instrument.validate()?;
        let max_deg = grid[grid.len() - 1];
        let d_min = d_min_for(&model.instrument, max_deg, margin);
        let mut reflections = Vec::with_capacity(model.phases.len());
        let mut equivalents = Vec::with_capacity(model.phases.len());
        for c in &model.phases {
            let list = reflection::generate(&c.phase.cell, &c.phase.space_group, d_min)?;
            equivalents.push(c.preferred_orientation.map(|_| {
                list.iter().map(|r| c.phase.space_group.equivalent_reflections(r.hkl)).collect()
            }));
            reflections.push(list);
        }
        Ok(Evaluator { grid: grid.to_vec(), reflections, equivalents, width_floor: false })
    }

    /// With `on`, a negative Caglioti H_G² (or H_L) floors the width (see
    /// [`GAUSSIAN_FWHM_FLOOR_DEG`]) and marks the reflection's record `width_floored` instead of
    /// failing. A minimiser's trial steps need this (a rejected step shrinks its trust region
    /// until it stalls); a final model that still needs the floor is reported by the caller.
    pub fn set_width_floor(&mut self, on: bool) {
        self.width_floor = on;
    }

    /// The grid (degrees 2θ).
    pub fn grid(&self) -> &[f64] {
        &self.grid
    }

    /// The fixed reflection list of a phase (d as generated; evaluations recompute d).
    pub fn reflections(&self, phase: usize) -> &[Reflection] {
        self.reflections.get(phase).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Evaluates the model on the grid. With `jacobian` (grid length × `targets.len()`), also
    /// fills ∂y/∂target for every target (the matrix is overwritten).
    pub fn evaluate(
        &self,
        model: &PatternModel,
        targets: &[Target],
        jacobian: Option<&mut DMatrix<f64>>,
    ) -> Result<Evaluation> {
        if model.phases.len() != self.reflections.len() {
            return Err(Error::Model(
                "the model's phases changed since the evaluator was built".into(),
            ));
        }
        model.instrument.validate()?;
        let n = self.grid.len();
        let background = model.background.evaluate(&self.grid);
        let mut total = background.clone();
        let mut phases = Vec::with_capacity(model.phases.len());
        let mut records = Vec::with_capacity(model.phases.len());
        let mut jac = jacobian;
        if let Some(j) = jac.as_deref_mut() {
            if j.nrows() != n || j.ncols() != targets.len() {
                return Err(Error::Model(format!(
                    "Jacobian is {}×{}, expected {}×{}",
                    j.nrows(),
                    j.ncols(),
                    n,
                    targets.len()
                )));
            }
            j.fill(0.0);
            // Background columns: ∂y/∂b_n = T_n(x) (0 for a coefficient the model lacks).
            let data = j.as_mut_slice();
            for (col, target) in targets.iter().enumerate() {
                if let Target::Background(k) = *target {
                    if k < model.background.len() {
                        let column = &mut data[col * n..(col + 1) * n];
                        model.background.basis_column_into(&self.grid, k, column)?;
                    }
                }
            }
        }
        let asym = Asymmetry::of(&model.instrument.profile);
        for (p, contribution) in model.phases.iter().enumerate() {
            contribution.phase.validate()?;
            check_scale(contribution)?;
            let (peaks, recs) =
                self.phase_peaks_with_derivatives(model, p, targets, jac.is_some())?;
            let mut y = vec![0.0; n];
            match jac.as_deref_mut() {
                Some(j) => draw_with_jacobian(&peaks, &asym, &self.grid, &mut y, j)?,
                None => {
                    let plain: Vec<Peak> = peaks.iter().map(|(pk, _, _)| *pk).collect();
                    draw(&plain, &asym, &self.grid, &mut y)?;
                }
            }
            for (t, v) in total.iter_mut().zip(&y) {
                *t += v;
            }
            phases.push(y);
            records.push(recs);
        }
        Ok(Evaluation { total, background, phases, records })
    }

    /// The unit-area-times-area contribution of each reflection (all wavelength components)
    /// of phase `p` on the grid: (first index, values) per reflection, for the Rietveld
    /// partitioning of observed intensities (R_Bragg, Le Bail).
    pub fn reflection_contributions(
        &self,
        model: &PatternModel,
        p: usize,
    ) -> Result<Vec<(usize, Vec<f64>)>> {
        let (peaks, recs) = self.phase_peaks_with_derivatives(model, p, &[], false)?;
        let asym = Asymmetry::of(&model.instrument.profile);
        let mut out = Vec::with_capacity(recs.len());
        let mut y = vec![0.0; self.grid.len()];
        let mut cursor = 0;
        for k in 0..recs.len() {
            // The peaks of one reflection are consecutive (one per visible wavelength
            // component, or per flat-specimen copy of each).
            let (mut lo, mut hi) = (usize::MAX, 0);
            while let Some((peak, _, _)) = peaks.get(cursor).filter(|pk| pk.2 == k) {
                let r = add_one(peak, &asym, &self.grid, &mut y)?;
                if !r.is_empty() {
                    lo = lo.min(r.start);
                    hi = hi.max(r.end);
                }
                cursor += 1;
            }
            if lo >= hi {
                out.push((0, Vec::new()));
                continue;
            }
            // `y` is zero outside [lo, hi) (cleared after each reflection).
            let part = y.get_mut(lo..hi).unwrap_or_default();
            out.push((lo, part.to_vec()));
            part.fill(0.0);
        }
        Ok(out)
    }

    /// Peaks of phase `p` with, when `with_derivatives`, their derivative lists for `targets`
    /// (column = index in `targets`); also the per-reflection records.
    #[allow(clippy::type_complexity)]
    fn phase_peaks_with_derivatives(
        &self,
        model: &PatternModel,
        p: usize,
        targets: &[Target],
        with_derivatives: bool,
    ) -> Result<(Vec<(Peak, Vec<PeakDeriv>, usize)>, Vec<PeakRecord>)> {
        let contribution = &model.phases[p];
        let phase = &contribution.phase;
        let inst = &model.instrument;
        let list = &self.reflections[p];
        let extracted = contribution.extracted_intensities.as_ref();
        if let Some(v) = extracted {
            if v.len() != list.len() {
                return Err(Error::Model(format!(
                    "phase {}: {} extracted intensities for {} reflections",
                    phase.name,
                    v.len(),
                    list.len()
                )));
            }
        }
        // Targets that concern this phase's structure factors.
        let mut struct_params = Vec::new();
        let mut struct_cols = Vec::new();
        let mut cell_cols: Vec<(usize, Matrix3<f64>)> = Vec::new();
        let gstar = phase.cell.reciprocal_metric();
        if with_derivatives {
            for (col, t) in targets.iter().enumerate() {
                match *t {
                    Target::Occupancy { phase: q, site, occupant } if q == p => {
                        struct_params.push(StructureParam::Occupancy { site, occupant });
                        struct_cols.push(col);
                    }
                    Target::Biso { phase: q, site } if q == p => {
                        struct_params.push(StructureParam::Biso { site });
                        struct_cols.push(col);
                    }
                    Target::Coordinate { phase: q, site, free } if q == p => {
                        let c = model.position_constraint(p, site)?;
                        let b = c.basis.get(free).copied().ok_or_else(|| {
                            Error::Model(format!("site #{site} has no free coordinate #{free}"))
                        })?;
                        struct_params.push(StructureParam::Coordinate { site, direction: b });
                        struct_cols.push(col);
                    }
                    Target::Cell { phase: q, param } if q == p => {
                        cell_cols.push((col, dgstar_dfree(phase, param)?));
                    }
                    _ => {}
                }
            }
        }
        let sf = if extracted.is_none() {
            Some(StructureFactors::new(phase, inst.scattering_probe())?)
        } else {
            None
        };
        let components = inst.radiation.components();
        let reference = inst.radiation.primary().relative_intensity;
        let lambda_primary = inst.radiation.primary_wavelength_angstrom();
        let divergence_col =
            targets.iter().position(|t| *t == Target::Profile(ProfileTerm::Divergence));
        // The flat-specimen copies of the current peak (reused from peak to peak).
        let mut copies = Vec::new();
        // ∂I_c/∂(Kα2/Kα1) per component, when that ratio is a target.
        let dintensity_dratio = if targets.contains(&Target::Kalpha2Ratio) {
            inst.radiation.kalpha2_ratio_derivatives()
        } else {
            None
        };
        let primary_index =
            components.iter().position(|c| c.relative_intensity == reference).unwrap_or(0);
        let mut peaks = Vec::with_capacity(list.len() * components.len());
        let mut records = Vec::with_capacity(list.len());
        let mut grad = vec![0.0; struct_params.len()];
        for (k, r0) in list.iter().enumerate() {
            let hv = Vector3::new(f64::from(r0.hkl[0]), f64::from(r0.hkl[1]), f64::from(r0.hkl[2]));
            let q = (hv.transpose() * gstar * hv)[(0, 0)];
            let r = Reflection { hkl: r0.hkl, multiplicity: r0.multiplicity, d: 1.0 / q.sqrt() };
            let (f2, df2_ds) = match (extracted, &sf) {
                (Some(v), _) => (v[k], 0.0),
                (None, Some(sf)) => {
                    let f2 = if struct_params.is_empty() {
                        sf.f2(&r)
                    } else {
                        sf.f2_with_gradient(&r, &struct_params, &mut grad)
                    };
                    let dfs = if cell_cols.is_empty() { 0.0 } else { sf.df2_ds(&r) };
                    (f2, dfs)
                }
                (None, None) => (0.0, 0.0),
            };
            let (po, dpo_dr) =
                match (&contribution.preferred_orientation, self.equivalents[p].as_ref()) {
                    (Some(md), Some(eq)) => {
                        let v = md.factor(&gstar, &eq[k])?;
                        (v.value, v.d_r)
                    }
                    _ => (1.0, 0.0),
                };
            // ∂P_hkl/∂(cell) through the angles between the texture axis and the plane
            // normals (non-cubic cells): central difference of P along ∂G*/∂p, step 10⁻⁶ of
            // G* (the checked fallback; tested with the hexagonal cell in tests/jacobian.rs).
            let dpo_dcell: Vec<f64> =
                match (&contribution.preferred_orientation, self.equivalents[p].as_ref()) {
                    (Some(md), Some(eq)) if !cell_cols.is_empty() => {
                        let eps = 1e-6 * gstar.abs().max();
                        let mut out = Vec::with_capacity(cell_cols.len());
                        for (_, dg) in &cell_cols {
                            let up = md.factor(&(gstar + dg * eps), &eq[k])?.value;
                            let dn = md.factor(&(gstar - dg * eps), &eq[k])?.value;
                            out.push((up - dn) / (2.0 * eps));
                        }
                        out
                    }
                    _ => vec![0.0; cell_cols.len()],
                };
            let m = f64::from(r.multiplicity);
            let mut record = PeakRecord {
                reflection: r,
                f2,
                two_theta_deg: f64::NAN,
                area: 0.0,
                area_all_components: 0.0,
                width_floored: false,
            };
            for (ci, c) in components.iter().enumerate() {
                let lambda = c.wavelength_angstrom;
                let Some(bragg) = two_theta_deg(r.d, lambda) else { continue };
                if bragg >= 179.9 {
                    continue;
                }
                let shift = inst.position_shift(bragg);
                let center = bragg + shift.delta_deg;
                if ci == primary_index {
                    record.two_theta_deg = center;
                }
                if !(center > 0.0 && center < 180.0) {
                    continue;
                }
                let (mut widths, floored) = match inst.profile.widths(center) {
                    Ok(w) => (w, false),
                    Err(_) if self.width_floor => (floored_widths(&inst.profile, center)?, true),
                    Err(e) => return Err(e),
                };
                // Emission line widths (TCH only, as `Instrument::validate` checks).
                let (line_l, dline_l) = c.lorentz_fwhm_deg(center);
                widths.fwhm_l += line_l;
                widths.dl_dtth += dline_l;
                record.width_floored |= floored;
                let (lp, dlp) = inst.intensity_factor_with_derivative(bragg)?;
                let wrel = c.relative_intensity / reference;
                let base = wrel * m * lp * po; // area = scale·base·F²
                let area = contribution.scale * base * f2;
                record.area_all_components += area;
                if ci == primary_index {
                    record.area = area;
                }
                let peak = Peak {
                    center_deg: center,
                    area,
                    fwhm_g_deg: widths.fwhm_g,
                    fwhm_l_deg: widths.fwhm_l,
                };
                let mut derivs = Vec::new();
                if with_derivatives {
                    let dcenter_dbragg = 1.0 + shift.d_two_theta;
                    // ∂2θ_B/∂Q in degrees per Å⁻².
                    let theta = 0.5 * bragg.to_radians();
                    let dbragg_dq = lambda / (2.0 * q.sqrt() * theta.cos()) * DEG;
                    let position = |col: usize, dcenter: f64, d_area: f64| PeakDeriv {
                        col,
                        d_area,
                        d_center: dcenter,
                        d_g: widths.dg_dtth * dcenter,
                        d_l: widths.dl_dtth * dcenter,
                        d_asym: 0.0,
                        bb: None,
                    };
                    for (col, t) in targets.iter().enumerate() {
                        let d = match *t {
                            Target::Scale { phase: q2 } if q2 == p => Some(PeakDeriv {
                                col,
                                d_area: base * f2,
                                d_center: 0.0,
                                d_g: 0.0,
                                d_l: 0.0,
                                d_asym: 0.0,
                                bb: None,
                            }),
                            Target::PreferredOrientation { phase: q2 } if q2 == p && po != 0.0 => {
                                Some(PeakDeriv {
                                    col,
                                    d_area: area * dpo_dr / po,
                                    d_center: 0.0,
                                    d_g: 0.0,
                                    d_l: 0.0,
                                    d_asym: 0.0,
                                    bb: None,
                                })
                            }
                            Target::Intensity { phase: q2, reflection }
                                if q2 == p && reflection == k =>
                            {
                                Some(PeakDeriv {
                                    col,
                                    d_area: contribution.scale * base,
                                    d_center: 0.0,
                                    d_g: 0.0,
                                    d_l: 0.0,
                                    d_asym: 0.0,
                                    bb: None,
                                })
                            }
                            Target::Zero => Some(position(col, shift.d_params[0], 0.0)),
                            Target::Wavelength => {
                                // λ_c = (λ_c/λ_p)·λ_p and 2θ_B = 2 asin(λ_c/2d):
                                // ∂2θ_B/∂λ_p = 2 tan θ/λ_p (radians per Å), in degrees.
                                let dbragg = 2.0 * theta.tan() / lambda_primary * DEG;
                                let d_area = area * (dlp / lp) * dbragg;
                                Some(position(col, dcenter_dbragg * dbragg, d_area))
                            }
                            Target::Kalpha2Ratio => {
                                dintensity_dratio.as_ref().and_then(|d| d.get(ci)).map(|&di| {
                                    let d_area =
                                        contribution.scale * di / reference * m * lp * po * f2;
                                    PeakDeriv {
                                        col,
                                        d_area,
                                        d_center: 0.0,
                                        d_g: 0.0,
                                        d_l: 0.0,
                                        d_asym: 0.0,
                                        bb: None,
                                    }
                                })
                            }
                            Target::Displacement => match inst.geometry {
                                Geometry::BraggBrentano { .. } => {
                                    Some(position(col, shift.d_params[1], 0.0))
                                }
                                Geometry::DebyeScherrer { .. } => None,
                            },
                            // Drawn with the flat-specimen copies below.
                            Target::Profile(ProfileTerm::Divergence) => None,
                            Target::Profile(term) if term.bb_index().is_some() => Some(PeakDeriv {
                                col,
                                d_area: 0.0,
                                d_center: 0.0,
                                d_g: 0.0,
                                d_l: 0.0,
                                d_asym: 0.0,
                                bb: term.bb_index(),
                            }),
                            Target::Profile(term) => {
                                let (dg, dl, da) = match term {
                                    ProfileTerm::U => (widths.dg_du, 0.0, 0.0),
                                    ProfileTerm::V => (widths.dg_dv, 0.0, 0.0),
                                    ProfileTerm::W => (widths.dg_dw, 0.0, 0.0),
                                    ProfileTerm::P => (widths.dg_dp, 0.0, 0.0),
                                    ProfileTerm::X => (0.0, widths.dl_dx, 0.0),
                                    ProfileTerm::Y => (0.0, widths.dl_dy, 0.0),
                                    ProfileTerm::Asym => (0.0, 0.0, 1.0),
                                    ProfileTerm::Asy1
                                    | ProfileTerm::Asy2
                                    | ProfileTerm::Asy3
                                    | ProfileTerm::Asy4
                                    | ProfileTerm::Divergence => (0.0, 0.0, 0.0),
                                };
                                Some(PeakDeriv {
                                    col,
                                    d_area: 0.0,
                                    d_center: 0.0,
                                    d_g: dg,
                                    d_l: dl,
                                    d_asym: da,
                                    bb: None,
                                })
                            }
                            _ => None,
                        };
                        if let Some(d) = d {
                            derivs.push(d);
                        }
                    }
                    for (&col, &g) in struct_cols.iter().zip(&grad) {
                        derivs.push(PeakDeriv {
                            col,
                            d_area: contribution.scale * base * g,
                            d_center: 0.0,
                            d_g: 0.0,
                            d_l: 0.0,
                            d_asym: 0.0,
                            bb: None,
                        });
                    }
                    for ((col, dg), dpo) in cell_cols.iter().zip(&dpo_dcell) {
                        let dq = (hv.transpose() * dg * hv)[(0, 0)];
                        let dbragg = dbragg_dq * dq;
                        let dcenter = dcenter_dbragg * dbragg;
                        // s = √Q/2 → ds/dQ = 1/(4√Q).
                        let d_f2 = df2_ds * dq / (4.0 * q.sqrt());
                        let mut d_area =
                            contribution.scale * base * d_f2 + area * (dlp / lp) * dbragg;
                        if po != 0.0 {
                            d_area += area * dpo / po;
                        }
                        derivs.push(position(*col, dcenter, d_area));
                    }
                }
                let fwhm = match inst.profile.function {
                    ProfileFunction::Tch => widths.fwhm_g + widths.fwhm_l,
                    ProfileFunction::PseudoVoigt => widths.fwhm_g,
                };
                flat_specimen::nodes_into(center, fwhm, inst.profile.divergence_deg, &mut copies)?;
                if copies.is_empty() {
                    peaks.push((peak, derivs, k));
                    continue;
                }
                for node in &copies {
                    let mut copy = peak;
                    copy.center_deg += node.shift_deg;
                    copy.area *= node.weight;
                    let mut d: Vec<PeakDeriv> = derivs
                        .iter()
                        .map(|d| PeakDeriv {
                            d_area: d.d_area * node.weight,
                            d_center: d.d_center * (1.0 + node.dshift_dcenter),
                            ..*d
                        })
                        .collect();
                    if let (true, Some(col)) = (with_derivatives, divergence_col) {
                        d.push(PeakDeriv {
                            col,
                            d_area: 0.0,
                            d_center: node.dshift_ddivergence,
                            d_g: 0.0,
                            d_l: 0.0,
                            d_asym: 0.0,
                            bb: None,
                        });
                    }
                    peaks.push((copy, d, k));
                }
            }
            records.push(record);
        }
        Ok((peaks, records))
    }
}

fn check_scale(c: &PhaseContribution) -> Result<()> {
    if c.scale.is_finite() && c.scale >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidValue {
            name: format!("{}.scale", c.phase.name),
            value: c.scale,
            reason: "must be finite and non-negative",
        })
    }
}

/// ∂G*/∂p for a free cell parameter p (edges per Å, angles per degree), tied parameters moving
/// with it: ∂G*/∂p = −G* (Σ_{q tied to p} ∂G/∂q) G*.
fn dgstar_dfree(phase: &Phase, param: CellParam) -> Result<Matrix3<f64>> {
    let constraint = phase.space_group.cell_constraint();
    if !constraint.free_params().contains(&param) {
        return Err(Error::Model(format!(
            "cell parameter {} is not free in {}",
            param.name(),
            phase.space_group.symbol()
        )));
    }
    let c = &phase.cell;
    let (a, b, cc) = (c.a, c.b, c.c);
    let rad = PI / 180.0;
    let (al, be, ga) =
        (c.alpha_deg.to_radians(), c.beta_deg.to_radians(), c.gamma_deg.to_radians());
    let (ca, cb, cg) = (
        crate::cell::cos_deg(c.alpha_deg),
        crate::cell::cos_deg(c.beta_deg),
        crate::cell::cos_deg(c.gamma_deg),
    );
    let dg = |q: CellParam| -> Matrix3<f64> {
        match q {
            CellParam::A => {
                Matrix3::new(2.0 * a, b * cg, cc * cb, b * cg, 0.0, 0.0, cc * cb, 0.0, 0.0)
            }
            CellParam::B => {
                Matrix3::new(0.0, a * cg, 0.0, a * cg, 2.0 * b, cc * ca, 0.0, cc * ca, 0.0)
            }
            CellParam::C => {
                Matrix3::new(0.0, 0.0, a * cb, 0.0, 0.0, b * ca, a * cb, b * ca, 2.0 * cc)
            }
            CellParam::Alpha => {
                let v = -b * cc * al.sin() * rad;
                Matrix3::new(0.0, 0.0, 0.0, 0.0, 0.0, v, 0.0, v, 0.0)
            }
            CellParam::Beta => {
                let v = -a * cc * be.sin() * rad;
                Matrix3::new(0.0, 0.0, v, 0.0, 0.0, 0.0, v, 0.0, 0.0)
            }
            CellParam::Gamma => {
                let v = -a * b * ga.sin() * rad;
                Matrix3::new(0.0, v, 0.0, v, 0.0, 0.0, 0.0, 0.0, 0.0)
            }
        }
    };
    let mut total = Matrix3::zeros();
    for q in CellParam::ALL {
        let tied = q == param || constraint.rule(q) == crate::symmetry::CellRule::SameAs(param);
        if tied {
            total += dg(q);
        }
    }
    let gs = c.reciprocal_metric();
    Ok(-(gs * total * gs))
}

/// One peak's shape under the instrument's asymmetry models.
enum Shape {
    Tch(TchPseudoVoigt),
    Fcj(FcjTch),
    BbTch(BbShape<TchPseudoVoigt>),
    BbFcj(BbShape<FcjTch>),
    Pv(PseudoVoigtPeak),
    BbPv(BbShape<PseudoVoigtPeak>),
}

impl Shape {
    /// The shape of `p`; `fcj` / `bb` force the FCJ / Bérar–Baldinozzi path even when its
    /// parameters are 0 (their derivatives are then needed).
    fn new(p: &Peak, asym: &Asymmetry, fcj: bool, bb: bool) -> Result<Self> {
        let fcj = fcj || asym.fcj > 0.0;
        let bb = bb || !asym.bb.is_zero();
        if asym.function == ProfileFunction::PseudoVoigt {
            if fcj {
                return Err(Error::Model(
                    "the FCJ asymmetry (asym) needs the TCH profile function; use the \
                     Bérar–Baldinozzi terms (bb) with the pseudo-Voigt"
                        .into(),
                ));
            }
            // Widths carry H in fwhm_g and η in fwhm_l (ProfileParams::widths).
            let pv = PseudoVoigtPeak::new(p.center_deg, p.fwhm_g_deg, p.fwhm_l_deg)?;
            return Ok(if bb {
                Shape::BbPv(BbShape::new(pv, &asym.bb, 1.0, 0.0))
            } else {
                Shape::Pv(pv)
            });
        }
        let tch = TchPseudoVoigt::new(p.center_deg, p.fwhm_g_deg, p.fwhm_l_deg)?;
        let mix = *tch.mix();
        Ok(match (fcj, bb) {
            (false, false) => Shape::Tch(tch),
            (false, true) => Shape::BbTch(BbShape::new(tch, &asym.bb, mix.dfwhm_dg, mix.dfwhm_dl)),
            (true, b) => {
                let f = FcjTch::new(
                    p.center_deg,
                    p.fwhm_g_deg,
                    p.fwhm_l_deg,
                    FcjAsymmetry::from_sum(asym.fcj),
                )?;
                if b {
                    Shape::BbFcj(BbShape::new(f, &asym.bb, mix.dfwhm_dg, mix.dfwhm_dl))
                } else {
                    Shape::Fcj(f)
                }
            }
        })
    }

    /// Centre and FWHM (degrees) of the peak.
    fn center_fwhm(&self) -> (f64, f64) {
        match self {
            Shape::Tch(s) => (s.center_deg(), s.fwhm()),
            Shape::Fcj(s) => (s.center_deg(), s.fwhm()),
            Shape::BbTch(s) => (s.center_deg(), s.fwhm()),
            Shape::BbFcj(s) => (s.center_deg(), s.fwhm()),
            Shape::Pv(s) => (s.center_deg(), s.fwhm()),
            Shape::BbPv(s) => (s.center_deg(), s.fwhm()),
        }
    }

    /// The grid points the peak may touch: all of them, or those within ±`window_fwhm` × FWHM
    /// of the centre when `window_fwhm` > 0 (FullProf's Wdt, [`ProfileParams::window_fwhm`]).
    fn limit(&self, grid: &[f64], window_fwhm: f64) -> std::ops::Range<usize> {
        if window_fwhm > 0.0 {
            let (c, h) = self.center_fwhm();
            crate::profile::window(grid, c - window_fwhm * h, c + window_fwhm * h)
        } else {
            0..grid.len()
        }
    }

    fn add_scaled(
        &self,
        grid: &[f64],
        scale: f64,
        window_fwhm: f64,
        out: &mut [f64],
    ) -> std::ops::Range<usize> {
        let lim = self.limit(grid, window_fwhm);
        let (Some(g), Some(o)) = (grid.get(lim.clone()), out.get_mut(lim.clone())) else {
            return 0..0;
        };
        let r = match self {
            Shape::Tch(s) => s.add_scaled(g, scale, DEFAULT_CUTOFF, o),
            Shape::Fcj(s) => s.add_scaled(g, scale, DEFAULT_CUTOFF, o),
            Shape::BbTch(s) => s.add_scaled(g, scale, DEFAULT_CUTOFF, o),
            Shape::BbFcj(s) => s.add_scaled(g, scale, DEFAULT_CUTOFF, o),
            Shape::Pv(s) => s.add_scaled(g, scale, DEFAULT_CUTOFF, o),
            Shape::BbPv(s) => s.add_scaled(g, scale, DEFAULT_CUTOFF, o),
        };
        r.start + lim.start..r.end + lim.start
    }

    /// Calls `f(i, point, ∂value/∂P₁…P₄)` over the support (within the window, if any).
    fn visit<F: FnMut(usize, &ProfilePoint, &[f64; 4])>(
        &self,
        grid: &[f64],
        window_fwhm: f64,
        mut f: F,
    ) {
        const NONE: [f64; 4] = [0.0; 4];
        let lim = self.limit(grid, window_fwhm);
        let Some(g) = grid.get(lim.clone()) else { return };
        let off = lim.start;
        match self {
            Shape::Tch(s) => {
                s.for_each_in_support(g, DEFAULT_CUTOFF, |i, p| f(i + off, p, &NONE));
            }
            Shape::Fcj(s) => {
                s.for_each_in_support(g, DEFAULT_CUTOFF, |i, p| f(i + off, p, &NONE));
            }
            Shape::Pv(s) => {
                s.for_each_in_support(g, DEFAULT_CUTOFF, |i, p| f(i + off, p, &NONE));
            }
            Shape::BbTch(s) => visit_bb(s, g, |i, p, d| f(i + off, p, d)),
            Shape::BbFcj(s) => visit_bb(s, g, |i, p, d| f(i + off, p, d)),
            Shape::BbPv(s) => visit_bb(s, g, |i, p, d| f(i + off, p, d)),
        }
    }
}

fn visit_bb<S: PeakShape, F: FnMut(usize, &ProfilePoint, &[f64; 4])>(
    s: &BbShape<S>,
    grid: &[f64],
    mut f: F,
) {
    let (lo, hi) = s.support(DEFAULT_CUTOFF);
    for i in crate::profile::window(grid, lo, hi) {
        let (p, d) = s.eval_with_parameters(grid[i]);
        f(i, &p, &d);
    }
}

fn add_one(
    p: &Peak,
    asym: &Asymmetry,
    grid: &[f64],
    out: &mut [f64],
) -> Result<std::ops::Range<usize>> {
    Ok(Shape::new(p, asym, false, false)?.add_scaled(grid, p.area, asym.window_fwhm, out))
}

/// Adds the peaks to `out` on the sorted grid `two_theta_deg`: each evaluated only over its
/// support (lost area ≤ [`crate::profile::truncated_area_bound`] of [`DEFAULT_CUTOFF`]); FCJ
/// and/or Bérar–Baldinozzi asymmetry as `asym` asks, the symmetric TCH kernel otherwise.
pub fn add_peaks(
    peaks: &[Peak],
    asym: &Asymmetry,
    two_theta_deg: &[f64],
    out: &mut [f64],
) -> Result<()> {
    for p in peaks {
        add_one(p, asym, two_theta_deg, out)?;
    }
    Ok(())
}

/// Points per parallel chunk when drawing peaks with rayon.
const CHUNK: usize = 8192;

/// Draws peaks on the grid, in parallel over grid chunks when the work is large enough to pay
/// for the threads (each chunk draws every peak whose support overlaps it; results are
/// identical to the serial sum).
fn draw(peaks: &[Peak], asym: &Asymmetry, grid: &[f64], out: &mut [f64]) -> Result<()> {
    if grid.len() < 2 * CHUNK || peaks.len() < 64 {
        return add_peaks(peaks, asym, grid, out);
    }
    out.par_chunks_mut(CHUNK)
        .zip(grid.par_chunks(CHUNK))
        .try_for_each(|(o, g)| add_peaks(peaks, asym, g, o))
}

/// Draws peaks and accumulates their Jacobian columns (see the module documentation).
fn draw_with_jacobian(
    peaks: &[(Peak, Vec<PeakDeriv>, usize)],
    asym: &Asymmetry,
    grid: &[f64],
    y: &mut [f64],
    j: &mut DMatrix<f64>,
) -> Result<()> {
    let nrows = j.nrows();
    let data = j.as_mut_slice();
    for (p, derivs, _) in peaks {
        let visit = |i: usize, pp: &ProfilePoint, dbb: &[f64; 4]| {
            y[i] += p.area * pp.value;
            for d in derivs {
                data[d.col * nrows + i] += match d.bb {
                    None => {
                        d.d_area * pp.value
                            + p.area
                                * (d.d_center * pp.d_center
                                    + d.d_g * pp.d_fwhm_g
                                    + d.d_l * pp.d_fwhm_l
                                    + d.d_asym * pp.d_asym)
                    }
                    Some(k) => p.area * dbb[k],
                };
            }
        };
        let fcj = derivs.iter().any(|d| d.d_asym != 0.0);
        let bb = derivs.iter().any(|d| d.bb.is_some());
        Shape::new(p, asym, fcj, bb)?.visit(grid, asym.window_fwhm, visit);
    }
    Ok(())
}

/// The reflections of a phase visible up to 2θ = `max_deg` with the instrument's longest
/// wavelength, with |F|² and the primary-wavelength peak position.
pub fn phase_reflections(
    instrument: &Instrument,
    phase: &Phase,
    max_deg: f64,
) -> Result<PhaseReflections> {
    let model = PatternModel {
        instrument: instrument.clone(),
        phases: vec![PhaseContribution::new(phase.clone(), 1.0)],
        background: crate::background::ChebyshevBackground::new(Vec::new(), 0.0, 180.0)?,
    };
    let ev = Evaluator::with_margin(&model, &[max_deg], 0.0)?;
    let (_, recs) = ev.phase_peaks_with_derivatives(&model, 0, &[], false)?;
    Ok(to_phase_reflections(&phase.name, &recs))
}

fn to_phase_reflections(name: &str, recs: &[PeakRecord]) -> PhaseReflections {
    PhaseReflections {
        phase: name.to_string(),
        reflections: recs
            .iter()
            .map(|r| PeakReflection {
                reflection: r.reflection,
                f2: r.f2,
                two_theta_deg: r.two_theta_deg,
            })
            .collect(),
    }
}

/// The peaks of one phase (every reflection of `reflections` × wavelength component inside
/// 0°–180°), as the engine draws them.
pub fn phase_peaks(
    instrument: &Instrument,
    contribution: &PhaseContribution,
    reflections: &PhaseReflections,
) -> Result<Vec<Peak>> {
    let model = PatternModel {
        instrument: instrument.clone(),
        phases: vec![contribution.clone()],
        background: crate::background::ChebyshevBackground::new(Vec::new(), 0.0, 180.0)?,
    };
    let equivalents = vec![contribution.preferred_orientation.map(|_| {
        reflections
            .reflections
            .iter()
            .map(|r| contribution.phase.space_group.equivalent_reflections(r.reflection.hkl))
            .collect()
    })];
    let ev = Evaluator {
        width_floor: false,
        grid: vec![90.0],
        reflections: vec![reflections.reflections.iter().map(|r| r.reflection).collect()],
        equivalents,
    };
    let (peaks, _) = ev.phase_peaks_with_derivatives(&model, 0, &[], false)?;
    Ok(peaks.into_iter().map(|(p, _, _)| p).collect())
}

/// Computes the pattern of `model` on the sorted 2θ grid (degrees).
pub fn simulate(model: &PatternModel, two_theta_deg: &[f64]) -> Result<SimulatedPattern> {
    let ev = Evaluator::with_margin(model, two_theta_deg, 0.0)?;
    let e = ev.evaluate(model, &[], None)?;
    let reflections = model
        .phases
        .iter()
        .zip(&e.records)
        .map(|(c, r)| to_phase_reflections(&c.phase.name, r))
        .collect();
    // The evaluator's copy of the grid becomes the result's (one copy, not two).
    Ok(SimulatedPattern {
        two_theta_deg: ev.grid,
        total: e.total,
        background: e.background,
        phases: e.phases,
        reflections,
    })
}

impl ProbeKind {
    /// Whether this is X-ray radiation.
    pub fn is_xray(self) -> bool {
        self == ProbeKind::Xray
    }
}
