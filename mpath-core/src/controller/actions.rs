//! `poll_action`: the outputs, computed from state when asked.
//!
//! Nothing is queued in advance, so there is no action queue to overflow:
//! each call looks for the most urgent thing to do and marks it handed out.

use super::{Action, Controller, HeadState};
use crate::dataplane::DataPlane;
use crate::io::IoError;
use core::borrow::Borrow;

impl<D: Borrow<DataPlane<N>>, const N: usize, const Q: usize, const G: usize>
    Controller<D, N, Q, G>
{
    /// The next thing to do, or `None`. Call until `None` after every input.
    pub fn poll_action(&mut self) -> Option<Action> {
        let now = self.clock.now();
        if self.head == HeadState::Removed {
            // Fail everything held before announcing removal.
            if let Some(q) = self.requeue.take_first() {
                self.give_credit();
                return Some(Action::Fail {
                    io: q.io,
                    error: IoError::HeadRemoved,
                });
            }
            if self.head_removed_report {
                self.head_removed_report = false;
                return Some(Action::HeadRemoved);
            }
            return None;
        }
        if self.head_live_report {
            self.head_live_report = false;
            return Some(Action::HeadLive);
        }
        if !self.requeue.is_empty() {
            if self.published_mask == 0 {
                if let super::io::NoPathVerdict::Fail(error) = self.no_path_verdict(now) {
                    // A write that was out on a failed path fails upward
                    // only once that path's quiesce time has passed: until
                    // then it may still land, and an application told it
                    // failed would write the block again, to be
                    // overwritten by the old one.
                    if let Some(q) = self.requeue.take_ready_where(now, |_| true) {
                        self.counters.no_path_failures =
                            self.counters.no_path_failures.saturating_add(1);
                        self.give_credit();
                        return Some(Action::Fail { io: q.io, error });
                    }
                }
            } else if let Some(q) = {
                let dp: &DataPlane<N> = self.dp.borrow();
                self.requeue
                    .take_ready_where(now, |q| dp.selectable_for(q.io.kind) != 0)
            } {
                match self.try_start(q.io, q.prefer, now) {
                    Some(ticket) => return Some(Action::Dispatch(ticket)),
                    None => {
                        // Raced with nothing selectable: keep it (it was
                        // just removed, so there is room).
                        let _ = self.requeue.push(q);
                    }
                }
            }
        }
        for p in self.paths.iter_mut().flatten() {
            if p.probe.wanted {
                p.probe.sent(now, &self.cfg.probe);
                return Some(Action::Probe(p.id));
            }
        }
        for p in self.paths.iter_mut().flatten() {
            if p.refresh.wanted {
                p.refresh.sent();
                return Some(Action::RefreshAccessState { via: p.id });
            }
        }
        if let Some(a) = self.activation.as_mut() {
            if a.retry.wanted {
                a.retry.sent();
                return Some(Action::ActivateGroup {
                    group: a.group,
                    via: a.via,
                });
            }
        }
        for g in self.groups.iter_mut() {
            if g.timeout_report_wanted {
                g.timeout_report_wanted = false;
                return Some(Action::TransitionTimedOut { group: g.id });
            }
        }
        None
    }
}
