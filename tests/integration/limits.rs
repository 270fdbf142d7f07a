//! Runaway scripts: operation, time, size and call-depth limits stop them with
//! a message that names the flag to raise, and the flags do set the limits.

use std::time::Duration;

use crate::support::{Env, Out};

/// A stopped script: exit 1, no panic, a message naming `flag`, in time.
#[track_caller]
fn assert_stopped(out: &Out, flag: &str, within: Duration) {
    out.code(1).no_panic().stderr_has(flag).stderr_has("error:");
    assert!(
        out.elapsed < within,
        "stopped only after {:.1?}",
        out.elapsed
    );
}

#[test]
fn max_operations_stops_an_endless_loop() {
    let env = Env::new();
    let out = env.rollcall(&["--max-operations", "100000", "eval", "loop {}"]);
    assert_stopped(&out, "--max-operations", Duration::from_secs(20));
    out.stderr_has("<eval>:1:");
    assert_eq!(out.stdout, "");
    // The failed run is recorded with the same message.
    let error = &env.rows("SELECT outcome, error, ended_at FROM runs")[0];
    assert_eq!(error[0], "error");
    assert!(error[1].contains("--max-operations"), "{error:?}");
    assert_ne!(error[2], "NULL");
}

#[test]
fn max_operations_lets_a_small_script_finish() {
    let env = Env::new();
    env.rollcall(&[
        "--max-operations",
        "100000",
        "eval",
        "let s = 0; for i in 0..100 { s += i; } s",
    ])
    .success()
    .stdout_is("4950\n");
    // The same script with a limit below what it needs.
    let out = env.rollcall(&[
        "--max-operations",
        "50",
        "eval",
        "let s = 0; for i in 0..100 { s += i; } s",
    ]);
    assert_stopped(&out, "--max-operations", Duration::from_secs(20));
}

#[test]
fn timeout_stops_an_endless_loop() {
    let env = Env::new();
    let out = env.rollcall(&["--timeout", "1", "eval", "loop {}"]);
    assert_stopped(&out, "--timeout", Duration::from_secs(30));
    assert!(
        out.elapsed >= Duration::from_millis(900),
        "stopped before the timeout: {:.1?}",
        out.elapsed
    );
}

#[test]
fn timeout_stops_a_loop_over_queries() {
    let env = Env::demo(50);
    let out = env.rollcall(&[
        "--timeout",
        "1",
        "eval",
        "let n = 0; loop { n += members().limit(1).count(); }",
    ]);
    assert_stopped(&out, "--timeout", Duration::from_secs(30));
}

#[test]
fn endless_recursion_is_stopped_naming_max_call_depth() {
    let env = Env::new();
    let source = "fn down(n) {\n    down(n + 1)\n}\ndown(0)\n";
    env.write("deep.rhai", source);
    let out = env.rollcall(&["run", "deep.rhai"]);
    assert_stopped(&out, "--max-call-depth", Duration::from_secs(20));
    out.stderr_has("deep.rhai:");
}

#[test]
fn max_call_depth_sets_the_depth() {
    let env = Env::new();
    let script = "fn down(n) { if n == 0 { 0 } else { 1 + down(n - 1) } } down(10)";
    env.rollcall(&["--max-call-depth", "20", "eval", script])
        .success()
        .stdout_is("10\n");
    let out = env.rollcall(&["--max-call-depth", "5", "eval", script]);
    assert_stopped(&out, "--max-call-depth", Duration::from_secs(20));
}

#[test]
fn growing_array_is_stopped_naming_the_size_flag() {
    let env = Env::new();
    let out = env.rollcall(&[
        "--max-array-size",
        "1000",
        "eval",
        "let a = []; loop { a.push(1); }",
    ]);
    assert_stopped(&out, "--max-array-size", Duration::from_secs(20));
}

#[test]
fn doubling_array_is_stopped_by_the_default_limits() {
    let env = Env::new();
    let out = env.rollcall(&["eval", "let a = [1]; loop { a += a; }"]);
    assert_stopped(&out, "--max-array-size", Duration::from_secs(60));
}

#[test]
fn max_array_size_sets_the_size() {
    let env = Env::new();
    let script = "let a = []; for i in 0..1000 { a.push(i); } a.len()";
    env.rollcall(&["--max-array-size", "2000", "eval", script])
        .success()
        .stdout_is("1000\n");
    let out = env.rollcall(&["--max-array-size", "500", "eval", script]);
    assert_stopped(&out, "--max-array-size", Duration::from_secs(20));
}

#[test]
fn doubling_string_is_stopped_by_the_default_limits() {
    let env = Env::new();
    let out = env.rollcall(&["eval", "let s = \"x\"; loop { s += s; }"]);
    assert_stopped(&out, "--max-string-size", Duration::from_secs(60));
}

#[test]
fn max_string_size_sets_the_size() {
    let env = Env::new();
    let script = "let s = \"\"; for i in 0..100 { s += \"0123456789\"; } s.len()";
    env.rollcall(&["--max-string-size", "2000", "eval", script])
        .success()
        .stdout_is("1000\n");
    let out = env.rollcall(&["--max-string-size", "500", "eval", script]);
    assert_stopped(&out, "--max-string-size", Duration::from_secs(20));
}

#[test]
fn limit_errors_point_at_the_script_line() {
    let env = Env::new();
    let source = "let a = 1;\nlet b = 2;\nloop { a += 1; }\n";
    env.write("spin.rhai", source);
    let out = env.rollcall(&["--max-operations", "10000", "run", "spin.rhai"]);
    assert_stopped(&out, "--max-operations", Duration::from_secs(20));
    out.stderr_has("spin.rhai:3:")
        .stderr_has("3 | loop { a += 1; }");
}

#[test]
fn stopped_script_changes_nothing() {
    let env = Env::new();
    env.rollcall(&["-q", "init"]).success();
    let out = env.rollcall(&[
        "--max-operations",
        "10000",
        "eval",
        "create_group(\"spinners\"); loop {}",
    ]);
    assert_stopped(&out, "--max-operations", Duration::from_secs(20));
    assert_eq!(env.int("SELECT count(*) FROM groups"), 0);
    let out = env.rollcall(&[
        "--timeout",
        "1",
        "eval",
        "create_group(\"spinners\"); loop {}",
    ]);
    assert_stopped(&out, "--timeout", Duration::from_secs(30));
    assert_eq!(env.int("SELECT count(*) FROM groups"), 0);
}

// Growth is bounded by memory by default (Rhai's exact size checks make a
// pushed array quadratic); a small --max-memory keeps these tests quick.
#[test]
fn pushing_forever_is_stopped_by_the_memory_limit() {
    let env = Env::new();
    let out = env
        .cmd([
            "--max-memory",
            "128",
            "eval",
            "let a = []; loop { a.push(1); }",
        ])
        .limit(Duration::from_secs(90))
        .run();
    assert!(out.code.is_some(), "still running after 90 s");
    assert_stopped(&out, "--max-memory", Duration::from_secs(90));
    out.stderr_has("--max-array-size");
}

#[test]
fn growing_a_map_forever_is_stopped_by_the_memory_limit() {
    let env = Env::new();
    let out = env
        .cmd([
            "--max-memory",
            "128",
            "eval",
            "let m = #{}; let i = 0; loop { m[`k${i}`] = i; i += 1; }",
        ])
        .limit(Duration::from_secs(90))
        .run();
    assert!(out.code.is_some(), "still running after 90 s");
    out.code(1).stderr_has("map").stderr_has("--max-memory");
}

#[test]
fn max_map_size_sets_the_size() {
    let env = Env::new();
    let script = "let m = #{}; for i in 0..100 { m[`k${i}`] = i; } m.len()";
    env.rollcall(&["--max-map-size", "200", "eval", script])
        .success()
        .stdout_has("100");
    let out = env.rollcall(&["--max-map-size", "50", "eval", script]);
    assert_stopped(&out, "--max-map-size", Duration::from_secs(20));
}
