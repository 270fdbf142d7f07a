//! Course-level changes to participations (the selection holds participation ids).

use rusqlite::params;

use super::{Report, Result, Stamp, audit, selected};

/// Deactivates (`active = false`) or reactivates participations at course level.
pub fn set_active(
    conn: &rusqlite::Connection,
    stamp: &Stamp,
    course: &str,
    active: bool,
) -> Result<Report> {
    let matched = selected(conn)?;
    let action = if active { "reactivate" } else { "suspend" };
    let changed = audit(
        conn,
        stamp,
        action,
        course,
        "SELECT m.id, m.username, json_object('course', c.code, 'active', p.active),
                json_object('course', c.code, 'active', ?5)
         FROM participations p JOIN members m ON m.id = p.member_id JOIN courses c ON c.id = p.course_id
         WHERE p.id IN (SELECT id FROM temp.sel) AND p.active != ?5",
        &[&active],
    )?;
    conn.execute(
        "UPDATE participations SET active = ?1 WHERE id IN (SELECT id FROM temp.sel) AND active != ?1",
        params![active],
    )?;
    let mut report = Report::new(action, matched, stamp);
    report.changed = changed;
    report.skip(
        if active {
            "already active in the course"
        } else {
            "already inactive in the course"
        },
        matched - changed,
    );
    Ok(report)
}

/// Queues one invitation per selected participation, naming the course and the
/// deadline, and counts it on the participation. Suspended members, inactive
/// participations and members without an e-mail are skipped.
pub fn invite(
    conn: &rusqlite::Connection,
    stamp: &Stamp,
    course: &str,
    action: &str,
) -> Result<Report> {
    let matched = selected(conn)?;
    let mut report = Report::new(action, matched, stamp);
    let count = |condition: &str| -> Result<i64> {
        Ok(conn.query_row(
            &format!(
                "SELECT count(*) FROM participations p JOIN members m ON m.id = p.member_id
                 WHERE p.id IN (SELECT id FROM temp.sel) AND {condition}"
            ),
            [],
            |r| r.get(0),
        )?)
    };
    report.skip("member suspended", count("m.status = 'suspended'")?);
    report.skip(
        "inactive in the course",
        count("m.status = 'active' AND p.active = 0")?,
    );
    report.skip(
        "no email",
        count("m.status = 'active' AND p.active = 1 AND m.email = ''")?,
    );
    const ELIGIBLE: &str = "p.id IN (SELECT id FROM temp.sel) AND m.status = 'active' AND p.active = 1 AND m.email != ''";
    report.changed = audit(
        conn,
        stamp,
        action,
        course,
        &format!(
            "SELECT m.id, m.username, json_object('course', c.code, 'invitations', p.invitations),
                    json_object('course', c.code, 'invitations', p.invitations + 1)
             FROM participations p JOIN members m ON m.id = p.member_id JOIN courses c ON c.id = p.course_id
             WHERE {ELIGIBLE}"
        ),
        &[],
    )?;
    conn.execute(
        &format!(
            "INSERT INTO outbox (member_id, participation_id, recipient, subject, body, kind, run_id, created_at)
             SELECT m.id, p.id, m.email, 'Invitation: ' || c.title,
                    'Hello ' || CASE WHEN m.first_name != '' THEN m.first_name ELSE m.username END || ',' || char(10) || char(10)
                    || 'you are invited to take the course \"' || c.title || '\" (' || c.code || ').' || char(10)
                    || CASE WHEN p.deadline IS NOT NULL THEN 'Please complete it by ' || p.deadline || '.' || char(10) ELSE '' END
                    || char(10) || 'Sign in to the academy with your username ' || m.username || ' to start.',
                    'invitation', ?1, ?2
             FROM participations p JOIN members m ON m.id = p.member_id JOIN courses c ON c.id = p.course_id
             WHERE {ELIGIBLE} ORDER BY p.id"
        ),
        params![stamp.run_id, stamp.at],
    )?;
    conn.execute(
        &format!(
            "UPDATE participations SET invitations = invitations + 1, last_invited_at = ?1
             WHERE id IN (SELECT p.id FROM participations p JOIN members m ON m.id = p.member_id WHERE {ELIGIBLE})"
        ),
        params![stamp.at],
    )?;
    Ok(report)
}

/// Starts a new attempt: the current result goes into the attempt history, the
/// status becomes undecided and the attempt number grows. A certificate of an
/// earlier pass stays in the history but is no longer current.
pub fn retake(conn: &rusqlite::Connection, stamp: &Stamp, course: &str) -> Result<Report> {
    let matched = selected(conn)?;
    const DECIDED: &str = "p.id IN (SELECT id FROM temp.sel) AND p.status != 'undecided'";
    let changed = audit(
        conn,
        stamp,
        "retake",
        course,
        &format!(
            "SELECT m.id, m.username, json_object('course', c.code, 'status', p.status, 'attempt', p.attempt),
                    json_object('course', c.code, 'status', 'undecided', 'attempt', p.attempt + 1)
             FROM participations p JOIN members m ON m.id = p.member_id JOIN courses c ON c.id = p.course_id
             WHERE {DECIDED}"
        ),
        &[],
    )?;
    conn.execute(
        &format!(
            "INSERT INTO attempts (participation_id, attempt, status, score, completed_at, ended_at)
             SELECT p.id, p.attempt, p.status, p.score, p.completed_at, ?1 FROM participations p WHERE {DECIDED}"
        ),
        params![stamp.at],
    )?;
    conn.execute(
        &format!(
            "UPDATE certificates SET current = 0 WHERE current = 1
             AND participation_id IN (SELECT p.id FROM participations p WHERE {DECIDED})"
        ),
        [],
    )?;
    conn.execute(
        &format!(
            "UPDATE participations AS p SET status = 'undecided', score = NULL, completed_at = NULL,
                 attempt = attempt + 1 WHERE {DECIDED}"
        ),
        [],
    )?;
    let mut report = Report::new("retake", matched, stamp);
    report.changed = changed;
    report.skip("no result yet", matched - changed);
    Ok(report)
}

/// Sets the participation status. Becoming `passed` issues a certificate (a
/// new serial, dated the run's day); leaving `passed` withdraws the current one.
pub fn set_status(
    conn: &rusqlite::Connection,
    stamp: &Stamp,
    course: &str,
    status: &str,
) -> Result<Report> {
    let matched = selected(conn)?;
    const CHANGING: &str = "p.id IN (SELECT id FROM temp.sel) AND p.status != ?5";
    let changed = audit(
        conn,
        stamp,
        "set_status",
        course,
        &format!(
            "SELECT m.id, m.username, json_object('course', c.code, 'status', p.status),
                    json_object('course', c.code, 'status', ?5)
             FROM participations p JOIN members m ON m.id = p.member_id JOIN courses c ON c.id = p.course_id
             WHERE {CHANGING}"
        ),
        &[&status],
    )?;
    let changing = CHANGING.replace("?5", "?1");
    if status == "passed" {
        let base: i64 = conn
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'certificate_serial'",
                [],
                |r| r.get(0),
            )
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => {
                    conn.query_row("SELECT count(*) FROM certificates", [], |r| r.get(0))
                }
                other => Err(other),
            })?;
        let issued = conn.execute(
            &format!(
                "INSERT INTO certificates (participation_id, attempt, serial, issued_on)
                 SELECT p.id, p.attempt, 'RC-' || printf('%08d', ?2 + row_number() OVER (ORDER BY p.id)), ?3
                 FROM participations p WHERE {changing}
                   AND NOT EXISTS (SELECT 1 FROM certificates x WHERE x.participation_id = p.id AND x.current = 1)"
            ),
            params![status, base, stamp.today],
        )? as i64;
        conn.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES ('certificate_serial', ?1)",
            [(base + issued).to_string()],
        )?;
    } else {
        conn.execute(
            &format!(
                "DELETE FROM certificates WHERE current = 1
                 AND participation_id IN (SELECT p.id FROM participations p WHERE {changing})"
            ),
            params![status],
        )?;
    }
    conn.execute(
        &format!(
            "UPDATE participations AS p SET status = ?1,
                 completed_at = CASE WHEN ?1 = 'undecided' THEN NULL ELSE coalesce(p.completed_at, ?2) END
             WHERE {changing}"
        ),
        params![status, stamp.at],
    )?;
    let mut report = Report::new("set_status", matched, stamp);
    report.changed = changed;
    report.skip(&format!("already {status}"), matched - changed);
    Ok(report)
}

/// Sets (`Some`) or clears (`None`) the deadline of the selected participations.
pub fn set_deadline(
    conn: &rusqlite::Connection,
    stamp: &Stamp,
    course: &str,
    deadline: Option<&str>,
) -> Result<Report> {
    let matched = selected(conn)?;
    let action = if deadline.is_some() {
        "set_deadline"
    } else {
        "clear_deadline"
    };
    const CHANGING: &str = "p.id IN (SELECT id FROM temp.sel) AND p.deadline IS NOT ?5";
    let changed = audit(
        conn,
        stamp,
        action,
        course,
        &format!(
            "SELECT m.id, m.username, json_object('course', c.code, 'deadline', p.deadline),
                    json_object('course', c.code, 'deadline', ?5)
             FROM participations p JOIN members m ON m.id = p.member_id JOIN courses c ON c.id = p.course_id
             WHERE {CHANGING}"
        ),
        &[&deadline],
    )?;
    conn.execute(
        &format!(
            "UPDATE participations AS p SET deadline = ?1 WHERE {}",
            CHANGING.replace("?5", "?1")
        ),
        params![deadline],
    )?;
    let mut report = Report::new(action, matched, stamp);
    report.changed = changed;
    match deadline {
        Some(date) => report.skip(&format!("already {date}"), matched - changed),
        None => report.skip("no deadline", matched - changed),
    }
    Ok(report)
}

/// Takes the selected participants out of the course: the participation, its
/// attempt history and certificates are erased.
pub fn remove(conn: &rusqlite::Connection, stamp: &Stamp, course: &str) -> Result<Report> {
    let matched = selected(conn)?;
    audit(
        conn,
        stamp,
        "remove",
        course,
        "SELECT m.id, m.username, json_object('course', c.code, 'status', p.status, 'attempt', p.attempt), NULL
         FROM participations p JOIN members m ON m.id = p.member_id JOIN courses c ON c.id = p.course_id
         WHERE p.id IN (SELECT id FROM temp.sel)",
        &[],
    )?;
    let changed = conn.execute(
        "DELETE FROM participations WHERE id IN (SELECT id FROM temp.sel)",
        [],
    )? as i64;
    let mut report = Report::new("remove", matched, stamp);
    report.changed = changed;
    Ok(report)
}
