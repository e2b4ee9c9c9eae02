//! What a transport adapter tells a device, as a trait: the SCSI and NVMe
//! adapters take `&mut dyn DeviceInputs`, so a [`Device`](crate::Device),
//! a bare [`Controller`](crate::Controller), a simulator or C glue drive
//! the same adapters, and no adapter names the device's four type
//! parameters.

use crate::access::{GroupAccess, GroupId};
use crate::controller::{ActivationResult, Controller};
use crate::dataplane::DataPlane;
use crate::device::Device;
use crate::error::{Error, Rejected};
use crate::outcome::{Notices, ProbeResult};
use crate::path::{PathId, PathSpec};
use crate::time::{Duration, Instant};
use core::borrow::Borrow;

/// The inputs an adapter feeds a device, each as the device's method of
/// the same name documents it. Every method refuses bad input (unknown or
/// stale path, time going backwards, full table) with a typed error and
/// changes nothing.
pub trait DeviceInputs {
    /// Add a path; `port` is the initiator port (or host) its
    /// reservation registrations count for.
    fn add_path(
        &mut self,
        spec: PathSpec,
        port: u32,
        now: Instant,
    ) -> Result<PathId, Rejected<PathSpec>>;
    /// Remove a path.
    fn remove_path(&mut self, path: PathId, now: Instant) -> Result<(), Error>;
    /// Move a path to another access-state group.
    fn move_path_to_group(
        &mut self,
        path: PathId,
        group: GroupId,
        access: Option<GroupAccess>,
        now: Instant,
    ) -> Result<(), Error>;
    /// `Ok` if `path` is a present path of this device.
    fn check_path(&self, path: PathId) -> Result<(), Error>;
    /// A probe's result.
    fn handle_probe(
        &mut self,
        path: PathId,
        result: ProbeResult,
        now: Instant,
    ) -> Result<(), Error>;
    /// Notices outside a completion.
    fn handle_notices(&mut self, path: PathId, notices: Notices, now: Instant)
        -> Result<(), Error>;
    /// A group's access state.
    fn handle_access_state(
        &mut self,
        group: GroupId,
        access: GroupAccess,
        now: Instant,
    ) -> Result<(), Error>;
    /// A group's transition timeout.
    fn set_transition_timeout(&mut self, group: GroupId, timeout: Duration) -> Result<(), Error>;
    /// The end of an access-state re-read.
    fn handle_refresh_result(&mut self, via: PathId, ok: bool, now: Instant) -> Result<(), Error>;
    /// The end of an explicit activation.
    fn handle_activation_result(
        &mut self,
        group: GroupId,
        result: ActivationResult,
        now: Instant,
    ) -> Result<(), Error>;
}

/// Both implementations forward to inherent methods of the same names;
/// written once for the two types.
macro_rules! forward_device_inputs {
    ($ty:ty, |$me:ident, $spec:ident, $port:ident, $now:ident| $add:expr) => {
        impl<D: Borrow<DataPlane<N>>, const N: usize, const Q: usize, const G: usize> DeviceInputs
            for $ty
        {
            fn add_path(
                &mut self,
                $spec: PathSpec,
                $port: u32,
                $now: Instant,
            ) -> Result<PathId, Rejected<PathSpec>> {
                let $me = self;
                $add
            }
            fn remove_path(&mut self, path: PathId, now: Instant) -> Result<(), Error> {
                <$ty>::remove_path(self, path, now)
            }
            fn move_path_to_group(
                &mut self,
                path: PathId,
                group: GroupId,
                access: Option<GroupAccess>,
                now: Instant,
            ) -> Result<(), Error> {
                <$ty>::move_path_to_group(self, path, group, access, now)
            }
            fn check_path(&self, path: PathId) -> Result<(), Error> {
                <$ty>::tier(self, path).map(|_| ())
            }
            fn handle_probe(
                &mut self,
                path: PathId,
                result: ProbeResult,
                now: Instant,
            ) -> Result<(), Error> {
                <$ty>::handle_probe(self, path, result, now)
            }
            fn handle_notices(
                &mut self,
                path: PathId,
                notices: Notices,
                now: Instant,
            ) -> Result<(), Error> {
                <$ty>::handle_notices(self, path, notices, now)
            }
            fn handle_access_state(
                &mut self,
                group: GroupId,
                access: GroupAccess,
                now: Instant,
            ) -> Result<(), Error> {
                <$ty>::handle_access_state(self, group, access, now)
            }
            fn set_transition_timeout(
                &mut self,
                group: GroupId,
                timeout: Duration,
            ) -> Result<(), Error> {
                <$ty>::set_transition_timeout(self, group, timeout)
            }
            fn handle_refresh_result(
                &mut self,
                via: PathId,
                ok: bool,
                now: Instant,
            ) -> Result<(), Error> {
                <$ty>::handle_refresh_result(self, via, ok, now)
            }
            fn handle_activation_result(
                &mut self,
                group: GroupId,
                result: ActivationResult,
                now: Instant,
            ) -> Result<(), Error> {
                <$ty>::handle_activation_result(self, group, result, now)
            }
        }
    };
}

forward_device_inputs!(Controller<D, N, Q, G>, |ctl, spec, _port, now| ctl
    .add_path(spec, now));
forward_device_inputs!(Device<D, N, Q, G>, |dev, spec, port, now| dev
    .add_path(spec, port, now));
