//! The keys after the prefix: one table of key, action and help text. The
//! server's prefix handling, the `?` overlay, `qmux --help`, the manual page
//! and (checked by a test) the README all come from it.

use crate::config::key_name;

/// What a key after the prefix does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    NewSession,
    /// Asks for a name, then a new session in a git worktree of that name
    /// (as `qmux new -w NAME`).
    NewWorktree,
    /// The focused worktree session's changes (as `qmux diff`) in a pane
    /// beside it.
    Diff,
    Next,
    Previous,
    /// The session whose index is the digit pressed.
    ByIndex,
    Last,
    Choose,
    Detach,
    Kill,
    Rename,
    Scroll,
    Help,
    /// Re-read the config, as `qmux reload`.
    Reload,
    /// A new session in a new pane beside the focused one.
    SplitHorizontal,
    /// A new session in a new pane below the focused one.
    SplitVertical,
    NextPane,
    Zoom,
    NextLayout,
    /// Back to one pane: the focused one.
    BreakPane,
    SwapPrevious,
    SwapNext,
    /// Every session in one tiled view.
    TileAll,
    /// The session waiting for approval longest, else the one finished
    /// longest ago.
    Attention,
    /// Answer the focused session's approval question: yes.
    Approve,
    /// Answer the focused session's approval question: no.
    Deny,
}

/// One row of the table.
pub struct Binding {
    /// The keys and what each does; none for the prefix pressed twice,
    /// which [`crate::keys::InputState`] forwards itself.
    pub keys: &'static [(char, Action)],
    /// How the keys are written in help.
    pub shown: &'static str,
    pub help: &'static str,
}

const fn one(key: char, action: Action) -> [(char, Action); 1] {
    [(key, action)]
}

const DIGITS: [(char, Action); 10] = {
    let mut keys = [('0', Action::ByIndex); 10];
    let mut i = 0;
    while i < 10 {
        keys[i].0 = (b'0' + i as u8) as char;
        i += 1;
    }
    keys
};

pub const BINDINGS: &[Binding] = &[
    Binding { keys: &one('c', Action::NewSession), shown: "c", help: "new session in the current session's directory" },
    Binding {
        keys: &one('C', Action::NewWorktree),
        shown: "C",
        help: "new session in a git worktree of its own: asks for its name (as qmux new -w NAME)",
    },
    Binding {
        keys: &one('D', Action::Diff),
        shown: "D",
        help: "the worktree session's changes against its base (as qmux diff) in a pane beside it: PageUp or \
               prefix [ scrolls and searches, Enter closes it",
    },
    Binding {
        keys: &[('n', Action::Next), ('p', Action::Previous), (')', Action::Next), ('(', Action::Previous)],
        shown: "n / p  ) / (",
        help: "next / previous session",
    },
    Binding { keys: &DIGITS, shown: "0-9", help: "session by index" },
    Binding { keys: &one('l', Action::Last), shown: "l", help: "last (previously shown) session" },
    Binding {
        keys: &[('w', Action::Choose), ('s', Action::Choose)],
        shown: "w  s",
        help: "choose a session from a list: each with its state, and a live preview",
    },
    Binding { keys: &one('d', Action::Detach), shown: "d", help: "detach" },
    Binding { keys: &one('x', Action::Kill), shown: "x", help: "kill the current session (asks y/n)" },
    Binding {
        keys: &[(',', Action::Rename), ('$', Action::Rename)],
        shown: ",  $",
        help: "rename the current session",
    },
    Binding {
        keys: &one('[', Action::Scroll),
        shown: "[",
        help: "scroll mode: read the history (also PageUp, or the mouse wheel)",
    },
    Binding { keys: &one('?', Action::Help), shown: "?", help: "list key bindings" },
    Binding { keys: &one('r', Action::Reload), shown: "r", help: "reload the config (as qmux reload)" },
    Binding {
        keys: &[('%', Action::SplitHorizontal), ('"', Action::SplitVertical)],
        shown: "%  \"",
        help: "split the pane in two: a new session beside / below it, in this session's directory",
    },
    Binding {
        keys: &one('o', Action::NextPane),
        shown: "o",
        help: "next pane (prefix and an arrow: the pane that way; with Alt or Ctrl held: move its border 5 cells or \
               1 that way; or drag a border with the mouse)",
    },
    Binding { keys: &one('z', Action::Zoom), shown: "z", help: "zoom the pane to the whole view, and back" },
    Binding {
        keys: &one(' ', Action::NextLayout),
        shown: "Space",
        help: "next layout: even-horizontal, even-vertical, main-vertical, tiled (in place of the splits)",
    },
    Binding { keys: &one('!', Action::BreakPane), shown: "!", help: "break the pane out: the view shows it alone" },
    Binding {
        keys: &one('W', Action::TileAll),
        shown: "W",
        help: "every session tiled in this view (`qmux watch` opens with it)",
    },
    Binding {
        keys: &one('a', Action::Attention),
        shown: "a",
        help: "the session that needs you: asking for approval longest, else finished longest ago",
    },
    Binding {
        keys: &[('y', Action::Approve), ('N', Action::Deny)],
        shown: "y  N",
        help: "answer the focused session's approval question: yes / no (as qmux approve / deny)",
    },
    Binding {
        keys: &[('{', Action::SwapPrevious), ('}', Action::SwapNext)],
        shown: "{  }",
        help: "swap the pane with the previous / next one",
    },
    Binding { keys: &[], shown: "prefix", help: "send the prefix key itself to the program" },
];

/// Scroll mode's keys (see [`crate::scroll`]), for help and the README.
pub const SCROLL_KEYS: &[(&str, &str)] = &[
    ("PageUp / PageDown, ↑ / ↓ (`k` / `j`), wheel", "move (wheeling back to the bottom leaves)"),
    ("`g` / `G`", "top / bottom"),
    ("`/` and `?`", "search forward / backward (matches highlighted)"),
    ("`n` / `N`", "next / previous match"),
    ("`v`, move, `y`", "select lines and copy them to your terminal's clipboard (OSC 52)"),
    ("`q` or Esc", "leave"),
];

/// The chooser's keys (prefix `w`), for its title, help, the manual and
/// the README: each as (keys, what they do, the title's short words).
pub const CHOOSER_KEYS: &[(&str, &str, &str)] = &[
    ("↑ / ↓ (`k` / `j`)", "move", "up/down or j/k"),
    ("Enter", "show the session (a saved one is restored first)", "Enter to show"),
    ("`v`", "show it in a new pane beside the focused one", "v beside this one"),
    (
        "`w`",
        "a new session in a git worktree of the selected session's repository: asks for its name (as prefix `C`)",
        "w new worktree",
    ),
    ("`0`-`9`", "show the session of that index", "a digit picks"),
    ("Esc or `q`", "leave", "Esc to cancel"),
];

/// What the status bar's marks mean, for help and the manual.
pub const STATUS_MARKS: &str = "`*` shown here (`*Z`: in a zoomed pane), `-` shown before, `…` busy, no mark: \
     waiting at its prompt, `?` asks for approval, `[exit N]` ended, `✓` finished while you were away, `+` unseen \
     output, `!` bell or notification, `[q:N]` queued messages";

/// The chooser's keys in the short words of its title.
pub fn chooser_hint() -> String {
    CHOOSER_KEYS.iter().map(|(_, _, short)| *short).collect::<Vec<_>>().join(", ")
}

/// The action of a key pressed after the prefix.
pub fn action(key: u8) -> Option<Action> {
    let key = char::from(key);
    BINDINGS.iter().flat_map(|b| b.keys).find(|(k, _)| *k == key).map(|(_, action)| *action)
}

/// How a binding's keys are written, with the prefix's own name.
pub fn shown(binding: &Binding, prefix: &[u8]) -> String {
    if binding.keys.is_empty() {
        key_name(prefix)
    } else {
        binding.shown.to_string()
    }
}

/// The key table as text, for `--help`, the manual page and prefix `?`.
pub fn help(prefix: &[u8]) -> String {
    let mut text = format!("Keys (after the prefix, {} by default):\n", key_name(prefix));
    for b in BINDINGS {
        text.push_str(&format!("  {:<12} {}\n", shown(b, prefix), b.help));
    }
    text.push_str("\nScroll mode keys:\n");
    for (keys, help) in SCROLL_KEYS {
        text.push_str(&format!("  {:<12} {help}\n", keys.replace('`', "")));
    }
    text.push_str("\nChooser keys (prefix w):\n");
    for (keys, help, _) in CHOOSER_KEYS {
        text.push_str(&format!("  {:<12} {help}\n", keys.replace('`', "")));
    }
    text.push_str(&format!(
        "\nStatus bar: {STATUS_MARKS}.\nWhen two clients show one session, it takes the size of the smaller terminal."
    ));
    text
}

/// Scroll mode's keys as the README's Markdown table.
pub fn scroll_markdown() -> String {
    let mut text = String::from("| key | action |\n|---|---|\n");
    for (keys, help) in SCROLL_KEYS {
        text.push_str(&format!("| {keys} | {help} |\n"));
    }
    text
}

/// The key table as the README's Markdown table.
pub fn markdown() -> String {
    let mut text = String::from("| key after the prefix | action |\n|---|---|\n");
    for b in BINDINGS {
        let keys = if b.keys.is_empty() {
            "prefix again".to_string()
        } else {
            let key = |k: &str| if k == "/" { k.to_string() } else { format!("`{k}`") };
            b.shown.split_whitespace().map(key).collect::<Vec<_>>().join(" ")
        };
        text.push_str(&format!("| {keys} | {} |\n", b.help));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_one_action() {
        let mut seen = std::collections::HashSet::new();
        for (key, _) in BINDINGS.iter().flat_map(|b| b.keys) {
            assert!(seen.insert(*key), "{key:?} is bound twice");
        }
        assert_eq!(action(b'n'), Some(Action::Next));
        assert_eq!(action(b'7'), Some(Action::ByIndex));
        assert_eq!(action(b'y'), Some(Action::Approve));
        assert_eq!(action(b'K'), None);
        assert_eq!(action(0xc3), None);
    }

    #[test]
    fn help_names_the_prefix() {
        let text = help(&[0x01]);
        assert!(text.starts_with("Keys (after the prefix, C-a by default)"));
        assert!(text.contains("  C-a          send the prefix key itself"), "{text}");
        assert!(text.contains("  0-9          session by index"));
    }
}
