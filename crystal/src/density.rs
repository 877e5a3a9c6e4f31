//! Structural models of an oxygen-deficient layered or rock-salt oxide checked against density,
//! composition and capacity: oxygen vacancies or densification?
//!
//! After oxygen release the cycled material can be described (Csernica et al., "Persistent and
//! partially mobile oxygen vacancies in Li-rich layered oxides", the seed paper, section "The
//! existence of bulk oxygen vacancies" and Fig. 3) by either
//! - the **vacancy** structure: cation sublattice unchanged, anion sublattice O(n−δ)□δ, e.g.
//!   [Li1.18TM0.82][O1.87□0.13]; or
//! - the **densified** structure: both sublattices full (Li + TM = n per O_n, n the pristine
//!   anion count) with the same average TM oxidation state v, i.e. TMs back-diffused into the
//!   bulk and Li lost, e.g. [Li1.06TM0.94][O2].
//!
//! Diffraction cannot tell them apart; density (He pycnometry), Li:TM (ICP) and capacity can.
//!
//! # Conventions and formulas (amounts per formula unit of n anion sites, n = pristine O count)
//! - Charge balance with Li⁺ and O²⁻ (seed paper, Fig. 3a): Li + v·TM = 2·O, so the average TM
//!   oxidation state is v = (2·O − Li)/TM. "TM" is every cation other than Li.
//! - Vacancy model: Li = Li₀, TM = TM₀, O = n − δ; v = (2(n − δ) − Li₀)/TM₀.
//! - Densified model: Li + TM = n and Li + v·TM = 2n, so TM = n/(v − 1), Li = n − TM; the TM
//!   proportions (Ni:Mn:Co) are those of the pristine material. Physical only for
//!   2 ≤ v ≤ v₀ (v = 2: no Li left; v = v₀: no oxygen loss).
//! - Mixture with a fraction f of densification: the amounts are interpolated,
//!   X(f) = (1 − f)·X_vac + f·X_dens, and the observables are computed from X(f). This is a
//!   volume fraction f of densified material in the same lattice (the refined cell is shared),
//!   which is also the fraction of the oxygen release accommodated by densification
//!   (O(f) = n − (1 − f)δ). Interpolating the formulas, not the observables, is what the
//!   measurements see: ICP gives a ratio of totals Li(f)/TM(f) (not an average of ratios), the
//!   pycnometer total mass over total volume; and the average oxidation state stays v for
//!   every f (the charge balance is linear in the amounts).
//! - X-ray density ρ = Z·M/(N_A·V) in g/cm³ (M in g/mol per formula unit, V in Å³, Z formula
//!   units per cell, 1 Å³ = 10⁻²⁴ cm³; International Tables Vol. C (2004) §4.4).
//! - Theoretical capacity = Li-extraction capacity Q = x_Li·F/(3.6·M) in mAh/g (Faraday's law,
//!   1 mAh = 3.6 C, F = 96 485.332 12 C/mol, CODATA 2018 exact): every Li of the formula
//!   removable, per gram of the model compound.
//! - Capacity measured on cycling is normalised by the mass of the electrode as made and the
//!   TMs stay in the electrode, so the capacity predicted at a later cycle is
//!   Q_ref·r with the retention r = (Li/TM)/(Li₀/TM₀), Q_ref the measured initial capacity. The
//!   vacancy model predicts r = 1 (no fade), the densified model r = (Li:TM)_dens/(Li:TM)₀: the
//!   seed paper compares "capacity retention" with the models the same way as Li:TM (Fig. 3b,
//!   "~15 % if the entire decrease in Li:TM and electrochemical capacity is due to
//!   densification").
//!
//! # Uncertainties
//! First-order propagation (GUM, JCGM 100:2008 §5.1.2) from δ (or v), V and Q_ref, with the
//! derivatives computed exactly by forward-mode dual numbers alongside the values. The best
//! fraction f minimises the generalised χ²(f) = rᵀC⁻¹r over all measurements, with C the
//! measurement variances plus the model covariance (a measurement's esd and the model esds it
//! shares through δ, V and Q_ref; Gauss–Newton, C re-evaluated at each f); σ_f =
//! (JᵀC⁻¹J)^(−1/2), J = ∂prediction/∂f (Prince, *Mathematical Techniques in Crystallography*,
//! 2004, §6.1, §6.4). The verdict uses the one-sided 95 % bounds f ± 1.645·σ_f; see [`Verdict`].

mod compare;
mod composition;

pub use compare::{
    compare, Comparison, DensificationFit, Measurements, Observable, Residual, Sample, Verdict,
};
pub use composition::Composition;

use crate::element::Element;
use crate::error::{Error, Result};
use crate::units::{ANGSTROM3_IN_CM3, AVOGADRO};
use composition::{standard_mass, NON_CATIONS};
use serde::{Deserialize, Serialize};
use std::ops::{Add, Div, Mul, Sub};

/// Faraday constant F = N_A·e in C/mol (CODATA 2018, exact by the 2019 SI definition).
pub const FARADAY: f64 = 96_485.332_12;

/// Coulombs per mAh (1 mAh = 10⁻³ A × 3600 s).
pub const COULOMB_PER_MAH: f64 = 3.6;

/// One-sided 95 % quantile of the standard normal distribution (the verdict's bound).
pub const Z_ONE_SIDED_95: f64 = 1.644_853_626_951_472_2;

/// A value with its estimated standard deviation (same unit; esd 0 = exact).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The value.
    pub value: f64,
    /// Its estimated standard deviation, ≥ 0.
    pub esd: f64,
}

impl Estimate {
    /// A value with esd `esd`.
    pub fn new(value: f64, esd: f64) -> Self {
        Estimate { value, esd }
    }

    /// An exact value (esd 0).
    pub fn exact(value: f64) -> Self {
        Estimate { value, esd: 0.0 }
    }

    fn check(self, name: &str) -> Result<Self> {
        if !self.value.is_finite() {
            return Err(Error::InvalidValue {
                name: name.into(),
                value: self.value,
                reason: "must be finite",
            });
        }
        if !(self.esd.is_finite() && self.esd >= 0.0) {
            return Err(Error::InvalidValue {
                name: format!("{name} esd"),
                value: self.esd,
                reason: "an esd must be finite and non-negative",
            });
        }
        Ok(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Dual numbers: value and first derivative together
// ---------------------------------------------------------------------------------------------

/// A forward-mode dual number v + d·ε (ε² = 0): arithmetic carries the exact first derivative
/// with respect to one seeded input.
#[derive(Debug, Clone, Copy)]
struct Dual {
    v: f64,
    d: f64,
}

impl Dual {
    fn c(v: f64) -> Self {
        Dual { v, d: 0.0 }
    }
    fn var(v: f64, seeded: bool) -> Self {
        Dual { v, d: if seeded { 1.0 } else { 0.0 } }
    }
}

impl Add for Dual {
    type Output = Dual;
    fn add(self, o: Dual) -> Dual {
        Dual { v: self.v + o.v, d: self.d + o.d }
    }
}
impl Sub for Dual {
    type Output = Dual;
    fn sub(self, o: Dual) -> Dual {
        Dual { v: self.v - o.v, d: self.d - o.d }
    }
}
impl Mul for Dual {
    type Output = Dual;
    fn mul(self, o: Dual) -> Dual {
        Dual { v: self.v * o.v, d: self.d * o.v + self.v * o.d }
    }
}
impl Div for Dual {
    type Output = Dual;
    fn div(self, o: Dual) -> Dual {
        Dual { v: self.v / o.v, d: (self.d * o.v - self.v * o.d) / (o.v * o.v) }
    }
}

// ---------------------------------------------------------------------------------------------
// Oxygen-loss models
// ---------------------------------------------------------------------------------------------

/// How the oxygen loss of the cycled material is given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OxygenLoss {
    /// δ, oxygen lost per formula unit (O_n → O_(n−δ)), ≥ 0.
    Delta(Estimate),
    /// The measured average TM oxidation state v (e.g. from XAS), ≤ the pristine one.
    TmOxidation(Estimate),
}

/// The cell the models are placed in: volume (Å³, with esd) and Z, formula units (of the
/// pristine formula, n anion sites each) per cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CellVolume {
    /// Cell volume in Å³.
    pub volume: Estimate,
    /// Formula units per cell (3 for R-3m LiMO2 on hexagonal axes, 2 for a rock salt written
    /// per O2 with a 4-anion cubic cell).
    pub z: f64,
}

impl CellVolume {
    fn check(self) -> Result<Self> {
        let v = self.volume.check("cell volume")?;
        if v.value <= 0.0 {
            return Err(Error::InvalidValue {
                name: "cell volume".into(),
                value: v.value,
                reason: "must be positive (Å³)",
            });
        }
        if !(self.z.is_finite() && self.z > 0.0) {
            return Err(Error::InvalidValue {
                name: "Z".into(),
                value: self.z,
                reason: "formula units per cell must be positive",
            });
        }
        Ok(self)
    }
}

/// The vacancy and densified models of one oxygen-deficient material (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct OxygenLossModels {
    pristine: Composition,
    li: Element,
    o: Element,
    /// TM elements with their pristine amounts.
    tms: Vec<(Element, f64)>,
    li0: f64,
    t0: f64,
    /// Anion sites per formula unit (the pristine O amount).
    n: f64,
    /// Σ t_k·M_k / T₀: mean molar mass of the TMs, g/mol.
    tm_mass: f64,
    m_li: f64,
    m_o: f64,
    delta: Estimate,
}

/// Pristine average TM oxidation state (2n − Li₀)/T₀.
fn oxidation(n_o: f64, li: f64, tm: f64) -> f64 {
    (2.0 * n_o - li) / tm
}

impl OxygenLossModels {
    /// The models of `pristine` (Li, other cations "TM", O) after the oxygen loss `loss`.
    ///
    /// Errors ([`Error::InvalidValue`] or [`Error::Model`], each naming the quantity): no Li, no
    /// TM or no O in the formula; an element that is not a cation of an oxide (F, N, S, …); an
    /// element without a standard atomic weight; δ < 0 or δ giving an impossible v; v above
    /// the pristine v₀ (oxygen gain) or below 2 (the densified structure would need more TMs
    /// than cation sites); a negative or non-finite esd.
    pub fn new(pristine: &Composition, loss: OxygenLoss) -> Result<Self> {
        let li = Element::from_symbol("Li")?;
        let o = Element::from_symbol("O")?;
        let li0 = pristine.amount(li);
        let n = pristine.amount(o);
        for &(e, _) in pristine.entries() {
            if NON_CATIONS.contains(&e.symbol()) {
                return Err(Error::Model(format!(
                    "pristine {pristine}: element {e} is not a cation of an oxide; the \
                     oxygen-loss models take Li, metal cations and O only"
                )));
            }
            standard_mass(e)?;
        }
        if li0 <= 0.0 {
            return Err(Error::Model(format!("pristine {pristine} contains no Li")));
        }
        if n <= 0.0 {
            return Err(Error::Model(format!("pristine {pristine} contains no O")));
        }
        let tms: Vec<(Element, f64)> = pristine
            .entries()
            .iter()
            .copied()
            .filter(|&(e, x)| e != li && e != o && x > 0.0)
            .collect();
        let t0: f64 = tms.iter().map(|(_, x)| x).sum();
        if t0 <= 0.0 {
            return Err(Error::Model(format!(
                "pristine {pristine} contains no transition metal (no cation other than Li)"
            )));
        }
        let mut tm_mass = 0.0;
        for &(e, x) in &tms {
            tm_mass += x * standard_mass(e)?;
        }
        tm_mass /= t0;
        let v0 = oxidation(n, li0, t0);
        if v0 < 2.0 {
            return Err(Error::Model(format!(
                "pristine {pristine}: average TM oxidation state {v0:.4} from charge balance \
                 (Li⁺, O²⁻) is below 2; the layered/rock-salt models need v₀ ≥ 2"
            )));
        }
        let delta = match loss {
            OxygenLoss::Delta(d) => {
                let d = d.check("δ (oxygen loss)")?;
                if d.value < 0.0 {
                    return Err(Error::InvalidValue {
                        name: "δ (oxygen loss)".into(),
                        value: d.value,
                        reason: "must be ≥ 0: O_n → O_(n−δ) is a loss",
                    });
                }
                let v = oxidation(n - d.value, li0, t0);
                if v < 2.0 {
                    return Err(Error::Model(format!(
                        "δ = {} is impossible for {pristine}: it gives an average TM \
                         oxidation state {v:.4} below 2 (δ ≤ {:.4}), where the densified \
                         structure would need more TMs than cation sites",
                        d.value,
                        n - (li0 + 2.0 * t0) / 2.0
                    )));
                }
                d
            }
            OxygenLoss::TmOxidation(v) => {
                let v = v.check("TM oxidation state")?;
                if v.value > v0 + 1e-12 || v.value < 2.0 {
                    return Err(Error::Model(format!(
                        "TM oxidation state {} is impossible for {pristine}: it must lie \
                         between 2 (densified structure all TM, no Li) and the pristine \
                         {v0:.4} (no oxygen loss; above it oxygen would have been gained)",
                        v.value
                    )));
                }
                // δ = n − (Li₀ + v·T₀)/2, σ_δ = T₀σ_v/2.
                Estimate::new((n - (li0 + v.value * t0) / 2.0).max(0.0), t0 * v.esd / 2.0)
            }
        };
        Ok(OxygenLossModels {
            pristine: pristine.clone(),
            li,
            o,
            tms,
            li0,
            t0,
            n,
            tm_mass,
            m_li: standard_mass(li)?,
            m_o: standard_mass(o)?,
            delta,
        })
    }

    /// The pristine composition.
    pub fn pristine(&self) -> &Composition {
        &self.pristine
    }

    /// Oxygen loss δ per formula unit with its esd.
    pub fn delta(&self) -> Estimate {
        self.delta
    }

    /// Average TM oxidation state of the pristine material, (2n − Li₀)/T₀.
    pub fn pristine_tm_oxidation(&self) -> f64 {
        oxidation(self.n, self.li0, self.t0)
    }

    /// Average TM oxidation state v of both models, (2(n − δ) − Li₀)/T₀, with its esd
    /// (σ_v = 2σ_δ/T₀).
    pub fn tm_oxidation(&self) -> Estimate {
        Estimate::new(
            oxidation(self.n - self.delta.value, self.li0, self.t0),
            2.0 * self.delta.esd / self.t0,
        )
    }

    /// Li:TM of the pristine material.
    pub fn pristine_li_tm(&self) -> f64 {
        self.li0 / self.t0
    }

    /// Amounts (Li, TM total, O) and molar mass at (δ, f), with derivatives w.r.t. whichever
    /// input is seeded.
    fn amounts(&self, delta: Dual, f: Dual) -> (Dual, Dual, Dual, Dual) {
        let n = Dual::c(self.n);
        let (li0, t0) = (Dual::c(self.li0), Dual::c(self.t0));
        let one = Dual::c(1.0);
        let v = (Dual::c(2.0) * (n - delta) - li0) / t0;
        let t_d = n / (v - one);
        let li_d = n - t_d;
        let li = li0 + f * (li_d - li0);
        let tm = t0 + f * (t_d - t0);
        let o = n - delta + f * delta;
        let mass = li * Dual::c(self.m_li) + tm * Dual::c(self.tm_mass) + o * Dual::c(self.m_o);
        (li, tm, o, mass)
    }

    /// The composition of the mixture with a fraction `f` (0 ≤ f ≤ 1) of densification: Li,
    /// the TMs in pristine proportions, O.
    pub fn composition(&self, f: f64) -> Result<Composition> {
        if !(0.0..=1.0).contains(&f) {
            return Err(Error::InvalidValue {
                name: "densified fraction f".into(),
                value: f,
                reason: "must lie in [0, 1]",
            });
        }
        let (li, tm, o, _) = self.amounts(Dual::c(self.delta.value), Dual::c(f));
        let scale = tm.v / self.t0;
        let mut entries = vec![(self.li, li.v)];
        entries.extend(self.tms.iter().map(|&(e, x)| (e, x * scale)));
        entries.push((self.o, o.v));
        Composition::new(entries)
    }

    /// The vacancy structure (f = 0): [Li₀ TM₀][O_(n−δ) □_δ].
    pub fn vacancy(&self) -> Result<Composition> {
        self.composition(0.0)
    }

    /// The densified structure (f = 1): [Li TM]_n [O_n] with the same v.
    pub fn densified(&self) -> Result<Composition> {
        self.composition(1.0)
    }

    /// The observables at (δ, f) with the derivative w.r.t. the seeded input.
    fn observables(&self, f: f64, seed_delta: bool, cell: &CellVolume) -> Observables {
        let delta = Dual::var(self.delta.value, seed_delta);
        let fd = Dual::var(f, !seed_delta);
        let (li, tm, _, mass) = self.amounts(delta, fd);
        let per_cm3 = Dual::c(cell.z / (AVOGADRO * cell.volume.value * ANGSTROM3_IN_CM3));
        let li_tm = li / tm;
        Observables {
            density: mass * per_cm3,
            li_tm,
            capacity: li * Dual::c(FARADAY / COULOMB_PER_MAH) / mass,
            retention: li_tm / Dual::c(self.li0 / self.t0),
            mass,
        }
    }

    /// Predictions of the model with a fraction `f` of densification (0 = vacancy, 1 =
    /// densified; values outside [0, 1] extrapolate linearly in the amounts) in `cell`, with
    /// esds from δ (or v) and V; `reference_capacity` (the measured initial capacity, mAh/g)
    /// gives [`Prediction::expected_capacity`].
    ///
    /// Errors: an invalid cell or reference capacity ([`Error::InvalidValue`]).
    pub fn predict(
        &self,
        f: f64,
        cell: &CellVolume,
        reference_capacity: Option<Estimate>,
    ) -> Result<Prediction> {
        let cell = cell.check()?;
        let q_ref = reference_capacity.map(|q| q.check("reference capacity")).transpose()?;
        let d = self.observables(f, true, &cell);
        let (sd, sv) = (self.delta.esd, cell.volume.esd);
        let esd = |x: Dual, dv: f64| (x.d * sd).hypot(dv * sv);
        let rho = d.density.v;
        let composition = if (0.0..=1.0).contains(&f) { Some(self.composition(f)?) } else { None };
        Ok(Prediction {
            fraction_densified: f,
            composition,
            molar_mass: d.mass.v,
            tm_oxidation: self.tm_oxidation(),
            li_tm: Estimate::new(d.li_tm.v, esd(d.li_tm, 0.0)),
            density: Estimate::new(rho, esd(d.density, -rho / cell.volume.value)),
            capacity: Estimate::new(d.capacity.v, esd(d.capacity, 0.0)),
            capacity_retention: Estimate::new(d.retention.v, esd(d.retention, 0.0)),
            expected_capacity: q_ref.map(|q| {
                let value = q.value * d.retention.v;
                let e = (q.value * d.retention.d * sd).hypot(d.retention.v * q.esd);
                Estimate::new(value, e)
            }),
        })
    }

    /// Predictions of the pristine material (δ = 0) in `cell`.
    pub fn predict_pristine(&self, cell: &CellVolume) -> Result<Prediction> {
        let mut p = self.clone();
        p.delta = Estimate::exact(0.0);
        p.predict(0.0, cell, None)
    }
}

/// The observables as dual numbers.
struct Observables {
    density: Dual,
    li_tm: Dual,
    capacity: Dual,
    retention: Dual,
    mass: Dual,
}

/// What one model predicts (see [`OxygenLossModels::predict`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Fraction f of densification (0 vacancy, 1 densified).
    pub fraction_densified: f64,
    /// The formula (for 0 ≤ f ≤ 1).
    pub composition: Option<Composition>,
    /// Molar mass per formula unit, g/mol.
    pub molar_mass: f64,
    /// Average TM oxidation state (the same for every f).
    pub tm_oxidation: Estimate,
    /// Li:TM molar ratio.
    pub li_tm: Estimate,
    /// X-ray density ρ = Z·M/(N_A·V), g/cm³.
    pub density: Estimate,
    /// Theoretical Li-extraction capacity x_Li·F/(3.6·M), mAh/g of the model compound.
    pub capacity: Estimate,
    /// Capacity retention (Li/TM)/(Li₀/TM₀) per gram of the material as made.
    pub capacity_retention: Estimate,
    /// Reference capacity × retention, mAh/g (when a reference was given).
    pub expected_capacity: Option<Estimate>,
}

/// X-ray density ρ = Z·M/(N_A·V) in g/cm³ (M in g/mol per formula unit, V in Å³;
/// International Tables Vol. C (2004) §4.4).
///
/// Errors: [`Error::InvalidValue`] for a non-positive or non-finite Z, M or V.
pub fn xray_density(z: f64, molar_mass: f64, volume: f64) -> Result<f64> {
    for (name, x) in [("Z", z), ("molar mass", molar_mass), ("cell volume", volume)] {
        if !(x.is_finite() && x > 0.0) {
            return Err(Error::InvalidValue {
                name: name.into(),
                value: x,
                reason: "must be positive",
            });
        }
    }
    Ok(z * molar_mass / (AVOGADRO * volume * ANGSTROM3_IN_CM3))
}

/// Theoretical Li-extraction capacity x_Li·F/(3.6·M) in mAh/g (Faraday's law; x_Li Li per
/// formula unit, M in g/mol).
pub fn li_extraction_capacity(li_per_formula: f64, molar_mass: f64) -> f64 {
    li_per_formula * FARADAY / (COULOMB_PER_MAH * molar_mass)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn dual_derivatives_match_finite_differences() {
        // ∂(Li:TM, density, capacity)/∂δ and ∂/∂f by dual numbers vs central differences.
        let p = Composition::parse("Li1.18Ni0.21Mn0.53Co0.08O2").unwrap();
        let cell = CellVolume { volume: Estimate::exact(100.0), z: 3.0 };
        let m = OxygenLossModels::new(&p, OxygenLoss::Delta(Estimate::exact(0.13))).unwrap();
        let h = 1e-6;
        for f in [0.0, 0.3, 1.0] {
            let a = m.observables(f, true, &cell);
            let mut lo = m.clone();
            lo.delta.value -= h;
            let mut hi = m.clone();
            hi.delta.value += h;
            let (ol, oh) = (lo.observables(f, true, &cell), hi.observables(f, true, &cell));
            let fd = |l: Dual, u: Dual| (u.v - l.v) / (2.0 * h);
            assert!((a.li_tm.d - fd(ol.li_tm, oh.li_tm)).abs() < 1e-6 * a.li_tm.d.abs().max(1.0));
            assert!((a.density.d - fd(ol.density, oh.density)).abs() < 1e-6);
            assert!((a.capacity.d - fd(ol.capacity, oh.capacity)).abs() < 1e-4);
            let b = m.observables(f, false, &cell);
            let (fl, fh) = (m.observables(f - h, false, &cell), m.observables(f + h, false, &cell));
            assert!((b.li_tm.d - fd(fl.li_tm, fh.li_tm)).abs() < 1e-6);
            assert!((b.density.d - fd(fl.density, fh.density)).abs() < 1e-6);
            assert!((b.retention.d - fd(fl.retention, fh.retention)).abs() < 1e-6);
        }
    }
}
