//! The NVM subsystem: its topology, the one entry point for commands
//! ([`Subsystem::submit`]), the controller-level operations the engine
//! drives (ANA state changes, resets, disconnects, power loss), the events
//! it must carry back, and the truth accessors its invariants read.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use mpath_nvme::aen::AsyncEvent;
use mpath_nvme::ana::AnaState;
use mpath_nvme::status::StatusCode;

use super::completion::{Completion, Queue, Submitted};
use super::controller::{AnaView, Controller};
use super::reservation::{Effects, ReservationState};
use super::sqe::SubmissionEntry;
use super::topology::{
    ConfigError, HostConfig, HostIdentifier, NamespaceConfig, SubsystemConfig, TargetError,
};
use crate::block_store::BlockStore;

/// Something the subsystem did on its own that the engine must carry back
/// to a host, in the order it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TargetEvent {
    /// A held Asynchronous Event Request completed (an event was posted).
    AsyncCompletion {
        /// The controller.
        cntlid: u16,
        /// Its completion; Dword 0 is the event.
        completion: Completion,
    },
    /// Preempt and Abort: the engine completes the commands it holds for
    /// this controller and namespace with Command Aborted due to Preempt
    /// and Abort (the target answers synchronously, so any command still
    /// "at the controller" is the engine's).
    AbortCommands {
        /// The preempted host's controller.
        cntlid: u16,
        /// The namespace.
        nsid: u32,
    },
}

/// A namespace: its blocks and its reservation state.
#[derive(Clone, Debug)]
pub(crate) struct Namespace {
    pub(crate) cfg: NamespaceConfig,
    pub(crate) store: BlockStore,
    pub(crate) resv: ReservationState,
}

/// How a command failed: the status and whether DNR is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fail {
    pub(crate) code: StatusCode,
    pub(crate) dnr: bool,
}

impl From<StatusCode> for Fail {
    /// Errors about the command itself: resubmitting it cannot help.
    fn from(code: StatusCode) -> Self {
        Fail { code, dnr: true }
    }
}

/// A simulated NVM subsystem. See the [module documentation](super) for
/// the call order.
#[derive(Clone, Debug)]
pub struct Subsystem {
    pub(crate) cfg: SubsystemConfig,
    pub(crate) hosts: Vec<HostConfig>,
    pub(crate) groups: BTreeSet<u32>,
    pub(crate) namespaces: BTreeMap<u32, Namespace>,
    pub(crate) controllers: BTreeMap<u16, Controller>,
    pub(crate) events: VecDeque<TargetEvent>,
}

impl Subsystem {
    /// An empty subsystem.
    pub fn new(cfg: SubsystemConfig) -> Self {
        Subsystem {
            cfg,
            hosts: Vec::new(),
            groups: BTreeSet::new(),
            namespaces: BTreeMap::new(),
            controllers: BTreeMap::new(),
            events: VecDeque::new(),
        }
    }

    // ----- topology -----

    /// Adds ANA group `grpid`, optimized through every controller.
    pub fn add_ana_group(&mut self, grpid: u32) -> Result<(), ConfigError> {
        if grpid == 0 || grpid > self.cfg.anagrpmax {
            return Err(ConfigError::InvalidAnaGroup(grpid));
        }
        if !self.groups.insert(grpid) {
            return Err(ConfigError::DuplicateAnaGroup(grpid));
        }
        for c in self.controllers.values_mut() {
            c.ana.insert(
                grpid,
                AnaView {
                    state: AnaState::Optimized,
                    change_count: 0,
                },
            );
        }
        Ok(())
    }

    /// Adds a namespace, attached to every controller (NMIC shared).
    pub fn add_namespace(&mut self, ns: NamespaceConfig) -> Result<(), ConfigError> {
        if ns.nsid == 0 || ns.nsid > self.cfg.nn || ns.nsid == u32::MAX {
            return Err(ConfigError::InvalidNsid(ns.nsid));
        }
        if !ns.block_size.is_power_of_two() || ns.block_size < 512 {
            return Err(ConfigError::InvalidBlockSize(ns.block_size));
        }
        if !self.groups.contains(&ns.anagrpid) {
            return Err(ConfigError::UnknownAnaGroup(ns.anagrpid));
        }
        if self.namespaces.contains_key(&ns.nsid) {
            return Err(ConfigError::DuplicateNamespace(ns.nsid));
        }
        let bs = usize::try_from(ns.block_size)
            .map_err(|_| ConfigError::InvalidBlockSize(ns.block_size))?;
        self.namespaces.insert(
            ns.nsid,
            Namespace {
                cfg: ns,
                store: BlockStore::new(bs, ns.blocks),
                resv: ReservationState::default(),
            },
        );
        Ok(())
    }

    /// Adds a host that may connect controllers.
    pub fn add_host(&mut self, host: HostConfig) -> Result<(), ConfigError> {
        if self.hosts.iter().any(|h| h.hostid == host.hostid) {
            return Err(ConfigError::DuplicateHost(host.hostid));
        }
        self.hosts.push(host);
        Ok(())
    }

    /// Connects controller `cntlid` for `host`: one path of that host.
    /// Every ANA group starts optimized through it.
    pub fn add_controller(&mut self, cntlid: u16, host: HostIdentifier) -> Result<(), ConfigError> {
        if cntlid >= 0xFFF0 {
            return Err(ConfigError::InvalidCntlid(cntlid));
        }
        if !self.hosts.iter().any(|h| h.hostid == host) {
            return Err(ConfigError::UnknownHost(host));
        }
        if self.controllers.contains_key(&cntlid) {
            return Err(ConfigError::DuplicateController(cntlid));
        }
        self.controllers
            .insert(cntlid, Controller::new(host, self.groups.iter().copied()));
        Ok(())
    }

    // ----- commands -----

    /// Submits the 64-byte entry `sqe` on `queue` of controller `cntlid`.
    /// `data_out` is what the host sends (write data, reservation keys);
    /// `data_in` is the host's buffer for what comes back (read data, log
    /// pages, Identify and report data). A buffer shorter than the
    /// command's transfer is Data SGL Length Invalid; a longer one is used
    /// from its start. Never panics, whatever the bytes.
    pub fn submit(
        &mut self,
        cntlid: u16,
        queue: Queue,
        sqe: &[u8; 64],
        data_out: &[u8],
        data_in: &mut [u8],
    ) -> Result<Submitted, TargetError> {
        self.submit_entry(
            cntlid,
            queue,
            &SubmissionEntry::parse(sqe),
            data_out,
            data_in,
        )
    }

    /// [`submit`](Self::submit) with the entry already decoded.
    pub fn submit_entry(
        &mut self,
        cntlid: u16,
        queue: Queue,
        e: &SubmissionEntry,
        data_out: &[u8],
        data_in: &mut [u8],
    ) -> Result<Submitted, TargetError> {
        let ctrl = self
            .controllers
            .get(&cntlid)
            .ok_or(TargetError::UnknownController(cntlid))?;
        if !ctrl.connected {
            return Err(TargetError::Disconnected(cntlid));
        }
        let host = ctrl.host;
        let result = if e.fuse != 0 {
            // Fused operations (FUSES = 0 in Identify) are not supported.
            Err(StatusCode::INVALID_FIELD.into())
        } else {
            match queue {
                Queue::Admin => self.admin(cntlid, e, data_in),
                Queue::Io => self.io(cntlid, host, e, data_out, data_in),
            }
        };
        Ok(match result {
            Ok(s) => s,
            Err(f) => Submitted::Completed(Completion::error(e.cid, f.code, f.dnr)),
        })
    }

    /// The next event for the engine to carry back, oldest first.
    pub fn poll_event(&mut self) -> Option<TargetEvent> {
        self.events.pop_front()
    }

    /// Posts `ev` to controller `cntlid`.
    pub(crate) fn post_event(&mut self, cntlid: u16, ev: AsyncEvent) {
        if let Some(c) = self.controllers.get_mut(&cntlid) {
            if let Some(completion) = c.post(ev) {
                self.events
                    .push_back(TargetEvent::AsyncCompletion { cntlid, completion });
            }
        }
    }

    /// The connected controllers of `host`, in CNTLID order.
    pub(crate) fn controllers_of(&self, host: HostIdentifier) -> Vec<u16> {
        self.controllers
            .iter()
            .filter(|(_, c)| c.host == host && c.connected)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Carries out what a reservation command on `nsid` asks: a log page
    /// and a "reservation log page available" event on every controller of
    /// each notified host; abort requests for preempted hosts.
    pub(crate) fn apply_effects(&mut self, nsid: u32, fx: Effects) {
        for (host, kind) in fx.notify {
            for cntlid in self.controllers_of(host) {
                if let Some(c) = self.controllers.get_mut(&cntlid) {
                    c.push_notification(kind, nsid);
                }
                self.post_event(cntlid, AsyncEvent::RESERVATION_LOG_AVAILABLE);
            }
        }
        for host in fx.abort {
            for cntlid in self.controllers_of(host) {
                self.events
                    .push_back(TargetEvent::AbortCommands { cntlid, nsid });
            }
        }
    }

    // ----- the engine's operations -----

    /// Sets the ANA state of group `grpid` through controller `cntlid`.
    /// A change bumps the change counts and posts an ANA change notice to
    /// that controller; returns whether the state changed.
    pub fn set_ana_state(
        &mut self,
        cntlid: u16,
        grpid: u32,
        state: AnaState,
    ) -> Result<bool, ConfigError> {
        let c = self
            .controllers
            .get_mut(&cntlid)
            .ok_or(ConfigError::UnknownController(cntlid))?;
        let view = c
            .ana
            .get_mut(&grpid)
            .ok_or(ConfigError::UnknownAnaGroup(grpid))?;
        if view.state == state {
            return Ok(false);
        }
        view.state = state;
        view.change_count = view.change_count.wrapping_add(1);
        c.ana_change_count = c.ana_change_count.wrapping_add(1);
        self.post_event(cntlid, AsyncEvent::ANA_CHANGE);
        Ok(true)
    }

    /// Resets controller `cntlid` (Controller Level Reset). Returns the
    /// command identifiers of the Asynchronous Event Requests it held,
    /// aborted: the engine drops them (a reset host driver cancels its own
    /// commands). Registrations and ANA states belong to the subsystem and
    /// survive.
    pub fn reset_controller(&mut self, cntlid: u16) -> Result<Vec<u16>, ConfigError> {
        let c = self
            .controllers
            .get_mut(&cntlid)
            .ok_or(ConfigError::UnknownController(cntlid))?;
        Ok(c.reset())
    }

    /// The controller's association is lost (link down, fabrics
    /// disconnect): what it held is aborted and returned, and nothing
    /// reaches it until [`connect`](Self::connect). Its host stays
    /// registered: registrations outlive controllers.
    pub fn disconnect(&mut self, cntlid: u16) -> Result<Vec<u16>, ConfigError> {
        let c = self
            .controllers
            .get_mut(&cntlid)
            .ok_or(ConfigError::UnknownController(cntlid))?;
        c.connected = false;
        Ok(c.reset())
    }

    /// Reconnects a disconnected controller, as fresh as after a reset.
    pub fn connect(&mut self, cntlid: u16) -> Result<(), ConfigError> {
        let c = self
            .controllers
            .get_mut(&cntlid)
            .ok_or(ConfigError::UnknownController(cntlid))?;
        c.connected = true;
        Ok(())
    }

    /// Power loss and restart of the whole subsystem: every controller is
    /// reset (the aborted requests come back per CNTLID) and reservations
    /// survive only on namespaces whose PTPL state is set (CPTPL = persist).
    /// Block data survives: the model has no volatile write cache.
    pub fn restart(&mut self) -> Vec<(u16, Vec<u16>)> {
        for ns in self.namespaces.values_mut() {
            ns.resv.power_loss();
        }
        self.events.clear();
        self.controllers
            .iter_mut()
            .map(|(id, c)| (*id, c.reset()))
            .collect()
    }

    // ----- truth -----

    /// The configuration.
    pub fn config(&self) -> &SubsystemConfig {
        &self.cfg
    }

    /// The hosts.
    pub fn hosts(&self) -> &[HostConfig] {
        &self.hosts
    }

    /// Every controller: (CNTLID, host, connected), in CNTLID order.
    pub fn controllers(&self) -> impl Iterator<Item = (u16, HostIdentifier, bool)> + '_ {
        self.controllers
            .iter()
            .map(|(id, c)| (*id, c.host, c.connected))
    }

    /// Every namespace's configuration, in NSID order.
    pub fn namespaces(&self) -> impl Iterator<Item = &NamespaceConfig> + '_ {
        self.namespaces.values().map(|n| &n.cfg)
    }

    /// The ANA state of group `grpid` through controller `cntlid`.
    pub fn ana_state(&self, cntlid: u16, grpid: u32) -> Option<AnaState> {
        self.ana_view(cntlid, grpid).map(|v| v.state)
    }

    /// State and change count of group `grpid` through `cntlid`.
    pub fn ana_view(&self, cntlid: u16, grpid: u32) -> Option<AnaView> {
        self.controllers.get(&cntlid)?.ana.get(&grpid).copied()
    }

    /// The ANA log page change count through `cntlid`.
    pub fn ana_change_count(&self, cntlid: u16) -> Option<u64> {
        self.controllers.get(&cntlid).map(|c| c.ana_change_count)
    }

    /// The reservation state of namespace `nsid`: registrations (host ->
    /// key), the reservation and its holder, GEN, PTPLS.
    pub fn reservation_state(&self, nsid: u32) -> Option<&ReservationState> {
        self.namespaces.get(&nsid).map(|n| &n.resv)
    }

    /// The blocks of namespace `nsid`, with their write-generation truth.
    pub fn store(&self, nsid: u32) -> Option<&BlockStore> {
        self.namespaces.get(&nsid).map(|n| &n.store)
    }

    /// Asynchronous Event Requests controller `cntlid` holds, oldest first.
    pub fn outstanding_aers(&self, cntlid: u16) -> Vec<u16> {
        self.controllers
            .get(&cntlid)
            .map(|c| c.outstanding_aers().collect())
            .unwrap_or_default()
    }

    /// Reservation Notification log pages queued on `cntlid`.
    pub fn queued_notifications(&self, cntlid: u16) -> usize {
        self.controllers
            .get(&cntlid)
            .map_or(0, Controller::queued_notifications)
    }
}
