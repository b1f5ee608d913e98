//! The options of `ServerConfig` taking effect on a running server: a key directory, a
//! profile file and its `[server]` limits; and the refusals of a configuration that cannot
//! serve.

use std::path::Path;

use whyline_server::{ModelSource, Server, ServerConfig, ServerError, Tokens};

use crate::common::{get_json, infer, infer_body, start};

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_made_in_the_key_directory_and_sign_the_checkpoints() {
    let server = start(|config, dir| {
        config.key_dir(dir.join("keys"));
    });
    let (status, answer) = infer(&server, "iris", &infer_body(&[vec![5.1, 3.5, 1.4, 0.2]])).await;
    assert_eq!(status, 200, "{answer}");
    let keys = server.dir.path().join("keys");
    assert!(keys.join("ledger.key").is_file(), "the signing key");
    assert!(
        !server.ledger().join("ledger.key").exists(),
        "not beside the log"
    );
    let index = answer["parameters"]["decisions"][0]["index"]
        .as_u64()
        .unwrap();
    let (status, proof) = get_json(&server, &format!("/v1/proof/inclusion?index={index}")).await;
    assert_eq!(status, 200, "{proof}");
    let verifier = whyline::ledger::keys::read_verifier(&keys.join("ledger.pub")).unwrap();
    whyline::ledger::verify_note(proof["checkpoint"].as_str().unwrap(), &verifier)
        .expect("signed with the key made in the key directory");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_files_body_limit_refuses_larger_bodies_with_413() {
    let server = start(|config, dir| {
        let file = dir.join("profile.toml");
        std::fs::write(
            &file,
            "[inference_monitor]\nintegrity_level = \"SIL2\"\ncollector = \"ledger\"\n\
             durability = \"none\"\n\n\
             [server]\nbody_limit_bytes = 300\n",
        )
        .unwrap();
        config.profile_file(&file).unwrap();
        assert_eq!(config.server_settings().body_limit_bytes, 300);
    });
    let small = infer_body(&[vec![5.1, 3.5, 1.4, 0.2]]);
    assert!(small.to_string().len() < 300);
    let (status, answer) = infer(&server, "iris", &small).await;
    assert_eq!(status, 200, "{answer}");
    let large = infer_body(&vec![vec![5.1, 3.5, 1.4, 0.2]; 40]);
    assert!(large.to_string().len() > 300);
    let (status, error) = infer(&server, "iris", &large).await;
    assert_eq!(status, 413, "{error}");
    assert_eq!(error["code"], "payload_too_large");
    assert_eq!(
        error["error"],
        "the request body is larger than 300 bytes ([server] body_limit_bytes)"
    );
    // The profile's other settings hold too.
    let (status, health) = get_json(&server, "/v1/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["durability"], "none", "{health}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_limit_changed_through_the_settings_takes_effect() {
    let server = start(|config, _| {
        config.server_settings_mut().body_limit_bytes = 100;
    });
    let (status, error) = infer(&server, "iris", &infer_body(&[vec![5.1, 3.5, 1.4, 0.2]])).await;
    assert_eq!(status, 413, "{error}");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("larger than 100 bytes"),
        "{error}"
    );
    server.stop();
}

#[test]
fn a_missing_profile_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.toml");
    let mut config = ServerConfig::new(dir.path().join("ledger")).unwrap();
    match config.profile_file(&missing) {
        Err(error @ ServerError::Io { .. }) => {
            assert_eq!(error.to_string(), format!("reading {}", missing.display()));
            let source = std::error::Error::source(&error).unwrap();
            let io = source.downcast_ref::<std::io::Error>().unwrap();
            assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn a_configs_debug_says_what_it_serves_and_never_prints_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.txt");
    std::fs::write(&tokens, "read secret-read-token-0123456789\n").unwrap();
    let mut config = ServerConfig::new(dir.path().join("ledger")).unwrap();
    config
        .model(ModelSource::parse("iris=iris.json").unwrap())
        .unwrap()
        .tokens(Tokens::from_file(&tokens).unwrap())
        .key_dir(dir.path().join("keys"));
    let debug = format!("{config:?}");
    assert!(!debug.contains("secret-read-token"), "{debug}");
    for shown in [
        "ledger",
        "iris.json",
        "keys",
        "segment_opener: false",
        "count: 1",
    ] {
        assert!(debug.contains(shown), "{shown} in {debug}");
    }
}

/// Binds `config` and returns why it was refused.
async fn refusal(config: &ServerConfig) -> ServerError {
    Server::bind(config).await.expect_err("refused")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configuration_that_cannot_serve_is_refused_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let base = || {
        let mut config = ServerConfig::new(dir.path().join("ledger")).unwrap();
        config.listen("127.0.0.1:0".parse().unwrap());
        config
    };

    // A profile whose collector is not a ledger.
    let mut config = base();
    config
        .profile_text(
            "[inference_monitor]\nintegrity_level = \"QM\"\ncollector = \"ring\"\n",
            Path::new("ring.toml"),
        )
        .unwrap();
    let error = refusal(&config).await;
    assert!(
        matches!(&error, ServerError::NotALedger { found } if found == "ring"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("whyline serve needs collector = \"ledger\"")
    );

    // Every interface, without tokens.
    let mut config = base();
    config.listen("0.0.0.0:0".parse().unwrap());
    let error = refusal(&config).await;
    assert!(
        matches!(error, ServerError::OpenToTheNetwork { .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("refusing to listen on 0.0.0.0:0 without --tokens")
    );

    // A model file that is not a model: named, with the loader's reason.
    let not_a_model = dir.path().join("model.json");
    std::fs::write(&not_a_model, "{\"format\": \"nothing\"}").unwrap();
    let mut config = base();
    config
        .model(ModelSource {
            name: "broken".into(),
            file: not_a_model,
        })
        .unwrap();
    let error = refusal(&config).await;
    assert!(
        matches!(&error, ServerError::Model { name, .. } if name == "broken"),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with("model \"broken\": "),
        "{error}"
    );

    // An address already taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = base();
    config.listen(taken.local_addr().unwrap());
    let error = refusal(&config).await;
    assert!(
        matches!(
            &error,
            ServerError::Io {
                operation: "listening on",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("listening on {}", taken.local_addr().unwrap())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_apr_model_is_served_only_with_the_key_that_signed_it() {
    let keys = crate::common::fixture("aprender/0.27.8");
    let key = |file: &str| whyline::LoadOptions::read_apr_public_key(keys.join(file)).unwrap();
    let signed = "aprender/0.27.8/decision_tree_classifier.signed.apr";
    // The signer's key: served.
    let signer = key("signing_key.pub.hex");
    let server = crate::common::start_serving(&[("tree", signed)], move |config, _| {
        config.load_options(whyline::LoadOptions::default().with_apr_public_key(signer));
    });
    let (status, metadata) = get_json(&server, "/v2/models/tree").await;
    assert_eq!(status, 200, "{metadata}");
    server.stop();
    // Another key: refused, naming the model and the key.
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("ledger")).unwrap();
    config.listen("127.0.0.1:0".parse().unwrap());
    config
        .model(ModelSource {
            name: "tree".into(),
            file: crate::common::fixture(signed),
        })
        .unwrap()
        .load_options(
            whyline::LoadOptions::default().with_apr_public_key(key("other_key.pub.hex")),
        );
    let error = refusal(&config).await;
    assert!(
        matches!(&error, ServerError::Model { name, .. } if name == "tree"),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("the given public key"),
        "{error}"
    );
}
