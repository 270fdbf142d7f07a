#!/usr/bin/env python3
"""Baseline 2 of bench/transfer.sh: a plain Python upsert of a member CSV.

    python3 bench/baseline_import.py DB FILE.csv

Reads FILE.csv (the header `rollcall export` writes: username, email, first_name,
last_name, language, country, visibility, team, roles, groups, anonymous, license,
suspended, deleted; roles and groups `;`-separated) with the csv module and
upserts every row into a normalised schema with the sqlite3 module, in one
transaction:

    members (id, username UNIQUE, 12 more columns, roles as a bitmask)
    groups (id, name UNIQUE)               -- created when first named
    group_members (group_id, member_id)    -- replaced per member

`INSERT ... ON CONFLICT(username) DO UPDATE ... RETURNING id` per row, then the
member's group rows are deleted and inserted again. No validation, no audit, no
change detection: the bare work an import cannot do without. The connection gets
the settings rollcall uses (WAL, synchronous NORMAL, a 64 MiB page cache), so
the comparison is of the code, not of the settings.

Prints `BENCH <key> <value>` lines: rows, upsert_s (read + upsert + commit).
"""

import csv
import sqlite3
import sys
import time

ROLES = {"learner": 1, "author": 2, "manager": 4, "admin": 8}
COLUMNS = [
    "username", "email", "first_name", "last_name", "language", "country",
    "visibility", "team", "roles", "groups", "anonymous", "license",
    "suspended", "deleted",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS members (
    id          INTEGER PRIMARY KEY,
    username    TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL,
    first_name  TEXT NOT NULL,
    last_name   TEXT NOT NULL,
    language    TEXT NOT NULL,
    country     TEXT NOT NULL,
    visibility  TEXT NOT NULL,
    team        TEXT NOT NULL,
    roles       INTEGER NOT NULL,
    anonymous   INTEGER NOT NULL,
    license     INTEGER NOT NULL,
    suspended   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS groups (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS group_members (
    group_id   INTEGER NOT NULL REFERENCES groups (id),
    member_id  INTEGER NOT NULL REFERENCES members (id),
    PRIMARY KEY (group_id, member_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS group_members_member ON group_members (member_id);
"""

UPSERT = """
INSERT INTO members (username, email, first_name, last_name, language, country,
                     visibility, team, roles, anonymous, license, suspended)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (username) DO UPDATE SET
    email = excluded.email, first_name = excluded.first_name,
    last_name = excluded.last_name, language = excluded.language,
    country = excluded.country, visibility = excluded.visibility,
    team = excluded.team, roles = excluded.roles, anonymous = excluded.anonymous,
    license = excluded.license, suspended = excluded.suspended
RETURNING id
"""


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: baseline_import.py DB FILE.csv")
    db, path = sys.argv[1], sys.argv[2]
    start = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA cache_size = -65536")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.executescript(SCHEMA)

    cur = conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    groups = dict(cur.execute("SELECT name, id FROM groups").fetchall())

    def group_id(name):
        gid = groups.get(name)
        if gid is None:
            cur.execute("INSERT INTO groups (name) VALUES (?)", (name,))
            gid = groups[name] = cur.lastrowid
        return gid

    rows = 0
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header != COLUMNS:
            sys.exit(f"unexpected header: {header}")
        for r in reader:
            if r[13] == "1":
                continue  # a deletion: not in this benchmark's file
            roles = 0
            for role in r[8].split(";"):
                if role:
                    roles |= ROLES[role]
            cur.execute(UPSERT, (
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
                roles, int(r[10]), int(r[11]), int(r[12]),
            ))
            member = cur.fetchone()[0]
            cur.execute("DELETE FROM group_members WHERE member_id = ?", (member,))
            for name in r[9].split(";"):
                if name:
                    cur.execute(
                        "INSERT OR IGNORE INTO group_members (group_id, member_id) VALUES (?, ?)",
                        (group_id(name), member),
                    )
            rows += 1
    cur.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    print(f"BENCH rows {rows}")
    print(f"BENCH upsert_s {elapsed:.6f}")


if __name__ == "__main__":
    main()
