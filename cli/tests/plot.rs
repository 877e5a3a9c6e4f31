//! Figures: a synthetic Rietveld fit is rendered to PNG and SVG and the files are checked for
//! what a reader needs (size, curves, labels, legend) and for atomic failure behaviour.
//!
//! Set `BRAGG_PLOT_OUT=/some/dir` to keep copies of the rendered figures for inspection.

// The helpers below are test code too (clippy's allow-unwrap-in-tests covers only #[test] fns).
#![allow(clippy::unwrap_used)]

use bragg::plot::{
    ColourScale, HeatmapPlot, PhaseTicks, PlotError, RietveldPlot, Series, SeriesAxis, SeriesPlot,
    SeriesStyle, PNG_SIZE,
};
use std::path::{Path, PathBuf};

/// xorshift64* (Vigna 2016) with a fixed seed, and Box–Muller normal deviates.
struct Rng(u64);
impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Cubic rock-salt-like reflections (a = 4.14 Å) and a second, weaker phase, at λ = 0.4579 Å.
fn peak_positions(a: f64, hkls: &[(i32, i32, i32)], lambda: f64, lo: f64, hi: f64) -> Vec<f64> {
    hkls.iter()
        .map(|&(h, k, l)| {
            let d = a / f64::from(h * h + k * k + l * l).sqrt();
            2.0 * (lambda / (2.0 * d)).asin().to_degrees()
        })
        .filter(|t| *t > lo && *t < hi)
        .collect()
}

struct Synthetic {
    tth: Vec<f64>,
    obs: Vec<f64>,
    calc: Vec<f64>,
    bkg: Vec<f64>,
    phase_a: Vec<f64>,
    phase_b: Vec<f64>,
}

/// `n` points over 2–40° 2θ: Gaussian peaks of FWHM `fwhm_deg` on a sloping background,
/// Poisson-like noise, and a "calculated" curve with a few intensities 5 % off so that the
/// difference curve has structure.
fn synthetic(n: usize, fwhm_deg: f64) -> Synthetic {
    let (lo, hi, lambda) = (2.0, 40.0, 0.4579);
    let fcc: Vec<(i32, i32, i32)> = vec![
        (1, 1, 1),
        (2, 0, 0),
        (2, 2, 0),
        (3, 1, 1),
        (2, 2, 2),
        (4, 0, 0),
        (3, 3, 1),
        (4, 2, 0),
        (4, 2, 2),
        (5, 1, 1),
        (4, 4, 0),
        (5, 3, 1),
        (6, 0, 0),
        (6, 2, 0),
        (5, 3, 3),
        (6, 2, 2),
        (4, 4, 4),
    ];
    let phase_a = peak_positions(4.14, &fcc, lambda, lo, hi);
    let phase_b = peak_positions(5.02, &fcc[..12], lambda, lo, hi);
    let sigma = fwhm_deg / (8.0 * 2f64.ln()).sqrt();
    let tth: Vec<f64> = (0..n).map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64).collect();
    let bkg: Vec<f64> = tth.iter().map(|t| 300.0 + 2000.0 / t - 2.0 * t).collect();
    let model = |t: f64, scale_off: bool| -> f64 {
        let mut y = 0.0;
        for (k, p) in phase_a.iter().enumerate() {
            let h = 40000.0 / (1.0 + k as f64) * if scale_off && k % 3 == 1 { 1.05 } else { 1.0 };
            y += h * (-0.5 * ((t - p) / sigma).powi(2)).exp();
        }
        for p in &phase_b {
            y += 3000.0 * (-0.5 * ((t - p) / sigma).powi(2)).exp();
        }
        y
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let obs: Vec<f64> = tth
        .iter()
        .zip(&bkg)
        .map(|(&t, b)| {
            let y = b + model(t, false);
            y + y.sqrt() * rng.normal()
        })
        .collect();
    let calc: Vec<f64> = tth.iter().zip(&bkg).map(|(&t, b)| b + model(t, true)).collect();
    Synthetic { tth, obs, calc, bkg, phase_a, phase_b }
}

fn plot_of(s: &Synthetic) -> RietveldPlot<'_> {
    let mut plot = RietveldPlot::new(&s.tth, &s.obs, &s.calc, &s.bkg);
    plot.phases = vec![
        PhaseTicks { name: "LTNO".into(), positions_deg: s.phase_a.clone() },
        PhaseTicks { name: "Li₂MnO₃".into(), positions_deg: s.phase_b.clone() },
    ];
    plot.title = "Li1.17Ti0.58Ni0.25O2, 11-BM, 295 K".into();
    plot.wavelength_label = Some("λ = 0.4579 Å".into());
    plot
}

const EXCLUDED: [(f64, f64); 2] = [(2.0, 3.0), (24.0, 25.0)];

/// Decodes a PNG and returns (width, height, RGB bytes).
fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn count_colour(rgb: &[u8], c: (u8, u8, u8)) -> usize {
    rgb.chunks_exact(3).filter(|p| (p[0], p[1], p[2]) == c).count()
}

fn keep(files: &[&Path]) {
    if let Some(dir) = std::env::var_os("BRAGG_PLOT_OUT") {
        for f in files {
            let _ = std::fs::copy(f, PathBuf::from(&dir).join(f.file_name().unwrap()));
        }
    }
}

#[test]
fn rietveld_plot_of_38000_points_is_complete_and_small() {
    let s = synthetic(38_000, 0.012);
    let mut plot = plot_of(&s);
    plot.excluded_deg = &EXCLUDED;
    let dir = tempfile::tempdir().unwrap();
    let (png_path, svg_path) = (dir.path().join("rietveld.png"), dir.path().join("rietveld.svg"));
    plot.render(&png_path, &svg_path).unwrap();
    keep(&[&png_path, &svg_path]);

    let (w, h, rgb) = decode_png(&png_path);
    assert_eq!((w, h), PNG_SIZE);
    // Each curve leaves pixels of exactly its palette colour (lines are not anti-aliased).
    assert!(count_colour(&rgb, (213, 94, 0)) > 2000, "calculated curve (vermillion) missing");
    assert!(count_colour(&rgb, (0, 114, 178)) > 2000, "difference curve (blue) missing");
    assert!(count_colour(&rgb, (0, 158, 115)) > 1000, "background (green) missing");
    assert!(count_colour(&rgb, (204, 121, 167)) > 200, "phase-1 ticks (purple) missing");
    assert!(count_colour(&rgb, (230, 159, 0)) > 100, "phase-2 ticks (orange) missing");
    assert!(count_colour(&rgb, (225, 225, 225)) > 10_000, "excluded shading missing");
    // Decimation keeps the files small although every one of 38 000 points is represented.
    let png_len = std::fs::metadata(&png_path).unwrap().len();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(png_len > 20_000 && png_len < 1_000_000, "PNG is {png_len} bytes");
    assert!(svg.len() < 2_000_000, "SVG is {} bytes", svg.len());

    for text in [
        "2θ (°)",
        "Intensity (counts)",
        "LTNO",
        "Li₂MnO₃",
        "Observed",
        "Calculated",
        "Background",
        "Difference (obs − calc)",
        "Excluded",
        "λ = 0.4579 Å",
        "Li1.17Ti0.58Ni0.25O2, 11-BM, 295 K",
    ] {
        assert!(svg.contains(text), "SVG lacks the text {text:?}");
    }
    assert!(svg.contains("<polyline") || svg.contains("<path"), "SVG has no curve");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    // The temporary files of the atomic writes are gone.
    let names: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn short_patterns_show_every_observed_point_as_a_circle() {
    let s = synthetic(3000, 0.08);
    let plot = plot_of(&s);
    let dir = tempfile::tempdir().unwrap();
    let (png_path, svg_path) = (dir.path().join("lab.png"), dir.path().join("lab.svg"));
    plot.render(&png_path, &svg_path).unwrap();
    keep(&[&png_path, &svg_path]);
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    // 3000 observed points plus the one legend marker.
    assert_eq!(svg.matches("<circle").count(), 3001);
    assert!(!svg.contains("Excluded"), "no excluded regions were given");
    assert_eq!(decode_png(&png_path).0, 1600);
}

#[test]
fn failed_writes_return_an_error_and_leave_nothing() {
    let s = synthetic(500, 0.1);
    let plot = plot_of(&s);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no_such_dir");
    let err = plot.render(&missing.join("a.png"), &missing.join("a.svg")).unwrap_err();
    assert!(matches!(err, PlotError::Write(_)), "{err}");
    assert!(!missing.exists());
    // The PNG's directory exists but the SVG's does not: neither file is written.
    let png_path = dir.path().join("a.png");
    let err = plot.render(&png_path, &missing.join("a.svg")).unwrap_err();
    assert!(matches!(err, PlotError::Write(_)), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn invalid_data_is_rejected_before_writing() {
    let s = synthetic(500, 0.1);
    let dir = tempfile::tempdir().unwrap();
    let (png_path, svg_path) = (dir.path().join("x.png"), dir.path().join("x.svg"));

    let short = &s.calc[..499];
    let plot = RietveldPlot::new(&s.tth, &s.obs, short, &s.bkg);
    assert!(matches!(plot.render(&png_path, &svg_path), Err(PlotError::InvalidData { .. })));

    let mut reversed = s.tth.clone();
    reversed.reverse();
    let plot = RietveldPlot::new(&reversed, &s.obs, &s.calc, &[]);
    assert!(matches!(plot.render(&png_path, &svg_path), Err(PlotError::InvalidData { .. })));

    let mut with_nan = s.obs.clone();
    with_nan[7] = f64::NAN;
    let plot = RietveldPlot::new(&s.tth, &with_nan, &s.calc, &[]);
    assert!(matches!(plot.render(&png_path, &svg_path), Err(PlotError::InvalidData { .. })));

    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn series_plot_with_error_bars_and_a_second_axis() {
    // a(t) of a cathode during charge (values with esds) and the cell voltage on the right.
    let t: Vec<f64> = (0..25).map(|i| f64::from(i) * 0.5).collect();
    let a: Vec<f64> = t.iter().map(|h| 2.8650 - 0.0012 * h + 0.00002 * h * h).collect();
    let esd: Vec<f64> = t.iter().map(|h| 0.0002 + 0.00003 * h).collect();
    let tv: Vec<f64> = (0..600).map(|i| f64::from(i) * 0.02).collect();
    let volts: Vec<f64> = tv.iter().map(|h| 3.6 + 0.9 * (1.0 - (-h / 3.0).exp())).collect();
    let mut plot = SeriesPlot::new("Time (h)", "a (Å)");
    plot.y2_label = "Voltage (V vs Li⁺/Li)".into();
    plot.title = "Operando charge, C/10".into();
    let mut lattice = Series::new("a (LTNO)", &t, &a);
    lattice.y_err = Some(&esd);
    lattice.style = SeriesStyle::Markers;
    let mut voltage = Series::new("Cell voltage", &tv, &volts);
    voltage.axis = SeriesAxis::Right;
    voltage.style = SeriesStyle::Line;
    plot.series = vec![lattice, voltage];

    let dir = tempfile::tempdir().unwrap();
    let (png_path, svg_path) = (dir.path().join("series.png"), dir.path().join("series.svg"));
    plot.render(&png_path, &svg_path).unwrap();
    keep(&[&png_path, &svg_path]);
    let (w, h, rgb) = decode_png(&png_path);
    assert_eq!((w, h), PNG_SIZE);
    assert!(count_colour(&rgb, (0, 114, 178)) > 500, "first series (blue) missing");
    assert!(count_colour(&rgb, (213, 94, 0)) > 1000, "second series (vermillion) missing");
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    for text in ["Time (h)", "a (Å)", "Voltage (V vs Li⁺/Li)", "a (LTNO)", "Cell voltage"] {
        assert!(svg.contains(text), "SVG lacks the text {text:?}");
    }
    // Error-bar caps: 25 points × (bar + 2 caps), all in the series colour.
    assert!(svg.matches(r##"stroke="#0072B2""##).count() >= 75);

    let mut bad = SeriesPlot::new("x", "y");
    bad.series = vec![Series::new("s", &t, &a[..3])];
    assert!(matches!(bad.render(&png_path, &svg_path), Err(PlotError::InvalidData { .. })));
}

#[test]
fn heatmap_of_a_shifting_peak() {
    // 40 scans; one Gaussian peak moving from 10.0° to 10.4° 2θ, on a 2000-point grid.
    let tth: Vec<f64> = (0..2000).map(|i| 9.0 + 2.5 * f64::from(i) / 1999.0).collect();
    let scans: Vec<f64> = (0..40).map(f64::from).collect();
    let mut intensity = Vec::new();
    for s in &scans {
        let centre = 10.0 + 0.01 * s;
        intensity.extend(
            tth.iter().map(|t| 100.0 + 5000.0 * (-0.5 * ((t - centre) / 0.02).powi(2)).exp()),
        );
    }
    let mut plot = HeatmapPlot::new(&tth, &scans, &intensity);
    plot.window_deg = Some((9.5, 11.0));
    plot.scale = ColourScale::Sqrt;
    plot.title = "Operando map".into();
    let dir = tempfile::tempdir().unwrap();
    let (png_path, svg_path) = (dir.path().join("map.png"), dir.path().join("map.svg"));
    plot.render(&png_path, &svg_path).unwrap();
    keep(&[&png_path, &svg_path]);
    let (w, h, rgb) = decode_png(&png_path);
    assert_eq!((w, h), PNG_SIZE);
    // The peak maximum is the top viridis colour, the flat background the bottom one.
    assert!(count_colour(&rgb, (253, 231, 37)) > 40, "no peak-top (yellow) pixels");
    assert!(count_colour(&rgb, (68, 1, 84)) > 100_000, "no background (dark purple) pixels");
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert_eq!(svg.matches("data:image/png;base64,").count(), 2, "map and colour bar images");
    for text in ["2θ (°)", "Scan", "Intensity (counts)", "Operando map"] {
        assert!(svg.contains(text), "SVG lacks the text {text:?}");
    }
    assert!(svg.len() < 1_000_000);

    let short = &intensity[..100];
    let bad = HeatmapPlot::new(&tth, &scans, short);
    assert!(matches!(bad.render(&png_path, &svg_path), Err(PlotError::InvalidData { .. })));
}
