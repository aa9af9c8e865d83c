//! The manual page is generated from the CLI definition; this fails when
//! `man/qmux.1` is stale. Regenerate with `QMUX_BLESS=1 cargo test -p qmux --test manual`.

#[test]
fn manual_page_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../man/qmux.1");
    let generated = qmux::manual();
    if std::env::var_os("QMUX_BLESS").is_some() {
        std::fs::write(path, &generated).expect("write man/qmux.1");
        return;
    }
    let on_disk = std::fs::read(path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "man/qmux.1 is stale: run `QMUX_BLESS=1 cargo test -p qmux --test manual` and commit it"
    );
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
