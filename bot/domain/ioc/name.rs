//! Names and digests: domains, e-mail addresses, file names and hashes, with
//! the rules that keep file names, AV signature names and code identifiers
//! out of the domain list.

use super::{IocFlag, IocKind, MAX_DOMAIN_LEN, MAX_EMAIL_LEN, MAX_FILENAME_LEN, MAX_LABEL_LEN};

/// Reserved and organization-internal names (a suffix and the names under it)
/// with the flag each earns. None of these top-level names is delegated in the
/// public DNS, so each is accepted as a domain here although the Public Suffix
/// List does not contain it.
const RESERVED_NAMES: [(&str, IocFlag); 16] = [
    // Documentation and testing names, RFC 2606.
    ("example", IocFlag::Documentation),
    ("example.com", IocFlag::Documentation),
    ("example.net", IocFlag::Documentation),
    ("example.org", IocFlag::Documentation),
    ("test", IocFlag::Documentation),
    // Never resolves, RFC 2606 and RFC 6761.
    ("invalid", IocFlag::Reserved),
    // Resolves to loopback, RFC 6761.
    ("localhost", IocFlag::Loopback),
    // Multicast DNS names, RFC 6762, and the usual Active Directory suffix.
    ("local", IocFlag::Private),
    // Residential networks, RFC 8375.
    ("home.arpa", IocFlag::Private),
    // Names used on private networks: RFC 6762 appendix G lists intranet,
    // internal, private, corp, home and lan. localdomain is the /etc/hosts
    // convention of many Linux distributions.
    ("internal", IocFlag::Private),
    ("intranet", IocFlag::Private),
    ("private", IocFlag::Private),
    ("corp", IocFlag::Private),
    ("home", IocFlag::Private),
    ("lan", IocFlag::Private),
    // Azure's internal DNS suffix for virtual machines in a virtual network;
    // Microsoft's docs ("Name resolution for resources in Azure virtual
    // networks") describe it. Those names never resolve from the internet.
    ("internal.cloudapp.net", IocFlag::Private),
];

/// The internal suffix that `/etc/hosts` files use; kept apart from the table
/// above only to keep that table to RFC-backed names.
const LOCALDOMAIN: &str = "localdomain";

/// File extensions that make a dotted name a file name. A name whose last
/// label is on this list is a file name even where that label is also a
/// top-level domain, because in hunt notes and telemetry `setup.py` and
/// `report.zip` are files far more often than hosts. In the list compiled into
/// `psl`, `cab`, `dot`, `mov`, `pf`, `py`, `sh`, `so` and `zip` are both.
/// Extensions that are mostly seen as domains are left off on purpose: `com`,
/// `app`, `one`, `cc`, `pl`, `rs`, `md`, `ps`, `ws`, `run` and `pub`.
/// Sorted, for binary search.
#[rustfmt::skip]
const FILE_EXTENSIONS: [&str; 164] = [
    "7z", "ace", "apk", "appx", "appxbundle", "arj", "asax", "ascx", "ashx", "asmx", "asp", "aspx",
    "avi", "bak", "bash", "bat", "bin", "bmp", "bz2", "cab", "cer", "cfg", "cgi", "chm", "class",
    "cmd", "conf", "config", "cpl", "crt", "csproj", "csv", "dat", "db", "deb", "der", "dex",
    "dll", "dmg", "dmp", "doc", "docm", "docx", "dot", "dotm", "dotx", "drv", "dylib", "ear",
    "elf", "eml", "etl", "evt", "evtx", "exe", "gadget", "gif", "gz", "hlp", "hta", "htm", "html",
    "ico", "img", "inf", "ini", "iqy", "iso", "jar", "jpeg", "jpg", "js", "jse", "json", "jsp",
    "jspx", "ko", "lha", "lnk", "log", "lzh", "mdmp", "mht", "mhtml", "mkv", "mov", "mp3", "mp4",
    "msc", "msg", "msi", "msix", "msp", "mst", "ocx", "odp", "ods", "odt", "ost", "p12", "pcap",
    "pcapng", "pdb", "pdf", "pem", "pf", "pfx", "php", "phtml", "pif", "pkg", "png", "pps", "ppsm",
    "ppsx", "ppt", "pptm", "pptx", "ps1", "psd1", "psm1", "pst", "py", "pyc", "pyw", "rar", "rb",
    "reg", "rpm", "rtf", "scf", "scr", "sct", "sh", "slk", "so", "sqlite", "svg", "sys", "tar",
    "tgz", "tmp", "txt", "url", "vbe", "vbs", "vhd", "vhdx", "wav", "wsc", "wsf", "wsh", "xla",
    "xlam", "xll", "xls", "xlsb", "xlsm", "xlsx", "xml", "xz", "yaml", "yml", "zip",
];

/// Labels that mark a dotted name as an antivirus signature name
/// (`HEUR:Trojan.Win32.Generic`, `Win.Trojan.Agent-123`,
/// `Trojan-Downloader.Win32.Agent.app`), never a host. Compared without case.
const AV_SIGNATURE_LABELS: [&str; 26] = [
    "adware",
    "backdoor",
    "exploit",
    "hacktool",
    "heur",
    "msil",
    "not-a-virus",
    "packed",
    "pua",
    "ransom",
    "riskware",
    "rootkit",
    "spyware",
    "trojan",
    "trojan-downloader",
    "trojan-dropper",
    "trojan-psw",
    "trojan-ransom",
    "trojan-spy",
    "trojandownloader",
    "trojandropper",
    "virus",
    "w32",
    "win32",
    "win64",
    "worm",
];

/// Returns whether `label` (any case) is on the file extension list.
pub(crate) fn is_file_extension(label: &str) -> bool {
    let mut lower = [0u8; 16];
    let Some(slot) = lower.get_mut(..label.len()) else {
        return false;
    };
    slot.copy_from_slice(label.as_bytes());
    slot.make_ascii_lowercase();
    let Ok(lower) = std::str::from_utf8(slot) else {
        return false;
    };
    FILE_EXTENSIONS.binary_search(&lower).is_ok()
}

/// Returns whether `tld` (lowercase) is a top-level domain in the Public
/// Suffix List compiled into the `psl` crate.
pub(crate) fn is_public_tld(tld: &str) -> bool {
    psl::suffix(tld.as_bytes()).is_some_and(|suffix| suffix.is_known())
}

/// Returns the flag that a reserved or internal name earns, if `domain`
/// (lowercase) is or lies under one.
pub(crate) fn reserved_name_flag(domain: &str) -> Option<IocFlag> {
    if is_under(domain, LOCALDOMAIN) {
        return Some(IocFlag::Private);
    }
    RESERVED_NAMES
        .iter()
        .find(|(suffix, _)| is_under(domain, suffix))
        .map(|(_, flag)| *flag)
}

/// Returns whether `domain` equals `suffix` or is a subdomain of it.
pub(crate) fn is_under(domain: &str, suffix: &str) -> bool {
    domain
        .strip_suffix(suffix)
        .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
}

fn is_reserved_tld(tld: &str) -> bool {
    tld == LOCALDOMAIN || tld == "arpa" || RESERVED_NAMES.iter().any(|(name, _)| *name == tld)
}

/// Parses a domain name and returns it lowercase. A domain has two or more
/// labels of letters, digits, `-` and `_`, and no label starts or ends with
/// `-`. Labels have at most 63 bytes and the name at most 253. The last label
/// is a top-level domain in the Public Suffix List or a reserved or internal
/// name from the table above.
///
/// Rejected: names with an AV signature label, and .NET-style identifiers.
/// Under a TLD newer than the 2012 expansion (such as the brand TLD
/// `.windows`), a name whose TLD is written capitalized (`Microsoft.Windows`)
/// or that has a camelCase label is an identifier.
pub(crate) fn parse_domain(text: &str) -> Option<String> {
    let text = text.strip_suffix('.').unwrap_or(text);
    if text.len() < 3 || text.len() > MAX_DOMAIN_LEN || !text.is_ascii() {
        return None;
    }

    let (_, tld) = text.rsplit_once('.')?;
    let tld_ok = tld.len() >= 2
        && (tld.bytes().all(|c| c.is_ascii_alphabetic())
            || (tld.len() > 4
                && tld[..4].eq_ignore_ascii_case("xn--")
                && tld.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')));
    if !tld_ok {
        return None;
    }

    for label in text.split('.') {
        let valid = !label.is_empty()
            && label.len() <= MAX_LABEL_LEN
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
        if !valid {
            return None;
        }
    }

    let lower = text.to_ascii_lowercase();
    let tld = &lower[lower.len() - tld.len()..];
    if !is_reserved_tld(tld) && !is_public_tld(tld) {
        return None;
    }
    if lower
        .split('.')
        .any(|label| AV_SIGNATURE_LABELS.contains(&label))
    {
        return None;
    }

    let written_tld = &text[text.len() - tld.len()..];
    let brand_tld = tld.len() > 2 && !LEGACY_GTLDS.contains(&tld);
    if brand_tld && (is_capitalized(written_tld) || text.split('.').any(is_camel_case)) {
        return None;
    }
    Some(lower)
}

/// The common generic top-level domains from before the 2012 expansion. A
/// camelCase name under one of these (`PayPal-Login.com`) is still a domain.
const LEGACY_GTLDS: [&str; 8] = ["biz", "com", "edu", "gov", "info", "mil", "net", "org"];

/// Returns whether `label` is written with a capital first letter and a
/// lowercase letter after it (`Windows`), the way code identifiers such as
/// `Microsoft.Windows` are written and top-level domains are not.
fn is_capitalized(label: &str) -> bool {
    let bytes = label.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_uppercase)
        && bytes[1..].iter().any(u8::is_ascii_lowercase)
}

/// Returns whether `label` has a lowercase letter directly followed by an
/// uppercase one (`PowerShell`, `GetType`), the shape of a code identifier
/// such as `Microsoft.PowerShell.x`.
fn is_camel_case(label: &str) -> bool {
    label
        .as_bytes()
        .windows(2)
        .any(|pair| pair[0].is_ascii_lowercase() && pair[1].is_ascii_uppercase())
}

/// Parses a file name: a stem of letters, digits and `_ - . $ ~ +` that
/// contains a letter or digit, then an extension from the list above. Keeps
/// the case as written.
pub(crate) fn parse_filename(text: &str) -> Option<&str> {
    if text.len() > MAX_FILENAME_LEN {
        return None;
    }
    let (stem, extension) = text.rsplit_once('.')?;
    if !is_file_extension(extension) || stem.contains("..") {
        return None;
    }
    let stem_ok = stem.bytes().any(|c| c.is_ascii_alphanumeric())
        && stem
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"_-.$~+".contains(&c));
    stem_ok.then_some(text)
}

/// Parses an e-mail address and returns it lowercase with its domain. The
/// local part has letters, digits and `. _ % + -`, at most 64 bytes, with no
/// leading, trailing or doubled dot. The whole address is lowercased, as mail
/// providers treat local parts without case in practice, although RFC 5321
/// lets a server tell them apart.
pub(crate) fn parse_email(text: &str) -> Option<(String, String)> {
    if text.len() > MAX_EMAIL_LEN {
        return None;
    }
    let (local, domain) = text.split_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._%+-".contains(&c));
    if !local_ok {
        return None;
    }
    let domain = parse_domain(domain)?;
    let address = format!("{}@{domain}", local.to_ascii_lowercase());
    Some((address, domain))
}

/// Returns the hash kind of a run of hex digits by its length: 32 is MD5, 40
/// SHA-1 and 64 SHA-256. Runs of one repeated digit (`000…0`) and runs of
/// decimal digits only are placeholders or counters, not digests.
pub(crate) fn hash_kind(text: &str) -> Option<IocKind> {
    let kind = match text.len() {
        32 => IocKind::Md5,
        40 => IocKind::Sha1,
        64 => IocKind::Sha256,
        _ => return None,
    };
    let bytes = text.as_bytes();
    if !bytes.iter().all(u8::is_ascii_hexdigit)
        || bytes.iter().all(u8::is_ascii_digit)
        || bytes.iter().all(|&c| c == bytes[0])
    {
        return None;
    }
    Some(kind)
}
