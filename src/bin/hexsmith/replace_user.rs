//! `hexsmith replace-user`: a customer's application in place of the one a restore
//! image holds.

use crate::Outcome;
use crate::out::{self, outln};
use anyhow::Result;
use hexsmith::compose::replace::{ReplaceOptions, read_base, replace_user};
use hexsmith::compose::{Manifest, ModuleInput};
use hexsmith::output::OutputSet;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  hexsmith replace-user --base out/boron.hex --user app.bin -o boron-app.hex\n  hexsmith replace-user --base out/p2.hex --user app.bin -o p2-app.hex --manifest p2-app.json"
)]
pub struct Args {
    /// The restore image whose application is replaced (.hex or .elf).
    #[arg(long, value_name = "IMAGE")]
    base: PathBuf,
    /// The new application (.bin, or .hex/.elf holding it).
    #[arg(long, value_name = "APP")]
    user: PathBuf,
    /// Output Intel HEX file.
    #[arg(short, long, value_name = "OUT.hex")]
    output: PathBuf,
    /// Accept an application whose dependencies the image does not meet: the device
    /// would start in safe mode.
    #[arg(long)]
    allow_safe_mode: bool,
    /// Write the manifest (JSON) of the result here, as `build --manifest` does.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// What was written as one JSON document on standard output (errors too); see docs/json.md.
    #[arg(long)]
    json: bool,
}

/// What one `replace-user` wrote, for `--json` (docs/json.md).
#[derive(Serialize)]
struct ReplaceReport {
    platform: String,
    platform_id: u16,
    hex: String,
    /// SHA-256 of the Intel HEX file as written: what `sha256sum` prints for it.
    hex_sha256: String,
    /// SHA-256 of the memory content, as in a build manifest.
    memory_sha256: String,
    bytes: u64,
    /// The new application: where it starts and where its CRC ends (exclusive).
    user_part: Span,
    /// Where the application it replaced lay (start, end exclusive); empty when none did.
    removed: Vec<Span>,
    manifest: Option<String>,
    warnings: Vec<hexsmith::compose::BuildWarning>,
}

#[derive(Serialize)]
struct Span {
    start: u64,
    end: u64,
}

pub fn run(args: &Args) -> Result<Outcome> {
    let mut outputs = OutputSet::new([args.base.as_path(), args.user.as_path()]);
    outputs.check(&args.output)?;
    if let Some(path) = &args.manifest {
        outputs.check(path)?;
    }
    let base_name = args.base.display().to_string();
    let base = read_base(&args.base)?;
    let app = ModuleInput::read(&args.user)?;
    let options = ReplaceOptions::default().with_allow_safe_mode(args.allow_safe_mode);
    let replaced = replace_user(&base_name, &base, &app, options)?;
    for w in &replaced.warnings {
        eprintln!("warning: {}", hexsmith::escape_controls(&w.to_string()));
    }
    let hex_sha256 = out::stage_hex(&mut outputs, &args.output, &replaced.image)?;
    if let Some(path) = &args.manifest {
        let manifest = Manifest::of_image(&replaced.image, replaced.warnings.clone())
            .expect("the result holds the new application, so its platform is known");
        let mut json = serde_json::to_string_pretty(&manifest)?;
        json.push('\n');
        outputs.stage(path, |file| file.write_all(json.as_bytes()))?;
    }
    outputs.commit()?;
    let report = ReplaceReport {
        platform: replaced.platform.name.clone(),
        platform_id: replaced.platform.id,
        hex: args.output.display().to_string(),
        hex_sha256,
        memory_sha256: hex::encode(replaced.image.sha256()),
        bytes: replaced.image.len(),
        user_part: Span {
            start: app.module.info.start.into(),
            end: u64::from(app.module.info.end) + 4,
        },
        removed: replaced
            .removed
            .iter()
            .map(|&(start, end)| Span { start, end })
            .collect(),
        manifest: args.manifest.as_ref().map(|p| p.display().to_string()),
        warnings: replaced.warnings.clone(),
    };
    if args.json {
        out::json(&report)?;
        return Ok(Outcome::Pass);
    }
    let removed: Vec<String> = report
        .removed
        .iter()
        .map(|s| format!("{:#010x}-{:#010x}", s.start, s.end))
        .collect();
    outln!(
        "{}: {} (user part {:#010x}-{:#010x} in place of {}, {} bytes of memory)",
        report.platform,
        report.hex,
        report.user_part.start,
        report.user_part.end,
        if removed.is_empty() {
            "none".to_string()
        } else {
            removed.join(", ")
        },
        report.bytes,
    );
    outln!("  file sha256            {}", report.hex_sha256);
    outln!("  memory-content sha256  {}", report.memory_sha256);
    Ok(Outcome::Pass)
}
