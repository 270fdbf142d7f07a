//! The line editor's helper: completion of script functions, member fields
//! and the academy's group, course and series names; hints from history;
//! bracket highlighting; multi-line input for unfinished blocks.

use std::borrow::Cow;
use std::cell::RefCell;

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::{CmdKind, Highlighter, MatchingBracketHighlighter};
use rustyline::hint::{Hinter, HistoryHinter};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

/// Words the helper completes.
#[derive(Default)]
pub struct Words {
    /// Script functions (global and methods).
    pub functions: Vec<String>,
    /// Member and participation fields, completed after a dot.
    pub fields: Vec<String>,
    /// Group names, course codes and series codes, completed inside quotes.
    pub names: Vec<String>,
    /// The REPL's meta-commands.
    pub commands: Vec<String>,
}

pub struct ReplHelper {
    pub words: RefCell<Words>,
    /// Whether the buffer is a complete statement (compiles, or fails for a
    /// reason other than running out of input).
    pub complete: Box<dyn Fn(&str) -> bool>,
    hinter: HistoryHinter,
    brackets: MatchingBracketHighlighter,
}

impl ReplHelper {
    pub fn new(words: Words, complete: Box<dyn Fn(&str) -> bool>) -> ReplHelper {
        ReplHelper {
            words: RefCell::new(words),
            complete,
            hinter: HistoryHinter::new(),
            brackets: MatchingBracketHighlighter::new(),
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == ':'
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let words = self.words.borrow();
        let pair = |w: &String, append: &str| Pair {
            display: w.clone(),
            replacement: format!("{w}{append}"),
        };
        // Inside a string: a group, course or series name.
        if before.matches('"').count() % 2 == 1 {
            let start = before.rfind('"').map_or(0, |i| i + 1);
            let prefix = &before[start..];
            let found = words
                .names
                .iter()
                .filter(|n| n.starts_with(prefix))
                .map(|n| pair(n, ""))
                .collect();
            return Ok((start, found));
        }
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !is_word(*c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let prefix = &before[start..];
        if before.trim_start().starts_with(':') && !before.contains(' ') {
            let start = before.find(':').unwrap_or(0);
            let prefix = &before[start..];
            let found = words
                .commands
                .iter()
                .filter(|c| c.starts_with(prefix))
                .map(|c| pair(c, ""))
                .collect();
            return Ok((start, found));
        }
        let after_dot = before[..start].ends_with('.');
        // After `).` the value is a call's result, most often a set: when a
        // method fits, offer it alone (`set.usernames()`, not the field
        // `username`); `first().last_na` still gets the field.
        let after_call = before[..start].ends_with(").");
        let method_fits = words.functions.iter().any(|f| f.starts_with(prefix));
        let mut found: Vec<Pair> = Vec::new();
        if after_dot && !(after_call && method_fits) {
            found.extend(
                words
                    .fields
                    .iter()
                    .filter(|f| f.starts_with(prefix))
                    .map(|f| pair(f, "")),
            );
        }
        found.extend(
            words
                .functions
                .iter()
                .filter(|f| f.starts_with(prefix) && !prefix.is_empty())
                .map(|f| pair(f, "(")),
        );
        Ok((start, found))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<String> {
        self.hinter.hint(line, pos, ctx)
    }
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, pos: usize) -> Cow<'l, str> {
        self.brackets.highlight(line, pos)
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
    }

    fn highlight_char(&self, line: &str, pos: usize, kind: CmdKind) -> bool {
        self.brackets.highlight_char(line, pos, kind)
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if input.trim_start().starts_with(':') || (self.complete)(input) {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

impl Helper for ReplHelper {}
