//! The Sigma rule document and its YAML text, written by hand so that the
//! layout is the one SigmaHQ rules use: fixed key order, four-space
//! indentation, single-quoted match values.
//!
//! Every string is written as a plain scalar only when YAML cannot read it
//! as anything else, and single-quoted otherwise. Control characters
//! (newlines included) become spaces, because a rule value never needs them
//! and Sigma's `control_character` validator rejects them.

use std::fmt::Write as _;

use chrono::NaiveDate;

const INDENT: &str = "    ";

/// One `field|modifiers: value(s)` item. Several values match any of them,
/// unless the modifiers include `all`. Values are strings: Sigma compares
/// them without case, and its `number_as_string` validator only objects to
/// quoted numbers, which no generated rule has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FieldMatch {
    pub field: String,
    pub values: Vec<String>,
}

impl FieldMatch {
    pub fn texts<S: Into<String>>(field: &str, values: impl IntoIterator<Item = S>) -> Self {
        FieldMatch {
            field: field.to_string(),
            values: values.into_iter().map(Into::into).collect(),
        }
    }
}

/// A named detection item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Selection {
    /// A map: every field must match.
    AllOf(Vec<FieldMatch>),
    /// A list of one-field maps: any of them may match.
    AnyOf(Vec<FieldMatch>),
}

/// The `detection` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Detection {
    pub selections: Vec<(String, Selection)>,
    pub condition: String,
}

/// The `logsource` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Logsource {
    pub category: &'static str,
    pub product: Option<&'static str>,
}

/// A whole Sigma rule.
#[derive(Debug, Clone)]
pub(super) struct RuleDocument<'a> {
    pub title: &'a str,
    pub id: &'a str,
    pub description: &'a str,
    pub references: &'a [String],
    pub author: &'a str,
    pub date: NaiveDate,
    pub tags: &'a [String],
    pub logsource: Logsource,
    pub detection: &'a Detection,
    pub falsepositives: &'a [String],
    pub level: &'a str,
}

impl RuleDocument<'_> {
    /// Writes the rule as YAML, in the key order of the Sigma specification.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        line(&mut out, 0, &format!("title: {}", scalar(self.title)));
        line(&mut out, 0, &format!("id: {}", self.id));
        line(&mut out, 0, "status: experimental");
        line(
            &mut out,
            0,
            &format!("description: {}", scalar(self.description)),
        );
        list(&mut out, "references", self.references);
        line(&mut out, 0, &format!("author: {}", scalar(self.author)));
        line(
            &mut out,
            0,
            &format!("date: {}", self.date.format("%Y-%m-%d")),
        );
        list(&mut out, "tags", self.tags);
        write_logsource(&mut out, self.logsource);
        write_detection(&mut out, self.detection);
        list(&mut out, "falsepositives", self.falsepositives);
        line(&mut out, 0, &format!("level: {}", self.level));
        out
    }
}

/// Writes the parts of a rule that decide what it matches, for the rule ID.
pub(super) fn logic_text(logsource: Logsource, detection: &Detection) -> String {
    let mut out = String::new();
    write_logsource(&mut out, logsource);
    write_detection(&mut out, detection);
    out
}

fn write_logsource(out: &mut String, logsource: Logsource) {
    line(out, 0, "logsource:");
    line(out, 1, &format!("category: {}", logsource.category));
    if let Some(product) = logsource.product {
        line(out, 1, &format!("product: {product}"));
    }
}

fn write_detection(out: &mut String, detection: &Detection) {
    line(out, 0, "detection:");
    for (name, selection) in &detection.selections {
        line(out, 1, &format!("{name}:"));
        match selection {
            Selection::AllOf(matches) => {
                for field_match in matches {
                    write_field_match(out, 2, "", field_match);
                }
            }
            Selection::AnyOf(matches) => {
                for field_match in matches {
                    write_field_match(out, 2, "- ", field_match);
                }
            }
        }
    }
    line(out, 1, &format!("condition: {}", detection.condition));
}

/// Writes `field: value`, or `field:` and a list when there are several
/// values. `bullet` is `- ` for an item of a list of maps.
fn write_field_match(out: &mut String, depth: usize, bullet: &str, field_match: &FieldMatch) {
    let key = format!("{bullet}{}:", field_match.field);
    match field_match.values.as_slice() {
        [single] => line(out, depth, &format!("{key} {}", quoted(single))),
        values => {
            line(out, depth, &key);
            // Inside a list item the key sits two columns right of the
            // dash, so one more level still indents the values past it.
            for value in values {
                line(out, depth + 1, &format!("- {}", quoted(value)));
            }
        }
    }
}

fn list(out: &mut String, key: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    line(out, 0, &format!("{key}:"));
    for item in items {
        line(out, 1, &format!("- {}", scalar(item)));
    }
}

fn line(out: &mut String, depth: usize, text: &str) {
    for _ in 0..depth {
        out.push_str(INDENT);
    }
    let _ = writeln!(out, "{text}");
}

/// Writes a string as a plain scalar when that is safe, else single-quoted.
pub(super) fn scalar(text: &str) -> String {
    let text = without_control_characters(text);
    if is_plain_safe(&text) {
        text
    } else {
        quoted(&text)
    }
}

/// Writes a single-quoted scalar. Inside single quotes YAML has no escapes
/// except `''` for a quote.
pub(super) fn quoted(text: &str) -> String {
    format!("'{}'", without_control_characters(text).replace('\'', "''"))
}

fn without_control_characters(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Returns whether YAML reads `text` back as the same string when written
/// plain: it starts with a letter, holds only letters, digits, spaces and
/// `. _ - ( ) / , +`, does not end in a space and is not a YAML 1.1 boolean
/// or null word.
fn is_plain_safe(text: &str) -> bool {
    const RESERVED_WORDS: [&str; 10] = [
        "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~",
    ];
    let Some(first) = text.chars().next() else {
        return false;
    };
    first.is_alphabetic()
        && !text.ends_with(' ')
        && text.chars().all(|c| {
            c.is_alphanumeric() || matches!(c, ' ' | '.' | '_' | '-' | '(' | ')' | '/' | ',' | '+')
        })
        && !RESERVED_WORDS.contains(&text.to_ascii_lowercase().as_str())
}
