//! Kaizen (改善): continuous improvement from recorded decisions.
mod kolmogorov;
mod ks;
mod psi;

pub use ks::{KS_EXACT_MAX_N, KsMethod, KsTest, ks_2samp};
pub use psi::{PSI_BINS, PSI_FLOOR, psi};
