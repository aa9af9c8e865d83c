//! `qmux-chat`: a stand-in for `q chat` that qmux's tests (and curious users)
//! can run anywhere, offline, with replies they can predict.

mod chat;
mod cli;
mod model;
mod store;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => return fail(&usage_error(&err)),
    };
    match cli.settings().and_then(chat::run) {
        Ok(code) => code,
        Err(message) => fail(&message),
    }
}

/// clap's error as one line: its first line without the `error: ` prefix,
/// plus where to look for help.
fn usage_error(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    format!("{first} (see qmux-chat --help)")
}

fn fail(message: &str) -> ExitCode {
    eprintln!("qmux-chat: {message}");
    ExitCode::from(2)
}
