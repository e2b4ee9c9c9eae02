//! What the logical unit says about itself: standard INQUIRY data (SPC-4
//! 6.6.2), VPD pages 00h, 80h and 83h (SPC-4 7.8), and REPORT LUNS (6.33).
//!
//! Standard data is the 36 bytes mpath-scsi's [`InquiryRepr`] emits: SPC-4
//! (VERSION 06h), HISUP, TPGS from the configuration, MULTIP when the
//! logical unit has more than one port, CMDQUE. Page 83h carries, in this
//! order: the NAA 6h logical unit designator, the relative target port
//! designator (PIV set, the configured protocol) and the target port group
//! designator of the port the INQUIRY came through, as scsi_dh_alua and
//! multipath-tools read them. A VPD page this target does not have is
//! INVALID FIELD IN CDB at the PAGE CODE.

use mpath_scsi::vpd::page;
use mpath_scsi::{
    Association, CodeSet, Designation, Designator, DeviceIdRepr, InquiryRepr, List, Peripheral,
    SupportedPagesRepr, WireError,
};

use super::nexus::Nexus;
use super::response::{self, Failure, Response};
use super::LogicalUnit;

/// The VPD pages this target has, ascending (SPC-4 7.8.16).
const PAGES: [u8; 3] = [
    page::SUPPORTED_PAGES,
    page::UNIT_SERIAL_NUMBER,
    page::DEVICE_IDENTIFICATION,
];

/// Room for every page this target emits but 80h with a long serial.
const PAGE_BUF: usize = 128;

impl LogicalUnit {
    pub(super) fn inquiry(
        &self,
        n: Nexus,
        vpd: Option<u8>,
        alloc_len: usize,
        data_in: &mut [u8],
    ) -> Result<Response, Failure> {
        let mut buf = [0u8; PAGE_BUF];
        let len = match vpd {
            None => self.standard_inquiry(&mut buf),
            Some(page::SUPPORTED_PAGES) => SupportedPagesRepr {
                peripheral: Peripheral::DISK,
                pages: List::Items(&PAGES),
            }
            .emit(&mut buf),
            Some(page::UNIT_SERIAL_NUMBER) => {
                // No codec for 80h in mpath-scsi: header, then the serial.
                let serial = &self.config.serial;
                let mut page = vec![0u8; 4];
                page[1] = page::UNIT_SERIAL_NUMBER;
                let [h, l] = u16::try_from(serial.len()).unwrap_or(0).to_be_bytes();
                page[2] = h;
                page[3] = l;
                page.extend_from_slice(serial.get(..usize::from(u16::MAX)).unwrap_or(serial));
                return Ok(response::send(&page, alloc_len, data_in));
            }
            Some(page::DEVICE_IDENTIFICATION) => self.device_identification(n, &mut buf),
            Some(_) => return Err(Failure::invalid_cdb(2, None)),
        };
        let len = len.map_err(|_| Failure::invalid_cdb(2, None))?;
        Ok(response::send(
            buf.get(..len).unwrap_or(&[]),
            alloc_len,
            data_in,
        ))
    }

    fn standard_inquiry(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        InquiryRepr {
            peripheral: Peripheral::DISK,
            rmb: false,
            version: 0x06,
            normaca: false,
            hisup: true,
            response_data_format: 2,
            sccs: false,
            acc: false,
            tpgs: self.config.tpgs,
            third_party_copy: false,
            protect: false,
            encserv: false,
            multip: self.topology.port_ids().count() > 1,
            cmdque: true,
            vendor: self.config.vendor,
            product: self.config.product,
            revision: *b"0001",
        }
        .emit(buf)
    }

    fn device_identification(&self, n: Nexus, buf: &mut [u8]) -> Result<usize, WireError> {
        let group = self.topology.group_of(n.port).map_or(0, |g| g.id);
        let designations = [
            Designation {
                piv: false,
                protocol_id: mpath_scsi::ProtocolId(0),
                code_set: CodeSet::Binary,
                association: Association::LogicalUnit,
                designator: Designator::Naa(&self.config.naa),
            },
            Designation {
                piv: true,
                protocol_id: self.config.protocol,
                code_set: CodeSet::Binary,
                association: Association::TargetPort,
                designator: Designator::RelativeTargetPort(n.port),
            },
            Designation {
                piv: false,
                protocol_id: mpath_scsi::ProtocolId(0),
                code_set: CodeSet::Binary,
                association: Association::TargetPort,
                designator: Designator::TargetPortGroup(group),
            },
        ];
        DeviceIdRepr {
            peripheral: Peripheral::DISK,
            designations: List::Items(&designations),
        }
        .emit(buf)
    }

    /// REPORT LUNS: this logical unit's LUN (SELECT REPORT 00h, 02h), or
    /// no well known logical units (01h).
    pub(super) fn report_luns(&self, select: u8, alloc_len: u32, data_in: &mut [u8]) -> Response {
        let mut data = [0u8; 16];
        let lun = self.config.lun;
        if select != 1 {
            data[3] = 8;
            let [h, l] = lun.to_be_bytes();
            // SAM-5 4.7: peripheral device addressing below 256, flat space
            // addressing above.
            data[8] = if lun < 256 { 0 } else { 0x40 | (h & 0x3F) };
            data[9] = l;
        }
        let len = if select == 1 { 8 } else { 16 };
        response::send(
            data.get(..len).unwrap_or(&[]),
            usize::try_from(alloc_len).unwrap_or(usize::MAX),
            data_in,
        )
    }
}
