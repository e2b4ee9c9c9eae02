//! Shared fixture for the NVMe target tests: one subsystem with two ANA
//! groups, two namespaces and three hosts, host A on two controllers.
#![allow(dead_code)]

use mpath_nvme::identify::Nqn;
use mpath_nvme::reservation::{
    AcquireAction, Cptpl, RegisterAction, ReleaseAction, ReservationAcquire, ReservationRegister,
    ReservationRelease, ReservationReport, ReservationType,
};
use mpath_nvme::resv_report::{Format, ResvReport};
use mpath_nvme::status::{Status, StatusCode};
use mpath_sim::nvme_target::sqe::io_opcode;
use mpath_sim::nvme_target::{
    Completion, HostConfig, HostIdentifier, NamespaceConfig, Queue, SubmissionEntry, Submitted,
    Subsystem, SubsystemConfig, TargetEvent,
};

pub const A: HostIdentifier = HostIdentifier::Short([0xA1; 8]);
pub const B: HostIdentifier = HostIdentifier::Short([0xB2; 8]);
pub const C: HostIdentifier = HostIdentifier::Short([0xC3; 8]);
/// Host A's two controllers, B's and C's.
pub const A1: u16 = 1;
pub const A2: u16 = 2;
pub const B1: u16 = 3;
pub const C1: u16 = 4;
pub const NS1: u32 = 1;
pub const NS2: u32 = 2;
pub const BLOCKS: u64 = 64;
pub const BS: usize = 512;

pub fn nqn(s: &str) -> Nqn {
    Nqn::new(s.as_bytes()).unwrap()
}

pub fn subsystem() -> Subsystem {
    let mut s = Subsystem::new(SubsystemConfig::new(nqn("nqn.2014-08.org.example:sim")));
    s.add_ana_group(1).unwrap();
    s.add_ana_group(2).unwrap();
    for (nsid, grp) in [(NS1, 1), (NS2, 2)] {
        s.add_namespace(NamespaceConfig {
            nsid,
            blocks: BLOCKS,
            block_size: 512,
            anagrpid: grp,
        })
        .unwrap();
    }
    for (i, h) in [A, B, C].into_iter().enumerate() {
        s.add_host(HostConfig {
            nqn: nqn(&format!("nqn.2014-08.org.example:host{i}")),
            hostid: h,
        })
        .unwrap();
    }
    for (c, h) in [(A1, A), (A2, A), (B1, B), (C1, C)] {
        s.add_controller(c, h).unwrap();
    }
    s
}

/// Submits through the 64-byte path and returns the completion.
pub fn run(
    s: &mut Subsystem,
    cntlid: u16,
    q: Queue,
    e: &SubmissionEntry,
    out: &[u8],
    inp: &mut [u8],
) -> Completion {
    match s.submit(cntlid, q, &e.to_bytes(), out, inp).unwrap() {
        Submitted::Completed(c) => {
            assert_eq!(c.cid, e.cid, "completion echoes the CID");
            c
        }
        Submitted::Deferred { cid } => panic!("command {cid} deferred"),
    }
}

pub fn code(c: &Completion) -> StatusCode {
    c.status.code()
}

pub fn ok(c: &Completion) {
    assert_eq!(c.status, Status::SUCCESS, "{:?}", c.status.code().name());
}

fn keyed(
    s: &mut Subsystem,
    cntlid: u16,
    nsid: u32,
    opcode: u8,
    cdw10: u32,
    data: &[u8],
) -> Completion {
    let e = SubmissionEntry {
        opcode,
        fuse: 0,
        cid: 0x40,
        nsid,
        cdw: [cdw10, 0, 0, 0, 0, 0],
    };
    run(s, cntlid, Queue::Io, &e, data, &mut [])
}

pub fn register_cmd(
    s: &mut Subsystem,
    cntlid: u16,
    nsid: u32,
    cmd: ReservationRegister,
) -> Completion {
    let mut d = [0u8; 16];
    cmd.emit_data(&mut d).unwrap();
    keyed(
        s,
        cntlid,
        nsid,
        io_opcode::RESERVATION_REGISTER,
        cmd.cdw10(),
        &d,
    )
}

pub fn register(s: &mut Subsystem, cntlid: u16, nsid: u32, key: u64) -> Completion {
    register_cmd(
        s,
        cntlid,
        nsid,
        ReservationRegister {
            action: RegisterAction::Register,
            iekey: false,
            cptpl: Cptpl::NoChange,
            crkey: 0,
            nrkey: key,
        },
    )
}

pub fn acquire_cmd(
    s: &mut Subsystem,
    cntlid: u16,
    nsid: u32,
    cmd: ReservationAcquire,
) -> Completion {
    let mut d = [0u8; 16];
    cmd.emit_data(&mut d).unwrap();
    keyed(
        s,
        cntlid,
        nsid,
        io_opcode::RESERVATION_ACQUIRE,
        cmd.cdw10(),
        &d,
    )
}

pub fn acquire(
    s: &mut Subsystem,
    cntlid: u16,
    nsid: u32,
    action: AcquireAction,
    rtype: ReservationType,
    crkey: u64,
    prkey: u64,
) -> Completion {
    acquire_cmd(
        s,
        cntlid,
        nsid,
        ReservationAcquire {
            action,
            iekey: false,
            rtype,
            crkey,
            prkey,
        },
    )
}

pub fn release(
    s: &mut Subsystem,
    cntlid: u16,
    nsid: u32,
    action: ReleaseAction,
    rtype: Option<ReservationType>,
    crkey: u64,
) -> Completion {
    let cmd = ReservationRelease {
        action,
        iekey: false,
        rtype,
        crkey,
    };
    let mut d = [0u8; 8];
    cmd.emit_data(&mut d).unwrap();
    keyed(
        s,
        cntlid,
        nsid,
        io_opcode::RESERVATION_RELEASE,
        cmd.cdw10(),
        &d,
    )
}

/// A Reservation Report of `len` bytes, its completion and data.
pub fn report(
    s: &mut Subsystem,
    cntlid: u16,
    nsid: u32,
    len: u32,
    eds: bool,
) -> (Completion, Vec<u8>) {
    let cmd = ReservationReport::new(len, eds).unwrap();
    let e = SubmissionEntry {
        opcode: io_opcode::RESERVATION_REPORT,
        fuse: 0,
        cid: 0x41,
        nsid,
        cdw: [cmd.cdw10(), cmd.cdw11(), 0, 0, 0, 0],
    };
    let mut buf = vec![0xEEu8; len as usize];
    let c = run(s, cntlid, Queue::Io, &e, &[], &mut buf);
    (c, buf)
}

/// The report parsed as the host adapter parses it.
pub fn parsed_report(s: &mut Subsystem, cntlid: u16, nsid: u32, eds: bool) -> ResvReport<Vec<u8>> {
    let (c, buf) = report(s, cntlid, nsid, 4096, eds);
    ok(&c);
    let format = if eds {
        Format::Extended
    } else {
        Format::Regular
    };
    ResvReport::new_checked(buf, format).unwrap()
}

/// Every event the subsystem has for the engine.
pub fn drain(s: &mut Subsystem) -> Vec<TargetEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// A block stamped by `host` with `generation` for `lba`.
pub fn stamped(host: u32, generation: u64, lba: u64) -> Vec<u8> {
    let mut b = vec![0x5Au8; BS];
    b[..mpath_sim::block_store::STAMP_LEN].copy_from_slice(
        &mpath_sim::block_store::BlockStamp {
            generation,
            host,
            lba,
        }
        .to_bytes(),
    );
    b
}
