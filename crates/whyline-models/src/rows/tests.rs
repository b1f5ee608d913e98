#![allow(clippy::unwrap_used, clippy::panic)]

use super::*;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| (*n).to_owned()).collect()
}

/// Reads `text` for a model with the features `age, income` (or none when `named` is
/// false) with the given header option.
fn read(text: &str, named: bool, header: bool) -> Result<Rows, RowsError> {
    let names = if named {
        names(&["age", "income"])
    } else {
        Vec::new()
    };
    Rows::from_reader(
        text.as_bytes(),
        RowFormat::Auto,
        &names,
        2,
        RowOptions::new().header(header),
    )
}

fn refused(text: &str, named: bool, header: bool) -> RowsError {
    match read(text, named, header) {
        Ok(rows) => panic!("expected an error for {text:?}, read {rows:?}"),
        Err(error) => error,
    }
}

#[test]
fn csv_columns_are_matched_by_name_in_any_order_and_extra_columns_are_ignored() {
    let rows = read("income,id,age\n0.1,7,41\n,8,1e-3\n", true, true).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows.row(0), Some(&[41.0, 0.1][..]));
    let second = rows.row(1).unwrap();
    assert_eq!(second[0], 0.001);
    assert!(second[1].is_nan());
    assert_eq!(
        rows.mapping(),
        &ColumnMapping::ByHeader {
            columns: vec![2, 0],
            ignored: names(&["id"]),
        }
    );
    assert_eq!(
        (rows.line(0), rows.line(1), rows.line(2)),
        (Some(2), Some(3), None)
    );
}

#[test]
fn values_are_kept_as_written_in_f64_and_rounded_only_by_to_f32() {
    let rows = read("age,income\n0.1,16777217\n", true, true).unwrap();
    assert_eq!(rows.values(), &[0.1, 16_777_217.0]);
    assert_eq!(rows.to_f32(), vec![0.1_f32, 16_777_216.0]);
}

#[test]
fn a_csv_whose_first_line_is_numbers_is_refused_as_headerless() {
    for named in [true, false] {
        let error = refused("1,2\n3,4\n", named, true);
        assert!(
            matches!(error, RowsError::NoHeader { line: 1 }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("no header"), "{message}");
        assert!(message.contains("--no-header"), "{message}");
    }
}

#[test]
fn without_a_header_every_line_is_a_row_in_feature_order() {
    let rows = read("1,2\n\n3,4\n", true, false).unwrap();
    assert_eq!(rows.values(), &[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(rows.line(1), Some(3));
    assert_eq!(rows.mapping(), &ColumnMapping::ByPosition);
    let error = refused("1,2\n3,4,5\n", true, false);
    assert!(
        matches!(
            error,
            RowsError::ColumnCount {
                line: 2,
                found: 3,
                expected: 2
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_header_without_rows_is_refused() {
    let error = refused("age,income\n\n", true, true);
    assert!(matches!(error, RowsError::NoRows { line: 1 }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "line 1: the input has a header but no rows"
    );
}

#[test]
fn empty_input_is_refused_in_every_format() {
    for text in ["", "\n  \n"] {
        for header in [true, false] {
            let error = refused(text, true, header);
            assert!(matches!(error, RowsError::Empty), "{error:?}");
        }
        for format in [RowFormat::Csv, RowFormat::JsonLines] {
            let error =
                Rows::from_reader(text.as_bytes(), format, &[], 2, RowOptions::new()).unwrap_err();
            assert!(matches!(error, RowsError::Empty), "{error:?}");
        }
    }
}

#[test]
fn a_header_of_wrong_names_lists_the_missing_features_and_unknown_columns() {
    let error = refused("a,b\n1,2\n", true, true);
    let RowsError::HeaderMismatch {
        line,
        missing,
        unknown,
    } = &error
    else {
        panic!("expected HeaderMismatch, got {error:?}");
    };
    assert_eq!(*line, 1);
    assert_eq!(missing, &names(&["age", "income"]));
    assert_eq!(unknown, &names(&["a", "b"]));
    assert_eq!(
        error.to_string(),
        "line 1: the header does not name the model's features: missing age, income; \
         unknown columns a, b; to take the columns in order instead, read it without a \
         header (--no-header)"
    );
    // The same file is read in order when asked for.
    let error = error_of_no_header_with_a_name_line();
    assert!(
        matches!(error, RowsError::NotANumber { line: 1, .. }),
        "{error:?}"
    );
}

/// With `--no-header`, a header line is data, and its names are not numbers.
fn error_of_no_header_with_a_name_line() -> RowsError {
    refused("a,b\n1,2\n", true, false)
}

#[test]
fn long_lists_of_names_are_shortened() {
    let many: Vec<String> = (0..12).map(|i| format!("f{i}")).collect();
    let header = "x\n1\n";
    let error = Rows::from_reader(
        header.as_bytes(),
        RowFormat::Csv,
        &many,
        12,
        RowOptions::new(),
    )
    .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("missing f0, f1, f2, f3, f4, f5, f6, f7 and 4 more; unknown columns x"),
        "{message}"
    );
}

#[test]
fn a_model_without_names_takes_header_columns_in_order_when_the_count_matches() {
    let rows = read("x,y\n1,2\n", false, true).unwrap();
    assert_eq!(rows.values(), &[1.0, 2.0]);
    assert_eq!(rows.mapping(), &ColumnMapping::ByPosition);
    let error = refused("x,y,z\n1,2,3\n", false, true);
    assert!(
        matches!(
            error,
            RowsError::ColumnCount {
                line: 1,
                found: 3,
                expected: 2
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_feature_named_twice_in_the_header_is_refused() {
    let error = refused("age,income,age\n1,2,3\n", true, true);
    assert!(
        matches!(&error, RowsError::DuplicateColumn { line: 1, name, first: 0, second: 2 } if name == "age"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "line 1: feature \"age\" names two columns (1 and 3)"
    );
}

#[test]
fn a_row_with_another_cell_count_or_a_word_names_its_line_and_column() {
    let error = refused("age,income\n1,2\n3\n", true, true);
    assert!(
        matches!(
            error,
            RowsError::CellCount {
                line: 3,
                found: 1,
                expected: 2
            }
        ),
        "{error:?}"
    );
    let error = refused("income,age\n\n1,abc\n", true, true);
    assert!(
        matches!(
            &error,
            RowsError::NotANumber { line: 3, cell: Cell::Column { index: 1, name: Some(name) }, found }
                if name == "age" && found == "\"abc\""
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "line 3, column 2 (age): \"abc\" is not a number"
    );
    let error = refused("1,abc\n", true, false);
    assert_eq!(
        error.to_string(),
        "line 1, column 2: \"abc\" is not a number"
    );
}

#[test]
fn quoted_cells_and_a_byte_order_mark_are_read() {
    let rows = read("\u{feff}\"age\",\"income\"\n\"1.5\",2\n", true, true).unwrap();
    assert_eq!(rows.values(), &[1.5, 2.0]);
}

#[test]
fn json_lines_read_feature_arrays_plain_arrays_and_named_fields() {
    let rows = read("{\"features\": [1, null]}\n[3, \"4.5\"]\n", true, true).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows.row(0).unwrap()[0], 1.0);
    assert!(rows.row(0).unwrap()[1].is_nan());
    assert_eq!(rows.row(1), Some(&[3.0, 4.5][..]));
    assert_eq!(rows.mapping(), &ColumnMapping::ByPosition);

    let rows = read(
        "{\"income\": 0.1, \"age\": 41, \"id\": \"x\"}\n\n{\"age\": 1, \"income\": 2}\n",
        true,
        true,
    )
    .unwrap();
    assert_eq!(rows.values(), &[41.0, 0.1, 1.0, 2.0]);
    assert_eq!(rows.line(1), Some(3));
    assert_eq!(rows.mapping(), &ColumnMapping::ByField);
}

#[test]
fn a_single_json_array_line_is_one_row() {
    let rows = read("[1, 2]", true, true).unwrap();
    assert_eq!(rows.values(), &[1.0, 2.0]);
}

#[test]
fn a_json_array_of_rows_is_refused_with_the_expected_form() {
    let error = refused("[[1, 2], [3, 4]]\n", true, true);
    assert!(
        matches!(
            error,
            RowsError::NotARow {
                line: 1,
                found: "an array of rows"
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("each line must be one row"), "{message}");
    assert!(message.contains("{\"features\": [...]}"), "{message}");
}

#[test]
fn a_json_document_spread_over_lines_is_refused_with_the_expected_form() {
    let error = refused("[\n  [1, 2],\n  [3, 4]\n]\n", true, true);
    assert!(
        matches!(
            error,
            RowsError::NotARow {
                line: 1,
                found: "a JSON document spread over several lines"
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("each line must be one row"));
}

#[test]
fn json_errors_name_the_line_and_the_field() {
    let error = refused("[1, 2]\n{\"features\": [1, 2, 3]}\n", true, true);
    assert!(
        matches!(
            error,
            RowsError::FeatureCount {
                line: 2,
                found: 3,
                expected: 2
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "line 2: 3 features, the model takes 2");

    let error = refused("{\"age\": 1}\n", true, true);
    assert!(
        matches!(&error, RowsError::MissingField { line: 1, field } if field == "income"),
        "{error:?}"
    );

    let error = refused("{\"age\": 1, \"income\": true}\n", true, true);
    assert_eq!(
        error.to_string(),
        "line 1, field \"income\": true is not a number"
    );

    let error = refused("[1, \"x\"]\n", true, true);
    assert_eq!(
        error.to_string(),
        "line 1, features[1]: \"x\" is not a number"
    );

    let error = refused("{\"age\": 1, \"income\": 2}\n", false, true);
    assert!(
        matches!(error, RowsError::NoFeatureNames { line: 1 }),
        "{error:?}"
    );

    let error = refused("[1, 2]\n\n{\"age\": 1, \"income\": 2}\n", true, true);
    assert!(
        matches!(
            error,
            RowsError::MixedShapes {
                line: 3,
                first_line: 1,
                ..
            }
        ),
        "{error:?}"
    );

    let error = refused("[1, 2]\n{\"age\": 1,\n", true, true);
    assert!(
        matches!(error, RowsError::InvalidJson { line: 2, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.starts_with("line 2, column "), "{message}");
    assert!(!message.contains(" at line "), "{message}");

    let error = refused("[1, 2]\n\"text\"\n", true, true);
    assert!(
        matches!(
            error,
            RowsError::NotARow {
                line: 2,
                found: "a string"
            }
        ),
        "{error:?}"
    );
}

#[test]
fn messages_show_no_rust_syntax() {
    let errors = [
        refused("age,income\n1,x\n", true, true),
        refused("a,b\n1,2\n", true, true),
        refused("x\n1\n", false, true),
        refused("{\"age\": 1}\n", true, true),
        refused("1,\"open\n", true, false),
    ];
    for error in errors {
        let message = error.to_string();
        for leak in ["Some(", "None", "[\"", "\"]"] {
            assert!(!message.contains(leak), "{leak} in {message}");
        }
    }
}

#[test]
fn from_path_names_a_file_it_cannot_open() {
    let error = Rows::from_path(
        Path::new("/nonexistent/rows.csv"),
        RowFormat::Auto,
        &[],
        2,
        RowOptions::new(),
    )
    .unwrap_err();
    assert!(matches!(&error, RowsError::Open { path, .. } if path.ends_with("rows.csv")));
    assert_eq!(
        error.to_string(),
        "/nonexistent/rows.csv: cannot open the input"
    );
}

#[test]
fn bytes_that_are_not_utf8_name_their_line() {
    let bytes: &[u8] = b"age,income\n1,2\n\xff,3\n";
    let names = names(&["age", "income"]);
    let error =
        Rows::from_reader(bytes, RowFormat::Auto, &names, 2, RowOptions::new()).unwrap_err();
    assert!(
        matches!(error, RowsError::Read { line: 3, .. }),
        "{error:?}"
    );
}

#[test]
fn a_rows_error_converts_into_the_crate_error_keeping_its_kind_and_message() {
    let error = refused("1,2\n", true, true);
    let message = error.to_string();
    let error = crate::ModelError::from(error);
    assert!(
        matches!(
            error,
            crate::ModelError::Rows(RowsError::NoHeader { line: 1 })
        ),
        "{error:?}"
    );
    assert_eq!(error.to_string(), message);
}
