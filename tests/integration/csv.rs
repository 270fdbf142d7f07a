//! CSV export and import (SPEC section 4): round trips, every import rule,
//! the plan, the safety rules (all-or-nothing, sync thresholds,
//! `--skip-invalid`), a corpus of malformed files, participations, the
//! script functions `export_csv`/`import_csv`, and the `runs` record.
//!
//! Most tests start from `academy()`, a five-member academy written as SQL, so
//! every expected value is known; the round trips and the 10% threshold use
//! `init --demo 200`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};

use crate::support::{Env, Out};

type Dump = BTreeMap<String, Vec<Vec<String>>>;

const HEADER: &str = "username,email,first_name,last_name,language,country,visibility,team,roles,groups,anonymous,license,suspended,deleted";

/// Five members (four holding a seat of five), three groups, two courses,
/// four participations (one passed with a certificate), one queued message.
const FIXTURE_SQL: &str = r#"
UPDATE license_pool SET seats = 5;
INSERT INTO groups (id, name, created_at) VALUES
    (1, 'sales', '2025-01-01T00:00:00Z'),
    (2, 'support', '2025-01-01T00:00:00Z'),
    (3, 'hr', '2025-01-01T00:00:00Z');
INSERT INTO members (id, username, email, first_name, last_name, country, language, visibility,
        team, roles, anonymous, status, license, access_code_hash, search_key, created_at, updated_at) VALUES
    (1, 'ada', 'ada@example.org', 'Ada', 'Lovelace', 'GB', 'en', 'public', 'Falcons', 9, 0, 'active', 1,
        NULL, 'ada ada@example.org ada lovelace', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z'),
    (2, 'bob', 'bob@example.org', 'Bob', 'Builder', 'NL', 'nl', 'members', '', 1, 0, 'active', 1,
        NULL, 'bob bob@example.org bob builder', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z'),
    (3, 'chloe', 'chloe@example.fr', 'Chloé', 'Dupont', 'FR', 'fr', 'hidden', 'Herons', 3, 0, 'suspended', 1,
        NULL, 'chloe chloe@example.fr chloe dupont', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z'),
    (4, 'anon-1', '', '', '', 'DE', 'de', 'hidden', '', 1, 1, 'active', 0,
        'sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'anon-1', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z'),
    (5, 'dan', 'dan@example.com', 'Dan', 'Smith', 'US', 'en', 'members', 'Badgers', 5, 0, 'active', 1,
        NULL, 'dan dan@example.com dan smith', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z');
INSERT INTO group_members (group_id, member_id) VALUES (1, 1), (2, 1), (1, 2), (3, 5);
INSERT INTO courses (id, code, title, created_at) VALUES
    (1, 'RUST-101', 'Rust', '2025-01-01T00:00:00Z'),
    (2, 'GIT-101', 'Git', '2025-01-01T00:00:00Z');
INSERT INTO participations (id, member_id, course_id, status, completed_at, deadline, active, enrolled_at) VALUES
    (1, 1, 1, 'passed', '2025-02-01T00:00:00Z', NULL, 1, '2025-01-01T00:00:00Z'),
    (2, 2, 1, 'undecided', NULL, '2027-01-31', 1, '2025-01-01T00:00:00Z'),
    (3, 3, 2, 'failed', '2025-02-01T00:00:00Z', NULL, 1, '2025-01-01T00:00:00Z'),
    (4, 5, 2, 'undecided', NULL, NULL, 0, '2025-01-01T00:00:00Z');
INSERT INTO certificates (id, participation_id, attempt, serial, issued_on) VALUES
    (1, 1, 1, 'RC-00000001', '2025-02-01');
INSERT OR REPLACE INTO settings (key, value) VALUES ('certificate_serial', '1');
INSERT INTO outbox (id, member_id, recipient, subject, body, kind, created_at) VALUES
    (1, 2, 'bob@example.org', 'Welcome', 'Hi Bob', 'invitation', '2025-01-01T00:00:00Z');
"#;

/// `rollcall export` of the fixture, byte for byte.
const FIXTURE_EXPORT: &str = "\
username,email,first_name,last_name,language,country,visibility,team,roles,groups,anonymous,license,suspended,deleted
ada,ada@example.org,Ada,Lovelace,en,GB,public,Falcons,learner;admin,sales;support,0,1,0,0
bob,bob@example.org,Bob,Builder,nl,NL,members,,learner,sales,0,1,0,0
chloe,chloe@example.fr,Chloé,Dupont,fr,FR,hidden,Herons,learner;author,,0,1,1,0
anon-1,,,,de,DE,hidden,,learner,,1,0,0,0
dan,dan@example.com,Dan,Smith,en,US,members,Badgers,learner;manager,hr,0,1,0,0
";

/// `rollcall export --participations` of the fixture.
const FIXTURE_PARTICIPATIONS: &str = "\
course,username,status,deadline,active
GIT-101,chloe,failed,,1
GIT-101,dan,undecided,,0
RUST-101,ada,passed,,1
RUST-101,bob,undecided,2027-01-31,1
";

// ---------------------------------------------------------------------------
// helpers

/// An initialised database holding `FIXTURE_SQL`.
fn academy() -> Env {
    let env = Env::new();
    env.rollcall(&["-q", "init"]).success();
    env.conn()
        .execute_batch(FIXTURE_SQL)
        .expect("load the fixture");
    assert_eq!(env.int("SELECT used FROM license_pool"), 4);
    env
}

fn dump(env: &Env) -> Dump {
    env.dump().into_iter().collect()
}

/// Every table but `runs`, which records failed and refused imports too.
fn dump_without_runs(env: &Env) -> Dump {
    let mut dump = dump(env);
    assert!(
        dump.remove("runs").is_some(),
        "the database has a runs table"
    );
    dump
}

/// `[id, outcome, dry_run, changes, error, source]` of every run.
fn runs(env: &Env) -> Vec<Vec<String>> {
    env.rows(
        "SELECT id, outcome, dry_run, changes, coalesce(error, ''), source FROM runs ORDER BY id",
    )
}

/// Asserts that the dumps are equal, naming the first table that differs.
#[track_caller]
fn assert_same(before: &Dump, after: &Dump, what: &str) {
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "{what}: the tables differ"
    );
    for (table, rows) in before {
        assert_eq!(
            rows, &after[table],
            "{what}: table {table} changed although nothing should have"
        );
    }
}

/// Writes bytes into the test folder and returns the path as text.
fn write_bytes(env: &Env, name: &str, bytes: &[u8]) -> String {
    std::fs::write(env.path(name), bytes).expect("write the file");
    name.to_string()
}

/// `rollcall --json [GLOBAL...] import FILE ARGS...`.
fn import_json(env: &Env, file: &str, args: &[&str]) -> Out {
    let mut all = vec!["--json", "import", file];
    all.extend_from_slice(args);
    env.rollcall(&all)
}

const COUNT_NAMES: [&str; 7] = [
    "created",
    "updated",
    "unchanged",
    "suspended",
    "reactivated",
    "deleted",
    "rejected",
];

/// Asserts the JSON report of a successful import: the named counts, every
/// other count zero, and `dry_run`.
#[track_caller]
fn assert_counts(out: &Out, dry_run: bool, expected: &[(&str, u64)]) {
    out.success().no_panic();
    let report = out.json();
    for name in COUNT_NAMES {
        let want = expected
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, v)| *v);
        assert_eq!(
            report[name],
            json!(want),
            "count {name} in {report}\n--- stderr:\n{}",
            out.stderr
        );
    }
    assert_eq!(report["dry_run"], json!(dry_run), "dry_run in {report}");
}

/// The line numbers an error report names (`line N:` or `line N (`), in order.
fn reported_lines(text: &str) -> Vec<u64> {
    let mut lines = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("line ") {
        rest = &rest[at + 5..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            continue;
        }
        let after = &rest[digits.len()..];
        if after.starts_with(':') || after.starts_with(" (") {
            lines.push(digits.parse().expect("digits"));
        }
    }
    lines
}

/// The stderr line that reports `line`, if any.
fn problem_at(stderr: &str, line: u64) -> Option<&str> {
    let colon = format!("line {line}:");
    let paren = format!("line {line} (");
    stderr
        .lines()
        .find(|l| l.contains(&colon) || l.contains(&paren))
}

/// Asserts that stderr reports exactly `problems` (line, text), in order.
#[track_caller]
fn assert_problems(out: &Out, problems: &[(u64, &str)]) {
    let lines: Vec<u64> = problems.iter().map(|(l, _)| *l).collect();
    assert_eq!(
        reported_lines(&out.stderr),
        lines,
        "the reported lines differ; stderr:\n{}",
        out.stderr
    );
    for (line, text) in problems {
        let reported = problem_at(&out.stderr, *line).unwrap_or_default();
        assert!(
            reported.contains(text),
            "line {line} should say {text:?}; stderr:\n{}",
            out.stderr
        );
    }
}

/// A member as `[email, first_name, last_name, language, country, visibility,
/// team, roles, anonymous, status, license, groups]`, or None.
fn member(env: &Env, username: &str) -> Option<Vec<String>> {
    let conn = env.conn();
    let row = conn.query_row(
        "SELECT email, first_name, last_name, language, country, visibility, team,
                CAST(roles AS TEXT), CAST(anonymous AS TEXT), status, CAST(license AS TEXT),
                coalesce((SELECT group_concat(name, ';') FROM (SELECT g.name FROM group_members gm
                    JOIN groups g ON g.id = gm.group_id WHERE gm.member_id = m.id ORDER BY g.name)), '')
         FROM members m WHERE username = ?1",
        [username],
        |r| (0..12).map(|i| r.get::<_, String>(i)).collect::<Result<Vec<_>, _>>(),
    );
    match row {
        Ok(fields) => Some(fields),
        Err(rusqlite::Error::QueryReturnedNoRows) => None,
        Err(e) => panic!("read member {username}: {e}"),
    }
}

/// The row of `username` in the members table, every column.
fn member_row(env: &Env, username: &str) -> Vec<String> {
    let rows = env.rows(&format!(
        "SELECT * FROM members WHERE username = '{username}'"
    ));
    assert_eq!(rows.len(), 1, "one member {username}");
    rows.into_iter().next().expect("one row")
}

fn usernames(env: &Env) -> Vec<String> {
    env.rows("SELECT username FROM members ORDER BY id")
        .into_iter()
        .map(|mut r| r.remove(0))
        .collect()
}

/// `(id, username)` of every member.
fn ids(env: &Env) -> BTreeSet<(String, String)> {
    env.rows("SELECT id, username FROM members")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

/// Every record of a CSV file (any delimiter), header first.
fn read_csv(path: &Path, delimiter: u8) -> Vec<Vec<String>> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .flexible(true)
        .from_path(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    reader
        .records()
        .map(|r| r.expect("a CSV record").iter().map(String::from).collect())
        .collect()
}

fn read(env: &Env, name: &str) -> String {
    std::fs::read_to_string(env.path(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// The files in the test folder, but the database and its journals.
fn files(env: &Env) -> BTreeSet<String> {
    std::fs::read_dir(env.path("."))
        .expect("list the folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| !n.starts_with("t.db"))
        .collect()
}

// ---------------------------------------------------------------------------
// export and round trips

#[test]
fn export_of_the_fixture_is_exactly_the_contract_and_has_no_access_codes() {
    let env = academy();
    let before = dump(&env);
    let out = env.rollcall(&["export", "out.csv"]);
    out.success().no_panic().stdout_is("");
    out.stderr_has("exported 5 members to out.csv");
    let text = read(&env, "out.csv");
    assert_eq!(text, FIXTURE_EXPORT);
    assert!(text.starts_with(HEADER));
    assert!(
        !text.contains("sha256") && !text.contains("0f1e2d3c"),
        "an access code hash was exported"
    );
    // Exporting changes nothing and is no run.
    assert_same(&before, &dump(&env), "export");
}

#[test]
fn export_with_semicolon_tab_and_bom() {
    let env = academy();
    env.rollcall(&["export", "comma.csv"]).success();
    env.rollcall(&["export", "semi.csv", "--delimiter", ";", "--bom"])
        .success();
    env.rollcall(&["export", "tab.tsv", "--delimiter", "tab"])
        .success();
    let bytes = std::fs::read(env.path("semi.csv")).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBFusername;email;first_name;"));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(
        text.contains("\nada;ada@example.org;Ada;Lovelace;en;GB;public;Falcons;\"learner;admin\";\"sales;support\";0;1;0;0\n"),
        "{text}"
    );
    write_bytes(&env, "semi-nobom.csv", &bytes[3..]);
    let tab = read(&env, "tab.tsv");
    assert!(tab.starts_with(&HEADER.replace(',', "\t")), "{tab}");
    let comma = read_csv(&env.path("comma.csv"), b',');
    assert_eq!(comma.len(), 6);
    assert_eq!(read_csv(&env.path("semi-nobom.csv"), b';'), comma);
    assert_eq!(read_csv(&env.path("tab.tsv"), b'\t'), comma);
    let out = env.rollcall(&["export", "x.csv", "--delimiter", "|"]);
    out.code(2);
    assert!(!env.path("x.csv").exists());
}

/// Exports the demo academy with `args`, applies `edit` to the bytes and
/// imports the result: nothing may change.
fn assert_round_trip(args: &[&str], edit: fn(Vec<u8>) -> Vec<u8>) {
    let env = Env::demo(200);
    let mut export = vec!["export", "out.csv"];
    export.extend_from_slice(args);
    env.rollcall(&export)
        .success()
        .stderr_has("exported 200 members");
    let bytes = edit(std::fs::read(env.path("out.csv")).unwrap());
    write_bytes(&env, "in.csv", &bytes);
    let before = dump_without_runs(&env);
    let runs_before = runs(&env).len();
    let out = import_json(&env, "in.csv", &[]);
    assert_counts(&out, false, &[("unchanged", 200)]);
    assert_same(&before, &dump_without_runs(&env), "round trip");
    let runs = runs(&env);
    assert_eq!(runs.len(), runs_before + 1);
    let run = runs.last().unwrap();
    assert_eq!((run[1].as_str(), run[3].as_str()), ("success", "0"));
}

fn crlf(bytes: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 20);
    for b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

#[test]
fn round_trip_with_commas_gives_zero_changes() {
    assert_round_trip(&[], |b| b);
}

#[test]
fn round_trip_with_semicolons_and_bom_gives_zero_changes() {
    assert_round_trip(&["--delimiter", ";", "--bom"], |b| {
        assert!(b.starts_with(b"\xEF\xBB\xBFusername;email;"));
        b
    });
}

#[test]
fn round_trip_with_tabs_gives_zero_changes() {
    assert_round_trip(&["--delimiter", "tab"], |b| {
        assert!(b.starts_with(b"username\temail\t"));
        b
    });
}

#[test]
fn round_trip_through_crlf_line_ends_gives_zero_changes() {
    assert_round_trip(&[], |b| {
        let b = crlf(b);
        assert!(b.windows(2).filter(|w| w == b"\r\n").count() == 201);
        b
    });
    assert_round_trip(&["--delimiter", ";", "--bom"], crlf);
}

#[test]
fn export_neutralises_formula_cells_and_they_round_trip() {
    let env = Env::demo(200);
    let target = usernames(&env)[5].clone();
    let other = usernames(&env)[6].clone();
    let third = usernames(&env)[7].clone();
    let fourth = usernames(&env)[8].clone();
    env.conn()
        .execute_batch(&format!(
            "UPDATE members SET first_name = '=HYPERLINK(\"http://x\")', last_name = '@SUM(A1)',
                    team = '-1+2' WHERE username = '{target}';
             UPDATE members SET first_name = '+31 6 1234', last_name = 'Plain' WHERE username = '{other}';
             UPDATE members SET first_name = '@home' WHERE username = '{third}';
             UPDATE members SET first_name = '-dash', email = '-x@example.org' WHERE username = '{fourth}';"
        ))
        .unwrap();
    env.rollcall(&["export", "out.csv"]).success();
    let raw = read(&env, "out.csv");
    let line = raw
        .lines()
        .find(|l| l.starts_with(&format!("{target},")))
        .unwrap();
    assert!(
        line.contains(",\"'=HYPERLINK(\"\"http://x\"\")\",'@SUM(A1),") && line.contains(",'-1+2,"),
        "{line}"
    );
    let rows = read_csv(&env.path("out.csv"), b',');
    let row = rows.iter().find(|r| r[0] == target).unwrap();
    assert_eq!(row[2], "'=HYPERLINK(\"http://x\")");
    assert_eq!(row[3], "'@SUM(A1)");
    assert_eq!(row[7], "'-1+2");
    let row = rows.iter().find(|r| r[0] == other).unwrap();
    assert_eq!((row[2].as_str(), row[3].as_str()), ("'+31 6 1234", "Plain"));
    let row = rows.iter().find(|r| r[0] == third).unwrap();
    assert_eq!(row[2], "'@home");
    let row = rows.iter().find(|r| r[0] == fourth).unwrap();
    assert_eq!(
        (row[1].as_str(), row[2].as_str()),
        ("'-x@example.org", "'-dash")
    );
    // No cell of the whole file starts with a formula character.
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "unneutralised cell {cell:?}"
            );
        }
    }
    let before = dump_without_runs(&env);
    assert_counts(
        &import_json(&env, "out.csv", &[]),
        false,
        &[("unchanged", 200)],
    );
    assert_same(&before, &dump_without_runs(&env), "formula round trip");
    assert_eq!(
        member(&env, &target).unwrap()[1],
        "=HYPERLINK(\"http://x\")"
    );
}

#[test]
fn a_value_starting_with_an_apostrophe_and_a_formula_character_round_trips() {
    let env = academy();
    env.conn()
        .execute_batch(
            "UPDATE members SET first_name = '''=1', team = '''-' WHERE username = 'ada'",
        )
        .unwrap();
    env.rollcall(&["export", "out.csv"]).success();
    let before = dump_without_runs(&env);
    assert_counts(
        &import_json(&env, "out.csv", &[]),
        false,
        &[("unchanged", 5)],
    );
    assert_same(&before, &dump_without_runs(&env), "apostrophe round trip");
    assert_eq!(member(&env, "ada").unwrap()[1], "'=1");
}

#[test]
fn participations_export_is_exact_and_round_trips() {
    let env = academy();
    env.rollcall(&["export", "--participations", "p.csv"])
        .success()
        .stderr_has("exported 4 participations to p.csv");
    assert_eq!(read(&env, "p.csv"), FIXTURE_PARTICIPATIONS);
    let before = dump_without_runs(&env);
    assert_counts(
        &import_json(&env, "p.csv", &["--participations"]),
        false,
        &[("unchanged", 4)],
    );
    assert_same(
        &before,
        &dump_without_runs(&env),
        "participations round trip",
    );

    let env = Env::demo(200);
    let total = env.int("SELECT count(*) FROM participations") as u64;
    assert!(total > 100);
    for (file, args) in [
        ("p.csv", vec![]),
        ("p2.csv", vec!["--delimiter", ";", "--bom"]),
    ] {
        let mut export = vec!["export", "--participations", file];
        export.extend(args);
        env.rollcall(&export).success();
        let bytes = crlf(std::fs::read(env.path(file)).unwrap());
        write_bytes(&env, file, &bytes);
        let before = dump_without_runs(&env);
        assert_counts(
            &import_json(&env, file, &["--participations"]),
            false,
            &[("unchanged", total)],
        );
        assert_same(&before, &dump_without_runs(&env), file);
    }
}

// ---------------------------------------------------------------------------
// import rules

#[test]
fn import_reads_bom_semicolons_tabs_and_crlf() {
    let variants: [(&str, &[u8]); 6] = [
        ("plain", b"username,team\nada,Owls\n"),
        ("bom", b"\xEF\xBB\xBFusername,team\nada,Owls\n"),
        ("semicolon", b"username;team\nada;Owls\n"),
        ("tab", b"username\tteam\nada\tOwls\n"),
        ("crlf", b"username,team\r\nada,Owls\r\n"),
        (
            "bom, tab, crlf, no final line end",
            b"\xEF\xBB\xBFusername\tteam\r\nada\tOwls",
        ),
    ];
    for (what, bytes) in variants {
        let env = academy();
        let mut expected = member(&env, "ada").unwrap();
        expected[6] = "Owls".into();
        let bob = member_row(&env, "bob");
        write_bytes(&env, "in.csv", bytes);
        let out = import_json(&env, "in.csv", &[]);
        assert_counts(&out, false, &[("updated", 1)]);
        assert_eq!(member(&env, "ada").unwrap(), expected, "{what}");
        assert_eq!(member_row(&env, "bob"), bob, "{what}");
    }
}

#[test]
fn import_reads_bom_semicolons_and_crlf_together() {
    let env = academy();
    let bytes =
        b"\xEF\xBB\xBFusername;team;roles\r\nada;Owls;\"learner;admin;author\"\r\nbob;;learner";
    write_bytes(&env, "in.csv", bytes);
    let out = import_json(&env, "in.csv", &[]);
    assert_counts(&out, false, &[("updated", 1), ("unchanged", 1)]);
    let ada = member(&env, "ada").unwrap();
    assert_eq!((ada[6].as_str(), ada[7].as_str()), ("Owls", "11"));
}

#[test]
fn quoted_cells_keep_delimiters_but_newlines_in_names_are_refused() {
    let env = academy();
    env.write(
        "in.csv",
        "username,first_name,last_name\nada,\"Ada, Countess\",\"Lovelace; Byron\"\n",
    );
    assert_counts(&import_json(&env, "in.csv", &[]), false, &[("updated", 1)]);
    let ada = member(&env, "ada").unwrap();
    assert_eq!(
        (ada[1].as_str(), ada[2].as_str()),
        ("Ada, Countess", "Lovelace; Byron")
    );

    let before = dump_without_runs(&env);
    env.write(
        "nl.csv",
        "username,first_name,country\nbob,\"Bob\nthe builder\",NL\nchloe,\"Chloé\",XX\ndan,Dan,US\n",
    );
    let out = import_json(&env, "nl.csv", &[]);
    out.code(1).stdout_is("");
    assert_problems(
        &out,
        &[
            (
                2,
                "first_name \"Bob\\nthe builder\" contains a line break or control character",
            ),
            (4, "unknown country 'XX'"),
        ],
    );
    out.stderr_has("2 invalid rows in the file; nothing was changed");
    assert_same(&before, &dump_without_runs(&env), "quoted newline");
}

#[test]
fn columns_in_any_order_and_missing_columns_leave_fields_as_they_are() {
    let env = academy();
    let before: Vec<_> = ["ada", "bob", "chloe", "anon-1", "dan"]
        .iter()
        .map(|u| member(&env, u).unwrap())
        .collect();
    env.write(
        "in.csv",
        "visibility,country,username\nmembers,NL,ada\nmembers,NL,bob\nhidden,fr,chloe\n",
    );
    let out = import_json(&env, "in.csv", &[]);
    assert_counts(&out, false, &[("updated", 1), ("unchanged", 2)]);
    let mut ada = before[0].clone();
    ada[4] = "NL".into();
    ada[5] = "members".into();
    assert_eq!(member(&env, "ada").unwrap(), ada);
    for (i, u) in ["bob", "chloe", "anon-1", "dan"].iter().enumerate() {
        assert_eq!(&member(&env, u).unwrap(), &before[i + 1], "{u}");
    }
    // The suspended member stays suspended and keeps the seat: the column is missing.
    assert_eq!(member(&env, "chloe").unwrap()[9], "suspended");
    // A file with the username alone changes nothing.
    let before = dump_without_runs(&env);
    env.write("only.csv", "username\nada\nbob\n");
    assert_counts(
        &import_json(&env, "only.csv", &[]),
        false,
        &[("unchanged", 2)],
    );
    assert_same(&before, &dump_without_runs(&env), "username only");
}

#[test]
fn an_empty_cell_clears_optional_fields() {
    let env = academy();
    env.write(
        "in.csv",
        "username,email,first_name,last_name,team,country,groups,roles\nada,,,,,,,learner;admin\n",
    );
    env.rollcall(&["--dry-run", "import", "in.csv"])
        .success()
        .stdout_has("email: ada@example.org -> ;")
        .stdout_has("team: Falcons -> ;")
        .stdout_has("groups: sales;support -> ");
    let out = import_json(&env, "in.csv", &[]);
    assert_counts(&out, false, &[("updated", 1)]);
    assert_eq!(
        member(&env, "ada").unwrap(),
        [
            "", "", "", "en", "", "public", "", "9", "0", "active", "1", ""
        ]
    );
    assert_eq!(
        env.int("SELECT count(*) FROM group_members WHERE member_id = 1"),
        0
    );
    // The groups themselves stay.
    assert_eq!(env.int("SELECT count(*) FROM groups"), 3);
}

#[test]
fn an_empty_language_or_visibility_is_an_error() {
    let env = academy();
    let before = dump_without_runs(&env);
    env.write(
        "in.csv",
        "username,language,visibility\nada,,public\nbob,nl,\nchloe,fr,hidden\n",
    );
    let out = import_json(&env, "in.csv", &[]);
    out.code(1).stdout_is("");
    assert_problems(
        &out,
        &[
            (2, "language cannot be empty"),
            (3, "unknown visibility ''"),
        ],
    );
    assert_same(&before, &dump_without_runs(&env), "empty language");
}

#[test]
fn the_username_is_the_key_and_never_changes() {
    let env = academy();
    let before = ids(&env);
    // Spaces around the key are ignored; an unknown username is a new member,
    // even with the e-mail address of an existing one: nobody is renamed.
    env.write(
        "in.csv",
        "username,email,first_name\n  ada  ,ada@example.org,Augusta\nada.lovelace,ada@example.org,Ada\n",
    );
    assert_counts(
        &import_json(&env, "in.csv", &[]),
        false,
        &[("updated", 1), ("created", 1)],
    );
    let after = ids(&env);
    assert!(before.is_subset(&after), "{before:?} vs {after:?}");
    assert_eq!(after.len(), 6);
    assert_eq!(member(&env, "ada").unwrap()[1], "Augusta");
    assert_eq!(member(&env, "ada.lovelace").unwrap()[0], "ada@example.org");
}

#[test]
fn a_new_username_creates_a_member_with_defaults_and_a_seat_when_licensed() {
    let env = academy();
    env.write(
        "in.csv",
        "username,email,first_name,last_name,language,country,visibility,team,roles,groups,anonymous,license,suspended\n\
         eve,eve@example.net,Eve,Adams,ga,IE,public,Owls,learner;author,support;hr,0,1,0\n",
    );
    assert_counts(&import_json(&env, "in.csv", &[]), false, &[("created", 1)]);
    assert_eq!(
        member(&env, "eve").unwrap(),
        [
            "eve@example.net",
            "Eve",
            "Adams",
            "ga",
            "IE",
            "public",
            "Owls",
            "3",
            "0",
            "active",
            "1",
            "hr;support"
        ]
    );
    assert_eq!(env.int("SELECT used FROM license_pool"), 5);
    // With the username alone: the defaults, and no seat.
    env.write("min.csv", "username\nfrank\n");
    assert_counts(&import_json(&env, "min.csv", &[]), false, &[("created", 1)]);
    assert_eq!(
        member(&env, "frank").unwrap(),
        [
            "", "", "", "en", "", "members", "", "1", "0", "active", "0", ""
        ]
    );
    assert_eq!(env.int("SELECT used FROM license_pool"), 5);
    let audit = env
        .rows("SELECT action, username FROM audit WHERE username IN ('eve', 'frank') ORDER BY id");
    assert_eq!(audit, [["create", "eve"], ["create", "frank"]]);
}

#[test]
fn new_members_beyond_the_pool_are_refused_naming_the_problem() {
    let env = academy();
    let before = dump_without_runs(&env);
    // One free seat: eve takes it, frank and gus find none.
    env.write("in.csv", "username,license\neve,1\nfrank,1\ngus,0\nhal,1\n");
    let out = import_json(&env, "in.csv", &[]);
    out.code(1).stdout_is("").no_panic();
    assert_problems(
        &out,
        &[
            (
                3,
                "no free license seat for this member: all 5 seats are held (0 free)",
            ),
            (
                5,
                "no free license seat for this member: all 5 seats are held (0 free)",
            ),
        ],
    );
    assert_same(&before, &dump_without_runs(&env), "pool too small");
    // A seat released earlier in the same file can be taken by a later row.
    env.write("ok.csv", "username,license\nbob,0\neve,1\nfrank,1\n");
    assert_counts(
        &import_json(&env, "ok.csv", &[]),
        false,
        &[("updated", 1), ("created", 2)],
    );
    assert_eq!(env.int("SELECT used FROM license_pool"), 5);
    assert_eq!(member(&env, "bob").unwrap()[10], "0");
    assert_eq!(member(&env, "frank").unwrap()[10], "1");
}

#[test]
fn suspended_one_suspends_and_zero_reactivates() {
    let env = academy();
    env.write(
        "in.csv",
        "username,suspended\nada,1\nchloe,0\nbob,0\nanon-1,0\n",
    );
    let out = import_json(&env, "in.csv", &[]);
    assert_counts(
        &out,
        false,
        &[("suspended", 1), ("reactivated", 1), ("unchanged", 2)],
    );
    assert_eq!(member(&env, "ada").unwrap()[9], "suspended");
    assert_eq!(member(&env, "chloe").unwrap()[9], "active");
    // Suspended members keep their seat and their data.
    assert_eq!(member(&env, "ada").unwrap()[10], "1");
    assert_eq!(env.int("SELECT used FROM license_pool"), 4);
    assert_eq!(
        env.int("SELECT count(*) FROM participations WHERE member_id = 1"),
        1
    );
    let audit = env.rows(
        "SELECT action, username, before, after FROM audit WHERE run_id IS NOT NULL ORDER BY username",
    );
    assert_eq!(
        audit,
        [
            [
                "import suspend",
                "ada",
                "{\"suspended\":\"0\"}",
                "{\"suspended\":\"1\"}"
            ],
            [
                "import reactivate",
                "chloe",
                "{\"suspended\":\"1\"}",
                "{\"suspended\":\"0\"}"
            ]
        ]
    );
}

#[test]
fn deleted_one_deletes_permanently() {
    let env = academy();
    env.write(
        "in.csv",
        "username,email,deleted\nbob,bob@example.org,1\nada,ada@example.org,0\nghost,,1\n",
    );
    let out = import_json(&env, "in.csv", &[]);
    assert_counts(&out, false, &[("deleted", 1), ("unchanged", 2)]);
    assert_eq!(member(&env, "bob"), None);
    assert_eq!(member(&env, "ghost"), None);
    for (table, column) in [
        ("participations", "member_id"),
        ("group_members", "member_id"),
        ("outbox", "member_id"),
    ] {
        assert_eq!(
            env.int(&format!("SELECT count(*) FROM {table} WHERE {column} = 2")),
            0,
            "{table}"
        );
    }
    assert_eq!(env.int("SELECT used FROM license_pool"), 3);
    assert_eq!(
        env.rows("SELECT action, username, coalesce(member_id, 'NULL'), coalesce(before, 'NULL'), coalesce(after, 'NULL') FROM audit WHERE username = 'bob'"),
        [["delete", "bob", "NULL", "NULL", "NULL"]]
    );
    assert_eq!(usernames(&env), ["ada", "chloe", "anon-1", "dan"]);
}

#[test]
fn unknown_groups_are_refused_unless_create_groups() {
    let env = academy();
    let before = dump_without_runs(&env);
    env.write(
        "in.csv",
        "username,groups\nada,sales;mentors\nbob,sales\ndan,hr;mentors;alumni\n",
    );
    let out = import_json(&env, "in.csv", &[]);
    out.code(1).stdout_is("");
    assert_problems(
        &out,
        &[
            (
                2,
                "unknown group 'mentors' (create it first, or import with --create-groups)",
            ),
            (4, "unknown group 'alumni'"),
        ],
    );
    assert_same(&before, &dump_without_runs(&env), "unknown groups");

    let out = import_json(&env, "in.csv", &["--create-groups"]);
    assert_counts(&out, false, &[("updated", 2), ("unchanged", 1)]);
    assert_eq!(
        env.rows("SELECT name FROM groups ORDER BY id"),
        [["sales"], ["support"], ["hr"], ["mentors"], ["alumni"]]
    );
    assert_eq!(member(&env, "ada").unwrap()[11], "mentors;sales");
    assert_eq!(member(&env, "dan").unwrap()[11], "alumni;hr;mentors");
    assert_eq!(member(&env, "bob").unwrap()[11], "sales");
}

// ---------------------------------------------------------------------------
// the plan

/// An edit of the fixture touching every kind of plan row: ada updated and
/// suspended, bob unchanged, chloe updated and reactivated, anon-1 deleted
/// by `deleted`, eve created with a seat, dan absent (deleted in sync mode).
const EDIT: &str = "\
username,email,first_name,last_name,language,country,visibility,team,roles,groups,anonymous,license,suspended,deleted
ada,ada@example.org,Ada,Lovelace,en,GB,public,Owls,learner;admin,sales,0,1,1,0
bob,bob@example.org,Bob,Builder,nl,NL,members,,learner,sales,0,1,0,0
chloe,chloe@example.fr,Chloé,Dupont,fr,,hidden,Herons,learner;author,,0,1,0,0
anon-1,,,,de,DE,hidden,,learner,,1,0,0,1
eve,eve@example.net,Eve,Adams,en,IE,public,,learner;author,support,0,1,0,0
";

fn expected_plan() -> Value {
    json!([
        {"line": 2, "username": "ada", "action": "update, suspend",
         "changes": "team: Falcons -> Owls; suspended: 0 -> 1; groups: sales;support -> sales"},
        {"line": 3, "username": "bob", "action": "unchanged", "changes": ""},
        {"line": 4, "username": "chloe", "action": "update, reactivate",
         "changes": "country: FR -> ; suspended: 1 -> 0"},
        {"line": 5, "username": "anon-1", "action": "delete", "changes": "deleted = 1"},
        {"line": 6, "username": "eve", "action": "create",
         "changes": "email: eve@example.net; first_name: Eve; last_name: Adams; language: en; country: IE; visibility: public; roles: learner;author; groups: support; license: 1"},
        {"line": null, "username": "dan", "action": "delete", "changes": "absent from the file"},
    ])
}

const EDIT_COUNTS: [(&str, u64); 6] = [
    ("created", 1),
    ("updated", 2),
    ("unchanged", 1),
    ("suspended", 1),
    ("reactivated", 1),
    ("deleted", 2),
];

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let env = academy();
    env.write("edit.csv", EDIT);
    let before = dump(&env);
    let out = env.rollcall(&[
        "--dry-run",
        "import",
        "edit.csv",
        "--mode",
        "sync",
        "--max-deletions",
        "2",
    ]);
    out.success().no_panic();
    out.stdout_has("team: Falcons -> Owls; suspended: 0 -> 1; groups: sales;support -> sales")
        .stdout_has("update, suspend")
        .stdout_has("country: FR -> ; suspended: 1 -> 0")
        .stdout_has("update, reactivate")
        .stdout_has("deleted = 1")
        .stdout_has("absent from the file")
        .stdout_has("email: eve@example.net; first_name: Eve")
        .stdout_has("dry run: this is the plan; nothing was changed");
    let table_row = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .map(str::to_string)
    };
    assert!(table_row("ada").unwrap().contains("update, suspend"));
    assert!(table_row("chloe").unwrap().contains("update, reactivate"));
    assert!(table_row("anon-1").unwrap().contains("delete"));
    assert!(table_row("eve").unwrap().contains("create"));
    assert!(table_row("dan").unwrap().contains("delete"));
    assert_eq!(table_row("bob"), None, "unchanged rows are not shown");
    // The counts table.
    for (name, n) in [
        ("created", 1),
        ("updated", 2),
        ("unchanged", 1),
        ("suspended", 1),
        ("reactivated", 1),
        ("deleted", 2),
        ("rejected", 0),
    ] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.contains(name) && l.contains(&format!(" {n} "))),
            "{name} {n}:\n{}",
            out.stdout
        );
    }
    // Nothing changed, not even the runs.
    assert_same(&before, &dump(&env), "dry run");
    // --json: the counts, flagged as a dry run.
    let out = env.rollcall(&[
        "--json",
        "--dry-run",
        "import",
        "edit.csv",
        "--mode",
        "sync",
        "--max-deletions",
        "2",
    ]);
    assert_counts(&out, true, &EDIT_COUNTS);
    assert_same(&before, &dump(&env), "json dry run");
}

#[test]
fn plan_files_list_every_row_and_applying_does_exactly_that() {
    let env = academy();
    env.write("edit.csv", EDIT);
    let sync = ["--mode", "sync", "--max-deletions", "2"];
    let before = dump(&env);

    // --plan FILE.json alone plans and changes nothing.
    let mut args = vec!["--plan", "plan.json"];
    args.extend(sync);
    let out = import_json(&env, "edit.csv", &args);
    assert_counts(&out, true, &EDIT_COUNTS);
    assert_same(&before, &dump(&env), "--plan json");
    let plan: Value = serde_json::from_str(&read(&env, "plan.json")).expect("the plan is JSON");
    assert_eq!(plan, expected_plan());

    // --dry-run --plan FILE.csv: the same rows as CSV.
    let mut args = vec!["--dry-run", "import", "edit.csv", "--plan", "plan.csv"];
    args.extend(sync);
    env.rollcall(&args).success();
    assert_same(&before, &dump(&env), "--plan csv");
    let rows = read_csv(&env.path("plan.csv"), b',');
    assert_eq!(rows[0], ["line", "username", "action", "changes"]);
    let from_json: Vec<Vec<String>> = plan
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            vec![
                r["line"]
                    .as_u64()
                    .map(|l| l.to_string())
                    .unwrap_or_default(),
                r["username"].as_str().unwrap().to_string(),
                r["action"].as_str().unwrap().to_string(),
                r["changes"].as_str().unwrap().to_string(),
            ]
        })
        .collect();
    assert_eq!(rows[1..], from_json[..]);

    // Applying does what the plan said, and nothing else.
    let bob = member_row(&env, "bob");
    let out = import_json(&env, "edit.csv", &sync);
    assert_counts(&out, false, &EDIT_COUNTS);
    assert_eq!(usernames(&env), ["ada", "bob", "chloe", "eve"]);
    assert_eq!(
        member(&env, "ada").unwrap(),
        [
            "ada@example.org",
            "Ada",
            "Lovelace",
            "en",
            "GB",
            "public",
            "Owls",
            "9",
            "0",
            "suspended",
            "1",
            "sales"
        ]
    );
    assert_eq!(member_row(&env, "bob"), bob);
    assert_eq!(
        member(&env, "chloe").unwrap(),
        [
            "chloe@example.fr",
            "Chloé",
            "Dupont",
            "fr",
            "",
            "hidden",
            "Herons",
            "3",
            "0",
            "active",
            "1",
            ""
        ]
    );
    assert_eq!(
        member(&env, "eve").unwrap(),
        [
            "eve@example.net",
            "Eve",
            "Adams",
            "en",
            "IE",
            "public",
            "",
            "3",
            "0",
            "active",
            "1",
            "support"
        ]
    );
    // dan's seat is free again; eve holds the one that was free.
    assert_eq!(env.int("SELECT used FROM license_pool"), 4);
    let run = runs(&env).last().unwrap()[0].clone();
    let audit: BTreeSet<Vec<String>> = env
        .rows(&format!(
            "SELECT username, action FROM audit WHERE run_id = {run}"
        ))
        .into_iter()
        .collect();
    let expected: BTreeSet<Vec<String>> = [
        ["ada", "import update, suspend"],
        ["chloe", "import update, reactivate"],
        ["eve", "create"],
        ["anon-1", "delete"],
        ["dan", "delete"],
    ]
    .iter()
    .map(|r| r.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(audit, expected);
    // Every change the plan listed is in place: parse `field: before -> after`.
    let fields = [
        "email",
        "first_name",
        "last_name",
        "language",
        "country",
        "visibility",
        "team",
    ];
    for row in plan.as_array().unwrap() {
        if !row["action"].as_str().unwrap().starts_with("update") {
            continue;
        }
        let name = row["username"].as_str().unwrap();
        let now = member(&env, name).unwrap();
        for change in row["changes"].as_str().unwrap().split("; ") {
            let (field, values) = change.split_once(": ").unwrap();
            let (_, after) = values.split_once(" ->").unwrap();
            let after = after.trim_start();
            match fields.iter().position(|f| *f == field) {
                Some(i) => assert_eq!(now[i], after, "{name} {field}"),
                None if field == "groups" => assert_eq!(now[11], after, "{name} groups"),
                None if field == "suspended" => assert_eq!(
                    now[9],
                    if after == "1" { "suspended" } else { "active" },
                    "{name}"
                ),
                None => panic!("unexpected field {field}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// safety

#[test]
fn all_or_nothing_reports_every_bad_row_with_its_line() {
    let env = academy();
    let before = dump_without_runs(&env);
    let runs_before = runs(&env).len();
    env.write(
        "in.csv",
        "username,email,country,language,visibility,roles,suspended\n\
         ada,ada@example.org,GB,en,public,learner,0\n\
         bob,bob@@example.org,NL,nl,members,learner,0\n\
         eve,eve@example.net,IE,en,public,learner,0\n\
         chloe,chloe@example.fr,XX,fr,hidden,learner,0\n\
         dan,dan@example.com,US,klingon,members,learner,0\n\
         anon-1,,DE,de,secret,learner,maybe\n\
         frank,frank@example.net,IE,en,public,learner;pirate,0\n",
    );
    let out = import_json(&env, "in.csv", &[]);
    out.code(1).stdout_is("").no_panic();
    out.stderr_has("5 invalid rows in the file; nothing was changed");
    assert_problems(
        &out,
        &[
            (3, "'bob@@example.org' is not an e-mail address"),
            (5, "unknown country 'XX'"),
            (6, "unknown language 'klingon'"),
            (7, "unknown visibility 'secret'"),
            (8, "unknown role 'pirate'"),
        ],
    );
    // Every problem of a row is named.
    assert!(
        problem_at(&out.stderr, 7)
            .unwrap()
            .contains("suspended must be 0 or 1, not 'maybe'")
    );
    assert!(problem_at(&out.stderr, 3).unwrap().contains("(bob)"));
    assert_same(&before, &dump_without_runs(&env), "all or nothing");
    let runs = runs(&env);
    assert_eq!(runs.len(), runs_before + 1);
    assert_eq!(runs.last().unwrap()[1], "error");
}

#[test]
fn more_than_fifty_problems_are_counted_and_the_rest_summarised() {
    let env = academy();
    let before = dump_without_runs(&env);
    let mut text = String::from("username,country\n");
    for i in 0..60 {
        text.push_str(&format!("user{i},ZZ\n"));
    }
    env.write("in.csv", &text);
    let out = import_json(&env, "in.csv", &[]);
    out.code(1).stdout_is("");
    out.stderr_has("60 invalid rows in the file")
        .stderr_has("... and 10 more");
    assert_eq!(reported_lines(&out.stderr), (2..52).collect::<Vec<u64>>());
    assert_same(&before, &dump_without_runs(&env), "sixty problems");
}

#[test]
fn sync_deletes_absent_members() {
    let env = academy();
    let without_dan: String = FIXTURE_EXPORT
        .lines()
        .filter(|l| !l.starts_with("dan,"))
        .map(|l| format!("{l}\n"))
        .collect();
    env.write("in.csv", &without_dan);
    let rows_before: Vec<_> = ["ada", "bob", "chloe", "anon-1"]
        .iter()
        .map(|u| member_row(&env, u))
        .collect();
    // Upsert leaves dan alone.
    assert_counts(
        &import_json(&env, "in.csv", &[]),
        false,
        &[("unchanged", 4)],
    );
    assert!(member(&env, "dan").is_some());
    let out = import_json(&env, "in.csv", &["--mode", "sync", "--max-deletions", "1"]);
    assert_counts(&out, false, &[("unchanged", 4), ("deleted", 1)]);
    assert_eq!(member(&env, "dan"), None);
    assert_eq!(
        env.int("SELECT count(*) FROM participations WHERE member_id = 5"),
        0
    );
    for (i, u) in ["ada", "bob", "chloe", "anon-1"].iter().enumerate() {
        assert_eq!(member_row(&env, u), rows_before[i]);
    }
    assert_eq!(env.int("SELECT used FROM license_pool"), 3);
}

#[test]
fn sync_refuses_beyond_max_deletions_and_says_how_many() {
    let env = academy();
    env.write("in.csv", "username\nada\nbob\nchloe\n");
    let before = dump_without_runs(&env);
    let out = import_json(&env, "in.csv", &["--mode", "sync", "--max-deletions", "1"]);
    out.code(3).stdout_is("").no_panic();
    out.stderr_has("refused: this sync would delete 2 of 5 members, more than the limit of 1; nothing was changed");
    assert_same(&before, &dump_without_runs(&env), "max deletions");
    assert_eq!(runs(&env).last().unwrap()[1], "refused");
    // The default limit is 10%: none of 5 members.
    env.write("one.csv", "username\nada\nbob\nchloe\nanon-1\n");
    let out = import_json(&env, "one.csv", &["--mode", "sync"]);
    out.code(3)
        .stderr_has("would delete 1 of 5 members, more than the limit of 0");
    assert_same(&before, &dump_without_runs(&env), "default limit");
    // deleted=1 rows count towards the limit too.
    env.write(
        "del.csv",
        "username,deleted\nada,0\nbob,0\nchloe,0\nanon-1,1\ndan,0\n",
    );
    let out = import_json(&env, "del.csv", &["--mode", "sync"]);
    out.code(3).stderr_has("would delete 1 of 5 members");
    assert_same(&before, &dump_without_runs(&env), "deleted rows in sync");
}

#[test]
fn sync_refuses_beyond_ten_percent_of_the_demo_academy() {
    let env = Env::demo(200);
    env.rollcall(&["export", "all.csv"]).success();
    let all = read(&env, "all.csv");
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines.len(), 201);
    let keep = |n: usize| {
        lines[..=n]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };
    env.write("179.csv", &keep(179));
    env.write("180.csv", &keep(180));
    let before = dump_without_runs(&env);
    let out = import_json(&env, "179.csv", &["--mode", "sync"]);
    out.code(3)
        .stdout_is("")
        .stderr_has("would delete 21 of 200 members, more than the limit of 20");
    assert_same(&before, &dump_without_runs(&env), "over 10%");
    let out = import_json(&env, "180.csv", &["--mode", "sync"]);
    assert_counts(&out, false, &[("unchanged", 180), ("deleted", 20)]);
    let gone: Vec<String> = lines[181..]
        .iter()
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let left = usernames(&env);
    assert_eq!(left.len(), 180);
    for name in &gone {
        assert!(!left.contains(name), "{name} should be deleted");
    }
}

#[test]
fn empty_and_header_only_files_are_always_refused_in_sync_mode() {
    let env = academy();
    let before = dump_without_runs(&env);
    write_bytes(&env, "empty.csv", b"");
    env.write("header.csv", &format!("{HEADER}\n"));
    env.write("blank.csv", "username,email\n\n\n");
    for file in ["empty.csv", "header.csv", "blank.csv"] {
        let out = import_json(&env, file, &["--mode", "sync", "--max-deletions", "1000"]);
        assert!(
            matches!(out.code, Some(1 | 3)),
            "{file}: exit {:?}\n{}",
            out.code,
            out.stderr
        );
        out.stdout_is("").no_panic();
        if file == "empty.csv" {
            out.stderr_has("empty.csv is empty: it needs at least a header line");
        } else {
            out.code(3).stderr_has(
                "refused: the file has no member rows: in sync mode that would delete every member, so it is always refused",
            );
        }
        assert_same(&before, &dump_without_runs(&env), file);
    }
}

#[test]
fn header_only_in_upsert_mode_does_nothing() {
    let env = academy();
    let before = dump_without_runs(&env);
    env.write("header.csv", &format!("{HEADER}\r\n"));
    assert_counts(&import_json(&env, "header.csv", &[]), false, &[]);
    assert_same(&before, &dump_without_runs(&env), "header only");
    assert_eq!(runs(&env).last().unwrap()[1], "success");
}

#[test]
fn skip_invalid_applies_the_valid_rows_and_writes_the_rejects() {
    let env = academy();
    env.write(
        "in.csv",
        "username,email,country,team\n\
         ada,ada@example.org,GB,Owls\n\
         bob,not-an-email,NL,Owls\n\
         eve,eve@example.net,IE,\n\
         zed,zed@example.net,XX,Owls\n",
    );
    let bob = member_row(&env, "bob");
    let out = import_json(&env, "in.csv", &["--skip-invalid", "--rejects", "bad.csv"]);
    assert_counts(
        &out,
        false,
        &[("updated", 1), ("created", 1), ("rejected", 2)],
    );
    out.stderr_has("rows were rejected and written to bad.csv");
    assert_eq!(member(&env, "ada").unwrap()[6], "Owls");
    assert_eq!(member(&env, "eve").unwrap()[4], "IE");
    assert_eq!(member(&env, "zed"), None);
    assert_eq!(member_row(&env, "bob"), bob);
    assert_eq!(
        read_csv(&env.path("bad.csv"), b','),
        [
            vec!["username", "email", "country", "team", "reason"],
            vec![
                "bob",
                "not-an-email",
                "NL",
                "Owls",
                "'not-an-email' is not an e-mail address"
            ],
            vec![
                "zed",
                "zed@example.net",
                "XX",
                "Owls",
                "unknown country 'XX': use an ISO 3166-1 alpha-2 code such as NL, DE or FR"
            ],
        ]
    );
    // Without --rejects: FILE.rejects.csv beside the file.
    env.write("two.csv", "username,country\nbob,XX\nada,FR\n");
    let out = import_json(&env, "two.csv", &["--skip-invalid"]);
    assert_counts(&out, false, &[("updated", 1), ("rejected", 1)]);
    assert_eq!(
        read_csv(&env.path("two.rejects.csv"), b',')[1][..2],
        ["bob", "XX"]
    );
    // Nothing rejected: no rejects file.
    env.write("three.csv", "username,country\nbob,DE\n");
    assert_counts(
        &import_json(&env, "three.csv", &["--skip-invalid"]),
        false,
        &[("updated", 1)],
    );
    assert!(!env.path("three.rejects.csv").exists());
}

#[test]
fn sync_with_skip_invalid_keeps_members_whose_rows_were_rejected() {
    let env = academy();
    let text = FIXTURE_EXPORT.replace("bob,bob@example.org,", "bob,not-an-email,");
    env.write("in.csv", &text);
    let out = import_json(
        &env,
        "in.csv",
        &["--mode", "sync", "--skip-invalid", "--max-deletions", "5"],
    );
    assert_counts(&out, false, &[("unchanged", 4), ("rejected", 1)]);
    assert!(
        member(&env, "bob").is_some(),
        "bob is in the file (his row was rejected) but was deleted"
    );
}

#[test]
fn dry_run_with_skip_invalid_writes_no_rejects_file() {
    let env = academy();
    env.write("in.csv", "username,country\nbob,XX\nada,FR\n");
    let before = dump(&env);
    let out = env.rollcall(&["--json", "--dry-run", "import", "in.csv", "--skip-invalid"]);
    assert_counts(&out, true, &[("updated", 1), ("rejected", 1)]);
    assert_same(&before, &dump(&env), "dry run");
    assert!(
        !env.path("in.rejects.csv").exists(),
        "a dry run wrote in.rejects.csv"
    );
}

// ---------------------------------------------------------------------------
// the corpus of malformed files

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    args: &'static [&'static str],
    code: i32,
    /// `(line, text)`: every problem the report must name, in order; an empty
    /// list with a line of 0 for errors about the whole file.
    problems: Vec<(u64, &'static str)>,
    /// Text the error must contain besides the problems.
    text: &'static str,
}

fn case(name: &'static str, text: &str, problems: &[(u64, &'static str)]) -> Case {
    Case {
        name,
        bytes: text.as_bytes().to_vec(),
        args: &[],
        code: 1,
        problems: problems.to_vec(),
        text: "",
    }
}

fn corpus() -> Vec<Case> {
    let long = "x".repeat(101);
    let long_username = "u".repeat(151);
    vec![
        case(
            "comma header, semicolon row",
            "username,email\nada;ada@example.org\n",
            &[(2, "the row has 1 cells but the header has 2")],
        ),
        case(
            "semicolon header, comma row",
            "username;email\nada;ada@example.org\nbob,bob@example.org\n",
            &[(3, "the row has 1 cells but the header has 2")],
        ),
        case(
            "tab header, comma rows",
            "username\temail\tteam\nada\tada@example.org\tOwls\nbob,bob@example.org,Owls\n",
            &[(3, "the row has 1 cells but the header has 3")],
        ),
        case(
            "both delimiters in one row",
            "username,email,team\nada,ada@example.org;Owls\n",
            &[(2, "the row has 2 cells but the header has 3")],
        ),
        case(
            "a username twice",
            "username,team\nada,Owls\nbob,Owls\nada,Herons\n",
            &[(
                4,
                "the username appears twice in the file (first on line 2)",
            )],
        ),
        case(
            "a new username twice, CRLF and a blank line",
            "username,team\r\neve,Owls\r\nbob,Owls\r\n\r\neve,Herons\r\n",
            &[(
                5,
                "the username appears twice in the file (first on line 2)",
            )],
        ),
        case(
            "bad e-mail addresses",
            "username,email\nada,not-an-email\nbob,bob@localhost\nchloe,chloe @example.fr\ndan,dan@@example.com\nanon-1,anon@example.org\n",
            &[
                (2, "'not-an-email' is not an e-mail address"),
                (3, "'bob@localhost' is not an e-mail address"),
                (4, "'chloe @example.fr' is not an e-mail address"),
                (5, "'dan@@example.com' is not an e-mail address"),
            ],
        ),
        case(
            "unknown country",
            "username,country\nada,GB\nbob,XX\n",
            &[(3, "unknown country 'XX'")],
        ),
        case(
            "a country by name",
            "username,country\nada,Netherlands\n",
            &[(2, "unknown country 'Netherlands'")],
        ),
        case(
            "unknown language",
            "username,language\nada,english\n",
            &[(2, "unknown language 'english'")],
        ),
        case(
            "unknown role",
            "username,roles\nada,learner;wizard\n",
            &[(
                2,
                "unknown role 'wizard': use one of learner, author, manager, admin",
            )],
        ),
        case(
            "visibility secret",
            "username,visibility\nada,secret\n",
            &[(
                2,
                "unknown visibility 'secret': use one of public, members, hidden",
            )],
        ),
        case(
            "suspended=yes",
            "username,suspended\nada,yes\n",
            &[(2, "suspended must be 0 or 1, not 'yes'")],
        ),
        case(
            "license=2",
            "username,license\nada,2\n",
            &[(2, "license must be 0 or 1, not '2'")],
        ),
        case(
            "anonymous=true",
            "username,anonymous\nada,true\n",
            &[(2, "anonymous must be 0 or 1, not 'true'")],
        ),
        case(
            "deleted=y",
            "username,deleted\nada,y\n",
            &[(2, "deleted must be 0 or 1, not 'y'")],
        ),
        case(
            "too few cells",
            "username,email,team\nada,ada@example.org,Owls\nbob,bob@example.org\n",
            &[(3, "the row has 2 cells but the header has 3")],
        ),
        case(
            "too many cells",
            "username,email,team\nada,ada@example.org,Owls,extra\n",
            &[(2, "the row has 4 cells but the header has 3")],
        ),
        Case {
            bytes: b"username,first_name\nada,Ada\nbob,Ren\xe9\n".to_vec(),
            ..case(
                "Latin-1 in a row",
                "",
                &[(3, "column 'first_name' is not valid UTF-8")],
            )
        },
        Case {
            bytes: b"username,pr\xe9nom\nada,Ada\n".to_vec(),
            ..case(
                "Latin-1 in the header",
                "",
                &[(1, "column 2 of the header is not valid UTF-8")],
            )
        },
        Case {
            text: "is empty: it needs at least a header line",
            ..case("an empty file", "", &[])
        },
        case(
            "unknown column",
            "username,colour\nada,red\n",
            &[(1, "unknown column 'colour' in the header")],
        ),
        case(
            "duplicate column",
            "username,team,Team\nada,Owls,Owls\n",
            &[(1, "the column 'team' appears twice in the header")],
        ),
        case(
            "no username column",
            "email,team\nada@example.org,Owls\n",
            &[(1, "the header has no 'username' column")],
        ),
        case(
            "a username with spaces",
            "username,team\nada lovelace,Owls\n",
            &[(2, "the username \"ada lovelace\" contains spaces")],
        ),
        case(
            "an empty username",
            "username,team\nada,Owls\n,Herons\n",
            &[(3, "the username is empty")],
        ),
        case(
            "a username too long",
            &format!("username\n{long_username}\n"),
            &[(2, "the username is longer than 150 characters")],
        ),
        case(
            "a name too long",
            &format!("username,first_name\nada,{long}\n"),
            &[(2, "first_name is longer than 100 characters")],
        ),
        case(
            "an unclosed quote",
            "username,first_name,team\nada,\"Ada,Owls\nbob,Bob,Owls\n",
            &[(2, "a quoted cell opened on this line is never closed")],
        ),
        case(
            "a control character in a name",
            "username,first_name\nada,Ad\u{7}a\n",
            &[(
                2,
                "first_name \"Ad\\u{7}a\" contains a line break or control character",
            )],
        ),
        case(
            "a quoted newline in a name, then a later error",
            "username,first_name,country\nada,\"Ada\nMarie\",GB\nbob,Bob,NL\nchloe,Chloé,XX\n",
            &[
                (2, "contains a line break or control character"),
                (5, "unknown country 'XX'"),
            ],
        ),
        case(
            "the same with CRLF line ends",
            "username,first_name,country\r\nada,\"Ada\r\nMarie\",GB\r\nbob,Bob,NL\r\nchloe,Chloé,XX\r\n",
            &[
                (2, "contains a line break or control character"),
                (5, "unknown country 'XX'"),
            ],
        ),
        case(
            "blank lines are counted",
            "username,country\n\nada,GB\n\n\nbob,XX\n",
            &[(6, "unknown country 'XX'")],
        ),
        case(
            "a BOM does not shift the lines",
            "\u{feff}username;country\nada;GB\nbob;XX\n",
            &[(3, "unknown country 'XX'")],
        ),
        case(
            "an empty language",
            "username,language\nada,\n",
            &[(2, "language cannot be empty")],
        ),
        case(
            "an empty visibility",
            "username,visibility\nada,\n",
            &[(2, "unknown visibility ''")],
        ),
        case(
            "an unknown group",
            "username,groups\nada,sales;nogroup\n",
            &[(2, "unknown group 'nogroup'")],
        ),
        case(
            "more seats than the pool has",
            "username,license\neve,1\nfrank,1\n",
            &[(3, "no free license seat")],
        ),
        Case {
            args: &["--mode", "sync", "--max-deletions", "100"],
            code: 3,
            text: "the file has no member rows",
            ..case("a header only, sync", "username,email\n", &[])
        },
    ]
}

#[test]
fn malformed_files_are_rejected_naming_the_line_and_change_nothing() {
    let env = academy();
    let before = dump_without_runs(&env);
    let corpus = corpus();
    assert!(corpus.len() >= 20);
    let mut failures = Vec::new();
    for (i, case) in corpus.iter().enumerate() {
        let file = format!("case{i}.csv");
        write_bytes(&env, &file, &case.bytes);
        let runs_before = runs(&env).len();
        let mut args = vec!["import", file.as_str()];
        args.extend_from_slice(case.args);
        let out = env.rollcall(&args);
        let mut wrong = Vec::new();
        if out.code != Some(case.code) {
            wrong.push(format!("exit {:?}, expected {}", out.code, case.code));
        }
        if !out.stdout.is_empty() {
            wrong.push(format!("stdout is not empty: {}", out.stdout));
        }
        if out.stderr.contains("panicked") {
            wrong.push("panicked".into());
        }
        let lines: Vec<u64> = case.problems.iter().map(|(l, _)| *l).collect();
        if reported_lines(&out.stderr) != lines {
            wrong.push(format!(
                "reported lines {:?}, expected {lines:?}",
                reported_lines(&out.stderr)
            ));
        }
        for (line, text) in &case.problems {
            if !problem_at(&out.stderr, *line).is_some_and(|l| l.contains(text)) {
                wrong.push(format!("line {line} does not say {text:?}"));
            }
        }
        if !out.stderr.contains(case.text) {
            wrong.push(format!("stderr lacks {:?}", case.text));
        }
        if dump_without_runs(&env) != before {
            wrong.push("the database changed".into());
        }
        let new_runs = runs(&env).split_off(runs_before);
        if new_runs.len() > 1
            || new_runs
                .iter()
                .any(|r| r[1] == "success" || r[1] == "running")
        {
            wrong.push(format!("runs recorded: {new_runs:?}"));
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{} ({file}): {}\n--- stderr:\n{}",
                case.name,
                wrong.join("; "),
                out.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n\n")
    );
}

#[test]
fn line_numbers_stay_right_in_a_large_crlf_file() {
    // Every row's line is in the plan. Rows with a quoted line break take two
    // lines; filler rows put a CR as the last byte of the reader's chunks.
    let env = academy();
    let mut text = String::from("username,first_name\r\n");
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut line = 2;
    let mut targets = vec![8191, 16382, 65535, 65536 + 8191];
    let mut i = 0;
    while text.len() < 200_000 {
        if let Some(&target) = targets.first()
            && text.len() + 40 >= target
        {
            let name = format!("filler{}", targets.len());
            let pad = target - text.len() - name.len() - 1;
            text.push_str(&format!("{name},{}\r\n", "x".repeat(pad)));
            assert_eq!(text.as_bytes()[target], b'\r');
            expected.insert(name, line);
            line += 1;
            targets.remove(0);
            continue;
        }
        let name = format!("u{i}");
        if i % 7 == 3 {
            text.push_str(&format!("{name},\"multi\r\nline\"\r\n"));
            expected.insert(name, line);
            line += 2;
        } else {
            text.push_str(&format!("{name},{}\r\n", "x".repeat(i % 11)));
            expected.insert(name, line);
            line += 1;
        }
        i += 1;
    }
    env.write("big.csv", &text);
    let before = dump(&env);
    let out = env.rollcall(&["import", "big.csv", "--plan", "plan.csv"]);
    out.code(1).no_panic();
    assert_same(&before, &dump(&env), "plan of a large file");
    let plan = read_csv(&env.path("plan.csv"), b',');
    let got: BTreeMap<String, u64> = plan[1..]
        .iter()
        .map(|r| (r[1].clone(), r[0].parse().expect("a line number")))
        .collect();
    assert_eq!(got.len(), expected.len());
    let wrong: Vec<_> = expected
        .iter()
        .filter(|(name, line)| got.get(*name) != Some(line))
        .map(|(name, line)| format!("{name}: line {line}, reported {:?}", got.get(name)))
        .take(10)
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    // The multi-line rows are the invalid ones, named in the error.
    assert_eq!(
        problem_at(&out.stderr, expected["u3"]).map(|l| l.contains("(u3)")),
        Some(true),
        "{}",
        out.stderr
    );
}

#[test]
fn an_unclosed_quote_on_the_last_row_is_an_error() {
    let env = academy();
    let before = dump_without_runs(&env);
    env.write("in.csv", "username,first_name\nbob,Bob\nada,\"Adeline\n");
    let out = import_json(&env, "in.csv", &[]);
    assert_same(&before, &dump_without_runs(&env), "unclosed quote");
    out.code(1);
    assert_eq!(reported_lines(&out.stderr), [3]);
    assert!(problem_at(&out.stderr, 3).unwrap().contains("quote"));
}

// ---------------------------------------------------------------------------
// participations

#[test]
fn participations_import_creates_updates_and_passed_issues_a_certificate() {
    let env = academy();
    env.write(
        "p.csv",
        "course,username,status,deadline,active\n\
         RUST-101,ada,passed,,1\n\
         RUST-101,bob,passed,2027-01-31,1\n\
         RUST-101,dan,undecided,2027-03-01,1\n\
         GIT-101,chloe,FAILED,2027-02-15,0\n",
    );
    let out = env
        .cmd(["--json", "import", "--participations", "p.csv"])
        .env("ROLLCALL_TODAY", "2026-05-04")
        .run();
    assert_counts(
        &out,
        false,
        &[("created", 1), ("updated", 2), ("unchanged", 1)],
    );
    let participations = env.rows(
        "SELECT c.code, m.username, p.status, coalesce(p.deadline, ''), p.active,
                p.completed_at IS NOT NULL
         FROM participations p JOIN courses c ON c.id = p.course_id JOIN members m ON m.id = p.member_id
         ORDER BY c.code, m.username",
    );
    assert_eq!(
        participations,
        [
            ["GIT-101", "chloe", "failed", "2027-02-15", "0", "1"],
            ["GIT-101", "dan", "undecided", "", "0", "0"],
            ["RUST-101", "ada", "passed", "", "1", "1"],
            ["RUST-101", "bob", "passed", "2027-01-31", "1", "1"],
            ["RUST-101", "dan", "undecided", "2027-03-01", "1", "0"],
        ]
    );
    assert_eq!(
        env.rows("SELECT participation_id, attempt, serial, issued_on, current FROM certificates ORDER BY id"),
        [
            ["1", "1", "RC-00000001", "2025-02-01", "1"],
            ["2", "1", "RC-00000002", "2026-05-04", "1"],
        ]
    );
    assert_eq!(
        env.rows("SELECT value FROM settings WHERE key = 'certificate_serial'"),
        [["2"]]
    );
    let audit: Vec<Vec<String>> =
        env.rows("SELECT action, username FROM audit WHERE run_id IS NOT NULL ORDER BY username");
    assert_eq!(
        audit,
        [
            ["update participation", "bob"],
            ["update participation", "chloe"],
            ["create participation", "dan"],
        ]
    );
    // A new participation that is passed at once gets a certificate too.
    env.write("p2.csv", "username,course,status\nanon-1,GIT-101,passed\n");
    env.rollcall(&["import", "--participations", "p2.csv"])
        .success();
    assert_eq!(
        env.int("SELECT count(*) FROM certificates c JOIN participations p ON p.id = c.participation_id WHERE p.member_id = 4"),
        1
    );
}

#[test]
fn participations_errors_name_their_lines_and_change_nothing() {
    let env = academy();
    let before = dump_without_runs(&env);
    env.write(
        "p.csv",
        "course,username,status,deadline,active\r\n\
         RUST-101,ada,passed,,1\r\n\
         NOPE-1,bob,passed,,1\r\n\
         RUST-101,ghost,undecided,,1\r\n\
         RUST-101,bob,done,,1\r\n\
         GIT-101,dan,undecided,\"31/01\r\n2027\",1\r\n\
         GIT-101,chloe,failed,2027-02-30,1\r\n\
         GIT-101,chloe,failed,,yes\r\n\
         RUST-101,ada,passed,,1\r\n\
         RUST-101,bob\r\n",
    );
    let out = import_json(&env, "p.csv", &["--participations"]);
    out.code(1).stdout_is("").no_panic();
    out.stderr_has("8 invalid rows");
    assert_problems(
        &out,
        &[
            (3, "unknown course 'NOPE-1'"),
            (4, "no member with username 'ghost'"),
            (5, "unknown participation status 'done'"),
            (6, "deadline '31/01"),
            (
                8,
                "deadline '2027-02-30' is not a date written as YYYY-MM-DD",
            ),
            (9, "active must be 0 or 1, not 'yes'"),
            (10, "this course and username appear twice in the file"),
            (11, "the row has 2 cells but the header has 5"),
        ],
    );
    assert_same(&before, &dump_without_runs(&env), "participation errors");
    // A bad header.
    env.write("h.csv", "course,member\nRUST-101,ada\n");
    let out = import_json(&env, "h.csv", &["--participations"]);
    out.code(1);
    assert_problems(&out, &[(1, "unknown column 'member'")]);
    env.write("k.csv", "course,status\nRUST-101,passed\n");
    let out = import_json(&env, "k.csv", &["--participations"]);
    out.code(1);
    assert_problems(
        &out,
        &[(1, "the header needs the columns 'course' and 'username'")],
    );
    assert_same(&before, &dump_without_runs(&env), "participation headers");
}

#[test]
fn participations_sync_removes_absent_ones_within_the_threshold() {
    let env = academy();
    let without_dan: String = FIXTURE_PARTICIPATIONS
        .lines()
        .filter(|l| !l.contains(",dan,"))
        .map(|l| format!("{l}\n"))
        .collect();
    env.write("p.csv", &without_dan);
    let before = dump_without_runs(&env);
    // 10% of 4 participations is 0.
    let out = import_json(&env, "p.csv", &["--participations", "--mode", "sync"]);
    out.code(3).stdout_is("").stderr_has(
        "this sync would remove 1 of 4 participations, more than the limit of 0; nothing was changed",
    );
    assert_same(
        &before,
        &dump_without_runs(&env),
        "participations sync refused",
    );
    for file in ["empty.csv", "header.csv"] {
        let text = if file == "empty.csv" {
            ""
        } else {
            "course,username,status\n"
        };
        env.write(file, text);
        let out = import_json(
            &env,
            file,
            &[
                "--participations",
                "--mode",
                "sync",
                "--max-deletions",
                "100",
            ],
        );
        assert!(matches!(out.code, Some(1 | 3)), "{file}: {:?}", out.code);
        if file == "header.csv" {
            out.code(3).stderr_has("the file has no participation rows");
        }
        assert_same(&before, &dump_without_runs(&env), file);
    }
    let out = import_json(
        &env,
        "p.csv",
        &["--participations", "--mode", "sync", "--max-deletions", "1"],
    );
    assert_counts(&out, false, &[("unchanged", 3), ("deleted", 1)]);
    assert_eq!(
        env.rows("SELECT id FROM participations ORDER BY id"),
        [["1"], ["2"], ["3"]]
    );
    // The member stays; only the participation went.
    assert!(member(&env, "dan").is_some());
    assert_eq!(
        env.rows("SELECT action, username FROM audit WHERE action = 'remove participation'"),
        [["remove participation", "dan"]]
    );
}

#[test]
fn participations_sync_with_skip_invalid_keeps_rejected_rows() {
    let env = academy();
    let text = FIXTURE_PARTICIPATIONS.replace("GIT-101,chloe,failed", "GIT-101,chloe,bogus");
    env.write("p.csv", &text);
    let out = import_json(
        &env,
        "p.csv",
        &[
            "--participations",
            "--mode",
            "sync",
            "--skip-invalid",
            "--max-deletions",
            "4",
        ],
    );
    assert_counts(&out, false, &[("unchanged", 3), ("rejected", 1)]);
    assert_eq!(env.int("SELECT count(*) FROM participations"), 4);
}

// ---------------------------------------------------------------------------
// scripts

#[test]
fn script_export_csv_writes_every_member_or_a_set() {
    let env = academy();
    env.write(
        "e.rhai",
        "let a = export_csv(\"all.csv\");\n\
         let b = members().country(\"NL\").export_csv(\"nl.csv\");\n\
         print(`${a.action} ${a.matched} ${a.changed}`);\n\
         print(`${b.action} ${b.matched} ${b.changed}`);\n",
    );
    let before = dump_without_runs(&env);
    env.rollcall(&["run", "e.rhai"])
        .success()
        .stdout_is("export_csv 5 5\nexport_csv 1 1\n");
    assert_eq!(read(&env, "all.csv"), FIXTURE_EXPORT);
    assert_eq!(
        read(&env, "nl.csv"),
        format!("{HEADER}\nbob,bob@example.org,Bob,Builder,nl,NL,members,,learner,sales,0,1,0,0\n")
    );
    assert_same(&before, &dump_without_runs(&env), "script export");
    // A dry run writes no file.
    env.write("d.rhai", "export_csv(\"dry.csv\");\n");
    env.rollcall(&["--dry-run", "run", "d.rhai"]).success();
    assert!(!env.path("dry.csv").exists());
}

#[test]
fn a_failing_script_leaves_no_exported_file() {
    let env = academy();
    env.write(
        "f.rhai",
        "export_csv(\"all.csv\");\nmembers().export_csv(\"set.csv\");\nthrow \"boom\";\n",
    );
    let files_before = files(&env);
    let before = dump_without_runs(&env);
    let out = env.rollcall(&["run", "f.rhai"]);
    out.code(1).stderr_has("boom");
    assert!(!env.path("all.csv").exists());
    assert!(!env.path("set.csv").exists());
    assert_eq!(
        files(&env),
        files_before,
        "no temporary file is left behind"
    );
    assert_same(&before, &dump_without_runs(&env), "failing export script");
    assert_eq!(runs(&env).last().unwrap()[1], "error");
}

#[test]
fn script_import_csv_applies_the_file_and_returns_the_counts() {
    let env = academy();
    env.write(
        "in.csv",
        "username,team,suspended\nada,Owls,0\nchloe,Herons,0\neve,Owls,0\nbob,,0\n",
    );
    env.write(
        "i.rhai",
        "let r = import_csv(\"in.csv\");\n\
         print(`${r.action} ${r.created} ${r.updated} ${r.unchanged} ${r.suspended} ${r.reactivated} ${r.deleted} ${r.rejected} ${r.problems.len()} ${r.dry_run}`);\n",
    );
    env.rollcall(&["run", "i.rhai"])
        .success()
        .stdout_is("import_csv 1 1 1 0 1 0 0 0 false\n");
    assert_eq!(member(&env, "ada").unwrap()[6], "Owls");
    assert_eq!(member(&env, "chloe").unwrap()[9], "active");
    assert!(member(&env, "eve").is_some());
    let run = runs(&env).last().unwrap().clone();
    assert_eq!((run[1].as_str(), run[3].as_str()), ("success", "3"));
}

#[test]
fn script_import_csv_of_a_bad_file_fails_with_the_lines_and_changes_nothing() {
    let env = academy();
    env.write(
        "in.csv",
        "username,country\r\nada,GB\r\nbob,XX\r\nchloe,ZZ\r\n",
    );
    env.write("i.rhai", "import_csv(\"in.csv\");\n");
    let before = dump_without_runs(&env);
    let out = env.rollcall(&["run", "i.rhai"]);
    out.code(1).stdout_is("");
    assert_problems(
        &out,
        &[(3, "unknown country 'XX'"), (4, "unknown country 'ZZ'")],
    );
    assert_same(&before, &dump_without_runs(&env), "bad file in a script");
    // Changes made before a later failure are rolled back too.
    env.write("ok.csv", "username,team\nada,Owls\n");
    env.write(
        "j.rhai",
        "let r = import_csv(\"ok.csv\");\nif r.updated == 1 { throw \"later\"; }\n",
    );
    env.rollcall(&["run", "j.rhai"]).code(1).stderr_has("later");
    assert_same(&before, &dump_without_runs(&env), "failing import script");
    // Unknown options are errors.
    env.write("k.rhai", "import_csv(\"ok.csv\", #{mood: \"sync\"});\n");
    env.rollcall(&["run", "k.rhai"])
        .code(1)
        .stderr_has("import_csv() has no option 'mood'");
    assert_same(&before, &dump_without_runs(&env), "unknown option");
}

#[test]
fn script_import_csv_in_sync_mode_needs_confirmation() {
    let without_dan: String = FIXTURE_EXPORT
        .lines()
        .filter(|l| !l.starts_with("dan,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let setup = || {
        let env = academy();
        env.write("in.csv", &without_dan);
        env.write(
            "plain.rhai",
            "let r = import_csv(\"in.csv\", #{mode: \"sync\", max_deletions: 1});\nprint(r.deleted);\n",
        );
        env.write(
            "confirmed.rhai",
            "let r = import_csv(\"in.csv\", #{mode: \"sync\", max_deletions: 1, confirm: true});\nprint(r.deleted);\n",
        );
        env.write(
            "over.rhai",
            "let r = import_csv(\"in.csv\", #{mode: \"sync\", confirm: true});\nprint(r.deleted);\n",
        );
        env
    };
    // Without --yes or confirm: refused, nothing changed.
    let env = setup();
    let before = dump_without_runs(&env);
    let out = env.rollcall(&["run", "plain.rhai"]);
    out.code(3).stdout_is("").stderr_has(
        "import_csv() in sync mode deletes every member absent from the file; confirm with --yes",
    );
    assert_same(&before, &dump_without_runs(&env), "unconfirmed sync");
    assert_eq!(runs(&env).last().unwrap()[1], "refused");
    // Confirmed but over the default limit (10% of 5): refused.
    let out = env.rollcall(&["run", "over.rhai"]);
    out.code(3)
        .stderr_has("would delete 1 of 5 members, more than the limit of 0");
    assert_same(&before, &dump_without_runs(&env), "sync over the limit");
    // A dry run needs no confirmation and changes nothing.
    env.rollcall(&["--dry-run", "run", "plain.rhai"])
        .success()
        .stdout_is("1\n");
    assert_same(&before, &dump_without_runs(&env), "dry run sync");
    // confirm: true
    env.rollcall(&["run", "confirmed.rhai"])
        .success()
        .stdout_is("1\n");
    assert_eq!(member(&env, "dan"), None);
    assert_eq!(usernames(&env).len(), 4);
    // --yes
    let env = setup();
    env.rollcall(&["--yes", "run", "plain.rhai"])
        .success()
        .stdout_is("1\n");
    assert_eq!(member(&env, "dan"), None);
}

// ---------------------------------------------------------------------------
// the runs table

#[test]
fn runs_record_cli_imports_but_not_dry_runs_or_plans() {
    let env = academy();
    env.write(
        "ok.csv",
        "username,team\nada,Owls\nbob,Owls\nchloe,Herons\n",
    );
    env.write("bad.csv", "username,country\nada,XX\n");
    env.write("sync.csv", "username\nada\n");
    // Dry runs and plans record nothing.
    env.rollcall(&["--dry-run", "import", "ok.csv"]).success();
    env.rollcall(&["import", "ok.csv", "--plan", "plan.csv"])
        .success();
    env.rollcall(&["--dry-run", "import", "bad.csv"]).code(1);
    assert_eq!(runs(&env), Vec::<Vec<String>>::new());
    assert_eq!(member(&env, "ada").unwrap()[6], "Falcons");

    env.rollcall(&["import", "ok.csv"]).success();
    env.rollcall(&["import", "bad.csv"]).code(1);
    env.rollcall(&["import", "sync.csv", "--mode", "sync"])
        .code(3);
    let runs = runs(&env);
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert_eq!(
        runs.iter()
            .map(|r| (r[1].as_str(), r[2].as_str(), r[3].as_str(), r[5].as_str()))
            .collect::<Vec<_>>(),
        [
            ("success", "0", "2", "rollcall import ok.csv --mode upsert"),
            ("error", "0", "0", "rollcall import bad.csv --mode upsert"),
            ("refused", "0", "0", "rollcall import sync.csv --mode sync"),
        ]
    );
    assert_eq!(runs[0][4], "");
    assert!(
        runs[1][4].contains("line 2 (ada): unknown country 'XX'"),
        "{}",
        runs[1][4]
    );
    assert!(
        runs[2][4].contains("would delete 4 of 5 members"),
        "{}",
        runs[2][4]
    );
    // Every run ended, and the audit of the successful one points at it.
    assert_eq!(
        env.int("SELECT count(*) FROM runs WHERE ended_at IS NULL"),
        0
    );
    assert_eq!(
        env.rows(&format!(
            "SELECT username FROM audit WHERE run_id = {} ORDER BY username",
            runs[0][0]
        )),
        [["ada"], ["bob"]]
    );
    // `rollcall runs` lists them.
    let out = env.rollcall(&["runs"]);
    out.success()
        .stdout_has("import ok.csv")
        .stdout_has("refused");
}

#[test]
fn an_import_that_cannot_read_its_file_is_recorded_as_an_error() {
    let env = academy();
    write_bytes(&env, "empty.csv", b"");
    env.rollcall(&["import", "empty.csv"]).code(1);
    let runs = runs(&env);
    assert_eq!(runs.len(), 1, "no run recorded");
    assert_eq!(runs[0][1], "error");
}

// ---------------------------------------------------------------------------
// bulk loads: a file far larger than the academy (over 4 MB, more than twice
// as many rows as members) is inserted row by row before any lookup, under a
// rollback journal when rollcall has the database to itself.

/// Rows a bulk load needs: about 100 bytes each, so 50,000 make 5 MB.
const BULK: usize = 50_000;

/// `count` rows of new members `bulk-000001`...: in sales or hr, unlicensed,
/// every tenth suspended.
fn bulk_rows(count: usize) -> String {
    let mut text = String::with_capacity(count * 110);
    for i in 1..=count {
        text.push_str(&format!(
            "bulk-{i:06},bulk-{i:06}@example.org,First{i},Last-Van-Der-{i},nl,NL,members,Team{},learner,{},0,0,{},0\n",
            i % 7,
            if i % 2 == 0 { "sales" } else { "hr" },
            u8::from(i % 10 == 0)
        ));
    }
    text
}

/// Writes a bulk file: the header, `before`, the bulk rows, `after`.
fn bulk_file(env: &Env, name: &str, before: &str, count: usize, after: &str) -> String {
    let text = format!("{HEADER}\n{before}{}{after}", bulk_rows(count));
    let file = write_bytes(env, name, text.as_bytes());
    assert!(
        std::fs::metadata(env.path(&file)).unwrap().len() > 4 << 20,
        "{name} must be over 4 MB to be a bulk load"
    );
    file
}

#[track_caller]
fn assert_write_ahead_log(env: &Env) {
    let mode: String = env
        .conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal", "the database is back in WAL mode");
    assert!(
        !env.path("t.db-journal").exists(),
        "no rollback journal is left"
    );
}

#[test]
fn a_bulk_load_creates_everyone_with_their_audit_rows_and_returns_to_the_log() {
    let env = academy();
    // An existing member in a bulk file: the insert finds the username taken,
    // and the row updates the member instead.
    let file = bulk_file(
        &env,
        "bulk.csv",
        "ada,ada@example.org,Ada,Lovelace,en,GB,public,Owls,learner;admin,sales;support,0,1,0,0\n",
        BULK,
        "",
    );
    let out = import_json(&env, &file, &[]);
    assert_counts(&out, false, &[("created", BULK as u64), ("updated", 1)]);
    assert_write_ahead_log(&env);

    assert_eq!(env.int("SELECT count(*) FROM members"), 5 + BULK as i64);
    assert_eq!(member(&env, "ada").unwrap()[6], "Owls");
    assert_eq!(
        env.int(
            "SELECT count(*) FROM members WHERE username LIKE 'bulk-%' AND status = 'suspended'"
        ),
        BULK as i64 / 10
    );
    assert_eq!(
        member(&env, "bulk-000002").unwrap(),
        [
            "bulk-000002@example.org",
            "First2",
            "Last-Van-Der-2",
            "nl",
            "NL",
            "members",
            "Team2",
            "1",
            "0",
            "active",
            "0",
            "sales"
        ]
    );
    assert_eq!(
        env.int(
            "SELECT count(*) FROM group_members WHERE member_id IN
                 (SELECT id FROM members WHERE username LIKE 'bulk-%')"
        ),
        BULK as i64
    );
    assert_eq!(
        env.int(
            "SELECT count(*) FROM audit WHERE action = 'create'
             AND run_id = (SELECT max(id) FROM runs)"
        ),
        BULK as i64
    );
    // The audit row names the file line (header 1, ada 2, bulk-000001 3) and
    // the values the member starts with, without the empty ones and 0 flags.
    let audit = env.rows(
        "SELECT target, after FROM audit WHERE username = 'bulk-000002' AND action = 'create'",
    );
    assert_eq!(audit[0][0], "line 4");
    assert_eq!(
        serde_json::from_str::<Value>(&audit[0][1]).unwrap(),
        json!({
            "email": "bulk-000002@example.org", "first_name": "First2",
            "last_name": "Last-Van-Der-2", "language": "nl", "country": "NL",
            "visibility": "members", "team": "Team2", "roles": "learner", "groups": "sales"
        })
    );
    let suspended =
        env.rows("SELECT after FROM audit WHERE username = 'bulk-000010' AND action = 'create'");
    assert_eq!(
        serde_json::from_str::<Value>(&suspended[0][0]).unwrap()["suspended"],
        "1"
    );

    // Filters that no index serves still find the new members.
    env.rollcall(&[
        "eval",
        r#"print(members().search("van-der-4999").count()); print(members().team("Team3").country("NL").count())"#,
    ])
    .success()
    .stdout_is(&format!("11\n{}\n", BULK / 7 + usize::from(BULK % 7 >= 3)));

    // The same file again changes nothing.
    let again = import_json(&env, &file, &[]);
    assert_counts(&again, false, &[("unchanged", BULK as u64 + 1)]);
}

#[test]
fn a_bulk_load_with_a_username_twice_is_refused_naming_both_lines() {
    let env = academy();
    let before = dump_without_runs(&env);
    let file = bulk_file(
        &env,
        "twice.csv",
        "",
        BULK,
        "bulk-000100,again@example.org,,,en,,members,,learner,,0,0,0,0\n",
    );
    let out = import_json(&env, &file, &[]);
    out.code(1).stdout_is("").no_panic();
    assert_problems(
        &out,
        &[(
            BULK as u64 + 2,
            "(bulk-000100): the username appears twice in the file (first on line 101)",
        )],
    );
    assert_same(&before, &dump_without_runs(&env), "a refused bulk load");
    assert_write_ahead_log(&env);
}

#[test]
fn a_bulk_load_beside_a_reader_keeps_the_log_and_the_reader_its_snapshot() {
    let env = academy();
    let file = bulk_file(&env, "bulk.csv", "", BULK, "");
    // An open read transaction: the import cannot take the database for
    // itself, so it keeps the write-ahead log, and the reader is not blocked.
    let reader = env.conn();
    reader.execute_batch("BEGIN").unwrap();
    let count = |c: &rusqlite::Connection| -> i64 {
        c.query_row("SELECT count(*) FROM members", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&reader), 5);
    let out = import_json(&env, &file, &[]);
    assert_counts(&out, false, &[("created", BULK as u64)]);
    assert_eq!(count(&reader), 5, "the reader's snapshot is unchanged");
    reader.execute_batch("COMMIT").unwrap();
    assert_eq!(count(&reader), 5 + BULK as i64);
    drop(reader);
    assert_write_ahead_log(&env);
}

#[test]
fn a_killed_bulk_load_changes_nothing_and_the_next_import_works() {
    let env = academy();
    let before = dump_without_runs(&env);
    let file = bulk_file(&env, "big.csv", "", 4 * BULK, "");
    let mut child = env.cmd(["-q", "import", file.as_str()]).spawn();
    // The rollback journal appears with the load's first write.
    let journal = env.path("t.db-journal");
    let started = std::time::Instant::now();
    while !journal.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before it could be killed: make the file larger"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no journal appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().expect("SIGKILL");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "the import was killed, not finished");

    // Whoever opens the database next rolls the journal back; rollcall's
    // next process also returns it to the log.
    assert_same(&before, &dump_without_runs(&env), "a killed bulk load");
    env.write(
        "small.csv",
        &format!("{HEADER}\nzoe,zoe@example.org,Zoe,Z,en,GB,public,,learner,,0,0,0,0\n"),
    );
    assert_counts(
        &import_json(&env, "small.csv", &[]),
        false,
        &[("created", 1)],
    );
    assert_write_ahead_log(&env);
    // The killed run is closed as an error when the next one starts.
    assert!(runs(&env).iter().all(|r| r[1] != "running"));
}

#[test]
fn a_command_started_during_a_bulk_load_waits_for_its_commit() {
    let env = academy();
    let file = bulk_file(&env, "bulk.csv", "", BULK, "");
    let mut child = env.cmd(["-q", "import", file.as_str()]).spawn();
    let journal = env.path("t.db-journal");
    let started = std::time::Instant::now();
    while !journal.exists() && child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no journal appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the load ended before the command started: make the file larger"
    );
    // It opens the database once the load has committed, and sees all of it.
    env.rollcall(&["-q", "eval", "print(members().count())"])
        .success()
        .stdout_is(&format!("{}\n", 5 + BULK));
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_write_ahead_log(&env);
}
