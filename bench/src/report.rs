//! Results: one [`Measurement`] per table row, the table itself, and the
//! generated part of BENCHMARKS.md.

use std::fmt::Write as _;
use std::path::Path;

use crate::subjects::Kind;
use crate::Result;

/// Which way is better for a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
    /// An observation, not a score: no ratio.
    Neither,
}

/// The goal issue 6 sets for a row.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    None,
    /// The qmux-vs-tmux ratio (oriented so that > 1 means qmux is better)
    /// is at least this.
    Ratio {
        at_least: f64,
        text: &'static str,
    },
    /// qmux's median is at most this, in the row's unit.
    AtMost {
        value: f64,
        text: &'static str,
    },
}

/// One row of the table: every run's value for every subject.
#[derive(Debug)]
pub struct Measurement {
    pub metric: String,
    pub unit: &'static str,
    pub better: Better,
    pub target: Target,
    runs: Vec<(Kind, Vec<f64>)>,
    pub notes: Vec<String>,
}

impl Measurement {
    pub fn new(metric: impl Into<String>, unit: &'static str, better: Better, target: Target) -> Measurement {
        Measurement { metric: metric.into(), unit, better, target, runs: Vec::new(), notes: Vec::new() }
    }

    /// Records one run's value for `kind`.
    pub fn push(&mut self, kind: Kind, value: f64) {
        match self.runs.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, values)) => values.push(value),
            None => self.runs.push((kind, vec![value])),
        }
    }

    /// Records that a run of `kind` failed.
    pub fn fail(&mut self, kind: Kind, error: &str) {
        let first_line = error.lines().next().unwrap_or(error);
        let note = format!("{kind}: {first_line}");
        eprintln!("  {}: {note}", self.metric);
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    pub fn values(&self, kind: Kind) -> &[f64] {
        self.runs.iter().find(|(k, _)| *k == kind).map(|(_, v)| v.as_slice()).unwrap_or(&[])
    }

    pub fn median(&self, kind: Kind) -> Option<f64> {
        median(self.values(kind))
    }

    /// qmux against tmux, oriented so that > 1 means qmux is better.
    pub fn ratio(&self) -> Option<f64> {
        let (q, t) = (self.median(Kind::Qmux)?, self.median(Kind::Tmux)?);
        let (num, den) = match self.better {
            Better::Higher => (q, t),
            Better::Lower => (t, q),
            Better::Neither => return None,
        };
        Some(match (num == 0.0, den == 0.0) {
            (true, true) => 1.0,
            (false, true) => f64::INFINITY,
            _ => num / den,
        })
    }

    /// Whether qmux meets the target; None when there is no target or no
    /// value to judge.
    pub fn met(&self) -> Option<bool> {
        match self.target {
            Target::None => None,
            Target::Ratio { at_least, .. } => self.ratio().map(|r| r >= at_least),
            Target::AtMost { value, .. } => self.median(Kind::Qmux).map(|q| q <= value),
        }
    }
}

pub fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 50.0)
}

/// The `p`th percentile by the nearest-rank method: a value that was
/// actually observed.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// A number with about three significant digits.
pub fn number(v: f64) -> String {
    if v.is_infinite() {
        return "∞".into();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn cell(m: &Measurement, kind: Kind) -> String {
    match m.median(kind) {
        Some(v) => number(v),
        None if m.notes.iter().any(|n| n.starts_with(&format!("{kind}:"))) => "failed".into(),
        None => "—".into(),
    }
}

/// The results table, in Markdown.
pub fn table(rows: &[Measurement]) -> String {
    let mut out = String::new();
    out.push_str("| metric | unit | qmux | tmux | bare | qmux vs tmux (>1 = qmux better) | target | met? |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---|---|\n");
    for m in rows {
        let ratio = m.ratio().map(|r| format!("{}×", number(r))).unwrap_or_else(|| "—".into());
        let target = match m.target {
            Target::None => "",
            Target::Ratio { text, .. } | Target::AtMost { text, .. } => text,
        };
        let met = match m.met() {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            m.metric,
            m.unit,
            cell(m, Kind::Qmux),
            cell(m, Kind::Tmux),
            cell(m, Kind::Bare),
            ratio,
            target,
            met
        );
    }
    out
}

/// Every run's value, and the notes (failures, extra observations).
pub fn details(rows: &[Measurement]) -> String {
    let mut out = String::new();
    for m in rows {
        let runs: Vec<String> = Kind::ALL
            .iter()
            .filter(|k| !m.values(**k).is_empty())
            .map(|k| format!("{k} {}", m.values(*k).iter().map(|v| number(*v)).collect::<Vec<_>>().join(", ")))
            .collect();
        if runs.is_empty() && m.notes.is_empty() {
            continue;
        }
        let _ = write!(out, "- {} ({}): {}", m.metric, m.unit, runs.join("; "));
        for note in &m.notes {
            let _ = write!(out, "\n  - {note}");
        }
        out.push('\n');
    }
    out
}

/// Where the generated results go in BENCHMARKS.md; the text around them is
/// written by hand and kept.
const BEGIN: &str = "<!-- results: generated by bench/run; everything up to the end mark is replaced -->";
const END: &str = "<!-- end of results -->";

/// Replaces the generated section of `path` with `section`, or creates the
/// file with a short header if it does not exist yet.
pub fn write_section(path: &Path, section: &str) -> Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let generated = format!("{BEGIN}\n{section}{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(start), Some(end)) if end > start => {
            format!("{}{generated}{}", &old[..start], &old[end + END.len()..])
        }
        _ if old.trim().is_empty() => format!("# Benchmarks: qmux vs tmux\n\n{generated}\n"),
        _ => format!("{}\n\n{generated}\n", old.trim_end()),
    };
    std::fs::write(path, new).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
