//! A flash plan: which erase units an image touches, how many bytes it holds, what it
//! would take, and the refusals that protect a device before anything is touched.

use super::geometry::{EraseUnit, Geometry};
use crate::inspect::ImageReport;
use crate::memory::MemoryImage;
use crate::platform::{Mcu, Platform};
use serde::Serialize;

/// Choices the user makes about a plan; the default touches only the image's units,
/// unless a chip erase is quicker and loses nothing ([`PlanOptions::choose_chip_erase`]).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Erase the whole chip first instead of only the units the image touches.
    pub chip_erase: bool,
    /// Let that chip erase clear the device's own data (the Gen 2 DCT with its keys, and
    /// the EEPROM emulation); refused otherwise ([`PlanError::ChipEraseLosesDeviceData`]).
    pub erase_device_keys: bool,
    /// Let [`super::execute`] erase the chip instead of the units, where the device shows
    /// that it is quicker and loses nothing ([`FlashPlan::whole_chip`]). On by default.
    pub choose_chip_erase: bool,
}

impl Default for PlanOptions {
    fn default() -> PlanOptions {
        PlanOptions {
            chip_erase: false,
            erase_device_keys: false,
            choose_chip_erase: true,
        }
    }
}

impl PlanOptions {
    /// With [`PlanOptions::choose_chip_erase`].
    pub fn with_choose_chip_erase(mut self, choose: bool) -> PlanOptions {
        self.choose_chip_erase = choose;
        self
    }
    /// With [`PlanOptions::chip_erase`].
    pub fn with_chip_erase(mut self, chip_erase: bool) -> PlanOptions {
        self.chip_erase = chip_erase;
        self
    }
    /// With [`PlanOptions::erase_device_keys`].
    pub fn with_erase_device_keys(mut self, erase: bool) -> PlanOptions {
        self.erase_device_keys = erase;
        self
    }
}

/// Why an image will not be written. Every refusal comes before the device is touched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The image has bytes where the MCU has no erase unit: it was made for another chip,
    /// or holds data (RAM, a file's padding) that is not flash.
    #[error("the image has data at {address:#010x}, outside the chip's flash")]
    OutsideFlash {
        /// The first such address.
        address: u64,
    },
    /// The image has bytes in flash that is never written (the RTL872x's
    /// prebootloader-mbr, 0x08000000-0x08003FFF).
    #[error(
        "refusing the image: it has data at {address:#010x}, in {start:#010x}-{end:#010x}, which holds {what}; hexsmith never writes or erases it (build the image without it: restore images start at {end:#010x})"
    )]
    NeverWritten {
        /// The first such address.
        address: u64,
        /// The protected range's start.
        start: u32,
        /// Its end, exclusive.
        end: u32,
        /// What it holds.
        what: String,
    },
    /// `--chip-erase` (or `erase --all`) on a chip that must never be chip-erased.
    #[error(
        "refusing a chip erase on the {mcu}: a chip erase would also erase {what}; leave out --chip-erase (unchanged sectors are skipped and changed ones erased one by one)"
    )]
    ChipEraseForbidden {
        /// The MCU's table key.
        mcu: String,
        /// What the chip erase would destroy.
        what: String,
    },
    /// The image holds no bytes: there is nothing to write.
    #[error("the image is empty")]
    Empty,
    /// `--chip-erase` would clear regions beyond main flash (on an nRF52840 the MBR and
    /// the UICR) that the image does not put back.
    #[error(
        "refusing --chip-erase: the image has no {missing}; a full chip erase also erases {what}, and the device would not boot (flash without --chip-erase, or build the image with --mbr)"
    )]
    ChipEraseLosesMbr {
        /// The regions the image lacks, each with its address range.
        missing: String,
        /// Everything the MCU's chip erase clears (`chip_erase_clears` in the platform
        /// table).
        what: String,
    },
    /// `--chip-erase` (or `erase --all`) on a chip whose flash holds the device's own data,
    /// which no image puts back: on a Photon, P1 or Electron the DCT (the device's keys and
    /// settings) and the application's EEPROM emulation. Particle's tools warn about this.
    #[error(
        "refusing a chip erase: it would also erase the {what} at {start:#010x}-{end:#010x} (end exclusive), the device's keys and settings and the application's EEPROM data, which no image puts back; flash without --chip-erase, or add --erase-device-keys to lose them"
    )]
    ChipEraseLosesDeviceData {
        /// What lies there, from the platform table.
        what: String,
        /// Its first address.
        start: u32,
        /// Its end, exclusive.
        end: u32,
    },
    /// The platform table gives this MCU (named by its table key) no erase units, so
    /// there is nothing to plan with.
    #[error("{0} has no erase geometry: hexsmith cannot plan writes to it")]
    NoGeometry(String),
    /// A module fails a boot check the device would fail too; fix or rebuild the image.
    #[error("refusing to write an image that fails its {check} check: {detail}")]
    BrokenImage {
        /// `"integrity"`, `"address range"` or `"platform"`.
        check: &'static str,
        /// The module (function, index, address) and the first note on it.
        detail: String,
    },
}

/// The checks an image must pass before it is written: integrity, address range and
/// platform. An unmet dependency only warns: an image holding an application alone
/// relies on the Device OS already on the device, which hexsmith cannot see.
pub fn check_before_writing(report: &ImageReport) -> Result<Vec<super::JobWarning>, PlanError> {
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
            warnings.push(super::JobWarning::DependencyNotInImage {
                function: m.function,
                index: m.index,
                needs: d.function,
                needs_index: d.index,
                version: d.version,
            });
        }
    }
    Ok(warnings)
}

/// Rough time for a plan, from the datasheet figures in the platform table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The touched units' erase times added up, or the chip erase time.
    pub erase_seconds: f64,
    /// Programming the touched units whole, at the MCU's time per word, plus moving them
    /// over SWD at an assumed 100 KiB/s.
    pub program_seconds: f64,
    /// The two together. Each figure is rounded to 0.01 s.
    pub total_seconds: f64,
}

/// Which erase units an image touches and what writing them would take: the same for a
/// dry run and a real one. It says nothing about what the device holds; [`super::execute`]
/// finds out which units can be skipped. Nor does it name a probe-rs target: that is
/// [`super::FlashJob::chip`], resolved once from `--chip`, so the two cannot disagree.
#[derive(Debug, Clone)]
pub struct FlashPlan {
    /// The units the image touches, in address order, each once.
    pub units: Vec<EraseUnit>,
    /// Bytes the image holds.
    pub bytes: u64,
    /// The whole chip is erased first ([`PlanOptions::chip_erase`]).
    pub chip_erase: bool,
    /// The time the plan would take, from the platform table's datasheet figures.
    pub estimate: Estimate,
    /// Where a chip erase would lose nothing the image does not put back (the MCU allows
    /// one, keeps no device data in its flash, and the image carries what a chip erase
    /// clears besides: the MBR and the UICR), what [`super::execute`] needs to choose it
    /// over unit erases when that is quicker and the rest of the flash is blank.
    pub whole_chip: Option<WholeChip>,
}

/// A chip erase [`super::execute`] may choose instead of erasing units one by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WholeChip {
    /// Every erase unit of the MCU, which the chip erase clears.
    pub units: Vec<EraseUnit>,
    /// The chip erase's datasheet time.
    pub erase_ms: u32,
    /// Programming one word, to price what the chip erase makes to be written again.
    pub program_us_per_word: u32,
}

impl WholeChip {
    /// Whether the chip erase is quicker than erasing `to_erase` one by one, by the
    /// datasheet's times, counting the programming of `held` (units that hold the image
    /// already), which the chip erase makes to be written again. `execute` decides by it,
    /// and `flash --dry-run`'s estimate prices the same decision.
    pub fn quicker(
        &self,
        image: &MemoryImage,
        to_erase: impl Iterator<Item = EraseUnit>,
        held: impl Iterator<Item = EraseUnit>,
    ) -> bool {
        let units_us: u64 = to_erase.map(|u| u64::from(u.erase_ms) * 1000).sum();
        let again_words: u64 = held.map(|u| programmed_words(image, u)).sum();
        let chip_us =
            u64::from(self.erase_ms) * 1000 + again_words * u64::from(self.program_us_per_word);
        chip_us < units_us
    }
}

/// Words of `image` inside `unit` that are not 0xFFFFFFFF: what programming it costs.
fn programmed_words(image: &MemoryImage, unit: EraseUnit) -> u64 {
    let mut bytes = vec![0xFF; unit.len()];
    image.copy_into(unit.start, &mut bytes);
    bytes
        .chunks(4)
        .filter(|w| w.iter().any(|b| *b != 0xFF))
        .count() as u64
}

impl FlashPlan {
    /// Plans `image` for `mcu` (`platform`'s MCU). Refuses an empty image
    /// ([`PlanError::Empty`]), an MCU without erase units ([`PlanError::NoGeometry`]),
    /// bytes outside its units ([`PlanError::OutsideFlash`]) and a chip erase that would
    /// leave the device unable to boot ([`PlanError::ChipEraseLosesMbr`]). Boot checks of
    /// the modules are [`check_before_writing`]'s.
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
        if let Some(never) = &mcu.never_write {
            let (lo, hi) = (u64::from(never.start), u64::from(never.end));
            let hit = image
                .segments()
                .iter()
                .find(|seg| u64::from(seg.start) < hi && seg.end() > lo);
            if let Some(seg) = hit {
                return Err(PlanError::NeverWritten {
                    address: u64::from(seg.start).max(lo),
                    start: never.start,
                    end: never.end,
                    what: never.what.clone(),
                });
            }
        }
        if options.chip_erase {
            refuse_forbidden_chip_erase(platform, mcu)?;
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
            if !options.erase_device_keys {
                refuse_losing_device_data(mcu)?;
            }
        }
        let bytes = image.len();
        let erase_ms: u64 = if options.chip_erase {
            u64::from(mcu.chip_erase_ms)
        } else {
            units.iter().map(|u| u64::from(u.erase_ms)).sum()
        };
        let whole_chip = (options.choose_chip_erase
            && !options.chip_erase
            && mcu.chip_erase
            && mcu.never_write.is_none()
            && device_data_cleared_by_chip_erase(mcu).is_none()
            && refuse_destructive_chip_erase(image, platform, mcu).is_ok())
        .then(|| WholeChip {
            units: geometry.units().to_vec(),
            erase_ms: mcu.chip_erase_ms,
            program_us_per_word: mcu.program_us_per_word,
        });
        let unit_bytes: u64 = units.iter().map(|u| u.len() as u64).sum();
        // Units are written whole; the transfer over SWD is assumed at about 100 KiB/s.
        let program = unit_bytes as f64 / 4.0 * f64::from(mcu.program_us_per_word) / 1e6
            + unit_bytes as f64 / (100.0 * 1024.0);
        let erase = erase_ms as f64 / 1000.0;
        Ok(FlashPlan {
            units,
            bytes,
            chip_erase: options.chip_erase,
            whole_chip,
            estimate: Estimate {
                erase_seconds: round2(erase),
                program_seconds: round2(program),
                total_seconds: round2(erase + program),
            },
        })
    }
}

/// A chip erase on an MCU that must never have one ([`Mcu::chip_erase`] false).
pub fn refuse_forbidden_chip_erase(platform: &Platform, mcu: &Mcu) -> Result<(), PlanError> {
    if mcu.chip_erase {
        return Ok(());
    }
    let what = mcu
        .never_write
        .as_ref()
        .map(|n| format!("{:#010x}-{:#010x}, {}", n.start, n.end, n.what))
        .unwrap_or_else(|| "data no image carries".into());
    Err(PlanError::ChipEraseForbidden {
        mcu: platform.mcu.clone(),
        what,
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The device data a chip erase of `mcu` would clear: the first `reserved` range of any
/// platform on that MCU (the platform table gives the same range to each Gen 2 platform).
pub fn device_data_cleared_by_chip_erase(mcu: &Mcu) -> Option<&'static crate::platform::Reserved> {
    crate::platform::all()
        .iter()
        .filter(|p| std::ptr::eq(p.mcu(), mcu))
        .find_map(|p| p.reserved().first())
}

/// Refuses a chip erase that would clear the device's own data
/// ([`PlanError::ChipEraseLosesDeviceData`]); `erase --all` asks this too.
pub fn refuse_losing_device_data(mcu: &Mcu) -> Result<(), PlanError> {
    match device_data_cleared_by_chip_erase(mcu) {
        Some(r) => Err(PlanError::ChipEraseLosesDeviceData {
            what: r.what.clone(),
            start: r.start,
            end: r.end,
        }),
        None => Ok(()),
    }
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
        let Some(region) = platform.region(*name) else {
            continue;
        };
        let len = (region.end - region.start) as usize;
        what.push(region.what.clone());
        if image.read(u64::from(region.start), len).is_none() {
            missing.push(format!(
                "{} ({:#010x}-{:#010x}, end exclusive)",
                region.what, region.start, region.end
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
