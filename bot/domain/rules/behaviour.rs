//! Tables of Windows binaries and command-line features for the rule
//! generator: the proxy-execution binaries, the script interpreters and
//! engines, and the command-line features that the process rules generalise.
//!
//! The tables are deliberately short. A binary that is not in them still
//! gets rules from its indicators, but no behaviour rule.

use std::sync::OnceLock;

use regex::Regex;

/// A signed Windows binary that attackers use to run their code (ATT&CK
/// System Binary Proxy Execution and relatives).
#[derive(Debug)]
pub(super) struct ProxyBinary {
    /// File name, lowercase.
    pub image: &'static str,
    /// The `OriginalFileName` of its version resource, which survives renaming.
    pub original_file_name: &'static str,
    /// ATT&CK technique of its abuse.
    pub technique: &'static str,
    /// Whether loading a script engine (`scrobj.dll`, `jscript.dll`…) is out
    /// of the ordinary for it. False for binaries that load them for their
    /// normal work, such as mshta.exe and msiexec.exe.
    pub script_engine_load_is_suspicious: bool,
}

pub(super) const PROXY_BINARIES: [ProxyBinary; 11] = [
    proxy("regsvr32.exe", "REGSVR32.EXE", "T1218.010", true),
    proxy("rundll32.exe", "RUNDLL32.EXE", "T1218.011", true),
    proxy("mshta.exe", "MSHTA.EXE", "T1218.005", false),
    proxy("msiexec.exe", "msiexec.exe", "T1218.007", false),
    proxy("cmstp.exe", "CMSTP.EXE", "T1218.003", false),
    proxy("odbcconf.exe", "odbcconf.exe", "T1218.008", false),
    proxy("regasm.exe", "RegAsm.exe", "T1218.009", false),
    proxy("regsvcs.exe", "RegSvcs.exe", "T1218.009", false),
    proxy("installutil.exe", "InstallUtil.exe", "T1218.004", false),
    proxy("control.exe", "CONTROL.EXE", "T1218.002", false),
    proxy("msbuild.exe", "MSBuild.exe", "T1127.001", false),
];

const fn proxy(
    image: &'static str,
    original_file_name: &'static str,
    technique: &'static str,
    script_engine_load_is_suspicious: bool,
) -> ProxyBinary {
    ProxyBinary {
        image,
        original_file_name,
        technique,
        script_engine_load_is_suspicious,
    }
}

/// Returns the proxy binary with this lowercase file name.
pub(super) fn proxy_binary(image: &str) -> Option<&'static ProxyBinary> {
    PROXY_BINARIES.iter().find(|binary| binary.image == image)
}

/// A family of script interpreters or shells that a rule matches as one.
#[derive(Debug)]
pub(super) struct Interpreter {
    /// File names, lowercase.
    pub images: &'static [&'static str],
    pub original_file_names: &'static [&'static str],
    /// ATT&CK technique of its use, when one fits the whole family.
    pub technique: Option<&'static str>,
}

pub(super) const POWERSHELL: Interpreter = Interpreter {
    images: &["powershell.exe", "pwsh.exe"],
    original_file_names: &["PowerShell.EXE", "pwsh.dll"],
    technique: Some("T1059.001"),
};

pub(super) const INTERPRETERS: [Interpreter; 3] = [
    POWERSHELL,
    Interpreter {
        images: &["cmd.exe"],
        original_file_names: &["Cmd.Exe"],
        technique: Some("T1059.003"),
    },
    // Windows Script Host runs both VBScript and JScript, so no single
    // sub-technique fits.
    Interpreter {
        images: &["wscript.exe", "cscript.exe"],
        original_file_names: &["wscript.exe", "cscript.exe"],
        technique: None,
    },
];

/// Returns the interpreter family of a lowercase file name.
pub(super) fn interpreter(image: &str) -> Option<&'static Interpreter> {
    INTERPRETERS
        .iter()
        .find(|family| family.images.contains(&image))
}

/// Script engine modules, lowercase. A proxy binary that loads one is
/// running script code.
pub(super) const SCRIPT_ENGINES: [&str; 5] = [
    "scrobj.dll",
    "jscript.dll",
    "jscript9.dll",
    "vbscript.dll",
    "wshom.ocx",
];

/// Returns the script engines named in a command line, lowercase, in table
/// order. `scrobj.dll` is the one regsvr32 is given to run a COM scriptlet.
pub(super) fn script_engines_named(command_line: &str) -> Vec<&'static str> {
    let lower = command_line.to_ascii_lowercase();
    SCRIPT_ENGINES
        .into_iter()
        .filter(|engine| lower.contains(engine))
        .collect()
}

/// Substrings, for the Sigma `windash` modifier, that match PowerShell's
/// `-EncodedCommand` flag and the abbreviations PowerShell accepts for it
/// (`-e`, `-en`, `-enc`, `-enco…`, `-ec`).
pub(super) const ENCODED_COMMAND_PATTERNS: [&str; 5] =
    [" -e ", " -en ", " -enc ", " -enco", " -ec "];

/// Returns whether a command line passes PowerShell an encoded command: a
/// `-` or `/` flag that is a prefix of `encodedcommand`, or `-ec`.
pub(super) fn has_encoded_command_flag(command_line: &str) -> bool {
    command_line.split_whitespace().skip(1).any(|word| {
        let Some(flag) = word.strip_prefix(['-', '/']) else {
            return false;
        };
        let flag = flag.to_ascii_lowercase();
        flag == "ec" || (flag.starts_with('e') && "encodedcommand".starts_with(&flag))
    })
}

/// A URL given on a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UrlArgument {
    /// The flag the URL is the value of, normalized to `/x:` form and
    /// lowercase (`-I:http://…` gives `/i:`), or `None` for a bare URL.
    pub flag: Option<String>,
}

/// URL schemes that a remote-URL rule matches: a binary that fetches over
/// one of them usually accepts the others.
pub(super) const REMOTE_SCHEMES: [&str; 3] = ["http", "https", "ftp"];

/// Returns the http, https and ftp URLs on a command line, each with the
/// flag it is the value of (`/i:http://…`).
pub(super) fn url_arguments(command_line: &str) -> Vec<UrlArgument> {
    static URL_ARGUMENT: OnceLock<Regex> = OnceLock::new();
    let pattern = URL_ARGUMENT.get_or_init(|| {
        Regex::new(r#"(?i)(?:^|[\s"'])(?:[/-]([a-z]{1,20}):)?["']?(?:https?|ftp)://"#)
            .expect("URL argument pattern is valid")
    });
    pattern
        .captures_iter(command_line)
        .map(|captures| UrlArgument {
            flag: captures
                .get(1)
                .map(|flag| format!("/{}:", flag.as_str().to_ascii_lowercase())),
        })
        .collect()
}

/// Returns the substrings, for the Sigma `windash` modifier, that match a
/// URL value of `flag` over any of [`REMOTE_SCHEMES`], quoted or not.
/// `/i:http` also matches `/i:https`.
pub(super) fn flag_url_patterns(flag: &str) -> Vec<String> {
    ["http", "ftp"]
        .into_iter()
        .flat_map(|scheme| [format!("{flag}{scheme}"), format!("{flag}\"{scheme}")])
        .collect()
}

/// Returns the substrings that match a bare URL over any of
/// [`REMOTE_SCHEMES`].
pub(super) fn bare_url_patterns() -> Vec<String> {
    REMOTE_SCHEMES
        .into_iter()
        .map(|scheme| format!("{scheme}://"))
        .collect()
}
