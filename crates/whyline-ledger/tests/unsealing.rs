//! Opening sealed inputs: the row and the whole input come back with the key; a wrong key
//! store, an erased subject, a changed ciphertext and a truncated record each come back as
//! what they are, with a reason, never as a wrong row.

use whyline_core::{InputEvidence, SEALED_INPUT_HEADER_LEN, SealedInput};
use whyline_ledger::RecordedInput;
use whyline_ledger::seal::{InputOpener, KeyStore, OpenedRow, Sealer, open_sealed};

fn input<'a>(index: u64, values: &'a [f32], subject: Option<&'a str>) -> InputEvidence<'a> {
    InputEvidence {
        decision_index: index,
        trace_hash: [index as u8; 32],
        timestamp_ns: 1_000 + index,
        subject,
        values,
        context: &[],
    }
}

/// A key store in `dir` (file `name`) and a sealer over a copy of it.
fn store_and_sealer(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, Sealer) {
    let path = dir.join(name);
    let keys = KeyStore::create(&path).unwrap();
    (path.clone(), Sealer::new(keys).unwrap())
}

const ROW: [f32; 4] = [0.5, -1.25, 3.0e-8, 1.0e6];

#[test]
fn open_row_gives_back_the_f32_row_and_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut sealer) = store_and_sealer(dir.path(), "keys.wks");
    let record = sealer.seal(&input(7, &ROW, Some("alice"))).unwrap();
    let keys = KeyStore::open(&path).unwrap();
    let mut opener = InputOpener::new(&keys);
    let mut row = vec![99.0];
    let opened = opener.open_row(&record, &mut row);
    let header = SealedInput::from_bytes(&record).unwrap().header;
    assert_eq!(opened, OpenedRow::Row(header));
    assert_eq!(header.decision_index, 7);
    assert_eq!(header.subject_digest, Some(keys.subject_digest("alice")));
    assert_eq!(
        row, ROW,
        "exact for a row recorded from f32, the old row cleared"
    );
    // The opener never shows a key.
    let debug = format!("{opener:?}");
    assert!(debug.contains("cached: 1"), "{debug}");
    assert!(!debug.contains(&hex::encode(keys.log_key())), "{debug}");
}

#[test]
fn an_erased_subject_opens_as_erased_and_a_foreign_key_store_as_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut sealer) = store_and_sealer(dir.path(), "keys.wks");
    let alice = sealer.seal(&input(1, &ROW, Some("alice"))).unwrap();
    let log_wide = sealer.seal(&input(2, &ROW, None)).unwrap();
    let mut keys = KeyStore::open(&path).unwrap();
    let digest = keys.subject_digest("alice");
    keys.erase("alice", 5).unwrap();
    assert!(keys.is_erased(&digest));
    let mut row = Vec::new();
    assert_eq!(
        InputOpener::new(&keys).open_row(&alice, &mut row),
        OpenedRow::Erased
    );
    assert!(row.is_empty());
    assert_eq!(open_sealed(&keys, &alice), Some((1, RecordedInput::Erased)));
    // The log-wide key is untouched by the erasure.
    assert!(matches!(
        open_sealed(&keys, &log_wide),
        Some((2, RecordedInput::Sealed { .. }))
    ));

    // Another store has no key for the subject; its log-wide key (id 0) is another key, so
    // the tag fails.
    let (other_path, _) = store_and_sealer(dir.path(), "other.wks");
    let other = KeyStore::open(&other_path).unwrap();
    assert_eq!(
        open_sealed(&other, &alice),
        Some((
            1,
            RecordedInput::Unreadable(format!(
                "the key store has no key 1 for subject {}",
                hex::encode(digest)
            ))
        ))
    );
    assert_eq!(
        InputOpener::new(&other).open_row(&log_wide, &mut row),
        OpenedRow::Unreadable(
            "authentication failed: the ciphertext or its header was changed, or the key is not this input's"
                .into()
        )
    );
}

#[test]
fn a_changed_ciphertext_or_header_fails_authentication_in_open_row() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut sealer) = store_and_sealer(dir.path(), "keys.wks");
    let record = sealer.seal(&input(3, &ROW, Some("carol"))).unwrap();
    let keys = KeyStore::open(&path).unwrap();
    let mut opener = InputOpener::new(&keys);
    let mut row = Vec::new();
    // The timestamp (header, associated data), a ciphertext byte and the tag's last byte.
    for at in [8, SEALED_INPUT_HEADER_LEN + 2, record.len() - 1] {
        let mut changed = record.clone();
        changed[at] ^= 0x80;
        assert_eq!(
            opener.open_row(&changed, &mut row),
            OpenedRow::Unreadable(
                "authentication failed: the ciphertext or its header was changed, or the key is not this input's"
                    .into()
            ),
            "byte {at} changed"
        );
        assert!(row.is_empty());
    }
    assert!(matches!(
        opener.open_row(&record, &mut row),
        OpenedRow::Row(_)
    ));
}

#[test]
fn a_truncated_record_is_unreadable_with_the_reason_and_keeps_its_decision_index() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut sealer) = store_and_sealer(dir.path(), "keys.wks");
    let record = sealer.seal(&input(42, &ROW, None)).unwrap();
    let keys = KeyStore::open(&path).unwrap();
    let ciphertext = record.len() - SEALED_INPUT_HEADER_LEN;
    let cut = &record[..record.len() - 5];
    assert_eq!(
        open_sealed(&keys, cut),
        Some((
            42,
            RecordedInput::Unreadable(format!(
                "sealed input at byte 116: ciphertext length says {ciphertext}, {} bytes follow",
                ciphertext - 5
            ))
        ))
    );
    let mut row = Vec::new();
    assert_eq!(
        InputOpener::new(&keys).open_row(cut, &mut row),
        OpenedRow::Unreadable(format!(
            "sealed input at byte 116: ciphertext length says {ciphertext}, {} bytes follow",
            ciphertext - 5
        ))
    );
    // Cut inside the header, before the decision index: no index to name.
    let stub = &record[..10];
    assert_eq!(
        open_sealed(&keys, stub),
        Some((
            u64::MAX,
            RecordedInput::Unreadable(format!(
                "sealed input at byte 0: 10 bytes, the header alone needs {SEALED_INPUT_HEADER_LEN}"
            ))
        ))
    );
    // Not a sealed input at all.
    assert_eq!(open_sealed(&keys, b"APRT and more"), None);
}

#[test]
fn one_opener_opens_inputs_of_more_subjects_than_it_caches() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut sealer) = store_and_sealer(dir.path(), "keys.wks");
    let subjects: Vec<String> = (0..11).map(|i| format!("subject-{i}")).collect();
    let records: Vec<(Vec<u8>, f32)> = subjects
        .iter()
        .enumerate()
        .map(|(i, subject)| {
            let value = i as f32 + 0.5;
            let values = [value];
            (
                sealer
                    .seal(&input(i as u64, &values, Some(subject)))
                    .unwrap(),
                value,
            )
        })
        .collect();
    let keys = KeyStore::open(&path).unwrap();
    let mut opener = InputOpener::new(&keys);
    let mut row = Vec::new();
    // Twice round: the second pass finds the first subjects' ciphers evicted and makes them
    // again in the slots it recycles.
    for _ in 0..2 {
        for (i, (record, value)) in records.iter().enumerate() {
            assert!(
                matches!(opener.open_row(record, &mut row), OpenedRow::Row(h) if h.decision_index == i as u64),
                "subject {i}"
            );
            assert_eq!(row, [*value]);
        }
    }
    assert!(format!("{opener:?}").contains("cached: 8"));
}

/// A decision entry ending with its sealed input (the trailer the recorders write), with
/// the APRT record's length.
fn decision_with_trailer(sealer: &mut Sealer, index: u64) -> (Vec<u8>, usize) {
    let trace = whyline_core::DecisionTrace {
        timestamp_ns: 1_000 + index,
        sequence: index,
        input_hash: 7,
        output: 1.0,
        latency_ns: 2_000,
        path: whyline_core::LinearPath {
            contributions: vec![0.25, -0.5],
            intercept: 0.1,
            ..whyline_core::LinearPath::default()
        },
    };
    let mut entry = Vec::new();
    whyline_core::encode_aprt(&trace, &mut entry);
    let record_len = entry.len();
    let aprt_header = *entry
        .first_chunk::<{ whyline_core::APRT_HEADER_LEN }>()
        .unwrap();
    sealer
        .seal_trailer_into(&input(index, &ROW, Some("dave")), &aprt_header, &mut entry)
        .unwrap();
    (entry, record_len)
}

#[test]
fn a_decision_entry_whose_trailer_is_damaged_or_foreign_is_unreadable_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut sealer) = store_and_sealer(dir.path(), "keys.wks");
    let (entry, record_len) = decision_with_trailer(&mut sealer, 9);
    let keys = KeyStore::open(&path).unwrap();
    let mut opener = InputOpener::new(&keys);
    let mut row = Vec::new();
    assert!(matches!(
        open_sealed(&keys, &entry),
        Some((9, RecordedInput::Sealed { .. }))
    ));
    assert!(matches!(
        opener.open_row(&entry, &mut row),
        OpenedRow::Row(_)
    ));
    assert_eq!(row, ROW);

    // Bytes after the record that are not a sealed input: unreadable, naming no decision
    // (bytes 8..16 of them are not an index).
    let mut foreign = entry[..record_len].to_vec();
    foreign.extend_from_slice(b"not a sealed input, only bytes");
    let why = "30 bytes after the decision's APRT record are not a sealed input";
    assert_eq!(
        open_sealed(&keys, &foreign),
        Some((u64::MAX, RecordedInput::Unreadable(why.into())))
    );
    assert_eq!(
        opener.open_row(&foreign, &mut row),
        OpenedRow::Unreadable(why.into())
    );
    assert!(row.is_empty());

    // The trailer cut short: unreadable with the split's reason, still naming its entry.
    let cut = &entry[..entry.len() - 5];
    let Some((9, RecordedInput::Unreadable(why))) = open_sealed(&keys, cut) else {
        panic!("{:?}", open_sealed(&keys, cut));
    };
    assert!(why.contains("ciphertext length says"), "{why}");
    assert_eq!(opener.open_row(cut, &mut row), OpenedRow::Unreadable(why));

    // A decision without an input: nothing to open.
    let bare = &entry[..record_len];
    assert_eq!(open_sealed(&keys, bare), None);
    assert_eq!(
        opener.open_row(bare, &mut row),
        OpenedRow::Unreadable("the entry holds no sealed input".into())
    );
}
