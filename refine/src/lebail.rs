//! Le Bail intensity extraction: whole-pattern fitting of the cell, zero, profile and
//! background with the reflection intensities obtained by iterated Rietveld partitioning of
//! the observed pattern instead of from a structure (A. Le Bail, H. Duroy & J. L. Fourquet
//! (1988), Mater. Res. Bull. 23, 447–452; see also W. I. F. David & K. Shankland in *Structure
//! Determination from Powder Diffraction Data*, IUCr/OUP 2002, ch. 8).
//!
//! # The partition
//! A phase in Le Bail mode carries one |F|²-equivalent intensity I_k per reflection family k
//! of the evaluator's fixed list ([`bragg_crystal::pattern::PhaseContribution`]'s
//! `extracted_intensities`), so that the peak area of k is s·m_k·I_k·LP_k (counts·degree, the
//! engine's convention). One partition sweep replaces every I_k by
//!
//! ```text
//! I_k ← I_k · Σ_i Ω_k(i) (y_o,i − y_b,i)/(y_c,i − y_b,i),     Ω_k(i) = c_k(i) / Σ_j c_k(j)
//! ```
//!
//! (Rietveld 1969, J. Appl. Cryst. 2, 65, eq. for I_obs; Le Bail et al. 1988), where c_k(i) are
//! the counts reflection k (all wavelength components) adds at point i
//! ([`bragg_crystal::pattern::Evaluator::reflection_contributions`]) and the sums run over
//! the fitted points of k's window. The same Ω_k as the engine's truncated window is used, so
//! that a pattern that is already fitted exactly (y_o = y_c) is a fixed point of the sweep.
//! Every phase in Le Bail mode is partitioned against the same y_c (a simultaneous update).
//!
//! Numerical handling, all documented behaviour rather than silent clamping:
//! - **y_c − y_b ≈ 0.** The term is evaluated as the share c_k(i)/(Σ_phases y_φ,i) ∈ (0, 1]
//!   of the net observed counts, the denominator being the sum of the phase curves (not the
//!   difference of two large numbers). Points where reflection k adds nothing (c_k(i) = 0) are
//!   skipped, so a vanishing y_c − y_b can never divide by zero.
//! - **Negative net counts** (y_o < y_b, noise under the background) enter the sum as they are:
//!   the partition stays unbiased for weak reflections. If the whole sum comes out ≤ 0 or below
//!   a floor, the intensity is set to the floor `floor_fraction × max_k I_k` of its phase (a
//!   documented lower bound, reported per reflection as `at_floor`): an intensity of exactly 0
//!   could never recover under the multiplicative update, and a negative one would draw a
//!   negative peak.
//! - **Reflections whose peak position (primary wavelength, start cell) lies outside the fitted
//!   range** are excluded: their intensity is set to 0 and never partitioned, and they are
//!   reported with `in_range = false`. The engine's list reaches beyond the range (for tails
//!   and cell changes), but the partition of a peak seen only through a tail attributes any
//!   background misfit at the range end to it, and alternating with a background refinement
//!   that feeds back into a runaway (observed on the Cu Kα test pattern). Excluding them is
//!   the usual practice of generating reflections only within the range; extend the range to
//!   include a reflection.
//!
//! # Exactly overlapping reflections
//! Reflection families whose d-spacings coincide for *every* cell of the crystal system (e.g.
//! 333 and 511, or 600 and 442, in a cubic phase) have identical profiles, so the pattern only
//! determines their summed area. They are given **equal |F|²-equivalents**: after each sweep the
//! group's intensities are replaced by I = Σ m_k I_k / Σ m_k, which keeps the group's total area
//! Σ s·m_k·I_k·LP and shares it among the members in proportion to their multiplicities (the
//! convention of GSAS-II and of most extraction programs for equipartition). Only the sum
//! Σ m_k I_k of such a group is a measured quantity. The groups are found by comparing
//! 1/d² = hᵀG*h at the current cell and at a second, deliberately distorted cell of the same
//! crystal system (relative tolerance [`EXACT_OVERLAP_TOLERANCE`]), so an accidental
//! coincidence at one cell is not mistaken for a symmetry-enforced one.
//!
//! # The cycle
//! One cycle is `partitions_per_cycle` sweeps, the group averaging, then a short
//! Levenberg–Marquardt run ([`Refinement::fit`]) of the refined non-intensity parameters with
//! the intensities held. The parameters the caller flags are used, except that for the phases
//! in Le Bail mode every phase item other than the cell (scale, occupancies, B_iso,
//! coordinates, texture, intensities) is held during the extraction (the scale is fully
//! correlated with the intensities and the structure does not enter the pattern) and the
//! caller's flags are restored afterwards. The **phase scale is held at its model value**, so
//! the extracted I_k are |F|²-equivalents (area divided by s·m·LP). Cycles stop when both the
//! relative change of the intensities Σ m|ΔI|/Σ m I and the relative change of χ² over a cycle
//! are below `tolerance`, or after `max_cycles`.

use crate::error::{Error, Result};
use crate::fit::{FitOptions, FitOutcome, Refinement};
use crate::key::{ParamKey, PhaseItem};
use crate::stats::Statistics;
use bragg_crystal::pattern::Evaluation;
use bragg_crystal::symmetry::CellParam;
use bragg_crystal::Cell;
use serde::Serialize;

/// Relative tolerance on 1/d² under which two reflection families of a phase count as exactly
/// overlapping (module docs).
pub const EXACT_OVERLAP_TOLERANCE: f64 = 1e-9;

/// Where the extraction starts its intensities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InitialIntensities {
    /// All equal, scaled so that the phases' summed calculated counts match the observed net
    /// counts (the usual unbiased start of a Le Bail extraction).
    #[default]
    Equal,
    /// |F|² of the phase's structure (anomalous terms as the instrument says).
    FromStructure,
    /// The model's current `extracted_intensities` (e.g. from a previous extraction); an error
    /// if a phase has none or a list of the wrong length.
    Current,
}

/// Options of [`lebail`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeBailOptions {
    /// Starting intensities.
    pub initial: InitialIntensities,
    /// Maximum number of cycles (partition sweeps + LM run).
    pub max_cycles: usize,
    /// Partition sweeps per cycle (≥ 1; each costs one pattern evaluation).
    pub partitions_per_cycle: usize,
    /// Options of the LM run of each cycle (a few iterations suffice: the patience bounds the
    /// evaluations to patience·(n + 1)).
    pub fit: FitOptions,
    /// Relative change of the intensities and of χ² over a cycle below which the extraction
    /// has converged.
    pub tolerance: f64,
    /// Lower bound of an extracted intensity as a fraction of the largest one of its phase
    /// (module docs); in (0, 1).
    pub floor_fraction: f64,
}

impl Default for LeBailOptions {
    fn default() -> Self {
        LeBailOptions {
            initial: InitialIntensities::Equal,
            max_cycles: 30,
            partitions_per_cycle: 3,
            fit: FitOptions { tolerance: 1e-7, patience: 5, ..FitOptions::default() },
            tolerance: 1e-4,
            floor_fraction: 1e-6,
        }
    }
}

/// One extracted reflection family.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtractedReflection {
    /// Phase index in the model.
    pub phase: usize,
    /// Phase name.
    pub phase_name: String,
    /// Miller indices of the family's representative.
    pub hkl: [i32; 3],
    /// d-spacing at the final cell, Å.
    pub d: f64,
    /// Peak position at the primary wavelength with the zero and displacement shifts, degrees.
    pub two_theta_deg: f64,
    /// Multiplicity m of the family.
    pub multiplicity: u32,
    /// |F|²-equivalent intensity per reflection of the family (electrons², or fm² for neutrons,
    /// when the phase scale is the structure's): the peak area is scale·m·I·LP.
    pub intensity: f64,
    /// Standard uncertainty of `intensity` (Pawley: from the covariance; Le Bail: `None`).
    pub esd: Option<f64>,
    /// The other families of the phase that overlap this one exactly (equal intensities, only
    /// the multiplicity-weighted sum is determined).
    pub exact_overlaps: Vec<[i32; 3]>,
    /// Whether the peak position lies within the fitted 2θ range.
    pub in_range: bool,
    /// Whether the intensity sits at its lower bound (Le Bail floor, Pawley I ≥ 0).
    pub at_floor: bool,
}

/// One cycle of a Le Bail extraction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CycleRecord {
    /// χ² = Σ w (y_o − y_c)² at the end of the cycle.
    pub chi2_sum: f64,
    /// Relative intensity change Σ m|ΔI| / Σ m I over the cycle (in-range reflections).
    pub intensity_change: f64,
}

/// The result of [`lebail`].
#[derive(Debug, Clone)]
pub struct LeBailResult {
    /// Extracted intensities of every reflection of the Le Bail phases, by phase then by
    /// decreasing d.
    pub reflections: Vec<ExtractedReflection>,
    /// Statistics of the final pattern; P counts the LM parameters plus one intensity per
    /// in-range exact-overlap group (each is a fitted quantity).
    pub statistics: Statistics,
    /// Cycles run.
    pub cycles: usize,
    /// Whether the tolerance was met within `max_cycles`.
    pub converged: bool,
    /// χ² and intensity change per cycle.
    pub history: Vec<CycleRecord>,
    /// The outcome of the last LM run (esds of the cell, zero, profile and background, with
    /// the intensities held), `None` when nothing besides the intensities was refined.
    pub last_fit: Option<FitOutcome>,
}

/// Runs a Le Bail extraction for `phases` (model indices) of `refinement`: the phases are put
/// in Le Bail mode (their `extracted_intensities` set from `options.initial`), and cycles of
/// partition sweeps and LM runs of the caller's refined non-intensity parameters alternate
/// until convergence (module docs). The model keeps the extracted intensities (the phases stay
/// in Le Bail mode); the caller's refine flags are restored.
///
/// Errors: no phase, an unknown or repeated phase index, a phase scale that is not positive,
/// `partitions_per_cycle` = 0 or an out-of-range option ([`Error::InvalidInput`]); a phase
/// with no positive net intensity under its reflections; errors of the engine and the fit.
pub fn lebail(
    refinement: &mut Refinement,
    phases: &[usize],
    options: LeBailOptions,
) -> Result<LeBailResult> {
    if options.partitions_per_cycle == 0 {
        return Err(Error::InvalidInput("Le Bail: partitions_per_cycle must be ≥ 1".into()));
    }
    check_tolerance("tolerance", options.tolerance)?;
    let setup = Setup::new(refinement, phases, options.initial, options.floor_fraction)?;
    let saved = hold_structure_flags(refinement, phases);
    let result = run_lebail(refinement, &setup, &options);
    restore_flags(refinement, &saved);
    result
}

fn run_lebail(r: &mut Refinement, setup: &Setup, options: &LeBailOptions) -> Result<LeBailResult> {
    let any_refined = r.parameters.iter().any(|p| p.refined);
    let mut at_floor = setup.initial_floor.clone();
    let mut history = Vec::new();
    let mut last_fit = None;
    let mut converged = false;
    let mut chi2_prev = chi2_of(r, &r.evaluate()?);
    let mut cycles = 0;
    while cycles < options.max_cycles {
        cycles += 1;
        let before = setup.intensities(r)?;
        for _ in 0..options.partitions_per_cycle {
            at_floor = setup.partition(r)?;
        }
        let chi2_now = if any_refined {
            let out = r.fit(options.fit)?;
            let c = out.statistics.chi2_sum;
            last_fit = Some(out);
            c
        } else {
            chi2_of(r, &r.evaluate()?)
        };
        let after = setup.intensities(r)?;
        let change = setup.relative_change(r, &before, &after);
        let dchi2 = (chi2_now - chi2_prev).abs() / chi2_prev.max(f64::MIN_POSITIVE);
        history.push(CycleRecord { chi2_sum: chi2_now, intensity_change: change });
        chi2_prev = chi2_now;
        if change < options.tolerance && dchi2 < options.tolerance {
            converged = true;
            break;
        }
    }
    let evaluation = r.evaluate()?;
    // P: the LM's independent parameters plus one intensity per in-range overlap group.
    let n_lm = last_fit.as_ref().map_or(0, |f| f.statistics.n_params);
    let statistics = r.statistics(&evaluation, n_lm + setup.n_independent())?;
    let reflections = setup.report(r, &evaluation, &at_floor, &|_, _| None)?;
    Ok(LeBailResult { reflections, statistics, cycles, converged, history, last_fit })
}

fn check_tolerance(name: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!("Le Bail/Pawley option {name} = {v} must be positive")))
    }
}

fn chi2_of(r: &Refinement, e: &Evaluation) -> f64 {
    let o = &r.observations;
    o.y_obs.iter().zip(&e.total).zip(&o.sigma).map(|((yo, yc), s)| ((yo - yc) / s).powi(2)).sum()
}

/// Turns off, for the phases in extraction mode, every refine flag of a phase item other than
/// the cell; returns every parameter's previous flag for [`restore_flags`].
pub(crate) fn hold_structure_flags(r: &mut Refinement, phases: &[usize]) -> Vec<(ParamKey, bool)> {
    let names: Vec<String> = phases
        .iter()
        .filter_map(|&p| r.model.phases.get(p))
        .map(|c| c.phase.name.clone())
        .collect();
    let saved: Vec<(ParamKey, bool)> =
        r.parameters.iter().map(|p| (p.key.clone(), p.refined)).collect();
    for p in &mut r.parameters {
        if let ParamKey::Phase { phase, item } = &p.key {
            if names.contains(phase) && !matches!(item, PhaseItem::Cell(_)) {
                p.refined = false;
            }
        }
    }
    saved
}

/// Restores the flags saved by [`hold_structure_flags`]; parameters added since (Pawley
/// intensities) are left unflagged.
pub(crate) fn restore_flags(r: &mut Refinement, saved: &[(ParamKey, bool)]) {
    for p in &mut r.parameters {
        p.refined = saved.iter().find(|(k, _)| *k == p.key).is_some_and(|(_, on)| *on);
    }
}

/// The phases in extraction mode with their exact-overlap groups and floor.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    /// Phase indices.
    pub(crate) phases: Vec<usize>,
    /// Per phase: groups of reflection indices with identical d (singletons included).
    pub(crate) groups: Vec<Vec<Vec<usize>>>,
    /// Per phase: whether the reflection's peak lies on the fitted range (at the start).
    pub(crate) in_range: Vec<Vec<bool>>,
    /// Floor fraction (module docs).
    floor_fraction: f64,
    /// Floor flags after the initialisation.
    initial_floor: Vec<Vec<bool>>,
}

impl Setup {
    /// Validates the phase list, finds the exact-overlap groups and sets the initial
    /// intensities.
    pub(crate) fn new(
        r: &mut Refinement,
        phases: &[usize],
        initial: InitialIntensities,
        floor_fraction: f64,
    ) -> Result<Self> {
        if phases.is_empty() {
            return Err(Error::InvalidInput("Le Bail/Pawley: no phase given".into()));
        }
        if !(floor_fraction > 0.0 && floor_fraction < 1.0) {
            return Err(Error::InvalidInput(format!(
                "Le Bail/Pawley: floor_fraction = {floor_fraction} must lie in (0, 1)"
            )));
        }
        for (i, &p) in phases.iter().enumerate() {
            let c = r.model.phases.get(p).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "Le Bail/Pawley: no phase #{p} (the model has {})",
                    r.model.phases.len()
                ))
            })?;
            if phases[..i].contains(&p) {
                return Err(Error::InvalidInput(format!(
                    "Le Bail/Pawley: phase #{p} ({}) listed twice",
                    c.phase.name
                )));
            }
            if !(c.scale.is_finite() && c.scale > 0.0) {
                return Err(Error::InvalidInput(format!(
                    "Le Bail/Pawley: phase {} has scale {}; a positive scale is needed (it is \
                     held, and the intensities are |F|²-equivalents relative to it)",
                    c.phase.name, c.scale
                )));
            }
        }
        let mut groups = Vec::with_capacity(phases.len());
        let mut in_range = Vec::with_capacity(phases.len());
        let grid = &r.observations.two_theta_deg;
        let (lo, hi) = (grid[0], grid[grid.len() - 1]);
        let wavelength = r.model.instrument.radiation.primary_wavelength_angstrom();
        for &p in phases {
            let phase = &r.model.phases[p].phase;
            let hkls: Vec<[i32; 3]> = r.evaluator().reflections(p).iter().map(|x| x.hkl).collect();
            groups.push(exact_overlap_groups(phase, &hkls)?);
            in_range.push(
                hkls.iter()
                    .map(|&h| {
                        let d = 1.0 / inv_d2(&phase.cell, h).sqrt();
                        r.model
                            .instrument
                            .peak_position_deg(d, wavelength)
                            .is_some_and(|t| t >= lo && t <= hi)
                    })
                    .collect(),
            );
        }
        let mut setup = Setup {
            phases: phases.to_vec(),
            groups,
            in_range,
            floor_fraction,
            initial_floor: Vec::new(),
        };
        setup.initialise(r, initial)?;
        Ok(setup)
    }

    fn initialise(&mut self, r: &mut Refinement, initial: InitialIntensities) -> Result<()> {
        let lengths: Vec<usize> =
            self.phases.iter().map(|&p| r.evaluator().reflections(p).len()).collect();
        match initial {
            InitialIntensities::Current => {
                for (&p, &n) in self.phases.iter().zip(&lengths) {
                    let c = &r.model.phases[p];
                    match &c.extracted_intensities {
                        Some(v) if v.len() == n => {
                            if let Some(x) = v.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
                                return Err(Error::InvalidInput(format!(
                                    "phase {}: extracted intensity {x} must be finite and ≥ 0",
                                    c.phase.name
                                )));
                            }
                        }
                        Some(v) => {
                            return Err(Error::InvalidInput(format!(
                                "phase {}: {} extracted intensities for {n} reflections",
                                c.phase.name,
                                v.len()
                            )))
                        }
                        None => {
                            return Err(Error::InvalidInput(format!(
                                "phase {} has no extracted intensities to start from",
                                c.phase.name
                            )))
                        }
                    }
                }
            }
            InitialIntensities::FromStructure => {
                for &p in &self.phases {
                    r.model.phases[p].extracted_intensities = None;
                }
                let e = r.evaluate()?;
                for &p in &self.phases {
                    let v: Vec<f64> = e.records[p].iter().map(|rec| rec.f2).collect();
                    r.model.phases[p].extracted_intensities = Some(v);
                }
            }
            InitialIntensities::Equal => {
                for (&p, &n) in self.phases.iter().zip(&lengths) {
                    r.model.phases[p].extracted_intensities = Some(vec![1.0; n]);
                }
                self.zero_off_range(r);
                // Scale so that the extraction phases' counts match the observed net counts
                // left by the background and the other phases.
                let e = r.evaluate()?;
                let (mut target, mut current) = (0.0, 0.0);
                for i in 0..r.observations.len() {
                    let mut other = 0.0;
                    for (q, y) in e.phases.iter().enumerate() {
                        if self.phases.contains(&q) {
                            current += y[i];
                        } else {
                            other += y[i];
                        }
                    }
                    target += r.observations.y_obs[i] - e.background[i] - other;
                }
                if target > 0.0 && current > 0.0 {
                    let f = target / current;
                    for &p in &self.phases {
                        if let Some(v) = r.model.phases[p].extracted_intensities.as_mut() {
                            v.iter_mut().for_each(|x| *x *= f);
                        }
                    }
                }
            }
        }
        self.zero_off_range(r);
        self.equalise_groups(r)?;
        self.initial_floor = self.apply_floor(r, None)?;
        Ok(())
    }

    /// Sets the intensities of the reflections off the fitted range to 0 (module docs).
    fn zero_off_range(&self, r: &mut Refinement) {
        for (j, &p) in self.phases.iter().enumerate() {
            if let Some(v) = r.model.phases[p].extracted_intensities.as_mut() {
                for (x, &inside) in v.iter_mut().zip(&self.in_range[j]) {
                    if !inside {
                        *x = 0.0;
                    }
                }
            }
        }
    }

    /// The current intensities of the phases.
    pub(crate) fn intensities(&self, r: &Refinement) -> Result<Vec<Vec<f64>>> {
        self.phases
            .iter()
            .map(|&p| {
                r.model.phases[p].extracted_intensities.clone().ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "phase {} left Le Bail mode during the extraction",
                        r.model.phases[p].phase.name
                    ))
                })
            })
            .collect()
    }

    /// Σ m|ΔI| / Σ m I over the in-range reflections of all phases.
    fn relative_change(&self, r: &Refinement, before: &[Vec<f64>], after: &[Vec<f64>]) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for (j, &p) in self.phases.iter().enumerate() {
            let list = r.evaluator().reflections(p);
            for k in 0..list.len() {
                if !self.in_range[j][k] {
                    continue;
                }
                let m = f64::from(list[k].multiplicity);
                num += m * (after[j][k] - before[j][k]).abs();
                den += m * before[j][k].abs();
            }
        }
        if den > 0.0 {
            num / den
        } else {
            0.0
        }
    }

    /// Number of independent intensities: in-range exact-overlap groups.
    pub(crate) fn n_independent(&self) -> usize {
        self.groups
            .iter()
            .zip(&self.in_range)
            .map(|(gs, inr)| gs.iter().filter(|g| g.iter().any(|&k| inr[k])).count())
            .sum()
    }

    /// One partition sweep of every extraction phase (module docs); returns the floor flags.
    pub(crate) fn partition(&self, r: &mut Refinement) -> Result<Vec<Vec<bool>>> {
        let e = r.evaluate()?;
        let n = r.observations.len();
        // Σ of the phase curves: y_c − y_b without cancellation.
        let mut calc = vec![0.0; n];
        for y in &e.phases {
            for (c, v) in calc.iter_mut().zip(y) {
                *c += v;
            }
        }
        let mut updates = Vec::with_capacity(self.phases.len());
        for (j, &p) in self.phases.iter().enumerate() {
            let contributions = r.evaluator().reflection_contributions(&r.model, p)?;
            let old = r.model.phases[p].extracted_intensities.clone().unwrap_or_default();
            let mut new = old.clone();
            for (k, (lo, v)) in contributions.iter().enumerate() {
                if !self.in_range[j].get(k).copied().unwrap_or(false) {
                    continue;
                }
                let (mut sum_c, mut acc) = (0.0, 0.0);
                for (t, &c) in v.iter().enumerate() {
                    let i = lo + t;
                    if i >= n || c <= 0.0 || calc[i] <= 0.0 {
                        continue;
                    }
                    sum_c += c;
                    acc += c / calc[i] * (r.observations.y_obs[i] - e.background[i]);
                }
                if sum_c > 0.0 {
                    if let (Some(slot), Some(&o)) = (new.get_mut(k), old.get(k)) {
                        *slot = o * acc / sum_c;
                    }
                }
            }
            updates.push(new);
        }
        for (&p, new) in self.phases.iter().zip(updates) {
            r.model.phases[p].extracted_intensities = Some(new);
        }
        self.equalise_groups(r)?;
        self.apply_floor(r, None)
    }

    /// Replaces each exact-overlap group's intensities by Σ m I / Σ m.
    pub(crate) fn equalise_groups(&self, r: &mut Refinement) -> Result<()> {
        for (j, &p) in self.phases.iter().enumerate() {
            let mult: Vec<f64> =
                r.evaluator().reflections(p).iter().map(|x| f64::from(x.multiplicity)).collect();
            let v = r.model.phases[p].extracted_intensities.as_mut().ok_or_else(|| {
                Error::InvalidInput("a phase left Le Bail mode during the extraction".into())
            })?;
            // INVARIANT: the groups index the evaluator's list, whose length the intensities
            // share (set so by `initialise`, checked by the engine); `get` keeps it panic-free.
            for g in self.groups[j].iter().filter(|g| g.len() > 1) {
                let (num, den) = g.iter().fold((0.0, 0.0), |(a, b), &k| {
                    let m = mult.get(k).copied().unwrap_or(0.0);
                    (a + m * v.get(k).copied().unwrap_or(0.0), b + m)
                });
                if den > 0.0 {
                    for &k in g {
                        if let Some(x) = v.get_mut(k) {
                            *x = num / den;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Sets every intensity below `floor_fraction × max` of its phase to that floor (Le Bail)
    /// or, with `Some(0.0)`, reports those at or below zero (Pawley); returns the flags.
    pub(crate) fn apply_floor(
        &self,
        r: &mut Refinement,
        fixed: Option<f64>,
    ) -> Result<Vec<Vec<bool>>> {
        let mut flags = Vec::with_capacity(self.phases.len());
        for (j, &p) in self.phases.iter().enumerate() {
            let inside = &self.in_range[j];
            let name = r.model.phases[p].phase.name.clone();
            let v = r.model.phases[p]
                .extracted_intensities
                .as_mut()
                .ok_or_else(|| Error::InvalidInput(format!("phase {name} left Le Bail mode")))?;
            let floor = match fixed {
                Some(f) => f,
                None => {
                    let max = v
                        .iter()
                        .zip(inside)
                        .filter(|(_, &i)| i)
                        .map(|(x, _)| *x)
                        .fold(f64::NEG_INFINITY, f64::max);
                    if !(max > 0.0 && max.is_finite()) {
                        return Err(Error::InvalidInput(format!(
                            "Le Bail: phase {name} has no positive net intensity under its \
                             reflections (largest partitioned intensity {max})"
                        )));
                    }
                    self.floor_fraction * max
                }
            };
            let mut f = Vec::with_capacity(v.len());
            for (x, &i) in v.iter_mut().zip(inside) {
                let low = i && *x <= floor;
                if low && fixed.is_none() {
                    *x = floor;
                }
                f.push(low);
            }
            flags.push(f);
        }
        Ok(flags)
    }

    /// The reflection report; `esd(phase, k)` supplies the esds.
    pub(crate) fn report(
        &self,
        r: &Refinement,
        e: &Evaluation,
        at_floor: &[Vec<bool>],
        esd: &dyn Fn(usize, usize) -> Option<f64>,
    ) -> Result<Vec<ExtractedReflection>> {
        let mut out = Vec::new();
        for (j, &p) in self.phases.iter().enumerate() {
            let c = &r.model.phases[p];
            let v = c.extracted_intensities.as_deref().unwrap_or(&[]);
            let mut group_of = vec![0; v.len()];
            for (g, members) in self.groups[j].iter().enumerate() {
                for &k in members {
                    if let Some(slot) = group_of.get_mut(k) {
                        *slot = g;
                    }
                }
            }
            for (k, rec) in e.records[p].iter().enumerate() {
                let exact_overlaps = self.groups[j]
                    .get(group_of[k])
                    .map(|g| {
                        g.iter()
                            .filter(|&&q| q != k)
                            .map(|&q| e.records[p][q].reflection.hkl)
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(ExtractedReflection {
                    phase: p,
                    phase_name: c.phase.name.clone(),
                    hkl: rec.reflection.hkl,
                    d: rec.reflection.d,
                    two_theta_deg: rec.two_theta_deg,
                    multiplicity: rec.reflection.multiplicity,
                    intensity: v.get(k).copied().unwrap_or(f64::NAN),
                    esd: esd(p, k),
                    exact_overlaps,
                    in_range: self.in_range[j].get(k).copied().unwrap_or(false),
                    at_floor: at_floor.get(j).and_then(|f| f.get(k)).copied().unwrap_or(false),
                });
            }
        }
        Ok(out)
    }
}

/// 1/d² = hᵀG*h (Å⁻²) of `hkl` in `cell` (ITA Vol. B §1.1).
fn inv_d2(cell: &Cell, hkl: [i32; 3]) -> f64 {
    let g = cell.reciprocal_metric();
    let h = [f64::from(hkl[0]), f64::from(hkl[1]), f64::from(hkl[2])];
    let mut s = 0.0;
    for (a, ha) in h.iter().enumerate() {
        for (b, hb) in h.iter().enumerate() {
            s += ha * g[(a, b)] * hb;
        }
    }
    s
}

/// Groups of indices into `hkls` (a phase's reflection list) whose 1/d² agree at the phase's
/// cell and at a distorted cell of the same system (module docs).
fn exact_overlap_groups(
    phase: &bragg_crystal::Phase,
    hkls: &[[i32; 3]],
) -> Result<Vec<Vec<usize>>> {
    let constraint = phase.space_group.cell_constraint();
    let free = constraint.free_values(&phase.cell);
    // A distortion that moves each free parameter by a different, non-commensurate amount:
    // edges by 1.37 %, 2.91 %, … and angles by 0.71°, 1.00°, … (still a valid cell).
    let distorted: Vec<f64> = constraint
        .free_params()
        .iter()
        .zip(&free)
        .enumerate()
        .map(|(j, (param, v))| {
            let j = j as f64 + 1.0;
            if is_angle(*param) {
                v + 0.71 * j.sqrt()
            } else {
                v * (1.0 + 0.0137 * j.powf(1.1))
            }
        })
        .collect();
    let cells = [phase.cell, constraint.apply(&distorted)?];
    let qs: Vec<[f64; 2]> =
        hkls.iter().map(|&h| [inv_d2(&cells[0], h), inv_d2(&cells[1], h)]).collect();
    let same = |a: &[f64; 2], b: &[f64; 2]| {
        (0..2).all(|i| (a[i] - b[i]).abs() <= EXACT_OVERLAP_TOLERANCE * a[i].abs().max(b[i].abs()))
    };
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for k in 0..hkls.len() {
        match groups.iter_mut().find(|g| g.first().is_some_and(|&f| same(&qs[f], &qs[k]))) {
            Some(g) => g.push(k),
            None => groups.push(vec![k]),
        }
    }
    Ok(groups)
}

fn is_angle(p: CellParam) -> bool {
    matches!(p, CellParam::Alpha | CellParam::Beta | CellParam::Gamma)
}
