//! Building tables and the checks that keep a built table printable.

use mpath_dm::{Args, BuildError, Features, HwHandler, PathArgs, QueueMode, Selector, Table};
use std::string::ToString;

#[test]
fn a_built_table_prints_and_parses_back() {
    let mut t = Table::new();
    assert_eq!(t.to_string(), "0 0 0 0");
    assert_eq!(
        t.push_path("8:0", PathArgs::DEFAULT),
        Err(BuildError::NoGroup)
    );
    assert_eq!(t.set_initial_group(1), Err(BuildError::GroupNumber));
    t.push_group(Selector::ServiceTime).unwrap();
    assert_eq!(t.initial_group(), 1);
    t.push_path(
        "8:0",
        PathArgs {
            repeat_count: 0,
            relative_throughput: 100,
        },
    )
    .unwrap();
    t.push_group(Selector::QueueLength).unwrap();
    t.push_path("8:16", PathArgs::default()).unwrap();
    assert_eq!(t.initial_group(), 1);
    t.set_initial_group(2).unwrap();
    assert_eq!(t.set_initial_group(0), Err(BuildError::GroupNumber));
    assert_eq!(t.set_initial_group(3), Err(BuildError::GroupNumber));
    let line = t.to_string();
    assert_eq!(
        line,
        "0 0 2 2 service-time 0 1 2 8:0 0 100 queue-length 0 1 1 8:16 1"
    );
    assert_eq!(Table::parse(&line).unwrap(), t);
    assert_eq!(t.check(), Ok(()));
    assert_eq!(t.group_paths(&t.groups()[1])[0].device, "8:16");
}

#[test]
fn names_must_be_one_word() {
    let mut t = Table::new();
    t.push_group(Selector::RoundRobin).unwrap();
    for bad in ["", "8:0 8:16", "a\tb", "\n"] {
        assert_eq!(
            t.push_path(bad, PathArgs::DEFAULT),
            Err(BuildError::NotAWord),
            "{bad:?}"
        );
    }
    t.push_path("8:0", PathArgs::DEFAULT).unwrap();
    assert_eq!(t.paths().len(), 1);
    for bad in ["", "al ua"] {
        t.hw_handler = Some(HwHandler {
            name: bad,
            args: Args::default(),
        });
        assert_eq!(t.check(), Err(BuildError::NotAWord), "{bad:?}");
    }
    t.hw_handler = Some(HwHandler {
        name: "alua",
        args: Args::default(),
    });
    assert_eq!(t.check(), Ok(()));
    // Handler arguments are not printed, so a table with them does not
    // print back to itself.
    let parsed = Table::parse("0 2 rdac x 1 1 round-robin 0 1 1 8:0 1").unwrap();
    assert_eq!(parsed.check(), Err(BuildError::NotAWord));
    let parsed = Table::parse("0 0 1 1 round-robin 1 x 1 1 8:0 1").unwrap();
    assert_eq!(parsed.check(), Err(BuildError::OutOfRange));
}

#[test]
fn arguments_and_features_must_be_in_the_kernels_range() {
    let mut t = Table::new();
    t.push_group(Selector::ServiceTime).unwrap();
    assert_eq!(
        t.push_path(
            "8:0",
            PathArgs {
                repeat_count: 2,
                relative_throughput: 1
            }
        ),
        Err(BuildError::OutOfRange)
    );
    assert_eq!(
        t.push_path(
            "8:0",
            PathArgs {
                repeat_count: 1,
                relative_throughput: 101
            }
        ),
        Err(BuildError::OutOfRange)
    );
    // A group without paths would print `#paths 0`.
    assert_eq!(t.check(), Err(BuildError::OutOfRange));
    t.push_path(
        "8:0",
        PathArgs {
            repeat_count: 1,
            relative_throughput: 100,
        },
    )
    .unwrap();
    assert_eq!(t.check(), Ok(()));
    let bad = [
        Features {
            pg_init_retries: Some(0),
            ..Features::default()
        },
        Features {
            pg_init_retries: Some(51),
            ..Features::default()
        },
        Features {
            pg_init_delay_msecs: Some(60001),
            ..Features::default()
        },
        Features {
            queue_mode: QueueMode::Bio,
            ..Features::default()
        },
    ];
    for f in bad {
        t.features = f;
        assert_eq!(t.check(), Err(BuildError::OutOfRange), "{f:?}");
    }
    let good = [
        Features {
            pg_init_retries: Some(50),
            pg_init_delay_msecs: Some(60000),
            ..Features::default()
        },
        Features {
            pg_init_retries: Some(1),
            pg_init_delay_msecs: Some(0),
            ..Features::default()
        },
        Features {
            queue_mode: QueueMode::Bio,
            retain_attached_hw_handler: true,
            ..Features::default()
        },
    ];
    for f in good {
        t.features = f;
        assert_eq!(t.check(), Ok(()), "{f:?}");
        let line = t.to_string();
        assert_eq!(Table::parse(&line).unwrap(), t);
    }
    // Bio-based tables have no handler.
    t.hw_handler = Some(HwHandler {
        name: "alua",
        args: Args::default(),
    });
    assert_eq!(t.check(), Err(BuildError::OutOfRange));
}

#[test]
fn a_table_holds_sixty_four_paths() {
    let names: Vec<String> = (0..65).map(|i| format!("8:{i}")).collect();
    let mut t = Table::new();
    for (i, n) in names.iter().enumerate() {
        if i % 2 == 0 {
            t.push_group(Selector::RoundRobin).unwrap();
        }
        let r = t.push_path(n, PathArgs::DEFAULT);
        if i < 64 {
            r.unwrap();
        } else {
            assert_eq!(r, Err(BuildError::Full));
        }
    }
    assert_eq!(t.paths().len(), 64);
    assert_eq!(t.group_count(), 33);
    assert_eq!(t.group_of(63), Some(32));
    // The 33rd group got no path.
    assert_eq!(t.group_paths(&t.groups()[32]).len(), 0);
    assert_eq!(Args::default().len(), 0);
    assert!(Args::default().is_empty());
}
