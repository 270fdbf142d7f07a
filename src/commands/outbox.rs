//! `rollcall outbox list` and `rollcall outbox send --smtp HOST:PORT`.

use std::io::Write;

use rusqlite::types::Value;

use crate::ExitStatus;
use crate::cli::{Config, OutboxCommand};
use crate::{outbox, store};

pub fn run(config: &Config, action: &OutboxCommand) -> anyhow::Result<ExitStatus> {
    match action {
        OutboxCommand::List { all, limit } => super::history::print_rows(
            config,
            &format!(
                "SELECT id, recipient, subject, kind, created_at, sent_at, tries, last_error FROM outbox
                 {} ORDER BY id LIMIT ?1",
                if *all { "" } else { "WHERE sent_at IS NULL" }
            ),
            &[Value::Integer(*limit)],
            &["id", "to", "subject", "kind", "queued", "sent", "tries", "last error"],
        ),
        OutboxCommand::Send { smtp, from, limit } => {
            let conn = store::open(&config.db)?;
            let report = outbox::send(&conn, smtp, from, *limit, config.options.dry_run)?;
            let mut out = std::io::stdout().lock();
            if config.json {
                let _ = writeln!(out, "{}", serde_json::to_string_pretty(&report)?);
            } else {
                for (id, to, error) in &report.errors {
                    eprintln!("message {id} to {to}: {error}");
                }
                if !config.options.quiet || report.failed > 0 {
                    let verb = if report.dry_run { "would send" } else { "sent" };
                    let _ = writeln!(
                        out,
                        "{verb} {}, failed {}, held for suspended members or inactive participations {}",
                        report.sent, report.failed, report.held
                    );
                }
            }
            Ok(if report.failed > 0 {
                ExitStatus::Error
            } else {
                ExitStatus::Success
            })
        }
    }
}
