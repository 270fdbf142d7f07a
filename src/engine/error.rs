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
    /// The process grew past the memory limit (bytes).
    Memory(usize),
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
    /// Calls the error passed through, innermost last: (what was called,
    /// the source of the called function, the call's position).
    pub trace: Vec<(String, String, Position)>,
    pub refused: bool,
}

impl ScriptError {
    pub fn from_rhai(err: &EvalAltResult) -> ScriptError {
        let mut trace = Vec::new();
        let mut current = err;
        loop {
            match current {
                EvalAltResult::ErrorInFunctionCall(name, source, inner, pos) => {
                    let name = if name.starts_with("anon$") {
                        "a closure".to_string()
                    } else {
                        name.clone()
                    };
                    trace.push((name, source.clone(), *pos));
                    current = inner;
                }
                EvalAltResult::ErrorInModule(name, inner, pos) => {
                    trace.push((format!("import \"{name}\""), name.clone(), *pos));
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
                    Stop::Memory(limit) => (
                        format!(
                            "the script used more than {} MiB of memory (an array, string or map growing \
                             without end?) and was stopped; raise the limit with --max-memory MIB, or \
                             bound sizes exactly with --max-array-size / --max-string-size / --max-map-size",
                            limit >> 20
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
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                let flag = if what.contains("tring") {
                    "--max-string-size"
                } else if what.contains("rray") {
                    "--max-array-size"
                } else {
                    "--max-map-size"
                };
                (format!("{what} grew past the size limit; raise it with {flag} N"), false)
            }
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
        // The innermost position may be in a module, whose text we do not hold
        // here: then point at the outermost call in this file, and say where
        // in the module the error is.
        let foreign = self
            .trace
            .last()
            .map(|(_, src, _)| src.as_str())
            .filter(|src| !src.is_empty() && *src != file);
        let pos = match foreign {
            Some(_) => self.trace.first().map(|t| t.2).unwrap_or(self.position),
            None => self.position,
        };
        let mut out = String::new();
        match (pos.line(), pos.position()) {
            (Some(line), col) => {
                let mut col = col.unwrap_or(1);
                if foreign.is_some()
                    && let Some(text) = source.lines().nth(line - 1)
                {
                    col = qualified_start(text, col);
                }
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
        if let (Some(module), Some(line)) = (foreign, self.position.line()) {
            let col = self.position.position().unwrap_or(1);
            out.push_str(&format!("  the error is at {module}:{line}:{col}\n"));
        }
        // Each call was made from the function before it (the first from the file).
        for (i, (name, _, at)) in self.trace.iter().enumerate().rev() {
            let caller = match i {
                0 => file,
                _ => Some(self.trace[i - 1].1.as_str())
                    .filter(|src| !src.is_empty())
                    .unwrap_or(file),
            };
            if let Some(line) = at.line() {
                out.push_str(&format!("  in {name}, called at {caller}:{line}\n"));
            }
        }
        out
    }
}

/// The column where a `module::function` path containing column `col` starts
/// (Rhai points at the function name of a qualified call).
fn qualified_start(text: &str, col: usize) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let mut start = col.saturating_sub(1).min(chars.len());
    while start >= 3 && chars[start - 1] == ':' && chars[start - 2] == ':' {
        let mut head = start - 2;
        while head > 0 && (chars[head - 1].is_alphanumeric() || chars[head - 1] == '_') {
            head -= 1;
        }
        if head == start - 2 {
            break;
        }
        start = head;
    }
    start + 1
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
