//! The evidence kinds a ledger keeps beside decisions: what a decision saw (sealed inputs and
//! context), what became of it (outcomes and overrides), and erasures of a subject's inputs.
//! Each is an ordinary, chained, Merkle-covered entry told apart by its magic
//! ([`EntryKind::of`]); `docs/ledger-format.md` lays them out byte by byte.

mod erasure;
mod input;
mod outcome;
mod sealed;
pub(crate) mod stamped;

pub use erasure::{ERASURE_RECORD_MAGIC, ErasureRecord, parse_subject_digest};
pub use input::{
    Context, ContextValue, DecisionInput, MAX_CONTEXT_DEPTH, decode_input, encode_input,
    encode_input_f64,
};
pub use outcome::{OUTCOME_RECORD_MAGIC, OutcomeRecord};
pub use sealed::{
    AEGIS_256_KEY_LABEL, AES_GCM_KEY_LABEL, NONCE_LEN, SEALED_INPUT_HEADER_LEN, SEALED_INPUT_MAGIC,
    SEALED_TRAILER_AAD_LEN, SEALED_TRAILER_HEADER_LEN, SealAlgorithm, SealedHeader, SealedInput,
    SealedLayout, TAG_LEN, split_decision_entry, trailer_aad,
};

/// Which kind of record a ledger entry's payload is, by its first four bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// An APRT decision trace.
    Decision,
    /// A model record (`WLMD`).
    Model,
    /// An Andon alert (`WLAL`).
    Alert,
    /// A sealed input (`WLSI`).
    SealedInput,
    /// An outcome or override (`WLOC`).
    Outcome,
    /// An erasure (`WLER`).
    Erasure,
    /// A provenance graph node (`WLPN`, [`crate::provenance`]).
    ProvenanceNode,
    /// A provenance graph edge (`WLPE`, [`crate::provenance`]).
    ProvenanceEdge,
    /// None of the above (a newer kind, or damage).
    Unknown,
}

impl EntryKind {
    /// The kind of `payload`.
    ///
    /// ```
    /// use whyline_core::EntryKind;
    /// assert_eq!(EntryKind::of(b"APRT\x01"), EntryKind::Decision);
    /// assert_eq!(EntryKind::of(b"WLSI\x01"), EntryKind::SealedInput);
    /// assert_eq!(EntryKind::of(b"??"), EntryKind::Unknown);
    /// ```
    pub fn of(payload: &[u8]) -> EntryKind {
        let Some(magic) = payload.get(..4) else {
            return EntryKind::Unknown;
        };
        match <[u8; 4]>::try_from(magic).unwrap_or_default() {
            crate::APRT_MAGIC => EntryKind::Decision,
            crate::MODEL_RECORD_MAGIC => EntryKind::Model,
            crate::ALERT_RECORD_MAGIC => EntryKind::Alert,
            SEALED_INPUT_MAGIC => EntryKind::SealedInput,
            OUTCOME_RECORD_MAGIC => EntryKind::Outcome,
            ERASURE_RECORD_MAGIC => EntryKind::Erasure,
            crate::provenance::PROVENANCE_NODE_MAGIC => EntryKind::ProvenanceNode,
            crate::provenance::PROVENANCE_EDGE_MAGIC => EntryKind::ProvenanceEdge,
            _ => EntryKind::Unknown,
        }
    }

    /// Whether the record keeps a `timestamp_ns` at bytes 8..16 (all kinds but the model
    /// record).
    pub fn is_stamped(self) -> bool {
        matches!(
            self,
            EntryKind::Decision
                | EntryKind::Alert
                | EntryKind::SealedInput
                | EntryKind::Outcome
                | EntryKind::Erasure
                | EntryKind::ProvenanceNode
                | EntryKind::ProvenanceEdge
        )
    }

    /// Whether this is one of the evidence kinds: those of this module and the provenance
    /// nodes and edges (entries that are neither decisions, model records nor alerts).
    pub fn is_evidence(self) -> bool {
        matches!(
            self,
            EntryKind::SealedInput
                | EntryKind::Outcome
                | EntryKind::Erasure
                | EntryKind::ProvenanceNode
                | EntryKind::ProvenanceEdge
        )
    }
}
