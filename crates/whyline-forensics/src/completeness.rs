//! Whether the incident window is complete, and how the report knows: a window proof
//! ([`WindowEvidence`]) made from the log and checked like any auditor would check it.

use serde::Serialize;
use whyline_ledger::{NoteVerifier, WindowEvidence};

/// One boundary entry of the window, as the report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Boundary {
    /// The entry's index in the log.
    pub index: u64,
    /// Its time, Unix nanoseconds.
    pub timestamp_ns: u64,
}

/// Whether the window holds every entry stamped in it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Completeness {
    /// A window proof holds: entries `first_index..end_index` are every entry stamped in the
    /// window, bounded by `before` and `after` (each with its inclusion proof) under the
    /// checkpoint of `checkpoint_size` entries.
    Complete {
        /// First index of the range.
        first_index: u64,
        /// End (exclusive) of the range.
        end_index: u64,
        /// The last entry before the window; `None`: the range starts at the log's start.
        before: Option<Boundary>,
        /// The first entry after the window; `None`: the range runs to the checkpoint's end.
        after: Option<Boundary>,
        /// The checkpoint's size.
        checkpoint_size: u64,
        /// The checkpoint's origin (the log's name).
        origin: String,
        /// The time disorder the checkpoint signs, nanoseconds (0: the log is in order).
        time_disorder_ns: u64,
        /// Whether the checkpoint's signature was checked with a public key.
        signature_checked: bool,
        /// The proof itself, for `whyline verify-proof`.
        proof: Box<WindowEvidence>,
    },
    /// No proof could be made or it did not hold.
    Unproven {
        /// Why.
        reason: String,
    },
}

impl Completeness {
    /// Whether the window was proven complete.
    pub fn is_complete(&self) -> bool {
        matches!(self, Completeness::Complete { .. })
    }

    /// The window proof made from the verified log (or why none could be made), checked
    /// as an auditor checks it with `verifier` when given; without a key the proof is
    /// reported as built from the verified log, its signature unchecked. `entries_read` are
    /// the log indices the report read for the window: each must lie in the proven range.
    pub(crate) fn check(
        proof: whyline_ledger::Result<WindowEvidence>,
        verifier: Option<&NoteVerifier>,
        entries_read: &[u64],
    ) -> Completeness {
        let unproven = |reason: String| Completeness::Unproven { reason };
        let proof = match proof {
            Ok(proof) => proof,
            Err(error) => return unproven(error.to_string()),
        };
        let origin = match proof.origin() {
            Ok(origin) => origin,
            Err(error) => return unproven(error.to_string()),
        };
        if let Some(verifier) = verifier
            && let Err(error) = proof.verify(verifier, &origin)
        {
            return unproven(format!("the window proof does not hold: {error}"));
        }
        // Every entry the report read must lie in the proven range (those after the
        // checkpoint are not covered by it).
        if let Some(outside) = entries_read
            .iter()
            .find(|&&i| i < proof.tree_size && !(proof.first_index..proof.end_index).contains(&i))
        {
            return unproven(format!(
                "entry {outside} was read for the window but lies outside the proven range {}..{}",
                proof.first_index, proof.end_index
            ));
        }
        let boundary = |b: &whyline_ledger::WindowBoundary| Boundary {
            index: b.index,
            timestamp_ns: b.timestamp_ns,
        };
        Completeness::Complete {
            first_index: proof.first_index,
            end_index: proof.end_index,
            before: proof.before.as_ref().map(boundary),
            after: proof.after.as_ref().map(boundary),
            checkpoint_size: proof.tree_size,
            origin,
            time_disorder_ns: proof.time_disorder_ns,
            signature_checked: verifier.is_some(),
            proof: Box::new(proof),
        }
    }

    /// One sentence saying whether the window is complete and how the report knows.
    pub fn summary(&self) -> String {
        match self {
            Completeness::Complete {
                first_index,
                end_index,
                before,
                after,
                checkpoint_size,
                origin,
                time_disorder_ns,
                signature_checked,
                ..
            } => {
                let bound = |b: &Boundary, side: &str| {
                    format!(
                        "entry {} ({side}, {}, proven included)",
                        b.index,
                        crate::format_time_ns(b.timestamp_ns)
                    )
                };
                let before = before.as_ref().map_or_else(
                    || "the log's start".to_owned(),
                    |b| bound(b, "before the window"),
                );
                let after = after.as_ref().map_or_else(
                    || "the end of the checkpoint (later entries are not covered)".to_owned(),
                    |a| bound(a, "after the window"),
                );
                let signed = if *signature_checked {
                    "signature verified"
                } else {
                    "signature not checked (no public key)"
                };
                let disorder = if *time_disorder_ns == 0 {
                    "times in order".to_owned()
                } else {
                    format!("range widened by the log's time disorder of {time_disorder_ns} ns")
                };
                format!(
                    "COMPLETE: entries {first_index}..{end_index} are every entry stamped in the window: from {before} to {after}, under the checkpoint of {origin} at size {checkpoint_size} ({signed}; {disorder})"
                )
            }
            Completeness::Unproven { reason } => format!("NOT PROVEN: {reason}"),
        }
    }
}
