//! Integration tests of `whyline-ledger`, one binary (see style guide): each module checks one
//! topic against outside oracles or by attacking the stored bytes.

mod merkle_vectors;
