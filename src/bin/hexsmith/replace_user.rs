//! `hexsmith replace-user`: a customer's application in place of the one a restore
//! image holds.

use crate::Outcome;
use anyhow::Result;
use hexsmith::compose::replace::{ReplaceOptions, read_base, replace_user};
use hexsmith::compose::{Manifest, ModuleInput};
use hexsmith::inspect::hex_lower;
use hexsmith::memory::hex;
use hexsmith::output::OutputSet;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
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
}

pub fn run(args: &Args) -> Result<Outcome> {
    let mut outputs = OutputSet::new([args.base.as_path(), args.user.as_path()])?;
    outputs.check(&args.output)?;
    if let Some(path) = &args.manifest {
        outputs.check(path)?;
    }
    let base_name = args.base.display().to_string();
    let base = read_base(&args.base)?;
    let app = ModuleInput::read(&args.user)?;
    let options = ReplaceOptions {
        allow_safe_mode: args.allow_safe_mode,
    };
    let replaced = replace_user(&base_name, &base, &app, options)?;
    for w in &replaced.warnings {
        eprintln!("warning: {w}");
    }
    outputs.stage(&args.output, |file| hex::write_to(&replaced.image, file))?;
    if let Some(path) = &args.manifest {
        let manifest = Manifest::of_image(&replaced.image, replaced.warnings.clone())
            .expect("the result holds the new application, so its platform is known");
        let mut json = serde_json::to_string_pretty(&manifest)?;
        json.push('\n');
        outputs.stage(path, |file| file.write_all(json.as_bytes()))?;
    }
    outputs.commit()?;
    let removed: Vec<String> = replaced
        .removed
        .iter()
        .map(|(s, e)| format!("{s:#010x}-{e:#010x}"))
        .collect();
    println!(
        "{}: {} (user part {:#010x}-{:#010x} in place of {}, {} bytes, sha256 {})",
        replaced.platform.name,
        args.output.display(),
        app.module.info.start,
        u64::from(app.module.info.end) + 4,
        if removed.is_empty() {
            "none".to_string()
        } else {
            removed.join(", ")
        },
        replaced.image.len(),
        hex_lower(&replaced.image.sha256())
    );
    Ok(Outcome::Pass)
}
