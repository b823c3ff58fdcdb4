//! Follow-up hunt cases: hypotheses worth testing in similar environments,
//! each returned as a [`HuntBasis`] code with its data, and the tuning note
//! that replaces them when an incident turns out benign.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::domain::attack::Resolved;
use crate::domain::ioc::{IocFlag, IocKind};

use super::Context;
use super::Resolution;
use super::beacon::{beacons, destination_ip};
use super::behaviour::{SCRIPT_ENGINES, interpreter, proxy_binary};
use super::blocklist::{ExclusionReason, exclusion, url_host};
use super::evidence::{IMAGE_LOAD, NETWORK_CONNECTION, PROCESS_CREATION};

/// Ports of web traffic, for tagging a beacon as ATT&CK T1071.001 (Web
/// Protocols) rather than T1071.
const WEB_PORTS: [u16; 4] = [80, 443, 8080, 8443];

/// A proposed hunt case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HuntCase {
    /// ATT&CK technique IDs the hunt is about.
    pub techniques: Vec<String>,
    pub basis: HuntBasis,
}

/// An indicator named in a hunt case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    pub kind: IocKind,
    pub value: String,
}

/// The reason for a hunt case, with the data its sentence needs. The serde
/// form carries the variant's [`HuntBasis::code`] in a `code` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum HuntBasis {
    /// Hunt for `technique` on hosts other than `exclude_hosts` (the
    /// incident's hosts): the same attacker or tool may be elsewhere. One
    /// case per technique of the incident.
    SameTechniqueOtherHosts {
        technique: String,
        exclude_hosts: Vec<String>,
    },
    /// Hunt for `parent` starting `child` on any host. The incident showed
    /// this proxy binary (lowercase file name) starting this interpreter or
    /// shell, a chain that legitimate software rarely produces.
    ParentChildChain { parent: String, child: String },
    /// Hunt for `image` loading script engines on any host. The incident
    /// showed it loading `modules` (lowercase file names), which means it ran
    /// script code.
    ScriptEngineLoad { image: String, modules: Vec<String> },
    /// Hunt for other processes connecting to `ip`:`port` at a regular
    /// interval. The incident showed `image` making `connections`
    /// connections about every `interval_seconds` seconds, the pattern of a
    /// command-and-control beacon. `internal` is true when `ip` is a private
    /// address, so the controller sits inside the network.
    Beaconing {
        image: String,
        ip: String,
        port: u16,
        connections: usize,
        interval_seconds: u64,
        internal: bool,
    },
    /// Investigate the internal host `ip`, which served the attack: the URLs
    /// in `urls` point at it, or a proxy binary fetched code from it. The
    /// host is compromised or an attacker's machine on the network.
    InternalStagingHost { ip: String, urls: Vec<String> },
    /// Search the logs of every host for `indicators`, the incident's
    /// indicators that are worth a search: unflagged ones and internal
    /// addresses and names.
    IndicatorSweep { indicators: Vec<Indicator> },
    /// For a false positive or benign result: add an exception for this
    /// activity to the hunt queries and detections of the case's techniques,
    /// so it stops raising findings. The activity is that of `users` on
    /// `hosts`, running `images` (lowercase file names from the evidence's
    /// process creations), with `indicators`.
    TuningException {
        resolution: Resolution,
        hosts: Vec<String>,
        users: Vec<String>,
        images: Vec<String>,
        indicators: Vec<Indicator>,
    },
}

impl HuntBasis {
    /// Stable code, also the serde tag: `same_technique_other_hosts`…
    pub fn code(&self) -> &'static str {
        match self {
            HuntBasis::SameTechniqueOtherHosts { .. } => "same_technique_other_hosts",
            HuntBasis::ParentChildChain { .. } => "parent_child_chain",
            HuntBasis::ScriptEngineLoad { .. } => "script_engine_load",
            HuntBasis::Beaconing { .. } => "beaconing",
            HuntBasis::InternalStagingHost { .. } => "internal_staging_host",
            HuntBasis::IndicatorSweep { .. } => "indicator_sweep",
            HuntBasis::TuningException { .. } => "tuning_exception",
        }
    }
}

/// Builds the hunt cases of a true positive, in the order of the
/// [`HuntBasis`] variants.
pub(super) fn hunt_cases(context: &Context) -> Vec<HuntCase> {
    let mut cases = Vec::new();

    let mut seen_techniques: Vec<&str> = Vec::new();
    for technique in context.input.techniques {
        if seen_techniques.contains(&technique.id.as_str()) {
            continue;
        }
        seen_techniques.push(&technique.id);
        cases.push(HuntCase {
            techniques: vec![technique.id.clone()],
            basis: HuntBasis::SameTechniqueOtherHosts {
                technique: technique.id.clone(),
                exclude_hosts: context.input.hosts.to_vec(),
            },
        });
    }

    cases.extend(parent_child_chains(context));
    cases.extend(script_engine_loads(context));
    for beacon in beacons(context) {
        let technique = if WEB_PORTS.contains(&beacon.port) {
            "T1071.001"
        } else {
            "T1071"
        };
        cases.push(HuntCase {
            techniques: ids(&context.techniques_for(&[technique])),
            basis: HuntBasis::Beaconing {
                internal: is_private(context, beacon.ip),
                image: beacon.image,
                ip: beacon.ip.to_string(),
                port: beacon.port,
                connections: beacon.connections,
                interval_seconds: beacon.interval_seconds,
            },
        });
    }
    cases.extend(internal_staging_hosts(context));

    let indicators = sweep_indicators(context);
    if !indicators.is_empty() {
        cases.push(HuntCase {
            techniques: ids(&context.incident_techniques()),
            basis: HuntBasis::IndicatorSweep { indicators },
        });
    }
    cases
}

/// Builds the tuning note of a false positive or benign result.
pub(super) fn tuning_exception(context: &Context) -> HuntCase {
    let input = context.input;
    let mut techniques: Vec<String> = Vec::new();
    for technique in input.techniques {
        if !techniques.contains(&technique.id) {
            techniques.push(technique.id.clone());
        }
    }
    let mut images: Vec<String> = Vec::new();
    for event in context.events_with_id(PROCESS_CREATION) {
        if let Some(image) = event.basename("Image")
            && !images.contains(&image)
        {
            images.push(image);
        }
    }
    HuntCase {
        techniques,
        basis: HuntBasis::TuningException {
            resolution: input.resolution,
            hosts: input.hosts.to_vec(),
            users: input.users.to_vec(),
            images,
            indicators: input
                .iocs
                .iter()
                .map(|ioc| Indicator {
                    kind: ioc.kind,
                    value: ioc.value.clone(),
                })
                .collect(),
        },
    }
}

fn parent_child_chains(context: &Context) -> Vec<HuntCase> {
    let mut cases: Vec<HuntCase> = Vec::new();
    for event in context.events_with_id(PROCESS_CREATION) {
        let (Some(parent), Some(child)) = (event.basename("ParentImage"), event.basename("Image"))
        else {
            continue;
        };
        let (Some(proxy), Some(family)) = (proxy_binary(&parent), interpreter(&child)) else {
            continue;
        };
        let basis = HuntBasis::ParentChildChain { parent, child };
        if cases.iter().any(|case| case.basis == basis) {
            continue;
        }
        let derived: Vec<&str> = [Some(proxy.technique), family.technique]
            .into_iter()
            .flatten()
            .collect();
        cases.push(HuntCase {
            techniques: ids(&context.techniques_for(&derived)),
            basis,
        });
    }
    cases
}

fn script_engine_loads(context: &Context) -> Vec<HuntCase> {
    // Observed engines per image, in order of first appearance.
    let mut loads: Vec<(String, Vec<String>)> = Vec::new();
    for event in context.events_with_id(IMAGE_LOAD) {
        let (Some(image), Some(module)) = (event.basename("Image"), event.basename("ImageLoaded"))
        else {
            continue;
        };
        let suspicious =
            proxy_binary(&image).is_some_and(|proxy| proxy.script_engine_load_is_suspicious);
        if !suspicious || !SCRIPT_ENGINES.contains(&module.as_str()) {
            continue;
        }
        match loads.iter_mut().find(|(known, _)| *known == image) {
            Some((_, modules)) if !modules.contains(&module) => modules.push(module),
            Some(_) => {}
            None => loads.push((image, vec![module])),
        }
    }
    loads
        .into_iter()
        .map(|(image, modules)| {
            let derived: Vec<&str> = proxy_binary(&image)
                .map(|proxy| proxy.technique)
                .into_iter()
                .collect();
            HuntCase {
                techniques: ids(&context.techniques_for(&derived)),
                basis: HuntBasis::ScriptEngineLoad { image, modules },
            }
        })
        .collect()
}

fn internal_staging_hosts(context: &Context) -> Vec<HuntCase> {
    // Private addresses, each with the URL indicators on it.
    let mut hosts: BTreeMap<IpAddr, Vec<String>> = BTreeMap::new();
    let mut order: Vec<IpAddr> = Vec::new();
    let mut add = |ip: IpAddr, url: Option<&str>| {
        let urls = hosts.entry(ip).or_insert_with(|| {
            order.push(ip);
            Vec::new()
        });
        if let Some(url) = url
            && !urls.iter().any(|known| known == url)
        {
            urls.push(url.to_string());
        }
    };

    for ioc in context.input.iocs {
        if ioc.kind == IocKind::Url
            && ioc.has_flag(IocFlag::Private)
            && let Ok(ip) = url_host(&ioc.value).parse::<IpAddr>()
        {
            add(ip, Some(&ioc.value));
        }
    }
    for event in context.events_with_id(NETWORK_CONNECTION) {
        let from_proxy = event
            .basename("Image")
            .is_some_and(|image| proxy_binary(&image).is_some());
        if let Some(ip) = destination_ip(event)
            && from_proxy
            && event.initiated()
            && is_private(context, ip)
        {
            add(ip, None);
        }
    }

    let techniques = ids(&context.techniques_for(&["T1105"]));
    order
        .into_iter()
        .map(|ip| HuntCase {
            techniques: techniques.clone(),
            basis: HuntBasis::InternalStagingHost {
                ip: ip.to_string(),
                urls: hosts.remove(&ip).unwrap_or_default(),
            },
        })
        .collect()
}

/// Returns the incident's indicators worth searching for: those that may be
/// blocked, and internal addresses and names.
fn sweep_indicators(context: &Context) -> Vec<Indicator> {
    context
        .input
        .iocs
        .iter()
        .filter(|ioc| {
            exclusion(context, ioc).is_none_or(|excluded| {
                matches!(
                    excluded.reason,
                    ExclusionReason::PrivateAddress | ExclusionReason::InternalName
                )
            })
        })
        .map(|ioc| Indicator {
            kind: ioc.kind,
            value: ioc.value.clone(),
        })
        .collect()
}

/// Returns whether `ip` is in private address space.
fn is_private(context: &Context, ip: IpAddr) -> bool {
    context
        .extractor
        .classify_one(&ip.to_string())
        .is_ok_and(|ioc| ioc.has_flag(IocFlag::Private))
}

fn ids(techniques: &[Resolved]) -> Vec<String> {
    techniques
        .iter()
        .map(|technique| technique.id.clone())
        .collect()
}
