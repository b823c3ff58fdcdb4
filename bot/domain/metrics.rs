//! Response metrics computed from incident timestamps, and the scan that
//! finds the first malicious activity in evidence text.
//!
//! Per incident:
//! - MTTD (time to detect): first malicious activity -> finding posted.
//! - MTTA (time to acknowledge): handoff to IR -> handoff accepted.
//! - MTTC (time to contain): accept -> first containment action.
//! - MTTR (time to resolve): accept -> incident closed.
//!
//! A metric whose timestamps are missing, or whose end comes before its start
//! (clock skew between the sources), is `None` with an [`Unavailable`] reason,
//! never a negative duration. [`aggregate`] takes the mean and median of each
//! metric over many incidents.

use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use regex::{Captures, Regex};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::domain::types::fold;

/// Timestamps before this year are taken as parse noise or unset clocks, not
/// as activity.
pub const EARLIEST_PLAUSIBLE_YEAR: i32 = 1995;

/// Maximum period `/metrics` accepts, in days.
pub const MAX_PERIOD_DAYS: i64 = 3660;

/// The raw timestamps of one incident. Any of them may still be unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentTimes {
    /// First malicious activity seen in the evidence.
    pub first_activity: Option<DateTime<Utc>>,
    /// When the finding was posted.
    pub finding_at: Option<DateTime<Utc>>,
    /// When the finding was handed to IR.
    pub handoff_at: Option<DateTime<Utc>>,
    /// When IR accepted the handoff.
    pub accepted_at: Option<DateTime<Utc>>,
    /// First containment action.
    pub contained_at: Option<DateTime<Utc>>,
    /// When the incident was closed.
    pub closed_at: Option<DateTime<Utc>>,
}

/// One of the [`IncidentTimes`] fields, to name a missing timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeField {
    FirstActivity,
    FindingAt,
    HandoffAt,
    AcceptedAt,
    ContainedAt,
    ClosedAt,
}

impl TimeField {
    fn get(self, times: &IncidentTimes) -> Option<DateTime<Utc>> {
        match self {
            TimeField::FirstActivity => times.first_activity,
            TimeField::FindingAt => times.finding_at,
            TimeField::HandoffAt => times.handoff_at,
            TimeField::AcceptedAt => times.accepted_at,
            TimeField::ContainedAt => times.contained_at,
            TimeField::ClosedAt => times.closed_at,
        }
    }
}

/// A response metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Mttd,
    Mtta,
    Mttc,
    Mttr,
}

impl Metric {
    pub const ALL: [Metric; 4] = [Metric::Mttd, Metric::Mtta, Metric::Mttc, Metric::Mttr];

    /// Stable lowercase code: `mttd`, `mtta`, `mttc` or `mttr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Mttd => "mttd",
            Metric::Mtta => "mtta",
            Metric::Mttc => "mttc",
            Metric::Mttr => "mttr",
        }
    }

    /// Returns the timestamps the metric is measured between, start first.
    pub fn interval(self) -> (TimeField, TimeField) {
        match self {
            Metric::Mttd => (TimeField::FirstActivity, TimeField::FindingAt),
            Metric::Mtta => (TimeField::HandoffAt, TimeField::AcceptedAt),
            Metric::Mttc => (TimeField::AcceptedAt, TimeField::ContainedAt),
            Metric::Mttr => (TimeField::AcceptedAt, TimeField::ClosedAt),
        }
    }

    /// Measures the metric for one incident.
    pub fn measure(self, times: &IncidentTimes) -> Result<TimeDelta, Unavailable> {
        let (start_field, end_field) = self.interval();
        let start = start_field
            .get(times)
            .ok_or(Unavailable::Missing(start_field))?;
        let end = end_field
            .get(times)
            .ok_or(Unavailable::Missing(end_field))?;
        if end < start {
            return Err(Unavailable::ClockSkew { start, end });
        }
        Ok(end - start)
    }
}

/// Reason a metric has no value for an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unavailable {
    /// The timestamp is not known yet (for example, nothing contained so far).
    Missing(TimeField),
    /// The end is before the start, so the clocks that produced them disagree.
    ClockSkew {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
}

/// The four metrics of one incident.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metrics {
    pub mttd: Option<TimeDelta>,
    pub mtta: Option<TimeDelta>,
    pub mttc: Option<TimeDelta>,
    pub mttr: Option<TimeDelta>,
    /// The reason for every metric above that is `None`.
    pub unavailable: Vec<(Metric, Unavailable)>,
}

impl Metrics {
    /// Measures all four metrics.
    pub fn from_times(times: &IncidentTimes) -> Metrics {
        let mut metrics = Metrics::default();
        for metric in Metric::ALL {
            match metric.measure(times) {
                Ok(delta) => *metrics.slot(metric) = Some(delta),
                Err(reason) => metrics.unavailable.push((metric, reason)),
            }
        }
        metrics
    }

    pub fn get(&self, metric: Metric) -> Option<TimeDelta> {
        match metric {
            Metric::Mttd => self.mttd,
            Metric::Mtta => self.mtta,
            Metric::Mttc => self.mttc,
            Metric::Mttr => self.mttr,
        }
    }

    /// Returns why `metric` is `None`, if it is.
    pub fn reason(&self, metric: Metric) -> Option<Unavailable> {
        self.unavailable
            .iter()
            .find(|(m, _)| *m == metric)
            .map(|(_, reason)| *reason)
    }

    fn slot(&mut self, metric: Metric) -> &mut Option<TimeDelta> {
        match metric {
            Metric::Mttd => &mut self.mttd,
            Metric::Mtta => &mut self.mtta,
            Metric::Mttc => &mut self.mttc,
            Metric::Mttr => &mut self.mttr,
        }
    }
}

impl IncidentTimes {
    pub fn metrics(&self) -> Metrics {
        Metrics::from_times(self)
    }
}

/// A half-open time range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Period {
    /// Returns the `length` of time up to and including `now`.
    pub fn last(length: TimeDelta, now: DateTime<Utc>) -> Period {
        Period {
            start: now - length,
            end: now + TimeDelta::nanoseconds(1),
        }
    }

    pub fn contains(&self, instant: DateTime<Utc>) -> bool {
        self.start <= instant && instant < self.end
    }

    /// Parses a `/metrics` period ending at `now`: a count and a unit, such as
    /// `24h`, `7d`, `4w`, `30 días` or `2 semanas`. Units are `h`/`hours`/`horas`,
    /// `d`/`days`/`días` and `w`/`weeks`/`semanas`, singular or plural. The
    /// period may not exceed [`MAX_PERIOD_DAYS`].
    pub fn parse(value: &str, now: DateTime<Utc>) -> Result<Period, PeriodError> {
        let invalid = || PeriodError::Invalid {
            value: value.to_string(),
        };
        let folded = fold(value.trim());
        let split = folded
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(invalid)?;
        let (count, unit) = folded.split_at(split);
        let count: i64 = count.parse().map_err(|_| invalid())?;
        if count == 0 {
            return Err(invalid());
        }
        let hours_per_unit = match unit.trim() {
            "h" | "hour" | "hours" | "hora" | "horas" => 1,
            "d" | "day" | "days" | "dia" | "dias" => 24,
            "w" | "week" | "weeks" | "semana" | "semanas" => 24 * 7,
            _ => return Err(invalid()),
        };
        let hours = count.checked_mul(hours_per_unit).ok_or_else(invalid)?;
        if hours > MAX_PERIOD_DAYS * 24 {
            return Err(PeriodError::TooLong {
                value: value.to_string(),
                max_days: MAX_PERIOD_DAYS,
            });
        }
        Ok(Period::last(TimeDelta::hours(hours), now))
    }
}

/// A `/metrics` period that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PeriodError {
    #[error("invalid period {value:?}, expected a count and a unit such as 24h, 7d or 4w")]
    Invalid { value: String },
    #[error("period {value:?} is longer than {max_days} days")]
    TooLong { value: String, max_days: i64 },
}

impl PeriodError {
    /// Stable code for the render layer.
    pub fn code(&self) -> &'static str {
        match self {
            PeriodError::Invalid { .. } => "period_invalid",
            PeriodError::TooLong { .. } => "period_too_long",
        }
    }
}

/// Mean and median of one metric over a set of incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Incidents that contributed a value.
    pub samples: usize,
    /// Incidents left out because of clock skew.
    pub skewed: usize,
    pub mean: Option<TimeDelta>,
    pub median: Option<TimeDelta>,
}

impl Stats {
    fn from_samples(mut samples: Vec<TimeDelta>, skewed: usize) -> Stats {
        if samples.is_empty() {
            return Stats {
                skewed,
                ..Stats::default()
            };
        }
        samples.sort();

        // Sum in i128 nanoseconds, which cannot overflow for any TimeDelta count
        // that fits in memory.
        let count = samples.len();
        let nanos = |delta: &TimeDelta| {
            i128::from(delta.num_seconds()) * 1_000_000_000 + i128::from(delta.subsec_nanos())
        };
        let total: i128 = samples.iter().map(nanos).sum();
        let mean = from_nanos(total / count as i128);
        let median = if count % 2 == 1 {
            samples[count / 2]
        } else {
            from_nanos((nanos(&samples[count / 2 - 1]) + nanos(&samples[count / 2])) / 2)
        };
        Stats {
            samples: count,
            skewed,
            mean: Some(mean),
            median: Some(median),
        }
    }
}

fn from_nanos(nanos: i128) -> TimeDelta {
    let seconds = (nanos / 1_000_000_000) as i64;
    let subsec = (nanos % 1_000_000_000) as i64;
    TimeDelta::seconds(seconds) + TimeDelta::nanoseconds(subsec)
}

/// [`Stats`] for each metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Aggregate {
    pub mttd: Stats,
    pub mtta: Stats,
    pub mttc: Stats,
    pub mttr: Stats,
}

impl Aggregate {
    pub fn get(&self, metric: Metric) -> Stats {
        match metric {
            Metric::Mttd => self.mttd,
            Metric::Mtta => self.mtta,
            Metric::Mttc => self.mttc,
            Metric::Mttr => self.mttr,
        }
    }
}

/// Aggregates each metric over `incidents`. With a `period`, an incident
/// counts for a metric only when the metric's end timestamp lies in it, so
/// MTTR over "the last 7 days" covers incidents closed in those days.
pub fn aggregate<'a>(
    incidents: impl IntoIterator<Item = &'a IncidentTimes>,
    period: Option<&Period>,
) -> Aggregate {
    let mut samples: [Vec<TimeDelta>; 4] = Default::default();
    let mut skewed = [0usize; 4];
    for times in incidents {
        for (slot, metric) in Metric::ALL.into_iter().enumerate() {
            let (_, end_field) = metric.interval();
            let in_period = match (period, end_field.get(times)) {
                (None, _) => true,
                (Some(period), Some(end)) => period.contains(end),
                (Some(_), None) => false,
            };
            if !in_period {
                continue;
            }
            match metric.measure(times) {
                Ok(delta) => samples[slot].push(delta),
                Err(Unavailable::ClockSkew { .. }) => skewed[slot] += 1,
                Err(Unavailable::Missing(_)) => {}
            }
        }
    }

    let [mttd, mtta, mttc, mttr] = samples;
    Aggregate {
        mttd: Stats::from_samples(mttd, skewed[0]),
        mtta: Stats::from_samples(mtta, skewed[1]),
        mttc: Stats::from_samples(mttc, skewed[2]),
        mttr: Stats::from_samples(mttr, skewed[3]),
    }
}

/// Returns the earliest plausible timestamp in evidence text: not before
/// [`EARLIEST_PLAUSIBLE_YEAR`] and not after `now`.
///
/// Recognized forms:
/// - ISO 8601 / RFC 3339 with a zone: `2020-07-22T03:27:53Z`,
///   `2020-07-22T03:27:53.548Z`, `2020-07-22 03:27:53+02:00`,
///   `2020-07-22 03:27:53 UTC`.
/// - A timestamp without a zone right after a key that is UTC by definition:
///   Sysmon `UtcTime` (`UtcTime: 2020-07-22 03:27:52.809`, also as a JSON key)
///   and Elastic `@timestamp`.
///
/// Timestamps without a zone elsewhere are skipped, because their zone is
/// unknown (NXLog's `EventTime`, for example, is the collector's local time).
/// Keys that only end in `UtcTime`, such as Sysmon's `CreationUtcTime`, are
/// skipped too, because they are file times, not activity.
pub fn earliest_activity(text: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    static ZONED: OnceLock<Regex> = OnceLock::new();
    static KEYED: OnceLock<Regex> = OnceLock::new();
    let zoned = ZONED.get_or_init(|| {
        Regex::new(
            r"\b(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|z| ?UTC\b|[+-]\d{2}:?\d{2}\b)",
        )
        .expect("valid regex")
    });
    let keyed = KEYED.get_or_init(|| {
        Regex::new(
            r#"(?:^|[^A-Za-z])(?:UtcTime|@timestamp)[\\"'\s]*[:=][\\"'\s]*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"#,
        )
        .expect("valid regex")
    });

    let floor = Utc
        .with_ymd_and_hms(EARLIEST_PLAUSIBLE_YEAR, 1, 1, 0, 0, 0)
        .single()
        .expect("valid constant date");
    let zoned_times = zoned.captures_iter(text).filter_map(|caps| {
        let local = naive_from(&caps)?;
        let offset = parse_offset(caps.get(8)?.as_str())?;
        offset
            .from_local_datetime(&local)
            .single()
            .map(|t| t.with_timezone(&Utc))
    });
    let keyed_times = keyed
        .captures_iter(text)
        .filter_map(|caps| naive_from(&caps).map(|naive| naive.and_utc()));
    zoned_times
        .chain(keyed_times)
        .filter(|t| *t >= floor && *t <= now)
        .min()
}

/// Builds a date and time from capture groups 1-7 (year to fraction).
fn naive_from(caps: &Captures<'_>) -> Option<NaiveDateTime> {
    let number = |i: usize| caps.get(i)?.as_str().parse::<u32>().ok();
    let year = caps.get(1)?.as_str().parse::<i32>().ok()?;
    let date = NaiveDate::from_ymd_opt(year, number(2)?, number(3)?)?;
    let nanos = match caps.get(7) {
        // Right-pad the fraction to nine digits: ".5" is 500 ms.
        Some(fraction) => format!("{:0<9}", fraction.as_str()).parse().ok()?,
        None => 0,
    };
    date.and_hms_nano_opt(number(4)?, number(5)?, number(6)?, nanos)
}

fn parse_offset(zone: &str) -> Option<FixedOffset> {
    let zone = zone.trim();
    if zone.eq_ignore_ascii_case("z") || zone == "UTC" {
        return FixedOffset::east_opt(0);
    }
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let digits: String = zone.chars().filter(char::is_ascii_digit).collect();
    let hours: i32 = digits.get(0..2)?.parse().ok()?;
    let minutes: i32 = digits.get(2..4)?.parse().ok()?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn now() -> DateTime<Utc> {
        at("2026-05-01T12:00:00Z")
    }

    fn full_times() -> IncidentTimes {
        IncidentTimes {
            first_activity: Some(at("2020-07-22T03:27:52Z")),
            finding_at: Some(at("2020-07-22T05:27:52Z")),
            handoff_at: Some(at("2020-07-22T05:30:00Z")),
            accepted_at: Some(at("2020-07-22T05:40:00Z")),
            contained_at: Some(at("2020-07-22T06:10:00Z")),
            closed_at: Some(at("2020-07-23T05:40:00Z")),
        }
    }

    #[test]
    fn metrics_from_full_times() {
        let metrics = full_times().metrics();
        assert_eq!(metrics.mttd, Some(TimeDelta::hours(2)));
        assert_eq!(metrics.mtta, Some(TimeDelta::minutes(10)));
        assert_eq!(metrics.mttc, Some(TimeDelta::minutes(30)));
        assert_eq!(metrics.mttr, Some(TimeDelta::hours(24)));
        assert!(metrics.unavailable.is_empty());
        assert_eq!(metrics.get(Metric::Mttc), Some(TimeDelta::minutes(30)));
    }

    #[test]
    fn metrics_missing_timestamps_name_the_field() {
        let times = IncidentTimes {
            contained_at: None,
            closed_at: None,
            ..full_times()
        };
        let metrics = times.metrics();
        assert_eq!(metrics.mttc, None);
        assert_eq!(metrics.mttr, None);
        assert_eq!(
            metrics.reason(Metric::Mttc),
            Some(Unavailable::Missing(TimeField::ContainedAt))
        );
        assert_eq!(
            metrics.reason(Metric::Mttr),
            Some(Unavailable::Missing(TimeField::ClosedAt))
        );
        assert_eq!(metrics.reason(Metric::Mttd), None);
    }

    #[test]
    fn metrics_negative_interval_is_clock_skew() {
        let times = IncidentTimes {
            first_activity: Some(at("2020-07-22T06:00:00Z")),
            ..full_times()
        };
        let metrics = times.metrics();
        assert_eq!(metrics.mttd, None);
        assert_eq!(
            metrics.reason(Metric::Mttd),
            Some(Unavailable::ClockSkew {
                start: at("2020-07-22T06:00:00Z"),
                end: at("2020-07-22T05:27:52Z"),
            })
        );
        assert_eq!(metrics.mtta, Some(TimeDelta::minutes(10)));
    }

    #[test]
    fn metrics_zero_interval_is_kept() {
        let times = IncidentTimes {
            handoff_at: Some(at("2020-07-22T05:40:00Z")),
            ..full_times()
        };
        assert_eq!(times.metrics().mtta, Some(TimeDelta::zero()));
    }

    #[test]
    fn metrics_empty_times() {
        let metrics = IncidentTimes::default().metrics();
        assert_eq!(metrics.unavailable.len(), 4);
        assert_eq!(
            metrics.reason(Metric::Mttd),
            Some(Unavailable::Missing(TimeField::FirstActivity))
        );
    }

    #[test]
    fn aggregate_mean_and_median() {
        let mut incidents = Vec::new();
        for minutes in [10, 20, 60] {
            let accepted = at("2024-01-01T10:00:00Z");
            incidents.push(IncidentTimes {
                accepted_at: Some(accepted),
                contained_at: Some(accepted + TimeDelta::minutes(minutes)),
                ..IncidentTimes::default()
            });
        }
        let result = aggregate(&incidents, None);
        assert_eq!(result.mttc.samples, 3);
        assert_eq!(result.mttc.mean, Some(TimeDelta::minutes(30)));
        assert_eq!(result.mttc.median, Some(TimeDelta::minutes(20)));
        assert_eq!(result.mttd, Stats::default());
    }

    #[test]
    fn aggregate_even_count_median_averages() {
        let accepted = at("2024-01-01T10:00:00Z");
        let incidents: Vec<_> = [1, 2, 3, 10]
            .into_iter()
            .map(|hours| IncidentTimes {
                accepted_at: Some(accepted),
                closed_at: Some(accepted + TimeDelta::hours(hours)),
                ..IncidentTimes::default()
            })
            .collect();
        let result = aggregate(&incidents, None);
        assert_eq!(result.mttr.median, Some(TimeDelta::minutes(150)));
        assert_eq!(result.mttr.mean, Some(TimeDelta::minutes(240)));
        assert_eq!(result.get(Metric::Mttr).samples, 4);
    }

    #[test]
    fn aggregate_mean_keeps_subsecond_precision() {
        let start = at("2024-01-01T10:00:00Z");
        let incidents: Vec<_> = [1, 2]
            .into_iter()
            .map(|ms| IncidentTimes {
                handoff_at: Some(start),
                accepted_at: Some(start + TimeDelta::milliseconds(ms)),
                ..IncidentTimes::default()
            })
            .collect();
        let result = aggregate(&incidents, None);
        assert_eq!(result.mtta.mean, Some(TimeDelta::microseconds(1500)));
    }

    #[test]
    fn aggregate_counts_skew_apart() {
        let skewed = IncidentTimes {
            handoff_at: Some(at("2024-01-01T10:05:00Z")),
            accepted_at: Some(at("2024-01-01T10:00:00Z")),
            ..IncidentTimes::default()
        };
        let fine = IncidentTimes {
            handoff_at: Some(at("2024-01-01T10:00:00Z")),
            accepted_at: Some(at("2024-01-01T10:04:00Z")),
            ..IncidentTimes::default()
        };
        let result = aggregate([&skewed, &fine], None);
        assert_eq!(result.mtta.samples, 1);
        assert_eq!(result.mtta.skewed, 1);
        assert_eq!(result.mtta.mean, Some(TimeDelta::minutes(4)));
    }

    #[test]
    fn aggregate_filters_by_end_in_period() {
        let period = Period {
            start: at("2024-02-01T00:00:00Z"),
            end: at("2024-03-01T00:00:00Z"),
        };
        let closed_in_period = IncidentTimes {
            accepted_at: Some(at("2024-01-30T00:00:00Z")),
            closed_at: Some(at("2024-02-02T00:00:00Z")),
            ..IncidentTimes::default()
        };
        let closed_before = IncidentTimes {
            accepted_at: Some(at("2024-01-01T00:00:00Z")),
            closed_at: Some(at("2024-01-02T00:00:00Z")),
            ..IncidentTimes::default()
        };
        let still_open = IncidentTimes {
            accepted_at: Some(at("2024-02-10T00:00:00Z")),
            ..IncidentTimes::default()
        };
        let result = aggregate(
            [&closed_in_period, &closed_before, &still_open],
            Some(&period),
        );
        assert_eq!(result.mttr.samples, 1);
        assert_eq!(result.mttr.mean, Some(TimeDelta::days(3)));
    }

    #[test]
    fn period_parses_units_in_both_languages() {
        let cases = [
            ("24h", TimeDelta::hours(24)),
            ("7d", TimeDelta::days(7)),
            ("7 días", TimeDelta::days(7)),
            ("30 dias", TimeDelta::days(30)),
            ("1 day", TimeDelta::days(1)),
            ("4w", TimeDelta::weeks(4)),
            ("2 semanas", TimeDelta::weeks(2)),
            ("12 horas", TimeDelta::hours(12)),
        ];
        for (input, length) in cases {
            let period = Period::parse(input, now()).unwrap();
            assert_eq!(period.start, now() - length, "input {input:?}");
            assert!(period.contains(now()), "input {input:?}");
            assert!(!period.contains(now() - length - TimeDelta::seconds(1)));
        }
    }

    #[test]
    fn period_rejects_bad_values() {
        for input in [
            "",
            "d",
            "7",
            "7y",
            "0d",
            "-3d",
            "7 lunas",
            "99999999999999999999d",
        ] {
            let error = Period::parse(input, now()).unwrap_err();
            assert_eq!(error.code(), "period_invalid", "input {input:?}");
        }
        let error = Period::parse("5000d", now()).unwrap_err();
        assert_eq!(
            error,
            PeriodError::TooLong {
                value: "5000d".into(),
                max_days: MAX_PERIOD_DAYS
            }
        );
        assert_eq!(error.code(), "period_too_long");
    }

    #[test]
    fn earliest_recognizes_each_form() {
        let cases = [
            ("2020-07-22T03:27:53Z", "2020-07-22T03:27:53Z"),
            ("x 2020-07-22T03:27:53.548Z y", "2020-07-22T03:27:53.548Z"),
            ("2020-07-22 03:27:53+02:00", "2020-07-22T01:27:53Z"),
            ("2020-07-22T03:27:53-0500", "2020-07-22T08:27:53Z"),
            ("2020-07-22 03:27:53 UTC", "2020-07-22T03:27:53Z"),
            (
                "UtcTime: 2020-07-22 03:27:52.809",
                "2020-07-22T03:27:52.809Z",
            ),
            (
                r#""UtcTime": "2020-07-22 03:27:52.809""#,
                "2020-07-22T03:27:52.809Z",
            ),
            (
                r#""@timestamp": "2020-07-22T03:27:53.5""#,
                "2020-07-22T03:27:53.5Z",
            ),
            (
                r#"{\"UtcTime\": \"2020-07-22 03:27:52\"}"#,
                "2020-07-22T03:27:52Z",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                earliest_activity(text, now()),
                Some(at(expected)),
                "text {text:?}"
            );
        }
    }

    #[test]
    fn earliest_skips_naive_and_file_times() {
        let text = r#"EventTime: 2020-07-21 23:27:52, "CreationUtcTime": "2020-07-22 01:04:27.094", 2020-07-22 02:00:00"#;
        assert_eq!(earliest_activity(text, now()), None);
    }

    #[test]
    fn earliest_skips_implausible_dates() {
        let text = "1970-01-01T00:00:00Z 1601-01-01T00:00:00Z 2099-01-01T00:00:00Z 2020-13-01T00:00:00Z 2021-05-05T10:00:00Z";
        assert_eq!(
            earliest_activity(text, now()),
            Some(at("2021-05-05T10:00:00Z"))
        );
        assert_eq!(earliest_activity("2026-05-01T12:00:01Z", now()), None);
        assert_eq!(
            earliest_activity("2026-05-01T12:00:00Z", now()),
            Some(now())
        );
    }

    #[test]
    fn earliest_takes_the_minimum() {
        let text =
            "a 2020-07-22T03:27:57Z..03:28:28Z b 2020-07-22T03:27:53Z c 2020-07-22T03:27:54Z";
        assert_eq!(
            earliest_activity(text, now()),
            Some(at("2020-07-22T03:27:53Z"))
        );
    }

    #[test]
    fn earliest_in_real_sysmon_events() {
        // 19 Sysmon events from the OTRF Security-Datasets regsvr32 "Squiblydoo"
        // recording: the regsvr32 process creation at UtcTime 03:27:52.809 is
        // the first activity. EventTime (local, UTC-4) and the prefetch file's
        // CreationUtcTime (01:04:27) must not win.
        let events = include_str!("../../tests/data/regsvr32-squiblydoo/events.jsonl");
        assert_eq!(
            earliest_activity(events, now()),
            Some(at("2020-07-22T03:27:52.809Z"))
        );
    }

    #[test]
    fn earliest_in_finding_evidence() {
        let evidence = "2020-07-22T03:27:53Z WORKSTATION5 Sysmon 1 regsvr32.exe\n\
                        2020-07-22T03:27:54Z WORKSTATION5 Sysmon 1 powershell.exe\n\
                        2020-07-22T03:27:57Z..03:28:28Z WORKSTATION5 Sysmon 3";
        assert_eq!(
            earliest_activity(evidence, now()),
            Some(at("2020-07-22T03:27:53Z"))
        );
    }

    #[test]
    fn earliest_in_text_without_timestamps() {
        assert_eq!(earliest_activity("", now()), None);
        assert_eq!(earliest_activity("no dates at all 12:00", now()), None);
    }
}
