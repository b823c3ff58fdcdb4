//! Sysmon records read from evidence text, the raw material of the proposals.
//!
//! Two forms are read:
//!
//! - **JSON objects**, one a line (JSON lines, as SIEM exports and the
//!   OTRF datasets write them) or a whole JSON array. Fields are taken from
//!   the top level and from a nested `winlog.event_data`, `event_data` or
//!   `EventData` object (Winlogbeat and similar shippers). The event ID comes
//!   from `EventID`, `EventId`, `event_id`, `winlog.event_id` or
//!   `event.code`. When a record names its channel or provider and none of
//!   those names Sysmon, it is skipped, because event IDs 1, 3 and 22 mean
//!   other things in other logs. A record with a `Message` in the text form
//!   below takes the fields it lacks from there.
//! - **The text form** that Event Viewer shows and Sysmon writes in
//!   `Message`: a header line (`Process Create:`, `Network connection
//!   detected:`, `Image loaded:`, `Dns query:`) followed by `Field: value`
//!   lines, up to a blank line or the next header.
//!
//! Other lines are ignored. Only event IDs 1 (process creation), 3 (network
//! connection), 7 (image load) and 22 (DNS query) are kept.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

/// Sysmon event ID of a process creation.
pub(super) const PROCESS_CREATION: u32 = 1;
/// Sysmon event ID of a network connection.
pub(super) const NETWORK_CONNECTION: u32 = 3;
/// Sysmon event ID of an image (DLL) load.
pub(super) const IMAGE_LOAD: u32 = 7;
/// Sysmon event ID of a file creation.
pub(super) const FILE_CREATE: u32 = 11;
/// Sysmon event ID of a DNS query.
pub(super) const DNS_QUERY: u32 = 22;

const KEPT_EVENTS: [u32; 5] = [
    PROCESS_CREATION,
    NETWORK_CONNECTION,
    IMAGE_LOAD,
    FILE_CREATE,
    DNS_QUERY,
];

/// Header lines of the text form, by event ID.
const TEXT_HEADERS: [(&str, u32); 5] = [
    ("Process Create:", PROCESS_CREATION),
    ("Network connection detected:", NETWORK_CONNECTION),
    ("Image loaded:", IMAGE_LOAD),
    ("File created:", FILE_CREATE),
    ("Dns query:", DNS_QUERY),
];

/// Nested objects that hold the event fields in shipper formats.
const NESTED_FIELD_OBJECTS: [&[&str]; 3] =
    [&["winlog", "event_data"], &["event_data"], &["EventData"]];

/// One Sysmon record: its event ID and its fields as strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SysmonEvent {
    pub id: u32,
    fields: BTreeMap<String, String>,
}

impl SysmonEvent {
    /// Returns a field's value, or `None` when it is missing, empty or `-`
    /// (Sysmon's placeholder for an empty value).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty() && *value != "-")
    }

    /// Returns the file name at the end of a path field, lowercase
    /// (`C:\Windows\System32\regsvr32.exe` gives `regsvr32.exe`).
    pub fn basename(&self, name: &str) -> Option<String> {
        self.get(name).map(basename)
    }

    /// Returns whether the connection was opened by the host (`Initiated`
    /// true). A record without the field counts as outbound.
    pub fn initiated(&self) -> bool {
        self.get("Initiated")
            .is_none_or(|value| value.eq_ignore_ascii_case("true"))
    }

    /// Returns the `UtcTime` field as a timestamp.
    pub fn utc_time(&self) -> Option<NaiveDateTime> {
        let text = self.get("UtcTime")?;
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").ok()
    }

    /// Returns the MD5, SHA-1 and SHA-256 values of the `Hashes` field,
    /// lowercase, as (kind, value). `IMPHASH` is left out: it hashes the
    /// import table, not the file.
    pub fn file_hashes(&self) -> Vec<(&'static str, String)> {
        let Some(hashes) = self.get("Hashes") else {
            return Vec::new();
        };
        hashes
            .split(',')
            .filter_map(|pair| {
                let (algorithm, value) = pair.split_once('=')?;
                let kind = match algorithm.trim().to_ascii_uppercase().as_str() {
                    "MD5" => "md5",
                    "SHA1" => "sha1",
                    "SHA256" => "sha256",
                    _ => return None,
                };
                Some((kind, value.trim().to_ascii_lowercase()))
            })
            .collect()
    }
}

/// Returns the lowercase file name at the end of a Windows or POSIX path.
pub(super) fn basename(path: &str) -> String {
    let path = path.trim().trim_matches('"');
    let name = path.rsplit(['\\', '/']).next().unwrap_or(path);
    name.to_ascii_lowercase()
}

/// Reads every Sysmon record in `texts`, in order of appearance.
pub(super) fn parse(texts: &[&str]) -> Vec<SysmonEvent> {
    let mut events = Vec::new();
    for text in texts {
        let trimmed = text.trim_start();
        if trimmed.starts_with('[')
            && let Ok(Value::Array(records)) = serde_json::from_str::<Value>(trimmed)
        {
            events.extend(records.iter().filter_map(from_json));
            continue;
        }

        // JSON lines first, then the text form in the remaining lines.
        let mut other_lines = Vec::new();
        for line in text.lines() {
            let candidate = line.trim();
            if candidate.starts_with('{')
                && let Ok(value) = serde_json::from_str::<Value>(candidate)
            {
                events.extend(from_json(&value));
                continue;
            }
            other_lines.push(line);
        }
        events.extend(parse_text_form(&other_lines));
    }
    events
}

/// Reads one JSON record, or returns `None` when it is not a Sysmon event of
/// a kept kind.
fn from_json(value: &Value) -> Option<SysmonEvent> {
    let object = value.as_object()?;
    if !names_sysmon(object) {
        return None;
    }

    let mut fields = BTreeMap::new();
    collect_scalars(object, &mut fields);
    for path in NESTED_FIELD_OBJECTS {
        if let Some(Value::Object(nested)) = lookup(object, path) {
            collect_scalars(nested, &mut fields);
        }
    }

    // The text form in `Message` fills the fields the record lacks, and its
    // header gives the event ID when no ID field does.
    let message_event = fields
        .get("Message")
        .and_then(|message| parse_text_form(&message.lines().collect::<Vec<_>>()).pop());
    let id = [
        lookup(object, &["EventID"]),
        lookup(object, &["EventId"]),
        lookup(object, &["event_id"]),
        lookup(object, &["winlog", "event_id"]),
        lookup(object, &["event", "code"]),
    ]
    .into_iter()
    .flatten()
    .find_map(as_event_id)
    .or(message_event.as_ref().map(|event| event.id))?;
    if let Some(parsed) = message_event {
        for (name, value) in parsed.fields {
            fields.entry(name).or_insert(value);
        }
    }

    KEPT_EVENTS
        .contains(&id)
        .then_some(SysmonEvent { id, fields })
}

/// Returns false when the record names a channel or provider and none of
/// them is Sysmon's.
fn names_sysmon(object: &Map<String, Value>) -> bool {
    let sources: Vec<&str> = [
        lookup(object, &["Channel"]),
        lookup(object, &["SourceName"]),
        lookup(object, &["ProviderName"]),
        lookup(object, &["winlog", "channel"]),
        lookup(object, &["winlog", "provider_name"]),
    ]
    .into_iter()
    .flatten()
    .filter_map(Value::as_str)
    .collect();
    sources.is_empty()
        || sources
            .iter()
            .any(|source| source.to_ascii_lowercase().contains("sysmon"))
}

fn lookup<'a>(object: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let value = object.get(*first)?;
    if rest.is_empty() {
        Some(value)
    } else {
        lookup(value.as_object()?, rest)
    }
}

fn as_event_id(value: &Value) -> Option<u32> {
    match value {
        Value::Number(number) => number.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Copies the string, number and boolean members of `object` into `fields`.
/// A name already present keeps its value.
fn collect_scalars(object: &Map<String, Value>, fields: &mut BTreeMap<String, String>) {
    for (name, value) in object {
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            _ => continue,
        };
        fields.entry(name.clone()).or_insert(text);
    }
}

/// Reads the records of the text form in `lines`.
fn parse_text_form(lines: &[&str]) -> Vec<SysmonEvent> {
    let mut events = Vec::new();
    let mut current: Option<SysmonEvent> = None;
    for line in lines {
        let line = line.trim();
        if let Some(&(_, id)) = TEXT_HEADERS.iter().find(|(header, _)| line == *header) {
            events.extend(current.take());
            current = Some(SysmonEvent {
                id,
                fields: BTreeMap::new(),
            });
            continue;
        }
        let Some(event) = current.as_mut() else {
            continue;
        };
        match field_line(line) {
            Some((name, value)) => {
                event.fields.insert(name.to_string(), value.to_string());
            }
            None => events.extend(current.take()),
        }
    }
    events.extend(current);
    events
}

/// Splits a `Field: value` line. The field name is one word of ASCII
/// letters, as all Sysmon field names are.
fn field_line(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.split_once(':')?;
    let is_name = !name.is_empty() && name.bytes().all(|byte| byte.is_ascii_alphabetic());
    is_name.then(|| (name, value.trim()))
}

/// Folders of Windows system files, lowercase, with the separators around
/// them.
const SYSTEM_FOLDERS: [&str; 2] = ["\\windows\\system32\\", "\\windows\\syswow64\\"];

/// Returns the hashes of the Windows system files in the evidence, mapped to
/// the file's path. They are the `Hashes` of a process creation (the file is
/// the `Image`) or an image load (the `ImageLoaded`) when:
///
/// - the file is under `\Windows\System32` or `\Windows\SysWOW64`,
/// - `Company` names Microsoft, or `Signed` is true and `Signature` names
///   Microsoft,
/// - and `SignatureStatus`, if present, is `Valid`.
///
/// NOTE: `Company` comes from the file's own version resource, so an
/// attacker with administrator rights can plant a file there that claims to
/// be Microsoft's. Only a record with `Signed`/`SignatureStatus` (event 7)
/// proves the signature. The exclusion this drives errs towards not
/// blocking, and the exclusion shows the path so a person can check it.
pub(super) fn system_file_hashes(events: &[SysmonEvent]) -> BTreeMap<String, String> {
    let mut system_files = BTreeMap::new();
    for event in events {
        let path_field = match event.id {
            PROCESS_CREATION => "Image",
            IMAGE_LOAD => "ImageLoaded",
            _ => continue,
        };
        let Some(path) = event.get(path_field) else {
            continue;
        };
        let lower_path = path.to_ascii_lowercase().replace('/', "\\");
        let in_system_folder = SYSTEM_FOLDERS
            .iter()
            .any(|folder| lower_path.contains(folder));
        let names_microsoft = |field: &str| {
            event
                .get(field)
                .is_some_and(|value| value.to_ascii_lowercase().contains("microsoft"))
        };
        let signed_by_microsoft = event
            .get("Signed")
            .is_some_and(|signed| signed.eq_ignore_ascii_case("true"))
            && names_microsoft("Signature");
        let signature_valid = event
            .get("SignatureStatus")
            .is_none_or(|status| status.eq_ignore_ascii_case("valid"));
        if in_system_folder
            && (names_microsoft("Company") || signed_by_microsoft)
            && signature_valid
        {
            for (_, hash) in event.file_hashes() {
                system_files.entry(hash).or_insert_with(|| path.to_string());
            }
        }
    }
    system_files
}

/// Folder of the prefetch files Windows writes, lowercase with backslashes.
const PREFETCH_FOLDER: &str = "\\windows\\prefetch\\";

/// Returns the prefetch files that the evidence shows being created, by
/// lowercase file name, with the path as the evidence shows it. Windows
/// writes one for each program it runs and names it after the program and
/// a hash of the program's path (`REGSVR32.EXE-8461DBEE.pf`), so the name
/// says which program ran and nothing about who ran it.
pub(super) fn prefetch_files(events: &[SysmonEvent]) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for event in events.iter().filter(|event| event.id == FILE_CREATE) {
        let Some(path) = event.get("TargetFilename") else {
            continue;
        };
        let lower_path = path.to_ascii_lowercase().replace('/', "\\");
        let Some(start) = lower_path.find(PREFETCH_FOLDER) else {
            continue;
        };
        let name = &lower_path[start + PREFETCH_FOLDER.len()..];
        if is_prefetch_name(name) {
            files
                .entry(name.to_string())
                .or_insert_with(|| path.to_string());
        }
    }
    files
}

/// Returns whether `name` (lowercase) has the form of a prefetch file name:
/// the program's file name, a hyphen, 8 hexadecimal digits and `.pf`.
fn is_prefetch_name(name: &str) -> bool {
    let Some((program, hash)) = name
        .strip_suffix(".pf")
        .and_then(|stem| stem.rsplit_once('-'))
    else {
        return false;
    };
    !program.is_empty()
        && !program.contains('\\')
        && hash.len() == 8
        && hash.bytes().all(|byte| byte.is_ascii_hexdigit())
}
