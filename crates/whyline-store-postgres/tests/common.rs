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
