//! Behaviour rules: Sigma rule drafts generalised from the Sysmon records in
//! the evidence. Each draft matches the behaviour (which binary, which
//! flag, which module, which parent) and never the one command line seen.
//!
//! - `process`: process creations (event 1) and image loads (event 7).
//! - `network`: network connections (event 3) and DNS queries (event 22).

mod network;
mod process;

#[cfg(test)]
pub(super) use network::cidr_contains;

use super::Context;
use super::evidence::{DNS_QUERY, IMAGE_LOAD, NETWORK_CONNECTION, PROCESS_CREATION};
use super::sigma::RuleDraft;

/// Builds the behaviour rule drafts, grouped by kind of rule and in order of
/// the evidence.
pub(super) fn drafts(context: &Context) -> Vec<RuleDraft> {
    let mut drafts = Vec::new();
    for event in context.events_with_id(PROCESS_CREATION) {
        drafts.extend(process::remote_url_argument(context, event));
    }
    for event in context.events_with_id(PROCESS_CREATION) {
        drafts.extend(process::proxy_starts_interpreter(context, event));
    }
    for event in context.events_with_id(PROCESS_CREATION) {
        drafts.extend(process::encoded_powershell(context, event));
    }
    for event in context.events_with_id(IMAGE_LOAD) {
        drafts.extend(process::script_engine_load(context, event));
    }
    for event in context.events_with_id(NETWORK_CONNECTION) {
        drafts.extend(network::proxy_connection(context, event));
    }
    drafts.extend(network::attack_destinations(context));
    for event in context.events_with_id(DNS_QUERY) {
        drafts.extend(network::proxy_dns_query(context, event));
    }
    drafts.extend(network::attack_domains(context));
    drafts
}
