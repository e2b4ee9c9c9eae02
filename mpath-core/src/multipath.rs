//! Single-threaded convenience: a controller that owns its data plane, plus
//! one cursor.

use crate::config::{Config, ConfigError};
use crate::controller::{Controller, Disposition};
use crate::dataplane::{Cursor, DataPlane};
use crate::error::Rejected;
use crate::io::{Io, Ticket};
use crate::outcome::Completion;
use crate::path::Locality;
use crate::time::Instant;

/// A multipath device for a single thread (simulators, tests, simple
/// daemons): one `&mut` API over both planes.
#[derive(Debug)]
pub struct Multipath<const N: usize, const Q: usize = 256, const G: usize = 16> {
    ctl: Controller<DataPlane<N>, N, Q, G>,
    cursor: Cursor<N>,
}

impl<const N: usize, const Q: usize, const G: usize> Multipath<N, Q, G> {
    /// A device with no paths.
    pub fn new(cfg: Config) -> Result<Self, ConfigError> {
        Ok(Multipath {
            ctl: Controller::new(DataPlane::new(), cfg)?,
            cursor: Cursor::new(Locality(0)),
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

    /// The cursor the fast path uses.
    pub fn cursor(&self) -> &Cursor<N> {
        &self.cursor
    }

    /// Submit: the data plane's fast path when a path is selectable, the
    /// control plane's no-path handling otherwise.
    pub fn submit(&mut self, io: Io, now: Instant) -> Result<Disposition, Rejected<Io>> {
        if self.ctl.now() <= now {
            if let Ok(t) = self.ctl.data_plane().submit(&mut self.cursor, io, now) {
                return Ok(Disposition::Dispatch(t));
            }
        }
        self.ctl.submit(io, now)
    }

    /// A successful completion, on the fast path. A ticket another device
    /// issued is handed back.
    pub fn complete_ok(&mut self, ticket: Ticket, now: Instant) -> Result<Io, Rejected<Ticket>> {
        self.ctl
            .data_plane()
            .complete(&mut self.cursor, ticket, now)
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
