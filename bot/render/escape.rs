//! Escaping of user values for each output format, so a value can never
//! inject markup, mentions or terminal control sequences.

use super::Format;

/// Escapes `value` for `format`.
pub fn escape(format: Format, value: &str) -> String {
    match format {
        Format::Plain => strip_controls(value),
        Format::Html => escape_html(&strip_controls(value)),
        Format::Mrkdwn => escape_mrkdwn(&strip_controls(value)),
        Format::Markdown => escape_markdown(&strip_controls(value)),
    }
}

/// Removes control characters (ANSI escapes included) except newline and tab.
pub fn strip_controls(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

fn escape_html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Slack's mrkdwn needs only `&`, `<` and `>` escaped; that also stops
/// `<!channel>`-style mentions.
fn escape_mrkdwn(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// Backslash-escapes the CommonMark punctuation that could start markup or
/// raw HTML, so a value renders as the text it is.
fn escape_markdown(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '&' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_strips_ansi_escape() {
        assert_eq!(escape(Format::Plain, "a\u{1b}[31mred\u{7}"), "a[31mred");
        assert_eq!(escape(Format::Plain, "line\nnext\tcol"), "line\nnext\tcol");
    }

    #[test]
    fn html_escapes_markup() {
        assert_eq!(
            escape(Format::Html, "<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn markdown_escapes_markup_and_html() {
        assert_eq!(
            escape(Format::Markdown, "<b>*x*</b>"),
            "\\<b\\>\\*x\\*\\</b\\>"
        );
    }

    #[test]
    fn mrkdwn_escapes_mentions() {
        assert_eq!(
            escape(Format::Mrkdwn, "<!channel> & co"),
            "&lt;!channel&gt; &amp; co"
        );
    }
}
