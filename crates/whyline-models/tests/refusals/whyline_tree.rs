//! scikit-learn trees in the whyline JSON format (`import/whyline_tree.rs`): the node
//! arrays, thresholds, missing-value directions and histogram boosting's categories.

use serde_json::json;

use super::{Case, Expect, load_edited, pop, run, set};

const TREE: &str = "sk_tree_clf_iris.whyline.json";
const FOREST: &str = "sk_rf_clf_wine.whyline.json";
/// Histogram boosting with native categorical splits: feature 0 (4 categories) and
/// feature 1 (3) are categorical; tree 0's node 2 sends category 3 of feature 0 left.
const HGB: &str = "pipelines/hgb_native_categories_multiclass.whyline.json";

#[test]
fn a_tree_with_a_broken_node_array_is_refused_naming_the_entry() {
    run(&[
        Case {
            what: "no nodes",
            file: TREE,
            edit: |doc| set(doc, "/model/tree/n_nodes", json!(0)),
            expect: Expect::OutOfRange("model.tree.n_nodes", "0", "at least one node"),
        },
        Case {
            what: "a threshold written as a word",
            file: TREE,
            edit: |doc| set(doc, "/model/tree/threshold/0", json!("big")),
            expect: Expect::Malformed("model.tree.threshold[0]", "expected a number, \"inf\""),
        },
        Case {
            what: "a threshold missing",
            file: TREE,
            edit: |doc| pop(doc, "/model/tree/threshold"),
            expect: Expect::Malformed("model.tree.threshold", "8 entries, expected 9"),
        },
        Case {
            what: "a missing-value direction missing",
            file: TREE,
            edit: |doc| pop(doc, "/model/tree/missing_go_to_left"),
            expect: Expect::Malformed("model.tree.missing_go_to_left", "8 entries, expected 9"),
        },
        Case {
            what: "a missing-value direction written as 0/1",
            file: TREE,
            edit: |doc| set(doc, "/model/tree/missing_go_to_left/3", json!(1)),
            expect: Expect::Malformed("model.tree.missing_go_to_left[3]", "expected a boolean"),
        },
        Case {
            what: "a node value missing",
            file: TREE,
            edit: |doc| pop(doc, "/model/tree/value"),
            expect: Expect::Malformed("model.tree.value", "26 entries, expected 27"),
        },
        Case {
            what: "nodes of no values",
            file: TREE,
            edit: |doc| {
                set(doc, "/model/tree/n_values", json!(0));
                set(doc, "/model/tree/value", json!([]));
            },
            expect: Expect::OutOfRange("model.tree.n_values", "0", "at least 1"),
        },
        Case {
            what: "a negative sample count",
            file: TREE,
            edit: |doc| set(doc, "/model/tree/n_node_samples/2", json!(-5)),
            expect: Expect::Malformed("model.tree.n_node_samples[2]", "negative count"),
        },
        Case {
            what: "a right child pointing back at its parent",
            file: TREE,
            edit: |doc| set(doc, "/model/tree/children_right/0", json!(0)),
            expect: Expect::OutOfRange(
                "model.tree.children_right[0]",
                "0",
                "a node after 0 and below 9",
            ),
        },
        Case {
            what: "a split on the leaf marker feature -2",
            file: TREE,
            edit: |doc| set(doc, "/model/tree/feature/0", json!(-2)),
            expect: Expect::OutOfRange(
                "model.tree.feature[0]",
                "-2",
                "a feature index below the model's 4",
            ),
        },
        Case {
            what: "an impurity missing",
            file: TREE,
            edit: |doc| pop(doc, "/model/tree/impurity"),
            expect: Expect::Malformed("model.tree.impurity", "8 entries, expected 9"),
        },
        Case {
            what: "a child index written as a float",
            file: TREE,
            edit: |doc| set(doc, "/model/tree/children_left/0", json!(1.0)),
            expect: Expect::Malformed("model.tree.children_left[0]", "expected an integer"),
        },
        Case {
            what: "a classifier tree of one value per node",
            file: TREE,
            edit: |doc| {
                set(doc, "/model/tree/n_values", json!(1));
                set(doc, "/model/tree/value", json!(vec![0.5; 9]));
            },
            expect: Expect::Malformed("model.tree.n_values", "1, expected 3"),
        },
    ]);
}

#[test]
fn a_forest_without_trees_or_with_a_wrong_tree_is_refused() {
    run(&[
        Case {
            what: "no trees",
            file: FOREST,
            edit: |doc| set(doc, "/model/trees", json!([])),
            expect: Expect::Malformed("model.trees", "at least one tree"),
        },
        Case {
            what: "trees as an object",
            file: FOREST,
            edit: |doc| set(doc, "/model/trees", json!({"0": {}})),
            expect: Expect::Malformed("model.trees", "expected an array"),
        },
        Case {
            what: "a tree of the wrong value count",
            file: FOREST,
            edit: |doc| {
                let tree = super::at(doc, "/model/trees/4");
                let n = tree["n_nodes"].as_u64().unwrap() as usize;
                tree["n_values"] = json!(2);
                tree["value"] = json!(vec![0.5; 2 * n]);
            },
            expect: Expect::Malformed("model.trees[4].n_values", "2, expected 3"),
        },
    ]);
}

#[test]
fn histogram_boosting_categories_that_do_not_fit_are_refused() {
    run(&[
        Case {
            what: "a categories list missing for a node",
            file: HGB,
            edit: |doc| pop(doc, "/model/trees/0/categories_left"),
            expect: Expect::Malformed("model.trees[0].categories_left", "entries, expected"),
        },
        Case {
            what: "a categorical split on a feature without known categories",
            file: HGB,
            edit: |doc| set(doc, "/model/known_categories/0", json!(null)),
            expect: Expect::Malformed(
                "model.trees[0].categories_left[2]",
                "a categorical split on feature 0, which has no known_categories",
            ),
        },
        Case {
            what: "known categories for one feature less",
            file: HGB,
            edit: |doc| pop(doc, "/model/known_categories"),
            expect: Expect::Malformed("model.known_categories", "4 entries, expected 5"),
        },
        Case {
            what: "known categories as a string",
            file: HGB,
            edit: |doc| set(doc, "/model/known_categories/1", json!("basic,plus,pro")),
            expect: Expect::Malformed(
                "model.known_categories[1]",
                "expected an array of categories or null",
            ),
        },
        Case {
            what: "a category past scikit-learn's 255",
            file: HGB,
            edit: |doc| set(doc, "/model/trees/0/categories_left/2", json!([300])),
            expect: Expect::Malformed(
                "model.trees[0].categories_left[2][0]",
                "expected a category from 0 to 255",
            ),
        },
        Case {
            what: "a known category that is negative",
            file: HGB,
            edit: |doc| set(doc, "/model/known_categories/0/1", json!(-1)),
            expect: Expect::Malformed(
                "model.known_categories[0][1]",
                "expected a category from 0 to 255",
            ),
        },
    ]);
}

#[test]
fn infinite_thresholds_are_written_as_words_and_route_every_value_one_way() {
    // scikit-learn's JSON cannot hold infinity; the exporter writes "inf" and "-inf".
    let all_left = load_edited(TREE, |doc| {
        set(doc, "/model/tree/threshold/0", json!("inf"));
    })
    .unwrap();
    let all_right = load_edited(TREE, |doc| {
        set(doc, "/model/tree/threshold/0", json!("-inf"));
    })
    .unwrap();
    for row in [
        [5.1, 3.5, 1.4, 0.2],
        [6.7, 3.0, 5.2, 2.3],
        [1e30, 0.0, 1e30, 0.0],
    ] {
        // The root's left child (node 1) is a leaf; its right child is node 2.
        assert_eq!(all_left.apply(&row).unwrap(), Some(vec![1]), "{row:?}");
        assert_ne!(all_right.apply(&row).unwrap(), Some(vec![1]), "{row:?}");
    }
}
