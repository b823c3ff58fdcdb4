//! The MITRE ATT&CK Enterprise catalog that technique IDs in findings and hunts
//! are checked against.
//!
//! The catalog is embedded from `data/attack-enterprise.tsv` and
//! `data/attack-enterprise-tactics.tsv` (ATT&CK v19 plus the IDs v19 no longer
//! lists) and parsed once per process. [`Catalog::resolve`] accepts active IDs
//! as they are. It maps revoked IDs to their replacement and accepts
//! deprecated IDs and IDs removed in v19 as they are, each with an
//! [`AttackWarning`] that the caller renders in the room's language.
//!
//! v19 split the Defense Evasion tactic into Stealth, which keeps the ID
//! TA0005, and Defense Impairment (TA0112). Techniques removed by that split
//! still name the old `defense-evasion` tactic, which [`Catalog::tactic`]
//! returns as a tactic that is no longer current.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The accepted form of a technique ID, for error replies.
pub const EXPECTED_ID_FORM: &str = "T1234 or T1234.567";

const TECHNIQUES_TSV: &str = include_str!("../../data/attack-enterprise.tsv");
const TACTICS_TSV: &str = include_str!("../../data/attack-enterprise-tactics.tsv");
const TECHNIQUES_HEADER: &str = "id\tname\ttactics\tstatus\trevoked_by";
const TACTICS_HEADER: &str = "id\tshortname\tname";

/// Tactics that older rows still name but that are no longer in the matrix:
/// (ID, shortname, name) as in ATT&CK v18.1.
const RETIRED_TACTICS: [(&str, &str, &str); 1] = [("TA0005", "defense-evasion", "Defense Evasion")];

/// Upper bound on suggestions returned for an unknown ID.
const MAX_SUGGESTIONS: usize = 5;

/// Lifecycle status of a technique in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Listed in ATT&CK v19.
    #[serde(rename = "active")]
    Active,
    /// Revoked by MITRE and replaced by another technique.
    #[serde(rename = "revoked")]
    Revoked,
    /// Deprecated by MITRE with no replacement.
    #[serde(rename = "deprecated")]
    Deprecated,
    /// Active in v18.1 but absent from v19, which split Defense Evasion into
    /// Stealth and Defense Impairment.
    #[serde(rename = "removed-v19")]
    RemovedV19,
}

impl Status {
    /// Returns the code used in the catalog file and in serde.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Revoked => "revoked",
            Status::Deprecated => "deprecated",
            Status::RemovedV19 => "removed-v19",
        }
    }

    fn parse(value: &str) -> Option<Status> {
        [
            Status::Active,
            Status::Revoked,
            Status::Deprecated,
            Status::RemovedV19,
        ]
        .into_iter()
        .find(|status| status.as_str() == value)
    }
}

/// An ATT&CK tactic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tactic {
    /// Tactic ID, e.g. `TA0005`.
    pub id: String,
    /// Short name used in technique rows, e.g. `stealth`.
    pub shortname: String,
    /// English name as MITRE publishes it, e.g. `Stealth`.
    pub name: String,
    /// False for a tactic that the current matrix no longer has.
    pub current: bool,
}

/// One catalog row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technique {
    /// Normalized ID, e.g. `T1218.010`.
    pub id: String,
    /// English name as MITRE publishes it, with the parent's name first for
    /// sub-techniques (`System Binary Proxy Execution: Regsvr32`).
    pub name: String,
    /// Tactic shortnames, in catalog order.
    pub tactics: Vec<String>,
    pub status: Status,
    /// Replacement ID of a revoked technique.
    pub revoked_by: Option<String>,
}

/// A validated, normalized technique ID (`T1234` or `T1234.567`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TechniqueId(String);

impl TechniqueId {
    /// Parses an ID, ignoring case and whitespace (`t1059 .001` is
    /// `T1059.001`).
    pub fn parse(value: &str) -> Result<TechniqueId, AttackError> {
        let normalized: String = value
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if is_well_formed(&normalized) {
            Ok(TechniqueId(normalized))
        } else {
            Err(AttackError::Malformed {
                value: value.to_string(),
                expected: EXPECTED_ID_FORM,
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the parent technique of a sub-technique (`T1218` for `T1218.010`).
    pub fn parent(&self) -> Option<TechniqueId> {
        self.0
            .split_once('.')
            .map(|(parent, _)| TechniqueId(parent.to_string()))
    }
}

impl fmt::Display for TechniqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_well_formed(id: &str) -> bool {
    let Some(digits) = id.strip_prefix('T') else {
        return false;
    };
    let (base, sub) = match digits.split_once('.') {
        Some((base, sub)) => (base, Some(sub)),
        None => (digits, None),
    };
    let all_digits =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    all_digits(base, 4) && sub.is_none_or(|sub| all_digits(sub, 3))
}

/// A technique ID accepted by [`Catalog::resolve`], with what the caller
/// should tell the user about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    /// The ID as requested, normalized.
    pub requested: String,
    /// The ID to record: `requested`, or its replacement when it was revoked.
    pub id: String,
    /// Name of `id`.
    pub name: String,
    /// Tactics of `id`, in catalog order.
    pub tactics: Vec<Tactic>,
    /// Status of `id`.
    pub status: Status,
    /// One warning per revocation step, then one if `id` is deprecated or
    /// removed. Empty for an active ID.
    pub warnings: Vec<AttackWarning>,
}

/// Remark about an accepted ID that the reply should show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttackWarning {
    /// `id` was revoked and `replaced_by` is recorded in its place.
    Revoked {
        id: String,
        replaced_by: String,
        replacement_name: String,
    },
    /// `id` is deprecated and has no replacement.
    Deprecated { id: String },
    /// `id` was removed in ATT&CK v19 by the split of Defense Evasion into
    /// Stealth (TA0005) and Defense Impairment (TA0112).
    RemovedInV19 { id: String },
}

impl AttackWarning {
    /// Stable code for the render layer.
    pub fn code(&self) -> &'static str {
        match self {
            AttackWarning::Revoked { .. } => "technique_revoked",
            AttackWarning::Deprecated { .. } => "technique_deprecated",
            AttackWarning::RemovedInV19 { .. } => "technique_removed_v19",
        }
    }

    /// Returns the ID the warning is about.
    pub fn id(&self) -> &str {
        match self {
            AttackWarning::Revoked { id, .. }
            | AttackWarning::Deprecated { id }
            | AttackWarning::RemovedInV19 { id } => id,
        }
    }
}

/// A technique ID that cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AttackError {
    /// Not of the form `expected`.
    #[error("malformed technique ID {value:?}, expected {expected}")]
    Malformed {
        value: String,
        expected: &'static str,
    },
    /// Well-formed but not in the catalog. `suggestions` lists the closest
    /// known IDs: the parent technique of an unknown sub-technique first, then
    /// IDs one edit away.
    #[error("unknown technique ID {id}")]
    Unknown {
        id: String,
        suggestions: Vec<String>,
    },
}

impl AttackError {
    /// Stable code for the render layer.
    pub fn code(&self) -> &'static str {
        match self {
            AttackError::Malformed { .. } => "technique_malformed",
            AttackError::Unknown { .. } => "technique_unknown",
        }
    }
}

/// Catalog file that a [`CatalogError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Techniques,
    Tactics,
}

/// A defect in catalog data, with the 1-based line it is on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{table:?} table, line {line}: {problem}")]
pub struct CatalogError {
    pub table: Table,
    pub line: usize,
    pub problem: String,
}

/// The technique and tactic catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    techniques: Vec<Technique>,
    index: HashMap<String, usize>,
    tactics: Vec<Tactic>,
    retired_tactics: Vec<Tactic>,
}

impl Catalog {
    /// Returns the catalog embedded in the binary, parsed on first use.
    ///
    /// Panics if the embedded data is invalid, which the unit tests rule out.
    pub fn embedded() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            Catalog::from_tsv(TECHNIQUES_TSV, TACTICS_TSV).expect("embedded ATT&CK data is valid")
        })
    }

    /// Parses the two tab-separated tables. Lines starting with `#` are
    /// comments. The first other line must be the header. Every tactic a
    /// technique names must exist, and every revocation must lead to a
    /// technique that is not revoked.
    pub fn from_tsv(techniques_tsv: &str, tactics_tsv: &str) -> Result<Catalog, CatalogError> {
        let tactics = parse_tactics(tactics_tsv)?;
        let retired_tactics = RETIRED_TACTICS
            .iter()
            .filter(|(_, shortname, _)| !tactics.iter().any(|t| t.shortname == *shortname))
            .map(|(id, shortname, name)| Tactic {
                id: id.to_string(),
                shortname: shortname.to_string(),
                name: name.to_string(),
                current: false,
            })
            .collect();
        let mut catalog = Catalog {
            techniques: Vec::new(),
            index: HashMap::new(),
            tactics,
            retired_tactics,
        };

        let mut lines_by_id = HashMap::new();
        for (line, fields) in table_rows(techniques_tsv, Table::Techniques, TECHNIQUES_HEADER, 5)? {
            let problem = |problem: String| CatalogError {
                table: Table::Techniques,
                line,
                problem,
            };
            let id = fields[0];
            if !is_well_formed(id) {
                return Err(problem(format!("malformed technique ID {id:?}")));
            }
            let status = Status::parse(fields[3])
                .ok_or_else(|| problem(format!("unknown status {:?}", fields[3])))?;
            let tactics: Vec<String> = fields[2].split(',').map(str::to_string).collect();
            if let Some(unknown) = tactics.iter().find(|t| catalog.tactic(t).is_none()) {
                return Err(problem(format!("unknown tactic {unknown:?}")));
            }
            let revoked_by = Some(fields[4])
                .filter(|r| !r.is_empty())
                .map(str::to_string);
            if (status == Status::Revoked) != revoked_by.is_some() {
                return Err(problem(format!(
                    "revoked_by must be set exactly when the status is revoked (status {:?})",
                    fields[3]
                )));
            }
            if catalog
                .index
                .insert(id.to_string(), catalog.techniques.len())
                .is_some()
            {
                return Err(problem(format!("duplicate technique ID {id}")));
            }
            lines_by_id.insert(id.to_string(), line);
            catalog.techniques.push(Technique {
                id: id.to_string(),
                name: fields[1].to_string(),
                tactics,
                status,
                revoked_by,
            });
        }

        // Every revocation chain must end at a technique that is not revoked.
        for technique in &catalog.techniques {
            if let Err(problem) = catalog.follow_revocations(technique) {
                return Err(CatalogError {
                    table: Table::Techniques,
                    line: lines_by_id[&technique.id],
                    problem,
                });
            }
        }
        Ok(catalog)
    }

    /// Looks up a technique by ID, ignoring case and whitespace.
    pub fn get(&self, id: &str) -> Option<&Technique> {
        let id = TechniqueId::parse(id).ok()?;
        self.index.get(id.as_str()).map(|&i| &self.techniques[i])
    }

    /// Resolves a technique ID for recording in a finding or hunt. See the
    /// module documentation for what is accepted with a warning.
    pub fn resolve(&self, id: &str) -> Result<Resolved, AttackError> {
        let requested = TechniqueId::parse(id)?;
        let Some(technique) = self.get(requested.as_str()) else {
            return Err(AttackError::Unknown {
                suggestions: self.suggest(&requested),
                id: requested.0,
            });
        };

        // The load-time check guarantees that the chain ends.
        let chain = self
            .follow_revocations(technique)
            .expect("revocation chains were checked at load");
        let mut warnings = Vec::new();
        for pair in chain.windows(2) {
            warnings.push(AttackWarning::Revoked {
                id: pair[0].id.clone(),
                replaced_by: pair[1].id.clone(),
                replacement_name: pair[1].name.clone(),
            });
        }
        let target = chain.last().copied().unwrap_or(technique);
        match target.status {
            Status::Deprecated => warnings.push(AttackWarning::Deprecated {
                id: target.id.clone(),
            }),
            Status::RemovedV19 => warnings.push(AttackWarning::RemovedInV19 {
                id: target.id.clone(),
            }),
            Status::Active | Status::Revoked => {}
        }

        Ok(Resolved {
            requested: requested.0,
            id: target.id.clone(),
            name: target.name.clone(),
            tactics: target
                .tactics
                .iter()
                .filter_map(|shortname| self.tactic(shortname).cloned())
                .collect(),
            status: target.status,
            warnings,
        })
    }

    /// Looks up a tactic by shortname (`stealth`), ID (`TA0005`) or English
    /// name, ignoring case. The current matrix wins over retired tactics, so
    /// `TA0005` is Stealth and `defense-evasion` is the retired Defense Evasion.
    pub fn tactic(&self, key: &str) -> Option<&Tactic> {
        let key = key.trim();
        let matches = |tactic: &&Tactic| {
            tactic.shortname.eq_ignore_ascii_case(key)
                || tactic.id.eq_ignore_ascii_case(key)
                || tactic.name.eq_ignore_ascii_case(key)
        };
        self.tactics
            .iter()
            .find(matches)
            .or_else(|| self.retired_tactics.iter().find(matches))
    }

    /// Iterates over the tactics of the current matrix, in matrix order.
    pub fn tactics(&self) -> impl Iterator<Item = &Tactic> {
        self.tactics.iter()
    }

    /// Iterates over every technique row in catalog order, whatever its status.
    pub fn techniques(&self) -> impl Iterator<Item = &Technique> {
        self.techniques.iter()
    }

    /// Returns the number of technique rows.
    pub fn len(&self) -> usize {
        self.techniques.len()
    }

    pub fn is_empty(&self) -> bool {
        self.techniques.is_empty()
    }

    /// Returns the technique followed by each replacement in turn, or a
    /// description of the broken link.
    fn follow_revocations<'a>(
        &'a self,
        start: &'a Technique,
    ) -> Result<Vec<&'a Technique>, String> {
        let mut chain = vec![start];
        let mut seen = HashSet::from([start.id.as_str()]);
        let mut current = start;
        while let Some(next_id) = &current.revoked_by {
            let Some(&next) = self.index.get(next_id) else {
                return Err(format!(
                    "{} is revoked by {next_id}, which is not in the table",
                    current.id
                ));
            };
            current = &self.techniques[next];
            if !seen.insert(current.id.as_str()) {
                return Err(format!("revocation cycle through {}", current.id));
            }
            chain.push(current);
        }
        Ok(chain)
    }

    /// Lists known IDs close to an unknown one.
    fn suggest(&self, id: &TechniqueId) -> Vec<String> {
        let mut suggestions = Vec::new();
        if let Some(parent) = id.parent().filter(|p| self.index.contains_key(p.as_str())) {
            suggestions.push(parent.0);
        }
        let mut near: Vec<(usize, &str)> = self
            .techniques
            .iter()
            .map(|t| (strsim::osa_distance(&t.id, id.as_str()), t.id.as_str()))
            .filter(|(distance, _)| *distance == 1)
            .collect();
        near.sort();
        for (_, candidate) in near {
            if suggestions.len() == MAX_SUGGESTIONS {
                break;
            }
            if !suggestions.iter().any(|s| s == candidate) {
                suggestions.push(candidate.to_string());
            }
        }
        suggestions
    }
}

/// Finds technique IDs in free text, in order of first appearance and without
/// duplicates. Lowercase `t1059` counts. Digit runs of the wrong length
/// (`T10590`, `T1059.0011`) do not.
pub fn find_technique_ids(text: &str) -> Vec<TechniqueId> {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    let pattern =
        PATTERN.get_or_init(|| Regex::new(r"(?i)\bT\d{4}(?:\.\d+)?\b").expect("valid regex"));

    let mut found: Vec<TechniqueId> = Vec::new();
    for candidate in pattern.find_iter(text) {
        if let Ok(id) = TechniqueId::parse(candidate.as_str())
            && !found.contains(&id)
        {
            found.push(id);
        }
    }
    found
}

fn parse_tactics(tsv: &str) -> Result<Vec<Tactic>, CatalogError> {
    let mut tactics: Vec<Tactic> = Vec::new();
    for (line, fields) in table_rows(tsv, Table::Tactics, TACTICS_HEADER, 3)? {
        if tactics
            .iter()
            .any(|t| t.id == fields[0] || t.shortname == fields[1])
        {
            return Err(CatalogError {
                table: Table::Tactics,
                line,
                problem: format!("duplicate tactic {} {}", fields[0], fields[1]),
            });
        }
        tactics.push(Tactic {
            id: fields[0].to_string(),
            shortname: fields[1].to_string(),
            name: fields[2].to_string(),
            current: true,
        });
    }
    Ok(tactics)
}

/// Splits a table into (1-based line, fields) rows after checking the header
/// and the column count.
fn table_rows<'a>(
    tsv: &'a str,
    table: Table,
    header: &str,
    columns: usize,
) -> Result<Vec<(usize, Vec<&'a str>)>, CatalogError> {
    let mut rows = Vec::new();
    let mut header_seen = false;
    for (index, line) in tsv.lines().enumerate() {
        let line_number = index + 1;
        let line = line.trim_end_matches('\r');
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !header_seen {
            if line != header {
                return Err(CatalogError {
                    table,
                    line: line_number,
                    problem: format!("expected the header {header:?}"),
                });
            }
            header_seen = true;
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != columns {
            return Err(CatalogError {
                table,
                line: line_number,
                problem: format!("expected {columns} columns, found {}", fields.len()),
            });
        }
        rows.push((line_number, fields));
    }
    if !header_seen {
        return Err(CatalogError {
            table,
            line: 0,
            problem: format!("missing the header {header:?}"),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> &'static Catalog {
        Catalog::embedded()
    }

    #[test]
    fn embedded_catalog_loads_every_row() {
        assert_eq!(catalog().len(), 858);
        assert_eq!(catalog().tactics().count(), 15);
        let statuses = |status| {
            catalog()
                .techniques()
                .filter(|t| t.status == status)
                .count()
        };
        assert_eq!(statuses(Status::Active), 697);
        assert_eq!(statuses(Status::Revoked), 132);
        assert_eq!(statuses(Status::Deprecated), 12);
        assert_eq!(statuses(Status::RemovedV19), 17);
    }

    #[test]
    fn embedded_catalog_is_shared() {
        assert!(std::ptr::eq(Catalog::embedded(), Catalog::embedded()));
    }

    #[test]
    fn technique_id_normalizes_case_and_spaces() {
        assert_eq!(
            TechniqueId::parse("t1059.001").unwrap().as_str(),
            "T1059.001"
        );
        assert_eq!(
            TechniqueId::parse(" T1059 .001 ").unwrap().as_str(),
            "T1059.001"
        );
        assert_eq!(TechniqueId::parse("T1059").unwrap().as_str(), "T1059");
    }

    #[test]
    fn technique_id_rejects_malformed() {
        for value in [
            "",
            "T123",
            "T12345",
            "1059",
            "T1059.01",
            "T1059.0011",
            "TA0005",
            "T1059.",
            "T1059-001",
        ] {
            let error = TechniqueId::parse(value).unwrap_err();
            assert_eq!(
                error,
                AttackError::Malformed {
                    value: value.to_string(),
                    expected: EXPECTED_ID_FORM
                },
                "value {value:?}"
            );
            assert_eq!(error.code(), "technique_malformed");
        }
    }

    #[test]
    fn technique_id_parent() {
        let id = TechniqueId::parse("T1218.010").unwrap();
        assert_eq!(id.parent().unwrap().as_str(), "T1218");
        assert_eq!(TechniqueId::parse("T1218").unwrap().parent(), None);
    }

    #[test]
    fn resolve_active_subtechnique() {
        let resolved = catalog().resolve("t1218.010").unwrap();
        assert_eq!(resolved.requested, "T1218.010");
        assert_eq!(resolved.id, "T1218.010");
        assert_eq!(resolved.name, "System Binary Proxy Execution: Regsvr32");
        assert_eq!(resolved.status, Status::Active);
        assert!(resolved.warnings.is_empty());
        assert_eq!(resolved.tactics.len(), 1);
        assert_eq!(resolved.tactics[0].shortname, "stealth");
        assert_eq!(resolved.tactics[0].id, "TA0005");
        assert_eq!(resolved.tactics[0].name, "Stealth");
        assert!(resolved.tactics[0].current);
    }

    #[test]
    fn resolve_keeps_tactic_order() {
        let resolved = catalog().resolve("T1053.005").unwrap();
        let shortnames: Vec<_> = resolved
            .tactics
            .iter()
            .map(|t| t.shortname.as_str())
            .collect();
        assert_eq!(
            shortnames,
            ["execution", "persistence", "privilege-escalation"]
        );
    }

    #[test]
    fn resolve_revoked_maps_to_replacement() {
        let resolved = catalog().resolve("T1117").unwrap();
        assert_eq!(resolved.requested, "T1117");
        assert_eq!(resolved.id, "T1218.010");
        assert_eq!(resolved.name, "System Binary Proxy Execution: Regsvr32");
        assert_eq!(resolved.status, Status::Active);
        assert_eq!(
            resolved.warnings,
            [AttackWarning::Revoked {
                id: "T1117".into(),
                replaced_by: "T1218.010".into(),
                replacement_name: "System Binary Proxy Execution: Regsvr32".into(),
            }]
        );
        assert_eq!(resolved.warnings[0].code(), "technique_revoked");
    }

    #[test]
    fn resolve_follows_revocation_chain() {
        // T1073 -> T1574.002 (revoked) -> T1574.001.
        let resolved = catalog().resolve("T1073").unwrap();
        assert_eq!(resolved.id, "T1574.001");
        let steps: Vec<_> = resolved
            .warnings
            .iter()
            .map(|w| match w {
                AttackWarning::Revoked {
                    id, replaced_by, ..
                } => (id.as_str(), replaced_by.as_str()),
                other => panic!("unexpected warning {other:?}"),
            })
            .collect();
        assert_eq!(steps, [("T1073", "T1574.002"), ("T1574.002", "T1574.001")]);
    }

    #[test]
    fn resolve_revoked_into_removed() {
        // T1089 was revoked by T1562.001, which v19 removed.
        let resolved = catalog().resolve("T1089").unwrap();
        assert_eq!(resolved.id, "T1562.001");
        assert_eq!(resolved.status, Status::RemovedV19);
        let codes: Vec<_> = resolved.warnings.iter().map(AttackWarning::code).collect();
        assert_eq!(codes, ["technique_revoked", "technique_removed_v19"]);
    }

    #[test]
    fn resolve_deprecated_warns() {
        let resolved = catalog().resolve("T1064").unwrap();
        assert_eq!(resolved.id, "T1064");
        assert_eq!(resolved.name, "Scripting");
        assert_eq!(resolved.status, Status::Deprecated);
        assert_eq!(
            resolved.warnings,
            [AttackWarning::Deprecated { id: "T1064".into() }]
        );
        assert_eq!(resolved.warnings[0].code(), "technique_deprecated");
    }

    #[test]
    fn resolve_removed_in_v19_warns() {
        let resolved = catalog().resolve("T1562.001").unwrap();
        assert_eq!(resolved.id, "T1562.001");
        assert_eq!(resolved.name, "Impair Defenses: Disable or Modify Tools");
        assert_eq!(resolved.status, Status::RemovedV19);
        assert_eq!(
            resolved.warnings,
            [AttackWarning::RemovedInV19 {
                id: "T1562.001".into()
            }]
        );
        assert_eq!(resolved.warnings[0].code(), "technique_removed_v19");
        assert_eq!(resolved.warnings[0].id(), "T1562.001");

        // It keeps its old tactic, which is retired.
        assert_eq!(resolved.tactics.len(), 1);
        let tactic = &resolved.tactics[0];
        assert_eq!(tactic.shortname, "defense-evasion");
        assert_eq!(tactic.name, "Defense Evasion");
        assert_eq!(tactic.id, "TA0005");
        assert!(!tactic.current);
    }

    #[test]
    fn resolve_malformed_is_error() {
        let error = catalog().resolve("T59").unwrap_err();
        assert_eq!(
            error,
            AttackError::Malformed {
                value: "T59".into(),
                expected: EXPECTED_ID_FORM
            }
        );
    }

    #[test]
    fn resolve_unknown_subtechnique_suggests_parent_first() {
        let error = catalog().resolve("T1059.099").unwrap_err();
        let AttackError::Unknown { id, suggestions } = &error else {
            panic!("expected Unknown, got {error:?}");
        };
        assert_eq!(id, "T1059.099");
        assert_eq!(suggestions.first().map(String::as_str), Some("T1059"));
        assert!(suggestions.len() <= MAX_SUGGESTIONS);
        assert_eq!(error.code(), "technique_unknown");
    }

    #[test]
    fn resolve_unknown_suggests_transposed_digits() {
        // T1003.010 does not exist. T1003.001 is one transposition away.
        let error = catalog().resolve("T1003.010").unwrap_err();
        let AttackError::Unknown { suggestions, .. } = error else {
            panic!("expected Unknown");
        };
        assert!(
            suggestions.contains(&"T1003.001".to_string()),
            "{suggestions:?}"
        );
    }

    #[test]
    fn resolve_unknown_without_neighbours() {
        let error = catalog().resolve("T9999.999").unwrap_err();
        assert_eq!(
            error,
            AttackError::Unknown {
                id: "T9999.999".into(),
                suggestions: vec![]
            }
        );
    }

    #[test]
    fn tactic_lookup_by_shortname_id_and_name() {
        let stealth = catalog().tactic("stealth").unwrap();
        assert_eq!(stealth.id, "TA0005");
        assert_eq!(catalog().tactic("TA0005").unwrap().shortname, "stealth");
        assert_eq!(catalog().tactic("Defense Impairment").unwrap().id, "TA0112");
        assert_eq!(
            catalog().tactic("ta0112").unwrap().shortname,
            "defense-impairment"
        );
        assert!(!catalog().tactic("defense-evasion").unwrap().current);
        assert!(catalog().tactic("nonsense").is_none());
    }

    #[test]
    fn tactics_iterate_in_matrix_order() {
        let shortnames: Vec<_> = catalog().tactics().map(|t| t.shortname.as_str()).collect();
        assert_eq!(shortnames.first(), Some(&"reconnaissance"));
        assert_eq!(shortnames.last(), Some(&"impact"));
        assert!(!shortnames.contains(&"defense-evasion"));
        assert!(catalog().tactics().all(|t| t.current));
    }

    #[test]
    fn get_ignores_case() {
        assert_eq!(
            catalog().get("t1003.001").unwrap().name,
            "OS Credential Dumping: LSASS Memory"
        );
        assert!(catalog().get("bogus").is_none());
    }

    #[test]
    fn find_ids_in_free_text() {
        let text = "Saw T1218.010 and t1059.001 (again T1218.010), not T10590 nor T1059.0011 nor AT1003; T1003.";
        let found: Vec<_> = find_technique_ids(text)
            .into_iter()
            .map(|id| id.0)
            .collect();
        assert_eq!(found, ["T1218.010", "T1059.001", "T1003"]);
    }

    #[test]
    fn find_ids_in_empty_text() {
        assert!(find_technique_ids("").is_empty());
        assert!(find_technique_ids("no techniques here").is_empty());
    }

    #[test]
    fn from_tsv_rejects_unknown_tactic() {
        let tactics = "id\tshortname\tname\nTA0002\texecution\tExecution\n";
        let techniques =
            "# comment\nid\tname\ttactics\tstatus\trevoked_by\nT1059\tCommand\tmagic\tactive\t\n";
        let error = Catalog::from_tsv(techniques, tactics).unwrap_err();
        assert_eq!(error.table, Table::Techniques);
        assert_eq!(error.line, 3);
        assert!(error.problem.contains("magic"), "{error}");
    }

    #[test]
    fn from_tsv_rejects_dangling_revocation() {
        let tactics = "id\tshortname\tname\nTA0002\texecution\tExecution\n";
        let techniques =
            "id\tname\ttactics\tstatus\trevoked_by\nT1000\tOld\texecution\trevoked\tT2000\n";
        let error = Catalog::from_tsv(techniques, tactics).unwrap_err();
        assert_eq!(error.line, 2);
        assert!(error.problem.contains("T2000"), "{error}");
    }

    #[test]
    fn from_tsv_rejects_revocation_cycle() {
        let tactics = "id\tshortname\tname\nTA0002\texecution\tExecution\n";
        let techniques = "id\tname\ttactics\tstatus\trevoked_by\n\
                          T1000\tA\texecution\trevoked\tT1001\n\
                          T1001\tB\texecution\trevoked\tT1000\n";
        let error = Catalog::from_tsv(techniques, tactics).unwrap_err();
        assert!(error.problem.contains("cycle"), "{error}");
    }

    #[test]
    fn from_tsv_rejects_bad_rows() {
        let tactics = "id\tshortname\tname\nTA0002\texecution\tExecution\n";
        let header = "id\tname\ttactics\tstatus\trevoked_by\n";
        let cases = [
            ("T1000\tA\texecution\tactive\n", "columns"),
            ("T100\tA\texecution\tactive\t\n", "malformed"),
            ("T1000\tA\texecution\tretired\t\n", "status"),
            ("T1000\tA\texecution\tactive\tT1001\n", "revoked_by"),
            (
                "T1000\tA\texecution\tactive\t\nT1000\tA\texecution\tactive\t\n",
                "duplicate",
            ),
        ];
        for (rows, expected) in cases {
            let error = Catalog::from_tsv(&format!("{header}{rows}"), tactics).unwrap_err();
            assert!(error.problem.contains(expected), "rows {rows:?}: {error}");
        }
        let error = Catalog::from_tsv("T1000\tA\texecution\tactive\t\n", tactics).unwrap_err();
        assert!(error.problem.contains("header"), "{error}");
    }
}
