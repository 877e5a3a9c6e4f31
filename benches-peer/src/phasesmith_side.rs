//! PhaseSmith 0.7.0's side of the benchmark: the workloads of [`crate::spec`] translated into
//! PhaseSmith's types, and the two evaluation paths that are timed.
//!
//! * [`PhasesmithWorkload::simulate_full`] — "model → y_calc" as a PhaseSmith user gets it:
//!   reflection generation (`PreparedReflectionGenerator::generate`, one call per phase, over
//!   d ≥ [`WorkloadSpec::d_min_angstrom`], bragg's reach rule), building the `RietveldPhase`s, then
//!   `phasesmith::workflows::calculate_rietveld_pattern`, which validates the request, prepares
//!   the phases (scattering-table lookup), evaluates f0(s), the structure factors, LP and the
//!   profiles **with analytical derivatives** (PhaseSmith has no values-only structural path),
//!   adds the Chebyshev background, and computes residual metrics against the (dummy)
//!   observations that `RietveldInput` requires.
//! * [`PreparedPhasesmith::evaluate`] — PhaseSmith's re-evaluation path for optimisers and
//!   interactive hosts: `engine::PreparedStructuralMultiphase::calculate` on phases prepared
//!   once with a fixed reflection list, plus the Chebyshev background. Reflection generation,
//!   request validation and the residual metrics are outside; f0(s), LP, |F|² and the profile
//!   accumulation (still with local/instrument derivatives, axial rows off) are inside on every
//!   call: `StructuralPreparationCache`, PhaseSmith's only cache of f0/LP tables, is reachable
//!   only through `linearize_selected`, which also materialises a dense Jacobian.
//!
//! Parameter translation (bragg convention → PhaseSmith): see [`to_phasesmith_instrument`],
//! [`u_iso_from_b`], [`correction_model`]. Mixed sites become one PhaseSmith site per species
//! at the same coordinates. X-ray form factors: Waasmaier–Kirfel neutral atoms (`Li`, `Ti`,
//! `Ni`, `O`, `Al`); f′ = f″ = 0 unless [`Dispersion`] supplies fixed offsets.

use std::error::Error;

use phasesmith::core::{
    ConstantWavelengthInstrument, CwContributionsView, FcjGeometry, OwnedCwContributions,
    ProfileAccuracy, SupportPolicy,
};
use phasesmith::crystallography::{
    GeneratedReflection, IntegratedIntensityCorrectionModel, PreparedReflectionGenerator,
    ReflectionRange, UnitCell,
};
use phasesmith::engine::{
    BuiltInScatteringModel, MonochromaticPositionCorrection, PreparedStructuralModel,
    PreparedStructuralModelInputView, PreparedStructuralMultiphase, PreparedStructuralPhase,
    PreparedStructuralSpectrum, StructuralMultiphaseResult, StructuralPhaseDefinition,
};
use phasesmith::execution::ExecutionPolicy;
use phasesmith::model::{FixedWavelengthSpectrum, PatternRecord, RecordId};
use phasesmith::workflows::{
    calculate_rietveld_pattern, BackgroundModel, ChebyshevBackground, DifferentiableBackground,
    RietveldCalculation, RietveldCalculationOptions, RietveldInput, RietveldPhase,
};

use crate::spec::{
    PhaseSpec, PolarizationSpec, ProfileSpec, WidthConvention, WorkloadSpec, BRAGG_WIDTH_CONVENTION,
};

/// Boxed error for this benchmark crate.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// 8 ln 2 = FWHM² / σ² of a Gaussian.
const EIGHT_LN2: f64 = 8.0 * std::f64::consts::LN_2;

/// Largest d-spacing generated (Å): larger than any d of these cells, i.e. no low-angle cut.
const D_MAX_ANGSTROM: f64 = 100.0;

/// Largest integer (h, k, l) box PhaseSmith's generator may search (safety bound only).
const MAX_CANDIDATES: usize = 5_000_000;

/// How far each peak is evaluated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SupportChoice {
    /// `ProfileAccuracy::tail_area_tolerance`: each peak is truncated where the discarded area
    /// of its (TCH) pseudo-Voigt reaches this fraction (PhaseSmith bounds Gaussian and
    /// Lorentzian tails separately, weighted by η). Valid range 1e-8..0.1.
    TailArea(f64),
    /// `SupportPolicy::FwhmMultiple(m)`: every peak is evaluated over ±m·FWHM.
    FwhmMultiple(f64),
}

/// The support used for the headline numbers: a discarded-area budget of 9.0e-4, the
/// worst-case (pure Lorentzian) area-loss bound of bragg's `DEFAULT_CUTOFF` = 4e-6
/// (bragg `profile/mod.rs`: (2/π)√(c/(2 − c)) + c = 9.0e-4).
pub const MATCHED_SUPPORT: SupportChoice = SupportChoice::TailArea(9.0e-4);

/// Fixed anomalous-dispersion offsets per element (electrons): PhaseSmith has no f′/f″
/// table, only fixed per-site offsets added to f0(s).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dispersion {
    /// (element symbol, f′, f″) triples; elements not listed get 0.
    pub by_element: Vec<(&'static str, f64, f64)>,
}

impl Dispersion {
    fn lookup(&self, element: &str) -> (f64, f64) {
        self.by_element
            .iter()
            .find(|(e, _, _)| *e == element)
            .map_or((0.0, 0.0), |&(_, fp, fpp)| (fp, fpp))
    }
}

/// Benchmark configuration for the PhaseSmith side.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Peak truncation.
    pub support: SupportChoice,
    /// Worker threads given to PhaseSmith's `ExecutionPolicy` (1 = serial).
    pub threads: usize,
    /// Anomalous-dispersion offsets (empty = f0 only).
    pub dispersion: Dispersion,
    /// PhaseSmith's opt-in `ProfileAccuracy::fast_fcj` (lower-order Gauss–Legendre rules for
    /// small axial spans). Off by default, as in PhaseSmith.
    pub fast_fcj: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            support: MATCHED_SUPPORT,
            threads: 1,
            dispersion: Dispersion::default(),
            fast_fcj: false,
        }
    }
}

/// PhaseSmith's U V W X Y from bragg's. PhaseSmith (`core::cw`): σ² = U tan²θ + V tanθ + W
/// (Gaussian **variance**, deg²), H_G = √(8 ln 2)·σ, H_L = X secθ + Y tanθ (deg).
#[must_use]
pub fn to_phasesmith_instrument(
    profile: ProfileSpec,
    wavelength_angstrom: f64,
) -> ConstantWavelengthInstrument {
    match BRAGG_WIDTH_CONVENTION {
        // H_G² = U tan²θ + V tanθ + W  ⇒  σ² = H_G²/(8 ln 2); H_L = X tanθ + Y secθ.
        WidthConvention::FullProfTch => ConstantWavelengthInstrument {
            wavelength_angstrom,
            u_deg2: profile.u_deg2 / EIGHT_LN2,
            v_deg2: profile.v_deg2 / EIGHT_LN2,
            w_deg2: profile.w_deg2 / EIGHT_LN2,
            x_deg: profile.y_deg,
            y_deg: profile.x_deg,
        },
        WidthConvention::GsasVariance => ConstantWavelengthInstrument {
            wavelength_angstrom,
            u_deg2: profile.u_deg2,
            v_deg2: profile.v_deg2,
            w_deg2: profile.w_deg2,
            x_deg: profile.x_deg,
            y_deg: profile.y_deg,
        },
    }
}

/// U_iso = B / (8π²) in Å² (ITC Vol. C §8.2.1 / Trueblood et al. 1996).
#[must_use]
pub fn u_iso_from_b(b_angstrom2: f64) -> f64 {
    b_angstrom2 / (8.0 * std::f64::consts::PI * std::f64::consts::PI)
}

/// PhaseSmith's LP model: `BraggBrentanoPolarizedLp` evaluates
/// C = [P + (1 − P) cos²2θ] / (sin²θ cos θ), which is bragg's LP with the same P
/// (unpolarised: P = ½; monochromator: P = 1/(1 + cos²2θ_M)). The 1/(sin²θ cos θ) Lorentz
/// factor is the same for Debye–Scherrer geometry, so it is used for the synchrotron too.
#[must_use]
pub fn correction_model(
    polarization: PolarizationSpec,
    wavelength_angstrom: f64,
) -> IntegratedIntensityCorrectionModel {
    IntegratedIntensityCorrectionModel::BraggBrentanoPolarizedLp {
        wavelength_angstrom,
        polarization: polarization.fraction(),
    }
}

/// One phase of the model, before any reflection list exists.
pub struct PhaseModel {
    /// Stable phase id.
    pub id: RecordId,
    /// Name.
    pub name: String,
    /// Reflection generator (space-group topology cached).
    pub generator: PreparedReflectionGenerator,
    /// Definition with empty `hkl`/`multiplicity`, filled by each generation.
    pub template: StructuralPhaseDefinition,
}

impl PhaseModel {
    fn new(
        spec: &PhaseSpec,
        correction: IntegratedIntensityCorrectionModel,
        dispersion: &Dispersion,
    ) -> Result<Self, BoxError> {
        let info = phasesmith::io::space_group_by_number(spec.space_group_number)?;
        let group = info.space_group;
        let a = spec.a_angstrom;
        let cell = UnitCell {
            a_angstrom: a,
            b_angstrom: a,
            c_angstrom: a,
            alpha_deg: 90.0,
            beta_deg: 90.0,
            gamma_deg: 90.0,
        };
        let n = spec.atoms.len();
        let with_dispersion = !dispersion.by_element.is_empty();
        let template = StructuralPhaseDefinition {
            cell,
            space_group: group.clone(),
            hkl: Vec::new(),
            multiplicity: Vec::new(),
            fractional_xyz: spec.atoms.iter().map(|a| a.xyz).collect(),
            occupancy: spec.atoms.iter().map(|a| a.occupancy).collect(),
            u_iso_angstrom2: spec.atoms.iter().map(|a| u_iso_from_b(a.b_iso_angstrom2)).collect(),
            anisotropic_mask: vec![false; n],
            u_aniso_cif_angstrom2: vec![[0.0; 6]; n],
            scattering_species: spec.atoms.iter().map(|a| a.element.to_owned()).collect(),
            scattering_real_offset: if with_dispersion {
                spec.atoms.iter().map(|a| dispersion.lookup(a.element).0).collect()
            } else {
                Vec::new()
            },
            scattering_imag_offset: if with_dispersion {
                spec.atoms.iter().map(|a| dispersion.lookup(a.element).1).collect()
            } else {
                Vec::new()
            },
            scale: spec.scale,
            coordinate_tolerance: 1.0e-10,
            scattering_model: BuiltInScatteringModel::XrayNonResonant,
            correction_model: correction,
        };
        Ok(Self {
            id: RecordId::new(spec.name.to_lowercase())?,
            name: spec.name.to_owned(),
            // Friedel mates merged into one powder family (multiplicity counts both).
            generator: PreparedReflectionGenerator::new(group, true, MAX_CANDIDATES)?,
            template,
        })
    }

    /// Generate the reflection families over `range`.
    ///
    /// # Errors
    /// PhaseSmith's generation errors.
    pub fn reflections(
        &self,
        range: ReflectionRange,
    ) -> Result<Vec<GeneratedReflection>, BoxError> {
        Ok(self.generator.generate(self.template.cell, range)?)
    }

    /// The structural definition with a reflection list.
    #[must_use]
    pub fn definition(&self, reflections: &[GeneratedReflection]) -> StructuralPhaseDefinition {
        let mut definition = self.template.clone();
        definition.hkl = reflections.iter().map(|r| r.hkl).collect();
        definition.multiplicity = reflections.iter().map(|r| r.multiplicity).collect();
        definition
    }
}

/// A whole workload in PhaseSmith's types: the "model" the timed calls start from.
pub struct PhasesmithWorkload {
    /// The source specification.
    pub spec: WorkloadSpec,
    /// Grid (degrees 2θ).
    pub x_deg: Vec<f64>,
    /// Reference-wavelength instrument (PhaseSmith units).
    pub instrument: ConstantWavelengthInstrument,
    /// Kα doublet, if any (PhaseSmith normalises relative intensities to unit sum).
    pub spectrum: Option<FixedWavelengthSpectrum>,
    /// FCJ geometry, if any.
    pub axial: Option<FcjGeometry>,
    /// No zero shift or displacement.
    pub position: MonochromaticPositionCorrection,
    /// Background over the pattern range.
    pub background: ChebyshevBackground,
    /// Phases.
    pub phases: Vec<PhaseModel>,
    /// Reflection range used by [`Self::simulate_full`].
    pub range: ReflectionRange,
    /// Peak truncation policy and accuracy controls.
    pub support: SupportPolicy,
    /// Accuracy controls (tail-area budget).
    pub accuracy: ProfileAccuracy,
    /// Worker budget.
    pub execution: ExecutionPolicy,
    input: RietveldInput,
    options: RietveldCalculationOptions,
}

impl PhasesmithWorkload {
    /// Translate a workload into PhaseSmith's types (not timed).
    ///
    /// # Errors
    /// Any PhaseSmith validation error.
    pub fn new(spec: WorkloadSpec, config: &Config) -> Result<Self, BoxError> {
        let x_deg = spec.grid();
        let lambda = spec.wavelengths[0].wavelength_angstrom;
        let instrument = to_phasesmith_instrument(spec.profile, lambda);
        let spectrum = if spec.wavelengths.len() > 1 {
            Some(FixedWavelengthSpectrum::new(
                spec.wavelengths.iter().map(|w| w.wavelength_angstrom).collect(),
                spec.wavelengths.iter().map(|w| w.relative_intensity).collect(),
            )?)
        } else {
            None
        };
        let axial = spec.fcj.map(|f| FcjGeometry {
            sample_over_radius: f.s_over_l,
            detector_over_radius: f.h_over_l,
        });
        let position = MonochromaticPositionCorrection {
            zero_shift_deg: 0.0,
            bragg_brentano_mm: None,
            debye_scherrer_micrometre: None,
        };
        let end = spec.two_theta_end_deg();
        let background = ChebyshevBackground::new(
            "chebyshev",
            spec.background.to_vec(),
            [spec.two_theta_start_deg, end],
        )?;
        let correction = correction_model(spec.polarization, lambda);
        let phases = spec
            .phases
            .iter()
            .map(|p| PhaseModel::new(p, correction, &config.dispersion))
            .collect::<Result<Vec<_>, _>>()?;
        // Same reflections as bragg's `simulate`: d ≥ d_min of bragg's reach rule (see
        // `WorkloadSpec::d_min_angstrom`), no low-angle cut.
        let range = ReflectionRange::DSpacing {
            min_angstrom: spec.d_min_angstrom(),
            max_angstrom: D_MAX_ANGSTROM,
        };
        let (support, accuracy, support_fwhm) = match config.support {
            SupportChoice::TailArea(t) => (
                SupportPolicy::FwhmMultiple(20.0),
                ProfileAccuracy { fast_fcj: config.fast_fcj, tail_area_tolerance: Some(t) },
                20.0,
            ),
            SupportChoice::FwhmMultiple(m) => (
                SupportPolicy::FwhmMultiple(m),
                ProfileAccuracy { fast_fcj: config.fast_fcj, tail_area_tolerance: None },
                m,
            ),
        };
        let execution = ExecutionPolicy::new(Some(config.threads), 2)?;
        let mut options = RietveldCalculationOptions::new(support_fwhm, false, execution.clone())?;
        options.profile_accuracy = accuracy;
        // RietveldInput requires observations: a flat dummy pattern of ones (only feeds the
        // residual metrics, which are not used).
        let pattern =
            PatternRecord::new(x_deg.clone(), Some(vec![1.0; x_deg.len()]), None, None, None)?;
        let first_phases = rietveld_phases(&phases, range)?;
        let background_model = BackgroundModel::Chebyshev(background.clone());
        let input = match &spectrum {
            None => RietveldInput::new_with_background(
                pattern,
                instrument,
                axial,
                position,
                background_model,
                first_phases,
            )?,
            Some(s) => RietveldInput::new_fixed_spectrum_with_background(
                pattern,
                instrument,
                s.clone(),
                axial,
                position,
                background_model,
                first_phases,
            )?,
        };
        Ok(Self {
            spec,
            x_deg,
            instrument,
            spectrum,
            axial,
            position,
            background,
            phases,
            range,
            support,
            accuracy,
            execution,
            input,
            options,
        })
    }

    /// Full "model → y_calc": reflection generation + `calculate_rietveld_pattern`.
    /// Returns the whole `RietveldCalculation` (`.y` is y_calc = profile + background).
    ///
    /// # Errors
    /// Any PhaseSmith error.
    pub fn simulate_full(&mut self) -> Result<RietveldCalculation, BoxError> {
        self.input.phases = rietveld_phases(&self.phases, self.range)?;
        Ok(calculate_rietveld_pattern(&self.input, &self.options)?)
    }

    /// `calculate_rietveld_pattern` alone, on the reflection lists of the last generation
    /// (diagnostic: [`Self::simulate_full`] minus reflection generation).
    ///
    /// # Errors
    /// Any PhaseSmith error.
    pub fn calculate_only(&self) -> Result<RietveldCalculation, BoxError> {
        Ok(calculate_rietveld_pattern(&self.input, &self.options)?)
    }

    /// Reflection lists at the current model (one per phase, at the reference wavelength).
    ///
    /// # Errors
    /// PhaseSmith's generation errors.
    pub fn reflections(&self) -> Result<Vec<Vec<GeneratedReflection>>, BoxError> {
        self.phases.iter().map(|p| p.reflections(self.range)).collect()
    }

    /// Prepare PhaseSmith's re-evaluation path (not timed): reflection lists fixed,
    /// `PreparedStructuralPhase`/`PreparedStructuralSpectrum` built once.
    ///
    /// # Errors
    /// Any PhaseSmith error.
    pub fn prepare(&self) -> Result<PreparedPhasesmith, BoxError> {
        let mut models = Vec::with_capacity(self.phases.len());
        let mut contributions = Vec::with_capacity(self.phases.len());
        for phase in &self.phases {
            let reflections = phase.reflections(self.range)?;
            let definition = phase.definition(&reflections);
            let n = definition.hkl.len();
            match &self.spectrum {
                None => {
                    models.push(PreparedStructuralModel::monochromatic(
                        PreparedStructuralPhase::new(definition, self.execution.context().clone())?,
                    ));
                    contributions.push(vec![OwnedCwContributions::neutral(n)]);
                }
                Some(s) => {
                    models.push(PreparedStructuralModel::fixed_spectrum(
                        PreparedStructuralSpectrum::new(
                            &definition,
                            s.wavelengths_angstrom().to_vec(),
                            s.relative_intensities(),
                            self.execution.clone(),
                        )?,
                    ));
                    contributions.push(
                        s.wavelengths_angstrom()
                            .iter()
                            .map(|_| OwnedCwContributions::neutral(n))
                            .collect(),
                    );
                }
            }
        }
        Ok(PreparedPhasesmith {
            multiphase: PreparedStructuralMultiphase::new(models, self.execution.clone())?,
            contributions,
            x_deg: self.x_deg.clone(),
            instrument: self.instrument,
            axial: self.axial,
            position: self.position,
            support: self.support,
            accuracy: self.accuracy,
            background: self.background.clone(),
        })
    }
}

fn rietveld_phases(
    phases: &[PhaseModel],
    range: ReflectionRange,
) -> Result<Vec<RietveldPhase>, BoxError> {
    phases
        .iter()
        .map(|p| {
            let reflections = p.reflections(range)?;
            let definition = p.definition(&reflections);
            let n = definition.hkl.len();
            Ok(RietveldPhase::new(
                p.id.clone(),
                p.name.clone(),
                definition,
                OwnedCwContributions::neutral(n),
            )?)
        })
        .collect()
}

/// PhaseSmith's prepared (re-evaluation) path.
pub struct PreparedPhasesmith {
    multiphase: PreparedStructuralMultiphase,
    contributions: Vec<Vec<OwnedCwContributions>>,
    x_deg: Vec<f64>,
    instrument: ConstantWavelengthInstrument,
    axial: Option<FcjGeometry>,
    position: MonochromaticPositionCorrection,
    support: SupportPolicy,
    accuracy: ProfileAccuracy,
    background: ChebyshevBackground,
}

impl PreparedPhasesmith {
    /// Structural part only (per-phase results, profile sum without background).
    ///
    /// # Errors
    /// Any PhaseSmith error.
    pub fn calculate_structural(&self) -> Result<StructuralMultiphaseResult, BoxError> {
        let views: Vec<Vec<CwContributionsView<'_>>> = self
            .contributions
            .iter()
            .map(|phase| phase.iter().map(OwnedCwContributions::as_view).collect())
            .collect();
        let inputs: Vec<PreparedStructuralModelInputView<'_>> = views
            .iter()
            .map(|contributions| PreparedStructuralModelInputView {
                x_deg: &self.x_deg,
                instrument: self.instrument,
                axial_geometry: self.axial,
                position_correction: self.position,
                contributions,
                support: self.support,
                profile_accuracy: self.accuracy,
                calculate_axial_derivatives: false,
            })
            .collect();
        Ok(self.multiphase.calculate(&inputs)?)
    }

    /// y_calc = Σ phases + Chebyshev background.
    ///
    /// # Errors
    /// Any PhaseSmith error.
    pub fn evaluate(&self) -> Result<Vec<f64>, BoxError> {
        let mut y = self.calculate_structural()?.profile_y;
        for (y, b) in y.iter_mut().zip(self.background.calculate(&self.x_deg)?) {
            *y += b;
        }
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec;
    use phasesmith::core::CwProfileParameters;

    #[test]
    fn fullprof_widths_convert_to_the_same_fwhm() {
        // FullProf/TCH: H_G² = U tan²θ + V tanθ + W, H_L = X tanθ + Y/cosθ (TCH 1987 eqs 2-3).
        let p = spec::lab().profile;
        let i = to_phasesmith_instrument(p, 1.540_593);
        for tt in [20.0_f64, 45.0, 78.0] {
            let th = (tt / 2.0).to_radians();
            let hg = (p.u_deg2 * th.tan().powi(2) + p.v_deg2 * th.tan() + p.w_deg2).sqrt();
            let hl = p.x_deg * th.tan() + p.y_deg / th.cos();
            let w = CwProfileParameters::from_instrument(tt, i).unwrap();
            assert!((w.gaussian_fwhm_deg - hg).abs() < 1e-12 * hg.max(1.0), "{tt}");
            assert!((w.lorentzian_fwhm_deg - hl).abs() < 1e-12, "{tt}");
        }
    }

    #[test]
    fn lp_is_bragg_form_with_monochromator_fraction() {
        // LP = [P + (1-P) cos²2θ]/(sin²θ cosθ), P = 1/(1 + cos²2θ_M) (ITC Vol. C §6.2.2).
        let lambda = 1.540_593;
        let model = correction_model(spec::lab().polarization, lambda);
        let d: f64 = 2.07; // rock salt 200
        let c = model.evaluate(&[1.0 / (d * d)]).unwrap().values[0];
        let th = (lambda / (2.0 * d)).asin();
        let k = 26.6_f64.to_radians().cos().powi(2);
        let expected =
            (1.0 + k * (2.0 * th).cos().powi(2)) / (1.0 + k) / (th.sin().powi(2) * th.cos());
        assert!((c / expected - 1.0).abs() < 1e-12, "{c} vs {expected}");
    }

    #[test]
    fn synchrotron_peak_position_and_area_follow_the_documented_conventions() {
        let mut w = PhasesmithWorkload::new(spec::synchrotron(), &Config::default()).unwrap();
        let calc = w.simulate_full().unwrap();
        let phase = &calc.phases[0].result;
        let refl = w.reflections().unwrap();
        // 200 of Fm-3m at a = 4.14 Å: d = 2.07 Å, 2θ = 2 asin(λ/2d) (Bragg's law).
        let j = refl[0].iter().position(|r| r.conventional_hkl == [2, 0, 0]).unwrap();
        let tt = 2.0 * (0.458_f64 / (2.0 * 2.07)).asin().to_degrees();
        assert!((phase.two_theta_deg[j] - tt).abs() < 1e-10);
        assert_eq!(refl[0][j].multiplicity, 6);
        // Integrated intensity = scale · m · |F|² · LP (PhaseSmith crystallography guide).
        let lp = correction_model(spec::synchrotron().polarization, 0.458)
            .evaluate(&[1.0 / (2.07 * 2.07)])
            .unwrap()
            .values[0];
        let i = phase.structure_factors.intensity[j];
        assert!((i / (6.0 * phase.structure_factors.f_squared[j] * lp) - 1.0).abs() < 1e-12);
        // The 200 peak's area in the profile (±0.6°, background excluded) is I to within the
        // truncated tails (≤ 9e-4) and the neighbours' tails (≈ 1 %): unit-area profiles.
        let area: f64 = w
            .x_deg
            .iter()
            .zip(&calc.profile_y)
            .filter(|(x, _)| (**x - tt).abs() < 0.6)
            .map(|(_, y)| y * 0.001)
            .sum();
        assert!((area / i - 1.0).abs() < 0.03, "area {area} vs I {i}");
    }

    #[test]
    fn kalpha_doublet_is_normalised_to_unit_total_weight() {
        let mut w = PhasesmithWorkload::new(spec::lab(), &Config::default()).unwrap();
        let calc = w.simulate_full().unwrap();
        let sf = &calc.phases[0].result.structure_factors;
        let n = sf.intensity.len() / 2;
        let q = &sf.q_squared_inverse_angstrom2;
        let lp1 = correction_model(spec::lab().polarization, 1.540_593).evaluate(&q[..n]).unwrap();
        let lp2 = correction_model(spec::lab().polarization, 1.544_427).evaluate(&q[n..]).unwrap();
        for j in 0..n {
            // Weights 1/1.5 and 0.5/1.5 of scale · m · |F|² · LP(λ_c).
            let r1 = sf.intensity[j] / lp1.values[j];
            let r2 = sf.intensity[n + j] / lp2.values[j];
            assert!((r2 / r1 - 0.5).abs() < 1e-12);
        }
    }

    #[test]
    fn prepared_path_equals_full_path() {
        let mut w = PhasesmithWorkload::new(spec::lab(), &Config::default()).unwrap();
        let full = w.simulate_full().unwrap().y;
        let prepared = w.prepare().unwrap().evaluate().unwrap();
        assert_eq!(full.len(), prepared.len());
        for (a, b) in full.iter().zip(&prepared) {
            assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0));
        }
    }
}
