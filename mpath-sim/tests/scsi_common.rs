//! Shared fixture for the SCSI target tests: one logical unit with two
//! target port groups (1: active/optimized, ports 1 and 2; 2: standby,
//! ports 3 and 4) and three hosts A, B, C, each an iSCSI initiator port.
//! Responses are decoded with mpath-scsi's parsers, the host side's own.
#![allow(dead_code)]

use mpath_scsi::cdb::{self, opcode};
use mpath_scsi::pr_in::FullStatus;
use mpath_scsi::{
    AluaState, PrInAction, PrInRepr, PrOutAction, PrOutParams, PrType, RwParams, SenseKey,
    SenseKeySpecific, SenseRepr, TransportId,
};
use mpath_sim::block_store::BlockStamp;
use mpath_sim::scsi_target::{LogicalUnit, LuConfig, Nexus, Residual, Response, Status};

pub const BS: usize = 512;
pub const BLOCKS: u64 = 64;

pub const NAME_A: &[u8] = b"iqn.2024-01.sim:host-a";
pub const NAME_B: &[u8] = b"iqn.2024-01.sim:host-b";
pub const NAME_C: &[u8] = b"iqn.2024-01.sim:host-c";

pub fn tid(name: &'static [u8]) -> TransportId<'static> {
    TransportId::Iscsi {
        name,
        isid: Some(b"400001370000"),
    }
}

#[derive(Debug)]
pub struct Fx {
    pub lu: LogicalUnit,
    /// Host A through ports 1 (active/optimized) and 3 (standby).
    pub a1: Nexus,
    pub a2: Nexus,
    pub a3: Nexus,
    pub b1: Nexus,
    pub b2: Nexus,
    pub c1: Nexus,
}

pub fn config() -> LuConfig {
    LuConfig {
        block_size: BS,
        blocks: BLOCKS,
        ..LuConfig::default()
    }
}

/// The fixture, every nexus logged in and its POWER ON unit attention
/// already seen.
pub fn fx() -> Fx {
    fx_with(config())
}

pub fn fx_with(config: LuConfig) -> Fx {
    let mut lu = LogicalUnit::new(config);
    lu.add_target_port_group(1, AluaState::ActiveOptimized)
        .unwrap();
    lu.add_target_port_group(2, AluaState::Standby).unwrap();
    for (port, group) in [(1, 1), (2, 1), (3, 2), (4, 2)] {
        lu.add_target_port(port, group).unwrap();
    }
    let a = lu.add_initiator(&tid(NAME_A)).unwrap();
    let b = lu.add_initiator(&tid(NAME_B)).unwrap();
    let c = lu.add_initiator(&tid(NAME_C)).unwrap();
    let mut f = Fx {
        lu,
        a1: Nexus::new(a, 1),
        a2: Nexus::new(a, 2),
        a3: Nexus::new(a, 3),
        b1: Nexus::new(b, 1),
        b2: Nexus::new(b, 2),
        c1: Nexus::new(c, 1),
    };
    for n in f.all() {
        f.lu.login(n).unwrap();
        f.clear_ua(n);
    }
    f
}

impl Fx {
    pub fn all(&self) -> [Nexus; 6] {
        [self.a1, self.a2, self.a3, self.b1, self.b2, self.c1]
    }

    /// Run `cdb`; the response and the data-in bytes transferred.
    pub fn run(&mut self, n: Nexus, cdb: &[u8], out: &[u8], room: usize) -> (Response, Vec<u8>) {
        let mut buf = vec![0u8; room];
        let r = self.lu.command(n, cdb, out, &mut buf).expect("delivered");
        buf.truncate(r.data_in_len);
        (r, buf)
    }

    /// Drain pending unit attentions through REQUEST SENSE.
    pub fn clear_ua(&mut self, n: Nexus) {
        for _ in 0..16 {
            if self.lu.pending_unit_attentions(n).is_empty() {
                return;
            }
            self.run(n, &[0x03, 0, 0, 0, 252, 0], &[], 252);
        }
    }

    pub fn tur(&mut self, n: Nexus) -> Response {
        self.run(n, &cdb::test_unit_ready(), &[], 0).0
    }

    pub fn write(&mut self, n: Nexus, lba: u64, host: u32, generation: u64) -> Response {
        let mut block = vec![0u8; BS];
        block[..24].copy_from_slice(
            &BlockStamp {
                generation,
                host,
                lba,
            }
            .to_bytes(),
        );
        let c = cdb::write10(&RwParams::new(lba, 1)).unwrap();
        self.run(n, &c, &block, 0).0
    }

    pub fn read(&mut self, n: Nexus, lba: u64) -> (Response, Option<BlockStamp>) {
        let c = cdb::read16(&RwParams::new(lba, 1)).unwrap();
        let (r, data) = self.run(n, &c, &[], BS);
        (r, BlockStamp::from_bytes(&data))
    }

    pub fn pr_out(
        &mut self,
        n: Nexus,
        action: PrOutAction,
        t: Option<PrType>,
        p: &PrOutParams<'_>,
    ) -> Response {
        let mut list = vec![0u8; p.buffer_len()];
        p.emit(&mut list).unwrap();
        let c = cdb::persistent_reserve_out(action, t, list.len() as u32);
        self.run(n, &c, &list, 0).0
    }

    pub fn register(&mut self, n: Nexus, key: u64) -> Response {
        self.pr_out(
            n,
            PrOutAction::RegisterAndIgnoreExistingKey,
            None,
            &PrOutParams::new(0, key),
        )
    }

    pub fn reserve(&mut self, n: Nexus, key: u64, t: PrType) -> Response {
        self.pr_out(n, PrOutAction::Reserve, Some(t), &PrOutParams::new(key, 0))
    }

    pub fn release(&mut self, n: Nexus, key: u64, t: PrType) -> Response {
        self.pr_out(n, PrOutAction::Release, Some(t), &PrOutParams::new(key, 0))
    }

    pub fn preempt(&mut self, n: Nexus, key: u64, victim: u64, t: PrType, abort: bool) -> Response {
        let a = if abort {
            PrOutAction::PreemptAndAbort
        } else {
            PrOutAction::Preempt
        };
        self.pr_out(n, a, Some(t), &PrOutParams::new(key, victim))
    }

    /// PR IN `action` with `alloc` bytes of room; the raw data.
    pub fn pr_in(&mut self, n: Nexus, action: PrInAction, alloc: u16) -> Vec<u8> {
        let c = cdb::persistent_reserve_in(action, alloc);
        let (r, data) = self.run(n, &c, &[], usize::from(alloc));
        assert_good(&r);
        data
    }

    /// READ KEYS: PRgeneration and the keys.
    pub fn keys(&mut self, n: Nexus) -> (u32, Vec<u64>) {
        let data = self.pr_in(n, PrInAction::ReadKeys, 1024);
        match PrInRepr::parse_bytes(PrInAction::ReadKeys, &data).unwrap() {
            PrInRepr::ReadKeys { generation, keys } => (generation, keys.iter().collect()),
            other => panic!("{other:?}"),
        }
    }

    /// READ RESERVATION: the holder's key and type.
    pub fn read_reservation(&mut self, n: Nexus) -> Option<(u64, PrType)> {
        let data = self.pr_in(n, PrInAction::ReadReservation, 64);
        match PrInRepr::parse_bytes(PrInAction::ReadReservation, &data).unwrap() {
            PrInRepr::ReadReservation { reservation, .. } => {
                reservation.map(|r| (r.key, r.pr_type))
            }
            other => panic!("{other:?}"),
        }
    }

    /// READ FULL STATUS, decoded into owned rows: (key, all_tg_pt,
    /// r_holder, type, rtpi, iSCSI name).
    pub fn full_status(&mut self, n: Nexus) -> (u32, Vec<StatusRow>) {
        let data = self.pr_in(n, PrInAction::ReadFullStatus, 4096);
        match PrInRepr::parse_bytes(PrInAction::ReadFullStatus, &data).unwrap() {
            PrInRepr::ReadFullStatus {
                generation,
                registrations,
            } => (
                generation,
                registrations
                    .iter()
                    .map(|d: FullStatus<'_>| row(&d))
                    .collect(),
            ),
            other => panic!("{other:?}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRow {
    pub key: u64,
    pub all_tg_pt: bool,
    pub r_holder: bool,
    pub pr_type: Option<PrType>,
    pub rtpi: u16,
    pub name: Vec<u8>,
}

fn row(d: &FullStatus<'_>) -> StatusRow {
    let name = match d.transport_id {
        TransportId::Iscsi { name, .. } => name.to_vec(),
        _ => Vec::new(),
    };
    StatusRow {
        key: d.key,
        all_tg_pt: d.all_tg_pt,
        r_holder: d.r_holder,
        pr_type: d.pr_type,
        rtpi: d.relative_target_port,
        name,
    }
}

pub fn assert_good(r: &Response) {
    assert_eq!(r.status, Status::Good, "{:?}", r.sense().map(sense_of));
}

pub fn assert_conflict(r: &Response) {
    assert_eq!(r.status, Status::ReservationConflict, "{r:?}");
    assert_eq!(r.sense(), None);
}

/// The sense data, parsed strictly with mpath-scsi's parser.
pub fn sense_of(b: &[u8]) -> SenseRepr {
    SenseRepr::parse_bytes(b).expect("sense parses")
}

pub fn sense(r: &Response) -> SenseRepr {
    assert_eq!(r.status, Status::CheckCondition, "{r:?}");
    sense_of(r.sense().expect("sense data"))
}

pub fn assert_check(r: &Response, key: SenseKey, asc: u8, ascq: u8) -> SenseRepr {
    let s = sense(r);
    assert_eq!((s.key, s.asc, s.ascq), (key, asc, ascq), "{s}");
    s
}

/// ILLEGAL REQUEST with a field pointer.
pub fn assert_pointer(r: &Response, asc: u8, command: bool, field: u16, bit: Option<u8>) {
    let s = assert_check(r, SenseKey::IllegalRequest, asc, 0);
    assert_eq!(
        s.sks,
        Some(SenseKeySpecific::FieldPointer {
            command,
            bit,
            field
        }),
        "{s}"
    );
}

pub fn assert_ua(r: &Response, asc: u8, ascq: u8) {
    assert_check(r, SenseKey::UnitAttention, asc, ascq);
}

pub fn no_residual(r: &Response) {
    assert_eq!(r.residual, Residual::Exact);
}

pub const READ10: u8 = opcode::READ_10;
