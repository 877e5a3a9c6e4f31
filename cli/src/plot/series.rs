//! A general x–y figure: several named series, optional ± error bars, and an optional second
//! y axis on the right (e.g. a lattice parameter against time with the cell voltage).

use super::draw::{draw_axes, draw_frame, draw_title, thick_line};
use super::legend::{draw_legend, legend_size, Marker, Shape, Symbol};
use super::output::{render_files, Figure, Raster, Target};
use super::style::{format_tick, render_err, AXIS_DESC_PX, BLACK, CYCLE, FAMILY, TICK_LABEL_PX};
use super::PlotError;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::ops::Range;
use std::path::Path;

/// Which y axis a series is drawn against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeriesAxis {
    /// The left axis (titled [`SeriesPlot::y_label`]).
    #[default]
    Left,
    /// The right axis (titled [`SeriesPlot::y2_label`]).
    Right,
}

/// How the points of a series are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeriesStyle {
    /// A line through the points (dense data such as a voltage trace).
    Line,
    /// A marker at each point (refined values).
    Markers,
    /// Both.
    #[default]
    LineAndMarkers,
}

/// One named series. `x`, `y` and, if given, `y_err` have one value per point.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    /// Legend name.
    pub name: String,
    /// Abscissae.
    pub x: &'a [f64],
    /// Ordinates.
    pub y: &'a [f64],
    /// Standard uncertainty of each ordinate, drawn as a bar y ± u; non-negative.
    pub y_err: Option<&'a [f64]>,
    /// Axis the series is plotted against.
    pub axis: SeriesAxis,
    /// Line, markers or both.
    pub style: SeriesStyle,
}

impl<'a> Series<'a> {
    /// A left-axis series drawn as line and markers, without error bars.
    pub fn new(name: impl Into<String>, x: &'a [f64], y: &'a [f64]) -> Self {
        Self {
            name: name.into(),
            x,
            y,
            y_err: None,
            axis: SeriesAxis::Left,
            style: SeriesStyle::LineAndMarkers,
        }
    }
}

/// An x–y plot of several series with an optional right-hand y axis.
#[derive(Debug, Clone)]
pub struct SeriesPlot<'a> {
    /// The series, drawn in this order with colours and marker shapes in this order.
    pub series: Vec<Series<'a>>,
    /// Figure title (may be empty).
    pub title: String,
    /// x-axis title with units.
    pub x_label: String,
    /// Left y-axis title with units.
    pub y_label: String,
    /// Right y-axis title; the right axis is drawn when some series uses it.
    pub y2_label: String,
}

impl<'a> SeriesPlot<'a> {
    /// An empty plot with the given axis titles.
    pub fn new(x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        Self {
            series: Vec::new(),
            title: String::new(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            y2_label: String::new(),
        }
    }

    /// Draws the plot and writes it as PNG to `png` and SVG to `svg`, each atomically.
    pub fn render(&self, png: &Path, svg: &Path) -> Result<(), PlotError> {
        self.validate()?;
        render_files(self, png, svg)
    }

    fn validate(&self) -> Result<(), PlotError> {
        let bad = |message: String| PlotError::InvalidData { figure: "series plot", message };
        if !self.series.iter().any(|s| s.axis == SeriesAxis::Left && !s.x.is_empty()) {
            return Err(bad("no series with points on the left axis".into()));
        }
        for s in &self.series {
            if s.y.len() != s.x.len() {
                return Err(bad(format!(
                    "series {}: {} x but {} y values",
                    s.name,
                    s.x.len(),
                    s.y.len()
                )));
            }
            if let Some(e) = s.y_err {
                if e.len() != s.x.len() {
                    return Err(bad(format!(
                        "series {}: {} uncertainties for {} points",
                        s.name,
                        e.len(),
                        s.x.len()
                    )));
                }
                if e.iter().any(|u| !(u.is_finite() && *u >= 0.0)) {
                    return Err(bad(format!(
                        "series {}: an uncertainty is negative or not finite",
                        s.name
                    )));
                }
            }
            if s.x.iter().chain(s.y).any(|v| !v.is_finite()) {
                return Err(bad(format!("series {}: a value is not finite", s.name)));
            }
        }
        Ok(())
    }

    fn has_right(&self) -> bool {
        self.series.iter().any(|s| s.axis == SeriesAxis::Right && !s.x.is_empty())
    }

    /// Padded range of the x values of all series.
    fn x_range(&self) -> Range<f64> {
        let xs = self.series.iter().flat_map(|s| s.x.iter().copied());
        padded(xs, 0.03)
    }

    /// Padded range of the ordinates (with error bars) of the series on `axis`.
    fn y_range(&self, axis: SeriesAxis) -> Range<f64> {
        let ys = self.series.iter().filter(|s| s.axis == axis).flat_map(|s| {
            (0..s.y.len()).flat_map(move |i| {
                let u = s.y_err.and_then(|e| e.get(i).copied()).unwrap_or(0.0);
                [s.y[i] - u, s.y[i] + u]
            })
        });
        padded(ys, 0.06)
    }
}

/// `min..max` of `values` widened by `frac` of the span on each side (±1 around a single value,
/// or ±|v|·`frac` when all values are equal and non-zero).
fn padded(values: impl Iterator<Item = f64>, frac: f64) -> Range<f64> {
    let (lo, hi) =
        values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    if !lo.is_finite() || !hi.is_finite() {
        return 0.0..1.0;
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * frac
    } else if lo != 0.0 {
        lo.abs() * frac
    } else {
        1.0
    };
    (lo - pad)..(hi + pad)
}

const SHAPES: [Shape; 4] = [Shape::Circle, Shape::Square, Shape::Triangle, Shape::Diamond];

fn marker_of(k: usize) -> Marker {
    Marker {
        shape: SHAPES[k % SHAPES.len()],
        radius: 6,
        filled: true,
        colour: CYCLE[k % CYCLE.len()],
    }
}

fn symbol_of(k: usize, style: SeriesStyle) -> Symbol {
    let m = marker_of(k);
    match style {
        SeriesStyle::Line => Symbol::Line(m.colour, 2),
        SeriesStyle::Markers => Symbol::Marker(m),
        SeriesStyle::LineAndMarkers => Symbol::LineMarker(m.colour, 2, m),
    }
}

const MARGIN: u32 = 14;
const MARGIN_RIGHT_NO_AXIS: u32 = 44;
const X_LABEL_AREA: u32 = 100;
const Y_LABEL_AREA: u32 = 150;
const LEGEND_INSET: i32 = 14;
const CAP_HALF_PX: i32 = 6;

impl Figure for SeriesPlot<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        target: Target,
    ) -> Result<Vec<Raster>, PlotError> {
        root.fill(&WHITE).map_err(render_err)?;
        let area = draw_title(root, &self.title)?;
        let right = self.has_right();
        // Room for the legend above the data: both y ranges grow at the top by the legend's
        // height (the plot height is known from the layout constants).
        let entries: Vec<(Symbol, String)> = self
            .series
            .iter()
            .enumerate()
            .map(|(k, s)| (symbol_of(k, s.style), s.name.clone()))
            .collect();
        let (legend_w, legend_h) = legend_size(root, &entries)?;
        let (_, area_h) = area.dim_in_pixel();
        let plot_h = (f64::from(area_h) - f64::from(2 * MARGIN + X_LABEL_AREA)).max(1.0);
        let f = ((f64::from(legend_h) + 2.0 * f64::from(LEGEND_INSET)) / plot_h).min(0.5);
        let grow = |r: Range<f64>| r.start..r.start + (r.end - r.start) / (1.0 - f);
        let xr = self.x_range();
        let (yr, y2r) =
            (grow(self.y_range(SeriesAxis::Left)), grow(self.y_range(SeriesAxis::Right)));
        let mut chart = ChartBuilder::on(&area)
            .margin(MARGIN)
            .margin_right(if right { MARGIN } else { MARGIN_RIGHT_NO_AXIS })
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .right_y_label_area_size(if right { Y_LABEL_AREA } else { 0 })
            .build_cartesian_2d(xr.clone(), yr.clone())
            .map_err(render_err)?
            .set_secondary_coord(xr.clone(), y2r.clone());

        let (x_span, y_span, y2_span) = (xr.end - xr.start, yr.end - yr.start, y2r.end - y2r.start);
        let x_fmt = move |v: &f64| format_tick(*v, x_span);
        let y_fmt = move |v: &f64| format_tick(*v, y_span);
        let y2_fmt = move |v: &f64| format_tick(*v, y2_span);
        draw_axes(&mut chart, &self.x_label, &self.y_label, &x_fmt, &y_fmt)?;
        if right {
            chart
                .configure_secondary_axes()
                .axis_style(BLACK.stroke_width(2))
                .y_desc(self.y2_label.as_str())
                .axis_desc_style((FAMILY, AXIS_DESC_PX))
                .label_style((FAMILY, TICK_LABEL_PX))
                .y_labels(9)
                .y_label_formatter(&y2_fmt)
                .set_all_tick_mark_size(9)
                .draw()
                .map_err(render_err)?;
        }

        let mut all_pixels: Vec<(i32, i32)> = Vec::new();
        for (k, s) in self.series.iter().enumerate() {
            let to_px = |p: (f64, f64)| match s.axis {
                SeriesAxis::Left => chart.backend_coord(&p),
                SeriesAxis::Right => chart.borrow_secondary().backend_coord(&p),
            };
            let marker = marker_of(k);
            if let Some(err) = s.y_err {
                let style = marker.colour.stroke_width(2);
                for ((&x, &y), &u) in s.x.iter().zip(s.y).zip(err) {
                    let (top, bottom) = (to_px((x, y + u)), to_px((x, y - u)));
                    if bottom.1 - top.1 < 2 {
                        continue;
                    }
                    let x = top.0;
                    for seg in [
                        vec![(x, top.1), (x, bottom.1)],
                        vec![(x - CAP_HALF_PX, top.1), (x + CAP_HALF_PX, top.1)],
                        vec![(x - CAP_HALF_PX, bottom.1), (x + CAP_HALF_PX, bottom.1)],
                    ] {
                        root.draw(&PathElement::new(seg, style)).map_err(render_err)?;
                    }
                }
            }
            let pixels: Vec<(i32, i32)> =
                s.x.iter().zip(s.y).map(|(&a, &b)| to_px((a, b))).collect();
            if s.style != SeriesStyle::Markers {
                let mut line = pixels.clone();
                line.dedup();
                thick_line(root, &line, marker.colour, 2, target)?;
            }
            if s.style != SeriesStyle::Line {
                for &p in &pixels {
                    marker.draw(root, p)?;
                }
            }
            all_pixels.extend(pixels);
        }

        let (pxr, pyr) = chart.plotting_area().get_pixel_range();
        draw_frame(root, &pxr, &pyr)?;

        // Legend in the upper corner that covers fewer points (normally none: see above).
        if !entries.is_empty() {
            let (w, h) = (legend_w as i32, legend_h as i32);
            let corners = [
                (pxr.end - LEGEND_INSET - w, pyr.start + LEGEND_INSET),
                (pxr.start + LEGEND_INSET, pyr.start + LEGEND_INSET),
            ];
            let covered = |(cx, cy): (i32, i32)| {
                all_pixels
                    .iter()
                    .filter(|(x, y)| {
                        *x >= cx - 8 && *x <= cx + w + 8 && *y >= cy - 8 && *y <= cy + h + 8
                    })
                    .count()
            };
            let best =
                if covered(corners[1]) < covered(corners[0]) { corners[1] } else { corners[0] };
            draw_legend(root, &entries, best, (legend_w, legend_h))?;
        }
        Ok(Vec::new())
    }
}
