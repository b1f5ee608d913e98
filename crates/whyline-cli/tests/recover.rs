//! `whyline verify` on a log a crash cut short, and `whyline recover`: residue past the last
//! whole entry is named as a warning (exit 0, 1 with `--strict`) and cut by `recover`;
//! damage in the middle is refused unless `--salvage`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use whyline_core::{AnyPath, from_json, to_aprt};

fn whyline() -> Command {
    Command::cargo_bin("whyline").unwrap()
}

fn golden_lines() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-core/tests/fixtures/golden/all.jsonl");
    std::fs::read_to_string(path).unwrap()
}

/// Appends the golden traces without a signing key (no checkpoint covers any entry); the
/// APRT length of each.
fn unsigned_log(log: &Path) -> Vec<usize> {
    let lines = golden_lines();
    whyline()
        .arg("append")
        .arg(log)
        .args(["--durability", "sync"])
        .write_stdin(lines.clone())
        .assert()
        .success();
    lines
        .lines()
        .map(|line| to_aprt(&from_json::<AnyPath>(line).unwrap()).len())
        .collect()
}

fn stdout(command: &mut Command, code: i32) -> String {
    let output = command.assert().code(code).get_output().stdout.clone();
    String::from_utf8(output).unwrap()
}

#[test]
fn a_crash_cut_append_is_a_warning_that_recover_removes() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let lengths = unsigned_log(&log);
    let entries = log.join("entries.wls");
    let len = std::fs::metadata(&entries).unwrap().len();
    let last_frame = (52 + lengths[lengths.len() - 1]) as u64;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&entries)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let residue = last_frame - 3;

    let text = stdout(whyline().arg("verify").arg(&log), 0);
    assert!(text.contains("intact: 4 entries"), "{text}");
    assert!(
        text.contains(&format!(
            "warning: crash residue: {}: {residue} bytes at byte {}",
            entries.display(),
            len - last_frame
        )),
        "{text}"
    );
    assert!(text.contains("whyline recover"), "{text}");
    stdout(whyline().arg("verify").arg(&log).arg("--strict"), 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(
        whyline().arg("verify").arg(&log).args(["--format", "json"]),
        0,
    ))
    .unwrap();
    assert_eq!(json["type"], "intact");
    assert_eq!(json["crash_residue"][0]["bytes"], residue);
    assert_eq!(json["crash_residue"][0]["index"], 4);
    // Verify changed nothing.
    assert_eq!(std::fs::metadata(&entries).unwrap().len(), len - 3);

    let text = stdout(whyline().arg("recover").arg(&log), 0);
    assert!(
        text.contains(&format!(
            "cut {residue} bytes of crash residue past entry 3 (1 partial entry"
        )),
        "{text}"
    );
    assert!(text.contains("recovered: 4 entries"), "{text}");
    assert_eq!(std::fs::metadata(&entries).unwrap().len(), len - last_frame);
    let text = stdout(whyline().arg("verify").arg(&log).arg("--strict"), 0);
    assert!(!text.contains("warning"), "{text}");
    let text = stdout(whyline().arg("recover").arg(&log), 0);
    assert!(text.contains("nothing to recover: 4 entries"), "{text}");
}

#[test]
fn recover_refuses_damage_in_the_middle_unless_salvaging() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let lengths = unsigned_log(&log);
    let entries = log.join("entries.wls");
    let mut bytes = std::fs::read(&entries).unwrap();
    // Entry 1's payload: after the 16-byte file header, frame 0 and frame 1's 16-byte header.
    let at = 16 + 52 + lengths[0] + 16 + 8;
    bytes[at] ^= 0x40;
    std::fs::write(&entries, &bytes).unwrap();

    stdout(whyline().arg("verify").arg(&log), 1);
    let output = whyline().arg("recover").arg(&log).assert().code(2);
    let stderr = String::from_utf8(output.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("not what a crash leaves"), "{stderr}");
    assert!(stderr.contains("--salvage"), "{stderr}");
    assert_eq!(
        std::fs::read(&entries).unwrap(),
        bytes,
        "refused: untouched"
    );

    let json: serde_json::Value = serde_json::from_str(&stdout(
        whyline()
            .arg("recover")
            .arg(&log)
            .args(["--salvage", "--format", "json"]),
        0,
    ))
    .unwrap();
    assert_eq!(json["entries"], 1);
    assert_eq!(json["salvaged"]["index"], 1);
    assert_eq!(json["salvaged"]["kind"], "content changed");
    let text = stdout(whyline().arg("verify").arg(&log).arg("--strict"), 0);
    assert!(text.contains("intact: 1 entries"), "{text}");
}
