//! `whyline explain --model FILE --input FILE`: load any supported model (format detected from
//! its content) and print one explanation per input row.
//!
//! Input rows are read by `whyline_models::rows`: CSV with a header row (columns matched to
//! the model's feature names when it has them), CSV without one (`--no-header`: columns in
//! order), or JSON lines (`[...]`, `{"features": [...]}` or an object of named fields).
//! Input that cannot be what the user meant (no header, a header without rows, a header
//! that does not name the features, no rows at all) is an error naming the line. Empty
//! cells, `NaN` and JSON `null` are missing values (NaN), which only models with a
//! missing-value rule accept.
//!
//! `--format json` prints JSON lines, one object per row with `"type": "explanation"`:
//! `row`, `prediction` (value or class index), `label` (numeric class label when known),
//! `class_name` (its name when the model names its classes), `probabilities`, `raw`,
//! `top_features` (`[{index, name, value}]`), `model` (its identity) and `path` (the
//! decision path's JSON view).
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
//! with `row` and `model`. The method's explainer is built once for every row; `--jobs N`
//! (default: every core) spreads the rows over N threads, with the output of `--jobs 1`,
//! byte for byte.
//!
//! Exit status: 2 when the method cannot run (it does not fit the model, the background
//! is missing or has the wrong width, a setting is out of range); 1 when a counterfactual
//! is impossible for some row (the others are printed, the reason goes to stderr).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use whyline_core::{DecisionPath, Explainable};
use whyline_explain::{
    Background, CounterfactualSettings, ExplainError, Explainer, GradientSettings,
    KernelShapSettings, LimeSettings, LinearShapSettings, MethodSettings, TreeShapSettings,
};
use whyline_models::{
    ColumnMapping, ExplainedDecision, Model, RowFormat, RowOptions, Rows, RowsError,
};

use crate::Outcome;
use crate::output::{self, Format, TEXT_OR_JSON};

/// Arguments of `whyline explain`.
#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// The model file: whyline JSON (scikit-learn export), XGBoost JSON, LightGBM text or
    /// aprender `.apr`.
    #[arg(long)]
    model: PathBuf,

    /// The Ed25519 public key (32 raw bytes or 64 hex digits) a signed aprender `.apr`
    /// model must verify with. Without it a signed file is checked with the key it carries,
    /// which shows its bytes are intact but not who signed them.
    #[arg(long, value_name = "FILE")]
    apr_public_key: Option<PathBuf>,

    /// The rows to explain: CSV with a header row naming the features, or JSON lines
    /// ("-" reads standard input).
    #[arg(long)]
    input: PathBuf,

    /// The CSV input (and background) has no header line: its columns are the model's
    /// features in order.
    #[arg(long)]
    no_header: bool,

    /// Output format: readable text, or one JSON object per row.
    #[arg(long, value_parser = Format::parser(TEXT_OR_JSON), default_value = "text")]
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

    /// The class (index) or boosting output explained; by default the predicted class, or
    /// output 0.
    // `--output`, its old name, still works (hidden).
    #[arg(long, alias = "output", value_name = "K", requires = "method")]
    class: Option<usize>,

    /// Counterfactuals: features that may not change (indices or names, comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',', requires = "method")]
    immutable: Vec<String>,

    /// Threads explaining rows with --method (default: every core); the output is the
    /// same, in the same order, for every N.
    #[arg(
        long,
        value_name = "N",
        requires = "method",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
    )]
    jobs: Option<usize>,
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

pub(crate) fn run(args: &ExplainArgs) -> anyhow::Result<Outcome> {
    let model = crate::commands::demo::load_model(&args.model, args.apr_public_key.as_deref())?;
    let rows = read_rows(&args.input, &model, !args.no_header, "")?;
    if let Some(method) = args.method {
        return run_method(args, method, &model, &f32_rows(&rows));
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (index, row) in rows.iter().enumerate() {
        let explanation = model.explain_row(row).with_context(|| {
            format!(
                "{}: row {} (line {})",
                args.input.display(),
                index + 1,
                rows.line(index).unwrap_or(index + 1)
            )
        })?;
        match args.format {
            Format::Html => return Err(Format::Html.unsupported("explain")),
            Format::Text => write_text(&mut out, &model, index, &explanation, args.top)?,
            Format::Json => {
                let line = explanation.to_json(&model, index, args.top.unwrap_or(5))?;
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
            let rows = f32_rows(&read_rows(path, model, !args.no_header, "background ")?);
            Some(
                Background::from_rows(&rows, n_features)
                    .with_context(|| format!("background {}", path.display()))?,
            )
        }
        None => None,
    };
    let settings = match method_settings(args, method, model)? {
        Settings::Attribution(settings) => settings,
        Settings::Counterfactual(settings) => MethodSettings::Counterfactual(settings),
    };
    // Built once (trees compiled, LIME's discretiser, KernelSHAP's coalitions, …) and
    // shared by every row and thread.
    let explainer = Explainer::new(model, &settings, background.as_ref())
        .with_context(|| format!("{}: {}", args.input.display(), settings.method_name()))?;
    let jobs = match args.jobs {
        Some(jobs) => jobs,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut outcome = Outcome::Clean;
    // Batches of rows keep the output flowing (and memory bounded) on long inputs; each
    // batch runs on `jobs` threads and comes back in input order.
    let batch = 256 * jobs;
    for (first, batch_rows) in rows.chunks(batch).enumerate() {
        let first = first * batch;
        let flat: Vec<f32> = batch_rows.concat();
        for (offset, explained) in explainer.explain_rows(&flat, jobs).into_iter().enumerate() {
            let index = first + offset;
            let at = || format!("{}: row {}", args.input.display(), index + 1);
            let explanation = match explained {
                Ok(explanation) => explanation,
                Err(error @ ExplainError::ImpossibleCounterfactual { .. }) => {
                    output::problem(&format!("{}: {error}", at()));
                    outcome = Outcome::Problem;
                    continue;
                }
                Err(error) => return Err(anyhow::Error::new(error).context(at())),
            };
            let kind = explanation.kind();
            match args.format {
                Format::Html => return Err(Format::Html.unsupported("explain")),
                Format::Json => {
                    let mut json = explanation.to_json();
                    serde_json::to_writer(&mut out, &tag(&mut json, kind, index, model))?;
                    writeln!(out)?;
                }
                Format::Text => {
                    writeln!(
                        out,
                        "row {}: {}",
                        index + 1,
                        explanation.to_text().trim_end()
                    )?;
                    writeln!(out)?;
                }
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
    let output = args.class;
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
                bail!("--class and --samples do not apply to --method counterfactual");
            }
            let names = &model.info().names.features;
            let immutable = args
                .immutable
                .iter()
                .map(|item| {
                    whyline_models::rows::feature_index(names, model.n_features(), item)
                        .with_context(|| {
                            format!(
                                "--immutable: \"{item}\" is neither a feature name nor an index below {}",
                                model.n_features()
                            )
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

/// Reads the rows of `path` ("-" for standard input) for the model, with the library's
/// parser; notes the header columns it ignores.
fn read_rows(path: &Path, model: &Model, header: bool, what: &str) -> anyhow::Result<Rows> {
    let options = RowOptions::new().header(header);
    let (rows, shown) = if path.as_os_str() == "-" {
        let stdin = std::io::stdin();
        let rows = Rows::for_model(stdin.lock(), RowFormat::Auto, model, options);
        (rows, "standard input".to_owned())
    } else {
        let rows = Rows::for_model_path(path, RowFormat::Auto, model, options);
        (rows, path.display().to_string())
    };
    let rows = match rows {
        Ok(rows) => rows,
        // The error names the file already.
        Err(error @ RowsError::Open { .. }) => return Err(error.into()),
        Err(error) => {
            return Err(anyhow::Error::new(error).context(format!("reading {what}{shown}")));
        }
    };
    if let ColumnMapping::ByHeader { ignored, .. } = rows.mapping()
        && !ignored.is_empty()
    {
        output::note(&format!(
            "{shown}: ignoring column{} {} (no feature of the model has that name)",
            if ignored.len() == 1 { "" } else { "s" },
            ignored.join(", ")
        ));
    }
    Ok(rows)
}

/// The rows in `f32`, one vector per row: what decision paths and explainers take.
fn f32_rows(rows: &Rows) -> Vec<Vec<f32>> {
    rows.iter()
        .map(|row| row.iter().map(|&x| x as f32).collect())
        .collect()
}

/// The explanation for people: output, confidence, the path's own words, and with `--top`
/// the heaviest features.
fn write_text(
    out: &mut impl Write,
    model: &Model,
    index: usize,
    explanation: &ExplainedDecision,
    top: Option<usize>,
) -> anyhow::Result<()> {
    let path = &explanation.path;
    writeln!(
        out,
        "row {}: output={} confidence={:.2}",
        index + 1,
        explanation.output,
        path.confidence()
    )?;
    let names = &model.info().names;
    for line in path.explain_with(names).lines() {
        writeln!(out, "    {line}")?;
    }
    if let Some(k) = top.filter(|_| !path.feature_contributions().is_empty()) {
        writeln!(out, "    Top {k} features by attribution:")?;
        for feature in explanation.top_features(names, k) {
            writeln!(
                out,
                "      - {}: {}",
                names.feature(feature.index),
                feature.value
            )?;
        }
    }
    writeln!(out)?;
    Ok(())
}
