//! Device configuration, with multipath.conf / dm / NVMe equivalents named.

use crate::selector::{Policy, SelectorParams};
use crate::time::Duration;

/// What to do with I/O when no path can carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoPathPolicy {
    /// Fail it at once (`no_path_retry fail`, dm `fail_if_no_path`). I/O is
    /// still held while an access-state transition or a group activation is
    /// under way, until that ends or times out, as scsi_dh_alua requeues
    /// during transitions.
    Fail,
    /// Hold it until a path returns or the head is removed
    /// (`no_path_retry queue`, dm `queue_if_no_path`).
    Queue,
    /// Hold it for at most this long after the last path went away, then
    /// fail everything held and what comes after (`no_path_retry N`, which
    /// counts N checker intervals).
    QueueFor(Duration),
}

/// When to go back to a better tier after it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failback {
    /// At once (`failback immediate`, NVMe's behaviour).
    Immediate,
    /// Only on [`Controller::failback`](crate::Controller::failback)
    /// (`failback manual`).
    Manual,
    /// Only when the first path of a group comes back up, not when an
    /// access-state change elsewhere made a group better, which is what
    /// another node asking for a failover looks like (`failback followover`).
    FollowOver,
    /// After the better tier has been available this long (`failback N`).
    Delayed(Duration),
}

/// Path checker timing (multipathd `polling_interval`,
/// `max_polling_interval`, `checker_timeout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeConfig {
    /// Interval after any change, and for paths that are not up.
    pub min_interval: Duration,
    /// Upper bound the interval doubles towards while a path stays up.
    pub max_interval: Duration,
    /// A probe without a result after this long counts as down.
    pub timeout: Duration,
    /// Delay before re-probing after [`ProbeResult::Retry`](crate::ProbeResult::Retry).
    pub retry_delay: Duration,
}

/// Marginal-path detection (multipath-tools `marginal_path_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarginalConfig {
    /// Two path errors within this span, on a path whose probes pass, start
    /// error-rate sampling (`marginal_path_double_failed_time`). Zero turns
    /// marginal detection off.
    pub double_failure_window: Duration,
    /// How long to sample (`marginal_path_err_sample_time`).
    pub sample_time: Duration,
    /// Error rate, in permille of sampled I/Os, at or above which the path is
    /// marginal (`marginal_path_err_rate_threshold`).
    pub error_rate_permille: u16,
    /// Fewer sampled I/Os than this give no verdict (the path stays healthy).
    pub min_samples: u32,
    /// A marginal path is sampled again after this gap
    /// (`marginal_path_err_recheck_gap_time`).
    pub recheck_gap: Duration,
}

/// Flap damping (multipath-tools `san_path_err_threshold`,
/// `san_path_err_forget_rate`, `san_path_err_recovery_time`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlapConfig {
    /// Failures that make a returning path wait; 0 turns damping off.
    pub threshold: u32,
    /// One remembered failure is forgotten per this much time.
    pub forget_interval: Duration,
    /// How long a damped path waits before it is reinstated.
    pub recovery_time: Duration,
}

/// Which asymmetric-access protocol the device speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessProtocol {
    /// SCSI ALUA (SPC-4 5.15).
    Alua,
    /// NVMe ANA.
    Ana,
}

impl AccessProtocol {
    /// The protocol's "in transition" state, assumed when an I/O reports a
    /// transition before the state has been re-read.
    pub const fn transitioning(self) -> crate::access::AccessState {
        match self {
            AccessProtocol::Alua => crate::access::AccessState::Transitioning,
            AccessProtocol::Ana => crate::access::AccessState::Change,
        }
    }
}

/// Access-state handling (ALUA / ANA).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessConfig {
    /// ALUA or ANA.
    pub protocol: AccessProtocol,
    /// Send explicit activations (SCSI STPG, dm `pg_init`) when no optimized
    /// path is left and a standby or non-optimized group could take over.
    /// Only for targets that report explicit ALUA support (TPGS 10b/11b).
    pub explicit_activation: bool,
    /// Also activate a non-optimized group while it carries I/O, to make it
    /// optimized (scsi_dh_alua's `optimize_stpg`). Off by default, as in
    /// the kernel: a non-optimized path works, and only standby or
    /// unavailable groups are activated, when nothing better is usable. A
    /// group chosen with [`switch_group`](crate::Controller::switch_group)
    /// is activated either way.
    pub activate_non_optimized: bool,
    /// Default transition timeout: ALUA's when RTPG reports none (the
    /// kernel's `ALUA_FAILOVER_TIMEOUT` is 60 s), NVMe's ANATT from Identify
    /// Controller otherwise. Adapters set per-group values.
    pub transition_timeout: Duration,
    /// While a group transitions, re-read its state this often.
    pub transition_poll: Duration,
    /// Re-read attempts after a failed RTPG / ANA log read.
    pub refresh_retries: u8,
    /// Delay between those attempts.
    pub refresh_delay: Duration,
    /// Attempts at an explicit activation (scsi_dh_alua retries STPG).
    pub activation_retries: u8,
    /// Delay between activation attempts.
    pub activation_delay: Duration,
}

/// Everything a device is configured with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Selector.
    pub policy: Policy,
    /// Selector tunables.
    pub selector: SelectorParams,
    /// No-path behaviour.
    pub no_path: NoPathPolicy,
    /// Failback behaviour.
    pub failback: Failback,
    /// How long the head outlives its last path (NVMe `delayed_removal_secs`,
    /// multipathd `flush_on_last_del` with a delay). Zero removes at once.
    pub delayed_removal: Duration,
    /// After a path error, writes wait this long before they are resubmitted
    /// elsewhere, so the failed attempt cannot still land after the retry
    /// (NVMe's Command Quiesce Time, CQT; for SCSI the time the transport
    /// needs to abort or time out what was outstanding).
    pub quiesce_time: Duration,
    /// Path checker.
    pub probe: ProbeConfig,
    /// Marginal paths.
    pub marginal: MarginalConfig,
    /// Flap damping.
    pub flap: FlapConfig,
    /// ALUA / ANA.
    pub access: AccessConfig,
}

impl Config {
    /// multipathd-like defaults: round-robin, queue for 5 minutes with no
    /// path, immediate failback, 5 s probes growing to 20 s.
    pub const DEFAULT: Config = Config {
        policy: Policy::RoundRobin,
        selector: SelectorParams::DEFAULT,
        no_path: NoPathPolicy::QueueFor(Duration::from_secs(300)),
        failback: Failback::Immediate,
        delayed_removal: Duration::ZERO,
        quiesce_time: Duration::from_millis(100),
        probe: ProbeConfig {
            min_interval: Duration::from_secs(5),
            max_interval: Duration::from_secs(20),
            timeout: Duration::from_secs(30),
            retry_delay: Duration::from_secs(1),
        },
        marginal: MarginalConfig {
            double_failure_window: Duration::from_secs(60),
            sample_time: Duration::from_secs(60),
            error_rate_permille: 100,
            min_samples: 10,
            recheck_gap: Duration::from_secs(300),
        },
        flap: FlapConfig {
            threshold: 0,
            forget_interval: Duration::from_secs(100),
            recovery_time: Duration::from_secs(300),
        },
        access: AccessConfig {
            protocol: AccessProtocol::Alua,
            explicit_activation: false,
            activate_non_optimized: false,
            transition_timeout: Duration::from_secs(60),
            transition_poll: Duration::from_secs(1),
            refresh_retries: 5,
            refresh_delay: Duration::from_secs(1),
            activation_retries: 5,
            activation_delay: Duration::from_secs(1),
        },
    };

    /// Check that every interval that re-arms a timer is non-zero (a zero one
    /// would fire again at the same instant forever) and bounds are ordered.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let nonzero = [
            (self.probe.min_interval, "probe.min_interval"),
            (self.probe.max_interval, "probe.max_interval"),
            (self.probe.timeout, "probe.timeout"),
            (self.probe.retry_delay, "probe.retry_delay"),
            (self.access.transition_timeout, "access.transition_timeout"),
            (self.access.transition_poll, "access.transition_poll"),
            (self.access.refresh_delay, "access.refresh_delay"),
            (self.access.activation_delay, "access.activation_delay"),
        ];
        for (d, field) in nonzero {
            if d.is_zero() {
                return Err(ConfigError::ZeroInterval { field });
            }
        }
        if self.probe.max_interval < self.probe.min_interval {
            return Err(ConfigError::Inverted {
                field: "probe.max_interval",
            });
        }
        if !self.marginal.double_failure_window.is_zero()
            && (self.marginal.sample_time.is_zero() || self.marginal.recheck_gap.is_zero())
        {
            return Err(ConfigError::ZeroInterval {
                field: "marginal.sample_time/recheck_gap",
            });
        }
        if self.marginal.error_rate_permille > 1000 {
            return Err(ConfigError::OutOfRange {
                field: "marginal.error_rate_permille",
            });
        }
        if self.flap.threshold != 0
            && (self.flap.forget_interval.is_zero() || self.flap.recovery_time.is_zero())
        {
            return Err(ConfigError::ZeroInterval {
                field: "flap.forget_interval/recovery_time",
            });
        }
        if let NoPathPolicy::QueueFor(d) = self.no_path {
            if d.is_zero() {
                return Err(ConfigError::ZeroInterval {
                    field: "no_path.queue_for",
                });
            }
        }
        if let Failback::Delayed(d) = self.failback {
            if d.is_zero() {
                return Err(ConfigError::ZeroInterval {
                    field: "failback.delayed",
                });
            }
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A configuration the controller refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A timer interval that must be positive is zero.
    #[error("{field} must be non-zero")]
    ZeroInterval {
        /// Which field.
        field: &'static str,
    },
    /// A maximum below its minimum.
    #[error("{field} is below its minimum")]
    Inverted {
        /// Which field.
        field: &'static str,
    },
    /// A value outside its range.
    #[error("{field} is out of range")]
    OutOfRange {
        /// Which field.
        field: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_zero_intervals_are_refused() {
        assert_eq!(Config::DEFAULT.validate(), Ok(()));
        let mut c = Config::DEFAULT;
        c.probe.min_interval = Duration::ZERO;
        assert_eq!(
            c.validate(),
            Err(ConfigError::ZeroInterval {
                field: "probe.min_interval"
            })
        );
        let mut c = Config::DEFAULT;
        c.probe.max_interval = Duration::from_secs(1);
        assert!(matches!(c.validate(), Err(ConfigError::Inverted { .. })));
        let mut c = Config::DEFAULT;
        c.marginal.error_rate_permille = 1001;
        assert!(matches!(c.validate(), Err(ConfigError::OutOfRange { .. })));
        let mut c = Config::DEFAULT;
        c.no_path = NoPathPolicy::QueueFor(Duration::ZERO);
        assert!(c.validate().is_err());
        let mut c = Config::DEFAULT;
        c.failback = Failback::Delayed(Duration::ZERO);
        assert!(c.validate().is_err());
    }
}
