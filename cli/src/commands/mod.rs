//! One module per subcommand.
pub mod align;
pub mod convert;
pub mod demo;
pub mod density;
pub mod hysteresis;
pub mod merge;
pub mod model_source;
pub mod radiation;
pub mod refine;
pub mod relax;
pub mod sequential;
pub mod simulate;
