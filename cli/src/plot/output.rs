//! Rendering a figure to an in-memory PNG and SVG, then writing both files atomically.

use super::style::{ensure_fonts, render_err};
use super::{PlotError, PNG_DPI, PNG_SIZE};
use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea, DrawingBackend, IntoDrawingArea, SVGBackend};
use std::fmt::Write as _;
use std::path::Path;

/// An RGB raster to lay over the drawing at a pixel rectangle (the body of a colour map).
/// It is composited after the vector drawing: into the pixel buffer for the PNG, as an
/// embedded PNG `<image>` for the SVG (drawing it as SVG rectangles would make huge files).
pub(crate) struct Raster {
    /// Top-left corner in figure pixels.
    pub left: i32,
    /// Top-left corner in figure pixels.
    pub top: i32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height` RGB triples, row by row from the top.
    pub rgb: Vec<u8>,
}

/// Which file a drawing is for (a few primitives are drawn differently on the two backends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The bitmap backend (PNG).
    Png,
    /// The SVG backend.
    Svg,
}

/// A figure that can draw itself on any `plotters` backend.
pub(crate) trait Figure {
    /// Draws the figure on `root` (of [`PNG_SIZE`]) and returns any rasters to composite on top.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        target: Target,
    ) -> Result<Vec<Raster>, PlotError>;
}

/// Renders `figure` to memory as PNG and SVG, then writes `png` and `svg` atomically (first the
/// PNG, then the SVG). A rendering error or a missing directory writes nothing; any other write
/// error leaves that file as it was (the PNG may then be new while the SVG is not).
pub(crate) fn render_files<F: Figure>(figure: &F, png: &Path, svg: &Path) -> Result<(), PlotError> {
    ensure_fonts()?;
    let (w, h) = PNG_SIZE;
    let mut pixels = vec![255u8; (w as usize) * (h as usize) * 3];
    let rasters = {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        let rasters = figure.draw(&root, Target::Png)?;
        root.present().map_err(render_err)?;
        rasters
    };
    for r in &rasters {
        blit(&mut pixels, w, h, r);
    }
    let png_bytes = encode_png(&pixels, w, h)?;

    let mut svg_text = String::new();
    let rasters = {
        let root = SVGBackend::with_string(&mut svg_text, (w, h)).into_drawing_area();
        let rasters = figure.draw(&root, Target::Svg)?;
        root.present().map_err(render_err)?;
        rasters
    };
    let svg_text = embed_rasters(svg_text, &rasters)?;

    // Check both directories before writing either file, so that a missing directory leaves
    // neither image behind.
    for path in [png, svg] {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            return Err(PlotError::Write(bragg_io::Error::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("directory {} does not exist", dir.display()),
                ),
            }));
        }
    }

    bragg_io::write_atomic(png, |out| out.write_all(&png_bytes))?;
    bragg_io::write_atomic(svg, |out| out.write_all(svg_text.as_bytes()))?;
    Ok(())
}

/// Encodes an RGB buffer as an 8-bit PNG tagged with [`PNG_DPI`].
pub(crate) fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, PlotError> {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::High);
        // 1 inch = 0.0254 m.
        let per_metre = (f64::from(PNG_DPI) / 0.0254).round() as u32;
        encoder.set_pixel_dims(Some(png::PixelDimensions {
            xppu: per_metre,
            yppu: per_metre,
            unit: png::Unit::Meter,
        }));
        let mut writer = encoder.write_header().map_err(render_err)?;
        writer.write_image_data(rgb).map_err(render_err)?;
        writer.finish().map_err(render_err)?;
    }
    Ok(bytes)
}

/// Copies `r` into the RGB buffer `pixels` of `w × h`, clipping at the edges.
fn blit(pixels: &mut [u8], w: u32, h: u32, r: &Raster) {
    for row in 0..r.height {
        let y = r.top + row as i32;
        if y < 0 || y >= h as i32 {
            continue;
        }
        for col in 0..r.width {
            let x = r.left + col as i32;
            if x < 0 || x >= w as i32 {
                continue;
            }
            let src = ((row * r.width + col) * 3) as usize;
            let dst = ((y as usize) * (w as usize) + x as usize) * 3;
            if let (Some(s), Some(d)) = (r.rgb.get(src..src + 3), pixels.get_mut(dst..dst + 3)) {
                d.copy_from_slice(s);
            }
        }
    }
}

/// Inserts each raster as a base64 PNG `<image>` just before the closing `</svg>`.
fn embed_rasters(mut svg: String, rasters: &[Raster]) -> Result<String, PlotError> {
    if rasters.is_empty() {
        return Ok(svg);
    }
    let Some(end) = svg.rfind("</svg>") else {
        return Err(PlotError::Render { message: "the SVG backend wrote no closing tag".into() });
    };
    let mut images = String::new();
    for r in rasters {
        let png = encode_png(&r.rgb, r.width, r.height)?;
        // Writing into a String cannot fail.
        let _ = writeln!(
            images,
            r#"<image x="{}" y="{}" width="{}" height="{}" preserveAspectRatio="none" style="image-rendering:pixelated" href="data:image/png;base64,{}"/>"#,
            r.left,
            r.top,
            r.width,
            r.height,
            base64(&png)
        );
    }
    svg.insert_str(end, &images);
    Ok(svg)
}

/// Standard base64 (RFC 4648 §4, with `=` padding).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc4648_test_vectors() {
        // RFC 4648 §10.
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(base64(b"fooba"), "Zm9vYmE=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
