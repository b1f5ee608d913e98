//! JSON-lines rows (`rows/json.rs`, `rows.rs`): lines that are not rows, cells of a
//! categorical column in every JSON type, and the reader's small API.

use whyline_models::rows::feature_index;
use whyline_models::{Model, RowFormat, RowOptions, Rows, RowsError};

use crate::fixtures;

fn plain(text: &str) -> Result<Rows, RowsError> {
    let names: Vec<String> = ["a", "b"].iter().map(|s| (*s).to_owned()).collect();
    Rows::from_reader(
        text.as_bytes(),
        RowFormat::JsonLines,
        &names,
        2,
        RowOptions::new(),
    )
}

#[test]
fn a_json_line_that_is_not_a_row_says_what_it_is() {
    for (text, what) in [
        ("null", "null"),
        ("true", "true or false"),
        ("3.5", "a single number"),
        (
            r#"{"features": 3}"#,
            "an object whose \"features\" is not an array",
        ),
    ] {
        let input = format!("[1, 2]\n{text}\n");
        match plain(&input) {
            Err(RowsError::NotARow { line: 2, found }) => assert_eq!(found, what, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
}

/// The pipeline with a categorical `city` (Lille, Lyon, Nice, Paris; unknown cities
/// accepted as -1) and `plan` (basic, plus, pro).
fn pipeline() -> Model {
    Model::load(fixtures::dir().join("pipelines/pipe_ohe_scaler_hgb_clf.whyline.json")).unwrap()
}

fn rows_for(model: &Model, text: &str) -> Result<Rows, RowsError> {
    Rows::for_model(text.as_bytes(), RowFormat::Auto, model, RowOptions::new())
}

#[test]
fn categorical_cells_of_every_json_type_read_as_category_indices() {
    let model = pipeline();
    // Named fields: null is missing, a boolean is the text True/False (no such city, so
    // unknown), a string its category.
    let text = concat!(
        r#"{"id": 1, "city": null, "income": 5.0, "age": 40, "debt": "7", "plan": "pro"}"#,
        "\n",
        r#"{"id": 2, "city": true, "income": 5.0, "age": 40, "debt": 7, "plan": "basic"}"#,
        "\n",
        r#"{"id": 3, "city": "Nice", "income": 5.0, "age": 40, "debt": 7, "plan": "plus"}"#,
        "\n",
    );
    let rows = rows_for(&model, text).unwrap();
    assert_eq!(
        (rows.len(), rows.n_features(), rows.is_empty()),
        (3, 6, false)
    );
    let values: Vec<Vec<f64>> = rows.iter().map(<[f64]>::to_vec).collect();
    assert!(values[0][1].is_nan());
    assert_eq!(values[0][4], 7.0, "a number written as a string");
    assert_eq!(values[0][5], 2.0);
    assert_eq!(values[1][1], -1.0);
    assert_eq!(values[2][1], 2.0);
    assert_eq!(values[2][5], 1.0);
    // An array where a category belongs names the line and the cell.
    let text = r#"{"id": 1, "city": ["Nice"], "income": 5.0, "age": 40, "debt": 7, "plan": "pro"}"#;
    match rows_for(&model, text) {
        Err(RowsError::NotANumber { line: 1, found, .. }) => assert_eq!(found, r#"["Nice"]"#),
        other => panic!("{other:?}"),
    }
    // A number in a categorical cell is read as its text: plan "3" is no plan, and the
    // plan column takes unknown values as -1.
    let text = r#"[1, "Lyon", 5.0, 40, 7, 3]"#;
    let rows = rows_for(&model, text).unwrap();
    let values: Vec<f64> = rows.iter().next().unwrap().to_vec();
    assert_eq!(values[1], 1.0);
    assert_eq!(values[5], -1.0);
}

#[test]
fn the_reader_api_names_files_options_and_columns() {
    assert_eq!(RowOptions::default(), RowOptions::new());
    assert!(RowOptions::default().has_header());
    assert!(!RowOptions::new().header(false).has_header());
    let model = pipeline();
    let missing = fixtures::dir().join("no-such-rows.csv");
    match Rows::for_model_path(&missing, RowFormat::Auto, &model, RowOptions::new()) {
        Err(RowsError::Open { path, .. }) => assert_eq!(path, missing),
        other => panic!("{other:?}"),
    }
    let names: Vec<String> = ["age", "income"].iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(feature_index(&names, 2, "income"), Some(1));
    assert_eq!(feature_index(&names, 2, " age "), Some(0));
    assert_eq!(feature_index(&names, 2, "1"), Some(1));
    assert_eq!(feature_index(&names, 2, "2"), None);
    assert_eq!(feature_index(&names, 2, "debt"), None);
}
