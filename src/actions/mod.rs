//! Bulk actions. Each works on a *selection* (the ids in `temp.sel`, filled by
//! the engine from a member or participant set), is a handful of set-based SQL
//! statements, writes one audit row per changed record, and returns a report.
//! The run's transaction makes each one atomic; a dry run rolls it back.

pub mod access;
pub mod catalog;
pub mod courses;
pub mod groups;
pub mod licenses;
pub mod members;
pub mod participations;

use rusqlite::{Connection, params};

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// Input the action refuses; the message names the value and what to do.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

pub type Result<T> = std::result::Result<T, ActionError>;

/// Who is acting, and when: stamped on every audit row.
#[derive(Clone, Debug)]
pub struct Stamp {
    pub run_id: Option<i64>,
    pub at: String,
    /// The run's date (`today()`), for certificates and deadlines.
    pub today: String,
    pub dry_run: bool,
}

/// What an action did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub action: String,
    pub matched: i64,
    pub changed: i64,
    /// Reasons for skipping, with how many records each.
    pub skipped: Vec<(String, i64)>,
    pub dry_run: bool,
    /// New access codes: (username, code), handed out only here.
    pub codes: Vec<(String, String)>,
}

impl Report {
    pub fn new(action: &str, matched: i64, stamp: &Stamp) -> Report {
        Report {
            action: action.to_string(),
            matched,
            dry_run: stamp.dry_run,
            ..Report::default()
        }
    }

    pub fn skip(&mut self, reason: &str, count: i64) {
        if count > 0 {
            self.skipped.push((reason.to_string(), count));
        }
    }

    pub fn skipped_total(&self) -> i64 {
        self.skipped.iter().map(|(_, n)| n).sum()
    }

    /// One line for the log: `suspend: 120 matched, 118 changed, 2 skipped (already suspended: 2)`.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{}: {} matched, {} changed, {} skipped",
            self.action,
            self.matched,
            self.changed,
            self.skipped_total()
        );
        if !self.skipped.is_empty() {
            let reasons: Vec<String> = self
                .skipped
                .iter()
                .map(|(r, n)| format!("{r}: {n}"))
                .collect();
            line.push_str(&format!(" ({})", reasons.join(", ")));
        }
        if self.dry_run {
            line.push_str(" [dry run]");
        }
        line
    }
}

/// Creates the selection table of this connection (once) and empties it.
pub fn clear_selection(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS sel (pos INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE);
         DELETE FROM temp.sel;",
    )?;
    Ok(())
}

/// Fills the selection from a query of ids (`sql` with `params`), in its order.
pub fn select_sql(conn: &Connection, sql: &str, params: &[rusqlite::types::Value]) -> Result<i64> {
    clear_selection(conn)?;
    let n = conn.execute(
        &format!("INSERT OR IGNORE INTO temp.sel (id) {sql}"),
        rusqlite::params_from_iter(params.iter()),
    )?;
    Ok(n as i64)
}

/// Fills the selection from ids computed outside SQL (after a closure filter).
pub fn select_ids(conn: &Connection, ids: &[i64]) -> Result<i64> {
    clear_selection(conn)?;
    let mut stmt = conn.prepare_cached("INSERT OR IGNORE INTO temp.sel (id) VALUES (?1)")?;
    let mut n = 0;
    for id in ids {
        n += stmt.execute([id])? as i64;
    }
    Ok(n)
}

/// Writes audit rows from `select`, a SELECT of (member_id, username, before, after)
/// over the members the action is about to change. Returns how many.
pub fn audit(
    conn: &Connection,
    stamp: &Stamp,
    action: &str,
    target: &str,
    select: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<i64> {
    let sql = format!(
        "INSERT INTO audit (run_id, at, action, target, member_id, username, before, after)
         SELECT ?1, ?2, ?3, ?4, a.* FROM ({select}) a"
    );
    let mut all: Vec<&dyn rusqlite::ToSql> = vec![&stamp.run_id, &stamp.at, &action, &target];
    all.extend_from_slice(params);
    Ok(conn.execute(&sql, all.as_slice())? as i64)
}

/// One audit row about the academy itself (a new group, course, seat count).
pub fn audit_one(
    conn: &Connection,
    stamp: &Stamp,
    action: &str,
    target: &str,
    before: Option<String>,
    after: Option<String>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO audit (run_id, at, action, target, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![stamp.run_id, stamp.at, action, target, before, after],
    )?;
    Ok(())
}

/// The number of ids in the selection.
pub fn selected(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM temp.sel", [], |r| r.get(0))?)
}
