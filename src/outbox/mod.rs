//! The outbox: messages queued by runs (invitations, access codes) and their
//! delivery over SMTP. A message is marked sent only after the server accepted
//! it; failures are retried by the next send; a sent message is never sent again.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::{Message, SmtpTransport, Transport};
use rusqlite::{Connection, OptionalExtension, params};

use crate::store;

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("{0}")]
    Invalid(String),
    #[error(
        "another `rollcall outbox send` is delivering ({0}); wait for it, or run again after it ends"
    )]
    Busy(String),
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

/// How long a sender's lock lasts before another may take over (a crashed sender).
const LOCK_SECONDS: i64 = 600;

/// One queued message.
#[derive(Clone, Debug)]
pub struct Queued {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub kind: String,
}

/// What a delivery did.
#[derive(Debug, Default, serde::Serialize)]
pub struct SendReport {
    pub sent: i64,
    pub failed: i64,
    /// Messages to suspended members or for deactivated participations, kept
    /// until they are reactivated.
    pub held: i64,
    pub dry_run: bool,
    /// (message id, recipient, error) of each failure.
    pub errors: Vec<(i64, String, String)>,
}

/// An SMTP server given as `HOST:PORT`.
pub fn parse_server(text: &str) -> Result<(String, u16), OutboxError> {
    let bad = || {
        OutboxError::Invalid(format!(
            "--smtp expects HOST:PORT, such as 127.0.0.1:25; got '{text}'"
        ))
    };
    let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
    let port = port.parse::<u16>().map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port,
    ))
}

/// Unsent messages to members who may receive them, oldest first.
fn deliverable(conn: &Connection, limit: i64) -> Result<Vec<Queued>, OutboxError> {
    let mut stmt = conn.prepare(
        "SELECT o.id, o.recipient, o.subject, o.body, o.kind FROM outbox o
         LEFT JOIN members m ON m.id = o.member_id
         LEFT JOIN participations p ON p.id = o.participation_id
         WHERE o.sent_at IS NULL AND (m.id IS NULL OR m.status = 'active') AND (p.id IS NULL OR p.active = 1)
         ORDER BY o.id LIMIT ?1",
    )?;
    let rows = stmt
        .query_map([limit], |r| {
            Ok(Queued {
                id: r.get(0)?,
                recipient: r.get(1)?,
                subject: r.get(2)?,
                body: r.get(3)?,
                kind: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

fn held(conn: &Connection) -> Result<i64, OutboxError> {
    Ok(conn.query_row(
        "SELECT count(*) FROM outbox o LEFT JOIN members m ON m.id = o.member_id
         LEFT JOIN participations p ON p.id = o.participation_id
         WHERE o.sent_at IS NULL AND (m.status = 'suspended' OR p.active = 0)",
        [],
        |r| r.get(0),
    )?)
}

/// Takes the sender's lock, or says who holds it.
fn lock(conn: &Connection, owner: &str) -> Result<(), OutboxError> {
    let now = jiff::Timestamp::now();
    let until = store::timestamp(now + jiff::SignedDuration::from_secs(LOCK_SECONDS));
    let value = format!("{until} {owner}");
    let taken = conn.execute(
        "INSERT INTO settings (key, value) VALUES ('outbox_lock', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE substr(settings.value, 1, 20) < ?2",
        params![value, store::timestamp(now)],
    )?;
    if taken == 0 {
        let holder: Option<String> = conn
            .query_row(
                "SELECT value FROM settings WHERE key = 'outbox_lock'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        return Err(OutboxError::Busy(holder.unwrap_or_default()));
    }
    Ok(())
}

fn unlock(conn: &Connection, owner: &str) {
    let _ = conn.execute(
        "DELETE FROM settings WHERE key = 'outbox_lock' AND substr(value, 22) = ?1",
        [owner],
    );
}

/// Delivers up to `limit` messages through the SMTP server at `server`.
pub fn send(
    conn: &Connection,
    server: &str,
    from: &str,
    limit: i64,
    dry_run: bool,
) -> Result<SendReport, OutboxError> {
    let (host, port) = parse_server(server)?;
    let from_box = from.parse::<lettre::message::Mailbox>().map_err(|e| {
        OutboxError::Invalid(format!("--from '{from}' is not an e-mail address: {e}"))
    })?;
    let mut report = SendReport {
        dry_run,
        held: held(conn)?,
        ..SendReport::default()
    };
    let queue = deliverable(conn, limit)?;
    if dry_run {
        report.sent = queue.len() as i64;
        return Ok(report);
    }
    let owner = format!("pid {}", std::process::id());
    lock(conn, &owner)?;
    let transport = SmtpTransport::builder_dangerous(host)
        .port(port)
        .timeout(Some(Duration::from_secs(30)))
        .build();
    for message in queue {
        match deliver(&transport, &from_box, &message) {
            Ok(()) => {
                conn.execute(
                    "UPDATE outbox SET sent_at = ?2, tries = tries + 1, last_error = NULL
                     WHERE id = ?1 AND sent_at IS NULL",
                    params![message.id, store::now()],
                )?;
                report.sent += 1;
            }
            Err(error) => {
                conn.execute(
                    "UPDATE outbox SET tries = tries + 1, last_error = ?2 WHERE id = ?1",
                    params![message.id, error],
                )?;
                report.failed += 1;
                report
                    .errors
                    .push((message.id, message.recipient.clone(), error));
            }
        }
    }
    unlock(conn, &owner);
    Ok(report)
}

fn deliver(
    transport: &SmtpTransport,
    from: &lettre::message::Mailbox,
    message: &Queued,
) -> Result<(), String> {
    let to = message
        .recipient
        .parse::<lettre::message::Mailbox>()
        .map_err(|e| format!("bad recipient address '{}': {e}", message.recipient))?;
    let email = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .raw_header(lettre::message::header::HeaderValue::new(
            lettre::message::header::HeaderName::new_from_ascii_str("X-Rollcall-Message"),
            format!("{} {}", message.kind, message.id),
        ))
        .body(message.body.clone())
        .map_err(|e| format!("cannot build the message: {e}"))?;
    transport
        .send(&email)
        .map(|_| ())
        .map_err(|e| format!("SMTP: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_host_and_port() {
        assert_eq!(
            parse_server("127.0.0.1:2525").unwrap(),
            ("127.0.0.1".into(), 2525)
        );
        assert_eq!(parse_server("[::1]:25").unwrap(), ("::1".into(), 25));
        assert!(parse_server("localhost").is_err());
        assert!(parse_server(":25").is_err());
        assert!(parse_server("host:99999").is_err());
    }

    #[test]
    fn one_sender_at_a_time() {
        let conn = store::open_in_memory().unwrap();
        lock(&conn, "pid 1").unwrap();
        assert!(matches!(lock(&conn, "pid 2"), Err(OutboxError::Busy(_))));
        unlock(&conn, "pid 1");
        lock(&conn, "pid 2").unwrap();
    }
}
