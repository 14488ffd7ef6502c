//! Putting a customer's application into an existing restore image in place of the one
//! it holds (what Particle's web "hex file generator" does), so that the result is the
//! image `build` would make from scratch with that application.

use super::{
    BuildError, ModuleInput, check_dependencies, check_integrity, compatibility_fill,
    system_version_of,
};
use crate::input::{self, Input, InputError};
use crate::inspect::{self, PlacedModule};
use crate::memory::MemoryImage;
use crate::module::ModuleError;
use crate::module::ModuleFunction;
use crate::platform::{self, Platform, RegionName};
use std::path::Path;

/// What [`replace_user`] may allow beyond the strict default.
#[derive(Debug, Default, Clone, Copy)]
#[non_exhaustive]
pub struct ReplaceOptions {
    /// Accept an application whose dependencies the image does not meet.
    pub allow_safe_mode: bool,
}

impl ReplaceOptions {
    /// With [`ReplaceOptions::allow_safe_mode`].
    pub fn with_allow_safe_mode(mut self, allow: bool) -> ReplaceOptions {
        self.allow_safe_mode = allow;
        self
    }
}

/// The base image with its new application.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Replaced {
    /// The base image's platform, from its modules.
    pub platform: &'static Platform,
    /// The base without its old user parts, with the application at its start address
    /// and the compatibility fill decided afresh; every other byte as in the base.
    pub image: MemoryImage,
    /// The user parts taken out: (start, first address past the CRC). Empty when the
    /// base held no application.
    pub removed: Vec<(u64, u64)>,
    /// Dependencies of the application the base does not meet, allowed by
    /// [`ReplaceOptions::allow_safe_mode`].
    pub warnings: Vec<super::BuildWarning>,
}

/// Reads the image whose application is to be replaced: Intel HEX or ELF, never a module
/// ([`BuildError::NotAnImage`], which counts as unreadable).
pub fn read_base(path: &Path) -> Result<MemoryImage, BuildError> {
    let name = path.display().to_string();
    match input::read(path) {
        Ok(Input::Image { image, .. }) => Ok(image),
        Ok(Input::Module { .. }) => Err(BuildError::NotAnImage { name, hint: "" }),
        Err(InputError::Module {
            source: ModuleError::NoPrefix { .. },
            ..
        }) => Err(BuildError::NotAnImage {
            name,
            hint: " (and not a valid module either: no module prefix)",
        }),
        Err(e) => Err(e.into()),
    }
}

/// Replaces the user part of `base` (found by its prefix, wherever it is) with `app`.
///
/// `base_name` is what errors call the base. The application is checked as [`build`]
/// checks it (a user part, intact, for the base's platform, inside its slot, clear of
/// every module the base keeps, aligned, its dependencies met by the base), and the base
/// must be one platform's and its Device OS modules intact: the result is the image
/// `build` would make from the same modules.
///
/// [`build`]: super::build
pub fn replace_user(
    base_name: &str,
    base: &MemoryImage,
    app: &ModuleInput,
    opts: ReplaceOptions,
) -> Result<Replaced, BuildError> {
    let info = &app.module.info;
    if info.function != ModuleFunction::UserPart {
        return Err(BuildError::NotAnApplication {
            name: app.name.clone(),
            function: info.function,
        });
    }
    check_integrity(app)?;

    let found = inspect::find_modules(base);
    let radio = inspect::find_radio_stack(base);
    let platform = base_platform(base_name, &found)?;
    check_base(base_name, &found, radio.as_ref())?;
    if !platform.accepts(info.function, info.platform_id) {
        return Err(BuildError::WrongPlatform {
            name: app.name.clone(),
            found: super::platform_label(info.platform_id),
            expected: format!("{} like {base_name}", super::platform_label(platform.id)),
        });
    }
    if platform
        .slot(ModuleFunction::UserPart, info.index)
        .is_none()
    {
        return Err(BuildError::NoUserSlot {
            name: base_name.to_string(),
            platform: platform.name.clone(),
        });
    }
    let (start, end) = app.placed_range();
    super::check_inside(app, platform, (start, end))?;

    let (old, kept): (Vec<&PlacedModule>, Vec<&PlacedModule>) = found
        .iter()
        .partition(|p| p.module.info.function == ModuleFunction::UserPart);
    let mut occupied: Vec<(u64, u64, String)> = kept
        .iter()
        .map(|p| {
            let i = &p.module.info;
            (
                u64::from(i.start),
                p.end,
                format!("{} {}", i.function, i.index),
            )
        })
        .collect();
    if let Some(r) = &radio {
        occupied.push((u64::from(r.start), r.end, "radio-stack 0".to_string()));
    }
    if let Some((s, e, what)) = occupied.iter().find(|(s, e, _)| *s < end && start < *e) {
        return Err(BuildError::Overlap {
            first: base_name.to_string(),
            first_what: format!("{what} at {s:#010x}-{e:#010x}"),
            second: app.name.clone(),
            second_what: app.label(),
            start,
            end,
        });
    }
    super::check_aligned(app)?;

    let present = inspect::present_in_image(kept.iter().copied(), radio.as_ref());
    let system = system_version_of(&present);
    let warnings = check_dependencies(
        std::iter::once((app.name.as_str(), &app.module)),
        &present,
        system,
        opts.allow_safe_mode,
    )?;

    let mut image = base.clone();
    let removed: Vec<(u64, u64)> = old
        .iter()
        .map(|p| (u64::from(p.module.info.start), p.end))
        .collect();
    for (s, e) in &removed {
        image.remove(*s, *e);
    }
    // The compatibility fill depends on where the application starts: drop the old one
    // (bytes of 0xFF outside any module) and decide afresh, as `build` does.
    if let Some(region) = platform.region(RegionName::CompatibilityFill) {
        let (s, e) = (u64::from(region.start), u64::from(region.end));
        let is_fill = image
            .read(s, (e - s) as usize)
            .is_some_and(|b| b.iter().all(|x| *x == 0xFF));
        let in_module = occupied.iter().any(|(os, oe, _)| *os < e && s < *oe);
        if is_fill && !in_module {
            image.remove(s, e);
        }
        let mut taken: Vec<(u64, u64)> = occupied.iter().map(|(s, e, _)| (*s, *e)).collect();
        taken.push((start, end));
        if let Some(fill) = compatibility_fill(&taken, platform, system) {
            image.write(fill.start, &vec![0xFF; fill.len()]);
        }
    }
    image.write(info.start, &app.bytes);
    Ok(Replaced {
        platform,
        image,
        removed,
        warnings,
    })
}

/// Refuses a base whose system is damaged: putting a new application into it would make
/// an image that fails on the device. The old application is replaced, so its state
/// does not matter.
fn check_base(
    base_name: &str,
    found: &[PlacedModule],
    radio: Option<&inspect::PlacedRadioStack>,
) -> Result<(), BuildError> {
    for p in found
        .iter()
        .filter(|p| p.module.info.function != ModuleFunction::UserPart)
    {
        let i = &p.module.info;
        let fault = if !p.module.crc_ok() {
            Some("its CRC does not match")
        } else if !p.module.sha256_ok() {
            Some("its SHA-256 does not match")
        } else {
            None
        };
        if let Some(reason) = fault {
            return Err(BuildError::CorruptBase {
                name: base_name.to_string(),
                what: format!("{} {} at {:#010x}", i.function, i.index, i.start),
                reason: reason.to_string(),
            });
        }
    }
    if let Some(r) = radio
        && r.sha256_ok == Some(false)
    {
        return Err(BuildError::CorruptBase {
            name: base_name.to_string(),
            what: format!("radio stack at {:#010x}", r.start),
            reason: format!(
                "its bytes {:#010x}-{:#010x} are not those of the radio stack it names (firmware id {:#06x}), or some are missing",
                r.start, r.end, r.info.firmware_id
            ),
        });
    }
    Ok(())
}

fn base_platform(base_name: &str, found: &[PlacedModule]) -> Result<&'static Platform, BuildError> {
    let first = found
        .iter()
        .find(|p| p.module.info.function != ModuleFunction::RadioStack)
        .or(found.first())
        .ok_or_else(|| BuildError::NoModulesInBase {
            name: base_name.to_string(),
        })?;
    let id = first.module.info.platform_id;
    let platform = platform::by_id(id).ok_or_else(|| BuildError::UnknownPlatform {
        name: base_name.to_string(),
        id,
    })?;
    if let Some(other) = found
        .iter()
        .find(|p| !platform.accepts(p.module.info.function, p.module.info.platform_id))
    {
        return Err(BuildError::MixedBase {
            name: base_name.to_string(),
            first: super::platform_label(id),
            second: super::platform_label(other.module.info.platform_id),
        });
    }
    Ok(platform)
}
