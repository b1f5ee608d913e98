//! The whyline JSON envelope and each family's `model` body (`import/whyline_json.rs`).

use serde_json::json;
use whyline_models::ModelError;

use super::{Case, Expect, at, load_edited, pop, refused, remove, run, set};

const TREE: &str = "sk_tree_clf_iris.whyline.json";
const LOGREG: &str = "sk_logreg_iris.whyline.json";
const LINREG: &str = "sk_linreg_diabetes.whyline.json";
const KNN: &str = "sk_knn_clf_iris.whyline.json";
const MLP_CLF: &str = "sk_mlp_clf_breast_cancer.whyline.json";
const MLP_REG: &str = "sk_mlp_reg_regression.whyline.json";
const GB_CLF: &str = "sk_gb_clf_iris.whyline.json";
const GB_REG: &str = "sk_gb_reg_diabetes.whyline.json";

#[test]
fn a_broken_envelope_is_refused_naming_the_field() {
    run(&[
        Case {
            what: "an unknown model type lists the supported ones",
            file: TREE,
            edit: |doc| set(doc, "/model_type", json!("svm_rbf")),
            expect: Expect::Unsupported("model_type", "svm_rbf", "decision_tree"),
        },
        Case {
            what: "a task other than classification or regression",
            file: TREE,
            edit: |doc| set(doc, "/task", json!("clustering")),
            expect: Expect::Unsupported("task", "clustering", "classification or regression"),
        },
        Case {
            what: "a classifier of one class",
            file: TREE,
            edit: |doc| {
                set(doc, "/class_names", json!(["setosa"]));
                set(doc, "/class_values", json!([0.0]));
            },
            expect: Expect::OutOfRange("class_names", "1 classes", "at least two classes"),
        },
        Case {
            what: "n_features that is not a count",
            file: TREE,
            edit: |doc| set(doc, "/n_features", json!(-4)),
            expect: Expect::Malformed("n_features", "expected an unsigned integer, found -4"),
        },
        Case {
            what: "a missing model body",
            file: TREE,
            edit: |doc| remove(doc, "/model"),
            expect: Expect::Malformed("model", "missing field"),
        },
        Case {
            what: "a model type that is not a string",
            file: TREE,
            edit: |doc| set(doc, "/model_type", json!(3)),
            expect: Expect::Malformed("model_type", "expected a string"),
        },
    ]);
}

#[test]
fn names_and_statistics_of_the_wrong_shape_are_refused_naming_the_entry() {
    run(&[
        Case {
            what: "a feature name that is a number",
            file: TREE,
            edit: |doc| set(doc, "/feature_names/1", json!(7)),
            expect: Expect::Malformed("feature_names[1]", "expected a string"),
        },
        Case {
            what: "feature names as one string",
            file: TREE,
            edit: |doc| set(doc, "/feature_names", json!("sepal length, sepal width")),
            expect: Expect::Malformed("feature_names", "expected an array of strings or null"),
        },
        Case {
            what: "one feature name short",
            file: TREE,
            edit: |doc| pop(doc, "/feature_names"),
            expect: Expect::Malformed("feature_names", "3 entries, expected 4"),
        },
        Case {
            what: "class values that do not match the class names",
            file: TREE,
            edit: |doc| pop(doc, "/class_values"),
            expect: Expect::Malformed("class_values", "2 entries, expected 3"),
        },
        Case {
            what: "feature means one short",
            file: TREE,
            edit: |doc| pop(doc, "/feature_stats/mean"),
            expect: Expect::Malformed("feature_stats.mean", "3 entries, expected 4"),
        },
        Case {
            what: "feature statistics without their sample count",
            file: TREE,
            edit: |doc| remove(doc, "/feature_stats/n_samples"),
            expect: Expect::Malformed("feature_stats.n_samples", "missing field"),
        },
        Case {
            what: "a feature maximum that is text",
            file: TREE,
            edit: |doc| set(doc, "/feature_stats/max/2", json!("6.9")),
            expect: Expect::Malformed("feature_stats.max[2]", "expected a number"),
        },
    ]);
}

#[test]
fn the_producer_is_the_library_and_its_version_or_unknown() {
    let model = load_edited(TREE, |_| {}).unwrap();
    assert_eq!(model.producer(), "scikit-learn 1.9.1");
    let model = load_edited(TREE, |doc| remove(doc, "/producer/library_version")).unwrap();
    assert_eq!(model.producer(), "scikit-learn");
    let model = load_edited(TREE, |doc| remove(doc, "/producer")).unwrap();
    assert_eq!(model.producer(), "unknown");
    // Names and statistics are optional: null is none.
    let model = load_edited(TREE, |doc| {
        set(doc, "/feature_names", json!(null));
        set(doc, "/class_values", json!(null));
        set(doc, "/feature_stats", json!(null));
    })
    .unwrap();
    assert!(model.info().names.features.is_empty());
    assert!(model.info().class_values.is_empty());
    assert!(model.info().feature_stats.is_none());
}

#[test]
fn a_linear_model_whose_link_or_sizes_disagree_is_refused() {
    run(&[
        Case {
            what: "an unknown link",
            file: LOGREG,
            edit: |doc| set(doc, "/model/link", json!("probit")),
            expect: Expect::Unsupported("model.link", "probit", "ovr_logistic"),
        },
        Case {
            what: "a margin link on a regressor",
            file: LINREG,
            edit: |doc| set(doc, "/model/link", json!("margin")),
            expect: Expect::Malformed("model.link", "needs a classifier's classes"),
        },
        Case {
            what: "one output for a three-class softmax",
            file: LOGREG,
            edit: |doc| set(doc, "/model/n_outputs", json!(1)),
            expect: Expect::Malformed("model.n_outputs", "1, expected 3 for this link"),
        },
        Case {
            what: "a coefficient missing",
            file: LOGREG,
            edit: |doc| pop(doc, "/model/coef"),
            expect: Expect::Malformed("model.coef", "11 entries, expected 12"),
        },
        Case {
            what: "an intercept missing",
            file: LOGREG,
            edit: |doc| pop(doc, "/model/intercept"),
            expect: Expect::Malformed("model.intercept", "2 entries, expected 3"),
        },
        Case {
            what: "n_outputs so large the coefficient count overflows",
            file: LINREG,
            edit: |doc| {
                set(doc, "/model/link", json!("softmax"));
                set(doc, "/class_names", json!(["a", "b"]));
                set(doc, "/task", json!("classification"));
                set(doc, "/model/n_outputs", json!(2));
                set(doc, "/n_features", json!(usize::MAX));
                set(doc, "/feature_names", json!(null));
                set(doc, "/feature_stats", json!(null));
            },
            expect: Expect::Malformed("model.coef", "entries overflow"),
        },
    ]);
}

#[test]
fn a_neighbour_model_with_a_wrong_metric_weighting_or_training_set_is_refused() {
    run(&[
        Case {
            what: "a weighting scikit-learn has but whyline does not",
            file: KNN,
            edit: |doc| set(doc, "/model/weights", json!("gaussian")),
            expect: Expect::Unsupported("model.weights", "gaussian", "uniform or distance"),
        },
        Case {
            what: "a metric other than euclidean",
            file: KNN,
            edit: |doc| set(doc, "/model/metric", json!("manhattan")),
            expect: Expect::Unsupported("model.metric", "manhattan", "euclidean"),
        },
        Case {
            what: "no neighbours",
            file: KNN,
            edit: |doc| set(doc, "/model/n_neighbors", json!(0)),
            expect: Expect::OutOfRange("model.n_neighbors", "0", "1 to the 120 training samples"),
        },
        Case {
            what: "a training row cut short",
            file: KNN,
            edit: |doc| pop(doc, "/model/fit_X"),
            expect: Expect::Malformed("model.fit_X", "479 entries, expected 480"),
        },
        Case {
            what: "a training label missing",
            file: KNN,
            edit: |doc| pop(doc, "/model/fit_y"),
            expect: Expect::Malformed("model.fit_y", "119 entries, expected 120"),
        },
        Case {
            what: "a training label that is not a class index",
            file: KNN,
            edit: |doc| set(doc, "/model/fit_y/5", json!(1.5)),
            expect: Expect::Malformed("model.fit_y[5]", "not a class index below 3"),
        },
    ]);
}

#[test]
fn a_network_whose_layers_or_activations_do_not_fit_is_refused() {
    run(&[
        Case {
            what: "softmax in a hidden layer",
            file: MLP_CLF,
            edit: |doc| set(doc, "/model/activation", json!("softmax")),
            expect: Expect::Unsupported("model.activation", "softmax", "for hidden layers"),
        },
        Case {
            what: "an unknown output activation",
            file: MLP_CLF,
            edit: |doc| set(doc, "/model/out_activation", json!("sigmoid")),
            expect: Expect::Unsupported("model.out_activation", "sigmoid", "logistic"),
        },
        Case {
            what: "a first layer that reads one feature less",
            file: MLP_CLF,
            edit: |doc| set(doc, "/model/layers/0/n_inputs", json!(29)),
            expect: Expect::Malformed("model.layers[0].n_inputs", "29, expected 30"),
        },
        Case {
            what: "a weight missing",
            file: MLP_CLF,
            edit: |doc| pop(doc, "/model/layers/1/weights"),
            expect: Expect::Malformed("model.layers[1].weights", "entries, expected"),
        },
        Case {
            what: "a bias missing",
            file: MLP_CLF,
            edit: |doc| pop(doc, "/model/layers/1/bias"),
            expect: Expect::Malformed("model.layers[1].bias", "0 entries, expected 1"),
        },
        Case {
            what: "no layers",
            file: MLP_CLF,
            edit: |doc| set(doc, "/model/layers", json!([])),
            expect: Expect::Malformed("model.layers", "at least one layer"),
        },
        Case {
            what: "an identity output on a classifier",
            file: MLP_CLF,
            edit: |doc| set(doc, "/model/out_activation", json!("identity")),
            expect: Expect::Malformed("model.out_activation", "does not fit the task"),
        },
        Case {
            what: "a softmax output of one unit for two classes",
            file: MLP_CLF,
            edit: |doc| set(doc, "/model/out_activation", json!("softmax")),
            expect: Expect::Malformed("model.layers", "the last layer has 1 outputs, expected 2"),
        },
        Case {
            what: "a logistic output on a regressor",
            file: MLP_REG,
            edit: |doc| set(doc, "/model/out_activation", json!("logistic")),
            expect: Expect::Malformed("model.out_activation", "does not fit the task"),
        },
    ]);
}

#[test]
fn a_boosting_head_that_does_not_fit_the_task_is_refused() {
    run(&[
        Case {
            what: "a learning rate written as text",
            file: GB_REG,
            edit: |doc| set(doc, "/model/learning_rate", json!("0.1")),
            expect: Expect::Malformed("model.learning_rate", "expected a number"),
        },
        Case {
            what: "an unknown link",
            file: GB_REG,
            edit: |doc| set(doc, "/model/link", json!("exp")),
            expect: Expect::Unsupported("model.link", "exp", "identity, logistic or softmax"),
        },
        Case {
            what: "an initial raw score missing",
            file: GB_CLF,
            edit: |doc| pop(doc, "/model/init_raw"),
            expect: Expect::Malformed("model.init_raw", "2 entries, expected 3"),
        },
        Case {
            what: "an identity link on a classifier",
            file: GB_CLF,
            edit: |doc| set(doc, "/model/link", json!("identity")),
            expect: Expect::Malformed("model.link", "link does not fit the task"),
        },
        Case {
            what: "two trees per iteration for three classes",
            file: GB_CLF,
            edit: |doc| {
                set(doc, "/model/n_trees_per_iteration", json!(2));
                pop(doc, "/model/init_raw");
            },
            expect: Expect::Malformed("model.n_trees_per_iteration", "2, expected 3"),
        },
        Case {
            what: "a tree of two values in a boosting model",
            file: GB_REG,
            edit: |doc| {
                let tree = at(doc, "/model/trees/0");
                let n = tree["n_nodes"].as_u64().unwrap() as usize;
                tree["n_values"] = json!(2);
                tree["value"] = json!(vec![0.5; 2 * n]);
            },
            expect: Expect::Malformed("model.trees[0].n_values", "2, expected 1"),
        },
    ]);
}

#[test]
fn a_preprocessing_stage_needs_format_version_2() {
    let file = "pipelines/pipe_scaler_logreg.whyline.json";
    let error = refused(file, |doc| set(doc, "/format_version", json!(1)));
    super::check(
        &error,
        file,
        &Expect::Malformed("preprocessing", "needs format_version 2"),
    );
    // Version 2 without a stage is an estimator alone.
    let model = load_edited(file, |doc| set(doc, "/preprocessing", json!(null))).unwrap();
    assert!(model.preprocessing().is_none());
    let error = refused(TREE, |doc| set(doc, "/format_version", json!(3)));
    assert!(
        matches!(&error, ModelError::UnsupportedVersion { found, supported, .. } if found == "3" && supported.contains("1 and 2")),
        "{error:?}"
    );
}
