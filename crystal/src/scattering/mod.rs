//! Scattering factors: X-ray form factors, anomalous dispersion, neutron scattering lengths.
//! OWNER: tables helper. (Interface placeholder: bodies to be replaced.)

use crate::element::Species;
use crate::error::{Error, Result};
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

/// The scattering factor of one species for one probe, ready to evaluate at s = sinθ/λ.
#[derive(Debug, Clone, PartialEq)]
pub struct FormFactor {
    species: Species,
}

impl FormFactor {
    /// Looks up the tables for a species and probe.
    pub fn new(species: Species, _probe: Probe) -> Result<Self> {
        Err(Error::MissingScatteringData { species: species.to_string(), table: "placeholder" })
    }
    /// The complex scattering factor at s = sinθ/λ (Å⁻¹): f0(s) + f′ + i f″ in electrons for
    /// X-rays, b (fm) for neutrons.
    pub fn at(&self, _s: f64) -> Complex64 {
        Complex64::new(f64::from(self.species.element.z()), 0.0)
    }
}
