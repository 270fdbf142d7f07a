//! rollcall: a scripting engine for academy administrators. Scripts query and
//! act on members and course participants in bulk over a SQLite store.

pub mod actions;
pub mod certs;
pub mod cli;
pub mod commands;
pub mod csvio;
pub mod docs;
pub mod engine;
pub mod exit;
pub mod files;
pub mod memory;
pub mod outbox;
pub mod progress;
pub mod query;
pub mod repl;
pub mod runner;
pub mod schedule;
pub mod store;

pub use exit::ExitStatus;

#[global_allocator]
static ALLOCATOR: memory::Counting = memory::Counting;

/// Runs one command line to completion and says how the process should exit.
pub fn run(cli: cli::Cli) -> ExitStatus {
    runner::install_panic_hook();
    let result = cli::Config::from_cli(cli).and_then(|config| commands::dispatch(&config));
    match result {
        Ok(status) => status,
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.downcast_ref::<exit::UsageError>().is_some() {
                ExitStatus::Usage
            } else {
                ExitStatus::Error
            }
        }
    }
}
