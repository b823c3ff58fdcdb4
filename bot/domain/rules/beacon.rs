//! Beacons: outbound connections repeated at a regular interval, the
//! pattern of a command-and-control implant checking in.

use std::net::IpAddr;

use chrono::NaiveDateTime;

use super::Context;
use super::evidence::{NETWORK_CONNECTION, SysmonEvent};

// NOTE: the thresholds below are judgment values, checked only against the
// shipped case (a 5 s beacon) and a synthetic 30 s beacon in the tests.

/// Minimum connections from one image to one address and port to call them
/// a beacon.
const MIN_BEACON_CONNECTIONS: usize = 4;

/// Minimum median gap between beacon connections, in milliseconds. Bursts
/// closer than this are a single exchange, not a schedule.
const MIN_BEACON_INTERVAL_MS: i64 = 1_000;

/// A gap counts as regular within this fraction of the median gap.
const BEACON_JITTER: f64 = 0.25;

/// Repeated connections from one image to one address and port at a
/// regular interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Beacon {
    /// Lowercase file name of the connecting image.
    pub image: String,
    pub ip: IpAddr,
    pub port: u16,
    pub connections: usize,
    /// Median gap between connections, rounded to whole seconds.
    pub interval_seconds: u64,
}

/// Finds beacons among the outbound network connections of the evidence: at
/// least [`MIN_BEACON_CONNECTIONS`] connections with a median gap of at
/// least [`MIN_BEACON_INTERVAL_MS`], half or more of the gaps within
/// [`BEACON_JITTER`] of the median.
pub(super) fn beacons(context: &Context) -> Vec<Beacon> {
    let mut groups: Vec<((String, IpAddr, u16), Vec<NaiveDateTime>)> = Vec::new();
    for event in context.events_with_id(NETWORK_CONNECTION) {
        let (Some(image), Some(ip), Some(port), Some(time)) = (
            event.basename("Image"),
            destination_ip(event),
            event
                .get("DestinationPort")
                .and_then(|port| port.parse::<u16>().ok()),
            event.utc_time(),
        ) else {
            continue;
        };
        if !event.initiated() {
            continue;
        }
        let key = (image, ip, port);
        match groups.iter_mut().find(|(known, _)| *known == key) {
            Some((_, times)) => times.push(time),
            None => groups.push((key, vec![time])),
        }
    }

    let mut beacons = Vec::new();
    for ((image, ip, port), mut times) in groups {
        if times.len() < MIN_BEACON_CONNECTIONS {
            continue;
        }
        times.sort();
        let mut gaps: Vec<i64> = times
            .windows(2)
            .map(|pair| (pair[1] - pair[0]).num_milliseconds())
            .collect();
        gaps.sort_unstable();
        let median = gaps[gaps.len() / 2];
        if median < MIN_BEACON_INTERVAL_MS {
            continue;
        }
        let tolerance = median as f64 * BEACON_JITTER;
        let regular = gaps
            .iter()
            .filter(|gap| (**gap - median).abs() as f64 <= tolerance)
            .count();
        if regular * 2 < gaps.len() {
            continue;
        }
        beacons.push(Beacon {
            image,
            ip,
            port,
            connections: times.len(),
            interval_seconds: u64::try_from((median + 500) / 1_000).unwrap_or(0),
        });
    }
    beacons
}

/// Returns the `DestinationIp` of a network connection.
pub(super) fn destination_ip(event: &SysmonEvent) -> Option<IpAddr> {
    event.get("DestinationIp")?.parse().ok()
}
