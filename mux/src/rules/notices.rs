//! What a notification quotes from an agent's screen, as its rule set's
//! `[notify]` says: where the detail of its question is (the command it
//! asks to run), and which rows near its input are its own chrome, not
//! the last line of its reply (`notify/screen.rs` reads them).

use regex::Regex;
use serde::Deserialize;

#[derive(Debug, Clone, Default)]
pub struct Notices {
    /// Finds the question's own words in the rows around the row its
    /// approval pattern matched, when that row is not the question (a
    /// spinner under it): group 1, or the whole match.
    pub question: Option<Regex>,
    /// Finds the question's detail in the rows around it (joined with
    /// newlines, so a pattern may span rows): group 1, or the whole match.
    pub detail: Option<Regex>,
    /// Rows above the input that are not the reply ("Worked for 3s" and
    /// the like are skipped for every agent).
    pub reply_skip: Vec<Regex>,
}

/// `[notify]` as written in a rule file.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct NoticesFile {
    question: Option<String>,
    detail: Option<String>,
    #[serde(default)]
    reply_skip: Vec<String>,
}

impl NoticesFile {
    /// The rules, or what is wrong with them (without a location).
    pub(super) fn build(&self) -> Result<Notices, String> {
        let regex = |p: &str, key: &str| {
            if p.is_empty() {
                return Err(format!("notify.{key} is empty: it would match every row"));
            }
            Regex::new(p).map_err(|e| format!("notify.{key} is not a valid regex: {e}"))
        };
        Ok(Notices {
            question: self.question.as_deref().map(|p| regex(p, "question")).transpose()?,
            detail: self.detail.as_deref().map(|p| regex(p, "detail")).transpose()?,
            reply_skip: self.reply_skip.iter().map(|p| regex(p, "reply-skip")).collect::<Result<_, _>>()?,
        })
    }
}
