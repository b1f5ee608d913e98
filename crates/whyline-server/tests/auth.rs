//! Tokens and scopes, the per-token concurrency limit and the body limit.

use std::time::Duration;

use serde_json::json;
use whyline_server::Tokens;

use crate::common::{assert_schema, client, infer_body, schema, start};

const INFER: &str = "infer-token-0123456789abcdef";
const READ: &str = "read-token-0123456789abcdef";
const ADMIN: &str = "admin-token-0123456789abcdef";
const INGEST: &str = "ingest-token-0123456789abcdef";

#[tokio::test(flavor = "multi_thread")]
async fn every_route_needs_a_token_of_its_scope_and_the_limits_hold() {
    let server = start(|config, dir| {
        let file = dir.join("tokens.txt");
        std::fs::write(
            &file,
            format!("# tokens\ninfer {INFER}\nread {READ}\nadmin {ADMIN}\ningest {INGEST}\n"),
        )
        .unwrap();
        config.tokens(Tokens::from_file(&file).unwrap());
        config.server_settings_mut().concurrency_per_token = 1;
        config.server_settings_mut().body_limit_bytes = 4096;
    });
    let errors = schema("error_response.json");
    let http = client();
    let body = infer_body(&[vec![5.1, 3.5, 1.4, 0.2]]);
    let routes: Vec<(&str, &str, &str)> = vec![
        ("GET", "/v2/models/iris", "infer"),
        ("POST", "/v2/models/iris/infer", "infer"),
        ("GET", "/v2/models/iris/ready", "infer"),
        ("GET", "/v1/decisions?from=0&to=1", "read"),
        ("GET", "/v1/decisions/0", "read"),
        ("GET", "/v1/incident?at=0", "read"),
        ("GET", "/v1/proof/inclusion?index=0", "read"),
        ("GET", "/v1/proof/consistency?from=0", "read"),
        ("GET", "/metrics", "read"),
        ("GET", "/checkpoint", "read"),
        ("GET", "/tile/0/000", "read"),
        ("POST", "/v1/decisions", "ingest"),
    ];
    for (method, path, scope) in &routes {
        let request = |token: Option<&str>| {
            let builder = match *method {
                "POST" => http.post(server.url(path)).json(&body),
                _ => http.get(server.url(path)),
            };
            match token {
                Some(token) => builder.header("authorization", token),
                None => builder,
            }
        };
        // No token, an unknown token, another scheme: 401.
        for token in [
            None,
            Some("Bearer not-a-token-0123456789"),
            Some("Basic aW5mZXI="),
        ] {
            let response = request(token).send().await.unwrap();
            assert_eq!(response.status(), 401, "{method} {path} with {token:?}");
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            let error = response.json().await.unwrap();
            assert_schema(&errors, &error);
            assert_eq!(error["code"], "unauthorized");
        }
        // The other scope's token: 403.
        let other = if *scope == "infer" { READ } else { INFER };
        let response = request(Some(&format!("Bearer {other}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{method} {path}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert_schema(&errors, &error);
        assert_eq!(
            error["error"],
            format!("this token lacks the {scope} scope")
        );
        // Its own scope, and admin: not refused.
        let own = match *scope {
            "infer" => INFER,
            "ingest" => INGEST,
            _ => READ,
        };
        for token in [own, ADMIN] {
            let response = request(Some(&format!("Bearer {token}")))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            assert!(
                status != 401 && status != 403 && status != 429,
                "{method} {path}: {status}"
            );
        }
    }
    // Health checks are open.
    for path in ["/v2/health/live", "/v2/health/ready"] {
        let response = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }

    // A body over the limit: 413, in the error shape.
    let big = json!({ "inputs": [{ "name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4] }], "id": "x".repeat(5000) });
    let response = http
        .post(server.url("/v2/models/iris/infer"))
        .header("authorization", format!("Bearer {INFER}"))
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_schema(&errors, &error);
    assert_eq!(error["code"], "payload_too_large");

    // One request in flight per token: a request whose body never ends holds the slot.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    sender.send(Ok(b"{\"inputs\":".to_vec())).await.unwrap();
    let stream = futures_util::stream::unfold(receiver, |mut r| async move {
        r.recv().await.map(|item| (item, r))
    });
    let held = tokio::spawn(
        http.post(server.url("/v2/models/iris/infer"))
            .header("authorization", format!("Bearer {INFER}"))
            .body(reqwest::Body::wrap_stream(stream))
            .send(),
    );
    let mut refused = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let response = http
            .get(server.url("/v2/models/iris"))
            .header("authorization", format!("Bearer {INFER}"))
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("a second request of the token is refused while one is in flight");
    assert_eq!(refused.headers()["retry-after"], "1");
    let error: serde_json::Value = refused.json().await.unwrap();
    assert_schema(&errors, &error);
    assert_eq!(error["code"], "too_many_requests");
    // Another token is not limited by it.
    let response = http
        .get(server.url("/v2/models/iris"))
        .header("authorization", format!("Bearer {ADMIN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    drop(sender);
    let _ = held.await;
    server.stop();
}
