//! Every committed fuzz corpus file (`fuzz/corpus/TARGET/`) and every input a fuzz run
//! found a bug with (`fuzz/regressions/TARGET/`), fed through the function its target
//! calls: each returns (accepted or refused with a typed error), none panics, and each
//! target's corpus holds inputs its parser accepts (so the corpus still reaches past the
//! first check).

use std::path::{Path, PathBuf};

use whyline_fuzz_harness::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_file_is_accepted_or_refused_without_a_panic() {
    for target in TARGETS {
        let corpus = files(&fuzz_dir().join("corpus").join(target.name));
        assert!(!corpus.is_empty(), "{}: no committed corpus", target.name);
        let mut accepted = 0;
        for path in &corpus {
            let data = match std::fs::read(path) {
                Ok(data) => data,
                // A fuzzer running on this corpus replaces inputs with smaller ones as it
                // goes: a file listed a moment ago may be gone.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => panic!("{}: {e}", path.display()),
            };
            if (target.run)(&data).is_ok() {
                accepted += 1;
            }
        }
        // Inputs that once found a bug: they only have to return.
        for path in files(&fuzz_dir().join("regressions").join(target.name)) {
            let _ = (target.run)(&std::fs::read(path).unwrap());
        }
        assert!(
            accepted > 0,
            "{}: none of the {} corpus files is accepted",
            target.name,
            corpus.len()
        );
    }
}

#[test]
fn every_target_has_its_fuzz_target_file() {
    for target in TARGETS {
        let file = fuzz_dir()
            .join("fuzz_targets")
            .join(format!("{}.rs", target.name));
        let text = std::fs::read_to_string(&file).unwrap();
        let function = target
            .name
            .strip_prefix("model_")
            .map_or(target.name, |_| "model");
        assert!(
            text.contains(&format!("whyline_fuzz_harness::{function}(data)")),
            "{} does not call whyline_fuzz_harness::{function}",
            file.display()
        );
    }
}
