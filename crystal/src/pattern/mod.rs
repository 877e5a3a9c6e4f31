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
    Polarization, PositionShift, Radiation,
};
use crate::profile::ProfileParams;
use crate::reflection::Reflection;
use crate::scattering::Probe;
use crate::structure::Phase;
use crate::units::two_theta_deg;
use serde::{Deserialize, Serialize};

mod engine;
mod target;

pub use engine::{
    add_peaks, phase_peaks, phase_reflections, simulate, Evaluation, Evaluator, Peak, PeakRecord,
};
pub use target::{ProfileTerm, Target, SITE_TOLERANCE};

/// Diffraction geometry and its geometry-specific corrections.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Geometry {
    /// Reflection (Bragg–Brentano) with a flat, infinitely thick specimen: constant absorption,
    /// and a specimen displacement shifting peaks by −2 s cosθ/R.
    BraggBrentano {
        /// Goniometer radius R in mm.
        goniometer_radius_mm: f64,
        /// Specimen displacement s in µm: positive when the surface lies below the focusing circle
        /// (away from the beam), which moves peaks to lower 2θ (Δ2θ = −2s cosθ/R, see
        /// [`crate::instrument::Goniometer::specimen_displacement`]).
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
                bb: [0.0; 4],
                ..Default::default()
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
                bb: [0.0; 4],
                ..Default::default()
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
        let window = self.profile.window_fwhm;
        if !(window.is_finite() && window >= 0.0) {
            return Err(Error::InvalidValue {
                name: "inst.window_fwhm".into(),
                value: window,
                reason: "must be finite and ≥ 0 (FWHM; 0 = the default area cutoff)",
            });
        }
        let divergence = self.profile.divergence_deg;
        if !(divergence.is_finite() && (0.0..=20.0).contains(&divergence)) {
            return Err(Error::InvalidValue {
                name: "inst.divergence".into(),
                value: divergence,
                reason: "must be finite, ≥ 0 and ≤ 20 (degrees of equatorial divergence)",
            });
        }
        if self.profile.function == crate::profile::ProfileFunction::PseudoVoigt
            && self.radiation.components().iter().any(|c| c.lorentz_fwhm_angstrom > 0.0)
        {
            return Err(Error::Model(
                "emission line widths (lorentz_fwhm_angstrom) need the TCH profile function".into(),
            ));
        }
        if divergence > 0.0 && !matches!(self.geometry, Geometry::BraggBrentano { .. }) {
            return Err(Error::Model(
                "the flat-specimen aberration (divergence_deg) needs Bragg–Brentano geometry"
                    .into(),
            ));
        }
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
        Some(bragg + self.position_shift(bragg).delta_deg)
    }

    /// The shift (degrees) of a peak at Bragg angle `bragg_deg`: zero + specimen displacement
    /// (Bragg–Brentano, −2s cosθ/R; see [`crate::instrument::Goniometer`]), with
    /// ∂shift/∂2θ_B and ∂shift/∂s (per µm) in `d_params` = [∂/∂zero, ∂/∂s].
    pub fn position_shift(&self, bragg_deg: f64) -> PositionShift<2> {
        let zero = zero_shift(self.zero_deg);
        let mut out = PositionShift {
            delta_deg: zero.delta_deg,
            d_params: [zero.d_params[0], 0.0],
            d_two_theta: zero.d_two_theta,
        };
        if let Geometry::BraggBrentano { goniometer_radius_mm, displacement_um } = self.geometry {
            if let Ok(g) = Goniometer::new(goniometer_radius_mm) {
                let s = g.specimen_displacement_um(bragg_deg, displacement_um);
                out.delta_deg += s.delta_deg;
                out.d_params[1] = s.d_params[0];
                out.d_two_theta += s.d_two_theta;
            }
        }
        out
    }

    /// Intensity factor LP·A at the Bragg angle 2θ (degrees), dimensionless.
    pub fn intensity_factor(&self, two_theta_deg: f64) -> Result<f64> {
        Ok(self.intensity_factor_with_derivative(two_theta_deg)?.0)
    }

    /// LP·A at the Bragg angle 2θ (degrees) and its derivative per degree of 2θ. LP's
    /// derivative is analytic (d ln L/dθ = −2 cot θ + tan θ for L = 1/(sin²θ cosθ);
    /// dPol/d2θ = −(1 − P) sin 4θ); the capillary absorption's by a central difference of
    /// 10⁻³° (its fit is smooth in θ; the checked fallback).
    pub fn intensity_factor_with_derivative(&self, two_theta_deg: f64) -> Result<(f64, f64)> {
        let pol = match self.probe {
            ProbeKind::Neutron => Polarization::Neutron,
            ProbeKind::Xray => self.polarization,
        };
        let lp = lorentz_polarization(two_theta_deg, &pol)?.value;
        let theta = 0.5 * two_theta_deg.to_radians();
        let dlnl_d2theta = 0.5 * (-2.0 / theta.tan() + theta.tan());
        let (pol_value, dpol_d2theta) = match pol.fraction() {
            Some(p) => {
                let c = (2.0 * theta).cos();
                (p + (1.0 - p) * c * c, -(1.0 - p) * (4.0 * theta).sin())
            }
            None => (1.0, 0.0),
        };
        let dlp = lp * (dlnl_d2theta + dpol_d2theta / pol_value) * std::f64::consts::PI / 180.0;
        let (a, da) = match self.geometry {
            Geometry::DebyeScherrer { mu_r } if mu_r > 0.0 => {
                let h = 1e-3;
                let a = cylinder_transmission(mu_r, two_theta_deg)?.value;
                let up = cylinder_transmission(mu_r, (two_theta_deg + h).min(179.999))?.value;
                let dn = cylinder_transmission(mu_r, (two_theta_deg - h).max(1e-3))?.value;
                (a, (up - dn) / (2.0 * h))
            }
            _ => (1.0, 0.0),
        };
        Ok((lp * a, dlp * a + lp * da))
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
    /// Le Bail / Pawley mode: one extracted |F|²-equivalent intensity per reflection family of
    /// the evaluator's fixed reflection list, used instead of the structure's |F|².
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extracted_intensities: Option<Vec<f64>>,
}

impl PhaseContribution {
    /// A phase with scale `scale`, no texture, intensities from its structure.
    pub fn new(phase: Phase, scale: f64) -> Self {
        PhaseContribution { phase, scale, preferred_orientation: None, extracted_intensities: None }
    }
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
