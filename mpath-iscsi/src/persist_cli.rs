//! The `mpathpersist` command line: multipath-tools' option set
//! (`mpathpersist/main.c`, which takes sg_persist's options) parsed with
//! clap, then checked the way `mpathpersist` checks it, into an
//! [`Invocation`]. Nothing here logs in or sends anything.

use clap::Parser;
use mpath_core::reservation::PrType;

use super::tid::{self, Tid};
use super::ExitStatus;

/// A refusal before anything was sent: what to print and the exit status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The exit status.
    pub status: ExitStatus,
    /// Why, for stderr.
    pub message: String,
}

impl Refusal {
    fn syntax(message: impl Into<String>) -> Self {
        Refusal {
            status: ExitStatus::SyntaxError,
            message: message.into(),
        }
    }
}

/// `mpathpersist [OPTIONS] [DEVICE]` over iSCSI.
#[derive(Parser, Debug, Clone, PartialEq, Eq)]
#[command(
    name = "mpathpersist",
    about = "SCSI persistent reservations on one logical unit over every iSCSI portal \
             (multipath-tools' mpathpersist options)",
    after_help = "Keys (RK, SARK) are hexadecimal, 0x optional. TYPE is the SPC code: \
                  1 Write Exclusive, 3 Exclusive Access, 5 Write Exclusive registrants only, \
                  6 Exclusive Access registrants only, 7 Write Exclusive all registrants, \
                  8 Exclusive Access all registrants.\n\
                  TIDS: iqn.NAME[,i,0xISID], eui.NAME, fcp,WWPN, naa.WWPN or sas,ADDRESS, \
                  several separated by commas or spaces, or -X given again.\n\
                  Exit status: 0 success, 1 syntax error, 2-9 the target's sense key \
                  (5 illegal request), 10 malformed response, 11 reservation conflict, \
                  13 no path available, 15 other error or not supported.",
    disable_version_flag = true
)]
pub struct Cli {
    /// Request a PR Out command.
    #[arg(short = 'o', long = "out")]
    pub out: bool,
    /// Request a PR In command.
    #[arg(short = 'i', long = "in")]
    pub r#in: bool,

    /// PR Out: Register (SARK is the new key, RK the current one or 0;
    /// SARK 0 unregisters RK).
    #[arg(short = 'G', long)]
    pub register: bool,
    /// PR Out: Register and Ignore (SARK is the new key; SARK 0 unregisters).
    #[arg(short = 'I', long = "register-ignore")]
    pub register_ignore: bool,
    /// PR Out: Reserve (RK is this host's key, TYPE required).
    #[arg(short = 'R', long)]
    pub reserve: bool,
    /// PR Out: Release (RK is this host's key).
    #[arg(short = 'L', long)]
    pub release: bool,
    /// PR Out: Clear every registration and the reservation.
    #[arg(short = 'C', long)]
    pub clear: bool,
    /// PR Out: Preempt SARK (TYPE required).
    #[arg(short = 'P', long)]
    pub preempt: bool,
    /// PR Out: Preempt and Abort SARK (TYPE required).
    #[arg(short = 'A', long = "preempt-abort")]
    pub preempt_abort: bool,
    /// PR Out: Register and Move: hand the reservation RK holds to the I_T
    /// nexus of the one --transport-id, registered with SARK (this host's
    /// registrations stay).
    #[arg(short = 'M', long = "register-move")]
    pub register_move: bool,

    /// PR In: Read Keys.
    #[arg(short = 'k', long = "read-keys")]
    pub read_keys: bool,
    /// PR In: Read Reservation.
    #[arg(short = 'r', long = "read-reservation")]
    pub read_reservation: bool,
    /// PR In: Read Full Status.
    #[arg(short = 's', long = "read-full-status")]
    pub read_full_status: bool,
    /// PR In: Report Capabilities.
    #[arg(short = 'c', long = "report-capabilities")]
    pub report_capabilities: bool,

    /// PR Out parameter reservation key (hex).
    #[arg(short = 'K', long = "param-rk", value_name = "RK", value_parser = parse_key)]
    pub param_rk: Option<u64>,
    /// PR Out parameter service action reservation key (hex).
    #[arg(short = 'S', long = "param-sark", value_name = "SARK", value_parser = parse_key)]
    pub param_sark: Option<u64>,
    /// PR Out command type (SPC code: 1, 3, 5, 6, 7, 8).
    #[arg(short = 'T', long = "prout-type", value_name = "TYPE", value_parser = parse_type)]
    pub prout_type: Option<PrType>,
    /// PR Out parameter APTPL, on every registration this run makes.
    #[arg(short = 'Z', long = "param-aptpl")]
    pub param_aptpl: bool,
    /// PR Out parameter ALL_TG_PT, on every registration this run makes.
    #[arg(short = 'Y', long = "param-alltgpt")]
    pub param_alltgpt: bool,
    /// TransportIDs: with --register, SPEC_I_PT (those initiator ports are
    /// registered with SARK too); with --register-move, the destination.
    #[arg(short = 'X', long = "transport-id", value_name = "TIDS")]
    pub transport_id: Vec<String>,
    /// --register-move: the relative target port through which the
    /// destination reaches the logical unit [default: the reservation
    /// holder's].
    #[arg(short = 'Q', long = "relative-target-port", value_name = "RTPI",
          value_parser = parse_rtpi)]
    pub relative_target_port: Option<u16>,
    /// Verbosity level 0-4; 1 and up print every nexus and its
    /// registration state to stderr.
    #[arg(short = 'v', long, value_name = "LEVEL",
          value_parser = clap::value_parser!(u8).range(0..=4))]
    pub verbose: Option<u8>,

    /// The logical unit as `iscsi://HOST[:PORT]/TARGET/LUN` (adds a portal).
    #[arg(short = 'd', long, value_name = "DEVICE")]
    pub device: Option<String>,
    /// The same as --device.
    #[arg(value_name = "DEVICE")]
    pub device_arg: Option<String>,
    /// Target portal HOST:PORT; one nexus each (repeatable).
    #[arg(long, value_name = "HOST:PORT")]
    pub portal: Vec<String>,
    /// Target name (IQN).
    #[arg(long, value_name = "IQN")]
    pub target: Option<String>,
    /// Logical unit number [default: 1].
    #[arg(long, value_name = "N")]
    pub lun: Option<u32>,
    /// This host's initiator name (IQN).
    #[arg(long, value_name = "IQN")]
    pub initiator: Option<String>,
}

/// A key in hex, `0x` optional, as `mpathpersist` takes `--param-rk`.
pub fn parse_key(s: &str) -> Result<u64, String> {
    let t = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u64::from_str_radix(t, 16).map_err(|_| format!("bad key {s:?}: up to 16 hex digits"))
}

/// A relative target port identifier, decimal or `0x` hex, 1 to 65535
/// (SPC-4 7.7.3.7: 0 is reserved).
pub fn parse_rtpi(s: &str) -> Result<u16, String> {
    let n = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u16::from_str_radix(h, 16),
        None => s.parse(),
    };
    n.ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| format!("bad relative target port {s:?}: 1 to 65535"))
}

/// A `--prout-type`: the SPC code, read as hex as `mpathpersist` does (the
/// six valid codes read the same in decimal).
pub fn parse_type(s: &str) -> Result<PrType, String> {
    let code = parse_key(s).map_err(|_| format!("bad type {s:?}"))?;
    type_from_code(code).ok_or_else(|| format!("bad type {s:?}: one of 1, 3, 5, 6, 7, 8"))
}

/// The reservation type of an SPC TYPE code (SPC-4 table 164).
pub const fn type_from_code(code: u64) -> Option<PrType> {
    Some(match code {
        1 => PrType::WriteExclusive,
        3 => PrType::ExclusiveAccess,
        5 => PrType::WriteExclusiveRegistrantsOnly,
        6 => PrType::ExclusiveAccessRegistrantsOnly,
        7 => PrType::WriteExclusiveAllRegistrants,
        8 => PrType::ExclusiveAccessAllRegistrants,
        _ => return None,
    })
}

/// A PR In service action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InAction {
    /// READ KEYS.
    ReadKeys,
    /// READ RESERVATION.
    ReadReservation,
    /// READ FULL STATUS.
    ReadFullStatus,
    /// REPORT CAPABILITIES.
    ReportCapabilities,
}

/// A PR Out service action the tool carries out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutAction {
    /// REGISTER: `rk` must be registered (or 0); `sark` 0 unregisters.
    Register,
    /// REGISTER AND IGNORE EXISTING KEY; `sark` 0 unregisters.
    RegisterIgnore,
    /// RESERVE.
    Reserve,
    /// RELEASE.
    Release,
    /// CLEAR.
    Clear,
    /// PREEMPT.
    Preempt,
    /// PREEMPT AND ABORT.
    PreemptAbort,
    /// REGISTER AND MOVE.
    RegisterMove,
}

/// A checked PR Out request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutRequest {
    /// The service action.
    pub action: OutAction,
    /// RESERVATION KEY: this host's key (0 when not given).
    pub rk: u64,
    /// SERVICE ACTION RESERVATION KEY (0 when not given).
    pub sark: u64,
    /// TYPE, when given.
    pub rtype: Option<PrType>,
    /// APTPL on the registrations this run makes.
    pub aptpl: bool,
    /// ALL_TG_PT on the registrations this run makes.
    pub all_tg_pt: bool,
    /// `--register`: the initiator ports SPEC_I_PT registers too;
    /// `--register-move`: the destination (exactly one).
    pub transport_ids: Vec<Tid>,
    /// `--register-move`: the destination's relative target port, when
    /// given.
    pub relative_target_port: Option<u16>,
}

/// What to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// A PR In command.
    In(InAction),
    /// A PR Out command.
    Out(OutRequest),
}

/// Where the logical unit is and who we are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lun {
    /// Portals, `host:port`, one nexus each.
    pub portals: Vec<String>,
    /// Target name.
    pub target: String,
    /// LUN.
    pub lun: u32,
    /// This host's initiator name.
    pub initiator: String,
}

/// A checked command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// What to do.
    pub request: Request,
    /// Where.
    pub lun: Lun,
    /// Verbosity (0-4).
    pub verbose: u8,
}

/// At most this many portals: the host's path capacity.
const MAX_PORTALS: usize = crate::host::PATHS;

/// `iscsi://HOST[:PORT]/TARGET/LUN` (libiscsi's URL form, without
/// credentials): portal, target, LUN.
fn parse_url(url: &str) -> Result<(String, String, u32), Refusal> {
    let bad = || {
        Refusal::syntax(format!(
            "device {url:?}: expected iscsi://HOST[:PORT]/TARGET/LUN \
             (this tool logs in itself; block devices are not supported)"
        ))
    };
    let rest = url.strip_prefix("iscsi://").ok_or_else(bad)?;
    let mut parts = rest.splitn(3, '/');
    let (Some(host), Some(target), Some(lun)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if host.is_empty() || host.contains('@') || target.is_empty() {
        return Err(bad());
    }
    let lun = lun.parse().map_err(|_| bad())?;
    let portal = if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host.to_owned()
    } else {
        format!("{host}:3260")
    };
    Ok((portal, target.to_owned(), lun))
}

impl Cli {
    /// Check the command line as `mpathpersist` does (one of `--in` and
    /// `--out`, exactly one service action of that kind, a device) and
    /// refuse what this tool does not do.
    pub fn check(self) -> Result<Invocation, Refusal> {
        let outs = [
            (self.register, OutAction::Register),
            (self.register_ignore, OutAction::RegisterIgnore),
            (self.reserve, OutAction::Reserve),
            (self.release, OutAction::Release),
            (self.clear, OutAction::Clear),
            (self.preempt, OutAction::Preempt),
            (self.preempt_abort, OutAction::PreemptAbort),
            (self.register_move, OutAction::RegisterMove),
        ];
        let ins = [
            (self.read_keys, InAction::ReadKeys),
            (self.read_reservation, InAction::ReadReservation),
            (self.read_full_status, InAction::ReadFullStatus),
            (self.report_capabilities, InAction::ReportCapabilities),
        ];
        let out_sa: Vec<OutAction> = outs.iter().filter(|(on, _)| *on).map(|&(_, a)| a).collect();
        let in_sa: Vec<InAction> = ins.iter().filter(|(on, _)| *on).map(|&(_, a)| a).collect();
        let request = match (self.out, self.r#in) {
            (false, false) | (true, true) => {
                return Err(Refusal::syntax("choose either '--in' or '--out'"))
            }
            (true, false) => {
                let ([action], []) = (out_sa.as_slice(), in_sa.as_slice()) else {
                    return Err(Refusal::syntax(
                        "for Persistent Reserve Out exactly one service action must be chosen",
                    ));
                };
                Request::Out(self.out_request(*action)?)
            }
            (false, true) => {
                if !out_sa.is_empty() {
                    return Err(Refusal::syntax(
                        "a service action for Persistent Reserve Out needs '--out'",
                    ));
                }
                let [one] = in_sa.as_slice() else {
                    return Err(Refusal::syntax(
                        "for Persistent Reserve In exactly one service action must be chosen",
                    ));
                };
                Request::In(*one)
            }
        };
        let lun = self.lun_of()?;
        Ok(Invocation {
            request,
            lun,
            verbose: self.verbose.unwrap_or(0),
        })
    }

    fn out_request(&self, action: OutAction) -> Result<OutRequest, Refusal> {
        let mut transport_ids = Vec::new();
        for arg in &self.transport_id {
            transport_ids.extend(tid::parse(arg).map_err(Refusal::syntax)?);
        }
        let r = OutRequest {
            action,
            rk: self.param_rk.unwrap_or(0),
            sark: self.param_sark.unwrap_or(0),
            rtype: self.prout_type,
            aptpl: self.param_aptpl,
            all_tg_pt: self.param_alltgpt,
            transport_ids,
            relative_target_port: self.relative_target_port,
        };
        if r.relative_target_port.is_some() && action != OutAction::RegisterMove {
            return Err(Refusal::syntax(
                "--relative-target-port is only useful with --register-move",
            ));
        }
        match action {
            _ if r.transport_ids.is_empty() => {}
            OutAction::Register if r.sark == 0 => {
                return Err(Refusal::syntax(
                    "--transport-id (SPEC_I_PT) registers --param-sark's key: give one",
                ))
            }
            OutAction::Register | OutAction::RegisterMove => {}
            // SPC-4 6.17.3: SPEC_I_PT is for REGISTER alone; the target
            // would refuse it with any other service action.
            _ => {
                return Err(Refusal::syntax(
                    "--transport-id goes with --register (SPEC_I_PT) or --register-move only",
                ))
            }
        }
        if action == OutAction::RegisterMove {
            if r.transport_ids.len() != 1 {
                return Err(Refusal::syntax(
                    "--register-move needs exactly one --transport-id: the destination",
                ));
            }
            if r.rk == 0 || r.sark == 0 {
                return Err(Refusal::syntax(
                    "--register-move needs --param-rk (this host's key) and --param-sark \
                     (the key the destination is registered with)",
                ));
            }
        }
        let needs_key = matches!(
            action,
            OutAction::Reserve
                | OutAction::Release
                | OutAction::Clear
                | OutAction::Preempt
                | OutAction::PreemptAbort
        );
        if needs_key && r.rk == 0 {
            return Err(Refusal::syntax("--param-rk (this host's key) is required"));
        }
        let needs_type = matches!(
            action,
            OutAction::Reserve | OutAction::Preempt | OutAction::PreemptAbort
        );
        if needs_type && r.rtype.is_none() {
            return Err(Refusal::syntax("--prout-type is required"));
        }
        if action == OutAction::Register && r.rk == 0 && r.sark == 0 {
            return Err(Refusal::syntax(
                "--register needs --param-sark (the new key) or --param-rk (the key to remove)",
            ));
        }
        Ok(r)
    }

    fn lun_of(&self) -> Result<Lun, Refusal> {
        let device = match (&self.device, &self.device_arg) {
            (Some(_), Some(extra)) => {
                return Err(Refusal::syntax(format!(
                    "unexpected extra argument: {extra}"
                )))
            }
            (d, a) => d.as_ref().or(a.as_ref()),
        };
        let mut portals = Vec::new();
        let (mut target, mut lun) = (self.target.clone(), self.lun);
        if let Some(url) = device {
            let (p, t, l) = parse_url(url)?;
            portals.push(p);
            if target.as_ref().is_some_and(|x| *x != t) || lun.is_some_and(|x| x != l) {
                return Err(Refusal::syntax(format!(
                    "device {url:?} names another target or LUN than --target / --lun"
                )));
            }
            target = Some(t);
            lun = Some(l);
        }
        portals.extend(self.portal.iter().cloned());
        let (Some(target), Some(initiator), false) =
            (target, self.initiator.clone(), portals.is_empty())
        else {
            return Err(Refusal::syntax(
                "no device given: --portal (or an iscsi:// DEVICE), --target and --initiator \
                 are required",
            ));
        };
        if portals.len() > MAX_PORTALS {
            return Err(Refusal::syntax(format!(
                "at most {MAX_PORTALS} portals (one nexus each)"
            )));
        }
        Ok(Lun {
            portals,
            target,
            lun: lun.unwrap_or(1),
            initiator,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LUN: &str = "--portal a:1 --target t --initiator i";

    fn check(s: &str) -> Result<Invocation, Refusal> {
        let argv = std::iter::once("mpathpersist").chain(s.split_whitespace());
        Cli::try_parse_from(argv)
            .map_err(|e| Refusal::syntax(e.to_string()))?
            .check()
    }

    fn status(s: &str) -> ExitStatus {
        check(s).map_or_else(|r| r.status, |_| ExitStatus::Success)
    }

    #[test]
    fn fence_mpath_command_lines_are_taken() {
        let lines = [
            (
                "-o --register --param-sark=a1",
                OutAction::Register,
                0,
                0xa1,
                None,
            ),
            (
                "-o --reserve --prout-type=5 --param-rk=a1",
                OutAction::Reserve,
                0xa1,
                0,
                Some(PrType::WriteExclusiveRegistrantsOnly),
            ),
            (
                "-o --preempt-abort --prout-type=5 --param-rk=a1 --param-sark=0xB2",
                OutAction::PreemptAbort,
                0xa1,
                0xb2,
                Some(PrType::WriteExclusiveRegistrantsOnly),
            ),
            (
                "-o -L -K a1 -T 8",
                OutAction::Release,
                0xa1,
                0,
                Some(PrType::ExclusiveAccessAllRegistrants),
            ),
            ("-oCK a1", OutAction::Clear, 0xa1, 0, None),
            (
                "--out --register-ignore -K a1 -S 0",
                OutAction::RegisterIgnore,
                0xa1,
                0,
                None,
            ),
        ];
        for (line, action, rk, sark, rtype) in lines {
            let inv = check(&format!("{line} {LUN}")).unwrap_or_else(|e| panic!("{line}: {e:?}"));
            let Request::Out(r) = inv.request else {
                panic!("{line}: {inv:?}")
            };
            assert_eq!(
                (r.action, r.rk, r.sark, r.rtype),
                (action, rk, sark, rtype),
                "{line}"
            );
        }
        for (line, action) in [
            ("-i -k", InAction::ReadKeys),
            ("-ir", InAction::ReadReservation),
            ("--in --read-full-status", InAction::ReadFullStatus),
            ("-i -c", InAction::ReportCapabilities),
        ] {
            let inv = check(&format!("{line} {LUN}")).unwrap();
            assert_eq!(inv.request, Request::In(action), "{line}");
        }
    }

    #[test]
    fn syntax_errors_exit_1() {
        for (line, want) in [
            ("-k", ExitStatus::SyntaxError),
            ("-i -o -k", ExitStatus::SyntaxError),
            ("-i -k -r", ExitStatus::SyntaxError),
            ("-i -G", ExitStatus::SyntaxError),
            ("-o -G -R -S 1", ExitStatus::SyntaxError),
            ("-o -R -K a1", ExitStatus::SyntaxError),
            ("-o -R -T 5", ExitStatus::SyntaxError),
            ("-o -R -K a1 -T 2", ExitStatus::SyntaxError),
            ("-o -R -K zz -T 5", ExitStatus::SyntaxError),
            ("-o -G", ExitStatus::SyntaxError),
            ("-i -k --frob", ExitStatus::SyntaxError),
            ("-i -k -v 9", ExitStatus::SyntaxError),
            // REGISTER AND MOVE: one destination, both keys.
            ("-o -M -K a1 -S b2", ExitStatus::SyntaxError),
            ("-o -M -K a1 -X iqn.x:y,i,0x1", ExitStatus::SyntaxError),
            ("-o -M -S b2 -X iqn.x:y,i,0x1", ExitStatus::SyntaxError),
            (
                "-o -M -K a1 -S b2 -X iqn.x:y,i,0x1,iqn.x:z,i,0x1",
                ExitStatus::SyntaxError,
            ),
            ("-o -M -K a1 -S b2 -X iqn.x:y -Q 0", ExitStatus::SyntaxError),
            (
                "-o -M -K a1 -S b2 -X iqn.x:y -Q 65536",
                ExitStatus::SyntaxError,
            ),
            ("-o -G -S a1 -Q 2", ExitStatus::SyntaxError),
            // SPEC_I_PT: with --register and a key only; words checked.
            ("-o -G -K a1 -S 0 -X iqn.x:y", ExitStatus::SyntaxError),
            ("-o -I -S a1 -X iqn.x:y", ExitStatus::SyntaxError),
            ("-o -R -K a1 -T 5 -X iqn.x:y", ExitStatus::SyntaxError),
            ("-o -G -S a1 -X host-b", ExitStatus::SyntaxError),
            ("-o -G -S a1 -X fcp,12", ExitStatus::SyntaxError),
        ] {
            assert_eq!(status(&format!("{line} {LUN}")), want, "{line}");
        }
        assert_eq!(
            status("-i -k --target t --initiator i"),
            ExitStatus::SyntaxError
        );
        assert_eq!(
            status("-i -k --portal a:1 --initiator i"),
            ExitStatus::SyntaxError
        );
    }

    #[test]
    fn transport_ids_and_register_and_move_are_taken() {
        let inv = check(&format!(
            "-o -G -S a1 -X iqn.2024-01.org.x:b,i,0x800053494d01 -X fcp,2000000000000001 {LUN}"
        ))
        .unwrap();
        let Request::Out(r) = inv.request else {
            panic!("{inv:?}")
        };
        assert_eq!((r.action, r.sark), (OutAction::Register, 0xa1));
        assert_eq!(
            r.transport_ids,
            [
                Tid::Iscsi {
                    name: "iqn.2024-01.org.x:b".into(),
                    isid: Some("800053494d01".into())
                },
                Tid::FibreChannel(0x2000_0000_0000_0001)
            ]
        );
        let inv = check(&format!(
            "--out --register-move --param-rk=a1 --param-sark=b2 --prout-type=1 \
             --transport-id=naa.21000024ff0a0b0c --relative-target-port=0x10 {LUN}"
        ))
        .unwrap();
        let Request::Out(r) = inv.request else {
            panic!("{inv:?}")
        };
        assert_eq!(
            (r.action, r.rk, r.sark, r.rtype, r.relative_target_port),
            (
                OutAction::RegisterMove,
                0xa1,
                0xb2,
                Some(PrType::WriteExclusive),
                Some(16)
            )
        );
        assert_eq!(r.transport_ids, [Tid::FibreChannel(0x2100_0024_ff0a_0b0c)]);
        // The bad word is named.
        let e = check(&format!("-o -G -S a1 -X iqn.x:y,i,0xZZ {LUN}")).unwrap_err();
        assert!(e.message.contains("\"0xZZ\""), "{}", e.message);
    }

    #[test]
    fn a_device_url_names_portal_target_and_lun() {
        let inv =
            check("-i -k --initiator i -d iscsi://10.0.0.1/iqn.x:disk/3 --portal b:1").unwrap();
        assert_eq!(inv.lun.portals, ["10.0.0.1:3260", "b:1"]);
        assert_eq!((inv.lun.target.as_str(), inv.lun.lun), ("iqn.x:disk", 3));
        let inv = check("-i -k --initiator i iscsi://h:3261/t/0").unwrap();
        assert_eq!(inv.lun.portals, ["h:3261"]);
        for bad in [
            "-i -k --initiator i /dev/mapper/mpatha",
            "-i -k --initiator i -d iscsi://h/t/0 iscsi://h/t/0",
            "-i -k --initiator i --target u -d iscsi://h/t/0",
        ] {
            assert_eq!(status(bad), ExitStatus::SyntaxError, "{bad}");
        }
    }
}
