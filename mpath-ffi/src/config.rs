//! The device configuration ([`Config`]) as plain C structs: durations in
//! nanoseconds, enumerations as codes, flags as `uint8_t` 0/1.

use crate::codes::{MpathAccessProtocol, MpathFailback, MpathNoPath, MpathPolicy};
use crate::{errno, flag, need, ret, u8_of, Ret};
use core::ffi::c_int;
use mpath_core::{
    AccessConfig, Config, Duration, Failback, FlapConfig, MarginalConfig, NoPathPolicy,
    ProbeConfig, SelectorParams,
};

/// [`SelectorParams`]: the selectors' tunables.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathSelectorParams {
    /// Round-robin: I/Os per path before moving on (0 is taken as 1).
    pub rr_switch_ios: u32,
    /// Adaptive: a new sample weighs `1 / 2^ewma_shift`.
    pub ewma_shift: u8,
    /// Zero.
    pub reserved: [u8; 3],
    /// Round-robin: bytes per path before moving on; 0 = no limit.
    pub rr_switch_bytes: u64,
    /// Adaptive: a path not sampled for this long gets the next I/O.
    pub stale_after_ns: u64,
}

impl MpathSelectorParams {
    pub(crate) fn decode(&self) -> SelectorParams {
        SelectorParams {
            rr_switch_ios: self.rr_switch_ios,
            rr_switch_bytes: self.rr_switch_bytes,
            ewma_shift: self.ewma_shift,
            stale_after: Duration::from_nanos(self.stale_after_ns),
        }
    }
    pub(crate) fn of(p: &SelectorParams) -> Self {
        MpathSelectorParams {
            rr_switch_ios: p.rr_switch_ios,
            ewma_shift: p.ewma_shift,
            reserved: [0; 3],
            rr_switch_bytes: p.rr_switch_bytes,
            stale_after_ns: p.stale_after.as_nanos(),
        }
    }
}

/// [`ProbeConfig`]: path checker timing.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathProbeConfig {
    /// Interval after any change, and for paths that are not up.
    pub min_interval_ns: u64,
    /// Upper bound the interval doubles towards while a path stays up.
    pub max_interval_ns: u64,
    /// A probe without a result after this long counts as down.
    pub timeout_ns: u64,
    /// Delay before re-probing after a `Retry` result.
    pub retry_delay_ns: u64,
}

/// [`MarginalConfig`]: marginal-path detection.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathMarginalConfig {
    /// Two path errors within this span start sampling; 0 turns it off.
    pub double_failure_window_ns: u64,
    /// How long to sample.
    pub sample_time_ns: u64,
    /// A marginal path is sampled again after this gap.
    pub recheck_gap_ns: u64,
    /// Fewer sampled I/Os than this give no verdict.
    pub min_samples: u32,
    /// Error rate (permille) at or above which the path is marginal.
    pub error_rate_permille: u16,
    /// Zero.
    pub reserved: u16,
}

/// [`FlapConfig`]: flap damping.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathFlapConfig {
    /// One remembered failure is forgotten per this much time.
    pub forget_interval_ns: u64,
    /// How long a damped path waits before it is reinstated.
    pub recovery_time_ns: u64,
    /// Failures that make a returning path wait; 0 turns damping off.
    pub threshold: u32,
    /// Zero.
    pub reserved: u32,
}

/// [`AccessConfig`]: ALUA / ANA handling.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathAccessConfig {
    /// Default transition timeout.
    pub transition_timeout_ns: u64,
    /// While a group transitions, re-read its state this often.
    pub transition_poll_ns: u64,
    /// Delay between access-state re-read attempts.
    pub refresh_delay_ns: u64,
    /// Delay between activation attempts.
    pub activation_delay_ns: u64,
    /// [`MpathAccessProtocol`] code.
    pub protocol: u32,
    /// Send explicit activations (STPG).
    pub explicit_activation: u8,
    /// Also activate a non-optimized group carrying I/O.
    pub activate_non_optimized: u8,
    /// Re-read attempts after a failed RTPG / ANA log read.
    pub refresh_retries: u8,
    /// Attempts at an explicit activation.
    pub activation_retries: u8,
}

/// [`Config`]: everything a device is configured with. Start from
/// `mpath_config_default`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathConfig {
    /// Selector tunables.
    pub selector: MpathSelectorParams,
    /// Path checker.
    pub probe: MpathProbeConfig,
    /// Marginal paths.
    pub marginal: MpathMarginalConfig,
    /// Flap damping.
    pub flap: MpathFlapConfig,
    /// ALUA / ANA.
    pub access: MpathAccessConfig,
    /// `QueueFor`: how long I/O is held with no path.
    pub no_path_queue_for_ns: u64,
    /// `Delayed`: how long the better tier must be available.
    pub failback_delay_ns: u64,
    /// How long the head outlives its last path; 0 removes at once.
    pub delayed_removal_ns: u64,
    /// Writes wait this long after a path error before going out again.
    pub quiesce_time_ns: u64,
    /// [`MpathPolicy`] code.
    pub policy: u32,
    /// [`MpathNoPath`] code.
    pub no_path: u32,
    /// [`MpathFailback`] code.
    pub failback: u32,
    /// Zero.
    pub reserved: u32,
}

/// A no-path policy from its code and duration.
pub(crate) fn no_path_policy(code: u32, queue_for_ns: u64) -> Result<NoPathPolicy, c_int> {
    Ok(match MpathNoPath::parse(code)? {
        MpathNoPath::Fail => NoPathPolicy::Fail,
        MpathNoPath::Queue => NoPathPolicy::Queue,
        MpathNoPath::QueueFor => NoPathPolicy::QueueFor(Duration::from_nanos(queue_for_ns)),
    })
}

impl MpathConfig {
    /// The core's configuration, or `-EINVAL` for a code or flag outside
    /// its table. Not validated here: the controller validates.
    pub(crate) fn decode(&self) -> Result<Config, c_int> {
        let ns = Duration::from_nanos;
        let (p, m, f, a) = (&self.probe, &self.marginal, &self.flap, &self.access);
        Ok(Config {
            policy: MpathPolicy::parse(self.policy)?.to_core(),
            selector: self.selector.decode(),
            no_path: no_path_policy(self.no_path, self.no_path_queue_for_ns)?,
            failback: match MpathFailback::parse(self.failback)? {
                MpathFailback::Immediate => Failback::Immediate,
                MpathFailback::Manual => Failback::Manual,
                MpathFailback::FollowOver => Failback::FollowOver,
                MpathFailback::Delayed => Failback::Delayed(ns(self.failback_delay_ns)),
            },
            delayed_removal: ns(self.delayed_removal_ns),
            quiesce_time: ns(self.quiesce_time_ns),
            probe: ProbeConfig {
                min_interval: ns(p.min_interval_ns),
                max_interval: ns(p.max_interval_ns),
                timeout: ns(p.timeout_ns),
                retry_delay: ns(p.retry_delay_ns),
            },
            marginal: MarginalConfig {
                double_failure_window: ns(m.double_failure_window_ns),
                sample_time: ns(m.sample_time_ns),
                error_rate_permille: m.error_rate_permille,
                min_samples: m.min_samples,
                recheck_gap: ns(m.recheck_gap_ns),
            },
            flap: FlapConfig {
                threshold: f.threshold,
                forget_interval: ns(f.forget_interval_ns),
                recovery_time: ns(f.recovery_time_ns),
            },
            access: AccessConfig {
                protocol: MpathAccessProtocol::parse(a.protocol)?.to_core(),
                explicit_activation: flag(a.explicit_activation)?,
                activate_non_optimized: flag(a.activate_non_optimized)?,
                transition_timeout: ns(a.transition_timeout_ns),
                transition_poll: ns(a.transition_poll_ns),
                refresh_retries: a.refresh_retries,
                refresh_delay: ns(a.refresh_delay_ns),
                activation_retries: a.activation_retries,
                activation_delay: ns(a.activation_delay_ns),
            },
        })
    }

    pub(crate) fn of(c: &Config) -> Self {
        // Exhaustive, so a field added to the core's configuration fails
        // this build until the C struct has it too.
        let Config {
            policy,
            selector,
            no_path,
            failback,
            delayed_removal,
            quiesce_time,
            probe,
            marginal,
            flap,
            access,
        } = *c;
        let (no_path, no_path_queue_for_ns) = match no_path {
            NoPathPolicy::Fail => (MpathNoPath::Fail, 0),
            NoPathPolicy::Queue => (MpathNoPath::Queue, 0),
            NoPathPolicy::QueueFor(d) => (MpathNoPath::QueueFor, d.as_nanos()),
        };
        let (failback, failback_delay_ns) = match failback {
            Failback::Immediate => (MpathFailback::Immediate, 0),
            Failback::Manual => (MpathFailback::Manual, 0),
            Failback::FollowOver => (MpathFailback::FollowOver, 0),
            Failback::Delayed(d) => (MpathFailback::Delayed, d.as_nanos()),
        };
        MpathConfig {
            selector: MpathSelectorParams::of(&selector),
            probe: MpathProbeConfig {
                min_interval_ns: probe.min_interval.as_nanos(),
                max_interval_ns: probe.max_interval.as_nanos(),
                timeout_ns: probe.timeout.as_nanos(),
                retry_delay_ns: probe.retry_delay.as_nanos(),
            },
            marginal: MpathMarginalConfig {
                double_failure_window_ns: marginal.double_failure_window.as_nanos(),
                sample_time_ns: marginal.sample_time.as_nanos(),
                recheck_gap_ns: marginal.recheck_gap.as_nanos(),
                min_samples: marginal.min_samples,
                error_rate_permille: marginal.error_rate_permille,
                reserved: 0,
            },
            flap: MpathFlapConfig {
                forget_interval_ns: flap.forget_interval.as_nanos(),
                recovery_time_ns: flap.recovery_time.as_nanos(),
                threshold: flap.threshold,
                reserved: 0,
            },
            access: MpathAccessConfig {
                transition_timeout_ns: access.transition_timeout.as_nanos(),
                transition_poll_ns: access.transition_poll.as_nanos(),
                refresh_delay_ns: access.refresh_delay.as_nanos(),
                activation_delay_ns: access.activation_delay.as_nanos(),
                protocol: MpathAccessProtocol::of(access.protocol),
                explicit_activation: u8_of(access.explicit_activation),
                activate_non_optimized: u8_of(access.activate_non_optimized),
                refresh_retries: access.refresh_retries,
                activation_retries: access.activation_retries,
            },
            no_path_queue_for_ns,
            failback_delay_ns,
            delayed_removal_ns: delayed_removal.as_nanos(),
            quiesce_time_ns: quiesce_time.as_nanos(),
            policy: MpathPolicy::of(policy),
            no_path: no_path.code(),
            failback: failback.code(),
            reserved: 0,
        }
    }
}

/// The defaults (multipathd-like: round-robin, queue for 5 minutes with no
/// path, immediate failback, 5 s probes growing to 20 s).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_config_default(out: Option<&mut MpathConfig>) -> c_int {
    ret(need(out).map(|out| {
        *out = MpathConfig::of(&Config::DEFAULT);
        0
    }))
}

/// `0` if a device would accept `cfg`, else `-EINVAL`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_config_validate(cfg: Option<&MpathConfig>) -> c_int {
    ret((|| -> Ret {
        need(cfg)?.decode()?.validate().map_err(errno::of_config)?;
        Ok(0)
    })())
}
