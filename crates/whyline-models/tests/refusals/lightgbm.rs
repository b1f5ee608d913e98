//! LightGBM text models (`import/lightgbm.rs`, `import/lightgbm_tree.rs`): the header's
//! version, mode and objective, and each tree block's fields.

use whyline_models::{Model, ModelError};

use super::{Expect, check};
use crate::fixtures;

const REG: &str = "lgb_regression_diabetes.lgb.txt";
const BINARY: &str = "lgb_binary_breast_cancer.lgb.txt";
/// Tree 0 has categorical splits at nodes 1 and 3 (`decision_type=2 1 2 1 …`).
const CATEGORICAL: &str = "lgb_binary_categorical.lgb.txt";

fn text(file: &str) -> String {
    std::fs::read_to_string(fixtures::dir().join(file)).unwrap()
}

/// The error loading `file` with its first `from` replaced by `to`.
fn refused(file: &str, from: &str, to: &str) -> ModelError {
    let original = text(file);
    assert!(original.contains(from), "{file} has no {from:?}");
    Model::from_bytes(original.as_bytes(), file).unwrap();
    match Model::from_bytes(original.replacen(from, to, 1).as_bytes(), file) {
        Ok(_) => panic!("{file} with {to:?} loaded"),
        Err(error) => error,
    }
}

#[test]
fn a_header_this_reader_cannot_honour_is_refused_naming_the_line() {
    let cases: [(&str, &str, &str, Expect); 4] = [
        (
            REG,
            "num_tree_per_iteration=1",
            "num_tree_per_iteration=2",
            Expect::Malformed("num_tree_per_iteration", "2, expected 1 for regression"),
        ),
        (
            REG,
            "objective=regression",
            "objective=regression\naverage_output",
            Expect::Unsupported("average_output", "present", "random-forest mode"),
        ),
        (
            BINARY,
            "objective=binary sigmoid:1",
            "objective=binary sigmoid:one",
            Expect::Malformed("objective", "sigmoid:one is not a number"),
        ),
        (
            REG,
            "max_feature_idx=9",
            "max_feature_idx=nine",
            Expect::Malformed("max_feature_idx", "expected an unsigned integer"),
        ),
    ];
    for (file, from, to, expect) in cases {
        check(&refused(file, from, to), file, &expect);
    }
    let error = refused(REG, "version=v4", "version=v2");
    assert!(
        matches!(&error, ModelError::UnsupportedVersion { found, supported, .. } if found == "v2" && supported.contains("v4")),
        "{error:?}"
    );
}

#[test]
fn a_model_without_trees_is_refused() {
    let original = text(REG);
    let header = &original[..original.find("Tree=0").unwrap()];
    let empty = format!("{header}end of trees\n");
    let error = Model::from_bytes(empty.as_bytes(), REG).unwrap_err();
    check(
        &error,
        REG,
        &Expect::Malformed("Tree=0", "the model has no trees"),
    );
}

#[test]
fn a_tree_block_this_reader_cannot_honour_is_refused_naming_the_entry() {
    let cases: [(&str, &str, &str, Expect); 4] = [
        (
            REG,
            "is_linear=0",
            "is_linear=1",
            Expect::Unsupported("Tree=0.is_linear", "1", "constant leaves"),
        ),
        (
            REG,
            "split_feature=8 2 2 2 2 3 6",
            "split_feature=12 2 2 2 2 3 6",
            Expect::OutOfRange(
                "Tree=0.split_feature[0]",
                "12",
                "a feature index below the model's 10",
            ),
        ),
        (
            CATEGORICAL,
            "decision_type=2 1",
            "decision_type=14 1",
            Expect::Malformed("Tree=0.decision_type[0]", "missing type 3"),
        ),
        (
            CATEGORICAL,
            "threshold=-0.30795642733573908 0",
            "threshold=-0.30795642733573908 5",
            Expect::Malformed(
                "Tree=0.threshold[1]",
                "categorical split 5 has no cat_boundaries range",
            ),
        ),
    ];
    for (file, from, to, expect) in cases {
        check(&refused(file, from, to), file, &expect);
    }
}

#[test]
fn text_that_is_not_lightgbms_is_told_apart_from_a_broken_lightgbm_file() {
    // Text whose first line is not `tree`: no format of this crate.
    let error = refused(REG, "tree\nversion", "trees\nversion");
    assert!(
        matches!(&error, ModelError::UnknownFormat { detail, .. } if detail.contains("the LightGBM line `tree`")),
        "{error:?}"
    );
    // A LightGBM file with a byte that is not UTF-8 names the byte.
    let mut bytes = text(REG).into_bytes();
    let at = bytes.len() / 2;
    bytes[at] = 0xff;
    let error = Model::from_bytes(&bytes, REG).unwrap_err();
    assert!(
        matches!(&error, ModelError::Malformed { field, detail, .. } if *field == format!("byte {at}") && detail == "LightGBM text is not UTF-8"),
        "{error:?}"
    );
}
