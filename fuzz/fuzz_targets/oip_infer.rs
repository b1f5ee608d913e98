//! Fuzz target `oip_infer`: see `whyline_fuzz_harness::oip_infer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = whyline_fuzz_harness::oip_infer(data);
});
