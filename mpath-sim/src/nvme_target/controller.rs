//! One controller's own state: the host it belongs to, the ANA state of
//! every group as seen through it, its Asynchronous Event Requests and
//! pending events, and its Reservation Notification log.
//!
//! Events (Base 2.0 "Asynchronous Event Request command"): an event is
//! reported in the completion of an outstanding request, and from then on
//! events of that kind are masked until the host reads the event's log
//! page with RAE clear. An event posted while masked, or while one of the
//! same kind is already waiting, is folded into it: the log page the host
//! will read says everything. Invariant: requests and pending events are
//! never both queued, since one would have completed the other.

use std::collections::{BTreeMap, VecDeque};

use mpath_nvme::aen::AsyncEvent;
use mpath_nvme::ana::AnaState;
use mpath_nvme::resv_notification::{NotificationType, ResvNotificationRepr};

use super::completion::Completion;
use super::topology::HostIdentifier;

/// Reservation Notification log pages a controller keeps before it drops
/// new ones (their Log Page Count is still used, so the host sees a gap,
/// as Linux nvmet's lost count shows it).
pub const RESV_LOG_CAPACITY: usize = 64;

/// The ANA state of one group through one controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnaView {
    /// The state.
    pub state: AnaState,
    /// CHGCNT of the group's descriptor: counts this group's changes
    /// through this controller.
    pub change_count: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Controller {
    pub(crate) host: HostIdentifier,
    pub(crate) connected: bool,
    pub(crate) ana: BTreeMap<u32, AnaView>,
    /// CHGCNT of the ANA log page header.
    pub(crate) ana_change_count: u64,
    aers: VecDeque<u16>,
    pending: VecDeque<AsyncEvent>,
    /// Log pages whose event was reported and not yet read with RAE clear.
    masked: Vec<u8>,
    resv_log: VecDeque<ResvNotificationRepr>,
    /// Log Page Count of the last notification made (0 after a reset).
    resv_log_count: u64,
}

impl Controller {
    pub(crate) fn new(host: HostIdentifier, groups: impl Iterator<Item = u32>) -> Self {
        Controller {
            host,
            connected: true,
            ana: groups
                .map(|g| {
                    (
                        g,
                        AnaView {
                            state: AnaState::Optimized,
                            change_count: 0,
                        },
                    )
                })
                .collect(),
            ana_change_count: 0,
            aers: VecDeque::new(),
            pending: VecDeque::new(),
            masked: Vec::new(),
            resv_log: VecDeque::new(),
            resv_log_count: 0,
        }
    }

    /// Outstanding requests.
    pub(crate) fn outstanding_aers(&self) -> impl Iterator<Item = u16> + '_ {
        self.aers.iter().copied()
    }

    pub(crate) fn aer_count(&self) -> usize {
        self.aers.len()
    }

    /// Takes an Asynchronous Event Request: its completion if an event is
    /// waiting, else `None` (held).
    pub(crate) fn take_aer(&mut self, cid: u16) -> Option<Completion> {
        match self.pending.pop_front() {
            Some(ev) => Some(self.report(cid, ev)),
            None => {
                self.aers.push_back(cid);
                None
            }
        }
    }

    fn report(&mut self, cid: u16, ev: AsyncEvent) -> Completion {
        if !self.masked.contains(&ev.log_page) {
            self.masked.push(ev.log_page);
        }
        Completion {
            dw0: ev.emit(),
            ..Completion::success(cid)
        }
    }

    /// Posts an event: the completion of a held request, if one was.
    pub(crate) fn post(&mut self, ev: AsyncEvent) -> Option<Completion> {
        if !self.connected || self.masked.contains(&ev.log_page) || self.pending.contains(&ev) {
            return None;
        }
        match self.aers.pop_front() {
            Some(cid) => Some(self.report(cid, ev)),
            None => {
                self.pending.push_back(ev);
                None
            }
        }
    }

    /// The host read log page `lid` with RAE clear: its event may be
    /// reported again.
    pub(crate) fn unmask(&mut self, lid: u8) {
        self.masked.retain(|l| *l != lid);
    }

    /// Queues a reservation notification; returns whether it was kept.
    pub(crate) fn push_notification(&mut self, kind: NotificationType, nsid: u32) -> bool {
        // Count 0 means an empty page, so the count skips it on wrapping.
        self.resv_log_count = self.resv_log_count.wrapping_add(1).max(1);
        if self.resv_log.len() >= RESV_LOG_CAPACITY {
            return false;
        }
        self.resv_log.push_back(ResvNotificationRepr {
            log_page_count: self.resv_log_count,
            kind,
            available: 0,
            nsid,
        });
        true
    }

    /// The next Reservation Notification log page (the oldest queued,
    /// removed), or the empty page (all zeros).
    pub(crate) fn pop_notification(&mut self) -> ResvNotificationRepr {
        match self.resv_log.pop_front() {
            Some(mut page) => {
                page.available = u8::try_from(self.resv_log.len()).unwrap_or(u8::MAX);
                page
            }
            None => ResvNotificationRepr {
                log_page_count: 0,
                kind: NotificationType::Empty,
                available: 0,
                nsid: 0,
            },
        }
    }

    pub(crate) fn queued_notifications(&self) -> usize {
        self.resv_log.len()
    }

    /// Controller Level Reset (Base 2.0 "Controller Level Reset"): the
    /// controller forgets its queues, so held requests are aborted
    /// (returned, in submission order), pending events and masks go, and
    /// the Reservation Notification log starts again at count 0. ANA state
    /// belongs to the subsystem and stays.
    pub(crate) fn reset(&mut self) -> Vec<u16> {
        self.pending.clear();
        self.masked.clear();
        self.resv_log.clear();
        self.resv_log_count = 0;
        self.aers.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: HostIdentifier = HostIdentifier::Short([1; 8]);

    #[test]
    fn events_wait_for_requests_and_mask_until_read() {
        let mut c = Controller::new(H, [1u32].into_iter());
        assert_eq!(c.post(AsyncEvent::ANA_CHANGE), None, "no request: pending");
        assert_eq!(c.post(AsyncEvent::ANA_CHANGE), None, "folded");
        let done = c.take_aer(7).unwrap();
        assert_eq!((done.cid, done.dw0), (7, AsyncEvent::ANA_CHANGE.emit()));
        assert_eq!(c.take_aer(8), None, "nothing left: held");
        assert_eq!(c.post(AsyncEvent::ANA_CHANGE), None, "masked until read");
        let r = c.post(AsyncEvent::RESERVATION_LOG_AVAILABLE).unwrap();
        assert_eq!(r.cid, 8, "another kind is not masked");
        c.unmask(0x0C);
        assert_eq!(c.take_aer(9), None);
        assert_eq!(c.post(AsyncEvent::ANA_CHANGE).map(|c| c.cid), Some(9));
    }

    #[test]
    fn notifications_count_and_reset_clears() {
        let mut c = Controller::new(H, core::iter::empty());
        assert!(c.push_notification(NotificationType::ReservationReleased, 3));
        assert!(c.push_notification(NotificationType::RegistrationPreempted, 3));
        let p = c.pop_notification();
        assert_eq!((p.log_page_count, p.available), (1, 1));
        assert_eq!(p.kind, NotificationType::ReservationReleased);
        assert_eq!(c.pop_notification().log_page_count, 2);
        assert_eq!(c.pop_notification().kind, NotificationType::Empty);
        for _ in 0..RESV_LOG_CAPACITY + 3 {
            c.push_notification(NotificationType::ReservationPreempted, 1);
        }
        assert_eq!(c.queued_notifications(), RESV_LOG_CAPACITY);
        assert_eq!(c.take_aer(1), None);
        assert_eq!(c.reset(), vec![1]);
        assert_eq!(c.queued_notifications(), 0);
        c.push_notification(NotificationType::ReservationPreempted, 1);
        assert_eq!(c.pop_notification().log_page_count, 1, "count restarts");
    }
}
