//! Fuzz target `profile`: see `whyline_fuzz_harness::profile`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = whyline_fuzz_harness::profile(data);
});
