//! The checks every input passes before anything is composed: intact, not packed for an
//! update, one platform, placeable, inside its slot, aligned, not overlapping, every
//! dependency met. Each refusal is a [`BuildError`] naming the file and the fix.

use super::{BuildError, BuildWarning, MODULE_ALIGN, ModuleInput};
use crate::module::{Dependency, DependencyStatus, Module, ModuleFlags, ModuleFunction, Present};
use crate::platform::{self, Platform, releases};

/// Refuses what a device cannot run from where a restore image puts it: a module packed
/// for an update (compressed, encrypted, combined).
fn check_flashable(m: &ModuleInput) -> Result<(), BuildError> {
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
pub(super) fn common_platform(
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

pub(super) fn check_placeable(modules: &[ModuleInput]) -> Result<(), BuildError> {
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

pub(super) fn check_slots_and_overlaps(
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
pub(super) fn system_version(modules: &[ModuleInput]) -> Option<u16> {
    system_version_of(&present_of(modules))
}

pub(crate) fn system_version_of(present: &[Present]) -> Option<u16> {
    present
        .iter()
        .filter(|p| p.function == ModuleFunction::SystemPart)
        .map(|p| p.version)
        .min()
}

pub(super) fn present_of(modules: &[ModuleInput]) -> Vec<Present> {
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
) -> Result<Vec<BuildWarning>, BuildError> {
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
            warnings.push(BuildWarning::UnmetDependency {
                name: name.to_string(),
                message,
            });
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
