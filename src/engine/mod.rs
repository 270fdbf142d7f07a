//! The Rhai binding layer. `build_engine` is the one factory used by the batch
//! runner, the REPL, scheduled runs and the tests: it sets the limits, routes
//! `print`, installs the stdlib resolver and registers the script API.

pub mod api;
pub mod error;
pub mod render;
pub mod resolver;
pub mod stream;
pub mod types;

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine, NativeCallContext};
use rusqlite::Connection;

pub use types::{Member, MemberSet};

/// Asks a yes/no question; true for yes.
pub type Confirm = Box<dyn Fn(&str) -> bool>;

/// Everything a script's functions reach: the database and the run's settings.
pub struct Ctx {
    pub conn: Connection,
    pub options: RunOptions,
    /// Dry run and confirmation can change between statements in the REPL
    /// (`:dry on`, `:yes`); read them through `dry_run()` and `yes()`.
    dry_run: std::cell::Cell<bool>,
    yes: std::cell::Cell<bool>,
    /// Asks the person at the terminal to confirm a destructive action (the
    /// REPL); batch runs have none and refuse instead.
    pub confirm: RefCell<Option<Confirm>>,
    /// Where `print` goes: stdout, or a buffer for scheduled runs.
    pub output: RefCell<Option<String>>,
    pub state: RefCell<RunState>,
}

/// How a run behaves; fixed for its duration.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub dry_run: bool,
    /// `--yes`: destructive actions are confirmed in advance.
    pub yes: bool,
    /// Actions over more members than this are destructive and need confirmation.
    pub confirm_above: i64,
    /// The run's date, as `today()` and `overdue()` see it.
    pub today: jiff::civil::Date,
    pub quiet: bool,
    pub verbose: bool,
    /// Reports as JSON lines on stdout instead of summaries on stderr.
    pub json: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            dry_run: false,
            yes: false,
            confirm_above: 1000,
            today: jiff::Zoned::now().date(),
            quiet: false,
            verbose: false,
            json: false,
        }
    }
}

/// What a run did so far; written by actions, read by the runner.
#[derive(Debug, Default)]
pub struct RunState {
    pub run_id: Option<i64>,
    pub actions: i64,
    pub changes: i64,
    /// Files written to a temporary name: (temporary, final). The runner
    /// renames them when the run commits and removes them otherwise.
    pub files: Vec<(PathBuf, PathBuf)>,
}

impl Ctx {
    pub fn new(conn: Connection, options: RunOptions) -> Rc<Ctx> {
        Rc::new(Ctx {
            conn,
            dry_run: std::cell::Cell::new(options.dry_run),
            yes: std::cell::Cell::new(options.yes),
            confirm: RefCell::new(None),
            options,
            output: RefCell::new(None),
            state: RefCell::new(RunState::default()),
        })
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run.get()
    }

    pub fn set_dry_run(&self, on: bool) {
        self.dry_run.set(on);
    }

    /// Whether destructive actions are confirmed in advance (`--yes`).
    pub fn yes(&self) -> bool {
        self.yes.get()
    }

    pub fn set_yes(&self, on: bool) {
        self.yes.set(on);
    }

    /// Asks the person at the terminal, when there is one to ask.
    pub fn ask(&self, question: &str) -> Option<bool> {
        self.confirm.borrow().as_ref().map(|ask| ask(question))
    }

    /// The run's date as `YYYY-MM-DD`.
    pub fn today(&self) -> String {
        self.options.today.to_string()
    }

    /// Writes a line of script output. A closed stdout (`| head`) is not an error.
    pub fn print(&self, line: &str) {
        if let Some(buffer) = self.output.borrow_mut().as_mut() {
            buffer.push_str(line);
            buffer.push('\n');
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }

    /// A note for the person running the script, on stderr (silent with `-q`).
    pub fn log(&self, line: &str) {
        if let Some(buffer) = self.output.borrow_mut().as_mut() {
            buffer.push_str(line);
            buffer.push('\n');
            return;
        }
        if !self.options.quiet {
            eprintln!("{line}");
        }
    }

    /// The context of the running script, kept as the engine's tag.
    pub fn of(ncx: &NativeCallContext) -> Rc<Ctx> {
        ncx.tag()
            .and_then(|tag| tag.read_lock::<Rc<Ctx>>().map(|c| c.clone()))
            // build_engine always sets the tag; an engine without it is a bug here.
            .expect("the engine's tag holds the run context")
    }
}

/// Bounds on what one script may use; each is settable by a command-line flag.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_operations: u64,
    /// Bytes the process may hold while a script runs.
    pub max_memory: usize,
    pub timeout: Duration,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
    pub max_call_depth: usize,
    pub max_expr_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Growth is bounded by memory by default: Rhai's exact size limits
        // measure a whole array on every push, which makes a large array
        // quadratic to build; they stay available as flags.
        Limits {
            max_operations: 2_000_000_000,
            max_memory: 2 << 30,
            timeout: Duration::from_secs(3600),
            max_string_size: 0,
            max_array_size: 0,
            max_map_size: 0,
            max_call_depth: 48,
            max_expr_depth: 64,
        }
    }
}

/// Stops a running script from outside: Ctrl-C in the REPL, SIGTERM in the daemon.
#[derive(Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn clear(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The wall-clock deadline of the statement or script being run.
#[derive(Clone, Default)]
pub struct Deadline(Rc<std::cell::Cell<Option<Instant>>>);

impl Deadline {
    pub fn start(&self, timeout: Duration) {
        self.0.set(Some(Instant::now() + timeout));
    }
    fn passed(&self) -> bool {
        self.0.get().is_some_and(|at| Instant::now() >= at)
    }
}

/// Where `import "name"` looks besides the built-in stdlib.
#[derive(Clone, Debug, Default)]
pub struct ModulePaths {
    /// `--stdlib DIR`, searched first.
    pub stdlib_dir: Option<PathBuf>,
    /// The folder of the script being run.
    pub script_dir: Option<PathBuf>,
}

/// The one engine factory.
pub fn build_engine(
    ctx: Rc<Ctx>,
    limits: &Limits,
    interrupt: Interrupt,
    deadline: Deadline,
    paths: ModulePaths,
) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(limits.max_operations)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_call_levels(limits.max_call_depth)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth);
    engine.disable_symbol("eval");

    let timeout = limits.timeout;
    let max_memory = limits.max_memory;
    engine.on_progress(move |ops| {
        if interrupt.is_raised() {
            return Some(Dynamic::from(error::Stop::Interrupted));
        }
        if crate::memory::allocated() > max_memory {
            return Some(Dynamic::from(error::Stop::Memory(max_memory)));
        }
        // Reading the clock on every operation would cost more than the operation.
        if ops & 0x3FFF == 0 && deadline.passed() {
            return Some(Dynamic::from(error::Stop::Timeout(timeout)));
        }
        None
    });

    let printer = ctx.clone();
    engine.on_print(move |text| printer.print(text));
    let debugger = ctx.clone();
    engine.on_debug(move |text, source, pos| {
        let at = match (source, pos.line()) {
            (Some(src), Some(line)) => format!("{src}:{line}: "),
            (None, Some(line)) => format!("line {line}: "),
            _ => String::new(),
        };
        debugger.log(&format!("{at}{text}"));
    });

    engine.set_module_resolver(resolver::Resolver::new(paths));
    api::register(&mut engine);
    engine.set_default_tag(Dynamic::from(ctx));
    engine
}

#[cfg(test)]
mod tests;
