//! hexsmith: build, check and program Particle Device OS images.
//!
//! Layers, bottom up: [`module`] (the module binary format), [`memory`] (sparse memory
//! images and the files that carry them: Intel HEX, ELF, raw binary), [`platform`]
//! (platforms, flash layouts and releases, as data), [`inspect`] (the checks a device
//! makes at boot). The `hexsmith` command-line tool is a thin layer on top.

// A library other programs build on is read through its docs. The modules marked
// `allow(missing_docs)` predate the lint and are documented as they are next changed.
#![warn(missing_docs)]

#[allow(missing_docs)]
pub mod compose;
#[allow(missing_docs)]
pub mod flash;
#[allow(missing_docs)]
pub mod input;
#[allow(missing_docs)]
pub mod inspect;
#[allow(missing_docs)]
pub mod memory;
#[allow(missing_docs)]
pub mod module;
#[allow(missing_docs)]
pub mod output;
#[allow(missing_docs)]
pub mod platform;
#[allow(missing_docs)]
pub mod upgrade;

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
