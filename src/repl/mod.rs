//! The interactive shell: one engine and one scope for the whole session, each
//! statement its own transaction (and, when it changed something, its own
//! recorded run). Destructive actions ask y/N with the count first; Ctrl-C
//! stops the running statement and keeps the shell; Ctrl-D leaves it.

mod helper;

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::rc::Rc;

use anyhow::Context as _;
use rhai::{AST, Engine, Scope};
use rustyline::error::ReadlineError;
use rustyline::{CompletionType, Config as EditorConfig, Editor};

use crate::cli::Config;
use crate::commands::script::print_result;
use crate::engine::error::{ScriptError, parse_error};
use crate::engine::{Ctx, Deadline, Interrupt, ModulePaths, RunState, build_engine};
use crate::query::{Kind, field_names};
use crate::runner::{self, Outcome, Present, Script};
use crate::{ExitStatus, docs, store};
use helper::{ReplHelper, Words};

const META: &[&str] = &[":help", ":dry", ":yes", ":quit"];

const HELP: &str = "\
Type a script statement and press Enter; an unfinished block continues on the next line.
Variables and functions stay defined for the whole session. Each statement is one
transaction; a destructive one asks first.

  :help            this text, and the list of script functions
  :help NAME       one function, with its example (also module::function)
  :dry on|off      dry run: execute and roll back every statement
  :yes on|off      confirm destructive actions without asking
  :quit            leave (or Ctrl-D); Ctrl-C stops a running statement

Tab completes functions, member fields after a dot, and group, course and
series names inside quotes. `rollcall docs` prints the whole reference.";

struct Session {
    ctx: Rc<Ctx>,
    engine: Engine,
    scope: Scope<'static>,
    /// The functions defined so far, carried into every later statement.
    functions: AST,
    interrupt: Interrupt,
    deadline: Deadline,
    timeout: std::time::Duration,
    json: bool,
}

fn history_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ROLLCALL_HISTORY") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".rollcall_history"))
}

/// Asks y/N on the terminal; anything but y or yes is no, Ctrl-C and Ctrl-D too.
fn ask(question: &str) -> bool {
    let prompt = format!("{question} [y/N] ");
    let answer = match rustyline::DefaultEditor::new() {
        Ok(mut editor) => match editor.readline(&prompt) {
            Ok(answer) => answer,
            Err(_) => return false,
        },
        Err(_) => {
            eprint!("{prompt}");
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            if std::io::stdin().lock().read_line(&mut answer).is_err() {
                return false;
            }
            answer
        }
    };
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Whether a parse error means the input stopped too early (an unfinished
/// block), rather than being wrong where it stands.
fn unfinished(input: &str, err: &rhai::ParseError) -> bool {
    match *err.0 {
        rhai::ParseErrorType::UnexpectedEOF => true,
        rhai::ParseErrorType::MissingToken(..) => {
            // Missing at the very end: more lines may bring it.
            let last_line = input.trim_end().lines().count();
            let last_col = input
                .trim_end()
                .lines()
                .last()
                .map_or(0, |l| l.chars().count());
            match (err.1.line(), err.1.position()) {
                (Some(line), Some(col)) => {
                    line > last_line || (line == last_line && col > last_col)
                }
                (Some(line), None) => line >= last_line,
                _ => true,
            }
        }
        _ => false,
    }
}

/// Group names, course codes and series codes, for completion inside quotes.
fn academy_names(conn: &rusqlite::Connection) -> Vec<String> {
    let mut names = Vec::new();
    for sql in [
        "SELECT name FROM groups ORDER BY name",
        "SELECT code FROM courses ORDER BY code",
        "SELECT code FROM series ORDER BY code",
    ] {
        if let Ok(mut stmt) = conn.prepare(sql)
            && let Ok(rows) = stmt.query_map([], |r| r.get::<_, String>(0))
        {
            names.extend(rows.flatten());
        }
    }
    names
}

fn words(engine: &Engine, conn: &rusqlite::Connection) -> Words {
    let mut functions: Vec<String> = docs::functions(engine).into_keys().collect();
    for (module, source) in crate::engine::resolver::STDLIB {
        for (name, _, _) in docs::stdlib_functions(engine, source) {
            functions.push(format!("{module}::{name}"));
        }
    }
    let mut fields: Vec<String> = field_names(&Kind::Participants { course_id: 0 })
        .into_iter()
        .map(String::from)
        .collect();
    fields.extend(docs::properties(engine).into_iter().map(|(p, _)| p));
    fields.sort();
    fields.dedup();
    Words {
        functions,
        fields,
        names: academy_names(conn),
        commands: META.iter().map(|c| c.to_string()).collect(),
    }
}

impl Session {
    /// Runs one statement as its own transaction and prints what it gives.
    fn statement(&mut self, source: &str) -> anyhow::Result<()> {
        let mut compiled = match self.engine.compile_with_scope(&self.scope, source) {
            Ok(ast) => ast,
            Err(err) => {
                eprint!("{}", parse_error(&err).render("<repl>", source));
                return Ok(());
            }
        };
        compiled.set_source("<repl>");
        let ast = self.functions.merge(&compiled);
        self.functions = self.functions.merge(&compiled.clone_functions_only());

        let dry_run = self.ctx.dry_run();
        let script = Script {
            name: "<repl>".into(),
            source: source.to_string(),
            args: Vec::new(),
            dir: None,
            schedule_id: None,
        };
        let run_id = if dry_run {
            None
        } else {
            Some(runner::record_start(&self.ctx.conn, &script)?)
        };
        *self.ctx.state.borrow_mut() = RunState {
            run_id,
            ..RunState::default()
        };
        self.interrupt.clear();
        self.deadline.start(self.timeout);
        let result = runner::transact(
            &self.ctx,
            &self.engine,
            &ast,
            &mut self.scope,
            Some(Present::Table),
            dry_run,
        )?;
        let outcome = match result {
            Ok(value) => {
                print_result(&value, self.json)?;
                Outcome::Success(value)
            }
            Err(err) => {
                let err = ScriptError::from_rhai(&err);
                let text = err.render("<repl>", source);
                eprint!("{text}");
                if err.refused {
                    eprintln!("nothing was changed");
                    Outcome::Refused(text)
                } else {
                    Outcome::Failed(text)
                }
            }
        };
        if let Some(id) = run_id {
            let (actions, changes) = {
                let state = self.ctx.state.borrow();
                (state.actions, state.changes)
            };
            // Only statements that acted are worth a place in the history.
            if actions == 0 {
                self.ctx
                    .conn
                    .execute("DELETE FROM runs WHERE id = ?1", [id])?;
            } else {
                runner::record_finish(&self.ctx.conn, id, &outcome, actions, changes, "")?;
            }
        }
        Ok(())
    }

    /// A `:command`; false when the session should end.
    fn meta(&mut self, line: &str) -> bool {
        let mut parts = line.split_whitespace();
        let command = parts.next().unwrap_or_default();
        let arg = parts.next();
        match (command, arg) {
            (":quit" | ":q" | ":exit", _) => return false,
            (":help", None) => {
                println!("{HELP}\n");
                let names: Vec<String> = docs::functions(&self.engine).into_keys().collect();
                println!("Script functions: {}", names.join(", "));
            }
            (":help", Some(name)) => match docs::help(&self.engine, name) {
                Some(text) => println!("{}", text.trim_end()),
                None => eprintln!("no function or property named '{name}'; :help lists them"),
            },
            (":dry", Some("on")) => self.ctx.set_dry_run(true),
            (":dry", Some("off")) => self.ctx.set_dry_run(false),
            (":dry", None) => println!(
                "dry run is {}",
                if self.ctx.dry_run() { "on" } else { "off" }
            ),
            (":yes", None | Some("on")) => {
                self.ctx.set_yes(true);
                println!("destructive actions now run without asking (:yes off to ask again)");
            }
            (":yes", Some("off")) => self.ctx.set_yes(false),
            _ => eprintln!(
                "unknown command '{line}'; the commands are {}",
                META.join(" ")
            ),
        }
        true
    }

    fn prompt(&self) -> String {
        if self.ctx.dry_run() {
            "rollcall (dry run)> ".into()
        } else {
            "rollcall> ".into()
        }
    }
}

pub fn run(config: &Config) -> anyhow::Result<ExitStatus> {
    let conn = store::open(&config.db)?;
    let interrupt_sql = conn.get_interrupt_handle();
    let ctx = Ctx::new(conn, config.options.clone());
    *ctx.confirm.borrow_mut() = Some(Box::new(ask));
    let interrupt = Interrupt::default();
    let flag = interrupt.clone();
    // Ctrl-C while a statement runs stops it, in the script and in SQLite;
    // while editing a line, the editor handles it.
    ctrlc::set_handler(move || {
        flag.raise();
        interrupt_sql.interrupt();
    })
    .context("cannot install the Ctrl-C handler")?;
    let deadline = Deadline::default();
    let engine = build_engine(
        ctx.clone(),
        &config.limits,
        interrupt.clone(),
        deadline.clone(),
        ModulePaths {
            stdlib_dir: config.stdlib.clone(),
            script_dir: std::env::current_dir().ok(),
        },
    );
    let mut scope = Scope::new();
    scope.push_constant("args", rhai::Map::new());

    let check = build_engine(
        ctx.clone(),
        &config.limits,
        Interrupt::default(),
        Deadline::default(),
        ModulePaths::default(),
    );
    let complete = Box::new(move |input: &str| match check.compile(input) {
        Ok(_) => true,
        Err(err) => !unfinished(input, &err),
    });
    let helper = ReplHelper::new(words(&engine, &ctx.conn), complete);
    let editor_config = EditorConfig::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .build();
    let mut editor: Editor<ReplHelper, rustyline::history::DefaultHistory> =
        Editor::with_config(editor_config).context("cannot start the line editor")?;
    editor.set_helper(Some(helper));
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }

    let members: i64 = ctx
        .conn
        .query_row("SELECT count(*) FROM members", [], |r| r.get(0))?;
    eprintln!(
        "rollcall {} on {} ({members} members). :help for help, Ctrl-D to leave.",
        env!("CARGO_PKG_VERSION"),
        config.db.display()
    );
    let mut session = Session {
        ctx,
        engine,
        scope,
        functions: AST::empty(),
        interrupt,
        deadline,
        timeout: config.limits.timeout,
        json: config.json,
    };
    loop {
        match editor.readline(&session.prompt()) {
            Ok(line) => {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(line);
                if line.starts_with(':') {
                    if !session.meta(line) {
                        break;
                    }
                    continue;
                }
                session.statement(line)?;
                if let Some(helper) = editor.helper() {
                    helper.words.borrow_mut().names = academy_names(&session.ctx.conn);
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("the line editor failed"),
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(ExitStatus::Success)
}
