//! `hexsmith diff A B`: what differs between two images, module by module, on top of
//! the library's [`hexsmith::inspect::diff`].

use crate::Outcome;
use crate::out;
use anyhow::Result;
use hexsmith::input::{self, Input};
use hexsmith::inspect::diff::{DiffSide, DiffStatus, ImageDiff, Inspected, diff_images};
use hexsmith::inspect::{self, ImageFormat, ImageReport};
use hexsmith::memory::MemoryImage;
use hexsmith::module::flash_payload;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    hexsmith diff out/boron.hex boron-4.0.1-published.hex\n  \
    hexsmith diff --json before.hex after.hex | jq '.regions[] | select(.status != \"same\")'\n  \
    hexsmith diff board1.hex out/boron.hex        # an emulated device's state against the image")]
pub struct Args {
    /// The first image: Intel HEX, ELF, a module binary or an emulated device's state file.
    #[arg(value_name = "A")]
    a: PathBuf,
    /// The second, of any of the same kinds.
    #[arg(value_name = "B")]
    b: PathBuf,
    /// One JSON document on standard output (docs/json.md); errors too.
    #[arg(long)]
    json: bool,
}

/// One input as read: its bytes in memory and what `inspect` says of them.
struct Side {
    name: String,
    format: ImageFormat,
    image: MemoryImage,
    report: ImageReport,
}

/// A module file is compared as it would sit in flash: at its start address, a radio
/// stack without its prefix and suffix.
fn read_side(path: &Path) -> Result<Side> {
    let (format, image) = match input::read(path)? {
        Input::Module { bytes, module } => {
            let mut image = MemoryImage::new();
            image.write(module.info.start, flash_payload(&bytes, &module));
            (ImageFormat::Module, image)
        }
        Input::Image { format, image } => (format.into(), image),
    };
    let report = inspect::inspect_image(&image, format);
    Ok(Side {
        name: path.display().to_string(),
        format,
        image,
        report,
    })
}

#[derive(Serialize)]
struct InputSummary<'a> {
    file: &'a str,
    format: ImageFormat,
    platform: Option<&'a str>,
    platform_id: Option<u16>,
    bytes: u64,
}

impl<'a> InputSummary<'a> {
    fn of(side: &'a Side) -> Self {
        InputSummary {
            file: &side.name,
            format: side.format,
            platform: side.report.platform.as_deref(),
            platform_id: side.report.platform_id,
            bytes: side.image.len(),
        }
    }
}

#[derive(Serialize)]
struct DiffDocument<'a> {
    a: InputSummary<'a>,
    b: InputSummary<'a>,
    #[serde(flatten)]
    diff: &'a ImageDiff,
}

pub fn run(args: &Args) -> Result<Outcome> {
    let a = read_side(&args.a)?;
    let b = read_side(&args.b)?;
    let diff = diff_images(
        Inspected {
            image: &a.image,
            report: &a.report,
        },
        Inspected {
            image: &b.image,
            report: &b.report,
        },
    );
    if args.json {
        out::json(DiffDocument {
            a: InputSummary::of(&a),
            b: InputSummary::of(&b),
            diff: &diff,
        })?;
    } else {
        out::print(format_args!("{}", render(&a, &b, &diff)));
    }
    Ok(if diff.identical {
        Outcome::Pass
    } else {
        Outcome::CheckFailed
    })
}

fn render(a: &Side, b: &Side, diff: &ImageDiff) -> String {
    let mut text = String::new();
    for (label, side) in [("A", a), ("B", b)] {
        let platform = match (side.report.platform_id, &side.report.platform) {
            (Some(id), Some(name)) => format!(", platform {id} ({name})"),
            (Some(id), None) => format!(", platform {id} (unknown)"),
            _ => String::new(),
        };
        let _ = writeln!(
            text,
            "{label}: {} ({} {}{platform}, {} bytes)",
            side.name,
            side.format,
            if side.format == ImageFormat::Module {
                "file"
            } else {
                "image"
            },
            side.image.len()
        );
    }
    for r in &diff.regions {
        let range = |s: &DiffSide| format!("{:#010x}-{:#010x}", s.start, s.end);
        let line = match (&r.a, &r.b) {
            (Some(x), Some(y)) if r.status == DiffStatus::Same => {
                format!("{} {}", range(x), describe(x))
            }
            (Some(x), Some(y)) if x.start == y.start && x.end == y.end => format!(
                "{} {}: A {}; B {}",
                range(x),
                x.kind,
                details(x),
                details(y)
            ),
            (Some(x), Some(y)) => format!(
                "{}: A {} at {}; B {} at {}",
                x.kind,
                details(x),
                range(x),
                details(y),
                range(y)
            ),
            (Some(s), None) | (None, Some(s)) => format!("{} {}", range(s), describe(s)),
            (None, None) => continue,
        };
        let _ = write!(text, "  {:<14}{line}", r.status.label());
        if let (Some(first), Some(n)) = (r.first_difference, r.differing_bytes) {
            let _ = write!(
                text,
                " (first difference at {first:#010x}, {n} byte{} differ{})",
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" }
            );
        }
        text.push('\n');
    }
    let differing = diff.differing().count();
    if diff.identical {
        text.push_str("identical: the same bytes at the same addresses\n");
    } else {
        let _ = writeln!(
            text,
            "differs: {differing} of {} region{} not the same",
            diff.regions.len(),
            if diff.regions.len() == 1 { "" } else { "s" }
        );
    }
    text
}

/// A region in one phrase: `system-part 1 version 4005 (Device OS 4.0.1)`, `uicr: UICR, ...`.
fn describe(s: &DiffSide) -> String {
    match s.index {
        Some(_) => format!("{} {}", s.kind, details(s)),
        None => format!("{}: {}", s.kind, s.what.as_deref().unwrap_or("")),
    }
}

/// What tells one module from another of its kind: index, version and names.
fn details(s: &DiffSide) -> String {
    let Some(index) = s.index else {
        return s.what.clone().unwrap_or_default();
    };
    let mut text = format!("{index} version {}", s.module_version.unwrap_or(0));
    match (&s.what, &s.release) {
        (Some(what), _) => {
            let _ = write!(text, " ({what})");
        }
        (None, Some(release)) => {
            let _ = write!(text, " (needs Device OS {release} or later)");
        }
        (None, None) => {}
    }
    text
}
