//! [`Fabric`] on LIO: a [`LioTarget`] in its VM, reached as any target on
//! plain portals is ([`PortalFabric`]): host A's nexus `i` logs in to TPG
//! `i % 2` (so the nexuses spread over both relative target ports) with
//! ISID qualifier `i + 1`, each through its own relay; host B has one
//! nexus, on TPG 1 (index 0).
//!
//! A cut: LIO cannot be told from outside to drop one I_T nexus (its
//! configfs drops sessions per ACL or per TPG, which would take other
//! nexuses down with it), so a cut shuts the nexus's relay connection down
//! on both sides, as a network failure between host and target would look
//! with both ends noticing: libiscsi reads end-of-stream and fails what is
//! outstanding, LIO sees the connection close (no logout) and ends the
//! session. Restoring logs in again with the same initiator name and ISID,
//! which LIO treats as the same I_T nexus (session reinstatement): unlike
//! tgt, a registration made before the cut is still there afterwards.
//!
//! A target restart ([`Fabric::restart_target`]) is [`LioTarget::restart`]
//! (qemu killed by its PID and booted again on the same disk images, APTPL
//! records written back through configfs), then every nexus logged in
//! again with its ISID ([`PortalFabric::log_in_again`]).

use std::time::Instant;

use mpath_qemu::QemuError;

use crate::fabric::{BatchOutcome, Fabric, FabricError, RestartError};
use crate::lio::{Alua, LioTarget, LUN};
use crate::nexus::{CommandResult, IscsiNexus};
use crate::portal_fabric::{PortalConfig, PortalFabric};
pub use crate::tgt_fabric::{nexus_alias, HOST_A, HOST_B};

/// LIO's fileio backstore exports 512-byte blocks by default.
pub const BLOCK: usize = 512;

/// A LIO target with `n` nexuses from host A and one from host B.
#[derive(Debug)]
pub struct LioFabric {
    // Declared before the target so sessions log out before it goes away.
    fabric: PortalFabric,
    target: LioTarget,
}

/// What the fabric is, for the table.
fn label(target: &LioTarget) -> String {
    format!(
        "LIO (Linux {} in qemu TCG, pid {})",
        target.release(),
        target.pid().unwrap_or(0)
    )
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
        let cfg = PortalConfig {
            portals: vec![target.portal(0), target.portal(1)],
            target: target.iqn().to_owned(),
            lun: LUN,
            initiator: HOST_A.to_owned(),
            other_initiator: HOST_B.to_owned(),
            label: label(&target),
        };
        let fabric = PortalFabric::start(cfg, n)?;
        Ok(LioFabric { fabric, target })
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
        self.fabric.nexus_mut(i)
    }
}

impl Fabric for LioFabric {
    fn describe(&self) -> String {
        self.fabric.describe()
    }
    fn nexus_count(&self) -> usize {
        self.fabric.nexus_count()
    }
    fn block_size(&self) -> usize {
        self.fabric.block_size()
    }
    fn initiator_port(&self, i: usize) -> Option<(String, u64)> {
        self.fabric.initiator_port(i)
    }
    fn other_initiator_port(&self) -> Option<(String, u64)> {
        self.fabric.other_initiator_port()
    }
    fn add_nexus(&mut self) -> Result<usize, FabricError> {
        self.fabric.add_nexus()
    }
    fn cut_nexus(&mut self, i: usize) -> Result<(), FabricError> {
        self.fabric.cut_nexus(i)
    }
    fn restore_nexus(&mut self, i: usize) -> Result<(), FabricError> {
        self.fabric.restore_nexus(i)
    }
    fn restart_target(&mut self) -> Result<String, RestartError> {
        let failed = |s: String| RestartError::Failed(FabricError(s));
        let t0 = Instant::now();
        let r = self
            .target
            .restart()
            .map_err(|e| failed(format!("LIO VM restart: {e}")))?;
        if !r.state_kept {
            // A new file system on the state disk would have lost the
            // APTPL file: not the restart asked for.
            return Err(failed(format!(
                "the restarted VM (pid {}) did not find the state disk's file system",
                r.booted_pid
            )));
        }
        let portals = vec![self.target.portal(0), self.target.portal(1)];
        self.fabric
            .log_in_again(portals, label(&self.target))
            .map_err(|e| failed(format!("logging in again after the restart: {e}")))?;
        Ok(format!(
            "qemu pid {} killed, pid {} booted on the same disk images{} and ready in {} ms, \
             {} APTPL record(s) written back through configfs, {} nexus(es) and the other \
             host logged in again with their ISIDs ({} ms in all)",
            r.killed_pid,
            r.booted_pid,
            if r.ports_changed {
                " (new host ports)"
            } else {
                ""
            },
            r.took.as_millis(),
            r.restored,
            self.fabric.nexus_count(),
            t0.elapsed().as_millis()
        ))
    }
    fn write_batch(
        &mut self,
        i: usize,
        writes: &[(u64, &[u8])],
        cut: bool,
    ) -> Result<BatchOutcome, FabricError> {
        self.fabric.write_batch(i, writes, cut)
    }
    fn command(
        &mut self,
        i: usize,
        cdb: &[u8],
        data_out: Option<&[u8]>,
        data_in_len: usize,
    ) -> CommandResult {
        self.fabric.command(i, cdb, data_out, data_in_len)
    }
    fn other_host_command(
        &mut self,
        cdb: &[u8],
        data_out: Option<&[u8]>,
        data_in_len: usize,
    ) -> CommandResult {
        self.fabric.other_host_command(cdb, data_out, data_in_len)
    }
}
