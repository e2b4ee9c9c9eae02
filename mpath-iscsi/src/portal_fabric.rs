//! [`Fabric`] on any iSCSI target reached through plain portals: the
//! target the conformance suite (`mpath-prtest`) is pointed at, and the
//! nexus handling [`LioFabric`](crate::lio_fabric::LioFabric) builds on.
//!
//! Host A's nexus `i` logs in to portal `i % count` with ISID qualifier
//! `i + 1` (each is an I_T nexus of its own) through its own local
//! [`Relay`]: nothing outside tells an arbitrary target to drop one I_T
//! nexus, so a cut is the network failing for that nexus alone (see
//! [`crate::relay`]): both ends see the connection end without a logout,
//! and logins through the relay fail until the nexus is restored.
//! Restoring logs in again with the same initiator name and ISID; whether
//! the target treats that as the same I_T nexus is the target's business
//! (LIO does, tgt does not), and the host tells the core either way.
//! Host B has one nexus, straight to the first portal, ISID qualifier 1.
//!
//! At start the block size is read from the logical unit (READ CAPACITY
//! (10)), so a target with 4096-byte blocks works too, and every
//! registration left from an earlier run is cleared
//! ([`PortalFabric::clear_reservations`]).

use std::net::{SocketAddr, ToSocketAddrs};

use mpath_core::reservation::PrCommand;
use mpath_scsi::classify::classify;

use crate::fabric::{BatchOutcome, Fabric, FabricError};
use crate::nexus::{isid, CommandResult, IscsiNexus, NexusConfig};
use crate::pr_transport::PrAnswer;
use crate::relay::Relay;
use crate::tgt_fabric::nexus_alias;

/// READ CAPACITY (10) (SBC-3 5.15): 8 bytes back, the last 4 the block
/// length. mpath-scsi has no codec for it; the fabric needs only this.
const READ_CAPACITY_10: [u8; 10] = [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// Where the target is and who the two hosts are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortalConfig {
    /// Target portals, `host:port`; nexus `i` uses portal `i % len`.
    pub portals: Vec<String>,
    /// Target name (IQN).
    pub target: String,
    /// Logical unit number.
    pub lun: u32,
    /// Our host's initiator name.
    pub initiator: String,
    /// The other host's initiator name.
    pub other_initiator: String,
    /// What the fabric is, for the table (`describe`).
    pub label: String,
}

/// One host-A nexus and the relay it goes through.
#[derive(Debug)]
struct Slot {
    // Before the relay: the session logs out through it on drop.
    nexus: IscsiNexus,
    relay: Relay,
}

/// Nexuses of host A through relays, and host B's nexus, to one LU.
#[derive(Debug)]
pub struct PortalFabric {
    cfg: PortalConfig,
    upstream: Vec<SocketAddr>,
    slots: Vec<Slot>,
    other: IscsiNexus,
    block: usize,
}

fn err(e: impl std::fmt::Display) -> FabricError {
    FabricError(e.to_string())
}

/// Each portal's address.
fn resolve(portals: &[String]) -> Result<Vec<SocketAddr>, FabricError> {
    if portals.is_empty() {
        return Err(FabricError(String::from("no portal")));
    }
    portals
        .iter()
        .map(|p| {
            p.to_socket_addrs()
                .map_err(|e| FabricError(format!("portal {p}: {e}")))?
                .next()
                .ok_or_else(|| FabricError(format!("portal {p}: no address")))
        })
        .collect()
}

/// Host B's nexus: straight to the first portal.
fn connect_other(cfg: &PortalConfig) -> Result<IscsiNexus, FabricError> {
    let portal = cfg
        .portals
        .first()
        .ok_or_else(|| FabricError(String::from("no portal")))?;
    IscsiNexus::connect(NexusConfig::new(
        portal,
        &cfg.target,
        &cfg.other_initiator,
        cfg.lun,
        OTHER_ISID,
    ))
    .map_err(|e| FabricError(format!("other host login: {e}")))
}

/// The ISID qualifier host A's nexus `i` logs in with.
pub fn nexus_isid(i: usize) -> u16 {
    u16::try_from(i + 1).unwrap_or(u16::MAX)
}

/// The ISID qualifier host B logs in with.
pub const OTHER_ISID: u16 = 1;

impl PortalFabric {
    /// Log in host B and `n` nexuses of host A.
    pub fn start(cfg: PortalConfig, n: usize) -> Result<Self, FabricError> {
        let upstream = resolve(&cfg.portals)?;
        let other = connect_other(&cfg)?;
        let mut f = PortalFabric {
            cfg,
            upstream,
            slots: Vec::new(),
            other,
            block: 0,
        };
        f.block = f.read_block_size()?;
        f.clear_reservations()?;
        for _ in 0..n {
            f.add_nexus()?;
        }
        Ok(f)
    }

    /// The configuration.
    pub fn config(&self) -> &PortalConfig {
        &self.cfg
    }

    /// After the target restarted (now at `portals`, `label` describing
    /// it): drop every session, whose connection died with the target,
    /// and log each nexus in again through a new relay, with the same
    /// initiator names and ISIDs, so they are the same I_T nexuses to the
    /// target; cut nexuses come back too. Unit attentions the target
    /// raises (power on, reset) are left for the first commands to see.
    pub fn log_in_again(&mut self, portals: Vec<String>, label: String) -> Result<(), FabricError> {
        let upstream = resolve(&portals)?;
        // Sessions before their relays (the slot's field order): a logout
        // on a dead connection fails at once.
        let n = self.slots.len();
        self.slots.clear();
        self.other.disconnect();
        self.cfg.portals = portals;
        self.cfg.label = label;
        self.upstream = upstream;
        self.other = connect_other(&self.cfg)?;
        for _ in 0..n {
            self.add_nexus()?;
        }
        Ok(())
    }

    /// The portal index nexus `i` logs in to.
    pub fn portal_of(&self, i: usize) -> usize {
        i % self.upstream.len().max(1)
    }

    /// Host A's nexus `i`, for raw commands.
    pub fn nexus_mut(&mut self, i: usize) -> Option<&mut IscsiNexus> {
        self.slots.get_mut(i).map(|s| &mut s.nexus)
    }

    /// Start from a clean logical unit, as a fresh target is: a target
    /// that outlives one run keeps registrations (and, for targets that
    /// name the nexus by session, those of sessions long gone). The other
    /// host registers with a key found there (REGISTER AND IGNORE
    /// EXISTING KEY) and CLEARs, which removes every registration and the
    /// reservation (SPC-4 5.13.11.2.7).
    pub fn clear_reservations(&mut self) -> Result<(), FabricError> {
        let keys = match self.other_host_pr(PrCommand::ReadKeys).answer {
            PrAnswer::Keys(k) => k,
            other => return Err(FabricError(format!("READ KEYS: {other:?}"))),
        };
        let Some(&key) = keys.first() else {
            return Ok(());
        };
        for (what, cmd) in [
            ("register", PrCommand::Register { key }),
            ("clear", PrCommand::Clear { key }),
        ] {
            let a = self.other_host_pr(cmd).answer;
            if a != PrAnswer::Done {
                return Err(FabricError(format!(
                    "clearing {} registration(s): {what}: {a:?}",
                    keys.len()
                )));
            }
        }
        Ok(())
    }

    fn read_block_size(&mut self) -> Result<usize, FabricError> {
        // A fresh session reports a power-on unit attention first.
        for _ in 0..4 {
            let r = self.other.command(&READ_CAPACITY_10, None, 8);
            if r.status == 0 && r.transport == mpath_scsi::TransportStatus::Ok {
                let b = r
                    .data
                    .get(4..8)
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .map(u32::from_be_bytes)
                    .ok_or_else(|| FabricError(String::from("READ CAPACITY: short data")))?;
                return usize::try_from(b)
                    .ok()
                    .filter(|&b| b > 0)
                    .ok_or_else(|| FabricError(format!("READ CAPACITY: block length {b}")));
            }
        }
        Err(FabricError(String::from(
            "READ CAPACITY (10) failed four times",
        )))
    }

    fn nexus_config(&self, i: usize, portal: &str) -> NexusConfig {
        let mut c = NexusConfig::new(
            portal,
            &self.cfg.target,
            &self.cfg.initiator,
            self.cfg.lun,
            nexus_isid(i),
        );
        c.alias = Some(nexus_alias(i));
        c
    }

    fn slot(&mut self, i: usize) -> Result<&mut Slot, FabricError> {
        self.slots
            .get_mut(i)
            .ok_or_else(|| FabricError(format!("no nexus {i}")))
    }
}

impl Fabric for PortalFabric {
    fn describe(&self) -> String {
        format!(
            "{} ({} via {}, LUN {}) via libiscsi",
            self.cfg.label,
            self.cfg.target,
            self.cfg.portals.join(", "),
            self.cfg.lun
        )
    }

    fn nexus_count(&self) -> usize {
        self.slots.len()
    }

    fn block_size(&self) -> usize {
        self.block
    }

    fn initiator_port(&self, i: usize) -> Option<(String, u64)> {
        (i < self.slots.len()).then(|| (self.cfg.initiator.clone(), isid(nexus_isid(i))))
    }

    fn other_initiator_port(&self) -> Option<(String, u64)> {
        Some((self.cfg.other_initiator.clone(), isid(OTHER_ISID)))
    }

    fn add_nexus(&mut self) -> Result<usize, FabricError> {
        let i = self.slots.len();
        let upstream = *self
            .upstream
            .get(self.portal_of(i))
            .ok_or_else(|| FabricError(String::from("no portal")))?;
        let relay = Relay::start(upstream).map_err(|e| FabricError(format!("relay: {e}")))?;
        let nexus = IscsiNexus::connect(self.nexus_config(i, &relay.portal())).map_err(err)?;
        self.slots.push(Slot { nexus, relay });
        Ok(i)
    }

    fn cut_nexus(&mut self, i: usize) -> Result<(), FabricError> {
        if self.slot(i)?.relay.cut() == 0 {
            return Err(FabricError(format!("nexus {i} had no connection to cut")));
        }
        Ok(())
    }

    fn write_batch(
        &mut self,
        i: usize,
        writes: &[(u64, &[u8])],
        cut_it: bool,
    ) -> Result<BatchOutcome, FabricError> {
        let block = self.block;
        let Slot { nexus, relay } = self.slot(i)?;
        let mut hook = || match relay.cut() {
            0 => Err(format!("nexus {i} had no connection to cut")),
            _ => Ok(()),
        };
        let hook: Option<&mut dyn FnMut() -> Result<(), String>> =
            if cut_it { Some(&mut hook) } else { None };
        let r = nexus.write_batch(block, writes, hook);
        if let Some(e) = r.cut_error {
            return Err(FabricError(e));
        }
        Ok(BatchOutcome {
            completions: r
                .results
                .iter()
                .map(|r| classify(r.transport, r.status, r.sense()))
                .collect(),
            in_flight_at_cut: r.in_flight_at_cut,
        })
    }

    fn restore_nexus(&mut self, i: usize) -> Result<(), FabricError> {
        let slot = self.slot(i)?;
        slot.relay.restore();
        let portal = slot.relay.portal();
        let cfg = self.nexus_config(i, &portal);
        let nexus = IscsiNexus::connect(cfg).map_err(err)?;
        self.slot(i)?.nexus = nexus;
        Ok(())
    }

    fn command(
        &mut self,
        i: usize,
        cdb: &[u8],
        data_out: Option<&[u8]>,
        data_in_len: usize,
    ) -> CommandResult {
        match self.slots.get_mut(i) {
            Some(s) => s.nexus.command(cdb, data_out, data_in_len),
            None => CommandResult::no_nexus(i),
        }
    }

    fn other_host_command(
        &mut self,
        cdb: &[u8],
        data_out: Option<&[u8]>,
        data_in_len: usize,
    ) -> CommandResult {
        self.other.command(cdb, data_out, data_in_len)
    }
}
