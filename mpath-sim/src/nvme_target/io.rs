//! I/O commands: Read, Write and Flush through the namespace's
//! [`BlockStore`](crate::block_store::BlockStore), and the checks every
//! I/O command passes first.
//!
//! Order of checks, as Linux nvmet's `nvmet_parse_io_cmd()` makes them:
//! opcode, namespace, ANA state of the namespace's group through this
//! controller (for every I/O command, reservation commands included),
//! then, for Read, Write and Flush, the reservation, then the LBA range
//! and the data buffer. The Read and Write path allocates nothing.

use mpath_nvme::ana::AnaState;
use mpath_nvme::status::StatusCode;

use super::completion::{extra_status, Completion, Submitted};
use super::reservation::AccessKind;
use super::sqe::{io_opcode, SubmissionEntry};
use super::subsystem::{Fail, Subsystem};
use super::topology::HostIdentifier;

/// The path status for a namespace in `state` (Base 2.0 "Path Related
/// Status"), `None` when I/O may proceed. Path errors are about the path,
/// not the command, so DNR stays clear: another controller may do it.
pub fn ana_status(state: AnaState) -> Option<StatusCode> {
    match state {
        AnaState::Optimized | AnaState::NonOptimized => None,
        AnaState::Inaccessible => Some(StatusCode::ANA_INACCESSIBLE),
        AnaState::PersistentLoss => Some(StatusCode::ANA_PERSISTENT_LOSS),
        AnaState::Change => Some(StatusCode::ANA_TRANSITION),
    }
}

impl Subsystem {
    pub(crate) fn io(
        &mut self,
        cntlid: u16,
        host: HostIdentifier,
        e: &SubmissionEntry,
        data_out: &[u8],
        data_in: &mut [u8],
    ) -> Result<Submitted, Fail> {
        if !matches!(
            e.opcode,
            io_opcode::FLUSH
                | io_opcode::WRITE
                | io_opcode::READ
                | io_opcode::RESERVATION_REGISTER
                | io_opcode::RESERVATION_REPORT
                | io_opcode::RESERVATION_ACQUIRE
                | io_opcode::RESERVATION_RELEASE
        ) {
            return Err(StatusCode::INVALID_OPCODE.into());
        }
        let ns = self
            .namespaces
            .get(&e.nsid)
            .ok_or(Fail::from(StatusCode::INVALID_NAMESPACE))?;
        let state = self
            .controllers
            .get(&cntlid)
            .and_then(|c| c.ana.get(&ns.cfg.anagrpid))
            .map_or(AnaState::Inaccessible, |v| v.state);
        if let Some(code) = ana_status(state) {
            return Err(Fail { code, dnr: false });
        }
        let done = Submitted::Completed(Completion::success(e.cid));
        match e.opcode {
            io_opcode::READ => self.read(host, e, data_in).map(|()| done),
            io_opcode::WRITE => self.write(host, e, data_out).map(|()| done),
            io_opcode::FLUSH => {
                // Nothing volatile to flush; the reservation still decides
                // (Flush is in the write command group).
                ns.resv.check_access(host, AccessKind::Write)?;
                Ok(done)
            }
            _ => self
                .reservation_command(cntlid, host, e, data_out, data_in)
                .map(|()| done),
        }
    }

    /// Namespace, reservation and range checks shared by Read and Write:
    /// the byte length of the transfer.
    fn rw_len(
        &self,
        host: HostIdentifier,
        e: &SubmissionEntry,
        kind: AccessKind,
    ) -> Result<usize, Fail> {
        let ns = self
            .namespaces
            .get(&e.nsid)
            .ok_or(Fail::from(StatusCode::INVALID_NAMESPACE))?;
        ns.resv.check_access(host, kind)?;
        let (lba, count) = (e.slba(), e.blocks());
        match lba.checked_add(count) {
            Some(end) if end <= ns.cfg.blocks => {}
            _ => return Err(StatusCode::LBA_OUT_OF_RANGE.into()),
        }
        usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(ns.store.block_size()))
            .ok_or(Fail::from(StatusCode::LBA_OUT_OF_RANGE))
    }

    fn read(
        &mut self,
        host: HostIdentifier,
        e: &SubmissionEntry,
        data_in: &mut [u8],
    ) -> Result<(), Fail> {
        let len = self.rw_len(host, e, AccessKind::Read)?;
        let out = data_in
            .get_mut(..len)
            .ok_or(Fail::from(extra_status::DATA_SGL_LENGTH_INVALID))?;
        let ns = self
            .namespaces
            .get(&e.nsid)
            .ok_or(Fail::from(StatusCode::INVALID_NAMESPACE))?;
        ns.store
            .read(e.slba(), e.blocks(), out)
            .map_err(|_| Fail::from(StatusCode::LBA_OUT_OF_RANGE))
    }

    fn write(
        &mut self,
        host: HostIdentifier,
        e: &SubmissionEntry,
        data_out: &[u8],
    ) -> Result<(), Fail> {
        let len = self.rw_len(host, e, AccessKind::Write)?;
        let data = data_out
            .get(..len)
            .ok_or(Fail::from(extra_status::DATA_SGL_LENGTH_INVALID))?;
        let ns = self
            .namespaces
            .get_mut(&e.nsid)
            .ok_or(Fail::from(StatusCode::INVALID_NAMESPACE))?;
        ns.store
            .write(e.slba(), data)
            .map_err(|_| Fail::from(StatusCode::LBA_OUT_OF_RANGE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ana_states_map_to_path_status() {
        let table = [
            (AnaState::Optimized, None),
            (AnaState::NonOptimized, None),
            (AnaState::Inaccessible, Some(StatusCode::ANA_INACCESSIBLE)),
            (
                AnaState::PersistentLoss,
                Some(StatusCode::ANA_PERSISTENT_LOSS),
            ),
            (AnaState::Change, Some(StatusCode::ANA_TRANSITION)),
        ];
        for (state, code) in table {
            assert_eq!(ana_status(state), code, "{state:?}");
        }
    }
}
