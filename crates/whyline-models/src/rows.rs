//! Input rows for a model, read from CSV or JSON lines: the one parser every front end
//! (the `whyline` command, the Python package, the server) uses, so that they accept the same
//! input and print the same errors.
//!
//! # Formats
//!
//! - **CSV with a header** (the default): the header names the columns. When the model names
//!   its features, each feature is read from the column of that name, in any order; columns
//!   that name no feature are ignored (and listed in [`ColumnMapping::ByHeader`]). A header
//!   that misses a feature is an error listing the missing features and the unknown columns;
//!   a first line of numbers is an error that says the header is missing. When the model
//!   has no feature names, the header must have one column per feature, taken in order.
//! - **CSV without a header** ([`RowOptions::header`]`(false)`, the command's
//!   `--no-header`): every line is a row of the model's features in order.
//! - **JSON lines**: one row per line, as an array of numbers `[1.5, 2.0]`,
//!   `{"features": [1.5, 2.0]}`, or an object of named fields `{"age": 41, "income": 2.0}`
//!   (other fields are ignored). Every line has the first line's shape. A line holding an
//!   array of rows (`[[...], [...]]`) and a JSON document spread over several lines are
//!   refused with the expected form: one row per line keeps line numbers in errors
//!   meaningful and lets a reader stream.
//!
//! [`RowFormat::Auto`] reads JSON lines when the first character that is not blank is `{`
//! or `[`, else CSV. Blank lines are skipped but counted, so errors name the line a text
//! editor shows. Empty cells, `NaN`, `NA` and JSON `null` are missing values (NaN), which only
//! models with a missing-value rule accept. Values are kept as `f64`, exactly as written;
//! [`Rows::to_f32`] gives the `f32` copy that decision paths and explainers take.
//!
//! # Example
//!
//! ```
//! use whyline_models::{ColumnMapping, RowFormat, RowOptions, Rows, RowsError};
//!
//! let names = vec!["age".to_owned(), "income".to_owned()];
//! let csv = "id,income,age\n7,2.5,41\n8,,39\n";
//! let rows = Rows::from_reader(csv.as_bytes(), RowFormat::Auto, &names, 2, RowOptions::new())?;
//! assert_eq!(rows.len(), 2);
//! assert_eq!(rows.row(0), Some(&[41.0, 2.5][..]));
//! assert!(rows.row(1).is_some_and(|row| row[1].is_nan()));
//! assert_eq!(rows.line(1), Some(3));
//! assert!(matches!(rows.mapping(), ColumnMapping::ByHeader { ignored, .. } if ignored == &["id"]));
//!
//! let headerless = "41,2.5\n39,1.0\n";
//! let error = Rows::from_reader(headerless.as_bytes(), RowFormat::Auto, &names, 2, RowOptions::new())
//!     .unwrap_err();
//! assert!(matches!(error, RowsError::NoHeader { line: 1 }));
//! let rows = Rows::from_reader(
//!     headerless.as_bytes(), RowFormat::Auto, &names, 2, RowOptions::new().header(false),
//! )?;
//! assert_eq!(rows.to_f32(), vec![41.0_f32, 2.5, 39.0, 1.0]);
//! # Ok::<(), whyline_models::RowsError>(())
//! ```

mod csv;
mod error;
mod json;

use std::io::BufRead;
use std::path::Path;

pub use error::{Cell, RowsError};

use crate::preprocessing::{InputColumn, InputKind};

/// How the input is laid out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RowFormat {
    /// JSON lines when the first character that is not blank is `{` or `[`, else CSV.
    #[default]
    Auto,
    /// Comma-separated values.
    Csv,
    /// One JSON row per line.
    JsonLines,
}

/// Options for reading rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowOptions {
    header: bool,
}

impl Default for RowOptions {
    fn default() -> RowOptions {
        RowOptions::new()
    }
}

impl RowOptions {
    /// The defaults: CSV input has a header line.
    pub const fn new() -> RowOptions {
        RowOptions { header: true }
    }

    /// Whether the first CSV line is a header (default `true`). Without a header, every
    /// line is a row of the model's features in order. JSON lines ignore this option.
    #[must_use]
    pub const fn header(mut self, present: bool) -> RowOptions {
        self.header = present;
        self
    }

    /// True when the first CSV line is read as a header.
    pub const fn has_header(&self) -> bool {
        self.header
    }
}

/// How the input's columns or fields were matched to the model's features.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ColumnMapping {
    /// CSV columns matched by the header's names.
    ByHeader {
        /// The column (0-based) each feature is read from, by feature index.
        columns: Vec<usize>,
        /// Header names of the columns that name no feature, in column order.
        ignored: Vec<String>,
    },
    /// Values taken in the model's feature order: CSV without a header, a header of a model
    /// without feature names, JSON arrays and `{"features": [...]}`.
    ByPosition,
    /// JSON objects, each feature read from the field of its name.
    ByField,
}

/// Rows of a model's features, row-major, as `f64` exactly as written, with the line each
/// came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Rows {
    values: Vec<f64>,
    n_features: usize,
    lines: Vec<usize>,
    mapping: ColumnMapping,
}

impl Rows {
    /// Reads rows for a model taking `n_features` features named `feature_names` (empty
    /// when the model has no names; names are used only when there is one per feature).
    ///
    /// Fails, naming the line and the column or field, on input that cannot be read as
    /// intended: see [`RowsError`]. Input without any row is an error, never an empty set.
    pub fn from_reader(
        reader: impl BufRead,
        format: RowFormat,
        feature_names: &[String],
        n_features: usize,
        options: RowOptions,
    ) -> Result<Rows, RowsError> {
        let schema = Schema {
            names: feature_names,
            n_features,
            inputs: &[],
        };
        Rows::read(reader, format, &schema, options)
    }

    /// Reads rows for `model`: its input columns by name, and for a model with a
    /// preprocessing stage, categories as the user has them — a categorical column's text
    /// (or JSON string or number) is looked up among the column's categories and becomes
    /// its index (see [`crate::preprocessing`]); an empty cell, `NaN`, `NA` or `null` is a
    /// missing value (NaN), and an unknown category is `-1` where the column accepts one
    /// and [`RowsError::UnknownCategory`] otherwise. A column the pipeline drops may hold
    /// anything.
    ///
    /// ```
    /// use whyline_models::{Model, RowFormat, RowOptions, Rows};
    /// # let text = r#"{"format":"whyline-model","format_version":2,"model_type":"linear_regression",
    /// #   "task":"regression","n_features":3,"feature_names":null,
    /// #   "model":{"link":"identity","n_outputs":1,"coef":[1.0,2.0,0.5],"intercept":[0.0]},
    /// #   "preprocessing":{"inputs":[{"name":"city","kind":"categorical","categories":["Lyon","Paris"],"unknown":"ignore"},
    /// #     {"name":"income","kind":"numeric"}],
    /// #   "features":[{"input":0,"ops":[{"op":"one_hot","category":0}]},{"input":0,"ops":[{"op":"one_hot","category":1}]},
    /// #     {"input":1,"ops":[{"op":"standardize","center":40.0,"scale":10.0}]}]}}"#;
    /// let model = Model::from_bytes(text.as_bytes(), "pipeline.json")?;
    /// let csv = "income,city\n60,Paris\n40,Nice\n";
    /// let rows = Rows::for_model(csv.as_bytes(), RowFormat::Auto, &model, RowOptions::new())?;
    /// assert_eq!(rows.row(0), Some(&[1.0, 60.0][..])); // Paris is category 1
    /// assert_eq!(rows.row(1), Some(&[-1.0, 40.0][..])); // Nice is unknown
    /// assert_eq!(model.predict(rows.row(0).unwrap_or(&[]))?.value, 2.0 + 1.0);
    /// # Ok::<(), whyline_models::ModelError>(())
    /// ```
    pub fn for_model(
        reader: impl BufRead,
        format: RowFormat,
        model: &crate::Model,
        options: RowOptions,
    ) -> Result<Rows, RowsError> {
        use whyline_core::Explainable;
        let names = &model.info().names.features;
        let schema = Schema {
            names,
            n_features: model.n_features(),
            inputs: model.preprocessing().map_or(&[], |p| p.inputs.as_slice()),
        };
        Rows::read(reader, format, &schema, options)
    }

    /// Reads rows for `model` from a file; see [`Rows::for_model`].
    pub fn for_model_path(
        path: &Path,
        format: RowFormat,
        model: &crate::Model,
        options: RowOptions,
    ) -> Result<Rows, RowsError> {
        let file = std::fs::File::open(path).map_err(|source| RowsError::Open {
            path: path.to_owned(),
            source,
        })?;
        Rows::for_model(std::io::BufReader::new(file), format, model, options)
    }

    fn read(
        reader: impl BufRead,
        format: RowFormat,
        schema: &Schema<'_>,
        options: RowOptions,
    ) -> Result<Rows, RowsError> {
        let n_features = schema.n_features;
        let mut lines = numbered_lines(reader).peekable();
        let json = match format {
            RowFormat::JsonLines => true,
            RowFormat::Csv => false,
            RowFormat::Auto => match lines.peek() {
                Some(Ok(line)) => line.text.trim_start().starts_with(['{', '[']),
                Some(Err(_)) => false,
                None => return Err(RowsError::Empty),
            },
        };
        let parsed = if json {
            json::read(lines, schema)?
        } else {
            csv::read(lines, schema, options.header)?
        };
        if parsed.lines.is_empty() {
            return Err(RowsError::Empty);
        }
        Ok(Rows {
            values: parsed.values,
            n_features,
            lines: parsed.lines,
            mapping: parsed.mapping,
        })
    }

    /// Reads rows from a file; see [`Rows::from_reader`].
    pub fn from_path(
        path: &Path,
        format: RowFormat,
        feature_names: &[String],
        n_features: usize,
        options: RowOptions,
    ) -> Result<Rows, RowsError> {
        let file = std::fs::File::open(path).map_err(|source| RowsError::Open {
            path: path.to_owned(),
            source,
        })?;
        Rows::from_reader(
            std::io::BufReader::new(file),
            format,
            feature_names,
            n_features,
            options,
        )
    }

    /// The number of rows (never 0).
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// False: reading fails rather than return no rows (kept for the `len` convention).
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Values per row: the model's feature count.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Every value, row-major.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Row `index` (0-based), in the model's feature order.
    pub fn row(&self, index: usize) -> Option<&[f64]> {
        let start = index.checked_mul(self.n_features)?;
        self.values.get(start..start.checked_add(self.n_features)?)
    }

    /// The rows in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[f64]> + '_ {
        (0..self.len()).map(|index| self.row(index).unwrap_or(&[]))
    }

    /// The input line (1-based) row `index` came from.
    pub fn line(&self, index: usize) -> Option<usize> {
        self.lines.get(index).copied()
    }

    /// How the input's columns were matched to the model's features.
    pub fn mapping(&self) -> &ColumnMapping {
        &self.mapping
    }

    /// Every value rounded to `f32`, row-major (`chunks_exact(n_features)` gives the rows):
    /// the precision of decision paths and explainers.
    pub fn to_f32(&self) -> Vec<f32> {
        #[allow(clippy::cast_possible_truncation)] // rounding to f32 is the point
        self.values.iter().map(|&x| x as f32).collect()
    }
}

/// The feature a user means by `name_or_index` (surrounding spaces ignored): the feature of
/// that name, else the index it spells, when below `n_features`. Names win, so a feature
/// named `3` is found by its name.
///
/// ```
/// use whyline_models::rows::feature_index;
///
/// let names = ["age".to_owned(), "income".to_owned()];
/// assert_eq!(feature_index(&names, 2, " income"), Some(1));
/// assert_eq!(feature_index(&names, 2, "0"), Some(0));
/// assert_eq!(feature_index(&names, 2, "2"), None);
/// assert_eq!(feature_index(&[], 2, "income"), None);
/// ```
pub fn feature_index(names: &[String], n_features: usize, name_or_index: &str) -> Option<usize> {
    let wanted = name_or_index.trim();
    names
        .iter()
        .take(n_features)
        .position(|name| name == wanted)
        .or_else(|| wanted.parse::<usize>().ok())
        .filter(|&index| index < n_features)
}

/// A cell's text as a number: empty, `NaN` and `NA` (any case) are missing (NaN).
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("nan") || text.eq_ignore_ascii_case("na") {
        return Some(f64::NAN);
    }
    text.parse::<f64>().ok()
}

/// The model's side of the match: its feature names (used when there is one per feature)
/// and count.
struct Schema<'a> {
    names: &'a [String],
    n_features: usize,
    /// The model's input columns when it has a preprocessing stage (empty: all numeric).
    inputs: &'a [InputColumn],
}

/// Why a cell's text is not a value of its column.
enum CellProblem {
    NotANumber,
    UnknownCategory(String),
}

impl CellProblem {
    fn into_error(self, line: usize, cell: Cell, found: String) -> RowsError {
        match self {
            CellProblem::NotANumber => RowsError::NotANumber { line, cell, found },
            CellProblem::UnknownCategory(known) => RowsError::UnknownCategory {
                line,
                cell,
                found,
                known,
            },
        }
    }
}

impl Schema<'_> {
    /// The value of feature `feature`'s cell text: a number, or for a categorical column
    /// its category's index (`-1` unknown, NaN missing).
    fn value(&self, feature: usize, text: &str) -> Result<f64, CellProblem> {
        match self.inputs.get(feature).map(|c| &c.kind) {
            None | Some(InputKind::Numeric) => parse_number(text).ok_or(CellProblem::NotANumber),
            Some(InputKind::Ignored) => Ok(parse_number(text).unwrap_or(f64::NAN)),
            Some(InputKind::Categorical { categories, .. }) => {
                if let Some(value) =
                    crate::preprocessing::category_value_in(self.inputs, feature, text)
                {
                    return Ok(value);
                }
                let known = categories
                    .iter()
                    .take(20)
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                Err(CellProblem::UnknownCategory(known))
            }
        }
    }

    /// True when the model names every feature.
    fn has_names(&self) -> bool {
        self.n_features > 0 && self.names.len() == self.n_features
    }
}

/// One line of input that is not blank, with its 1-based number.
struct Line {
    number: usize,
    text: String,
}

/// The lines that are not blank, numbered from 1 counting blank ones; a UTF-8 byte-order
/// mark at the start is dropped.
fn numbered_lines(reader: impl BufRead) -> impl Iterator<Item = Result<Line, RowsError>> {
    reader
        .lines()
        .enumerate()
        .filter_map(|(index, line)| match line {
            Ok(text) => {
                let text = match index {
                    0 => text
                        .strip_prefix('\u{feff}')
                        .map(str::to_owned)
                        .unwrap_or(text),
                    _ => text,
                };
                (!text.trim().is_empty()).then(|| {
                    Ok(Line {
                        number: index + 1,
                        text,
                    })
                })
            }
            Err(source) => Some(Err(RowsError::Read {
                line: index + 1,
                source,
            })),
        })
}

/// Rows as they are read.
struct Parsed {
    values: Vec<f64>,
    lines: Vec<usize>,
    n_features: usize,
    mapping: ColumnMapping,
}

impl Parsed {
    fn new(n_features: usize) -> Parsed {
        Parsed {
            values: Vec::new(),
            lines: Vec::new(),
            n_features,
            mapping: ColumnMapping::ByPosition,
        }
    }

    fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Parses one row's cells, given as `(column, text)` in feature order.
    fn push_row<'t>(
        &mut self,
        line: usize,
        cells: impl Iterator<Item = (usize, &'t str)>,
        cell: impl Fn(usize) -> Cell,
        schema: &Schema<'_>,
    ) -> Result<(), RowsError> {
        self.values.reserve(self.n_features);
        for (feature, (column, text)) in cells.enumerate() {
            let value = schema
                .value(feature, text)
                .map_err(|problem| problem.into_error(line, cell(column), format!("\"{text}\"")))?;
            self.values.push(value);
        }
        self.lines.push(line);
        Ok(())
    }

    /// Adds one row of values in feature order.
    fn push_values(&mut self, line: usize, values: Vec<f64>) {
        self.values.extend(values);
        self.lines.push(line);
    }

    fn mapped(mut self, mapping: ColumnMapping) -> Parsed {
        self.mapping = mapping;
        self
    }
}

#[cfg(test)]
mod tests;
