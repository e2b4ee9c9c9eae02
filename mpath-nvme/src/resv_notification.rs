//! The Reservation Notification log page (Base 2.0 "Reservation Notification
//! log page", Log Page Identifier 80h), read after a "reservation log page available"
//! asynchronous event.
//!
//! ```text
//!  0..8   log page count: increments per notification; 0 when empty
//!  8      reservation notification log page type
//!  9      number of available log pages still queued after this one
//! 10..12  reserved
//! 12..16  NSID the notification is about
//! 16..64  reserved
//! ```
//!
//! Each read returns the oldest queued notification; the host keeps reading
//! while "number of available log pages" is non-zero.

use mpath_core::outcome::Notices;

use crate::error::{Error, Result};
use crate::field::{self, put, u32_at, u64_at, u8_at};

/// Length of the log page.
pub const LOG_LEN: usize = 64;

/// Reservation Notification Log Page Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotificationType {
    /// 00h: no notification queued.
    Empty,
    /// 01h: this host's registration was preempted by another host.
    RegistrationPreempted,
    /// 02h: a reservation this host was registered for was released.
    ReservationReleased,
    /// 03h: a reservation this host was registered for was preempted.
    ReservationPreempted,
}

impl NotificationType {
    /// The type with this code; `None` for reserved codes.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(NotificationType::Empty),
            1 => Some(NotificationType::RegistrationPreempted),
            2 => Some(NotificationType::ReservationReleased),
            3 => Some(NotificationType::ReservationPreempted),
            _ => None,
        }
    }

    /// The type's code.
    pub const fn code(self) -> u8 {
        match self {
            NotificationType::Empty => 0,
            NotificationType::RegistrationPreempted => 1,
            NotificationType::ReservationReleased => 2,
            NotificationType::ReservationPreempted => 3,
        }
    }

    /// What the reservation coordinator hears.
    pub const fn notices(self) -> Notices {
        match self {
            NotificationType::Empty => Notices::empty(),
            NotificationType::RegistrationPreempted => Notices::REGISTRATIONS_PREEMPTED,
            NotificationType::ReservationReleased => Notices::RESERVATIONS_RELEASED,
            NotificationType::ReservationPreempted => Notices::RESERVATIONS_PREEMPTED,
        }
    }
}

/// The Reservation Notification log page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResvNotificationRepr {
    /// Log Page Count.
    pub log_page_count: u64,
    /// What happened.
    pub kind: NotificationType,
    /// Number of Available Log Pages still queued.
    pub available: u8,
    /// The namespace concerned.
    pub nsid: u32,
}

impl ResvNotificationRepr {
    /// Parses the 64-byte page.
    pub fn parse(buf: &[u8]) -> Result<Self> {
        field::check_in(buf, LOG_LEN, "Reservation Notification log")?;
        let code = u8_at(buf, 8, "RNLPT")?;
        Ok(ResvNotificationRepr {
            log_page_count: u64_at(buf, 0, "LPC")?,
            kind: NotificationType::from_code(code).ok_or(Error::Invalid {
                field: "RNLPT",
                offset: 8,
                value: u64::from(code),
            })?,
            available: u8_at(buf, 9, "NALP")?,
            nsid: u32_at(buf, 12, "NSID")?,
        })
    }

    /// Bytes the page takes.
    pub const fn buffer_len(&self) -> usize {
        LOG_LEN
    }

    /// Writes the page, reserved bytes zeroed.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        field::check_out(buf, LOG_LEN)?;
        field::zero(buf, 0, LOG_LEN)?;
        put(buf, 0, &self.log_page_count.to_le_bytes())?;
        put(buf, 8, &[self.kind.code(), self.available])?;
        put(buf, 12, &self.nsid.to_le_bytes())
    }

    /// What the reservation coordinator hears.
    pub const fn notices(&self) -> Notices {
        self.kind.notices()
    }

    /// Whether another read is needed to drain the queue.
    pub const fn more_available(&self) -> bool {
        self.available != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn types_map_to_notices() {
        let table = [
            (0u8, NotificationType::Empty, Notices::empty()),
            (
                1,
                NotificationType::RegistrationPreempted,
                Notices::REGISTRATIONS_PREEMPTED,
            ),
            (
                2,
                NotificationType::ReservationReleased,
                Notices::RESERVATIONS_RELEASED,
            ),
            (
                3,
                NotificationType::ReservationPreempted,
                Notices::RESERVATIONS_PREEMPTED,
            ),
        ];
        for (code, kind, notices) in table {
            let mut buf = [0u8; LOG_LEN];
            buf[0] = 5;
            buf[8] = code;
            buf[9] = 2;
            buf[12..16].copy_from_slice(&0x0102_0304u32.to_le_bytes());
            let page = ResvNotificationRepr::parse(&buf).unwrap();
            assert_eq!(
                page,
                ResvNotificationRepr {
                    log_page_count: 5,
                    kind,
                    available: 2,
                    nsid: 0x0102_0304
                }
            );
            assert_eq!(page.notices(), notices);
            assert!(page.more_available());
            let mut out = [0xFFu8; LOG_LEN];
            page.emit(&mut out).unwrap();
            assert_eq!(out, buf);
        }
    }

    #[test]
    fn rejects_reserved_types_and_short_pages() {
        let mut buf = [0u8; LOG_LEN];
        buf[8] = 4;
        assert_eq!(
            ResvNotificationRepr::parse(&buf),
            Err(Error::Invalid {
                field: "RNLPT",
                offset: 8,
                value: 4
            })
        );
        assert!(matches!(
            ResvNotificationRepr::parse(&buf[..63]),
            Err(Error::Truncated { needed: 64, .. })
        ));
    }

    proptest! {
        #[test]
        fn random_pages_reemit_stably(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(page) = ResvNotificationRepr::parse(&bytes) {
                let mut out = [0u8; LOG_LEN];
                page.emit(&mut out).unwrap();
                prop_assert_eq!(ResvNotificationRepr::parse(&out), Ok(page));
                prop_assert_eq!(&out[..16], &{
                    let mut b = [0u8; 16];
                    b.copy_from_slice(&bytes[..16]);
                    b[10] = 0;
                    b[11] = 0;
                    b
                }[..]);
            }
        }
    }
}
