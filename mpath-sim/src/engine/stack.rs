//! The transport-specific half of a run, behind one enum: the target
//! object and the host's adapter ([`super::scsi`], [`super::nvme`]). The
//! generic engine (event loop, links, ports, faults, invariants, workload)
//! asks it to build a command, carry one out, answer a full port, and
//! tell the truth its invariants read.

use mpath_core::reservation::PrType;
use mpath_nvme::ana::AnaState;
use mpath_scsi::AluaState;

use super::nvme::NvmeStack;
use super::scenario::ana_state;
use super::scsi::ScsiStack;
use super::wire::Answer;
use crate::block_store::StaleWrite;

/// The target and the host adapter of one transport.
#[derive(Debug)]
pub(crate) enum Stack {
    Scsi(Box<ScsiStack>),
    Nvme(Box<NvmeStack>),
}

impl Stack {
    /// The command bytes of an I/O: a CDB or a submission queue entry.
    pub fn io_command(&self, write: bool, lba: u64, blocks: u32) -> Option<Vec<u8>> {
        match self {
            Stack::Scsi(_) => ScsiStack::io_cdb(write, lba, blocks),
            Stack::Nvme(_) => NvmeStack::io_sqe(write, lba, blocks),
        }
    }

    /// The answer of a port past its queue depth.
    pub fn busy(&self) -> Answer {
        match self {
            Stack::Scsi(_) => ScsiStack::busy(),
            Stack::Nvme(_) => NvmeStack::busy(),
        }
    }

    /// Whether path `g` (global index) is registered with `key` (NVMe:
    /// its host is).
    pub fn registered(&self, g: usize, key: u64) -> bool {
        match self {
            Stack::Scsi(s) => s.registered(g, key),
            Stack::Nvme(n) => n.registered(g, key),
        }
    }

    /// Writes the target applied over newer ones.
    pub fn stale_writes(&self) -> &[StaleWrite] {
        match self {
            Stack::Scsi(s) => s.lu.store().stale_writes(),
            Stack::Nvme(n) => n
                .sub
                .store(super::nvme::NSID)
                .map_or(&[][..], |s| s.stale_writes()),
        }
    }

    /// The reservation truth, for a violation's detail.
    pub fn pr_truth(&self) -> String {
        match self {
            Stack::Scsi(s) => s.pr_truth(),
            Stack::Nvme(n) => n.pr_truth(),
        }
    }

    /// Another host fences us; whether it succeeded.
    pub fn other_host_preempts(&mut self, rtype: PrType) -> bool {
        match self {
            Stack::Scsi(s) => s.other_host_preempts(rtype),
            Stack::Nvme(n) => n.other_host_preempts(rtype),
        }
    }

    /// A group's state changes, given in ALUA's words.
    pub fn set_group_alua(&mut self, group: u16, state: AluaState) {
        match self {
            Stack::Scsi(s) => s.set_group_state(group, state),
            Stack::Nvme(n) => n.set_group_ana(group, ana_state(state)),
        }
    }

    /// A group's state changes, given in ANA's words.
    pub fn set_group_ana(&mut self, group: u16, state: AnaState) {
        match self {
            Stack::Scsi(s) => s.set_group_ana(group, state),
            Stack::Nvme(n) => n.set_group_ana(group, state),
        }
    }

    /// The target port of path `i` (every host's) moves into group
    /// `group` (NVMe: the path's controllers report that group's state).
    pub fn move_port(&mut self, i: usize, group: u16) {
        match self {
            Stack::Scsi(s) => {
                let _ = s.lu.move_target_port(super::sim::port_of(i), group);
            }
            Stack::Nvme(n) => n.move_path(i, group),
        }
    }

    /// A write stranded on path `i`'s dead link lands; whether it was
    /// applied.
    pub fn late_write(&mut self, i: usize, cmd: &[u8], data: &[u8]) -> bool {
        match self {
            Stack::Scsi(s) => {
                let mut none = [0u8; 0];
                matches!(s.lu.command(s.nexuses[i], cmd, data, &mut none), Ok(r) if r.status.code() == 0)
            }
            Stack::Nvme(n) => n.late_write(i, cmd, data),
        }
    }

    /// Whether path `i` has a session or association to resume (NVMe:
    /// none after a subsystem restart until the host connects again).
    pub fn associated(&self, i: usize) -> bool {
        match self {
            Stack::Scsi(_) => true,
            Stack::Nvme(n) => n.connected(i),
        }
    }

    /// Path `i` logs in again after its link came back.
    pub fn reconnect(&mut self, i: usize) {
        if let Stack::Nvme(n) = self {
            n.reconnect(i);
        }
    }

    /// The target loses power and comes back: registrations and the
    /// reservation survive only where persistence through power loss was
    /// set (SCSI APTPL, NVMe PTPL); every I_T nexus gets POWER ON, RESET
    /// as its next unit attention; NVMe controllers are reset. Blocks
    /// survive (no volatile cache in the model).
    pub fn restart(&mut self) {
        match self {
            Stack::Scsi(s) => s.lu.restart(),
            Stack::Nvme(n) => n.restart(),
        }
    }

    /// Path `i`'s controller is reset by the host.
    pub fn reset(&mut self, i: usize) {
        if let Stack::Nvme(n) = self {
            n.reset(i);
        }
    }
}
