//! Reading a CSV file as a person's spreadsheet wrote it: a UTF-8 BOM, `,`
//! `;` or tab as delimiter (detected from the header), CRLF line ends, quoted
//! cells with newlines. Rows come with the line they start on.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use super::CsvError;

/// Where lines start, for the rows' line numbers. The CSV reader's own line
/// count is off after CRLF line ends and blank lines, so the bytes are
/// counted on their way in; only newlines not yet passed are kept.
#[derive(Default)]
struct Lines {
    /// Offsets of `\n` bytes after the last asked position.
    newlines: VecDeque<u64>,
    /// The line of the last asked position.
    line: u64,
    /// The line where a quoted cell that is still open began.
    open_quote: Option<u64>,
}

impl Lines {
    /// The line of the row starting at `byte`, past any blank lines.
    fn line_at(&mut self, byte: u64) -> u64 {
        while self.newlines.front().is_some_and(|nl| *nl < byte) {
            self.newlines.pop_front();
            self.line += 1;
        }
        let blank = (byte..)
            .zip(&self.newlines)
            .take_while(|(at, nl)| **nl == *at)
            .count();
        self.line + blank as u64
    }
}

/// The line bookkeeping, shared by the reader and the byte counter (a file
/// is read on one thread, so the lock is never contended).
fn lock(lines: &Mutex<Lines>) -> MutexGuard<'_, Lines> {
    lines
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where the bytes seen so far leave the CSV syntax.
#[derive(Clone, Copy, PartialEq)]
enum Quoting {
    /// Outside quotes; `true` at the start of a cell.
    Outside(bool),
    Inside,
    /// A quote inside quotes: the end, or the first half of `""`.
    Closing,
}

/// Passes bytes through, turning CRLF into LF, noting where each line ends
/// and whether the file ends inside a quoted cell.
struct LineCounter<R> {
    inner: R,
    lines: Arc<Mutex<Lines>>,
    offset: u64,
    /// A `\r` at the end of the last read, not yet known to start a CRLF.
    held_cr: bool,
    delimiter: u8,
    quoting: Quoting,
    /// The line of the byte being passed.
    line: u64,
    /// The line of the quote that opened the current quoted cell.
    quote_line: u64,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.len() < 2 {
            return self.inner.read(buf);
        }
        let start = usize::from(self.held_cr);
        let n = self.inner.read(&mut buf[start..])?;
        if self.held_cr {
            buf[0] = b'\r';
        }
        let mut len = start + n;
        self.held_cr = false;
        if n > 0 && buf[len - 1] == b'\r' {
            self.held_cr = true;
            len -= 1;
        }
        let mut lines = lock(&self.lines);
        let mut out = 0;
        for i in 0..len {
            let b = buf[i];
            if b == b'\r' && i + 1 < len && buf[i + 1] == b'\n' {
                continue;
            }
            if b == b'\n' {
                lines.newlines.push_back(self.offset + out as u64);
            }
            self.quoting = match (self.quoting, b) {
                (Quoting::Outside(true), b'"') => {
                    self.quote_line = self.line;
                    Quoting::Inside
                }
                (Quoting::Inside, b'"') => Quoting::Closing,
                (Quoting::Inside, _) | (Quoting::Closing, b'"') => Quoting::Inside,
                (Quoting::Outside(_) | Quoting::Closing, _) => {
                    Quoting::Outside(b == self.delimiter || b == b'\n')
                }
            };
            lines.open_quote = (self.quoting == Quoting::Inside).then_some(self.quote_line);
            if b == b'\n' {
                self.line += 1;
            }
            buf[out] = b;
            out += 1;
        }
        self.offset += out as u64;
        Ok(out)
    }
}

/// An open CSV file: its header and a reader positioned on the first data row.
pub struct CsvFile {
    pub header: Vec<String>,
    pub delimiter: u8,
    /// The file's size in bytes, for progress bars.
    pub size: u64,
    reader: csv::Reader<Box<dyn Read + Send>>,
    record: csv::ByteRecord,
    lines: Arc<Mutex<Lines>>,
    /// The row read ahead (`Some(None)`: the end was reached).
    peeked: Option<Option<Result<Row, CsvError>>>,
}

/// One data row: the line it starts on and its cells (in one buffer).
pub struct Row {
    pub line: u64,
    pub cells: csv::StringRecord,
}

/// The delimiter used in a header line: the most frequent of `,` `;` tab
/// outside quotes (a comma when there is none).
pub fn detect_delimiter(line: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3)
        .max_by_key(|i| (counts[*i], usize::MAX - i))
        .unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        [b',', b';', b'\t'][best]
    }
}

impl CsvFile {
    pub fn open(path: &Path) -> Result<CsvFile, CsvError> {
        let file = File::open(path)
            .map_err(|e| CsvError::File(format!("cannot read {}: {e}", path.display())))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut buffered = BufReader::with_capacity(1 << 16, file);
        // Peek at the start: the BOM, and the header line for the delimiter.
        let start = buffered
            .fill_buf()
            .map_err(|e| CsvError::File(format!("cannot read {}: {e}", path.display())))?;
        let bom = start.starts_with(b"\xEF\xBB\xBF");
        if bom {
            buffered.consume(3);
        }
        let start = buffered.fill_buf().unwrap_or_default();
        let first_line = start.split(|b| *b == b'\n').next().unwrap_or_default();
        let delimiter = detect_delimiter(first_line);
        let lines = Arc::new(Mutex::new(Lines {
            newlines: VecDeque::new(),
            line: 1,
            open_quote: None,
        }));
        let reader: Box<dyn Read + Send> = Box::new(LineCounter {
            inner: buffered,
            lines: lines.clone(),
            offset: 0,
            held_cr: false,
            delimiter,
            quoting: Quoting::Outside(true),
            line: 1,
            quote_line: 0,
        });
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(reader);
        let mut record = csv::ByteRecord::new();
        let has_header = reader
            .read_byte_record(&mut record)
            .map_err(|e| CsvError::at(1, e))?;
        if !has_header {
            return Err(CsvError::File(format!(
                "{} is empty: it needs at least a header line",
                path.display()
            )));
        }
        let header = record
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                String::from_utf8(cell.to_vec())
                    .map(|s| s.trim().to_ascii_lowercase())
                    .map_err(|_| CsvError::Line {
                        line: 1,
                        message: format!(
                            "column {} of the header is not valid UTF-8; save the file as UTF-8",
                            i + 1
                        ),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CsvFile {
            header,
            delimiter,
            size,
            reader,
            record,
            lines,
            peeked: None,
        })
    }

    /// The byte offset reached, for progress.
    pub fn offset(&self) -> u64 {
        self.reader.position().byte()
    }

    /// The next row, or None at the end. A row that cannot be decoded is an
    /// error for that line only; reading can go on after it. A row that runs
    /// into the end of the file inside quotes is reported as broken.
    pub fn next_row(&mut self) -> Option<Result<Row, CsvError>> {
        let mut current = match self.peeked.take() {
            Some(peeked) => peeked,
            None => self.read_raw(),
        };
        // A row of empty cells (`,,,` from a spreadsheet) is no row at all.
        while let Some(Ok(row)) = &current
            && row.cells.iter().all(|c| c.trim().is_empty())
        {
            current = self.read_raw();
        }
        let unclosed = |line| {
            CsvError::Line {
            line,
            message: "a quoted cell opened on this line is never closed: the file ends inside it (a missing \")".into(),
        }
        };
        let Some(current) = current else {
            return lock(&self.lines)
                .open_quote
                .take()
                .map(|line| Err(unclosed(line)));
        };
        // Read one row ahead: only then does the reader know whether this one
        // ended at a closing quote or at the end of the file.
        let after = self.read_raw();
        if after.is_none()
            && let Some(line) = lock(&self.lines).open_quote.take()
        {
            self.peeked = Some(None);
            return Some(Err(unclosed(line)));
        }
        self.peeked = Some(after);
        Some(current)
    }

    fn read_raw(&mut self) -> Option<Result<Row, CsvError>> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => None,
            Err(e) => {
                let line = e
                    .position()
                    .map_or(0, |p| lock(&self.lines).line_at(p.byte()));
                Some(Err(CsvError::at(line, e)))
            }
            Ok(true) => {
                let line = self
                    .record
                    .position()
                    .map_or(0, |p| lock(&self.lines).line_at(p.byte()));
                match csv::StringRecord::from_byte_record(self.record.clone()) {
                    Ok(cells) => Some(Ok(Row { line, cells })),
                    Err(e) => {
                        let i = e.utf8_error().field();
                        Some(Err(CsvError::Line {
                            line,
                            message: format!(
                                "column {} is not valid UTF-8 (is the file saved as Latin-1 or Windows-1252? save it as UTF-8)",
                                self.header
                                    .get(i)
                                    .map_or_else(|| (i + 1).to_string(), |h| format!("'{h}'"))
                            ),
                        }))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &str) -> Vec<(u64, String)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        let mut file = CsvFile::open(&path).unwrap();
        let mut out = Vec::new();
        while let Some(row) = file.next_row() {
            let row = row.unwrap();
            out.push((row.line, row.cells[0].to_string()));
        }
        out
    }

    #[test]
    fn rows_know_their_line_with_any_line_end_and_blank_lines() {
        let expected = vec![
            (2, "a".to_string()),
            (3, "b".to_string()),
            (4, "c\nd".to_string()),
            (6, "e".to_string()),
            (8, "f".to_string()),
        ];
        let lf = "username,email\na,x\nb,y\n\"c\nd\",z\ne,w\n\nf,v\n";
        assert_eq!(lines_of(lf), expected);
        assert_eq!(lines_of(&lf.replace('\n', "\r\n")), expected);
        assert_eq!(lines_of(&format!("\u{feff}{lf}")), expected);
    }

    #[test]
    fn a_quote_left_open_at_the_end_is_an_error_naming_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "username,first_name\nbob,Bob\nada,\"Adeline\n").unwrap();
        let mut file = CsvFile::open(&path).unwrap();
        assert!(file.next_row().unwrap().is_ok());
        match file.next_row() {
            Some(Err(CsvError::Line { line, message })) => {
                assert_eq!(line, 3);
                assert!(message.contains("never closed"), "{message}");
            }
            _ => panic!("the open quote was not reported"),
        }
        assert!(file.next_row().is_none());
        // An escaped quote inside an open cell keeps it open.
        std::fs::write(&path, "username,first_name\nada,\"A \"\"x\n").unwrap();
        let mut file = CsvFile::open(&path).unwrap();
        assert!(matches!(
            file.next_row(),
            Some(Err(CsvError::Line { line: 2, .. }))
        ));
        // A quote inside an unquoted cell is just a character.
        std::fs::write(&path, "username,first_name\nbob,5\" tall\n").unwrap();
        let mut file = CsvFile::open(&path).unwrap();
        assert!(file.next_row().unwrap().is_ok());
        assert!(file.next_row().is_none());
    }

    #[test]
    fn rows_of_empty_cells_are_skipped_however_many() {
        let mut text = String::from("username,email\n");
        text.push_str(&",\n".repeat(100_000));
        text.push_str("a,x\n");
        assert_eq!(lines_of(&text), vec![(100_002, "a".to_string())]);
    }

    #[test]
    fn the_delimiter_is_the_most_frequent_outside_quotes() {
        assert_eq!(detect_delimiter(b"username,email,country"), b',');
        assert_eq!(detect_delimiter(b"username;email;country"), b';');
        assert_eq!(detect_delimiter(b"username\temail\tcountry"), b'\t');
        assert_eq!(detect_delimiter(b"\"a;b;c\",d,e"), b',');
        assert_eq!(detect_delimiter(b"username"), b',');
    }
}
