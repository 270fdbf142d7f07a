//! The course-level features, end to end through the binary: the participant
//! filters, invitations and their delivery to a real SMTP server, retakes,
//! results and certificates, deadlines, course-level deactivation, removal
//! and deletion, and the certificate export (ZIP of PDFs and a manifest).
//!
//! Most tests use a small hand-made academy (`Academy::fixture`) so that each
//! count can be stated exactly; the ones that compare with SQL use the demo.
//! Every run uses `--today 2026-11-21`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::types::Value as Sql;
use serde_json::{Value, json};

use super::support::{Env, Out};

const TODAY: &str = "2026-11-21";

/// The JSON a `--json eval` prints: one line per action report, then the value.
trait Reports {
    /// Every JSON document on stdout, in order.
    fn docs(&self) -> Vec<Value>;
    /// The script's value: the last JSON document.
    fn value(&self) -> Value;
}

impl Reports for Out {
    fn docs(&self) -> Vec<Value> {
        serde_json::Deserializer::from_str(&self.stdout)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| {
                panic!(
                    "stdout is not JSON ({e}):\n{}\n{}",
                    self.stdout, self.stderr
                )
            })
    }

    fn value(&self) -> Value {
        self.docs()
            .pop()
            .unwrap_or_else(|| panic!("no JSON on stdout; stderr:\n{}", self.stderr))
    }
}

/// The hand-made academy, on `--today 2026-11-21`.
///
/// | id | username | email           | name        | status    |
/// |  1 | ann      | ann@example.org | Ann Archer  | active    |
/// |  2 | ben      | ben@example.org | Ben Baker   | active    |
/// |  3 | cat      | cat@example.org | Cat Cole    | suspended |
/// |  4 | dan      | (none)          | Dan Dunn    | active    |
/// |  5 | eve      | eve@example.org | Eve Evans   | active    |
/// |  6 | fay      | fay@example.org | Fay Ford    | active    |
///
/// K1 "Safe Lifting": p1 ann undecided, deadline 2026-10-01 (overdue);
/// p2 ben passed (certificate RC-00000001), invited twice; p3 cat failed,
/// deadline 2026-07-01, invited once; p4 dan undecided, deadline 2027-02-01;
/// p5 eve undecided, deadline 2026-11-20, inactive in the course.
/// K2 "Fire Drills": p6 ann passed (RC-00000002), invited once; p7 fay undecided,
/// deadline 2026-12-31. K3 "Empty Course" has no participants.
const FIXTURE: &str = "
UPDATE license_pool SET seats = 10;
INSERT INTO members (id, username, email, first_name, last_name, country, language, status,
                     license, search_key, created_at, updated_at) VALUES
 (1, 'ann', 'ann@example.org', 'Ann', 'Archer', 'NL', 'nl', 'active', 1,
  'ann ann@example.org ann archer', '2025-01-01T09:00:00Z', '2025-01-01T09:00:00Z'),
 (2, 'ben', 'ben@example.org', 'Ben', 'Baker', 'DE', 'de', 'active', 1,
  'ben ben@example.org ben baker', '2025-01-02T09:00:00Z', '2025-01-02T09:00:00Z'),
 (3, 'cat', 'cat@example.org', 'Cat', 'Cole', 'FR', 'fr', 'suspended', 1,
  'cat cat@example.org cat cole', '2025-01-03T09:00:00Z', '2025-01-03T09:00:00Z'),
 (4, 'dan', '', 'Dan', 'Dunn', 'GB', 'en', 'active', 1,
  'dan dan dunn', '2025-01-04T09:00:00Z', '2025-01-04T09:00:00Z'),
 (5, 'eve', 'eve@example.org', 'Eve', 'Evans', 'BE', 'nl', 'active', 1,
  'eve eve@example.org eve evans', '2025-01-05T09:00:00Z', '2025-01-05T09:00:00Z'),
 (6, 'fay', 'fay@example.org', 'Fay', 'Ford', 'SE', 'sv', 'active', 1,
  'fay fay@example.org fay ford', '2025-01-06T09:00:00Z', '2025-01-06T09:00:00Z');
INSERT INTO courses (id, code, title, created_at) VALUES
 (1, 'K1', 'Safe Lifting', '2025-01-01T09:00:00Z'),
 (2, 'K2', 'Fire Drills', '2025-01-01T09:00:00Z'),
 (3, 'K3', 'Empty Course', '2025-01-01T09:00:00Z');
INSERT INTO participations (id, member_id, course_id, status, score, completed_at, deadline, active,
                            invitations, last_invited_at, attempt, enrolled_at) VALUES
 (1, 1, 1, 'undecided', NULL, NULL, '2026-10-01', 1, 0, NULL, 1, '2025-02-01T08:00:00Z'),
 (2, 2, 1, 'passed', 88.0, '2026-09-01T12:00:00Z', NULL, 1, 2, '2025-03-01T08:00:00Z', 1, '2025-02-01T08:00:00Z'),
 (3, 3, 1, 'failed', 40.0, '2026-08-01T12:00:00Z', '2026-07-01', 1, 1, '2025-03-01T08:00:00Z', 1, '2025-02-01T08:00:00Z'),
 (4, 4, 1, 'undecided', NULL, NULL, '2027-02-01', 1, 0, NULL, 1, '2025-02-01T08:00:00Z'),
 (5, 5, 1, 'undecided', NULL, NULL, '2026-11-20', 0, 0, NULL, 1, '2025-02-01T08:00:00Z'),
 (6, 1, 2, 'passed', 75.0, '2026-05-01T12:00:00Z', NULL, 1, 1, '2025-03-01T08:00:00Z', 1, '2025-02-01T08:00:00Z'),
 (7, 6, 2, 'undecided', NULL, NULL, '2026-12-31', 1, 0, NULL, 1, '2025-02-01T08:00:00Z');
INSERT INTO certificates (participation_id, attempt, serial, issued_on) VALUES
 (2, 1, 'RC-00000001', '2026-09-01'), (6, 1, 'RC-00000002', '2026-05-01');
INSERT INTO settings (key, value) VALUES ('certificate_serial', '2');
";

/// A temporary academy database, and the binary run on it from its folder.
struct Academy {
    env: Env,
}

impl Academy {
    fn fixture() -> Academy {
        let academy = Academy { env: Env::new() };
        academy.ok(&["-q", "init"]);
        academy
            .conn()
            .execute_batch(FIXTURE)
            .expect("the fixture loads");
        academy
    }

    fn demo(members: u32, seed: u64) -> Academy {
        let academy = Academy { env: Env::new() };
        academy.ok(&[
            "-q",
            "init",
            "--demo",
            &members.to_string(),
            "--seed",
            &seed.to_string(),
        ]);
        academy
    }

    /// The academy's folder (the binary's current directory).
    fn path(&self) -> PathBuf {
        self.env.path("")
    }

    /// Runs `rollcall --db t.db --today 2026-11-21 ARGS...` in the academy's
    /// folder (`ARGS` may name another `--today`).
    fn run(&self, args: &[&str]) -> Out {
        let mut all: Vec<&str> = Vec::new();
        if !args.contains(&"--today") {
            all.extend(["--today", TODAY]);
        }
        all.extend(args);
        self.env.rollcall(&all)
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

    /// The value of a script that must succeed.
    fn value(&self, script: &str) -> Value {
        self.eval(&[], script).success().value()
    }

    fn conn(&self) -> Connection {
        self.env.conn()
    }

    fn int(&self, sql: &str) -> i64 {
        self.env.int(sql)
    }

    fn strings(&self, sql: &str) -> Vec<String> {
        let conn = self.conn();
        let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Every row of `sql`, every column as a SQL value: for "nothing changed" checks.
    fn rows(&self, sql: &str) -> Vec<Vec<Sql>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let columns = stmt.column_count();
        stmt.query_map([], |r| (0..columns).map(|i| r.get::<_, Sql>(i)).collect())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// The tables a course action may touch, for "the database is unchanged" checks.
    fn snapshot(&self) -> Vec<Vec<Vec<Sql>>> {
        [
            "SELECT * FROM members ORDER BY id",
            "SELECT * FROM participations ORDER BY id",
            "SELECT * FROM attempts ORDER BY id",
            "SELECT * FROM certificates ORDER BY id",
            "SELECT * FROM outbox ORDER BY id",
            "SELECT * FROM settings WHERE key != 'outbox_lock' ORDER BY key",
            "SELECT * FROM audit ORDER BY id",
        ]
        .iter()
        .map(|sql| self.rows(sql))
        .collect()
    }

    /// One column of one participation (member `username` in course `code`), as text.
    fn participation(&self, username: &str, code: &str, column: &str) -> Option<String> {
        self.conn()
            .query_row(
                &format!(
                    "SELECT CAST(p.{column} AS TEXT) FROM participations p
                     JOIN members m ON m.id = p.member_id JOIN courses c ON c.id = p.course_id
                     WHERE m.username = ?1 AND c.code = ?2"
                ),
                [username, code],
                |r| r.get(0),
            )
            .unwrap_or_else(|e| panic!("{column} of {username} in {code}: {e}"))
    }

    /// The newest run: (id, outcome).
    fn last_run(&self) -> (i64, String) {
        self.conn()
            .query_row(
                "SELECT id, outcome FROM runs ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("a run was recorded")
    }

    /// The audit rows of one run: (action, username, target, before, after), sorted.
    fn audit(&self, run: i64) -> Vec<(String, String, String, Value, Value)> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT action, username, target, before, after FROM audit WHERE run_id = ?1")
            .unwrap();
        let mut rows: Vec<_> = stmt
            .query_map([run], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    parse(r.get(3)?),
                    parse(r.get(4)?),
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
        rows
    }

    /// The files in the academy's folder, hidden ones included (the database excepted).
    fn files(&self) -> BTreeSet<String> {
        let db = self
            .env
            .db()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        std::fs::read_dir(self.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with(&db))
            .collect()
    }
}

fn parse(text: Option<String>) -> Value {
    text.map_or(Value::Null, |t| {
        serde_json::from_str(&t).unwrap_or(Value::String(t))
    })
}

fn strs(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| s.to_string()).collect()
}

/// The usernames in a JSON array, sorted.
fn sorted_names(value: &Value) -> Vec<String> {
    let mut names: Vec<String> = value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------
// Participant-set filters
// ---------------------------------------------------------------------------

/// Every participant filter gives, for every course of the demo academy, the
/// participants SQL finds on the participations table.
#[test]
fn participant_filters_agree_with_sql() {
    let academy = Academy::demo(300, 11);
    let script = r#"
        let out = #{};
        for c in courses() {
            let ps = course(c.code).participants();
            out[c.code] = #{
                all: ps.usernames(),
                passed: ps.passed().usernames(),
                failed: ps.failed().usernames(),
                undecided: ps.undecided().usernames(),
                deadline_before: ps.deadline_before("2027-01-01").usernames(),
                overdue: ps.overdue().usernames(),
                invited: ps.invited().usernames(),
                not_invited: ps.not_invited().usernames(),
                inactive: ps.inactive().usernames(),
                course_active: ps.course_active().usernames(),
                undecided_active_before: ps.course_active().undecided().deadline_before("2026-12-31").usernames(),
            };
        }
        out
    "#;
    let got = academy.value(script);
    let conditions: &[(&str, &str)] = &[
        ("all", "1"),
        ("passed", "p.status = 'passed'"),
        ("failed", "p.status = 'failed'"),
        ("undecided", "p.status = 'undecided'"),
        (
            "deadline_before",
            "p.deadline IS NOT NULL AND p.deadline < '2027-01-01'",
        ),
        (
            "overdue",
            "p.deadline IS NOT NULL AND p.deadline < '2026-11-21' AND p.status = 'undecided'",
        ),
        ("invited", "p.invitations > 0"),
        ("not_invited", "p.invitations = 0"),
        ("inactive", "p.active = 0"),
        ("course_active", "p.active = 1"),
        (
            "undecided_active_before",
            "p.active = 1 AND p.status = 'undecided' AND p.deadline < '2026-12-31'",
        ),
    ];
    let codes = academy.strings("SELECT code FROM courses ORDER BY code");
    assert_eq!(codes.len(), 24, "the demo has 24 courses");
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    for code in &codes {
        for (filter, condition) in conditions {
            let expected = academy.strings(&format!(
                "SELECT m.username FROM participations p JOIN members m ON m.id = p.member_id
                 JOIN courses c ON c.id = p.course_id WHERE c.code = '{code}' AND ({condition})
                 ORDER BY 1"
            ));
            let actual = sorted_names(&got[code.as_str()][*filter]);
            assert_eq!(actual, expected, "{code}: {filter}()");
            *totals.entry(filter).or_default() += expected.len();
        }
    }
    // Each filter selects something somewhere, and none selects everything.
    let all = totals["all"];
    for (filter, total) in &totals {
        assert!(
            *total > 0,
            "{filter}() matched no participant in any course"
        );
        if *filter != "all" {
            assert!(*total < all, "{filter}() matched every participant");
        }
    }
    assert_eq!(
        totals["passed"] + totals["failed"] + totals["undecided"],
        all
    );
    assert_eq!(totals["invited"] + totals["not_invited"], all);
    assert_eq!(totals["inactive"] + totals["course_active"], all);
}

/// `overdue()` compares with `--today`, not with the real date.
#[test]
fn overdue_uses_the_run_date() {
    let academy = Academy::fixture();
    assert_eq!(academy.value("today()"), json!(TODAY));
    let at = |today: &str| {
        let out = academy.run(&[
            "--today",
            today,
            "--json",
            "eval",
            r#"course("K1").participants().overdue().usernames()"#,
        ]);
        out.code(0);
        sorted_names(&out.value())
    };
    // ann (2026-10-01) and eve (2026-11-20) are undecided and past their
    // deadline; cat's deadline passed too, but she has a result.
    assert_eq!(at(TODAY), strs(&["ann", "eve"]));
    assert_eq!(
        at("2026-11-20"),
        strs(&["ann"]),
        "a deadline of today is not overdue yet"
    );
    assert_eq!(at("2026-09-30"), Vec::<String>::new());
    assert_eq!(at("2027-06-01"), strs(&["ann", "dan", "eve"]));
    assert_eq!(
        academy.value(r#"course("K2").participants().overdue().count()"#),
        json!(0)
    );
}

// ---------------------------------------------------------------------------
// Invitations
// ---------------------------------------------------------------------------

/// One outbox row per eligible participant, naming the course and (when set)
/// the deadline; the counters move; suspended members, inactive participations
/// and members without an e-mail are skipped with their reasons.
#[test]
fn invite_queues_one_message_per_eligible_participant() {
    let academy = Academy::fixture();
    let out = academy.eval(&[], r#"course("K1").participants().invite()"#);
    out.code(0);
    let report = out.value();
    assert_eq!(report["action"], json!("invite"));
    assert_eq!(report["matched"], json!(5));
    assert_eq!(report["changed"], json!(2), "{report}");
    assert_eq!(report["skipped"], json!(3));
    assert_eq!(
        report["reasons"],
        json!({"member suspended": 1, "inactive in the course": 1, "no email": 1})
    );
    assert_eq!(report["dry_run"], json!(false));

    let (run, outcome) = academy.last_run();
    assert_eq!(outcome, "success");
    let messages = academy.rows(
        "SELECT member_id, recipient, subject, body, kind, run_id, sent_at FROM outbox ORDER BY id",
    );
    assert_eq!(messages.len(), 2, "{messages:?}");
    let text = |v: &Sql| match v {
        Sql::Text(t) => t.clone(),
        other => panic!("not text: {other:?}"),
    };
    // ann: with her deadline.
    assert_eq!(messages[0][0], Sql::Integer(1));
    assert_eq!(text(&messages[0][1]), "ann@example.org");
    assert!(
        text(&messages[0][2]).contains("Safe Lifting"),
        "{:?}",
        messages[0][2]
    );
    let body = text(&messages[0][3]);
    assert!(
        body.contains("Safe Lifting") && body.contains("K1"),
        "{body}"
    );
    assert!(body.contains("2026-10-01"), "the deadline is named: {body}");
    assert!(body.contains("Ann"), "{body}");
    assert_eq!(text(&messages[0][4]), "invitation");
    assert_eq!(messages[0][5], Sql::Integer(run));
    assert_eq!(messages[0][6], Sql::Null);
    // ben: no deadline, so none is named.
    assert_eq!(text(&messages[1][1]), "ben@example.org");
    let body = text(&messages[1][3]);
    assert!(body.contains("Safe Lifting"), "{body}");
    assert!(
        !body.contains("complete it by"),
        "no deadline, none named: {body}"
    );
    assert!(!body.contains("2026-"), "{body}");

    // The counters: ann 0 -> 1, ben 2 -> 3; the skipped ones are untouched.
    let counters = academy.rows(
        "SELECT id, invitations, last_invited_at FROM participations WHERE course_id = 1 ORDER BY id",
    );
    assert_eq!(counters[0][1], Sql::Integer(1));
    assert_eq!(counters[1][1], Sql::Integer(3));
    for row in &counters[..2] {
        let Sql::Text(at) = &row[2] else {
            panic!("last_invited_at not set: {row:?}")
        };
        assert!(
            at.len() >= 19 && at.as_str() > "2025-03-01",
            "a fresh time: {at}"
        );
    }
    assert_eq!(
        counters[2][1..],
        [Sql::Integer(1), Sql::Text("2025-03-01T08:00:00Z".into())]
    );
    assert_eq!(counters[3][1..], [Sql::Integer(0), Sql::Null]);
    assert_eq!(counters[4][1..], [Sql::Integer(0), Sql::Null]);

    let audit = academy.audit(run);
    assert_eq!(
        audit,
        vec![
            (
                "invite".into(),
                "ann".into(),
                "K1".into(),
                json!({"course": "K1", "invitations": 0}),
                json!({"course": "K1", "invitations": 1})
            ),
            (
                "invite".into(),
                "ben".into(),
                "K1".into(),
                json!({"course": "K1", "invitations": 2}),
                json!({"course": "K1", "invitations": 3})
            ),
        ]
    );

    // resend_invitation() is the same action under its own name.
    let out = academy.eval(
        &[],
        r#"course("K1").participants().invited().resend_invitation()"#,
    );
    out.code(0);
    let report = out.value();
    assert_eq!(report["action"], json!("resend_invitation"));
    assert_eq!(
        report["matched"],
        json!(3),
        "ann, ben, cat were invited: {report}"
    );
    assert_eq!(report["changed"], json!(2));
    assert_eq!(report["reasons"], json!({"member suspended": 1}));
    assert_eq!(academy.int("SELECT count(*) FROM outbox"), 4);
    assert_eq!(
        academy.participation("ann", "K1", "invitations").as_deref(),
        Some("2")
    );
    assert_eq!(
        academy.participation("ben", "K1", "invitations").as_deref(),
        Some("4")
    );
    assert_eq!(
        academy.participation("cat", "K1", "invitations").as_deref(),
        Some("1")
    );
    let (run, _) = academy.last_run();
    let actions: Vec<String> = academy.audit(run).into_iter().map(|a| a.0).collect();
    assert_eq!(actions, strs(&["resend_invitation", "resend_invitation"]));
}

/// A dry run of `invite()` reports what it would do and queues nothing.
#[test]
fn a_dry_run_invites_nobody() {
    let academy = Academy::fixture();
    let before = academy.snapshot();
    let runs = academy.int("SELECT count(*) FROM runs");
    let out = academy.eval(&["--dry-run"], r#"course("K1").participants().invite()"#);
    out.code(0);
    let report = out.value();
    assert_eq!(report["changed"], json!(2));
    assert_eq!(report["dry_run"], json!(true));
    assert_eq!(academy.snapshot(), before, "a dry run changes nothing");
    assert_eq!(academy.int("SELECT count(*) FROM runs"), runs);
}

// ---------------------------------------------------------------------------
// Delivery over SMTP
// ---------------------------------------------------------------------------

/// A free TCP port on 127.0.0.1 (nobody listens on it once this returns).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A real SMTP server (aiosmtpd) writing what it receives to a Maildir; killed on drop.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpServer {
    fn start(dir: &Path) -> SmtpServer {
        let check = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .output();
        match check {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "the SMTP tests need the Python package aiosmtpd: install it \
                 (`pip install aiosmtpd` or `apt-get install python3-aiosmtpd`).\n{}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => panic!(
                "the SMTP tests need python3 with aiosmtpd: install them \
                 (`pip install aiosmtpd`): {e}"
            ),
        }
        let port = free_port();
        let maildir = dir.join("maildir");
        let log = File::create(dir.join("smtp.log")).unwrap();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("python3 -m aiosmtpd starts");
        let mut server = SmtpServer {
            child,
            port,
            maildir,
        };
        let started = Instant::now();
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                let log = std::fs::read_to_string(dir.join("smtp.log")).unwrap_or_default();
                panic!("aiosmtpd exited ({status}) before accepting connections:\n{log}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "aiosmtpd did not accept connections on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Every message received so far.
    fn messages(&self) -> Vec<Mail> {
        let mut mails = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) else {
                continue;
            };
            for entry in entries {
                let raw = std::fs::read(entry.unwrap().path()).unwrap();
                mails.push(Mail::parse(&String::from_utf8_lossy(&raw)));
            }
        }
        mails.sort_by_key(|m| m.header("X-Rollcall-Message"));
        mails
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A received message: its headers (unfolded) and its decoded body.
#[derive(Debug)]
struct Mail {
    headers: Vec<(String, String)>,
    body: String,
}

impl Mail {
    fn parse(raw: &str) -> Mail {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_string(), value.trim().to_string()));
            }
        }
        let quoted = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("Content-Transfer-Encoding")
                && v.eq_ignore_ascii_case("quoted-printable")
        });
        let body = if quoted {
            quoted_printable(body)
        } else {
            body.to_string()
        };
        Mail { headers, body }
    }

    fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// Decodes a quoted-printable body (soft line breaks and `=XX` bytes).
fn quoted_printable(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if let Some(hex) = text.get(i + 1..i + 3)
                && let Ok(byte) = u8::from_str_radix(hex, 16)
            {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Queues the fixture's invitations for K1 (ann, ben) and K2 (ann, fay): four
/// messages, ids 1-4 in that order.
fn queue_invitations(academy: &Academy) {
    let value = academy.value(
        r#"[course("K1").participants().invite().changed, course("K2").participants().invite().changed]"#,
    );
    assert_eq!(value, json!([2, 2]));
    assert_eq!(
        academy.strings("SELECT recipient FROM outbox ORDER BY id"),
        strs(&[
            "ann@example.org",
            "ben@example.org",
            "ann@example.org",
            "fay@example.org"
        ])
    );
}

fn outbox_list(academy: &Academy, all: bool) -> Vec<Value> {
    let mut args = vec!["--json", "outbox", "list"];
    if all {
        args.push("--all");
    }
    let out = academy.ok(&args);
    out.value()
        .as_array()
        .expect("an array of messages")
        .clone()
}

/// Delivery to a live server: the messages arrive as queued, are listed as
/// sent, are never sent twice, and those of a member suspended after queueing
/// are held until the member is reactivated.
#[test]
fn outbox_delivers_to_a_real_smtp_server_once() {
    let academy = Academy::fixture();
    let server = SmtpServer::start(&academy.path());
    queue_invitations(&academy);
    // fay is suspended after her invitation was queued: it is held.
    academy.value(r#"members().where("username", "=", "fay").suspend().changed"#);
    assert_eq!(outbox_list(&academy, false).len(), 4, "four messages wait");

    let out = academy.run(&[
        "--json",
        "outbox",
        "send",
        "--smtp",
        &server.address(),
        "--from",
        "academy@example.org",
    ]);
    out.code(0);
    let report = out.value();
    assert_eq!(report["sent"], json!(3), "{report}");
    assert_eq!(report["failed"], json!(0));
    assert_eq!(report["held"], json!(1));

    let mails = server.messages();
    assert_eq!(mails.len(), 3, "{mails:#?}");
    let expected = [
        (
            "ann@example.org",
            "Safe Lifting",
            "K1",
            Some("2026-10-01"),
            "invitation 1",
        ),
        (
            "ben@example.org",
            "Safe Lifting",
            "K1",
            None,
            "invitation 2",
        ),
        ("ann@example.org", "Fire Drills", "K2", None, "invitation 3"),
    ];
    for (mail, (to, title, code, deadline, id)) in mails.iter().zip(expected) {
        assert_eq!(mail.header("X-Rollcall-Message"), id, "{mail:#?}");
        assert!(mail.header("To").contains(to), "{mail:#?}");
        assert!(
            mail.header("From").contains("academy@example.org"),
            "{mail:#?}"
        );
        assert!(mail.header("Subject").contains(title), "{mail:#?}");
        assert!(
            mail.body.contains(&format!("\"{title}\" ({code})")),
            "{}",
            mail.body
        );
        match deadline {
            Some(date) => assert!(mail.body.contains(date), "{}", mail.body),
            None => assert!(!mail.body.contains("complete it by"), "{}", mail.body),
        }
    }
    assert!(
        mails.iter().all(|m| !m.header("To").contains("fay")),
        "fay's message is held"
    );

    // The list shows them sent, fay's still waiting.
    let listed = outbox_list(&academy, true);
    assert_eq!(listed.len(), 4);
    for message in &listed[..3] {
        assert!(message["sent"].is_string(), "{message}");
        assert_eq!(message["tries"], json!(1), "{message}");
        assert_eq!(message["last error"], Value::Null, "{message}");
    }
    assert_eq!(listed[3]["to"], json!("fay@example.org"));
    assert_eq!(listed[3]["sent"], Value::Null);
    assert_eq!(listed[3]["tries"], json!(0));
    let waiting = outbox_list(&academy, false);
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0]["to"], json!("fay@example.org"));

    // A second send sends nothing again.
    let out = academy.run(&["--json", "outbox", "send", "--smtp", &server.address()]);
    out.code(0);
    assert_eq!(out.value()["sent"], json!(0));
    assert_eq!(out.value()["held"], json!(1));
    assert_eq!(server.messages().len(), 3, "nothing is sent twice");

    // Reactivated, fay gets hers; the others still are not sent again.
    academy.value(r#"members().where("username", "=", "fay").reactivate().changed"#);
    let out = academy.run(&["outbox", "send", "--smtp", &server.address()]);
    out.code(0);
    assert!(out.stdout.contains("sent 1, failed 0"), "{}", out.stdout);
    let mails = server.messages();
    assert_eq!(mails.len(), 4);
    let ids: BTreeSet<String> = mails
        .iter()
        .map(|m| m.header("X-Rollcall-Message"))
        .collect();
    assert_eq!(ids.len(), 4, "each message exactly once: {ids:?}");
    assert!(mails[3].header("To").contains("fay@example.org"));
    assert!(mails[3].body.contains("\"Fire Drills\" (K2)") && mails[3].body.contains("2026-12-31"));
    assert!(outbox_list(&academy, false).is_empty());
}

/// A send to a closed port fails (exit 1), counts the try and keeps the
/// error; the next send to a live server delivers the messages.
#[test]
fn failed_deliveries_are_retried_by_the_next_send() {
    let academy = Academy::fixture();
    queue_invitations(&academy);
    let closed = format!("127.0.0.1:{}", free_port());
    let out = academy.run(&[
        "--json", "outbox", "send", "--smtp", &closed, "--limit", "2",
    ]);
    out.code(1);
    let report = out.value();
    assert_eq!(report["sent"], json!(0), "{report}");
    assert_eq!(report["failed"], json!(2));
    assert_eq!(
        report["errors"].as_array().map(Vec::len),
        Some(2),
        "{report}"
    );
    let rows = academy.rows("SELECT id, sent_at, tries, last_error FROM outbox ORDER BY id");
    for row in &rows[..2] {
        assert_eq!(row[1], Sql::Null, "not sent: {row:?}");
        assert_eq!(row[2], Sql::Integer(1), "one try: {row:?}");
        let Sql::Text(error) = &row[3] else {
            panic!("no error kept: {row:?}")
        };
        assert!(!error.is_empty());
    }
    for row in &rows[2..] {
        assert_eq!(
            row[1..],
            [Sql::Null, Sql::Integer(0), Sql::Null],
            "beyond --limit: {row:?}"
        );
    }
    let listed = outbox_list(&academy, false);
    assert_eq!(listed.len(), 4);
    assert!(listed[0]["last error"].is_string(), "{:?}", listed[0]);

    // Again to the closed port: a second try.
    let out = academy.run(&["outbox", "send", "--smtp", &closed, "--limit", "1"]);
    out.code(1);
    assert!(out.stdout.contains("failed 1"), "{}", out.stdout);
    assert_eq!(academy.int("SELECT tries FROM outbox WHERE id = 1"), 2);

    let server = SmtpServer::start(&academy.path());
    let out = academy.run(&["--json", "outbox", "send", "--smtp", &server.address()]);
    out.code(0);
    assert_eq!(out.value()["sent"], json!(4));
    assert_eq!(out.value()["failed"], json!(0));
    let rows =
        academy.rows("SELECT sent_at IS NOT NULL, tries, last_error FROM outbox ORDER BY id");
    assert_eq!(
        rows,
        vec![
            vec![Sql::Integer(1), Sql::Integer(3), Sql::Null],
            vec![Sql::Integer(1), Sql::Integer(2), Sql::Null],
            vec![Sql::Integer(1), Sql::Integer(1), Sql::Null],
            vec![Sql::Integer(1), Sql::Integer(1), Sql::Null],
        ]
    );
    let mails = server.messages();
    let ids: Vec<String> = mails
        .iter()
        .map(|m| m.header("X-Rollcall-Message"))
        .collect();
    assert_eq!(
        ids,
        strs(&[
            "invitation 1",
            "invitation 2",
            "invitation 3",
            "invitation 4"
        ])
    );
    // Nothing is sent twice, also after failures.
    let out = academy.run(&["--json", "outbox", "send", "--smtp", &server.address()]);
    out.code(0);
    assert_eq!(out.value()["sent"], json!(0));
    assert_eq!(server.messages().len(), 4);
}

/// The spec: course-level deactivation "does the same [as suspend] for one
/// participation", and a suspended member "receives no messages". An
/// invitation queued before its participation was deactivated is still
/// delivered (the outbox does not know the participation).
#[test]
fn invitation_of_a_participation_deactivated_after_queueing_is_held() {
    let academy = Academy::fixture();
    queue_invitations(&academy);
    let changed = academy
        .value(r#"course("K2").participants().where("username", "=", "fay").suspend().changed"#);
    assert_eq!(changed, json!(1));
    let out = academy.run(&[
        "--dry-run",
        "--json",
        "outbox",
        "send",
        "--smtp",
        "127.0.0.1:25",
    ]);
    out.code(0);
    let report = out.value();
    assert_eq!(
        report["sent"],
        json!(3),
        "fay's K2 invitation is not delivered: {report}"
    );
}

// ---------------------------------------------------------------------------
// Retakes, results and certificates
// ---------------------------------------------------------------------------

/// `retake()`: the result moves into the attempt history, the status becomes
/// undecided, the attempt grows; an earlier pass's certificate stays but is no
/// longer current and is not exported; undecided participants are skipped.
#[test]
fn retake_keeps_the_earlier_attempt_and_retires_its_certificate() {
    let academy = Academy::fixture();
    let out = academy.eval(&[], r#"course("K1").participants().retake()"#);
    out.code(0);
    let report = out.value();
    assert_eq!(report["action"], json!("retake"));
    assert_eq!(report["matched"], json!(5));
    assert_eq!(report["changed"], json!(2), "{report}");
    assert_eq!(report["reasons"], json!({"no result yet": 3}));

    let participations = academy.rows(
        "SELECT id, status, attempt, score, completed_at FROM participations WHERE course_id = 1 ORDER BY id",
    );
    let undecided = |id: i64, attempt: i64| {
        vec![
            Sql::Integer(id),
            Sql::Text("undecided".into()),
            Sql::Integer(attempt),
            Sql::Null,
            Sql::Null,
        ]
    };
    assert_eq!(
        participations,
        vec![
            undecided(1, 1),
            undecided(2, 2),
            undecided(3, 2),
            undecided(4, 1),
            undecided(5, 1)
        ]
    );
    assert_eq!(
        academy.rows("SELECT participation_id, attempt, status, score, completed_at FROM attempts ORDER BY id"),
        vec![
            vec![
                Sql::Integer(2),
                Sql::Integer(1),
                Sql::Text("passed".into()),
                Sql::Real(88.0),
                Sql::Text("2026-09-01T12:00:00Z".into())
            ],
            vec![
                Sql::Integer(3),
                Sql::Integer(1),
                Sql::Text("failed".into()),
                Sql::Real(40.0),
                Sql::Text("2026-08-01T12:00:00Z".into())
            ],
        ]
    );
    assert_eq!(
        academy.rows("SELECT participation_id, serial, current FROM certificates ORDER BY id"),
        vec![
            vec![
                Sql::Integer(2),
                Sql::Text("RC-00000001".into()),
                Sql::Integer(0)
            ],
            vec![
                Sql::Integer(6),
                Sql::Text("RC-00000002".into()),
                Sql::Integer(1)
            ],
        ],
        "the certificate stays, no longer current"
    );
    let (run, _) = academy.last_run();
    let audit = academy.audit(run);
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0].1, "ben");
    assert_eq!(
        audit[0].3,
        json!({"course": "K1", "status": "passed", "attempt": 1})
    );
    assert_eq!(
        audit[0].4,
        json!({"course": "K1", "status": "undecided", "attempt": 2})
    );
    assert_eq!(audit[1].1, "cat");

    // The retired certificate is not exported.
    let out = academy.eval(
        &[],
        r#"course("K1").participants().export_certificates("k1.zip")"#,
    );
    out.code(0);
    assert_eq!(out.value()["changed"], json!(0));
    assert_eq!(out.value()["reasons"], json!({"no certificate": 5}));
    let zip = read_zip(&academy.path().join("k1.zip"));
    assert_eq!(
        zip.keys().cloned().collect::<Vec<_>>(),
        strs(&["manifest.csv"])
    );
    assert_eq!(
        String::from_utf8_lossy(&zip["manifest.csv"]).trim(),
        "username,name,course,serial,issued"
    );

    // Passing the new attempt issues a new certificate; only that one is exported.
    academy.value(
        r#"course("K1").participants().where("username", "=", "ben").set_status("passed").changed"#,
    );
    assert_eq!(
        academy.rows("SELECT attempt, serial, issued_on, current FROM certificates WHERE participation_id = 2 ORDER BY id"),
        vec![
            vec![Sql::Integer(1), Sql::Text("RC-00000001".into()), Sql::Text("2026-09-01".into()), Sql::Integer(0)],
            vec![Sql::Integer(2), Sql::Text("RC-00000003".into()), Sql::Text(TODAY.into()), Sql::Integer(1)],
        ]
    );
    academy.value(r#"course("K1").participants().export_certificates("k1.zip").changed"#);
    let zip = read_zip(&academy.path().join("k1.zip"));
    assert_eq!(
        zip.keys().cloned().collect::<Vec<_>>(),
        strs(&["K1-ben.pdf", "manifest.csv"])
    );
    let manifest = manifest(&zip);
    assert_eq!(
        manifest,
        vec![strs(&["ben", "Ben Baker", "K1", "RC-00000003", TODAY])]
    );
    let text = pdf_text(&zip["K1-ben.pdf"]);
    assert!(
        text.contains("RC-00000003") && !text.contains("RC-00000001"),
        "{text}"
    );

    // A second retake of the still undecided ones does nothing.
    let out = academy.eval(&[], r#"course("K1").participants().undecided().retake()"#);
    out.code(0);
    assert_eq!(out.value()["changed"], json!(0));
    assert_eq!(out.value()["reasons"], json!({"no result yet": 4}));
}

/// `set_status("passed")` issues certificates with serials unique across the
/// whole table, dated `--today`, for the attempt that passed; leaving `passed`
/// withdraws the current certificate and keeps the earlier ones.
#[test]
fn passing_issues_unique_certificates_and_failing_withdraws_them() {
    let academy = Academy::demo(300, 5);
    let unique = |when: &str| {
        assert_eq!(
            academy.int("SELECT count(*) FROM certificates"),
            academy.int("SELECT count(DISTINCT serial) FROM certificates"),
            "serials are unique ({when})"
        );
    };
    unique("demo");
    let certificates = academy.int("SELECT count(*) FROM certificates");
    let to_pass = academy.int(
        "SELECT count(*) FROM participations p JOIN courses c ON c.id = p.course_id
         WHERE (c.code = 'SEC-201' AND p.status = 'undecided') OR (c.code = 'TOOLS-101' AND p.status = 'failed')",
    );
    assert!(
        to_pass >= 10,
        "the demo has participants to pass ({to_pass})"
    );
    let value = academy.value(
        r#"[course("SEC-201").participants().undecided().set_status("passed"),
            course("TOOLS-101").participants().failed().set_status("passed")]"#,
    );
    let changed = value[0]["changed"].as_i64().unwrap() + value[1]["changed"].as_i64().unwrap();
    assert_eq!(changed, to_pass, "{value}");
    assert_eq!(value[0]["action"], json!("set_status"));
    unique("after passing");
    assert_eq!(
        academy.int("SELECT count(*) FROM certificates"),
        certificates + to_pass
    );
    assert_eq!(
        academy.int(&format!(
            "SELECT count(*) FROM certificates WHERE issued_on = '{TODAY}'"
        )),
        to_pass
    );
    // Every passed participation has exactly one current certificate, of its attempt.
    assert_eq!(
        academy.int(
            "SELECT count(*) FROM participations p WHERE p.status = 'passed' AND 1 != (SELECT count(*)
             FROM certificates x WHERE x.participation_id = p.id AND x.current = 1 AND x.attempt = p.attempt)"
        ),
        0
    );
    assert_eq!(
        academy.int(
            "SELECT count(*) FROM certificates x JOIN participations p ON p.id = x.participation_id
             WHERE x.current = 1 AND p.status != 'passed'"
        ),
        0,
        "no current certificate without a pass"
    );
    let (run, _) = academy.last_run();
    let audit = academy.audit(run);
    assert_eq!(audit.len() as i64, to_pass);
    assert!(
        audit
            .iter()
            .all(|a| a.0 == "set_status" && a.4["status"] == json!("passed"))
    );

    // Pass, retake and pass again in one run: new serials, still unique.
    let value = academy.value(
        r#"let ps = course("SEC-201").participants().passed().limit(4);
           let names = ps.usernames();
           ps.retake();
           course("SEC-201").participants().filter(|m| names.contains(m.username)).set_status("passed");
           names"#,
    );
    assert_eq!(value.as_array().unwrap().len(), 4);
    unique("after a retake and a new pass");
    assert_eq!(
        academy.int("SELECT count(*) FROM certificates"),
        certificates + to_pass + 4
    );
    assert_eq!(
        academy.int("SELECT count(*) FROM certificates WHERE current = 0"),
        academy.int("SELECT count(*) FROM attempts a WHERE a.status = 'passed'"),
        "one retired certificate per earlier pass that had one"
    );

    // Leaving passed withdraws the current certificate only.
    let retired = academy.int("SELECT count(*) FROM certificates WHERE current = 0");
    let current_sec = academy.int(
        "SELECT count(*) FROM certificates x JOIN participations p ON p.id = x.participation_id
         JOIN courses c ON c.id = p.course_id WHERE c.code = 'SEC-201' AND x.current = 1",
    );
    let value = academy.value(r#"course("SEC-201").participants().passed().set_status("failed")"#);
    assert_eq!(value["changed"].as_i64(), Some(current_sec));
    assert_eq!(
        academy.int(
            "SELECT count(*) FROM certificates x JOIN participations p ON p.id = x.participation_id
             JOIN courses c ON c.id = p.course_id WHERE c.code = 'SEC-201' AND x.current = 1"
        ),
        0
    );
    assert_eq!(
        academy.int("SELECT count(*) FROM certificates WHERE current = 0"),
        retired
    );
    // And going back to undecided works the same way.
    let value = academy.value(
        r#"course("TOOLS-101").participants().passed().limit(2).set_status("undecided").changed"#,
    );
    assert_eq!(value, json!(2));

    // Serials stay unique for later passes too (the counter never goes back).
    academy.value(r#"course("SEC-201").participants().failed().set_status("passed").changed"#);
    unique("after passing again");
}

/// The serial counter: the first certificate after the fixture's two is RC-00000003,
/// issued on --today, and a refused status names the value and changes nothing.
#[test]
fn set_status_validates_its_value() {
    let academy = Academy::fixture();
    let before = academy.snapshot();
    for bogus in ["bogus", "pass", ""] {
        let out = academy.eval(
            &[],
            &format!(r#"course("K1").participants().set_status("{bogus}")"#),
        );
        out.code(1);
        assert!(
            out.stderr.contains(&format!("'{bogus}'")),
            "the value is named: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("passed") && out.stderr.contains("undecided"),
            "{}",
            out.stderr
        );
        assert_eq!(academy.last_run().1, "error");
    }
    assert_eq!(academy.snapshot(), before, "nothing changed, no audit row");

    // Case and spaces do not matter for a valid status.
    let out = academy.eval(
        &[],
        r#"course("K1").participants().undecided().set_status(" Passed ")"#,
    );
    out.code(0);
    let report = out.value();
    assert_eq!(report["matched"], json!(3));
    assert_eq!(report["changed"], json!(3));
    assert_eq!(
        academy.strings(&format!(
            "SELECT serial FROM certificates WHERE issued_on = '{TODAY}' ORDER BY serial"
        )),
        strs(&["RC-00000003", "RC-00000004", "RC-00000005"])
    );
    let out = academy.eval(&[], r#"course("K1").participants().set_status("passed")"#);
    assert_eq!(out.value()["reasons"], json!({"already passed": 4}));
    assert_eq!(
        out.value()["changed"],
        json!(1),
        "only cat's failure changes"
    );
}

// ---------------------------------------------------------------------------
// Deadlines
// ---------------------------------------------------------------------------

#[test]
fn set_and_clear_deadlines() {
    let academy = Academy::fixture();
    let out = academy.eval(
        &[],
        r#"course("K1").participants().undecided().set_deadline("2027-01-31")"#,
    );
    out.code(0);
    let report = out.value();
    assert_eq!(report["action"], json!("set_deadline"));
    assert_eq!(report["matched"], json!(3));
    assert_eq!(report["changed"], json!(3));
    assert_eq!(
        academy.rows("SELECT id, deadline FROM participations ORDER BY id"),
        vec![
            vec![Sql::Integer(1), Sql::Text("2027-01-31".into())],
            vec![Sql::Integer(2), Sql::Null],
            vec![Sql::Integer(3), Sql::Text("2026-07-01".into())],
            vec![Sql::Integer(4), Sql::Text("2027-01-31".into())],
            vec![Sql::Integer(5), Sql::Text("2027-01-31".into())],
            vec![Sql::Integer(6), Sql::Null],
            vec![Sql::Integer(7), Sql::Text("2026-12-31".into())],
        ]
    );
    let (run, _) = academy.last_run();
    let audit = academy.audit(run);
    assert_eq!(audit.len(), 3);
    assert_eq!(
        audit[0],
        (
            "set_deadline".to_string(),
            "ann".to_string(),
            "K1".to_string(),
            json!({"course": "K1", "deadline": "2026-10-01"}),
            json!({"course": "K1", "deadline": "2027-01-31"})
        )
    );
    // Nobody is overdue any more on --today; all three will be in March.
    assert_eq!(
        academy.value(r#"course("K1").participants().overdue().count()"#),
        json!(0)
    );
    let out = academy.run(&[
        "--today",
        "2027-03-01",
        "--json",
        "eval",
        r#"course("K1").participants().overdue().usernames()"#,
    ]);
    assert_eq!(sorted_names(&out.value()), strs(&["ann", "dan", "eve"]));
    assert_eq!(
        sorted_names(
            &academy
                .value(r#"course("K1").participants().deadline_before("2027-02-01").usernames()"#)
        ),
        strs(&["ann", "cat", "dan", "eve"])
    );

    // Setting the same date again changes nothing.
    let report =
        academy.value(r#"course("K1").participants().undecided().set_deadline("2027-01-31")"#);
    assert_eq!(report["changed"], json!(0));
    assert_eq!(report["reasons"], json!({"already 2027-01-31": 3}));

    // clear_deadline(): every deadline of K1 goes; those without one are skipped.
    let report = academy.value(r#"course("K1").participants().clear_deadline()"#);
    assert_eq!(report["action"], json!("clear_deadline"));
    assert_eq!(report["changed"], json!(4));
    assert_eq!(report["reasons"], json!({"no deadline": 1}));
    assert_eq!(
        academy.int(
            "SELECT count(*) FROM participations WHERE course_id = 1 AND deadline IS NOT NULL"
        ),
        0
    );
    assert_eq!(
        academy.participation("fay", "K2", "deadline").as_deref(),
        Some("2026-12-31"),
        "other courses keep theirs"
    );
    let (run, _) = academy.last_run();
    let audit = academy.audit(run);
    assert_eq!(audit.len(), 4);
    assert!(
        audit
            .iter()
            .all(|a| a.0 == "clear_deadline" && a.4["deadline"].is_null()),
        "{audit:?}"
    );
}

#[test]
fn invalid_deadlines_are_refused_and_change_nothing() {
    let academy = Academy::fixture();
    let before = academy.snapshot();
    for (script, value) in [
        (
            r#"course("K1").participants().set_deadline("2027-02-30")"#,
            "2027-02-30",
        ),
        (
            r#"course("K1").participants().set_deadline("31/01/2027")"#,
            "31/01/2027",
        ),
        (r#"course("K1").participants().set_deadline("")"#, ""),
        (
            r#"course("K1").participants().set_deadline("2027-1-31x")"#,
            "2027-1-31x",
        ),
        // The refusal comes after an earlier change in the same run: that is rolled back.
        (
            r#"course("K1").participants().clear_deadline(); course("K1").participants().set_deadline("2027-13-01")"#,
            "2027-13-01",
        ),
        (
            r#"course("K1").participants().deadline_before("31/01/2027").count()"#,
            "31/01/2027",
        ),
    ] {
        let out = academy.eval(&[], script);
        out.code(1);
        assert!(
            out.stderr.contains(&format!("\"{value}\"")),
            "{script}: the value is named: {}",
            out.stderr
        );
        assert!(out.stderr.contains("YYYY-MM-DD"), "{}", out.stderr);
        assert_eq!(academy.snapshot(), before, "{script} changed the database");
    }
}

// ---------------------------------------------------------------------------
// Course-level deactivation, removal, deletion
// ---------------------------------------------------------------------------

#[test]
fn course_level_suspend_and_reactivate_touch_only_participations() {
    let academy = Academy::fixture();
    let members = academy.rows("SELECT * FROM members ORDER BY id");
    let k2 = academy.rows("SELECT * FROM participations WHERE course_id = 2 ORDER BY id");
    let out = academy.eval(&[], r#"course("K1").participants().suspend()"#);
    out.code(0);
    let report = out.value();
    assert_eq!(report["action"], json!("suspend"));
    assert_eq!(report["matched"], json!(5));
    assert_eq!(report["changed"], json!(4));
    assert_eq!(
        report["reasons"],
        json!({"already inactive in the course": 1})
    );
    assert_eq!(
        academy.int("SELECT count(*) FROM participations WHERE course_id = 1 AND active = 1"),
        0
    );
    assert_eq!(
        academy.rows("SELECT * FROM members ORDER BY id"),
        members,
        "accounts untouched"
    );
    assert_eq!(
        academy.rows("SELECT * FROM participations WHERE course_id = 2 ORDER BY id"),
        k2
    );
    let (run, _) = academy.last_run();
    let audit = academy.audit(run);
    assert_eq!(
        audit.iter().map(|a| a.1.as_str()).collect::<Vec<_>>(),
        ["ann", "ben", "cat", "dan"]
    );
    assert!(
        audit.iter().all(|a| a.0 == "suspend"
            && a.2 == "K1"
            && a.3["active"] == json!(1)
            && a.4["active"] == json!(0)),
        "{audit:?}"
    );
    assert_eq!(
        academy.value(r#"course("K1").participants().inactive().count()"#),
        json!(5)
    );
    // Inactive participants get no invitation.
    let report = academy.value(r#"course("K1").participants().invite()"#);
    assert_eq!(report["changed"], json!(0));

    let report = academy.value(
        r#"course("K1").participants().where("username", "in", ["ann", "cat"]).reactivate()"#,
    );
    assert_eq!(report["action"], json!("reactivate"));
    assert_eq!(report["changed"], json!(2));
    assert_eq!(
        academy.strings(
            "SELECT m.username FROM participations p JOIN members m ON m.id = p.member_id
             WHERE p.course_id = 1 AND p.active = 1 ORDER BY 1"
        ),
        strs(&["ann", "cat"])
    );
    assert_eq!(
        academy.rows("SELECT * FROM members ORDER BY id"),
        members,
        "cat stays suspended as a member"
    );
    let report = academy.value(r#"course("K1").participants().deactivate()"#);
    assert_eq!(
        report["changed"],
        json!(2),
        "the alias deactivate() works the same"
    );
    assert_eq!(academy.rows("SELECT * FROM members ORDER BY id"), members);
}

#[test]
fn remove_needs_confirmation_then_erases_participation_history_and_certificates() {
    let academy = Academy::fixture();
    // ben (passed, certificate) and cat (failed, with an attempt history after a retake).
    academy.value(r#"course("K1").participants().where("username", "=", "cat").retake().changed"#);
    assert_eq!(
        academy.int("SELECT count(*) FROM attempts WHERE participation_id = 3"),
        1
    );
    academy.value(
        r#"course("K1").participants().where("username", "=", "cat").set_status("failed").changed"#,
    );
    let before = academy.snapshot();
    let script = r#"course("K1").participants().where("status", "!=", "undecided").remove()"#;

    let out = academy.eval(&[], script);
    out.code(3);
    assert!(
        out.stderr.contains("remove()") && out.stderr.contains("--yes"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains('2'),
        "the count is shown: {}",
        out.stderr
    );
    assert_eq!(academy.last_run().1, "refused");
    assert_eq!(academy.snapshot(), before, "nothing changed");

    // A dry run shows what would go, and removes nothing.
    let out = academy.eval(&["--dry-run"], script);
    out.code(0);
    assert_eq!(out.value()["changed"], json!(2));
    assert_eq!(academy.snapshot(), before);

    let out = academy.eval(&["--yes"], script);
    out.code(0);
    let report = out.value();
    assert_eq!(report["action"], json!("remove"));
    assert_eq!(report["matched"], json!(2));
    assert_eq!(report["changed"], json!(2));
    assert_eq!(
        academy.int("SELECT count(*) FROM participations WHERE id IN (2, 3)"),
        0
    );
    assert_eq!(
        academy.int("SELECT count(*) FROM attempts"),
        0,
        "the attempt history goes"
    );
    assert_eq!(
        academy.strings("SELECT serial FROM certificates"),
        strs(&["RC-00000002"]),
        "ben's certificate goes"
    );
    assert_eq!(
        academy.int("SELECT count(*) FROM members"),
        6,
        "the accounts stay"
    );
    assert_eq!(academy.int("SELECT count(*) FROM participations"), 5);
    let (run, _) = academy.last_run();
    let audit = academy.audit(run);
    assert_eq!(
        audit,
        vec![
            (
                "remove".into(),
                "ben".into(),
                "K1".into(),
                json!({"course": "K1", "status": "passed", "attempt": 1}),
                Value::Null
            ),
            (
                "remove".into(),
                "cat".into(),
                "K1".into(),
                json!({"course": "K1", "status": "failed", "attempt": 2}),
                Value::Null
            ),
        ]
    );

    // #{confirm: true} confirms too.
    let out = academy.eval(
        &[],
        r#"course("K2").participants().undecided().remove(#{confirm: true})"#,
    );
    out.code(0);
    assert_eq!(out.value()["changed"], json!(1));
    assert_eq!(academy.participants("K2"), strs(&["ann"]));
}

#[test]
fn delete_on_a_participant_set_deletes_the_member_accounts() {
    let academy = Academy::fixture();
    queue_invitations(&academy);
    let before = academy.snapshot();
    let script = r#"course("K1").participants().failed().delete()"#;
    let out = academy.eval(&[], script);
    out.code(3);
    assert!(
        out.stderr.contains("delete()") && out.stderr.contains("cannot be undone"),
        "{}",
        out.stderr
    );
    assert_eq!(academy.snapshot(), before);

    // ann passed K2; deleting K2's passed participants deletes ann everywhere.
    let out = academy.eval(
        &[],
        r#"course("K2").participants().passed().delete(#{confirm: true})"#,
    );
    out.code(0);
    let report = out.value();
    assert_eq!(report["action"], json!("delete"));
    assert_eq!(report["changed"], json!(1));
    assert_eq!(
        academy.int("SELECT count(*) FROM members WHERE username = 'ann'"),
        0
    );
    assert_eq!(
        academy.int("SELECT count(*) FROM participations WHERE member_id = 1"),
        0,
        "in K1 too"
    );
    assert_eq!(
        academy.int("SELECT count(*) FROM certificates WHERE participation_id = 6"),
        0
    );
    assert_eq!(
        academy.int("SELECT count(*) FROM outbox WHERE recipient = 'ann@example.org'"),
        0
    );
    assert_eq!(
        academy.int("SELECT count(*) FROM outbox"),
        2,
        "the others' messages stay"
    );
    assert_eq!(academy.pool(), (10, 5), "ann's seat is free");
    let (run, _) = academy.last_run();
    let rows = academy.rows(&format!(
        "SELECT action, username, member_id FROM audit WHERE run_id = {run}"
    ));
    assert!(
        rows.iter()
            .any(|r| r[0] == Sql::Text("delete".into()) && r[1] == Sql::Text("ann".into())),
        "the audit keeps that ann was deleted: {rows:?}"
    );

    let out = academy.eval(&["--yes"], script);
    out.code(0);
    assert_eq!(out.value()["changed"], json!(1));
    assert_eq!(
        academy.strings("SELECT username FROM members ORDER BY 1"),
        strs(&["ben", "dan", "eve", "fay"])
    );
    assert_eq!(academy.participants("K1"), strs(&["ben", "dan", "eve"]));
}

impl Academy {
    /// The usernames in a course, sorted.
    fn participants(&self, code: &str) -> Vec<String> {
        self.strings(&format!(
            "SELECT m.username FROM participations p JOIN members m ON m.id = p.member_id
             JOIN courses c ON c.id = p.course_id WHERE c.code = '{code}' ORDER BY 1"
        ))
    }

    /// (seats, used) of the license pool.
    fn pool(&self) -> (i64, i64) {
        self.conn()
            .query_row("SELECT seats, used FROM license_pool", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap()
    }
}

// ---------------------------------------------------------------------------
// Certificate export
// ---------------------------------------------------------------------------

/// Every entry of a ZIP file: name -> bytes.
fn read_zip(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut archive = zip::ZipArchive::new(file).expect("a valid ZIP");
    let mut entries = BTreeMap::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().expect("a readable entry name").to_string();
        assert!(
            entry.enclosed_name().is_some(),
            "an unsafe entry name: {name}"
        );
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        assert!(
            entries.insert(name.clone(), bytes).is_none(),
            "{name} twice"
        );
    }
    entries
}

/// The rows of the ZIP's manifest.csv, its header checked.
fn manifest(zip: &BTreeMap<String, Vec<u8>>) -> Vec<Vec<String>> {
    let bytes = zip.get("manifest.csv").expect("a manifest.csv");
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        strs(&["username", "name", "course", "serial", "issued"])
    );
    reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

/// The text of page 1 of a PDF.
fn pdf_text(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let document = lopdf::Document::load_mem(bytes).expect("lopdf parses the PDF");
    assert_eq!(document.get_pages().len(), 1, "one page");
    document.extract_text(&[1]).expect("the text of page 1")
}

/// Every PDF of the demo's largest course: named `COURSE-username.pdf`, one per
/// current certificate, holding the name and serial; the manifest matches the
/// database; participants without a certificate are skipped.
#[test]
fn export_certificates_of_a_demo_course() {
    let academy = Academy::demo(300, 3);
    let code = academy.strings(
        "SELECT c.code FROM courses c JOIN participations p ON p.course_id = c.id
         GROUP BY c.id ORDER BY sum(p.status = 'passed') DESC, c.code LIMIT 1",
    )[0]
    .clone();
    let expected = academy.rows(&format!(
        "SELECT m.username, coalesce(nullif(trim(m.first_name || ' ' || m.last_name), ''), m.username), c.code, x.serial, x.issued_on
         FROM participations p JOIN members m ON m.id = p.member_id JOIN courses c ON c.id = p.course_id
         JOIN certificates x ON x.participation_id = p.id AND x.current = 1
         WHERE c.code = '{code}' ORDER BY m.username"
    ));
    let participants = academy.int(&format!(
        "SELECT count(*) FROM participations p JOIN courses c ON c.id = p.course_id WHERE c.code = '{code}'"
    ));
    assert!(
        expected.len() >= 10,
        "{code} has certificates: {}",
        expected.len()
    );
    assert!(
        (expected.len() as i64) < participants,
        "and participants without one"
    );

    let out = academy.eval(
        &[],
        &format!(r#"course("{code}").participants().order_by("username").export_certificates("certificates.zip")"#),
    );
    out.code(0);
    let report = out.value();
    assert_eq!(report["action"], json!("export_certificates"));
    assert_eq!(report["matched"].as_i64(), Some(participants));
    assert_eq!(report["changed"].as_u64(), Some(expected.len() as u64));
    assert_eq!(
        report["reasons"],
        json!({"no certificate": participants - expected.len() as i64}),
        "{report}"
    );

    let zip = read_zip(&academy.path().join("certificates.zip"));
    let text = |v: &Sql| match v {
        Sql::Text(t) => t.clone(),
        other => panic!("not text: {other:?}"),
    };
    let mut names: BTreeSet<String> = expected
        .iter()
        .map(|row| format!("{code}-{}.pdf", text(&row[0])))
        .collect();
    names.insert("manifest.csv".into());
    assert_eq!(zip.keys().cloned().collect::<BTreeSet<_>>(), names);

    let mut manifest = manifest(&zip);
    manifest.sort();
    let rows: Vec<Vec<String>> = expected
        .iter()
        .map(|row| row.iter().map(text).collect())
        .collect();
    assert_eq!(manifest, rows);

    for row in &rows {
        let [username, name, course, serial, issued] = &row[..] else {
            unreachable!()
        };
        let text = pdf_text(&zip[&format!("{course}-{username}.pdf")]);
        assert!(
            text.contains(&win_ansi_rendering(name)),
            "{username}: {name} not in:\n{text}"
        );
        assert!(
            text.contains(serial.as_str()),
            "{username}: {serial} not in:\n{text}"
        );
        assert!(
            text.contains(issued.as_str()),
            "{username}: {issued} not in:\n{text}"
        );
        assert!(text.contains(&format!("({course})")), "{text}");
    }
    // No temporary file is left beside it.
    assert_eq!(
        academy.files(),
        BTreeSet::from(["certificates.zip".to_string()])
    );
}

/// How a name reads in the PDF: letters in WinAnsi (Latin-1 and a few more) as
/// written; the documented fallback writes others without their accent.
fn win_ansi_rendering(name: &str) -> String {
    const EXTRA: &str = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ";
    name.chars()
        .map(|c| {
            if (' '..='~').contains(&c) || ('\u{A0}'..='\u{FF}').contains(&c) || EXTRA.contains(c) {
                c.to_string()
            } else {
                deunicode::deunicode_char(c).unwrap_or("?").to_string()
            }
        })
        .collect()
}

/// Accented names render as written, in the PDF and in the manifest.
#[test]
fn accented_names_render_in_certificates() {
    let academy = Academy::fixture();
    academy
        .conn()
        .execute_batch(
            "INSERT INTO members (id, username, email, first_name, last_name, search_key, created_at, updated_at) VALUES
              (7, 'emile', 'emile@example.org', 'Émile', 'Müller', 'emile emile@example.org emile muller',
               '2025-01-07T09:00:00Z', '2025-01-07T09:00:00Z'),
              (8, 'marten', 'marten@example.org', 'Mårten', 'Ångström', 'marten marten@example.org marten angstrom',
               '2025-01-08T09:00:00Z', '2025-01-08T09:00:00Z'),
              (9, 'zoe', '', 'Zoë', 'Łukasiewicz', 'zoe zoe lukasiewicz',
               '2025-01-09T09:00:00Z', '2025-01-09T09:00:00Z');
             INSERT INTO participations (id, member_id, course_id, enrolled_at) VALUES
              (8, 7, 3, '2025-02-01T08:00:00Z'), (9, 8, 3, '2025-02-01T08:00:00Z'),
              (10, 9, 3, '2025-02-01T08:00:00Z');",
        )
        .unwrap();
    let value = academy.value(
        r#"course("K3").participants().set_status("passed");
           course("K3").participants().export_certificates("k3.zip")"#,
    );
    assert_eq!(value["changed"], json!(3), "{value}");
    let zip = read_zip(&academy.path().join("k3.zip"));
    assert_eq!(
        zip.keys().cloned().collect::<Vec<_>>(),
        strs(&[
            "K3-emile.pdf",
            "K3-marten.pdf",
            "K3-zoe.pdf",
            "manifest.csv"
        ])
    );
    let emile = pdf_text(&zip["K3-emile.pdf"]);
    assert!(emile.contains("Émile Müller"), "{emile}");
    assert!(
        emile.contains("Empty Course") && emile.contains("RC-00000003"),
        "{emile}"
    );
    let marten = pdf_text(&zip["K3-marten.pdf"]);
    assert!(marten.contains("Mårten Ångström"), "{marten}");
    assert!(
        marten.contains("RC-00000004") && marten.contains(TODAY),
        "{marten}"
    );
    assert_eq!(
        manifest(&zip),
        vec![
            strs(&["emile", "Émile Müller", "K3", "RC-00000003", TODAY]),
            strs(&["marten", "Mårten Ångström", "K3", "RC-00000004", TODAY]),
            strs(&["zoe", "Zoë Łukasiewicz", "K3", "RC-00000005", TODAY]),
        ]
    );
    // A letter outside WinAnsi is written without its accent, not dropped.
    let zoe = pdf_text(&zip["K3-zoe.pdf"]);
    assert!(zoe.contains("Zoë Lukasiewicz"), "{zoe}");
}

/// A username with path characters gives a single, safe file name in the ZIP;
/// two usernames with the same safe name get two files.
#[test]
fn unsafe_usernames_give_safe_file_names() {
    let academy = Academy::fixture();
    academy
        .conn()
        .execute_batch(
            "INSERT INTO members (id, username, email, first_name, last_name, search_key, created_at, updated_at) VALUES
              (7, 'x/../y z', '', 'Xavier', 'Ypsilon', 'x/../y z xavier ypsilon', '2025-01-07T09:00:00Z', '2025-01-07T09:00:00Z'),
              (8, '../../etc/passwd', '', '', '', '../../etc/passwd', '2025-01-07T09:00:00Z', '2025-01-07T09:00:00Z'),
              (9, 'a\\b:c', '', 'Ann', 'Backslash', 'a\\b:c ann backslash', '2025-01-07T09:00:00Z', '2025-01-07T09:00:00Z'),
              (10, 'x_.._y_z', '', 'Yvonne', 'Zed', 'x_.._y_z yvonne zed', '2025-01-07T09:00:00Z', '2025-01-07T09:00:00Z');
             INSERT INTO participations (id, member_id, course_id, enrolled_at) VALUES
              (8, 7, 3, '2025-02-01T08:00:00Z'), (9, 8, 3, '2025-02-01T08:00:00Z'),
              (10, 9, 3, '2025-02-01T08:00:00Z'), (11, 10, 3, '2025-02-01T08:00:00Z');",
        )
        .unwrap();
    let value = academy.value(
        r#"course("K3").participants().set_status("passed");
           course("K3").participants().export_certificates("k3.zip")"#,
    );
    assert_eq!(value["changed"], json!(4), "{value}");
    assert_eq!(
        academy.files(),
        BTreeSet::from(["k3.zip".to_string()]),
        "nothing written elsewhere"
    );
    let zip = read_zip(&academy.path().join("k3.zip"));
    let pdfs: Vec<&String> = zip
        .keys()
        .filter(|n| n.as_str() != "manifest.csv")
        .collect();
    assert_eq!(pdfs.len(), 4, "one file each, none overwritten: {pdfs:?}");
    for name in &pdfs {
        assert!(name.starts_with("K3-") && name.ends_with(".pdf"), "{name}");
        assert!(
            !name.contains('/') && !name.contains('\\') && !name.contains(':'),
            "{name}"
        );
        assert!(!name.contains(' '), "{name}");
        let components: Vec<Component> = Path::new(name.as_str()).components().collect();
        assert!(
            matches!(components[..], [Component::Normal(_)]),
            "one plain file name, no `..` component: {name}"
        );
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{name}"
        );
    }
    // The manifest keeps the real usernames; the PDFs the real names.
    let mut usernames: Vec<String> = manifest(&zip).into_iter().map(|r| r[0].clone()).collect();
    usernames.sort();
    assert_eq!(
        usernames,
        strs(&["../../etc/passwd", "a\\b:c", "x/../y z", "x_.._y_z"])
    );
    for (person, file) in [("Xavier Ypsilon", "x/../y z"), ("Yvonne Zed", "x_.._y_z")] {
        let holding: Vec<&&String> = pdfs
            .iter()
            .filter(|n| pdf_text(&zip[n.as_str()]).contains(person))
            .collect();
        assert_eq!(
            holding.len(),
            1,
            "{file}: one certificate of {person}: {holding:?}"
        );
        assert!(holding[0].starts_with("K3-x_.._y_z"), "{file}: {holding:?}");
    }
    // Without a name, the certificate carries the username.
    let passwd = pdfs
        .iter()
        .find(|n| n.contains("passwd"))
        .expect("the passwd file");
    assert!(pdf_text(&zip[passwd.as_str()]).contains("../../etc/passwd"));
}

/// A run that exports and then fails leaves neither the ZIP nor its
/// temporary file, nor does a refused run; a dry run writes nothing.
#[test]
fn failed_refused_and_dry_runs_write_no_zip() {
    let academy = Academy::fixture();
    let files = academy.files();
    assert!(files.is_empty(), "{files:?}");
    let before = academy.snapshot();

    let out = academy.eval(
        &[],
        r#"course("K1").participants().export_certificates("out.zip"); throw "stop here""#,
    );
    out.code(1);
    assert!(out.stderr.contains("stop here"), "{}", out.stderr);
    assert_eq!(
        out.docs()[0]["changed"],
        json!(1),
        "the export itself ran: {}",
        out.stdout
    );
    assert_eq!(academy.files(), files, "no ZIP and no temporary file");

    // Refused by a later destructive action without confirmation.
    let out = academy.eval(
        &[],
        r#"course("K1").participants().export_certificates("out.zip"); course("K1").participants().remove()"#,
    );
    out.code(3);
    assert_eq!(academy.files(), files);

    let out = academy.eval(
        &["--dry-run"],
        r#"course("K2").participants().export_certificates("out.zip")"#,
    );
    out.code(0);
    let report = out.value();
    assert_eq!(report["dry_run"], json!(true));
    assert_eq!(report["changed"], json!(1));
    assert_eq!(academy.files(), files, "a dry run writes nothing");

    // An existing file is not replaced by a failed run either.
    std::fs::write(academy.path().join("out.zip"), b"old").unwrap();
    let out = academy.eval(
        &[],
        r#"course("K2").participants().export_certificates("out.zip"); throw "no""#,
    );
    out.code(1);
    assert_eq!(
        std::fs::read(academy.path().join("out.zip")).unwrap(),
        b"old"
    );
    assert_eq!(academy.files(), BTreeSet::from(["out.zip".to_string()]));
    assert_eq!(academy.snapshot(), before);

    // ... and is replaced by a successful one.
    academy.value(r#"course("K2").participants().export_certificates("out.zip").changed"#);
    let zip = read_zip(&academy.path().join("out.zip"));
    assert_eq!(
        zip.keys().cloned().collect::<Vec<_>>(),
        strs(&["K2-ann.pdf", "manifest.csv"])
    );
    assert_eq!(academy.files(), BTreeSet::from(["out.zip".to_string()]));
}

#[test]
fn export_into_a_missing_folder_is_a_clear_error() {
    let academy = Academy::fixture();
    let before = academy.snapshot();
    let out = academy.eval(
        &[],
        r#"course("K1").participants().set_deadline("2027-01-31");
           course("K1").participants().export_certificates("no-such-folder/out.zip")"#,
    );
    out.code(1);
    assert!(
        out.stderr.contains("no-such-folder"),
        "the folder is named: {}",
        out.stderr
    );
    assert!(out.stderr.contains("does not exist"), "{}", out.stderr);
    assert!(!academy.path().join("no-such-folder").exists());
    assert!(academy.files().is_empty(), "{:?}", academy.files());
    assert_eq!(
        academy.snapshot(),
        before,
        "the earlier change is rolled back"
    );

    // A folder as the target is refused too.
    std::fs::create_dir(academy.path().join("exports")).unwrap();
    let out = academy.eval(
        &[],
        r#"course("K1").participants().export_certificates("exports")"#,
    );
    out.code(1);
    assert!(out.stderr.contains("is a folder"), "{}", out.stderr);
    // Into an existing sub-folder it works.
    academy.value(r#"course("K1").participants().export_certificates("exports/k1.zip").changed"#);
    let zip = read_zip(&academy.path().join("exports/k1.zip"));
    assert!(zip.contains_key("K1-ben.pdf"));
    let leftovers: Vec<_> = std::fs::read_dir(academy.path().join("exports"))
        .unwrap()
        .collect();
    assert_eq!(leftovers.len(), 1, "only the ZIP");
}

/// A script that exports the same file twice (for instance after a change)
/// should end with the last export, like any file written twice.
#[test]
fn exporting_twice_to_the_same_file_keeps_the_last() {
    let academy = Academy::fixture();
    let out = academy.eval(
        &[],
        r#"course("K1").participants().export_certificates("k1.zip");
           course("K1").participants().where("username", "=", "ann").set_status("passed");
           course("K1").participants().export_certificates("k1.zip")"#,
    );
    out.code(0);
    let zip = read_zip(&academy.path().join("k1.zip"));
    assert_eq!(
        zip.keys().cloned().collect::<Vec<_>>(),
        strs(&["K1-ann.pdf", "K1-ben.pdf", "manifest.csv"])
    );
    assert_eq!(academy.files(), BTreeSet::from(["k1.zip".to_string()]));
}

/// A script may catch a failed export and go on; the run then commits as usual.
#[test]
fn a_caught_export_error_does_not_fail_the_run() {
    let academy = Academy::fixture();
    let out = academy.eval(
        &[],
        r#"let caught = false;
           try { members().export_certificates("x.zip"); } catch { caught = true; }
           course("K1").participants().undecided().set_deadline("2027-01-31");
           caught"#,
    );
    out.code(0);
    assert_eq!(
        out.value(),
        json!(true),
        "the member set is refused: {}",
        out.stdout
    );
    assert_eq!(
        academy.participation("ann", "K1", "deadline").as_deref(),
        Some("2027-01-31"),
        "the rest of the run is kept"
    );
    assert!(academy.files().is_empty(), "{:?}", academy.files());
}
