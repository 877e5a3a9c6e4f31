//! The scalars of a [`PatternModel`] that can be read, written and differentiated: the
//! index-based handles the refinement's named parameter keys resolve to.
//!
//! Symmetry constraints are built in: a cell target is one of the crystal system's *free* cell
//! parameters (writing `a` of a cubic phase sets b and c too), and a coordinate target is one
//! free parameter of the site's special-position constraint (x of x,x,x moves all three).

use super::{Geometry, PatternModel};
use crate::error::{Error, Result};
use crate::symmetry::{CellParam, PositionConstraint};
use serde::{Deserialize, Serialize};

/// Tolerance (fractional coordinates) used to find a site's special-position constraint.
pub const SITE_TOLERANCE: f64 = 1e-4;

/// A profile parameter of the instrument (see [`crate::profile::ProfileParams`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProfileTerm {
    /// Caglioti U (deg²).
    U,
    /// Caglioti V (deg²).
    V,
    /// Caglioti W (deg²).
    W,
    /// Gaussian size term P (deg²).
    P,
    /// Lorentzian X (deg).
    X,
    /// Lorentzian Y (deg).
    Y,
    /// FCJ asymmetry (S + H)/L.
    Asym,
    /// Bérar–Baldinozzi P₁ (FullProf Asy1).
    Asy1,
    /// Bérar–Baldinozzi P₂ (FullProf Asy2).
    Asy2,
    /// Bérar–Baldinozzi P₃ (FullProf Asy3).
    Asy3,
    /// Bérar–Baldinozzi P₄ (FullProf Asy4).
    Asy4,
    /// Equatorial divergence α (degrees) of the flat-specimen aberration.
    Divergence,
}

impl ProfileTerm {
    /// All terms in the order U, V, W, P, X, Y, Asym, Asy1 … Asy4.
    pub const ALL: [ProfileTerm; 12] = [
        Self::U,
        Self::V,
        Self::W,
        Self::P,
        Self::X,
        Self::Y,
        Self::Asym,
        Self::Asy1,
        Self::Asy2,
        Self::Asy3,
        Self::Asy4,
        Self::Divergence,
    ];

    /// The Bérar–Baldinozzi index 0…3 of `Asy1`…`Asy4`.
    pub fn bb_index(self) -> Option<usize> {
        match self {
            Self::Asy1 => Some(0),
            Self::Asy2 => Some(1),
            Self::Asy3 => Some(2),
            Self::Asy4 => Some(3),
            _ => None,
        }
    }

    /// Conventional name: `U`, `V`, `W`, `P`, `X`, `Y`, `asym`, `asy1` … `asy4`, `divergence`.
    pub fn name(self) -> &'static str {
        match self {
            Self::U => "U",
            Self::V => "V",
            Self::W => "W",
            Self::P => "P",
            Self::X => "X",
            Self::Y => "Y",
            Self::Asym => "asym",
            Self::Asy1 => "asy1",
            Self::Asy2 => "asy2",
            Self::Asy3 => "asy3",
            Self::Asy4 => "asy4",
            Self::Divergence => "divergence",
        }
    }
}

/// One differentiable scalar of a pattern model, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Target {
    /// Phase scale factor.
    Scale {
        /// Phase index.
        phase: usize,
    },
    /// A free cell parameter of the phase's crystal system (Å or degrees).
    Cell {
        /// Phase index.
        phase: usize,
        /// The free parameter (tied ones follow).
        param: CellParam,
    },
    /// Occupancy of one species on one site.
    Occupancy {
        /// Phase index.
        phase: usize,
        /// Site index.
        site: usize,
        /// Occupant index on the site.
        occupant: usize,
    },
    /// B_iso of a site (Å²).
    Biso {
        /// Phase index.
        phase: usize,
        /// Site index.
        site: usize,
    },
    /// One free coordinate of a site along its special-position constraint.
    Coordinate {
        /// Phase index.
        phase: usize,
        /// Site index.
        site: usize,
        /// Index of the free parameter of the site's `PositionConstraint`.
        free: usize,
    },
    /// March–Dollase r of the phase.
    PreferredOrientation {
        /// Phase index.
        phase: usize,
    },
    /// Extracted intensity (|F|²-equivalent) of one reflection family (Le Bail / Pawley).
    Intensity {
        /// Phase index.
        phase: usize,
        /// Reflection index in the phase's fixed reflection list.
        reflection: usize,
    },
    /// Zero shift (degrees 2θ).
    Zero,
    /// Bragg–Brentano specimen displacement (µm).
    Displacement,
    /// The primary wavelength (Å); every component scales with it
    /// ([`crate::instrument::Radiation::set_primary_wavelength`]).
    Wavelength,
    /// The Kα2/Kα1 intensity ratio ([`crate::instrument::Radiation::set_kalpha2_ratio`]).
    Kalpha2Ratio,
    /// A profile parameter.
    Profile(ProfileTerm),
    /// Chebyshev background coefficient n.
    Background(usize),
}

impl PatternModel {
    fn phase_ref(&self, phase: usize) -> Result<&super::PhaseContribution> {
        self.phases
            .get(phase)
            .ok_or_else(|| Error::Model(format!("no phase #{phase} in the model")))
    }

    /// The special-position constraint of a site.
    pub fn position_constraint(&self, phase: usize, site: usize) -> Result<PositionConstraint> {
        let p = &self.phase_ref(phase)?.phase;
        let s = p
            .sites
            .get(site)
            .ok_or_else(|| Error::Model(format!("phase {}: no site #{site}", p.name)))?;
        Ok(p.space_group.position_constraint(s.position, SITE_TOLERANCE))
    }

    /// The current value of a target.
    pub fn get(&self, target: Target) -> Result<f64> {
        match target {
            Target::Scale { phase } => Ok(self.phase_ref(phase)?.scale),
            Target::Cell { phase, param } => {
                let c = &self.phase_ref(phase)?.phase.cell;
                Ok([c.a, c.b, c.c, c.alpha_deg, c.beta_deg, c.gamma_deg][param.index()])
            }
            Target::Occupancy { phase, site, occupant } => {
                let p = &self.phase_ref(phase)?.phase;
                p.sites
                    .get(site)
                    .and_then(|s| s.occupants.get(occupant))
                    .map(|o| o.occupancy)
                    .ok_or_else(|| {
                        Error::Model(format!(
                            "phase {}: no occupant #{occupant} on site #{site}",
                            p.name
                        ))
                    })
            }
            Target::Biso { phase, site } => {
                let p = &self.phase_ref(phase)?.phase;
                p.sites
                    .get(site)
                    .map(|s| s.biso)
                    .ok_or_else(|| Error::Model(format!("phase {}: no site #{site}", p.name)))
            }
            Target::Coordinate { phase, site, free } => {
                let constraint = self.position_constraint(phase, site)?;
                let x = self.phase_ref(phase)?.phase.sites[site].position;
                constraint.free_params(x).get(free).copied().ok_or_else(|| {
                    Error::Model(format!("site #{site} has no free coordinate #{free}"))
                })
            }
            Target::PreferredOrientation { phase } => {
                self.phase_ref(phase)?.preferred_orientation.map(|po| po.r).ok_or_else(|| {
                    Error::Model(format!("phase #{phase} has no preferred orientation"))
                })
            }
            Target::Intensity { phase, reflection } => {
                let c = self.phase_ref(phase)?;
                c.extracted_intensities
                    .as_ref()
                    .and_then(|v| v.get(reflection).copied())
                    .ok_or_else(|| {
                        Error::Model(format!(
                            "phase {}: no extracted intensity #{reflection}",
                            c.phase.name
                        ))
                    })
            }
            Target::Zero => Ok(self.instrument.zero_deg),
            Target::Wavelength => Ok(self.instrument.radiation.primary_wavelength_angstrom()),
            Target::Kalpha2Ratio => self.instrument.radiation.kalpha2_ratio_or_err(),
            Target::Displacement => match self.instrument.geometry {
                Geometry::BraggBrentano { displacement_um, .. } => Ok(displacement_um),
                Geometry::DebyeScherrer { .. } => {
                    Err(Error::Model("specimen displacement needs Bragg–Brentano geometry".into()))
                }
            },
            Target::Profile(t) => {
                let p = &self.instrument.profile;
                Ok(match t {
                    ProfileTerm::U => p.u,
                    ProfileTerm::V => p.v,
                    ProfileTerm::W => p.w,
                    ProfileTerm::P => p.p,
                    ProfileTerm::X => p.x,
                    ProfileTerm::Y => p.y,
                    ProfileTerm::Asym => p.asym,
                    ProfileTerm::Asy1 => p.bb[0],
                    ProfileTerm::Asy2 => p.bb[1],
                    ProfileTerm::Asy3 => p.bb[2],
                    ProfileTerm::Asy4 => p.bb[3],
                    ProfileTerm::Divergence => p.divergence_deg,
                })
            }
            Target::Background(n) => self
                .background
                .coeffs()
                .get(n)
                .copied()
                .ok_or_else(|| Error::Model(format!("no background coefficient #{n}"))),
        }
    }

    /// Sets a target, applying the symmetry constraints (tied cell parameters, special
    /// positions). Values are not range-checked here: [`PatternModel`] evaluation validates.
    pub fn set(&mut self, target: Target, value: f64) -> Result<()> {
        if !value.is_finite() {
            return Err(Error::InvalidValue {
                name: format!("{target:?}"),
                value,
                reason: "must be finite",
            });
        }
        match target {
            Target::Scale { phase } => self.phase_mut(phase)?.scale = value,
            Target::Cell { phase, param } => {
                let c = self.phase_mut(phase)?;
                let constraint = c.phase.space_group.cell_constraint();
                let mut free = constraint.free_values(&c.phase.cell);
                let idx =
                    constraint.free_params().iter().position(|p| *p == param).ok_or_else(|| {
                        Error::Model(format!(
                            "cell parameter {} is not free in {}",
                            param.name(),
                            c.phase.space_group.symbol()
                        ))
                    })?;
                free[idx] = value;
                c.phase.cell = constraint.apply(&free)?;
            }
            Target::Occupancy { phase, site, occupant } => {
                let c = self.phase_mut(phase)?;
                let o = c
                    .phase
                    .sites
                    .get_mut(site)
                    .and_then(|s| s.occupants.get_mut(occupant))
                    .ok_or_else(|| {
                        Error::Model(format!("no occupant #{occupant} on site #{site}"))
                    })?;
                o.occupancy = value;
            }
            Target::Biso { phase, site } => {
                let c = self.phase_mut(phase)?;
                c.phase
                    .sites
                    .get_mut(site)
                    .ok_or_else(|| Error::Model(format!("no site #{site}")))?
                    .biso = value;
            }
            Target::Coordinate { phase, site, free } => {
                let constraint = self.position_constraint(phase, site)?;
                let c = self.phase_mut(phase)?;
                let s = c
                    .phase
                    .sites
                    .get_mut(site)
                    .ok_or_else(|| Error::Model(format!("no site #{site}")))?;
                let mut params = constraint.free_params(s.position);
                let slot = params.get_mut(free).ok_or_else(|| {
                    Error::Model(format!("site #{site} has no free coordinate #{free}"))
                })?;
                *slot = value;
                s.position = constraint.apply(&params)?;
            }
            Target::PreferredOrientation { phase } => {
                let c = self.phase_mut(phase)?;
                c.preferred_orientation
                    .as_mut()
                    .ok_or_else(|| {
                        Error::Model(format!("phase #{phase} has no preferred orientation"))
                    })?
                    .r = value;
            }
            Target::Intensity { phase, reflection } => {
                let c = self.phase_mut(phase)?;
                let slot = c
                    .extracted_intensities
                    .as_mut()
                    .and_then(|v| v.get_mut(reflection))
                    .ok_or_else(|| Error::Model(format!("no extracted intensity #{reflection}")))?;
                *slot = value;
            }
            Target::Zero => self.instrument.zero_deg = value,
            Target::Wavelength => self.instrument.radiation.set_primary_wavelength(value)?,
            Target::Kalpha2Ratio => self.instrument.radiation.set_kalpha2_ratio(value)?,
            Target::Displacement => match &mut self.instrument.geometry {
                Geometry::BraggBrentano { displacement_um, .. } => *displacement_um = value,
                Geometry::DebyeScherrer { .. } => {
                    return Err(Error::Model(
                        "specimen displacement needs Bragg–Brentano geometry".into(),
                    ))
                }
            },
            Target::Profile(t) => {
                let p = &mut self.instrument.profile;
                match t {
                    ProfileTerm::U => p.u = value,
                    ProfileTerm::V => p.v = value,
                    ProfileTerm::W => p.w = value,
                    ProfileTerm::P => p.p = value,
                    ProfileTerm::X => p.x = value,
                    ProfileTerm::Y => p.y = value,
                    ProfileTerm::Asym => p.asym = value,
                    ProfileTerm::Asy1 => p.bb[0] = value,
                    ProfileTerm::Asy2 => p.bb[1] = value,
                    ProfileTerm::Asy3 => p.bb[2] = value,
                    ProfileTerm::Asy4 => p.bb[3] = value,
                    ProfileTerm::Divergence => p.divergence_deg = value,
                }
            }
            Target::Background(n) => {
                let slot = self
                    .background
                    .coeffs_mut()
                    .get_mut(n)
                    .ok_or_else(|| Error::Model(format!("no background coefficient #{n}")))?;
                *slot = value;
            }
        }
        Ok(())
    }

    fn phase_mut(&mut self, phase: usize) -> Result<&mut super::PhaseContribution> {
        self.phases
            .get_mut(phase)
            .ok_or_else(|| Error::Model(format!("no phase #{phase} in the model")))
    }
}
