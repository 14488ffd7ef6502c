//! `hexsmith inspect`: text and JSON rendering of the library's reports.

use crate::Outcome;
use crate::out::{self, outln};
use anyhow::Result;
use hexsmith::input::{self, Input};
use hexsmith::inspect::{self, ImageReport, ModuleChecks, ModuleReport};
use hexsmith::module::ModuleFunction;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("device").args(["probe", "emulate"])))]
#[command(
    after_help = "Examples:\n  hexsmith inspect out/boron.hex\n  hexsmith inspect --json boron-system-part1@4.0.1.bin | jq .modules[0].release\n  hexsmith inspect --emulate nRF52840_xxAA --emulate-state dev.hex"
)]
pub struct Args {
    /// Module binaries (.bin), Intel HEX images (.hex) or ELF files (.elf).
    #[arg(required_unless_present = "device")]
    files: Vec<PathBuf>,
    /// Inspect the device on this probe instead (VID:PID[:SERIAL]; "auto" for the only one
    /// attached): its flash is read over SWD and checked like an image file.
    #[arg(long, value_name = "SEL", value_parser = crate::suggest::probe_kinds_or_auto(), hide_possible_values = true)]
    probe: Option<String>,
    /// With --probe: the device's platform (sets the chip).
    #[arg(long, value_name = "NAME", requires = "device", value_parser = crate::suggest::platforms(), hide_possible_values = true)]
    platform: Option<String>,
    /// With --probe: the probe-rs target name.
    #[arg(long, value_name = "NAME", requires = "device")]
    chip: Option<String>,
    /// With --probe: a probe-rs target description (YAML) for chips without a built-in target.
    #[arg(
        long = "chip-description-path",
        alias = "chip-description",
        value_name = "FILE",
        env = "PROBE_RS_CHIP_DESCRIPTION_PATH"
    )]
    chip_description: Option<PathBuf>,
    /// With --probe: SWD clock in kHz. These four, like probe-rs's, also come from the
    /// environment, so they are not refused without --probe (a file inspection ignores
    /// them).
    #[arg(long, value_name = "KHZ", value_parser = clap::value_parser!(u32).range(1..), env = "PROBE_RS_SPEED")]
    speed: Option<u32>,
    /// With --probe: the wire protocol between probe and chip.
    #[arg(
        long,
        value_enum,
        value_name = "swd|jtag",
        env = "PROBE_RS_PROTOCOL",
        ignore_case = true
    )]
    protocol: Option<crate::flash::ProtocolArg>,
    /// With --probe: attach while holding the chip in reset.
    #[arg(long, env = "PROBE_RS_CONNECT_UNDER_RESET", value_parser = clap::builder::FalseyValueParser::new())]
    connect_under_reset: bool,
    /// Inspect an emulated chip instead (nRF52840_xxAA or STM32F205RG), as `flash --emulate`
    /// left it in its --emulate-state file.
    #[arg(long, value_name = "CHIP", value_parser = crate::suggest::emulated_chips(), hide_possible_values = true)]
    emulate: Option<String>,
    /// With --emulate: the device's state file (Intel HEX of its non-volatile memory).
    #[arg(long, value_name = "FILE", requires = "emulate")]
    emulate_state: Vec<PathBuf>,
    /// With --emulate: do not tell the command which chip is emulated; without --platform
    /// or --chip it asks the chip, as it asks a real one.
    #[arg(long, requires = "emulate")]
    emulate_unnamed: bool,
    /// With --probe on an RTL872x: Particle's flash loader (Device OS `scripts/rtl872x.tcl`
    /// or a raw .bin).
    #[arg(
        long = "rtl872x-loader",
        value_name = "FILE",
        env = "HEXSMITH_RTL872X_LOADER"
    )]
    rtl872x_loader: Option<PathBuf>,
    /// Use an RTL872x flash loader whose SHA-256 is not the known one.
    #[arg(long)]
    allow_unknown_loader: bool,
    /// One JSON document on standard output: a report object for one file, an array for several.
    #[arg(long)]
    json: bool,
}

enum FileReport {
    Module(ModuleReport),
    Image(ImageReport),
}

pub fn run(args: &Args) -> Result<Outcome> {
    if let Some(selector) = &args.probe {
        return run_on_device(args, selector);
    }
    if args.emulate.is_some() {
        return run_on_device(args, "auto");
    }
    let mut outcome = Outcome::Pass;
    let mut documents = Vec::new();
    let mut text = String::new();
    for path in &args.files {
        let name = path.display().to_string();
        match input::read(path) {
            Ok(input) => {
                let report = match input {
                    Input::Module { module, .. } => {
                        let mut report = inspect::inspect_module(&module);
                        let file_name = path.file_name().map(|n| n.to_string_lossy());
                        if let Some(note) =
                            file_name.and_then(|n| inspect::file_name_note(&n, &module.info))
                        {
                            report.notes.push(note);
                        }
                        FileReport::Module(report)
                    }
                    Input::Image { format, image } => {
                        FileReport::Image(inspect::inspect_image(&image, format.into()))
                    }
                };
                let passes = match &report {
                    FileReport::Module(m) => m.passes(),
                    FileReport::Image(i) => i.passes(),
                };
                if !passes {
                    outcome = outcome.max(Outcome::CheckFailed);
                }
                if args.json {
                    documents.push(to_json(&name, &report)?);
                } else {
                    render(&mut text, &name, &report);
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                outcome = Outcome::BadInput;
                if args.json {
                    documents.push(json!({
                        "schema": out::SCHEMA,
                        "version": hexsmith::report::TOOL_VERSION,
                        "file": name,
                        "error": e.to_string(),
                    }));
                }
            }
        }
    }
    if args.json {
        let doc = if documents.len() == 1 {
            documents.pop().expect("one")
        } else {
            Value::Array(documents)
        };
        outln!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        out::print(format_args!("{text}"));
    }
    Ok(outcome)
}

fn to_json(name: &str, report: &FileReport) -> Result<Value> {
    let mut value = match report {
        FileReport::Module(m) => json!({ "kind": "module", "format": "module", "modules": [m] }),
        FileReport::Image(i) => {
            let mut v = serde_json::to_value(i)?;
            v["kind"] = json!("image");
            v
        }
    };
    let map = value.as_object_mut().expect("reports are objects");
    map.insert("file".into(), json!(name));
    map.insert("schema".into(), json!(out::SCHEMA));
    map.insert("version".into(), json!(hexsmith::report::TOOL_VERSION));
    map.sort_keys();
    Ok(value)
}

fn render(out: &mut String, name: &str, report: &FileReport) {
    match report {
        FileReport::Module(m) => {
            let _ = writeln!(out, "{name}: module");
            render_module(out, m, "  ");
        }
        FileReport::Image(i) => render_image(out, name, i),
    }
    out.push('\n');
}

fn field(out: &mut String, indent: &str, label: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{indent}{label:<14}{value}");
}

fn platform_text(id: Option<u16>, name: Option<&str>) -> String {
    match (id, name) {
        (Some(id), Some(name)) => format!("{id} ({name})"),
        (Some(id), None) => format!("{id} (unknown)"),
        _ => "none in flash (prefix dropped)".to_string(),
    }
}

fn version_text(m: &ModuleReport) -> String {
    match &m.known_as {
        Some(k) => format!("{} ({k})", m.module_version),
        None => m.module_version.to_string(),
    }
}

fn ok_text(ok: Option<bool>, value: Option<&str>) -> String {
    let verdict = match ok {
        Some(true) => "ok",
        Some(false) => "MISMATCH",
        None => "not checkable",
    };
    match value {
        Some(v) => format!("{verdict} ({v})"),
        None => verdict.to_string(),
    }
}

fn render_module(out: &mut String, m: &ModuleReport, indent: &str) {
    field(
        out,
        indent,
        "function",
        format!("{} {}", m.function, m.index),
    );
    field(
        out,
        indent,
        "platform",
        platform_text(m.platform_id, m.platform.as_deref()),
    );
    field(out, indent, "version", version_text(m));
    field(
        out,
        indent,
        "address",
        format!("{:#010x}-{:#010x}", m.start_address, m.end_address),
    );
    if let Some(offset) = m.prefix_offset {
        field(out, indent, "prefix at", format!("{offset:#x}"));
    }
    let flags = if m.flag_names.is_empty() {
        format!("{:#04x}", m.flags)
    } else {
        format!("{:#04x} ({})", m.flags, m.flag_names.join(", "))
    };
    field(out, indent, "flags", flags);
    if m.dependencies.is_empty() {
        field(out, indent, "depends on", "nothing");
    }
    for (i, d) in m.dependencies.iter().enumerate() {
        let mut text = format!("{} {} version {}", d.function, d.index, d.version);
        let function = ModuleFunction::from_name(d.function).unwrap_or(ModuleFunction::None);
        if let Some(k) = inspect::known_as(function, d.index, d.version) {
            let _ = write!(text, " ({k})");
        }
        if let Some(s) = d.status {
            let _ = write!(text, ": {s}");
        }
        field(out, indent, if i == 0 { "depends on" } else { "" }, text);
    }
    if m.product_id.is_some() || m.product_version.is_some() {
        let show = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        field(
            out,
            indent,
            "product",
            format!(
                "id {}, version {}",
                show(m.product_id.map(|v| v.to_string())),
                show(m.product_version.map(|v| v.to_string()))
            ),
        );
    }
    if let Some(size) = m.suffix_size {
        field(out, indent, "suffix", format!("{size} bytes"));
    }
    if !m.extensions.is_empty() {
        let list: Vec<String> = m
            .extensions
            .iter()
            .map(|e| format!("{} ({} bytes)", e.kind, e.length))
            .collect();
        field(out, indent, "extensions", list.join(", "));
    }
    if m.crc.is_some() || m.crc_ok.is_some() {
        field(out, indent, "CRC", ok_text(m.crc_ok, m.crc.as_deref()));
    }
    field(
        out,
        indent,
        "SHA-256",
        ok_text(m.sha256_ok, m.sha256.as_deref()),
    );
    if let Some(c) = &m.checks {
        field(out, indent, "checks", checks_text(c));
    }
    for note in &m.notes {
        field(out, indent, "note", note);
    }
}

fn checks_text(c: &ModuleChecks) -> String {
    format!(
        "integrity {}, address range {}, platform {}, dependencies {}",
        c.integrity.label(),
        c.range.label(),
        c.platform.label(),
        c.dependencies.label()
    )
}

fn render_image(out: &mut String, name: &str, i: &ImageReport) {
    let platform = match (i.platform_id, &i.platform) {
        (Some(id), Some(n)) => format!(", platform {id} ({n})"),
        _ => String::new(),
    };
    let _ = writeln!(out, "{name}: {} image{platform}", i.format);
    for (n, s) in i.segments.iter().enumerate() {
        field(
            out,
            "  ",
            if n == 0 { "segments" } else { "" },
            format!("{:#010x}-{:#010x} ({} bytes)", s.start, s.end, s.size),
        );
    }
    for m in &i.modules {
        let _ = writeln!(out, "  module {} {}", m.function, m.index);
        render_module(out, m, "    ");
    }
    for r in &i.regions {
        let mark = if r.recognized { "" } else { " (!)" };
        let _ = writeln!(
            out,
            "  other bytes   {:#010x}-{:#010x} {}: {}{mark}",
            r.start, r.end, r.kind, r.what
        );
    }
    field(out, "  ", "checks", checks_text(&i.checks));
    for w in &i.warnings {
        field(out, "  ", "warning", w);
    }
}

/// Reads the device's flash over SWD (erased units left out) and checks it as an image.
fn run_on_device(args: &Args, selector: &str) -> Result<Outcome> {
    let settings = crate::flash::ProbeArgs {
        probe: (selector != "auto").then(|| selector.to_string()),
        chip: args.chip.clone(),
        chip_description: args.chip_description.clone(),
        speed: args.speed,
        protocol: args.protocol,
        connect_under_reset: args.connect_under_reset,
        no_progress: true,
        emulate: args.emulate.clone(),
        emulate_state: args.emulate_state.clone(),
        emulate_unnamed: args.emulate_unnamed,
        emulate_probe: None,
        rtl872x_loader: args.rtl872x_loader.clone(),
        allow_unknown_loader: args.allow_unknown_loader,
    }
    .settings(&[])?;
    #[cfg_attr(not(feature = "probe"), allow(unused_mut))]
    let mut choice = crate::device::device_mcu(args.platform.as_deref(), &settings)?;
    let mcu = choice.mcu;
    #[cfg(feature = "probe")]
    {
        let session = choice.session.take();
        let mut target =
            crate::device::connect(&settings, mcu, choice.chip.clone(), false, session)?;
        let name = format!("device on {}", target.probe);
        let image = hexsmith::flash::read_device(&mut target, mcu, None)?;
        let report = inspect::inspect_image(&image, inspect::ImageFormat::Swd);
        let passes = report.passes();
        let device = device_json(&choice, report.platform.as_deref());
        let report = FileReport::Image(report);
        if args.json {
            let mut value = to_json(&name, &report)?;
            value["device"] = device;
            outln!("{}", serde_json::to_string_pretty(&value)?);
        } else {
            let mut text = String::new();
            render(&mut text, &name, &report);
            device_text(&mut text, &device);
            crate::out::print(format_args!("{text}"));
        }
        Ok(if passes {
            Outcome::Pass
        } else {
            Outcome::CheckFailed
        })
    }
    #[cfg(not(feature = "probe"))]
    {
        let _ = (mcu, choice.chip, choice.detected);
        Err(crate::NoProbeSupport.into())
    }
}

/// The inspected device: its chip, whether it named itself, and its platform as its own
/// modules give it, else every platform that uses the chip. A Gen 3 nRF52840 serves a
/// dozen platforms, so the chip alone never names one.
#[cfg(feature = "probe")]
fn device_json(choice: &crate::device::DeviceChoice, from_modules: Option<&str>) -> Value {
    let sharing: Vec<&str> = hexsmith::platform::all()
        .iter()
        .filter(|p| std::ptr::eq(p.mcu(), choice.mcu))
        .map(|p| p.name.as_str())
        .collect();
    json!({
        "chip": choice.chip,
        "chip_detected": choice.detected,
        "platform": from_modules,
        "platforms_with_chip": sharing,
    })
}

#[cfg(feature = "probe")]
fn device_text(out: &mut String, device: &Value) {
    // The device's lines belong to its report, before the blank line that ends it.
    let ended = out.ends_with("\n\n");
    if ended {
        out.pop();
    }
    let chip = device["chip"].as_str().unwrap_or("(none)");
    match device["chip_detected"].as_str() {
        Some(evidence) => field(out, "  ", "chip", format!("{chip}, detected: {evidence}")),
        None => field(out, "  ", "chip", chip),
    }
    let names = |v: &Value| -> String {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    match device["platform"].as_str() {
        Some(platform) => field(
            out,
            "  ",
            "platform",
            format!("{platform}, as its modules say"),
        ),
        None => field(
            out,
            "  ",
            "platform",
            format!(
                "not named by any module; this chip is used by {}",
                names(&device["platforms_with_chip"])
            ),
        ),
    }
    if ended {
        out.push('\n');
    }
}
