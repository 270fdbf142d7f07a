//! One certificate as a one-page PDF. The text uses the standard Helvetica
//! fonts with WinAnsi encoding, which every reader has: Latin names with
//! accents (Émile Müller, Mårten Ångström) render as written; letters outside
//! WinAnsi are written without their accent (Ł as L) rather than dropped.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

/// What a certificate says.
#[derive(Clone, Debug, PartialEq)]
pub struct Certificate {
    pub username: String,
    pub name: String,
    pub course_code: String,
    pub course_title: String,
    pub serial: String,
    pub issued_on: String,
}

/// A4 landscape, in points.
const WIDTH: f32 = 842.0;
const HEIGHT: f32 = 595.0;

/// The WinAnsi (code page 1252) byte of a character, if it has one.
fn win_ansi_byte(c: char) -> Option<u8> {
    let code = c as u32;
    match code {
        0x20..=0x7E | 0xA0..=0xFF => Some(code as u8),
        _ => Some(match c {
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8A,
            '‹' => 0x8B,
            'Œ' => 0x8C,
            'Ž' => 0x8E,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201C}' => 0x93,
            '\u{201D}' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9A,
            '›' => 0x9B,
            'œ' => 0x9C,
            'ž' => 0x9E,
            'Ÿ' => 0x9F,
            _ => return None,
        }),
    }
}

/// Text as WinAnsi bytes; other characters are transliterated (Ł -> L).
pub fn win_ansi(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match win_ansi_byte(c) {
            Some(b) => out.push(b),
            None if c.is_control() => out.push(b' '),
            None => out.extend(
                deunicode::deunicode_char(c)
                    .unwrap_or("?")
                    .bytes()
                    .filter(|b| (0x20..0x7F).contains(b)),
            ),
        }
    }
    out
}

/// A rough width of Helvetica text: enough to centre a line.
fn width(bytes: &[u8], size: f32) -> f32 {
    let em: f32 = bytes
        .iter()
        .map(|b| match b {
            b' ' | b'.' | b',' | b'\'' | b'i' | b'l' | b'j' | b'I' => 0.28,
            b'A'..=b'Z' | b'm' | b'w' => 0.68,
            b'0'..=b'9' => 0.556,
            0xC0..=0xDE => 0.68,
            _ => 0.53,
        })
        .sum();
    em * size
}

fn centred(content: &mut Content, font: &[u8], size: f32, y: f32, text: &str) {
    let bytes = win_ansi(text);
    let x = ((WIDTH - width(&bytes, size)) / 2.0).max(36.0);
    content
        .begin_text()
        .set_font(Name(font), size)
        .next_line(x, y)
        .show(Str(&bytes))
        .end_text();
}

/// Renders the certificate as the bytes of a PDF file.
pub fn render(cert: &Certificate) -> Vec<u8> {
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let page = Ref::new(3);
    let regular = Ref::new(4);
    let bold = Ref::new(5);
    let contents = Ref::new(6);
    let info = Ref::new(7);

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    let mut p = pdf.page(page);
    p.parent(tree)
        .media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT))
        .contents(contents);
    p.resources()
        .fonts()
        .pair(Name(b"F1"), regular)
        .pair(Name(b"F2"), bold);
    p.finish();
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));

    let mut content = Content::new();
    content
        .set_line_width(3.0)
        .rect(24.0, 24.0, WIDTH - 48.0, HEIGHT - 48.0)
        .stroke()
        .set_line_width(0.8)
        .rect(34.0, 34.0, WIDTH - 68.0, HEIGHT - 68.0)
        .stroke();
    centred(
        &mut content,
        b"F2",
        34.0,
        450.0,
        "Certificate of Completion",
    );
    centred(&mut content, b"F1", 16.0, 395.0, "This certifies that");
    centred(&mut content, b"F2", 30.0, 340.0, &cert.name);
    centred(
        &mut content,
        b"F1",
        16.0,
        290.0,
        "has successfully completed the course",
    );
    centred(&mut content, b"F2", 22.0, 245.0, &cert.course_title);
    centred(
        &mut content,
        b"F1",
        13.0,
        215.0,
        &format!("({})", cert.course_code),
    );
    centred(
        &mut content,
        b"F1",
        12.0,
        110.0,
        &format!(
            "Issued on {}    Serial number {}",
            cert.issued_on, cert.serial
        ),
    );
    pdf.stream(contents, &content.finish());

    pdf.document_info(info)
        .title(TextStr(&format!(
            "Certificate {} - {}",
            cert.serial, cert.name
        )))
        .creator(TextStr("rollcall"));
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_accents_map_to_win_ansi_and_others_are_transliterated() {
        assert_eq!(win_ansi("Émile Müller"), b"\xC9mile M\xFCller");
        assert_eq!(win_ansi("Mårten Ångström"), b"M\xE5rten \xC5ngstr\xF6m");
        assert_eq!(win_ansi("Łukasz"), b"Lukasz");
        assert_eq!(win_ansi("a\nb"), b"a b");
    }

    #[test]
    fn the_pdf_is_a_pdf() {
        let bytes = render(&Certificate {
            username: "emile".into(),
            name: "Émile Müller".into(),
            course_code: "GDPR-201".into(),
            course_title: "Data Protection".into(),
            serial: "RC-00000001".into(),
            issued_on: "2026-11-21".into(),
        });
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(bytes.windows(11).any(|w| w == b"RC-00000001"));
    }
}
