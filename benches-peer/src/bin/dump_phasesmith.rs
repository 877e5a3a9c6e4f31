//! Dump PhaseSmith's computed patterns and reflection lists to `benches-peer/out/` so that
//! bragg's can be compared with them (peak positions, |F|², LP, integrated intensities).
//!
//! Run: `cargo run --release --bin dump_phasesmith` (from benches-peer/).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use bragg_benches_peer::phasesmith_side::{
    correction_model, BoxError, Config, PhasesmithWorkload, SupportChoice,
};
use bragg_benches_peer::spec::{self, WorkloadSpec, BRAGG_WIDTH_CONVENTION};
use phasesmith::core::CwProfileParameters;

fn out_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("out")
}

fn dump(spec: WorkloadSpec) -> Result<(), BoxError> {
    let name = spec.name;
    let dir = out_dir();
    fs::create_dir_all(&dir)?;
    let mut workload = PhasesmithWorkload::new(spec.clone(), &Config::default())?;
    let calc = workload.simulate_full()?;
    let prepared = workload.prepare()?.evaluate()?;
    let max_diff = calc.y.iter().zip(&prepared).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    let max_y = calc.y.iter().copied().fold(0.0, f64::max);

    // Pattern: 2θ, y_calc (total), profile (all phases), background, and each phase.
    let mut text = String::from("# PhaseSmith 0.7.0 calculate_rietveld_pattern\n");
    write!(text, "# two_theta_deg,y_total,y_profile,y_background")?;
    for p in &calc.phases {
        write!(text, ",y_{}", p.name)?;
    }
    text.push('\n');
    for i in 0..workload.x_deg.len() {
        write!(
            text,
            "{:.6},{:.10e},{:.10e},{:.10e}",
            workload.x_deg[i], calc.y[i], calc.profile_y[i], calc.background_y[i]
        )?;
        for p in &calc.phases {
            write!(text, ",{:.10e}", p.result.accumulation.y[i])?;
        }
        text.push('\n');
    }
    fs::write(dir.join(format!("{name}_pattern.csv")), text)?;

    // Reflection list, per phase and wavelength component (component-major in PhaseSmith).
    let mut text = String::from(
        "# phase,component,wavelength_angstrom,h,k,l,conventional_h,conventional_k,conventional_l,\
d_angstrom,two_theta_deg,multiplicity,f_real,f_imag,f_squared,lp,integrated_intensity,\
fwhm_g_deg,fwhm_l_deg,tch_fwhm_deg,tch_eta\n",
    );
    let reflections = workload.reflections()?;
    for (phase_index, phase) in calc.phases.iter().enumerate() {
        let refl = &reflections[phase_index];
        let n = refl.len();
        let sf = &phase.result.structure_factors;
        let components = sf.f_squared.len() / n.max(1);
        for c in 0..components {
            let lambda = spec.wavelengths[c].wavelength_angstrom;
            let correction = correction_model(spec.polarization, lambda)
                .evaluate(&sf.q_squared_inverse_angstrom2[c * n..(c + 1) * n])?;
            let mut instrument = workload.instrument;
            instrument.wavelength_angstrom = lambda;
            for (j, r) in refl.iter().enumerate() {
                let k = c * n + j;
                let tt = phase.result.two_theta_deg[k];
                let widths = CwProfileParameters::from_instrument(tt, instrument)?;
                writeln!(
                    text,
                    "{},{},{},{},{},{},{},{},{},{:.10},{:.10},{},{:.10e},{:.10e},{:.10e},{:.10e},{:.10e},{:.8e},{:.8e},{:.8e},{:.8}",
                    phase.name,
                    c,
                    lambda,
                    r.hkl[0],
                    r.hkl[1],
                    r.hkl[2],
                    r.conventional_hkl[0],
                    r.conventional_hkl[1],
                    r.conventional_hkl[2],
                    phase.result.d_spacing_angstrom[k],
                    tt,
                    r.multiplicity,
                    sf.f_real[k],
                    sf.f_imag[k],
                    sf.f_squared[k],
                    correction.values[j],
                    sf.intensity[k],
                    widths.gaussian_fwhm_deg,
                    widths.lorentzian_fwhm_deg,
                    widths.tch.total_fwhm,
                    widths.tch.eta,
                )?;
            }
        }
    }
    fs::write(dir.join(format!("{name}_reflections.csv")), text)?;

    // Parameters actually handed to PhaseSmith.
    let i = workload.instrument;
    let mut text = String::new();
    writeln!(text, "workload = {name}")?;
    writeln!(text, "bragg width convention assumed = {BRAGG_WIDTH_CONVENTION:?}")?;
    writeln!(text, "spec profile (bragg convention) = {:?}", spec.profile)?;
    writeln!(
        text,
        "PhaseSmith instrument: lambda={} U={:e} V={:e} W={:e} (Gaussian variance, deg^2) X={:e} (sec) Y={:e} (tan) deg",
        i.wavelength_angstrom, i.u_deg2, i.v_deg2, i.w_deg2, i.x_deg, i.y_deg
    )?;
    writeln!(text, "PhaseSmith spectrum = {:?}", workload.spectrum)?;
    writeln!(text, "PhaseSmith FCJ = {:?}", workload.axial)?;
    writeln!(text, "LP polarization fraction P = {}", spec.polarization.fraction())?;
    writeln!(text, "reflection range = {:?}", workload.range)?;
    writeln!(text, "support = {:?}, accuracy = {:?}", workload.support, workload.accuracy)?;
    writeln!(text, "background = {:?}", spec.background)?;
    writeln!(text, "max |full - prepared| = {max_diff:e} (max y = {max_y:e})")?;
    fs::write(dir.join(format!("{name}_parameters.txt")), text)?;
    println!(
        "{name}: {} points, max y {max_y:.6e}, full vs prepared max diff {max_diff:e}",
        calc.y.len()
    );
    Ok(())
}

fn support_sensitivity(spec: WorkloadSpec) -> Result<(), BoxError> {
    // How much of the pattern depends on the truncation choice (relative to the matched one).
    let reference =
        PhasesmithWorkload::new(spec.clone(), &Config::default())?.prepare()?.evaluate()?;
    for support in [
        SupportChoice::TailArea(1.0e-4),
        SupportChoice::FwhmMultiple(20.0),
        SupportChoice::FwhmMultiple(30.0),
    ] {
        let config = Config { support, ..Config::default() };
        let y = PhasesmithWorkload::new(spec.clone(), &config)?.prepare()?.evaluate()?;
        let area_ref: f64 = reference.iter().sum();
        let area: f64 = y.iter().sum();
        println!(
            "{}: {support:?}: sum(y) / sum(y_matched) - 1 = {:e}",
            spec.name,
            area / area_ref - 1.0
        );
    }
    Ok(())
}

fn main() -> Result<(), BoxError> {
    dump(spec::synchrotron())?;
    dump(spec::lab())?;
    support_sensitivity(spec::synchrotron())?;
    support_sensitivity(spec::lab())?;
    Ok(())
}
