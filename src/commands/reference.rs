//! `rollcall docs`, `rollcall completions SHELL` and `rollcall man`.

use std::io::Write;
use std::rc::Rc;

use clap::CommandFactory;

use crate::ExitStatus;
use crate::cli::{Cli, Config};
use crate::engine::{Ctx, Deadline, Interrupt, ModulePaths, build_engine};
use crate::{docs, store};

/// Prints the script API reference, generated from an engine like a run's.
pub fn docs(config: &Config) -> anyhow::Result<ExitStatus> {
    let ctx: Rc<Ctx> = Ctx::new(store::open_in_memory()?, config.options.clone());
    let engine = build_engine(
        ctx,
        &config.limits,
        Interrupt::default(),
        Deadline::default(),
        ModulePaths::default(),
    );
    let _ = write!(std::io::stdout().lock(), "{}", docs::markdown(&engine));
    Ok(ExitStatus::Success)
}

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitStatus> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "rollcall", &mut out);
    // A closed pipe (`| head`) ends the output quietly.
    let _ = std::io::stdout().lock().write_all(&out);
    Ok(ExitStatus::Success)
}

pub fn man() -> anyhow::Result<ExitStatus> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    let _ = std::io::stdout().lock().write_all(&out);
    Ok(ExitStatus::Success)
}
