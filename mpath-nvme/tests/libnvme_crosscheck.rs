//! Cross-check against libnvme's C definitions (`nvme/types.h`, Debian
//! package `libnvme-dev`): a C program fills libnvme's own structures, prints
//! them as hex with `offsetof`/`sizeof` and enum values, and this test parses
//! the hex with our codecs and compares field for field, and compares our
//! constants with libnvme's.
//!
//! Needs a C compiler (`cc`, or `$CC`) and `libnvme-dev`. Missing either is a
//! failure, not a skip: install with `apt-get install -y libnvme-dev gcc`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use mpath_nvme::aen::{event_type, io_command_set, notice};
use mpath_nvme::ana::{AnaLog, AnaLogOptions, AnaState};
use mpath_nvme::identify::{
    Anacap, Cmic, Identify, IdentifyControllerRepr, IdentifyNamespaceRepr, Nmic, Oncs, Rescap,
};
use mpath_nvme::log_page::{GetLogPage, LID_ANA, LID_RESERVATION_NOTIFICATION, LSP_ANA_RGO};
use mpath_nvme::reservation::{
    AcquireAction, Cptpl, RegisterAction, ReleaseAction, ReservationAcquire, ReservationRegister,
    ReservationRelease, ReservationReport, ReservationType,
};
use mpath_nvme::resv_notification::{NotificationType, ResvNotificationRepr};
use mpath_nvme::resv_report::{Format, ResvReport};
use mpath_nvme::status::{sct, Status, StatusCode};

/// (libnvme SCT constant, libnvme SC constant, ours) for every named code.
#[rustfmt::skip]
const STATUS_CODES: &[(&str, &str, StatusCode)] = &[
    ("NVME_SCT_GENERIC", "NVME_SC_SUCCESS", StatusCode::SUCCESS),
    ("NVME_SCT_GENERIC", "NVME_SC_INVALID_OPCODE", StatusCode::INVALID_OPCODE),
    ("NVME_SCT_GENERIC", "NVME_SC_INVALID_FIELD", StatusCode::INVALID_FIELD),
    ("NVME_SCT_GENERIC", "NVME_SC_DATA_XFER_ERROR", StatusCode::DATA_TRANSFER_ERROR),
    ("NVME_SCT_GENERIC", "NVME_SC_POWER_LOSS", StatusCode::POWER_LOSS_ABORT),
    ("NVME_SCT_GENERIC", "NVME_SC_INTERNAL", StatusCode::INTERNAL_ERROR),
    ("NVME_SCT_GENERIC", "NVME_SC_ABORT_REQ", StatusCode::ABORT_REQUESTED),
    ("NVME_SCT_GENERIC", "NVME_SC_ABORT_QUEUE", StatusCode::ABORT_SQ_DELETION),
    ("NVME_SCT_GENERIC", "NVME_SC_INVALID_NS", StatusCode::INVALID_NAMESPACE),
    ("NVME_SCT_GENERIC", "NVME_SC_CMD_ABORTED_PREMEPT", StatusCode::ABORTED_PREEMPT),
    ("NVME_SCT_GENERIC", "NVME_SC_NS_WRITE_PROTECTED", StatusCode::NAMESPACE_WRITE_PROTECTED),
    ("NVME_SCT_GENERIC", "NVME_SC_CMD_INTERRUPTED", StatusCode::COMMAND_INTERRUPTED),
    ("NVME_SCT_GENERIC", "NVME_SC_TRAN_TPORT_ERROR", StatusCode::TRANSIENT_TRANSPORT_ERROR),
    ("NVME_SCT_GENERIC", "NVME_SC_LBA_RANGE", StatusCode::LBA_OUT_OF_RANGE),
    ("NVME_SCT_GENERIC", "NVME_SC_CAP_EXCEEDED", StatusCode::CAPACITY_EXCEEDED),
    ("NVME_SCT_GENERIC", "NVME_SC_NS_NOT_READY", StatusCode::NAMESPACE_NOT_READY),
    ("NVME_SCT_GENERIC", "NVME_SC_RESERVATION_CONFLICT", StatusCode::RESERVATION_CONFLICT),
    ("NVME_SCT_GENERIC", "NVME_SC_FORMAT_IN_PROGRESS", StatusCode::FORMAT_IN_PROGRESS),
    ("NVME_SCT_CMD_SPECIFIC", "NVME_SC_INVALID_LOG_PAGE", StatusCode::INVALID_LOG_PAGE),
    ("NVME_SCT_CMD_SPECIFIC", "NVME_SC_ANA_GROUP_ID_INVALID", StatusCode::ANA_GROUP_ID_INVALID),
    ("NVME_SCT_CMD_SPECIFIC", "NVME_SC_BAD_ATTRIBUTES", StatusCode::CONFLICTING_ATTRIBUTES),
    ("NVME_SCT_CMD_SPECIFIC", "NVME_SC_INVALID_PI", StatusCode::INVALID_PROTECTION_INFO),
    ("NVME_SCT_CMD_SPECIFIC", "NVME_SC_READ_ONLY", StatusCode::WRITE_TO_READ_ONLY_RANGE),
    ("NVME_SCT_MEDIA", "NVME_SC_WRITE_FAULT", StatusCode::WRITE_FAULT),
    ("NVME_SCT_MEDIA", "NVME_SC_READ_ERROR", StatusCode::UNRECOVERED_READ_ERROR),
    ("NVME_SCT_MEDIA", "NVME_SC_GUARD_CHECK", StatusCode::GUARD_CHECK_ERROR),
    ("NVME_SCT_MEDIA", "NVME_SC_APPTAG_CHECK", StatusCode::APP_TAG_CHECK_ERROR),
    ("NVME_SCT_MEDIA", "NVME_SC_REFTAG_CHECK", StatusCode::REF_TAG_CHECK_ERROR),
    ("NVME_SCT_MEDIA", "NVME_SC_COMPARE_FAILED", StatusCode::COMPARE_FAILURE),
    ("NVME_SCT_MEDIA", "NVME_SC_ACCESS_DENIED", StatusCode::ACCESS_DENIED),
    ("NVME_SCT_MEDIA", "NVME_SC_UNWRITTEN_BLOCK", StatusCode::UNWRITTEN_BLOCK),
    ("NVME_SCT_PATH", "NVME_SC_ANA_INTERNAL_PATH_ERROR", StatusCode::INTERNAL_PATH_ERROR),
    ("NVME_SCT_PATH", "NVME_SC_ANA_PERSISTENT_LOSS", StatusCode::ANA_PERSISTENT_LOSS),
    ("NVME_SCT_PATH", "NVME_SC_ANA_INACCESSIBLE", StatusCode::ANA_INACCESSIBLE),
    ("NVME_SCT_PATH", "NVME_SC_ANA_TRANSITION", StatusCode::ANA_TRANSITION),
    ("NVME_SCT_PATH", "NVME_SC_CTRL_PATH_ERROR", StatusCode::CONTROLLER_PATHING_ERROR),
    ("NVME_SCT_PATH", "NVME_SC_HOST_PATH_ERROR", StatusCode::HOST_PATHING_ERROR),
    ("NVME_SCT_PATH", "NVME_SC_CMD_ABORTED_BY_HOST", StatusCode::ABORTED_BY_HOST),
];

/// Every other constant: (libnvme name, our value).
#[rustfmt::skip]
fn constants() -> Vec<(&'static str, i64)> {
    let u = |v: u8| i64::from(v);
    let mut c = vec![
        ("NVME_SCT_GENERIC", u(sct::GENERIC)),
        ("NVME_SCT_CMD_SPECIFIC", u(sct::COMMAND_SPECIFIC)),
        ("NVME_SCT_MEDIA", u(sct::MEDIA)),
        ("NVME_SCT_PATH", u(sct::PATH)),
        ("NVME_SCT_VS", u(sct::VENDOR_SPECIFIC)),
        ("NVME_SC_CRD", i64::from(Status::CRD_MASK)),
        ("NVME_SC_MORE", i64::from(Status::MORE)),
        ("NVME_SC_DNR", i64::from(Status::DNR)),
        ("NVME_LOG_LID_ANA", u(LID_ANA)),
        ("NVME_LOG_LID_RESERVATION", u(LID_RESERVATION_NOTIFICATION)),
        ("NVME_LOG_ANA_LSP_RGO_GROUPS_ONLY", u(LSP_ANA_RGO)),
        ("nvme_admin_get_log_page", u(GetLogPage::OPCODE)),
        ("nvme_admin_identify", u(Identify::OPCODE)),
        ("NVME_IDENTIFY_CNS_CTRL", u(Identify::CONTROLLER.cns)),
        ("NVME_IDENTIFY_CNS_NS", u(Identify::NAMESPACE.cns)),
        ("nvme_cmd_resv_register", u(ReservationRegister::OPCODE)),
        ("nvme_cmd_resv_report", u(ReservationReport::OPCODE)),
        ("nvme_cmd_resv_acquire", u(ReservationAcquire::OPCODE)),
        ("nvme_cmd_resv_release", u(ReservationRelease::OPCODE)),
        ("NVME_RESERVATION_RACQA_ACQUIRE", u(AcquireAction::Acquire.code())),
        ("NVME_RESERVATION_RACQA_PREEMPT", u(AcquireAction::Preempt.code())),
        ("NVME_RESERVATION_RACQA_PREEMPT_AND_ABORT", u(AcquireAction::PreemptAndAbort.code())),
        ("NVME_RESERVATION_RREGA_REGISTER_KEY", u(RegisterAction::Register.code())),
        ("NVME_RESERVATION_RREGA_UNREGISTER_KEY", u(RegisterAction::Unregister.code())),
        ("NVME_RESERVATION_RREGA_REPLACE_KEY", u(RegisterAction::Replace.code())),
        ("NVME_RESERVATION_RRELA_RELEASE", u(ReleaseAction::Release.code())),
        ("NVME_RESERVATION_RRELA_CLEAR", u(ReleaseAction::Clear.code())),
        ("NVME_RESERVATION_CPTPL_NO_CHANGE", u(Cptpl::NoChange.code())),
        ("NVME_RESERVATION_CPTPL_CLEAR", u(Cptpl::Clear.code())),
        ("NVME_RESERVATION_CPTPL_PERSIST", u(Cptpl::Persist.code())),
        ("NVME_RESV_NOTIFY_RNLPT_EMPTY", u(NotificationType::Empty.code())),
        ("NVME_RESV_NOTIFY_RNLPT_REGISTRATION_PREEMPTED", u(NotificationType::RegistrationPreempted.code())),
        ("NVME_RESV_NOTIFY_RNLPT_RESERVATION_RELEASED", u(NotificationType::ReservationReleased.code())),
        ("NVME_RESV_NOTIFY_RNLPT_RESERVATION_PREEMPTED", u(NotificationType::ReservationPreempted.code())),
        ("NVME_AER_ERROR", u(event_type::ERROR)),
        ("NVME_AER_SMART", u(event_type::SMART)),
        ("NVME_AER_NOTICE", u(event_type::NOTICE)),
        ("NVME_AER_CSS", u(event_type::IO_COMMAND_SET)),
        ("NVME_AER_VS", u(event_type::VENDOR)),
        ("NVME_AER_NOTICE_NS_CHANGED", u(notice::NAMESPACE_ATTRIBUTE_CHANGED)),
        ("NVME_AER_NOTICE_FW_ACT_STARTING", u(notice::FIRMWARE_ACTIVATION_STARTING)),
        ("NVME_AER_NOTICE_TELEMETRY", u(notice::TELEMETRY_LOG_CHANGED)),
        ("NVME_AER_NOTICE_ANA", u(notice::ANA_CHANGE)),
        ("NVME_AER_NOTICE_DISC_CHANGED", u(notice::DISCOVERY_LOG_CHANGED)),
        ("NVME_AER_CSS_NVM_RESERVATION", u(io_command_set::RESERVATION_LOG_AVAILABLE)),
        ("NVME_AER_CSS_NVM_SANITIZE_COMPLETED", u(io_command_set::SANITIZE_COMPLETED)),
        ("NVME_CTRL_CMIC_MULTI_PORT", u(Cmic::MULTI_PORT.bits())),
        ("NVME_CTRL_CMIC_MULTI_CTRL", u(Cmic::MULTI_CONTROLLER.bits())),
        ("NVME_CTRL_CMIC_MULTI_SRIOV", u(Cmic::SRIOV.bits())),
        ("NVME_CTRL_CMIC_MULTI_ANA_REPORTING", u(Cmic::ANA_REPORTING.bits())),
        ("NVME_CTRL_ANACAP_OPT", u(Anacap::OPTIMIZED.bits())),
        ("NVME_CTRL_ANACAP_NON_OPT", u(Anacap::NON_OPTIMIZED.bits())),
        ("NVME_CTRL_ANACAP_INACCESSIBLE", u(Anacap::INACCESSIBLE.bits())),
        ("NVME_CTRL_ANACAP_PERSISTENT_LOSS", u(Anacap::PERSISTENT_LOSS.bits())),
        ("NVME_CTRL_ANACAP_CHANGE", u(Anacap::CHANGE.bits())),
        ("NVME_CTRL_ANACAP_GRPID_NO_CHG", u(Anacap::GRPID_NOT_CHANGED.bits())),
        ("NVME_CTRL_ANACAP_GRPID_MGMT", u(Anacap::GRPID_MGMT.bits())),
        ("NVME_CTRL_ONCS_RESERVATIONS", i64::from(Oncs::RESERVATIONS.bits())),
        ("NVME_NS_NMIC_SHARED", u(Nmic::SHARED.bits())),
        ("NVME_NS_RESCAP_PTPL", u(Rescap::PTPL.bits())),
        ("NVME_NS_RESCAP_WE", u(Rescap::WRITE_EXCLUSIVE.bits())),
        ("NVME_NS_RESCAP_EA", u(Rescap::EXCLUSIVE_ACCESS.bits())),
        ("NVME_NS_RESCAP_WERO", u(Rescap::WRITE_EXCLUSIVE_REG_ONLY.bits())),
        ("NVME_NS_RESCAP_EARO", u(Rescap::EXCLUSIVE_ACCESS_REG_ONLY.bits())),
        ("NVME_NS_RESCAP_WEAR", u(Rescap::WRITE_EXCLUSIVE_ALL_REGS.bits())),
        ("NVME_NS_RESCAP_EAAR", u(Rescap::EXCLUSIVE_ACCESS_ALL_REGS.bits())),
        ("NVME_NS_RESCAP_IEK_13", u(Rescap::IEKEY_13.bits())),
    ];
    let states = [
        ("NVME_ANA_STATE_OPTIMIZED", AnaState::Optimized),
        ("NVME_ANA_STATE_NONOPTIMIZED", AnaState::NonOptimized),
        ("NVME_ANA_STATE_INACCESSIBLE", AnaState::Inaccessible),
        ("NVME_ANA_STATE_PERSISTENT_LOSS", AnaState::PersistentLoss),
        ("NVME_ANA_STATE_CHANGE", AnaState::Change),
    ];
    c.extend(states.iter().map(|(n, s)| (*n, u(s.code()))));
    let types = [
        ("NVME_RESERVATION_RTYPE_WE", ReservationType::WriteExclusive),
        ("NVME_RESERVATION_RTYPE_EA", ReservationType::ExclusiveAccess),
        ("NVME_RESERVATION_RTYPE_WERO", ReservationType::WriteExclusiveRegistrantsOnly),
        ("NVME_RESERVATION_RTYPE_EARO", ReservationType::ExclusiveAccessRegistrantsOnly),
        ("NVME_RESERVATION_RTYPE_WEAR", ReservationType::WriteExclusiveAllRegistrants),
        ("NVME_RESERVATION_RTYPE_EAAR", ReservationType::ExclusiveAccessAllRegistrants),
    ];
    c.extend(types.iter().map(|(n, t)| (*n, u(t.code()))));
    c
}

/// (struct, field, our offset): the spec offsets our codecs use.
#[rustfmt::skip]
const OFFSETS: &[(&str, &str, usize)] = &[
    ("nvme_ana_log", "chgcnt", 0),
    ("nvme_ana_log", "ngrps", 8),
    ("nvme_ana_log", "descs", 16),
    ("nvme_ana_group_desc", "grpid", 0),
    ("nvme_ana_group_desc", "nnsids", 4),
    ("nvme_ana_group_desc", "chgcnt", 8),
    ("nvme_ana_group_desc", "state", 16),
    ("nvme_ana_group_desc", "nsids", 32),
    ("nvme_resv_status", "gen", 0),
    ("nvme_resv_status", "rtype", 4),
    ("nvme_resv_status", "regctl", 5),
    ("nvme_resv_status", "ptpls", 9),
    ("nvme_resv_status", "regctl_ds", 24),
    ("nvme_resv_status", "regctl_eds", 64),
    ("nvme_registered_ctrl", "cntlid", 0),
    ("nvme_registered_ctrl", "rcsts", 2),
    ("nvme_registered_ctrl", "hostid", 8),
    ("nvme_registered_ctrl", "rkey", 16),
    ("nvme_registered_ctrl_ext", "cntlid", 0),
    ("nvme_registered_ctrl_ext", "rcsts", 2),
    ("nvme_registered_ctrl_ext", "rkey", 8),
    ("nvme_registered_ctrl_ext", "hostid", 16),
    ("nvme_resv_notification_log", "lpc", 0),
    ("nvme_resv_notification_log", "rnlpt", 8),
    ("nvme_resv_notification_log", "nalp", 9),
    ("nvme_resv_notification_log", "nsid", 12),
    ("nvme_id_ctrl", "cmic", 76),
    ("nvme_id_ctrl", "cntlid", 78),
    ("nvme_id_ctrl", "ver", 80),
    ("nvme_id_ctrl", "crdt1", 128),
    ("nvme_id_ctrl", "crdt2", 130),
    ("nvme_id_ctrl", "crdt3", 132),
    ("nvme_id_ctrl", "nn", 516),
    ("nvme_id_ctrl", "oncs", 520),
    ("nvme_id_ctrl", "mnan", 540),
    ("nvme_id_ctrl", "anatt", 342),
    ("nvme_id_ctrl", "anacap", 343),
    ("nvme_id_ctrl", "anagrpmax", 344),
    ("nvme_id_ctrl", "nanagrpid", 348),
    ("nvme_id_ctrl", "subnqn", 768),
    ("nvme_id_ns", "nsze", 0),
    ("nvme_id_ns", "ncap", 8),
    ("nvme_id_ns", "nuse", 16),
    ("nvme_id_ns", "nmic", 30),
    ("nvme_id_ns", "rescap", 31),
    ("nvme_id_ns", "anagrpid", 92),
];

/// (struct, our size).
const SIZES: &[(&str, usize)] = &[
    ("nvme_ana_log", mpath_nvme::ana::HEADER_LEN),
    ("nvme_ana_group_desc", mpath_nvme::ana::DESCRIPTOR_LEN),
    (
        "nvme_registered_ctrl",
        mpath_nvme::resv_report::REGISTRANT_LEN,
    ),
    (
        "nvme_registered_ctrl_ext",
        mpath_nvme::resv_report::EXT_REGISTRANT_LEN,
    ),
    ("nvme_resv_status", mpath_nvme::resv_report::EXT_HEADER_LEN),
    (
        "nvme_resv_notification_log",
        mpath_nvme::resv_notification::LOG_LEN,
    ),
    ("nvme_id_ctrl", mpath_nvme::identify::IDENTIFY_LEN),
    ("nvme_id_ns", mpath_nvme::identify::IDENTIFY_LEN),
];

/// Status fields whose SCT/SC libnvme's own helpers decode.
const STATUS_FIELDS: &[u16] = &[0x0000, 0x0183, 0x4302, 0x7FFF, 0x1871, 0x2281, 0x0660];

const SAMPLES: &str = include_str!("libnvme_samples.c");

fn program() -> String {
    let mut src = String::from(
        "#include <nvme/types.h>\n#include <endian.h>\n#include <stddef.h>\n#include <stdint.h>\n\
         #include <stdio.h>\n#include <string.h>\n",
    );
    src.push_str(SAMPLES);
    src.push_str("int main(void)\n{\n");
    for (name, _) in constants() {
        writeln!(src, "\tC({name});").unwrap();
    }
    for (sct_name, sc_name, _) in STATUS_CODES {
        writeln!(src, "\tC({sct_name});\n\tC({sc_name});").unwrap();
    }
    for (s, f, _) in OFFSETS {
        writeln!(src, "\tOFF({s}, {f});").unwrap();
    }
    for (s, _) in SIZES {
        writeln!(src, "\tSIZE({s});").unwrap();
    }
    for f in STATUS_FIELDS {
        writeln!(src, "\tstatus_field({f});").unwrap();
    }
    src.push_str("\tsamples();\n\treturn 0;\n}\n");
    src
}

/// Compiles and runs the program; returns "kind name" -> value.
fn run_c() -> HashMap<String, String> {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("mpath-nvme-libnvme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let c = dir.join("crosscheck.c");
    let exe = dir.join("crosscheck");
    std::fs::write(&c, program()).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-std=gnu11", "-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg(&c)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run the C compiler `{cc}` ({e}): install a C compiler and libnvme-dev (apt-get install -y gcc libnvme-dev)")
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if stderr.contains("nvme/types.h") {
            panic!("libnvme headers not found: install libnvme-dev (apt-get install -y libnvme-dev)\n{stderr}");
        }
        panic!("compiling the libnvme cross-check program failed:\n{stderr}");
    }
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success(), "cross-check program failed");
    let _ = std::fs::remove_dir_all(&dir);
    let mut map = HashMap::new();
    for line in String::from_utf8(run.stdout).unwrap().lines() {
        let mut parts = line.splitn(3, ' ');
        let (kind, name, value) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        map.insert(format!("{kind} {name}"), value.to_string());
    }
    map
}

struct C(HashMap<String, String>);

impl C {
    fn get(&self, key: &str) -> &str {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("C program did not print {key}"))
    }
    fn num(&self, key: &str) -> i64 {
        self.get(key)
            .parse()
            .unwrap_or_else(|e| panic!("{key}: {e}"))
    }
    fn val(&self, name: &str) -> u64 {
        self.get(&format!("val {name}")).parse().unwrap()
    }
    fn hex(&self, name: &str) -> Vec<u8> {
        let h = self.get(&format!("hex {name}"));
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    }
}

#[test]
fn libnvme_agrees() {
    let c = C(run_c());

    // Constants, byte for byte.
    for (name, ours) in constants() {
        assert_eq!(c.num(&format!("const {name}")), ours, "{name}");
    }
    for (sct_name, sc_name, ours) in STATUS_CODES {
        assert_eq!(
            c.num(&format!("const {sct_name}")),
            i64::from(ours.sct),
            "{sc_name} SCT"
        );
        assert_eq!(
            c.num(&format!("const {sc_name}")),
            i64::from(ours.sc),
            "{sc_name}"
        );
    }
    for (code, name) in StatusCode::NAMED {
        assert!(
            STATUS_CODES.iter().any(|(_, _, c)| c == code),
            "{name} is not cross-checked"
        );
    }
    for (s, f, ours) in OFFSETS {
        assert_eq!(
            c.num(&format!("off {s}.{f}")),
            i64::try_from(*ours).unwrap(),
            "offsetof({s}, {f})"
        );
    }
    for (s, ours) in SIZES {
        assert_eq!(
            c.num(&format!("size {s}")),
            i64::try_from(*ours).unwrap(),
            "sizeof({s})"
        );
    }
    // libnvme's nvme_status_code_type() / nvme_status_code() on raw fields.
    for f in STATUS_FIELDS {
        let s = Status::from_field(*f);
        assert_eq!(
            c.val(&format!("status.{f}.sct")),
            u64::from(s.sct()),
            "{f:#x}"
        );
        assert_eq!(
            c.val(&format!("status.{f}.sc")),
            u64::from(s.sc()),
            "{f:#x}"
        );
    }

    check_ana(&c);
    check_resv_report(&c);
    check_notification(&c);
    check_identify(&c);
}

fn check_ana(c: &C) {
    let bytes = c.hex("ana_log");
    let opts = AnaLogOptions {
        anagrpmax: 64,
        rgo: false,
    };
    let log = AnaLog::new_checked(&bytes[..], opts).unwrap();
    assert_eq!(log.change_count(), c.val("ana.chgcnt"));
    assert_eq!(u64::from(log.group_count()), c.val("ana.ngrps"));
    assert_eq!(log.len(), bytes.len());
    for (i, g) in log.groups().enumerate() {
        let v = |f: &str| c.val(&format!("ana.g{i}.{f}"));
        assert_eq!(u64::from(g.grpid), v("grpid"));
        assert_eq!(u64::from(g.nsids.count().unwrap()), v("nnsids"));
        assert_eq!(g.change_count, v("chgcnt"));
        assert_eq!(u64::from(g.state.code()), v("state"));
        for (j, nsid) in g.nsids.iter().enumerate() {
            assert_eq!(u64::from(nsid), v(&format!("nsid{j}")));
        }
    }
    assert_eq!(log.groups().count(), 2);
}

fn check_resv_report(c: &C) {
    for (name, format) in [("resv", Format::Regular), ("resv_ext", Format::Extended)] {
        let bytes = c.hex(name);
        let report = ResvReport::new_checked(&bytes[..], format).unwrap();
        let h = report.header();
        let v = |f: &str| c.val(&format!("{name}.{f}"));
        assert_eq!(u64::from(h.generation), v("gen"));
        assert_eq!(
            u64::from(h.rtype.map_or(0, ReservationType::code)),
            v("rtype")
        );
        assert_eq!(u64::from(h.regctl), v("regctl"));
        assert_eq!(u64::from(h.ptpls), v("ptpls"));
        assert!(!report.is_truncated());
        let mut n = 0;
        for (i, r) in report.registrants().enumerate() {
            let v = |f: &str| c.val(&format!("{name}.r{i}.{f}"));
            assert_eq!(u64::from(r.cntlid), v("cntlid"));
            assert_eq!(u64::from(r.holds_reservation), v("rcsts"));
            assert_eq!(r.rkey, v("rkey"));
            match format {
                Format::Regular => {
                    assert_eq!(
                        u64::from_le_bytes(r.hostid[..8].try_into().unwrap()),
                        v("hostid")
                    );
                    assert_eq!(&r.hostid[8..], &[0; 8]);
                }
                Format::Extended => {
                    assert_eq!(r.hostid.to_vec(), c.hex(&format!("{name}.r{i}.hostid")));
                }
            }
            n += 1;
        }
        assert_eq!(n, v("regctl"));
    }
}

fn check_notification(c: &C) {
    let page = ResvNotificationRepr::parse(&c.hex("resv_notification")).unwrap();
    assert_eq!(page.log_page_count, c.val("rn.lpc"));
    assert_eq!(u64::from(page.kind.code()), c.val("rn.rnlpt"));
    assert_eq!(u64::from(page.available), c.val("rn.nalp"));
    assert_eq!(u64::from(page.nsid), c.val("rn.nsid"));
    assert_eq!(page.kind, NotificationType::ReservationPreempted);
}

fn check_identify(c: &C) {
    let id = IdentifyControllerRepr::parse(&c.hex("id_ctrl")).unwrap();
    let v = |f: &str| c.val(&format!("id_ctrl.{f}"));
    assert_eq!(u64::from(id.cmic.bits()), v("cmic"));
    assert_eq!(u64::from(id.cntlid), v("cntlid"));
    assert_eq!(u64::from(id.ver.to_u32()), v("ver"));
    assert_eq!(u64::from(id.crdt.0[0]), v("crdt1"));
    assert_eq!(u64::from(id.crdt.0[1]), v("crdt2"));
    assert_eq!(u64::from(id.crdt.0[2]), v("crdt3"));
    assert_eq!(u64::from(id.nn), v("nn"));
    assert_eq!(u64::from(id.oncs.bits()), v("oncs"));
    assert_eq!(u64::from(id.mnan), v("mnan"));
    assert_eq!(u64::from(id.anatt), v("anatt"));
    assert_eq!(u64::from(id.anacap.bits()), v("anacap"));
    assert_eq!(u64::from(id.anagrpmax), v("anagrpmax"));
    assert_eq!(u64::from(id.nanagrpid), v("nanagrpid"));
    assert_eq!(
        id.subnqn.unwrap().as_str().unwrap(),
        c.get("str id_ctrl.subnqn")
    );
    assert!(id.supports_ana() && id.supports_reservations());

    let ns = IdentifyNamespaceRepr::parse(&c.hex("id_ns")).unwrap();
    let v = |f: &str| c.val(&format!("id_ns.{f}"));
    assert_eq!(ns.nsze, v("nsze"));
    assert_eq!(ns.ncap, v("ncap"));
    assert_eq!(ns.nuse, v("nuse"));
    assert_eq!(u64::from(ns.nmic.bits()), v("nmic"));
    assert_eq!(u64::from(ns.rescap.bits()), v("rescap"));
    assert_eq!(u64::from(ns.anagrpid), v("anagrpid"));
}
