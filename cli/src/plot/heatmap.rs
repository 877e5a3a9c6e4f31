//! A series of patterns as a colour image: 2θ across, scan (index or time) up, intensity as
//! colour (viridis) with a colour bar: the usual map of an in situ or operando experiment.

use super::draw::{draw_axes, draw_frame, draw_title};
use super::output::{render_files, Figure, Raster, Target};
use super::rietveld::DEFAULT_X_LABEL;
use super::style::{format_tick, render_err, AXIS_DESC_PX, BLACK, FAMILY, TICK_LABEL_PX};
use super::PlotError;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The matplotlib "viridis" colour map (van der Walt & Smith 2015; Nuñez, Anderton & Renslow,
/// PLOS ONE 13, e0199239 (2018)) sampled at 17 equidistant points k/16 (matplotlib 3.11,
/// rounded to 8 bits); interpolated linearly in between.
const VIRIDIS: [(u8, u8, u8); 17] = [
    (68, 1, 84),
    (72, 24, 106),
    (71, 45, 123),
    (66, 64, 134),
    (59, 82, 139),
    (51, 99, 141),
    (44, 114, 142),
    (38, 130, 142),
    (33, 145, 140),
    (31, 160, 136),
    (40, 174, 128),
    (63, 188, 115),
    (94, 201, 98),
    (132, 212, 75),
    (173, 220, 48),
    (216, 226, 25),
    (253, 231, 37),
];

/// Viridis colour of `t` in [0, 1] (values outside take the end colours).
pub(crate) fn viridis(t: f64) -> (u8, u8, u8) {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let s = t * (VIRIDIS.len() - 1) as f64;
    let k = (s.floor() as usize).min(VIRIDIS.len() - 2);
    let f = s - k as f64;
    let (a, b) = (VIRIDIS[k], VIRIDIS[k + 1]);
    let mix = |p: u8, q: u8| (f64::from(p) + f * (f64::from(q) - f64::from(p))).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// How intensities map to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColourScale {
    /// Colour ∝ I.
    #[default]
    Linear,
    /// Colour ∝ √I (weak peaks visible beside strong ones); negative I shows as 0.
    Sqrt,
    /// Colour ∝ log₁₀ I; I below the smallest positive value in the window shows as it.
    Log10,
}

/// A stack of patterns on a common 2θ grid as a colour map.
#[derive(Debug, Clone)]
pub struct HeatmapPlot<'a> {
    /// 2θ of each column in degrees, ascending (the common grid of all scans).
    pub two_theta_deg: &'a [f64],
    /// Position of each scan on the vertical axis (scan index, time in h, ...), ascending.
    pub rows: &'a [f64],
    /// Intensities, `rows.len() × two_theta_deg.len()`, scan by scan.
    pub intensity: &'a [f64],
    /// 2θ window `(start, end)` in degrees to show; all of it if `None`.
    pub window_deg: Option<(f64, f64)>,
    /// Figure title (may be empty).
    pub title: String,
    /// x-axis title, by default [`DEFAULT_X_LABEL`].
    pub x_label: String,
    /// y-axis title, by default `"Scan"`.
    pub y_label: String,
    /// Colour-bar title, by default `"Intensity (counts)"`.
    pub colour_label: String,
    /// Intensity-to-colour mapping.
    pub scale: ColourScale,
}

impl<'a> HeatmapPlot<'a> {
    /// A map of `intensity` (`rows.len() × two_theta_deg.len()`, scan by scan) with default titles.
    pub fn new(two_theta_deg: &'a [f64], rows: &'a [f64], intensity: &'a [f64]) -> Self {
        Self {
            two_theta_deg,
            rows,
            intensity,
            window_deg: None,
            title: String::new(),
            x_label: DEFAULT_X_LABEL.to_string(),
            y_label: "Scan".to_string(),
            colour_label: "Intensity (counts)".to_string(),
            scale: ColourScale::Linear,
        }
    }

    /// Draws the map and writes it as PNG to `png` and SVG (the image embedded as PNG) to
    /// `svg`, each atomically.
    pub fn render(&self, png: &Path, svg: &Path) -> Result<(), PlotError> {
        self.validate()?;
        render_files(self, png, svg)
    }

    fn validate(&self) -> Result<(), PlotError> {
        let bad = |message: String| PlotError::InvalidData { figure: "heat map", message };
        let (nx, ny) = (self.two_theta_deg.len(), self.rows.len());
        if nx < 2 || ny < 1 {
            return Err(bad(format!("{ny} scans of {nx} points; need at least 1 of 2")));
        }
        if self.intensity.len() != nx * ny {
            return Err(bad(format!(
                "{} intensities for {ny} scans × {nx} points",
                self.intensity.len()
            )));
        }
        for (name, v) in
            [("2θ", self.two_theta_deg), ("row", self.rows), ("intensity", self.intensity)]
        {
            if v.iter().any(|x| !x.is_finite()) {
                return Err(bad(format!("a {name} value is not finite")));
            }
        }
        if self.two_theta_deg.windows(2).any(|w| w[1] <= w[0])
            || self.rows.windows(2).any(|w| w[1] <= w[0])
        {
            return Err(bad("2θ and rows must be strictly ascending".into()));
        }
        let (lo, hi) = self.window();
        if lo.is_nan() || hi.is_nan() || lo >= hi {
            return Err(bad(format!("the 2θ window ({lo}, {hi}) is empty")));
        }
        Ok(())
    }

    /// The 2θ window shown.
    fn window(&self) -> (f64, f64) {
        let x = self.two_theta_deg;
        let (lo, hi) = (x[0], x[x.len() - 1]);
        match self.window_deg {
            Some((a, b)) => (a.max(lo), b.min(hi)),
            None => (lo, hi),
        }
    }

    /// The vertical range: each scan is a band reaching halfway to its neighbours.
    fn y_range(&self) -> (f64, f64) {
        let r = self.rows;
        let n = r.len();
        if n == 1 {
            return (r[0] - 0.5, r[0] + 0.5);
        }
        (r[0] - 0.5 * (r[1] - r[0]), r[n - 1] + 0.5 * (r[n - 1] - r[n - 2]))
    }

    /// Intensity of scan `j` seen by a pixel column covering 2θ `a..b`: the maximum of the
    /// points inside (so narrow peaks survive), or linear interpolation when none falls inside.
    fn column_value(&self, j: usize, a: f64, b: f64) -> f64 {
        let x = self.two_theta_deg;
        let nx = x.len();
        let row = &self.intensity[j * nx..(j + 1) * nx];
        let i0 = x.partition_point(|&t| t < a);
        let i1 = x.partition_point(|&t| t <= b);
        if i1 > i0 {
            return row[i0..i1].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        }
        let c = 0.5 * (a + b);
        let k = i0.clamp(1, nx - 1);
        let f = ((c - x[k - 1]) / (x[k] - x[k - 1])).clamp(0.0, 1.0);
        row[k - 1] + f * (row[k] - row[k - 1])
    }

    /// Transformed value for colouring.
    fn transform(&self, v: f64, log_floor: f64) -> f64 {
        match self.scale {
            ColourScale::Linear => v,
            ColourScale::Sqrt => v.max(0.0).sqrt(),
            ColourScale::Log10 => v.max(log_floor).log10(),
        }
    }

    fn inverse(&self, t: f64) -> f64 {
        match self.scale {
            ColourScale::Linear => t,
            ColourScale::Sqrt => t * t,
            ColourScale::Log10 => 10f64.powf(t),
        }
    }
}

const MARGIN_TOP: u32 = 14;
const MARGIN_BOTTOM: u32 = 10;
const X_LABEL_AREA: u32 = 100;
const Y_LABEL_AREA: u32 = 150;
const COLOUR_BAR_STRIP: u32 = 260;
const COLOUR_BAR_MARGIN_RIGHT: u32 = 40;
const COLOUR_BAR_GAP: u32 = 30;
const COLOUR_BAR_WIDTH: u32 = 36;

impl Figure for HeatmapPlot<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        _target: Target,
    ) -> Result<Vec<Raster>, PlotError> {
        root.fill(&WHITE).map_err(render_err)?;
        let area = draw_title(root, &self.title)?;
        let (aw, _) = area.dim_in_pixel();
        let (main, bar) = area.split_horizontally(aw.saturating_sub(COLOUR_BAR_STRIP));
        let (x_lo, x_hi) = self.window();
        let (y_lo, y_hi) = self.y_range();
        let mut chart = ChartBuilder::on(&main)
            .margin_top(MARGIN_TOP)
            .margin_bottom(MARGIN_BOTTOM)
            .margin_left(14)
            .margin_right(0)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
            .map_err(render_err)?;
        let (x_span, y_span) = (x_hi - x_lo, y_hi - y_lo);
        let x_fmt = move |v: &f64| format_tick(*v, x_span);
        let y_fmt = move |v: &f64| format_tick(*v, y_span);
        draw_axes(&mut chart, &self.x_label, &self.y_label, &x_fmt, &y_fmt)?;
        let (pxr, pyr) = chart.plotting_area().get_pixel_range();
        draw_frame(root, &pxr, &pyr)?;

        // The image, inside the frame.
        let (left, top) = (pxr.start + 1, pyr.start + 1);
        let width = (pxr.end - pxr.start - 2).max(1) as usize;
        let height = (pyr.end - pyr.start - 2).max(1) as usize;
        let ny = self.rows.len();
        let columns: Vec<Vec<f64>> = (0..ny)
            .map(|j| {
                (0..width)
                    .map(|i| {
                        let a = x_lo + x_span * i as f64 / width as f64;
                        let b = x_lo + x_span * (i + 1) as f64 / width as f64;
                        self.column_value(j, a, b)
                    })
                    .collect()
            })
            .collect();
        let log_floor =
            columns.iter().flatten().copied().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
        let log_floor = if log_floor.is_finite() { log_floor } else { 1.0 };
        let (t_lo, t_hi) = columns
            .iter()
            .flatten()
            .map(|&v| self.transform(v, log_floor))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), t| (l.min(t), h.max(t)));
        let t_span = if t_hi > t_lo { t_hi - t_lo } else { 1.0 };
        let mut rgb = Vec::with_capacity(width * height * 3);
        for p in 0..height {
            let y = y_hi - y_span * (p as f64 + 0.5) / height as f64;
            // Nearest scan: the first whose upper midpoint lies above y.
            let j = self.rows.windows(2).position(|w| y < 0.5 * (w[0] + w[1])).unwrap_or(ny - 1);
            for v in &columns[j] {
                let (r, g, b) = viridis((self.transform(*v, log_floor) - t_lo) / t_span);
                rgb.extend([r, g, b]);
            }
        }
        let mut rasters =
            vec![Raster { left, top, width: width as u32, height: height as u32, rgb }];

        // Colour bar, aligned with the plot vertically, labelled in intensity units.
        let mut bar_chart = ChartBuilder::on(&bar)
            .margin_top(MARGIN_TOP)
            .margin_bottom(MARGIN_BOTTOM + X_LABEL_AREA)
            .margin_left(COLOUR_BAR_GAP)
            .margin_right(COLOUR_BAR_MARGIN_RIGHT)
            .right_y_label_area_size(
                COLOUR_BAR_STRIP - COLOUR_BAR_GAP - COLOUR_BAR_WIDTH - COLOUR_BAR_MARGIN_RIGHT,
            )
            .build_cartesian_2d(0.0..1.0, t_lo..t_lo + t_span)
            .map_err(render_err)?;
        let v_span = self.inverse(t_hi) - self.inverse(t_lo);
        let c_fmt = move |t: &f64| -> String {
            match self.scale {
                ColourScale::Linear => format_tick(*t, t_span),
                _ => format_tick(self.inverse(*t), v_span),
            }
        };
        bar_chart
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .axis_style(BLACK.stroke_width(2))
            .y_desc(self.colour_label.as_str())
            .axis_desc_style((FAMILY, AXIS_DESC_PX))
            .label_style((FAMILY, TICK_LABEL_PX))
            .y_labels(7)
            .y_label_formatter(&c_fmt)
            .set_all_tick_mark_size(9)
            .draw()
            .map_err(render_err)?;
        let (bxr, byr) = bar_chart.plotting_area().get_pixel_range();
        draw_frame(root, &bxr, &byr)?;
        let (bw, bh) =
            ((bxr.end - bxr.start - 2).max(1) as usize, (byr.end - byr.start - 2).max(1) as usize);
        let mut bar_rgb = Vec::with_capacity(bw * bh * 3);
        for p in 0..bh {
            let (r, g, b) = viridis(1.0 - (p as f64 + 0.5) / bh as f64);
            for _ in 0..bw {
                bar_rgb.extend([r, g, b]);
            }
        }
        rasters.push(Raster {
            left: bxr.start + 1,
            top: byr.start + 1,
            width: bw as u32,
            height: bh as u32,
            rgb: bar_rgb,
        });
        Ok(rasters)
    }
}

#[cfg(test)]
mod tests {
    use super::viridis;

    #[test]
    fn viridis_ends_and_middle_match_matplotlib() {
        // matplotlib.colormaps["viridis"](0.0 / 0.5 / 1.0), ×255 rounded.
        assert_eq!(viridis(0.0), (68, 1, 84));
        assert_eq!(viridis(0.5), (33, 145, 140));
        assert_eq!(viridis(1.0), (253, 231, 37));
        assert_eq!(viridis(f64::NAN), (68, 1, 84));
    }
}
