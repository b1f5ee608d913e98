//! The web dashboard served at `/`: Live, Andon board, decision pages, incident explorer and
//! ledger health (docs/dashboard.md).
//!
//! Everything is in the binary: the HTML shell is written here, the script and the style
//! sheet are `include_str!`'d from `assets/` (plain JavaScript and CSS written by hand, no
//! build step, no CDN). The pages themselves carry no data and need no token: the script
//! asks for the token once (kept in `sessionStorage`, sent as `Authorization: Bearer`, never
//! in a URL) and reads the API (`/v1/stream`, `/v1/alerts`, `/v1/decisions/{index}`,
//! `/v1/health`). The incident explorer is rendered here on the server ([`incident`]), so it
//! works without JavaScript when the request may read (no tokens, or a read token sent).

mod html;
mod incident;

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};
use whyline::{AnyPath, TraceCollector};

pub(crate) use incident::incident_page;

use crate::error::ApiError;
use crate::state::{AppState, durability_name};

const SCRIPT: &str = include_str!("../../assets/app.js");
const STYLE: &str = include_str!("../../assets/style.css");
const ICON: &str = include_str!("../../assets/favicon.svg");

/// The views of the one-page shell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum View {
    Live,
    Andon,
    Decision,
    Incident,
    Health,
}

impl View {
    fn name(self) -> &'static str {
        match self {
            View::Live => "live",
            View::Andon => "andon",
            View::Decision => "decision",
            View::Incident => "incident",
            View::Health => "health",
        }
    }

    fn title(self) -> &'static str {
        match self {
            View::Live => "Live",
            View::Andon => "Andon board",
            View::Decision => "Decision",
            View::Incident => "Incident explorer",
            View::Health => "Ledger health",
        }
    }
}

/// The page around `content` (the script fills a view's `main` from the API).
pub(crate) fn page(view: View, data: &[(&str, String)], content: &str) -> String {
    let link = |target: View, href: &str| {
        let current = if target == view {
            " aria-current=\"page\""
        } else {
            ""
        };
        format!("<a href=\"{href}\"{current}>{}</a>", target.title())
    };
    let attributes: String = data
        .iter()
        .map(|(name, value)| format!(" data-{name}=\"{}\"", html::escape(value)))
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>whyline · {title}</title>\
         <link rel=\"stylesheet\" href=\"/assets/style.css\">\
         <link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\"></head>\
         <body data-view=\"{view}\"{attributes}>\
         <a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header><a class=\"brand\" href=\"/\">whyline</a>\
         <nav aria-label=\"Dashboard\">{live}{andon}{incident}{health}</nav>\
         <span id=\"connection\" role=\"status\" aria-live=\"polite\"></span></header>\
         <form id=\"login\" hidden><label for=\"token\">Token (read scope)</label>\
         <input id=\"token\" type=\"password\" autocomplete=\"off\" required>\
         <button type=\"submit\">Use token</button>\
         <small>Kept for this tab only (sessionStorage), sent as a header, never in a URL.</small></form>\
         <main id=\"main\" tabindex=\"-1\">{content}</main>\
         <script src=\"/assets/app.js\" defer></script></body></html>\n",
        title = view.title(),
        view = view.name(),
        live = link(View::Live, "/"),
        andon = link(View::Andon, "/andon"),
        incident = link(View::Incident, "/incident"),
        health = link(View::Health, "/health"),
    )
}

const NEEDS_SCRIPT: &str = "<noscript><p class=\"notice\">This view is live: it needs JavaScript. \
     The incident report (<a href=\"/incident\">Incident explorer</a>) works without it.</p></noscript>";

fn shell(view: View, data: &[(&str, String)]) -> Response {
    let mut response = Html(page(view, data, NEEDS_SCRIPT)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /`: the live view.
pub(crate) async fn live() -> Response {
    shell(View::Live, &[])
}

/// `GET /andon`: the Andon board.
pub(crate) async fn andon() -> Response {
    shell(View::Andon, &[])
}

/// `GET /health`: the ledger's health.
pub(crate) async fn health() -> Response {
    shell(View::Health, &[])
}

/// `GET /decisions/{index}`: a decision, its path and its proof, verified in the browser.
pub(crate) async fn decision(Path(index): Path<u64>) -> Response {
    shell(View::Decision, &[("index", index.to_string())])
}

/// `GET /assets/{file}`: the embedded script, style sheet and icon.
pub(crate) async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (body, media) = match file.as_str() {
        "app.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "style.css" => (STYLE, "text/css; charset=utf-8"),
        "favicon.svg" => (ICON, "image/svg+xml"),
        _ => return Err(ApiError::not_found(format!("no asset {file:?}"))),
    };
    let mut response = ([(header::CONTENT_TYPE, media)], body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// `GET /v1/health` (read): what the health page shows.
pub(crate) async fn health_json(State(state): State<Arc<AppState>>) -> Json<Value> {
    state.refresh_gauges();
    let health = state.hub.health();
    let entries = TraceCollector::<AnyPath>::len(&*state.collector);
    let checkpoint = state.collector.as_ledger().and_then(|ledger| {
        ledger
            .with_ledger(|l| {
                l.checkpoints().last().map(|c| {
                    json!({
                        "size": c.checkpoint.size,
                        "root": hex::encode(c.checkpoint.root),
                        "origin": c.checkpoint.origin,
                        "note": c.note,
                    })
                })
            })
            .ok()
            .flatten()
    });
    let now = whyline::core::now_ns();
    let seen = health.checkpoint_seen.map(|(size, at)| {
        json!({ "size": size, "seen_ns": at, "age_s": now.saturating_sub(at) as f64 / 1e9 })
    });
    let fsync = state.metrics.fsync_summary();
    let verify = match state.metrics.verify_status.get() {
        1 => "intact",
        0 => "broken",
        _ => "running",
    };
    // Only a public key: an HMAC verifier's key string holds its secret.
    let verifier_key = match &state.verifier {
        Some(verifier @ whyline::NoteVerifier::Ed25519 { .. }) => Some(verifier.to_key_string()),
        Some(whyline::NoteVerifier::Hmac { .. }) | None => None,
    };
    Json(json!({
        "entries": entries,
        "durable": state.durable_size(),
        "checkpoint": checkpoint,
        "checkpoint_seen": seen,
        "verification": {
            "status": verify,
            "finished_ns": health.verified.as_ref().map(|(at, _)| *at),
            "result": health.verified.map(|(_, result)| result),
        },
        "durability": durability_name(state.durability),
        "durability_detail": format!("{:?}", state.durability),
        "fsync": fsync,
        "ready": state.fault().is_none(),
        "fault": state.fault(),
        "verifier_key": verifier_key,
        "budget": state.hub.budget(),
        "models": state.models.keys().collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_shell_marks_the_current_view_and_escapes_its_data() {
        let text = page(View::Andon, &[("index", "<7>".into())], "");
        assert!(text.contains("<a href=\"/andon\" aria-current=\"page\">Andon board</a>"));
        assert!(text.contains("data-index=\"&lt;7&gt;\""));
        assert!(text.contains("<a href=\"/\">Live</a>"));
    }

    #[test]
    fn the_first_load_fits_in_200_kb() {
        let total =
            page(View::Live, &[], NEEDS_SCRIPT).len() + SCRIPT.len() + STYLE.len() + ICON.len();
        assert!(total <= 200 * 1024, "{total} bytes");
    }
}
