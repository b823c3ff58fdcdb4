//! Builds a [`ParsedFinding`] from the elements of a finding's body: applies
//! keys and list items, validates values, then merges the indicators and
//! technique IDs found in the text and applies defaults.

use std::collections::HashMap;

use super::error::{FindingError, FindingWarning};
use super::keys::Field;
use super::lines::Element;
use super::{MAX_IOCS, MAX_LIST_ITEMS, MAX_TECHNIQUES, MAX_VALUE_CHARS, ParsedFinding};
use crate::domain::attack::{self, Catalog, Resolved, TechniqueId};
use crate::domain::ioc::{Extractor, Ioc, IocKind};
use crate::domain::types::{Confidence, InvalidValue, Severity, Tlp};

/// The fields gathered while reading the body.
#[derive(Default)]
pub(super) struct Fields {
    hypothesis: Option<String>,
    severity: Option<Severity>,
    confidence: Option<Confidence>,
    tlp: Option<Tlp>,
    techniques: Vec<Resolved>,
    hosts: Vec<String>,
    users: Vec<String>,
    iocs: Vec<Ioc>,
    /// The `iocs:` values as written, for extracting the indicators they
    /// imply (the host of a URL).
    ioc_items: Vec<String>,
    /// Number of values per list field, for [`MAX_LIST_ITEMS`].
    counts: HashMap<Field, usize>,
    evidence: Vec<String>,
    notes: Vec<String>,
    /// First line of each key seen, to reject repeats.
    seen: HashMap<Field, usize>,
    /// The list key that `- item` lines extend.
    open_list: Option<Field>,
    /// A list key with no value yet, with its line.
    awaiting_value: Option<(Field, usize)>,
    warnings: Vec<FindingWarning>,
    /// Mistakes after the first in one comma-separated value, for
    /// `parse_finding_all` to report with it.
    pub(super) later_errors: Vec<FindingError>,
}

impl Fields {
    pub(super) fn add(
        &mut self,
        element: Element<'_>,
        catalog: &Catalog,
        extractor: &Extractor,
    ) -> Result<(), FindingError> {
        match element {
            Element::Key {
                key,
                field,
                value,
                line,
            } => {
                self.close_list()?;
                if field != Field::Notes
                    && let Some(&first_line) = self.seen.get(&field)
                {
                    return Err(FindingError::DuplicateKey {
                        key: key.to_string(),
                        field,
                        line,
                        first_line,
                    });
                }
                self.seen.insert(field, line);
                self.set(field, value, line, catalog, extractor)?;
            }
            Element::Item { text, raw, line } => match self.open_list {
                Some(field) => {
                    self.awaiting_value = None;
                    self.add_item(field, text, line, catalog, extractor)?;
                }
                None => {
                    self.close_list()?;
                    self.notes.push(raw.to_string());
                }
            },
            Element::Code { text } => {
                // A code block right after `evidence:` is its value.
                if matches!(self.awaiting_value, Some((Field::Evidence, _))) {
                    self.awaiting_value = None;
                }
                self.close_list()?;
                if !text.trim().is_empty() {
                    self.evidence.push(text);
                }
            }
            Element::Text { text } => {
                self.close_list()?;
                self.notes.push(text.to_string());
            }
            Element::Blank => {
                if !self.notes.last().is_none_or(String::is_empty) {
                    self.notes.push(String::new());
                }
            }
            Element::Invalid(error) => {
                // Items after an unknown key are free text, not values of
                // the list before it. A list key left without a value is
                // reported by `parse_finding_all` before this error.
                self.open_list = None;
                self.awaiting_value = None;
                return Err(error);
            }
        }
        Ok(())
    }

    /// Ends the current list, failing if its key never got a value.
    pub(super) fn close_list(&mut self) -> Result<(), FindingError> {
        self.open_list = None;
        match self.awaiting_value.take() {
            Some((field, line)) => Err(FindingError::MissingValue { field, line }),
            None => Ok(()),
        }
    }

    /// Applies the value written on a key line.
    fn set(
        &mut self,
        field: Field,
        value: &str,
        line: usize,
        catalog: &Catalog,
        extractor: &Extractor,
    ) -> Result<(), FindingError> {
        if field == Field::Notes {
            if !value.is_empty() {
                self.notes.push(value.to_string());
            }
            return Ok(());
        }
        if field.is_list() {
            self.open_list = Some(field);
            if value.is_empty() {
                self.awaiting_value = Some((field, line));
            } else if field == Field::Evidence {
                self.add_item(field, value, line, catalog, extractor)?;
            } else {
                // Every bad value of the line is reported, until a limit is
                // reached: the values after that would only repeat it.
                let mut first_error = None;
                for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let Err(error) = self.add_item(field, part, line, catalog, extractor) else {
                        continue;
                    };
                    let limit = matches!(error, FindingError::TooMany { .. });
                    match first_error {
                        None => first_error = Some(error),
                        Some(_) => self.later_errors.push(error),
                    }
                    if limit {
                        break;
                    }
                }
                if let Some(error) = first_error {
                    return Err(error);
                }
            }
            return Ok(());
        }

        if value.is_empty() {
            return Err(FindingError::MissingValue { field, line });
        }
        let invalid = |error: InvalidValue| FindingError::InvalidValue {
            field,
            value: error.value,
            line,
            allowed: error.kind.allowed(),
        };
        match field {
            Field::Hypothesis => {
                check_length(field, value, MAX_VALUE_CHARS, line)?;
                self.hypothesis = Some(value.to_string());
            }
            Field::Severity => self.severity = Some(value.parse().map_err(invalid)?),
            Field::Confidence => self.confidence = Some(value.parse().map_err(invalid)?),
            Field::Tlp => self.tlp = Some(value.parse().map_err(invalid)?),
            _ => unreachable!("list fields and notes are handled above"),
        }
        Ok(())
    }

    /// Adds one value of a list field.
    fn add_item(
        &mut self,
        field: Field,
        value: &str,
        line: usize,
        catalog: &Catalog,
        extractor: &Extractor,
    ) -> Result<(), FindingError> {
        let count = self.counts.entry(field).or_default();
        *count += 1;
        if *count > MAX_LIST_ITEMS {
            return Err(FindingError::TooMany {
                field,
                count: *count,
                max: MAX_LIST_ITEMS,
            });
        }
        if field != Field::Evidence {
            check_length(field, value, MAX_VALUE_CHARS, line)?;
        }

        match field {
            Field::Techniques => {
                for id in technique_tokens(value, line)? {
                    let resolved =
                        catalog
                            .resolve(id)
                            .map_err(|cause| FindingError::InvalidTechnique {
                                value: id.to_string(),
                                line,
                                cause,
                            })?;
                    add_technique(&mut self.techniques, &mut self.warnings, resolved);
                }
            }
            Field::Hosts => push_unique_ignoring_case(&mut self.hosts, value),
            Field::Users => push_unique_ignoring_case(&mut self.users, value),
            Field::Iocs => {
                let ioc =
                    extractor
                        .classify_one(value)
                        .map_err(|cause| FindingError::InvalidIoc {
                            value: value.to_string(),
                            line,
                            accepted: &IocKind::ALL,
                            cause,
                        })?;
                push_ioc(&mut self.iocs, ioc);
                self.ioc_items.push(value.to_string());
            }
            Field::Evidence => self.evidence.push(value.to_string()),
            _ => unreachable!("only list fields have items"),
        }
        Ok(())
    }

    /// Merges what the text contains, applies defaults and checks the totals.
    pub(super) fn finish(
        mut self,
        title: &str,
        catalog: &Catalog,
        extractor: &Extractor,
    ) -> Result<ParsedFinding, FindingError> {
        self.close_list()?;
        while self.notes.last().is_some_and(String::is_empty) {
            self.notes.pop();
        }
        let notes = self.notes.join("\n");

        // The text that indicators and technique IDs are taken from.
        let mut texts: Vec<&str> = vec![title];
        texts.extend(self.hypothesis.as_deref());
        texts.push(&notes);
        texts.extend(self.evidence.iter().map(String::as_str));
        let ioc_items = std::mem::take(&mut self.ioc_items);

        let mut warnings = std::mem::take(&mut self.warnings);
        for id in texts
            .iter()
            .flat_map(|text| attack::find_technique_ids(text))
        {
            add_text_technique(&mut self.techniques, &mut warnings, catalog, &id);
        }
        if self.techniques.len() > MAX_TECHNIQUES {
            return Err(FindingError::TooMany {
                field: Field::Techniques,
                count: self.techniques.len(),
                max: MAX_TECHNIQUES,
            });
        }

        for text in texts
            .iter()
            .copied()
            .chain(ioc_items.iter().map(String::as_str))
        {
            for ioc in extractor.extract(text) {
                let is_host = self
                    .hosts
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(&ioc.value));
                if !is_host {
                    push_ioc(&mut self.iocs, ioc);
                }
            }
        }
        if self.iocs.len() > MAX_IOCS {
            return Err(FindingError::TooMany {
                field: Field::Iocs,
                count: self.iocs.len(),
                max: MAX_IOCS,
            });
        }

        let mut defaults_applied = Vec::new();
        let mut default = |field: Field| defaults_applied.push(field);
        let severity = self.severity.unwrap_or_else(|| {
            default(Field::Severity);
            Severity::Medium
        });
        let confidence = self.confidence.unwrap_or_else(|| {
            default(Field::Confidence);
            Confidence::Medium
        });
        let tlp = self.tlp.unwrap_or_else(|| {
            default(Field::Tlp);
            Tlp::Amber
        });

        Ok(ParsedFinding {
            title: title.to_string(),
            hypothesis: self.hypothesis,
            techniques: self.techniques,
            hosts: self.hosts,
            users: self.users,
            severity,
            confidence,
            tlp,
            iocs: self.iocs,
            evidence: self.evidence,
            notes,
            warnings,
            defaults_applied,
        })
    }
}

pub(super) fn check_length(
    field: Field,
    value: &str,
    max: usize,
    line: usize,
) -> Result<(), FindingError> {
    let length = value.chars().count();
    if length > max {
        return Err(FindingError::TooLong {
            field,
            length,
            max,
            line: Some(line),
        });
    }
    Ok(())
}

/// Splits one `techniques` value into IDs. The first word must be an ID.
/// Later words that start like an ID (`T` and a digit) must be valid IDs, and
/// other words are descriptions and ignored.
fn technique_tokens(value: &str, line: usize) -> Result<Vec<&str>, FindingError> {
    let malformed = |token: &str| FindingError::InvalidTechnique {
        value: token.to_string(),
        line,
        cause: TechniqueId::parse(token).expect_err("token is malformed"),
    };
    let mut ids = Vec::new();
    for part in value.split([',', ';']) {
        for (position, token) in part.split_whitespace().enumerate() {
            let looks_like_id = token.len() > 1
                && token.starts_with(['T', 't'])
                && token[1..].starts_with(|c: char| c.is_ascii_digit());
            let is_id = TechniqueId::parse(token).is_ok();
            if is_id {
                ids.push(token);
            } else if position == 0 || looks_like_id {
                return Err(malformed(token));
            }
        }
    }
    Ok(ids)
}

/// Adds a resolved technique unless its ID is already there, keeping its
/// warnings either way so that a revoked duplicate is still pointed out.
fn add_technique(
    techniques: &mut Vec<Resolved>,
    warnings: &mut Vec<FindingWarning>,
    resolved: Resolved,
) {
    for warning in &resolved.warnings {
        let warning = FindingWarning::Technique {
            warning: warning.clone(),
        };
        if !warnings.contains(&warning) {
            warnings.push(warning);
        }
    }
    if !techniques.iter().any(|t| t.id == resolved.id) {
        techniques.push(resolved);
    }
}

/// Adds a technique ID found in free text, or warns that it is unknown.
fn add_text_technique(
    techniques: &mut Vec<Resolved>,
    warnings: &mut Vec<FindingWarning>,
    catalog: &Catalog,
    id: &TechniqueId,
) {
    if techniques
        .iter()
        .any(|t| t.requested == id.as_str() || t.id == id.as_str())
    {
        return;
    }
    match catalog.resolve(id.as_str()) {
        Ok(resolved) => add_technique(techniques, warnings, resolved),
        Err(_) => {
            let warning = FindingWarning::UnknownTechniqueInText {
                id: id.as_str().to_string(),
            };
            if !warnings.contains(&warning) {
                warnings.push(warning);
            }
        }
    }
}

fn push_unique_ignoring_case(values: &mut Vec<String>, value: &str) {
    let value = value.trim();
    if !values
        .iter()
        .any(|v| v.to_lowercase() == value.to_lowercase())
    {
        values.push(value.to_string());
    }
}

fn push_ioc(iocs: &mut Vec<Ioc>, ioc: Ioc) {
    if !iocs
        .iter()
        .any(|known| known.kind == ioc.kind && known.value == ioc.value)
    {
        iocs.push(ioc);
    }
}
