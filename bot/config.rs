//! Configuration: built-in defaults, then a TOML file, then `HUNTBRIDGE_`
//! environment variables with `__` for nesting (`HUNTBRIDGE_DATABASE__URL`).
//! Unknown keys in the file are rejected with their name, so a typo in a
//! role or room list cannot pass silently.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::domain::types::Lang;

/// Environment variable prefix for configuration overrides.
pub const ENV_PREFIX: &str = "HUNTBRIDGE_";

/// `HUNTBRIDGE_*` variables, lowercase and without the prefix, that other
/// tools read and the configuration ignores.
const NOT_CONFIGURATION: [&str; 3] = ["log", "synapse_dir", "container_engine"];

/// A secret value: `Debug` and `Display` print `***`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Language of rooms that have not chosen one with `/lang`.
    pub lang: Lang,
    pub database: DatabaseConfig,
    pub rooms: RoomsConfig,
    /// Roles by user ID: `"@ana:example.org" = ["hunter"]`.
    pub users: BTreeMap<String, Vec<String>>,
    pub iocs: IocConfig,
    pub playbooks: PlaybookConfig,
    pub exports: ExportsConfig,
    pub shell: ShellConfig,
    pub matrix: MatrixConfig,
}

/// The database settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://path?mode=rwc` or `postgres://user:password@host/db`.
    pub url: Secret,
}

/// The rooms the bot works in, by platform room ID or alias.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoomsConfig {
    /// Rooms where hunters post findings and hunts.
    pub hunting: Vec<String>,
    /// Rooms where handoff cards go and responders accept them.
    pub ir: Vec<String>,
    /// Rooms where leads follow status and receive reports.
    pub leads: Vec<String>,
}

/// Indicator settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IocConfig {
    /// A file of extra known-good values (`kind value` lines) added to the
    /// shipped list.
    pub known_good_file: Option<PathBuf>,
}

/// Playbook settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlaybookConfig {
    /// A folder of extra `*.yml` playbooks, added to the shipped ones.
    pub dir: Option<PathBuf>,
}

/// The export folder for approved rules and the author name of exports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportsConfig {
    /// Folder for approved rules: `sigma/<id>.yml`, `blocklists/<kind>.txt`,
    /// `hunt-cases/<R-n>.md`.
    pub dir: PathBuf,
    /// Organization name used as the STIX identity and MISP creator.
    pub organization: String,
}

impl Default for ExportsConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("huntbridge-exports"),
            organization: "huntbridge".into(),
        }
    }
}

/// Shell adapter settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShellConfig {
    /// Folder where the shell saves the files the bot attaches or writes.
    pub output_dir: PathBuf,
}

/// Matrix adapter settings, used by `huntbridge run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatrixConfig {
    /// Homeserver base URL (`https://matrix.example.org`).
    pub homeserver: String,
    /// The bot's user ID (`@huntbridge:example.org`) or its localpart.
    pub user: String,
    /// Password for the first login; later starts restore the saved session.
    pub password: Option<Secret>,
    /// Access token of an existing device, used instead of a password.
    pub access_token: Option<Secret>,
    /// Display name of the device created at the first login.
    pub device_name: String,
    /// Folder for the saved session and the matrix-sdk state, crypto,
    /// event-cache and media stores (SQLite). One folder per bot process.
    pub store_path: PathBuf,
    /// Passphrase that encrypts the matrix-sdk stores; it cannot be changed
    /// or removed later without deleting `store_path`.
    pub store_passphrase: Option<Secret>,
    /// Message prefixes that mark a command (`!finding`, `/finding`).
    pub command_prefixes: Vec<String>,
    /// Whether invites are accepted. Only invites to configured rooms or
    /// from users in `[users]` are accepted, the rest are rejected.
    pub auto_join: bool,
}

impl Default for MatrixConfig {
    fn default() -> Self {
        Self {
            homeserver: String::new(),
            user: String::new(),
            password: None,
            access_token: None,
            device_name: "huntbridge".into(),
            store_path: PathBuf::from("huntbridge-matrix"),
            store_passphrase: None,
            command_prefixes: vec!["!".into(), "/".into()],
            auto_join: true,
        }
    }
}

impl MatrixConfig {
    /// Checks the settings `huntbridge run` needs. Credentials are checked
    /// when connecting, because a saved session needs none.
    pub fn validate(&self) -> anyhow::Result<()> {
        let homeserver = self.homeserver.trim();
        if homeserver.is_empty() {
            bail!(
                "matrix.homeserver is missing: set the homeserver URL in the [matrix] section or in HUNTBRIDGE_MATRIX__HOMESERVER"
            );
        }
        let redacted = crate::store::redact_url(homeserver);
        let url = url::Url::parse(homeserver).with_context(|| {
            format!("matrix.homeserver {redacted:?} is not a valid URL: use https://host[:port]")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            bail!("matrix.homeserver {redacted:?} must start with http:// or https://");
        }
        if !url.username().is_empty() || url.password().is_some() {
            bail!(
                "matrix.homeserver {redacted:?} contains a user name or password: remove it, and set \
                 matrix.password or matrix.access_token instead"
            );
        }
        if self.user.trim().is_empty() {
            bail!(
                "matrix.user is missing: set the bot's user ID (@bot:example.org) in the [matrix] section or in HUNTBRIDGE_MATRIX__USER"
            );
        }
        let user = self.user.trim();
        if self.access_token.is_some() && !(user.starts_with('@') && user.contains(':')) {
            bail!(
                "matrix.user {user:?} must be a full user ID (@bot:example.org) when matrix.access_token is used"
            );
        }
        if self.device_name.trim().is_empty() {
            bail!("matrix.device_name is empty: name the bot's device (huntbridge)");
        }
        if self.command_prefixes.is_empty() {
            bail!("matrix.command_prefixes is empty: give at least one prefix, such as \"!\"");
        }
        for prefix in &self.command_prefixes {
            if prefix.is_empty() || prefix.chars().any(char::is_whitespace) {
                bail!(
                    "matrix.command_prefixes has invalid prefix {prefix:?}: use one or more characters without spaces"
                );
            }
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            lang: Lang::Es,
            database: DatabaseConfig::default(),
            rooms: RoomsConfig::default(),
            users: BTreeMap::new(),
            iocs: IocConfig::default(),
            playbooks: PlaybookConfig::default(),
            exports: ExportsConfig::default(),
            shell: ShellConfig::default(),
            matrix: MatrixConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: Secret::new("sqlite://huntbridge.db?mode=rwc"),
        }
    }
}

impl Default for RoomsConfig {
    fn default() -> Self {
        Self {
            hunting: vec!["#caza".into(), "#hunting".into()],
            ir: vec!["#ir".into()],
            leads: vec!["#ir".into()],
        }
    }
}

impl Default for ShellConfig {
    fn default() -> Self {
        Self {
            output_dir: PathBuf::from("huntbridge-out"),
        }
    }
}

impl Config {
    /// Loads defaults, then `path` if given, then the environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = path {
            if !path.exists() {
                bail!("config file {} not found", path.display());
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__").filter(|key| {
            // HUNTBRIDGE_LOG sets the log filter, HUNTBRIDGE_TEST_* belong to
            // the test suite, and the other two to scripts/synapse.sh and
            // scripts/check-container.sh. None of them is configuration.
            let key = key.as_str().to_ascii_lowercase();
            !NOT_CONFIGURATION.contains(&key.as_str()) && !key.starts_with("test")
        }));
        let config: Config = figment
            .extract()
            .map_err(|error| anyhow::anyhow!("{}", describe_figment_error(&error)))
            .context("invalid configuration")?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot: role names and room lists.
    pub fn validate(&self) -> anyhow::Result<()> {
        for (user, roles) in &self.users {
            if roles.is_empty() {
                bail!(
                    "users.{user:?} has no roles: give at least one of hunter, responder, lead, admin"
                );
            }
            for role in roles {
                if crate::app::auth::Role::parse(role).is_none() {
                    bail!(
                        "users.{user:?} has unknown role {role:?}: use hunter, responder, lead or admin"
                    );
                }
            }
        }
        if self.rooms.ir.is_empty() {
            bail!("rooms.ir is empty: name the room where handoff cards go");
        }
        Ok(())
    }
}

fn describe_figment_error(error: &figment::Error) -> String {
    error
        .clone()
        .into_iter()
        .map(|error| {
            if let figment::error::Kind::UnknownField(key, expected) = &error.kind {
                // The path ends with the unknown key itself.
                let mut section = error.path.clone();
                if section.last() == Some(key) {
                    section.pop();
                }
                return describe_unknown_key(
                    &section.join("."),
                    key,
                    expected,
                    error.metadata.as_ref(),
                );
            }
            let path = error.path.join(".");
            if path.is_empty() {
                error.kind.to_string()
            } else {
                format!("{path}: {}", error.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Names the environment variables that set `key` (`matrix.device_nam`):
/// the variable itself, or for an unknown section, the variables under it.
fn environment_variables(key: &str) -> String {
    let name = format!("{ENV_PREFIX}{}", key.replace('.', "__")).to_ascii_uppercase();
    let mut found: Vec<String> = std::env::vars_os()
        .filter_map(|(variable, _)| variable.into_string().ok())
        .filter(|variable| {
            let upper = variable.to_ascii_uppercase();
            upper == name || upper.starts_with(&format!("{name}__"))
        })
        .collect();
    found.sort();
    match found.as_slice() {
        [] => format!("the environment variable {name}"),
        [one] => format!("the environment variable {one}"),
        many => format!("the environment variables {}", many.join(", ")),
    }
}

/// Names an unknown key with its full path and where it was read, suggests
/// the closest accepted key, and lists the accepted ones one per line.
fn describe_unknown_key(
    section: &str,
    key: &str,
    expected: &[&str],
    source: Option<&figment::Metadata>,
) -> String {
    let full = if section.is_empty() {
        key.to_string()
    } else {
        format!("{section}.{key}")
    };
    let mut text = format!("unknown key {full:?}");
    if let Some(source) = source {
        match &source.source {
            Some(figment::Source::File(path)) => text.push_str(&format!(" in {}", path.display())),
            // The Env provider has no source, only a name.
            None if source.name.contains("environment") => {
                text.push_str(&format!(" from {}", environment_variables(&full)))
            }
            _ => text.push_str(&format!(" in {}", source.name)),
        }
    }
    let closest = expected
        .iter()
        .map(|candidate| (strsim::jaro_winkler(key, candidate), *candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((_, candidate)) = closest {
        text.push_str(&format!("; did you mean {candidate:?}?"));
    }
    let section_name = if section.is_empty() {
        "the top level".to_string()
    } else {
        format!("[{section}]")
    };
    text.push_str(&format!("\n  keys accepted in {section_name}:"));
    for candidate in expected {
        text.push_str(&format!("\n    {candidate}"));
    }
    text
}

#[cfg(test)]
mod tests {
    /// Serializes tests that read or set `HUNTBRIDGE_` variables, because the
    /// environment is shared by every test thread.
    static ENV_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn load_locked(path: Option<&Path>) -> anyhow::Result<Config> {
        let _env = ENV_LOCK.lock().unwrap_or_else(|poison| poison.into_inner());
        Config::load(path)
    }
    use std::io::Write;

    use super::*;

    #[test]
    fn secret_debug_is_hidden() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{secret}"), "***");
    }

    #[test]
    fn defaults_load_without_file() {
        let config = load_locked(None).expect("defaults load");
        assert_eq!(config.lang, Lang::Es);
        assert_eq!(config.rooms.ir, vec!["#ir".to_string()]);
    }

    #[test]
    fn unknown_key_is_rejected_by_name() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[rooms]\nhuntting = [\"#x\"]").unwrap();
        let error = load_locked(Some(file.path())).unwrap_err();
        assert!(format!("{error:#}").contains("huntting"), "{error:#}");
    }

    #[test]
    fn log_and_test_variables_are_not_configuration() {
        // SAFETY: tests in this module do not read these variables concurrently
        // with writing them; other tests ignore them by design.
        let _env = ENV_LOCK.lock().unwrap_or_else(|poison| poison.into_inner());
        unsafe {
            std::env::set_var("HUNTBRIDGE_LOG", "debug");
            std::env::set_var("HUNTBRIDGE_TEST_ABORT_AFTER_STORE", "1");
        }
        let loaded = Config::load(None);
        unsafe {
            std::env::remove_var("HUNTBRIDGE_LOG");
            std::env::remove_var("HUNTBRIDGE_TEST_ABORT_AFTER_STORE");
        }
        assert!(loaded.is_ok(), "{:#}", loaded.unwrap_err());
    }

    #[test]
    fn unknown_role_is_rejected() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[users]\n\"@ana\" = [\"hunterr\"]").unwrap();
        let error = load_locked(Some(file.path())).unwrap_err();
        assert!(format!("{error:#}").contains("hunterr"), "{error:#}");
    }

    fn matrix_config(toml: &str) -> anyhow::Result<Config> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "{toml}").unwrap();
        load_locked(Some(file.path()))
    }

    #[test]
    fn matrix_section_parses() {
        let config = matrix_config(
            "[matrix]\nhomeserver = \"http://127.0.0.1:8008\"\nuser = \"@bot:localhost\"\n\
             password = \"pw\"\ndevice_name = \"hb-test\"\nstore_path = \"/tmp/hb\"\n\
             command_prefixes = [\"!\"]\nauto_join = false",
        )
        .unwrap();
        let matrix = &config.matrix;
        assert_eq!(matrix.homeserver, "http://127.0.0.1:8008");
        assert_eq!(matrix.password.as_ref().map(Secret::expose), Some("pw"));
        assert_eq!(matrix.command_prefixes, vec!["!"]);
        assert!(!matrix.auto_join);
        assert!(matrix.validate().is_ok());
        assert!(!format!("{matrix:?}").contains("pw"));
    }

    #[test]
    fn matrix_defaults() {
        let matrix = MatrixConfig::default();
        assert_eq!(matrix.command_prefixes, vec!["!", "/"]);
        assert!(matrix.auto_join);
        assert!(matrix.password.is_none());
        assert_eq!(matrix.device_name, "huntbridge");
    }

    #[test]
    fn matrix_unknown_key_is_rejected() {
        let error = matrix_config("[matrix]\nhomeservr = \"http://x\"").unwrap_err();
        let text = format!("{error:#}");
        assert!(
            text.contains("unknown key \"matrix.homeservr\" in /"),
            "{text}"
        );
        assert!(text.contains("did you mean \"homeserver\"?"), "{text}");
        assert!(
            text.contains("keys accepted in [matrix]:\n    homeserver\n    user\n"),
            "{text}"
        );
    }

    #[test]
    fn unknown_environment_key_names_the_variable() {
        let _env = ENV_LOCK.lock().unwrap_or_else(|poison| poison.into_inner());
        // SAFETY: ENV_LOCK keeps the tests of this module from touching the
        // environment at the same time.
        unsafe { std::env::set_var("HUNTBRIDGE_MATRIX__DEVICE_NAM", "x") };
        let loaded = Config::load(None);
        unsafe { std::env::remove_var("HUNTBRIDGE_MATRIX__DEVICE_NAM") };
        let text = format!("{:#}", loaded.unwrap_err());
        assert!(
            text.contains(
                "unknown key \"matrix.device_nam\" from the environment variable HUNTBRIDGE_MATRIX__DEVICE_NAM; did you mean \"device_name\"?"
            ),
            "{text}"
        );
    }

    #[test]
    fn unknown_environment_section_names_the_variable() {
        let _env = ENV_LOCK.lock().unwrap_or_else(|poison| poison.into_inner());
        // SAFETY: ENV_LOCK keeps the tests of this module from touching the
        // environment at the same time.
        unsafe { std::env::set_var("HUNTBRIDGE_DATABSE__URL", "sqlite://x.db") };
        let loaded = Config::load(None);
        unsafe { std::env::remove_var("HUNTBRIDGE_DATABSE__URL") };
        let text = format!("{:#}", loaded.unwrap_err());
        assert!(
            text.contains(
                "from the environment variable HUNTBRIDGE_DATABSE__URL; did you mean \"database\"?"
            ),
            "{text}"
        );
    }

    #[test]
    fn script_variables_are_not_configuration() {
        let _env = ENV_LOCK.lock().unwrap_or_else(|poison| poison.into_inner());
        // SAFETY: as above.
        unsafe {
            std::env::set_var("HUNTBRIDGE_SYNAPSE_DIR", "target/synapse");
            std::env::set_var("HUNTBRIDGE_CONTAINER_ENGINE", "podman");
        }
        let loaded = Config::load(None);
        unsafe {
            std::env::remove_var("HUNTBRIDGE_SYNAPSE_DIR");
            std::env::remove_var("HUNTBRIDGE_CONTAINER_ENGINE");
        }
        assert!(loaded.is_ok(), "{:#}", loaded.unwrap_err());
    }

    #[test]
    fn distant_unknown_key_no_suggestion() {
        let error = matrix_config("[matrix]\nzzz = 1").unwrap_err();
        let text = format!("{error:#}");
        assert!(text.contains("unknown key \"matrix.zzz\""), "{text}");
        assert!(!text.contains("did you mean"), "{text}");
    }

    #[test]
    fn homeserver_with_credentials_rejected() {
        let matrix = MatrixConfig {
            homeserver: "http://bob:HsSecret@127.0.0.1:8008".into(),
            user: "@bot:localhost".into(),
            ..MatrixConfig::default()
        };
        let text = format!("{:#}", matrix.validate().unwrap_err());
        assert!(text.contains("contains a user name or password"), "{text}");
        assert!(!text.contains("HsSecret"), "{text}");
    }

    #[test]
    fn access_token_needs_a_full_user_id() {
        let mut matrix = MatrixConfig {
            homeserver: "http://127.0.0.1:8008".into(),
            user: "huntbridge".into(),
            access_token: Some(Secret::new("token-value")),
            ..MatrixConfig::default()
        };
        let text = format!("{:#}", matrix.validate().unwrap_err());
        assert!(text.contains("must be a full user ID"), "{text}");
        assert!(!text.contains("token-value"), "{text}");
        matrix.user = "@huntbridge:localhost".into();
        assert!(matrix.validate().is_ok());
    }

    #[test]
    fn matrix_missing_homeserver_names_key() {
        let error = MatrixConfig::default().validate().unwrap_err();
        assert!(error.to_string().contains("matrix.homeserver"), "{error}");
    }

    #[test]
    fn matrix_invalid_values_are_rejected() {
        let valid = MatrixConfig {
            homeserver: "https://matrix.example.org".into(),
            user: "@bot:example.org".into(),
            ..MatrixConfig::default()
        };
        assert!(valid.validate().is_ok());
        let cases = [
            (
                MatrixConfig {
                    homeserver: "matrix.example.org".into(),
                    ..valid.clone()
                },
                "matrix.homeserver",
            ),
            (
                MatrixConfig {
                    homeserver: "ftp://x".into(),
                    ..valid.clone()
                },
                "http",
            ),
            (
                MatrixConfig {
                    user: " ".into(),
                    ..valid.clone()
                },
                "matrix.user",
            ),
            (
                MatrixConfig {
                    command_prefixes: vec![],
                    ..valid.clone()
                },
                "matrix.command_prefixes",
            ),
            (
                MatrixConfig {
                    command_prefixes: vec!["! ".into()],
                    ..valid.clone()
                },
                "\"! \"",
            ),
        ];
        for (config, expected) in cases {
            let error = config.validate().unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn matrix_password_from_environment() {
        // SAFETY: no other test reads or writes this variable.
        let _env = ENV_LOCK.lock().unwrap_or_else(|poison| poison.into_inner());
        unsafe { std::env::set_var("HUNTBRIDGE_MATRIX__PASSWORD", "from-env") };
        let loaded = Config::load(None);
        unsafe { std::env::remove_var("HUNTBRIDGE_MATRIX__PASSWORD") };
        let config = loaded.unwrap();
        assert_eq!(
            config.matrix.password.as_ref().map(Secret::expose),
            Some("from-env")
        );
    }

    #[test]
    fn file_sets_language_and_users() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            file,
            "lang = \"en\"\n[users]\n\"@ana\" = [\"hunter\", \"lead\"]"
        )
        .unwrap();
        let config = load_locked(Some(file.path())).unwrap();
        assert_eq!(config.lang, Lang::En);
        assert_eq!(config.users["@ana"], vec!["hunter", "lead"]);
    }
}
