//! Everything known about one incident, gathered for closing, reports and
//! exports: its findings, indicators, techniques, evidence, timeline, tasks,
//! hunts and raw times.

use std::collections::BTreeSet;

use crate::domain::attack::{Catalog, Resolved};
use crate::domain::finding::ParsedFinding;
use crate::domain::ioc::{Ioc, IocFlag};
use crate::domain::metrics::IncidentTimes;
use crate::domain::rules::{Resolution, RuleInput, windows_files};
use crate::domain::types::Severity;
use crate::store::{
    self, AnyConnection, files::FileMeta, findings::FindingRow, hunts::HuntRow,
    incidents::IncidentRow, proposals::ProposalRow, tasks::TaskRow, timeline::TimelineRow,
};

use super::view;

/// The largest evidence file read as text for rule generation, in bytes.
const MAX_EVIDENCE_TEXT_BYTES: usize = 8 * 1024 * 1024;

/// One incident and what belongs to it.
#[derive(Debug, Clone)]
pub struct Dossier {
    pub incident: IncidentRow,
    pub findings: Vec<(FindingRow, ParsedFinding)>,
    /// Indicators with where they came from, one per kind and value.
    pub iocs: Vec<(Ioc, String)>,
    pub techniques: Vec<Resolved>,
    pub hosts: Vec<String>,
    pub users: Vec<String>,
    /// Code blocks of the findings and the text of evidence files.
    pub evidence: Vec<String>,
    pub files: Vec<FileMeta>,
    pub timeline: Vec<TimelineRow>,
    pub tasks: Vec<TaskRow>,
    pub hunts: Vec<HuntRow>,
    /// Rule proposals made when the incident closed.
    pub proposals: Vec<ProposalRow>,
    pub times: IncidentTimes,
}

impl Dossier {
    /// Loads an incident's dossier, or `None` when there is no such incident.
    pub async fn load(conn: &mut AnyConnection, incident_id: &str) -> anyhow::Result<Option<Self>> {
        let Some(incident) = store::incidents::get(&mut *conn, incident_id).await? else {
            return Ok(None);
        };
        let mut findings = Vec::new();
        for row in store::findings::list_for_incident(&mut *conn, incident_id).await? {
            let parsed: ParsedFinding = serde_json::from_str(&row.body)?;
            findings.push((row, parsed));
        }

        let mut techniques: Vec<Resolved> = Vec::new();
        let mut hosts = BTreeSet::new();
        let mut users = BTreeSet::new();
        let mut evidence = Vec::new();
        for (_, parsed) in &findings {
            for technique in &parsed.techniques {
                if !techniques.iter().any(|known| known.id == technique.id) {
                    techniques.push(technique.clone());
                }
            }
            hosts.extend(parsed.hosts.iter().cloned());
            users.extend(parsed.users.iter().cloned());
            evidence.extend(parsed.evidence.iter().cloned());
        }

        let files = store::files::list_for_incident(&mut *conn, incident_id).await?;
        for meta in files.iter().filter(|meta| !meta.generated) {
            if meta.size as usize > MAX_EVIDENCE_TEXT_BYTES {
                continue;
            }
            let content = store::files::get(&mut *conn, meta.id).await?;
            if let Some(text) = content.and_then(|(_, bytes)| String::from_utf8(bytes).ok()) {
                evidence.push(text);
            }
        }

        let iocs = store::iocs::list_for_incident(&mut *conn, incident_id)
            .await?
            .iter()
            .filter_map(|row| view::ioc_from_row(row).map(|ioc| (ioc, row.source.clone())))
            .collect();
        let timeline = store::timeline::list_for_incident(&mut *conn, incident_id).await?;
        let tasks = store::tasks::list(&mut *conn, incident_id).await?;
        let hunts = store::hunts::list_for_incident(&mut *conn, incident_id).await?;
        let proposals = store::proposals::list(&mut *conn, Some(incident_id)).await?;
        let times = view::incident_times(&mut *conn, &incident).await?;
        Ok(Some(Self {
            incident,
            findings,
            iocs,
            techniques,
            hosts: hosts.into_iter().collect(),
            users: users.into_iter().collect(),
            evidence,
            files,
            timeline,
            tasks,
            hunts,
            proposals,
            times,
        }))
    }

    /// Builds the input of rule generation for this incident.
    pub fn rule_input<'a>(
        &'a self,
        iocs: &'a [Ioc],
        evidence: &'a [&'a str],
        resolution: Resolution,
        author: &'a str,
        date: chrono::NaiveDate,
        catalog: &'a Catalog,
    ) -> RuleInput<'a> {
        RuleInput {
            incident_id: &self.incident.id,
            title: &self.incident.title,
            hypothesis: self
                .findings
                .iter()
                .find_map(|(_, parsed)| parsed.hypothesis.as_deref()),
            severity: self.incident.severity.parse().unwrap_or(Severity::Medium),
            resolution,
            techniques: &self.techniques,
            iocs,
            hosts: &self.hosts,
            users: &self.users,
            evidence,
            author,
            date,
            catalog,
        }
    }

    /// Returns the indicators without their sources. Hashes that the evidence
    /// shows to be Windows system files, and the names of prefetch files it
    /// shows Windows writing, get the `known_good` flag, so exports do not
    /// mark them for blocking either.
    // NOTE: exports therefore describe these values as "on the known-good
    // list", because no indicator flag names Windows's own files.
    pub fn export_iocs(&self, catalog: &Catalog) -> Vec<Ioc> {
        let iocs = self.ioc_values();
        let evidence: Vec<&str> = self.evidence.iter().map(String::as_str).collect();
        let input = self.rule_input(
            &iocs,
            &evidence,
            Resolution::TruePositive,
            "",
            chrono::Utc::now().date_naive(),
            catalog,
        );
        let system = windows_files(&input);
        iocs.into_iter()
            .map(|mut ioc| {
                let is_system = system
                    .iter()
                    .any(|(kind, value)| *kind == ioc.kind && *value == ioc.value);
                if is_system && !ioc.flags.contains(&IocFlag::KnownGood) {
                    ioc.flags.push(IocFlag::KnownGood);
                    ioc.flags.sort();
                }
                ioc
            })
            .collect()
    }

    /// Returns the indicators without their sources.
    pub fn ioc_values(&self) -> Vec<Ioc> {
        self.iocs.iter().map(|(ioc, _)| ioc.clone()).collect()
    }
}
