//! Typed parameter keys: every refinable number of a model, addressed by a key that prints
//! and parses as text (`LTNO.cell.a`, `LTNO.M1.occ.Ni`, `LTNO.O1.x`, `inst.zero`, `inst.U`,
//! `bkg.3`, `LTNO.po`, `LTNO.I.2,0,0`), and resolved against a model to the crystal engine's
//! index-based [`Target`].

use crate::error::{Error, Result};
use bragg_crystal::pattern::{PatternModel, ProfileTerm, Target};
use bragg_crystal::symmetry::CellParam;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What of a phase a key addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PhaseItem {
    /// Phase scale factor.
    Scale,
    /// A cell parameter (only the crystal system's free ones resolve).
    Cell(CellIndex),
    /// Occupancy of a species (element symbol or species text such as `Ni2+`) on a site.
    Occupancy {
        /// Site label.
        site: String,
        /// Species as written in the key.
        species: String,
    },
    /// B_iso of a site (Å²).
    Biso {
        /// Site label.
        site: String,
    },
    /// A fractional coordinate of a site (`x`, `y` or `z`), free under its site symmetry.
    Coordinate {
        /// Site label.
        site: String,
        /// 0 = x, 1 = y, 2 = z.
        axis: usize,
    },
    /// March–Dollase r.
    PreferredOrientation,
    /// Extracted intensity of reflection hkl (Le Bail / Pawley).
    Intensity([i32; 3]),
}

/// A cell parameter by index 0–5 (a, b, c, α, β, γ), orderable for sorting keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellIndex(pub usize);

impl CellIndex {
    /// The crystal crate's cell parameter.
    pub fn param(self) -> CellParam {
        CellParam::ALL[self.0.min(5)]
    }
}

/// What of the instrument a key addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstItem {
    /// Zero shift (degrees 2θ).
    Zero,
    /// Specimen displacement (µm).
    Displacement,
    /// Primary wavelength (Å), all components scaled with it.
    Wavelength,
    /// Kα2/Kα1 intensity ratio.
    Kalpha2Ratio,
    /// A profile term (U, V, W, P, X, Y, asym).
    Profile(ProfileIndex),
}

/// A profile term by index into [`ProfileTerm::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProfileIndex(pub usize);

impl ProfileIndex {
    /// The crystal crate's profile term.
    pub fn term(self) -> ProfileTerm {
        ProfileTerm::ALL[self.0.min(ProfileTerm::ALL.len() - 1)]
    }
    /// The index of `term`.
    pub fn of(term: ProfileTerm) -> Self {
        ProfileIndex(ProfileTerm::ALL.iter().position(|t| *t == term).unwrap_or(0))
    }
}

/// A parameter key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ParamKey {
    /// A phase quantity.
    Phase {
        /// Phase name.
        phase: String,
        /// What of it.
        item: PhaseItem,
    },
    /// An instrument quantity.
    Inst(InstItem),
    /// Chebyshev background coefficient n.
    Background(usize),
}

const AXES: [&str; 3] = ["x", "y", "z"];

impl fmt::Display for ParamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamKey::Phase { phase, item } => match item {
                PhaseItem::Scale => write!(f, "{phase}.scale"),
                PhaseItem::Cell(c) => write!(f, "{phase}.cell.{}", c.param().name()),
                PhaseItem::Occupancy { site, species } => write!(f, "{phase}.{site}.occ.{species}"),
                PhaseItem::Biso { site } => write!(f, "{phase}.{site}.biso"),
                PhaseItem::Coordinate { site, axis } => {
                    write!(f, "{phase}.{site}.{}", AXES[(*axis).min(2)])
                }
                PhaseItem::PreferredOrientation => write!(f, "{phase}.po"),
                PhaseItem::Intensity([h, k, l]) => write!(f, "{phase}.I.{h},{k},{l}"),
            },
            ParamKey::Inst(InstItem::Zero) => write!(f, "inst.zero"),
            ParamKey::Inst(InstItem::Displacement) => write!(f, "inst.displacement"),
            ParamKey::Inst(InstItem::Wavelength) => write!(f, "inst.wavelength"),
            ParamKey::Inst(InstItem::Kalpha2Ratio) => write!(f, "inst.kalpha2_ratio"),
            ParamKey::Inst(InstItem::Profile(p)) => write!(f, "inst.{}", p.term().name()),
            ParamKey::Background(n) => write!(f, "bkg.{n}"),
        }
    }
}

impl Serialize for ParamKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ParamKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

fn bad(text: &str, why: &str) -> Error {
    Error::InvalidInput(format!("parameter key '{text}': {why}"))
}

impl FromStr for ParamKey {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let parts: Vec<&str> = text.trim().splitn(4, '.').collect();
        match parts.as_slice() {
            ["inst", "zero"] => Ok(ParamKey::Inst(InstItem::Zero)),
            ["inst", "displacement"] => Ok(ParamKey::Inst(InstItem::Displacement)),
            ["inst", "wavelength"] => Ok(ParamKey::Inst(InstItem::Wavelength)),
            ["inst", "kalpha2_ratio"] => Ok(ParamKey::Inst(InstItem::Kalpha2Ratio)),
            ["inst", term] => ProfileTerm::ALL
                .iter()
                .find(|t| t.name().eq_ignore_ascii_case(term))
                .map(|t| ParamKey::Inst(InstItem::Profile(ProfileIndex::of(*t))))
                .ok_or_else(|| bad(text, "instrument keys are inst.zero, inst.displacement, inst.wavelength, inst.kalpha2_ratio, inst.U … inst.Y, inst.P, inst.asym, inst.asy1 … inst.asy4, inst.divergence")),
            ["bkg", n] => n.parse().map(ParamKey::Background).map_err(|_| bad(text, "background keys are bkg.0, bkg.1, …")),
            [phase, rest @ ..] if !phase.is_empty() => {
                let phase = phase.to_string();
                let item = match rest {
                    ["scale"] => PhaseItem::Scale,
                    ["po"] => PhaseItem::PreferredOrientation,
                    ["cell", p] => {
                        let i = CellParam::ALL
                            .iter()
                            .position(|c| c.name() == *p)
                            .ok_or_else(|| bad(text, "cell keys are cell.a, cell.b, cell.c, cell.alpha, cell.beta, cell.gamma"))?;
                        PhaseItem::Cell(CellIndex(i))
                    }
                    ["I", hkl] => {
                        let v: Vec<i32> = hkl.split(',').map(|x| x.trim().parse::<i32>()).collect::<std::result::Result<_, _>>().map_err(|_| bad(text, "intensity keys are PHASE.I.h,k,l"))?;
                        match v.as_slice() {
                            [h, k, l] => PhaseItem::Intensity([*h, *k, *l]),
                            _ => return Err(bad(text, "intensity keys are PHASE.I.h,k,l")),
                        }
                    }
                    [site, "occ", species] => PhaseItem::Occupancy { site: site.to_string(), species: species.to_string() },
                    [site, "biso"] => PhaseItem::Biso { site: site.to_string() },
                    [site, axis] if AXES.contains(axis) => {
                        PhaseItem::Coordinate { site: site.to_string(), axis: AXES.iter().position(|a| a == axis).unwrap_or(0) }
                    }
                    _ => return Err(bad(text, "expected PHASE.scale, PHASE.cell.a, PHASE.SITE.occ.EL, PHASE.SITE.biso, PHASE.SITE.x|y|z, PHASE.po or PHASE.I.h,k,l")),
                };
                Ok(ParamKey::Phase { phase, item })
            }
            _ => Err(bad(text, "empty")),
        }
    }
}

impl ParamKey {
    /// The key of an instrument profile term (`inst.U`, `inst.asym`, `inst.asy1`, …).
    pub fn profile(term: ProfileTerm) -> Self {
        ParamKey::Inst(InstItem::Profile(ProfileIndex::of(term)))
    }

    /// Shorthand for a phase key.
    pub fn phase(phase: &str, item: PhaseItem) -> Self {
        ParamKey::Phase { phase: phase.to_string(), item }
    }

    /// The engine target this key addresses in `model`; errors name the key and what is
    /// missing (unknown phase or site, a cell parameter tied by symmetry, a coordinate fixed by
    /// a special position). `reflections(phase)` gives a phase's fixed hkl list for intensity
    /// keys.
    pub fn resolve(
        &self,
        model: &PatternModel,
        reflections: &dyn Fn(usize) -> Vec<[i32; 3]>,
    ) -> Result<Target> {
        let unknown = |why: String| Error::InvalidInput(format!("parameter {self}: {why}"));
        match self {
            ParamKey::Inst(InstItem::Zero) => Ok(Target::Zero),
            ParamKey::Inst(InstItem::Displacement) => {
                model.get(Target::Displacement).map_err(|e| unknown(e.to_string()))?;
                Ok(Target::Displacement)
            }
            ParamKey::Inst(InstItem::Wavelength) => Ok(Target::Wavelength),
            ParamKey::Inst(InstItem::Kalpha2Ratio) => {
                model.get(Target::Kalpha2Ratio).map_err(|e| unknown(e.to_string()))?;
                Ok(Target::Kalpha2Ratio)
            }
            ParamKey::Inst(InstItem::Profile(p)) => Ok(Target::Profile(p.term())),
            ParamKey::Background(n) => {
                if *n < model.background.len() {
                    Ok(Target::Background(*n))
                } else {
                    Err(unknown(format!(
                        "the background has {} coefficients",
                        model.background.len()
                    )))
                }
            }
            ParamKey::Phase { phase, item } => {
                let p =
                    model.phases.iter().position(|c| c.phase.name == *phase).ok_or_else(|| {
                        unknown(format!(
                            "no phase '{phase}' (phases: {})",
                            model
                                .phases
                                .iter()
                                .map(|c| c.phase.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                let ph = &model.phases[p].phase;
                let site_index = |label: &str| {
                    ph.sites.iter().position(|s| s.label == label).ok_or_else(|| {
                        unknown(format!(
                            "no site '{label}' in {phase} (sites: {})",
                            ph.sites
                                .iter()
                                .map(|s| s.label.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })
                };
                match item {
                    PhaseItem::Scale => Ok(Target::Scale { phase: p }),
                    PhaseItem::Cell(c) => {
                        let param = c.param();
                        if ph.space_group.cell_constraint().free_params().contains(&param) {
                            Ok(Target::Cell { phase: p, param })
                        } else {
                            Err(unknown(format!(
                                "{} is fixed or tied by the {:?} system of {}",
                                param.name(),
                                ph.space_group.crystal_system(),
                                ph.space_group.symbol()
                            )))
                        }
                    }
                    PhaseItem::Occupancy { site, species } => {
                        let s = site_index(site)?;
                        let occ = ph.sites[s]
                            .occupants
                            .iter()
                            .position(|o| {
                                o.species.to_string() == *species
                                    || o.species.element.symbol() == species
                            })
                            .ok_or_else(|| unknown(format!("no {species} on site {site}")))?;
                        Ok(Target::Occupancy { phase: p, site: s, occupant: occ })
                    }
                    PhaseItem::Biso { site } => {
                        Ok(Target::Biso { phase: p, site: site_index(site)? })
                    }
                    PhaseItem::Coordinate { site, axis } => {
                        let s = site_index(site)?;
                        let c = model.position_constraint(p, s)?;
                        let free = c.pivots().iter().position(|k| k == axis).ok_or_else(|| {
                            unknown(format!(
                                "{} of {site} is fixed or tied by its site symmetry",
                                AXES[(*axis).min(2)]
                            ))
                        })?;
                        Ok(Target::Coordinate { phase: p, site: s, free })
                    }
                    PhaseItem::PreferredOrientation => {
                        model
                            .get(Target::PreferredOrientation { phase: p })
                            .map_err(|e| unknown(e.to_string()))?;
                        Ok(Target::PreferredOrientation { phase: p })
                    }
                    PhaseItem::Intensity(hkl) => {
                        let list = reflections(p);
                        let k = list
                            .iter()
                            .position(|x| x == hkl)
                            .ok_or_else(|| unknown(format!("no reflection {hkl:?} in the list")))?;
                        Ok(Target::Intensity { phase: p, reflection: k })
                    }
                }
            }
        }
    }

    /// Every key of a model that can be refined (free cell parameters, free coordinates, every
    /// occupancy and B_iso, scales, zero, displacement where the geometry has one, profile
    /// terms, background coefficients, texture), in a stable order.
    pub fn all_for(model: &PatternModel) -> Vec<ParamKey> {
        let mut out = Vec::new();
        for (p, c) in model.phases.iter().enumerate() {
            let name = &c.phase.name;
            out.push(ParamKey::phase(name, PhaseItem::Scale));
            for param in c.phase.space_group.cell_constraint().free_params() {
                out.push(ParamKey::phase(name, PhaseItem::Cell(CellIndex(param.index()))));
            }
            for (s, site) in c.phase.sites.iter().enumerate() {
                if let Ok(pc) = model.position_constraint(p, s) {
                    for &axis in pc.pivots() {
                        out.push(ParamKey::phase(
                            name,
                            PhaseItem::Coordinate { site: site.label.clone(), axis },
                        ));
                    }
                }
                for o in &site.occupants {
                    out.push(ParamKey::phase(
                        name,
                        PhaseItem::Occupancy {
                            site: site.label.clone(),
                            species: o.species.element.symbol().to_string(),
                        },
                    ));
                }
                out.push(ParamKey::phase(name, PhaseItem::Biso { site: site.label.clone() }));
            }
            if c.preferred_orientation.is_some() {
                out.push(ParamKey::phase(name, PhaseItem::PreferredOrientation));
            }
        }
        out.push(ParamKey::Inst(InstItem::Zero));
        if model.get(Target::Displacement).is_ok() {
            out.push(ParamKey::Inst(InstItem::Displacement));
        }
        out.push(ParamKey::Inst(InstItem::Wavelength));
        if model.get(Target::Kalpha2Ratio).is_ok() {
            out.push(ParamKey::Inst(InstItem::Kalpha2Ratio));
        }
        for t in ProfileTerm::ALL {
            out.push(ParamKey::Inst(InstItem::Profile(ProfileIndex::of(t))));
        }
        for n in 0..model.background.len() {
            out.push(ParamKey::Background(n));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bragg_crystal::examples::ltno_synchrotron_model;

    #[test]
    fn keys_print_and_parse_back() {
        for text in [
            "LTNO.scale",
            "LTNO.cell.a",
            "LTNO.M1.occ.Ni",
            "LTNO.M1.biso",
            "LTNO.O1.x",
            "inst.zero",
            "inst.displacement",
            "inst.wavelength",
            "inst.kalpha2_ratio",
            "inst.U",
            "inst.Y",
            "inst.asym",
            "inst.asy3",
            "bkg.0",
            "bkg.11",
            "LTNO.po",
            "LTNO.I.2,0,0",
            "LTNO.I.-1,1,3",
        ] {
            let key: ParamKey = text.parse().unwrap();
            assert_eq!(key.to_string(), text);
        }
        for bad in ["", "inst.Q", "bkg.x", "LTNO.cell.q", "LTNO.M1.occ", "LTNO.I.1,2", "LTNO.M1.w"]
        {
            assert!(bad.parse::<ParamKey>().is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_resolve_with_symmetry_and_name_what_is_wrong() {
        let model = ltno_synchrotron_model().unwrap();
        let none = |_p: usize| Vec::new();
        let t = "LTNO.cell.a".parse::<ParamKey>().unwrap().resolve(&model, &none).unwrap();
        assert_eq!(t, Target::Cell { phase: 0, param: CellParam::A });
        let err = "LTNO.cell.b".parse::<ParamKey>().unwrap().resolve(&model, &none).unwrap_err();
        assert!(err.to_string().contains("tied"), "{err}");
        let err = "LTNO.O1.x".parse::<ParamKey>().unwrap().resolve(&model, &none).unwrap_err();
        assert!(err.to_string().contains("site symmetry"), "{err}");
        let err = "LTNO.M9.biso".parse::<ParamKey>().unwrap().resolve(&model, &none).unwrap_err();
        assert!(err.to_string().contains("M9"), "{err}");
        let t = "LTNO.M1.occ.Ni".parse::<ParamKey>().unwrap().resolve(&model, &none).unwrap();
        assert_eq!(t, Target::Occupancy { phase: 0, site: 0, occupant: 2 });
        // A single wavelength has no Kα2/Kα1 ratio to refine (and lists none).
        let k: ParamKey = "inst.kalpha2_ratio".parse().unwrap();
        let err = k.resolve(&model, &none).unwrap_err();
        assert!(err.to_string().contains("Kα2"), "{err}");
        assert!(!ParamKey::all_for(&model).contains(&k));
        let t = "inst.wavelength".parse::<ParamKey>().unwrap().resolve(&model, &none).unwrap();
        assert_eq!(t, Target::Wavelength);
        // Every listed key resolves.
        for k in ParamKey::all_for(&model) {
            k.resolve(&model, &none).unwrap();
        }
    }
}
