//! Property tests: emit then parse is the identity on generated tables;
//! parse never panics on arbitrary word sequences, and whatever parses
//! is stable under parse-emit-parse.

use mpath_dm::{Features, HwHandler, PathArgs, QueueMode, Selector, Table};
use proptest::prelude::*;

const DEVICES: [&str; 8] = [
    "8:0", "8:16", "8:32", "65:0", "/dev/sdb", "259:3", "7:1", "253:12",
];

/// A generated path: device index, repeat_count, relative throughput.
type PlanPath = (usize, u32, u8);

#[derive(Debug, Clone)]
struct Plan {
    features: Features,
    handler: Option<&'static str>,
    groups: Vec<(Selector, Vec<PlanPath>)>,
    initial: u16,
}

fn plan() -> impl Strategy<Value = Plan> {
    let features = (
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(1u8..=50),
        proptest::option::of(0u16..=60000),
        any::<bool>(),
    );
    let group = (
        proptest::sample::select(Selector::ALL.to_vec()),
        proptest::collection::vec((0usize..8, 0u32..=1, 0u8..=100), 1..5),
    );
    (
        features,
        proptest::option::of(proptest::sample::select(vec![
            "alua", "emc", "rdac", "hp_sw",
        ])),
        proptest::collection::vec(group, 0..6),
        any::<u16>(),
    )
        .prop_map(
            |((q, retain, retries, delay, bio), handler, groups, initial)| {
                let features = Features {
                    queue_if_no_path: q,
                    retain_attached_hw_handler: retain || bio,
                    pg_init_retries: retries,
                    pg_init_delay_msecs: delay,
                    queue_mode: if bio {
                        QueueMode::Bio
                    } else {
                        QueueMode::Request
                    },
                };
                Plan {
                    features,
                    handler: if bio { None } else { handler },
                    groups,
                    initial,
                }
            },
        )
}

fn build(p: &Plan) -> Table<'static> {
    let mut t = Table::new();
    t.features = p.features;
    t.hw_handler = p.handler.map(|name| HwHandler {
        name,
        args: Default::default(),
    });
    for (sel, paths) in &p.groups {
        t.push_group(*sel).unwrap();
        for &(d, repeat_count, rt) in paths {
            let relative_throughput = if *sel == Selector::ServiceTime { rt } else { 1 };
            t.push_path(
                DEVICES[d],
                PathArgs {
                    repeat_count,
                    relative_throughput,
                },
            )
            .unwrap();
        }
    }
    if !p.groups.is_empty() {
        let n = p.initial % u16::try_from(p.groups.len()).unwrap() + 1;
        t.set_initial_group(n).unwrap();
    }
    t
}

/// Words a table is made of, and some that are nearly right.
const VOCAB: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "4",
    "8",
    "9",
    "50",
    "51",
    "100",
    "101",
    "1024",
    "1025",
    "60000",
    "60001",
    "4294967296",
    "-1",
    "+1",
    "queue_if_no_path",
    "retain_attached_hw_handler",
    "pg_init_retries",
    "pg_init_delay_msecs",
    "queue_mode",
    "bio",
    "rq",
    "mq",
    "nvme",
    "alua",
    "round-robin",
    "queue-length",
    "service-time",
    "historical-service-time",
    "8:16",
    "8:32",
    "x",
    "",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn emit_then_parse_is_the_identity(p in plan()) {
        let t = build(&p);
        prop_assert_eq!(t.check(), Ok(()));
        let line = t.to_string();
        let back = Table::parse(&line);
        prop_assert_eq!(back.as_ref(), Ok(&t), "{}", line);
        prop_assert_eq!(back.unwrap().to_string(), line);
    }

    #[test]
    fn parse_never_panics_and_what_parses_is_stable(
        words in proptest::collection::vec(proptest::sample::select(VOCAB.to_vec()), 0..40),
        seps in proptest::collection::vec(proptest::sample::select(vec![" ", "\t", "  ", "\n"]), 40),
    ) {
        let mut line = String::new();
        for (w, s) in words.iter().zip(&seps) {
            line.push_str(w);
            line.push_str(s);
        }
        if let Ok(t) = Table::parse(&line) {
            let once = t.to_string();
            let again = Table::parse(&once).unwrap().to_string();
            prop_assert_eq!(again, once);
        };
    }

    #[test]
    fn parse_never_panics_on_any_text(s in "\\PC{0,200}") {
        if let Ok(t) = Table::parse(&s) {
            let once = t.to_string();
            let again = Table::parse(&once).unwrap().to_string();
            prop_assert_eq!(again, once);
        };
    }

    /// A valid line with one word replaced: never a panic, and an error
    /// points inside the line at a whole word.
    #[test]
    fn errors_point_at_a_word(p in plan(), at in any::<prop::sample::Index>(), w in proptest::sample::select(VOCAB.to_vec())) {
        let line = build(&p).to_string();
        let mut words: Vec<&str> = line.split(' ').collect();
        let i = at.index(words.len());
        words[i] = w;
        let line = words.join(" ");
        if let Err(e) = Table::parse(&line) {
            prop_assert!(e.offset <= line.len());
            prop_assert_eq!(&line[e.offset..e.offset + e.word.len()], e.word);
        };
    }
}
