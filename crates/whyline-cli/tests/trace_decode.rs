//! `whyline --version` and `whyline trace decode` end to end, against the golden fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-core/tests/fixtures/golden")
        .join(name)
}

fn whyline() -> Command {
    Command::cargo_bin("whyline").unwrap()
}

#[test]
fn version_prints_the_crate_version() {
    whyline()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("whyline {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn decode_prints_the_golden_json_lines() {
    let expected = std::fs::read_to_string(golden("all.jsonl")).unwrap();
    whyline()
        .args(["trace", "decode"])
        .arg(golden("all.aprt"))
        .assert()
        .success()
        .stdout(expected)
        .stderr("");
}

#[test]
fn decode_reads_standard_input() {
    let expected = std::fs::read_to_string(golden("all.jsonl")).unwrap();
    whyline()
        .args(["trace", "decode", "-"])
        .write_stdin(std::fs::read(golden("all.aprt")).unwrap())
        .assert()
        .success()
        .stdout(expected);
}

#[test]
fn decode_stops_at_the_first_bad_record_and_names_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(golden("linear.aprt")).unwrap();
    let second = bytes.len();
    bytes.extend(std::fs::read(golden("tree.aprt")).unwrap());
    bytes[second + 4] = 9; // version byte of the second record
    let file = dir.path().join("bad.aprt");
    std::fs::write(&file, &bytes).unwrap();
    let first_line = std::fs::read_to_string(golden("all.jsonl"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    whyline()
        .args(["trace", "decode"])
        .arg(&file)
        .assert()
        .code(1)
        .stdout(format!("{first_line}\n"))
        .stderr(predicate::str::contains(format!(
            "APRT record at byte {}: unknown version 9",
            second + 4
        )));
}

#[test]
fn decode_of_a_truncated_file_reports_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(golden("forest.aprt")).unwrap();
    let file = dir.path().join("cut.aprt");
    std::fs::write(&file, &bytes[..bytes.len() - 3]).unwrap();
    whyline()
        .args(["trace", "decode"])
        .arg(&file)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("truncated"));
}

#[test]
fn a_missing_file_is_an_io_error_with_exit_2() {
    whyline()
        .args(["trace", "decode", "/nonexistent/whyline.aprt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "reading /nonexistent/whyline.aprt",
        ));
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    whyline()
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Usage"));
    whyline()
        .args(["trace", "decode", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Decode a file of concatenated APRT records",
        ));
}

#[test]
fn decode_as_text_explains_each_record() {
    whyline()
        .args(["trace", "decode", "--format", "text"])
        .arg(golden("all.aprt"))
        .assert()
        .success()
        .stdout(predicate::str::contains("#42 at byte 0: LinearPath"))
        .stdout(predicate::str::contains("Decision Path (depth=3):"))
        .stdout(predicate::str::contains("3 nearest neighbours:"));
}
