//! Lorentz–polarisation factor of a powder pattern.
//!
//! Convention (so that *integrated area = scale · m · |F|² · LP · (other corrections)* is
//! unambiguous):
//!
//! LP(2θ) = L(θ) · Pol(2θ),  L(θ) = 1 / (sin²θ cos θ),  Pol(2θ) = P + (1 − P) cos²2θ,
//!
//! with **no factor ½ in L** (the conventional ½ of 1/(2 sin²θ cos θ) is absorbed in the
//! scale) and Pol normalised to **1 at 2θ = 0** for every source. P is the fraction of the
//! incident intensity whose electric vector is perpendicular to the diffraction plane (σ).
//!
//! * Unpolarised tube: P = ½, Pol = (1 + cos²2θ)/2.
//! * Crystal monochromator at 2θ_M, its diffraction plane parallel to the specimen's:
//!   K = cos²2θ_M, P = 1/(1 + K), Pol = (1 + K cos²2θ)/(1 + K).
//! * Synchrotron / explicit fraction: exactly GSAS-II's `Polariz.` at `Azimuth` = 0
//!   (GSASIIpwd.Polarization: ((1−P)cos²ψ + P sin²ψ) cos²2θ + (1−P) sin²ψ + P cos²ψ with ψ = 0),
//!   e.g. P ≈ 0.99 for a horizontally polarised beam and a vertical diffraction plane.
//! * Neutrons: Pol = 1.
//!
//! Sources: ITC Vol. C (2004) §6.2.2 (polarisation factor, incl. the monochromator form)
//! and §6.2.5 (Lorentz factor of a powder, 1/(sin²θ cos θ) up to constants); Azároff (1955)
//! *Acta Cryst.* 8, 701 for the monochromator factor. LP is dimensionless.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The polarisation state of the incident beam.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Polarization {
    /// Unpolarised laboratory tube without a crystal monochromator (P = ½, K = 1).
    Unpolarized,
    /// A crystal monochromator whose diffraction plane is parallel to the specimen's:
    /// K = cos²2θ_M, P = 1/(1 + K). `two_theta_m_deg` in degrees (26.6° for graphite 002 at Cu Kα).
    Monochromator {
        /// Monochromator take-off angle 2θ_M in degrees, in [0°, 180°).
        two_theta_m_deg: f64,
    },
    /// An explicit σ fraction P ∈ [0, 1], as GSAS-II's refinable `Polariz.` (synchrotron ≈ 0.99).
    Fraction {
        /// P, dimensionless.
        fraction: f64,
    },
    /// Neutrons: no polarisation term (Pol = 1).
    Neutron,
}

/// An LP value and its derivative with respect to the polarisation fraction P.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LorentzPolarization {
    /// LP(2θ), dimensionless.
    pub value: f64,
    /// ∂LP/∂P = L(θ) sin²2θ for X-rays; 0 for neutrons.
    pub d_fraction: f64,
}

impl Polarization {
    /// Check the parameters: 2θ_M finite in [0°, 180°); P finite in [0, 1].
    pub fn validate(&self) -> Result<()> {
        match *self {
            Polarization::Monochromator { two_theta_m_deg: a }
                if !(a.is_finite() && (0.0..180.0).contains(&a)) =>
            {
                Err(Error::InvalidValue {
                    name: "monochromator 2θ_M (deg)".into(),
                    value: a,
                    reason: "must lie in [0°, 180°)",
                })
            }
            Polarization::Fraction { fraction: p }
                if !(p.is_finite() && (0.0..=1.0).contains(&p)) =>
            {
                Err(Error::InvalidValue {
                    name: "polarisation fraction".into(),
                    value: p,
                    reason: "must lie in [0, 1]",
                })
            }
            _ => Ok(()),
        }
    }

    /// The σ fraction P of this source, or `None` for neutrons.
    pub fn fraction(&self) -> Option<f64> {
        match *self {
            Polarization::Unpolarized => Some(0.5),
            Polarization::Monochromator { two_theta_m_deg } => {
                let c = two_theta_m_deg.to_radians().cos();
                Some(1.0 / (1.0 + c * c))
            }
            Polarization::Fraction { fraction } => Some(fraction),
            Polarization::Neutron => None,
        }
    }

    /// Pol(2θ) = P + (1 − P) cos²2θ and ∂Pol/∂P = sin²2θ (neutrons: 1 and 0). Dimensionless.
    pub fn factor(&self, two_theta_deg: f64) -> (f64, f64) {
        match self.fraction() {
            Some(p) => {
                let c2 = two_theta_deg.to_radians().cos().powi(2);
                (p + (1.0 - p) * c2, 1.0 - c2)
            }
            None => (1.0, 0.0),
        }
    }
}

fn check_two_theta(two_theta_deg: f64) -> Result<()> {
    if two_theta_deg.is_finite() && two_theta_deg > 0.0 && two_theta_deg < 180.0 {
        Ok(())
    } else {
        Err(Error::InvalidValue {
            name: "2θ (deg)".into(),
            value: two_theta_deg,
            reason: "the Lorentz factor needs 0° < 2θ < 180°",
        })
    }
}

/// Powder Lorentz factor L = 1/(sin²θ cos θ), dimensionless, for 0° < 2θ < 180°
/// (ITC Vol. C (2004) §6.2.5; no factor ½, see the module documentation).
pub fn lorentz_factor(two_theta_deg: f64) -> Result<f64> {
    check_two_theta(two_theta_deg)?;
    let theta = 0.5 * two_theta_deg.to_radians();
    let (s, c) = theta.sin_cos();
    Ok(1.0 / (s * s * c))
}

/// LP(2θ) = Pol(2θ)/(sin²θ cos θ) with ∂LP/∂P, for 0° < 2θ < 180° (module documentation gives
/// the convention and sources). Errors on an invalid `polarization` or 2θ outside (0°, 180°).
pub fn lorentz_polarization(
    two_theta_deg: f64,
    polarization: &Polarization,
) -> Result<LorentzPolarization> {
    polarization.validate()?;
    let l = lorentz_factor(two_theta_deg)?;
    let (pol, d_pol) = polarization.factor(two_theta_deg);
    Ok(LorentzPolarization { value: l * pol, d_fraction: l * d_pol })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_at_90_degrees() {
        // 2θ = 90°: sin²45° cos45° = 1/(2√2), cos 90° = 0 ⇒ Pol = 1/(1+K); with K = 1, LP = √2.
        let lp = lorentz_polarization(90.0, &Polarization::Monochromator { two_theta_m_deg: 0.0 })
            .unwrap();
        assert!((lp.value - 2f64.sqrt()).abs() < 1e-14, "{}", lp.value);
        let lp = lorentz_polarization(90.0, &Polarization::Unpolarized).unwrap();
        assert!((lp.value - 2f64.sqrt()).abs() < 1e-14);
        // Neutrons: L alone = 2√2.
        let lp = lorentz_polarization(90.0, &Polarization::Neutron).unwrap();
        assert!((lp.value - 2.0 * 2f64.sqrt()).abs() < 1e-14);
        assert_eq!(lp.d_fraction, 0.0);
    }

    #[test]
    fn monochromator_matches_textbook_form() {
        // ITC Vol. C §6.2.2: (1 + cos²2θ_M cos²2θ) / ((1 + cos²2θ_M) sin²θ cos θ).
        let tm = 26.6f64;
        let k = tm.to_radians().cos().powi(2);
        let pol = Polarization::Monochromator { two_theta_m_deg: tm };
        for tt in [7.0f64, 28.44, 63.0, 90.0, 127.5, 165.0] {
            let th = 0.5 * tt.to_radians();
            let expect = (1.0 + k * tt.to_radians().cos().powi(2))
                / ((1.0 + k) * th.sin().powi(2) * th.cos());
            let got = lorentz_polarization(tt, &pol).unwrap().value;
            assert!((got / expect - 1.0).abs() < 1e-13, "{tt}");
        }
        // Unpolarised = GSAS-II Polariz. 0.5 = monochromator with K = 1, everywhere.
        for tt in [10.0, 50.0, 140.0] {
            let a = lorentz_polarization(tt, &Polarization::Unpolarized).unwrap().value;
            let b =
                lorentz_polarization(tt, &Polarization::Fraction { fraction: 0.5 }).unwrap().value;
            assert!((a - b).abs() < 1e-12 * a);
        }
    }

    #[test]
    fn fraction_derivative_and_gsas_limits() {
        // GSAS-II Polarization(P, 2θ, 0) = (1−P)cos²2θ + P; P = 1 gives 1 at every angle.
        let (p1, _) = Polarization::Fraction { fraction: 1.0 }.factor(123.0);
        assert!((p1 - 1.0).abs() < 1e-15);
        for p in [0.0, 0.5, 0.93] {
            for tt in [12.0, 75.0, 150.0] {
                let lp = lorentz_polarization(tt, &Polarization::Fraction { fraction: p }).unwrap();
                let h = 1e-6;
                let f = |q: f64| {
                    lorentz_polarization(tt, &Polarization::Fraction { fraction: q }).unwrap().value
                };
                let fd = if p == 0.0 {
                    (f(p + h) - f(p)) / h
                } else {
                    (f(p + h) - f(p - h)) / (2.0 * h)
                };
                assert!((lp.d_fraction - fd).abs() < 1e-6 * lp.value.max(1.0), "{p} {tt}");
            }
        }
    }

    #[test]
    fn invalid_inputs_are_errors() {
        for tt in [0.0, 180.0, -3.0, f64::NAN] {
            assert!(lorentz_polarization(tt, &Polarization::Unpolarized).is_err(), "{tt}");
        }
        assert!(lorentz_polarization(30.0, &Polarization::Fraction { fraction: 1.2 }).is_err());
        let bad = Polarization::Monochromator { two_theta_m_deg: f64::NAN };
        assert!(lorentz_polarization(30.0, &bad).is_err());
    }
}
