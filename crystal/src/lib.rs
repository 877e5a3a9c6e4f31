//! `bragg-crystal`: the crystal model and the physics of a powder pattern.
//!
//! Cell, symmetry, sites, scattering tables, reflections, structure factors, peak shapes,
//! instrument, background, pattern calculation and density. No file I/O, no printing, no
//! global state. Angles are in degrees at interfaces and radians inside kernels (see
//! [`units`]).

pub mod background;
pub mod cell;
pub mod density;
pub mod element;
pub mod error;
pub mod examples;
pub mod instrument;
pub mod pattern;
pub mod profile;
pub mod reflection;
pub mod scattering;
pub mod structure;
pub mod structure_factor;
pub mod symmetry;
pub mod tables;
pub mod units;

pub use cell::Cell;
pub use element::{Element, Species};
pub use error::{Error, Result};
pub use reflection::Reflection;
pub use structure::{Occupant, Phase, Site};
pub use structure_factor::StructureFactors;
pub use symmetry::{CrystalSystem, SpaceGroup, SymOp, WyckoffPosition};
