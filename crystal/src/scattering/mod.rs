//! Scattering factors: X-ray form factors, anomalous dispersion, neutron scattering lengths.
//!
//! - [`xray`]: f0(s) of atoms and ions, Waasmaier & Kirfel (1995).
//! - [`anomalous`]: f′(E), f″(E), Chantler (2000) / FFAST.
//! - [`neutron`]: bound coherent b (fm), Rauch & Waschkowski (2003) via periodictable.
//!
//! [`FormFactor`] does every lookup and check once in [`FormFactor::new`], so that
//! [`FormFactor::at`] is infallible and cheap in the structure-factor loop.

pub mod anomalous;
pub mod neutron;
pub mod xray;

use crate::element::Species;
use crate::error::Result;
use crate::tables::WkRow;
use num_complex::Complex64;
use serde::{Deserialize, Serialize};

/// What scatters: X-rays (form factor in electrons) or neutrons (scattering length in fm).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Probe {
    /// X-rays; `anomalous_wavelength_angstrom` gives the wavelength at which f′ and f″ are
    /// taken (`None`: no anomalous dispersion).
    Xray {
        /// Wavelength (Å) for f′, f″, or `None`.
        anomalous_wavelength_angstrom: Option<f64>,
    },
    /// Constant-wavelength neutrons.
    Neutron,
}

/// What [`FormFactor::at`] evaluates, resolved from the tables in [`FormFactor::new`].
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// f0(s) from Waasmaier–Kirfel plus a constant f′ + i f″.
    Xray { wk: &'static WkRow, dispersion: Complex64 },
    /// A constant scattering length (fm).
    Neutron { b_fm: Complex64 },
}

/// The scattering factor of one species for one probe, ready to evaluate at s = sinθ/λ.
#[derive(Debug, Clone, PartialEq)]
pub struct FormFactor {
    species: Species,
    probe: Probe,
    kind: Kind,
}

impl FormFactor {
    /// Looks up the tables for a species and probe.
    ///
    /// - X-rays: the Waasmaier–Kirfel entry of exactly this species (an ion without an entry
    ///   is [`crate::Error::MissingScatteringData`]; there is no silent fallback to the
    ///   neutral atom — pass [`Species::to_neutral`] to choose it). With an anomalous
    ///   wavelength, f′ and f″ of the element at E = hc/λ ([`anomalous::dispersion`]; the
    ///   same for every charge state, as usual: dispersion comes from the core levels).
    ///   Errors: wavelength not finite/positive ([`crate::Error::InvalidValue`]), energy
    ///   outside 2–120 keV ([`crate::Error::OutOfTableRange`]), Z > 92
    ///   ([`crate::Error::MissingScatteringData`]).
    /// - Neutrons: b of the element (the charge plays no role); elements without a tabulated
    ///   value are [`crate::Error::MissingScatteringData`].
    pub fn new(species: Species, probe: Probe) -> Result<Self> {
        let kind = match probe {
            Probe::Xray { anomalous_wavelength_angstrom } => {
                let wk = xray::coefficients(species)?;
                let dispersion = match anomalous_wavelength_angstrom {
                    Some(lambda) => anomalous::dispersion_at_wavelength(species.element, lambda)?,
                    None => Complex64::new(0.0, 0.0),
                };
                Kind::Xray { wk, dispersion }
            }
            Probe::Neutron => {
                Kind::Neutron { b_fm: neutron::scattering_length_fm(species.element)? }
            }
        };
        Ok(FormFactor { species, probe, kind })
    }

    /// The complex scattering factor at s = sinθ/λ (Å⁻¹): f0(s) + f′ + i f″ in electrons for
    /// X-rays (Waasmaier & Kirfel 1995, fitted for 0 ≤ s ≤ 6 Å⁻¹; Chantler 2000), b (fm,
    /// independent of s) for neutrons.
    #[inline]
    pub fn at(&self, s: f64) -> Complex64 {
        match &self.kind {
            Kind::Xray { wk, dispersion } => Complex64::new(xray::f0(wk, s), 0.0) + dispersion,
            Kind::Neutron { b_fm } => *b_fm,
        }
    }

    /// The species this factor was built for.
    pub fn species(&self) -> Species {
        self.species
    }

    /// The probe this factor was built for.
    pub fn probe(&self) -> Probe {
        self.probe
    }

    /// The s-independent part: f′ + i f″ (electrons) for X-rays (zero without an anomalous
    /// wavelength), b (fm) for neutrons.
    pub fn constant_part(&self) -> Complex64 {
        match &self.kind {
            Kind::Xray { dispersion, .. } => *dispersion,
            Kind::Neutron { b_fm } => *b_fm,
        }
    }

    /// Whether the factor is the same at every s (true for neutrons).
    pub fn is_s_independent(&self) -> bool {
        matches!(self.kind, Kind::Neutron { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn species(text: &str) -> Species {
        Species::parse(text).unwrap()
    }

    #[test]
    fn xray_without_dispersion_is_f0_only() {
        let ff =
            FormFactor::new(species("Ni"), Probe::Xray { anomalous_wavelength_angstrom: None })
                .unwrap();
        let f = ff.at(0.0);
        // Single atom at s = 0: f = Z (within the Waasmaier–Kirfel fit error, 0.007 e for Ni).
        assert!((f.re - 28.0).abs() < 0.01, "{f}");
        assert_eq!(f.im, 0.0);
        assert_eq!(ff.constant_part(), Complex64::new(0.0, 0.0));
        assert!(!ff.is_s_independent());
    }

    #[test]
    fn xray_with_dispersion_adds_constant() {
        let probe = Probe::Xray { anomalous_wavelength_angstrom: Some(1.5406) };
        let with = FormFactor::new(species("Ni2+"), probe).unwrap();
        let without =
            FormFactor::new(species("Ni2+"), Probe::Xray { anomalous_wavelength_angstrom: None })
                .unwrap();
        let d = with.constant_part();
        for s in [0.0, 0.3, 1.0, 2.5] {
            let diff = with.at(s) - without.at(s);
            assert!((diff - d).norm() < 1e-12);
        }
        assert!(d.re < -2.0 && d.im > 0.3, "Ni below its K edge at Cu Kα: {d}");
    }

    #[test]
    fn missing_ion_is_an_error_not_a_fallback() {
        let err =
            FormFactor::new(species("Ni4+"), Probe::Xray { anomalous_wavelength_angstrom: None });
        assert!(matches!(err, Err(Error::MissingScatteringData { .. })));
        let neutral = FormFactor::new(
            species("Ni4+").to_neutral(),
            Probe::Xray { anomalous_wavelength_angstrom: None },
        );
        assert!(neutral.is_ok());
    }

    #[test]
    fn new_validates_wavelength() {
        for lambda in [0.0, -1.0, f64::NAN] {
            let r = FormFactor::new(
                species("Ni"),
                Probe::Xray { anomalous_wavelength_angstrom: Some(lambda) },
            );
            assert!(matches!(r, Err(Error::InvalidValue { .. })), "{lambda}");
        }
        // 12.4 Å is 1 keV: below the table.
        let r = FormFactor::new(
            species("Ni"),
            Probe::Xray { anomalous_wavelength_angstrom: Some(12.4) },
        );
        assert!(matches!(r, Err(Error::OutOfTableRange { .. })));
    }

    #[test]
    fn neutron_ignores_charge_and_s() {
        let a = FormFactor::new(species("Ni2+"), Probe::Neutron).unwrap();
        let b = FormFactor::new(species("Ni"), Probe::Neutron).unwrap();
        assert_eq!(a.at(0.0), b.at(1.7));
        assert!(a.is_s_independent());
        assert_eq!(a.species(), species("Ni2+"));
        assert_eq!(a.probe(), Probe::Neutron);
    }
}
