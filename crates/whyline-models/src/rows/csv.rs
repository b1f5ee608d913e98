//! CSV rows: a header matched to the model's feature names, or columns taken in order.

use super::error::{Cell, RowsError};
use super::{ColumnMapping, Line, Parsed, Schema};

/// Reads CSV lines (blank lines already skipped). With `header`, the first line names the
/// columns; without, every line is a row of the model's features in order.
pub(super) fn read(
    mut lines: impl Iterator<Item = Result<Line, RowsError>>,
    schema: &Schema<'_>,
    header: bool,
) -> Result<Parsed, RowsError> {
    let mut parsed = Parsed::new(schema.n_features);
    if !header {
        for line in lines {
            let line = line?;
            let cells = split(&line)?;
            if cells.len() != schema.n_features {
                return Err(RowsError::ColumnCount {
                    line: line.number,
                    found: cells.len(),
                    expected: schema.n_features,
                });
            }
            parsed.push_row(
                line.number,
                cells.iter().map(String::as_str).enumerate(),
                |index| Cell::Column { index, name: None },
                schema,
            )?;
        }
        return Ok(parsed.mapped(ColumnMapping::ByPosition));
    }
    let Some(first) = lines.next().transpose()? else {
        return Err(RowsError::Empty);
    };
    let header = split(&first)?;
    let columns = match_header(&header, first.number, schema)?;
    for line in lines {
        let line = line?;
        let cells = split(&line)?;
        if cells.len() != header.len() {
            return Err(RowsError::CellCount {
                line: line.number,
                found: cells.len(),
                expected: header.len(),
            });
        }
        let ordered = columns
            .iter()
            .map(|&column| (column, cells.get(column).map_or("", String::as_str)));
        parsed.push_row(
            line.number,
            ordered,
            |index| Cell::Column {
                index,
                name: header.get(index).cloned(),
            },
            schema,
        )?;
    }
    if parsed.is_empty() {
        return Err(RowsError::NoRows { line: first.number });
    }
    let mapping = if schema.has_names() {
        let ignored = (0..header.len())
            .filter(|column| !columns.contains(column))
            .filter_map(|column| header.get(column).cloned())
            .collect();
        ColumnMapping::ByHeader { columns, ignored }
    } else {
        ColumnMapping::ByPosition
    };
    Ok(parsed.mapped(mapping))
}

/// Which column holds each feature: by name when the model names its features, else in
/// order. A header of numbers is taken for a row, and refused.
fn match_header(
    header: &[String],
    line: usize,
    schema: &Schema<'_>,
) -> Result<Vec<usize>, RowsError> {
    if schema.has_names() {
        let mut columns = Vec::with_capacity(schema.n_features);
        let mut missing = Vec::new();
        for name in schema.names {
            let mut found = header
                .iter()
                .enumerate()
                .filter(|(_, cell)| *cell == name)
                .map(|(column, _)| column);
            match (found.next(), found.next()) {
                (Some(first), Some(second)) => {
                    return Err(RowsError::DuplicateColumn {
                        line,
                        name: name.clone(),
                        first,
                        second,
                    });
                }
                (Some(column), None) => columns.push(column),
                (None, _) => missing.push(name.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(columns);
        }
        if looks_like_data(header) {
            return Err(RowsError::NoHeader { line });
        }
        let unknown = header
            .iter()
            .filter(|cell| !schema.names.contains(cell))
            .cloned()
            .collect();
        return Err(RowsError::HeaderMismatch {
            line,
            missing,
            unknown,
        });
    }
    if looks_like_data(header) {
        return Err(RowsError::NoHeader { line });
    }
    if header.len() != schema.n_features {
        return Err(RowsError::ColumnCount {
            line,
            found: header.len(),
            expected: schema.n_features,
        });
    }
    Ok((0..header.len()).collect())
}

/// True when every cell of a would-be header is a number: the line is a row.
fn looks_like_data(cells: &[String]) -> bool {
    cells
        .iter()
        .all(|cell| !cell.is_empty() && cell.parse::<f64>().is_ok())
}

/// The cells of one CSV line, trimmed, with quotes (`"a,b"`, `""` for a quote) removed.
fn split(line: &Line) -> Result<Vec<String>, RowsError> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if cell.trim().is_empty() => {
                cell.clear();
                quoted = true;
            }
            ',' if !quoted => cells.push(std::mem::take(&mut cell).trim().to_owned()),
            c => cell.push(c),
        }
    }
    if quoted {
        return Err(RowsError::UnclosedQuote {
            line: line.number,
            column: cells.len(),
        });
    }
    cells.push(cell.trim().to_owned());
    Ok(cells)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn cells(text: &str) -> Vec<String> {
        split(&Line {
            number: 1,
            text: text.to_owned(),
        })
        .unwrap()
    }

    #[test]
    fn split_trims_and_unquotes_cells() {
        assert_eq!(cells("a, b ,c"), ["a", "b", "c"]);
        assert_eq!(
            cells("\"x,y\",\"say \"\"hi\"\"\",3"),
            ["x,y", "say \"hi\"", "3"]
        );
        assert_eq!(cells("1,,3"), ["1", "", "3"]);
        assert_eq!(cells("1,2,"), ["1", "2", ""]);
        assert_eq!(cells("only"), ["only"]);
    }

    #[test]
    fn an_open_quote_names_its_column() {
        let error = split(&Line {
            number: 4,
            text: "1,\"open".to_owned(),
        })
        .unwrap_err();
        assert!(
            matches!(error, RowsError::UnclosedQuote { line: 4, column: 1 }),
            "{error:?}"
        );
    }
}
