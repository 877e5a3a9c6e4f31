//! The default refinement strategy for a newcomer, staged as experienced users work
//! (McCusker et al. 1999, §4; the GSAS-II and TOPAS tutorials): scale and background → cell
//! and zero (displacement) → profile → atoms (and March–Dollase texture where the phase has
//! an axis), each stage a Levenberg–Marquardt fit started from
//! the previous one.
//!
//! (After the widening search the separate scale-and-background stage is skipped: the search
//! has fitted them already.)
//!
//! Narrow synchrotron peaks make a wrong start hopeless for a local minimiser: a cell 0.3 % off
//! moves a peak at 38° 2θ by 0.12°, fifteen FWHM of an 11-BM peak, and the Jacobian no longer
//! sees it. The strategy therefore starts with a *widening* search: the same fit on a decimated
//! copy of the data with every peak artificially broadened (pure Gaussian of 32 × and then
//! 8 × the instrument FWHM), so the calculated peaks overlap the observed ones and the cell
//! converges into the basin of the true minimum before the real profile is restored.

use crate::error::Result;
use crate::fit::{FitOptions, FitOutcome, Refinement, Termination};
use crate::key::{InstItem, ParamKey, PhaseItem};
use crate::observations::Observations;
use bragg_crystal::pattern::{ProfileTerm, Target};
use serde::Serialize;

/// What the strategy refines and how.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyOptions {
    /// Run the widening search first (robust against starts several FWHM off).
    pub widening: bool,
    /// Refine profile terms (W, then U, V, W, X, Y).
    pub profile: bool,
    /// Refine atoms (B_iso of every site, free coordinates).
    pub atoms: bool,
    /// Refine the asymmetry with the profile: the FCJ (S + H)/L and the Bérar–Baldinozzi
    /// P's that the model starts with non-zero.
    pub asymmetry: bool,
    /// Refine the zero shift with the cell.
    pub zero: bool,
    /// Refine the specimen displacement with the cell (Bragg–Brentano only). Zero and
    /// displacement together are strongly correlated with the cell over short ranges; the
    /// default refines the zero only, as FullProf's and GSAS-II's defaults do.
    pub displacement: bool,
    /// LM options of each stage.
    pub fit: FitOptions,
}

impl Default for StrategyOptions {
    fn default() -> Self {
        StrategyOptions {
            widening: true,
            profile: true,
            atoms: true,
            asymmetry: true,
            zero: true,
            displacement: false,
            fit: FitOptions::default(),
        }
    }
}

/// What one stage did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageReport {
    /// Stage name.
    pub name: String,
    /// Parameters refined.
    pub refined: Vec<String>,
    /// Termination.
    pub termination: Termination,
    /// Evaluations used.
    pub evaluations: usize,
    /// Rwp at the end of the stage.
    pub rwp: f64,
    /// Parameters dropped because the normal matrix was singular with them.
    pub dropped: Vec<String>,
}

/// Default bounds: occupancies in [0, 1], B_iso in [0, 50] Å², scales ≥ 0, asymmetry in
/// [0, 0.5] (the model rejects values outside these anyway; bounds make the stop explicit).
pub fn apply_default_bounds(r: &mut Refinement) {
    for p in &mut r.parameters {
        p.bounds = p.bounds.or(match &p.key {
            ParamKey::Phase { item: PhaseItem::Occupancy { .. }, .. } => Some((0.0, 1.0)),
            ParamKey::Phase { item: PhaseItem::Biso { .. }, .. } => Some((0.0, 50.0)),
            ParamKey::Phase { item: PhaseItem::Scale, .. } => Some((0.0, f64::INFINITY)),
            ParamKey::Inst(InstItem::Profile(t)) if t.term() == ProfileTerm::Asym => {
                Some((0.0, 0.5))
            }
            _ => None,
        });
    }
}

fn keys_where(r: &Refinement, pred: impl Fn(&ParamKey) -> bool) -> Vec<ParamKey> {
    r.parameters.iter().map(|p| p.key.clone()).filter(|k| pred(k)).collect()
}

fn is_scale_or_bkg(k: &ParamKey) -> bool {
    matches!(k, ParamKey::Background(_) | ParamKey::Phase { item: PhaseItem::Scale, .. })
}

fn is_cell(k: &ParamKey) -> bool {
    matches!(k, ParamKey::Phase { item: PhaseItem::Cell(_), .. })
}

/// Cell parameters and the shifts the options ask for.
fn cell_and_shifts(options: &StrategyOptions) -> impl Fn(&ParamKey) -> bool + '_ {
    move |k| {
        is_cell(k)
            || (options.zero && *k == ParamKey::Inst(InstItem::Zero))
            || (options.displacement && *k == ParamKey::Inst(InstItem::Displacement))
    }
}

/// The asymmetry terms a model starts with non-zero (FCJ (S + H)/L, Bérar–Baldinozzi P's):
/// the ones a default strategy refines with the profile (an asymmetry at 0 stays off: the FCJ
/// derivative vanishes there).
pub fn asymmetry_keys(r: &Refinement) -> Result<Vec<ParamKey>> {
    let mut keys = Vec::new();
    for t in [
        ProfileTerm::Asym,
        ProfileTerm::Asy1,
        ProfileTerm::Asy2,
        ProfileTerm::Asy3,
        ProfileTerm::Asy4,
    ] {
        if r.model.get(Target::Profile(t))? != 0.0 {
            keys.push(ParamKey::profile(t));
        }
    }
    Ok(keys)
}

/// Runs one stage: refine exactly `keys` (others fixed). If the normal matrix is singular,
/// the named parameters are fixed and the stage is run once more.
pub fn run_stage(
    r: &mut Refinement,
    name: &str,
    keys: &[ParamKey],
    options: FitOptions,
) -> Result<(StageReport, FitOutcome)> {
    r.fix_all();
    r.refine(keys, true)?;
    let mut out = r.fit(options)?;
    let mut dropped = Vec::new();
    if let Some(singular) = out.singular.clone() {
        for name in &singular {
            if let Ok(k) = name.parse::<ParamKey>() {
                r.refine(std::slice::from_ref(&k), false)?;
                dropped.push(name.clone());
            }
        }
        out = r.fit(options)?;
    }
    let refined = r.parameters.iter().filter(|p| p.refined).map(|p| p.key.to_string()).collect();
    Ok((
        StageReport {
            name: name.to_string(),
            refined,
            termination: out.termination.clone(),
            evaluations: out.evaluations,
            rwp: out.statistics.rwp,
            dropped,
        },
        out,
    ))
}

/// First guesses before any fit: without a model background (`background_given` false), the
/// constant Chebyshev term T0 is set to the 10th percentile of the observed counts; then every
/// phase scale is multiplied by the weighted least-squares factor
/// f = Σw·c·(y_o − y_b) / Σw·c², c = y_calc − y_b, that matches the phases' sum to the counts
/// above the background (a linear problem, solved exactly).
pub fn initial_guess(r: &mut Refinement, background_given: bool) -> Result<()> {
    if !background_given {
        let mut y = r.observations.y_obs.clone();
        y.sort_by(f64::total_cmp);
        // INVARIANT: `Observations::new` refuses an empty scan, so `y` has an element.
        if let Some(&p10) = y.get((y.len().saturating_sub(1)) / 10) {
            if p10.is_finite() && p10 > 0.0 {
                r.set_value(&ParamKey::Background(0), p10)?;
            }
        }
    }
    let ev = r.evaluate()?;
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..ev.total.len() {
        let c = ev.total[i] - ev.background[i];
        let w = 1.0 / (r.observations.sigma[i] * r.observations.sigma[i]);
        num += w * c * (r.observations.y_obs[i] - ev.background[i]);
        den += w * c * c;
    }
    let f = num / den;
    if f.is_finite() && f > 0.0 {
        for k in keys_where(r, |k| matches!(k, ParamKey::Phase { item: PhaseItem::Scale, .. })) {
            let v = r.model.get(r.target(&k)?)?;
            r.set_value(&k, v * f)?;
        }
    }
    Ok(())
}

/// The widening search: the fit of scale, background, cell and zero on a decimated copy of the
/// data with broadened Gaussian peaks (factors 32 and 8 of the instrument FWHM at mid-range),
/// its cell and zero carried back to `r`.
pub fn widening_search(r: &mut Refinement, strategy: &StrategyOptions) -> Result<Vec<StageReport>> {
    // The search only has to reach the basin of the minimum: a small evaluation budget.
    let options = FitOptions { tolerance: 1e-6, patience: 10, exact_covariance: false };
    let shifts = cell_and_shifts(strategy);
    let n = r.observations.len();
    if n < 50 {
        return Ok(Vec::new());
    }
    let (first, last) = (r.observations.two_theta_deg[0], r.observations.two_theta_deg[n - 1]);
    let mid = r.observations.two_theta_deg[n / 2];
    let fwhm = r.model.instrument.profile.fwhm_estimate(mid).unwrap_or(0.05);
    let step = (last - first) / (n - 1) as f64;
    let original_profile = r.model.instrument.profile;
    let mut reports = Vec::new();
    for factor in [32.0, 8.0] {
        let width = fwhm * factor;
        // Keep ≥ 6 points per broadened FWHM.
        let stride = ((width / 6.0) / step).floor().max(1.0) as usize;
        if width > 0.25 * (last - first) {
            continue;
        }
        let pick: Vec<usize> = (0..n).step_by(stride).collect();
        let sub = Observations {
            two_theta_deg: pick.iter().map(|&i| r.observations.two_theta_deg[i]).collect(),
            y_obs: pick.iter().map(|&i| r.observations.y_obs[i]).collect(),
            sigma: pick.iter().map(|&i| r.observations.sigma[i]).collect(),
            n_outside: 0,
            n_zero_esd: 0,
        };
        let mut model = r.model.clone();
        model.instrument.profile = bragg_crystal::profile::ProfileParams {
            u: 0.0,
            v: 0.0,
            w: width * width,
            p: 0.0,
            x: 0.0,
            y: 0.0,
            asym: 0.0,
            bb: [0.0; 4],
            ..Default::default()
        };
        let mut coarse = Refinement::new(model, sub)?;
        coarse.constraints = r.constraints.clone();
        apply_default_bounds(&mut coarse);
        let k1 = keys_where(&coarse, is_scale_or_bkg);
        let (rep1, _) =
            run_stage(&mut coarse, &format!("widened ×{factor}: scale, background"), &k1, options)?;
        let k2 = keys_where(&coarse, |k| is_scale_or_bkg(k) || shifts(k));
        let (rep2, out2) =
            run_stage(&mut coarse, &format!("widened ×{factor}: + cell, shifts"), &k2, options)?;
        reports.push(rep1);
        reports.push(rep2);
        if out2.termination.is_success() {
            // Carry cell and shifts (and scales/background) back.
            for k in keys_where(&coarse, |k| is_scale_or_bkg(k) || shifts(k)) {
                let t = coarse.target(&k)?;
                let v = coarse.model.get(t)?;
                r.set_value(&k, v)?;
            }
        }
    }
    r.model.instrument.profile = original_profile;
    Ok(reports)
}

/// The default staged strategy (module documentation). Returns the stage reports and the last
/// fit's outcome, whose covariance covers every parameter refined in the last stage.
pub fn run_default(
    r: &mut Refinement,
    options: &StrategyOptions,
) -> Result<(Vec<StageReport>, FitOutcome)> {
    apply_default_bounds(r);
    let mut reports = Vec::new();
    if options.widening {
        reports.extend(widening_search(r, options)?);
    }
    // The stages, each refining its keys plus all of the previous stages'.
    let mut stages: Vec<(&str, Vec<ParamKey>)> = Vec::new();
    let mut keys = keys_where(r, is_scale_or_bkg);
    // After a widening search scale and background are already close: start with the cell.
    if !options.widening {
        stages.push(("scale, background", keys.clone()));
    }
    keys.extend(keys_where(r, cell_and_shifts(options)));
    stages.push(("+ cell, zero or displacement", keys.clone()));
    if options.profile {
        keys.push(ParamKey::profile(ProfileTerm::W));
        stages.push(("+ W", keys.clone()));
        for t in [ProfileTerm::U, ProfileTerm::V, ProfileTerm::X, ProfileTerm::Y] {
            keys.push(ParamKey::profile(t));
        }
        if options.asymmetry {
            keys.extend(asymmetry_keys(r)?);
        }
        stages.push(("+ U, V, X, Y (asym)", keys.clone()));
    }
    if options.atoms {
        keys.extend(keys_where(r, |k| {
            matches!(
                k,
                ParamKey::Phase {
                    item: PhaseItem::Biso { .. }
                        | PhaseItem::Coordinate { .. }
                        | PhaseItem::PreferredOrientation,
                    ..
                }
            )
        }));
        stages.push(("+ atoms (B_iso, coordinates), texture", keys.clone()));
    }
    // Intermediate stages take the minimiser's last Jacobian for their covariance; the last
    // stage's esds come from a fresh Jacobian at the solution (as `options.fit` asks).
    let n = stages.len();
    let mut last = None;
    let mut previous: Vec<ParamKey> = Vec::new();
    for (i, (name, keys)) in stages.into_iter().enumerate() {
        let quick = FitOptions { exact_covariance: false, ..options.fit };
        // The new parameters first, with the scales only: a few well-conditioned columns move
        // them into place before everything is refined together (with dozens of parameters
        // MINPACK's trust region can stall at a start far from the new parameters' optimum).
        let new: Vec<ParamKey> = keys.iter().filter(|k| !previous.contains(k)).cloned().collect();
        if i > 0 && !new.is_empty() && new.len() < keys.len() {
            let mut first =
                keys_where(r, |k| matches!(k, ParamKey::Phase { item: PhaseItem::Scale, .. }));
            for k in &new {
                if !first.contains(k) {
                    first.push(k.clone());
                }
            }
            let (rep, _) = run_stage(r, &format!("{name} (new parameters first)"), &first, quick)?;
            reports.push(rep);
        }
        let fit = if i + 1 == n { options.fit } else { quick };
        let (rep, out) = run_stage(r, name, &keys, fit)?;
        reports.push(rep);
        last = Some(out);
        previous = keys;
    }
    let Some(mut out) = last else {
        return Err(crate::error::Error::InvalidInput("the strategy has no stage".into()));
    };
    if let Some((rep, repaired)) = repair_negative_widths(r, &previous, options, &out)? {
        reports.push(rep);
        out = repaired;
    }
    Ok((reports, out))
}

/// The largest relative rise of Rwp accepted for a physical profile in
/// [`repair_negative_widths`] (2 %): a larger one says the data want what U, V, W did, and the
/// warning is left for the user.
const REPAIR_RWP_TOLERANCE: f64 = 0.02;

/// A Caglioti U, V, W that gives a negative Gaussian width² inside the range is unphysical
/// (the engine floors it and the fit warns). With V = 0 and U, W ≥ 0, H_G² = U tan²θ + W
/// (+ P/cos²θ) cannot go negative, so the last stage is refitted that way. The
/// repaired fit is kept when it no longer floors any width and its Rwp is at most
/// [`REPAIR_RWP_TOLERANCE`] worse than that of `last`, the last stage's outcome; otherwise the
/// original stands
/// (restored) and its warning with it. Returns the extra stage, if one was kept.
fn repair_negative_widths(
    r: &mut Refinement,
    keys: &[ParamKey],
    options: &StrategyOptions,
    last: &FitOutcome,
) -> Result<Option<(StageReport, FitOutcome)>> {
    let (u, v) = (ParamKey::profile(ProfileTerm::U), ParamKey::profile(ProfileTerm::V));
    if !crate::fit::widths_floored_in_range(&last.evaluation, &r.observations) || !keys.contains(&v)
    {
        return Ok(None);
    }
    let w = ParamKey::profile(ProfileTerm::W);
    let saved = (r.model.clone(), r.parameters.clone());
    let value = |r: &Refinement, k: &ParamKey| {
        r.parameters.iter().find(|p| p.key == *k).map_or(0.0, |p| p.value)
    };
    let (u_now, w_now) = (value(r, &u), value(r, &w));
    r.set_value(&v, 0.0)?;
    r.set_value(&u, u_now.max(0.0))?;
    // W > 0 keeps the width finite at low angle; start it at a small positive width if it
    // went negative (1·10⁻⁴ deg²: H_G = 0.01°).
    r.set_value(&w, if w_now > 0.0 { w_now } else { 1e-4 })?;
    for k in [&u, &w] {
        r.parameter_mut(k)?.bounds = Some((0.0, f64::INFINITY));
    }
    let without_v: Vec<ParamKey> = keys.iter().filter(|k| **k != v).cloned().collect();
    let name = "profile repaired: V = 0, U, W ≥ 0 (U, V, W gave negative widths)";
    let attempt = run_stage(r, name, &without_v, options.fit);
    for k in [&u, &w] {
        let before = saved.1.iter().find(|p| p.key == *k).and_then(|p| p.bounds);
        r.parameter_mut(k)?.bounds = before;
    }
    match attempt {
        Ok((rep, out))
            if !crate::fit::widths_floored_in_range(&out.evaluation, &r.observations)
                && out.statistics.rwp <= last.statistics.rwp * (1.0 + REPAIR_RWP_TOLERANCE) =>
        {
            Ok(Some((rep, out)))
        }
        _ => {
            (r.model, r.parameters) = saved;
            Ok(None)
        }
    }
}
