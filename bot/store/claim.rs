//! Claims that keep a second bot process off the same database: a platform
//! adapter (such as the Matrix sync loop and its outbox worker) runs in one
//! process per database at a time.
//!
//! On PostgreSQL a claim is a session advisory lock held by a connection
//! taken out of the pool, so it also covers processes on other machines. On
//! SQLite it is an exclusive lock on a file next to the database.
// NOTE: a PostgreSQL claim ends when its connection drops (a server restart,
// a network cut), and the process holding it is not notified.

use std::fs::{File, OpenOptions};
use std::path::PathBuf;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Connection as _};

use super::{Backend, Store};

/// A held claim; dropping it releases the claim.
#[derive(Debug)]
pub struct Claim {
    name: String,
    hold: Hold,
}

#[derive(Debug)]
enum Hold {
    /// The file stays locked while it is open.
    File { _file: File },
    /// The advisory lock lives as long as this connection's session.
    Session(Box<AnyConnection>),
    /// An in-memory SQLite database is private to its process.
    Private,
}

impl Claim {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Releases the claim now. Dropping it releases it too, but on
    /// PostgreSQL only once the server detects the closed connection.
    pub async fn release(self) -> anyhow::Result<()> {
        if let Hold::Session(mut conn) = self.hold {
            sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock($1)")
                .bind(advisory_key(&self.name))
                .fetch_one(&mut *conn)
                .await
                .with_context(|| format!("failed to release the claim on {}", self.name))?;
            let _ = conn.close().await;
        }
        Ok(())
    }
}

impl Store {
    /// Claims `name` (for example `matrix`) for this process. When another
    /// process already has the claim, returns an error that names it and the
    /// fix.
    pub async fn claim(&self, name: &str) -> anyhow::Result<Claim> {
        let hold = match self.backend() {
            Backend::Postgres => {
                let mut conn = self
                    .pool()
                    .acquire()
                    .await
                    .context("failed to get a database connection for the process claim")?
                    .detach();
                let granted: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(advisory_key(name))
                    .fetch_one(&mut conn)
                    .await
                    .with_context(|| format!("failed to claim {name} on PostgreSQL"))?;
                if !granted {
                    let _ = conn.close().await;
                    bail!(
                        "another huntbridge process already runs {name} on this database: \
                         stop it first, or give this process its own database"
                    );
                }
                Hold::Session(Box::new(conn))
            }
            Backend::Sqlite => match self.sqlite_file() {
                Some(database) => Hold::File {
                    _file: lock_file(lock_path(database, name), name)?,
                },
                None => Hold::Private,
            },
        };
        Ok(Claim {
            name: name.to_string(),
            hold,
        })
    }
}

/// Locks `path` (created if missing) for this process.
pub fn lock_file(path: PathBuf, name: &str) -> anyhow::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("failed to open the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another huntbridge process already runs {name} with {}: stop it first",
            path.display()
        ),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("failed to lock {}", path.display()))
        }
    }
}

/// `hb.db` and `matrix` give `hb.db.matrix.lock`.
fn lock_path(database: &std::path::Path, name: &str) -> PathBuf {
    let mut file = database.as_os_str().to_owned();
    file.push(format!(".{name}.lock"));
    PathBuf::from(file)
}

/// Derives a stable 64-bit advisory lock key from a claim name.
fn advisory_key(name: &str) -> i64 {
    let digest = Sha256::digest(format!("huntbridge:{name}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_file_sits_next_to_the_database() {
        assert_eq!(
            lock_path(std::path::Path::new("data/hb.db"), "matrix"),
            PathBuf::from("data/hb.db.matrix.lock")
        );
    }

    #[test]
    fn advisory_keys_differ_per_name() {
        assert_eq!(advisory_key("matrix"), advisory_key("matrix"));
        assert_ne!(advisory_key("matrix"), advisory_key("slack"));
    }
}
