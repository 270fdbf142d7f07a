//! The bulk actions of the script API, end to end through the binary: every
//! member-set action on `members()` and on a participant set, the academy
//! functions, the semantics of suspend and delete, access codes, the license
//! pool, confirmation, dry runs and the run/audit history.
//!
//! Most tests use a small hand-made academy (`Academy::fixture`) so that every
//! count in a report can be stated exactly; a few use the demo academy.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rusqlite::Connection;
use serde_json::{Value, json};

use crate::support::{Env, Out};

/// Every JSON document on stdout, in order: with `--json` each action prints
/// its report on one line, then `eval` prints the script's value.
fn docs(out: &Out) -> Vec<Value> {
    serde_json::Deserializer::from_str(&out.stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", out.stdout, out.stderr))
}

/// The script's value: the last JSON document on stdout.
fn last(out: &Out) -> Value {
    docs(out)
        .pop()
        .unwrap_or_else(|| panic!("no JSON on stdout; stderr:\n{}", out.stderr))
}

/// The hand-made academy. Seats 4, held 3 (alice, bob, carol): one is free.
///
/// | id | username | email             | country | lang | visibility | team   | roles         | anon | status    | license |
/// |  1 | alice    | alice@example.org | NL      | nl   | public     | Otters | learner       | 0    | active    | 1 |
/// |  2 | bob      | bob@example.org   | DE      | de   | members    |        | learner;author| 0    | active    | 1 |
/// |  3 | carol    | carol@example.org | FR      | fr   | hidden     | Otters | learner       | 0    | suspended | 1 |
/// |  4 | anon-1   | anon1@example.org | NL      | nl   | members    |        | learner       | 1    | active    | 0 |
/// |  5 | anon-2   |                   | BE      | fr   | members    |        | learner       | 1    | active    | 0 |
/// |  6 | dave     | dave@example.org  | GB      | en   | members    | Herons | learner;admin | 0    | active    | 0 |
///
/// Groups: sales (alice, carol), support (bob). Courses C1, C2, C3; series S1 = C1, C2, C3.
/// C1: alice passed (certificate), bob undecided and inactive in the course,
/// carol failed on her second attempt (one earlier attempt). C2: alice, anon-1.
/// Outbox: one invitation to alice.
const FIXTURE: &str = "
UPDATE license_pool SET seats = 4;
INSERT INTO members (id, username, email, first_name, last_name, country, language, visibility,
                     team, roles, anonymous, status, license, access_code_hash, search_key,
                     created_at, updated_at) VALUES
 (1, 'alice', 'alice@example.org', 'Alice', 'Archer', 'NL', 'nl', 'public', 'Otters', 1, 0,
  'active', 1, NULL, 'alice alice@example.org alice archer', '2024-01-01T09:00:00Z', '2024-01-01T09:00:00Z'),
 (2, 'bob', 'bob@example.org', 'Bob', 'Baker', 'DE', 'de', 'members', '', 3, 0,
  'active', 1, NULL, 'bob bob@example.org bob baker', '2024-01-02T09:00:00Z', '2024-01-02T09:00:00Z'),
 (3, 'carol', 'carol@example.org', 'Carol', 'Cook', 'FR', 'fr', 'hidden', 'Otters', 1, 0,
  'suspended', 1, NULL, 'carol carol@example.org carol cook', '2024-01-03T09:00:00Z', '2024-01-03T09:00:00Z'),
 (4, 'anon-1', 'anon1@example.org', '', '', 'NL', 'nl', 'members', '', 1, 1,
  'active', 0, NULL, 'anon-1 anon1@example.org', '2024-01-04T09:00:00Z', '2024-01-04T09:00:00Z'),
 (5, 'anon-2', '', '', '', 'BE', 'fr', 'members', '', 1, 1,
  'active', 0, 'sha256:old', 'anon-2', '2024-01-05T09:00:00Z', '2024-01-05T09:00:00Z'),
 (6, 'dave', 'dave@example.org', 'Dave', 'Dunn', 'GB', 'en', 'members', 'Herons', 9, 0,
  'active', 0, NULL, 'dave dave@example.org dave dunn', '2024-01-06T09:00:00Z', '2024-01-06T09:00:00Z');
INSERT INTO groups (id, name, created_at) VALUES
 (1, 'sales', '2024-01-01T09:00:00Z'), (2, 'support', '2024-01-01T09:00:00Z');
INSERT INTO group_members (group_id, member_id) VALUES (1, 1), (1, 3), (2, 2);
INSERT INTO courses (id, code, title, created_at) VALUES
 (1, 'C1', 'Course one', '2024-01-01T09:00:00Z'),
 (2, 'C2', 'Course two', '2024-01-01T09:00:00Z'),
 (3, 'C3', 'Course three', '2024-01-01T09:00:00Z');
INSERT INTO series (id, code, title, created_at) VALUES (1, 'S1', 'Series one', '2024-01-01T09:00:00Z');
INSERT INTO series_courses (series_id, position, course_id) VALUES (1, 1, 1), (1, 2, 2), (1, 3, 3);
INSERT INTO participations (id, member_id, course_id, status, score, completed_at, active, attempt, enrolled_at) VALUES
 (1, 1, 1, 'passed', 91.0, '2024-02-01T12:00:00Z', 1, 1, '2024-01-10T08:00:00Z'),
 (2, 2, 1, 'undecided', NULL, NULL, 0, 1, '2024-01-10T08:00:00Z'),
 (3, 3, 1, 'failed', 30.0, '2024-03-01T12:00:00Z', 1, 2, '2024-01-10T08:00:00Z'),
 (4, 1, 2, 'undecided', NULL, NULL, 1, 1, '2024-01-11T08:00:00Z'),
 (5, 4, 2, 'undecided', NULL, NULL, 1, 1, '2024-01-11T08:00:00Z');
INSERT INTO attempts (participation_id, attempt, status, score, completed_at, ended_at) VALUES
 (3, 1, 'failed', 20.0, '2024-02-01T12:00:00Z', '2024-02-01T12:00:00Z');
INSERT INTO certificates (participation_id, attempt, serial, issued_on) VALUES (1, 1, 'RC-00000001', '2024-02-01');
INSERT INTO outbox (member_id, recipient, subject, body, kind, created_at) VALUES
 (1, 'alice@example.org', 'Invitation to C2', 'Hello Alice Archer, please start C2.', 'invitation', '2024-01-11T08:00:00Z');
";

/// A test folder with an academy database, and the binary pointed at it.
struct Academy {
    env: Env,
}

impl Academy {
    /// The hand-made academy of `FIXTURE`.
    fn fixture() -> Academy {
        let env = Env::new();
        env.rollcall(&["-q", "init"]).success();
        env.conn()
            .execute_batch(FIXTURE)
            .expect("the fixture loads");
        Academy { env }
    }

    /// The demo academy (seed 42).
    fn demo(members: u32) -> Academy {
        Academy {
            env: Env::demo(members),
        }
    }

    /// Runs `rollcall --db DB ARGS...`.
    fn run(&self, args: &[&str]) -> Out {
        self.env.rollcall(args)
    }

    /// Runs and asserts exit code 0.
    fn ok(&self, args: &[&str]) -> Out {
        let out = self.run(args);
        out.success();
        out
    }

    /// `rollcall [FLAGS] --json eval SCRIPT`.
    fn eval(&self, flags: &[&str], script: &str) -> Out {
        let mut args = flags.to_vec();
        args.extend(["--json", "eval", script]);
        self.run(&args)
    }

    /// The value of a script that must succeed (as JSON).
    fn value(&self, script: &str) -> Value {
        let out = self.eval(&[], script);
        out.success();
        last(&out)
    }

    /// A script file in the academy's folder.
    fn script(&self, name: &str, text: &str) -> PathBuf {
        self.env.write(name, text)
    }

    fn conn(&self) -> Connection {
        self.env.conn()
    }

    fn int(&self, sql: &str) -> i64 {
        self.env.int(sql)
    }

    /// The first column of every row of `sql`.
    fn strings(&self, sql: &str) -> Vec<String> {
        self.env
            .rows(sql)
            .into_iter()
            .map(|mut row| row.remove(0))
            .collect()
    }

    /// (seats, used) of the license pool.
    fn pool(&self) -> (i64, i64) {
        self.conn()
            .query_row("SELECT seats, used FROM license_pool", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap()
    }

    /// The usernames in a group, sorted.
    fn group(&self, name: &str) -> Vec<String> {
        self.strings(&format!(
            "SELECT m.username FROM group_members gm JOIN members m ON m.id = gm.member_id
             JOIN groups g ON g.id = gm.group_id WHERE g.name = '{name}' ORDER BY 1"
        ))
    }

    /// The usernames in a course, sorted.
    fn participants(&self, code: &str) -> Vec<String> {
        self.strings(&format!(
            "SELECT m.username FROM participations p JOIN members m ON m.id = p.member_id
             JOIN courses c ON c.id = p.course_id WHERE c.code = '{code}' ORDER BY 1"
        ))
    }

    /// One text column of one member.
    fn field(&self, username: &str, column: &str) -> String {
        self.conn()
            .query_row(
                &format!("SELECT CAST({column} AS TEXT) FROM members WHERE username = ?1"),
                [username],
                |r| r.get(0),
            )
            .unwrap_or_else(|e| panic!("{column} of {username}: {e}"))
    }

    /// The newest run: (id, outcome, error).
    fn last_run(&self) -> (i64, String, Option<String>) {
        self.conn()
            .query_row(
                "SELECT id, outcome, error FROM runs ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("a run was recorded")
    }

    /// The audit rows of one run, sorted by (action, username, target).
    fn audit(&self, run: i64) -> Vec<Audit> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT action, username, target, before, after FROM audit WHERE run_id = ?1")
            .unwrap();
        let mut rows: Vec<Audit> = stmt
            .query_map([run], |r| {
                Ok(Audit {
                    action: r.get(0)?,
                    username: r.get(1)?,
                    target: r.get(2)?,
                    before: parse(r.get(3)?),
                    after: parse(r.get(4)?),
                })
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        sort(&mut rows);
        rows
    }

    /// Every row of every table, by table.
    fn dump(&self) -> BTreeMap<String, Vec<Vec<String>>> {
        self.env.dump().into_iter().collect()
    }

    /// The dump without the `runs` table (which records failed and refused runs).
    fn dump_without_runs(&self) -> BTreeMap<String, Vec<Vec<String>>> {
        let mut dump = self.dump();
        assert!(
            dump.remove("runs").is_some(),
            "the database has a runs table"
        );
        dump
    }

    /// Every (table, column, value) whose text contains `needle`, case-insensitively.
    fn find_text(&self, needle: &str) -> Vec<String> {
        let conn = self.conn();
        let mut found = Vec::new();
        for table in tables(&conn) {
            let columns: Vec<String> = conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            for column in columns {
                let sql = format!(
                    "SELECT CAST(\"{column}\" AS TEXT) FROM \"{table}\"
                     WHERE instr(lower(CAST(\"{column}\" AS TEXT)), lower(?1)) > 0"
                );
                let hits: Vec<String> = conn
                    .prepare(&sql)
                    .unwrap()
                    .query_map([needle], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                found.extend(hits.into_iter().map(|v| format!("{table}.{column}: {v}")));
            }
        }
        found
    }
}

/// The tables of the database (SQLite's own excluded).
fn tables(conn: &Connection) -> Vec<String> {
    conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn parse(text: Option<String>) -> Value {
    match text {
        None => Value::Null,
        Some(t) => serde_json::from_str(&t)
            .unwrap_or_else(|e| panic!("audit value {t:?} is not JSON: {e}")),
    }
}

/// One audit row, as the tests compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Audit {
    action: String,
    username: String,
    target: String,
    before: Value,
    after: Value,
}

/// Audit rows in a stable order: by action, username, target, then values.
fn sort(rows: &mut [Audit]) {
    rows.sort_by_cached_key(|r| {
        (
            r.action.clone(),
            r.username.clone(),
            r.target.clone(),
            r.before.to_string(),
            r.after.to_string(),
        )
    });
}

fn audit(action: &str, username: &str, target: &str, before: Value, after: Value) -> Audit {
    Audit {
        action: action.into(),
        username: username.into(),
        target: target.into(),
        before,
        after,
    }
}

/// Asserts the audit rows of `run`, in any order.
fn assert_audit(academy: &Academy, run: i64, mut expected: Vec<Audit>) {
    sort(&mut expected);
    assert_eq!(academy.audit(run), expected, "audit rows of run {run}");
}

/// Asserts a report's counts and its reasons for skipping (exactly these).
fn check(report: &Value, action: &str, matched: i64, changed: i64, reasons: &[(&str, i64)]) {
    assert_eq!(report["action"], action, "{report}");
    assert_eq!(report["matched"], matched, "matched: {report}");
    assert_eq!(report["changed"], changed, "changed: {report}");
    let skipped: i64 = reasons.iter().map(|(_, n)| n).sum();
    assert_eq!(report["skipped"], skipped, "skipped: {report}");
    let reasons: serde_json::Map<String, Value> = reasons
        .iter()
        .map(|(r, n)| (r.to_string(), json!(n)))
        .collect();
    assert_eq!(
        report["reasons"],
        Value::Object(reasons),
        "reasons: {report}"
    );
    assert_eq!(report["dry_run"], false, "{report}");
    assert!(report.get("needs_confirmation").is_none(), "{report}");
}

/// Runs an action script on a fresh fixture; returns the academy, the report and the run id.
fn act(script: &str) -> (Academy, Value, i64) {
    let academy = Academy::fixture();
    let report = academy.value(script);
    let (run, outcome, _) = academy.last_run();
    assert_eq!(outcome, "success");
    (academy, report, run)
}

// ---------------------------------------------------------------- groups

#[test]
fn assign_group_on_members_adds_only_those_not_in_it() {
    let (a, r, run) =
        act(r#"members().where("username", "in", ["alice", "bob", "dave"]).assign_group("sales")"#);
    check(&r, "assign_group", 3, 2, &[("already in group", 1)]);
    assert_eq!(a.group("sales"), ["alice", "bob", "carol", "dave"]);
    assert_eq!(a.group("support"), ["bob"]);
    let after = json!({"group": "sales"});
    assert_audit(
        &a,
        run,
        vec![
            audit("assign_group", "bob", "sales", Value::Null, after.clone()),
            audit("assign_group", "dave", "sales", Value::Null, after),
        ],
    );
}

#[test]
fn assign_group_on_participants_adds_their_member_accounts() {
    let (a, r, run) = act(r#"course("C1").participants().assign_group("support")"#);
    check(&r, "assign_group", 3, 2, &[("already in group", 1)]);
    assert_eq!(a.group("support"), ["alice", "bob", "carol"]);
    let after = json!({"group": "support"});
    assert_audit(
        &a,
        run,
        vec![
            audit(
                "assign_group",
                "alice",
                "support",
                Value::Null,
                after.clone(),
            ),
            audit("assign_group", "carol", "support", Value::Null, after),
        ],
    );
}

#[test]
fn remove_from_group_on_members_takes_out_only_those_in_it() {
    let (a, r, run) = act(r#"members().remove_from_group("sales")"#);
    check(&r, "remove_from_group", 6, 2, &[("not in group", 4)]);
    assert!(a.group("sales").is_empty());
    assert_eq!(a.group("support"), ["bob"], "other groups are untouched");
    let before = json!({"group": "sales"});
    assert_audit(
        &a,
        run,
        vec![
            audit(
                "remove_from_group",
                "alice",
                "sales",
                before.clone(),
                Value::Null,
            ),
            audit("remove_from_group", "carol", "sales", before, Value::Null),
        ],
    );
}

#[test]
fn remove_from_group_on_participants_acts_on_their_accounts() {
    let (a, r, run) = act(r#"course("C1").participants().remove_from_group("support")"#);
    check(&r, "remove_from_group", 3, 1, &[("not in group", 2)]);
    assert!(a.group("support").is_empty());
    assert_eq!(a.group("sales"), ["alice", "carol"]);
    assert_audit(
        &a,
        run,
        vec![audit(
            "remove_from_group",
            "bob",
            "support",
            json!({"group": "support"}),
            Value::Null,
        )],
    );
}

// ---------------------------------------------------------------- courses and series

#[test]
fn assign_course_on_members_enrols_and_keeps_existing_participations() {
    let (a, r, run) = act(
        r#"members().where("username", "in", ["alice", "anon-1", "dave"]).assign_course("C2")"#,
    );
    check(&r, "assign_course", 3, 1, &[("already enrolled", 2)]);
    assert_eq!(a.participants("C2"), ["alice", "anon-1", "dave"]);
    let new = a.strings(
        "SELECT p.status || ' ' || p.active || ' ' || p.attempt || ' ' || p.invitations FROM participations p
         JOIN members m ON m.id = p.member_id WHERE m.username = 'dave'",
    );
    assert_eq!(new, ["undecided 1 1 0"]);
    assert_eq!(
        a.int("SELECT id FROM participations WHERE member_id = 1 AND course_id = 2"),
        4,
        "kept, not replaced"
    );
    assert_audit(
        &a,
        run,
        vec![audit(
            "assign_course",
            "dave",
            "C2",
            Value::Null,
            json!({"course": "C2", "status": "undecided"}),
        )],
    );
}

#[test]
fn assign_course_on_participants_enrols_them_in_another_course() {
    let (a, r, run) = act(r#"course("C1").participants().assign_course("C2")"#);
    check(&r, "assign_course", 3, 2, &[("already enrolled", 1)]);
    assert_eq!(a.participants("C2"), ["alice", "anon-1", "bob", "carol"]);
    assert_eq!(
        a.participants("C1"),
        ["alice", "bob", "carol"],
        "C1 is untouched"
    );
    let after = json!({"course": "C2", "status": "undecided"});
    assert_audit(
        &a,
        run,
        vec![
            audit("assign_course", "bob", "C2", Value::Null, after.clone()),
            audit("assign_course", "carol", "C2", Value::Null, after),
        ],
    );
}

#[test]
fn assign_series_on_members_enrols_in_every_course_skipping_existing_pairs() {
    let (a, r, run) =
        act(r#"members().where("username", "in", ["alice", "dave"]).assign_series("S1")"#);
    // 2 members x 3 courses; alice is in C1 and C2 already.
    check(
        &r,
        "assign_series",
        2,
        4,
        &[("already enrolled (member and course)", 2)],
    );
    for code in ["C1", "C2", "C3"] {
        let people = a.participants(code);
        assert!(
            people.contains(&"alice".to_string()) && people.contains(&"dave".to_string()),
            "{code}: {people:?}"
        );
    }
    assert_eq!(
        a.strings("SELECT status FROM participations WHERE member_id = 1 AND course_id = 1"),
        ["passed"],
        "alice's passed participation is kept"
    );
    assert_eq!(a.int("SELECT count(*) FROM certificates"), 1);
    let new = |user: &str, code: &str| {
        audit(
            "assign_series",
            user,
            code,
            Value::Null,
            json!({"course": code, "status": "undecided"}),
        )
    };
    assert_audit(
        &a,
        run,
        vec![
            new("alice", "C3"),
            new("dave", "C1"),
            new("dave", "C2"),
            new("dave", "C3"),
        ],
    );
}

#[test]
fn assign_series_on_participants_enrols_their_accounts() {
    let (a, r, run) = act(r#"course("C2").participants().assign_series("S1")"#);
    // alice and anon-1 x 3 courses; alice has C1 and C2, anon-1 has C2.
    check(
        &r,
        "assign_series",
        2,
        3,
        &[("already enrolled (member and course)", 3)],
    );
    assert_eq!(a.participants("C1"), ["alice", "anon-1", "bob", "carol"]);
    assert_eq!(a.participants("C3"), ["alice", "anon-1"]);
    let new = |user: &str, code: &str| {
        audit(
            "assign_series",
            user,
            code,
            Value::Null,
            json!({"course": code, "status": "undecided"}),
        )
    };
    assert_audit(
        &a,
        run,
        vec![new("alice", "C3"), new("anon-1", "C1"), new("anon-1", "C3")],
    );
}

// ---------------------------------------------------------------- suspend and reactivate

#[test]
fn suspend_keeps_the_members_data_and_seat() {
    let (a, r, run) = act(r#"members().where("username", "in", ["alice", "carol"]).suspend()"#);
    check(&r, "suspend", 2, 1, &[("already suspended", 1)]);
    assert_eq!(a.field("alice", "status"), "suspended");
    assert_eq!(
        a.field("alice", "license"),
        "1",
        "a suspended member keeps the seat"
    );
    assert_eq!(a.pool(), (4, 3));
    assert_eq!(
        a.int("SELECT count(*) FROM participations WHERE member_id = 1"),
        2
    );
    assert_eq!(a.int("SELECT count(*) FROM certificates"), 1);
    assert_eq!(a.group("sales"), ["alice", "carol"]);
    assert_eq!(a.int("SELECT count(*) FROM outbox WHERE member_id = 1"), 1);
    for column in ["email", "first_name", "last_name", "country", "team"] {
        assert!(!a.field("alice", column).is_empty(), "{column} is kept");
    }
    assert_audit(
        &a,
        run,
        vec![audit(
            "suspend",
            "alice",
            "",
            json!({"status": "active"}),
            json!({"status": "suspended"}),
        )],
    );
}

#[test]
fn deactivate_is_an_alias_of_suspend() {
    let (a, r, run) = act(r#"members().where("username", "=", "bob").deactivate()"#);
    check(&r, "suspend", 1, 1, &[]);
    assert_eq!(a.field("bob", "status"), "suspended");
    assert_eq!(a.field("bob", "license"), "1");
    assert_audit(
        &a,
        run,
        vec![audit(
            "suspend",
            "bob",
            "",
            json!({"status": "active"}),
            json!({"status": "suspended"}),
        )],
    );
}

#[test]
fn suspend_on_participants_deactivates_the_participation_only() {
    let (a, r, run) = act(r#"course("C1").participants().suspend()"#);
    check(
        &r,
        "suspend",
        3,
        2,
        &[("already inactive in the course", 1)],
    );
    assert_eq!(
        a.strings("SELECT DISTINCT CAST(active AS TEXT) FROM participations WHERE course_id = 1"),
        ["0"]
    );
    assert_eq!(
        a.int("SELECT active FROM participations WHERE id = 4"),
        1,
        "alice is still active in C2"
    );
    assert_eq!(
        a.field("alice", "status"),
        "active",
        "the account is not suspended"
    );
    assert_eq!(a.field("bob", "status"), "active");
    assert_eq!(a.field("carol", "status"), "suspended");
    let before = json!({"course": "C1", "active": 1});
    let after = json!({"course": "C1", "active": 0});
    assert_audit(
        &a,
        run,
        vec![
            audit("suspend", "alice", "C1", before.clone(), after.clone()),
            audit("suspend", "carol", "C1", before, after),
        ],
    );
    // The alias works on participant sets too.
    let r = a.value(r#"course("C2").participants().deactivate()"#);
    check(&r, "suspend", 2, 2, &[]);
    assert_eq!(
        a.int("SELECT count(*) FROM members WHERE status = 'suspended'"),
        1
    );
}

#[test]
fn reactivate_on_members_restores_suspended_accounts() {
    let (a, r, run) = act("members().reactivate()");
    check(&r, "reactivate", 6, 1, &[("already active", 5)]);
    assert_eq!(
        a.int("SELECT count(*) FROM members WHERE status = 'suspended'"),
        0
    );
    assert_eq!(
        a.int("SELECT active FROM participations WHERE id = 2"),
        0,
        "course-level state is untouched"
    );
    assert_audit(
        &a,
        run,
        vec![audit(
            "reactivate",
            "carol",
            "",
            json!({"status": "suspended"}),
            json!({"status": "active"}),
        )],
    );
}

#[test]
fn reactivate_on_participants_restores_the_participation_only() {
    let (a, r, run) = act(r#"course("C1").participants().reactivate()"#);
    check(
        &r,
        "reactivate",
        3,
        1,
        &[("already active in the course", 2)],
    );
    assert_eq!(a.int("SELECT active FROM participations WHERE id = 2"), 1);
    assert_eq!(
        a.field("carol", "status"),
        "suspended",
        "the account stays suspended"
    );
    assert_audit(
        &a,
        run,
        vec![audit(
            "reactivate",
            "bob",
            "C1",
            json!({"course": "C1", "active": 0}),
            json!({"course": "C1", "active": 1}),
        )],
    );
}

#[test]
fn actions_on_sets_with_a_closure_filter_act_on_the_filtered_records() {
    // The closure runs outside SQL: the selection is built from its ids.
    let (a, r, run) =
        act(r#"course("C1").participants().filter(|m| m.username != "bob").suspend()"#);
    check(&r, "suspend", 2, 2, &[]);
    assert_eq!(
        a.strings("SELECT id || ':' || active FROM participations ORDER BY id"),
        ["1:0", "2:0", "3:0", "4:1", "5:1"]
    );
    assert_eq!(
        a.int("SELECT count(*) FROM members WHERE status = 'suspended'"),
        1
    );
    assert_eq!(a.audit(run).len(), 2);

    let r = a.value(r#"members().filter(|m| m.country == "NL").set_team("Dutch")"#);
    check(&r, "set_team", 2, 2, &[]);
    assert_eq!(
        a.strings("SELECT username FROM members WHERE team = 'Dutch' ORDER BY id"),
        ["alice", "anon-1"]
    );
}

// ---------------------------------------------------------------- delete

#[test]
fn delete_erases_the_member_and_everything_about_them() {
    let a = Academy::fixture();
    // An earlier run leaves audit rows about alice with values.
    a.value(r#"members().where("username", "=", "alice").set_team("Lynx")"#);
    let (earlier, ..) = a.last_run();
    assert_eq!(a.audit(earlier)[0].before, json!({"team": "Otters"}));

    let r = a.value(r#"members().where("username", "=", "alice").delete(#{confirm: true})"#);
    check(&r, "delete", 1, 1, &[]);
    let (run, ..) = a.last_run();
    assert_eq!(
        a.int("SELECT count(*) FROM members WHERE username = 'alice'"),
        0
    );
    assert_eq!(
        a.int("SELECT count(*) FROM participations WHERE member_id = 1"),
        0
    );
    assert_eq!(a.int("SELECT count(*) FROM participations"), 3);
    assert_eq!(
        a.int("SELECT count(*) FROM certificates"),
        0,
        "alice's certificate is gone"
    );
    assert_eq!(
        a.int("SELECT count(*) FROM attempts"),
        1,
        "carol's attempt stays"
    );
    assert_eq!(a.group("sales"), ["carol"]);
    assert_eq!(
        a.int("SELECT count(*) FROM outbox"),
        0,
        "queued messages are gone"
    );
    assert_eq!(a.pool(), (4, 2), "the seat is freed");

    // The audit keeps only username, run and time.
    let rows = a.strings(
        "SELECT ifnull(run_id, '-') || ' ' || action || ' ' || ifnull(member_id, '-') || ' '
                || ifnull(before, '-') || ' ' || ifnull(after, '-') || ' ' || (at != '')
         FROM audit WHERE username = 'alice' ORDER BY id",
    );
    assert_eq!(
        rows,
        [
            format!("{earlier} set_team - - - 1"),
            format!("{run} delete - - - 1")
        ]
    );
    for needle in ["alice@example.org", "Archer"] {
        assert_eq!(
            a.find_text(needle),
            Vec::<String>::new(),
            "{needle} is still stored"
        );
    }
}

#[test]
fn delete_on_participants_erases_their_accounts() {
    let (a, r, run) = act(r#"course("C1").participants().delete(#{confirm: true})"#);
    check(&r, "delete", 3, 3, &[]);
    assert_eq!(
        a.strings("SELECT username FROM members ORDER BY username"),
        ["anon-1", "anon-2", "dave"]
    );
    assert_eq!(a.pool(), (4, 0));
    assert!(a.participants("C1").is_empty());
    assert_eq!(a.participants("C2"), ["anon-1"]);
    for table in ["certificates", "attempts", "group_members", "outbox"] {
        assert_eq!(
            a.int(&format!("SELECT count(*) FROM {table}")),
            0,
            "{table}"
        );
    }
    let gone = |user: &str| audit("delete", user, "", Value::Null, Value::Null);
    assert_audit(&a, run, vec![gone("alice"), gone("bob"), gone("carol")]);
    for email in ["alice@example.org", "bob@example.org", "carol@example.org"] {
        assert_eq!(a.find_text(email), Vec::<String>::new());
    }
}

#[test]
fn delete_in_the_demo_leaves_the_email_nowhere_in_the_database() {
    let a = Academy::demo(300);
    // A member with an email, a seat, a group, a certificate and an earlier attempt.
    let (id, username, email): (i64, String, String) = a
        .conn()
        .query_row(
            "SELECT m.id, m.username, m.email FROM members m WHERE m.email != '' AND m.license = 1
               AND EXISTS (SELECT 1 FROM participations p JOIN certificates c ON c.participation_id = p.id
                           WHERE p.member_id = m.id)
               AND EXISTS (SELECT 1 FROM participations p JOIN attempts t ON t.participation_id = p.id
                           WHERE p.member_id = m.id)
               AND EXISTS (SELECT 1 FROM group_members g WHERE g.member_id = m.id)
             ORDER BY m.id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("the demo has such a member");
    // A queued message, and earlier audit rows with values.
    a.conn()
        .execute(
            "INSERT INTO outbox (member_id, recipient, subject, body, kind, created_at)
             VALUES (?1, ?2, 'Invitation', 'Dear ' || ?2, 'invitation', '2026-01-01T00:00:00Z')",
            rusqlite::params![id, email],
        )
        .unwrap();
    let select = format!(r#"members().where("username", "=", "{username}")"#);
    a.value(&format!(
        r#"{select}.set_team("Lynx"); {select}.add_role("author"); {select}.set_country("IS")"#
    ));
    let (used_before, participations) = (
        a.pool().1,
        a.int(&format!(
            "SELECT count(*) FROM participations WHERE member_id = {id}"
        )),
    );
    assert!(participations > 0);
    assert!(
        !a.find_text(&email).is_empty(),
        "the email is stored before"
    );

    let out = a.run(&["--yes", "--json", "eval", &format!("{select}.delete()")]);
    out.code(0);
    check(&last(&out), "delete", 1, 1, &[]);
    assert_eq!(a.pool().1, used_before - 1);
    for table in ["participations", "group_members", "outbox"] {
        assert_eq!(
            a.int(&format!(
                "SELECT count(*) FROM {table} WHERE member_id = {id}"
            )),
            0,
            "{table}"
        );
    }
    assert_eq!(
        a.find_text(&email),
        Vec::<String>::new(),
        "{email} is still stored"
    );
    let values = a.int(&format!(
        "SELECT count(*) FROM audit WHERE username = '{username}' AND (before IS NOT NULL OR after IS NOT NULL OR member_id IS NOT NULL)"
    ));
    assert_eq!(values, 0);
    assert_eq!(
        a.int(&format!(
            "SELECT count(*) FROM audit WHERE username = '{username}'"
        )),
        4
    );
}

#[test]
fn delete_by_email_leaves_the_email_nowhere_in_the_database() {
    let a = Academy::fixture();
    let out = a.run(&[
        "--yes",
        "--json",
        "eval",
        r#"members().search("alice@example.org").delete()"#,
    ]);
    out.code(0);
    check(&last(&out), "delete", 1, 1, &[]);
    assert_eq!(a.find_text("alice@example.org"), Vec::<String>::new());
}

// ---------------------------------------------------------------- one field of the account

#[test]
fn set_country_on_members_canonicalises_and_skips_the_same_value() {
    let (a, r, run) =
        act(r#"members().where("username", "in", ["alice", "bob"]).set_country("nl")"#);
    check(&r, "set_country", 2, 1, &[("already NL", 1)]);
    assert_eq!(a.field("bob", "country"), "NL");
    assert_audit(
        &a,
        run,
        vec![audit(
            "set_country",
            "bob",
            "",
            json!({"country": "DE"}),
            json!({"country": "NL"}),
        )],
    );
}

#[test]
fn set_country_on_participants_sets_their_accounts() {
    let (a, r, run) = act(r#"course("C1").participants().set_country("BE")"#);
    check(&r, "set_country", 3, 3, &[]);
    assert_eq!(
        a.strings("SELECT username || ':' || country FROM members ORDER BY id"),
        [
            "alice:BE",
            "bob:BE",
            "carol:BE",
            "anon-1:NL",
            "anon-2:BE",
            "dave:GB"
        ]
    );
    let to_be = |user: &str, from: &str| {
        audit(
            "set_country",
            user,
            "",
            json!({"country": from}),
            json!({"country": "BE"}),
        )
    };
    assert_audit(
        &a,
        run,
        vec![
            to_be("alice", "NL"),
            to_be("bob", "DE"),
            to_be("carol", "FR"),
        ],
    );
}

#[test]
fn set_visibility_on_members_and_participants() {
    let (a, r, run) = act(r#"members().set_visibility("Hidden")"#);
    check(&r, "set_visibility", 6, 5, &[("already hidden", 1)]);
    assert_eq!(
        a.strings("SELECT DISTINCT visibility FROM members"),
        ["hidden"]
    );
    let rows = a.audit(run);
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter()
            .all(|row| row.after == json!({"visibility": "hidden"}) && row.username != "carol")
    );
    assert!(rows.contains(&audit(
        "set_visibility",
        "alice",
        "",
        json!({"visibility": "public"}),
        json!({"visibility": "hidden"})
    )));

    let (a, r, run) = act(r#"course("C2").participants().set_visibility("public")"#);
    check(&r, "set_visibility", 2, 1, &[("already public", 1)]);
    assert_eq!(a.field("anon-1", "visibility"), "public");
    assert_eq!(a.field("bob", "visibility"), "members");
    assert_audit(
        &a,
        run,
        vec![audit(
            "set_visibility",
            "anon-1",
            "",
            json!({"visibility": "members"}),
            json!({"visibility": "public"}),
        )],
    );
}

#[test]
fn set_language_on_members_and_participants() {
    let (a, r, run) =
        act(r#"members().where("username", "in", ["alice", "bob"]).set_language("FR")"#);
    check(&r, "set_language", 2, 2, &[]);
    assert_eq!(a.field("alice", "language"), "fr");
    assert_eq!(a.field("bob", "language"), "fr");
    assert_audit(
        &a,
        run,
        vec![
            audit(
                "set_language",
                "alice",
                "",
                json!({"language": "nl"}),
                json!({"language": "fr"}),
            ),
            audit(
                "set_language",
                "bob",
                "",
                json!({"language": "de"}),
                json!({"language": "fr"}),
            ),
        ],
    );

    let (a, r, run) = act(r#"course("C1").participants().set_language("fr")"#);
    check(&r, "set_language", 3, 2, &[("already fr", 1)]);
    assert_eq!(a.field("dave", "language"), "en");
    assert_eq!(a.audit(run).len(), 2);
}

#[test]
fn set_team_on_members_and_participants() {
    let (a, r, run) = act(r#"members().team("Otters").set_team("Lynx")"#);
    check(&r, "set_team", 2, 2, &[]);
    assert_eq!(
        a.strings("SELECT username FROM members WHERE team = 'Lynx' ORDER BY id"),
        ["alice", "carol"]
    );
    let lynx = |user: &str| {
        audit(
            "set_team",
            user,
            "",
            json!({"team": "Otters"}),
            json!({"team": "Lynx"}),
        )
    };
    assert_audit(&a, run, vec![lynx("alice"), lynx("carol")]);

    let (a, r, run) = act(r#"course("C1").participants().set_team("")"#);
    check(&r, "set_team", 3, 2, &[("already empty", 1)]);
    assert_eq!(a.field("alice", "team"), "");
    assert_eq!(a.field("dave", "team"), "Herons");
    let cleared = |user: &str| {
        audit(
            "set_team",
            user,
            "",
            json!({"team": "Otters"}),
            json!({"team": ""}),
        )
    };
    assert_audit(&a, run, vec![cleared("alice"), cleared("carol")]);
}

#[test]
fn add_role_on_members_and_participants() {
    let (a, r, run) = act(r#"members().add_role("author")"#);
    check(&r, "add_role", 6, 5, &[("already author", 1)]);
    assert_eq!(a.field("dave", "roles"), "11");
    assert_eq!(a.field("bob", "roles"), "3");
    let rows = a.audit(run);
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter()
            .all(|row| row.target == "author" && row.username != "bob"),
        "{rows:?}"
    );
    assert!(rows.contains(&audit(
        "add_role",
        "dave",
        "author",
        json!({"roles": "learner;admin"}),
        json!({"roles": "learner;author;admin"})
    )));

    let (a, r, run) = act(r#"course("C1").participants().add_role("manager")"#);
    check(&r, "add_role", 3, 3, &[]);
    assert_eq!(a.field("bob", "roles"), "7");
    assert_eq!(a.field("dave", "roles"), "9");
    assert!(a.audit(run).contains(&audit(
        "add_role",
        "bob",
        "manager",
        json!({"roles": "learner;author"}),
        json!({"roles": "learner;author;manager"})
    )));
}

#[test]
fn remove_role_on_members_and_participants() {
    let (a, r, run) = act(r#"members().remove_role("ADMIN")"#);
    check(&r, "remove_role", 6, 1, &[("not admin", 5)]);
    assert_eq!(a.field("dave", "roles"), "1");
    assert_audit(
        &a,
        run,
        vec![audit(
            "remove_role",
            "dave",
            "admin",
            json!({"roles": "learner;admin"}),
            json!({"roles": "learner"}),
        )],
    );

    let (a, r, run) = act(r#"course("C1").participants().remove_role("author")"#);
    check(&r, "remove_role", 3, 1, &[("not author", 2)]);
    assert_eq!(a.field("bob", "roles"), "1");
    assert_audit(
        &a,
        run,
        vec![audit(
            "remove_role",
            "bob",
            "author",
            json!({"roles": "learner;author"}),
            json!({"roles": "learner"}),
        )],
    );
}

// ---------------------------------------------------------------- access codes

/// A code as handed out: three groups of four, no look-alike symbols.
fn assert_code_shape(code: &str) {
    let groups: Vec<&str> = code.split('-').collect();
    assert_eq!(groups.len(), 3, "{code}");
    for group in groups {
        assert_eq!(group.len(), 4, "{code}");
        assert!(
            group
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
            "{code}"
        );
    }
    assert!(
        !code.contains(['0', 'O', '1', 'I', 'L']),
        "{code} has a look-alike symbol"
    );
}

#[test]
fn reset_access_code_on_members_gives_codes_to_anonymous_members_only() {
    let a = Academy::fixture();
    let out = a.eval(&[], "members().reset_access_code()");
    out.code(0);
    let docs = docs(&out);
    assert!(
        docs[0].get("codes").is_none(),
        "the logged report shows no codes: {}",
        docs[0]
    );
    let r = last(&out);
    check(&r, "reset_access_code", 6, 2, &[("not anonymous", 4)]);
    let codes: BTreeMap<String, String> = r["codes"]
        .as_array()
        .expect("codes is an array")
        .iter()
        .map(|c| {
            (
                c["username"].as_str().unwrap().to_string(),
                c["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(codes.keys().collect::<Vec<_>>(), ["anon-1", "anon-2"]);
    for (user, code) in &codes {
        assert_code_shape(code);
        let hash = a.field(user, "access_code_hash");
        assert!(hash.starts_with("sha256:"), "{hash}");
        assert_ne!(hash, "sha256:old");
        let plain = code.replace('-', "");
        assert!(
            !hash.to_uppercase().contains(&plain) && !hash.to_uppercase().contains(code.as_str())
        );
        // Only anon-1 has an email: the outbox is the one place that holds the code.
        let places = a.find_text(code);
        if user == "anon-1" {
            assert_eq!(places.len(), 1, "{places:?}");
            assert!(places[0].starts_with("outbox.body:"), "{places:?}");
        } else {
            assert!(places.is_empty(), "{places:?}");
        }
        assert!(
            a.find_text(&plain)
                .iter()
                .all(|p| p.starts_with("outbox.body:"))
        );
    }
    assert_eq!(
        a.strings("SELECT recipient FROM outbox WHERE kind = 'access_code'"),
        ["anon1@example.org"]
    );
    assert_eq!(
        a.int("SELECT count(*) FROM members WHERE access_code_hash IS NOT NULL"),
        2
    );
    let (run, ..) = a.last_run();
    assert_audit(
        &a,
        run,
        vec![
            audit(
                "reset_access_code",
                "anon-1",
                "",
                json!({"access_code": "none"}),
                json!({"access_code": "new"}),
            ),
            audit(
                "reset_access_code",
                "anon-2",
                "",
                json!({"access_code": "set"}),
                json!({"access_code": "new"}),
            ),
        ],
    );
}

#[test]
fn reset_access_code_on_participants_acts_on_their_accounts() {
    let (a, r, run) = act(r#"course("C2").participants().reset_access_code()"#);
    check(&r, "reset_access_code", 2, 1, &[("not anonymous", 1)]);
    assert_eq!(r["codes"].as_array().unwrap().len(), 1);
    assert_eq!(r["codes"][0]["username"], "anon-1");
    assert_code_shape(r["codes"][0]["code"].as_str().unwrap());
    assert_eq!(
        a.field("anon-2", "access_code_hash"),
        "sha256:old",
        "anon-2 is not in C2"
    );
    assert_eq!(
        a.int("SELECT count(*) FROM outbox WHERE kind = 'access_code'"),
        1
    );
    assert_eq!(a.audit(run).len(), 1);
}

#[test]
fn reset_access_code_in_the_demo_stores_only_hashes() {
    let a = Academy::demo(300);
    let anonymous = a.int("SELECT count(*) FROM members WHERE anonymous = 1");
    let with_email = a.int("SELECT count(*) FROM members WHERE anonymous = 1 AND email != ''");
    assert!(
        anonymous > with_email && with_email > 0,
        "the demo has both kinds"
    );

    let r = a.value("members().reset_access_code()");
    check(
        &r,
        "reset_access_code",
        300,
        anonymous,
        &[("not anonymous", 300 - anonymous)],
    );
    let codes: Vec<(String, String)> = r["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["username"].as_str().unwrap().into(),
                c["code"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(codes.len() as i64, anonymous);
    let distinct: std::collections::BTreeSet<&String> = codes.iter().map(|(_, c)| c).collect();
    assert_eq!(distinct.len(), codes.len(), "codes are unique");
    let mut hashes = std::collections::BTreeSet::new();
    for (user, code) in &codes {
        assert_code_shape(code);
        assert_eq!(a.field(user, "anonymous"), "1");
        let hash = a.field(user, "access_code_hash");
        assert!(
            hash.starts_with("sha256:") && !hash.to_uppercase().contains(&code.replace('-', ""))
        );
        hashes.insert(hash);
        let email = a.field(user, "email");
        let places = a.find_text(code);
        if email.is_empty() {
            assert!(places.is_empty(), "{user}: {places:?}");
        } else {
            assert_eq!(places.len(), 1, "{user}: {places:?}");
            assert!(places[0].starts_with("outbox.body:"), "{places:?}");
            let body: String = a
                .conn()
                .query_row(
                    "SELECT body FROM outbox o JOIN members m ON m.id = o.member_id
                     WHERE m.username = ?1 AND o.kind = 'access_code' AND o.recipient = m.email",
                    [user],
                    |row| row.get(0),
                )
                .unwrap();
            assert!(body.contains(code.as_str()));
        }
    }
    assert_eq!(hashes.len(), codes.len());
    assert_eq!(
        a.int("SELECT count(*) FROM outbox WHERE kind = 'access_code'"),
        with_email
    );
    assert_eq!(
        a.int(
            "SELECT count(*) FROM outbox o JOIN members m ON m.id = o.member_id WHERE m.email = ''"
        ),
        0,
        "members without email get no message"
    );
    assert_eq!(
        a.int("SELECT count(*) FROM members WHERE anonymous = 0 AND access_code_hash IS NOT NULL"),
        0
    );

    // A second reset replaces every hash.
    let again = a.value("members().anonymous().reset_access_code()");
    check(&again, "reset_access_code", anonymous, anonymous, &[]);
    let now: std::collections::BTreeSet<String> = a
        .strings("SELECT access_code_hash FROM members WHERE anonymous = 1")
        .into_iter()
        .collect();
    assert!(now.is_disjoint(&hashes));
}

// ---------------------------------------------------------------- licenses

#[test]
fn assign_license_never_oversubscribes_the_pool() {
    let a = Academy::fixture();
    let before = a.dump_without_runs();
    let out = a.eval(
        &[],
        r#"members().where("username", "in", ["anon-1", "dave"]).assign_license()"#,
    );
    out.code(1);
    assert!(
        out.stderr
            .contains("needs 2 seats but only 1 of 4 are free"),
        "{}",
        out.stderr
    );
    assert_eq!(a.dump_without_runs(), before);
    assert_eq!(a.last_run().1, "error");

    let r = a.value(
        r#"members().where("username", "in", ["anon-1", "dave"]).assign_license(#{partial: true})"#,
    );
    check(&r, "assign_license", 2, 1, &[("no free seat", 1)]);
    assert_eq!(
        a.field("anon-1", "license"),
        "1",
        "the first of the set gets the free seat"
    );
    assert_eq!(a.field("dave", "license"), "0");
    assert_eq!(a.pool(), (4, 4));
    let (run, ..) = a.last_run();
    assert_audit(
        &a,
        run,
        vec![audit(
            "assign_license",
            "anon-1",
            "",
            json!({"license": 0}),
            json!({"license": 1}),
        )],
    );

    // The pool is full: even one more seat fails, naming zero free.
    let out = a.eval(
        &[],
        r#"members().where("username", "=", "dave").assign_license()"#,
    );
    out.code(1);
    assert!(
        out.stderr.contains("only 0 of 4 are free"),
        "{}",
        out.stderr
    );
    let r = a.value("members().assign_license(#{partial: true})");
    check(
        &r,
        "assign_license",
        6,
        0,
        &[("already licensed", 4), ("no free seat", 2)],
    );
    assert_eq!(a.pool(), (4, 4));
}

#[test]
fn a_partial_assign_license_gives_the_free_seats_in_the_order_of_the_chain() {
    let (a, r, run) = act(
        r#"members().where("username", "in", ["anon-1", "dave"]).order_by("-username").assign_license(#{partial: true})"#,
    );
    check(&r, "assign_license", 2, 1, &[("no free seat", 1)]);
    assert_eq!(
        a.field("dave", "license"),
        "1",
        "dave comes first in descending order"
    );
    assert_eq!(a.field("anon-1", "license"), "0");
    assert_audit(
        &a,
        run,
        vec![audit(
            "assign_license",
            "dave",
            "",
            json!({"license": 0}),
            json!({"license": 1}),
        )],
    );
}

#[test]
fn assign_license_on_participants_licenses_their_accounts() {
    let (a, r, run) = act(r#"course("C2").participants().assign_license()"#);
    check(&r, "assign_license", 2, 1, &[("already licensed", 1)]);
    assert_eq!(a.field("anon-1", "license"), "1");
    assert_eq!(a.pool(), (4, 4));
    assert_audit(
        &a,
        run,
        vec![audit(
            "assign_license",
            "anon-1",
            "",
            json!({"license": 0}),
            json!({"license": 1}),
        )],
    );
}

#[test]
fn release_license_on_members_and_participants() {
    let (a, r, run) = act("members().release_license()");
    check(&r, "release_license", 6, 3, &[("no seat", 3)]);
    assert_eq!(a.pool(), (4, 0));
    let freed = |user: &str| {
        audit(
            "release_license",
            user,
            "",
            json!({"license": 1}),
            json!({"license": 0}),
        )
    };
    assert_audit(&a, run, vec![freed("alice"), freed("bob"), freed("carol")]);

    let (a, r, run) = act(r#"course("C2").participants().release_license()"#);
    check(&r, "release_license", 2, 1, &[("no seat", 1)]);
    assert_eq!(a.pool(), (4, 2));
    assert_eq!(a.field("alice", "license"), "0");
    assert_eq!(a.field("bob", "license"), "1");
    assert_audit(&a, run, vec![freed("alice")]);
}

#[test]
fn license_seats_and_set_license_seats() {
    let a = Academy::fixture();
    assert_eq!(
        a.value("license_seats()"),
        json!({"seats": 4, "used": 3, "free": 1})
    );
    assert_eq!(
        a.value("set_license_seats(10)"),
        json!({"seats": 10, "used": 3, "free": 7})
    );
    assert_eq!(a.pool(), (10, 3));
    let (run, ..) = a.last_run();
    assert_audit(
        &a,
        run,
        vec![audit(
            "set_license_seats",
            "",
            "license pool",
            json!({"seats": 4}),
            json!({"seats": 10}),
        )],
    );
    // Down to exactly the seats held is allowed.
    assert_eq!(a.value("set_license_seats(3)")["free"], 0);
    assert_eq!(a.pool(), (3, 3));
}

// ---------------------------------------------------------------- the academy

#[test]
fn create_group_course_and_series() {
    let a = Academy::fixture();
    assert_eq!(a.value(r#"create_group("grads")"#), json!("grads"));
    let (run, ..) = a.last_run();
    assert_audit(
        &a,
        run,
        vec![audit("create_group", "", "grads", Value::Null, Value::Null)],
    );
    let r = a.value(r#"members().where("username", "=", "dave").assign_group("grads")"#);
    check(&r, "assign_group", 1, 1, &[]);
    assert_eq!(a.group("grads"), ["dave"]);

    assert_eq!(
        a.value(r#"create_course("C9", "Course nine")"#),
        json!("C9")
    );
    let (run, ..) = a.last_run();
    assert_eq!(
        a.strings("SELECT title FROM courses WHERE code = 'C9'"),
        ["Course nine"]
    );
    assert_audit(
        &a,
        run,
        vec![audit(
            "create_course",
            "",
            "C9",
            Value::Null,
            json!({"title": "Course nine"}),
        )],
    );

    assert_eq!(
        a.value(r#"create_series("S9", "Series nine", ["C9", "C1"])"#),
        json!("S9")
    );
    let (run, ..) = a.last_run();
    assert_eq!(
        a.strings(
            "SELECT sc.position || ':' || c.code FROM series_courses sc JOIN series s ON s.id = sc.series_id
             JOIN courses c ON c.id = sc.course_id WHERE s.code = 'S9' ORDER BY sc.position"
        ),
        ["1:C9", "2:C1"]
    );
    assert_audit(
        &a,
        run,
        vec![audit(
            "create_series",
            "",
            "S9",
            Value::Null,
            json!({"title": "Series nine", "courses": ["C9", "C1"]}),
        )],
    );
    let r = a.value(r#"course("C1").participants().assign_series("S9")"#);
    check(
        &r,
        "assign_series",
        3,
        3,
        &[("already enrolled (member and course)", 3)],
    );
    assert_eq!(a.participants("C9"), ["alice", "bob", "carol"]);
}

#[test]
fn creating_what_exists_or_naming_an_unknown_course_fails_and_changes_nothing() {
    let a = Academy::fixture();
    let before = a.dump_without_runs();
    for (script, value) in [
        (r#"create_group("sales")"#, "'sales'"),
        (r#"create_course("C1", "Again")"#, "'C1'"),
        (r#"create_course("NEW 1", "Spaces")"#, "'NEW 1'"),
        (r#"create_series("S1", "Again", ["C1"])"#, "'S1'"),
        (
            r#"create_series("S8", "Unknown", ["C1", "NOPE-9"])"#,
            "'NOPE-9'",
        ),
        (
            r#"create_group("fresh"); create_series("S8", "Twice", ["C1", "C1"])"#,
            "'C1'",
        ),
    ] {
        let out = a.eval(&[], script);
        out.code(1);
        assert!(out.stderr.contains(value), "{script}: {}", out.stderr);
        assert_eq!(a.dump_without_runs(), before, "{script}");
        assert_eq!(a.last_run().1, "error");
    }
}

// ---------------------------------------------------------------- invalid values

#[test]
fn invalid_values_are_refused_with_the_value_named_and_nothing_changes() {
    let a = Academy::fixture();
    let before = a.dump_without_runs();
    let cases = [
        (r#"members().set_country("XX")"#, "'XX'"),
        (r#"course("C1").participants().set_country("XX")"#, "'XX'"),
        (r#"members().set_visibility("secret")"#, "'secret'"),
        (
            r#"course("C1").participants().set_visibility("secret")"#,
            "'secret'",
        ),
        (r#"members().assign_group("nosuchgroup")"#, "'nosuchgroup'"),
        (
            r#"course("C1").participants().assign_group("nosuchgroup")"#,
            "'nosuchgroup'",
        ),
        (
            r#"members().remove_from_group("nosuchgroup")"#,
            "'nosuchgroup'",
        ),
        (r#"members().add_role("king")"#, "'king'"),
        (r#"course("C1").participants().add_role("king")"#, "'king'"),
        (r#"members().remove_role("king")"#, "'king'"),
        (r#"members().set_language("xx")"#, "'xx'"),
        (r#"members().assign_course("NOPE-101")"#, "'NOPE-101'"),
        (r#"members().assign_series("nope")"#, "'nope'"),
        ("set_license_seats(2)", "2 seats: 3 are held"),
        (
            r#"members().limit(2).set_team("Z"); members().set_country("XX")"#,
            "'XX'",
        ),
        (
            r#"members().suspend(#{confirm: true, force: true})"#,
            "'force'",
        ),
    ];
    for (script, named) in cases {
        let out = a.eval(&[], script);
        out.code(1);
        assert!(
            out.stderr.contains(named),
            "{script}: the message should name {named}:\n{}",
            out.stderr
        );
        assert_eq!(
            a.dump_without_runs(),
            before,
            "{script} changed the database"
        );
        let (_, outcome, error) = a.last_run();
        assert_eq!(outcome, "error", "{script}");
        assert!(error.unwrap_or_default().contains(named), "{script}");
    }
    assert_eq!(a.pool(), (4, 3));
}

// ---------------------------------------------------------------- runs: one transaction

#[test]
fn a_script_that_acts_then_throws_changes_nothing() {
    let a = Academy::fixture();
    let before = a.dump();
    let script = a.script(
        "boom.rhai",
        r#"
members().set_country("BE");
course("C1").participants().suspend();
members().reset_access_code();
members().assign_series("S1");
create_group("grads");
set_license_seats(40);
members().where("username", "=", "alice").delete(#{confirm: true});
throw "boom";
"#,
    );
    let out = a.run(&["run", script.to_str().unwrap()]);
    out.code(1);
    assert!(out.stderr.contains("boom"), "{}", out.stderr);
    let mut after = a.dump();
    let runs_before = before["runs"].clone();
    let runs_after = after.remove("runs").unwrap();
    let mut expected = before;
    expected.remove("runs");
    assert_eq!(after, expected, "every table but runs is unchanged");
    assert_eq!(runs_after.len(), runs_before.len() + 1);
    let (_, outcome, error) = a.last_run();
    assert_eq!(outcome, "error");
    assert!(error.unwrap_or_default().contains("boom"));
    assert_eq!(
        a.int("SELECT actions + changes FROM runs ORDER BY id DESC LIMIT 1"),
        0
    );
}

#[test]
fn delete_without_confirmation_is_refused_with_the_count_and_changes_nothing() {
    let a = Academy::fixture();
    let before = a.dump_without_runs();
    for (script, count) in [
        (
            r#"members().set_team("Z"); members().delete()"#,
            "6 members",
        ),
        (
            r#"course("C1").participants().delete()"#,
            "3 participants of C1",
        ),
        (
            r#"members().where("username", "=", "dave").delete(#{confirm: false})"#,
            "1 members",
        ),
        // A refusal cannot be caught by the script.
        (
            r#"try { members().delete() } catch (e) { print("caught") } members().set_team("Q")"#,
            "6 members",
        ),
    ] {
        let out = a.eval(&[], script);
        out.code(3);
        assert!(
            out.stderr.contains(&format!("would act on {count}")),
            "{script}: {}",
            out.stderr
        );
        assert!(!out.stdout.contains("caught"));
        assert_eq!(a.dump_without_runs(), before, "{script}");
        let (_, outcome, error) = a.last_run();
        assert_eq!(outcome, "refused", "{script}");
        assert!(error.unwrap_or_default().contains(count));
    }
    assert_eq!(a.int("SELECT count(*) FROM members"), 6);
}

#[test]
fn yes_and_confirm_true_both_allow_delete() {
    let a = Academy::fixture();
    let out = a.run(&[
        "--yes",
        "--json",
        "eval",
        r#"members().where("username", "=", "dave").delete()"#,
    ]);
    out.code(0);
    check(&last(&out), "delete", 1, 1, &[]);
    let r = a.value(r#"members().where("username", "=", "bob").delete(#{confirm: true})"#);
    check(&r, "delete", 1, 1, &[]);
    let script = a.script(
        "clean.rhai",
        r#"members().where("username", "=", "carol").delete(#{confirm: true})"#,
    );
    a.ok(&["run", script.to_str().unwrap()]);
    assert_eq!(
        a.strings("SELECT username FROM members ORDER BY id"),
        ["alice", "anon-1", "anon-2"]
    );
    assert_eq!(a.pool(), (4, 1));
    assert_eq!(
        a.strings("SELECT outcome FROM runs ORDER BY id"),
        ["success", "success", "success"]
    );
    // An empty set needs no confirmation.
    let r = a.value(r#"members().where("username", "=", "nobody").delete()"#);
    check(&r, "delete", 0, 0, &[]);
}

#[test]
fn confirm_above_makes_large_actions_need_confirmation() {
    let a = Academy::fixture();
    let before = a.dump_without_runs();
    let out = a.run(&[
        "--confirm-above",
        "5",
        "--json",
        "eval",
        r#"members().set_team("Z")"#,
    ]);
    out.code(3);
    assert!(
        out.stderr.contains("would act on 6 members"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("confirmation limit of 5"),
        "{}",
        out.stderr
    );
    assert_eq!(a.dump_without_runs(), before);
    assert_eq!(a.last_run().1, "refused");

    let out = a.run(&[
        "--confirm-above",
        "2",
        "eval",
        r#"course("C1").participants().suspend()"#,
    ]);
    out.code(3);
    assert!(
        out.stderr.contains("3 participants of C1"),
        "{}",
        out.stderr
    );
    assert_eq!(a.dump_without_runs(), before);

    let out = a.run(&[
        "--confirm-above",
        "5",
        "--dry-run",
        "--json",
        "eval",
        r#"members().set_team("Z")"#,
    ]);
    out.code(0);
    assert_eq!(last(&out)["needs_confirmation"], true);

    let out = a.run(&[
        "--confirm-above",
        "5",
        "--json",
        "eval",
        r#"members().limit(5).set_team("Z")"#,
    ]);
    out.code(0);
    check(&last(&out), "set_team", 5, 5, &[]);
    let out = a.run(&[
        "--confirm-above",
        "5",
        "--json",
        "eval",
        r#"members().set_team("Y", #{confirm: true})"#,
    ]);
    out.code(0);
    check(&last(&out), "set_team", 6, 6, &[]);
    let out = a.run(&[
        "--confirm-above",
        "5",
        "--yes",
        "--json",
        "eval",
        r#"members().set_team("X")"#,
    ]);
    out.code(0);
    check(&last(&out), "set_team", 6, 6, &[]);
    assert_eq!(a.strings("SELECT DISTINCT team FROM members"), ["X"]);
}

#[test]
fn the_default_confirmation_limit_is_1000_members() {
    let a = Academy::demo(1001);
    let before = a.dump_without_runs();
    let out = a.eval(&[], r#"members().set_language("en")"#);
    out.code(3);
    assert!(
        out.stderr.contains("would act on 1001 members"),
        "{}",
        out.stderr
    );
    assert_eq!(a.dump_without_runs(), before);
    let r = a.value(r#"members().limit(1000).set_visibility("hidden")"#);
    assert_eq!(r["matched"], 1000);
}

// ---------------------------------------------------------------- dry runs

/// One script per action (and a few together), for the dry-run test.
const EVERY_ACTION: &[&str] = &[
    r#"members().assign_group("support")"#,
    r#"course("C1").participants().assign_group("support")"#,
    r#"members().remove_from_group("sales")"#,
    r#"course("C1").participants().remove_from_group("sales")"#,
    r#"members().assign_course("C3")"#,
    r#"course("C1").participants().assign_course("C3")"#,
    r#"members().assign_series("S1")"#,
    r#"course("C2").participants().assign_series("S1")"#,
    "members().suspend()",
    "members().deactivate()",
    r#"course("C1").participants().suspend()"#,
    "members().reactivate()",
    r#"course("C1").participants().reactivate()"#,
    "members().delete()",
    r#"course("C1").participants().delete()"#,
    r#"members().delete(#{confirm: true})"#,
    r#"members().set_country("BE")"#,
    r#"course("C1").participants().set_country("BE")"#,
    r#"members().set_visibility("hidden")"#,
    r#"course("C1").participants().set_visibility("hidden")"#,
    r#"members().set_language("sv")"#,
    r#"course("C1").participants().set_language("sv")"#,
    r#"members().set_team("Lynx")"#,
    r#"course("C1").participants().set_team("Lynx")"#,
    r#"members().add_role("manager")"#,
    r#"course("C1").participants().add_role("manager")"#,
    r#"members().remove_role("learner")"#,
    r#"course("C1").participants().remove_role("learner")"#,
    "members().reset_access_code()",
    r#"course("C2").participants().reset_access_code()"#,
    "members().assign_license(#{partial: true})",
    r#"course("C2").participants().assign_license()"#,
    "members().release_license()",
    r#"course("C1").participants().release_license()"#,
];

#[test]
fn dry_run_of_every_action_leaves_every_table_identical() {
    let a = Academy::fixture();
    // A real run first, so that runs and audit have rows a dry run could touch.
    a.value(r#"members().where("username", "=", "bob").set_team("Foxes")"#);
    let before = a.dump();
    for script in EVERY_ACTION {
        let out = a.eval(&["--dry-run"], script);
        out.code(0);
        let r = last(&out);
        assert_eq!(r["dry_run"], true, "{script}: {r}");
        assert!(
            r["changed"].as_i64().unwrap() > 0,
            "{script} would change something: {r}"
        );
        let unconfirmed = script.ends_with(".delete()");
        assert_eq!(
            r.get("needs_confirmation") == Some(&json!(true)),
            unconfirmed,
            "{script}: {r}"
        );
        assert!(out.stderr.contains("dry run"), "{script}: {}", out.stderr);
        assert_eq!(a.dump(), before, "{script} left a trace");
    }
    for script in [
        r#"create_group("grads")"#,
        r#"create_course("C9", "Nine")"#,
        r#"create_series("S9", "Nine", ["C3", "C1"])"#,
        "set_license_seats(50)",
    ] {
        let out = a.eval(&["--dry-run"], script);
        out.code(0);
        assert!(out.stderr.contains("[dry run]"), "{script}: {}", out.stderr);
        assert_eq!(a.dump(), before, "{script} left a trace");
    }
    // Everything at once, from a file.
    let mut all = EVERY_ACTION.join(";\n");
    all.push_str(
        ";\ncreate_group(\"grads\"); create_course(\"C9\", \"Nine\"); set_license_seats(50);\n",
    );
    let script = a.script("all.rhai", &all);
    let out = a.run(&["--dry-run", "run", script.to_str().unwrap()]);
    out.code(0);
    assert_eq!(a.dump(), before);
}

// ---------------------------------------------------------------- history

#[test]
fn runs_and_audit_list_what_ran_and_what_changed() {
    let a = Academy::fixture();
    a.value(r#"members().where("username", "in", ["alice", "bob"]).set_team("Foxes")"#); // run 1
    a.eval(&[], "members().delete()").code(3); // run 2
    a.eval(&[], r#"members().set_team("Z"); throw "boom""#)
        .code(1); // run 3
    a.value(r#"members().where("username", "=", "alice").set_country("SE")"#); // run 4

    let text = a.ok(&["runs"]).stdout;
    for word in ["success", "refused", "error", "boom"] {
        assert!(text.contains(word), "{word} missing from:\n{text}");
    }
    let runs = serde_json::from_str::<Value>(&a.ok(&["--json", "runs"]).stdout)
        .expect("runs --json is JSON");
    let runs = runs.as_array().expect("an array of runs");
    let summary: Vec<(i64, &str, i64)> = runs
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap(),
                r["outcome"].as_str().unwrap(),
                r["changes"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (4, "success", 1),
            (3, "error", 0),
            (2, "refused", 0),
            (1, "success", 2)
        ]
    );

    let text = a.ok(&["audit", "--run", "1"]).stdout;
    assert!(
        text.contains("alice") && text.contains("bob") && text.contains("set_team"),
        "{text}"
    );
    assert!(!text.contains("set_country"), "{text}");
    let rows =
        serde_json::from_str::<Value>(&a.ok(&["--json", "audit", "--run", "1"]).stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert_eq!(row["run"], 1);
        assert_eq!(row["action"], "set_team");
        assert_eq!(row["after"], json!({"team": "Foxes"}));
    }
    let members: Vec<&str> = rows.iter().map(|r| r["member"].as_str().unwrap()).collect();
    assert!(members.contains(&"alice") && members.contains(&"bob"));
    let none =
        serde_json::from_str::<Value>(&a.ok(&["--json", "audit", "--run", "2"]).stdout).unwrap();
    assert_eq!(none, json!([]), "a refused run changed nothing");

    let rows =
        serde_json::from_str::<Value>(&a.ok(&["--json", "audit", "--member", "alice"]).stdout)
            .unwrap();
    let actions: Vec<(&str, i64)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["action"].as_str().unwrap(), r["run"].as_i64().unwrap()))
        .collect();
    assert_eq!(actions, [("set_country", 4), ("set_team", 1)]);
    let text = a.ok(&["audit", "--member", "alice"]).stdout;
    assert!(
        text.contains("set_country") && !text.contains("bob"),
        "{text}"
    );

    // After a delete the member's rows stay, stripped of their values.
    a.run(&[
        "--yes",
        "eval",
        r#"members().where("username", "=", "alice").delete()"#,
    ]);
    let rows =
        serde_json::from_str::<Value>(&a.ok(&["--json", "audit", "--member", "alice"]).stdout)
            .unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["action"], "delete");
    assert_eq!(rows[0]["run"], 5);
    for row in rows {
        assert_eq!(
            (&row["before"], &row["after"]),
            (&Value::Null, &Value::Null),
            "{row}"
        );
        assert_eq!(row["member"], "alice");
    }
}
