//! Admin commands: Identify (Controller, Namespace, Active Namespace ID
//! list), Asynchronous Event Request and Keep Alive; Get Log Page is in
//! [`super::log_pages`].

use mpath_nvme::identify::{
    Anacap, Cmic, Identify, IdentifyControllerRepr, IdentifyNamespaceRepr, Nmic, Oncs, Rescap,
    Version, IDENTIFY_LEN,
};
use mpath_nvme::status::StatusCode;

use super::completion::{extra_status, Completion, Submitted};
use super::sqe::{admin_opcode, SubmissionEntry};
use super::subsystem::{Fail, Subsystem};

/// CNS values the target answers (Base 2.0 "CNS Values").
pub mod cns {
    /// Identify Namespace data structure for NSID.
    pub const NAMESPACE: u8 = 0x00;
    /// Identify Controller data structure.
    pub const CONTROLLER: u8 = 0x01;
    /// Active Namespace ID list: NSIDs greater than NSID, ascending.
    pub const ACTIVE_NSID_LIST: u8 = 0x02;
}

// Identify Controller bytes outside IdentifyControllerRepr, written so the
// page looks like a controller's to tools that read more than multipath.
const SN: usize = 4;
const MN: usize = 24;
const FR: usize = 64;
const OAES: usize = 92;
const CNTRLTYPE: usize = 111;
const AERL: usize = 259;
const SQES: usize = 512;
const CQES: usize = 513;
// Identify Namespace: FLBAS (26) and NLBAF (25) stay 0, so LBA format 0
// (bytes 128-131, LBADS in bits 23:16) is the one in use.
const LBAF0_LBADS: usize = 130;

/// OAES bit 11: ANA Change Notices are sent.
const OAES_ANA_CHANGE: u32 = 1 << 11;

/// The first `len` bytes of `data_in`, or Data SGL Length Invalid.
pub(crate) fn buffer(data_in: &mut [u8], len: usize) -> Result<&mut [u8], Fail> {
    data_in
        .get_mut(..len)
        .ok_or_else(|| extra_status::DATA_SGL_LENGTH_INVALID.into())
}

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(s) = buf.get_mut(at..at + bytes.len()) {
        s.copy_from_slice(bytes);
    }
}

impl Subsystem {
    pub(crate) fn admin(
        &mut self,
        cntlid: u16,
        e: &SubmissionEntry,
        data_in: &mut [u8],
    ) -> Result<Submitted, Fail> {
        let done = Submitted::Completed(Completion::success(e.cid));
        match e.opcode {
            admin_opcode::IDENTIFY => self.identify(cntlid, e, data_in).map(|()| done),
            admin_opcode::GET_LOG_PAGE => self.get_log_page(cntlid, e, data_in).map(|()| done),
            admin_opcode::ASYNC_EVENT_REQUEST => self.async_event_request(cntlid, e.cid),
            // Keep Alive: the engine keeps the timer; the target just
            // answers (a controller that answers is alive).
            admin_opcode::KEEP_ALIVE => Ok(done),
            _ => Err(StatusCode::INVALID_OPCODE.into()),
        }
    }

    fn async_event_request(&mut self, cntlid: u16, cid: u16) -> Result<Submitted, Fail> {
        let limit = usize::from(self.cfg.aerl) + 1;
        let c = self
            .controllers
            .get_mut(&cntlid)
            .ok_or(Fail::from(StatusCode::INTERNAL_ERROR))?;
        if c.aer_count() >= limit {
            return Err(extra_status::AER_LIMIT_EXCEEDED.into());
        }
        Ok(match c.take_aer(cid) {
            Some(completion) => Submitted::Completed(completion),
            None => Submitted::Deferred { cid },
        })
    }

    fn identify(&self, cntlid: u16, e: &SubmissionEntry, data_in: &mut [u8]) -> Result<(), Fail> {
        let id = Identify::parse(e.cdw[0]);
        let buf = buffer(data_in, IDENTIFY_LEN)?;
        match id.cns {
            cns::CONTROLLER => {
                buf.fill(0);
                self.identify_controller(cntlid, buf)
            }
            cns::NAMESPACE => {
                let ns = self
                    .namespaces
                    .get(&e.nsid)
                    .ok_or(Fail::from(StatusCode::INVALID_NAMESPACE))?;
                buf.fill(0);
                let repr = IdentifyNamespaceRepr {
                    nsze: ns.cfg.blocks,
                    ncap: ns.cfg.blocks,
                    nuse: ns.cfg.blocks,
                    nmic: Nmic::SHARED,
                    // PTPL, all six types, IEKEY as NVMe 1.3 defines it.
                    rescap: Rescap::all(),
                    anagrpid: ns.cfg.anagrpid,
                };
                repr.emit(buf)
                    .map_err(|_| Fail::from(StatusCode::INTERNAL_ERROR))?;
                let lbads = u8::try_from(ns.cfg.block_size.trailing_zeros()).unwrap_or(9);
                put(buf, LBAF0_LBADS, &[lbads]);
                Ok(())
            }
            cns::ACTIVE_NSID_LIST => {
                // NSIDs FFFFFFFEh and FFFFFFFFh cannot start a list.
                if e.nsid >= 0xFFFF_FFFE {
                    return Err(StatusCode::INVALID_NAMESPACE.into());
                }
                buf.fill(0);
                for (slot, nsid) in buf.chunks_exact_mut(4).zip(
                    self.namespaces
                        .range(e.nsid.saturating_add(1)..)
                        .map(|(n, _)| *n),
                ) {
                    slot.copy_from_slice(&nsid.to_le_bytes());
                }
                Ok(())
            }
            _ => Err(StatusCode::INVALID_FIELD.into()),
        }
    }

    fn identify_controller(&self, cntlid: u16, buf: &mut [u8]) -> Result<(), Fail> {
        let repr = IdentifyControllerRepr {
            cmic: Cmic::MULTI_PORT | Cmic::MULTI_CONTROLLER | Cmic::ANA_REPORTING,
            cntlid,
            ver: Version {
                major: 2,
                minor: 0,
                tertiary: 0,
            },
            crdt: self.cfg.crdt,
            nn: self.cfg.nn,
            oncs: Oncs::RESERVATIONS,
            mnan: 0,
            anatt: self.cfg.anatt,
            anacap: Anacap::OPTIMIZED
                | Anacap::NON_OPTIMIZED
                | Anacap::INACCESSIBLE
                | Anacap::PERSISTENT_LOSS
                | Anacap::CHANGE
                | Anacap::GRPID_NOT_CHANGED,
            anagrpmax: self.cfg.anagrpmax,
            nanagrpid: self.cfg.anagrpmax,
            subnqn: Some(self.cfg.nqn),
        };
        repr.emit(buf)
            .map_err(|_| Fail::from(StatusCode::INTERNAL_ERROR))?;
        put(buf, SN, b"MPATHSIM            ");
        put(buf, MN, b"mpath-sim NVMe subsystem                ");
        put(buf, FR, b"0.1     ");
        put(buf, OAES, &OAES_ANA_CHANGE.to_le_bytes());
        put(buf, CNTRLTYPE, &[1]); // I/O controller
        put(buf, AERL, &[self.cfg.aerl]);
        put(buf, SQES, &[0x66]); // 64-byte entries
        put(buf, CQES, &[0x44]); // 16-byte entries
        Ok(())
    }
}
