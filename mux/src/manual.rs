//! The manual pages: `qmux.1` and one page per verb (`qmux-new.1`, …),
//! generated from the clap definition, the bindings table and the config
//! keys, so they cannot drift from what qmux does. A test keeps `man/`
//! current.

use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

use crate::bindings::{BINDINGS, CHOOSER_KEYS, SCROLL_KEYS, STATUS_MARKS};
use crate::config::{key_name, DEFAULT_PREFIX, KEYS, PROGRAM_KEYS};

/// Every page, as (file name, contents).
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let cmd = crate::cli::Cli::command().disable_help_subcommand(true);
    let mut pages = vec![("qmux.1".to_string(), main_page(&cmd))];
    verb_pages(&cmd, "qmux", &mut pages);
    pages
}

/// A page for each verb, and for each verb of a verb (`qmux-hooks-install`).
fn verb_pages(cmd: &clap::Command, prefix: &str, pages: &mut Vec<(String, Vec<u8>)>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{prefix}-{}", sub.get_name());
        let page = sub.clone().name(name.clone()).bin_name(name.replace('-', " "));
        let mut out = Vec::new();
        // Rendering into a Vec cannot fail.
        let _ = Man::new(page.clone()).render(&mut out);
        pages.push((format!("{name}.1"), out));
        verb_pages(&page, &name, pages);
    }
}

fn main_page(cmd: &clap::Command) -> Vec<u8> {
    let man = Man::new(cmd.clone());
    let mut out = Vec::new();
    // Rendering into a Vec cannot fail.
    for render in [
        Man::render_title,
        Man::render_name_section,
        Man::render_synopsis_section,
        Man::render_description_section,
        Man::render_options_section,
        Man::render_subcommands_section,
    ] {
        let _ = render(&man, &mut out);
    }
    let mut roff = Roff::default();
    targets(&mut roff);
    keys(&mut roff);
    configuration(&mut roff);
    files_and_environment(&mut roff);
    exit_status(&mut roff);
    let _ = roff.to_writer(&mut out);
    let _ = man.render_version_section(&mut out);
    out
}

fn entry(roff: &mut Roff, term: &str, text: &str) {
    roff.control("TP", []);
    roff.text([bold(term)]);
    roff.text([roman(text)]);
}

fn paragraph(roff: &mut Roff, text: &str) {
    roff.control("PP", []);
    roff.text([roman(text)]);
}

fn targets(roff: &mut Roff) {
    roff.control("SH", ["TARGETS"]);
    paragraph(roff, "-t TARGET names one session, as tmux reads session targets:");
    entry(
        roff,
        "2",
        "digits are an index, the number the status bar shows and the prefix then 2 shows; names of digits alone \
         are refused",
    );
    entry(roff, "=NAME", "exactly that name");
    entry(roff, "NAME", "a name, else the one session whose name starts with it");
    entry(roff, "$ID", "a session's id (what commands inside a session use for their own)");
    paragraph(
        roff,
        "Inside a session ($QMUX set), rename, capture, send, kill, wait and report act on that session when -t is \
         absent; detach detaches the client it was typed in. Names may hold spaces: quote them.",
    );
}

fn keys(roff: &mut Roff) {
    roff.control("SH", ["KEYS"]);
    paragraph(
        roff,
        &format!(
            "Keys are read after the prefix, {} by default (the prefix config key; prefix ? lists the keys with the \
             prefix in use). The prefix is never taken from inside a bracketed paste. Any other key after the \
             prefix says it is not bound.",
            key_name(DEFAULT_PREFIX)
        ),
    );
    for b in BINDINGS {
        entry(roff, if b.keys.is_empty() { "prefix" } else { b.shown }, b.help);
    }
    roff.control("SH", ["CHOOSER"]);
    paragraph(roff, "Prefix w or s lists the sessions (saved ones and other machines' too), with a live preview:");
    for (keys, help, _) in CHOOSER_KEYS {
        entry(roff, &keys.replace('`', ""), help);
    }
    roff.control("SH", ["SCROLL MODE"]);
    paragraph(
        roff,
        "Prefix [, PageUp (outside full-screen programs) or the mouse wheel open the session's history; the session \
         keeps running underneath.",
    );
    for (keys, help) in SCROLL_KEYS {
        entry(roff, &keys.replace('`', ""), help);
    }
    roff.control("SH", ["STATUS BAR"]);
    paragraph(
        roff,
        &format!(
            "Each session is INDEX:NAME with marks: {}. < and > say sessions are cut on that side; the one shown and \
             those that need you stay visible.",
            STATUS_MARKS.replace('`', "")
        ),
    );
}

fn configuration(roff: &mut Roff) {
    roff.control("SH", ["CONFIGURATION"]);
    paragraph(
        roff,
        "The config file is TOML; every key is optional. qmux config prints the one in force, with every key's \
         default; config.example.toml in the source is every key at its default. qmux reload (or prefix r) applies \
         a changed file to the running server; a broken file is reported with its line and column, and the old \
         config stays.",
    );
    for k in KEYS {
        entry(roff, k.key, &format!("{} [default: {}]", k.help, k.default));
    }
    paragraph(roff, "A [programs.NAME] table tunes the rule set NAME (qmux agents lists them):");
    for k in PROGRAM_KEYS {
        entry(roff, k.key, k.help);
    }
    paragraph(
        roff,
        "A file agents/NAME.toml beside the config replaces the built-in rule set NAME; qmux agents show NAME prints \
         one to start from.",
    );
}

fn files_and_environment(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    entry(roff, "$XDG_CONFIG_HOME/qmux/config.toml", "the config (default ~/.config/qmux/config.toml; -f FILE)");
    entry(roff, "$XDG_CONFIG_HOME/qmux/agents/NAME.toml", "your rule set for an agent");
    entry(roff, "${QMUX_TMPDIR:-${XDG_RUNTIME_DIR:-/tmp}}/qmux-UID/NAME", "the server's socket (-L NAME, -S PATH)");
    entry(
        roff,
        "$XDG_STATE_HOME/qmux/NAME/",
        "saved sessions: each one's command, history and last screen (default ~/.local/state)",
    );
    roff.control("SH", ["ENVIRONMENT"]);
    entry(roff, "QMUX", "set inside a session: the socket, the server's pid and the session's id");
    entry(roff, "QMUX_SESSION", "set inside a session: its name when it started");
    entry(roff, "TERM", "set inside a session to tmux-256color (screen-256color without that terminfo entry)");
    entry(roff, "QMUX_TMPDIR, XDG_RUNTIME_DIR", "where the socket directory is");
    entry(roff, "XDG_CONFIG_HOME, XDG_STATE_HOME, HOME", "where the config and the saved sessions are");
}

fn exit_status(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    entry(roff, "0", "success");
    entry(roff, "1", "an error, said in one line on standard error");
    entry(roff, "2", "bad arguments");
    entry(roff, "3", "qmux wait timed out");
    entry(roff, "4", "qmux wait: the session ended before the condition held");
}
