//! A model of an SPC-4 device server's persistent-reservation state
//! (SPC-4 5.13), keyed by I_T nexus: what the coordinator and the device
//! are tested against.

use mpath_core::reservation::*;

/// A device server as SPC-4 5.13 describes it, keyed by I_T nexus.
#[derive(Default, Debug)]
pub struct Target {
    /// (nexus, key)
    pub regs: Vec<(u32, u64)>,
    /// (holder nexus, key, type)
    pub resv: Option<(u32, u64, PrType)>,
    /// Nexuses that are unreachable.
    pub down: Vec<u32>,
    /// ALL_TG_PT: nexus -> initiator port; registering one registers all.
    pub ports: Vec<(u32, u32)>,
    /// A path's nexus replaced by a new one (old, new): a new session.
    pub replaced: Vec<(u32, u32)>,
    pub log: Vec<(u32, PrCommand)>,
    /// Answer PREEMPT with ILLEGAL REQUEST (a target that does not
    /// support it).
    pub refuse_preempt: bool,
    /// Answer READ KEYS as READ FULL STATUS read by a host that knows its
    /// nexuses: say whether the asking nexus holds `ours`.
    pub full_status: bool,
    /// The I_T nexus a REGISTER AND MOVE's TransportID and relative target
    /// port name (the commands carry neither bytes nor nexus numbers: the
    /// test says which nexus the destination it gave is). `None`: the
    /// TransportID names no I_T nexus the target knows, and REGISTER AND
    /// MOVE is refused (INVALID FIELD IN PARAMETER LIST).
    pub move_dest: Option<u32>,
}

impl Target {
    /// The nexus a path's commands arrive on now.
    pub fn current(&self, mut nexus: u32) -> u32 {
        while let Some(&(_, new)) = self.replaced.iter().find(|r| r.0 == nexus) {
            nexus = new;
        }
        nexus
    }
    pub fn key_of(&self, nexus: u32) -> Option<u64> {
        self.regs.iter().find(|r| r.0 == nexus).map(|r| r.1)
    }
    pub fn peers(&self, nexus: u32) -> Vec<u32> {
        match self.ports.iter().find(|p| p.0 == nexus) {
            Some(&(_, port)) => self
                .ports
                .iter()
                .filter(|p| p.1 == port)
                .map(|p| p.0)
                .collect(),
            None => vec![nexus],
        }
    }
    pub fn set_reg(&mut self, nexus: u32, key: u64) {
        for n in self.peers(nexus) {
            self.regs.retain(|r| r.0 != n);
            if key != 0 {
                self.regs.push((n, key));
            }
        }
    }
    pub fn exec(&mut self, nexus: u32, cmd: PrCommand, ours: u64) -> PrReply {
        let nexus = self.current(nexus);
        if self.down.contains(&nexus) {
            return PrReply::PathFailed;
        }
        self.log.push((nexus, cmd));
        let registered = self.key_of(nexus);
        match cmd {
            PrCommand::Register { key } => {
                self.set_reg(nexus, key);
                PrReply::Done
            }
            PrCommand::Unregister => {
                if self
                    .resv
                    .is_some_and(|r| r.0 == nexus && !r.2.all_registrants())
                {
                    self.resv = None;
                }
                self.set_reg(nexus, 0);
                PrReply::Done
            }
            PrCommand::ReadKeys => PrReply::Keys {
                ours: self.regs.iter().filter(|r| r.1 == ours).count() as u32,
                total: self.regs.len() as u32,
                here: self.full_status.then_some(registered == Some(ours)),
            },
            // SPC-4 6.16.3: the all-registrants types have no one holder,
            // and READ RESERVATION reports key 0 for them.
            PrCommand::ReadReservation => PrReply::Reservation(
                self.resv
                    .map(|r| (if r.2.all_registrants() { 0 } else { r.1 }, r.2)),
            ),
            PrCommand::Reserve { key, rtype } => {
                if registered != Some(key) {
                    return PrReply::Conflict;
                }
                match self.resv {
                    None => {
                        self.resv = Some((nexus, key, rtype));
                        PrReply::Done
                    }
                    Some((h, _, t)) if h == nexus && t == rtype => PrReply::Done,
                    Some(_) => PrReply::Conflict,
                }
            }
            PrCommand::Release { key, rtype } => {
                if registered != Some(key) {
                    return PrReply::Conflict;
                }
                if let Some((h, _, t)) = self.resv {
                    if h == nexus || t.all_registrants() {
                        if t != rtype {
                            return PrReply::Refused;
                        }
                        self.resv = None;
                    }
                }
                PrReply::Done
            }
            PrCommand::Preempt { .. } if self.refuse_preempt => PrReply::Refused,
            PrCommand::Preempt {
                key, victim, rtype, ..
            } => {
                if registered != Some(key) {
                    return PrReply::Conflict;
                }
                // SPC-4 5.13.11.4: a PREEMPT takes the reservation only
                // from its holder (for the all-registrants types, with
                // key 0, which removes every other registration);
                // otherwise it only removes the victim's registrations
                // and the reservation, if any, stays.
                let takes = match self.resv {
                    Some((_, _, t)) if t.all_registrants() => victim == 0,
                    Some((_, k, _)) => k == victim,
                    None => false,
                };
                if victim == 0 && !takes {
                    return PrReply::Refused;
                }
                if takes && victim == 0 {
                    self.regs.retain(|r| r.0 == nexus);
                } else {
                    self.regs.retain(|r| r.1 != victim || r.0 == nexus);
                }
                if takes {
                    self.resv = Some((nexus, key, rtype));
                }
                PrReply::Done
            }
            PrCommand::Clear { key } => {
                if registered != Some(key) {
                    return PrReply::Conflict;
                }
                self.regs.clear();
                self.resv = None;
                PrReply::Done
            }
            // SPC-4 5.13.8, 6.17.4: only the holder of a single-holder
            // reservation moves it (anything else, all-registrants types
            // included, is a conflict); the destination must be another I_T
            // nexus and the key non-zero (else INVALID FIELD IN PARAMETER
            // LIST); an unregistered destination is registered with
            // `dest_key`, a registered one keeps its key; the reservation,
            // its type unchanged, is the destination's; UNREG 0 leaves the
            // sender registered.
            PrCommand::RegisterAndMove { key, dest_key, .. } => {
                if registered != Some(key) {
                    return PrReply::Conflict;
                }
                let t = match self.resv {
                    Some((h, _, t)) if h == nexus && !t.all_registrants() => t,
                    _ => return PrReply::Conflict,
                };
                let dest = match self.move_dest {
                    Some(d) if d != nexus && dest_key != 0 => d,
                    _ => return PrReply::Refused,
                };
                if self.key_of(dest).is_none() {
                    self.regs.push((dest, dest_key));
                }
                let k = self.key_of(dest).unwrap_or(dest_key);
                self.resv = Some((dest, k, t));
                PrReply::Done
            }
        }
    }
    /// Would a read from this nexus conflict? (SPC-4 table 217: Write
    /// Exclusive types let anyone read; Exclusive Access lets only the
    /// holder read, the registrants-only and all-registrants variants
    /// every registered nexus.)
    pub fn read_conflicts(&self, nexus: u32) -> bool {
        match self.resv {
            None => false,
            Some((h, _, PrType::ExclusiveAccess)) => h != nexus,
            Some((
                _,
                _,
                PrType::ExclusiveAccessRegistrantsOnly | PrType::ExclusiveAccessAllRegistrants,
            )) => self.key_of(nexus).is_none(),
            Some(_) => false,
        }
    }
    /// Would this I/O from this nexus conflict?
    pub fn io_conflicts(&self, nexus: u32, write: bool) -> bool {
        if write {
            self.write_conflicts(nexus)
        } else {
            self.read_conflicts(nexus)
        }
    }
    /// What `exec` leaves to the device server's other rules (SPC-4
    /// 5.13.11): a single-holder reservation whose holder is no longer
    /// registered is released, an all-registrants one goes with the last
    /// registration, and the reservation key follows a holder that
    /// registered again under another key (REGISTER AND IGNORE EXISTING
    /// KEY). Call after every `exec`.
    pub fn settle(&mut self) {
        let Some((h, key, t)) = self.resv else { return };
        if t.all_registrants() {
            match self.key_of(h) {
                _ if self.regs.is_empty() => self.resv = None,
                Some(k) if k != key => self.resv = Some((h, k, t)),
                _ => {}
            }
            return;
        }
        match self.key_of(h) {
            None => self.resv = None,
            Some(k) if k != key => self.resv = Some((h, k, t)),
            Some(_) => {}
        }
    }
    /// Would a write from this nexus conflict? (WE-RO / EA-RO semantics.)
    pub fn write_conflicts(&self, nexus: u32) -> bool {
        match self.resv {
            None => false,
            Some((h, _, PrType::WriteExclusive | PrType::ExclusiveAccess)) => h != nexus,
            Some(_) => self.key_of(nexus).is_none(),
        }
    }
}
