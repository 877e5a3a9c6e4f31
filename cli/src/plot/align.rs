//! The alignment figure of `bragg align`: the cell voltage of the cycler log against time with
//! each scan's exposure window drawn as a shaded band labelled with its scan number (bands of
//! scans not wholly inside the log in another colour) and the mean voltage over each exposure
//! as a marker at its mid time.

use super::draw::{draw_axes, draw_frame, draw_title, thick_line};
use super::legend::{draw_legend, legend_size, Marker, Shape, Symbol};
use super::output::{render_files, Figure, Raster, Target};
use super::style::{format_tick, render_err, BLACK, BLUE, FAMILY, TICK_LABEL_PX, VERMILLION};
use super::PlotError;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Fill of an exposure inside the log: sky blue of the Okabe–Ito palette lightened to 30 %.
const BAND: RGBColor = RGBColor(204, 233, 249);
/// Fill of an exposure (partly) outside the log: vermillion lightened to 30 %.
const BAND_OUTSIDE: RGBColor = RGBColor(242, 207, 179);
const MARGIN: u32 = 14;
const MARGIN_RIGHT: u32 = 44;
const X_LABEL_AREA: u32 = 100;
const Y_LABEL_AREA: u32 = 150;
const LABEL_ROW_PX: i32 = 40;
const LEGEND_INSET: i32 = 14;
/// Bands narrower than this (pixels) are widened about their centre so that they stay visible.
const MIN_BAND_PX: i32 = 3;

/// One scan's exposure on the log's clock.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposureBand {
    /// Text above the band (the scan number).
    pub label: String,
    /// Start of the exposure in s on the log's clock.
    pub start_s: f64,
    /// End of the exposure in s (≥ `start_s`).
    pub end_s: f64,
    /// Whether the exposure lies wholly inside the log.
    pub inside_log: bool,
    /// Voltage averaged over the exposure in V, drawn at the mid time when given.
    pub mean_voltage_v: Option<f64>,
}

/// Voltage against time with the scans' exposure windows.
#[derive(Debug, Clone)]
pub struct AlignPlot<'a> {
    /// Times of the log's records in s, non-decreasing.
    pub time_s: &'a [f64],
    /// Cell voltage of each record in V.
    pub voltage_v: &'a [f64],
    /// The scans' exposures.
    pub bands: Vec<ExposureBand>,
    /// Figure title (may be empty).
    pub title: String,
}

impl AlignPlot<'_> {
    /// Draws the figure and writes it as PNG to `png` and SVG to `svg`, each atomically.
    /// The time axis spans the exposures (padded) — the whole log when there is none — in
    /// minutes up to a 2 h span, in hours beyond.
    pub fn render(&self, png: &Path, svg: &Path) -> Result<(), PlotError> {
        self.validate()?;
        render_files(self, png, svg)
    }

    fn validate(&self) -> Result<(), PlotError> {
        let bad = |message: String| PlotError::InvalidData { figure: "alignment plot", message };
        if self.time_s.len() != self.voltage_v.len() || self.time_s.len() < 2 {
            return Err(bad(format!(
                "{} times and {} voltages; need two or more records",
                self.time_s.len(),
                self.voltage_v.len()
            )));
        }
        if self.time_s.iter().chain(self.voltage_v).any(|v| !v.is_finite()) {
            return Err(bad("a time or voltage of the log is not finite".into()));
        }
        if self.time_s.windows(2).any(|w| w[1] < w[0]) {
            return Err(bad("the log's times decrease".into()));
        }
        for b in &self.bands {
            let ok = b.start_s.is_finite()
                && b.end_s.is_finite()
                && b.end_s >= b.start_s
                && b.mean_voltage_v.is_none_or(f64::is_finite);
            if !ok {
                return Err(bad(format!(
                    "scan {}: exposure {}..{} s is not a finite, ordered window",
                    b.label, b.start_s, b.end_s
                )));
            }
        }
        Ok(())
    }

    /// The shown time range in s.
    fn t_range(&self) -> (f64, f64) {
        let (first, last) = (self.time_s[0], self.time_s[self.time_s.len() - 1]);
        if self.bands.is_empty() {
            let pad = 0.02 * (last - first).max(1.0);
            return (first - pad, last + pad);
        }
        let lo = self.bands.iter().map(|b| b.start_s).fold(f64::INFINITY, f64::min);
        let hi = self.bands.iter().map(|b| b.end_s).fold(f64::NEG_INFINITY, f64::max);
        let widest = self.bands.iter().map(|b| b.end_s - b.start_s).fold(0.0, f64::max);
        let pad = (0.08 * (hi - lo)).max(3.0 * widest).max(60.0);
        (lo - pad, hi + pad)
    }

    /// The log as (t, V) inside `lo..hi`, interpolated at the ends.
    fn trace_in(&self, lo: f64, hi: f64) -> Vec<(f64, f64)> {
        let (t, v) = (self.time_s, self.voltage_v);
        let at = |x: f64| -> Option<f64> {
            if x < t[0] || x > t[t.len() - 1] {
                return None;
            }
            let j = t.partition_point(|&s| s <= x).clamp(1, t.len() - 1);
            let dt = t[j] - t[j - 1];
            let f = if dt > 0.0 { (x - t[j - 1]) / dt } else { 1.0 };
            Some(v[j - 1] + f * (v[j] - v[j - 1]))
        };
        let mut out: Vec<(f64, f64)> = Vec::new();
        if let Some(y) = at(lo) {
            out.push((lo, y));
        }
        out.extend(t.iter().zip(v).filter(|(s, _)| **s > lo && **s < hi).map(|(s, y)| (*s, *y)));
        if let Some(y) = at(hi) {
            out.push((hi, y));
        }
        out
    }
}

impl Figure for AlignPlot<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        target: Target,
    ) -> Result<Vec<Raster>, PlotError> {
        root.fill(&WHITE).map_err(render_err)?;
        let area = draw_title(root, &self.title)?;
        let (t_lo, t_hi) = self.t_range();
        let (unit, scale) = if t_hi - t_lo <= 7200.0 { ("min", 60.0) } else { ("h", 3600.0) };
        let trace = self.trace_in(t_lo, t_hi);
        let ys: Vec<f64> = trace
            .iter()
            .map(|p| p.1)
            .chain(self.bands.iter().filter_map(|b| b.mean_voltage_v))
            .collect();
        let ys = if ys.is_empty() { self.voltage_v.to_vec() } else { ys };
        let (v_lo, v_hi) =
            ys.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
        let span = (v_hi - v_lo).max(0.01);
        let mid = 0.5 * (v_lo + v_hi);
        // Room at the top for the scan labels and a legend row.
        let (y_lo, y_hi) = (mid - 0.56 * span, mid + 0.9 * span);
        let (x_lo, x_hi) = (t_lo / scale, t_hi / scale);
        let mut chart = ChartBuilder::on(&area)
            .margin(MARGIN)
            .margin_right(MARGIN_RIGHT)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
            .map_err(render_err)?;
        let (xs, yspan) = (x_hi - x_lo, y_hi - y_lo);
        let x_fmt = move |v: &f64| format_tick(*v, xs);
        let y_fmt = move |v: &f64| format_tick(*v, yspan);
        let x_label = format!("Time on the cycler log ({unit})");
        draw_axes(&mut chart, &x_label, "Voltage (V)", &x_fmt, &y_fmt)?;
        let (pxr, pyr) = chart.plotting_area().get_pixel_range();

        // Bands first, under the voltage.
        let mut bands: Vec<&ExposureBand> = self.bands.iter().collect();
        bands.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        let label_font = TextStyle::from((FAMILY, TICK_LABEL_PX).into_font())
            .pos(Pos::new(HPos::Center, VPos::Center))
            .color(&BLACK);
        let mut last_label_right = i32::MIN;
        let mut band_px: Vec<(i32, i32)> = Vec::with_capacity(bands.len());
        for b in &bands {
            let (l, _) = chart.backend_coord(&(b.start_s / scale, y_hi));
            let (r, _) = chart.backend_coord(&(b.end_s / scale, y_hi));
            let (l, r) = if r - l < MIN_BAND_PX {
                let c = (l + r) / 2;
                (c - MIN_BAND_PX / 2, c - MIN_BAND_PX / 2 + MIN_BAND_PX)
            } else {
                (l, r)
            };
            let (l, r) = (l.max(pxr.start), r.min(pxr.end - 1));
            band_px.push((l, r));
            let fill = if b.inside_log { BAND } else { BAND_OUTSIDE };
            root.draw(&Rectangle::new([(l, pyr.start), (r, pyr.end - 1)], fill.filled()))
                .map_err(render_err)?;
            // A label only where it does not overlap the previous one.
            let (w, _) = root.estimate_text_size(&b.label, &label_font).map_err(render_err)?;
            let c = (l + r) / 2;
            let half = w as i32 / 2;
            if c - half > last_label_right + 6 {
                let y = pyr.start + LABEL_ROW_PX / 2 + 4;
                root.draw_text(&b.label, &label_font, (c, y)).map_err(render_err)?;
                last_label_right = c + half;
            }
        }

        let mut pixels: Vec<(i32, i32)> =
            trace.iter().map(|&(t, v)| chart.backend_coord(&(t / scale, v))).collect();
        pixels.dedup();
        thick_line(root, &pixels, BLUE, 2, target)?;
        let marker = Marker { shape: Shape::Diamond, radius: 7, filled: true, colour: VERMILLION };
        for b in &bands {
            if let Some(v) = b.mean_voltage_v {
                let mid_t = 0.5 * (b.start_s + b.end_s) / scale;
                marker.draw(root, chart.backend_coord(&(mid_t, v)))?;
            }
        }
        draw_frame(root, &pxr, &pyr)?;

        let mut entries: Vec<(Symbol, String)> = vec![
            (Symbol::Line(BLUE, 2), "cell voltage (cycler log)".into()),
            (Symbol::Patch(BAND), "scan exposure".into()),
        ];
        if self.bands.iter().any(|b| !b.inside_log) {
            entries.push((Symbol::Patch(BAND_OUTSIDE), "exposure outside the log".into()));
        }
        if self.bands.iter().any(|b| b.mean_voltage_v.is_some()) {
            entries.push((Symbol::Marker(marker), "mean voltage over the exposure".into()));
        }
        let (w, h) = legend_size(root, &entries)?;
        let (wi, hi) = (w as i32, h as i32);
        // The legend where it hides the fewest voltage pixels, then the least band area:
        // top, middle or bottom, right or left.
        let top = pyr.start + LABEL_ROW_PX + LEGEND_INSET;
        let bottom = pyr.end - LEGEND_INSET - hi;
        let middle = (top + bottom) / 2;
        let (right, left) = (pxr.end - LEGEND_INSET - wi, pxr.start + LEGEND_INSET);
        let corners = [
            (right, top),
            (left, top),
            (right, middle),
            (left, middle),
            (right, bottom),
            (left, bottom),
        ];
        let cost = |(cx, cy): (i32, i32)| {
            let line = pixels
                .iter()
                .filter(|(x, y)| {
                    *x >= cx - 8 && *x <= cx + wi + 8 && *y >= cy - 8 && *y <= cy + hi + 8
                })
                .count() as i64;
            let bands: i64 =
                band_px.iter().map(|&(l, r)| i64::from((r.min(cx + wi) - l.max(cx)).max(0))).sum();
            1000 * line + bands
        };
        let best = corners.iter().copied().min_by_key(|c| cost(*c)).unwrap_or(corners[0]);
        draw_legend(root, &entries, best, (w, h))?;
        Ok(Vec::new())
    }
}
