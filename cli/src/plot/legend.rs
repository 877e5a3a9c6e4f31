//! Markers and the legend box shared by the figures.

use super::style::{render_err, BLACK, FAMILY, LEGEND_PX, MID_GREY};
use super::PlotError;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const ROW_PX: i32 = 38;
const PAD_PX: i32 = 12;
const SYMBOL_PX: i32 = 48;
const SYMBOL_GAP_PX: i32 = 12;

/// Outline of a data marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
}

/// A data marker: shape, half-size in pixels, filled or open, colour.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Marker {
    pub shape: Shape,
    pub radius: u32,
    pub filled: bool,
    pub colour: RGBColor,
}

impl Marker {
    /// Fill or 1-pixel outline in the marker's colour.
    pub fn style(&self) -> ShapeStyle {
        if self.filled {
            self.colour.filled()
        } else {
            self.colour.stroke_width(if self.radius > 3 { 2 } else { 1 })
        }
    }

    /// Draws the marker centred on the figure pixel `(x, y)`.
    pub fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        (x, y): (i32, i32),
    ) -> Result<(), PlotError> {
        let r = self.radius as i32;
        let style = self.style();
        let outline = |points: Vec<(i32, i32)>| -> Result<(), PlotError> {
            if self.filled {
                root.draw(&Polygon::new(points, style)).map_err(render_err)
            } else {
                let mut closed = points.clone();
                closed.extend(points.first().copied());
                root.draw(&PathElement::new(closed, style)).map_err(render_err)
            }
        };
        match self.shape {
            Shape::Circle => {
                root.draw(&Circle::new((x, y), self.radius, style)).map_err(render_err)
            }
            Shape::Square => {
                outline(vec![(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)])
            }
            Shape::Triangle => {
                let h = (r as f64 * 1.2).round() as i32;
                outline(vec![(x, y - h), (x + h, y + r), (x - h, y + r)])
            }
            Shape::Diamond => {
                let h = (r as f64 * 1.3).round() as i32;
                outline(vec![(x, y - h), (x + h, y), (x, y + h), (x - h, y)])
            }
        }
    }
}

/// What a legend row shows left of its text.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Symbol {
    /// Nothing: a plain text line (e.g. the wavelength).
    None,
    /// A data marker.
    Marker(Marker),
    /// A line of the given colour and width.
    Line(RGBColor, u32),
    /// A line with a marker in its middle.
    LineMarker(RGBColor, u32, Marker),
    /// A vertical tick of the given colour and length.
    Tick(RGBColor, i32),
    /// A filled rectangle (shaded regions).
    Patch(RGBColor),
}

fn font() -> TextStyle<'static> {
    TextStyle::from((FAMILY, LEGEND_PX).into_font()).color(&BLACK)
}

/// Size in pixels of the legend box for `entries`.
pub(crate) fn legend_size<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    entries: &[(Symbol, String)],
) -> Result<(u32, u32), PlotError> {
    let font = font();
    let mut widest = 0;
    for (symbol, text) in entries {
        let (w, _) = root.estimate_text_size(text, &font).map_err(render_err)?;
        let symbol_w = if matches!(symbol, Symbol::None) { 0 } else { SYMBOL_PX + SYMBOL_GAP_PX };
        widest = widest.max(w as i32 + symbol_w);
    }
    let width = 2 * PAD_PX + widest;
    let height = 2 * PAD_PX + ROW_PX * entries.len() as i32;
    Ok((width.max(1) as u32, height.max(1) as u32))
}

/// Draws the legend box (white, thin grey border) with its top-left corner at `corner`.
pub(crate) fn draw_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    entries: &[(Symbol, String)],
    corner: (i32, i32),
    (w, h): (u32, u32),
) -> Result<(), PlotError> {
    let (x0, y0) = corner;
    let (x1, y1) = (x0 + w as i32, y0 + h as i32);
    root.draw(&Rectangle::new([(x0, y0), (x1, y1)], WHITE.filled())).map_err(render_err)?;
    let border = vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)];
    root.draw(&PathElement::new(border, MID_GREY.stroke_width(1))).map_err(render_err)?;
    let font = font().pos(Pos::new(HPos::Left, VPos::Center));
    for (k, (symbol, text)) in entries.iter().enumerate() {
        let cy = y0 + PAD_PX + ROW_PX * k as i32 + ROW_PX / 2;
        let sx0 = x0 + PAD_PX;
        let sx1 = sx0 + SYMBOL_PX;
        let mid = (sx0 + sx1) / 2;
        let line = |c: RGBColor, width: u32| {
            root.draw(&PathElement::new(vec![(sx0, cy), (sx1, cy)], c.stroke_width(width)))
                .map_err(render_err)
        };
        match *symbol {
            Symbol::None => {}
            Symbol::Marker(m) => m.draw(root, (mid, cy))?,
            Symbol::Line(c, width) => line(c, width)?,
            Symbol::LineMarker(c, width, m) => {
                line(c, width)?;
                m.draw(root, (mid, cy))?;
            }
            Symbol::Tick(c, len) => {
                let half = len / 2;
                root.draw(&PathElement::new(
                    vec![(mid, cy - half), (mid, cy + half)],
                    c.stroke_width(2),
                ))
                .map_err(render_err)?;
            }
            Symbol::Patch(c) => {
                root.draw(&Rectangle::new([(sx0, cy - 11), (sx1, cy + 11)], c.filled()))
                    .map_err(render_err)?;
            }
        }
        let tx = if matches!(symbol, Symbol::None) { sx0 } else { sx1 + SYMBOL_GAP_PX };
        root.draw_text(text, &font, (tx, cy)).map_err(render_err)?;
    }
    Ok(())
}
