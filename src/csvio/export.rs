//! Export: members (or participations) in the import format, streamed row by
//! row to a temporary file that is renamed when complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rusqlite::Connection;

use super::{CsvError, MEMBER_COLUMNS, PARTICIPATION_COLUMNS, neutralize};
use crate::store::codes;

/// How the file is written.
#[derive(Clone, Copy, Debug)]
pub struct Format {
    pub delimiter: u8,
    /// A UTF-8 byte order mark first, for spreadsheets that need it to see UTF-8.
    pub bom: bool,
}

impl Default for Format {
    fn default() -> Self {
        Format {
            delimiter: b',',
            bom: false,
        }
    }
}

/// Which members: everyone, or the current selection (`temp.sel`) in its order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Which {
    All,
    Selection,
}

fn writer(path: &Path, format: Format) -> Result<csv::Writer<BufWriter<File>>, CsvError> {
    let file = File::create(path)
        .map_err(|e| CsvError::File(format!("cannot write {}: {e}", path.display())))?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    if format.bom {
        out.write_all(b"\xEF\xBB\xBF")
            .map_err(|e| CsvError::File(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(csv::WriterBuilder::new()
        .delimiter(format.delimiter)
        .from_writer(out))
}

fn finish(path: &Path, writer: csv::Writer<BufWriter<File>>) -> Result<(), CsvError> {
    let fail = |e: String| CsvError::File(format!("cannot write {}: {e}", path.display()));
    let out = writer.into_inner().map_err(|e| fail(e.to_string()))?;
    let file = out.into_inner().map_err(|e| fail(e.to_string()))?;
    file.sync_all().map_err(|e| fail(e.to_string()))
}

/// Writes members to `path`; calls `progress` every few thousand rows. Returns the count.
pub fn members(
    conn: &Connection,
    path: &Path,
    format: Format,
    which: Which,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, CsvError> {
    let mut out = writer(path, format)?;
    out.write_record(MEMBER_COLUMNS).map_err(CsvError::write)?;
    let (from, order) = match which {
        Which::All => ("members m", "m.id"),
        Which::Selection => ("temp.sel s JOIN members m ON m.id = s.id", "s.pos"),
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT m.username, m.email, m.first_name, m.last_name, m.language, m.country, m.visibility,
                m.team, m.roles,
                (SELECT group_concat(g.name, ';' ORDER BY g.name) FROM group_members gm
                   JOIN groups g ON g.id = gm.group_id WHERE gm.member_id = m.id),
                m.anonymous, m.license, m.status = 'suspended'
         FROM {from} ORDER BY {order}"
    ))?;
    let mut rows = stmt.query([])?;
    let mut n = 0u64;
    let mut cells: Vec<String> = Vec::with_capacity(MEMBER_COLUMNS.len());
    while let Some(row) = rows.next()? {
        cells.clear();
        for i in 0..8 {
            cells.push(neutralize(row.get_ref(i)?.as_str()?).into_owned());
        }
        cells.push(codes::role_names(row.get(8)?).join(";"));
        cells.push(neutralize(&row.get::<_, Option<String>>(9)?.unwrap_or_default()).into_owned());
        for i in 10..13 {
            cells.push(if row.get::<_, bool>(i)? { "1" } else { "0" }.to_string());
        }
        cells.push("0".to_string());
        out.write_record(&cells).map_err(CsvError::write)?;
        n += 1;
        if n.is_multiple_of(4096) {
            progress(n);
        }
    }
    finish(path, out)?;
    progress(n);
    Ok(n)
}

/// Writes every participation as `course,username,status,deadline,active`.
pub fn participations(
    conn: &Connection,
    path: &Path,
    format: Format,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, CsvError> {
    let mut out = writer(path, format)?;
    out.write_record(PARTICIPATION_COLUMNS)
        .map_err(CsvError::write)?;
    let mut stmt = conn.prepare(
        "SELECT c.code, m.username, p.status, coalesce(p.deadline, ''), p.active
         FROM participations p JOIN courses c ON c.id = p.course_id JOIN members m ON m.id = p.member_id
         ORDER BY c.code, m.username",
    )?;
    let mut rows = stmt.query([])?;
    let mut n = 0u64;
    while let Some(row) = rows.next()? {
        let active: bool = row.get(4)?;
        out.write_record([
            &*neutralize(row.get_ref(0)?.as_str()?),
            &*neutralize(row.get_ref(1)?.as_str()?),
            row.get_ref(2)?.as_str()?,
            row.get_ref(3)?.as_str()?,
            if active { "1" } else { "0" },
        ])
        .map_err(CsvError::write)?;
        n += 1;
        if n.is_multiple_of(4096) {
            progress(n);
        }
    }
    finish(path, out)?;
    progress(n);
    Ok(n)
}
