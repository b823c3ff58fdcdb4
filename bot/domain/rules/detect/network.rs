//! Behaviour rules from network connections (Sysmon event 3) and DNS
//! queries (event 22).

use std::net::IpAddr;

use crate::domain::ioc::{IocFlag, IocKind};
use crate::domain::rules::Context;
use crate::domain::rules::beacon::{beacons, destination_ip};
use crate::domain::rules::behaviour::proxy_binary;
use crate::domain::rules::blocklist::url_host;
use crate::domain::rules::evidence::{DNS_QUERY, NETWORK_CONNECTION, SysmonEvent};
use crate::domain::rules::sigma::{RuleDraft, SigmaKind};
use crate::domain::rules::yaml::{Detection, FieldMatch, Selection};

/// Flags that keep an address or domain out of a behaviour rule: matching
/// them finds only noise or popular services.
const NOISE_FLAGS: [IocFlag; 5] = [
    IocFlag::Loopback,
    IocFlag::LinkLocal,
    IocFlag::Multicast,
    IocFlag::Reserved,
    IocFlag::KnownGood,
];

/// Builds a rule for a proxy binary opening an outbound connection.
pub(super) fn proxy_connection(context: &Context, event: &SysmonEvent) -> Option<RuleDraft> {
    let image = event.basename("Image")?;
    let proxy = proxy_binary(&image)?;
    if !event.initiated() {
        return None;
    }

    Some(RuleDraft {
        kind: SigmaKind::NetworkConnection,
        title: format!("Network Connection Initiated by {image}"),
        description: format!(
            "Detects {image} opening a network connection, as in {}. A proxy binary that reaches \
             the network is usually fetching code to run.",
            context.input.incident_id
        ),
        falsepositives: vec![format!("Legitimate use of {image} to download components")],
        techniques: context.techniques_for(&[proxy.technique]),
        detection: Detection {
            selections: vec![(
                "selection".to_string(),
                Selection::AllOf(vec![
                    FieldMatch::texts("Image|endswith", [format!("\\{image}")]),
                    FieldMatch::texts("Initiated", ["true"]),
                ]),
            )],
            condition: "selection".to_string(),
        },
    })
}

/// Builds a rule for connections to the addresses the attack used: the
/// destinations in the evidence that are an IP indicator of the incident,
/// that a proxy binary connected to, or that received a beacon.
pub(super) fn attack_destinations(context: &Context) -> Option<RuleDraft> {
    let beacon_ips: Vec<IpAddr> = beacons(context)
        .into_iter()
        .map(|beacon| beacon.ip)
        .collect();
    let mut addresses: Vec<IpAddr> = Vec::new();
    for event in context.events_with_id(NETWORK_CONNECTION) {
        let Some(ip) = destination_ip(event) else {
            continue;
        };
        let from_proxy = event
            .basename("Image")
            .is_some_and(|image| proxy_binary(&image).is_some());
        let relevant = from_proxy || beacon_ips.contains(&ip) || is_ip_indicator(context, ip);
        if event.initiated()
            && relevant
            && !addresses.contains(&ip)
            && !is_noise(context, &ip.to_string())
        {
            addresses.push(ip);
        }
    }
    if addresses.is_empty() {
        return None;
    }

    let listed = addresses.iter().map(IpAddr::to_string).collect::<Vec<_>>();
    Some(RuleDraft {
        kind: SigmaKind::NetworkConnection,
        title: "Network Connection to Attack Addresses".to_string(),
        description: format!(
            "Detects any process connecting to {}, which {} tied to the attack (an indicator, a \
             download by a proxy binary or a beacon).",
            listed.join(", "),
            context.input.incident_id
        ),
        falsepositives: vec!["Legitimate services that share these addresses".to_string()],
        techniques: context.incident_techniques(),
        detection: Detection {
            selections: vec![(
                "selection".to_string(),
                Selection::AllOf(vec![
                    FieldMatch::texts("DestinationIp", listed),
                    FieldMatch::texts("Initiated", ["true"]),
                ]),
            )],
            condition: "selection".to_string(),
        },
    })
}

/// Builds a rule for a proxy binary resolving a name.
pub(super) fn proxy_dns_query(context: &Context, event: &SysmonEvent) -> Option<RuleDraft> {
    let image = event.basename("Image")?;
    let proxy = proxy_binary(&image)?;

    Some(RuleDraft {
        kind: SigmaKind::DnsQuery,
        title: format!("DNS Query by {image}"),
        description: format!(
            "Detects {image} resolving a domain name, as in {}. A proxy binary that resolves \
             names is usually about to fetch code.",
            context.input.incident_id
        ),
        falsepositives: vec![format!("Legitimate use of {image} to download components")],
        techniques: context.techniques_for(&[proxy.technique]),
        detection: Detection {
            selections: vec![(
                "selection".to_string(),
                Selection::AllOf(vec![FieldMatch::texts(
                    "Image|endswith",
                    [format!("\\{image}")],
                )]),
            )],
            condition: "selection".to_string(),
        },
    })
}

/// Builds a rule for queries of the domains the attack used: the names in
/// the evidence that are a domain indicator (or under one) or the host of a
/// URL indicator, or that a proxy binary resolved. Flagged names are left
/// out.
pub(super) fn attack_domains(context: &Context) -> Option<RuleDraft> {
    let mut domains: Vec<String> = Vec::new();
    for event in context.events_with_id(DNS_QUERY) {
        let Some(name) = event.get("QueryName") else {
            continue;
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let from_proxy = event
            .basename("Image")
            .is_some_and(|image| proxy_binary(&image).is_some());
        let unflagged = context
            .extractor
            .classify_one(&name)
            .is_ok_and(|ioc| ioc.kind == IocKind::Domain && ioc.flags.is_empty());
        let relevant = from_proxy || is_domain_indicator(context, &name);
        if relevant && unflagged && !domains.contains(&name) {
            domains.push(name);
        }
    }
    if domains.is_empty() {
        return None;
    }

    Some(RuleDraft {
        kind: SigmaKind::DnsQuery,
        title: "DNS Query for Attack Domains".to_string(),
        description: format!(
            "Detects any process resolving {}, which {} tied to the attack.",
            domains.join(", "),
            context.input.incident_id
        ),
        falsepositives: vec!["Legitimate services under the same names".to_string()],
        techniques: context.incident_techniques(),
        detection: Detection {
            selections: vec![(
                "selection".to_string(),
                Selection::AllOf(vec![FieldMatch::texts("QueryName", domains)]),
            )],
            condition: "selection".to_string(),
        },
    })
}

/// Returns whether `ip` equals an IP indicator or lies in a CIDR indicator.
fn is_ip_indicator(context: &Context, ip: IpAddr) -> bool {
    context.input.iocs.iter().any(|ioc| match ioc.kind {
        IocKind::Ipv4 | IocKind::Ipv6 => ioc.value.parse::<IpAddr>() == Ok(ip),
        IocKind::Cidr => cidr_contains(&ioc.value, ip),
        IocKind::Url => url_host(&ioc.value).parse::<IpAddr>() == Ok(ip),
        _ => false,
    })
}

/// Returns whether `name` is a domain indicator, a subdomain of one, or the
/// host of a URL indicator.
fn is_domain_indicator(context: &Context, name: &str) -> bool {
    context.input.iocs.iter().any(|ioc| match ioc.kind {
        IocKind::Domain => name == ioc.value || name.ends_with(&format!(".{}", ioc.value)),
        IocKind::Url => url_host(&ioc.value) == name,
        _ => false,
    })
}

/// Returns whether a value found only in the evidence carries a
/// [`NOISE_FLAGS`] flag.
fn is_noise(context: &Context, value: &str) -> bool {
    context
        .extractor
        .classify_one(value)
        .is_ok_and(|ioc| NOISE_FLAGS.iter().any(|flag| ioc.has_flag(*flag)))
}

/// Returns whether a normalized CIDR block (`10.0.0.0/8`) contains `ip`.
pub(in crate::domain::rules) fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let Some((network, prefix)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(network), Ok(prefix)) = (network.parse::<IpAddr>(), prefix.parse::<u32>()) else {
        return false;
    };
    match (network, ip) {
        (IpAddr::V4(network), IpAddr::V4(ip)) if prefix <= 32 => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            u32::from(network) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(network), IpAddr::V6(ip)) if prefix <= 128 => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            u128::from(network) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}
