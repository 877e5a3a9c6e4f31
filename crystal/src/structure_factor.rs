//! Complex structure factors and |F|².
//!
//! F(h) = Σ_j Σ_{r∈orbit(j)} [Σ_k occ_jk · f_k(s)] · exp(−B_j s²) · exp(2πi h·r)
//! (International Tables Vol. C §6.1.1 and Vol. B §1.2), with s = sinθ/λ = 1/(2d) in Å⁻¹,
//! f_k = f0 + f′ + i f″ in electrons (X-rays) or b in fm (neutrons), B in Å². F is for the
//! conventional cell; |F|² is in electrons² (or fm²).
//!
//! For a powder the intensity of a family is the mean of |F|² over its members; without
//! anomalous scattering that equals |F(h)|² of any member, and with it (Friedel's law broken)
//! only Friedel mates can differ, so |F|² is averaged over h and −h in non-centrosymmetric groups.

use crate::error::Result;
use crate::reflection::Reflection;
use crate::scattering::{FormFactor, Probe};
use crate::structure::Phase;
use num_complex::Complex64;
use std::f64::consts::TAU;

/// One site prepared for fast structure-factor sums: its orbit and its scatterers.
#[derive(Debug, Clone)]
struct PreparedSite {
    orbit: Vec<[f64; 3]>,
    scatterers: Vec<(FormFactor, f64)>,
    biso: f64,
}

/// A phase with its scattering factors looked up once for one probe: evaluates F(h) and |F|².
#[derive(Debug, Clone)]
pub struct StructureFactors {
    sites: Vec<PreparedSite>,
    centrosymmetric: bool,
}

impl StructureFactors {
    /// Looks up every species of the phase in the tables of `probe` and expands every site.
    /// Fails if a species lacks scattering data.
    pub fn new(phase: &Phase, probe: Probe) -> Result<Self> {
        let orbits = phase.expanded_positions();
        let mut sites = Vec::with_capacity(phase.sites.len());
        for (site, orbit) in phase.sites.iter().zip(orbits) {
            let mut scatterers = Vec::with_capacity(site.occupants.len());
            for o in &site.occupants {
                scatterers.push((FormFactor::new(o.species, probe)?, o.occupancy));
            }
            sites.push(PreparedSite { orbit, scatterers, biso: site.biso });
        }
        let centrosymmetric = phase
            .space_group
            .operations()
            .iter()
            .any(|op| op.rotation == [[-1, 0, 0], [0, -1, 0], [0, 0, -1]]);
        Ok(StructureFactors { sites, centrosymmetric })
    }

    /// The complex structure factor F(hkl) at s = sinθ/λ (Å⁻¹).
    pub fn f(&self, hkl: [i32; 3], s: f64) -> Complex64 {
        let (h, k, l) = (f64::from(hkl[0]), f64::from(hkl[1]), f64::from(hkl[2]));
        let s2 = s * s;
        let mut total = Complex64::new(0.0, 0.0);
        for site in &self.sites {
            let mut geometric = Complex64::new(0.0, 0.0);
            for r in &site.orbit {
                let phase = TAU * (h * r[0] + k * r[1] + l * r[2]);
                let (sin, cos) = phase.sin_cos();
                geometric += Complex64::new(cos, sin);
            }
            let mut scattering = Complex64::new(0.0, 0.0);
            for (ff, occ) in &site.scatterers {
                scattering += ff.at(s) * *occ;
            }
            total += geometric * scattering * (-site.biso * s2).exp();
        }
        total
    }

    /// The powder |F|² of a reflection family (electrons² or fm²), averaged over Friedel mates
    /// where anomalous scattering could make them differ.
    pub fn f2(&self, reflection: &Reflection) -> f64 {
        let s = reflection.s();
        let f = self.f(reflection.hkl, s);
        if self.centrosymmetric {
            f.norm_sqr()
        } else {
            let [h, k, l] = reflection.hkl;
            0.5 * (f.norm_sqr() + self.f([-h, -k, -l], s).norm_sqr())
        }
    }
}
