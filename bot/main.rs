//! The `huntbridge` command: the bot on Matrix, the shell adapter, database
//! migrations, a configuration check and the stand-alone IOC extractor.
//!
//! Try it with `cargo run -- shell --script cases/regsvr32-squiblydoo/conversation.chat`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing::info;
use tracing_subscriber::EnvFilter;

use huntbridge::app::App;
use huntbridge::chat::matrix;
use huntbridge::chat::shell::{self, ShellAdapter};
use huntbridge::config::{Config, Secret};
use huntbridge::domain::ioc::{Extractor, KnownGood, write_json_lines};
use huntbridge::domain::types::Lang;
use huntbridge::logging::{DEFAULT_LOG_FILTER, RUN_LOG_FILTER};
use huntbridge::store::{Store, redact_url};

#[derive(Parser)]
#[command(
    name = "huntbridge",
    version,
    about = "Chat-ops bot that joins threat hunting and incident response"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bot on Matrix until Ctrl-C or SIGTERM.
    Run {
        /// TOML configuration with a [matrix] section; HUNTBRIDGE_*
        /// variables override it.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Talk to the bot in the terminal, or replay a transcript with --script.
    Shell {
        /// TOML configuration; without it the shell uses a fresh SQLite file
        /// and takes roles from the transcript headers.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Transcript to replay (`--- @user:role #room` headers).
        #[arg(long)]
        script: Option<PathBuf>,
        /// Folder for the files the bot attaches and for the delivery log;
        /// reuse it with --db to resume an interrupted run.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Database URL; overrides the configuration.
        #[arg(long)]
        db: Option<String>,
        /// Language of rooms without /lang (es or en); overrides the configuration.
        #[arg(long)]
        lang: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate {
        /// TOML configuration; without it the defaults apply (SQLite file
        /// huntbridge.db in the current folder). HUNTBRIDGE_* variables
        /// override both.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Load and validate the configuration, then print a summary.
    CheckConfig {
        /// TOML configuration; without it the defaults apply (SQLite file
        /// huntbridge.db in the current folder). HUNTBRIDGE_* variables
        /// override both.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Write an export of one incident: STIX 2.1, MISP event, CSV or the
    /// Markdown report.
    Export {
        /// TOML configuration; without it the defaults apply (SQLite file
        /// huntbridge.db in the current folder). HUNTBRIDGE_* variables
        /// override both.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Database URL; overrides the configuration.
        #[arg(long)]
        db: Option<String>,
        /// Incident ID, e.g. INC-2026-0001.
        #[arg(long)]
        incident: String,
        /// stix, misp, csv or md.
        #[arg(long)]
        format: String,
        /// Output file; standard output when missing.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Language of the Markdown report (es or en).
        #[arg(long)]
        lang: Option<String>,
    },
    /// Read text on stdin and print the indicators in it as JSON lines.
    Iocs {
        /// Extra known-good values (`kind value` lines).
        #[arg(long)]
        known_good: Option<PathBuf>,
    },
}

/// Arenas glibc's malloc may create. Its default, 8 per core, gives most
/// threads an arena of their own, and each keeps freed memory resident: on
/// 2 cores that cost about 0.8 MiB of idle RSS (docs/benchmarks.md). The
/// bot allocates little under load, so 2 arenas are enough.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MALLOC_ARENAS: libc::c_int = 2;

/// Caps glibc's malloc arenas unless `MALLOC_ARENA_MAX` in the environment
/// already sets them.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes allocator settings, and it runs at
        // the start of main, before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS);
        }
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    // One TLS crypto provider for the whole process (see STACK notes in
    // the README): installing it twice is harmless, so the error is ignored.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let default_filter = match cli.command {
        Command::Run { .. } => RUN_LOG_FILTER,
        _ => DEFAULT_LOG_FILTER,
    };
    let filter = EnvFilter::try_from_env("HUNTBRIDGE_LOG")
        .unwrap_or_else(|_| EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run { config } => run_command(config.as_deref()).await,
        Command::Shell {
            config,
            script,
            out,
            db,
            lang,
        } => shell_command(config, script, out, db, lang).await,
        Command::Migrate { config } => {
            let config = Config::load(config.as_deref())?;
            let store = Store::connect(config.database.url.expose()).await?;
            store.migrate().await?;
            println!(
                "migrations applied to {}",
                redact_url(config.database.url.expose())
            );
            Ok(())
        }
        Command::CheckConfig { config } => check_config(config.as_deref()).await,
        Command::Iocs { known_good } => iocs_command(known_good.as_deref()),
        Command::Export {
            config,
            db,
            incident,
            format,
            out,
            lang,
        } => {
            export_command(
                config.as_deref(),
                db,
                &incident,
                &format,
                out.as_deref(),
                lang,
            )
            .await
        }
    }
}

async fn run_command(config_path: Option<&Path>) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    config.matrix.validate()?;
    let store = Store::connect(config.database.url.expose()).await?;
    store.migrate().await?;
    info!(
        database = %redact_url(config.database.url.expose()),
        homeserver = %config.matrix.homeserver,
        "huntbridge starting on Matrix"
    );
    let result = matrix::run(config, store.clone(), shutdown_signal()).await;
    store.close().await;
    info!("huntbridge stopped");
    result
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the bot");
                let _ = interrupt.await;
                return;
            }
        };
    tokio::select! {
        _ = interrupt => info!("Ctrl-C received"),
        _ = terminate.recv() => info!("SIGTERM received"),
    }
}

async fn shell_command(
    config_path: Option<PathBuf>,
    script: Option<PathBuf>,
    out: Option<PathBuf>,
    db: Option<String>,
    lang: Option<String>,
) -> anyhow::Result<()> {
    let mut config = Config::load(config_path.as_deref())?;
    if let Some(lang) = lang {
        config.lang = lang
            .parse::<Lang>()
            .map_err(|_| anyhow::anyhow!("invalid --lang {lang:?}: use es or en"))?;
    }
    let out_dir = out.unwrap_or_else(|| {
        config
            .shell
            .output_dir
            .join(chrono::Local::now().format("run-%Y%m%d-%H%M%S").to_string())
    });
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("failed to create output folder {}", out_dir.display()))?;

    // Without a config file the shell starts on a fresh SQLite file in the
    // output folder and takes each user's role from the transcript header.
    let header_roles = config_path.is_none();
    if let Some(url) = db {
        config.database.url = Secret::new(url);
    } else if config_path.is_none() {
        let path = out_dir.join("huntbridge.db");
        config.database.url = Secret::new(format!("sqlite://{}?mode=rwc", path.display()));
    }
    if config_path.is_none() {
        config.exports.dir = out_dir.join("exports");
    }

    let store = Store::connect(config.database.url.expose()).await?;
    store.migrate().await?;
    let app = App::new(config, store.clone())?;
    let adapter = Arc::new(ShellAdapter::new(&out_dir, Box::new(std::io::stdout()))?);
    println!("huntbridge: output folder {}", out_dir.display());
    info!(out = %out_dir.display(), "shell started");

    match script {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("failed to read transcript {}", path.display()))?;
            let messages = shell::parse_script(&text)
                .with_context(|| format!("invalid transcript {}", path.display()))?;
            let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let script_id = format!(
                "script:{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            let mut echo = std::io::stdout();
            shell::run_script(
                &app,
                adapter,
                &messages,
                &base_dir,
                &script_id,
                header_roles,
                &mut echo,
            )
            .await?;
        }
        None => {
            let base_dir = std::env::current_dir().unwrap_or_default();
            shell::run_interactive(&app, adapter, header_roles, &base_dir).await?;
        }
    }
    println!("\nhuntbridge: files saved under {}", out_dir.display());
    store.close().await;
    Ok(())
}

async fn check_config(path: Option<&Path>) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    // The [matrix] section is checked when it is used: a shell-only
    // configuration has no homeserver.
    if !config.matrix.homeserver.trim().is_empty() {
        config.matrix.validate()?;
    }
    let url = config.database.url.expose();
    // A SQLite file that does not exist yet is not created here: migrate
    // and the bot create it.
    let sqlite_missing = huntbridge::store::sqlite_path(url).is_some_and(|path| !path.exists());
    let store = if sqlite_missing {
        Store::connect("sqlite::memory:").await?
    } else {
        Store::connect(url).await?
    };
    App::new(config.clone(), store.clone())?;
    store.close().await;
    if sqlite_missing {
        println!("note: the SQLite database does not exist yet; `huntbridge migrate` creates it");
    }
    println!("configuration is valid");
    println!("  language: {}", config.lang.as_str());
    println!("  database: {}", redact_url(config.database.url.expose()));
    println!(
        "  rooms: hunting {:?}, ir {:?}, leads {:?}",
        config.rooms.hunting, config.rooms.ir, config.rooms.leads
    );
    println!("  users with roles: {}", config.users.len());
    print_matrix_summary(&config.matrix);
    Ok(())
}

/// Prints the [matrix] settings `huntbridge run` uses, without secrets: the
/// login line names the credential that is set, never its value.
fn print_matrix_summary(matrix: &huntbridge::config::MatrixConfig) {
    if matrix.homeserver.trim().is_empty() {
        println!("  matrix: not configured (the shell needs no [matrix] section)");
        return;
    }
    let login = match (&matrix.access_token, &matrix.password) {
        (Some(_), _) => "access token",
        (None, Some(_)) => "password",
        (None, None) => "none set: only a saved session in the store folder can start",
    };
    println!("  matrix homeserver: {}", matrix.homeserver.trim());
    println!("  matrix user: {}", matrix.user.trim());
    println!("  matrix device name: {}", matrix.device_name);
    println!("  matrix store folder: {}", matrix.store_path.display());
    println!("  matrix login: {login}");
    println!("  command prefixes: {}", matrix.command_prefixes.join(" "));
}

async fn export_command(
    config_path: Option<&Path>,
    db: Option<String>,
    incident: &str,
    format: &str,
    out: Option<&Path>,
    lang: Option<String>,
) -> anyhow::Result<()> {
    use huntbridge::app::commands::export::{ExportFormat, build};
    use huntbridge::app::dossier::Dossier;

    let mut config = Config::load(config_path)?;
    if let Some(url) = db {
        config.database.url = Secret::new(url);
    }
    let lang = match lang {
        Some(lang) => lang
            .parse::<Lang>()
            .map_err(|_| anyhow::anyhow!("invalid --lang {lang:?}: use es or en"))?,
        None => config.lang,
    };
    let format = ExportFormat::parse(format)
        .ok_or_else(|| anyhow::anyhow!("invalid --format {format:?}: use stix, misp, csv or md"))?;
    let store = Store::connect(config.database.url.expose()).await?;
    store.migrate().await?;
    let app = App::new(config, store.clone())?;
    let incident = incident.to_uppercase();
    let dossier = {
        let mut conn = store.conn().await?;
        Dossier::load(&mut conn, &incident)
            .await?
            .with_context(|| format!("incident {incident} not found"))?
    };
    let (name, _, content) = build(app.shared(), &dossier, format, lang)?;
    match out {
        Some(path) => {
            std::fs::write(path, &content)
                .with_context(|| format!("failed to write {}", path.display()))?;
            eprintln!("{name} written to {}", path.display());
        }
        None => print!("{content}"),
    }
    store.close().await;
    Ok(())
}

fn iocs_command(known_good_path: Option<&Path>) -> anyhow::Result<()> {
    let mut known_good = KnownGood::shipped();
    if let Some(path) = known_good_path {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read known-good file {}", path.display()))?;
        known_good
            .extend_from_str(&text)
            .with_context(|| format!("invalid known-good file {}", path.display()))?;
    }
    let extractor = Extractor::new(known_good);
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("failed to read stdin")?;
    let iocs = extractor.extract(&input);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    write_json_lines(&iocs, &mut out).context("failed to write output")?;
    Ok(())
}
