//! Concept-drift detectors over a stream of errors or values.
