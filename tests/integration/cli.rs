//! The command line: `init`, `demo`, `eval` output (tables, values, JSON), the
//! choice of database, `--today`, usage errors (exit 2) and closed pipes.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use serde_json::json;

use crate::support::{Env, wait};

/// The first `n` usernames of `t.db`, in the order `members()` lists them.
fn first_usernames(env: &Env, n: usize) -> Vec<String> {
    env.rows(&format!(
        "SELECT username FROM members ORDER BY id LIMIT {n}"
    ))
    .into_iter()
    .map(|mut row| row.remove(0))
    .collect()
}

#[test]
fn init_demo_1000_creates_exactly_1000_members() {
    let env = Env::new();
    env.rollcall(&["init", "--demo", "1000"])
        .success()
        .stderr_has("1000 members");
    assert_eq!(env.int("SELECT count(*) FROM members"), 1000);
    env.rollcall(&["eval", "members().count()"])
        .success()
        .stdout_is("1000\n");
}

#[test]
fn init_demo_has_every_kind_of_member_and_participation() {
    let env = Env::demo(1000);
    assert!(env.int("SELECT count(*) FROM members WHERE anonymous = 1") > 0);
    assert!(env.int("SELECT count(*) FROM members WHERE status = 'suspended'") > 0);
    assert!(env.int("SELECT count(*) FROM groups") > 0);
    assert!(env.int("SELECT count(*) FROM series") > 0);
    for status in ["undecided", "passed", "failed"] {
        let n = env.int(&format!(
            "SELECT count(*) FROM participations WHERE status = '{status}'"
        ));
        assert!(n > 0, "no participation is {status}");
    }
}

#[test]
fn init_demo_with_the_same_seed_gives_the_same_academy() {
    let a = Env::new();
    let b = Env::new();
    a.rollcall(&["-q", "init", "--demo", "300", "--seed", "7"])
        .success();
    b.rollcall(&["-q", "init", "--demo", "300", "--seed", "7"])
        .success();
    let dump = a.dump();
    assert_eq!(dump, b.dump());
    let members = &dump.iter().find(|(t, _)| t == "members").unwrap().1;
    assert_eq!(members.len(), 300);
}

#[test]
fn init_demo_with_another_seed_gives_another_academy() {
    let a = Env::new();
    let b = Env::new();
    a.rollcall(&["-q", "init", "--demo", "300", "--seed", "7"])
        .success();
    b.rollcall(&["-q", "init", "--demo", "300", "--seed", "8"])
        .success();
    let sql = "SELECT username, email, country, created_at FROM members ORDER BY id";
    assert_eq!(a.rows(sql).len(), 300);
    assert_eq!(b.rows(sql).len(), 300);
    assert_ne!(a.rows(sql), b.rows(sql));
}

#[test]
fn init_demo_refuses_a_database_that_has_members_and_leaves_it_unchanged() {
    let env = Env::demo(50);
    let before = env.dump();
    let out = env.rollcall(&["init", "--demo", "80", "--seed", "9"]);
    out.code(1).stderr_has("already holds 50 members");
    assert_eq!(out.stdout, "");
    assert_eq!(env.dump(), before);
    assert_eq!(env.int("SELECT count(*) FROM members"), 50);
}

#[test]
fn init_demo_needs_at_least_one_member() {
    let env = Env::new();
    let out = env.rollcall(&["init", "--demo", "0"]);
    assert!(
        matches!(out.code, Some(1 | 2)),
        "init --demo 0 exited with {:?}",
        out.code
    );
    out.stderr_has("--demo");
    if env.db().exists() {
        assert_eq!(env.int("SELECT count(*) FROM members"), 0);
    }
}

#[test]
fn init_is_idempotent() {
    let env = Env::new();
    env.rollcall(&["init"])
        .success()
        .stderr_has("schema version");
    let schema_sql = "SELECT type, name, sql FROM sqlite_master ORDER BY name";
    let schema = env.rows(schema_sql);
    let dump = env.dump();
    assert_eq!(env.int("SELECT count(*) FROM members"), 0);
    env.rollcall(&["init"])
        .success()
        .stderr_has("schema version");
    assert_eq!(env.rows(schema_sql), schema);
    assert_eq!(env.dump(), dump);
}

#[test]
fn init_on_a_demo_academy_keeps_its_data() {
    let env = Env::demo(100);
    let before = env.dump();
    env.rollcall(&["init"]).success();
    assert_eq!(env.dump(), before);
}

#[test]
fn quiet_init_prints_nothing() {
    let env = Env::new();
    let out = env.rollcall(&["-q", "init", "--demo", "20"]);
    out.success().stdout_is("");
    assert_eq!(out.stderr, "");
    assert_eq!(env.int("SELECT count(*) FROM members"), 20);
}

#[test]
fn eval_of_a_member_set_prints_a_table() {
    let env = Env::demo(100);
    let names = first_usernames(&env, 4);
    let out = env.rollcall(&["eval", "members().limit(3)"]);
    out.success()
        .stdout_has("username")
        .stdout_has("email")
        .stdout_has("│")
        .stdout_has("3 members");
    for name in &names[..3] {
        out.stdout_has(name);
    }
    assert!(
        !out.stdout.contains(&names[3]),
        "the fourth member is in the table:\n{}",
        out.stdout
    );
}

#[test]
fn eval_of_a_large_set_shows_the_first_rows_and_the_total() {
    let env = Env::demo(100);
    let out = env.rollcall(&["eval", "members()"]);
    out.success().stdout_has("50 of 100 members shown");
    let names = first_usernames(&env, 51);
    out.stdout_has(&names[49]);
    assert!(!out.stdout.contains(&format!(" {} ", names[50])));
}

#[test]
fn eval_prints_plain_values() {
    let env = Env::new();
    env.rollcall(&["eval", "40 + 2"])
        .success()
        .stdout_is("42\n");
    env.rollcall(&["eval", r#""Müller""#])
        .success()
        .stdout_is("Müller\n");
    env.rollcall(&["eval", "()"]).success().stdout_is("");
    env.rollcall(&["eval", "[1, 2, 3]"])
        .success()
        .stdout_is("[1, 2, 3]\n");
}

#[test]
fn eval_of_a_map_prints_a_table() {
    let env = Env::new();
    let out = env.rollcall(&["eval", r#"#{course: "RUST-101", passed: 17}"#]);
    out.success()
        .stdout_has("course")
        .stdout_has("passed")
        .stdout_has("RUST-101")
        .stdout_has("17")
        .stdout_has("│");
}

#[test]
fn json_eval_of_a_member_set_is_an_array_of_member_objects() {
    let env = Env::demo(100);
    let out = env.rollcall(&["--json", "eval", "members().limit(2)"]);
    out.success();
    let value = out.json();
    let items = value.as_array().expect("a JSON array");
    assert_eq!(items.len(), 2);
    let names: Vec<String> = items
        .iter()
        .map(|item| {
            assert!(item.is_object(), "not an object: {item}");
            item["username"]
                .as_str()
                .expect("a username string")
                .to_string()
        })
        .collect();
    assert_eq!(names, first_usernames(&env, 2));
    assert!(items[0]["email"].is_string());
    assert!(items[0]["roles"].is_array());
}

#[test]
fn json_eval_of_a_map_and_of_scalars() {
    let env = Env::new();
    let out = env.rollcall(&["--json", "eval", "#{a: 1}"]);
    assert_eq!(out.success().json(), json!({"a": 1}));
    let out = env.rollcall(&["--json", "eval", r#"#{name: "x", ok: true, n: [1, 2]}"#]);
    assert_eq!(
        out.success().json(),
        json!({"name": "x", "ok": true, "n": [1, 2]})
    );
    let out = env.rollcall(&["--json", "eval", "6 * 7"]);
    assert_eq!(out.success().json(), json!(42));
    let out = env.rollcall(&["--json", "eval", r#""hi""#]);
    assert_eq!(out.success().json(), json!("hi"));
}

#[test]
fn json_eval_of_one_member_is_an_object() {
    let env = Env::demo(20);
    let out = env.rollcall(&["--json", "eval", "members().first()"]);
    let value = out.success().json();
    assert_eq!(value["username"], json!(first_usernames(&env, 1)[0]));
}

#[test]
fn json_eval_error_prints_nothing_on_stdout() {
    let env = Env::new();
    let out = env.rollcall(&["--json", "eval", r#"throw "nope""#]);
    out.code(1).stderr_has("nope");
    assert_eq!(out.stdout, "");
}

#[test]
fn today_comes_from_the_flag_or_the_environment() {
    let env = Env::new();
    env.rollcall(&["--today", "2025-03-04", "eval", "today()"])
        .success()
        .stdout_is("2025-03-04\n");
    env.cmd(["eval", "today()"])
        .env("ROLLCALL_TODAY", "2024-12-31")
        .run()
        .success()
        .stdout_is("2024-12-31\n");
    env.cmd(["--today", "2025-01-02", "eval", "today()"])
        .env("ROLLCALL_TODAY", "2024-12-31")
        .run()
        .success()
        .stdout_is("2025-01-02\n");
}

#[test]
fn the_database_comes_from_the_flag_then_the_environment_then_the_folder() {
    let env = Env::new();
    // Neither: rollcall.db in the current folder.
    env.cmd(["-q", "init", "--demo", "5"])
        .without_db()
        .run()
        .success();
    assert_eq!(
        env.open(&env.path("rollcall.db"))
            .query_row("SELECT count(*) FROM members", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        5
    );
    // ROLLCALL_DB.
    env.cmd(["-q", "init", "--demo", "6"])
        .without_db()
        .env("ROLLCALL_DB", env.path("from-env.db"))
        .run()
        .success();
    assert!(env.path("from-env.db").exists());
    // --db wins over ROLLCALL_DB.
    env.cmd(["-q", "init", "--demo", "7"])
        .env("ROLLCALL_DB", env.path("unused.db"))
        .run()
        .success();
    assert!(!env.path("unused.db").exists());
    assert_eq!(env.int("SELECT count(*) FROM members"), 7);
    env.cmd(["eval", "members().count()"])
        .without_db()
        .env("ROLLCALL_DB", env.path("from-env.db"))
        .run()
        .success()
        .stdout_is("6\n");
}

#[test]
fn demo_creates_the_academy_and_prints_the_tour() {
    let env = Env::new();
    let db = env.path("d.db");
    let out = env.cmd(["demo", "--members", "300"]).db(&db).run();
    out.success()
        .stdout_has("== The academy ==")
        .stdout_has("== Filters compile to SQL and chain in any order ==")
        .stdout_has("== Course GDPR-201 ==")
        .stdout_has("== Series ==")
        .stdout_has("== Courses by pass rate ==")
        .stderr_has("300 members");
    let members_line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("members:"))
        .expect("a members: line");
    assert_eq!(members_line["members:".len()..].trim(), "300");
    assert_eq!(
        env.open(&db)
            .query_row("SELECT count(*) FROM members", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        300
    );

    // A second time: the same academy, not a new one.
    let before = env.dump_of(&db);
    let again = env.cmd(["demo", "--members", "50"]).db(&db).run();
    again
        .success()
        .stderr_has("using the existing")
        .stdout_has("== Courses by pass rate ==");
    let after = env.dump_of(&db);
    let members = |dump: &[(String, Vec<Vec<String>>)]| {
        dump.iter().find(|(t, _)| t == "members").unwrap().1.clone()
    };
    assert_eq!(members(&after), members(&before));
}

#[test]
fn demo_without_db_creates_demo_db_in_the_current_folder() {
    let env = Env::new();
    env.cmd(["demo", "--members", "300"])
        .without_db()
        .run()
        .success()
        .stdout_has("== The academy ==");
    assert!(env.path("demo.db").exists());
    assert!(!env.path("rollcall.db").exists());
}

#[test]
fn demo_tour_works_for_a_small_academy() {
    let env = Env::new();
    let out = env.rollcall(&["demo", "--members", "60"]);
    out.no_panic()
        .success()
        .stdout_has("== Courses by pass rate ==");
}

#[test]
fn demo_on_an_initialised_empty_database_fills_it_or_refuses_up_front() {
    let env = Env::new();
    env.rollcall(&["-q", "init"]).success();
    let out = env.rollcall(&["demo", "--members", "50"]);
    // Either it fills the empty academy and shows the whole tour, or it
    // refuses before printing anything; not a tour that breaks off.
    if out.code == Some(0) {
        out.stdout_has("== Courses by pass rate ==");
    } else {
        assert_eq!(out.stdout, "", "a tour that broke off:\n{}", out.stdout);
    }
}

#[test]
fn help_lists_the_commands_and_exit_codes() {
    let env = Env::new();
    let out = env.rollcall(&["--help"]);
    out.success()
        .stdout_has("init")
        .stdout_has("eval")
        .stdout_has("runs")
        .stdout_has("Exit codes");
    assert!(!env.db().exists());
}

/// A usage error: exit 2, a message, nothing on stdout, no database created.
#[track_caller]
fn assert_usage_error(args: &[&str], message: &str) {
    let env = Env::new();
    let out = env.rollcall(args);
    out.code(2).stderr_has(message).no_panic();
    assert_eq!(out.stdout, "");
    assert!(
        !env.db().exists(),
        "a usage error created the database: {args:?}"
    );
}

#[test]
fn unknown_command_is_a_usage_error() {
    assert_usage_error(&["frobnicate"], "frobnicate");
}

#[test]
fn unknown_flag_is_a_usage_error() {
    assert_usage_error(&["--frobnicate", "eval", "1"], "--frobnicate");
    assert_usage_error(&["eval", "--members", "3", "1"], "--members");
}

#[test]
fn arg_without_a_value_is_a_usage_error() {
    assert_usage_error(&["run", "x.rhai", "--arg", "novalue"], "KEY=VALUE");
    assert_usage_error(&["eval", "1", "--arg", "=value"], "KEY=VALUE");
    assert_usage_error(&["run", "x.rhai", "--arg"], "--arg");
}

#[test]
fn today_that_is_not_a_date_is_a_usage_error() {
    assert_usage_error(&["--today", "notadate", "eval", "1"], "YYYY-MM-DD");
    assert_usage_error(&["--today", "2025-02-30", "eval", "1"], "--today");
}

#[test]
fn limit_flags_need_numbers() {
    assert_usage_error(
        &["--max-operations", "lots", "eval", "1"],
        "--max-operations",
    );
    assert_usage_error(&["--timeout", "-1", "eval", "1"], "-1");
    assert_usage_error(
        &["--max-array-size", "1e3", "eval", "1"],
        "--max-array-size",
    );
    assert_usage_error(&["init", "--demo", "many"], "--demo");
}

#[test]
fn no_command_is_a_usage_error() {
    assert_usage_error(&[], "no command");
}

#[test]
fn missing_positional_is_a_usage_error() {
    assert_usage_error(&["run"], "FILE");
    assert_usage_error(&["eval"], "EXPR");
}

#[test]
fn missing_script_file_is_an_error_that_names_it() {
    let env = Env::new();
    let out = env.rollcall(&["run", "nowhere.rhai"]);
    out.code(1).stderr_has("nowhere.rhai").no_panic();
    assert_eq!(out.stdout, "");
}

#[test]
fn database_that_cannot_be_opened_is_an_error_naming_it() {
    let env = Env::new();
    let missing = env.path("no/such/folder/x.db");
    let out = env.cmd(["eval", "1"]).db(&missing).run();
    out.code(1)
        .no_panic()
        .stderr_has("cannot open the database")
        .stderr_has(&missing.display().to_string());
    assert_eq!(out.stdout, "");
}

#[test]
fn file_that_is_not_a_database_is_left_alone() {
    let env = Env::new();
    let notes = env.write("notes.txt", "not a database\n");
    let out = env.cmd(["eval", "1"]).db(&notes).run();
    out.code(1).no_panic().stderr_has("not a database");
    assert_eq!(out.stdout, "");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "not a database\n");
}

#[test]
fn file_that_is_not_a_database_is_named_in_the_error() {
    let env = Env::new();
    let notes = env.write("notes.txt", "not a database\n");
    env.cmd(["eval", "1"])
        .db(&notes)
        .run()
        .code(1)
        .stderr_has("notes.txt");
}

/// Starts `rollcall ARGS`, reads the first line of stdout, closes the pipe
/// and returns the exit code and stderr.
fn first_line_then_close(env: &Env, args: &[&str]) -> (String, Option<i32>, String) {
    let mut child = env.cmd(args).spawn();
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("read a line");
    // The reader is dropped here: the pipe is closed, like `| head -1`.
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let code = wait(&mut child, Duration::from_secs(120));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut text).expect("read stderr");
    (first, code, text)
}

#[test]
fn closed_pipe_on_printed_lines_is_not_an_error() {
    let env = Env::new();
    let (first, code, stderr) =
        first_line_then_close(&env, &["eval", "for i in 0..100000 { print(i) }"]);
    assert_eq!(first, "0\n");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
}

#[test]
fn closed_pipe_on_a_large_table_or_json_is_not_an_error() {
    let env = Env::demo(1000);
    for args in [
        &["eval", "members().show(1000)"][..],
        &["--json", "eval", "members()"][..],
        &["eval", "members().list()"][..],
    ] {
        let (first, code, stderr) = first_line_then_close(&env, args);
        assert!(!first.is_empty(), "{args:?} printed nothing");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(code, Some(0), "{args:?}: stderr:\n{stderr}");
    }
}
