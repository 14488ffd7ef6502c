//! hexsmith: build, check and program Particle Device OS images.
//!
//! Layers, bottom up: [`module`] (the module binary format), [`memory`] (sparse memory
//! images and the files that carry them: Intel HEX, ELF, raw binary), [`platform`]
//! (platforms, flash layouts and releases, as data), [`inspect`] (the checks a device
//! makes at boot), [`compose`] (building restore images and replacing their application),
//! [`upgrade`] (the order in which a device may move between releases), [`flash`]
//! (planning, writing and verifying a device over SWD, behind a small target trait) and
//! [`input`]/[`output`] (reading files within bounds, publishing outputs atomically). The
//! `hexsmith` command-line tool is a thin layer on top.

// A library other programs build on is read through its docs; CI's clippy run turns this
// warning into an error, so a public item cannot land undocumented.
#![warn(missing_docs)]

pub mod compose;
pub mod flash;
pub mod input;
pub mod inspect;
pub mod memory;
pub mod module;
pub mod output;
pub mod platform;
pub mod text;
pub mod upgrade;

pub use text::escape_controls;

/// What kind of failure an error is, which the command line turns into its exit status:
/// a refusal (exit 1) is an input that was read and judged wrong, or an output that
/// would break a rule; `Unreadable` (exit 2) is a file that could not be read or
/// written, or is not the kind of file it should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Read and judged wrong: exit 1.
    Refused,
    /// Not readable, or not the kind of file it should be: exit 2.
    Unreadable,
}

/// The version of every JSON document hexsmith writes (the command line's and the flash
/// layer's alike), raised when a field changes meaning or goes away; a field added keeps
/// it. Documented in docs/json.md.
pub const SCHEMA: u32 = 1;
/// The hexsmith version that wrote a document or log line.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
