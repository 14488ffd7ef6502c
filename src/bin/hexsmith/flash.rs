//! `hexsmith flash`, `probes`, `read`, `verify`, `erase` and `reset`: the arguments and the
//! display. What is written, in which order, and every refusal come from
//! `hexsmith::flash`; this file draws progress, prints and keeps the log.

use crate::build::refusal;
use crate::out::outln;
use crate::{Outcome, Usage};
use anyhow::{Context, Result};
use hexsmith::compose::{ModuleInput, place_modules};
#[cfg(feature = "probe")]
use hexsmith::flash::{DeviceEvent, DeviceResult, Event};
use hexsmith::flash::{FlashJob, FlashPlan, PlanOptions, ProbeSettings, Protocol};
use hexsmith::input::{self, Input};
use hexsmith::platform::{self, Mcu};
#[cfg(feature = "probe")]
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
#[cfg(feature = "probe")]
use std::io::IsTerminal as _;
use std::path::PathBuf;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ProtocolArg {
    Swd,
    Jtag,
}

/// How to reach the device, named as probe-rs names it.
#[derive(clap::Args, Clone)]
pub struct ProbeArgs {
    /// The probe to use, as `hexsmith probes` lists it: VID:PID[:SERIAL].
    #[arg(long, value_name = "SEL", env = "PROBE_RS_PROBE")]
    pub probe: Option<String>,
    /// The probe-rs target name (default: the image's platform's chip); checked against
    /// probe-rs's registry and the image's platform.
    #[arg(long, value_name = "NAME", env = "PROBE_RS_CHIP")]
    pub chip: Option<String>,
    /// A probe-rs target description (YAML) for chips without a built-in target (P2, M-SoM).
    #[arg(
        long = "chip-description-path",
        alias = "chip-description",
        value_name = "FILE"
    )]
    pub chip_description: Option<PathBuf>,
    /// SWD clock in kHz.
    #[arg(long, value_name = "KHZ", value_parser = clap::value_parser!(u32).range(1..))]
    pub speed: Option<u32>,
    /// The wire protocol between probe and chip.
    #[arg(long, value_enum, value_name = "swd|jtag")]
    pub protocol: Option<ProtocolArg>,
    /// Attach while holding the chip in reset (the default for Gen 2, whose Device OS turns SWD off).
    #[arg(long)]
    pub connect_under_reset: bool,
    /// Draw no progress bars (they are never drawn when standard error is not a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Talk to an emulated chip instead of a probe's (nRF52840_xxAA or STM32F205RG): probe-rs
    /// and its flash algorithms run as on hardware. For rehearsing a station, or testing
    /// scripts, without one.
    #[arg(long, value_name = "CHIP")]
    pub emulate: Option<String>,
    /// With --emulate: the device's non-volatile memory as Intel HEX, loaded if the file
    /// exists (erased silicon if not) and saved after the command. Repeat for several
    /// devices (with --all-probes).
    #[arg(long, value_name = "FILE", requires = "emulate")]
    pub emulate_state: Vec<PathBuf>,
}

/// The emulated devices this run opened, saved to their state files when it ends.
#[cfg(feature = "probe")]
static EMULATED: std::sync::Mutex<Vec<hexsmith::flash::emulator::EmulatedDevice>> =
    std::sync::Mutex::new(Vec::new());

/// Saves every emulated device to its state file, whatever the command's outcome: the
/// state is what the chip holds, a half-written one included.
pub fn save_emulated() -> Result<()> {
    #[cfg(feature = "probe")]
    {
        let devices = std::mem::take(&mut *EMULATED.lock().unwrap_or_else(|e| e.into_inner()));
        for device in devices {
            device.save()?;
        }
    }
    Ok(())
}

impl ProbeArgs {
    /// The settings, with a `--probe` selector's syntax checked before anything else.
    pub fn settings(&self) -> Result<ProbeSettings> {
        #[cfg(feature = "probe")]
        if let Some(selector) = &self.probe {
            // A misspelt selector is a wrong command line, whatever probes are attached.
            hexsmith::flash::probe::check_selector(selector).map_err(|e| Usage(e.to_string()))?;
        }
        #[cfg_attr(not(feature = "probe"), allow(unused_mut))]
        let mut chip = self.chip.clone();
        #[cfg(feature = "probe")]
        let emulate = self.open_emulated(&mut chip)?;
        #[cfg(not(feature = "probe"))]
        if self.emulate.is_some() {
            return Err(crate::NoProbeSupport.into());
        }
        Ok(ProbeSettings {
            probe: self.probe.clone(),
            chip,
            #[cfg(feature = "probe")]
            emulate,
            chip_description: self.chip_description.clone(),
            speed_khz: self.speed,
            protocol: self.protocol.map(|p| match p {
                ProtocolArg::Swd => Protocol::Swd,
                ProtocolArg::Jtag => Protocol::Jtag,
            }),
            connect_under_reset: self.connect_under_reset,
        })
    }

    /// The emulated devices `--emulate` asks for; the chip they are is the chip to use.
    #[cfg(feature = "probe")]
    fn open_emulated(
        &self,
        chip: &mut Option<String>,
    ) -> Result<Vec<hexsmith::flash::emulator::EmulatedDevice>> {
        use hexsmith::flash::emulator::{Chip, EmulatedDevice, EmulatorError};
        let Some(name) = &self.emulate else {
            return Ok(Vec::new());
        };
        let emulated =
            Chip::from_target_name(name).ok_or_else(|| EmulatorError::UnknownChip(name.clone()))?;
        match chip.as_deref() {
            Some(c)
                if !emulated
                    .target_name()
                    .to_ascii_lowercase()
                    .starts_with(&c.to_ascii_lowercase()) =>
            {
                return Err(Usage(format!(
                    "--chip {c} and --emulate {name} name different chips: leave out --chip"
                ))
                .into());
            }
            _ => *chip = Some(emulated.target_name().to_string()),
        }
        let devices = if self.emulate_state.is_empty() {
            vec![EmulatedDevice::without_state(emulated)]
        } else {
            self.emulate_state
                .iter()
                .map(|path| EmulatedDevice::open(emulated, path))
                .collect::<Result<Vec<_>, _>>()?
        };
        EMULATED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(devices.iter().cloned());
        Ok(devices)
    }

    /// Where progress bars go: nowhere when asked, or when no one watches.
    #[cfg(feature = "probe")]
    pub fn bars(&self) -> MultiProgress {
        let target = if self.no_progress || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        MultiProgress::with_draw_target(target)
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// An image (.hex, .elf) or module files (.bin ...) to write.
    #[arg(required = true, value_name = "IMAGE|MODULE")]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    probe: ProbeArgs,
    /// Write to every attached probe's device at once (PROBE_RS_PROBE is then ignored).
    #[arg(long)]
    all_probes: bool,
    /// Erase the whole chip first (refused for a Gen 3 image without MBR and UICR).
    #[arg(long)]
    chip_erase: bool,
    /// Skip reading the written units back.
    #[arg(long)]
    no_verify: bool,
    /// Leave the device halted after writing.
    #[arg(long)]
    no_reset: bool,
    /// Print the plan; needs no probe.
    #[arg(long)]
    dry_run: bool,
    /// Machine-readable output (the plan, with --dry-run; the result otherwise; with
    /// --station, one line per device and the summary).
    #[arg(long)]
    json: bool,
    /// Append one JSON line per attempt to this file.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Clear the write protection of the Gen 2 bootloader sector before writing it.
    #[arg(long)]
    unprotect_bootloader: bool,
    /// Unlock a locked nRF52840 (APPROTECT, as Particle's Device Protection sets it) by
    /// erasing the whole chip through its CTRL-AP, then write the image.
    #[arg(long)]
    recover: bool,
    /// Production-line mode: flash every device that appears on the probe(s), one after
    /// another, showing PASS or FAIL for each, until Ctrl-C.
    #[arg(long, conflicts_with = "dry_run")]
    station: bool,
    /// With --station: time between attempts to attach while waiting, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500, requires = "station")]
    poll_ms: u64,
}

/// What is to be written, and where its warnings point.
fn load_job(inputs: &[PathBuf], settings: &ProbeSettings) -> Result<FlashJob> {
    let chip = settings.chip.as_deref();
    let description = settings.chip_description.as_deref();
    if let [path] = inputs
        && let Input::Image { image, .. } = input::read(path)?
    {
        let job = FlashJob::from_image(image, chip, description)
            .with_context(|| path.display().to_string())?;
        for w in &job.warnings {
            eprintln!("warning: {}: {w}", path.display());
        }
        return Ok(job);
    }
    let modules = inputs
        .iter()
        .map(|p| ModuleInput::read(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(refusal)?;
    let (platform, image) = place_modules(&modules).map_err(refusal)?;
    Ok(FlashJob::for_platform(image, platform, chip, description)?)
}

pub fn run(args: &Args) -> Result<Outcome> {
    let mut probe = args.probe.clone();
    if args.all_probes && probe.probe.is_some() {
        // A selector from the environment is a default; one on the command line conflicts.
        if std::env::var("PROBE_RS_PROBE").ok() != probe.probe {
            return Err(
                Usage("--all-probes writes to every probe: leave out --probe".into()).into(),
            );
        }
        probe.probe = None;
    }
    let settings = probe.settings()?;
    let job = load_job(&args.inputs, &settings)?;
    let plan = job.plan(PlanOptions {
        chip_erase: args.chip_erase,
    })?;
    if args.dry_run {
        print_plan(&job, &plan, args.json)?;
        return Ok(Outcome::Pass);
    }
    if args.station {
        return station(args, &settings, &job, &plan);
    }
    flash_devices(args, &settings, &job, &plan)
}

fn print_plan(job: &FlashJob, plan: &FlashPlan, json: bool) -> Result<()> {
    if json {
        print_json(&job.plan_document(plan))?;
        return Ok(());
    }
    let chip = plan
        .chip
        .as_deref()
        .unwrap_or("none built in (give --chip-description-path and --chip)");
    outln!("chip          {chip}");
    outln!("platform      {}", job.platform.name);
    outln!(
        "image         {} bytes, sha256 {}",
        plan.bytes,
        job.image_sha256
    );
    let erase_bytes: u64 = plan.units.iter().map(|u| u.len() as u64).sum();
    if plan.chip_erase {
        outln!(
            "erase         the whole chip, then program {} erase units",
            plan.units.len()
        );
    } else {
        outln!(
            "erase units   {} touched ({erase_bytes} bytes); those already holding the image are skipped",
            plan.units.len()
        );
    }
    for run in unit_runs(plan) {
        outln!(
            "              {:#010x}-{:#010x} ({} units)",
            run.0,
            run.1,
            run.2
        );
    }
    outln!(
        "estimate      at most {:.1} s erase + {:.1} s program (datasheet figures, every unit written)",
        plan.estimate.erase_seconds,
        plan.estimate.program_seconds
    );
    Ok(())
}

/// Touched units merged into contiguous runs, for a short listing.
fn unit_runs(plan: &FlashPlan) -> Vec<(u32, u64, usize)> {
    let mut runs: Vec<(u32, u64, usize)> = Vec::new();
    for u in &plan.units {
        match runs.last_mut() {
            Some(r) if r.1 == u64::from(u.start) => {
                r.1 = u.end;
                r.2 += 1;
            }
            _ => runs.push((u.start, u.end, 1)),
        }
    }
    runs
}

#[cfg(feature = "probe")]
fn device_options(args: &Args) -> hexsmith::flash::DeviceOptions {
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    crate::signals::cancel_with(cancel.clone());
    hexsmith::flash::DeviceOptions {
        flash: hexsmith::flash::FlashOptions {
            verify: !args.no_verify,
            reset: !args.no_reset,
            cancel: Some(cancel),
            batch_units: 16,
        },
        unprotect_bootloader: args.unprotect_bootloader,
    }
}

/// A progress bar for one device, and the device-ID line printed beside the bars (never
/// through them, so it shows when they are hidden).
#[cfg(feature = "probe")]
fn progress_for(bars: &MultiProgress, label: String) -> impl FnMut(DeviceEvent) + Send + use<> {
    let bar = bars.add(ProgressBar::new(0));
    bar.set_style(
        ProgressStyle::with_template("{prefix:>12} {msg:<8} [{bar:30}] {pos}/{len}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(label.clone());
    let bars = bars.clone();
    let mut probe = label;
    move |e: DeviceEvent| match e {
        DeviceEvent::Connected { probe: name } => {
            bar.set_prefix(name.clone());
            probe = name;
        }
        DeviceEvent::DeviceId(id) => bars.suspend(|| eprintln!("{probe}: device {id}")),
        DeviceEvent::Progress(event) => show_progress(&bar, event),
    }
}

#[cfg(feature = "probe")]
fn show_progress(bar: &ProgressBar, event: Event) {
    let (message, done, total) = match event {
        Event::Compared { done, total } => ("compare", done as u64, total as u64),
        Event::Written { done, total } => ("write", done, total),
        Event::Verified { done, total } => ("verify", done, total),
        Event::Read { done, total } => ("read", done, total),
    };
    bar.set_message(message);
    bar.set_length(total);
    bar.set_position(done);
}

#[cfg(not(feature = "probe"))]
fn flash_devices(_: &Args, _: &ProbeSettings, _: &FlashJob, _: &FlashPlan) -> Result<Outcome> {
    Err(crate::NoProbeSupport.into())
}

#[cfg(not(feature = "probe"))]
fn station(_: &Args, _: &ProbeSettings, _: &FlashJob, _: &FlashPlan) -> Result<Outcome> {
    Err(crate::NoProbeSupport.into())
}

/// One connection per device to write: every attached probe, or the one named.
#[cfg(feature = "probe")]
fn connections(
    args: &Args,
    settings: &ProbeSettings,
    job: &FlashJob,
    plan: &FlashPlan,
) -> Result<Vec<hexsmith::flash::probe::Connect>> {
    use hexsmith::flash::probe::{self, Connect};
    let mut base = Connect::new(settings, job.mcu(), job.chip.clone())?;
    base.allow_erase_all = plan.chip_erase || args.recover;
    if settings.emulate.len() > 1 && !args.all_probes {
        return Err(Usage(
            "several --emulate-state files are several devices: add --all-probes to write to all of them"
                .into(),
        )
        .into());
    }
    Ok(if !settings.emulate.is_empty() {
        settings
            .emulate
            .iter()
            .map(|device| Connect {
                emulate: Some(device.clone()),
                ..base.clone()
            })
            .collect()
    } else if args.all_probes {
        probe::list()
            .into_iter()
            .map(|p| Connect {
                probe: Some(p.selector),
                ..base.clone()
            })
            .collect()
    } else {
        vec![base]
    })
}

#[cfg(feature = "probe")]
fn flash_devices(
    args: &Args,
    settings: &ProbeSettings,
    job: &FlashJob,
    plan: &FlashPlan,
) -> Result<Outcome> {
    use hexsmith::flash::{DeviceError, FlashDocument, LogWriter, flash_all};
    let mut log = args.log.as_deref().map(LogWriter::open).transpose()?;
    let options = device_options(args);
    let connects = connections(args, settings, job, plan)?;
    let bars = args.probe.bars();
    let results: Vec<DeviceResult> = if connects.is_empty() {
        // Every attempt is recorded, even one that found nothing to write to.
        vec![DeviceResult::failed_before_writing(
            "all-probes".into(),
            DeviceError::NoProbe,
        )]
    } else {
        let work = connects
            .into_iter()
            .map(|c| {
                let events = progress_for(&bars, hexsmith::flash::Connector::label(&c));
                (c, events)
            })
            .collect();
        flash_all(work, job, plan, &options)
    };
    bars.clear().ok();
    if let Some(log) = &mut log {
        for r in &results {
            log.append(&r.log_line(job, r.finished))?;
        }
    }
    if results.iter().all(DeviceResult::is_no_probe) {
        return Err(NoProbe.into());
    }
    if args.json {
        print_json(&FlashDocument::new(job, &results))?;
    } else {
        for r in &results {
            outln!("{}", result_line(r));
        }
    }
    Ok(
        if results
            .iter()
            .all(|r| r.result == hexsmith::flash::Outcome::Ok)
        {
            Outcome::Pass
        } else {
            Outcome::CheckFailed
        },
    )
}

#[cfg(feature = "probe")]
fn result_line(r: &DeviceResult) -> String {
    let id = r.device_id.as_deref().unwrap_or("(unknown device)");
    let rep = &r.report;
    let state = match (&r.error, rep.interrupted) {
        (Some(e), _) => format!("FAILED: {}", hexsmith::flash::error_chain(e)),
        (None, true) => "interrupted".to_string(),
        (None, false) if rep.verified => "ok, verified".to_string(),
        (None, false) => "ok".to_string(),
    };
    format!(
        "{:<24} {id:<34} written {} units ({} bytes), skipped {} units ({} bytes): {state}",
        r.probe, rep.units_written, rep.bytes_written, rep.units_skipped, rep.bytes_skipped
    )
}

#[cfg(feature = "probe")]
fn station(
    args: &Args,
    settings: &ProbeSettings,
    job: &FlashJob,
    plan: &FlashPlan,
) -> Result<Outcome> {
    use hexsmith::flash::probe::Connect;
    use hexsmith::flash::station::{Rehearsal, StationOptions};
    let options = StationOptions {
        device: device_options(args),
        poll: std::time::Duration::from_millis(args.poll_ms),
    };
    let cancel = options.device.flash.cancel.clone().expect("set above");
    if !settings.emulate.is_empty() {
        // Emulated devices are a rehearsal: one fixture, each device in turn, then the end.
        let mut base = Connect::new(settings, job.mcu(), job.chip.clone())?;
        base.allow_erase_all = plan.chip_erase || args.recover;
        let devices = settings.emulate.iter().map(|device| Connect {
            emulate: Some(device.clone()),
            ..base.clone()
        });
        let line = vec![Rehearsal::new(devices, cancel.clone())];
        return run_line(args, job, plan, &options, &cancel, line);
    }
    let connects = connections(args, settings, job, plan)?;
    if connects.is_empty() {
        return Err(NoProbe.into());
    }
    run_line(args, job, plan, &options, &cancel, connects)
}

/// Runs a station on each connector, with the display and the log, and prints the summary.
#[cfg(feature = "probe")]
fn run_line<C: hexsmith::flash::Connector + Send>(
    args: &Args,
    job: &FlashJob,
    plan: &FlashPlan,
    options: &hexsmith::flash::station::StationOptions,
    cancel: &std::sync::atomic::AtomicBool,
    connectors: Vec<C>,
) -> Result<Outcome> {
    use hexsmith::flash::LogWriter;
    use hexsmith::flash::station::run_stations;
    use std::sync::Mutex;
    let log = args
        .log
        .as_deref()
        .map(LogWriter::open)
        .transpose()?
        .map(Mutex::new);
    let bars = args.probe.bars();
    let log_failed = Mutex::new(None);
    let stdout_is_terminal =
        std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    if !args.json {
        eprintln!(
            "station: {} ({}), image sha256 {}; Ctrl-C ends",
            job.platform.name,
            job.chip.as_deref().unwrap_or("?"),
            job.image_sha256
        );
    }
    let stations = connectors
        .into_iter()
        .map(|connect| {
            let label = connect.label();
            let display = crate::station::Display {
                events: Box::new(progress_for(&bars, label.clone())),
                label,
                json: args.json,
                colour: stdout_is_terminal,
                bars: bars.clone(),
                log: log.as_ref(),
                log_failed: &log_failed,
                cancel,
                job,
            };
            (connect, display)
        })
        .collect();
    let summary = run_stations(stations, job, plan, options, cancel);
    bars.clear().ok();
    if args.json {
        outln!("{}", serde_json::to_string(&summary)?);
    } else {
        outln!("{}", crate::station::summary_text(&summary));
    }
    if let Some(e) = log_failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e.into());
    }
    Ok(if summary.failed == 0 && summary.interrupted == 0 {
        Outcome::Pass
    } else {
        Outcome::CheckFailed
    })
}

#[derive(Debug, thiserror::Error)]
#[error("no debug probe attached")]
pub struct NoProbe;

/// A JSON document on standard output.
fn print_json(document: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(document)?;
    outln!("{text}");
    Ok(())
}

#[derive(clap::Args)]
pub struct ProbesArgs {
    #[arg(long)]
    json: bool,
}

/// `probes --json`.
#[cfg(feature = "probe")]
#[derive(serde::Serialize)]
struct ProbesDocument {
    probes: Vec<hexsmith::flash::probe::ProbeInfo>,
}

#[cfg(feature = "probe")]
pub fn probes(args: &ProbesArgs) -> Result<Outcome> {
    let all = hexsmith::flash::probe::list();
    if args.json {
        crate::out::json(ProbesDocument { probes: all })?;
    } else if all.is_empty() {
        outln!("{NoProbe}");
    } else {
        for p in &all {
            outln!("{:<28} {}", p.selector, p.name);
        }
    }
    Ok(Outcome::Pass)
}

#[cfg(not(feature = "probe"))]
pub fn probes(_: &ProbesArgs) -> Result<Outcome> {
    Err(crate::NoProbeSupport.into())
}

#[derive(clap::Args)]
pub struct ReadArgs {
    #[command(flatten)]
    probe: ProbeArgs,
    /// The platform of the device (sets the chip and the flash to read).
    #[arg(long, value_name = "NAME")]
    platform: Option<String>,
    /// Only this range, START:END (exclusive), in hex (0x...) or decimal.
    #[arg(long, value_name = "START:END")]
    range: Option<String>,
    /// Output Intel HEX file.
    #[arg(short, long, value_name = "DUMP.hex")]
    output: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// `read --json`.
#[cfg(feature = "probe")]
#[derive(serde::Serialize)]
struct ReadDocument<'a> {
    probe: &'a str,
    device_id: Option<&'a str>,
    chip: Option<&'a str>,
    output: &'a std::path::Path,
    bytes: u64,
    /// Over the memory content, as `build` and `inspect` compute it.
    memory_sha256: String,
}

/// `erase --json` and `reset --json`: what was done to which device.
#[cfg(feature = "probe")]
#[derive(serde::Serialize)]
struct DeviceActionDocument<'a> {
    probe: &'a str,
    device_id: Option<&'a str>,
    chip: Option<&'a str>,
    action: &'static str,
    /// `erase`: the erase units erased, `[start, end)`; empty with `whole_chip`.
    #[serde(skip_serializing_if = "Option::is_none")]
    units: Option<Vec<[u64; 2]>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    whole_chip: Option<bool>,
}

/// The MCU and probe-rs chip a command without an image is for: from `--platform`, or
/// from `--chip` alone; a chip given with a platform is checked against it.
pub fn device_mcu(
    platform: Option<&str>,
    settings: &ProbeSettings,
) -> Result<(&'static Mcu, Option<String>)> {
    let chip = settings.chip.as_deref();
    let platform = match (platform, chip) {
        (Some(name), _) => platform::by_name(name)
            .with_context(|| format!("--platform {name}: unknown platform"))?,
        (None, Some(chip)) => hexsmith::flash::platform_for_chip(chip).with_context(|| {
            format!("--chip {chip}: no Particle platform uses this chip: give --platform")
        })?,
        (None, None) => {
            return Err(Usage("name the device with --platform NAME or --chip NAME".into()).into());
        }
    };
    let chip = hexsmith::flash::chip_for(platform, chip, settings.chip_description.as_deref())?;
    Ok((platform.mcu(), chip))
}

fn parse_range(text: &str) -> Result<(u32, u64)> {
    let number = |s: &str| -> Result<u64> {
        let s = s.trim();
        let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16),
            None => s.parse(),
        };
        v.map_err(|_| Usage(format!("--range {text}: {s:?} is not a number")).into())
    };
    let (a, b) = text
        .split_once(':')
        .ok_or_else(|| Usage(format!("--range {text}: write START:END")))?;
    let (start, end) = (number(a)?, number(b)?);
    if end <= start || end > 1 << 32 {
        return Err(Usage(format!(
            "--range {text}: END must lie after START and within 4 GiB"
        ))
        .into());
    }
    Ok((start as u32, end))
}

#[cfg(feature = "probe")]
pub fn connect(
    settings: &ProbeSettings,
    mcu: &Mcu,
    chip: Option<String>,
    allow_erase_all: bool,
) -> Result<hexsmith::flash::probe::ProbeTarget> {
    use hexsmith::flash::DeviceError;
    use hexsmith::flash::probe::{Connect, ProbeTarget};
    let mut connect = Connect::new(settings, mcu, chip)?;
    connect.allow_erase_all = allow_erase_all;
    ProbeTarget::connect(&connect).map_err(|e| match DeviceError::from(e) {
        DeviceError::NoProbe => NoProbe.into(),
        other => anyhow::Error::new(other),
    })
}

/// Connects and prints the device's ID, on standard error so that it shows whatever
/// standard output carries.
#[cfg(feature = "probe")]
fn connect_and_identify(
    settings: &ProbeSettings,
    mcu: &Mcu,
    chip: Option<String>,
    allow_erase_all: bool,
) -> Result<(hexsmith::flash::probe::ProbeTarget, Option<String>)> {
    let mut target = connect(settings, mcu, chip, allow_erase_all)?;
    let id = hexsmith::flash::read_device_id(&mut target, mcu)
        .map_err(hexsmith::flash::DeviceError::DeviceId)?;
    if let Some(id) = &id {
        eprintln!("{}: device {id}", target.probe);
    }
    Ok((target, id))
}

pub fn read(args: &ReadArgs) -> Result<Outcome> {
    let settings = args.probe.settings()?;
    let (mcu, chip) = device_mcu(args.platform.as_deref(), &settings)?;
    let range = args.range.as_deref().map(parse_range).transpose()?;
    #[cfg(feature = "probe")]
    {
        let (mut target, id) = connect_and_identify(&settings, mcu, chip.clone(), false)?;
        let bars = args.probe.bars();
        let bar = progress_for(&bars, target.probe.clone());
        let mut bar = bar;
        let image =
            hexsmith::flash::read_device_with_progress(&mut target, mcu, range, &mut |e| {
                bar(DeviceEvent::Progress(e))
            })?;
        bars.clear().ok();
        hexsmith::output::write_atomic_with(&args.output, |f| {
            hexsmith::memory::hex::write_to(&image, f)
        })
        .with_context(|| args.output.display().to_string())?;
        let memory_sha256 = hexsmith::inspect::hex_lower(&image.sha256());
        if args.json {
            crate::out::json(ReadDocument {
                probe: &target.probe,
                device_id: id.as_deref(),
                chip: chip.as_deref(),
                output: &args.output,
                bytes: image.len(),
                memory_sha256,
            })?;
        } else {
            outln!(
                "{}: {} bytes, memory-content sha256 {memory_sha256}",
                args.output.display(),
                image.len(),
            );
        }
        Ok(Outcome::Pass)
    }
    #[cfg(not(feature = "probe"))]
    {
        let _ = (mcu, chip, range, args.json);
        Err(crate::NoProbeSupport.into())
    }
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The image (.hex, .elf) or module files (.bin ...) the device should hold.
    #[arg(required = true, value_name = "IMAGE|MODULE")]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    probe: ProbeArgs,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// `verify --json`.
#[cfg(feature = "probe")]
#[derive(serde::Serialize)]
struct VerifyDocument<'a> {
    probe: &'a str,
    device_id: Option<&'a str>,
    chip: Option<&'a str>,
    platform: &'a str,
    image_sha256: &'a str,
    matches: bool,
    #[serde(flatten)]
    report: &'a hexsmith::flash::VerifyReport,
    /// On an emulated device: what crossed its wire.
    #[serde(skip_serializing_if = "Option::is_none")]
    wire: Option<hexsmith::flash::WireCounts>,
}

/// Compares a device with an image, writing nothing.
pub fn verify(args: &VerifyArgs) -> Result<Outcome> {
    let settings = args.probe.settings()?;
    let job = load_job(&args.inputs, &settings)?;
    let plan = job.plan(PlanOptions::default())?;
    #[cfg(feature = "probe")]
    {
        let (mut target, id) = connect_and_identify(&settings, job.mcu(), job.chip.clone(), false)?;
        let bars = args.probe.bars();
        let mut bar = progress_for(&bars, target.probe.clone());
        let report = hexsmith::flash::verify_device(&mut target, &job.image, &plan, &mut |e| {
            bar(DeviceEvent::Progress(e))
        })
        .map_err(hexsmith::flash::DeviceError::from)?;
        bars.clear().ok();
        if args.json {
            crate::out::json(VerifyDocument {
                probe: &target.probe,
                device_id: id.as_deref(),
                chip: job.chip.as_deref(),
                platform: &job.platform.name,
                image_sha256: &job.image_sha256,
                matches: report.matches(),
                report: &report,
                wire: hexsmith::flash::FlashTarget::wire_counts(&target),
            })?;
        } else if report.matches() {
            outln!(
                "{}: the device holds the image ({} bytes compared)",
                target.probe,
                report.bytes_compared
            );
        } else {
            outln!(
                "{}: the device differs from the image: {} of {} bytes, first at {:#010x}, in {} erase units (`hexsmith flash` would write those)",
                target.probe,
                report.bytes_differing,
                report.bytes_compared,
                report.first_difference.unwrap_or_default(),
                report.units_differing.len()
            );
        }
        Ok(if report.matches() {
            Outcome::Pass
        } else {
            Outcome::CheckFailed
        })
    }
    #[cfg(not(feature = "probe"))]
    {
        let _ = plan;
        Err(crate::NoProbeSupport.into())
    }
}

#[derive(clap::Args)]
pub struct EraseArgs {
    #[command(flatten)]
    probe: ProbeArgs,
    /// The platform of the device (sets the chip and its erase units).
    #[arg(long, value_name = "NAME")]
    platform: Option<String>,
    /// Erase exactly this range, START:END (exclusive), which must fall on erase-unit
    /// boundaries, in hex (0x...) or decimal.
    #[arg(long, value_name = "START:END", required_unless_present = "all")]
    range: Option<String>,
    /// Erase the whole chip. On an nRF52840 that includes the MBR and the UICR: the device
    /// will not boot until a complete restore image is written.
    #[arg(long, conflicts_with = "range")]
    all: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// Erases whole units, or the whole chip.
pub fn erase(args: &EraseArgs) -> Result<Outcome> {
    let settings = args.probe.settings()?;
    let (mcu, chip) = device_mcu(args.platform.as_deref(), &settings)?;
    let units = match &args.range {
        Some(text) => {
            let (start, end) = parse_range(text)?;
            hexsmith::flash::units_to_erase(mcu, u64::from(start), end)?
        }
        None => Vec::new(),
    };
    #[cfg(feature = "probe")]
    {
        use hexsmith::flash::FlashTarget as _;
        let (mut target, id) = connect_and_identify(&settings, mcu, chip.clone(), args.all)?;
        let bytes: u64 = units.iter().map(|u| u.len() as u64).sum();
        if args.all {
            target
                .erase_chip()
                .map_err(hexsmith::flash::DeviceError::from)?;
        } else {
            target
                .erase_units(&units)
                .map_err(hexsmith::flash::DeviceError::from)?;
        }
        if args.json {
            crate::out::json(DeviceActionDocument {
                probe: &target.probe,
                device_id: id.as_deref(),
                chip: chip.as_deref(),
                action: "erase",
                units: Some(units.iter().map(|u| [u64::from(u.start), u.end]).collect()),
                bytes: (!args.all).then_some(bytes),
                whole_chip: Some(args.all),
            })?;
        } else if args.all {
            outln!("{}: erased the whole chip", target.probe);
        } else {
            outln!(
                "{}: erased {} units ({bytes} bytes)",
                target.probe,
                units.len()
            );
        }
        Ok(Outcome::Pass)
    }
    #[cfg(not(feature = "probe"))]
    {
        let _ = (chip, units, args.json);
        Err(crate::NoProbeSupport.into())
    }
}

#[derive(clap::Args)]
pub struct ResetArgs {
    #[command(flatten)]
    probe: ProbeArgs,
    /// The platform of the device (sets the chip).
    #[arg(long, value_name = "NAME")]
    platform: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// Resets the device and lets it run.
pub fn reset(args: &ResetArgs) -> Result<Outcome> {
    let settings = args.probe.settings()?;
    let (mcu, chip) = device_mcu(args.platform.as_deref(), &settings)?;
    #[cfg(feature = "probe")]
    {
        use hexsmith::flash::FlashTarget as _;
        let (mut target, id) = connect_and_identify(&settings, mcu, chip.clone(), false)?;
        target.reset().map_err(hexsmith::flash::DeviceError::from)?;
        if args.json {
            crate::out::json(DeviceActionDocument {
                probe: &target.probe,
                device_id: id.as_deref(),
                chip: chip.as_deref(),
                action: "reset",
                units: None,
                bytes: None,
                whole_chip: None,
            })?;
        } else {
            outln!("{}: reset", target.probe);
        }
        Ok(Outcome::Pass)
    }
    #[cfg(not(feature = "probe"))]
    {
        let _ = (mcu, chip, args.json);
        Err(crate::NoProbeSupport.into())
    }
}
