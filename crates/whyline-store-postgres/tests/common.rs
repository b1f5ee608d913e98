//! A cluster and a fresh database per test.

use whyline_store_postgres::PostgresStore;
use whyline_store_postgres::testing::Cluster;

/// A private cluster with one new database, and the URL of log `log` in it.
pub(crate) struct Db {
    pub(crate) cluster: Cluster,
    pub(crate) database: String,
}

impl Db {
    pub(crate) fn new() -> Self {
        let cluster = Cluster::start().unwrap();
        let database = cluster.create_database().unwrap();
        Self { cluster, database }
    }

    pub(crate) fn url(&self, log: &str) -> String {
        self.cluster.url(&self.database, log)
    }

    pub(crate) fn writer(&self, log: &str) -> PostgresStore {
        PostgresStore::open(&self.url(log)).unwrap()
    }

    pub(crate) fn sql(&self) -> postgres::Client {
        self.cluster.client(&self.database).unwrap()
    }
}

/// Verifies `store`, which must be intact (signed by the conformance suite's key).
pub(crate) fn intact(store: &PostgresStore) -> whyline_ledger::VerifyReport {
    let verifier = whyline_ledger::store_conformance::signer().verifier();
    match whyline_ledger::verify_store(store, Some(&verifier)).unwrap() {
        whyline_ledger::VerifyOutcome::Intact(report) => report,
        whyline_ledger::VerifyOutcome::Broken(damage) => {
            panic!("expected an intact log, found {damage}")
        }
    }
}

/// Every entry's payload, in log order, read through a ledger reader (which must reach the
/// end of the log without a damaged or torn frame).
pub(crate) fn entries(store: &PostgresStore) -> Vec<Vec<u8>> {
    let read = whyline_ledger::LedgerReader::new(store)
        .unwrap()
        .all_entries()
        .unwrap();
    assert!(read.stopped.is_none(), "{:?}", read.stopped);
    read.entries
        .into_iter()
        .map(|entry| entry.payload)
        .collect()
}
