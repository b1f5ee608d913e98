#!/usr/bin/env python3
"""The mutants earlier runs already examined, under their names in today's tree.

    python3 scripts/mutants-skip.py LIST EARLIER [EARLIER...] > previously_caught.txt

LIST is `cargo mutants --list` of the tree about to be tested; each EARLIER is a
`mutants.out` directory of an earlier run, or a record of one that
scripts/mutants-record.py wrote (`docs/mutants/CRATE/*.txt`, committed). A mutant counts
as examined when an earlier run gave it any outcome (caught, missed, unviable, timeout, or
skipped as caught before). Names carry line and column, which move whenever code above
them changes, so a mutant of today's list whose exact name is not found is matched by file
and description instead, as many times as the earlier runs hold that pair.
scripts/mutants.sh (MUTANTS_SKIP_FROM) writes the result as `previously_caught.txt`, which
cargo-mutants' `--iterate` skips.

A campaign that runs over several sessions, with the code changing between them, goes on
this way instead of re-testing the mutants whose lines moved (a change near the top of a
file moves all of its mutants).
"""
import os
import re
import sys
from collections import Counter

KINDS = ("caught", "missed", "unviable", "timeout", "previously_caught")
NAME = re.compile(r"([^:]+):\d+:\d+: (.*)")


def key(name):
    match = NAME.match(name)
    return (match.group(1), match.group(2)) if match else (name, "")


def record(path):
    """The mutants a committed record (scripts/mutants-record.py) names."""
    with open(path) as lines:
        for line in lines:
            if line.strip() and not line.startswith("#"):
                yield line.rstrip("\n").split("\t", 1)[1]


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    examined = set()
    for directory in argv[2:]:
        if os.path.isfile(directory):
            examined.update(record(directory))
            continue
        for kind in KINDS:
            path = os.path.join(directory, kind + ".txt")
            if os.path.exists(path):
                with open(path) as lines:
                    examined.update(line.strip() for line in lines if line.strip())
    with open(argv[1]) as lines:
        today = [line.strip() for line in lines if line.strip()]
    left = Counter(key(name) for name in examined)
    skip = [name for name in today if name in examined]
    for name in skip:
        left[key(name)] -= 1
    for name in today:
        if name not in examined and left[key(name)] > 0:
            left[key(name)] -= 1
            skip.append(name)
    sys.stdout.write("".join(name + "\n" for name in sorted(set(skip))))
    sys.stderr.write(f"{len(today)} mutants, {len(set(skip))} examined before, "
                     f"{len(today) - len(set(skip))} to test\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
