//! [`Fabric`] on a real target: a [`TgtTarget`] and libiscsi sessions.
//!
//! Host A's nexus `i` logs in through its own portal, 127.0.0.`i+2`, with
//! ISID qualifier `i+1` and alias `mpath-n<i>`; host B uses 127.0.0.1. A
//! cut deletes the nexus's connection at the target (`tgtadm --op delete
//! --mode conn`) and removes its portal so nothing can log in there until
//! it is restored. [`Fabric::write_batch`] queues the writes on the
//! session's asynchronous API and, for a cut, deletes the connection while
//! they are outstanding.

use mpath_scsi::classify::classify;

use crate::fabric::{BatchOutcome, Fabric, FabricError};
use crate::nexus::{isid, CommandResult, IscsiNexus, NexusConfig};
use crate::tgt::{TgtSession, TgtTarget, LUN};

/// Our host's initiator name.
pub const HOST_A: &str = "iqn.2024-01.org.mpath:host-a";
/// The other host's initiator name.
pub const HOST_B: &str = "iqn.2024-01.org.mpath:host-b";
/// tgt's rdwr backing store exports 512-byte blocks.
pub const BLOCK: usize = 512;

/// The address of host A's nexus `i`'s portal.
pub fn nexus_host(i: usize) -> String {
    format!("127.0.0.{}", i + 2)
}

/// The alias host A's nexus `i` logs in with.
pub fn nexus_alias(i: usize) -> String {
    format!("mpath-n{i}")
}

/// One host-A nexus.
#[derive(Debug)]
struct Slot {
    nexus: IscsiNexus,
    cut: bool,
}

/// A tgt target with `n` nexuses from host A and one from host B.
#[derive(Debug)]
pub struct TgtFabric {
    // Declared before the target so sessions log out before it goes away.
    slots: Vec<Slot>,
    other: IscsiNexus,
    target: TgtTarget,
}

fn err(e: impl std::fmt::Display) -> FabricError {
    FabricError(e.to_string())
}

impl TgtFabric {
    /// Start a target and log in `n` nexuses of host A and one of host B.
    pub fn start(n: usize) -> Result<Self, FabricError> {
        let target = TgtTarget::start(1).map_err(err)?;
        let other = IscsiNexus::connect(NexusConfig::new(
            &target.portal("127.0.0.1"),
            target.iqn(),
            HOST_B,
            LUN,
            1,
        ))
        .map_err(err)?;
        let mut f = TgtFabric {
            slots: Vec::new(),
            other,
            target,
        };
        for _ in 0..n {
            f.add_nexus()?;
        }
        Ok(f)
    }

    /// The target.
    pub fn target(&self) -> &TgtTarget {
        &self.target
    }

    /// The target, to stop it or change portals.
    pub fn target_mut(&mut self) -> &mut TgtTarget {
        &mut self.target
    }

    /// Host A's nexus `i`, for raw commands.
    pub fn nexus_mut(&mut self, i: usize) -> Option<&mut IscsiNexus> {
        self.slots.get_mut(i).map(|s| &mut s.nexus)
    }

    fn config(&self, i: usize) -> NexusConfig {
        let mut c = NexusConfig::new(
            &self.target.portal(&nexus_host(i)),
            self.target.iqn(),
            HOST_A,
            LUN,
            u16::try_from(i + 1).unwrap_or(u16::MAX),
        );
        c.alias = Some(nexus_alias(i));
        c
    }

    /// tgt's sessions of host A's nexus `i` (by its alias).
    fn sessions_of(&self, i: usize) -> Result<Vec<TgtSession>, FabricError> {
        let alias = nexus_alias(i);
        let found: Vec<TgtSession> = self
            .target
            .sessions()
            .map_err(err)?
            .into_iter()
            .filter(|s| s.initiator == HOST_A && s.alias == alias)
            .collect();
        if found.is_empty() {
            return Err(FabricError(format!("no session with alias {alias}")));
        }
        Ok(found)
    }

    /// Keep nexus `i` down after its cut: remove its portal so that nothing
    /// logs in there until it is restored.
    fn keep_down(&mut self, i: usize) -> Result<(), FabricError> {
        self.target.remove_portal(&nexus_host(i)).map_err(err)?;
        if let Some(s) = self.slots.get_mut(i) {
            s.cut = true;
        }
        Ok(())
    }
}

impl Fabric for TgtFabric {
    fn describe(&self) -> String {
        format!(
            "tgt (tgtd -C {}, port {}) via libiscsi",
            self.target.control_port(),
            self.target.port()
        )
    }

    fn nexus_count(&self) -> usize {
        self.slots.len()
    }

    fn block_size(&self) -> usize {
        BLOCK
    }

    fn initiator_port(&self, i: usize) -> Option<(String, u64)> {
        let q = u16::try_from(i + 1).ok()?;
        (i < self.slots.len()).then(|| (HOST_A.to_owned(), isid(q)))
    }

    fn other_initiator_port(&self) -> Option<(String, u64)> {
        Some((HOST_B.to_owned(), isid(1)))
    }

    fn add_nexus(&mut self) -> Result<usize, FabricError> {
        let i = self.slots.len();
        let host = nexus_host(i);
        if !self.target.portals().contains(&self.target.portal(&host)) {
            self.target.add_portal(&host).map_err(err)?;
        }
        let nexus = IscsiNexus::connect(self.config(i)).map_err(err)?;
        self.slots.push(Slot { nexus, cut: false });
        Ok(i)
    }

    fn cut_nexus(&mut self, i: usize) -> Result<(), FabricError> {
        let sessions = self.sessions_of(i)?;
        self.target.cut(&sessions).map_err(err)?;
        self.keep_down(i)
    }

    fn write_batch(
        &mut self,
        i: usize,
        writes: &[(u64, &[u8])],
        cut_it: bool,
    ) -> Result<BatchOutcome, FabricError> {
        // Found before the writes go out, so that the cut is one tgtadm
        // call while they are outstanding.
        let sessions = if cut_it {
            self.sessions_of(i)?
        } else {
            Vec::new()
        };
        let target = &self.target;
        let slot = self
            .slots
            .get_mut(i)
            .ok_or_else(|| FabricError(format!("no nexus {i}")))?;
        let mut hook = || target.cut(&sessions).map(drop).map_err(|e| e.to_string());
        let hook: Option<&mut dyn FnMut() -> Result<(), String>> =
            if cut_it { Some(&mut hook) } else { None };
        let r = slot.nexus.write_batch(BLOCK, writes, hook);
        if let Some(e) = r.cut_error {
            return Err(FabricError(e));
        }
        if cut_it {
            self.keep_down(i)?;
        }
        Ok(BatchOutcome {
            completions: r
                .results
                .iter()
                .map(|r| classify(r.transport, r.status, r.sense()))
                .collect(),
            in_flight_at_cut: r.in_flight_at_cut,
        })
    }

    fn restore_nexus(&mut self, i: usize) -> Result<(), FabricError> {
        let cfg = self.config(i);
        let Some(s) = self.slots.get_mut(i) else {
            return Err(FabricError(format!("no nexus {i}")));
        };
        if s.cut {
            self.target.add_portal(&nexus_host(i)).map_err(err)?;
            s.cut = false;
        }
        s.nexus = IscsiNexus::connect(cfg).map_err(err)?;
        Ok(())
    }

    fn command(
        &mut self,
        i: usize,
        cdb: &[u8],
        data_out: Option<&[u8]>,
        data_in_len: usize,
    ) -> CommandResult {
        match self.slots.get_mut(i) {
            Some(s) => s.nexus.command(cdb, data_out, data_in_len),
            None => CommandResult::no_nexus(i),
        }
    }

    fn other_host_command(
        &mut self,
        cdb: &[u8],
        data_out: Option<&[u8]>,
        data_in_len: usize,
    ) -> CommandResult {
        self.other.command(cdb, data_out, data_in_len)
    }
}
