//! Links, target ports, and the commands travelling between them.
//!
//! A command leaves the host on a path's link (its bytes serialised onto
//! the link at the link's bandwidth behind whatever the link is already
//! sending that way, then latency and jitter), waits at the target port behind the
//! commands ahead of it (one at a time, each taking the port's service time
//! plus its transfer at the media rate; past the port's queue depth it is
//! answered TASK SET FULL), is carried out on the logical unit at the
//! moment its service ends, and its answer travels back the same way. A
//! link going down fails what is on it back to the host after the
//! transport notices; what is already at the port is still carried out,
//! its answer lost.
//!
//! The model is the same for both transports; what travels is a SCSI CDB
//! or a 64-byte NVMe submission queue entry, and what comes back a SCSI
//! status with sense data or an NVMe completion (status field and Dword 0).

use mpath_core::reservation::PrAction;
use mpath_core::{Duration, Instant, Ticket};
use mpath_nvme::classify::Delivery;
use mpath_nvme::command::{NvmeCommand, NvmeResponse};
use mpath_nvme::status::Status;
use mpath_scsi::{ScsiCommand, ScsiResponse, TransportStatus};

use super::scenario::PathCfg;

/// A path's link as it is now.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Link {
    pub cfg: PathCfg,
    pub up: bool,
    /// Extra one-way latency (a slow path).
    pub extra: Duration,
    /// Zombie: TEST UNIT READY passes, every other command fails
    /// (`Some(false)`) or hangs (`Some(true)`).
    pub zombie: Option<bool>,
    /// When the link has put its last queued byte on the wire, towards
    /// the target and towards the host: a message waits for the ones
    /// before it, so the bandwidth caps throughput, not only latency.
    pub free: [Instant; 2],
}

/// Which way a message travels on a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    /// Host to target: a command and its data out.
    ToTarget = 0,
    /// Target to host: the answer and its data in.
    ToHost = 1,
}

/// Bytes every message carries besides its data: a transport header
/// (iSCSI's basic header segment is 48 bytes; an NVMe/TCP command capsule
/// 72, a response capsule 24).
pub(crate) const HEADER: usize = 48;

impl Link {
    pub fn new(cfg: PathCfg) -> Link {
        Link {
            cfg,
            up: true,
            extra: Duration::from_nanos(0),
            zombie: None,
            free: [Instant::from_nanos(0); 2],
        }
    }

    /// Put a message of `bytes` (plus [`HEADER`]) on the link at `now`
    /// going `dir`: when its last byte reaches the far end, without
    /// jitter. The link sends one message at a time each way.
    pub fn carry(&mut self, dir: Dir, now: Instant, bytes: usize) -> Instant {
        let free = &mut self.free[dir as usize];
        let start = if *free > now { *free } else { now };
        let sent = start.saturating_add(Duration::from_nanos(transfer_time(
            bytes.saturating_add(HEADER),
            self.cfg.bandwidth,
        )));
        *free = sent;
        sent.saturating_add(self.cfg.latency)
            .saturating_add(self.extra)
    }

    /// One-way time for `bytes` without jitter.
    pub fn one_way(&self, bytes: usize) -> Duration {
        let transfer = transfer_time(bytes, self.cfg.bandwidth);
        Duration::from_nanos(
            self.cfg
                .latency
                .as_nanos()
                .saturating_add(self.extra.as_nanos())
                .saturating_add(transfer),
        )
    }

    /// The port's time to carry out a command moving `bytes`.
    pub fn service(&self, bytes: usize) -> Duration {
        Duration::from_nanos(
            self.cfg
                .service
                .as_nanos()
                .saturating_add(transfer_time(bytes, self.cfg.media_rate)),
        )
    }
}

/// Nanoseconds to move `bytes` at `rate` bytes per second (rate 0: no
/// limit).
pub(crate) fn transfer_time(bytes: usize, rate: u64) -> u64 {
    if rate == 0 {
        return 0;
    }
    let ns = (bytes as u128).saturating_mul(1_000_000_000) / u128::from(rate);
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// A target port's queue.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Port {
    /// Commands at the port (waiting or being served).
    pub outstanding: u32,
    /// When the command being served (and all queued ahead) is done.
    pub busy_until: Instant,
}

/// A command an adapter built.
// A SCSI command carries its CDB and parameter list inline (344 bytes);
// it is copied once per control command, as before NVMe was added, and a
// box per command would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ctl {
    Scsi(ScsiCommand),
    Nvme(NvmeCommand),
}

/// What a command is for, on the host side.
#[derive(Debug)]
pub(crate) enum Purpose {
    /// An application I/O attempt.
    Io { tag: u64, ticket: Ticket },
    /// A probe, access-state read, activation or log read the adapter
    /// built.
    Control(Ctl),
    /// A persistent-reservation command for the coordinator.
    Pr { action: PrAction, cmd: Ctl },
    /// NVMe: the Asynchronous Event Request the host keeps outstanding on
    /// each controller (no command timeout: the controller holds it until
    /// it has an event).
    Aer,
}

/// Where a command is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// On the link towards the port.
    Outbound,
    /// Queued or being served at the port.
    AtPort,
    /// The answer is on its way back.
    Inbound,
    /// The transport has failed it back to the host (link down, timeout,
    /// zombie, reset); an answer from the target is thrown away.
    Failed,
    /// NVMe: an Asynchronous Event Request the controller holds.
    Held,
}

/// The target's answer, owned. `transport` is the transport's verdict
/// for both protocols (NVMe: `Ok` a completion arrived, `Timeout` the I/O
/// timeout, `Aborted` a controller reset, anything else the connection
/// lost); `status` is the SCSI status byte or the NVMe status field.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub transport: TransportStatus,
    pub status: u16,
    /// NVMe completion Dword 0.
    pub dw0: u32,
    pub sense: Vec<u8>,
    pub data: Vec<u8>,
}

impl Answer {
    pub fn transport(t: TransportStatus) -> Answer {
        Answer {
            transport: t,
            status: 0,
            dw0: 0,
            sense: Vec::new(),
            data: Vec::new(),
        }
    }

    /// The SCSI status byte.
    pub fn scsi_status(&self) -> u8 {
        u8::try_from(self.status).unwrap_or(0xFF)
    }

    /// How the NVMe command ended, as the host driver saw it.
    pub fn delivery(&self) -> Delivery {
        match self.transport {
            TransportStatus::Ok => Delivery::Completed(Status::from_field(self.status)),
            TransportStatus::Timeout => Delivery::Timeout,
            TransportStatus::Aborted => Delivery::ControllerReset,
            _ => Delivery::ConnectionLost,
        }
    }

    pub fn nvme_response(&self) -> NvmeResponse<'_> {
        NvmeResponse {
            delivery: self.delivery(),
            data_in: &self.data,
        }
    }

    pub fn sense(&self) -> Option<&[u8]> {
        (!self.sense.is_empty()).then_some(&self.sense[..])
    }

    pub fn response(&self) -> ScsiResponse<'_> {
        ScsiResponse {
            transport: self.transport,
            status: self.scsi_status(),
            sense: (!self.sense.is_empty()).then_some(&self.sense[..]),
            data_in: &self.data,
        }
    }
}

/// A command in flight.
#[derive(Debug)]
pub(crate) struct InFlight {
    pub path: usize,
    pub purpose: Purpose,
    /// The CDB, or the 64-byte submission queue entry.
    pub cmd: Vec<u8>,
    pub data_out: Vec<u8>,
    pub data_in_len: usize,
    pub stage: Stage,
    pub answer: Option<Answer>,
    /// Bumped whenever the answer to deliver changes, so an earlier
    /// scheduled delivery is recognised as stale.
    pub token: u32,
    /// A write (SCSI WRITE (10)/(16), NVMe Write).
    pub write: bool,
    /// What a zombie path still carries: SCSI TEST UNIT READY, NVMe admin
    /// commands (the admin queue answers, the I/O queues do not).
    pub control: bool,
    /// Aborted (controller reset, Preempt and Abort): it never takes
    /// effect at the target, even if it reaches the port.
    pub aborted: bool,
    /// When the host sent it.
    pub sent: Instant,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_times() {
        assert_eq!(transfer_time(1_000, 1_000_000_000), 1_000);
        assert_eq!(transfer_time(4096, 0), 0);
        assert_eq!(transfer_time(usize::MAX, 1), u64::MAX);
        let l = Link::new(PathCfg::fast(1));
        // 100 µs + 4096 B at 1.25 GB/s (3276.8 ns).
        assert_eq!(l.one_way(4096).as_nanos(), 100_000 + 3_276);
        assert_eq!(l.service(4096).as_nanos(), 20_000 + 2_048);
    }

    #[test]
    fn a_link_sends_one_message_at_a_time_each_way() {
        let mut l = Link::new(PathCfg::fast(1));
        let t0 = Instant::from_nanos(1_000);
        // (48 + 4096) B at 1.25 GB/s is 3315 ns on the wire, then 100 µs.
        let first = l.carry(Dir::ToTarget, t0, 4096);
        assert_eq!(first.as_nanos(), 1_000 + 3_315 + 100_000);
        // The next one waits for it; the other direction does not.
        let second = l.carry(Dir::ToTarget, t0, 4096);
        assert_eq!(second.as_nanos(), 1_000 + 2 * 3_315 + 100_000);
        let back = l.carry(Dir::ToHost, t0, 4096);
        assert_eq!(back, first);
        // An idle link starts at once; a slow path's latency is added.
        l.extra = Duration::from_micros(30);
        let later = Instant::from_nanos(1_000_000);
        assert_eq!(
            l.carry(Dir::ToHost, later, 0).as_nanos(),
            1_000_000 + 38 + 130_000
        );
    }
}
