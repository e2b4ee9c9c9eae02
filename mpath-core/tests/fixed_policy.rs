//! `DataPlane::submit_as::<P>` (a policy fixed at build time) places every
//! I/O exactly where `submit` does under `P`, and follows the control
//! plane's policy once it is switched away from `P`.

use mpath_core::selector::fixed;
use mpath_core::*;

const PATHS: usize = 4;

type Ctl<'a> = Controller<&'a DataPlane<PATHS>, PATHS, 256, 4>;

fn device(dp: &DataPlane<PATHS>, policy: Policy) -> Ctl<'_> {
    let mut cfg = Config::DEFAULT;
    cfg.policy = policy;
    let mut ctl = Controller::new(dp, cfg).unwrap();
    let t0 = Instant::from_nanos(1);
    for n in 0..PATHS as u32 {
        let spec = PathSpec::new(GroupId(1), NexusId(n))
            .with_locality(Locality(n % 2))
            .with_relative_throughput(1 + (n % 3) as u8);
        ctl.add_path(spec, t0).unwrap();
    }
    ctl
}

/// A fixed workload: I/O sizes and which outstanding I/O ends next vary,
/// so the counting selectors see uneven loads.
fn drive(
    dp: &DataPlane<PATHS>,
    mut submit: impl FnMut(&mut Cursor<PATHS>, Io, Instant) -> Result<Ticket, Io>,
) -> Vec<(u64, usize)> {
    let mut cursor = Cursor::new(Locality(1));
    let mut live: Vec<Ticket> = Vec::new();
    let mut placed = Vec::new();
    for k in 0..400u64 {
        let now = Instant::from_nanos(1_000 + k * 700);
        let bytes = [512, 4096, 65536, 8192][(k % 4) as usize] * (1 + (k % 7) as u32);
        let io = if k % 3 == 0 {
            Io::write(k, bytes, 0)
        } else {
            Io::read(k, bytes, 0)
        };
        let t = submit(&mut cursor, io, now).unwrap();
        placed.push((k, t.path().slot()));
        live.push(t);
        // Keep 0..6 outstanding, ending them out of order.
        while live.len() > (k % 7) as usize {
            let t = live.remove(((k * 5) % live.len() as u64) as usize);
            dp.complete(
                &mut cursor,
                t,
                now + Duration::from_nanos(300 + k % 5 * 1000),
            )
            .unwrap();
        }
    }
    placed
}

fn same_as_submit<P: FixedPolicy>() {
    let (a, b) = (DataPlane::new(), DataPlane::new());
    let (_ca, _cb) = (device(&a, P::POLICY), device(&b, P::POLICY));
    let general = drive(&a, |c, io, now| a.submit(c, io, now));
    let fixed = drive(&b, |c, io, now| b.submit_as::<P>(c, io, now));
    assert_eq!(general, fixed, "{}", P::POLICY);
    let used = general
        .iter()
        .map(|&(_, s)| 1u64 << s)
        .fold(0, |m, b| m | b);
    // Locality keeps to one local path (the cursor is on node 1: slot 1
    // or 3); the others spread.
    if P::POLICY == Policy::Locality {
        assert!(used == 0b0010 || used == 0b1000, "{used:#b}");
    } else {
        assert!(
            used.count_ones() >= 2,
            "{}: the workload spreads",
            P::POLICY
        );
    }
}

#[test]
fn every_fixed_policy_places_io_as_submit_does() {
    same_as_submit::<fixed::Locality>();
    same_as_submit::<fixed::RoundRobin>();
    same_as_submit::<fixed::QueueDepth>();
    same_as_submit::<fixed::QueueBytes>();
    same_as_submit::<fixed::ServiceTime>();
    same_as_submit::<fixed::Adaptive>();
}

/// Built for queue-depth, running a device the control plane switched to
/// service-time: it places I/O as service-time does, and counts bytes, not
/// I/Os.
#[test]
fn a_switched_policy_is_honoured() {
    let (a, b) = (DataPlane::new(), DataPlane::new());
    let _ca = device(&a, Policy::ServiceTime);
    let mut cb = device(&b, Policy::QueueDepth);
    cb.set_policy(
        Policy::ServiceTime,
        SelectorParams::DEFAULT,
        Instant::from_nanos(2),
    )
    .unwrap();
    let general = drive(&a, |c, io, now| a.submit(c, io, now));
    let fixed = drive(&b, |c, io, now| {
        b.submit_as::<fixed::QueueDepth>(c, io, now)
    });
    assert_eq!(general, fixed);
    let mut c = Cursor::new(Locality(0));
    let t = b
        .submit_as::<fixed::QueueDepth>(&mut c, Io::read(9, 4096, 0), Instant::from_nanos(1 << 40))
        .unwrap();
    assert_eq!(b.load_seen_by(&c, t.path().slot()).0, 0, "no I/O count");
    assert!(
        b.load_seen_by(&c, t.path().slot()).1 >= 4096,
        "bytes counted"
    );
    // And back: queue-depth counts the I/O.
    cb.set_policy(
        Policy::QueueDepth,
        SelectorParams::DEFAULT,
        Instant::from_nanos(3),
    )
    .unwrap();
    let t2 = b
        .submit_as::<fixed::QueueDepth>(&mut c, Io::read(10, 4096, 0), Instant::from_nanos(1 << 40))
        .unwrap();
    assert_eq!(b.load_seen_by(&c, t2.path().slot()).0, 1);
    b.complete(&mut c, t, Instant::from_nanos(1 << 41)).unwrap();
    b.complete(&mut c, t2, Instant::from_nanos(1 << 41))
        .unwrap();
}
