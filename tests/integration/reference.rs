//! The reference and the examples: `rollcall docs` documents every script
//! function with an example that runs, the example scripts in `scripts/` run
//! on the demo academy and report what they did, and `completions` and `man`
//! print what shells and `man` expect.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support::{Env, Out};

/// Every function SPEC section 3 names.
pub const SPEC_FUNCTIONS: &[&str] = &[
    "members",
    "member",
    "course",
    "participants",
    "group",
    "series_list",
    "search",
    "in_group",
    "not_in_group",
    "with_role",
    "country",
    "language",
    "team",
    "anonymous",
    "active",
    "suspended",
    "deactivated",
    "licensed",
    "unlicensed",
    "created_before",
    "created_after",
    "where",
    "filter",
    "limit",
    "order_by",
    "passed",
    "failed",
    "undecided",
    "deadline_before",
    "overdue",
    "invited",
    "not_invited",
    "inactive",
    "count",
    "list",
    "first",
    "usernames",
    "show",
    "each",
    "assign_group",
    "remove_from_group",
    "assign_course",
    "assign_series",
    "suspend",
    "deactivate",
    "reactivate",
    "delete",
    "set_country",
    "set_visibility",
    "set_language",
    "set_team",
    "add_role",
    "remove_role",
    "reset_access_code",
    "assign_license",
    "release_license",
    "export_csv",
    "invite",
    "resend_invitation",
    "retake",
    "export_certificates",
    "remove",
    "set_deadline",
    "clear_deadline",
    "set_status",
    "courses",
    "groups",
    "import_csv",
    "license_seats",
    "set_license_seats",
    "create_group",
    "create_course",
    "create_series",
    "today",
    "log",
];

/// The date every example and script runs on: the demo academy has overdue,
/// passed and failed participants on it.
const TODAY: &str = "2026-11-21";

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `rollcall docs`, checked to succeed.
fn docs() -> String {
    let out = Env::new().rollcall(&["docs"]);
    out.success().no_panic();
    out.stdout.clone()
}

/// One heading of the Markdown with what follows it up to the next heading.
struct Section {
    /// The heading line, such as "### `count`".
    heading: String,
    /// The prose under it, code blocks left out.
    text: String,
    /// The ```rhai blocks under it.
    examples: Vec<String>,
    /// Other fenced blocks under it, with their info string.
    other_blocks: Vec<String>,
}

/// Splits Markdown into its headed sections; a `#` inside a code block is code.
fn sections(markdown: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    let mut fence: Option<(String, Vec<String>)> = None;
    for line in markdown.lines() {
        if let Some((info, code)) = &mut fence {
            if line.trim_end() == "```" {
                let section = sections.last_mut().expect("a code block under a heading");
                if info == "rhai" {
                    section.examples.push(code.join("\n"));
                } else {
                    section.other_blocks.push(info.clone());
                }
                fence = None;
            } else {
                code.push(line.to_string());
            }
        } else if let Some(info) = line.strip_prefix("```") {
            fence = Some((info.trim().to_string(), Vec::new()));
        } else if line.starts_with('#') {
            sections.push(Section {
                heading: line.to_string(),
                text: String::new(),
                examples: Vec::new(),
                other_blocks: Vec::new(),
            });
        } else if let Some(section) = sections.last_mut() {
            section.text.push_str(line);
            section.text.push('\n');
        }
    }
    assert!(fence.is_none(), "an unclosed code block in the Markdown");
    sections
}

/// The public functions a stdlib source defines, by name.
fn stdlib_functions(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|l| l.strip_prefix("fn "))
        .map(|rest| {
            rest.split('(')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect()
}

/// The stdlib modules: (name, source), from `stdlib/*.rhai`.
fn stdlib_modules() -> Vec<(String, String)> {
    let mut modules: Vec<(String, String)> = std::fs::read_dir(manifest_dir().join("stdlib"))
        .expect("the stdlib folder")
        .map(|e| e.expect("a stdlib entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let source = std::fs::read_to_string(&p).expect("read a stdlib module");
            (name, source)
        })
        .collect();
    modules.sort();
    modules
}

#[test]
fn docs_is_markdown_with_an_example_for_every_spec_function() {
    let markdown = docs();
    assert!(
        markdown.starts_with("# "),
        "docs does not start with a Markdown title:\n{}",
        &markdown[..markdown.len().min(300)]
    );
    let sections = sections(&markdown);
    let mut missing = Vec::new();
    let mut without_example = Vec::new();
    for name in SPEC_FUNCTIONS {
        let heading = format!("### `{name}`");
        match sections.iter().find(|s| s.heading == heading) {
            None => missing.push(*name),
            Some(section) => {
                if section.examples.iter().all(|e| e.trim().is_empty()) {
                    without_example.push(*name);
                }
                assert!(
                    !section.text.trim().is_empty(),
                    "`{name}` has no description"
                );
            }
        }
    }
    assert!(
        missing.is_empty(),
        "no `### `name`` entry in `rollcall docs` for: {missing:?}"
    );
    assert!(
        without_example.is_empty(),
        "no ```rhai example under: {without_example:?}"
    );
    // Each function has one entry, and examples are all marked as rhai.
    let mut seen = BTreeSet::new();
    for section in &sections {
        assert!(
            seen.insert(section.heading.clone()),
            "{} appears twice",
            section.heading
        );
        assert!(
            section.other_blocks.is_empty(),
            "{} has code blocks not marked rhai: {:?}",
            section.heading,
            section.other_blocks
        );
    }
}

#[test]
fn docs_describes_each_stdlib_module_and_its_functions_with_examples() {
    let markdown = docs();
    let sections = sections(&markdown);
    let modules = stdlib_modules();
    let names: Vec<&str> = modules.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["hygiene", "onboarding", "reports"]);
    for (module, source) in &modules {
        let heading = format!("### Module `{module}`");
        let about = sections
            .iter()
            .find(|s| s.heading == heading)
            .unwrap_or_else(|| panic!("no {heading:?} in docs"));
        assert!(!about.text.trim().is_empty(), "{module} has no description");
        let functions = stdlib_functions(source);
        assert!(!functions.is_empty(), "{module} defines no function");
        for function in functions {
            let prefix = format!("#### `{module}::{function}(");
            let section = sections
                .iter()
                .find(|s| s.heading.starts_with(&prefix))
                .unwrap_or_else(|| panic!("no {prefix:?}...` entry in docs"));
            assert!(
                section
                    .examples
                    .iter()
                    .any(|e| e.contains(&format!("import \"{module}\""))),
                "{module}::{function} has no example importing the module: {:?}",
                section.examples
            );
        }
    }
}

#[test]
fn docs_lists_the_member_properties() {
    let markdown = docs();
    let sections = sections(&markdown);
    let properties = sections
        .iter()
        .find(|s| s.heading == "## Member properties")
        .expect("a member properties section");
    for name in [
        "username",
        "email",
        "first_name",
        "last_name",
        "country",
        "language",
        "team",
        "status",
        "roles",
        "groups",
        "license",
    ] {
        assert!(
            properties.text.contains(&format!("- `m.{name}`")),
            "m.{name} is not listed:\n{}",
            properties.text
        );
    }
}

/// Every entry in the folder, as (name, is a file): what a run may leave.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list the folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_docs_example_runs_on_the_demo_academy() {
    let env = Env::new();
    env.rollcall(&["-q", "init", "--demo", "500", "--seed", "42"])
        .success();
    env.rollcall(&["export", "members.csv"]).success();
    let dir = env.db().parent().expect("the test folder").to_path_buf();
    let before = env.dump();
    let files = listing(&dir);

    let markdown = docs();
    let examples: Vec<(String, String)> = sections(&markdown)
        .into_iter()
        .flat_map(|s| {
            let heading = s.heading;
            s.examples.into_iter().map(move |e| (heading.clone(), e))
        })
        .collect();
    assert!(
        examples.len() >= SPEC_FUNCTIONS.len(),
        "only {} examples found",
        examples.len()
    );
    let mut failures = Vec::new();
    for (heading, example) in &examples {
        let out = env
            .cmd(["--dry-run", "--today", TODAY, "eval", example.as_str()])
            .current_dir(&dir)
            .run();
        if out.code != Some(0) || out.stderr.contains("panicked") {
            failures.push(format!(
                "{heading}: exit {:?}\n{example}\n--- stdout:\n{}--- stderr:\n{}",
                out.code, out.stdout, out.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples failed:\n\n{}",
        failures.len(),
        examples.len(),
        failures.join("\n\n")
    );
    // Dry runs: no change and no file.
    assert_eq!(env.dump(), before, "a dry-run example changed the database");
    assert_eq!(listing(&dir), files, "a dry-run example left a file");
}

// ---------------------------------------------------------------------------
// The example scripts.

/// The scripts this file runs with their own arguments and checks.
const CHECKED_SCRIPTS: &[&str] = &[
    "hr-sync.rhai",
    "monthly-report.rhai",
    "nightly-cleanup.rhai",
    "onboard-new-hires.rhai",
    "quarterly-certificates.rhai",
    "reinvite-overdue.rhai",
    "reset-class-codes.rhai",
    "tour.rhai",
];

fn scripts_dir() -> PathBuf {
    manifest_dir().join("scripts")
}

fn script_names() -> Vec<String> {
    let mut names: Vec<String> = listing(&scripts_dir())
        .into_iter()
        .filter(|n| n.ends_with(".rhai"))
        .collect();
    names.sort();
    names
}

/// `rollcall --yes --today 2026-11-21 run scripts/NAME ARGS...` in the folder
/// of `env`, checked to succeed.
fn run_script(env: &Env, name: &str, args: &[&str]) -> Out {
    let path = scripts_dir().join(name);
    let mut all: Vec<String> = vec!["--yes".into(), "--today".into(), TODAY.into(), "run".into()];
    all.push(path.to_string_lossy().into_owned());
    all.extend(args.iter().map(|a| a.to_string()));
    let out = env.cmd(&all).run();
    out.success().no_panic();
    out
}

/// The text after `label` on the line of `stdout` that starts with it.
#[track_caller]
fn after<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no line starting with {label:?} in:\n{stdout}"))
        .trim()
}

/// The numbers in `text`, in order.
fn numbers(text: &str) -> Vec<i64> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("a number"))
        .collect()
}

/// The first line of `stdout` that contains `needle`, as its numbers.
#[track_caller]
fn numbers_on(stdout: &str, needle: &str) -> Vec<i64> {
    let line = stdout
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{stdout}"));
    numbers(line)
}

/// The dump without the run history: what a script that only reads leaves alone.
fn dump_but_runs(env: &Env) -> Vec<(String, Vec<Vec<String>>)> {
    env.dump()
        .into_iter()
        .filter(|(t, _)| t != "runs")
        .collect()
}

#[test]
fn every_script_has_a_rollcall_header_and_runs() {
    let names = script_names();
    assert!(
        !names.is_empty(),
        "no scripts in {}",
        scripts_dir().display()
    );
    for name in &names {
        let source = std::fs::read_to_string(scripts_dir().join(name)).expect("read the script");
        assert!(
            source.starts_with("//"),
            "{name} does not start with a // header comment"
        );
        let header: Vec<&str> = source.lines().take_while(|l| l.starts_with("//")).collect();
        assert!(
            header.iter().any(|l| l.contains("rollcall")),
            "the header of {name} does not say how to run it with rollcall:\n{}",
            header.join("\n")
        );
    }
    for checked in CHECKED_SCRIPTS {
        assert!(
            names.iter().any(|n| n == checked),
            "{checked} is gone from scripts/"
        );
    }
    // A script without its own test below still has to run on the demo academy.
    for name in names
        .iter()
        .filter(|n| !CHECKED_SCRIPTS.contains(&n.as_str()))
    {
        let env = Env::demo(500);
        run_script(&env, name, &[]);
    }
}

#[test]
fn script_tour_reports_the_academy_and_changes_nothing() {
    let env = Env::demo(500);
    let before = dump_but_runs(&env);
    let out = run_script(&env, "tour.rhai", &[]);
    let s = &out.stdout;
    assert_eq!(after(s, "members:"), "500");
    let active = env.int("SELECT count(*) FROM members WHERE status = 'active'");
    let suspended = env.int("SELECT count(*) FROM members WHERE status = 'suspended'");
    assert_eq!(
        after(s, "active / suspended:"),
        format!("{active} / {suspended}")
    );
    assert_eq!(
        after(s, "anonymous accounts:"),
        env.int("SELECT count(*) FROM members WHERE anonymous = 1")
            .to_string()
    );
    assert_eq!(
        after(s, "without a seat:"),
        env.int("SELECT count(*) FROM members WHERE license = 0")
            .to_string()
    );
    assert_eq!(
        numbers(after(s, "courses:")),
        [
            env.int("SELECT count(*) FROM courses"),
            env.int("SELECT count(*) FROM groups"),
            env.int("SELECT count(*) FROM series"),
        ]
    );
    assert_eq!(
        after(s, "in the Netherlands:"),
        env.int("SELECT count(*) FROM members WHERE country = 'NL'")
            .to_string()
    );
    assert_eq!(
        after(s, "... of whom suspended:"),
        env.int("SELECT count(*) FROM members WHERE country = 'NL' AND status = 'suspended'")
            .to_string()
    );
    assert_eq!(
        numbers(after(s, "participants:")),
        [
            "",
            "AND p.status = 'passed'",
            "AND p.status = 'failed'",
            "AND p.status = 'undecided'"
        ]
        .map(|cond| env.int(&format!(
            "SELECT count(*) FROM participations p JOIN courses c ON c.id = p.course_id \
             WHERE c.code = 'GDPR-201' {cond}"
        )))
    );
    assert!(s.contains("5 members"), "no table of five members:\n{s}");
    assert_eq!(dump_but_runs(&env), before, "the tour changed the academy");
}

#[test]
fn script_monthly_report_matches_the_database_and_changes_nothing() {
    let env = Env::demo(500);
    let before = dump_but_runs(&env);
    let out = run_script(&env, "monthly-report.rhai", &[]);
    let s = &out.stdout;
    assert!(
        s.starts_with(&format!("Academy report for {TODAY}\n")),
        "{s}"
    );
    let courses = env.rows("SELECT id, code FROM courses ORDER BY code");
    assert!(!courses.is_empty());
    for course in &courses {
        let (id, code) = (&course[0], &course[1]);
        let row = s
            .lines()
            .find(|l| l.split_whitespace().next() == Some(code.as_str()))
            .unwrap_or_else(|| panic!("no row for {code}:\n{s}"));
        let figures = numbers(row.strip_prefix(code.as_str()).unwrap());
        let count = |status: &str| {
            env.int(&format!(
                "SELECT count(*) FROM participations WHERE course_id = {id} AND status = '{status}'"
            ))
        };
        let (passed, failed) = (count("passed"), count("failed"));
        let rate = if passed + failed > 0 {
            passed * 100 / (passed + failed)
        } else {
            0
        };
        assert_eq!(figures[..3], [passed, failed, count("undecided")], "{row}");
        assert_eq!(figures.last(), Some(&rate), "{row}");
    }
    let (seats, used) = {
        let row = &env.rows("SELECT seats, used FROM license_pool")[0];
        (
            row[0].parse::<i64>().unwrap(),
            row[1].parse::<i64>().unwrap(),
        )
    };
    let held_by_suspended =
        env.int("SELECT count(*) FROM members WHERE status = 'suspended' AND license = 1");
    assert_eq!(
        numbers(after(s, "license seats:")),
        [used, seats, seats - used, held_by_suspended]
    );
    assert_eq!(
        after(s, "active members without a seat:"),
        env.int("SELECT count(*) FROM members WHERE status = 'active' AND license = 0")
            .to_string()
    );
    assert_eq!(
        dump_but_runs(&env),
        before,
        "the report changed the academy"
    );
}

#[test]
fn script_nightly_cleanup_suspends_and_frees_what_it_says() {
    let env = Env::demo(500);
    let suspended = env.int("SELECT count(*) FROM members WHERE status = 'suspended'");
    let licensed = env.int("SELECT count(*) FROM members WHERE license = 1");
    let out = run_script(&env, "nightly-cleanup.rhai", &[]);
    let said = numbers_on(&out.stdout, "inactive members; released");
    let (newly_suspended, released) = (said[0], said[1]);
    assert!(newly_suspended > 0 && released > 0, "{}", out.stdout);
    assert_eq!(
        env.int("SELECT count(*) FROM members WHERE status = 'suspended'"),
        suspended + newly_suspended
    );
    assert_eq!(
        env.int("SELECT count(*) FROM members WHERE license = 1"),
        licensed - released
    );
    assert_eq!(
        after(&out.stdout, "free seats now:"),
        env.int("SELECT seats - used FROM license_pool").to_string()
    );
    assert_eq!(
        env.int("SELECT used FROM license_pool"),
        licensed - released,
        "the pool's count of used seats is off"
    );
}

#[test]
fn script_onboard_new_hires_enrols_sets_deadlines_and_invites() {
    let env = Env::demo(500);
    let participations = env.int("SELECT count(*) FROM participations");
    let outbox = env.int("SELECT count(*) FROM outbox");
    let deadline = "2026-12-21"; // 30 days after TODAY
    let with_deadline =
        format!("SELECT count(*) FROM participations WHERE deadline = '{deadline}'");
    let deadlines_before = env.int(&with_deadline);
    let out = run_script(
        &env,
        "onboard-new-hires.rhai",
        &[
            "--arg",
            "group=new-hires",
            "--arg",
            "series=onboarding",
            "--arg",
            "days=30",
        ],
    );
    let said = numbers_on(&out.stdout, "enrolments,");
    let (enrolled, deadlines, invited) = (said[0], said[1], said[2]);
    assert!(
        enrolled > 0 && deadlines > 0 && invited > 0,
        "{}",
        out.stdout
    );
    assert_eq!(
        env.int("SELECT count(*) FROM participations"),
        participations + enrolled
    );
    assert_eq!(env.int(&with_deadline), deadlines_before + deadlines);
    assert_eq!(env.int("SELECT count(*) FROM outbox"), outbox + invited);
}

#[test]
fn script_quarterly_certificates_writes_one_zip_per_course() {
    let env = Env::demo(500);
    std::fs::create_dir(env.path("certificates")).expect("make the certificates folder");
    let out = run_script(&env, "quarterly-certificates.rhai", &[]);
    let total = numbers_on(&out.stdout, "certificates exported to certificates/")[0];
    assert_eq!(
        total,
        env.int("SELECT count(*) FROM participations WHERE status = 'passed'")
    );
    let expected: Vec<String> = env
        .rows(
            "SELECT DISTINCT c.code FROM courses c JOIN participations p ON p.course_id = c.id \
             WHERE p.status = 'passed' ORDER BY c.code",
        )
        .into_iter()
        .map(|row| format!("{}-{TODAY}.zip", row[0]))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(listing(&env.path("certificates")), expected);
    let mut inside = 0;
    for name in &expected {
        let file = std::fs::File::open(env.path("certificates").join(name)).expect("open a zip");
        let zip = zip::ZipArchive::new(file).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            zip.file_names()
                .any(|f| f.is_ok_and(|f| f == "manifest.csv")),
            "{name} has no manifest.csv"
        );
        inside += zip.len() as i64 - 1;
    }
    assert_eq!(
        inside, total,
        "the ZIPs hold another number of certificates"
    );
}

#[test]
fn script_reinvite_overdue_queues_the_reminders_it_counts() {
    let env = Env::demo(500);
    let outbox = env.int("SELECT count(*) FROM outbox");
    let out = run_script(&env, "reinvite-overdue.rhai", &[]);
    let queued = numbers_on(&out.stdout, "reminders queued")[0];
    assert!(queued > 0, "{}", out.stdout);
    assert_eq!(env.int("SELECT count(*) FROM outbox"), outbox + queued);
}

#[test]
fn script_reset_class_codes_prints_a_code_per_anonymous_member() {
    let env = Env::demo(500);
    let class = "SELECT m.username, m.access_code_hash FROM members m \
                 JOIN group_members gm ON gm.member_id = m.id JOIN groups g ON g.id = gm.group_id \
                 WHERE g.name = 'new-hires' AND m.anonymous = 1 ORDER BY m.username";
    let before = env.rows(class);
    assert!(!before.is_empty(), "no anonymous member in new-hires");
    let out = run_script(
        &env,
        "reset-class-codes.rhai",
        &["--arg", "class=new-hires"],
    );
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("username,code"));
    let mut printed: Vec<(String, String)> = lines
        .map(|l| {
            let (user, code) = l
                .split_once(',')
                .unwrap_or_else(|| panic!("not username,code: {l:?}"));
            assert!(
                code.len() >= 8 && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                "not a code: {l:?}"
            );
            (user.to_string(), code.to_string())
        })
        .collect();
    printed.sort();
    let users: Vec<&str> = printed.iter().map(|(u, _)| u.as_str()).collect();
    let expected: Vec<&str> = before.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        users, expected,
        "codes for other members than the class's anonymous ones"
    );
    let after = env.rows(class);
    for (old, new) in before.iter().zip(&after) {
        assert_ne!(old[1], new[1], "the code of {} did not change", old[0]);
    }
    assert!(
        out.stderr
            .contains(&format!("{} codes reset", printed.len())),
        "{}",
        out.stderr
    );
}

#[test]
fn script_hr_sync_creates_updates_and_deletes_from_an_export() {
    let env = Env::demo(500);
    env.rollcall(&["export", "hr.csv"]).success();
    let text = std::fs::read_to_string(env.path("hr.csv")).expect("the export");
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 501, "one header and 500 members");
    // Three people left, one joined.
    let gone: Vec<String> = lines
        .drain(498..)
        .map(|l| {
            assert!(!l.contains('"'), "a quoted row to drop: {l}");
            l.split(',').next().unwrap().to_string()
        })
        .collect();
    let header = lines[0];
    let columns: Vec<&str> = header.split(',').collect();
    let newcomer: Vec<&str> = columns
        .iter()
        .map(|c| match *c {
            "username" => "new.hire1",
            "email" => "new.hire1@example.org",
            "first_name" => "New",
            "last_name" => "Hire",
            "language" => "en",
            "country" => "NL",
            "visibility" => "members",
            "roles" => "learner",
            "groups" => "new-hires",
            "anonymous" | "license" | "suspended" | "deleted" => "0",
            _ => "",
        })
        .collect();
    let newcomer = newcomer.join(",");
    lines.push(&newcomer);
    env.write("hr.csv", &(lines.join("\n") + "\n"));

    let out = run_script(
        &env,
        "hr-sync.rhai",
        &["--arg", "file=hr.csv", "--arg", "max_deletions=1000"],
    );
    assert_eq!(
        after(&out.stdout, "created"),
        "1, updated 0, deleted 3, unchanged 497",
        "the summary"
    );
    assert_eq!(env.int("SELECT count(*) FROM members"), 498);
    assert_eq!(
        env.int("SELECT count(*) FROM members WHERE username = 'new.hire1' AND country = 'NL'"),
        1
    );
    for user in &gone {
        assert_eq!(
            env.int(&format!(
                "SELECT count(*) FROM members WHERE username = '{user}'"
            )),
            0,
            "{user} is still there"
        );
    }
}

// ---------------------------------------------------------------------------
// Completions and the manual page.

#[test]
fn completions_for_bash_zsh_and_fish() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = env.rollcall(&["completions", shell]);
        out.success().no_panic();
        for word in ["rollcall", "schedule", "repl", "docs"] {
            assert!(
                out.stdout.contains(word),
                "{shell} completions do not mention {word}"
            );
        }
    }
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    let out = Env::new().rollcall(&["completions", "nosuchshell"]);
    out.code(2).no_panic();
    assert!(out.stderr.contains("nosuchshell"), "{}", out.stderr);
    assert_eq!(out.stdout, "");
}

#[test]
fn man_prints_a_roff_page() {
    let out = Env::new().rollcall(&["man"]);
    out.success().no_panic();
    let page = &out.stdout;
    assert!(
        page.starts_with(".TH") || page.contains("\n.TH "),
        "no .TH title:\n{page}"
    );
    assert!(page.contains(".SH NAME"), "no NAME section:\n{page}");
    assert!(page.contains("rollcall"), "{page}");
    assert!(
        page.contains("schedule"),
        "the subcommands are missing:\n{page}"
    );
}
