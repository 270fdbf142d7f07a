//! Certificates exported as one ZIP: a PDF per participant with a current
//! certificate, named `COURSE-username.pdf`, and a `manifest.csv`.

pub mod pdf;

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use zip::write::SimpleFileOptions;

use crate::actions::{ActionError, Report, Result, Stamp, selected};
use crate::csvio::neutralize;
use pdf::Certificate;

/// A file name made only of letters, digits, `.`, `_` and `-`; anything else
/// (slashes, spaces, accents, control characters) becomes `_`.
pub fn safe_file_name(text: &str) -> String {
    let mut name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(180)
        .collect();
    if name.starts_with('.') {
        name.replace_range(0..1, "_");
    }
    name
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> ActionError + '_ {
    move |e| ActionError::Invalid(format!("cannot write {}: {e}", path.display()))
}

fn zip_error(path: &Path) -> impl Fn(zip::result::ZipError) -> ActionError + '_ {
    move |e| ActionError::Invalid(format!("cannot write {}: {e}", path.display()))
}

/// Writes the certificates of the selected participations to a ZIP at `path`.
/// Participations without a current certificate are skipped.
pub fn export(conn: &rusqlite::Connection, stamp: &Stamp, path: &Path) -> Result<Report> {
    let matched = selected(conn)?;
    let file = File::create(path).map_err(io_error(path))?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut manifest = csv::Writer::from_writer(Vec::new());
    manifest
        .write_record(["username", "name", "course", "serial", "issued"])
        .map_err(|e| ActionError::Invalid(e.to_string()))?;
    let mut names = HashSet::new();
    let mut written = 0;
    let mut stmt = conn.prepare(
        "SELECT m.username, m.first_name, m.last_name, c.code, c.title, x.serial, x.issued_on
         FROM temp.sel s JOIN participations p ON p.id = s.id JOIN members m ON m.id = p.member_id
         JOIN courses c ON c.id = p.course_id
         JOIN certificates x ON x.participation_id = p.id AND x.current = 1
         ORDER BY s.pos",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let first: String = row.get(1)?;
        let last: String = row.get(2)?;
        let username: String = row.get(0)?;
        let name = format!("{first} {last}").trim().to_string();
        let cert = Certificate {
            name: if name.is_empty() {
                username.clone()
            } else {
                name
            },
            username,
            course_code: row.get(3)?,
            course_title: row.get(4)?,
            serial: row.get(5)?,
            issued_on: row.get(6)?,
        };
        let base = safe_file_name(&format!("{}-{}", cert.course_code, cert.username));
        let mut file_name = format!("{base}.pdf");
        let mut n = 1;
        while !names.insert(file_name.clone()) {
            n += 1;
            file_name = format!("{base}-{n}.pdf");
        }
        zip.start_file(file_name.as_str(), options)
            .map_err(zip_error(path))?;
        zip.write_all(&pdf::render(&cert)).map_err(io_error(path))?;
        manifest
            .write_record([
                &*neutralize(&cert.username),
                &*neutralize(&cert.name),
                &*neutralize(&cert.course_code),
                &*neutralize(&cert.serial),
                &*neutralize(&cert.issued_on),
            ])
            .map_err(|e| ActionError::Invalid(e.to_string()))?;
        written += 1;
    }
    let manifest = manifest
        .into_inner()
        .map_err(|e| ActionError::Invalid(e.to_string()))?;
    zip.start_file("manifest.csv", options)
        .map_err(zip_error(path))?;
    zip.write_all(&manifest).map_err(io_error(path))?;
    let mut out = zip.finish().map_err(zip_error(path))?;
    out.flush().map_err(io_error(path))?;
    out.get_ref().sync_all().map_err(io_error(path))?;
    let mut report = Report::new("export_certificates", matched, stamp);
    report.changed = written;
    report.skip("no certificate", matched - written);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_safe_file_names() {
        assert_eq!(safe_file_name("GDPR-201-jdoe"), "GDPR-201-jdoe");
        assert_eq!(safe_file_name("../../etc/passwd"), "_._.._etc_passwd");
        assert_eq!(
            safe_file_name("a b/c\\d:e*f?g\"h<i>j|k\0"),
            "a_b_c_d_e_f_g_h_i_j_k_"
        );
        assert_eq!(safe_file_name(".hidden"), "_hidden");
        assert_eq!(safe_file_name("Émile"), "_mile");
    }
}
