//! Asynchronous Event Request completions (Base 2.0 "Asynchronous
//! Event Request command"; completion queue entry Dword 0).
//!
//! Dword 0: event type (2:0), event information (15:8), associated log page
//! (23:16); the rest is reserved. An event is reported once and then masked
//! until the host reads its log page with RAE clear, so the answer to each
//! event multipath cares about is a log page to read ([`AenAction::read_log`])
//! plus what the core should hear now ([`AenAction::notices`]). The adapter
//! also re-arms the request by submitting a new Asynchronous Event Request.

use mpath_core::outcome::Notices;

use crate::field::bits;
use crate::log_page::{LID_ANA, LID_CHANGED_NS_LIST, LID_RESERVATION_NOTIFICATION};

/// Asynchronous Event Type values (Base 2.0 "Asynchronous Event
/// Information - Completion Queue Entry Dword 0").
pub mod event_type {
    /// Error status.
    pub const ERROR: u8 = 0x0;
    /// SMART / Health status.
    pub const SMART: u8 = 0x1;
    /// Notice.
    pub const NOTICE: u8 = 0x2;
    /// I/O Command Set specific status.
    pub const IO_COMMAND_SET: u8 = 0x6;
    /// Vendor specific.
    pub const VENDOR: u8 = 0x7;
}

/// Asynchronous Event Information values of [`event_type::NOTICE`] events.
pub mod notice {
    /// Namespace Attribute Changed (log page 04h, Changed Namespace List).
    pub const NAMESPACE_ATTRIBUTE_CHANGED: u8 = 0x00;
    /// Firmware Activation Starting.
    pub const FIRMWARE_ACTIVATION_STARTING: u8 = 0x01;
    /// Telemetry Log Changed.
    pub const TELEMETRY_LOG_CHANGED: u8 = 0x02;
    /// Asymmetric Namespace Access Change (log page 0Ch).
    pub const ANA_CHANGE: u8 = 0x03;
    /// Discovery Log Page Change (fabrics discovery controllers).
    pub const DISCOVERY_LOG_CHANGED: u8 = 0xF0;
}

/// Asynchronous Event Information values of [`event_type::IO_COMMAND_SET`]
/// events.
pub mod io_command_set {
    /// Reservation Log Page Available (log page 80h).
    pub const RESERVATION_LOG_AVAILABLE: u8 = 0x00;
    /// Sanitize Operation Completed.
    pub const SANITIZE_COMPLETED: u8 = 0x01;
}

/// A decoded Asynchronous Event Request completion Dword 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AsyncEvent {
    /// Asynchronous Event Type (3 bits).
    pub event_type: u8,
    /// Asynchronous Event Information.
    pub info: u8,
    /// Log Page Identifier the host reads to learn more and clear the event.
    pub log_page: u8,
}

/// What multipath does about an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AenAction {
    /// Tell the core now.
    pub notices: Notices,
    /// Read this log page (with RAE clear, to unmask the event).
    pub read_log: Option<u8>,
}

impl AsyncEvent {
    /// An ANA change notice, as a controller reports it.
    pub const ANA_CHANGE: AsyncEvent = AsyncEvent {
        event_type: event_type::NOTICE,
        info: notice::ANA_CHANGE,
        log_page: LID_ANA,
    };
    /// A namespace attribute changed notice.
    pub const NAMESPACE_ATTRIBUTE_CHANGED: AsyncEvent = AsyncEvent {
        event_type: event_type::NOTICE,
        info: notice::NAMESPACE_ATTRIBUTE_CHANGED,
        log_page: LID_CHANGED_NS_LIST,
    };
    /// A reservation log page available event.
    pub const RESERVATION_LOG_AVAILABLE: AsyncEvent = AsyncEvent {
        event_type: event_type::IO_COMMAND_SET,
        info: io_command_set::RESERVATION_LOG_AVAILABLE,
        log_page: LID_RESERVATION_NOTIFICATION,
    };

    /// Decodes completion Dword 0; reserved bits are dropped.
    pub fn parse(dw0: u32) -> Self {
        let [_, info, log_page, _] = dw0.to_le_bytes();
        let [event_type, ..] = bits(dw0, 0, 0x7).to_le_bytes();
        AsyncEvent {
            event_type,
            info,
            log_page,
        }
    }

    /// Encodes completion Dword 0.
    pub fn emit(&self) -> u32 {
        u32::from_le_bytes([self.event_type & 0x7, self.info, self.log_page, 0])
    }

    /// What to do about the event. Matching is on (type, information) as
    /// Linux `nvme_handle_aen_notice()` does; the log page to read is the one
    /// the specification ties to the event, whatever the controller put in
    /// the log page field.
    pub fn action(&self) -> AenAction {
        match (self.event_type, self.info) {
            // Linux queues ana_work, which re-reads the ANA log and updates
            // every namespace's path state.
            (event_type::NOTICE, notice::ANA_CHANGE) => AenAction {
                notices: Notices::ACCESS_STATE_CHANGED,
                read_log: Some(LID_ANA),
            },
            // Linux rescans namespaces (nvme_queue_scan) after reading the
            // Changed Namespace List.
            (event_type::NOTICE, notice::NAMESPACE_ATTRIBUTE_CHANGED) => AenAction {
                notices: Notices::LUNS_CHANGED,
                read_log: Some(LID_CHANGED_NS_LIST),
            },
            // What happened is in the Reservation Notification log; its type
            // gives the notice (see crate::resv_notification).
            (event_type::IO_COMMAND_SET, io_command_set::RESERVATION_LOG_AVAILABLE) => AenAction {
                notices: Notices::empty(),
                read_log: Some(LID_RESERVATION_NOTIFICATION),
            },
            _ => AenAction {
                notices: Notices::empty(),
                read_log: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_multipath_events() {
        // (dword 0, event, notices, log to read)
        let table = [
            (
                0x000C_0302,
                AsyncEvent::ANA_CHANGE,
                Notices::ACCESS_STATE_CHANGED,
                Some(0x0C),
            ),
            (
                0x0004_0002,
                AsyncEvent::NAMESPACE_ATTRIBUTE_CHANGED,
                Notices::LUNS_CHANGED,
                Some(0x04),
            ),
            (
                0x0080_0006,
                AsyncEvent::RESERVATION_LOG_AVAILABLE,
                Notices::empty(),
                Some(0x80),
            ),
        ];
        for (dw0, event, notices, log) in table {
            assert_eq!(AsyncEvent::parse(dw0), event, "{dw0:#x}");
            assert_eq!(event.emit(), dw0);
            assert_eq!(
                event.action(),
                AenAction {
                    notices,
                    read_log: log
                }
            );
        }
    }

    #[test]
    fn other_events_need_nothing() {
        for dw0 in [
            0x0000_0000u32, // error status
            0x0002_0001,    // SMART
            0x0000_0102,    // firmware activation starting
            0x0070_F002,    // discovery log change
            0x0081_0106,    // sanitize completed
            0x00FF_0307,    // vendor, same info as ANA change
        ] {
            let action = AsyncEvent::parse(dw0).action();
            assert_eq!(action.read_log, None, "{dw0:#x}");
            assert!(action.notices.is_empty());
        }
    }

    #[test]
    fn reserved_bits_are_ignored() {
        // Bits 7:3 and 31:24 reserved: an ANA notice with them set is still one.
        let ev = AsyncEvent::parse(0xFF0C_03FA);
        assert_eq!(ev, AsyncEvent::ANA_CHANGE);
    }

    proptest! {
        #[test]
        fn parse_emit_is_stable(dw0: u32) {
            let ev = AsyncEvent::parse(dw0);
            prop_assert_eq!(ev.emit(), dw0 & 0x00FF_FF07);
            prop_assert_eq!(AsyncEvent::parse(ev.emit()), ev);
        }
    }
}
