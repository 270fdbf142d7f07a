//! `rollcall runs` and `rollcall audit`: what ran, and what it changed.

use std::io::Write;

use comfy_table::{ContentArrangement, Table, presets};
use rusqlite::types::Value;

use crate::ExitStatus;
use crate::cli::Config;
use crate::store;

/// Prints rows of `sql` as a table, or as JSON objects with --json.
pub(super) fn print_rows(
    config: &Config,
    sql: &str,
    params: &[Value],
    columns: &[&str],
) -> anyhow::Result<ExitStatus> {
    let conn = store::open(&config.db)?;
    let mut stmt = conn.prepare(sql)?;
    let rows: Vec<Vec<Value>> = stmt
        .query_map(rusqlite::params_from_iter(params.iter()), |row| {
            (0..columns.len()).map(|i| row.get::<_, Value>(i)).collect()
        })?
        .collect::<Result<_, _>>()?;
    let mut out = std::io::stdout().lock();
    if config.json {
        let items: Vec<serde_json::Value> = rows
            .iter()
            .map(|row| {
                serde_json::Value::Object(
                    columns
                        .iter()
                        .zip(row)
                        .map(|(c, v)| (c.to_string(), json(v)))
                        .collect(),
                )
            })
            .collect();
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&items)?);
        return Ok(ExitStatus::Success);
    }
    if rows.is_empty() {
        let _ = writeln!(out, "(none)");
        return Ok(ExitStatus::Success);
    }
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(columns.to_vec());
    for row in &rows {
        table.add_row(row.iter().map(text));
    }
    let _ = writeln!(out, "{table}");
    Ok(ExitStatus::Success)
}

fn json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Integer(n) => (*n).into(),
        Value::Real(x) => (*x).into(),
        Value::Text(t) => serde_json::from_str::<serde_json::Value>(t)
            .ok()
            .filter(|v| v.is_object())
            .unwrap_or_else(|| t.clone().into()),
        Value::Blob(_) => serde_json::Value::Null,
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Integer(n) => n.to_string(),
        Value::Real(x) => x.to_string(),
        Value::Text(t) => {
            let line = t.lines().next().unwrap_or_default();
            if line.chars().count() > 90 {
                format!("{}…", line.chars().take(89).collect::<String>())
            } else {
                line.to_string()
            }
        }
        Value::Blob(_) => "<blob>".into(),
    }
}

pub fn runs(config: &Config, limit: i64, schedule: Option<&str>) -> anyhow::Result<ExitStatus> {
    let mut params = vec![Value::Integer(limit)];
    let filter = match schedule {
        Some(name) => {
            let conn = store::open(&config.db)?;
            let id: Option<i64> = conn
                .query_row("SELECT id FROM schedules WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .ok();
            let Some(id) = id else {
                anyhow::bail!("no schedule named '{name}'; `rollcall schedule list` shows them");
            };
            params.push(Value::Integer(id));
            "WHERE r.schedule_id = ?2"
        }
        None => "",
    };
    print_rows(
        config,
        &format!(
            "SELECT r.id, r.script, s.name, r.started_at, r.ended_at, r.outcome, r.actions, r.changes, r.error
             FROM runs r LEFT JOIN schedules s ON s.id = r.schedule_id {filter} ORDER BY r.id DESC LIMIT ?1"
        ),
        &params,
        &["id", "script", "schedule", "started", "ended", "outcome", "actions", "changes", "error"],
    )
}

pub fn audit(
    config: &Config,
    run: Option<i64>,
    member: Option<&str>,
    limit: i64,
) -> anyhow::Result<ExitStatus> {
    let mut sql = String::from(
        "SELECT id, run_id, at, action, username, target, before, after FROM audit WHERE 1",
    );
    let mut params = Vec::new();
    if let Some(run) = run {
        params.push(Value::Integer(run));
        sql.push_str(&format!(" AND run_id = ?{}", params.len()));
    }
    if let Some(username) = member {
        // A live member's rows by id; an erased member's rows lost the id.
        params.push(Value::Text(username.to_string()));
        let n = params.len();
        sql.push_str(&format!(
            " AND (member_id = (SELECT id FROM members WHERE username = ?{n}) \
             OR (member_id IS NULL AND username = ?{n}))"
        ));
    }
    params.push(Value::Integer(limit));
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", params.len()));
    print_rows(
        config,
        &sql,
        &params,
        &[
            "id", "run", "at", "action", "member", "target", "before", "after",
        ],
    )
}
