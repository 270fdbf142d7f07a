//! Engine-level tests: scripts evaluated by `build_engine` on in-memory
//! databases, each result compared with a SQL query written by hand against
//! the same database.

use std::rc::Rc;

use rhai::{Array, Dynamic, Engine, Map};

use super::error::ScriptError;
use super::*;
use crate::store::fold;

/// The course whose participant set every filter is also tried on.
const COURSE: &str = "GDPR-201";
/// Members in the demo academy.
const DEMO_MEMBERS: i64 = 2000;

/// A demo academy and an engine over it, with `print` captured.
struct Academy {
    ctx: Rc<Ctx>,
    engine: Engine,
}

fn academy(conn: Connection) -> Academy {
    let ctx = Ctx::new(
        conn,
        RunOptions {
            today: jiff::civil::date(2026, 11, 21),
            ..RunOptions::default()
        },
    );
    *ctx.output.borrow_mut() = Some(String::new());
    let engine = build_engine(
        ctx.clone(),
        &Limits::default(),
        Interrupt::default(),
        Deadline::default(),
        ModulePaths::default(),
    );
    Academy { ctx, engine }
}

fn demo() -> Academy {
    let conn = crate::store::open_in_memory().unwrap();
    crate::store::demo::generate(&conn, DEMO_MEMBERS, 7).unwrap();
    academy(conn)
}

fn strings(items: Array) -> Vec<String> {
    items
        .into_iter()
        .map(|v| v.into_string().expect("an array of strings"))
        .collect()
}

impl Academy {
    fn eval<T: Clone + 'static>(&self, script: &str) -> T {
        self.engine
            .eval::<T>(script)
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// The message of the error a script ends with.
    fn error(&self, script: &str) -> String {
        match self.engine.eval::<Dynamic>(script) {
            Ok(value) => panic!("{script} should fail but gave {value}"),
            Err(e) => ScriptError::from_rhai(&e).message,
        }
    }

    fn usernames(&self, script: &str) -> Vec<String> {
        strings(self.eval::<Array>(script))
    }

    fn count(&self, script: &str) -> i64 {
        self.eval::<i64>(script)
    }

    /// What `print` and `log` wrote since the last call.
    fn output(&self) -> String {
        self.ctx
            .output
            .borrow_mut()
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    fn sql_strings(&self, sql: &str) -> Vec<String> {
        let mut stmt = self.ctx.conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn sql_int(&self, sql: &str) -> i64 {
        self.ctx.conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// Usernames of the members matching `cond` (SQL over `m`), by id.
    fn sql_members(&self, cond: &str) -> Vec<String> {
        self.sql_strings(&format!(
            "SELECT m.username FROM members m WHERE {cond} ORDER BY m.id"
        ))
    }

    /// Usernames of the participants of COURSE matching `cond` (SQL over `m`
    /// and `p`), in participation order.
    fn sql_participants(&self, cond: &str) -> Vec<String> {
        self.sql_strings(&format!(
            "SELECT m.username FROM participations p JOIN members m ON m.id = p.member_id
             WHERE p.course_id = (SELECT id FROM courses WHERE code = '{COURSE}') AND ({cond})
             ORDER BY p.id"
        ))
    }

    /// `chain` on `members()` and on the participants of COURSE selects exactly
    /// the rows `cond` selects, in order; `usernames()` and `count()` agree.
    /// Returns how many members and participants that is.
    fn same_as_sql(&self, chain: &str, cond: &str) -> (usize, usize) {
        let members = self.sql_members(cond);
        let script = format!("members(){chain}");
        assert_eq!(
            self.usernames(&format!("{script}.usernames()")),
            members,
            "{script}"
        );
        assert_eq!(
            self.count(&format!("{script}.count()")),
            members.len() as i64,
            "{script}"
        );
        let participants = self.sql_participants(cond);
        let script = format!("course(\"{COURSE}\").participants(){chain}");
        assert_eq!(
            self.usernames(&format!("{script}.usernames()")),
            participants,
            "{script}"
        );
        assert_eq!(
            self.count(&format!("{script}.count()")),
            participants.len() as i64,
            "{script}"
        );
        (members.len(), participants.len())
    }

    /// As `same_as_sql`, and both sets are non-empty proper subsets, so the
    /// comparison says something.
    fn narrows_like_sql(&self, chain: &str, cond: &str) {
        let (members, participants) = self.same_as_sql(chain, cond);
        let all_participants = self.sql_participants("1").len();
        assert!(
            members > 0 && (members as i64) < DEMO_MEMBERS,
            "{chain}: {members} members"
        );
        assert!(
            participants > 0 && participants < all_participants,
            "{chain}: {participants} of {all_participants} participants"
        );
    }

    /// A participant-only filter: right on the participants of COURSE, and a
    /// clear error on `members()`.
    fn participants_only(&self, chain: &str, cond: &str) -> usize {
        let expected = self.sql_participants(cond);
        let script = format!("course(\"{COURSE}\").participants(){chain}");
        assert_eq!(
            self.usernames(&format!("{script}.usernames()")),
            expected,
            "{script}"
        );
        assert_eq!(
            self.count(&format!("{script}.count()")),
            expected.len() as i64,
            "{script}"
        );
        let message = self.error(&format!("members(){chain}.count()"));
        let name = chain
            .trim_start_matches('.')
            .split('(')
            .next()
            .unwrap()
            .to_string();
        assert!(
            message.contains(&format!("{name}()")) && message.contains("participant sets"),
            "{chain}: {message}"
        );
        assert!(message.contains("participants()"), "{message}");
        expected.len()
    }

    /// Adds a member by hand, with its search key.
    fn add_member(&self, username: &str, email: &str, first: &str, last: &str) {
        self.ctx
            .conn
            .execute(
                "INSERT INTO members (username, email, first_name, last_name, search_key,
                     created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                rusqlite::params![
                    username,
                    email,
                    first,
                    last,
                    crate::store::search_key(username, email, first, last)
                ],
            )
            .unwrap();
    }
}

fn map_str(map: &Map, key: &str) -> String {
    map.get(key)
        .unwrap_or_else(|| panic!("no {key} in {map:?}"))
        .clone()
        .into_string()
        .unwrap_or_else(|t| panic!("{key} is a {t}"))
}

// ---------------------------------------------------------------------------
// Filters on member sets and participant sets alike
// ---------------------------------------------------------------------------

#[test]
fn search_ignores_case_and_accents_on_both_sets() {
    let a = demo();
    for text in [
        "muller",
        "MÜLLER",
        "garcia",
        "o'brien",
        "example.se",
        "jorg",
    ] {
        let needle = fold(text);
        let rows: Vec<(String, String, String, String, bool)> = {
            let mut stmt = a
                .ctx
                .conn
                .prepare(&format!(
                    "SELECT m.username, m.email, m.first_name, m.last_name,
                        m.id IN (SELECT member_id FROM participations p JOIN courses c
                                 ON c.id = p.course_id WHERE c.code = '{COURSE}')
                     FROM members m ORDER BY m.id"
                ))
                .unwrap();
            stmt.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
        };
        let expected: Vec<String> = rows
            .iter()
            .filter(|(u, e, f, l, _)| [u, e, f, l].iter().any(|x| fold(x).contains(&needle)))
            .map(|r| r.0.clone())
            .collect();
        assert!(!expected.is_empty(), "{text}");
        assert!(expected.len() < DEMO_MEMBERS as usize, "{text}");
        let script = format!("members().search({text:?})");
        assert_eq!(
            a.usernames(&format!("{script}.usernames()")),
            expected,
            "{text}"
        );
        assert_eq!(a.count(&format!("{script}.count()")), expected.len() as i64);
        // In the course: the same people, those enrolled.
        let mut enrolled: Vec<String> = rows
            .iter()
            .filter(|(u, e, f, l, inside)| {
                *inside && [u, e, f, l].iter().any(|x| fold(x).contains(&needle))
            })
            .map(|r| r.0.clone())
            .collect();
        let mut got = a.usernames(&format!(
            "course(\"{COURSE}\").participants().search({text:?}).usernames()"
        ));
        enrolled.sort();
        got.sort();
        assert_eq!(got, enrolled, "{text}");
    }
}

#[test]
fn search_takes_quotes_wildcards_and_backslashes_literally() {
    let a = demo();
    a.add_member("pct", "pct@odd.test", "Hundred", "100% Club");
    a.add_member("under_score", "us@odd.test", "Una", "Score");
    a.add_member("back\\slash", "bs@odd.test", "Quinn", "\"Q\" Quote");
    a.add_member("apostrophe", "ap@odd.test", "Dónal", "O'Neill");
    a.add_member("umlaut", "um@odd.test", "Jürgen", "Weißmüller");
    let cases: &[(&str, &[&str])] = &[
        (r#""100%""#, &["pct"]),
        (r#""%""#, &["pct"]),
        (r#""_""#, &["under_score"]),
        (r#""\\""#, &["back\\slash"]),
        (r#""\"q\"""#, &["back\\slash"]),
        (r#""o'neill""#, &["apostrophe"]),
        (r#""O'NEILL""#, &["apostrophe"]),
        (r#""  weissmuller  ""#, &["umlaut"]),
        (r#""Weißmüller""#, &["umlaut"]),
        (r#""%%""#, &[]),
        (r#""' OR 1=1 --""#, &[]),
        (r#""\" OR \"\"=\"""#, &[]),
    ];
    for (text, expected) in cases {
        assert_eq!(
            a.usernames(&format!("members().search({text}).usernames()")),
            *expected,
            "search({text})"
        );
    }
    assert_eq!(a.count("members().count()"), DEMO_MEMBERS + 5);
}

#[test]
fn in_group_and_not_in_group() {
    let a = demo();
    let in_sales = "m.id IN (SELECT gm.member_id FROM group_members gm
                     JOIN groups g ON g.id = gm.group_id WHERE g.name = 'sales')";
    a.narrows_like_sql(r#".in_group("sales")"#, in_sales);
    a.narrows_like_sql(
        r#".not_in_group("sales")"#,
        "NOT EXISTS (SELECT 1 FROM group_members gm JOIN groups g ON g.id = gm.group_id
                     WHERE g.name = 'sales' AND gm.member_id = m.id)",
    );
    let both = a.count(r#"members().in_group("sales").count()"#)
        + a.count(r#"members().not_in_group("sales").count()"#);
    assert_eq!(both, DEMO_MEMBERS);
    let (members, _) = a.same_as_sql(
        r#".in_group("sales").in_group("mentors")"#,
        &format!(
            "{in_sales} AND m.id IN (SELECT gm.member_id FROM group_members gm
             JOIN groups g ON g.id = gm.group_id WHERE g.name = 'mentors')"
        ),
    );
    assert!(members > 0);
}

#[test]
fn with_role_reads_each_role_bit() {
    let a = demo();
    a.same_as_sql(r#".with_role("learner")"#, "m.roles % 2 = 1");
    a.narrows_like_sql(r#".with_role("author")"#, "(m.roles / 2) % 2 = 1");
    a.same_as_sql(r#".with_role("Manager")"#, "(m.roles / 4) % 2 = 1");
    let (admins, _) = a.same_as_sql(r#".with_role("admin")"#, "m.roles >= 8");
    assert!(admins > 0);
    assert!(
        a.error(r#"members().with_role("king").count()"#)
            .contains("'king'")
    );
}

#[test]
fn country_and_language_accept_any_case() {
    let a = demo();
    a.narrows_like_sql(r#".country("de")"#, "m.country = 'DE'");
    a.narrows_like_sql(r#".country(" NL ")"#, "m.country = 'NL'");
    a.narrows_like_sql(r#".language("FR")"#, "m.language = 'fr'");
    // Belgians speak French or Dutch.
    a.narrows_like_sql(
        r#".country("BE").language("nl")"#,
        "m.country = 'BE' AND m.language = 'nl'",
    );
}

#[test]
fn team_is_an_exact_match() {
    let a = demo();
    a.narrows_like_sql(r#".team("Otters")"#, "m.team = 'Otters'");
    assert_eq!(a.count(r#"members().team("otters").count()"#), 0);
    assert_eq!(a.count(r#"members().team("Nobody").count()"#), 0);
}

#[test]
fn anonymous_active_and_suspended() {
    let a = demo();
    a.narrows_like_sql(".anonymous()", "m.anonymous = 1");
    assert!(
        a.usernames("members().anonymous().usernames()")
            .iter()
            .all(|u| u.starts_with("anon-"))
    );
    a.narrows_like_sql(".active()", "m.status = 'active'");
    a.narrows_like_sql(".suspended()", "m.status = 'suspended'");
    a.narrows_like_sql(".deactivated()", "m.status = 'suspended'");
    assert_eq!(
        a.count("members().active().count()") + a.count("members().suspended().count()"),
        DEMO_MEMBERS
    );
}

#[test]
fn licensed_and_unlicensed() {
    let a = demo();
    a.narrows_like_sql(".licensed()", "m.license = 1");
    a.narrows_like_sql(".unlicensed()", "m.license = 0");
    assert_eq!(
        a.count("members().licensed().count()"),
        a.sql_int("SELECT used FROM license_pool")
    );
}

#[test]
fn created_before_and_after_are_whole_days() {
    let a = demo();
    a.narrows_like_sql(
        r#".created_before("2025-01-01")"#,
        "date(m.created_at) < '2025-01-01'",
    );
    a.narrows_like_sql(
        r#".created_after("2025-06-30")"#,
        "date(m.created_at) > '2025-06-30'",
    );
    a.narrows_like_sql(
        r#".created_after("2024-01-01").created_before("2024-03-01")"#,
        "date(m.created_at) BETWEEN '2024-01-02' AND '2024-02-29'",
    );
    // A member created on the day itself is neither before nor after it.
    let day: String = a
        .sql_strings("SELECT substr(created_at, 1, 10) FROM members WHERE id = 1")
        .remove(0);
    let on_day = a.sql_int(&format!(
        "SELECT count(*) FROM members WHERE date(created_at) = '{day}'"
    ));
    assert!(on_day > 0);
    assert_eq!(
        a.count(&format!(
            r#"members().created_before("{day}").count() + members().created_after("{day}").count()"#
        )),
        DEMO_MEMBERS - on_day
    );
}

#[test]
fn enrolled_in_and_not_enrolled_in() {
    let a = demo();
    let enrolled = "EXISTS (SELECT 1 FROM participations p2 JOIN courses c2 ON c2.id = p2.course_id
                    WHERE c2.code = 'SQL-101' AND p2.member_id = m.id)";
    a.narrows_like_sql(r#".enrolled_in("SQL-101")"#, enrolled);
    a.narrows_like_sql(r#".not_enrolled_in("SQL-101")"#, &format!("NOT {enrolled}"));
    // Every participant of a course is enrolled in it.
    assert_eq!(
        a.count(&format!(
            r#"course("{COURSE}").participants().not_enrolled_in("{COURSE}").count()"#
        )),
        0
    );
    assert!(
        a.error(r#"members().enrolled_in("NOPE-101").count()"#)
            .contains("NOPE-101")
    );
}

#[test]
fn where_equal_and_not_equal() {
    let a = demo();
    a.narrows_like_sql(r#".where("country", "=", "nl")"#, "m.country = 'NL'");
    a.narrows_like_sql(r#".where("country", "==", "NL")"#, "m.country = 'NL'");
    a.narrows_like_sql(r#".where("language", "!=", "en")"#, "m.language != 'en'");
    a.narrows_like_sql(
        r#".where("visibility", "=", "Hidden")"#,
        "m.visibility = 'hidden'",
    );
    a.narrows_like_sql(r#".where("anonymous", "=", true)"#, "m.anonymous = 1");
    a.narrows_like_sql(r#".where("license", "!=", 1)"#, "m.license = 0");
    a.narrows_like_sql(r#".where("email", "=", ())"#, "m.email = ''");
    a.narrows_like_sql(r#".where("team", "!=", ())"#, "m.team != ''");
}

#[test]
fn where_ordering_operators() {
    let a = demo();
    a.narrows_like_sql(
        r#".where("created_at", "<", "2024-01-01")"#,
        "m.created_at < '2024-01-01'",
    );
    a.narrows_like_sql(r#".where("id", "<=", 700)"#, "m.id <= 700");
    a.narrows_like_sql(r#".where("id", ">", 1300)"#, "m.id > 1300");
    a.narrows_like_sql(
        r#".where("created_at", ">=", "2026-01-01")"#,
        "m.created_at >= '2026-01-01'",
    );
    a.narrows_like_sql(r#".where("username", ">", "m")"#, "m.username > 'm'");
}

#[test]
fn where_like_and_in() {
    let a = demo();
    a.narrows_like_sql(
        r#".where("email", "like", "%@example.nl")"#,
        "m.email LIKE '%@example.nl'",
    );
    a.narrows_like_sql(
        r#".where("username", "LIKE", "ANON-%")"#,
        "m.username LIKE 'anon-%'",
    );
    a.narrows_like_sql(
        r#".where("country", "in", ["nl", "BE"])"#,
        "m.country IN ('NL', 'BE')",
    );
    a.narrows_like_sql(
        r#".where("id", "in", [1, 5, 9, 1999])"#,
        "m.id IN (1, 5, 9, 1999)",
    );
    assert_eq!(
        a.count(r#"members().where("country", "in", []).count()"#),
        0
    );
}

#[test]
fn where_on_participation_fields() {
    let a = demo();
    let c = format!(r#"course("{COURSE}").participants()"#);
    let cases = [
        (r#".where("status", "=", "passed")"#, "p.status = 'passed'"),
        (
            r#".where("status", "in", ["failed", "Undecided"])"#,
            "p.status IN ('failed', 'undecided')",
        ),
        (
            r#".where("member_status", "=", "suspended")"#,
            "m.status = 'suspended'",
        ),
        (r#".where("score", ">=", 90)"#, "p.score >= 90"),
        (r#".where("score", "<", 50.5)"#, "p.score < 50.5"),
        (r#".where("deadline", "=", ())"#, "p.deadline IS NULL"),
        (
            r#".where("deadline", "<=", "2026-12-31")"#,
            "p.deadline <= '2026-12-31'",
        ),
        (r#".where("invitations", ">", 1)"#, "p.invitations > 1"),
        (r#".where("attempt", "=", 2)"#, "p.attempt = 2"),
        (r#".where("active", "=", false)"#, "p.active = 0"),
        (
            r#".where("completed_at", "!=", ())"#,
            "p.completed_at IS NOT NULL",
        ),
    ];
    for (chain, cond) in cases {
        let expected = a.sql_participants(cond);
        assert!(!expected.is_empty(), "{chain}");
        assert!(expected.len() < a.sql_participants("1").len(), "{chain}");
        assert_eq!(
            a.usernames(&format!("{c}{chain}.usernames()")),
            expected,
            "{chain}"
        );
        assert_eq!(
            a.count(&format!("{c}{chain}.count()")),
            expected.len() as i64
        );
    }
    // `status` of a member set is the account's status.
    a.narrows_like_sql(
        r#".where("member_status", "=", "active")"#,
        "m.status = 'active'",
    );
    assert_eq!(
        a.count(r#"members().where("status", "=", "suspended").count()"#),
        a.sql_int("SELECT count(*) FROM members WHERE status = 'suspended'")
    );
    // Participation fields are unknown in a member set.
    let message = a.error(r#"members().where("deadline", "=", ()).count()"#);
    assert!(message.contains("unknown field 'deadline'"), "{message}");
}

#[test]
fn filter_runs_a_closure_on_each_row() {
    let a = demo();
    a.narrows_like_sql(
        r#".filter(|m| m.country == "NL" && m.email.ends_with(".nl"))"#,
        "m.country = 'NL' AND m.email LIKE '%.nl'",
    );
    // Filters before and after a closure still apply.
    a.narrows_like_sql(
        r#".active().filter(|m| m.team == "Otters").licensed()"#,
        "m.status = 'active' AND m.team = 'Otters' AND m.license = 1",
    );
    // In a participant set the closure sees the participation.
    let c = format!(r#"course("{COURSE}").participants()"#);
    let expected = a.sql_participants("p.status = 'passed' AND p.score >= 90");
    assert!(!expected.is_empty());
    assert_eq!(
        a.usernames(&format!(
            r#"{c}.filter(|m| m.status == "passed" && m.score >= 90.0).usernames()"#
        )),
        expected
    );
    let message = a.error("members().filter(|m| 1).count()");
    assert!(message.contains("true or false"), "{message}");
}

#[test]
fn limit_reads_left_to_right() {
    let a = demo();
    assert_eq!(
        a.usernames("members().limit(50).usernames()"),
        a.sql_strings("SELECT username FROM members ORDER BY id LIMIT 50")
    );
    assert_eq!(a.count("members().limit(50).count()"), 50);
    let c = format!(r#"course("{COURSE}").participants()"#);
    assert_eq!(
        a.usernames(&format!("{c}.limit(20).usernames()")),
        a.sql_participants("1")[..20]
    );
    assert_eq!(a.count(&format!("{c}.limit(20).count()")), 20);
    // The anonymous among the first 50 members, versus the first 50 anonymous.
    let among =
        a.sql_members("m.anonymous = 1 AND m.id IN (SELECT id FROM members ORDER BY id LIMIT 50)");
    let first =
        a.sql_strings("SELECT username FROM members WHERE anonymous = 1 ORDER BY id LIMIT 50");
    assert!(!among.is_empty() && among.len() < 50);
    assert_eq!(first.len(), 50);
    assert_eq!(
        a.usernames("members().limit(50).anonymous().usernames()"),
        among
    );
    assert_eq!(
        a.count("members().limit(50).anonymous().count()"),
        among.len() as i64
    );
    assert_eq!(
        a.usernames("members().anonymous().limit(50).usernames()"),
        first
    );
    assert_eq!(a.count("members().anonymous().limit(50).count()"), 50);
    // The same in a participant set: the first 10 participations, then passed.
    let first_ten =
        "p.id IN (SELECT p3.id FROM participations p3 JOIN courses c3 ON c3.id = p3.course_id
                     WHERE c3.code = 'GDPR-201' ORDER BY p3.id LIMIT 10)";
    let among = a.sql_participants(&format!("p.status = 'passed' AND {first_ten}"));
    assert!(!among.is_empty() && among.len() < 10);
    assert_eq!(
        a.usernames(&format!("{c}.limit(10).passed().usernames()")),
        among
    );
    let passed = a.sql_participants("p.status = 'passed'");
    assert_eq!(
        a.usernames(&format!("{c}.passed().limit(10).usernames()")),
        passed[..10]
    );
    assert_eq!(a.count("members().limit(0).count()"), 0);
    assert_eq!(a.count("members().limit(100000).count()"), DEMO_MEMBERS);
}

#[test]
fn limit_and_closures_read_left_to_right() {
    let a = demo();
    let nl_first_five =
        a.sql_strings("SELECT username FROM members WHERE country = 'NL' ORDER BY id LIMIT 5");
    assert_eq!(
        a.usernames(r#"members().filter(|m| m.country == "NL").limit(5).usernames()"#),
        nl_first_five
    );
    assert_eq!(
        a.count(r#"members().filter(|m| m.country == "NL").limit(5).count()"#),
        5
    );
    let nl_among_first_five =
        a.sql_strings("SELECT username FROM (SELECT * FROM members ORDER BY id LIMIT 5) WHERE country = 'NL' ORDER BY id");
    assert_eq!(
        a.usernames(r#"members().limit(5).filter(|m| m.country == "NL").usernames()"#),
        nl_among_first_five
    );
    // A filter may not follow filter(...).limit(...): it would silently change meaning.
    let message = a.error(r#"members().filter(|m| true).limit(5).anonymous().count()"#);
    assert!(message.contains("move it before the limit"), "{message}");
}

#[test]
fn a_full_limit_stops_calling_the_closure() {
    let a = demo();
    // The closure counts its calls; three rows are all the limit lets through.
    let calls = a
        .count("let calls = 0; members().filter(|m| { calls += 1; true }).limit(3).count(); calls");
    assert_eq!(calls, 3);
}

#[test]
fn limit_refuses_a_negative_count() {
    let a = demo();
    let message = a.error("members().limit(-1).count()");
    assert!(
        message.contains("-1") && message.contains("limit()"),
        "{message}"
    );
    let message = a.error(&format!(
        r#"course("{COURSE}").participants().limit(-5).count()"#
    ));
    assert!(message.contains("-5"), "{message}");
}

#[test]
fn order_by_sorts_and_inherits_through_limits() {
    let a = demo();
    assert_eq!(
        a.usernames(r#"members().order_by("country, -created_at").limit(10).usernames()"#),
        a.sql_strings(
            "SELECT username FROM members ORDER BY country, created_at DESC, id LIMIT 10"
        )
    );
    assert_eq!(
        a.usernames(r#"members().order_by("created_at desc").limit(7).usernames()"#),
        a.sql_strings("SELECT username FROM members ORDER BY created_at DESC, id LIMIT 7")
    );
    assert_eq!(
        a.usernames(r#"members().order_by("username ASC").limit(7).usernames()"#),
        a.sql_strings("SELECT username FROM members ORDER BY username, id LIMIT 7")
    );
    // The newest 100, of them the suspended ones, still newest first.
    assert_eq!(
        a.usernames(r#"members().order_by("-created_at").limit(100).suspended().usernames()"#),
        a.sql_strings(
            "SELECT username FROM (SELECT * FROM members ORDER BY created_at DESC, id LIMIT 100)
             WHERE status = 'suspended' ORDER BY created_at DESC, id"
        )
    );
    // The whole set, sorted (no limit).
    assert_eq!(
        a.usernames(r#"members().country("SE").order_by("-username").usernames()"#),
        a.sql_strings(
            "SELECT username FROM members WHERE country = 'SE' ORDER BY username DESC, id"
        )
    );
    let c = format!(r#"course("{COURSE}").participants()"#);
    assert_eq!(
        a.usernames(&format!(
            r#"{c}.order_by("-score, username").limit(5).usernames()"#
        )),
        a.sql_strings(&format!(
            "SELECT m.username FROM participations p JOIN members m ON m.id = p.member_id
             JOIN courses c ON c.id = p.course_id WHERE c.code = '{COURSE}'
             ORDER BY p.score DESC, m.username, p.id LIMIT 5"
        ))
    );
    let message = a.error(r#"members().order_by("nosuch").count()"#);
    assert!(message.contains("unknown field 'nosuch'"), "{message}");
}

// ---------------------------------------------------------------------------
// Participant-only filters
// ---------------------------------------------------------------------------

#[test]
fn passed_failed_undecided() {
    let a = demo();
    let passed = a.participants_only(".passed()", "p.status = 'passed'");
    let failed = a.participants_only(".failed()", "p.status = 'failed'");
    let undecided = a.participants_only(".undecided()", "p.status = 'undecided'");
    assert!(passed > 0 && failed > 0 && undecided > 0);
    assert_eq!(passed + failed + undecided, a.sql_participants("1").len());
}

#[test]
fn deadline_before_and_overdue() {
    let a = demo();
    let before = a.participants_only(
        r#".deadline_before("2027-01-01")"#,
        "p.deadline IS NOT NULL AND p.deadline < '2027-01-01'",
    );
    assert!(before > 0);
    // Overdue: deadline before the run's today (2026-11-21) and undecided.
    let overdue = a.participants_only(
        ".overdue()",
        "p.deadline < '2026-11-21' AND p.status = 'undecided'",
    );
    assert!(overdue > 0);
    assert_eq!(a.eval::<String>("today()"), "2026-11-21");
    let message = a.error(&format!(
        r#"course("{COURSE}").participants().deadline_before("next week").count()"#
    ));
    assert!(
        message.contains("next week") && message.contains("YYYY-MM-DD"),
        "{message}"
    );
}

#[test]
fn invited_and_not_invited() {
    let a = demo();
    let invited = a.participants_only(".invited()", "p.invitations >= 1");
    let not_invited = a.participants_only(".not_invited()", "p.invitations = 0");
    assert!(invited > 0 && not_invited > 0);
    assert_eq!(invited + not_invited, a.sql_participants("1").len());
}

#[test]
fn inactive_and_course_active() {
    let a = demo();
    let inactive = a.participants_only(".inactive()", "p.active = 0");
    let active = a.participants_only(".course_active()", "p.active = 1");
    assert!(inactive > 0 && active > 0);
    assert_eq!(inactive + active, a.sql_participants("1").len());
}

#[test]
fn participant_filters_combine_with_member_filters() {
    let a = demo();
    let c = format!(r#"course("{COURSE}").participants()"#);
    let expected = a.sql_participants(
        "p.status = 'undecided' AND p.active = 1 AND m.status = 'active' AND p.invitations = 0",
    );
    assert!(!expected.is_empty());
    assert_eq!(
        a.usernames(&format!(
            "{c}.undecided().course_active().active().not_invited().usernames()"
        )),
        expected
    );
}

// ---------------------------------------------------------------------------
// Terminal functions
// ---------------------------------------------------------------------------

#[test]
fn count_counts_members_and_participants() {
    let a = demo();
    assert_eq!(a.count("members().count()"), DEMO_MEMBERS);
    for code in ["WELCOME-101", "GDPR-201", "LANG-FR-101"] {
        assert_eq!(
            a.count(&format!(r#"course("{code}").participants().count()"#)),
            a.sql_int(&format!(
                "SELECT count(*) FROM participations p JOIN courses c ON c.id = p.course_id
                 WHERE c.code = '{code}'"
            ))
        );
    }
    // A set is lazy: building it and filtering again leaves it as it was.
    assert_eq!(
        a.count("let all = members(); let nl = all.country(\"NL\"); all.count() - nl.count()"),
        DEMO_MEMBERS - a.sql_int("SELECT count(*) FROM members WHERE country = 'NL'")
    );
}

#[test]
fn list_gives_a_map_per_member_with_every_field() {
    let a = demo();
    let rows = a.eval::<Array>(r#"members().country("NL").limit(3).list()"#);
    assert_eq!(rows.len(), 3);
    let mut stmt = a
        .ctx
        .conn
        .prepare(
            "SELECT id, username, email, first_name, last_name, country, language, visibility,
                    team, roles, anonymous, license, status, created_at, updated_at
             FROM members WHERE country = 'NL' ORDER BY id LIMIT 3",
        )
        .unwrap();
    let expected: Vec<Vec<rusqlite::types::Value>> = stmt
        .query_map([], |r| (0..15).map(|i| r.get(i)).collect())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (row, want) in rows.iter().zip(&expected) {
        let map = row.clone().cast::<Map>();
        let mut keys: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "anonymous",
                "country",
                "created_at",
                "email",
                "first_name",
                "id",
                "language",
                "last_name",
                "license",
                "name",
                "roles",
                "status",
                "team",
                "updated_at",
                "username",
                "visibility"
            ]
        );
        let text = |i: usize| match &want[i] {
            rusqlite::types::Value::Text(t) => t.clone(),
            other => panic!("{other:?}"),
        };
        let int = |i: usize| match &want[i] {
            rusqlite::types::Value::Integer(n) => *n,
            other => panic!("{other:?}"),
        };
        assert_eq!(map["id"].as_int().unwrap(), int(0));
        for (i, key) in [
            (1, "username"),
            (2, "email"),
            (3, "first_name"),
            (4, "last_name"),
            (5, "country"),
            (6, "language"),
            (7, "visibility"),
            (8, "team"),
            (12, "status"),
            (13, "created_at"),
            (14, "updated_at"),
        ] {
            assert_eq!(map_str(&map, key), text(i), "{key}");
        }
        assert_eq!(map_str(&map, "country"), "NL");
        assert_eq!(map["anonymous"].as_bool().unwrap(), int(10) == 1);
        assert_eq!(map["license"].as_bool().unwrap(), int(11) == 1);
        let roles = strings(map["roles"].clone().cast::<Array>());
        assert_eq!(roles, crate::store::codes::role_names(int(9)));
        let name = map_str(&map, "name");
        if text(3).is_empty() {
            assert_eq!(name, text(1));
        } else {
            assert_eq!(name, format!("{} {}", text(3), text(4)));
        }
    }
}

#[test]
fn list_of_participants_adds_the_participation() {
    let a = demo();
    let rows = a.eval::<Array>(&format!(
        r#"course("{COURSE}").participants().passed().limit(2).list()"#
    ));
    assert_eq!(rows.len(), 2);
    let expected = a.sql_strings(&format!(
        "SELECT m.username || '|' || p.status || '|' || m.status || '|' || p.score || '|' ||
                p.enrolled_at || '|' || p.attempt || '|' || p.invitations
         FROM participations p JOIN members m ON m.id = p.member_id JOIN courses c ON c.id = p.course_id
         WHERE c.code = '{COURSE}' AND p.status = 'passed' ORDER BY p.id LIMIT 2"
    ));
    for (row, want) in rows.iter().zip(&expected) {
        let map = row.clone().cast::<Map>();
        assert_eq!(map.len(), 26, "{map:?}");
        assert_eq!(map_str(&map, "course"), COURSE);
        let got = format!(
            "{}|{}|{}|{:.1}|{}|{}|{}",
            map_str(&map, "username"),
            map_str(&map, "status"),
            map_str(&map, "member_status"),
            map["score"].as_float().unwrap(),
            map_str(&map, "enrolled_at"),
            map["attempt"].as_int().unwrap(),
            map["invitations"].as_int().unwrap(),
        );
        assert_eq!(&got, want);
        assert!(map["active"].is_bool());
        assert!(map.contains_key("deadline") && map.contains_key("completed_at"));
    }
}

#[test]
fn first_gives_a_member_with_its_properties() {
    let a = demo();
    let got = strings(a.eval::<Array>(
        r#"let m = members().order_by("-created_at").first();
           [m.username, m.email, m.country, m.language, m.visibility, m.team, m.name,
            m.created_at, m.status, m.member_status, `${m.suspended}`, `${m.license}`,
            `${m.anonymous}`, m.roles.reduce(|acc, r| acc + r + ";", ""),
            m.groups.reduce(|acc, g| acc + g + ";", ""), `${m.id}`]"#,
    ));
    let want = a.sql_strings(
        "SELECT m.username || '|' || m.email || '|' || m.country || '|' || m.language || '|' ||
                m.visibility || '|' || m.team || '|' ||
                CASE WHEN m.first_name = '' THEN m.username ELSE m.first_name || ' ' || m.last_name END
                || '|' || m.created_at || '|' || m.status || '|' || m.status || '|' ||
                CASE m.status WHEN 'suspended' THEN 'true' ELSE 'false' END || '|' ||
                CASE m.license WHEN 1 THEN 'true' ELSE 'false' END || '|' ||
                CASE m.anonymous WHEN 1 THEN 'true' ELSE 'false' END || '|' ||
                CASE WHEN m.roles & 1 THEN 'learner;' ELSE '' END ||
                CASE WHEN m.roles & 2 THEN 'author;' ELSE '' END ||
                CASE WHEN m.roles & 4 THEN 'manager;' ELSE '' END ||
                CASE WHEN m.roles & 8 THEN 'admin;' ELSE '' END || '|' ||
                coalesce((SELECT group_concat(name, ';') || ';' FROM (SELECT g.name FROM group_members gm
                    JOIN groups g ON g.id = gm.group_id WHERE gm.member_id = m.id ORDER BY g.name)), '')
                || '|' || m.id
         FROM members m ORDER BY m.created_at DESC, m.id LIMIT 1",
    );
    assert_eq!(got.join("|"), want[0]);
    // Outside a participant set the participation fields are empty.
    assert!(a.eval::<bool>(r#"let m = members().first(); m.deadline == () && m.course == ()"#));
}

#[test]
fn first_of_a_participant_set_has_the_participation() {
    let a = demo();
    let got = a.eval::<String>(&format!(
        r#"let m = course("{COURSE}").participants().failed().first();
           `${{m.username}}|${{m.course}}|${{m.status}}|${{m.member_status}}|${{m.attempt}}|${{m.invitations}}`"#
    ));
    let want = a.sql_strings(&format!(
        "SELECT m.username || '|{COURSE}|' || p.status || '|' || m.status || '|' || p.attempt
                || '|' || p.invitations
         FROM participations p JOIN members m ON m.id = p.member_id JOIN courses c ON c.id = p.course_id
         WHERE c.code = '{COURSE}' AND p.status = 'failed' ORDER BY p.id LIMIT 1"
    ));
    assert_eq!(got, want[0]);
}

#[test]
fn first_of_an_empty_set_is_unit() {
    let a = demo();
    assert!(a.eval::<bool>(r#"members().search("nobody-has-this-name").first() == ()"#));
    assert!(a.eval::<bool>(r#"type_of(members().limit(0).first()) == "()""#));
    assert!(a.eval::<bool>(&format!(
        r#"course("{COURSE}").participants().filter(|m| false).first() == ()"#
    )));
}

#[test]
fn usernames_are_in_chain_order() {
    let a = demo();
    assert_eq!(
        a.usernames("members().usernames()"),
        a.sql_strings("SELECT username FROM members ORDER BY id")
    );
    assert_eq!(
        a.usernames(&format!(r#"course("{COURSE}").participants().usernames()"#)),
        a.sql_participants("1")
    );
}

#[test]
fn each_calls_the_closure_per_row_in_order() {
    let a = demo();
    let expected = a.sql_members("m.country = 'SE'");
    assert!(!expected.is_empty());
    assert_eq!(
        a.usernames(
            r#"let names = []; members().country("SE").each(|m| names.push(m.username)); names"#
        ),
        expected
    );
    a.output();
    a.eval::<()>(
        r#"members().country("SE").limit(3).each(|m| print(m.username + " " + m.country))"#,
    );
    let printed = a.output();
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(
        lines,
        expected[..3]
            .iter()
            .map(|u| format!("{u} SE"))
            .collect::<Vec<_>>()
    );
    let message = a.error(r#"members().limit(1).each(|m| throw "stop here")"#);
    assert!(message.contains("stop here"), "{message}");
}

#[test]
fn show_prints_a_table_and_the_count() {
    let a = demo();
    a.output();
    a.eval::<()>(r#"members().country("SE").limit(4).show()"#);
    let printed = a.output();
    let shown =
        a.sql_strings("SELECT username FROM members WHERE country = 'SE' ORDER BY id LIMIT 4");
    for username in &shown {
        assert!(printed.contains(username.as_str()), "{printed}");
    }
    assert!(
        printed.contains("username") && printed.contains("email"),
        "{printed}"
    );
    assert!(printed.trim_end().ends_with("4 members"), "{printed}");

    a.eval::<()>("members().show()");
    let printed = a.output();
    assert!(
        printed.contains(&format!("50 of {DEMO_MEMBERS} members shown")),
        "{printed}"
    );

    a.eval::<()>("members().show(2)");
    assert!(
        a.output()
            .contains(&format!("2 of {DEMO_MEMBERS} members shown"))
    );

    a.eval::<()>(&format!(
        r#"course("{COURSE}").participants().passed().limit(3).show()"#
    ));
    let printed = a.output();
    assert!(
        printed.contains("deadline") && printed.contains("passed"),
        "{printed}"
    );
    assert!(
        printed
            .trim_end()
            .ends_with(&format!("3 participants of {COURSE}")),
        "{printed}"
    );

    a.eval::<()>(r#"members().search("nobody-has-this-name").show()"#);
    assert_eq!(a.output().trim(), "(no members)");
}

#[test]
fn a_set_prints_as_its_size() {
    let a = demo();
    assert_eq!(
        a.eval::<String>(r#"members().anonymous().to_string()"#),
        format!(
            "{} members",
            a.sql_int("SELECT count(*) FROM members WHERE anonymous = 1")
        )
    );
}

// ---------------------------------------------------------------------------
// Errors a person can act on
// ---------------------------------------------------------------------------

#[test]
fn an_unknown_group_is_named_with_a_suggestion() {
    let a = demo();
    let message = a.error(r#"members().in_group("slaes").count()"#);
    assert!(message.contains("'slaes'"), "{message}");
    assert!(message.contains("did you mean 'sales'"), "{message}");
    assert!(message.contains("groups()"), "{message}");
    let message = a.error(r#"members().not_in_group("Engineerng").count()"#);
    assert!(message.contains("did you mean 'engineering'"), "{message}");
    let message = a.error(r#"group("zzzzzz").members().count()"#);
    assert!(
        message.contains("'zzzzzz'") && !message.contains("did you mean"),
        "{message}"
    );
    let message = a.error(r#"course("gdpr-201").participants().count()"#);
    assert!(message.contains("did you mean 'GDPR-201'"), "{message}");
    let message = a.error(r#"series("onbording").members().count()"#);
    assert!(message.contains("did you mean 'onboarding'"), "{message}");
}

#[test]
fn an_unknown_group_in_an_empty_academy_says_so() {
    let a = academy(crate::store::open_in_memory().unwrap());
    let message = a.error(r#"members().in_group("sales").count()"#);
    assert!(message.contains("no group yet"), "{message}");
    assert_eq!(a.count("members().count()"), 0);
}

#[test]
fn unknown_codes_are_named() {
    let a = demo();
    let message = a.error(r#"members().country("XX").count()"#);
    assert!(message.contains("'XX'"), "{message}");
    let message = a.error(r#"members().language("klingon").count()"#);
    assert!(message.contains("'klingon'"), "{message}");
    let message = a.error(r#"members().where("country", "=", "XX").count()"#);
    assert!(message.contains("'XX'"), "{message}");
    let message = a.error(r#"members().where("country", "in", ["NL", "XX"]).count()"#);
    assert!(message.contains("'XX'"), "{message}");
}

#[test]
fn where_lists_the_valid_fields_for_an_unknown_one() {
    let a = demo();
    let message = a.error(r#"members().where("nosuch", "=", 1).count()"#);
    assert!(message.contains("'nosuch'"), "{message}");
    for field in ["username", "email", "country", "created_at", "status"] {
        assert!(message.contains(field), "{field}: {message}");
    }
    assert!(!message.contains("deadline"), "{message}");
    let message = a.error(&format!(
        r#"course("{COURSE}").participants().where("nosuch", "=", 1).count()"#
    ));
    assert!(
        message.contains("deadline") && message.contains("member_status"),
        "{message}"
    );
    // Columns that exist but are not fields stay out of reach.
    for hidden in ["search_key", "access_code_hash", "m.id", "1=1; --"] {
        let message = a.error(&format!(r#"members().where("{hidden}", "=", "x").count()"#));
        assert!(message.contains("unknown field"), "{hidden}: {message}");
    }
}

#[test]
fn where_refuses_bad_values_and_operators() {
    let a = demo();
    let message = a.error(r#"members().where("visibility", "=", "secret").count()"#);
    assert!(
        message.contains("'secret'") && message.contains("public"),
        "{message}"
    );
    let message = a.error(r#"members().where("visibility", "!=", "secret").count()"#);
    assert!(message.contains("'secret'"), "{message}");
    let message = a.error(r#"members().where("status", "=", "passed").count()"#);
    assert!(message.contains("'passed'"), "{message}");
    let message = a.error(&format!(
        r#"course("{COURSE}").participants().where("status", "=", "done").count()"#
    ));
    assert!(message.contains("'done'"), "{message}");
    let message = a.error(r#"members().where("id", "~", 1).count()"#);
    assert!(
        message.contains("'~'") && message.contains("like"),
        "{message}"
    );
    let message = a.error(r#"members().where("country", "in", "NL").count()"#);
    assert!(message.contains("array"), "{message}");
    let message = a.error(r#"members().where("id", "=", "seven").count()"#);
    assert!(message.contains("number"), "{message}");
    let message = a.error(r#"members().where("anonymous", "=", "yes").count()"#);
    assert!(message.contains("true or false"), "{message}");
    let message = a.error(r#"members().where("created_at", "<", ()).count()"#);
    assert!(message.contains("()"), "{message}");
}

#[test]
fn bad_dates_are_refused() {
    let a = demo();
    for (call, value) in [
        ("created_before", "2026-13-01"),
        ("created_before", "31/12/2026"),
        ("created_after", "yesterday"),
        ("created_after", "2026-02-30"),
        ("created_after", ""),
    ] {
        let message = a.error(&format!(r#"members().{call}("{value}").count()"#));
        assert!(
            message.contains(call) && message.contains("YYYY-MM-DD") && message.contains(value),
            "{call}({value}): {message}"
        );
    }
}

#[test]
fn member_finds_one_member_or_fails() {
    let a = demo();
    let username = a
        .sql_strings("SELECT username FROM members WHERE id = 42")
        .remove(0);
    let email = a
        .sql_strings("SELECT email FROM members WHERE id = 42")
        .remove(0);
    assert_eq!(
        a.eval::<String>(&format!(r#"member("{username}").email"#)),
        email
    );
    assert_eq!(a.eval::<i64>(&format!(r#"member("{username}").id"#)), 42);
    let message = a.error(r#"member("no-such-user").email"#);
    assert!(message.contains("'no-such-user'"), "{message}");
}

// ---------------------------------------------------------------------------
// Groups, series, courses and the academy
// ---------------------------------------------------------------------------

#[test]
fn group_members_are_the_group() {
    let a = demo();
    let expected = a.sql_members(
        "m.id IN (SELECT member_id FROM group_members WHERE group_id = (SELECT id FROM groups WHERE name = 'sales'))",
    );
    assert!(!expected.is_empty());
    assert_eq!(
        a.usernames(r#"group("sales").members().usernames()"#),
        expected
    );
    assert_eq!(
        a.count(r#"group("sales").members().count()"#),
        expected.len() as i64
    );
    // A group's set filters like any other.
    assert_eq!(
        a.count(r#"group("sales").members().anonymous().count()"#),
        a.sql_int(
            "SELECT count(*) FROM members m JOIN group_members gm ON gm.member_id = m.id
             JOIN groups g ON g.id = gm.group_id WHERE g.name = 'sales' AND m.anonymous = 1"
        )
    );
    assert_eq!(a.eval::<String>(r#"group("sales").name"#), "sales");
    let message = a.error(r#"group("sales").participants()"#);
    assert!(message.contains("group(\"sales\").members()"), "{message}");
}

#[test]
fn series_members_and_courses() {
    let a = demo();
    let expected = a.sql_members(
        "m.id IN (SELECT p.member_id FROM participations p JOIN courses c ON c.id = p.course_id
                  WHERE c.code IN ('WELCOME-101', 'TOOLS-101', 'CULTURE-101'))",
    );
    assert!(!expected.is_empty() && (expected.len() as i64) < DEMO_MEMBERS);
    assert_eq!(
        a.usernames(r#"series("onboarding").members().usernames()"#),
        expected
    );
    assert_eq!(
        strings(a.eval::<Array>(r#"series("onboarding").courses"#)),
        ["WELCOME-101", "TOOLS-101", "CULTURE-101"]
    );
    assert_eq!(
        strings(a.eval::<Array>(r#"series("compliance").courses"#)),
        ["GDPR-201", "SEC-201", "ETHICS-201", "ANTIBRIBE-201"]
    );
    assert_eq!(
        a.eval::<String>(r#"series("onboarding").title"#),
        "New Starter Onboarding"
    );
    assert!(a.eval::<Array>(r#"group("sales").courses"#).is_empty());
}

#[test]
fn course_entity_fields() {
    let a = demo();
    assert_eq!(
        a.eval::<String>(r#"course("RUST-101").title"#),
        "Rust for Newcomers"
    );
    assert_eq!(a.eval::<String>(r#"course(" RUST-101 ").code"#), "RUST-101");
    let message = a.error(r#"course("RUST-101").members()"#);
    assert!(message.contains("participants()"), "{message}");
}

#[test]
fn courses_lists_every_course_with_counts() {
    let a = demo();
    let courses = a.eval::<Array>("courses()");
    let expected = a.sql_strings(
        "SELECT c.code || '|' || c.title || '|' || count(p.id) || '|' ||
                sum(p.status = 'passed') || '|' || sum(p.status = 'failed') || '|' ||
                sum(p.status = 'undecided')
         FROM courses c JOIN participations p ON p.course_id = c.id GROUP BY c.id ORDER BY c.code",
    );
    assert_eq!(courses.len(), 24);
    assert_eq!(expected.len(), 24, "every demo course has participants");
    let got: Vec<String> = courses
        .into_iter()
        .map(|c| {
            let m = c.cast::<Map>();
            format!(
                "{}|{}|{}|{}|{}|{}",
                map_str(&m, "code"),
                map_str(&m, "title"),
                m["participants"].as_int().unwrap(),
                m["passed"].as_int().unwrap(),
                m["failed"].as_int().unwrap(),
                m["undecided"].as_int().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn groups_lists_every_group_with_its_size() {
    let a = demo();
    a.ctx
        .conn
        .execute(
            "INSERT INTO groups (name, created_at) VALUES ('empty', '2026-01-01T00:00:00Z')",
            [],
        )
        .unwrap();
    let got: Vec<String> = a
        .eval::<Array>("groups()")
        .into_iter()
        .map(|g| {
            let m = g.cast::<Map>();
            format!("{}={}", map_str(&m, "name"), m["members"].as_int().unwrap())
        })
        .collect();
    let expected = a.sql_strings(
        "SELECT g.name || '=' || (SELECT count(*) FROM group_members gm WHERE gm.group_id = g.id)
         FROM groups g ORDER BY g.name",
    );
    assert_eq!(got.len(), 12);
    assert!(got.contains(&"empty=0".to_string()));
    assert_eq!(got, expected);
}

#[test]
fn series_list_gives_courses_and_members() {
    let a = demo();
    let got: Vec<String> = a
        .eval::<Array>("series_list()")
        .into_iter()
        .map(|s| {
            let m = s.cast::<Map>();
            format!(
                "{}|{}|{}|{}",
                map_str(&m, "code"),
                map_str(&m, "title"),
                map_str(&m, "courses"),
                m["members"].as_int().unwrap()
            )
        })
        .collect();
    let members = |codes: &str| {
        a.sql_int(&format!(
            "SELECT count(DISTINCT p.member_id) FROM participations p JOIN courses c ON c.id = p.course_id
             WHERE c.code IN ({codes})"
        ))
    };
    assert_eq!(
        got,
        [
            format!(
                "compliance|Annual Compliance|GDPR-201;SEC-201;ETHICS-201;ANTIBRIBE-201|{}",
                members("'GDPR-201', 'SEC-201', 'ETHICS-201', 'ANTIBRIBE-201'")
            ),
            format!(
                "engineering|Engineering Foundations|GIT-101;SQL-101;RUST-101;CLOUD-201|{}",
                members("'GIT-101', 'SQL-101', 'RUST-101', 'CLOUD-201'")
            ),
            format!(
                "leadership|Leadership Essentials|LEAD-301;LEAD-302;LEAD-303|{}",
                members("'LEAD-301', 'LEAD-302', 'LEAD-303'")
            ),
            format!(
                "onboarding|New Starter Onboarding|WELCOME-101;TOOLS-101;CULTURE-101|{}",
                members("'WELCOME-101', 'TOOLS-101', 'CULTURE-101'")
            ),
        ]
    );
    assert_eq!(
        a.count(r#"series_list().filter(|s| s.code == "onboarding")[0].members"#),
        a.count(r#"series("onboarding").members().count()"#)
    );
}

#[test]
fn today_is_the_runs_date() {
    let a = demo();
    assert_eq!(a.eval::<String>("today()"), "2026-11-21");
    let other = academy(crate::store::open_in_memory().unwrap());
    assert_eq!(other.eval::<String>("today()"), "2026-11-21");
    let ctx = Ctx::new(
        crate::store::open_in_memory().unwrap(),
        RunOptions {
            today: jiff::civil::date(2027, 1, 5),
            ..RunOptions::default()
        },
    );
    let engine = build_engine(
        ctx,
        &Limits::default(),
        Interrupt::default(),
        Deadline::default(),
        ModulePaths::default(),
    );
    assert_eq!(engine.eval::<String>("today()").unwrap(), "2027-01-05");
}

#[test]
fn overdue_follows_the_runs_date() {
    let conn = crate::store::open_in_memory().unwrap();
    crate::store::demo::generate(&conn, DEMO_MEMBERS, 7).unwrap();
    let ctx = Ctx::new(
        conn,
        RunOptions {
            today: jiff::civil::date(2027, 6, 1),
            ..RunOptions::default()
        },
    );
    let engine = build_engine(
        ctx.clone(),
        &Limits::default(),
        Interrupt::default(),
        Deadline::default(),
        ModulePaths::default(),
    );
    let got: i64 = engine
        .eval(&format!(
            r#"course("{COURSE}").participants().overdue().count()"#
        ))
        .unwrap();
    let want: i64 = ctx
        .conn
        .query_row(
            "SELECT count(*) FROM participations p JOIN courses c ON c.id = p.course_id
             WHERE c.code = ?1 AND p.deadline < '2027-06-01' AND p.status = 'undecided'",
            [COURSE],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(got, want);
    let at_default_day = demo().count(&format!(
        r#"course("{COURSE}").participants().overdue().count()"#
    ));
    assert!(got > at_default_day, "{got} vs {at_default_day}");
}

#[test]
fn courses_counts_a_course_without_participants_as_zero() {
    let a = demo();
    a.ctx
        .conn
        .execute(
            "INSERT INTO courses (code, title, created_at) VALUES ('AAA-000', 'Nobody yet', '2026-01-01T00:00:00Z')",
            [],
        )
        .unwrap();
    let first = a.eval::<Array>("courses()").remove(0).cast::<Map>();
    assert_eq!(map_str(&first, "code"), "AAA-000");
    assert_eq!(map_str(&first, "title"), "Nobody yet");
    for key in ["participants", "passed", "failed", "undecided"] {
        assert_eq!(first[key].as_int().unwrap(), 0, "{key}");
    }
    assert_eq!(a.count(r#"course("AAA-000").participants().count()"#), 0);
}

#[test]
fn print_and_log_reach_the_runs_output() {
    let a = demo();
    a.output();
    a.eval::<()>(r#"print("hello"); log("a note"); print(members().limit(3))"#);
    assert_eq!(a.output(), "hello\na note\n3 members\n");
}

#[test]
fn where_unit_finds_members_without_a_country() {
    let a = demo();
    a.add_member("nocountry", "", "No", "Country");
    assert_eq!(
        a.sql_strings("SELECT username FROM members WHERE country = ''"),
        ["nocountry"]
    );
    assert_eq!(
        a.usernames(r#"members().where("country", "=", ()).usernames()"#),
        ["nocountry"]
    );
    assert_eq!(
        a.count(r#"members().where("country", "!=", ()).count()"#),
        DEMO_MEMBERS
    );
}

#[test]
fn filters_trim_group_and_course_names_like_the_entry_points() {
    let a = demo();
    assert_eq!(
        a.count(r#"group(" sales ").members().count()"#),
        a.count(r#"members().in_group("sales").count()"#)
    );
    assert_eq!(
        a.count(r#"members().in_group(" sales ").count()"#),
        a.count(r#"members().in_group("sales").count()"#)
    );
    assert_eq!(
        a.count(r#"members().enrolled_in("SQL-101 ").count()"#),
        a.count(r#"members().enrolled_in("SQL-101").count()"#)
    );
}

#[test]
fn show_zero_rows_does_not_claim_the_set_is_empty() {
    let a = demo();
    a.output();
    a.eval::<()>("members().show(0)");
    let printed = a.output();
    assert!(!printed.contains("(no members)"), "{printed}");
}

#[test]
fn a_member_value_takes_the_actions_of_a_set_of_one() {
    let a = demo();
    let username: String = a.eval("members().active().first().username");
    let report: Map = a.eval(&format!("member(\"{username}\").suspend()"));
    assert_eq!(report.get("matched").unwrap().as_int().unwrap(), 1);
    assert_eq!(report.get("changed").unwrap().as_int().unwrap(), 1);
    let status: String = a
        .ctx
        .conn
        .query_row(
            "SELECT status FROM members WHERE username = ?1",
            [&username],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(status, "suspended");
    let report: Map = a.eval(&format!("member(\"{username}\").set_country(\"is\")"));
    assert_eq!(report.get("changed").unwrap().as_int().unwrap(), 1);
    let others: i64 = a
        .ctx
        .conn
        .query_row(
            "SELECT count(*) FROM audit WHERE username != ?1",
            [&username],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(others, 0, "only that member was touched");
    let err = a
        .engine
        .eval::<Map>(&format!("member(\"{username}\").set_country(\"XX\")"))
        .unwrap_err();
    assert!(err.to_string().contains("'XX'"), "{err}");
}
