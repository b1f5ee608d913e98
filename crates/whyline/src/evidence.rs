//! Outcomes and erasures appended to a ledger on disk: what `whyline outcome` and
//! `whyline erase` run, for every front end.

use std::path::{Path, PathBuf};

use whyline_core::{ErasureRecord, OutcomeRecord, now_ns};
use whyline_ledger::seal::{KeyStore, append_erasure, append_outcome};
use whyline_ledger::{Durability, Ledger, LedgerOptions, NoteSigner, Receipt};

use crate::error::Result;

/// The ledger in `dir` opened for one durable append, signing a checkpoint afterwards when
/// `signer` is given.
fn open(dir: &Path, signer: Option<NoteSigner>) -> Result<Ledger<whyline_ledger::SegmentStore>> {
    let options = match signer {
        Some(signer) => {
            let origin = signer.name().to_owned();
            LedgerOptions::signed(&origin, signer)
        }
        None => LedgerOptions::without_checkpoints(crate::DEFAULT_ORIGIN),
    }
    .durability(Durability::Sync);
    let (ledger, _) = Ledger::open_existing(dir, options)?;
    Ok(ledger)
}

/// Appends `outcome` to the ledger in `dir` (the entry it names must be a decision), durably;
/// with `signer`, signs a checkpoint covering it.
pub fn record_outcome(
    dir: &Path,
    outcome: &OutcomeRecord,
    signer: Option<NoteSigner>,
) -> Result<Receipt> {
    let signs = signer.is_some();
    let mut ledger = open(dir, signer)?;
    let receipt = append_outcome(&mut ledger, outcome)?;
    if signs {
        ledger.checkpoint()?;
    }
    ledger.commit()?;
    Ok(receipt)
}

/// What [`erase_subject`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erasure {
    /// The erasure record appended.
    pub record: ErasureRecord,
    /// Its place in the log.
    pub receipt: Receipt,
    /// The key store whose key was destroyed.
    pub key_store: PathBuf,
}

/// Erases `subject` from the ledger in `dir`: destroys its key in the key store (`key_store`,
/// default `keys/subjects.wks` in `dir`), then appends the erasure record durably (and, with
/// `signer`, a checkpoint). Verification is unaffected; the subject's sealed inputs read as
/// erased from then on. Run it while no recorder writes to the same key store.
pub fn erase_subject(
    dir: &Path,
    key_store: Option<&Path>,
    subject: &str,
    by: Option<&str>,
    signer: Option<NoteSigner>,
) -> Result<Erasure> {
    let path = key_store.map_or_else(|| KeyStore::default_path(dir), Path::to_path_buf);
    let mut keys = KeyStore::open(&path)?;
    let signs = signer.is_some();
    let mut ledger = open(dir, signer)?;
    let (record, receipt) = append_erasure(&mut ledger, &mut keys, subject, by, now_ns())?;
    if signs {
        ledger.checkpoint()?;
    }
    ledger.commit()?;
    Ok(Erasure {
        record,
        receipt,
        key_store: path,
    })
}
