//! Analysis of an in situ series: Li content from the cycler log ([`lithium`]), the structural
//! hysteresis between charge and discharge ([`hysteresis`]), the kinetics of a lattice
//! parameter at open circuit ([`relaxation`]) and the temperature dependence of its time
//! constant ([`arrhenius`]).
//!
//! Everything here works on plain arrays (times in s, currents in mA, voltages in V, lattice
//! parameters in their own unit with esds): no file I/O. The CLI (`bragg hysteresis`,
//! `bragg relax`) reads `sequential.csv` and the cycler log and calls these functions; so can
//! `bragg sequential` when it is given a log.

pub mod arrhenius;
mod curvefit;
pub mod hysteresis;
pub mod lithium;
pub mod relaxation;

pub use arrhenius::{arrhenius_fit, ArrheniusFit, ArrheniusPoint};
pub use hysteresis::{hysteresis, HysteresisCycle, HysteresisOptions, HysteresisReport};
pub use lithium::{
    molar_mass_of_formula, scan_echem, CellSpec, CurrentState, EchemTrace, ScanEchem, ScanWindow,
};
pub use relaxation::{
    fit_relaxation, fit_relaxation_auto, rest_windows, RelaxFit, RelaxModel, RelaxSelection,
    RestWindow,
};

use crate::error::{Error, Result};

/// Checks that `t` is finite and strictly increasing; `what` names the series in the error.
pub(crate) fn check_increasing(t: &[f64], what: &str) -> Result<()> {
    if let Some(i) = t.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidInput(format!("{what}: time at point {i} is not finite")));
    }
    if let Some(i) = t.windows(2).position(|w| w[1] <= w[0]) {
        return Err(Error::InvalidInput(format!(
            "{what}: time is not strictly increasing (point {} at {} s follows {} s); sort the \
             series or remove duplicated rows",
            i + 1,
            t[i + 1],
            t[i]
        )));
    }
    Ok(())
}
