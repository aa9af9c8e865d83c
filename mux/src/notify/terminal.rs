//! The `terminal` channel: a notification as an escape the user's own
//! terminal turns into a desktop notification, sent to every attached
//! client ahead of its next frame.

use super::Notice;

/// The notification escape a terminal understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermKind {
    /// `OSC 9 ; text`: iTerm2, WezTerm, Ghostty, Windows Terminal, ConEmu.
    Osc9,
    /// `OSC 777 ; notify ; title ; body`: foot, urxvt, VTE terminals.
    Osc777,
    /// `OSC 99`: kitty's desktop notifications, title and body apart.
    Osc99,
    /// A bell: any terminal, the last resort.
    Bell,
}

impl TermKind {
    pub const ALL: [TermKind; 4] = [TermKind::Osc9, TermKind::Osc777, TermKind::Osc99, TermKind::Bell];

    pub fn name(self) -> &'static str {
        match self {
            TermKind::Osc9 => "osc9",
            TermKind::Osc777 => "osc777",
            TermKind::Osc99 => "osc99",
            TermKind::Bell => "bell",
        }
    }

    pub fn from_name(name: &str) -> Option<TermKind> {
        TermKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// What the terminal says it is, in the environment its client was
    /// started with: `TERM_PROGRAM`, `TERM` and the variables terminals
    /// set for their programs. One qmux cannot place gets a bell.
    pub fn detect(env: &[(String, String)]) -> TermKind {
        let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let term = var("TERM").unwrap_or("");
        let program = var("TERM_PROGRAM").unwrap_or("");
        if var("KITTY_WINDOW_ID").is_some() || term == "xterm-kitty" {
            return TermKind::Osc99;
        }
        if matches!(program, "iTerm.app" | "WezTerm" | "ghostty")
            || var("LC_TERMINAL") == Some("iTerm2")
            || var("WT_SESSION").is_some()
            || var("WEZTERM_PANE").is_some()
            || var("GHOSTTY_RESOURCES_DIR").is_some()
            || matches!(term, "xterm-ghostty" | "wezterm")
        {
            return TermKind::Osc9;
        }
        if term.starts_with("foot") || term.starts_with("rxvt-unicode") || var("VTE_VERSION").is_some() {
            return TermKind::Osc777;
        }
        TermKind::Bell
    }

    /// The bytes that show `notice` on this kind of terminal; inside tmux
    /// (`tmux` set), wrapped so tmux passes them to the terminal outside
    /// (tmux 3.3 and later want `allow-passthrough on` for that).
    pub fn escape(self, notice: &Notice, tmux: bool) -> Vec<u8> {
        let text = |s: &str| -> String { s.chars().filter(|c| !c.is_control()).collect() };
        let seq = match self {
            TermKind::Bell => return vec![0x07],
            TermKind::Osc9 => format!("\x1b]9;qmux: {}\x07", text(&notice.text)),
            // The title is a field of its own: no ';' in it.
            TermKind::Osc777 => {
                format!("\x1b]777;notify;qmux: {};{}\x07", text(&notice.title).replace(';', ","), text(&notice.body))
            }
            TermKind::Osc99 => {
                let id = notice.index;
                let mut s = format!("\x1b]99;i={id}:d=0;qmux: {}\x1b\\", text(&notice.title));
                if !notice.body.is_empty() {
                    s.push_str(&format!("\x1b]99;i={id}:p=body;{}\x1b\\", text(&notice.body)));
                }
                s
            }
        };
        if tmux {
            wrap_for_tmux(seq.as_bytes())
        } else {
            seq.into_bytes()
        }
    }
}

/// tmux's passthrough: `ESC P tmux; …ESC\`, every ESC inside doubled.
pub fn wrap_for_tmux(seq: &[u8]) -> Vec<u8> {
    let mut out = b"\x1bPtmux;".to_vec();
    for &b in seq {
        if b == 0x1b {
            out.push(0x1b);
        }
        out.push(b);
    }
    out.extend_from_slice(b"\x1b\\");
    out
}

/// Whether the client runs inside tmux.
pub fn inside_tmux(env: &[(String, String)]) -> bool {
    env.iter().any(|(k, v)| k == "TMUX" && !v.is_empty())
}
