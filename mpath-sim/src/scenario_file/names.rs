//! The names scenario files and the command line give the engine's
//! enumerations: ALUA states as SPC-4 spells them, ANA states as the NVMe
//! base specification does, selectors as dm-multipath and NVMe's
//! `iopolicy` do, reservation types as `sg_persist` and `nvme resv-acquire`
//! describe them.
//!
//! Each `*_name` is a `match`, so a new variant does not compile until it
//! has a name; each `parse_*` tries every variant's name (and a few
//! aliases), so parsing follows.

use mpath_core::reservation::PrType;
use mpath_core::{NoPathPolicy, Policy};
use mpath_nvme::ana::AnaState;
use mpath_scsi::AluaState;

use super::units::{format_duration, parse_duration};
use crate::engine::Transport;

/// An error that lists what would have been accepted.
fn unknown(what: &str, s: &str, names: &[&str]) -> String {
    format!(
        "unknown {what} \"{s}\": expected one of {}",
        names.join(", ")
    )
}

/// The transport's name.
pub const fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Scsi => "scsi",
        Transport::Nvme => "nvme",
    }
}

/// A transport by name.
pub fn parse_transport(s: &str) -> Result<Transport, String> {
    [Transport::Scsi, Transport::Nvme]
        .into_iter()
        .find(|&t| transport_name(t) == s)
        .ok_or_else(|| unknown("transport", s, &["scsi", "nvme"]))
}

/// An ALUA state as SPC-4 names it, dashed.
pub const fn alua_name(s: AluaState) -> &'static str {
    match s {
        AluaState::ActiveOptimized => "active-optimized",
        AluaState::ActiveNonOptimized => "active-non-optimized",
        AluaState::Standby => "standby",
        AluaState::Unavailable => "unavailable",
        AluaState::LbaDependent => "lba-dependent",
        AluaState::Offline => "offline",
        AluaState::Transitioning => "transitioning",
    }
}

/// An ALUA state by name.
pub fn parse_alua(s: &str) -> Result<AluaState, String> {
    AluaState::ALL
        .into_iter()
        .find(|&a| alua_name(a) == s)
        .ok_or_else(|| {
            let names: Vec<&str> = AluaState::ALL.into_iter().map(alua_name).collect();
            unknown("ALUA state", s, &names)
        })
}

/// An ANA state as the NVMe base specification names it, dashed.
pub const fn ana_name(s: AnaState) -> &'static str {
    match s {
        AnaState::Optimized => "optimized",
        AnaState::NonOptimized => "non-optimized",
        AnaState::Inaccessible => "inaccessible",
        AnaState::PersistentLoss => "persistent-loss",
        AnaState::Change => "change",
    }
}

/// An ANA state by name.
pub fn parse_ana(s: &str) -> Result<AnaState, String> {
    AnaState::ALL
        .into_iter()
        .find(|&a| ana_name(a) == s)
        .ok_or_else(|| {
            let names: Vec<&str> = AnaState::ALL.into_iter().map(ana_name).collect();
            unknown("ANA state", s, &names)
        })
}

/// A selector by the name `Policy::name` gives it (NVMe's `numa` for
/// locality), or another name for the same thing (dm-multipath's
/// `queue-length`, `locality`).
pub fn parse_policy(s: &str) -> Result<Policy, String> {
    let alias = match s {
        "queue-length" => Some(Policy::QueueDepth),
        "locality" => Some(Policy::Locality),
        _ => None,
    };
    alias
        .or_else(|| Policy::ALL.into_iter().find(|p| p.name() == s))
        .ok_or_else(|| {
            let names: Vec<&str> = Policy::ALL.into_iter().map(Policy::name).collect();
            unknown("policy", s, &names)
        })
}

/// Every reservation type.
pub const PR_TYPES: [PrType; 6] = PrType::ALL;

/// A reservation type, dashed (SPC-4 table 200, NVMe's reservation types).
pub const fn pr_type_name(t: PrType) -> &'static str {
    match t {
        PrType::WriteExclusive => "write-exclusive",
        PrType::ExclusiveAccess => "exclusive-access",
        PrType::WriteExclusiveRegistrantsOnly => "write-exclusive-registrants-only",
        PrType::ExclusiveAccessRegistrantsOnly => "exclusive-access-registrants-only",
        PrType::WriteExclusiveAllRegistrants => "write-exclusive-all-registrants",
        PrType::ExclusiveAccessAllRegistrants => "exclusive-access-all-registrants",
    }
}

/// A reservation type by name.
pub fn parse_pr_type(s: &str) -> Result<PrType, String> {
    PR_TYPES
        .into_iter()
        .find(|&t| pr_type_name(t) == s)
        .ok_or_else(|| {
            let names: Vec<&str> = PR_TYPES.into_iter().map(pr_type_name).collect();
            unknown("reservation type", s, &names)
        })
}

/// `fail`, `queue` or `queue-for DURATION`, as multipath.conf's
/// `no_path_retry fail`, `queue` and a number of checker intervals.
pub fn no_path_name(p: NoPathPolicy) -> String {
    match p {
        NoPathPolicy::Fail => String::from("fail"),
        NoPathPolicy::Queue => String::from("queue"),
        NoPathPolicy::QueueFor(d) => format!("queue-for {}", format_duration(d)),
    }
}

/// A no-path policy by name.
pub fn parse_no_path(s: &str) -> Result<NoPathPolicy, String> {
    match s.trim() {
        "fail" => Ok(NoPathPolicy::Fail),
        "queue" => Ok(NoPathPolicy::Queue),
        other => match other.strip_prefix("queue-for") {
            Some(d) if d.starts_with(' ') => parse_duration(d)
                .map(NoPathPolicy::QueueFor)
                .map_err(|e| format!("queue-for: {e}")),
            _ => Err(unknown(
                "no-path policy",
                s,
                &[
                    "fail",
                    "queue",
                    "queue-for DURATION (e.g. \"queue-for 5s\")",
                ],
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpath_core::Duration;

    #[test]
    fn every_name_parses_back() {
        for a in AluaState::ALL {
            assert_eq!(parse_alua(alua_name(a)), Ok(a));
        }
        for a in AnaState::ALL {
            assert_eq!(parse_ana(ana_name(a)), Ok(a));
        }
        for p in Policy::ALL {
            assert_eq!(parse_policy(p.name()), Ok(p));
        }
        for t in PR_TYPES {
            assert_eq!(parse_pr_type(pr_type_name(t)), Ok(t));
        }
        for t in [Transport::Scsi, Transport::Nvme] {
            assert_eq!(parse_transport(transport_name(t)), Ok(t));
        }
        for p in [
            NoPathPolicy::Fail,
            NoPathPolicy::Queue,
            NoPathPolicy::QueueFor(Duration::from_secs(5)),
        ] {
            assert_eq!(parse_no_path(&no_path_name(p)), Ok(p));
        }
    }

    #[test]
    fn unknown_names_list_the_choices() {
        let e = parse_alua("optimised").unwrap_err();
        assert!(
            e.contains("\"optimised\"") && e.contains("active-optimized"),
            "{e}"
        );
        let e = parse_no_path("queue-for ever").unwrap_err();
        assert!(e.contains("ever"), "{e}");
        let e = parse_no_path("sometimes").unwrap_err();
        assert!(e.contains("queue-for DURATION"), "{e}");
        assert_eq!(parse_policy("queue-length"), Ok(Policy::QueueDepth));
    }
}
