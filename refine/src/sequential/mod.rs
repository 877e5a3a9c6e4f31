//! Sequential refinement of a scan series (in situ / operando cycling, temperature ramps).
//!
//! # The scheme
//! 1. The *reference scan* (the first of the series; the last in [`SeriesMode::Reverse`]) is
//!    fitted with the full strategy ([`FirstFit`]: the default staged strategy or the model's
//!    stages). Every shard of a sharded run fits the same reference, so shards agree.
//! 2. Every other scan refines only the *per-scan* parameters ([`PerScan`]: cells, scales, a
//!    few profile widths, the low background terms); everything else (zero, displacement,
//!    the other profile terms, atoms, the higher background terms that carry its shape, the
//!    cells of window phases such as Be, Al or Li) is *shared*: fixed at the reference fit.
//! 3. Starts: [`SeriesMode::Chained`] starts each scan from the previous good scan's result,
//!    [`SeriesMode::Independent`] every scan from the reference result (in parallel with rayon),
//!    [`SeriesMode::Reverse`] chains from the last scan backwards.
//! 4. A fit that fails, does not converge, leaves a per-scan parameter at a bound, or whose
//!    Rwp exceeds `rwp_factor` × the Rwp of the last good scan (the reference in independent
//!    mode) or `rwp_factor`² × the reference Rwp (slow drift) is
//!    retried from the reference result, then from the reference result after the widening
//!    search of [`crate::strategy::widening_search`] (for jumps larger than a peak width); if
//!    every attempt is bad the best one is reported with its [`Flag`]s and is never used as a
//!    start for the next scan.
//!
//! 5. esds: a per-scan fit treats the shared parameters as exact, so its esd (`esd_stat`)
//!    describes scan-to-scan differences; the error of the shared parameters (the zero
//!    shift above all) moves every scan alike. That common part, [`SharedCovariance`], comes
//!    from the reference fit's covariance and is added in quadrature to give `esd`, the esd of
//!    the absolute value.
//!
//! The library reads and writes no file: scans come through a loader closure (one scan is
//! read when it is fitted, so memory is bounded by the scans in flight) and each finished row
//! goes to a sink closure (the CLI appends it to a log, so an interrupted run resumes with
//! [`Resume`]).

pub mod order;
pub mod table;

pub use order::{natural_cmp, Shard};
pub use table::SequentialTable;

use crate::covariance::Covariance;
use crate::derived::cell_volume;
use crate::error::{Error, Result};
use crate::fit::{FitOptions, FitOutcome, Refinement};
use crate::key::{CellIndex, InstItem, ParamKey, PhaseItem};
use crate::observations::Observations;
use crate::params::Constraint;
use crate::strategy::{
    apply_default_bounds, run_default, run_stage, widening_search, StrategyOptions,
};
use bragg_crystal::pattern::{PatternModel, ProfileTerm};
use bragg_crystal::symmetry::{CellParam, CellRule};
use nalgebra::DMatrix;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Instant;

/// How the scans of a series are started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesMode {
    /// Each scan starts from the previous good scan's result, in series order.
    #[default]
    Chained,
    /// Every scan starts from the reference result; scans are fitted in parallel.
    Independent,
    /// Chained from the last scan backwards.
    Reverse,
}

impl SeriesMode {
    /// `chained`, `independent` or `reverse`.
    pub fn name(self) -> &'static str {
        match self {
            SeriesMode::Chained => "chained",
            SeriesMode::Independent => "independent",
            SeriesMode::Reverse => "reverse",
        }
    }
}

impl fmt::Display for SeriesMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SeriesMode {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "chained" => Ok(SeriesMode::Chained),
            "independent" => Ok(SeriesMode::Independent),
            "reverse" => Ok(SeriesMode::Reverse),
            _ => Err(Error::InvalidInput(format!(
                "sequential mode '{text}': expected chained, independent or reverse"
            ))),
        }
    }
}

/// One scan of a series: its 1-based number in the whole (naturally sorted) series and its
/// file (or any label).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanEntry {
    /// 1-based position in the whole series (the same in every shard).
    pub scan: usize,
    /// File name or label.
    pub file: String,
}

/// What a scan's file says besides the points.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ScanMeta {
    /// Start of the measurement in seconds on the file's clock (seconds since 1970-01-01
    /// 00:00 of the time stamp as written, no time zone applied), when the file has a time
    /// stamp.
    pub epoch_s: Option<f64>,
    /// Sample temperature in K, when the file states it.
    pub temperature_k: Option<f64>,
}

/// A scan read for fitting.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedScan {
    /// The fitted points (range and exclusions applied).
    pub observations: Observations,
    /// Time and temperature.
    pub meta: ScanMeta,
}

/// The full parameter state of a fitted scan: every parameter key of the model with its value
/// (used to start the next scan and to resume).
pub type State = Vec<(ParamKey, f64)>;

/// A parameter value with its esd in a row (esd `None` when not refined or held at a bound).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamValue {
    /// The key (`LTNO.cell.a`).
    pub key: ParamKey,
    /// Value in the parameter's unit (Å, degrees, Å², counts, …).
    pub value: f64,
    /// Its esd: the per-scan statistical part combined with the common part transmitted
    /// from the shared parameters ([`SharedCovariance`]); the one to compare absolute values
    /// with.
    pub esd: Option<f64>,
    /// The per-scan statistical part alone (shared parameters taken as exact): the one for
    /// differences and trends within the series.
    #[serde(default)]
    pub esd_stat: Option<f64>,
}

/// The cell volume of a phase with its esd.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseVolume {
    /// Phase name.
    pub phase: String,
    /// Volume in Å³.
    pub volume: f64,
    /// esd in Å³ (None when the cell was not refined), as [`ParamValue::esd`].
    pub esd: Option<f64>,
    /// The per-scan statistical part, as [`ParamValue::esd_stat`].
    #[serde(default)]
    pub esd_stat: Option<f64>,
}

/// Electrochemistry of a scan, filled by the cycler-log analysis (empty here).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Echem {
    /// Li content x averaged over the scan's exposure.
    pub x_li: Option<f64>,
    /// Cell voltage in V averaged over the exposure.
    pub voltage_v: Option<f64>,
    /// `charge`, `discharge` or `rest`.
    pub segment: Option<String>,
    /// Cycle number (1-based).
    pub cycle: Option<u32>,
}

/// Why a row is not trusted. A row with no flag is good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flag {
    /// The scan could not be read or has unusable points (NaN, …).
    Unreadable {
        /// Why.
        message: String,
    },
    /// Every fit attempt ended in an error.
    FitError {
        /// The last error.
        message: String,
    },
    /// The minimiser stopped without reaching a minimum.
    NotConverged {
        /// The termination.
        termination: String,
    },
    /// Rwp above `rwp_factor` × the reference Rwp.
    RwpJump {
        /// This scan's Rwp (fraction).
        rwp: f64,
        /// The Rwp compared with (fraction).
        reference: f64,
    },
    /// A parameter ended at one of its bounds (or, for a scale, at or below zero).
    AtBound {
        /// Its key.
        key: String,
    },
    /// Parameters fixed because the normal matrix was singular with them.
    Singular {
        /// Their keys.
        params: Vec<String>,
    },
}

impl Flag {
    /// A short code for tables: `unreadable`, `fit_error`, `not_converged`, `rwp_jump`,
    /// `at_bound:KEY`, `singular:KEY+KEY`.
    pub fn code(&self) -> String {
        match self {
            Flag::Unreadable { .. } => "unreadable".into(),
            Flag::FitError { .. } => "fit_error".into(),
            Flag::NotConverged { .. } => "not_converged".into(),
            Flag::RwpJump { .. } => "rwp_jump".into(),
            Flag::AtBound { key } => format!("at_bound:{key}"),
            Flag::Singular { params } => format!("singular:{}", params.join("+")),
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flag::Unreadable { message } => write!(f, "unreadable: {message}"),
            Flag::FitError { message } => write!(f, "fit error: {message}"),
            Flag::NotConverged { termination } => write!(f, "not converged: {termination}"),
            Flag::RwpJump { rwp, reference } => write!(
                f,
                "Rwp {:.2} % is {:.2} × the reference {:.2} %",
                100.0 * rwp,
                rwp / reference,
                100.0 * reference
            ),
            Flag::AtBound { key } => write!(f, "{key} at a bound"),
            Flag::Singular { params } => write!(f, "singular with {}", params.join(", ")),
        }
    }
}

/// Where the reported fit of a scan started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartKind {
    /// The reference scan's full strategy.
    FullStrategy,
    /// The previous good scan's result (chained, reverse).
    Previous,
    /// The reference scan's result.
    Reference,
    /// The reference result after a widening search of the per-scan cells.
    ReferenceWidened,
}

/// One row of the result: a scan with its per-scan parameters, volumes, statistics and flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanRow {
    /// 1-based scan number in the whole series.
    pub scan: usize,
    /// File name or label.
    pub file: String,
    /// Seconds since the earliest time stamp of the table (filled by [`SequentialTable`]).
    #[serde(default)]
    pub time_s: Option<f64>,
    /// Time and temperature from the file.
    #[serde(default)]
    pub meta: ScanMeta,
    /// Electrochemistry (filled by the cycler-log analysis).
    #[serde(default)]
    pub echem: Echem,
    /// The per-scan parameters, in the order of the series' per-scan keys (empty for an
    /// unreadable scan).
    pub values: Vec<ParamValue>,
    /// Cell volume of each phase.
    pub volumes: Vec<PhaseVolume>,
    /// Rwp (fraction).
    pub rwp: Option<f64>,
    /// Goodness of fit χ²_ν^½.
    pub gof: Option<f64>,
    /// Problems; empty for a good row.
    pub flags: Vec<Flag>,
    /// Start of the reported fit.
    pub start: Option<StartKind>,
    /// Fit attempts made.
    pub attempts: usize,
    /// Residual evaluations of the reported fit.
    pub evaluations: usize,
    /// Wall time of the scan (all attempts), seconds.
    pub seconds: f64,
    /// The shared parameters refined in the reference fit with their esds (reference row
    /// only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared: Vec<ParamValue>,
    /// The covariance the shared parameters transmit to the per-scan ones (reference row
    /// only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_covariance: Option<SharedCovariance>,
    /// Every parameter of the model after the fit (for chaining and resuming; dropped from
    /// the published tables).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub state: State,
}

impl ScanRow {
    /// True when the row has no flag.
    pub fn is_good(&self) -> bool {
        self.flags.is_empty()
    }

    /// The per-scan value of a key written as text (`LTNO.cell.a`).
    pub fn value(&self, key: &str) -> Option<&ParamValue> {
        self.values.iter().find(|v| v.key.to_string() == key)
    }

    /// The volume of a phase.
    pub fn volume(&self, phase: &str) -> Option<&PhaseVolume> {
        self.volumes.iter().find(|v| v.phase == phase)
    }

    fn empty(entry: &ScanEntry, meta: ScanMeta, flag: Flag) -> Self {
        ScanRow {
            scan: entry.scan,
            file: entry.file.clone(),
            time_s: None,
            meta,
            echem: Echem::default(),
            values: Vec::new(),
            volumes: Vec::new(),
            rwp: None,
            gof: None,
            flags: vec![flag],
            start: None,
            attempts: 0,
            evaluations: 0,
            seconds: 0.0,
            shared: Vec::new(),
            shared_covariance: None,
            state: Vec::new(),
        }
    }
}

/// How the reference scan is fitted.
#[derive(Debug, Clone, PartialEq)]
pub enum FirstFit {
    /// The default staged strategy ([`run_default`]).
    Default(StrategyOptions),
    /// Manual stages (name, keys refined), run in order after the default bounds.
    Stages(Vec<(String, Vec<ParamKey>)>),
}

/// Which parameters are refined per scan (all others are shared and fixed at the reference
/// fit).
#[derive(Debug, Clone, PartialEq)]
pub struct PerScan {
    /// Free cell parameters of every phase not in `fixed_phases`.
    pub cell: bool,
    /// Scale of every phase.
    pub scale: bool,
    /// Profile terms refined per scan (default W and Y: the Gaussian and Lorentzian widths
    /// that change with crystallite size and disorder).
    pub profile: Vec<ProfileTerm>,
    /// Chebyshev background terms refined per scan, from T0 (`None` = all). The default 2
    /// refines level and slope and keeps the shape of the reference.
    pub background_terms: Option<usize>,
    /// The zero shift (degrees).
    pub zero: bool,
    /// The specimen displacement (µm).
    pub displacement: bool,
    /// Further keys refined per scan.
    pub extra: Vec<ParamKey>,
    /// Phases whose cell stays at the reference fit (cell windows: Be, Al, Li, …).
    pub fixed_phases: Vec<String>,
}

impl Default for PerScan {
    fn default() -> Self {
        PerScan {
            cell: true,
            scale: true,
            profile: vec![ProfileTerm::W, ProfileTerm::Y],
            background_terms: Some(2),
            zero: false,
            displacement: false,
            extra: Vec::new(),
            fixed_phases: Vec::new(),
        }
    }
}

impl PerScan {
    /// The per-scan keys that exist in the refinement's model, in the model's key order
    /// (then `extra`). Errors: a fixed phase or an extra key that the model does not have.
    pub fn keys(&self, r: &Refinement) -> Result<Vec<ParamKey>> {
        for name in &self.fixed_phases {
            if !r.model.phases.iter().any(|c| c.phase.name == *name) {
                return Err(Error::InvalidInput(format!(
                    "fixed phase '{name}' is not in the model (phases: {})",
                    phase_names(&r.model).join(", ")
                )));
            }
        }
        let mut out: Vec<ParamKey> = Vec::new();
        for p in &r.parameters {
            let keep = match &p.key {
                ParamKey::Phase { phase, item: PhaseItem::Cell(_) } => {
                    self.cell && !self.fixed_phases.contains(phase)
                }
                ParamKey::Phase { item: PhaseItem::Scale, .. } => self.scale,
                ParamKey::Inst(InstItem::Profile(t)) => self.profile.contains(&t.term()),
                ParamKey::Inst(InstItem::Zero) => self.zero,
                ParamKey::Inst(InstItem::Displacement) => self.displacement,
                ParamKey::Background(n) => self.background_terms.is_none_or(|m| *n < m),
                _ => false,
            };
            if keep {
                out.push(p.key.clone());
            }
        }
        for k in &self.extra {
            r.target(k)?;
            if !out.contains(k) {
                out.push(k.clone());
            }
        }
        Ok(out)
    }
}

/// Options of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct SequentialOptions {
    /// Chained, independent or reverse.
    pub mode: SeriesMode,
    /// How the reference scan is fitted.
    pub first: FirstFit,
    /// What is refined per scan.
    pub per_scan: PerScan,
    /// LM options of the per-scan fits.
    pub fit: FitOptions,
    /// A fit whose Rwp exceeds this factor × the reference Rwp is retried, then flagged.
    pub rwp_factor: f64,
    /// Threads for independent mode (0 = rayon's default, all cores).
    pub jobs: usize,
}

impl Default for SequentialOptions {
    fn default() -> Self {
        SequentialOptions {
            mode: SeriesMode::Chained,
            first: FirstFit::Default(StrategyOptions::default()),
            per_scan: PerScan::default(),
            fit: FitOptions::default(),
            rwp_factor: 1.5,
            jobs: 0,
        }
    }
}

/// The scans a run fits: the reference scan and the scans of this shard in fitting order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The reference scan (first of the series; last in reverse mode).
    pub reference: ScanEntry,
    /// The scans to fit, in fitting order (the reference among them if it is in the shard).
    pub todo: Vec<ScanEntry>,
}

/// The plan of a run over `series` (in series order, e.g. naturally sorted file names).
///
/// Errors: an empty series.
pub fn plan(series: &[ScanEntry], mode: SeriesMode, shard: Option<Shard>) -> Result<Plan> {
    let (Some(first), Some(last)) = (series.first(), series.last()) else {
        return Err(Error::InvalidInput("the series has no scan".into()));
    };
    let mut todo: Vec<ScanEntry> = series
        .iter()
        .enumerate()
        .filter(|(p, _)| shard.is_none_or(|s| s.contains(*p)))
        .map(|(_, e)| e.clone())
        .collect();
    let reference = if mode == SeriesMode::Reverse {
        todo.reverse();
        last.clone()
    } else {
        first.clone()
    };
    Ok(Plan { reference, todo })
}

/// What a previous, interrupted run finished (read back from its log).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resume {
    /// The reference fit (with its state), if it was finished.
    pub reference: Option<ScanRow>,
    /// Finished rows (with their states).
    pub done: Vec<ScanRow>,
}

/// What the series run reports to its sink as it goes.
#[derive(Debug, Clone, Copy)]
pub enum SeriesEvent<'a> {
    /// The reference fit is done (its row carries the shared parameters and the state).
    Reference(&'a ScanRow),
    /// A scan is done.
    Row(&'a ScanRow),
    /// A scan was finished by a previous run and is skipped.
    Skipped(&'a ScanEntry),
}

/// A loader reads one scan when it is fitted.
pub type Loader<'a> = dyn Fn(&ScanEntry) -> Result<LoadedScan> + Sync + 'a;

/// A scan as [`Context::load_checked`] gives it: the scan, or what is known of it and why it
/// cannot be fitted.
type Loaded = std::result::Result<LoadedScan, (ScanMeta, String)>;

/// The row of the reference scan within the series: the reference fit's row without the
/// shared parameters and their covariance (reported once, not per scan).
fn reference_scan_row(reference: &ScanRow) -> ScanRow {
    let mut row = reference.clone();
    row.shared.clear();
    row.shared_covariance = None;
    row
}

/// A sink receives each finished row (called from worker threads in independent mode).
pub type Sink<'a> = dyn Fn(SeriesEvent<'_>) -> Result<()> + Sync + 'a;

/// The summary of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSummary {
    /// The reference fit's row.
    pub reference: ScanRow,
    /// Per-scan keys (the value columns of every row).
    pub per_scan_keys: Vec<ParamKey>,
    /// Phase names (the volume columns).
    pub phases: Vec<String>,
    /// Scans fitted by this run (the reference counted when it is in the plan).
    pub fitted: usize,
    /// Scans skipped because a previous run finished them.
    pub skipped: usize,
    /// Rows fitted by this run that carry a flag.
    pub flagged: usize,
}

fn phase_names(model: &PatternModel) -> Vec<String> {
    model.phases.iter().map(|c| c.phase.name.clone()).collect()
}

/// Writes `state` into `model` (keys that do not resolve, such as Pawley intensities, are
/// skipped).
fn apply_state(model: &mut PatternModel, state: &State, only: Option<&[ParamKey]>) -> Result<()> {
    for (k, v) in state {
        if only.is_some_and(|keys| !keys.contains(k)) {
            continue;
        }
        if let Ok(t) = k.resolve(model, &|_| Vec::new()) {
            model
                .set(t, *v)
                .map_err(|e| Error::InvalidInput(format!("start value {k} = {v}: {e}")))?;
        }
    }
    Ok(())
}

fn state_of(r: &Refinement) -> State {
    r.parameters.iter().filter(|p| p.value.is_finite()).map(|p| (p.key.clone(), p.value)).collect()
}

/// The covariance that the uncertainty of the shared parameters transmits to the per-scan
/// ones: with the reference fit's covariance partitioned into per-scan (K) and shared (S)
/// blocks, Σ_sys = C_KS C_SS⁻¹ C_SK = C_KK − C_K|S, the part of the marginal covariance that
/// fixing S removes (Schur complement / conditional covariance of the multivariate normal:
/// C. R. Rao, *Linear Statistical Inference and Its Applications*, 2nd ed. (1973), §8a.2).
/// Fixing S after the reference fit leaves each scan's estimate with this common systematic
/// error (units: products of the parameters' units, e.g. Å² for a cell edge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedCovariance {
    /// Per-scan keys covered (those refined in the reference fit's last stage).
    pub keys: Vec<ParamKey>,
    /// Σ_sys, row-major, `keys.len()` × `keys.len()`.
    pub matrix: Vec<Vec<f64>>,
}

impl SharedCovariance {
    /// Σ_sys from the reference fit's covariance (module documentation); `None` when no
    /// shared parameter was refined or C_SS is singular.
    pub fn from_reference(cov: &Covariance, per_scan: &[ParamKey]) -> Option<Self> {
        let names: Vec<String> = per_scan.iter().map(ToString::to_string).collect();
        let k: Vec<usize> =
            (0..cov.names.len()).filter(|i| names.contains(&cov.names[*i])).collect();
        let sh: Vec<usize> =
            (0..cov.names.len()).filter(|i| !names.contains(&cov.names[*i])).collect();
        if k.is_empty() || sh.is_empty() {
            return None;
        }
        let c_ks = DMatrix::from_fn(k.len(), sh.len(), |i, j| cov.matrix[(k[i], sh[j])]);
        let c_ss = DMatrix::from_fn(sh.len(), sh.len(), |i, j| cov.matrix[(sh[i], sh[j])]);
        let inv = c_ss.cholesky()?.inverse();
        let m = &c_ks * inv * c_ks.transpose();
        let keys = k.iter().filter_map(|&i| cov.names[i].parse().ok()).collect::<Vec<ParamKey>>();
        if keys.len() != k.len() {
            return None;
        }
        let matrix = (0..k.len()).map(|i| (0..k.len()).map(|j| m[(i, j)]).collect()).collect();
        Some(SharedCovariance { keys, matrix })
    }

    /// Σ_sys between two keys (0 when either is not covered).
    pub fn get(&self, a: &ParamKey, b: &ParamKey) -> f64 {
        let i = self.keys.iter().position(|k| k == a);
        let j = self.keys.iter().position(|k| k == b);
        match (i, j) {
            (Some(i), Some(j)) => self.matrix[i][j],
            _ => 0.0,
        }
    }
}

/// The covariance of two parameters of a fit by key (`None` when either was not refined).
fn fit_cov(cov: Option<&Covariance>, a: &ParamKey, b: &ParamKey) -> Option<f64> {
    let c = cov?;
    Some(c.matrix[(c.index_of(&a.to_string())?, c.index_of(&b.to_string())?)])
}

/// Cell volumes of every phase with esds from the covariance `cov(a, b)` of the refined cell
/// keys (first-order propagation, [`crate::derived::cell_volume`]; a tied parameter such as
/// cubic b ≡ a enters through its free key). The esd is `None` when no cell key of the phase
/// has a covariance.
fn volumes(r: &Refinement, cov: &dyn Fn(&ParamKey, &ParamKey) -> Option<f64>) -> Vec<PhaseVolume> {
    r.model
        .phases
        .iter()
        .map(|c| {
            let cell = &c.phase.cell;
            let rules = c.phase.space_group.cell_constraint();
            let keys: Vec<Option<ParamKey>> = CellParam::ALL
                .iter()
                .map(|p| {
                    let free = match rules.rule(*p) {
                        CellRule::Free => Some(*p),
                        CellRule::SameAs(q) => Some(q),
                        CellRule::FixedDeg(_) => None,
                    };
                    free.map(|q| {
                        ParamKey::phase(&c.phase.name, PhaseItem::Cell(CellIndex(q.index())))
                    })
                    .filter(|k| cov(k, k).is_some())
                })
                .collect();
            let (v, _) = crate::derived::cell_volume_gradient(cell);
            let esd = if keys.iter().any(Option::is_some) {
                let block = DMatrix::from_fn(6, 6, |i, j| match (&keys[i], &keys[j]) {
                    (Some(a), Some(b)) => cov(a, b).unwrap_or(0.0),
                    _ => 0.0,
                });
                cell_volume(cell, &block).ok().and_then(|u| u.esd)
            } else {
                None
            };
            PhaseVolume { phase: c.phase.name.clone(), volume: v, esd, esd_stat: None }
        })
        .collect()
}

fn termination_text(t: &crate::fit::Termination) -> String {
    match t {
        crate::fit::Termination::Failed(why) => format!("failed: {why}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// A fitted scan before it becomes a row.
struct Attempt {
    refinement: Refinement,
    outcome: FitOutcome,
    dropped: Vec<String>,
    start: StartKind,
}

/// The flags of an attempt against the reference Rwp. Bound hits and singular directions
/// count only for the per-scan `keys` (a shared B_iso at zero in the reference fit is the
/// reference's business, reported in its shared values without esd).
///
/// Rwp is compared with the last good scan (`rwp_previous`, factor f) and, against slow drift
/// that no single step reveals, with the reference fit (factor f²).
fn assess(
    a: &Attempt,
    keys: &[ParamKey],
    rwp_previous: f64,
    rwp_reference: f64,
    rwp_factor: f64,
) -> Vec<Flag> {
    let mut flags = Vec::new();
    let out = &a.outcome;
    if !out.termination.is_success() {
        flags.push(Flag::NotConverged { termination: termination_text(&out.termination) });
    }
    let rwp = out.statistics.rwp;
    if !rwp.is_finite() || rwp > rwp_factor * rwp_previous {
        flags.push(Flag::RwpJump { rwp, reference: rwp_previous });
    } else if rwp > rwp_factor * rwp_factor * rwp_reference {
        flags.push(Flag::RwpJump { rwp, reference: rwp_reference });
    }
    for h in out.bound_hits.iter().filter(|h| keys.contains(&h.key)) {
        flags.push(Flag::AtBound { key: h.key.to_string() });
    }
    // A scale at or below zero is at its physical bound even where no bound was set (the
    // phase has vanished from the scan or the fit has gone astray).
    for p in a.refinement.parameters.iter().filter(|p| {
        keys.contains(&p.key)
            && matches!(p.key, ParamKey::Phase { item: PhaseItem::Scale, .. })
            && p.value <= 0.0
            && !out.bound_hits.iter().any(|h| h.key == p.key)
    }) {
        flags.push(Flag::AtBound { key: p.key.to_string() });
    }
    // Each key once (several stages may drop the same key).
    let mut dropped: Vec<String> = Vec::new();
    for d in &a.dropped {
        if d.parse::<ParamKey>().is_ok_and(|k| keys.contains(&k)) && !dropped.contains(d) {
            dropped.push(d.clone());
        }
    }
    if !dropped.is_empty() {
        flags.push(Flag::Singular { params: dropped });
    }
    flags
}

/// Everything a scan fit needs, shared by all scans.
struct Context<'a> {
    template: &'a Refinement,
    keys: Vec<ParamKey>,
    shared_keys: Vec<ParamKey>,
    options: &'a SequentialOptions,
    reference_state: State,
    reference_rwp: f64,
    sys: Option<SharedCovariance>,
    loader: &'a Loader<'a>,
}

impl Context<'_> {
    /// A refinement of `observations` started from `start`, with the template's bounds and
    /// constraints.
    fn refinement(&self, start: &State, observations: Observations) -> Result<Refinement> {
        let mut model = self.template.model.clone();
        apply_state(&mut model, start, None)?;
        let mut r = Refinement::new(model, observations)?;
        r.constraints = self.template.constraints.clone();
        for p in &mut r.parameters {
            if let Some(t) = self.template.parameters.iter().find(|t| t.key == p.key) {
                p.bounds = t.bounds;
            }
        }
        Ok(r)
    }

    fn attempt(
        &self,
        start: &State,
        kind: StartKind,
        observations: &Observations,
    ) -> Result<Attempt> {
        let mut r = self.refinement(start, observations.clone())?;
        if kind == StartKind::ReferenceWidened {
            let held = window_cell_keys(&r, &self.options.per_scan.fixed_phases);
            let n_constraints = r.constraints.len();
            r.constraints
                .extend(held.into_iter().map(|k| Constraint::Linear { terms: vec![(k, 1.0)] }));
            let strategy = StrategyOptions {
                zero: false,
                displacement: false,
                fit: self.options.fit,
                ..StrategyOptions::default()
            };
            let searched = widening_search(&mut r, &strategy);
            r.constraints.truncate(n_constraints);
            searched?;
            // The search moves every cell, scale and background term: put the shared ones
            // back.
            apply_state(&mut r.model, start, Some(&self.shared_keys))?;
            r.sync_values();
        }
        let (report, outcome) = run_stage(&mut r, "per scan", &self.keys, self.options.fit)?;
        r.sync_values();
        Ok(Attempt { refinement: r, outcome, dropped: report.dropped, start: kind })
    }

    /// Fits one scan: attempts from `previous` (chained), the reference, and the reference
    /// after a widening search, stopping at the first good one.
    fn fit_scan(&self, entry: &ScanEntry, previous: Option<(&State, f64)>) -> ScanRow {
        self.fit_loaded(entry, self.load_checked(entry), previous, Instant::now())
    }

    /// [`Context::fit_scan`] on a scan already loaded (or its load error); `clock` started
    /// when the scan was asked for.
    fn fit_loaded(
        &self,
        entry: &ScanEntry,
        loaded: Loaded,
        previous: Option<(&State, f64)>,
        clock: Instant,
    ) -> ScanRow {
        let loaded = match loaded {
            Ok(l) => l,
            Err((meta, e)) => {
                let mut row = ScanRow::empty(entry, meta, Flag::Unreadable { message: e });
                row.seconds = clock.elapsed().as_secs_f64();
                return row;
            }
        };
        let rwp_previous = previous.map_or(self.reference_rwp, |(_, rwp)| rwp);
        let mut starts: Vec<(&State, StartKind)> = Vec::new();
        if let Some((s, _)) = previous {
            starts.push((s, StartKind::Previous));
        }
        if previous.is_none_or(|(s, _)| *s != self.reference_state) {
            starts.push((&self.reference_state, StartKind::Reference));
        }
        starts.push((&self.reference_state, StartKind::ReferenceWidened));
        let mut best: Option<(Attempt, Vec<Flag>)> = None;
        let mut last_error = None;
        let mut attempts = 0;
        for (start, kind) in starts {
            attempts += 1;
            match self.attempt(start, kind, &loaded.observations) {
                Ok(a) => {
                    let flags = assess(
                        &a,
                        &self.keys,
                        rwp_previous,
                        self.reference_rwp,
                        self.options.rwp_factor,
                    );
                    let good = flags.is_empty();
                    let better = best
                        .as_ref()
                        .is_none_or(|(b, _)| a.outcome.statistics.rwp < b.outcome.statistics.rwp);
                    if good || better {
                        best = Some((a, flags));
                    }
                    if good {
                        break;
                    }
                }
                Err(e) => last_error = Some(e.to_string()),
            }
        }
        let mut row = match best {
            Some((a, flags)) => self.row(entry, loaded.meta, &a, flags),
            None => ScanRow::empty(
                entry,
                loaded.meta,
                Flag::FitError { message: last_error.unwrap_or_default() },
            ),
        };
        row.attempts = attempts;
        row.seconds = clock.elapsed().as_secs_f64();
        row
    }

    fn load_checked(&self, entry: &ScanEntry) -> Loaded {
        let loaded = (self.loader)(entry).map_err(|e| (ScanMeta::default(), e.to_string()))?;
        if loaded.observations.len() < 2 * self.keys.len().max(1) {
            return Err((
                loaded.meta,
                format!(
                    "{} fitted points for {} per-scan parameters",
                    loaded.observations.len(),
                    self.keys.len()
                ),
            ));
        }
        Ok(loaded)
    }

    fn row(&self, entry: &ScanEntry, meta: ScanMeta, a: &Attempt, flags: Vec<Flag>) -> ScanRow {
        let r = &a.refinement;
        let sys = |x: &ParamKey, y: &ParamKey| self.sys.as_ref().map_or(0.0, |s| s.get(x, y));
        let values = self
            .keys
            .iter()
            .map(|k| {
                let p = r.parameters.iter().find(|p| p.key == *k);
                let stat = p.and_then(|p| p.esd);
                ParamValue {
                    key: k.clone(),
                    value: p.map_or(f64::NAN, |p| p.value),
                    esd: stat.map(|e| (e * e + sys(k, k).max(0.0)).sqrt()),
                    esd_stat: stat,
                }
            })
            .collect();
        let cov = a.outcome.covariance.as_ref();
        let stat = volumes(r, &|x, y| fit_cov(cov, x, y));
        let total = volumes(r, &|x, y| fit_cov(cov, x, y).map(|c| c + sys(x, y)));
        ScanRow {
            scan: entry.scan,
            file: entry.file.clone(),
            time_s: None,
            meta,
            echem: Echem::default(),
            values,
            volumes: combine_volumes(total, stat),
            rwp: Some(a.outcome.statistics.rwp),
            gof: Some(a.outcome.statistics.gof),
            flags,
            start: Some(a.start),
            attempts: 1,
            evaluations: a.outcome.evaluations,
            seconds: 0.0,
            shared: Vec::new(),
            shared_covariance: None,
            state: state_of(r),
        }
    }
}

fn combine_volumes(total: Vec<PhaseVolume>, stat: Vec<PhaseVolume>) -> Vec<PhaseVolume> {
    total.into_iter().zip(stat).map(|(t, s)| PhaseVolume { esd_stat: s.esd, ..t }).collect()
}

/// The free cell keys of the named phases.
fn window_cell_keys(r: &Refinement, phases: &[String]) -> Vec<ParamKey> {
    r.parameters
        .iter()
        .filter(|p| {
            matches!(&p.key, ParamKey::Phase { phase, item: PhaseItem::Cell(_) } if phases.contains(phase))
        })
        .map(|p| p.key.clone())
        .collect()
}

/// The reference fit: the full strategy on the template.
fn fit_reference(
    template: &Refinement,
    entry: &ScanEntry,
    meta: ScanMeta,
    keys: &[ParamKey],
    options: &SequentialOptions,
) -> Result<ScanRow> {
    let clock = Instant::now();
    let mut r = template.clone();
    let (reports, outcome) = match &options.first {
        FirstFit::Default(s) => {
            // The widening search moves every cell; a window phase (Al, Be: fcc/hcp cells
            // close to those of many electrodes) can slide onto the sample's peaks. Its cell
            // is held (a one-term constraint) through the staged strategy and refined in a
            // last stage from the converged start.
            let held = window_cell_keys(&r, &options.per_scan.fixed_phases);
            let n_constraints = r.constraints.len();
            r.constraints
                .extend(held.iter().map(|k| Constraint::Linear { terms: vec![(k.clone(), 1.0)] }));
            let (mut reports, mut outcome) = run_default(&mut r, s)?;
            r.constraints.truncate(n_constraints);
            if !held.is_empty() {
                let mut last: Vec<ParamKey> =
                    r.parameters.iter().filter(|p| p.refined).map(|p| p.key.clone()).collect();
                last.extend(held);
                let (rep, out) = run_stage(&mut r, "+ window-phase cells", &last, s.fit)?;
                reports.push(rep);
                outcome = out;
            }
            (reports, outcome)
        }
        FirstFit::Stages(stages) => {
            apply_default_bounds(&mut r);
            let mut reports = Vec::new();
            let mut last = None;
            for (name, stage_keys) in stages {
                let (rep, out) = run_stage(&mut r, name, stage_keys, options.fit)?;
                reports.push(rep);
                last = Some(out);
            }
            let last =
                last.ok_or_else(|| Error::InvalidInput("the reference fit has no stage".into()))?;
            (reports, last)
        }
    };
    r.sync_values();
    let evaluations = reports.iter().map(|s| s.evaluations).sum();
    let dropped: Vec<String> = reports.iter().flat_map(|s| s.dropped.clone()).collect();
    let a = Attempt { refinement: r, outcome, dropped, start: StartKind::FullStrategy };
    let flags = assess(&a, keys, f64::INFINITY, f64::INFINITY, options.rwp_factor);
    let r = &a.refinement;
    let cov = a.outcome.covariance.as_ref();
    let sys = cov.and_then(|c| SharedCovariance::from_reference(c, keys));
    let sys_of = |x: &ParamKey, y: &ParamKey| sys.as_ref().map_or(0.0, |s| s.get(x, y));
    let shared = r
        .parameters
        .iter()
        .filter(|p| p.refined && !keys.contains(&p.key))
        .map(|p| ParamValue { key: p.key.clone(), value: p.value, esd: p.esd, esd_stat: p.esd })
        .collect();
    let values = keys
        .iter()
        .map(|k| {
            let p = r.parameters.iter().find(|p| p.key == *k);
            let esd = p.and_then(|p| if p.refined { p.esd } else { None });
            ParamValue {
                key: k.clone(),
                value: p.map_or(f64::NAN, |p| p.value),
                esd,
                esd_stat: esd.map(|e| (e * e - sys_of(k, k)).max(0.0).sqrt()),
            }
        })
        .collect();
    let total = volumes(r, &|x, y| fit_cov(cov, x, y));
    let stat = volumes(r, &|x, y| fit_cov(cov, x, y).map(|c| c - sys_of(x, y)));
    Ok(ScanRow {
        scan: entry.scan,
        file: entry.file.clone(),
        time_s: None,
        meta,
        echem: Echem::default(),
        values,
        volumes: combine_volumes(total, stat),
        rwp: Some(a.outcome.statistics.rwp),
        gof: Some(a.outcome.statistics.gof),
        flags,
        start: Some(StartKind::FullStrategy),
        attempts: 1,
        evaluations,
        seconds: clock.elapsed().as_secs_f64(),
        shared,
        shared_covariance: sys,
        state: state_of(r),
    })
}

/// Runs a series (module documentation).
///
/// `template` is the unfitted refinement of the reference scan (model, observations, bounds,
/// constraints, first guesses) and `reference_meta` that scan's time and temperature; the
/// other scans are read by `loader` when they are fitted and every finished row goes to
/// `sink` (in fitting order for chained and reverse modes, in completion order in
/// independent mode). Scans in `resume.done` are skipped (their good rows still start the
/// next scan in chained mode), and a finished reference fit in `resume.reference` is not
/// repeated.
///
/// Errors: a reference fit that fails with an error, an error of the sink (the run stops),
/// inconsistent per-scan options. A scan that cannot be read or fitted is not an error: its
/// row is flagged.
pub fn run_series(
    template: &Refinement,
    reference_meta: ScanMeta,
    plan: &Plan,
    loader: &Loader<'_>,
    options: &SequentialOptions,
    resume: &Resume,
    sink: &Sink<'_>,
) -> Result<SeriesSummary> {
    if !(options.rwp_factor.is_finite() && options.rwp_factor > 1.0) {
        return Err(Error::InvalidInput(format!(
            "Rwp factor {} must be a finite number above 1",
            options.rwp_factor
        )));
    }
    let keys = options.per_scan.keys(template)?;
    if keys.is_empty() {
        return Err(Error::InvalidInput("no parameter is refined per scan".into()));
    }
    let shared_keys: Vec<ParamKey> =
        template.parameters.iter().map(|p| p.key.clone()).filter(|k| !keys.contains(k)).collect();
    let reference = match &resume.reference {
        Some(row) if row.scan == plan.reference.scan && !row.state.is_empty() => row.clone(),
        _ => {
            let row = fit_reference(template, &plan.reference, reference_meta, &keys, options)?;
            sink(SeriesEvent::Reference(&row))?;
            row
        }
    };
    let ctx = Context {
        template,
        keys: keys.clone(),
        shared_keys,
        options,
        reference_state: reference.state.clone(),
        reference_rwp: reference.rwp.unwrap_or(f64::INFINITY),
        sys: reference.shared_covariance.clone(),
        loader,
    };
    let done = |scan: usize| resume.done.iter().find(|r| r.scan == scan);
    let mut fitted = 0;
    let mut skipped = 0;
    let mut flagged = 0;
    match options.mode {
        SeriesMode::Chained | SeriesMode::Reverse => {
            let mut last_good: (State, f64) =
                (reference.state.clone(), reference.rwp.unwrap_or(f64::INFINITY));
            // Whether a scan of the plan is read and fitted here (neither done nor the
            // reference).
            let to_fit = |e: &ScanEntry| done(e.scan).is_none() && e.scan != plan.reference.scan;
            // The next scan to fit is read on another thread while this one is fitted, so
            // that reading (slow on network storage) overlaps fitting; at most one scan ahead.
            std::thread::scope(|s| -> Result<()> {
                let mut ahead: Option<(usize, std::thread::ScopedJoinHandle<'_, Loaded>)> = None;
                for (i, entry) in plan.todo.iter().enumerate() {
                    if let Some(row) = done(entry.scan) {
                        sink(SeriesEvent::Skipped(entry))?;
                        skipped += 1;
                        if row.is_good() && !row.state.is_empty() {
                            last_good = (row.state.clone(), row.rwp.unwrap_or(last_good.1));
                        }
                        continue;
                    }
                    let row = if entry.scan == plan.reference.scan {
                        reference_scan_row(&reference)
                    } else {
                        let clock = Instant::now();
                        let loaded = match ahead.take() {
                            Some((j, handle)) if j == i => handle.join().unwrap_or_else(|_| {
                                Err((ScanMeta::default(), "the reading thread failed".into()))
                            }),
                            _ => ctx.load_checked(entry),
                        };
                        let next =
                            plan.todo.iter().enumerate().skip(i + 1).find(|(_, e)| to_fit(e));
                        if let Some((j, e)) = next {
                            let ctx = &ctx;
                            ahead = Some((j, s.spawn(move || ctx.load_checked(e))));
                        }
                        ctx.fit_loaded(entry, loaded, Some((&last_good.0, last_good.1)), clock)
                    };
                    sink(SeriesEvent::Row(&row))?;
                    fitted += 1;
                    if row.is_good() {
                        last_good = (row.state, row.rwp.unwrap_or(last_good.1));
                    } else {
                        flagged += 1;
                    }
                }
                Ok(())
            })?;
        }
        SeriesMode::Independent => {
            let pending: Vec<&ScanEntry> = plan
                .todo
                .iter()
                .filter(|e| {
                    let d = done(e.scan).is_some();
                    if d {
                        skipped += 1;
                    }
                    !d
                })
                .collect();
            for e in plan.todo.iter().filter(|e| done(e.scan).is_some()) {
                sink(SeriesEvent::Skipped(e))?;
            }
            let counts = Mutex::new((0usize, 0usize));
            let work = |entry: &&ScanEntry| -> Result<()> {
                let row = if entry.scan == plan.reference.scan {
                    reference_scan_row(&reference)
                } else {
                    ctx.fit_scan(entry, None)
                };
                sink(SeriesEvent::Row(&row))?;
                if let Ok(mut c) = counts.lock() {
                    c.0 += 1;
                    c.1 += usize::from(!row.is_good());
                }
                Ok(())
            };
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(options.jobs)
                .build()
                .map_err(|e| Error::InvalidInput(format!("thread pool: {e}")))?;
            pool.install(|| pending.par_iter().try_for_each(work))?;
            let (f, g) = counts.into_inner().unwrap_or_else(|e| e.into_inner());
            fitted += f;
            flagged += g;
        }
    }
    Ok(SeriesSummary {
        reference,
        per_scan_keys: keys,
        phases: phase_names(&template.model),
        fitted,
        skipped,
        flagged,
    })
}

/// Runs a series without resume and collects every row into a [`SequentialTable`] (sorted by
/// scan): the convenient form for in-memory series (the demo, tests, benchmarks).
pub fn run_series_collect(
    template: &Refinement,
    reference_meta: ScanMeta,
    plan: &Plan,
    loader: &Loader<'_>,
    options: &SequentialOptions,
) -> Result<SequentialTable> {
    let rows = Mutex::new(Vec::new());
    let sink = |event: SeriesEvent<'_>| -> Result<()> {
        if let SeriesEvent::Row(row) = event {
            let mut row = row.clone();
            row.state.clear();
            rows.lock().map_err(|_| Error::InvalidInput("row sink poisoned".into()))?.push(row);
        }
        Ok(())
    };
    let summary =
        run_series(template, reference_meta, plan, loader, options, &Resume::default(), &sink)?;
    let rows = rows.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(SequentialTable::new(summary.per_scan_keys, summary.phases, summary.reference.shared, rows))
}
