//! The result table of a series: one row per scan, sorted by scan, with the columns
//! `scan, file, time_s, x_li, voltage_v, segment, cycle, epoch_s, temperature_k`, then each
//! per-scan parameter with its esd and the esd's per-scan statistical part (`LTNO.cell.a`,
//! `LTNO.cell.a_esd`, `LTNO.cell.a_esd_stat`; see [`super::ParamValue`]), each phase's cell
//! volume likewise (`LTNO.volume`, `LTNO.volume_esd`, `LTNO.volume_esd_stat`, Å³), and `rwp, gof, flags` (Rwp as a fraction;
//! flags as `;`-separated codes, empty for a good row). Empty cells are missing values.

use super::{PhaseVolume, ScanRow};
use crate::error::{Error, Result};
use crate::key::ParamKey;
use crate::sequential::ParamValue;
use serde::{Deserialize, Serialize};

/// The rows of a series with the names of its columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequentialTable {
    /// Per-scan keys, in column order.
    pub per_scan_keys: Vec<ParamKey>,
    /// Phases, in volume-column order.
    pub phases: Vec<String>,
    /// Shared parameters from the reference fit (values ± esd).
    pub shared: Vec<ParamValue>,
    /// Rows sorted by scan.
    pub rows: Vec<ScanRow>,
}

/// The leading columns, before the parameters.
pub const LEADING_COLUMNS: [&str; 9] =
    ["scan", "file", "time_s", "x_li", "voltage_v", "segment", "cycle", "epoch_s", "temperature_k"];

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A number as the shortest text that reads back to the same f64; empty for None or NaN.
fn num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x}"),
        _ => String::new(),
    }
}

impl SequentialTable {
    /// A table of `rows`: sorted by scan (a scan that appears twice keeps its last row) and
    /// with `time_s` counted from the earliest time stamp among the rows.
    pub fn new(
        per_scan_keys: Vec<ParamKey>,
        phases: Vec<String>,
        shared: Vec<ParamValue>,
        rows: Vec<ScanRow>,
    ) -> Self {
        let mut rows = rows;
        // Stable sort keeps the order of arrival among equal scans; keep the last of each.
        rows.sort_by_key(|r| r.scan);
        let mut dedup: Vec<ScanRow> = Vec::with_capacity(rows.len());
        for r in rows {
            match dedup.last_mut() {
                Some(last) if last.scan == r.scan => *last = r,
                _ => dedup.push(r),
            }
        }
        let origin = dedup.iter().filter_map(|r| r.meta.epoch_s).reduce(f64::min);
        for r in &mut dedup {
            r.time_s = match (r.meta.epoch_s, origin) {
                (Some(t), Some(o)) => Some(t - o),
                _ => None,
            };
        }
        SequentialTable { per_scan_keys, phases, shared, rows: dedup }
    }

    /// Joins tables of the same series (e.g. shards): same per-scan keys and phases required.
    ///
    /// Errors: tables with different columns, or no table.
    pub fn merge(tables: Vec<SequentialTable>) -> Result<Self> {
        let mut it = tables.into_iter();
        let first = it.next().ok_or_else(|| Error::InvalidInput("nothing to merge".into()))?;
        let (keys, phases, shared) = (first.per_scan_keys, first.phases, first.shared);
        let mut rows = first.rows;
        for t in it {
            if t.per_scan_keys != keys || t.phases != phases {
                return Err(Error::InvalidInput(format!(
                    "the tables have different columns ({} vs {})",
                    keys.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                    t.per_scan_keys.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                )));
            }
            rows.extend(t.rows);
        }
        Ok(SequentialTable::new(keys, phases, shared, rows))
    }

    /// The column names (module documentation).
    pub fn columns(&self) -> Vec<String> {
        let mut c: Vec<String> = LEADING_COLUMNS.iter().map(|s| s.to_string()).collect();
        for k in &self.per_scan_keys {
            c.push(k.to_string());
            c.push(format!("{k}_esd"));
            c.push(format!("{k}_esd_stat"));
        }
        for p in &self.phases {
            c.push(format!("{p}.volume"));
            c.push(format!("{p}.volume_esd"));
            c.push(format!("{p}.volume_esd_stat"));
        }
        c.extend(["rwp", "gof", "flags"].map(String::from));
        c
    }

    /// One CSV line (no line break) of a row.
    pub fn csv_row(&self, r: &ScanRow) -> String {
        let mut f: Vec<String> = vec![
            r.scan.to_string(),
            csv_field(&r.file),
            num(r.time_s),
            num(r.echem.x_li),
            num(r.echem.voltage_v),
            csv_field(r.echem.segment.as_deref().unwrap_or("")),
            r.echem.cycle.map(|c| c.to_string()).unwrap_or_default(),
            num(r.meta.epoch_s),
            num(r.meta.temperature_k),
        ];
        for k in &self.per_scan_keys {
            let v = r.values.iter().find(|v| v.key == *k);
            f.push(num(v.map(|v| v.value)));
            f.push(num(v.and_then(|v| v.esd)));
            f.push(num(v.and_then(|v| v.esd_stat)));
        }
        for p in &self.phases {
            let v: Option<&PhaseVolume> = r.volumes.iter().find(|v| v.phase == *p);
            f.push(num(v.map(|v| v.volume)));
            f.push(num(v.and_then(|v| v.esd)));
            f.push(num(v.and_then(|v| v.esd_stat)));
        }
        f.push(num(r.rwp));
        f.push(num(r.gof));
        f.push(csv_field(&r.flags.iter().map(|x| x.code()).collect::<Vec<_>>().join(";")));
        f.join(",")
    }

    /// The whole table as CSV (header line, then one line per row).
    pub fn to_csv(&self) -> String {
        let mut out = self.columns().iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(",");
        out.push('\n');
        for r in &self.rows {
            out.push_str(&self.csv_row(r));
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequential::{Echem, Flag, ScanMeta};

    fn row(scan: usize, epoch: Option<f64>, a: f64) -> ScanRow {
        ScanRow {
            scan,
            file: format!("s,{scan}.xye"),
            time_s: None,
            meta: ScanMeta { epoch_s: epoch, temperature_k: None },
            echem: Echem::default(),
            values: vec![ParamValue {
                key: "X.cell.a".parse().unwrap(),
                value: a,
                esd: Some(1e-4),
                esd_stat: Some(5e-5),
            }],
            volumes: vec![PhaseVolume {
                phase: "X".into(),
                volume: a * a * a,
                esd: None,
                esd_stat: None,
            }],
            rwp: Some(0.1),
            gof: Some(1.0),
            flags: if scan == 2 {
                vec![
                    Flag::AtBound { key: "X.scale".into() },
                    Flag::NotConverged { termination: "x".into() },
                ]
            } else {
                Vec::new()
            },
            start: None,
            attempts: 1,
            evaluations: 3,
            seconds: 0.0,
            shared: Vec::new(),
            shared_covariance: None,
            state: Vec::new(),
        }
    }

    #[test]
    fn rows_sort_by_scan_times_count_from_the_earliest_and_csv_quotes() {
        let keys = vec!["X.cell.a".parse().unwrap()];
        let t = SequentialTable::new(
            keys.clone(),
            vec!["X".into()],
            Vec::new(),
            vec![row(3, Some(130.0), 4.2), row(1, Some(100.0), 4.0), row(2, None, 4.1)],
        );
        assert_eq!(t.rows.iter().map(|r| r.scan).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(t.rows[2].time_s, Some(30.0));
        assert_eq!(t.rows[1].time_s, None);
        let csv = t.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "scan,file,time_s,x_li,voltage_v,segment,cycle,epoch_s,temperature_k,X.cell.a,\
             X.cell.a_esd,X.cell.a_esd_stat,X.volume,X.volume_esd,X.volume_esd_stat,rwp,gof,flags"
        );
        assert_eq!(lines[1], "1,\"s,1.xye\",0,,,,,100,,4,0.0001,0.00005,64,,,0.1,1,");
        assert!(lines[2].ends_with("at_bound:X.scale;not_converged"), "{}", lines[2]);
        // Merge of two halves equals the whole; a later duplicate wins.
        let a = SequentialTable::new(
            keys.clone(),
            vec!["X".into()],
            Vec::new(),
            vec![row(1, Some(100.0), 4.0), row(3, Some(130.0), 4.2)],
        );
        let b = SequentialTable::new(
            keys.clone(),
            vec!["X".into()],
            Vec::new(),
            vec![row(2, None, 4.1)],
        );
        assert_eq!(SequentialTable::merge(vec![a, b]).unwrap(), t);
        let c = SequentialTable::new(Vec::new(), vec!["X".into()], Vec::new(), Vec::new());
        assert!(SequentialTable::merge(vec![t, c]).is_err());
    }
}
