//! `mpathpersist` for one LUN over every portal: log in one nexus per
//! portal, run persistent-reservation commands across all of them through
//! the reservation coordinator, and show each nexus with its registration
//! state. The `mpathpersist` example is a thin `main` over [`run`].
//!
//! ```text
//! mpathpersist --portal 127.0.0.1:3260 --portal 127.0.0.2:3260 \
//!     --target iqn.2024-01.org.example:disk --lun 1 \
//!     --initiator iqn.2024-01.org.example:host --key 0xa1 COMMAND...
//! ```
//!
//! Commands run in order in one invocation (one set of sessions):
//! `status`, `register`, `unregister`, `reserve TYPE`, `release`,
//! `preempt KEY TYPE`, `clear`, `read-keys`, `read-reservation`. TYPE is
//! `we`, `ea`, `we-ro`, `ea-ro`, `we-ar`, `ea-ar` or the SPC code (1, 3, 5,
//! 6, 7, 8). Like `mpathpersist`, commands that need a registration
//! (reserve, release, preempt, clear) first register `--key` on every
//! nexus with REGISTER AND IGNORE EXISTING KEY, which is harmless when it
//! is registered already. Sessions are new I_T nexuses on each invocation
//! for targets that name the nexus by session (tgt does).

use std::io::Write;

use mpath_core::outcome::ProbeResult;
use mpath_core::reservation::{PrCommand, PrOp, PrType, RegState};

use crate::fabric::{BatchOutcome, Fabric, FabricError};
use crate::host::Host;
use crate::nexus::{CommandResult, IscsiNexus, NexusConfig};
use crate::pr_transport::PrAnswer;

/// One command of the tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Show every nexus and the target's keys and reservation.
    Status,
    /// Register `--key` on every nexus.
    Register,
    /// Remove our registrations.
    Unregister,
    /// Reserve with this type.
    Reserve(PrType),
    /// Release our reservation.
    Release,
    /// Preempt `victim`, holding `rtype` afterwards.
    Preempt {
        /// The key to preempt.
        victim: u64,
        /// The type to hold.
        rtype: PrType,
    },
    /// Clear every registration and the reservation.
    Clear,
    /// List the registered keys.
    ReadKeys,
    /// Show the reservation.
    ReadReservation,
}

/// Parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    /// Portals, `host:port`, one nexus each.
    pub portals: Vec<String>,
    /// Target name.
    pub target: String,
    /// LUN.
    pub lun: u32,
    /// Initiator name.
    pub initiator: String,
    /// Our reservation key.
    pub key: Option<u64>,
    /// Commands, in order.
    pub commands: Vec<Command>,
}

/// The usage text.
pub const USAGE: &str = "usage: mpathpersist --portal HOST:PORT [--portal ...] --target IQN \
[--lun N] --initiator IQN [--key KEY] COMMAND...\n\
commands: status | register | unregister | reserve TYPE | release | preempt KEY TYPE | \
clear | read-keys | read-reservation\n\
types: we ea we-ro ea-ro we-ar ea-ar (or 1 3 5 6 7 8)";

/// A key in hex, `0x` optional, as `mpathpersist` takes it.
pub fn parse_key(s: &str) -> Result<u64, String> {
    let t = s.trim_start_matches("0x").trim_start_matches("0X");
    u64::from_str_radix(t, 16).map_err(|_| format!("bad key {s:?} (hex expected)"))
}

/// A reservation type by short name or SPC code.
pub fn parse_type(s: &str) -> Result<PrType, String> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "we" | "1" => PrType::WriteExclusive,
        "ea" | "3" => PrType::ExclusiveAccess,
        "we-ro" | "5" => PrType::WriteExclusiveRegistrantsOnly,
        "ea-ro" | "6" => PrType::ExclusiveAccessRegistrantsOnly,
        "we-ar" | "7" => PrType::WriteExclusiveAllRegistrants,
        "ea-ar" | "8" => PrType::ExclusiveAccessAllRegistrants,
        _ => return Err(format!("bad type {s:?}")),
    })
}

/// The short name of a type.
pub fn type_name(t: PrType) -> &'static str {
    match t {
        PrType::WriteExclusive => "we",
        PrType::ExclusiveAccess => "ea",
        PrType::WriteExclusiveRegistrantsOnly => "we-ro",
        PrType::ExclusiveAccessRegistrantsOnly => "ea-ro",
        PrType::WriteExclusiveAllRegistrants => "we-ar",
        PrType::ExclusiveAccessAllRegistrants => "ea-ar",
    }
}

/// Parse arguments (without the program name).
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Args, String> {
    let mut a = Args {
        portals: Vec::new(),
        target: String::new(),
        lun: 1,
        initiator: String::new(),
        key: None,
        commands: Vec::new(),
    };
    let mut it = args.into_iter();
    let value =
        |it: &mut I::IntoIter, flag: &str| it.next().ok_or_else(|| format!("{flag} needs a value"));
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--portal" => a.portals.push(value(&mut it, "--portal")?),
            "--target" => a.target = value(&mut it, "--target")?,
            "--initiator" => a.initiator = value(&mut it, "--initiator")?,
            "--lun" => {
                let v = value(&mut it, "--lun")?;
                a.lun = v.parse().map_err(|_| format!("bad LUN {v:?}"))?;
            }
            "--key" => a.key = Some(parse_key(&value(&mut it, "--key")?)?),
            "status" => a.commands.push(Command::Status),
            "register" => a.commands.push(Command::Register),
            "unregister" => a.commands.push(Command::Unregister),
            "reserve" => {
                let t = parse_type(&value(&mut it, "reserve")?)?;
                a.commands.push(Command::Reserve(t));
            }
            "release" => a.commands.push(Command::Release),
            "preempt" => {
                let victim = parse_key(&value(&mut it, "preempt")?)?;
                let rtype = parse_type(&value(&mut it, "preempt")?)?;
                a.commands.push(Command::Preempt { victim, rtype });
            }
            "clear" => a.commands.push(Command::Clear),
            "read-keys" => a.commands.push(Command::ReadKeys),
            "read-reservation" => a.commands.push(Command::ReadReservation),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if a.portals.is_empty() || a.target.is_empty() || a.initiator.is_empty() {
        return Err(format!(
            "--portal, --target and --initiator are required\n{USAGE}"
        ));
    }
    if a.commands.is_empty() {
        a.commands.push(Command::Status);
    }
    Ok(a)
}

/// One nexus per portal; nexuses that failed to log in stay as `None`.
#[derive(Debug)]
struct PortalFabric {
    nexuses: Vec<(String, Option<IscsiNexus>)>,
}

impl PortalFabric {
    fn nexus(&mut self, i: usize) -> Option<&mut IscsiNexus> {
        self.nexuses.get_mut(i).and_then(|(_, n)| n.as_mut())
    }
}

fn unsupported<T>() -> Result<T, FabricError> {
    Err(FabricError(String::from("not supported by mpathpersist")))
}

impl Fabric for PortalFabric {
    fn describe(&self) -> String {
        String::from("portals")
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

fn io(e: std::io::Error) -> String {
    e.to_string()
}

/// Log in through every portal, run the commands, print to `out`. A
/// command the target or the coordinator refuses is printed and makes the
/// result an error after the remaining commands ran.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<(), String> {
    let mut fabric = PortalFabric {
        nexuses: Vec::new(),
    };
    for (i, portal) in args.portals.iter().enumerate() {
        let mut cfg = NexusConfig::new(
            portal,
            &args.target,
            &args.initiator,
            args.lun,
            u16::try_from(i + 1).unwrap_or(u16::MAX),
        );
        cfg.alias = Some(format!("mpathpersist-{i}"));
        match IscsiNexus::connect(cfg) {
            Ok(n) => fabric.nexuses.push((portal.clone(), Some(n))),
            Err(e) => {
                writeln!(out, "nexus {i} {portal}: login failed: {e}").map_err(io)?;
                fabric.nexuses.push((portal.clone(), None));
            }
        }
    }
    let mut host = Host::new(&mut fabric).map_err(|e| e.to_string())?;
    // A nexus that did not log in is not added (it cannot be identified);
    // the status lines show it down.
    for why in &host.refused {
        writeln!(out, "{why}").map_err(io)?;
    }
    let mut failed = Vec::new();
    for &cmd in &args.commands {
        if let Err(e) = command(&mut host, args, cmd, out) {
            writeln!(out, "{cmd:?}: {e}").map_err(io)?;
            failed.push(format!("{cmd:?}: {e}"));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

fn command(
    h: &mut Host<'_, PortalFabric>,
    args: &Args,
    cmd: Command,
    out: &mut dyn Write,
) -> Result<(), String> {
    let key = || args.key.ok_or_else(|| String::from("--key is required"));
    let need_registration = matches!(
        cmd,
        Command::Reserve(_) | Command::Release | Command::Preempt { .. } | Command::Clear
    );
    if need_registration && h.coordinator().key() != Some(key()?) {
        h.op(PrOp::Register(key()?)).map_err(|e| e.to_string())?;
    }
    let report = match cmd {
        Command::Status => return status(h, args, out),
        Command::Register => h.op(PrOp::Register(key()?)),
        Command::Unregister => h.op(PrOp::Unregister),
        Command::Reserve(t) => h.op(PrOp::Reserve(t)),
        Command::Release => h.op(PrOp::Release),
        Command::Preempt { victim, rtype } => h.op(PrOp::Preempt {
            victim,
            rtype,
            abort: false,
        }),
        Command::Clear => h.op(PrOp::Clear),
        Command::ReadKeys => return read_keys(h, args, out),
        Command::ReadReservation => return read_reservation(h, args, out),
    }
    .map_err(|e| e.to_string())?;
    writeln!(
        out,
        "{cmd:?}: done; registered on {} nexus(es), failed on {}",
        report.registered.count_ones(),
        report.failed.count_ones()
    )
    .map_err(io)?;
    status(h, args, out)
}

fn first_up(h: &mut Host<'_, PortalFabric>) -> Option<usize> {
    (0..h.fabric().nexus_count()).find(|&i| h.fabric().nexus(i).is_some_and(|n| n.is_connected()))
}

fn raw(h: &mut Host<'_, PortalFabric>, cmd: PrCommand) -> Result<PrAnswer, String> {
    let i = first_up(h).ok_or("no nexus is up")?;
    Ok(h.fabric().pr(i, cmd).answer)
}

fn show_key(k: u64, ours: Option<u64>) -> String {
    if Some(k) == ours {
        format!("{k:#x} (ours)")
    } else {
        format!("{k:#x}")
    }
}

fn read_keys(
    h: &mut Host<'_, PortalFabric>,
    args: &Args,
    out: &mut dyn Write,
) -> Result<(), String> {
    match raw(h, PrCommand::ReadKeys)? {
        PrAnswer::Keys(keys) => {
            writeln!(out, "keys: {} registered", keys.len()).map_err(io)?;
            for k in keys {
                writeln!(out, "  key {}", show_key(k, args.key)).map_err(io)?;
            }
            Ok(())
        }
        other => Err(format!("READ KEYS: {other:?}")),
    }
}

fn read_reservation(
    h: &mut Host<'_, PortalFabric>,
    args: &Args,
    out: &mut dyn Write,
) -> Result<(), String> {
    match raw(h, PrCommand::ReadReservation)? {
        PrAnswer::Reservation(None) => writeln!(out, "reservation: none").map_err(io),
        PrAnswer::Reservation(Some((k, t))) => writeln!(
            out,
            "reservation: {} type {}",
            show_key(k, args.key),
            type_name(t)
        )
        .map_err(io),
        other => Err(format!("READ RESERVATION: {other:?}")),
    }
}

fn state_name(s: Option<RegState>, key_set: bool) -> &'static str {
    match (s, key_set) {
        (Some(RegState::Registered), true) => "registered",
        (Some(RegState::Registering), _) => "registering",
        (Some(RegState::Failed), _) => "registration failed",
        (Some(RegState::Stale), _) => "stale",
        _ => "not registered",
    }
}

/// One line per nexus, then the target's keys and reservation.
fn status(h: &mut Host<'_, PortalFabric>, args: &Args, out: &mut dyn Write) -> Result<(), String> {
    let key_set = h.coordinator().key().is_some();
    let holder = h.holder();
    for i in 0..h.fabric().nexus_count() {
        let portal = h
            .fabric()
            .nexuses
            .get(i)
            .map(|(p, _)| p.clone())
            .unwrap_or_default();
        let up = h.fabric().probe(i);
        let state = h.path(i).and_then(|p| h.coordinator().state(p));
        let link = if up == ProbeResult::Down {
            "down"
        } else {
            "up"
        };
        let mut line = format!("nexus {i} {portal}: {link}, {}", state_name(state, key_set));
        if holder == Some(i) {
            line.push_str(", reservation holder");
        }
        writeln!(out, "{line}").map_err(io)?;
    }
    if h.coordinator().is_fenced() {
        writeln!(out, "fenced: another host preempted our registration").map_err(io)?;
    }
    read_keys(h, args, out)?;
    read_reservation(h, args, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        parse_args(s.split_whitespace().map(String::from))
    }

    #[test]
    fn command_line_is_parsed_in_order() {
        let a = args(
            "--portal a:1 --portal b:1 --target t --lun 2 --initiator i --key 0xA1 \
             register reserve we-ro preempt b2 5 status",
        )
        .unwrap();
        assert_eq!(a.portals, ["a:1", "b:1"]);
        assert_eq!((a.lun, a.key), (2, Some(0xa1)));
        assert_eq!(
            a.commands,
            [
                Command::Register,
                Command::Reserve(PrType::WriteExclusiveRegistrantsOnly),
                Command::Preempt {
                    victim: 0xb2,
                    rtype: PrType::WriteExclusiveRegistrantsOnly
                },
                Command::Status
            ]
        );
    }

    #[test]
    fn bad_command_lines_are_refused() {
        assert!(args("--target t --initiator i status").is_err());
        assert!(args("--portal a:1 --target t --initiator i reserve xx").is_err());
        assert!(args("--portal a:1 --target t --initiator i --key zz").is_err());
        assert!(args("--portal a:1 --target t --initiator i frob").is_err());
        let a = args("--portal a:1 --target t --initiator i").unwrap();
        assert_eq!(a.commands, [Command::Status]);
    }
}
