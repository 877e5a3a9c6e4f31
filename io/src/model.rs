//! The TOML model schema: phases, instrument, background and 2θ range of a bragg project.
//!
//! A model file describes everything `bragg simulate` (and later `bragg refine`) needs; it
//! round-trips through serde. Unknown keys are errors (a typo must not be ignored silently).
//! The schema is documented with examples in the README and `fixtures/models/`.
//!
//! ```toml
//! [instrument]
//! wavelength = 0.458              # Å; or radiation = "CuKa" (+ kalpha2_ratio = 0.5)
//! preset = "synchrotron"          # defaults for everything not given: synchrotron | lab
//! zero = 0.0                      # degrees 2θ
//! [instrument.profile]            # U, V, W (deg²), X, Y (deg), asym (S/L + H/L)
//! u = 0.0
//! v = 0.0
//! w = 4e-5
//! x = 0.0
//! y = 0.002
//! asym = 0.002
//!
//! [background]
//! chebyshev = [100.0, -20.0, 5.0]
//!
//! [range]                         # degrees 2θ
//! start = 2.0
//! stop = 40.0
//! step = 0.001
//!
//! [[phase]]
//! name = "LTNO"
//! space_group = "Fm-3m"
//! cell = { a = 4.14 }             # edges Å, angles degrees; tied ones follow the system
//! scale = 1.0
//! [[phase.site]]
//! label = "M1"
//! wyckoff = "a"
//! species = ["Li", "Ti", "Ni"]
//! occupancy = [0.585, 0.29, 0.125]
//! biso = 0.5
//! ```
//!
//! # Refinement control (`[refine]`, read by `bragg refine`, ignored by `bragg simulate`)
//!
//! Every key is optional; without a `[refine]` table `bragg refine` runs the default staged
//! strategy (scale and background → cell, zero, displacement → profile → atoms) over the whole
//! scan. Parameter keys are the typed keys of `bragg-refine` (`LTNO.scale`, `LTNO.cell.a`,
//! `LTNO.M1.occ.Ni`, `LTNO.M1.biso`, `LTNO.O1.x`, `LTNO.po`, `LTNO.I.2,0,0`, `inst.zero`,
//! `inst.displacement`, `inst.U` … `inst.Y`, `inst.P`, `inst.asym`, `bkg.0`, `bkg.1`, …).
//! Keys contain dots, so as TOML table keys (in `[refine.bounds]`) they must be quoted.
//! Angles are degrees 2θ.
//!
//! ```toml
//! [refine]
//! mode = "rietveld"               # rietveld (default) | lebail | pawley
//! strategy = "manual"             # default | manual (implied by params or [[refine.stage]])
//! range = [15.0, 140.0]           # fitted 2θ window, START < STOP (else the whole scan)
//! exclude = [[20.0, 22.0]]        # 2θ regions left out of the fit (each START < STOP)
//! # Manual strategy: one stage refining exactly these …
//! params = ["LTNO.scale", "bkg.0", "bkg.1", "LTNO.cell.a", "inst.zero"]
//! # … or several stages, run in order, each refining exactly its own list:
//! # [[refine.stage]]
//! # name = "scale, background"
//! # params = ["LTNO.scale", "bkg.0", "bkg.1"]
//! constraints = [
//!   { kind = "site_total", phase = "LTNO", site = "M1" },
//!   { kind = "conserve_species", phase = "LTNO", species = "Ni", sites = ["M1", "T1"] },
//!   { kind = "linear", terms = [["LTNO.M1.occ.Ni", 4.0], ["LTNO.T1.occ.Ni", 8.0]] },
//! ]
//! [refine.bounds]                 # key → [lo, hi]; a step past a bound stops at it
//! "LTNO.M1.occ.Ni" = [0.0, 0.3]
//! ```
//!
//! Only the syntax is checked here; `bragg refine` resolves the keys against the model and
//! reports an unknown key, phase or site with this file's name and line.

use crate::cif::read_cif;
use crate::error::{Error, Result};
use bragg_crystal::background::ChebyshevBackground;
use bragg_crystal::instrument::{MarchDollase, Polarization, Radiation, DEFAULT_KALPHA2_RATIO};
use bragg_crystal::pattern::{
    Geometry, Instrument, PatternModel, PhaseContribution, ProbeKind, TwoThetaRange,
};
use bragg_crystal::profile::ProfileParams;
use bragg_crystal::structure::{Occupant, Phase, Site};
use bragg_crystal::symmetry::CellParam;
use bragg_crystal::{Cell, SpaceGroup, Species};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The whole model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// Instrument description.
    pub instrument: InstrumentSpec,
    /// Background; none means zero background.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<BackgroundSpec>,
    /// 2θ range of the pattern to compute (simulate) or fit (refine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<RangeSpec>,
    /// Phases, in order.
    #[serde(rename = "phase", default)]
    pub phases: Vec<PhaseSpec>,
    /// Refinement control for `bragg refine` (module documentation); ignored by
    /// `bragg simulate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refine: Option<RefineSpec>,
    /// Series control for `bragg sequential` (see [`SequentialSpec`]); ignored by the other
    /// commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequential: Option<SequentialSpec>,
}

/// The `[sequential]` table: how `bragg sequential` fits a scan series (the `[refine]` table
/// still controls the fit of the reference scan). Every key is optional; command-line flags
/// override it.
///
/// ```toml
/// [sequential]
/// mode = "chained"                 # chained | independent | reverse
/// per_scan = ["cell", "scale", "profile", "background"]   # groups and/or parameter keys
/// profile_terms = ["W", "Y"]       # profile terms of the "profile" group
/// background_terms = 2             # Chebyshev terms of the "background" group (from T0)
/// fixed_phases = ["Be", "Al"]      # window phases: cell fixed at the reference fit
/// rwp_factor = 1.5                 # Rwp above factor × the last good scan's is retried
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequentialSpec {
    /// `chained`, `independent` or `reverse`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Parameters refined per scan: groups (`cell`, `scale`, `profile`, `background`,
    /// `zero`, `displacement`) and/or parameter keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_scan: Vec<String>,
    /// Profile terms (`U`, `V`, `W`, `P`, `X`, `Y`, `asym`) of the `profile` group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_terms: Option<Vec<String>>,
    /// Chebyshev background terms (from T0) of the `background` group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_terms: Option<usize>,
    /// Phases whose cell stays at the reference fit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_phases: Vec<String>,
    /// Rwp degradation factor that triggers a retry and then a flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rwp_factor: Option<f64>,
}

/// The `[refine]` table: how `bragg refine` fits the model (module documentation). Parameter
/// keys are kept as text here and resolved by the refinement, which names this file's line
/// when one is unknown.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefineSpec {
    /// Rietveld (structure factors from the model, default), Le Bail or Pawley (extracted
    /// intensities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<RefineMode>,
    /// The default staged strategy, or the manual stages given by `params` / `stage`
    /// (manual is implied when either is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<StrategyKind>,
    /// Manual strategy with a single stage: the keys it refines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<String>,
    /// Manual strategy with several stages (`[[refine.stage]]`), run in order.
    #[serde(rename = "stage", default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageSpec>,
    /// Bounds `[lo, hi]` (units of the parameter) by key.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub bounds: std::collections::BTreeMap<String, [f64; 2]>,
    /// Linear equality constraints, held at their starting value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<ConstraintSpec>,
    /// Excluded 2θ regions `[start, stop]` in degrees.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<[f64; 2]>,
    /// Fitted 2θ window `[start, stop]` in degrees (else `[range]` start/stop, else the whole
    /// scan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[f64; 2]>,
}

/// What `bragg refine` fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RefineMode {
    /// Intensities from the structure (Rietveld 1969).
    Rietveld,
    /// Intensities extracted iteratively by Rietveld partitioning (Le Bail, Duroy & Fourquet
    /// 1988).
    Lebail,
    /// Intensities refined as least-squares parameters (Pawley 1981).
    Pawley,
}

/// Which refinement strategy `bragg refine` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StrategyKind {
    /// The staged default strategy of `bragg-refine`.
    Default,
    /// The stages given in the file.
    Manual,
}

/// One `[[refine.stage]]`: a name and the keys it refines (exactly these; the others are
/// fixed during the stage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// Name shown in the stage table (default `stage N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Parameter keys refined in this stage.
    pub params: Vec<String>,
}

/// One entry of `refine.constraints`, selected by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConstraintSpec {
    /// Σ cᵢ pᵢ held at its starting value: `terms = [["KEY", c], …]`.
    Linear {
        /// (key, coefficient) pairs.
        terms: Vec<(String, f64)>,
    },
    /// The total occupancy of a site held fixed.
    SiteTotal {
        /// Phase name.
        phase: String,
        /// Site label.
        site: String,
    },
    /// The amount of a species over several sites held fixed (Σ multiplicity × occupancy).
    ConserveSpecies {
        /// Phase name.
        phase: String,
        /// Element symbol or species text.
        species: String,
        /// Site labels sharing the species.
        sites: Vec<String>,
    },
}

/// Instrument presets providing defaults for every key not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// 11-BM-like synchrotron (see `Instrument::synchrotron`).
    Synchrotron,
    /// Bragg–Brentano laboratory diffractometer (see `Instrument::lab_bragg_brentano`).
    Lab,
}

/// The `[instrument]` table.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentSpec {
    /// Monochromatic wavelength in Å.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wavelength: Option<f64>,
    /// Named lab source (`CuKa`, `CuKa1`, `MoKa`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radiation: Option<String>,
    /// Kα2/Kα1 intensity ratio for a named doublet (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kalpha2_ratio: Option<f64>,
    /// Defaults to start from: `synchrotron` when a wavelength is given, `lab` for a named
    /// source, unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// `xray` (default) or `neutron`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeKind>,
    /// Zero shift, degrees 2θ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zero: Option<f64>,
    /// Geometry table, e.g. `{ kind = "bragg_brentano", goniometer_radius_mm = 240.0,
    /// displacement_um = 0.0 }` or `{ kind = "debye_scherrer", mu_r = 0.3 }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geometry: Option<Geometry>,
    /// Polarisation, e.g. `{ kind = "fraction", fraction = 0.99 }` or
    /// `{ kind = "monochromator", two_theta_m_deg = 26.6 }` or `{ kind = "unpolarized" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polarization: Option<Polarization>,
    /// Profile parameters (all of u, v, w, x, y; p and asym optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<ProfileParams>,
    /// Include anomalous dispersion (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomalous: Option<bool>,
}

/// The `[background]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackgroundSpec {
    /// Chebyshev coefficients (counts), T0 first, over the pattern's 2θ range.
    pub chebyshev: Vec<f64>,
}

/// The `[range]` table, degrees 2θ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeSpec {
    /// First point.
    pub start: f64,
    /// Last point.
    pub stop: f64,
    /// Step.
    pub step: f64,
}

/// Cell parameters: edges in Å, angles in degrees; parameters tied or fixed by the crystal
/// system may be left out.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellSpec {
    /// a (Å).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a: Option<f64>,
    /// b (Å).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b: Option<f64>,
    /// c (Å).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<f64>,
    /// α (degrees).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// β (degrees).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// γ (degrees).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
}

/// One `[[phase]]`: either `cif = "file.cif"` (relative to the model file) or an inline
/// structure (`space_group`, `cell`, `[[phase.site]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSpec {
    /// Name used in parameter keys.
    pub name: String,
    /// A CIF holding the structure (its first data block, or the block named `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cif: Option<PathBuf>,
    /// Space group (Hermann–Mauguin symbol or number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_group: Option<String>,
    /// Cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell: Option<CellSpec>,
    /// Formula units per cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub z: Option<f64>,
    /// Phase scale factor (default 1).
    #[serde(default = "one")]
    pub scale: f64,
    /// March–Dollase preferred orientation `{ axis_hkl = [0, 0, 1], r = 0.9 }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_orientation: Option<MarchDollase>,
    /// Sites (inline structures).
    #[serde(rename = "site", default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<SiteSpec>,
}

fn one() -> f64 {
    1.0
}

/// One `[[phase.site]]`: placed by Wyckoff letter (with `xyz` giving its free coordinates
/// where it has any) or by explicit fractional coordinates `xyz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSpec {
    /// Site label.
    pub label: String,
    /// Wyckoff letter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wyckoff: Option<char>,
    /// Fractional coordinates (or the Wyckoff position's free x, y, z).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xyz: Option<[f64; 3]>,
    /// Species on the site (`Li`, `Ni2+`, …).
    pub species: Vec<String>,
    /// Occupancy of each species, same order (default 1 for a single species).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub occupancy: Vec<f64>,
    /// B_iso in Å².
    #[serde(default)]
    pub biso: f64,
}

/// A model file turned into crystal types, with the range it asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedModel {
    /// The pattern model.
    pub model: PatternModel,
    /// The 2θ range from the file, if any.
    pub range: Option<TwoThetaRange>,
}

/// Reads and validates a model file: syntax errors name the line, model errors the phase and
/// site.
pub fn read_model(path: &Path) -> Result<LoadedModel> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let file = parse_model(&text, path)?;
    file.build(path, &text)
}

/// Parses model text (TOML) without building it; errors carry the line of the offending key.
pub fn parse_model(text: &str, path: &Path) -> Result<ModelFile> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| line_of_offset(text, s.start));
        Error::Parse { path: path.to_path_buf(), line, message: e.message().to_string() }
    })
}

/// 1-based line of byte `offset` in `text`: one plus the number of `'\n'` before it (an
/// offset at the start of a line belongs to that line; offsets past the end are clamped).
fn line_of_offset(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes().get(..end).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count()) + 1
}

impl ModelFile {
    /// Builds the crystal-side model; `path` is the model file (CIF paths are relative to it)
    /// and `text` its contents (used to name the line of an error; may be empty).
    pub fn build(&self, path: &Path, text: &str) -> Result<LoadedModel> {
        let ctx = Ctx { path, text };
        let instrument = self.instrument.build(&ctx)?;
        let range = match self.range {
            Some(r) => Some(
                TwoThetaRange::new(r.start, r.stop, r.step)
                    .map_err(|e| ctx.crystal("[range]", e))?,
            ),
            None => None,
        };
        let mut phases = Vec::with_capacity(self.phases.len());
        for spec in &self.phases {
            phases.push(PhaseContribution {
                phase: spec.build(&ctx)?,
                scale: spec.scale,
                preferred_orientation: spec.preferred_orientation,
                extracted_intensities: None,
            });
        }
        let (lo, hi) = match range {
            Some(r) => (r.start_deg, r.stop_deg),
            None => (0.0, 180.0),
        };
        let coeffs = self.background.as_ref().map(|b| b.chebyshev.clone()).unwrap_or_default();
        let background =
            ChebyshevBackground::new(coeffs, lo, hi).map_err(|e| ctx.crystal("[background]", e))?;
        Ok(LoadedModel { model: PatternModel { instrument, phases, background }, range })
    }
}

/// Where a model came from, to name the file and line of an error found after parsing.
struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    /// 1-based line of the first occurrence of `needle` in the text (1 if absent).
    fn line(&self, needle: &str) -> usize {
        self.text.find(needle).map(|i| self.text[..i].lines().count().max(1)).unwrap_or(1)
    }
    /// 1-based line of the first line at or after the first `section` that assigns `key`
    /// (`key =` after optional spaces); the section's line if there is none.
    fn key_line(&self, section: &str, key: &str) -> usize {
        let start = self.line(section);
        self.text
            .lines()
            .enumerate()
            .skip(start.saturating_sub(1))
            .find(|(_, l)| {
                l.trim_start()
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map_or(start, |(i, _)| i + 1)
    }
    fn crystal(&self, needle: &str, source: bragg_crystal::Error) -> Error {
        Error::Crystal { path: self.path.to_path_buf(), line: self.line(needle), source }
    }
    fn missing(&self, needle: &str, what: String) -> Error {
        Error::Missing { path: self.path.to_path_buf(), line: self.line(needle), what }
    }
}

impl InstrumentSpec {
    /// The instrument: the preset's defaults overridden by every key given.
    fn build(&self, ctx: &Ctx<'_>) -> Result<Instrument> {
        let crystal = |e| ctx.crystal("[instrument", e);
        let radiation =
            match (&self.wavelength, &self.radiation) {
                (Some(_), Some(_)) => return Err(ctx.missing(
                    "[instrument",
                    "exactly one of instrument.wavelength and instrument.radiation (both given)"
                        .into(),
                )),
                (Some(w), None) => Radiation::monochromatic(*w),
                (None, Some(name)) => Radiation::from_name_with_ratio(
                    name,
                    self.kalpha2_ratio.unwrap_or(DEFAULT_KALPHA2_RATIO),
                ),
                (None, None) => {
                    return Err(ctx.missing(
                        "[instrument",
                        "instrument.wavelength (Å) or instrument.radiation (e.g. \"CuKa\")".into(),
                    ))
                }
            }
            .map_err(crystal)?;
        let preset = self.preset.unwrap_or(if self.wavelength.is_some() {
            Preset::Synchrotron
        } else {
            Preset::Lab
        });
        let mut inst = match preset {
            Preset::Synchrotron => {
                let mut i = Instrument::synchrotron(radiation.primary_wavelength_angstrom())
                    .map_err(crystal)?;
                i.radiation = radiation;
                i
            }
            Preset::Lab => Instrument::lab_bragg_brentano(radiation),
        };
        if let Some(p) = self.probe {
            inst.probe = p;
        }
        if let Some(z) = self.zero {
            inst.zero_deg = z;
        }
        if let Some(g) = self.geometry {
            inst.geometry = g;
        }
        if let Some(p) = self.polarization {
            inst.polarization = p;
        }
        if let Some(p) = self.profile {
            inst.profile = p;
        }
        if let Some(a) = self.anomalous {
            inst.anomalous = a;
        }
        inst.validate().map_err(|e| {
            // Name the line of the offending key when the error says which one it is.
            let key = match &e {
                bragg_crystal::Error::InvalidValue { name, .. } => match name.as_str() {
                    "inst.divergence" => Some("divergence_deg"),
                    "inst.window_fwhm" => Some("window_fwhm"),
                    "inst.zero" => Some("zero"),
                    "inst.displacement" => Some("displacement_um"),
                    _ => None,
                },
                _ => None,
            };
            let line =
                key.map_or_else(|| ctx.line("[instrument"), |k| ctx.key_line("[instrument", k));
            Error::Crystal { path: ctx.path.to_path_buf(), line, source: e }
        })?;
        Ok(inst)
    }
}

impl PhaseSpec {
    /// The phase: from its CIF, or from the inline structure.
    fn build(&self, ctx: &Ctx<'_>) -> Result<Phase> {
        let here = format!("name = \"{}\"", self.name);
        let path = ctx.path;
        if let Some(cif) = &self.cif {
            if self.space_group.is_some() || self.cell.is_some() || !self.sites.is_empty() {
                return Err(ctx.missing(
                    &here,
                    format!("phase {}: either cif or an inline structure, not both", self.name),
                ));
            }
            let cif_path = path.parent().map(|d| d.join(cif)).unwrap_or_else(|| cif.clone());
            let blocks = read_cif(&cif_path)?;
            let chosen =
                blocks.iter().find(|b| b.phase.name == self.name).or_else(|| blocks.first());
            let Some(block) = chosen else {
                return Err(Error::Missing {
                    path: cif_path,
                    line: 1,
                    what: "a data block with a structure".into(),
                });
            };
            let mut phase = block.phase.clone();
            phase.name = self.name.clone();
            if self.z.is_some() {
                phase.z = self.z;
            }
            return Ok(phase);
        }
        let Some(sg_text) = &self.space_group else {
            return Err(ctx.missing(&here, format!("phase {}: space_group (or cif)", self.name)));
        };
        let group = SpaceGroup::from_symbol(sg_text).map_err(|e| ctx.crystal(&here, e))?;
        let cell = self.cell.unwrap_or_default().build(&group, &self.name, ctx)?;
        let mut sites = Vec::with_capacity(self.sites.len());
        for s in &self.sites {
            sites.push(s.build(&group, &self.name, ctx)?);
        }
        let mut phase =
            Phase::new(self.name.clone(), cell, group, sites).map_err(|e| ctx.crystal(&here, e))?;
        phase.z = self.z;
        Ok(phase)
    }
}

impl CellSpec {
    /// A cell from the given parameters, the crystal system filling tied and fixed ones; a free
    /// parameter that is missing is an error naming it.
    fn build(&self, group: &SpaceGroup, phase: &str, ctx: &Ctx<'_>) -> Result<Cell> {
        let here = format!("name = \"{phase}\"");
        let given = [self.a, self.b, self.c, self.alpha, self.beta, self.gamma];
        let constraint = group.cell_constraint();
        let mut free = Vec::new();
        for p in constraint.free_params() {
            match given[p.index()] {
                Some(v) => free.push(v),
                None => {
                    return Err(ctx.missing(
                        &here,
                        format!(
                            "phase {phase}: cell.{} (free in space group {})",
                            p.name(),
                            group.symbol()
                        ),
                    ))
                }
            }
        }
        let cell = constraint.apply(&free).map_err(|e| ctx.crystal(&here, e))?;
        // Tied or fixed parameters that were given anyway must agree with the system.
        let values = [cell.a, cell.b, cell.c, cell.alpha_deg, cell.beta_deg, cell.gamma_deg];
        for p in CellParam::ALL {
            if let Some(v) = given[p.index()] {
                if (v - values[p.index()]).abs() > 1e-6 * values[p.index()].abs().max(1.0) {
                    return Err(ctx.missing(
                        &here,
                        format!(
                            "consistent cell: phase {phase}: cell.{} = {v} contradicts space group {} (expected {})",
                            p.name(),
                            group.symbol(),
                            values[p.index()]
                        ),
                    ));
                }
            }
        }
        Ok(cell)
    }
}

impl SiteSpec {
    /// The site, placed by Wyckoff letter or coordinates.
    fn build(&self, group: &SpaceGroup, phase: &str, ctx: &Ctx<'_>) -> Result<Site> {
        let here = format!("label = \"{}\"", self.label);
        let occupancy = if self.occupancy.is_empty() && self.species.len() == 1 {
            vec![1.0]
        } else {
            self.occupancy.clone()
        };
        if occupancy.len() != self.species.len() {
            return Err(ctx.missing(
                &here,
                format!(
                    "matching occupancies: phase {phase}, site {}: {} species but {} occupancies",
                    self.label,
                    self.species.len(),
                    occupancy.len()
                ),
            ));
        }
        let mut occupants = Vec::with_capacity(self.species.len());
        for (s, occ) in self.species.iter().zip(occupancy) {
            occupants.push(Occupant {
                species: Species::parse(s).map_err(|e| ctx.crystal(&here, e))?,
                occupancy: occ,
            });
        }
        match (self.wyckoff, self.xyz) {
            (Some(letter), xyz) => Site::at_wyckoff(
                self.label.clone(),
                group,
                letter,
                xyz.unwrap_or([0.0; 3]),
                occupants,
                self.biso,
            )
            .map_err(|e| ctx.crystal(&here, e)),
            (None, Some(xyz)) => Ok(Site::new(self.label.clone(), xyz, occupants, self.biso)),
            (None, None) => Err(ctx.missing(
                &here,
                format!("phase {phase}, site {}: wyckoff letter or xyz", self.label),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str =
        "[instrument]\nwavelength = 0.458\n\n[[phase]]\nname = \"LTNO\"\ncif = \"x.cif\"\n";

    #[test]
    fn refine_table_parses_with_every_key() {
        let text = format!(
            "{BASE}\n[refine]\nmode = \"pawley\"\nstrategy = \"manual\"\nrange = [15.0, 140.0]\n\
             exclude = [[20.0, 22.0], [30.0, 31.0]]\nparams = [\"LTNO.cell.a\", \"bkg.0\"]\n\
             constraints = [\n  {{ kind = \"site_total\", phase = \"LTNO\", site = \"M1\" }},\n  \
             {{ kind = \"conserve_species\", phase = \"LTNO\", species = \"Ni\", sites = [\"M1\", \"T1\"] }},\n  \
             {{ kind = \"linear\", terms = [[\"LTNO.M1.occ.Ni\", 4.0], [\"LTNO.T1.occ.Ni\", 8.0]] }},\n]\n\
             [[refine.stage]]\nname = \"first\"\nparams = [\"LTNO.scale\"]\n\
             [refine.bounds]\n\"LTNO.M1.occ.Ni\" = [0.0, 0.3]\n"
        );
        let file = parse_model(&text, Path::new("m.toml")).unwrap();
        let r = file.refine.clone().unwrap();
        assert_eq!(r.mode, Some(RefineMode::Pawley));
        assert_eq!(r.strategy, Some(StrategyKind::Manual));
        assert_eq!(r.range, Some([15.0, 140.0]));
        assert_eq!(r.exclude, vec![[20.0, 22.0], [30.0, 31.0]]);
        assert_eq!(r.params, vec!["LTNO.cell.a".to_string(), "bkg.0".to_string()]);
        assert_eq!(
            r.stages,
            vec![StageSpec { name: Some("first".into()), params: vec!["LTNO.scale".into()] }]
        );
        assert_eq!(r.bounds.get("LTNO.M1.occ.Ni"), Some(&[0.0, 0.3]));
        assert_eq!(
            r.constraints,
            vec![
                ConstraintSpec::SiteTotal { phase: "LTNO".into(), site: "M1".into() },
                ConstraintSpec::ConserveSpecies {
                    phase: "LTNO".into(),
                    species: "Ni".into(),
                    sites: vec!["M1".into(), "T1".into()]
                },
                ConstraintSpec::Linear {
                    terms: vec![("LTNO.M1.occ.Ni".into(), 4.0), ("LTNO.T1.occ.Ni".into(), 8.0)]
                },
            ]
        );
        // Round trip through serde.
        let back: ModelFile = toml::from_str(&toml::to_string(&file).unwrap()).unwrap();
        assert_eq!(back, file);
    }

    /// An instrument value that fails validation is reported on its own line.
    #[test]
    fn invalid_instrument_value_names_its_line() {
        let text = "[instrument]\nwavelength = 0.458\ngeometry = { kind = \"bragg_brentano\", \
                    goniometer_radius_mm = 240.0, displacement_um = 0.0 }\n\n\
                    [instrument.profile]\nu = 0.0\nv = 0.0\nw = 1e-4\nx = 0.0\ny = 0.01\n\
                    divergence_deg = -1.0\n\n[[phase]]\nname = \"LTNO\"\ncif = \"x.cif\"\n";
        let path = Path::new("m.toml");
        let file = parse_model(text, path).unwrap();
        let err = file.build(path, text).unwrap_err();
        assert!(
            matches!(&err, Error::Crystal { line: 11, .. })
                && err.to_string().contains("divergence"),
            "{err}"
        );
    }

    /// FullProf's profile function 5, its Asy1–4 and its peak window (Wdt) as the README's
    /// model shows them.
    #[test]
    fn fullprof_profile_keys_parse() {
        let text = format!(
            "{BASE}\n[instrument.profile]\nu = 0.031\nv = -0.052\nw = 0.032\nx = 0.0147\n\
             y = 0.0\nfunction = \"pseudo_voigt\"\nbb = [-0.34, 0.0074, 1.23, 0.0]\n\
             window_fwhm = 6.0\n"
        );
        let file = parse_model(&text, Path::new("m.toml")).unwrap();
        let p = file.instrument.profile.unwrap();
        assert_eq!(p.function, bragg_crystal::profile::ProfileFunction::PseudoVoigt);
        assert_eq!(p.bb, [-0.34, 0.0074, 1.23, 0.0]);
        assert_eq!(p.window_fwhm, 6.0);
        // Absent, the window is 0 (the default area cutoff).
        let file = parse_model(BASE, Path::new("m.toml")).unwrap();
        assert!(file.instrument.profile.is_none_or(|p| p.window_fwhm == 0.0));
    }

    #[test]
    fn refine_table_is_optional_and_strict() {
        let file = parse_model(BASE, Path::new("m.toml")).unwrap();
        assert_eq!(file.refine, None);
        // A typo in [refine] is rejected, naming the key.
        let text = format!("{BASE}\n[refine]\nparms = [\"LTNO.cell.a\"]\n");
        let err = parse_model(&text, Path::new("m.toml")).unwrap_err().to_string();
        assert!(err.contains("parms"), "{err}");
        // A bad value names its line (line 9 of this text).
        let text = format!("{BASE}\n[refine]\nmode = \"rietvelt\"\n");
        let err = parse_model(&text, Path::new("m.toml")).unwrap_err().to_string();
        assert!(err.starts_with("m.toml:9:"), "{err}");
        let text = format!(
            "{BASE}\n[refine]\nconstraints = [{{ kind = \"site_total\", phase = \"A\", site = \"B\", x = 1 }}]\n"
        );
        assert!(parse_model(&text, Path::new("m.toml")).is_err());
    }

    #[test]
    fn error_at_the_start_of_a_line_names_that_line() {
        // BASE has 6 lines; line 7 is blank, line 8 `[refine]`, line 9 the misspelt key,
        // which starts its line (the span begins right after a '\n').
        let text = format!("{BASE}\n[refine]\nparms = [\"LTNO.cell.a\"]\n");
        let offset = text.find("parms").unwrap();
        assert_eq!(text.as_bytes()[offset - 1], b'\n');
        let err = parse_model(&text, Path::new("m.toml")).unwrap_err().to_string();
        assert!(err.starts_with("m.toml:9:"), "{err}");
        // A duplicate table header at the very start of line 3.
        let err = parse_model("a = 1\n\n[x]\n[x]\n", Path::new("d.toml")).unwrap_err();
        let Error::Parse { line, .. } = err else { panic!("{err}") };
        assert_eq!(line, 4);
        // The helper itself: offsets 0, just after and just before a newline, and past the end.
        assert_eq!(line_of_offset("ab\ncd", 0), 1);
        assert_eq!(line_of_offset("ab\ncd", 2), 1);
        assert_eq!(line_of_offset("ab\ncd", 3), 2);
        assert_eq!(line_of_offset("ab\ncd\n", 99), 3);
    }
}
