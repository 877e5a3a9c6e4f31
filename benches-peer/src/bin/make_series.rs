//! Writes the data of the sequential benchmark (`seq100.sh`, README "Sequential: 100 chained
//! synchrotron scans") with bragg's pattern engine:
//!
//! * `out/seq100/scans/scan_001.xye` … `scan_100.xye`: bragg's
//!   `examples::ltno_synchrotron_model()` (LTNO rock salt, λ = 0.458 Å, synchrotron instrument
//!   with f′/f″, scale 0.01, six-term Chebyshev background over 2–40°) on 2θ = 2–40° step 0.001°
//!   (38,001 points), the cubic edge rising linearly a_i = 4.10 + 0.06·(i − 1)/99 Å
//!   (i = 1…100), Poisson counts (seed 20241105 + i, PCG64), esd = √max(counts, 1).
//! * `out/seq100/truth.csv`: `scan,file,a_true`.
//! * `out/seq100/LTNO.cif`: the start model of both programs (a = 4.10 Å, B_iso 0.5 Å²; the
//!   mixed 4a site as three rows at the same position, which both CIF readers accept).
//! * `out/seq100/dispersion.csv`: `element,f1,f2` — f′ and f″ (electrons) of Chantler (2000) at
//!   0.458 Å from bragg's table, given to PhaseSmith as fixed per-site offsets (it has no
//!   f′/f″ table).
//!
//! Usage: `cargo run --release --features bragg --bin make_series [-- OUTDIR [N_SCANS]]`.

use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;

use bragg_crystal::examples::{ltno_rock_salt, ltno_synchrotron_model};
use bragg_crystal::pattern::simulate;
use bragg_crystal::scattering::anomalous::dispersion_at_wavelength;
use bragg_crystal::Element;
use rand::SeedableRng;
use rand_distr::{Distribution, Poisson};
use rand_pcg::Pcg64;

const A_FIRST: f64 = 4.10;
const A_LAST: f64 = 4.16;
const SEED: u64 = 20_241_105;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "out/seq100".to_string()));
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(100);
    let scans = out.join("scans");
    std::fs::create_dir_all(&scans)?;

    let base = ltno_synchrotron_model()?;
    let lambda = base.instrument.radiation.primary_wavelength_angstrom();
    let grid: Vec<f64> = (0..38_001).map(|i| 2.0 + f64::from(i) * 0.001).collect();

    let mut truth = String::from("scan,file,a_true\n");
    for i in 1..=n {
        let a = if n > 1 {
            A_FIRST + (A_LAST - A_FIRST) * (i - 1) as f64 / (n - 1) as f64
        } else {
            A_FIRST
        };
        let mut model = base.clone();
        model.phases[0].phase = ltno_rock_salt(a, 0.5)?;
        let sim = simulate(&model, &grid)?;
        let mut rng = Pcg64::seed_from_u64(SEED + i as u64);
        let name = format!("scan_{i:03}.xye");
        let mut text = String::with_capacity(38_001 * 24);
        writeln!(text, "# LTNO synchrotron scan {i}, a_true = {a:.6} A, lambda = {lambda} A")?;
        for (x, mu) in grid.iter().zip(&sim.total) {
            let counts = if *mu > 0.0 { Poisson::new(*mu)?.sample(&mut rng) } else { 0.0 };
            writeln!(text, "{x:.3} {counts} {:.4}", counts.max(1.0).sqrt())?;
        }
        std::fs::write(scans.join(&name), text)?;
        writeln!(truth, "{i},{name},{a:.8}")?;
    }
    std::fs::write(out.join("truth.csv"), truth)?;

    std::fs::write(out.join("LTNO.cif"), start_cif())?;

    let mut disp = String::from("element,f1,f2\n");
    for sym in ["Li", "Ti", "Ni", "O"] {
        let f = dispersion_at_wavelength(Element::from_symbol(sym)?, lambda)?;
        writeln!(disp, "{sym},{:.6},{:.6}", f.re, f.im)?;
    }
    std::fs::write(out.join("dispersion.csv"), disp)?;
    println!("{n} scans in {}, a = {A_FIRST} → {A_LAST} Å, λ = {lambda} Å", scans.display());
    Ok(())
}

/// The start model as CIF 1.1: `ltno_rock_salt(4.10, 0.5)` written out by hand (bragg's own
/// writer lives in bragg-io, which this package does not depend on).
fn start_cif() -> String {
    let mut s = String::from(
        "#\\#CIF_1.1\n# LTNO rock salt Li1.17Ti0.58Ni0.25O2, start model of the sequential benchmark\n\
         data_LTNO\n",
    );
    for (tag, v) in [
        ("_cell_length_a", A_FIRST),
        ("_cell_length_b", A_FIRST),
        ("_cell_length_c", A_FIRST),
        ("_cell_angle_alpha", 90.0),
        ("_cell_angle_beta", 90.0),
        ("_cell_angle_gamma", 90.0),
    ] {
        s.push_str(&format!("{tag:<27} {v:.4}\n"));
    }
    s.push_str(
        "_cell_formula_units_Z       2\n\
         _space_group_name_H-M_alt   'F m -3 m'\n\
         _symmetry_space_group_name_H-M 'F m -3 m'\n\
         _space_group_IT_number      225\n\n\
         loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n\
         _atom_site_fract_z\n_atom_site_occupancy\n_atom_site_adp_type\n_atom_site_B_iso_or_equiv\n\
         M1 Li 0 0 0 0.585 Biso 0.5\n\
         M1_Ti Ti 0 0 0 0.29 Biso 0.5\n\
         M1_Ni Ni 0 0 0 0.125 Biso 0.5\n\
         O1 O 0.5 0.5 0.5 1 Biso 0.5\n",
    );
    s
}
