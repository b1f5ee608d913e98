"""``whyline.Ledger``: a ledger directory read back — verified, investigated, and its
decisions listed — through the same library calls as ``whyline verify`` and
``whyline incident``."""

import datetime
import json
import os

from . import _native


class FirstBad:
    """The first bad entry verification found: ``index``, ``kind`` (what is wrong, as
    ``whyline verify`` words it), ``offset`` (byte offset), ``path`` (the file),
    ``torn_tail`` (a crash mid-write rather than a change)."""

    __slots__ = ("index", "kind", "offset", "path", "torn_tail")

    def __init__(self, index, kind, offset, path, torn_tail):
        self.index = index
        self.kind = kind
        self.offset = offset
        self.path = path
        self.torn_tail = torn_tail

    def __repr__(self):
        return f"FirstBad(index={self.index}, kind={self.kind!r})"


class VerifyResult:
    """The outcome of :meth:`Ledger.verify`: ``intact``, ``entries`` (entries checked, or
    those that verified before the problem), ``first_bad`` (:class:`FirstBad` or ``None``),
    ``checkpoints``, ``signatures_checked``, ``root`` (hex), ``crash_residue`` (what a crash
    left past the last whole entry of an intact log: a list of dicts with ``path``,
    ``offset``, ``bytes``, ``index``; ``whyline recover`` cuts it), ``time_index_mismatch``
    (the first time-index record that disagrees with the log, or ``None``) and ``json`` (the
    object ``whyline verify --format json`` prints)."""

    def __init__(self, document):
        self.json = document
        self.intact = document.get("type") == "intact"
        if self.intact:
            self.entries = document.get("entries", 0)
            self.first_bad = None
        else:
            self.entries = document.get("intact_entries", 0)
            self.first_bad = FirstBad(
                document.get("index"),
                document.get("kind"),
                document.get("offset"),
                document.get("path"),
                document.get("torn_tail", False),
            )
        self.checkpoints = document.get("checkpoints")
        self.signatures_checked = document.get("signatures_checked", False)
        self.root = document.get("root")
        self.crash_residue = document.get("crash_residue", [])
        self.time_index_mismatch = document.get("time_index_mismatch")

    def __bool__(self):
        return self.intact

    def __repr__(self):
        if self.intact:
            residue = sum(r.get("bytes", 0) for r in self.crash_residue)
            if residue:
                return f"VerifyResult(intact, entries={self.entries}, crash_residue={residue} bytes)"
            return f"VerifyResult(intact, entries={self.entries})"
        return f"VerifyResult(broken, first_bad={self.first_bad!r})"


class IncidentReport:
    """An incident report (:meth:`Ledger.investigate`): ``text`` as ``whyline incident``
    prints it, :meth:`to_json` and :meth:`to_html`."""

    def __init__(self, json_text, text, html):
        self._json = json_text
        self._html = html
        self.text = text
        """The report as text."""

    def to_json(self):
        """The report as one JSON document (``whyline incident --format json``)."""
        return self._json

    def to_dict(self):
        """The JSON document parsed."""
        return json.loads(self._json)

    def to_html(self, path=None):
        """The report as a self-contained HTML page; written to ``path`` when given."""
        if path is not None:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(self._html)
        return self._html

    def __str__(self):
        return self.text


def _ns(value, default):
    if value is None:
        return default
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        delta = value - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    return int(value)


def _key(public_key):
    return None if public_key is None else os.fspath(public_key)


class Ledger:
    """The ledger in the directory ``path`` (as a :class:`Monitor` or ``whyline`` writes
    it). Reading never changes a byte."""

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.isdir(self.path):
            raise _native.LedgerError(f"{self.path}: not a ledger directory (no such directory)")

    def verify(self, public_key=None):
        """Re-hashes every entry and checks the chain, the Merkle roots and, with
        ``public_key`` (the verifier key file, ``ledger.pub``), the checkpoint signatures.
        Returns a :class:`VerifyResult`."""
        return VerifyResult(json.loads(_native.verify(self.path, _key(public_key))))

    def investigate(self, at, before="30s", after="1s", public_key=None, model=None):
        """The incident report of the window ``at - before … at + after``; ``at`` is RFC
        3339 text, Unix nanoseconds or a ``datetime``; ``model`` (the model file the log's
        model record names) adds exact attributions, as ``whyline incident --model``.
        Returns an :class:`IncidentReport`."""
        if isinstance(at, datetime.datetime):
            at = _ns(at, 0)
        json_text, text, html = _native.investigate_window(
            self.path, str(at), str(before), str(after), _key(public_key), _key(model)
        )
        return IncidentReport(json_text, text, html)

    def decisions(self, start=None, end=None):
        """The decisions stamped between ``start`` and ``end`` (Unix nanoseconds or
        ``datetime``; both ends included), in log order: a pandas DataFrame when pandas is
        installed, else a list of dicts. Columns: ``entry`` (index in the log),
        ``sequence``, ``timestamp_ns``, ``output``, ``input_hash``, ``latency_ns``,
        ``path_type`` and ``path`` (the decision path as a dict)."""
        found = _native.decisions(self.path, _ns(start, 0), _ns(end, 2**64 - 1))
        records = []
        for entry, text in found:
            trace = json.loads(text)["trace"]
            path = trace.get("path", {})
            records.append(
                {
                    "entry": entry,
                    "sequence": trace["sequence"],
                    "timestamp_ns": trace["timestamp_ns"],
                    "output": trace["output"],
                    "input_hash": trace["input_hash"],
                    "latency_ns": trace["latency_ns"],
                    "path_type": path.get("type") if isinstance(path, dict) else None,
                    "path": path,
                }
            )
        try:
            import pandas
        except ImportError:
            return records
        columns = ["entry", "sequence", "timestamp_ns", "output", "input_hash", "latency_ns", "path_type", "path"]
        return pandas.DataFrame.from_records(records, columns=columns)

    def __repr__(self):
        return f"Ledger({self.path!r})"
