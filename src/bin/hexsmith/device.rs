//! `hexsmith probes`, `read`, `verify`, `erase` and `reset`: the commands that talk to a
//! device without writing an image to it.

#[cfg(feature = "probe")]
use crate::flash::{NoProbe, progress_for};
use crate::flash::{ProbeArgs, load_job};
#[cfg(feature = "probe")]
use crate::out::outln;
use crate::{Outcome, Usage};
use anyhow::{Context, Result};
#[cfg(feature = "probe")]
use hexsmith::flash::{Attached, DeviceActionDocument, DeviceEvent, ReadDocument, VerifyDocument};
use hexsmith::flash::{PlanOptions, ProbeSettings};
use hexsmith::platform::{self, Mcu};
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  hexsmith probes\n  hexsmith probes --udev-rules | sudo tee /etc/udev/rules.d/69-hexsmith-probes.rules\n  hexsmith -vv probes          # probe-rs's account of the search"
)]
pub struct ProbesArgs {
    /// One JSON document on standard output.
    #[arg(long)]
    json: bool,
    /// Print a Linux udev rules file that lets a user open the Particle Debugger, J-Link
    /// and ST-LINK probes without root (install instructions at its top).
    #[arg(long, conflicts_with = "json")]
    udev_rules: bool,
}

#[cfg(feature = "probe")]
pub fn probes(args: &ProbesArgs) -> Result<Outcome> {
    if args.udev_rules {
        crate::out::print(format_args!("{}", crate::probe_help::UDEV_RULES));
        return Ok(Outcome::Pass);
    }
    let all = hexsmith::flash::probe::list();
    if args.json {
        crate::out::json(hexsmith::flash::ProbesDocument { probes: all })?;
    } else if all.is_empty() {
        outln!("{NoProbe}");
        for hint in crate::probe_help::NO_PROBE_HINTS {
            eprintln!("hint: {hint}");
        }
    } else {
        for p in &all {
            outln!("{:<28} {}", p.selector, p.name);
        }
    }
    Ok(Outcome::Pass)
}

#[cfg(not(feature = "probe"))]
pub fn probes(args: &ProbesArgs) -> Result<Outcome> {
    if args.udev_rules {
        crate::out::print(format_args!("{}", crate::probe_help::UDEV_RULES));
        return Ok(Outcome::Pass);
    }
    Err(crate::NoProbeSupport.into())
}

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  hexsmith read --platform boron -o backup.hex\n  hexsmith read --platform boron --range 0xd4000..0xd8000 -o app.hex\n  hexsmith read -o backup.hex    # the chip says what it is (not an RTL872x)"
)]
pub struct ReadArgs {
    #[command(flatten)]
    probe: ProbeArgs,
    /// The platform of the device (sets the chip and the flash to read).
    #[arg(long, value_name = "NAME", value_parser = crate::suggest::platforms(), hide_possible_values = true)]
    platform: Option<String>,
    /// Only this range, START..END or START:END (END exclusive), in hex (0x...) or decimal.
    #[arg(long, value_name = "START..END")]
    range: Option<String>,
    /// Output Intel HEX file.
    #[arg(short, long, value_name = "DUMP.hex")]
    output: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// The device a command without an image is for.
pub struct DeviceChoice {
    /// Its MCU, whose flash geometry the command works with.
    pub mcu: &'static Mcu,
    /// The probe-rs target to attach as.
    pub chip: Option<String>,
    /// How the chip identified itself, when no `--platform` or `--chip` named it.
    pub detected: Option<String>,
    /// The session detection attached, which the command goes on with.
    pub session: DetectedSession,
}

#[cfg(feature = "probe")]
pub type DetectedSession = Option<hexsmith::flash::detect::Detected>;
#[cfg(not(feature = "probe"))]
pub type DetectedSession = ();

/// The MCU and probe-rs chip a command without an image is for: from `--platform`, from
/// `--chip` alone (a chip given with a platform is checked against it), or else from the
/// attached chip itself. Only the MCU is needed, so a chip many platforms share (the
/// nRF52840) is enough.
pub fn device_mcu(platform: Option<&str>, settings: &ProbeSettings) -> Result<DeviceChoice> {
    let chip = settings.chip.as_deref();
    let platform = match (platform, chip) {
        (Some(name), _) => platform::by_name(name)
            .with_context(|| format!("--platform {name}: unknown platform"))?,
        (None, Some(chip)) => hexsmith::flash::platform_for_chip(chip).with_context(|| {
            format!("--chip {chip}: no Particle platform uses this chip: give --platform")
        })?,
        (None, None) => return detect_device(settings),
    };
    let chip = hexsmith::flash::chip_for(platform, chip, settings.chip_description.as_deref())?;
    Ok(DeviceChoice {
        mcu: platform.mcu(),
        chip,
        detected: None,
        session: Default::default(),
    })
}

/// Asks the attached chip what it is (probe-rs's auto-detection), and says on standard
/// error what answered. A chip that does not answer, or that no platform uses, is the
/// command line's to name.
#[cfg(feature = "probe")]
fn detect_device(settings: &ProbeSettings) -> Result<DeviceChoice> {
    use hexsmith::flash::probe::ProbeError;
    let attached = hexsmith::flash::detect::detect_attached(settings).map_err(|e| match e {
        ProbeError::NoProbe => NoProbe.into(),
        e @ ProbeError::Undetected { .. } => anyhow::Error::new(Usage(e.to_string())),
        e => anyhow::Error::new(hexsmith::flash::DeviceError::from(e)),
    })?;
    let found = attached.chip.clone();
    let platform = hexsmith::flash::platform_for_chip(&found.chip).ok_or_else(|| {
        Usage(format!(
            "{}: detected {} ({}), which no Particle platform uses: name the device with --platform NAME or --chip NAME",
            found.probe, found.chip, found.evidence
        ))
    })?;
    let chip = hexsmith::flash::chip_for(
        platform,
        Some(&found.chip),
        settings.chip_description.as_deref(),
    )?;
    eprintln!(
        "{}: detected {} ({})",
        found.probe, found.chip, found.evidence
    );
    Ok(DeviceChoice {
        mcu: platform.mcu(),
        chip,
        detected: Some(found.evidence),
        session: Some(attached),
    })
}

#[cfg(not(feature = "probe"))]
fn detect_device(_: &ProbeSettings) -> Result<DeviceChoice> {
    Err(Usage("name the device with --platform NAME or --chip NAME".into()).into())
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
    // probe-rs writes a range START..END; hexsmith's START:END is kept.
    let (a, b) = text
        .split_once("..")
        .or_else(|| text.split_once(':'))
        .ok_or_else(|| Usage(format!("--range {text}: write START..END or START:END")))?;
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
    session: DetectedSession,
) -> Result<hexsmith::flash::probe::ProbeTarget> {
    use hexsmith::flash::DeviceError;
    use hexsmith::flash::probe::{Connect, ProbeTarget};
    let mut connect = Connect::new(settings, mcu, chip)?;
    connect.allow_erase_all = allow_erase_all;
    let connected = match session {
        Some(detected) => ProbeTarget::connect_detected(&connect, detected),
        None => ProbeTarget::connect(&connect),
    };
    connected.map_err(|e| match DeviceError::from(e) {
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
    session: DetectedSession,
) -> Result<(hexsmith::flash::probe::ProbeTarget, Option<String>)> {
    let mut target = connect(settings, mcu, chip, allow_erase_all, session)?;
    let id = hexsmith::flash::read_device_id(&mut target, mcu)
        .map_err(hexsmith::flash::DeviceError::DeviceId)?;
    if let Some(id) = &id {
        match mcu.device_id.as_ref().and_then(|s| s.mac_of(id)) {
            Some(mac) => eprintln!("{}: device {id} (Wi-Fi MAC {mac})", target.probe),
            None => eprintln!("{}: device {id}", target.probe),
        }
    }
    Ok((target, id))
}

pub fn read(args: &ReadArgs) -> Result<Outcome> {
    let settings = args.probe.settings(&[])?;
    // Before the device is read: the output may be no state file, link or special file.
    hexsmith::output::check_output(&args.output, crate::flash::states(&settings))?;
    let range = args.range.as_deref().map(parse_range).transpose()?;
    let DeviceChoice {
        mcu,
        chip,
        detected,
        session,
    } = device_mcu(args.platform.as_deref(), &settings)?;
    #[cfg(feature = "probe")]
    {
        let (mut target, id) = connect_and_identify(&settings, mcu, chip.clone(), false, session)?;
        let bars = args.probe.bars();
        let bar = progress_for(&bars, target.probe.clone());
        let mut bar = bar;
        let image =
            hexsmith::flash::read_device_with_progress(&mut target, mcu, range, &mut |e| {
                bar(DeviceEvent::Progress(e))
            })?;
        bars.clear().ok();
        let mut outputs = hexsmith::output::OutputSet::new(crate::flash::states(&settings));
        outputs
            .stage(&args.output, |f| hexsmith::memory::hex::write_to(&image, f))
            .and_then(|()| outputs.commit())
            .with_context(|| args.output.display().to_string())?;
        let attached = Attached {
            probe: &target.probe,
            device_id: id.as_deref(),
            chip: chip.as_deref(),
            chip_detected: detected.as_deref(),
        };
        let document = ReadDocument::new(attached, &args.output, &image);
        if args.json {
            crate::out::json(document)?;
        } else {
            outln!(
                "{}: {} bytes, memory-content sha256 {}",
                args.output.display(),
                document.bytes,
                document.memory_sha256
            );
        }
        Ok(Outcome::Pass)
    }
    #[cfg(not(feature = "probe"))]
    {
        let _ = (mcu, chip, detected, session, range, args.json);
        Err(crate::NoProbeSupport.into())
    }
}

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  hexsmith verify out/boron.hex\n  hexsmith verify --json --emulate nRF52840_xxAA --emulate-state dev.hex out/boron.hex"
)]
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

/// Compares a device with an image, writing nothing.
pub fn verify(args: &VerifyArgs) -> Result<Outcome> {
    let inputs: Vec<&std::path::Path> = args.inputs.iter().map(PathBuf::as_path).collect();
    let settings = args.probe.settings(&inputs)?;
    let job = load_job(&args.inputs, &settings)?;
    let plan = job.plan(PlanOptions::default())?;
    #[cfg(feature = "probe")]
    {
        let (mut target, id) =
            connect_and_identify(&settings, job.mcu(), job.chip.clone(), false, None)?;
        let bars = args.probe.bars();
        let mut bar = progress_for(&bars, target.probe.clone());
        let report = hexsmith::flash::verify_device(&mut target, &job.image, &plan, &mut |e| {
            bar(DeviceEvent::Progress(e))
        })
        .map_err(hexsmith::flash::DeviceError::from)?;
        bars.clear().ok();
        if args.json {
            let wire = hexsmith::flash::FlashTarget::wire_counts(&target);
            crate::out::json(VerifyDocument::new(
                &target.probe,
                id.as_deref(),
                &job,
                &report,
                wire,
            ))?;
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
#[command(
    after_help = "Examples:\n  hexsmith erase --platform boron --range 0xb4000..0xd4000\n  hexsmith erase --platform boron --all"
)]
pub struct EraseArgs {
    #[command(flatten)]
    probe: ProbeArgs,
    /// The platform of the device (sets the chip and its erase units).
    #[arg(long, value_name = "NAME", value_parser = crate::suggest::platforms(), hide_possible_values = true)]
    platform: Option<String>,
    /// Erase exactly this range, START..END or START:END (END exclusive), which must fall
    /// on erase-unit boundaries, in hex (0x...) or decimal.
    #[arg(long, value_name = "START..END")]
    range: Option<String>,
    /// Erase the whole chip. On an nRF52840 that includes the MBR and the UICR: the device
    /// will not boot until a complete restore image is written.
    #[arg(long, conflicts_with = "range")]
    all: bool,
    /// With --all on a Photon, P1 or Electron: let it erase the device's keys, settings
    /// and EEPROM data (the DCT and EEPROM emulation, 0x08004000-0x08020000).
    #[arg(long, requires = "all")]
    erase_device_keys: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// Erases whole units, or the whole chip.
pub fn erase(args: &EraseArgs) -> Result<Outcome> {
    if args.range.is_none() && !args.all {
        return Err(Usage(
            "say what to erase: --range START..END (whole erase units, END exclusive) or --all (the whole chip)"
                .into(),
        )
        .into());
    }
    let settings = args.probe.settings(&[])?;
    let range = args.range.as_deref().map(parse_range).transpose()?;
    let DeviceChoice {
        mcu,
        chip,
        detected,
        session,
    } = device_mcu(args.platform.as_deref(), &settings)?;
    if args.all {
        hexsmith::flash::check_chip_erase(mcu)?;
    }
    let units = match range {
        Some((start, end)) => hexsmith::flash::units_to_erase(mcu, u64::from(start), end)?,
        None => Vec::new(),
    };
    if args.all && !args.erase_device_keys {
        hexsmith::flash::refuse_losing_device_data(mcu)?;
    }
    #[cfg(feature = "probe")]
    {
        use hexsmith::flash::FlashTarget as _;
        let (mut target, id) =
            connect_and_identify(&settings, mcu, chip.clone(), args.all, session)?;
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
            let attached = Attached {
                probe: &target.probe,
                device_id: id.as_deref(),
                chip: chip.as_deref(),
                chip_detected: detected.as_deref(),
            };
            crate::out::json(DeviceActionDocument::erase(attached, &units, args.all))?;
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
        let _ = (chip, detected, session, units, args.json);
        Err(crate::NoProbeSupport.into())
    }
}

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  hexsmith reset --platform boron\n  hexsmith reset --chip STM32F205RGTx --json\n  hexsmith reset                # an nRF52840 or STM32F205 says what it is"
)]
pub struct ResetArgs {
    #[command(flatten)]
    probe: ProbeArgs,
    /// The platform of the device (sets the chip).
    #[arg(long, value_name = "NAME", value_parser = crate::suggest::platforms(), hide_possible_values = true)]
    platform: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// Resets the device and lets it run.
pub fn reset(args: &ResetArgs) -> Result<Outcome> {
    let settings = args.probe.settings(&[])?;
    let DeviceChoice {
        mcu,
        chip,
        detected,
        session,
    } = device_mcu(args.platform.as_deref(), &settings)?;
    #[cfg(feature = "probe")]
    {
        use hexsmith::flash::FlashTarget as _;
        let (mut target, id) = connect_and_identify(&settings, mcu, chip.clone(), false, session)?;
        target.reset().map_err(hexsmith::flash::DeviceError::from)?;
        if args.json {
            crate::out::json(DeviceActionDocument::reset(Attached {
                probe: &target.probe,
                device_id: id.as_deref(),
                chip: chip.as_deref(),
                chip_detected: detected.as_deref(),
            }))?;
        } else {
            outln!("{}: reset", target.probe);
        }
        Ok(Outcome::Pass)
    }
    #[cfg(not(feature = "probe"))]
    {
        let _ = (mcu, chip, detected, session, args.json);
        Err(crate::NoProbeSupport.into())
    }
}
