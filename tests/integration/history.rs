//! The run history: `rollcall runs` (table and JSON), the `runs` table, and
//! dry runs that leave no trace.

use std::time::Duration;

use serde_json::json;

use crate::support::Env;

/// Two recorded runs in a fresh folder: `ok.rhai` (success), then `bad.rhai` (error).
fn two_runs() -> Env {
    let env = Env::new();
    env.write("ok.rhai", "print(\"fine\");\n1 + 1\n");
    env.write("bad.rhai", "let a = 1;\nthrow \"broken on purpose\";\n");
    env.rollcall(&["run", "ok.rhai", "--arg", "who=ada"])
        .success()
        .stdout_is("fine\n");
    env.rollcall(&["run", "bad.rhai"])
        .code(1)
        .stderr_has("broken on purpose");
    env
}

#[test]
fn runs_lists_a_successful_and_a_failed_run() {
    let env = two_runs();
    let out = env.rollcall(&["runs"]);
    out.success()
        .stdout_has("ok.rhai")
        .stdout_has("bad.rhai")
        .stdout_has("success")
        .stdout_has("error")
        .stdout_has("broken on purpose");
    // Newest first.
    let bad = out.stdout.find("bad.rhai").unwrap();
    let ok = out.stdout.find("ok.rhai").unwrap();
    assert!(bad < ok, "not newest first:\n{}", out.stdout);
}

#[test]
fn runs_table_records_outcome_error_and_end() {
    let env = two_runs();
    let rows = env.rows(
        "SELECT script, source, args, outcome, error, started_at, ended_at, dry_run FROM runs ORDER BY id",
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (ok, bad) = (&rows[0], &rows[1]);

    assert_eq!(ok[0], "ok.rhai");
    assert_eq!(ok[1], "print(\"fine\");\n1 + 1\n");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&ok[2]).unwrap(),
        json!({"who": "ada"})
    );
    assert_eq!(ok[3], "success");
    assert_eq!(ok[4], "NULL");
    assert_ne!(ok[6], "NULL", "no end time");
    assert!(ok[5] <= ok[6], "ended before it started: {ok:?}");

    assert_eq!(bad[0], "bad.rhai");
    assert_eq!(bad[3], "error");
    assert!(
        bad[4].starts_with("bad.rhai:2:1: error: broken on purpose"),
        "{:?}",
        bad[4]
    );
    assert_ne!(bad[6], "NULL", "no end time");
    assert_eq!(bad[7], "0");
}

#[test]
fn runs_records_eval_and_parse_errors_too() {
    let env = Env::new();
    env.rollcall(&["eval", "1 +"]).code(1);
    env.rollcall(&["eval", "2"]).success();
    let rows = env.rows("SELECT script, outcome, error FROM runs ORDER BY id");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][0], "<eval>");
    assert_eq!(rows[0][1], "error");
    assert!(rows[0][2].contains("<eval>:1:"), "{:?}", rows[0][2]);
    assert_eq!(rows[1][1], "success");
}

#[test]
fn json_runs_is_valid_json() {
    let env = two_runs();
    let value = env.rollcall(&["--json", "runs"]).success().json();
    let items = value.as_array().expect("an array");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["script"], json!("bad.rhai"));
    assert_eq!(items[0]["outcome"], json!("error"));
    assert!(
        items[0]["error"]
            .as_str()
            .unwrap()
            .contains("broken on purpose")
    );
    assert_eq!(items[1]["script"], json!("ok.rhai"));
    assert_eq!(items[1]["outcome"], json!("success"));
    assert_eq!(items[1]["error"], json!(null));
    let first = items[0]["id"].as_i64().unwrap();
    let second = items[1]["id"].as_i64().unwrap();
    assert!(first > second, "not newest first");
}

#[test]
fn runs_limit_shows_only_the_newest() {
    let env = two_runs();
    let value = env
        .rollcall(&["--json", "runs", "--limit", "1"])
        .success()
        .json();
    assert_eq!(value.as_array().unwrap().len(), 1);
    assert_eq!(value[0]["script"], json!("bad.rhai"));
}

#[test]
fn empty_history() {
    let env = Env::new();
    env.rollcall(&["init", "-q"]).success();
    env.rollcall(&["runs"]).success().stdout_is("(none)\n");
    assert_eq!(
        env.rollcall(&["--json", "runs"]).success().json(),
        json!([])
    );
    env.rollcall(&["audit"]).success().stdout_is("(none)\n");
    assert_eq!(
        env.rollcall(&["--json", "audit"]).success().json(),
        json!([])
    );
}

#[test]
fn dry_run_records_nothing_and_still_prints() {
    let env = two_runs();
    let before = env.dump();
    env.write(
        "show.rhai",
        "print(\"still printed\");\nlet n = members().count();\n",
    );
    let out = env.rollcall(&["--dry-run", "run", "show.rhai"]);
    out.success()
        .stdout_is("still printed\n")
        .stderr_has("dry run");
    assert_eq!(env.int("SELECT count(*) FROM runs"), 2);
    assert_eq!(env.dump(), before);

    // A failing dry run leaves no trace either.
    env.rollcall(&["--dry-run", "run", "bad.rhai"])
        .code(1)
        .stderr_has("broken on purpose");
    env.rollcall(&["--dry-run", "eval", "40 + 2"])
        .success()
        .stdout_is("42\n");
    assert_eq!(env.dump(), before);
}

#[test]
fn failed_run_changes_nothing() {
    let env = Env::new();
    env.rollcall(&["-q", "init"]).success();
    env.write(
        "half.rhai",
        "create_group(\"night-shift\");\nprint(\"created\");\nthrow \"stop\";\n",
    );
    env.rollcall(&["run", "half.rhai"])
        .code(1)
        .stdout_is("created\n")
        .stderr_has("half.rhai:3:1: error: stop");
    assert_eq!(env.int("SELECT count(*) FROM groups"), 0);
    let run = &env.rows("SELECT outcome, actions, changes FROM runs")[0];
    assert_eq!(run, &["error", "0", "0"]);
    // The same script without the throw does create the group.
    env.write("whole.rhai", "create_group(\"night-shift\");\n");
    env.rollcall(&["run", "whole.rhai"]).success();
    assert_eq!(env.int("SELECT count(*) FROM groups"), 1);
}

#[test]
fn the_record_of_a_killed_run_is_closed_by_the_next_run() {
    let env = Env::demo(50);
    env.write(
        "slow.rhai",
        "create_group(\"while-killed\"); let t = timestamp(); while t.elapsed < 30.0 {}",
    );
    let mut child = env.cmd(["run", "slow.rhai"]).spawn();
    let started = std::time::Instant::now();
    while env.int("SELECT count(*) FROM runs WHERE outcome = 'running'") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        env.int("SELECT count(*) FROM runs WHERE outcome = 'running'"),
        1
    );
    env.rollcall(&["eval", "1"]).success();
    assert_eq!(
        env.int("SELECT count(*) FROM runs WHERE outcome = 'running'"),
        0
    );
    let row = &env.rows("SELECT outcome, error FROM runs WHERE script = 'slow.rhai'")[0];
    assert_eq!(row[0], "error");
    assert!(row[1].contains("stopped before it finished"), "{row:?}");
    assert_eq!(
        env.int("SELECT count(*) FROM groups WHERE name = 'while-killed'"),
        0
    );
}
