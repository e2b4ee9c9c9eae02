//! A host as an embedder builds it: one [`Device`] (the controller and the
//! reservation coordinator behind one door) with the SCSI adapter beside
//! it, driven over a [`Fabric`]. Each fact goes in once: a nexus that
//! appears is identified (INQUIRY, VPD page 83h) and added
//! ([`ScsiAdapter::add_path`], which calls `Device::add_path`); a completed
//! I/O goes to `Device::handle_completion`, which takes a path that failed
//! it down for both halves; a nexus that logs in again is
//! `Device::nexus_replaced`. Then the host drains one output stream:
//! `Device::poll_action` (probes and access-state reads through the
//! adapter, `Action::Reservation` as PERSISTENT RESERVE OUT / IN through
//! the adapter's `pr_command`, answered with
//! `Device::handle_reservation_reply`, held I/O dispatched or failed) and
//! `Device::poll_event`. Every command the host sends (PR commands, reads,
//! writes; not probes and INQUIRY, which a reservation allows anyway) is
//! logged per nexus so a scenario can check the order (registered before
//! the first write).
//!
//! Nothing the device or the adapter refuses is dropped: an input refused
//! with a typed error is returned as a [`HostError`]; what is answered
//! rather than returned (a PR response whose data could not be used, an
//! action this logical unit cannot carry out, a nexus that could not be
//! added) is written to [`Host::refused`], which the scenarios require to
//! be empty. One adapter error is neither: an access-state read that the
//! nexus failed under (cut, timed out) is a path's failure, which the
//! adapter has already reported to the device (its refresh failed and is
//! retried); it is counted in [`Host::failed_refreshes`].
//!
//! Time is virtual: each input advances the clock by a millisecond and held
//! I/O jumps it to the core's next deadline. The real target does not see
//! our clock; the failed attempts the quiesce time guards against have
//! already ended (libiscsi returned them) when the retry goes out.

use std::fmt;

use mpath_core::reservation::{
    Coordinator, PrAction, PrCommand, PrError, PrEvent, PrOp, PrReply, PrReport,
};
use mpath_core::{
    Action, Config, DataPlane, Device, DeviceError, DeviceEvent, Duration, Instant, IoError,
    LinkEvent, NexusId, Outcome, PathId, Ticket,
};
use mpath_scsi::{
    path_spec, AdapterError, Applied, CommandKind, ItNexus, PathIdentity, RtpgApplied, ScsiAdapter,
    TransportId,
};

use crate::fabric::{Fabric, FabricError};
use crate::pr_transport;

/// Path capacity of the host.
pub const PATHS: usize = 8;

/// Actions one [`Host::settle`] carries out at most: far more than a few
/// nexuses' probes and reservation commands; a device that asks for more
/// never goes quiet.
const MAX_ACTIONS: usize = 1024;

/// Rounds of a loop waiting for the device (held I/O, `Busy`, a batch).
const MAX_ROUNDS: usize = 512;

/// What the host sent on a nexus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// A PR command.
    Pr(PrCommand),
    /// A WRITE at this LBA.
    Write(u64),
    /// A READ at this LBA.
    Read(u64),
}

/// The device let held I/O go ([`Host::dispatches`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dispatched {
    /// Commands in [`Host::log`] when it was dispatched.
    pub log_len: usize,
    /// The nexus it was dispatched to.
    pub nexus: Option<usize>,
    /// Whether the coordinator was holding I/O (a move, a check) then.
    pub quiesced: bool,
    /// The reservation holder's nexus then.
    pub holder: Option<usize>,
}

/// Why the host could not do what it was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostError {
    /// The core ended the I/O with this error.
    Io(IoError),
    /// The device refused an input (a stale path, time going backwards).
    Core(mpath_core::Error),
    /// The reservation coordinator refused or failed the operation.
    Reservation(PrError),
    /// The SCSI adapter refused a path, a response or an action.
    Adapter(AdapterError),
    /// The fabric failed, or the device never settled.
    Stuck(String),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Io(e) => write!(f, "{e}"),
            HostError::Core(e) => write!(f, "device: {e}"),
            HostError::Reservation(e) => write!(f, "{e}"),
            HostError::Adapter(e) => write!(f, "SCSI adapter: {e}"),
            HostError::Stuck(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for HostError {}

impl From<mpath_core::Error> for HostError {
    fn from(e: mpath_core::Error) -> Self {
        HostError::Core(e)
    }
}

impl From<AdapterError> for HostError {
    fn from(e: AdapterError) -> Self {
        HostError::Adapter(e)
    }
}

impl From<FabricError> for HostError {
    fn from(e: FabricError) -> Self {
        HostError::Stuck(e.0)
    }
}

impl From<DeviceError> for HostError {
    fn from(e: DeviceError) -> Self {
        match e {
            DeviceError::Device(e) => HostError::Core(e),
            DeviceError::Reservation(e) => HostError::Reservation(e),
            other => HostError::Stuck(other.to_string()),
        }
    }
}

/// One host over a fabric.
#[derive(Debug)]
pub struct Host<'f, F: Fabric> {
    fabric: &'f mut F,
    dev: Device<DataPlane<PATHS>, PATHS>,
    ad: ScsiAdapter<PATHS>,
    /// Path of nexus `i`, once added.
    paths: Vec<Option<PathId>>,
    now: Instant,
    tag: u64,
    /// Held I/O the device dispatched, to send.
    ready: Vec<Ticket>,
    /// Held I/O the device failed.
    failed: Vec<IoError>,
    /// Every command sent, with its nexus.
    pub log: Vec<(usize, Sent)>,
    /// Every device event: paths failed and reinstated, reservation
    /// results, fences, moves.
    pub events: Vec<DeviceEvent>,
    /// Inputs the device or adapter answered without taking (see the
    /// module documentation), each with why.
    pub refused: Vec<String>,
    /// RESERVATION CONFLICT answers to our I/O.
    pub conflicts: usize,
    /// Every dispatch of held I/O the device made, with what the host had
    /// sent by then and the reservation's state at that moment.
    pub dispatches: Vec<Dispatched>,
    /// A write submitted and kept, not sent ([`Host::begin_write`]).
    in_hand: Option<(u64, Vec<u8>, mpath_core::Disposition)>,
    /// I/O attempts that failed with a path error and were failed over.
    pub failovers: usize,
    /// REPORT TARGET PORT GROUPS commands that failed with a path error
    /// (the device retries the read after its refresh delay).
    pub failed_refreshes: usize,
}

impl<'f, F: Fabric> Host<'f, F> {
    /// A host using every nexus the fabric has now. The logical unit and
    /// its ALUA support are the first identified nexus's; a nexus that
    /// cannot be identified or added is left out and recorded in
    /// [`Host::refused`] (`mpathpersist` with a portal down has one).
    pub fn new(fabric: &'f mut F) -> Result<Self, HostError> {
        // Per-nexus registrations (`PrOptions::DEFAULT`): tgt names the
        // I_T nexus by session, and each nexus is a session of its own.
        Self::with_pr_options(fabric, mpath_scsi::PrOptions::DEFAULT)
    }

    /// [`Host::new`] with the registrations built by `pr` (ALL_TG_PT
    /// scope, APTPL): the `mpathpersist` tool's `--param-alltgpt` and
    /// `--param-aptpl`.
    pub fn with_pr_options(
        fabric: &'f mut F,
        pr: mpath_scsi::PrOptions,
    ) -> Result<Self, HostError> {
        let ids: Vec<Result<PathIdentity, FabricError>> = (0..fabric.nexus_count())
            .map(|i| fabric.identify(i))
            .collect();
        let first = ids
            .iter()
            .find_map(|id| id.as_ref().ok())
            .copied()
            .ok_or_else(|| {
                HostError::Stuck(String::from("no nexus identified its logical unit"))
            })?;
        // A fabric that names its initiator ports lets the coordinator's
        // key checks ask READ FULL STATUS whether a joining nexus is
        // registered already (`PrReply::Keys::here`).
        let pr = pr.with_full_status(pr.full_status() || fabric.initiator_port(0).is_some());
        let ad = ScsiAdapter::new(first.lu).with_pr_options(pr);
        let cfg = ScsiAdapter::<PATHS>::core_config(Config::DEFAULT, first.tpgs);
        let dev = Device::new(DataPlane::new(), cfg, ad.registration_scope())
            .map_err(|e| HostError::Stuck(format!("config: {e}")))?;
        let mut h = Host {
            fabric,
            dev,
            ad,
            paths: vec![None; ids.len()],
            now: Instant::from_nanos(0),
            tag: 0,
            ready: Vec::new(),
            failed: Vec::new(),
            log: Vec::new(),
            events: Vec::new(),
            refused: Vec::new(),
            conflicts: 0,
            dispatches: Vec::new(),
            in_hand: None,
            failovers: 0,
            failed_refreshes: 0,
        };
        for (i, id) in ids.into_iter().enumerate() {
            if let Err(e) = id.map_err(HostError::from).and_then(|id| h.add(i, &id)) {
                h.refused.push(format!("nexus {i} not added: {e}"));
            }
        }
        Ok(h)
    }

    fn tick(&mut self) -> Instant {
        self.now = self.now.saturating_add(Duration::from_millis(1));
        self.now
    }

    /// The fabric.
    pub fn fabric(&mut self) -> &mut F {
        self.fabric
    }
    /// The device.
    pub fn device(&self) -> &Device<DataPlane<PATHS>, PATHS> {
        &self.dev
    }
    /// The reservation coordinator.
    pub fn coordinator(&self) -> &Coordinator<PATHS> {
        self.dev.coordinator()
    }
    /// The path of nexus `i`.
    pub fn path(&self, i: usize) -> Option<PathId> {
        self.paths.get(i).copied().flatten()
    }
    /// The nexus of `path`.
    pub fn nexus_of(&self, path: PathId) -> Option<usize> {
        self.paths.iter().position(|&p| p == Some(path))
    }
    /// The relative target port nexus `i` reaches, as its VPD page 83h
    /// names it (`None`: not added, or not named).
    pub fn relative_target_port(&self, i: usize) -> Option<u16> {
        let p = self.path(i)?;
        self.ad.path(p).ok()?.relative_target_port
    }
    /// The nexus holding the reservation, if the coordinator knows one.
    pub fn holder(&self) -> Option<usize> {
        self.coordinator().holder().and_then(|p| self.nexus_of(p))
    }
    /// Whether the data plane may select nexus `i` now.
    pub fn selectable(&self, i: usize) -> bool {
        self.path(i)
            .is_some_and(|p| self.dev.data_plane().selectable() & (1u64 << p.slot()) != 0)
    }

    /// Add nexus `i` (already logged in on the fabric) as a path. With a
    /// key set it is registered before it is admitted; call
    /// [`Host::settle`] to let that happen.
    pub fn attach(&mut self, i: usize) -> Result<PathId, HostError> {
        let id = self.fabric.identify(i)?;
        self.add(i, &id)
    }

    fn add(&mut self, i: usize, id: &PathIdentity) -> Result<PathId, HostError> {
        let nexus = port(i);
        let spec = path_spec(id, NexusId(nexus), None).map_err(AdapterError::from)?;
        let now = self.tick();
        // Each nexus logs in with its own ISID: its own initiator port.
        let p = self.ad.add_path(&mut self.dev, id, spec, nexus, now)?;
        if self.paths.len() <= i {
            self.paths.resize(i + 1, None);
        }
        if let Some(slot) = self.paths.get_mut(i) {
            *slot = Some(p);
        }
        Ok(p)
    }

    /// Nexus `i` is logged in again. libiscsi's reconnect opens a new
    /// session, which tgt treats as a new I_T nexus with no registration
    /// (observed with tgt 1.0.85: the old session's registration stays
    /// listed, the new one gets RESERVATION CONFLICT), so the device is
    /// told the nexus was replaced: the path is probed and registered
    /// before it is admitted again.
    pub fn path_returned(&mut self, i: usize) -> Result<(), HostError> {
        let p = self
            .path(i)
            .ok_or_else(|| HostError::Stuck(format!("no path on nexus {i}")))?;
        let now = self.tick();
        self.dev.nexus_replaced(p, port(i), now)?;
        self.settle()
    }

    /// The transport lost nexus `i` (the session dropped): the path goes
    /// down for the controller and the coordinator, which moves a
    /// reservation that nexus held.
    pub fn path_lost(&mut self, i: usize) -> Result<(), HostError> {
        let p = self
            .path(i)
            .ok_or_else(|| HostError::Stuck(format!("no path on nexus {i}")))?;
        let now = self.tick();
        self.dev.handle_link(p, LinkEvent::Down, now)?;
        self.settle()
    }

    /// Carry out everything the device asks for (probes, reservation
    /// commands; held I/O it lets go is kept for the I/O under way) until
    /// it is quiet, then collect its events.
    pub fn settle(&mut self) -> Result<(), HostError> {
        let mut quiet = false;
        for _ in 0..MAX_ACTIONS {
            let Some(action) = self.dev.poll_action() else {
                quiet = true;
                break;
            };
            self.carry_out(action)?;
        }
        while let Some(e) = self.dev.poll_event() {
            self.events.push(e);
        }
        if quiet {
            Ok(())
        } else {
            Err(HostError::Stuck(String::from(
                "the device never went quiet",
            )))
        }
    }

    fn carry_out(&mut self, action: Action) -> Result<(), HostError> {
        match action {
            Action::Reservation(a) => return self.reservation(a),
            Action::Dispatch(t) => {
                self.dispatches.push(Dispatched {
                    log_len: self.log.len(),
                    nexus: self.nexus_of(t.path()),
                    quiesced: self.coordinator().is_quiesced(),
                    holder: self.holder(),
                });
                self.ready.push(t);
            }
            Action::Fail { error, .. } => self.failed.push(error),
            other => {
                let now = self.tick();
                match self.ad.map_action(&other) {
                    Ok(Some(cmd)) => self.command(cmd, now)?,
                    // Head live/removed, transition timeouts: nothing to
                    // send.
                    Ok(None) => {}
                    Err(e) => {
                        // An action this logical unit cannot carry out
                        // (an access-state read without ALUA): the adapter
                        // settles it with the device, and it is recorded.
                        self.ad.settle_unmapped(&mut self.dev, &other, now)?;
                        self.refused.push(format!("{other:?}: {e}"));
                    }
                }
            }
        }
        Ok(())
    }

    /// Send a command the adapter built and apply its response, and the
    /// response of each command the adapter asks to send instead.
    fn command(&mut self, first: mpath_scsi::ScsiCommand, now: Instant) -> Result<(), HostError> {
        let mut cmd = first;
        for _ in 0..MAX_ROUNDS {
            let i = self.nexus(cmd.path())?;
            let r = self.fabric.send(i, &cmd);
            match self.ad.apply(&mut self.dev, &cmd, &r.response(), now) {
                Ok(Applied::Refresh(RtpgApplied::Reissue(next)) | Applied::ProbeAgain(next)) => {
                    cmd = next
                }
                Ok(_) => return Ok(()),
                // The nexus failed under the read (a cut nexus, before any
                // probe found it down): the adapter has failed the
                // device's refresh, which retries it after its delay, as
                // scsi_dh_alua leaves a dead port to the path checker. A
                // target's refusal or malformed data still stops the host.
                Err(AdapterError::CommandFailed {
                    command: CommandKind::RefreshAccessState,
                    outcome: Outcome::PathError(_),
                }) => {
                    self.failed_refreshes += 1;
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(HostError::Stuck(String::from(
            "a refresh was reissued without end",
        )))
    }

    /// Send a reservation command through the adapter and hand the answer
    /// to the device, then the notices seen on the way (after the reply: a
    /// coordinator in the middle of an operation keeps a preemption notice
    /// for its end).
    fn reservation(&mut self, a: PrAction) -> Result<(), HostError> {
        let i = self.nexus(a.via)?;
        self.log.push((i, Sent::Pr(a.command)));
        // REGISTER AND MOVE's destination stays in the coordinator; every
        // other command ignores it.
        let dest = self.dev.coordinator().move_destination().map(|(t, _)| t);
        let first = match self.ad.pr_command_with(&a, dest) {
            Ok(c) => c,
            Err(e) => {
                // Not sent (a TransportID the adapter cannot read): the
                // target would have refused it. The device still owes an
                // answer, or it would wait for one for good.
                self.refused
                    .push(format!("{:?} on nexus {i} not sent: {e}", a.command));
                let now = self.tick();
                return Ok(self
                    .dev
                    .handle_reservation_reply(a.via, PrReply::Refused, now)?);
            }
        };
        let (ad, fabric) = (&self.ad, &mut *self.fabric);
        let x = pr_transport::exchange(first, |c, r| ad.pr_reply(c, r), |c| fabric.send(i, c));
        if let Some(e) = x.error {
            self.refused.push(format!(
                "{:?} on nexus {i} answered {:?}: {e}",
                a.command, x.answer
            ));
        }
        let port = self.fabric.initiator_port(i);
        let isid = port.as_ref().map(|(_, isid)| format!("{isid:012x}"));
        let nexus = match (&port, &isid, self.ad.path(a.via).ok()) {
            (Some((name, _)), Some(isid), Some(p)) => {
                p.relative_target_port.map(|relative_target_port| ItNexus {
                    initiator: TransportId::Iscsi {
                        name: name.as_bytes(),
                        isid: Some(isid.as_bytes()),
                    },
                    relative_target_port,
                })
            }
            _ => None,
        };
        let reply = x.answer.reply_at(self.coordinator().key(), nexus.as_ref());
        let now = self.tick();
        self.dev.handle_reservation_reply(a.via, reply, now)?;
        if !x.notices.is_empty() {
            self.dev.handle_notices(a.via, x.notices, now)?;
        }
        Ok(())
    }

    fn nexus(&self, path: PathId) -> Result<usize, HostError> {
        self.nexus_of(path)
            .ok_or_else(|| HostError::Stuck(format!("unknown path {path}")))
    }

    /// Run a user operation to its end.
    pub fn op(&mut self, op: PrOp) -> Result<PrReport, HostError> {
        let now = self.tick();
        self.dev.reservation(op, now)?;
        self.finish(op)
    }

    /// Hand the reservation to the I_T nexus `transport_id` (a TransportID's
    /// bytes) names through `relative_target_port`, registered with `key`:
    /// REGISTER AND MOVE through the coordinator
    /// (`Device::reservation_move_to`), run to its end.
    pub fn move_to(
        &mut self,
        transport_id: &[u8],
        relative_target_port: u16,
        key: u64,
    ) -> Result<PrReport, HostError> {
        let now = self.tick();
        self.dev
            .reservation_move_to(transport_id, relative_target_port, key, now)?;
        self.finish(PrOp::RegisterAndMove {
            dest_key: key,
            relative_target_port,
        })
    }

    /// Carry out what the device asks for until `op` finishes; its result.
    fn finish(&mut self, op: PrOp) -> Result<PrReport, HostError> {
        let from = self.events.len();
        self.settle()?;
        let finished = self
            .events
            .get(from..)
            .unwrap_or(&[])
            .iter()
            .find_map(|e| match e {
                DeviceEvent::Reservation(PrEvent::Finished { op: o, result }) if *o == op => {
                    Some(*result)
                }
                _ => None,
            });
        match finished {
            Some(result) => result.map_err(HostError::Reservation),
            None => Err(HostError::Stuck(format!("{op:?} did not finish"))),
        }
    }
}

/// The initiator port of nexus `i` for the device: the nexus's own, as it
/// logs in with its own ISID.
fn port(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

#[path = "host_io.rs"]
mod io;
pub use io::BatchStats;
