//! JSON lines: one row per line, as an array of numbers, `{"features": [...]}`, or an object
//! of named fields.

use serde_json::{Map, Value};

use super::error::{Cell, RowsError};
use super::{ColumnMapping, Line, Parsed, Schema, parse_number};
use crate::preprocessing::InputKind;

/// How a line gives its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Values in the model's feature order (`[...]` or `{"features": [...]}`).
    InOrder,
    /// An object of named fields.
    Named,
}

impl Shape {
    fn describe(self) -> &'static str {
        match self {
            Shape::InOrder => "values in order",
            Shape::Named => "named fields",
        }
    }
}

/// Reads JSON lines (blank lines already skipped); every line must have the first line's
/// shape.
pub(super) fn read(
    lines: impl Iterator<Item = Result<Line, RowsError>>,
    schema: &Schema<'_>,
) -> Result<Parsed, RowsError> {
    let mut parsed = Parsed::new(schema.n_features);
    let mut first: Option<(usize, Shape)> = None;
    for line in lines {
        let line = line?;
        if matches!(line.text.trim(), "[" | "{") {
            // A pretty-printed document: its first line alone is no JSON.
            return Err(RowsError::NotARow {
                line: line.number,
                found: "a JSON document spread over several lines",
            });
        }
        let value: Value =
            serde_json::from_str(&line.text).map_err(|error| RowsError::InvalidJson {
                line: line.number,
                column: error.column(),
                message: without_position(&error),
            })?;
        let shape = read_row(&value, line.number, schema, &mut parsed)?;
        match first {
            None => first = Some((line.number, shape)),
            Some((first_line, first_shape)) if first_shape != shape => {
                return Err(RowsError::MixedShapes {
                    line: line.number,
                    found: shape.describe(),
                    first_line,
                    first: first_shape.describe(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(parsed.mapped(match first {
        Some((_, Shape::Named)) => ColumnMapping::ByField,
        Some((_, Shape::InOrder)) | None => ColumnMapping::ByPosition,
    }))
}

/// serde_json's message without the " at line L column C" it appends (we name the line).
fn without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    match message.strip_suffix(&position) {
        Some(message) => message.to_owned(),
        None => message,
    }
}

fn read_row(
    value: &Value,
    line: usize,
    schema: &Schema<'_>,
    parsed: &mut Parsed,
) -> Result<Shape, RowsError> {
    match value {
        Value::Array(items) => {
            read_in_order(items, line, schema, parsed)?;
            Ok(Shape::InOrder)
        }
        Value::Object(object) => match object.get("features") {
            Some(Value::Array(items)) => {
                read_in_order(items, line, schema, parsed)?;
                Ok(Shape::InOrder)
            }
            Some(_) => Err(RowsError::NotARow {
                line,
                found: "an object whose \"features\" is not an array",
            }),
            None => {
                read_named(object, line, schema, parsed)?;
                Ok(Shape::Named)
            }
        },
        Value::Null => Err(RowsError::NotARow {
            line,
            found: "null",
        }),
        Value::Bool(_) => Err(RowsError::NotARow {
            line,
            found: "true or false",
        }),
        Value::Number(_) => Err(RowsError::NotARow {
            line,
            found: "a single number",
        }),
        Value::String(_) => Err(RowsError::NotARow {
            line,
            found: "a string",
        }),
    }
}

fn read_in_order(
    items: &[Value],
    line: usize,
    schema: &Schema<'_>,
    parsed: &mut Parsed,
) -> Result<(), RowsError> {
    if items
        .iter()
        .any(|item| matches!(item, Value::Array(_) | Value::Object(_)))
    {
        return Err(RowsError::NotARow {
            line,
            found: "an array of rows",
        });
    }
    if items.len() != schema.n_features {
        return Err(RowsError::FeatureCount {
            line,
            found: items.len(),
            expected: schema.n_features,
        });
    }
    let values = items
        .iter()
        .enumerate()
        .map(|(index, item)| value(schema, index, item, line, Cell::Element { index }))
        .collect::<Result<Vec<f64>, RowsError>>()?;
    parsed.push_values(line, values);
    Ok(())
}

fn read_named(
    object: &Map<String, Value>,
    line: usize,
    schema: &Schema<'_>,
    parsed: &mut Parsed,
) -> Result<(), RowsError> {
    if !schema.has_names() {
        return Err(RowsError::NoFeatureNames { line });
    }
    let values = schema
        .names
        .iter()
        .enumerate()
        .map(|(index, name)| match object.get(name) {
            Some(item) => value(
                schema,
                index,
                item,
                line,
                Cell::Field { name: name.clone() },
            ),
            None => Err(RowsError::MissingField {
                line,
                field: name.clone(),
            }),
        })
        .collect::<Result<Vec<f64>, RowsError>>()?;
    parsed.push_values(line, values);
    Ok(())
}

/// A JSON value as feature `feature`'s value: for a categorical column of a model with a
/// preprocessing stage, a string or number looked up among its categories; otherwise a
/// number.
fn value(
    schema: &Schema<'_>,
    feature: usize,
    item: &Value,
    line: usize,
    cell: Cell,
) -> Result<f64, RowsError> {
    let categorical = matches!(
        schema.inputs.get(feature).map(|c| &c.kind),
        Some(InputKind::Categorical { .. } | InputKind::Ignored)
    );
    if !categorical {
        return number(item, line, cell);
    }
    let text = match item {
        Value::Null => return Ok(f64::NAN),
        Value::String(text) => text.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => {
            if *b {
                "True".to_owned()
            } else {
                "False".to_owned()
            }
        }
        Value::Array(_) | Value::Object(_) => {
            return Err(RowsError::NotANumber {
                line,
                cell,
                found: item.to_string(),
            });
        }
    };
    schema
        .value(feature, &text)
        .map_err(|problem| problem.into_error(line, cell, item.to_string()))
}

/// A JSON value as a feature value: a number, `null` (missing), or a string holding a number.
fn number(value: &Value, line: usize, cell: Cell) -> Result<f64, RowsError> {
    let found = match value {
        Value::Null => return Ok(f64::NAN),
        Value::Number(n) => match n.as_f64() {
            Some(x) => return Ok(x),
            None => n.to_string(),
        },
        Value::String(text) => match parse_number(text) {
            Some(x) => return Ok(x),
            None => value.to_string(),
        },
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => value.to_string(),
    };
    Err(RowsError::NotANumber { line, cell, found })
}
