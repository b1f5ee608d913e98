//! Paths of the committed fixtures and a loopback server helper.

use std::net::SocketAddr;
use std::path::PathBuf;

pub(crate) type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The demo rows (python/peer/make_demo_rows.py).
pub(crate) fn demo_rows() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo_rows.csv")
}

/// scikit-learn's classes and predict_proba on the demo rows (same script).
pub(crate) fn demo_expected() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo_rows.expected.json")
}

/// The model `whyline demo` embeds and `whyline serve --model demo=...` serves.
pub(crate) fn demo_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../whyline-cli/assets/demo_model.json")
}

/// The example logistic regression (small linear traces) and its rows.
pub(crate) fn credit_model() -> (PathBuf, PathBuf) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    (
        root.join("examples/models/credit_logistic.json"),
        root.join("examples/data/credit.csv"),
    )
}

/// Serves `router` on a loopback port; the server lives as long as the test's runtime.
pub(crate) async fn serve(router: axum::Router) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(address)
}
