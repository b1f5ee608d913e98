//! Appending outcomes and erasures to an open ledger.

use whyline_core::{EntryKind, ErasureRecord, OutcomeRecord};

use crate::error::{LedgerError, Result};
use crate::ledger::{Ledger, Receipt};
use crate::seal::KeyStore;
use crate::store::Store;

/// Checks that entry `index` is a decision ([`LedgerError::NotADecision`] otherwise, or when
/// the log has no such entry).
pub fn check_decision<S: Store>(ledger: &Ledger<S>, index: u64) -> Result<()> {
    if index >= ledger.size() {
        return Err(LedgerError::NotADecision {
            index,
            found: format!("the log has {} entries", ledger.size()),
        });
    }
    let entry = ledger.read_entry(index)?;
    let kind = EntryKind::of(&entry.payload);
    if kind != EntryKind::Decision {
        return Err(LedgerError::NotADecision {
            index,
            found: format!("{kind:?}"),
        });
    }
    Ok(())
}

/// Appends `outcome` after checking that the entry it names is a decision
/// ([`LedgerError::NotADecision`] otherwise, or when the log has no such entry).
pub fn append_outcome<S: Store>(
    ledger: &mut Ledger<S>,
    outcome: &OutcomeRecord,
) -> Result<Receipt> {
    check_decision(ledger, outcome.decision_index)?;
    ledger.append(&outcome.to_bytes())
}

/// Erases `subject`: destroys its key in `keys` (saved atomically), then appends the
/// erasure record. The key goes first: a crash in between leaves the inputs erased without
/// the record, never a record claiming an erasure that did not happen.
pub fn append_erasure<S: Store>(
    ledger: &mut Ledger<S>,
    keys: &mut KeyStore,
    subject: &str,
    by: Option<&str>,
    erased_ns: u64,
) -> Result<(ErasureRecord, Receipt)> {
    let (subject_digest, _had_key) = keys.erase(subject, erased_ns)?;
    let record = ErasureRecord {
        subject_digest,
        by: by.map(str::to_owned),
        erased_ns,
    };
    let receipt = ledger.append(&record.to_bytes())?;
    Ok((record, receipt))
}
