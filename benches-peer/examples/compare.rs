//! Compare bragg's and PhaseSmith's y_calc for both workloads (needs `--features bragg`):
//! `cargo run --release --features bragg --example compare`. Writes
//! `out/<workload>_compare.csv` (2θ, y_bragg, y_phasesmith) and prints summary statistics.

#[path = "../benches/bragg_side.rs"]
#[allow(dead_code)] // the example uses only `new` and `simulate_full`
mod bragg_side;

use std::fmt::Write as _;

use bragg_benches_peer::phasesmith_side::{BoxError, Config, PhasesmithWorkload};
use bragg_benches_peer::spec::{self, WorkloadSpec};

fn compare(spec: WorkloadSpec) -> Result<(), BoxError> {
    let mut ps = PhasesmithWorkload::new(spec.clone(), &Config::default())?;
    // PhaseSmith normalises the wavelength weights to unit sum, bragg does not (Kα1 = 1):
    // undo the normalisation so that the comparison tests everything else.
    let weight_sum: f64 = spec.wavelengths.iter().map(|w| w.relative_intensity).sum();
    let calc = ps.simulate_full()?;
    let yp: Vec<f64> =
        calc.y.iter().zip(&calc.background_y).map(|(y, b)| b + (y - b) * weight_sum).collect();
    let mut br = bragg_side::BraggWorkload::new(&spec);
    let yb = br.simulate_full();
    let bg: Vec<f64> = ps.simulate_full()?.background_y;
    let (mut sum_p, mut sum_b, mut max_abs, mut max_p) = (0.0, 0.0, 0.0_f64, 0.0_f64);
    let mut text =
        String::from("# two_theta_deg,y_bragg,y_phasesmith_times_weight_sum,background\n");
    for i in 0..yp.len() {
        sum_p += yp[i] - bg[i];
        sum_b += yb[i] - bg[i];
        max_abs = max_abs.max((yp[i] - yb[i]).abs());
        max_p = max_p.max(yp[i]);
        writeln!(text, "{:.6},{:.10e},{:.10e},{:.10e}", ps.x_deg[i], yb[i], yp[i], bg[i])?;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("out");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(format!("{}_compare.csv", spec.name)), text)?;
    println!(
        "{}: Σ(y−bkg) bragg/(PhaseSmith × {weight_sum}) = {:.6}; max |Δy| = {:.4e} ({:.3e} of max y)",
        spec.name,
        sum_b / sum_p,
        max_abs,
        max_abs / max_p
    );
    Ok(())
}

fn main() -> Result<(), BoxError> {
    compare(spec::synchrotron())?;
    compare(spec::lab())?;
    Ok(())
}
