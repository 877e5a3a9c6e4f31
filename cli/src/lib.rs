//! `bragg`: the command-line front end. Clap argument structs are turned into a validated run
//! configuration and dispatched to one file per subcommand under [`commands`]. End-to-end
//! tests call [`run`] directly without spawning a process.

pub mod commands;
pub mod plot;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::ffi::OsString;

/// Rietveld and powder-diffraction analysis for battery materials.
#[derive(Debug, Parser)]
#[command(name = "bragg", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate a powder pattern from CIF files or a TOML model (default: the embedded
    /// Li1.17Ti0.58Ni0.25O2 rock salt at an 11-BM-like beamline).
    Simulate(commands::simulate::SimulateArgs),
    /// Refine a powder scan against CIF phases or a TOML model (default staged strategy, or
    /// the model's `[refine]` stages); writes result.json, fit.csv, one CIF per phase and
    /// fit.png / fit.svg to OUTDIR.
    Refine(commands::refine::RefineArgs),
    /// Fit a series of scans (in situ, operando, temperature): the first with the full
    /// strategy, the others refining per-scan parameters (chained, independent or reverse);
    /// writes sequential.csv / .json to OUTDIR, resumable (--resume) and shardable (--shard).
    Sequential(commands::sequential::SequentialArgs),
    /// Join the output folders of a sharded `bragg sequential` run into one table.
    Merge(commands::merge::MergeArgs),
    /// Oxygen vacancies or densification? Predict density, Li:TM and capacity of both
    /// structural models of an oxygen-deficient oxide at the refined cell and compare them with
    /// measurements (pycnometry, ICP, cycling).
    Density(commands::density::DensityArgs),
    /// Structural hysteresis of an in situ series: a parameter on charge vs discharge
    /// against x(Li) and voltage (Δa with esd, its maximum, the loop area) and the a(x) loops.
    Hysteresis(commands::hysteresis::HysteresisArgs),
    /// Relaxation kinetics at open circuit: exp / KWW / bi-exponential fits of a(t) in a rest
    /// chosen by AICc, and the Arrhenius energy of τ(T).
    Relax(commands::relax::RelaxArgs),
    /// Convert a powder scan between formats: read anything (format by content), write
    /// .xye / .xy / .csv / .cif (pdCIF) / .fxye (GSAS) by OUT's extension.
    Convert(commands::convert::ConvertArgs),
    /// The whole in situ pipeline on an embedded simulated experiment (the seed's LTNO rock
    /// salt in a Be-window cell: charge, rest, discharge, cycler log): sequential fit, Li
    /// content, hysteresis, relaxation, tables and figures in DIR, and a report of refined vs
    /// true values.
    Demo(commands::demo::DemoArgs),
    /// Align scans with a cycler log by time, without fitting: each scan's exposure window,
    /// mean voltage and current, segment, cycle and x(Li); flags scans outside the log;
    /// writes OUT.csv (+ OUT.json) and a voltage-vs-time figure with the exposures.
    Align(commands::align::AlignArgs),
}

/// Parses command-line arguments (program name first) and runs the command.
pub fn run_from_args<I, T>(args: I) -> Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not failures.
            if !e.use_stderr() {
                e.print()?;
                return Ok(());
            }
            return Err(anyhow::anyhow!(e.to_string().trim_end().to_string()));
        }
    };
    run(cli, &mut std::io::stdout())
}

/// Runs a parsed command, writing the human-readable report to `out`.
pub fn run(cli: Cli, out: &mut dyn std::io::Write) -> Result<()> {
    match cli.command {
        Command::Simulate(args) => commands::simulate::run(&args, out),
        Command::Refine(args) => commands::refine::run(&args, out),
        Command::Sequential(args) => commands::sequential::run(&args, out),
        Command::Merge(args) => commands::merge::run(&args, out),
        Command::Density(args) => commands::density::run(&args, out),
        Command::Hysteresis(args) => commands::hysteresis::run(&args, out),
        Command::Relax(args) => commands::relax::run(&args, out),
        Command::Convert(args) => commands::convert::run(&args, out),
        Command::Demo(args) => commands::demo::run(&args, out),
        Command::Align(args) => commands::align::run(&args, out),
    }
}
