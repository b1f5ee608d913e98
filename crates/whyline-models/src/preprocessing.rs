//! The preprocessing stage of a scikit-learn `Pipeline`: the model's input columns as the
//! user has them (numbers, and categories by name), and how each feature the estimator
//! reads is computed from one of them (`docs/model-format.md`, "Preprocessing").
//!
//! # How a row flows
//!
//! ```text
//! input columns (f64; a categorical column holds its category's index)
//!   │  per estimator feature: one input column, then its transforms in order
//!   │  (impute, standardize, affine, clip, lookup, unknown, one-hot)
//!   ▼
//! estimator features (f64) ──► the estimator (tree, forest, boosting, linear, …)
//! ```
//!
//! Every transform maps one value to one value with the operations scikit-learn performs
//! and in its order (`(x − mean) / scale`, `x × scale + min`), in f64, so the features equal
//! scikit-learn's `transform` bit for bit. Transforms of one column never read another, so
//! attributions of the estimator's features add back into their input column
//! ([`Preprocessing::attribute`]) and a tree's threshold on a scaled feature maps back onto
//! the column's own scale (`path.rs`).
//!
//! # Categorical values
//!
//! A categorical column's value is the index of its category in
//! [`InputKind::Categorical::categories`] (as `f64`): the rows module turns `"Paris"` into
//! its index, [`Model::predict`](crate::Model::predict) takes the index. `-1` is a category
//! the model does not know and NaN a missing value; both reach the encoders as scikit-learn's
//! unknown category: all zeros from a one-hot encoder with `handle_unknown="ignore"`, the
//! `unknown_value` of an ordinal encoder with `handle_unknown="use_encoded_value"`, an
//! error ([`CoreError::InvalidCategory`]) where the encoder raises.

mod path;

use whyline_core::CoreError;

/// One category of a categorical input: the text or number the column held at training.
#[derive(Clone, Debug, PartialEq)]
pub enum Category {
    /// A string category (`"Paris"`).
    Text(String),
    /// A numeric category (a column of integers encoded as categories).
    Number(f64),
}

impl Category {
    /// Whether the cell text `text` names this category: the same string, or the same
    /// number for a numeric category.
    pub fn matches(&self, text: &str) -> bool {
        match self {
            Category::Text(name) => name == text || name.trim() == text.trim(),
            Category::Number(value) => text.trim().parse::<f64>().is_ok_and(|x| x == *value),
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Category::Text(name) => write!(f, "{name}"),
            Category::Number(value) => write!(f, "{value}"),
        }
    }
}

/// What an input column holds.
#[derive(Clone, Debug, PartialEq)]
pub enum InputKind {
    /// Numbers (NaN is missing).
    Numeric,
    /// Categories; the value is the category's index, `-1` unknown, NaN missing.
    Categorical {
        /// The known categories, in the encoder's order.
        categories: Vec<Category>,
        /// Whether every encoder reading the column accepts an unknown category
        /// (`handle_unknown="ignore"` or `"use_encoded_value"`).
        accepts_unknown: bool,
        /// Whether the encoders saw missing values in training and keep them as a
        /// category of their own (a one-hot column of their own, `encoded_missing_value`),
        /// rather than as an unknown category.
        missing_is_category: bool,
    },
    /// A column the pipeline drops: read and never used (any value is accepted).
    Ignored,
}

/// One input column of the model.
#[derive(Clone, Debug, PartialEq)]
pub struct InputColumn {
    /// The column's name (`feature_names_in_`, or `x0`, `x1`, …).
    pub name: String,
    /// Numbers, categories, or unused.
    pub kind: InputKind,
}

/// One operation on one value, as scikit-learn computes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Transform {
    /// `SimpleImputer`: NaN becomes `value`.
    Impute {
        /// The fill (a statistic, a constant, or a category index).
        value: f64,
    },
    /// `StandardScaler`, `RobustScaler`, `MaxAbsScaler`: `(x − center) / scale`.
    Standardize {
        /// Subtracted first (0 without centring).
        center: f64,
        /// Divided by next (1 without scaling).
        scale: f64,
    },
    /// `MinMaxScaler`: `x × scale + offset`.
    Affine {
        /// Multiplies first.
        scale: f64,
        /// Added next.
        offset: f64,
    },
    /// `MinMaxScaler(clip=True)`: clamped into `[min, max]` (NaN stays NaN).
    Clip {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// An encoder after a numeric step: the value's index among `values` (`lookup`), `-1`
    /// when absent, NaN when missing. Its values are in [`Preprocessing::lookups`].
    Lookup {
        /// Index into [`Preprocessing::lookups`].
        table: usize,
    },
    /// `OrdinalEncoder(handle_unknown="use_encoded_value")`: an unknown category (`-1`)
    /// or a missing one (NaN) becomes `value`.
    Unknown {
        /// scikit-learn's `unknown_value` (NaN allowed).
        value: f64,
    },
    /// `OneHotEncoder`: 1 when the value is category `category`, else 0.
    OneHot {
        /// The category index this feature indicates.
        category: u32,
    },
    /// `OneHotEncoder`'s column of the missing category (it saw missing values in
    /// training): 1 when the value is missing (NaN), else 0.
    OneHotMissing,
}

impl Transform {
    /// Whether the operation keeps the order of values and maps numbers to numbers, so a
    /// threshold maps back through it: imputation (outside NaN), centring and scaling by a
    /// positive number, an increasing affine map.
    fn is_increasing(&self) -> bool {
        match *self {
            Transform::Impute { .. } => true,
            Transform::Standardize { scale, .. } | Transform::Affine { scale, .. } => scale > 0.0,
            Transform::Clip { .. }
            | Transform::Lookup { .. }
            | Transform::Unknown { .. }
            | Transform::OneHot { .. }
            | Transform::OneHotMissing => false,
        }
    }
}

/// One feature the estimator reads: an input column and its transforms, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct DerivedFeature {
    /// The input column (index into [`Preprocessing::inputs`]).
    pub input: usize,
    /// The transforms, applied in order.
    pub transforms: Vec<Transform>,
}

/// The preprocessing stage: input columns and the features computed from them.
#[derive(Clone, Debug, PartialEq)]
pub struct Preprocessing {
    /// The model's input columns, in the order rows give them.
    pub inputs: Vec<InputColumn>,
    /// The estimator's features, in its order.
    pub features: Vec<DerivedFeature>,
    /// The value lists of [`Transform::Lookup`].
    pub lookups: Vec<Vec<f64>>,
    /// The scikit-learn steps, by class name (informational).
    pub steps: Vec<String>,
}

impl Preprocessing {
    /// Input columns per row.
    pub fn n_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// Features the estimator reads.
    pub fn n_features(&self) -> usize {
        self.features.len()
    }

    /// The input names.
    pub fn input_names(&self) -> Vec<String> {
        self.inputs.iter().map(|c| c.name.clone()).collect()
    }

    /// The value of the text `text` in categorical input `input`, as rows and front ends
    /// (the Python package) give it to [`Model::predict`](crate::Model::predict): the
    /// index of the category it names, NaN for a missing value (empty, `NaN`, `NA`), `-1`
    /// for an unknown category where the column accepts one; `None` for an unknown category
    /// the column refuses, or an input that is not categorical.
    ///
    /// ```
    /// use whyline_models::{Category, InputColumn, InputKind, Preprocessing};
    /// let stage = Preprocessing {
    ///     inputs: vec![InputColumn {
    ///         name: "city".into(),
    ///         kind: InputKind::Categorical {
    ///             categories: vec![Category::Text("Lyon".into()), Category::Text("Paris".into())],
    ///             accepts_unknown: false,
    ///             missing_is_category: false,
    ///         },
    ///     }],
    ///     features: Vec::new(),
    ///     lookups: Vec::new(),
    ///     steps: Vec::new(),
    /// };
    /// assert_eq!(stage.category_value(0, "Paris"), Some(1.0));
    /// assert!(stage.category_value(0, "").is_some_and(f64::is_nan));
    /// assert_eq!(stage.category_value(0, "Brest"), None); // refused, as scikit-learn raises
    /// ```
    pub fn category_value(&self, input: usize, text: &str) -> Option<f64> {
        category_value_in(&self.inputs, input, text)
    }

    /// Checks a row of input values (its width, finite numbers, category indices), as every
    /// transform expects it.
    pub fn check(&self, row: &[f64]) -> Result<(), CoreError> {
        if row.len() != self.inputs.len() {
            return Err(CoreError::FeatureCount {
                expected: self.inputs.len(),
                found: row.len(),
            });
        }
        for (feature_index, (column, &value)) in self.inputs.iter().zip(row).enumerate() {
            match &column.kind {
                InputKind::Numeric if value.is_infinite() => {
                    return Err(CoreError::NonFiniteInput {
                        row: None,
                        feature_index,
                        feature_name: Some(column.name.clone()),
                        value: value as f32,
                    });
                }
                InputKind::Categorical { categories, .. } => {
                    let index_ok = value.is_nan()
                        || value == -1.0
                        || (value >= 0.0
                            && value.fract() == 0.0
                            && value < categories.len() as f64);
                    if !index_ok {
                        return Err(self.invalid_category(feature_index, value));
                    }
                }
                InputKind::Numeric | InputKind::Ignored => {}
            }
        }
        Ok(())
    }

    fn invalid_category(&self, feature_index: usize, value: f64) -> CoreError {
        let column = self.inputs.get(feature_index);
        let n_categories = match column.map(|c| &c.kind) {
            Some(InputKind::Categorical { categories, .. }) => categories.len(),
            _ => 0,
        };
        CoreError::InvalidCategory {
            feature_index,
            feature_name: column.map(|c| c.name.clone()),
            value,
            n_categories,
        }
    }

    /// The estimator's features of the input row `row` (checked first), written into
    /// `features` (resized).
    pub fn transform_into(&self, row: &[f64], features: &mut Vec<f64>) -> Result<(), CoreError> {
        self.check(row)?;
        features.clear();
        for feature in &self.features {
            features.push(self.apply(feature, row)?);
        }
        Ok(())
    }

    /// One feature's value from a checked row.
    fn apply(&self, feature: &DerivedFeature, row: &[f64]) -> Result<f64, CoreError> {
        let mut x = row.get(feature.input).copied().unwrap_or(f64::NAN);
        for transform in &feature.transforms {
            x = match *transform {
                Transform::Impute { value } => {
                    if x.is_nan() {
                        value
                    } else {
                        x
                    }
                }
                Transform::Standardize { center, scale } => (x - center) / scale,
                Transform::Affine { scale, offset } => x * scale + offset,
                Transform::Clip { min, max } => {
                    if x.is_nan() {
                        x
                    } else {
                        x.max(min).min(max)
                    }
                }
                Transform::Lookup { table } => {
                    if x.is_nan() {
                        x
                    } else {
                        self.lookups
                            .get(table)
                            .and_then(|values| values.iter().position(|&v| v == x))
                            .map_or(-1.0, |i| i as f64)
                    }
                }
                Transform::Unknown { value } => {
                    let missing_unknown = x.is_nan() && !self.missing_is_category(feature.input);
                    if missing_unknown || x == -1.0 {
                        value
                    } else {
                        x
                    }
                }
                Transform::OneHotMissing => f64::from(u8::from(x.is_nan())),
                Transform::OneHot { category } => {
                    if x.is_nan() && self.missing_is_category(feature.input) {
                        0.0
                    } else if x.is_nan() || x == -1.0 {
                        if !self.accepts_unknown(feature.input) {
                            let value = row.get(feature.input).copied().unwrap_or(f64::NAN);
                            return Err(self.invalid_category(feature.input, value));
                        }
                        0.0
                    } else if x == f64::from(category) {
                        1.0
                    } else {
                        0.0
                    }
                }
            };
        }
        Ok(x)
    }

    /// The estimator's features of the input row `row`.
    pub fn transform(&self, row: &[f64]) -> Result<Vec<f64>, CoreError> {
        let mut features = Vec::with_capacity(self.features.len());
        self.transform_into(row, &mut features)?;
        Ok(features)
    }

    fn accepts_unknown(&self, input: usize) -> bool {
        match self.inputs.get(input).map(|c| &c.kind) {
            Some(InputKind::Categorical {
                accepts_unknown, ..
            }) => *accepts_unknown,
            _ => true,
        }
    }

    fn missing_is_category(&self, input: usize) -> bool {
        matches!(
            self.inputs.get(input).map(|c| &c.kind),
            Some(InputKind::Categorical {
                missing_is_category: true,
                ..
            })
        )
    }

    /// The input column each estimator feature comes from.
    pub fn feature_inputs(&self) -> impl ExactSizeIterator<Item = usize> + '_ {
        self.features.iter().map(|f| f.input)
    }

    /// Attributions of the estimator's features (`values`, one per feature) summed into
    /// their input columns, in feature order (so the sum of the result equals the sum of
    /// `values` up to the rounding of the per-column partial sums).
    pub fn attribute(&self, values: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.inputs.len()];
        for (feature, value) in self.features.iter().zip(values) {
            if let Some(slot) = out.get_mut(feature.input) {
                *slot += value;
            }
        }
        out
    }

    /// [`attribute`](Preprocessing::attribute) for `f32` values.
    pub fn attribute_f32(&self, values: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0f32; self.inputs.len()];
        for (feature, value) in self.features.iter().zip(values) {
            if let Some(slot) = out.get_mut(feature.input) {
                *slot += value;
            }
        }
        out
    }

    /// Maps the value `threshold` of estimator feature `feature` back onto its input
    /// column's scale, when every transform of the feature is increasing (imputation,
    /// centring and scaling, an increasing affine map): the `x` with `f(x) = threshold`.
    pub fn threshold_to_input(&self, feature: usize, threshold: f64) -> Option<f64> {
        let derived = self.features.get(feature)?;
        if !derived.transforms.iter().all(Transform::is_increasing) {
            return None;
        }
        let mut x = threshold;
        for transform in derived.transforms.iter().rev() {
            x = match *transform {
                Transform::Standardize { center, scale } => x * scale + center,
                Transform::Affine { scale, offset } => (x - offset) / scale,
                _ => x,
            };
        }
        Some(x)
    }

    /// The categories of categorical input `input` whose derived value for estimator
    /// feature `feature` satisfies `goes_left`: how a split on an encoded feature reads in
    /// the column's own categories. `None` for a numeric input.
    pub(crate) fn categories_where(
        &self,
        feature: usize,
        goes_left: impl Fn(f64) -> bool,
    ) -> Option<Vec<u32>> {
        let derived = self.features.get(feature)?;
        let InputKind::Categorical { categories, .. } = &self.inputs.get(derived.input)?.kind
        else {
            return None;
        };
        let mut row = vec![f64::NAN; self.inputs.len()];
        let mut left = Vec::new();
        for index in 0..categories.len() {
            if let Some(slot) = row.get_mut(derived.input) {
                *slot = index as f64;
            }
            let value = self.apply(derived, &row).unwrap_or(f64::NAN);
            if goes_left(value) {
                left.push(index as u32);
            }
        }
        Some(left)
    }
}

/// [`Preprocessing::category_value`] over a list of input columns (the rows module's).
pub(crate) fn category_value_in(inputs: &[InputColumn], input: usize, text: &str) -> Option<f64> {
    let InputKind::Categorical {
        categories,
        accepts_unknown,
        ..
    } = &inputs.get(input)?.kind
    else {
        return None;
    };
    if let Some(index) = categories.iter().position(|c| c.matches(text)) {
        return Some(index as f64);
    }
    let trimmed = text.trim();
    if trimmed.is_empty()
        || trimmed.eq_ignore_ascii_case("nan")
        || trimmed.eq_ignore_ascii_case("na")
    {
        return Some(f64::NAN);
    }
    accepts_unknown.then_some(-1.0)
}

pub(crate) use path::remap_path;

#[cfg(test)]
mod tests {
    use super::*;

    fn stage() -> Preprocessing {
        Preprocessing {
            inputs: vec![
                InputColumn {
                    name: "city".into(),
                    kind: InputKind::Categorical {
                        categories: vec![
                            Category::Text("Lyon".into()),
                            Category::Text("Paris".into()),
                        ],
                        accepts_unknown: true,
                        missing_is_category: false,
                    },
                },
                InputColumn {
                    name: "income".into(),
                    kind: InputKind::Numeric,
                },
            ],
            features: vec![
                DerivedFeature {
                    input: 0,
                    transforms: vec![Transform::OneHot { category: 0 }],
                },
                DerivedFeature {
                    input: 0,
                    transforms: vec![Transform::OneHot { category: 1 }],
                },
                DerivedFeature {
                    input: 1,
                    transforms: vec![
                        Transform::Impute { value: 50.0 },
                        Transform::Standardize {
                            center: 40.0,
                            scale: 10.0,
                        },
                    ],
                },
            ],
            lookups: Vec::new(),
            steps: Vec::new(),
        }
    }

    #[test]
    fn one_hot_and_scaled_columns_transform_like_scikit_learn() {
        let stage = stage();
        assert_eq!(
            stage.transform(&[1.0, 60.0]).ok(),
            Some(vec![0.0, 1.0, 2.0])
        );
        assert_eq!(
            stage.transform(&[-1.0, f64::NAN]).ok(),
            Some(vec![0.0, 0.0, 1.0])
        );
    }

    #[test]
    fn a_category_index_out_of_range_is_refused_with_its_column() {
        let error = stage().transform(&[2.0, 1.0]).unwrap_err();
        assert!(
            matches!(
                &error,
                CoreError::InvalidCategory {
                    feature_index: 0,
                    n_categories: 2,
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn thresholds_map_back_through_scalers_and_attributions_add_into_columns() {
        let stage = stage();
        assert_eq!(stage.threshold_to_input(2, 1.2), Some(52.0));
        assert_eq!(stage.threshold_to_input(0, 0.5), None);
        assert_eq!(stage.attribute(&[0.25, 0.5, 2.0]), vec![0.75, 2.0]);
        assert_eq!(stage.categories_where(1, |v| v <= 0.5), Some(vec![0]));
    }
}
