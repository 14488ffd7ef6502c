//! What is to be written and for which chip: the image, its platform, the probe-rs target
//! and the plan, decided once so that a dry run plans exactly what a real run writes.

use super::{FlashPlan, PlanError, PlanOptions, check_before_writing};
use crate::inspect;
use crate::memory::MemoryImage;
use crate::platform::{self, Mcu, Platform};
use serde::Serialize;
use std::path::Path;

pub use crate::{SCHEMA, TOOL_VERSION};

/// Why an image cannot become a [`FlashJob`]: checked before any probe is touched.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The image holds no Particle module to take the platform from, and no chip the
    /// platform table knows was named: name it with `--chip`.
    #[error("holds no Particle module, so its platform is unknown: name the chip with --chip")]
    UnknownPlatform,
    /// The image is refused: a module fails a boot check ([`check_before_writing`]), or
    /// the image cannot be planned.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// `--chip` is not in probe-rs's registry, or its flash does not hold the platform's
    /// erase units, or the `--chip-description-path` file is unusable.
    #[cfg(feature = "probe")]
    #[error(transparent)]
    Chip(#[from] super::probe::ProbeError),
    /// Built without the `probe` feature, so without probe-rs's registry: a `--chip` other
    /// than the platform's own cannot be checked. Leave `--chip` out.
    #[cfg(not(feature = "probe"))]
    #[error(
        "--chip {chip}: this hexsmith was built without probe support and cannot check it against {platform}'s chip ({expected}); leave --chip out"
    )]
    ChipUnchecked {
        /// The chip as given.
        chip: String,
        /// The image's platform name.
        platform: String,
        /// The platform's probe-rs target name, empty where it has none.
        expected: String,
    },
}

impl JobError {
    /// The failure a chip error says (an unreadable chip description is `Unreadable`);
    /// `None` for the rest, which are refusals. `Chip` is transparent, so its error is
    /// not in an error chain of its own: ask here.
    pub fn failure(&self) -> Option<crate::Failure> {
        match self {
            #[cfg(feature = "probe")]
            JobError::Chip(e) => e.failure(),
            _ => None,
        }
    }
}

/// An image ready to be planned and written.
#[derive(Debug, Clone)]
pub struct FlashJob {
    /// The bytes to write, at their flash addresses.
    pub image: MemoryImage,
    /// The image's modules' platform, or the chip's for an image without modules.
    pub platform: &'static Platform,
    /// The probe-rs target name: the one given, resolved through the registry, or the
    /// platform's built-in one. None for a chip probe-rs has no built-in target for.
    pub chip: Option<String>,
    /// SHA-256 of the image's bytes (memory content, not of the file that carried it).
    pub image_sha256: String,
    /// Why the image may still not run, though it may be written.
    pub warnings: Vec<String>,
    /// Why `platform` is the one: the image's modules name it, or (an image without
    /// modules) it is the first platform of the chip `--chip` names, an assumption
    /// whose only consequence is the erase-unit layout, which every platform of one chip
    /// shares.
    pub platform_basis: String,
    /// Where `platform` came from, for a script to tell a named platform from an assumed one.
    pub platform_from: PlatformFrom,
}

/// Where a flash job's platform came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlatformFrom {
    /// The image's (or the composed module files') modules name it.
    Modules,
    /// Assumed: the image holds no module, and it is the first platform of `--chip`'s chip.
    Chip,
}

impl FlashJob {
    /// An image read from a file: refused if a module in it fails a boot check; its
    /// platform is the modules' one, or, for an image without modules, the chip's.
    pub fn from_image(
        image: MemoryImage,
        chip: Option<&str>,
        chip_description: Option<&Path>,
    ) -> Result<FlashJob, JobError> {
        let report = inspect::inspect_image(&image, "image");
        let warnings = check_before_writing(&report)?;
        let named = report.platform_id.and_then(platform::by_id);
        let (platform, basis, from) = match (named, chip) {
            (Some(p), _) => (
                p,
                format!("the image's modules are for platform {}", p.id),
                PlatformFrom::Modules,
            ),
            (None, Some(chip)) => {
                let p = platform_for_chip(chip).ok_or(JobError::UnknownPlatform)?;
                let kin: Vec<&str> = platform::all()
                    .iter()
                    .filter(|o| std::ptr::eq(o.mcu(), p.mcu()))
                    .map(|o| o.name.as_str())
                    .collect();
                (
                    p,
                    format!(
                        "assumed: the image holds no module, and --chip {chip} is the chip of {} (the first is taken; they share its erase units)",
                        kin.join(", ")
                    ),
                    PlatformFrom::Chip,
                )
            }
            (None, None) => return Err(JobError::UnknownPlatform),
        };
        let mut job = FlashJob::for_platform(image, platform, chip, chip_description)?;
        job.warnings = warnings;
        job.platform_basis = basis;
        job.platform_from = from;
        Ok(job)
    }

    /// An image composed for a known platform (module files placed by the caller).
    pub fn for_platform(
        image: MemoryImage,
        platform: &'static Platform,
        chip: Option<&str>,
        chip_description: Option<&Path>,
    ) -> Result<FlashJob, JobError> {
        let chip = chip_for(platform, chip, chip_description)?;
        Ok(FlashJob {
            image_sha256: hex::encode(image.sha256()),
            image,
            platform,
            chip,
            warnings: Vec::new(),
            platform_basis: format!("the modules are for platform {}", platform.id),
            platform_from: PlatformFrom::Modules,
        })
    }

    /// The platform's MCU: its erase units, timings and device ID location.
    pub fn mcu(&self) -> &'static Mcu {
        self.platform.mcu()
    }

    /// The plan of this job's image for its platform's MCU.
    pub fn plan(&self, options: PlanOptions) -> Result<FlashPlan, PlanError> {
        FlashPlan::new(&self.image, self.platform, self.mcu(), options)
    }

    /// The dry run's document (`flash --dry-run --json`) for a plan of this job.
    pub fn plan_document(
        &self,
        plan: &FlashPlan,
        time: super::estimate::ProbeEstimate,
    ) -> PlanDocument {
        PlanDocument {
            schema: SCHEMA,
            version: TOOL_VERSION,
            chip: self.chip.clone(),
            platform: self.platform.name.clone(),
            platform_from: self.platform_from,
            platform_basis: self.platform_basis.clone(),
            sectors: plan
                .units
                .iter()
                .map(|u| [u64::from(u.start), u.end])
                .collect(),
            bytes: plan.bytes,
            erase_units: plan.units.len(),
            erase_bytes: plan.units.iter().map(|u| u.len() as u64).sum(),
            chip_erase: plan.chip_erase,
            attach_under_reset: self.mcu().attach_under_reset,
            image_sha256: self.image_sha256.clone(),
            estimate: plan.estimate,
            time,
        }
    }
}

/// `flash --dry-run --json`: what a real run would write, without a probe. Described in
/// docs/json.md.
#[derive(Debug, Clone, Serialize)]
pub struct PlanDocument {
    /// [`SCHEMA`].
    pub schema: u32,
    /// [`TOOL_VERSION`].
    pub version: &'static str,
    /// The probe-rs target a real run attaches to; `None` where the platform has no
    /// built-in one and none was named.
    pub chip: Option<String>,
    /// The platform name, as in the platform table.
    pub platform: String,
    /// Whether the image's modules named the platform or it was assumed from `--chip`.
    pub platform_from: PlatformFrom,
    /// Why the platform is the one, in words (the text output's).
    pub platform_basis: String,
    /// Erase units the image touches, as `[start, end)`.
    pub sectors: Vec<[u64; 2]>,
    /// Bytes the image holds (gaps not counted).
    pub bytes: u64,
    /// How many units `sectors` lists.
    pub erase_units: usize,
    /// Their total size: the most a run erases and programs (units are written whole).
    pub erase_bytes: u64,
    /// The whole chip is erased first (`--chip-erase`).
    pub chip_erase: bool,
    /// The MCU is attached to under reset (Gen 2: Device OS turns SWD off once running).
    pub attach_under_reset: bool,
    /// SHA-256 of the image's bytes (memory content, not of the file), lower-case hex.
    pub image_sha256: String,
    /// The flash controller's time alone, from datasheet figures, every unit written.
    pub estimate: super::Estimate,
    /// The whole run's time on a kind of probe, and what it assumed.
    pub time: super::estimate::ProbeEstimate,
}

/// The probe-rs target for a device of this platform: `chip` checked against the registry
/// and the platform's flash, or the platform's own chip when none is named.
pub fn chip_for(
    platform: &Platform,
    chip: Option<&str>,
    chip_description: Option<&Path>,
) -> Result<Option<String>, JobError> {
    match chip {
        Some(chip) => Ok(Some(check_chip(chip, chip_description, platform)?)),
        None => Ok(platform.mcu().chip.clone()),
    }
}

/// The platform whose MCU is this chip, for an image without modules. A probe-rs name
/// may carry a package suffix the platform table leaves out (STM32F205RGTx for
/// STM32F205RG), so either may be a prefix of the other.
pub fn platform_for_chip(chip: &str) -> Option<&'static Platform> {
    let chip = chip.to_ascii_lowercase();
    platform::all().iter().find(|p| {
        p.mcu().chip.as_deref().is_some_and(|c| {
            let c = c.to_ascii_lowercase();
            c.starts_with(&chip) || chip.starts_with(&c)
        })
    })
}

#[cfg(feature = "probe")]
fn check_chip(
    chip: &str,
    chip_description: Option<&Path>,
    platform: &Platform,
) -> Result<String, JobError> {
    Ok(super::probe::resolve_chip(
        chip,
        chip_description,
        platform,
    )?)
}

/// Without probe-rs's registry only the platform's own chip name can be recognised.
#[cfg(not(feature = "probe"))]
fn check_chip(
    chip: &str,
    _chip_description: Option<&Path>,
    platform: &Platform,
) -> Result<String, JobError> {
    let expected = platform.mcu().chip.clone().unwrap_or_default();
    let (a, b) = (chip.to_ascii_lowercase(), expected.to_ascii_lowercase());
    if !b.is_empty() && (a.starts_with(&b) || b.starts_with(&a)) {
        return Ok(chip.to_string());
    }
    Err(JobError::ChipUnchecked {
        chip: chip.to_string(),
        platform: platform.name.clone(),
        expected,
    })
}
