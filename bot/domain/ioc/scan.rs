//! The scanner: one pass over refanged text that cuts it into words and
//! segments and hands each candidate to the parsers.
//!
//! A word ends at whitespace, a control character, a quote, a backtick or one
//! of `< > \ | ^ { }`, and at any non-ASCII byte, since every indicator here is
//! ASCII. Inside a word, a URL runs from its scheme to the end of the word.
//! Everything else is cut into segments at the bytes that no indicator
//! contains (`= , ; ( ) [ ] ! ? * & # %` and the like); a segment with `:` is
//! tried as IPv6 and else cut at each `:`, then likewise `/` for CIDR and `@`
//! for e-mail, and what is left is tried as a hash, IPv4 address, file name or
//! domain.
//!
//! NOTE: since non-ASCII bytes end a word, an internationalized domain name is
//! found only in its punycode form (`xn--bcher-kva.example`), not as `bücher`.

use std::net::IpAddr;

use memchr::memmem;

use super::name::{hash_kind, is_file_extension, parse_domain, parse_email, parse_filename};
use super::net::{Cidr, parse_cidr, parse_ipv4, parse_ipv6_in_text};
use super::url::{ParsedUrl, parse_url, scheme_start, trim_end};
use super::{IocKind, MAX_URL_LEN, registry};

/// One candidate indicator, normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    Ip(IpAddr),
    Cidr(Cidr),
    Domain(String),
    Url(ParsedUrl),
    /// A URL over [`MAX_URL_LEN`]: only its host is kept.
    UrlHost(ParsedUrl),
    Email {
        address: String,
        domain: String,
    },
    Hash(IocKind, String),
    Filename(String),
    RegistryKey(String),
}

/// Receives candidates in order of appearance.
pub(crate) trait Sink {
    fn found(&mut self, item: Found);
}

const HARD: u8 = 1;
const DOT: u8 = 2;
const COLON: u8 = 4;
const SLASH: u8 = 8;
const AT: u8 = 16;
const SOFT: u8 = 32;

/// Builds the class of each byte. `HARD` ends a word and `SOFT` ends a
/// segment. The other classes mark the separators that make a segment worth a
/// closer look.
const fn class_table() -> [u8; 256] {
    let mut table = [SOFT; 256];
    let mut c = 0;
    while c < 256 {
        let byte = c as u8;
        table[c] = if byte >= 0x80 || byte < 0x20 || byte == 0x7f {
            HARD
        } else if byte.is_ascii_alphanumeric() {
            0
        } else {
            match byte {
                b' ' | b'"' | b'\'' | b'`' | b'<' | b'>' | b'\\' | b'|' | b'^' | b'{' | b'}' => {
                    HARD
                }
                b'-' | b'_' | b'+' | b'$' | b'~' => 0,
                b'.' => DOT,
                b':' => COLON,
                b'/' => SLASH,
                b'@' => AT,
                _ => SOFT,
            }
        };
        c += 1;
    }
    table
}

static CLASS: [u8; 256] = class_table();

/// Labels before a 32-hex-digit value that name a hash of something other than
/// the file's bytes: the PE import table (`IMPHASH`, as Sysmon writes it) or
/// the Authenticode digest (`PESHA1`, `PESHA256`, `Authentihash`). Such
/// values are not MD5/SHA file hashes, so they are skipped.
const NON_FILE_HASH_LABELS: [&str; 4] = ["authentihash", "imphash", "pesha1", "pesha256"];

/// Words before a dotted-quad number that make it a version, not an address
/// (`version 1.2.0.4`, `FileVersion: 10.0.1.1`, `build 6.1.7.6`).
const VERSION_WORDS: [&str; 5] = ["build", "release", "v", "ver", "version"];

/// Scans `text` (already refanged) and hands every candidate to `sink`.
pub(crate) fn scan(text: &str, sink: &mut impl Sink) {
    Scanner { text, sink }.run();
}

struct Scanner<'t, 's, S> {
    text: &'t str,
    sink: &'s mut S,
}

impl<S: Sink> Scanner<'_, '_, S> {
    fn run(&mut self) {
        let bytes = self.text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if CLASS[usize::from(bytes[i])] & HARD != 0 {
                i += 1;
                continue;
            }
            let start = i;
            let mut mask = 0;
            while i < bytes.len() {
                let class = CLASS[usize::from(bytes[i])];
                if class & HARD != 0 {
                    break;
                }
                mask |= class;
                i += 1;
            }
            if bytes.get(i) == Some(&b'\\')
                && let Some(end) = self.registry_key(start, i)
            {
                i = end;
                continue;
            }
            self.word(start, i, mask);
        }
    }

    /// Reads a registry key when the word `start..end` is a hive name and a
    /// backslash follows. Returns where the key ends.
    fn registry_key(&mut self, start: usize, end: usize) -> Option<usize> {
        let word = &self.text[start..end];
        let (hive, at) = match registry::hive(word) {
            Some(hive) => (hive, end),
            None if start > 0
                && self.text.as_bytes()[start - 1] == b'\\'
                && word.eq_ignore_ascii_case("registry") =>
            {
                registry::kernel_hive(self.text, start)?
            }
            None => return None,
        };
        let (key, key_end) = registry::read_key(self.text, hive, at)?;
        self.sink.found(Found::RegistryKey(key));
        Some(key_end)
    }

    /// Handles one word; `mask` is the union of its byte classes.
    fn word(&mut self, start: usize, end: usize, mask: u8) {
        if end - start < 3 {
            return;
        }
        if mask & (DOT | COLON | SLASH | AT) == 0 {
            if end - start >= 32 {
                self.segments(start, end);
            }
            return;
        }
        if mask & COLON != 0
            && let Some(offset) = memmem::find(&self.text.as_bytes()[start..end], b"://")
        {
            self.url_word(start, end, start + offset);
            return;
        }
        if mask & SOFT == 0 {
            self.segment(start, end, mask);
        } else {
            self.segments(start, end);
        }
    }

    /// Handles a word with a `://` at `separator`. What precedes the scheme is
    /// plain segments. The URL runs to the word's end, or to a `,` or `;` that
    /// starts another URL, so a `://` later in the URL (`/L0/http:%2F%2F…`,
    /// `?u=http://…`) stays inside it. A URL that does not parse falls back to
    /// segments.
    fn url_word(&mut self, start: usize, end: usize, separator: usize) {
        let bytes = self.text.as_bytes();
        let Some(url_start) = scheme_start(bytes, start, separator) else {
            self.segments(start, separator + 1);
            self.subword(separator + 3, end);
            return;
        };
        if url_start > start {
            self.segments(start, url_start);
        }

        let mut url_end = end;
        let mut search = separator + 3;
        while let Some(offset) = memmem::find(&bytes[search..end], b"://") {
            let next = search + offset;
            if let Some(next_start) = scheme_start(bytes, search, next)
                && next_start > search
                && matches!(bytes[next_start - 1], b',' | b';')
            {
                url_end = next_start - 1;
                break;
            }
            search = next + 3;
        }

        let candidate = trim_end(&self.text[url_start..url_end]);
        let candidate_end = url_start + candidate.len();
        match parse_url(candidate) {
            Some(url) if candidate.len() <= MAX_URL_LEN => self.sink.found(Found::Url(url)),
            Some(url) => self.sink.found(Found::UrlHost(url)),
            None => self.segments(url_start, candidate_end),
        }
        if candidate_end < end {
            self.subword(candidate_end, end);
        }
    }

    /// Handles part of a word as a word of its own.
    fn subword(&mut self, start: usize, end: usize) {
        if start >= end {
            return;
        }
        let mask = self.text.as_bytes()[start..end]
            .iter()
            .fold(0, |mask, &c| mask | CLASS[usize::from(c)]);
        self.word(start, end, mask);
    }

    /// Cuts `start..end` at `SOFT` bytes and handles each segment.
    fn segments(&mut self, start: usize, end: usize) {
        let bytes = self.text.as_bytes();
        let mut i = start;
        while i < end {
            while i < end && CLASS[usize::from(bytes[i])] & SOFT != 0 {
                i += 1;
            }
            let segment_start = i;
            let mut mask = 0;
            while i < end {
                let class = CLASS[usize::from(bytes[i])];
                if class & SOFT != 0 {
                    break;
                }
                mask |= class;
                i += 1;
            }
            // Most segments of log text are plain words: only a separator or
            // the length of a hash, give or take trimmed edges (`-`, `_`),
            // makes one worth a closer look.
            let worth_a_look =
                mask & (DOT | COLON | SLASH | AT) != 0 || (32..=72).contains(&(i - segment_start));
            if worth_a_look {
                self.segment(segment_start, i, mask);
            }
        }
    }

    /// Returns `start..end` without leading and trailing `. - / @ +` (and `:`
    /// when `colons` is set), and without a `_` pair around it (Markdown
    /// emphasis). Colons stay for IPv6 (`::1`, `2001:db8::`).
    fn trim(&self, mut start: usize, mut end: usize, colons: bool) -> (usize, usize) {
        let bytes = self.text.as_bytes();
        let edge = |c: u8| matches!(c, b'.' | b'-' | b'/' | b'@' | b'+') || (colons && c == b':');
        while start < end && edge(bytes[start]) {
            start += 1;
        }
        while end > start && edge(bytes[end - 1]) {
            end -= 1;
        }
        if end - start >= 2 && bytes[start] == b'_' && bytes[end - 1] == b'_' {
            start += 1;
            end -= 1;
        }
        (start, end)
    }

    // The segment functions take `mask`, the byte classes of a larger span:
    // a class missing from it is missing from the segment, so the search for
    // that separator can be skipped.

    fn segment(&mut self, start: usize, end: usize, mask: u8) {
        let (start, end) = self.trim(start, end, false);
        let segment = &self.text[start..end];
        if segment.is_empty() {
            return;
        }
        if mask & COLON == 0 || !segment.contains(':') {
            self.segment_without_colon(start, end, mask);
            return;
        }
        if mask & SLASH != 0
            && segment.contains('/')
            && let Some(cidr) = parse_cidr(segment)
            && cidr.network.is_ipv6()
        {
            self.sink.found(Found::Cidr(cidr));
            return;
        }
        if let Some(ip) = parse_ipv6_in_text(segment) {
            self.sink.found(Found::Ip(IpAddr::V6(ip)));
            return;
        }
        self.split_at(start, end, mask, COLON, Self::segment_without_colon);
    }

    fn segment_without_colon(&mut self, start: usize, end: usize, mask: u8) {
        let (start, end) = self.trim(start, end, true);
        let segment = &self.text[start..end];
        if mask & SLASH == 0 || !segment.contains('/') {
            self.segment_without_slash(start, end, mask);
            return;
        }
        if let Some(cidr) = parse_cidr(segment) {
            self.sink.found(Found::Cidr(cidr));
            return;
        }
        self.split_at(start, end, mask, SLASH, Self::segment_without_slash);
    }

    fn segment_without_slash(&mut self, start: usize, end: usize, mask: u8) {
        let (start, end) = self.trim(start, end, true);
        let segment = &self.text[start..end];
        if mask & AT == 0 || !segment.contains('@') {
            self.leaf(start, end, mask);
            return;
        }
        if let Some((address, domain)) = parse_email(segment) {
            self.sink.found(Found::Email { address, domain });
            return;
        }
        self.split_at(start, end, mask, AT, Self::leaf);
    }

    /// Cuts `start..end` at the separator whose class is `class` and hands
    /// each part to `next`.
    fn split_at(
        &mut self,
        start: usize,
        end: usize,
        mask: u8,
        class: u8,
        next: fn(&mut Self, usize, usize, u8),
    ) {
        let separator = match class {
            COLON => b':',
            SLASH => b'/',
            _ => b'@',
        };
        let mask = mask & !class;
        let bytes = self.text.as_bytes();
        let mut part_start = start;
        let ends = (start..end)
            .filter(|&i| bytes[i] == separator)
            .chain(std::iter::once(end));
        for i in ends {
            if part_start < i {
                next(self, part_start, i, mask);
            }
            part_start = i + 1;
        }
    }

    /// Tries a segment with no `:`, `/` or `@` as a hash, IPv4 address, file
    /// name or domain.
    fn leaf(&mut self, start: usize, end: usize, mask: u8) {
        let (start, end) = self.trim(start, end, true);
        let leaf = &self.text[start..end];
        if leaf.len() < 3 {
            return;
        }
        let last_dot = if mask & DOT == 0 {
            None
        } else {
            leaf.rfind('.')
        };
        let Some(last_dot) = last_dot else {
            if let Some(kind) = hash_kind(leaf)
                && !self.word_before_is(start, &NON_FILE_HASH_LABELS)
            {
                self.sink
                    .found(Found::Hash(kind, leaf.to_ascii_lowercase()));
            }
            return;
        };
        if leaf.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
            if let Some(ip) = parse_ipv4(leaf)
                && !self.word_before_is(start, &VERSION_WORDS)
            {
                self.sink.found(Found::Ip(IpAddr::V4(ip)));
            }
            return;
        }
        if is_file_extension(&leaf[last_dot + 1..]) {
            if let Some(name) = parse_filename(leaf) {
                self.sink.found(Found::Filename(name.to_owned()));
            }
            return;
        }
        if let Some(domain) = parse_domain(leaf) {
            self.sink.found(Found::Domain(domain));
        }
    }

    /// Returns whether the word just before `at`, past spaces and one `:` or
    /// `=`, is one of `words` (lowercase, compared without case).
    fn word_before_is(&self, at: usize, words: &[&str]) -> bool {
        let bytes = self.text.as_bytes();
        let mut end = at;
        while end > 0 && bytes[end - 1] == b' ' {
            end -= 1;
        }
        if end > 0 && matches!(bytes[end - 1], b':' | b'=') {
            end -= 1;
        }
        while end > 0 && bytes[end - 1] == b' ' {
            end -= 1;
        }
        let mut start = end;
        while start > 0 && end - start < 16 && bytes[start - 1].is_ascii_alphanumeric() {
            start -= 1;
        }
        let word = &self.text[start..end];
        words.iter().any(|candidate| {
            word.eq_ignore_ascii_case(candidate)
                || (*candidate == "version"
                    && word.len() > candidate.len()
                    && word[word.len() - candidate.len()..].eq_ignore_ascii_case(candidate))
        })
    }
}
