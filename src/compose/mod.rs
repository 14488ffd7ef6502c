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
mod checks;
mod error;
mod inputs;
mod manifest;
pub mod particle;
mod published_diff;
pub mod release_dir;
pub mod replace;
mod warning;

pub(crate) use checks::{
    check_aligned, check_dependencies, check_inside, check_integrity, platform_label,
    system_version_of,
};
use checks::{
    check_placeable, check_slots_and_overlaps, common_platform, present_of, system_version,
};
pub use error::BuildError;
pub use inputs::{MAX_MODULES, MBR_LEN, Mbr, ModuleInput};
pub use manifest::{Manifest, ManifestRegion};
pub use published_diff::{ImageModule, published_differences};
pub use warning::BuildWarning;

use crate::memory::{MemoryImage, hex};
use crate::module::{ModuleFunction, flash_payload};
use crate::platform::{Platform, RegionName, releases};
use std::path::Path;

/// What [`build`] may do beyond the strict default. `Default` is the image Particle
/// would publish (UICR included, every dependency met), without an MBR.
#[derive(Debug, Default, Clone)]
#[non_exhaustive]
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

// Outside the crate the struct is built from `Default` and these, so that a new option is
// not a breaking change.
impl BuildOptions {
    /// With [`BuildOptions::mbr`].
    pub fn with_mbr(mut self, mbr: Option<Mbr>) -> BuildOptions {
        self.mbr = mbr;
        self
    }
    /// With [`BuildOptions::no_uicr`].
    pub fn with_no_uicr(mut self, no_uicr: bool) -> BuildOptions {
        self.no_uicr = no_uicr;
        self
    }
    /// With [`BuildOptions::platform`].
    pub fn with_platform(mut self, platform: Option<&'static Platform>) -> BuildOptions {
        self.platform = platform;
        self
    }
    /// With [`BuildOptions::allow_safe_mode`].
    pub fn with_allow_safe_mode(mut self, allow: bool) -> BuildOptions {
        self.allow_safe_mode = allow;
        self
    }
    /// With [`BuildOptions::user`].
    pub fn with_user(mut self, user: Option<ModuleInput>) -> BuildOptions {
        self.user = user;
        self
    }
}

/// A composed restore image and what went into it.
#[derive(Debug, Clone)]
#[non_exhaustive]
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
    /// [`BuildOptions::allow_safe_mode`]); each `Display`s as a sentence for a person.
    pub warnings: Vec<BuildWarning>,
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
/// let mbr = Mbr::read(Path::new("s140_nrf52_7.0.1_softdevice.hex"))?;
/// let opts = BuildOptions::default().with_mbr(Some(mbr));
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

fn compose(
    modules: &[ModuleInput],
    platform: &'static Platform,
    system: Option<u16>,
    opts: &BuildOptions,
    mut warnings: Vec<BuildWarning>,
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
            regions.push(ManifestRegion::new(
                RegionName::Uicr.as_str(),
                None,
                uicr.address,
                page.len(),
            ));
        }
        match &opts.mbr {
            Some(mbr) => {
                image.write(0, &mbr.bytes);
                regions.push(ManifestRegion::new(
                    RegionName::NordicMbr.as_str(),
                    None,
                    0,
                    mbr.bytes.len(),
                ));
            }
            None => warnings.push(BuildWarning::NoMbr),
        }
        let occupied: Vec<(u64, u64)> = modules.iter().map(ModuleInput::placed_range).collect();
        if let Some(fill) = compatibility_fill(&occupied, platform, system) {
            let bytes = vec![0xFF; fill.len()];
            image.write(fill.start, &bytes);
            regions.push(ManifestRegion::new(
                RegionName::CompatibilityFill.as_str(),
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
    let region = platform.region(RegionName::CompatibilityFill)?;
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
