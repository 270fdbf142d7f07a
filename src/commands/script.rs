//! `rollcall run FILE` and `rollcall eval EXPR`: one script, one transaction.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use rhai::Dynamic;

use crate::ExitStatus;
use crate::cli::Config;
use crate::engine::Member;
use crate::engine::render;
use crate::runner::{Outcome, Present, Runner, Script};
use crate::store;

pub fn run_file(
    config: &Config,
    file: &Path,
    args: &[(String, String)],
) -> anyhow::Result<ExitStatus> {
    let source = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the script {}", file.display()))?;
    let script = Script {
        name: file.display().to_string(),
        source,
        args: args.to_vec(),
        dir: file.parent().map(Path::to_path_buf),
        schedule_id: None,
    };
    execute(config, &config.db, &script, false)
}

pub fn eval(config: &Config, expr: &str, args: &[(String, String)]) -> anyhow::Result<ExitStatus> {
    let script = Script {
        name: "<eval>".into(),
        source: expr.to_string(),
        args: args.to_vec(),
        dir: std::env::current_dir().ok(),
        schedule_id: None,
    };
    execute(config, &config.db, &script, true)
}

/// Runs `script` on the database at `db`; prints its value when `print_value`.
pub fn execute(
    config: &Config,
    db: &Path,
    script: &Script,
    print_value: bool,
) -> anyhow::Result<ExitStatus> {
    let conn = store::open(db)?;
    let runner = Runner {
        options: config.options.clone(),
        limits: config.limits.clone(),
        stdlib: config.stdlib.clone(),
        capture: false,
        interrupt: Default::default(),
        present: print_value.then_some(if config.json {
            Present::Rows
        } else {
            Present::Table
        }),
    };
    let finished = runner.run(conn, script)?;
    match finished.outcome {
        Outcome::Success(value) => {
            if print_value {
                print_result(&value, config.json)?;
            }
            if config.options.dry_run && !config.options.quiet {
                eprintln!("dry run: every change was rolled back");
            }
            Ok(ExitStatus::Success)
        }
        Outcome::Failed(text) => {
            eprint!("{text}");
            Ok(ExitStatus::Error)
        }
        Outcome::Refused(text) => {
            eprint!("{text}");
            eprintln!("refused: nothing was changed");
            Ok(ExitStatus::Refused)
        }
    }
}

/// Prints a script's value: maps and arrays of maps as tables (JSON with
/// --json), anything else as text. Sets were already turned into rows or a
/// table by the runner, inside the run.
pub fn print_result(value: &Dynamic, json: bool) -> anyhow::Result<()> {
    let text = if json {
        serde_json::to_string_pretty(&render::to_json(value))?
    } else if value.is_unit() {
        return Ok(());
    } else if let Some(member) = value.read_lock::<Member>() {
        render::map_table(&[render::member_map(&member)])
    } else if let Some(map) = value.read_lock::<rhai::Map>() {
        render::map_table(std::slice::from_ref(&map))
    } else if let Some(items) = value.read_lock::<rhai::Array>() {
        let maps: Option<Vec<rhai::Map>> = items
            .iter()
            .map(|v| v.clone().try_cast::<rhai::Map>())
            .collect();
        match maps {
            Some(maps) if !maps.is_empty() => render::map_table(&maps),
            _ => value.to_string(),
        }
    } else {
        render::plain(value)
    };
    // A closed pipe (`| head`) ends the output quietly.
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    Ok(())
}
