//! `hexsmith versions`: the Device OS release table (system and bootloader module
//! versions, LTS lines, platforms) and the releases each platform can run.

use crate::Outcome;
use anyhow::Result;
use hexsmith::platform::{self, SystemRelease, releases};
use hexsmith::upgrade::seeds::{Model, ReleaseBound, seeds};
use hexsmith::upgrade::{self, Device};
use serde_json::{Value, json};
use std::fmt::Write as _;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  hexsmith versions --platform boron\n  hexsmith versions --json | jq '.system[-1]'"
)]
pub struct Args {
    /// Only the releases this platform (or model, e.g. brn402) can run.
    #[arg(long, value_name = "NAME", value_parser = crate::suggest::platforms(), hide_possible_values = true)]
    platform: Option<String>,
    /// One JSON document on standard output.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<Outcome> {
    let device = args.platform.as_deref().map(upgrade::device).transpose()?;
    let lines: Vec<&'static SystemRelease> = match &device {
        Some(d) => d.releases().0,
        None => releases().system.iter().collect(),
    };
    let devices: Vec<Device> = match device {
        Some(d) => vec![d],
        None => all_devices(),
    };
    let out = if args.json {
        let doc = json!({
            "system": lines.iter().map(|s| line_json(s)).collect::<Vec<_>>(),
            "bootloader": releases().bootloader.iter().map(|b| json!({
                "module_version": b.module,
                "releases": b.releases,
            })).collect::<Vec<_>>(),
            "radio_stack": releases().radio_stack.iter().map(|r| json!({
                "module_version": r.module,
                "name": r.name,
                "releases": r.releases,
            })).collect::<Vec<_>>(),
            "platforms": devices.iter().map(device_json).collect::<Vec<_>>(),
        });
        format!(
            "{}\n",
            serde_json::to_string_pretty(&crate::out::Document::new(doc))?
        )
    } else {
        text(&lines, &devices, args.platform.is_some())
    };
    crate::out::print(format_args!("{out}"));
    Ok(Outcome::Pass)
}

/// Every platform, then every model.
fn all_devices() -> Vec<Device> {
    let mut all: Vec<Device> = platform::all()
        .iter()
        .map(|p| upgrade::device(&p.name).expect("a known platform"))
        .collect();
    all.extend(
        seeds()
            .model
            .iter()
            .map(|m| upgrade::device(&m.name).expect("a known model")),
    );
    all
}

fn line_json(s: &SystemRelease) -> Value {
    json!({
        "version": s.release,
        "module_version": s.module,
        "bootloader_module_version": s.bootloader,
        "prebootloader_module_version": s.prebootloader,
        "lts": s.lts,
        "prerelease": s.is_prerelease(),
        "platforms": s.platforms,
        "seen_on": s.seen_on,
        "note": s.note,
    })
}

fn bound_json(b: Option<&ReleaseBound>) -> Value {
    b.map_or(
        Value::Null,
        |b| json!({ "release": b.release, "why": b.why }),
    )
}

fn min_release(d: &Device) -> Option<&'static ReleaseBound> {
    d.model
        .and_then(|m: &'static Model| m.min_release.as_ref())
        .or(d.facts().min_release.as_ref())
}

fn device_json(d: &Device) -> Value {
    let (yes, unknown) = d.releases();
    let facts = d.facts();
    json!({
        "name": d.name(),
        "platform": d.platform.name,
        "display": d.model.map_or(d.platform.display.as_str(), |m| m.display.as_str()),
        "releases": yes.len(),
        "first": yes.first().map(|s| &s.release),
        "last": yes.last().map(|s| &s.release),
        "min_release": bound_json(min_release(d)),
        "advised_min": bound_json(facts.advised_min.as_ref()),
        "last_line": facts.last_line.as_ref().map_or(Value::Null, |l| json!({ "major": l.major, "why": l.why })),
        "unknown": unknown.iter().map(|s| &s.release).collect::<Vec<_>>(),
    })
}

fn platforms_text(s: &SystemRelease) -> String {
    let mut t = match (&s.platforms, &s.seen_on) {
        (Some(p), _) => p.join(", "),
        (None, Some(seen)) => format!("seen: {}", seen.join(", ")),
        (None, None) => "-".to_string(),
    };
    if let Some(note) = &s.note {
        let _ = write!(t, " ({note})");
    }
    t
}

fn text(lines: &[&SystemRelease], devices: &[Device], one_device: bool) -> String {
    let mut out = String::new();
    if one_device {
        for d in devices {
            device_text(&mut out, d);
        }
        out.push('\n');
    }
    let header = format!(
        "{:<16} {:>6}  {:>10}  {:<3}  {}",
        "release",
        "system",
        "bootloader",
        "lts",
        if one_device { "" } else { "platforms" }
    );
    let _ = writeln!(out, "{}", header.trim_end());
    for s in lines {
        let boot = s.bootloader.map_or("-".to_string(), |b| b.to_string());
        let lts = if s.lts { "LTS" } else { "" };
        let plats = if one_device {
            String::new()
        } else {
            platforms_text(s)
        };
        let row = format!(
            "{:<16} {:>6}  {:>10}  {:<3}  {plats}",
            s.release, s.module, boot, lts
        );
        let _ = writeln!(out, "{}", row.trim_end());
    }
    if !one_device {
        out.push_str("\nreleases each platform can run\n");
        for d in devices {
            device_text(&mut out, d);
        }
    }
    out
}

fn device_text(out: &mut String, d: &Device) {
    let (yes, unknown) = d.releases();
    let display = d
        .model
        .map_or(d.platform.display.as_str(), |m| m.display.as_str());
    let range = match (yes.first(), yes.last()) {
        (Some(a), Some(_)) if yes.len() == 1 => format!("1 release of the table, {}", a.release),
        (Some(a), Some(b)) => format!(
            "{} releases of the table, {} to {}",
            yes.len(),
            a.release,
            b.release
        ),
        _ => "no release of the table".to_string(),
    };
    let _ = writeln!(out, "{} ({display}): {range}", d.name());
    let facts = d.facts();
    if let Some(b) = min_release(d) {
        let _ = writeln!(out, "  minimum      {}: {}", b.release, b.why);
    }
    if let Some(b) = &facts.advised_min {
        let _ = writeln!(out, "  advised min  {}: {}", b.release, b.why);
    }
    if let Some(l) = &facts.last_line {
        let _ = writeln!(out, "  last line    {}.x: {}", l.major, l.why);
    }
    if d.platform.system_parts == 0 {
        let _ = writeln!(
            out,
            "  monolithic   {}",
            upgrade::rules::CORE_MONOLITHIC.why
        );
    }
    if !unknown.is_empty() {
        let names: Vec<&str> = unknown.iter().map(|s| s.release.as_str()).collect();
        let _ = writeln!(
            out,
            "  unknown      {} (the table cannot tell)",
            names.join(", ")
        );
    }
}
