//! Each agent its own checkout: `qmux new -w`, `diff`, `merge`, `worktree
//! ls|rm`, the numbers and conflict radar in `ls --json`, and what `kill`
//! leaves. Real repositories in the test's own directory, real git, the
//! real binary; the sessions run plain shell commands that change files
//! and commit, as an agent would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use qmux_e2e::{assert_error, poll_until, Env, DEFAULT_TIMEOUT};

/// Runs git in `dir` with the test's home (no user config); fails the
/// test unless it succeeds; returns its standard output.
fn git(env: &Env, dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("HOME", env.home())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A repository `repo` in the test's directory: branch main, one commit
/// with `f` holding "one". Its worktrees go to `repo.worktrees/`.
fn repo(env: &Env) -> PathBuf {
    let dir = env.root().join("repo");
    std::fs::create_dir_all(&dir).expect("mkdir repo");
    git(env, &dir, &["init", "-q", "-b", "main"]);
    git(env, &dir, &["config", "user.name", "Tester"]);
    git(env, &dir, &["config", "user.email", "tester@example.com"]);
    std::fs::write(dir.join("f"), "one\n").expect("write f");
    git(env, &dir, &["add", "f"]);
    git(env, &dir, &["commit", "-q", "-m", "init"]);
    dir
}

fn worktree_path(env: &Env, name: &str) -> PathBuf {
    env.root().join("repo.worktrees").join(name)
}

/// `qmux ARGS` run in `dir`.
fn qmux_in(env: &Env, dir: &Path, args: &[&str]) -> Output {
    let mut cmd = env.cmd(args);
    cmd.current_dir(dir);
    env.run(cmd)
}

fn ok_in(env: &Env, dir: &Path, args: &[&str]) -> (String, String) {
    let out = qmux_in(env, dir, args);
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "qmux {args:?} failed ({}):\nstdout: {stdout}\nstderr: {stderr}", out.status);
    (stdout, stderr)
}

/// A program that does what an agent would: writes `text` to `f`, commits
/// it, and stays.
fn agent_writing(text: &str) -> String {
    format!("echo {text} > f && git commit -q -am {text} && echo COMMITTED; exec sleep 1000")
}

/// Starts `qmux new -d -w NAME -- sh -c SCRIPT` in the repository.
fn start(env: &Env, repo: &Path, name: &str, script: &str) {
    let (_, stderr) = ok_in(env, repo, &["new", "-d", "-w", name, "--", "sh", "-c", script]);
    assert!(stderr.contains(&format!("on branch qmux/{name} from main")), "new -w says what it made: {stderr}");
}

/// Polls `ls --json` until session `name`'s object satisfies `pred`.
fn wait_json(env: &Env, name: &str, what: &str, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let last = std::cell::RefCell::new(serde_json::Value::Null);
    poll_until(
        DEFAULT_TIMEOUT,
        what,
        || {
            let s = env.session_json(name)?;
            *last.borrow_mut() = s.clone();
            pred(&s).then_some(s)
        },
        || format!("last object: {:#}", last.borrow()),
    )
}

fn branches(env: &Env, repo: &Path) -> Vec<String> {
    git(env, repo, &["branch", "--format=%(refname:short)"]).lines().map(String::from).collect()
}

fn worktree_count(env: &Env, repo: &Path) -> usize {
    git(env, repo, &["worktree", "list", "--porcelain"]).lines().filter(|l| l.starts_with("worktree ")).count()
}

#[test]
fn bad_worktree_requests_are_one_line_and_make_nothing() {
    let env = Env::new();
    let repo = repo(&env);
    let sleep = ["--", "sh", "-c", "exec sleep 1000"];
    let args = |more: &[&'static str]| -> Vec<&'static str> {
        let mut a = vec!["new", "-d"];
        a.extend_from_slice(more);
        a.extend_from_slice(&sleep);
        a
    };

    // Not in a repository.
    let out = qmux_in(&env, &env.work_dir(), &args(&["-w", "a"]));
    assert_error(&out, &["not in a git repository"]);

    // A branch of that name exists.
    git(&env, &repo, &["branch", "qmux/taken"]);
    assert_error(&qmux_in(&env, &repo, &args(&["-w", "taken"])), &["branch qmux/taken exists already", "--reuse"]);

    // Its place is taken.
    std::fs::create_dir_all(worktree_path(&env, "placed")).expect("mkdir");
    assert_error(&qmux_in(&env, &repo, &args(&["-w", "placed"])), &["exists already"]);

    // A base that is no commit.
    assert_error(&qmux_in(&env, &repo, &args(&["-w", "based", "--base", "no-such-ref"])), &["bad base", "no-such-ref"]);

    // A name no branch can have.
    assert_error(&qmux_in(&env, &repo, &args(&["-w", "a b"])), &["cannot name a worktree"]);

    assert_eq!(branches(&env, &repo), ["main", "qmux/taken"], "no branch was made");
    assert_eq!(worktree_count(&env, &repo), 1, "no worktree was made");
    assert!(!worktree_path(&env, "taken").exists() && !worktree_path(&env, "based").exists());
    let sessions = env.ls_json();
    assert_eq!(sessions.as_array().map(Vec::len), Some(0), "no session was made: {sessions}");
    assert!(git(&env, &repo, &["status", "--porcelain"]).is_empty(), "the main checkout is untouched");

    // --reuse starts on the branch that is there.
    ok_in(&env, &repo, &args(&["-w", "taken", "--reuse"]));
    let s = wait_json(&env, "taken", "the reused session's branch", |s| s["branch"] == "qmux/taken");
    assert_eq!(s["worktree"], worktree_path(&env, "taken").to_string_lossy().as_ref());
}

#[test]
fn includes_are_copied_and_the_setup_runs_first_or_stops_the_program() {
    let env = Env::with_config("worktree-setup = \"echo SETUP-SAYS-$(cat .env)\"\n");
    let repo = repo(&env);
    std::fs::write(repo.join(".gitignore"), ".env\nlocal/\n").expect("write");
    std::fs::write(repo.join(".worktreeinclude"), "# secrets\n.env\nlocal/*.toml\n").expect("write");
    git(&env, &repo, &["add", ".gitignore", ".worktreeinclude"]);
    git(&env, &repo, &["commit", "-q", "-m", "ignore"]);
    std::fs::write(repo.join(".env"), "hush").expect("write");
    std::fs::create_dir_all(repo.join("local")).expect("mkdir");
    std::fs::write(repo.join("local/a.toml"), "a = 1").expect("write");
    std::fs::write(repo.join("local/skip.txt"), "no").expect("write");

    start(&env, &repo, "set", "echo PROGRAM-STARTED; exec sleep 1000");
    let wt = worktree_path(&env, "set");
    assert_eq!(std::fs::read_to_string(wt.join(".env")).ok().as_deref(), Some("hush"));
    assert!(wt.join("local/a.toml").is_file() && !wt.join("local/skip.txt").exists());
    let screen = poll_until(
        DEFAULT_TIMEOUT,
        "the setup's output, then the program's",
        || {
            let screen = env.capture("set");
            screen.contains("PROGRAM-STARTED").then_some(screen)
        },
        || env.capture("set"),
    );
    let (setup, program) = (screen.find("SETUP-SAYS-hush"), screen.find("PROGRAM-STARTED"));
    assert!(setup.is_some() && setup < program, "the setup ran in the session first:\n{screen}");
    assert!(git(&env, &repo, &["status", "--porcelain"]).is_empty(), "the main checkout stays clean");

    // The repository's own setup wins, and a failing one stops the program.
    std::fs::write(repo.join(".qmux.toml"), "[worktree]\nsetup = \"echo BROKEN-SETUP; exit 3\"\n").expect("write");
    start(&env, &repo, "broken", "echo PROGRAM-STARTED; exec sleep 1000");
    let s = env.wait_state("broken", "exited");
    assert_eq!(s["exit_code"], 3, "{s}");
    let screen = env.capture("broken");
    assert!(screen.contains("BROKEN-SETUP") && screen.contains("setup failed"), "says so:\n{screen}");
    assert!(!screen.contains("PROGRAM-STARTED"), "the program did not start:\n{screen}");
}

#[test]
fn the_radar_sees_two_sessions_on_one_file_and_merge_takes_one_then_refuses_the_other() {
    let env = Env::new();
    let repo = repo(&env);
    start(&env, &repo, "a", &agent_writing("alpha"));
    start(&env, &repo, "b", &agent_writing("beta"));

    let conflicts_with = |s: &serde_json::Value, other: &str| {
        s["conflicts"].as_array().is_some_and(|c| {
            c.iter().any(|c| {
                c["session"] == other
                    && c["files"] == serde_json::json!(["f"])
                    && c["overlap"] == serde_json::json!(["f"])
            })
        })
    };
    let a = wait_json(&env, "a", "a marked as conflicting with 1:b", |s| conflicts_with(s, "1:b"));
    wait_json(&env, "b", "b marked as conflicting with 0:a", |s| conflicts_with(s, "0:a"));
    assert_eq!((a["ahead"].as_u64(), a["behind"].as_u64(), a["changed"].as_u64()), (Some(1), Some(0), Some(1)));
    assert_eq!((a["lines_added"].as_u64(), a["lines_removed"].as_u64()), (Some(1), Some(1)));
    assert_eq!(a["base"], "main");
    assert_eq!(a["repo"], repo.to_string_lossy().as_ref());
    let ls = env.ls();
    assert!(ls.contains("[qmux/a ↑1 ↓0, 1 file +1 −1] ⚠ 1:b f"), "ls shows the numbers and the radar:\n{ls}");
    let explain = env.qmux_ok(&["explain", "-t", "a"]);
    assert!(explain.contains("conflict   with 1:b in f"), "explain names the conflict:\n{explain}");

    // Review: commits and uncommitted work (a new file too) together.
    std::fs::write(worktree_path(&env, "a").join("new.txt"), "fresh\n").expect("write");
    let (diff, _) = ok_in(&env, &repo, &["diff", "-t", "a"]);
    assert!(diff.contains("+alpha") && diff.contains("-one") && diff.contains("+fresh"), "diff:\n{diff}");
    let (stat, _) = ok_in(&env, &repo, &["diff", "-t", "a", "--stat"]);
    assert!(stat.contains("2 files changed"), "diff --stat:\n{stat}");
    wait_json(&env, "a", "the new file counted", |s| s["changed"] == 2);
    let status = git(&env, &worktree_path(&env, "a"), &["status", "--porcelain"]);
    assert_eq!(status, "?? new.txt\n", "looking added nothing to the worktree's own index");

    // Refusals: uncommitted work in the worktree, a dirty main checkout,
    // a busy agent.
    env.wait_state("a", "waiting");
    env.wait_state("b", "waiting");
    assert_error(&qmux_in(&env, &repo, &["merge", "-t", "a"]), &["uncommitted changes", "new.txt"]);
    std::fs::remove_file(worktree_path(&env, "a").join("new.txt")).expect("rm");
    std::fs::write(repo.join("f"), "dirty\n").expect("write");
    assert_error(&qmux_in(&env, &repo, &["merge", "-t", "a"]), &["main checkout", "uncommitted changes"]);
    git(&env, &repo, &["checkout", "f"]);
    env.qmux_ok(&["report", "-t", "a", "--state", "busy"]);
    assert_error(&qmux_in(&env, &repo, &["merge", "-t", "a"]), &["0:a is busy"]);
    env.qmux_ok(&["report", "-t", "a", "--end"]);
    env.wait_state("a", "waiting");

    let (merged, _) = ok_in(&env, &repo, &["merge", "-t", "a"]);
    assert!(merged.contains("merged qmux/a into main"), "{merged}");
    assert_eq!(std::fs::read_to_string(repo.join("f")).ok().as_deref(), Some("alpha\n"));

    let head = git(&env, &repo, &["rev-parse", "HEAD"]);
    let out = qmux_in(&env, &repo, &["merge", "-t", "b"]);
    assert_error(&out, &["conflicts in f", "nothing was merged"]);
    assert_eq!(git(&env, &repo, &["rev-parse", "HEAD"]), head, "HEAD is where it was");
    assert!(git(&env, &repo, &["status", "--porcelain"]).is_empty(), "the main checkout is as it was");
    assert!(!repo.join(".git/MERGE_HEAD").exists(), "no merge is left half done");

    // --squash: two commits go in as one. --rebase: a branch that main
    // moved away from goes in on top of it, with no merge commit.
    let two_commits = "echo gamma > g && git add g && git commit -q -m g1 && echo more >> g && git commit -q -am g2";
    start(&env, &repo, "c", &format!("{two_commits}; exec sleep 1000"));
    start(&env, &repo, "d", "echo delta > h && git add h && git commit -q -m h; exec sleep 1000");
    wait_json(&env, "c", "c's two commits", |s| s["ahead"] == 2);
    wait_json(&env, "d", "d's commit", |s| s["ahead"] == 1);
    env.wait_state("c", "waiting");
    env.wait_state("d", "waiting");
    let (squashed, _) = ok_in(&env, &repo, &["merge", "-t", "c", "--squash"]);
    assert!(squashed.contains("squashed qmux/c into main"), "{squashed}");
    assert_eq!(git(&env, &repo, &["rev-list", "--count", &format!("{}..HEAD", head.trim())]).trim(), "1");
    wait_json(&env, "d", "d behind main", |s| s["behind"] == 1);
    let (rebased, _) = ok_in(&env, &repo, &["merge", "-t", "d", "--rebase"]);
    assert!(rebased.contains("rebased and merged qmux/d into main"), "{rebased}");
    assert_eq!(git(&env, &repo, &["rev-list", "--count", "--merges", "HEAD"]).trim(), "0", "a straight line");
    assert_eq!(std::fs::read_to_string(repo.join("h")).ok().as_deref(), Some("delta\n"));
}

#[test]
fn kill_keeps_unmerged_work_and_removes_a_merged_clean_worktree() {
    let env = Env::new();
    let repo = repo(&env);
    start(&env, &repo, "done", &agent_writing("finished"));
    start(&env, &repo, "wip", &agent_writing("unfinished"));
    wait_json(&env, "done", "done's commit", |s| s["ahead"] == 1);
    wait_json(&env, "wip", "wip's commit", |s| s["ahead"] == 1);
    env.wait_state("done", "waiting");
    ok_in(&env, &repo, &["merge", "-t", "done"]);

    let (_, said) = ok_in(&env, &repo, &["kill", "-t", "done"]);
    assert!(said.contains("removed worktree") && said.contains("merged into main"), "{said}");
    assert!(!worktree_path(&env, "done").exists());
    assert!(!branches(&env, &repo).contains(&"qmux/done".to_string()));

    let (_, said) = ok_in(&env, &repo, &["kill", "-t", "wip"]);
    assert!(said.contains("kept worktree") && said.contains("qmux worktree rm wip"), "{said}");
    assert!(worktree_path(&env, "wip").join("f").is_file());
    assert!(branches(&env, &repo).contains(&"qmux/wip".to_string()));

    let (listed, _) = ok_in(&env, &repo, &["worktree", "ls"]);
    assert!(listed.contains("wip: qmux/wip") && listed.contains("[no session]"), "{listed}");
    assert_error(&qmux_in(&env, &repo, &["worktree", "rm", "wip"]), &["not merged", "--force"]);
    assert_error(&qmux_in(&env, &repo, &["worktree", "rm", "nope"]), &["no worktree named"]);
    let (removed, _) = ok_in(&env, &repo, &["worktree", "rm", "wip", "--force"]);
    assert!(removed.contains("removed worktree"), "{removed}");
    assert!(!worktree_path(&env, "wip").exists());
    assert_eq!(branches(&env, &repo), ["main"]);
    assert_eq!(worktree_count(&env, &repo), 1);
}

#[test]
fn a_worktree_removed_under_its_session_is_reported_and_the_server_lives() {
    let env = Env::new();
    let repo = repo(&env);
    start(&env, &repo, "gone", "echo READY; exec sleep 1000");
    start(&env, &repo, "stays", "echo READY; exec sleep 1000");
    wait_json(&env, "gone", "numbers for gone", |s| s["changed"] == 0);
    let server = env.server_pid();

    std::fs::remove_dir_all(worktree_path(&env, "gone")).expect("rm -rf the worktree");
    let s = wait_json(&env, "gone", "the missing worktree reported", |s| {
        s["worktree_error"].as_str().is_some_and(|e| e.contains("is gone"))
    });
    assert!(s["changed"].is_null(), "{s}");
    assert!(env.ls().contains("is gone"), "ls says so");
    let out = qmux_in(&env, &repo, &["diff", "-t", "gone"]);
    assert_error(&out, &["is gone"]);

    let (_, said) = ok_in(&env, &repo, &["kill", "-t", "gone"]);
    assert!(said.contains("was gone already"), "{said}");
    assert_eq!(env.server_pid(), server, "the same server runs on");
    wait_json(&env, "stays", "the other session still surveyed", |s| s["changed"] == 0);
}

#[test]
fn restore_brings_a_session_back_in_its_worktree() {
    let env = Env::new();
    let repo = repo(&env);
    start(&env, &repo, "back", "exec sleep 1000");
    wait_json(&env, "back", "numbers for back", |s| s["changed"] == 0);
    let server = env.server_pid();
    env.qmux_ok(&["kill-server"]);
    poll_until(
        DEFAULT_TIMEOUT,
        "the server to end",
        || env.server_pids().iter().all(|&p| p != server).then_some(()),
        String::new,
    );

    let (listed, _) = ok_in(&env, &repo, &["worktree", "ls"]);
    assert!(listed.contains("back: qmux/back") && listed.contains("saved session 0:back"), "{listed}");
    // And from a server that runs (the saved list comes over the socket).
    env.start_detached("plain", &["sleep", "1000"]);
    let (listed, _) = ok_in(&env, &repo, &["worktree", "ls"]);
    assert!(listed.contains("saved session 0:back"), "{listed}");
    env.qmux_ok(&["restore"]);
    let s = wait_json(&env, "back", "the restored session's worktree", |s| s["branch"] == "qmux/back");
    let wt = worktree_path(&env, "back");
    assert_eq!(s["worktree"], wt.to_string_lossy().as_ref());
    assert_eq!(s["cwd"], wt.to_string_lossy().as_ref());
}

#[test]
fn the_status_bar_marks_a_conflict_and_prefix_shift_c_makes_a_worktree_session() {
    let env = Env::with_config("default-command = [\"cat\"]\n");
    let repo = repo(&env);
    start(&env, &repo, "a", &agent_writing("alpha"));
    start(&env, &repo, "b", &agent_writing("beta"));
    wait_json(&env, "a", "a's conflict", |s| s["conflicts"].as_array().is_some_and(|c| !c.is_empty()));

    let mut term = env.attach(&["attach", "-t", "a"], 100, 30);
    term.wait_status(|s| s.contains("⚠ 1:b f"), "the conflict mark in a's status bar");

    term.prefix(b'C');
    term.wait_status(|s| s.contains("new session in worktree"), "prefix C's question");
    term.type_str("side\r");
    let s = wait_json(&env, "side", "the session prefix C made", |s| s["branch"] == "qmux/side");
    assert_eq!(s["base"], "main");
    assert_eq!(s["worktree"], worktree_path(&env, "side").to_string_lossy().as_ref());
    term.wait_marker("side", "*");
    assert_eq!(branches(&env, &repo), ["main", "qmux/a", "qmux/b", "qmux/side"]);
    // The chooser's w does the same from the selected session's repository.
    term.prefix(b's');
    term.wait_for(|s| qmux_e2e::screen_rows(s).iter().any(|r| r.contains("w new worktree")), "the chooser");
    term.type_str("w");
    term.wait_status(|s| s.contains("new session in worktree"), "the chooser's w asks for a name");
    term.type_str("picked\r");
    wait_json(&env, "picked", "the session the chooser's w made", |s| s["branch"] == "qmux/picked");
}

#[test]
fn prefix_x_on_the_last_session_still_removes_its_merged_worktree() {
    let env = Env::new();
    let repo = repo(&env);
    start(&env, &repo, "solo", "exec sleep 1000");
    let mut term = env.attach(&["attach", "-t", "solo"], 100, 30);
    term.wait_marker("solo", "*");
    term.prefix(b'x');
    term.wait_status(|s| s.contains("kill 0:solo?"), "the kill question");
    term.type_str("y");
    // Nothing was done in it: clean and merged, so it goes, though the
    // server goes too (its last session).
    poll_until(
        DEFAULT_TIMEOUT,
        "the worktree and branch removed",
        || (!worktree_path(&env, "solo").exists() && branches(&env, &repo) == ["main"]).then_some(()),
        || format!("branches {:?}, worktrees {}", branches(&env, &repo), worktree_count(&env, &repo)),
    );
    assert_eq!(worktree_count(&env, &repo), 1);
}

#[test]
fn prefix_shift_d_shows_the_diff_beside_the_session_and_headers_and_the_chooser_say_the_branch() {
    let env = Env::new();
    let repo = repo(&env);
    start(&env, &repo, "a", &agent_writing("alpha"));
    wait_json(&env, "a", "a's commit counted", |s| s["ahead"] == 1);
    let mut term = env.attach(&["attach", "-t", "a"], 120, 30);
    term.wait_marker("a", "*");
    term.prefix(b'D');
    term.wait_for(
        |s| {
            let rows = qmux_e2e::screen_rows(s);
            rows.iter().any(|r| r.contains("+alpha")) && rows.iter().any(|r| r.contains("diff --git a/f b/f"))
        },
        "the diff in a pane beside the session",
    );
    // The pane headers: the worktree session's branch and numbers.
    term.wait_for(
        |s| qmux_e2e::screen_rows(s).iter().any(|r| r.contains("0:a [qmux/a ↑1 ↓0, 1 file +1 −1]")),
        "a's header with its branch",
    );
    // A session with no worktree says why there is nothing to show.
    term.prefix(b'D');
    term.wait_status(|s| s.contains("has no worktree to diff"), "prefix D on the diff pane itself");
    // The chooser: a's row with its branch; sessions on worktrees of one
    // repository together, after the others (the diff pane has none).
    term.prefix(b's');
    term.wait_for(
        |s| {
            let rows = qmux_e2e::screen_rows(s);
            let at = |p: &str| rows.iter().position(|r| r.contains(p));
            let a = rows.iter().position(|r| r.contains("0:a") && r.contains("[qmux/a ↑1 ↓0, 1 file +1 −1]"));
            a.is_some() && at("1:diff-a") < a
        },
        "the chooser's row for a, with its branch, after the session with no worktree",
    );
}

#[test]
fn an_upgrade_keeps_a_worktree_session_on_its_worktree() {
    let env = Env::new();
    let repo = repo(&env);
    start(&env, &repo, "a", &agent_writing("alpha"));
    let before = wait_json(&env, "a", "a's commit counted", |s| s["ahead"] == 1);
    let said = env.qmux_ok(&["upgrade"]);
    assert!(said.contains("handed 1 session(s) to the new server"), "{said}");
    // The new server knows the worktree: its numbers, and the kill that
    // keeps unmerged work.
    let after = wait_json(&env, "a", "a's numbers after the upgrade", |s| s["ahead"] == 1);
    assert_eq!((after["pid"].clone(), after["worktree"].clone()), (before["pid"].clone(), before["worktree"].clone()));
    assert_eq!(after["branch"], "qmux/a");
    let (out, err) = ok_in(&env, &repo, &["kill", "-t", "a"]);
    assert!(format!("{out}{err}").contains("kept worktree "), "the kill says the worktree is kept: {out}{err}");
    assert!(worktree_path(&env, "a").is_dir(), "unmerged work is kept");
}
