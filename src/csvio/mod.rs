//! CSV export and import of members and participations (SPEC section 4),
//! and the cell rules shared by every file rollcall writes.

pub mod export;
pub mod import;
pub mod participations;
pub mod read;

/// The member columns, in export order.
pub const MEMBER_COLUMNS: [&str; 14] = [
    "username",
    "email",
    "first_name",
    "last_name",
    "language",
    "country",
    "visibility",
    "team",
    "roles",
    "groups",
    "anonymous",
    "license",
    "suspended",
    "deleted",
];

/// The participation columns, in export order.
pub const PARTICIPATION_COLUMNS: [&str; 5] = ["course", "username", "status", "deadline", "active"];

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The file as a whole: cannot be read, is empty, has a bad header.
    #[error("{0}")]
    File(String),
    #[error("line {line}: {message}")]
    Line { line: u64, message: String },
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

impl From<rusqlite::types::FromSqlError> for CsvError {
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        CsvError::Sql(e.into())
    }
}

impl CsvError {
    fn at(line: u64, err: csv::Error) -> CsvError {
        CsvError::Line {
            line,
            message: err.to_string(),
        }
    }

    fn write(err: csv::Error) -> CsvError {
        CsvError::File(format!("cannot write the CSV file: {err}"))
    }
}

/// The rejected rows of an import: the file's header with a `reason` column,
/// then each row with why. The file is created with the first row.
pub struct RejectsFile {
    path: std::path::PathBuf,
    /// The path errors name: the final one when `path` is a temporary file.
    shown: String,
    header: Vec<String>,
    writer: Option<csv::Writer<std::fs::File>>,
}

impl RejectsFile {
    pub fn new(path: std::path::PathBuf, shown: String, header: &[String]) -> RejectsFile {
        RejectsFile {
            path,
            shown,
            header: header.to_vec(),
            writer: None,
        }
    }

    pub fn write(&mut self, cells: &csv::StringRecord, reason: &str) -> Result<(), CsvError> {
        let fail = |e: csv::Error| CsvError::File(format!("cannot write {}: {e}", self.shown));
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => {
                let mut writer = csv::Writer::from_path(&self.path).map_err(fail)?;
                writer
                    .write_record(self.header.iter().map(String::as_str).chain(["reason"]))
                    .map_err(fail)?;
                self.writer.insert(writer)
            }
        };
        writer
            .write_record(cells.iter().chain([reason]))
            .map_err(fail)
    }

    /// Writes out what is buffered.
    pub fn finish(self) -> Result<(), CsvError> {
        match self.writer {
            Some(mut writer) => writer
                .flush()
                .map_err(|e| CsvError::File(format!("cannot write {}: {e}", self.shown))),
            None => Ok(()),
        }
    }
}

/// A cell a spreadsheet would run as a formula (leading `=`, `+`, `-`, `@`,
/// tab or carriage return) gets a leading apostrophe, so it stays text.
/// A cell that already starts with apostrophes before a formula character gets
/// one more, so that `unneutralize` gives it back unchanged.
pub fn neutralize(cell: &str) -> std::borrow::Cow<'_, str> {
    if is_formula(cell.trim_start_matches('\'')) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

fn is_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Reverses `neutralize`: a leading apostrophe before a formula character
/// goes, so an exported file reads back unchanged.
pub fn unneutralize(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if is_formula(rest.trim_start_matches('\'')) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralized_cells_read_back_as_written() {
        for cell in [
            "=1+2",
            "+31 6 1234",
            "-",
            "@home",
            "plain",
            "'quoted",
            "",
            "'=1",
            "''@x",
        ] {
            assert_eq!(unneutralize(&neutralize(cell)), cell);
        }
    }

    #[test]
    fn formulas_are_neutralized() {
        assert_eq!(neutralize("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralize("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralize("-1"), "'-1");
        assert_eq!(neutralize("\tx"), "'\tx");
        assert_eq!(neutralize("Émile"), "Émile");
        assert_eq!(neutralize(""), "");
    }
}
