//! Known-good values: indicators that must not be blocked as they stand. The
//! shipped lists live in `data/known-good/` (sources in its README) and are
//! compiled in; operators add their own in the same `kind value` format.

use std::collections::HashSet;
use std::net::IpAddr;

use thiserror::Error;

use super::name::{hash_kind, parse_domain, parse_email, parse_filename};
use super::net::{Cidr, parse_cidr, parse_ipv4, parse_ipv6};
use super::url::parse_url;
use super::{IocKind, registry};

/// The shipped lists, by file name.
const SHIPPED: [(&str, &str); 4] = [
    (
        "empty-hashes.txt",
        include_str!("../../../data/known-good/empty-hashes.txt"),
    ),
    (
        "top-domains.txt",
        include_str!("../../../data/known-good/top-domains.txt"),
    ),
    (
        "lolbins.txt",
        include_str!("../../../data/known-good/lolbins.txt"),
    ),
    (
        "windows-system-files.txt",
        include_str!("../../../data/known-good/windows-system-files.txt"),
    ),
];

/// A line of a known-good list that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KnownGoodError {
    #[error("line {line}: expected `<kind> <value>`, found `{text}`")]
    MissingValue { line: usize, text: String },
    #[error(
        "line {line}: unknown kind `{kind}`; use one of ipv4, ipv6, cidr, domain, url, email, \
         md5, sha1, sha256, filename, registry_key"
    )]
    UnknownKind { line: usize, kind: String },
    #[error("line {line}: `{value}` is not a valid {kind} value")]
    InvalidValue {
        line: usize,
        kind: IocKind,
        value: String,
    },
}

/// Values that are known to be harmless: the shipped lists plus operator
/// entries. `KnownGood::default()` is empty; [`KnownGood::shipped`] has the
/// shipped lists.
///
/// A domain entry also covers its subdomains within the same registrable
/// domain of the Public Suffix List, private section included. So
/// `microsoft.com` covers `www.microsoft.com`, but an entry for a shared
/// hosting domain never covers a customer's name under it
/// (`bucket.s3.amazonaws.com` is its own registrable domain). IP addresses are
/// covered by an equal address or an enclosing CIDR entry. File names and
/// registry keys match without case; other kinds match their normalized value.
#[derive(Debug, Clone, Default)]
pub struct KnownGood {
    domains: HashSet<String>,
    addresses: HashSet<IpAddr>,
    blocks: Vec<Cidr>,
    hashes: HashSet<String>,
    filenames: HashSet<String>,
    urls: HashSet<String>,
    emails: HashSet<String>,
    registry_keys: HashSet<String>,
}

impl KnownGood {
    /// Builds the lists shipped in `data/known-good/`: the empty-file hashes,
    /// popular legitimate domains and Windows LOLBins.
    pub fn shipped() -> Self {
        let mut known_good = Self::default();
        for (file, text) in SHIPPED {
            if let Err(error) = known_good.extend_from_str(text) {
                // The unit test `shipped_lists_parse` keeps this from happening.
                panic!("shipped known-good list data/known-good/{file} is invalid: {error}");
            }
        }
        known_good
    }

    /// Adds the entries of a list in the `kind value` format. Each line holds
    /// one entry, where `kind` is one of the [`IocKind`] names (`domain`,
    /// `sha256`, `filename`, `registry_key`…). Blank lines are ignored, and `#`
    /// starts a comment at the start of a line or after a space. Values may be defanged. Adds nothing
    /// when any line is invalid; the error names the first such line (counted
    /// from 1) and its value.
    pub fn extend_from_str(&mut self, text: &str) -> Result<(), KnownGoodError> {
        let mut entries = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = strip_comment(raw).trim();
            if content.is_empty() {
                continue;
            }
            let Some((kind_name, value)) = content.split_once(char::is_whitespace) else {
                return Err(KnownGoodError::MissingValue {
                    line,
                    text: content.to_owned(),
                });
            };
            let kind =
                IocKind::from_name(kind_name).ok_or_else(|| KnownGoodError::UnknownKind {
                    line,
                    kind: kind_name.to_owned(),
                })?;
            let value = value.trim();
            let refanged = super::refang::refang(value);
            let entry =
                Entry::parse(kind, &refanged).ok_or_else(|| KnownGoodError::InvalidValue {
                    line,
                    kind,
                    value: value.to_owned(),
                })?;
            entries.push(entry);
        }
        for entry in entries {
            self.insert(entry);
        }
        Ok(())
    }

    /// Returns the number of entries.
    pub fn len(&self) -> usize {
        self.domains.len()
            + self.addresses.len()
            + self.blocks.len()
            + self.hashes.len()
            + self.filenames.len()
            + self.urls.len()
            + self.emails.len()
            + self.registry_keys.len()
    }

    /// Returns whether the lists are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert(&mut self, entry: Entry) {
        match entry {
            Entry::Domain(domain) => _ = self.domains.insert(domain),
            Entry::Address(ip) => _ = self.addresses.insert(ip),
            Entry::Block(cidr) => {
                if !self.blocks.contains(&cidr) {
                    self.blocks.push(cidr);
                }
            }
            Entry::Hash(hash) => _ = self.hashes.insert(hash),
            Entry::Filename(name) => _ = self.filenames.insert(name),
            Entry::Url(url) => _ = self.urls.insert(url),
            Entry::Email(address) => _ = self.emails.insert(address),
            Entry::RegistryKey(key) => _ = self.registry_keys.insert(key),
        }
    }

    /// Returns whether `domain` (lowercase) or a parent of it within its
    /// registrable domain is on the list.
    pub(crate) fn covers_domain(&self, domain: &str) -> bool {
        if self.domains.is_empty() {
            return false;
        }
        let floor = psl::domain(domain.as_bytes())
            .map_or(0, |registrable| domain.len() - registrable.as_bytes().len());
        let mut name = domain;
        loop {
            if self.domains.contains(name) {
                return true;
            }
            match name.find('.') {
                Some(dot) if domain.len() - name.len() + dot < floor => {
                    name = &name[dot + 1..];
                }
                _ => return false,
            }
        }
    }

    pub(crate) fn covers_address(&self, ip: IpAddr) -> bool {
        self.addresses.contains(&ip) || self.blocks.iter().any(|block| block.contains(ip))
    }

    pub(crate) fn covers_block(&self, cidr: &Cidr) -> bool {
        self.blocks.iter().any(|block| block.covers(cidr))
    }

    pub(crate) fn has_hash(&self, hash: &str) -> bool {
        self.hashes.contains(hash)
    }

    pub(crate) fn has_filename(&self, name: &str) -> bool {
        !self.filenames.is_empty() && self.filenames.contains(&name.to_ascii_lowercase())
    }

    pub(crate) fn has_url(&self, url: &str) -> bool {
        self.urls.contains(url)
    }

    pub(crate) fn has_email(&self, address: &str) -> bool {
        self.emails.contains(address)
    }

    pub(crate) fn has_registry_key(&self, key: &str) -> bool {
        !self.registry_keys.is_empty() && self.registry_keys.contains(&key.to_ascii_lowercase())
    }
}

/// Returns `line` without its comment: `#` at the start or after whitespace,
/// so a URL fragment (`/page#top`) stays.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let comment = (0..bytes.len())
        .find(|&i| bytes[i] == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()));
    comment.map_or(line, |i| &line[..i])
}

/// One parsed list entry, normalized for lookup.
enum Entry {
    Domain(String),
    Address(IpAddr),
    Block(Cidr),
    Hash(String),
    Filename(String),
    Url(String),
    Email(String),
    RegistryKey(String),
}

impl Entry {
    fn parse(kind: IocKind, value: &str) -> Option<Entry> {
        let entry = match kind {
            IocKind::Ipv4 => Entry::Address(IpAddr::V4(parse_ipv4(value)?)),
            IocKind::Ipv6 => Entry::Address(IpAddr::V6(parse_ipv6(value)?)),
            IocKind::Cidr => Entry::Block(parse_cidr(value)?),
            IocKind::Domain => Entry::Domain(parse_domain(value)?),
            IocKind::Url => Entry::Url(parse_url(value)?.value),
            IocKind::Email => Entry::Email(parse_email(value)?.0),
            IocKind::Md5 | IocKind::Sha1 | IocKind::Sha256 => {
                (hash_kind(value)? == kind).then(|| Entry::Hash(value.to_ascii_lowercase()))?
            }
            IocKind::Filename => Entry::Filename(parse_filename(value)?.to_ascii_lowercase()),
            IocKind::RegistryKey => {
                let key = registry::parse_whole(value)?;
                Entry::RegistryKey(key.to_ascii_lowercase())
            }
        };
        Some(entry)
    }
}
