//! Constant-wavelength, angle-dispersive powder pattern: the sum over phases, reflections and
//! wavelength components of normalised peaks, plus a Chebyshev background.
//!
//! y(2θ) = bkg(2θ) + Σ_phases Σ_hkl Σ_λ  s_φ · w_λ · m · |F|² · LP(2θ_B) · A(2θ_B) · P_hkl · Ω(2θ − 2θ_hkl,λ)
//!
//! (Rietveld 1969, J. Appl. Cryst. 2, 65; Young, *The Rietveld Method*, IUCr/OUP 1993, ch. 1),
//! with s_φ the phase scale, w_λ the relative intensity of the wavelength component (the
//! strongest = 1), m the multiplicity, |F|² in electrons² (or fm²), LP the Lorentz–polarisation
//! factor ([`crate::instrument::lorentz_polarization`]), A the absorption, P_hkl the
//! March–Dollase factor and Ω a unit-area profile in degrees 2θ. Hence **each peak's area in
//! counts·degree equals s_φ·w_λ·m·|F|²·LP·A·P**. Peak positions: 2θ_hkl,λ = 2θ_Bragg(d, λ)
//! + zero + displacement shift.

use crate::background::ChebyshevBackground;
use crate::error::{Error, Result};
use crate::instrument::{
    cylinder_transmission, lorentz_polarization, zero_shift, Goniometer, MarchDollase,
    Polarization, Radiation,
};
use crate::profile::{
    FcjAsymmetry, FcjTch, PeakShape, ProfileParams, TchPseudoVoigt, DEFAULT_CUTOFF,
};
use crate::reflection::{self, Reflection};
use crate::scattering::Probe;
use crate::structure::Phase;
use crate::structure_factor::StructureFactors;
use crate::units::two_theta_deg;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Diffraction geometry and its geometry-specific corrections.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Geometry {
    /// Reflection (Bragg–Brentano) with a flat, infinitely thick specimen: constant absorption,
    /// and a specimen displacement shifting peaks by −2 s cosθ/R.
    BraggBrentano {
        /// Goniometer radius R in mm.
        goniometer_radius_mm: f64,
        /// Specimen displacement s in µm (positive = above the focusing circle).
        displacement_um: f64,
    },
    /// Transmission through a capillary (Debye–Scherrer) of absorption μR.
    DebyeScherrer {
        /// μ·R, dimensionless (0 = no absorption correction).
        mu_r: f64,
    },
}

/// Everything about the instrument that shapes a pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instrument {
    /// Wavelength components.
    pub radiation: Radiation,
    /// X-rays or neutrons (neutrons: scattering lengths, no polarisation term).
    pub probe: ProbeKind,
    /// Zero shift in degrees 2θ (added to every peak position).
    pub zero_deg: f64,
    /// Geometry and its corrections.
    pub geometry: Geometry,
    /// Polarisation of the incident beam.
    pub polarization: Polarization,
    /// Peak widths and asymmetry (U, V, W, X, Y in deg² / deg; asym dimensionless).
    pub profile: ProfileParams,
    /// Whether to include anomalous dispersion f′, f″ at the primary wavelength (X-rays).
    pub anomalous: bool,
}

/// What the instrument's radiation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    /// X-rays.
    Xray,
    /// Neutrons.
    Neutron,
}

impl Instrument {
    /// An 11-BM-like synchrotron powder diffractometer: one wavelength, capillary transmission
    /// geometry (μR = 0 unless set), beam polarisation fraction 0.99, narrow TCH widths
    /// (W = 4·10⁻⁵ deg², Y = 0.002 deg, giving FWHM ≈ 0.008° at low angle) and a small
    /// asymmetry (0.002).
    pub fn synchrotron(wavelength_angstrom: f64) -> Result<Self> {
        Ok(Instrument {
            radiation: Radiation::monochromatic(wavelength_angstrom)?,
            probe: ProbeKind::Xray,
            zero_deg: 0.0,
            geometry: Geometry::DebyeScherrer { mu_r: 0.0 },
            polarization: Polarization::Fraction { fraction: 0.99 },
            profile: ProfileParams {
                u: 0.0,
                v: 0.0,
                w: 4.0e-5,
                p: 0.0,
                x: 0.0,
                y: 0.002,
                asym: 0.002,
            },
            anomalous: true,
        })
    }

    /// A Bragg–Brentano laboratory diffractometer (R = 240 mm, graphite diffracted-beam
    /// monochromator 2θ_M = 26.6° for Cu Kα, typical TCH widths U = 0.004, V = −0.002,
    /// W = 0.002 deg², X = 0.02, Y = 0.01 deg, asymmetry 0.02).
    pub fn lab_bragg_brentano(radiation: Radiation) -> Self {
        Instrument {
            radiation,
            probe: ProbeKind::Xray,
            zero_deg: 0.0,
            geometry: Geometry::BraggBrentano { goniometer_radius_mm: 240.0, displacement_um: 0.0 },
            polarization: Polarization::Monochromator { two_theta_m_deg: 26.6 },
            profile: ProfileParams {
                u: 0.004,
                v: -0.002,
                w: 0.002,
                p: 0.0,
                x: 0.02,
                y: 0.01,
                asym: 0.02,
            },
            anomalous: true,
        }
    }

    /// The scattering probe for structure factors: anomalous terms at the primary wavelength.
    pub fn scattering_probe(&self) -> Probe {
        match self.probe {
            ProbeKind::Neutron => Probe::Neutron,
            ProbeKind::Xray => Probe::Xray {
                anomalous_wavelength_angstrom: self
                    .anomalous
                    .then(|| self.radiation.primary_wavelength_angstrom()),
            },
        }
    }

    /// Checks the instrument parameters (finite zero, valid polarisation, geometry ranges).
    pub fn validate(&self) -> Result<()> {
        if !self.zero_deg.is_finite() {
            return Err(Error::InvalidValue {
                name: "inst.zero".into(),
                value: self.zero_deg,
                reason: "must be finite (degrees 2θ)",
            });
        }
        self.polarization.validate()?;
        match self.geometry {
            Geometry::BraggBrentano { goniometer_radius_mm, displacement_um } => {
                Goniometer::new(goniometer_radius_mm)?;
                if !displacement_um.is_finite() {
                    return Err(Error::InvalidValue {
                        name: "inst.displacement".into(),
                        value: displacement_um,
                        reason: "must be finite (µm)",
                    });
                }
            }
            Geometry::DebyeScherrer { mu_r } => {
                cylinder_transmission(mu_r, 90.0)?;
            }
        }
        Ok(())
    }

    /// Peak position (degrees 2θ) of a reflection of spacing d (Å) at wavelength λ (Å), with
    /// the zero and displacement shifts applied; `None` beyond 2θ = 180°.
    pub fn peak_position_deg(&self, d: f64, wavelength_angstrom: f64) -> Option<f64> {
        let bragg = two_theta_deg(d, wavelength_angstrom)?;
        let mut shift = zero_shift(self.zero_deg).delta_deg;
        if let Geometry::BraggBrentano { goniometer_radius_mm, displacement_um } = self.geometry {
            if let Ok(g) = Goniometer::new(goniometer_radius_mm) {
                shift += g.specimen_displacement_um(bragg, displacement_um).delta_deg;
            }
        }
        Some(bragg + shift)
    }

    /// Intensity factor LP·A at the Bragg angle 2θ (degrees), dimensionless.
    pub fn intensity_factor(&self, two_theta_deg: f64) -> Result<f64> {
        let pol = match self.probe {
            ProbeKind::Neutron => Polarization::Neutron,
            ProbeKind::Xray => self.polarization,
        };
        let lp = lorentz_polarization(two_theta_deg, &pol)?.value;
        let absorption = match self.geometry {
            Geometry::DebyeScherrer { mu_r } if mu_r > 0.0 => {
                cylinder_transmission(mu_r, two_theta_deg)?.value
            }
            _ => 1.0,
        };
        Ok(lp * absorption)
    }
}

/// One phase as it contributes to a pattern: structure, scale and texture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseContribution {
    /// The structure.
    pub phase: Phase,
    /// Phase scale factor s_φ (counts per electron² of the conventional cell).
    pub scale: f64,
    /// March–Dollase preferred orientation, if any.
    pub preferred_orientation: Option<MarchDollase>,
}

/// A whole pattern model: instrument, phases and background.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatternModel {
    /// The instrument.
    pub instrument: Instrument,
    /// The phases.
    pub phases: Vec<PhaseContribution>,
    /// Background (Chebyshev in 2θ).
    pub background: ChebyshevBackground,
}

/// A uniform 2θ grid START:STOP:STEP in degrees (both ends included when STEP divides the span).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TwoThetaRange {
    /// First point, degrees 2θ.
    pub start_deg: f64,
    /// Last point (inclusive up to rounding), degrees 2θ.
    pub stop_deg: f64,
    /// Step, degrees 2θ.
    pub step_deg: f64,
}

impl TwoThetaRange {
    /// A validated range: finite, 0 ≤ START < STOP < 180, STEP > 0.
    pub fn new(start_deg: f64, stop_deg: f64, step_deg: f64) -> Result<Self> {
        if !(start_deg.is_finite() && stop_deg.is_finite() && step_deg.is_finite()) {
            return Err(Error::InvalidRange {
                reason: format!("{start_deg}:{stop_deg}:{step_deg} has a non-finite value"),
            });
        }
        if stop_deg <= start_deg {
            return Err(Error::InvalidRange {
                reason: format!("STOP ({stop_deg}°) must be greater than START ({start_deg}°)"),
            });
        }
        if step_deg <= 0.0 {
            return Err(Error::InvalidRange {
                reason: format!("STEP ({step_deg}°) must be positive"),
            });
        }
        if start_deg < 0.0 || stop_deg >= 180.0 {
            return Err(Error::InvalidRange {
                reason: format!("{start_deg}°..{stop_deg}° must lie within [0°, 180°)"),
            });
        }
        let n = ((stop_deg - start_deg) / step_deg + 1e-9).floor() + 1.0;
        if n > 5.0e7 {
            return Err(Error::InvalidRange {
                reason: format!("{n} points is more than 50 million"),
            });
        }
        Ok(TwoThetaRange { start_deg, stop_deg, step_deg })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        ((self.stop_deg - self.start_deg) / self.step_deg + 1e-9).floor() as usize + 1
    }

    /// Always false for a validated range (kept for API symmetry with `len`).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The grid points (degrees), computed as start + i·step (no accumulated rounding).
    pub fn points(&self) -> Vec<f64> {
        (0..self.len()).map(|i| self.start_deg + i as f64 * self.step_deg).collect()
    }
}

/// A reflection of a phase with what the pattern made of it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PeakReflection {
    /// hkl, multiplicity and d.
    pub reflection: Reflection,
    /// |F|² per reflection (electrons² or fm²).
    pub f2: f64,
    /// Peak position at the primary wavelength, degrees 2θ (shifts applied).
    pub two_theta_deg: f64,
}

/// The reflections of one phase within the pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseReflections {
    /// Phase name.
    pub phase: String,
    /// Its reflections, by decreasing d.
    pub reflections: Vec<PeakReflection>,
}

/// A computed pattern: total, background and each phase's contribution on the grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulatedPattern {
    /// The grid, degrees 2θ.
    pub two_theta_deg: Vec<f64>,
    /// Background + all phases.
    pub total: Vec<f64>,
    /// Background alone.
    pub background: Vec<f64>,
    /// Each phase alone (no background), in model order.
    pub phases: Vec<Vec<f64>>,
    /// Each phase's reflection list.
    pub reflections: Vec<PhaseReflections>,
}

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

/// Highest 2θ (degrees) whose peaks can reach a grid ending at `max_deg`: the grid end plus a
/// margin of 30 FWHM (the Lorentzian tails), capped below 180°.
fn reach_deg(instrument: &Instrument, max_deg: f64) -> f64 {
    let fwhm = instrument
        .profile
        .widths(max_deg.clamp(1.0, 179.0))
        .map(|w| w.fwhm_g + w.fwhm_l)
        .unwrap_or(0.5);
    (max_deg + 30.0 * fwhm).min(179.9)
}

/// The reflections of a phase visible up to 2θ = `max_deg` with the instrument's longest
/// wavelength, with |F|² and the primary-wavelength peak position.
pub fn phase_reflections(
    instrument: &Instrument,
    phase: &Phase,
    max_deg: f64,
) -> Result<PhaseReflections> {
    let longest = instrument
        .radiation
        .components()
        .iter()
        .map(|c| c.wavelength_angstrom)
        .fold(0.0_f64, f64::max);
    let theta_max = 0.5 * reach_deg(instrument, max_deg).to_radians();
    let d_min = longest / (2.0 * theta_max.sin());
    let list = reflection::generate(&phase.cell, &phase.space_group, d_min)?;
    let sf = StructureFactors::new(phase, instrument.scattering_probe())?;
    let primary = instrument.radiation.primary_wavelength_angstrom();
    let reflections = list
        .into_iter()
        .map(|r| PeakReflection {
            f2: sf.f2(&r),
            two_theta_deg: instrument.peak_position_deg(r.d, primary).unwrap_or(f64::NAN),
            reflection: r,
        })
        .collect();
    Ok(PhaseReflections { phase: phase.name.clone(), reflections })
}

/// The peaks of one phase (every reflection × wavelength component inside 0°–180°).
pub fn phase_peaks(
    instrument: &Instrument,
    contribution: &PhaseContribution,
    reflections: &PhaseReflections,
) -> Result<Vec<Peak>> {
    let components = instrument.radiation.components();
    let reference = instrument.radiation.primary().relative_intensity;
    let gstar = contribution.phase.cell.reciprocal_metric();
    let mut peaks = Vec::with_capacity(reflections.reflections.len() * components.len());
    for pr in &reflections.reflections {
        let r = pr.reflection;
        let po = match &contribution.preferred_orientation {
            Some(md) => {
                md.factor(&gstar, &contribution.phase.space_group.equivalent_reflections(r.hkl))?
                    .value
            }
            None => 1.0,
        };
        let base = contribution.scale * f64::from(r.multiplicity) * pr.f2 * po;
        for c in components {
            let Some(bragg) = two_theta_deg(r.d, c.wavelength_angstrom) else { continue };
            if bragg >= 179.9 {
                continue;
            }
            let Some(center) = instrument.peak_position_deg(r.d, c.wavelength_angstrom) else {
                continue;
            };
            let widths = instrument.profile.widths(center.clamp(1e-3, 179.9))?;
            peaks.push(Peak {
                center_deg: center,
                area: base
                    * (c.relative_intensity / reference)
                    * instrument.intensity_factor(bragg)?,
                fwhm_g_deg: widths.fwhm_g,
                fwhm_l_deg: widths.fwhm_l,
            });
        }
    }
    Ok(peaks)
}

/// Adds the peaks to `out` on the sorted grid `two_theta_deg`: each evaluated only over its
/// support (lost area ≤ [`crate::profile::truncated_area_bound`] of [`DEFAULT_CUTOFF`]); FCJ
/// asymmetry when `asym` > 0, the symmetric TCH kernel otherwise.
pub fn add_peaks(peaks: &[Peak], asym: f64, two_theta_deg: &[f64], out: &mut [f64]) -> Result<()> {
    for p in peaks {
        if asym > 0.0 {
            let shape = FcjTch::new(
                p.center_deg,
                p.fwhm_g_deg,
                p.fwhm_l_deg,
                FcjAsymmetry::from_sum(asym),
            )?;
            shape.add_scaled(two_theta_deg, p.area, DEFAULT_CUTOFF, out);
        } else {
            let shape = TchPseudoVoigt::new(p.center_deg, p.fwhm_g_deg, p.fwhm_l_deg)?;
            shape.add_scaled(two_theta_deg, p.area, DEFAULT_CUTOFF, out);
        }
    }
    Ok(())
}

/// Points per parallel chunk when drawing peaks with rayon.
const CHUNK: usize = 8192;

/// Draws peaks on the grid, in parallel over grid chunks when the work is large enough to pay
/// for the threads (each chunk draws every peak whose support overlaps it; results are
/// identical to the serial sum).
fn draw(peaks: &[Peak], asym: f64, grid: &[f64], out: &mut [f64]) -> Result<()> {
    if grid.len() < 2 * CHUNK || peaks.len() < 64 {
        return add_peaks(peaks, asym, grid, out);
    }
    out.par_chunks_mut(CHUNK)
        .zip(grid.par_chunks(CHUNK))
        .try_for_each(|(o, g)| add_peaks(peaks, asym, g, o))
}

/// Computes the pattern of `model` on the sorted 2θ grid (degrees).
pub fn simulate(model: &PatternModel, two_theta_deg: &[f64]) -> Result<SimulatedPattern> {
    if two_theta_deg.is_empty() {
        return Err(Error::InvalidRange { reason: "the 2θ grid is empty".into() });
    }
    if two_theta_deg.windows(2).any(|w| w[1].is_nan() || w[1] <= w[0]) {
        return Err(Error::InvalidRange { reason: "2θ values must increase strictly".into() });
    }
    model.instrument.validate()?;
    let max_deg = two_theta_deg[two_theta_deg.len() - 1];
    let background = model.background.evaluate(two_theta_deg);
    let mut total = background.clone();
    let mut phases = Vec::with_capacity(model.phases.len());
    let mut reflections = Vec::with_capacity(model.phases.len());
    for contribution in &model.phases {
        contribution.phase.validate()?;
        if !(contribution.scale.is_finite() && contribution.scale >= 0.0) {
            return Err(Error::InvalidValue {
                name: format!("{}.scale", contribution.phase.name),
                value: contribution.scale,
                reason: "must be finite and non-negative",
            });
        }
        let refl = phase_reflections(&model.instrument, &contribution.phase, max_deg)?;
        let peaks = phase_peaks(&model.instrument, contribution, &refl)?;
        let mut y = vec![0.0; two_theta_deg.len()];
        draw(&peaks, model.instrument.profile.asym, two_theta_deg, &mut y)?;
        for (t, v) in total.iter_mut().zip(&y) {
            *t += v;
        }
        phases.push(y);
        reflections.push(refl);
    }
    Ok(SimulatedPattern {
        two_theta_deg: two_theta_deg.to_vec(),
        total,
        background,
        phases,
        reflections,
    })
}
