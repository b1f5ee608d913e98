//! XGBoost JSON models (`import/xgboost.rs`, `import/xgboost_tree.rs`): the version, the
//! learner's parameters, the booster, the tree groups and each tree's arrays.

use serde_json::json;
use whyline_core::Explainable;
use whyline_models::ModelError;

use super::{Case, Expect, load_edited, pop, refused, remove, run, set};

const REG: &str = "xgb_reg_squarederror_diabetes.xgb.json";
const MULTI: &str = "xgb_multi_softprob_iris.xgb.json";
const BINARY: &str = "xgb_binary_logistic_breast_cancer_missing.xgb.json";
const CATEGORICAL: &str = "xgb_binary_categorical.xgb.json";

const MODEL: &str = "/learner/gradient_booster/model";

#[test]
fn learner_parameters_xgboost_never_writes_are_refused_naming_the_field() {
    run(&[
        Case {
            what: "a multi-target model",
            file: REG,
            edit: |doc| set(doc, "/learner/learner_model_param/num_target", json!("2")),
            expect: Expect::Unsupported(
                "learner.learner_model_param.num_target",
                "\"2\"",
                "1 target",
            ),
        },
        Case {
            what: "softprob over one class",
            file: MULTI,
            edit: |doc| set(doc, "/learner/learner_model_param/num_class", json!("1")),
            expect: Expect::OutOfRange(
                "learner.learner_model_param.num_class",
                "1",
                "at least 2 classes for multi:softprob",
            ),
        },
        Case {
            what: "a linear booster",
            file: REG,
            edit: |doc| set(doc, "/learner/gradient_booster/name", json!("gblinear")),
            expect: Expect::Unsupported("learner.gradient_booster.name", "gblinear", "gbtree"),
        },
        Case {
            what: "categories re-coded from a DataFrame",
            file: CATEGORICAL,
            edit: |doc| {
                set(
                    doc,
                    "/learner/gradient_booster/model/cats/enc",
                    json!([{"name": "colour"}]),
                );
            },
            expect: Expect::Unsupported(
                "learner.gradient_booster.model.cats.enc",
                "1 re-coded features",
                "numeric category codes",
            ),
        },
        Case {
            what: "a base score that is not a number",
            file: REG,
            edit: |doc| {
                set(
                    doc,
                    "/learner/learner_model_param/base_score",
                    json!("mean"),
                )
            },
            expect: Expect::Malformed(
                "learner.learner_model_param.base_score",
                "\"mean\" is not a number or list of numbers",
            ),
        },
        Case {
            what: "two base scores for one output",
            file: REG,
            edit: |doc| {
                set(
                    doc,
                    "/learner/learner_model_param/base_score",
                    json!("[1.5E2,1.5E2]"),
                );
            },
            expect: Expect::Malformed(
                "learner.learner_model_param.base_score",
                "2 values for 1 groups",
            ),
        },
        Case {
            what: "a logistic base score that is not a probability",
            file: BINARY,
            edit: |doc| {
                set(
                    doc,
                    "/learner/learner_model_param/base_score",
                    json!("[1.5]"),
                )
            },
            expect: Expect::OutOfRange(
                "learner.learner_model_param.base_score",
                "1.5",
                "a probability in (0, 1)",
            ),
        },
        Case {
            what: "a tree group missing",
            file: MULTI,
            edit: |doc| pop(doc, "/learner/gradient_booster/model/tree_info"),
            expect: Expect::Malformed("learner.gradient_booster.model.tree_info", "expected"),
        },
        Case {
            what: "a tree adding to a fourth class of three",
            file: MULTI,
            edit: |doc| set(doc, "/learner/gradient_booster/model/tree_info/4", json!(3)),
            expect: Expect::OutOfRange(
                "learner.gradient_booster.model.tree_info[4]",
                "3",
                "a group below 3",
            ),
        },
    ]);
}

#[test]
fn the_version_array_is_required_and_versions_before_1_are_refused() {
    let error = refused(REG, |doc| remove(doc, "/version"));
    super::check(
        &error,
        REG,
        &Expect::Malformed("version", "missing XGBoost version array"),
    );
    let error = refused(REG, |doc| set(doc, "/version", json!([0, 90, 0])));
    assert!(
        matches!(&error, ModelError::UnsupportedVersion { found, supported, .. } if found == "0.90.0" && supported.contains("1.x")),
        "{error:?}"
    );
}

#[test]
fn feature_names_are_kept_only_when_they_name_every_feature() {
    let names: Vec<String> = (0..10).map(|j| format!("f{j}")).collect();
    let model = load_edited(REG, |doc| set(doc, "/learner/feature_names", json!(names))).unwrap();
    assert_eq!(model.info().names.features, names);
    let model = load_edited(REG, |doc| {
        set(doc, "/learner/feature_names", json!(["age", "sex"]))
    })
    .unwrap();
    assert!(model.info().names.features.is_empty());
    // A base score per group, as XGBoost 3.1 writes it for softprob, is read group by group.
    let model = load_edited(MULTI, |_| {}).unwrap();
    assert_eq!(
        model.identity().unwrap().model_type,
        "xgboost:multi:softprob"
    );
}

#[test]
fn a_tree_with_a_broken_array_is_refused_naming_the_entry() {
    run(&[
        Case {
            what: "no nodes",
            file: REG,
            edit: |doc| {
                set(
                    doc,
                    "/learner/gradient_booster/model/trees/0/tree_param/num_nodes",
                    json!("0"),
                );
            },
            expect: Expect::OutOfRange(
                "learner.gradient_booster.model.trees[0].tree_param.num_nodes",
                "0",
                "at least one node",
            ),
        },
        Case {
            what: "vector leaves (a multi-target tree)",
            file: REG,
            edit: |doc| {
                set(
                    doc,
                    "/learner/gradient_booster/model/trees/0/tree_param/size_leaf_vector",
                    json!("3"),
                );
            },
            expect: Expect::Unsupported(
                "learner.gradient_booster.model.trees[0].tree_param.size_leaf_vector",
                "3",
                "scalar leaves",
            ),
        },
        Case {
            what: "a split type XGBoost does not define",
            file: REG,
            edit: |doc| {
                set(
                    doc,
                    "/learner/gradient_booster/model/trees/0/split_type/0",
                    json!(2),
                )
            },
            expect: Expect::Unsupported(
                "learner.gradient_booster.model.trees[0].split_type[0]",
                "2",
                "0 (numerical) or 1 (categorical)",
            ),
        },
        Case {
            what: "a categorical split whose categories are not listed",
            file: REG,
            edit: |doc| {
                set(
                    doc,
                    "/learner/gradient_booster/model/trees/0/split_type/0",
                    json!(1),
                )
            },
            expect: Expect::Malformed(
                "learner.gradient_booster.model.trees[0].split_type[0]",
                "categorical split without an entry in categories_nodes",
            ),
        },
        Case {
            what: "a default direction missing",
            file: REG,
            edit: |doc| pop(doc, "/learner/gradient_booster/model/trees/0/default_left"),
            expect: Expect::Malformed(
                "learner.gradient_booster.model.trees[0].default_left",
                "entries, expected",
            ),
        },
    ]);
}

/// An edit of a document that captures where it edits.
type Edit<'a> = Box<dyn Fn(&mut serde_json::Value) + 'a>;

/// The first tree of the categorical fixture with a categorical split.
fn categorical_tree(doc: &serde_json::Value) -> usize {
    doc.pointer(&format!("{MODEL}/trees"))
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .position(|t| !t["categories_nodes"].as_array().unwrap().is_empty())
        .unwrap()
}

#[test]
fn categorical_sets_that_do_not_fit_the_tree_are_refused() {
    let doc = super::document(CATEGORICAL);
    let t = categorical_tree(&doc);
    let tree = format!("{MODEL}/trees/{t}");
    let field = format!("learner.gradient_booster.model.trees[{t}]");
    let n_nodes = doc
        .pointer(&format!("{tree}/left_children"))
        .unwrap()
        .as_array()
        .unwrap()
        .len();
    let cases: Vec<(&str, Edit, String, String)> = vec![
        (
            "a categorical node past the tree",
            Box::new(|doc| {
                super::set(doc, &format!("{tree}/categories_nodes/0"), json!(n_nodes));
            }),
            format!("{field}.categories_nodes[0]"),
            format!("node {n_nodes} is not below the tree's {n_nodes} nodes"),
        ),
        (
            "a segment past the categories",
            Box::new(|doc| {
                super::set(doc, &format!("{tree}/categories_segments/0"), json!(1000));
            }),
            format!("{field}.categories_segments[0]"),
            "outside the".to_owned(),
        ),
        (
            "a negative category",
            Box::new(|doc| super::set(doc, &format!("{tree}/categories/0"), json!(-1))),
            format!("{field}.categories[0]"),
            "negative category".to_owned(),
        ),
        (
            "one size more than categorical nodes",
            Box::new(|doc| super::push(doc, &format!("{tree}/categories_sizes"), json!(1))),
            format!("{field}.categories_sizes"),
            "entries, expected".to_owned(),
        ),
    ];
    for (what, edit, want_field, words) in cases {
        let error = refused(CATEGORICAL, |doc| edit(doc));
        match &error {
            ModelError::Malformed { field, detail, .. } => {
                assert_eq!(field, &want_field, "{what}: {error}");
                assert!(detail.contains(&words), "{what}: {error}");
            }
            other => panic!("{what}: expected Malformed, got {other:?}"),
        }
    }
}
