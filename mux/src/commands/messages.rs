//! The verbs that talk to a session's program: `send`, `approve` / `deny`,
//! `wait` and `capture`.

use super::{simple, Context};
use crate::cli::{CaptureArgs, SendArgs, WaitArgs};
use crate::error::{Error, Result};
use crate::protocol::{Request, Response, WaitFor};
use crate::rules::Choice;

pub(super) fn send(ctx: &Context, args: SendArgs) -> Result<i32> {
    let text = if args.text == ["-"] {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| Error::msg(format!("cannot read standard input: {e}")))?;
        text.strip_suffix('\n').map(str::to_string).unwrap_or(text)
    } else {
        args.text.join(" ")
    };
    let req = Request::Send {
        target: ctx.target(args.target),
        text,
        enter: !args.no_enter,
        when_waiting: args.when_waiting,
        now: args.now,
    };
    simple(ctx, req)
}

/// `qmux approve` / `qmux deny`: answered once the program took the answer.
pub(super) fn answer(ctx: &Context, target: Option<String>, choice: Choice) -> Result<i32> {
    simple(ctx, Request::Answer { target: ctx.target(target), choice, caller: ctx.caller })
}

pub(super) fn capture(ctx: &Context, args: CaptureArgs) -> Result<i32> {
    let history = match (args.history, args.start.as_deref()) {
        (Some(n), _) => n,
        (None, None) => 0,
        (None, Some("-")) => usize::MAX,
        (None, Some(start)) => match start.strip_prefix('-').and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None if start.parse::<usize>().is_ok() => 0,
            None => {
                return Err(
                    Error::msg(format!("bad start line {start:?}: use -, or -N for N rows of history")).with_code(2)
                )
            }
        },
    };
    match ctx.connect()?.request(Request::Capture { target: ctx.target(args.target), ansi: args.ansi, history })? {
        Response::Text(text) => print!("{text}"),
        _ => return Err(Error::msg("the server sent an unexpected answer to capture")),
    }
    Ok(0)
}

/// Exit codes documented in `qmux wait --help`.
const WAIT_TIMED_OUT: i32 = 3;
const WAIT_SESSION_ENDED: i32 = 4;

pub(super) fn wait(ctx: &Context, args: WaitArgs) -> Result<i32> {
    let usage = |m: &str| Error::msg(format!("{m} (see qmux wait --help)")).with_code(2);
    let until = match (args.until[0].as_str(), args.until.get(1)) {
        ("busy", None) => WaitFor::Busy,
        ("waiting", None) => WaitFor::Waiting,
        ("approval", None) => WaitFor::Approval,
        ("exited", None) => WaitFor::Exited,
        ("output", Some(re)) => WaitFor::Output(re.clone()),
        ("output", None) => return Err(usage("--until output needs a REGEX")),
        (c @ ("busy" | "waiting" | "approval" | "exited"), Some(_)) => {
            return Err(usage(&format!("--until {c} takes no REGEX")))
        }
        (other, _) => {
            return Err(usage(&format!(
                "unknown condition {other:?}: use busy, waiting, approval, exited or output REGEX"
            )))
        }
    };
    let timeout = match args.timeout {
        Some(t) if !(t > 0.0 && t.is_finite()) => return Err(usage("--timeout must be a positive number of seconds")),
        t => t.map(std::time::Duration::from_secs_f64),
    };
    let mut conn = ctx.connect()?;
    conn.set_timeout(timeout)?;
    let shown = args.target.clone().unwrap_or_else(|| "this session".into());
    let condition = match &args.until[..] {
        [output, regex] if output == "output" => format!("to show {regex:?}"),
        until => format!("to be {}", until.join(" ")),
    };
    match conn.request(Request::Wait { target: ctx.target(args.target), until }) {
        Ok(Response::SessionEnded(why)) => Err(Error::msg(why).with_code(WAIT_SESSION_ENDED)),
        Ok(_) => Ok(0),
        Err(_) if conn.timed_out() => Err(Error::msg(format!(
            "timed out after {}s waiting for {shown} {condition}",
            args.timeout.unwrap_or_default(),
        ))
        .with_code(WAIT_TIMED_OUT)),
        Err(e) => Err(e),
    }
}
