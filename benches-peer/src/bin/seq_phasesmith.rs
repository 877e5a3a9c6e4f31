//! PhaseSmith 0.7.0's side of the sequential benchmark (README "Sequential: 100 chained
//! synchrotron scans", `seq100.sh`): one process reads the scans of `DIR/scans/` (natural
//! order) and the start model `DIR/LTNO.cif` with PhaseSmith's own readers, and fits the series
//! **chained** with `workflows::refine_general_rietveld`, mirroring `bragg sequential`:
//!
//! * reference scan (the first): staged, cumulative, each stage starting from the previous
//!   accepted input: (1) phase scale + background (6 Chebyshev terms); (2) + lattice + zero
//!   shift; (3) + W; (4) + U, V, X, Y; (5) + U_iso (one per site: Ti and Ni on 4a tied to Li by
//!   affine constraints, as bragg's one B_iso per site). Start scale from PhaseSmith's
//!   `estimate_initial_phase_scales`; start background T0 = the 10th percentile of the counts.
//! * every other scan: starts from the previous scan's accepted input (the new scan's counts
//!   swapped in) and refines bragg's per-scan set: phase scale, a, W, bragg's Y (the 1/cosθ
//!   Lorentzian term, PhaseSmith's X), background T0 and T1 (T2…T5 held by fixed constraints at
//!   the reference values). Zero, U, V, bragg's X (PhaseSmith's Y), U_iso stay at the reference.
//!
//! Not refinable in PhaseSmith 0.7 and therefore held at the true value on this side: the FCJ
//! asymmetry (S/L = H/L = 0.001; bragg refines `asym` in the reference fit). PhaseSmith has no
//! f′/f″ table: `DIR/dispersion.csv` (bragg's Chantler values at λ) gives fixed per-site
//! offsets. LP: `BraggBrentanoPolarizedLp` with P = 0.99 (= bragg's synchrotron LP, μR = 0).
//! Peak truncation: tail-area budget 9e-4 (see README, "What is timed").
//!
//! Usage: `seq_phasesmith DIR OUT.csv [--threads N] [--scans N] [--wavelength Å]
//! [--objective-tolerance T]` (T: PhaseSmith's relative objective tolerance, default 1e-7 as in
//! its guide)
//! (threads default: all cores, as bragg). Output CSV:
//! `scan,file,a,a_esd,scale,w_deg2,x_deg,rwp,termination,iterations,evaluations,seconds`.
//! `a_esd` is the per-scan esd (shared parameters taken as exact, like bragg's `_esd_stat`).

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use phasesmith::core::{ConstantWavelengthInstrument, FcjGeometry, ProfileAccuracy};
use phasesmith::crystallography::IntegratedIntensityCorrectionModel;
use phasesmith::engine::{
    BuiltInScatteringModel, MonochromaticPositionCorrection, StructuralPhaseDefinition,
};
use phasesmith::execution::ExecutionPolicy;
use phasesmith::io::{
    read_cif_file, read_powder_file, CifReadLimits, PowderFormat, PowderReadLimits,
};
use phasesmith::model::{PatternRecord, RecordId};
use phasesmith::workflows::{
    estimate_initial_phase_scales, refine_general_rietveld, AffineConstraint, BackgroundModel,
    ChebyshevBackground, Constraint, DifferentiableBackground, FixedConstraint, LatticeBounds,
    LatticeParameterization, LatticeReflectionDomain, ParameterKey, RefinementLimits,
    RietveldCalculationOptions, RietveldCovarianceOptions, RietveldGeneralRefinementResult,
    RietveldInput, RietveldInstrumentParameter as Inst, RietveldParameterSelection, RietveldPhase,
    RietveldRefinementOptions, RietveldStructuralSelection,
};

type BoxError = Box<dyn Error + Send + Sync>;

/// 8 ln 2 = FWHM² / σ² of a Gaussian (bragg's W is a FWHM², PhaseSmith's a variance).
const EIGHT_LN2: f64 = 8.0 * std::f64::consts::LN_2;
/// bragg's `Instrument::synchrotron` defaults (crystal/src/pattern/mod.rs), the start of both.
const W_BRAGG_DEG2: f64 = 4.0e-5;
const Y_BRAGG_DEG: f64 = 0.002;
const ASYM_BRAGG: f64 = 0.002;
const POLARIZATION: f64 = 0.99;
const BACKGROUND_TERMS: usize = 6;
/// Per-scan background terms (bragg's default `--background-terms 2`).
const PER_SCAN_BACKGROUND_TERMS: usize = 2;

struct Args {
    dir: PathBuf,
    out: PathBuf,
    threads: usize,
    scans: Option<usize>,
    wavelength: f64,
    objective_tolerance: f64,
}

fn parse_args() -> Result<Args, BoxError> {
    let mut positional = Vec::new();
    let mut threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut scans = None;
    let mut wavelength = 0.458;
    let mut objective_tolerance = 1.0e-7;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--threads" => threads = it.next().ok_or("--threads N")?.parse()?,
            "--scans" => scans = Some(it.next().ok_or("--scans N")?.parse()?),
            "--wavelength" => wavelength = it.next().ok_or("--wavelength Å")?.parse()?,
            "--objective-tolerance" => {
                objective_tolerance = it.next().ok_or("--objective-tolerance T")?.parse()?;
            }
            _ => positional.push(a),
        }
    }
    if positional.len() != 2 {
        return Err(
            "usage: seq_phasesmith DIR OUT.csv [--threads N] [--scans N] [--wavelength Å] \
             [--objective-tolerance T]"
                .into(),
        );
    }
    Ok(Args {
        dir: PathBuf::from(&positional[0]),
        out: PathBuf::from(&positional[1]),
        threads,
        scans,
        wavelength,
        objective_tolerance,
    })
}

/// Scan files of `dir` (xye/xy), sorted by name (zero-padded numbers sort naturally).
fn scan_files(dir: &Path) -> Result<Vec<PathBuf>, BoxError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "xye" || e == "xy"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{}: no .xye scan", dir.display()).into());
    }
    Ok(files)
}

fn read_scan(path: &Path) -> Result<PatternRecord, BoxError> {
    Ok(read_powder_file(path, PowderFormat::Columns, 1, PowderReadLimits::default())?.pattern)
}

/// `element,f1,f2` rows (f′, f″ in electrons); empty if the file is absent.
fn read_dispersion(path: &Path) -> Result<Vec<(String, f64, f64)>, BoxError> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 3 {
            return Err(format!("{}: bad row '{line}'", path.display()).into());
        }
        out.push((f[0].to_string(), f[1].trim().parse()?, f[2].trim().parse()?));
    }
    Ok(out)
}

/// The LTNO phase from the CIF, with a bounded reflection domain so that the lattice can be
/// refined (a within ±0.1 Å of the start), and its lattice bounds.
fn build_phase(
    cif: &Path,
    dispersion: &[(String, f64, f64)],
    wavelength: f64,
    range: [f64; 2],
) -> Result<(RietveldPhase, LatticeBounds), BoxError> {
    let s = read_cif_file(cif, None, false, CifReadLimits::default())?.structure;
    let offsets = |el: &str| {
        dispersion.iter().find(|(e, _, _)| e == el).map_or((0.0, 0.0), |(_, a, b)| (*a, *b))
    };
    let n = s.sites.len();
    let definition = StructuralPhaseDefinition {
        cell: s.cell,
        space_group: s.space_group.clone(),
        hkl: Vec::new(),
        multiplicity: Vec::new(),
        fractional_xyz: s.sites.iter().map(|x| x.fractional_xyz).collect(),
        occupancy: s.sites.iter().map(|x| x.occupancy).collect(),
        u_iso_angstrom2: s.sites.iter().map(|x| x.u_iso_angstrom2.unwrap_or(0.0)).collect(),
        anisotropic_mask: vec![false; n],
        u_aniso_cif_angstrom2: vec![[0.0; 6]; n],
        scattering_species: s.sites.iter().map(|x| x.element_symbol.clone()).collect(),
        scattering_real_offset: s.sites.iter().map(|x| offsets(&x.element_symbol).0).collect(),
        scattering_imag_offset: s.sites.iter().map(|x| offsets(&x.element_symbol).1).collect(),
        scale: 1.0,
        coordinate_tolerance: 1.0e-10,
        scattering_model: BuiltInScatteringModel::XrayNonResonant,
        correction_model: IntegratedIntensityCorrectionModel::BraggBrentanoPolarizedLp {
            wavelength_angstrom: wavelength,
            polarization: POLARIZATION,
        },
    };
    let parameterization = LatticeParameterization::new(s.space_group.clone(), s.cell)?;
    let values = parameterization.values_from_cell(s.cell)?;
    let bounds = LatticeBounds::new(
        &parameterization,
        values.iter().map(|v| v - 0.1).collect(),
        values.iter().map(|v| v + 0.1).collect(),
    )?;
    let domain = LatticeReflectionDomain::new(
        parameterization,
        bounds.clone(),
        wavelength,
        range,
        0.0,
        true,
        5_000_000,
        1.05,
    )?;
    let site_ids =
        s.sites.iter().map(|x| RecordId::new(x.site_id.clone())).collect::<Result<_, _>>()?;
    let phase = RietveldPhase::from_lattice_domain(
        RecordId::new("ltno")?,
        "LTNO",
        site_ids,
        definition,
        domain,
    )?;
    Ok((phase, bounds))
}

fn options(
    threads: usize,
    objective_tolerance: f64,
) -> Result<RietveldRefinementOptions, BoxError> {
    let mut calculation =
        RietveldCalculationOptions::new(20.0, true, ExecutionPolicy::new(Some(threads), 2)?)?;
    calculation.profile_accuracy =
        ProfileAccuracy { fast_fcj: false, tail_area_tolerance: Some(9.0e-4) };
    // PhaseSmith's documented "typical construction" (guide::refinement_operations); the
    // relative objective tolerance (1e-7 there) can be changed with --objective-tolerance.
    Ok(RietveldRefinementOptions::new(
        calculation,
        RefinementLimits::new(40, 3_000, None, 100)?,
        3,
        objective_tolerance,
        1.0e-8,
        1.0e-6,
        10.0,
        0.3,
        1.0e-8,
        40,
        0.15,
        12,
    )?)
}

fn selection(
    lattice: bool,
    u_iso: bool,
    instrument: Vec<Inst>,
) -> Result<RietveldParameterSelection, BoxError> {
    Ok(RietveldParameterSelection::new(
        RietveldStructuralSelection { lattice, u_iso, phase_scale: true, ..Default::default() },
        instrument,
        true,
        false,
    )?)
}

fn background_key(i: usize) -> Result<ParameterKey, BoxError> {
    Ok(ParameterKey::new("background", "chebyshev", format!("coefficient_{i}"))?)
}

/// Value and esd of the lattice parameter `a` (esd from PhaseSmith's covariance).
fn lattice_a(r: &RietveldGeneralRefinementResult) -> (f64, Option<f64>) {
    let a = r.input.phases[0].definition().cell.a_angstrom;
    let esd =
        r.parameters.specs().iter().position(|s| s.key().module() == "lattice").and_then(|i| {
            r.covariance
                .as_ref()
                .map(|c| c.values[i * c.size + i])
                .filter(|v| *v >= 0.0)
                .map(f64::sqrt)
        });
    (a, esd)
}

/// One scan's summary (the full result is dropped at once: only the chain's last accepted
/// input is kept, so memory does not grow with the series).
struct Row {
    scan: usize,
    file: String,
    a: f64,
    a_esd: Option<f64>,
    scale: f64,
    w_deg2: f64,
    x_deg: f64,
    rwp: f64,
    termination: String,
    iterations: usize,
    evaluations: usize,
    seconds: f64,
}

impl Row {
    fn new(
        scan: usize,
        file: &Path,
        r: &RietveldGeneralRefinementResult,
        iterations: usize,
        evaluations: usize,
        seconds: f64,
    ) -> Self {
        let (a, a_esd) = lattice_a(r);
        Row {
            scan,
            file: file.display().to_string(),
            a,
            a_esd,
            scale: r.input.phases[0].definition().scale,
            w_deg2: r.input.instrument.w_deg2,
            x_deg: r.input.instrument.x_deg,
            rwp: r.calculation.metrics.rwp,
            termination: format!("{:?}", r.termination_reason),
            iterations,
            evaluations,
            seconds,
        }
    }
}

fn main() -> Result<(), BoxError> {
    let clock = Instant::now();
    let args = parse_args()?;
    let mut files = scan_files(&args.dir.join("scans"))?;
    if let Some(n) = args.scans {
        files.truncate(n);
    }
    let dispersion = read_dispersion(&args.dir.join("dispersion.csv"))?;
    let first = read_scan(&files[0])?;
    let x = &first.x_deg;
    let range = [x[0], x[x.len() - 1]];
    let (phase, bounds) =
        build_phase(&args.dir.join("LTNO.cif"), &dispersion, args.wavelength, range)?;
    let lattice_bounds = vec![Some(bounds)];
    let instrument = ConstantWavelengthInstrument {
        wavelength_angstrom: args.wavelength,
        u_deg2: 0.0,
        v_deg2: 0.0,
        w_deg2: W_BRAGG_DEG2 / EIGHT_LN2,
        x_deg: Y_BRAGG_DEG,
        y_deg: 0.0,
    };
    let axial = FcjGeometry {
        sample_over_radius: ASYM_BRAGG / 2.0,
        detector_over_radius: ASYM_BRAGG / 2.0,
    };
    let position = MonochromaticPositionCorrection {
        zero_shift_deg: 0.0,
        bragg_brentano_mm: None,
        debye_scherrer_micrometre: None,
    };
    let mut sorted: Vec<f64> = first.observed_y.clone().unwrap_or_default();
    sorted.sort_by(f64::total_cmp);
    let level = sorted.get(sorted.len() / 10).copied().unwrap_or(0.0);
    let mut coefficients = vec![0.0; BACKGROUND_TERMS];
    coefficients[0] = level;
    let background =
        BackgroundModel::Chebyshev(ChebyshevBackground::new("chebyshev", coefficients, range)?);
    let input = RietveldInput::new_with_background(
        first,
        instrument,
        Some(axial),
        position,
        background,
        vec![phase],
    )?;
    let opts = options(args.threads, args.objective_tolerance)?;
    let mut input = estimate_initial_phase_scales(&input, &opts.calculation)?.input;

    // Reference scan: cumulative stages.
    let t0 = Instant::now();
    let u_iso_ties: Vec<Constraint> = {
        let ids: Vec<String> =
            input.phases[0].site_ids().iter().map(|s| s.as_str().to_string()).collect();
        let xyz = input.phases[0].definition().fractional_xyz.clone();
        let mut ties = Vec::new();
        for j in 0..ids.len() {
            // Tie each site to the first site at the same position (one U_iso per bragg site).
            if let Some(i) =
                (0..j).find(|&i| xyz[i].iter().zip(&xyz[j]).all(|(p, q)| (p - q).abs() < 1e-9))
            {
                let key = |k: usize| {
                    ParameterKey::new("site", format!("ltno/{}", ids[k]), "u_iso_angstrom2")
                };
                ties.push(Constraint::Affine(AffineConstraint::new(key(j)?, key(i)?, 1.0, 0.0)?));
            }
        }
        ties
    };
    let stages: Vec<(&str, RietveldParameterSelection, Vec<Constraint>)> = vec![
        ("scale+background", selection(false, false, vec![])?, vec![]),
        ("+cell+zero", selection(true, false, vec![Inst::ZeroShiftDeg])?, vec![]),
        ("+W", selection(true, false, vec![Inst::ZeroShiftDeg, Inst::WDeg2])?, vec![]),
        (
            "+U,V,X,Y",
            selection(
                true,
                false,
                vec![
                    Inst::ZeroShiftDeg,
                    Inst::UDeg2,
                    Inst::VDeg2,
                    Inst::WDeg2,
                    Inst::XDeg,
                    Inst::YDeg,
                ],
            )?,
            vec![],
        ),
        (
            "+U_iso",
            selection(
                true,
                true,
                vec![
                    Inst::ZeroShiftDeg,
                    Inst::UDeg2,
                    Inst::VDeg2,
                    Inst::WDeg2,
                    Inst::XDeg,
                    Inst::YDeg,
                ],
            )?,
            u_iso_ties,
        ),
    ];
    let mut iterations = 0;
    let mut evaluations = 0;
    let mut last: Option<RietveldGeneralRefinementResult> = None;
    for (name, sel, constraints) in &stages {
        let r = refine_general_rietveld(
            &input,
            sel,
            &lattice_bounds,
            constraints,
            &opts,
            RietveldCovarianceOptions::default(),
            None,
            None,
        )
        .map_err(|e| format!("reference stage {name}: {e}"))?;
        eprintln!(
            "reference {name}: Rwp {:.4} %, {:?}, {} iterations, {} evaluations, a = {:.6}",
            100.0 * r.calculation.metrics.rwp,
            r.termination_reason,
            r.history.len(),
            r.evaluations,
            r.input.phases[0].definition().cell.a_angstrom
        );
        iterations += r.history.len();
        evaluations += r.evaluations;
        input = r.input.clone();
        last = Some(r);
    }
    let reference = last.ok_or("no stage")?;
    let mut rows = vec![Row::new(
        1,
        &files[0],
        &reference,
        iterations,
        evaluations,
        t0.elapsed().as_secs_f64(),
    )];
    drop(reference);

    // Per-scan refinements, chained.
    let per_scan = selection(true, false, vec![Inst::WDeg2, Inst::XDeg])?;
    let shared_background: Vec<Constraint> = {
        let c = input.background.as_ref().ok_or("no background")?.coefficients();
        (PER_SCAN_BACKGROUND_TERMS..c.len())
            .map(|i| Ok(Constraint::Fixed(FixedConstraint::new(background_key(i)?, c[i])?)))
            .collect::<Result<_, BoxError>>()?
    };
    for (k, path) in files.iter().enumerate().skip(1) {
        let t = Instant::now();
        let mut next = input.clone();
        next.pattern = read_scan(path)?;
        let r = refine_general_rietveld(
            &next,
            &per_scan,
            &lattice_bounds,
            &shared_background,
            &opts,
            RietveldCovarianceOptions::default(),
            None,
            None,
        )
        .map_err(|e| format!("scan {}: {e}", k + 1))?;
        rows.push(Row::new(
            k + 1,
            path,
            &r,
            r.history.len(),
            r.evaluations,
            t.elapsed().as_secs_f64(),
        ));
        input = r.input;
    }

    let mut csv = String::from(
        "scan,file,a,a_esd,scale,w_deg2,x_deg,rwp,termination,iterations,evaluations,seconds\n",
    );
    for row in &rows {
        writeln!(
            csv,
            "{},{},{:.9},{},{:.9e},{:.6e},{:.6e},{:.6},{},{},{},{:.3}",
            row.scan,
            row.file,
            row.a,
            row.a_esd.map_or(String::new(), |e| format!("{e:.3e}")),
            row.scale,
            row.w_deg2,
            row.x_deg,
            row.rwp,
            row.termination,
            row.iterations,
            row.evaluations,
            row.seconds
        )?;
    }
    std::fs::write(&args.out, csv)?;
    let not_converged = rows.iter().filter(|r| r.termination != "Converged").count();
    println!(
        "PhaseSmith 0.7 chained series of {} scans in {:.1} s ({} threads), {} stopped other than Converged (see CSV); wrote {}",
        rows.len(),
        clock.elapsed().as_secs_f64(),
        args.threads,
        not_converged,
        args.out.display()
    );
    Ok(())
}
