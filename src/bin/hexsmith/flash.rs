//! `hexsmith flash`: the arguments and the display. What is written, in which order, and
//! every refusal come from `hexsmith::flash`; this file draws progress, prints and keeps
//! the log. The probe flags every device command shares are here too.

use crate::build::refusal;
use crate::out::outln;
use crate::{Outcome, Usage};
use anyhow::{Context, Result};
use hexsmith::compose::{ModuleInput, place_modules};
use hexsmith::flash::wire::ProbeKind;
#[cfg(feature = "probe")]
use hexsmith::flash::{DeviceEvent, DeviceResult, Event};
use hexsmith::flash::{FlashJob, FlashPlan, PlanOptions, ProbeSettings, Protocol};
use hexsmith::input::{self, Input};
#[cfg(feature = "probe")]
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
#[cfg(feature = "probe")]
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ProtocolArg {
    Swd,
    Jtag,
}

/// How to reach the device, named as probe-rs names it.
#[derive(clap::Args, Clone)]
pub struct ProbeArgs {
    /// The probe to use, as `hexsmith probes` lists it: VID:PID[:SERIAL].
    #[arg(long, value_name = "SEL", env = "PROBE_RS_PROBE", value_parser = crate::suggest::probe_kinds(), hide_possible_values = true)]
    pub probe: Option<String>,
    /// The probe-rs target name (default: the image's platform's chip); checked against
    /// probe-rs's registry and the image's platform.
    #[arg(long, value_name = "NAME", env = "PROBE_RS_CHIP")]
    pub chip: Option<String>,
    /// A probe-rs target description (YAML) for chips without a built-in target (P2, M-SoM).
    #[arg(
        long = "chip-description-path",
        alias = "chip-description",
        value_name = "FILE",
        env = "PROBE_RS_CHIP_DESCRIPTION_PATH"
    )]
    pub chip_description: Option<PathBuf>,
    /// SWD clock in kHz.
    #[arg(long, value_name = "KHZ", value_parser = clap::value_parser!(u32).range(1..), env = "PROBE_RS_SPEED")]
    pub speed: Option<u32>,
    /// The wire protocol between probe and chip.
    #[arg(
        long,
        value_enum,
        value_name = "swd|jtag",
        env = "PROBE_RS_PROTOCOL",
        ignore_case = true
    )]
    pub protocol: Option<ProtocolArg>,
    /// Attach while holding the chip in reset (the default for Gen 2, whose Device OS turns SWD off).
    #[arg(long, env = "PROBE_RS_CONNECT_UNDER_RESET", value_parser = clap::builder::FalseyValueParser::new())]
    pub connect_under_reset: bool,
    /// Draw no progress bars (they are never drawn when standard error is not a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Talk to an emulated chip instead of a probe's (nRF52840_xxAA or STM32F205RG): probe-rs
    /// and its flash algorithms run as on hardware. For rehearsing a station, or testing
    /// scripts, without one.
    #[arg(long, value_name = "CHIP", value_parser = crate::suggest::emulated_chips(), hide_possible_values = true)]
    pub emulate: Option<String>,
    /// With --emulate: the device's non-volatile memory as Intel HEX, loaded if the file
    /// exists (erased silicon if not) and saved after the command. Repeat for several
    /// devices (with --all-probes).
    #[arg(long, value_name = "FILE", requires = "emulate")]
    pub emulate_state: Vec<PathBuf>,
    /// With --emulate: do not tell the command which chip is emulated, as a real probe
    /// does not. Without --platform or --chip, `read`, `erase`, `reset` and `inspect` then
    /// ask the chip, as they ask a real one (probe-rs's auto-detection).
    #[arg(long, requires = "emulate")]
    pub emulate_unnamed: bool,
    /// Particle's RTL872x flash loader (P2, Photon 2, M-SoM, Tracker M): Device OS
    /// `scripts/rtl872x.tcl`, or the loader as a raw .bin. Checked by SHA-256.
    #[arg(
        long = "rtl872x-loader",
        value_name = "FILE",
        env = "HEXSMITH_RTL872X_LOADER"
    )]
    pub rtl872x_loader: Option<PathBuf>,
    /// Use an RTL872x flash loader whose SHA-256 is not the known one.
    #[arg(long)]
    pub allow_unknown_loader: bool,
    /// The kind of probe the emulated wire behaves as, and a dry run's estimate assumes:
    /// cmsis-dap-v1 (the Particle Debugger, the default), cmsis-dap-v2 or jlink.
    #[arg(long, value_name = "KIND", value_parser = parse_probe_kind)]
    pub emulate_probe: Option<ProbeKind>,
}

fn parse_probe_kind(name: &str) -> Result<ProbeKind, String> {
    ProbeKind::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = ProbeKind::ALL.iter().map(|k| k.name()).collect();
        format!(
            "not a probe kind the model knows: give one of {}",
            names.join(", ")
        )
    })
}

/// The emulated devices this run opened, saved to their state files when it ends.
#[cfg(feature = "emulator")]
static EMULATED: std::sync::Mutex<Vec<hexsmith::flash::emulator::EmulatedDevice>> =
    std::sync::Mutex::new(Vec::new());

/// Saves every emulated device to its state file, whatever the command's outcome: the
/// state is what the chip holds, a half-written one included.
pub fn save_emulated() -> Result<()> {
    #[cfg(feature = "emulator")]
    {
        let devices = std::mem::take(&mut *EMULATED.lock().unwrap_or_else(|e| e.into_inner()));
        for device in devices {
            device.save()?;
        }
    }
    Ok(())
}

impl ProbeArgs {
    /// The settings, with a `--probe` selector's syntax checked before anything else, and
    /// each `--emulate-state` file checked (never one of the command's `inputs`) and
    /// loaded before any work.
    pub fn settings(&self, inputs: &[&Path]) -> Result<ProbeSettings> {
        #[cfg(feature = "probe")]
        if let Some(selector) = &self.probe {
            // A misspelt selector is a wrong command line, whatever probes are attached.
            hexsmith::flash::probe::check_selector(selector).map_err(|e| Usage(e.to_string()))?;
        }
        #[cfg_attr(not(feature = "emulator"), allow(unused_mut))]
        let mut chip = self.chip.clone();
        #[cfg(feature = "emulator")]
        let emulate = self.open_emulated(&mut chip, inputs)?;
        #[cfg(not(feature = "emulator"))]
        if self.emulate.is_some() || !self.emulate_state.is_empty() {
            let _ = inputs;
            return Err(crate::NoEmulatorSupport.into());
        }
        let settings = ProbeSettings::default()
            .with_probe(self.probe.clone())
            .with_chip(chip)
            .with_chip_description(self.chip_description.clone())
            .with_speed_khz(self.speed)
            .with_protocol(self.protocol.map(|p| match p {
                ProtocolArg::Swd => Protocol::Swd,
                ProtocolArg::Jtag => Protocol::Jtag,
            }))
            .with_connect_under_reset(self.connect_under_reset)
            .with_rtl872x_loader(self.rtl872x_loader()?);
        #[cfg(feature = "emulator")]
        let settings = settings.with_emulate(emulate);
        Ok(settings)
    }

    /// The RTL872x flash loader, read and checked, if one was named (an empty
    /// HEXSMITH_RTL872X_LOADER counts as none).
    fn rtl872x_loader(
        &self,
    ) -> Result<Option<std::sync::Arc<hexsmith::flash::rtl872x::loader::Loader>>> {
        use hexsmith::flash::rtl872x::loader;
        let path = self
            .rtl872x_loader
            .as_deref()
            .filter(|p| !p.as_os_str().is_empty());
        Ok(match path {
            Some(p) => Some(std::sync::Arc::new(loader::load(
                p,
                self.allow_unknown_loader,
            )?)),
            None => None,
        })
    }

    /// The emulated devices `--emulate` asks for; the chip they are is the chip to use,
    /// unless `--emulate-unnamed` keeps it from the command.
    #[cfg(feature = "emulator")]
    fn open_emulated(
        &self,
        chip: &mut Option<String>,
        inputs: &[&Path],
    ) -> Result<Vec<hexsmith::flash::emulator::EmulatedDevice>> {
        use hexsmith::flash::emulator::{Chip, EmulatedDevice, EmulatorError};
        let Some(name) = &self.emulate else {
            return Ok(Vec::new());
        };
        let emulated = Chip::from_target_name(name)
            .ok_or_else(|| Usage(EmulatorError::UnknownChip(name.clone()).to_string()))?;
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
            // A real probe does not say which chip it is wired to.
            None if self.emulate_unnamed => {}
            _ => *chip = Some(emulated.target_name().to_string()),
        }
        let devices = if self.emulate_state.is_empty() {
            vec![EmulatedDevice::without_state(emulated)]
        } else {
            let mut devices = Vec::new();
            for (k, path) in self.emulate_state.iter().enumerate() {
                if self.emulate_state[..k].contains(path) {
                    return Err(Usage(format!(
                        "--emulate-state {}: named twice; each device needs its own state file",
                        path.display()
                    ))
                    .into());
                }
                devices.push(EmulatedDevice::open_beside(
                    emulated,
                    path,
                    inputs.iter().copied(),
                )?);
            }
            devices
        };
        for device in &devices {
            device.set_probe_kind(self.emulate_probe.unwrap_or(ProbeKind::DEFAULT));
        }
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
#[command(
    after_help = "Examples:\n  hexsmith flash out/boron.hex\n  hexsmith flash --station --log line.jsonl out/boron.hex\n  hexsmith flash --dry-run --json --chip nRF52840_xxAA out/boron.hex"
)]
pub struct Args {
    /// An image (.hex, .elf) or module files (.bin ...) to write.
    #[arg(required = true, value_name = "IMAGE|MODULE")]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    probe: ProbeArgs,
    /// Write to every attached probe's device at once (PROBE_RS_PROBE is then ignored).
    #[arg(long)]
    all_probes: bool,
    /// Erase the whole chip first (refused for a Gen 3 image without MBR and UICR, and on
    /// Gen 2, whose DCT holds the device's keys, unless --erase-device-keys).
    #[arg(long)]
    chip_erase: bool,
    /// With --chip-erase on a Photon, P1 or Electron: let it erase the device's keys,
    /// settings and EEPROM data (the DCT and EEPROM emulation, 0x08004000-0x08020000).
    #[arg(long, requires = "chip_erase")]
    erase_device_keys: bool,
    /// Erase only the units the image touches, never the whole chip on hexsmith's own
    /// choice (by default a Gen 3 chip holding nothing outside the image is erased whole
    /// when that is quicker than its pages).
    #[arg(long, conflicts_with = "chip_erase")]
    no_auto_chip_erase: bool,
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
    /// Clear the write protection of the Gen 2 bootloader sector before writing it (or
    /// before a --chip-erase, which the chip refuses while it is protected).
    #[arg(long)]
    unprotect_bootloader: bool,
    /// Unlock a locked nRF52840 (APPROTECT, as Particle's Device Protection sets it) by
    /// erasing the whole chip through its CTRL-AP, then write the image. Also
    /// --allow-erase-all, as probe-rs names it.
    #[arg(long, visible_alias = "allow-erase-all", env = "PROBE_RS_ALLOW_ERASE_ALL", value_parser = clap::builder::FalseyValueParser::new())]
    recover: bool,
    /// Write every erase unit the image touches, even those found to hold it already
    /// (espflash's --no-skip; by default unchanged units are skipped).
    #[arg(long, visible_alias = "no-skip", conflicts_with = "chip_erase")]
    write_unchanged: bool,
    /// Production-line mode: flash every device that appears on the probe(s), one after
    /// another, showing PASS or FAIL for each, until Ctrl-C.
    #[arg(long, conflicts_with = "dry_run")]
    station: bool,
    /// With --station: time between attempts to attach while waiting, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500, requires = "station")]
    poll_ms: u64,
}

/// What is to be written, and where its warnings point.
pub fn load_job(inputs: &[PathBuf], settings: &ProbeSettings) -> Result<FlashJob> {
    let chip = settings.chip.as_deref();
    let description = settings.chip_description.as_deref();
    if inputs.len() > hexsmith::compose::MAX_MODULES {
        return Err(hexsmith::compose::BuildError::TooManyModules {
            count: inputs.len(),
        }
        .into());
    }
    if let [path] = inputs
        && let Input::Image { image, .. } = input::read(path)?
    {
        let job = FlashJob::from_image(image, chip, description)
            .with_context(|| path.display().to_string())?;
        for w in &job.warnings {
            let line = format!("{}: {w}", path.display());
            eprintln!("warning: {}", hexsmith::escape_controls(&line));
        }
        return Ok(job);
    }
    // One budget for all: many large modules are refused once they pass it together.
    let mut budget = input::ReadBudget::default();
    let modules = inputs
        .iter()
        .map(|p| ModuleInput::read_within(p, &mut budget))
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
    let inputs: Vec<&Path> = args.inputs.iter().map(PathBuf::as_path).collect();
    let settings = probe.settings(&inputs)?;
    if let Some(log) = &args.log {
        // Before any work: a log that may not be written must not be found at the end.
        hexsmith::output::check_output(log, inputs.iter().copied().chain(states(&settings)))?;
    }
    let job = load_job(&args.inputs, &settings)?;
    let plan = job.plan(
        PlanOptions::default()
            .with_chip_erase(args.chip_erase)
            .with_erase_device_keys(args.erase_device_keys)
            .with_choose_chip_erase(!args.no_auto_chip_erase),
    )?;
    if args.dry_run {
        let time = time_estimate(&args.probe, &settings, &job, &plan);
        print_plan(&job, &plan, time, args.json)?;
        return Ok(Outcome::Pass);
    }
    if args.station {
        return station(args, &settings, &job, &plan);
    }
    flash_devices(args, &settings, &job, &plan)
}

/// The state files of the emulated devices, which are inputs to every other file the
/// command writes.
pub fn states(settings: &ProbeSettings) -> impl Iterator<Item = &Path> {
    #[cfg(feature = "emulator")]
    {
        settings.emulate.iter().filter_map(|d| d.state_file())
    }
    #[cfg(not(feature = "emulator"))]
    {
        let _ = settings;
        std::iter::empty()
    }
}

/// Opens `--log` for appending, by the library's rules for every file hexsmith writes.
#[cfg(feature = "probe")]
fn open_log(args: &Args, settings: &ProbeSettings) -> Result<Option<hexsmith::flash::LogWriter>> {
    let Some(path) = &args.log else {
        return Ok(None);
    };
    let inputs = args
        .inputs
        .iter()
        .map(PathBuf::as_path)
        .chain(states(settings));
    Ok(Some(hexsmith::flash::LogWriter::open(path, inputs)?))
}

/// A dry run's time: on the kind `--emulate-probe` names, else the kind of the one
/// attached probe the model knows, else the default; onto the emulated device's content
/// when `--emulate-state` gives one, else a blank device.
fn time_estimate(
    args: &ProbeArgs,
    #[cfg_attr(not(feature = "emulator"), allow(unused_variables))] settings: &ProbeSettings,
    job: &FlashJob,
    plan: &FlashPlan,
) -> hexsmith::flash::estimate::ProbeEstimate {
    #[cfg(feature = "probe")]
    let attached = if args.emulate.is_none() && args.emulate_probe.is_none() {
        match hexsmith::flash::probe::attached_kinds().as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    } else {
        None
    };
    #[cfg(not(feature = "probe"))]
    let attached: Option<ProbeKind> = None;
    let (kind, from) = match (args.emulate_probe, attached) {
        (Some(kind), _) => (kind, "--emulate-probe"),
        (None, Some(kind)) => (kind, "attached probe"),
        (None, None) => (ProbeKind::DEFAULT, "default"),
    };
    #[cfg(feature = "emulator")]
    let held = match settings.emulate.as_slice() {
        [device] if device.state_file().is_some() => Some(device.nvm_image()),
        _ => None,
    };
    #[cfg(not(feature = "emulator"))]
    let held: Option<hexsmith::memory::MemoryImage> = None;
    hexsmith::flash::estimate::ProbeEstimate::new(
        plan,
        &job.image,
        job.mcu(),
        held.as_ref(),
        kind,
        from,
    )
}

fn print_plan(
    job: &FlashJob,
    plan: &FlashPlan,
    time: hexsmith::flash::estimate::ProbeEstimate,
    json: bool,
) -> Result<()> {
    if json {
        crate::out::print_document(&hexsmith::flash::PlanDocument::new(job, plan, time))?;
        return Ok(());
    }
    let chip = job
        .chip
        .as_deref()
        .unwrap_or("none built in (give --chip-description-path and --chip)");
    outln!("chip          {chip}");
    outln!(
        "platform      {} ({})",
        job.platform.name,
        job.platform_basis
    );
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
        if plan.whole_chip.is_some() {
            outln!(
                "              or the whole chip instead, if the device shows that to be quicker and to hold nothing outside the image"
            );
        }
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
        "flash time    at most {:.1} s erase + {:.1} s program (datasheet figures, every unit written)",
        plan.estimate.erase_seconds,
        plan.estimate.program_seconds
    );
    let why = match time.probe_from {
        "--emulate-probe" => "as --emulate-probe says",
        "attached probe" => "the attached probe's kind",
        _ => "the default: no --emulate-probe, and no one probe of a kind the model knows attached",
    };
    let onto = if time.device == "blank" {
        "a blank device"
    } else {
        "the device as its emulated state holds it"
    };
    outln!(
        "estimate      {:.1} s on a {} probe ({why}), {} units written onto {onto}",
        time.seconds,
        time.probe,
        time.units_written
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
    hexsmith::flash::DeviceOptions::default()
        .with_flash(
            hexsmith::flash::FlashOptions::default()
                .with_verify(!args.no_verify)
                .with_reset(!args.no_reset)
                .with_cancel(Some(cancel))
                .with_batch_units(hexsmith::flash::estimate::BATCH_UNITS)
                .with_write_unchanged(args.write_unchanged),
        )
        .with_unprotect_bootloader(args.unprotect_bootloader)
}

/// A progress bar for one device, and the device-ID line printed beside the bars (never
/// through them, so it shows when they are hidden). The bar appears with the first step
/// that has something to count, labelled with it: never an empty bar or a `0/0`.
#[cfg(feature = "probe")]
pub fn progress_for(bars: &MultiProgress, label: String) -> impl FnMut(DeviceEvent) + Send + use<> {
    let bars = bars.clone();
    let mut bar: Option<ProgressBar> = None;
    let mut step: &'static str = "";
    let mut probe = label;
    move |e: DeviceEvent| match e {
        DeviceEvent::Connected { probe: name } => {
            if let Some(bar) = &bar {
                bar.set_prefix(name.clone());
            }
            probe = name;
        }
        DeviceEvent::DeviceId(id) => bars.suspend(|| eprintln!("{probe}: device {id}")),
        DeviceEvent::Progress(event) => {
            let (message, done, total, in_bytes) = match event {
                Event::Compared { done, total } => ("compare", done as u64, total as u64, false),
                Event::Written { done, total } => ("write", done, total, true),
                Event::Verified { done, total } => ("verify", done, total, true),
                Event::Read { done, total } => ("read", done, total, true),
            };
            if total == 0 {
                return;
            }
            let current = bar.get_or_insert_with(|| {
                let b = bars.add(ProgressBar::new(total));
                b.set_prefix(probe.clone());
                b
            });
            if step != message {
                // A new step restarts the rate and time left.
                step = message;
                current.set_style(progress_style(in_bytes));
                current.set_message(message);
                current.reset();
            }
            current.set_length(total);
            current.set_position(done);
        }
    }
}

/// Bytes with their rate and the time left for the steps that move bytes; erase units for
/// the comparison, whose bytes never cross the wire.
#[cfg(feature = "probe")]
fn progress_style(in_bytes: bool) -> ProgressStyle {
    let template = if in_bytes {
        "{prefix:>12} {msg:<8} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}"
    } else {
        "{prefix:>12} {msg:<8} [{bar:30}] {pos}/{len} erase units"
    };
    ProgressStyle::with_template(template)
        .expect("valid template")
        .progress_chars("=> ")
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
    base.unlock = hexsmith::flash::probe::Unlock::RerunWithRecover;
    #[cfg(feature = "emulator")]
    if !settings.emulate.is_empty() {
        if settings.emulate.len() > 1 && !args.all_probes {
            return Err(Usage(
                "several --emulate-state files are several devices: add --all-probes to write to all of them"
                    .into(),
            )
            .into());
        }
        return Ok(settings
            .emulate
            .iter()
            .map(|device| base.clone().with_emulate(Some(device.clone())))
            .collect());
    }
    Ok(if args.all_probes {
        probe::list()
            .into_iter()
            .map(|p| base.clone().with_probe(Some(p.selector)))
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
    use hexsmith::flash::{DeviceError, FlashDocument, flash_all};
    let mut log = open_log(args, settings)?;
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
        crate::out::print_document(&FlashDocument::new(job, &results))?;
    } else {
        for r in &results {
            outln!("{}", result_line(r));
        }
    }
    Ok(if crate::signals::cancelled() {
        // Stopped by Ctrl-C, between units or before the first: as every command, 130.
        Outcome::Interrupted
    } else if results
        .iter()
        .all(|r| r.result == hexsmith::flash::Outcome::Ok)
    {
        Outcome::Pass
    } else {
        Outcome::CheckFailed
    })
}

#[cfg(feature = "probe")]
fn result_line(r: &DeviceResult) -> String {
    let id = r.device_id.as_deref().unwrap_or("(unknown device)");
    let id = match &r.mac {
        Some(mac) => format!("{id} (Wi-Fi MAC {mac})"),
        None => id.to_string(),
    };
    let rep = &r.report;
    let state = match (&r.error, rep.interrupted) {
        (Some(e), _) => format!("FAILED: {}", hexsmith::flash::error_chain(e)),
        (None, true) => "interrupted".to_string(),
        (None, false) if rep.verified => "ok, verified".to_string(),
        (None, false) => "ok".to_string(),
    };
    let wiped = if r.chip_wiped {
        "; the chip was locked and was erased whole to unlock it (--recover): everything it held before is gone"
    } else {
        ""
    };
    let whole = if rep.chip_erased {
        " after erasing the whole chip"
    } else {
        ""
    };
    format!(
        "{:<24} {id:<34} written {} units ({} bytes){whole}, skipped {} units ({} bytes): {state}{wiped}",
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
    use hexsmith::flash::station::StationOptions;
    let options = StationOptions::new(
        device_options(args),
        std::time::Duration::from_millis(args.poll_ms),
    );
    let cancel = options.device.flash.cancel.clone().expect("set above");
    #[cfg(feature = "emulator")]
    if !settings.emulate.is_empty() {
        use hexsmith::flash::probe::Connect;
        use hexsmith::flash::station::Rehearsal;
        // Emulated devices are a rehearsal: one fixture, each device in turn, then the end.
        let mut base = Connect::new(settings, job.mcu(), job.chip.clone())?;
        base.allow_erase_all = plan.chip_erase || args.recover;
        base.unlock = hexsmith::flash::probe::Unlock::RerunWithRecover;
        let devices = settings
            .emulate
            .iter()
            .map(|device| base.clone().with_emulate(Some(device.clone())));
        // One fixture, named as such: the boards on it come and go.
        let line = vec![(
            Rehearsal::new(devices, cancel.clone()),
            "fixture".to_string(),
        )];
        return run_line(args, settings, job, plan, &options, &cancel, line);
    }
    let connects = connections(args, settings, job, plan)?;
    if connects.is_empty() {
        return Err(NoProbe.into());
    }
    let fixtures = connects
        .into_iter()
        .map(|c| {
            let label = hexsmith::flash::Connector::label(&c);
            (c, label)
        })
        .collect();
    run_line(args, settings, job, plan, &options, &cancel, fixtures)
}

/// Runs a station on each fixture (a connector and the name the screen gives it), with the
/// display and the log, and prints the summary.
#[cfg(feature = "probe")]
fn run_line<C: hexsmith::flash::Connector + Send>(
    args: &Args,
    settings: &ProbeSettings,
    job: &FlashJob,
    plan: &FlashPlan,
    options: &hexsmith::flash::station::StationOptions,
    cancel: &std::sync::atomic::AtomicBool,
    fixtures: Vec<(C, String)>,
) -> Result<Outcome> {
    use hexsmith::flash::station::run_stations;
    use std::sync::Mutex;
    let log = open_log(args, settings)?.map(Mutex::new);
    let log_failed = Mutex::new(None);
    let header = format!(
        "station: {} ({}), image sha256 {}; Ctrl-C ends",
        job.platform.name,
        job.chip.as_deref().unwrap_or("?"),
        job.image_sha256
    );
    // The screen's first line must fit a terminal: the hash's first 16 digits tell images apart.
    let short_header = format!(
        "station: {} ({}), image {}...; Ctrl-C ends",
        job.platform.name,
        job.chip.as_deref().unwrap_or("?"),
        job.image_sha256.get(..16).unwrap_or(&job.image_sha256)
    );
    let labels: Vec<String> = fixtures.iter().map(|(_, label)| label.clone()).collect();
    let on_terminal = std::io::stderr().is_terminal() && !args.json && !args.probe.no_progress;
    let colour = on_terminal && std::env::var_os("NO_COLOR").is_none();
    // The screen is the only thing drawn on the terminal: a bar drawn beside it would
    // push it down.
    let bars = if on_terminal {
        MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
    } else {
        args.probe.bars()
    };
    let screen =
        on_terminal.then(|| crate::station_screen::Screen::new(short_header, &labels, colour));
    if !args.json && screen.is_none() {
        eprintln!("{header}");
    }
    let lines_to_stdout = !std::io::stdout().is_terminal();
    let stations = fixtures
        .into_iter()
        .enumerate()
        .map(|(fixture, (connect, label))| {
            let display = crate::station::Display {
                events: Box::new(progress_for(&bars, label.clone())),
                label,
                fixture,
                screen: screen.as_ref(),
                lines_to_stdout,
                json: args.json,
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
    if let Some(screen) = &screen {
        screen.close();
    }
    bars.clear().ok();
    if args.json {
        outln!("{}", serde_json::to_string(&summary)?);
    } else {
        outln!("{}", crate::station::summary_text(&summary));
    }
    if let Some(e) = log_failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e.into());
    }
    // Ctrl-C is how a station ends; only a device it cut short makes the run interrupted.
    Ok(if summary.interrupted > 0 {
        Outcome::Interrupted
    } else if summary.failed == 0 {
        Outcome::Pass
    } else {
        Outcome::CheckFailed
    })
}

#[derive(Debug, thiserror::Error)]
#[error("no debug probe attached")]
pub struct NoProbe;
