#!/usr/bin/env python3
"""Object-code gate: no panic, float, 128-bit helper or SSE/x87 instruction
reachable from mpath-ffi's C exports, proven on the real staticlib.

`nm -u` on an rlib cannot see this: generic code is compiled where it is
instantiated, so panics reachable through the core's generics first exist
in the final staticlib. This script builds mpath-ffi for the bare-metal
kernel target with kernel code-generation flags, reads every object in the
archive (its own crates, core, compiler_builtins), and builds a graph whose
nodes are sections (rustc emits one section per function and per data
item) and whose edges are relocations: a relocation against a symbol
points at the section that defines it (in the same object for a local
symbol, in any object for a global or weak one), one against a section
symbol at that section, and one against a symbol no object defines is a
leaf named by the symbol. Starting from every exported `mpath_*` function
it walks the graph and fails if it reaches

  panic   the panic machinery (core::panicking, bounds/slice/unwrap
          failures, the panic handler);
  float   a soft-float helper (__adddf3, __floatundidf, ...) or libm;
  i128    a 128-bit integer helper (__udivti3, __muloti4, ...);
  sse     an SSE, MMX or x87 instruction in a reachable function.

For each finding it prints the path from an export to it. Reached
functions are not followed past a finding. Standard library only, plus
binutils' `objdump` (disassembly) and `c++filt` (Rust v0 and legacy
demangling).

  scripts/objgate.py                         build and check (CI)
  scripts/objgate.py --features gate-selftest --expect panic,float,i128,sse
                                             prove each kind is caught
  scripts/objgate.py --archive lib.a         check an archive built elsewhere

Exit status: 0 clean (or, with --expect, every expected kind found), 1
findings (or a kind missed), 2 nothing to check (no archive, no exports).
"""

import argparse
import collections
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The kernel target: soft-float, no SSE, no red zone, panic=abort already;
# the flags below are stated so the gate checks what a kernel module links
# (stable rustc accepts all of them for x86_64-unknown-none). Line tables
# (which do not change the code) let a finding name the source line of
# each call on its path, through inlined frames.
TARGET = "x86_64-unknown-none"
KERNEL_RUSTFLAGS = ("-C panic=abort -C code-model=kernel -C relocation-model=static "
                    "-C no-redzone=y -C debuginfo=line-tables-only")

KINDS = ("panic", "float", "i128", "sse")

PANIC_MARKERS = (
    "core::panicking::",
    "panic_fmt",
    "panic_bounds_check",
    "slice_index_fail",
    "slice_start_index_len_fail",
    "slice_end_index_len_fail",
    "slice_index_order_fail",
    "slice_error_fail",
    "str_index_overflow_fail",
    "len_mismatch_fail",
    "unwrap_failed",
    "expect_failed",
    "begin_panic",
    "rust_begin_unwind",
    "__rust_start_panic",
    "assert_failed",
    "panic_const",
    "panic_nounwind",
    "panic_already_borrowed",
    "panic_already_mutably_borrowed",
    # mpath-ffi's own #[panic_handler].
    "mpath_ffi::panic_halt",
)

FLOAT_RE = re.compile(
    r"^__(?:"
    r"(?:add|sub|mul|div|neg)[sdtx]f3"
    r"|(?:mul|div)[sdtx]c3"
    r"|(?:fix|float|extend|trunc)\w+"
    r"|(?:eq|ne|lt|le|gt|ge|unord|cmp)[sdt]f2"
    r"|pow[sdt]i2"
    r")$"
    r"|^(?:sqrt|cbrt|floor|ceil|trunc|round|rint|fmin|fmax|fma|fmod|fabs|copysign"
    r"|exp|exp2|expm1|log|log2|log10|log1p|pow|sin|cos|tan|hypot)f?$")

I128_RE = re.compile(
    r"^__(?:(?:u?div|u?mod|mul|ashl|ashr|lshr|udivmod|divmod)ti[34]"
    r"|muloti4|rust_[iu]128_\w+)$")

# Registers and mnemonics of the FPU/vector state a kernel does not save
# around its own code (AT&T syntax, as objdump prints it).
SSE_OPERAND_RE = re.compile(r"%(?:[xyz]mm\d+|mm\d|st\b|st\(\d\))")
SSE_MNEMONIC_RE = re.compile(
    r"^(?:v?(?:ld|st)mxcsr|f?emms|fx?save\w*|fx?rstor\w*|xsave\w*|xrstor\w*"
    r"|cvt\w+|movs[sd]|(?:add|sub|mul|div|min|max|sqrt|rcp|rsqrt|cmp)[sp][sd]"
    r"|u?comis[sd]|mov[au]p[sd]|movdq[au]|(?:and|andn|or|xor)p[sd]"
    # x87: every mnemonic beginning with f except the segment prefix.
    r"|f(?!s$)[a-z0-9]+)$")
INSN_PREFIXES = {"lock", "rep", "repz", "repe", "repnz", "repne", "data16",
                 "addr32", "cs", "ds", "es", "ss", "gs", "fs", "notrack",
                 "bnd", "rex", "rex.w", "rex.r", "rex.x", "rex.b"}
# Stack allocation in a prologue: `sub $N,%rsp`, or for frames past a page
# a probe loop that walks %rsp down to %r11 = %rsp - N a page at a time.
FRAME_RE = re.compile(r"^sub\s+\$0x([0-9a-f]+),%(rsp|r11)$")
PAGE = 0x1000


class GateError(Exception):
    """Nothing to check: a missing archive, no exports."""


# ----- reading the archive and its ELF objects -----

def read_archive(path):
    """(name, bytes) for every member object of a System V / GNU `ar`."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"!<arch>\n"):
        raise GateError(f"{path}: not an ar archive")
    members, longnames, pos = [], b"", 8
    while pos + 60 <= len(data):
        hdr = data[pos:pos + 60]
        name = hdr[0:16].decode("ascii", "replace").rstrip()
        size = int(hdr[48:58].decode("ascii").strip())
        body = data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)
        if name in ("/", "/SYM64/", "__.SYMDEF", "__.SYMDEF SORTED"):
            continue
        if name == "//":
            longnames = body
            continue
        if name.startswith("/") and name[1:].isdigit():
            off = int(name[1:])
            end = longnames.find(b"\n", off)
            name = longnames[off:end].decode("utf-8", "replace")
        members.append((name.rstrip("/"), body))
    return members


SHT_SYMTAB, SHT_RELA, SHT_REL, SHT_SYMTAB_SHNDX = 2, 4, 9, 18
SHF_ALLOC, SHF_EXECINSTR = 0x2, 0x4
SHN_UNDEF, SHN_LORESERVE, SHN_XINDEX = 0, 0xff00, 0xffff
STT_SECTION, STT_FILE, STT_FUNC = 3, 4, 2
STB_LOCAL = 0


class Obj:
    """The sections, symbols and relocations of one ELF64 little-endian
    relocatable object."""

    def __init__(self, index, name, data):
        self.index, self.name, self.data = index, name, data
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            raise GateError(f"{name}: not an ELF64 little-endian object")
        (e_shoff,) = struct.unpack_from("<Q", data, 0x28)
        e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        sh0 = struct.unpack_from("<IIQQQQIIQQ", data, e_shoff)
        # Extended numbering: past 0xff00 sections the counts live in
        # section header 0 (rustc objects with one section per function
        # get there).
        if e_shnum == 0:
            e_shnum = sh0[5]
        if e_shstrndx == SHN_XINDEX:
            e_shstrndx = sh0[6]
        self.sections = [struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + i * e_shentsize)
                         for i in range(e_shnum)]
        shstr = self.sections[e_shstrndx]
        self.shstrtab = data[shstr[4]:shstr[4] + shstr[5]]
        self.symbols = []   # (name, info, shndx)
        self.relas = []     # (target section, [(offset, symbol index)])
        xindex = None
        for sh in self.sections:
            if sh[1] == SHT_SYMTAB_SHNDX:
                xindex = data[sh[4]:sh[4] + sh[5]]
        for sh in self.sections:
            if sh[1] == SHT_SYMTAB:
                strtab_sh = self.sections[sh[6]]
                strtab = data[strtab_sh[4]:strtab_sh[4] + strtab_sh[5]]
                raw = data[sh[4]:sh[4] + sh[5]]
                for i, (st_name, st_info, _other, st_shndx, _v, _s) in enumerate(
                        struct.iter_unpack("<IBBHQQ", raw)):
                    if st_shndx == SHN_XINDEX and xindex is not None:
                        (st_shndx,) = struct.unpack_from("<I", xindex, 4 * i)
                    self.symbols.append((cstr(strtab, st_name), st_info, st_shndx))
        for sh in self.sections:
            if sh[1] == SHT_RELA:
                raw = data[sh[4]:sh[4] + sh[5]]
                self.relas.append((sh[7], [(off, info >> 32)
                                           for off, info, _add in struct.iter_unpack("<QQq", raw)]))
            elif sh[1] == SHT_REL:
                raise GateError(f"{name}: REL relocations (not an x86_64 object?)")

    def section_name(self, i):
        return cstr(self.shstrtab, self.sections[i][0])

    def flags(self, i):
        return self.sections[i][2]


def cstr(table, off):
    end = table.find(b"\0", off)
    return table[off:end].decode("utf-8", "replace")


def defined(shndx):
    return shndx != SHN_UNDEF and shndx < SHN_LORESERVE


# ----- the graph -----

class Graph:
    """Nodes: (object index, section index) for sections, ("extern", name)
    for symbols no object defines. Edges: relocations."""

    def __init__(self, objs):
        self.objs = objs
        self.globals = collections.defaultdict(list)   # name -> [node]
        self.names = collections.defaultdict(list)     # node -> [symbol name]
        for o in objs:
            for name, info, shndx in o.symbols:
                if not defined(shndx) or (info & 0xf) in (STT_SECTION, STT_FILE) or not name:
                    continue
                node = (o.index, shndx)
                self.names[node].append(name)
                if info >> 4 != STB_LOCAL:
                    self.globals[name].append(node)
        # source -> {target: [offsets of the relocations in source]}
        self.edges = collections.defaultdict(dict)
        for o in objs:
            for target, relocs in o.relas:
                if not o.flags(target) & SHF_ALLOC:
                    continue   # debug info and the like
                src = (o.index, target)
                out = self.edges[src]
                for off, symidx in relocs:
                    if symidx == 0 or symidx >= len(o.symbols):
                        continue
                    name, info, shndx = o.symbols[symidx]
                    if info >> 4 == STB_LOCAL and defined(shndx):
                        dsts = [(o.index, shndx)]
                    elif name in self.globals:
                        # Weak definitions may be replaced by another
                        # object's: every definition is a possible target.
                        dsts = self.globals[name]
                    elif defined(shndx):
                        dsts = [(o.index, shndx)]
                    else:
                        dsts = [("extern", name)]
                    for d in dsts:
                        out.setdefault(d, []).append(off)

    def roots(self):
        out = {}
        for name, nodes in self.globals.items():
            if not name.startswith("mpath_"):
                continue
            for node in nodes:
                o = self.objs[node[0]]
                if any(n == name and (i & 0xf) == STT_FUNC for n, i, _ in o.symbols):
                    out[name] = node
        return out

    def is_text(self, node):
        return node[0] != "extern" and bool(self.objs[node[0]].flags(node[1]) & SHF_EXECINSTR)

    def raw_names(self, node):
        if node[0] == "extern":
            return [node[1]]
        o = self.objs[node[0]]
        sec = o.section_name(node[1])
        return self.names.get(node, []) + [sec]


# ----- demangling -----

class Demangler:
    """c++filt (binutils >= 2.36 demangles Rust v0 and legacy symbols), run
    once for every name; crate disambiguators and hashes dropped."""

    SECTION_PREFIX = re.compile(r"^\.(?:text|rodata|data|bss|data\.rel\.ro|tbss|tdata)"
                                r"(?:\.unlikely|\.hot|\.startup|\.exit)?\.")

    def __init__(self, names):
        names = sorted({self.strip_section(n) for n in names})
        try:
            out = subprocess.run(["c++filt"], input="\n".join(names) + "\n",
                                 capture_output=True, text=True, check=True).stdout.split("\n")
        except (OSError, subprocess.CalledProcessError):
            out = names
        self.map = {n: self.clean(d) for n, d in zip(names, out)}

    @classmethod
    def strip_section(cls, name):
        return cls.SECTION_PREFIX.sub("", name)

    @staticmethod
    def clean(s):
        s = re.sub(r"\[[0-9a-f]{1,16}\]", "", s)
        return re.sub(r"::h[0-9a-f]{16}$", "", s)

    def __call__(self, name):
        n = self.strip_section(name)
        return self.map.get(n, n)


# ----- checks -----

def classify(graph, demangle, node):
    """The kind of finding a node is (by its symbols), or None."""
    for raw in graph.raw_names(node):
        bare = Demangler.strip_section(raw)
        if FLOAT_RE.match(bare):
            return "float", bare
        if I128_RE.match(bare):
            return "i128", bare
        d = demangle(raw)
        if any(m in d or m in bare for m in PANIC_MARKERS):
            return "panic", d
    return None


def walk(graph, demangle, roots):
    """Breadth-first from every root: parent links, findings (not followed
    further)."""
    parent, findings = {}, {}
    queue = collections.deque()
    for name, node in sorted(roots.items()):
        if node not in parent:
            parent[node] = None
            queue.append(node)
    while queue:
        node = queue.popleft()
        bad = classify(graph, demangle, node)
        if bad:
            findings[node] = bad
            continue
        for nxt in sorted(graph.edges.get(node, ()), key=str):
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return parent, findings


def disassemble(graph, reachable, tmp):
    """Per reachable text section: the SSE/x87 instructions in it and the
    stack frame its prologue allocates."""
    by_obj = collections.defaultdict(set)
    for node in reachable:
        if graph.is_text(node):
            by_obj[node[0]].add(graph.objs[node[0]].section_name(node[1]))
    sse, frames, frame_parts = {}, {}, {}
    for oi, secs in sorted(by_obj.items()):
        o = graph.objs[oi]
        path = object_file(graph, tmp, oi)
        cmd = ["objdump", "-d", "-w", "--no-show-raw-insn", "--no-addresses"]
        for s in sorted(secs):
            cmd += ["-j", s]
        out = subprocess.run(cmd + [path], capture_output=True, text=True, check=True).stdout
        # Section names may repeat within an object: map names to every
        # reachable index with that name.
        index_of = collections.defaultdict(list)
        for node in reachable:
            if node[0] == oi and graph.is_text(node):
                index_of[o.section_name(node[1])].append(node)
        current = []
        for line in out.split("\n"):
            if line.startswith("Disassembly of section "):
                current = index_of.get(line[len("Disassembly of section "):].rstrip(":"), [])
                continue
            insn = line.strip()
            if not current or not insn or insn.endswith(">:") or insn.startswith("..."):
                continue
            tokens = insn.split()
            mnemonic = next((t for t in tokens if t not in INSN_PREFIXES), "")
            if SSE_OPERAND_RE.search(insn) or SSE_MNEMONIC_RE.match(mnemonic):
                for node in current:
                    sse.setdefault(node, insn)
            m = FRAME_RE.match(insn)
            if m:
                size, reg = int(m.group(1), 16), m.group(2)
                for node in current:
                    probe, subs = frame_parts.setdefault(node, [0, []])
                    if reg == "r11":
                        frame_parts[node][0] = probe + size
                    else:
                        subs.append(size)
    for node, (probe, subs) in frame_parts.items():
        if probe and PAGE in subs:
            subs.remove(PAGE)   # the probe loop's own step
        frames[node] = probe + sum(subs)
    return sse, frames


def object_file(graph, tmp, oi):
    """The object on disk, for objdump and addr2line."""
    path = os.path.join(tmp, f"{oi:04d}.o")
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(graph.objs[oi].data)
    return path


RUSTC_SRC = re.compile(r"^/rustc/[0-9a-f]+/")
REGISTRY_SRC = re.compile(r"^.*/registry/src/[^/]+/")


def call_sites(graph, tmp, src, dst, every=False):
    """Where in `src` the references to `dst` are (the first, or `every`
    one), each as source lines from the outermost function to the innermost
    inlined one. Needs line tables; empty without them."""
    if src[0] == "extern" or dst not in graph.edges.get(src, {}):
        return []
    offsets = sorted(set(graph.edges[src][dst]))
    sites = []
    for off in offsets if every else offsets[:1]:
        site = call_site(graph, tmp, src, off)
        if site and site not in sites:
            sites.append(site)
    return sites


def call_site(graph, tmp, src, offset):
    o = graph.objs[src[0]]
    cmd = ["addr2line", "-e", object_file(graph, tmp, src[0]), "-j", o.section_name(src[1]),
           "-f", "-i", "-C", hex(offset)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return []
    pairs = [(out[i].strip(), out[i + 1].strip()) for i in range(0, len(out) - 1, 2)]
    if not pairs or all(loc.startswith("??") or loc.endswith(":?") for _, loc in pairs):
        return []   # no line tables
    # addr2line -i: the address's line, then each caller's call line, each
    # with the function it is in; with line tables only, the innermost
    # inlined function's name is not recorded (the symbol's is printed).
    frames = []
    for i, (func, loc) in enumerate(pairs):
        loc = RUSTC_SRC.sub("", REGISTRY_SRC.sub("", loc)).replace(ROOT + "/", "")
        if i == 0 and len(pairs) > 1:
            frames.append(loc)
        else:
            frames.append(f"{loc} in {Demangler.clean(func)}")
    return frames[::-1]


def path_to(parent, node):
    chain = []
    while node is not None:
        chain.append(node)
        node = parent[node]
    return chain[::-1]


def label(graph, demangle, node):
    names = graph.raw_names(node)
    return demangle(names[0])


def reached_from(graph, roots, targets, leaves):
    """For each target node, the roots that reach it (without passing
    through a leaf)."""
    out = collections.defaultdict(list)
    for name, root in sorted(roots.items()):
        seen, stack = {root}, [root]
        while stack:
            node = stack.pop()
            if node in targets:
                out[node].append(name)
            if node in leaves:
                continue
            for nxt in graph.edges.get(node, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
    return out


def check(archive, expect=None, max_frame=None, verbose=False):
    if not os.path.isfile(archive):
        raise GateError(f"archive {archive} is missing")
    members = read_archive(archive)
    objs = [Obj(i, n, d) for i, (n, d) in enumerate(members) if d[:4] == b"\x7fELF"]
    if not objs:
        raise GateError(f"{archive}: no ELF objects")
    graph = Graph(objs)
    roots = graph.roots()
    print(f"objgate: {archive}: {len(objs)} objects")
    if not roots:
        raise GateError("no exported mpath_* function: the gate would check nothing")
    selftest = sorted(r for r in roots if r.startswith("mpath_gate_selftest"))
    all_names = [n for node_names in graph.names.values() for n in node_names]
    all_names += [o.section_name(i) for o in objs for i in range(len(o.sections))]
    all_names += [n for e in graph.edges.values() for k, n in e if k == "extern"]
    demangle = Demangler(all_names)

    with tempfile.TemporaryDirectory(prefix="objgate.") as tmp:
        return report(graph, demangle, roots, selftest, tmp, expect, max_frame, verbose)


def report(graph, demangle, roots, selftest, tmp, expect, max_frame, verbose):
    parent, findings = walk(graph, demangle, roots)
    reachable = set(parent)
    if verbose:
        for line in sorted(label(graph, demangle, n) for n in reachable):
            print(f"  reachable: {line}")
    sse, frames = disassemble(graph, reachable - set(findings), tmp)
    # One site per reachable function that calls into a finding (or holds
    # an SSE instruction): (kind, what, function, finding node or None).
    sites = []
    for bad, (kind, what) in findings.items():
        for caller in sorted(reachable - set(findings), key=str):
            if bad in graph.edges.get(caller, {}):
                sites.append((kind, what, caller, bad))
    for node, insn in sse.items():
        sites.append(("sse", f"`{insn}`", node, None))
    sites.sort(key=lambda t: (KINDS.index(t[0]), t[1], label(graph, demangle, t[2])))

    text = sum(1 for n in reachable if n[0] != "extern" and graph.is_text(n))
    externs = sorted(n[1] for n in reachable if n[0] == "extern")
    print(f"objgate: {len(roots)} exported mpath_* functions checked, "
          f"{len(reachable)} sections reachable ({text} text)")
    if externs:
        print(f"objgate: symbols the embedder must provide: {', '.join(externs)}")
    biggest = sorted(frames.items(), key=lambda kv: -kv[1])[:5]
    if biggest:
        print("objgate: largest stack frames: " + ", ".join(
            f"{label(graph, demangle, n)} {size} B" for n, size in biggest))
    too_big = [(n, s) for n, s in frames.items() if max_frame is not None and s > max_frame]

    kinds = collections.Counter(site[0] for site in sites)
    who = reached_from(graph, roots, {site[2] for site in sites}, set(findings))
    for kind, what, caller, bad in sites:
        exports = who.get(caller, [])
        print(f"\n[{kind}] {what} in {label(graph, demangle, caller)}")
        print(f"  reached from {len(exports)} export(s): {', '.join(exports[:8])}"
              + (", ..." if len(exports) > 8 else ""))
        steps = path_to(parent, caller) + ([bad] if bad else [])
        for i, step in enumerate(steps):
            print(f"  {'   ' if i == 0 else '-> '}{label(graph, demangle, step)}")
            if i + 1 < len(steps):
                last = i + 2 == len(steps)
                for j, site in enumerate(call_sites(graph, tmp, step, steps[i + 1], every=last)):
                    if j:
                        print("       |   --")
                    for line in site:
                        print(f"       | {line}")
    for node, size in too_big:
        print(f"\n[stack] {label(graph, demangle, node)}: {size} B frame (limit {max_frame})")

    print()
    if expect is not None:
        # Only findings on a self-test export's path count: the real
        # exports' findings must not stand in for a kind the gate missed.
        caught = collections.Counter(
            site[0] for site in sites
            if any(r.startswith("mpath_gate_selftest") for r in who.get(site[2], [])))
        missed = [k for k in expect if not caught[k]]
        if not selftest or missed:
            print("objgate self-test: FAILED, the gate missed: "
                  + (", ".join(missed) if selftest else "every kind (no self-test exports)"))
            return 1
        print("objgate self-test: ok, caught from the self-test exports: " +
              ", ".join(f"{k} ({caught[k]})" for k in expect))
        return 0
    if selftest:
        print(f"objgate: FAILED, self-test exports in a real build: {', '.join(selftest)}")
        return 1
    if sites or too_big:
        summary = ", ".join(f"{kinds[k]} {k}" for k in KINDS if kinds[k])
        print(f"objgate: FAILED, {len(sites) + len(too_big)} finding(s): {summary}"
              + (f", {len(too_big)} stack" if too_big else ""))
        return 1
    print("objgate: ok, no panic, float, 128-bit helper or SSE/x87 instruction reachable")
    return 0


def cargo_build(package, target, features, rustflags):
    """Build the staticlib; its path, from cargo's own report."""
    env = dict(os.environ)
    env.pop("CARGO_ENCODED_RUSTFLAGS", None)
    env["RUSTFLAGS"] = rustflags
    cmd = ["cargo", "build", "--release", "-p", package, "--target", target]
    if features:
        cmd += ["--features", features]
    print(f"objgate: RUSTFLAGS='{rustflags}' {' '.join(cmd)}", flush=True)
    proc = subprocess.run(cmd + ["--message-format=json-render-diagnostics"], cwd=ROOT,
                          env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise GateError(f"cargo build failed ({proc.returncode})")
    crate = package.replace("-", "_")
    for line in proc.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if (msg.get("reason") == "compiler-artifact"
                and msg.get("target", {}).get("name") == crate
                and "staticlib" in msg.get("target", {}).get("kind", [])):
            for f in msg.get("filenames", []):
                if f.endswith(".a"):
                    return f
    raise GateError(f"cargo reported no staticlib for {package}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archive", help="check this .a instead of building")
    ap.add_argument("--package", default="mpath-ffi")
    ap.add_argument("--target", default=TARGET)
    ap.add_argument("--features", default="")
    ap.add_argument("--rustflags", default=KERNEL_RUSTFLAGS)
    ap.add_argument("--expect", help="self-test: comma-separated kinds that must be found "
                    f"({','.join(KINDS)}); exit 0 only if each is")
    ap.add_argument("--verbose", action="store_true", help="list every reachable section")
    ap.add_argument("--max-frame", type=int, help="also fail on a reachable stack frame "
                    "larger than this many bytes")
    args = ap.parse_args()
    expect = None
    if args.expect is not None:
        expect = [k for k in args.expect.split(",") if k]
        unknown = [k for k in expect if k not in KINDS]
        if unknown or not expect:
            ap.error(f"--expect takes kinds from {', '.join(KINDS)}")
    try:
        archive = args.archive or cargo_build(args.package, args.target, args.features,
                                              args.rustflags)
        return check(archive, expect, args.max_frame, args.verbose)
    except GateError as e:
        print(f"objgate: FAILED, {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
