//! The Get Log Page admin command (Base 2.0 "Get Log Page command").
//!
//! Only the command dwords are built here; the log pages themselves are in
//! [`crate::ana`] and [`crate::resv_notification`]. The dword layout:
//!
//! | dword | bits  | field                                               |
//! |-------|-------|-----------------------------------------------------|
//! | CDW10 | 7:0   | LID, Log Page Identifier                            |
//! | CDW10 | 14:8  | LSP, Log Specific Field (for ANA: bit 0 = RGO)      |
//! | CDW10 | 15    | RAE, Retain Asynchronous Event                      |
//! | CDW10 | 31:16 | NUMDL, low half of the 0's based dword count        |
//! | CDW11 | 15:0  | NUMDU, high half of the dword count                 |
//! | CDW11 | 31:16 | LSI, Log Specific Identifier                        |
//! | CDW12 | 31:0  | LPOL, log page offset, low dword (bytes)            |
//! | CDW13 | 31:0  | LPOU, log page offset, high dword                   |

use crate::error::Result;
use crate::field::{self, bits};

/// Log Page Identifier of the Asymmetric Namespace Access log (Base 2.0
/// "Asymmetric Namespace Access log page").
pub const LID_ANA: u8 = 0x0C;
/// Log Page Identifier of the Changed Namespace List log (Base 2.0
/// "Changed Namespace List log page"): read after a namespace attribute changed event.
pub const LID_CHANGED_NS_LIST: u8 = 0x04;
/// Log Page Identifier of the Reservation Notification log (Base 2.0
/// "Reservation Notification log page").
pub const LID_RESERVATION_NOTIFICATION: u8 = 0x80;
/// LSP bit 0 of the ANA log: Return Groups Only (RGO), descriptors without
/// NSID lists (Base 2.0 "Asymmetric Namespace Access log page").
pub const LSP_ANA_RGO: u8 = 0x01;

/// A Get Log Page command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GetLogPage {
    /// Log Page Identifier.
    pub lid: u8,
    /// Log Specific Field (7 bits).
    pub lsp: u8,
    /// Retain Asynchronous Event: when clear, reading the page also clears
    /// the asynchronous event that announced it, so the controller may
    /// report the next one (Base 2.0 "Asynchronous Event Request
    /// command"). Multipath reads after an event, so it leaves this clear,
    /// as Linux `nvme_read_ana_log()` does.
    pub rae: bool,
    /// Number of dwords to transfer, 0's based (NUMDU:NUMDL).
    pub numd: u32,
    /// Log Specific Identifier.
    pub lsi: u16,
    /// Byte offset into the log page (LPOU:LPOL); must be a dword multiple.
    pub offset: u64,
}

impl GetLogPage {
    /// Admin command opcode.
    pub const OPCODE: u8 = 0x02;

    /// Reads `len` bytes of log `lid`. `len` must be a non-zero multiple of
    /// four: the command counts dwords.
    pub fn new(lid: u8, len: u32) -> Result<Self> {
        Ok(GetLogPage {
            lid,
            lsp: 0,
            rae: false,
            numd: field::numd(len)?,
            lsi: 0,
            offset: 0,
        })
    }

    /// Reads `len` bytes of the ANA log, with NSID lists unless `rgo`.
    pub fn ana(len: u32, rgo: bool) -> Result<Self> {
        let mut cmd = GetLogPage::new(LID_ANA, len)?;
        cmd.lsp = if rgo { LSP_ANA_RGO } else { 0 };
        Ok(cmd)
    }

    /// Reads the 64-byte Reservation Notification log page.
    pub fn reservation_notification() -> Self {
        GetLogPage {
            lid: LID_RESERVATION_NOTIFICATION,
            lsp: 0,
            rae: false,
            numd: 15,
            lsi: 0,
            offset: 0,
        }
    }

    /// Bytes the command transfers.
    pub fn transfer_len(&self) -> u64 {
        field::numd_len(self.numd)
    }

    /// Command Dword 10.
    pub fn cdw10(&self) -> u32 {
        let numdl = self.numd & 0xFFFF;
        u32::from(self.lid)
            | (u32::from(self.lsp & 0x7F) << 8)
            | (u32::from(self.rae) << 15)
            | numdl.checked_shl(16).unwrap_or(0)
    }

    /// Command Dword 11.
    pub fn cdw11(&self) -> u32 {
        bits(self.numd, 16, 0xFFFF) | u32::from(self.lsi).checked_shl(16).unwrap_or(0)
    }

    /// Command Dword 12.
    pub fn cdw12(&self) -> u32 {
        let [a, b, c, d, ..] = self.offset.to_le_bytes();
        u32::from_le_bytes([a, b, c, d])
    }

    /// Command Dword 13.
    pub fn cdw13(&self) -> u32 {
        let [.., a, b, c, d] = self.offset.to_le_bytes();
        u32::from_le_bytes([a, b, c, d])
    }

    /// Command dwords 10 through 13.
    pub fn cdws(&self) -> [u32; 4] {
        [self.cdw10(), self.cdw11(), self.cdw12(), self.cdw13()]
    }

    /// Decodes command dwords 10 through 13 (a simulated controller's side).
    /// Every value decodes; bits outside the fields above are ignored.
    pub fn parse(cdws: [u32; 4]) -> Self {
        let [cdw10, cdw11, cdw12, cdw13] = cdws;
        let [lid, ..] = cdw10.to_le_bytes();
        let [.., lsp, _, _] = (cdw10 & 0x7F00).to_le_bytes();
        let [_, _, lsi_lo, lsi_hi] = cdw11.to_le_bytes();
        GetLogPage {
            lid,
            lsp,
            rae: bits(cdw10, 15, 1) != 0,
            numd: bits(cdw10, 16, 0xFFFF) | (cdw11 & 0xFFFF).checked_shl(16).unwrap_or(0),
            lsi: u16::from_le_bytes([lsi_lo, lsi_hi]),
            offset: u64::from(cdw12) | u64::from(cdw13).checked_shl(32).unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use proptest::prelude::*;

    #[test]
    fn ana_command_dwords() {
        // 4096 bytes = 1024 dwords, NUMD 1023 = 0x3FF in NUMDL; RGO in LSP.
        let cmd = GetLogPage::ana(4096, true).unwrap();
        assert_eq!(cmd.cdw10(), 0x03FF_010C);
        assert_eq!(cmd.cdw11(), 0);
        let cmd = GetLogPage::ana(0x0004_0000 * 4, false).unwrap();
        assert_eq!(cmd.cdw10(), 0xFFFF_000C);
        assert_eq!(cmd.cdw11(), 0x0000_0003);
        assert_eq!(cmd.transfer_len(), 0x0010_0000);
        let cmd = GetLogPage {
            rae: true,
            offset: 0x1_0000_0040,
            lsi: 0xABCD,
            ..cmd
        };
        assert_eq!(cmd.cdws(), [0xFFFF_800C, 0xABCD_0003, 0x40, 0x1]);
        assert_eq!(GetLogPage::reservation_notification().cdw10(), 0x000F_0080);
    }

    #[test]
    fn lengths_must_be_dwords() {
        for len in [0, 1, 2, 3, 4095] {
            assert!(matches!(
                GetLogPage::new(LID_ANA, len),
                Err(Error::Invalid { field: "NUMD", .. })
            ));
        }
        assert_eq!(GetLogPage::new(LID_ANA, 4).unwrap().numd, 0);
    }

    proptest! {
        #[test]
        fn dwords_round_trip(lid: u8, lsp in 0u8..0x80, rae: bool, numd: u32, lsi: u16, offset: u64) {
            let cmd = GetLogPage { lid, lsp, rae, numd, lsi, offset };
            prop_assert_eq!(GetLogPage::parse(cmd.cdws()), cmd);
        }

        #[test]
        fn any_dwords_parse_stably(cdws: [u32; 4]) {
            let cmd = GetLogPage::parse(cdws);
            prop_assert_eq!(GetLogPage::parse(cmd.cdws()), cmd);
            // Every bit of CDW10..13 belongs to a field, so nothing is lost.
            prop_assert_eq!(cmd.cdws(), [cdws[0], cdws[1], cdws[2], cdws[3]]);
        }
    }
}
