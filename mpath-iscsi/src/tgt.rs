//! A throw-away iSCSI target: the Linux SCSI target framework's user-space
//! daemon (`tgtd`, Debian package `tgt`) on its own control port and TCP
//! port, one target with one disk LUN on a sparse temporary file, reachable
//! through several portals on loopback addresses (127.0.0.1, .2, ...).
//!
//! The fixture stops exactly the `tgtd` it started (by PID) in
//! [`TgtTarget::shutdown`], which `Drop` calls too. Waits on the daemon are
//! bounded polls, never open-ended.

use std::fmt;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The target's LUN that carries the disk.
pub const LUN: u32 = 1;
/// Size of the backing file.
pub const BACKING_BYTES: u64 = 16 << 20;
/// The tid of the one target.
const TID: &str = "1";

const INSTALL_HINT: &str = "install tgt (apt-get install -y tgt)";

/// Why the fixture failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TgtError(pub String);

impl fmt::Display for TgtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TgtError {}

/// An I_T nexus as `tgtadm --op show --mode target` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TgtSession {
    /// tgt's I_T nexus number (the `--sid` of `--mode conn`).
    pub sid: u32,
    /// Initiator name.
    pub initiator: String,
    /// Initiator alias (`none` when the initiator sent none).
    pub alias: String,
    /// Connection ids.
    pub cids: Vec<u32>,
}

/// A running `tgtd` with one target.
#[derive(Debug)]
pub struct TgtTarget {
    tgtd: PathBuf,
    tgtadm: PathBuf,
    control: u32,
    port: u16,
    iqn: String,
    backing: PathBuf,
    child: Option<Child>,
    portals: Vec<String>,
}

fn find_tool(name: &str) -> Result<PathBuf, TgtError> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| TgtError(format!("{name} not found: {INSTALL_HINT}")))
}

/// A TCP port that was free a moment ago on 127.0.0.1.
fn free_port() -> Result<u16, TgtError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| TgtError(format!("bind: {e}")))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| TgtError(format!("local_addr: {e}")))
}

static SEQUENCE: AtomicU32 = AtomicU32::new(0);

impl TgtTarget {
    /// Start `tgtd` and set up target `iqn` with LUN 1 (16 MiB) bound to
    /// every initiator, reachable through `portals` loopback portals
    /// (127.0.0.1 up to 127.0.0.`portals`) on one fresh TCP port.
    pub fn start(portals: usize) -> Result<Self, TgtError> {
        let tgtd = find_tool("tgtd")?;
        let tgtadm = find_tool("tgtadm")?;
        let mut last = TgtError(String::from("no attempt"));
        for _ in 0..8 {
            match Self::try_start(&tgtd, &tgtadm, portals.max(1)) {
                Ok(t) => return Ok(t),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn try_start(tgtd: &Path, tgtadm: &Path, portals: usize) -> Result<Self, TgtError> {
        let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        // Control ports are local socket names (/var/run/tgtd/socket.N),
        // at most 32767 (tgtd refuses larger ones): spread by PID so
        // parallel test processes do not collide.
        let control = 1000 + (std::process::id() % 1900) * 16 + seq % 16;
        let port = free_port()?;
        let iqn = format!("iqn.2024-01.org.mpath:test.{control}.{port}");
        let backing = std::env::temp_dir().join(format!("mpath-iscsi-{control}-{port}.img"));
        let file = fs::File::create(&backing)
            .map_err(|e| TgtError(format!("create {}: {e}", backing.display())))?;
        file.set_len(BACKING_BYTES)
            .map_err(|e| TgtError(format!("size {}: {e}", backing.display())))?;
        drop(file);
        let mut t = TgtTarget {
            tgtd: tgtd.to_path_buf(),
            tgtadm: tgtadm.to_path_buf(),
            control,
            port,
            iqn,
            backing,
            child: None,
            portals: Vec::new(),
        };
        if t.adm(&["--op", "show", "--mode", "sys"]).is_ok() {
            return Err(TgtError(format!("control port {control} in use")));
        }
        let child = Command::new(tgtd)
            .args(["-f", "-C", &control.to_string(), "--iscsi"])
            .arg(format!("portal=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| TgtError(format!("spawn {}: {e}; {INSTALL_HINT}", tgtd.display())))?;
        t.child = Some(child);
        t.portals.push(format!("127.0.0.1:{port}"));
        t.wait_ready()?;
        let lun = LUN.to_string();
        let path = t.backing.display().to_string();
        let iqn = t.iqn.clone();
        t.iscsi(&["--op", "new", "--mode", "target", "--tid", TID, "-T", &iqn])?;
        t.iscsi(&[
            "--op",
            "new",
            "--mode",
            "logicalunit",
            "--tid",
            TID,
            "--lun",
            &lun,
            "-b",
            &path,
        ])?;
        t.iscsi(&[
            "--op", "bind", "--mode", "target", "--tid", TID, "-I", "ALL",
        ])?;
        for i in 2..=portals {
            t.add_portal(&format!("127.0.0.{i}"))?;
        }
        Ok(t)
    }

    fn wait_ready(&mut self) -> Result<(), TgtError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(TgtError(format!(
                        "tgtd -C {} exited at start: {status}",
                        self.control
                    )));
                }
            }
            if self.adm(&["--op", "show", "--mode", "sys"]).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(TgtError(format!(
                    "tgtd -C {} did not answer within 10 s",
                    self.control
                )));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Run `tgtadm -C <control> args...`; its stdout on success.
    pub fn adm(&self, args: &[&str]) -> Result<String, TgtError> {
        let out = Command::new(&self.tgtadm)
            .arg("-C")
            .arg(self.control.to_string())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| TgtError(format!("run tgtadm: {e}; {INSTALL_HINT}")))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(TgtError(format!(
                "tgtadm {}: {} {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    fn iscsi(&self, args: &[&str]) -> Result<String, TgtError> {
        let mut all = vec!["--lld", "iscsi"];
        all.extend_from_slice(args);
        self.adm(&all)
    }

    /// The target name.
    pub fn iqn(&self) -> &str {
        &self.iqn
    }
    /// The control port number (`tgtadm -C`).
    pub fn control_port(&self) -> u32 {
        self.control
    }
    /// The TCP port every portal listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// The daemon's PID while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
    /// The start of the daemon's command line, `<tgtd> -f -C <n> `, for
    /// `pgrep -f` (the trailing space keeps `-C 12` from matching `-C 123`).
    pub fn command_line(&self) -> String {
        format!("{} -f -C {} ", self.tgtd.display(), self.control)
    }
    /// The portals now configured, `host:port`.
    pub fn portals(&self) -> &[String] {
        &self.portals
    }
    /// The portal on `host` (an address like `127.0.0.2`), `host:port`.
    pub fn portal(&self, host: &str) -> String {
        format!("{host}:{}", self.port)
    }

    /// Listen on `host` too.
    pub fn add_portal(&mut self, host: &str) -> Result<(), TgtError> {
        let p = self.portal(host);
        self.iscsi(&[
            "--op",
            "new",
            "--mode",
            "portal",
            "--param",
            &format!("portal={p}"),
        ])?;
        self.portals.push(p);
        Ok(())
    }

    /// Stop listening on `host`; established connections stay.
    pub fn remove_portal(&mut self, host: &str) -> Result<(), TgtError> {
        let p = self.portal(host);
        self.iscsi(&[
            "--op",
            "delete",
            "--mode",
            "portal",
            "--param",
            &format!("portal={p}"),
        ])?;
        self.portals.retain(|x| *x != p);
        Ok(())
    }

    /// The I_T nexuses logged in to the target.
    pub fn sessions(&self) -> Result<Vec<TgtSession>, TgtError> {
        let out = self.iscsi(&["--op", "show", "--mode", "target"])?;
        Ok(parse_sessions(&out))
    }

    /// Drop one connection of one nexus, as a cable pull would look to the
    /// target.
    pub fn cut_connection(&self, sid: u32, cid: u32) -> Result<(), TgtError> {
        self.iscsi(&[
            "--op",
            "delete",
            "--mode",
            "conn",
            "--tid",
            TID,
            "--sid",
            &sid.to_string(),
            "--cid",
            &cid.to_string(),
        ])
        .map(drop)
    }

    /// Drop every connection of `sessions`; how many.
    pub fn cut(&self, sessions: &[TgtSession]) -> Result<usize, TgtError> {
        let mut n = 0;
        for s in sessions {
            for &cid in &s.cids {
                self.cut_connection(s.sid, cid)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Drop every connection of the sessions matching `f`; how many.
    pub fn cut_sessions(&self, f: impl Fn(&TgtSession) -> bool) -> Result<usize, TgtError> {
        let matching: Vec<TgtSession> = self.sessions()?.into_iter().filter(|s| f(s)).collect();
        self.cut(&matching)
    }

    /// Drop every connection of `initiator`; how many.
    pub fn cut_connections(&self, initiator: &str) -> Result<usize, TgtError> {
        self.cut_sessions(|s| s.initiator == initiator)
    }

    /// Take the target offline, delete it with its sessions, stop the
    /// daemon, and make sure the process we started is gone (killed if it
    /// outlives a 5 s grace period). Idempotent.
    pub fn shutdown(&mut self) -> Result<(), TgtError> {
        let stopped = match self.child.take() {
            Some(child) => self.stop(child),
            None => Ok(()),
        };
        // Ours whether or not tgtd ever started (a start that failed after
        // creating it must not leave 16 MiB behind in the temp directory).
        // Best-effort cleanup: it may not exist, and nothing depends on it.
        let _ = fs::remove_file(&self.backing);
        stopped
    }

    /// Stop the tgtd this fixture spawned, by its control port and PID,
    /// and remove its control socket.
    fn stop(&mut self, mut child: Child) -> Result<(), TgtError> {
        let mut errors = Vec::new();
        let steps: [&[&str]; 3] = [
            &[
                "--op", "update", "--mode", "sys", "--name", "State", "-v", "offline",
            ],
            &[
                "--lld", "iscsi", "--op", "delete", "--mode", "target", "--tid", TID, "--force",
            ],
            &["--op", "delete", "--mode", "system"],
        ];
        for step in steps {
            if let Err(e) = self.adm(step) {
                errors.push(e.0);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let exited = loop {
            match child.try_wait() {
                Ok(Some(_)) => break true,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                _ => break false,
            }
        };
        if !exited {
            errors.push(format!("tgtd {} ignored shutdown; killed", child.id()));
            // Best-effort cleanup of our own child, already reported above:
            // it may exit between the last poll and the kill.
            let _ = child.kill();
            let _ = child.wait();
        }
        for suffix in ["", ".lock"] {
            // Best-effort cleanup: tgtd usually removed its sockets itself.
            let _ = fs::remove_file(format!("/var/run/tgtd/socket.{}{suffix}", self.control));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(TgtError(errors.join("; ")))
        }
    }
}

impl Drop for TgtTarget {
    fn drop(&mut self) {
        // Best-effort cleanup: `drop` cannot report; call `shutdown` to see
        // what went wrong.
        let _ = self.shutdown();
    }
}

/// Parse the "I_T nexus information" part of `tgtadm --op show --mode
/// target`:
///
/// ```text
///     I_T nexus information:
///         I_T nexus: 3
///             Initiator: iqn.2024-01.test:hosta alias: mpath-n0
///             Connection: 0
///                 IP Address: 127.0.0.1
/// ```
pub fn parse_sessions(show: &str) -> Vec<TgtSession> {
    let mut out: Vec<TgtSession> = Vec::new();
    let mut in_nexus = false;
    for line in show.lines() {
        let l = line.trim();
        if l.starts_with("I_T nexus information") {
            in_nexus = true;
        } else if l.starts_with("LUN information") || l.starts_with("Target ") {
            in_nexus = false;
        } else if !in_nexus {
            continue;
        } else if let Some(sid) = l.strip_prefix("I_T nexus:") {
            if let Ok(sid) = sid.trim().parse() {
                out.push(TgtSession {
                    sid,
                    initiator: String::new(),
                    alias: String::new(),
                    cids: Vec::new(),
                });
            }
        } else if let (Some(rest), Some(s)) = (l.strip_prefix("Initiator:"), out.last_mut()) {
            let (name, alias) = rest.split_once(" alias:").unwrap_or((rest, " none"));
            s.initiator = name.trim().to_owned();
            s.alias = alias.trim().to_owned();
        } else if let (Some(cid), Some(s)) = (l.strip_prefix("Connection:"), out.last_mut()) {
            if let Ok(cid) = cid.trim().parse() {
                s.cids.push(cid);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_parsed_from_show_target() {
        let show = "Target 1: iqn.x\n    System information:\n        Driver: iscsi\n    \
                    I_T nexus information:\n        I_T nexus: 4\n            \
                    Initiator: iqn.a:h alias: mpath-n1\n            Connection: 0\n                \
                    IP Address: 127.0.0.1\n        I_T nexus: 7\n            \
                    Initiator: iqn.b:h alias: none\n            Connection: 0\n    \
                    LUN information:\n        LUN: 0\n";
        let s = parse_sessions(show);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].sid, 4);
        assert_eq!(s[0].initiator, "iqn.a:h");
        assert_eq!(s[0].alias, "mpath-n1");
        assert_eq!(s[0].cids, vec![0]);
        assert_eq!(s[1].sid, 7);
        assert_eq!(s[1].alias, "none");
    }
}
