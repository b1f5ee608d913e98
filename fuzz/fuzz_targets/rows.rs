//! Fuzz target `rows`: see `whyline_fuzz_harness::rows`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = whyline_fuzz_harness::rows(data);
});
