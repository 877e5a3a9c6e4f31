//! Gauss–Legendre rules on [−1, 1] (orders 2, 3, 4, 6 and 8), used panel by panel for the FCJ
//! quadrature.
//!
//! Source: Abramowitz & Stegun (1964), Handbook of Mathematical Functions, Table 25.4
//! (abscissae ±xᵢ and weights wᵢ for n = 2, 3, 4, 6, 8). The n-point rule is exact for
//! polynomials of degree ≤ 2n − 1 (checked in the tests below).

/// Number of nodes per panel of the highest-order rule.
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

/// n = 6 (A&S Table 25.4).
const NODES_6: [f64; 6] = [
    -0.932469514203152,
    -0.6612093864662645,
    -0.2386191860831969,
    0.2386191860831969,
    0.6612093864662645,
    0.932469514203152,
];
const WEIGHTS_6: [f64; 6] = [
    0.1713244923791704,
    0.3607615730481386,
    0.467913934572691,
    0.467913934572691,
    0.3607615730481386,
    0.1713244923791704,
];

/// n = 4 (A&S Table 25.4).
const NODES_4: [f64; 4] =
    [-0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526];
const WEIGHTS_4: [f64; 4] =
    [0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538];

/// n = 3: ±√(3/5) with weight 5/9, 0 with weight 8/9.
const NODES_3: [f64; 3] = [-0.7745966692414834, 0.0, 0.7745966692414834];
const WEIGHTS_3: [f64; 3] = [5.0 / 9.0, 8.0 / 9.0, 5.0 / 9.0];

/// n = 2: ±1/√3 with weight 1.
const NODES_2: [f64; 2] = [-0.5773502691896257, 0.5773502691896257];
const WEIGHTS_2: [f64; 2] = [1.0, 1.0];

/// The (abscissae, weights) of the `order`-point rule for order ∈ {2, 3, 4, 6, 8}; any other
/// order gets the next higher available rule (8 above 6).
pub(crate) fn rule(order: usize) -> (&'static [f64], &'static [f64]) {
    match order {
        0..=2 => (&NODES_2, &WEIGHTS_2),
        3 => (&NODES_3, &WEIGHTS_3),
        4 => (&NODES_4, &WEIGHTS_4),
        5 | 6 => (&NODES_6, &WEIGHTS_6),
        _ => (&NODES, &WEIGHTS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_for_degree_up_to_2n_minus_1() {
        for n in [2usize, 3, 4, 6, 8] {
            let (x, w) = rule(n);
            assert_eq!(x.len(), n);
            // ∫_{−1}^{1} x^k dx = 2/(k+1) for even k, 0 for odd k.
            for k in 0..2 * n as i32 {
                let q: f64 = x.iter().zip(w).map(|(x, w)| w * x.powi(k)).sum();
                let exact = if k % 2 == 0 { 2.0 / (k as f64 + 1.0) } else { 0.0 };
                assert!((q - exact).abs() < 2e-15, "n {n} degree {k}: {q} vs {exact}");
            }
            // Degree 2n is not exact (an n-point rule cannot be): the test can fail.
            let k = 2 * n as i32;
            let q: f64 = x.iter().zip(w).map(|(x, w)| w * x.powi(k)).sum();
            assert!((q - 2.0 / (k as f64 + 1.0)).abs() > 1e-6, "n {n}");
        }
    }
}
