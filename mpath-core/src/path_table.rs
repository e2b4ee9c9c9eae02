//! A fixed table of per-path records kept beside the controller.
//!
//! Transport adapters and embedders remember things about each path that
//! the core does not: the SCSI target port and port group, the NVMe
//! controller's CNTLID and ANA group, an allocation length learned from the
//! target. [`PathTable`] holds one record per path, found by the path's
//! [`PathId`], in a fixed array: no allocation, like the rest of the core.
//! A full table hands the record back.

use crate::error::Error;
use crate::inputs::DeviceInputs;
use crate::path::PathId;
use crate::time::Instant;

/// A record that belongs to one path.
pub trait PathRecord {
    /// The path the record describes.
    fn path_id(&self) -> PathId;
}

/// Up to `P` records, one per path. Positions are stable: a record stays
/// in its slot until removed, so per-slot side arrays (see
/// [`slots`](Self::slots)) line up with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathTable<T, const P: usize> {
    slots: [Option<T>; P],
}

impl<T, const P: usize> Default for PathTable<T, P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const P: usize> PathTable<T, P> {
    /// An empty table.
    pub const fn new() -> Self {
        PathTable {
            slots: [const { None }; P],
        }
    }

    /// Whether every slot holds a record.
    pub fn is_full(&self) -> bool {
        self.slots.iter().all(Option::is_some)
    }

    /// How many records the table holds.
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Whether the table holds no record.
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    /// Every record, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.slots.iter().flatten()
    }

    /// Every record, mutable, in slot order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        self.slots.iter_mut().flatten()
    }

    /// The slots themselves, empty ones included, for work that pairs each
    /// record with a per-slot value computed beforehand.
    pub fn slots(&self) -> &[Option<T>; P] {
        &self.slots
    }

    /// The slots, mutable; see [`slots`](Self::slots).
    pub fn slots_mut(&mut self) -> &mut [Option<T>; P] {
        &mut self.slots
    }
}

impl<T: PathRecord, const P: usize> PathTable<T, P> {
    /// The record of `path`.
    pub fn get(&self, path: PathId) -> Option<&T> {
        self.iter().find(|r| r.path_id() == path)
    }

    /// The record of `path`, mutable.
    pub fn get_mut(&mut self, path: PathId) -> Option<&mut T> {
        self.iter_mut().find(|r| r.path_id() == path)
    }

    /// Store a record in the first free slot. It is handed back when the
    /// table is full or already holds a record for the same path.
    pub fn insert(&mut self, record: T) -> Result<(), T> {
        if self.get(record.path_id()).is_some() {
            return Err(record);
        }
        match self.slots.iter_mut().find(|s| s.is_none()) {
            Some(slot) => {
                *slot = Some(record);
                Ok(())
            }
            None => Err(record),
        }
    }

    /// Remove and return the record of `path`.
    pub fn remove(&mut self, path: PathId) -> Option<T> {
        self.slots
            .iter_mut()
            .find(|s| s.as_ref().is_some_and(|r| r.path_id() == path))
            .and_then(Option::take)
    }
}

impl<T: PathRecord, const P: usize> PathTable<T, P> {
    /// Remove `path` from the device and its record from the table,
    /// keeping the two in step: the record goes even when the device
    /// refuses the id as unknown or stale (nothing is left to describe),
    /// and stays when it refuses the time (the path is still there).
    pub fn remove_from(
        &mut self,
        dev: &mut dyn DeviceInputs,
        path: PathId,
        now: Instant,
    ) -> Result<(), Error> {
        let result = dev.remove_path(path, now);
        if !matches!(result, Err(Error::Time(_))) {
            // Whether the table had it or not, it has it no longer.
            self.remove(path);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Controller, DataPlane};

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Rec(PathId, u32);

    impl PathRecord for Rec {
        fn path_id(&self) -> PathId {
            self.0
        }
    }

    fn id(slot: u16, generation: u16) -> PathId {
        PathId::new(slot, generation)
    }

    #[test]
    fn insert_find_remove_and_hand_back() {
        let mut t: PathTable<Rec, 2> = PathTable::new();
        assert!(t.is_empty());
        assert_eq!(t.insert(Rec(id(0, 1), 10)), Ok(()));
        assert_eq!(
            t.insert(Rec(id(0, 1), 11)),
            Err(Rec(id(0, 1), 11)),
            "one record per path"
        );
        assert_eq!(t.insert(Rec(id(1, 1), 20)), Ok(()));
        assert!(t.is_full());
        assert_eq!(t.insert(Rec(id(2, 1), 30)), Err(Rec(id(2, 1), 30)), "full");
        assert_eq!(t.get(id(1, 1)).map(|r| r.1), Some(20));
        assert_eq!(t.get(id(1, 2)), None, "another generation is another path");
        if let Some(r) = t.get_mut(id(0, 1)) {
            r.1 = 12;
        }
        assert_eq!(t.remove(id(0, 1)), Some(Rec(id(0, 1), 12)));
        assert_eq!(t.remove(id(0, 1)), None);
        assert_eq!(t.len(), 1);
        // The freed slot is reused; the other record keeps its position.
        assert_eq!(t.insert(Rec(id(2, 1), 30)), Ok(()));
        assert_eq!(t.slots()[0], Some(Rec(id(2, 1), 30)));
        assert_eq!(t.slots()[1], Some(Rec(id(1, 1), 20)));
        assert_eq!(
            t.iter().map(|r| r.1).collect::<heapless::Vec<u32, 2>>(),
            [30, 20]
        );
    }

    #[test]
    fn remove_from_keeps_table_and_controller_in_step() {
        use crate::{Config, GroupId, NexusId, PathSpec};
        let dp: DataPlane<4> = DataPlane::new();
        let mut ctl: Controller<&DataPlane<4>, 4> = Controller::new(&dp, Config::DEFAULT).unwrap();
        let t = Instant::from_nanos;
        let p = ctl
            .add_path(PathSpec::new(GroupId(1), NexusId(1)), t(10))
            .unwrap();
        let mut table: PathTable<Rec, 4> = PathTable::new();
        table.insert(Rec(p, 1)).unwrap();
        // Time went back: the path stays in both.
        assert!(matches!(
            table.remove_from(&mut ctl, p, t(5)),
            Err(Error::Time(_))
        ));
        assert!(table.get(p).is_some());
        assert!(ctl.tier(p).is_ok());
        assert_eq!(table.remove_from(&mut ctl, p, t(20)), Ok(()));
        assert!(table.is_empty());
        // A record the controller no longer knows is dropped all the same.
        table.insert(Rec(p, 2)).unwrap();
        assert_eq!(
            table.remove_from(&mut ctl, p, t(30)),
            Err(Error::StalePath(p))
        );
        assert!(table.is_empty());
    }
}
