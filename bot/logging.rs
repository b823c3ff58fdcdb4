//! Default log filters. `HUNTBRIDGE_LOG` replaces them (`debug`,
//! `huntbridge=trace`).

/// Default log filter of the shell and the one-shot commands: the shell
/// prints the conversation on stdout, so it logs only warnings.
pub const DEFAULT_LOG_FILTER: &str = "warn,sqlx=warn,hyper=warn,matrix_sdk=warn";

/// Default log filter of `huntbridge run`: the bot's lifecycle at `info`,
/// the libraries' warnings only. The libraries' `info` spans would also put
/// their fields (matrix-sdk's sync settings: several kilobytes) on every
/// line the bot logs inside them.
/// matrix-sdk warns after each send that the account has no room key
/// backup; the bot does not use one, so that module logs errors only.
pub const RUN_LOG_FILTER: &str = "info,sqlx=warn,hyper=warn,reqwest=warn,matrix_sdk=warn,\
     matrix_sdk_base=warn,matrix_sdk_crypto=warn,matrix_sdk_crypto::backups=error,\
     matrix_sdk_sqlite=warn,matrix_sdk_common=warn,ruma=warn";
