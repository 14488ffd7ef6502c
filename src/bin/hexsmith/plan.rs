//! `hexsmith plan`: the steps that take a device from one Device OS release to another,
//! as text or JSON, on top of the library's planner.

use crate::Outcome;
use anyhow::{Context, Result};
use hexsmith::upgrade::{self, Mode, Step, UpgradePlan, Via};
use std::fmt::Write as _;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  hexsmith plan --platform boron --from 2.2.0 --to 4.0.1\n  hexsmith plan --platform electron --from 1.5.2 --to 0.6.2 --via ota --json"
)]
pub struct Args {
    /// Platform (boron, electron, ...) or model with rules of its own (brn402, b402, b404x, ...).
    #[arg(long, value_name = "NAME", value_parser = crate::suggest::platforms(), hide_possible_values = true)]
    platform: String,
    /// The Device OS the device has: a release (1.5.2) or its system module version (1512).
    #[arg(long, value_name = "VERSION")]
    from: String,
    /// The Device OS to install: a release (2.0.0) or its system module version (2008).
    #[arg(long, value_name = "VERSION")]
    to: String,
    /// How the device is written to: ota (particle flash DEVICE), serial (listening mode,
    /// particle flash --local), usb (DFU mode for system parts and application, listening
    /// mode for the rest) or swd (one restore image, written by an SWD/JTAG programmer).
    #[arg(long, value_name = "ota|serial|usb|swd", default_value = "ota")]
    via: String,
    /// One JSON document on standard output.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<Outcome> {
    let device = upgrade::device(&args.platform)?;
    let from = device
        .release(&args.from)
        .with_context(|| format!("--from {}", args.from))?;
    let to = device
        .release(&args.to)
        .with_context(|| format!("--to {}", args.to))?;
    let via = Via::from_name(&args.via).with_context(|| {
        format!(
            "--via {}: not a way of writing a device (ota, serial, usb or swd)",
            args.via
        )
    })?;
    let plan = upgrade::plan(&device, &from, &to, via)?;
    let out = if args.json {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&crate::out::Document::new(&plan))?
        )
    } else {
        text(&plan)
    };
    crate::out::print(format_args!("{out}"));
    Ok(Outcome::Pass)
}

fn text(plan: &UpgradePlan) -> String {
    let mut out = String::new();
    let who = match plan.model {
        Some(m) => format!("{m} ({})", plan.platform),
        None => plan.platform.to_string(),
    };
    let what = match plan.direction {
        upgrade::Direction::Upgrade => "upgrade",
        upgrade::Direction::Downgrade => "downgrade",
        upgrade::Direction::None => "nothing to do",
    };
    let _ = writeln!(
        out,
        "{who}: Device OS {} (system module {}) to {} ({}), {what} {}: {} step{}",
        plan.from,
        module_text(plan.from_module_version),
        plan.to,
        module_text(plan.to_module_version),
        plan.via.describe(),
        plan.steps.len(),
        if plan.steps.len() == 1 { "" } else { "s" }
    );
    for (i, step) in plan.steps.iter().enumerate() {
        out.push('\n');
        step_text(&mut out, step, i + 1, plan.steps.len());
    }
    if !plan.warnings.is_empty() {
        out.push('\n');
    }
    for w in &plan.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

/// A release the table does not list has no known module version.
fn module_text(version: Option<u16>) -> String {
    version.map_or_else(|| "unknown".to_string(), |v| v.to_string())
}

fn label(w: &upgrade::Write) -> String {
    let name = w.component.name().replace('-', " ");
    match w.part {
        Some(n) => format!("{name} {n}"),
        None => name,
    }
}

fn step_text(out: &mut String, step: &Step, n: usize, of: usize) {
    let _ = writeln!(
        out,
        "step {n} of {of}: Device OS {} (system module {})",
        step.version,
        module_text(step.module_version)
    );
    let _ = writeln!(out, "  why    {}: {}", step.rule, step.why);
    if let Some(build) = &step.build {
        let _ = writeln!(out, "  build  {build}");
    }
    let mut mode: Option<Mode> = None;
    for (i, w) in step.writes.iter().enumerate() {
        if mode != Some(w.mode) {
            let _ = writeln!(out, "  mode   {}", w.mode.describe());
            mode = Some(w.mode);
        }
        let optional = if w.optional { " (if needed)" } else { "" };
        let _ = writeln!(
            out,
            "    {}. {:<15}{}{optional}",
            i + 1,
            label(w),
            w.command
        );
    }
    if let Some(then) = step.writes.iter().find_map(|w| w.then) {
        let _ = writeln!(out, "  after each write: {then}");
    }
    // Each rule once, with the reason of its first write (the parts of one step share it).
    let mut seen: Vec<&str> = Vec::new();
    for w in &step.writes {
        if !seen.contains(&w.rule) {
            seen.push(w.rule);
            let _ = writeln!(out, "  rule   {}: {}", w.rule, w.why);
        }
    }
    for note in &step.notes {
        let _ = writeln!(out, "  note   {note}");
    }
}
