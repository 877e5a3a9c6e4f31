//! `bragg-refine`: parameters, constraints, the Levenberg–Marquardt driver and series analysis.
pub mod analysis;
pub mod covariance;
pub mod derived;
pub mod error;
pub mod fit;
pub mod key;
pub mod observations;
pub mod params;
pub mod stats;
pub mod uncertain;

pub use error::{Error, Result};
pub use fit::{FitOptions, FitOutcome, Refinement, Termination};
pub use key::ParamKey;
pub use observations::Observations;
pub use params::{Constraint, Parameter};
pub mod lebail;
pub mod pawley;
pub mod sequential;
pub mod strategy;
