//! Refusals of malformed model files: each case takes a committed fixture, breaks one field
//! the way a hand edit or a wrong exporter would, and checks the error's kind, the field it
//! names and that its message says what to fix.
//!
//! Every case first reloads the fixture re-serialised without the edit, so the error is the
//! edit's and not the round trip's.

mod aprender;
mod lightgbm;
mod preprocessing;
mod whyline_json;
mod whyline_tree;
mod xgboost;

use serde_json::{Value, json};
use whyline_models::{Model, ModelError};

use crate::fixtures;

/// A fixture (under `tests/fixtures`) as a JSON document.
pub(crate) fn document(file: &str) -> Value {
    let text = std::fs::read_to_string(fixtures::dir().join(file)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Loads `doc` as the file `file` would be loaded.
pub(crate) fn load(doc: &Value, file: &str) -> Result<Model, ModelError> {
    Model::from_bytes(&serde_json::to_vec(doc).unwrap(), file)
}

/// The fixture `file` with `edit` applied, loaded: the model, or the error.
pub(crate) fn load_edited(file: &str, edit: impl FnOnce(&mut Value)) -> Result<Model, ModelError> {
    let mut doc = document(file);
    load(&doc, file).unwrap_or_else(|e| panic!("{file} unedited does not load: {e}"));
    edit(&mut doc);
    load(&doc, file)
}

/// The error loading the fixture `file` with `edit` applied.
pub(crate) fn refused(file: &str, edit: impl FnOnce(&mut Value)) -> ModelError {
    match load_edited(file, edit) {
        Ok(_) => panic!("{file}: the edited file loaded"),
        Err(error) => error,
    }
}

/// The value at the JSON pointer `pointer` (`/model/tree/threshold/1`).
pub(crate) fn at<'a>(doc: &'a mut Value, pointer: &str) -> &'a mut Value {
    doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in the fixture"))
}

/// Sets the value at `pointer`.
pub(crate) fn set(doc: &mut Value, pointer: &str, value: Value) {
    *at(doc, pointer) = value;
}

/// Removes the object member at `pointer`.
pub(crate) fn remove(doc: &mut Value, pointer: &str) {
    let (parent, name) = pointer.rsplit_once('/').unwrap();
    let removed = at(doc, parent).as_object_mut().unwrap().remove(name);
    assert!(removed.is_some(), "no {pointer} in the fixture");
}

/// Appends `value` to the array at `pointer`.
pub(crate) fn push(doc: &mut Value, pointer: &str, value: Value) {
    at(doc, pointer).as_array_mut().unwrap().push(value);
}

/// Drops the last entry of the array at `pointer`.
pub(crate) fn pop(doc: &mut Value, pointer: &str) {
    at(doc, pointer).as_array_mut().unwrap().pop().unwrap();
}

/// What a refusal must say.
#[derive(Debug)]
pub(crate) enum Expect {
    /// [`ModelError::Malformed`] naming `field`, its detail containing the text.
    Malformed(&'static str, &'static str),
    /// [`ModelError::OutOfRange`] naming `field` and the value found, its expectation
    /// containing the text.
    OutOfRange(&'static str, &'static str, &'static str),
    /// [`ModelError::Unsupported`] naming `field` and the value found, listing the text
    /// among what is supported.
    Unsupported(&'static str, &'static str, &'static str),
}

/// Checks `error` against `expect`, and that its message starts with the file and names
/// the field (in backticks) and the fix.
#[track_caller]
pub(crate) fn check(error: &ModelError, file: &str, expect: &Expect) {
    let message = error.to_string();
    assert!(message.starts_with(file), "{message}: does not name {file}");
    let (field, want, said, words) = match (expect, error) {
        (Expect::Malformed(want, words), ModelError::Malformed { field, detail, .. }) => {
            (field, want, detail.clone(), words)
        }
        (
            Expect::OutOfRange(want, found, words),
            ModelError::OutOfRange {
                field,
                found: got,
                expected,
                ..
            },
        ) => {
            assert_eq!(got, found, "{message}");
            (field, want, expected.clone(), words)
        }
        (
            Expect::Unsupported(want, value, words),
            ModelError::Unsupported {
                field,
                value: got,
                supported,
                ..
            },
        ) => {
            assert_eq!(got, value, "{message}");
            (field, want, (*supported).to_owned(), words)
        }
        _ => panic!("expected {expect:?}, got {error:?}"),
    };
    assert_eq!(field, want, "{message}");
    assert!(said.contains(*words), "{message}: lacks {words:?}");
    assert!(message.contains(&format!("`{field}`")), "{message}");
}

/// One broken file: what it tells the reader, the edit, the error.
pub(crate) struct Case {
    pub(crate) what: &'static str,
    pub(crate) file: &'static str,
    pub(crate) edit: fn(&mut Value),
    pub(crate) expect: Expect,
}

/// Runs every case, naming the failing one.
pub(crate) fn run(cases: &[Case]) {
    for case in cases {
        let error = refused(case.file, case.edit);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check(&error, case.file, &case.expect);
        }));
        if let Err(panic) = outcome {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            panic!("case {:?} ({}): {text}", case.what, case.file);
        }
    }
}

#[test]
fn the_edit_helpers_change_what_they_name_and_the_round_trip_loads() {
    let mut doc = document("sk_tree_clf_iris.whyline.json");
    set(&mut doc, "/model/tree/n_nodes", json!(10));
    assert_eq!(doc["model"]["tree"]["n_nodes"], 10);
    push(&mut doc, "/model/tree/feature", json!(0));
    assert_eq!(
        doc["model"]["tree"]["feature"].as_array().unwrap().len(),
        10
    );
    pop(&mut doc, "/model/tree/feature");
    remove(&mut doc, "/producer");
    assert!(doc.get("producer").is_none());
    assert!(load(&document("sk_tree_clf_iris.whyline.json"), "x.json").is_ok());
}
