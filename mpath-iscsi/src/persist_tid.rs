//! `--transport-id` words for the `mpathpersist` tool: the symbolic
//! TransportID forms sg_persist and multipath-tools' `mpathpersist` take
//! (`construct_transportid`), as SPC-4 7.6.4 TransportIDs.
//!
//! | word(s) | TransportID |
//! |---|---|
//! | `iqn.NAME` or `eui.NAME` | iSCSI initiator device (FORMAT CODE 00b) |
//! | `iqn.NAME,i,0xISID` | iSCSI initiator port (01b): the ISID, 1 to 12 hex digits |
//! | `fcp,WWPN` (or `FCP,`), `naa.WWPN` | Fibre Channel N_Port name, 16 hex digits (`naa.` is how LIO names FC ports) |
//! | `sas,ADDRESS` (or `SAS,`) | SAS address, 16 hex digits |
//!
//! One `-X` may carry several, separated by commas (which also separate
//! the parts of one: `iqn.a,i,0x1,fcp,2000000000000001` is two) or white
//! space, and `-X` may be given more than once. A word that fits none of
//! these is an error that names it.

use mpath_scsi::TransportId;

/// The longest iSCSI name (RFC 7143 6.1: 223 bytes).
const ISCSI_NAME_MAX: usize = 223;
/// The longest ISID in hex (48 bits).
const ISID_DIGITS: usize = 12;

/// A TransportID given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tid {
    /// An iSCSI initiator device (`isid: None`) or port.
    Iscsi {
        /// The iSCSI name.
        name: String,
        /// The ISID, hex digits as given (without `0x`).
        isid: Option<String>,
    },
    /// A Fibre Channel N_Port name.
    FibreChannel(u64),
    /// A SAS address.
    Sas(u64),
}

impl Tid {
    /// The TransportID.
    pub fn transport_id(&self) -> TransportId<'_> {
        match self {
            Tid::Iscsi { name, isid } => TransportId::Iscsi {
                name: name.as_bytes(),
                isid: isid.as_deref().map(str::as_bytes),
            },
            Tid::FibreChannel(n_port_name) => TransportId::FibreChannel {
                n_port_name: *n_port_name,
            },
            Tid::Sas(address) => TransportId::Sas { address: *address },
        }
    }

    /// Its bytes, as a PERSISTENT RESERVE OUT parameter list carries them.
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let t = self.transport_id();
        let mut b = vec![0; t.buffer_len()];
        t.emit(&mut b)
            .map_err(|e| format!("TransportID {self}: {e}"))?;
        Ok(b)
    }
}

impl std::fmt::Display for Tid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tid::Iscsi { name, isid: None } => f.write_str(name),
            Tid::Iscsi {
                name,
                isid: Some(i),
            } => write!(f, "{name},i,0x{i}"),
            Tid::FibreChannel(n) => write!(f, "fcp,{n:016x}"),
            Tid::Sas(a) => write!(f, "sas,{a:016x}"),
        }
    }
}

fn hex16(word: &str) -> Option<u64> {
    (word.len() == 16 && word.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u64::from_str_radix(word, 16).ok())
        .flatten()
}

fn is_iscsi_name(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    (lower.starts_with("iqn.") || lower.starts_with("eui.")) && word.len() > 4
}

/// Every TransportID in one `--transport-id` argument.
pub fn parse(arg: &str) -> Result<Vec<Tid>, String> {
    let words: Vec<&str> = arg
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    let bad = |word: &str, why: &str| {
        format!(
            "bad TransportID word {word:?} in {arg:?}: {why} (expected iqn.NAME[,i,0xISID], \
             eui.NAME, fcp,WWPN, naa.WWPN or sas,ADDRESS)"
        )
    };
    if words.is_empty() {
        return Err(format!("--transport-id {arg:?} names no TransportID"));
    }
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&word) = words.get(i) {
        i += 1;
        let lower = word.to_ascii_lowercase();
        if is_iscsi_name(word) {
            if word.len() > ISCSI_NAME_MAX {
                return Err(bad(word, "an iSCSI name is at most 223 bytes"));
            }
            let isid = match (words.get(i), words.get(i + 1)) {
                (Some(&"i" | &"I"), Some(hex)) => {
                    let digits = hex
                        .strip_prefix("0x")
                        .or_else(|| hex.strip_prefix("0X"))
                        .filter(|d| {
                            !d.is_empty()
                                && d.len() <= ISID_DIGITS
                                && d.bytes().all(|b| b.is_ascii_hexdigit())
                        })
                        .ok_or_else(|| bad(hex, "an ISID is 0x and 1 to 12 hex digits"))?;
                    i += 2;
                    Some(digits.to_owned())
                }
                (Some(&"i" | &"I"), None) => {
                    return Err(bad(word, "',i,' without an ISID after it"));
                }
                _ => None,
            };
            out.push(Tid::Iscsi {
                name: word.to_owned(),
                isid,
            });
        } else if let Some(wwpn) = lower.strip_prefix("naa.") {
            let n = hex16(wwpn).ok_or_else(|| bad(word, "naa. takes 16 hex digits"))?;
            out.push(Tid::FibreChannel(n));
        } else if lower == "fcp" || lower == "sas" {
            let next = words
                .get(i)
                .ok_or_else(|| bad(word, "no address after it"))?;
            let n = hex16(next).ok_or_else(|| bad(next, "16 hex digits expected"))?;
            i += 1;
            out.push(if lower == "fcp" {
                Tid::FibreChannel(n)
            } else {
                Tid::Sas(n)
            });
        } else {
            return Err(bad(word, "not a TransportID"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_symbolic_form_is_read() {
        let port = Tid::Iscsi {
            name: "iqn.2024-01.org.x:b".into(),
            isid: Some("800053494d01".into()),
        };
        for (arg, want) in [
            ("iqn.2024-01.org.x:b,i,0x800053494d01", vec![port.clone()]),
            (
                "iqn.2024-01.org.x:b",
                vec![Tid::Iscsi {
                    name: "iqn.2024-01.org.x:b".into(),
                    isid: None,
                }],
            ),
            (
                "eui.0123456789ABCDEF",
                vec![Tid::Iscsi {
                    name: "eui.0123456789ABCDEF".into(),
                    isid: None,
                }],
            ),
            (
                "fcp,2000000000000001",
                vec![Tid::FibreChannel(0x2000_0000_0000_0001)],
            ),
            (
                "FCP,50060B0000C4CC63",
                vec![Tid::FibreChannel(0x5006_0b00_00c4_cc63)],
            ),
            (
                "naa.21000024ff0a0b0c",
                vec![Tid::FibreChannel(0x2100_0024_ff0a_0b0c)],
            ),
            (
                "sas,5000c50000000001",
                vec![Tid::Sas(0x5000_c500_0000_0001)],
            ),
            (
                "iqn.2024-01.org.x:b,i,0x800053494d01,fcp,2000000000000001 sas,5000c50000000001",
                vec![
                    port.clone(),
                    Tid::FibreChannel(0x2000_0000_0000_0001),
                    Tid::Sas(0x5000_c500_0000_0001),
                ],
            ),
        ] {
            assert_eq!(parse(arg), Ok(want.clone()), "{arg}");
            // Each round-trips through its words and its bytes.
            for t in &want {
                assert_eq!(parse(&t.to_string()).as_deref(), Ok(&[t.clone()][..]));
                let b = t.to_bytes().unwrap();
                let (back, n) = TransportId::parse_bytes(&b).unwrap();
                assert_eq!((back, n), (t.transport_id(), b.len()), "{t}");
            }
        }
    }

    #[test]
    fn a_bad_word_is_named() {
        for (arg, word) in [
            ("iqn.x,i,0xZZ", "0xZZ"),
            ("iqn.x,i,0x1234567890abc", "0x1234567890abc"),
            ("iqn.x,i,12", "12"),
            ("iqn.x,i", "iqn.x"),
            ("fcp,123", "123"),
            ("fcp", "fcp"),
            ("naa.1234", "naa.1234"),
            ("sas,xyz", "xyz"),
            ("iqn.", "iqn."),
            ("host-b", "host-b"),
            ("iqn.x,0x12", "0x12"),
        ] {
            let e = parse(arg).unwrap_err();
            assert!(e.contains(&format!("{word:?}")), "{arg}: {e}");
        }
        let long = format!("iqn.{}", "a".repeat(220));
        assert!(parse(&long).unwrap_err().contains("223"));
        assert!(parse(" , ").unwrap_err().contains("names no TransportID"));
    }
}
