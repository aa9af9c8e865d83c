//! Teams from a file: `qmux up` starts what `.qmux.toml` names and is not
//! running, queues each first prompt, attaches with the team's panes;
//! `qmux down` ends it; a bad file is refused with its position.

use qmux_e2e::{assert_error, poll_until, Env, DEFAULT_TIMEOUT};

const TEAM: &str = r#"[team]
layout = "even-horizontal"

[[session]]
name = "plan"
command = ["qmux-chat"]
prompt = "hello planner"

[[session]]
name = "code"
command = "exec qmux-chat"
"#;

fn team_env() -> Env {
    let env = Env::new();
    std::fs::write(env.work_dir().join(".qmux.toml"), TEAM).unwrap();
    env
}

/// Each session shown in some client, by `ls --json`.
fn shown(env: &Env) -> Vec<(String, u64)> {
    let json = env.ls_json();
    json.as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["attached_clients"].as_u64().unwrap()))
        .collect()
}

#[test]
fn up_starts_only_what_is_missing_queues_each_prompt_once_and_attaches_with_the_teams_panes() {
    let env = team_env();
    let dry = env.qmux_ok(&["up", "--dry-run"]);
    assert!(dry.contains("plan: would start: qmux-chat in ") && dry.contains("its prompt queued"), "{dry}");
    assert_eq!(env.qmux_ok(&["ls", "--json"]).trim(), "[]", "a dry run starts nothing");
    env.qmux_ok(&["up", "-d"]);
    env.wait_state("plan", "waiting");
    poll_until(
        DEFAULT_TIMEOUT,
        "the planner's prompt delivered",
        || env.capture("plan").contains("You said: hello planner").then_some(()),
        || env.capture("plan"),
    );
    // Again: nothing new, no second prompt.
    env.qmux_ok(&["up", "-d"]);
    let names: Vec<String> = shown(&env).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["plan", "code"]);
    env.wait_state("plan", "waiting");
    assert_eq!(env.capture("plan").matches("You said: hello planner").count(), 1, "{}", env.capture("plan"));

    // up attaches: both sessions in panes of one client.
    let mut term = env.attach(&["up"], 120, 30);
    term.wait_for(
        |s| qmux_e2e::screen_rows(s).iter().any(|r| r.contains("You said: hello planner")),
        "the planner in a pane",
    );
    poll_until(
        DEFAULT_TIMEOUT,
        "both sessions shown",
        || (shown(&env).iter().all(|(_, c)| *c == 1)).then_some(()),
        || format!("{:?}", shown(&env)),
    );
    term.prefix(b'd');
    term.wait_exit();

    // down ends them; up brings the team and its view back.
    env.qmux_ok(&["down"]);
    poll_until(
        DEFAULT_TIMEOUT,
        "no sessions",
        || (env.qmux_ok(&["ls", "--json"]).trim() == "[]").then_some(()),
        String::new,
    );
    let mut term = env.attach(&["up"], 120, 30);
    poll_until(
        DEFAULT_TIMEOUT,
        "both sessions back, shown",
        || (shown(&env).len() == 2 && shown(&env).iter().all(|(_, c)| *c == 1)).then_some(()),
        || format!("{:?}", shown(&env)),
    );
    term.prefix(b'd');
    term.wait_exit();
}

#[test]
fn a_bad_team_file_is_refused_with_its_position_and_nothing_starts() {
    let env = Env::new();
    let out = env.qmux(&["up", "-d"]);
    assert_error(&out, &["no .qmux.toml in "]);
    let file = env.work_dir().join("team.toml");
    std::fs::write(&file, "[[session]]\nname = \"a\"\ncomand = [\"cat\"]\n").unwrap();
    let out = env.qmux(&["up", "-d", file.to_str().unwrap()]);
    assert_error(&out, &[&format!("{}:3:1: unknown field `comand`", file.display())]);
    std::fs::write(&file, "[team]\nlayout = \"spiral\"\n[[session]]\nname = \"a\"\n").unwrap();
    assert_error(&env.qmux(&["up", "-d", file.to_str().unwrap()]), &[":2:1: layout \"spiral\" is none of"]);
    assert_error(&env.qmux(&["ls"]), &["no server running"]);
}
