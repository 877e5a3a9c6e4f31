//! Quantities derived from refined parameters, with esds propagated through the covariance.
//!
//! # Propagation
//! For q = f(p) with gradient g = ∂f/∂p and parameter covariance C (a block of
//! [`crate::covariance::Covariance`]), σ_q² = gᵀ C g (first-order propagation; ISO/BIPM GUM,
//! JCGM 100:2008 §5.2, eq. 13; Prince 2004 §6.4). Constrained parameters enter through
//! repeated indices in the block (see [`crate::covariance::Covariance::block`]).
//!
//! # Contents
//! - cell volume and its gradient for any cell ([`cell_volume`]);
//! - X-ray density ρ = M_cell/(N_A V) ([`xray_density`]);
//! - Hill & Howard (1987) weight fractions ([`weight_fractions`]);
//! - crystallite size and microstrain from the Lorentzian TCH widths ([`SizeStrain`]).

use crate::error::{Error, Result};
use crate::uncertain::Uncertain;
use bragg_crystal::units::{ANGSTROM3_IN_CM3, AVOGADRO};
use bragg_crystal::{Cell, Phase};
use nalgebra::DMatrix;
use serde::Serialize;
use std::f64::consts::PI;

/// σ = √(gᵀ C g) with the value attached.
///
/// A gᵀCg below zero by more than round-off (relative 1e-12 of Σ|g_i C_ij g_j|) means C is
/// not positive semi-definite and is an error; a round-off negative is taken as 0.
///
/// Errors: [`Error::InvalidInput`] on a size mismatch or an indefinite C; [`Error::NonFinite`]
/// when the variance is NaN/∞.
pub fn propagate(value: f64, gradient: &[f64], cov: &DMatrix<f64>) -> Result<Uncertain> {
    let n = gradient.len();
    if cov.nrows() != n || cov.ncols() != n {
        return Err(Error::InvalidInput(format!(
            "gradient has {n} entries, covariance is {}×{}",
            cov.nrows(),
            cov.ncols()
        )));
    }
    let (mut var, mut scale) = (0.0, 0.0);
    for i in 0..n {
        for j in 0..n {
            let t = gradient[i] * cov[(i, j)] * gradient[j];
            var += t;
            scale += t.abs();
        }
    }
    if !var.is_finite() {
        return Err(Error::NonFinite { what: "propagated variance".into(), at: format!("{var}") });
    }
    if var < -1e-12 * scale {
        return Err(Error::InvalidInput(format!(
            "covariance is not positive semi-definite (gᵀCg = {var})"
        )));
    }
    Ok(Uncertain::new(value, var.max(0.0).sqrt()))
}

/// cos of an angle in degrees, exact for 60°, 90° and 120° (as in `bragg_crystal::cell`).
fn cos_deg(angle_deg: f64) -> f64 {
    if angle_deg == 90.0 {
        0.0
    } else if angle_deg == 60.0 {
        0.5
    } else if angle_deg == 120.0 {
        -0.5
    } else {
        angle_deg.to_radians().cos()
    }
}

/// Cell volume (Å³) and its gradient with respect to (a, b, c, α, β, γ), the edges in Å and
/// the **angles in degrees** (so the angular entries are in Å³/degree).
///
/// V = abc √Q, Q = 1 − cos²α − cos²β − cos²γ + 2 cosα cosβ cosγ (International Tables Vol. B
/// (2010) §1.1.2, eq. 1.1.2.4 in terms of the metric); ∂V/∂a = V/a (likewise b, c) and
/// ∂V/∂α = V sinα (cosα − cosβ cosγ)/Q per radian, × π/180 per degree (cyclically for β, γ).
pub fn cell_volume_gradient(cell: &Cell) -> (f64, [f64; 6]) {
    let (ca, cb, cg) = (cos_deg(cell.alpha_deg), cos_deg(cell.beta_deg), cos_deg(cell.gamma_deg));
    let (sa, sb, sg) = (
        cell.alpha_deg.to_radians().sin(),
        cell.beta_deg.to_radians().sin(),
        cell.gamma_deg.to_radians().sin(),
    );
    let q = 1.0 - ca * ca - cb * cb - cg * cg + 2.0 * ca * cb * cg;
    let v = cell.a * cell.b * cell.c * q.sqrt();
    let per_deg = PI / 180.0;
    (
        v,
        [
            v / cell.a,
            v / cell.b,
            v / cell.c,
            per_deg * v * sa * (ca - cb * cg) / q,
            per_deg * v * sb * (cb - ca * cg) / q,
            per_deg * v * sg * (cg - ca * cb) / q,
        ],
    )
}

/// Cell volume in Å³ with its esd from the 6 × 6 covariance of (a, b, c in Å; α, β, γ in
/// degrees). For a constrained system build the block with repeated/absent parameters, e.g.
/// cubic `cov.block_by_name(&[Some(a), Some(a), Some(a), None, None, None])`, which gives
/// σ_V = 3a²σ_a.
///
/// Errors as [`propagate`].
pub fn cell_volume(cell: &Cell, cell_cov: &DMatrix<f64>) -> Result<Uncertain> {
    let (v, g) = cell_volume_gradient(cell);
    propagate(v, &g, cell_cov)
}

/// X-ray (crystallographic) density ρ = M_cell/(N_A V) in g/cm³ (M_cell in g/mol, V in Å³,
/// 1 Å³ = 10⁻²⁴ cm³; International Tables Vol. C (2004) §4.4 / `bragg_crystal::Phase::density`).
///
/// `cov` covers (a, b, c, α, β, γ) followed by k further parameters (e.g. occupancies) whose
/// effect on the cell mass is `dmass_dextra` (g/mol per unit, k entries; empty when only the
/// cell is refined). Gradient: ∂ρ/∂cell_i = −(ρ/V) ∂V/∂cell_i, ∂ρ/∂p_j = (ρ/M) ∂M/∂p_j.
///
/// Errors: [`Error::InvalidInput`] for M ≤ 0 or a covariance of the wrong size; see
/// [`propagate`].
pub fn xray_density(
    cell: &Cell,
    cell_mass_g_mol: f64,
    dmass_dextra: &[f64],
    cov: &DMatrix<f64>,
) -> Result<Uncertain> {
    if !(cell_mass_g_mol.is_finite() && cell_mass_g_mol > 0.0) {
        return Err(Error::InvalidInput(format!(
            "cell mass {cell_mass_g_mol} g/mol must be positive"
        )));
    }
    let (v, gv) = cell_volume_gradient(cell);
    let rho = cell_mass_g_mol / (AVOGADRO * v * ANGSTROM3_IN_CM3);
    let mut g: Vec<f64> = gv.iter().map(|d| -rho / v * d).collect();
    g.extend(dmass_dextra.iter().map(|d| rho / cell_mass_g_mol * d));
    propagate(rho, &g, cov)
}

/// ∂M_cell/∂occ of one occupant of a site: multiplicity × atomic mass (g/mol).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OccupancyMass {
    /// Site label.
    pub site: String,
    /// Species as written (e.g. `Ni2+`).
    pub species: String,
    /// ∂M_cell/∂occ in g/mol.
    pub dmass_docc: f64,
}

/// The derivatives of a phase's cell mass with respect to each occupancy, in site and
/// occupant order, for the `dmass_dextra` argument of [`xray_density`].
///
/// Errors: [`Error::Crystal`] for an element without a standard atomic weight.
pub fn occupancy_mass_derivatives(phase: &Phase) -> Result<Vec<OccupancyMass>> {
    let mut out = Vec::new();
    for (site, orbit) in phase.sites.iter().zip(phase.expanded_positions()) {
        for o in &site.occupants {
            out.push(OccupancyMass {
                site: site.label.clone(),
                species: o.species.to_string(),
                dmass_docc: orbit.len() as f64 * o.species.element.atomic_mass()?,
            });
        }
    }
    Ok(out)
}

/// What Hill & Howard's weight fraction needs of one phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PhaseAmount {
    /// Rietveld scale factor S (intensity model y = S·m·|F|²·LP·…, |F|² per cell, **no** 1/V²
    /// factor, as in `bragg_crystal::pattern`).
    pub scale: f64,
    /// Formula units per cell Z.
    pub z: f64,
    /// Molar mass per formula unit M in g/mol.
    pub molar_mass_g_mol: f64,
    /// Cell volume V in Å³.
    pub volume_angstrom3: f64,
}

/// Weight fractions W_p = S_p (ZMV)_p / Σ_i S_i (ZMV)_i (R. J. Hill & C. J. Howard (1987),
/// J. Appl. Cryst. 20, 467–474, eq. 4; valid without microabsorption contrast and amorphous
/// content), with esds from the full covariance of the scale factors (`scale_cov`, n × n in
/// phase order): ∂W_p/∂S_q = (ZMV)_q (δ_pq − W_p) / Σ_i S_i (ZMV)_i. The esds of Z·M·V are
/// neglected (V is typically known to 10⁻⁵ relative).
///
/// Errors: [`Error::InvalidInput`] for no phases, a non-positive or non-finite Z, M or V, a
/// negative scale, a zero total, or a covariance of the wrong size.
pub fn weight_fractions(
    phases: &[PhaseAmount],
    scale_cov: &DMatrix<f64>,
) -> Result<Vec<Uncertain>> {
    if phases.is_empty() {
        return Err(Error::InvalidInput("no phases for weight fractions".into()));
    }
    let mut zmv = Vec::with_capacity(phases.len());
    for (k, p) in phases.iter().enumerate() {
        let f = p.z * p.molar_mass_g_mol * p.volume_angstrom3;
        if !(f.is_finite() && f > 0.0 && p.scale.is_finite() && p.scale >= 0.0) {
            return Err(Error::InvalidInput(format!(
                "phase {k}: S = {}, Z = {}, M = {}, V = {} must be finite, S ≥ 0 and Z, M, V > 0",
                p.scale, p.z, p.molar_mass_g_mol, p.volume_angstrom3
            )));
        }
        zmv.push(f);
    }
    let total: f64 = phases.iter().zip(&zmv).map(|(p, f)| p.scale * f).sum();
    if total <= 0.0 {
        return Err(Error::InvalidInput("all scale factors are zero".into()));
    }
    phases
        .iter()
        .zip(&zmv)
        .enumerate()
        .map(|(p, (ph, f))| {
            let w = ph.scale * f / total;
            let g: Vec<f64> = zmv
                .iter()
                .enumerate()
                .map(|(q, fq)| fq * (f64::from(u8::from(p == q)) - w) / total)
                .collect();
            propagate(w, &g, scale_cov)
        })
        .collect()
}

/// Which line-breadth measure the size and strain formulas use.
///
/// The TCH Lorentzian widths are FWHMs, H_L = X tanθ + Y/cosθ (degrees 2θ, FullProf
/// convention; `bragg_crystal::profile::widths`).
/// - `Fwhm { k }`: Scherrer with the FWHM, D = Kλ/(H cosθ) (Scherrer 1918; Langford & Wilson
///   (1978) J. Appl. Cryst. 11, 102: K ≈ 0.9 for the FWHM of spherical crystallites), and the
///   apparent strain ε = H/(4 tanθ) from the FWHM. Thus D = Kλ/(Y·π/180) and ε = (X·π/180)/4.
/// - `IntegralBreadth`: Stokes & Wilson integral-breadth quantities as used by Balzar et al.
///   (2004), J. Appl. Cryst. 37, 911 (size–strain round robin): volume-weighted column length
///   ⟨D⟩_V = λ/(β cosθ) and upper-limit strain e = β/(4 tanθ), with the Lorentzian integral
///   breadth β = (π/2)·H. Thus ⟨D⟩_V = λ/((π/2)·Y·π/180), e = (π/2)(X·π/180)/4.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BreadthConvention {
    /// FWHM with Scherrer constant K (dimensionless).
    Fwhm {
        /// Scherrer constant K (0.9 by default).
        k: f64,
    },
    /// Integral breadth (K = 1, β = π/2 · FWHM for a Lorentzian).
    IntegralBreadth,
}

impl Default for BreadthConvention {
    fn default() -> Self {
        BreadthConvention::Fwhm { k: 0.9 }
    }
}

impl BreadthConvention {
    /// (K, breadth/FWHM) of the convention.
    fn factors(self) -> (f64, f64) {
        match self {
            BreadthConvention::Fwhm { k } => (k, 1.0),
            BreadthConvention::IntegralBreadth => (1.0, PI / 2.0),
        }
    }
}

/// Instrumental Lorentzian coefficients (degrees 2θ) measured on a standard (e.g. LaB₆
/// SRM 660), subtracted from the sample's: Lorentzian widths of convolved profiles add
/// linearly (FWHM and integral breadth alike), so X_s = X − X_inst, Y_s = Y − Y_inst
/// (Langford (1992) NIST Spec. Publ. 846, 110; Balzar et al. 2004 §2). Their esds (if any)
/// add in quadrature, assumed independent of the sample's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct InstrumentalLorentzian {
    /// Instrumental X (strain-like, × tanθ), degrees.
    pub x_deg: Uncertain,
    /// Instrumental Y (size-like, / cosθ), degrees.
    pub y_deg: Uncertain,
}

/// Crystallite size and microstrain of one phase from its TCH Lorentzian coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SizeStrain {
    /// Size in Å; `None` when the sample Y (after instrumental subtraction) is ≤ 0, i.e. no
    /// size broadening is resolved.
    pub size_angstrom: Option<Uncertain>,
    /// Microstrain as a fraction (1e-3 = 0.1 %); may be negative (then consistent with zero
    /// only within its esd) when the instrumental X exceeds the refined one.
    pub strain: Uncertain,
    /// The convention used.
    pub convention: BreadthConvention,
}

/// σ of a difference of independent quantities.
fn subtract(a: Uncertain, b: Option<Uncertain>) -> (f64, f64) {
    let sa = a.esd.unwrap_or(0.0);
    match b {
        None => (a.value, sa),
        Some(b) => {
            let sb = b.esd.unwrap_or(0.0);
            (a.value - b.value, sa.hypot(sb))
        }
    }
}

impl SizeStrain {
    /// From the refined X and Y (degrees 2θ, TCH/FullProf convention, see
    /// [`BreadthConvention`]) and the wavelength λ (Å). esds follow from σ_X and σ_Y alone
    /// (size depends only on Y, strain only on X): σ_D = D σ_Y/Y_s, σ_ε = ε σ_X/X_s.
    ///
    /// Errors: [`Error::InvalidInput`] for λ ≤ 0, K ≤ 0 or non-finite inputs.
    pub fn from_tch(
        x_deg: Uncertain,
        y_deg: Uncertain,
        instrument: Option<InstrumentalLorentzian>,
        wavelength_angstrom: f64,
        convention: BreadthConvention,
    ) -> Result<Self> {
        let (k, breadth) = convention.factors();
        if !(wavelength_angstrom.is_finite() && wavelength_angstrom > 0.0) {
            return Err(Error::InvalidInput(format!(
                "wavelength {wavelength_angstrom} Å must be positive"
            )));
        }
        if !(k.is_finite() && k > 0.0) {
            return Err(Error::InvalidInput(format!("Scherrer constant K = {k} must be positive")));
        }
        let (xs, sx) = subtract(x_deg, instrument.map(|i| i.x_deg));
        let (ys, sy) = subtract(y_deg, instrument.map(|i| i.y_deg));
        if ![xs, sx, ys, sy].iter().all(|v| v.is_finite()) {
            return Err(Error::InvalidInput("non-finite X, Y or esd".into()));
        }
        let to_rad = PI / 180.0;
        let strain_factor = breadth * to_rad / 4.0;
        let strain = Uncertain { value: strain_factor * xs, esd: Some(strain_factor * sx) };
        let size_angstrom = (ys > 0.0).then(|| {
            let d = k * wavelength_angstrom / (breadth * ys * to_rad);
            Uncertain { value: d, esd: Some(d * sy / ys) }
        });
        Ok(SizeStrain { size_angstrom, strain, convention })
    }

    /// Size in nm (1 nm = 10 Å).
    pub fn size_nm(&self) -> Option<Uncertain> {
        self.size_angstrom.map(|d| d.scaled(0.1))
    }

    /// Microstrain in percent.
    pub fn strain_percent(&self) -> Uncertain {
        self.strain.scaled(100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covariance::Covariance;
    use approx::assert_relative_eq;

    fn diag(v: &[f64]) -> DMatrix<f64> {
        DMatrix::from_diagonal(&nalgebra::DVector::from_row_slice(v))
    }

    #[test]
    fn volume_gradient_matches_finite_differences() {
        // Independent: Cell::volume (√det G) differenced numerically, for several systems.
        let cells = [
            Cell::new(5.1, 6.3, 7.2, 81.0, 97.5, 103.2).unwrap(),
            Cell::new(5.0, 7.0, 9.0, 90.0, 104.3, 90.0).unwrap(),
            Cell::hexagonal(2.87, 14.2).unwrap(),
            Cell::new(4.0, 4.0, 4.0, 60.5, 60.5, 60.5).unwrap(),
        ];
        for cell in cells {
            let (v, g) = cell_volume_gradient(&cell);
            assert_relative_eq!(v, cell.volume(), max_relative = 1e-13);
            let p = [cell.a, cell.b, cell.c, cell.alpha_deg, cell.beta_deg, cell.gamma_deg];
            for k in 0..6 {
                let h = 1e-5;
                let shifted = |d: f64| {
                    let mut q = p;
                    q[k] += d;
                    Cell::new(q[0], q[1], q[2], q[3], q[4], q[5]).unwrap().volume()
                };
                let fd = (shifted(h) - shifted(-h)) / (2.0 * h);
                assert_relative_eq!(g[k], fd, epsilon = 1e-6 * v, max_relative = 1e-7);
            }
        }
    }

    #[test]
    fn cubic_volume_esd_is_three_a_squared_sigma_a() {
        // Refine only a; b ≡ c ≡ a by symmetry: build the 6×6 block with repeated indices.
        let (a, sa) = (4.1403, 0.0002);
        let cov = Covariance {
            names: vec!["a".into()],
            matrix: diag(&[sa * sa]),
            esd: vec![sa],
            correlation: diag(&[1.0]),
            high_correlations: vec![],
            warning: false,
            chi2_reduced: 1.0,
            condition_number: 1.0,
        };
        let blk = cov.block_by_name(&[Some("a"), Some("a"), Some("a"), None, None, None]).unwrap();
        let v = cell_volume(&Cell::cubic(a).unwrap(), &blk).unwrap();
        assert_relative_eq!(v.value, a * a * a, max_relative = 1e-14);
        assert_relative_eq!(v.esd.unwrap(), 3.0 * a * a * sa, max_relative = 1e-12);
    }

    #[test]
    fn hexagonal_volume_esd_with_correlated_a_c() {
        // V = (√3/2) a² c: ∂V/∂a = √3 a c (a = b), ∂V/∂c = (√3/2) a².
        let (a, c, sa, sc, rho) = (2.8650, 14.2100, 0.0003, 0.0015, 0.4);
        let cac = rho * sa * sc;
        let mut blk = DMatrix::zeros(6, 6);
        for i in 0..2 {
            for j in 0..2 {
                blk[(i, j)] = sa * sa;
            }
            blk[(i, 2)] = cac;
            blk[(2, i)] = cac;
        }
        blk[(2, 2)] = sc * sc;
        let v = cell_volume(&Cell::hexagonal(a, c).unwrap(), &blk).unwrap();
        let (ga, gc) = (3f64.sqrt() * a * c, 3f64.sqrt() / 2.0 * a * a);
        let var = ga * ga * sa * sa + gc * gc * sc * sc + 2.0 * ga * gc * cac;
        assert_relative_eq!(v.value, 3f64.sqrt() / 2.0 * a * a * c, max_relative = 1e-13);
        assert_relative_eq!(v.esd.unwrap(), var.sqrt(), max_relative = 1e-12);
    }

    #[test]
    fn monoclinic_beta_esd_in_degrees() {
        // V = abc sinβ: ∂V/∂β_deg = abc cosβ · π/180.
        let cell = Cell::new(5.0, 7.0, 9.0, 90.0, 104.3, 90.0).unwrap();
        let sb = 0.01;
        let mut blk = DMatrix::zeros(6, 6);
        blk[(4, 4)] = sb * sb;
        let v = cell_volume(&cell, &blk).unwrap();
        let expected = 315.0 * 104.3f64.to_radians().cos().abs() * PI / 180.0 * sb;
        assert_relative_eq!(v.esd.unwrap(), expected, max_relative = 1e-12);
    }

    #[test]
    fn propagate_rejects_bad_covariances() {
        assert!(propagate(1.0, &[1.0, 1.0], &diag(&[1.0])).is_err());
        let indefinite = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
        assert!(propagate(1.0, &[1.0, -1.0], &indefinite).is_err());
    }

    #[test]
    fn nacl_density_and_esds() {
        // Halite: a = 5.6402 Å, Z = 4, M(NaCl) = 58.443 g/mol (IUPAC): ρ ≈ 2.1634 g/cm³
        // (reference handbook value 2.165 g/cm³, CRC Handbook).
        let (a, sa) = (5.6402, 0.0004);
        let m_cell = 4.0 * 58.443;
        let cell = Cell::cubic(a).unwrap();
        let mut blk = DMatrix::zeros(6, 6);
        for i in 0..3 {
            for j in 0..3 {
                blk[(i, j)] = sa * sa;
            }
        }
        let rho = xray_density(&cell, m_cell, &[], &blk).unwrap();
        assert_relative_eq!(rho.value, 2.1634, max_relative = 2e-4);
        // ρ ∝ a⁻³: σ_ρ/ρ = 3 σ_a/a.
        assert_relative_eq!(rho.esd.unwrap(), rho.value * 3.0 * sa / a, max_relative = 1e-12);

        // Add an occupancy parameter: Na occupancy of the 4a site, ∂M/∂occ = 4·22.990;
        // compare with a finite difference of ρ(M) itself.
        let socc = 0.01;
        let mut blk7 = DMatrix::zeros(7, 7);
        blk7[(6, 6)] = socc * socc;
        let dm = 4.0 * 22.990;
        let r = xray_density(&cell, m_cell, &[dm], &blk7).unwrap();
        let rho_of = |m: f64| m / (AVOGADRO * a.powi(3) * 1e-24);
        let fd = (rho_of(m_cell + dm * 1e-6) - rho_of(m_cell - dm * 1e-6)) / 2e-6;
        assert_relative_eq!(r.esd.unwrap(), fd.abs() * socc, max_relative = 1e-6);
    }

    #[test]
    fn occupancy_derivatives_of_ltno() {
        let phase = bragg_crystal::examples::ltno_rock_salt(4.14, 0.5).unwrap();
        let d = occupancy_mass_derivatives(&phase).unwrap();
        assert!(!d.is_empty());
        // Σ occ · ∂M/∂occ = M_cell (M is linear and homogeneous in the occupancies).
        let mut total = 0.0;
        let mut k = 0;
        for site in &phase.sites {
            for o in &site.occupants {
                total += o.occupancy * d[k].dmass_docc;
                k += 1;
            }
        }
        assert_relative_eq!(total, phase.cell_mass().unwrap(), max_relative = 1e-12);
    }

    #[test]
    fn hill_howard_recovers_known_mixture() {
        // Toy 30/70 wt% corundum + rutile mix: choose scales S_p = K·W_p/(ZMV)_p (Hill &
        // Howard eq. 4 inverted) and check that W comes back.
        // Corundum Z = 6, M = 101.961, V = 254.81 Å³; rutile Z = 2, M = 79.866, V = 62.43 Å³.
        let (w1, w2) = (0.3, 0.7);
        let zmv1 = 6.0 * 101.961 * 254.81;
        let zmv2 = 2.0 * 79.866 * 62.43;
        let k = 1.7e-3;
        let phases = [
            PhaseAmount {
                scale: k * w1 / zmv1,
                z: 6.0,
                molar_mass_g_mol: 101.961,
                volume_angstrom3: 254.81,
            },
            PhaseAmount {
                scale: k * w2 / zmv2,
                z: 2.0,
                molar_mass_g_mol: 79.866,
                volume_angstrom3: 62.43,
            },
        ];
        // Independent 2 % esds on each scale: for two phases σ_W1² = W1²W2²(r1² + r2²).
        let (r1, r2) = (0.02, 0.02);
        let (s1, s2) = (phases[0].scale, phases[1].scale);
        let cov = diag(&[(r1 * s1).powi(2), (r2 * s2).powi(2)]);
        let w = weight_fractions(&phases, &cov).unwrap();
        assert_relative_eq!(w[0].value, w1, max_relative = 1e-13);
        assert_relative_eq!(w[1].value, w2, max_relative = 1e-13);
        let sw = w1 * w2 * (r1 * r1 + r2 * r2).sqrt();
        assert_relative_eq!(w[0].esd.unwrap(), sw, max_relative = 1e-12);
        assert_relative_eq!(w[1].esd.unwrap(), sw, max_relative = 1e-12);
        // Fully correlated equal relative errors cancel in the ratio: σ_W = 0.
        let c = DMatrix::from_fn(2, 2, |i, j| 0.02 * phases[i].scale * 0.02 * phases[j].scale);
        let w = weight_fractions(&phases, &c).unwrap();
        assert!(w[0].esd.unwrap() < 1e-12);
    }

    #[test]
    fn hill_howard_gradient_by_finite_differences() {
        let phases = [
            PhaseAmount { scale: 2.0e-4, z: 4.0, molar_mass_g_mol: 97.5, volume_angstrom3: 70.9 },
            PhaseAmount { scale: 1.1e-4, z: 2.0, molar_mass_g_mol: 60.08, volume_angstrom3: 113.0 },
            PhaseAmount {
                scale: 5.0e-5,
                z: 6.0,
                molar_mass_g_mol: 101.96,
                volume_angstrom3: 254.8,
            },
        ];
        let wf = |s: &[f64]| -> Vec<f64> {
            let t: Vec<f64> = phases
                .iter()
                .zip(s)
                .map(|(p, s)| s * p.z * p.molar_mass_g_mol * p.volume_angstrom3)
                .collect();
            let tot: f64 = t.iter().sum();
            t.iter().map(|x| x / tot).collect()
        };
        // A correlated scale covariance (positive definite).
        let sig = [1e-6, 2e-6, 1.5e-6];
        let rho = [[1.0, 0.3, -0.2], [0.3, 1.0, 0.5], [-0.2, 0.5, 1.0]];
        let cov = DMatrix::from_fn(3, 3, |i, j| rho[i][j] * sig[i] * sig[j]);
        let w = weight_fractions(&phases, &cov).unwrap();
        let s0: Vec<f64> = phases.iter().map(|p| p.scale).collect();
        for (p, wp) in w.iter().enumerate() {
            let g: Vec<f64> = (0..3)
                .map(|q| {
                    let h = s0[q] * 1e-6;
                    let mut up = s0.clone();
                    up[q] += h;
                    let mut dn = s0.clone();
                    dn[q] -= h;
                    (wf(&up)[p] - wf(&dn)[p]) / (2.0 * h)
                })
                .collect();
            let var: f64 = (0..3)
                .flat_map(|i| (0..3).map(move |j| (i, j)))
                .map(|(i, j)| g[i] * cov[(i, j)] * g[j])
                .sum();
            assert_relative_eq!(wp.esd.unwrap(), var.sqrt(), max_relative = 1e-6);
            assert_relative_eq!(wp.value, wf(&s0)[p], max_relative = 1e-13);
        }
        let total: f64 = w.iter().map(|u| u.value).sum();
        assert_relative_eq!(total, 1.0, max_relative = 1e-14);
        assert!(weight_fractions(&[], &cov).is_err());
        assert!(weight_fractions(&phases, &diag(&[1.0])).is_err());
    }

    #[test]
    fn scherrer_size_and_strain() {
        // Cu Kα1, λ = 1.540593 Å; Y = 0.05° → D = 0.9·λ/(0.05·π/180) = 1588.9 Å (hand:
        // 0.05° = 8.7266e-4 rad; 1.386534/8.7266e-4 = 1588.9).
        let lambda = 1.540593;
        let ss = SizeStrain::from_tch(
            Uncertain::new(0.02, 0.002),
            Uncertain::new(0.05, 0.005),
            None,
            lambda,
            BreadthConvention::default(),
        )
        .unwrap();
        let d = ss.size_angstrom.unwrap();
        assert_relative_eq!(d.value, 1588.9, max_relative = 1e-4);
        assert_relative_eq!(d.esd.unwrap(), d.value * 0.1, max_relative = 1e-12);
        assert_relative_eq!(ss.size_nm().unwrap().value, d.value / 10.0, max_relative = 1e-15);
        // ε = (0.02·π/180)/4 = 8.7266e-5.
        assert_relative_eq!(ss.strain.value, 8.7266e-5, max_relative = 1e-4);
        assert_relative_eq!(ss.strain.esd.unwrap(), 8.7266e-6, max_relative = 1e-4);
        assert_relative_eq!(ss.strain_percent().value, 8.7266e-3, max_relative = 1e-4);
    }

    #[test]
    fn size_reproduces_the_broadening_it_came_from() {
        // Round trip through the physics, not the formula: a crystallite size D gives a
        // Scherrer FWHM H(2θ) = Kλ/(D cosθ) (radians) at every angle; fitting H_L = Y/cosθ
        // gives Y, and the size computed from Y must be D again. Same for strain with
        // H = 4ε tanθ.
        let (lambda, d_true, eps_true, k) = (1.2398, 850.0, 1.5e-3, 0.9);
        let tth: f64 = 47.0;
        let theta = (tth / 2.0).to_radians();
        let h_size_deg = (k * lambda / (d_true * theta.cos())).to_degrees();
        let h_strain_deg = (4.0 * eps_true * theta.tan()).to_degrees();
        let y = h_size_deg * theta.cos();
        let x = h_strain_deg / theta.tan();
        let ss = SizeStrain::from_tch(
            Uncertain::exact(x),
            Uncertain::exact(y),
            None,
            lambda,
            BreadthConvention::Fwhm { k },
        )
        .unwrap();
        assert_relative_eq!(ss.size_angstrom.unwrap().value, d_true, max_relative = 1e-12);
        assert_relative_eq!(ss.strain.value, eps_true, max_relative = 1e-12);
        // Integral breadth: β = π/2·H for a Lorentzian, K = 1 → D_V = λ/(β cosθ).
        let ib = SizeStrain::from_tch(
            Uncertain::exact(x),
            Uncertain::exact(y),
            None,
            lambda,
            BreadthConvention::IntegralBreadth,
        )
        .unwrap();
        let beta = PI / 2.0 * h_size_deg.to_radians();
        assert_relative_eq!(
            ib.size_angstrom.unwrap().value,
            lambda / (beta * theta.cos()),
            max_relative = 1e-12
        );
        let beta_s = PI / 2.0 * h_strain_deg.to_radians();
        assert_relative_eq!(ib.strain.value, beta_s / (4.0 * theta.tan()), max_relative = 1e-12);
    }

    #[test]
    fn instrumental_subtraction() {
        let inst = InstrumentalLorentzian {
            x_deg: Uncertain::new(0.005, 0.0003),
            y_deg: Uncertain::new(0.01, 0.0004),
        };
        let lambda = 1.540593;
        let ss = SizeStrain::from_tch(
            Uncertain::new(0.025, 0.0004),
            Uncertain::new(0.06, 0.0003),
            Some(inst),
            lambda,
            BreadthConvention::default(),
        )
        .unwrap();
        let plain = SizeStrain::from_tch(
            Uncertain::new(0.02, 0.0005),
            Uncertain::new(0.05, 0.0005),
            None,
            lambda,
            BreadthConvention::default(),
        )
        .unwrap();
        // X − X_inst = 0.02 ± √(0.0004² + 0.0003²) = 0.0005; Y − Y_inst = 0.05 ± 0.0005.
        assert_relative_eq!(ss.strain.value, plain.strain.value, max_relative = 1e-12);
        assert_relative_eq!(
            ss.strain.esd.unwrap(),
            plain.strain.esd.unwrap(),
            max_relative = 1e-12
        );
        let (a, b) = (ss.size_angstrom.unwrap(), plain.size_angstrom.unwrap());
        assert_relative_eq!(a.value, b.value, max_relative = 1e-12);
        assert_relative_eq!(a.esd.unwrap(), b.esd.unwrap(), max_relative = 1e-12);
        // Instrument broader than the sample: no size, negative strain reported as is.
        let none = SizeStrain::from_tch(
            Uncertain::new(0.004, 0.001),
            Uncertain::new(0.009, 0.001),
            Some(inst),
            lambda,
            BreadthConvention::default(),
        )
        .unwrap();
        assert!(none.size_angstrom.is_none());
        assert!(none.strain.value < 0.0);
        assert!(SizeStrain::from_tch(
            Uncertain::exact(0.1),
            Uncertain::exact(0.1),
            None,
            0.0,
            BreadthConvention::default()
        )
        .is_err());
        let json = serde_json::to_value(plain).unwrap();
        assert_eq!(json["convention"]["kind"], "fwhm");
    }
}
