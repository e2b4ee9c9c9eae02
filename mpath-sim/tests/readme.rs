//! The README's figures come from the commands shown next to them: each
//! `$ cargo run --release -p mpath-sim -- ARGS` block there is run here
//! (the engine is deterministic, so a debug build prints the same), and
//! every line of the block must be in what it prints.

use std::process::Command;

#[test]
fn the_readme_tables_are_what_the_commands_print() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md beside the workspace");
    let prefix = "$ cargo run --release -p mpath-sim -- ";
    let mut checked = 0;
    let mut lines = readme.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(args) = line.strip_prefix(prefix) else {
            continue;
        };
        let mut want = Vec::new();
        while let Some(l) = lines.next_if(|l| !l.starts_with("```")) {
            want.push(l);
        }
        let out = Command::new(env!("CARGO_BIN_EXE_mpath-sim"))
            .args(args.split_whitespace())
            .arg("--no-progress")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args}: {out:?}");
        let got = String::from_utf8(out.stdout).unwrap();
        assert!(!want.is_empty(), "{args}: an empty block");
        for w in want {
            assert!(
                got.lines().any(|g| g == w),
                "README line for `{args}` not printed:\n{w}\n--- printed:\n{got}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 2, "the README shows two compare tables");
}
