//! The one error type users see: a single line that says what went wrong and
//! what to do. `main` prints it as `qmux: <message>` and exits non-zero.

use std::fmt;

#[derive(Debug)]
pub struct Error {
    message: String,
    /// The process exit code (1 unless a verb documents another).
    pub code: i32,
    /// Another program's own words, shown whole before ours (ssh's
    /// message when it could not connect).
    pub preface: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn msg(message: impl Into<String>) -> Self {
        Error { message: message.into(), code: 1, preface: None }
    }

    pub fn with_code(mut self, code: i32) -> Self {
        self.code = code;
        self
    }

    pub fn with_preface(mut self, preface: impl Into<String>) -> Self {
        self.preface = Some(preface.into()).filter(|p: &String| !p.is_empty());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::msg(e.to_string())
    }
}
