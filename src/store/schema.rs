//! The versioned schema: an ordered list of migrations, applied once each.
//!
//! `PRAGMA user_version` holds how many migrations a database has had. A new
//! migration is appended to `MIGRATIONS`; existing entries are never edited,
//! because databases in the field have already run them.

use rusqlite::Connection;

use super::StoreError;

/// Each entry upgrades the schema by one version.
pub const MIGRATIONS: &[&str] = &[
    // 1: the whole academy.
    r#"
CREATE TABLE members (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    email           TEXT NOT NULL DEFAULT '',
    first_name      TEXT NOT NULL DEFAULT '',
    last_name       TEXT NOT NULL DEFAULT '',
    country         TEXT NOT NULL DEFAULT '',
    language        TEXT NOT NULL DEFAULT 'en',
    visibility      TEXT NOT NULL DEFAULT 'members'
                    CHECK (visibility IN ('public', 'members', 'hidden')),
    team            TEXT NOT NULL DEFAULT '',
    roles           INTEGER NOT NULL DEFAULT 1 CHECK (roles BETWEEN 0 AND 15),
    anonymous       INTEGER NOT NULL DEFAULT 0 CHECK (anonymous IN (0, 1)),
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    license         INTEGER NOT NULL DEFAULT 0 CHECK (license IN (0, 1)),
    access_code_hash TEXT,
    search_key      TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    -- When the status last changed: how long a member has been suspended.
    status_changed_at TEXT
);
CREATE INDEX members_country_status ON members (country, status);
CREATE INDEX members_status ON members (status);
CREATE INDEX members_language ON members (language);
CREATE INDEX members_team ON members (team) WHERE team != '';
CREATE INDEX members_anonymous ON members (anonymous) WHERE anonymous = 1;
CREATE INDEX members_license ON members (license);
CREATE INDEX members_created ON members (created_at);
CREATE INDEX members_email ON members (email) WHERE email != '';

CREATE TRIGGER members_username_immutable
BEFORE UPDATE OF username ON members WHEN NEW.username IS NOT OLD.username
BEGIN
    SELECT RAISE(ABORT, 'a username can never be changed');
END;

-- The license pool: the seats bought. The seats held are counted from the
-- members (an index makes it quick); a per-row counter kept by triggers would
-- cost every bulk insert a write and a statement journal. The view shows both;
-- writing `seats` through it checks that the held seats still fit.
CREATE TABLE license_seats (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seats INTEGER NOT NULL DEFAULT 0 CHECK (seats >= 0)
);
INSERT INTO license_seats (id, seats) VALUES (1, 0);
CREATE VIEW license_pool AS
    SELECT id, seats, (SELECT count(*) FROM members WHERE license = 1) AS used FROM license_seats;
CREATE TRIGGER license_pool_seats INSTEAD OF UPDATE OF seats ON license_pool
BEGIN
    SELECT RAISE(ABORT, 'the license pool cannot have fewer seats than are held')
    WHERE NEW.seats < (SELECT count(*) FROM members WHERE license = 1);
    UPDATE license_seats SET seats = NEW.seats WHERE id = 1;
END;

CREATE TABLE groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);
CREATE TABLE group_members (
    group_id    INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, member_id)
) WITHOUT ROWID;
CREATE INDEX group_members_member ON group_members (member_id);

CREATE TABLE courses (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE series (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE series_courses (
    series_id   INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    course_id   INTEGER NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    PRIMARY KEY (series_id, position),
    UNIQUE (series_id, course_id)
) WITHOUT ROWID;
CREATE INDEX series_courses_course ON series_courses (course_id);

CREATE TABLE participations (
    id              INTEGER PRIMARY KEY,
    member_id       INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    course_id       INTEGER NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    status          TEXT NOT NULL DEFAULT 'undecided'
                    CHECK (status IN ('undecided', 'passed', 'failed')),
    score           REAL,
    completed_at    TEXT,
    deadline        TEXT,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    invitations     INTEGER NOT NULL DEFAULT 0,
    last_invited_at TEXT,
    attempt         INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    enrolled_at     TEXT NOT NULL,
    UNIQUE (member_id, course_id)
);
CREATE INDEX participations_course_status ON participations (course_id, status);
CREATE INDEX participations_course_deadline ON participations (course_id, deadline);

-- Earlier attempts of a participation, written by a retake.
CREATE TABLE attempts (
    id               INTEGER PRIMARY KEY,
    participation_id INTEGER NOT NULL REFERENCES participations (id) ON DELETE CASCADE,
    attempt          INTEGER NOT NULL,
    status           TEXT NOT NULL,
    score            REAL,
    completed_at     TEXT,
    ended_at         TEXT NOT NULL,
    UNIQUE (participation_id, attempt)
);

CREATE TABLE certificates (
    id               INTEGER PRIMARY KEY,
    participation_id INTEGER NOT NULL REFERENCES participations (id) ON DELETE CASCADE,
    attempt          INTEGER NOT NULL,
    serial           TEXT NOT NULL UNIQUE,
    issued_on        TEXT NOT NULL,
    current          INTEGER NOT NULL DEFAULT 1 CHECK (current IN (0, 1))
);
CREATE INDEX certificates_participation ON certificates (participation_id);
CREATE UNIQUE INDEX certificates_one_current ON certificates (participation_id) WHERE current = 1;

CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    script      TEXT NOT NULL,
    source      TEXT NOT NULL,
    args        TEXT NOT NULL DEFAULT '{}',
    schedule_id INTEGER,
    dry_run     INTEGER NOT NULL DEFAULT 0,
    started_at  TEXT NOT NULL,
    ended_at    TEXT,
    outcome     TEXT NOT NULL DEFAULT 'running'
                CHECK (outcome IN ('running', 'success', 'error', 'refused')),
    error       TEXT,
    changes     INTEGER NOT NULL DEFAULT 0,
    actions     INTEGER NOT NULL DEFAULT 0,
    output      TEXT NOT NULL DEFAULT '',
    -- The process running it, to close the record of one that died.
    pid         INTEGER
);
CREATE INDEX runs_schedule ON runs (schedule_id, id);
CREATE INDEX runs_running ON runs (outcome) WHERE outcome = 'running';

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    member_id   INTEGER REFERENCES members (id) ON DELETE CASCADE,
    -- Invitations belong to a participation: held while it is deactivated,
    -- gone when it is removed.
    participation_id INTEGER REFERENCES participations (id) ON DELETE CASCADE,
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    run_id      INTEGER REFERENCES runs (id),
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    tries       INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
CREATE INDEX outbox_member ON outbox (member_id);
CREATE INDEX outbox_participation ON outbox (participation_id);

-- One row per changed record. `member_id` is deliberately no foreign key: the
-- row of a deleted member stays, stripped down to username, run and time.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER,
    at          TEXT NOT NULL,
    action      TEXT NOT NULL,
    member_id   INTEGER,
    username    TEXT NOT NULL DEFAULT '',
    target      TEXT NOT NULL DEFAULT '',
    before      TEXT,
    after       TEXT
);
CREATE INDEX audit_run ON audit (run_id);
CREATE INDEX audit_member ON audit (member_id);
CREATE INDEX audit_username ON audit (username);

-- AUTOINCREMENT: a removed schedule's id is never reused, so its runs never
-- appear as those of a new schedule.
CREATE TABLE schedules (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    cron         TEXT NOT NULL,
    script       TEXT NOT NULL,
    args         TEXT NOT NULL DEFAULT '{}',
    tz           TEXT NOT NULL DEFAULT 'UTC',
    confirm      INTEGER NOT NULL DEFAULT 0,
    enabled      INTEGER NOT NULL DEFAULT 1,
    next_due     TEXT,
    lock_owner   TEXT,
    lock_expires TEXT,
    created_at   TEXT NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"#,
    // 2: only indexes a bulk load can afford. Every index costs each insert a
    // descent into its b-tree; for a million-row import that was 0.2 to 0.9 s
    // an index, most for keys in random order (e-mail) or of many values
    // (language, country). What stays:
    // the usernames (unique), the few suspended members by country (the
    // counts of `country(..).suspended()`), the few anonymous and unlicensed
    // ones. A filter on any other field scans the members: about 80 ms for a
    // million. The seats held are all members less the unlicensed ones,
    // counted from the smallest index. The audit finds a live member's rows
    // by id, an erased member's rows (their id is gone) by username.
    r#"
DROP INDEX members_email;
DROP INDEX members_language;
DROP INDEX members_team;
DROP INDEX members_created;
DROP INDEX members_status;
DROP INDEX members_license;
DROP INDEX members_country_status;
CREATE INDEX members_suspended ON members (country) WHERE status = 'suspended';
CREATE INDEX members_unlicensed ON members (license) WHERE license = 0;

DROP TRIGGER license_pool_seats;
DROP VIEW license_pool;
CREATE VIEW license_pool AS
    SELECT id, seats,
           (SELECT count(*) FROM members) - (SELECT count(*) FROM members WHERE license = 0) AS used
    FROM license_seats;
CREATE TRIGGER license_pool_seats INSTEAD OF UPDATE OF seats ON license_pool
BEGIN
    SELECT RAISE(ABORT, 'the license pool cannot have fewer seats than are held')
    WHERE NEW.seats < (SELECT count(*) FROM members) - (SELECT count(*) FROM members WHERE license = 0);
    UPDATE license_seats SET seats = NEW.seats WHERE id = 1;
END;

DROP INDEX audit_username;
CREATE INDEX audit_erased ON audit (username) WHERE member_id IS NULL;
"#,
];

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings `conn` up to the latest version, each migration in its own transaction.
pub fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > latest_version() {
        return Err(StoreError::TooNew {
            found: current,
            supported: latest_version(),
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_applies_in_order_on_an_empty_database() {
        let conn = Connection::open_in_memory().unwrap();
        for migration in MIGRATIONS {
            let tx = conn.unchecked_transaction().unwrap();
            tx.execute_batch(migration).unwrap();
            tx.commit().unwrap();
        }
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, latest_version());
        // Running again is a no-op.
        migrate(&conn).unwrap();
    }

    /// The plan SQLite picks for `sql`, as one text.
    fn plan(conn: &Connection, sql: &str) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.join("; ")
    }

    #[test]
    fn the_counts_that_must_stay_quick_use_an_index() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn).unwrap();
        let suspended = plan(
            &conn,
            "SELECT count(*) FROM members m WHERE m.country = 'NL' AND m.status = 'suspended'",
        );
        assert!(suspended.contains("members_suspended"), "{suspended}");
        let seats = plan(&conn, "SELECT used FROM license_pool");
        assert!(seats.contains("members_unlicensed"), "{seats}");
        // All members are counted from the smallest index, not the table.
        assert!(
            seats
                .split("; ")
                .filter(|step| step.contains("members"))
                .all(|step| step.contains("INDEX")),
            "{seats}"
        );
        let erased = plan(
            &conn,
            "SELECT id FROM audit WHERE member_id IS NULL AND username = 'ada'",
        );
        assert!(erased.contains("audit_erased"), "{erased}");
    }

    #[test]
    fn a_newer_database_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        let err = migrate(&conn).unwrap_err();
        assert!(err.to_string().contains("999"), "{err}");
    }

    #[test]
    fn constraints_hold() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn).unwrap();
        let now = "2026-01-01T00:00:00Z";
        conn.execute(
            "INSERT INTO members (username, created_at, updated_at) VALUES ('a', ?1, ?1)",
            [now],
        )
        .unwrap();
        assert!(
            conn.execute(
                "INSERT INTO members (username, created_at, updated_at) VALUES ('a', ?1, ?1)",
                [now],
            )
            .is_err(),
            "usernames are unique"
        );
        let err = conn
            .execute("UPDATE members SET username = 'b'", [])
            .unwrap_err();
        assert!(err.to_string().contains("never be changed"), "{err}");
        conn.execute("UPDATE license_pool SET seats = 1", [])
            .unwrap();
        conn.execute("UPDATE members SET license = 1", []).unwrap();
        let used: i64 = conn
            .query_row("SELECT used FROM license_pool", [], |r| r.get(0))
            .unwrap();
        assert_eq!(used, 1, "held seats are counted from the members");
        assert!(
            conn.execute("UPDATE license_pool SET seats = 0", [])
                .is_err(),
            "the pool cannot shrink below the seats held"
        );
        conn.execute(
            "INSERT INTO courses (code, title, created_at) VALUES ('C1', 'One', ?1)",
            [now],
        )
        .unwrap();
        let add =
            "INSERT INTO participations (member_id, course_id, enrolled_at) VALUES (1, 1, ?1)";
        conn.execute(add, [now]).unwrap();
        assert!(
            conn.execute(add, [now]).is_err(),
            "one participation per member and course"
        );
    }
}
