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
}

/// Where state is stored.
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
    /// Where hunters post findings and hunts.
    pub hunting: Vec<String>,
    /// Where handoff cards go and responders accept them.
    pub ir: Vec<String>,
    /// Where leads follow status and receive reports.
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

/// Where approved rules are written and how exports name their author.
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
            // HUNTBRIDGE_LOG sets the log filter and HUNTBRIDGE_TEST_* belong
            // to the test suite; neither is configuration.
            let key = key.as_str().to_ascii_lowercase();
            key != "log" && !key.starts_with("test")
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

#[cfg(test)]
mod tests {
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
        let config = Config::load(None).expect("defaults load");
        assert_eq!(config.lang, Lang::Es);
        assert_eq!(config.rooms.ir, vec!["#ir".to_string()]);
    }

    #[test]
    fn unknown_key_is_rejected_by_name() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[rooms]\nhuntting = [\"#x\"]").unwrap();
        let error = Config::load(Some(file.path())).unwrap_err();
        assert!(format!("{error:#}").contains("huntting"), "{error:#}");
    }

    #[test]
    fn log_and_test_variables_are_not_configuration() {
        // SAFETY: tests in this module do not read these variables concurrently
        // with writing them; other tests ignore them by design.
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
        let error = Config::load(Some(file.path())).unwrap_err();
        assert!(format!("{error:#}").contains("hunterr"), "{error:#}");
    }

    #[test]
    fn file_sets_language_and_users() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            file,
            "lang = \"en\"\n[users]\n\"@ana\" = [\"hunter\", \"lead\"]"
        )
        .unwrap();
        let config = Config::load(Some(file.path())).unwrap();
        assert_eq!(config.lang, Lang::En);
        assert_eq!(config.users["@ana"], vec!["hunter", "lead"]);
    }
}
