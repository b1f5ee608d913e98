//! Fuzz target `ledger`: see `whyline_fuzz_harness::ledger`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = whyline_fuzz_harness::ledger(data);
});
