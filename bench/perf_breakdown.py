#!/usr/bin/env python3
"""Where a profiled rollcall run spends its time, from `perf script` output.

    perf script -i perf.data -F comm,tid,period,ip,sym --no-inline | python3 bench/perf_breakdown.py

Used by bench/transfer.sh on a `perf record -g --call-graph dwarf` profile. Each
sample is charged to the innermost frame of rollcall's own code on its stack
(the Rust function that made the SQLite call, or did the work itself), split
into the time inside SQLite (`sqlite3_step`) and the rest; then the share of
every sample that passes through a few SQLite mechanisms (they overlap).
"""

import collections
import sys

TOP = 14

# name, test on a stack (leaf first)
MECHANISMS = [
    ("inside sqlite3_step (all SQL)", lambda s: "sqlite3_step" in s),
    ("statements compiled again (sqlite3Reprepare, in sqlite3_step)", lambda s: "sqlite3Reprepare" in s),
    ("index seeks (sqlite3BtreeIndexMoveto)", lambda s: "sqlite3BtreeIndexMoveto" in s),
    ("b-tree page splits (balance)", lambda s: any(f.startswith("balance") for f in s)),
    ("statement journal (subjournalPage, memjrnl)",
     lambda s: any("subjournalPage" in f or "memjrnl" in f for f in s)),
    ("dirty pages to the WAL (walFrames, pagerStress)",
     lambda s: any(f in ("walFrames", "sqlite3WalFrames", "pagerStress", "pagerWalFrames") for f in s)),
    ("pages read back into the cache (unixRead)", lambda s: any(f in ("unixRead", "seekAndRead") for f in s)),
    ("malloc/free (leaf)", lambda s: bool(s) and any(
        x in s[0] for x in ("malloc", "free", "_int_", "unlink_chunk", "realloc", "sqlite3MemSize"))),
    ("JSON of the audit rows (serde_json)", lambda s: any("serde_json" in f for f in s)),
]


def read_samples(lines):
    stack = None
    for line in lines:
        if not line.strip():
            if stack is not None:
                yield stack
            stack = None
        elif line[0] not in " \t":
            stack = []
        elif stack is not None:
            parts = line.split(None, 1)
            stack.append(parts[1].strip() if len(parts) > 1 else "?")
    if stack is not None:
        yield stack


def owner(stack):
    for frame in stack:
        if frame.startswith("rollcall::") or frame.startswith("<rollcall::"):
            return frame.replace("rollcall::", "", 1)
    return "(no rollcall frame: " + (stack[-1] if stack else "?") + ")"


def main():
    samples = list(read_samples(sys.stdin))
    n = len(samples)
    if n == 0:
        sys.exit("perf_breakdown: no samples")
    owners = collections.Counter()
    in_sql = collections.Counter()
    for s in samples:
        o = owner(s)
        owners[o] += 1
        if "sqlite3_step" in s:
            in_sql[o] += 1
    print(f"  by rollcall function (innermost frame of rollcall's code; {n} samples):")
    print(f"    {'total':>7}  {'in SQL':>7}  function")
    for name, count in owners.most_common(TOP):
        print(f"    {100 * count / n:6.1f}%  {100 * in_sql[name] / n:6.1f}%  {name[:100]}")
    print("  through SQLite mechanisms (overlapping):")
    for name, test in MECHANISMS:
        count = sum(1 for s in samples if test(s))
        print(f"    {100 * count / n:6.1f}%  {name}")


if __name__ == "__main__":
    main()
