//! Side-by-side speed benchmark of bragg against its closest Rust peer, PhaseSmith 0.7.0.
//!
//! * [`spec`]: the two workloads (synchrotron 38,001 points; lab two-phase 3,251 points),
//!   written once in bragg's conventions.
//! * [`phasesmith_side`]: their translation into PhaseSmith and the timed evaluation paths.
//! * bragg's side lives in `benches/bragg_side.rs` (compiled with `--features bragg`).
//!
//! See `README.md` for how to run, the measured medians and every physics difference.

pub mod phasesmith_side;
pub mod spec;
