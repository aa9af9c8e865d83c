//! The `command` channel: `notify-command` run once per notice, with the
//! notice as JSON on its stdin and in `QMUX_*` variables, in a process
//! group of its own that is killed whole at the timeout.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::Notice;

/// Runs `argv` for `notice`; says why it failed, if it did. Never waits
/// longer than `timeout`, and leaves no process behind.
pub async fn run(argv: &[String], notice: &Notice, timeout: Duration) -> Result<(), String> {
    let Some((program, args)) = argv.split_first() else {
        return Err("notify-command is empty".into());
    };
    let json = serde_json::to_string(notice).map_err(|e| e.to_string())?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .env("QMUX_SESSION", &notice.session)
        .env("QMUX_AGENT", notice.agent.as_deref().unwrap_or(""))
        .env("QMUX_EVENT", notice.event.name())
        .env("QMUX_TITLE", &notice.title)
        .env("QMUX_BODY", &notice.body)
        .env("QMUX_TEXT", &notice.text)
        .env("QMUX_HOST", &notice.host)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("notify-command {program:?} was not found"),
            _ => format!("notify-command {program:?} could not start: {e}"),
        })?;
    let group = child.id().map(|pid| nix::unistd::Pid::from_raw(pid as i32));
    let mut stdin = child.stdin.take();
    let mut stderr = child.stderr.take();
    let work = async {
        if let Some(stdin) = stdin.as_mut() {
            // A program that does not read its stdin is no failure.
            let _ = stdin.write_all(json.as_bytes()).await;
            let _ = stdin.write_all(b"\n").await;
        }
        drop(stdin.take());
        let mut said = Vec::new();
        if let Some(stderr) = stderr.as_mut() {
            use tokio::io::AsyncReadExt;
            let _ = stderr.take(4096).read_to_end(&mut said).await;
        }
        (child.wait().await, said)
    };
    let outcome = tokio::time::timeout(timeout, work).await;
    // Whatever it started goes with it.
    if let Some(group) = group {
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
    }
    match outcome {
        Err(_) => Err(format!("notify-command {program:?} took longer than {} ms and was killed", timeout.as_millis())),
        Ok((Err(e), _)) => Err(format!("notify-command {program:?}: {e}")),
        Ok((Ok(status), _)) if status.success() => Ok(()),
        Ok((Ok(status), said)) => {
            let said = String::from_utf8_lossy(&said);
            let first = said.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
            let how = match status.code() {
                Some(code) => format!("exited with code {code}"),
                None => "was killed by a signal".into(),
            };
            Err(if first.is_empty() {
                format!("notify-command {program:?} {how}")
            } else {
                format!("notify-command {program:?} {how}: {}", super::clean(first))
            })
        }
    }
}
