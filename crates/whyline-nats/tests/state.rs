//! `SequencerState`'s bounded memory (the receipts it can re-publish), the state read back
//! from a log, and the refusals of marks and names that do not parse.

use whyline_core::to_aprt;
use whyline_nats::{
    Action, BatchHeader, Delivered, Mark, NatsError, Piece, ProducerId, REMEMBERED_BATCHES,
    REMEMBERED_LEAVES, SequencerState, Topology, Verdict, synthetic_trace,
};

use crate::sequencing::open_sequencer;

fn piece(first_record: u32, first_index: u64, records: u32) -> Piece {
    Piece {
        first_record,
        first_index,
        records,
    }
}

#[test]
fn leaf_hashes_are_replaced_per_piece_and_the_oldest_forgotten_past_the_limit() {
    let p = ProducerId::new("p").unwrap();
    let mut state = SequencerState::default();
    state.remember_leaves((p.clone(), 0, 0), vec![[1; 32]; 3]);
    // The same piece again (a cut batch read back, then finished): the new hashes count.
    state.remember_leaves((p.clone(), 0, 0), vec![[2; 32]; 2]);
    assert_eq!(state.leaves(&p, 0, 0), Some(&[[2; 32]; 2][..]));
    // A piece that fills the memory: the oldest piece is forgotten, the newest kept.
    state.remember_leaves((p.clone(), 1, 0), vec![[3; 32]; REMEMBERED_LEAVES - 2]);
    assert!(
        state.leaves(&p, 0, 0).is_some(),
        "at the limit, nothing forgotten"
    );
    state.remember_leaves((p.clone(), 2, 0), vec![[4; 32]; 1]);
    assert_eq!(state.leaves(&p, 0, 0), None);
    assert_eq!(
        state.leaves(&p, 1, 0).map(<[_]>::len),
        Some(REMEMBERED_LEAVES - 2)
    );
    assert_eq!(state.leaves(&p, 2, 0), Some(&[[4; 32]][..]));
    // One piece larger than the limit is still kept: the newest piece always is.
    state.remember_leaves((p.clone(), 3, 0), vec![[5; 32]; REMEMBERED_LEAVES + 1]);
    assert_eq!(state.leaves(&p, 1, 0), None);
    assert_eq!(state.leaves(&p, 2, 0), None);
    assert!(state.leaves(&p, 3, 0).is_some());
}

#[test]
fn batch_positions_are_remembered_for_the_most_recent_batches_only() {
    let p = ProducerId::new("p").unwrap();
    let mut state = SequencerState::default();
    let batches = REMEMBERED_BATCHES as u64 + 1;
    for batch in 0..batches {
        state.record(&p, batch, 1, piece(0, 2 * batch + 1, 1));
    }
    assert_eq!(state.pieces(&p, 0), None, "the oldest batch is forgotten");
    assert_eq!(state.pieces(&p, 1), Some(&[piece(0, 3, 1)][..]));
    assert_eq!(
        state.pieces(&p, batches - 1),
        Some(&[piece(0, 2 * batches - 1, 1)][..])
    );
    // Forgetting where a batch is does not forget that it is there.
    assert_eq!(state.verdict(&p, 0), Verdict::Duplicate);
    assert_eq!(state.producer(&p).unwrap().recent.len(), REMEMBERED_BATCHES);
}

#[test]
fn a_duplicate_of_a_batch_older_than_the_remembered_ones_is_acked_without_a_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology::new("OLD").unwrap();
    let p1 = ProducerId::new("p1").unwrap();
    let mut sequencer = open_sequencer(dir.path(), &topology);
    let bodies: Vec<Vec<u8>> = (0..REMEMBERED_BATCHES as u64 + 1)
        .map(|s| to_aprt(&synthetic_trace(&p1, s)))
        .collect();
    let delivered: Vec<Delivered<'_>> = bodies
        .iter()
        .enumerate()
        .map(|(batch, body)| Delivered {
            header: Ok(BatchHeader {
                producer: p1.clone(),
                batch: batch as u64,
                records: 1,
            }),
            body,
        })
        .collect();
    let round = sequencer.append_round(&delivered).unwrap();
    assert_eq!(round.receipts.len(), REMEMBERED_BATCHES + 1);
    assert_eq!(sequencer.stats().decisions, REMEMBERED_BATCHES as u64 + 1);
    let again = sequencer
        .append_round(&[delivered[0].clone(), delivered[1].clone()])
        .unwrap();
    assert_eq!(again.actions, vec![Action::Ack, Action::Ack]);
    // Batch 0's place is forgotten: no receipt (it was published before its first ack);
    // batch 1's is re-published.
    assert_eq!(again.receipts.len(), 1);
    assert_eq!(
        (again.receipts[0].batch, again.receipts[0].first_index),
        (1, 3)
    );
    assert_eq!(sequencer.stats().duplicates, 2);
}

#[test]
fn the_state_read_back_counts_the_entries_scanned_and_lists_each_producer() {
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology::new("STATE").unwrap();
    let (p1, p2) = (
        ProducerId::new("p1").unwrap(),
        ProducerId::new("p2").unwrap(),
    );
    {
        let mut sequencer = open_sequencer(dir.path(), &topology);
        let one = to_aprt(&synthetic_trace(&p1, 0));
        let two: Vec<u8> = (0..2)
            .flat_map(|s| to_aprt(&synthetic_trace(&p2, s)))
            .collect();
        let header = |producer: &ProducerId, records| {
            Ok(BatchHeader {
                producer: producer.clone(),
                batch: 0,
                records,
            })
        };
        sequencer
            .append_round(&[
                Delivered {
                    header: header(&p1, 1),
                    body: &one,
                },
                Delivered {
                    header: header(&p2, 2),
                    body: &two,
                },
            ])
            .unwrap();
    }
    let sequencer = open_sequencer(dir.path(), &topology);
    let state = sequencer.state();
    // Two marks and three decisions.
    assert_eq!((state.scanned(), state.decisions()), (5, 3));
    let mut producers: Vec<(String, u64)> = state
        .producers()
        .map(|(id, s)| (id.to_string(), s.next_batch))
        .collect();
    producers.sort();
    assert_eq!(producers, vec![("p1".into(), 1), ("p2".into(), 1)]);
    assert_eq!(
        state.pieces(&p2, 0),
        Some(&[piece(0, 3, 2)][..]),
        "p2's decisions follow its mark at entry 2"
    );
}

#[test]
fn a_mark_with_another_magic_or_version_is_refused_naming_its_entry() {
    let mark = Mark {
        producer: ProducerId::new("p1").unwrap(),
        batch: 3,
        first_record: 0,
        records: 1,
        batch_records: 1,
    }
    .to_bytes();
    let mut magic = mark.clone();
    magic[0] = b'X';
    let mut version = mark.clone();
    version[4] = 2;
    let mut length = mark.clone();
    length.push(b'x');
    for (payload, reason) in [
        (magic, "not a mark"),
        (version, "unknown version"),
        (length, "producer id length does not match the entry"),
    ] {
        let error = Mark::from_bytes(&payload, 9).unwrap_err();
        assert!(
            matches!(&error, NatsError::BadMark { index: 9, reason: r } if *r == reason),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("ledger entry 9: malformed sequencer mark: {reason}")
        );
    }
}

#[test]
fn a_stream_name_outside_the_alphabet_is_refused_naming_it() {
    for bad in ["", "has space", "dots.in.it", &"x".repeat(65)] {
        let error = Topology::new(bad).unwrap_err();
        assert!(
            matches!(&error, NatsError::InvalidName { what: "stream", value } if value == bad),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("stream {bad:?} is not a valid name: use 1 to 64 of A-Z a-z 0-9 _ -")
        );
    }
    assert_eq!(Topology::new("FLEET_2-b").unwrap().stream(), "FLEET_2-b");
}
