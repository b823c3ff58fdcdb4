//! Splits the body of a finding (every line after the title) into key lines,
//! list items, code blocks and free text, following the rules in the
//! [module documentation](super).

use super::error::FindingError;
use super::keys::{self, Field};

/// One logical part of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Element<'a> {
    /// `key: value`, with `value` trimmed and possibly empty.
    Key {
        key: &'a str,
        field: Field,
        value: &'a str,
        line: usize,
    },
    /// `- item`, `* item`, `• item`, `1. item` or `1) item`. `text` is the
    /// item without its marker and `raw` the whole line.
    Item {
        text: &'a str,
        raw: &'a str,
        line: usize,
    },
    /// The content of a fenced code block, verbatim.
    Code {
        text: String,
    },
    /// Any other non-blank line, without trailing whitespace.
    Text {
        text: &'a str,
    },
    Blank,
    /// A line that cannot be read: an unknown key, or a code block that is
    /// never closed (always the last element). The elements after an
    /// unknown key are still read, so one reply can list every mistake.
    Invalid(FindingError),
}

/// An open code block.
struct Fence<'a> {
    start_line: usize,
    ticks: usize,
    lines: Vec<&'a str>,
}

/// Splits `body`, whose first line is line `first_line` of the input.
pub(super) fn split(body: &str, first_line: usize) -> Vec<Element<'_>> {
    let mut elements = Vec::new();
    let mut fence: Option<Fence<'_>> = None;

    for (index, raw) in body.split('\n').enumerate() {
        let line_number = first_line + index;
        let line = raw.strip_suffix('\r').unwrap_or(raw);

        // Inside a code block, only the closing fence matters.
        if let Some(open) = fence.as_mut() {
            let trimmed = line.trim();
            if trimmed.len() >= open.ticks && trimmed.bytes().all(|b| b == b'`') {
                let open = fence.take().expect("fence is open");
                elements.push(Element::Code {
                    text: open.lines.join("\n"),
                });
            } else if let Some(content) = slack_close(line, open.ticks) {
                // Slack style: the closing fence ends the last content line.
                let mut open = fence.take().expect("fence is open");
                open.lines.push(content);
                elements.push(Element::Code {
                    text: open.lines.join("\n"),
                });
            } else {
                open.lines.push(line);
            }
            continue;
        }

        let trimmed_start = line.trim_start();
        if trimmed_start.starts_with("```") {
            match open_fence(trimmed_start, line_number) {
                Opening::Block(open) => fence = Some(open),
                Opening::OneLine(text) => elements.push(Element::Code {
                    text: text.to_string(),
                }),
            }
            continue;
        }

        if line.trim().is_empty() {
            elements.push(Element::Blank);
        } else if let Some((key, value)) = key_line(line) {
            elements.push(match keys::lookup(key) {
                Some(field) => Element::Key {
                    key,
                    field,
                    value: value.trim(),
                    line: line_number,
                },
                None => Element::Invalid(FindingError::UnknownKey {
                    key: key.to_string(),
                    line: line_number,
                    suggestion: keys::suggest(key),
                }),
            });
        } else if let Some(text) = list_item(line) {
            elements.push(Element::Item {
                text,
                raw: line.trim_end(),
                line: line_number,
            });
        } else {
            elements.push(Element::Text {
                text: line.trim_end(),
            });
        }
    }

    if let Some(open) = fence {
        elements.push(Element::Invalid(FindingError::UnterminatedCodeBlock {
            line: open.start_line,
        }));
    }
    elements
}

/// Returns the content before a closing fence that ends a content line, as
/// Slack sends code blocks. Only three-backtick fences close this way.
fn slack_close(line: &str, ticks: usize) -> Option<&str> {
    let content = line.trim_end().strip_suffix("```")?;
    (ticks == 3 && !content.trim().is_empty() && !content.ends_with('`')).then_some(content)
}

enum Opening<'a> {
    Block(Fence<'a>),
    OneLine(&'a str),
}

/// Reads an opening fence line (already trimmed at the start).
fn open_fence(line: &str, line_number: usize) -> Opening<'_> {
    let ticks = line.bytes().take_while(|&b| b == b'`').count();
    let rest = line[ticks..].trim_end();

    // "```text```" on one line.
    if let Some(content) = rest.strip_suffix("```")
        && !content.is_empty()
    {
        return Opening::OneLine(content.trim_end_matches('`'));
    }

    // "```" or "```lang" open an empty block. Anything else is the first line
    // of content, as Slack sends it.
    // NOTE: a Slack block whose first line is one bare word (```whoami) reads
    // as a language tag, so that word is dropped from the evidence.
    let mut lines = Vec::new();
    if !rest.is_empty() && !is_language_tag(rest) {
        lines.push(rest);
    }
    Opening::Block(Fence {
        start_line: line_number,
        ticks,
        lines,
    })
}

/// Returns whether `text` is a language tag such as `json`, `powershell` or `c++`.
fn is_language_tag(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '#' | '-'))
}

/// Splits a key line into key and value. A key line is optional leading
/// whitespace, a word of two or more letters, and a colon that is not
/// followed by `//`.
fn key_line(line: &str) -> Option<(&str, &str)> {
    let start = line.len() - line.trim_start().len();
    let word_end = line[start..]
        .char_indices()
        .find(|(_, c)| !is_word_char(*c))
        .map_or(line.len(), |(offset, _)| start + offset);
    let key = &line[start..word_end];
    let value = line[word_end..].strip_prefix(':')?;
    let letters = key.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 2 || value.starts_with("//") {
        return None;
    }
    Some((key, value))
}

/// Returns whether `c` is a letter or a combining mark left by decomposed accents.
fn is_word_char(c: char) -> bool {
    c.is_alphabetic() || ('\u{300}'..='\u{36f}').contains(&c)
}

/// Returns the text of a list item line, without its marker.
fn list_item(line: &str) -> Option<&str> {
    let trimmed = line.trim();
    for marker in ["- ", "* ", "• "] {
        if let Some(text) = trimmed.strip_prefix(marker) {
            return Some(text.trim());
        }
    }
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && digits <= 3 {
        let rest = &trimmed[digits..];
        for marker in [". ", ") "] {
            if let Some(text) = rest.strip_prefix(marker) {
                return Some(text.trim());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_line_rules() {
        assert_eq!(key_line("tlp: amber"), Some(("tlp", " amber")));
        assert_eq!(key_line("TLP:RED"), Some(("TLP", "RED")));
        assert_eq!(key_line("  hipótesis: x"), Some(("hipótesis", " x")));
        assert_eq!(key_line("iocs:"), Some(("iocs", "")));
        assert_eq!(
            key_line("hipo\u{301}tesis: x"),
            Some(("hipo\u{301}tesis", " x"))
        );

        // Not key lines.
        assert_eq!(key_line("http://example.com/a"), None);
        assert_eq!(key_line("hxxp://10.10.10[.]5"), None);
        assert_eq!(key_line(r"C:\Windows\System32\regsvr32.exe"), None);
        assert_eq!(key_line("Adjunto los eventos: todos"), None);
        assert_eq!(key_line("T1059: PowerShell"), None);
        assert_eq!(key_line("x: one letter"), None);
        assert_eq!(key_line(": nothing"), None);
        assert_eq!(key_line("no colon here"), None);
    }

    #[test]
    fn list_item_markers() {
        assert_eq!(list_item("- a"), Some("a"));
        assert_eq!(list_item("  * b "), Some("b"));
        assert_eq!(list_item("• c"), Some("c"));
        assert_eq!(list_item("1. d"), Some("d"));
        assert_eq!(list_item("12) e"), Some("e"));
        assert_eq!(list_item("-a"), None);
        assert_eq!(list_item("2020. year"), None);
        assert_eq!(list_item("text"), None);
    }

    #[test]
    fn split_classifies_lines() {
        let body = "tlp: red\n- item\n\nfree text\n```json\n{\"a\": 1}\n  tlp: not a key\n```";
        let elements = split(body, 2);
        assert_eq!(
            elements,
            [
                Element::Key {
                    key: "tlp",
                    field: Field::Tlp,
                    value: "red",
                    line: 2
                },
                Element::Item {
                    text: "item",
                    raw: "- item",
                    line: 3
                },
                Element::Blank,
                Element::Text { text: "free text" },
                Element::Code {
                    text: "{\"a\": 1}\n  tlp: not a key".into()
                },
            ]
        );
    }

    #[test]
    fn split_unknown_key_names_line() {
        let elements = split("tlp: red\nhipotesys: x\nfree", 2);
        assert_eq!(
            elements[1],
            Element::Invalid(FindingError::UnknownKey {
                key: "hipotesys".into(),
                line: 3,
                suggestion: Some("hipótesis")
            })
        );
        assert_eq!(elements[2], Element::Text { text: "free" });
    }

    #[test]
    fn split_slack_style_fences() {
        let elements = split("```first line\nsecond```", 2);
        assert_eq!(
            elements,
            [Element::Code {
                text: "first line\nsecond".into()
            }]
        );
        let elements = split("```one line```", 2);
        assert_eq!(
            elements,
            [Element::Code {
                text: "one line".into()
            }]
        );
    }

    #[test]
    fn split_longer_fence_needs_longer_close() {
        let body = "````\n```\ninner\n```\n````";
        let elements = split(body, 2);
        assert_eq!(elements.len(), 1);
        assert_eq!(
            elements[0],
            Element::Code {
                text: "```\ninner\n```".into()
            }
        );
    }

    #[test]
    fn split_unterminated_fence() {
        let elements = split("text\n```\nnever closed", 2);
        assert_eq!(
            elements.last(),
            Some(&Element::Invalid(FindingError::UnterminatedCodeBlock {
                line: 3
            }))
        );
    }

    #[test]
    fn split_keeps_crlf_out() {
        let elements = split("tlp: red\r\nfree\r\n", 2);
        assert_eq!(
            elements[0],
            Element::Key {
                key: "tlp",
                field: Field::Tlp,
                value: "red",
                line: 2
            }
        );
        assert_eq!(elements[1], Element::Text { text: "free" });
    }
}
