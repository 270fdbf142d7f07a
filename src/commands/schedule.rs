//! `rollcall schedule ...`: manage schedules, run the due ones, or be the daemon.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use jiff::Timestamp;

use crate::cli::{Config, ScheduleCommand};
use crate::commands::history::print_rows;
use crate::engine::RunOptions;
use crate::runner::{self, Outcome, Runner, Script};
use crate::schedule::{self, Schedule};
use crate::{ExitStatus, store};

pub fn run(config: &Config, action: &ScheduleCommand) -> anyhow::Result<ExitStatus> {
    let now = Timestamp::now();
    match action {
        ScheduleCommand::Add { name, cron, file, args, tz } => {
            let script = std::fs::canonicalize(file)
                .with_context(|| format!("cannot find the script {}", file.display()))?;
            let conn = store::open(&config.db)?;
            let script = script.display().to_string();
            let new = schedule::NewSchedule {
                name,
                cron,
                script: &script,
                args,
                tz,
                confirm: config.options.yes,
            };
            let added = schedule::add(&conn, &new, now)?;
            if !config.options.quiet {
                let description = schedule::parse_cron(cron).map(|c| c.describe()).unwrap_or_default();
                eprintln!(
                    "added '{}': {description} ({}); first due at {}",
                    added.name,
                    added.tz,
                    added.next_due.unwrap_or_default()
                );
            }
            Ok(ExitStatus::Success)
        }
        ScheduleCommand::List => print_rows(
            config,
            "SELECT s.name, s.cron, s.tz, s.script, CASE s.enabled WHEN 1 THEN 'yes' ELSE 'no' END,
                    CASE s.confirm WHEN 1 THEN 'yes' ELSE 'no' END, s.next_due,
                    (SELECT r.outcome || ' at ' || r.started_at FROM runs r WHERE r.schedule_id = s.id
                     ORDER BY r.id DESC LIMIT 1)
             FROM schedules s ORDER BY s.name",
            &[],
            &["name", "cron", "tz", "script", "enabled", "confirmed", "next due", "last run"],
        ),
        ScheduleCommand::Remove { name } => {
            schedule::remove(&store::open(&config.db)?, name)?;
            Ok(ExitStatus::Success)
        }
        ScheduleCommand::Enable { name } | ScheduleCommand::Disable { name } => {
            let enable = matches!(action, ScheduleCommand::Enable { .. });
            schedule::set_enabled(&store::open(&config.db)?, name, enable, now)?;
            Ok(ExitStatus::Success)
        }
        ScheduleCommand::RunDue { now: given } => {
            let now = match given {
                Some(text) => text.trim().parse::<Timestamp>().map_err(|_| {
                    crate::exit::UsageError(format!(
                        "--now expects an RFC 3339 timestamp such as 2026-11-22T03:00:00Z, got '{text}'"
                    ))
                })?,
                None => now,
            };
            let failed = run_due(config, now, given.is_some(), None)?;
            Ok(if failed > 0 { ExitStatus::Error } else { ExitStatus::Success })
        }
        ScheduleCommand::Daemon => daemon(config),
    }
}

/// Runs every schedule due at `now` once, until `stop` is raised. Returns
/// how many runs failed.
fn run_due(
    config: &Config,
    now: Timestamp,
    fixed_now: bool,
    stop: Option<&AtomicBool>,
) -> anyhow::Result<usize> {
    let conn = store::open(&config.db)?;
    let mut failed = 0;
    for due in schedule::due(&conn, now)? {
        if stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
            break;
        }
        let owner = format!(
            "pid {} at {}",
            std::process::id(),
            store::timestamp(Timestamp::now())
        );
        let margin = jiff::SignedDuration::from_secs(config.limits.timeout.as_secs() as i64 + 300);
        if !schedule::try_lock(&conn, due.id, &owner, now, now + margin)? {
            if config.options.verbose {
                eprintln!(
                    "schedule '{}': skipped, another process is running it",
                    due.name
                );
            }
            continue;
        }
        let outcome = run_one(config, &due, now);
        // Missed times run once: the next due time is the next one after now.
        let after = if fixed_now {
            now
        } else {
            Timestamp::now().max(now)
        };
        schedule::finish(&conn, &due, &owner, after)?;
        match outcome {
            Ok(None) => {}
            Ok(Some(message)) => {
                failed += 1;
                eprintln!("schedule '{}' failed:\n{message}", due.name);
            }
            Err(e) => {
                failed += 1;
                eprintln!("schedule '{}' failed: {e:#}", due.name);
            }
        }
    }
    Ok(failed)
}

/// One scheduled run: the same atomic, recorded run as `rollcall run`, with
/// its output kept in the run record. Returns the error text of a failed run.
fn run_one(config: &Config, due: &Schedule, now: Timestamp) -> anyhow::Result<Option<String>> {
    let path = Path::new(&due.script);
    let tz = schedule::parse_tz(&due.tz)?;
    let conn = store::open(&config.db)?;
    let script = |source: String| Script {
        name: due.script.clone(),
        source,
        args: due.args.clone(),
        dir: path.parent().map(Path::to_path_buf),
        schedule_id: Some(due.id),
    };
    let source = match std::fs::read_to_string(path) {
        Ok(source) => source,
        Err(e) => {
            let message = format!("cannot read the script {}: {e}", due.script);
            let id = runner::record_start(&conn, &script(String::new()))?;
            runner::record_finish(&conn, id, &Outcome::Failed(message.clone()), 0, 0, "")?;
            return Ok(Some(message));
        }
    };
    let runner = Runner {
        options: RunOptions {
            dry_run: false,
            yes: due.confirm,
            today: now.to_zoned(tz).date(),
            quiet: true,
            json: false,
            ..config.options.clone()
        },
        limits: config.limits.clone(),
        stdlib: config.stdlib.clone(),
        capture: true,
        interrupt: Default::default(),
        present: None,
    };
    let finished = runner.run(conn, &script(source))?;
    Ok(match finished.outcome {
        Outcome::Success(_) => None,
        Outcome::Failed(text) | Outcome::Refused(text) => Some(text),
    })
}

/// Runs due schedules until SIGINT or SIGTERM; a run in progress is finished first.
fn daemon(config: &Config) -> anyhow::Result<ExitStatus> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if !flag.swap(true, Ordering::SeqCst) {
            eprintln!("stopping: finishing the run in progress first");
        }
    })
    .context("cannot install the signal handler")?;
    if !config.options.quiet {
        eprintln!(
            "rollcall daemon: running due schedules of {} (SIGINT or SIGTERM stops it)",
            config.db.display()
        );
    }
    while !stop.load(Ordering::SeqCst) {
        let failed = run_due(config, Timestamp::now(), false, Some(&stop))?;
        if failed > 0 && config.options.verbose {
            eprintln!("{failed} scheduled runs failed; `rollcall runs` shows them");
        }
        // Sleep until the next due time, looking again every minute for new
        // schedules, and every tenth of a second for a stop signal.
        let next = schedule::earliest_due(&store::open(&config.db)?)?;
        let now = Timestamp::now();
        let wake = now + jiff::SignedDuration::from_secs(60);
        // A schedule still due now is held by another process: look again in
        // a few seconds rather than at once.
        let soonest = now + jiff::SignedDuration::from_secs(5);
        let wake = next.map_or(wake, |n| n.max(soonest).min(wake));
        while !stop.load(Ordering::SeqCst) && Timestamp::now() < wake {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(ExitStatus::Success)
}
