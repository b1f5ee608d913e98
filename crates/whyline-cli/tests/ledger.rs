//! `whyline keygen`, `append`, `verify`, `prove` and `checkpoint` end to end: receipts are
//! checked against the RFC 6962 leaf hash of each trace's APRT bytes (computed here with
//! `whyline_core::to_aprt` and SHA-256), and proofs are verified with the library's verifier.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use whyline_core::{AnyPath, from_json, to_aprt};
use whyline_ledger::{Hash, leaf_hash, verify_consistency, verify_inclusion};

fn whyline() -> Command {
    Command::cargo_bin("whyline").unwrap()
}

fn golden_lines() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-core/tests/fixtures/golden/all.jsonl");
    std::fs::read_to_string(path).unwrap()
}

fn unhex(text: &str) -> Hash {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect();
    bytes.try_into().unwrap()
}

fn keygen(dir: &Path) {
    whyline()
        .args(["keygen", "--out"])
        .arg(dir)
        .assert()
        .success();
}

fn append(log: &Path, key: &Path, input: &str, durability: &str) -> Vec<serde_json::Value> {
    let output = whyline()
        .arg("append")
        .arg(log)
        .args(["--durability", durability, "--signing-key"])
        .arg(key)
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn append_prints_one_receipt_per_trace_with_its_rfc6962_leaf_hash() {
    let tmp = tempfile::tempdir().unwrap();
    keygen(&tmp.path().join("keys"));
    let input = golden_lines();
    for durability in ["sync", "interval", "none"] {
        let log = tmp.path().join(format!("log-{durability}"));
        let receipts = append(
            &log,
            &tmp.path().join("keys/ledger.key"),
            &input,
            durability,
        );
        assert_eq!(receipts.len(), 5, "{durability}");
        for (i, (receipt, line)) in receipts.iter().zip(input.lines()).enumerate() {
            let trace = from_json::<AnyPath>(line).unwrap();
            assert_eq!(receipt["index"], i as u64);
            assert_eq!(
                unhex(receipt["leaf"].as_str().unwrap()),
                leaf_hash(&to_aprt(&trace)),
                "{durability} entry {i}"
            );
        }
    }
}

#[test]
fn verify_passes_an_intact_log_and_names_a_changed_entry_with_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    keygen(&tmp.path().join("keys"));
    let log = tmp.path().join("log");
    append(
        &log,
        &tmp.path().join("keys/ledger.key"),
        &golden_lines(),
        "sync",
    );
    let out = whyline()
        .arg("verify")
        .arg(&log)
        .arg("--public-key")
        .arg(tmp.path().join("keys/ledger.pub"))
        .args(["--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["type"], "intact");
    assert_eq!(report["entries"], 5);
    assert_eq!(report["signatures_checked"], true);

    // Flip one byte in the payload of entry 2 (16-byte file header, then frames).
    let path = log.join("entries.wls");
    let mut bytes = std::fs::read(&path).unwrap();
    let mut at = 16;
    for _ in 0..2 {
        let n = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += 16 + n + 36;
    }
    bytes[at + 16 + 20] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let out = whyline()
        .arg("verify")
        .arg(&log)
        .args(["--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let problem: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(problem["type"], "problem");
    assert_eq!(problem["index"], 2);
    assert_eq!(problem["offset"], at as u64);
    assert_eq!(problem["kind"], "content changed");
}

#[test]
fn verify_with_another_key_reports_an_invalid_signature() {
    let tmp = tempfile::tempdir().unwrap();
    keygen(&tmp.path().join("keys"));
    keygen(&tmp.path().join("other"));
    let log = tmp.path().join("log");
    append(
        &log,
        &tmp.path().join("keys/ledger.key"),
        &golden_lines(),
        "interval",
    );
    whyline()
        .arg("verify")
        .arg(&log)
        .arg("--public-key")
        .arg(tmp.path().join("other/ledger.pub"))
        .assert()
        .code(1)
        .stdout(predicates::str::contains("checkpoint signature invalid"));
}

#[test]
fn prove_prints_proofs_that_verify_against_the_latest_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    keygen(&tmp.path().join("keys"));
    let log = tmp.path().join("log");
    let key = tmp.path().join("keys/ledger.key");
    let receipts = append(&log, &key, &golden_lines(), "none");
    append(&log, &key, &golden_lines(), "none");
    let proof: serde_json::Value = serde_json::from_slice(
        &whyline()
            .arg("prove")
            .arg(&log)
            .args(["--index", "3"])
            .assert()
            .success()
            .get_output()
            .stdout,
    )
    .unwrap();
    assert_eq!(proof["tree_size"], 10);
    let hashes: Vec<Hash> = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| unhex(h.as_str().unwrap()))
        .collect();
    let leaf = unhex(receipts[3]["leaf"].as_str().unwrap());
    let root = unhex(proof["root"].as_str().unwrap());
    verify_inclusion(&leaf, 3, 10, &hashes, &root).unwrap();

    let consistency: serde_json::Value = serde_json::from_slice(
        &whyline()
            .arg("prove")
            .arg(&log)
            .args(["--from", "5"])
            .assert()
            .success()
            .get_output()
            .stdout,
    )
    .unwrap();
    let hashes: Vec<Hash> = consistency["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| unhex(h.as_str().unwrap()))
        .collect();
    let old_root = unhex(consistency["old_root"].as_str().unwrap());
    verify_consistency(5, 10, &old_root, &root, &hashes).unwrap();
}

#[test]
fn checkpoint_prints_a_signed_note_for_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    keygen(&tmp.path().join("keys"));
    let log = tmp.path().join("log");
    append(
        &log,
        &tmp.path().join("keys/ledger.key"),
        &golden_lines(),
        "sync",
    );
    let out = whyline()
        .arg("checkpoint")
        .arg(&log)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let note = String::from_utf8(out).unwrap();
    let mut lines = note.lines();
    assert_eq!(lines.next(), Some("whyline/ledger"));
    assert_eq!(lines.next(), Some("5"));
    assert!(note.contains("\n\n\u{2014} whyline/ledger "), "{note}");
}

#[test]
fn a_bad_json_line_stops_append_with_exit_2_after_printing_earlier_receipts() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let input = format!(
        "{}not json\n",
        golden_lines().lines().next().unwrap().to_owned() + "\n"
    );
    whyline()
        .arg("append")
        .arg(&log)
        .write_stdin(input)
        .assert()
        .code(2)
        .stdout(predicates::str::contains("\"index\":0"))
        .stderr(predicates::str::starts_with(
            "whyline: error: standard input, line 2, column 2: not a JSON trace: expected ident\n",
        ));
}

#[test]
fn append_refuses_a_nan_output_as_decision_ingest_does() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let first = golden_lines().lines().next().unwrap().to_owned();
    let mut nan: serde_json::Value = serde_json::from_str(&first).unwrap();
    nan["trace"]["output"] = serde_json::json!("NaN");
    whyline()
        .arg("append")
        .arg(&log)
        .write_stdin(format!("{first}\n{nan}\n"))
        .assert()
        .code(2)
        .stdout(predicates::str::contains("\"index\":0"))
        .stderr(predicates::str::contains(
            "standard input, line 2: the output is NaN (a decision must have an output)",
        ));
}

#[test]
fn prove_refuses_a_log_cut_into_its_signed_entries_with_exit_1_and_leaves_it_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    keygen(&tmp.path().join("keys"));
    let log = tmp.path().join("log");
    append(
        &log,
        &tmp.path().join("keys/ledger.key"),
        &golden_lines(),
        "sync",
    );
    let path = log.join("entries.wls");
    let len = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len - 3).unwrap();
    whyline()
        .arg("prove")
        .arg(&log)
        .args(["--seq", "0"]) // the old name of --index
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "covers entries the log does not hold",
        ));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len - 3);
}

#[test]
fn reading_commands_refuse_a_directory_that_is_not_a_ledger_and_create_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    for command in [
        vec!["verify"],
        vec!["prove", "--index", "0"],
        vec!["checkpoint"],
    ] {
        whyline()
            .args(&command)
            .arg(&missing)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(
                "is not a whyline ledger: it does not exist",
            ));
        assert!(
            !missing.exists(),
            "{command:?} created {}",
            missing.display()
        );
        whyline()
            .args(&command)
            .arg(tmp.path())
            .assert()
            .code(2)
            .stderr(predicates::str::contains(
                "is not a whyline ledger: it has no entries.wls",
            ));
        assert!(!tmp.path().join("entries.wls").exists(), "{command:?}");
    }
}

/// Runs `whyline verify-proof` on `proof` (written to a file) and returns (exit code, stdout).
fn verify_proof(dir: &Path, proof: &serde_json::Value, key: &Path) -> (i32, String) {
    let file = dir.join("proof.json");
    std::fs::write(&file, proof.to_string()).unwrap();
    let output = whyline()
        .arg("verify-proof")
        .arg(&file)
        .arg("--public-key")
        .arg(key)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

fn prove(log: &Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_slice(
        &whyline()
            .arg("prove")
            .arg(log)
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout,
    )
    .unwrap()
}

#[test]
fn window_proofs_are_printed_and_verify_proof_checks_every_kind_offline() {
    let tmp = tempfile::tempdir().unwrap();
    keygen(&tmp.path().join("keys"));
    keygen(&tmp.path().join("other"));
    let log = tmp.path().join("log");
    let key = tmp.path().join("keys/ledger.key");
    let public = tmp.path().join("keys/ledger.pub");
    append(&log, &key, &golden_lines(), "none");
    append(&log, &key, &golden_lines(), "none");
    // The golden traces are all stamped 2024-03-15T14:19:07.123456789Z.
    let window = prove(
        &log,
        &["--window", "2024-03-15T14:19:07Z..1710512347123456789"],
    );
    assert_eq!(window["type"], "window");
    assert_eq!(
        (&window["first_index"], &window["end_index"]),
        (&0.into(), &10.into())
    );
    assert!(window["before"].is_null() && window["after"].is_null());
    let (code, out) = verify_proof(tmp.path(), &window, &public);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("valid window proof"), "{out}");
    assert!(out.contains("entries 0..10 (10)"), "{out}");

    // A window after every entry: empty, bounded by the last entry.
    let after = prove(
        &log,
        &["--window", "1710512347123456790..1710512347123456999"],
    );
    assert_eq!(
        (&after["first_index"], &after["end_index"]),
        (&10.into(), &10.into())
    );
    assert_eq!(after["before"]["index"], 9);
    assert_eq!(verify_proof(tmp.path(), &after, &public).0, 0);

    // Hiding entries (the range shrunk) or another log's key: exit 1, with the reason.
    let mut shrunk = window.clone();
    shrunk["end_index"] = 9.into();
    let (code, out) = verify_proof(tmp.path(), &shrunk, &public);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("INVALID window proof") && out.contains("range 0..9"),
        "{out}"
    );
    let (code, out) = verify_proof(tmp.path(), &window, &tmp.path().join("other/ledger.pub"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no signature by the expected key"), "{out}");

    // Inclusion and consistency proofs are files verify-proof reads too.
    for args in [["--index", "3"], ["--from", "5"]] {
        let proof = prove(&log, &args);
        let (code, out) = verify_proof(tmp.path(), &proof, &public);
        assert_eq!(code, 0, "{args:?}: {out}");
    }
    let mut wrong = prove(&log, &["--index", "3"]);
    wrong["index"] = 4.into();
    assert_eq!(verify_proof(tmp.path(), &wrong, &public).0, 1);

    // Not a proof: exit 2.
    std::fs::write(tmp.path().join("junk.json"), "{\"type\":\"receipt\"}").unwrap();
    whyline()
        .arg("verify-proof")
        .arg(tmp.path().join("junk.json"))
        .arg("--public-key")
        .arg(&public)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown type \"receipt\""));
}

#[test]
fn incident_states_the_window_complete_in_text_json_and_html() {
    let tmp = tempfile::tempdir().unwrap();
    keygen(&tmp.path().join("keys"));
    let log = tmp.path().join("log");
    append(
        &log,
        &tmp.path().join("keys/ledger.key"),
        &golden_lines(),
        "none",
    );
    let run = |format: &str| {
        let output = whyline()
            .arg("incident")
            .arg(&log)
            .args([
                "--at",
                "1710512347123456789",
                "--before",
                "1s",
                "--format",
                format,
            ])
            .arg("--public-key")
            .arg(tmp.path().join("keys/ledger.pub"))
            .output()
            .unwrap();
        assert!(matches!(output.status.code(), Some(0 | 1)), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let text = run("text");
    assert!(
        text.contains(
            "WINDOW COMPLETENESS: COMPLETE: entries 0..5 are every entry stamped in the window"
        ),
        "{text}"
    );
    assert!(text.contains("signature verified"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(json["completeness"]["status"], "complete");
    assert_eq!(json["completeness"]["end_index"], 5);
    assert_eq!(json["completeness"]["proof"]["type"], "window");
    // The proof in the report is one verify-proof accepts.
    let proof = json["completeness"]["proof"].clone();
    let (code, out) = verify_proof(tmp.path(), &proof, &tmp.path().join("keys/ledger.pub"));
    assert_eq!(code, 0, "{out}");
    let html = run("html");
    assert!(html.contains("id=\"completeness\""), "{html}");
    assert!(html.contains("COMPLETE: entries 0..5"), "{html}");
}
