//! A realistic, deterministic demo academy: the same seed always gives the same
//! data, whatever the day or machine, so the tour and the benchmarks are repeatable.

use rusqlite::{Connection, params};

use super::{StoreError, codes, search_key};

/// The people of one country: its language and typical names (accents included).
struct Locale {
    country: &'static str,
    language: &'static str,
    first: &'static [&'static str],
    last: &'static [&'static str],
    domain: &'static str,
}

const LOCALES: &[Locale] = &[
    Locale {
        country: "NL",
        language: "nl",
        first: &[
            "Daan", "Sanne", "Joëlle", "Bram", "Femke", "Niels", "Anouk", "Ruud",
        ],
        last: &[
            "de Vries",
            "Jansen",
            "van den Berg",
            "Bakker",
            "Visser",
            "Smit",
            "Meijer",
        ],
        domain: "example.nl",
    },
    Locale {
        country: "DE",
        language: "de",
        first: &[
            "Jürgen", "Lena", "Björn", "Käthe", "Lukas", "Sophie", "Jörg", "Anna",
        ],
        last: &[
            "Müller",
            "Schröder",
            "Weiß",
            "Hoffmann",
            "Köhler",
            "Schäfer",
            "Groß",
        ],
        domain: "example.de",
    },
    Locale {
        country: "FR",
        language: "fr",
        first: &[
            "Émile",
            "Chloé",
            "François",
            "Hélène",
            "Loïc",
            "Zoé",
            "Jérôme",
            "Inès",
        ],
        last: &[
            "Dubois",
            "Lefèvre",
            "Girard",
            "Bérenger",
            "Moreau",
            "Faure",
            "Rousseau",
        ],
        domain: "example.fr",
    },
    Locale {
        country: "BE",
        language: "fr",
        first: &["Maëlle", "Noé", "Thibaut", "Anaïs", "Wout", "Lotte"],
        last: &[
            "Peeters", "Dupont", "Claes", "Lambert", "Goossens", "Willems",
        ],
        domain: "example.be",
    },
    Locale {
        country: "ES",
        language: "es",
        first: &[
            "José", "María", "Álvaro", "Lucía", "Íñigo", "Begoña", "Sofía", "Raúl",
        ],
        last: &[
            "García",
            "Martínez",
            "Núñez",
            "Fernández",
            "Gómez",
            "Peña",
            "Ibáñez",
        ],
        domain: "example.es",
    },
    Locale {
        country: "SE",
        language: "sv",
        first: &["Mårten", "Åsa", "Björn", "Linnéa", "Göran", "Elin", "Måns"],
        last: &[
            "Ångström",
            "Lindqvist",
            "Öberg",
            "Sjöberg",
            "Åkesson",
            "Nyström",
        ],
        domain: "example.se",
    },
    Locale {
        country: "NO",
        language: "nb",
        first: &["Øystein", "Ingrid", "Håkon", "Solveig", "Bjørn", "Kari"],
        last: &[
            "Hansen",
            "Johansen",
            "Sørensen",
            "Bråten",
            "Løken",
            "Dæhlie",
        ],
        domain: "example.no",
    },
    Locale {
        country: "DK",
        language: "da",
        first: &["Søren", "Mette", "Jørgen", "Freja", "Anders", "Ida"],
        last: &[
            "Nielsen",
            "Jørgensen",
            "Pedersen",
            "Kjær",
            "Thomsen",
            "Møller",
        ],
        domain: "example.dk",
    },
    Locale {
        country: "PT",
        language: "pt",
        first: &["João", "Inês", "Gonçalo", "Conceição", "Tomás", "Leonor"],
        last: &[
            "Gonçalves",
            "Simões",
            "Magalhães",
            "Araújo",
            "Ferreira",
            "Lopes",
        ],
        domain: "example.pt",
    },
    Locale {
        country: "IT",
        language: "it",
        first: &[
            "Niccolò",
            "Giulia",
            "Mattia",
            "Chiara",
            "Lorenzo",
            "Francesca",
        ],
        last: &["Rossi", "Bianchi", "Esposito", "Colombo", "Ricci", "Marino"],
        domain: "example.it",
    },
    Locale {
        country: "GB",
        language: "en",
        first: &[
            "Oliver", "Amelia", "Harry", "Isla", "George", "Siobhán", "Ciarán",
        ],
        last: &[
            "Smith", "Jones", "O'Brien", "Taylor", "Brown", "Evans", "Wilson",
        ],
        domain: "example.co.uk",
    },
    Locale {
        country: "US",
        language: "en",
        first: &[
            "James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Renée", "André",
        ],
        last: &["Johnson", "Williams", "Miller", "Davis", "García", "Wilson"],
        domain: "example.com",
    },
    Locale {
        country: "PL",
        language: "pl",
        first: &["Zofia", "Jakub", "Maja", "Piotr", "Hanna", "Tomasz"],
        last: &[
            "Nowak",
            "Kowalski",
            "Wiśniewska",
            "Wójcik",
            "Kamińska",
            "Lewandowski",
        ],
        domain: "example.pl",
    },
    Locale {
        country: "FI",
        language: "fi",
        first: &["Aino", "Väinö", "Eetu", "Sää", "Mikko", "Jönna"],
        last: &["Mäkinen", "Virtanen", "Hämäläinen", "Järvinen", "Leppänen"],
        domain: "example.fi",
    },
];

const GROUPS: &[&str] = &[
    "sales",
    "support",
    "engineering",
    "marketing",
    "finance",
    "hr",
    "operations",
    "legal",
];
/// Cross-cutting groups a member may also be in.
const EXTRA_GROUPS: &[&str] = &["new-hires", "people-managers", "mentors"];
const TEAMS: &[&str] = &["Falcons", "Otters", "Lynx", "Herons", "Badgers", "Foxes"];

const COURSES: &[(&str, &str)] = &[
    ("WELCOME-101", "Welcome to the Company"),
    ("TOOLS-101", "Our Tools and Systems"),
    ("CULTURE-101", "Culture and Values"),
    ("GDPR-201", "Data Protection (GDPR) Essentials"),
    ("SEC-201", "Information Security Awareness"),
    ("ETHICS-201", "Code of Conduct and Ethics"),
    ("SAFE-101", "Workplace Health and Safety"),
    ("ANTIBRIBE-201", "Anti-Bribery and Corruption"),
    ("LEAD-301", "Leading a Team"),
    ("LEAD-302", "Feedback and Coaching"),
    ("LEAD-303", "Hiring Well"),
    ("RUST-101", "Rust for Newcomers"),
    ("SQL-101", "SQL Fundamentals"),
    ("GIT-101", "Version Control with Git"),
    ("CLOUD-201", "Cloud Operations"),
    ("SALES-101", "Consultative Selling"),
    ("SALES-201", "Negotiation"),
    ("SUPPORT-101", "Customer Support Basics"),
    ("FIN-101", "Budgeting and Forecasting"),
    ("HR-101", "Employment Law Basics"),
    ("MKT-101", "Brand and Messaging"),
    ("OPS-101", "Lean Operations"),
    ("ACCESS-101", "Accessible Documents"),
    ("LANG-FR-101", "Français des affaires"),
];

const SERIES: &[(&str, &str, &[&str])] = &[
    (
        "onboarding",
        "New Starter Onboarding",
        &["WELCOME-101", "TOOLS-101", "CULTURE-101"],
    ),
    (
        "compliance",
        "Annual Compliance",
        &["GDPR-201", "SEC-201", "ETHICS-201", "ANTIBRIBE-201"],
    ),
    (
        "leadership",
        "Leadership Essentials",
        &["LEAD-301", "LEAD-302", "LEAD-303"],
    ),
    (
        "engineering",
        "Engineering Foundations",
        &["GIT-101", "SQL-101", "RUST-101", "CLOUD-201"],
    ),
];

/// SplitMix64: tiny, fast, and stable forever, unlike a crate's default RNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// True with the given probability in percent.
    fn percent(&mut self, p: u64) -> bool {
        self.next() % 1000 < p * 10
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The ISO dates of the demo's calendar, made once: days since 1970-01-01 -> text.
struct Calendar {
    first: i64,
    dates: Vec<String>,
}

impl Calendar {
    fn new(first: i64, last: i64) -> Calendar {
        let start = jiff::civil::date(1970, 1, 1) + jiff::Span::new().days(first);
        let dates = start
            .series(jiff::Span::new().days(1))
            .take((last - first + 1) as usize)
            .map(|d| d.to_string())
            .collect();
        Calendar { first, dates }
    }

    fn date(&self, days: i64) -> &str {
        &self.dates[(days - self.first) as usize]
    }
}

fn days(y: i16, m: i8, d: i8) -> i64 {
    jiff::civil::date(1970, 1, 1)
        .until(jiff::civil::date(y, m, d))
        .map(|s| s.get_days() as i64)
        .unwrap_or(0)
}

/// What `generate` made, for the message of `init --demo`.
#[derive(Debug, Default)]
pub struct Summary {
    pub members: i64,
    pub groups: i64,
    pub courses: i64,
    pub series: i64,
    pub participations: i64,
    pub certificates: i64,
    pub seats: i64,
}

/// Fills an empty database with `n` members and everything around them.
pub fn generate(conn: &Connection, n: i64, seed: u64) -> Result<Summary, StoreError> {
    let mut rng = Rng(seed ^ 0x0005_EED0_FA11);
    // A fresh database filled in one go: secondary indexes are built once at the
    // end (a sort, much faster than a million incremental inserts).
    // The load is one transaction into a new file: a rollback journal in memory
    // is enough, and much faster than the WAL for a first bulk load.
    conn.pragma_update(None, "journal_mode", "MEMORY")?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    let tx = conn.unchecked_transaction()?;
    let indexes = super::drop_indexes(
        &tx,
        &["members", "group_members", "participations", "certificates"],
    )?;
    let created = "2023-01-01T09:00:00Z";
    let mut summary = Summary::default();

    for (code, title) in COURSES {
        tx.execute(
            "INSERT INTO courses (code, title, created_at) VALUES (?1, ?2, ?3)",
            params![code, title, created],
        )?;
    }
    summary.courses = COURSES.len() as i64;
    for (code, title, courses) in SERIES {
        tx.execute(
            "INSERT INTO series (code, title, created_at) VALUES (?1, ?2, ?3)",
            params![code, title, created],
        )?;
        let series_id = tx.last_insert_rowid();
        for (position, course) in courses.iter().enumerate() {
            tx.execute(
                "INSERT INTO series_courses (series_id, position, course_id)
                 SELECT ?1, ?2, id FROM courses WHERE code = ?3",
                params![series_id, position as i64 + 1, course],
            )?;
        }
    }
    summary.series = SERIES.len() as i64;
    for name in GROUPS.iter().chain(EXTRA_GROUPS) {
        tx.execute(
            "INSERT INTO groups (name, created_at) VALUES (?1, ?2)",
            params![name, created],
        )?;
    }
    summary.groups = (GROUPS.len() + EXTRA_GROUPS.len()) as i64;

    // Seats: enough for nine in ten members, so some are unlicensed and a few seats are free.
    let seats = n * 92 / 100;
    tx.execute("UPDATE license_pool SET seats = ?1", [seats])?;
    summary.seats = seats;

    let first_day = days(2023, 1, 2);
    let last_day = days(2026, 10, 31);
    let deadline_from = days(2026, 6, 1);
    let deadline_to = days(2027, 3, 31);
    let calendar = Calendar::new(first_day, deadline_to + 400);
    let date = |days: i64| calendar.date(days);
    let mut licensed = 0;
    let mut participation_id = 0i64;
    {
        let mut add_member = tx.prepare(
            "INSERT INTO members (id, username, email, first_name, last_name, country, language,
                 visibility, team, roles, anonymous, status, license, search_key, created_at, updated_at,
                 status_changed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16)",
        )?;
        let mut add_to_group =
            tx.prepare("INSERT INTO group_members (group_id, member_id) VALUES (?1, ?2)")?;
        let mut add_participation = tx.prepare(
            "INSERT INTO participations (id, member_id, course_id, status, score, completed_at,
                 deadline, active, invitations, last_invited_at, attempt, enrolled_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        let mut add_attempt = tx.prepare(
            "INSERT INTO attempts (participation_id, attempt, status, score, completed_at, ended_at)
             VALUES (?1, 1, 'failed', ?2, ?3, ?3)",
        )?;
        let mut add_certificate = tx.prepare(
            "INSERT INTO certificates (participation_id, attempt, serial, issued_on)
             VALUES (?1, ?2, ?3, ?4)",
        )?;

        for id in 1..=n {
            let locale = rng.pick(LOCALES);
            let anonymous = rng.percent(6);
            let (username, first, last) = if anonymous {
                (format!("anon-{id:07}"), "", "")
            } else {
                let first = *rng.pick(locale.first);
                let last = *rng.pick(locale.last);
                let handle = super::fold(&format!("{first}.{last}"))
                    .replace([' ', '\''], "")
                    .replace("..", ".");
                (format!("{handle}{id}"), first, last)
            };
            let email = if (anonymous && !rng.percent(30)) || rng.percent(2) {
                String::new()
            } else {
                format!("{username}@{}", locale.domain)
            };
            let day = first_day + rng.below((last_day - first_day) as usize) as i64;
            let created_at = format!(
                "{}T{:02}:{:02}:00Z",
                date(day),
                7 + rng.below(11),
                rng.below(60)
            );
            let visibility = match rng.below(10) {
                0..=1 => "public",
                2 => "hidden",
                _ => "members",
            };
            let team = if rng.percent(60) {
                *rng.pick(TEAMS)
            } else {
                ""
            };
            let mut roles = 1i64;
            if rng.percent(3) {
                roles |= 2;
            }
            if rng.percent(2) {
                roles |= 4;
            }
            if id == 1 || rng.next().is_multiple_of(500) {
                roles |= 8;
            }
            let status = if rng.percent(5) {
                "suspended"
            } else {
                "active"
            };
            let license = licensed < seats && !rng.percent(9);
            if license {
                licensed += 1;
            }
            let language = if locale.country == "BE" && rng.percent(50) {
                "nl"
            } else {
                locale.language
            };
            debug_assert!(
                codes::language(language).is_ok() && codes::country(locale.country).is_ok()
            );
            add_member.execute(params![
                id,
                username,
                email,
                first,
                last,
                locale.country,
                language,
                visibility,
                team,
                roles,
                anonymous,
                status,
                license,
                search_key(&username, &email, first, last),
                created_at,
                (status == "suspended").then(|| {
                    let day = (day + 30 + id % 400).min(last_day);
                    format!("{}T10:00:00Z", date(day))
                }),
            ])?;

            if rng.percent(95) {
                add_to_group.execute(params![1 + rng.below(GROUPS.len()) as i64, id])?;
            }
            if rng.percent(20) {
                let extra = GROUPS.len() + 1 + rng.below(EXTRA_GROUPS.len());
                add_to_group.execute(params![extra as i64, id])?;
            }

            // Zero to four courses, distinct, each in some state.
            let mut taken = 0u32;
            for _ in 0..rng.below(5) {
                let course = rng.below(COURSES.len());
                if taken & (1 << course) != 0 {
                    continue;
                }
                taken |= 1 << course;
                participation_id += 1;
                let enrolled = (day + rng.below(200) as i64).min(last_day);
                let roll = rng.below(100);
                let status = match roll {
                    0..=44 => "passed",
                    45..=54 => "failed",
                    _ => "undecided",
                };
                let finished = status != "undecided";
                let completed_day = (enrolled + 5 + rng.below(60) as i64).min(last_day);
                let score = finished.then(|| {
                    if status == "passed" {
                        70.0 + rng.below(31) as f64
                    } else {
                        20.0 + rng.below(45) as f64
                    }
                });
                let completed_at = finished.then(|| format!("{}T12:00:00Z", date(completed_day)));
                let deadline = rng.percent(60).then(|| {
                    date(deadline_from + rng.below((deadline_to - deadline_from) as usize) as i64)
                });
                let invitations = if rng.percent(80) {
                    1 + rng.below(3) as i64
                } else {
                    0
                };
                let last_invited =
                    (invitations > 0).then(|| format!("{}T08:30:00Z", date(enrolled)));
                let attempt = if rng.percent(8) { 2 } else { 1 };
                add_participation.execute(params![
                    participation_id,
                    id,
                    course as i64 + 1,
                    status,
                    score,
                    completed_at,
                    deadline,
                    !rng.percent(4),
                    invitations,
                    last_invited,
                    attempt,
                    format!("{}T08:00:00Z", date(enrolled)),
                ])?;
                summary.participations += 1;
                if attempt == 2 {
                    add_attempt.execute(params![
                        participation_id,
                        10.0 + rng.below(50) as f64,
                        format!("{}T12:00:00Z", date(enrolled)),
                    ])?;
                }
                if status == "passed" {
                    summary.certificates += 1;
                    add_certificate.execute(params![
                        participation_id,
                        attempt,
                        format!("RC-{:08}", summary.certificates),
                        date(completed_day),
                    ])?;
                }
            }
        }
    }
    summary.members = n;
    tx.execute(
        "INSERT OR REPLACE INTO settings (key, value) VALUES ('certificate_serial', ?1)",
        [summary.certificates.to_string()],
    )?;
    super::rebuild_indexes(&tx, &indexes)?;
    tx.commit()?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT username || email || country || created_at FROM members ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_academy() {
        let a = super::super::open_in_memory().unwrap();
        let b = super::super::open_in_memory().unwrap();
        generate(&a, 300, 7).unwrap();
        generate(&b, 300, 7).unwrap();
        assert_eq!(dump(&a), dump(&b));
        let c = super::super::open_in_memory().unwrap();
        generate(&c, 300, 8).unwrap();
        assert_ne!(dump(&a), dump(&c));
    }

    #[test]
    fn the_demo_covers_every_case() {
        let conn = super::super::open_in_memory().unwrap();
        let summary = generate(&conn, 2000, 42).unwrap();
        assert_eq!(summary.members, 2000);
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert!(count("SELECT count(DISTINCT country) FROM members") >= 10);
        assert!(count("SELECT count(DISTINCT language) FROM members") >= 5);
        assert!(count("SELECT count(*) FROM courses") >= 20);
        assert!(count("SELECT count(*) FROM series") >= 3);
        for status in ["passed", "failed", "undecided"] {
            let sql = format!("SELECT count(*) FROM participations WHERE status = '{status}'");
            assert!(count(&sql) > 0, "{status}");
        }
        assert!(
            count(
                "SELECT count(*) FROM participations WHERE status = 'undecided' AND deadline < '2026-11-21'"
            ) > 0
        );
        assert!(count("SELECT count(*) FROM members WHERE anonymous = 1") > 0);
        assert!(count("SELECT count(*) FROM members WHERE status = 'suspended'") > 0);
        assert!(count("SELECT count(*) FROM members WHERE license = 0") > 0);
        assert!(
            count("SELECT count(*) FROM members WHERE first_name GLOB '*[^ -~]*'") > 0,
            "accented names"
        );
        assert_eq!(
            count(
                "SELECT count(*) FROM participations p JOIN certificates c ON c.participation_id = p.id WHERE p.status = 'passed'"
            ),
            count("SELECT count(*) FROM participations WHERE status = 'passed'")
        );
    }
}
