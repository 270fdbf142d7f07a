//! The SQLite store: opening a database, the schema, and small shared helpers.
//! The store knows nothing about scripts; it speaks SQL and plain Rust values.

pub mod codes;
pub mod demo;
pub mod lookup;
pub mod rows;
pub mod schema;

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the database has schema version {found}, newer than this rollcall understands ({supported}): upgrade rollcall"
    )]
    TooNew { found: i64, supported: i64 },
    #[error("cannot open the database {path}: {reason}")]
    Open { path: String, reason: String },
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

/// Opens (creating when absent) the database at `path` and brings its schema up to date.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let named = |source: rusqlite::Error| StoreError::Open {
        path: path.display().to_string(),
        reason: match &source {
            rusqlite::Error::SqliteFailure(e, _) => match e.code {
                rusqlite::ErrorCode::NotADatabase => {
                    "it is not a database (rollcall needs a SQLite file)".to_string()
                }
                rusqlite::ErrorCode::CannotOpen => {
                    "the file cannot be opened (does its folder exist?)".to_string()
                }
                code if is_busy(code) => "another process has held it for over 10 seconds \
                     (a large import?); try again when it is done"
                    .to_string(),
                _ => source.to_string(),
            },
            _ => source.to_string(),
        },
    };
    let conn = Connection::open(path).map_err(named)?;
    configure(&conn).map_err(|e| match e {
        StoreError::Sql(source) => named(source),
        other => other,
    })?;
    schema::migrate(&conn)?;
    Ok(conn)
}

/// An in-memory database with the full schema, for tests.
pub fn open_in_memory() -> Result<Connection, StoreError> {
    let conn = Connection::open_in_memory()?;
    configure(&conn)?;
    schema::migrate(&conn)?;
    Ok(conn)
}

/// The page size of a new database.
const PAGE_SIZE: i64 = 8192;

/// How long a statement waits for another process's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // 8 KiB pages (a new database only: an existing one keeps its size).
    // Bulk writes split fewer pages: a million-row import was about 4%
    // faster than with the default 4 KiB, and 16 KiB gained nothing more.
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    use_write_ahead_log(conn)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // 32 MiB of page cache (SQLite's sorts take as much again): enough for
    // bulk work over a million members while a whole import stays under 100 MB.
    conn.pragma_update(None, "cache_size", -32768)?;
    // Temporary tables (selections, import bookkeeping) and sorts spill to
    // files, not to memory: a million-row import stays well under 100 MB.
    conn.pragma_update(None, "temp_store", "FILE")?;
    Ok(())
}

/// Puts the database in WAL mode. It is already, but while (or after) a bulk
/// load holds it with a rollback journal, the switch needs the database
/// alone, and SQLite says so at once instead of waiting: wait here, as any
/// statement waits for another process's write.
fn use_write_ahead_log(conn: &Connection) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if is_busy(e.code) && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn is_busy(code: rusqlite::ErrorCode) -> bool {
    matches!(
        code,
        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
    )
}

/// Prepares `conn` for a bulk load, outside any transaction: when no other
/// connection has the database open, it switches from the write-ahead log to
/// a rollback journal. The log writes every page twice (into the log, then
/// into the database at the checkpoint); the journal keeps only the pages
/// that existed before, so a load into a nearly empty database is written
/// once. Meanwhile other processes wait for the commit, as they would for any
/// writer. Returns whether it switched; `end_bulk_load` switches back, and so
/// does the next `open` if the process dies first (after rolling the journal
/// back).
pub fn begin_bulk_load(conn: &Connection) -> rusqlite::Result<bool> {
    // Another connection makes the switch fail at once: the load then runs
    // with the log, only slower.
    let switched = switch_journal(conn, "DELETE")?;
    if switched {
        // With a rollback journal only FULL survives a power cut intact.
        conn.pragma_update(None, "synchronous", "FULL")?;
    }
    Ok(switched)
}

/// Back to the write-ahead log after `begin_bulk_load`, outside any
/// transaction. When another process opened the database meanwhile, the
/// switch waits for no one: that process, or the next, switches it back.
pub fn end_bulk_load(conn: &Connection) -> rusqlite::Result<()> {
    switch_journal(conn, "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")
}

/// Sets the journal mode unless another connection is in the way; whether it did.
fn switch_journal(conn: &Connection, mode: &str) -> rusqlite::Result<bool> {
    conn.busy_timeout(Duration::ZERO)?;
    let set = conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| {
        r.get::<_, String>(0)
    });
    conn.busy_timeout(BUSY_TIMEOUT)?;
    match set {
        Ok(now) => Ok(now.eq_ignore_ascii_case(mode)),
        Err(rusqlite::Error::SqliteFailure(e, _)) if is_busy(e.code) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Drops the secondary indexes of `tables` and returns how to build them
/// again. A large load into a (nearly) empty table is much faster when the
/// indexes are built once at the end, by sorting, than row by row.
pub fn drop_indexes(conn: &Connection, tables: &[&str]) -> rusqlite::Result<Vec<String>> {
    let mut indexes = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = ?1",
        )?;
        let found: Vec<(String, String)> = stmt
            .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (name, sql) in found {
            conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
            indexes.push(sql);
        }
    }
    Ok(indexes)
}

/// Builds again the indexes `drop_indexes` dropped.
pub fn rebuild_indexes(conn: &Connection, indexes: &[String]) -> rusqlite::Result<()> {
    for sql in indexes {
        conn.execute_batch(sql)?;
    }
    Ok(())
}

/// Now, as the store writes times: UTC, second precision, `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now() -> String {
    timestamp(jiff::Timestamp::now())
}

pub fn timestamp(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The text `search()` looks in besides the username and e-mail themselves:
/// the names lower-cased with accents folded, so that "muller" finds
/// "Müller", and the username and e-mail only where folding changes them
/// (capitals, accents). Most of them are plain lower case already, and
/// leaving them out makes a million members' keys about 45 MB smaller.
pub fn search_key(username: &str, email: &str, first: &str, last: &str) -> String {
    let mut key = String::with_capacity(first.len() + last.len() + 1);
    let mut add = |text: &str| {
        if text.is_empty() {
            return;
        }
        if !key.is_empty() {
            key.push(' ');
        }
        if is_folded(text) {
            key.push_str(text);
        } else {
            key.push_str(&fold(text));
        }
    };
    add(first);
    add(last);
    for text in [username, email] {
        if !is_folded(text) {
            add(text);
        }
    }
    key
}

/// Whether `fold` leaves `text` as it is.
fn is_folded(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
}

/// Lower case without diacritics.
pub fn fold(text: &str) -> String {
    deunicode::deunicode(text).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_keys_hold_what_the_columns_do_not() {
        assert_eq!(
            search_key("raul.ibanez", "raul@example.es", "Raúl", "Ibáñez"),
            "raul ibanez"
        );
        assert_eq!(
            search_key("Ada.L", "ADA@example.org", "", "Lovelace"),
            "lovelace ada.l ada@example.org"
        );
        assert_eq!(search_key("anon-1", "", "", ""), "");
    }

    #[test]
    fn fold_removes_accents_and_case() {
        assert_eq!(fold("Mårten Ångström"), "marten angstrom");
        assert_eq!(fold("Émile MÜLLER"), "emile muller");
    }
}
