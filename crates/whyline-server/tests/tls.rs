//! HTTPS with a certificate made by rcgen: the routes answer over TLS, plain HTTP does not.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use whyline_server::TlsFiles;

use crate::common::start;

#[tokio::test(flavor = "multi_thread")]
async fn the_server_speaks_https_with_the_given_certificate() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_der = CertificateDer::from(certified.cert.der().to_vec());
    let server = start(|config, dir| {
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
        config.tls(TlsFiles { cert, key });
    });
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let address = server.base.trim_start_matches("https://").to_owned();

    let mut roots = RootCertStore::empty();
    roots.add(cert_der).unwrap();
    #[allow(deprecated)] // ring, as the server
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(config));
    // A client that connects and never says hello holds up nobody.
    let _silent = tokio::net::TcpStream::connect(&address).await.unwrap();
    let tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    tls.write_all(b"GET /v2/health/live HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tls.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("{\"live\":true}"), "{answer}");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::get(format!("http://{address}/v2/health/live")).await;
    assert!(plain.is_err(), "{plain:?}");
    server.stop();
}
