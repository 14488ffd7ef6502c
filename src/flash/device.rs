//! One device, start to end: connect, read its ID, decide about write protection, write,
//! verify, reset; and the records of it (the result document and the `--log` line). The
//! command line, the station loop and the tests all go through [`attempt`].

use super::job::FlashJob;
use super::{
    Event, FlashError, FlashOptions, FlashPlan, FlashReport, FlashTarget, TargetError, execute,
    read_device_id,
};
use crate::memory::MemoryImage;
use serde::{Serialize, Serializer};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The wire protocol between probe and chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Serial Wire Debug: the two-wire port every Particle board brings out.
    Swd,
    /// JTAG, for a probe or fixture wired for it (the STM32F2 has both).
    Jtag,
}

/// How to reach a device, in probe-rs's terms; shared by every command that talks to one.
///
/// `emulate` exists only with the `probe` feature; being `non_exhaustive`, the struct is
/// built from `Default` and the `with_*` methods, so that no caller's code depends on
/// which features another crate in the build turned on.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ProbeSettings {
    /// `VID:PID[:SERIAL]`; none for the only probe attached.
    pub probe: Option<String>,
    /// A probe-rs target name; none for the platform MCU's built-in target.
    pub chip: Option<String>,
    /// A probe-rs target description (YAML) to add to the registry, for a chip probe-rs
    /// does not carry (the P2's RTL8721D).
    pub chip_description: Option<PathBuf>,
    /// SWD/JTAG clock; none for the probe's default.
    pub speed_khz: Option<u32>,
    /// None leaves the choice to probe-rs (SWD where the probe has it).
    pub protocol: Option<Protocol>,
    /// Hold the chip in reset while attaching, for firmware that turns its debug pins
    /// off; Gen 2 always attaches so, whatever this says.
    pub connect_under_reset: bool,
    /// Emulated chips to attach to instead of probes' (`--emulate`); several only for
    /// `--all-probes`.
    #[cfg(feature = "emulator")]
    pub emulate: Vec<super::emulator::EmulatedDevice>,
    /// Particle's RTL872x flash loader (`--rtl872x-loader`), checked and read.
    pub rtl872x_loader: Option<std::sync::Arc<super::rtl872x::loader::Loader>>,
}

impl ProbeSettings {
    /// With [`ProbeSettings::probe`].
    pub fn with_probe(mut self, probe: Option<String>) -> ProbeSettings {
        self.probe = probe;
        self
    }
    /// With [`ProbeSettings::chip`].
    pub fn with_chip(mut self, chip: Option<String>) -> ProbeSettings {
        self.chip = chip;
        self
    }
    /// With [`ProbeSettings::chip_description`].
    pub fn with_chip_description(mut self, path: Option<PathBuf>) -> ProbeSettings {
        self.chip_description = path;
        self
    }
    /// With [`ProbeSettings::speed_khz`].
    pub fn with_speed_khz(mut self, speed_khz: Option<u32>) -> ProbeSettings {
        self.speed_khz = speed_khz;
        self
    }
    /// With [`ProbeSettings::protocol`].
    pub fn with_protocol(mut self, protocol: Option<Protocol>) -> ProbeSettings {
        self.protocol = protocol;
        self
    }
    /// With [`ProbeSettings::connect_under_reset`].
    pub fn with_connect_under_reset(mut self, under_reset: bool) -> ProbeSettings {
        self.connect_under_reset = under_reset;
        self
    }
    /// With [`ProbeSettings::emulate`].
    #[cfg(feature = "emulator")]
    pub fn with_emulate(mut self, devices: Vec<super::emulator::EmulatedDevice>) -> ProbeSettings {
        self.emulate = devices;
        self
    }
    /// With [`ProbeSettings::rtl872x_loader`].
    pub fn with_rtl872x_loader(
        mut self,
        loader: Option<std::sync::Arc<super::rtl872x::loader::Loader>>,
    ) -> ProbeSettings {
        self.rtl872x_loader = loader;
        self
    }
}

/// Why one device was not written as asked. Each keeps the error beneath it as its source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// No probe is plugged in; a station waits for one.
    #[error("no debug probe attached")]
    NoProbe,
    /// The probe is there but no board is on it; a station waits for one.
    #[error("no device on the fixture")]
    FixtureEmpty,
    /// The MCU has no probe-rs target (the Spark Core's STM32F103): the user must describe
    /// the chip.
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
    /// Attached, but the device ID (FICR or the STM32's unique ID) could not be read.
    #[error("reading the device ID")]
    DeviceId(#[source] TargetError),
    /// The protected unit's write-protection state could not be read, so nothing was
    /// written rather than risk a half-written bootloader.
    #[error("reading the write protection of erase unit {unit:#010x}")]
    ProtectionState {
        /// Start address of the erase unit.
        unit: u32,
        /// The failed read.
        #[source]
        source: TargetError,
    },
    /// The image writes the Gen 2 bootloader sector, which Device OS write-protects; writing
    /// it would fail midway, so nothing is written until the user asks to unprotect it.
    #[error(
        "the bootloader sector {unit:#010x} is write-protected: rerun with --unprotect-bootloader to clear its protection, or leave the bootloader out of the image"
    )]
    BootloaderProtected {
        /// Start address of the protected sector.
        unit: u32,
    },
    /// `--chip-erase` was asked of a chip whose bootloader sector is write-protected: the
    /// chip refuses a mass erase then (an STM32F2 sets WRPERR and erases nothing), so
    /// nothing is written until the user asks to unprotect it or drops the chip erase.
    #[error(
        "--chip-erase: the bootloader sector {unit:#010x} is write-protected, so the chip would refuse to erase: rerun with --unprotect-bootloader to clear its protection, or flash without --chip-erase"
    )]
    ChipEraseProtected {
        /// Start address of the protected sector.
        unit: u32,
    },
    /// `--unprotect-bootloader` was given but the option-byte write failed.
    #[error("clearing the write protection of erase unit {unit:#010x}")]
    Unprotect {
        /// Start address of the erase unit.
        unit: u32,
        /// The failed write.
        #[source]
        source: TargetError,
    },
    /// Writing, verifying or resetting failed; the report says what was already written.
    #[error(transparent)]
    Flash(#[from] FlashError),
    /// Any other operation on the attached device failed.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The emulated device could not be saved to its state file.
    #[error(transparent)]
    SaveState(Box<dyn std::error::Error + Send + Sync>),
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

/// What to do to one device beyond the plan's writes.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DeviceOptions {
    /// Verification, reset, cancellation and batching of the writes.
    pub flash: FlashOptions,
    /// Clear the write protection of the protected unit (Gen 2's bootloader) if the
    /// image writes it or the plan erases the whole chip.
    pub unprotect_bootloader: bool,
}

impl DeviceOptions {
    /// With [`DeviceOptions::flash`].
    pub fn with_flash(mut self, flash: FlashOptions) -> DeviceOptions {
        self.flash = flash;
        self
    }
    /// With [`DeviceOptions::unprotect_bootloader`].
    pub fn with_unprotect_bootloader(mut self, unprotect: bool) -> DeviceOptions {
        self.unprotect_bootloader = unprotect;
        self
    }
}

/// What happens on one device, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceEvent {
    /// Connected to this probe.
    Connected {
        /// The probe's selector, or `emulated:FILE`.
        probe: String,
    },
    /// The device's Particle ID.
    DeviceId(String),
    /// Erase, write and verify progress of the plan.
    Progress(Event),
}

/// Something that reaches one device: a debug probe, or in tests a simulated device.
pub trait Connector {
    /// What an attached device is driven through.
    type Target: FlashTarget;
    /// A name for the slot before anything is connected.
    fn label(&self) -> String;
    /// Attaches to the device; returns it and the probe's name.
    fn connect(&mut self) -> Result<(Self::Target, String), DeviceError>;
    /// The device attached last is done with: an emulated one is saved to its state file
    /// now, before its result is shown or logged, so that a run killed later has logged
    /// no board whose state is lost.
    fn device_done(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }
}

/// The verdict on one device, as `result` in the JSON documents and log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Written (or found already holding the image), verified if asked, and reset.
    Ok,
    /// Stopped by Ctrl-C between batches; a rerun finishes it, skipping what was written.
    Interrupted,
    /// Not done; `error` says why.
    Failed,
}

/// How one device went.
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct DeviceResult {
    /// The probe's selector (or the connector's label when nothing was attached).
    pub probe: String,
    /// None when it could not be read (or nothing was attached).
    pub device_id: Option<String>,
    /// The Wi-Fi MAC, on chips whose device ID is made of it (RTL872x); left out of
    /// JSON elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// The verdict.
    pub result: Outcome,
    /// The reason for a failure, with its causes.
    #[serde(serialize_with = "serialize_error")]
    pub error: Option<DeviceError>,
    /// What was written and skipped, also for a failed or interrupted device.
    pub report: FlashReport,
    /// The chip was locked and attaching erased it whole to unlock it (`--recover`):
    /// application, Device OS, UICR and any data are gone, whatever was written after.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub chip_wiped: bool,
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
            mac: None,
            result: Outcome::Ok,
            error: None,
            report: FlashReport::default(),
            chip_wiped: false,
            seconds: 0.0,
            finished: SystemTime::now(),
        }
    }

    /// An attempt that failed before anything was written: no probe, no device, or a
    /// device that cannot be attached or identified.
    pub fn failed_before_writing(probe: String, error: DeviceError) -> DeviceResult {
        DeviceResult::new(probe).fail(error)
    }

    pub(crate) fn fail(mut self, error: DeviceError) -> DeviceResult {
        self.error = Some(error);
        self.result = Outcome::Failed;
        self
    }

    /// Whether the attempt found no probe at all, which `flash` reports as exit 2 (nothing
    /// to talk to) rather than a failed device.
    pub fn is_no_probe(&self) -> bool {
        matches!(self.error, Some(DeviceError::NoProbe))
    }

    /// The one-line `--log` record of this attempt, as of `time` (normally `finished`).
    pub fn log_line(&self, job: &FlashJob, time: SystemTime) -> super::LogLine<'_> {
        super::LogLine::new(self, job, time)
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
    result.chip_wiped = target.wiped_to_unlock();
    match read_device_id(target, job.mcu()) {
        Ok(id) => {
            if let Some(id) = &id {
                events(DeviceEvent::DeviceId(id.clone()));
            }
            result.mac = id
                .as_deref()
                .and_then(|id| job.mcu().device_id.as_ref()?.mac_of(id));
            result.device_id = id;
        }
        Err(e) => return result.fail(DeviceError::DeviceId(e)),
    }
    // The protected unit matters when the plan writes it, and when it erases the whole chip.
    let touched = |start: u32| match plan.units.iter().find(|u| u.start == start) {
        Some(unit) => Some(*unit),
        None if plan.chip_erase => super::Geometry::of(job.mcu()).unit_at(u64::from(start)),
        None => None,
    };
    if let Some(protected) = job.mcu().protected_unit
        && let Some(unit) = touched(protected)
    {
        match target.is_write_protected(unit) {
            Ok(false) => {}
            // Protection only matters to a unit that must change: one already holding the
            // image's bytes is skipped by the plan's comparison, and nothing is refused.
            Ok(true) if !plan.chip_erase && unit_holds_image(target, &job.image, unit) => {}
            Ok(true) if options.unprotect_bootloader => {
                if let Err(source) = target.clear_write_protection(unit) {
                    return result.fail(DeviceError::Unprotect {
                        unit: protected,
                        source,
                    });
                }
            }
            Ok(true) if plan.chip_erase => {
                return result.fail(DeviceError::ChipEraseProtected { unit: protected });
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

/// Whether the device's bytes of `unit` are the image's there (bytes the image leaves
/// out are not compared). A read that fails answers no: the unit is then treated as
/// one that must change.
fn unit_holds_image(
    target: &mut dyn FlashTarget,
    image: &MemoryImage,
    unit: super::EraseUnit,
) -> bool {
    image.segments().iter().all(|seg| {
        let from = u64::from(seg.start).max(u64::from(unit.start));
        let to = seg.end().min(unit.end);
        if from >= to {
            return true;
        }
        let want =
            &seg.data[(from - u64::from(seg.start)) as usize..(to - u64::from(seg.start)) as usize];
        let mut got = vec![0; want.len()];
        target.read(from as u32, &mut got).is_ok() && got == want
    })
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

/// Appends JSON lines to a log, by [`crate::output::AppendFile`]'s rules: never through
/// a link, over a special or read-only file or an input, and whole lines only. Each line
/// is synced to disk, so a station killed mid-run loses no finished device.
pub struct LogWriter {
    file: crate::output::AppendFile,
}

/// The log could not be opened or written: a station stops on it, since every attempt
/// must be recorded.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot write the log", path.display())]
#[non_exhaustive]
pub struct LogError {
    /// The log file.
    pub path: PathBuf,
    /// What was refused or failed.
    #[source]
    pub source: crate::output::OutputError,
}

impl LogWriter {
    /// Opens `path` for appending, creating it if needed: earlier runs' lines are kept.
    /// Refused, before anything is written, if it is one of `inputs` (the image, the
    /// emulator states) or breaks another rule of [`crate::output`].
    pub fn open<'a>(
        path: &Path,
        inputs: impl IntoIterator<Item = &'a Path>,
    ) -> Result<LogWriter, LogError> {
        let file = crate::output::AppendFile::open(path, inputs).map_err(|source| LogError {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(LogWriter { file })
    }

    /// Writes one JSON line and syncs it to disk before returning; on a failure the
    /// file is left as it was before the call.
    pub fn append(&mut self, line: &impl Serialize) -> Result<(), LogError> {
        let path = self.file.path().to_path_buf();
        let error = |source| LogError {
            path: path.clone(),
            source,
        };
        let text = serde_json::to_string(line).map_err(|e| {
            error(crate::output::OutputError::Io {
                path: path.clone(),
                source: e.into(),
            })
        })?;
        self.file.append_line(&text).map_err(error)
    }
}

/// `verify`: the device compared with the image's bytes, nothing written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// The image's bytes checked (bytes outside the image are not compared).
    pub bytes_compared: u64,
    /// Of those, how many the device holds otherwise.
    pub bytes_differing: u64,
    /// The first address where device and image differ.
    pub first_difference: Option<u64>,
    /// Erase units holding a difference, as `[start, end)`: what a flash would write.
    pub units_differing: Vec<[u64; 2]>,
}

impl VerifyReport {
    /// Whether the device holds every byte of the image.
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
    // A target that can only compare (the RTL872x loader) is asked piece by piece.
    let compared = match &sums {
        Some(_) => None,
        None => {
            let checks: Vec<(u32, u32, u32)> = pieces
                .iter()
                .map(|(_, start, bytes)| {
                    let sum = super::checksum::expected(bytes);
                    (*start as u32, bytes.len() as u32, sum)
                })
                .collect();
            target.compare(&checks)?
        }
    };
    let mut in_place = vec![sums.is_some() || compared.is_some(); plan.units.len()];
    if let Some(sums) = &sums {
        for (k, (i, _, bytes)) in pieces.iter().enumerate() {
            if !sums.matches(k, bytes) {
                in_place[*i] = false;
            }
        }
    }
    if let Some(answers) = &compared {
        for ((i, _, _), agrees) in pieces.iter().zip(answers) {
            if !agrees {
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

/// Why `erase --range` was refused, before connecting to anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EraseRangeError {
    /// An end of the range cuts an erase unit, whose other bytes would be lost.
    #[error(
        "--range: {address:#010x} lies inside the erase unit {unit_start:#010x}-{unit_end:#010x}, so erasing would clear bytes outside the range: give erase-unit boundaries"
    )]
    NotAligned {
        /// The end of the range that cuts the unit.
        address: u64,
        /// The unit's first address.
        unit_start: u32,
        /// The unit's end, exclusive.
        unit_end: u64,
    },
    /// The range reaches past the MCU's flash.
    #[error("--range: {address:#010x} is outside the chip's flash")]
    Outside {
        /// The first address outside.
        address: u64,
    },
    /// The range reaches flash that is never erased (the RTL872x's prebootloader-mbr).
    #[error(
        "--range reaches {start:#010x}-{end:#010x}, which holds {what}; hexsmith never erases it: start the range at {end:#010x} or later"
    )]
    NeverErased {
        /// The protected range's start.
        start: u32,
        /// Its end, exclusive.
        end: u32,
        /// What it holds.
        what: String,
    },
    /// `erase --all` on a chip that must never be chip-erased.
    #[error(
        "erase --all: refused on this chip, whose chip erase would also erase {start:#010x}-{end:#010x}, {what}; erase ranges instead (erase --range START:END)"
    )]
    ChipEraseForbidden {
        /// The protected range's start.
        start: u32,
        /// Its end, exclusive.
        end: u32,
        /// What it holds.
        what: String,
    },
}

/// Refuses `erase --all` on an MCU that must never be chip-erased, before anything is
/// connected.
pub fn check_chip_erase(mcu: &crate::platform::Mcu) -> Result<(), EraseRangeError> {
    if mcu.chip_erase {
        return Ok(());
    }
    let (start, end, what) = mcu
        .never_write
        .as_ref()
        .map(|n| (n.start, n.end, n.what.clone()))
        .unwrap_or((0, 0, "data no image carries".into()));
    Err(EraseRangeError::ChipEraseForbidden { start, end, what })
}

/// The erase units that make up exactly `[start, end)`: an erase never clears a byte
/// outside what was asked.
pub fn units_to_erase(
    mcu: &crate::platform::Mcu,
    start: u64,
    end: u64,
) -> Result<Vec<super::EraseUnit>, EraseRangeError> {
    if let Some(n) = &mcu.never_write
        && start < u64::from(n.end)
        && end > u64::from(n.start)
    {
        return Err(EraseRangeError::NeverErased {
            start: n.start,
            end: n.end,
            what: n.what.clone(),
        });
    }
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
