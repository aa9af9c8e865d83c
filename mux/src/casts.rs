//! Recordings of agents, and what a rule set makes of them: the path from a
//! new agent to its rule set.
//!
//! A recording is an asciicast v2 file: a header line, then one JSON array a
//! line, `[seconds, kind, data]`, where kind `o` is the program's output,
//! `i` what reached it, `r` a resize (`COLSxROWS`), and `m` a marker the
//! user typed while recording, `expect waiting`, `expect busy`, `expect
//! approval` or `expect exited`: "from here on the screen shows this state".
//!
//! `qmux agents record` makes one (record.rs), `qmux agents check` replays
//! it through a rule set on a virtual clock and reports, for each marker,
//! the state detected and how long it took (replay.rs). The built-in rule
//! sets are held to their recordings the same way (mux/tests/agent_fixtures.rs).

mod record;
mod replay;

pub use record::record;
pub use replay::{replay, Replay};

use crate::detect::State;

/// One event of a recording.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Output(String),
    Input(String),
    Resize(u16, u16),
    Expect(State),
    /// The program ended: nothing after this is judged.
    End,
}

/// A parsed recording.
#[derive(Clone, Debug)]
pub struct Cast {
    pub cols: u16,
    pub rows: u16,
    pub events: Vec<(f64, Event)>,
}

impl Cast {
    /// Reads an asciicast v2 recording; a bad line is named in the error.
    pub fn parse(text: &str) -> Result<Cast, String> {
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines.next().ok_or("the recording is empty")?;
        let header: serde_json::Value =
            serde_json::from_str(header).map_err(|e| format!("line 1: not an asciicast header: {e}"))?;
        if header["version"].as_u64() != Some(2) {
            return Err("line 1: not an asciicast v2 header (\"version\": 2)".into());
        }
        let size = |k: &str| {
            header[k]
                .as_u64()
                .and_then(|v| u16::try_from(v).ok())
                .filter(|v| *v > 0)
                .ok_or(format!("line 1: the header has no {k}"))
        };
        let (cols, rows) = (size("width")?, size("height")?);
        let mut events = Vec::new();
        for (i, line) in lines {
            let at = |what: String| format!("line {}: {what}", i + 1);
            let v: serde_json::Value = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
            let t = v[0].as_f64().filter(|t| t.is_finite() && *t >= 0.0).ok_or_else(|| at("no time".into()))?;
            let data = v[2].as_str().ok_or_else(|| at("no data".into()))?.to_string();
            let event = match v[1].as_str() {
                Some("o") => Event::Output(data),
                Some("i") => Event::Input(data),
                Some("r") => {
                    let size = data.split_once('x').and_then(|(c, r)| Some((c.parse().ok()?, r.parse().ok()?)));
                    match size {
                        Some((c, r)) if c > 0 && r > 0 => Event::Resize(c, r),
                        _ => return Err(at(format!("bad size {data:?}"))),
                    }
                }
                Some("m") => match data.strip_prefix("expect ") {
                    Some("exited") => Event::End,
                    Some("busy") => Event::Expect(State::Busy),
                    Some("waiting") => Event::Expect(State::Waiting),
                    Some("approval") => Event::Expect(State::Approval),
                    Some(state) => return Err(at(format!("unknown state {state:?}"))),
                    // Other markers (asciinema's own) are notes, not states.
                    None => continue,
                },
                other => return Err(at(format!("unknown event kind {other:?}"))),
            };
            events.push((t, event));
        }
        Ok(Cast { cols, rows, events })
    }

    /// Reads a recording from a file.
    pub fn load(path: &std::path::Path) -> Result<Cast, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Cast::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The output events' text, in order.
    pub fn outputs(&self) -> impl Iterator<Item = &str> {
        self.events.iter().filter_map(|(_, e)| match e {
            Event::Output(o) => Some(o.as_str()),
            _ => None,
        })
    }
}

/// One event as an asciicast v2 line (with its newline).
pub fn line(t: f64, kind: &str, data: &str) -> String {
    format!("{}\n", serde_json::json!([(t * 1e6).round() / 1e6, kind, data]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_reads_back_as_it_was_written() {
        let text = [
            "{\"version\": 2, \"width\": 80, \"height\": 24}\n".to_string(),
            line(0.1, "o", "hello\r\n"),
            line(0.2, "m", "expect waiting"),
            line(0.3, "i", "hi\r"),
            line(0.4, "r", "100x30"),
            line(0.5, "m", "expect busy"),
            line(0.6, "m", "a note of asciinema's"),
            line(0.7, "m", "expect exited"),
        ]
        .concat();
        let cast = Cast::parse(&text).unwrap();
        assert_eq!((cast.cols, cast.rows), (80, 24));
        let events: Vec<Event> = cast.events.into_iter().map(|(_, e)| e).collect();
        assert_eq!(
            events,
            [
                Event::Output("hello\r\n".into()),
                Event::Expect(State::Waiting),
                Event::Input("hi\r".into()),
                Event::Resize(100, 30),
                Event::Expect(State::Busy),
                Event::End,
            ]
        );
    }

    #[test]
    fn a_bad_line_is_named() {
        let head = "{\"version\": 2, \"width\": 80, \"height\": 24}\n";
        for (body, want) in [
            ("[0.1, \"x\", \"\"]", "line 2: unknown event kind"),
            ("[0.1, \"m\", \"expect sleepy\"]", "line 2: unknown state"),
            ("[0.1, \"r\", \"80\"]", "line 2: bad size"),
            ("not json", "line 2:"),
        ] {
            let err = Cast::parse(&format!("{head}{body}\n")).unwrap_err();
            assert!(err.starts_with(want), "{body}: {err}");
        }
        assert!(Cast::parse("{\"version\": 1}").unwrap_err().contains("v2"));
        assert!(Cast::parse("").is_err());
    }
}
