//! The process exit status, one place for the codes of SPEC section 2.

use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: everything worked.
    Success,
    /// 1: a script error or invalid input; nothing was changed.
    Error,
    /// 2: the command line was wrong.
    Usage,
    /// 3: refused for safety (no confirmation, a threshold exceeded); nothing was changed.
    Refused,
}

impl ExitStatus {
    pub fn code(self) -> ExitCode {
        ExitCode::from(match self {
            ExitStatus::Success => 0,
            ExitStatus::Error => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Refused => 3,
        })
    }
}

/// A command-line mistake found after parsing: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
