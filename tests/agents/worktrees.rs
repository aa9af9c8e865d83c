//! Two real agents on worktrees of one repository, each told (through the
//! mock's tool call) to change the same file and commit: the radar marks
//! both, the first merges, the second's merge reports the conflict and
//! leaves the main checkout as it was.

use std::path::Path;
use std::process::Command;

use qmux_e2e::{poll_until, scaled};

use super::agent::Agent;
use super::world::{World, AGENT_TIMEOUT};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn radar_and_merge(agent: Agent) {
    let w = World::new(agent);
    std::fs::write(
        w.env.home().join(".gitconfig"),
        "[user]\n\tname = Tester\n\temail = t@example.com\n[init]\n\tdefaultBranch = main\n",
    )
    .unwrap();
    let repo = w.env.work_dir();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("f"), "base\n").unwrap();
    git(&repo, &["-c", "user.name=T", "-c", "user.email=t@e", "add", "f"]);
    git(&repo, &["-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "base"]);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    for (name, word) in [("a", "alpha"), ("b", "beta")] {
        let mut args = vec!["new", "-d", "-s", name, "-c"];
        let dir = repo.to_string_lossy().into_owned();
        args.push(&dir);
        args.extend(["-w", name, "--"]);
        args.extend(w.argv.iter().map(String::as_str));
        let out = w.env.qmux(&args);
        assert!(out.status.success(), "new -w {name}: {}", String::from_utf8_lossy(&out.stderr));
        w.wait(name, "waiting");
        let command = format!("printf '{word}\\n' > f && git commit -qam {word}");
        w.send(name, &[&format!("please run `{command}`")]);
        w.wait(name, "approval");
        w.answer(name, "approve");
        let wt =
            repo.parent().unwrap().join(format!("{}.worktrees/{name}", repo.file_name().unwrap().to_string_lossy()));
        poll_until(
            scaled(AGENT_TIMEOUT),
            &format!("{name}'s agent to commit in its worktree"),
            || git(&wt, &["log", "--format=%s", "-1"]).trim().eq(word).then_some(()),
            || format!("{}\n{}", w.explain(name), w.env.capture(name)),
        );
        w.wait(name, "waiting");
    }
    // The radar: each marked with the other and the file.
    for (name, other) in [("a", "1:b"), ("b", "0:a")] {
        poll_until(
            scaled(AGENT_TIMEOUT),
            &format!("{name}'s conflict with {other}"),
            || {
                let s = w.env.session_json(name)?;
                let c = s["conflicts"].as_array()?.first()?.clone();
                (c["session"] == other && c["files"] == serde_json::json!(["f"])).then_some(())
            },
            || w.env.qmux_ok(&["ls"]),
        );
    }
    let merged = w.env.qmux(&["merge", "-t", "a"]);
    assert!(merged.status.success(), "the first merges: {}", String::from_utf8_lossy(&merged.stderr));
    assert_eq!(std::fs::read_to_string(repo.join("f")).unwrap(), "alpha\n");
    let after_first = git(&repo, &["rev-parse", "HEAD"]);
    assert_ne!(after_first, head);
    let refused = w.env.qmux(&["merge", "-t", "b"]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(err.contains("conflict") && err.contains('f'), "the conflict, named: {err}");
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]), after_first, "main's HEAD as it was");
    assert_eq!(git(&repo, &["status", "--porcelain"]), "", "and its checkout clean");
}
