//! Starting servers for the tests, and the schemas their answers are checked against.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;
use whyline_server::{ModelSource, Server, ServerConfig, ShutdownReport};

/// A model fixture of `whyline-models`.
pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures")
        .join(name)
}

/// The scikit-learn expectations of a fixture.
pub(crate) fn expected(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A server running on its own thread and runtime.
pub(crate) struct Running {
    pub(crate) base: String,
    pub(crate) dir: tempfile::TempDir,
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    done: Mutex<Option<std::sync::mpsc::Receiver<Result<ShutdownReport, String>>>>,
}

/// Starts a server over a new directory, serving `iris` (logistic regression) and
/// `diabetes` (a random forest regressor), after `configure`.
pub(crate) fn start(configure: impl FnOnce(&mut ServerConfig, &Path)) -> Running {
    start_serving(
        &[
            ("iris", "sk_logreg_iris.whyline.json"),
            ("diabetes", "sk_rf_reg_diabetes.whyline.json"),
        ],
        configure,
    )
}

/// Starts a server over a new directory, serving `models` (NAME, fixture), after
/// `configure`.
pub(crate) fn start_serving(
    models: &[(&str, &str)],
    configure: impl FnOnce(&mut ServerConfig, &Path),
) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("ledger")).unwrap();
    config.listen("127.0.0.1:0".parse().unwrap());
    for (name, file) in models {
        let file = fixture(file);
        config
            .model(ModelSource::parse(&format!("{name}={}", file.display())).unwrap())
            .unwrap();
    }
    configure(&mut config, dir.path());
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let server = match Server::bind(&config).await {
                Ok(server) => server,
                Err(error) => {
                    address_tx.send(Err(error.to_string())).unwrap();
                    return;
                }
            };
            let scheme = if server.uses_tls() { "https" } else { "http" };
            address_tx
                .send(Ok(format!("{scheme}://{}", server.local_addr())))
                .unwrap();
            let report = server
                .serve(async move {
                    let _ = stop_rx.await;
                })
                .await
                .map_err(|e| e.to_string());
            let _ = done_tx.send(report);
        });
    });
    let base = address_rx.recv().unwrap().expect("the server starts");
    Running {
        base,
        dir,
        stop: Mutex::new(Some(stop_tx)),
        done: Mutex::new(Some(done_rx)),
    }
}

impl Running {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The ledger's directory.
    pub(crate) fn ledger(&self) -> PathBuf {
        self.dir.path().join("ledger")
    }

    /// Stops the server and returns what it did on the way out.
    pub(crate) fn stop(&self) -> ShutdownReport {
        if let Some(stop) = self.stop.lock().unwrap().take() {
            let _ = stop.send(());
        }
        let done = self.done.lock().unwrap().take().expect("stopped once");
        done.recv().unwrap().unwrap()
    }
}

/// A plain HTTP client.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// A validator for one of the protocol schemas in `tests/schema`.
pub(crate) fn schema(name: &str) -> jsonschema::Validator {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schema");
    let read = |file: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
    };
    let shared = jsonschema::Resource::from_contents(read("tensor_data.json")).unwrap();
    jsonschema::options()
        .with_resource("https://whyline.invalid/oip/tensor_data.json", shared)
        .build(&read(name))
        .unwrap()
}

/// Fails with every schema error of `instance`.
pub(crate) fn assert_schema(validator: &jsonschema::Validator, instance: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "schema errors: {errors:#?}\nin {instance:#}"
    );
}

/// An inference request of `rows`.
pub(crate) fn infer_body(rows: &[Vec<f64>]) -> Value {
    let width = rows.first().map_or(0, Vec::len);
    serde_json::json!({
        "id": "request-1",
        "inputs": [{
            "name": "input",
            "shape": [rows.len(), width],
            "datatype": "FP64",
            "data": rows,
        }],
    })
}

static SHARED: std::sync::OnceLock<Running> = std::sync::OnceLock::new();

/// The server the read-mostly tests share (default profile, no tokens).
pub(crate) fn shared() -> &'static Running {
    SHARED.get_or_init(|| start(|_, _| {}))
}

/// Posts `body` to a model's infer route and returns the status and JSON.
pub(crate) async fn infer(server: &Running, model: &str, body: &Value) -> (u16, Value) {
    let response = client()
        .post(server.url(&format!("/v2/models/{model}/infer")))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// GETs `path` and returns the status and JSON.
pub(crate) async fn get_json(server: &Running, path: &str) -> (u16, Value) {
    let response = client().get(server.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// GETs `url` and returns the body as text (the status is not checked).
pub(crate) async fn get_text(url: String) -> String {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The rows of a fixture's expectations.
pub(crate) fn rows(expected: &Value) -> Vec<Vec<f64>> {
    serde_json::from_value(expected["inputs"].clone()).unwrap()
}
