//! Where a log lives: a PostgreSQL URL with the log's name in its `log` query parameter.
//!
//! ```text
//! postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?log=NAME][&OTHER=...]
//! postgresql://...                       (the same)
//! ```
//!
//! `log` names one log of the database (several logs share one database); without it the log
//! is `default`. Every other query parameter is handed to the driver unchanged
//! (`connect_timeout`, `application_name`, `host` for a Unix socket directory, ...). The
//! password never appears in [`PostgresLocation::display_path`], which error messages use.

use std::path::PathBuf;

use whyline_ledger::{LedgerError, Result};

/// The log used when a URL names none.
pub const DEFAULT_LOG: &str = "default";

/// A parsed PostgreSQL location: the connection string for the driver and the log's name.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresLocation {
    connection: String,
    log: String,
    display: String,
}

impl std::fmt::Debug for PostgresLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection string may hold a password: show the redacted form only.
        f.debug_struct("PostgresLocation")
            .field("location", &self.display)
            .finish()
    }
}

impl std::fmt::Display for PostgresLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

/// Whether `text` is a PostgreSQL URL (`postgres://` or `postgresql://`).
pub fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

impl PostgresLocation {
    /// Parses a URL (see the module docs). A bad log name or a URL of another scheme is a
    /// [`LedgerError::InvalidSetting`]; the driver checks the rest when connecting.
    pub fn parse(url: &str) -> Result<Self> {
        if !is_postgres_url(url) {
            return Err(invalid(
                url,
                "a URL starting with postgres:// or postgresql://",
            ));
        }
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, query),
            None => (url, ""),
        };
        let mut log = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            match pair.split_once('=') {
                Some(("log", name)) => log = Some(name.to_owned()),
                _ => kept.push(pair),
            }
        }
        let log = log.unwrap_or_else(|| DEFAULT_LOG.to_owned());
        if log.is_empty()
            || log.len() > 200
            || !log
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(LedgerError::InvalidSetting {
                setting: "log",
                value: log,
                expected: "1 to 200 characters of A-Z a-z 0-9 - _ .",
            });
        }
        let connection = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let display = format!("{}?log={log}", redact(base));
        Ok(Self {
            connection,
            log,
            display,
        })
    }

    /// The connection string handed to the driver (without the `log` parameter).
    pub fn connection_string(&self) -> &str {
        &self.connection
    }

    /// The log's name.
    pub fn log(&self) -> &str {
        &self.log
    }

    /// The location without password, as messages name the log:
    /// `postgres://user@host:port/db?log=NAME`.
    pub fn display_path(&self) -> PathBuf {
        PathBuf::from(&self.display)
    }

    /// The entry log's name as [`whyline_ledger::Store::location`] gives it, parallel to a
    /// directory's `DIR/entries.wls`: `postgres://user@host:port/db?log=NAME/entries`. The
    /// ledger names the checkpoints side log beside it (`.../db?log=NAME/checkpoints.wlc`).
    pub fn entry_log_path(&self) -> PathBuf {
        PathBuf::from(format!("{}/entries", self.display))
    }
}

fn invalid(url: &str, expected: &'static str) -> LedgerError {
    LedgerError::InvalidSetting {
        setting: "store URL",
        value: redact(url),
        expected,
    }
}

/// The URL with any password replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_parameter_is_taken_out_and_others_kept() {
        let location =
            PostgresLocation::parse("postgres://u@127.0.0.1:5433/db?connect_timeout=5&log=fleet")
                .unwrap();
        assert_eq!(location.log(), "fleet");
        assert_eq!(
            location.connection_string(),
            "postgres://u@127.0.0.1:5433/db?connect_timeout=5"
        );
        assert_eq!(
            location.display_path(),
            PathBuf::from("postgres://u@127.0.0.1:5433/db?log=fleet")
        );
        assert_eq!(
            location.entry_log_path(),
            PathBuf::from("postgres://u@127.0.0.1:5433/db?log=fleet/entries")
        );
    }

    #[test]
    fn without_a_log_parameter_the_log_is_default() {
        let location = PostgresLocation::parse("postgresql://u@h/db").unwrap();
        assert_eq!(location.log(), DEFAULT_LOG);
        assert_eq!(location.connection_string(), "postgresql://u@h/db");
    }

    #[test]
    fn the_password_never_reaches_messages() {
        let location = PostgresLocation::parse("postgres://u:secret@h:1/db?log=a").unwrap();
        assert!(!location.to_string().contains("secret"));
        assert!(!format!("{location:?}").contains("secret"));
        assert_eq!(location.to_string(), "postgres://u:***@h:1/db?log=a");
    }

    #[test]
    fn bad_log_names_and_other_schemes_are_refused() {
        for url in [
            "postgres://h/db?log=",
            "postgres://h/db?log=a%20b",
            "mysql://h/db",
        ] {
            let error = PostgresLocation::parse(url).unwrap_err();
            assert!(
                matches!(error, LedgerError::InvalidSetting { .. }),
                "{url}: {error:?}"
            );
        }
    }
}
