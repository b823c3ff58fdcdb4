//! Rendering of everything a person reads: tera templates and short-string
//! catalogs per language under `templates/<lang>/`, embedded at build time.
//!
//! Each language has one tera instance. Its filters read the target format
//! of the render running on the calling thread (see [`FormatScope`]), so the
//! templates are parsed once per language and not once per format. Templates
//! mark user values with the `v` filter, which escapes them for that format
//! (terminal, Matrix HTML or Slack mrkdwn). The `b`, `code` and `pre` filters
//! add structure. Indicators reach
//! templates already defanged: the app never puts a live value in a context.

mod escape;
mod strings;

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use serde::{Deserialize, Serialize};
use tera::Tera;

use crate::domain::types::Lang;

pub use escape::{escape, strip_controls};
pub use strings::Strings;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/templates.rs"));
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Terminal and plain-text bodies.
    Plain,
    /// The HTML subset Matrix clients show.
    Html,
    /// Slack's mrkdwn.
    Mrkdwn,
    /// CommonMark, for report files.
    Markdown,
}

const LANGS: [Lang; 2] = [Lang::Es, Lang::En];

/// A message to render: a template name, a language and its context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub template: String,
    pub lang: Lang,
    pub context: serde_json::Value,
}

/// A rendered message: the plain text every platform needs, plus the rich
/// form when the platform has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub plain: String,
    pub formatted: Option<String>,
}

/// All templates and catalogs, ready to render.
#[derive(Clone)]
pub struct Renderer {
    tera: Arc<HashMap<Lang, Tera>>,
    strings: Arc<HashMap<Lang, Strings>>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer").finish_non_exhaustive()
    }
}

impl Renderer {
    /// Builds the renderer from the templates embedded in the binary, with
    /// commands written `/finding`.
    pub fn embedded() -> anyhow::Result<Self> {
        Self::with_command_prefix("/", &[])
    }

    /// Builds the renderer from the embedded templates, with every mention
    /// of a command in `words` written with `prefix` instead of `/`
    /// (`!handoff F-1 accept` where Element would take `/handoff` as its own
    /// command). Only the templates and catalogs are rewritten; values from
    /// a context, such as text users typed, never are.
    pub fn with_command_prefix(prefix: &str, words: &[&str]) -> anyhow::Result<Self> {
        let mention = CommandMention::new(prefix, words)?;
        let mut strings = HashMap::new();
        let mut sources: HashMap<Lang, Vec<(String, String)>> = HashMap::new();
        for (lang_code, name, content) in embedded::EMBEDDED {
            let lang: Lang = lang_code
                .parse()
                .map_err(|_| anyhow!("templates/{lang_code} is not a supported language"))?;
            let content = mention.rewrite(content);
            if *name == "strings.toml" {
                let catalog = Strings::parse(&content)
                    .with_context(|| format!("invalid templates/{lang_code}/strings.toml"))?;
                strings.insert(lang, catalog);
            } else if let Some(stem) = name.strip_suffix(".tera") {
                sources
                    .entry(lang)
                    .or_default()
                    .push((stem.to_string(), content.into_owned()));
            }
        }
        let strings = Arc::new(strings);

        let mut tera = HashMap::new();
        for lang in LANGS {
            let templates = sources
                .get(&lang)
                .with_context(|| format!("no templates for language {}", lang.as_str()))?;
            let catalog = strings
                .get(&lang)
                .cloned()
                .with_context(|| format!("no strings.toml for language {}", lang.as_str()))?;
            let mut instance = Tera::default();
            instance.autoescape_on(vec![]);
            instance
                .add_raw_templates(templates.iter().map(|(n, c)| (n.as_str(), c.as_str())))
                .with_context(|| format!("invalid template in templates/{}", lang.as_str()))?;
            register(&mut instance, catalog);
            tera.insert(lang, instance);
        }
        Ok(Self {
            tera: Arc::new(tera),
            strings,
        })
    }

    /// Renders `message` for `format`.
    pub fn render(&self, message: &Message, format: Format) -> anyhow::Result<String> {
        let tera = self
            .tera
            .get(&message.lang)
            .context("no templates for this language")?;
        let context = tera::Context::from_value(message.context.clone())
            .context("message context must be a JSON object")?;
        let scope = FormatScope::enter(format);
        let rendered = tera.render(&message.template, &context);
        drop(scope);
        let text = rendered
            .map_err(|error| anyhow!("{}", tera_error_chain(&error)))
            .with_context(|| format!("failed to render template {}", message.template))?;
        Ok(finish(format, &text))
    }

    /// Renders the plain form and, unless `format` is plain, the rich form.
    pub fn rendered(&self, message: &Message, format: Format) -> anyhow::Result<Rendered> {
        let plain = self.render(message, Format::Plain)?;
        let formatted = match format {
            Format::Plain => None,
            other => Some(self.render(message, other)?),
        };
        Ok(Rendered { plain, formatted })
    }

    /// Returns a short string from the catalog with `{name}` arguments filled in and
    /// control characters removed. For room names, topics and file contents.
    pub fn text(&self, lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
        let Some(catalog) = self.strings.get(&lang) else {
            return key.to_string();
        };
        let args: Vec<(&str, String)> = args
            .iter()
            .map(|(name, value)| (*name, strip_controls(value)))
            .collect();
        catalog
            .format(key, &args)
            .unwrap_or_else(|| key.to_string())
    }

    /// Returns the catalog of a language.
    pub fn strings(&self, lang: Lang) -> Option<&Strings> {
        self.strings.get(&lang)
    }

    /// Names of the templates of a language.
    pub fn template_names(&self, lang: Lang) -> Vec<String> {
        self.tera
            .get(&lang)
            .map(|tera| tera.get_template_names().map(str::to_string).collect())
            .unwrap_or_default()
    }
}

/// Rewrites `/word` command mentions in the bot's own texts to another
/// prefix.
struct CommandMention {
    prefix: String,
    /// `None` when the prefix is `/` or there are no words: nothing changes.
    pattern: Option<regex::Regex>,
}

impl CommandMention {
    fn new(prefix: &str, words: &[&str]) -> anyhow::Result<Self> {
        if prefix == "/" || words.is_empty() {
            return Ok(Self {
                prefix: prefix.to_string(),
                pattern: None,
            });
        }
        let mut words: Vec<&str> = words.to_vec();
        // Longest first, so that a shorter word does not match the start of a
        // longer one.
        words.sort_by_key(|word| std::cmp::Reverse(word.len()));
        let alternatives: Vec<String> = words.iter().map(|word| regex::escape(word)).collect();
        // A mention starts a line or follows a character that cannot be
        // part of a path or URL, so `http://x/status`, `</b>` and
        // `/etc/help` stay as they are.
        let pattern = format!(
            r"(?m)(^|[^\p{{L}}\p{{N}}_/:.<~\\-])/({})\b",
            alternatives.join("|")
        );
        Ok(Self {
            prefix: prefix.to_string(),
            pattern: Some(regex::Regex::new(&pattern).context("invalid command word")?),
        })
    }

    fn rewrite<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        match &self.pattern {
            None => std::borrow::Cow::Borrowed(text),
            Some(pattern) => pattern.replace_all(text, |captures: &regex::Captures<'_>| {
                format!("{}{}{}", &captures[1], self.prefix, &captures[2])
            }),
        }
    }
}

thread_local! {
    /// Target format of the render running on this thread. Tera renders
    /// synchronously on the calling thread, so the filters it calls see the
    /// format that [`Renderer::render`] set.
    static CURRENT_FORMAT: Cell<Format> = const { Cell::new(Format::Plain) };
}

/// Sets the target format of this thread's render and restores the previous
/// one when dropped, also when the render fails.
struct FormatScope {
    previous: Format,
}

impl FormatScope {
    fn enter(format: Format) -> Self {
        Self {
            previous: CURRENT_FORMAT.replace(format),
        }
    }
}

impl Drop for FormatScope {
    fn drop(&mut self) {
        CURRENT_FORMAT.set(self.previous);
    }
}

fn current_format() -> Format {
    CURRENT_FORMAT.get()
}

fn tera_error_chain(error: &tera::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Tidies template output: trims trailing blank lines, collapses runs of
/// blank lines and, for HTML, turns line breaks outside `<pre>` into `<br>`.
fn finish(format: Format, text: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        lines.push(line);
    }
    while lines.first().is_some_and(|line| line.is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|line| line.is_empty()) {
        lines.pop();
    }
    if format != Format::Html {
        return lines.join("\n");
    }
    let mut out = String::new();
    let mut in_pre = false;
    for (index, line) in lines.iter().enumerate() {
        out.push_str(line);
        if line.contains("<pre>") {
            in_pre = true;
        }
        if line.contains("</pre>") {
            in_pre = false;
        }
        if index + 1 < lines.len() {
            out.push_str(if in_pre { "\n" } else { "<br>\n" });
        }
    }
    out
}

fn value_text(value: &tera::Value) -> String {
    match value {
        tera::Value::String(text) => text.clone(),
        tera::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Registers the format-aware filters and the `t` catalog function.
fn register(tera: &mut Tera, catalog: Strings) {
    tera.register_filter(
        "v",
        |value: &tera::Value, _: &HashMap<String, tera::Value>| {
            let format = current_format();
            Ok(tera::Value::String(escape(format, &value_text(value))))
        },
    );
    tera.register_filter(
        "b",
        |value: &tera::Value, _: &HashMap<String, tera::Value>| {
            let format = current_format();
            let text = value_text(value);
            Ok(tera::Value::String(match format {
                Format::Plain => text,
                Format::Html => format!("<b>{text}</b>"),
                Format::Mrkdwn => format!("*{text}*"),
                Format::Markdown => format!("**{text}**"),
            }))
        },
    );
    tera.register_filter(
        "code",
        |value: &tera::Value, _: &HashMap<String, tera::Value>| {
            let format = current_format();
            let text = value_text(value);
            Ok(tera::Value::String(match format {
                Format::Plain => text,
                Format::Html => format!("<code>{text}</code>"),
                Format::Mrkdwn | Format::Markdown => format!("`{text}`"),
            }))
        },
    );
    tera.register_filter(
        "pre",
        |value: &tera::Value, _: &HashMap<String, tera::Value>| {
            let format = current_format();
            let text = value_text(value);
            Ok(tera::Value::String(match format {
                Format::Plain => text
                    .lines()
                    .map(|line| format!("    {line}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                Format::Html => format!("<pre>{text}</pre>"),
                Format::Mrkdwn => format!("```\n{text}\n```"),
                Format::Markdown => fenced(&text),
            }))
        },
    );
    // `code_raw` and `pre_raw` take an unescaped value and escape it for
    // code, where Markdown escapes would show as backslashes.
    tera.register_filter(
        "code_raw",
        |value: &tera::Value, _: &HashMap<String, tera::Value>| {
            let format = current_format();
            let text = strip_controls(&value_text(value)).replace('\n', " ");
            Ok(tera::Value::String(match format {
                Format::Plain => text,
                Format::Html => format!("<code>{}</code>", escape(Format::Html, &text)),
                Format::Mrkdwn => format!("`{}`", escape(Format::Mrkdwn, &text.replace('`', "'"))),
                Format::Markdown => inline_code(&text),
            }))
        },
    );
    tera.register_filter(
        "pre_raw",
        |value: &tera::Value, _: &HashMap<String, tera::Value>| {
            let format = current_format();
            let text = strip_controls(&value_text(value));
            Ok(tera::Value::String(match format {
                Format::Plain => text
                    .lines()
                    .map(|line| format!("    {line}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                Format::Html => format!("<pre>{}</pre>", escape(Format::Html, &text)),
                Format::Mrkdwn => format!("```\n{}\n```", escape(Format::Mrkdwn, &text)),
                Format::Markdown => fenced(&text),
            }))
        },
    );
    tera.register_filter(
        "dur",
        |value: &tera::Value, _: &HashMap<String, tera::Value>| {
            let millis = value.as_i64().unwrap_or(0);
            Ok(tera::Value::String(format_duration(millis)))
        },
    );
    tera.register_filter(
        "ts",
        |value: &tera::Value, _: &HashMap<String, tera::Value>| {
            let millis = value.as_i64().unwrap_or(0);
            Ok(tera::Value::String(
                crate::store::from_millis(millis)
                    .format("%Y-%m-%d %H:%M:%S UTC")
                    .to_string(),
            ))
        },
    );
    tera.register_function("t", move |args: &HashMap<String, tera::Value>| {
        let format = current_format();
        let key = args
            .get("k")
            .and_then(|value| value.as_str())
            .ok_or_else(|| tera::Error::msg("t() needs k=\"key\""))?;
        let mut substitutions: Vec<(String, String)> = Vec::new();
        for (name, value) in args {
            if name == "k" {
                continue;
            }
            if name == "args" {
                if let Some(map) = value.as_object() {
                    for (inner, inner_value) in map {
                        substitutions.push((inner.clone(), value_text(inner_value)));
                    }
                }
                continue;
            }
            substitutions.push((name.clone(), value_text(value)));
        }
        // An argument written `@key` is itself a catalog key (`@stage.coordination`),
        // so handlers can pass localizable values without knowing the language.
        let escaped: Vec<(&str, String)> = substitutions
            .iter()
            .map(|(name, value)| {
                let localized = value
                    .strip_prefix('@')
                    .and_then(|key| catalog.format(key, &[]))
                    .unwrap_or_else(|| value.clone());
                (name.as_str(), escape(format, &localized))
            })
            .collect();
        catalog
            .format(key, &escaped)
            .map(tera::Value::String)
            .ok_or_else(|| tera::Error::msg(format!("missing string {key:?}")))
    });
}

/// Wraps any text in a Markdown code span: the fence is one backtick
/// longer than the longest run inside it.
fn inline_code(text: &str) -> String {
    let fence = "`".repeat(longest_backtick_run(text) + 1);
    format!("{fence} {text} {fence}")
}

/// Wraps any text in a fenced Markdown code block.
fn fenced(text: &str) -> String {
    let fence = "`".repeat((longest_backtick_run(text) + 1).max(3));
    format!("{fence}\n{text}\n{fence}")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Converts report Markdown to a standalone HTML page. Raw HTML in the
/// Markdown is shown as text, never passed through.
pub fn markdown_to_html(title: &str, lang: Lang, markdown: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, html};

    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut body = String::new();
    html::push_html(&mut body, parser);
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n\
         <style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.2em .5em}}\
         pre{{background:#f4f4f4;padding:.5em;overflow-x:auto}}</style>\n</head>\n<body>\n{}</body>\n</html>\n",
        lang.as_str(),
        escape(Format::Html, title),
        body
    )
}

/// Formats a duration in milliseconds the same way in every language:
/// `850 ms`, `42 s`, `5 min 3 s`, `2 h 5 min`, `3 d 4 h`.
pub fn format_duration(millis: i64) -> String {
    let sign = if millis < 0 { "-" } else { "" };
    let millis = millis.unsigned_abs();
    let seconds = millis / 1000;
    let (days, hours, minutes, secs) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    let text = if seconds == 0 {
        format!("{millis} ms")
    } else if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else if minutes > 0 {
        format!("{minutes} min {secs} s")
    } else {
        format!("{secs} s")
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_mentions_take_the_prefix() {
        let mention = CommandMention::new("!", &["handoff", "status", "help", "note"]).unwrap();
        for (before, after) in [
            (
                "Acepta con /handoff F-1 accept",
                "Acepta con !handoff F-1 accept",
            ),
            ("«/status all»", "«!status all»"),
            (
                "{{ \"/help <comando>\" | code }}",
                "{{ \"!help <comando>\" | code }}",
            ),
            ("/note x\n(/note y)", "!note x\n(!note y)"),
            ("`/status`", "`!status`"),
        ] {
            assert_eq!(mention.rewrite(before), after);
        }
        for unchanged in [
            "http://x.example/status",
            "</b>",
            "/etc/help",
            "a/status",
            "/statusx",
            "C:\\tmp/note",
        ] {
            assert_eq!(mention.rewrite(unchanged), unchanged);
        }
    }

    #[test]
    fn old_error_context_renders() {
        // Outbox entries written by an earlier version have no `also` and
        // no `more`.
        let renderer = Renderer::embedded().unwrap();
        let message = Message {
            template: "error".into(),
            lang: Lang::En,
            context: serde_json::json!({
                "key": "error.missing_decision",
                "args": { "id": "F-1" },
            }),
        };
        let text = renderer.render(&message, Format::Plain).unwrap();
        assert_eq!(
            text,
            "⚠ The decision is missing: write /handoff F-1 accept or /handoff F-1 decline."
        );
    }

    /// Renders an `ioc_added` reply whose only line is one overlap list.
    fn overlap_line(lang: Lang, overlap: serde_json::Value) -> String {
        let renderer = Renderer::embedded().unwrap();
        let message = Message {
            template: "ioc_added".into(),
            lang,
            context: serde_json::json!({
                "incident": "INC-1",
                "added": [],
                "skipped": 0,
                "overlaps": [overlap],
            }),
        };
        let text = renderer.render(&message, Format::Plain).unwrap();
        text.lines().nth(1).unwrap_or_default().to_string()
    }

    #[test]
    fn overlap_count_marks_unread_cases() {
        let ioc = serde_json::json!({ "kind": "ipv4", "value": "203.0.113.7", "flags": [] });
        let cases =
            serde_json::json!([{ "finding": "F-9" }, { "finding": "F-8", "incident": "INC-2" }]);
        let line = |lang, more, capped: Option<bool>| {
            let mut overlap = serde_json::json!({ "ioc": ioc, "cases": cases, "more": more });
            if let Some(capped) = capped {
                overlap["more_capped"] = capped.into();
            }
            overlap_line(lang, overlap)
        };
        assert!(line(Lang::En, 3, Some(false)).ends_with("F-9, F-8 (INC-2) and 3 more"));
        assert!(line(Lang::En, 95, Some(true)).ends_with("F-9, F-8 (INC-2) and 95+ more"));
        assert!(line(Lang::En, 0, Some(true)).ends_with("F-9, F-8 (INC-2) and more"));
        assert!(line(Lang::En, 0, Some(false)).ends_with("F-9, F-8 (INC-2)"));
        assert!(line(Lang::Es, 95, Some(true)).ends_with("F-9, F-8 (INC-2) y 95+ más"));
        assert!(line(Lang::Es, 0, Some(true)).ends_with("F-9, F-8 (INC-2) y más"));
        // Outbox entries written by an earlier version have no `more_capped`.
        assert!(line(Lang::Es, 2, None).ends_with("F-9, F-8 (INC-2) y 2 más"));
    }

    #[test]
    fn error_list_renders_each_line() {
        let renderer = Renderer::embedded().unwrap();
        let message = Message {
            template: "error".into(),
            lang: Lang::En,
            context: serde_json::json!({
                "key": "error.missing_decision",
                "args": { "id": "F-1" },
                "also": [{ "key": "error.missing_decision", "args": { "id": "F-2" } }],
                "more": 3,
            }),
        };
        let text = renderer.render(&message, Format::Plain).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[1].starts_with("⚠ ") && lines[1].contains("F-2"),
            "{text}"
        );
        assert_eq!(
            lines[2],
            "Mistakes not shown: 3. Fix these and send it again to see the rest."
        );
    }

    #[test]
    fn slash_prefix_changes_nothing() {
        let mention = CommandMention::new("/", &["status"]).unwrap();
        assert!(matches!(
            mention.rewrite("/status"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn renderer_with_prefix_rewrites_catalogs_and_templates() {
        let renderer = Renderer::with_command_prefix("!", &["handoff", "help"]).unwrap();
        let text = renderer.text(Lang::Es, "error.missing_decision", &[("id", "F-1")]);
        assert_eq!(
            text,
            "Falta la decisión: escribe !handoff F-1 accept o !handoff F-1 decline."
        );
        let message = Message {
            template: "help".into(),
            lang: Lang::En,
            context: serde_json::json!({ "commands": [], "one": false }),
        };
        let help = renderer.render(&message, Format::Plain).unwrap();
        assert!(help.contains("!help <command>"), "{help}");
        assert!(!help.contains("/help"), "{help}");
    }

    #[test]
    fn duration_formats_by_magnitude() {
        assert_eq!(format_duration(850), "850 ms");
        assert_eq!(format_duration(42_000), "42 s");
        assert_eq!(format_duration(303_000), "5 min 3 s");
        assert_eq!(format_duration(7_500_000), "2 h 5 min");
        assert_eq!(format_duration(273_600_000), "3 d 4 h");
    }

    #[test]
    fn html_breaks_lines_outside_pre() {
        let text = "a\nb\n<pre>x\ny</pre>\nc";
        assert_eq!(
            finish(Format::Html, text),
            "a<br>\nb<br>\n<pre>x\ny</pre><br>\nc"
        );
    }

    #[test]
    fn catalogs_have_the_same_keys() {
        let renderer = Renderer::embedded().expect("templates load");
        let es = renderer.strings(Lang::Es).unwrap();
        let en = renderer.strings(Lang::En).unwrap();
        let missing_en: Vec<_> = es.keys().filter(|key| !en.contains(key)).collect();
        let missing_es: Vec<_> = en.keys().filter(|key| !es.contains(key)).collect();
        assert!(missing_en.is_empty(), "missing in en: {missing_en:?}");
        assert!(missing_es.is_empty(), "missing in es: {missing_es:?}");
    }

    #[test]
    fn both_languages_have_the_same_templates() {
        let renderer = Renderer::embedded().expect("templates load");
        let mut es = renderer.template_names(Lang::Es);
        let mut en = renderer.template_names(Lang::En);
        es.sort();
        en.sort();
        assert_eq!(es, en);
    }
}
