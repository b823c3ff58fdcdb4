//! The CSV export of an incident's indicators (RFC 4180).

use super::ExportInput;

/// Column names of the header row, in order.
pub const CSV_COLUMNS: [&str; 7] = [
    "type", "value", "defanged", "flags", "to_block", "incident", "tlp",
];

/// Builds the CSV export: one header row, then one row per indicator, with
/// CRLF line ends and RFC 4180 quoting.
///
/// - `type` is the kind name (`ipv4`, `registry_key`…).
/// - `value` is refanged, because the file is meant for tools such as
///   firewalls and SIEM lookups. `defanged` is the form safe to paste in chat.
/// - `flags` lists the flag names (`private`, `known_good`…) separated by
///   `;`, empty when there is none.
/// - `to_block` is `true` only for a value without flags in an incident not
///   closed as `false-positive` or `benign`.
/// - `tlp` is the incident's label, e.g. `TLP:AMBER`.
///
/// NOTE: there is no `first_seen` column, because [`Ioc`](crate::domain::ioc::Ioc)
/// records no time.
///
/// Values are written as they are. A value starting with `=`, `+`, `-` or
/// `@` is not escaped, so a spreadsheet that opens the file may read it as a
/// formula.
pub fn csv(input: &ExportInput) -> String {
    let mut out = String::new();
    write_row(&mut out, &CSV_COLUMNS);
    for ioc in input.unique_iocs() {
        let flags: Vec<&str> = ioc.flags.iter().map(|flag| flag.as_str()).collect();
        let defanged = ioc.defanged();
        let flags = flags.join(";");
        let to_block = if input.blockable(ioc) {
            "true"
        } else {
            "false"
        };
        write_row(
            &mut out,
            &[
                ioc.kind.as_str(),
                &ioc.value,
                &defanged,
                &flags,
                to_block,
                input.incident_id,
                input.tlp.label(),
            ],
        );
    }
    out
}

fn write_row(out: &mut String, fields: &[&str]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_field(out, field);
    }
    out.push_str("\r\n");
}

/// Writes one field, in double quotes with inner quotes doubled when it
/// contains a comma, a quote, a line break, or space at either end.
fn write_field(out: &mut String, field: &str) {
    let needs_quotes = field.contains([',', '"', '\r', '\n'])
        || field.starts_with(char::is_whitespace)
        || field.ends_with(char::is_whitespace);
    if needs_quotes {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}
