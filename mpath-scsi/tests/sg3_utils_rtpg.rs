//! Cross-check REPORT TARGET PORT GROUPS parameter data (SPC-4 6.37), both
//! header formats, against sg3-utils' `sg_rtpg --decode` (its decoder, fed
//! our bytes as the command's data-in; see `sg3/mod.rs`).
//!
//! Requires the Debian packages `sg3-utils`, `gcc` and `libc6-dev`; without
//! them the test fails, it never skips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sg3;

use mpath_scsi::rtpg::{RelativePortId, TpgDescriptor};
use mpath_scsi::{
    AluaState, List, RtpgFormat, RtpgRepr, SupportedStates, TpgStatus, WireErrorKind,
};
use sg3::{num, run_on_data, Rng};

const TOOL: &str = "sg_rtpg";
/// sg_rtpg's response buffer (REPORT_TGT_GRP_BUFF_LEN): it asks for 1024
/// bytes and, given more, walks descriptors past its buffer, so the largest
/// responses we hand it are exactly 1024 bytes.
const SG_RTPG_BUF: usize = 1024;

/// One descriptor as sg_rtpg printed it.
#[derive(Debug, Default)]
struct SgGroup {
    id: u16,
    pref: bool,
    rtpg_fmt: u8,
    state: u8,
    state_text: String,
    sup: [bool; 7],
    status: u8,
    status_text: String,
    vendor: u8,
    count: usize,
    ports: Vec<u16>,
}

#[derive(Debug, Default)]
struct SgRtpg {
    itt: Option<u8>,
    groups: Vec<SgGroup>,
}

/// `text (x)` -> `x`.
fn paren(s: &str) -> String {
    let open = s.find('(').unwrap_or_else(|| panic!("no ( in {s:?}"));
    s[open + 1..s.rfind(')').unwrap()].to_string()
}

fn parse_sg(out: &str) -> SgRtpg {
    let mut r = SgRtpg::default();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("Report target port groups:"), "{out}");
    for l in lines {
        let t = l.trim();
        if let Some(v) = t.strip_prefix("Implicit transition time: ") {
            r.itt = Some(v.parse().unwrap());
        } else if let Some(v) = t.strip_prefix("target port group id : ") {
            // "0x%x , Pref=%d, Rtpg_fmt=%d"
            let f: Vec<&str> = v.split(',').map(str::trim).collect();
            r.groups.push(SgGroup {
                id: num(f[0]) as u16,
                pref: f[1] == "Pref=1",
                rtpg_fmt: f[2].strip_prefix("Rtpg_fmt=").unwrap().parse().unwrap(),
                ..SgGroup::default()
            });
        } else if let Some(v) = t.strip_prefix("target port group asymmetric access state : ") {
            let g = r.groups.last_mut().unwrap();
            g.state = num(&v[..4]) as u8;
            g.state_text = paren(v);
        } else if t.starts_with("T_SUP : ") {
            let g = r.groups.last_mut().unwrap();
            let bits: Vec<bool> = t.split(", ").map(|kv| kv.ends_with(": 1")).collect();
            g.sup = bits.try_into().unwrap();
        } else if let Some(v) = t.strip_prefix("status code : ") {
            let g = r.groups.last_mut().unwrap();
            g.status = num(&v[..4]) as u8;
            g.status_text = paren(v);
        } else if let Some(v) = t.strip_prefix("vendor unique status : ") {
            r.groups.last_mut().unwrap().vendor = num(v) as u8;
        } else if let Some(v) = t.strip_prefix("target port count : ") {
            // Printed as "%02x": hexadecimal without a prefix.
            r.groups.last_mut().unwrap().count = usize::from_str_radix(v, 16).unwrap();
        } else if t == "Relative target port ids:" {
        } else if t.starts_with("0x") {
            r.groups.last_mut().unwrap().ports.push(num(t) as u16);
        } else {
            panic!("unexpected sg_rtpg line {l:?}\n{out}");
        }
    }
    r
}

/// sg_rtpg's words for each access state and status code.
fn state_text(s: AluaState) -> &'static str {
    match s {
        AluaState::ActiveOptimized => "active/optimized",
        AluaState::ActiveNonOptimized => "active/non optimized",
        AluaState::Standby => "standby",
        AluaState::Unavailable => "unavailable",
        AluaState::LbaDependent => "logical block dependent",
        AluaState::Offline => "offline",
        AluaState::Transitioning => "transitioning between states",
    }
}

fn status_text(s: TpgStatus) -> &'static str {
    match s {
        TpgStatus::None => "no status available",
        TpgStatus::AlteredBySetTargetPortGroups => {
            "target port asym. state changed by SET TARGET PORT GROUPS command"
        }
        TpgStatus::AlteredByImplicitBehavior => {
            "target port asym. state changed by implicit lu behaviour"
        }
        TpgStatus::Reserved(_) => "unknown status code",
    }
}

fn decode(format: RtpgFormat, b: &[u8]) -> sg3::Output {
    let args: &[&str] = match format {
        RtpgFormat::LengthOnly => &["--decode"],
        RtpgFormat::Extended => &["--decode", "--extended"],
    };
    run_on_data(TOOL, args, b)
}

/// Decode `b` with our parser and with sg_rtpg, in the header format we
/// detect and in the other one, and compare every field.
fn check(b: &[u8]) {
    let r = RtpgRepr::parse_bytes(b).unwrap_or_else(|e| panic!("{b:02x?}: {e}"));
    let sg = decode(r.format, b);
    let ctx = format!("{b:02x?}\n{}{}", sg.stdout, sg.stderr);
    assert!(sg.ok && sg.stderr.is_empty(), "{ctx}");
    let s = parse_sg(&sg.stdout);
    match r.format {
        RtpgFormat::Extended => assert_eq!(s.itt, Some(r.implicit_transition_time), "{ctx}"),
        RtpgFormat::LengthOnly => assert_eq!(s.itt, None, "{ctx}"),
    }
    let ours: Vec<TpgDescriptor<'_>> = r.groups.iter().collect();
    assert_eq!(ours.len(), s.groups.len(), "{ctx}");
    for (o, g) in ours.iter().zip(&s.groups) {
        assert_eq!(g.id, o.group, "{ctx}");
        assert_eq!(g.pref, o.preferred, "{ctx}");
        // Bits 6-4 of descriptor byte 0 are reserved (SPC-4 table 165).
        assert_eq!(g.rtpg_fmt, 0, "{ctx}");
        assert_eq!(g.state, o.state.code(), "{ctx}");
        assert_eq!(g.state_text, state_text(o.state), "{ctx}");
        let sup = [
            SupportedStates::TRANSITIONING,
            SupportedStates::OFFLINE,
            SupportedStates::LBA_DEPENDENT,
            SupportedStates::UNAVAILABLE,
            SupportedStates::STANDBY,
            SupportedStates::ACTIVE_NON_OPTIMIZED,
            SupportedStates::ACTIVE_OPTIMIZED,
        ]
        .map(|f| o.supported.contains(f));
        assert_eq!(g.sup, sup, "{ctx}");
        assert_eq!(g.status, o.status.code(), "{ctx}");
        assert_eq!(g.status_text, status_text(o.status), "{ctx}");
        assert_eq!(g.vendor, o.vendor_specific, "{ctx}");
        let ports: Vec<u16> = o.ports.iter().map(|p| p.0).collect();
        assert_eq!(g.count, ports.len(), "{ctx}");
        assert_eq!(g.ports, ports, "{ctx}");
    }
    // The other header format: sg_rtpg tells the two apart by the same
    // FORMAT TYPE bits we read (byte 4, bits 6-4).
    match r.format {
        RtpgFormat::LengthOnly => {
            let other = decode(RtpgFormat::Extended, b);
            if ours.is_empty() {
                // Nothing at byte 4 to test; sg_rtpg reads its zeroed buffer.
                return;
            }
            assert!(
                other.stderr.contains("invalid extended header format"),
                "{ctx}\n--extended: {other:?}"
            );
        }
        RtpgFormat::Extended => {
            if !sg_walk_fits(b, 4) {
                return;
            }
            let other = decode(RtpgFormat::LengthOnly, b);
            let first = parse_sg(&other.stdout).groups.remove(0);
            assert_eq!(first.rtpg_fmt, 1, "{ctx}\nwithout --extended: {other:?}");
        }
    }
}

fn emit(r: &RtpgRepr<'_>) -> Vec<u8> {
    let mut out = vec![0u8; r.buffer_len()];
    assert_eq!(r.emit(&mut out).unwrap(), out.len());
    // And our parser reads back what we wrote.
    assert_eq!(RtpgRepr::parse_bytes(&out).unwrap(), *r);
    out
}

struct Group {
    preferred: bool,
    state: AluaState,
    supported: SupportedStates,
    group: u16,
    status: TpgStatus,
    vendor_specific: u8,
    ports: Vec<RelativePortId>,
}

fn repr_bytes(format: RtpgFormat, itt: u8, groups: &[Group]) -> Vec<u8> {
    let ds: Vec<TpgDescriptor<'_>> = groups
        .iter()
        .map(|g| TpgDescriptor {
            preferred: g.preferred,
            state: g.state,
            supported: g.supported,
            group: g.group,
            status: g.status,
            vendor_specific: g.vendor_specific,
            ports: List::Items(&g.ports),
        })
        .collect();
    emit(&RtpgRepr {
        format,
        implicit_transition_time: itt,
        groups: List::Items(&ds),
    })
}

fn random_group(rng: &mut Rng, ports: usize) -> Group {
    Group {
        preferred: rng.bool(),
        state: rng.pick(&AluaState::ALL),
        supported: SupportedStates::from_bits_truncate(rng.u8()),
        group: rng.u16(),
        status: {
            let any = rng.u8();
            TpgStatus::from_code(rng.pick(&[0, 1, 2, 3, any]))
        },
        vendor_specific: rng.u8(),
        ports: (0..ports).map(|_| RelativePortId(rng.u16())).collect(),
    }
}

fn header_len(f: RtpgFormat) -> usize {
    match f {
        RtpgFormat::LengthOnly => 4,
        RtpgFormat::Extended => 8,
    }
}

/// The corpus: seeded random responses in both formats, every access state
/// and status code, empty lists, and the largest responses sg_rtpg holds
/// (one group with the most ports; the most groups).
fn corpus() -> Vec<Vec<u8>> {
    let mut rng = Rng::new(0x5254_5047); // "RTPG"
    let mut c = Vec::new();
    for format in [RtpgFormat::LengthOnly, RtpgFormat::Extended] {
        let itt = |rng: &mut Rng| match format {
            RtpgFormat::LengthOnly => 0,
            RtpgFormat::Extended => {
                let any = rng.u8();
                rng.pick(&[0, 1, 60, 255, any])
            }
        };
        c.push(repr_bytes(format, itt(&mut rng), &[]));
        for _ in 0..60 {
            let n = rng.below(7);
            let groups: Vec<Group> = (0..n)
                .map(|_| {
                    let p = rng.below(9);
                    random_group(&mut rng, p)
                })
                .collect();
            c.push(repr_bytes(format, itt(&mut rng), &groups));
        }
        for state in AluaState::ALL {
            for status in [0, 1, 2, 3, 0xFF] {
                let mut g = random_group(&mut rng, 1);
                g.state = state;
                g.status = TpgStatus::from_code(status);
                c.push(repr_bytes(format, itt(&mut rng), &[g]));
            }
        }
        let max_ports = (SG_RTPG_BUF - header_len(format) - 8) / 4;
        let itt = itt(&mut rng);
        c.push(repr_bytes(
            format,
            itt,
            &[random_group(&mut rng, max_ports)],
        ));
        let max_groups = (SG_RTPG_BUF - header_len(format)) / 8;
        let groups: Vec<Group> = (0..max_groups).map(|_| random_group(&mut rng, 0)).collect();
        c.push(repr_bytes(format, 0, &groups));
    }
    c
}

/// Whether sg_rtpg's descriptor walk over `b` (from `start`, trusting each
/// TARGET PORT COUNT) stays inside its buffer: it does not bound the walk
/// by RETURN DATA LENGTH within a descriptor, so reading an extended
/// response as length-only could read past its stack buffer.
fn sg_walk_fits(b: &[u8], start: usize) -> bool {
    let len = b.len().min(SG_RTPG_BUF);
    let mut k = start;
    while k < len {
        let count = b.get(k + 7).copied().unwrap_or(0) as usize;
        k += 8 + 4 * count;
        if k > SG_RTPG_BUF {
            return false;
        }
    }
    true
}

#[test]
fn rtpg_agrees_with_sg_rtpg() {
    let corpus = corpus();
    assert!(corpus.len() >= 190, "{}", corpus.len());
    assert!(corpus.iter().any(|b| b.len() == SG_RTPG_BUF));
    for b in &corpus {
        check(b);
    }
}

/// Bytes that must not parse, each with the typed error our parser gives and
/// what sg_rtpg makes of them.
#[test]
fn malformed_rtpg_gives_typed_errors_sg_rtpg_agrees() {
    let mut rng = Rng::new(0x7472_756e); // "trun"
    let groups: Vec<Group> = (0..3).map(|_| random_group(&mut rng, 3)).collect();
    for format in [RtpgFormat::LengthOnly, RtpgFormat::Extended] {
        let full = repr_bytes(format, 0, &groups);
        // Cut anywhere after RETURN DATA LENGTH: Truncated, and sg_rtpg
        // reports the same full length from the same field.
        for cut in 4..full.len() {
            let b = &full[..cut];
            let e = RtpgRepr::parse_bytes(b).unwrap_err();
            assert_eq!(e.kind, WireErrorKind::Truncated, "{cut}: {e}");
            assert_eq!(mpath_scsi::Rtpg::<&[u8]>::required_len(b), Ok(full.len()));
            if cut % 7 == 0 {
                let sg = run_on_data(TOOL, &["--verbose"], b);
                assert!(
                    sg.stdout
                        .contains(&format!("Report list length = {}\n", full.len())),
                    "{sg:?}"
                );
            }
        }
        assert_eq!(
            RtpgRepr::parse_bytes(&full[..3]).unwrap_err().kind,
            WireErrorKind::Truncated
        );
        // RETURN DATA LENGTH shorter than the descriptors: the last
        // descriptor's TARGET PORT COUNT runs past it.
        let mut b = full.clone();
        let rdl = (full.len() - 4 - 4) as u32;
        b[..4].copy_from_slice(&rdl.to_be_bytes());
        let e = RtpgRepr::parse_bytes(&b).unwrap_err();
        assert_eq!(
            (e.kind, e.field),
            (WireErrorKind::Truncated, "TARGET PORT COUNT")
        );
        // A reserved access state (5h-Dh): sg_rtpg calls it unknown.
        let h = header_len(format);
        for code in 5..=0xD {
            let mut b = full.clone();
            b[h] = (b[h] & 0xF0) | code;
            let e = RtpgRepr::parse_bytes(&b).unwrap_err();
            assert_eq!((e.kind, e.offset), (WireErrorKind::Reserved, h));
            let sg = decode(format, &b);
            let s = parse_sg(&sg.stdout);
            assert_eq!(s.groups[0].state, code, "{sg:?}");
            assert_eq!(s.groups[0].state_text, "unknown", "{sg:?}");
        }
    }
    // FORMAT TYPE 010b-111b are reserved (SPC-4 table 163): we refuse to
    // guess, sg_rtpg --extended says the header is invalid.
    let ext = repr_bytes(RtpgFormat::Extended, 9, &groups);
    for ft in 2..8u8 {
        let mut b = ext.clone();
        b[4] = ft << 4;
        let e = RtpgRepr::parse_bytes(&b).unwrap_err();
        assert_eq!(
            (e.kind, e.field, e.offset),
            (WireErrorKind::UnknownFormat, "FORMAT TYPE", 4)
        );
        let sg = decode(RtpgFormat::Extended, &b);
        assert!(
            sg.stderr.contains("invalid extended header format"),
            "{sg:?}"
        );
    }
}
