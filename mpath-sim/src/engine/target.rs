//! The target side of the run: commands arriving at ports, carried out on
//! the logical unit or subsystem, answers sent back; links failing;
//! writes stranded on a dead link landing late; paths reset; another host
//! preempting us.

use mpath_core::reservation::PrType as CoreType;
use mpath_core::{Duration, Instant};
use mpath_scsi::TransportStatus;

use super::check::Invariant;
use super::nvme::Executed;
use super::sim::{Event, Sim, LINK_LOST};
use super::stack::Stack;
use super::wire::{Answer, Dir, Stage};

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
        // Every host's path `i % P` reaches the same target port.
        let port = &mut self.ports[i % self.npaths];
        // NVMe admin commands have a queue of their own: the I/O queue
        // being full does not turn them away.
        let own_queue = f.control && matches!(self.stack, Stack::Nvme(_));
        if port.outstanding >= link.cfg.queue_depth && !own_queue {
            f.stage = Stage::Inbound;
            f.answer = Some(self.stack.busy());
            let token = f.token;
            let at = self.links[i].carry(Dir::ToHost, self.now, 0);
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
        self.queue.push(done, Event::Served(id, i));
    }

    /// The port has carried command `id` out: it takes effect on the
    /// logical unit now, and the answer goes back (unless the link died
    /// meanwhile: then the effect stands and the answer is lost).
    pub(crate) fn served(&mut self, id: u64, i: usize) {
        // The port is free of it even when the host has already given up
        // on the command (a reset or link failure delivered before it was
        // served).
        let port = &mut self.ports[i % self.npaths];
        port.outstanding = port.outstanding.saturating_sub(1);
        let Some(f) = self.flights.get_mut(&id) else {
            return;
        };
        if f.aborted {
            return;
        }
        let executed = match &mut self.stack {
            Stack::Scsi(s) => Executed::Answer(s.execute(i, &f.cmd, &f.data_out, f.data_in_len)),
            Stack::Nvme(n) => n.execute(i, id, &f.cmd, f.control, &f.data_out, f.data_in_len),
        };
        let answer = match executed {
            Executed::Answer(a) => a,
            Executed::Held => {
                if f.stage == Stage::AtPort {
                    f.stage = Stage::Held;
                }
                self.nvme_events();
                return;
            }
        };
        let good_write = f.write && answer.transport == TransportStatus::Ok && answer.status == 0;
        let sent = f.sent;
        if f.stage == Stage::AtPort {
            f.stage = Stage::Inbound;
            let len = answer.data.len();
            f.answer = Some(answer);
            let token = f.token;
            let jitter = self.jitter(i);
            let at = self.links[i]
                .carry(Dir::ToHost, self.now, len)
                .saturating_add(jitter);
            self.queue.push(at, Event::Deliver(id, token));
        }
        if good_write {
            self.after_write(i, Some(sent));
        }
        self.nvme_events();
    }

    /// Checks after a write took effect at the target.
    /// `sent`: when the host sent the write (`None`: a write stranded on a
    /// dead link, which no restart lets land).
    fn after_write(&mut self, i: usize, sent: Option<Instant>) {
        let stale = self.stack.stale_writes();
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
        // Once another host has touched the registrations, a write landing
        // unregistered is its fence's business (a PREEMPT that leaves no
        // reservation blocks nothing at the target, and NVMe tells the
        // preempted host only by an asynchronous event); what is checked
        // then is that the host does not register again and write
        // (`FencedWritesNothing`).
        let (h, p) = (i / self.npaths, i % self.npaths);
        let host = &self.hosts[h];
        if !host.registered && host.fenced_at.is_none() {
            // Neither check below applies: no registration lookup per
            // write for runs without a reservation.
            return;
        }
        let registered = self.stack.registered(i, host.key);
        // A write sent after a target restart and before the host could
        // know of it (SCSI reports POWER ON, RESET to one command; those
        // already on their way land as the target takes them) is the
        // restart's, not the host's.
        let unwarned = match (self.restarted_at, sent) {
            (Some(r), Some(t)) => t >= r && host.restart_seen.map_or(true, |s| t < s),
            _ => false,
        };
        if host.registered && !host.foreign_pr && !registered && !unwarned {
            let truth = self.stack.pr_truth();
            self.violate(
                Invariant::RegisteredWrites,
                format!(
                    "a write of host {h} landed through its path {p}, which is not registered with its key; {truth}"
                ),
            );
        }
        let host = &self.hosts[h];
        if host.fenced_at.is_some() && registered {
            let truth = self.stack.pr_truth();
            self.violate(
                Invariant::FencedWritesNothing,
                format!(
                    "a write of host {h} landed through its path {p}, registered with its key after it was fenced; \
                     {truth}"
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
        if let (Some(mask), true) = (&mut self.target_down, i < 64) {
            // Down while the target restarts: it stays down when the
            // target is back, until its own link comes up.
            *mask &= !(1u64 << i);
        }
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
            if let (Some(after), Stage::Outbound, true) = (late, f.stage, f.write) {
                self.stranded
                    .push(Some((i, f.cmd.clone(), f.data_out.clone())));
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

    /// Path `i`'s link comes back and the path logs in again (`login`;
    /// after a target restart the host's transport makes the new
    /// session or association itself once it sees the path back, and
    /// until then nothing gets through the old one).
    pub(crate) fn link_up(&mut self, i: usize, login: bool) {
        let Some(l) = self.links.get_mut(i) else {
            return;
        };
        if l.up {
            return;
        }
        l.up = true;
        // Logging in again reinstates the session: the target aborts what
        // the old one left unfinished, so a write stranded on this link
        // lands now or never (iSCSI session reinstatement, FC PLOGI).
        self.discard_stranded(i);
        // A controller whose association a target restart ended has none
        // to log in again with: its host connects it anew when it sees
        // the path back (and checks its registration then).
        if login && self.stack.associated(i) {
            self.stack.reconnect(i);
        }
        let at = self.now.saturating_add(self.scenario.detect);
        self.queue.push(at, Event::HostLink(i, true));
    }

    /// A write stranded on a dead link lands now.
    pub(crate) fn late_land(&mut self, k: usize) {
        let Some(Some((i, c, data))) = self.stranded.get_mut(k).map(Option::take) else {
            return;
        };
        if self.stack.late_write(i, &c, &data) {
            self.after_write(i, None);
        }
    }

    /// Writes stranded on path `i`'s link never land: the path logged in
    /// again (iSCSI session reinstatement, FC PLOGI, a new NVMe
    /// association), which aborts what the old one left unfinished.
    pub(crate) fn discard_stranded(&mut self, i: usize) {
        for s in &mut self.stranded {
            if s.as_ref().is_some_and(|(p, _, _)| *p == i) {
                *s = None;
            }
        }
    }

    /// The host resets path `i`'s controller (or session): every command
    /// on it is aborted at once (the host driver cancels them; none takes
    /// effect at the target), the target forgets the controller's queues,
    /// and the path is down until the host has connected again, four
    /// one-way trips later. Nothing to reset on a dead link (the host is
    /// reconnecting already) or while a reset is under way.
    pub(crate) fn reset_path(&mut self, i: usize) {
        let (h, p) = (i / self.npaths, i % self.npaths);
        if !self.links.get(i).is_some_and(|l| l.up) || self.hosts[h].resetting[p] {
            return;
        }
        self.resets += 1;
        self.hosts[h].resetting[p] = true;
        let now = self.now;
        // The host takes the path down first: what it aborts goes
        // elsewhere or waits, as the controller is resetting.
        self.queue.push(now, Event::HostLink(i, false));
        for (&id, f) in self.flights.iter_mut() {
            if f.path != i || f.stage == Stage::Failed {
                continue;
            }
            f.stage = Stage::Failed;
            f.aborted = true;
            f.answer = Some(Answer::transport(TransportStatus::Aborted));
            f.token += 1;
            self.queue.push(now, Event::Deliver(id, f.token));
        }
        self.discard_stranded(i);
        self.stack.reset(i);
        let back = Duration::from_nanos(self.links[i].one_way(0).as_nanos().saturating_mul(4));
        self.queue
            .push(now.saturating_add(back), Event::ResetDone(i));
    }

    /// The target restarts ([`Fault::TargetRestart`]): every path that is
    /// up goes down as its link would, nothing at a port takes effect, the
    /// target loses what power loss takes, and after `down` those paths
    /// come back.
    ///
    /// [`Fault::TargetRestart`]: super::Fault::TargetRestart
    pub(crate) fn target_restart(&mut self, down: Duration) {
        // Nothing sent before the restart takes effect after it: not what
        // waits at a port (including commands whose link died while they
        // were there: the host has them failed, the port still holds
        // them), not what a controller holds.
        for (_, f) in self.flights.iter_mut() {
            f.aborted = true;
        }
        let mut dropped = 0u64;
        for i in 0..self.links.len() {
            // Writes stranded on a dead link belong to sessions the
            // restart ended: they never land.
            self.discard_stranded(i);
            if self.links[i].up {
                dropped |= 1u64 << i;
                self.link_down(i, None);
            }
        }
        // What the ports held is aborted; their queues drain of it on
        // their own (each `Served` frees its place) before the target is
        // back, unless `down` is shorter than a command's service.
        self.stack.restart();
        self.restarts += 1;
        self.restarted_at = Some(self.now);
        if !self.scenario.aptpl {
            // Power loss took every registration: from here on, as after a
            // preemption, nothing of a registered host may be written
            // through a registration made again (the host cannot tell the
            // two apart, so it may not assume the kinder one).
            let now = self.now;
            for host in self.hosts.iter_mut().filter(|h| h.registered) {
                host.fenced_at = Some(now);
            }
        }
        let mask = self.target_down.unwrap_or(0) | dropped;
        self.target_down = Some(mask);
        self.queue
            .push(self.now.saturating_add(down), Event::TargetBack);
    }

    /// The target answers again: the paths its restart took down (and
    /// any whose link came back meanwhile) log in again.
    pub(crate) fn target_back(&mut self) {
        let Some(mask) = self.target_down.take() else {
            return;
        };
        for i in 0..self.links.len() {
            if i < 64 && mask & (1u64 << i) != 0 {
                self.link_up(i, false);
            }
        }
    }

    /// A host outside the run registers and preempts host 0's key,
    /// holding `rtype`. Every host of the run sees a reservation another
    /// host changed.
    pub(crate) fn other_host_preempts(&mut self, rtype: CoreType) {
        for host in &mut self.hosts {
            host.foreign_pr = true;
        }
        let ok = self.stack.other_host_preempts(rtype);
        self.nvme_events();
        // A preemption that races our own REGISTER operation (the user
        // registering while another host fences) is the user's race: a
        // registration of theirs landing after it is theirs to have made
        // (fence_mpath's unfence is exactly that). The fence the device
        // must keep is one that lands once its registration is done.
        if ok && self.hosts[0].pr_stage != 1 {
            self.hosts[0].fenced_at = Some(self.now);
        }
    }
}
