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
use crate::symmetry::SymOp;
use num_complex::Complex64;
use std::f64::consts::TAU;

/// One site prepared for fast structure-factor sums: its orbit and its scatterers.
#[derive(Debug, Clone)]
struct PreparedSite {
    position: [f64; 3],
    orbit: Vec<[f64; 3]>,
    scatterers: Vec<(FormFactor, f64)>,
    biso: f64,
}

/// A structural quantity |F|² can be differentiated with respect to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StructureParam {
    /// Occupancy of occupant `occupant` on site `site`.
    Occupancy {
        /// Site index.
        site: usize,
        /// Occupant index.
        occupant: usize,
    },
    /// B_iso of a site (Å²).
    Biso {
        /// Site index.
        site: usize,
    },
    /// Moving the site's representative position along `direction` (fractional coordinates
    /// per unit of the parameter; a special-position basis vector).
    Coordinate {
        /// Site index.
        site: usize,
        /// Direction of the move.
        direction: [f64; 3],
    },
}

/// A phase with its scattering factors looked up once for one probe: evaluates F(h) and |F|².
#[derive(Debug, Clone)]
pub struct StructureFactors {
    sites: Vec<PreparedSite>,
    operations: Vec<SymOp>,
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
            sites.push(PreparedSite {
                position: site.position,
                orbit,
                scatterers,
                biso: site.biso,
            });
        }
        let centrosymmetric = phase.space_group.is_centrosymmetric();
        Ok(StructureFactors {
            sites,
            operations: phase.space_group.operations().to_vec(),
            centrosymmetric,
        })
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

    /// |F|² of the family at s = sinθ/λ (Å⁻¹) and its derivatives with respect to `params`
    /// (written into `grad`, same length), from one pass: ∂|F|²/∂p = 2 Re(F* ∂F/∂p), with
    /// ∂F/∂occ_jk = G_j f_k T_j, ∂F/∂B_j = −s² G_j S_j T_j and, for a move u along direction b,
    /// ∂G_j/∂u = (1/n_j) Σ_ops 2πi (h·R b) exp(2πi h·(R x_j + t)) where n_j is the order of the
    /// site-symmetry group (|ops|/multiplicity), so that the sum over all operators equals the
    /// orbit sum. Averaged over Friedel mates as [`StructureFactors::f2`].
    pub fn f2_with_gradient(
        &self,
        reflection: &Reflection,
        params: &[StructureParam],
        grad: &mut [f64],
    ) -> f64 {
        grad.iter_mut().for_each(|g| *g = 0.0);
        let s = reflection.s();
        let hkl = reflection.hkl;
        let mut f2 = self.accumulate(hkl, s, params, grad, 1.0);
        if !self.centrosymmetric {
            let [h, k, l] = hkl;
            let mut g2 = vec![0.0; grad.len()];
            f2 = 0.5 * (f2 + self.accumulate([-h, -k, -l], s, params, &mut g2, 1.0));
            for (g, g2) in grad.iter_mut().zip(g2) {
                *g = 0.5 * (*g + g2);
            }
        }
        f2
    }

    /// ∂|F|²/∂s at fixed structure (s in Å⁻¹), by a central difference with step 10⁻⁶·s: the
    /// checked fallback for the weak dependence of form factors and Debye–Waller factors on the
    /// cell (tested against the analytic cell derivative of the whole pattern).
    pub fn df2_ds(&self, reflection: &Reflection) -> f64 {
        let s = reflection.s();
        let h = 1e-6 * s.max(1e-3);
        let at = |ss: f64| {
            let f = self.f(reflection.hkl, ss);
            if self.centrosymmetric {
                f.norm_sqr()
            } else {
                let [a, b, c] = reflection.hkl;
                0.5 * (f.norm_sqr() + self.f([-a, -b, -c], ss).norm_sqr())
            }
        };
        (at(s + h) - at(s - h)) / (2.0 * h)
    }

    /// |F(h)|² and, added into `grad` times `weight`, its derivatives (one Friedel member).
    fn accumulate(
        &self,
        hkl: [i32; 3],
        s: f64,
        params: &[StructureParam],
        grad: &mut [f64],
        weight: f64,
    ) -> f64 {
        let hv = [f64::from(hkl[0]), f64::from(hkl[1]), f64::from(hkl[2])];
        let s2 = s * s;
        let n_ops = self.operations.len() as f64;
        // Per-site pieces: geometric sum G, scattering S, Debye–Waller T.
        let mut pieces = Vec::with_capacity(self.sites.len());
        let mut total = Complex64::new(0.0, 0.0);
        for site in &self.sites {
            let mut g = Complex64::new(0.0, 0.0);
            for r in &site.orbit {
                let (sin, cos) = (TAU * (hv[0] * r[0] + hv[1] * r[1] + hv[2] * r[2])).sin_cos();
                g += Complex64::new(cos, sin);
            }
            let mut sc = Complex64::new(0.0, 0.0);
            for (ff, occ) in &site.scatterers {
                sc += ff.at(s) * *occ;
            }
            let t = (-site.biso * s2).exp();
            total += g * sc * t;
            pieces.push((g, sc, t));
        }
        let conj = total.conj();
        for (param, out) in params.iter().zip(grad.iter_mut()) {
            let df = match *param {
                StructureParam::Occupancy { site, occupant } => {
                    match (pieces.get(site), self.sites.get(site)) {
                        (Some(&(g, _, t)), Some(ps)) => ps
                            .scatterers
                            .get(occupant)
                            .map(|(ff, _)| g * ff.at(s) * t)
                            .unwrap_or_default(),
                        _ => Complex64::default(),
                    }
                }
                StructureParam::Biso { site } => match pieces.get(site) {
                    Some(&(g, sc, t)) => g * sc * t * (-s2),
                    None => Complex64::default(),
                },
                StructureParam::Coordinate { site, direction } => {
                    match (pieces.get(site), self.sites.get(site)) {
                        (Some(&(_, sc, t)), Some(ps)) => {
                            let n_stab = n_ops / ps.orbit.len().max(1) as f64;
                            let x = ps.position;
                            let mut dg = Complex64::new(0.0, 0.0);
                            for op in &self.operations {
                                let r = op.apply(x);
                                let (sin, cos) =
                                    (TAU * (hv[0] * r[0] + hv[1] * r[1] + hv[2] * r[2])).sin_cos();
                                let rb = [
                                    f64::from(op.rotation[0][0]) * direction[0]
                                        + f64::from(op.rotation[0][1]) * direction[1]
                                        + f64::from(op.rotation[0][2]) * direction[2],
                                    f64::from(op.rotation[1][0]) * direction[0]
                                        + f64::from(op.rotation[1][1]) * direction[1]
                                        + f64::from(op.rotation[1][2]) * direction[2],
                                    f64::from(op.rotation[2][0]) * direction[0]
                                        + f64::from(op.rotation[2][1]) * direction[1]
                                        + f64::from(op.rotation[2][2]) * direction[2],
                                ];
                                let hrb = TAU * (hv[0] * rb[0] + hv[1] * rb[1] + hv[2] * rb[2]);
                                // d/du exp(iφ) = i φ' exp(iφ)
                                dg += Complex64::new(-sin * hrb, cos * hrb);
                            }
                            dg / n_stab * sc * t
                        }
                        _ => Complex64::default(),
                    }
                }
            };
            *out += weight * 2.0 * (conj * df).re;
        }
        total.norm_sqr()
    }
}
