//! [`ServerError`]: why a server could not start; [`ApiError`]: why a request failed, as the
//! JSON body `{"error": "...", "code": "..."}` and its HTTP status.

use std::path::PathBuf;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why a server could not be configured or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The profile, the recorder or a model was refused by the library (same message as the
    /// CLI's).
    #[error(transparent)]
    Whyline(#[from] whyline::WhylineError),
    /// A model file could not be loaded.
    #[error("model {name:?}: {source}")]
    Model {
        /// The name it was to be served under.
        name: String,
        /// Why.
        #[source]
        source: whyline::models::ModelError,
    },
    /// A `--model` argument is not `NAME=FILE`, or two models share a name.
    #[error("--model {given:?}: {reason}")]
    ModelArgument {
        /// What was given.
        given: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The profile names a collector the server cannot serve from.
    #[error(
        "the profile's collector is {found:?}: whyline serve needs collector = \"ledger\" \
         (receipts, proofs and reads need the ledger; a ring forgets and a stream cannot prove)"
    )]
    NotALedger {
        /// The collector the profile chose.
        found: String,
    },
    /// The `[server]` table of the profile is malformed.
    #[error("{}: [server]: {message}", path.display())]
    Config {
        /// The profile file.
        path: PathBuf,
        /// What the TOML parser or the check said, naming the key.
        message: String,
    },
    /// A line of the tokens file is malformed.
    #[error("{}:{line}: {reason}", path.display())]
    TokenLine {
        /// The tokens file.
        path: PathBuf,
        /// Its line number, from 1.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Listening on a non-loopback address without tokens.
    #[error(
        "refusing to listen on {address} without --tokens: without tokens anyone who reaches \
         the port may record and read decisions; give --tokens FILE or listen on 127.0.0.1"
    )]
    OpenToTheNetwork {
        /// The address asked for.
        address: std::net::SocketAddr,
    },
    /// A TLS certificate or key could not be used.
    #[error("TLS {}: {reason}", path.display())]
    Tls {
        /// The certificate or key file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file or socket operation failed.
    #[error("{operation} {target}")]
    Io {
        /// What was done.
        operation: &'static str,
        /// The file or address.
        target: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl ServerError {
    pub(crate) fn io(
        operation: &'static str,
        target: impl std::fmt::Display,
    ) -> impl FnOnce(std::io::Error) -> ServerError {
        let target = target.to_string();
        move |source| ServerError::Io {
            operation,
            target,
            source,
        }
    }
}

/// A failed request: its HTTP status, a stable machine-readable `code`, and the message
/// (the library error's `Display`, as the CLI prints it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable code (`not_found`, `bad_request`, `unauthorized`, ...).
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// Seconds to wait before retrying (429, 503).
    pub retry_after: Option<u32>,
}

impl ApiError {
    /// An error of `status` with `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404: no such model, entry or route.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500: the library failed for a reason that is not the request's.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// 503: the server cannot write now (a storage fault, shutting down).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
        }
    }

    /// The `{"error","code"}` body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.message, "code": self.code })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.code, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_api_error_reads_as_status_code_and_message_and_its_body_is_the_json_pair() {
        let error = ApiError::unavailable("the disk is full");
        assert_eq!(
            error.to_string(),
            "503 Service Unavailable (unavailable): the disk is full"
        );
        assert_eq!(
            error.body(),
            serde_json::json!({"error": "the disk is full", "code": "unavailable"})
        );
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
