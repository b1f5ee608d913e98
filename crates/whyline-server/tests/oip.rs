//! The Open Inference Protocol routes, checked field by field against the protocol's schemas
//! and the predictions against scikit-learn's.

use serde_json::{Value, json};
use sha2::Digest;

use crate::common::{
    assert_schema, client, expected, fixture, get_json, get_text, infer, infer_body, rows, schema,
    shared, start,
};

#[tokio::test(flavor = "multi_thread")]
async fn health_routes_answer_live_and_ready() {
    let server = shared();
    let validator = schema("health_response.json");
    let (status, live) = get_json(server, "/v2/health/live").await;
    assert_eq!((status, &live), (200, &json!({ "live": true })));
    assert_schema(&validator, &live);
    let (status, ready) = get_json(server, "/v2/health/ready").await;
    assert_eq!((status, &ready), (200, &json!({ "ready": true })));
    assert_schema(&validator, &ready);
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_follows_the_protocol_and_names_features_classes_and_identity() {
    let server = shared();
    let (status, metadata) = get_json(server, "/v2/models/iris").await;
    assert_eq!(status, 200, "{metadata}");
    assert_schema(&schema("metadata_model_response.json"), &metadata);
    let file = std::fs::read(fixture("sk_logreg_iris.whyline.json")).unwrap();
    let model: Value = serde_json::from_slice(&file).unwrap();
    assert_eq!(metadata["name"], "iris");
    assert_eq!(
        metadata["inputs"],
        json!([{ "name": "input", "datatype": "FP32", "shape": [-1, 4] }])
    );
    let outputs: Vec<&str> = metadata["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(outputs, ["predict", "predict_proba", "class_name"]);
    assert_eq!(metadata["outputs"][1]["shape"], json!([-1, 3]));
    let parameters = &metadata["parameters"];
    assert_eq!(parameters["features"], model["feature_names"]);
    assert_eq!(parameters["classes"], model["class_names"]);
    assert_eq!(
        parameters["sha256"],
        hex::encode(sha2::Sha256::digest(&file)).as_str()
    );
    assert_eq!(parameters["model_type"], "logistic_regression");

    let (status, regressor) = get_json(server, "/v2/models/diabetes").await;
    assert_eq!(status, 200);
    assert_schema(&schema("metadata_model_response.json"), &regressor);
    assert_eq!(
        regressor["outputs"],
        json!([{ "name": "predict", "datatype": "FP64", "shape": [-1] }])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_is_predicted_as_scikit_learn_does_and_every_row_is_recorded() {
    let server = shared();
    let oracle = expected("sk_logreg_iris.expected.json");
    let rows = rows(&oracle);
    let (status, response) = infer(server, "iris", &infer_body(&rows)).await;
    assert_eq!(status, 200, "{response}");
    assert_schema(&schema("inference_response.json"), &response);
    assert_eq!(response["model_name"], "iris");
    assert_eq!(response["id"], "request-1");
    let n = rows.len();
    let outputs = response["outputs"].as_array().unwrap();
    assert_eq!(outputs[0]["name"], "predict");
    assert_eq!(outputs[0]["shape"], json!([n]));
    let labels: Vec<f64> = serde_json::from_value(outputs[0]["data"].clone()).unwrap();
    let oracle_labels: Vec<f64> = serde_json::from_value(oracle["predict"].clone()).unwrap();
    assert_eq!(labels, oracle_labels);
    assert_eq!(outputs[1]["name"], "predict_proba");
    assert_eq!(outputs[1]["shape"], json!([n, 3]));
    let proba: Vec<f64> = serde_json::from_value(outputs[1]["data"].clone()).unwrap();
    let oracle_proba: Vec<Vec<f64>> = serde_json::from_value(oracle["proba"].clone()).unwrap();
    for (got, want) in proba.iter().zip(oracle_proba.iter().flatten()) {
        assert!(
            (got - want).abs() <= 1e-12,
            "probability {got} != scikit-learn's {want}"
        );
    }
    let names = ["setosa", "versicolor", "virginica"];
    let class_names: Vec<String> = serde_json::from_value(outputs[2]["data"].clone()).unwrap();
    for (name, label) in class_names.iter().zip(&oracle_labels) {
        assert_eq!(name, names[*label as usize]);
    }

    let decisions = response["parameters"]["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), n);
    let mut indices: Vec<u64> = decisions
        .iter()
        .map(|d| d["index"].as_u64().unwrap())
        .collect();
    assert!(indices.windows(2).all(|w| w[0] < w[1]), "{indices:?}");
    indices.dedup();
    assert_eq!(indices.len(), n);
    for (decision, label) in decisions.iter().zip(&oracle_labels) {
        assert_eq!(decision["path"]["type"], "LinearPath");
        assert_eq!(decision["path"]["prediction"].as_f64(), Some(*label));
        assert_eq!(
            decision["path"]["contributions"].as_array().unwrap().len(),
            4
        );
    }
    // The receipt is the ledger's: the entry at that index has that leaf.
    let first = &decisions[0];
    let (status, entry) = get_json(server, &format!("/v1/decisions/{}", first["index"])).await;
    assert_eq!(status, 200, "{entry}");
    assert_eq!(entry["leaf"], first["leaf"]);
    assert_eq!(entry["trace"]["path"]["type"], "LinearPath");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_row_of_shape_f_is_one_decision_and_outputs_can_be_chosen() {
    let server = shared();
    let oracle = expected("sk_rf_reg_diabetes.expected.json");
    let row = rows(&oracle)[0].clone();
    let body = json!({
        "inputs": [{ "name": "x", "shape": [row.len()], "datatype": "FP32", "data": row }],
        "outputs": [{ "name": "predict" }],
    });
    let (status, response) = infer(server, "diabetes", &body).await;
    assert_eq!(status, 200, "{response}");
    assert_schema(&schema("inference_response.json"), &response);
    assert_eq!(response["id"], "");
    let outputs = response["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["shape"], json!([1]));
    let want = oracle["predict"][0].as_f64().unwrap();
    let got = outputs[0]["data"][0].as_f64().unwrap();
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{got} != {want}"
    );
    let decisions = response["parameters"]["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0]["path"]["type"], "ForestPath");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_refused_with_the_library_message_and_nothing_is_recorded() {
    let server = start(|_, _| {});
    let errors = schema("error_response.json");
    let entries = || async {
        let text = get_text(server.url("/metrics")).await;
        text.lines()
            .find_map(|l| l.strip_prefix("whyline_ledger_entries "))
            .unwrap()
            .to_owned()
    };
    let before = entries().await;
    let row = |width: usize| json!([{ "name": "x", "shape": [1, width], "datatype": "FP32", "data": vec![1.0; width] }]);
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "nobody",
            json!({ "inputs": row(4) }),
            404,
            "no model named \"nobody\"",
        ),
        (
            "iris",
            json!({ "inputs": row(3) }),
            400,
            "model rejected row 0: input row has 3 features, the model expects 4",
        ),
        ("iris", json!({ "inputs": [] }), 400, "0 input tensors"),
        (
            "iris",
            json!({ "inputs": [{ "name": "x", "shape": [2, 4], "datatype": "FP32", "data": [1, 2, 3, 4] }] }),
            400,
            "needs 8 values, data holds 4",
        ),
        (
            "iris",
            json!({ "inputs": [{ "name": "x", "shape": [1, 1], "datatype": "BYTES", "data": ["a"] }] }),
            400,
            "not a number type",
        ),
        (
            "iris",
            json!({ "inputs": [{ "name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, "3", 4] }] }),
            400,
            "not a number",
        ),
        (
            "iris",
            json!({ "inputs": [{ "name": "x", "shape": [1, 2, 2], "datatype": "FP32", "data": [1, 2, 3, 4] }] }),
            400,
            "expected [N, F] or [F]",
        ),
        (
            "iris",
            json!({ "inputs": row(4), "outputs": [{ "name": "logits" }] }),
            400,
            "output \"logits\"",
        ),
        (
            "iris",
            json!({ "input": [] }),
            400,
            "inference request: missing field `inputs`",
        ),
    ];
    for (model, body, status, message) in cases {
        let (got, error) = infer(&server, model, &body).await;
        assert_eq!(got, status, "{body}: {error}");
        assert_schema(&errors, &error);
        let text = error["error"].as_str().unwrap();
        assert!(text.contains(message), "{body}: {text:?} lacks {message:?}");
    }
    let response = client()
        .post(server.url("/v2/models/iris/infer"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        entries().await,
        before,
        "a refused request recorded something"
    );
    let (status, error) = get_json(&server, "/v2/models/nobody").await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
    let (status, error) = get_json(&server, "/no/such/route").await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aprender_forest_is_served_with_aprenders_predictions() {
    let apr = fixture("aprender/0.27.8/random_forest_classifier.apr");
    let server = start(move |config, _| {
        config
            .model(
                whyline_server::ModelSource::parse(&format!("forest={}", apr.display())).unwrap(),
            )
            .unwrap();
    });
    let oracle = expected("aprender/0.27.8/random_forest_classifier.expected.json");
    let rows = rows(&oracle);
    let (status, response) = infer(&server, "forest", &infer_body(&rows)).await;
    assert_eq!(status, 200, "{response}");
    assert_schema(&schema("inference_response.json"), &response);
    let labels: Vec<f64> = serde_json::from_value(response["outputs"][0]["data"].clone()).unwrap();
    let want: Vec<f64> = serde_json::from_value(oracle["predict"].clone()).unwrap();
    assert_eq!(labels, want);
    let proba: Vec<f64> = serde_json::from_value(response["outputs"][1]["data"].clone()).unwrap();
    let want: Vec<Vec<f64>> = serde_json::from_value(oracle["predict_proba"].clone()).unwrap();
    for (got, want) in proba.iter().zip(want.iter().flatten()) {
        // aprender computes in f32.
        assert!((got - want).abs() <= 1e-6, "{got} != aprender's {want}");
    }
    let decisions = response["parameters"]["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), rows.len());
    assert_eq!(decisions[0]["path"]["type"], "ForestPath");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_null_is_a_missing_value_predicted_as_scikit_learn_does_and_unknown_outputs_are_refused()
{
    let server = crate::common::start_serving(
        &[("missing", "sk_rf_reg_missing_diabetes.whyline.json")],
        |_, _| {},
    );
    let oracle = expected("sk_rf_reg_missing_diabetes.expected.json");
    let inputs = oracle["inputs"].as_array().unwrap();
    let width = inputs[0].as_array().unwrap().len();
    let nulls = inputs
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .filter(|v| v.is_null())
        .count();
    assert!(nulls > 0, "the fixture has missing values");
    // Nested rows, as scikit-learn's inputs are written, nulls included.
    let body = json!({
        "inputs": [{
            "name": "x", "shape": [inputs.len(), width], "datatype": "FP64", "data": inputs,
        }],
    });
    let (status, response) = infer(&server, "missing", &body).await;
    assert_eq!(status, 200, "{response}");
    let got: Vec<f64> = serde_json::from_value(response["outputs"][0]["data"].clone()).unwrap();
    let want: Vec<f64> = serde_json::from_value(oracle["predict"].clone()).unwrap();
    assert_eq!(got.len(), want.len());
    for (got, want) in got.iter().zip(&want) {
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{got} != scikit-learn's {want}"
        );
    }
    // The same parse, as the fuzz targets call it: nulls are NaN, rows flattened.
    let (values, rows, columns) =
        whyline_server::read_infer_body(body.to_string().as_bytes()).unwrap();
    assert_eq!((rows, columns), (inputs.len(), width));
    assert_eq!(values.iter().filter(|v| v.is_nan()).count(), nulls);

    // An output the model does not have.
    let mut asking = body.clone();
    asking["outputs"] = json!([{ "name": "predict_proba" }]);
    let (status, error) = infer(&server, "missing", &asking).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(
        error["error"],
        "output \"predict_proba\": model \"missing\" has no such output (it has predict)"
    );
    server.stop();
}
