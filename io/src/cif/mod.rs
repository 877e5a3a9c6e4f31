//! CIF 1.1 structures: a syntax layer ([`syntax`]) giving data blocks with the line of every
//! value, a reader building [`bragg_crystal::structure::Phase`]s from them ([`read_cif`]), and a
//! writer ([`write_cif`]).

mod read;
pub mod symops;
pub mod syntax;
mod write;

pub use read::{
    parse_cif_phases, read_cif, ueq_from_uij, CellSu, CifPhase, PhaseSu, SiteSu,
    SAME_POSITION_TOLERANCE,
};
pub use write::{cif_string, format_with_su, write_cif};
