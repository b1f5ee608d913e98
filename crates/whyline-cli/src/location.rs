//! Where a ledger lives, as a command line names it: a directory of segment files, or a log in
//! PostgreSQL (`postgres://user@host:port/db?log=NAME`, see `docs/postgres-store.md`).
//!
//! The location itself is the facade's [`whyline::LogLocation`], which the server uses too;
//! read commands (`verify`, `incident`, `prove`) open it read-only through
//! [`LogLocation::open_read_only`] and then run the same library code on the store; only the
//! name printed differs (the URL without its password).

pub(crate) use whyline::LogLocation;

/// clap's value parser for a `LOG` argument (any path, UTF-8 or not, or a URL, checked now so
/// that a bad URL is a usage error).
pub(crate) fn log_parser() -> impl clap::builder::TypedValueParser<Value = LogLocation> {
    use clap::builder::TypedValueParser;
    clap::builder::OsStringValueParser::new()
        .try_map(|text: std::ffi::OsString| LogLocation::parse(&text))
}
