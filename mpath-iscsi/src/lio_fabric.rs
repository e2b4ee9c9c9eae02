//! [`Fabric`] on LIO: a [`LioTarget`] in its VM and libiscsi sessions.
//!
//! Host A's nexus `i` logs in to TPG `i % 2` (so the nexuses spread over
//! both relative target ports) with ISID qualifier `i + 1`: each is an I_T
//! nexus of its own. Host B has one nexus, on TPG 1 (index 0).
//!
//! A cut: LIO cannot be told from outside to drop one I_T nexus (its
//! configfs drops sessions per ACL or per TPG, which would take other
//! nexuses down with it), so each host-A nexus reaches its portal through
//! its own [`Relay`], and a cut shuts that relay's connection down on both
//! sides, as a network failure between host and target would look with
//! both ends noticing: libiscsi reads end-of-stream and fails what is
//! outstanding, LIO sees the connection close (no logout) and ends the
//! session. The relay then refuses logins until the nexus is restored.
//! Restoring logs in again with the same initiator name and ISID, which
//! LIO treats as the same I_T nexus (session reinstatement): unlike tgt,
//! a registration made before the cut is still there afterwards.
//! [`Fabric::write_batch`] cuts the relay while the batch's writes are
//! outstanding.

use std::net::SocketAddr;

use mpath_qemu::QemuError;
use mpath_scsi::classify::classify;

use crate::fabric::{BatchOutcome, Fabric, FabricError};
use crate::lio::{Alua, LioTarget, LUN};
use crate::nexus::{CommandResult, IscsiNexus, NexusConfig};
use crate::relay::Relay;
pub use crate::tgt_fabric::{nexus_alias, HOST_A, HOST_B};

/// LIO's fileio backstore exports 512-byte blocks by default.
pub const BLOCK: usize = 512;

/// One host-A nexus and the relay it goes through.
#[derive(Debug)]
struct Slot {
    // Before the relay: the session logs out through it on drop.
    nexus: IscsiNexus,
    relay: Relay,
}

/// A LIO target with `n` nexuses from host A and one from host B.
#[derive(Debug)]
pub struct LioFabric {
    // Declared before the target so sessions log out before it goes away.
    slots: Vec<Slot>,
    other: IscsiNexus,
    target: LioTarget,
}

fn err(e: impl std::fmt::Display) -> FabricError {
    FabricError(e.to_string())
}

/// The TPG (0 or 1) host A's nexus `i` logs in to.
pub fn nexus_tpg(i: usize) -> usize {
    i % 2
}

impl LioFabric {
    /// Boot a target (reporting ALUA or not) and log in `n` nexuses of
    /// host A and one of host B.
    pub fn start(n: usize, alua: Alua) -> Result<Self, FabricError> {
        let target = LioTarget::start(&[HOST_A, HOST_B], alua).map_err(|e: QemuError| {
            FabricError(format!("LIO target in qemu did not start: {e}"))
        })?;
        let other = IscsiNexus::connect(NexusConfig::new(
            &target.portal(0),
            target.iqn(),
            HOST_B,
            LUN,
            1,
        ))
        .map_err(err)?;
        let mut f = LioFabric {
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
    pub fn target(&self) -> &LioTarget {
        &self.target
    }

    /// The target, to stop it.
    pub fn target_mut(&mut self) -> &mut LioTarget {
        &mut self.target
    }

    /// Host A's nexus `i`, for raw commands.
    pub fn nexus_mut(&mut self, i: usize) -> Option<&mut IscsiNexus> {
        self.slots.get_mut(i).map(|s| &mut s.nexus)
    }

    fn config(&self, i: usize, portal: &str) -> NexusConfig {
        let mut c = NexusConfig::new(
            portal,
            self.target.iqn(),
            HOST_A,
            LUN,
            u16::try_from(i + 1).unwrap_or(u16::MAX),
        );
        c.alias = Some(nexus_alias(i));
        c
    }

    fn slot(&mut self, i: usize) -> Result<&mut Slot, FabricError> {
        self.slots
            .get_mut(i)
            .ok_or_else(|| FabricError(format!("no nexus {i}")))
    }
}

impl Fabric for LioFabric {
    fn describe(&self) -> String {
        format!(
            "LIO (Linux {} in qemu TCG, pid {}, ports {} and {}) via libiscsi",
            self.target.release(),
            self.target.pid().unwrap_or(0),
            self.target.port(0),
            self.target.port(1)
        )
    }

    fn nexus_count(&self) -> usize {
        self.slots.len()
    }

    fn block_size(&self) -> usize {
        BLOCK
    }

    fn add_nexus(&mut self) -> Result<usize, FabricError> {
        let i = self.slots.len();
        let upstream: SocketAddr = self
            .target
            .portal(nexus_tpg(i))
            .parse()
            .map_err(|e| FabricError(format!("portal address: {e}")))?;
        let relay = Relay::start(upstream).map_err(|e| FabricError(format!("relay: {e}")))?;
        let nexus = IscsiNexus::connect(self.config(i, &relay.portal())).map_err(err)?;
        self.slots.push(Slot { nexus, relay });
        Ok(i)
    }

    fn cut_nexus(&mut self, i: usize) -> Result<(), FabricError> {
        let slot = self.slot(i)?;
        if slot.relay.cut() == 0 {
            return Err(FabricError(format!("nexus {i} had no connection to cut")));
        }
        Ok(())
    }

    fn write_batch(
        &mut self,
        i: usize,
        writes: &[(u64, &[u8])],
        cut_it: bool,
    ) -> Result<BatchOutcome, FabricError> {
        let Slot { nexus, relay } = self.slot(i)?;
        let mut hook = || match relay.cut() {
            0 => Err(format!("nexus {i} had no connection to cut")),
            _ => Ok(()),
        };
        let hook: Option<&mut dyn FnMut() -> Result<(), String>> =
            if cut_it { Some(&mut hook) } else { None };
        let r = nexus.write_batch(BLOCK, writes, hook);
        if let Some(e) = r.cut_error {
            return Err(FabricError(e));
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
        let slot = self.slot(i)?;
        slot.relay.restore();
        let portal = slot.relay.portal();
        let cfg = self.config(i, &portal);
        let nexus = IscsiNexus::connect(cfg).map_err(err)?;
        self.slot(i)?.nexus = nexus;
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
