//! What is to be written and for which chip: the image, its platform, the probe-rs target
//! and the plan, decided once so that a dry run plans exactly what a real run writes.

use super::{FlashPlan, PlanError, PlanOptions, check_before_writing};
use crate::inspect::{self, hex_lower};
use crate::memory::MemoryImage;
use crate::platform::{self, Mcu, Platform};
use serde::Serialize;
use std::path::Path;

pub use crate::{SCHEMA, TOOL_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("holds no Particle module, so its platform is unknown: name the chip with --chip")]
    UnknownPlatform,
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[cfg(feature = "probe")]
    #[error(transparent)]
    Chip(#[from] super::probe::ProbeError),
    #[cfg(not(feature = "probe"))]
    #[error(
        "--chip {chip}: this hexsmith was built without probe support and cannot check it against {platform}'s chip ({expected}); leave --chip out"
    )]
    ChipUnchecked {
        chip: String,
        platform: String,
        expected: String,
    },
}

/// An image ready to be planned and written.
#[derive(Debug, Clone)]
pub struct FlashJob {
    pub image: MemoryImage,
    pub platform: &'static Platform,
    /// The probe-rs target name: the one given, resolved through the registry, or the
    /// platform's built-in one. None for a chip probe-rs has no built-in target for.
    pub chip: Option<String>,
    /// SHA-256 of the image's bytes (memory content, not of the file that carried it).
    pub image_sha256: String,
    /// Why the image may still not run, though it may be written.
    pub warnings: Vec<String>,
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
        let platform = report
            .platform_id
            .and_then(platform::by_id)
            .or_else(|| chip.and_then(platform_for_chip))
            .ok_or(JobError::UnknownPlatform)?;
        let mut job = FlashJob::for_platform(image, platform, chip, chip_description)?;
        job.warnings = warnings;
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
            image_sha256: hex_lower(&image.sha256()),
            image,
            platform,
            chip,
            warnings: Vec::new(),
        })
    }

    pub fn mcu(&self) -> &'static Mcu {
        self.platform.mcu()
    }

    /// The plan for this job's chip.
    pub fn plan(&self, options: PlanOptions) -> Result<FlashPlan, PlanError> {
        let mut plan = FlashPlan::new(&self.image, self.platform, self.mcu(), options)?;
        plan.chip = self.chip.clone();
        Ok(plan)
    }

    /// The dry run's document.
    pub fn plan_document(&self, plan: &FlashPlan) -> PlanDocument {
        PlanDocument {
            schema: SCHEMA,
            version: TOOL_VERSION,
            chip: plan.chip.clone(),
            platform: self.platform.name.clone(),
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
        }
    }
}

/// `flash --dry-run --json`.
#[derive(Debug, Clone, Serialize)]
pub struct PlanDocument {
    pub schema: u32,
    pub version: &'static str,
    pub chip: Option<String>,
    pub platform: String,
    /// Erase units the image touches, as `[start, end)`.
    pub sectors: Vec<[u64; 2]>,
    pub bytes: u64,
    pub erase_units: usize,
    pub erase_bytes: u64,
    pub chip_erase: bool,
    pub attach_under_reset: bool,
    pub image_sha256: String,
    pub estimate: super::Estimate,
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
