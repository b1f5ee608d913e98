#!/usr/bin/env bash
# Seeds the fuzz corpora (fuzz/corpus/TARGET/) from the committed fixtures, plus the signed
# ledgers, checkpoint notes, proofs and request bodies the `seed` example writes with the
# harness's ledger key. Idempotent: files are named after their fixture.
#   bash fuzz/seed.sh [CORPUS_DIR]   (default fuzz/corpus)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/fuzz/corpus}
models=$root/crates/whyline-models/tests/fixtures
golden=$root/crates/whyline-core/tests/fixtures/golden

copy() { # copy TARGET FILE... : each file into the target's corpus, named by its path
    local target=$1; shift
    mkdir -p "$out/$target"
    for file in "$@"; do
        cp "$file" "$out/$target/seed-$(basename "$(dirname "$file")")-$(basename "$file")"
    done
}

copy aprt "$golden"/*.aprt
copy ingest_aprt "$golden"/*.aprt
copy ingest_json_lines "$golden"/all.jsonl "$golden"/cluster.json
copy model_whyline_json "$models"/sk_*.whyline.json "$models"/pipelines/*.whyline.json
copy model_xgboost_json "$models"/xgb_*.xgb.json
copy model_lightgbm_text "$models"/lgb_*.lgb.txt
copy model_apr "$models"/aprender/*.apr "$models"/aprender/0.27.8/*.apr
copy model_safetensors "$models"/aprender/0.27.8/*.safetensors
copy profile "$root"/examples/config/*.toml
copy checkpoint_note "$root"/crates/whyline-ledger/tests/fixtures/signed-note/peter_neumann.json
python3 - "$root" "$out" <<'PY'
import json, sys, pathlib
root, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
note = json.load(open(root / "crates/whyline-ledger/tests/fixtures/signed-note/peter_neumann.json"))
for key in ("note", "signer_key", "verifier_key"):
    (out / "checkpoint_note" / f"seed-peter_neumann-{key}").write_text(note[key])
# The committed ledger logs (format versions 1 and 2), without checkpoints: a 4-byte
# checkpoint length of zero, then the entry log (see whyline_fuzz_harness::ledger_input).
for name in ("entries.wls", "entries-v2.wls"):
    data = (root / "crates/whyline-ledger/tests/fixtures/ledger" / name).read_bytes()
    (out / "ledger").mkdir(parents=True, exist_ok=True)
    (out / "ledger" / f"seed-{name}").write_bytes(b"\0\0\0\0" + data)
# Rows: the first byte picks format and schema (see whyline_fuzz_harness::rows): 0 the
# categorical pipeline, auto-detected with a header; 8 | (n - 1) << 5 n named features,
# | 1 CSV, | 2 JSON lines, | 4 no header.
rows = out / "rows"
rows.mkdir(parents=True, exist_ok=True)
pipe = root / "crates/whyline-models/tests/fixtures/pipelines/pipe_ohe_scaler_hgb_clf.rows.csv"
(rows / "seed-pipeline-csv").write_bytes(b"\0" + pipe.read_bytes()[:4000])
(rows / "seed-named-csv").write_bytes(bytes([8 | 1 | 3 << 5]) + b"a,b,c,d\n1,2,3,4\n5,NaN,,7e3\n")
(rows / "seed-position-csv").write_bytes(bytes([8 | 4 | 1 << 5 | 1]) + b"1,2\n3,4\n")
(rows / "seed-named-jsonl").write_bytes(bytes([8 | 2 << 5 | 2]) + b'{"a":1,"b":2,"c":null}\n[1,2,3]\n{"features":[1,2,3]}\n')
PY
cargo run -q -p whyline-fuzz-harness --example seed -- "$out"
find "$out" -type f | sed "s|$out/||; s|/.*||" | sort | uniq -c
