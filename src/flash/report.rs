//! The JSON documents of the device commands (`flash`, its dry run and `--log` lines,
//! `probes`, `read`, `verify`, `erase`, `reset`), each built from what the library
//! found; the command line only prints them. Fields are described in docs/json.md.

use super::estimate::ProbeEstimate;
use super::{DeviceResult, EraseUnit, FlashJob, FlashPlan, Outcome, PlatformFrom, VerifyReport};
use super::{WireCounts, error_chain};
use crate::memory::MemoryImage;
use crate::report::{SCHEMA, TOOL_VERSION};
use serde::Serialize;
use std::path::Path;
use std::time::SystemTime;

/// `flash --dry-run --json`: what a real run would write, without a probe. Described in
/// docs/json.md.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
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
    pub time: ProbeEstimate,
}

impl PlanDocument {
    /// The dry run's document for a plan of `job`.
    pub fn new(job: &FlashJob, plan: &FlashPlan, time: ProbeEstimate) -> PlanDocument {
        PlanDocument {
            schema: SCHEMA,
            version: TOOL_VERSION,
            chip: job.chip.clone(),
            platform: job.platform.name.clone(),
            platform_from: job.platform_from,
            platform_basis: job.platform_basis.clone(),
            sectors: plan
                .units
                .iter()
                .map(|u| [u64::from(u.start), u.end])
                .collect(),
            bytes: plan.bytes,
            erase_units: plan.units.len(),
            erase_bytes: plan.units.iter().map(|u| u.len() as u64).sum(),
            chip_erase: plan.chip_erase,
            attach_under_reset: job.mcu().attach_under_reset,
            image_sha256: job.image_sha256.clone(),
            estimate: plan.estimate,
            time,
        }
    }
}

/// `flash --json`: one entry per device.
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct FlashDocument<'a> {
    /// [`SCHEMA`]: raised when a field changes meaning or goes away.
    pub schema: u32,
    /// The hexsmith version that wrote it.
    pub version: &'static str,
    /// The probe-rs target used; none when the MCU's built-in one was.
    pub chip: Option<&'a str>,
    /// The image's platform name.
    pub platform: &'a str,
    /// SHA-256 of the image's memory content, the same on every device's record.
    pub image_sha256: &'a str,
    /// One per probe, in the order the probes were given or listed.
    pub devices: &'a [DeviceResult],
}

impl<'a> FlashDocument<'a> {
    /// The document for one job's devices.
    pub fn new(job: &'a FlashJob, devices: &'a [DeviceResult]) -> FlashDocument<'a> {
        FlashDocument {
            schema: SCHEMA,
            version: TOOL_VERSION,
            chip: job.chip.as_deref(),
            platform: &job.platform.name,
            image_sha256: &job.image_sha256,
            devices,
        }
    }
}

/// One line of `--log`: one attempt on one device.
#[derive(Debug, Clone, Serialize)]
///
/// Each line stands alone (schema, tool, image and device on every one) so that a line
/// copied out of a station's log, or a log concatenated from several stations, still
/// says everything; the fields are those of [`DeviceResult`] and [`FlashDocument`],
/// described in docs/json.md.
#[non_exhaustive]
pub struct LogLine<'a> {
    /// [`SCHEMA`].
    pub schema: u32,
    /// The hexsmith version that wrote it.
    pub version: &'static str,
    /// RFC 3339, UTC, seconds.
    pub time: String,
    /// As [`DeviceResult::probe`].
    pub probe: &'a str,
    /// As [`FlashDocument::chip`].
    pub chip: Option<String>,
    /// As [`FlashDocument::platform`].
    pub platform: String,
    /// As [`DeviceResult::device_id`].
    pub device_id: Option<&'a str>,
    /// As [`DeviceResult::mac`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<&'a str>,
    /// As [`FlashDocument::image_sha256`].
    pub image_sha256: String,
    /// As [`DeviceResult::result`].
    pub result: Outcome,
    /// The failure and its causes on one line.
    pub error: Option<String>,
    /// From the device's [`FlashReport`](super::FlashReport).
    pub units_written: usize,
    /// Units that already held the image's bytes.
    pub units_skipped: usize,
    /// Bytes in the units written (whole units, not just the image's bytes).
    pub bytes_written: u64,
    /// Bytes in the units skipped.
    pub bytes_skipped: u64,
    /// Whether every unit of the plan was checked against the image after writing.
    pub verified: bool,
    /// As [`DeviceResult::chip_wiped`]; left out when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub chip_wiped: bool,
    /// As [`DeviceResult::seconds`].
    pub seconds: f64,
}

impl<'a> LogLine<'a> {
    /// The one-line record of an attempt, as of `time` (normally its end).
    pub fn new(result: &'a DeviceResult, job: &FlashJob, time: SystemTime) -> LogLine<'a> {
        LogLine {
            schema: SCHEMA,
            version: TOOL_VERSION,
            time: humantime::format_rfc3339_seconds(time).to_string(),
            probe: &result.probe,
            chip: job.chip.clone(),
            platform: job.platform.name.clone(),
            device_id: result.device_id.as_deref(),
            mac: result.mac.as_deref(),
            image_sha256: job.image_sha256.clone(),
            result: result.result,
            error: result.error.as_ref().map(|e| error_chain(e)),
            units_written: result.report.units_written,
            units_skipped: result.report.units_skipped,
            bytes_written: result.report.bytes_written,
            bytes_skipped: result.report.bytes_skipped,
            verified: result.report.verified,
            chip_wiped: result.chip_wiped,
            seconds: result.seconds,
        }
    }
}

/// The device a command attached to, as the documents of `read`, `erase` and `reset`
/// name it.
// Not `non_exhaustive`: callers fill it in from their connection, and a field added here
// is a field every document gains, which they must supply.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Attached<'a> {
    /// The probe, as `probes` lists it.
    pub probe: &'a str,
    /// The Particle device ID, where the chip has one hexsmith can read.
    pub device_id: Option<&'a str>,
    /// The probe-rs target attached as; none when the MCU's built-in one was.
    pub chip: Option<&'a str>,
    /// What identified the chip when no `--platform` or `--chip` named it.
    pub chip_detected: Option<&'a str>,
}

/// `probes --json`.
#[cfg(feature = "probe")]
#[derive(Debug, Serialize)]
pub struct ProbesDocument {
    /// Every probe attached, as probe-rs lists them.
    pub probes: Vec<super::probe::ProbeInfo>,
}

/// `read --json`: the device read and the file written.
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct ReadDocument<'a> {
    /// The device read.
    #[serde(flatten)]
    pub device: Attached<'a>,
    /// The Intel HEX file written.
    pub output: &'a Path,
    /// Bytes read (erased units left out).
    pub bytes: u64,
    /// Over the memory content, as `build` and `inspect` compute it.
    pub memory_sha256: String,
}

impl<'a> ReadDocument<'a> {
    /// What was read from `device` into `output`.
    pub fn new(device: Attached<'a>, output: &'a Path, image: &MemoryImage) -> ReadDocument<'a> {
        ReadDocument {
            device,
            output,
            bytes: image.len(),
            memory_sha256: hex::encode(image.sha256()),
        }
    }
}

/// `verify --json`: whether the device holds the image, and where it does not.
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct VerifyDocument<'a> {
    /// The probe, as `probes` lists it.
    pub probe: &'a str,
    /// The Particle device ID, where the chip has one hexsmith can read.
    pub device_id: Option<&'a str>,
    /// The probe-rs target attached as; none when the MCU's built-in one was.
    pub chip: Option<&'a str>,
    /// The image's platform.
    pub platform: &'a str,
    /// SHA-256 of the image's memory content.
    pub image_sha256: &'a str,
    /// [`VerifyReport::matches`].
    pub matches: bool,
    /// The comparison.
    #[serde(flatten)]
    pub report: &'a VerifyReport,
    /// On an emulated device: what crossed its wire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wire: Option<WireCounts>,
}

impl<'a> VerifyDocument<'a> {
    /// The comparison of `job`'s image with the device behind `probe`.
    pub fn new(
        probe: &'a str,
        device_id: Option<&'a str>,
        job: &'a FlashJob,
        report: &'a VerifyReport,
        wire: Option<WireCounts>,
    ) -> VerifyDocument<'a> {
        VerifyDocument {
            probe,
            device_id,
            chip: job.chip.as_deref(),
            platform: &job.platform.name,
            image_sha256: &job.image_sha256,
            matches: report.matches(),
            report,
            wire,
        }
    }
}

/// `erase --json` and `reset --json`: what was done to which device.
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct DeviceActionDocument<'a> {
    /// The device acted on.
    #[serde(flatten)]
    pub device: Attached<'a>,
    /// `erase` or `reset`.
    pub action: &'static str,
    /// `erase`: the erase units erased, `[start, end)`; empty with `whole_chip`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units: Option<Vec<[u64; 2]>>,
    /// `erase --range`: the bytes in those units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// `erase`: whether the whole chip was erased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whole_chip: Option<bool>,
}

impl<'a> DeviceActionDocument<'a> {
    /// An erase of `units`, or of the whole chip.
    pub fn erase(device: Attached<'a>, units: &[EraseUnit], whole_chip: bool) -> Self {
        DeviceActionDocument {
            device,
            action: "erase",
            units: Some(units.iter().map(|u| [u64::from(u.start), u.end]).collect()),
            bytes: (!whole_chip).then(|| units.iter().map(|u| u.len() as u64).sum()),
            whole_chip: Some(whole_chip),
        }
    }

    /// A reset.
    pub fn reset(device: Attached<'a>) -> Self {
        DeviceActionDocument {
            device,
            action: "reset",
            units: None,
            bytes: None,
            whole_chip: None,
        }
    }
}
