//! ADDITIONAL SENSE CODE / QUALIFIER descriptions (SPC-4 annex D, table D.1)
//! for the codes a multipath stack meets.
//!
//! The wording is T10's with sg3_utils' capitalisation, so logs read the same
//! as `sg_decode_sense` output (the cross-check test holds us to it). The table
//! is deliberately partial: codes outside it print as hex.

/// `(ASC, ASCQ, description)`, sorted by (ASC, ASCQ).
pub const ASC_TABLE: &[(u8, u8, &str)] = &[
    (0x00, 0x00, "No additional sense information"),
    (0x00, 0x17, "Cleaning requested"),
    (0x04, 0x00, "Logical unit not ready, cause not reportable"),
    (0x04, 0x01, "Logical unit is in process of becoming ready"),
    (
        0x04,
        0x02,
        "Logical unit not ready, initializing command required",
    ),
    (
        0x04,
        0x03,
        "Logical unit not ready, manual intervention required",
    ),
    (0x04, 0x04, "Logical unit not ready, format in progress"),
    (0x04, 0x07, "Logical unit not ready, operation in progress"),
    (0x04, 0x09, "Logical unit not ready, self-test in progress"),
    (
        0x04,
        0x0A,
        "Logical unit not accessible, asymmetric access state transition",
    ),
    (
        0x04,
        0x0B,
        "Logical unit not accessible, target port in standby state",
    ),
    (
        0x04,
        0x0C,
        "Logical unit not accessible, target port in unavailable state",
    ),
    (
        0x04,
        0x10,
        "Logical unit not ready, auxiliary memory not accessible",
    ),
    (
        0x04,
        0x11,
        "Logical unit not ready, notify (enable spinup) required",
    ),
    (0x04, 0x12, "Logical unit not ready, offline"),
    (0x05, 0x00, "Logical unit does not respond to selection"),
    (0x08, 0x00, "Logical unit communication failure"),
    (0x08, 0x01, "Logical unit communication time-out"),
    (0x08, 0x02, "Logical unit communication parity error"),
    (0x0C, 0x00, "Write error"),
    (0x0C, 0x02, "Write error - auto reallocation failed"),
    (0x10, 0x01, "Logical block guard check failed"),
    (0x10, 0x02, "Logical block application tag check failed"),
    (0x10, 0x03, "Logical block reference tag check failed"),
    (0x11, 0x00, "Unrecovered read error"),
    (0x14, 0x01, "Record not found"),
    (0x15, 0x00, "Random positioning error"),
    (0x17, 0x01, "Recovered data with retries"),
    (0x1A, 0x00, "Parameter list length error"),
    (0x1D, 0x00, "Miscompare during verify operation"),
    (0x20, 0x00, "Invalid command operation code"),
    (0x21, 0x00, "Logical block address out of range"),
    (0x24, 0x00, "Invalid field in cdb"),
    (0x25, 0x00, "Logical unit not supported"),
    (0x26, 0x00, "Invalid field in parameter list"),
    (0x26, 0x01, "Parameter not supported"),
    (0x26, 0x02, "Parameter value invalid"),
    (0x27, 0x00, "Write protected"),
    (0x27, 0x07, "Space allocation failed write protect"),
    (
        0x28,
        0x00,
        "Not ready to ready change, medium may have changed",
    ),
    (0x29, 0x00, "Power on, reset, or bus device reset occurred"),
    (0x29, 0x01, "Power on occurred"),
    (0x29, 0x02, "SCSI bus reset occurred"),
    (0x29, 0x03, "Bus device reset function occurred"),
    (0x29, 0x04, "Device internal reset"),
    (0x29, 0x07, "I_T nexus loss occurred"),
    (0x2A, 0x00, "Parameters changed"),
    (0x2A, 0x01, "Mode parameters changed"),
    (0x2A, 0x02, "Log parameters changed"),
    (0x2A, 0x03, "Reservations preempted"),
    (0x2A, 0x04, "Reservations released"),
    (0x2A, 0x05, "Registrations preempted"),
    (0x2A, 0x06, "Asymmetric access state changed"),
    (
        0x2A,
        0x07,
        "Implicit asymmetric access state transition failed",
    ),
    (0x2A, 0x09, "Capacity data has changed"),
    (0x2A, 0x10, "Timestamp changed"),
    (0x2C, 0x00, "Command sequence error"),
    (0x2F, 0x00, "Commands cleared by another initiator"),
    (0x31, 0x00, "Medium format corrupted"),
    (0x38, 0x07, "Thin provisioning soft threshold reached"),
    (0x3A, 0x00, "Medium not present"),
    (0x3E, 0x00, "Logical unit has not self-configured yet"),
    (0x3E, 0x01, "Logical unit failure"),
    (0x3E, 0x03, "Logical unit failed self-test"),
    (0x3F, 0x00, "Target operating conditions have changed"),
    (0x3F, 0x01, "Microcode has been changed"),
    (0x3F, 0x03, "Inquiry data has changed"),
    (0x3F, 0x0E, "Reported luns data has changed"),
    (0x44, 0x00, "Internal target failure"),
    (0x47, 0x00, "SCSI parity error"),
    (0x49, 0x00, "Invalid message error"),
    (0x4B, 0x00, "Data phase error"),
    (0x4E, 0x00, "Overlapped commands attempted"),
    (0x55, 0x03, "Insufficient resources"),
    (0x5D, 0x00, "Failure prediction threshold exceeded"),
    (0x74, 0x71, "Logical unit access not authorized"),
];

/// The description of an ASC/ASCQ pair, if the table knows it.
pub fn asc_text(asc: u8, ascq: u8) -> Option<&'static str> {
    ASC_TABLE
        .binary_search_by_key(&(asc, ascq), |&(a, q, _)| (a, q))
        .ok()
        .and_then(|i| ASC_TABLE.get(i))
        .map(|&(_, _, text)| text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_so_binary_search_finds_every_row() {
        for w in ASC_TABLE.windows(2) {
            assert!((w[0].0, w[0].1) < (w[1].0, w[1].1), "{:?}", w);
        }
        for &(a, q, t) in ASC_TABLE {
            assert_eq!(asc_text(a, q), Some(t));
        }
        assert_eq!(
            asc_text(0x04, 0x0B),
            Some("Logical unit not accessible, target port in standby state")
        );
        assert_eq!(asc_text(0x99, 0x99), None);
    }
}
