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
