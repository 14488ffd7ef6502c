//! `hexsmith flash`, `probes` and `read`: writing images to devices over SWD, and reading
//! them back. The plan and every refusal come from the library; this file connects
//! probes, draws progress and keeps the log.

use crate::Outcome;
use crate::build::refusal;
use anyhow::{Context, Result, bail};
use hexsmith::compose::{ModuleInput, place_modules};
use hexsmith::flash::{
    Event, FlashOptions, FlashPlan, FlashReport, FlashTarget, PlanOptions, check_before_writing,
    execute, read_device_id,
};
use hexsmith::input::{self, Input};
use hexsmith::inspect::{self, hex_lower};
use hexsmith::memory::MemoryImage;
use hexsmith::platform::{self, Mcu, Platform};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[derive(clap::Args)]
pub struct ProbeArgs {
    /// The probe to use, as `hexsmith probes` lists it: VID:PID[:SERIAL].
    #[arg(long, value_name = "SEL")]
    pub probe: Option<String>,
    /// The probe-rs target name (default: the image's platform's chip).
    #[arg(long, value_name = "NAME")]
    pub chip: Option<String>,
    /// A probe-rs target description (YAML) for chips without a built-in target (P2, M-SoM).
    #[arg(long, value_name = "FILE")]
    pub chip_description: Option<PathBuf>,
    /// SWD clock in kHz.
    #[arg(long, value_name = "KHZ")]
    pub speed: Option<u32>,
    /// Attach while holding the chip in reset (the default for Gen 2, whose Device OS turns SWD off).
    #[arg(long)]
    pub connect_under_reset: bool,
}

#[derive(clap::Args)]
pub struct Args {
    /// An image (.hex, .elf) or module files (.bin ...) to write.
    #[arg(required = true, value_name = "IMAGE|MODULE")]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    probe: ProbeArgs,
    /// Write to every attached probe's device at once.
    #[arg(long, conflicts_with = "probe")]
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
    /// Machine-readable output (the plan, with --dry-run; the result otherwise).
    #[arg(long)]
    json: bool,
    /// Append one JSON line per device to this file.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Clear the write protection of the Gen 2 bootloader sector before writing it.
    #[arg(long)]
    unprotect_bootloader: bool,
}

/// What is to be written, and for which platform.
struct Job {
    image: MemoryImage,
    platform: &'static Platform,
    mcu: &'static Mcu,
    chip: Option<String>,
    sha256: String,
}

fn load_job(inputs: &[PathBuf], chip: Option<&str>) -> Result<Job> {
    let single_image = match inputs {
        [one] => match input::read(one)? {
            Input::Image { image, .. } => Some((one, image)),
            Input::Module { .. } => None,
        },
        _ => None,
    };
    let (image, platform) = match single_image {
        Some((path, image)) => {
            let report = inspect::inspect_image(&image, "image");
            for w in check_before_writing(&report).with_context(|| path.display().to_string())? {
                eprintln!("warning: {}: {w}", path.display());
            }
            let platform = report
                .platform_id
                .and_then(platform::by_id)
                .or_else(|| chip.and_then(platform_for_chip));
            let Some(platform) = platform else {
                bail!(
                    "{}: holds no Particle module, so its platform is unknown: name the chip with --chip",
                    path.display()
                );
            };
            (image, platform)
        }
        None => {
            let modules = inputs
                .iter()
                .map(|p| ModuleInput::read(p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(refusal)?;
            let (platform, image) = place_modules(&modules).map_err(refusal)?;
            (image, platform)
        }
    };
    let mcu = platform.mcu();
    Ok(Job {
        sha256: hex_lower(&image.sha256()),
        chip: chip.map(str::to_string).or_else(|| mcu.chip.clone()),
        image,
        platform,
        mcu,
    })
}

fn platform_for_chip(chip: &str) -> Option<&'static Platform> {
    platform::all().iter().find(|p| {
        p.mcu()
            .chip
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(chip))
    })
}

pub fn run(args: &Args) -> Result<Outcome> {
    let job = load_job(&args.inputs, args.probe.chip.as_deref())?;
    let plan = FlashPlan::new(
        &job.image,
        job.platform,
        job.mcu,
        PlanOptions {
            chip_erase: args.chip_erase,
        },
    )?;
    if args.dry_run {
        print_plan(&job, &plan, args.json)?;
        return Ok(Outcome::Pass);
    }
    flash_devices(args, &job, &plan)
}

fn print_plan(job: &Job, plan: &FlashPlan, json: bool) -> Result<()> {
    let sectors: Vec<[u64; 2]> = plan
        .units
        .iter()
        .map(|u| [u64::from(u.start), u.end])
        .collect();
    if json {
        let doc = json!({
            "chip": plan.chip,
            "platform": job.platform.name,
            "sectors": sectors,
            "bytes": plan.bytes,
            "erase_units": plan.units.len(),
            "erase_bytes": plan.units.iter().map(|u| u.len() as u64).sum::<u64>(),
            "chip_erase": plan.chip_erase,
            "attach_under_reset": job.mcu.attach_under_reset,
            "image_sha256": job.sha256,
            "estimate": plan.estimate,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    let chip = plan
        .chip
        .as_deref()
        .unwrap_or("none built in (give --chip-description and --chip)");
    println!("chip          {chip}");
    println!("platform      {}", job.platform.name);
    println!("image         {} bytes, sha256 {}", plan.bytes, job.sha256);
    let erase_bytes: u64 = plan.units.iter().map(|u| u.len() as u64).sum();
    if plan.chip_erase {
        println!(
            "erase         the whole chip, then program {} erase units",
            plan.units.len()
        );
    } else {
        println!(
            "erase units   {} touched ({erase_bytes} bytes); those already holding the image are skipped",
            plan.units.len()
        );
    }
    for run in unit_runs(plan) {
        println!(
            "              {:#010x}-{:#010x} ({} units)",
            run.0, run.1, run.2
        );
    }
    println!(
        "estimate      at most {:.1} s erase + {:.1} s program (datasheet figures, every unit written)",
        plan.estimate.erase_seconds, plan.estimate.program_seconds
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

#[cfg(not(feature = "probe"))]
fn flash_devices(_: &Args, _: &Job, _: &FlashPlan) -> Result<Outcome> {
    bail!("this hexsmith was built without probe support (cargo feature \"probe\")")
}

#[cfg(feature = "probe")]
fn flash_devices(args: &Args, job: &Job, plan: &FlashPlan) -> Result<Outcome> {
    use hexsmith::flash::probe::{self, Connect};
    let Some(chip) = job.chip.clone() else {
        bail!(
            "{} (RTL872x) has no built-in probe-rs target: give --chip-description FILE (a probe-rs target description with a flash algorithm) and --chip NAME",
            job.platform.name
        );
    };
    let selectors: Vec<Option<String>> = if args.all_probes {
        let all = probe::list();
        if all.is_empty() {
            return Err(NoProbe.into());
        }
        all.into_iter().map(|p| Some(p.selector)).collect()
    } else {
        vec![args.probe.probe.clone()]
    };
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        crate::signals::cancel_with(cancel);
    }
    let bars = MultiProgress::new();
    let results: Vec<DeviceResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = selectors
            .into_iter()
            .map(|selector| {
                let connect = Connect {
                    probe: selector,
                    chip: chip.clone(),
                    speed_khz: args.probe.speed,
                    under_reset: args.probe.connect_under_reset || job.mcu.attach_under_reset,
                    chip_description: args.probe.chip_description.clone(),
                    allow_erase_all: args.chip_erase,
                };
                let bar = bars.add(ProgressBar::new(0));
                let cancel = cancel.clone();
                scope.spawn(move || one_device(args, job, plan, &connect, bar, cancel))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("device thread"))
            .collect()
    });
    let mut outcome = Outcome::Pass;
    for r in &results {
        if let Some(log) = &args.log {
            append_log(log, job, &chip, r)?;
        }
        if r.error.is_some() {
            outcome = Outcome::CheckFailed;
        }
    }
    if results.iter().all(|r| r.error.as_deref() == Some(NO_PROBE)) {
        return Err(NoProbe.into());
    }
    summarize(&results, args.json)?;
    Ok(outcome)
}

const NO_PROBE: &str = "no debug probe attached";

#[derive(Debug, thiserror::Error)]
#[error("{NO_PROBE}")]
pub struct NoProbe;

struct DeviceResult {
    probe: String,
    device_id: Option<String>,
    report: FlashReport,
    error: Option<String>,
}

#[cfg(feature = "probe")]
fn one_device(
    args: &Args,
    job: &Job,
    plan: &FlashPlan,
    connect: &hexsmith::flash::probe::Connect,
    bar: ProgressBar,
    cancel: Arc<AtomicBool>,
) -> DeviceResult {
    use hexsmith::flash::probe::{ProbeError, ProbeTarget};
    let label = connect.probe.clone().unwrap_or_else(|| "probe".into());
    let mut result = DeviceResult {
        probe: label,
        device_id: None,
        report: FlashReport::default(),
        error: None,
    };
    let mut target = match ProbeTarget::connect(connect) {
        Ok(t) => t,
        Err(ProbeError::NoProbe) => {
            result.error = Some(NO_PROBE.into());
            return result;
        }
        Err(e) => {
            result.error = Some(e.to_string());
            return result;
        }
    };
    result.probe = target.probe.clone();
    match read_device_id(&mut target, job.mcu) {
        Ok(id) => {
            if let Some(id) = &id {
                bar.println(format!("{}: device {id}", result.probe));
            }
            result.device_id = id;
        }
        Err(e) => {
            result.error = Some(format!("reading the device ID: {e}"));
            return result;
        }
    }
    if let Some(protected) = job.mcu.protected_unit
        && plan.units.iter().any(|u| u.start == protected)
    {
        match target.stm32f2_sector0_protected() {
            Ok(true) if args.unprotect_bootloader => {
                if let Err(e) = target.unprotect_stm32f2_sector0() {
                    result.error = Some(format!(
                        "clearing the bootloader sector's write protection: {e}"
                    ));
                    return result;
                }
            }
            Ok(true) => {
                result.error = Some(format!(
                    "the bootloader sector {protected:#010x} is write-protected: rerun with --unprotect-bootloader to clear its protection, or leave the bootloader out of the image"
                ));
                return result;
            }
            Ok(false) => {}
            Err(e) => {
                result.error = Some(format!("reading the option bytes: {e}"));
                return result;
            }
        }
    }
    let options = FlashOptions {
        verify: !args.no_verify,
        reset: !args.no_reset,
        cancel: Some(cancel),
        batch_units: 16,
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix:>12} {msg:<8} [{bar:30}] {pos}/{len}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(result.probe.clone());
    let mut on_event = |e: Event| match e {
        Event::Compared { done, total } => {
            bar.set_message("compare");
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
        Event::Written { done, total } => {
            bar.set_message("write");
            bar.set_length(total);
            bar.set_position(done);
        }
        Event::Verified { done, total } => {
            bar.set_message("verify");
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    match execute(
        plan,
        &job.image,
        &mut target as &mut dyn FlashTarget,
        &options,
        &mut on_event,
    ) {
        Ok(report) => {
            bar.finish_and_clear();
            result.report = report;
        }
        Err(failure) => {
            bar.abandon();
            result.report = failure.report;
            result.error = Some(failure.error.to_string());
        }
    }
    result
}

fn summarize(results: &[DeviceResult], json: bool) -> Result<()> {
    if json {
        let doc: Vec<_> = results
            .iter()
            .map(|r| {
                json!({
                    "probe": r.probe,
                    "device_id": r.device_id,
                    "report": r.report,
                    "error": r.error,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    for r in results {
        let id = r.device_id.as_deref().unwrap_or("(unknown device)");
        let rep = &r.report;
        let state = match (&r.error, rep.interrupted) {
            (Some(e), _) => format!("FAILED: {e}"),
            (None, true) => "interrupted".to_string(),
            (None, false) if rep.verified => "ok, verified".to_string(),
            (None, false) => "ok".to_string(),
        };
        println!(
            "{:<24} {id:<34} written {} units ({} bytes), skipped {} units ({} bytes): {state}",
            r.probe, rep.units_written, rep.bytes_written, rep.units_skipped, rep.bytes_skipped
        );
    }
    Ok(())
}

fn append_log(path: &Path, job: &Job, chip: &str, r: &DeviceResult) -> Result<()> {
    let result = match (&r.error, r.report.interrupted) {
        (Some(e), _) => format!("failed: {e}"),
        (None, true) => "interrupted".to_string(),
        (None, false) => "ok".to_string(),
    };
    let line = json!({
        "time": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        "probe": r.probe,
        "chip": chip,
        "device_id": r.device_id,
        "image_sha256": job.sha256,
        "units_written": r.report.units_written,
        "units_skipped": r.report.units_skipped,
        "bytes_written": r.report.bytes_written,
        "bytes_skipped": r.report.bytes_skipped,
        "result": result,
    });
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| path.display().to_string())?;
    writeln!(file, "{line}").with_context(|| path.display().to_string())?;
    Ok(())
}

#[derive(clap::Args)]
pub struct ProbesArgs {
    #[arg(long)]
    json: bool,
}

#[cfg(feature = "probe")]
pub fn probes(args: &ProbesArgs) -> Result<Outcome> {
    let all = hexsmith::flash::probe::list();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else if all.is_empty() {
        println!("{NO_PROBE}");
    } else {
        for p in &all {
            println!("{:<28} {}", p.selector, p.name);
        }
    }
    Ok(Outcome::Pass)
}

#[cfg(not(feature = "probe"))]
pub fn probes(_: &ProbesArgs) -> Result<Outcome> {
    bail!("this hexsmith was built without probe support (cargo feature \"probe\")")
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
}

/// The chip and MCU a read or an inspection over SWD is for.
pub fn device_mcu(
    platform: Option<&str>,
    chip: Option<&str>,
) -> Result<(&'static Mcu, Option<String>)> {
    let platform = match (platform, chip) {
        (Some(name), _) => {
            Some(platform::by_name(name).with_context(|| format!("unknown platform {name:?}"))?)
        }
        (None, Some(chip)) => platform_for_chip(chip),
        (None, None) => bail!("name the device with --platform NAME or --chip NAME"),
    };
    let mcu = match platform {
        Some(p) => p.mcu(),
        None => bail!(
            "unknown chip {:?}: give --platform",
            chip.unwrap_or_default()
        ),
    };
    Ok((mcu, chip.map(str::to_string).or_else(|| mcu.chip.clone())))
}

fn parse_range(text: &str) -> Result<(u32, u64)> {
    let number = |s: &str| -> Result<u64> {
        let s = s.trim();
        let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16),
            None => s.parse(),
        };
        v.with_context(|| format!("--range {text}: {s:?} is not a number"))
    };
    let (a, b) = text
        .split_once(':')
        .with_context(|| format!("--range {text}: write START:END"))?;
    let (start, end) = (number(a)?, number(b)?);
    if end <= start || end > 1 << 32 {
        bail!("--range {text}: END must lie after START and within 4 GiB");
    }
    Ok((start as u32, end))
}

#[cfg(feature = "probe")]
pub fn connect_for_read(
    probe: &ProbeArgs,
    mcu: &Mcu,
    chip: Option<String>,
) -> Result<hexsmith::flash::probe::ProbeTarget> {
    use hexsmith::flash::probe::{Connect, ProbeError, ProbeTarget};
    let Some(chip) = chip else {
        bail!(
            "this chip has no built-in probe-rs target: give --chip-description FILE and --chip NAME"
        );
    };
    let connect = Connect {
        probe: probe.probe.clone(),
        chip,
        speed_khz: probe.speed,
        under_reset: probe.connect_under_reset || mcu.attach_under_reset,
        chip_description: probe.chip_description.clone(),
        allow_erase_all: false,
    };
    ProbeTarget::connect(&connect).map_err(|e| match e {
        ProbeError::NoProbe => NoProbe.into(),
        other => anyhow::Error::new(other),
    })
}

pub fn read(args: &ReadArgs) -> Result<Outcome> {
    let (mcu, chip) = device_mcu(args.platform.as_deref(), args.probe.chip.as_deref())?;
    let range = args.range.as_deref().map(parse_range).transpose()?;
    #[cfg(feature = "probe")]
    {
        let mut target = connect_for_read(&args.probe, mcu, chip)?;
        if let Some(id) = read_device_id(&mut target, mcu)? {
            eprintln!("device {id}");
        }
        let image = hexsmith::flash::read_device(&mut target, mcu, range)?;
        hexsmith::output::write_atomic_with(&args.output, |f| {
            hexsmith::memory::hex::write_to(&image, f)
        })
        .with_context(|| args.output.display().to_string())?;
        println!(
            "{}: {} bytes, sha256 {}",
            args.output.display(),
            image.len(),
            hex_lower(&image.sha256())
        );
        Ok(Outcome::Pass)
    }
    #[cfg(not(feature = "probe"))]
    {
        let _ = (mcu, chip, range);
        bail!("this hexsmith was built without probe support (cargo feature \"probe\")")
    }
}
