//! Single-threaded convenience: a controller that owns its data plane, plus
//! one cursor.

use crate::config::{Config, ConfigError};
use crate::controller::{Controller, Disposition};
use crate::dataplane::{Cursor, DataPlane};
use crate::error::Rejected;
use crate::io::{Io, Ticket};
use crate::outcome::Completion;
use crate::time::Instant;

/// A multipath device for a single thread (simulators, tests, simple
/// daemons): one `&mut` API over both planes.
#[derive(Debug)]
pub struct Multipath<const N: usize, const Q: usize = 256, const G: usize = 16> {
    ctl: Controller<DataPlane<N>, N, Q, G>,
}

impl<const N: usize, const Q: usize, const G: usize> Multipath<N, Q, G> {
    /// A device with no paths.
    pub fn new(cfg: Config) -> Result<Self, ConfigError> {
        Ok(Multipath {
            ctl: Controller::new(DataPlane::new(), cfg)?,
        })
    }

    /// The control plane.
    pub fn controller(&self) -> &Controller<DataPlane<N>, N, Q, G> {
        &self.ctl
    }

    /// The control plane, for inputs and commands.
    pub fn controller_mut(&mut self) -> &mut Controller<DataPlane<N>, N, Q, G> {
        &mut self.ctl
    }

    /// The cursor the fast path uses: the controller's own, so that the
    /// admission credits it keeps serve the slow path too.
    pub fn cursor(&self) -> &Cursor<N> {
        &self.ctl.cursor
    }

    /// Submit: the data plane's fast path when a path is selectable, the
    /// control plane's no-path handling otherwise.
    pub fn submit(&mut self, io: Io, now: Instant) -> Result<Disposition, Rejected<Io>> {
        if self.ctl.now() <= now {
            match self.ctl.fast_submit(io, now) {
                Ok(t) => return Ok(Disposition::Dispatch(t)),
                Err(back) => return self.ctl.submit(back, now),
            }
        }
        self.ctl.submit(io, now)
    }

    /// A successful completion, on the fast path. A ticket another device
    /// issued is handed back.
    pub fn complete_ok(&mut self, ticket: Ticket, now: Instant) -> Result<Io, Rejected<Ticket>> {
        self.ctl.fast_complete(ticket, now)
    }

    /// Any completion.
    pub fn complete(
        &mut self,
        ticket: Ticket,
        completion: Completion,
        now: Instant,
    ) -> Result<Disposition, Rejected<Ticket>> {
        self.ctl.handle_completion(ticket, completion, now)
    }
}
