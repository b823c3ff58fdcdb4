//! Indicator rules: Sigma rule drafts that match the incident's unflagged
//! hashes, IP addresses, domains and URLs in process, firewall, DNS and
//! proxy logs. A flagged indicator, or a hash of a Windows system file,
//! gets no rule: it would match legitimate activity or nothing at all.

use crate::domain::ioc::{Ioc, IocKind};

use super::Context;
use super::blocklist::{url_host, url_path};
use super::sigma::{RuleDraft, SigmaKind};
use super::yaml::{Detection, FieldMatch, Selection};

/// Builds the indicator rule drafts: hashes, then IP addresses, domains and
/// URLs.
pub(super) fn drafts(context: &Context) -> Vec<RuleDraft> {
    let usable: Vec<&Ioc> = context
        .input
        .iocs
        .iter()
        .filter(|ioc| ioc.flags.is_empty())
        .filter(|ioc| !context.windows.contains(ioc.kind, &ioc.value))
        .collect();
    let of_kinds = |kinds: &[IocKind]| -> Vec<&Ioc> {
        usable
            .iter()
            .copied()
            .filter(|ioc| kinds.contains(&ioc.kind))
            .collect()
    };

    [
        file_hashes(
            context,
            &of_kinds(&[IocKind::Md5, IocKind::Sha1, IocKind::Sha256]),
        ),
        addresses(
            context,
            &of_kinds(&[IocKind::Ipv4, IocKind::Ipv6, IocKind::Cidr]),
        ),
        domains(context, &of_kinds(&[IocKind::Domain])),
        urls(context, &of_kinds(&[IocKind::Url])),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn file_hashes(context: &Context, hashes: &[&Ioc]) -> Option<RuleDraft> {
    if hashes.is_empty() {
        return None;
    }
    // Sysmon writes `ALGORITHM=HEX` pairs in uppercase. Sigma matches
    // strings without case, so the case here is only for the reader.
    let values = hashes.iter().map(|ioc| {
        let algorithm = match ioc.kind {
            IocKind::Md5 => "MD5",
            IocKind::Sha1 => "SHA1",
            _ => "SHA256",
        };
        format!("{algorithm}={}", ioc.value.to_ascii_uppercase())
    });

    Some(RuleDraft {
        kind: SigmaKind::FileHash,
        title: "Process Image With an Attack File Hash".to_string(),
        description: format!(
            "Detects a process whose image has one of the file hashes that {} listed as \
             indicators. It needs process creation events with a Hashes field, as Sysmon writes.",
            context.input.incident_id
        ),
        falsepositives: vec!["Unlikely: a hash matches one file".to_string()],
        techniques: context.incident_techniques(),
        detection: single_selection(FieldMatch::texts("Hashes|contains", values)),
    })
}

fn addresses(context: &Context, addresses: &[&Ioc]) -> Option<RuleDraft> {
    if addresses.is_empty() {
        return None;
    }
    let (blocks, hosts): (Vec<&Ioc>, Vec<&Ioc>) =
        addresses.iter().partition(|ioc| ioc.kind == IocKind::Cidr);
    let mut selections = Vec::new();
    if !hosts.is_empty() {
        selections.push((
            "selection_address".to_string(),
            Selection::AllOf(vec![FieldMatch::texts(
                "dst_ip",
                hosts.iter().map(|ioc| ioc.value.clone()),
            )]),
        ));
    }
    if !blocks.is_empty() {
        selections.push((
            "selection_block".to_string(),
            Selection::AllOf(vec![FieldMatch::texts(
                "dst_ip|cidr",
                blocks.iter().map(|ioc| ioc.value.clone()),
            )]),
        ));
    }

    Some(RuleDraft {
        kind: SigmaKind::Firewall,
        title: "Traffic to Attack IP Addresses".to_string(),
        description: format!(
            "Detects traffic to the IP addresses and blocks that {} listed as indicators.",
            context.input.incident_id
        ),
        falsepositives: vec!["Legitimate services that share these addresses".to_string()],
        techniques: context.incident_techniques(),
        detection: Detection {
            selections,
            condition: "1 of selection_*".to_string(),
        },
    })
}

fn domains(context: &Context, domains: &[&Ioc]) -> Option<RuleDraft> {
    if domains.is_empty() {
        return None;
    }

    Some(RuleDraft {
        kind: SigmaKind::Dns,
        title: "DNS Resolution of Attack Domains".to_string(),
        description: format!(
            "Detects DNS queries for the domains that {} listed as indicators, and for their \
             subdomains.",
            context.input.incident_id
        ),
        falsepositives: vec!["Legitimate services under the same names".to_string()],
        techniques: context.incident_techniques(),
        detection: Detection {
            selections: vec![(
                "selection".to_string(),
                Selection::AnyOf(vec![
                    FieldMatch::texts("query", domains.iter().map(|ioc| ioc.value.clone())),
                    FieldMatch::texts(
                        "query|endswith",
                        domains.iter().map(|ioc| format!(".{}", ioc.value)),
                    ),
                ]),
            )],
            condition: "selection".to_string(),
        },
    })
}

/// Builds one selection per URL: the host in `cs-host` and, when the URL has
/// one, the path in `c-uri`, since proxies log the two apart.
///
/// NOTE: a proxy that logs the whole URL in `c-uri` and no `cs-host` needs a
/// field mapping in its Sigma pipeline for this rule to match.
fn urls(context: &Context, urls: &[&Ioc]) -> Option<RuleDraft> {
    if urls.is_empty() {
        return None;
    }
    let selections = urls
        .iter()
        .enumerate()
        .map(|(index, ioc)| {
            let mut matches = vec![FieldMatch::texts("cs-host", [url_host(&ioc.value)])];
            let path = url_path(&ioc.value);
            if !path.is_empty() && path != "/" {
                matches.push(FieldMatch::texts("c-uri|contains", [path]));
            }
            (
                format!("selection_url{}", index + 1),
                Selection::AllOf(matches),
            )
        })
        .collect();

    Some(RuleDraft {
        kind: SigmaKind::Proxy,
        title: "Web Request to Attack URLs".to_string(),
        description: format!(
            "Detects web requests for the URLs that {} listed as indicators.",
            context.input.incident_id
        ),
        falsepositives: vec!["Unlikely: the URLs were part of the attack".to_string()],
        techniques: context.incident_techniques(),
        detection: Detection {
            selections,
            condition: "1 of selection_url*".to_string(),
        },
    })
}

fn single_selection(field_match: FieldMatch) -> Detection {
    Detection {
        selections: vec![("selection".to_string(), Selection::AllOf(vec![field_match]))],
        condition: "selection".to_string(),
    }
}
