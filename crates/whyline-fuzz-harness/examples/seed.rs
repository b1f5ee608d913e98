//! Writes the seeds `fuzz/seed.sh` cannot copy from a fixture: signed ledgers (with their
//! checkpoint logs), checkpoint notes and proofs made with the harness's ledger key,
//! decision entries with their inputs sealed at their end, and inference request bodies. `cargo run -p whyline-fuzz-harness --example seed -- DIR`
//! writes `DIR/TARGET/NAME` files.

use std::path::Path;

use whyline_core::{AnyPath, AprtRecords, Context, InputEvidence, SealAlgorithm};
use whyline_fuzz_harness::{LEDGER_KEY, ledger_input};
use whyline_ledger::seal::{KeyStore, Sealer};
use whyline_ledger::{Durability, Ledger, LedgerCollector, LedgerOptions, MemoryStore, NoteSigner};

const GOLDEN: &[u8] = include_bytes!("../../whyline-core/tests/fixtures/golden/all.aprt");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: seed DIR")?;
    let dir = Path::new(&dir);
    let write = |target: &str, name: &str, bytes: &[u8]| -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join(target))?;
        std::fs::write(dir.join(target).join(name), bytes)
    };
    let payloads: Vec<Vec<u8>> = AprtRecords::<AnyPath>::new(GOLDEN)
        .map(|record| record.map(|(_, trace)| whyline_core::to_aprt(&trace)))
        .collect::<Result<_, _>>()?;
    for entries in [1_usize, 2, 5, 13] {
        let signer = NoteSigner::hmac(LEDGER_KEY.0, LEDGER_KEY.1)?;
        let options = LedgerOptions::signed(LEDGER_KEY.0, signer).durability(Durability::Sync);
        let (mut ledger, _) = Ledger::open(MemoryStore::new(), options)?;
        let mut notes = Vec::new();
        for i in 0..entries {
            ledger.append(&payloads[i % payloads.len()])?;
            if i % 4 == 3 || i + 1 == entries {
                notes.extend(ledger.checkpoint()?);
            }
        }
        for (n, note) in notes.iter().enumerate() {
            write(
                "checkpoint_note",
                &format!("signed-{entries}-{n}"),
                note.as_bytes(),
            )?;
        }
        let last = u64::try_from(entries)? - 1;
        let inclusion = serde_json::to_vec_pretty(&ledger.prove_inclusion(last)?)?;
        write("proof", &format!("inclusion-{entries}"), &inclusion)?;
        let consistency = serde_json::to_vec_pretty(&ledger.prove_consistency(1)?)?;
        write("proof", &format!("consistency-{entries}"), &consistency)?;
        if let Ok(window) = ledger.prove_window(0, u64::MAX) {
            write(
                "proof",
                &format!("window-{entries}"),
                &serde_json::to_vec_pretty(&window)?,
            )?;
        }
        let store = ledger.into_store()?;
        let input = ledger_input(store.entry_bytes(), store.checkpoint_bytes());
        write("ledger", &format!("signed-{entries}"), &input)?;
    }
    // Decision entries whose input is sealed at their end (APRT ‖ WLSI v2), with each AEAD,
    // with and without a subject and a context.
    let keys_dir = std::env::temp_dir().join(format!("whyline-seed-keys-{}", std::process::id()));
    std::fs::create_dir_all(&keys_dir)?;
    let key_path = keys_dir.join("subjects.wks");
    let _ = std::fs::remove_file(&key_path);
    KeyStore::create(&key_path)?;
    let options = LedgerOptions::without_checkpoints("fuzz/seed").durability(Durability::None);
    let collector = LedgerCollector::in_memory(options)?;
    let context = Context::new()
        .with("object", "cat")
        .with("distance_m", 12.5);
    let mut n = 0;
    let algorithms = [
        SealAlgorithm::XChaCha20Poly1305,
        SealAlgorithm::Aes256Gcm,
        SealAlgorithm::Aegis256,
    ];
    for algorithm in algorithms {
        collector.set_sealer(Sealer::with_algorithm(
            KeyStore::open(&key_path)?,
            algorithm,
        )?)?;
        for (subject, fields) in [(None, &[][..]), (Some("AV-2847-XK"), context.fields())] {
            let record = payloads
                .iter()
                .find_map(|p| whyline_core::from_aprt::<AnyPath>(p).ok())
                .ok_or("no golden record")?;
            let values = [12.5f32, 8.3, 0.3, 0.41];
            let receipt = collector.append_with_input(
                &record,
                &InputEvidence {
                    decision_index: 0,
                    trace_hash: [0; 32],
                    timestamp_ns: record.timestamp_ns,
                    subject,
                    values: &values,
                    context: fields,
                },
            )?;
            let entry = collector.with_ledger(|ledger| ledger.read_entry(receipt.index))??;
            write("aprt", &format!("sealed-{n}"), &entry.payload)?;
            n += 1;
        }
    }
    std::fs::remove_dir_all(&keys_dir)?;
    let bodies = [
        r#"{"id":"1","inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]}"#,
        r#"{"inputs":[{"name":"input","shape":[2,4],"datatype":"FP64","data":[[6.7,3.0,5.2,2.3],[5.9,3.0,4.2,1.5]]}],"outputs":[{"name":"output"}]}"#,
        r#"{"inputs":[{"name":"input","shape":[4],"datatype":"INT32","data":[1,2,3,null]}],"parameters":{"x":1}}"#,
    ];
    for (n, body) in bodies.iter().enumerate() {
        write("oip_infer", &format!("request-{n}"), body.as_bytes())?;
    }
    Ok(())
}
