//! The TOML model file as both `bragg refine` and `bragg sequential` use it: its text kept to
//! name lines in messages, parameter keys resolved against a refinement, and the `[refine]`
//! table's bounds, constraints and manual stages applied (one implementation for both).

use anyhow::{anyhow, Result};
use bragg_io::model::{parse_model, ConstraintSpec, ModelFile};
use bragg_refine::{Constraint, ParamKey, Refinement};
use std::path::{Path, PathBuf};

/// The model file with its text (to name lines in messages).
pub struct ModelSource {
    /// Path.
    pub path: PathBuf,
    /// Text.
    pub text: String,
    /// Parsed file.
    pub file: ModelFile,
}

impl ModelSource {
    /// Reads and parses a model file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        let file = parse_model(&text, path)?;
        Ok(ModelSource { path: path.to_path_buf(), text, file })
    }

    /// `path:line: message`, the line being the first that contains `needle` (1 if none).
    pub fn error(&self, needle: &str, message: impl std::fmt::Display) -> anyhow::Error {
        let line =
            self.text.find(needle).map(|i| self.text[..i].matches('\n').count() + 1).unwrap_or(1);
        anyhow!("{}:{line}: {message}", self.path.display())
    }
}

/// Parses and resolves a parameter key written in the model file (errors name its line).
pub fn model_key(r: &Refinement, src: &ModelSource, text: &str) -> Result<ParamKey> {
    let needle = format!("\"{text}\"");
    let key: ParamKey = text.parse().map_err(|e| src.error(&needle, e))?;
    r.target(&key).map_err(|e| src.error(&needle, e))?;
    Ok(key)
}

/// Applies the `[refine]` bounds and constraints of the model to `r` (nothing without a
/// `[refine]` table). Errors name the line of the offending entry.
pub fn apply_bounds_and_constraints(r: &mut Refinement, src: &ModelSource) -> Result<()> {
    let Some(spec) = &src.file.refine else { return Ok(()) };
    for (text, [lo, hi]) in &spec.bounds {
        let key = model_key(r, src, text)?;
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(src.error(
                &format!("\"{text}\""),
                format!("bounds of {text}: [{lo}, {hi}] must be finite with lo < hi"),
            ));
        }
        r.parameter_mut(&key)?.bounds = Some((*lo, *hi));
    }
    for c in &spec.constraints {
        let (constraint, needle) = match c {
            ConstraintSpec::Linear { terms } => {
                let mut out = Vec::with_capacity(terms.len());
                for (text, coef) in terms {
                    out.push((model_key(r, src, text)?, *coef));
                }
                (Constraint::Linear { terms: out }, "\"linear\"".to_string())
            }
            ConstraintSpec::SiteTotal { phase, site } => (
                Constraint::SiteTotal { phase: phase.clone(), site: site.clone() },
                format!("\"{site}\""),
            ),
            ConstraintSpec::ConserveSpecies { phase, species, sites } => (
                Constraint::ConserveSpecies {
                    phase: phase.clone(),
                    species: species.clone(),
                    sites: sites.clone(),
                },
                format!("\"{species}\""),
            ),
        };
        let terms = constraint.terms(&r.model).map_err(|e| src.error(&needle, e))?;
        for (key, _) in &terms {
            r.target(key).map_err(|e| src.error(&needle, format!("constraint: {e}")))?;
        }
        r.constraints.push(constraint);
    }
    Ok(())
}

/// The manual stages of the `[refine]` table, (name, keys) in order: `refine.params` as one
/// stage named "manual", else each `[[refine.stage]]` (named, or "stage N"). Empty without any.
pub fn manual_stages(r: &Refinement, src: &ModelSource) -> Result<Vec<(String, Vec<ParamKey>)>> {
    let Some(spec) = &src.file.refine else { return Ok(Vec::new()) };
    let mut stages = Vec::new();
    if !spec.params.is_empty() {
        let keys = spec.params.iter().map(|t| model_key(r, src, t)).collect::<Result<_>>()?;
        stages.push(("manual".to_string(), keys));
    }
    for (i, s) in spec.stages.iter().enumerate() {
        let keys = s.params.iter().map(|t| model_key(r, src, t)).collect::<Result<_>>()?;
        stages.push((s.name.clone().unwrap_or_else(|| format!("stage {}", i + 1)), keys));
    }
    Ok(stages)
}
