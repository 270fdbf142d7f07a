//! Finding groups, courses and series by name, with near matches for messages.

use rusqlite::{Connection, OptionalExtension};

/// A named thing of the academy: its id and its display fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Named {
    pub id: i64,
    pub key: String,
    pub title: String,
}

#[derive(Clone, Copy, Debug)]
pub enum Table {
    Group,
    Course,
    Series,
}

impl Table {
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            Table::Group => ("SELECT id, name, name FROM groups", "name"),
            Table::Course => ("SELECT id, code, title FROM courses", "code"),
            Table::Series => ("SELECT id, code, title FROM series", "code"),
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Table::Group => "group",
            Table::Course => "course",
            Table::Series => "series",
        }
    }

    /// The function that lists them all, for "what to do" hints.
    pub fn lister(self) -> &'static str {
        match self {
            Table::Group => "groups()",
            Table::Course => "courses()",
            Table::Series => "series_list()",
        }
    }
}

pub fn find(conn: &Connection, table: Table, key: &str) -> rusqlite::Result<Option<Named>> {
    let (select, column) = table.sql();
    conn.query_row(&format!("{select} WHERE {column} = ?1"), [key], |r| {
        Ok(Named {
            id: r.get(0)?,
            key: r.get(1)?,
            title: r.get(2)?,
        })
    })
    .optional()
}

/// The message for an unknown name: the closest known names and where to list them.
pub fn unknown(conn: &Connection, table: Table, key: &str) -> String {
    let (select, _) = table.sql();
    let names: Vec<String> = conn
        .prepare(select)
        .and_then(|mut s| s.query_map([], |r| r.get(1))?.collect())
        .unwrap_or_default();
    let lower = key.to_lowercase();
    let mut close: Vec<(f64, &String)> = names
        .iter()
        .map(|n| (strsim::jaro_winkler(&lower, &n.to_lowercase()), n))
        .filter(|(score, _)| *score > 0.8)
        .collect();
    close.sort_by(|a, b| b.0.total_cmp(&a.0));
    let noun = table.noun();
    match close.first() {
        Some((_, best)) => format!(
            "unknown {noun} '{key}': did you mean '{best}'? ({} lists them all)",
            table.lister()
        ),
        None if names.is_empty() => {
            format!("unknown {noun} '{key}': the academy has no {noun} yet")
        }
        None => format!("unknown {noun} '{key}' ({} lists them all)", table.lister()),
    }
}
