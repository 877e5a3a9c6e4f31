//! `bragg-io`: readers and writers of diffraction, structure and model files.
//!
//! One module per format; every parse error names the file and the line ([`Error`]); every
//! writer goes through [`write_atomic`] (temporary file + rename), so a failure never leaves a
//! half-written file.

pub mod atomic;
pub mod cif;
pub mod error;
pub mod model;
pub mod reflections;
pub mod xye;

pub use atomic::write_atomic;
pub use cif::{read_cif, write_cif, CifPhase, PhaseSu};
pub use error::{Error, Result};
pub use model::{read_model, LoadedModel, ModelFile};
pub use reflections::{write_reflections_csv, ReflectionRow};
pub use xye::{read_xye, write_xye, PowderData};
pub mod bruker;
pub mod fullprof;
pub mod gsas;
pub mod instprm;
pub mod powder;
pub use powder::{
    read_powder, read_powder_with_wavelength, PowderFormat, PowderMetadata, PowderScan, Wavelength,
};
pub mod brml;
pub mod chi;
pub mod pdcif;
pub mod rigaku;
pub mod xrdml;
pub use pdcif::{write_pdcif, PdCifPattern, PdCifStats, PdCifTwoTheta};
pub mod echem;
pub mod scantimes;
pub use echem::{read_echem, CellState, EchemLog, EchemPoint};
pub use scantimes::{read_scan_times, ScanTimeTable};
