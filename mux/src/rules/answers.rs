//! How an agent's approval question is answered: the keys of each choice,
//! as its rule set's `[answers]` names them. `qmux approve` / `deny`, the
//! chooser's `y` / `n` and prefix `y` / `N` press them, and only while the
//! question is on screen.

use regex::Regex;
use serde::Deserialize;

/// A choice in an approval question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
pub enum Choice {
    /// Yes, this once.
    Yes,
    /// Yes, and do not ask again for this (the agent's own "always").
    Always,
    /// No.
    No,
}

impl Choice {
    /// The verb, for messages: `approve`, `approve --always`, `deny`.
    pub fn verb(self) -> &'static str {
        match self {
            Choice::Yes => "approve",
            Choice::Always => "approve --always",
            Choice::No => "deny",
        }
    }
}

/// The keys that answer the question, per choice.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    pub yes: Option<Vec<u8>>,
    pub always: Option<Vec<u8>>,
    pub no: Option<Vec<u8>>,
    /// `always` is pressed only when this is on the question's screen: a
    /// menu that does not offer it would take its key as another choice
    /// (Claude Code's "2." is "No" when there is no "don't ask again").
    pub always_shown: Option<Regex>,
}

/// `[answers]` as written in a rule file.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct AnswersFile {
    yes: Option<String>,
    always: Option<String>,
    no: Option<String>,
    always_shown: Option<String>,
}

impl AnswersFile {
    /// The answers, or what is wrong with them (without a location).
    pub(super) fn build(&self) -> Result<Answers, String> {
        let keys = |k: &Option<String>, name: &str| match k.as_deref() {
            Some("") => Err(format!("answers.{name} is empty: it needs the keys that answer")),
            k => Ok(k.map(|k| k.as_bytes().to_vec())),
        };
        let always_shown = match &self.always_shown {
            None => None,
            Some(p) => Some(Regex::new(p).map_err(|e| format!("answers.always-shown is not a valid regex: {e}"))?),
        };
        Ok(Answers {
            yes: keys(&self.yes, "yes")?,
            always: keys(&self.always, "always")?,
            no: keys(&self.no, "no")?,
            always_shown,
        })
    }
}

impl Answers {
    /// The keys for `choice` on this screen, or why there are none.
    pub fn keys(&self, choice: Choice, screen_text: &str) -> Result<&[u8], String> {
        let keys = match choice {
            Choice::Yes => &self.yes,
            Choice::Always => &self.always,
            Choice::No => &self.no,
        };
        let Some(keys) = keys else {
            return Err(match choice {
                Choice::Always => "its rule set names no \"always\" answer".to_string(),
                _ => format!("its rule set names no keys to {} with ([answers] in its rule file)", choice.verb()),
            });
        };
        if choice == Choice::Always && self.always_shown.as_ref().is_some_and(|re| !re.is_match(screen_text)) {
            return Err("the question on screen offers no \"always\"".to_string());
        }
        Ok(keys)
    }

    pub fn any(&self) -> bool {
        self.yes.is_some() || self.no.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_only_when_offered() {
        let file = AnswersFile {
            yes: Some("1".into()),
            always: Some("2".into()),
            no: Some("\x1b".into()),
            always_shown: Some("don't ask again".into()),
        };
        let a = file.build().unwrap();
        assert_eq!(a.keys(Choice::Yes, "").unwrap(), b"1");
        assert_eq!(a.keys(Choice::No, "").unwrap(), b"\x1b");
        assert!(a.keys(Choice::Always, "1. Yes\n2. No").unwrap_err().contains("offers no"));
        assert_eq!(a.keys(Choice::Always, "2. Yes, and don't ask again").unwrap(), b"2");
    }

    #[test]
    fn missing_and_empty_keys_are_said() {
        let a = AnswersFile { yes: Some("y\r".into()), ..Default::default() }.build().unwrap();
        assert!(a.keys(Choice::Always, "").unwrap_err().contains("no \"always\""));
        assert!(a.keys(Choice::No, "").unwrap_err().contains("to deny"));
        let e = AnswersFile { no: Some(String::new()), ..Default::default() }.build().unwrap_err();
        assert!(e.contains("answers.no is empty"), "{e}");
    }
}
