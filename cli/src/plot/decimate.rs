//! Reduction of long curves to what a given pixel width can show.
//!
//! M4 aggregation (Jugel, Jerzak, Hackenbroich & Markl, "M4: a visualization-oriented time
//! series data aggregation", Proc. VLDB Endow. 7(10), 797–808 (2014)): within each pixel
//! column keep the first, last, minimum and maximum point. A polyline through the kept points
//! rasterises to the same pixels as one through all points, so a 38 000-point pattern becomes
//! at most four points per column without losing a peak top or a spike in the difference.

/// Indices (ascending) of the M4 points of `y` over `x`, with `columns` equal-width columns
/// spanning `x_lo..x_hi`. `x` must be ascending; points outside the span join the edge columns.
pub(crate) fn m4_indices(x: &[f64], y: &[f64], x_lo: f64, x_hi: f64, columns: usize) -> Vec<usize> {
    extrema_per_column(x, y, x_lo, x_hi, columns, true)
}

/// Indices (ascending) of the lowest and highest point of `y` in each pixel column: the
/// subset of a dense scatter that shows its vertical extent column by column.
pub(crate) fn minmax_indices(
    x: &[f64],
    y: &[f64],
    x_lo: f64,
    x_hi: f64,
    columns: usize,
) -> Vec<usize> {
    extrema_per_column(x, y, x_lo, x_hi, columns, false)
}

fn extrema_per_column(
    x: &[f64],
    y: &[f64],
    x_lo: f64,
    x_hi: f64,
    columns: usize,
    with_ends: bool,
) -> Vec<usize> {
    let n = x.len().min(y.len());
    let columns = columns.max(1);
    let width = x_hi - x_lo;
    if n == 0 || width.is_nan() || width <= 0.0 {
        return (0..n).collect();
    }
    let column_of = |xi: f64| -> usize {
        let c = ((xi - x_lo) / width * columns as f64).floor();
        if c <= 0.0 {
            0
        } else {
            (c as usize).min(columns - 1)
        }
    };
    let mut keep = Vec::with_capacity(4 * columns.min(n));
    let mut start = 0;
    while start < n {
        let col = column_of(x[start]);
        let mut end = start + 1;
        let (mut lo, mut hi) = (start, start);
        while end < n && column_of(x[end]) == col {
            if y[end] < y[lo] {
                lo = end;
            }
            if y[end] > y[hi] {
                hi = end;
            }
            end += 1;
        }
        let mut group = if with_ends { vec![start, lo, hi, end - 1] } else { vec![lo, hi] };
        group.sort_unstable();
        group.dedup();
        keep.extend(group);
        start = end;
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m4_keeps_extrema_and_ends_of_every_column() {
        // 1000 points over 10 columns: each column holds 100 points of a sawtooth whose
        // extrema are known analytically.
        let x: Vec<f64> = (0..1000).map(|i| i as f64 / 100.0).collect();
        let y: Vec<f64> = (0..1000).map(|i| ((i * 37) % 101) as f64).collect();
        let keep = m4_indices(&x, &y, 0.0, 10.0, 10);
        assert!(keep.len() <= 40);
        assert!(keep.windows(2).all(|w| w[0] < w[1]));
        for c in 0..10 {
            let range = c * 100..(c + 1) * 100;
            let max = range.clone().map(|i| y[i]).fold(f64::MIN, f64::max);
            let min = range.clone().map(|i| y[i]).fold(f64::MAX, f64::min);
            let kept: Vec<usize> = keep.iter().copied().filter(|i| range.contains(i)).collect();
            assert!(kept.contains(&range.start) && kept.contains(&(range.end - 1)));
            assert!(kept.iter().any(|&i| y[i] == max));
            assert!(kept.iter().any(|&i| y[i] == min));
        }
    }

    #[test]
    fn short_curves_are_kept_whole() {
        let x = [0.0, 1.0, 2.0];
        let y = [1.0, 3.0, 2.0];
        assert_eq!(m4_indices(&x, &y, 0.0, 2.0, 1000), vec![0, 1, 2]);
        assert_eq!(minmax_indices(&x, &y, 0.0, 2.0, 1), vec![0, 1]);
    }
}
