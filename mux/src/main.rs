use clap::Parser;
use qmux::cli::Cli;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // The trampoline every session's program starts through (see pty.rs).
    if args.get(1).map(String::as_str) == Some("__exec") {
        let start = if args.get(2).map(String::as_str) == Some("--") { 3 } else { 2 };
        qmux::pty::exec_trampoline(&args[start..]);
    }
    end_quietly_when_the_reader_goes();
    // clap's own errors keep their tips and the subcommand's usage; exit 2.
    let cli = Cli::parse();
    match qmux::commands::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            if let Some(preface) = &e.preface {
                eprintln!("{preface}");
            }
            eprintln!("qmux: {e}");
            std::process::exit(e.code);
        }
    }
}

/// `qmux ls | head -1`: once the reader of our output is gone, a verb ends as
/// a Unix tool does, killed by SIGPIPE without a word. Rust ignores SIGPIPE
/// (the server must: a client may vanish mid-frame), so a write to the closed
/// pipe fails and `println!` panics instead; this hook turns that panic, from
/// any printer, into the signal. Other panics keep the default hook.
fn end_quietly_when_the_reader_goes() {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::signal::{raise, signal, SigHandler, Signal};
    use std::os::fd::AsFd;
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let stdout = std::io::stdout();
        let mut fds = [PollFd::new(stdout.as_fd(), PollFlags::POLLOUT)];
        // A pipe or socket with no reader left reports an error at once.
        let gone = poll(&mut fds, PollTimeout::ZERO).is_ok()
            && fds[0].revents().is_some_and(|r| r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP));
        if gone {
            // SAFETY: nothing else handles SIGPIPE in a client, and the
            // process ends here.
            let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
            let _ = raise(Signal::SIGPIPE);
        }
        default(info);
    }));
}
