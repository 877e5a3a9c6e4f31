//! The outputs of `bragg refine`: `result.json` ([`RefineResult`]), `fit.csv`, one CIF per
//! phase and the Rietveld plot, assembled in memory first and then written atomically, with
//! the files of a failed run removed again.

use super::{file_stem_for, termination_text, unit_of, Fitted, Prepared, RefineArgs};
use crate::plot::{PhaseTicks, RietveldPlot};
use anyhow::{anyhow, Context, Result};
use bragg_crystal::pattern::{Evaluator, ProfileTerm, Target};
use bragg_crystal::structure::Phase;
use bragg_crystal::symmetry::{CellParam, CellRule};
use bragg_io::cif::{CellSu, SiteSu};
use bragg_io::model::RefineMode;
use bragg_io::{write_atomic, write_cif, PhaseSu};
use bragg_refine::covariance::Covariance;
use bragg_refine::derived::{
    cell_volume, occupancy_mass_derivatives, weight_fractions, xray_density, BreadthConvention,
    PhaseAmount, SizeStrain,
};
use bragg_refine::fit::BoundHit;
use bragg_refine::key::{CellIndex, PhaseItem};
use bragg_refine::stats::{bragg_r_factors, PatternFit, ReflectionProfile};
use bragg_refine::uncertain::Uncertain;
use bragg_refine::{ParamKey, Refinement};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// |ρ| above which a pair of refined parameters is listed in `correlations`.
pub const CORRELATION_THRESHOLD: f64 = 0.9;

/// One wavelength component.
#[derive(Debug, Clone, Serialize)]
pub struct WavelengthOut {
    /// Wavelength, Å.
    pub angstrom: f64,
    /// Intensity relative to the other components.
    pub relative_intensity: f64,
}

/// One parameter of the model.
#[derive(Debug, Clone, Serialize)]
pub struct ParameterOut {
    /// Typed key, e.g. `LCO.cell.a`.
    pub key: String,
    /// Final value (unit in `unit`).
    pub value: f64,
    /// esd from the final fit; `null` when not refined in it (or the covariance is singular).
    pub esd: Option<f64>,
    /// esd allowing for serially correlated residuals (AR(1) from the Durbin–Watson d; the
    /// least-squares sandwich, `Covariance::serial_corrected`); ≥ `esd`.
    pub esd_serial: Option<f64>,
    /// Whether the final fit refined it.
    pub refined: bool,
    /// Unit of value and esd (`Å`, `°`, `Å²`, `µm`, `deg²`, `counts`, or empty).
    pub unit: String,
}

/// Derived quantities of one phase.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseOut {
    /// Phase name (as in the keys and `<name>.cif`).
    pub name: String,
    /// Space-group symbol.
    pub space_group: String,
    /// Formula per formula unit (Hill order).
    pub formula: String,
    /// R_Bragg (fraction), from Rietveld-partitioned I_obs; `null` if undefined.
    pub r_bragg: Option<f64>,
    /// R_F (fraction); `null` if undefined.
    pub r_f: Option<f64>,
    /// Cell volume, Å³.
    pub volume: f64,
    /// Its esd, Å³ (`null` without a covariance or a refined cell).
    pub volume_esd: Option<f64>,
    /// X-ray density, g/cm³.
    pub density: Option<f64>,
    /// Its esd, g/cm³.
    pub density_esd: Option<f64>,
    /// Hill & Howard weight fraction (1 for a single phase).
    pub weight_fraction: Option<f64>,
    /// Its esd.
    pub weight_fraction_esd: Option<f64>,
    /// Apparent crystallite size in nm from the refined TCH Y (Scherrer, K = 0.9, FWHM), no
    /// instrumental correction; only for a single phase with Y refined and > 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_nm: Option<f64>,
    /// Its esd, nm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_nm_esd: Option<f64>,
    /// Apparent microstrain (fraction) from the refined TCH X, no instrumental correction;
    /// only for a single phase with X refined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strain: Option<f64>,
    /// Its esd.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strain_esd: Option<f64>,
}

/// One stage of the strategy.
#[derive(Debug, Clone, Serialize)]
pub struct StageOut {
    /// Stage name.
    pub name: String,
    /// Keys refined.
    pub refined: Vec<String>,
    /// How it stopped.
    pub termination: String,
    /// Residual evaluations.
    pub evaluations: usize,
    /// Rwp at its end (fraction).
    pub rwp: f64,
    /// Keys fixed again because the normal matrix was singular with them.
    pub dropped: Vec<String>,
}

/// The content of `result.json`.
///
/// ```text
/// {
///   "bragg_version": "0.1.0",
///   "data": "scan.xye",                 // the DATA argument
///   "mode": "rietveld",                 // rietveld | lebail | pawley
///   "strategy": "default",              // default | manual
///   "wavelengths": [{"angstrom": 1.540598, "relative_intensity": 1.0}, …],
///   "range": [15.0, 140.0],             // fitted 2θ window, degrees
///   "excluded": [[20.0, 22.0]],         // excluded 2θ regions, degrees
///   "parameters": [                     // every parameter of the model
///     {"key": "LCO.cell.a", "value": 2.8155, "esd": 2e-5, "esd_serial": 4e-5,
///      "refined": true, "unit": "Å"}, …],    // esd_serial: allowing for serial correlation
///   "rp": 0.061, "rwp": 0.082, "rexp": 0.05,   // fractions (0.05 = 5 %)
///   "chi2": 2.7,                        // reduced χ²_ν = Σw(yo−yc)²/(N−P)
///   "gof": 1.64,                        // √χ²_ν
///   "durbin_watson": 0.9,               // d of the weighted residuals (null if they vanish)
///   "durbin_watson_q": 1.93,            // Hill & Flack's 99.9 % critical value: d < Q means
///                                       // serially correlated residuals (esds too small)
///   "n_points": 4000,                   // N fitted points
///   "n_params": 21,                     // P independent refined parameters (last stage)
///   "n_excluded_zero_esd": 0,           // points left out because their esd is 0
///   "n_outside": 30,                    // points outside the window or in excluded regions
///   "phases": [{"name", "space_group", "formula", "r_bragg", "r_f" (fractions),
///               "volume", "volume_esd" (Å³), "density", "density_esd" (g/cm³),
///               "weight_fraction", "weight_fraction_esd",
///               "size_nm", "size_nm_esd", "strain", "strain_esd" (only when meaningful)}],
///   "iterations": 412,                  // residual evaluations summed over all stages
///   "termination": "converged",         // of the last stage
///   "stages": [{"name", "refined": [keys], "termination", "evaluations", "rwp", "dropped"}],
///   "correlations": [["LCO.scale", "LCO.Co1.biso", 0.93]],   // |ρ| > 0.9, last stage
///   "bound_hits": [{"key": "LCO.Li1.biso", "bound": 0.0}],    // last stage
///   "singular": null,                   // or the keys making the normal matrix singular
///   "warnings": ["…"]
/// }
/// ```
/// Values with `null` are undefined or not available (e.g. esds without a covariance).
#[derive(Debug, Clone, Serialize)]
pub struct RefineResult {
    /// Version of bragg that wrote the file.
    pub bragg_version: String,
    /// The data file.
    pub data: String,
    /// Refinement mode.
    pub mode: String,
    /// `default` or `manual`.
    pub strategy: String,
    /// Wavelength components.
    pub wavelengths: Vec<WavelengthOut>,
    /// Fitted window, degrees 2θ.
    pub range: [f64; 2],
    /// Excluded regions, degrees 2θ.
    pub excluded: Vec<[f64; 2]>,
    /// Every parameter.
    pub parameters: Vec<ParameterOut>,
    /// R_p (fraction).
    pub rp: f64,
    /// R_wp (fraction).
    pub rwp: f64,
    /// R_exp (fraction).
    pub rexp: f64,
    /// Reduced χ².
    pub chi2: f64,
    /// Goodness of fit.
    pub gof: f64,
    /// Durbin–Watson d of the weighted residuals (None when they all vanish).
    pub durbin_watson: Option<f64>,
    /// Hill & Flack's 99.9 % critical value Q of d.
    pub durbin_watson_q: f64,
    /// Fitted points.
    pub n_points: usize,
    /// Independent refined parameters of the last stage.
    pub n_params: usize,
    /// Points excluded because their esd is zero.
    pub n_excluded_zero_esd: usize,
    /// Points outside the window or in excluded regions.
    pub n_outside: usize,
    /// Per-phase results.
    pub phases: Vec<PhaseOut>,
    /// Residual evaluations over all stages.
    pub iterations: usize,
    /// Termination of the last stage.
    pub termination: String,
    /// The stages.
    pub stages: Vec<StageOut>,
    /// Pairs with |ρ| > [`CORRELATION_THRESHOLD`]: `[key, key, ρ]`.
    pub correlations: Vec<(String, String, f64)>,
    /// Parameters stopped at a bound in the last stage.
    pub bound_hits: Vec<BoundHit>,
    /// Keys making the normal matrix singular, if it is.
    pub singular: Option<Vec<String>>,
    /// Warnings (also printed).
    pub warnings: Vec<String>,
}

/// The pattern on the data points of the fitted window (excluded regions and zero-esd points
/// included), for `fit.csv` and the plot.
pub(crate) struct Curves {
    pub two_theta_deg: Vec<f64>,
    pub obs: Vec<f64>,
    pub calc: Vec<f64>,
    pub background: Vec<f64>,
    pub phases: Vec<Vec<f64>>,
    pub ticks: Vec<PhaseTicks>,
}

/// Everything to write, built before the first file is touched.
pub(crate) struct Bundle {
    pub result: RefineResult,
    pub json: String,
    pub csv: String,
    /// `reflections.csv` of the extracted intensities (Le Bail and Pawley modes).
    pub reflections_csv: Option<String>,
    pub cifs: Vec<(String, Phase, PhaseSu)>,
    pub curves: Curves,
    pub title: String,
    pub wavelength_label: String,
    pub excluded: Vec<(f64, f64)>,
    /// Refined parameters of the last stage with their esds, for the summary.
    pub refined: Vec<(ParamKey, Uncertain)>,
}

/// esd of a key in the final fit (`None` when not refined in it).
fn esd_of(r: &Refinement, key: &ParamKey) -> Option<f64> {
    r.parameters.iter().find(|p| p.key == *key && p.refined).and_then(|p| p.esd)
}

fn cell_key(phase: &str, p: CellParam) -> ParamKey {
    ParamKey::phase(phase, PhaseItem::Cell(CellIndex(p.index())))
}

/// The covariance names of (a, b, c, α, β, γ) of a phase: the free parameter each follows,
/// `None` for a fixed angle or a parameter not in the covariance.
fn cell_names(phase: &Phase, cov: &Covariance) -> Vec<Option<String>> {
    let rules = phase.space_group.cell_constraint();
    CellParam::ALL
        .iter()
        .map(|&p| {
            let free = match rules.rule(p) {
                CellRule::Free => Some(p),
                CellRule::SameAs(q) => Some(q),
                CellRule::FixedDeg(_) => None,
            };
            free.map(|q| cell_key(&phase.name, q).to_string()).filter(|n| cov.index_of(n).is_some())
        })
        .collect()
}

fn refs(names: &[Option<String>]) -> Vec<Option<&str>> {
    names.iter().map(|n| n.as_deref()).collect()
}

/// Uncertain → (value, esd) with a zero esd reported as `None`.
fn split(u: Uncertain) -> (f64, Option<f64>) {
    (u.value, u.esd.filter(|e| *e > 0.0))
}

/// Per-phase derived quantities and Bragg R-factors.
fn phase_results(
    f: &Fitted,
    mode: RefineMode,
    exclude: &[(f64, f64)],
    warnings: &mut Vec<String>,
) -> Result<Vec<PhaseOut>> {
    let r = &f.refinement;
    let tth = &r.observations.two_theta_deg;
    let cov = f.last.covariance.as_ref();
    let ev = r.evaluate()?;
    let weights = r.observations.weights();
    let fit = PatternFit::new(&r.observations.y_obs, &ev.total, &weights)?
        .with_background(&ev.background)?;
    let mut out = Vec::with_capacity(r.model.phases.len());
    // Weight fractions over all phases.
    let mut amounts = Vec::new();
    for c in &r.model.phases {
        amounts.push(PhaseAmount {
            scale: c.scale,
            z: c.phase.formula_units(),
            molar_mass_g_mol: c.phase.molar_mass()?,
            volume_angstrom3: c.phase.cell.volume(),
        });
    }
    let scale_names: Vec<Option<String>> = r
        .model
        .phases
        .iter()
        .map(|c| {
            let n = ParamKey::phase(&c.phase.name, PhaseItem::Scale).to_string();
            cov.and_then(|cv| cv.index_of(&n)).map(|_| n)
        })
        .collect();
    let fractions: Vec<Option<Uncertain>> = match cov {
        Some(cv) => match weight_fractions(&amounts, &cv.block_by_name(&refs(&scale_names))?) {
            Ok(w) => w.into_iter().map(Some).collect(),
            Err(e) => {
                warnings.push(format!("weight fractions not computed: {e}"));
                vec![None; amounts.len()]
            }
        },
        None => {
            // Hill & Howard (1987) eq. 4 without esds: W_p = S_p (ZMV)_p / Σ S_i (ZMV)_i.
            let zmv: Vec<f64> = amounts
                .iter()
                .map(|a| a.scale * a.z * a.molar_mass_g_mol * a.volume_angstrom3)
                .collect();
            let total: f64 = zmv.iter().sum();
            zmv.iter().map(|x| (total > 0.0).then(|| Uncertain::exact(x / total))).collect()
        }
    };
    // Size and strain: the profile is shared by all phases, so only for a single phase, and
    // only from the TCH Lorentzian terms (the pseudo-Voigt's X, Y are a mixing, not widths).
    let tch = r.model.instrument.profile.function == bragg_crystal::profile::ProfileFunction::Tch;
    let size_strain = if r.model.phases.len() == 1 && tch {
        let x_key = ParamKey::profile(ProfileTerm::X);
        let y_key = ParamKey::profile(ProfileTerm::Y);
        let (ex, ey) = (esd_of(r, &x_key), esd_of(r, &y_key));
        if ex.is_some() || ey.is_some() {
            let x = r.model.get(Target::Profile(ProfileTerm::X))?;
            let y = r.model.get(Target::Profile(ProfileTerm::Y))?;
            let ss = SizeStrain::from_tch(
                Uncertain { value: x, esd: ex },
                Uncertain { value: y, esd: ey },
                None,
                r.model.instrument.radiation.primary_wavelength_angstrom(),
                BreadthConvention::default(),
            )?;
            Some((ss, ex.is_some(), ey.is_some()))
        } else {
            None
        }
    } else {
        None
    };
    for (p, c) in r.model.phases.iter().enumerate() {
        let phase = &c.phase;
        // R_Bragg and R_F from the Rietveld partition.
        let contributions = r.evaluator().reflection_contributions(&r.model, p)?;
        // Only reflections whose peak lies among the fitted points: a peak seen through the
        // tail of its profile at the window's edge or beside an excluded region would take
        // the background misfit there as its I_obs.
        let (lo, hi) = (tth[0], tth[tth.len() - 1]);
        let profiles: Vec<ReflectionProfile<'_>> = ev.records[p]
            .iter()
            .zip(&contributions)
            .filter(|(rec, _)| {
                let t = rec.two_theta_deg;
                t >= lo && t <= hi && !exclude.iter().any(|&(a, b)| t >= a && t <= b)
            })
            .map(|(rec, (start, values))| ReflectionProfile {
                i_calc: rec.area_all_components,
                start: *start,
                contribution: values,
            })
            .collect();
        let (r_bragg, r_f) = match bragg_r_factors(&fit, &profiles) {
            Ok(b) => (Some(b.r_bragg), Some(b.r_f)),
            Err(e) => {
                warnings.push(format!("{}: Bragg R-factors not computed: {e}", phase.name));
                (None, None)
            }
        };
        // Volume and density with esds from the covariance.
        let (volume, volume_esd, density, density_esd) = match cov {
            Some(cv) => {
                let names = cell_names(phase, cv);
                let v = split(cell_volume(&phase.cell, &cv.block_by_name(&refs(&names))?)?);
                let mut dens_names = names.clone();
                let mut dm = Vec::new();
                let masses = occupancy_mass_derivatives(phase)?;
                let mut k = 0;
                for site in &phase.sites {
                    for o in &site.occupants {
                        let key = ParamKey::phase(
                            &phase.name,
                            PhaseItem::Occupancy {
                                site: site.label.clone(),
                                species: o.species.element.symbol().to_string(),
                            },
                        )
                        .to_string();
                        if cv.index_of(&key).is_some() {
                            dens_names.push(Some(key));
                            dm.push(masses.get(k).map(|m| m.dmass_docc).unwrap_or(0.0));
                        }
                        k += 1;
                    }
                }
                let dens_cov = cv.block_by_name(&refs(&dens_names))?;
                let rho =
                    xray_density(&phase.cell, phase.cell_mass()?, &dm, &dens_cov).map(split).ok();
                (v.0, v.1, rho.map(|x| x.0), rho.and_then(|x| x.1))
            }
            None => (phase.cell.volume(), None, phase.density().ok(), None),
        };
        let (weight_fraction, weight_fraction_esd) = match fractions[p] {
            // Extracted intensities carry no scale information.
            _ if mode != RefineMode::Rietveld => (f64::NAN, None),
            Some(w) if r.model.phases.len() > 1 => split(w),
            Some(w) => (w.value, None),
            None => (f64::NAN, None),
        };
        let mut po = PhaseOut {
            name: phase.name.clone(),
            space_group: phase.space_group.symbol().to_string(),
            formula: phase.formula(),
            r_bragg,
            r_f,
            volume,
            volume_esd,
            density,
            density_esd,
            weight_fraction: weight_fraction.is_finite().then_some(weight_fraction),
            weight_fraction_esd,
            size_nm: None,
            size_nm_esd: None,
            strain: None,
            strain_esd: None,
        };
        if let Some((ss, x_refined, y_refined)) = &size_strain {
            if *y_refined {
                if let Some(d) = ss.size_nm() {
                    po.size_nm = Some(d.value);
                    po.size_nm_esd = d.esd;
                }
            }
            if *x_refined {
                po.strain = Some(ss.strain.value);
                po.strain_esd = ss.strain.esd;
            }
        }
        out.push(po);
    }
    Ok(out)
}

/// Standard uncertainties of a phase for its CIF, from the esds of the final fit. A tied
/// coordinate's su follows its free parameters through the site-symmetry basis
/// (σ_i² = Σ_j (basis_j,i σ_j)², neglecting correlations between free coordinates of one
/// site).
fn phase_su(r: &Refinement, p: usize) -> Result<PhaseSu> {
    let phase = &r.model.phases[p].phase;
    let rules = phase.space_group.cell_constraint();
    let cell_su = |param: CellParam| match rules.rule(param) {
        CellRule::Free => esd_of(r, &cell_key(&phase.name, param)),
        CellRule::SameAs(q) => esd_of(r, &cell_key(&phase.name, q)),
        CellRule::FixedDeg(_) => None,
    };
    let cell = CellSu {
        a: cell_su(CellParam::A),
        b: cell_su(CellParam::B),
        c: cell_su(CellParam::C),
        alpha_deg: cell_su(CellParam::Alpha),
        beta_deg: cell_su(CellParam::Beta),
        gamma_deg: cell_su(CellParam::Gamma),
    };
    let mut sites = Vec::with_capacity(phase.sites.len());
    for (s, site) in phase.sites.iter().enumerate() {
        let pc = r.model.position_constraint(p, s)?;
        let mut var = [0.0f64; 3];
        let mut any = [false; 3];
        for (j, &axis) in pc.pivots().iter().enumerate() {
            let key = ParamKey::phase(
                &phase.name,
                PhaseItem::Coordinate { site: site.label.clone(), axis },
            );
            if let Some(e) = esd_of(r, &key) {
                for i in 0..3 {
                    let b = pc.basis[j][i];
                    if b != 0.0 {
                        var[i] += (b * e).powi(2);
                        any[i] = true;
                    }
                }
            }
        }
        let position = [0, 1, 2].map(|i| any[i].then(|| var[i].sqrt()));
        let occupancy = site
            .occupants
            .iter()
            .map(|o| {
                esd_of(
                    r,
                    &ParamKey::phase(
                        &phase.name,
                        PhaseItem::Occupancy {
                            site: site.label.clone(),
                            species: o.species.element.symbol().to_string(),
                        },
                    ),
                )
            })
            .collect();
        let biso =
            esd_of(r, &ParamKey::phase(&phase.name, PhaseItem::Biso { site: site.label.clone() }));
        sites.push(SiteSu { position, occupancy, biso });
    }
    Ok(PhaseSu { cell, sites })
}

/// The final model on the data points of the fitted window.
fn curves(f: &Fitted, p: &Prepared) -> Result<Curves> {
    let r = &f.refinement;
    let data = &p.scan.data;
    let (lo, hi) = p.window;
    let idx: Vec<usize> = (0..data.len())
        .filter(|&i| data.two_theta_deg[i] >= lo && data.two_theta_deg[i] <= hi)
        .collect();
    let grid: Vec<f64> = idx.iter().map(|&i| data.two_theta_deg[i]).collect();
    let obs: Vec<f64> = idx.iter().map(|&i| data.intensity[i]).collect();
    // The same width policy as the refinement (floored, reported in its warnings).
    let mut evaluator = Evaluator::new(&r.model, &grid)?;
    evaluator.set_width_floor(true);
    let ev = evaluator.evaluate(&r.model, &[], None)?;
    let ticks = r
        .model
        .phases
        .iter()
        .zip(&ev.records)
        .map(|(c, recs)| PhaseTicks {
            name: c.phase.name.clone(),
            positions_deg: recs
                .iter()
                .map(|x| x.two_theta_deg)
                .filter(|t| *t >= lo && *t <= hi)
                .collect(),
        })
        .collect();
    Ok(Curves {
        two_theta_deg: grid,
        obs,
        calc: ev.total,
        background: ev.background,
        phases: ev.phases,
        ticks,
    })
}

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// `fit.csv`: `two_theta,obs,calc,background,diff,<phase…>`, one row per data point of the
/// window, numbers in shortest round-trip form.
fn fit_csv(c: &Curves, names: &[String]) -> String {
    let mut s = String::from("two_theta,obs,calc,background,diff");
    for n in names {
        s.push(',');
        s.push_str(&csv_field(n));
    }
    s.push('\n');
    for i in 0..c.two_theta_deg.len() {
        s.push_str(&format!(
            "{},{},{},{},{}",
            c.two_theta_deg[i],
            c.obs[i],
            c.calc[i],
            c.background[i],
            c.obs[i] - c.calc[i]
        ));
        for ph in &c.phases {
            s.push_str(&format!(",{}", ph[i]));
        }
        s.push('\n');
    }
    s
}

/// `reflections.csv`: `phase,h,k,l,d,two_theta,multiplicity,intensity,esd,in_range,at_floor`
/// (d in Å, 2θ in degrees at the primary wavelength, intensity |F|²-equivalent; esd empty when
/// not available).
fn reflections_csv(f: &Fitted) -> Option<String> {
    if f.extracted.is_empty() {
        return None;
    }
    let mut s =
        String::from("phase,h,k,l,d,two_theta,multiplicity,intensity,esd,in_range,at_floor\n");
    for x in &f.extracted {
        let [h, k, l] = x.hkl;
        s.push_str(&format!(
            "{},{h},{k},{l},{},{},{},{},{},{},{}\n",
            csv_field(&x.phase_name),
            x.d,
            x.two_theta_deg,
            x.multiplicity,
            x.intensity,
            x.esd.map(|e| e.to_string()).unwrap_or_default(),
            x.in_range,
            x.at_floor
        ));
    }
    Some(s)
}

/// Builds every output in memory.
pub(crate) fn assemble(args: &RefineArgs, p: &Prepared, f: &Fitted) -> Result<Bundle> {
    let r = &f.refinement;
    let last = &f.last;
    let mut warnings: Vec<String> = p.notes.clone();
    for s in &f.reports {
        if let bragg_refine::Termination::Failed(why) = &s.termination {
            warnings.push(format!("stage '{}' failed: {why}", s.name));
        }
        if s.termination == bragg_refine::Termination::MaxEvaluations {
            warnings
                .push(format!("stage '{}' used its evaluation budget without converging", s.name));
        }
        if !s.dropped.is_empty() {
            warnings.push(format!(
                "stage '{}': {} fixed again (singular normal matrix)",
                s.name,
                s.dropped.join(", ")
            ));
        }
    }
    warnings.extend(last.warnings.iter().cloned());
    for h in &last.bound_hits {
        warnings.push(format!("{} is held at its bound {} (no esd)", h.key, h.bound));
    }
    if let Some(keys) = &last.singular {
        warnings.push(format!(
            "the normal matrix of the last stage is singular ({} not independently determined): \
             no esds",
            keys.join(", ")
        ));
    }
    if r.observations.n_zero_esd > 0 {
        warnings.push(format!(
            "{} points with esd = 0 were left out of the fit",
            r.observations.n_zero_esd
        ));
    }
    let phases = phase_results(f, p.mode, &p.exclude, &mut warnings)?;
    let parameters = r
        .parameters
        .iter()
        .map(|q| ParameterOut {
            key: q.key.to_string(),
            value: q.value,
            esd: if q.refined { q.esd } else { None },
            esd_serial: if q.refined { q.esd_serial } else { None },
            refined: q.refined,
            unit: unit_of(&q.key).to_string(),
        })
        .collect();
    let refined: Vec<(ParamKey, Uncertain)> = r
        .parameters
        .iter()
        .filter(|q| q.refined)
        .map(|q| (q.key.clone(), Uncertain { value: q.value, esd: q.esd }))
        .collect();
    let correlations = last
        .covariance
        .as_ref()
        .map(|c| {
            c.high_correlations
                .iter()
                .filter(|x| x.rho.abs() > CORRELATION_THRESHOLD)
                .map(|x| (x.a.clone(), x.b.clone(), x.rho))
                .collect()
        })
        .unwrap_or_default();
    let st = &last.statistics;
    let result = RefineResult {
        bragg_version: env!("CARGO_PKG_VERSION").to_string(),
        data: args.data.display().to_string(),
        mode: match p.mode {
            RefineMode::Rietveld => "rietveld",
            RefineMode::Lebail => "lebail",
            RefineMode::Pawley => "pawley",
        }
        .to_string(),
        strategy: if p.stages.is_some() { "manual" } else { "default" }.to_string(),
        wavelengths: r
            .model
            .instrument
            .radiation
            .components()
            .iter()
            .map(|c| WavelengthOut {
                angstrom: c.wavelength_angstrom,
                relative_intensity: c.relative_intensity,
            })
            .collect(),
        range: [p.window.0, p.window.1],
        excluded: p.exclude.iter().map(|&(a, b)| [a, b]).collect(),
        parameters,
        rp: st.rp,
        rwp: st.rwp,
        rexp: st.rexp,
        chi2: st.chi2,
        gof: st.gof,
        durbin_watson: st.durbin_watson,
        durbin_watson_q: st.durbin_watson_critical(),
        n_points: st.n_points,
        n_params: st.n_params,
        n_excluded_zero_esd: r.observations.n_zero_esd,
        n_outside: r.observations.n_outside,
        phases,
        iterations: f.reports.iter().map(|s| s.evaluations).sum(),
        termination: termination_text(&last.termination),
        stages: f
            .reports
            .iter()
            .map(|s| StageOut {
                name: s.name.clone(),
                refined: s.refined.clone(),
                termination: termination_text(&s.termination),
                evaluations: s.evaluations,
                rwp: s.rwp,
                dropped: s.dropped.clone(),
            })
            .collect(),
        correlations,
        bound_hits: last.bound_hits.clone(),
        singular: last.singular.clone(),
        warnings,
    };
    let json = serde_json::to_string_pretty(&result).context("serialising result.json")?;
    let curves = curves(f, p)?;
    let names: Vec<String> = r.model.phases.iter().map(|c| c.phase.name.clone()).collect();
    let csv = fit_csv(&curves, &names);
    let mut cifs = Vec::with_capacity(names.len());
    for (i, c) in r.model.phases.iter().enumerate() {
        let file = format!("{}.cif", file_stem_for(&c.phase.name));
        if cifs.iter().any(|(f, _, _): &(String, Phase, PhaseSu)| f.eq_ignore_ascii_case(&file)) {
            return Err(anyhow!(
                "two phases would both be written to {file}: give them distinct names"
            ));
        }
        cifs.push((file, c.phase.clone(), phase_su(r, i)?));
    }
    let data_name = args
        .data
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| args.data.display().to_string());
    Ok(Bundle {
        title: format!("{data_name}: Rwp = {:.2} %, GoF = {:.2}", 100.0 * st.rwp, st.gof),
        wavelength_label: super::describe_radiation(&r.model.instrument.radiation)
            .split(" (")
            .next()
            .unwrap_or_default()
            .to_string(),
        excluded: p.exclude.clone(),
        result,
        json,
        csv,
        reflections_csv: reflections_csv(f),
        cifs,
        curves,
        refined,
    })
}

/// Writes every output into `outdir` (created if needed), each file atomically. If any write
/// fails, the files written so far by this call are removed, and `outdir` too when this call
/// created it, before the error is returned.
pub(crate) fn write_all(outdir: &Path, b: &Bundle) -> Result<Vec<PathBuf>> {
    let existed = outdir.is_dir();
    std::fs::create_dir_all(outdir)
        .map_err(|e| anyhow!("{}: cannot create the output folder: {e}", outdir.display()))?;
    let mut written: Vec<PathBuf> = Vec::new();
    let result = write_each(outdir, b, &mut written);
    if let Err(e) = result {
        for f in &written {
            let _ = std::fs::remove_file(f);
        }
        if !existed {
            let _ = std::fs::remove_dir(outdir);
        }
        return Err(e);
    }
    Ok(written)
}

fn write_each(outdir: &Path, b: &Bundle, written: &mut Vec<PathBuf>) -> Result<()> {
    let json_path = outdir.join("result.json");
    write_atomic(&json_path, |w: &mut dyn Write| {
        w.write_all(b.json.as_bytes())?;
        w.write_all(b"\n")
    })?;
    written.push(json_path);
    let csv_path = outdir.join("fit.csv");
    write_atomic(&csv_path, |w: &mut dyn Write| w.write_all(b.csv.as_bytes()))?;
    written.push(csv_path);
    if let Some(text) = &b.reflections_csv {
        let path = outdir.join("reflections.csv");
        write_atomic(&path, |w: &mut dyn Write| w.write_all(text.as_bytes()))?;
        written.push(path);
    }
    for (file, phase, su) in &b.cifs {
        let path = outdir.join(file);
        write_cif(&path, phase, Some(su))?;
        written.push(path);
    }
    let c = &b.curves;
    let mut plot = RietveldPlot::new(&c.two_theta_deg, &c.obs, &c.calc, &c.background);
    plot.excluded_deg = &b.excluded;
    plot.phases = c.ticks.clone();
    plot.title = b.title.clone();
    plot.wavelength_label = Some(b.wavelength_label.clone());
    let (png, svg) = (outdir.join("fit.png"), outdir.join("fit.svg"));
    // The plot writes both files atomically, or neither when its data are invalid; a failure
    // between the two leaves the PNG, removed with the others.
    let rendered = plot.render(&png, &svg);
    if rendered.is_err() && png.exists() {
        written.push(png.clone());
    }
    rendered.context("drawing fit.png / fit.svg")?;
    written.push(png);
    written.push(svg);
    Ok(())
}
