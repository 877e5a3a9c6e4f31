//! Instrument physics: radiation sources, peak-position corrections, the Lorentz–polarisation
//! factor, absorption and surface roughness, and March–Dollase preferred orientation.
//!
//! Pure functions and small validated types, no I/O. Every correction returns its value and its
//! derivatives from the same call. Angles are degrees at these interfaces (`..._deg`), lengths
//! in mm for the goniometer and Å for wavelengths. Profile widths and shapes (U, V, W, X, Y,
//! asymmetry) belong to the profile module, not here.

pub mod absorption;
pub mod lorentz;
pub mod preferred_orientation;
pub mod radiation;
pub mod shift;

pub use absorption::{
    cylinder_transmission, flat_plate_finite, flat_plate_infinite, suortti_roughness,
    SurfaceRoughness, Transmission, CYLINDER_MU_R_MAX,
};
pub use lorentz::{lorentz_factor, lorentz_polarization, LorentzPolarization, Polarization};
pub use preferred_orientation::{MarchDollase, PreferredOrientation};
pub use radiation::{Anode, Radiation, WavelengthComponent, DEFAULT_KALPHA2_RATIO, KALPHA2_SPLIT};
pub use shift::{zero_shift, Goniometer, PositionShift};
