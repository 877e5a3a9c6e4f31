//! The in situ map: a series of patterns as a colour image (2θ window across, time up; the
//! [`HeatmapPlot`]) with the cell voltage against the same time axis in a panel on the right,
//! as in the seed paper's Fig. 3c (operando XRD of a Li-rich rock salt).

use super::draw::{draw_frame, thick_line, TITLE_BAND};
use super::heatmap::{ColourScale, HeatmapPlot};
use super::output::{render_files, Figure, Raster, Target};
use super::style::{format_tick, render_err, AXIS_DESC_PX, BLACK, BLUE, FAMILY, TICK_LABEL_PX};
use super::PlotError;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

// The vertical layout of `HeatmapPlot` (heatmap.rs), which the voltage panel must match.
const MAP_MARGIN_TOP: u32 = 14;
const MAP_MARGIN_BOTTOM: u32 = 10;
const MAP_X_LABEL_AREA: u32 = 100;
/// Width in pixels of the voltage panel.
const VOLTAGE_PANEL: u32 = 430;

/// Patterns on a common 2θ grid against time, with the voltage curve beside them.
#[derive(Debug, Clone)]
pub struct InsituMapPlot<'a> {
    /// 2θ of each column in degrees, ascending.
    pub two_theta_deg: &'a [f64],
    /// Time of each scan in h, ascending.
    pub time_h: &'a [f64],
    /// Intensities, `time_h.len() × two_theta_deg.len()`, scan by scan.
    pub intensity: &'a [f64],
    /// 2θ window to show in degrees (all if `None`).
    pub window_deg: Option<(f64, f64)>,
    /// Times of the voltage record in h.
    pub voltage_time_h: &'a [f64],
    /// Cell voltage in V.
    pub voltage_v: &'a [f64],
    /// Figure title (may be empty).
    pub title: String,
    /// Intensity-to-colour mapping.
    pub scale: ColourScale,
}

impl InsituMapPlot<'_> {
    fn map(&self) -> HeatmapPlot<'_> {
        let mut h = HeatmapPlot::new(self.two_theta_deg, self.time_h, self.intensity);
        h.window_deg = self.window_deg;
        h.title = self.title.clone();
        h.y_label = "Time (h)".into();
        h.scale = self.scale;
        h
    }

    /// Draws the figure and writes it as PNG to `png` and SVG to `svg`, each atomically.
    pub fn render(&self, png: &Path, svg: &Path) -> Result<(), PlotError> {
        // The map checks its own data when drawn; check the voltage here.
        let bad = |message: String| PlotError::InvalidData { figure: "in situ map", message };
        if self.voltage_time_h.len() != self.voltage_v.len() {
            return Err(bad(format!(
                "{} voltage times for {} voltages",
                self.voltage_time_h.len(),
                self.voltage_v.len()
            )));
        }
        if self.voltage_time_h.iter().chain(self.voltage_v).any(|v| !v.is_finite()) {
            return Err(bad("a voltage or its time is not finite".into()));
        }
        if self.time_h.len() < 2 || self.time_h.windows(2).any(|w| w[1] <= w[0]) {
            return Err(bad("need two or more scans with strictly increasing times".into()));
        }
        let (nx, ny) = (self.two_theta_deg.len(), self.time_h.len());
        if nx < 2 || self.intensity.len() != nx * ny {
            return Err(bad(format!(
                "{} intensities for {ny} scans × {nx} points",
                self.intensity.len()
            )));
        }
        if self.two_theta_deg.windows(2).any(|w| w[1] <= w[0])
            || self
                .two_theta_deg
                .iter()
                .chain(self.time_h)
                .chain(self.intensity)
                .any(|v| !v.is_finite())
        {
            return Err(bad("2θ must be ascending and every value finite".into()));
        }
        render_files(self, png, svg)
    }

    /// The vertical range of the map (each scan a band reaching halfway to its neighbours).
    fn y_range(&self) -> (f64, f64) {
        let r = self.time_h;
        let n = r.len();
        (r[0] - 0.5 * (r[1] - r[0]), r[n - 1] + 0.5 * (r[n - 1] - r[n - 2]))
    }
}

impl Figure for InsituMapPlot<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        target: Target,
    ) -> Result<Vec<Raster>, PlotError> {
        root.fill(&WHITE).map_err(render_err)?;
        let (w, _) = root.dim_in_pixel();
        // The map draws in absolute pixels, so it gets the left part starting at (0, 0).
        let (left, right) = root.split_horizontally(w.saturating_sub(VOLTAGE_PANEL));
        let rasters = self.map().draw(&left, target)?;

        let (y_lo, y_hi) = self.y_range();
        let inside: Vec<(f64, f64)> = self
            .voltage_time_h
            .iter()
            .zip(self.voltage_v)
            .filter(|(t, _)| **t >= y_lo && **t <= y_hi)
            .map(|(t, v)| (*v, *t))
            .collect();
        let (v_lo, v_hi) = inside
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), (v, _)| (l.min(*v), h.max(*v)));
        let (v_lo, v_hi) =
            if v_lo.is_finite() && v_hi > v_lo { (v_lo, v_hi) } else { (v_lo - 0.5, v_lo + 0.5) };
        let (v_lo, v_hi) = if v_lo.is_finite() { (v_lo, v_hi) } else { (0.0, 5.0) };
        let pad = 0.05 * (v_hi - v_lo);
        let title = if self.title.is_empty() { 0 } else { TITLE_BAND };
        let mut chart = ChartBuilder::on(&right)
            .margin_top(MAP_MARGIN_TOP + title)
            .margin_bottom(MAP_MARGIN_BOTTOM)
            .margin_left(16)
            .margin_right(40)
            .x_label_area_size(MAP_X_LABEL_AREA)
            .y_label_area_size(0)
            .build_cartesian_2d((v_lo - pad)..(v_hi + pad), y_lo..y_hi)
            .map_err(render_err)?;
        let v_span = v_hi - v_lo + 2.0 * pad;
        let x_fmt = move |v: &f64| format_tick(*v, v_span);
        chart
            .configure_mesh()
            .disable_mesh()
            .axis_style(BLACK.stroke_width(2))
            .x_desc("Voltage (V)")
            .axis_desc_style((FAMILY, AXIS_DESC_PX))
            .label_style((FAMILY, TICK_LABEL_PX))
            .x_labels(4)
            .y_labels(9)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&|_| String::new())
            .set_all_tick_mark_size(9)
            .draw()
            .map_err(render_err)?;
        // Pixels are absolute; `root` starts at (0, 0).
        let mut pixels: Vec<(i32, i32)> = inside.iter().map(|p| chart.backend_coord(p)).collect();
        pixels.dedup();
        thick_line(root, &pixels, BLUE, 3, target)?;
        let (pxr, pyr) = chart.plotting_area().get_pixel_range();
        draw_frame(root, &pxr, &pyr)?;
        Ok(rasters)
    }
}

/// The in situ map of a series of scans: each scan's (2θ, intensity) is interpolated onto the
/// first scan's 2θ grid inside `window_deg`, rows ordered by `times_s` (s, on the cycler
/// log's clock), next to the voltage (`voltage_time_s`, `voltage_v`). Writes `png` and `svg`.
pub fn insitu_map(
    scans: &[(&[f64], &[f64])],
    times_s: &[f64],
    window_deg: Option<(f64, f64)>,
    voltage_time_s: &[f64],
    voltage_v: &[f64],
    png: &Path,
    svg: &Path,
) -> Result<(), PlotError> {
    let bad = |message: String| PlotError::InvalidData { figure: "in situ map", message };
    if scans.len() != times_s.len() || scans.len() < 2 {
        return Err(bad(format!(
            "{} scans and {} times; need two or more",
            scans.len(),
            times_s.len()
        )));
    }
    let (x0, _) = scans[0];
    let (lo, hi) = window_deg.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
    let grid: Vec<f64> = x0.iter().copied().filter(|x| *x >= lo && *x <= hi).collect();
    if grid.len() < 2 {
        return Err(bad("the 2θ window holds fewer than 2 points of the first scan".into()));
    }
    let mut order: Vec<usize> = (0..scans.len()).collect();
    order.sort_by(|&a, &b| times_s[a].total_cmp(&times_s[b]));
    let mut intensity = Vec::with_capacity(grid.len() * scans.len());
    for &k in &order {
        let (x, y) = scans[k];
        if x.len() != y.len() || x.len() < 2 || x.windows(2).any(|w| w[1] <= w[0]) {
            return Err(bad(format!(
                "scan {k}: 2θ must be ascending with one intensity per point"
            )));
        }
        for &g in &grid {
            let j = x.partition_point(|&v| v <= g).clamp(1, x.len() - 1);
            let f = ((g - x[j - 1]) / (x[j] - x[j - 1])).clamp(0.0, 1.0);
            intensity.push(y[j - 1] + f * (y[j] - y[j - 1]));
        }
    }
    let time_h: Vec<f64> = order.iter().map(|&k| times_s[k] / 3600.0).collect();
    let vt: Vec<f64> = voltage_time_s.iter().map(|t| t / 3600.0).collect();
    let plot = InsituMapPlot {
        two_theta_deg: &grid,
        time_h: &time_h,
        intensity: &intensity,
        window_deg: None,
        voltage_time_h: &vt,
        voltage_v,
        title: String::new(),
        scale: ColourScale::Sqrt,
    };
    plot.render(png, svg)
}
