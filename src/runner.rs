//! One run of a script: recorded in `runs`, executed inside one transaction,
//! committed only when the script succeeds and the run is not a dry run.

use std::path::PathBuf;
use std::rc::Rc;

use anyhow::Context as _;
use rhai::{Dynamic, Scope};
use rusqlite::{Connection, params};

use crate::engine::error::{ScriptError, parse_error};
use crate::engine::{Ctx, Deadline, Interrupt, Limits, ModulePaths, RunOptions, build_engine};
use crate::store;

/// A script to run: where it came from, its text and its `args`.
pub struct Script {
    /// How messages name it: the file path, or `<eval>`.
    pub name: String,
    pub source: String,
    pub args: Vec<(String, String)>,
    /// The folder `import` searches besides the stdlib.
    pub dir: Option<PathBuf>,
    /// The schedule this run belongs to.
    pub schedule_id: Option<i64>,
}

/// How a run ended.
pub enum Outcome {
    Success(Dynamic),
    /// A script or parse error, already rendered for the user.
    Failed(String),
    /// Refused for safety; the message says why.
    Refused(String),
}

/// What the caller gets back: the outcome, the run id and the context (for
/// rendering the value, which may be a lazy set that still needs the database).
pub struct Finished {
    pub outcome: Outcome,
    pub run_id: Option<i64>,
    pub ctx: Rc<Ctx>,
}

pub struct Runner {
    pub options: RunOptions,
    pub limits: Limits,
    pub stdlib: Option<PathBuf>,
    /// Capture `print` and `log` into the run record instead of the terminal.
    pub capture: bool,
    pub interrupt: Interrupt,
    /// What to make of a member set the script returns, while the run is open.
    pub present: Option<Present>,
}

/// How a returned member set is presented (it is lazy: it needs the run's engine).
#[derive(Clone, Copy, Debug)]
pub enum Present {
    /// Printed as a table of its first rows; the value becomes ().
    Table,
    /// Turned into an array of maps, for JSON.
    Rows,
}

impl Runner {
    pub fn run(&self, conn: Connection, script: &Script) -> anyhow::Result<Finished> {
        let ctx = Ctx::new(conn, self.options.clone());
        if self.capture {
            *ctx.output.borrow_mut() = Some(String::new());
        }
        let dry_run = self.options.dry_run;
        // A dry run leaves no trace at all, its own record included.
        let run_id = if dry_run {
            None
        } else {
            Some(record_start(&ctx.conn, script)?)
        };
        ctx.state.borrow_mut().run_id = run_id;

        let deadline = Deadline::default();
        let engine = build_engine(
            ctx.clone(),
            &self.limits,
            self.interrupt.clone(),
            deadline.clone(),
            ModulePaths {
                stdlib_dir: self.stdlib.clone(),
                script_dir: script.dir.clone(),
            },
        );

        let outcome = match engine.compile(&script.source) {
            Err(err) => Outcome::Failed(parse_error(&err).render(&script.name, &script.source)),
            Ok(mut ast) => {
                ast.set_source(script.name.as_str());
                let mut scope = Scope::new();
                let args: rhai::Map = script
                    .args
                    .iter()
                    .map(|(k, v)| (k.as_str().into(), Dynamic::from(v.clone())))
                    .collect();
                scope.push_constant("args", args);
                deadline.start(self.limits.timeout);
                let result = transact(&ctx, &engine, &ast, &mut scope, self.present, dry_run)?;
                match result {
                    Ok(value) => Outcome::Success(value),
                    Err(err) => {
                        let err = ScriptError::from_rhai(&err);
                        let text = err.render(&script.name, &script.source);
                        if err.refused {
                            Outcome::Refused(text)
                        } else {
                            Outcome::Failed(text)
                        }
                    }
                }
            }
        };
        if let Some(id) = run_id {
            record_end(&ctx, id, &outcome)?;
        }
        Ok(Finished {
            outcome,
            run_id,
            ctx,
        })
    }
}

/// Evaluates `ast` as one transaction: committed (with the files it wrote
/// moved into place) when it succeeds and `dry_run` is off, rolled back
/// otherwise. The outer error is the database failing; the inner one the script.
pub fn transact(
    ctx: &Ctx,
    engine: &rhai::Engine,
    ast: &rhai::AST,
    scope: &mut Scope,
    present: Option<Present>,
    dry_run: bool,
) -> anyhow::Result<Result<Dynamic, Box<rhai::EvalAltResult>>> {
    ctx.conn
        .execute_batch("BEGIN IMMEDIATE")
        .context("cannot start the run's transaction (is another run writing?)")?;
    let result = guard_panics(|| {
        engine
            .eval_ast_with_scope::<Dynamic>(scope, ast)
            .and_then(|value| present_value(engine, ast, value, present))
    });
    let keep = result.is_ok() && !dry_run;
    let result = if keep {
        result.and_then(|v| publish_files(ctx).map(|()| v))
    } else {
        result
    };
    let keep = keep && result.is_ok();
    let finish = ctx
        .conn
        .execute_batch(if keep { "COMMIT" } else { "ROLLBACK" });
    if !keep {
        discard_files(ctx);
    } else if finish.is_err() {
        unpublish(&ctx.state.borrow().files);
    }
    finish.context("cannot finish the run's transaction")?;
    Ok(result)
}

/// A returned member set is lazy and needs the run's engine: show it or
/// turn it into rows while the run is open.
fn present_value(
    engine: &rhai::Engine,
    ast: &rhai::AST,
    value: Dynamic,
    present: Option<Present>,
) -> Result<Dynamic, Box<rhai::EvalAltResult>> {
    let tail = match present {
        Some(_) if !value.is::<crate::engine::MemberSet>() => return Ok(value),
        None => return Ok(value),
        Some(Present::Table) => "__value.show(); ()",
        Some(Present::Rows) => "__value.list()",
    };
    // The set's closures are functions of the script's AST: keep them.
    let tail = engine.compile(tail).map_err(|e| e.to_string())?;
    let ast = ast.clone_functions_only().merge(&tail);
    let mut scope = Scope::new();
    scope.push("__value", value);
    engine.eval_ast_with_scope(&mut scope, &ast)
}

thread_local! {
    /// Set while a script runs: its panics become script errors, not crashes.
    static IN_SCRIPT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Keeps the default panic report for rollcall's own bugs, and silences it
/// for panics a script causes (a sort comparer that is not a total order
/// panics inside the standard library), which `guard_panics` reports instead.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !IN_SCRIPT.with(|flag| flag.get()) {
            default(info);
        }
    }));
}

fn guard_panics(
    eval: impl FnOnce() -> Result<Dynamic, Box<rhai::EvalAltResult>>,
) -> Result<Dynamic, Box<rhai::EvalAltResult>> {
    IN_SCRIPT.with(|flag| flag.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(eval));
    IN_SCRIPT.with(|flag| flag.set(false));
    result.unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown failure".into());
        Err(rhai::EvalAltResult::ErrorRuntime(
            format!("the script made the engine fail: {what}").into(),
            rhai::Position::NONE,
        )
        .into())
    })
}

/// Moves the run's files to their final names, just before the commit. If
/// one cannot be moved, those already moved are taken back out.
fn publish_files(ctx: &Ctx) -> Result<(), Box<rhai::EvalAltResult>> {
    let files = ctx.state.borrow().files.clone();
    for (done, (tmp, dest)) in files.iter().enumerate() {
        // A file that was never started (no rejected rows, say) has nothing to publish.
        if !tmp.exists() {
            continue;
        }
        if let Err(e) = std::fs::rename(tmp, dest) {
            unpublish(&files[..done]);
            return Err(Box::new(rhai::EvalAltResult::ErrorRuntime(
                format!(
                    "cannot move the finished file into place as {}: {e}",
                    dest.display()
                )
                .into(),
                rhai::Position::NONE,
            )));
        }
    }
    Ok(())
}

/// Removes files moved into place by a run whose commit then failed.
fn unpublish(files: &[(PathBuf, PathBuf)]) {
    for (_, dest) in files {
        let _ = std::fs::remove_file(dest);
    }
}

/// Removes the temporary files of a failed or dry run.
fn discard_files(ctx: &Ctx) {
    for (tmp, _) in ctx.state.borrow().files.iter() {
        let _ = std::fs::remove_file(tmp);
    }
}

/// Records the start of a run (of a script, or of a command such as an import).
pub fn record_start(conn: &Connection, script: &Script) -> anyhow::Result<i64> {
    close_dead_runs(conn)?;
    let args: serde_json::Map<String, serde_json::Value> = script
        .args
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    conn.execute(
        "INSERT INTO runs (script, source, args, schedule_id, started_at, pid)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            script.name,
            script.source,
            serde_json::Value::Object(args).to_string(),
            script.schedule_id,
            store::now(),
            std::process::id()
        ],
    )
    .context("cannot record the run")?;
    Ok(conn.last_insert_rowid())
}

/// Closes the records of runs whose process is gone (killed, or the machine
/// stopped): their transaction never committed, so they changed nothing.
fn close_dead_runs(conn: &Connection) -> anyhow::Result<()> {
    let running: Vec<(i64, Option<i64>)> = conn
        .prepare("SELECT id, pid FROM runs WHERE outcome = 'running'")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, pid) in running {
        // Only where the process table can be read; elsewhere a record stays open.
        let alive = match pid {
            Some(pid) if std::path::Path::new("/proc/self").exists() => {
                std::path::Path::new(&format!("/proc/{pid}")).exists()
            }
            _ => true,
        };
        if !alive {
            conn.execute(
                "UPDATE runs SET outcome = 'error', ended_at = ?2,
                     error = 'the process running it stopped before it finished (killed?); its changes were rolled back'
                 WHERE id = ?1 AND outcome = 'running'",
                params![id, store::now()],
            )?;
        }
    }
    Ok(())
}

fn record_end(ctx: &Ctx, id: i64, outcome: &Outcome) -> anyhow::Result<()> {
    let state = ctx.state.borrow();
    let output = ctx.output.borrow().clone().unwrap_or_default();
    record_finish(
        &ctx.conn,
        id,
        outcome,
        state.actions,
        state.changes,
        &output,
    )
}

/// Records how a run ended. A failed run changed nothing, whatever its
/// actions counted before the rollback.
pub fn record_finish(
    conn: &Connection,
    id: i64,
    outcome: &Outcome,
    actions: i64,
    changes: i64,
    output: &str,
) -> anyhow::Result<()> {
    let (label, error) = match outcome {
        Outcome::Success(_) => ("success", None),
        Outcome::Failed(text) => ("error", Some(text.as_str())),
        Outcome::Refused(text) => ("refused", Some(text.as_str())),
    };
    let (actions, changes) = match outcome {
        Outcome::Success(_) => (actions, changes),
        _ => (0, 0),
    };
    conn.execute(
        "UPDATE runs SET ended_at = ?2, outcome = ?3, error = ?4, actions = ?5, changes = ?6,
                 output = ?7 WHERE id = ?1",
        params![id, store::now(), label, error, actions, changes, output],
    )
    .context("cannot record the end of the run")?;
    Ok(())
}
