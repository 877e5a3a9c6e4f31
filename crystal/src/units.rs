//! Units, physical constants and Bragg's law.
//!
//! Convention: angles are in **degrees** at every public interface (a raw `f64` angle says so
//! in its name, e.g. `two_theta_deg`) and in **radians** inside kernels. Lengths are in Å,
//! energies in keV, masses in g/mol, densities in g/cm³.

/// Avogadro constant N_A in mol⁻¹ (CODATA 2018, exact by the 2019 SI definition).
pub const AVOGADRO: f64 = 6.022_140_76e23;

/// hc in keV·Å (CODATA 2018: h·c = 12.398 419 843 320 026 keV·Å), converting λ (Å) ↔ E (keV).
pub const HC_KEV_ANGSTROM: f64 = 12.398_419_843_320_026;

/// One Å³ in cm³.
pub const ANGSTROM3_IN_CM3: f64 = 1.0e-24;

/// Photon energy (keV) of a wavelength (Å): E = hc/λ.
pub fn energy_kev(wavelength_angstrom: f64) -> f64 {
    HC_KEV_ANGSTROM / wavelength_angstrom
}

/// Bragg's law, λ = 2 d sin θ: the diffraction angle 2θ in degrees of a d-spacing (Å) at a
/// wavelength (Å), or `None` when λ/(2d) > 1 (the reflection is beyond the Ewald sphere).
pub fn two_theta_deg(d_angstrom: f64, wavelength_angstrom: f64) -> Option<f64> {
    let sin_theta = wavelength_angstrom / (2.0 * d_angstrom);
    if !(0.0..=1.0).contains(&sin_theta) {
        return None;
    }
    Some(2.0 * sin_theta.asin().to_degrees())
}

/// Bragg's law inverted: the d-spacing (Å) seen at 2θ (degrees) for a wavelength (Å).
pub fn d_spacing(two_theta_deg: f64, wavelength_angstrom: f64) -> f64 {
    wavelength_angstrom / (2.0 * (0.5 * two_theta_deg).to_radians().sin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bragg_round_trip_and_limits() {
        // Analytic cases: λ = d gives sinθ = ½ (2θ = 60°); λ = √2·d gives θ = 45° (2θ = 90°).
        let d = 5.431_020_511 / 3f64.sqrt();
        assert!((two_theta_deg(d, d).unwrap_or(f64::NAN) - 60.0).abs() < 1e-12);
        let tth = two_theta_deg(d, 2f64.sqrt() * d).unwrap_or(f64::NAN);
        assert!((tth - 90.0).abs() < 1e-12, "{tth}");
        assert!((d_spacing(tth, 2f64.sqrt() * d) - d).abs() < 1e-12);
        // Backscattering limit: d = λ/2 gives 2θ = 180°, below it nothing.
        assert!((two_theta_deg(0.5, 1.0).unwrap_or(0.0) - 180.0).abs() < 1e-9);
        assert!(two_theta_deg(0.49, 1.0).is_none());
        // Cu Kα1 is 8.0478 keV.
        assert!((energy_kev(1.540_593) - 8.0478).abs() < 1e-3);
    }
}
