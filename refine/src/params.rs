//! Parameters with refine flags, bounds and esds, and linear equality constraints between
//! them, reduced to the independent variables the minimiser sees.
//!
//! Constraints are linear equalities Σ cᵢ pᵢ = const held at their starting value. They are
//! solved by Gauss–Jordan elimination: one parameter per constraint becomes dependent,
//! p_D = p⁰_D + E (p_I − p⁰_I), and the minimiser varies the independent p_I only. The
//! Jacobian is chained as J_I + J_D E and the covariance of all parameters is T C_I Tᵀ with
//! T = ∂p/∂p_I (Giacovazzo et al., *Fundamentals of Crystallography*, §5.x; the constraint
//! scheme of GSAS-II's "equivalences").

use crate::error::{Error, Result};
use crate::key::{ParamKey, PhaseItem};
use bragg_crystal::pattern::PatternModel;
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

/// One parameter: its key, value, esd after a fit, refine flag and optional bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    /// The key.
    pub key: ParamKey,
    /// Current value (units of the quantity: Å, degrees, Å², counts, …).
    pub value: f64,
    /// esd from the last fit that refined it.
    pub esd: Option<f64>,
    /// esd allowing for serially correlated residuals (AR(1) from the Durbin–Watson d,
    /// [`crate::covariance::Covariance::serial_corrected`]); ≥ `esd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub esd_serial: Option<f64>,
    /// Whether the fit varies it.
    pub refined: bool,
    /// Optional bounds [lo, hi]; a step beyond is stopped at the bound and reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounds: Option<(f64, f64)>,
}

/// A linear equality constraint among refined parameters, held at its starting value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Constraint {
    /// Σ cᵢ pᵢ = const.
    Linear {
        /// Terms (key, coefficient).
        terms: Vec<(ParamKey, f64)>,
    },
    /// The total occupancy of a site stays fixed (Σ over its species).
    SiteTotal {
        /// Phase name.
        phase: String,
        /// Site label.
        site: String,
    },
    /// A species moves between sites with the composition conserved: Σ_sites m_site·occ
    /// (m = site multiplicity) stays fixed, e.g. Ni migrating from octahedral 4a to
    /// tetrahedral 8c (B. Li et al., Nat. Mater. 21, 1165 (2022)).
    ConserveSpecies {
        /// Phase name.
        phase: String,
        /// Element symbol or species text.
        species: String,
        /// Site labels sharing the species.
        sites: Vec<String>,
    },
}

impl Constraint {
    /// The terms (key, coefficient) of the constraint in `model`, restricted to keys that
    /// exist (an occupancy key for each species on the site, multiplicities from symmetry).
    pub fn terms(&self, model: &PatternModel) -> Result<Vec<(ParamKey, f64)>> {
        let phase_of = |name: &str| {
            model
                .phases
                .iter()
                .find(|c| c.phase.name == name)
                .ok_or_else(|| Error::InvalidInput(format!("constraint: no phase '{name}'")))
        };
        match self {
            Constraint::Linear { terms } => Ok(terms.clone()),
            Constraint::SiteTotal { phase, site } => {
                let c = phase_of(phase)?;
                let s = c.phase.sites.iter().find(|s| s.label == *site).ok_or_else(|| {
                    Error::InvalidInput(format!("constraint: no site '{site}' in {phase}"))
                })?;
                Ok(s.occupants
                    .iter()
                    .map(|o| {
                        (
                            ParamKey::phase(
                                phase,
                                PhaseItem::Occupancy {
                                    site: site.clone(),
                                    species: o.species.element.symbol().to_string(),
                                },
                            ),
                            1.0,
                        )
                    })
                    .collect())
            }
            Constraint::ConserveSpecies { phase, species, sites } => {
                let c = phase_of(phase)?;
                let mut out = Vec::new();
                for label in sites {
                    let s = c.phase.sites.iter().find(|s| s.label == *label).ok_or_else(|| {
                        Error::InvalidInput(format!("constraint: no site '{label}' in {phase}"))
                    })?;
                    let m = c.phase.space_group.orbit(s.position).len() as f64;
                    out.push((
                        ParamKey::phase(
                            phase,
                            PhaseItem::Occupancy { site: label.clone(), species: species.clone() },
                        ),
                        m,
                    ));
                }
                Ok(out)
            }
        }
    }
}

/// The map from independent variables to all refined parameters: p = p⁰ + T (u − u⁰).
#[derive(Debug, Clone, PartialEq)]
pub struct Reduction {
    /// Indices (into the refined list) of the independent parameters, in order.
    pub independent: Vec<usize>,
    /// T = ∂p/∂u (n_refined × n_independent).
    pub t: DMatrix<f64>,
}

impl Reduction {
    /// Builds the reduction for `refined` keys under constraint rows (each a list of
    /// (index into `refined`, coefficient)). A constraint that involves no refined parameter is
    /// ignored; contradictory or redundant constraints are reported naming their keys.
    pub fn new(refined: &[ParamKey], rows: &[Vec<(usize, f64)>]) -> Result<Self> {
        let n = refined.len();
        let mut c = DMatrix::<f64>::zeros(rows.len(), n);
        for (r, row) in rows.iter().enumerate() {
            for &(i, coef) in row {
                c[(r, i)] += coef;
            }
        }
        // Gauss–Jordan with pivots chosen from the last columns, so that the parameters
        // listed first stay independent.
        let mut pivots: Vec<usize> = Vec::new();
        let mut r = 0;
        let mut used_rows = 0;
        while r < c.nrows() {
            let mut best: Option<(usize, f64)> = None;
            for j in (0..n).rev() {
                if pivots.contains(&j) {
                    continue;
                }
                let v = c[(r, j)].abs();
                if v > 1e-12 && best.is_none_or(|(_, b)| v > b * 1.000_001) {
                    best = Some((j, v));
                }
            }
            let Some((j, _)) = best else {
                let names: Vec<String> = rows[r]
                    .iter()
                    .filter_map(|(i, _)| refined.get(*i).map(|k| k.to_string()))
                    .collect();
                if names.is_empty() {
                    r += 1;
                    continue;
                }
                return Err(Error::InvalidInput(format!(
                    "constraint on {} repeats earlier constraints",
                    names.join(", ")
                )));
            };
            let p = c[(r, j)];
            for k in 0..n {
                c[(r, k)] /= p;
            }
            for rr in 0..c.nrows() {
                if rr != r {
                    let f = c[(rr, j)];
                    if f != 0.0 {
                        for k in 0..n {
                            c[(rr, k)] -= f * c[(r, k)];
                        }
                    }
                }
            }
            pivots.push(j);
            used_rows += 1;
            r += 1;
        }
        let _ = used_rows;
        let independent: Vec<usize> = (0..n).filter(|j| !pivots.contains(j)).collect();
        let mut t = DMatrix::<f64>::zeros(n, independent.len());
        for (col, &j) in independent.iter().enumerate() {
            t[(j, col)] = 1.0;
        }
        // Row r of the reduced C reads p_pivot + Σ_I c_rI p_I = const.
        for (row, &j) in pivots.iter().enumerate() {
            for (col, &i) in independent.iter().enumerate() {
                t[(j, col)] = -c[(row, i)];
            }
        }
        Ok(Reduction { independent, t })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_constraint_keeps_the_amount_of_ni() {
        // p0 = Ni on 4a (m = 4), p1 = Ni on 8c (m = 8): 4 p0 + 8 p1 = const.
        let keys: Vec<ParamKey> =
            ["X.M1.occ.Ni", "X.T1.occ.Ni"].iter().map(|k| k.parse().unwrap()).collect();
        let red = Reduction::new(&keys, &[vec![(0, 4.0), (1, 8.0)]]).unwrap();
        assert_eq!(red.independent, vec![0]);
        assert!((red.t[(0, 0)] - 1.0).abs() < 1e-15);
        assert!((red.t[(1, 0)] + 0.5).abs() < 1e-15); // moving 1 from 4a puts ½ on 8c
                                                      // No constraints: identity.
        let red = Reduction::new(&keys, &[]).unwrap();
        assert_eq!(red.t, DMatrix::identity(2, 2));
        // A repeated constraint is reported.
        let err = Reduction::new(&keys, &[vec![(0, 1.0), (1, 1.0)], vec![(0, 2.0), (1, 2.0)]])
            .unwrap_err();
        assert!(err.to_string().contains("repeats"), "{err}");
    }
}
