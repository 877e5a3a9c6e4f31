//! The radiation and instrument defaults given on the command line, shared by `bragg
//! simulate`, `bragg refine` and `bragg sequential` (one implementation): `--wavelength`,
//! `--radiation`, `--kalpha2-ratio`, `--instrument`, and how they combine with a TOML model
//! and with the wavelengths a data or instrument file states.

use crate::commands::model_source::ModelSource;
use anyhow::{Context, Result};
use bragg_crystal::background::ChebyshevBackground;
use bragg_crystal::instrument::{Radiation, WavelengthComponent, DEFAULT_KALPHA2_RATIO};
use bragg_crystal::pattern::{Instrument, PatternModel};
use bragg_io::model::Preset;
use clap::{Args, ValueEnum};

/// Instrument presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InstrumentPreset {
    /// 11-BM-like synchrotron: capillary, polarisation 0.99, narrow peaks.
    Synchrotron,
    /// Bragg–Brentano lab diffractometer with a graphite monochromator.
    Lab,
}

impl From<InstrumentPreset> for Preset {
    fn from(p: InstrumentPreset) -> Self {
        match p {
            InstrumentPreset::Synchrotron => Preset::Synchrotron,
            InstrumentPreset::Lab => Preset::Lab,
        }
    }
}

/// The radiation options of a subcommand (flattened into its arguments).
#[derive(Debug, Clone, Default, Args)]
pub struct RadiationArgs {
    /// Monochromatic wavelength in Å (overrides the model and the data file).
    #[arg(long, value_name = "Å", conflicts_with = "radiation", allow_negative_numbers = true)]
    pub wavelength: Option<f64>,
    /// Lab source: CuKa, CuKa1, MoKa, CoKa, CrKa, FeKa, AgKa (overrides the model and the
    /// data file).
    #[arg(long, value_name = "NAME")]
    pub radiation: Option<String>,
    /// Kα2/Kα1 intensity ratio for --radiation (default 0.5).
    #[arg(long, value_name = "RATIO", requires = "radiation")]
    pub kalpha2_ratio: Option<f64>,
    /// Instrument defaults (otherwise the model's preset, else synchrotron for one wavelength
    /// and lab for a Kα doublet or a named source).
    #[arg(long, value_enum)]
    pub instrument: Option<InstrumentPreset>,
}

impl RadiationArgs {
    /// The radiation chosen on the command line, if any.
    pub fn radiation(&self) -> Result<Option<Radiation>> {
        let ratio = self.kalpha2_ratio.unwrap_or(DEFAULT_KALPHA2_RATIO);
        Ok(match (&self.wavelength, &self.radiation) {
            (Some(w), _) => Some(Radiation::monochromatic(*w).context("--wavelength")?),
            (None, Some(name)) => {
                Some(Radiation::from_name_with_ratio(name, ratio).context("--radiation")?)
            }
            (None, None) => None,
        })
    }

    /// Instrument defaults for `radiation`: `--instrument` if given, else lab for a doublet or
    /// a named source, synchrotron for one wavelength.
    pub fn preset_for(&self, radiation: &Radiation) -> Preset {
        match self.instrument {
            Some(p) => p.into(),
            None if radiation.components().len() > 1 || self.radiation.is_some() => Preset::Lab,
            None => Preset::Synchrotron,
        }
    }

    /// A model without phases (background empty over 0–180°) with the instrument of the
    /// preset for `radiation`.
    pub fn bare_model(&self, radiation: Radiation) -> Result<PatternModel> {
        let instrument = match self.preset_for(&radiation) {
            Preset::Synchrotron => {
                let mut i = Instrument::synchrotron(radiation.primary_wavelength_angstrom())?;
                i.radiation = radiation;
                i
            }
            Preset::Lab => Instrument::lab_bragg_brentano(radiation),
        };
        let background = ChebyshevBackground::new(Vec::new(), 0.0, 180.0)?;
        Ok(PatternModel { instrument, phases: Vec::new(), background })
    }

    /// The model of a TOML file, with `chosen` (the command line's or a data file's
    /// radiation) replacing its wavelength, and the preset of `--instrument` (else the
    /// model's own, else the one for the radiation). The instrument is validated; errors name
    /// the model file.
    pub fn model_from_file(
        &self,
        src: &ModelSource,
        chosen: Option<Radiation>,
    ) -> Result<PatternModel> {
        let mut file = src.file.clone();
        let spec = &mut file.instrument;
        if let Some(r) = &chosen {
            spec.wavelength = Some(r.primary_wavelength_angstrom());
            spec.radiation = None;
            spec.kalpha2_ratio = None;
            if self.instrument.is_some() || spec.preset.is_none() {
                spec.preset = Some(self.preset_for(r));
            }
        } else if let Some(p) = self.instrument {
            spec.preset = Some(p.into());
        }
        let mut model = file.build(&src.path, &src.text)?.model;
        if let Some(r) = chosen {
            model.instrument.radiation = r;
        }
        model.instrument.validate().with_context(|| format!("{}", src.path.display()))?;
        Ok(model)
    }
}

/// Whether the model file states a wavelength (`instrument.wavelength` or `.radiation`).
pub fn model_has_wavelength(src: Option<&ModelSource>) -> bool {
    src.is_some_and(|s| {
        s.file.instrument.wavelength.is_some() || s.file.instrument.radiation.is_some()
    })
}

/// The radiation of wavelengths stated by a file (`what` names it in messages); a component
/// after the first whose weight the file does not give gets the default Kα2/Kα1 ratio, said
/// in `notes`. `None` when the file states none.
pub fn radiation_from_waves(
    waves: &[bragg_io::Wavelength],
    what: &str,
    notes: &mut Vec<String>,
) -> Result<Option<Radiation>> {
    if waves.is_empty() {
        return Ok(None);
    }
    let mut components = Vec::with_capacity(waves.len());
    for (k, w) in waves.iter().enumerate() {
        let relative_intensity = match (k, w.relative_intensity) {
            (_, Some(r)) => r,
            (0, None) => 1.0,
            (_, None) => {
                notes.push(format!(
                    "{what} gives λ = {} Å without its weight: Kα2/Kα1 = {DEFAULT_KALPHA2_RATIO} assumed",
                    w.angstrom
                ));
                DEFAULT_KALPHA2_RATIO
            }
        };
        components.push(WavelengthComponent::line(w.angstrom, relative_intensity));
    }
    Radiation::new(components).map(Some).with_context(|| format!("{what}: wavelengths"))
}

/// Fails with the standard message when no source gave a wavelength.
pub fn no_wavelength(data: &std::path::Path, hint: &str) -> anyhow::Error {
    anyhow::anyhow!("no wavelength: {} does not state one; {hint}", data.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One wavelength → synchrotron, a doublet or a named source → lab, `--instrument` wins.
    #[test]
    fn presets_follow_the_radiation_unless_given() {
        let mono = Radiation::monochromatic(0.458).unwrap();
        let cu = Radiation::from_name_with_ratio("CuKa", 0.5).unwrap();
        let none = RadiationArgs::default();
        assert_eq!(none.preset_for(&mono), Preset::Synchrotron);
        assert_eq!(none.preset_for(&cu), Preset::Lab);
        let named = RadiationArgs { radiation: Some("CuKa1".into()), ..Default::default() };
        assert_eq!(
            named.preset_for(&Radiation::from_name_with_ratio("CuKa1", 0.5).unwrap()),
            Preset::Lab
        );
        let forced =
            RadiationArgs { instrument: Some(InstrumentPreset::Synchrotron), ..Default::default() };
        assert_eq!(forced.preset_for(&cu), Preset::Synchrotron);
    }

    /// A second wavelength without a weight gets 0.5 and a note naming the file.
    #[test]
    fn unweighted_second_wavelength_is_noted() {
        let waves = [
            bragg_io::Wavelength { angstrom: 1.5406, relative_intensity: None },
            bragg_io::Wavelength { angstrom: 1.5444, relative_intensity: None },
        ];
        let mut notes = vec![];
        let r = radiation_from_waves(&waves, "scan.raw", &mut notes).unwrap().unwrap();
        assert_eq!(r.components()[1].relative_intensity, DEFAULT_KALPHA2_RATIO);
        assert!(notes.len() == 1 && notes[0].starts_with("scan.raw gives λ = 1.5444"), "{notes:?}");
        assert!(radiation_from_waves(&[], "x", &mut notes).unwrap().is_none());
    }
}
