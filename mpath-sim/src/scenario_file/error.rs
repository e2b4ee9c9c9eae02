//! Errors in a scenario file, and where they are: the line, and the key
//! as a path (`path[1].latency`). serde's errors carry a byte span, which
//! is mapped to the key it falls in; the loader's own checks name their
//! key, which is looked up in a spanned parse of the same text.

use std::fmt;
use std::ops::Range;

/// A key in a file: `path[1].latency`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(Vec<Seg>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

impl KeyPath {
    pub(super) fn key(&self, k: &str) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_owned()));
        p
    }
    pub(super) fn index(&self, i: usize) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
    pub(super) fn top(k: &str) -> KeyPath {
        KeyPath::default().key(k)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// What is wrong with a scenario file, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    /// The file, if read from one.
    pub file: Option<String>,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The key (`path[1].latency`); empty for the file as a whole.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// The line's text.
    pub source_line: Option<String>,
}

impl std::error::Error for FileError {}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        if let Some(l) = self.line {
            write!(f, "line {l}: ")?;
        }
        if !self.key.is_empty() {
            write!(f, "key `{}`: ", self.key)?;
        }
        f.write_str(&self.message)?;
        if let (Some(l), Some(src)) = (self.line, &self.source_line) {
            write!(f, "\n  {l:>4} | {src}")?;
        }
        Ok(())
    }
}

impl FileError {
    fn new(text: &str, span: Option<Range<usize>>, key: String, message: String) -> FileError {
        let (line, source_line) = match span {
            Some(s) => {
                let start = s.start.min(text.len());
                let line = text
                    .get(..start)
                    .map_or(0, |t| t.bytes().filter(|&b| b == b'\n').count());
                (
                    Some(line + 1),
                    text.lines().nth(line).map(|l| l.trim_end().to_owned()),
                )
            }
            None => (None, None),
        };
        FileError {
            file: None,
            line,
            key,
            message,
            source_line,
        }
    }

    /// An error of serde's: its span gives the line and the key.
    pub(super) fn from_toml(text: &str, e: &toml::de::Error) -> FileError {
        let span = e.span();
        let key = span
            .clone()
            .and_then(|s| key_at(text, s.start))
            .map(|k| k.to_string())
            .unwrap_or_default();
        FileError::new(text, span, key, e.message().trim().to_owned())
    }

    /// An error of the checks: the key gives the line.
    pub(super) fn at(text: &str, key: &KeyPath, message: String) -> FileError {
        FileError::new(text, span_of(text, key), key.to_string(), message)
    }

    /// The same error, naming the file.
    pub fn in_file(mut self, file: &str) -> FileError {
        self.file = Some(file.to_owned());
        self
    }
}

type Spanned<T> = toml::Spanned<T>;
type DeValue<'i> = toml::de::DeValue<'i>;

fn contains(r: &Range<usize>, at: usize) -> bool {
    r.start <= at && at < r.end.max(r.start + 1)
}

/// The deepest key whose key or value covers byte `at`. A table written
/// as `[name]` spans only its header, so the search looks inside every
/// table rather than only those whose span covers `at`.
fn key_at(text: &str, at: usize) -> Option<KeyPath> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    search_table(doc.get_ref(), at, &KeyPath::default())
}

fn search_table(t: &toml::de::DeTable<'_>, at: usize, path: &KeyPath) -> Option<KeyPath> {
    t.iter().find_map(|(k, v)| {
        let here = path.key(k.get_ref());
        if contains(&k.span(), at) {
            return Some(here);
        }
        search_value(v, at, &here)
    })
}

fn search_value(v: &Spanned<DeValue<'_>>, at: usize, path: &KeyPath) -> Option<KeyPath> {
    let inner = match v.get_ref() {
        DeValue::Table(t) => search_table(t, at, path),
        DeValue::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, e)| search_value(e, at, &path.index(i))),
        _ => None,
    };
    inner.or_else(|| contains(&v.span(), at).then(|| path.clone()))
}

/// Where a key is written (its key's span; an array element's own span),
/// or the nearest enclosing thing that is.
fn span_of(text: &str, key: &KeyPath) -> Option<Range<usize>> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut best = None;
    let mut value: Option<&DeValue<'_>> = None;
    for seg in &key.0 {
        let next = match (seg, value) {
            (Seg::Key(k), None) => find_key(doc.get_ref(), k),
            (Seg::Key(k), Some(DeValue::Table(t))) => find_key(t, k),
            (Seg::Index(i), Some(DeValue::Array(a))) => a.get(*i).map(|v| (v.span(), v)),
            _ => None,
        };
        let Some((span, v)) = next else { break };
        best = Some(span);
        value = Some(v.get_ref());
    }
    best
}

fn find_key<'a, 'i>(
    t: &'a toml::de::DeTable<'i>,
    k: &str,
) -> Option<(Range<usize>, &'a Spanned<DeValue<'i>>)> {
    t.iter()
        .find(|(kk, _)| kk.get_ref() == k)
        .map(|(kk, v)| (kk.span(), v))
}
