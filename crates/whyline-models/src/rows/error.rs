//! What can be wrong with input rows, each error naming the line (1-based, blank lines
//! counted) and, where one is at fault, the column or field.

use std::fmt;
use std::path::PathBuf;

/// A place within one line of input: a CSV column, an element of a JSON array, a JSON field.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cell {
    /// A CSV column: its index (0-based) and its header name when there is a header.
    Column {
        /// Column index, 0-based (printed 1-based).
        index: usize,
        /// The header's name for the column.
        name: Option<String>,
    },
    /// Element `index` of a JSON row array (`[...]` or `{"features": [...]}`).
    Element {
        /// Element index, 0-based (printed as `features[i]`).
        index: usize,
    },
    /// A named field of a JSON object.
    Field {
        /// The field name.
        name: String,
    },
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Column {
                index,
                name: Some(name),
            } => write!(f, "column {} ({name})", index + 1),
            Cell::Column { index, name: None } => write!(f, "column {}", index + 1),
            Cell::Element { index } => write!(f, "features[{index}]"),
            Cell::Field { name } => write!(f, "field \"{name}\""),
        }
    }
}

/// Names as a readable list: `a, b, c`, the first eight then `and N more`.
pub(crate) fn name_list(names: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

/// Why input rows could not be read. Every variant about the content names the line
/// (1-based, counting blank lines) and, where one is at fault, the column or field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RowsError {
    /// The input file could not be opened.
    #[error("{}: cannot open the input", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: std::io::Error,
    },
    /// Reading failed part way (an I/O error, or bytes that are not UTF-8).
    #[error("line {line}: cannot read the input")]
    Read {
        /// The line being read.
        line: usize,
        /// What the reader reported.
        #[source]
        source: std::io::Error,
    },
    /// The input holds no line that is not blank.
    #[error("the input is empty: expected CSV with a header row, or JSON lines (one row per line)")]
    Empty,
    /// The CSV's first line holds only numbers: it is a row, not a header.
    #[error(
        "line {line}: the first line holds only numbers, so the input seems to have no \
         header; add a header line naming the features, or read it without a header \
         (--no-header) to take the columns in order"
    )]
    NoHeader {
        /// The line that looks like data.
        line: usize,
    },
    /// A CSV header with no row after it.
    #[error("line {line}: the input has a header but no rows")]
    NoRows {
        /// The header's line.
        line: usize,
    },
    /// The header does not name every feature of the model.
    #[error(
        "line {line}: the header does not name the model's features: missing {}{}; \
         to take the columns in order instead, read it without a header (--no-header)",
        name_list(missing),
        if unknown.is_empty() { String::new() } else { format!("; unknown columns {}", name_list(unknown)) }
    )]
    HeaderMismatch {
        /// The header's line.
        line: usize,
        /// Features of the model that no column names.
        missing: Vec<String>,
        /// Columns that name no feature of the model.
        unknown: Vec<String>,
    },
    /// Two header columns carry the same feature name.
    #[error("line {line}: feature \"{name}\" names two columns ({} and {})", first + 1, second + 1)]
    DuplicateColumn {
        /// The header's line.
        line: usize,
        /// The feature name.
        name: String,
        /// The first column with it (0-based).
        first: usize,
        /// The second column with it (0-based).
        second: usize,
    },
    /// A line taken by position has a different number of columns than the model's
    /// features (a header of a model without feature names, or a line without a header).
    #[error("line {line}: {found} columns, the model takes {expected} features")]
    ColumnCount {
        /// The line.
        line: usize,
        /// Columns found.
        found: usize,
        /// Features of the model.
        expected: usize,
    },
    /// A CSV row has a different number of cells than the header has columns.
    #[error("line {line}: {found} cells, the header has {expected} columns")]
    CellCount {
        /// The line.
        line: usize,
        /// Cells found.
        found: usize,
        /// Columns of the header.
        expected: usize,
    },
    /// A quoted CSV cell is not closed on its line.
    #[error("line {line}: column {}: a quoted cell is not closed", column + 1)]
    UnclosedQuote {
        /// The line.
        line: usize,
        /// The column (0-based) whose quote is open.
        column: usize,
    },
    /// A cell or JSON value is not a number (nor empty, `NaN`, `NA` or `null`, which mean
    /// missing).
    #[error("line {line}, {cell}: {found} is not a number")]
    NotANumber {
        /// The line.
        line: usize,
        /// Where in the line.
        cell: Cell,
        /// What was found, quoted as in the input.
        found: String,
    },
    /// A categorical column holds a category the model does not know, and its encoder
    /// refuses unknown categories (scikit-learn's `handle_unknown="error"`).
    #[error("line {line}, {cell}: unknown category {found} (known: {known})")]
    UnknownCategory {
        /// The line.
        line: usize,
        /// Where in the line.
        cell: Cell,
        /// What was found, quoted as in the input.
        found: String,
        /// The known categories, comma-separated (the first 20).
        known: String,
    },
    /// A line is not valid JSON.
    #[error("line {line}, column {column}: invalid JSON: {message}")]
    InvalidJson {
        /// The line.
        line: usize,
        /// The column (1-based) where the parser stopped.
        column: usize,
        /// What the parser reported.
        message: String,
    },
    /// A JSON line is neither an object nor an array of numbers.
    #[error(
        "line {line}: found {found}; each line must be one row: an array of numbers \
         [1.5, 2.0, ...], {{\"features\": [...]}}, or an object of named fields"
    )]
    NotARow {
        /// The line.
        line: usize,
        /// What was found (`a string`, `a number`, `an array of rows`).
        found: &'static str,
    },
    /// A JSON row has a different number of values than the model's features.
    #[error("line {line}: {found} features, the model takes {expected}")]
    FeatureCount {
        /// The line.
        line: usize,
        /// Values found.
        found: usize,
        /// Features of the model.
        expected: usize,
    },
    /// An object of named fields lacks a feature of the model.
    #[error("line {line}: no field \"{field}\" (a feature of the model)")]
    MissingField {
        /// The line.
        line: usize,
        /// The missing feature name.
        field: String,
    },
    /// An object of named fields, for a model that does not name its features.
    #[error(
        "line {line}: named fields need a model with feature names; this model has none, \
         so give the values in order: {{\"features\": [...]}}"
    )]
    NoFeatureNames {
        /// The line.
        line: usize,
    },
    /// JSON lines mix rows given in order (arrays) and rows of named fields.
    #[error(
        "line {line}: {found}, but line {first_line} gave {first}; use one shape for every line"
    )]
    MixedShapes {
        /// The line.
        line: usize,
        /// Its shape (`named fields`, `values in order`).
        found: &'static str,
        /// The first row's line.
        first_line: usize,
        /// The first row's shape.
        first: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::name_list;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn a_name_list_shows_eight_names_and_counts_the_rest() {
        assert_eq!(name_list(&names(1)), "c0");
        assert_eq!(name_list(&names(8)), "c0, c1, c2, c3, c4, c5, c6, c7");
        assert_eq!(
            name_list(&names(10)),
            "c0, c1, c2, c3, c4, c5, c6, c7 and 2 more"
        );
    }
}
