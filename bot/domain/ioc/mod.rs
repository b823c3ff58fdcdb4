//! Indicator of compromise (IOC) extraction: finds indicators in free text,
//! refangs the defanged forms hunters type, and flags (never drops) values
//! that should not be blocked.
//!
//! # Layout
//!
//! - `refang`: undoes JSON escapes in JSON-lines logs, defanging (`[.]`,
//!   `(dot)`, `[:]`, `[@]`…), Slack link wrappers and HTML entities.
//! - `scan`: one pass that cuts text into words and segments for the parsers.
//! - `net`, `name`, `url`, `registry`: one parser per kind of value, each
//!   returning the normalized form.
//! - `extract`: deduplication, derived indicators and flags.
//! - `known_good`: the shipped and operator lists of harmless values.
//! - `output`: the defanged form and JSON lines.
//!
//! # Rules
//!
//! - Values are stored refanged and normalized. Domains, hashes, e-mail
//!   addresses, URL schemes and URL hosts are lowercase. IP addresses are
//!   canonical (RFC 5952 for IPv6, decimal octets for IPv4), a CIDR block is
//!   its network address, and registry hives are short (`HKLM`). File names and registry keys keep
//!   their case, but two that differ only in case count once (the first
//!   spelling seen), as Windows compares them without case.
//! - [`Extractor::extract`] deduplicates and keeps the order of first
//!   appearance. A URL is followed by its host (domain, IPv4 or IPv6; a
//!   single-label host such as `http://intranet/` adds nothing) and an e-mail
//!   address by its domain.
//! - A domain needs a top-level domain from the Public Suffix List (the `psl`
//!   crate), or one of the reserved and internal names that earn a flag:
//!   `example`, `test`, `invalid`, `localhost`, and the internal `local`,
//!   `internal`, `lan`, `home.arpa`, `corp`… So `WORKSTATION5.mordor.local`
//!   is extracted as the domain `workstation5.mordor.local` flagged
//!   `private`: it is an organization's host name, useful for overlap between
//!   findings and never to block at the perimeter.
//! - A file extension from the list in `name` wins over a top-level domain:
//!   `report.zip` and `setup.py` are file names. Inside a URL the host is
//!   always a host, so `http://evil.zip/` gives the domain `evil.zip`.
//! - A URL needs a scheme (`http`, `ldap`, `tcp`…, or the defanged `hxxp`,
//!   `fxp`). A scheme-less `evil.example.com/gate.php` gives the domain and
//!   the file name, not a URL. A URL runs to the end of its word, so a URL
//!   inside it (`?u=http://…`, `/http:%2F%2F…`) stays part of it.
//! - No indicator comes from version strings (`v2.1.1.108`, `version
//!   1.2.3.4`), times (`03:27:53`, `03:27:57Z..03:28:28Z`), key fingerprints
//!   (`43:51:43:a1:…`), AV signature names (`Trojan:Win32/Emotet.A!ml`) or
//!   .NET identifiers under brand TLDs (`Microsoft.Windows`).
//! - Sysmon's `IMPHASH=` value and Authenticode digests (`PESHA256=`) are
//!   skipped: they have the length of a file hash but are not one, and an EDR
//!   hash block on them would match nothing.
//! - Flags say why a value should not be blocked as it stands: see
//!   [`IocFlag`]. A URL or e-mail address takes the flags of its host.

mod extract;
mod known_good;
mod name;
mod net;
mod output;
mod refang;
mod registry;
mod scan;
mod url;

#[cfg(test)]
mod tests;

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use known_good::{KnownGood, KnownGoodError};
pub use output::write_json_lines;

/// Maximum length of a URL, in bytes. A longer URL is usually an encoded
/// payload; only its host is extracted.
pub const MAX_URL_LEN: usize = 4096;

/// Maximum length of a domain name in bytes (RFC 1035, without the final dot).
pub const MAX_DOMAIN_LEN: usize = 253;

/// Maximum length of one domain label in bytes (RFC 1035).
pub const MAX_LABEL_LEN: usize = 63;

/// Maximum length of an e-mail address in bytes (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// Maximum length of a file name in bytes (NTFS and ext4 name limit).
pub const MAX_FILENAME_LEN: usize = 255;

/// Maximum length of a registry key in bytes. Windows allows longer paths,
/// but a longer match in text is far more likely a run of joined lines.
pub const MAX_REGISTRY_KEY_LEN: usize = 1024;

/// Maximum length of the value given to [`Extractor::classify_one`], in bytes.
pub const MAX_VALUE_LEN: usize = MAX_URL_LEN;

/// The kind of an indicator. The serialized names are the `type` field of
/// `huntbridge iocs` output and of stored rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IocKind {
    Ipv4,
    Ipv6,
    Cidr,
    Domain,
    Url,
    Email,
    Md5,
    Sha1,
    Sha256,
    Filename,
    RegistryKey,
}

impl IocKind {
    /// Every kind, in declaration order.
    pub const ALL: [IocKind; 11] = [
        IocKind::Ipv4,
        IocKind::Ipv6,
        IocKind::Cidr,
        IocKind::Domain,
        IocKind::Url,
        IocKind::Email,
        IocKind::Md5,
        IocKind::Sha1,
        IocKind::Sha256,
        IocKind::Filename,
        IocKind::RegistryKey,
    ];

    /// Returns the serialized name (`ipv4`, `registry_key`…).
    pub fn as_str(self) -> &'static str {
        match self {
            IocKind::Ipv4 => "ipv4",
            IocKind::Ipv6 => "ipv6",
            IocKind::Cidr => "cidr",
            IocKind::Domain => "domain",
            IocKind::Url => "url",
            IocKind::Email => "email",
            IocKind::Md5 => "md5",
            IocKind::Sha1 => "sha1",
            IocKind::Sha256 => "sha256",
            IocKind::Filename => "filename",
            IocKind::RegistryKey => "registry_key",
        }
    }

    /// Returns the kind with this serialized name.
    pub fn from_name(name: &str) -> Option<IocKind> {
        IocKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for IocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reason not to block an indicator as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IocFlag {
    /// Private address space (RFC 1918, RFC 6598 shared address space,
    /// RFC 4193 unique local `fc00::/7`) or an organization-internal name
    /// (`.local`, `.internal`, `.lan`, `.home.arpa`, a single-label URL host).
    Private,
    /// `127.0.0.0/8`, `::1`, `localhost` and names under `.localhost`.
    Loopback,
    /// `169.254.0.0/16` and `fe80::/10`.
    LinkLocal,
    /// `224.0.0.0/4` and `ff00::/8`.
    Multicast,
    /// Special-purpose space that does not route on the internet: `0.0.0.0/8`,
    /// `240.0.0.0/4` with the broadcast address, `192.0.0.0/24`,
    /// `198.18.0.0/15`, `::`, `100::/64`, and names under `.invalid`.
    Reserved,
    /// Documentation ranges (`192.0.2.0/24`, `198.51.100.0/24`,
    /// `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20`) and the RFC 2606 names
    /// (`example.com`, `.net`, `.org`, `*.example`, `*.test`).
    Documentation,
    /// On the known-good list, or a URL or e-mail address whose host is.
    /// Blocking the value itself breaks legitimate use: an empty-file hash, a
    /// Windows system binary, a major domain. For a URL or address, block the
    /// exact value instead of its host.
    KnownGood,
}

impl IocFlag {
    /// Returns the serialized name (`private`, `known_good`…).
    pub fn as_str(self) -> &'static str {
        match self {
            IocFlag::Private => "private",
            IocFlag::Loopback => "loopback",
            IocFlag::LinkLocal => "link_local",
            IocFlag::Multicast => "multicast",
            IocFlag::Reserved => "reserved",
            IocFlag::Documentation => "documentation",
            IocFlag::KnownGood => "known_good",
        }
    }
}

impl fmt::Display for IocFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One indicator, refanged and normalized. `flags` is sorted and has no
/// duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ioc {
    pub kind: IocKind,
    pub value: String,
    pub flags: Vec<IocFlag>,
}

impl Ioc {
    /// Returns whether the indicator carries `flag`.
    pub fn has_flag(&self, flag: IocFlag) -> bool {
        self.flags.contains(&flag)
    }
}

/// The error of [`Extractor::classify_one`]: the value is not one indicator.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IocError {
    #[error(
        "the value is empty; give one indicator: an IP address, CIDR, domain, URL, e-mail \
         address, MD5/SHA-1/SHA-256 hash, file name or registry key"
    )]
    Empty,
    #[error("the value is {len} bytes long, over the {max}-byte limit for one indicator")]
    TooLong { len: usize, max: usize },
    #[error(
        "`{value}` is not a recognised indicator; expected an IP address, CIDR, domain, URL, \
         e-mail address, MD5/SHA-1/SHA-256 hash, file name or registry key"
    )]
    NotAnIndicator { value: String },
}

/// The extractor with its known-good list. `Extractor::default()` uses
/// [`KnownGood::shipped`].
#[derive(Debug, Clone)]
pub struct Extractor {
    known_good: KnownGood,
}

impl Default for Extractor {
    fn default() -> Self {
        Self::new(KnownGood::shipped())
    }
}

impl Extractor {
    /// Creates an extractor that flags the values on `known_good`.
    pub fn new(known_good: KnownGood) -> Self {
        Self { known_good }
    }

    /// Returns the known-good list in use.
    pub fn known_good(&self) -> &KnownGood {
        &self.known_good
    }

    /// Extracts every indicator in `text`, deduplicated, in order of first appearance.
    pub fn extract(&self, text: &str) -> Vec<Ioc> {
        extract::extract(self, text)
    }

    /// Classifies one value a person gave as a single indicator, as for
    /// `/ioc add <value>` and each line of a finding's `iocs:` field. The value
    /// may be defanged, wrapped by Slack, quoted or bracketed, and may start
    /// with a list bullet (`- `, `* `). Returns only that indicator: a URL
    /// without its host, an e-mail address without its domain. Unlike
    /// [`Extractor::extract`], the text rules that need context (version
    /// strings, `IMPHASH=`) do not apply.
    ///
    /// # Errors
    ///
    /// [`IocError::Empty`] for a blank value, [`IocError::TooLong`] past
    /// [`MAX_VALUE_LEN`], and [`IocError::NotAnIndicator`] when the whole
    /// value is not one indicator.
    pub fn classify_one(&self, value: &str) -> Result<Ioc, IocError> {
        extract::classify_one(self, value)
    }
}
