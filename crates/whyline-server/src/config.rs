//! What a server is started with: the ledger directory, the profile, the models, the tokens,
//! TLS, and the `[server]` table of the profile.
//!
//! The `[server]` table sits in the same TOML file as the monitor's profile
//! (`[inference_monitor]`, `[andon]`); the monitor's parser accepts it and this module reads
//! it, every key checked:
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:7878"        # --listen wins over it
//! body_limit_bytes = 16777216      # larger bodies: 413
//! concurrency_per_token = 256      # requests in flight per token (or without tokens, in all): 429 past it
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use whyline::MonitorSettings;

use crate::error::ServerError;
use crate::tokens::Tokens;

/// The address a server listens on when neither `--listen` nor `[server].listen` says.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

/// The profile a server runs without `--config`: a ledger in the directory, group commit
/// (`interval`: an append waits at most 5 ms to be on disk), Ed25519-signed checkpoints
/// every 1024 entries (the key made as `ledger.key` if missing), confidence alerts.
pub const DEFAULT_PROFILE: &str = "\
[inference_monitor]
integrity_level = \"SIL2\"
collector = \"ledger\"
durability = \"interval\"
signing = \"ed25519\"
";

/// The `[server]` table: limits and the listening address.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Where to listen, unless `--listen` says.
    pub listen: Option<SocketAddr>,
    /// The largest request body accepted, bytes (413 past it).
    pub body_limit_bytes: usize,
    /// Requests in flight per token; without tokens, in all (429 with `Retry-After` past it).
    pub concurrency_per_token: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: None,
            body_limit_bytes: 16 * 1024 * 1024,
            concurrency_per_token: 256,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ServerFile {
    #[serde(default)]
    server: Option<toml::Value>,
}

impl ServerSettings {
    /// The `[server]` table of a profile's text (defaults when it has none); `path` names
    /// the file in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ServerError> {
        let error = |message: String| ServerError::Config {
            path: path.to_owned(),
            message,
        };
        // The rest of the file is the monitor's, checked by its parser.
        let file: ServerFile = toml::from_str(text).map_err(|e| error(e.message().to_owned()))?;
        let settings = match file.server {
            None => Self::default(),
            Some(table) => Self::deserialize(table).map_err(|e| error(e.message().to_owned()))?,
        };
        if settings.body_limit_bytes == 0 {
            return Err(error("body_limit_bytes = 0: expected at least 1".into()));
        }
        if settings.concurrency_per_token == 0 {
            return Err(error(
                "concurrency_per_token = 0: expected at least 1".into(),
            ));
        }
        Ok(settings)
    }
}

/// One model to serve: the name in its URLs and its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSource {
    /// The name in `/v2/models/{name}`.
    pub name: String,
    /// The model file (any format `whyline::Model::load` reads).
    pub file: PathBuf,
}

impl ModelSource {
    /// Reads `NAME=FILE`.
    pub fn parse(text: &str) -> Result<Self, ServerError> {
        let bad = |reason| ServerError::ModelArgument {
            given: text.to_owned(),
            reason,
        };
        let (name, file) = text
            .split_once('=')
            .ok_or_else(|| bad("expected NAME=FILE"))?;
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid {
            return Err(bad(
                "the name must be letters, digits, '-', '_' or '.' (it is a URL segment)",
            ));
        }
        if file.is_empty() {
            return Err(bad("expected NAME=FILE"));
        }
        Ok(Self {
            name: name.to_owned(),
            file: PathBuf::from(file),
        })
    }
}

/// A certificate chain and key, PEM files, for HTTPS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain (PEM).
    pub cert: PathBuf,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Everything a server starts with. [`ServerConfig::new`] takes the ledger directory,
/// [`ServerConfig::at`] any [`LogLocation`](whyline::LogLocation) (a PostgreSQL log); the
/// rest has defaults ([`DEFAULT_PROFILE`], [`DEFAULT_LISTEN`], no tokens, no TLS).
#[derive(Clone)]
pub struct ServerConfig {
    pub(crate) log: whyline::LogLocation,
    pub(crate) key_dir: Option<PathBuf>,
    pub(crate) profile: MonitorSettings,
    pub(crate) server: ServerSettings,
    pub(crate) listen: Option<SocketAddr>,
    pub(crate) models: Vec<ModelSource>,
    pub(crate) tokens: Option<Tokens>,
    pub(crate) tls: Option<TlsFiles>,
    pub(crate) segment_opener: Option<whyline::SharedSegmentOpener>,
    pub(crate) load_options: whyline::LoadOptions,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("log", &self.log)
            .field("key_dir", &self.key_dir)
            .field("profile", &self.profile)
            .field("server", &self.server)
            .field("listen", &self.listen)
            .field("models", &self.models)
            .field("tokens", &self.tokens)
            .field("tls", &self.tls)
            .field("segment_opener", &self.segment_opener.is_some())
            .field("load_options", &self.load_options)
            .finish()
    }
}

impl ServerConfig {
    /// A server of the ledger in `dir` with the default profile.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, ServerError> {
        Self::at(whyline::LogLocation::Dir(dir.into()))
    }

    /// A server of the ledger at `log` (a directory, or a PostgreSQL log whose writer lock
    /// the server then holds) with the default profile. A PostgreSQL log keeps no keys: a
    /// profile that signs or seals needs [`key_dir`](Self::key_dir).
    pub fn at(log: whyline::LogLocation) -> Result<Self, ServerError> {
        let path = Path::new("<default profile>");
        Ok(Self {
            log,
            key_dir: None,
            profile: MonitorSettings::from_toml(DEFAULT_PROFILE, path)
                .map_err(whyline::WhylineError::from)?,
            server: ServerSettings::default(),
            listen: None,
            models: Vec::new(),
            tokens: None,
            tls: None,
            segment_opener: None,
            load_options: whyline::LoadOptions::default(),
        })
    }

    /// Reads and makes the keys (the checkpoint signing key, the digest key, the subject key
    /// store) in `dir` instead of beside the log, and takes the profile's relative paths
    /// from it (see [`whyline::RecorderBuilder::build_at`]): needed for a PostgreSQL log
    /// whose profile signs or seals, since private keys never go into the database.
    pub fn key_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.key_dir = Some(dir.into());
        self
    }

    /// Reads the profile (and its `[server]` table) from `path`.
    pub fn profile_file(&mut self, path: &Path) -> Result<&mut Self, ServerError> {
        let text =
            std::fs::read_to_string(path).map_err(ServerError::io("reading", path.display()))?;
        self.profile_text(&text, path)
    }

    /// Reads the profile (and its `[server]` table) from `text`; `path` names it in errors.
    pub fn profile_text(&mut self, text: &str, path: &Path) -> Result<&mut Self, ServerError> {
        self.profile =
            MonitorSettings::from_toml(text, path).map_err(whyline::WhylineError::from)?;
        self.server = ServerSettings::from_toml(text, path)?;
        Ok(self)
    }

    /// Listens on `address` (port 0: any free port), whatever the profile says.
    pub fn listen(&mut self, address: SocketAddr) -> &mut Self {
        self.listen = Some(address);
        self
    }

    /// Serves `model` too.
    pub fn model(&mut self, model: ModelSource) -> Result<&mut Self, ServerError> {
        if self.models.iter().any(|m| m.name == model.name) {
            return Err(ServerError::ModelArgument {
                given: format!("{}={}", model.name, model.file.display()),
                reason: "a model of that name is served already",
            });
        }
        self.models.push(model);
        Ok(self)
    }

    /// Loads the models with `options` (the key that signed `.apr` files, as `whyline
    /// explain --apr-public-key` takes it).
    pub fn load_options(&mut self, options: whyline::LoadOptions) -> &mut Self {
        self.load_options = options;
        self
    }

    /// Requires tokens (`Authorization: Bearer`) on every route but the health checks.
    pub fn tokens(&mut self, tokens: Tokens) -> &mut Self {
        self.tokens = Some(tokens);
        self
    }

    /// Serves HTTPS with these files.
    pub fn tls(&mut self, files: TlsFiles) -> &mut Self {
        self.tls = Some(files);
        self
    }

    /// Opens the ledger's segment files through `opener` (the server still times their
    /// syncs): to inject storage faults in tests, or to keep the files elsewhere. See
    /// `whyline::RecorderBuilder::segment_opener`.
    pub fn segment_opener(&mut self, opener: whyline::SharedSegmentOpener) -> &mut Self {
        self.segment_opener = Some(opener);
        self
    }

    /// The `[server]` settings in force.
    pub fn server_settings(&self) -> &ServerSettings {
        &self.server
    }

    /// The `[server]` settings, to change a limit.
    pub fn server_settings_mut(&mut self) -> &mut ServerSettings {
        &mut self.server
    }

    /// The monitor profile in force.
    pub fn profile(&self) -> &MonitorSettings {
        &self.profile
    }

    /// The address it will listen on: `--listen`, else `[server].listen`, else
    /// [`DEFAULT_LISTEN`].
    pub fn listen_address(&self) -> SocketAddr {
        self.listen
            .or(self.server.listen)
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 7878)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    #[test]
    fn the_server_table_is_read_beside_the_monitor_profile() {
        let text = "[inference_monitor]\nintegrity_level = \"SIL3\"\ncollector = \"ledger\"\n\n\
                    [server]\nlisten = \"127.0.0.1:9000\"\nconcurrency_per_token = 8\n";
        let mut config = ServerConfig::new("ledger").unwrap();
        config.profile_text(text, Path::new("p.toml")).unwrap();
        assert_eq!(config.listen_address(), "127.0.0.1:9000".parse().unwrap());
        assert_eq!(config.server_settings().concurrency_per_token, 8);
        assert_eq!(config.server_settings().body_limit_bytes, 16 * 1024 * 1024);
        assert_eq!(config.profile().durability, whyline::Durability::Sync);
        config.listen("127.0.0.1:0".parse().unwrap());
        assert_eq!(config.listen_address().port(), 0);
    }

    #[test]
    fn a_bad_server_table_is_an_error_naming_the_key() {
        let cases = [
            ("[server]\nlisen = \"127.0.0.1:1\"\n", "lisen"),
            ("[server]\nbody_limit_bytes = 0\n", "body_limit_bytes = 0"),
            (
                "[server]\nconcurrency_per_token = 0\n",
                "concurrency_per_token = 0",
            ),
            ("[server]\nlisten = \"localhost\"\n", "socket address"),
        ];
        for (text, named) in cases {
            match ServerSettings::from_toml(text, Path::new("p.toml")) {
                Err(error @ ServerError::Config { .. }) => {
                    let message = error.to_string();
                    assert!(message.starts_with("p.toml: [server]: "), "{message}");
                    assert!(message.contains(named), "{text:?}: {message}");
                }
                other => panic!("{text:?}: expected a config error, got {other:?}"),
            }
        }
    }

    #[test]
    fn the_default_profile_is_a_signed_ledger_with_group_commit() {
        let config = ServerConfig::new("ledger").unwrap();
        let profile = config.profile();
        assert_eq!(profile.collector, whyline::CollectorChoice::Ledger);
        assert!(matches!(
            profile.durability,
            whyline::Durability::Interval { .. }
        ));
        assert_eq!(profile.signing, whyline::SigningChoice::Ed25519);
        assert_eq!(config.listen_address().to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn model_arguments_are_name_equals_file() {
        let model = ModelSource::parse("demo=models/a=b.json").unwrap();
        assert_eq!(model.name, "demo");
        assert_eq!(model.file, PathBuf::from("models/a=b.json"));
        for bad in ["demo", "=x.json", "de mo=x.json", "demo=", "a/b=x"] {
            assert!(
                matches!(
                    ModelSource::parse(bad),
                    Err(ServerError::ModelArgument { .. })
                ),
                "{bad}"
            );
        }
        let mut config = ServerConfig::new("ledger").unwrap();
        config.model(model.clone()).unwrap();
        assert!(config.model(model).is_err());
    }
}
