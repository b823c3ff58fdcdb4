//! Output forms of an indicator: the defanged form every chat message uses,
//! and JSON lines for `huntbridge iocs`.

use std::io::{self, Write};

use serde::Serialize;

use super::name::is_public_tld;
use super::url::{UrlParts, embedded_url_start, split_url};
use super::{Ioc, IocFlag, IocKind};

impl Ioc {
    /// Returns the defanged form, which no chat client renders as a live link:
    /// - URL: `http` becomes `hxxp`, `https` `hxxps`, `ftp` `fxp` and `ftps`
    ///   `fxps`; every dot of the host becomes `[.]`. In the path, query and
    ///   fragment, a URL inside (`?u=https://…`) is defanged the same way,
    ///   and so are IPv4 addresses and names ending in a public top-level
    ///   domain, which chat clients link even without a scheme. Other dots
    ///   of the path (`/launcher.sct`) stay.
    /// - Domain and IPv4 address (also as a CIDR): every dot becomes `[.]`.
    /// - E-mail: `@` becomes `[@]` and the dots of the domain `[.]`.
    /// - File name whose extension is also a top-level domain (`report.zip`,
    ///   `setup.py`): every dot becomes `[.]`, as clients link such names.
    /// - IPv6 address and CIDR, other file names, hashes and registry keys
    ///   stay as they are. No chat client turns a bare IPv6 address into a
    ///   link, and `[:]` in every group would make it hard to read.
    pub fn defanged(&self) -> String {
        match self.kind {
            IocKind::Domain | IocKind::Ipv4 | IocKind::Cidr => defang_dots(&self.value),
            IocKind::Url => defang_url(&self.value),
            IocKind::Email => match self.value.split_once('@') {
                Some((local, domain)) => format!("{local}[@]{}", defang_dots(domain)),
                None => self.value.clone(),
            },
            IocKind::Filename => {
                if ends_in_public_tld(&self.value) {
                    defang_dots(&self.value)
                } else {
                    self.value.clone()
                }
            }
            IocKind::Ipv6
            | IocKind::Md5
            | IocKind::Sha1
            | IocKind::Sha256
            | IocKind::RegistryKey => self.value.clone(),
        }
    }
}

fn defang_dots(text: &str) -> String {
    text.replace('.', "[.]")
}

fn defang_url(url: &str) -> String {
    let Some(UrlParts {
        scheme,
        userinfo,
        host_port,
        tail,
    }) = split_url(url)
    else {
        return url.to_owned();
    };
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => "hxxp",
        "https" => "hxxps",
        "ftp" => "fxp",
        "ftps" => "fxps",
        _ => scheme,
    };

    let mut out = String::with_capacity(url.len() + 16);
    out.push_str(scheme);
    out.push_str("://");
    if let Some(userinfo) = userinfo {
        out.push_str(userinfo);
        out.push_str("[@]");
    }
    if host_port.starts_with('[') {
        out.push_str(host_port);
    } else {
        out.push_str(&defang_dots(host_port));
    }
    out.push_str(&defang_url_tail(tail));
    out
}

/// Defangs what a client could link in the path, query and fragment of a
/// URL: a URL inside it (recursively), then names and IPv4 addresses.
fn defang_url_tail(tail: &str) -> String {
    match embedded_url_start(tail) {
        Some(start) => {
            let mut out = defang_linkable_names(&tail[..start]);
            out.push_str(&defang_url(&tail[start..]));
            out
        }
        None => defang_linkable_names(tail),
    }
}

/// Defangs the dots of each run of letters, digits, `-` and `.` that is an
/// IPv4 address or a name whose last label is a public top-level domain.
fn defang_linkable_names(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(start) = rest.find(is_name_char) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
        let run = &rest[..end];
        let name = run.trim_matches('.');
        if name.parse::<std::net::Ipv4Addr>().is_ok() || ends_in_public_tld(name) {
            out.push_str(&defang_dots(run));
        } else {
            out.push_str(run);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.'
}

/// Checks whether the text after the last dot of `text` is a public
/// top-level domain (`report.zip`, `inner.example.net`).
fn ends_in_public_tld(text: &str) -> bool {
    text.rsplit_once('.')
        .is_some_and(|(_, last)| is_public_tld(&last.to_ascii_lowercase()))
}

/// One line of `huntbridge iocs` output.
#[derive(Serialize)]
struct JsonLine<'a> {
    #[serde(rename = "type")]
    kind: IocKind,
    value: &'a str,
    defanged: String,
    flags: &'a [IocFlag],
}

/// Writes one JSON object a line, in the order given: `type` (the
/// [`IocKind`] name), `value` (refanged), `defanged` and `flags` (an array of
/// [`IocFlag`] names, empty when there is no reason not to block).
pub fn write_json_lines(iocs: &[Ioc], out: &mut impl Write) -> io::Result<()> {
    for ioc in iocs {
        let line = JsonLine {
            kind: ioc.kind,
            value: &ioc.value,
            defanged: ioc.defanged(),
            flags: &ioc.flags,
        };
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
