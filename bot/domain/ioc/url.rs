//! URLs: where a URL starts and ends in a word, its scheme and host, and the
//! normalized value (scheme and host lowercase, host canonical, the rest as
//! written).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::name::parse_domain;
use super::net::{parse_ipv4, parse_ipv6};

/// The host part of a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    /// A domain as [`parse_domain`] accepts it, lowercase.
    Domain(String),
    /// A single-label name (`http://intranet/`, `http://localhost:8080/`),
    /// lowercase. It is not a domain indicator of its own.
    Name(String),
    /// No host, as in `file:///C:/Users/x/payload.exe`.
    Empty,
}

/// A parsed URL: the normalized value and its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedUrl {
    pub value: String,
    pub host: Host,
}

/// Maximum length of a scheme name. Registered schemes are far shorter; the
/// cap keeps a long run of letters before `://` from passing as one.
const MAX_SCHEME_LEN: usize = 32;

fn is_scheme_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'-' | b'.')
}

/// Returns the offset where the scheme before the `://` at `separator`
/// starts. The scheme is the longest run of scheme characters that begins with
/// a letter and lies within `bytes[floor..separator]`. A scheme has at least two characters, so a drive
/// letter (`C://`) is not one.
pub(crate) fn scheme_start(bytes: &[u8], floor: usize, separator: usize) -> Option<usize> {
    let mut start = separator;
    while start > floor && is_scheme_byte(bytes[start - 1]) {
        start -= 1;
    }
    while start < separator && !bytes[start].is_ascii_alphabetic() {
        start += 1;
    }
    let len = separator - start;
    (2..=MAX_SCHEME_LEN).contains(&len).then_some(start)
}

/// Trims what follows a URL in prose: trailing `. , ; : ! ? ' *` and closing
/// brackets that have no opening bracket inside the URL (`(see http://x/a)`).
pub(crate) fn trim_end(url: &str) -> &str {
    trim_prose_end(url, b".,;:!?'*")
}

/// Trims trailing bytes in `punctuation`, and `)` or `]` while the text has
/// more closing than opening ones of that kind. Linear in the length of
/// `text`, however many brackets it ends with.
pub(crate) fn trim_prose_end<'a>(text: &'a str, punctuation: &[u8]) -> &'a str {
    let bytes = text.as_bytes();
    let count = |c: u8| bytes.iter().filter(|&&b| b == c).count();
    let (open_parens, mut close_parens) = (count(b'('), count(b')'));
    let (open_brackets, mut close_brackets) = (count(b'['), count(b']'));
    let mut end = bytes.len();
    while end > 0 {
        let last = bytes[end - 1];
        let trim = if punctuation.contains(&last) {
            true
        } else if last == b')' && close_parens > open_parens {
            close_parens -= 1;
            true
        } else if last == b']' && close_brackets > open_brackets {
            close_brackets -= 1;
            true
        } else {
            false
        };
        if !trim {
            break;
        }
        end -= 1;
    }
    &text[..end]
}

/// Maps the defanged schemes hunters write to the real ones: `hxxp` and
/// `hxxps` in any case, `fxp` and `fxps`. Returns the scheme lowercase.
fn refang_scheme(scheme: &str) -> String {
    let lower = scheme.to_ascii_lowercase();
    match lower.as_str() {
        "hxxp" => "http".to_owned(),
        "hxxps" => "https".to_owned(),
        "fxp" => "ftp".to_owned(),
        "fxps" => "ftps".to_owned(),
        _ => lower,
    }
}

/// The parts of `scheme://[userinfo@]host[:port][tail]`, as written.
pub(crate) struct UrlParts<'a> {
    pub scheme: &'a str,
    pub userinfo: Option<&'a str>,
    pub host_port: &'a str,
    /// Path, query and fragment: everything from the first `/`, `?` or `#`
    /// after the scheme.
    pub tail: &'a str,
}

/// Splits a URL at `://`, at the end of its authority and at the last `@`
/// of the authority. Returns `None` without `://`.
pub(crate) fn split_url(text: &str) -> Option<UrlParts<'_>> {
    let (scheme, rest) = text.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    };
    Some(UrlParts {
        scheme,
        userinfo,
        host_port,
        tail,
    })
}

/// Parses `scheme://authority[path]` and returns the normalized URL. The
/// host must be an IPv4 address, a bracketed IPv6 address, a domain or a
/// single-label name, and only a `file` URL may have no host. A port has one to five
/// digits and is at most 65535.
pub(crate) fn parse_url(text: &str) -> Option<ParsedUrl> {
    let UrlParts {
        scheme,
        userinfo,
        host_port,
        tail,
    } = split_url(text)?;
    let scheme = refang_scheme(scheme);

    let (host_text, port) = split_port(host_port)?;
    let host = parse_host(host_text, &scheme)?;

    let mut value = String::with_capacity(text.len());
    value.push_str(&scheme);
    value.push_str("://");
    if let Some(userinfo) = userinfo {
        value.push_str(userinfo);
        value.push('@');
    }
    match &host {
        Host::Ipv4(ip) => value.push_str(&ip.to_string()),
        Host::Ipv6(ip) => {
            value.push('[');
            value.push_str(&ip.to_string());
            value.push(']');
        }
        Host::Domain(name) | Host::Name(name) => value.push_str(name),
        Host::Empty => {}
    }
    if let Some(port) = port {
        value.push(':');
        value.push_str(port);
    }
    value.push_str(tail);
    Some(ParsedUrl { value, host })
}

/// Splits `host[:port]` and `[v6][:port]`. Returns `None` for a port that is
/// not a number from 0 to 65535.
fn split_port(host_port: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if host_port.starts_with('[') {
        let close = host_port.find(']')?;
        let after = &host_port[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => return None,
        };
        (&host_port[..=close], port)
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if let Some(port) = port {
        let valid = (1..=5).contains(&port.len())
            && port.bytes().all(|c| c.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|n| n <= 65535);
        if !valid {
            return None;
        }
    }
    Some((host, port))
}

fn parse_host(host: &str, scheme: &str) -> Option<Host> {
    if host.is_empty() {
        return (scheme == "file").then_some(Host::Empty);
    }
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']')?;
        return parse_ipv6(inner).map(Host::Ipv6);
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return parse_ipv4(host).map(Host::Ipv4);
    }
    if host.contains('.') {
        return parse_domain(host).map(Host::Domain);
    }
    let single_label = host.len() <= super::MAX_LABEL_LEN
        && host.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
        && !host.starts_with('-')
        && !host.ends_with('-');
    single_label.then(|| Host::Name(host.to_ascii_lowercase()))
}

/// Schemes that chat clients link, longest first so `https` wins over `http`.
const LINKED_SCHEMES: [&str; 4] = ["https", "http", "ftps", "ftp"];

/// Returns where the first `scheme://` of a linked scheme starts in `text`,
/// such as the URL in the query of a redirect (`?u=https://…`).
pub(crate) fn embedded_url_start(text: &str) -> Option<usize> {
    text.match_indices("://").find_map(|(separator, _)| {
        let before = &text.as_bytes()[..separator];
        LINKED_SCHEMES
            .iter()
            .find(|scheme| {
                before.len() >= scheme.len()
                    && before[before.len() - scheme.len()..].eq_ignore_ascii_case(scheme.as_bytes())
            })
            .map(|scheme| separator - scheme.len())
    })
}

/// Returns the URL inside the path, query or fragment of `url`, up to the
/// next `&` (which ends a query parameter when the URL is not encoded).
pub(crate) fn nested_url(url: &str) -> Option<&str> {
    let tail = split_url(url)?.tail;
    let inner = &tail[embedded_url_start(tail)?..];
    inner.split('&').next()
}
