#!/usr/bin/env python3
"""Writes one cargo-mutants run's outcomes as a record to commit.

    python3 scripts/mutants-record.py OUT_DIR COMMIT COMMAND > docs/mutants/CRATE/RUN.txt

OUT_DIR is the run's `mutants.out` directory. The record holds a header (`# ` lines: the
commit the run tested, when it ran, the command) and one line per mutant examined,
`OUTCOME<TAB>NAME`, sorted by name, where OUTCOME is caught, missed, unviable or timeout.
Mutants the run skipped as examined before (`previously_caught.txt`) are not repeated: the
earlier records hold them.

A campaign spread over sessions goes on from these records (scripts/mutants.sh:
MUTANTS_SKIP_FROM takes them as it takes `mutants.out` directories); a run's scratch
output under target/ does not survive a new machine, the records in the repository do.
"""
import os
import sys
from datetime import datetime, timezone

KINDS = ("caught", "missed", "unviable", "timeout")


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    directory, commit, command = argv[1:]
    outcomes = {}
    for kind in KINDS:
        path = os.path.join(directory, kind + ".txt")
        if os.path.exists(path):
            with open(path) as lines:
                for line in lines:
                    if line.strip():
                        outcomes[line.strip()] = kind
    out = sys.stdout
    out.write(f"# commit {commit}\n")
    out.write(f"# recorded {datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}\n")
    out.write(f"# command {command}\n")
    counts = {kind: sum(1 for k in outcomes.values() if k == kind) for kind in KINDS}
    caught, missed = counts["caught"], counts["missed"]
    score = f"{100 * caught / (caught + missed):.1f} %" if caught + missed else "n/a"
    out.write("# " + ", ".join(f"{kind} {n}" for kind, n in counts.items())
              + f"; score {score}\n")
    for name in sorted(outcomes):
        out.write(f"{outcomes[name]}\t{name}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
