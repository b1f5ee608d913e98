//! Where requests go: an `http://host:port[/prefix]` URL resolved once, and the requests
//! the generator sends there.

use std::net::SocketAddr;

use bytes::Bytes;

use crate::error::{LoadError, Result};

/// A server to load: its socket address, the `Host` header and a path prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The resolved address connections open to.
    pub address: SocketAddr,
    /// The `Host` header value (`host:port` as written in the URL).
    pub host: String,
    /// A path prefix from the URL, without a trailing slash (usually empty).
    pub prefix: String,
}

impl Target {
    /// Resolves `url` (`http://host[:port][/prefix]`; the port defaults to 80). HTTPS is
    /// refused: the generator measures the server, not a TLS stack.
    pub async fn resolve(url: &str) -> Result<Target> {
        let (authority, prefix) = split_url(url)?;
        let with_port = if authority.rsplit_once(':').is_some_and(|(_, p)| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !authority.ends_with(']')
        }) {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let mut addresses =
            tokio::net::lookup_host(with_port.as_str())
                .await
                .map_err(|source| LoadError::Resolve {
                    url: url.to_owned(),
                    host: authority.to_owned(),
                    source,
                })?;
        let address = addresses.next().ok_or_else(|| LoadError::Url {
            url: url.to_owned(),
            reason: "the host resolves to no address",
        })?;
        Ok(Target {
            address,
            host: authority.to_owned(),
            prefix: prefix.trim_end_matches('/').to_owned(),
        })
    }

    /// The full path of `route` (which starts with `/`) on this target.
    pub fn path(&self, route: &str) -> String {
        format!("{}{route}", self.prefix)
    }
}

fn split_url(url: &str) -> Result<(&str, &str)> {
    let refuse = |reason| LoadError::Url {
        url: url.to_owned(),
        reason,
    };
    if url.starts_with("https://") {
        return Err(refuse(
            "https is not supported: load the server over plain http",
        ));
    }
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| refuse("expected http://host:port"))?;
    let (authority, prefix) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(refuse("the url has no host"));
    }
    if prefix.contains(['?', '#']) {
        return Err(refuse("the url may not carry a query or fragment"));
    }
    Ok((authority, prefix))
}

/// One request the generator sends, built once and cloned cheaply for every send.
#[derive(Clone, Debug)]
pub struct RequestTemplate {
    /// The path and query (prefix included).
    pub path: String,
    /// The `Content-Type` header.
    pub content_type: &'static str,
    /// The body bytes.
    pub body: Bytes,
    /// How many work items (rows, decisions) the request carries.
    pub items: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_loopback_url_resolves_with_its_port_and_prefix() -> Result<()> {
        let target = Target::resolve("http://127.0.0.1:7878/api/").await?;
        assert_eq!(
            target.address,
            "127.0.0.1:7878".parse().map_err(|_| LoadError::Setting {
                setting: "test",
                reason: "address"
            })?
        );
        assert_eq!(target.host, "127.0.0.1:7878");
        assert_eq!(target.path("/v1/decisions"), "/api/v1/decisions");
        let default_port = Target::resolve("http://127.0.0.1").await?;
        assert_eq!(default_port.address.port(), 80);
        Ok(())
    }

    #[tokio::test]
    async fn https_and_other_schemes_are_refused_by_name() {
        for url in [
            "https://127.0.0.1:7878",
            "ftp://x",
            "127.0.0.1:7878",
            "http://",
            "http://h:1/?q",
        ] {
            let error = Target::resolve(url).await;
            assert!(
                matches!(error, Err(LoadError::Url { .. })),
                "{url}: expected a url error, got {error:?}"
            );
        }
    }
}
