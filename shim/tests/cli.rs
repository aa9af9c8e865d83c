//! The stand-in chat's command line, through the real binary. (Being an
//! integration test of this package also makes `cargo test --workspace`
//! build the `qmux-chat` binary, which qmux's end-to-end tests run.)

use std::process::Command;

fn chat(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qmux-chat")).args(args).output().expect("run qmux-chat")
}

#[test]
fn version_and_help_exit_zero() {
    let out = chat(&["--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
    let out = chat(&["--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--resume"));
}

#[test]
fn a_bad_flag_is_one_line_and_exit_2() {
    let out = chat(&["--think-ms", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("qmux-chat: "), "{err}");
}
