//! `bragg merge`: join the output folders of a sharded `bragg sequential` run (`--shard K/N`)
//! into one `sequential.csv` / `sequential.json` sorted by scan.
//!
//! Each folder is read from its run log (`sequential.log.jsonl`, complete even when the shard
//! was interrupted) or, without a log, from its `sequential.json`. The folders must come from
//! the same series (same number of scans, mode, per-scan parameters and phases); a scan found
//! in several folders keeps the row of the last folder given. Missing scans are reported.

use crate::commands::sequential::log::{LogContent, LOG_NAME};
use crate::commands::sequential::{write_outputs, SequentialJson};
use anyhow::{anyhow, bail, Result};
use bragg_refine::sequential::SequentialTable;
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `bragg merge`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The output folders of the shards.
    #[arg(value_name = "OUTDIR", required = true)]
    pub dirs: Vec<PathBuf>,
    /// Folder for the merged sequential.csv and sequential.json (created if needed).
    #[arg(short = 'o', long = "output", value_name = "OUTDIR")]
    pub outdir: PathBuf,
}

/// A shard's result from its log, else its JSON.
fn read_shard(dir: &Path) -> Result<SequentialJson> {
    let log = LogContent::read(&dir.join(LOG_NAME))?;
    if let (Some(header), Some(table)) = (log.header.clone(), log.table()) {
        return Ok(SequentialJson {
            run: header,
            columns: table.columns(),
            reference_scan: log.reference.as_ref().map(|r| r.scan),
            shared_covariance: log.reference.as_ref().and_then(|r| r.shared_covariance.clone()),
            table,
        });
    }
    let path = dir.join("sequential.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow!("{}: {e} (not a bragg sequential output folder?)", path.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Runs `bragg merge`.
pub fn run(args: &MergeArgs, out: &mut dyn Write) -> Result<()> {
    let shards: Vec<SequentialJson> =
        args.dirs.iter().map(|d| read_shard(d)).collect::<Result<_>>()?;
    let first = &shards[0];
    for (s, d) in shards.iter().zip(&args.dirs).skip(1) {
        if s.run.n_scans != first.run.n_scans
            || s.run.mode != first.run.mode
            || s.run.per_scan_keys != first.run.per_scan_keys
            || s.run.phases != first.run.phases
        {
            bail!(
                "{} is not a shard of the same series as {} (scans, mode, per-scan parameters or phases differ)",
                d.display(),
                args.dirs[0].display()
            );
        }
    }
    let mut run = first.run.clone();
    run.shard = None;
    let reference_scan = first.reference_scan;
    let shared_covariance = first.shared_covariance.clone();
    let table = SequentialTable::merge(shards.into_iter().map(|s| s.table).collect())?;
    let missing: Vec<usize> = (1..=run.n_scans)
        .filter(|n| table.rows.binary_search_by_key(n, |r| r.scan).is_err())
        .collect();
    std::fs::create_dir_all(&args.outdir)
        .map_err(|e| anyhow!("-o {}: {e}", args.outdir.display()))?;
    let json =
        SequentialJson { run, columns: table.columns(), reference_scan, shared_covariance, table };
    let written = write_outputs(&args.outdir, &json)?;
    writeln!(
        out,
        "merged {} folders: {} of {} scans, {} flagged",
        args.dirs.len(),
        json.table.rows.len(),
        json.run.n_scans,
        json.table.rows.iter().filter(|r| !r.is_good()).count()
    )?;
    if !missing.is_empty() {
        writeln!(
            out,
            "missing scans ({}): {}",
            missing.len(),
            missing.iter().take(20).map(ToString::to_string).collect::<Vec<_>>().join(", ")
        )?;
    }
    for p in written {
        writeln!(out, "wrote {}", p.display())?;
    }
    Ok(())
}
