//! Fuzz target `proof`: see `whyline_fuzz_harness::proof`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = whyline_fuzz_harness::proof(data);
});
