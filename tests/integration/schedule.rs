//! Scheduled runs (SPEC section 5): `schedule add/list/enable/disable/remove`,
//! `schedule run-due` with a fixed `--now`, the lock per schedule (two
//! processes at once, a process killed mid-run), `runs --schedule` and the
//! foreground `schedule daemon` with its signals.

use std::io::Read;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::json;

use crate::support::{Env, Out, Run, wait};

type Dump = Vec<(String, Vec<Vec<String>>)>;

/// A script that prints and changes nothing.
const HELLO: &str = "print(\"hello from the schedule\");\n";

/// Writes `file` with `text` and adds the schedule `name` running it.
fn add(env: &Env, name: &str, cron: &str, file: &str, text: &str, extra: &[&str]) -> Out {
    env.write(file, text);
    let mut args = vec!["schedule", "add", name, "--cron", cron, file];
    args.extend_from_slice(extra);
    env.rollcall(&args)
}

/// Adds `name` (cron `0 3 * * *`, UTC) and makes it next due at `due`.
fn add_due(env: &Env, name: &str, file: &str, text: &str, due: &str) {
    add(env, name, "0 3 * * *", file, text, &[]).success();
    set_due(env, name, due);
}

fn set_due(env: &Env, name: &str, due: &str) {
    let changed = env
        .conn()
        .execute(
            "UPDATE schedules SET next_due = ?2 WHERE name = ?1",
            [name, due],
        )
        .expect("set next_due");
    assert_eq!(changed, 1, "no schedule named {name}");
}

fn run_due(env: &Env, now: &str) -> Out {
    env.rollcall(&["schedule", "run-due", "--now", now])
}

/// One column of one schedule, as text (`NULL` for NULL).
fn field(env: &Env, name: &str, column: &str) -> String {
    let rows = env.rows(&format!(
        "SELECT {column} FROM schedules WHERE name = '{name}'"
    ));
    assert_eq!(rows.len(), 1, "no schedule named {name}");
    rows[0][0].clone()
}

fn schedule_count(env: &Env) -> i64 {
    if env.db().exists() {
        env.int("SELECT count(*) FROM schedules")
    } else {
        0
    }
}

/// The runs of schedule `name`: outcome, error, output, args, schedule_id.
fn runs_of(env: &Env, name: &str) -> Vec<Vec<String>> {
    env.rows(&format!(
        "SELECT outcome, error, output, args, schedule_id FROM runs
         WHERE schedule_id = (SELECT id FROM schedules WHERE name = '{name}') ORDER BY id"
    ))
}

fn group_exists(env: &Env, group: &str) -> bool {
    env.int(&format!(
        "SELECT count(*) FROM groups WHERE name = '{group}'"
    )) == 1
}

/// Every table but the bookkeeping of runs and schedules: what a script may change.
fn academy(env: &Env) -> Dump {
    env.dump()
        .into_iter()
        .filter(|(table, _)| table != "runs" && table != "schedules")
        .collect()
}

#[track_caller]
fn silent(out: &Out) {
    out.success();
    assert_eq!(out.stdout, "", "stdout of a quiet run-due");
    assert_eq!(out.stderr, "", "stderr of a quiet run-due");
}

/// Polls `done` every 50 ms until it holds, failing after `limit`.
#[track_caller]
fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stamp(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The first `hour`:00 local time in `tz` strictly after `after`.
fn next_at_hour(after: Timestamp, tz: &str, hour: i8) -> Timestamp {
    let zone = TimeZone::get(tz).unwrap();
    let date = after.to_zoned(zone.clone()).date();
    let today = date.at(hour, 0, 0, 0).to_zoned(zone.clone()).unwrap();
    if today.timestamp() > after {
        today.timestamp()
    } else {
        let tomorrow = date.tomorrow().unwrap().at(hour, 0, 0, 0);
        tomorrow.to_zoned(zone).unwrap().timestamp()
    }
}

/// A started process whose output is read as it comes.
struct Proc {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl Proc {
    fn start(run: Run) -> Proc {
        let mut child = run.spawn();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            pump(
                child.stdout.take().map(|p| Box::new(p) as _),
                stdout.clone(),
            ),
            pump(
                child.stderr.take().map(|p| Box::new(p) as _),
                stderr.clone(),
            ),
        ];
        Proc {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends a signal (`TERM`, `INT`) with kill(1).
    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), self.pid()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits at most `limit` for the exit code (`None`: killed), then for its output.
    fn finish(&mut self, limit: Duration) -> Option<i32> {
        let code = wait(&mut self.child, limit);
        for reader in self.readers.drain(..) {
            reader.join().expect("read the output");
        }
        code
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // A failed test leaves no process behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pump(pipe: Option<Box<dyn Read + Send>>, into: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let Some(mut pipe) = pipe else { return };
        let mut buffer = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buffer) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    })
}

/// A script that works for `seconds` (real time), after changing the academy.
fn slow(group: &str, seconds: f64) -> String {
    format!(
        "create_group(\"{group}\");\nlet t = timestamp();\nwhile t.elapsed < {seconds:.1} {{}}\nprint(\"done\");\n"
    )
}

// --- schedule add -----------------------------------------------------------

#[test]
fn add_refuses_an_invalid_cron_expression_and_stores_nothing() {
    let env = Env::new();
    for cron in ["0 25 * * *", "nonsense"] {
        add(&env, "nightly", cron, "job.rhai", HELLO, &[])
            .code(1)
            .no_panic()
            .stderr_has(&format!("invalid cron expression '{cron}'"));
        assert_eq!(schedule_count(&env), 0, "stored with cron {cron:?}");
    }
}

#[test]
fn add_refuses_an_unknown_time_zone_and_stores_nothing() {
    let env = Env::new();
    add(
        &env,
        "nightly",
        "0 3 * * *",
        "job.rhai",
        HELLO,
        &["--tz", "Mars/Olympus"],
    )
    .code(1)
    .stderr_has("unknown time zone 'Mars/Olympus'");
    assert_eq!(schedule_count(&env), 0);
}

#[test]
fn add_refuses_a_missing_script_file() {
    let env = Env::new();
    env.rollcall(&[
        "schedule",
        "add",
        "nightly",
        "--cron",
        "0 3 * * *",
        "missing.rhai",
    ])
    .code(1)
    .stderr_has("cannot find the script")
    .stderr_has("missing.rhai");
    assert_eq!(schedule_count(&env), 0);
}

#[test]
fn add_refuses_a_duplicate_name_and_keeps_the_first() {
    let env = Env::new();
    add(&env, "nightly", "0 3 * * *", "job.rhai", HELLO, &[]).success();
    add(&env, "nightly", "*/5 * * * *", "other.rhai", HELLO, &[])
        .code(1)
        .stderr_has("a schedule named 'nightly' exists");
    assert_eq!(schedule_count(&env), 1);
    assert_eq!(field(&env, "nightly", "cron"), "0 3 * * *");
    assert!(field(&env, "nightly", "script").ends_with("job.rhai"));
}

#[test]
fn add_stores_the_schedule_first_due_at_its_next_cron_time_after_now() {
    let env = Env::new();
    let before = stamp(Timestamp::now());
    let utc = add(
        &env,
        "utc",
        "0 3 * * *",
        "job.rhai",
        HELLO,
        &["--arg", "who=ada"],
    );
    let ams = add(
        &env,
        "ams",
        "0 3 * * *",
        "job.rhai",
        HELLO,
        &["--tz", "Europe/Amsterdam"],
    );
    let after = stamp(Timestamp::now());
    utc.success().stdout_is("");
    ams.success().stdout_is("");

    for (name, tz, out) in [("utc", "UTC", &utc), ("ams", "Europe/Amsterdam", &ams)] {
        let created = field(&env, name, "created_at");
        assert!(
            before <= created && created <= after,
            "{name}: created at {created}, not between {before} and {after}"
        );
        let expected = stamp(next_at_hour(created.parse().unwrap(), tz, 3));
        let next_due = field(&env, name, "next_due");
        assert_eq!(next_due, expected, "{name}: next due");
        assert!(next_due > created);
        out.stderr_has(&format!("added '{name}'"))
            .stderr_has(&format!("first due at {expected}"));
        assert_eq!(field(&env, name, "tz"), tz);
        assert_eq!(field(&env, name, "enabled"), "1");
        assert_eq!(field(&env, name, "confirm"), "0");
        assert_eq!(field(&env, name, "lock_owner"), "NULL");
        assert_eq!(field(&env, name, "lock_expires"), "NULL");
    }
    // The script is stored as a full path, so run-due works from anywhere.
    let script = field(&env, "utc", "script");
    assert_eq!(
        std::path::PathBuf::from(&script),
        env.path("job.rhai").canonicalize().unwrap()
    );
    let args: serde_json::Value = serde_json::from_str(&field(&env, "utc", "args")).unwrap();
    assert_eq!(args, json!({"who": "ada"}));
    assert_eq!(runs_of(&env, "utc").len(), 0, "add runs nothing");
}

#[test]
fn list_shows_next_due_and_last_outcome_as_a_table_and_as_json() {
    let env = Env::new();
    add_due(&env, "nightly", "job.rhai", HELLO, "2026-11-22T03:00:00Z");
    let json = env
        .rollcall(&["schedule", "list", "--json"])
        .success()
        .json();
    assert_eq!(json.as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(json[0]["name"], "nightly");
    assert_eq!(json[0]["cron"], "0 3 * * *");
    assert_eq!(json[0]["enabled"], "yes");
    assert_eq!(json[0]["next due"], "2026-11-22T03:00:00Z");
    assert_eq!(json[0]["last run"], serde_json::Value::Null);

    silent(&run_due(&env, "2026-11-22T03:00:00Z"));
    let started = env.rows("SELECT started_at FROM runs")[0][0].clone();
    env.rollcall(&["schedule", "list"])
        .success()
        .stdout_has("nightly")
        .stdout_has("0 3 * * *")
        .stdout_has("2026-11-23T03:00:00Z")
        .stdout_has(&format!("success at {started}"));
    let json = env
        .rollcall(&["schedule", "list", "--json"])
        .success()
        .json();
    assert_eq!(json[0]["next due"], "2026-11-23T03:00:00Z");
    assert_eq!(json[0]["last run"], format!("success at {started}"));

    env.write("job.rhai", "throw \"nope\";\n");
    run_due(&env, "2026-11-23T03:00:00Z").code(1);
    let json = env
        .rollcall(&["schedule", "list", "--json"])
        .success()
        .json();
    let last = json[0]["last run"].as_str().unwrap_or_default();
    assert!(last.starts_with("error at "), "{json}");
}

#[test]
fn disable_enable_and_remove_a_schedule() {
    let env = Env::new();
    add_due(&env, "nightly", "job.rhai", HELLO, "2026-11-22T03:00:00Z");
    add_due(&env, "other", "job.rhai", HELLO, "2026-11-22T03:00:00Z");

    env.rollcall(&["schedule", "disable", "nightly"]).success();
    assert_eq!(field(&env, "nightly", "enabled"), "0");
    let json = env
        .rollcall(&["schedule", "list", "--json"])
        .success()
        .json();
    assert_eq!(json[0]["name"], "nightly");
    assert_eq!(json[0]["enabled"], "no");
    assert_eq!(json[1]["enabled"], "yes");
    // However late it is, a disabled schedule does not run; the other one does.
    silent(&run_due(&env, "2030-01-01T12:00:00Z"));
    assert_eq!(runs_of(&env, "nightly").len(), 0);
    assert_eq!(runs_of(&env, "other").len(), 1);

    let before = stamp(Timestamp::now());
    env.rollcall(&["schedule", "enable", "nightly"]).success();
    let after = stamp(Timestamp::now());
    assert_eq!(field(&env, "nightly", "enabled"), "1");
    // Enabled again, it is next due at its next cron time after the real now.
    let next_due = field(&env, "nightly", "next_due");
    let low = stamp(next_at_hour(before.parse().unwrap(), "UTC", 3));
    let high = stamp(next_at_hour(after.parse().unwrap(), "UTC", 3));
    assert!(
        next_due == low || next_due == high,
        "{next_due} is neither {low} nor {high}"
    );
    silent(&run_due(&env, "2030-01-02T12:00:00Z"));
    assert_eq!(runs_of(&env, "nightly").len(), 1);

    env.rollcall(&["schedule", "remove", "nightly"]).success();
    assert_eq!(
        env.int("SELECT count(*) FROM schedules WHERE name = 'nightly'"),
        0
    );
    assert_eq!(schedule_count(&env), 1, "remove took the other one too");
    assert_eq!(
        env.int("SELECT count(*) FROM runs"),
        3,
        "the run history stays"
    );
    for action in ["remove", "enable", "disable"] {
        env.rollcall(&["schedule", action, "nightly"])
            .code(1)
            .stderr_has("no schedule named 'nightly'");
    }
}

// --- schedule run-due -------------------------------------------------------

#[test]
fn run_due_does_nothing_before_next_due_then_runs_once() {
    let env = Env::new();
    add_due(&env, "nightly", "job.rhai", HELLO, "2026-11-22T03:00:00Z");
    let id = field(&env, "nightly", "id");

    silent(&run_due(&env, "2026-11-22T02:59:59Z"));
    assert_eq!(env.int("SELECT count(*) FROM runs"), 0);
    assert_eq!(field(&env, "nightly", "next_due"), "2026-11-22T03:00:00Z");

    silent(&run_due(&env, "2026-11-22T03:00:00Z"));
    let runs = runs_of(&env, "nightly");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(env.int("SELECT count(*) FROM runs"), 1);
    let run = &runs[0];
    assert_eq!(run[0], "success");
    assert_eq!(run[1], "NULL");
    assert_eq!(run[2], "hello from the schedule\n", "the captured output");
    assert_eq!(run[4], id);
    assert_ne!(
        env.rows("SELECT ended_at FROM runs")[0][0],
        "NULL",
        "no end time"
    );
    assert_eq!(field(&env, "nightly", "next_due"), "2026-11-23T03:00:00Z");
    assert_eq!(field(&env, "nightly", "lock_owner"), "NULL");
    assert_eq!(field(&env, "nightly", "lock_expires"), "NULL");

    // Run, it is no longer due at the same time, nor until the next one.
    silent(&run_due(&env, "2026-11-22T03:00:00Z"));
    silent(&run_due(&env, "2026-11-23T02:59:59Z"));
    assert_eq!(runs_of(&env, "nightly").len(), 1);
    silent(&run_due(&env, "2026-11-23T03:00:05Z"));
    assert_eq!(runs_of(&env, "nightly").len(), 2);
    assert_eq!(field(&env, "nightly", "next_due"), "2026-11-24T03:00:00Z");
}

#[test]
fn run_due_runs_a_schedule_that_missed_several_times_once() {
    let env = Env::new();
    add(&env, "hourly", "0 * * * *", "job.rhai", HELLO, &[]).success();
    set_due(&env, "hourly", "2026-01-01T00:00:00Z");
    silent(&run_due(&env, "2026-01-03T05:30:00Z"));
    assert_eq!(runs_of(&env, "hourly").len(), 1, "53 missed times run once");
    assert_eq!(field(&env, "hourly", "next_due"), "2026-01-03T06:00:00Z");
    silent(&run_due(&env, "2026-01-03T05:59:59Z"));
    assert_eq!(runs_of(&env, "hourly").len(), 1);
}

#[test]
fn run_due_reads_the_cron_expression_in_the_schedules_time_zone() {
    let env = Env::new();
    add(
        &env,
        "ams",
        "0 3 * * *",
        "job.rhai",
        "print(today());\n",
        &["--tz", "Europe/Amsterdam"],
    )
    .success();
    set_due(&env, "ams", "2026-01-01T00:00:00Z");

    // Winter: 03:00 in Amsterdam is 02:00Z.
    silent(&run_due(&env, "2026-01-15T12:00:00Z"));
    assert_eq!(field(&env, "ams", "next_due"), "2026-01-16T02:00:00Z");
    silent(&run_due(&env, "2026-01-16T01:59:59Z"));
    assert_eq!(runs_of(&env, "ams").len(), 1);
    silent(&run_due(&env, "2026-01-16T02:00:00Z"));
    assert_eq!(runs_of(&env, "ams").len(), 2);

    // Summer: 01:00Z. --now may carry an offset.
    silent(&run_due(&env, "2026-07-15T12:00:00Z"));
    assert_eq!(field(&env, "ams", "next_due"), "2026-07-16T01:00:00Z");
    silent(&run_due(&env, "2026-07-16T02:59:59+02:00"));
    assert_eq!(runs_of(&env, "ams").len(), 3);
    silent(&run_due(&env, "2026-07-16T03:00:00+02:00"));
    assert_eq!(field(&env, "ams", "next_due"), "2026-07-17T01:00:00Z");

    // A late-evening UTC run is already tomorrow in Amsterdam: today() follows the zone.
    silent(&run_due(&env, "2026-07-17T23:30:00Z"));
    let runs = runs_of(&env, "ams");
    assert_eq!(runs.len(), 5);
    assert_eq!(runs[4][2], "2026-07-18\n", "today() of the run");
    assert_eq!(runs[0][2], "2026-01-15\n");
}

#[test]
fn run_due_passes_the_schedules_args_to_the_script() {
    let env = Env::new();
    add(
        &env,
        "greet",
        "0 3 * * *",
        "job.rhai",
        "print(args.who + \"/\" + args.n);\n",
        &["--arg", "who=ada", "--arg", "n=3"],
    )
    .success();
    set_due(&env, "greet", "2026-01-01T03:00:00Z");
    silent(&run_due(&env, "2026-01-01T03:00:00Z"));
    let runs = runs_of(&env, "greet");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0][0], "success", "{runs:?}");
    assert_eq!(runs[0][2], "ada/3\n");
    let args: serde_json::Value = serde_json::from_str(&runs[0][3]).unwrap();
    assert_eq!(args, json!({"who": "ada", "n": "3"}));
}

#[test]
fn a_failing_script_is_recorded_as_error_and_changes_nothing() {
    let env = Env::new();
    add_due(
        &env,
        "broken",
        "broken.rhai",
        "create_group(\"half-done\");\nprint(\"before\");\nthrow \"broken on purpose\";\n",
        "2026-11-22T03:00:00Z",
    );
    add_due(
        &env,
        "fine",
        "fine.rhai",
        "create_group(\"fine\");\n",
        "2026-11-22T03:00:00Z",
    );
    let before = academy(&env);

    let out = run_due(&env, "2026-11-22T03:00:00Z");
    out.code(1)
        .no_panic()
        .stdout_is("")
        .stderr_has("schedule 'broken' failed")
        .stderr_has("broken on purpose");
    assert!(!out.stderr.contains("'fine'"), "{}", out.stderr);

    let runs = runs_of(&env, "broken");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0][0], "error");
    assert!(runs[0][1].contains("broken on purpose"), "{:?}", runs[0][1]);
    assert_eq!(
        runs[0][2], "create_group: half-done\nbefore\n",
        "the output before the failure"
    );
    assert!(
        !group_exists(&env, "half-done"),
        "the failed run's change stayed"
    );
    assert_eq!(
        env.rows("SELECT changes FROM runs WHERE outcome = 'error'")[0][0],
        "0"
    );
    // The failure does not keep the other due schedule from running.
    assert_eq!(runs_of(&env, "fine")[0][0], "success");
    assert!(group_exists(&env, "fine"));
    let others = |dump: Dump| -> Dump {
        dump.into_iter()
            .filter(|(table, _)| table != "groups" && table != "audit")
            .collect()
    };
    assert_eq!(
        others(academy(&env)),
        others(before),
        "the failed run changed something"
    );
    assert_eq!(
        env.rows("SELECT name FROM groups"),
        vec![vec!["fine".to_string()]]
    );
    assert_eq!(
        env.int(
            "SELECT count(*) FROM audit WHERE run_id IN (SELECT id FROM runs WHERE outcome = 'error')"
        ),
        0
    );
    // The failed schedule is not retried until its next time.
    assert_eq!(field(&env, "broken", "next_due"), "2026-11-23T03:00:00Z");
    assert_eq!(field(&env, "broken", "lock_owner"), "NULL");
    silent(&run_due(&env, "2026-11-22T03:00:00Z"));
    assert_eq!(env.int("SELECT count(*) FROM runs"), 2);
}

#[test]
fn a_script_missing_at_run_time_is_recorded_as_error() {
    let env = Env::new();
    add_due(&env, "gone", "gone.rhai", HELLO, "2026-11-22T03:00:00Z");
    std::fs::remove_file(env.path("gone.rhai")).unwrap();
    run_due(&env, "2026-11-22T03:00:00Z")
        .code(1)
        .stderr_has("schedule 'gone' failed")
        .stderr_has("cannot read the script");
    let runs = runs_of(&env, "gone");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0][0], "error");
    assert!(runs[0][1].contains("gone.rhai"), "{:?}", runs[0][1]);
    assert_eq!(field(&env, "gone", "lock_owner"), "NULL");
}

#[test]
fn a_runaway_script_is_stopped_by_the_timeout_and_changes_nothing() {
    let env = Env::new();
    add_due(
        &env,
        "runaway",
        "runaway.rhai",
        "create_group(\"runaway\");\nloop {}\n",
        "2026-11-22T03:00:00Z",
    );
    let before = academy(&env);
    let out = env.rollcall(&[
        "--timeout",
        "2",
        "schedule",
        "run-due",
        "--now",
        "2026-11-22T03:00:00Z",
    ]);
    out.code(1)
        .no_panic()
        .stderr_has("schedule 'runaway' failed")
        .stderr_has("longer than 2 s");
    assert!(
        out.elapsed >= Duration::from_secs(2) && out.elapsed < Duration::from_secs(40),
        "stopped after {:?}",
        out.elapsed
    );
    let runs = runs_of(&env, "runaway");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0][0], "error");
    assert!(runs[0][1].contains("longer than 2 s"), "{:?}", runs[0][1]);
    assert_eq!(academy(&env), before, "the runaway run changed something");
    assert!(!group_exists(&env, "runaway"));
    assert_eq!(field(&env, "runaway", "lock_owner"), "NULL");
    assert_eq!(field(&env, "runaway", "next_due"), "2026-11-23T03:00:00Z");
}

#[test]
fn a_destructive_action_needs_yes_at_add_time() {
    let env = Env::demo(20);
    let members = env.int("SELECT count(*) FROM members");
    let script = "members().limit(2).delete();\n";
    add(&env, "unconfirmed", "0 3 * * *", "delete.rhai", script, &[]).success();
    set_due(&env, "unconfirmed", "2026-01-01T00:00:00Z");
    env.rollcall(&[
        "--yes",
        "schedule",
        "add",
        "confirmed",
        "--cron",
        "0 3 * * *",
        "delete.rhai",
    ])
    .success();
    set_due(&env, "confirmed", "2026-02-01T00:00:00Z");
    assert_eq!(field(&env, "unconfirmed", "confirm"), "0");
    assert_eq!(field(&env, "confirmed", "confirm"), "1");
    let before = academy(&env);

    run_due(&env, "2026-01-01T12:00:00Z")
        .code(1)
        .stderr_has("schedule 'unconfirmed' failed")
        .stderr_has("cannot be undone");
    let runs = runs_of(&env, "unconfirmed");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0][0], "refused");
    assert!(runs[0][1].contains("delete()"), "{:?}", runs[0][1]);
    assert_eq!(academy(&env), before, "a refused run changed something");

    // --yes at run-due time does not confirm: the schedule's own setting does.
    env.rollcall(&[
        "--yes",
        "schedule",
        "run-due",
        "--now",
        "2026-01-02T12:00:00Z",
    ])
    .code(1);
    assert_eq!(runs_of(&env, "unconfirmed")[1][0], "refused");
    assert_eq!(academy(&env), before);

    let out = run_due(&env, "2026-02-01T12:00:00Z");
    out.code(1).stderr_has("schedule 'unconfirmed' failed");
    assert!(!out.stderr.contains("'confirmed'"), "{}", out.stderr);
    let runs = runs_of(&env, "confirmed");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0][0], "success", "{runs:?}");
    assert_eq!(env.int("SELECT count(*) FROM members"), members - 2);
}

#[test]
fn run_due_refuses_a_malformed_now() {
    let env = Env::new();
    add_due(&env, "nightly", "job.rhai", HELLO, "2026-11-22T03:00:00Z");
    run_due(&env, "tomorrow at three")
        .code(2)
        .stderr_has("--now expects an RFC 3339 timestamp");
    assert_eq!(env.int("SELECT count(*) FROM runs"), 0);
}

// --- locks ------------------------------------------------------------------

#[test]
fn two_run_due_at_once_run_a_schedule_once() {
    let env = Env::new();
    add_due(
        &env,
        "slow",
        "slow.rhai",
        &slow("once", 3.0),
        "2026-11-22T03:00:00Z",
    );
    let args = ["-v", "schedule", "run-due", "--now", "2026-11-22T03:00:00Z"];
    let mut first = Proc::start(env.cmd(args));
    let mut second = Proc::start(env.cmd(args));
    let codes = [
        first.finish(Duration::from_secs(60)),
        second.finish(Duration::from_secs(60)),
    ];
    let errors = [first.stderr(), second.stderr()];
    assert_eq!(codes, [Some(0), Some(0)], "stderr: {errors:#?}");
    let runs = runs_of(&env, "slow");
    assert_eq!(runs.len(), 1, "{runs:?}\n{errors:#?}");
    assert_eq!(runs[0][0], "success", "{runs:?}");
    assert_eq!(runs[0][2], "create_group: once\ndone\n");
    let skipped = errors
        .iter()
        .filter(|e| e.contains("schedule 'slow': skipped, another process is running it"))
        .count();
    assert_eq!(skipped, 1, "{errors:#?}");
    assert!(errors.iter().all(|e| !e.contains("failed")), "{errors:#?}");
    assert_eq!(first.stdout() + &second.stdout(), "");
    assert!(group_exists(&env, "once"));
    assert_eq!(field(&env, "slow", "lock_owner"), "NULL");
    assert_eq!(field(&env, "slow", "next_due"), "2026-11-23T03:00:00Z");
}

#[test]
fn a_killed_run_keeps_its_lock_until_it_expires_and_changes_nothing() {
    let env = Env::new();
    add_due(
        &env,
        "slow",
        "slow.rhai",
        &slow("half-done", 60.0),
        "2026-11-22T03:00:00Z",
    );
    let before = academy(&env);
    let mut killed = Proc::start(env.cmd([
        "--timeout",
        "120",
        "schedule",
        "run-due",
        "--now",
        "2026-11-22T03:00:00Z",
    ]));
    wait_until("the run to start", Duration::from_secs(30), || {
        env.int("SELECT count(*) FROM runs WHERE outcome = 'running'") == 1
    });
    // Give it time to make its change inside the run's transaction.
    std::thread::sleep(Duration::from_millis(500));
    killed.child.kill().expect("SIGKILL");
    assert_eq!(killed.finish(Duration::from_secs(10)), None, "not killed");

    assert_eq!(academy(&env), before, "the killed run's change stayed");
    assert!(!group_exists(&env, "half-done"));
    let owner = field(&env, "slow", "lock_owner");
    assert!(
        owner.starts_with(&format!("pid {} ", killed.pid())),
        "lock owner {owner:?}"
    );
    // Expires after the run's timeout plus 300 s, counted from --now.
    assert_eq!(field(&env, "slow", "lock_expires"), "2026-11-22T03:07:00Z");
    assert_eq!(field(&env, "slow", "next_due"), "2026-11-22T03:00:00Z");

    // From now on the script is quick.
    env.write(
        "slow.rhai",
        "create_group(\"taken-over\");\nprint(\"took over\");\n",
    );
    for now in ["2026-11-22T03:00:00Z", "2026-11-22T03:06:59Z"] {
        silent(&run_due(&env, now));
        assert_eq!(runs_of(&env, "slow").len(), 1, "ran while locked at {now}");
        assert_eq!(field(&env, "slow", "lock_owner"), owner);
    }
    env.rollcall(&["-v", "schedule", "run-due", "--now", "2026-11-22T03:00:00Z"])
        .success()
        .stderr_has("schedule 'slow': skipped, another process is running it");

    silent(&run_due(&env, "2026-11-22T03:07:01Z"));
    let runs = runs_of(&env, "slow");
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[1][0], "success");
    assert_eq!(runs[1][2], "create_group: taken-over\ntook over\n");
    assert!(group_exists(&env, "taken-over"));
    assert!(!group_exists(&env, "half-done"));
    assert_eq!(field(&env, "slow", "lock_owner"), "NULL");
    assert_eq!(field(&env, "slow", "lock_expires"), "NULL");
    assert_eq!(field(&env, "slow", "next_due"), "2026-11-23T03:00:00Z");
}

// --- runs --schedule --------------------------------------------------------

#[test]
fn runs_schedule_lists_only_that_schedules_runs() {
    let env = Env::new();
    add_due(&env, "alpha", "alpha.rhai", HELLO, "2026-11-22T03:00:00Z");
    add_due(
        &env,
        "beta",
        "beta.rhai",
        "throw \"beta broke\";\n",
        "2026-11-22T03:00:00Z",
    );
    run_due(&env, "2026-11-22T03:00:00Z").code(1);
    run_due(&env, "2026-11-23T03:00:00Z").code(1);
    env.write("manual.rhai", "1\n");
    env.rollcall(&["run", "manual.rhai"]).success();
    assert_eq!(env.int("SELECT count(*) FROM runs"), 5);

    let json = env
        .rollcall(&["runs", "--schedule", "alpha", "--json"])
        .success()
        .json();
    let runs = json.as_array().expect("an array of runs");
    assert_eq!(runs.len(), 2, "{json}");
    for run in runs {
        assert_eq!(run["schedule"], "alpha", "{json}");
        assert_eq!(run["outcome"], "success", "{json}");
    }
    let beta = env
        .rollcall(&["runs", "--schedule", "beta"])
        .success()
        .stdout_has("beta broke")
        .stdout_has("error")
        .stdout
        .clone();
    assert!(!beta.contains("alpha.rhai"), "{beta}");
    assert!(!beta.contains("manual.rhai"), "{beta}");
    env.rollcall(&["runs"])
        .success()
        .stdout_has("manual.rhai")
        .stdout_has("alpha.rhai");

    env.rollcall(&["runs", "--schedule", "gamma"])
        .code(1)
        .stdout_is("")
        .stderr_has("no schedule named 'gamma'");
}

#[test]
fn a_new_schedule_does_not_inherit_the_runs_of_a_removed_one() {
    let env = Env::new();
    add_due(
        &env,
        "old",
        "old.rhai",
        "throw \"old failure\";\n",
        "2026-11-22T03:00:00Z",
    );
    run_due(&env, "2026-11-22T03:00:00Z").code(1);
    env.rollcall(&["schedule", "remove", "old"]).success();
    add(&env, "new", "0 3 * * *", "new.rhai", HELLO, &[]).success();

    let json = env
        .rollcall(&["runs", "--schedule", "new", "--json"])
        .success()
        .json();
    assert_eq!(json, json!([]), "the new schedule lists the old one's runs");
    let list = env
        .rollcall(&["schedule", "list", "--json"])
        .success()
        .json();
    assert_eq!(list[0]["name"], "new");
    assert_eq!(list[0]["last run"], serde_json::Value::Null, "{list}");
}

// --- schedule daemon --------------------------------------------------------

fn daemon(env: &Env, flags: &[&str]) -> Proc {
    let mut args = flags.to_vec();
    args.extend(["schedule", "daemon"]);
    Proc::start(env.cmd(args).limit(Duration::from_secs(60)))
}

#[test]
fn daemon_runs_a_due_schedule_and_stops_on_sigterm() {
    let env = Env::new();
    add_due(&env, "nightly", "job.rhai", HELLO, "2000-01-01T00:00:00Z");
    let started = stamp(Timestamp::now());
    let mut proc = daemon(&env, &[]);
    wait_until("the daemon's run", Duration::from_secs(30), || {
        env.int("SELECT count(*) FROM runs WHERE outcome != 'running'") == 1
    });
    let runs = runs_of(&env, "nightly");
    assert_eq!(runs[0][0], "success", "{runs:?}");
    assert_eq!(runs[0][2], "hello from the schedule\n");
    // It was run once, and is next due at its next time after the real now.
    wait_until("the lock's release", Duration::from_secs(10), || {
        field(&env, "nightly", "lock_owner") == "NULL"
    });
    let next_due = field(&env, "nightly", "next_due");
    assert!(next_due > started, "next due {next_due}");
    assert!(next_due.ends_with("T03:00:00Z"), "next due {next_due}");

    let signalled = Instant::now();
    proc.signal("TERM");
    let code = proc.finish(Duration::from_secs(5));
    assert_eq!(code, Some(0), "stderr:\n{}", proc.stderr());
    assert!(signalled.elapsed() < Duration::from_secs(5));
    assert!(
        proc.stderr().contains("rollcall daemon"),
        "{}",
        proc.stderr()
    );
    assert_eq!(proc.stdout(), "");
    assert_eq!(runs_of(&env, "nightly").len(), 1);
}

#[test]
fn daemon_finishes_the_run_in_progress_on_sigterm() {
    let env = Env::new();
    add_due(
        &env,
        "slow",
        "slow.rhai",
        &slow("finished", 2.5),
        "2000-01-01T00:00:00Z",
    );
    let mut proc = daemon(&env, &[]);
    wait_until("the run to start", Duration::from_secs(30), || {
        env.int("SELECT count(*) FROM runs WHERE outcome = 'running'") == 1
    });
    std::thread::sleep(Duration::from_millis(300));
    proc.signal("TERM");
    let code = proc.finish(Duration::from_secs(30));
    assert_eq!(code, Some(0), "stderr:\n{}", proc.stderr());
    assert!(
        proc.stderr().contains("finishing the run in progress"),
        "{}",
        proc.stderr()
    );
    let runs = runs_of(&env, "slow");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0][0], "success", "the run was cut short: {runs:?}");
    assert_eq!(runs[0][2], "create_group: finished\ndone\n");
    assert!(
        group_exists(&env, "finished"),
        "its change was not committed"
    );
    assert_eq!(field(&env, "slow", "lock_owner"), "NULL");
    assert_ne!(field(&env, "slow", "next_due"), "2000-01-01T00:00:00Z");
}

#[test]
fn daemon_starts_no_new_run_after_sigterm() {
    let env = Env::new();
    add_due(
        &env,
        "a-first",
        "first.rhai",
        &slow("first", 2.0),
        "2000-01-01T00:00:00Z",
    );
    add_due(
        &env,
        "b-second",
        "second.rhai",
        &slow("second", 2.0),
        "2000-01-01T00:00:00Z",
    );
    let mut proc = daemon(&env, &[]);
    wait_until("the first run to start", Duration::from_secs(30), || {
        env.int("SELECT count(*) FROM runs WHERE outcome = 'running'") == 1
    });
    proc.signal("TERM");
    let code = proc.finish(Duration::from_secs(30));
    assert_eq!(code, Some(0), "stderr:\n{}", proc.stderr());
    assert_eq!(runs_of(&env, "a-first").len(), 1);
    assert_eq!(runs_of(&env, "a-first")[0][0], "success");
    assert!(group_exists(&env, "first"));
    assert_eq!(
        runs_of(&env, "b-second").len(),
        0,
        "a new run started after SIGTERM"
    );
    assert!(!group_exists(&env, "second"));
    assert_eq!(field(&env, "b-second", "next_due"), "2000-01-01T00:00:00Z");
}

#[test]
fn daemon_stops_on_sigint_when_idle() {
    let env = Env::new();
    add(&env, "nightly", "0 3 * * *", "job.rhai", HELLO, &[]).success();
    let mut proc = daemon(&env, &[]);
    wait_until("the daemon to start", Duration::from_secs(30), || {
        proc.stderr().contains("rollcall daemon")
    });
    std::thread::sleep(Duration::from_millis(200));
    proc.signal("INT");
    let code = proc.finish(Duration::from_secs(5));
    assert_eq!(code, Some(0), "stderr:\n{}", proc.stderr());
    assert_eq!(env.int("SELECT count(*) FROM runs"), 0, "nothing was due");
}

#[test]
fn daemon_does_not_spin_on_a_schedule_another_process_holds() {
    let env = Env::new();
    add_due(&env, "locked", "job.rhai", HELLO, "2000-01-01T00:00:00Z");
    env.conn()
        .execute(
            "UPDATE schedules SET lock_owner = 'pid 999999 at 2000-01-01T00:00:00Z',
                    lock_expires = '2999-01-01T00:00:00Z'",
            [],
        )
        .unwrap();
    let mut proc = daemon(&env, &["-v"]);
    wait_until("the daemon to start", Duration::from_secs(30), || {
        proc.stderr().contains("rollcall daemon")
    });
    std::thread::sleep(Duration::from_secs(2));
    proc.signal("TERM");
    let code = proc.finish(Duration::from_secs(10));
    let stderr = proc.stderr();
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    let checks = stderr.matches("skipped, another process").count();
    assert!(checks >= 1, "never looked at the schedule:\n{stderr}");
    assert!(
        checks <= 5,
        "looked at the locked schedule {checks} times in about 2 s"
    );
    assert_eq!(env.int("SELECT count(*) FROM runs"), 0);
}
