//! The files a build takes: module binaries (or a `.hex`/`.elf` holding one module) and
//! the Nordic MBR, each checked as it is read so that an error names the file.

use super::BuildError;
use crate::input::{self, Input, InputError};
use crate::inspect;
use crate::module::{Module, flash_payload};
use crate::platform::releases;
use sha2::Digest;
use std::path::{Path, PathBuf};

/// More modules than any restore image holds (bootloaders, system parts, applications,
/// a radio stack): the command line refuses a longer list with
/// [`BuildError::TooManyModules`] before it reads any file. [`build`](super::build) itself takes any
/// number: its work stays linear in the inputs, since no more than one module per
/// placeable function and index (4 × 256) gets past its duplicate check to the
/// pairwise overlap check.
pub const MAX_MODULES: usize = 16;

/// Size in bytes of the Nordic MBR at 0x00000000 of nRF52840 flash (one 4 KiB page).
pub const MBR_LEN: usize = 0x1000;

/// A module file given to [`build`](super::build), with the name errors should use.
#[derive(Debug, Clone)]
pub struct ModuleInput {
    /// What errors and warnings call the input: its path as given, or the name passed to
    /// [`ModuleInput::from_bytes`]. Its file name also goes into the manifest's `file`
    /// and decides the key of an application in Particle's manifest
    /// ([`particle::ParticleManifest::of`](super::particle::ParticleManifest::of)).
    pub name: String,
    /// The file it was read from, as the operating system names it: `name` is for
    /// people and lossy for a name that is not UTF-8, so outputs are checked against
    /// this. `None` for bytes that came from no file.
    pub path: Option<PathBuf>,
    /// The whole module file, from its start address to the end of its CRC: prefix and
    /// suffix included, even for a radio stack, whose flash bytes are only its payload.
    pub bytes: Vec<u8>,
    /// `bytes` parsed. Parsing does not judge integrity: [`build`](super::build) refuses a bad CRC or
    /// SHA-256 with [`BuildError::Integrity`].
    pub module: Module,
}

impl ModuleInput {
    /// Reads a module from a `.bin`, or from a `.hex` / `.elf` that holds exactly one.
    ///
    /// Refuses an image holding no module or several ([`BuildError::NotOneModule`]), or
    /// bytes besides its module, which a build would drop
    /// ([`BuildError::MoreThanAModule`]); an unreadable file is [`BuildError::Input`].
    pub fn read(path: &Path) -> Result<ModuleInput, BuildError> {
        ModuleInput::read_within(path, &mut input::ReadBudget::default())
    }

    /// [`ModuleInput::read`], counting what it reads against one command's `budget`.
    pub fn read_within(
        path: &Path,
        budget: &mut input::ReadBudget,
    ) -> Result<ModuleInput, BuildError> {
        let name = path.display().to_string();
        match budget.read(path)? {
            Input::Module { bytes, module } => Ok(ModuleInput {
                name,
                path: Some(path.to_path_buf()),
                bytes,
                module,
            }),
            Input::Image { image, .. } => {
                let found = inspect::find_modules(&image);
                let [one] = found.as_slice() else {
                    return Err(BuildError::NotOneModule {
                        name,
                        found: found.len(),
                    });
                };
                let start = u64::from(one.module.info.start);
                let bytes = image
                    .read(start, (one.end - start) as usize)
                    .expect("found modules lie in the image")
                    .to_vec();
                let outside = image.len() - bytes.len() as u64;
                if outside > 0 {
                    let first = image
                        .segments()
                        .iter()
                        .find_map(|s| {
                            if u64::from(s.start) < start {
                                Some(u64::from(s.start))
                            } else if s.end() > one.end {
                                Some(one.end.max(u64::from(s.start)))
                            } else {
                                None
                            }
                        })
                        .unwrap_or(one.end);
                    return Err(BuildError::MoreThanAModule {
                        name,
                        what: format!("{} {}", one.module.info.function, one.module.info.index),
                        outside,
                        first,
                    });
                }
                Ok(ModuleInput {
                    name,
                    path: Some(path.to_path_buf()),
                    bytes,
                    module: one.module.clone(),
                })
            }
        }
    }

    /// A module from bytes already in memory (a download, a catalog file, a test), named
    /// `name` in errors. Only a module binary: the bytes are not sniffed as HEX or ELF.
    /// Bytes that are not a module are [`InputError::Module`] with `name` as its path.
    pub fn from_bytes(name: impl Into<String>, bytes: Vec<u8>) -> Result<ModuleInput, BuildError> {
        let name = name.into();
        match Module::parse(&bytes) {
            Ok(module) => Ok(ModuleInput {
                name,
                path: None,
                bytes,
                module,
            }),
            Err(source) => Err(BuildError::Input(InputError::Module {
                path: name.into(),
                source,
            })),
        }
    }

    pub(crate) fn label(&self) -> String {
        let info = &self.module.info;
        format!("{} {}", info.function, info.index)
    }

    /// Where the module's bytes go in flash: a radio stack without its prefix and suffix.
    pub(crate) fn placed_range(&self) -> (u64, u64) {
        let start = u64::from(self.module.info.start);
        (
            start,
            start + flash_payload(&self.bytes, &self.module).len() as u64,
        )
    }
}

/// The 4 KiB Nordic MBR, from a SoftDevice `.hex`, a 4 KiB `.bin` or an existing image.
/// Particle's modules do not carry it, yet an nRF52840 does not boot without it, so the
/// user supplies it ([`BuildOptions::mbr`](super::BuildOptions::mbr)).
#[derive(Debug, Clone)]
pub struct Mbr {
    /// The file it was read from, as given: for errors and notes.
    pub name: String,
    /// Exactly [`MBR_LEN`] bytes, for flash addresses 0x00000000-0x00000FFF.
    pub bytes: Vec<u8>,
}

impl Mbr {
    /// Reads an MBR and refuses one that does not look like a Nordic MBR (see
    /// [`Mbr::fault`]): written below everything else and run first at every reset, a
    /// wrong one bricks the device until it is reprogrammed over SWD.
    pub fn read(path: &Path) -> Result<Mbr, BuildError> {
        let mbr = Mbr::read_unchecked(path)?;
        match mbr.fault() {
            Some(reason) => Err(BuildError::Mbr {
                name: mbr.name,
                reason: format!(
                    "{reason}: not a Nordic MBR (--allow-unknown-mbr takes it all the same)"
                ),
            }),
            None => Ok(mbr),
        }
    }

    /// Reads an MBR without judging its content (no [`Mbr::fault`] check): for a user who
    /// knows better than the checks (`--allow-unknown-mbr`). Still refuses, with
    /// [`BuildError::Mbr`], a `.bin` that is not exactly 4 KiB or an image that does not
    /// hold every byte of 0x00000000-0x00000FFF; bytes above that are ignored.
    pub fn read_unchecked(path: &Path) -> Result<Mbr, BuildError> {
        let name = path.display().to_string();
        let bad = |reason: String| BuildError::Mbr {
            name: name.clone(),
            reason,
        };
        let raw = input::read_bytes(path)?;
        let image = match input::sniff(path, &raw) {
            input::Format::Module => {
                if raw.len() != MBR_LEN {
                    return Err(bad(format!(
                        "a binary MBR must be exactly 4096 bytes, this one is {}",
                        raw.len()
                    )));
                }
                return Ok(Mbr { name, bytes: raw });
            }
            _ => match input::parse(path, raw)? {
                Input::Image { image, .. } => image,
                Input::Module { .. } => unreachable!("sniffed as an image"),
            },
        };
        let bytes = image
            .read(0, MBR_LEN)
            .ok_or_else(|| bad("does not hold every byte of 0x00000000-0x00000FFF".to_string()))?;
        Ok(Mbr {
            name,
            bytes: bytes.to_vec(),
        })
    }

    /// The name of this MBR if Particle's published images carry it (its SHA-256 is in
    /// the `mbr` list of `src/platform/releases.toml`), or None for any other.
    pub fn known(&self) -> Option<&str> {
        releases().known_mbr(&::hex::encode(sha2::Sha256::digest(&self.bytes)))
    }

    /// Why these bytes are not a Nordic MBR, if they are not: a known one is; another must
    /// at least start with a Cortex-M vector table as Nordic's do: an initial stack
    /// pointer in RAM, and reset, NMI and HardFault handlers (every other system handler
    /// too, where not zero) at odd (Thumb) addresses inside its own 4 KiB.
    pub fn fault(&self) -> Option<String> {
        if self.known().is_some() {
            return None;
        }
        let word = |i: usize| {
            u32::from_le_bytes(self.bytes[i * 4..i * 4 + 4].try_into().expect("4 bytes"))
        };
        let sp = word(0);
        if !(0x2000_0000..=0x2004_0000).contains(&sp) || sp % 4 != 0 {
            return Some(format!(
                "its first word, the initial stack pointer, is {sp:#010x}, not an address in RAM (0x20000000-0x20040000)"
            ));
        }
        const TABLE_END: u32 = 16 * 4;
        for (i, name) in SYSTEM_HANDLERS.iter().enumerate().skip(1) {
            let v = word(i);
            let required = i <= 3;
            if v == 0 && !required {
                continue;
            }
            let inside = (TABLE_END..MBR_LEN as u32).contains(&(v & !1));
            if v & 1 == 0 || !inside {
                return Some(format!(
                    "its {name} vector (word {i}) is {v:#010x}, not a Thumb address inside its own 4 KiB"
                ));
            }
        }
        None
    }
}

/// The Cortex-M vector table's first 16 entries.
const SYSTEM_HANDLERS: [&str; 16] = [
    "initial stack pointer",
    "reset",
    "NMI",
    "HardFault",
    "MemManage",
    "BusFault",
    "UsageFault",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "SVCall",
    "DebugMonitor",
    "reserved",
    "PendSV",
    "SysTick",
];
