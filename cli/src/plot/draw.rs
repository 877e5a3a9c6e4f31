//! Drawing helpers shared by the figures: the title band and thick polylines that render
//! cleanly on both backends.

use super::output::Target;
use super::style::{render_err, BLACK, FAMILY, TITLE_PX};
use super::PlotError;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Height in pixels of the band holding a figure's title.
pub(crate) const TITLE_BAND: u32 = 64;

/// Draws `title` centred in a band at the top of `root` and returns the area below it (all of
/// `root` when the title is empty).
pub(crate) fn draw_title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, PlotError> {
    if title.is_empty() {
        return Ok(root.clone());
    }
    let (band, rest) = root.split_vertically(TITLE_BAND);
    let (w, h) = band.dim_in_pixel();
    let style = TextStyle::from((FAMILY, TITLE_PX).into_font())
        .pos(Pos::new(HPos::Center, VPos::Center))
        .color(&BLACK);
    band.draw_text(title, &style, ((w / 2) as i32, (h / 2 + 6) as i32)).map_err(render_err)?;
    Ok(rest)
}

/// Maps data points to figure pixels through `chart`, dropping points that land on the same
/// pixel as their predecessor.
pub(crate) fn distinct_pixels<DB: DrawingBackend>(
    chart: &ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    points: impl IntoIterator<Item = (f64, f64)>,
) -> Vec<(i32, i32)> {
    let mut out: Vec<(i32, i32)> = Vec::new();
    for p in points {
        let px = chart.backend_coord(&p);
        if out.last() != Some(&px) {
            out.push(px);
        }
    }
    out
}

/// Draws a polyline `width` pixels wide through `pixels` (figure coordinates) on `root`.
///
/// The SVG gets one `<polyline>` with that stroke width. The bitmap backend of `plotters` 0.3
/// fills a wide polyline as one polygon, which throws stray spikes across the figure when the
/// line reverses sharply (plotters issue #549: peaks narrower than a pixel do exactly that);
/// so the PNG gets `width × width` one-pixel polylines offset by whole pixels, which are
/// drawn segment by segment and cannot spike.
pub(crate) fn thick_line<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    pixels: &[(i32, i32)],
    colour: RGBColor,
    width: u32,
    target: Target,
) -> Result<(), PlotError> {
    if pixels.len() < 2 {
        return Ok(());
    }
    match target {
        Target::Svg => root
            .draw(&PathElement::new(pixels.to_vec(), colour.stroke_width(width)))
            .map_err(render_err),
        Target::Png => {
            let w = width.max(1) as i32;
            for dx in 0..w {
                for dy in 0..w {
                    let shifted: Vec<(i32, i32)> = pixels
                        .iter()
                        .map(|&(x, y)| (x + dx - (w - 1) / 2, y + dy - (w - 1) / 2))
                        .collect();
                    root.draw(&PathElement::new(shifted, colour.stroke_width(1)))
                        .map_err(render_err)?;
                }
            }
            Ok(())
        }
    }
}

/// Draws a 2-pixel black frame around the plotting area with pixel ranges `xr` × `yr`.
pub(crate) fn draw_frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    xr: &std::ops::Range<i32>,
    yr: &std::ops::Range<i32>,
) -> Result<(), PlotError> {
    let (x0, x1, y0, y1) = (xr.start, xr.end - 1, yr.start, yr.end - 1);
    for side in
        [[(x0, y0), (x1, y0)], [(x1, y0), (x1, y1)], [(x1, y1), (x0, y1)], [(x0, y1), (x0, y0)]]
    {
        root.draw(&PathElement::new(side.to_vec(), BLACK.stroke_width(2))).map_err(render_err)?;
    }
    Ok(())
}

/// The house axes of every figure: no grid, 2 px black axes, described axes, about 10 × 9
/// tick labels drawn by the given formatters.
pub(crate) fn draw_axes<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    x_label: &str,
    y_label: &str,
    x_fmt: &dyn Fn(&f64) -> String,
    y_fmt: &dyn Fn(&f64) -> String,
) -> Result<(), PlotError> {
    chart
        .configure_mesh()
        .disable_mesh()
        .axis_style(BLACK.stroke_width(2))
        .x_desc(x_label)
        .y_desc(y_label)
        .axis_desc_style((FAMILY, super::style::AXIS_DESC_PX))
        .label_style((FAMILY, super::style::TICK_LABEL_PX))
        .x_labels(10)
        .y_labels(9)
        .x_label_formatter(x_fmt)
        .y_label_formatter(y_fmt)
        .set_all_tick_mark_size(9)
        .draw()
        .map_err(render_err)
}
