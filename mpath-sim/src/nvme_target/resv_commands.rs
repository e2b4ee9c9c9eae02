//! The four Reservation commands on the wire: decoding with
//! `mpath_nvme::reservation`, the rules in [`super::reservation`], and the
//! Reservation Status data structure emitted with `mpath_nvme::resv_report`.
//!
//! The report lists one Registered Controller data structure per
//! controller of each registered host (Base 2.0 "Reservation Report
//! command": the data describes controllers associated with registrant
//! hosts), and one with CNTLID FFFFh for a registered host that has no
//! controller connected. A host using a 128-bit Host Identifier needs the
//! extended format: asked without EDS while one is in use, the command
//! fails with Host Identifier Inconsistent Format.

use mpath_nvme::error::Error as WireError;
use mpath_nvme::reservation::{
    ReservationAcquire, ReservationRegister, ReservationRelease, ReservationReport,
};
use mpath_nvme::resv_report::{Format, RegisteredController, ResvReportHeader, ResvReportRepr};
use mpath_nvme::status::StatusCode;

use super::admin::buffer;
use super::completion::extra_status;
use super::sqe::{io_opcode, SubmissionEntry};
use super::subsystem::{Fail, Subsystem};
use super::topology::HostIdentifier;

/// CNTLID of a registrant whose host has no controller (Base 2.0
/// "Registered Controller data structure").
pub const CNTLID_NONE: u16 = 0xFFFF;

/// A command that did not decode: short key data is a buffer problem, a
/// bad field an invalid one.
fn wire(e: WireError) -> Fail {
    match e {
        WireError::Truncated { .. } => extra_status::DATA_SGL_LENGTH_INVALID.into(),
        _ => StatusCode::INVALID_FIELD.into(),
    }
}

impl Subsystem {
    pub(crate) fn reservation_command(
        &mut self,
        cntlid: u16,
        host: HostIdentifier,
        e: &SubmissionEntry,
        data_out: &[u8],
        data_in: &mut [u8],
    ) -> Result<(), Fail> {
        let cdw10 = e.cdw[0];
        let ns = self
            .namespaces
            .get_mut(&e.nsid)
            .ok_or(Fail::from(StatusCode::INVALID_NAMESPACE))?;
        let fx = match e.opcode {
            io_opcode::RESERVATION_REGISTER => {
                let cmd = ReservationRegister::parse(cdw10, data_out).map_err(wire)?;
                ns.resv.register(host, &cmd)?
            }
            io_opcode::RESERVATION_ACQUIRE => {
                let cmd = ReservationAcquire::parse(cdw10, data_out).map_err(wire)?;
                ns.resv.acquire(host, &cmd)?
            }
            io_opcode::RESERVATION_RELEASE => {
                let cmd = ReservationRelease::parse(cdw10, data_out).map_err(wire)?;
                ns.resv.release(host, &cmd)?
            }
            io_opcode::RESERVATION_REPORT => {
                return self.reservation_report(cntlid, host, e, data_in);
            }
            _ => return Err(StatusCode::INVALID_OPCODE.into()),
        };
        self.apply_effects(e.nsid, fx);
        Ok(())
    }

    fn reservation_report(
        &self,
        _cntlid: u16,
        host: HostIdentifier,
        e: &SubmissionEntry,
        data_in: &mut [u8],
    ) -> Result<(), Fail> {
        let cmd = ReservationReport::parse(e.cdw[0], e.cdw[1]);
        let len = usize::try_from(cmd.transfer_len())
            .map_err(|_| Fail::from(StatusCode::INVALID_FIELD))?;
        let out = buffer(data_in, len)?;
        let page = self
            .reservation_report_data(e.nsid, cmd.eds, host)
            .ok_or(Fail::from(StatusCode::INVALID_NAMESPACE))??;
        let n = page.len().min(out.len());
        let (head, tail) = out.split_at_mut(n);
        head.copy_from_slice(page.get(..n).unwrap_or_default());
        tail.fill(0);
        Ok(())
    }

    /// The whole Reservation Status data structure of `nsid` as `host`
    /// would read it (`eds`: extended format). `None` for an unknown
    /// namespace; `Some(Err)` for a regular report while 128-bit host
    /// identifiers are in use.
    pub(crate) fn reservation_report_data(
        &self,
        nsid: u32,
        eds: bool,
        host: HostIdentifier,
    ) -> Option<Result<Vec<u8>, Fail>> {
        let resv = &self.namespaces.get(&nsid)?.resv;
        let format = if eds {
            Format::Extended
        } else {
            if host.is_extended() || resv.registrants().iter().any(|r| r.host.is_extended()) {
                return Some(Err(extra_status::HOST_ID_INCONSISTENT_FORMAT.into()));
            }
            Format::Regular
        };
        let mut entries = Vec::new();
        for r in resv.registrants() {
            let mut ctrls = self.controllers_of(r.host);
            if ctrls.is_empty() {
                ctrls.push(CNTLID_NONE);
            }
            for cntlid in ctrls {
                entries.push(RegisteredController {
                    cntlid,
                    holds_reservation: resv.is_holder(r.host),
                    hostid: r.host.to_report_bytes(),
                    rkey: r.key,
                });
            }
        }
        entries.truncate(usize::from(u16::MAX));
        let repr = ResvReportRepr {
            format,
            header: ResvReportHeader {
                generation: resv.generation(),
                rtype: resv.reservation().map(|r| r.rtype),
                regctl: u16::try_from(entries.len()).unwrap_or(u16::MAX),
                ptpls: resv.ptpl(),
            },
            registrants: &entries,
        };
        let mut page = vec![0u8; repr.buffer_len()];
        Some(
            repr.emit(&mut page)
                .map(|()| page)
                .map_err(|_| StatusCode::INTERNAL_ERROR.into()),
        )
    }
}
