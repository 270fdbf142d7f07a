//! Errors crossing between Rust and Rhai, and how a script error is shown:
//! `file:line:col: message`, the offending line, and a caret under the spot.

use std::time::Duration;

use rhai::{Dynamic, EvalAltResult, NativeCallContext, Position};

pub type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// Why a script was stopped from outside its own logic.
#[derive(Clone, Debug)]
pub enum Stop {
    Interrupted,
    Timeout(Duration),
    /// A destructive action without confirmation: the run ends with exit code 3.
    Refused(String),
}

/// A runtime error at the script position of the current call.
pub fn fail<T>(ncx: &NativeCallContext, message: impl Into<String>) -> RhaiResult<T> {
    Err(EvalAltResult::ErrorRuntime(message.into().into(), ncx.call_position()).into())
}

/// Stops the whole run as refused for safety. Not catchable by `try`/`catch`:
/// a script must not be able to swallow a refusal and carry on.
pub fn refuse<T>(ncx: &NativeCallContext, message: impl Into<String>) -> RhaiResult<T> {
    Err(EvalAltResult::ErrorTerminated(
        Dynamic::from(Stop::Refused(message.into())),
        ncx.call_position(),
    )
    .into())
}

/// Turns any displayable error into a script error at the current call.
pub fn to_rhai<'a, E: std::fmt::Display>(
    ncx: &'a NativeCallContext<'a>,
) -> impl Fn(E) -> Box<EvalAltResult> + 'a {
    move |e| EvalAltResult::ErrorRuntime(e.to_string().into(), ncx.call_position()).into()
}

/// How a script ended badly, ready for the user.
#[derive(Debug)]
pub struct ScriptError {
    pub message: String,
    pub position: Position,
    /// Calls the error passed through, innermost last: ("fn name", call position).
    pub trace: Vec<(String, Position)>,
    pub refused: bool,
}

impl ScriptError {
    pub fn from_rhai(err: &EvalAltResult) -> ScriptError {
        let mut trace = Vec::new();
        let mut current = err;
        loop {
            match current {
                EvalAltResult::ErrorInFunctionCall(name, _, inner, pos) => {
                    trace.push((name.clone(), *pos));
                    current = inner;
                }
                EvalAltResult::ErrorInModule(name, inner, pos) => {
                    trace.push((format!("import \"{name}\""), *pos));
                    current = inner;
                }
                _ => break,
            }
        }
        let position = current.position();
        let (message, refused) = match current {
            EvalAltResult::ErrorRuntime(value, _) => (value_text(value), false),
            EvalAltResult::ErrorTerminated(value, _) => match value.read_lock::<Stop>() {
                Some(stop) => match &*stop {
                    Stop::Interrupted => ("interrupted".to_string(), false),
                    Stop::Timeout(limit) => (
                        format!(
                            "the script ran longer than {} s and was stopped; raise the limit with --timeout SECONDS",
                            limit.as_secs()
                        ),
                        false,
                    ),
                    Stop::Refused(message) => (message.clone(), true),
                },
                None => (format!("script terminated: {value}"), false),
            },
            EvalAltResult::ErrorTooManyOperations(_) => (
                "the script used too many operations and was stopped (an endless loop?); \
                 raise the limit with --max-operations N"
                    .to_string(),
                false,
            ),
            EvalAltResult::ErrorDataTooLarge(what, _) => (
                format!(
                    "{what} grew past the size limit; raise it with --max-string-size or --max-array-size"
                ),
                false,
            ),
            EvalAltResult::ErrorStackOverflow(_) => (
                "calls nested too deeply (endless recursion?); raise the limit with --max-call-depth N"
                    .to_string(),
                false,
            ),
            other => (strip_position(other), false),
        };
        ScriptError {
            message,
            position,
            trace,
            refused,
        }
    }

    /// `file:line:col: error: message`, the source line and a caret.
    pub fn render(&self, file: &str, source: &str) -> String {
        // The innermost position may be inside an imported module, whose source
        // we do not hold; then point at the outermost call in this file.
        let pos = if self.trace.iter().any(|(n, _)| n.starts_with("import")) {
            self.trace.first().map(|t| t.1).unwrap_or(self.position)
        } else {
            self.position
        };
        let mut out = String::new();
        match (pos.line(), pos.position()) {
            (Some(line), col) => {
                let col = col.unwrap_or(1);
                out.push_str(&format!("{file}:{line}:{col}: error: {}\n", self.message));
                if let Some(text) = source.lines().nth(line - 1) {
                    let gutter = line.to_string();
                    out.push_str(&format!("{gutter} | {text}\n"));
                    let pad: String = text
                        .chars()
                        .take(col.saturating_sub(1))
                        .map(|c| if c == '\t' { '\t' } else { ' ' })
                        .collect();
                    out.push_str(&format!("{} | {pad}^\n", " ".repeat(gutter.len())));
                }
            }
            _ => out.push_str(&format!("{file}: error: {}\n", self.message)),
        }
        for (name, at) in self.trace.iter().rev() {
            if let Some(line) = at.line() {
                out.push_str(&format!("  in {name}, called at {file}:{line}\n"));
            }
        }
        out
    }
}

fn value_text(value: &Dynamic) -> String {
    if value.is_string() {
        value.clone().into_string().unwrap_or_default()
    } else {
        value.to_string()
    }
}

/// Rhai's own messages end with "(line 3, position 7)"; the caret shows that already.
fn strip_position(err: &EvalAltResult) -> String {
    let text = err.to_string();
    match text.rfind(" (line ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    }
}

/// A parse error, shown the same way as a runtime error.
pub fn parse_error(err: &rhai::ParseError) -> ScriptError {
    ScriptError {
        message: strip_position(&EvalAltResult::ErrorParsing(err.0.as_ref().clone(), err.1)),
        position: err.1,
        trace: Vec::new(),
        refused: false,
    }
}
