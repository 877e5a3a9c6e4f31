//! Radiation sources: a list of wavelength components (Å) with relative intensities.
//!
//! Laboratory Kα doublets use the peak wavelengths tabulated in International Tables for
//! Crystallography Vol. C (3rd ed., 2004), Table 4.2.2.1. For the 3d anodes (Cr, Fe, Co, Cu)
//! these are the values of Hölzer, Fritsch, Deutsch, Härtwig & Förster (1997), *Phys. Rev. A*
//! **56**, 4554; Hölzer et al. did not measure Mo and Ag, whose values in the same table come from
//! Deslattes & Kessler (1985) on the same (NIST SRM 660-certificate) wavelength scale.
//!
//! The default Kα2/Kα1 intensity ratio is 0.5, the value GSAS-II and FullProf use by default
//! (the theoretical 2p3/2 : 2p1/2 occupancy ratio 2 : 1); it can be overridden.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::units::HC_KEV_ANGSTROM;

/// Default Kα2/Kα1 intensity ratio (dimensionless), as in GSAS-II and FullProf.
pub const DEFAULT_KALPHA2_RATIO: f64 = 0.5;

/// A laboratory X-ray tube anode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Anode {
    /// Chromium.
    Cr,
    /// Iron.
    Fe,
    /// Cobalt.
    Co,
    /// Copper.
    Cu,
    /// Molybdenum.
    Mo,
    /// Silver.
    Ag,
}

impl Anode {
    /// Every anode bragg knows, in order of decreasing wavelength.
    pub const ALL: [Anode; 6] = [Anode::Cr, Anode::Fe, Anode::Co, Anode::Cu, Anode::Mo, Anode::Ag];

    /// The element symbol, e.g. `"Cu"`.
    pub fn symbol(self) -> &'static str {
        match self {
            Anode::Cr => "Cr",
            Anode::Fe => "Fe",
            Anode::Co => "Co",
            Anode::Cu => "Cu",
            Anode::Mo => "Mo",
            Anode::Ag => "Ag",
        }
    }

    /// Kα1 and Kα2 peak wavelengths in Å.
    ///
    /// Source: ITC Vol. C (2004) Table 4.2.2.1; Cr, Fe, Co, Cu from Hölzer et al. (1997)
    /// *Phys. Rev. A* 56, 4554 (Table II, peak positions); Mo, Ag from Deslattes & Kessler
    /// (1985), on the same scale.
    pub fn kalpha_angstrom(self) -> (f64, f64) {
        match self {
            Anode::Cr => (2.289_726_0, 2.293_651_0),
            Anode::Fe => (1.936_041_0, 1.939_973_0),
            Anode::Co => (1.788_996_0, 1.792_835_0),
            Anode::Cu => (1.540_592_9, 1.544_427_4),
            Anode::Mo => (0.709_317_15, 0.713_607),
            Anode::Ag => (0.559_421_78, 0.563_813_1),
        }
    }
}

/// One wavelength component of a source.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WavelengthComponent {
    /// Wavelength in Å.
    pub wavelength_angstrom: f64,
    /// Intensity relative to the other components (dimensionless, ≥ 0).
    pub relative_intensity: f64,
}

/// A radiation source: one or more wavelength components with relative intensities.
///
/// Invariants (checked by every constructor and by deserialisation): at least one component;
/// every wavelength positive and finite; every intensity finite and ≥ 0, and at least one > 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RadiationSpec", into = "RadiationSpec")]
pub struct Radiation {
    components: Vec<WavelengthComponent>,
}

/// The unvalidated serialised form of [`Radiation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RadiationSpec {
    components: Vec<WavelengthComponent>,
}

impl TryFrom<RadiationSpec> for Radiation {
    type Error = Error;
    fn try_from(spec: RadiationSpec) -> Result<Self> {
        Radiation::new(spec.components)
    }
}

impl From<Radiation> for RadiationSpec {
    fn from(r: Radiation) -> Self {
        RadiationSpec { components: r.components }
    }
}

fn check_wavelength(wavelength_angstrom: f64) -> Result<()> {
    if wavelength_angstrom.is_finite() && wavelength_angstrom > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidValue {
            name: "wavelength (Å)".into(),
            value: wavelength_angstrom,
            reason: "must be positive and finite",
        })
    }
}

impl Radiation {
    /// A source from explicit components, validated (see the type's invariants).
    pub fn new(components: Vec<WavelengthComponent>) -> Result<Self> {
        if components.is_empty() {
            return Err(Error::Model("a radiation source needs at least one wavelength".into()));
        }
        for c in &components {
            check_wavelength(c.wavelength_angstrom)?;
            if !(c.relative_intensity.is_finite() && c.relative_intensity >= 0.0) {
                return Err(Error::InvalidValue {
                    name: "relative intensity".into(),
                    value: c.relative_intensity,
                    reason: "must be finite and non-negative",
                });
            }
        }
        if !components.iter().any(|c| c.relative_intensity > 0.0) {
            return Err(Error::Model(
                "a radiation source needs at least one component of positive intensity".into(),
            ));
        }
        Ok(Radiation { components })
    }

    /// A single monochromatic wavelength (Å): synchrotron or constant-wavelength neutrons.
    pub fn monochromatic(wavelength_angstrom: f64) -> Result<Self> {
        check_wavelength(wavelength_angstrom)?;
        Ok(Radiation {
            components: vec![WavelengthComponent { wavelength_angstrom, relative_intensity: 1.0 }],
        })
    }

    /// A single monochromatic X-ray beam given by its photon energy in keV (λ = hc/E,
    /// CODATA 2018 hc, see [`crate::units::HC_KEV_ANGSTROM`]).
    pub fn monochromatic_kev(energy_kev: f64) -> Result<Self> {
        if !(energy_kev.is_finite() && energy_kev > 0.0) {
            return Err(Error::InvalidValue {
                name: "photon energy (keV)".into(),
                value: energy_kev,
                reason: "must be positive and finite",
            });
        }
        Self::monochromatic(HC_KEV_ANGSTROM / energy_kev)
    }

    /// The Kα1 line of an anode alone (incident-beam monochromator), intensity 1.
    pub fn kalpha1(anode: Anode) -> Self {
        let (l1, _) = anode.kalpha_angstrom();
        Radiation {
            components: vec![WavelengthComponent {
                wavelength_angstrom: l1,
                relative_intensity: 1.0,
            }],
        }
    }

    /// The Kα1 + Kα2 doublet of an anode with intensities 1 and `kalpha2_ratio`
    /// (use [`DEFAULT_KALPHA2_RATIO`] = 0.5 unless calibrated). The ratio must be finite and ≥ 0.
    pub fn kalpha_doublet(anode: Anode, kalpha2_ratio: f64) -> Result<Self> {
        if !(kalpha2_ratio.is_finite() && kalpha2_ratio >= 0.0) {
            return Err(Error::InvalidValue {
                name: "Kα2/Kα1 ratio".into(),
                value: kalpha2_ratio,
                reason: "must be finite and non-negative",
            });
        }
        let (l1, l2) = anode.kalpha_angstrom();
        Ok(Radiation {
            components: vec![
                WavelengthComponent { wavelength_angstrom: l1, relative_intensity: 1.0 },
                WavelengthComponent { wavelength_angstrom: l2, relative_intensity: kalpha2_ratio },
            ],
        })
    }

    /// Parse a source name (case-insensitive, surrounding whitespace ignored) with a chosen
    /// Kα2/Kα1 ratio: `CuKa` (doublet), `CuKa1` (Kα1 only), likewise for `Cr Fe Co Mo Ag`; or a
    /// bare positive number, read as a monochromatic wavelength in Å. The ratio is ignored for
    /// `…Ka1` names and numbers.
    pub fn from_name_with_ratio(name: &str, kalpha2_ratio: f64) -> Result<Self> {
        let trimmed = name.trim();
        let lower = trimmed.to_ascii_lowercase();
        for anode in Anode::ALL {
            let sym = anode.symbol().to_ascii_lowercase();
            if lower == format!("{sym}ka") {
                return Self::kalpha_doublet(anode, kalpha2_ratio);
            }
            if lower == format!("{sym}ka1") {
                return Ok(Self::kalpha1(anode));
            }
        }
        match trimmed.parse::<f64>() {
            Ok(w) => Self::monochromatic(w),
            Err(_) => Err(Error::Model(format!(
                "unknown radiation '{trimmed}': expected CrKa, FeKa, CoKa, CuKa, MoKa, AgKa \
                 (or …Ka1 for Kα1 only) or a wavelength in Å"
            ))),
        }
    }

    /// The components, in the order given.
    pub fn components(&self) -> &[WavelengthComponent] {
        &self.components
    }

    /// The strongest component (the first of equals): the wavelength to use for anomalous
    /// scattering and for d ↔ 2θ conversions.
    pub fn primary(&self) -> WavelengthComponent {
        // INVARIANT: every constructor (and deserialisation) rejects an empty component list.
        let mut best = self.components[0];
        for c in &self.components[1..] {
            if c.relative_intensity > best.relative_intensity {
                best = *c;
            }
        }
        best
    }

    /// Wavelength of [`Radiation::primary`] in Å.
    pub fn primary_wavelength_angstrom(&self) -> f64 {
        self.primary().wavelength_angstrom
    }
}

impl FromStr for Radiation {
    type Err = Error;
    /// [`Radiation::from_name_with_ratio`] with [`DEFAULT_KALPHA2_RATIO`].
    fn from_str(s: &str) -> Result<Self> {
        Self::from_name_with_ratio(s, DEFAULT_KALPHA2_RATIO)
    }
}

impl fmt::Display for Radiation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.components.iter().enumerate() {
            if i > 0 {
                write!(f, " + ")?;
            }
            write!(f, "{} Å × {}", c.wavelength_angstrom, c.relative_intensity)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_holzer_wavelengths() {
        // Hölzer et al. (1997) Phys. Rev. A 56, 4554, as printed in ITC Vol. C (2004)
        // Table 4.2.2.1: Cu Kα1 1.5405929 Å, Kα2 1.5444274 Å; Co Kα1 1.788996 Å; Cr Kα1 2.289726 Å;
        // Fe Kα1 1.936041 Å. Mo Kα1 0.70931715 Å, Ag Kα1 0.55942178 Å (Deslattes & Kessler 1985).
        let cu: Radiation = "CuKa".parse().unwrap();
        assert_eq!(cu.components().len(), 2);
        assert_eq!(cu.components()[0].wavelength_angstrom, 1.5405929);
        assert_eq!(cu.components()[1].wavelength_angstrom, 1.5444274);
        assert_eq!(cu.components()[1].relative_intensity, 0.5);
        assert_eq!(cu.primary_wavelength_angstrom(), 1.5405929);
        let cases = [
            ("cuka1", 1.5405929),
            ("  COKA ", 1.788996),
            ("CrKa1", 2.289726),
            ("feka", 1.936041),
            ("MoKa", 0.70931715),
            ("agka1", 0.55942178),
        ];
        for (name, l1) in cases {
            let r: Radiation = name.parse().unwrap();
            assert_eq!(r.primary_wavelength_angstrom(), l1, "{name}");
        }
        assert_eq!("cuka1".parse::<Radiation>().unwrap().components().len(), 1);
        // Kα2 lies above Kα1 for every anode (2p1/2 less bound than 2p3/2).
        for a in Anode::ALL {
            let (l1, l2) = a.kalpha_angstrom();
            assert!(l2 > l1 && l2 - l1 < 0.005, "{a:?}");
        }
    }

    #[test]
    fn ratio_override_and_primary() {
        let r = Radiation::from_name_with_ratio("CuKa", 0.47).unwrap();
        assert_eq!(r.components()[1].relative_intensity, 0.47);
        // A (nonsensical) ratio above 1 makes Kα2 the strongest, hence primary.
        let r = Radiation::from_name_with_ratio("CuKa", 1.2).unwrap();
        assert_eq!(r.primary_wavelength_angstrom(), 1.5444274);
        assert!(Radiation::from_name_with_ratio("CuKa", -0.1).is_err());
        assert!(Radiation::from_name_with_ratio("CuKa", f64::NAN).is_err());
    }

    #[test]
    fn monochromatic_and_errors() {
        let s = Radiation::monochromatic(0.413_909).unwrap();
        assert_eq!(s.primary_wavelength_angstrom(), 0.413_909);
        assert_eq!("0.5".parse::<Radiation>().unwrap().primary_wavelength_angstrom(), 0.5);
        for bad in [0.0, -1.0, f64::INFINITY, f64::NAN] {
            assert!(Radiation::monochromatic(bad).is_err(), "{bad}");
        }
        assert!("CuKb".parse::<Radiation>().is_err());
        assert!("W".parse::<Radiation>().is_err());
        assert!(Radiation::new(vec![]).is_err());
        let zero = WavelengthComponent { wavelength_angstrom: 1.0, relative_intensity: 0.0 };
        assert!(Radiation::new(vec![zero]).is_err());
        // 12.398 419 843 keV·Å / 8.047 823 keV = 1.540 593 Å.
        let e = Radiation::monochromatic_kev(HC_KEV_ANGSTROM / 1.5).unwrap();
        assert!((e.primary_wavelength_angstrom() - 1.5).abs() < 1e-12);
    }

    #[test]
    fn deserialisation_path_validates() {
        // serde deserialises through `RadiationSpec` and `TryFrom`; check that path directly.
        let spec = |w: f64| RadiationSpec {
            components: vec![WavelengthComponent {
                wavelength_angstrom: w,
                relative_intensity: 1.0,
            }],
        };
        assert_eq!(Radiation::try_from(spec(1.0)).unwrap().primary_wavelength_angstrom(), 1.0);
        assert!(Radiation::try_from(spec(-1.0)).is_err());
        let back: RadiationSpec = Radiation::monochromatic(0.7).unwrap().into();
        assert_eq!(back, spec(0.7));
    }
}
