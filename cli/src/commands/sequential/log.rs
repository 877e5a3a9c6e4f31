//! The run log `OUTDIR/sequential.log.jsonl`: one JSON object per line, appended and synced
//! to disk after each scan, so an interrupted run loses at most the scan in flight and
//! `--resume` skips every scan already logged. A line cut short by a crash is dropped (the
//! file is truncated to its last complete line before appending).
//!
//! Lines: `{"event":"run", …}` (the run's settings, checked on resume), `{"event":"reference",
//! "row": …}` (the reference fit with its state and shared parameters) and `{"event":"row",
//! "row": …}` (one scan).

use anyhow::{anyhow, bail, Context, Result};
use bragg_refine::sequential::{Resume, ScanRow, SequentialTable, SeriesMode, Shard};
use bragg_refine::ParamKey;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// File name of the log in OUTDIR.
pub const LOG_NAME: &str = "sequential.log.jsonl";

/// The settings of a run (first line of the log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunHeader {
    /// Mode.
    pub mode: SeriesMode,
    /// Shard, if any.
    pub shard: Option<Shard>,
    /// Number of scans in the whole series.
    pub n_scans: usize,
    /// Per-scan keys.
    pub per_scan_keys: Vec<ParamKey>,
    /// Phase names.
    pub phases: Vec<String>,
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LogLine {
    /// Settings.
    Run(RunHeader),
    /// The reference fit.
    Reference {
        /// Its row.
        row: ScanRow,
    },
    /// A scan.
    Row {
        /// Its row.
        row: ScanRow,
    },
}

/// What a log holds.
#[derive(Debug, Clone, Default)]
pub struct LogContent {
    /// The run settings (the last `run` line).
    pub header: Option<RunHeader>,
    /// The reference fit.
    pub reference: Option<ScanRow>,
    /// Rows in log order.
    pub rows: Vec<ScanRow>,
    /// Byte length of the complete lines (a partial last line is beyond).
    pub complete_len: u64,
}

impl LogContent {
    /// Reads a log (absent → empty). A last line without its line break is ignored; a
    /// malformed complete line is an error naming it.
    pub fn read(path: &Path) -> Result<Self> {
        let mut out = LogContent::default();
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(anyhow!("{}: {e}", path.display())),
        };
        let mut reader = BufReader::new(file);
        let mut line = String::new();
        let mut number = 0;
        loop {
            line.clear();
            let n = reader.read_line(&mut line).with_context(|| path.display().to_string())?;
            if n == 0 || !line.ends_with('\n') {
                break;
            }
            number += 1;
            out.complete_len += n as u64;
            if line.trim().is_empty() {
                continue;
            }
            let parsed: LogLine = serde_json::from_str(&line)
                .map_err(|e| anyhow!("{}:{number}: {e}", path.display()))?;
            match parsed {
                LogLine::Run(h) => out.header = Some(h),
                LogLine::Reference { row } => out.reference = Some(row),
                LogLine::Row { row } => out.rows.push(row),
            }
        }
        Ok(out)
    }

    /// What `run_series` needs to resume.
    pub fn resume(&self) -> Resume {
        Resume { reference: self.reference.clone(), done: self.rows.clone() }
    }

    /// The table of the logged rows (states dropped), or `None` without a header.
    pub fn table(&self) -> Option<SequentialTable> {
        let h = self.header.as_ref()?;
        let shared = self.reference.as_ref().map(|r| r.shared.clone()).unwrap_or_default();
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.state.clear();
                r
            })
            .collect();
        Some(SequentialTable::new(h.per_scan_keys.clone(), h.phases.clone(), shared, rows))
    }
}

/// The append-only writer.
pub struct LogWriter {
    path: PathBuf,
    file: Mutex<File>,
}

impl LogWriter {
    /// Opens the log for appending, truncated to `complete_len` (dropping a partial line), or
    /// creates it empty when `fresh`.
    pub fn open(path: &Path, complete_len: u64, fresh: bool) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(!fresh)
            .write(true)
            .truncate(fresh)
            .open(path)
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
        if !fresh {
            file.set_len(complete_len).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        }
        Ok(LogWriter { path: path.to_path_buf(), file: Mutex::new(file) })
    }

    /// Appends one line and syncs it to disk.
    pub fn append(&self, line: &LogLine) -> Result<()> {
        let mut text = serde_json::to_string(line)?;
        text.push('\n');
        let mut f = self.file.lock().map_err(|_| anyhow!("log writer poisoned"))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_data())
            .map_err(|e| anyhow!("{}: {e}", self.path.display()))
    }
}

/// Checks that a resumed run has the settings of the logged one.
///
/// The series may have grown (a run on the first scans resumed on the whole folder): the
/// number of scans is not compared, the files of the logged scans are (see
/// [`check_files`]).
pub fn check_header(logged: &RunHeader, now: &RunHeader, path: &Path) -> Result<()> {
    let same = logged.mode == now.mode
        && logged.shard == now.shard
        && logged.per_scan_keys == now.per_scan_keys
        && logged.phases == now.phases;
    if !same {
        bail!(
            "{}: the logged run used mode {}, shard {:?}, {} scans, per-scan {}; this run asks for \
             mode {}, shard {:?}, {} scans, per-scan {} — resume with the same settings or use \
             another output folder",
            path.display(),
            logged.mode,
            logged.shard.map(|s| s.to_string()),
            logged.n_scans,
            logged.per_scan_keys.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
            now.mode,
            now.shard.map(|s| s.to_string()),
            now.n_scans,
            now.per_scan_keys.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
        );
    }
    Ok(())
}

/// Checks that every logged scan number still names the same file.
pub fn check_files(content: &LogContent, files: &[String], path: &Path) -> Result<()> {
    for row in content.rows.iter().chain(content.reference.iter()) {
        match files.get(row.scan.wrapping_sub(1)) {
            Some(f) if *f == row.file => {}
            other => bail!(
                "{}: scan {} of the logged run is {}, now {}: the series changed order; use \
                 another output folder",
                path.display(),
                row.scan,
                row.file,
                other.map_or("absent", |f| f.as_str())
            ),
        }
    }
    Ok(())
}
