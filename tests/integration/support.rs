//! The test harness: a temporary folder with a database in it, a builder that
//! runs the real `rollcall` binary there, and helpers to look at the database
//! afterwards.
//!
//! Every test owns its folder, so tests run in parallel without sharing a
//! database. The binary runs with the folder as its current directory, with
//! `ROLLCALL_DB` and `ROLLCALL_TODAY` removed from its environment (a test sets
//! them when it is about them), and with stdin closed.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::types::Value as Sql;

pub const BIN: &str = env!("CARGO_BIN_EXE_rollcall");

/// How long a run may take before the harness kills it. Generous: debug
/// builds on a busy machine running many tests at once.
const DEFAULT_LIMIT: Duration = Duration::from_secs(120);

/// A temporary folder holding the test's database (`t.db`) and files.
pub struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    /// A folder with a demo academy of `members` members (seed 42) in `t.db`.
    pub fn demo(members: u32) -> Env {
        let env = Env::new();
        env.rollcall(&["-q", "init", "--demo", &members.to_string()])
            .success();
        env
    }

    /// A path inside the folder.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// The database the builder points `--db` at.
    pub fn db(&self) -> PathBuf {
        self.path("t.db")
    }

    /// Writes a file (creating its folders) and returns its full path.
    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the file's folder");
        }
        std::fs::write(&path, text).expect("write the file");
        path
    }

    /// A run of `rollcall --db t.db ARGS...`, to adjust and then `run()`.
    pub fn cmd<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Run {
            args: args.into_iter().map(|a| a.as_ref().to_owned()).collect(),
            envs: Vec::new(),
            db: Some(self.db()),
            cwd: self.dir.path().to_path_buf(),
            limit: DEFAULT_LIMIT,
        }
    }

    /// Runs `rollcall --db t.db ARGS...` to completion.
    pub fn rollcall(&self, args: &[&str]) -> Out {
        self.cmd(args).run()
    }

    /// Opens a database of the folder to look at it.
    pub fn open(&self, path: &Path) -> Connection {
        assert!(path.exists(), "no database at {}", path.display());
        Connection::open(path).expect("open the database")
    }

    /// Opens `t.db`.
    pub fn conn(&self) -> Connection {
        self.open(&self.db())
    }

    /// The single integer `sql` returns from `t.db`.
    pub fn int(&self, sql: &str) -> i64 {
        self.conn()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Every row `sql` returns from `t.db`, each value as text (NULL as `NULL`).
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        rows(&self.conn(), sql)
    }

    /// Every row of every table of the database at `path`: for "nothing changed".
    pub fn dump_of(&self, path: &Path) -> Vec<(String, Vec<Vec<String>>)> {
        let conn = self.open(path);
        let tables: Vec<String> = rows(
            &conn,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .into_iter()
        .map(|mut row| row.remove(0))
        .collect();
        assert!(
            tables.iter().any(|t| t == "members"),
            "no members table in {tables:?}"
        );
        tables
            .into_iter()
            .map(|t| {
                let content = rows(&conn, &format!("SELECT * FROM \"{t}\" ORDER BY 1"));
                (t, content)
            })
            .collect()
    }

    /// The dump of `t.db`.
    pub fn dump(&self) -> Vec<(String, Vec<Vec<String>>)> {
        self.dump_of(&self.db())
    }
}

fn rows(conn: &Connection, sql: &str) -> Vec<Vec<String>> {
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let columns = stmt.column_count();
    stmt.query_map([], |row| {
        (0..columns)
            .map(|i| {
                row.get::<_, Sql>(i).map(|v| match v {
                    Sql::Null => "NULL".to_string(),
                    Sql::Integer(n) => n.to_string(),
                    Sql::Real(x) => x.to_string(),
                    Sql::Text(t) => t,
                    Sql::Blob(b) => format!("{b:?}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// One invocation of the binary, built up before it runs.
pub struct Run {
    args: Vec<OsString>,
    envs: Vec<(String, OsString)>,
    db: Option<PathBuf>,
    cwd: PathBuf,
    limit: Duration,
}

impl Run {
    /// Sets an environment variable for the run.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Run {
        self.envs.push((key.to_string(), value.as_ref().to_owned()));
        self
    }

    /// Points `--db` at another file.
    pub fn db(mut self, path: impl Into<PathBuf>) -> Run {
        self.db = Some(path.into());
        self
    }

    /// Leaves out `--db`, so the binary picks its database itself.
    pub fn without_db(mut self) -> Run {
        self.db = None;
        self
    }

    /// Runs in another current directory.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Run {
        self.cwd = dir.into();
        self
    }

    /// Kills the run when it takes longer than `limit`.
    pub fn limit(mut self, limit: Duration) -> Run {
        self.limit = limit;
        self
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(&self.cwd)
            .env_remove("ROLLCALL_DB")
            .env_remove("ROLLCALL_TODAY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(db) = &self.db {
            cmd.arg("--db").arg(db);
        }
        cmd.args(&self.args);
        for (key, value) in &self.envs {
            cmd.env(key, value);
        }
        cmd
    }

    /// Starts the run and hands back the process, its pipes still open.
    pub fn spawn(&self) -> Child {
        self.command().spawn().expect("start rollcall")
    }

    /// Runs to completion (or until the limit) and captures what happened.
    pub fn run(self) -> Out {
        let started = Instant::now();
        let mut child = self.spawn();
        let stdout = reader(child.stdout.take());
        let stderr = reader(child.stderr.take());
        let code = wait(&mut child, self.limit);
        let elapsed = started.elapsed();
        Out {
            code,
            stdout: stdout.join().expect("read stdout"),
            stderr: stderr.join().expect("read stderr"),
            elapsed,
            command: format!("rollcall {:?}", self.args),
        }
    }
}

fn reader<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for `child` at most `limit`; kills it after that. The exit code, or
/// `None` when it was killed (by the limit or a signal).
pub fn wait(child: &mut Child, limit: Duration) -> Option<i32> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for rollcall") {
            return status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What one run produced.
#[derive(Debug)]
pub struct Out {
    /// The exit code; `None` when the harness had to kill the run.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    command: String,
}

impl Out {
    /// Asserts the exit code, showing everything the run printed when it differs.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Out {
        assert_eq!(
            self.code,
            Some(expected),
            "{} exited with {:?} after {:.1?}, expected {expected}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.command,
            self.code,
            self.elapsed,
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn success(&self) -> &Out {
        self.code(0)
    }

    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Out {
        assert!(
            self.stdout.contains(text),
            "{}: stdout lacks {text:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.command,
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Out {
        assert!(
            self.stderr.contains(text),
            "{}: stderr lacks {text:?}\n--- stderr:\n{}",
            self.command,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stdout_is(&self, text: &str) -> &Out {
        assert_eq!(
            self.stdout, text,
            "{}: stdout differs; stderr:\n{}",
            self.command, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn no_panic(&self) -> &Out {
        assert!(
            !self.stderr.contains("panicked"),
            "{} panicked:\n{}",
            self.command,
            self.stderr
        );
        self
    }

    /// Stdout parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: stdout is not one JSON document ({e}):\n{}\n--- stderr:\n{}",
                self.command, self.stdout, self.stderr
            )
        })
    }
}
