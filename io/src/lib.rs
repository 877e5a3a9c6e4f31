//! `bragg-io`: readers and writers of diffraction, structure and model files.
