//! `mpath_selftest.ko`: mpath-ffi's staticlib, built for the kernel, linked
//! into the C self-test module in `kernel/kmod/` against [`Headers`].
//!
//! Three steps, all under an output directory of the target dir
//! ([`out_dir`]), each incremental so that a second build takes seconds:
//!
//! 1. **The staticlib.** `cargo rustc -p mpath-ffi --crate-type staticlib`
//!    for `x86_64-unknown-none`, with `-Zbuild-std=core,compiler_builtins`
//!    so that `core` is compiled with the same flags as our code (the
//!    prebuilt `core` has plain returns and indirect calls), and the rustc
//!    flags [`rust_flags`] derives from the kernel's `.config`. The `-Z`
//!    flags need an unstable compiler: this is the toolchain that runs the
//!    build with `RUSTC_BOOTSTRAP=1`, as the kernel's own Rust build does,
//!    so it needs that toolchain's `rust-src` component, not a nightly.
//! 2. **One object.** The archive's members (ours, `mpath-core`, `core`;
//!    not `compiler_builtins`, whose `memcpy`/`memset`/`memmove` would
//!    shadow the kernel's for the module's C code too) are linked with
//!    `ld -r --gc-sections` from every `mpath_*` export, then every symbol
//!    but the exports is made local. The object is checked: it may only
//!    need symbols the kernel exports (`Module.symvers`), carry relocations
//!    x86's module loader applies, and (with the return and indirect-branch
//!    mitigations on) hold no `ret` and no indirect `call`/`jmp`.
//! 3. **The module.** `kernel/kmod/`, `mpath-ffi/include/mpath.h` and the
//!    object (as `mpath_rust.o_prebuilt`) are copied into a Kbuild
//!    directory (only what changed, so Kbuild's `if_changed` sees the
//!    truth) and built with `make -C <headers> M=<dir> modules`. A compiler
//!    or modpost warning fails the build.
//!
//! No LTO: it would merge the library's frames into its callers', and the
//! object-code gate's per-frame figures (and the module's stack check,
//! docs/KERNEL.md) are what show the library keeps to a kernel stack.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tool::{tail, AR, LD, MAKE, OBJCOPY, OBJDUMP, READELF};
use crate::{Headers, QemuError};

/// The Rust target: soft-float, no SSE/MMX, no red zone, `panic=abort`,
/// static relocations and the kernel code model by its own definition.
pub const TARGET: &str = "x86_64-unknown-none";

/// The module's name (`insmod`, `/proc/modules`, `rmmod`).
pub const MODULE: &str = "mpath_selftest";

/// One rustc flag and why a kernel module needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RustFlag {
    /// The flag as rustc takes it.
    pub flag: String,
    /// The reason, for the build log and the docs.
    pub why: &'static str,
}

fn flag(flag: impl Into<String>, why: &'static str) -> RustFlag {
    RustFlag {
        flag: flag.into(),
        why,
    }
}

/// The rustc flags for code linked into a module of the kernel `headers`
/// describe: those every x86-64 module needs, then those its configuration
/// asks for (each mirrors a gcc flag of `arch/x86/Makefile` under the same
/// option).
pub fn rust_flags(headers: &Headers) -> Vec<RustFlag> {
    let mut f = vec![
        flag(
            "-Cpanic=abort",
            "nothing in the kernel unwinds Rust frames (the object-code gate \
             proves no panic is reachable at all)",
        ),
        flag(
            "-Crelocation-model=static",
            "the module loader links the object at a kernel address and \
             applies absolute and PC-relative relocations only: no GOT, no PIC",
        ),
        flag(
            "-Ccode-model=kernel",
            "module code and data live in the top 2 GiB, like the kernel's: \
             addresses fit sign-extended 32-bit immediates (gcc -mcmodel=kernel)",
        ),
        flag(
            "-Cno-redzone=y",
            "an interrupt taken in kernel mode pushes onto the current stack, \
             over the 128 bytes below %rsp a leaf function may use (gcc -mno-red-zone)",
        ),
        flag(
            "-Cforce-unwind-tables=n",
            "no .eh_frame: the kernel unwinds with ORC or frame pointers, never DWARF",
        ),
        flag(
            "-Zplt=yes",
            "calls to symbols outside the crates (memcpy, memset, memmove, the \
             thunks) become direct calls (R_X86_64_PLT32) the module loader \
             resolves against the kernel's exports; the target's default goes \
             through a GOT entry (R_X86_64_GOTPCREL), which x86's module loader \
             does not apply",
        ),
        flag(
            "-Cdebuginfo=line-tables-only",
            "line tables let scripts/objgate.py name the source line of a \
             finding; they are stripped from the object the module links",
        ),
    ];
    if headers.enabled("RETPOLINE") {
        f.push(flag(
            "-Zretpoline-external-thunk",
            "CONFIG_RETPOLINE: indirect calls and jumps go through the kernel's \
             __x86_indirect_thunk_<reg> (gcc -mindirect-branch=thunk-extern), \
             and no jump tables are emitted",
        ));
        f.push(flag(
            "-Zindirect-branch-cs-prefix",
            "CONFIG_RETPOLINE: a cs prefix pads each thunk call to the length \
             the kernel's alternatives need to rewrite it in place, as the \
             kernel's C is built (gcc -mindirect-branch-cs-prefix)",
        ));
    }
    if headers.enabled("RETHUNK") {
        f.push(flag(
            "-Zfunction-return=thunk-extern",
            "CONFIG_RETHUNK: every return is a jump to __x86_return_thunk, whose \
             body the kernel chooses at boot (retbleed, SRSO; gcc \
             -mfunction-return=thunk-extern)",
        ));
    }
    if headers.enabled("X86_KERNEL_IBT") {
        f.push(flag(
            "-Zcf-protection=branch",
            "CONFIG_X86_KERNEL_IBT: an endbr64 where an indirect branch may land \
             (gcc -fcf-protection=branch)",
        ));
        f.push(flag(
            "-Cjump-tables=n",
            "CONFIG_X86_KERNEL_IBT: jump tables use NOTRACK jumps, which kernel \
             IBT forbids (arch/x86/Makefile turns them off for C too)",
        ));
    }
    if headers.enabled("CALL_PADDING") {
        let bytes = headers.config("FUNCTION_PADDING_BYTES").unwrap_or("16");
        f.push(flag(
            format!("-Zpatchable-function-entry={bytes},{bytes}"),
            "CONFIG_CALL_PADDING: padding before each function for the \
             kernel's call-depth tracking and FineIBT to patch (gcc \
             -fpatchable-function-entry)",
        ));
    }
    if headers.enabled("FRAME_POINTER") {
        f.push(flag(
            "-Cforce-frame-pointers=y",
            "CONFIG_FRAME_POINTER: the frame-pointer unwinder walks %rbp chains",
        ));
    }
    // Not mirrored, on purpose:
    // - CONFIG_SLS (gcc -mharden-sls=all: int3 after ret and indirect jmp):
    //   with the two thunk flags there is no ret and no indirect jmp in our
    //   code, which `check_object` verifies, so there is nothing to harden.
    // - CONFIG_STACKPROTECTOR: rustc's stack protector reads the canary at
    //   %fs:0x28, user space's TLS layout; x86-64 Linux keeps it at %gs:40.
    // - CONFIG_FUNCTION_TRACER: no __fentry__ calls; Rust functions are
    //   simply not traceable by ftrace.
    f
}

/// The build's output directory: `kmod/` in the target dir
/// (`CARGO_TARGET_DIR`, relative to the workspace if relative, or the
/// workspace's `target/`).
pub fn out_dir() -> PathBuf {
    let ws = workspace();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| ws.join("target"), |t| ws.join(t));
    target.join("kmod")
}

/// The workspace root: the parent of this crate.
pub fn workspace() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// What [`build`] made.
#[derive(Clone, Debug)]
pub struct Module {
    /// The module to load.
    pub ko: PathBuf,
    /// The staticlib the module's Rust object comes from (for the
    /// object-code gate: `scripts/objgate.py --archive`).
    pub staticlib: PathBuf,
    /// The relocatable object the module links.
    pub object: PathBuf,
    /// The rustc flags it was built with.
    pub rustflags: Vec<RustFlag>,
    /// The exported `mpath_*` functions in the object.
    pub exports: Vec<String>,
    /// The kernel symbols the object needs.
    pub imports: Vec<String>,
}

/// Build `mpath_selftest.ko` for `headers` in `out` (see the module notes).
pub fn build(headers: &Headers, out: &Path) -> Result<Module, QemuError> {
    let ws = workspace();
    let rustflags = rust_flags(headers);
    let staticlib = staticlib(&ws, out, &rustflags)?;
    let (object, exports) = link_object(&staticlib, out)?;
    let imports = check_object(&object, headers)?;
    let ko = kbuild(headers, &ws, &object, out)?;
    Ok(Module {
        ko,
        staticlib,
        object,
        rustflags,
        exports,
        imports,
    })
}

fn mkdir(p: &Path) -> Result<(), QemuError> {
    fs::create_dir_all(p).map_err(|e| QemuError::io("create", p, &e))
}

fn build_error(step: &'static str, detail: impl Into<String>) -> QemuError {
    QemuError::Build {
        step,
        detail: detail.into(),
    }
}

/// Step 1: the staticlib, in its own cargo target dir (the workspace's
/// builds use other flags; sharing one dir would rebuild both every time).
fn staticlib(ws: &Path, out: &Path, flags: &[RustFlag]) -> Result<PathBuf, QemuError> {
    let cargo = std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from);
    let target_dir = out.join("cargo");
    let encoded = flags
        .iter()
        .map(|f| f.flag.as_str())
        .collect::<Vec<_>>()
        .join("\u{1f}");
    let manifest = ws.join("Cargo.toml");
    let args = [
        "rustc",
        "--release",
        "-p",
        "mpath-ffi",
        "--crate-type",
        "staticlib",
        "--target",
        TARGET,
        "-Zbuild-std=core,compiler_builtins",
        "--manifest-path",
    ];
    let line = format!("cargo {} {}", args.join(" "), manifest.display());
    let done = Command::new(&cargo)
        .args(args)
        .arg(&manifest)
        // Flags from whoever runs us would change the kernel's build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env("CARGO_ENCODED_RUSTFLAGS", &encoded)
        .env("CARGO_TARGET_DIR", &target_dir)
        // The -Z flags on this (stable) toolchain, as the kernel builds Rust.
        .env("RUSTC_BOOTSTRAP", "1")
        .output()
        .map_err(|e| QemuError::Command {
            command: line.clone(),
            detail: e.to_string(),
        })?;
    if !done.status.success() {
        return Err(QemuError::Command {
            command: line,
            detail: format!("{}: {}", done.status, tail(&done.stderr, 20)),
        });
    }
    let lib = target_dir
        .join(TARGET)
        .join("release")
        .join("libmpath_ffi.a");
    if !lib.is_file() {
        return Err(build_error(
            "staticlib",
            format!("cargo succeeded but there is no {}", lib.display()),
        ));
    }
    Ok(lib)
}

/// `readelf -sW`: (binding, section index, name) of every named symbol.
fn symbols(object: &Path) -> Result<Vec<(String, String, String)>, QemuError> {
    let out = READELF.run(&["-sW", &object.display().to_string()], None)?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // Num: Value Size Type Bind Vis Ndx Name
            match f.as_slice() {
                [num, _, _, _, bind, _, ndx, name, ..] if num.ends_with(':') => {
                    Some(((*bind).to_owned(), (*ndx).to_owned(), (*name).to_owned()))
                }
                _ => None,
            }
        })
        .collect())
}

/// Step 2: one relocatable object with the exports global and nothing else.
fn link_object(staticlib: &Path, out: &Path) -> Result<(PathBuf, Vec<String>), QemuError> {
    let members = out.join("members");
    // Left from the last build: the archive's member names change with
    // every build's hashes.
    let _ = fs::remove_dir_all(&members);
    mkdir(&members)?;
    AR.run(&["x", &staticlib.display().to_string()], Some(&members))?;
    let mut objects: Vec<PathBuf> = fs::read_dir(&members)
        .map_err(|e| QemuError::io("list", &members, &e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".o") && !n.starts_with("compiler_builtins-"))
        })
        .collect();
    objects.sort();
    let mut exports = BTreeSet::new();
    for o in &objects {
        for (bind, ndx, name) in symbols(o)? {
            if bind == "GLOBAL" && ndx != "UND" && name.starts_with("mpath_") {
                exports.insert(name);
            }
        }
    }
    if exports.is_empty() {
        return Err(build_error(
            "link",
            format!("no mpath_* export in {}", staticlib.display()),
        ));
    }
    let full = out.join("mpath_rust.full.o");
    let mut args: Vec<String> = vec![
        String::from("-r"),
        String::from("--gc-sections"),
        String::from("-o"),
        full.display().to_string(),
    ];
    for e in &exports {
        args.extend([String::from("-u"), e.clone()]);
    }
    args.extend(objects.iter().map(|o| o.display().to_string()));
    LD.run(&args.iter().map(String::as_str).collect::<Vec<_>>(), None)?;
    let keep = out.join("exports.txt");
    let list: String = exports.iter().map(|e| format!("{e}\n")).collect();
    fs::write(&keep, list).map_err(|e| QemuError::io("write", &keep, &e))?;
    let object = out.join("mpath_rust.o");
    // --strip-unneeded also drops the undefined symbols of sections
    // --gc-sections removed (float helpers of core's formatting), which
    // modpost would otherwise report as missing.
    OBJCOPY.run(
        &[
            "--strip-unneeded",
            &format!("--keep-global-symbols={}", keep.display()),
            &full.display().to_string(),
            &object.display().to_string(),
        ],
        None,
    )?;
    Ok((object, exports.into_iter().collect()))
}

/// Relocation types x86-64's module loader applies
/// (`apply_relocate_add` in arch/x86/kernel/module.c, 6.1).
const LOADER_RELOCATIONS: [&str; 7] = [
    "R_X86_64_NONE",
    "R_X86_64_64",
    "R_X86_64_32",
    "R_X86_64_32S",
    "R_X86_64_PC32",
    "R_X86_64_PLT32",
    "R_X86_64_PC64",
];

/// The object's checks (module notes); the symbols it needs from the
/// kernel.
fn check_object(object: &Path, headers: &Headers) -> Result<Vec<String>, QemuError> {
    let obj = object.display().to_string();
    let symvers_path = headers.module_symvers();
    let symvers =
        fs::read_to_string(&symvers_path).map_err(|e| QemuError::io("read", &symvers_path, &e))?;
    let exported: BTreeSet<&str> = symvers
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    let imports: Vec<String> = symbols(object)?
        .into_iter()
        .filter(|(_, ndx, _)| ndx == "UND")
        .map(|(_, _, name)| name)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let missing: Vec<&String> = imports
        .iter()
        .filter(|s| !exported.contains(s.as_str()))
        .collect();
    if !missing.is_empty() {
        return Err(build_error(
            "symbols",
            format!("{obj} needs symbols the kernel does not export: {missing:?}"),
        ));
    }

    let relocs = READELF.run(&["-rW", &obj], None)?;
    let kinds: BTreeSet<String> = String::from_utf8_lossy(&relocs.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter(|k| k.starts_with("R_X86_64_"))
        .map(str::to_owned)
        .collect();
    let foreign: Vec<&String> = kinds
        .iter()
        .filter(|k| !LOADER_RELOCATIONS.contains(&k.as_str()))
        .collect();
    if !foreign.is_empty() {
        return Err(build_error(
            "relocations",
            format!("{obj} has relocations the module loader does not apply: {foreign:?}"),
        ));
    }

    let rethunk = headers.enabled("RETHUNK");
    let retpoline = headers.enabled("RETPOLINE");
    if rethunk || retpoline {
        let dis = OBJDUMP.run(&["-d", "--no-show-raw-insn", &obj], None)?;
        let text = String::from_utf8_lossy(&dis.stdout);
        let bad = unmitigated(&text, rethunk, retpoline);
        if !bad.is_empty() {
            return Err(build_error(
                "mitigations",
                format!(
                    "{obj}: {} returns or indirect branches not through the \
                     kernel's thunks, first: {:?}",
                    bad.len(),
                    &bad[..bad.len().min(5)]
                ),
            ));
        }
    }
    Ok(imports)
}

/// `function: instruction` for every `ret` (with `rethunk`) and indirect
/// `call`/`jmp` (with `retpoline`) in an `objdump -d` listing.
fn unmitigated(listing: &str, rethunk: bool, retpoline: bool) -> Vec<String> {
    let mut function = "";
    let mut found = Vec::new();
    for line in listing.lines() {
        if let Some(name) = line
            .strip_suffix(">:")
            .and_then(|l| l.split_once('<'))
            .map(|(_, n)| n)
        {
            function = name;
            continue;
        }
        // "  1f:\tmnemonic operands"
        let Some((_, insn)) = line.split_once(":\t") else {
            continue;
        };
        let mut words = insn.split_whitespace();
        let mnemonic = words.next().unwrap_or_default();
        let operand = words.next().unwrap_or_default();
        let ret = matches!(mnemonic, "ret" | "retq" | "lret" | "lretq");
        let indirect =
            matches!(mnemonic, "call" | "callq" | "jmp" | "jmpq") && operand.starts_with('*');
        if (rethunk && ret) || (retpoline && indirect) {
            found.push(format!("{function}: {}", insn.trim()));
        }
    }
    found
}

/// Copy `from` to `to` unless `to` already has its bytes: an unchanged
/// file keeps its time stamp, so Kbuild rebuilds nothing for it.
fn copy_if_changed(from: &Path, to: &Path) -> Result<(), QemuError> {
    let new = fs::read(from).map_err(|e| QemuError::io("read", from, &e))?;
    if fs::read(to).is_ok_and(|old| old == new) {
        return Ok(());
    }
    fs::write(to, new).map_err(|e| QemuError::io("write", to, &e))
}

/// The compiler the headers build with: the first word of
/// `CONFIG_CC_VERSION_TEXT` (Debian's headers set `CC` to the same).
fn kernel_compiler(headers: &Headers) -> Result<String, QemuError> {
    let cc = headers
        .config("CC_VERSION_TEXT")
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or("gcc")
        .to_owned();
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(&cc).is_file()))
        .unwrap_or(false);
    if on_path {
        Ok(cc)
    } else {
        Err(QemuError::MissingProgram {
            package: cc.clone(),
            program: cc,
            why: "the kernel was built with it (CONFIG_CC_VERSION_TEXT) and its headers compile modules with it",
        })
    }
}

/// Step 3: the Kbuild directory and `make modules`.
fn kbuild(headers: &Headers, ws: &Path, object: &Path, out: &Path) -> Result<PathBuf, QemuError> {
    kernel_compiler(headers)?;
    let make = MAKE.find()?;
    let dir = out.join("module");
    mkdir(&dir)?;
    let src = ws.join("kernel").join("kmod");
    for entry in fs::read_dir(&src).map_err(|e| QemuError::io("list", &src, &e))? {
        let p = entry.map_err(|e| QemuError::io("list", &src, &e))?.path();
        if let (true, Some(name)) = (p.is_file(), p.file_name()) {
            copy_if_changed(&p, &dir.join(name))?;
        }
    }
    copy_if_changed(
        &ws.join("mpath-ffi").join("include").join("mpath.h"),
        &dir.join("mpath.h"),
    )?;
    copy_if_changed(object, &dir.join("mpath_rust.o_prebuilt"))?;
    let build = headers.build_dir().display().to_string();
    let m = format!("M={}", dir.display());
    let line = format!("make -C {build} {m} modules");
    let done = Command::new(make)
        .args(["-C", &build, &m, "-j2", "modules"])
        .output()
        .map_err(|e| QemuError::Command {
            command: line.clone(),
            detail: e.to_string(),
        })?;
    let mut log = done.stdout.clone();
    log.extend_from_slice(&done.stderr);
    if !done.status.success() {
        return Err(QemuError::Command {
            command: line,
            detail: format!("{}: {}", done.status, tail(&log, 30)),
        });
    }
    let text = String::from_utf8_lossy(&log);
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("warning:") || l.contains("WARNING:"))
        .collect();
    if !warnings.is_empty() {
        return Err(build_error(
            "kbuild",
            format!("{line} warned:\n{}", warnings.join("\n")),
        ));
    }
    let ko = dir.join(format!("{MODULE}.ko"));
    if !ko.is_file() {
        return Err(build_error(
            "kbuild",
            format!("{line} made no {}", ko.display()),
        ));
    }
    Ok(ko)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "\
0000000000000000 <mpath_a>:
   0:\tpush   %rbx
   1:\tcall   *%rax
   3:\tjmp    0 <__x86_return_thunk>
0000000000000010 <mpath_b>:
  10:\tjmp    *0x0(,%rax,8)
  17:\tret
  18:\tcall   20 <__x86_indirect_thunk_r11>
";

    #[test]
    fn returns_and_indirect_branches_are_found_by_function() {
        assert_eq!(
            unmitigated(LISTING, true, true),
            [
                "mpath_a: call   *%rax",
                "mpath_b: jmp    *0x0(,%rax,8)",
                "mpath_b: ret"
            ]
        );
        assert_eq!(unmitigated(LISTING, true, false), ["mpath_b: ret"]);
        assert!(unmitigated(LISTING, false, false).is_empty());
    }
}
