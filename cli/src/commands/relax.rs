//! `bragg relax SEQUENTIAL.csv`: relaxation kinetics of a refined parameter at open circuit
//! ([`bragg_refine::analysis::relaxation`]): a(t) in a rest fitted with a single exponential,
//! a stretched exponential (KWW) and a bi-exponential, weighted by the esds, the model chosen
//! by AICc; with rests at several temperatures (`--all-rests` and a `temperature_k` column, or
//! `--arrhenius TABLE`), the Arrhenius activation energy.
//!
//! By default the window is the last rest, with t counted from the rest's start (the time the
//! current dropped, from the cycler log when given; else midway between the last scan before
//! the rest and the first in it). `--window t0:t1` (s on the series' clock) takes the scans
//! in [t0, t1] and counts t from t0.
//!
//! Writes to OUTDIR (default: the folder of SEQUENTIAL.csv) `relax.json`, `relax_fit.csv`
//! (time_s, t_s, value, esd, fit, residual/esd), `relax_fit.png/.svg` (a(t) with the fit),
//! `relax_residuals.png/.svg` and `relax_voltage.png/.svg` (the whole a(t) with the voltage).
//! `--json` prints the JSON instead of the text report.

use super::hysteresis::series::{load_with_echem, EchemArgs, InsituSeries};
use super::hysteresis::{time_plot, unit_of};
use crate::plot::{Series, SeriesPlot, SeriesStyle};
use anyhow::{anyhow, bail, Context, Result};
use bragg_refine::analysis::{
    arrhenius_fit, fit_relaxation, fit_relaxation_auto, rest_windows, ArrheniusFit, ArrheniusPoint,
    CurrentState, EchemTrace, RelaxFit, RelaxModel,
};
use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Model choice on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// Single exponential.
    Exp,
    /// Stretched exponential (Kohlrausch–Williams–Watts).
    Kww,
    /// Two exponentials.
    Biexp,
    /// Fit all and choose by AICc.
    Auto,
}

/// Arguments of `bragg relax`.
#[derive(Debug, Clone, Args)]
pub struct RelaxArgs {
    /// The series table written by `bragg sequential` (sequential.csv). Not needed with
    /// --arrhenius.
    #[arg(value_name = "SEQUENTIAL.csv", required_unless_present = "arrhenius")]
    pub table: Option<PathBuf>,
    /// The parameter column (default: the first `*.cell.a`).
    #[arg(long, value_name = "KEY")]
    pub param: Option<String>,
    /// Time window t0:t1 in s on the series' clock (t counted from t0); default: the last rest.
    #[arg(long, value_name = "t0:t1", conflicts_with = "all_rests")]
    pub window: Option<String>,
    /// Model, or `auto` for the lowest AICc.
    #[arg(long, value_enum, default_value_t = ModelArg::Auto)]
    pub model: ModelArg,
    /// Fit every rest of the series (and, with a temperature_k column, an Arrhenius fit).
    #[arg(long = "all-rests")]
    pub all_rests: bool,
    /// An Arrhenius fit of a table with columns temperature_k (or temperature_c), tau_s,
    /// tau_s_esd.
    #[arg(long, value_name = "TABLE.csv", conflicts_with_all = ["window", "all_rests"])]
    pub arrhenius: Option<PathBuf>,
    /// Cycler log and cell options.
    #[command(flatten)]
    pub echem: EchemArgs,
    /// Output folder (default: the folder of SEQUENTIAL.csv, or of the --arrhenius table).
    #[arg(short = 'o', long = "output", value_name = "OUTDIR")]
    pub outdir: Option<PathBuf>,
    /// Keep rows that `bragg sequential` flagged (left out by default).
    #[arg(long = "include-flagged")]
    pub include_flagged: bool,
    /// Print the JSON instead of the text report.
    #[arg(long)]
    pub json: bool,
}

/// One fitted rest (or window).
#[derive(Debug, Clone)]
struct RestFit {
    /// Index of the rest in the series (1-based), 0 for an explicit window.
    rest: usize,
    t0_s: f64,
    window: [f64; 2],
    time_s: Vec<f64>,
    t: Vec<f64>,
    y: Vec<f64>,
    s: Vec<f64>,
    temperature_k: Option<f64>,
    fit: RelaxFit,
    candidates: Vec<(RelaxFit, f64)>,
    skipped: Vec<(RelaxModel, String)>,
}

fn parse_window(text: &str) -> Result<(f64, f64)> {
    let (a, b) =
        text.split_once(':').ok_or_else(|| anyhow!("--window '{text}': expected t0:t1 in s"))?;
    let p = |s: &str| {
        s.trim().parse::<f64>().map_err(|_| anyhow!("--window '{text}': '{s}' is not a number"))
    };
    let (a, b) = (p(a)?, p(b)?);
    if !(a.is_finite() && b.is_finite() && b > a) {
        bail!("--window {a}:{b}: t1 must be greater than t0");
    }
    Ok((a, b))
}

/// Start of the rest containing time `t` on the log: the first record of the run of rest
/// intervals that holds `t`.
fn rest_start_in_log(trace: &EchemTrace, t: f64, threshold: Option<f64>) -> Option<f64> {
    let states = trace.interval_states(trace.rest_threshold_ma(threshold));
    let n = trace.time_s.len();
    let mut i = trace.time_s.partition_point(|&x| x <= t).saturating_sub(1).min(n - 2);
    if states[i] != CurrentState::Rest {
        return None;
    }
    while i > 0 && states[i - 1] == CurrentState::Rest {
        i -= 1;
    }
    Some(trace.time_s[i])
}

/// The chosen fit, every candidate with its Akaike weight, and the models not fitted.
type FitOutcome = (RelaxFit, Vec<(RelaxFit, f64)>, Vec<(RelaxModel, String)>);

fn fit_points(s: &InsituSeries, idx: &[usize], t0: f64, model: ModelArg) -> Result<FitOutcome> {
    let t: Vec<f64> = idx.iter().map(|&i| s.time_s[i] - t0).collect();
    let y: Vec<f64> = idx.iter().map(|&i| s.value[i]).collect();
    let e: Vec<f64> = idx.iter().map(|&i| s.esd[i]).collect();
    if let Some(k) = e.iter().position(|v| v.is_nan()) {
        bail!("scan {} has no esd for {}; the fit is weighted by the esds", s.scan[idx[k]], s.key);
    }
    Ok(match model {
        ModelArg::Auto => {
            let sel = fit_relaxation_auto(&t, &y, &e)?;
            let c = sel.candidates.into_iter().zip(sel.weights).collect();
            (sel.best, c, sel.skipped)
        }
        m => {
            let model = match m {
                ModelArg::Exp => RelaxModel::Exp,
                ModelArg::Kww => RelaxModel::Kww,
                _ => RelaxModel::Biexp,
            };
            let f = fit_relaxation(&t, &y, &e, model)?;
            (f.clone(), vec![(f, 1.0)], Vec::new())
        }
    })
}

fn make_fit(
    s: &InsituSeries,
    rest: usize,
    idx: Vec<usize>,
    t0: f64,
    window: [f64; 2],
    model: ModelArg,
) -> Result<RestFit> {
    let (fit, candidates, skipped) = fit_points(s, &idx, t0, model)?;
    let temps: Vec<f64> =
        idx.iter().map(|&i| s.temperature_k[i]).filter(|v| v.is_finite()).collect();
    Ok(RestFit {
        rest,
        t0_s: t0,
        window,
        time_s: idx.iter().map(|&i| s.time_s[i]).collect(),
        t: idx.iter().map(|&i| s.time_s[i] - t0).collect(),
        y: idx.iter().map(|&i| s.value[i]).collect(),
        s: idx.iter().map(|&i| s.esd[i]).collect(),
        temperature_k: (!temps.is_empty()).then(|| temps.iter().sum::<f64>() / temps.len() as f64),
        fit,
        candidates,
        skipped,
    })
}

fn esd(u: &bragg_refine::uncertain::Uncertain) -> Value {
    u.esd.map_or(Value::Null, |e| json!(e))
}

fn fit_json(r: &RestFit, key: &str) -> Value {
    let f = &r.fit;
    json!({
        "param": key,
        "rest": r.rest,
        "model": f.model.as_str(),
        "tau_s": f.tau_s.value,
        "tau_s_esd": esd(&f.tau_s),
        "beta": f.beta.map(|b| b.value),
        "beta_esd": f.beta.as_ref().map_or(Value::Null, esd),
        "a_inf": f.a_inf.value,
        "a_inf_esd": esd(&f.a_inf),
        "delta": f.delta.value,
        "delta_esd": esd(&f.delta),
        "aic": f.aic,
        "aicc": f.aicc,
        "criterion": "aicc",
        "tau_mean_s": f.tau_mean_s.value,
        "tau_mean_s_esd": esd(&f.tau_mean_s),
        "components": f.components.iter().map(|c| json!({
            "delta": c.delta.value, "delta_esd": esd(&c.delta),
            "tau_s": c.tau_s.value, "tau_s_esd": esd(&c.tau_s)})).collect::<Vec<_>>(),
        "chi2_reduced": f.chi2_reduced,
        "n_points": f.n_points,
        "t0_s": r.t0_s,
        "window_s": r.window,
        "temperature_k": r.temperature_k,
        "candidates": r.candidates.iter().map(|(c, w)| json!({
            "model": c.model.as_str(), "aic": c.aic, "aicc": c.aicc,
            "chi2_reduced": c.chi2_reduced, "weight": w,
            "tau_s": c.tau_s.value, "tau_s_esd": esd(&c.tau_s)})).collect::<Vec<_>>(),
        "skipped": r.skipped.iter().map(|(m, why)| json!({"model": m.as_str(), "reason": why})).collect::<Vec<_>>(),
        "termination": format!("{:?}", f.termination),
    })
}

#[derive(Serialize)]
struct ArrheniusJson {
    ea_ev: f64,
    ea_ev_esd: Option<f64>,
    ea_kj_mol: f64,
    ea_kj_mol_esd: Option<f64>,
    tau0_s: f64,
    tau0_s_esd: Option<f64>,
    ln_tau0: f64,
    ln_tau0_esd: Option<f64>,
    correlation: f64,
    chi2_reduced: f64,
    n_points: usize,
    points: Vec<ArrheniusPoint>,
}

fn arrhenius_json(f: &ArrheniusFit, points: &[ArrheniusPoint]) -> ArrheniusJson {
    ArrheniusJson {
        ea_ev: f.ea_ev.value,
        ea_ev_esd: f.ea_ev.esd,
        ea_kj_mol: f.ea_kj_mol.value,
        ea_kj_mol_esd: f.ea_kj_mol.esd,
        tau0_s: f.tau0_s.value,
        tau0_s_esd: f.tau0_s.esd,
        ln_tau0: f.ln_tau0.value,
        ln_tau0_esd: f.ln_tau0.esd,
        correlation: f.correlation,
        chi2_reduced: f.chi2_reduced,
        n_points: f.n_points,
        points: points.to_vec(),
    }
}

fn report_arrhenius(text: &mut String, f: &ArrheniusFit) {
    let _ = writeln!(
        text,
        "Arrhenius over {} temperatures: Ea = {} eV = {} kJ/mol, τ0 = {:.3e} s (ln τ0 = {}), χ²ν = {:.3}",
        f.n_points,
        f.ea_ev,
        f.ea_kj_mol,
        f.tau0_s.value,
        f.ln_tau0,
        f.chi2_reduced
    );
}

/// Reads an Arrhenius table: temperature_k or temperature_c (°C), tau_s, tau_s_esd.
fn read_arrhenius_table(path: &Path) -> Result<Vec<ArrheniusPoint>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the Arrhenius table {}", path.display()))?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let (_, header) = lines.next().ok_or_else(|| anyhow!("{}: empty table", path.display()))?;
    let h: Vec<String> = header.split(',').map(|s| s.trim().to_ascii_lowercase()).collect();
    let col = |names: &[&str]| h.iter().position(|c| names.contains(&c.as_str()));
    let (tk, tc) = (
        col(&["temperature_k", "t_k", "t (k)", "t/k"]),
        col(&["temperature_c", "t_c", "t (°c)", "t/°c"]),
    );
    let tau =
        col(&["tau_s", "tau"]).ok_or_else(|| anyhow!("{}: no tau_s column", path.display()))?;
    let tau_e = col(&["tau_s_esd", "tau_esd"])
        .ok_or_else(|| anyhow!("{}: no tau_s_esd column", path.display()))?;
    if tk.is_none() && tc.is_none() {
        bail!("{}: no temperature_k (or temperature_c) column", path.display());
    }
    let mut points = Vec::new();
    for (i, line) in lines {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let num = |c: usize| -> Result<f64> {
            f.get(c).and_then(|s| s.parse::<f64>().ok()).ok_or_else(|| {
                anyhow!("{}: line {}: column {} is not a number", path.display(), i + 1, h[c])
            })
        };
        let t = match (tk, tc) {
            (Some(c), _) => num(c)?,
            (None, Some(c)) => num(c)? + 273.15,
            _ => bail!("{}: no temperature column", path.display()),
        };
        points.push(ArrheniusPoint { temperature_k: t, tau_s: num(tau)?, tau_s_esd: num(tau_e)? });
    }
    Ok(points)
}

fn outdir_for(args: &RelaxArgs, input: &Path) -> PathBuf {
    match &args.outdir {
        Some(d) => d.clone(),
        None => match input.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        },
    }
}

/// Runs `bragg relax`.
pub fn run(args: &RelaxArgs, out: &mut dyn Write) -> Result<()> {
    if let Some(table) = &args.arrhenius {
        let points = read_arrhenius_table(table)?;
        let f = arrhenius_fit(&points)?;
        let j = json!({ "arrhenius": arrhenius_json(&f, &points) });
        let outdir = outdir_for(args, table);
        std::fs::create_dir_all(&outdir)?;
        let text = serde_json::to_string_pretty(&j)?;
        bragg_io::write_atomic(&outdir.join("arrhenius.json"), |w| w.write_all(text.as_bytes()))?;
        if args.json {
            writeln!(out, "{text}")?;
        } else {
            let mut t = String::new();
            report_arrhenius(&mut t, &f);
            let _ = writeln!(t, "wrote arrhenius.json in {}", outdir.display());
            out.write_all(t.as_bytes())?;
        }
        return Ok(());
    }
    let Some(table) = &args.table else {
        bail!("give SEQUENTIAL.csv (or --arrhenius TABLE.csv)");
    };
    let (s, trace) =
        load_with_echem(table, args.param.as_deref(), args.include_flagged, &args.echem)?;
    if let Some(i) = s
        .time_s
        .windows(2)
        .position(|w| w[1].partial_cmp(&w[0]) != Some(std::cmp::Ordering::Greater))
    {
        bail!(
            "{}: time_s is not strictly increasing at scan {} ({} s after {} s); the kinetics \
             need the scans in time order",
            table.display(),
            s.scan[i + 1],
            s.time_s[i + 1],
            s.time_s[i]
        );
    }
    let threshold = args.echem.rest_current_ma;
    let rest_start = |w: &bragg_refine::analysis::RestWindow| -> f64 {
        trace
            .as_ref()
            .and_then(|tr| rest_start_in_log(tr, s.time_s[w.first], threshold))
            .unwrap_or(w.start_s)
    };
    let mut fits: Vec<RestFit> = Vec::new();
    if let Some(w) = &args.window {
        let (a, b) = parse_window(w)?;
        let idx: Vec<usize> =
            (0..s.time_s.len()).filter(|&i| s.time_s[i] >= a && s.time_s[i] <= b).collect();
        if idx.is_empty() {
            bail!(
                "--window {a}:{b} s holds no scan (the series spans {}..{} s)",
                s.time_s[0],
                s.time_s[s.time_s.len() - 1]
            );
        }
        fits.push(make_fit(&s, 0, idx, a, [a, b], args.model)?);
    } else {
        if s.state.iter().all(Option::is_none) {
            bail!(
                "the series has no current direction (empty segment column), so its rests are \
                 unknown: give --window t0:t1 or the cycler log with --echem LOG"
            );
        }
        let states: Vec<CurrentState> =
            s.state.iter().map(|x| x.unwrap_or(CurrentState::Charge)).collect();
        let rests = rest_windows(&s.time_s, &states);
        if rests.is_empty() {
            bail!("the series has no scan at rest; give --window t0:t1");
        }
        let chosen: Vec<(usize, &bragg_refine::analysis::RestWindow)> = if args.all_rests {
            rests.iter().enumerate().map(|(k, r)| (k + 1, r)).collect()
        } else {
            vec![(rests.len(), &rests[rests.len() - 1])]
        };
        for (k, r) in chosen {
            let t0 = rest_start(r);
            let idx: Vec<usize> = (r.first..=r.last).collect();
            let window = [t0, s.time_s[r.last]];
            match make_fit(&s, k, idx, t0, window, args.model) {
                Ok(f) => fits.push(f),
                Err(e) if args.all_rests => {
                    writeln!(
                        out,
                        "rest {k} ({} scans from {t0} s): not fitted: {e}",
                        r.last - r.first + 1
                    )?;
                }
                Err(e) => {
                    return Err(e.context(format!(
                        "the last rest ({} scans from {t0} s)",
                        r.last - r.first + 1
                    )))
                }
            }
        }
        if fits.is_empty() {
            bail!("no rest could be fitted");
        }
    }

    // Arrhenius over rests at different temperatures.
    let points: Vec<ArrheniusPoint> = fits
        .iter()
        .filter_map(|f| {
            Some(ArrheniusPoint {
                temperature_k: f.temperature_k?,
                tau_s: f.fit.tau_mean_s.value,
                tau_s_esd: f.fit.tau_mean_s.esd?,
            })
        })
        .collect();
    let arrhenius =
        if args.all_rests && points.len() >= 2 { arrhenius_fit(&points).ok() } else { None };

    let outdir = outdir_for(args, table);
    std::fs::create_dir_all(&outdir)
        .with_context(|| format!("cannot create the output folder {}", outdir.display()))?;
    let json_value = if fits.len() == 1 && !args.all_rests {
        fit_json(&fits[0], &s.key)
    } else {
        json!({
            "param": s.key,
            "rests": fits.iter().map(|f| fit_json(f, &s.key)).collect::<Vec<_>>(),
            "arrhenius": arrhenius.as_ref().map(|a| arrhenius_json(a, &points)),
        })
    };
    let json_text = serde_json::to_string_pretty(&json_value)?;
    bragg_io::write_atomic(&outdir.join("relax.json"), |w| w.write_all(json_text.as_bytes()))?;
    let mut csv = String::from("rest,time_s,t_s,value,esd,fit,residual_norm\n");
    for f in &fits {
        for i in 0..f.t.len() {
            let fit = f.fit.predict(f.t[i]);
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{},{}",
                f.rest,
                f.time_s[i],
                f.t[i],
                f.y[i],
                f.s[i],
                fit,
                (f.y[i] - fit) / f.s[i]
            );
        }
    }
    bragg_io::write_atomic(&outdir.join("relax_fit.csv"), |w| w.write_all(csv.as_bytes()))?;
    let unit = unit_of(&s.key);
    let y_label =
        format!("{}{}", s.key, if unit.is_empty() { String::new() } else { format!(" ({unit})") });
    fit_plots(&fits, &y_label, &outdir)?;
    time_plot(&s, trace.as_ref(), &y_label, &outdir.join("relax_voltage"))?;

    if args.json {
        writeln!(out, "{json_text}")?;
        return Ok(());
    }
    let mut text = String::new();
    for f in &fits {
        let r = &f.fit;
        let what = if f.rest == 0 {
            format!("window {}–{} s", f.window[0], f.window[1])
        } else {
            format!("rest {}", f.rest)
        };
        let _ = writeln!(
            text,
            "{} {what}: {} scans, t from {} s{}",
            s.key,
            r.n_points,
            f.t0_s,
            f.temperature_k.map(|t| format!(", T = {t:.1} K")).unwrap_or_default()
        );
        for (c, w) in &f.candidates {
            let _ = writeln!(
                text,
                "  {:<6} τ = {} s{}  χ²ν = {:.3}  AIC = {:.2}  AICc = {}  weight {:.3}",
                c.model.as_str(),
                c.tau_s,
                c.beta
                    .filter(|_| c.model == RelaxModel::Kww)
                    .map(|b| format!("  β = {b}"))
                    .unwrap_or_default(),
                c.chi2_reduced,
                c.aic,
                c.aicc.map_or("–".to_string(), |v| format!("{v:.2}")),
                w
            );
        }
        for (m, why) in &f.skipped {
            let _ = writeln!(text, "  {m}: not fitted: {why}");
        }
        let _ = writeln!(
            text,
            "  chosen {} (lowest AICc): a∞ = {} {unit}, Δa = {} {unit}, τ = {} s{}, ⟨τ⟩ = {} s",
            r.model,
            r.a_inf,
            r.delta,
            r.tau_s,
            r.beta.map(|b| format!(", β = {b}")).unwrap_or_default(),
            r.tau_mean_s
        );
        for (k, c) in r.components.iter().enumerate() {
            let _ = writeln!(
                text,
                "    component {}: Δa = {} {unit}, τ = {} s",
                k + 1,
                c.delta,
                c.tau_s
            );
        }
    }
    if let Some(a) = &arrhenius {
        report_arrhenius(&mut text, a);
    } else if args.all_rests && points.len() < 2 {
        let _ = writeln!(
            text,
            "no Arrhenius fit: needs rests at two or more temperatures (temperature_k column)"
        );
    }
    let _ = writeln!(
        text,
        "wrote relax.json, relax_fit.csv, relax_fit.png/.svg, relax_residuals.png/.svg, relax_voltage.png/.svg in {}",
        outdir.display()
    );
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// a(t) with the fitted curve, and the normalised residuals, for every fitted rest.
fn fit_plots(fits: &[RestFit], y_label: &str, outdir: &Path) -> Result<()> {
    let curves: Vec<(Vec<f64>, Vec<f64>)> = fits
        .iter()
        .map(|f| {
            let t_end = f.t.iter().fold(0.0_f64, |m, v| m.max(*v));
            let t: Vec<f64> = (0..=400).map(|k| t_end * f64::from(k) / 400.0).collect();
            let y = t.iter().map(|&t| f.fit.predict(t)).collect();
            (t.iter().map(|t| t / 3600.0).collect(), y)
        })
        .collect();
    let t_h: Vec<Vec<f64>> =
        fits.iter().map(|f| f.t.iter().map(|t| t / 3600.0).collect()).collect();
    let resid: Vec<Vec<f64>> = fits
        .iter()
        .map(|f| (0..f.t.len()).map(|i| (f.y[i] - f.fit.predict(f.t[i])) / f.s[i]).collect())
        .collect();
    let x_label = "Time since the start of the rest (h)";
    let mut plot = SeriesPlot::new(x_label, y_label);
    let mut res = SeriesPlot::new(x_label, "Residual / esd");
    for (k, f) in fits.iter().enumerate() {
        let name = if f.rest == 0 { "window".to_string() } else { format!("rest {}", f.rest) };
        let mut d = Series::new(name.clone(), &t_h[k], &f.y);
        d.y_err = Some(&f.s);
        d.style = SeriesStyle::Markers;
        plot.series.push(d);
        let mut c = Series::new(format!("{name} {} fit", f.fit.model), &curves[k].0, &curves[k].1);
        c.style = SeriesStyle::Line;
        plot.series.push(c);
        let mut r = Series::new(name, &t_h[k], &resid[k]);
        r.style = SeriesStyle::Markers;
        res.series.push(r);
    }
    plot.render(&outdir.join("relax_fit.png"), &outdir.join("relax_fit.svg"))?;
    res.render(&outdir.join("relax_residuals.png"), &outdir.join("relax_residuals.svg"))?;
    Ok(())
}
