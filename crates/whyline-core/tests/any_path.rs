//! `AnyPath`, the path of a log that mixes models: it answers for the path it holds, reads
//! its JSON by the `type` field wherever that field is, and refuses an object without one.

use whyline_core::{
    AnyPath, ClusterPath, DecisionPath, ForestPath, KnnPath, LinearPath, Names, NeuralPath,
    PathType, TreePath,
};

fn linear() -> LinearPath {
    LinearPath {
        contributions: vec![0.5, -1.0],
        intercept: 0.25,
        logit: -0.25,
        prediction: -0.25,
        probability: None,
    }
}

fn cluster() -> ClusterPath {
    ClusterPath {
        squared_distances: vec![1.0, 4.0],
        cluster: 0,
        runner_up: 1,
        margin: 3.0,
        contributions: vec![1.5],
    }
}

#[test]
fn an_any_path_answers_as_the_path_it_holds() {
    let paths = [
        AnyPath::Linear(linear()),
        AnyPath::Tree(TreePath::default()),
        AnyPath::Forest(ForestPath::default()),
        AnyPath::Knn(KnnPath::default()),
        AnyPath::Neural(NeuralPath::default()),
        AnyPath::Cluster(cluster()),
    ];
    let types: Vec<PathType> = paths.iter().map(DecisionPath::path_type).collect();
    assert_eq!(types, PathType::ALL);
    let any = AnyPath::Cluster(cluster());
    assert_eq!(any.explain_with(&Names::none()), cluster().explain());
    assert_eq!(any.explain(), cluster().explain());
    assert_eq!(any.confidence(), cluster().confidence());
    assert_eq!(any.feature_contributions(), &[1.5]);
    assert_eq!(any.to_bytes(), cluster().to_bytes());
    let back = AnyPath::from_bytes(PathType::Cluster, &any.to_bytes()).unwrap();
    assert_eq!(back, any);
    assert_eq!(AnyPath::default(), AnyPath::Linear(LinearPath::default()));
}

#[test]
fn path_types_have_a_byte_and_a_json_name() {
    for (byte, path_type) in PathType::ALL.iter().enumerate() {
        assert_eq!(usize::from(path_type.to_byte()), byte);
        assert_eq!(PathType::from_byte(path_type.to_byte()), Some(*path_type));
        assert_eq!(path_type.to_string(), path_type.json_name());
    }
    assert_eq!(PathType::from_byte(6), None);
    assert_eq!(PathType::Knn.to_string(), "KnnPath");
}

#[test]
fn the_json_of_any_path_is_read_by_its_type_wherever_the_field_is() {
    let mut buffer = Vec::new();
    linear().encode_json_path(&mut buffer).unwrap();
    let first: AnyPath = serde_json::from_slice(&buffer).unwrap();
    assert_eq!(first, AnyPath::Linear(linear()));
    // The same object with `type` last goes through the slow path and reads the same.
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&buffer).unwrap();
    let type_value = object.remove("type").unwrap();
    object.insert("type".to_owned(), type_value);
    let text = serde_json::to_string(&object).unwrap();
    assert!(!text.starts_with("{\"type\""), "{text}");
    let last: AnyPath = serde_json::from_str(&text).unwrap();
    assert_eq!(last, AnyPath::Linear(linear()));
}

#[test]
fn json_without_a_usable_type_is_refused_with_the_reason() {
    let error = serde_json::from_str::<AnyPath>("{}").unwrap_err();
    assert!(
        error.to_string().contains("missing field `type`"),
        "{error}"
    );
    let error = serde_json::from_str::<AnyPath>(r#"{"intercept": 1.0}"#).unwrap_err();
    assert!(
        error.to_string().contains("missing field `type`"),
        "{error}"
    );
    let error = serde_json::from_str::<AnyPath>(r#"{"intercept": 1.0, "type": 3}"#).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("expected a path type name such as \"LinearPath\""),
        "{error}"
    );
    let error = serde_json::from_str::<AnyPath>(r#"{"type": 3}"#).unwrap_err();
    assert!(error.to_string().contains("a path type name"), "{error}");
    let error = serde_json::from_str::<AnyPath>(r#"{"type": "SvmPath"}"#).unwrap_err();
    assert!(error.to_string().contains("SvmPath"), "{error}");
    let error = serde_json::from_str::<AnyPath>(r#"{"x": 1, "type": "SvmPath"}"#).unwrap_err();
    assert!(error.to_string().contains("SvmPath"), "{error}");
    let error = serde_json::from_str::<AnyPath>("[1]").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("a decision path object with a `type` field"),
        "{error}"
    );
}

#[test]
fn a_path_from_a_map_whose_keys_are_not_names_says_what_it_expected() {
    // JSON keys are always strings; a format whose map keys can be numbers (here serde's own
    // map deserializer) gets told what a path object's keys must be.
    use serde::Deserialize;
    use serde::de::value::{Error, MapDeserializer};
    let keys = MapDeserializer::<_, Error>::new(vec![(1u32, "LinearPath")].into_iter());
    let error = AnyPath::deserialize(keys).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid type: integer `1`, expected a field name"
    );
}
