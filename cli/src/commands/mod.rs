//! One module per subcommand.
pub mod refine;
pub mod simulate;
