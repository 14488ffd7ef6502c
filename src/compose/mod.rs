//! Composing restore images: one memory image per platform holding everything a device
//! needs, laid out as Particle's published "device restore" images are (spec section 3).
//! It sits on [`crate::module`], [`crate::memory`], [`crate::platform`] and
//! [`crate::inspect`]; the command line's `build`, `replace-user` and `flash` use it.
//!
//! Every input is checked before anything is composed, and a problem is an error that
//! names the file: an image that would leave a device in safe mode is never produced
//! unless the caller explicitly allows it.
//!
//! Start from [`ModuleInput::read`] and [`build`]; [`replace::replace_user`] puts a new
//! application into an existing image, and [`catalog`] builds from hash-checked files.

pub mod catalog;
mod manifest;
pub mod particle;
mod published_diff;
pub mod release_dir;
pub mod replace;

pub use manifest::{Manifest, ManifestRegion};
pub use published_diff::{ImageModule, published_differences};

use crate::input::{self, Input, InputError};
use crate::inspect;
use crate::memory::{MemoryImage, hex};
use crate::module::{
    Dependency, DependencyStatus, Module, ModuleFlags, ModuleFunction, Present, flash_payload,
};
use crate::platform::{self, Platform, releases};
use sha2::Digest;
use std::path::{Path, PathBuf};

/// More modules than any restore image holds (bootloaders, system parts, applications,
/// a radio stack): the command line refuses a longer list with
/// [`BuildError::TooManyModules`] before it reads any file. [`build`] itself takes any
/// number: its work stays linear in the inputs, since no more than one module per
/// placeable function and index (4 × 256) gets past its duplicate check to the
/// pairwise overlap check.
pub const MAX_MODULES: usize = 16;

/// Size in bytes of the Nordic MBR at 0x00000000 of nRF52840 flash (one 4 KiB page).
pub const MBR_LEN: usize = 0x1000;

/// A module file given to [`build`], with the name errors should use.
#[derive(Debug, Clone)]
pub struct ModuleInput {
    /// What errors and warnings call the input: its path as given, or the name passed to
    /// [`ModuleInput::from_bytes`]. Its file name also goes into the manifest's `file`
    /// and decides the key of an application in Particle's manifest
    /// ([`particle::ParticleManifest::of`]).
    pub name: String,
    /// The file it was read from, as the operating system names it: `name` is for
    /// people and lossy for a name that is not UTF-8, so outputs are checked against
    /// this. `None` for bytes that came from no file.
    pub path: Option<PathBuf>,
    /// The whole module file, from its start address to the end of its CRC: prefix and
    /// suffix included, even for a radio stack, whose flash bytes are only its payload.
    pub bytes: Vec<u8>,
    /// `bytes` parsed. Parsing does not judge integrity: [`build`] refuses a bad CRC or
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
/// user supplies it ([`BuildOptions::mbr`]).
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

/// What [`build`] may do beyond the strict default. `Default` is the image Particle
/// would publish (UICR included, every dependency met), without an MBR.
#[derive(Debug, Default, Clone)]
pub struct BuildOptions {
    /// The Nordic MBR to write at 0x00000000 on an nRF52840 platform; ignored on others.
    /// None there leaves it out with a warning: such an image must never be written after
    /// a full chip erase, which clears the MBR.
    pub mbr: Option<Mbr>,
    /// Leave out the UICR page even where Particle's images carry one (nRF52840 only).
    pub no_uicr: bool,
    /// When set, every module must be for this platform ([`BuildError::WrongPlatform`]);
    /// otherwise the platform is that of the first module that is not a radio stack.
    pub platform: Option<&'static Platform>,
    /// Build even when a dependency is unmet (the device would start in safe mode): each
    /// one becomes a warning in [`RestoreImage::warnings`] instead of
    /// [`BuildError::UnmetDependency`].
    pub allow_safe_mode: bool,
    /// Use this application instead of any user part among the inputs (the command
    /// line's `--user`); it must be a user part ([`BuildError::NotAnApplication`]).
    pub user: Option<ModuleInput>,
}

/// Why an image was not built, or an input not taken. A variant about one input names
/// it (`name`, as the caller named it), and the message says what to do;
/// [`BuildError::failure`] sorts them into unreadable inputs and refusals.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// An input could not be read, or is not a module, Intel HEX or ELF file.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A `.hex` or `.elf` given as a module holds none or several: give the module's
    /// `.bin`, or an image holding that module alone.
    #[error("{name}: holds {found} modules; a module input must hold exactly one")]
    NotOneModule {
        /// The file.
        name: String,
        /// How many modules were found in it.
        found: usize,
    },
    /// A module's CRC or SHA-256 does not match its bytes: the file is damaged (a
    /// truncated or altered download); fetch it again.
    #[error(
        "{name}: {what} mismatch (stored {stored}, computed {computed}): the module is corrupt"
    )]
    Integrity {
        /// The module file.
        name: String,
        /// `"CRC"` or `"SHA-256"`.
        what: &'static str,
        /// The value the module carries (suffix or trailing CRC), as lower-case hex.
        stored: String,
        /// The value of its bytes, as lower-case hex.
        computed: String,
    },
    /// A module is for another platform than the rest of the image: than
    /// [`BuildOptions::platform`], the first module, or the base image.
    #[error("{name}: module is for {found}, not {expected}")]
    WrongPlatform {
        /// The module file.
        name: String,
        /// The module's platform, from its prefix, e.g. `boron (platform 13)`.
        found: String,
        /// The platform wanted, and after `like` the input that set it when the user
        /// did not.
        expected: String,
    },
    /// A module of a function no restore image holds: only bootloaders, system parts,
    /// user parts and the radio stack are written; NCP firmware goes to its own chip.
    #[error("{name}: {function} modules cannot be part of a restore image")]
    NotPlaceable {
        /// The module file.
        name: String,
        /// Its module function, from its prefix.
        function: ModuleFunction,
    },
    /// Two inputs are the same module (function and index), say system part 1 of two
    /// releases: give one.
    #[error("{second}: {what} given twice (also {first})")]
    Duplicate {
        /// The input given first.
        first: String,
        /// The input given later, which is refused.
        second: String,
        /// The module both are, e.g. `system-part 1`.
        what: String,
    },
    /// A release folder ([`release_dir::scan`]) holds two radio stacks of different
    /// bytes that could both go into one platform's image, and the file names do not
    /// decide: leave one of them in the folder.
    #[error(
        "{second}: a different radio stack from {first}, and both fit {platform}: leave one of them in the folder"
    )]
    RadioStackConflict {
        /// The platform both would go to, by name.
        platform: String,
        /// The file first by name.
        first: String,
        /// The other file.
        second: String,
    },
    /// A module's bytes leave the slot the platform's layout gives it, or the MCU's
    /// flash where the layout has no slot for it: the module was built for another
    /// layout or Device OS line.
    #[error(
        "{name}: {what} at {start:#010x}-{end:#010x} lies outside its slot {slot_start:#010x}-{slot_end:#010x}"
    )]
    OutsideSlot {
        /// The module file.
        name: String,
        /// The module, e.g. `user-part 1`.
        what: String,
        /// Flash address of its first byte.
        start: u64,
        /// Address past its CRC (exclusive).
        end: u64,
        /// First flash address of the slot.
        slot_start: u32,
        /// Flash address past the slot (exclusive).
        slot_end: u32,
    },
    /// Two modules would share flash bytes.
    #[error(
        "{second}: {second_what} at {start:#010x}-{end:#010x} overlaps {first_what} from {first}"
    )]
    Overlap {
        /// The input whose module starts lower; with [`replace::replace_user`], the base
        /// image.
        first: String,
        /// Its module (with its range, when it is in the base image).
        first_what: String,
        /// The other input.
        second: String,
        /// Its module.
        second_what: String,
        /// Flash address of the second module's first byte.
        start: u64,
        /// Flash address past the second module's last byte (exclusive).
        end: u64,
    },
    /// A module's platform id is not in hexsmith's platform table, so neither its slots
    /// nor its checks are known.
    #[error(
        "{name}: module is for platform {id}, which hexsmith does not know, so neither its slots nor its checks are known (a new platform is an entry in src/platform/platforms.toml)"
    )]
    UnknownPlatform {
        /// The module file, or the base image.
        name: String,
        /// The platform id from the module prefix.
        id: u16,
    },
    /// A module needs a module version the image does not hold: the device would start
    /// in safe mode. Add the module it needs, or set [`BuildOptions::allow_safe_mode`].
    #[error("{name}: {message} (--allow-safe-mode builds it anyway)")]
    UnmetDependency {
        /// The module with the dependency.
        name: String,
        /// What it needs and what the image has instead, in words (with the Device OS
        /// release where the release table knows it).
        message: String,
    },
    /// Nothing to build: no module inputs, and no [`BuildOptions::user`].
    #[error("no modules given")]
    NoModules,
    /// A Device OS module or the radio stack of the base image fails its CRC or SHA-256:
    /// a new application in it would still leave a broken device. Give an intact image.
    #[error("{name}: {what} is corrupt: {reason}: give an intact image as the base")]
    CorruptBase {
        /// The base image.
        name: String,
        /// The damaged module and its address, e.g. `system-part 1 at 0x00030000`.
        what: String,
        /// Which check failed.
        reason: String,
    },
    /// A `.hex` or `.elf` given as a module holds bytes besides its one module, which
    /// the build would silently drop: give a file holding the module alone.
    #[error(
        "{name}: holds {outside} bytes besides its {what} (the first at {first:#010x}), which would be lost: give a file that holds the module alone"
    )]
    MoreThanAModule {
        /// The file.
        name: String,
        /// The module it holds, e.g. `user-part 1`.
        what: String,
        /// How many bytes lie outside the module.
        outside: u64,
        /// Address of the first of them.
        first: u64,
    },
    /// A module packed for an update (compressed, encrypted or combined), which a
    /// device unpacks only when it arrives over the air; a restore image is written to
    /// flash as it is. Give the plain module.
    #[error("{name}: {what} is {reason}")]
    NotFlashable {
        /// The module file.
        name: String,
        /// The module, e.g. `system-part 1`.
        what: String,
        /// Which packing, and what to give instead.
        reason: &'static str,
    },
    /// A module does not start on a [`MODULE_ALIGN`] boundary, where every slot starts:
    /// build it for its slot.
    #[error(
        "{name}: {what} starts at {start:#010x}, not on a 4 KiB boundary where every slot starts: build the module for its slot"
    )]
    Unaligned {
        /// The module file.
        name: String,
        /// The module, e.g. `user-part 1`.
        what: String,
        /// Its start address, from its prefix.
        start: u32,
    },
    /// More than [`MAX_MODULES`] module inputs, refused by the command line before any
    /// is read: give each module once.
    #[error(
        "{count} modules given: a restore image holds at most {MAX_MODULES}: give each module once"
    )]
    TooManyModules {
        /// How many were given.
        count: usize,
    },
    /// The MBR file cannot be used: not 4 KiB, missing bytes of 0x0000-0x0FFF, or (by
    /// [`Mbr::read`]) not the vector table an MBR starts with.
    #[error("{name}: not a usable MBR: {reason}")]
    Mbr {
        /// The MBR file.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The application given to replace the image's ([`BuildOptions::user`], or the
    /// `app` of [`replace::replace_user`]) is not a user part.
    #[error("{name}: not an application: it is a {function} module")]
    NotAnApplication {
        /// The module file.
        name: String,
        /// What it is instead, from its prefix.
        function: ModuleFunction,
    },
    /// The base image holds no module prefix, so neither its platform nor where its
    /// application goes is known.
    #[error("{name}: holds no Particle module, so its platform and user-part slot are unknown")]
    NoModulesInBase {
        /// The base image.
        name: String,
    },
    /// The base image holds modules of two platforms: it is not one device's image.
    #[error("{name}: holds modules of two platforms ({first} and {second})")]
    MixedBase {
        /// The base image.
        name: String,
        /// The platform of its first module that is not a radio stack.
        first: String,
        /// The platform of a module that does not belong with it.
        second: String,
    },
    /// The base given to [`replace::read_base`] is a module file, or is taken for one
    /// (neither HEX nor ELF by content or extension) and is not even that.
    #[error(
        "{name}: a module file, not an image{hint}: give a restore image (.hex or .elf) as the base"
    )]
    NotAnImage {
        /// The base file.
        name: String,
        /// Empty, or a note that the file is not a valid module either.
        hint: &'static str,
    },
    /// The base image's platform has no user-part slot for the application's module
    /// index, so there is nowhere to put it.
    #[error("{name}: {platform} images have no user-part slot")]
    NoUserSlot {
        /// The base image.
        name: String,
        /// The base image's platform name.
        platform: String,
    },
}

impl BuildError {
    /// An input that cannot be read, or is not the kind of file it should be (a module
    /// given as the base image), is `Unreadable`; everything else was read and refused.
    pub fn failure(&self) -> crate::Failure {
        match self {
            BuildError::Input(e) => e.failure(),
            BuildError::NotAnImage { .. } => crate::Failure::Unreadable,
            _ => crate::Failure::Refused,
        }
    }
}

/// A composed restore image and what went into it.
#[derive(Debug, Clone)]
pub struct RestoreImage {
    /// The platform every module is for.
    pub platform: &'static Platform,
    /// The Device OS release of the system part, where the release table knows it; None
    /// without a system part or for a module version the table does not list.
    pub release: Option<String>,
    /// The bytes to program, at their flash addresses (on nRF52840 the UICR page lies
    /// outside main flash, at 0x10001000).
    pub image: MemoryImage,
    /// Every region written (UICR, MBR, compatibility fill, each module), in address
    /// order. Their `sha256` is empty: [`RestoreImage::manifest`] computes it.
    pub regions: Vec<ManifestRegion>,
    /// What the caller allowed or left out (no MBR, a dependency allowed by
    /// [`BuildOptions::allow_safe_mode`]), as sentences for a person.
    pub warnings: Vec<String>,
}

impl RestoreImage {
    /// The image as Intel HEX text, formatted by [`crate::memory::hex::write`]: the same
    /// image always gives the same text. For a file, [`RestoreImage::write_hex`] streams
    /// it instead of holding it all in memory.
    pub fn to_hex(&self) -> String {
        hex::write(&self.image)
    }

    /// Writes the image as Intel HEX to `path`, atomically by the rules of
    /// [`crate::output`]: a power cut leaves the old file or the new one. It knows no
    /// inputs to protect; to refuse overwriting one, stage the file in an
    /// [`crate::output::OutputSet`].
    pub fn write_hex(&self, path: &Path) -> Result<(), crate::output::OutputError> {
        crate::output::write_atomic_with(path, |file| hex::write_to(&self.image, file))
    }
}

/// Checks every input and composes the restore image, or says what is wrong.
///
/// The checks, in order: each module intact and not packed for an update, one platform,
/// only placeable functions and each once, every module inside its slot and none
/// overlapping another, every start 4 KiB aligned, every dependency met. Then the image
/// is laid out as Particle's (spec section 3): on nRF52840 the UICR page, the MBR and
/// the compatibility fill; then every module, a radio stack without its prefix and
/// suffix. The inputs may come in any order.
///
/// ```no_run
/// use hexsmith::compose::{BuildOptions, Mbr, ModuleInput, build};
/// use std::path::Path;
///
/// let files = [
///     "boron-bootloader@4.0.1.bin",
///     "boron-softdevice@4.0.1.bin",
///     "boron-system-part1@4.0.1.bin",
///     "app.bin",
/// ];
/// let inputs = files
///     .iter()
///     .map(|f| ModuleInput::read(Path::new(f)))
///     .collect::<Result<Vec<_>, _>>()?;
/// let opts = BuildOptions {
///     mbr: Some(Mbr::read(Path::new("s140_nrf52_7.0.1_softdevice.hex"))?),
///     ..BuildOptions::default()
/// };
/// let image = build(inputs, &opts)?;
/// for w in &image.warnings {
///     eprintln!("warning: {w}");
/// }
/// image.write_hex(Path::new("boron.hex"))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn build(inputs: Vec<ModuleInput>, opts: &BuildOptions) -> Result<RestoreImage, BuildError> {
    let mut modules = inputs;
    if let Some(user) = &opts.user {
        if user.module.info.function != ModuleFunction::UserPart {
            return Err(BuildError::NotAnApplication {
                name: user.name.clone(),
                function: user.module.info.function,
            });
        }
        modules.retain(|m| m.module.info.function != ModuleFunction::UserPart);
        modules.push(user.clone());
    }
    if modules.is_empty() {
        return Err(BuildError::NoModules);
    }
    for m in &modules {
        check_integrity(m)?;
    }
    let platform = common_platform(&modules, opts.platform)?;
    check_placeable(&modules)?;
    check_slots_and_overlaps(&modules, platform)?;
    modules.iter().try_for_each(check_aligned)?;
    let release_module = system_version(&modules);
    let present = present_of(&modules);
    let warnings = check_dependencies(
        modules.iter().map(|m| (m.name.as_str(), &m.module)),
        &present,
        release_module,
        opts.allow_safe_mode,
    )?;
    modules.sort_by_key(|m| m.module.info.start);
    Ok(compose(&modules, platform, release_module, opts, warnings))
}

/// Module files placed where they go in flash (a radio stack without its prefix), after
/// the checks that concern the modules themselves: integrity, one platform, slots, no
/// overlaps. No UICR, MBR or fill, and no dependency check: this is what writing a few
/// modules to a device (say, a new application alone) needs. Returns the modules'
/// platform with the image.
pub fn place_modules(
    inputs: &[ModuleInput],
) -> Result<(&'static Platform, MemoryImage), BuildError> {
    if inputs.is_empty() {
        return Err(BuildError::NoModules);
    }
    for m in inputs {
        check_integrity(m)?;
    }
    let platform = common_platform(inputs, None)?;
    check_placeable(inputs)?;
    check_slots_and_overlaps(inputs, platform)?;
    inputs.iter().try_for_each(check_aligned)?;
    let mut image = MemoryImage::new();
    for m in inputs {
        image.write(m.module.info.start, flash_payload(&m.bytes, &m.module));
    }
    Ok((platform, image))
}

/// Every module a device finds in flash starts on a 4 KiB boundary, the flash page of
/// the nRF52840 and RTL872x and a divisor of every STM32F2 sector.
pub const MODULE_ALIGN: u32 = 0x1000;

/// Refuses what a device cannot run from where a restore image puts it: a module packed
/// for an update (compressed, encrypted, combined).
pub(crate) fn check_flashable(m: &ModuleInput) -> Result<(), BuildError> {
    let info = &m.module.info;
    let packed = [
        (
            ModuleFlags::COMPRESSED,
            "compressed: a device inflates a module only when it arrives as an update, and a restore image is written to flash as it is: give the uncompressed module",
        ),
        (
            ModuleFlags::ENCRYPTED,
            "encrypted: only a device's update path decrypts a module, and a restore image is written to flash as it is: give the unencrypted module",
        ),
        (
            ModuleFlags::COMBINED,
            "combined (several modules in one file, for an update): give each module's own file",
        ),
    ];
    for (flag, reason) in packed {
        if info.flags.contains(flag) {
            return Err(BuildError::NotFlashable {
                name: m.name.clone(),
                what: m.label(),
                reason,
            });
        }
    }
    Ok(())
}

/// Refuses a module at an unaligned start; checked after slots and overlaps, whose
/// errors say more.
pub(crate) fn check_aligned(m: &ModuleInput) -> Result<(), BuildError> {
    let start = m.module.info.start;
    if !start.is_multiple_of(MODULE_ALIGN) {
        return Err(BuildError::Unaligned {
            name: m.name.clone(),
            what: m.label(),
            start,
        });
    }
    Ok(())
}

pub(crate) fn check_integrity(m: &ModuleInput) -> Result<(), BuildError> {
    check_flashable(m)?;
    let module = &m.module;
    if !module.crc_ok() {
        return Err(BuildError::Integrity {
            name: m.name.clone(),
            what: "CRC",
            stored: format!("{:08x}", module.crc_stored),
            computed: format!("{:08x}", module.crc_computed),
        });
    }
    if !module.sha256_ok() {
        return Err(BuildError::Integrity {
            name: m.name.clone(),
            what: "SHA-256",
            stored: ::hex::encode(module.suffix.sha256),
            computed: ::hex::encode(module.sha256_computed),
        });
    }
    Ok(())
}

pub(crate) fn platform_label(id: u16) -> String {
    match platform::by_id(id) {
        Some(p) => format!("{} (platform {id})", p.name),
        None => format!("platform {id}"),
    }
}

/// The platform every module is for. A radio stack may carry the id of another platform
/// of the same MCU (see [`Platform::accepts`]), so the platform is taken from the other
/// modules where there are any.
fn common_platform(
    modules: &[ModuleInput],
    wanted: Option<&'static Platform>,
) -> Result<&'static Platform, BuildError> {
    let first = modules
        .iter()
        .find(|m| m.module.info.function != ModuleFunction::RadioStack)
        .unwrap_or(&modules[0]);
    let expected_id = wanted.map_or(first.module.info.platform_id, |p| p.id);
    let platform = platform::by_id(expected_id).ok_or_else(|| BuildError::UnknownPlatform {
        name: first.name.clone(),
        id: expected_id,
    })?;
    for m in modules {
        let info = &m.module.info;
        if !platform.accepts(info.function, info.platform_id) {
            let expected = match wanted {
                Some(_) => platform_label(expected_id),
                None => format!("{} like {}", platform_label(expected_id), first.name),
            };
            return Err(BuildError::WrongPlatform {
                name: m.name.clone(),
                found: platform_label(info.platform_id),
                expected,
            });
        }
    }
    Ok(platform)
}

fn check_placeable(modules: &[ModuleInput]) -> Result<(), BuildError> {
    for (i, m) in modules.iter().enumerate() {
        let f = m.module.info.function;
        let placeable = matches!(
            f,
            ModuleFunction::Bootloader
                | ModuleFunction::SystemPart
                | ModuleFunction::UserPart
                | ModuleFunction::RadioStack
        );
        if !placeable {
            return Err(BuildError::NotPlaceable {
                name: m.name.clone(),
                function: f,
            });
        }
        if let Some(earlier) = modules[..i]
            .iter()
            .find(|o| o.module.info.function == f && o.module.info.index == m.module.info.index)
        {
            return Err(BuildError::Duplicate {
                first: earlier.name.clone(),
                second: m.name.clone(),
                what: m.label(),
            });
        }
    }
    Ok(())
}

fn check_slots_and_overlaps(
    modules: &[ModuleInput],
    platform: &Platform,
) -> Result<(), BuildError> {
    for m in modules {
        let info = &m.module.info;
        check_inside(
            m,
            platform,
            (u64::from(info.start), u64::from(info.end) + 4),
        )?;
    }
    // Pairwise, yet bounded: check_placeable let through at most one module per
    // placeable function and index, 4 × 256.
    for (i, a) in modules.iter().enumerate() {
        for b in &modules[i + 1..] {
            let (a0, a1) = a.placed_range();
            let (b0, b1) = b.placed_range();
            if a0 < b1 && b0 < a1 {
                let (first, second) = if a0 <= b0 { (a, b) } else { (b, a) };
                let (s0, s1) = second.placed_range();
                return Err(BuildError::Overlap {
                    first: first.name.clone(),
                    first_what: first.label(),
                    second: second.name.clone(),
                    second_what: second.label(),
                    start: s0,
                    end: s1,
                });
            }
        }
    }
    Ok(())
}

/// Refuses a module whose bytes reach outside its slot.
pub(crate) fn check_inside(
    m: &ModuleInput,
    platform: &Platform,
    (start, end): (u64, u64),
) -> Result<(), BuildError> {
    let info = &m.module.info;
    platform
        .check_placement(info.function, info.index, start, end)
        .map_err(|outside| BuildError::OutsideSlot {
            name: m.name.clone(),
            what: m.label(),
            start,
            end,
            slot_start: outside.allowed.start,
            slot_end: outside.allowed.end,
        })
}

/// The version of the system parts, which names the image's Device OS release.
fn system_version(modules: &[ModuleInput]) -> Option<u16> {
    system_version_of(&present_of(modules))
}

pub(crate) fn system_version_of(present: &[Present]) -> Option<u16> {
    present
        .iter()
        .filter(|p| p.function == ModuleFunction::SystemPart)
        .map(|p| p.version)
        .min()
}

fn present_of(modules: &[ModuleInput]) -> Vec<Present> {
    modules
        .iter()
        .map(|m| Present {
            function: m.module.info.function,
            index: m.module.info.index,
            version: m.module.info.version,
        })
        .collect()
}

/// The dependencies of `module` that nothing present meets.
fn unmet(module: &Module, present: &[Present]) -> Vec<Dependency> {
    module
        .info
        .active_dependencies()
        .filter(|dep| dep.status(present) == DependencyStatus::Unmet)
        .copied()
        .collect()
}

/// Refuses the first unmet dependency, or with `allow_safe_mode` turns every one into a
/// warning.
pub(crate) fn check_dependencies<'a>(
    modules: impl Iterator<Item = (&'a str, &'a Module)>,
    present: &[Present],
    system: Option<u16>,
    allow_safe_mode: bool,
) -> Result<Vec<String>, BuildError> {
    let mut warnings = Vec::new();
    for (name, module) in modules {
        for dep in unmet(module, present) {
            let message = dependency_message(module.info.function, &dep, present, system);
            if !allow_safe_mode {
                return Err(BuildError::UnmetDependency {
                    name: name.to_string(),
                    message,
                });
            }
            warnings.push(format!("{name}: {message} (allowed by --allow-safe-mode)"));
        }
    }
    Ok(warnings)
}

fn release_text(version: u16) -> String {
    match releases().system_release(version) {
        Some(r) => format!("Device OS {r} or later (system module {version})"),
        None => format!("system module {version} or later"),
    }
}

fn dependency_message(
    dependent: ModuleFunction,
    dep: &Dependency,
    present: &[Present],
    system: Option<u16>,
) -> String {
    let what = dependent.name().replace('-', " ");
    if dep.function == ModuleFunction::SystemPart {
        let has = match system {
            Some(v) => match releases().system_release(v) {
                Some(r) => format!("the image has {r} ({v})"),
                None => format!("the image has system module {v}"),
            },
            None => "the image has no system part".to_string(),
        };
        return format!(
            "{what} needs {}; {has}: the device would start in safe mode",
            release_text(dep.version)
        );
    }
    let has = match present
        .iter()
        .find(|p| p.function == dep.function && p.index == dep.index)
    {
        Some(p) => format!("the image's is version {}", p.version),
        None => "the image has none".to_string(),
    };
    format!(
        "{what} needs {} {} version {} or later; {has}: the device would start in safe mode",
        dep.function, dep.index, dep.version
    )
}

fn compose(
    modules: &[ModuleInput],
    platform: &'static Platform,
    system: Option<u16>,
    opts: &BuildOptions,
    mut warnings: Vec<String>,
) -> RestoreImage {
    let mut image = MemoryImage::new();
    let mut regions = Vec::new();
    if platform.is_nrf52840() {
        if let Some(uicr) = platform.uicr().filter(|_| !opts.no_uicr) {
            let mut page = vec![0xFF; 0x1000];
            for [addr, value] in &uicr.words {
                let at = (addr - uicr.address) as usize;
                page[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
            image.write(uicr.address, &page);
            regions.push(ManifestRegion::new("uicr", None, uicr.address, page.len()));
        }
        match &opts.mbr {
            Some(mbr) => {
                image.write(0, &mbr.bytes);
                regions.push(ManifestRegion::new("nordic-mbr", None, 0, mbr.bytes.len()));
            }
            None => warnings.push(
                "no MBR given (--mbr): the image carries no Nordic MBR and must never be written after a full chip erase"
                    .to_string(),
            ),
        }
        let occupied: Vec<(u64, u64)> = modules.iter().map(ModuleInput::placed_range).collect();
        if let Some(fill) = compatibility_fill(&occupied, platform, system) {
            let bytes = vec![0xFF; fill.len()];
            image.write(fill.start, &bytes);
            regions.push(ManifestRegion::new(
                "compatibility-fill",
                None,
                fill.start,
                bytes.len(),
            ));
        }
    }
    for m in modules {
        let payload = flash_payload(&m.bytes, &m.module);
        let start = m.module.info.start;
        image.write(start, payload);
        regions.push(ManifestRegion::new(
            m.module.info.function.name(),
            Some(m),
            start,
            payload.len(),
        ));
    }
    regions.sort_by_key(|r| r.start);
    RestoreImage {
        platform,
        release: system.and_then(|v| releases().system_release(v).map(str::to_string)),
        image,
        regions,
        warnings,
    }
}

pub(crate) fn file_name(name: &str) -> String {
    Path::new(name)
        .file_name()
        .map_or_else(|| name.to_string(), |n| n.to_string_lossy().into_owned())
}

/// From Device OS 3.1.0 on (not on tracker: platforms.toml), Particle's images blank the first 1 KiB of
/// the old 128 KiB user-part slot so a stale application there is no longer found; not
/// when a module of the image (its own 128 KiB application) lies there.
pub(crate) fn compatibility_fill(
    occupied: &[(u64, u64)],
    platform: &Platform,
    system: Option<u16>,
) -> Option<std::ops::Range<u32>> {
    let region = platform
        .regions()
        .iter()
        .find(|r| r.name == "compatibility-fill")?;
    let since = releases()
        .system
        .iter()
        .find(|r| r.release == "3.1.0")?
        .module;
    if !platform.compatibility_fill || system? < since {
        return None;
    }
    let touched = occupied
        .iter()
        .any(|(s, e)| *s < u64::from(region.end) && u64::from(region.start) < *e);
    (!touched).then_some(region.start..region.end)
}
