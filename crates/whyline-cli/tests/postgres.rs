//! `whyline verify|incident|prove|recover postgres://...` against a private PostgreSQL
//! cluster: the same log written once into a directory and once into PostgreSQL (through the
//! library, with the same key) gives the same reports, byte for byte apart from the log's
//! name; a row changed with SQL is named as the bad entry, as a changed file byte is.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use whyline_core::{AnyPath, from_json, to_aprt};
use whyline_ledger::{Durability, Ledger, LedgerOptions, NoteSigner, SegmentStore, Store, keys};
use whyline_store_postgres::PostgresStore;
use whyline_store_postgres::testing::Cluster;

fn whyline() -> Command {
    Command::cargo_bin("whyline").unwrap()
}

fn golden_payloads() -> Vec<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-core/tests/fixtures/golden/all.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| to_aprt(&from_json::<AnyPath>(line).unwrap()))
        .collect()
}

/// Appends the golden decisions durably and signs a final checkpoint.
fn write_log<S: Store>(store: S, signer: &NoteSigner) {
    let options = LedgerOptions::signed(signer.name(), signer.clone()).durability(Durability::Sync);
    let (mut ledger, _) = Ledger::open(store, options).unwrap();
    for payload in golden_payloads() {
        ledger.append(&payload).unwrap();
    }
    ledger.checkpoint().unwrap();
    drop(ledger.into_store().unwrap());
}

/// A directory ledger and a PostgreSQL log holding the same entries, and the verifier key.
struct Twins {
    tmp: tempfile::TempDir,
    cluster: Cluster,
    database: String,
}

impl Twins {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let signer = NoteSigner::generate_ed25519("whyline.test/postgres").unwrap();
        keys::write_keypair(&tmp.path().join("keys"), &signer).unwrap();
        let cluster = Cluster::start().unwrap();
        let database = cluster.create_database().unwrap();
        write_log(SegmentStore::open(tmp.path().join("log")).unwrap(), &signer);
        write_log(
            PostgresStore::open(&cluster.url(&database, "fleet")).unwrap(),
            &signer,
        );
        Self {
            tmp,
            cluster,
            database,
        }
    }

    fn dir(&self) -> PathBuf {
        self.tmp.path().join("log")
    }

    fn url(&self) -> String {
        self.cluster.url(&self.database, "fleet")
    }

    /// The URL as messages show it.
    fn shown(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{}?log=fleet",
            self.cluster.port(),
            self.database
        )
    }

    fn public_key(&self) -> PathBuf {
        self.tmp.path().join("keys/ledger.pub")
    }
}

/// Runs `whyline ARGS` on `log` and returns (exit code, stdout).
fn run(
    log: &dyn AsRef<std::ffi::OsStr>,
    command: &str,
    args: &[&std::ffi::OsStr],
) -> (i32, String) {
    let output = whyline().arg(command).arg(log).args(args).output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn verify_prove_and_incident_on_postgres_print_what_they_print_for_the_same_directory() {
    let twins = Twins::new();
    let key = twins.public_key();
    let key_args = ["--public-key".as_ref(), key.as_os_str()];

    // verify: JSON identical, text identical but for the log's name.
    let json = [
        key_args[0],
        key_args[1],
        "--format".as_ref(),
        "json".as_ref(),
    ];
    let from_dir = run(&twins.dir(), "verify", &json);
    let from_pg = run(&twins.url(), "verify", &json);
    assert_eq!(from_dir.0, 0, "{from_dir:?}");
    assert_eq!(from_pg, from_dir);
    let report: serde_json::Value = serde_json::from_str(&from_pg.1).unwrap();
    assert_eq!(report["entries"], 5);
    assert_eq!(report["signatures_checked"], true);
    let text_dir = run(&twins.dir(), "verify", &key_args).1;
    let text_pg = run(&twins.url(), "verify", &key_args).1;
    let shown = twins.shown();
    assert!(
        text_pg.starts_with(&format!("{shown}: intact: 5 entries")),
        "{text_pg}"
    );
    assert_eq!(
        text_pg.replace(&shown, "LOG"),
        text_dir.replace(&twins.dir().display().to_string(), "LOG")
    );

    // prove: the same proofs (same entries, same signed checkpoint), which verify offline.
    for args in [["--index", "3"], ["--from", "2"]] {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        let from_dir = run(&twins.dir(), "prove", &args);
        let from_pg = run(&twins.url(), "prove", &args);
        assert_eq!(from_dir.0, 0, "{from_dir:?}");
        assert_eq!(from_pg, from_dir);
        let proof = twins.tmp.path().join("proof.json");
        std::fs::write(&proof, &from_pg.1).unwrap();
        whyline()
            .arg("verify-proof")
            .arg(&proof)
            .arg("--public-key")
            .arg(&key)
            .assert()
            .code(0);
    }

    // incident: the same report but for the log's name.
    let incident = [
        "--at".as_ref(),
        "1710512347123456789".as_ref(),
        "--before".as_ref(),
        "1s".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        key_args[0],
        key_args[1],
    ];
    let (code_dir, dir_json) = run(&twins.dir(), "incident", &incident);
    let (code_pg, pg_json) = run(&twins.url(), "incident", &incident);
    assert_eq!(code_pg, code_dir);
    let mut dir_report: serde_json::Value = serde_json::from_str(&dir_json).unwrap();
    let mut pg_report: serde_json::Value = serde_json::from_str(&pg_json).unwrap();
    assert_eq!(pg_report["completeness"]["status"], "complete", "{pg_json}");
    strip_log_names(&mut dir_report);
    strip_log_names(&mut pg_report);
    assert_eq!(pg_report, dir_report);
}

/// Replaces every string naming the log (its path or URL) by "LOG".
fn strip_log_names(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text)
            if text.starts_with("postgres://") || Path::new(text.as_str()).is_absolute() =>
        {
            *text = "LOG".into();
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_log_names),
        serde_json::Value::Object(map) => map.values_mut().for_each(strip_log_names),
        _ => {}
    }
}

#[test]
fn verify_names_the_entry_a_dba_changed_with_sql_and_exits_1() {
    let twins = Twins::new();
    let mut sql = twins.cluster.client(&twins.database).unwrap();
    // Entry 2's frame: the third row after the 16-byte header row. Flip one payload byte.
    let offset: i64 = sql
        .query_one(
            "SELECT byte_offset FROM whyline_entries WHERE log_name = 'fleet' AND entry_index = 2",
            &[],
        )
        .unwrap()
        .get(0);
    let changed = sql
        .execute(
            "UPDATE whyline_frames SET bytes = set_byte(bytes, 36, get_byte(bytes, 36) # 1) \
             WHERE start_offset = $1",
            &[&offset],
        )
        .unwrap();
    assert_eq!(changed, 1);
    let (code, out) = run(
        &twins.url(),
        "verify",
        &["--format".as_ref(), "json".as_ref()],
    );
    assert_eq!(code, 1, "{out}");
    let problem: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(problem["type"], "problem");
    assert_eq!(problem["index"], 2);
    assert_eq!(problem["offset"], offset);
    assert_eq!(problem["kind"], "content changed");
    // The same change in the directory's file is reported the same way.
    let path = twins.dir().join("entries.wls");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[offset as usize + 36] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let from_dir = run(
        &twins.dir(),
        "verify",
        &["--format".as_ref(), "json".as_ref()],
    );
    let mut dir_problem: serde_json::Value = serde_json::from_str(&from_dir.1).unwrap();
    assert_eq!(from_dir.0, 1);
    assert_eq!(dir_problem["path"], path.display().to_string());
    let mut pg_problem = problem.clone();
    assert_eq!(pg_problem["path"], format!("{}/entries", twins.shown()));
    dir_problem["path"] = "LOG".into();
    pg_problem["path"] = "LOG".into();
    assert_eq!(pg_problem, dir_problem);
}

#[test]
fn reading_commands_refuse_a_missing_log_and_create_nothing() {
    let twins = Twins::new();
    let missing = twins.cluster.url(&twins.database, "nothing");
    for command in ["verify", "prove"] {
        let extra: &[&std::ffi::OsStr] = if command == "prove" {
            &["--index".as_ref(), "0".as_ref()]
        } else {
            &[]
        };
        let output = whyline()
            .arg(command)
            .arg(&missing)
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{command}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("is not a whyline ledger"), "{stderr}");
    }
    let logs: i64 = twins
        .cluster
        .client(&twins.database)
        .unwrap()
        .query_one("SELECT count(*) FROM whyline_logs", &[])
        .unwrap()
        .get(0);
    assert_eq!(logs, 1);
}

#[test]
fn recover_on_postgres_cuts_a_torn_tail_and_refuses_while_a_writer_holds_the_log() {
    let twins = Twins::new();
    let writer = PostgresStore::open(&twins.url()).unwrap();
    let output = whyline().arg("recover").arg(twins.url()).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("already has a writer"), "{stderr}");
    // One more entry, durable but not yet under a checkpoint, as a crash can leave it.
    let (mut ledger, _) = Ledger::open(
        writer,
        LedgerOptions::without_checkpoints("whyline.test/postgres").durability(Durability::Sync),
    )
    .unwrap();
    ledger.append(&golden_payloads()[0]).unwrap();
    drop(ledger.into_store().unwrap());
    // A torn last frame (cut by SQL, as a crash of a file store leaves it) is cut.
    twins
        .cluster
        .client(&twins.database)
        .unwrap()
        .execute(
            "UPDATE whyline_frames SET bytes = substring(bytes FROM 1 FOR length(bytes) - 10) \
             WHERE start_offset = (SELECT max(start_offset) FROM whyline_frames)",
            &[],
        )
        .unwrap();
    let output = whyline()
        .arg("recover")
        .arg(twins.url())
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["entries"], 5);
    assert_eq!(report["torn_entries"], 1);
    let (code, out) = run(&twins.url(), "verify", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(": intact: 5 entries"), "{out}");
    assert!(!out.contains("crash residue"), "{out}");
}
