//! Shared look of every figure: the embedded font, font sizes, the colour-blind-safe palette
//! and number formatting of axis labels.

use super::PlotError;
use plotters::style::{register_font, FontStyle, RGBColor};
use std::sync::OnceLock;

/// Font family name under which DejaVu Sans is registered with `plotters`; also the
/// `font-family` written into SVG files, so viewers substitute their own sans-serif face.
pub(crate) const FAMILY: &str = "sans-serif";

/// Title size in pixels (`ab_glyph` pixel scale: ascender-to-descender height).
pub(crate) const TITLE_PX: f64 = 36.0;
/// Axis title size in pixels.
pub(crate) const AXIS_DESC_PX: f64 = 32.0;
/// Tick label size in pixels.
pub(crate) const TICK_LABEL_PX: f64 = 27.0;
/// Legend text size in pixels.
pub(crate) const LEGEND_PX: f64 = 27.0;

// Okabe & Ito (2008) "Color Universal Design" palette, https://jfly.uni-koeln.de/color/.
/// Black.
pub(crate) const BLACK: RGBColor = RGBColor(0, 0, 0);
/// Orange.
pub(crate) const ORANGE: RGBColor = RGBColor(230, 159, 0);
/// Sky blue.
pub(crate) const SKY_BLUE: RGBColor = RGBColor(86, 180, 233);
/// Bluish green.
pub(crate) const BLUISH_GREEN: RGBColor = RGBColor(0, 158, 115);
/// Blue.
pub(crate) const BLUE: RGBColor = RGBColor(0, 114, 178);
/// Vermillion (the "red" of the palette).
pub(crate) const VERMILLION: RGBColor = RGBColor(213, 94, 0);
/// Reddish purple.
pub(crate) const REDDISH_PURPLE: RGBColor = RGBColor(204, 121, 167);
/// Light grey for shaded regions and zero lines.
pub(crate) const LIGHT_GREY: RGBColor = RGBColor(225, 225, 225);
/// Mid grey for reference lines.
pub(crate) const MID_GREY: RGBColor = RGBColor(150, 150, 150);

/// Colours for an open-ended list of items (phases, series), in order; cycles after seven.
/// Yellow is left out of the Okabe–Ito set: it is unreadable as a thin line on white.
pub(crate) const CYCLE: [RGBColor; 7] =
    [BLUE, VERMILLION, BLUISH_GREEN, REDDISH_PURPLE, ORANGE, SKY_BLUE, BLACK];

/// Registers the embedded DejaVu Sans with `plotters` (once per process). Must run before
/// any text is measured or drawn.
pub(crate) fn ensure_fonts() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular()).is_ok());
    if ok {
        Ok(())
    } else {
        Err(PlotError::Render { message: "the embedded DejaVu Sans font did not load".into() })
    }
}

/// Converts any displayable drawing error into [`PlotError::Render`].
pub(crate) fn render_err<E: std::fmt::Display>(e: E) -> PlotError {
    PlotError::Render { message: e.to_string() }
}

/// Formats an axis label `v` for an axis spanning `span` data units with roughly ten labels:
/// one more decimal than the label spacing needs, trailing zeros trimmed; `1.2e6` style from
/// a million up.
pub(crate) fn format_tick(v: f64, span: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let v = if v.abs() < span.abs() * 1e-9 { 0.0 } else { v };
    if v.abs() >= 1e6 {
        return format!("{v:.1e}");
    }
    let step = (span.abs() / 10.0).max(f64::MIN_POSITIVE);
    let decimals = (-step.log10().floor()).clamp(0.0, 8.0) as usize + 1;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::format_tick;

    #[test]
    fn tick_labels_are_short_and_exact() {
        assert_eq!(format_tick(20000.0, 50000.0), "20000");
        assert_eq!(format_tick(0.25, 1.0), "0.25");
        assert_eq!(format_tick(0.2, 1.0), "0.2");
        assert_eq!(format_tick(12.5, 40.0), "12.5");
        assert_eq!(format_tick(-1e-14, 1.0), "0");
        assert_eq!(format_tick(2.5e6, 5e6), "2.5e6");
    }
}
