use clap::Parser;
use qmux::cli::Cli;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // The trampoline every session's program starts through (see pty.rs).
    if args.get(1).map(String::as_str) == Some("__exec") {
        let start = if args.get(2).map(String::as_str) == Some("--") { 3 } else { 2 };
        qmux::pty::exec_trampoline(&args[start..]);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // clap's usage block is several lines; users get one.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("qmux: {first} (see qmux --help)");
            std::process::exit(2);
        }
    };
    match qmux::commands::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("qmux: {e}");
            std::process::exit(e.code);
        }
    }
}
