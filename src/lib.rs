//! hexsmith: build, check and program Particle Device OS images.
//!
//! Layers, bottom up: [`module`] (the module binary format), [`memory`] (sparse memory
//! images and the files that carry them: Intel HEX, ELF, raw binary), [`platform`]
//! (platforms, flash layouts and releases, as data), [`inspect`] (the checks a device
//! makes at boot). The `hexsmith` command-line tool is a thin layer on top.

pub mod compose;
pub mod flash;
pub mod input;
pub mod inspect;
pub mod memory;
pub mod module;
pub mod output;
pub mod platform;
pub mod upgrade;

/// What kind of failure an error is, which the command line turns into its exit status:
/// a refusal (exit 1) is an input that was read and judged wrong, or an output that
/// would break a rule; `Unreadable` (exit 2) is a file that could not be read or
/// written, or is not the kind of file it should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Refused,
    Unreadable,
}
