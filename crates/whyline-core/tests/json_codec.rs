//! The JSON view: lossless round trips (NaN and infinities included), the seed spec's shape,
//! forward compatibility.

use proptest::prelude::*;
use whyline_core::{
    AnyPath, CoreError, DecisionPath, DecisionTrace, LinearPath, from_json, to_aprt, to_json,
};

use crate::strategies;

fn assert_json_round_trip<P: DecisionPath>(trace: &DecisionTrace<P>) {
    let text = to_json(trace).unwrap();
    let back: DecisionTrace<P> = from_json(&text).unwrap();
    assert_eq!(
        to_aprt(&back),
        to_aprt(trace),
        "concrete JSON round trip: {text}"
    );
    assert_eq!(back.latency_ns, trace.latency_ns);
    let any: DecisionTrace<AnyPath> = from_json(&text).unwrap();
    assert_eq!(
        to_aprt(&any),
        to_aprt(trace),
        "AnyPath JSON round trip: {text}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn linear_json_round_trips(trace in strategies::trace(strategies::linear_path())) {
        assert_json_round_trip(&trace);
    }

    #[test]
    fn tree_json_round_trips(trace in strategies::trace(strategies::tree_path())) {
        assert_json_round_trip(&trace);
    }

    #[test]
    fn forest_json_round_trips(trace in strategies::trace(strategies::forest_path())) {
        assert_json_round_trip(&trace);
    }

    #[test]
    fn knn_json_round_trips(trace in strategies::trace(strategies::knn_path())) {
        assert_json_round_trip(&trace);
    }

    #[test]
    fn cluster_json_round_trips(trace in strategies::trace(strategies::cluster_path())) {
        assert_json_round_trip(&trace);
    }

    #[test]
    fn neural_json_round_trips(trace in strategies::trace(strategies::neural_path())) {
        assert_json_round_trip(&trace);
    }

    /// JSON keeps nanoseconds that APRT rounds to microseconds.
    #[test]
    fn json_keeps_latency_to_the_nanosecond(latency_ns in any::<u64>()) {
        let trace = DecisionTrace { timestamp_ns: 0, sequence: 0, input_hash: 0, output: 0.0, latency_ns, path: LinearPath::default() };
        let back: DecisionTrace<LinearPath> = from_json(&to_json(&trace).unwrap()).unwrap();
        prop_assert_eq!(back.latency_ns, latency_ns);
    }
}

#[test]
fn the_document_has_the_seed_spec_shape() {
    let trace = DecisionTrace {
        timestamp_ns: 1_710_512_347_123_456_789,
        sequence: 42,
        input_hash: 0xdead_beef_1234_5678,
        output: 0.87,
        latency_ns: 234_567,
        path: LinearPath {
            contributions: vec![0.42, 0.28, -0.15],
            intercept: 0.32,
            logit: 0.87,
            prediction: 0.87,
            probability: None,
        },
    };
    let value: serde_json::Value = serde_json::from_str(&to_json(&trace).unwrap()).unwrap();
    assert_eq!(value["version"], "1.0");
    let t = &value["trace"];
    assert_eq!(t["timestamp_ns"], 1_710_512_347_123_456_789u64);
    assert_eq!(t["sequence"], 42);
    assert_eq!(t["input_hash"], "0xdeadbeef12345678");
    assert_eq!(t["latency_ns"], 234_567);
    assert_eq!(t["path"]["type"], "LinearPath");
    assert_eq!(
        t["path"]["contributions"][2].as_f64().map(|v| v as f32),
        Some(-0.15f32)
    );
    assert_eq!(
        t["path"]["contributions"][2].to_string(),
        "-0.15",
        "shortest f32 text"
    );
    assert_eq!(t["output"].as_f64().map(|v| v as f32), Some(0.87f32));
}

#[test]
fn non_finite_values_are_named_strings() {
    let trace = DecisionTrace {
        timestamp_ns: 0,
        sequence: 0,
        input_hash: 0,
        output: f32::NAN,
        latency_ns: 0,
        path: LinearPath {
            contributions: vec![
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::from_bits(0x7fc0_0001),
            ],
            ..LinearPath::default()
        },
    };
    let text = to_json(&trace).unwrap();
    assert!(text.contains(r#""output":"NaN""#), "{text}");
    assert!(
        text.contains(r#"["Infinity","-Infinity","NaN:0x7fc00001"]"#),
        "{text}"
    );
    let back: DecisionTrace<LinearPath> = from_json(&text).unwrap();
    assert_eq!(back.path.contributions[2].to_bits(), 0x7fc0_0001);
}

#[test]
fn unknown_fields_are_ignored_at_every_level() {
    let text = r#"{"version":"1.0","writer":"future","trace":{"timestamp_ns":5,"sequence":1,
        "input_hash":"0x00000000000000ff","output":1.0,"latency_ns":3,"region":"eu",
        "path":{"type":"LinearPath","contributions":[1.0],"intercept":0.0,"logit":1.0,
        "prediction":1.0,"probability":null,"top_features":[{"index":0,"contribution":1.0}]}}}"#;
    let trace: DecisionTrace<AnyPath> = from_json(text).unwrap();
    assert_eq!(trace.input_hash, 0xff);
    assert_eq!(trace.path.feature_contributions(), &[1.0]);
}

#[test]
fn the_seed_spec_name_gini_path_is_accepted() {
    let text = r#"{"version":"1.0","trace":{"timestamp_ns":0,"sequence":0,"input_hash":"0x0",
        "output":1.0,"latency_ns":0,"path":{"type":"TreePath","splits":[],
        "leaf":{"node_index":3,"prediction":1.0,"n_samples":10},"gini_path":[0.5,0.0]}}}"#;
    let trace: DecisionTrace<AnyPath> = from_json(text).unwrap();
    match trace.path {
        AnyPath::Tree(tree) => assert_eq!(tree.impurity_path, vec![0.5, 0.0]),
        other => panic!("expected a TreePath, got {other:?}"),
    }
}

#[test]
fn an_unknown_version_is_rejected() {
    let text = to_json(&DecisionTrace {
        timestamp_ns: 0,
        sequence: 0,
        input_hash: 0,
        output: 0.0,
        latency_ns: 0,
        path: LinearPath::default(),
    })
    .unwrap()
    .replace(r#""version":"1.0""#, r#""version":"2.0""#);
    let result = from_json::<LinearPath>(&text);
    assert!(
        matches!(&result, Err(CoreError::UnknownJsonVersion { found }) if found == "2.0"),
        "{result:?}"
    );
}

#[test]
fn an_unknown_path_type_names_the_choices() {
    let text = r#"{"version":"1.0","trace":{"timestamp_ns":0,"sequence":0,"input_hash":"0x0",
        "output":1.0,"latency_ns":0,"path":{"type":"SvmPath"}}}"#;
    let error = from_json::<AnyPath>(text).unwrap_err();
    assert!(
        matches!(error, CoreError::Json { line: 2, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("SvmPath"), "{error}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The reader takes a path whose `type` comes first without buffering it, and any other
    /// key order through a slower route: both must read the same path.
    #[test]
    fn a_path_reads_the_same_whatever_the_place_of_its_type(
        trace in strategies::trace(strategies::any_path())
    ) {
        let text = to_json(&trace).unwrap();
        // serde_json's map keeps keys sorted, which puts `type` after the path's other keys.
        let sorted = serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&text).unwrap())
            .unwrap();
        let path_at = sorted.find("\"path\":{").unwrap();
        prop_assert!(!sorted[path_at..].starts_with("\"path\":{\"type\""), "{}", sorted);
        let back: DecisionTrace<AnyPath> = from_json(&sorted).unwrap();
        prop_assert_eq!(to_aprt(&back), to_aprt(&trace));
    }
}

#[test]
fn a_path_without_a_type_or_with_an_unknown_late_type_is_refused() {
    let head = r#"{"version":"1.0","trace":{"timestamp_ns":0,"sequence":0,"input_hash":"0x0","output":1.0,"latency_ns":0,"path":"#;
    for (path, expected) in [
        ("{}", "missing field `type`"),
        (r#"{"intercept":0.5}"#, "missing field `type`"),
        (
            r#"{"intercept":0.5,"type":"SvmPath"}"#,
            "unknown variant `SvmPath`",
        ),
        (r#"{"intercept":0.5,"type":7}"#, "expected a path type name"),
    ] {
        let error = from_json::<AnyPath>(&format!("{head}{path}}}}}")).unwrap_err();
        assert!(error.to_string().contains(expected), "{path}: {error}");
    }
}

fn document(input_hash: &str) -> String {
    format!(
        r#"{{"version":"1.0","trace":{{"timestamp_ns":1,"sequence":2,"input_hash":"{input_hash}","output":0.5,"latency_ns":3,"path":{{"type":"LinearPath","contributions":[0.5],"intercept":0,"logit":0.5,"prediction":0.5}}}}}}"#
    )
}

#[test]
fn the_input_hash_reads_with_or_without_its_prefix_and_refuses_what_is_not_hex() {
    for text in ["0xff", "0XFF", "ff"] {
        let trace: DecisionTrace<LinearPath> = from_json(&document(text)).unwrap();
        assert_eq!(trace.input_hash, 255, "{text}");
    }
    let error = from_json::<LinearPath>(&document("0xnothex")).unwrap_err();
    assert!(
        matches!(&error, CoreError::Json { line: 1, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(
            "invalid value: string \"0xnothex\", expected a hex string like \"0xdeadbeef12345678\""
        ),
        "{error}"
    );
}

#[test]
fn json_bytes_that_are_not_utf8_are_refused_at_their_place() {
    let good = document("0x01");
    let trace: DecisionTrace<LinearPath> = whyline_core::from_json_slice(good.as_bytes()).unwrap();
    assert_eq!(trace.input_hash, 1);
    let mut bad = good.into_bytes();
    let at = bad.windows(5).position(|w| w == b"0x01\"").unwrap() + 2;
    bad[at] = 0xff;
    let error = whyline_core::from_json_slice::<LinearPath>(&bad).unwrap_err();
    assert!(
        matches!(&error, CoreError::Json { line: 1, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("invalid unicode"), "{error}");
}

#[test]
fn a_float_that_is_neither_a_number_nor_a_named_string_says_what_was_expected() {
    for (bad, shown) in [(r#""Nope""#, "string \"Nope\""), ("true", "boolean `true`")] {
        let text = document("0x01").replace(r#""output":0.5"#, &format!(r#""output":{bad}"#));
        let error = from_json::<LinearPath>(&text).unwrap_err();
        assert!(
            error.to_string().contains(&format!(
                r#"invalid {}: {shown}, expected a number, "NaN", "Infinity", "-Infinity" or "NaN:0x........""#,
                if bad == "true" { "type" } else { "value" }
            )),
            "{bad}: {error}"
        );
    }
}

/// A path type of the caller's own (a model this crate does not know), which keeps the
/// trait's default JSON view: its serde derive.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct CallersPath {
    inner: LinearPath,
    rule: String,
}

impl DecisionPath for CallersPath {
    fn path_type(&self) -> whyline_core::PathType {
        self.inner.path_type()
    }

    fn explain_with(&self, names: &whyline_core::Names) -> String {
        format!("{} by {}", self.inner.explain_with(names), self.rule)
    }

    fn feature_contributions(&self) -> &[f32] {
        self.inner.feature_contributions()
    }

    fn confidence(&self) -> f32 {
        self.inner.confidence()
    }

    fn encode_path(&self, out: &mut Vec<u8>) {
        self.inner.encode_path(out);
    }

    fn decode_path(
        path_type: whyline_core::PathType,
        bytes: &[u8],
        base_offset: u64,
    ) -> whyline_core::Result<Self> {
        Ok(CallersPath {
            inner: LinearPath::decode_path(path_type, bytes, base_offset)?,
            rule: String::new(),
        })
    }
}

#[test]
fn a_callers_path_type_is_written_through_its_serde_derive_and_reads_back() {
    let linear: DecisionTrace<LinearPath> = from_json(&document("0x01")).unwrap();
    let trace = DecisionTrace {
        timestamp_ns: linear.timestamp_ns,
        sequence: linear.sequence,
        input_hash: linear.input_hash,
        output: linear.output,
        latency_ns: linear.latency_ns,
        path: CallersPath {
            inner: linear.path.clone(),
            rule: "rule 7".into(),
        },
    };
    let text = to_json(&trace).unwrap();
    let inner = serde_json::to_string(&linear.path).unwrap();
    assert!(
        text.contains(&format!(r#""path":{{"inner":{inner},"rule":"rule 7"}}"#)),
        "{text}"
    );
    let back: DecisionTrace<CallersPath> = from_json(&text).unwrap();
    assert_eq!(back.path, trace.path);
    assert_eq!(back.sequence, trace.sequence);
}
