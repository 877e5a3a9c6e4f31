//! The one error type of `bragg-refine`.

use thiserror::Error;

/// Everything that can go wrong while refining or while computing statistics, covariances
/// and derived quantities.
///
/// Normal termination of a fit is not an error (it is a `Termination` value); these variants
/// are for inputs or models that cannot give a meaningful answer. Each carries what a user
/// needs to find the cause.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The normal matrix is singular or nearly so: the named parameters carry the null
    /// direction (they are collinear with each other, or do not affect the pattern at all).
    #[error("singular normal matrix: parameters {} are not independently determined", .params.join(", "))]
    Singular {
        /// Names of the parameters that carry the (near-)null direction.
        params: Vec<String>,
    },
    /// A NaN or infinity where a finite number is required.
    #[error("non-finite {what} at {at}")]
    NonFinite {
        /// What quantity was non-finite (e.g. `weighted Jacobian`).
        what: String,
        /// Where (e.g. `row 12, column 3 (LTNO.cell.a)`).
        at: String,
    },
    /// An error of the crystal model.
    #[error(transparent)]
    Crystal(#[from] bragg_crystal::Error),
    /// Inputs that are inconsistent or out of their domain (mismatched lengths, too few
    /// observations, ...), with a message saying which and why.
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
