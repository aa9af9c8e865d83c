use clap::Parser;
use qmux::cli::Cli;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // The trampoline every session's program starts through (see pty.rs).
    if args.get(1).map(String::as_str) == Some("__exec") {
        let start = if args.get(2).map(String::as_str) == Some("--") { 3 } else { 2 };
        qmux::pty::exec_trampoline(&args[start..]);
    }
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
