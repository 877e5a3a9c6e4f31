//! bragg's side of the peer benchmark (compiled only with `cargo bench --features bragg`).
//!
//! *** LEAD: this is the place where bragg is plugged in. *** It was written against
//! `bragg_crystal::pattern::{simulate, Evaluator}` as of commit 6dad616; review it, and adjust
//! if the API moves. The contract mirrors `bragg_benches_peer::phasesmith_side`:
//! * [`BraggWorkload::new`] (not timed) builds bragg's `PatternModel` from the shared
//!   [`WorkloadSpec`]: phases with B_iso, radiation components (Kα1 1, Kα2 0.5), TCH widths
//!   (FullProf convention, as `spec` and bragg's `profile/widths.rs`), asym = S/L + H/L,
//!   the LP polarisation, the 6-term Chebyshev background, scale 1, **anomalous = false**
//!   (PhaseSmith has no f′/f″ table; see `phasesmith_side::Dispersion` to give it bragg's).
//! * [`BraggWorkload::simulate_full`] — timed as `bragg`: `pattern::simulate` (reflection
//!   generation + |F|² + profiles + background), the same scope as `phasesmith`.
//! * [`BraggWorkload::evaluate_cached`] — timed as `bragg_cached`: `Evaluator::evaluate` with
//!   the reflection lists kept (built once by `Evaluator::new`), as `phasesmith_prepared`.
//!   Note `Evaluator::new` keeps reflections a 2 % larger cell would bring in (margin 0.02,
//!   `simulate` uses 0), so its list can hold one more reflection (synchrotron 620 at 40.95°).
//!
//! Known differences left in place (see README): Kα2 weight (bragg 1 : 0.5 unnormalised,
//! PhaseSmith normalised to 2/3 : 1/3 — bragg's lab intensities are 1.5× PhaseSmith's),
//! profile truncation (bragg's cutoff 4e-6 vs PhaseSmith's tail-area budget 9e-4).

use bragg_benches_peer::spec::{GeometrySpec, PolarizationSpec, WorkloadSpec};
use bragg_crystal::background::ChebyshevBackground;
use bragg_crystal::instrument::{Polarization, Radiation, WavelengthComponent};
use bragg_crystal::pattern::{
    simulate, Evaluator, Geometry, Instrument, PatternModel, PhaseContribution, ProbeKind,
};
use bragg_crystal::profile::ProfileParams;
use bragg_crystal::{Cell, Occupant, Phase, Site, SpaceGroup, Species};

/// bragg's model for one workload.
pub struct BraggWorkload {
    /// The grid (degrees 2θ).
    pub x_deg: Vec<f64>,
    /// bragg's model.
    pub model: PatternModel,
    /// Prepared evaluator (reflection lists fixed).
    pub evaluator: Evaluator,
}

fn phase(spec: &bragg_benches_peer::spec::PhaseSpec) -> bragg_crystal::Result<Phase> {
    let group = SpaceGroup::from_symbol(spec.space_group_symbol)?;
    // Group atoms by site label ("4a" → Wyckoff letter 'a'), keeping the spec's order.
    let mut labels: Vec<&str> = Vec::new();
    for a in &spec.atoms {
        if !labels.contains(&a.site) {
            labels.push(a.site);
        }
    }
    let mut sites = Vec::new();
    for label in labels {
        let atoms: Vec<_> = spec.atoms.iter().filter(|a| a.site == label).collect();
        let occupants = atoms
            .iter()
            .map(|a| Ok(Occupant { species: Species::parse(a.element)?, occupancy: a.occupancy }))
            .collect::<bragg_crystal::Result<Vec<_>>>()?;
        let letter = label.chars().last().unwrap_or('a');
        sites.push(Site::at_wyckoff(
            format!("{}{}", spec.name, label),
            &group,
            letter,
            atoms[0].xyz,
            occupants,
            atoms[0].b_iso_angstrom2,
        )?);
    }
    Phase::new(spec.name, Cell::cubic(spec.a_angstrom)?, group, sites)
}

fn model(spec: &WorkloadSpec) -> bragg_crystal::Result<PatternModel> {
    let radiation = Radiation::new(
        spec.wavelengths
            .iter()
            .map(|w| WavelengthComponent::line(w.wavelength_angstrom, w.relative_intensity))
            .collect(),
    )?;
    let p = spec.profile;
    let instrument = Instrument {
        radiation,
        probe: ProbeKind::Xray,
        zero_deg: 0.0,
        geometry: match spec.geometry {
            GeometrySpec::DebyeScherrer => Geometry::DebyeScherrer { mu_r: 0.0 },
            GeometrySpec::BraggBrentano => {
                Geometry::BraggBrentano { goniometer_radius_mm: 240.0, displacement_um: 0.0 }
            }
        },
        polarization: match spec.polarization {
            PolarizationSpec::Fraction(fraction) => Polarization::Fraction { fraction },
            PolarizationSpec::Monochromator { two_theta_m_deg } => {
                Polarization::Monochromator { two_theta_m_deg }
            }
        },
        profile: ProfileParams {
            u: p.u_deg2,
            v: p.v_deg2,
            w: p.w_deg2,
            p: 0.0,
            x: p.x_deg,
            y: p.y_deg,
            asym: spec.fcj.map_or(0.0, |f| f.s_over_l + f.h_over_l),
            ..Default::default()
        },
        anomalous: false,
    };
    let phases = spec
        .phases
        .iter()
        .map(|ph| Ok(PhaseContribution::new(phase(ph)?, ph.scale)))
        .collect::<bragg_crystal::Result<Vec<_>>>()?;
    let background = ChebyshevBackground::new(
        spec.background.to_vec(),
        spec.two_theta_start_deg,
        spec.two_theta_end_deg(),
    )?;
    Ok(PatternModel { instrument, phases, background })
}

impl BraggWorkload {
    /// Build bragg's model from the shared spec (not timed).
    pub fn new(spec: &WorkloadSpec) -> Self {
        let x_deg = spec.grid();
        let model = model(spec).expect("bragg model");
        let evaluator = Evaluator::new(&model, &x_deg).expect("bragg evaluator");
        Self { x_deg, model, evaluator }
    }

    /// Full model → y_calc (reflection generation + |F|² + profiles + background). Timed.
    pub fn simulate_full(&mut self) -> Vec<f64> {
        simulate(&self.model, &self.x_deg).expect("bragg simulate").total
    }

    /// Cached re-evaluation (reflection lists reused). Timed.
    pub fn evaluate_cached(&mut self) -> Vec<f64> {
        self.evaluator.evaluate(&self.model, &[], None).expect("bragg evaluate").total
    }
}
