//! A walk through selection and failover on a four-path ALUA device.
//!
//! `cargo run -p mpath-core --example failover`
//!
//! Two paths go to an active/optimized target port group, two to an
//! active/non-optimized one. The example sends I/O, fails a path under it,
//! moves the optimized group into transition and back, and prints what the
//! core decided at each step with a `multipath -ll`-style topology.

use mpath_core::*;

fn at(ms: u64) -> Instant {
    Instant::from_nanos(ms * 1_000_000)
}

fn show(mp: &Multipath<8>, title: &str) {
    println!("\n== {title}");
    print!("{}", mp.controller().topology("mpatha"));
}

fn send(mp: &mut Multipath<8>, tag: u64, now: Instant) -> Option<Ticket> {
    match mp.submit(Io::write(tag, 4096, 3), now) {
        Ok(Disposition::Dispatch(t)) => {
            println!("  io {tag:>2} -> path {}", t.path());
            Some(t)
        }
        Ok(other) => {
            println!("  io {tag:>2} -> {other:?}");
            None
        }
        Err(e) => {
            println!("  io {tag:>2} refused: {}", e.error);
            None
        }
    }
}

fn carry_out(mp: &mut Multipath<8>, now: Instant) {
    while let Some(action) = mp.controller_mut().poll_action() {
        match action {
            Action::Dispatch(t) => {
                println!("  held io {} -> path {}", t.io().tag.0, t.path());
                mp.complete_ok(t, now).unwrap();
            }
            Action::Probe(p) => {
                println!("  probe path {p}: up");
                mp.controller_mut()
                    .handle_probe(p, ProbeResult::Up, now)
                    .expect("probe");
            }
            Action::RefreshAccessState { via } => {
                println!("  re-read access states via path {via} (RTPG)");
                mp.controller_mut()
                    .handle_refresh_result(via, true, now)
                    .expect("refresh");
            }
            other => println!("  action: {other:?}"),
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut cfg = Config::DEFAULT;
    cfg.no_path = NoPathPolicy::Queue;
    cfg.quiesce_time = Duration::from_millis(20);
    let mut mp: Multipath<8> = Multipath::new(cfg)?;
    let ao = GroupAccess::new(AccessState::Optimized);
    let ano = GroupAccess::new(AccessState::NonOptimized);
    let ctl = mp.controller_mut();
    let a = ctl.add_path(PathSpec::new(GroupId(1), NexusId(1)).with_access(ao), at(0))?;
    let _b = ctl.add_path(PathSpec::new(GroupId(1), NexusId(2)).with_access(ao), at(0))?;
    ctl.add_path(
        PathSpec::new(GroupId(2), NexusId(3)).with_access(ano),
        at(0),
    )?;
    ctl.add_path(
        PathSpec::new(GroupId(2), NexusId(4)).with_access(ano),
        at(0),
    )?;
    carry_out(&mut mp, at(0));
    show(&mp, "four paths; round-robin over the optimized group");

    let mut tickets = Vec::new();
    for tag in 1..=4 {
        tickets.extend(send(&mut mp, tag, at(1)));
    }
    for t in tickets.drain(..) {
        mp.complete_ok(t, at(2)).unwrap();
    }

    println!("\n== path {a} drops a write: it fails over, after the quiesce time");
    let t = loop {
        let t = send(&mut mp, 5, at(3)).expect("a path");
        if t.path() == a {
            break t;
        }
        mp.complete_ok(t, at(3)).unwrap();
    };
    let d = mp.complete(t, Outcome::PathError(PathErrorKind::Timeout).into(), at(4))?;
    println!("  completion on {a}: {d:?}");
    let next = mp.controller().poll_timeout().expect("a timer");
    println!("  next timer at {} ms", next.as_nanos() / 1_000_000);
    mp.controller_mut().handle_timeout(next)?;
    carry_out(&mut mp, next);
    show(&mp, "after the failover and the probe that reinstated it");

    println!("\n== the optimized group goes into ALUA transition");
    let now = at(100);
    mp.controller_mut().handle_access_state(
        GroupId(1),
        GroupAccess::new(AccessState::Transitioning),
        now,
    )?;
    carry_out(&mut mp, now);
    for tag in 6..=8 {
        tickets.extend(send(&mut mp, tag, now));
    }
    show(&mp, "non-optimized group carries the I/O");
    for t in tickets.drain(..) {
        mp.complete_ok(t, at(101)).unwrap();
    }

    let now = at(2_000);
    mp.controller_mut()
        .handle_access_state(GroupId(1), ao, now)?;
    carry_out(&mut mp, now);
    for tag in 9..=10 {
        tickets.extend(send(&mut mp, tag, now));
    }
    for t in tickets.drain(..) {
        mp.complete_ok(t, at(2_001)).unwrap();
    }
    show(&mp, "transition over: back on the optimized group");
    let s = mp.controller().device_snapshot();
    println!(
        "\nsummary: {} failovers, {} held, {} access changes, queued now {}",
        s.counters.failovers, s.counters.requeued, s.counters.access_changes, s.queued
    );
    Ok(())
}
