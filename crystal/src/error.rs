//! The one error type of `bragg-crystal`.

use thiserror::Error;

/// Everything that can go wrong when building a crystal model or computing a pattern.
///
/// Each variant carries what a user needs to find and fix the problem.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// An element symbol that is not in the periodic table (or not in bragg's tables).
    #[error("unknown element '{symbol}'")]
    UnknownElement {
        /// The symbol as given.
        symbol: String,
    },
    /// A species (element with charge) that has no entry in a scattering table.
    #[error("no {table} entry for species '{species}'")]
    MissingScatteringData {
        /// The species as written, e.g. `Ni2+`.
        species: String,
        /// Which table lacks it.
        table: &'static str,
    },
    /// A quantity outside the range a table covers.
    #[error("{quantity} = {value} is outside the tabulated range {min}..{max}")]
    OutOfTableRange {
        /// What was looked up.
        quantity: &'static str,
        /// The value asked for.
        value: f64,
        /// Lowest tabulated value.
        min: f64,
        /// Highest tabulated value.
        max: f64,
    },
    /// A space-group symbol or number that could not be resolved.
    #[error("unknown space group '{symbol}'")]
    UnknownSpaceGroup {
        /// The symbol or number as given.
        symbol: String,
    },
    /// A Wyckoff letter that does not exist in the group.
    #[error("space group {group} has no Wyckoff position '{letter}'")]
    UnknownWyckoff {
        /// Space-group symbol.
        group: String,
        /// The letter asked for.
        letter: char,
    },
    /// A cell edge or angle that cannot describe a lattice.
    #[error("invalid cell: {reason}")]
    InvalidCell {
        /// What is wrong.
        reason: String,
    },
    /// The occupancies on one site add up to more than one.
    #[error("occupancies on site '{site}' sum to {total:.6}, above 1")]
    OccupancyExceedsOne {
        /// Site label.
        site: String,
        /// Sum of occupancies.
        total: f64,
    },
    /// A parameter value that is not allowed (negative, non-finite, ...).
    #[error("invalid value for {name}: {value} ({reason})")]
    InvalidValue {
        /// Name of the quantity.
        name: String,
        /// The value given.
        value: f64,
        /// Why it is not allowed.
        reason: &'static str,
    },
    /// A 2θ range that is empty or ill-formed.
    #[error("invalid 2θ range: {reason}")]
    InvalidRange {
        /// What is wrong.
        reason: String,
    },
    /// A phase lookup or model inconsistency.
    #[error("{0}")]
    Model(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
