//! hexsmith: build, check and program Particle Device OS images.
//!
//! # As an application
//!
//! The `hexsmith` command line (`cargo install --locked --path .`) builds restore images,
//! puts a customer's application into them, inspects any `.bin`/`.hex`/`.elf` the way a
//! device checks itself at boot, and programs devices over SWD. Its README is the manual.
//!
//! # As a library
//!
//! A production-line program or another Particle tool depends on the library alone, with
//! probe-rs where it programs devices, and the emulated silicon where it rehearses without
//! them (the emulator's Thumb core, armagnac, is compiled only then):
//!
//! ```toml
//! [dependencies]
//! hexsmith = { version = "0.1", default-features = false }                          # images only
//! # hexsmith = { version = "0.1", default-features = false, features = ["probe"] }    # and SWD
//! # hexsmith = { version = "0.1", default-features = false, features = ["emulator"] } # and emulated chips
//! ```
//!
//! Build a restore image from module files; every module is checked as it is read, and all
//! of them together before a byte is placed (one platform, slots, overlaps, dependencies):
//!
//! ```no_run
//! use hexsmith::{BuildOptions, ModuleInput, build};
//! use std::path::Path;
//!
//! let inputs = ["boron-bootloader@4.0.1.bin", "boron-softdevice@4.0.1.bin",
//!               "boron-system-part1@4.0.1.bin", "tinker-0.8.0-rc.27-boron.bin"]
//!     .iter()
//!     .map(|f| ModuleInput::read(Path::new(f)))
//!     .collect::<Result<Vec<_>, _>>()?;
//! let image = build(inputs, &BuildOptions::default())?;
//! image.write_hex(Path::new("boron.hex"))?; // temporary file, fsync, rename
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Put a customer's application into an existing image; one that needs a Device OS the
//! image does not hold is refused, since the device would boot it into safe mode:
//!
//! ```no_run
//! use hexsmith::input::{self, Input};
//! use hexsmith::{ModuleInput, ReplaceOptions, replace_user};
//! use std::path::Path;
//!
//! let Input::Image { image: base, .. } = input::read(Path::new("boron.hex"))? else {
//!     return Err("not an image".into());
//! };
//! let app = ModuleInput::read(Path::new("my-app.bin"))?;
//! let replaced = replace_user("boron.hex", &base, &app, ReplaceOptions::default())?;
//! println!("{} image, {} bytes", replaced.platform.name, replaced.image.len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Plan an image for its chip and write it to a [`flash::FlashTarget`]: a probe-rs session
//! (`flash::probe::ProbeTarget`, feature `probe`), the emulated silicon behind it
//! (`flash::emulator`, feature `emulator`), or the simulated flash used by tests (`flash::sim`,
//! feature `testing`). Units that already hold the
//! right bytes are skipped; written units are verified:
//!
//! ```no_run
//! # #[cfg(feature = "emulator")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use hexsmith::flash::emulator::{Chip, EmulatedDevice};
//! use hexsmith::flash::probe::{Connect, ProbeTarget};
//! use hexsmith::input::{self, Input};
//! use hexsmith::{FlashJob, FlashOptions, PlanOptions, execute};
//! use std::path::Path;
//!
//! let Input::Image { image, .. } = input::read(Path::new("boron.hex"))? else {
//!     return Err("not an image".into());
//! };
//! let job = FlashJob::from_image(image, None, None)?; // refuses an image that fails a boot check
//! let plan = job.plan(PlanOptions::default())?;
//! let device = EmulatedDevice::without_state(Chip::Nrf52840); // or leave `emulate` out
//! let mut target = ProbeTarget::connect(&Connect {
//!     emulate: Some(device),
//!     chip: job.chip.clone().ok_or("no probe-rs target")?,
//!     ..Connect::default()
//! })?;
//! let options = FlashOptions { verify: true, ..FlashOptions::default() };
//! let report = execute(&plan, &job.image, &mut target, &options, &mut |_| {})?;
//! println!("{} units written, {} already held", report.units_written, report.units_skipped);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "emulator"))]
//! # fn main() {}
//! ```
//!
//! `examples/` holds the same three flows as programs (`build_image`, `replace_app`,
//! `flash_emulated`), run by CI on real Device OS modules.
//!
//! # Layers
//!
//! Bottom up: [`module`] (the module binary format), [`memory`] (sparse memory images and
//! the files that carry them: Intel HEX, ELF, raw binary), [`platform`] (platforms, flash
//! layouts and releases, as data), [`inspect`] (the checks a device makes at boot),
//! [`compose`] (building restore images and replacing their application), [`upgrade`]
//! (the order in which a device may move between releases), [`flash`] (planning, writing
//! and verifying a device over SWD, behind a small target trait) and [`input`]/[`output`]
//! (reading files within bounds, publishing outputs atomically). The `hexsmith` command
//! line is a thin layer on top. ARCHITECTURE.md says where each decision is made.
//!
//! # Stability
//!
//! hexsmith is 0.x: a minor release may change the API. What is public is meant for use:
//! the items re-exported here and the modules' public items. The emulated silicon
//! (`flash::emulator`, feature `emulator`) and the simulated flash (`flash::sim`, feature
//! `testing`) are test doubles, each behind its own feature so that a build that asks for
//! neither carries neither; the emulator is public so that a production program can
//! rehearse a station without hardware. Their internals may change in any release. The JSON documents the command line prints are versioned on
//! their own ([`SCHEMA`], docs/json.md).

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

pub use compose::replace::{ReplaceOptions, Replaced, replace_user};
pub use compose::{BuildError, BuildOptions, Mbr, ModuleInput, RestoreImage, build};
pub use flash::{
    FlashJob, FlashOptions, FlashPlan, FlashReport, FlashTarget, PlanOptions, execute,
};
pub use memory::MemoryImage;
pub use module::Module;
pub use platform::Platform;
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
