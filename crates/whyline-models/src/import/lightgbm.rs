//! LightGBM's text model (`Booster.save_model("model.txt")`).
//!
//! Semantics reproduced: `x <= threshold` goes left (thresholds are doubles, stored as the
//! largest f32 not above them); `decision_type` bit 0 marks a categorical split (the
//! categories sending a row left are the bits of `cat_threshold` between two
//! `cat_boundaries`; NaN and negative values go right), bit 1 `default_left`, bits 2–3 the
//! missing type (0 None: NaN reads as 0; 1 Zero: NaN and zero take the default; 2 NaN: NaN
//! takes the default). Leaf values are doubles with the shrinkage already folded in,
//! summed in f64 in tree order; tree `i` adds to class `i % num_tree_per_iteration`.
//! Objectives: `regression` (and the other identity-link regression objectives),
//! `binary` (sigmoid with its `sigmoid:` scale) and `multiclass` (softmax).

use std::collections::HashMap;
use std::path::Path;

use whyline_core::Names;

use crate::boosting::{Accumulation, GradientBoosting, Link};
use crate::decision_tree::Task;
use crate::error::{ModelError, Result};
use crate::info::ModelInfo;
use crate::model::{Loaded, ModelKind};

use super::lightgbm_tree::{TreeBlock, tree};

/// The first line of a LightGBM model file.
pub(crate) const MAGIC_LINE: &str = "tree";

/// Reads LightGBM model text: the sections, the header's version, objective and names,
/// then each tree block ([`lightgbm_tree`](super::lightgbm_tree)).
pub(crate) fn load(text: &str, file: &Path) -> Result<Loaded> {
    let sections = Sections::read(text, file)?;
    let header = Header {
        lines: &sections.header,
        file,
    };
    let version = header.version()?;
    header.reject_random_forest()?;
    let n_features = header.usize("max_feature_idx")? + 1;
    let objective = header.objective()?;
    let per_iteration = header.usize("num_tree_per_iteration")?;
    if per_iteration != objective.n_groups || objective.n_groups == 0 {
        return Err(ModelError::malformed(
            file,
            "num_tree_per_iteration",
            format!(
                "{per_iteration}, expected {} for {}",
                objective.n_groups, objective.name
            ),
        ));
    }
    if sections.trees.is_empty() {
        return Err(ModelError::malformed(
            file,
            "Tree=0",
            "the model has no trees",
        ));
    }
    let trees = sections
        .trees
        .iter()
        .enumerate()
        .map(|(index, lines)| tree(&TreeBlock { lines, index, file }, n_features))
        .collect::<Result<Vec<_>>>()?;
    let tree_groups = (0..trees.len())
        .map(|t| (t % per_iteration) as u32)
        .collect();
    Ok(Loaded {
        kind: ModelKind::GradientBoosting(GradientBoosting {
            trees,
            tree_groups,
            base_score: vec![0.0; objective.n_groups],
            link: objective.link,
            accumulation: Accumulation::F64,
            task: objective.task,
            n_features,
            allows_missing: true,
            info: header.info(n_features),
        }),
        format_version: version,
        model_type: objective.name,
        producer: "lightgbm".to_owned(),
    })
}

/// The file cut into its header lines and one map of lines per `Tree=` block, up to the
/// required `end of trees` line.
struct Sections<'a> {
    header: HashMap<&'a str, &'a str>,
    trees: Vec<HashMap<&'a str, &'a str>>,
}

impl<'a> Sections<'a> {
    fn read(text: &'a str, file: &Path) -> Result<Sections<'a>> {
        let mut lines = text.lines();
        if lines.next().map(str::trim) != Some(MAGIC_LINE) {
            return Err(ModelError::malformed(
                file,
                "line 1",
                "a LightGBM model starts with the line `tree`",
            ));
        }
        let mut sections = Sections {
            header: HashMap::new(),
            trees: Vec::new(),
        };
        for line in lines {
            let line = line.trim_end_matches('\r');
            if line == "end of trees" {
                return Ok(sections);
            }
            if line.is_empty() {
                continue;
            }
            let (key, value) = line.split_once('=').unwrap_or((line, ""));
            if key == "Tree" {
                sections.trees.push(HashMap::new());
                continue;
            }
            match sections.trees.last_mut() {
                Some(tree) => tree.insert(key, value),
                None => sections.header.insert(key, value),
            };
        }
        Err(ModelError::malformed(
            file,
            "end of trees",
            "missing: the file is truncated",
        ))
    }
}

/// What the objective line makes of the margins.
struct Objective {
    /// The objective's name (`binary`), the model type.
    name: String,
    link: Link,
    task: Task,
    /// Margins per row (classes for `multiclass`, else 1).
    n_groups: usize,
}

/// The header's lines and the file, which every error names.
struct Header<'a> {
    lines: &'a HashMap<&'a str, &'a str>,
    file: &'a Path,
}

impl Header<'_> {
    fn get(&self, key: &str) -> Result<&str> {
        self.lines
            .get(key)
            .copied()
            .ok_or_else(|| ModelError::malformed(self.file, key, "missing header line"))
    }

    fn usize(&self, key: &str) -> Result<usize> {
        self.get(key)?
            .trim()
            .parse()
            .map_err(|_| ModelError::malformed(self.file, key, "expected an unsigned integer"))
    }

    /// `version`: v3 or v4.
    fn version(&self) -> Result<String> {
        let version = self.get("version")?.to_owned();
        if version != "v3" && version != "v4" {
            return Err(ModelError::UnsupportedVersion {
                path: self.file.to_path_buf(),
                format: "LightGBM text",
                found: version,
                supported: "v3, v4",
            });
        }
        Ok(version)
    }

    /// Random-forest mode (`average_output`) is refused.
    fn reject_random_forest(&self) -> Result<()> {
        if self.lines.contains_key("average_output") {
            return Err(ModelError::unsupported(
                self.file,
                "average_output",
                "present",
                "boosted models (random-forest mode is not supported)",
            ));
        }
        Ok(())
    }

    /// The `objective` line: its name, options (`sigmoid:1`) and what they make of the
    /// margins.
    fn objective(&self) -> Result<Objective> {
        let file = self.file;
        let num_class = self.usize("num_class")?;
        let objective = self.get("objective")?.trim();
        let mut words = objective.split_whitespace();
        let name = words.next().unwrap_or("").to_owned();
        if words.any(|w| w == "sqrt") {
            return Err(ModelError::unsupported(
                file,
                "objective",
                objective,
                "objectives without the sqrt transform (reg_sqrt)",
            ));
        }
        let option = |key: &str| {
            objective
                .split_whitespace()
                .find_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix(':')))
        };
        let (link, task, n_groups) = match name.as_str() {
            "regression" | "regression_l2" | "regression_l1" | "huber" | "fair" | "quantile"
            | "mape" => (Link::Identity, Task::Regression, 1),
            "binary" => {
                let scale = match option("sigmoid") {
                    Some(v) => v.parse::<f64>().map_err(|_| {
                        ModelError::malformed(
                            file,
                            "objective",
                            format!("sigmoid:{v} is not a number"),
                        )
                    })?,
                    None => 1.0,
                };
                (
                    Link::Logistic { scale },
                    Task::Classification { n_classes: 2 },
                    1,
                )
            }
            "multiclass" => (
                Link::Softmax,
                Task::Classification {
                    n_classes: num_class,
                },
                num_class,
            ),
            other => {
                return Err(ModelError::unsupported(
                    file,
                    "objective",
                    other,
                    "regression, binary or multiclass",
                ));
            }
        };
        Ok(Objective {
            name,
            link,
            task,
            n_groups,
        })
    }

    /// Feature names (`feature_names`, when it names every feature).
    fn info(&self, n_features: usize) -> ModelInfo {
        let features: Vec<String> = self
            .lines
            .get("feature_names")
            .map(|names| names.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        ModelInfo {
            names: Names {
                features: if features.len() == n_features {
                    features
                } else {
                    Vec::new()
                },
                classes: Vec::new(),
            },
            class_values: Vec::new(),
            feature_stats: None,
        }
    }
}
