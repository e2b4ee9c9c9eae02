//! `[[fault]]` tables and the engine's [`Fault`], both ways. A new
//! [`Fault`] variant needs one arm in [`fault_from_file`], one in
//! [`fault_to_file`] and its name in [`FAULT_KINDS`]; which keys a kind
//! takes follows from [`fault_to_file`].

use mpath_core::Duration;

use super::names::{alua_name, ana_name, parse_alua, parse_ana, parse_pr_type, pr_type_name};
use super::units::{format_duration, Dur};
use super::FileFault;
use crate::engine::{Fault, Scenario};

/// Fault kinds, as `kind` names them.
pub const FAULT_KINDS: [&str; 12] = [
    "link-down",
    "link-up",
    "link-down-late-writes",
    "zombie",
    "heal",
    "slow",
    "alua",
    "ana",
    "port-move",
    "reset",
    "target-restart",
    "preempt",
];

/// A `[[fault]]` as the engine's [`Fault`]. An error names the key (within
/// the fault) that is missing, wrong or not taken by the kind.
pub fn fault_from_file(f: &FileFault) -> Result<Fault, (&'static str, String)> {
    let kind = f.kind.as_str();
    let need = |what: &'static str| (what, format!("kind \"{kind}\" needs `{what}`"));
    let path = || f.path.ok_or_else(|| need("path"));
    let group = || f.group.ok_or_else(|| need("group"));
    let state = || f.state.as_deref().ok_or_else(|| need("state"));
    let fault = match kind {
        "link-down" => Fault::LinkDown { path: path()? },
        "link-up" => Fault::LinkUp { path: path()? },
        "link-down-late-writes" => Fault::LinkDownLateWrites {
            path: path()?,
            after: f.after.ok_or_else(|| need("after"))?.0,
        },
        "zombie" => Fault::Zombie {
            path: path()?,
            hang: f.hang.unwrap_or(false),
        },
        "heal" => Fault::Heal { path: path()? },
        "slow" => Fault::Slow {
            path: path()?,
            extra: f.extra.ok_or_else(|| need("extra"))?.0,
        },
        "alua" => Fault::Alua {
            group: group()?,
            state: parse_alua(state()?).map_err(|e| ("state", e))?,
        },
        "ana" => Fault::Ana {
            group: group()?,
            state: parse_ana(state()?).map_err(|e| ("state", e))?,
        },
        "port-move" => Fault::PortMove {
            path: path()?,
            group: group()?,
        },
        "reset" => Fault::Reset { path: path()? },
        "target-restart" => Fault::TargetRestart {
            down: f.down.ok_or_else(|| need("down"))?.0,
        },
        "preempt" => Fault::Preempt {
            rtype: parse_pr_type(f.rtype.as_deref().ok_or_else(|| need("type"))?)
                .map_err(|e| ("type", e))?,
        },
        other => {
            return Err((
                "kind",
                format!(
                    "unknown fault kind \"{other}\": expected one of {}",
                    FAULT_KINDS.join(", ")
                ),
            ))
        }
    };
    // A key the kind does not take is a mistake (a `state` on a
    // link-down): the canonical form of the fault shows which it takes.
    let canon = fault_to_file(f.at.0, fault);
    for (name, given, taken) in [
        ("path", f.path.is_some(), canon.path.is_some()),
        ("group", f.group.is_some(), canon.group.is_some()),
        ("state", f.state.is_some(), canon.state.is_some()),
        ("after", f.after.is_some(), canon.after.is_some()),
        ("hang", f.hang.is_some(), canon.hang.is_some()),
        ("extra", f.extra.is_some(), canon.extra.is_some()),
        ("down", f.down.is_some(), canon.down.is_some()),
        ("type", f.rtype.is_some(), canon.rtype.is_some()),
    ] {
        if given && !taken {
            return Err((name, format!("kind \"{kind}\" takes no `{name}`")));
        }
    }
    Ok(fault)
}

/// The engine's [`Fault`] at `at` as a `[[fault]]`.
pub fn fault_to_file(at: Duration, f: Fault) -> FileFault {
    let mut out = FileFault {
        at: Dur(at),
        ..FileFault::default()
    };
    let kind = match f {
        Fault::LinkDown { path } => {
            out.path = Some(path);
            "link-down"
        }
        Fault::LinkUp { path } => {
            out.path = Some(path);
            "link-up"
        }
        Fault::LinkDownLateWrites { path, after } => {
            out.path = Some(path);
            out.after = Some(Dur(after));
            "link-down-late-writes"
        }
        Fault::Zombie { path, hang } => {
            out.path = Some(path);
            out.hang = Some(hang);
            "zombie"
        }
        Fault::Heal { path } => {
            out.path = Some(path);
            "heal"
        }
        Fault::Slow { path, extra } => {
            out.path = Some(path);
            out.extra = Some(Dur(extra));
            "slow"
        }
        Fault::Alua { group, state } => {
            out.group = Some(group);
            out.state = Some(alua_name(state).to_owned());
            "alua"
        }
        Fault::Ana { group, state } => {
            out.group = Some(group);
            out.state = Some(ana_name(state).to_owned());
            "ana"
        }
        Fault::Reset { path } => {
            out.path = Some(path);
            "reset"
        }
        Fault::PortMove { path, group } => {
            out.path = Some(path);
            out.group = Some(group);
            "port-move"
        }
        Fault::TargetRestart { down } => {
            out.down = Some(Dur(down));
            "target-restart"
        }
        Fault::Preempt { rtype } => {
            out.rtype = Some(pr_type_name(rtype).to_owned());
            "preempt"
        }
    };
    out.kind = kind.to_owned();
    out
}

/// A fault names a path and a group the scenario has.
pub(super) fn check_fault_refs(s: &Scenario, f: &Fault) -> Result<(), (&'static str, String)> {
    let canon = fault_to_file(Duration::ZERO, *f);
    if let Some(p) = canon.path {
        if p >= s.paths.len() {
            return Err((
                "path",
                format!(
                    "no path {p}: paths are numbered from 0, this scenario has {}",
                    s.paths.len()
                ),
            ));
        }
    }
    if let Some(g) = canon.group {
        if !s.groups.iter().any(|x| x.id == g) {
            return Err(("group", format!("no [[group]] with id {g}")));
        }
    }
    Ok(())
}

/// A short description of a fault for reports: `link-down path 0`.
pub fn describe_fault(f: Fault) -> String {
    let ff = fault_to_file(Duration::ZERO, f);
    let mut s = ff.kind;
    if let Some(p) = ff.path {
        s.push_str(&format!(" path {p}"));
    }
    if let Some(g) = ff.group {
        s.push_str(&format!(" group {g}"));
    }
    if let Some(st) = ff.state {
        s.push_str(&format!(" -> {st}"));
    }
    if let Some(a) = ff.after {
        s.push_str(&format!(" (writes land after {})", format_duration(a.0)));
    }
    if ff.hang == Some(true) {
        s.push_str(" (hanging)");
    }
    if let Some(e) = ff.extra {
        s.push_str(&format!(" +{}", format_duration(e.0)));
    }
    if let Some(d) = ff.down {
        s.push_str(&format!(" (down {})", format_duration(d.0)));
    }
    if let Some(t) = ff.rtype {
        s.push_str(&format!(" ({t})"));
    }
    s
}
