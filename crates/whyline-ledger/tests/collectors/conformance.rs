//! The shared conformance suite, run once per collector configuration.

use whyline_core::LinearPath;
use whyline_ledger::collector::conformance::{self, Expectations, Retention};
use whyline_ledger::collector::{
    Backpressure, DynamicRingCollector, RingCollector, StreamCollector, StreamCollectorBuilder,
    StreamFormat,
};

use crate::support::{SharedBuffer, linear_trace};

#[test]
fn ring_with_room_for_everything_conforms() {
    let expect = Expectations {
        retention: Retention::Last(4096),
        lossless: true,
    };
    conformance::check_all(RingCollector::<LinearPath, 4096>::new, linear_trace, expect).unwrap();
}

#[test]
fn small_ring_conforms() {
    let expect = Expectations {
        retention: Retention::Last(8),
        lossless: true,
    };
    conformance::check_all(RingCollector::<LinearPath, 8>::new, linear_trace, expect).unwrap();
}

#[test]
fn prewarmed_ring_conforms() {
    let expect = Expectations {
        retention: Retention::Last(16),
        lossless: true,
    };
    let template = linear_trace(0);
    conformance::check_all(
        || RingCollector::<LinearPath, 16>::with_template(&template),
        linear_trace,
        expect,
    )
    .unwrap();
}

#[test]
fn ring_sized_at_run_time_conforms() {
    let expect = Expectations {
        retention: Retention::Last(8),
        lossless: true,
    };
    conformance::check_all(
        || DynamicRingCollector::<LinearPath>::with_capacity(8).unwrap(),
        linear_trace,
        expect,
    )
    .unwrap();
}

fn stream(format: StreamFormat, policy: Backpressure) -> StreamCollector<LinearPath> {
    let mut builder = StreamCollectorBuilder::new(format);
    builder.capacity(16);
    match policy {
        Backpressure::Fallback => builder.fallback(SharedBuffer::default()),
        Backpressure::Drop | Backpressure::Block => builder.backpressure(policy),
    };
    builder.build(SharedBuffer::default()).unwrap()
}

#[test]
fn blocking_aprt_stream_conforms() {
    conformance::check_all(
        || stream(StreamFormat::Aprt, Backpressure::Block),
        linear_trace,
        Expectations::LOSSLESS,
    )
    .unwrap();
}

#[test]
fn blocking_json_stream_conforms() {
    conformance::check_all(
        || stream(StreamFormat::JsonLines, Backpressure::Block),
        linear_trace,
        Expectations::LOSSLESS,
    )
    .unwrap();
}

#[test]
fn dropping_stream_conforms() {
    let expect = Expectations {
        retention: Retention::All,
        lossless: false,
    };
    conformance::check_all(
        || stream(StreamFormat::Aprt, Backpressure::Drop),
        linear_trace,
        expect,
    )
    .unwrap();
}

#[test]
fn fallback_stream_conforms() {
    conformance::check_all(
        || stream(StreamFormat::JsonLines, Backpressure::Fallback),
        linear_trace,
        Expectations::LOSSLESS,
    )
    .unwrap();
}
