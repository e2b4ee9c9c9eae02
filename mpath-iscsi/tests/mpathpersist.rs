//! The `mpathpersist` example's logic against a real tgt target.

use mpath_iscsi::persist::{parse_args, run};
use mpath_iscsi::TgtTarget;

const KEY: &str = "0x6d706174680000a1";
const OTHER: &str = "0x6d706174680000b2";

fn target() -> TgtTarget {
    TgtTarget::start(3).unwrap_or_else(|e| {
        panic!("cannot start tgtd: {e} (needs tgt and libiscsi-dev: apt-get install -y tgt libiscsi-dev)")
    })
}

fn invoke(
    t: &TgtTarget,
    initiator: &str,
    key: &str,
    commands: &str,
) -> (Result<(), String>, String) {
    let mut argv: Vec<String> = Vec::new();
    for host in ["127.0.0.2", "127.0.0.3"] {
        argv.push("--portal".into());
        argv.push(t.portal(host));
    }
    argv.extend(
        [
            "--target",
            t.iqn(),
            "--lun",
            "1",
            "--initiator",
            initiator,
            "--key",
            key,
        ]
        .map(String::from),
    );
    argv.extend(commands.split_whitespace().map(String::from));
    let args = parse_args(argv).expect("arguments");
    let mut out = Vec::new();
    let r = run(&args, &mut out);
    (r, String::from_utf8(out).unwrap())
}

#[test]
fn mpathpersist_shows_every_nexus_and_runs_each_command() {
    let t = target();
    let a = "iqn.2024-01.org.mpath:persist-a";
    let (r, out) = invoke(
        &t,
        a,
        KEY,
        "status register reserve we-ro status release read-reservation",
    );
    assert_eq!(r, Ok(()), "{out}");
    let p2 = t.portal("127.0.0.2");
    let p3 = t.portal("127.0.0.3");
    // First status: nothing registered.
    assert!(
        out.contains(&format!("nexus 0 {p2}: up, not registered\n")),
        "{out}"
    );
    assert!(out.contains("keys: 0 registered\n"), "{out}");
    assert!(out.contains("reservation: none\n"), "{out}");
    // After register + reserve: both nexuses registered, one holds it.
    assert!(
        out.contains(&format!(
            "nexus 0 {p2}: up, registered, reservation holder\n"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("nexus 1 {p3}: up, registered\n")),
        "{out}"
    );
    assert!(out.contains("keys: 2 registered\n"), "{out}");
    assert!(
        out.contains(&format!("reservation: {KEY} (ours) type we-ro\n")),
        "{out}"
    );
    assert!(out.trim_end().ends_with("reservation: none"), "{out}");

    // A later invocation (new sessions) clears everything: no key left.
    let (r, out) = invoke(&t, a, KEY, "clear read-keys");
    assert_eq!(r, Ok(()), "{out}");
    assert!(out.trim_end().ends_with("keys: 0 registered"), "{out}");

    // Another host preempts us.
    let (r, out) = invoke(&t, a, KEY, "register reserve we-ro");
    assert_eq!(r, Ok(()), "{out}");
    let b = "iqn.2024-01.org.mpath:persist-b";
    let (r, out) = invoke(
        &t,
        b,
        OTHER,
        &format!("register preempt {KEY} we-ro read-reservation"),
    );
    assert_eq!(r, Ok(()), "{out}");
    assert!(
        out.contains(&format!("reservation: {OTHER} (ours) type we-ro\n")),
        "{out}"
    );
    let (r, out) = invoke(&t, b, OTHER, "clear status");
    assert_eq!(r, Ok(()), "{out}");
    assert!(out.contains("keys: 0 registered\n"), "{out}");
}

#[test]
fn mpathpersist_reports_a_portal_that_is_down() {
    let mut t = target();
    t.remove_portal("127.0.0.3").unwrap();
    let (r, out) = invoke(
        &t,
        "iqn.2024-01.org.mpath:persist-c",
        KEY,
        "register status",
    );
    assert_eq!(r, Ok(()), "{out}");
    assert!(
        out.contains("nexus 1 ") && out.contains("login failed"),
        "{out}"
    );
    assert!(
        out.contains(&format!("nexus 1 {}: down, ", t.portal("127.0.0.3"))),
        "{out}"
    );
    assert!(out.contains("keys: 1 registered\n"), "{out}");
}
