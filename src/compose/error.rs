//! Why an image was not built: one error type for every input, check and output of a
//! build, so that a caller (and the command line's exit status) can tell a refusal from
//! an unreadable input.

use super::MAX_MODULES;
use crate::input::InputError;
use crate::module::ModuleFunction;

/// Why an image was not built, or an input not taken. A variant about one input names
/// it (`name`, as the caller named it), and the message says what to do;
/// [`BuildError::failure`] sorts them into unreadable inputs and refusals.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// [`BuildOptions::platform`](super::BuildOptions::platform), the first module, or the base image.
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
    /// A release folder ([`release_dir::scan`](super::release_dir::scan)) holds two radio stacks of different
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
        /// The input whose module starts lower; with [`replace::replace_user`](super::replace::replace_user), the base
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
    /// in safe mode. Add the module it needs, or set [`BuildOptions::allow_safe_mode`](super::BuildOptions::allow_safe_mode).
    #[error("{name}: {message} (--allow-safe-mode builds it anyway)")]
    UnmetDependency {
        /// The module with the dependency.
        name: String,
        /// What it needs and what the image has instead, in words (with the Device OS
        /// release where the release table knows it).
        message: String,
    },
    /// Nothing to build: no module inputs, and no [`BuildOptions::user`](super::BuildOptions::user).
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
    /// A module does not start on a [`MODULE_ALIGN`](super::MODULE_ALIGN) boundary, where every slot starts:
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
    /// [`Mbr::read`](super::Mbr::read)) not the vector table an MBR starts with.
    #[error("{name}: not a usable MBR: {reason}")]
    Mbr {
        /// The MBR file.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The application given to replace the image's ([`BuildOptions::user`](super::BuildOptions::user), or the
    /// `app` of [`replace::replace_user`](super::replace::replace_user)) is not a user part.
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
    /// The base given to [`replace::read_base`](super::replace::read_base) is a module file, or is taken for one
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
    pub fn failure(&self) -> crate::report::Failure {
        match self {
            BuildError::Input(e) => e.failure(),
            BuildError::NotAnImage { .. } => crate::report::Failure::Unreadable,
            _ => crate::report::Failure::Refused,
        }
    }
}
