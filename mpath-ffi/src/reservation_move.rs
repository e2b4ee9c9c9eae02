//! REGISTER AND MOVE through the C ABI: the destination's TransportID in a
//! caller buffer ([`MpathPrDestination`]) for `mpath_reservation_move_to`,
//! and back out of `mpath_pr_move_destination` for the adapter that builds
//! the command's parameter list. An operation (`MpathPrOp`) has no room
//! for 256 bytes, for the reason the core keeps them beside its commands
//! (they travel in every action): so `mpath_reservation` refuses the
//! `RegisterAndMove` kind, and this is its door.

use crate::device::{at, MpathDevice};
use crate::errno;
use crate::{need, ret, Ret};
use core::ffi::c_int;
use mpath_core::reservation::TRANSPORT_ID_MAX;

/// The destination of a REGISTER AND MOVE: a TransportID (SPC-4 7.6.4, the
/// bytes the PERSISTENT RESERVE OUT parameter list carries) in a caller
/// buffer of [`MPATH_TRANSPORT_ID_MAX`] bytes, its length, and the
/// relative target port through which it reaches the logical unit. In for
/// `mpath_reservation_move_to`, out of `mpath_pr_move_destination`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MpathPrDestination {
    /// The TransportID in its first `transport_id_len` bytes.
    pub transport_id: [u8; MPATH_TRANSPORT_ID_MAX],
    /// Bytes of `transport_id` in use: 1 to [`MPATH_TRANSPORT_ID_MAX`].
    pub transport_id_len: u32,
    /// RELATIVE TARGET PORT IDENTIFIER of the destination I_T nexus.
    pub relative_target_port: u16,
    /// Zero.
    pub reserved: u16,
}

/// The longest TransportID a REGISTER AND MOVE takes (the core's
/// `TRANSPORT_ID_MAX`; multipath-tools' `MPATH_MX_TID_LEN`).
pub const MPATH_TRANSPORT_ID_MAX: usize = 256;

// A literal so the C header can state it; the core's value, checked.
const _: () = assert!(MPATH_TRANSPORT_ID_MAX == TRANSPORT_ID_MAX);

impl Default for MpathPrDestination {
    fn default() -> Self {
        MpathPrDestination {
            transport_id: [0; MPATH_TRANSPORT_ID_MAX],
            transport_id_len: 0,
            relative_target_port: 0,
            reserved: 0,
        }
    }
}

impl MpathPrDestination {
    /// The TransportID bytes and relative target port; `-EINVAL` for a
    /// length of 0 or past the buffer, or a reserved field not zero.
    fn decode(&self) -> Result<(&[u8], u16), c_int> {
        let len = usize::try_from(self.transport_id_len).map_err(|_| -errno::EINVAL)?;
        match self.transport_id.get(..len) {
            Some(tid) if !tid.is_empty() && self.reserved == 0 => {
                Ok((tid, self.relative_target_port))
            }
            _ => Err(-errno::EINVAL),
        }
    }
}

/// Hand the reservation this host holds to another I_T nexus: REGISTER AND
/// MOVE (UNREG 0: our registrations stay) to the initiator port `dest`'s
/// TransportID names, through its relative target port, registered with
/// `key`. The command comes as an action of kind `Reservation` (command
/// `RegisterAndMove`, on the holder's path); build its parameter list with
/// `mpath_pr_move_destination`. The result comes as a `Finished` event for
/// operation kind `RegisterAndMove`; once it succeeds this host holds no
/// reservation. `-EINVAL` with nothing changed, not even the deadlines,
/// for a TransportID length of 0 or over [`MPATH_TRANSPORT_ID_MAX`], a
/// reserved field not zero, or key 0. The coordinator's refusals are as
/// `mpath_reservation`'s (after its deadlines ran, as there): `-EAGAIN`
/// busy, `-ENOKEY` no key, `-EACCES` fenced, `-EPERM` no single-holder
/// reservation of ours to move (none, an all-registrants type, or
/// host-scoped registrations).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_reservation_move_to(
    dev: Option<&mut MpathDevice>,
    dest: Option<&MpathPrDestination>,
    key: u64,
    now_ns: u64,
) -> c_int {
    ret((|| -> Ret {
        let (dev, dest) = (need(dev)?, need(dest)?);
        let (tid, relative_target_port) = dest.decode()?;
        if key == 0 {
            return Err(-errno::EINVAL);
        }
        let now = at(now_ns);
        // As `mpath_reservation`: the timers through the full input first.
        dev.dev.handle_timeout(now).map_err(errno::of_error)?;
        dev.dev
            .reservation_move_to(tid, relative_target_port, key, now)
            .map_err(errno::of_device_error)?;
        Ok(0)
    })())
}

/// The destination of the REGISTER AND MOVE under way: `1` and `*out`
/// (its TransportID, length and relative target port), or `0` when none
/// runs. For building the command of a `RegisterAndMove` action.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_move_destination(
    dev: Option<&MpathDevice>,
    out: Option<&mut MpathPrDestination>,
) -> c_int {
    ret((|| -> Ret {
        let out = need(out)?;
        let Some((tid, relative_target_port)) = need(dev)?.dev.coordinator().move_destination()
        else {
            return Ok(0);
        };
        let mut d = MpathPrDestination {
            relative_target_port,
            ..MpathPrDestination::default()
        };
        // The coordinator keeps at most MPATH_TRANSPORT_ID_MAX bytes; zip
        // copies without a length check that could panic.
        for (to, from) in d.transport_id.iter_mut().zip(tid) {
            *to = *from;
        }
        d.transport_id_len = crate::u32_of(tid.len().min(MPATH_TRANSPORT_ID_MAX));
        *out = d;
        Ok(1)
    })())
}
