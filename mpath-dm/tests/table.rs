//! Table lines: every bound and error of `multipath_ctr` and the selectors'
//! `add_path`, the kernel's canonical form, and lines taken from the
//! kernel's documentation, multipath-tools and real systems.

use mpath_dm::{target_params, ErrorKind, PathArgs, QueueMode, Selector, Table};
use std::string::ToString;

fn canon(line: &str) -> String {
    Table::parse(line).unwrap().to_string()
}

#[track_caller]
fn refused(line: &str, kind: ErrorKind, index: usize, word: &str) {
    let e = Table::parse(line).unwrap_err();
    assert_eq!(
        (e.kind, e.index, e.word),
        (kind, index, word),
        "{line:?}: {e}"
    );
    // The offset points at the word (or the line's end).
    if word.is_empty() {
        assert_eq!(e.offset, line.len(), "{line:?}");
    } else {
        assert_eq!(&line[e.offset..e.offset + word.len()], word, "{line:?}");
    }
}

const RR1: &str = "round-robin 0 1 1 8:16 1";

#[test]
fn feature_bounds() {
    use ErrorKind::*;
    refused("", FeatureCount, 0, "");
    refused("x 0 0 0", FeatureCount, 0, "x");
    refused("9 a b c d e f g h i 0 0 0", FeatureCount, 0, "9");
    refused("2 queue_if_no_path", FeatureCount, 0, "2");
    refused(
        "1 pg_init_retries 0 0 0",
        UnknownFeature,
        1,
        "pg_init_retries",
    );
    refused("2 pg_init_retries 0 0 0 0", PgInitRetries, 2, "0");
    refused("2 pg_init_retries 51 0 0 0", PgInitRetries, 2, "51");
    refused("2 pg_init_retries +5 0 0 0", PgInitRetries, 2, "+5");
    refused("2 pg_init_delay_msecs 60001 0 0 0", PgInitDelay, 2, "60001");
    refused(
        "2 pg_init_delay_msecs 4294967296 0 0 0",
        PgInitDelay,
        2,
        "4294967296",
    );
    refused("2 queue_mode nvme 0 0 0", QueueMode, 2, "nvme");
    refused("1 queue_mode 0 0 0", UnknownFeature, 1, "queue_mode");
    refused("1 bogus 0 0 0", UnknownFeature, 1, "bogus");
    refused("2 queue_if_no_path bogus 0 0 0", UnknownFeature, 2, "bogus");
    assert_eq!(
        canon("2 pg_init_retries 1 0 0 0"),
        "2 pg_init_retries 1 0 0 0"
    );
    assert_eq!(
        canon("2 pg_init_retries 50 0 0 0"),
        "2 pg_init_retries 50 0 0 0"
    );
    assert_eq!(
        canon("2 pg_init_delay_msecs 0 0 0 0"),
        "2 pg_init_delay_msecs 0 0 0 0"
    );
    assert_eq!(
        canon("2 pg_init_delay_msecs 60000 0 0 0"),
        "2 pg_init_delay_msecs 60000 0 0 0"
    );
    // Eight words is the most.
    assert_eq!(
        canon("8 queue_if_no_path queue_if_no_path pg_init_retries 7 queue_mode rq retain_attached_hw_handler queue_if_no_path 0 0 0"),
        "4 queue_if_no_path pg_init_retries 7 retain_attached_hw_handler 0 0 0"
    );
}

#[test]
fn features_are_case_insensitive_and_printed_in_the_kernels_order() {
    let t = Table::parse(
        "7 QUEUE_MODE Bio Pg_Init_Delay_Msecs 5 pg_init_retries 3 Queue_If_No_Path 0 0 0",
    )
    .unwrap();
    assert!(t.features.queue_if_no_path);
    assert_eq!(t.features.queue_mode, QueueMode::Bio);
    assert_eq!(
        t.to_string(),
        "8 queue_if_no_path pg_init_retries 3 pg_init_delay_msecs 5 retain_attached_hw_handler queue_mode bio 0 0 0"
    );
    // rq and mq are both request-based, which is not printed.
    assert_eq!(canon("2 queue_mode mq 0 0 0"), "0 0 0 0");
    assert_eq!(canon("2 queue_mode RQ 0 0 0"), "0 0 0 0");
}

#[test]
fn hardware_handler() {
    use ErrorKind::*;
    refused("0 1025 0 0", HwHandlerCount, 1, "1025");
    refused("0 3 rdac x", HwHandlerCount, 1, "3");
    refused("0 x", HwHandlerCount, 1, "x");
    let line = format!("0 3 rdac a  b 1 1 {RR1}");
    let t = Table::parse(&line).unwrap();
    let h = t.hw_handler.unwrap();
    assert_eq!(h.name, "rdac");
    assert_eq!(h.args.len(), 2);
    assert_eq!(h.args.iter().collect::<Vec<_>>(), ["a", "b"]);
    // The table status prints the handler's name only.
    assert_eq!(t.to_string(), format!("0 1 rdac 1 1 {RR1}"));
    // Bio-based: the handler and its words are consumed and dropped.
    assert_eq!(
        canon(&format!("2 queue_mode bio 2 alua x 1 1 {RR1}")),
        format!("3 retain_attached_hw_handler queue_mode bio 0 1 1 {RR1}")
    );
}

#[test]
fn group_header_bounds() {
    use ErrorKind::*;
    refused("0 0", GroupCount, 2, "");
    refused("0 0 1025 1", GroupCount, 2, "1025");
    refused("0 0 1", InitialGroupNumber, 3, "");
    refused("0 0 1 1025", InitialGroupNumber, 3, "1025");
    refused(&format!("0 0 1 0 {RR1}"), InitialGroup, 3, "0");
    refused("0 0 0 1", InitialGroup, 3, "1");
    refused("0 0 1 1 round-robin", GroupArgs, 4, "round-robin");
    // Two words are enough to start a group.
    refused("0 0 1 1 round-robin 0", PathCount, 6, "");
    refused(
        "0 0 1 1 Round-Robin 0 1 1 8:16 1",
        UnknownSelector,
        4,
        "Round-Robin",
    );
    refused(
        "0 0 1 1 historical-service-time 0 1 1 8:16 1",
        UnknownSelector,
        4,
        "historical-service-time",
    );
    refused(
        "0 0 1 1 round-robin 1025 1 1 8:16 1",
        SelectorArgCount,
        5,
        "1025",
    );
    refused("0 0 1 1 round-robin 5 1 1 8:16", SelectorArgCount, 5, "5");
    refused("0 0 1 1 round-robin 0 0 1", PathCount, 6, "0");
    refused("0 0 1 1 round-robin 0 1025 1", PathCount, 6, "1025");
    refused("0 0 1 1 round-robin 0 1", PerPathArgCount, 7, "");
    refused("0 0 1 1 round-robin 0 1 1025", PerPathArgCount, 7, "1025");
    refused(
        "0 0 2 1 round-robin 0 1 1 8:16 1",
        GroupCountMismatch,
        10,
        "",
    );
    refused(
        "0 0 1 1 round-robin 0 1 1 8:16 1 round-robin 0 1 1 8:32 1",
        GroupCountMismatch,
        10,
        "round-robin",
    );
    // A group without paths is refused by #paths; none at all is a table.
    assert_eq!(canon("0 0 0 0"), "0 0 0 0");
    // Selector arguments are taken and not printed.
    assert_eq!(
        canon("0 0 1 1 round-robin 2 a b 1 1 8:16 1"),
        format!("0 0 1 1 {RR1}")
    );
}

#[test]
fn path_bounds() {
    use ErrorKind::*;
    refused(
        "0 0 1 1 round-robin 0 2 1 8:16 1 8:32",
        PathArgs,
        10,
        "8:32",
    );
    refused("0 0 1 1 round-robin 0 2 1 8:16 1", PathArgs, 10, "");
    refused(
        "0 0 1 1 round-robin 0 1 2 8:16 1 1",
        SelectorPathArgs,
        10,
        "1",
    );
    refused(
        "0 0 1 1 queue-length 0 1 2 8:16 1 1",
        SelectorPathArgs,
        10,
        "1",
    );
    refused(
        "0 0 1 1 service-time 0 1 3 8:16 1 1 1",
        SelectorPathArgs,
        11,
        "1",
    );
    refused("0 0 1 1 round-robin 0 1 1 8:16 x", RepeatCount, 9, "x");
    refused("0 0 1 1 service-time 0 1 1 8:16 -1", RepeatCount, 9, "-1");
    refused(
        "0 0 1 1 service-time 0 1 2 8:16 1 101",
        RelativeThroughput,
        10,
        "101",
    );
    refused(
        "0 0 1 1 service-time 0 1 2 8:16 1 x",
        RelativeThroughput,
        10,
        "x",
    );
    refused(
        "0 0 1 1 service-time 0 1 2 8:16 1 256",
        RelativeThroughput,
        10,
        "256",
    );
    // The kernel keeps repeat_count at most 1; 0 stays 0.
    assert_eq!(
        canon("0 0 1 1 round-robin 0 1 1 8:16 1000"),
        format!("0 0 1 1 {RR1}")
    );
    assert_eq!(
        canon("0 0 1 1 queue-length 0 1 1 8:16 0"),
        "0 0 1 1 queue-length 0 1 1 8:16 0"
    );
    // Missing arguments take the selector's defaults.
    assert_eq!(
        canon("0 0 1 1 round-robin 0 1 0 8:16"),
        format!("0 0 1 1 {RR1}")
    );
    assert_eq!(
        canon("0 0 1 1 service-time 0 1 0 8:16"),
        "0 0 1 1 service-time 0 1 2 8:16 1 1"
    );
    assert_eq!(
        canon("0 0 1 1 service-time 0 1 1 8:16 0"),
        "0 0 1 1 service-time 0 1 2 8:16 0 1"
    );
    assert_eq!(
        canon("0 0 1 1 service-time 0 1 2 8:16 1 0"),
        "0 0 1 1 service-time 0 1 2 8:16 1 0"
    );
    assert_eq!(
        canon("0 0 1 1 service-time 0 1 2 8:16 1 100"),
        "0 0 1 1 service-time 0 1 2 8:16 1 100"
    );
}

#[test]
fn more_paths_than_a_device_holds_are_refused_at_the_first_extra() {
    let mut line = String::from("0 0 1 1 round-robin 0 65 0");
    for i in 0..65 {
        line.push_str(&format!(" 8:{i}"));
    }
    let e = Table::parse(&line).unwrap_err();
    assert_eq!(
        (e.kind, e.index, e.word),
        (ErrorKind::TooManyPaths, 72, "8:64")
    );
    let ok = line.replace(" 65 0", " 64 0").replace(" 8:64", "");
    assert_eq!(Table::parse(&ok).unwrap().paths().len(), 64);
}

#[test]
fn initial_group_past_the_last_starts_from_the_first() {
    // The kernel only checks 0-1024; it never finds group 5 and prints 1.
    let line = format!("0 0 1 5 {RR1}");
    let t = Table::parse(&line).unwrap();
    assert_eq!(t.initial_group(), 1);
    let line = format!("0 0 2 2 {RR1} {RR1}");
    let t = Table::parse(&line).unwrap();
    assert_eq!(t.initial_group(), 2);
    assert_eq!(t.group_of(0), Some(1));
    assert_eq!(t.group_of(1), Some(2));
    assert_eq!(t.group_of(2), None);
}

#[test]
fn every_kernel_space_separates_words() {
    assert_eq!(
        canon("0\t0\n1 \x0b1\x0c round-robin\r0 1 1 8:16 1\n"),
        format!("0 0 1 1 {RR1}")
    );
}

/// Documentation/admin-guide/device-mapper/dm-service-time.rst and
/// dm-queue-length.rst: `dmsetup table` lines. Those pages predate the
/// kernel keeping repeat_count at 1, so 128 now reads back as 1.
#[test]
fn kernel_documentation_tables() {
    let doc = [
        (
            "test: 0 10 multipath 0 0 1 1 service-time 0 2 2 8:0 128 1 8:16 128 4",
            "0 0 1 1 service-time 0 2 2 8:0 1 1 8:16 1 4",
        ),
        (
            "test: 0 10 multipath 0 0 1 1 service-time 0 2 2 8:0 128 2 8:16 128 8",
            "0 0 1 1 service-time 0 2 2 8:0 1 2 8:16 1 8",
        ),
        (
            "test: 0 10 multipath 0 0 1 1 queue-length 0 2 1 8:0 128 8:16 128",
            "0 0 1 1 queue-length 0 2 1 8:0 1 8:16 1",
        ),
    ];
    for (line, want) in doc {
        let params = target_params(line).unwrap();
        assert_eq!(canon(params), want);
        let t = Table::parse(params).unwrap();
        assert_eq!(t.group_count(), 1);
        assert_eq!(t.paths().len(), 2);
    }
    let st = Table::parse("0 0 1 1 service-time 0 2 2 8:0 128 1 8:16 128 4").unwrap();
    assert_eq!(
        st.paths()[1].args,
        PathArgs {
            repeat_count: 1,
            relative_throughput: 4
        }
    );
    assert_eq!(st.groups()[0].selector, Selector::ServiceTime);
}

/// Lines as current kernels print them (`dmsetup table`, with the
/// kernel's trailing space) and as multipathd loads them (its log's
/// `params =` and `reload [...]`), from multipath-tools bug reports and
/// dm-devel threads.
#[test]
fn real_tables() {
    // Printed by the kernel: canonical already.
    for line in [
        "0 65536 multipath 1 queue_if_no_path 1 alua 1 1 service-time 0 1 2 8:32 1 1 ",
        "mpatha: 0 4294967296 multipath 1 queue_if_no_path 0 1 1 service-time 0 2 1 8:16 1 8:32 1",
        "0 20971520 multipath 0 0 1 1 service-time 0 1 1 8:16 1",
    ] {
        let p = target_params(line).unwrap();
        let t = Table::parse(p).unwrap();
        // service-time tables loaded with one per-path word print two.
        let text = t.to_string();
        let again = Table::parse(&text).unwrap();
        assert_eq!(again, t, "{line}");
    }
    assert_eq!(
        canon(
            target_params(
                "0 65536 multipath 1 queue_if_no_path 1 alua 1 1 service-time 0 1 2 8:32 1 1 "
            )
            .unwrap()
        ),
        "1 queue_if_no_path 1 alua 1 1 service-time 0 1 2 8:32 1 1"
    );
    // multipathd writes pg_init_retries first; the kernel prints
    // queue_if_no_path first.
    assert_eq!(
        canon("3 pg_init_retries 50 queue_if_no_path 1 alua 2 1 service-time 0 1 1 8:80 1 service-time 0 2 1 8:16 1 8:144 1"),
        "3 queue_if_no_path pg_init_retries 50 1 alua 2 1 service-time 0 1 2 8:80 1 1 service-time 0 2 2 8:16 1 1 8:144 1 1"
    );
    assert_eq!(
        canon("0 0 2 1 service-time 0 1 2 7:0 1 1 service-time 0 1 2 7:1 1 1"),
        "0 0 2 1 service-time 0 1 2 7:0 1 1 service-time 0 1 2 7:1 1 1"
    );
}

/// multipath-tools' tests/features.c: feature strings multipathd builds
/// (the reconciled ones it would load).
#[test]
fn multipath_tools_feature_strings() {
    for (features, want) in [
        ("2 pg_init_retries 50", "2 pg_init_retries 50"),
        (
            "3 queue_if_no_path queue_mode bio",
            "4 queue_if_no_path retain_attached_hw_handler queue_mode bio",
        ),
        (
            "4 pg_init_retries 50 queue_mode bio",
            "5 pg_init_retries 50 retain_attached_hw_handler queue_mode bio",
        ),
        ("2 queue_mode rq", "0"),
        ("2 queue_mode mq", "0"),
        (
            "3 queue_mode\nbio queue_if_no_path",
            "4 queue_if_no_path retain_attached_hw_handler queue_mode bio",
        ),
        (
            "3 queue_mode\t \trq\nqueue_if_no_path",
            "1 queue_if_no_path",
        ),
        ("2 pg_init_retries 15", "2 pg_init_retries 15"),
        ("1 queue_if_no_path", "1 queue_if_no_path"),
    ] {
        let line = format!("{features} 0 0 0");
        assert_eq!(canon(&line), format!("{want} 0 0 0"), "{features:?}");
    }
    // Ones it repairs because the kernel would refuse them.
    for bad in [
        "2 queue_mode biop",
        "2 queue_mode bad",
        "2 queue_mode bionic",
        "3 queue_mode rqs queue_if_no_path",
    ] {
        let line = format!("{bad} 0 0 0");
        let e = Table::parse(&line).unwrap_err();
        assert_eq!(e.kind, ErrorKind::QueueMode, "{bad:?}");
        assert_eq!(e.index, 2);
    }
}

#[test]
fn target_params_finds_the_multipath_target_only() {
    assert_eq!(target_params("0 10 multipath 0 0 0 0"), Some("0 0 0 0"));
    assert_eq!(target_params("x: 0 10 multipath 0 0 0 0"), Some("0 0 0 0"));
    assert_eq!(target_params("0 10 linear 8:0 0"), None);
    assert_eq!(target_params("a 10 multipath 0 0 0 0"), None);
    assert_eq!(target_params("0 b multipath 0 0 0 0"), None);
    assert_eq!(target_params("0 10"), None);
    assert_eq!(target_params(""), None);
    assert_eq!(target_params("x:"), None);
}

#[test]
fn errors_say_what_and_where() {
    let e = Table::parse("2 pg_init_retries 51 0 0 0").unwrap_err();
    assert_eq!(
        e.to_string(),
        "pg_init_retries must be between 1 and 50 at word 2 (\"51\", byte 18)"
    );
}
