#[path = "scsi_common.rs"]
mod common;
use common::*;
use mpath_scsi::PrType;

#[test]
fn tmp() {
    let mut f = fx();
    let (a1, a2, b1) = (f.a1, f.a2, f.b1);
    assert_eq!(f.register(a1, 0xA).status.code(), 0);
    assert_eq!(f.register(a2, 0xA).status.code(), 0);
    assert_eq!(f.reserve(a2, 0xA, PrType::ExclusiveAccessRegistrantsOnly).status.code(), 0);
    assert_eq!(f.register(b1, 0xB).status.code(), 0);
    let r = f.preempt(b1, 0xB, 0xA, PrType::WriteExclusiveRegistrantsOnly, false);
    eprintln!("preempt {:?} regs {:?} resv {:?}", r.status, f.lu.registrations(), f.lu.reservation());
}
