//! The two benchmark workloads, written once in **bragg's** conventions, so that both sides
//! of the benchmark read the same numbers.
//!
//! Conventions of this file (the ones bragg's `crystal` crate documents):
//! * angles in degrees 2θ, wavelengths and cell lengths in Å;
//! * profile widths in the FullProf / Thompson–Cox–Hastings form (TCH 1987, J. Appl. Cryst. 20,
//!   79, eqs. 2–3; FullProf manual, "Npr = 7"):
//!   H_G² = U tan²θ + V tanθ + W (H_G = Gaussian **FWHM**, U V W in deg²) and
//!   H_L = X tanθ + Y / cosθ (H_L = Lorentzian FWHM, X Y in deg) — see [`WidthConvention`];
//! * displacement as B_iso in Å² (B = 8π² U_iso);
//! * Lorentz–polarisation LP = [P + (1 − P) cos²2θ] / (sin²θ cos θ), no factor ½ (bragg's
//!   `instrument::lorentz_polarization`; ITC Vol. C §6.2.2 and §6.2.5);
//! * FCJ asymmetry as S/L and H/L, the sample and receiving-slit axial half-heights over the
//!   goniometer radius (Finger, Cox & Jephcoat 1994, J. Appl. Cryst. 27, 892);
//! * Chebyshev background y = Σ c_n T_n(t), t = 2(2θ − 2θ_min)/(2θ_max − 2θ_min) − 1 over
//!   the pattern range (bragg's `background.rs`, identical in PhaseSmith).
//!
//! The grid is generated as `start + i·step` for `i in 0..n_points` on both sides.

/// How bragg's U, V, W, X, Y are to be read. Flip [`BRAGG_WIDTH_CONVENTION`] if bragg's
/// `profile/widths.rs` (not yet written when this file was made) settles on the other one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WidthConvention {
    /// FullProf / TCH 1987: H_G² = U tan²θ + V tanθ + W (FWHM², deg²);
    /// H_L = X tanθ + Y / cosθ (deg).
    FullProfTch,
    /// GSAS / GSAS-II (in degrees rather than centidegrees): σ² = U tan²θ + V tanθ + W
    /// (Gaussian variance, deg²), H_G = √(8 ln 2) σ; H_L = X / cosθ + Y tanθ (deg).
    /// This is PhaseSmith's own convention.
    GsasVariance,
}

/// The convention in which [`ProfileSpec`] values are given. bragg's `profile/mod.rs` says
/// "FullProf/TCH units: U, V, W, P in deg², X, Y in deg"; the lead should confirm against
/// `profile/widths.rs` once it exists.
pub const BRAGG_WIDTH_CONVENTION: WidthConvention = WidthConvention::FullProfTch;

/// Instrumental profile coefficients, in the convention [`BRAGG_WIDTH_CONVENTION`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProfileSpec {
    /// U (deg²).
    pub u_deg2: f64,
    /// V (deg²).
    pub v_deg2: f64,
    /// W (deg²).
    pub w_deg2: f64,
    /// X (deg).
    pub x_deg: f64,
    /// Y (deg).
    pub y_deg: f64,
}

/// Finger–Cox–Jephcoat axial-divergence asymmetry (FCJ 1994, J. Appl. Cryst. 27, 892).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FcjSpec {
    /// S/L: sample axial half-height over goniometer radius (dimensionless).
    pub s_over_l: f64,
    /// H/L: receiving-slit axial half-height over goniometer radius (dimensionless).
    pub h_over_l: f64,
}

/// Polarisation term of the LP factor (bragg's `Polarization`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PolarizationSpec {
    /// Explicit σ fraction P (GSAS-II `Polariz.`), Pol = P + (1 − P) cos²2θ.
    Fraction(f64),
    /// Crystal monochromator at 2θ_M (degrees), diffraction plane parallel to the specimen's:
    /// K = cos²2θ_M, P = 1/(1 + K) (ITC Vol. C §6.2.2; Azároff 1955, Acta Cryst. 8, 701).
    Monochromator {
        /// 2θ_M in degrees.
        two_theta_m_deg: f64,
    },
}

impl PolarizationSpec {
    /// The σ fraction P in Pol = P + (1 − P) cos²2θ.
    #[must_use]
    pub fn fraction(self) -> f64 {
        match self {
            Self::Fraction(p) => p,
            Self::Monochromator { two_theta_m_deg } => {
                let k = two_theta_m_deg.to_radians().cos().powi(2);
                1.0 / (1.0 + k)
            }
        }
    }
}

/// Diffraction geometry. Both have LP = Pol/(sin²θ cosθ) and, here, no absorption term
/// (infinitely thick flat plate; capillary with μR = 0), so only bragg reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometrySpec {
    /// Capillary transmission (synchrotron).
    DebyeScherrer,
    /// Flat-plate reflection, goniometer radius 240 mm, no displacement (lab).
    BraggBrentano,
}

/// One atom on one site. Mixed sites are listed as several atoms with the same coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct AtomSpec {
    /// Site label (e.g. `4a`).
    pub site: &'static str,
    /// Element symbol, neutral atom (`Li`, not `Li1+`).
    pub element: &'static str,
    /// Fractional coordinates.
    pub xyz: [f64; 3],
    /// Occupancy (fraction of the site).
    pub occupancy: f64,
    /// Isotropic displacement B in Å².
    pub b_iso_angstrom2: f64,
}

/// A cubic phase.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseSpec {
    /// Name.
    pub name: &'static str,
    /// International Tables space-group number (225 = Fm-3m, standard setting).
    pub space_group_number: i32,
    /// Hermann–Mauguin symbol, for bragg's parser.
    pub space_group_symbol: &'static str,
    /// Cubic cell edge a in Å.
    pub a_angstrom: f64,
    /// Atoms of the asymmetric unit.
    pub atoms: Vec<AtomSpec>,
    /// Phase scale (integrated intensity = scale · m · |F|² · LP).
    pub scale: f64,
}

/// One wavelength component.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WavelengthSpec {
    /// Wavelength in Å.
    pub wavelength_angstrom: f64,
    /// Relative intensity (Kα1 = 1).
    pub relative_intensity: f64,
}

/// A complete workload: grid, source, instrument, phases, background.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSpec {
    /// Short name, used for file names and criterion groups.
    pub name: &'static str,
    /// First 2θ (degrees).
    pub two_theta_start_deg: f64,
    /// Step (degrees).
    pub step_deg: f64,
    /// Number of points.
    pub n_points: usize,
    /// Wavelength components; the first is the reference.
    pub wavelengths: Vec<WavelengthSpec>,
    /// Instrumental widths.
    pub profile: ProfileSpec,
    /// Axial asymmetry, if any.
    pub fcj: Option<FcjSpec>,
    /// Polarisation in the LP factor.
    pub polarization: PolarizationSpec,
    /// Geometry.
    pub geometry: GeometrySpec,
    /// 6 Chebyshev coefficients (counts) over the pattern range.
    pub background: [f64; 6],
    /// Phases.
    pub phases: Vec<PhaseSpec>,
}

impl WorkloadSpec {
    /// The 2θ grid in degrees: `start + i·step`, `i = 0..n_points`.
    #[must_use]
    pub fn grid(&self) -> Vec<f64> {
        (0..self.n_points).map(|i| self.two_theta_start_deg + i as f64 * self.step_deg).collect()
    }

    /// Smallest d-spacing (Å) of the reflections that can reach the grid, by bragg's rule
    /// (`pattern/engine.rs`: `reach_deg`, `d_min_for` with margin 0, as in `simulate`):
    /// 2θ_reach = 2θ_max + 30·(H_G + H_L)(2θ_max), d_min = λ_longest / (2 sin θ_reach).
    /// Both sides use this, so both generate the same reflections.
    #[must_use]
    pub fn d_min_angstrom(&self) -> f64 {
        let end = self.two_theta_end_deg();
        let (hg, hl) = self.fwhm_deg(end);
        let reach = (end + 30.0 * (hg + hl)).min(179.9);
        let longest = self.wavelengths.iter().map(|w| w.wavelength_angstrom).fold(0.0, f64::max);
        longest / (2.0 * (0.5 * reach).to_radians().sin())
    }

    /// Gaussian and Lorentzian FWHM (degrees) at `two_theta_deg` in [`BRAGG_WIDTH_CONVENTION`].
    #[must_use]
    pub fn fwhm_deg(&self, two_theta_deg: f64) -> (f64, f64) {
        let th = (0.5 * two_theta_deg).to_radians();
        let (t, sec) = (th.tan(), 1.0 / th.cos());
        let p = self.profile;
        let q = p.u_deg2 * t * t + p.v_deg2 * t + p.w_deg2;
        match BRAGG_WIDTH_CONVENTION {
            WidthConvention::FullProfTch => (q.max(0.0).sqrt(), p.x_deg * t + p.y_deg * sec),
            WidthConvention::GsasVariance => {
                ((8.0 * std::f64::consts::LN_2 * q).max(0.0).sqrt(), p.x_deg * sec + p.y_deg * t)
            }
        }
    }

    /// Last grid point (degrees).
    #[must_use]
    pub fn two_theta_end_deg(&self) -> f64 {
        self.two_theta_start_deg + (self.n_points - 1) as f64 * self.step_deg
    }
}

/// Cation-disordered rock salt Li1.17Ti0.58Ni0.25O2 (Fm-3m, a = 4.14 Å): 4a Li 0.585 /
/// Ti 0.29 / Ni 0.125, 4b O 1.0, B_iso 0.5 Å² on both sites.
#[must_use]
pub fn rock_salt() -> PhaseSpec {
    let b = 0.5;
    PhaseSpec {
        name: "LTNO",
        space_group_number: 225,
        space_group_symbol: "F m -3 m",
        a_angstrom: 4.14,
        atoms: vec![
            AtomSpec {
                site: "4a",
                element: "Li",
                xyz: [0.0; 3],
                occupancy: 0.585,
                b_iso_angstrom2: b,
            },
            AtomSpec {
                site: "4a",
                element: "Ti",
                xyz: [0.0; 3],
                occupancy: 0.29,
                b_iso_angstrom2: b,
            },
            AtomSpec {
                site: "4a",
                element: "Ni",
                xyz: [0.0; 3],
                occupancy: 0.125,
                b_iso_angstrom2: b,
            },
            AtomSpec {
                site: "4b",
                element: "O",
                xyz: [0.5; 3],
                occupancy: 1.0,
                b_iso_angstrom2: b,
            },
        ],
        scale: 1.0,
    }
}

/// Aluminium (Fm-3m, a = 4.0495 Å, Al on 4a, B_iso 0.6 Å²): the in situ cell's second phase.
#[must_use]
pub fn aluminium() -> PhaseSpec {
    PhaseSpec {
        name: "Al",
        space_group_number: 225,
        space_group_symbol: "F m -3 m",
        a_angstrom: 4.0495,
        atoms: vec![AtomSpec {
            site: "4a",
            element: "Al",
            xyz: [0.0; 3],
            occupancy: 1.0,
            b_iso_angstrom2: 0.6,
        }],
        scale: 1.0,
    }
}

/// Chebyshev coefficients shared by both workloads (counts).
/// (The coefficients of bragg's `examples::ltno_synchrotron_model`.)
pub const BACKGROUND: [f64; 6] = [200.0, -40.0, 15.0, -5.0, 2.0, -1.0];

/// Synchrotron workload: λ = 0.458 Å, 2θ = 2–40° step 0.001° (38,001 points), TCH
/// U = V = 0, W = 1e-4 deg², X = 0, Y = 0.005 deg, FCJ S/L = H/L = 0.001, LP with P = 0.99
/// (horizontally polarised beam, vertical diffraction plane), rock salt only, scale 1.
#[must_use]
pub fn synchrotron() -> WorkloadSpec {
    WorkloadSpec {
        name: "synchrotron_38001",
        two_theta_start_deg: 2.0,
        step_deg: 0.001,
        n_points: 38_001,
        wavelengths: vec![WavelengthSpec { wavelength_angstrom: 0.458, relative_intensity: 1.0 }],
        profile: ProfileSpec { u_deg2: 0.0, v_deg2: 0.0, w_deg2: 1.0e-4, x_deg: 0.0, y_deg: 0.005 },
        fcj: Some(FcjSpec { s_over_l: 0.001, h_over_l: 0.001 }),
        polarization: PolarizationSpec::Fraction(0.99),
        geometry: GeometrySpec::DebyeScherrer,
        background: BACKGROUND,
        phases: vec![rock_salt()],
    }
}

/// Lab workload: Cu Kα1/Kα2 (1.540593/1.544427 Å, ratio 0.5), 15–80° step 0.02° (3,251
/// points), U = 0.004, V = −0.002, W = 0.002 deg², X = 0.02, Y = 0.01 deg, no asymmetry,
/// Bragg–Brentano LP with a graphite monochromator (2θ_M = 26.6°), rock salt + Al, scales 1.
#[must_use]
pub fn lab() -> WorkloadSpec {
    WorkloadSpec {
        name: "lab_two_phase_3251",
        two_theta_start_deg: 15.0,
        step_deg: 0.02,
        n_points: 3_251,
        wavelengths: vec![
            WavelengthSpec { wavelength_angstrom: 1.540_593, relative_intensity: 1.0 },
            WavelengthSpec { wavelength_angstrom: 1.544_427, relative_intensity: 0.5 },
        ],
        profile: ProfileSpec {
            u_deg2: 0.004,
            v_deg2: -0.002,
            w_deg2: 0.002,
            x_deg: 0.02,
            y_deg: 0.01,
        },
        fcj: None,
        polarization: PolarizationSpec::Monochromator { two_theta_m_deg: 26.6 },
        geometry: GeometrySpec::BraggBrentano,
        background: BACKGROUND,
        phases: vec![rock_salt(), aluminium()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_have_the_requested_size_and_ends() {
        let s = synchrotron();
        let g = s.grid();
        assert_eq!(g.len(), 38_001);
        assert!((g[0] - 2.0).abs() < 1e-12 && (g[38_000] - 40.0).abs() < 1e-9);
        let l = lab();
        let g = l.grid();
        assert_eq!(g.len(), 3_251);
        assert!((g[0] - 15.0).abs() < 1e-12 && (g[3_250] - 80.0).abs() < 1e-9);
    }

    #[test]
    fn monochromator_fraction_matches_cos_squared_form() {
        // P = 1/(1 + cos²26.6°) = 1/(1 + 0.799508…) (ITC Vol. C §6.2.2).
        let p = PolarizationSpec::Monochromator { two_theta_m_deg: 26.6 }.fraction();
        assert!((p - 1.0 / (1.0 + 0.894_154_f64.powi(2))).abs() < 1e-6, "{p}");
    }

    #[test]
    fn rock_salt_4a_is_fully_occupied() {
        let total: f64 =
            rock_salt().atoms.iter().filter(|a| a.site == "4a").map(|a| a.occupancy).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }
}
