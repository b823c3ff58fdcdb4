//! Windows registry keys: a hive name (`HKLM`, `HKEY_LOCAL_MACHINE`,
//! `HKLM:` in PowerShell, `\REGISTRY\MACHINE` in kernel and Sysmon events)
//! followed by backslash-separated key names. The stored value uses the
//! short hive name: `HKEY_LOCAL_MACHINE\Software\X` is `HKLM\Software\X`.

use super::MAX_REGISTRY_KEY_LEN;
use super::url::trim_prose_end;

/// Hive names as written, lowercase, with the short name stored.
const HIVES: [(&str, &str); 10] = [
    ("hkey_classes_root", "HKCR"),
    ("hkey_current_config", "HKCC"),
    ("hkey_current_user", "HKCU"),
    ("hkey_local_machine", "HKLM"),
    ("hkey_users", "HKU"),
    ("hkcc", "HKCC"),
    ("hkcr", "HKCR"),
    ("hkcu", "HKCU"),
    ("hklm", "HKLM"),
    ("hku", "HKU"),
];

/// Returns the short hive name for `word`, which may end in `:` (`HKLM:`) or
/// carry a provider prefix (`Registry::HKEY_USERS`).
pub(crate) fn hive(word: &str) -> Option<&'static str> {
    let word = word.trim_end_matches(':');
    let word = word.rsplit(':').next().unwrap_or(word);
    if !(3..=19).contains(&word.len()) {
        return None;
    }
    HIVES
        .iter()
        .find(|(name, _)| word.eq_ignore_ascii_case(name))
        .map(|(_, short)| *short)
}

/// Returns the short hive name and the offset after it for the kernel form
/// `REGISTRY\MACHINE` or `REGISTRY\USER`, where `at` is the offset of
/// `REGISTRY` and the byte before it is a backslash.
pub(crate) fn kernel_hive(text: &str, at: usize) -> Option<(&'static str, usize)> {
    let rest = text.get(at..)?;
    for (path, short) in [("registry\\machine", "HKLM"), ("registry\\user", "HKU")] {
        let head = rest.get(..path.len())?;
        if head.eq_ignore_ascii_case(path) {
            return Some((short, at + path.len()));
        }
    }
    None
}

/// Reads the key names that follow a hive, starting at `at`, the offset of
/// the first backslash. Returns the key with its short hive name and the
/// offset where the key ends.
///
/// Key names end at a line break, a quote, a backtick, `<`, `>` or `|`. A
/// space stays inside the key when the word after it contains another
/// backslash (`...\Windows NT\CurrentVersion`), or anywhere inside quotes that
/// close on the same line. In JSON text, where separators are written `\\`, a
/// single backslash starts an escape (`\r\n`, `\"`) and ends the key.
///
/// NOTE: an unquoted key whose last name contains a space
/// (`...\Image File Execution Options` at the end of a line) is cut at the
/// first space, since nothing distinguishes it from the prose that follows.
pub(crate) fn read_key(text: &str, hive: &str, at: usize) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    let escaped = bytes.get(at + 1) == Some(&b'\\');
    let separator_len = if escaped { 2 } else { 1 };
    let quote = at
        .checked_sub(hive_len_before(bytes, at) + 1)
        .map(|i| bytes[i])
        .filter(|&c| c == b'"' || c == b'\'');
    let quoted_end = quote.and_then(|quote| closing_quote(bytes, at, quote));

    let mut key = String::from(hive);
    let mut i = at;
    let mut end = at;
    loop {
        if bytes.get(i) != Some(&b'\\') || (escaped && bytes.get(i + 1) != Some(&b'\\')) {
            break;
        }
        i += separator_len;
        let name_start = i;
        while i < bytes.len() {
            let c = bytes[i];
            let stop = match c {
                b'\\' => true,
                b' ' if quoted_end.is_some() => false,
                b' ' => !space_continues_key(bytes, i),
                b'"' | b'\'' | b'`' | b'<' | b'>' | b'|' => true,
                _ => c < 0x20 || c == 0x7f,
            };
            if stop || quoted_end.is_some_and(|q| i >= q) {
                break;
            }
            i += 1;
        }
        let name = trim_name(&text[name_start..i]);
        if name.is_empty() {
            break;
        }
        key.push('\\');
        key.push_str(name);
        end = name_start + name.len();
        if name.len() < i - name_start {
            break;
        }
    }
    if key.len() == hive.len() || key.len() > MAX_REGISTRY_KEY_LEN {
        return None;
    }
    Some((key, end))
}

/// Returns the length of the hive word that ends at `at`, so the byte before
/// it can be checked for an opening quote.
fn hive_len_before(bytes: &[u8], at: usize) -> usize {
    bytes[..at]
        .iter()
        .rev()
        .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
        .count()
}

/// Returns the offset of the closing quote, if it is on the same line.
fn closing_quote(bytes: &[u8], from: usize, quote: u8) -> Option<usize> {
    let close = memchr::memchr2(quote, b'\n', &bytes[from..])?;
    (bytes[from + close] == quote).then_some(from + close)
}

/// Returns whether the word after the space at `at` is a key name followed by
/// a backslash (`NT\CurrentVersion`), so the key goes on through the space. A
/// path such as `C:\x.exe` or `%TEMP%\x.exe` after the key does not continue
/// it.
fn space_continues_key(bytes: &[u8], at: usize) -> bool {
    let word = &bytes[at + 1..];
    let name_len = word
        .iter()
        .take_while(|&&c| c.is_ascii_alphanumeric() || b"_-.{}()".contains(&c))
        .count();
    name_len > 0 && word.get(name_len) == Some(&b'\\')
}

/// Trims prose punctuation after the last key name and spaces around it.
fn trim_name(name: &str) -> &str {
    trim_prose_end(name.trim(), b".,;: ").trim_end()
}

/// Parses a whole value as one registry key (`/ioc add`, known-good lists).
/// Unlike [`read_key`] it keeps spaces anywhere, as nothing follows the key.
pub(crate) fn parse_whole(value: &str) -> Option<String> {
    let value = value.trim().trim_end_matches('\\');
    let (head, rest) = value.split_once('\\')?;
    let (short, rest) = if head.is_empty() {
        let (short, after) = kernel_hive(value, 1)?;
        (short, value.get(after + 1..)?)
    } else {
        (hive(head)?, rest)
    };
    let mut key = String::from(short);
    for name in rest.split('\\') {
        let valid = !name.is_empty()
            && name.trim() == name
            && !name
                .bytes()
                .any(|c| c < 0x20 || c == 0x7f || b"\"`<>|".contains(&c));
        if !valid {
            return None;
        }
        key.push('\\');
        key.push_str(name);
    }
    (key.len() > short.len() && key.len() <= MAX_REGISTRY_KEY_LEN).then_some(key)
}
