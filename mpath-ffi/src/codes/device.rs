//! Codes of the device's outputs: actions (`mpath_poll_action`), events
//! (`mpath_poll_event`) and what became of an I/O (dispositions).

c_enum! {
    /// [`Action`](mpath_core::Action): what the embedder must do.
    pub enum MpathActionKind {
        /// Send the held I/O now in the ticket on its path.
        Dispatch = 0,
        /// End the held I/O with `io_error`.
        Fail = 1,
        /// Probe `path`.
        Probe = 2,
        /// Re-read access states through `path`.
        RefreshAccessState = 3,
        /// Activate `group` through `path`.
        ActivateGroup = 4,
        /// `group` stayed in transition past its timeout.
        TransitionTimedOut = 5,
        /// Expose the block device.
        HeadLive = 6,
        /// Remove the block device.
        HeadRemoved = 7,
        /// Send the persistent-reservation command in `pr` on `path`
        /// (`pr.via`) and hand the answer to
        /// `mpath_handle_reservation_reply`.
        Reservation = 8,
    }
}

c_enum! {
    /// [`Disposition`](mpath_core::Disposition): what became of an I/O.
    pub enum MpathDispositionKind {
        /// Finished: report `io_error` (`Ok` or why) to the submitter.
        Done = 0,
        /// Send it (again): the ticket is in the ticket slot.
        Dispatch = 1,
        /// Held; a later action ends it.
        Queued = 2,
        /// The requeue is full: hold `io` and submit it again later.
        Busy = 3,
    }
}

c_enum! {
    /// [`DeviceEvent`](mpath_core::DeviceEvent): what the embedder logs or
    /// raises.
    pub enum MpathEventKind {
        /// `path` can no longer carry I/O.
        PathFailed = 0,
        /// `path` carries I/O again (or a new path can), in `tier`.
        PathReinstated = 1,
        /// `path` is judged marginal: used only as a last resort.
        PathMarginal = 2,
        /// Usable `path` moved to `tier` (an ALUA or ANA change).
        PathTier = 3,
        /// Selection now uses `tier` (`None`: no path is selectable).
        ActiveTier = 4,
        /// From the reservation coordinator: `pr` says what.
        Reservation = 5,
    }
}
