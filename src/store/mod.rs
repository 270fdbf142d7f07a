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

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
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

/// The text `search()` looks in: names, username and email, lower-cased and
/// with accents folded, so that "muller" finds "Müller".
pub fn search_key(username: &str, email: &str, first: &str, last: &str) -> String {
    fold(&format!("{username} {email} {first} {last}"))
}

/// Lower case without diacritics.
pub fn fold(text: &str) -> String {
    deunicode::deunicode(text).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_removes_accents_and_case() {
        assert_eq!(fold("Mårten Ångström"), "marten angstrom");
        assert_eq!(fold("Émile MÜLLER"), "emile muller");
    }
}
