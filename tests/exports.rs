//! The STIX, MISP and CSV exports of realistic incidents, checked by the
//! tools of each format: `scripts/stix_check.py` (the OASIS `stix2` library)
//! and `scripts/misp_check.py` (the MISP core format rules), and the `csv`
//! crate for CSV.
//!
//! The Python checks run the interpreter in `HUNTBRIDGE_TEST_PYTHON`, or
//! `.venv/bin/python` in the repository, which `scripts/pyenv.sh` creates.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use huntbridge::domain::attack::{Catalog, Resolved};
use huntbridge::domain::export::{CSV_COLUMNS, ExportInput, csv, misp_event, stix_bundle};
use huntbridge::domain::ioc::{Extractor, Ioc, IocFlag, IocKind};
use huntbridge::domain::types::{Severity, Tlp};

const SHA256: &str = "908b64b1971a979c7e3e8ce4621945cba84854cb98d76367b791a6e22b5f6d53";

/// Returns the Python interpreter for the checks, and fails the test when it
/// is missing rather than skipping the check.
fn python() -> PathBuf {
    let path = std::env::var_os("HUNTBRIDGE_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    assert!(
        path.exists(),
        "Python for the export checks not found at {}: run scripts/pyenv.sh to create .venv, \
         or set HUNTBRIDGE_TEST_PYTHON to an interpreter with the packages of \
         scripts/requirements-test.txt",
        path.display()
    );
    path
}

/// Runs `scripts/{script}` on `files` and returns its output.
fn run_checker(script: &str, files: &[PathBuf]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(script);
    Command::new(python())
        .arg(&script)
        .args(files)
        .output()
        .unwrap_or_else(|error| panic!("failed to run {}: {error}", script.display()))
}

/// Runs a checker and fails the test with its report unless every file passes.
fn assert_checker_passes(script: &str, files: &[PathBuf]) {
    let output = run_checker(script, files);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed ({}):\n{stdout}{stderr}",
        output.status
    );
    assert_eq!(
        stdout.lines().count(),
        files.len(),
        "{script} output:\n{stdout}"
    );
}

/// Runs a checker on one file that must fail, and returns its error output.
fn checker_rejects(script: &str, file: &Path) -> String {
    let output = run_checker(script, &[file.to_path_buf()]);
    assert!(
        !output.status.success(),
        "{script} accepted {}:\n{}",
        file.display(),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn time(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, minute, 0).unwrap()
}

fn techniques(ids: &[&str]) -> Vec<Resolved> {
    let catalog = Catalog::embedded();
    ids.iter()
        .map(|id| catalog.resolve(id).expect("technique in the catalog"))
        .collect()
}

fn ioc(kind: IocKind, value: &str, flags: &[IocFlag]) -> Ioc {
    Ioc {
        kind,
        value: value.to_string(),
        flags: flags.to_vec(),
    }
}

/// The data of one incident that an [`ExportInput`] borrows.
struct Incident {
    id: &'static str,
    title: &'static str,
    summary: &'static str,
    iocs: Vec<Ioc>,
    techniques: Vec<Resolved>,
    hosts: Vec<String>,
    users: Vec<String>,
}

impl Incident {
    /// Builds the shipped regsvr32 "Squiblydoo" case, with its indicators
    /// extracted from the finding's text as the bot does.
    fn regsvr32() -> Incident {
        let text = "iocs:\n- hxxp://10.10.10[.]5:8444/launcher[.]sct\n\
                    - 908B64B1971A979C7E3E8CE4621945CBA84854CB98D76367B791A6E22B5F6D53\n";
        Incident {
            id: "INC-2026-0001",
            title: "Regsvr32 cargando scriptlet remoto (Squiblydoo) en WORKSTATION5",
            summary: "Empire ejecutado vía regsvr32 (Squiblydoo) en WORKSTATION5; contenido en \
                      1 equipo, sin movimiento lateral.",
            iocs: Extractor::default().extract(text),
            techniques: techniques(&["T1218.010", "T1059.001"]),
            hosts: vec!["WORKSTATION5.mordor.local".to_string()],
            users: vec!["MORDOR\\pgustavo".to_string()],
        }
    }

    /// Builds an incident with every kind of indicator, blockable and
    /// flagged, and values with the characters each format has to escape.
    fn every_kind() -> Incident {
        let iocs = vec![
            ioc(IocKind::Ipv4, "185.220.101.45", &[]),
            ioc(IocKind::Ipv4, "10.20.30.40", &[IocFlag::Private]),
            ioc(IocKind::Ipv6, "2a01:4f8:c17:1a2b::5", &[]),
            ioc(IocKind::Ipv6, "fe80::1", &[IocFlag::LinkLocal]),
            ioc(IocKind::Cidr, "185.220.101.0/24", &[]),
            ioc(IocKind::Cidr, "2a01:4f8:c17::/48", &[]),
            ioc(IocKind::Domain, "update-check.xyz", &[]),
            ioc(IocKind::Domain, "microsoft.com", &[IocFlag::KnownGood]),
            ioc(
                IocKind::Url,
                "https://update-check.xyz/gate.php?id='7',x=\"y\"",
                &[],
            ),
            ioc(
                IocKind::Url,
                "http://example.com/test",
                &[IocFlag::Documentation],
            ),
            ioc(IocKind::Email, "billing@update-check.xyz", &[]),
            ioc(IocKind::Md5, "44d88612fea8a8f36de82e1278abb02f", &[]),
            ioc(
                IocKind::Sha1,
                "3395856ce81f2b7382dee72602f798b642f14140",
                &[],
            ),
            ioc(IocKind::Sha256, SHA256, &[]),
            ioc(
                IocKind::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                &[IocFlag::KnownGood],
            ),
            ioc(IocKind::Filename, "factura d'abril.js", &[]),
            ioc(IocKind::Filename, "rundll32.exe", &[IocFlag::KnownGood]),
            ioc(
                IocKind::RegistryKey,
                "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater",
                &[],
            ),
            ioc(
                IocKind::RegistryKey,
                "HKLM\\SYSTEM\\CurrentControlSet\\Services\\Dnscache",
                &[IocFlag::KnownGood],
            ),
        ];
        let kinds: Vec<IocKind> = iocs.iter().map(|ioc| ioc.kind).collect();
        assert!(IocKind::ALL.iter().all(|kind| kinds.contains(kind)));
        Incident {
            id: "INC-2026-0042",
            title: "Phishing with a \"factura\", scheduled beacon, T1059.001",
            summary: "Line one, with a comma.\nLine two: 'quoted' and \\backslash\\.",
            iocs,
            techniques: techniques(&["T1566.001", "T1059.001", "T1547.001", "T1071.001"]),
            hosts: vec![
                "FIN-LAPTOP-07.corp.local".to_string(),
                "10.20.30.40".to_string(),
            ],
            users: vec!["CORP\\m.garcia".to_string()],
        }
    }

    fn input(&self, tlp: Tlp) -> ExportInput<'_> {
        ExportInput {
            incident_id: self.id,
            title: self.title,
            summary: Some(self.summary),
            severity: Severity::High,
            tlp,
            resolution: Some("true-positive"),
            created_at: time(14, 9, 12),
            closed_at: Some(time(15, 17, 45)),
            iocs: &self.iocs,
            techniques: &self.techniques,
            hosts: &self.hosts,
            users: &self.users,
            organization: "huntbridge",
            now: time(15, 18, 0),
        }
    }
}

/// Writes `text` to `dir/name` and returns the path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn objects_of<'a>(bundle: &'a Value, stix_type: &str) -> Vec<&'a Value> {
    bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|object| object["type"] == stix_type)
        .collect()
}

/// Reads a CSV export with the `csv` crate: the header and the records.
fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let records = reader
        .records()
        .map(|record| record.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, records)
}

/// The extractor finds the regsvr32 case's indicators with the flags the case lists.
#[test]
fn regsvr32_case_indicators() {
    let incident = Incident::regsvr32();
    let found: Vec<(IocKind, &str, &[IocFlag])> = incident
        .iocs
        .iter()
        .map(|ioc| (ioc.kind, ioc.value.as_str(), ioc.flags.as_slice()))
        .collect();
    assert_eq!(
        found,
        [
            (
                IocKind::Url,
                "http://10.10.10.5:8444/launcher.sct",
                &[IocFlag::Private][..]
            ),
            (IocKind::Ipv4, "10.10.10.5", &[IocFlag::Private][..]),
            (IocKind::Sha256, SHA256, &[][..]),
        ]
    );
}

/// The regsvr32 bundle passes stix2, and the hash is its only indicator.
#[test]
fn regsvr32_stix_passes_stix2() {
    let incident = Incident::regsvr32();
    let dir = tempfile::tempdir().unwrap();
    let text = stix_bundle(&incident.input(Tlp::Amber));
    let path = write(dir.path(), "regsvr32.stix.json", &text);
    assert_checker_passes("stix_check.py", &[path]);

    let bundle: Value = serde_json::from_str(&text).unwrap();
    let indicators = objects_of(&bundle, "indicator");
    assert_eq!(indicators.len(), 1);
    assert_eq!(
        indicators[0]["pattern"],
        format!("[file:hashes.'SHA-256' = '{SHA256}']")
    );
    assert_eq!(objects_of(&bundle, "ipv4-addr")[0]["value"], "10.10.10.5");
    assert_eq!(
        objects_of(&bundle, "url")[0]["value"],
        "http://10.10.10.5:8444/launcher.sct"
    );
    let names: Vec<&Value> = objects_of(&bundle, "attack-pattern")
        .iter()
        .map(|pattern| &pattern["external_references"][0]["external_id"])
        .collect();
    assert_eq!(names, ["T1218.010", "T1059.001"]);
    let marking = objects_of(&bundle, "marking-definition")[0];
    assert_eq!(marking["name"], "TLP:AMBER");
}

/// The regsvr32 MISP event passes the core format checks, and only the hash is for IDS.
#[test]
fn regsvr32_misp_passes_core_format() {
    let incident = Incident::regsvr32();
    let dir = tempfile::tempdir().unwrap();
    let text = misp_event(&incident.input(Tlp::Amber));
    let path = write(dir.path(), "regsvr32.misp.json", &text);
    assert_checker_passes("misp_check.py", &[path]);

    let event: Value = serde_json::from_str(&text).unwrap();
    let for_ids: Vec<&Value> = event["Event"]["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|attribute| attribute["to_ids"] == true)
        .map(|attribute| &attribute["value"])
        .collect();
    assert_eq!(for_ids, [SHA256]);
    assert_eq!(event["Event"]["distribution"], "0");
    assert_eq!(event["Event"]["Tag"][0]["name"], "tlp:amber");
}

/// The regsvr32 CSV reads back with a CSV parser, and the private values are not to block.
#[test]
fn regsvr32_csv_round_trip() {
    let incident = Incident::regsvr32();
    let (header, records) = read_csv(&csv(&incident.input(Tlp::Amber)));
    assert_eq!(header, CSV_COLUMNS);
    let expected = [
        [
            "url",
            "http://10.10.10.5:8444/launcher.sct",
            "hxxp://10[.]10[.]10[.]5:8444/launcher.sct",
            "private",
            "false",
            "INC-2026-0001",
            "TLP:AMBER",
        ],
        [
            "ipv4",
            "10.10.10.5",
            "10[.]10[.]10[.]5",
            "private",
            "false",
            "INC-2026-0001",
            "TLP:AMBER",
        ],
        [
            "sha256",
            SHA256,
            SHA256,
            "",
            "true",
            "INC-2026-0001",
            "TLP:AMBER",
        ],
    ];
    assert_eq!(records, expected);
}

/// Every kind of indicator under every TLP gives bundles that pass stix2.
#[test]
fn every_kind_stix_passes_stix2() {
    let incident = Incident::every_kind();
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = Tlp::ALL
        .iter()
        .map(|&tlp| {
            let name = format!("every-kind.{}.stix.json", tlp.as_str());
            write(dir.path(), &name, &stix_bundle(&incident.input(tlp)))
        })
        .collect();
    assert_checker_passes("stix_check.py", &files);

    let text = stix_bundle(&incident.input(Tlp::Red));
    let bundle: Value = serde_json::from_str(&text).unwrap();
    let blockable = incident
        .iocs
        .iter()
        .filter(|ioc| ioc.flags.is_empty())
        .count();
    assert_eq!(objects_of(&bundle, "indicator").len(), blockable);
    let note = objects_of(&bundle, "note")[0];
    let flagged = incident.iocs.len() - blockable;
    assert_eq!(note["object_refs"].as_array().unwrap().len(), flagged);
    assert_eq!(objects_of(&bundle, "attack-pattern").len(), 4);
}

/// Every kind of indicator under every TLP gives MISP events that pass the checks.
#[test]
fn every_kind_misp_passes_core_format() {
    let incident = Incident::every_kind();
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = Tlp::ALL
        .iter()
        .map(|&tlp| {
            let name = format!("every-kind.{}.misp.json", tlp.as_str());
            write(dir.path(), &name, &misp_event(&incident.input(tlp)))
        })
        .collect();
    assert_checker_passes("misp_check.py", &files);

    let text = misp_event(&incident.input(Tlp::Green));
    let event: Value = serde_json::from_str(&text).unwrap();
    let attributes = event["Event"]["Attribute"].as_array().unwrap();
    for ioc in &incident.iocs {
        let attribute = attributes
            .iter()
            .find(|attribute| attribute["value"] == ioc.value.as_str())
            .unwrap_or_else(|| panic!("no attribute for {}", ioc.value));
        assert_eq!(attribute["to_ids"], ioc.flags.is_empty(), "{}", ioc.value);
    }
}

/// Every kind of indicator reads back from CSV with its value, flags and block decision.
#[test]
fn every_kind_csv_round_trip() {
    let incident = Incident::every_kind();
    for tlp in Tlp::ALL {
        let (header, records) = read_csv(&csv(&incident.input(tlp)));
        assert_eq!(header, CSV_COLUMNS);
        assert_eq!(records.len(), incident.iocs.len(), "{tlp}");
        for (record, ioc) in records.iter().zip(&incident.iocs) {
            let flags: Vec<&str> = ioc.flags.iter().map(|flag| flag.as_str()).collect();
            assert_eq!(record[0], ioc.kind.as_str());
            assert_eq!(record[1], ioc.value);
            assert_eq!(record[2], ioc.defanged());
            assert_eq!(record[3], flags.join(";"));
            assert_eq!(record[4], ioc.flags.is_empty().to_string(), "{}", ioc.value);
            assert_eq!(record[5], incident.id);
            assert_eq!(record[6], tlp.label());
        }
    }
}

/// A false positive exports no STIX indicator and nothing for IDS or blocking.
#[test]
fn false_positive_blocks_nothing() {
    let incident = Incident::every_kind();
    let input = ExportInput {
        resolution: Some("false-positive"),
        ..incident.input(Tlp::Green)
    };
    let dir = tempfile::tempdir().unwrap();
    let stix = write(dir.path(), "fp.stix.json", &stix_bundle(&input));
    let misp = write(dir.path(), "fp.misp.json", &misp_event(&input));
    assert_checker_passes("stix_check.py", std::slice::from_ref(&stix));
    assert_checker_passes("misp_check.py", std::slice::from_ref(&misp));

    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&stix).unwrap()).unwrap();
    assert!(objects_of(&bundle, "indicator").is_empty());
    let event: Value = serde_json::from_str(&std::fs::read_to_string(&misp).unwrap()).unwrap();
    let attributes = event["Event"]["Attribute"].as_array().unwrap();
    assert!(
        attributes
            .iter()
            .all(|attribute| attribute["to_ids"] == false)
    );
    let (_, records) = read_csv(&csv(&input));
    assert!(records.iter().all(|record| record[4] == "false"));
}

/// The STIX checker fails on a broken pattern, so a passing run means something.
#[test]
fn stix_checker_rejects_bad_pattern() {
    let incident = Incident::regsvr32();
    let mut bundle: Value =
        serde_json::from_str(&stix_bundle(&incident.input(Tlp::Amber))).unwrap();
    for object in bundle["objects"].as_array_mut().unwrap() {
        if object["type"] == "indicator" {
            object["pattern"] = Value::from("[file:hashes.'SHA-256' = 'abc'");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bad.stix.json", &bundle.to_string());
    let errors = checker_rejects("stix_check.py", &path);
    assert!(errors.contains("pattern"), "{errors}");
}

/// The STIX checker fails on a TLP 1.0 marking in place of the TLP 2.0 one.
#[test]
fn stix_checker_rejects_old_tlp_marking() {
    let incident = Incident::regsvr32();
    let text = stix_bundle(&incident.input(Tlp::Amber)).replace(
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "tlp1.stix.json", &text);
    let errors = checker_rejects("stix_check.py", &path);
    assert!(errors.contains("TLP 2.0"), "{errors}");
}

/// The MISP checker fails on a string `to_ids` and on a type outside its category.
#[test]
fn misp_checker_rejects_bad_attribute() {
    let incident = Incident::regsvr32();
    let original: Value = serde_json::from_str(&misp_event(&incident.input(Tlp::Amber))).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let mut event = original.clone();
    event["Event"]["Attribute"][0]["to_ids"] = Value::from("1");
    let path = write(dir.path(), "to-ids.misp.json", &event.to_string());
    let errors = checker_rejects("misp_check.py", &path);
    assert!(errors.contains("to_ids must be a JSON boolean"), "{errors}");

    let mut event = original.clone();
    let hash = event["Event"]["Attribute"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|attribute| attribute["type"] == "sha256")
        .unwrap();
    hash["category"] = Value::from("Persistence mechanism");
    let path = write(dir.path(), "category.misp.json", &event.to_string());
    let errors = checker_rejects("misp_check.py", &path);
    assert!(errors.contains("is not valid in category"), "{errors}");

    let mut event = original;
    event["Event"]["threat_level_id"] = Value::from(1);
    let path = write(dir.path(), "level.misp.json", &event.to_string());
    let errors = checker_rejects("misp_check.py", &path);
    assert!(
        errors.contains("threat_level_id must be a JSON string"),
        "{errors}"
    );
}
