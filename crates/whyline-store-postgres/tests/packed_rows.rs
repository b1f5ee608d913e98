//! A group commit packs consecutive frames into rows of `whyline_frames` (migration 3): the
//! log reads back and verifies as before, and the `whyline_entries` view still shows one row
//! per entry with its own offset, payload and leaf hash.

use std::time::Duration;

use whyline_ledger::store_conformance::{options, payload};
use whyline_ledger::{Durability, FRAME_OVERHEAD, Ledger, leaf_hash};
use whyline_store_postgres::PostgresStore;

use crate::common::{Db, entries, intact};

/// 1,000 payloads of ~100 bytes, with a 6,000-byte one (a row of its own) at 500.
fn payloads() -> Vec<Vec<u8>> {
    (0..1000u64)
        .map(|i| {
            if i == 500 {
                vec![7u8; 6000]
            } else {
                payload(i)
            }
        })
        .collect()
}

/// Appends `payloads` through a ledger committing every 256 entries.
fn write(db: &Db, log: &str, payloads: &[Vec<u8>]) {
    let durability = Durability::Interval {
        entries: 256,
        max_delay: Duration::from_secs(3600),
    };
    let (mut ledger, _) = Ledger::open(
        db.writer(log),
        options().durability(durability).checkpoint_every(4096),
    )
    .unwrap();
    for payload in payloads {
        ledger.append(payload).unwrap();
    }
    drop(ledger.into_store().unwrap());
}

#[test]
fn a_group_commit_packs_frames_into_rows_that_read_back_and_verify() {
    let db = Db::new();
    let payloads = payloads();
    write(&db, "packed", &payloads);
    let mut sql = db.sql();
    let rows = sql
        .query(
            "SELECT start_offset, length(bytes) FROM whyline_frames ORDER BY start_offset",
            &[],
        )
        .unwrap();
    let rows: Vec<(i64, i32)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    // ~150-byte frames, about 12 to a row: far fewer rows than entries.
    assert!(rows.len() < payloads.len() / 8, "{} rows", rows.len());
    // Rows are contiguous, none over the packing size but the large frame's own.
    let large = (6000 + FRAME_OVERHEAD) as i32;
    for pair in rows.windows(2) {
        assert_eq!(pair[0].0 + i64::from(pair[0].1), pair[1].0);
    }
    assert!(rows.iter().all(|(_, len)| *len <= 1900 || *len == large));
    assert_eq!(rows.iter().filter(|(_, len)| *len == large).count(), 1);

    let reader = PostgresStore::open_existing(&db.url("packed")).unwrap();
    assert_eq!(entries(&reader), payloads);
    assert_eq!(intact(&reader).entries, 1000);
}

#[test]
fn the_entries_view_decodes_every_frame_of_a_packed_row() {
    let db = Db::new();
    let payloads = payloads();
    write(&db, "view", &payloads);
    let rows = db
        .sql()
        .query(
            "SELECT entry_index, byte_offset, payload, leaf_hash FROM whyline_entries \
             WHERE log_name = 'view' ORDER BY entry_index",
            &[],
        )
        .unwrap();
    assert_eq!(rows.len(), payloads.len());
    // The first frame follows the 16-byte header; each next one follows the last.
    let mut offset = 16i64;
    for (i, (row, payload)) in rows.iter().zip(&payloads).enumerate() {
        assert_eq!(row.get::<_, i64>(0), i as i64);
        assert_eq!(row.get::<_, i64>(1), offset, "entry {i}");
        assert_eq!(&row.get::<_, Vec<u8>>(2), payload, "entry {i}");
        assert_eq!(
            row.get::<_, Vec<u8>>(3),
            leaf_hash(payload).to_vec(),
            "entry {i}"
        );
        offset += (payload.len() + FRAME_OVERHEAD) as i64;
    }
}
