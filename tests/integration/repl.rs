//! The interactive shell, driven through a real pseudo-terminal: the scope
//! that lasts the whole session, Tab completion, multi-line blocks, the y/N
//! question before destructive actions, Ctrl-C and Ctrl-D, the `:` commands,
//! error positions, the history file, and plain `rollcall` on a terminal.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use rexpect::process::WaitStatus;
use rexpect::session::{PtySession, spawn_command};

use crate::support::{BIN, Env};

/// How long one expectation may wait: debug builds on a busy CI machine.
const TIMEOUT_MS: u64 = 10_000;

/// rustyline turns bracketed paste on each time it starts reading a line and
/// off when the line is accepted: the two mark where a new prompt begins and
/// where the output of a statement starts. (Redrawing the line while typing
/// repeats the prompt text itself, so the prompt alone cannot tell.)
const READING: &str = "\x1b[?2004h";
const ACCEPTED: &str = "\x1b[?2004l";

const PROMPT: &str = "rollcall> ";
const DRY_PROMPT: &str = "rollcall (dry run)> ";

/// Removes terminal control sequences (colours, cursor moves, modes).
fn strip_ansi(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            // Parameters, then one final byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    out
}

/// Terminal text as plain text: no control sequences, `\n` line ends.
fn plain(raw: &str) -> String {
    // rexpect hands over each byte as one char: put UTF-8 back together.
    let bytes: Vec<u8> = raw.chars().map(|c| c as u32 as u8).collect();
    strip_ansi(&String::from_utf8_lossy(&bytes)).replace("\r\n", "\n")
}

/// What `raw` leaves on a blank screen, row by row: enough of a terminal
/// (carriage return, newline, cursor moves, erasing) to follow how the line
/// editor redraws the line being typed. Lines are short: no wrapping.
fn screen(raw: &str) -> Vec<String> {
    let bytes: Vec<u8> = raw.chars().map(|c| c as u32 as u8).collect();
    let text = String::from_utf8_lossy(&bytes);
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                if rows.len() <= row {
                    rows.push(Vec::new());
                }
            }
            '\x1b' => {
                if chars.peek() != Some(&'[') {
                    chars.next();
                    continue;
                }
                chars.next();
                let mut params = String::new();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        last = c;
                        break;
                    }
                    params.push(c);
                }
                let n: usize = params.parse().unwrap_or(1).max(1);
                match last {
                    'C' => col += n,
                    'D' => col = col.saturating_sub(n),
                    'A' => row = row.saturating_sub(n),
                    'B' => {
                        row += n;
                        while rows.len() <= row {
                            rows.push(Vec::new());
                        }
                    }
                    'K' => rows[row].truncate(col),
                    'J' => {
                        rows[row].truncate(col);
                        rows.truncate(row + 1);
                    }
                    _ => {}
                }
            }
            c if c.is_control() => {}
            c => {
                let line = &mut rows[row];
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    rows.into_iter().map(|r| r.into_iter().collect()).collect()
}

/// The last line of a statement's output: its value, after any action
/// report lines.
fn value(output: &str) -> &str {
    output.lines().last().unwrap_or_default()
}

/// A running `rollcall` on a pseudo-terminal.
struct Repl {
    session: PtySession,
    /// The last prompt shown, as plain text.
    prompt: String,
    /// The raw terminal text of the last line read: the echo of the typing.
    echo: String,
    /// The prompt that line was typed at.
    echo_prompt: String,
}

impl Repl {
    /// `rollcall --db t.db ARGS...` on a terminal, with its history in the
    /// test's folder; waits for the first prompt.
    fn spawn(env: &Env, args: &[&str]) -> Repl {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(env.db().parent().expect("the test folder"))
            .env_remove("ROLLCALL_DB")
            .env_remove("ROLLCALL_TODAY")
            // A terminal rustyline can drive (not "dumb").
            .env("TERM", "xterm")
            .env("ROLLCALL_HISTORY", history(env))
            .arg("--db")
            .arg(env.db())
            .args(args);
        let session = spawn_command(cmd, Some(TIMEOUT_MS)).expect("start rollcall on a pty");
        let mut repl = Repl {
            session,
            prompt: String::new(),
            echo: String::new(),
            echo_prompt: String::new(),
        };
        let banner = repl.wait_prompt();
        assert!(
            banner.contains("rollcall ") && banner.contains("members"),
            "no banner before the first prompt: {banner:?}"
        );
        repl
    }

    /// `rollcall --db t.db repl`, showing the normal prompt.
    fn start(env: &Env) -> Repl {
        let repl = Repl::spawn(env, &["repl"]);
        assert_eq!(repl.prompt, PROMPT);
        repl
    }

    /// Waits for `text` and returns (as plain text) what came before it.
    #[track_caller]
    fn expect(&mut self, text: &str) -> String {
        let before = self
            .session
            .exp_string(text)
            .unwrap_or_else(|e| panic!("waiting for {text:?}: {e}"));
        plain(&before)
    }

    /// Waits for the next prompt; returns (as plain text) the output printed
    /// since the last line was accepted.
    #[track_caller]
    fn wait_prompt(&mut self) -> String {
        let raw = self
            .session
            .exp_string(READING)
            .unwrap_or_else(|e| panic!("waiting for the next prompt: {e}"));
        let prompt = self
            .session
            .exp_string("> ")
            .unwrap_or_else(|e| panic!("waiting for the prompt text: {e}"));
        let prompt = format!("{}> ", strip_ansi(&prompt).trim_start_matches('\r'));
        self.echo_prompt = std::mem::replace(&mut self.prompt, prompt);
        let (echo, output) = raw.rsplit_once(ACCEPTED).unwrap_or(("", &raw));
        self.echo = echo.to_string();
        let output = plain(output);
        output.strip_prefix('\n').unwrap_or(&output).to_string()
    }

    /// Types `line` and Enter; returns what the statement printed (stdout
    /// and stderr, as plain text) before the next prompt.
    #[track_caller]
    fn run(&mut self, line: &str) -> String {
        self.send_line(line);
        self.wait_prompt()
    }

    #[track_caller]
    fn send_line(&mut self, line: &str) {
        self.session
            .send_line(line)
            .unwrap_or_else(|e| panic!("typing {line:?}: {e}"));
    }

    #[track_caller]
    fn send(&mut self, text: &str) {
        self.session
            .send(text)
            .unwrap_or_else(|e| panic!("typing {text:?}: {e}"));
        self.session.flush().expect("flush the typing");
    }

    #[track_caller]
    fn control(&mut self, c: char) {
        self.session
            .send_control(c)
            .unwrap_or_else(|e| panic!("sending Ctrl-{c}: {e}"));
    }

    /// The line as it was last drawn before it was accepted (plain text,
    /// without the prompt): what the typing and completion made of it.
    fn last_line(&self) -> String {
        let rows = screen(&self.echo);
        let last = rows
            .iter()
            .rev()
            .find(|r| !r.trim().is_empty())
            .cloned()
            .unwrap_or_default();
        last.chars()
            .skip(self.echo_prompt.chars().count())
            .collect::<String>()
            .trim_end()
            .to_string()
    }

    /// Waits for the process to end; its exit code.
    #[track_caller]
    fn exit_code(mut self) -> i32 {
        self.session
            .exp_eof()
            .unwrap_or_else(|e| panic!("waiting for rollcall to end: {e}"));
        match self.session.process().wait() {
            Ok(WaitStatus::Exited(_, code)) => code,
            other => panic!("rollcall did not exit normally: {other:?}"),
        }
    }

    /// `:quit`, and asserts exit code 0.
    #[track_caller]
    fn quit(mut self) {
        self.send_line(":quit");
        assert_eq!(self.exit_code(), 0, ":quit is not exit 0");
    }
}

fn history(env: &Env) -> PathBuf {
    env.path("history.txt")
}

fn members(env: &Env) -> i64 {
    env.int("SELECT count(*) FROM members")
}

fn exists(env: &Env, username: &str) -> bool {
    env.int(&format!(
        "SELECT count(*) FROM members WHERE username = '{username}'"
    )) == 1
}

/// The usernames the shell printed as an array, `["a", "b"]`.
fn usernames_in(output: &str) -> Vec<String> {
    let inner = output
        .trim()
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or_else(|| panic!("not an array: {output:?}"));
    inner
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn a_variable_and_a_function_stay_defined_for_later_lines() {
    let env = Env::demo(300);
    let nl = env.int("SELECT count(*) FROM members WHERE country = 'NL'");
    assert!(nl > 0, "the demo academy has no Dutch members");
    let mut repl = Repl::start(&env);
    assert_eq!(repl.run(r#"let nl = members().country("NL")"#), "");
    assert_eq!(repl.run("nl.count()"), format!("{nl}\n"));
    assert_eq!(repl.run("fn twice(x) { x * 2 }"), "");
    assert_eq!(repl.run("twice(21)"), "42\n");
    // Both together, two statements later.
    assert_eq!(repl.run("twice(nl.count())"), format!("{}\n", 2 * nl));
    repl.quit();
}

#[test]
fn tab_completes_usern_to_the_usernames_function() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    repl.send("members().limit(3).usern");
    repl.send("\t");
    // Fails (after the timeout) when the line never shows `usernames(`.
    repl.expect("usernames(");
    let out = repl.run(")");
    assert_eq!(repl.last_line(), "members().limit(3).usernames()");
    let expected: Vec<String> = env
        .rows("SELECT username FROM members ORDER BY id LIMIT 3")
        .into_iter()
        .map(|mut row| row.remove(0))
        .collect();
    assert_eq!(usernames_in(&out), expected);
    repl.quit();
}

#[test]
fn tab_completes_a_function_name_and_opens_its_parenthesis() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    // A global function, at the start of the line.
    repl.send("series_l");
    repl.send("\t");
    let out = repl.run(").len()");
    assert_eq!(repl.last_line(), "series_list().len()");
    assert_eq!(out, format!("{}\n", env.int("SELECT count(*) FROM series")));
    // A method, after a dot.
    repl.send("members().not_in_gr");
    repl.send("\t");
    let out = repl.run(r#""sales").count()"#);
    assert_eq!(
        repl.last_line(),
        r#"members().not_in_group("sales").count()"#
    );
    let expected = env.int(
        "SELECT count(*) FROM members WHERE id NOT IN (SELECT member_id FROM group_members \
         JOIN groups ON groups.id = group_id WHERE groups.name = 'sales')",
    );
    assert_eq!(out, format!("{expected}\n"));
    repl.quit();
}

#[test]
fn tab_completes_a_member_field_after_a_dot() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    repl.send(r#"members().where("email", "!=", "").first().last_na"#);
    repl.send("\t");
    let out = repl.run("");
    assert_eq!(
        repl.last_line(),
        r#"members().where("email", "!=", "").first().last_name"#
    );
    let expected = env.rows("SELECT last_name FROM members WHERE email != '' ORDER BY id LIMIT 1");
    assert_eq!(out.trim(), expected[0][0]);
    repl.quit();
}

#[test]
fn tab_completes_a_group_name_inside_quotes() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    repl.send(r#"group("sal"#);
    repl.send("\t");
    let out = repl.run(r#"").members().count()"#);
    assert_eq!(repl.last_line(), r#"group("sales").members().count()"#);
    let expected = env.int(
        "SELECT count(*) FROM group_members JOIN groups ON groups.id = group_id \
         WHERE groups.name = 'sales'",
    );
    assert!(expected > 0, "nobody in sales");
    assert_eq!(out, format!("{expected}\n"));
    // Course codes too.
    repl.send(r#"course("GDP"#);
    repl.send("\t");
    let out = repl.run(r#"").title"#);
    assert_eq!(repl.last_line(), r#"course("GDPR-201").title"#);
    let title = env.rows("SELECT title FROM courses WHERE code = 'GDPR-201'");
    assert_eq!(out.trim(), title[0][0]);
    // A group created in the session is completed too.
    assert!(
        repl.run(r#"create_group("zebra-crossing")"#)
            .contains("zebra-crossing")
    );
    repl.send(r#"group("zebra-cr"#);
    repl.send("\t");
    let out = repl.run(r#"").members().count()"#);
    assert_eq!(
        repl.last_line(),
        r#"group("zebra-crossing").members().count()"#
    );
    assert_eq!(out, "0\n");
    repl.quit();
}

#[test]
fn tab_completes_a_meta_command() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    repl.send(":dr");
    repl.send("\t");
    assert_eq!(repl.run(" on"), "");
    assert_eq!(repl.last_line(), ":dry on");
    assert_eq!(repl.prompt, DRY_PROMPT);
    repl.quit();
}

#[test]
fn an_unfinished_block_continues_on_the_next_line() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    repl.send_line("if true {");
    repl.send_line(r#"print("inside")"#);
    let out = repl.run("}");
    assert_eq!(out, "inside\n", "the block ran differently");
    assert_eq!(repl.prompt, PROMPT);
    // A function over several lines is defined and callable afterwards.
    repl.send_line("fn greet(name) {");
    repl.send_line("    `hello ${name}`");
    assert_eq!(repl.run("}"), "");
    assert_eq!(repl.run(r#"greet("you")"#), "hello you\n");
    repl.quit();
}

#[test]
fn a_stray_closing_parenthesis_is_reported_not_continued() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    repl.send_line("1 + 1)");
    // Fails (after the timeout) when the shell keeps reading lines.
    let out = repl.wait_prompt();
    assert!(out.starts_with("<repl>:1:6: error: "), "{out:?}");
    assert_eq!(repl.prompt, PROMPT);
    assert_eq!(repl.run("1 + 1"), "2\n");
    repl.quit();
}

#[test]
fn each_statement_is_its_own_transaction_and_run() {
    let env = Env::demo(300);
    let suspended = "SELECT count(*) FROM members WHERE status = 'suspended'";
    let before = env.int(suspended);
    let mut repl = Repl::start(&env);
    assert_eq!(repl.run("members().count()"), "300\n");
    // A statement that fails after an action is rolled back as a whole.
    let failing = r#"members().active().limit(1).suspend(); throw "boom""#;
    let out = repl.run(failing);
    assert!(out.contains("error: boom"), "{out:?}");
    assert_eq!(
        env.int(suspended),
        before,
        "the failed statement's suspend stayed"
    );
    // The next one commits on its own, while the shell is still open.
    let acting = "members().active().limit(1).suspend().changed";
    assert_eq!(value(&repl.run(acting)), "1");
    assert_eq!(env.int(suspended), before + 1);
    assert_eq!(
        env.rows(&format!(
            "SELECT outcome, changes FROM runs WHERE source = '{acting}'"
        )),
        [["success", "1"]],
        "the acting statement is not a recorded run"
    );
    assert_eq!(
        env.int("SELECT count(*) FROM runs WHERE source = 'members().count()'"),
        0,
        "a statement that only reads was recorded"
    );
    repl.quit();
}

#[test]
fn a_delete_asks_first_and_no_changes_nothing_and_yes_deletes() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    let two = usernames_in(&repl.run("members().limit(2).usernames()"));
    assert_eq!(two.len(), 2);

    repl.send_line("members().limit(2).delete()");
    let question = repl.expect("[y/N] ");
    assert!(
        question.contains("2 members") && question.contains("Go ahead?"),
        "the question does not show the count: {question:?}"
    );
    repl.send_line("n");
    let out = repl.wait_prompt();
    assert!(out.contains("nothing was changed"), "after n: {out:?}");
    assert_eq!(members(&env), 300, "answering n deleted members");
    assert!(two.iter().all(|u| exists(&env, u)));

    repl.send_line("members().limit(2).delete()");
    let question = repl.expect("[y/N] ");
    assert!(question.contains("2 members"), "{question:?}");
    repl.send_line("y");
    let out = repl.wait_prompt();
    assert!(!out.contains("error"), "after y: {out:?}");
    // Committed at the end of the statement, while the shell is still open.
    assert_eq!(members(&env), 298, "answering y did not delete 2 members");
    assert!(two.iter().all(|u| !exists(&env, u)), "{two:?} still exist");
    assert_eq!(repl.run("members().count()"), "298\n");
    repl.quit();
}

#[test]
fn an_action_over_more_than_confirm_above_asks_and_a_smaller_one_does_not() {
    let env = Env::demo(300);
    let mut repl = Repl::spawn(&env, &["--confirm-above", "5", "repl"]);
    repl.send_line(r#"members().limit(6).set_team("Owls")"#);
    let question = repl.expect("[y/N] ");
    assert!(question.contains("6 members"), "{question:?}");
    repl.send_line("no");
    assert!(repl.wait_prompt().contains("nothing was changed"));
    assert_eq!(
        env.int("SELECT count(*) FROM members WHERE team = 'Owls'"),
        0
    );

    // Five is not more than five: no question.
    let out = repl.run(r#"members().limit(5).set_team("Owls").changed"#);
    assert!(!out.contains("[y/N]"), "asked for 5 members: {out:?}");
    assert_eq!(
        env.int("SELECT count(*) FROM members WHERE team = 'Owls'"),
        5
    );
    repl.quit();
}

#[test]
fn yes_on_confirms_without_asking_and_yes_off_asks_again() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    let out = repl.run(":yes on");
    assert!(out.contains("without asking"), "{out:?}");
    let out = repl.run("members().limit(1).delete().changed");
    assert!(!out.contains("[y/N]"), "asked after :yes on: {out:?}");
    assert_eq!(value(&out), "1");
    assert_eq!(members(&env), 299);
    repl.run(":yes off");
    repl.send_line("members().limit(1).delete()");
    repl.expect("[y/N] ");
    repl.send_line("");
    assert!(repl.wait_prompt().contains("nothing was changed"));
    assert_eq!(members(&env), 299);
    repl.quit();
}

#[test]
fn ctrl_c_stops_a_running_statement_and_the_session_goes_on() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    repl.run("let kept = 40");
    repl.send_line("loop {}");
    // The line is accepted and the terminal is back in normal mode.
    repl.expect(ACCEPTED);
    std::thread::sleep(Duration::from_millis(1000));
    repl.control('c');
    let out = repl.wait_prompt();
    assert!(out.contains("interrupted"), "after Ctrl-C: {out:?}");
    assert_eq!(repl.prompt, PROMPT);
    assert_eq!(repl.run("1 + 1"), "2\n");
    assert_eq!(repl.run("kept + 2"), "42\n", "the scope was lost");
    repl.quit();
}

#[test]
fn ctrl_c_at_the_question_cancels_the_action() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    repl.send_line("members().limit(2).delete()");
    repl.expect("[y/N] ");
    std::thread::sleep(Duration::from_millis(500));
    repl.control('c');
    // Fails (after the timeout) when Ctrl-C does not end the statement.
    let out = repl.wait_prompt();
    assert!(
        out.contains("interrupted") || out.contains("nothing was changed"),
        "{out:?}"
    );
    assert_eq!(members(&env), 300, "Ctrl-C at the question deleted members");
    assert_eq!(repl.run("1 + 1"), "2\n");
    repl.quit();
}

#[test]
fn ctrl_c_while_typing_drops_the_line() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    repl.send("members().limit(1).delete(");
    repl.control('c');
    assert_eq!(repl.wait_prompt(), "");
    assert_eq!(repl.run("1 + 1"), "2\n");
    assert_eq!(members(&env), 300);
    repl.quit();
}

#[test]
fn dry_run_changes_nothing_and_shows_in_the_prompt() {
    let env = Env::demo(300);
    let before = env.dump();
    let mut repl = Repl::start(&env);
    repl.run(":dry on");
    assert_eq!(repl.prompt, DRY_PROMPT);
    assert_eq!(repl.run(":dry"), "dry run is on\n");
    let out = repl.run("members().active().limit(5).suspend().changed");
    assert_eq!(value(&out), "5", "a dry run reports what it would change");
    assert!(out.contains("[dry run]"), "{out:?}");
    // No question either: a dry run changes nothing.
    let out = repl.run("members().limit(3).delete().changed");
    assert!(!out.contains("[y/N]"), "{out:?}");
    assert_eq!(value(&out), "3");
    assert_eq!(env.dump(), before, "a dry run changed the database");

    repl.run(":dry off");
    assert_eq!(repl.prompt, PROMPT);
    let suspended = env.int("SELECT count(*) FROM members WHERE status = 'suspended'");
    let out = repl.run("members().active().limit(1).suspend().changed");
    assert_eq!(value(&out), "1");
    assert!(!out.contains("[dry run]"), "{out:?}");
    assert_eq!(
        env.int("SELECT count(*) FROM members WHERE status = 'suspended'"),
        suspended + 1,
        "after :dry off the suspend did not happen"
    );
    repl.quit();
}

#[test]
fn dry_run_flag_starts_the_shell_in_dry_run() {
    let env = Env::demo(300);
    let before = env.dump();
    let mut repl = Repl::spawn(&env, &["--dry-run", "repl"]);
    assert_eq!(repl.prompt, DRY_PROMPT);
    let out = repl.run("members().active().limit(4).suspend().changed");
    assert_eq!(value(&out), "4");
    assert!(out.contains("[dry run]"), "{out:?}");
    assert_eq!(env.dump(), before);
    repl.quit();
}

#[test]
fn help_name_shows_the_entry_with_its_example() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    let out = repl.run(":help country");
    assert!(out.contains("### `country`"), "{out}");
    assert!(out.contains("set.country(code)"), "{out}");
    assert!(out.contains("```rhai\n"), "no example: {out}");
    assert!(out.contains("members().country("), "no example: {out}");
    // The same entry as in `rollcall docs`.
    let docs = env.rollcall(&["docs"]);
    docs.success();
    let start = docs.stdout.find("### `country`").expect("country in docs");
    let end = docs.stdout[start..].find("\n### ").expect("a next entry") + start;
    assert_eq!(out.trim_end(), docs.stdout[start..end].trim_end());
    // A member property.
    let out = repl.run(":help username");
    assert!(out.starts_with("m.username"), "{out:?}");
    // A stdlib function, as module::name.
    let out = repl.run(":help reports::seats");
    assert!(out.contains("import \"reports\""), "{out}");
    // Nothing by that name.
    let out = repl.run(":help no_such_function");
    assert!(out.contains("no function or property named"), "{out}");
    repl.quit();
}

#[test]
fn help_lists_every_script_function() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    let out = repl.run(":help");
    assert!(
        out.contains(":dry on|off") && out.contains(":quit"),
        "{out}"
    );
    let list = out
        .lines()
        .find_map(|l| l.strip_prefix("Script functions: "))
        .unwrap_or_else(|| panic!("no list of functions: {out}"));
    let names: Vec<&str> = list.split(", ").collect();
    for name in crate::reference::SPEC_FUNCTIONS {
        assert!(names.contains(name), "{name} is not in :help: {list}");
    }
    repl.quit();
}

#[test]
fn an_unknown_command_is_reported_and_the_session_goes_on() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    let out = repl.run(":foo");
    assert!(out.contains("unknown command ':foo'"), "{out:?}");
    assert!(
        out.contains(":help"),
        "the known commands are not named: {out:?}"
    );
    assert_eq!(repl.run("1 + 1"), "2\n");
    repl.quit();
}

#[test]
fn a_script_error_points_at_its_column_and_the_session_goes_on() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    repl.run("let kept = 7");
    let line = r#"members().country("XX").count()"#;
    let out = repl.run(line);
    let col = line.find("country").unwrap() + 1;
    let lines: Vec<&str> = out.lines().collect();
    let head = format!("<repl>:1:{col}: error: ");
    assert!(
        lines.first().is_some_and(|l| l.starts_with(&head)),
        "expected {head:?}...: {out:?}"
    );
    assert_eq!(lines.get(1).copied(), Some(format!("1 | {line}").as_str()));
    let caret = lines.get(2).copied().unwrap_or_default();
    let at = caret
        .find('^')
        .unwrap_or_else(|| panic!("no caret: {out:?}"));
    assert!(
        lines[1][at..].starts_with("country"),
        "the caret is not under `country`: {out:?}"
    );
    // A parse error too.
    let out = repl.run("let = 5");
    assert!(out.starts_with("<repl>:1:5: error: "), "{out:?}");
    assert!(out.contains('^'), "{out:?}");
    // The session and its scope go on.
    assert_eq!(repl.run("kept * 6"), "42\n");
    repl.quit();
}

#[test]
fn history_is_saved_on_quit_and_recalled_next_time() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    repl.run("40 + 2");
    repl.run(r#"members().country("NL").count()"#);
    repl.quit();
    let saved = std::fs::read_to_string(history(&env)).expect("a history file");
    let target = r#"members().country("NL").count()"#;
    for line in ["40 + 2", target] {
        assert!(
            saved.lines().any(|l| l == line),
            "{line:?} is not in the history:\n{saved}"
        );
    }
    // The next session starts with it: Up as many times as there are
    // entries from the target on recalls the target.
    let ups = saved.lines().rev().position(|l| l == target).unwrap() + 1;
    let mut repl = Repl::start(&env);
    repl.send(&"\x1b[A".repeat(ups));
    let out = repl.run("");
    assert_eq!(repl.last_line(), target, "Up did not recall the history");
    let nl = env.int("SELECT count(*) FROM members WHERE country = 'NL'");
    assert_eq!(out, format!("{nl}\n"));
    repl.quit();
}

#[test]
fn ctrl_d_leaves_with_exit_0_and_saves_the_history() {
    let env = Env::demo(300);
    let mut repl = Repl::start(&env);
    assert_eq!(repl.run("6 * 7"), "42\n");
    repl.control('d');
    assert_eq!(repl.exit_code(), 0, "Ctrl-D is not exit 0");
    let saved = std::fs::read_to_string(history(&env)).expect("a history file");
    assert!(saved.lines().any(|l| l == "6 * 7"), "{saved}");
}

#[test]
fn plain_rollcall_on_a_terminal_starts_the_shell() {
    let env = Env::demo(300);
    let mut repl = Repl::spawn(&env, &[]);
    assert_eq!(repl.prompt, PROMPT);
    assert_eq!(repl.run("members().count()"), "300\n");
    repl.quit();
}

#[test]
fn plain_rollcall_without_a_terminal_is_a_usage_error() {
    let env = Env::demo(300);
    // The harness runs with stdin closed (null): not a terminal.
    let out = env.cmd(Vec::<&str>::new()).run();
    out.code(2).no_panic();
    assert!(
        out.stderr.contains("no command"),
        "the usage error does not say why: {}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}
