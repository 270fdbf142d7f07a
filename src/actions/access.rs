//! Access codes of anonymous accounts: random from the OS's cryptographic RNG,
//! stored only as a hash, handed out once (in the report, and by e-mail to
//! members who have an address).

use sha2::{Digest, Sha256};

use super::{ActionError, Report, Result, Stamp, audit, selected};

/// 32 symbols without look-alikes (no 0/O, 1/I/L): 5 bits each, so a byte's
/// low five bits pick one without bias.
const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ!";
const GROUPS: usize = 3;
const GROUP_LEN: usize = 4;

/// The alphabet actually used (31 letters and digits; `!` is never drawn, see `code`).
fn symbol(byte: u8) -> Option<char> {
    let c = ALPHABET[(byte & 31) as usize];
    (c != b'!').then_some(c as char)
}

/// A new code such as `K7QM-3XWD-9HTE`: 12 symbols of 31, about 59 bits.
pub fn code() -> Result<String> {
    let mut out = String::with_capacity(GROUPS * (GROUP_LEN + 1));
    let mut buf = [0u8; 32];
    let mut drawn = 0;
    while drawn < GROUPS * GROUP_LEN {
        getrandom::fill(&mut buf)
            .map_err(|e| ActionError::Invalid(format!("the system's random source failed: {e}")))?;
        for byte in buf {
            if drawn == GROUPS * GROUP_LEN {
                break;
            }
            if let Some(c) = symbol(byte) {
                if drawn > 0 && drawn % GROUP_LEN == 0 {
                    out.push('-');
                }
                out.push(c);
                drawn += 1;
            }
        }
    }
    Ok(out)
}

/// The stored form of a code. Codes are long and random, so a fast hash is
/// enough: there is no dictionary to try.
pub fn hash(code: &str) -> String {
    let digest = Sha256::digest(format!(
        "rollcall-access-code:{}",
        code.to_ascii_uppercase().replace('-', "")
    ));
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Gives every selected anonymous member a new code; others are skipped.
pub fn reset(conn: &rusqlite::Connection, stamp: &Stamp) -> Result<Report> {
    let matched = selected(conn)?;
    let targets: Vec<(i64, String)> = conn
        .prepare(
            "SELECT m.id, m.username FROM temp.sel s JOIN members m ON m.id = s.id
             WHERE m.anonymous = 1 ORDER BY s.pos",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS new_codes (id INTEGER PRIMARY KEY, hash TEXT NOT NULL, code TEXT NOT NULL);
         DELETE FROM temp.new_codes;",
    )?;
    let mut report = Report::new("reset_access_code", matched, stamp);
    {
        let mut add =
            conn.prepare("INSERT INTO temp.new_codes (id, hash, code) VALUES (?1, ?2, ?3)")?;
        for (id, username) in targets {
            let code = code()?;
            add.execute(rusqlite::params![id, hash(&code), code])?;
            report.codes.push((username, code));
        }
    }
    report.changed = audit(
        conn,
        stamp,
        "reset_access_code",
        "",
        "SELECT m.id, m.username, json_object('access_code', CASE WHEN m.access_code_hash IS NULL THEN 'none' ELSE 'set' END),
                json_object('access_code', 'new')
         FROM members m JOIN temp.new_codes c ON c.id = m.id",
        &[],
    )?;
    conn.execute(
        "UPDATE members SET access_code_hash = c.hash, updated_at = ?1
         FROM temp.new_codes c WHERE members.id = c.id",
        [&stamp.at],
    )?;
    conn.execute(
        "INSERT INTO outbox (member_id, recipient, subject, body, kind, run_id, created_at)
         SELECT m.id, m.email, 'Your new access code',
                'Hello,' || char(10) || char(10) || 'your access code for the academy has been reset.' || char(10)
                || 'Your new code is: ' || c.code || char(10) || char(10)
                || 'Sign in with your username ' || m.username || ' and this code.',
                'access_code', ?1, ?2
         FROM members m JOIN temp.new_codes c ON c.id = m.id WHERE m.email != ''",
        rusqlite::params![stamp.run_id, stamp.at],
    )?;
    // The plain codes now live only in the report and the outbox.
    conn.execute("DELETE FROM temp.new_codes", [])?;
    report.skip("not anonymous", matched - report.changed);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_random_and_free_of_look_alikes() {
        let a = code().unwrap();
        let b = code().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 14, "{a}");
        assert!(
            a.chars()
                .all(|c| c == '-' || (c.is_ascii_alphanumeric() && !"01OIL".contains(c))),
            "{a}"
        );
        assert_eq!(hash(&a), hash(&a.to_lowercase()));
        assert!(hash(&a).starts_with("sha256:"));
        assert!(!hash(&a).contains(&a));
    }
}
