//! `bragg-refine`: parameters, constraints, the Levenberg–Marquardt driver and series analysis.
