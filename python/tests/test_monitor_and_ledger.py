"""whyline.Monitor against the libraries' own predictions, and whyline.Ledger against the
CLI: a ledger written from Python verifies with `whyline verify`, and one the CLI writes
verifies (and reads back) from Python."""

import json

import lightgbm
import numpy as np
import pandas as pd
import pytest
import xgboost
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

import whyline

from conftest import run_cli


@pytest.fixture(scope="module")
def forest(data):
    return RandomForestClassifier(30, max_depth=6, random_state=0).fit(data["X"], data["multi"])


@pytest.mark.parametrize("labels", ["binary", "multi"])
@pytest.mark.parametrize("library", ["sklearn", "xgboost", "lightgbm"])
def test_predict_proba_and_predict_equal_the_librarys(library, labels, data, tmp_path):
    X, labels = data["X"], data[labels]
    model = {
        "sklearn": lambda: RandomForestClassifier(30, max_depth=6, random_state=0).fit(X, labels),
        "xgboost": lambda: xgboost.XGBClassifier(n_estimators=20, max_depth=4).fit(X, labels),
        "lightgbm": lambda: lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, labels),
    }[library]()
    rows = data["rows"]
    with whyline.Monitor(model, tmp_path / "ledger", profile="sil2") as monitor:
        proba = monitor.predict_proba(rows)
        expected = model.predict_proba(rows)
        assert proba.dtype == expected.dtype and proba.shape == expected.shape
        rtol = 1e-6 if library == "xgboost" else 0
        np.testing.assert_allclose(proba, expected, rtol=rtol, atol=0 if rtol == 0 else 1e-7)
        assert np.array_equal(monitor.predict(rows), model.predict(rows))
    result = whyline.Ledger(tmp_path / "ledger").verify()
    assert result.intact, result
    # The model record, then one decision per row of each call (alerts may be between).
    decisions = whyline.Ledger(tmp_path / "ledger").decisions()
    assert list(decisions["sequence"]) == list(range(2 * len(rows)))


def test_regressor_predict_equals_the_librarys(data, tmp_path):
    model = RandomForestRegressor(20, max_depth=6, random_state=0).fit(data["X"], data["y"])
    with whyline.Monitor(model, tmp_path / "ledger", profile="sil1") as monitor:
        assert np.array_equal(monitor.predict(data["rows"]), model.predict(data["rows"]))
        with pytest.raises(whyline.ModelError):
            monitor.predict_proba(data["rows"])


def test_a_ledger_written_from_python_verifies_with_the_cli(forest, data, tmp_path):
    ledger = tmp_path / "ledger"
    with whyline.Monitor(forest, ledger, profile="sil3") as monitor:
        monitor.predict_proba(data["rows"])
        secret, public = monitor.key_files
    assert str(secret).startswith(str(ledger / "keys"))
    code, out, err = run_cli("verify", ledger, "--public-key", public, "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["type"] == "intact" and report["signatures_checked"] is True
    ours = whyline.Ledger(ledger).verify(public_key=public)
    assert ours.intact and ours.signatures_checked
    assert ours.entries == report["entries"] and ours.root == report["root"]


def test_a_ledger_written_by_the_cli_verifies_and_reads_from_python(forest, data, tmp_path):
    # Decisions recorded from Python, re-appended by `whyline append` into a new ledger
    # signed with a key from `whyline keygen`.
    with whyline.Monitor(forest, tmp_path / "source", profile="sil2") as monitor:
        monitor.predict(data["rows"][:5])
    decisions = whyline.Ledger(tmp_path / "source").decisions()
    lines = []
    for _, row in decisions.iterrows():
        trace = {k: row[k] for k in ("timestamp_ns", "sequence", "input_hash", "output", "latency_ns")}
        trace = {k: (v.item() if hasattr(v, "item") else v) for k, v in trace.items()}
        trace["path"] = row["path"]
        lines.append(json.dumps({"version": "1.0", "trace": trace}))
    code, _, err = run_cli("keygen", "--out", tmp_path / "keys")
    assert code == 0, err
    import subprocess

    from conftest import whyline_cli

    done = subprocess.run(
        [whyline_cli(), "append", str(tmp_path / "cli"), "--signing-key", str(tmp_path / "keys" / "ledger.key")],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    result = whyline.Ledger(tmp_path / "cli").verify(public_key=tmp_path / "keys" / "ledger.pub")
    assert result.intact and result.entries == 5 and result.signatures_checked
    again = whyline.Ledger(tmp_path / "cli").decisions()
    assert list(again["output"]) == list(decisions["output"])
    assert list(again["sequence"]) == list(decisions["sequence"])


def test_a_changed_byte_is_named_as_the_first_bad_entry(forest, data, tmp_path):
    ledger = tmp_path / "ledger"
    with whyline.Monitor(forest, ledger, profile="sil2") as monitor:
        monitor.predict(data["rows"][:20])
    segments = sorted(p for p in ledger.rglob("*") if p.is_file() and p.stat().st_size > 2000)
    target = segments[0]
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    target.write_bytes(bytes(raw))
    ours = whyline.Ledger(ledger).verify()
    code, out, _ = run_cli("verify", ledger, "--format", "json")
    cli = json.loads(out)
    assert code == 1 and not ours.intact
    assert ours.first_bad.index == cli["index"] and ours.first_bad.kind == cli["kind"]


def test_alerts_reach_the_list_and_the_callback(forest, data, tmp_path):
    seen = []
    with whyline.Monitor(forest, tmp_path / "ledger", profile="sil3", on_alert=seen.append) as monitor:
        proba = monitor.predict_proba(data["rows"])
    # SIL3 raises a low-confidence alert below 0.8: the rows where the forest is unsure.
    unsure = int((proba.max(axis=1) < 0.8).sum())
    assert unsure > 0
    low = [a for a in monitor.alerts if a["kind"] == "low_confidence"]
    assert len(low) == unsure and seen == monitor.alerts


def test_investigate_reports_the_window_as_the_cli_does(forest, data, tmp_path):
    ledger = tmp_path / "ledger"
    with whyline.Monitor(forest, ledger, profile="sil2") as monitor:
        monitor.predict(data["rows"][:10])
    at = int(whyline.Ledger(ledger).decisions()["timestamp_ns"].iloc[5])
    report = whyline.Ledger(ledger).investigate(at, before="10s", after="10s")
    _, out, err = run_cli("incident", ledger, "--at", at, "--before", "10s", "--after", "10s", "--format", "json")
    assert report.to_dict() == json.loads(out), err
    html = report.to_html(tmp_path / "report.html")
    assert (tmp_path / "report.html").read_text() == html and "<html" in html.lower()
    assert report.text


def test_decisions_filter_by_time(forest, data, tmp_path):
    ledger = tmp_path / "ledger"
    with whyline.Monitor(forest, ledger, profile="sil2") as monitor:
        monitor.predict(data["rows"][:10])
    every = whyline.Ledger(ledger).decisions()
    stamps = list(every["timestamp_ns"])
    some = whyline.Ledger(ledger).decisions(start=stamps[3], end=stamps[6])
    assert list(some["timestamp_ns"]) == stamps[3:7]
    assert isinstance(every, pd.DataFrame)


def test_crash_residue_is_named_by_verify_and_cut_by_recover(forest, data, tmp_path):
    ledger = tmp_path / "ledger"
    with whyline.Monitor(forest, ledger, profile="sil2") as monitor:
        monitor.predict(data["rows"][:10])
    entries = ledger / "entries.wls"
    intact_len = entries.stat().st_size
    # The start of a frame a crash cut short: fewer bytes than a frame header.
    with open(entries, "ab") as handle:
        handle.write(b"\x2a\x00\x00\x00\x0b\x00\x00")
    ours = whyline.Ledger(ledger).verify()
    assert ours.intact and ours.entries == whyline.Ledger(ledger).verify().entries
    assert [r["bytes"] for r in ours.crash_residue] == [7]
    assert ours.crash_residue[0]["offset"] == intact_len
    code, out, _ = run_cli("verify", ledger, "--strict")
    assert code == 1 and "crash residue" in out
    code, out, err = run_cli("recover", ledger)
    assert code == 0, err
    assert "cut 7 bytes of crash residue" in out
    assert entries.stat().st_size == intact_len
    assert whyline.Ledger(ledger).verify().crash_residue == []
