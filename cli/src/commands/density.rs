//! `bragg density`: oxygen vacancies or densification? The two structural models of an
//! oxygen-deficient layered or rock-salt oxide ([`bragg_crystal::density`]) placed in the
//! refined cell, compared with measured density (He pycnometry), Li:TM (ICP) and capacity.
//!
//! One sample from the command line (`--delta` or `--tm-oxidation`, `--volume --z` or `--cif`,
//! `--measured-*`), or several cycle numbers from `--table FILE.csv` (columns in
//! [`TABLE_COLUMNS`]). Values with uncertainty are written `4.62±0.03` (also `4.62+-0.03` or
//! the CIF form `4.62(3)`); a measurement without uncertainty is an error.
//!
//! Outputs: a report on stdout (or the JSON with `--json`); with `-o OUTDIR`, `density.json`,
//! `density.csv` (one row per sample) and, for a table, one figure per observable
//! (`density.png/.svg`, `li_tm.png/.svg`, `capacity.png/.svg`: measurements against both model
//! curves and the best mixture, like Fig. 3b of the seed paper). Every file is written
//! atomically; if one fails, the files of this run are removed again.

mod input;
mod outputs;

pub use input::{parse_value, RefinedPhase, TABLE_COLUMNS};
pub use outputs::{DensityResult, ModelOut, SampleOut};

use anyhow::{bail, Context, Result};
use bragg_crystal::density::{
    compare, Composition, Estimate, OxygenLoss, OxygenLossModels, Sample,
};
use bragg_crystal::Element;
use bragg_refine::uncertain::Uncertain;
use clap::Args;
use input::{input_from_args, inputs_from_table};
use outputs::{build_result, write_outputs};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `bragg density`.
#[derive(Debug, Clone, Args)]
pub struct DensityArgs {
    /// Pristine composition, e.g. Li1.18Ni0.21Mn0.53Co0.08O2 (Li, other cations = "TM", O).
    #[arg(long, value_name = "FORMULA")]
    pub pristine: String,
    /// Oxygen loss δ per formula unit (O2 → O(2−δ)), optionally with esd: 0.13±0.01.
    #[arg(long, value_name = "δ", allow_hyphen_values = true, conflicts_with_all = ["tm_oxidation", "table"])]
    pub delta: Option<String>,
    /// Measured average TM oxidation state v (e.g. from XAS), optionally with esd: 3.12±0.02.
    #[arg(
        long = "tm-oxidation",
        value_name = "v",
        allow_hyphen_values = true,
        conflicts_with = "table"
    )]
    pub tm_oxidation: Option<String>,
    /// Refined cell volume in Å³, optionally with esd: 100.17±0.02.
    #[arg(long, value_name = "Å³", allow_hyphen_values = true, conflicts_with_all = ["cif", "table"])]
    pub volume: Option<String>,
    /// Formula units (of the pristine formula) per cell: 3 for R-3m LiMO2 on hexagonal axes,
    /// 2 for a rock salt per O2.
    #[arg(long, value_name = "Z", allow_hyphen_values = true)]
    pub z: Option<f64>,
    /// Refined structure: cell volume (esd from the cell su) and, unless --z, Z from its anion
    /// sites; its own X-ray density is reported too.
    #[arg(long, value_name = "FILE.cif", conflicts_with = "table")]
    pub cif: Option<PathBuf>,
    /// Measured density (He pycnometry), g/cm³: VALUE±ESD.
    #[arg(long, value_name = "ρ±σ", allow_hyphen_values = true, conflicts_with = "table")]
    pub measured_density: Option<String>,
    /// Measured Li:TM molar ratio (ICP): VALUE±ESD.
    #[arg(
        long = "measured-li-tm",
        value_name = "r±σ",
        allow_hyphen_values = true,
        conflicts_with = "table"
    )]
    pub measured_li_tm: Option<String>,
    /// Measured discharge capacity, mAh/g of the material as made: VALUE±ESD (needs
    /// --initial-capacity).
    #[arg(long, value_name = "q±σ", allow_hyphen_values = true, conflicts_with = "table")]
    pub measured_capacity: Option<String>,
    /// Measured initial (pristine) capacity, mAh/g, VALUE±ESD: the models predict the capacity
    /// retention, which multiplies it.
    #[arg(long, value_name = "q₀±σ", allow_hyphen_values = true)]
    pub initial_capacity: Option<String>,
    /// Several samples (cycle numbers) from a CSV table; see the columns in the README.
    #[arg(long, value_name = "FILE.csv")]
    pub table: Option<PathBuf>,
    /// Print the result as JSON instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Output folder for density.json, density.csv and (with --table) the figures.
    #[arg(short = 'o', long = "output", value_name = "OUTDIR")]
    pub outdir: Option<PathBuf>,
}

/// Runs `bragg density`.
pub fn run(args: &DensityArgs, out: &mut dyn Write) -> Result<()> {
    let pristine = Composition::parse(&args.pristine)
        .with_context(|| format!("--pristine '{}'", args.pristine))?;
    // The pristine formula alone (no loss) first, so that its errors name --pristine.
    OxygenLossModels::new(&pristine, OxygenLoss::Delta(Estimate::exact(0.0)))
        .with_context(|| format!("--pristine '{}'", args.pristine))?;
    let n_o = pristine.amount(Element::from_symbol("O")?);
    if let Some(z) = args.z {
        if !(z.is_finite() && z > 0.0) {
            bail!("--z {z}: formula units per cell must be positive");
        }
    }
    let q_ref = args
        .initial_capacity
        .as_ref()
        .map(|t| parse_value(t, "--initial-capacity", true))
        .transpose()?;
    let inputs = match &args.table {
        Some(t) => inputs_from_table(t, args.z, n_o).context("--table")?,
        None => vec![input_from_args(args, n_o)?],
    };
    if q_ref.is_none() && inputs.iter().any(|i| i.measurements.capacity.is_some()) {
        bail!(
            "--measured-capacity needs --initial-capacity q₀±σ (mAh/g): the models predict the \
             capacity retention relative to the material as made"
        );
    }
    let mut samples = Vec::new();
    for i in &inputs {
        let models = OxygenLossModels::new(&pristine, i.loss)
            .with_context(|| format!("{} (pristine {pristine})", i.loss_name))?;
        samples.push(Sample { cycle: i.cycle, models, cell: i.cell, measurements: i.measurements });
    }
    let comparison = compare(&samples, q_ref)?;
    let result =
        build_result(&pristine, &samples, &inputs, comparison, q_ref, args.table.is_some())?;
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&result)?)?;
    } else {
        report(&result, out)?;
    }
    if let Some(dir) = &args.outdir {
        write_outputs(dir, &result, args.table.is_some())?;
        if !args.json {
            writeln!(out, "wrote {}", dir.display())?;
        }
    }
    Ok(())
}

/// `4.191(8)` with an esd; an exact value to 4 decimals.
fn u(value: f64, esd: f64) -> String {
    if esd > 0.0 {
        Uncertain::new(value, esd).to_string()
    } else {
        format!("{value:.4}")
    }
}

fn report(r: &DensityResult, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "pristine {}: TM oxidation {:.4}, Li:TM {:.4}, theoretical capacity {:.1} mAh/g",
        r.pristine, r.pristine_tm_oxidation, r.pristine_li_tm, r.pristine_capacity
    )?;
    for s in &r.samples {
        writeln!(out)?;
        let label = if r.from_table { format!("cycle {}", s.cycle) } else { "sample".into() };
        writeln!(
            out,
            "{label}: δ = {}, V = {} Å³, Z = {}",
            u(s.delta, s.delta_esd),
            u(s.volume, s.volume_esd),
            s.z
        )?;
        if let Some(p) = &s.refined_phase {
            writeln!(
                out,
                "  refined phase {} ({}): ρ = {} g/cm³",
                p.formula,
                p.cif,
                u(p.density, p.density_esd)
            )?;
        }
        writeln!(
            out,
            "  {:<10} {:<34} {:>10} {:>10} {:>12} {:>12} {:>10}",
            "model", "formula", "Li:TM", "TM ox.", "ρ (g/cm³)", "Q_th (mAh/g)", "retention"
        )?;
        for (name, m) in [("vacancy", &s.vacancy), ("densified", &s.densified)] {
            writeln!(
                out,
                "  {:<10} {:<34} {:>10} {:>10} {:>12} {:>12} {:>10}",
                name,
                m.formula,
                u(m.li_tm, m.li_tm_esd),
                u(m.tm_oxidation, m.tm_oxidation_esd),
                u(m.density, m.density_esd),
                u(m.capacity, m.capacity_esd),
                u(m.capacity_retention, m.capacity_retention_esd)
            )?;
        }
    }
    let c = &r.comparison;
    if !c.residuals.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "  {:>6} {:<9} {:>12} {:>12} {:>8} {:>12} {:>8}",
            "cycle", "measured", "value", "vacancy", "z", "densified", "z"
        )?;
        for x in &c.residuals {
            writeln!(
                out,
                "  {:>6} {:<9} {:>12} {:>12} {:>8.2} {:>12} {:>8.2}",
                x.cycle,
                x.observable.name(),
                u(x.measured.value, x.measured.esd),
                u(x.vacancy.value, x.vacancy.esd),
                x.z_vacancy,
                u(x.densified.value, x.densified.esd),
                x.z_densified
            )?;
        }
        writeln!(out, "χ²: vacancy {:.2}, densified {:.2}", c.chi2_vacancy, c.chi2_densified)?;
    }
    if let Some(f) = &c.fit {
        writeln!(
            out,
            "best fraction of densification f = {} (χ² = {:.2}, ν = {}; 95 % upper bound {:.3})",
            u(f.f.value, f.f.esd),
            f.chi2,
            f.dof,
            f.upper95
        )?;
    }
    writeln!(out, "verdict: {}", r.verdict)?;
    Ok(())
}
