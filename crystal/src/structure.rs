//! The crystal structure of one phase: cell, space group and sites with mixed occupancy.
//!
//! Composition, cell mass and X-ray (crystallographic) density follow from the model:
//! ρ = Σ_j m_j·occ_j·M_j / (N_A·V) (ITC Vol. C §4.4 / Giacovazzo eq. 2.x), M in g/mol, V in Å³,
//! ρ in g/cm³. Vacancies are implicit: a site whose occupancies sum below 1 is partly empty.

use crate::cell::Cell;
use crate::element::{Element, Species};
use crate::error::{Error, Result};
use crate::symmetry::SpaceGroup;
use crate::units::{ANGSTROM3_IN_CM3, AVOGADRO};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Tolerance on a site's total occupancy above 1 (rounding in published tables, e.g.
/// 0.585 + 0.29 + 0.125 = 1.000 written with three decimals).
pub const OCCUPANCY_TOLERANCE: f64 = 1e-6;

/// One species on a site with its fractional occupancy (0 ≤ occ ≤ 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Occupant {
    /// What sits there.
    pub species: Species,
    /// Fraction of the site it fills.
    pub occupancy: f64,
}

/// A crystallographic site: an asymmetric-unit position shared by one or more species.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    /// Label, unique within the phase (e.g. `M1`, `O1`).
    pub label: String,
    /// Fractional coordinates of the representative position.
    pub position: [f64; 3],
    /// Species sharing the site.
    pub occupants: Vec<Occupant>,
    /// Isotropic displacement parameter B_iso in Å² (B = 8π² U_iso).
    pub biso: f64,
    /// The Wyckoff letter the site was placed by, if any.
    pub wyckoff: Option<char>,
}

impl Site {
    /// A site at explicit fractional coordinates.
    pub fn new(
        label: impl Into<String>,
        position: [f64; 3],
        occupants: Vec<Occupant>,
        biso: f64,
    ) -> Self {
        Site { label: label.into(), position, occupants, biso, wyckoff: None }
    }

    /// A site placed by Wyckoff letter; `free` gives the free coordinates (x, y, z) that the
    /// position's representative uses (ignored where the position fixes them).
    pub fn at_wyckoff(
        label: impl Into<String>,
        group: &SpaceGroup,
        letter: char,
        free: [f64; 3],
        occupants: Vec<Occupant>,
        biso: f64,
    ) -> Result<Self> {
        let w = group.wyckoff(letter)?;
        Ok(Site {
            label: label.into(),
            position: w.position(free),
            occupants,
            biso,
            wyckoff: Some(letter),
        })
    }

    /// Sum of the occupancies on the site.
    pub fn total_occupancy(&self) -> f64 {
        self.occupants.iter().map(|o| o.occupancy).sum()
    }
}

/// A phase: a named crystal structure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// Name used in parameter keys (`LTNO.cell.a`) and outputs.
    pub name: String,
    /// Unit cell.
    pub cell: Cell,
    /// Space group (with its setting).
    pub space_group: SpaceGroup,
    /// Asymmetric-unit sites.
    pub sites: Vec<Site>,
    /// Formula units per cell, when known (from the CIF or model); see [`Phase::formula_units`].
    pub z: Option<f64>,
}

impl Phase {
    /// A validated phase: see [`Phase::validate`].
    pub fn new(
        name: impl Into<String>,
        cell: Cell,
        space_group: SpaceGroup,
        sites: Vec<Site>,
    ) -> Result<Self> {
        let phase = Phase { name: name.into(), cell, space_group, sites, z: None };
        phase.validate()?;
        Ok(phase)
    }

    /// Checks what a model must satisfy: finite coordinates, occupancies in [0, 1] summing to at
    /// most 1 per site, finite non-negative B_iso, unique labels, a cell consistent with the
    /// space group's crystal system.
    pub fn validate(&self) -> Result<()> {
        self.space_group.check_cell(&self.cell)?;
        let mut labels = std::collections::BTreeSet::new();
        for site in &self.sites {
            if !labels.insert(site.label.as_str()) {
                return Err(Error::Model(format!(
                    "phase {}: site label '{}' used twice",
                    self.name, site.label
                )));
            }
            if site.position.iter().any(|v| !v.is_finite()) {
                return Err(Error::InvalidValue {
                    name: format!("{}.{}.xyz", self.name, site.label),
                    value: site
                        .position
                        .iter()
                        .copied()
                        .find(|v| !v.is_finite())
                        .unwrap_or(f64::NAN),
                    reason: "coordinates must be finite",
                });
            }
            if !(site.biso.is_finite() && site.biso >= 0.0) {
                return Err(Error::InvalidValue {
                    name: format!("{}.{}.biso", self.name, site.label),
                    value: site.biso,
                    reason: "B_iso must be finite and non-negative (Å²)",
                });
            }
            if site.occupants.is_empty() {
                return Err(Error::Model(format!(
                    "phase {}: site '{}' has no species",
                    self.name, site.label
                )));
            }
            for o in &site.occupants {
                if !(o.occupancy.is_finite()
                    && (0.0..=1.0 + OCCUPANCY_TOLERANCE).contains(&o.occupancy))
                {
                    return Err(Error::InvalidValue {
                        name: format!("{}.{}.occ.{}", self.name, site.label, o.species),
                        value: o.occupancy,
                        reason: "occupancy must lie in [0, 1]",
                    });
                }
            }
            let total = site.total_occupancy();
            if total > 1.0 + OCCUPANCY_TOLERANCE {
                return Err(Error::OccupancyExceedsOne { site: site.label.clone(), total });
            }
        }
        Ok(())
    }

    /// Each site's symmetry-equivalent positions in the conventional cell (its orbit);
    /// the orbit length is the site multiplicity.
    pub fn expanded_positions(&self) -> Vec<Vec<[f64; 3]>> {
        self.sites.iter().map(|s| self.space_group.orbit(s.position)).collect()
    }

    /// Number of atoms of each element in the conventional cell, Σ over sites of
    /// multiplicity × occupancy.
    pub fn cell_contents(&self) -> BTreeMap<Element, f64> {
        let mut out = BTreeMap::new();
        for (site, orbit) in self.sites.iter().zip(self.expanded_positions()) {
            let m = orbit.len() as f64;
            for o in &site.occupants {
                *out.entry(o.species.element).or_insert(0.0) += m * o.occupancy;
            }
        }
        out
    }

    /// Mass of the cell contents in g/mol (IUPAC standard atomic weights).
    pub fn cell_mass(&self) -> Result<f64> {
        let mut total = 0.0;
        for (element, count) in self.cell_contents() {
            total += count * element.atomic_mass()?;
        }
        Ok(total)
    }

    /// X-ray (crystallographic) density ρ = M_cell/(N_A·V) in g/cm³, with M_cell in g/mol and
    /// V in Å³ (1 Å³ = 10⁻²⁴ cm³).
    pub fn density(&self) -> Result<f64> {
        Ok(self.cell_mass()? / (AVOGADRO * self.cell.volume() * ANGSTROM3_IN_CM3))
    }

    /// Formula units per cell: the stated Z if any, else the greatest common divisor of the
    /// site multiplicities (the convention of most structure databases for a formula written per
    /// asymmetric unit, e.g. 4 for rock salt with 4a/4b).
    pub fn formula_units(&self) -> f64 {
        if let Some(z) = self.z {
            return z;
        }
        let g = self.expanded_positions().iter().map(Vec::len).fold(0usize, gcd);
        g.max(1) as f64
    }

    /// Molar mass per formula unit, g/mol: M_cell / Z.
    pub fn molar_mass(&self) -> Result<f64> {
        Ok(self.cell_mass()? / self.formula_units())
    }

    /// The chemical formula per formula unit, elements in Hill order, amounts to 4 decimals
    /// with trailing zeros dropped (e.g. `Li1.17Ni0.25O2Ti0.58` for Z = 2).
    pub fn formula(&self) -> String {
        let z = self.formula_units();
        let contents = self.cell_contents();
        let mut elements: Vec<Element> = contents.keys().copied().collect();
        let has_c = elements.iter().any(|e| e.symbol() == "C");
        elements.sort_by_key(|e| {
            let s = e.symbol();
            let rank = if has_c && s == "C" {
                0
            } else if has_c && s == "H" {
                1
            } else {
                2
            };
            (rank, s)
        });
        let mut out = String::new();
        for e in elements {
            let n = contents.get(&e).copied().unwrap_or(0.0) / z;
            if n <= 0.0 {
                continue;
            }
            out.push_str(e.symbol());
            if (n - 1.0).abs() > 5e-5 {
                let text = format!("{n:.4}");
                out.push_str(text.trim_end_matches('0').trim_end_matches('.'));
            }
        }
        out
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}
