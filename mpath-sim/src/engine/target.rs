//! The target side of the run: commands arriving at ports, carried out on
//! the logical unit, answers sent back; links failing; writes stranded on
//! a dead link landing late; another host preempting us.

use mpath_core::reservation::PrType as CoreType;
use mpath_core::Duration;
use mpath_scsi::cdb;
use mpath_scsi::pr_map::scsi_type;
use mpath_scsi::{PrOutAction, PrOutParams, TransportStatus};

use super::check::Invariant;
use super::sim::{Event, Sim, LINK_LOST, OTHER_KEY, OUR_KEY};
use super::wire::{Answer, Stage};

/// TASK SET FULL.
const TASK_SET_FULL: u8 = 0x28;

impl Sim {
    /// Command `id` reaches its port: queue it, or answer TASK SET FULL.
    pub(crate) fn arrive(&mut self, id: u64) {
        let Some(f) = self.flights.get_mut(&id) else {
            return;
        };
        if f.stage != Stage::Outbound {
            return;
        }
        let i = f.path;
        let link = self.links[i];
        let port = &mut self.ports[i];
        if port.outstanding >= link.cfg.queue_depth {
            f.stage = Stage::Inbound;
            f.answer = Some(Answer {
                transport: TransportStatus::Ok,
                status: TASK_SET_FULL,
                sense: Vec::new(),
                data: Vec::new(),
            });
            let token = f.token;
            let at = self.now.saturating_add(link.one_way(0));
            self.queue.push(at, Event::Deliver(id, token));
            return;
        }
        port.outstanding += 1;
        f.stage = Stage::AtPort;
        let bytes = f.data_out.len() + f.data_in_len;
        let start = if port.busy_until > self.now {
            port.busy_until
        } else {
            self.now
        };
        let done = start.saturating_add(link.service(bytes));
        port.busy_until = done;
        self.queue.push(done, Event::Served(id));
    }

    /// The port has carried command `id` out: it takes effect on the
    /// logical unit now, and the answer goes back (unless the link died
    /// meanwhile: then the effect stands and the answer is lost).
    pub(crate) fn served(&mut self, id: u64) {
        let Some(f) = self.flights.get_mut(&id) else {
            return;
        };
        let i = f.path;
        self.ports[i].outstanding = self.ports[i].outstanding.saturating_sub(1);
        let n = self.nexuses[i];
        let mut buf = vec![0u8; f.data_in_len];
        let r = self.lu.command(n, &f.cdb, &f.data_out, &mut buf);
        let write = f.is_write();
        let answer = match r {
            Ok(r) => {
                buf.truncate(r.data_in_len);
                Answer {
                    transport: TransportStatus::Ok,
                    status: r.status.code(),
                    sense: r.sense().map(<[u8]>::to_vec).unwrap_or_default(),
                    data: buf,
                }
            }
            Err(_) => Answer::transport(TransportStatus::NoConnect),
        };
        let good_write = write && answer.transport == TransportStatus::Ok && answer.status == 0;
        if f.stage == Stage::AtPort {
            f.stage = Stage::Inbound;
            f.answer = Some(answer);
            let token = f.token;
            let link = self.links[i];
            let len = f.answer.as_ref().map_or(0, |a| a.data.len());
            let jitter = self.jitter(i);
            let at = self
                .now
                .saturating_add(link.one_way(len))
                .saturating_add(jitter);
            self.queue.push(at, Event::Deliver(id, token));
        }
        if good_write {
            self.after_write(i);
        }
    }

    /// Checks after a write took effect at the target.
    fn after_write(&mut self, i: usize) {
        let stale = self.lu.store().stale_writes();
        if stale.len() > self.stale_seen {
            let s = stale[self.stale_seen];
            self.stale_seen = stale.len();
            self.violate(
                Invariant::NoStaleWrite,
                format!(
                    "block {} got generation {} of host {} after {:?} (path {i})",
                    s.lba, s.landed.generation, s.landed.host, s.newer
                ),
            );
        }
        if self.fenced_at.is_some() && self.lu.registered_key(self.nexuses[i]) == Some(OUR_KEY) {
            self.violate(
                Invariant::FencedWritesNothing,
                format!(
                    "a write landed through path {i}, registered with our key after another host preempted us; \
                     target registrations {:?}, reservation {:?}",
                    self.lu.registrations(),
                    self.lu.reservation()
                ),
            );
        }
    }

    /// The host's command timeout for `id`: if it is still out, the
    /// transport aborts it.
    pub(crate) fn timeout(&mut self, id: u64) {
        let now = self.now;
        let Some(f) = self.flights.get_mut(&id) else {
            return;
        };
        if f.stage == Stage::Failed && f.answer.is_some() {
            return;
        }
        f.stage = Stage::Failed;
        f.answer = Some(Answer::transport(TransportStatus::Timeout));
        f.token += 1;
        let token = f.token;
        self.queue.push(now, Event::Deliver(id, token));
    }

    /// Path `i`'s link goes down. Commands on it fail back to the host once
    /// the transport notices; with `late`, writes still on the wire land
    /// at the target that much later, unanswered.
    pub(crate) fn link_down(&mut self, i: usize, late: Option<Duration>) {
        let Some(link) = self.links.get_mut(i) else {
            return;
        };
        if !link.up {
            return;
        }
        link.up = false;
        let at = self.now.saturating_add(self.scenario.detect);
        let ids: Vec<u64> = self
            .flights
            .iter()
            .filter(|(_, f)| f.path == i && f.stage != Stage::Failed)
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            let Some(f) = self.flights.get_mut(&id) else {
                continue;
            };
            if let (Some(after), Stage::Outbound, true) = (late, f.stage, f.is_write()) {
                self.stranded
                    .push(Some((i, f.cdb.clone(), f.data_out.clone())));
                let k = self.stranded.len() - 1;
                self.queue
                    .push(self.now.saturating_add(after), Event::LateLand(k));
            }
            f.stage = Stage::Failed;
            f.answer = Some(Answer::transport(LINK_LOST));
            f.token += 1;
            let token = f.token;
            self.queue.push(at, Event::Deliver(id, token));
        }
        self.queue.push(at, Event::HostLink(i, false));
    }

    /// A write stranded on a dead link lands now.
    pub(crate) fn late_land(&mut self, k: usize) {
        let Some(Some((i, c, data))) = self.stranded.get_mut(k).map(Option::take) else {
            return;
        };
        let n = self.nexuses[i];
        let mut none = [0u8; 0];
        if let Ok(r) = self.lu.command(n, &c, &data, &mut none) {
            if r.status.code() == 0 {
                self.after_write(i);
            }
        }
    }

    /// Another host registers and preempts our key, holding `rtype`.
    pub(crate) fn other_host_preempts(&mut self, rtype: CoreType) {
        let n = self.other;
        self.foreign_pr = true;
        let register = PrOutParams::new(0, OTHER_KEY);
        let preempt = PrOutParams::new(OTHER_KEY, OUR_KEY);
        let mut ok = true;
        for (action, t, p) in [
            (PrOutAction::RegisterAndIgnoreExistingKey, None, register),
            (PrOutAction::Preempt, Some(scsi_type(rtype)), preempt),
        ] {
            let mut list = vec![0u8; p.buffer_len()];
            if p.emit(&mut list).is_err() {
                return;
            }
            let c = cdb::persistent_reserve_out(action, t, list.len() as u32);
            let mut none = [0u8; 0];
            let mut done = false;
            for _ in 0..4 {
                match self.lu.command(n, &c, &list, &mut none) {
                    Ok(r) if r.status.code() == 0 => {
                        done = true;
                        break;
                    }
                    // A unit attention first: send again (anything else
                    // that is not GOOD fails the same way each time).
                    Ok(r) if r.status.code() == 2 => continue,
                    _ => break,
                }
            }
            ok &= done;
        }
        // A preemption that races our own REGISTER operation (the user
        // registering while another host fences) is the user's race: a
        // registration of theirs landing after it is theirs to have made
        // (fence_mpath's unfence is exactly that). The fence the device
        // must keep is one that lands once its registration is done.
        if ok && self.pr_stage != 1 {
            self.fenced_at = Some(self.now);
        }
    }
}
