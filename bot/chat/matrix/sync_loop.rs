//! The sync loop: the next `/sync` request goes out as soon as a response
//! is handled.
//!
//! matrix-sdk's own loops (`Client::sync`, `sync_with_callback`,
//! `sync_with_result_callback`, `sync_stream`) sleep for a second whenever
//! the previous request started less than a second earlier. In a busy room
//! the bot then reads new events about once a second, and a command waits
//! up to a second before the bot receives it. This loop sends the next request
//! at once. It pauses only after a response that came back quickly with
//! nothing in it, which is what a homeserver that ignores the long-poll
//! timeout sends, so such a server is not asked in a tight loop.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use matrix_sdk::Client;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::api::error::ErrorKind;
use matrix_sdk::sync::SyncResponse;
use tracing::warn;

/// An empty response that came back faster than this is followed by
/// [`EMPTY_RESPONSE_PAUSE`]. A long poll that found nothing takes the whole
/// sync timeout.
const QUICK_RESPONSE: Duration = Duration::from_secs(1);
/// Pause after a quick empty response.
const EMPTY_RESPONSE_PAUSE: Duration = Duration::from_secs(1);
/// First and last pause after a failed sync request.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Syncs until the homeserver rejects the session, calling `on_response`
/// after each response (matrix-sdk has already run the event handlers).
/// `settings` contains the token to start from; each response's `next_batch`
/// replaces it. Failed requests are retried with a growing pause.
pub async fn run<F, Fut>(
    client: &Client,
    mut settings: SyncSettings,
    mut on_response: F,
) -> anyhow::Result<()>
where
    F: FnMut(SyncResponse) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut backoff = FIRST_BACKOFF;
    loop {
        let started = Instant::now();
        match client.sync_once(settings.clone()).await {
            Ok(response) => {
                backoff = FIRST_BACKOFF;
                settings = settings.token(response.next_batch.clone());
                let quick_and_empty = started.elapsed() < QUICK_RESPONSE && is_empty(&response);
                on_response(response).await;
                if quick_and_empty {
                    tokio::time::sleep(EMPTY_RESPONSE_PAUSE).await;
                }
            }
            Err(error) => {
                if let Some(ErrorKind::UnknownToken(_)) = error.client_api_error_kind() {
                    return Err(error).context(
                        "the homeserver no longer accepts the saved session: delete matrix.store_path to log in as a new device",
                    );
                }
                warn!(retry_in_ms = backoff.as_millis() as u64, %error, "sync failed, will retry");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Checks that a response carries no update at all.
fn is_empty(response: &SyncResponse) -> bool {
    response.rooms.is_empty()
        && response.presence.is_empty()
        && response.account_data.is_empty()
        && response.to_device.is_empty()
}
