//! The 8-point Gauss–Legendre rule on [−1, 1], used panel by panel for the FCJ quadrature.
//!
//! Source: Abramowitz & Stegun (1964), Handbook of Mathematical Functions, Table 25.4
//! (abscissae ±xᵢ and weights wᵢ for n = 8). Exact for polynomials of degree ≤ 15
//! (checked in the tests below).

/// Number of nodes per panel.
pub(crate) const ORDER: usize = 8;

/// Abscissae on [−1, 1] (A&S Table 25.4, n = 8).
pub(crate) const NODES: [f64; ORDER] = [
    -0.9602898564975362,
    -0.7966664774136267,
    -0.525532409916329,
    -0.1834346424956498,
    0.1834346424956498,
    0.525532409916329,
    0.7966664774136267,
    0.9602898564975362,
];

/// Weights (sum 2).
pub(crate) const WEIGHTS: [f64; ORDER] = [
    0.1012285362903763,
    0.2223810344533745,
    0.3137066458778873,
    0.362683783378362,
    0.362683783378362,
    0.3137066458778873,
    0.2223810344533745,
    0.1012285362903763,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_for_degree_up_to_15() {
        // ∫_{−1}^{1} x^k dx = 2/(k+1) for even k, 0 for odd k.
        for k in 0..=15 {
            let q: f64 = NODES.iter().zip(&WEIGHTS).map(|(x, w)| w * x.powi(k)).sum();
            let exact = if k % 2 == 0 { 2.0 / (k as f64 + 1.0) } else { 0.0 };
            assert!((q - exact).abs() < 2e-15, "degree {k}: {q} vs {exact}");
        }
        // Degree 16 is not exact (a rule of order 8 cannot be): the test can fail.
        let q: f64 = NODES.iter().zip(&WEIGHTS).map(|(x, w)| w * x.powi(16)).sum();
        assert!((q - 2.0 / 17.0).abs() > 1e-6);
    }
}
