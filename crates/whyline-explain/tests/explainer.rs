//! [`Explainer`]: built once, applied to many rows on many threads, with the same results
//! as explaining each row on its own; and the labelling of a binary classifier's margin.

use whyline_core::Explainable;
use whyline_explain::{
    Background, CounterfactualSettings, Explainer, Explanation, KernelShapSettings, LimeSettings,
    MethodSettings, TreeShap, TreeShapSettings, counterfactual, kernel_shap, lime,
};

use crate::common::*;

fn bits(explanation: &Explanation) -> String {
    // Debug prints every f64 in full (shortest round-trip), so equal text is equal bits.
    format!("{explanation:?}")
}

/// Every row of `rows` through `explain_rows` with 1 to 5 threads equals `explain_row`
/// and the per-row library function, bit for bit, in input order.
fn check_rows(
    explainer: &Explainer<'_>,
    rows: &[Vec<f32>],
    single: impl Fn(&[f32]) -> Explanation,
) {
    let flat: Vec<f32> = rows.concat();
    let expected: Vec<String> = rows.iter().map(|row| bits(&single(row))).collect();
    for (row, want) in rows.iter().zip(&expected) {
        assert_eq!(&bits(&explainer.explain_row(row).unwrap()), want);
    }
    for jobs in 1..=5 {
        let got: Vec<String> = explainer
            .explain_rows(&flat, jobs)
            .iter()
            .map(|r| bits(r.as_ref().unwrap()))
            .collect();
        assert_eq!(got, expected, "jobs {jobs}");
    }
}

#[test]
fn explain_rows_equals_each_row_explained_alone_for_every_thread_count() {
    let forest = model("sk_rf_clf_wine.whyline.json");
    let wine = rows(&explain_fixture("sk_rf_clf_wine.shap.json")["rows"]);
    let settings = MethodSettings::TreeShap(TreeShapSettings::default());
    let explainer = Explainer::new(&forest, &settings, None).unwrap();
    let shap = TreeShap::new(&forest).unwrap();
    check_rows(&explainer, &wine, |row| {
        Explanation::Attribution(shap.explain(row, None).unwrap())
    });

    let logistic = model("sk_logreg_breast_cancer.whyline.json");
    let oracle = explain_fixture("sk_logreg_breast_cancer.lime.json");
    let cancer = rows(&oracle["rows"]);
    let background_rows = rows(&oracle["background"]);
    let background = Background::from_rows(&background_rows, logistic.n_features()).unwrap();
    let kernel = KernelShapSettings {
        samples: 300,
        seed: 9,
        ..KernelShapSettings::default()
    };
    let explainer = Explainer::new(
        &logistic,
        &MethodSettings::KernelShap(kernel.clone()),
        Some(&background),
    )
    .unwrap();
    check_rows(&explainer, &cancer, |row| {
        Explanation::Attribution(kernel_shap(&logistic, row, &background, &kernel).unwrap())
    });
    let settings = LimeSettings {
        samples: 400,
        seed: 4,
        ..LimeSettings::default()
    };
    let explainer = Explainer::new(
        &logistic,
        &MethodSettings::Lime(settings.clone()),
        Some(&background),
    )
    .unwrap();
    check_rows(&explainer, &cancer, |row| {
        Explanation::Attribution(lime(&logistic, row, &background, &settings).unwrap())
    });
    let settings = CounterfactualSettings::default();
    let explainer = Explainer::new(
        &logistic,
        &MethodSettings::Counterfactual(settings.clone()),
        None,
    )
    .unwrap();
    check_rows(&explainer, &cancer, |row| {
        Explanation::Counterfactual(counterfactual(&logistic, row, &settings, None).unwrap())
    });
}

#[test]
fn explain_rows_reports_a_trailing_partial_row_and_keeps_the_others() {
    let forest = model("sk_rf_clf_wine.whyline.json");
    let wine = rows(&explain_fixture("sk_rf_clf_wine.shap.json")["rows"]);
    let explainer = Explainer::new(
        &forest,
        &MethodSettings::TreeShap(TreeShapSettings::default()),
        None,
    )
    .unwrap();
    let mut flat = wine.concat();
    flat.extend_from_slice(&wine[0][..3]);
    let results = explainer.explain_rows(&flat, 3);
    assert_eq!(results.len(), wine.len() + 1);
    assert!(results[..wine.len()].iter().all(Result::is_ok));
    assert!(
        matches!(
            results.last(),
            Some(Err(whyline_explain::ExplainError::InputWidth {
                found: 3,
                ..
            }))
        ),
        "{:?}",
        results.last()
    );
}

/// TreeSHAP takes rows in blocks: across several blocks, with a bad row inside one, every
/// good row still equals `explain_row` bit for bit and only the bad row gets its error.
#[test]
fn explain_rows_in_blocks_keep_each_row_and_name_only_the_bad_one() {
    let forest = model("sk_rf_reg_diabetes.whyline.json");
    let fixture_rows = rows(&explain_fixture("sk_rf_reg_diabetes.shap.json")["rows"]);
    let mut many: Vec<Vec<f32>> = fixture_rows.iter().cycle().take(75).cloned().collect();
    many[40][2] = f32::INFINITY;
    let explainer = Explainer::new(
        &forest,
        &MethodSettings::TreeShap(TreeShapSettings::default()),
        None,
    )
    .unwrap();
    for jobs in [1, 2] {
        let results = explainer.explain_rows(&many.concat(), jobs);
        assert_eq!(results.len(), many.len());
        for (r, (result, row)) in results.iter().zip(&many).enumerate() {
            if r == 40 {
                assert!(
                    matches!(
                        result,
                        Err(whyline_explain::ExplainError::InvalidInput {
                            feature_index: 2,
                            ..
                        })
                    ),
                    "{result:?}"
                );
                continue;
            }
            assert_eq!(
                bits(result.as_ref().unwrap()),
                bits(&explainer.explain_row(row).unwrap()),
                "jobs {jobs} row {r}"
            );
        }
    }
}

/// shap explains the one margin of a binary boosted classifier, and that margin is the
/// log-odds of class 1: the attribution is labelled with class 1.
#[test]
fn a_binary_boosted_margin_is_labelled_with_class_1() {
    for (file, fixture) in [
        (
            "sk_gb_clf_breast_cancer.whyline.json",
            "sk_gb_clf_breast_cancer.shap.json",
        ),
        (
            "xgb_binary_logistic_breast_cancer_missing.xgb.json",
            "xgb_binary_logistic_breast_cancer_missing.shap.json",
        ),
        (
            "lgb_binary_breast_cancer.lgb.txt",
            "lgb_binary_breast_cancer.shap.json",
        ),
    ] {
        let model = model(file);
        let oracle = explain_fixture(fixture);
        let row = &rows(&oracle["rows"])[0];
        let attribution = TreeShap::new(&model).unwrap().explain(row, None).unwrap();
        assert_eq!(attribution.output.index, 1, "{file}");
        let class_1 = model.info().names.classes.get(1).cloned();
        assert_eq!(attribution.output.name, class_1, "{file}");
        let p1 = predict_f32(&model, row).unwrap().probabilities.unwrap()[1];
        let margin = attribution.base_value + attribution.values.iter().sum::<f64>();
        assert!(
            (1.0 / (1.0 + (-margin).exp()) - p1).abs() < 1e-6,
            "{file}: σ(margin) {margin} is not p(class 1) {p1}"
        );
    }
}
