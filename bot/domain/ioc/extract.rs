//! Turns scanner candidates into indicators: deduplication in order of first
//! appearance, the host of a URL and the domain of an e-mail address, and
//! flags from address blocks, reserved names and the known-good list.

use std::collections::HashSet;
use std::net::IpAddr;

use super::name::{
    hash_kind, is_file_extension, parse_domain, parse_email, parse_filename, reserved_name_flag,
};
use super::net::{Cidr, address_flags, cidr_flags, parse_cidr, parse_ipv4, parse_ipv6};
use super::refang::refang;
use super::registry;
use super::scan::{Found, Sink, scan};
use super::url::{Host, nested_url, parse_url};
use super::{Extractor, Ioc, IocError, IocFlag, IocKind, MAX_VALUE_LEN};

pub(super) fn extract(extractor: &Extractor, text: &str) -> Vec<Ioc> {
    let text = refang(text);
    let mut collector = Collector {
        extractor,
        seen: HashSet::new(),
        key: String::new(),
        iocs: Vec::new(),
    };
    scan(&text, &mut collector);
    collector.iocs
}

pub(super) fn classify_one(extractor: &Extractor, value: &str) -> Result<Ioc, IocError> {
    let value = strip_wrappers(value);
    if value.is_empty() {
        return Err(IocError::Empty);
    }
    if value.len() > MAX_VALUE_LEN {
        return Err(IocError::TooLong {
            len: value.len(),
            max: MAX_VALUE_LEN,
        });
    }
    let refanged = refang(value);
    let found =
        classify_whole(strip_wrappers(&refanged)).ok_or_else(|| IocError::NotAnIndicator {
            value: value.to_owned(),
        })?;
    Ok(extractor.plain_ioc(found))
}

/// Strips spaces, a list bullet, trailing `,` or `;`, and quotes, backticks
/// or brackets around the whole value, repeatedly.
fn strip_wrappers(value: &str) -> &str {
    let mut value = value.trim();
    if let Some(rest) = value.strip_prefix(['-', '*', '•'])
        && (rest.is_empty() || rest.starts_with(char::is_whitespace))
    {
        value = rest.trim_start();
    }
    loop {
        let before = value;
        value = value.trim().trim_end_matches([',', ';']);
        for (open, close) in [('"', '"'), ('\'', '\''), ('`', '`'), ('(', ')'), ('[', ']')] {
            if value.len() >= 2 && value.starts_with(open) && value.ends_with(close) {
                value = &value[open.len_utf8()..value.len() - close.len_utf8()];
            }
        }
        if value == before {
            return value;
        }
    }
}

/// Classifies a whole value as exactly one indicator, or returns `None`.
fn classify_whole(value: &str) -> Option<Found> {
    // Only a registry key may contain spaces.
    if let Some(key) = registry::parse_whole(value) {
        return Some(Found::RegistryKey(key));
    }
    if value.contains(char::is_whitespace) {
        return None;
    }
    if value.contains("://") {
        return parse_url(value).map(Found::Url);
    }

    // The separator a value contains decides what it can be.
    let value = match value.get(..7) {
        Some(head) if head.eq_ignore_ascii_case("mailto:") => &value[7..],
        _ => value,
    };
    if value.contains('/') {
        return parse_cidr(value).map(Found::Cidr);
    }
    if value.contains(':') {
        return parse_ipv6(value).map(|ip| Found::Ip(IpAddr::V6(ip)));
    }
    if value.contains('@') {
        return parse_email(value).map(|(address, domain)| Found::Email { address, domain });
    }

    // Then the plain kinds, in the order the scanner tries them.
    if let Some(kind) = hash_kind(value) {
        return Some(Found::Hash(kind, value.to_ascii_lowercase()));
    }
    if value.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return parse_ipv4(value).map(|ip| Found::Ip(IpAddr::V4(ip)));
    }
    let extension = value
        .rsplit_once('.')
        .map_or("", |(_, extension)| extension);
    if is_file_extension(extension) {
        return parse_filename(value).map(|name| Found::Filename(name.to_owned()));
    }
    parse_domain(value).map(Found::Domain)
}

/// Collects indicators without duplicates, in order of first appearance.
struct Collector<'e> {
    extractor: &'e Extractor,
    /// Keys of the indicators seen: a kind tag, then the value (lowercase for
    /// the kinds compared without case).
    seen: HashSet<String>,
    key: String,
    iocs: Vec<Ioc>,
}

impl Collector<'_> {
    /// Adds an indicator unless it was seen. Flags are computed only for new
    /// ones.
    fn push(&mut self, kind: IocKind, value: &str, flags: impl FnOnce() -> Vec<IocFlag>) {
        self.key.clear();
        self.key.push(char::from(b'a' + kind as u8));
        if matches!(kind, IocKind::Filename | IocKind::RegistryKey) {
            self.key
                .extend(value.chars().map(|c| c.to_ascii_lowercase()));
        } else {
            self.key.push_str(value);
        }
        if self.seen.contains(self.key.as_str()) {
            return;
        }
        self.seen.insert(self.key.clone());
        self.iocs.push(Ioc {
            kind,
            value: value.to_owned(),
            flags: flags(),
        });
    }

    fn push_host(&mut self, host: &Host) {
        let extractor = self.extractor;
        match host {
            Host::Ipv4(ip) => self.push_ip(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => self.push_ip(IpAddr::V6(*ip)),
            Host::Domain(domain) => {
                self.push(IocKind::Domain, domain, || extractor.domain_flags(domain));
            }
            Host::Name(_) | Host::Empty => {}
        }
    }

    /// Adds the URL inside `url` (a redirect's `?u=https://…`) and its host,
    /// and then the URL inside that one, and so on.
    fn push_nested_url(&mut self, url: &str) {
        let extractor = self.extractor;
        let mut next = nested_url(url).and_then(parse_url);
        while let Some(inner) = next {
            self.push(IocKind::Url, &inner.value, || {
                extractor.url_flags(&inner.value, &inner.host)
            });
            self.push_host(&inner.host);
            next = nested_url(&inner.value).and_then(parse_url);
        }
    }

    fn push_ip(&mut self, ip: IpAddr) {
        let extractor = self.extractor;
        let kind = if ip.is_ipv4() {
            IocKind::Ipv4
        } else {
            IocKind::Ipv6
        };
        self.push(kind, &ip.to_string(), || extractor.ip_flags(ip));
    }
}

impl Sink for Collector<'_> {
    fn found(&mut self, item: Found) {
        let extractor = self.extractor;
        match item {
            Found::Ip(ip) => self.push_ip(ip),
            Found::Url(url) => {
                self.push(IocKind::Url, &url.value, || {
                    extractor.url_flags(&url.value, &url.host)
                });
                self.push_host(&url.host);
                self.push_nested_url(&url.value);
            }
            Found::UrlHost(url) => self.push_host(&url.host),
            Found::Email { address, domain } => {
                self.push(IocKind::Email, &address, || {
                    extractor.email_flags(&address, &domain)
                });
                self.push(IocKind::Domain, &domain, || extractor.domain_flags(&domain));
            }
            other => {
                let ioc = extractor.plain_ioc(other);
                let flags = ioc.flags;
                self.push(ioc.kind, &ioc.value, || flags);
            }
        }
    }
}

/// Sorts flags and removes duplicates.
fn finish(mut flags: Vec<IocFlag>) -> Vec<IocFlag> {
    flags.sort_unstable();
    flags.dedup();
    flags
}

impl Extractor {
    fn ip_flags(&self, ip: IpAddr) -> Vec<IocFlag> {
        let mut flags = Vec::new();
        address_flags(ip, &mut flags);
        if self.known_good.covers_address(ip) {
            flags.push(IocFlag::KnownGood);
        }
        finish(flags)
    }

    fn cidr_flags(&self, cidr: &Cidr) -> Vec<IocFlag> {
        let mut flags = Vec::new();
        cidr_flags(cidr, &mut flags);
        if self.known_good.covers_block(cidr) {
            flags.push(IocFlag::KnownGood);
        }
        finish(flags)
    }

    fn domain_flags(&self, domain: &str) -> Vec<IocFlag> {
        let mut flags: Vec<IocFlag> = reserved_name_flag(domain).into_iter().collect();
        if self.known_good.covers_domain(domain) {
            flags.push(IocFlag::KnownGood);
        }
        finish(flags)
    }

    fn url_flags(&self, url: &str, host: &Host) -> Vec<IocFlag> {
        let mut flags = match host {
            Host::Ipv4(ip) => self.ip_flags(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => self.ip_flags(IpAddr::V6(*ip)),
            Host::Domain(domain) => self.domain_flags(domain),
            Host::Name(name) => vec![reserved_name_flag(name).unwrap_or(IocFlag::Private)],
            Host::Empty => Vec::new(),
        };
        if self.known_good.has_url(url) {
            flags.push(IocFlag::KnownGood);
        }
        finish(flags)
    }

    fn email_flags(&self, address: &str, domain: &str) -> Vec<IocFlag> {
        let mut flags = self.domain_flags(domain);
        if self.known_good.has_email(address) {
            flags.push(IocFlag::KnownGood);
        }
        finish(flags)
    }

    /// Builds the indicator for one candidate, without the host that
    /// [`Extractor::extract`] adds after a URL or e-mail address.
    fn plain_ioc(&self, found: Found) -> Ioc {
        let known_good = |yes: bool| {
            if yes {
                vec![IocFlag::KnownGood]
            } else {
                Vec::new()
            }
        };
        let (kind, value, flags) = match found {
            Found::Ip(ip) => {
                let kind = if ip.is_ipv4() {
                    IocKind::Ipv4
                } else {
                    IocKind::Ipv6
                };
                (kind, ip.to_string(), self.ip_flags(ip))
            }
            Found::Cidr(cidr) => (IocKind::Cidr, cidr.to_string(), self.cidr_flags(&cidr)),
            Found::Domain(domain) => {
                let flags = self.domain_flags(&domain);
                (IocKind::Domain, domain, flags)
            }
            Found::Hash(kind, hash) => {
                let flags = known_good(self.known_good.has_hash(&hash));
                (kind, hash, flags)
            }
            Found::Filename(name) => {
                let flags = known_good(self.known_good.has_filename(&name));
                (IocKind::Filename, name, flags)
            }
            Found::RegistryKey(key) => {
                let flags = known_good(self.known_good.has_registry_key(&key));
                (IocKind::RegistryKey, key, flags)
            }
            Found::Url(url) | Found::UrlHost(url) => {
                let flags = self.url_flags(&url.value, &url.host);
                (IocKind::Url, url.value, flags)
            }
            Found::Email { address, domain } => {
                let flags = self.email_flags(&address, &domain);
                (IocKind::Email, address, flags)
            }
        };
        Ioc { kind, value, flags }
    }
}
