//! One file per sub-command; `dispatch` picks the one the command line names.

mod demo;
pub(crate) mod history;
mod init;
mod outbox;
mod reference;
mod schedule;
pub(crate) mod script;
mod transfer;

use crate::ExitStatus;
use crate::cli::{Command, Config};

pub fn dispatch(config: &Config) -> anyhow::Result<ExitStatus> {
    match &config.command {
        Command::Init { demo, seed } => init::run(config, *demo, *seed),
        Command::Demo { members } => demo::run(config, *members),
        Command::Run { file, args } => script::run_file(config, file, args),
        Command::Eval { expr, args } => script::eval(config, expr, args),
        Command::Repl => crate::repl::run(config),
        Command::Docs => reference::docs(config),
        Command::Completions { shell } => reference::completions(*shell),
        Command::Man => reference::man(),
        Command::Import { .. } => transfer::import(config),
        Command::Export {
            file,
            delimiter,
            bom,
            participations,
        } => transfer::export(config, file, *delimiter, *bom, *participations),
        Command::Outbox { action } => outbox::run(config, action),
        Command::Schedule { action } => schedule::run(config, action),
        Command::Runs { limit, schedule } => history::runs(config, *limit, schedule.as_deref()),
        Command::Audit { run, member, limit } => {
            history::audit(config, *run, member.as_deref(), *limit)
        }
    }
}
