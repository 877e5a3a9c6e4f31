//! Outputs of `bragg density`: the result structure (JSON), the CSV and the figures.

use super::input::{Input, RefinedPhase};
use crate::plot::{Series, SeriesPlot, SeriesStyle};
use anyhow::{anyhow, Context, Result};
use bragg_crystal::density::{
    Comparison, Composition, Estimate, Measurements, Observable, Prediction, Sample,
};
use bragg_io::write_atomic;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One model's predictions in the output.
#[derive(Debug, Clone, Serialize)]
pub struct ModelOut {
    /// Formula per formula unit.
    pub formula: String,
    /// Li:TM.
    pub li_tm: f64,
    /// Its esd.
    pub li_tm_esd: f64,
    /// Average TM oxidation state.
    pub tm_oxidation: f64,
    /// Its esd.
    pub tm_oxidation_esd: f64,
    /// X-ray density at the refined volume, g/cm³.
    pub density: f64,
    /// Its esd (from V and δ).
    pub density_esd: f64,
    /// Theoretical Li-extraction capacity x_Li·F/(3.6·M), mAh/g.
    pub capacity: f64,
    /// Its esd.
    pub capacity_esd: f64,
    /// Capacity retention (Li/TM)/(Li₀/TM₀).
    pub capacity_retention: f64,
    /// Its esd.
    pub capacity_retention_esd: f64,
    /// Initial capacity × retention, mAh/g (with --initial-capacity).
    pub expected_capacity: Option<f64>,
    /// Its esd.
    pub expected_capacity_esd: Option<f64>,
    /// Molar mass per formula unit, g/mol.
    pub molar_mass: f64,
}

impl From<&Prediction> for ModelOut {
    fn from(p: &Prediction) -> Self {
        ModelOut {
            formula: p.composition.as_ref().map(ToString::to_string).unwrap_or_default(),
            li_tm: p.li_tm.value,
            li_tm_esd: p.li_tm.esd,
            tm_oxidation: p.tm_oxidation.value,
            tm_oxidation_esd: p.tm_oxidation.esd,
            density: p.density.value,
            density_esd: p.density.esd,
            capacity: p.capacity.value,
            capacity_esd: p.capacity.esd,
            capacity_retention: p.capacity_retention.value,
            capacity_retention_esd: p.capacity_retention.esd,
            expected_capacity: p.expected_capacity.map(|q| q.value),
            expected_capacity_esd: p.expected_capacity.map(|q| q.esd),
            molar_mass: p.molar_mass,
        }
    }
}

/// One sample in the output.
#[derive(Debug, Clone, Serialize)]
pub struct SampleOut {
    /// Cycle number (0 for a command-line sample).
    pub cycle: f64,
    /// Oxygen loss δ.
    pub delta: f64,
    /// Its esd.
    pub delta_esd: f64,
    /// Cell volume, Å³.
    pub volume: f64,
    /// Its esd.
    pub volume_esd: f64,
    /// Formula units per cell.
    pub z: f64,
    /// Vacancy-model predictions.
    pub vacancy: ModelOut,
    /// Densified-model predictions.
    pub densified: ModelOut,
    /// Mixture at the best fraction (when fitted).
    pub best_mixture: Option<ModelOut>,
    /// The refined phase of a CIF.
    pub refined_phase: Option<RefinedPhase>,
    /// The measurements of this sample.
    pub measured: Measurements,
}

/// The whole result (`density.json`, `--json`). `vacancy`, `densified`, `delta` and
/// `volume` at the top level are those of the last sample (the highest cycle of a table).
#[derive(Debug, Clone, Serialize)]
pub struct DensityResult {
    /// True when the samples came from `--table` (else one sample, cycle 0).
    pub from_table: bool,
    /// Pristine formula as parsed.
    pub pristine: String,
    /// Pristine average TM oxidation state.
    pub pristine_tm_oxidation: f64,
    /// Pristine Li:TM.
    pub pristine_li_tm: f64,
    /// Pristine theoretical capacity, mAh/g.
    pub pristine_capacity: f64,
    /// δ of the last sample.
    pub delta: f64,
    /// Its esd.
    pub delta_esd: f64,
    /// V of the last sample, Å³.
    pub volume: f64,
    /// Z of the last sample.
    pub z: f64,
    /// Vacancy model of the last sample.
    pub vacancy: ModelOut,
    /// Densified model of the last sample.
    pub densified: ModelOut,
    /// Every sample.
    pub samples: Vec<SampleOut>,
    /// Measurements against both models, z-scores included.
    pub comparison: Comparison,
    /// Best fraction of densification (null without measurements).
    pub best_f: Option<f64>,
    /// Its esd.
    pub best_f_esd: Option<f64>,
    /// One-sided 95 % upper bound of f.
    pub best_f_upper95: Option<f64>,
    /// The plain verdict.
    pub verdict: String,
}

/// CSV of the samples: one row each, empty cells where a value is absent.
fn csv_text(r: &DensityResult) -> String {
    let mut head = vec!["cycle", "delta", "delta_esd", "volume", "volume_esd", "z"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    let model_cols = [
        "formula",
        "li_tm",
        "li_tm_esd",
        "tm_oxidation",
        "tm_oxidation_esd",
        "density",
        "density_esd",
        "capacity",
        "capacity_esd",
        "capacity_retention",
        "capacity_retention_esd",
        "expected_capacity",
        "expected_capacity_esd",
    ];
    for m in ["vacancy", "densified"] {
        head.extend(model_cols.iter().map(|c| format!("{m}_{c}")));
    }
    for o in ["density", "li_tm", "capacity"] {
        head.push(format!("measured_{o}"));
        head.push(format!("measured_{o}_esd"));
    }
    let mut text = head.join(",");
    text.push('\n');
    let opt = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    for s in &r.samples {
        let mut row: Vec<String> = [s.cycle, s.delta, s.delta_esd, s.volume, s.volume_esd, s.z]
            .map(|v| v.to_string())
            .into();
        for m in [&s.vacancy, &s.densified] {
            row.push(m.formula.clone());
            row.extend(
                [
                    m.li_tm,
                    m.li_tm_esd,
                    m.tm_oxidation,
                    m.tm_oxidation_esd,
                    m.density,
                    m.density_esd,
                    m.capacity,
                    m.capacity_esd,
                    m.capacity_retention,
                    m.capacity_retention_esd,
                ]
                .map(|v| v.to_string()),
            );
            row.push(opt(m.expected_capacity));
            row.push(opt(m.expected_capacity_esd));
        }
        for e in [s.measured.density, s.measured.li_tm, s.measured.capacity] {
            row.push(opt(e.map(|e| e.value)));
            row.push(opt(e.map(|e| e.esd)));
        }
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text
}

/// The data of one figure: x, and (y, esd) per curve.
struct Curves {
    x: Vec<f64>,
    vac: (Vec<f64>, Vec<f64>),
    den: (Vec<f64>, Vec<f64>),
    mix: Option<Vec<f64>>,
    mx: Vec<f64>,
    my: Vec<f64>,
    me: Vec<f64>,
}

fn curves(r: &DensityResult, o: Observable) -> Option<Curves> {
    let pick = |m: &ModelOut| -> Option<(f64, f64)> {
        match o {
            Observable::Density => Some((m.density, m.density_esd)),
            Observable::LiTm => Some((m.li_tm, m.li_tm_esd)),
            Observable::Capacity => m.expected_capacity.zip(m.expected_capacity_esd),
        }
    };
    let mut c = Curves {
        x: Vec::new(),
        vac: (Vec::new(), Vec::new()),
        den: (Vec::new(), Vec::new()),
        mix: r.best_f.map(|_| Vec::new()),
        mx: Vec::new(),
        my: Vec::new(),
        me: Vec::new(),
    };
    for s in &r.samples {
        let (v, d) = (pick(&s.vacancy)?, pick(&s.densified)?);
        c.x.push(s.cycle);
        c.vac.0.push(v.0);
        c.vac.1.push(v.1);
        c.den.0.push(d.0);
        c.den.1.push(d.1);
        if let (Some(mix), Some(m)) = (c.mix.as_mut(), s.best_mixture.as_ref()) {
            mix.push(pick(m)?.0);
        }
        let meas = match o {
            Observable::Density => s.measured.density,
            Observable::LiTm => s.measured.li_tm,
            Observable::Capacity => s.measured.capacity,
        };
        if let Some(m) = meas {
            c.mx.push(s.cycle);
            c.my.push(m.value);
            c.me.push(m.esd);
        }
    }
    Some(c)
}

fn figure(r: &DensityResult, o: Observable, png: &Path, svg: &Path) -> Result<()> {
    let Some(c) = curves(r, o) else { return Ok(()) };
    let (y_label, title) = match o {
        Observable::Density => ("density (g/cm³)", "Density (He pycnometry)"),
        Observable::LiTm => ("Li:TM", "Li:TM (ICP)"),
        Observable::Capacity => ("discharge capacity (mAh/g)", "Capacity"),
    };
    let mut plot = SeriesPlot::new("cycle", y_label);
    plot.title = format!("{title}: measured vs vacancy and densified models");
    let mut vac = Series::new("vacancy model", &c.x, &c.vac.0);
    vac.y_err = Some(&c.vac.1);
    vac.style = SeriesStyle::LineAndMarkers;
    let mut den = Series::new("densified model", &c.x, &c.den.0);
    den.y_err = Some(&c.den.1);
    den.style = SeriesStyle::LineAndMarkers;
    plot.series.push(vac);
    plot.series.push(den);
    let mix_name = r.best_f.map(|f| format!("best mixture, f = {f:.2}")).unwrap_or_default();
    if let Some(mix) = &c.mix {
        let mut s = Series::new(mix_name, &c.x, mix);
        s.style = SeriesStyle::Line;
        plot.series.push(s);
    }
    if !c.mx.is_empty() {
        let mut m = Series::new("measured", &c.mx, &c.my);
        m.y_err = Some(&c.me);
        m.style = SeriesStyle::Markers;
        plot.series.push(m);
    }
    plot.render(png, svg).with_context(|| format!("figure {}", png.display()))?;
    Ok(())
}

pub(super) fn write_outputs(dir: &Path, r: &DensityResult, figures: bool) -> Result<()> {
    let created = !dir.exists();
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let mut written: Vec<PathBuf> = Vec::new();
    let result = (|| -> Result<()> {
        let json = serde_json::to_string_pretty(r)?;
        let p = dir.join("density.json");
        write_atomic(&p, |w| writeln!(w, "{json}"))?;
        written.push(p);
        let csv = csv_text(r);
        let p = dir.join("density.csv");
        write_atomic(&p, |w| w.write_all(csv.as_bytes()))?;
        written.push(p);
        if figures {
            for o in [Observable::Density, Observable::LiTm, Observable::Capacity] {
                let measured = r.samples.iter().any(|s| match o {
                    Observable::Density => s.measured.density.is_some(),
                    Observable::LiTm => s.measured.li_tm.is_some(),
                    Observable::Capacity => s.measured.capacity.is_some(),
                });
                if o == Observable::Capacity && !measured {
                    continue;
                }
                let (png, svg) =
                    (dir.join(format!("{}.png", o.name())), dir.join(format!("{}.svg", o.name())));
                written.push(png.clone());
                written.push(svg.clone());
                figure(r, o, &png, &svg)?;
            }
        }
        Ok(())
    })();
    if result.is_err() {
        for p in &written {
            let _ = std::fs::remove_file(p);
        }
        if created {
            let _ = std::fs::remove_dir(dir);
        }
    }
    result
}

/// Assembles the result of all samples (predictions at f = 0, 1 and the best f).
pub(super) fn build_result(
    pristine: &Composition,
    samples: &[Sample],
    inputs: &[Input],
    comparison: Comparison,
    q_ref: Option<Estimate>,
    from_table: bool,
) -> Result<DensityResult> {
    let best = comparison.fit.map(|f| f.f.value);
    let mut outs = Vec::new();
    for (s, i) in samples.iter().zip(inputs) {
        let vac = s.models.predict(0.0, &s.cell, q_ref)?;
        let den = s.models.predict(1.0, &s.cell, q_ref)?;
        let mix = best.map(|f| s.models.predict(f, &s.cell, q_ref)).transpose()?;
        outs.push(SampleOut {
            cycle: s.cycle,
            delta: s.models.delta().value,
            delta_esd: s.models.delta().esd,
            volume: s.cell.volume.value,
            volume_esd: s.cell.volume.esd,
            z: s.cell.z,
            vacancy: (&vac).into(),
            densified: (&den).into(),
            best_mixture: mix.as_ref().map(Into::into),
            refined_phase: i.refined.clone(),
            measured: s.measurements,
        });
    }
    let last = outs.last().ok_or_else(|| anyhow!("no sample"))?.clone();
    let first = samples.first().ok_or_else(|| anyhow!("no sample"))?;
    let p0 = first.models.predict_pristine(&first.cell)?;
    Ok(DensityResult {
        from_table,
        pristine: pristine.to_string(),
        pristine_tm_oxidation: first.models.pristine_tm_oxidation(),
        pristine_li_tm: first.models.pristine_li_tm(),
        pristine_capacity: p0.capacity.value,
        delta: last.delta,
        delta_esd: last.delta_esd,
        volume: last.volume,
        z: last.z,
        vacancy: last.vacancy.clone(),
        densified: last.densified.clone(),
        best_f: comparison.fit.map(|f| f.f.value),
        best_f_esd: comparison.fit.map(|f| f.f.esd),
        best_f_upper95: comparison.fit.map(|f| f.upper95),
        verdict: comparison.verdict.to_string(),
        samples: outs,
        comparison,
    })
}
