//! Tests of the filter-to-SQL compiler: the SQL text and parameters of every
//! condition, the stages of a pipeline, the closure tail, and the compiled SQL
//! run against a small hand-written academy.

use rusqlite::Connection;

use super::*;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const MEMBERS_PREFIX: &str = "SELECT m.id FROM members m WHERE 1 AND (";
const MEMBERS_SUFFIX: &str = ") ORDER BY m.id";
const PARTICIPANTS_PREFIX: &str = "SELECT p.id FROM participations p JOIN members m ON m.id = p.member_id WHERE p.course_id = ? AND (";
const PARTICIPANTS_SUFFIX: &str = ") ORDER BY p.id";

/// The course the participant tests look at: RUST-101 of the fixture.
const RUST_101: i64 = 1;

fn participants() -> Kind {
    Kind::Participants {
        course_id: RUST_101,
    }
}

fn query(kind: Kind, ops: Vec<Op>) -> Query {
    let mut q = Query::new(kind);
    for op in ops {
        q = q.with(op);
    }
    q
}

fn member_field(name: &str) -> Field {
    lookup_field(&Kind::Members, name).unwrap()
}

fn participant_field(name: &str) -> Field {
    lookup_field(&participants(), name).unwrap()
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// The WHERE fragment of one condition and its parameters, with the statement
/// around it checked exactly and the course id of a participant set removed.
fn fragment(cond: &Cond) -> (String, Vec<Value>) {
    if cond.needs_participation() {
        let q = query(participants(), vec![Op::Cond(cond.clone())]);
        let sql = q.plan().unwrap().select("p.id");
        let inner = sql
            .text
            .strip_prefix(PARTICIPANTS_PREFIX)
            .and_then(|t| t.strip_suffix(PARTICIPANTS_SUFFIX))
            .unwrap_or_else(|| panic!("unexpected statement: {}", sql.text));
        assert_eq!(sql.params[0], Value::Integer(RUST_101), "{}", sql.text);
        (inner.to_string(), sql.params[1..].to_vec())
    } else {
        let q = query(Kind::Members, vec![Op::Cond(cond.clone())]);
        let sql = q.plan().unwrap().select("m.id");
        let inner = sql
            .text
            .strip_prefix(MEMBERS_PREFIX)
            .and_then(|t| t.strip_suffix(MEMBERS_SUFFIX))
            .unwrap_or_else(|| panic!("unexpected statement: {}", sql.text));
        (inner.to_string(), sql.params)
    }
}

/// A number per `Cond` variant. The match has no wildcard, so a new variant
/// fails to compile here until it is given a case in `every_condition`.
fn variant(cond: &Cond) -> usize {
    match cond {
        Cond::Search(_) => 0,
        Cond::InGroup(_) => 1,
        Cond::NotInGroup(_) => 2,
        Cond::WithRole(_) => 3,
        Cond::Country(_) => 4,
        Cond::Language(_) => 5,
        Cond::Team(_) => 6,
        Cond::Anonymous => 7,
        Cond::Active => 8,
        Cond::Suspended => 9,
        Cond::Licensed => 10,
        Cond::Unlicensed => 11,
        Cond::CreatedBefore(_) => 12,
        Cond::CreatedFrom(_) => 13,
        Cond::InSeries(_) => 14,
        Cond::EnrolledIn(_) => 15,
        Cond::NotEnrolledIn(_) => 16,
        Cond::Where(..) => 17,
        Cond::WhereIn(..) => 18,
        Cond::IsNull(..) => 19,
        Cond::Passed => 20,
        Cond::Failed => 21,
        Cond::Undecided => 22,
        Cond::DeadlineBefore(_) => 23,
        Cond::Overdue(_) => 24,
        Cond::Invited => 25,
        Cond::NotInvited => 26,
        Cond::Inactive => 27,
        Cond::CourseActive => 28,
        Cond::ParticipatedSince(..) => 29,
        Cond::SuspendedBefore(_) => 30,
    }
}
const VARIANTS: usize = 31;

/// Text a script could pass that would break or subvert SQL if it were pasted in.
const HOSTILE: &str = "x' OR 1=1; DROP TABLE members; --";

/// Every condition with the fragment and parameters it must compile to.
fn every_condition() -> Vec<(Cond, &'static str, Vec<Value>)> {
    let email = member_field("email");
    let created = member_field("created_at");
    let id = member_field("id");
    vec![
        (
            Cond::ParticipatedSince(HOSTILE.into(), true),
            "m.id IN (SELECT member_id FROM participations WHERE enrolled_at >= ? OR completed_at >= ?)",
            vec![text(HOSTILE), text(HOSTILE)],
        ),
        (
            Cond::ParticipatedSince("2026-01-01".into(), false),
            "m.id NOT IN (SELECT member_id FROM participations WHERE enrolled_at >= ? OR completed_at >= ?)",
            vec![text("2026-01-01"), text("2026-01-01")],
        ),
        (
            Cond::SuspendedBefore("2026-01-01".into()),
            "m.status = 'suspended' AND coalesce(m.status_changed_at, m.updated_at) < ?",
            vec![text("2026-01-01")],
        ),
        (
            Cond::Search(HOSTILE.into()),
            "(instr(m.search_key, ?) > 0 OR instr(m.username, ?) > 0 OR instr(m.email, ?) > 0)",
            vec![text(HOSTILE), text(HOSTILE), text(HOSTILE)],
        ),
        (
            Cond::InGroup(7),
            "m.id IN (SELECT member_id FROM group_members WHERE group_id = ?)",
            vec![Value::Integer(7)],
        ),
        (
            Cond::NotInGroup(8),
            "m.id NOT IN (SELECT member_id FROM group_members WHERE group_id = ?)",
            vec![Value::Integer(8)],
        ),
        (
            Cond::WithRole(4),
            "(m.roles & ?) != 0",
            vec![Value::Integer(4)],
        ),
        (
            Cond::Country(HOSTILE.into()),
            "m.country = ?",
            vec![text(HOSTILE)],
        ),
        (
            Cond::Language(HOSTILE.into()),
            "m.language = ?",
            vec![text(HOSTILE)],
        ),
        (
            Cond::Team(HOSTILE.into()),
            "m.team = ?",
            vec![text(HOSTILE)],
        ),
        (Cond::Anonymous, "m.anonymous = 1", vec![]),
        (Cond::Active, "m.status = 'active'", vec![]),
        (Cond::Suspended, "m.status = 'suspended'", vec![]),
        (Cond::Licensed, "m.license = 1", vec![]),
        (Cond::Unlicensed, "m.license = 0", vec![]),
        (
            Cond::CreatedBefore(HOSTILE.into()),
            "m.created_at < ?",
            vec![text(HOSTILE)],
        ),
        (
            Cond::CreatedFrom(HOSTILE.into()),
            "m.created_at >= ?",
            vec![text(HOSTILE)],
        ),
        (
            Cond::InSeries(3),
            "m.id IN (SELECT sp.member_id FROM participations sp \
             JOIN series_courses sc ON sc.course_id = sp.course_id WHERE sc.series_id = ?)",
            vec![Value::Integer(3)],
        ),
        (
            Cond::EnrolledIn(5),
            "m.id IN (SELECT member_id FROM participations WHERE course_id = ?)",
            vec![Value::Integer(5)],
        ),
        (
            Cond::NotEnrolledIn(6),
            "m.id NOT IN (SELECT member_id FROM participations WHERE course_id = ?)",
            vec![Value::Integer(6)],
        ),
        (
            Cond::Where(email, CmpOp::Eq, text(HOSTILE)),
            "m.email = ?",
            vec![text(HOSTILE)],
        ),
        (
            Cond::Where(email, CmpOp::Ne, text(HOSTILE)),
            "m.email != ?",
            vec![text(HOSTILE)],
        ),
        (
            Cond::Where(created, CmpOp::Lt, text(HOSTILE)),
            "m.created_at < ?",
            vec![text(HOSTILE)],
        ),
        (
            Cond::Where(created, CmpOp::Le, text(HOSTILE)),
            "m.created_at <= ?",
            vec![text(HOSTILE)],
        ),
        (
            Cond::Where(id, CmpOp::Gt, Value::Integer(3)),
            "m.id > ?",
            vec![Value::Integer(3)],
        ),
        (
            Cond::Where(id, CmpOp::Ge, Value::Integer(3)),
            "m.id >= ?",
            vec![Value::Integer(3)],
        ),
        (
            Cond::Where(email, CmpOp::Like, text(HOSTILE)),
            "m.email LIKE ? ESCAPE '\\'",
            vec![text(HOSTILE)],
        ),
        (
            Cond::WhereIn(
                member_field("country"),
                vec![text("NL"), text(HOSTILE), text("BE")],
            ),
            "m.country IN (?, ?, ?)",
            vec![text("NL"), text(HOSTILE), text("BE")],
        ),
        (
            Cond::WhereIn(member_field("country"), vec![text(HOSTILE)]),
            "m.country IN (?)",
            vec![text(HOSTILE)],
        ),
        (Cond::WhereIn(member_field("country"), vec![]), "0", vec![]),
        (
            Cond::IsNull(member_field("team"), true),
            "coalesce(m.team, '') = ''",
            vec![],
        ),
        (
            Cond::IsNull(member_field("team"), false),
            "coalesce(m.team, '') != ''",
            vec![],
        ),
        (Cond::Passed, "p.status = 'passed'", vec![]),
        (Cond::Failed, "p.status = 'failed'", vec![]),
        (Cond::Undecided, "p.status = 'undecided'", vec![]),
        (
            Cond::DeadlineBefore(HOSTILE.into()),
            "p.deadline < ?",
            vec![text(HOSTILE)],
        ),
        (
            Cond::Overdue(HOSTILE.into()),
            "p.deadline < ? AND p.status = 'undecided'",
            vec![text(HOSTILE)],
        ),
        (Cond::Invited, "p.invitations > 0", vec![]),
        (Cond::NotInvited, "p.invitations = 0", vec![]),
        (Cond::Inactive, "p.active = 0", vec![]),
        (Cond::CourseActive, "p.active = 1", vec![]),
        (
            Cond::IsNull(participant_field("deadline"), true),
            "coalesce(p.deadline, '') = ''",
            vec![],
        ),
        (
            Cond::IsNull(participant_field("score"), false),
            "p.score IS NOT NULL",
            vec![],
        ),
        (
            Cond::Where(participant_field("score"), CmpOp::Ge, Value::Real(50.0)),
            "p.score >= ?",
            vec![Value::Real(50.0)],
        ),
        (
            Cond::WhereIn(
                participant_field("status"),
                vec![text("passed"), text("failed")],
            ),
            "p.status IN (?, ?)",
            vec![text("passed"), text("failed")],
        ),
    ]
}

/// username, email, first and last name, country, language, visibility, team,
/// roles, anonymous, status, license, created_at.
type FixtureMember<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    i64,
    i64,
    &'a str,
    i64,
    &'a str,
);

/// A small academy written by hand; every expected result below is read off it.
///
/// | id | username     | country | lang | team    | roles | anon | status    | lic | created             |
/// |  1 | alice        | NL      | nl   | Otters  | 1     | 0    | active    | 1   | 2024-01-15T10:00:00Z |
/// |  2 | bob          | DE      | de   | Otters  | 5     | 0    | active    | 0   | 2024-03-01T08:00:00Z |
/// |  3 | carol        | FR      | fr   |         | 3     | 0    | suspended | 1   | 2024-06-30T23:59:59Z |
/// |  4 | anon-0000004 | NL      | nl   |         | 1     | 1    | active    | 0   | 2025-01-01T00:00:00Z |
/// |  5 | anon-0000005 | US      | en   | Lynx    | 1     | 1    | suspended | 1   | 2025-02-10T12:00:00Z |
/// |  6 | d.obrien     | IE      | en   | Falcons | 8     | 0    | active    | 1   | 2025-07-04T09:30:00Z |
/// |  7 | pct          | GB      | en   |         | 1     | 0    | active    | 0   | 2025-09-09T09:09:09Z |
/// |  8 | under_score  | GB      | en   |         | 1     | 0    | active    | 0   | 2025-10-10T10:10:10Z |
/// |  9 | back\slash   | US      | en   |         | 1     | 0    | active    | 0   | 2026-01-02T03:04:05Z |
/// | 10 | zoe          | BE      | nl   | Lynx    | 2     | 0    | active    | 1   | 2026-05-05T05:05:05Z |
fn fixture() -> Connection {
    let conn = crate::store::open_in_memory().unwrap();
    conn.execute("UPDATE license_pool SET seats = 6", [])
        .unwrap();
    #[rustfmt::skip]
    let members: &[FixtureMember] = &[
        ("alice", "alice@example.nl", "Alice", "de Vries", "NL", "nl", "public", "Otters", 1, 0, "active", 1, "2024-01-15T10:00:00Z"),
        ("bob", "bob@example.de", "Bob", "Müller", "DE", "de", "members", "Otters", 5, 0, "active", 0, "2024-03-01T08:00:00Z"),
        ("carol", "carol@example.fr", "Chloé", "Lefèvre", "FR", "fr", "hidden", "", 3, 0, "suspended", 1, "2024-06-30T23:59:59Z"),
        ("anon-0000004", "", "", "", "NL", "nl", "members", "", 1, 1, "active", 0, "2025-01-01T00:00:00Z"),
        ("anon-0000005", "anon5@example.com", "", "", "US", "en", "members", "Lynx", 1, 1, "suspended", 1, "2025-02-10T12:00:00Z"),
        ("d.obrien", "donal@example.ie", "Dónal", "O'Brien", "IE", "en", "public", "Falcons", 8, 0, "active", 1, "2025-07-04T09:30:00Z"),
        ("pct", "pct@example.com", "Hundred", "100% Club", "GB", "en", "members", "", 1, 0, "active", 0, "2025-09-09T09:09:09Z"),
        ("under_score", "us@example.com", "Una", "Score", "GB", "en", "members", "", 1, 0, "active", 0, "2025-10-10T10:10:10Z"),
        ("back\\slash", "bs@example.com", "Quinn", "\"Q\" Quote", "US", "en", "members", "", 1, 0, "active", 0, "2026-01-02T03:04:05Z"),
        ("zoe", "zoe@example.be", "Zoë", "Æbelø", "BE", "nl", "members", "Lynx", 2, 0, "active", 1, "2026-05-05T05:05:05Z"),
    ];
    for (
        username,
        email,
        first,
        last,
        country,
        language,
        visibility,
        team,
        roles,
        anonymous,
        status,
        license,
        created,
    ) in members
    {
        conn.execute(
            "INSERT INTO members (username, email, first_name, last_name, country, language,
                 visibility, team, roles, anonymous, status, license, search_key, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)",
            rusqlite::params![
                username,
                email,
                first,
                last,
                country,
                language,
                visibility,
                team,
                roles,
                anonymous,
                status,
                license,
                crate::store::search_key(username, email, first, last),
                created,
            ],
        )
        .unwrap();
    }
    conn.execute_batch(
        "INSERT INTO groups (id, name, created_at) VALUES
             (1, 'sales', '2024-01-01T00:00:00Z'),
             (2, 'support', '2024-01-01T00:00:00Z'),
             (3, 'empty', '2024-01-01T00:00:00Z');
         INSERT INTO group_members (group_id, member_id) VALUES
             (1, 1), (1, 2), (1, 4), (1, 7), (2, 2), (2, 3);
         INSERT INTO courses (id, code, title, created_at) VALUES
             (1, 'RUST-101', 'Rust for Newcomers', '2024-01-01T00:00:00Z'),
             (2, 'SQL-101', 'SQL Fundamentals', '2024-01-01T00:00:00Z'),
             (3, 'GIT-101', 'Version Control with Git', '2024-01-01T00:00:00Z');
         INSERT INTO series (id, code, title, created_at) VALUES
             (1, 'onboarding', 'New Starter Onboarding', '2024-01-01T00:00:00Z'),
             (2, 'git', 'Git only', '2024-01-01T00:00:00Z');
         INSERT INTO series_courses (series_id, position, course_id) VALUES
             (1, 1, 1), (1, 2, 2), (2, 1, 3);
         INSERT INTO participations
             (id, member_id, course_id, status, score, deadline, active, invitations, enrolled_at) VALUES
             (1, 1, 1, 'passed', 91.5, '2026-10-01', 1, 2, '2026-09-01T08:00:00Z'),
             (2, 2, 1, 'undecided', NULL, '2026-11-01', 1, 0, '2026-09-02T08:00:00Z'),
             (3, 3, 1, 'failed', 40.0, NULL, 0, 1, '2026-09-03T08:00:00Z'),
             (4, 4, 1, 'undecided', NULL, '2026-12-31', 1, 1, '2026-09-04T08:00:00Z'),
             (5, 5, 1, 'undecided', NULL, NULL, 1, 0, '2026-09-05T08:00:00Z'),
             (6, 6, 2, 'passed', 75.0, NULL, 1, 1, '2026-09-06T08:00:00Z'),
             (7, 1, 2, 'undecided', NULL, '2026-01-01', 0, 3, '2026-09-07T08:00:00Z'),
             (8, 10, 1, 'undecided', NULL, '2026-11-20', 1, 0, '2026-09-08T08:00:00Z');",
    )
    .unwrap();
    conn
}

/// The usernames a query selects, in its order.
fn usernames(conn: &Connection, q: &Query) -> Vec<String> {
    let sql = q.plan().unwrap().select("m.username");
    let mut stmt = conn.prepare(&sql.text).unwrap();
    stmt.query_map(rusqlite::params_from_iter(sql.params.iter()), |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn count(conn: &Connection, q: &Query) -> i64 {
    let sql = q.plan().unwrap().count();
    conn.query_row(
        &sql.text,
        rusqlite::params_from_iter(sql.params.iter()),
        |r| r.get(0),
    )
    .unwrap()
}

/// Runs `ops` on `kind` and checks both the rows (in order) and the count.
fn check(conn: &Connection, kind: Kind, ops: Vec<Op>, expected: &[&str]) {
    let q = query(kind, ops);
    assert_eq!(usernames(conn, &q), expected, "{:?}", q.ops);
    assert_eq!(count(conn, &q), expected.len() as i64, "{:?}", q.ops);
}

fn cond(c: Cond) -> Op {
    Op::Cond(c)
}

fn search(conn: &Connection, script_text: &str) -> Vec<String> {
    let q = query(
        Kind::Members,
        vec![cond(Cond::Search(crate::store::fold(script_text)))],
    );
    usernames(conn, &q)
}

// ---------------------------------------------------------------------------
// The SQL text of each condition
// ---------------------------------------------------------------------------

#[test]
fn a_plain_set_selects_every_member_in_id_order() {
    let q = Query::new(Kind::Members);
    let sql = q.plan().unwrap().select("m.id");
    assert_eq!(sql.text, "SELECT m.id FROM members m WHERE 1 ORDER BY m.id");
    assert!(sql.params.is_empty());
}

#[test]
fn a_plain_participant_set_binds_its_course() {
    let q = Query::new(Kind::Participants { course_id: 42 });
    let sql = q.plan().unwrap().select("p.id");
    assert_eq!(
        sql.text,
        "SELECT p.id FROM participations p JOIN members m ON m.id = p.member_id \
         WHERE p.course_id = ? ORDER BY p.id"
    );
    assert_eq!(sql.params, vec![Value::Integer(42)]);
    let count = q.plan().unwrap().count();
    assert_eq!(
        count.text,
        "SELECT count(*) FROM (SELECT 1 FROM participations p JOIN members m ON m.id = p.member_id \
         WHERE p.course_id = ?)"
    );
    assert_eq!(count.params, vec![Value::Integer(42)]);
}

#[test]
fn every_condition_compiles_to_its_fragment_with_bound_values() {
    let cases = every_condition();
    let mut seen = [false; VARIANTS];
    for (cond, expected, params) in &cases {
        seen[variant(cond)] = true;
        let (fragment, bound) = fragment(cond);
        assert_eq!(fragment, *expected, "{cond:?}");
        assert_eq!(&bound, params, "{cond:?}");
        // One placeholder per bound value.
        assert_eq!(fragment.matches('?').count(), bound.len(), "{cond:?}");
    }
    let missing: Vec<usize> = (0..VARIANTS).filter(|i| !seen[*i]).collect();
    assert!(missing.is_empty(), "variants without a case: {missing:?}");
}

#[test]
fn script_text_never_reaches_the_sql_text() {
    for (cond, _, params) in every_condition() {
        let kind = if cond.needs_participation() {
            participants()
        } else {
            Kind::Members
        };
        let q = query(
            kind,
            vec![cond.clone(), cond.clone()]
                .into_iter()
                .map(Op::Cond)
                .collect(),
        );
        for sql in [q.plan().unwrap().select("m.id"), q.plan().unwrap().count()] {
            assert!(!sql.text.contains("DROP"), "{cond:?}: {}", sql.text);
            assert!(!sql.text.contains("1=1"), "{cond:?}: {}", sql.text);
            let per_use = params.iter().filter(|p| **p == text(HOSTILE)).count();
            let bound = sql.params.iter().filter(|p| **p == text(HOSTILE)).count();
            assert_eq!(bound, 2 * per_use, "{cond:?}: bound as often as it is used");
        }
    }
}

#[test]
fn only_participation_conditions_need_a_participant_set() {
    for (cond, expected, _) in every_condition() {
        let reads_participation = expected.starts_with("p.") || expected.contains("(p.");
        assert_eq!(cond.needs_participation(), reads_participation, "{cond:?}");
    }
}

#[test]
fn conditions_combine_with_and_in_chain_order() {
    let q = query(
        Kind::Members,
        vec![
            cond(Cond::Country("NL".into())),
            cond(Cond::Anonymous),
            cond(Cond::InGroup(3)),
            cond(Cond::Where(
                member_field("id"),
                CmpOp::Lt,
                Value::Integer(9),
            )),
        ],
    );
    let sql = q.plan().unwrap().select("m.id");
    assert_eq!(
        sql.text,
        "SELECT m.id FROM members m WHERE 1 AND (m.country = ?) AND (m.anonymous = 1) \
         AND (m.id IN (SELECT member_id FROM group_members WHERE group_id = ?)) \
         AND (m.id < ?) ORDER BY m.id"
    );
    assert_eq!(
        sql.params,
        vec![text("NL"), Value::Integer(3), Value::Integer(9)]
    );
}

#[test]
fn participant_sets_bind_the_course_before_their_conditions() {
    let q = query(
        Kind::Participants { course_id: 9 },
        vec![
            cond(Cond::Overdue("2026-11-21".into())),
            cond(Cond::Country("DE".into())),
        ],
    );
    let sql = q.plan().unwrap().select("p.id");
    assert_eq!(
        sql.text,
        "SELECT p.id FROM participations p JOIN members m ON m.id = p.member_id \
         WHERE p.course_id = ? AND (p.deadline < ? AND p.status = 'undecided') \
         AND (m.country = ?) ORDER BY p.id"
    );
    assert_eq!(
        sql.params,
        vec![Value::Integer(9), text("2026-11-21"), text("DE")]
    );
}

#[test]
fn order_by_sorts_by_its_fields_then_the_key() {
    let q = query(
        Kind::Members,
        vec![Op::Order(vec![
            (member_field("country"), false),
            (member_field("created_at"), true),
        ])],
    );
    let sql = q.plan().unwrap().select("m.id");
    assert_eq!(
        sql.text,
        "SELECT m.id FROM members m WHERE 1 ORDER BY m.country ASC, m.created_at DESC, m.id"
    );
    // A later order_by in the same stage replaces the earlier one.
    let q = q.with(Op::Order(vec![(member_field("username"), false)]));
    assert_eq!(
        q.plan().unwrap().select("m.id").text,
        "SELECT m.id FROM members m WHERE 1 ORDER BY m.username ASC, m.id"
    );
}

#[test]
fn count_has_no_order_unless_a_limit_needs_one() {
    let q = query(
        Kind::Members,
        vec![
            cond(Cond::Anonymous),
            Op::Order(vec![(member_field("username"), true)]),
        ],
    );
    let plan = q.plan().unwrap();
    assert_eq!(
        plan.count().text,
        "SELECT count(*) FROM (SELECT 1 FROM members m WHERE 1 AND (m.anonymous = 1))"
    );
    assert_eq!(
        plan.select("m.id").text,
        "SELECT m.id FROM members m WHERE 1 AND (m.anonymous = 1) ORDER BY m.username DESC, m.id"
    );
    let q = q.with(Op::Limit(5));
    let plan = q.plan().unwrap();
    assert_eq!(
        plan.count().text,
        "SELECT count(*) FROM (SELECT 1 FROM members m WHERE 1 AND (m.anonymous = 1) \
         ORDER BY m.username DESC, m.id LIMIT ?)"
    );
    assert_eq!(plan.count().params, vec![Value::Integer(5)]);
    assert_eq!(
        plan.select("m.id").text,
        "SELECT m.id FROM members m WHERE 1 AND (m.anonymous = 1) \
         ORDER BY m.username DESC, m.id LIMIT ?"
    );
}

#[test]
fn a_negative_limit_binds_zero() {
    let q = query(Kind::Members, vec![Op::Limit(-1)]);
    let sql = q.plan().unwrap().select("m.id");
    assert_eq!(sql.params, vec![Value::Integer(0)]);
    assert!(usernames(&fixture(), &q).is_empty());
}

// ---------------------------------------------------------------------------
// Stages: a limit followed by filters
// ---------------------------------------------------------------------------

#[test]
fn filters_after_a_limit_apply_to_a_nested_stage() {
    let q = query(Kind::Members, vec![Op::Limit(50), cond(Cond::Anonymous)]);
    let sql = q.plan().unwrap().select("m.id");
    assert_eq!(
        sql.text,
        "SELECT m.id FROM members m WHERE 1 AND m.id IN \
         (SELECT m.id FROM members m WHERE 1 ORDER BY m.id LIMIT ?) \
         AND (m.anonymous = 1) ORDER BY m.id"
    );
    assert_eq!(sql.params, vec![Value::Integer(50)]);

    let q = query(Kind::Members, vec![cond(Cond::Anonymous), Op::Limit(50)]);
    let sql = q.plan().unwrap().select("m.id");
    assert_eq!(
        sql.text,
        "SELECT m.id FROM members m WHERE 1 AND (m.anonymous = 1) ORDER BY m.id LIMIT ?"
    );
    assert_eq!(sql.params, vec![Value::Integer(50)]);
}

#[test]
fn nested_participant_stages_bind_every_placeholder_in_order() {
    let q = query(
        Kind::Participants { course_id: 4 },
        vec![
            cond(Cond::Country("NL".into())),
            Op::Limit(10),
            cond(Cond::Passed),
            Op::Limit(3),
            cond(Cond::Team("Otters".into())),
        ],
    );
    let sql = q.plan().unwrap().select("p.id");
    assert_eq!(
        sql.text,
        "SELECT p.id FROM participations p JOIN members m ON m.id = p.member_id WHERE p.course_id = ? \
         AND p.id IN (SELECT p.id FROM participations p JOIN members m ON m.id = p.member_id WHERE p.course_id = ? \
         AND p.id IN (SELECT p.id FROM participations p JOIN members m ON m.id = p.member_id WHERE p.course_id = ? \
         AND (m.country = ?) ORDER BY p.id LIMIT ?) \
         AND (p.status = 'passed') ORDER BY p.id LIMIT ?) \
         AND (m.team = ?) ORDER BY p.id"
    );
    assert_eq!(
        sql.params,
        vec![
            Value::Integer(4),
            Value::Integer(4),
            Value::Integer(4),
            text("NL"),
            Value::Integer(10),
            Value::Integer(3),
            text("Otters"),
        ]
    );
    assert_eq!(sql.text.matches('?').count(), sql.params.len());
    let count = q.plan().unwrap().count();
    assert_eq!(count.text.matches('?').count(), count.params.len());
    assert_eq!(count.params, sql.params);
}

#[test]
fn pipeline_order_of_limit_and_filter_changes_the_result() {
    let conn = fixture();
    // The anonymous among the first five: ids 4 and 5.
    check(
        &conn,
        Kind::Members,
        vec![Op::Limit(5), cond(Cond::Anonymous)],
        &["anon-0000004", "anon-0000005"],
    );
    // No anonymous member among the first three.
    check(
        &conn,
        Kind::Members,
        vec![Op::Limit(3), cond(Cond::Anonymous)],
        &[],
    );
    // The first anonymous member.
    check(
        &conn,
        Kind::Members,
        vec![cond(Cond::Anonymous), Op::Limit(1)],
        &["anon-0000004"],
    );
    // The first three unlicensed versus the unlicensed among the first three.
    check(
        &conn,
        Kind::Members,
        vec![cond(Cond::Unlicensed), Op::Limit(3)],
        &["bob", "anon-0000004", "pct"],
    );
    check(
        &conn,
        Kind::Members,
        vec![Op::Limit(3), cond(Cond::Unlicensed)],
        &["bob"],
    );
}

#[test]
fn consecutive_limits_keep_the_smaller() {
    let conn = fixture();
    check(
        &conn,
        Kind::Members,
        vec![Op::Limit(5), Op::Limit(2)],
        &["alice", "bob"],
    );
    check(
        &conn,
        Kind::Members,
        vec![Op::Limit(2), Op::Limit(5)],
        &["alice", "bob"],
    );
    check(&conn, Kind::Members, vec![Op::Limit(0)], &[]);
}

#[test]
fn a_later_stage_inherits_the_order_of_the_earlier_one() {
    let desc = Op::Order(vec![(member_field("username"), true)]);
    let q = query(
        Kind::Members,
        vec![desc.clone(), Op::Limit(3), cond(Cond::Unlicensed)],
    );
    let sql = q.plan().unwrap().select("m.id");
    assert_eq!(
        sql.text,
        "SELECT m.id FROM members m WHERE 1 AND m.id IN \
         (SELECT m.id FROM members m WHERE 1 ORDER BY m.username DESC, m.id LIMIT ?) \
         AND (m.license = 0) ORDER BY m.username DESC, m.id"
    );
    let conn = fixture();
    // Last three usernames: zoe, under_score, pct; of them, unlicensed, still descending.
    check(
        &conn,
        Kind::Members,
        vec![desc.clone(), Op::Limit(3), cond(Cond::Unlicensed)],
        &["under_score", "pct"],
    );
    // Through three stages: the six highest ids, active ones, first three, licensed.
    check(
        &conn,
        Kind::Members,
        vec![
            Op::Order(vec![(member_field("id"), true)]),
            Op::Limit(6),
            cond(Cond::Active),
            Op::Limit(3),
            cond(Cond::Licensed),
        ],
        &["zoe"],
    );
    check(
        &conn,
        Kind::Members,
        vec![
            Op::Order(vec![(member_field("id"), true)]),
            Op::Limit(6),
            cond(Cond::Active),
            Op::Limit(3),
        ],
        &["zoe", "back\\slash", "under_score"],
    );
}

#[test]
fn an_order_after_a_limit_sorts_the_limited_rows() {
    let conn = fixture();
    // The first four by id, then sorted by username.
    check(
        &conn,
        Kind::Members,
        vec![
            Op::Limit(4),
            Op::Order(vec![(member_field("username"), false)]),
        ],
        &["alice", "anon-0000004", "bob", "carol"],
    );
    // The three last by username, then re-sorted by id.
    check(
        &conn,
        Kind::Members,
        vec![
            Op::Order(vec![(member_field("username"), true)]),
            Op::Limit(3),
            Op::Order(vec![(member_field("id"), false)]),
        ],
        &["pct", "under_score", "zoe"],
    );
}

#[test]
fn a_limit_after_a_reorder_takes_from_the_reordered_rows() {
    let conn = fixture();
    // The first five by id, newest id first, of those the first two.
    check(
        &conn,
        Kind::Members,
        vec![
            Op::Limit(5),
            Op::Order(vec![(member_field("id"), true)]),
            Op::Limit(2),
        ],
        &["anon-0000005", "anon-0000004"],
    );
}

#[test]
fn an_empty_country_is_found_as_no_value() {
    let conn = fixture();
    conn.execute(
        "INSERT INTO members (username, search_key, created_at, updated_at)
         VALUES ('nocountry', 'nocountry', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        [],
    )
    .unwrap();
    let country = member_field("country");
    check(
        &conn,
        Kind::Members,
        vec![cond(Cond::IsNull(country, true))],
        &["nocountry"],
    );
    let q = query(Kind::Members, vec![cond(Cond::IsNull(country, false))]);
    assert_eq!(count(&conn, &q), 10);
}

#[test]
fn participant_stages_limit_within_the_course() {
    let conn = fixture();
    // RUST-101 in participation order: alice, bob, carol, anon4, anon5, zoe.
    check(
        &conn,
        participants(),
        vec![Op::Limit(3), cond(Cond::Undecided)],
        &["bob"],
    );
    check(
        &conn,
        participants(),
        vec![cond(Cond::Undecided), Op::Limit(3)],
        &["bob", "anon-0000004", "anon-0000005"],
    );
    check(
        &conn,
        participants(),
        vec![
            Op::Order(vec![(participant_field("deadline"), true)]),
            Op::Limit(2),
        ],
        &["anon-0000004", "zoe"],
    );
}

// ---------------------------------------------------------------------------
// The closure tail
// ---------------------------------------------------------------------------

#[test]
fn conditions_after_a_closure_move_into_sql() {
    let q = query(
        Kind::Members,
        vec![
            cond(Cond::Anonymous),
            Op::Closure(0),
            cond(Cond::Active),
            Op::Order(vec![(member_field("username"), false)]),
        ],
    );
    let plan = q.plan().unwrap();
    assert_eq!(plan.tail, vec![TailOp::Closure(0)]);
    assert_eq!(plan.stages.len(), 1);
    assert_eq!(
        plan.select("m.id").text,
        "SELECT m.id FROM members m WHERE 1 AND (m.anonymous = 1) AND (m.status = 'active') \
         ORDER BY m.username ASC, m.id"
    );
    assert!(q.has_closures());
    assert!(!Query::new(Kind::Members).has_closures());
}

#[test]
fn a_limit_after_a_closure_runs_in_the_tail() {
    let q = query(
        Kind::Members,
        vec![
            Op::Limit(8),
            Op::Closure(0),
            Op::Limit(2),
            Op::Closure(1),
            Op::Limit(1),
        ],
    );
    let plan = q.plan().unwrap();
    assert_eq!(
        plan.tail,
        vec![
            TailOp::Closure(0),
            TailOp::Limit(2),
            TailOp::Closure(1),
            TailOp::Limit(1)
        ]
    );
    let sql = plan.select("m.id");
    assert_eq!(
        sql.text,
        "SELECT m.id FROM members m WHERE 1 ORDER BY m.id LIMIT ?"
    );
    assert_eq!(sql.params, vec![Value::Integer(8)]);
}

#[test]
fn a_limit_after_a_closure_moved_before_filters_would_change_them() {
    // limit(10).filter(f).anonymous(): anonymous still applies to the first ten.
    let q = query(
        Kind::Members,
        vec![Op::Limit(10), Op::Closure(0), cond(Cond::Anonymous)],
    );
    let plan = q.plan().unwrap();
    assert_eq!(plan.tail, vec![TailOp::Closure(0)]);
    assert_eq!(
        plan.select("m.id").text,
        "SELECT m.id FROM members m WHERE 1 AND m.id IN \
         (SELECT m.id FROM members m WHERE 1 ORDER BY m.id LIMIT ?) \
         AND (m.anonymous = 1) ORDER BY m.id"
    );
}

#[test]
fn a_filter_after_closure_then_limit_is_refused() {
    for late in [
        cond(Cond::Anonymous),
        Op::Order(vec![(member_field("username"), false)]),
    ] {
        let q = query(Kind::Members, vec![Op::Closure(0), Op::Limit(5), late]);
        let err = q.plan().unwrap_err();
        assert_eq!(err, QueryError::AfterClosureLimit);
        assert!(
            err.to_string().contains("move it before the limit"),
            "{err}"
        );
    }
    // A closure or another limit may follow; they run in the tail too.
    let q = query(
        Kind::Members,
        vec![Op::Closure(0), Op::Limit(5), Op::Closure(1), Op::Limit(2)],
    );
    assert!(q.plan().is_ok());
}

// ---------------------------------------------------------------------------
// Fields, operators, immutability
// ---------------------------------------------------------------------------

#[test]
fn status_means_the_account_in_member_sets_and_the_participation_in_participant_sets() {
    assert_eq!(
        lookup_field(&Kind::Members, "status").unwrap().column,
        "m.status"
    );
    assert_eq!(
        lookup_field(&participants(), "status").unwrap().column,
        "p.status"
    );
    assert_eq!(
        lookup_field(&participants(), "member_status")
            .unwrap()
            .column,
        "m.status"
    );
    assert_eq!(
        lookup_field(&Kind::Members, " email ").unwrap().column,
        "m.email"
    );
    assert!(lookup_field(&Kind::Members, "deadline").is_none());
    assert!(lookup_field(&Kind::Members, "search_key").is_none());
    assert!(lookup_field(&Kind::Members, "access_code_hash").is_none());
    assert!(lookup_field(&Kind::Members, "m.id; DROP TABLE members").is_none());
    let names = field_names(&Kind::Members);
    assert!(names.contains(&"status") && names.contains(&"username"));
    assert!(!names.contains(&"deadline"));
    let names = field_names(&participants());
    assert!(names.contains(&"deadline") && names.contains(&"member_status"));
    // Every name listed can be looked up.
    for kind in [Kind::Members, participants()] {
        for name in field_names(&kind) {
            assert!(lookup_field(&kind, name).is_some(), "{name}");
        }
    }
}

#[test]
fn operators_parse_with_aliases_and_in_is_separate() {
    let cases = [
        ("=", CmpOp::Eq),
        ("==", CmpOp::Eq),
        ("!=", CmpOp::Ne),
        ("<>", CmpOp::Ne),
        ("<", CmpOp::Lt),
        ("<=", CmpOp::Le),
        (">", CmpOp::Gt),
        (">=", CmpOp::Ge),
        ("like", CmpOp::Like),
        (" LIKE ", CmpOp::Like),
    ];
    for (text, op) in cases {
        assert_eq!(CmpOp::parse(text), Some(op), "{text}");
    }
    for bad in ["in", "=<", "~", "", "; DROP"] {
        assert_eq!(CmpOp::parse(bad), None, "{bad}");
    }
    assert_eq!(OPERATORS, ["=", "!=", "<", "<=", ">", ">=", "like", "in"]);
}

#[test]
fn a_chain_never_changes_the_set_it_started_from() {
    let base = query(Kind::Members, vec![cond(Cond::Active)]);
    let narrower = base.with(cond(Cond::Anonymous));
    assert_eq!(base.ops, vec![cond(Cond::Active)]);
    assert_eq!(narrower.ops.len(), 2);
    let conn = fixture();
    assert_eq!(count(&conn, &base), 8);
    assert_eq!(count(&conn, &narrower), 1);
}

#[test]
fn key_and_columns_follow_the_kind() {
    let members = Query::new(Kind::Members);
    assert_eq!(members.key(), "m.id");
    assert_eq!(members.columns(), crate::store::rows::MEMBER_COLUMNS);
    let parts = Query::new(participants());
    assert_eq!(parts.key(), "p.id");
    assert!(
        parts
            .columns()
            .starts_with(crate::store::rows::MEMBER_COLUMNS)
    );
    assert!(
        parts
            .columns()
            .ends_with(crate::store::rows::PARTICIPATION_COLUMNS)
    );
}

// ---------------------------------------------------------------------------
// Compiled SQL executed against the fixture
// ---------------------------------------------------------------------------

#[test]
fn member_conditions_select_the_right_members() {
    let conn = fixture();
    let f = member_field;
    #[rustfmt::skip]
    let cases: Vec<(Cond, Vec<&str>)> = vec![
        (Cond::Search("muller".into()), vec!["bob"]),
        (Cond::InGroup(1), vec!["alice", "bob", "anon-0000004", "pct"]),
        (Cond::InGroup(3), vec![]),
        (Cond::NotInGroup(1), vec!["carol", "anon-0000005", "d.obrien", "under_score", "back\\slash", "zoe"]),
        (Cond::NotInGroup(3), vec!["alice", "bob", "carol", "anon-0000004", "anon-0000005", "d.obrien", "pct", "under_score", "back\\slash", "zoe"]),
        (Cond::WithRole(1), vec!["alice", "bob", "carol", "anon-0000004", "anon-0000005", "pct", "under_score", "back\\slash"]),
        (Cond::WithRole(2), vec!["carol", "zoe"]),
        (Cond::WithRole(4), vec!["bob"]),
        (Cond::WithRole(8), vec!["d.obrien"]),
        (Cond::Country("NL".into()), vec!["alice", "anon-0000004"]),
        (Cond::Country("nl".into()), vec![]),
        (Cond::Language("en".into()), vec!["anon-0000005", "d.obrien", "pct", "under_score", "back\\slash"]),
        (Cond::Team("Otters".into()), vec!["alice", "bob"]),
        (Cond::Team("otters".into()), vec![]),
        (Cond::Anonymous, vec!["anon-0000004", "anon-0000005"]),
        (Cond::Active, vec!["alice", "bob", "anon-0000004", "d.obrien", "pct", "under_score", "back\\slash", "zoe"]),
        (Cond::Suspended, vec!["carol", "anon-0000005"]),
        (Cond::Licensed, vec!["alice", "carol", "anon-0000005", "d.obrien", "zoe"]),
        (Cond::Unlicensed, vec!["bob", "anon-0000004", "pct", "under_score", "back\\slash"]),
        // A bare date sorts before every time of that day.
        (Cond::CreatedBefore("2025-01-01".into()), vec!["alice", "bob", "carol"]),
        (Cond::CreatedFrom("2025-07-04".into()), vec!["d.obrien", "pct", "under_score", "back\\slash", "zoe"]),
        (Cond::InSeries(1), vec!["alice", "bob", "carol", "anon-0000004", "anon-0000005", "d.obrien", "zoe"]),
        (Cond::InSeries(2), vec![]),
        (Cond::EnrolledIn(2), vec!["alice", "d.obrien"]),
        (Cond::EnrolledIn(3), vec![]),
        (Cond::NotEnrolledIn(1), vec!["d.obrien", "pct", "under_score", "back\\slash"]),
        (Cond::Where(f("country"), CmpOp::Eq, text("GB")), vec!["pct", "under_score"]),
        (Cond::Where(f("country"), CmpOp::Ne, text("GB")), vec!["alice", "bob", "carol", "anon-0000004", "anon-0000005", "d.obrien", "back\\slash", "zoe"]),
        (Cond::Where(f("created_at"), CmpOp::Lt, text("2024-06-30T23:59:59Z")), vec!["alice", "bob"]),
        (Cond::Where(f("created_at"), CmpOp::Le, text("2024-06-30T23:59:59Z")), vec!["alice", "bob", "carol"]),
        (Cond::Where(f("created_at"), CmpOp::Gt, text("2026-01-02T03:04:05Z")), vec!["zoe"]),
        (Cond::Where(f("created_at"), CmpOp::Ge, text("2026-01-02T03:04:05Z")), vec!["back\\slash", "zoe"]),
        (Cond::Where(f("id"), CmpOp::Gt, Value::Integer(8)), vec!["back\\slash", "zoe"]),
        (Cond::Where(f("anonymous"), CmpOp::Eq, Value::Integer(1)), vec!["anon-0000004", "anon-0000005"]),
        (Cond::Where(f("email"), CmpOp::Like, text("%@example.com")), vec!["anon-0000005", "pct", "under_score", "back\\slash"]),
        // LIKE ignores ASCII case, as SQLite does.
        (Cond::Where(f("username"), CmpOp::Like, text("ALICE")), vec!["alice"]),
        // The escape character makes `_` and `%` literal.
        (Cond::Where(f("username"), CmpOp::Like, text("%\\_%")), vec!["under_score"]),
        (Cond::Where(f("last_name"), CmpOp::Like, text("100\\%%")), vec!["pct"]),
        (Cond::Where(f("username"), CmpOp::Like, text("%\\\\%")), vec!["back\\slash"]),
        (Cond::WhereIn(f("country"), vec![text("NL"), text("BE")]), vec!["alice", "anon-0000004", "zoe"]),
        (Cond::WhereIn(f("country"), vec![]), vec![]),
        (Cond::IsNull(f("team"), true), vec!["carol", "anon-0000004", "pct", "under_score", "back\\slash"]),
        (Cond::IsNull(f("email"), true), vec!["anon-0000004"]),
        (Cond::IsNull(f("team"), false), vec!["alice", "bob", "anon-0000005", "d.obrien", "zoe"]),
    ];
    for (c, expected) in cases {
        check(&conn, Kind::Members, vec![cond(c)], &expected);
    }
}

#[test]
fn participant_conditions_select_the_right_participants() {
    let conn = fixture();
    let f = participant_field;
    #[rustfmt::skip]
    let cases: Vec<(Cond, Vec<&str>)> = vec![
        (Cond::Passed, vec!["alice"]),
        (Cond::Failed, vec!["carol"]),
        (Cond::Undecided, vec!["bob", "anon-0000004", "anon-0000005", "zoe"]),
        (Cond::DeadlineBefore("2026-11-21".into()), vec!["alice", "bob", "zoe"]),
        (Cond::Overdue("2026-11-21".into()), vec!["bob", "zoe"]),
        (Cond::Overdue("2026-11-02".into()), vec!["bob"]),
        (Cond::Invited, vec!["alice", "carol", "anon-0000004"]),
        (Cond::NotInvited, vec!["bob", "anon-0000005", "zoe"]),
        (Cond::Inactive, vec!["carol"]),
        (Cond::CourseActive, vec!["alice", "bob", "anon-0000004", "anon-0000005", "zoe"]),
        (Cond::IsNull(f("deadline"), true), vec!["carol", "anon-0000005"]),
        (Cond::IsNull(f("score"), false), vec!["alice", "carol"]),
        (Cond::Where(f("score"), CmpOp::Ge, Value::Real(50.0)), vec!["alice"]),
        (Cond::Where(f("status"), CmpOp::Ne, text("undecided")), vec!["alice", "carol"]),
        (Cond::Where(f("member_status"), CmpOp::Eq, text("suspended")), vec!["carol", "anon-0000005"]),
        (Cond::Where(f("invitations"), CmpOp::Ge, Value::Integer(1)), vec!["alice", "carol", "anon-0000004"]),
        (Cond::WhereIn(f("status"), vec![text("passed"), text("failed")]), vec!["alice", "carol"]),
        // Member conditions work on participants too, within the course.
        (Cond::Anonymous, vec!["anon-0000004", "anon-0000005"]),
        (Cond::Country("NL".into()), vec!["alice", "anon-0000004"]),
        (Cond::InGroup(2), vec!["bob", "carol"]),
        (Cond::EnrolledIn(2), vec!["alice"]),
        (Cond::NotEnrolledIn(2), vec!["bob", "carol", "anon-0000004", "anon-0000005", "zoe"]),
        (Cond::Search("aebelo".into()), vec!["zoe"]),
    ];
    for (c, expected) in cases {
        check(&conn, participants(), vec![cond(c)], &expected);
    }
    // The other course has its own participants.
    check(
        &conn,
        Kind::Participants { course_id: 2 },
        vec![],
        &["d.obrien", "alice"],
    );
    check(&conn, Kind::Participants { course_id: 3 }, vec![], &[]);
}

#[test]
fn combined_conditions_intersect() {
    let conn = fixture();
    check(
        &conn,
        Kind::Members,
        vec![
            cond(Cond::InGroup(1)),
            cond(Cond::Unlicensed),
            cond(Cond::Active),
            cond(Cond::NotInGroup(2)),
        ],
        &["anon-0000004", "pct"],
    );
    check(
        &conn,
        participants(),
        vec![
            cond(Cond::Undecided),
            cond(Cond::CourseActive),
            cond(Cond::NotInvited),
            cond(Cond::Active),
        ],
        &["bob", "zoe"],
    );
}

// ---------------------------------------------------------------------------
// search(): literal text, folded accents and case
// ---------------------------------------------------------------------------

#[test]
fn search_folds_accents_and_case() {
    let conn = fixture();
    assert_eq!(search(&conn, "muller"), ["bob"]);
    assert_eq!(search(&conn, "MÜLLER"), ["bob"]);
    assert_eq!(search(&conn, "Müller"), ["bob"]);
    assert_eq!(search(&conn, "chloe"), ["carol"]);
    assert_eq!(search(&conn, "LEFÈVRE"), ["carol"]);
    assert_eq!(search(&conn, "Æbelø"), ["zoe"]);
    assert_eq!(search(&conn, "aebelo"), ["zoe"]);
    assert_eq!(search(&conn, "donal"), ["d.obrien"]);
}

#[test]
fn search_looks_in_username_email_and_names() {
    let conn = fixture();
    assert_eq!(search(&conn, "example.de"), ["bob"]);
    assert_eq!(
        search(&conn, "@example.com"),
        ["anon-0000005", "pct", "under_score", "back\\slash"]
    );
    assert_eq!(
        search(&conn, "anon-000000"),
        ["anon-0000004", "anon-0000005"]
    );
    // First and last name are one text, so a full name is found.
    assert_eq!(search(&conn, "alice de vries"), ["alice"]);
    assert!(search(&conn, "nobody-like-this").is_empty());
}

#[test]
fn search_treats_quotes_wildcards_and_backslashes_literally() {
    let conn = fixture();
    assert_eq!(search(&conn, "O'Brien"), ["d.obrien"]);
    assert_eq!(search(&conn, "'"), ["d.obrien"]);
    assert_eq!(search(&conn, "\"q\""), ["back\\slash"]);
    assert_eq!(search(&conn, "\""), ["back\\slash"]);
    assert_eq!(search(&conn, "100%"), ["pct"]);
    assert_eq!(search(&conn, "%"), ["pct"]);
    assert_eq!(search(&conn, "_"), ["under_score"]);
    assert_eq!(search(&conn, "under_"), ["under_score"]);
    assert_eq!(search(&conn, "\\"), ["back\\slash"]);
    assert_eq!(search(&conn, "back\\s"), ["back\\slash"]);
    assert!(search(&conn, "%%").is_empty());
    assert!(search(&conn, "a%e").is_empty());
    assert!(search(&conn, "_o_").is_empty());
    assert!(search(&conn, "' OR '1'='1").is_empty());
    // The table is still there after all that.
    assert_eq!(count(&conn, &Query::new(Kind::Members)), 10);
}
