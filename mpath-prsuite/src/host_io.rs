//! The host's I/O: single reads and writes, and batches of writes
//! outstanding together, through the device (see [`crate::host`]).

use mpath_core::reservation::PrEvent;
use mpath_core::{Completion, DeviceEvent, Disposition, Io, IoError, Outcome, Ticket};

use super::{Host, HostError, Sent, MAX_ROUNDS};
use crate::fabric::Fabric;

impl<F: Fabric> Host<'_, F> {
    /// Whether the reservation has moved since the host started.
    fn moved(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, DeviceEvent::Reservation(PrEvent::Moved { .. })))
    }

    /// Write whole blocks at `lba` through the multipath device; the nexus
    /// that completed it.
    pub fn write(&mut self, lba: u64, data: &[u8]) -> Result<usize, HostError> {
        self.io(lba, Some(data), 0).map(|(i, _)| i)
    }

    /// Read `blocks` blocks at `lba` through the multipath device.
    pub fn read(&mut self, lba: u64, blocks: u32) -> Result<(usize, Vec<u8>), HostError> {
        self.io(lba, None, blocks)
    }

    fn io(
        &mut self,
        lba: u64,
        data: Option<&[u8]>,
        blocks: u32,
    ) -> Result<(usize, Vec<u8>), HostError> {
        self.tag += 1;
        let bs = self.fabric.block_size();
        let bytes = data.map_or(usize::try_from(blocks).unwrap_or(0) * bs, <[u8]>::len);
        let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
        let io = match data {
            Some(_) => Io::write(self.tag, bytes, 3),
            None => Io::read(self.tag, bytes, 3),
        };
        let disp = self.submit(io)?;
        self.drive(lba, data, blocks, disp)
    }

    /// Submit a write and keep it in hand, not sent: held by the device
    /// (no path, a move under way) or dispatched to a nexus but not yet
    /// on the wire. [`Host::end_write`] sends it. One at a time.
    pub fn begin_write(&mut self, lba: u64, data: Vec<u8>) -> Result<(), HostError> {
        if self.in_hand.is_some() {
            return Err(HostError::Stuck(String::from("a write is already in hand")));
        }
        self.tag += 1;
        let bytes = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let disp = self.submit(Io::write(self.tag, bytes, 3))?;
        match disp {
            Disposition::Dispatch(_) | Disposition::Queued => {
                self.in_hand = Some((lba, data, disp));
                Ok(())
            }
            other => Self::not_dispatched(other),
        }
    }

    /// Whether the write in hand is still held by the device (not
    /// dispatched to any nexus).
    pub fn write_in_hand_held(&self) -> Option<bool> {
        self.in_hand
            .as_ref()
            .map(|(_, _, d)| matches!(d, Disposition::Queued) && self.ready.is_empty())
    }

    /// Send the write [`Host::begin_write`] kept, wherever the device
    /// dispatched it (or dispatches it now), and finish it as any write;
    /// the nexus that completed it.
    pub fn end_write(&mut self) -> Result<usize, HostError> {
        let (lba, data, disp) = self
            .in_hand
            .take()
            .ok_or_else(|| HostError::Stuck(String::from("no write in hand")))?;
        self.drive(lba, Some(&data), 0, disp).map(|(i, _)| i)
    }

    /// Carry an I/O from its first disposition to its end.
    fn drive(
        &mut self,
        lba: u64,
        data: Option<&[u8]>,
        blocks: u32,
        disp: Disposition,
    ) -> Result<(usize, Vec<u8>), HostError> {
        let mut disp = disp;
        for _ in 0..MAX_ROUNDS {
            match disp {
                Disposition::Dispatch(t) => {
                    let i = self.nexus(t.path())?;
                    let (c, got): (Completion, Vec<u8>) = match data {
                        Some(d) => {
                            self.log.push((i, Sent::Write(lba)));
                            (self.fabric.write(i, lba, d), Vec::new())
                        }
                        None => {
                            self.log.push((i, Sent::Read(lba)));
                            self.fabric.read(i, lba, blocks)
                        }
                    };
                    match self.complete_attempt(t, c)? {
                        None => return Ok((i, got)),
                        Some(next) => disp = next,
                    }
                }
                Disposition::Queued => {
                    self.drive_held()?;
                    disp = match self.ready.pop() {
                        Some(t) => Disposition::Dispatch(t),
                        None => return Err(HostError::Stuck(String::from("nothing dispatched"))),
                    };
                }
                other => return Self::not_dispatched(other),
            }
        }
        Err(HostError::Stuck(format!("I/O at {lba} did not settle")))
    }

    fn submit(&mut self, io: Io) -> Result<Disposition, HostError> {
        let mut io = io;
        for _ in 0..MAX_ROUNDS {
            let now = self.tick();
            match self
                .dev
                .submit(io, now)
                .map_err(|r| HostError::Core(r.error))?
            {
                // The outstanding-I/O budget is spent: wait, as the block
                // layer does on BLK_STS_RESOURCE.
                Disposition::Busy(back) => io = back,
                d => return Ok(d),
            }
        }
        Err(HostError::Stuck(String::from("the device stayed busy")))
    }

    /// A disposition that is neither a dispatch nor held: the I/O ended.
    fn not_dispatched<T>(d: Disposition) -> Result<T, HostError> {
        match d {
            Disposition::Done { result, .. } => {
                Err(HostError::Io(result.err().unwrap_or(IoError::NoPath)))
            }
            other => Err(HostError::Stuck(format!("unexpected {other:?}"))),
        }
    }

    /// Hand the completion of one attempt to the device: `None` when the
    /// I/O is done, else what the device does with it next (a path error
    /// on a write: held until the failed path's quiesce time has passed,
    /// the path down for the controller and the coordinator, which moves
    /// the reservation if that nexus held it; a preemption notice fences).
    fn complete_attempt(
        &mut self,
        t: Ticket,
        c: Completion,
    ) -> Result<Option<Disposition>, HostError> {
        match c.outcome {
            Outcome::ReservationConflict => self.conflicts += 1,
            Outcome::PathError(_) => self.failovers += 1,
            _ => {}
        }
        // One fact, one input: the device hands a preemption notice to the
        // coordinator before it routes the completion, and holds I/O while
        // the keys are checked.
        let now = self.tick();
        let disp = self
            .dev
            .handle_completion(t, c, now)
            .map_err(|r| HostError::Core(r.error))?;
        self.settle()?;
        Ok(match disp {
            Disposition::Done { result: Ok(()), .. } => None,
            other => Some(other),
        })
    }

    /// Carry out the device's actions for held I/O, jumping the clock to
    /// its next deadline, until something is dispatched (into
    /// `self.ready`); a held I/O the device fails ends it with that error.
    fn drive_held(&mut self) -> Result<(), HostError> {
        for _ in 0..MAX_ROUNDS {
            self.settle()?;
            if let Some(error) = self.failed.pop() {
                return Err(HostError::Io(error));
            }
            if !self.ready.is_empty() {
                return Ok(());
            }
            let now = match self.dev.poll_timeout() {
                Some(t) if t > self.now => t,
                _ => self.tick(),
            };
            self.now = now;
            self.dev.handle_timeout(now)?;
        }
        Err(HostError::Stuck(String::from("held I/O never left")))
    }

    /// Write many blocks at once through the multipath device. Every
    /// write is submitted to the core first; each nexus's share then goes
    /// out as one batch, outstanding together ([`Fabric::write_batch`]).
    /// With `cut`, that nexus is cut while its batch is outstanding. A
    /// write that does not complete GOOD goes back to the core like any
    /// failed attempt (a path error: requeued and held until the quiesce
    /// time has passed, while the coordinator moves the reservation) and
    /// is sent again wherever the core dispatches it.
    pub fn write_batch(
        &mut self,
        writes: &[(u64, Vec<u8>)],
        cut: Option<usize>,
    ) -> Result<BatchStats, HostError> {
        let first_tag = self.tag + 1;
        let mut stats = BatchStats {
            in_flight_at_cut: 0,
            failed: Vec::new(),
            reissued: Vec::new(),
            completed_on: vec![0; self.paths.len()],
        };
        for (_, data) in writes {
            self.tag += 1;
            let bytes = u32::try_from(data.len()).unwrap_or(u32::MAX);
            match self.submit(Io::write(self.tag, bytes, 3))? {
                Disposition::Dispatch(t) => self.ready.push(t),
                Disposition::Queued => {}
                other => return Self::not_dispatched(other),
            }
        }
        let index = |t: &Ticket| usize::try_from(t.io().tag.0 - first_tag).unwrap_or(usize::MAX);
        let mut cut = cut;
        let mut left = writes.len();
        for _ in 0..64 {
            if self.ready.is_empty() && left > 0 {
                self.drive_held()?;
            }
            let mut groups: Vec<(usize, Vec<Ticket>)> = Vec::new();
            for t in std::mem::take(&mut self.ready) {
                let i = self.nexus(t.path())?;
                match groups.iter_mut().find(|g| g.0 == i) {
                    Some(g) => g.1.push(t),
                    None => groups.push((i, vec![t])),
                }
            }
            for (i, tickets) in groups {
                let mut batch: Vec<(u64, &[u8])> = Vec::with_capacity(tickets.len());
                for t in &tickets {
                    let (lba, data) = writes
                        .get(index(t))
                        .ok_or_else(|| HostError::Stuck(String::from("unknown tag")))?;
                    if stats.failed.contains(lba) {
                        stats.reissued.push((*lba, i, self.moved()));
                    }
                    self.log.push((i, Sent::Write(*lba)));
                    batch.push((*lba, data));
                }
                let cut_here = cut == Some(i);
                let out = self
                    .fabric
                    .write_batch(i, &batch, cut_here)
                    .map_err(|e| HostError::Stuck(format!("write batch on nexus {i}: {e}")))?;
                if cut_here {
                    cut = None;
                    stats.in_flight_at_cut = out.in_flight_at_cut;
                }
                if out.completions.len() != tickets.len() {
                    return Err(HostError::Stuck(String::from("batch lost completions")));
                }
                for ((t, c), &(lba, _)) in tickets.into_iter().zip(out.completions).zip(&batch) {
                    match self.complete_attempt(t, c)? {
                        None => {
                            left -= 1;
                            if let Some(n) = stats.completed_on.get_mut(i) {
                                *n += 1;
                            }
                        }
                        Some(d) => {
                            if !stats.failed.contains(&lba) {
                                stats.failed.push(lba);
                            }
                            match d {
                                Disposition::Dispatch(t) => self.ready.push(t),
                                Disposition::Queued => {}
                                other => return Self::not_dispatched(other),
                            }
                        }
                    }
                }
            }
            if left == 0 {
                return Ok(stats);
            }
        }
        Err(HostError::Stuck(format!(
            "{left} batch writes did not settle"
        )))
    }
}

/// What [`Host::write_batch`] saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchStats {
    /// Writes outstanding on the cut nexus when it was cut.
    pub in_flight_at_cut: usize,
    /// LBAs of the writes whose first attempt did not complete GOOD.
    pub failed: Vec<u64>,
    /// Every attempt after the first: LBA, nexus, and whether the
    /// reservation had moved by then.
    pub reissued: Vec<(u64, usize, bool)>,
    /// Writes completed per nexus.
    pub completed_on: Vec<usize>,
}
