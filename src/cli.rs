//! The command line: clap types only, turned once into a checked `Config`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::engine::{Limits, RunOptions};
use crate::exit::UsageError;

#[derive(Debug, Parser)]
#[command(
    name = "rollcall",
    version,
    about = "Query and act on the members of an online academy, in bulk, safely.",
    after_help = "Exit codes: 0 success, 1 error (nothing changed), 2 usage error, 3 refused for safety (nothing changed)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The database file [default: $ROLLCALL_DB, else rollcall.db]
    #[arg(long, global = true, env = "ROLLCALL_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Run everything, then roll it all back: no change, no file, no message
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Confirm destructive actions in advance
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
    /// Print results and reports as JSON on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing but results and errors
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more about what happens
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// The date scripts see as today() (YYYY-MM-DD) [default: the real date]
    #[arg(long, global = true, env = "ROLLCALL_TODAY", value_name = "DATE")]
    pub today: Option<String>,
    /// Actions over more members than this need confirmation
    #[arg(long, global = true, default_value_t = 1000, value_name = "N")]
    pub confirm_above: i64,
    /// Stop a script after this many operations
    #[arg(long, global = true, value_name = "N")]
    pub max_operations: Option<u64>,
    /// Stop a script after this many seconds
    #[arg(long, global = true, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// The largest string a script may build, in bytes
    #[arg(long, global = true, value_name = "BYTES")]
    pub max_string_size: Option<usize>,
    /// The largest array a script may build
    #[arg(long, global = true, value_name = "N")]
    pub max_array_size: Option<usize>,
    /// The largest object map a script may build
    #[arg(long, global = true, value_name = "N")]
    pub max_map_size: Option<usize>,
    /// Stop a script when the process holds more memory than this
    #[arg(long, global = true, value_name = "MIB")]
    pub max_memory: Option<usize>,
    /// The deepest nesting of function calls
    #[arg(long, global = true, value_name = "N")]
    pub max_call_depth: Option<usize>,
    /// A folder searched first by `import "name"`
    #[arg(long, global = true, value_name = "DIR")]
    pub stdlib: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the schema; with --demo, fill it with a realistic demo academy
    Init {
        /// Members in the demo academy
        #[arg(long, value_name = "N")]
        demo: Option<i64>,
        /// Seed of the demo data: the same seed gives the same academy
        #[arg(long, default_value_t = 42, value_name = "S")]
        seed: u64,
    },
    /// Create demo.db (when absent) and run the guided tour on it
    Demo {
        /// Members in the demo academy, when it is created
        #[arg(long, default_value_t = 5000, value_name = "N")]
        members: i64,
    },
    /// Run a script; the whole run is one transaction
    Run {
        /// The script file
        file: PathBuf,
        /// A value for the script's `args` map (repeatable)
        #[arg(long = "arg", value_name = "KEY=VALUE", value_parser = parse_arg)]
        args: Vec<(String, String)>,
    },
    /// Run a one-line script and print its value
    Eval {
        /// The script text
        expr: String,
        /// A value for the script's `args` map (repeatable)
        #[arg(long = "arg", value_name = "KEY=VALUE", value_parser = parse_arg)]
        args: Vec<(String, String)>,
    },
    /// The interactive shell (also plain `rollcall` on a terminal)
    Repl,
    /// Print the script API reference as Markdown, generated from the engine
    Docs,
    /// Print shell completions
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff)
    Man,
    /// Import members (or participations) from a CSV file
    Import {
        /// The CSV file
        file: PathBuf,
        /// upsert: add and update; sync: also delete every member absent from the file
        #[arg(long, value_enum, default_value_t = ImportMode::Upsert)]
        mode: ImportMode,
        /// Sync refuses to delete more members than this [default: 10% of the members]
        #[arg(long, value_name = "N")]
        max_deletions: Option<i64>,
        /// Apply the valid rows and write the invalid ones to the rejects file
        #[arg(long)]
        skip_invalid: bool,
        /// Where --skip-invalid writes rejected rows [default: FILE.rejects.csv]
        #[arg(long, value_name = "FILE")]
        rejects: Option<PathBuf>,
        /// Create the groups the file names that do not exist
        #[arg(long)]
        create_groups: bool,
        /// Only plan: write what the import would do to FILE (.csv or .json), change nothing
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
        /// The file holds participations (course,username,status,deadline,active)
        #[arg(long)]
        participations: bool,
    },
    /// Export every member (or participation) as CSV, in the import format
    Export {
        /// The CSV file to write
        file: PathBuf,
        /// The delimiter: ',' ';' or 'tab'
        #[arg(long, default_value = ",", value_parser = parse_delimiter)]
        delimiter: u8,
        /// Start with a UTF-8 byte order mark (for spreadsheets that need it)
        #[arg(long)]
        bom: bool,
        /// Export participations (course,username,status,deadline,active)
        #[arg(long)]
        participations: bool,
    },
    /// The message queue: list it, or deliver it over SMTP
    Outbox {
        #[command(subcommand)]
        action: OutboxCommand,
    },
    /// Scheduled runs: add, list, remove, run the due ones, or run as a daemon
    Schedule {
        #[command(subcommand)]
        action: ScheduleCommand,
    },
    /// List recorded runs, newest first
    Runs {
        /// How many to list
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Only the runs of this schedule
        #[arg(long, value_name = "NAME")]
        schedule: Option<String>,
    },
    /// List audit rows: what changed, by which run
    Audit {
        /// Only the changes of this run
        #[arg(long, value_name = "ID")]
        run: Option<i64>,
        /// Only the changes of this member
        #[arg(long, value_name = "USERNAME")]
        member: Option<String>,
        /// How many to list
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List queued messages (unsent ones unless --all)
    List {
        /// Include messages already sent
        #[arg(long)]
        all: bool,
        /// How many to list
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Deliver unsent messages; failures are retried by the next send
    Send {
        /// The SMTP server
        #[arg(long, value_name = "HOST:PORT")]
        smtp: String,
        /// The sender address
        #[arg(long, default_value = "rollcall@localhost", value_name = "ADDRESS")]
        from: String,
        /// Send at most this many messages
        #[arg(long, default_value_t = 100_000)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Add a schedule: run FILE whenever the cron expression matches (add --yes
    /// to confirm destructive actions in its runs)
    Add {
        /// A name for the schedule
        name: String,
        /// Five-field cron expression: minute hour day-of-month month day-of-week
        #[arg(long, value_name = "EXPR")]
        cron: String,
        /// The script to run
        file: PathBuf,
        /// A value for the script's `args` map (repeatable)
        #[arg(long = "arg", value_name = "KEY=VALUE", value_parser = parse_arg)]
        args: Vec<(String, String)>,
        /// The time zone the cron expression is read in
        #[arg(long, default_value = "UTC", value_name = "ZONE")]
        tz: String,
    },
    /// List the schedules with their next due time and last outcome
    List,
    /// Remove a schedule (its run history stays)
    Remove { name: String },
    /// Enable a schedule; it is next due at its next cron time
    Enable { name: String },
    /// Disable a schedule
    Disable { name: String },
    /// Run every due schedule once, for a system cron or timer: silent unless
    /// something failed, exit code 1 when a run failed
    RunDue {
        /// Take this time as now (RFC 3339, e.g. 2026-11-22T03:00:00Z)
        #[arg(long, value_name = "TIMESTAMP")]
        now: Option<String>,
    },
    /// Run due schedules in the foreground until SIGINT or SIGTERM, finishing
    /// the run in progress
    Daemon,
}

#[derive(Clone, Copy, Debug, PartialEq, clap::ValueEnum)]
pub enum ImportMode {
    Upsert,
    Sync,
}

fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "," => Ok(b','),
        ";" => Ok(b';'),
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ => Err(format!("the delimiter is ',', ';' or 'tab', not '{text}'")),
    }
}

fn parse_arg(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("expected KEY=VALUE, got '{text}'")),
    }
}

/// The checked settings every command works from.
#[derive(Debug)]
pub struct Config {
    pub db: PathBuf,
    /// Whether --db (or ROLLCALL_DB) named the database.
    pub db_given: bool,
    pub json: bool,
    pub options: RunOptions,
    pub limits: Limits,
    pub stdlib: Option<PathBuf>,
    pub command: Command,
}

impl Config {
    pub fn from_cli(cli: Cli) -> anyhow::Result<Config> {
        let g = cli.global;
        let today = match &g.today {
            Some(text) => text.trim().parse::<jiff::civil::Date>().map_err(|_| {
                UsageError(format!(
                    "--today expects a date written as YYYY-MM-DD, got '{text}'"
                ))
            })?,
            None => jiff::Zoned::now().date(),
        };
        if g.confirm_above < 0 {
            return Err(UsageError("--confirm-above needs a count of 0 or more".into()).into());
        }
        let mut limits = Limits::default();
        if let Some(n) = g.max_operations {
            limits.max_operations = n;
        }
        if let Some(s) = g.timeout {
            limits.timeout = Duration::from_secs(s);
        }
        if let Some(n) = g.max_string_size {
            limits.max_string_size = n;
        }
        if let Some(n) = g.max_array_size {
            limits.max_array_size = n;
        }
        if let Some(n) = g.max_map_size {
            limits.max_map_size = n;
        }
        if let Some(mib) = g.max_memory {
            limits.max_memory = mib << 20;
        }
        if let Some(n) = g.max_call_depth {
            limits.max_call_depth = n;
        }
        let command = match cli.command {
            Some(command) => command,
            None if std::io::IsTerminal::is_terminal(&std::io::stdin()) => Command::Repl,
            None => {
                return Err(UsageError(
                    "no command given; `rollcall --help` lists them (plain `rollcall` starts the shell only on a terminal)".into(),
                )
                .into());
            }
        };
        Ok(Config {
            db_given: g.db.is_some(),
            db: g.db.unwrap_or_else(|| PathBuf::from("rollcall.db")),
            json: g.json,
            options: RunOptions {
                dry_run: g.dry_run,
                yes: g.yes,
                confirm_above: g.confirm_above,
                today,
                quiet: g.quiet,
                verbose: g.verbose,
                json: g.json,
            },
            limits,
            stdlib: g.stdlib,
            command,
        })
    }
}
