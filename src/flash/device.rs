//! One device, start to end: connect, read its ID, decide about write protection, write,
//! verify, reset; and the records of it (the result document and the `--log` line). The
//! command line, the station loop and the tests all go through [`attempt`].

use super::job::{FlashJob, SCHEMA, TOOL_VERSION};
use super::{
    Event, FlashError, FlashOptions, FlashPlan, FlashReport, FlashTarget, TargetError, execute,
    read_device_id,
};
use crate::memory::MemoryImage;
use serde::{Serialize, Serializer};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The wire protocol between probe and chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Swd,
    Jtag,
}

/// How to reach a device, in probe-rs's terms; shared by every command that talks to one.
#[derive(Debug, Clone, Default)]
pub struct ProbeSettings {
    /// `VID:PID[:SERIAL]`; none for the only probe attached.
    pub probe: Option<String>,
    pub chip: Option<String>,
    pub chip_description: Option<PathBuf>,
    pub speed_khz: Option<u32>,
    pub protocol: Option<Protocol>,
    pub connect_under_reset: bool,
    /// Emulated chips to attach to instead of probes' (`--emulate`); several only for
    /// `--all-probes`.
    #[cfg(feature = "probe")]
    pub emulate: Vec<super::emulator::EmulatedDevice>,
}

/// Why one device was not written as asked. Each keeps the error beneath it as its source.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("no debug probe attached")]
    NoProbe,
    #[error("no device on the fixture")]
    FixtureEmpty,
    #[error(
        "this chip has no built-in probe-rs target: give --chip-description-path FILE (a probe-rs target description with a flash algorithm) and --chip NAME"
    )]
    NoBuiltInTarget,
    /// Nothing usable answered: the probe could not be opened, or no chip responded.
    #[error(transparent)]
    Connect(Box<dyn std::error::Error + Send + Sync>),
    /// A chip answers but refuses to be debugged (a locked nRF52840). Unlike
    /// [`DeviceError::Connect`], something is on the fixture, so a station counts it as a
    /// failed device instead of waiting for one.
    #[error(transparent)]
    Locked(Box<dyn std::error::Error + Send + Sync>),
    #[error("reading the device ID")]
    DeviceId(#[source] TargetError),
    #[error("reading the write protection of erase unit {unit:#010x}")]
    ProtectionState {
        unit: u32,
        #[source]
        source: TargetError,
    },
    #[error(
        "the bootloader sector {unit:#010x} is write-protected: rerun with --unprotect-bootloader to clear its protection, or leave the bootloader out of the image"
    )]
    BootloaderProtected { unit: u32 },
    #[error("clearing the write protection of erase unit {unit:#010x}")]
    Unprotect {
        unit: u32,
        #[source]
        source: TargetError,
    },
    #[error(transparent)]
    Flash(#[from] FlashError),
    #[error(transparent)]
    Target(#[from] TargetError),
}

impl DeviceError {
    /// Whether a device was on the other end: false only when nothing answered (no probe,
    /// an empty fixture, no chip responding, no target to attach with), which a station
    /// treats as "wait for a device", not as a failed one.
    pub fn found_device(&self) -> bool {
        !matches!(
            self,
            DeviceError::NoProbe
                | DeviceError::FixtureEmpty
                | DeviceError::NoBuiltInTarget
                | DeviceError::Connect(_)
        )
    }
}

/// An error and its causes on one line, as a log or a JSON reader wants them.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

#[derive(Debug, Clone, Default)]
pub struct DeviceOptions {
    pub flash: FlashOptions,
    /// Clear the write protection of the protected unit (Gen 2's bootloader) if the
    /// image writes it.
    pub unprotect_bootloader: bool,
}

/// What happens on one device, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceEvent {
    /// Connected to this probe.
    Connected {
        probe: String,
    },
    /// The device's Particle ID.
    DeviceId(String),
    Progress(Event),
}

/// Something that reaches one device: a debug probe, or in tests a simulated device.
pub trait Connector {
    type Target: FlashTarget;
    /// A name for the slot before anything is connected.
    fn label(&self) -> String;
    /// Attaches to the device; returns it and the probe's name.
    fn connect(&mut self) -> Result<(Self::Target, String), DeviceError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    Interrupted,
    Failed,
}

/// How one device went.
#[derive(Debug, Serialize)]
pub struct DeviceResult {
    pub probe: String,
    pub device_id: Option<String>,
    pub result: Outcome,
    /// The reason for a failure, with its causes.
    #[serde(serialize_with = "serialize_error")]
    pub error: Option<DeviceError>,
    pub report: FlashReport,
    /// Wall time from connecting to the end.
    pub seconds: f64,
    /// When the attempt ended: the time of its `--log` line.
    #[serde(skip)]
    pub finished: SystemTime,
}

fn serialize_error<S: Serializer>(e: &Option<DeviceError>, s: S) -> Result<S::Ok, S::Error> {
    match e {
        Some(e) => s.serialize_some(&error_chain(e)),
        None => s.serialize_none(),
    }
}

impl DeviceResult {
    fn new(probe: String) -> DeviceResult {
        DeviceResult {
            probe,
            device_id: None,
            result: Outcome::Ok,
            error: None,
            report: FlashReport::default(),
            seconds: 0.0,
            finished: SystemTime::now(),
        }
    }

    /// An attempt that failed before anything was written: no probe, no device, or a
    /// device that cannot be attached or identified.
    pub fn failed_before_writing(probe: String, error: DeviceError) -> DeviceResult {
        DeviceResult::new(probe).fail(error)
    }

    fn fail(mut self, error: DeviceError) -> DeviceResult {
        self.error = Some(error);
        self.result = Outcome::Failed;
        self
    }

    pub fn is_no_probe(&self) -> bool {
        matches!(self.error, Some(DeviceError::NoProbe))
    }

    /// The one-line `--log` record of this attempt, as of `time` (normally `finished`).
    pub fn log_line(&self, job: &FlashJob, time: SystemTime) -> LogLine<'_> {
        LogLine {
            schema: SCHEMA,
            version: TOOL_VERSION,
            time: humantime::format_rfc3339_seconds(time).to_string(),
            probe: &self.probe,
            chip: job.chip.clone(),
            platform: job.platform.name.clone(),
            device_id: self.device_id.as_deref(),
            image_sha256: job.image_sha256.clone(),
            result: self.result,
            error: self.error.as_ref().map(|e| error_chain(e)),
            units_written: self.report.units_written,
            units_skipped: self.report.units_skipped,
            bytes_written: self.report.bytes_written,
            bytes_skipped: self.report.bytes_skipped,
            verified: self.report.verified,
            seconds: self.seconds,
        }
    }
}

/// The sequence for one attached device: its ID, the write-protection decision, the
/// plan's writes, verification and reset.
pub fn flash_device(
    target: &mut dyn FlashTarget,
    probe: String,
    job: &FlashJob,
    plan: &FlashPlan,
    options: &DeviceOptions,
    events: &mut dyn FnMut(DeviceEvent),
) -> DeviceResult {
    let mut result = sequence(target, probe, job, plan, options, events);
    result.finished = SystemTime::now();
    result
}

fn sequence(
    target: &mut dyn FlashTarget,
    probe: String,
    job: &FlashJob,
    plan: &FlashPlan,
    options: &DeviceOptions,
    events: &mut dyn FnMut(DeviceEvent),
) -> DeviceResult {
    let mut result = DeviceResult::new(probe);
    match read_device_id(target, job.mcu()) {
        Ok(id) => {
            if let Some(id) = &id {
                events(DeviceEvent::DeviceId(id.clone()));
            }
            result.device_id = id;
        }
        Err(e) => return result.fail(DeviceError::DeviceId(e)),
    }
    if let Some(protected) = job.mcu().protected_unit
        && let Some(unit) = plan.units.iter().find(|u| u.start == protected)
    {
        match target.is_write_protected(*unit) {
            Ok(false) => {}
            Ok(true) if options.unprotect_bootloader => {
                if let Err(source) = target.clear_write_protection(*unit) {
                    return result.fail(DeviceError::Unprotect {
                        unit: protected,
                        source,
                    });
                }
            }
            Ok(true) => return result.fail(DeviceError::BootloaderProtected { unit: protected }),
            Err(source) => {
                return result.fail(DeviceError::ProtectionState {
                    unit: protected,
                    source,
                });
            }
        }
    }
    let mut progress = |e: Event| events(DeviceEvent::Progress(e));
    match execute(plan, &job.image, target, &options.flash, &mut progress) {
        Ok(report) => {
            result.result = if report.interrupted {
                Outcome::Interrupted
            } else {
                Outcome::Ok
            };
            result.report = report;
            result
        }
        Err(failure) => {
            result.report = failure.report;
            result.fail(failure.error.into())
        }
    }
}

/// Connects and flashes one device; every failure, "no probe" included, is a result.
pub fn attempt<C: Connector>(
    connector: &mut C,
    job: &FlashJob,
    plan: &FlashPlan,
    options: &DeviceOptions,
    events: &mut dyn FnMut(DeviceEvent),
) -> DeviceResult {
    let started = std::time::Instant::now();
    let mut result = match connector.connect() {
        Ok((mut target, probe)) => {
            events(DeviceEvent::Connected {
                probe: probe.clone(),
            });
            flash_device(&mut target, probe, job, plan, options, events)
        }
        Err(e) => DeviceResult::new(connector.label()).fail(e),
    };
    result.seconds = round3(started.elapsed());
    result.finished = SystemTime::now();
    result
}

/// Several devices at once, one thread each; results in the connectors' order.
pub fn flash_all<C, E>(
    connectors: Vec<(C, E)>,
    job: &FlashJob,
    plan: &FlashPlan,
    options: &DeviceOptions,
) -> Vec<DeviceResult>
where
    C: Connector + Send,
    E: FnMut(DeviceEvent) + Send,
{
    std::thread::scope(|scope| {
        let handles: Vec<_> = connectors
            .into_iter()
            .map(|(mut connector, mut events)| {
                scope.spawn(move || attempt(&mut connector, job, plan, options, &mut events))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

pub(crate) fn round3(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// `flash --json`: one entry per device.
#[derive(Debug, Serialize)]
pub struct FlashDocument<'a> {
    pub schema: u32,
    pub version: &'static str,
    pub chip: Option<&'a str>,
    pub platform: &'a str,
    pub image_sha256: &'a str,
    pub devices: &'a [DeviceResult],
}

impl<'a> FlashDocument<'a> {
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
pub struct LogLine<'a> {
    pub schema: u32,
    pub version: &'static str,
    /// RFC 3339, UTC, seconds.
    pub time: String,
    pub probe: &'a str,
    pub chip: Option<String>,
    pub platform: String,
    pub device_id: Option<&'a str>,
    pub image_sha256: String,
    pub result: Outcome,
    pub error: Option<String>,
    pub units_written: usize,
    pub units_skipped: usize,
    pub bytes_written: u64,
    pub bytes_skipped: u64,
    pub verified: bool,
    pub seconds: f64,
}

/// Appends JSON lines to a log. Each line goes out in one write and is flushed to disk,
/// so a station killed mid-run loses no finished device and never leaves half a line.
pub struct LogWriter {
    path: PathBuf,
    file: std::fs::File,
}

#[derive(Debug, thiserror::Error)]
#[error("{}: cannot write the log", path.display())]
pub struct LogError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl LogWriter {
    pub fn open(path: &Path) -> Result<LogWriter, LogError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| LogError {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(LogWriter {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn append(&mut self, line: &impl Serialize) -> Result<(), LogError> {
        let mut text = serde_json::to_string(line).map_err(|e| LogError {
            path: self.path.clone(),
            source: e.into(),
        })?;
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|source| LogError {
                path: self.path.clone(),
                source,
            })
    }
}

/// `verify`: the device compared with the image's bytes, nothing written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub bytes_compared: u64,
    pub bytes_differing: u64,
    /// The first address where device and image differ.
    pub first_difference: Option<u64>,
    /// Erase units holding a difference, as `[start, end)`: what a flash would write.
    pub units_differing: Vec<[u64; 2]>,
}

impl VerifyReport {
    pub fn matches(&self) -> bool {
        self.bytes_differing == 0
    }
}

/// Compares the image's bytes with the device's, unit by unit of the plan. Where the
/// target computes checksums itself, a unit whose image bytes match costs a few words on
/// the wire; only a unit that differs (or every unit, on a target without checksums) is
/// read back to find its differing bytes.
pub fn verify_device(
    target: &mut dyn FlashTarget,
    image: &MemoryImage,
    plan: &FlashPlan,
    progress: &mut dyn FnMut(Event),
) -> Result<VerifyReport, TargetError> {
    // The image's bytes inside each unit, as (unit index, start, bytes).
    let mut pieces: Vec<(usize, u64, &[u8])> = Vec::new();
    for (i, unit) in plan.units.iter().enumerate() {
        let (lo, hi) = (u64::from(unit.start), unit.end);
        for seg in image.segments() {
            let (s, e) = (u64::from(seg.start).max(lo), seg.end().min(hi));
            if s < e {
                let from = (s - u64::from(seg.start)) as usize;
                pieces.push((i, s, &seg.data[from..from + (e - s) as usize]));
            }
        }
    }
    let ranges: Vec<(u32, u32)> = pieces
        .iter()
        .map(|(_, start, bytes)| (*start as u32, bytes.len() as u32))
        .collect();
    let sums = target.checksums(&ranges)?;
    let mut in_place = vec![sums.is_some(); plan.units.len()];
    if let Some(sums) = &sums {
        for ((i, _, bytes), sum) in pieces.iter().zip(sums) {
            if *sum != super::checksum::expected(bytes) {
                in_place[*i] = false;
            }
        }
    }

    let mut report = VerifyReport::default();
    let total: u64 = plan.units.iter().map(|u| u.len() as u64).sum();
    let mut done = 0;
    for (i, unit) in plan.units.iter().enumerate() {
        let own = pieces.iter().filter(|(k, _, _)| *k == i);
        if in_place[i] {
            report.bytes_compared += own.map(|(_, _, b)| b.len() as u64).sum::<u64>();
        } else {
            let mut device = vec![0; unit.len()];
            target.read(unit.start, &mut device)?;
            let lo = u64::from(unit.start);
            let mut differs = false;
            for (_, start, wanted) in own {
                let found = &device[(start - lo) as usize..][..wanted.len()];
                report.bytes_compared += wanted.len() as u64;
                for (at, (a, b)) in wanted.iter().zip(found).enumerate() {
                    if a != b {
                        report.bytes_differing += 1;
                        report.first_difference.get_or_insert(start + at as u64);
                        differs = true;
                    }
                }
            }
            if differs {
                report.units_differing.push([lo, unit.end]);
            }
        }
        done += unit.len() as u64;
        progress(Event::Verified { done, total });
    }
    Ok(report)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EraseRangeError {
    #[error(
        "--range: {address:#010x} lies inside the erase unit {unit_start:#010x}-{unit_end:#010x}, so erasing would clear bytes outside the range: give erase-unit boundaries"
    )]
    NotAligned {
        address: u64,
        unit_start: u32,
        unit_end: u64,
    },
    #[error("--range: {address:#010x} is outside the chip's flash")]
    Outside { address: u64 },
}

/// The erase units that make up exactly `[start, end)`: an erase never clears a byte
/// outside what was asked.
pub fn units_to_erase(
    mcu: &crate::platform::Mcu,
    start: u64,
    end: u64,
) -> Result<Vec<super::EraseUnit>, EraseRangeError> {
    let geometry = super::Geometry::of(mcu);
    let units = geometry
        .units_in(start, end)
        .map_err(|address| EraseRangeError::Outside { address })?;
    for (address, unit) in [(start, units.first()), (end, units.last())] {
        if let Some(u) = unit
            && address != u64::from(u.start)
            && address != u.end
        {
            return Err(EraseRangeError::NotAligned {
                address,
                unit_start: u.start,
                unit_end: u.end,
            });
        }
    }
    Ok(units)
}
