//! `mpathpersist` over iSCSI: multipath-tools' command line and exit
//! statuses, one libiscsi session (one I_T nexus) per `--portal`, and
//! PERSISTENT RESERVE OUT carried out by the reservation coordinator of a
//! [`Host`] across all of them. The `mpathpersist` example is a thin `main`
//! over [`run`]; each invocation is one set of sessions, as each run of
//! multipath-tools' tool is one process.
//!
//! ```text
//! mpathpersist --portal 127.0.0.2:3260 --portal 127.0.0.3:3260 \
//!     --target iqn.2024-01.org.example:disk --lun 1 \
//!     --initiator iqn.2024-01.org.example:host1 \
//!     --out --register --param-sark=a1          # one registration per nexus
//! mpathpersist ... --out --reserve --param-rk=a1 --prout-type=5
//! mpathpersist ... --in --read-keys             # "    0xa1" per registration
//! mpathpersist ... --out --release --param-rk=a1 --prout-type=5
//! mpathpersist ... --out --register --param-rk=a1 --param-sark=0
//! ```
//!
//! The logical unit is given by `--portal` (repeatable), `--target`,
//! `--lun` (default 1) and `--initiator`, or by a DEVICE (positional or
//! `-d`) `iscsi://HOST[:PORT]/TARGET/LUN`, which adds its portal first.
//!
//! # Options and what they do here
//!
//! | option | here |
//! |---|---|
//! | `-i` `-k` / `-r` / `-s` / `-c` | READ KEYS / READ RESERVATION / READ FULL STATUS / REPORT CAPABILITIES, sent raw on the first nexus that answers (they change nothing), printed as `mpathpersist` prints them |
//! | `-o -G -S SARK [-K RK]` | register SARK on every nexus (REGISTER AND IGNORE EXISTING KEY through the coordinator, which verifies with READ KEYS); RK, when given, must be registered now, as the target's REGISTER would require; registrations of RK that the run could not replace are preempted. `-S 0` unregisters RK everywhere, RK required |
//! | `-o -I -S SARK` | the same without the RK check; `-S 0` unregisters this run's nexuses, and with `-K RK` every registration of RK |
//! | `-o -R -K RK -T TYPE` | reserve; a reservation this host's key already holds with that type is success (as libmpathpersist does), any other holder a conflict |
//! | `-o -L -K RK [-T TYPE]` | release through the coordinator, which takes a reservation held through a nexus it cannot reach (an earlier run's session) over first; checked afterwards with READ RESERVATION. Held by another key: exit 11, nothing sent. No reservation: exit 0, nothing sent |
//! | `-o -C -K RK` | clear |
//! | `-o -P` / `-A -K RK -S SARK -T TYPE` | preempt (and abort) SARK; checked afterwards with READ KEYS |
//! | `-Z`, `-Y` | APTPL and ALL_TG_PT on every registration this run makes (the coordinator's [`PrOptions`]), after REPORT CAPABILITIES says the target supports them (PTPL_C, ATP_C; tgt supports neither: exit 5, nothing sent) |
//! | `-o -G -S SARK -X TIDS` | SPEC_I_PT, after REPORT CAPABILITIES says the target supports it (SIP_C; tgt does not: exit 5, nothing sent): REGISTER with SPEC_I_PT raw on the first of this run's nexuses that is not registered (SPC-4 5.13.7: a registered one may not send it; a RESERVATION CONFLICT says it is, and the next is tried; every one: exit 11), which registers that nexus and the initiator ports TIDS names; then SARK on every nexus through the coordinator, as plain `-G`. Registrations of SARK on I_T nexuses this run did not log in are the TIDS' then, not an earlier run's, and stay |
//! | `-o -M -K RK -S SARK -X TID [-T TYPE] [-Q RTPI]` | REGISTER AND MOVE through the coordinator (rule 12): RK's single-holder reservation (READ RESERVATION first: none is exit 15, another key's or an all-registrants one exit 11, a `-T` that differs exit 11, nothing sent) goes to the I_T nexus of TID through relative target port RTPI (default: the holder's port), registered with SARK; RK's registrations stay. A reservation held through a nexus the run does not know is taken over first (PREEMPT of RK, as for `-L`). Checked afterwards with READ RESERVATION. A target without it (tgt: ILLEGAL REQUEST) is exit 5 |
//! | `-X TIDS` words | `iqn.NAME[,i,0xISID]`, `eui.NAME`, `fcp,WWPN`, `naa.WWPN`, `sas,ADDRESS` ([`tid`]); a word that is none of these is exit 1, named |
//! | `-v LEVEL` | 1 and up: every nexus and its registration state on stderr after a PR Out command |
//!
//! Every PR Out command but a registration needs RK registered already:
//! the run registers it on its own nexuses only if READ KEYS shows it
//! somewhere. A key that is gone was removed by another host (fenced) or
//! never registered, and registering it again would slip behind the fence
//! (the coordinator's rule 7); the run fails with exit 11 instead.
//!
//! # Exit statuses
//!
//! multipath-tools' `MPATH_PR_*` codes ([`ExitStatus`]): 0 success, 1
//! syntax error, 2-9 the target's sense key, 10 malformed PR IN data, 11
//! reservation conflict (also: the reservation is another key's, or our key
//! is not registered), 13 no path available (no portal logged in), 15
//! anything else, including a command the target answered GOOD without
//! doing it. `--help` exits 0.
//!
//! # I_T nexuses across runs
//!
//! A registration belongs to an I_T nexus, which iSCSI names by the
//! initiator name plus the ISID (RFC 7143 10.12.5; SPC-4 TransportID
//! format 01b). Each run logs in nexus `i` with the fixed ISID qualifier
//! [`isid_qualifier`]`(initiator, i)`, so a target that names nexuses that
//! way (LIO, SPC-conforming arrays) sees the same I_T nexuses on every run
//! and a registration made by one run is the next run's. tgt does not: it
//! names the I_T nexus by session (its TSIH and creation time), so every
//! login is a new nexus and the previous run's registrations stay behind.
//! After registering, a run therefore counts its key: more registrations
//! of it than nexuses it registered means registrations on I_T nexuses it
//! did not log in. The key is this host's, so those are earlier sessions'
//! leftovers, and a PREEMPT of the key from one of the run's own nexuses
//! removes them (SPC-4 5.13.11.2.4: every other registration of the key
//! goes, and a reservation the key holds moves to that nexus with its
//! type): through the coordinator (its move) when the key holds a
//! single-holder reservation, which may sit on one of the run's nexuses
//! and must not be released by unregistering it; otherwise raw, after
//! unregistering the run's nexuses, and those register again afterwards.
//! Not done with ALL_TG_PT, where one registration legitimately shows once
//! per target port. Two runs with the same initiator name at once log in
//! with the same ISIDs, and the target reinstates one's sessions in place
//! of the other's.

use std::ffi::OsString;
use std::io::Write;

use clap::{CommandFactory, Parser};
use mpath_core::reservation::RegistrationScope;
use mpath_scsi::{PrInAction, PrOptions};

use crate::fabric::{BatchOutcome, Fabric, FabricError};
use crate::host::Host;
use crate::nexus::{CommandResult, IscsiNexus, NexusConfig};

#[path = "persist_cli.rs"]
pub mod cli;
#[path = "persist_out.rs"]
mod out;
#[path = "persist_show.rs"]
pub mod show;
#[path = "persist_tid.rs"]
pub mod tid;

pub use cli::{Cli, InAction, Invocation, Lun, OutAction, OutRequest, Refusal, Request};

/// The tool's exit status: multipath-tools' `MPATH_PR_*` return codes
/// (`libmpathpersist/mpath_persist.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ExitStatus {
    /// MPATH_PR_SUCCESS.
    Success = 0,
    /// MPATH_PR_SYNTAX_ERROR: syntax error or invalid parameter.
    SyntaxError = 1,
    /// MPATH_PR_SENSE_NOT_READY: sense key 2.
    NotReady = 2,
    /// MPATH_PR_SENSE_MEDIUM_ERROR: sense key 3.
    MediumError = 3,
    /// MPATH_PR_SENSE_HARDWARE_ERROR: sense key 4.
    HardwareError = 4,
    /// MPATH_PR_ILLEGAL_REQ: sense key 5.
    IllegalRequest = 5,
    /// MPATH_PR_SENSE_UNIT_ATTENTION: sense key 6.
    UnitAttention = 6,
    /// MPATH_PR_SENSE_INVALID_OP: sense key 5, ASC 20h.
    InvalidOp = 7,
    /// MPATH_PR_SENSE_ABORTED_COMMAND: sense key Bh.
    AbortedCommand = 8,
    /// MPATH_PR_NO_SENSE: sense key 0.
    NoSense = 9,
    /// MPATH_PR_SENSE_MALFORMED: the response was malformed.
    Malformed = 10,
    /// MPATH_PR_RESERV_CONFLICT.
    ReservationConflict = 11,
    /// MPATH_PR_FILE_ERROR: the device node (unused: no device node here).
    FileError = 12,
    /// MPATH_PR_DMMP_ERROR, which libmpathpersist returns when no path is
    /// available: here, no portal logged in.
    NoPath = 13,
    /// MPATH_PR_THREAD_ERROR (unused).
    ThreadError = 14,
    /// MPATH_PR_OTHER: anything else, "not supported" included.
    Other = 15,
}

impl ExitStatus {
    /// The process exit code.
    pub const fn code(self) -> u8 {
        self as u8
    }
}

/// Why a run failed after logging in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The exit status.
    pub status: ExitStatus,
    /// Why, for stderr.
    pub message: String,
}

impl Failure {
    fn new(status: ExitStatus, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }
}

/// The ISID qualifier of nexus `index` of `initiator`: `8000h`, seven bits
/// of the initiator name's FNV-1a hash, and `index + 1` in the low byte.
/// Fixed per name and portal index, so every run logs in the same I_T
/// nexuses; the top bit keeps it apart from the qualifiers the test
/// fabrics use (1, 2, ...), so a tool run with their initiator name does
/// not reinstate (log out) one of their sessions. With libiscsi's ISID
/// layout ([`crate::nexus::isid`]) the whole ISID is `80 4d 50 49` and the
/// qualifier.
pub fn isid_qualifier(initiator: &str, index: usize) -> u16 {
    let hash = initiator.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let [name, ..] = hash.to_be_bytes();
    let port = u8::try_from(index.saturating_add(1)).unwrap_or(u8::MAX);
    u16::from_be_bytes([0x80 | (name & 0x7f), port])
}

/// What the tool needs of the nexuses it runs over besides the
/// [`Fabric`]: whether each is logged in, and what to call it. The tool
/// logs in its own ([`ToolFabric`]); [`run_on`] takes any, the simulated
/// logical unit's included.
pub trait ToolNexuses: Fabric {
    /// Whether nexus `i` is logged in.
    fn is_up(&self, i: usize) -> bool;
    /// What to call nexus `i` (its portal).
    fn portal(&self, i: usize) -> String;
}

/// One nexus per portal; nexuses that failed to log in stay as `None`.
#[derive(Debug)]
pub struct ToolFabric {
    nexuses: Vec<(String, Option<IscsiNexus>)>,
}

impl ToolFabric {
    fn nexus(&mut self, i: usize) -> Option<&mut IscsiNexus> {
        self.nexuses.get_mut(i).and_then(|(_, n)| n.as_mut())
    }
}

impl ToolNexuses for ToolFabric {
    fn is_up(&self, i: usize) -> bool {
        self.nexuses
            .get(i)
            .and_then(|(_, n)| n.as_ref())
            .is_some_and(IscsiNexus::is_connected)
    }

    fn portal(&self, i: usize) -> String {
        self.nexuses
            .get(i)
            .map_or_else(String::new, |(p, _)| p.clone())
    }
}

/// The simulated logical unit's nexuses (every one logged in while not
/// cut; a cut one fails its commands at the transport).
impl ToolNexuses for mpath_sim::sim_fabric::SimFabric {
    fn is_up(&self, i: usize) -> bool {
        i < self.nexus_count()
    }

    fn portal(&self, i: usize) -> String {
        format!("simulated nexus {i}")
    }
}

fn unsupported<T>() -> Result<T, FabricError> {
    Err(FabricError(String::from("not supported by mpathpersist")))
}

impl Fabric for ToolFabric {
    fn describe(&self) -> String {
        String::from("mpathpersist portals")
    }
    fn nexus_count(&self) -> usize {
        self.nexuses.len()
    }
    fn block_size(&self) -> usize {
        512
    }
    fn add_nexus(&mut self) -> Result<usize, FabricError> {
        unsupported()
    }
    fn cut_nexus(&mut self, _: usize) -> Result<(), FabricError> {
        unsupported()
    }
    fn restore_nexus(&mut self, _: usize) -> Result<(), FabricError> {
        unsupported()
    }
    fn command(
        &mut self,
        i: usize,
        cdb: &[u8],
        data_out: Option<&[u8]>,
        data_in_len: usize,
    ) -> CommandResult {
        match self.nexus(i) {
            Some(n) => n.command(cdb, data_out, data_in_len),
            None => CommandResult::no_nexus(i),
        }
    }
    fn other_host_command(&mut self, _: &[u8], _: Option<&[u8]>, _: usize) -> CommandResult {
        CommandResult::transport_failure(
            mpath_scsi::TransportStatus::NoConnect,
            String::from("mpathpersist has no other host"),
        )
    }
    fn write_batch(
        &mut self,
        _: usize,
        _: &[(u64, &[u8])],
        _: bool,
    ) -> Result<BatchOutcome, FabricError> {
        unsupported()
    }
}

/// Run the tool: `argv` is the whole command line, program name first.
/// Results go to `out` as `mpathpersist` prints them; refusals and
/// failures to `err`. Returns the exit status.
pub fn run<I, T>(argv: I, out: &mut dyn Write, err: &mut dyn Write) -> ExitStatus
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    run_with(argv, out, err, |inv, out, err| {
        let mut fabric = login(&inv.lun, err);
        execute(inv, &mut fabric, out, err)
    })
}

/// Run the tool over `fabric`'s nexuses instead of logging in: the
/// command line is checked as [`run`] checks it (the device options
/// included), then carried out on `fabric` (the simulated logical unit in
/// the tests).
pub fn run_on<I, T, F>(
    argv: I,
    fabric: &mut F,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> ExitStatus
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
    F: ToolNexuses,
{
    run_with(argv, out, err, |inv, out, err| {
        execute(inv, fabric, out, err)
    })
}

fn run_with<I, T>(
    argv: I,
    out: &mut dyn Write,
    err: &mut dyn Write,
    exec: impl FnOnce(&Invocation, &mut dyn Write, &mut dyn Write) -> Result<(), Failure>,
) -> ExitStatus
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    // Output is best effort: a closed stdout must not turn a reservation
    // that was taken into a failure, nor hide the exit status.
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let text = e.render().to_string();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = out.write_all(text.as_bytes());
                    ExitStatus::Success
                }
                _ => {
                    let _ = err.write_all(text.as_bytes());
                    ExitStatus::SyntaxError
                }
            };
        }
    };
    let inv = match cli.check() {
        Ok(inv) => inv,
        Err(r) => {
            let _ = writeln!(err, "mpathpersist: {}", r.message);
            if r.status == ExitStatus::SyntaxError {
                let _ = writeln!(
                    err,
                    "{}\nFor more information, try '--help'.",
                    Cli::command().render_usage()
                );
            }
            return r.status;
        }
    };
    match exec(&inv, out, err) {
        Ok(()) => ExitStatus::Success,
        Err(f) => {
            // mpathpersist's own lines, then why.
            if matches!(inv.request, Request::Out(_)) {
                if f.status == ExitStatus::ReservationConflict {
                    let _ = writeln!(
                        out,
                        "persistent reserve out: scsi status: Reservation Conflict"
                    );
                }
                let _ = writeln!(out, "PR out: command failed");
            } else {
                let _ = writeln!(err, "Persistent Reserve IN command failed");
            }
            let _ = writeln!(err, "mpathpersist: {}", f.message);
            f.status
        }
    }
}

fn login(lun: &Lun, err: &mut dyn Write) -> ToolFabric {
    let mut fabric = ToolFabric {
        nexuses: Vec::new(),
    };
    for (i, portal) in lun.portals.iter().enumerate() {
        let mut cfg = NexusConfig::new(
            portal,
            &lun.target,
            &lun.initiator,
            lun.lun,
            isid_qualifier(&lun.initiator, i),
        );
        cfg.alias = Some(format!("mpathpersist-{i}"));
        match IscsiNexus::connect(cfg) {
            Ok(n) => fabric.nexuses.push((portal.clone(), Some(n))),
            Err(e) => {
                let _ = writeln!(err, "nexus {i} {portal}: login failed: {e}");
                fabric.nexuses.push((portal.clone(), None));
            }
        }
    }
    fabric
}

fn execute<F: ToolNexuses>(
    inv: &Invocation,
    fabric: &mut F,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    if !(0..fabric.nexus_count()).any(|i| fabric.is_up(i)) {
        return Err(Failure::new(
            ExitStatus::NoPath,
            "no path available: no portal logged in",
        ));
    }
    match &inv.request {
        Request::In(a) => {
            let action = match a {
                InAction::ReadKeys => PrInAction::ReadKeys,
                InAction::ReadReservation => PrInAction::ReadReservation,
                InAction::ReadFullStatus => PrInAction::ReadFullStatus,
                InAction::ReportCapabilities => PrInAction::ReportCapabilities,
            };
            let data = show::pr_in(fabric, action)?;
            let text = show::render(action, &data)?;
            let _ = out.write_all(text.as_bytes());
            Ok(())
        }
        Request::Out(r) => {
            let scope = if r.all_tg_pt {
                RegistrationScope::InitiatorPort
            } else {
                RegistrationScope::Nexus
            };
            let opts = PrOptions::new(scope)
                .map_err(|e| Failure::new(ExitStatus::Other, e.to_string()))?
                .with_aptpl(r.aptpl);
            let mut h = Host::with_pr_options(fabric, opts)
                .map_err(|e| Failure::new(ExitStatus::NoPath, format!("no path available: {e}")))?;
            for why in &h.refused {
                let _ = writeln!(err, "{why}");
            }
            let mut tool = out::Tool {
                h: &mut h,
                opts,
                verbose: inv.verbose,
                err,
            };
            let result = tool.prout(r);
            if inv.verbose >= 1 {
                tool.status();
            }
            result
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isids_are_fixed_per_name_and_portal_and_apart_from_the_fabrics() {
        let a = "iqn.2024-01.org.mpath:persist-a";
        let q: Vec<u16> = (0..4).map(|i| isid_qualifier(a, i)).collect();
        assert_eq!(q, (0..4).map(|i| isid_qualifier(a, i)).collect::<Vec<_>>());
        for (i, &x) in q.iter().enumerate() {
            assert_eq!(usize::from(x & 0xff), i + 1);
            assert!(x & 0x8000 != 0, "{x:#x}");
        }
        let b = isid_qualifier("iqn.2024-01.org.mpath:persist-b", 0);
        assert_ne!(b & 0x7f00, q[0] & 0x7f00, "names hash apart here");
    }

    fn run_str(line: &str) -> (ExitStatus, String, String) {
        let argv = std::iter::once("mpathpersist").chain(line.split_whitespace());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let s = run(argv, &mut out, &mut err);
        (
            s,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn help_exits_0_and_lists_mpathpersist_options() {
        let (s, out, _) = run_str("--help");
        assert_eq!(s, ExitStatus::Success);
        for opt in [
            "--out",
            "--in",
            "--register",
            "--register-ignore",
            "--reserve",
            "--release",
            "--clear",
            "--preempt",
            "--preempt-abort",
            "--register-move",
            "--read-keys",
            "--read-reservation",
            "--read-full-status",
            "--param-rk",
            "--param-sark",
            "--prout-type",
            "--param-aptpl",
            "--param-alltgpt",
            "--transport-id",
            "--relative-target-port",
            "--verbose",
            "--portal",
            "--target",
            "--lun",
            "--initiator",
        ] {
            assert!(out.contains(opt), "{opt} missing from:\n{out}");
        }
        assert_eq!(run_str("-h").0, ExitStatus::Success);
    }

    #[test]
    fn syntax_errors_exit_1_with_usage() {
        let (s, out, err) = run_str("--portal a:1 --target t --initiator i -k");
        assert_eq!((s, out.as_str()), (ExitStatus::SyntaxError, ""));
        assert!(err.contains("choose either '--in' or '--out'"), "{err}");
        assert!(err.contains("Usage:"), "{err}");
        let (s, _, err) = run_str("--frobnicate");
        assert_eq!(s, ExitStatus::SyntaxError);
        assert!(err.contains("--frobnicate"), "{err}");
        let (s, _, err) = run_str("--portal a:1 --target t --initiator i -o -M -K 1 -S 2");
        assert_eq!(s, ExitStatus::SyntaxError);
        assert!(err.contains("exactly one --transport-id"), "{err}");
        let (s, _, err) = run_str("--portal a:1 --target t --initiator i -o -G -S 1 -X bogus");
        assert_eq!(s, ExitStatus::SyntaxError);
        assert!(err.contains("\"bogus\""), "{err}");
        assert_eq!(ExitStatus::Other.code(), 15);
        assert_eq!(ExitStatus::ReservationConflict.code(), 11);
    }
}
