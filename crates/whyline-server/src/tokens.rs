//! Bearer tokens and their scopes (`--tokens FILE`).
//!
//! The file holds one `SCOPE TOKEN` per line; `#` starts a comment, blank lines are skipped.
//! A token may appear on several lines to hold several scopes. A request carries
//! `Authorization: Bearer TOKEN`; every known token is compared with the one given in
//! constant time (`subtle`), so the time taken says nothing about how much of a token was
//! right. 401 without a valid token, 403 for a token without the route's scope; `admin`
//! holds every scope.

use std::path::Path;

use subtle::ConstantTimeEq;

use crate::error::ServerError;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Append decisions recorded elsewhere (`POST /v1/decisions`).
    Ingest,
    /// Ask the models (`/v2/models/...`).
    Infer,
    /// Read decisions, incidents, proofs, checkpoints, tiles and metrics.
    Read,
    /// Everything.
    Admin,
}

impl Scope {
    /// The scope's name in a tokens file.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Infer => "infer",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    fn parse(text: &str) -> Option<Scope> {
        [Scope::Ingest, Scope::Infer, Scope::Read, Scope::Admin]
            .into_iter()
            .find(|scope| scope.name() == text)
    }
}

/// The shortest token accepted: 16 bytes, so a token cannot be guessed in a few tries.
pub const MIN_TOKEN_LEN: usize = 16;

/// The tokens of a tokens file.
#[derive(Clone)]
pub struct Tokens {
    entries: Vec<TokenEntry>,
}

#[derive(Clone)]
struct TokenEntry {
    token: Vec<u8>,
    scopes: Vec<Scope>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a token.
        f.debug_struct("Tokens")
            .field("count", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// Who a request is, once its token was checked: the token's position in the file (its
/// concurrency slot), or anonymous without a tokens file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    /// No tokens file: every request is the same caller.
    Anonymous,
    /// The token at this position.
    Token(usize),
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization: Bearer` header, or an unknown token: 401.
    Unauthenticated,
    /// A known token without the route's scope: 403.
    Forbidden(Scope),
}

impl Tokens {
    /// Reads a tokens file.
    pub fn from_file(path: &Path) -> Result<Tokens, ServerError> {
        let text = std::fs::read_to_string(path)
            .map_err(ServerError::io("reading the tokens file", path.display()))?;
        Tokens::parse(&text, path)
    }

    /// Reads tokens-file text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Tokens, ServerError> {
        let mut entries: Vec<TokenEntry> = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let bad = |reason: String| ServerError::TokenLine {
                path: path.to_owned(),
                line: number + 1,
                reason,
            };
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(scope), Some(token), None) = (words.next(), words.next(), words.next())
            else {
                return Err(bad("expected SCOPE TOKEN".into()));
            };
            let scope = Scope::parse(scope).ok_or_else(|| {
                bad(format!(
                    "unknown scope {scope:?} (expected ingest, infer, read or admin)"
                ))
            })?;
            if token.len() < MIN_TOKEN_LEN {
                return Err(bad(format!(
                    "the token is {} bytes long, shorter than {MIN_TOKEN_LEN}",
                    token.len()
                )));
            }
            match entries.iter_mut().find(|e| e.token == token.as_bytes()) {
                Some(entry) => entry.scopes.push(scope),
                None => entries.push(TokenEntry {
                    token: token.as_bytes().to_vec(),
                    scopes: vec![scope],
                }),
            }
        }
        if entries.is_empty() {
            return Err(ServerError::TokenLine {
                path: path.to_owned(),
                line: 0,
                reason: "no tokens: every request would be refused".into(),
            });
        }
        Ok(Tokens { entries })
    }

    /// How many distinct tokens.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none (never, once parsed).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Checks an `Authorization` header value against `scope`.
    pub fn check(&self, authorization: Option<&[u8]>, scope: Scope) -> Result<Caller, Refusal> {
        let given = authorization
            .and_then(|value| value.strip_prefix(b"Bearer "))
            .ok_or(Refusal::Unauthenticated)?;
        // Compare with every token, whatever matched, in constant time per comparison.
        let mut found = None;
        for (position, entry) in self.entries.iter().enumerate() {
            if bool::from(entry.token.as_slice().ct_eq(given)) {
                found = Some(position);
            }
        }
        let position = found.ok_or(Refusal::Unauthenticated)?;
        let scopes = self
            .entries
            .get(position)
            .map(|e| e.scopes.as_slice())
            .unwrap_or_default();
        if scopes.contains(&scope) || scopes.contains(&Scope::Admin) {
            Ok(Caller::Token(position))
        } else {
            Err(Refusal::Forbidden(scope))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    const FILE: &str = "# who may do what\n\
        infer  infer-token-0123456789\n\
        read   reader-token-0123456789   # an auditor\n\
        \n\
        ingest both-token-0123456789\n\
        read   both-token-0123456789\n\
        admin  admin-token-0123456789\n";

    fn tokens() -> Tokens {
        Tokens::parse(FILE, Path::new("tokens.txt")).unwrap()
    }

    #[test]
    fn a_token_is_accepted_for_its_scopes_and_refused_for_others() {
        let tokens = tokens();
        assert_eq!(tokens.len(), 4);
        let check = |t: &str, s| tokens.check(Some(format!("Bearer {t}").as_bytes()), s);
        assert_eq!(
            check("infer-token-0123456789", Scope::Infer),
            Ok(Caller::Token(0))
        );
        assert_eq!(
            check("infer-token-0123456789", Scope::Read),
            Err(Refusal::Forbidden(Scope::Read))
        );
        assert_eq!(
            check("both-token-0123456789", Scope::Read),
            Ok(Caller::Token(2))
        );
        assert_eq!(
            check("both-token-0123456789", Scope::Ingest),
            Ok(Caller::Token(2))
        );
        assert_eq!(
            check("admin-token-0123456789", Scope::Ingest),
            Ok(Caller::Token(3))
        );
        assert_eq!(
            check("infer-token-012345678", Scope::Infer),
            Err(Refusal::Unauthenticated)
        );
        assert_eq!(
            tokens.check(Some(b"Basic aW5mZXI="), Scope::Infer),
            Err(Refusal::Unauthenticated)
        );
        assert_eq!(
            tokens.check(None, Scope::Infer),
            Err(Refusal::Unauthenticated)
        );
    }

    #[test]
    fn a_bad_line_is_an_error_naming_the_line() {
        let cases = [
            (
                "infer a-token-long-enough\nwrite t-0123456789abcdef\n",
                2,
                "unknown scope",
            ),
            ("# c\ninfer\n", 2, "expected SCOPE TOKEN"),
            ("infer a b\n", 1, "expected SCOPE TOKEN"),
            ("read short\n", 1, "shorter than 16"),
            ("# nothing\n", 0, "no tokens"),
        ];
        for (text, line, reason) in cases {
            match Tokens::parse(text, Path::new("t.txt")) {
                Err(ServerError::TokenLine {
                    line: l, reason: r, ..
                }) => {
                    assert_eq!(l, line, "{text:?}");
                    assert!(r.contains(reason), "{text:?}: {r}");
                }
                other => panic!("{text:?}: expected a line error, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_token_given_twice_counts_once_and_a_parsed_file_is_never_empty() {
        // Five lines, four tokens: `both-token` has two scopes.
        let tokens = tokens();
        assert_eq!(tokens.len(), 4);
        assert!(!tokens.is_empty());
    }

    #[test]
    fn tokens_are_not_printed_in_debug() {
        assert!(!format!("{:?}", tokens()).contains("0123456789"));
    }
}
