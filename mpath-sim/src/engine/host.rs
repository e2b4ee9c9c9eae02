//! The host: the application's closed-loop workload, and the device's
//! actions carried out through the real SCSI or NVMe adapter, as a
//! multipath daemon or kernel glue would.

use mpath_core::reservation::{PrAction, PrError, PrEvent, PrOp, PrReply};
use mpath_core::{Action, DeviceEvent, Disposition, Io, IoError, Notices, Outcome, PathId, Tier};

use super::check::Invariant;
use super::sim::{Event, IoRec, Sim, OUR_HOST};
use super::stack::Stack;
use super::wire::{Answer, Ctl, Dir, InFlight, Purpose, Stage};
use crate::block_store::{BlockStamp, STAMP_LEN};

/// Retries a target error may spend (path errors never spend one).
const IO_RETRIES: u8 = 2;

impl Sim {
    /// Start one more application I/O on a free slot.
    pub(crate) fn submit_new(&mut self) {
        if !self.workload_on {
            return;
        }
        let slots = self.busy_slots.len() as u64;
        let mut slot = None;
        for _ in 0..8 {
            let s = self.below(slots);
            if !self.busy_slots[s as usize] {
                slot = Some(s);
                break;
            }
        }
        let Some(slot) = slot else { return };
        let write = self.below(100) >= u64::from(self.scenario.workload.read_percent);
        self.next_tag += 1;
        let tag = self.next_tag;
        let bytes = self.scenario.workload.blocks * self.scenario.block_size;
        let io = if write {
            Io::write(tag, bytes, IO_RETRIES)
        } else {
            Io::read(tag, bytes, IO_RETRIES)
        };
        let generation = if write {
            self.generation += 1;
            self.generation
        } else {
            0
        };
        self.busy_slots[slot as usize] = true;
        self.ios.insert(
            tag,
            IoRec {
                slot,
                write,
                generation,
                floor: self.acked[slot as usize],
                issued: self.now,
                attempts: 0,
            },
        );
        self.submitted += 1;
        self.submit_io(io);
    }

    pub(crate) fn submit_io(&mut self, io: Io) {
        let now = self.now;
        match self.dev.submit(io, now) {
            Ok(d) => self.disposition(io.tag.0, d),
            // A time the device refuses cannot happen (the clock only
            // moves forward); keep the I/O rather than lose it.
            Err(r) => self.held_back.push(r.item),
        }
        self.drain_actions();
    }

    /// What the device decided for I/O `tag`.
    fn disposition(&mut self, tag: u64, d: Disposition) {
        match d {
            Disposition::Dispatch(t) => self.dispatch(tag, t),
            Disposition::Queued => {}
            Disposition::Done { result, .. } => self.end_io(tag, result),
            Disposition::Busy(io) => self.held_back.push(io),
            _ => {}
        }
    }

    /// Send an I/O attempt on the path its ticket names.
    fn dispatch(&mut self, tag: u64, t: mpath_core::Ticket) {
        let Some(i) = self.index_of(t.path()) else {
            self.violate(
                Invariant::EligibleDispatch,
                format!("I/O {tag} dispatched on unknown path {:?}", t.path()),
            );
            return;
        };
        if !self.tier_of(i).is_some_and(|tier| tier != Tier::Ineligible) {
            self.violate(
                Invariant::EligibleDispatch,
                format!(
                    "I/O {tag} dispatched on path {i}, tier {:?}",
                    self.tier_of(i)
                ),
            );
            return;
        }
        let Some(rec) = self.ios.get_mut(&tag) else {
            self.violate(
                Invariant::ExactlyOnce,
                format!("dispatch of I/O {tag}, which has already ended"),
            );
            return;
        };
        rec.attempts += 1;
        if rec.attempts > 1 {
            self.retried += 1;
        }
        let rec = *rec;
        let blocks = self.scenario.workload.blocks;
        let lba = rec.slot * u64::from(blocks);
        let bs = self.scenario.block_size as usize;
        let (data_out, data_in_len) = if rec.write {
            let mut data = vec![0u8; bs * blocks as usize];
            for (k, b) in data.chunks_exact_mut(bs).enumerate() {
                let stamp = BlockStamp {
                    generation: rec.generation,
                    host: OUR_HOST,
                    lba: lba + k as u64,
                };
                b[..STAMP_LEN].copy_from_slice(&stamp.to_bytes());
            }
            (data, 0)
        } else {
            (Vec::new(), bs * blocks as usize)
        };
        let Some(cmd) = self.stack.io_command(rec.write, lba, blocks) else {
            return;
        };
        self.send(
            i,
            Purpose::Io { tag, ticket: t },
            cmd,
            data_out,
            data_in_len,
            rec.write,
            false,
        );
    }

    /// Put a command on path `i`'s link: `write` for a write, `control`
    /// for what a zombie path still carries (SCSI TEST UNIT READY, NVMe
    /// admin commands). An NVMe entry gets its command identifier here.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send(
        &mut self,
        i: usize,
        purpose: Purpose,
        mut cmd: Vec<u8>,
        data_out: Vec<u8>,
        data_in_len: usize,
        write: bool,
        control: bool,
    ) {
        self.next_cmd += 1;
        let id = self.next_cmd;
        if let (Stack::Nvme(_), Some(cid)) = (&self.stack, cmd.get_mut(2..4)) {
            cid.copy_from_slice(&super::nvme::cid_of(id).to_le_bytes());
        }
        let aer = matches!(purpose, Purpose::Aer);
        let mut f = InFlight {
            path: i,
            purpose,
            cmd,
            data_out,
            data_in_len,
            stage: Stage::Outbound,
            answer: None,
            token: 0,
            write,
            control,
            aborted: false,
        };
        let link = self.links[i];
        let now = self.now;
        if aer {
            // The controller holds it until it has an event: no timeout.
            self.aer_flights += 1;
        } else {
            self.queue.push(
                now.saturating_add(self.scenario.command_timeout),
                Event::Timeout(id),
            );
        }
        if !link.up || self.resetting[i] {
            // Nothing to send it on (or the host is connecting again
            // after a reset): the transport fails it at once.
            f.stage = Stage::Failed;
            f.answer = Some(Answer::transport(mpath_scsi::TransportStatus::NoConnect));
            self.queue.push(now, Event::Deliver(id, 0));
        } else if link.zombie.is_some() && !f.control {
            if link.zombie == Some(false) {
                f.stage = Stage::Failed;
                f.answer = Some(Answer::transport(super::sim::LINK_LOST));
                let at = now.saturating_add(link.one_way(0));
                self.queue.push(at, Event::Deliver(id, 0));
            }
            // Hanging: only the command timeout ends it.
        } else {
            let jitter = self.jitter(i);
            let bytes = f.cmd.len() + f.data_out.len();
            let at = self.links[i]
                .carry(Dir::ToTarget, now, bytes)
                .saturating_add(jitter);
            self.queue.push(at, Event::Arrive(id));
        }
        self.flights.insert(id, Box::new(f));
    }

    pub(crate) fn jitter(&mut self, i: usize) -> mpath_core::Duration {
        let j = self.links[i].cfg.jitter.as_nanos();
        mpath_core::Duration::from_nanos(self.below(j.saturating_add(1)))
    }

    /// The answer to command `id` reaches the host.
    pub(crate) fn deliver(&mut self, id: u64, token: u32) {
        let Some(f) = self.flights.get(&id) else {
            return;
        };
        if f.token != token {
            return;
        }
        let Some(f) = self.flights.remove(&id) else {
            return;
        };
        let mut f = *f;
        let answer = f
            .answer
            .take()
            .unwrap_or_else(|| Answer::transport(mpath_scsi::TransportStatus::Timeout));
        let now = self.now;
        if self.verbose {
            eprintln!(
                "{:>10} µs    answer {:?} status {:#x} dw0 {:#x}, {} bytes",
                now.as_nanos() / 1000,
                answer.transport,
                answer.status,
                answer.dw0,
                answer.data.len()
            );
        }
        match f.purpose {
            Purpose::Io { tag, ticket } => {
                let completion = match &self.stack {
                    Stack::Scsi(_) => Self::scsi_classify(&answer),
                    Stack::Nvme(n) => {
                        match n.ad.classify_completion(ticket.path(), answer.delivery()) {
                            Ok(c) => c,
                            Err(e) => {
                                self.violate(
                                    Invariant::ExactlyOnce,
                                    format!("completion of I/O {tag} not classified: {e}"),
                                );
                                return;
                            }
                        }
                    }
                };
                let ok = completion.outcome == Outcome::Success;
                if let Some(p) = self.per_path.get_mut(f.path) {
                    if ok {
                        let bytes = (f.data_out.len() + answer.data.len()) as u64;
                        p.ios += 1;
                        p.bytes += bytes;
                        let n = self.per_path.len();
                        let slice = self.timeline.at(now, n);
                        if let (Some(i), Some(b)) =
                            (slice.ios.get_mut(f.path), slice.bytes.get_mut(f.path))
                        {
                            *i += 1;
                            *b += bytes;
                        }
                    } else {
                        p.failed += 1;
                    }
                }
                if ok {
                    self.check_read(tag, &answer.data);
                }
                match self.dev.handle_completion(ticket, completion, now) {
                    Ok(d) => self.disposition(tag, d),
                    Err(r) => self.violate(
                        Invariant::ExactlyOnce,
                        format!("completion of I/O {tag} refused: {:?}", r.error),
                    ),
                }
            }
            Purpose::Control(Ctl::Scsi(cmd)) => self.scsi_control(&cmd, &answer),
            Purpose::Control(Ctl::Nvme(cmd)) => self.nvme_control(&cmd, &answer),
            Purpose::Pr {
                action,
                cmd: Ctl::Scsi(cmd),
            } => self.scsi_pr(f.path, action, &cmd, &answer),
            Purpose::Pr {
                action,
                cmd: Ctl::Nvme(cmd),
            } => self.nvme_pr(action, &cmd, &answer),
            Purpose::Aer => {
                self.aer_flights = self.aer_flights.saturating_sub(1);
                self.nvme_aer(f.path, &answer);
            }
        }
        self.drain_actions();
    }

    /// A read's blocks must be at least as new as the last write to them
    /// acknowledged before the read was issued.
    fn check_read(&mut self, tag: u64, data: &[u8]) {
        let Some(rec) = self.ios.get(&tag).copied() else {
            return;
        };
        if rec.write || rec.floor == 0 {
            return;
        }
        let bs = self.scenario.block_size as usize;
        for (k, b) in data.chunks(bs).enumerate() {
            let got = BlockStamp::from_bytes(b).filter(|s| s.host == OUR_HOST);
            let generation = got.map_or(0, |s| s.generation);
            if generation < rec.floor {
                self.violate(
                    Invariant::NoLostWrite,
                    format!(
                        "read {tag} of slot {} block {k} returned generation {generation}, \
                         older than write {} acknowledged before it",
                        rec.slot, rec.floor
                    ),
                );
                return;
            }
        }
    }

    /// I/O `tag` completes upward.
    pub(crate) fn end_io(&mut self, tag: u64, result: Result<(), IoError>) {
        let Some(rec) = self.ios.remove(&tag) else {
            self.violate(
                Invariant::ExactlyOnce,
                format!("I/O {tag} completed upward twice ({result:?})"),
            );
            return;
        };
        self.busy_slots[rec.slot as usize] = false;
        match result {
            Ok(()) => {
                self.completed += 1;
                if rec.write {
                    let a = &mut self.acked[rec.slot as usize];
                    *a = (*a).max(rec.generation);
                }
                let us = (self.now.as_nanos().saturating_sub(rec.issued.as_nanos())) / 1_000;
                let _ = self.latency.record(us.max(1));
                let n = self.per_path.len();
                let slice = self.timeline.at(self.now, n);
                slice.completed += 1;
                slice.latency_sum_us += us;
                slice.latency_max_us = slice.latency_max_us.max(us);
                for (k, r) in self.resume.iter_mut().enumerate() {
                    if r.is_none() {
                        let since = self
                            .now
                            .as_nanos()
                            .saturating_sub(self.fault_times[k].as_nanos());
                        *r = Some(mpath_core::Duration::from_nanos(since));
                    }
                }
            }
            Err(e) => {
                self.failed += 1;
                let n = self.per_path.len();
                self.timeline.at(self.now, n).failed += 1;
                if e == IoError::ReservationConflict && !self.foreign_pr {
                    self.violate(
                        Invariant::NoOwnConflict,
                        format!("I/O {tag} failed upward with a reservation conflict no other host caused"),
                    );
                }
            }
        }
        // Closed loop: the application sends the next one (a step later,
        // not from inside this completion; after a failure it waits a
        // millisecond, as an application retrying would, rather than
        // spinning at one instant), and the device gets back what it could
        // not take.
        let at = if result.is_ok() {
            self.now
        } else {
            self.now
                .saturating_add(mpath_core::Duration::from_millis(1))
        };
        self.queue.push(at, Event::Submit);
    }

    /// Carry out everything the device asks for, collect its events, and
    /// set its timer.
    pub(crate) fn drain_actions(&mut self) {
        for _ in 0..10_000 {
            let Some(a) = self.dev.poll_action() else {
                break;
            };
            self.trace.u64(action_code(&a));
            if self.verbose {
                eprintln!("{:>10} µs    action {a:?}", self.now.as_nanos() / 1000);
            }
            match a {
                Action::Dispatch(t) => self.dispatch(t.io().tag.0, t),
                Action::Fail { io, error } => self.end_io(io.tag.0, Err(error)),
                other => match self.stack {
                    Stack::Scsi(_) => self.scsi_action(&other),
                    Stack::Nvme(_) => self.nvme_action(&other),
                },
            }
        }
        while let Some(e) = self.dev.poll_event() {
            self.trace.u64(0xE0 << 56);
            if self.verbose {
                eprintln!("{:>10} µs    event {e:?}", self.now.as_nanos() / 1000);
            }
            self.device_event(e);
        }
        if self.started_op {
            // An operation started from an event (the reservation after
            // the registration) has its first command waiting: send it
            // now, not at whatever event comes next.
            self.started_op = false;
            self.drain_actions();
            return;
        }
        if let Some(at) = self.dev.poll_timeout() {
            let at = at.max(self.now);
            if !self.timer_at.is_some_and(|t| at >= t) {
                self.timer_at = Some(at);
                self.queue.push(at, Event::HostTimer);
            }
        }
    }

    fn device_event(&mut self, e: DeviceEvent) {
        if let DeviceEvent::Reservation(PrEvent::Finished { op, result }) = e {
            let now = self.now;
            match (self.pr_stage, op, result) {
                (1, PrOp::Register(_), Ok(_)) => {
                    self.pr_stage = 2;
                    self.registered = true;
                    if let Some(t) = self.scenario.reservation {
                        self.started_op = true;
                        if self.dev.reservation(PrOp::Reserve(t), now).is_err() {
                            self.pr_stage = 3;
                            self.start_workload();
                        }
                    }
                }
                (2, PrOp::Reserve(_), _) | (1, _, Err(PrError::NoPath | PrError::Refused)) => {
                    self.pr_stage = 3;
                    self.start_workload();
                }
                _ => {}
            }
        }
        self.events.push(e);
    }

    /// Send a command an adapter built on the path it names.
    pub(crate) fn send_control(&mut self, cmd: Ctl) {
        self.send_ctl(Purpose::Control(cmd), cmd);
    }

    /// A reservation command's outcome for the device: the coordinator's
    /// reply (none while the command is being sent again), then the
    /// notices the response carried (after the reply: a coordinator in the
    /// middle of an operation keeps a preemption notice for its end).
    pub(crate) fn pr_answered(&mut self, via: PathId, reply: Option<PrReply>, notices: Notices) {
        let now = self.now;
        if let Some(reply) = reply {
            let _ = self.dev.handle_reservation_reply(via, reply, now);
        }
        if !notices.is_empty() {
            let _ = self.dev.handle_notices(via, notices, now);
        }
    }

    /// Send a reservation command for the coordinator.
    pub(crate) fn send_pr(&mut self, action: PrAction, cmd: Ctl) {
        self.send_ctl(Purpose::Pr { action, cmd }, cmd);
    }

    fn send_ctl(&mut self, purpose: Purpose, cmd: Ctl) {
        let (path, parts, control) = match &cmd {
            Ctl::Scsi(c) => {
                let parts = super::scsi::parts(c);
                let tur = super::scsi::is_tur(&parts.0);
                (c.path(), Some(parts), tur)
            }
            Ctl::Nvme(c) => (c.path(), super::nvme::parts(c), c.is_admin()),
        };
        let (Some(i), Some((bytes, out, len))) = (self.index_of(path), parts) else {
            return;
        };
        let write = match cmd {
            Ctl::Scsi(_) => super::scsi::is_write(&bytes),
            Ctl::Nvme(_) => !control && super::nvme::is_write(&bytes),
        };
        self.send(i, purpose, bytes, out, len, write, control);
    }
}

/// An action as one number for the trace: which kind, on which path, for
/// which I/O.
fn action_code(a: &Action) -> u64 {
    let (kind, x) = match a {
        Action::Dispatch(t) => (1u64, (t.io().tag.0 << 8) ^ u64::from(t.path().slot() as u8)),
        Action::Fail { io, .. } => (2, io.tag.0),
        Action::Probe(p) => (3, p.slot() as u64),
        Action::RefreshAccessState { via } => (4, via.slot() as u64),
        Action::ActivateGroup { via, .. } => (5, via.slot() as u64),
        Action::Reservation(pa) => (6, pa.via.slot() as u64),
        _ => (7, 0),
    };
    (0xA0 + kind) << 56 ^ x
}
