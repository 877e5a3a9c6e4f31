//! The order of a series: natural sort of file names (`scan_2` before `scan_10`) and the
//! selection of one shard of a series (`--shard K/N`: every N-th scan starting at K).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Natural order of two names: runs of ASCII digits compare as numbers (`scan_2` < `scan_10`,
/// `7` = `007` with the shorter spelling first as a tie-break), everything else character by
/// character. Total and consistent with equality of the texts.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let run = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
                let (n, m) = (run(x), run(y));
                let strip = |s: &[u8]| -> usize { s.iter().take_while(|c| **c == b'0').count() };
                let (dx, dy) = (&x[strip(&x[..n]).min(n)..n], &y[strip(&y[..m]).min(m)..m]);
                let ord = dx.len().cmp(&dy.len()).then_with(|| dx.cmp(dy));
                if ord != Ordering::Equal {
                    return ord;
                }
                x = &x[n..];
                y = &y[m..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

/// One shard of a series: shard `index` (1-based) of `count` fits the scans at 0-based
/// positions p with p mod count = index − 1 (every N-th scan starting at K).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// K, 1-based.
    pub index: usize,
    /// N ≥ 1.
    pub count: usize,
}

impl Shard {
    /// Whether the scan at 0-based `position` of the sorted series belongs to this shard.
    pub fn contains(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

impl FromStr for Shard {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let bad = || Error::InvalidInput(format!("shard '{text}': expected K/N with 1 ≤ K ≤ N"));
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_puts_scan_2_before_scan_10() {
        let mut names = vec!["scan_10.xye", "scan_2.xye", "scan_1.xye", "scan_002.xye", "a.xye"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["a.xye", "scan_1.xye", "scan_2.xye", "scan_002.xye", "scan_10.xye"]);
        assert_eq!(natural_cmp("OH_09", "OH_14"), Ordering::Less);
        assert_eq!(natural_cmp("x", "x"), Ordering::Equal);
        assert_eq!(natural_cmp("x1y", "x1"), Ordering::Greater);
    }

    #[test]
    fn shards_partition_the_series() {
        let shards: Vec<Shard> = ["1/3", "2/3", "3/3"].iter().map(|s| s.parse().unwrap()).collect();
        for p in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.contains(p)).count(), 1);
        }
        assert!(shards[0].contains(0) && shards[1].contains(1) && shards[0].contains(3));
        for bad in ["0/2", "3/2", "1", "a/b", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(shards[1].to_string(), "2/3");
    }
}
