//! A production-line station: wait for the next device on a probe, flash and verify it,
//! report, and wait again, until told to stop. "The next device" is one whose ID differs
//! from the last one flashed, or any device once the probe has seen no device in between
//! (so the same board taken off and put back is flashed again, and a board left on the
//! fixture is not flashed twice). A board that answers but cannot be flashed (locked, its
//! ID unreadable) is one failed device, reported once however long it stays; only a fixture
//! where nothing answers is "waiting".

use super::device::round3;
use super::job::FlashJob;
use super::{
    Connector, DeviceError, DeviceEvent, DeviceOptions, DeviceResult, FlashPlan, Outcome,
    error_chain, flash_device, read_device_id,
};
use crate::report::{SCHEMA, TOOL_VERSION};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What a station shows.
pub trait StationObserver {
    /// No new device to flash; `reason` says why, when there is one (no probe, no device
    /// answering). Called when the reason changes, not on every poll.
    fn waiting(&mut self, reason: Option<&DeviceError>);
    /// Progress of the device being flashed, as for a single `flash`.
    fn event(&mut self, event: DeviceEvent);
    /// A device is done, passed or failed.
    fn finished(&mut self, result: &DeviceResult);
}

/// How a station treats each device and how often it looks for the next.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StationOptions {
    /// Applied to every device, as for a single `flash`.
    pub device: DeviceOptions,
    /// Time between attempts to attach while waiting.
    pub poll: Duration,
}

impl StationOptions {
    /// Every device treated as `device` says, the fixture polled every `poll`.
    pub fn new(device: DeviceOptions, poll: Duration) -> StationOptions {
        StationOptions { device, poll }
    }
}

/// The end of a station run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StationSummary {
    /// [`SCHEMA`].
    pub schema: u32,
    /// The hexsmith version that wrote it.
    pub version: &'static str,
    /// Devices attempted: one per board put on the fixture, whether it passed or not.
    pub devices: usize,
    /// Outcome [`Outcome::Ok`].
    pub passed: usize,
    /// Outcome [`Outcome::Failed`], boards that could not be attached or identified included.
    pub failed: usize,
    /// Outcome [`Outcome::Interrupted`]: at most one per probe, the device on it at Ctrl-C.
    pub interrupted: usize,
    /// Mean wall time per device identified (its device ID read) and not interrupted, from
    /// attach to the end of verification and reset. A board that could not be attached or
    /// identified took no flashing time, one stopped by Ctrl-C only part of it: counted,
    /// either would make the line look faster than it is.
    pub mean_seconds: Option<f64>,
    #[serde(skip)]
    total: Duration,
    #[serde(skip)]
    timed: u32,
}

impl StationSummary {
    fn new() -> StationSummary {
        StationSummary {
            schema: SCHEMA,
            version: TOOL_VERSION,
            ..StationSummary::default()
        }
    }

    /// Adds a device's result (several stations add to one summary).
    pub fn add(&mut self, result: &DeviceResult) {
        self.devices += 1;
        match result.result {
            Outcome::Ok => self.passed += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Interrupted => self.interrupted += 1,
        }
        if result.device_id.is_some() && result.result != Outcome::Interrupted {
            self.total += Duration::from_secs_f64(result.seconds);
            self.timed += 1;
        }
        self.mean_seconds = (self.timed > 0).then(|| round3(self.total / self.timed));
    }

    /// Several stations' summaries as one.
    pub fn merge(mut self, other: &StationSummary) -> StationSummary {
        self.devices += other.devices;
        self.passed += other.passed;
        self.failed += other.failed;
        self.interrupted += other.interrupted;
        self.total += other.total;
        self.timed += other.timed;
        self.mean_seconds = (self.timed > 0).then(|| round3(self.total / self.timed));
        self
    }

    /// A summary of no devices, to [`merge`](StationSummary::merge) stations' into.
    pub fn empty() -> StationSummary {
        StationSummary::new()
    }
}

/// Runs a station on one probe until `cancel` is set.
pub fn run_station<C: Connector>(
    connector: &mut C,
    job: &FlashJob,
    plan: &FlashPlan,
    options: &StationOptions,
    cancel: &AtomicBool,
    observer: &mut dyn StationObserver,
) -> StationSummary {
    let mut summary = StationSummary::new();
    let mut last_id: Option<Option<String>> = None;
    // Set while a device that failed before being written (locked, its ID unreadable)
    // stays on the fixture: it is one failed device, not one per poll.
    let mut failed_present = false;
    let mut shown_reason: Option<Option<String>> = None;
    let wait = |reason: Option<DeviceError>,
                shown_reason: &mut Option<Option<String>>,
                observer: &mut dyn StationObserver| {
        let text = reason.as_ref().map(|e| error_chain(e));
        if shown_reason.as_ref() != Some(&text) {
            observer.waiting(reason.as_ref());
            *shown_reason = Some(text);
        }
        sleep_unless_cancelled(options.poll, cancel);
    };
    while !cancel.load(Ordering::SeqCst) {
        let started = Instant::now();
        let attached = match connector.connect() {
            Ok((mut target, probe)) => match read_device_id(&mut target, job.mcu()) {
                Ok(id) => Ok((target, probe, id)),
                Err(e) => Err((probe, DeviceError::DeviceId(e))),
            },
            Err(e) => Err((connector.label(), e)),
        };
        let (mut target, probe, id) = match attached {
            Ok(attached) => attached,
            Err((_, e)) if !e.found_device() => {
                // Nothing answers: whatever comes next is a new device.
                last_id = None;
                failed_present = false;
                wait(Some(e), &mut shown_reason, observer);
                continue;
            }
            Err(_) if failed_present => {
                wait(None, &mut shown_reason, observer);
                continue;
            }
            Err((probe, e)) => {
                // A device is there but cannot be flashed: a failure, recorded once.
                let mut result = DeviceResult::failed_before_writing(probe, e);
                result.seconds = round3(started.elapsed());
                summary.add(&result);
                observer.finished(&result);
                last_id = None;
                failed_present = true;
                shown_reason = None;
                continue;
            }
        };
        failed_present = false;
        if last_id.as_ref() == Some(&id) {
            // The device just flashed, still on the fixture.
            wait(None, &mut shown_reason, observer);
            continue;
        }
        shown_reason = None;
        observer.event(DeviceEvent::Connected {
            probe: probe.clone(),
        });
        let mut events = |e: DeviceEvent| observer.event(e);
        let mut result = flash_device(&mut target, probe, job, plan, &options.device, &mut events);
        drop(target);
        if let Err(e) = connector.device_done() {
            result = result.fail(e);
        }
        result.seconds = round3(started.elapsed());
        summary.add(&result);
        observer.finished(&result);
        last_id = Some(id);
    }
    summary
}

fn sleep_unless_cancelled(total: Duration, cancel: &AtomicBool) {
    let deadline = Instant::now() + total;
    while !cancel.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
    }
}

/// A station on each of several probes at once, one thread each, until `cancel` is set;
/// their summaries as one.
pub fn run_stations<C, O>(
    stations: Vec<(C, O)>,
    job: &FlashJob,
    plan: &FlashPlan,
    options: &StationOptions,
    cancel: &AtomicBool,
) -> StationSummary
where
    C: Connector + Send,
    O: StationObserver + Send,
{
    std::thread::scope(|scope| {
        let handles: Vec<_> = stations
            .into_iter()
            .map(|(mut connector, mut observer)| {
                scope.spawn(move || {
                    run_station(&mut connector, job, plan, options, cancel, &mut observer)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(summary) => summary,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .fold(StationSummary::empty(), |all, s| all.merge(&s))
    })
}

/// A rehearsal of a line: devices put on one fixture one after another, the fixture empty
/// in between, and the run over (as if Ctrl-C were pressed) after the last. With emulated
/// devices it runs a station's whole sequence before the hardware arrives.
pub struct Rehearsal<C: Connector> {
    devices: std::collections::VecDeque<C>,
    present: bool,
    cancel: std::sync::Arc<AtomicBool>,
}

impl<C: Connector> Rehearsal<C> {
    /// The devices in the order they are put on the fixture; `cancel` is set after the
    /// last has been taken off, which ends the station.
    pub fn new(
        devices: impl IntoIterator<Item = C>,
        cancel: std::sync::Arc<AtomicBool>,
    ) -> Rehearsal<C> {
        Rehearsal {
            devices: devices.into_iter().collect(),
            present: false,
            cancel,
        }
    }
}

impl<C: Connector> Connector for Rehearsal<C> {
    type Target = C::Target;

    fn label(&self) -> String {
        self.devices
            .front()
            .map_or_else(|| "rehearsal".to_string(), Connector::label)
    }

    fn device_done(&mut self) -> Result<(), DeviceError> {
        match self.devices.front_mut() {
            Some(device) => device.device_done(),
            None => Ok(()),
        }
    }

    fn connect(&mut self) -> Result<(C::Target, String), DeviceError> {
        if self.present {
            // The device just flashed is taken off.
            self.devices.pop_front();
            self.present = false;
            return Err(DeviceError::FixtureEmpty);
        }
        match self.devices.front_mut() {
            Some(next) => {
                self.present = true;
                next.connect()
            }
            None => {
                self.cancel.store(true, Ordering::SeqCst);
                Err(DeviceError::FixtureEmpty)
            }
        }
    }
}
