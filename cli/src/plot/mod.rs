//! Publication-quality figures drawn with `plotters`: the Rietveld plot ([`RietveldPlot`]), a
//! general x–y plot with error bars and an optional second y axis ([`SeriesPlot`]) and a
//! colour map of a series of patterns ([`HeatmapPlot`]).
//!
//! Every figure takes typed, borrowed data and does no I/O beyond writing its two image files:
//! a PNG of [`PNG_SIZE`] pixels (tagged 200 dpi, i.e. 8 × 5 inches) and an SVG of the same
//! layout. Both are rendered in memory first and then each is written atomically with
//! [`bragg_io::write_atomic`], so a failure never leaves a half-written image behind.
//!
//! Text is rasterised by `ab_glyph` from DejaVu Sans embedded in the binary (the `dejavu`
//! crate; Bitstream Vera licence), so rendering needs no system font, fontconfig or FreeType.
//! The SVG names the generic family `sans-serif` and leaves the glyphs to the viewer.
//!
//! Colours follow the colour-blind-safe palette of Okabe & Ito (2008), "Color Universal
//! Design", <https://jfly.uni-koeln.de/color/>; colour maps use viridis (van der Walt & Smith,
//! 2015, the matplotlib default; see Nuñez, Anderton & Renslow, PLOS ONE 13, e0199239 (2018)).

mod align;
mod decimate;
mod draw;
mod heatmap;
mod insitu;
mod legend;
mod output;
mod rietveld;
mod series;
mod style;

pub use align::{AlignPlot, ExposureBand};
pub use heatmap::{ColourScale, HeatmapPlot};
pub use insitu::{insitu_map, InsituMapPlot};
pub use rietveld::{PhaseTicks, RietveldPlot, DEFAULT_X_LABEL, DEFAULT_Y_LABEL, MAX_CIRCLES};
pub use series::{Series, SeriesAxis, SeriesPlot, SeriesStyle};

/// Width and height in pixels of every PNG (and the size in user units of every SVG).
pub const PNG_SIZE: (u32, u32) = (1600, 1000);

/// Resolution written into the PNG's `pHYs` chunk, in dots per inch (1600 px = 8 in).
pub const PNG_DPI: u32 = 200;

/// What can go wrong when drawing or writing a figure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// The data cannot be plotted (mismatched lengths, non-finite values, an empty series, an
    /// unsorted 2θ axis, ...).
    #[error("cannot plot {figure}: {message}")]
    InvalidData {
        /// Which figure (e.g. "Rietveld plot").
        figure: &'static str,
        /// What is wrong with the data.
        message: String,
    },
    /// The drawing library or the PNG encoder failed.
    #[error("rendering failed: {message}")]
    Render {
        /// The library's message.
        message: String,
    },
    /// The image file could not be written (missing directory, permissions, full disk).
    #[error("could not write the figure: {0}")]
    Write(#[from] bragg_io::Error),
}
