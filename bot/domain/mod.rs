//! The pure core: plain types and rules with no I/O, no async and no chat or
//! database types. Everything here is unit-tested on its own.

pub mod attack;
pub mod export;
pub mod finding;
pub mod ioc;
pub mod metrics;
pub mod playbook;
pub mod rules;
pub mod stage;
pub mod types;
