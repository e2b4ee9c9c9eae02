//! Human units in scenario files: durations ("100us", "30ms", "1.5s"),
//! rates ("10Gbps", "1.25GB/s", "500MiB/s") and sizes ("4KiB", 512).
//!
//! Numbers are decimal with an optional fraction and are converted with
//! integer arithmetic only, so "1.25GB/s" is exactly 1 250 000 000 bytes
//! per second and a value that is not a whole number of the engine's unit
//! (nanoseconds, bytes) is refused rather than rounded: a scenario file
//! means what it says, and the trace of a run depends on every
//! nanosecond.

use std::fmt;

use mpath_core::Duration;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Duration units, in nanoseconds.
const DURATION_UNITS: [(&str, u128); 6] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
];

/// A decimal number with an optional fraction, split from its unit.
struct Decimal<'a> {
    /// The digits without the point.
    mantissa: u128,
    /// Digits after the point.
    scale: u32,
    /// What follows the number, spaces trimmed.
    unit: &'a str,
}

fn split_number(s: &str) -> Result<Decimal<'_>, String> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(end);
    let num: String = num.chars().filter(|&c| c != '_').collect();
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return Err(format!("`{s}` does not start with a number"));
    }
    let (int, frac) = num.split_once('.').unwrap_or((&num, ""));
    if frac.contains('.') {
        return Err(format!("`{s}`: more than one decimal point"));
    }
    let digits = format!("{int}{frac}");
    let mantissa = digits
        .parse::<u128>()
        .map_err(|_| format!("`{s}`: number too large"))?;
    let scale = u32::try_from(frac.len()).map_err(|_| format!("`{s}`: too many decimals"))?;
    if scale > 18 {
        return Err(format!("`{s}`: too many decimals"));
    }
    Ok(Decimal {
        mantissa,
        scale,
        unit: unit.trim(),
    })
}

/// `d.mantissa / 10^scale * num / den`, if that is a whole number that
/// fits a u64.
fn exact(d: &Decimal<'_>, num: u128, den: u128, s: &str, what: &str) -> Result<u64, String> {
    let top = d
        .mantissa
        .checked_mul(num)
        .ok_or_else(|| format!("`{s}` is too large"))?;
    let bottom = 10u128.pow(d.scale) * den;
    if top % bottom != 0 {
        return Err(format!("`{s}` is not a whole number of {what}"));
    }
    u64::try_from(top / bottom).map_err(|_| format!("`{s}` is too large"))
}

/// A duration: a number and one of ns, us (or µs), ms, s. "0" alone is
/// zero.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = split_number(s)?;
    if d.unit.is_empty() {
        if d.mantissa == 0 {
            return Ok(Duration::ZERO);
        }
        return Err(format!(
            "`{s}` has no unit: write e.g. \"{s}ms\" (units ns, us, ms, s)"
        ));
    }
    let Some(&(_, ns)) = DURATION_UNITS.iter().find(|(u, _)| *u == d.unit) else {
        return Err(format!(
            "`{s}`: unknown duration unit `{}` (units ns, us, ms, s)",
            d.unit
        ));
    };
    exact(&d, ns, 1, s, "nanoseconds").map(Duration::from_nanos)
}

/// The shortest exact form: the largest unit the duration is a whole
/// number of.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return String::from("0s");
    }
    for (unit, scale) in [("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)] {
        if ns % scale == 0 {
            return format!("{}{unit}", ns / scale);
        }
    }
    format!("{ns}ns")
}

/// A duration for people: three significant figures in the unit that
/// reads best (`230us`, `1.25ms`, `2s`). Not exact; for reports.
pub fn human_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    let (scale, unit) = if ns >= 1_000_000_000 {
        (1_000_000_000, "s")
    } else if ns >= 1_000_000 {
        (1_000_000, "ms")
    } else if ns >= 1_000 {
        (1_000, "us")
    } else {
        (1, "ns")
    };
    format!("{}{unit}", trim_decimal(ns, scale, 3))
}

/// `v / scale` with at most `places` decimals, trailing zeros dropped.
fn trim_decimal(v: u64, scale: u64, places: u32) -> String {
    let int = v / scale;
    let rest = v % scale;
    if rest == 0 || places == 0 {
        return int.to_string();
    }
    let p = 10u64.pow(places);
    // Truncated, not rounded: only used where exactness was checked or
    // for display.
    let frac = u128::from(rest) * u128::from(p) / u128::from(scale);
    let s = format!("{frac:0width$}", width = places as usize);
    let s = s.trim_end_matches('0');
    if s.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{s}")
    }
}

/// Decimal and binary prefixes.
fn prefix(p: &str) -> Option<u128> {
    Some(match p {
        "" => 1,
        "k" | "K" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        _ => return None,
    })
}

/// A rate in bytes per second: bytes ("1.25GB/s", "500MiB/s", "800MBps"
/// is refused as ambiguous) or bits ("10Gbps", "10Gb/s", "10Gbit/s").
/// Decimal prefixes are powers of 1000, `Ki`/`Mi`/`Gi` of 1024.
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let d = split_number(s)?;
    let units = "units B/s with k, M, G, T, Ki, Mi, Gi prefixes for bytes, bps or b/s for bits";
    let (p, bits) = if let Some(p) = d.unit.strip_suffix("B/s") {
        (p, false)
    } else if let Some(p) = d
        .unit
        .strip_suffix("bps")
        .or_else(|| d.unit.strip_suffix("bit/s"))
        .or_else(|| d.unit.strip_suffix("b/s"))
    {
        (p, true)
    } else if d.unit.is_empty() {
        return Err(format!(
            "`{s}` has no unit: write e.g. \"10Gbps\" ({units})"
        ));
    } else {
        return Err(format!("`{s}`: unknown rate unit `{}` ({units})", d.unit));
    };
    let Some(scale) = prefix(p) else {
        return Err(format!("`{s}`: unknown prefix `{p}` ({units})"));
    };
    if bits {
        exact(&d, scale, 8, s, "bytes per second")
    } else {
        exact(&d, scale, 1, s, "bytes per second")
    }
}

/// A rate in bytes per second, exactly, in the largest decimal unit that
/// needs at most three decimals ("1.25GB/s", "800MB/s", "1234B/s").
pub fn format_rate(bytes_per_sec: u64) -> String {
    for (unit, scale) in [
        ("TB/s", 1_000_000_000_000u64),
        ("GB/s", 1_000_000_000),
        ("MB/s", 1_000_000),
        ("kB/s", 1_000),
    ] {
        if bytes_per_sec >= scale && bytes_per_sec % (scale / 1_000) == 0 {
            return format!("{}{unit}", trim_decimal(bytes_per_sec, scale, 3));
        }
    }
    format!("{bytes_per_sec}B/s")
}

/// A link rate in bits per second when that is exact in Mb/s or Gb/s
/// ("10Gbps", "2.5Gbps", "100Mbps"), else as [`format_rate`]: how a link
/// is named on its data sheet.
pub fn format_link_rate(bytes_per_sec: u64) -> String {
    let bits = u128::from(bytes_per_sec) * 8;
    for (unit, scale) in [("Gbps", 1_000_000_000u128), ("Mbps", 1_000_000)] {
        if bits >= scale && bits % (scale / 1_000) == 0 {
            if let Ok(b) = u64::try_from(bits) {
                return format!("{}{unit}", trim_decimal(b, scale as u64, 3));
            }
        }
    }
    format_rate(bytes_per_sec)
}

/// A size in bytes: a plain number, or a number and B, KiB, MiB, GiB
/// (powers of 1024) or kB, MB, GB (powers of 1000).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let d = split_number(s)?;
    let Some(p) = d.unit.strip_suffix('B').or(d.unit.is_empty().then_some("")) else {
        return Err(format!(
            "`{s}`: unknown size unit `{}` (units B, KiB, MiB, GiB, kB, MB, GB)",
            d.unit
        ));
    };
    let Some(scale) = prefix(p) else {
        return Err(format!(
            "`{s}`: unknown size unit `{}` (units B, KiB, MiB, GiB, kB, MB, GB)",
            d.unit
        ));
    };
    exact(&d, scale, 1, s, "bytes")
}

/// A size in the largest binary unit it is a whole number of ("4KiB",
/// "1MiB"), else in bytes ("512B").
pub fn format_size(bytes: u64) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    format!("{bytes}B")
}

// ---------------------------------------------------------------------------
// The values of a file's keys, read and written with their units.

/// A duration written with its unit ("30ms").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dur(pub Duration);

/// A rate in bytes per second, written with its unit ("10Gbps", "1.25GB/s").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate(pub u64);

/// A link rate: as [`Rate`], written back in bits per second when exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkRate(pub u64);

/// A size in bytes: a number, or a string with its unit ("4KiB").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

/// Deserialize a string through `parse`.
fn from_str_with<'de, D, T>(
    d: D,
    expecting: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct V<T> {
        expecting: &'static str,
        parse: fn(&str) -> Result<T, String>,
    }
    impl<T> serde::de::Visitor<'_> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<T, E> {
            (self.parse)(s).map_err(E::custom)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<T, E> {
            // A bare number: only a size may be one; the others say
            // which unit is missing.
            (self.parse)(&v.to_string()).map_err(E::custom)
        }
    }
    d.deserialize_any(V { expecting, parse })
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_str_with(d, "a duration such as \"30ms\"", parse_duration).map(Dur)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_str_with(d, "a rate such as \"2GB/s\"", parse_rate).map(Rate)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_rate(self.0))
    }
}

impl<'de> Deserialize<'de> for LinkRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_str_with(d, "a rate such as \"10Gbps\"", parse_rate).map(LinkRate)
    }
}

impl Serialize for LinkRate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_link_rate(self.0))
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_str_with(d, "a size such as 512 or \"4KiB\"", parse_size).map(Size)
    }
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Small sizes (a block size) read best as a number.
        if self.0 < 1024 || self.0 % 1024 != 0 {
            s.serialize_u64(self.0)
        } else {
            s.serialize_str(&format_size(self.0))
        }
    }
}

impl Default for Dur {
    fn default() -> Self {
        Dur(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_exactly_and_format_back() {
        for (s, ns) in [
            ("100us", 100_000),
            ("100µs", 100_000),
            ("30ms", 30_000_000),
            ("5s", 5_000_000_000),
            ("1.5s", 1_500_000_000),
            ("0.25ms", 250_000),
            ("7ns", 7),
            ("0", 0),
            (" 2 ms ", 2_000_000),
            ("1_000ms", 1_000_000_000),
        ] {
            let d = parse_duration(s).unwrap();
            assert_eq!(d.as_nanos(), ns, "{s}");
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d, "{s}");
        }
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_micros(100)), "100us");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn bad_durations_say_why() {
        for (s, why) in [
            ("5", "no unit"),
            ("5 parsecs", "unknown duration unit `parsecs`"),
            ("ms", "does not start with a number"),
            ("1.5ns", "not a whole number of nanoseconds"),
            ("1..5s", "more than one decimal point"),
            ("99999999999s", "too large"),
        ] {
            let e = parse_duration(s).unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
        }
    }

    #[test]
    fn rates_in_bits_and_bytes() {
        for (s, bps) in [
            ("10Gbps", 1_250_000_000),
            ("10Gb/s", 1_250_000_000),
            ("10Gbit/s", 1_250_000_000),
            ("1.25GB/s", 1_250_000_000),
            ("500MB/s", 500_000_000),
            ("2MiB/s", 2 << 20),
            ("32Gbps", 4_000_000_000),
            ("800B/s", 800),
        ] {
            assert_eq!(parse_rate(s).unwrap(), bps, "{s}");
        }
        assert!(parse_rate("1bps").unwrap_err().contains("whole number"));
        assert!(parse_rate("10").unwrap_err().contains("no unit"));
        assert!(parse_rate("10Xbps").unwrap_err().contains("prefix `X`"));
        assert!(parse_rate("10 furlongs").unwrap_err().contains("furlongs"));
        for v in [
            1_250_000_000,
            2_000_000_000,
            800_000_000,
            1234,
            1,
            312_500_000,
        ] {
            assert_eq!(parse_rate(&format_rate(v)).unwrap(), v, "{v}");
            assert_eq!(parse_rate(&format_link_rate(v)).unwrap(), v, "{v}");
        }
        assert_eq!(format_rate(1_250_000_000), "1.25GB/s");
        assert_eq!(format_link_rate(1_250_000_000), "10Gbps");
        assert_eq!(format_link_rate(312_500_000), "2.5Gbps");
    }

    #[test]
    fn sizes() {
        for (s, b) in [
            ("512", 512),
            ("4KiB", 4096),
            ("1MiB", 1 << 20),
            ("4kB", 4000),
        ] {
            assert_eq!(parse_size(s).unwrap(), b, "{s}");
        }
        assert!(parse_size("4 KiX").is_err());
        assert_eq!(format_size(4096), "4KiB");
        assert_eq!(format_size(512), "512B");
        assert_eq!(format_size(128 << 10), "128KiB");
    }

    #[test]
    fn human_durations_read_well() {
        assert_eq!(human_duration(Duration::from_micros(230)), "230us");
        assert_eq!(human_duration(Duration::from_micros(1250)), "1.25ms");
        assert_eq!(human_duration(Duration::from_secs(2)), "2s");
        assert_eq!(human_duration(Duration::from_nanos(5)), "5ns");
    }
}
