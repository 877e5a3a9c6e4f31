//! `bragg convert IN OUT`: read any powder file `bragg_io::read_powder` reads (format chosen
//! by content) and write it in the format named by OUT's extension, atomically.
//!
//! Output formats: `.xye` (2θ, intensity, esd; two columns when the input has no esd), `.xy`
//! (2θ, intensity), `.csv` (header `two_theta_deg,intensity[,esd]`), `.cif` / `.pdcif`
//! (pdCIF via `bragg_io::write_pdcif`, with the wavelengths and specimen name), `.fxye` /
//! `.gsa` / `.gsas` (GSAS FXYE: `BANK 1 n n CONS start step 0 0 FXYE`, 2θ in centidegrees as
//! in Larson & Von Dreele, GSAS manual LAUR 86-748, "GSAS Standard Powder Data File"; needs
//! an esd). The output extension is checked before the input is read; nothing is written
//! when anything fails.

use anyhow::{bail, Context, Result};
use bragg_io::{
    read_powder_with_wavelength, write_atomic, write_pdcif, write_xye, PdCifPattern, PowderData,
    PowderScan,
};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `bragg convert`.
#[derive(Debug, Clone, Args)]
pub struct ConvertArgs {
    /// Input powder file: xy/xye/csv, GSAS, FullProf, Bruker RAW v1–v4 / UXD / BRML, XRDML,
    /// Rigaku RAS / RASX, pdCIF, Fit2D/pyFAI .chi (gzip transparently).
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// Output file; the extension picks the format: .xye, .xy, .csv, .cif/.pdcif,
    /// .fxye/.gsa/.gsas.
    #[arg(value_name = "OUT")]
    pub output: PathBuf,
    /// Wavelength in Å, for inputs on a Q scale (Fit2D/pyFAI .chi): 2θ = 2 asin(Qλ/4π).
    #[arg(long, value_name = "Å")]
    pub wavelength: Option<f64>,
}

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Three columns (two without esd).
    Xye,
    /// Two columns.
    Xy,
    /// Comma-separated with a header.
    Csv,
    /// Powder CIF.
    PdCif,
    /// GSAS FXYE.
    Fxye,
}

impl OutputFormat {
    /// The format named by `path`'s extension (any case).
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext =
            path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        Ok(match ext.as_str() {
            "xye" => OutputFormat::Xye,
            "xy" => OutputFormat::Xy,
            "csv" => OutputFormat::Csv,
            "cif" | "pdcif" => OutputFormat::PdCif,
            "fxye" | "gsa" | "gsas" => OutputFormat::Fxye,
            _ => bail!(
                "{}: unknown output extension '.{ext}'; use .xye, .xy, .csv, .cif (pdCIF) or \
                 .fxye (GSAS)",
                path.display()
            ),
        })
    }
}

/// Writes GSAS FXYE text (one bank, 2θ in centidegrees).
fn write_fxye(path: &Path, scan: &PowderScan, title: &str) -> Result<()> {
    let d = &scan.data;
    let Some(esd) = &d.esd else {
        bail!(
            "{}: GSAS FXYE needs an esd per point and the input has none; write .xy or .cif",
            path.display()
        );
    };
    let n = d.len();
    let (Some(&first), Some(&last)) = (d.two_theta_deg.first(), d.two_theta_deg.last()) else {
        bail!("{}: no points to write", path.display());
    };
    let step = if n > 1 { (last - first) / (n - 1) as f64 } else { 0.0 };
    let title: String = title.chars().filter(|c| !c.is_control()).take(80).collect();
    write_atomic(path, |w: &mut dyn Write| {
        writeln!(w, "{title}")?;
        writeln!(w, "BANK 1 {n} {n} CONS {} {} 0 0 FXYE", first * 100.0, step * 100.0)?;
        for ((x, y), e) in d.two_theta_deg.iter().zip(&d.intensity).zip(esd) {
            writeln!(w, "{} {y} {e}", x * 100.0)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Writes CSV: `two_theta_deg,intensity[,esd]`.
fn write_csv(path: &Path, d: &PowderData) -> Result<()> {
    write_atomic(path, |w: &mut dyn Write| {
        match &d.esd {
            Some(e) => {
                writeln!(w, "two_theta_deg,intensity,esd")?;
                for ((x, y), e) in d.two_theta_deg.iter().zip(&d.intensity).zip(e) {
                    writeln!(w, "{x},{y},{e}")?;
                }
            }
            None => {
                writeln!(w, "two_theta_deg,intensity")?;
                for (x, y) in d.two_theta_deg.iter().zip(&d.intensity) {
                    writeln!(w, "{x},{y}")?;
                }
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// Runs `bragg convert`.
pub fn run(args: &ConvertArgs, out: &mut dyn Write) -> Result<()> {
    let format = OutputFormat::from_path(&args.output)?;
    if let (Ok(a), Ok(b)) = (args.input.canonicalize(), args.output.canonicalize()) {
        if a == b {
            bail!("{}: input and output are the same file", args.output.display());
        }
    }
    let scan = read_powder_with_wavelength(&args.input, args.wavelength)
        .with_context(|| format!("reading {}", args.input.display()))?;
    let d = &scan.data;
    let n = d.len();
    let wl: Vec<String> =
        scan.meta.wavelengths.iter().map(|w| format!("{} Å", w.angstrom)).collect();
    let input_name =
        args.input.file_name().map_or(String::new(), |s| s.to_string_lossy().to_string());
    let mut comment = format!("converted from {input_name} ({:?})", scan.meta.format);
    if !wl.is_empty() {
        comment.push_str(&format!(", wavelength {}", wl.join(" / ")));
    }
    let written = match format {
        OutputFormat::Xye => {
            write_xye(&args.output, d, &comment)?;
            if d.esd.is_some() {
                "xye, 3 columns"
            } else {
                "xye, 2 columns (the input has no esd)"
            }
        }
        OutputFormat::Xy => {
            let two = PowderData { esd: None, ..d.clone() };
            write_xye(&args.output, &two, &comment)?;
            "xy, 2 columns"
        }
        OutputFormat::Csv => {
            write_csv(&args.output, d)?;
            "csv"
        }
        OutputFormat::PdCif => {
            let stem = args
                .input
                .file_stem()
                .map_or("pattern".to_string(), |s| s.to_string_lossy().to_string());
            let mut p = PdCifPattern::new(&stem, &d.two_theta_deg, &d.intensity);
            p.esd = d.esd.as_deref();
            p.wavelengths = &scan.meta.wavelengths;
            p.comment = scan.meta.comment.as_deref();
            write_pdcif(&args.output, &p)?;
            "pdCIF"
        }
        OutputFormat::Fxye => {
            write_fxye(&args.output, &scan, &comment)?;
            "GSAS FXYE"
        }
    };
    let (a, b) = (
        d.two_theta_deg.first().copied().unwrap_or(0.0),
        d.two_theta_deg.last().copied().unwrap_or(0.0),
    );
    writeln!(
        out,
        "read {}: {:?}, {n} points, 2θ {a}–{b}°",
        args.input.display(),
        scan.meta.format
    )?;
    if !wl.is_empty() {
        writeln!(out, "  wavelength {}", wl.join(" / "))?;
    }
    for note in &scan.meta.notes {
        writeln!(out, "  note: {note}")?;
    }
    writeln!(out, "wrote {} ({written})", args.output.display())?;
    Ok(())
}
