//! A flash plan: which erase units an image touches, how many bytes it holds, what it
//! would take, and the refusals that protect a device before anything is touched.

use super::geometry::{EraseUnit, Geometry};
use crate::inspect::ImageReport;
use crate::memory::MemoryImage;
use crate::platform::{Mcu, Platform};
use serde::Serialize;

#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Erase the whole chip first instead of only the units the image touches.
    pub chip_erase: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the image has data at {address:#010x}, outside the chip's flash")]
    OutsideFlash { address: u64 },
    #[error("the image is empty")]
    Empty,
    #[error(
        "refusing --chip-erase: the image has no {missing}; a full chip erase also erases {what}, and the device would not boot (flash without --chip-erase, or build the image with --mbr)"
    )]
    ChipEraseLosesMbr { missing: String, what: String },
    #[error("{0} has no erase geometry: hexsmith cannot plan writes to it")]
    NoGeometry(String),
    #[error("refusing to write an image that fails its {check} check: {detail}")]
    BrokenImage { check: &'static str, detail: String },
}

/// The checks an image must pass before it is written: integrity, address range and
/// platform. An unmet dependency only warns: an image holding an application alone
/// relies on the Device OS already on the device, which hexsmith cannot see.
pub fn check_before_writing(report: &ImageReport) -> Result<Vec<String>, PlanError> {
    for m in &report.modules {
        let Some(c) = &m.checks else { continue };
        let failed = [
            ("integrity", c.integrity),
            ("address range", c.range),
            ("platform", c.platform),
        ]
        .into_iter()
        .find(|(_, status)| !status.is_pass());
        if let Some((check, _)) = failed {
            let mut detail = format!("{} {} at {:#010x}", m.function, m.index, m.start_address);
            if let Some(note) = m.notes.first() {
                detail.push_str(&format!(" ({note})"));
            }
            return Err(PlanError::BrokenImage { check, detail });
        }
    }
    let mut warnings = Vec::new();
    for m in &report.modules {
        for d in m.dependencies.iter().filter(|d| d.status == Some("unmet")) {
            warnings.push(format!(
                "{} {} needs {} {} version {} or later, which the image does not hold: the device must already have it",
                m.function, m.index, d.function, d.index, d.version
            ));
        }
    }
    Ok(warnings)
}

/// Rough time for a plan, from the datasheet figures in the platform table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub erase_seconds: f64,
    pub program_seconds: f64,
    pub total_seconds: f64,
}

#[derive(Debug, Clone)]
pub struct FlashPlan {
    /// The probe-rs target name, where one is built in.
    pub chip: Option<String>,
    pub units: Vec<EraseUnit>,
    /// Bytes the image holds.
    pub bytes: u64,
    pub chip_erase: bool,
    pub estimate: Estimate,
}

impl FlashPlan {
    pub fn new(
        image: &MemoryImage,
        platform: &Platform,
        mcu: &Mcu,
        options: PlanOptions,
    ) -> Result<FlashPlan, PlanError> {
        if image.is_empty() {
            return Err(PlanError::Empty);
        }
        if mcu.erase_units.is_empty() {
            return Err(PlanError::NoGeometry(platform.mcu.clone()));
        }
        let geometry = Geometry::of(mcu);
        let mut units: Vec<EraseUnit> = Vec::new();
        for seg in image.segments() {
            let touched = geometry
                .units_in(u64::from(seg.start), seg.end())
                .map_err(|address| PlanError::OutsideFlash { address })?;
            for u in touched {
                if units.last() != Some(&u) {
                    units.push(u);
                }
            }
        }
        if options.chip_erase {
            refuse_destructive_chip_erase(image, platform, mcu)?;
        }
        let bytes = image.len();
        let erase_ms: u64 = if options.chip_erase {
            u64::from(mcu.chip_erase_ms)
        } else {
            units.iter().map(|u| u64::from(u.erase_ms)).sum()
        };
        let unit_bytes: u64 = units.iter().map(|u| u.len() as u64).sum();
        // Units are written whole; the transfer over SWD is assumed at about 100 KiB/s.
        let program = unit_bytes as f64 / 4.0 * f64::from(mcu.program_us_per_word) / 1e6
            + unit_bytes as f64 / (100.0 * 1024.0);
        let erase = erase_ms as f64 / 1000.0;
        Ok(FlashPlan {
            chip: mcu.chip.clone(),
            units,
            bytes,
            chip_erase: options.chip_erase,
            estimate: Estimate {
                erase_seconds: round2(erase),
                program_seconds: round2(program),
                total_seconds: round2(erase + program),
            },
        })
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A chip erase on an nRF52840 also clears the MBR and the UICR; an image without them
/// would leave the device unable to boot.
fn refuse_destructive_chip_erase(
    image: &MemoryImage,
    platform: &Platform,
    mcu: &Mcu,
) -> Result<(), PlanError> {
    let mut missing = Vec::new();
    let mut what = Vec::new();
    for name in &mcu.chip_erase_clears {
        let Some(region) = platform.regions().iter().find(|r| &r.name == name) else {
            continue;
        };
        let len = (region.end - region.start) as usize;
        what.push(region.what.clone());
        if image.read(u64::from(region.start), len).is_none() {
            missing.push(format!(
                "{} ({:#010x}-{:#010x})",
                region.what,
                region.start,
                region.end - 1
            ));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(PlanError::ChipEraseLosesMbr {
            missing: missing.join(" and no "),
            what: what.join(" and the "),
        })
    }
}
