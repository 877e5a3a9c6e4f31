//! Pawley fitting: the reflection intensities are least-squares parameters refined together
//! with the cell, zero, profile and background (G. S. Pawley (1981), J. Appl. Cryst. 14,
//! 357–361; W. I. F. David, J. Appl. Cryst. 37 (2004) 621 on its constraints).
//!
//! A phase in Pawley mode carries one |F|²-equivalent intensity I_k per reflection family
//! (area scale·m_k·I_k·LP_k, counts·degree), refined through the keys `PHASE.I.h,k,l`
//! ([`crate::key::PhaseItem::Intensity`]); the pattern is linear in them, so the analytic
//! Jacobian column of I_k is scale·m_k·LP_k·Ω_k.
//!
//! Choices, made so that the normal matrix stays regular:
//! - **Exactly overlapping families** (same d for every cell of the crystal system, found as in
//!   [`crate::lebail`]) would give identical Jacobian columns. They are tied by linear
//!   constraints I_a − I_b = 0 (equal |F|²-equivalents, i.e. the group's area shared in
//!   proportion to multiplicity), so one independent intensity per group is refined and every
//!   member reports the same value and esd. Only Σ m_k I_k of a group is a measured quantity.
//! - **Reflections whose peak position lies outside the fitted range** are excluded as in
//!   [`crate::lebail`] (intensity 0, not refined: their columns would hold only a tail).
//! - **I ≥ 0** (option `non_negative`, on by default) is imposed as a parameter bound: a step
//!   past it is stopped at 0 and the reflection is reported `at_floor` (and in the fit's bound
//!   hits) and has no esd (`None`), as every parameter held at a bound.
//!
//! The phase scale is held at its model value (it is fully correlated with the intensities);
//! structure, texture and scale flags of the Pawley phases are held during the fit and the
//! caller's flags are restored afterwards; the constraints added for the overlap groups are
//! removed again. The intensity parameters stay in [`Refinement::parameters`] with their
//! values and esds, unflagged, and the phases stay in Pawley (extracted-intensity) mode.

use crate::error::{Error, Result};
use crate::fit::{FitOptions, FitOutcome, Refinement};
use crate::key::{ParamKey, PhaseItem};
use crate::lebail::{
    hold_structure_flags, restore_flags, ExtractedReflection, InitialIntensities, Setup,
};
use crate::params::Constraint;
use crate::stats::Statistics;

/// Options of [`pawley`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PawleyOptions {
    /// Starting intensities.
    pub initial: InitialIntensities,
    /// Le Bail partition sweeps before the least squares (good starting values for the
    /// intensities; 0 = start from `initial` directly).
    pub partition_sweeps: usize,
    /// Options of the LM run.
    pub fit: FitOptions,
    /// Whether to bound the intensities below by 0.
    pub non_negative: bool,
    /// Floor of the preliminary partition sweeps as a fraction of the phase's largest
    /// intensity (see [`crate::lebail`]); in (0, 1).
    pub floor_fraction: f64,
}

impl Default for PawleyOptions {
    fn default() -> Self {
        PawleyOptions {
            initial: InitialIntensities::Equal,
            partition_sweeps: 3,
            fit: FitOptions { tolerance: 1e-8, patience: 50, ..FitOptions::default() },
            non_negative: true,
            floor_fraction: 1e-6,
        }
    }
}

/// The result of [`pawley`].
#[derive(Debug, Clone)]
pub struct PawleyResult {
    /// Refined intensities with esds, every reflection of the Pawley phases, by phase then by
    /// decreasing d (`esd` is `None` for reflections held off the range, or when the normal
    /// matrix was singular).
    pub reflections: Vec<ExtractedReflection>,
    /// Statistics of the fit (P includes the independent intensities).
    pub statistics: Statistics,
    /// The LM outcome (termination, covariance with the intensity keys, bound hits).
    pub outcome: FitOutcome,
}

/// Runs a Pawley fit of `phases` (model indices) of `refinement`: the phases are put in
/// extraction mode, `partition_sweeps` Le Bail sweeps give starting intensities, and one LM run
/// refines the in-range intensities together with the caller's refined non-intensity
/// parameters (module docs).
///
/// Errors: as [`crate::lebail::lebail`]; errors of the fit. A singular normal matrix is not an
/// error: the outcome names the parameters (`outcome.singular`) and the esds are `None`.
pub fn pawley(
    refinement: &mut Refinement,
    phases: &[usize],
    options: PawleyOptions,
) -> Result<PawleyResult> {
    let setup = Setup::new(refinement, phases, options.initial, options.floor_fraction)?;
    for _ in 0..options.partition_sweeps {
        setup.partition(refinement)?;
    }
    let saved_flags = hold_structure_flags(refinement, phases);
    let saved_constraints = refinement.constraints.clone();
    let result = run_pawley(refinement, &setup, &options);
    refinement.constraints = saved_constraints;
    restore_flags(refinement, &saved_flags);
    result
}

fn intensity_key(r: &Refinement, p: usize, hkl: [i32; 3]) -> ParamKey {
    ParamKey::phase(&r.model.phases[p].phase.name, PhaseItem::Intensity(hkl))
}

fn run_pawley(r: &mut Refinement, setup: &Setup, options: &PawleyOptions) -> Result<PawleyResult> {
    let bounds = options.non_negative.then_some((0.0, f64::INFINITY));
    let mut keys: Vec<Vec<Option<ParamKey>>> = Vec::with_capacity(setup.phases.len());
    for (j, &p) in setup.phases.iter().enumerate() {
        let hkls: Vec<[i32; 3]> = r.evaluator().reflections(p).iter().map(|x| x.hkl).collect();
        let mut phase_keys = vec![None; hkls.len()];
        for group in &setup.groups[j] {
            if !group.iter().any(|&k| setup.in_range[j][k]) {
                continue;
            }
            let group_keys: Vec<ParamKey> =
                group.iter().map(|&k| intensity_key(r, p, hkls[k])).collect();
            for (&k, key) in group.iter().zip(&group_keys) {
                let value = r.model.phases[p]
                    .extracted_intensities
                    .as_ref()
                    .and_then(|v| v.get(k).copied())
                    .ok_or_else(|| Error::InvalidInput("a phase left Pawley mode".into()))?;
                let param = r.parameter_mut(key)?;
                param.value = value;
                param.refined = true;
                param.bounds = bounds;
                phase_keys[k] = Some(key.clone());
            }
            // Equal |F|²-equivalents within an exact-overlap group (equalised by the setup).
            for other in group_keys.iter().skip(1) {
                r.constraints.push(Constraint::Linear {
                    terms: vec![(group_keys[0].clone(), 1.0), (other.clone(), -1.0)],
                });
            }
        }
        keys.push(phase_keys);
    }
    let outcome = r.fit(options.fit)?;
    let at_floor = if options.non_negative {
        setup.apply_floor(r, Some(0.0))?
    } else {
        setup.phases.iter().map(|&p| vec![false; r.evaluator().reflections(p).len()]).collect()
    };
    let esd_of = |p: usize, k: usize| -> Option<f64> {
        let j = setup.phases.iter().position(|&q| q == p)?;
        let key = keys.get(j)?.get(k)?.as_ref()?;
        r.parameters.iter().find(|x| x.key == *key)?.esd
    };
    let reflections = setup.report(r, &outcome.evaluation, &at_floor, &esd_of)?;
    Ok(PawleyResult { reflections, statistics: outcome.statistics, outcome })
}
