//! The bot's Matrix session. The first start logs in with the password (or
//! adopts the access token's device) and saves the session next to the
//! matrix-sdk SQLite stores. Later starts restore it on the same stores, so
//! the device, its encryption keys and the sync token survive a restart.
//!
//! The bot never logs out, because logging out deletes the device and its keys.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::RequestConfig;
use matrix_sdk::ruma::{OwnedDeviceId, OwnedUserId, UserId};
use matrix_sdk::store::StateStoreDataKey;
use matrix_sdk::{Client, SessionMeta, SessionTokens, SqliteStoreConfig};
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::config::MatrixConfig;

/// File name of the saved session inside `store_path`.
const SESSION_FILE: &str = "session.json";
/// Folder of the matrix-sdk stores inside `store_path`.
const SDK_DIR: &str = "sdk";
/// The file locked while a process uses the store folder.
const LOCK_FILE: &str = "lock";
/// Retries of one request inside matrix-sdk before the error reaches the
/// caller: the outbox and the sync loop retry on their own.
const SDK_RETRY_LIMIT: usize = 3;
/// Timeout of one request, long-poll time of a sync excluded.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The session file: the matrix-sdk session plus what it was made for.
#[derive(Serialize, Deserialize)]
struct SavedSession {
    homeserver: String,
    session: MatrixSession,
}

/// A logged-in client and whether its store has never synced.
pub struct Connection {
    pub client: Client,
    /// No sync token in the store, so the first sync returns old history
    /// that the bot must not reply to.
    pub fresh_store: bool,
    /// Held while the process uses the store.
    _store_lock: std::fs::File,
}

/// Logs in or restores the saved session, on the stores under `store_path`.
pub async fn connect(config: &MatrixConfig) -> anyhow::Result<Connection> {
    let store_path = &config.store_path;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(store_path)
        .with_context(|| {
            format!(
                "failed to create matrix.store_path {}",
                store_path.display()
            )
        })?;
    // Two processes on one crypto store would corrupt its keys.
    let store_lock = crate::store::claim::lock_file(store_path.join(LOCK_FILE), "matrix")?;
    let session_path = store_path.join(SESSION_FILE);
    let sdk_path = store_path.join(SDK_DIR);
    let homeserver = config.homeserver.trim().to_string();

    let client = if session_path.exists() {
        let saved = read_session(&session_path)?;
        if saved.homeserver != homeserver {
            bail!(
                "the session in {} belongs to homeserver {} but matrix.homeserver is {homeserver}: \
                 restore the old value or delete {} to log in as a new device",
                session_path.display(),
                saved.homeserver,
                store_path.display()
            );
        }
        check_user(config, &saved.session.meta.user_id, &session_path)?;
        let client = build_client(config, &sdk_path).await?;
        let user = saved.session.meta.user_id.clone();
        let device = saved.session.meta.device_id.clone();
        client
            .restore_session(saved.session)
            .await
            .with_context(|| {
                format!(
                    "failed to restore the session from {}",
                    session_path.display()
                )
            })?;
        info!(user = %user, device = %device, "matrix session restored");
        client
    } else {
        if sdk_path.exists() && fs::read_dir(&sdk_path)?.next().is_some() {
            // The crypto store contains the keys of a device whose session
            // file is gone, and a new login would not match them.
            bail!(
                "{} has matrix-sdk stores but no {SESSION_FILE}: delete {} to log in as a new device",
                store_path.display(),
                store_path.display()
            );
        }
        let session = first_login(config, &homeserver, &sdk_path).await?;
        write_session(
            &session_path,
            &SavedSession {
                homeserver: homeserver.clone(),
                session: session.session,
            },
        )?;
        session.client
    };

    let fresh_store = client
        .state_store()
        .get_kv_data(StateStoreDataKey::SyncToken)
        .await
        .context("failed to read the sync token from the matrix-sdk store")?
        .is_none();
    Ok(Connection {
        client,
        fresh_store,
        _store_lock: store_lock,
    })
}

struct NewSession {
    client: Client,
    session: MatrixSession,
}

/// Creates the device with the password, or adopts the access token's device.
async fn first_login(
    config: &MatrixConfig,
    homeserver: &str,
    sdk_path: &Path,
) -> anyhow::Result<NewSession> {
    if let Some(password) = &config.password {
        let client = build_client(config, sdk_path).await?;
        client
            .matrix_auth()
            .login_username(config.user.trim(), password.expose())
            .initial_device_display_name(&config.device_name)
            .await
            .with_context(|| {
                format!("failed to log in to {homeserver} as {}", config.user.trim())
            })?;
        let session = client
            .matrix_auth()
            .session()
            .context("the homeserver accepted the login but returned no session")?;
        info!(user = %session.meta.user_id, device = %session.meta.device_id, "matrix login done, new device");
        return Ok(NewSession { client, session });
    }
    if let Some(token) = &config.access_token {
        let user_id = UserId::parse(config.user.trim()).with_context(|| {
            format!(
                "matrix.user {:?} must be a full user ID (@bot:example.org) when matrix.access_token is used",
                config.user.trim()
            )
        })?;
        let device_id = token_device(config, &user_id, token.expose()).await?;
        let session = MatrixSession {
            meta: SessionMeta { user_id, device_id },
            tokens: SessionTokens {
                access_token: token.expose().to_string(),
                refresh_token: None,
            },
        };
        let client = build_client(config, sdk_path).await?;
        client
            .restore_session(session.clone())
            .await
            .context("failed to start the session of matrix.access_token")?;
        // NOTE: a token whose device already uploaded encryption keys from
        // another store fails key upload here, while sync still works.
        info!(user = %session.meta.user_id, device = %session.meta.device_id, "matrix access token adopted");
        return Ok(NewSession { client, session });
    }
    bail!(
        "matrix.password is missing: set it in the [matrix] section or in HUNTBRIDGE_MATRIX__PASSWORD \
         (or give matrix.access_token / HUNTBRIDGE_MATRIX__ACCESS_TOKEN)"
    )
}

/// Asks the homeserver which device the access token belongs to, through a
/// client with an in-memory store that is dropped afterwards.
async fn token_device(
    config: &MatrixConfig,
    user_id: &UserId,
    token: &str,
) -> anyhow::Result<OwnedDeviceId> {
    let probe = Client::builder()
        .homeserver_url(config.homeserver.trim())
        .request_config(request_config())
        .build()
        .await
        .context("failed to build a Matrix client")?;
    probe
        .restore_session(MatrixSession {
            meta: SessionMeta {
                user_id: user_id.to_owned(),
                device_id: "HUNTBRIDGEPROBE".into(),
            },
            tokens: SessionTokens {
                access_token: token.to_string(),
                refresh_token: None,
            },
        })
        .await
        .context("failed to use matrix.access_token")?;
    let whoami = probe
        .whoami()
        .await
        .context("the homeserver rejected matrix.access_token (whoami failed)")?;
    if whoami.user_id != user_id {
        bail!(
            "matrix.access_token belongs to {} but matrix.user is {user_id}",
            whoami.user_id
        );
    }
    whoami
        .device_id
        .context("matrix.access_token has no device: create it with a password login")
}

async fn build_client(config: &MatrixConfig, sdk_path: &Path) -> anyhow::Result<Client> {
    let passphrase = config
        .store_passphrase
        .as_ref()
        .map(|secret| secret.expose());
    Client::builder()
        .homeserver_url(config.homeserver.trim())
        // One connection per core and a 500 kB page cache per connection
        // instead of four connections per core and 2 MB: the bot's stores
        // are small and its memory goal is tight.
        .sqlite_store_with_config_and_cache_path(
            SqliteStoreConfig::with_low_memory_config(sdk_path).passphrase(passphrase),
            None::<&Path>,
        )
        .request_config(request_config())
        .build()
        .await
        .with_context(|| {
            format!(
                "failed to open the Matrix client on {} (wrong matrix.store_passphrase?)",
                sdk_path.display()
            )
        })
}

fn request_config() -> RequestConfig {
    RequestConfig::new()
        .retry_limit(SDK_RETRY_LIMIT)
        .timeout(REQUEST_TIMEOUT)
}

/// Rejects a saved session of another user than `matrix.user`.
fn check_user(config: &MatrixConfig, saved: &OwnedUserId, path: &Path) -> anyhow::Result<()> {
    let configured = config.user.trim();
    let matches = if configured.starts_with('@') {
        configured == saved.as_str()
    } else {
        configured == saved.localpart()
    };
    if !matches {
        bail!(
            "the session in {} is for {saved} but matrix.user is {configured}: \
             restore the old value or use another matrix.store_path",
            path.display()
        );
    }
    Ok(())
}

fn read_session(path: &Path) -> anyhow::Result<SavedSession> {
    let text =
        fs::read_to_string(path).with_context(|| format!("failed to read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "invalid session file {}: delete its folder to log in as a new device",
            path.display()
        )
    })
}

/// Writes the session (it contains the access token) readable by the owner
/// only, through a temporary file so a crash leaves the old file whole.
fn write_session(path: &Path, saved: &SavedSession) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(saved).context("failed to encode the session")?;
    let temporary = PathBuf::from(format!("{}.tmp", path.display()));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(|| format!("failed to write {}", temporary.display()))?;
    file.write_all(&json)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("failed to write {}", temporary.display()))?;
    fs::rename(&temporary, path)
        .with_context(|| format!("failed to save the session to {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_for(user: &str) -> MatrixConfig {
        MatrixConfig {
            user: user.into(),
            ..MatrixConfig::default()
        }
    }

    #[test]
    fn saved_user_matches_full_id_or_localpart() {
        let saved: OwnedUserId = "@bot:localhost".try_into().unwrap();
        let path = Path::new("session.json");
        assert!(check_user(&config_for("@bot:localhost"), &saved, path).is_ok());
        assert!(check_user(&config_for("bot"), &saved, path).is_ok());
        assert!(check_user(&config_for("@other:localhost"), &saved, path).is_err());
        assert!(check_user(&config_for("other"), &saved, path).is_err());
    }

    #[test]
    fn session_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SESSION_FILE);
        let saved = SavedSession {
            homeserver: "http://127.0.0.1:8008".into(),
            session: MatrixSession {
                meta: SessionMeta {
                    user_id: "@bot:localhost".try_into().unwrap(),
                    device_id: "DEVICE".into(),
                },
                tokens: SessionTokens {
                    access_token: "token".into(),
                    refresh_token: None,
                },
            },
        };
        write_session(&path, &saved).unwrap();
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&fs::metadata(&path).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        let loaded = read_session(&path).unwrap();
        assert_eq!(loaded.homeserver, saved.homeserver);
        assert_eq!(loaded.session.meta.device_id, saved.session.meta.device_id);
    }
}
