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
//!
//! With `--method` the explanation is an attribution of `whyline-explain` instead of the
//! model's own path: `tree-shap`, `kernel-shap`, `linear-shap`, `lime`, `ig` (integrated
//! gradients), `saliency`, or a `counterfactual`. `--background FILE` (same formats as the
//! input) is the reference set: required by `lime`, used by `kernel-shap` (else the
//! model's training means), `linear-shap` (else the training means), `tree-shap` (which
//! becomes interventional TreeSHAP over it) and the MAD cost of counterfactuals. JSON lines
//! then have `"type": "attribution"` (the method, its settings, the seed, the values, the
//! base value, the prediction and the residual `|base + Σ values − prediction|`) or
//! `"type": "counterfactual"` (the changes, distances, settings and the sentence), each
//! with `row` and `model`.
//!
//! Exit status: 2 when the method cannot run (it does not fit the model, the background
//! is missing or has the wrong width, a setting is out of range); 1 when a counterfactual
//! is impossible for some row (the others are printed, the reason goes to stderr).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use whyline_core::{AnyPath, DecisionPath, Explainable};
use whyline_explain::{
    Background, CounterfactualSettings, ExplainError, GradientSettings, KernelShapSettings,
    LimeSettings, LinearShapSettings, MethodSettings, TreeShapSettings,
};
use whyline_models::Model;

use crate::{Outcome, output};

/// Arguments of `whyline explain`.
#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// The model file: whyline JSON (scikit-learn export), XGBoost JSON, LightGBM text or
    /// aprender `.apr`.
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
    #[arg(long, value_name = "K", conflicts_with = "method")]
    top: Option<usize>,

    /// Explain with an attribution method (or find a counterfactual) instead of the
    /// model's own decision path.
    #[arg(long, value_enum)]
    method: Option<Method>,

    /// The background (reference / training) rows, in the input's formats: required by
    /// lime; kernel-shap and linear-shap fall back to the model's training means; with
    /// tree-shap it selects interventional TreeSHAP; counterfactuals use it for MAD costs.
    #[arg(long, value_name = "FILE", requires = "method")]
    background: Option<PathBuf>,

    /// Seed of the sampling methods (kernel-shap, lime, counterfactual searches); 0 by default.
    #[arg(long, value_name = "N", requires = "method")]
    seed: Option<u64>,

    /// Samples: kernel-shap coalitions (when it samples), lime neighbourhood rows,
    /// integrated-gradients steps.
    #[arg(long, value_name = "N", requires = "method")]
    samples: Option<usize>,

    /// The output explained (class index or boosting group); by default the predicted
    /// class, or output 0.
    #[arg(long, value_name = "K", requires = "method")]
    output: Option<usize>,

    /// Counterfactuals: features that may not change (indices or names, comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',', requires = "method")]
    immutable: Vec<String>,
}

/// The methods of `--method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Method {
    /// Exact TreeSHAP (path-dependent; interventional with --background).
    TreeShap,
    /// KernelSHAP: exact up to 16 features, else a seeded estimate with standard errors.
    KernelShap,
    /// LinearSHAP, w_j (x_j − mean x_j), in margin space.
    LinearShap,
    /// LIME with the lime package's defaults (needs --background).
    Lime,
    /// Integrated gradients (MLPs, linear models).
    Ig,
    /// The input gradient (MLPs, linear models).
    Saliency,
    /// The minimal change that flips the decision (binary logistic models, decision trees).
    Counterfactual,
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
    // Rows stay f64 for the prediction (exact, as the library computes it); the explained
    // path and the attribution methods take them rounded to f32, as the APRT record does.
    let rows_f64 = parse_rows(&text, model.n_features(), feature_names)
        .with_context(|| format!("reading {}", args.input.display()))?;
    let rows = to_f32_rows(&rows_f64);
    if let Some(method) = args.method {
        return run_method(args, method, &model, &rows);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (index, (row, row_f64)) in rows.iter().zip(&rows_f64).enumerate() {
        let (output, path) = model
            .explain_one(row)
            .with_context(|| format!("{}: row {}", args.input.display(), index + 1))?;
        let prediction = model.predict(row_f64)?;
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

/// `--method`: one attribution or counterfactual per row.
fn run_method(
    args: &ExplainArgs,
    method: Method,
    model: &Model,
    rows: &[Vec<f32>],
) -> anyhow::Result<Outcome> {
    let n_features = model.n_features();
    let background = match &args.background {
        Some(path) => {
            let text = read_input(path)?;
            let at = || format!("reading background {}", path.display());
            let rows =
                parse_rows(&text, n_features, &model.info().names.features).with_context(at)?;
            Some(Background::from_rows(&to_f32_rows(&rows), n_features).with_context(at)?)
        }
        None => None,
    };
    let settings = method_settings(args, method, model)?;
    // LIME bins the background once for every row (the same explanation as `explain`).
    let lime = match (&settings, &background) {
        (Settings::Attribution(MethodSettings::Lime(s)), Some(background)) => Some(
            whyline_explain::Lime::new(model, background, s)
                .with_context(|| format!("{}: lime", args.input.display()))?,
        ),
        _ => None,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut outcome = Outcome::Clean;
    for (index, row) in rows.iter().enumerate() {
        let at = || format!("{}: row {}", args.input.display(), index + 1);
        let (json, text) = match &settings {
            Settings::Attribution(settings) => {
                let a = match &lime {
                    Some(lime) => lime.explain(row),
                    None => whyline_explain::explain(model, row, settings, background.as_ref()),
                }
                .with_context(at)?;
                let mut json = a.to_json();
                (tag(&mut json, "attribution", index, model), a.to_text())
            }
            Settings::Counterfactual(settings) => {
                match whyline_explain::counterfactual(model, row, settings, background.as_ref()) {
                    Ok(c) => {
                        let mut json = c.to_json();
                        if let Some(object) = json.as_object_mut() {
                            object.insert("method".into(), json!("counterfactual"));
                            object.insert("seed".into(), json!(settings.seed));
                        }
                        (tag(&mut json, "counterfactual", index, model), c.explain())
                    }
                    Err(error @ ExplainError::ImpossibleCounterfactual { .. }) => {
                        output::note(&format!("{}: {error}", at()));
                        outcome = Outcome::Problem;
                        continue;
                    }
                    Err(error) => return Err(anyhow::Error::new(error).context(at())),
                }
            }
        };
        match args.format {
            Format::Json => {
                serde_json::to_writer(&mut out, &json)?;
                writeln!(out)?;
            }
            Format::Text => {
                writeln!(out, "row {}: {}", index + 1, text.trim_end())?;
                writeln!(out)?;
            }
        }
    }
    out.flush()?;
    Ok(outcome)
}

/// What `--method` runs.
enum Settings {
    Attribution(MethodSettings),
    Counterfactual(CounterfactualSettings),
}

/// The library settings for the flags; defaults where a flag is absent.
fn method_settings(args: &ExplainArgs, method: Method, model: &Model) -> anyhow::Result<Settings> {
    let output = args.output;
    if method != Method::Counterfactual && !args.immutable.is_empty() {
        bail!("--immutable applies to --method counterfactual only");
    }
    let settings = match method {
        Method::TreeShap => MethodSettings::TreeShap(TreeShapSettings {
            output,
            interventional: args.background.is_some(),
        }),
        Method::LinearShap => MethodSettings::LinearShap(LinearShapSettings {
            output,
            probability: false,
        }),
        Method::KernelShap => {
            let defaults = KernelShapSettings::default();
            MethodSettings::KernelShap(KernelShapSettings {
                output,
                samples: args.samples.unwrap_or(defaults.samples),
                seed: args.seed.unwrap_or(defaults.seed),
                ..defaults
            })
        }
        Method::Lime => {
            let defaults = LimeSettings::default();
            MethodSettings::Lime(LimeSettings {
                output,
                samples: args.samples.unwrap_or(defaults.samples),
                seed: args.seed.unwrap_or(defaults.seed),
                ..defaults
            })
        }
        Method::Ig | Method::Saliency => {
            let defaults = GradientSettings::default();
            let settings = GradientSettings {
                output,
                steps: args.samples.unwrap_or(defaults.steps),
                ..defaults
            };
            if method == Method::Ig {
                MethodSettings::IntegratedGradients(settings)
            } else {
                MethodSettings::Saliency(settings)
            }
        }
        Method::Counterfactual => {
            if output.is_some() || args.samples.is_some() {
                bail!("--output and --samples do not apply to --method counterfactual");
            }
            let names = &model.info().names.features;
            let immutable = args
                .immutable
                .iter()
                .map(|item| {
                    let item = item.trim();
                    names
                        .iter()
                        .position(|n| n == item)
                        .or_else(|| item.parse::<usize>().ok())
                        .filter(|&j| j < model.n_features())
                        .with_context(|| {
                            format!("--immutable: {item:?} is neither a feature name nor an index below {}", model.n_features())
                        })
                })
                .collect::<anyhow::Result<Vec<usize>>>()?;
            return Ok(Settings::Counterfactual(CounterfactualSettings {
                immutable,
                seed: args.seed.unwrap_or(0),
                ..CounterfactualSettings::default()
            }));
        }
    };
    Ok(Settings::Attribution(settings))
}

/// Adds `type`, `row` and the model's identity to an attribution's JSON object.
fn tag(json: &mut Value, kind: &str, row: usize, model: &Model) -> Value {
    if let Some(object) = json.as_object_mut() {
        object.insert("type".into(), json!(kind));
        object.insert("row".into(), json!(row));
        object.insert("model".into(), json!(model.identity()));
    }
    json.take()
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

/// Rows rounded to f32 (to the nearest), for the explained path and the attributions.
fn to_f32_rows(rows: &[Vec<f64>]) -> Vec<Vec<f32>> {
    rows.iter()
        .map(|row| row.iter().map(|&x| x as f32).collect())
        .collect()
}

/// Rows of `n_features` values from CSV with a header or JSON lines.
fn parse_rows(text: &str, n_features: usize, names: &[String]) -> anyhow::Result<Vec<Vec<f64>>> {
    if text.trim_start().starts_with('{') {
        parse_json_lines(text, n_features, names)
    } else {
        parse_csv(text, n_features, names)
    }
}

fn parse_value(cell: &str) -> anyhow::Result<f64> {
    let cell = cell.trim().trim_matches('"');
    if cell.is_empty() || cell.eq_ignore_ascii_case("nan") || cell.eq_ignore_ascii_case("na") {
        return Ok(f64::NAN);
    }
    cell.parse::<f64>()
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

fn parse_csv(text: &str, n_features: usize, names: &[String]) -> anyhow::Result<Vec<Vec<f64>>> {
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

fn json_number(value: &Value, at: &str) -> anyhow::Result<f64> {
    match value {
        Value::Null => Ok(f64::NAN),
        Value::Number(n) => n.as_f64().with_context(|| format!("{at}: not a number")),
        Value::String(s) => parse_value(s).with_context(|| at.to_owned()),
        other => bail!("{at}: expected a number, found {other}"),
    }
}

fn parse_json_lines(
    text: &str,
    n_features: usize,
    names: &[String],
) -> anyhow::Result<Vec<Vec<f64>>> {
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
