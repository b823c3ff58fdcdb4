use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use super::misp::type_and_category;
use super::stix::pattern;
use super::*;
use crate::domain::attack::Catalog;
use crate::domain::ioc::IocKind;

const SHA256: &str = "908b64b1971a979c7e3e8ce4621945cba84854cb98d76367b791a6e22b5f6d53";

fn ioc(kind: IocKind, value: &str, flags: &[IocFlag]) -> Ioc {
    Ioc {
        kind,
        value: value.to_string(),
        flags: flags.to_vec(),
    }
}

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, hour, minute, 0).unwrap()
}

/// Values of the regsvr32 case: a private URL and address, and a hash.
fn case_iocs() -> Vec<Ioc> {
    vec![
        ioc(
            IocKind::Url,
            "http://10.10.10.5:8444/launcher.sct",
            &[IocFlag::Private],
        ),
        ioc(IocKind::Ipv4, "10.10.10.5", &[IocFlag::Private]),
        ioc(IocKind::Sha256, SHA256, &[]),
    ]
}

fn case_techniques() -> Vec<Resolved> {
    let catalog = Catalog::embedded();
    ["T1218.010", "T1059.001"]
        .iter()
        .map(|id| catalog.resolve(id).unwrap())
        .collect()
}

struct Case {
    iocs: Vec<Ioc>,
    techniques: Vec<Resolved>,
    hosts: Vec<String>,
    users: Vec<String>,
}

impl Case {
    fn new() -> Case {
        Case {
            iocs: case_iocs(),
            techniques: case_techniques(),
            hosts: vec!["WORKSTATION5.mordor.local".to_string()],
            users: vec!["MORDOR\\pgustavo".to_string()],
        }
    }

    fn input(&self) -> ExportInput<'_> {
        ExportInput {
            incident_id: "INC-2026-0001",
            title: "Regsvr32 loading a remote scriptlet",
            summary: Some("Empire launched through regsvr32 on one host."),
            severity: Severity::High,
            tlp: Tlp::Amber,
            resolution: Some("true-positive"),
            created_at: at(9, 0),
            closed_at: Some(at(15, 30)),
            iocs: &self.iocs,
            techniques: &self.techniques,
            hosts: &self.hosts,
            users: &self.users,
            organization: "huntbridge",
            now: at(16, 0),
        }
    }
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).expect("the export is valid JSON")
}

fn objects_of<'a>(bundle: &'a Value, stix_type: &str) -> Vec<&'a Value> {
    bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|object| object["type"] == stix_type)
        .collect()
}

#[test]
fn pattern_per_kind() {
    let cases = [
        (
            IocKind::Ipv4,
            "198.51.7.9",
            "[ipv4-addr:value = '198.51.7.9']",
        ),
        (
            IocKind::Ipv6,
            "2a01:4f8::5",
            "[ipv6-addr:value = '2a01:4f8::5']",
        ),
        (
            IocKind::Cidr,
            "185.220.101.0/24",
            "[ipv4-addr:value ISSUBSET '185.220.101.0/24']",
        ),
        (
            IocKind::Cidr,
            "2a01:4f8::/32",
            "[ipv6-addr:value ISSUBSET '2a01:4f8::/32']",
        ),
        (
            IocKind::Domain,
            "evil.xyz",
            "[domain-name:value = 'evil.xyz']",
        ),
        (
            IocKind::Url,
            "http://evil.xyz/a",
            "[url:value = 'http://evil.xyz/a']",
        ),
        (
            IocKind::Email,
            "a@evil.xyz",
            "[email-addr:value = 'a@evil.xyz']",
        ),
        (
            IocKind::Md5,
            "d41d8cd98f00b204e9800998ecf8427e",
            "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
        ),
        (
            IocKind::Sha1,
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
        ),
        (
            IocKind::Sha256,
            SHA256,
            "[file:hashes.'SHA-256' = '908b64b1971a979c7e3e8ce4621945cba84854cb98d76367b791a6e22b5f6d53']",
        ),
        (
            IocKind::Filename,
            "launcher.sct",
            "[file:name = 'launcher.sct']",
        ),
    ];
    for (kind, value, expected) in cases {
        assert_eq!(pattern(&ioc(kind, value, &[])), expected, "{kind} {value}");
    }
}

#[test]
fn pattern_escapes_quote_and_backslash() {
    let url = ioc(IocKind::Url, "http://evil.xyz/?q='a'", &[]);
    assert_eq!(pattern(&url), r"[url:value = 'http://evil.xyz/?q=\'a\'']");

    let name = ioc(IocKind::Filename, r"it's\x.js", &[]);
    assert_eq!(pattern(&name), r"[file:name = 'it\'s\\x.js']");
}

#[test]
fn pattern_expands_registry_hive() {
    let cases = [
        ("HKLM\\Software\\X", r"HKEY_LOCAL_MACHINE\\Software\\X"),
        ("HKCU\\Run", r"HKEY_CURRENT_USER\\Run"),
        ("HKCR\\.sct", r"HKEY_CLASSES_ROOT\\.sct"),
        ("HKU\\S-1-5-18", r"HKEY_USERS\\S-1-5-18"),
        ("HKCC\\System", r"HKEY_CURRENT_CONFIG\\System"),
    ];
    for (value, escaped) in cases {
        let key = ioc(IocKind::RegistryKey, value, &[]);
        let expected = format!("[windows-registry-key:key = '{escaped}']");
        assert_eq!(pattern(&key), expected, "{value}");
    }
}

#[test]
fn stix_marks_with_official_tlp_ids() {
    let expected = [
        (Tlp::Clear, "94868c89-83c2-464b-929b-a1a8aa3c8487", "clear"),
        (Tlp::Green, "bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "green"),
        (Tlp::Amber, "55d920b0-5e8b-4f79-9ee9-91f868d9b421", "amber"),
        (
            Tlp::AmberStrict,
            "939a9414-2ddd-4d32-a0cd-375ea402b003",
            "amber+strict",
        ),
        (Tlp::Red, "e828b379-4e03-4974-9ac4-e53a884c97c1", "red"),
    ];
    let case = Case::new();
    for (tlp, uuid, level) in expected {
        let input = ExportInput {
            tlp,
            ..case.input()
        };
        let bundle = parse(&stix_bundle(&input));
        let markings = objects_of(&bundle, "marking-definition");
        assert_eq!(markings.len(), 1, "{tlp}");
        let marking_id = format!("marking-definition--{uuid}");
        assert_eq!(markings[0]["id"], marking_id, "{tlp}");
        assert_eq!(markings[0]["name"], tlp.label(), "{tlp}");
        assert_eq!(markings[0]["created"], "2022-10-01T00:00:00.000Z");
        let extension = &markings[0]["extensions"]["extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"];
        assert_eq!(extension["tlp_2_0"], level, "{tlp}");
        assert_eq!(extension["extension_type"], "property-extension");

        for object in bundle["objects"].as_array().unwrap() {
            let unmarked =
                ["marking-definition", "identity"].contains(&object["type"].as_str().unwrap());
            if unmarked {
                assert!(object.get("object_marking_refs").is_none(), "{object}");
            } else {
                assert_eq!(object["object_marking_refs"][0], marking_id, "{object}");
            }
        }
    }
}

#[test]
fn stix_ids_survive_reexport() {
    let case = Case::new();
    let first = parse(&stix_bundle(&case.input()));
    let later = ExportInput {
        now: at(23, 59),
        ..case.input()
    };
    let second = parse(&stix_bundle(&later));
    let ids = |bundle: &Value| -> Vec<String> {
        bundle["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|object| object["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&first), ids(&second));
    assert_eq!(first["id"], second["id"]);

    let other = ExportInput {
        incident_id: "INC-2026-0002",
        ..case.input()
    };
    let third = parse(&stix_bundle(&other));
    let indicator_id = |bundle: &Value| objects_of(bundle, "indicator")[0]["id"].clone();
    assert_ne!(indicator_id(&first), indicator_id(&third));
}

#[test]
fn stix_flagged_values_are_observables() {
    let case = Case::new();
    let bundle = parse(&stix_bundle(&case.input()));

    let indicators = objects_of(&bundle, "indicator");
    assert_eq!(indicators.len(), 1);
    assert_eq!(
        indicators[0]["pattern"],
        format!("[file:hashes.'SHA-256' = '{SHA256}']")
    );
    assert_eq!(indicators[0]["indicator_types"][0], "malicious-activity");

    // IDs as the stix2 Python library (3.0.2) derives them.
    let ipv4 = objects_of(&bundle, "ipv4-addr");
    assert_eq!(ipv4.len(), 1);
    assert_eq!(
        ipv4[0]["id"],
        "ipv4-addr--8845a599-741a-5547-a353-4f8e898064c0"
    );
    assert_eq!(ipv4[0]["value"], "10.10.10.5");
    let url = objects_of(&bundle, "url");
    assert_eq!(url[0]["id"], "url--994fdb1c-7865-55fb-8f09-4e5381976d34");

    let notes = objects_of(&bundle, "note");
    assert_eq!(notes.len(), 1);
    let refs = notes[0]["object_refs"].as_array().unwrap();
    assert_eq!(refs, &[url[0]["id"].clone(), ipv4[0]["id"].clone()]);
    let content = notes[0]["content"].as_str().unwrap();
    assert!(
        content.contains("ipv4 10[.]10[.]10[.]5: private"),
        "{content}"
    );
    assert!(
        content.contains("hxxp://10[.]10[.]10[.]5:8444/launcher.sct"),
        "{content}"
    );
}

#[test]
fn stix_observable_ids_follow_stix2() {
    let case = Case {
        iocs: vec![
            ioc(IocKind::Sha256, SHA256, &[IocFlag::KnownGood]),
            ioc(
                IocKind::RegistryKey,
                "HKCU\\Software\\Run",
                &[IocFlag::KnownGood],
            ),
        ],
        ..Case::new()
    };
    let bundle = parse(&stix_bundle(&case.input()));
    let file = objects_of(&bundle, "file");
    assert_eq!(file[0]["id"], "file--075d13fb-1f26-51eb-a271-458b89640905");
    let key = objects_of(&bundle, "windows-registry-key");
    assert_eq!(
        key[0]["id"],
        "windows-registry-key--04c4350f-901f-504c-8b19-513fd6cbbb1e"
    );
    assert_eq!(key[0]["key"], "HKEY_CURRENT_USER\\Software\\Run");
}

#[test]
fn stix_report_links_every_object() {
    let case = Case::new();
    let bundle = parse(&stix_bundle(&case.input()));
    let reports = objects_of(&bundle, "report");
    assert_eq!(reports.len(), 1);
    let report = reports[0];
    assert_eq!(
        report["name"],
        "INC-2026-0001: Regsvr32 loading a remote scriptlet"
    );
    assert_eq!(report["published"], "2026-03-14T16:00:00.000Z");

    let refs: Vec<&Value> = report["object_refs"].as_array().unwrap().iter().collect();
    let expected: Vec<&Value> = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|object| {
            !["marking-definition", "report"].contains(&object["type"].as_str().unwrap())
        })
        .map(|object| &object["id"])
        .collect();
    assert_eq!(refs, expected);

    let description = report["description"].as_str().unwrap();
    assert!(description.starts_with("Empire launched"), "{description}");
    assert!(
        description.contains("Severity: high. TLP:AMBER."),
        "{description}"
    );
    assert!(
        description.contains("Closed as true-positive at 2026-03-14T15:30:00.000Z."),
        "{description}"
    );
    assert!(
        description.contains("Hosts: WORKSTATION5.mordor.local."),
        "{description}"
    );
    assert!(
        description.contains("Users: MORDOR\\pgustavo."),
        "{description}"
    );
    assert!(
        description.contains("2 value(s) seen are not indicators"),
        "{description}"
    );
}

#[test]
fn stix_attack_patterns_reference_mitre() {
    let case = Case::new();
    let bundle = parse(&stix_bundle(&case.input()));
    let patterns = objects_of(&bundle, "attack-pattern");
    assert_eq!(patterns.len(), 2);

    let regsvr32 = patterns[0];
    assert_eq!(regsvr32["name"], "System Binary Proxy Execution: Regsvr32");
    let reference = &regsvr32["external_references"][0];
    assert_eq!(reference["source_name"], "mitre-attack");
    assert_eq!(reference["external_id"], "T1218.010");
    assert_eq!(
        reference["url"],
        "https://attack.mitre.org/techniques/T1218/010/"
    );
    assert_eq!(
        regsvr32["kill_chain_phases"][0]["kill_chain_name"],
        "mitre-attack"
    );
    assert_eq!(regsvr32["kill_chain_phases"][0]["phase_name"], "stealth");

    assert_eq!(
        patterns[1]["external_references"][0]["external_id"],
        "T1059.001"
    );
    assert_eq!(
        patterns[1]["kill_chain_phases"][0]["phase_name"],
        "execution"
    );
}

#[test]
fn stix_timestamps_have_milliseconds() {
    let case = Case::new();
    let bundle = parse(&stix_bundle(&case.input()));
    let indicator = objects_of(&bundle, "indicator")[0];
    assert_eq!(indicator["created"], "2026-03-14T09:00:00.000Z");
    assert_eq!(indicator["modified"], "2026-03-14T16:00:00.000Z");
    assert_eq!(indicator["valid_from"], "2026-03-14T09:00:00.000Z");

    // A clock behind the incident must not make `modified` precede `created`.
    let early = ExportInput {
        now: at(8, 0),
        ..case.input()
    };
    let bundle = parse(&stix_bundle(&early));
    let indicator = objects_of(&bundle, "indicator")[0];
    assert_eq!(indicator["modified"], "2026-03-14T09:00:00.000Z");
}

#[test]
fn stix_false_positive_has_no_indicators() {
    let case = Case::new();
    let input = ExportInput {
        resolution: Some("false-positive"),
        ..case.input()
    };
    let bundle = parse(&stix_bundle(&input));
    assert!(objects_of(&bundle, "indicator").is_empty());
    assert_eq!(objects_of(&bundle, "file").len(), 1);
    let content = objects_of(&bundle, "note")[0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        content.contains("the incident was closed as false-positive"),
        "{content}"
    );
}

#[test]
fn stix_open_incident_is_anomalous() {
    let case = Case::new();
    let input = ExportInput {
        resolution: None,
        closed_at: None,
        ..case.input()
    };
    let bundle = parse(&stix_bundle(&input));
    let indicator = objects_of(&bundle, "indicator")[0];
    assert_eq!(indicator["indicator_types"][0], "anomalous-activity");
    let description = objects_of(&bundle, "report")[0]["description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(description.contains("Open."), "{description}");
}

#[test]
fn stix_empty_incident_keeps_report_refs() {
    let case = Case::new();
    let input = ExportInput {
        iocs: &[],
        techniques: &[],
        hosts: &[],
        users: &[],
        summary: None,
        ..case.input()
    };
    let bundle = parse(&stix_bundle(&input));
    let report = objects_of(&bundle, "report")[0];
    let refs = report["object_refs"].as_array().unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0], objects_of(&bundle, "identity")[0]["id"]);
    assert!(objects_of(&bundle, "note").is_empty());
}

#[test]
fn stix_repeated_values_export_once() {
    let mut case = Case::new();
    case.iocs.push(ioc(IocKind::Sha256, SHA256, &[]));
    case.techniques.push(case.techniques[0].clone());
    let bundle = parse(&stix_bundle(&case.input()));
    assert_eq!(objects_of(&bundle, "indicator").len(), 1);
    assert_eq!(objects_of(&bundle, "attack-pattern").len(), 2);
}

#[test]
fn misp_maps_severity_to_threat_level() {
    let expected = [
        (Severity::Critical, "1"),
        (Severity::High, "1"),
        (Severity::Medium, "2"),
        (Severity::Low, "3"),
    ];
    let case = Case::new();
    for (severity, level) in expected {
        let input = ExportInput {
            severity,
            ..case.input()
        };
        let event = parse(&misp_event(&input));
        assert_eq!(event["Event"]["threat_level_id"], level, "{severity}");
    }
}

#[test]
fn misp_maps_tlp_to_distribution_and_tag() {
    let expected = [
        (Tlp::Clear, "3", "tlp:clear"),
        (Tlp::Green, "1", "tlp:green"),
        (Tlp::Amber, "0", "tlp:amber"),
        (Tlp::AmberStrict, "0", "tlp:amber+strict"),
        (Tlp::Red, "0", "tlp:red"),
    ];
    let case = Case::new();
    for (tlp, distribution, tag) in expected {
        let input = ExportInput {
            tlp,
            ..case.input()
        };
        let event = parse(&misp_event(&input));
        assert_eq!(event["Event"]["distribution"], distribution, "{tlp}");
        assert_eq!(event["Event"]["Tag"][0]["name"], tag, "{tlp}");
        for attribute in event["Event"]["Attribute"].as_array().unwrap() {
            assert_eq!(attribute["distribution"], "5", "{attribute}");
        }
    }
}

#[test]
fn misp_event_fields() {
    let case = Case::new();
    let event = parse(&misp_event(&case.input()));
    let event = &event["Event"];
    assert_eq!(
        event["info"],
        "INC-2026-0001: Regsvr32 loading a remote scriptlet"
    );
    assert_eq!(event["date"], "2026-03-14");
    assert_eq!(event["analysis"], "2");
    assert_eq!(event["published"], false);
    assert_eq!(event["publish_timestamp"], "0");
    assert_eq!(event["first_publication"], "0");
    assert_eq!(event["timestamp"], at(16, 0).timestamp().to_string());
    assert_eq!(event["Orgc"]["name"], "huntbridge");
    let attributes = event["Attribute"].as_array().unwrap();
    assert_eq!(event["attribute_count"], attributes.len().to_string());

    let open = ExportInput {
        closed_at: None,
        resolution: None,
        ..case.input()
    };
    let event = parse(&misp_event(&open));
    assert_eq!(event["Event"]["analysis"], "1");
}

#[test]
fn misp_to_ids_only_for_blockable() {
    let case = Case::new();
    let event = parse(&misp_event(&case.input()));
    let attributes = event["Event"]["Attribute"].as_array().unwrap();
    let find = |value: &str| {
        attributes
            .iter()
            .find(|attribute| attribute["value"] == value)
            .unwrap_or_else(|| panic!("no attribute {value}"))
    };

    let hash = find(SHA256);
    assert_eq!(hash["type"], "sha256");
    assert_eq!(hash["category"], "Payload delivery");
    assert_eq!(hash["to_ids"], true);
    assert_eq!(hash["comment"], "");

    let address = find("10.10.10.5");
    assert_eq!(address["type"], "ip-dst");
    assert_eq!(address["to_ids"], false);
    let comment = address["comment"].as_str().unwrap();
    assert!(
        comment.starts_with("not for blocking: private"),
        "{comment}"
    );

    let host = find("WORKSTATION5.mordor.local");
    assert_eq!(host["type"], "target-machine");
    assert_eq!(host["category"], "Targeting data");
    assert_eq!(host["to_ids"], false);
    assert_eq!(find("MORDOR\\pgustavo")["type"], "target-user");
    assert_eq!(find("INC-2026-0001")["category"], "Internal reference");
}

#[test]
fn misp_galaxy_tags_use_own_names() {
    let case = Case::new();
    let event = parse(&misp_event(&case.input()));
    let tags: Vec<&str> = event["Event"]["Tag"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| tag["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        [
            "tlp:amber",
            "misp-galaxy:mitre-attack-pattern=\"Regsvr32 - T1218.010\"",
            "misp-galaxy:mitre-attack-pattern=\"PowerShell - T1059.001\"",
        ]
    );
}

#[test]
fn misp_types_per_kind() {
    let expected = [
        (IocKind::Ipv4, "ip-dst", "Network activity"),
        (IocKind::Ipv6, "ip-dst", "Network activity"),
        (IocKind::Cidr, "ip-dst", "Network activity"),
        (IocKind::Domain, "domain", "Network activity"),
        (IocKind::Url, "url", "Network activity"),
        (IocKind::Email, "email", "Network activity"),
        (IocKind::Md5, "md5", "Payload delivery"),
        (IocKind::Sha1, "sha1", "Payload delivery"),
        (IocKind::Sha256, "sha256", "Payload delivery"),
        (IocKind::Filename, "filename", "Payload delivery"),
        (IocKind::RegistryKey, "regkey", "Persistence mechanism"),
    ];
    assert_eq!(expected.len(), IocKind::ALL.len());
    for (kind, misp_type, category) in expected {
        assert_eq!(type_and_category(kind), (misp_type, category), "{kind}");
    }
}

#[test]
fn misp_uuids_survive_reexport() {
    let case = Case::new();
    let first = parse(&misp_event(&case.input()));
    let later = ExportInput {
        now: at(23, 0),
        ..case.input()
    };
    let second = parse(&misp_event(&later));
    assert_eq!(first["Event"]["uuid"], second["Event"]["uuid"]);
    let uuids = |event: &Value| -> Vec<Value> {
        event["Event"]["Attribute"]
            .as_array()
            .unwrap()
            .iter()
            .map(|attribute| attribute["uuid"].clone())
            .collect()
    };
    assert_eq!(uuids(&first), uuids(&second));
}

#[test]
fn csv_header_and_rows() {
    let case = Case::new();
    let text = csv(&case.input());
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0], "type,value,defanged,flags,to_block,incident,tlp");
    assert_eq!(
        lines[1],
        "url,http://10.10.10.5:8444/launcher.sct,hxxp://10[.]10[.]10[.]5:8444/launcher.sct,\
         private,false,INC-2026-0001,TLP:AMBER"
    );
    assert_eq!(
        lines[2],
        "ipv4,10.10.10.5,10[.]10[.]10[.]5,private,false,INC-2026-0001,TLP:AMBER"
    );
    assert_eq!(
        lines[3],
        format!("sha256,{SHA256},{SHA256},,true,INC-2026-0001,TLP:AMBER")
    );
    assert_eq!(lines[4], "");
    assert_eq!(lines.len(), 5);
}

#[test]
fn csv_quotes_special_fields() {
    let case = Case {
        iocs: vec![
            ioc(IocKind::Url, "http://evil.xyz/a,b?q=\"x\"", &[]),
            ioc(
                IocKind::Domain,
                "corp.example",
                &[IocFlag::Documentation, IocFlag::KnownGood],
            ),
        ],
        ..Case::new()
    };
    let text = csv(&case.input());
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert!(
        lines[1]
            .starts_with(r#"url,"http://evil.xyz/a,b?q=""x""","hxxp://evil[.]xyz/a,b?q=""x""","#),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains(",documentation;known_good,false,"),
        "{}",
        lines[2]
    );
}

#[test]
fn csv_benign_blocks_nothing() {
    let case = Case::new();
    let input = ExportInput {
        resolution: Some("benign"),
        ..case.input()
    };
    let text = csv(&input);
    assert!(!text.contains(",true,"), "{text}");
}
