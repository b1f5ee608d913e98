//! `whyline explain --model FILE --input FILE`: load any supported model (format detected from
//! its content) and print one explanation per input row.
//!
//! Input is CSV with a header row, or JSON lines, each `{"features": [...]}` or an object of
//! named fields. Columns and fields are matched to the model's feature names when it has
//! them, else taken in order. Empty cells, `NaN` and JSON `null` are missing values (NaN),
//! which only models with a missing-value rule accept.
//!
//! `--format json` prints JSON lines, one object per row with `"type": "explanation"`:
//! `row`, `prediction` (value or class index), `label` (class label when known),
//! `probabilities`, `raw`, `top_features` (`[{index, name, value}]`), `model` (its identity)
//! and `path` (the decision path's JSON view).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use whyline_core::{AnyPath, DecisionPath, Explainable};
use whyline_models::Model;

use crate::Outcome;

/// Arguments of `whyline explain`.
#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// The model file: whyline JSON (scikit-learn export), XGBoost JSON or LightGBM text.
    #[arg(long)]
    model: PathBuf,

    /// The rows to explain: CSV with a header row, or JSON lines ("-" reads standard input).
    #[arg(long)]
    input: PathBuf,

    /// Output format: readable text, or one JSON object per row.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Also list the K features with the largest attribution (contribution, importance or
    /// gradient) on the path.
    #[arg(long, value_name = "K")]
    top: Option<usize>,
}

/// How explanations are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// The path's explanation, for people.
    Text,
    /// JSON lines, one object per row.
    Json,
}

pub(crate) fn run(args: &ExplainArgs) -> anyhow::Result<Outcome> {
    let model = Model::load(&args.model)?;
    let text = read_input(&args.input)?;
    let feature_names = &model.info().names.features;
    let rows = parse_rows(&text, model.n_features(), feature_names)
        .with_context(|| format!("reading {}", args.input.display()))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (index, row) in rows.iter().enumerate() {
        let (output, path) = model
            .explain_one(row)
            .with_context(|| format!("{}: row {}", args.input.display(), index + 1))?;
        let prediction = model.predict(row)?;
        match args.format {
            Format::Text => write_text(&mut out, &model, index, output, &path, args.top)?,
            Format::Json => {
                let label = model.info().class_values.get(prediction.value as usize);
                let is_classifier = prediction.probabilities.is_some();
                let line = json!({
                    "type": "explanation",
                    "row": index,
                    "prediction": prediction.value,
                    "label": if is_classifier { label.copied() } else { None },
                    "probabilities": prediction.probabilities,
                    "raw": prediction.raw,
                    "top_features": top_features(&model, &path, args.top.unwrap_or(5)),
                    "model": model.identity(),
                    "path": serde_json::to_value(&path)?,
                });
                serde_json::to_writer(&mut out, &line)?;
                writeln!(out)?;
            }
        }
    }
    out.flush()?;
    Ok(Outcome::Clean)
}

fn read_input(path: &Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
            .context("reading standard input")?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    }
}

/// The features with the largest absolute attribution on the path.
fn top_features(model: &Model, path: &AnyPath, k: usize) -> Vec<Value> {
    let values = path.feature_contributions();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (values[a].abs(), values[b].abs());
        y.total_cmp(&x).then(a.cmp(&b))
    });
    order
        .into_iter()
        .take(k)
        .map(|i| {
            json!({
                "index": i,
                "name": model.info().names.features.get(i),
                "value": values[i],
            })
        })
        .collect()
}

fn write_text(
    out: &mut impl Write,
    model: &Model,
    index: usize,
    output: f32,
    path: &AnyPath,
    top: Option<usize>,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "row {}: output={output} confidence={:.2}",
        index + 1,
        path.confidence()
    )?;
    for line in path.explain_with(&model.info().names).lines() {
        writeln!(out, "    {line}")?;
    }
    if let Some(k) = top.filter(|_| !path.feature_contributions().is_empty()) {
        writeln!(out, "    Top {k} features by attribution:")?;
        for feature in top_features(model, path, k) {
            let i = feature["index"].as_u64().unwrap_or(0) as usize;
            writeln!(
                out,
                "      - {}: {}",
                model.info().names.feature(i),
                feature["value"]
            )?;
        }
    }
    writeln!(out)?;
    Ok(())
}

/// Rows of `n_features` values from CSV with a header or JSON lines.
fn parse_rows(text: &str, n_features: usize, names: &[String]) -> anyhow::Result<Vec<Vec<f32>>> {
    if text.trim_start().starts_with('{') {
        parse_json_lines(text, n_features, names)
    } else {
        parse_csv(text, n_features, names)
    }
}

fn parse_value(cell: &str) -> anyhow::Result<f32> {
    let cell = cell.trim().trim_matches('"');
    if cell.is_empty() || cell.eq_ignore_ascii_case("nan") || cell.eq_ignore_ascii_case("na") {
        return Ok(f32::NAN);
    }
    cell.parse::<f32>()
        .with_context(|| format!("{cell:?} is not a number"))
}

/// Where each model feature is found among the input's columns.
fn column_order(
    header: &[&str],
    n_features: usize,
    names: &[String],
) -> anyhow::Result<Vec<usize>> {
    let by_name: Option<Vec<usize>> = if names.len() == n_features {
        names
            .iter()
            .map(|name| {
                header
                    .iter()
                    .position(|h| h.trim().trim_matches('"') == name)
            })
            .collect()
    } else {
        None
    };
    match by_name {
        Some(order) => Ok(order),
        None if header.len() == n_features => Ok((0..n_features).collect()),
        None => {
            let missing: Vec<&String> = names
                .iter()
                .filter(|n| {
                    !header
                        .iter()
                        .any(|h| h.trim().trim_matches('"') == n.as_str())
                })
                .collect();
            bail!(
                "the header has {} columns and does not name the model's {n_features} features{}",
                header.len(),
                if missing.is_empty() {
                    String::new()
                } else {
                    format!(" (missing: {missing:?})")
                }
            )
        }
    }
}

fn parse_csv(text: &str, n_features: usize, names: &[String]) -> anyhow::Result<Vec<Vec<f32>>> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        bail!("the input is empty (expected a CSV header row)");
    };
    let header: Vec<&str> = header.split(',').collect();
    let order = column_order(&header, n_features, names)?;
    lines
        .map(|(number, line)| {
            let cells: Vec<&str> = line.split(',').collect();
            if cells.len() != header.len() {
                bail!(
                    "line {}: {} cells, the header has {}",
                    number + 1,
                    cells.len(),
                    header.len()
                );
            }
            order
                .iter()
                .map(|&column| {
                    let cell = cells.get(column).copied().unwrap_or("");
                    parse_value(cell).with_context(|| {
                        format!("line {}, column {:?}", number + 1, header.get(column))
                    })
                })
                .collect()
        })
        .collect()
}

fn json_number(value: &Value, at: &str) -> anyhow::Result<f32> {
    match value {
        Value::Null => Ok(f32::NAN),
        Value::Number(n) => n
            .as_f64()
            .map(|x| x as f32)
            .with_context(|| format!("{at}: not a number")),
        Value::String(s) => parse_value(s).with_context(|| at.to_owned()),
        other => bail!("{at}: expected a number, found {other}"),
    }
}

fn parse_json_lines(
    text: &str,
    n_features: usize,
    names: &[String],
) -> anyhow::Result<Vec<Vec<f32>>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(number, line)| {
            let at = format!("line {}", number + 1);
            let value: Value =
                serde_json::from_str(line).with_context(|| format!("{at}: invalid JSON"))?;
            if let Some(features) = value.get("features").and_then(Value::as_array) {
                return features
                    .iter()
                    .enumerate()
                    .map(|(i, v)| json_number(v, &format!("{at}, features[{i}]")))
                    .collect();
            }
            let Some(object) = value.as_object() else {
                bail!("{at}: expected an object");
            };
            if names.len() != n_features {
                bail!("{at}: named fields need a model with feature names; use {{\"features\": [...]}}");
            }
            names
                .iter()
                .map(|name| match object.get(name) {
                    Some(v) => json_number(v, &format!("{at}, field {name:?}")),
                    None => bail!("{at}: no field {name:?}"),
                })
                .collect()
        })
        .collect()
}
