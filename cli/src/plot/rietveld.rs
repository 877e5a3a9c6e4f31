//! The Rietveld plot: observed, calculated and background intensities, the difference curve
//! offset below them, one row of reflection ticks per phase, shaded excluded regions and a
//! legend placed where it hides no data.

use super::decimate::{m4_indices, minmax_indices};
use super::draw::{distinct_pixels, draw_axes, draw_frame, draw_title, thick_line};
use super::legend::{draw_legend, legend_size, Marker, Shape, Symbol};
use super::output::{render_files, Figure, Raster, Target};
use super::style::{
    format_tick, render_err, BLACK, BLUE, BLUISH_GREEN, LIGHT_GREY, MID_GREY, ORANGE,
    REDDISH_PURPLE, SKY_BLUE, VERMILLION,
};
use super::PlotError;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Default x-axis title.
pub const DEFAULT_X_LABEL: &str = "2θ (°)";
/// Default y-axis title.
pub const DEFAULT_Y_LABEL: &str = "Intensity (counts)";

/// Up to this many points the observed pattern is drawn as one open circle per point; above
/// it, as the lowest and highest observed point of each pixel column.
pub const MAX_CIRCLES: usize = 5000;

/// Tick colours of successive phases (Okabe–Ito; cycles). Chosen apart from the curve colours
/// (calculated vermillion, background green, difference blue).
const PHASE_COLOURS: [RGBColor; 5] = [REDDISH_PURPLE, ORANGE, SKY_BLUE, BLACK, BLUISH_GREEN];

// Layout, in pixels of the 1600 × 1000 figure.
const MARGIN_TOP: u32 = 14;
const MARGIN_RIGHT: u32 = 44;
const MARGIN_BOTTOM: u32 = 10;
const MARGIN_LEFT: u32 = 14;
const X_LABEL_AREA: u32 = 100;
const Y_LABEL_AREA: u32 = 150;
/// Free space between the highest point and the frame.
const HEADROOM_PX: f64 = 24.0;
/// Gap between the lowest point of the pattern and the first tick row.
const TICK_GAP_TOP_PX: f64 = 14.0;
/// Height of one row of reflection ticks.
const TICK_ROW_PX: f64 = 26.0;
/// Length of one reflection tick.
const TICK_LEN_PX: f64 = 18.0;
/// Gap between the last tick row and the top of the difference curve.
const TICK_GAP_BOTTOM_PX: f64 = 12.0;
/// Free space between the difference curve and the frame.
const FOOT_PX: f64 = 12.0;
/// Distance of the legend box from the frame.
const LEGEND_INSET_PX: f64 = 14.0;
/// Free space between the legend box and the data below it.
const LEGEND_CLEAR_PX: f64 = 10.0;

/// The reflection positions of one phase, drawn as one row of ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseTicks {
    /// Phase name for the legend (e.g. `"LTNO"` or `"Li₂MnO₃"`).
    pub name: String,
    /// Peak positions 2θ in degrees (all wavelength components the caller wants marked);
    /// positions outside the plotted range are ignored.
    pub positions_deg: Vec<f64>,
}

/// The classic Rietveld plot of one refined pattern.
///
/// `two_theta_deg`, `observed` and `calculated` have one value per point, 2θ ascending;
/// `background` has as many or is empty (not drawn). The difference (observed − calculated)
/// is drawn on the same intensity scale, shifted below the reflection ticks.
#[derive(Debug, Clone)]
pub struct RietveldPlot<'a> {
    /// 2θ of each point in degrees, ascending.
    pub two_theta_deg: &'a [f64],
    /// Observed intensity of each point.
    pub observed: &'a [f64],
    /// Calculated intensity (background included) of each point.
    pub calculated: &'a [f64],
    /// Background of each point, or empty.
    pub background: &'a [f64],
    /// Excluded 2θ regions `(start, end)` in degrees, shaded grey.
    pub excluded_deg: &'a [(f64, f64)],
    /// Reflection ticks, one row per phase, top to bottom in this order.
    pub phases: Vec<PhaseTicks>,
    /// Figure title (may be empty: no title band).
    pub title: String,
    /// x-axis title, by default [`DEFAULT_X_LABEL`].
    pub x_label: String,
    /// y-axis title, by default [`DEFAULT_Y_LABEL`].
    pub y_label: String,
    /// A line such as `"λ = 0.4579 Å"` shown at the top of the legend.
    pub wavelength_label: Option<String>,
}

impl<'a> RietveldPlot<'a> {
    /// A plot of the given curves with default axis titles and no phases, exclusions, title or
    /// wavelength line; set the public fields for more.
    pub fn new(
        two_theta_deg: &'a [f64],
        observed: &'a [f64],
        calculated: &'a [f64],
        background: &'a [f64],
    ) -> Self {
        Self {
            two_theta_deg,
            observed,
            calculated,
            background,
            excluded_deg: &[],
            phases: Vec::new(),
            title: String::new(),
            x_label: DEFAULT_X_LABEL.to_string(),
            y_label: DEFAULT_Y_LABEL.to_string(),
            wavelength_label: None,
        }
    }

    /// Draws the plot and writes it as a PNG of [`super::PNG_SIZE`] to `png` and as SVG to
    /// `svg`, each atomically. Invalid data is reported before any file is touched.
    pub fn render(&self, png: &Path, svg: &Path) -> Result<(), PlotError> {
        self.validate()?;
        render_files(self, png, svg)
    }

    fn validate(&self) -> Result<(), PlotError> {
        let bad = |message: String| PlotError::InvalidData { figure: "Rietveld plot", message };
        let n = self.two_theta_deg.len();
        if n < 2 {
            return Err(bad(format!("{n} points; at least 2 are needed")));
        }
        for (name, len) in
            [("observed", self.observed.len()), ("calculated", self.calculated.len())]
        {
            if len != n {
                return Err(bad(format!("{len} {name} values for {n} 2θ values")));
            }
        }
        if !self.background.is_empty() && self.background.len() != n {
            return Err(bad(format!(
                "{} background values for {n} 2θ values",
                self.background.len()
            )));
        }
        for (name, values) in [
            ("2θ", self.two_theta_deg),
            ("observed", self.observed),
            ("calculated", self.calculated),
            ("background", self.background),
        ] {
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(bad(format!("{name} value {} (point {i}) is not finite", values[i])));
            }
        }
        if let Some(i) = self.two_theta_deg.windows(2).position(|w| w[1] < w[0]) {
            return Err(bad(format!("2θ decreases after point {i}; it must be ascending")));
        }
        if self.two_theta_deg[n - 1] <= self.two_theta_deg[0] {
            return Err(bad("the 2θ range is empty".into()));
        }
        for &(a, b) in self.excluded_deg {
            if !(a.is_finite() && b.is_finite() && a < b) {
                return Err(bad(format!("excluded region ({a}, {b}) is not a finite start < end")));
            }
        }
        for phase in &self.phases {
            if phase.positions_deg.iter().any(|p| !p.is_finite()) {
                return Err(bad(format!("phase {} has a non-finite tick position", phase.name)));
            }
        }
        Ok(())
    }

    /// How observed points are drawn when the plot is `columns` pixels wide.
    fn observed_marker(&self, columns: usize) -> Marker {
        let n = self.two_theta_deg.len();
        if n > MAX_CIRCLES {
            Marker { shape: Shape::Circle, radius: 2, filled: true, colour: BLACK }
        } else if (n as f64) < 0.5 * columns as f64 {
            Marker { shape: Shape::Circle, radius: 5, filled: false, colour: BLACK }
        } else {
            Marker { shape: Shape::Circle, radius: 4, filled: false, colour: BLACK }
        }
    }

    fn legend_entries(&self, columns: usize) -> Vec<(Symbol, String)> {
        let mut entries = Vec::new();
        if let Some(w) = &self.wavelength_label {
            entries.push((Symbol::None, w.clone()));
        }
        let marker = self.observed_marker(columns);
        let marker = Marker { radius: marker.radius + u32::from(marker.filled), ..marker };
        entries.push((Symbol::Marker(marker), "Observed".to_string()));
        entries.push((Symbol::Line(VERMILLION, 3), "Calculated".to_string()));
        if !self.background.is_empty() {
            entries.push((Symbol::Line(BLUISH_GREEN, 2), "Background".to_string()));
        }
        entries.push((Symbol::Line(BLUE, 2), "Difference (obs − calc)".to_string()));
        for (i, phase) in self.phases.iter().enumerate() {
            entries.push((Symbol::Tick(phase_colour(i), TICK_LEN_PX as i32), phase.name.clone()));
        }
        if !self.excluded_deg.is_empty() {
            entries.push((Symbol::Patch(LIGHT_GREY), "Excluded".to_string()));
        }
        entries
    }
}

/// Tick colour of the `i`-th phase.
fn phase_colour(i: usize) -> RGBColor {
    PHASE_COLOURS[i % PHASE_COLOURS.len()]
}

/// Where the data sit on the intensity axis, all in data units.
struct Layout {
    y_bottom: f64,
    y_top: f64,
    /// Where the difference curve's zero lies.
    diff_zero: f64,
    /// Centre of the tick row of each phase.
    tick_rows: Vec<f64>,
    /// Half a tick's length.
    tick_half: f64,
    /// Labels below this are hidden (they would sit beside ticks or the difference).
    label_floor: f64,
    legend_right: bool,
}

fn max_in(x: &[f64], ys: &[&[f64]], lo: f64, hi: f64) -> Option<f64> {
    let mut m: Option<f64> = None;
    for (i, &xi) in x.iter().enumerate() {
        if xi >= lo && xi <= hi {
            for y in ys {
                if let Some(&v) = y.get(i) {
                    m = Some(m.map_or(v, |m: f64| m.max(v)));
                }
            }
        }
    }
    m
}

impl RietveldPlot<'_> {
    /// Chooses the intensity range so that, in `plot_h` pixels, the pattern, the tick rows and
    /// the difference curve stack without overlap and the legend (`legend_w × legend_h` px)
    /// fits in an upper corner above the data; picks the corner that needs less room.
    fn layout(&self, plot_w: f64, plot_h: f64, legend_w: f64, legend_h: f64) -> Layout {
        let x = self.two_theta_deg;
        let (x_lo, x_hi) = (x[0], x[x.len() - 1]);
        let fold = |init: f64, f: fn(f64, f64) -> f64, ys: &[&[f64]]| {
            ys.iter().flat_map(|y| y.iter().copied()).fold(init, f)
        };
        let y_max = fold(f64::NEG_INFINITY, f64::max, &[self.observed, self.calculated]);
        let pattern_bottom =
            fold(f64::INFINITY, f64::min, &[self.observed, self.calculated, self.background]);
        let (d_min, d_max) = self
            .observed
            .iter()
            .zip(self.calculated)
            .map(|(o, c)| o - c)
            .fold((0.0_f64, 0.0_f64), |(lo, hi), d| (lo.min(d), hi.max(d)));
        let mut span = (y_max - pattern_bottom) + (d_max - d_min);
        if span <= 0.0 {
            span = y_max.abs().max(1.0);
        }

        let n_rows = self.phases.len() as f64;
        let stack_px = TICK_GAP_TOP_PX + n_rows * TICK_ROW_PX + TICK_GAP_BOTTOM_PX;
        let fixed_px = stack_px + FOOT_PX;
        let u_plain = span / (plot_h - HEADROOM_PX - fixed_px).max(plot_h * 0.2);

        // Legend constraint for each upper corner: the data under the legend's 2θ span must
        // stay below its bottom edge.
        let legend_px = LEGEND_INSET_PX + legend_h + LEGEND_CLEAR_PX;
        let to_data = |px: f64| x_lo + px / plot_w * (x_hi - x_lo);
        let span_right = (to_data(plot_w - LEGEND_INSET_PX - legend_w), x_hi);
        let span_left = (x_lo, to_data(LEGEND_INSET_PX + legend_w));
        let ys: [&[f64]; 2] = [self.observed, self.calculated];
        let need = |(lo, hi): (f64, f64)| {
            let m = max_in(x, &ys, lo, hi).unwrap_or(pattern_bottom);
            let room = plot_h - legend_px - fixed_px;
            if room > plot_h * 0.2 {
                (m - pattern_bottom + (d_max - d_min)) / room
            } else {
                f64::INFINITY
            }
        };
        let (u_right, u_left) = (need(span_right), need(span_left));
        let legend_right = u_right <= u_left;
        let u_legend = u_right.min(u_left);
        let u = if u_legend.is_finite() { u_plain.max(u_legend) } else { u_plain };

        let y_bottom = pattern_bottom - stack_px * u - (d_max - d_min) - FOOT_PX * u;
        let y_top = y_bottom + plot_h * u;
        let diff_zero = pattern_bottom - stack_px * u - d_max;
        let tick_rows = (0..self.phases.len())
            .map(|i| pattern_bottom - (TICK_GAP_TOP_PX + (i as f64 + 0.5) * TICK_ROW_PX) * u)
            .collect();
        Layout {
            y_bottom,
            y_top,
            diff_zero,
            tick_rows,
            tick_half: 0.5 * TICK_LEN_PX * u,
            label_floor: pattern_bottom.min(0.0) - 1e-9 * span,
            legend_right,
        }
    }
}

impl Figure for RietveldPlot<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        target: Target,
    ) -> Result<Vec<Raster>, PlotError> {
        root.fill(&WHITE).map_err(render_err)?;
        let area = draw_title(root, &self.title)?;

        let (xr, yr) = area.get_pixel_range();
        let plot_w = (f64::from(xr.end - xr.start)
            - f64::from(MARGIN_LEFT + Y_LABEL_AREA + MARGIN_RIGHT))
        .max(1.0);
        let plot_h = (f64::from(yr.end - yr.start)
            - f64::from(MARGIN_TOP + MARGIN_BOTTOM + X_LABEL_AREA))
        .max(1.0);

        let columns = plot_w.round().max(1.0) as usize;
        let entries = self.legend_entries(columns);
        let (legend_w, legend_h) = legend_size(root, &entries)?;
        let lay = self.layout(plot_w, plot_h, f64::from(legend_w), f64::from(legend_h));

        let x = self.two_theta_deg;
        let (x_lo, x_hi) = (x[0], x[x.len() - 1]);
        let mut chart = ChartBuilder::on(&area)
            .margin_top(MARGIN_TOP)
            .margin_right(MARGIN_RIGHT)
            .margin_bottom(MARGIN_BOTTOM)
            .margin_left(MARGIN_LEFT)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(x_lo..x_hi, lay.y_bottom..lay.y_top)
            .map_err(render_err)?;

        let x_span = x_hi - x_lo;
        let y_span = lay.y_top - lay.y_bottom;
        let label_floor = lay.label_floor;
        let x_fmt = move |v: &f64| format_tick(*v, x_span);
        let y_fmt =
            move |v: &f64| if *v < label_floor { String::new() } else { format_tick(*v, y_span) };
        draw_axes(&mut chart, &self.x_label, &self.y_label, &x_fmt, &y_fmt)?;

        let (pxr, pyr) = chart.plotting_area().get_pixel_range();

        // Excluded regions, under everything else.
        let shaded = self.excluded_deg.iter().filter_map(|&(a, b)| {
            let (a, b) = (a.max(x_lo), b.min(x_hi));
            (a < b)
                .then(|| Rectangle::new([(a, lay.y_bottom), (b, lay.y_top)], LIGHT_GREY.filled()))
        });
        chart.draw_series(shaded).map_err(render_err)?;

        // Zero line of the difference curve.
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x_lo, lay.diff_zero), (x_hi, lay.diff_zero)],
                MID_GREY.stroke_width(1),
            )))
            .map_err(render_err)?;

        let obs = self.observed;
        let diff: Vec<f64> = obs.iter().zip(self.calculated).map(|(o, c)| o - c).collect();
        let line = |y: &[f64], offset: f64| -> Vec<(i32, i32)> {
            let points =
                m4_indices(x, y, x_lo, x_hi, columns).into_iter().map(|i| (x[i], y[i] + offset));
            distinct_pixels(&chart, points)
        };
        let calc_line = line(self.calculated, 0.0);
        let background_line = line(self.background, 0.0);
        let diff_line = line(&diff, lay.diff_zero);

        // Observed: open circles when they can be told apart, else each column's extremes.
        let marker = self.observed_marker(columns);
        let shown: Vec<usize> = if marker.filled {
            minmax_indices(x, obs, x_lo, x_hi, columns)
        } else {
            (0..x.len()).collect()
        };
        let circles =
            shown.into_iter().map(|i| Circle::new((x[i], obs[i]), marker.radius, marker.style()));
        chart.draw_series(circles).map_err(render_err)?;
        thick_line(root, &calc_line, VERMILLION, 2, target)?;
        // The background goes over the calculated curve: where they coincide (between peaks)
        // it would otherwise be invisible.
        if !self.background.is_empty() {
            thick_line(root, &background_line, BLUISH_GREEN, 2, target)?;
        }
        thick_line(root, &diff_line, BLUE, 2, target)?;

        // Reflection ticks, at most one per pixel column and phase.
        for (i, (phase, &centre)) in self.phases.iter().zip(&lay.tick_rows).enumerate() {
            let mut cols: Vec<i64> = phase
                .positions_deg
                .iter()
                .filter(|p| **p >= x_lo && **p <= x_hi)
                .map(|p| ((p - x_lo) / x_span * columns as f64).round() as i64)
                .collect();
            cols.sort_unstable();
            cols.dedup();
            let style = phase_colour(i).stroke_width(2);
            let ticks = cols.into_iter().map(|c| {
                let p = x_lo + c as f64 / columns as f64 * x_span;
                PathElement::new(
                    vec![(p, centre - lay.tick_half), (p, centre + lay.tick_half)],
                    style,
                )
            });
            chart.draw_series(ticks).map_err(render_err)?;
        }

        draw_frame(root, &pxr, &pyr)?;

        let inset = LEGEND_INSET_PX as i32;
        let left =
            if lay.legend_right { pxr.end - inset - legend_w as i32 } else { pxr.start + inset };
        draw_legend(root, &entries, (left, pyr.start + inset), (legend_w, legend_h))?;
        Ok(Vec::new())
    }
}
