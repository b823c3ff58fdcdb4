//! Undoes, before the scan, what hides a value's plain form:
//! JSON string escapes in JSON-lines logs (`C:\\Windows`, `\r\n`), defanged
//! separators (`[.]`, `(dot)`, `[:]`, `[@]`, `(at)`…), Slack's link wrappers
//! (`<http://x|label>`, `<mailto:a@b|a@b>`) and the HTML entities Slack
//! escapes (`&amp;`, `&lt;`, `&gt;`). Defanged schemes (`hxxp`, `fxp`) are
//! mapped when a URL is parsed.

use std::borrow::Cow;

/// Maximum length of a Slack `<target|label>` link. A `<` with no `>` within
/// this many bytes is left as text.
const MAX_SLACK_LINK_LEN: usize = 8 * 1024;

/// Bytes at which a rewrite can start.
const fn trigger_table() -> [bool; 256] {
    let mut table = [false; 256];
    let triggers = b"[](){}&<";
    let mut i = 0;
    while i < triggers.len() {
        table[triggers[i] as usize] = true;
        i += 1;
    }
    table
}

static TRIGGER: [bool; 256] = trigger_table();

/// Returns `text` with JSON escapes, defanging, Slack links and entities
/// undone. Borrows `text` when nothing needs rewriting: most `(`, `[`, `{`,
/// `&` and `<` in logs start no rewrite, so a dry pass looks for the first one
/// that does before anything is copied.
pub(crate) fn refang(text: &str) -> Cow<'_, str> {
    let unescaped = unescape_json_lines(text);
    let Some((first, rewrite)) = first_rewrite(&unescaped) else {
        return unescaped;
    };
    let mut out = String::with_capacity(unescaped.len());
    out.push_str(&unescaped[..first]);
    let next = rewrite.apply(&mut out);
    refang_into(&unescaped[next..], &mut out, true);
    Cow::Owned(out)
}

/// Finds the first rewrite in `text` and its offset.
fn first_rewrite(text: &str) -> Option<(usize, Rewrite)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if TRIGGER[usize::from(bytes[i])]
            && let Some(rewrite) = rewrite_at(text, i, &bytes[..i], true)
        {
            return Some((i, rewrite));
        }
        i += 1;
    }
    None
}

/// Decodes the string escapes of every line that is a JSON object, as in
/// JSON-lines exports of Sysmon or EDR events. Such a line starts with `{` and
/// ends with `}`, spaces aside. Decoding: `\\` becomes `\`, `\"` a quote, `\/` a slash,
/// `\uXXXX` its character, and `\n`, `\r`, `\t`, `\b`, `\f` a space.
/// Other lines are left alone, because in plain text a backslash is a
/// Windows path separator (`C:\temp\new.exe`).
///
/// NOTE: JSON spread over several lines (pretty-printed) is not decoded, so
/// there an escape glues to the next word (`\nwww.example.com` gives the
/// domain `nwww.example.com`).
fn unescape_json_lines(text: &str) -> Cow<'_, str> {
    if memchr::memchr(b'\\', text.as_bytes()).is_none() {
        return Cow::Borrowed(text);
    }
    let mut out: Option<String> = None;
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        let json_object = trimmed.starts_with('{') && trimmed.ends_with('}') && line.contains('\\');
        if json_object {
            let out = out.get_or_insert_with(|| {
                let mut out = String::with_capacity(text.len());
                out.push_str(&text[..line_start]);
                out
            });
            unescape_json_into(line, out);
        } else if let Some(out) = out.as_mut() {
            out.push_str(line);
        }
        line_start += line.len();
    }
    out.map_or(Cow::Borrowed(text), Cow::Owned)
}

fn unescape_json_into(line: &str, out: &mut String) {
    let bytes = line.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    while let Some(offset) = memchr::memchr(b'\\', &bytes[i..]) {
        let at = i + offset;
        out.push_str(&line[copied..at]);
        let (decoded, len) = match bytes.get(at + 1) {
            Some(b'\\') => (Some('\\'), 2),
            Some(b'"') => (Some('"'), 2),
            Some(b'/') => (Some('/'), 2),
            Some(b'n' | b'r' | b't' | b'b' | b'f') => (Some(' '), 2),
            Some(b'u') => match line
                .get(at + 2..at + 6)
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            {
                Some(code) => (Some(char::from_u32(code).unwrap_or(' ')), 6),
                None => (None, 1),
            },
            _ => (None, 1),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push('\\'),
        }
        i = at + len;
        copied = i;
    }
    out.push_str(&line[copied..]);
}

/// A rewrite at a trigger byte: drop the space before it when `pop_space`
/// is set, write `replacement`, and go on at `next`.
struct Rewrite {
    replacement: Cow<'static, str>,
    next: usize,
    pop_space: bool,
}

impl Rewrite {
    fn new(replacement: impl Into<Cow<'static, str>>, next: usize) -> Self {
        Self {
            replacement: replacement.into(),
            next,
            pop_space: false,
        }
    }

    /// Writes the rewrite to `out` and returns the offset to go on at.
    fn apply(self, out: &mut String) -> usize {
        if self.pop_space {
            out.pop();
        }
        out.push_str(&self.replacement);
        self.next
    }
}

/// Appends the refanged `text` to `out`. `links` turns Slack link unwrapping
/// on; it is off inside a link, so a `<` decoded from `&lt;` stays text.
fn refang_into(text: &str, out: &mut String, links: bool) {
    let bytes = text.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !TRIGGER[usize::from(bytes[i])] {
            i += 1;
            continue;
        }
        out.push_str(&text[copied..i]);
        match rewrite_at(text, i, out.as_bytes(), links) {
            Some(rewrite) => i = rewrite.apply(out),
            None => {
                out.push(char::from(bytes[i]));
                i += 1;
            }
        }
        copied = i;
    }
    out.push_str(&text[copied..]);
}

/// Returns the rewrite that starts at the trigger byte at `at`, given `prev`,
/// the output written so far.
fn rewrite_at(text: &str, at: usize, prev: &[u8], links: bool) -> Option<Rewrite> {
    let bytes = text.as_bytes();
    match bytes[at] {
        b'&' => entity(bytes, at),
        b'<' if links => slack_link(text, at),
        b'<' => None,
        _ => bracket_form(bytes, at, prev).or_else(|| stray_brackets(bytes, at, prev)),
    }
}

/// Decodes `&amp;`, `&lt;`, `&gt;` and `&quot;` at `at`.
fn entity(bytes: &[u8], at: usize) -> Option<Rewrite> {
    let rest = &bytes[at..];
    [
        ("&amp;", "&"),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
    ]
    .into_iter()
    .find(|(name, _)| rest.starts_with(name.as_bytes()))
    .map(|(name, plain)| Rewrite::new(plain, at + name.len()))
}

fn closing(open: u8) -> u8 {
    match open {
        b'[' => b']',
        b'(' => b')',
        _ => b'}',
    }
}

/// Rewrites a bracketed defang form at `at`: `[.]` `(.)` `{.}` `[dot]` `(dot)`
/// to `.`, `[:]` to `:`, `[://]` to `://`, `[/]` to `/`, and `[@]` `(@)`
/// `[at]` `(at)` to `@`, in any case. A single space on both sides goes too
/// when letters or digits stand beyond it (`example [dot] com`). The word
/// forms `dot` and `at` need a letter, digit or space-separated word on both
/// sides, so prose such as "(at least)" is left alone.
fn bracket_form(bytes: &[u8], at: usize, prev: &[u8]) -> Option<Rewrite> {
    let open = bytes[at];
    if !matches!(open, b'[' | b'(' | b'{') {
        return None;
    }
    let close = closing(open);
    let inner_len = bytes[at + 1..].iter().take(5).position(|&c| c == close)?;
    let inner = &bytes[at + 1..at + 1 + inner_len];
    let (plain, word) = match inner.to_ascii_lowercase().as_slice() {
        b"." => (".", false),
        b"dot" => (".", true),
        b":" => (":", false),
        b"://" => ("://", false),
        b"/" => ("/", false),
        b"@" => ("@", false),
        b"at" => ("@", true),
        _ => return None,
    };
    let after = at + inner_len + 2;

    let before_word = prev.last().is_some_and(u8::is_ascii_alphanumeric);
    let after_word = bytes.get(after).is_some_and(u8::is_ascii_alphanumeric);
    let spaced_before = prev.len() >= 2
        && prev[prev.len() - 1] == b' '
        && prev[prev.len() - 2].is_ascii_alphanumeric();
    let spaced_after = bytes.get(after) == Some(&b' ')
        && bytes.get(after + 1).is_some_and(u8::is_ascii_alphanumeric);

    if spaced_before && spaced_after && plain != "://" {
        return Some(Rewrite {
            replacement: plain.into(),
            next: after + 1,
            pop_space: true,
        });
    }
    if word && !(before_word && after_word) {
        return None;
    }
    Some(Rewrite::new(plain, after))
}

/// Drops a run of brackets glued to a dot between two labels, as in
/// `198.51.100.]]]165` or `10]].0.0.1`.
fn stray_brackets(bytes: &[u8], at: usize, prev: &[u8]) -> Option<Rewrite> {
    let is_bracket = |c: &u8| b"[](){}".contains(c);
    // A cap keeps a long run of brackets from being rescanned at each byte.
    let run = bytes[at..]
        .iter()
        .take(8)
        .take_while(|c| is_bracket(c))
        .count();
    let next = bytes.get(at + run).copied();
    let next2 = bytes.get(at + run + 1).copied();
    let last = prev.last().copied();
    let last2 = prev.len().checked_sub(2).map(|i| prev[i]);

    let alnum = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let dot_then_label = last == Some(b'.') && alnum(last2) && alnum(next);
    let label_then_dot = alnum(last) && next == Some(b'.') && alnum(next2);
    (dot_then_label || label_then_dot).then(|| Rewrite::new("", at + run))
}

/// Unwraps a Slack link `<target>` or `<target|label>` at `at`:
/// - `<@U…>`, `<#C…|name>` and `<!here>` (mentions) become a space.
/// - When the label is the target without its `http://`, `https://` or
///   `mailto:` prefix, Slack linked what the person typed, so the label alone
///   is kept: `<http://cdn.example.net|cdn.example.net>` is the domain.
/// - Otherwise both stay, target first, as both may be indicators.
///
/// Returns `None` when the text at `at` is not a Slack link (HTML, `a < b`).
fn slack_link(text: &str, at: usize) -> Option<Rewrite> {
    let bytes = text.as_bytes();
    let window = &bytes[at + 1..bytes.len().min(at + 1 + MAX_SLACK_LINK_LEN)];
    let close = window
        .iter()
        .position(|&c| matches!(c, b'>' | b'<' | b'\n'))?;
    if window[close] != b'>' {
        return None;
    }
    let inner = &text[at + 1..at + 1 + close];
    let (target, label) = match inner.split_once('|') {
        Some((target, label)) => (target, Some(label)),
        None => (inner, None),
    };
    if target.is_empty() || target.bytes().any(|c| c.is_ascii_whitespace()) {
        return None;
    }
    let after = at + close + 2;
    if target.starts_with(['@', '#', '!']) {
        return Some(Rewrite::new(" ", after));
    }
    let scheme_len = target.bytes().position(|c| c == b':').filter(|&n| {
        n > 0
            && target[..n]
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"+.-".contains(&c))
    })?;
    if !target.as_bytes()[0].is_ascii_alphabetic() || scheme_len + 1 == target.len() {
        return None;
    }

    let mut plain_target = String::new();
    refang_into(target, &mut plain_target, false);
    let mut replacement = String::from(" ");
    match label {
        Some(label) => {
            let mut plain_label = String::new();
            refang_into(label, &mut plain_label, false);
            if strip_link_scheme(&plain_target) != Some(plain_label.as_str()) {
                replacement.push_str(&plain_target);
                replacement.push(' ');
            }
            replacement.push_str(&plain_label);
        }
        None => replacement.push_str(&plain_target),
    }
    replacement.push(' ');
    Some(Rewrite::new(replacement, after))
}

/// Returns `target` without the prefix Slack adds when it links a bare
/// domain or e-mail address.
fn strip_link_scheme(target: &str) -> Option<&str> {
    ["http://", "https://", "mailto:"]
        .iter()
        .find_map(|prefix| {
            let head = target.get(..prefix.len())?;
            head.eq_ignore_ascii_case(prefix)
                .then(|| &target[prefix.len()..])
        })
}
