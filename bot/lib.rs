//! huntbridge joins threat hunting and incident response in the chat rooms
//! where both teams already work: hunters post findings, the bot turns them
//! into handoffs, opens incident rooms with the evidence, tracks the seven
//! stages of the joint flow and answers leads who ask for status.
//!
//! # Layout
//!
//! Dependencies point inwards only:
//!
//! - [`domain`]: pure types and rules (finding parser, IOC extraction,
//!   ATT&CK catalog, stages, metrics, playbooks). No I/O, no async.
//! - [`app`]: one handler per command; authorization; effects written to
//!   the outbox in the handler's transaction; the outbox worker.
//! - [`store`]: repositories over sqlx, on SQLite or PostgreSQL.
//! - [`render`]: tera templates and string catalogs per language.
//! - [`chat`]: adapters that translate platform events and deliveries
//!   (the shell today; Matrix and Slack plug in at the same boundary).
//! - [`config`]: defaults, TOML file and environment.
//! - [`logging`]: default log filters.

pub mod app;
pub mod chat;
pub mod config;
pub mod domain;
pub mod logging;
pub mod render;
pub mod store;
