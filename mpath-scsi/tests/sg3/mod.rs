//! Running sg3-utils' own decoders on bytes our codecs produced, for the
//! cross-checks in `tests/sg3_utils_*.rs`.
//!
//! sg3-utils 1.46 (Debian 12) decodes VPD pages from a file (`sg_vpd
//! --inhex`), but `sg_rtpg` and `sg_persist` only decode what a device
//! returns: they have no `--inhex` before 1.47/1.48, and their decoders live
//! in the utilities, not in libsgutils2. So [`run_on_data`] runs the
//! unmodified utility on a *regular file* holding the parameter data and
//! preloads a tiny `ioctl` shim ([`SHIM_SOURCE`]): an `SG_IO` on a regular
//! file is answered with the file's bytes as data-in, GOOD status, no sense.
//! libsgutils2 sends SG_IO v3 to anything that is not an sg, bsg or NVMe
//! node (`sg_pt_linux.c`, `do_scsi_pt`), so the request passes through the
//! real command builders, `sg_cmds_process_resp` and the real decoder.
//!
//! Nothing skips: a missing tool or compiler fails the test with the Debian
//! package to install.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The `SG_IO` shim. Only the data-in of an `SG_IO` on a regular file is
/// faked; every other `ioctl` goes to libc.
pub const SHIM_SOURCE: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <scsi/sg.h>

int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    struct stat st;
    if (req == SG_IO && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        sg_io_hdr_t *h = arg;
        if (h->interface_id != 'S' || h->dxfer_direction != SG_DXFER_FROM_DEV)
            return -1;
        ssize_t n = pread(fd, h->dxferp, h->dxfer_len, 0);
        if (n < 0)
            return -1;
        h->resid = (int)(h->dxfer_len - (unsigned)n);
        h->status = h->masked_status = h->host_status = h->driver_status = 0;
        h->sb_len_wr = 0;
        h->info = 0;
        h->duration = 0;
        return 0;
    }
    int (*real)(int, unsigned long, void *) =
        (int (*)(int, unsigned long, void *))dlsym(RTLD_NEXT, "ioctl");
    return real(fd, req, arg);
}
"#;

/// One directory for every run; names carry the process id so concurrent
/// test binaries never share a file.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sg3-crosscheck");
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

fn next_file(ext: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    scratch().join(format!("{}-{n}.{ext}", std::process::id()))
}

fn shim() -> &'static Path {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(|| {
        let src = next_file("c");
        let so = next_file("so");
        std::fs::write(&src, SHIM_SOURCE).unwrap();
        let out = Command::new("cc")
            .args(["-shared", "-fPIC", "-O1", "-o"])
            .arg(&so)
            .arg(&src)
            .arg("-ldl")
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run `cc` ({e}): install gcc and libc6-dev \
                     (`apt-get install -y gcc libc6-dev`) to run the sg3-utils cross-check"
                )
            });
        assert!(
            out.status.success(),
            "building the SG_IO shim failed (needs gcc and libc6-dev for <scsi/sg.h>):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Built fresh by each test binary (a few hundred ms), then moved
        // over the shared name: rename is atomic, and a tool already
        // running keeps its mapping of the old file.
        let shared = scratch().join("sg_io_shim.so");
        std::fs::rename(&so, &shared).unwrap();
        std::fs::remove_file(&src).unwrap();
        shared
    })
}

/// What a tool printed.
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub ok: bool,
}

fn run(tool: &str, cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "cannot run `{tool}` ({e}): install sg3-utils (`apt-get install -y sg3-utils`) \
             to run the sg3-utils cross-check"
        )
    });
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        ok: out.status.success(),
    }
}

/// Run `tool args FILE` where FILE holds `data` and stands in for the
/// device: the command's data-in is `data` (see the module docs).
pub fn run_on_data(tool: &str, args: &[&str], data: &[u8]) -> Output {
    let file = next_file("bin");
    std::fs::write(&file, data).unwrap();
    let out = run(
        tool,
        Command::new(tool)
            .env("LD_PRELOAD", shim())
            .args(args)
            .arg(&file),
    );
    std::fs::remove_file(&file).unwrap();
    out
}

/// Run `tool --inhex=FILE args` where FILE holds `data` as ASCII hex.
pub fn run_inhex(tool: &str, args: &[&str], data: &[u8]) -> Output {
    let file = next_file("hex");
    let hex: Vec<String> = data
        .chunks(16)
        .map(|l| {
            l.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    std::fs::write(&file, hex.join("\n") + "\n").unwrap();
    let mut inhex = std::ffi::OsString::from("--inhex=");
    inhex.push(&file);
    let out = run(tool, Command::new(tool).arg(inhex).args(args));
    std::fs::remove_file(&file).unwrap();
    out
}

/// The bytes of an sg3-utils hex dump (`hex2str`/`dStrHexStr`): 16 per line
/// after `leadin` columns, an ASCII column (if any) after column 49.
pub fn hex_dump_bytes<'a>(lines: impl IntoIterator<Item = &'a str>, leadin: usize) -> Vec<u8> {
    lines
        .into_iter()
        .flat_map(|l| {
            let hex = l.get(leadin..).unwrap_or("");
            let hex = hex.get(..49).unwrap_or(hex);
            hex.split_whitespace()
                .map(|t| u8::from_str_radix(t, 16).unwrap_or_else(|_| panic!("hex {t:?} in {l:?}")))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `0x…` lower-case hex of `b`, as sg3-utils prints whole designators.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The value of `0x…` (or decimal) text.
pub fn num(s: &str) -> u64 {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    }
    .unwrap_or_else(|_| panic!("number {s:?}"))
}

/// A small deterministic generator (SplitMix64): the same seed gives the
/// same cases on every machine, so a failure names a reproducible case.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.u64() % n as u64) as usize
    }
    pub fn u8(&mut self) -> u8 {
        self.u64() as u8
    }
    pub fn u16(&mut self) -> u16 {
        self.u64() as u16
    }
    pub fn bool(&mut self) -> bool {
        self.u64() & 1 == 1
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.u8()).collect()
    }
    /// Printable ASCII (0x21..=0x7E, no spaces so text fields stay one token
    /// unless a case adds them on purpose).
    pub fn graphic(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| 0x21 + (self.below(0x5E) as u8)).collect()
    }
    pub fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len())]
    }
}
