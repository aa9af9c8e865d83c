//! The manual page is generated from the CLI definition; this fails when
//! `man/qmux.1` is stale. Regenerate with `QMUX_BLESS=1 cargo test -p qmux --test manual`.

#[test]
fn manual_pages_are_current() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../man"));
    let pages = qmux::manual::pages();
    let bless = std::env::var_os("QMUX_BLESS").is_some();
    let stale = "run `QMUX_BLESS=1 cargo test -p qmux --test manual` and commit man/";
    let on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("man/")
        .filter_map(|e| Some(e.ok()?.file_name().to_str()?.to_string()))
        .filter(|n| n.ends_with(".1"))
        .collect();
    for name in &on_disk {
        if !pages.iter().any(|(n, _)| n == name) {
            assert!(bless, "man/{name} is no page qmux makes: {stale}");
            std::fs::remove_file(dir.join(name)).expect("remove a stale page");
        }
    }
    for (name, text) in &pages {
        let path = dir.join(name);
        if bless {
            std::fs::write(&path, text).expect("write a page");
        } else {
            assert!(std::fs::read(&path).unwrap_or_default() == *text, "man/{name} is stale: {stale}");
        }
    }
}

/// Every verb, key, config key and environment variable is in the pages,
/// and every page the main page names exists.
#[test]
fn the_manual_documents_everything() {
    let pages = qmux::manual::pages();
    let main = String::from_utf8_lossy(&pages[0].1).replace("\\-", "-").replace("\\*(Aq", "'").replace("\\(ga", "`");
    for section in ["TARGETS", "KEYS", "SCROLL MODE", "CONFIGURATION", "FILES", "ENVIRONMENT", "EXIT STATUS"] {
        assert!(main.contains(&format!(".SH \"{section}\"")) || main.contains(&format!(".SH {section}")), "{section}");
    }
    for k in qmux::config::KEYS.iter().chain(qmux::config::PROGRAM_KEYS) {
        assert!(main.contains(k.key), "config key {}", k.key);
    }
    for b in qmux::bindings::BINDINGS {
        assert!(main.contains(b.help), "key {}", b.shown);
    }
    // The chooser's every key, `v` among them, from the table its title
    // is made from.
    for (keys, help, _) in qmux::bindings::CHOOSER_KEYS {
        assert!(main.contains(&keys.replace('`', "")) && main.contains(help), "chooser key {keys}");
    }
    assert!(!main.contains("one session at a time"), "panes show several");
    // The prefix is the config's: C-b is named only as the default.
    let named = main.matches("C-b").count();
    let as_default = main.matches("C-b by default").count() + main.matches("default: \"C-b\"").count();
    assert_eq!(named, as_default, "C-b written as if it were always the prefix");
    for var in ["QMUX_SESSION", "QMUX_TMPDIR", "XDG_CONFIG_HOME", "XDG_STATE_HOME"] {
        assert!(main.contains(var), "{var}");
    }
    for sub in qmux::cli::Cli::command().get_subcommands().filter(|s| !s.is_hide_set()) {
        let page = format!("qmux-{}.1", sub.get_name());
        assert!(pages.iter().any(|(n, _)| *n == page), "{page}");
        assert!(main.contains(&format!("qmux-{}(1)", sub.get_name())), "the main page names {page}");
    }
}

/// The README's key table says what the bindings table says.
#[test]
fn readme_key_table_is_the_bindings_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README.md");
    let table = qmux::bindings::markdown();
    assert!(
        readme.contains(&table),
        "the README's key table differs from mux/src/bindings.rs; it should read:\n{table}"
    );
}

/// `config.example.toml` is every key at its default, and it parses.
#[test]
fn example_config_is_current_and_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config.example.toml");
    let generated = qmux::commands::example_config();
    if std::env::var_os("QMUX_BLESS").is_some() {
        std::fs::write(path, &generated).expect("write config.example.toml");
        return;
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(on_disk == generated, "config.example.toml is stale: run `QMUX_BLESS=1 cargo test -p qmux --test manual`");
    qmux::config::Config::parse(&on_disk).expect("the example parses");
    // Every documented key is one the config takes.
    for k in qmux::config::KEYS {
        let value = match k.key {
            "default-command" => "[\"sh\"]",
            "notify-command" => "[\"ntfy\", \"publish\", \"mytopic\"]",
            _ => k.default,
        };
        let text = format!("{} = {value}\n", k.key);
        assert!(qmux::config::Config::parse(&text).is_ok(), "{text}");
    }
    for k in qmux::config::PROGRAM_KEYS {
        let value = match k.key {
            "detect" => "\"quiet\"",
            "approval" => "\"x\"",
            "resume" => "[\"-r\"]",
            _ => "5",
        };
        let text = format!("[programs.x]\n{} = {value}\n", k.key);
        assert!(qmux::config::Config::parse(&text).is_ok(), "{text}");
    }
}
