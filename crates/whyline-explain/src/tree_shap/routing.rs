//! The row's direction at a split, as each library routes it.

use whyline_core::SplitTest;
use whyline_models::{MissingRule, Split};

/// LightGBM treats `|x| <= 1e-35` as zero (`kZeroThreshold`).
const LIGHTGBM_ZERO_THRESHOLD: f64 = 1e-35;

/// Which way a split sends `value`, missing values by the library's rule: the same
/// decision as `whyline_models::Tree::leaf_index` makes (mirrored here because that crate
/// keeps it private; the shap fixtures with NaN, zero-as-missing and categorical rows pin
/// both).
#[inline]
pub(crate) fn goes_left(split: &Split, value: f32) -> bool {
    let nan = value.is_nan();
    match split.test {
        SplitTest::InCategories | SplitTest::NotInCategories => {
            if nan && split.missing == MissingRule::NanDefault {
                return split.default_left;
            }
            let member = !nan
                && (0.0..2_147_483_648.0).contains(&value)
                && split.categories.binary_search(&(value as u32)).is_ok();
            if split.test == SplitTest::InCategories {
                member
            } else {
                !member
            }
        }
        SplitTest::LessOrEqual | SplitTest::Less => {
            let value = match split.missing {
                MissingRule::Reject => value,
                MissingRule::NanIsNoCategory => {
                    if nan {
                        return false;
                    }
                    value
                }
                MissingRule::NanDefault => {
                    if nan {
                        return split.default_left;
                    }
                    value
                }
                MissingRule::NanAsZero => {
                    if nan {
                        0.0
                    } else {
                        value
                    }
                }
                MissingRule::ZeroDefault => {
                    if nan || f64::from(value).abs() <= LIGHTGBM_ZERO_THRESHOLD {
                        return split.default_left;
                    }
                    value
                }
            };
            if split.test == SplitTest::Less {
                value < split.threshold
            } else {
                value <= split.threshold
            }
        }
    }
}
