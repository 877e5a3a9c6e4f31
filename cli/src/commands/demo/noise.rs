//! Reproducible counting noise for the demo: a small seeded generator and Poisson variates,
//! so that the same `--seed` gives the same data on every machine and build (no dependency on
//! a random-number crate whose streams may change between versions).

/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA
/// 2014): a 64-bit state advanced by the golden-ratio increment and mixed by two
/// multiply–xorshift rounds. Period 2⁶⁴; passes BigCrush. Enough for simulated counting noise.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator for `seed` and a stream number `stream` (e.g. the scan number), so that each
    /// scan's noise does not depend on how many scans came before it.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut g = SplitMix64 { state: seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03) };
        // Decorrelate nearby seeds.
        g.next_u64();
        g.next_u64();
        g
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform variate in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal variate (Box–Muller transform; Box & Muller (1958) Ann. Math. Stat.
    /// 29, 610).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// A Poisson variate of mean `mu` (≥ 0; a non-finite or negative mean gives 0).
    ///
    /// Below μ = 10, Knuth's multiplication method (TAOCP Vol. 2, 3rd ed., §3.4.1 F); from 10
    /// up, the transformed rejection with squeeze "PTRS" of W. Hörmann, "The transformed
    /// rejection method for generating Poisson random variables", Insurance: Mathematics and
    /// Economics 12, 39 (1993), exact for every μ.
    pub fn poisson(&mut self, mu: f64) -> u64 {
        if !(mu.is_finite() && mu > 0.0) {
            return 0;
        }
        if mu < 10.0 {
            let limit = (-mu).exp();
            let mut k = 0;
            let mut p = self.uniform();
            while p > limit {
                k += 1;
                p *= self.uniform();
            }
            return k;
        }
        let smu = mu.sqrt();
        let b = 0.931 + 2.53 * smu;
        let a = -0.059 + 0.02483 * b;
        let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
        let v_r = 0.9277 - 3.6224 / (b - 2.0);
        let ln_mu = mu.ln();
        loop {
            let u = self.uniform() - 0.5;
            let v = self.uniform();
            let us = 0.5 - u.abs();
            let k = ((2.0 * a / us + b) * u + mu + 0.43).floor();
            if us >= 0.07 && v <= v_r {
                return k as u64;
            }
            if k < 0.0 || (us < 0.013 && v > us) {
                continue;
            }
            let lhs = v.ln() + inv_alpha.ln() - (a / (us * us) + b).ln();
            if lhs <= -mu + k * ln_mu - ln_factorial(k) {
                return k as u64;
            }
        }
    }
}

/// ln(k!) for a non-negative integer k: exact products below 20, else Stirling's series to
/// the k⁻⁵ term (Abramowitz & Stegun 6.1.41), relative error below 1e-15 there.
fn ln_factorial(k: f64) -> f64 {
    if k < 20.0 {
        let mut p = 1.0_f64;
        let mut i = 2.0;
        while i <= k {
            p *= i;
            i += 1.0;
        }
        return p.ln();
    }
    let n = k + 1.0; // ln Γ(n)
    let inv = 1.0 / n;
    let inv2 = inv * inv;
    (n - 0.5) * n.ln() - n
        + 0.5 * (2.0 * std::f64::consts::PI).ln()
        + inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 / 1260.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_factorial_matches_exact_products_across_the_switch() {
        // 20! = 2432902008176640000, 25! = 15511210043330985984000000 (exact integers).
        assert!((ln_factorial(20.0) - 2_432_902_008_176_640_000_f64.ln()).abs() < 1e-12);
        assert!((ln_factorial(25.0) - 15_511_210_043_330_985_984_000_000_f64.ln()).abs() < 1e-12);
        assert_eq!(ln_factorial(0.0), 0.0);
        assert!((ln_factorial(5.0) - 120f64.ln()).abs() < 1e-14);
    }

    #[test]
    fn poisson_mean_and_variance_equal_mu() {
        // For a Poisson law, mean = variance = μ; with n samples the sample mean has sd
        // √(μ/n) and the sample variance sd ≈ μ√(2/n) (plus μ/n): test within 5 sd.
        for (mu, n) in [
            (0.7_f64, 200_000),
            (4.0, 200_000),
            (10.0, 200_000),
            (37.5, 200_000),
            (2500.0, 100_000),
        ] {
            let mut g = SplitMix64::new(7, mu.to_bits());
            let xs: Vec<f64> = (0..n).map(|_| g.poisson(mu) as f64).collect();
            let nf = n as f64;
            let mean = xs.iter().sum::<f64>() / nf;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (nf - 1.0);
            assert!((mean - mu).abs() < 5.0 * (mu / nf).sqrt(), "μ = {mu}: mean {mean}");
            let sd_var = (mu * mu * 2.0 / nf + mu / nf).sqrt();
            assert!((var - mu).abs() < 5.0 * sd_var, "μ = {mu}: variance {var}");
        }
        // P(0) = e^{−μ} at small μ.
        let mut g = SplitMix64::new(3, 0);
        let zeros = (0..100_000).filter(|_| g.poisson(0.5) == 0).count() as f64 / 1e5;
        assert!((zeros - (-0.5f64).exp()).abs() < 5.0 * (0.61 * 0.39 / 1e5f64).sqrt());
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut g = SplitMix64::new(1, 2);
                move |_| g.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut g = SplitMix64::new(1, 2);
                move |_| g.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut g = SplitMix64::new(1, 3);
                move |_| g.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Uniform variates: mean 1/2, variance 1/12.
        let mut g = SplitMix64::new(9, 9);
        let u: Vec<f64> = (0..100_000).map(|_| g.uniform()).collect();
        let m = u.iter().sum::<f64>() / 1e5;
        assert!((m - 0.5).abs() < 5.0 * (1.0 / 12.0 / 1e5f64).sqrt());
        assert!(u.iter().all(|x| (0.0..1.0).contains(x)));
    }
}
