//! Blocklists: the incident's indicators sorted by the control that would
//! block them, with every value that must not be blocked listed apart with
//! its reason.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::domain::ioc::{Ioc, IocFlag, IocKind};

use super::Context;

/// The control a blocklist is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlocklistKind {
    /// Perimeter firewall: IPv4 and IPv6 addresses and CIDR blocks.
    Firewall,
    /// DNS resolver or web proxy: domains and URLs.
    DnsProxy,
    /// Endpoint detection and response: MD5, SHA-1 and SHA-256 file hashes.
    Edr,
}

impl BlocklistKind {
    pub const ALL: [BlocklistKind; 3] = [
        BlocklistKind::Firewall,
        BlocklistKind::DnsProxy,
        BlocklistKind::Edr,
    ];

    /// Stable code, also the serde form: `firewall`, `dns_proxy` or `edr`.
    pub fn as_str(self) -> &'static str {
        match self {
            BlocklistKind::Firewall => "firewall",
            BlocklistKind::DnsProxy => "dns_proxy",
            BlocklistKind::Edr => "edr",
        }
    }

    /// Returns the blocklist an indicator kind belongs in, if any. E-mail
    /// addresses, file names and registry keys have none.
    pub fn for_indicator(kind: IocKind) -> Option<BlocklistKind> {
        match kind {
            IocKind::Ipv4 | IocKind::Ipv6 | IocKind::Cidr => Some(BlocklistKind::Firewall),
            IocKind::Domain | IocKind::Url => Some(BlocklistKind::DnsProxy),
            IocKind::Md5 | IocKind::Sha1 | IocKind::Sha256 => Some(BlocklistKind::Edr),
            IocKind::Email | IocKind::Filename | IocKind::RegistryKey => None,
        }
    }
}

/// A value proposed for blocking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockEntry {
    pub kind: IocKind,
    /// Refanged and normalized, as stored.
    pub value: String,
}

/// A value that is not proposed for blocking, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excluded {
    pub kind: IocKind,
    pub value: String,
    pub reason: ExclusionReason,
    /// For [`ExclusionReason::SystemComponent`], the path of the file the
    /// hash belongs to, as the evidence shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_path: Option<String>,
}

/// The reason a value is not proposed for blocking. Each variant's
/// documentation ends with what to do instead, for the templates to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExclusionReason {
    /// A private address (RFC 1918, RFC 6598, RFC 4193), or a URL on one.
    /// Perimeter blocks do not see internal traffic. Instead: isolate and
    /// investigate the internal host, and block it on internal segments.
    PrivateAddress,
    /// An organization-internal name (`.local`, `.internal`, a single-label
    /// host), or a URL on one. Instead: investigate the internal host it
    /// names.
    InternalName,
    /// A loopback address or `localhost`. Instead: look at the process on
    /// the host that used it.
    Loopback,
    /// A link-local address. Instead: look at the local network segment.
    LinkLocal,
    /// A multicast address. Instead: look at the sending host.
    Multicast,
    /// Special-purpose space that does not route on the internet. Instead:
    /// check the value, which is likely mistyped or spoofed.
    ReservedRange,
    /// A documentation range or name (RFC 5737, RFC 3849, RFC 2606).
    /// Instead: replace the example with the real value.
    DocumentationRange,
    /// On the known-good list. Blocking it breaks legitimate use. Instead:
    /// block the specific URL or detect the behaviour (the Sigma rules).
    KnownGood,
    /// A file hash that the evidence shows belongs to a Windows system file
    /// (see `component_path`). Blocking it breaks Windows. Instead: detect
    /// how the file was used (the Sigma rules) and block the payload.
    SystemComponent,
}

impl ExclusionReason {
    /// Stable code, also the serde form: `private_address`, `known_good`…
    pub fn code(self) -> &'static str {
        match self {
            ExclusionReason::PrivateAddress => "private_address",
            ExclusionReason::InternalName => "internal_name",
            ExclusionReason::Loopback => "loopback",
            ExclusionReason::LinkLocal => "link_local",
            ExclusionReason::Multicast => "multicast",
            ExclusionReason::ReservedRange => "reserved_range",
            ExclusionReason::DocumentationRange => "documentation_range",
            ExclusionReason::KnownGood => "known_good",
            ExclusionReason::SystemComponent => "system_component",
        }
    }
}

/// A proposed blocklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocklist {
    pub kind: BlocklistKind,
    /// Values to block, in the order of the incident's indicators.
    pub entries: Vec<BlockEntry>,
    /// Values of this kind that must not be blocked.
    pub excluded: Vec<Excluded>,
}

/// Builds the blocklists of a true positive, in [`BlocklistKind::ALL`]
/// order, leaving out those with neither entries nor exclusions.
pub(super) fn blocklists(context: &Context) -> Vec<Blocklist> {
    let mut blocklists: Vec<Blocklist> = BlocklistKind::ALL
        .into_iter()
        .map(|kind| Blocklist {
            kind,
            entries: Vec::new(),
            excluded: Vec::new(),
        })
        .collect();

    for ioc in context.input.iocs {
        let Some(kind) = BlocklistKind::for_indicator(ioc.kind) else {
            continue;
        };
        let blocklist = blocklists
            .iter_mut()
            .find(|blocklist| blocklist.kind == kind)
            .expect("every kind has a blocklist");
        match exclusion(context, ioc) {
            Some(excluded) => {
                if !blocklist.excluded.contains(&excluded) {
                    blocklist.excluded.push(excluded);
                }
            }
            None => {
                let entry = BlockEntry {
                    kind: ioc.kind,
                    value: ioc.value.clone(),
                };
                if !blocklist.entries.contains(&entry) {
                    blocklist.entries.push(entry);
                }
            }
        }
    }

    blocklists.retain(|blocklist| !blocklist.entries.is_empty() || !blocklist.excluded.is_empty());
    blocklists
}

/// Returns why an indicator must not be blocked, or `None` when it may be.
/// A system file hash is reported as such even when it is also known-good,
/// because the path gives a reader more to check.
pub(super) fn exclusion(context: &Context, ioc: &Ioc) -> Option<Excluded> {
    let excluded = |reason, component_path| Excluded {
        kind: ioc.kind,
        value: ioc.value.clone(),
        reason,
        component_path,
    };

    if matches!(ioc.kind, IocKind::Md5 | IocKind::Sha1 | IocKind::Sha256)
        && let Some(path) = context
            .windows
            .system_hashes
            .get(&ioc.value.to_ascii_lowercase())
    {
        return Some(excluded(
            ExclusionReason::SystemComponent,
            Some(path.clone()),
        ));
    }

    // The most specific flag wins, so `127.0.0.1` is loopback before anything else.
    const ORDER: [IocFlag; 7] = [
        IocFlag::Loopback,
        IocFlag::LinkLocal,
        IocFlag::Multicast,
        IocFlag::Documentation,
        IocFlag::Reserved,
        IocFlag::Private,
        IocFlag::KnownGood,
    ];
    let flag = ORDER.into_iter().find(|flag| ioc.has_flag(*flag))?;
    let reason = match flag {
        IocFlag::Loopback => ExclusionReason::Loopback,
        IocFlag::LinkLocal => ExclusionReason::LinkLocal,
        IocFlag::Multicast => ExclusionReason::Multicast,
        IocFlag::Documentation => ExclusionReason::DocumentationRange,
        IocFlag::Reserved => ExclusionReason::ReservedRange,
        IocFlag::Private if names_an_address(ioc) => ExclusionReason::PrivateAddress,
        IocFlag::Private => ExclusionReason::InternalName,
        IocFlag::KnownGood => ExclusionReason::KnownGood,
    };
    Some(excluded(reason, None))
}

/// Returns whether the indicator is an IP address or CIDR block, or a URL
/// whose host is an IP address.
fn names_an_address(ioc: &Ioc) -> bool {
    match ioc.kind {
        IocKind::Ipv4 | IocKind::Ipv6 | IocKind::Cidr => true,
        IocKind::Url => url_host(&ioc.value).parse::<IpAddr>().is_ok(),
        _ => false,
    }
}

/// Returns the host of a normalized URL, without user information, port or
/// IPv6 brackets (`http://u@[2001:db8::1]:8080/x` gives `2001:db8::1`).
pub(super) fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if let Some(bracketed) = host_port.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or(bracketed);
    }
    host_port.split(':').next().unwrap_or(host_port)
}

/// Returns the path, query and fragment of a normalized URL, or "" when it
/// has none.
pub(super) fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.find(['/', '?', '#'])
        .map_or("", |start| &rest[start..])
}
