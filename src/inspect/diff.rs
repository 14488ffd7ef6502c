//! What differs between two images, region by region: the modules and the glue between
//! them (MBR, UICR, compatibility fill, stray bytes) as [`inspect_image`](super::inspect_image)
//! names them, paired across the two images so that a reader sees "the application is
//! Tinker 5 at 0xD4000 here and Tinker 6 at 0xB4000 there" instead of two hashes.
//!
//! The cost is the two inspections plus one pass over each paired range's bytes, so a
//! diff costs what `inspect` of both images does.

use super::{ImageReport, ModuleReport, RegionReport};
use crate::memory::MemoryImage;
use serde::Serialize;

/// How a region of one image compares with its counterpart in the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiffStatus {
    /// The same bytes at the same addresses.
    Same,
    /// The same module (function and index; any application counts as the same) at
    /// another module version.
    OtherVersion,
    /// The same module at the same version, but other bytes or another place: another
    /// build, another platform's module, or a corrupt copy.
    Different,
    /// Only the first image holds it.
    OnlyInA,
    /// Only the second image holds it.
    OnlyInB,
    /// Bytes outside modules (MBR, UICR words, compatibility fill, stray bytes) of the
    /// same kind in both images, with other content.
    GlueDiffers,
}

impl DiffStatus {
    /// How the text report labels it.
    pub fn label(self) -> &'static str {
        match self {
            DiffStatus::Same => "same",
            DiffStatus::OtherVersion => "other version",
            DiffStatus::Different => "different",
            DiffStatus::OnlyInA => "only in A",
            DiffStatus::OnlyInB => "only in B",
            DiffStatus::GlueDiffers => "glue differs",
        }
    }
}

/// One side of a compared region: a module, or glue as `inspect` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffSide {
    /// First address.
    pub start: u64,
    /// Exclusive end: past a module's CRC, or the glue region's end.
    pub end: u64,
    /// A module's function (`system-part`, `user-part`, `radio-stack`, ...) or the glue's
    /// kind (`nordic-mbr`, `uicr`, `compatibility-fill`, `radio-stack-suffix-remnant`,
    /// `erased`, `unknown`), as `inspect` reports them.
    pub kind: String,
    /// A module's index; None for glue.
    pub index: Option<u8>,
    /// A module's version; None for glue.
    pub module_version: Option<u16>,
    /// The Device OS release a system part is; for any other module, the release its
    /// system-part dependency names (the oldest it runs on). None where the release
    /// table does not know the version.
    pub release: Option<String>,
    /// A module's human name ("Device OS 4.0.1", "S140 7.0.1"), or what glue holds in
    /// words ("Nordic MBR: ...", "UICR, as Particle's restore images set it").
    pub what: Option<String>,
}

/// One region of the comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionDiff {
    /// The verdict.
    pub status: DiffStatus,
    /// `module` or `glue`.
    pub category: &'static str,
    /// In the first image; None when only the second holds it.
    pub a: Option<DiffSide>,
    /// In the second image; None when only the first holds it.
    pub b: Option<DiffSide>,
    /// Where the two ranges overlap and their bytes differ: the lowest differing address
    /// over the union of both ranges (a byte one image lacks counts as differing). None
    /// when nothing differs or the two do not overlap (a module that moved).
    pub first_difference: Option<u64>,
    /// How many addresses differ in that union; None under the same conditions.
    pub differing_bytes: Option<u64>,
}

/// The comparison of two images ([`diff_images`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ImageDiff {
    /// The two images hold the same bytes at the same addresses (exit status 0).
    pub identical: bool,
    /// Every module and glue region of either image, paired where they correspond, in
    /// order of their lowest address.
    pub regions: Vec<RegionDiff>,
}

impl ImageDiff {
    /// The regions that are not [`DiffStatus::Same`].
    pub fn differing(&self) -> impl Iterator<Item = &RegionDiff> {
        self.regions.iter().filter(|r| r.status != DiffStatus::Same)
    }
}

/// One image and what `inspect` found in it.
#[derive(Debug, Clone, Copy)]
pub struct Inspected<'a> {
    /// The bytes.
    pub image: &'a MemoryImage,
    /// [`inspect_image`](super::inspect_image) of them.
    pub report: &'a ImageReport,
}

/// Compares two inspected images. Modules pair by function and index (any two
/// applications pair, wherever they sit, since a device runs one); glue pairs by kind
/// where the two ranges overlap (or, for a kind a layout has once, such as the MBR and
/// UICR, wherever it lies). Whatever finds no partner is only in one image. Linear in
/// the two images' sizes.
pub fn diff_images(a: Inspected<'_>, b: Inspected<'_>) -> ImageDiff {
    let identical = a.image == b.image;
    let sides_a = sides(a.report);
    let sides_b = sides(b.report);
    let mut taken = vec![false; sides_b.len()];
    let mut regions = Vec::new();
    for sa in &sides_a {
        let partner = best_partner(sa, &sides_b, &taken);
        match partner {
            Some(i) => {
                taken[i] = true;
                regions.push(compare(sa, &sides_b[i], a.image, b.image));
            }
            None => regions.push(alone(sa, DiffStatus::OnlyInA)),
        }
    }
    for (sb, _) in sides_b.iter().zip(&taken).filter(|(_, t)| !**t) {
        regions.push(alone(sb, DiffStatus::OnlyInB));
    }
    regions.sort_by_key(|r| {
        let start = |s: &Option<DiffSide>| s.as_ref().map_or(u64::MAX, |s| s.start);
        (start(&r.a).min(start(&r.b)), start(&r.a), start(&r.b))
    });
    ImageDiff { identical, regions }
}

/// A region of one image, with what pairing needs.
struct Side {
    side: DiffSide,
    /// Modules: `function index`, or `user-part` for every application. Glue: its kind.
    key: String,
    module: bool,
    /// False for a module whose SHA-256 or CRC fails: its version says less.
    sound: bool,
}

fn sides(report: &ImageReport) -> Vec<Side> {
    let modules = report.modules.iter().map(module_side);
    let glue = report.regions.iter().map(glue_side);
    modules.chain(glue).collect()
}

fn module_side(m: &ModuleReport) -> Side {
    // A module occupies its CRC's 4 bytes too; a placed radio stack has none in flash.
    let end = m.end_address + if m.crc.is_some() { 4 } else { 0 };
    let release = m.release.clone().or_else(|| {
        m.dependencies
            .iter()
            .find(|d| d.function == "system-part")
            .and_then(|d| d.release.clone())
    });
    let key = if m.function == "user-part" {
        m.function.to_string()
    } else {
        format!("{} {}", m.function, m.index)
    };
    Side {
        side: DiffSide {
            start: u64::from(m.start_address),
            end,
            kind: m.function.to_string(),
            index: Some(m.index),
            module_version: Some(m.module_version),
            release,
            what: m.known_as.clone(),
        },
        key,
        module: true,
        sound: m.crc_ok != Some(false) && m.sha256_ok != Some(false),
    }
}

fn glue_side(r: &RegionReport) -> Side {
    Side {
        side: DiffSide {
            start: r.start,
            end: r.end,
            kind: r.kind.clone(),
            index: None,
            module_version: None,
            release: None,
            what: Some(r.what.clone()),
        },
        key: r.kind.clone(),
        module: false,
        sound: r.recognized,
    }
}

/// Glue a layout holds at one fixed place: paired wherever it lies.
fn fixed_glue(kind: &str) -> bool {
    crate::platform::RegionName::from_kind(kind).is_some()
}

fn overlaps(a: &DiffSide, b: &DiffSide) -> bool {
    a.start < b.end && b.start < a.end
}

/// The unpaired region of `others` that corresponds to `side`: same key, preferring one
/// that starts at the same address, then one that overlaps it.
fn best_partner(side: &Side, others: &[Side], taken: &[bool]) -> Option<usize> {
    let candidates = || {
        others
            .iter()
            .enumerate()
            .filter(|(i, o)| !taken[*i] && o.key == side.key && o.module == side.module)
    };
    let same_start = candidates().find(|(_, o)| o.side.start == side.side.start);
    let overlapping = || candidates().find(|(_, o)| overlaps(&o.side, &side.side));
    let anywhere = || {
        candidates()
            .next()
            .filter(|_| side.module || fixed_glue(&side.key))
    };
    same_start
        .or_else(overlapping)
        .or_else(anywhere)
        .map(|(i, _)| i)
}

fn alone(side: &Side, status: DiffStatus) -> RegionDiff {
    let (a, b) = match status {
        DiffStatus::OnlyInB => (None, Some(side.side.clone())),
        _ => (Some(side.side.clone()), None),
    };
    RegionDiff {
        status,
        category: if side.module { "module" } else { "glue" },
        a,
        b,
        first_difference: None,
        differing_bytes: None,
    }
}

fn compare(a: &Side, b: &Side, image_a: &MemoryImage, image_b: &MemoryImage) -> RegionDiff {
    let (sa, sb) = (&a.side, &b.side);
    let bytes = overlaps(sa, sb)
        .then(|| count_differences(image_a, image_b, sa.start.min(sb.start), sa.end.max(sb.end)));
    let same_place = sa.start == sb.start && sa.end == sb.end;
    let same_bytes = same_place && bytes.is_some_and(|(_, n)| n == 0);
    let status = if same_bytes {
        DiffStatus::Same
    } else if !a.module {
        DiffStatus::GlueDiffers
    } else if sa.module_version != sb.module_version && a.sound && b.sound {
        DiffStatus::OtherVersion
    } else {
        DiffStatus::Different
    };
    let (first_difference, differing_bytes) = match bytes {
        Some((first, n)) if n > 0 => (first, Some(n)),
        _ => (None, None),
    };
    RegionDiff {
        status,
        category: if a.module { "module" } else { "glue" },
        a: Some(sa.clone()),
        b: Some(sb.clone()),
        first_difference,
        differing_bytes,
    }
}

/// The first address in `[start, end)` where the two images differ (one holding a byte
/// the other lacks counts), and how many addresses do. Walks each image's segments once.
fn count_differences(a: &MemoryImage, b: &MemoryImage, start: u64, end: u64) -> (Option<u64>, u64) {
    let mut first = None;
    let mut count = 0u64;
    let mut at = start;
    while at < end {
        let piece_a = piece(a, at, end);
        let piece_b = piece(b, at, end);
        // Both runs go as far as the nearer boundary of either image.
        let stop = piece_a.1.min(piece_b.1);
        let len = (stop - at) as usize;
        match (piece_a.0, piece_b.0) {
            (Some(x), Some(y)) => {
                let (x, y) = (&x[..len], &y[..len]);
                if x != y {
                    for (i, (p, q)) in x.iter().zip(y).enumerate() {
                        if p != q {
                            first.get_or_insert(at + i as u64);
                            count += 1;
                        }
                    }
                }
            }
            (None, None) => {}
            _ => {
                first.get_or_insert(at);
                count += len as u64;
            }
        }
        at = stop;
    }
    (first, count)
}

/// From `at`: the image's bytes up to the end of their segment (or `end`), or None up to
/// its next segment (or `end`) when it holds nothing at `at`.
fn piece(image: &MemoryImage, at: u64, end: u64) -> (Option<&[u8]>, u64) {
    let segments = image.segments();
    let i = segments.partition_point(|s| s.end() <= at);
    match segments.get(i) {
        Some(s) if u64::from(s.start) <= at => {
            let stop = s.end().min(end);
            let from = (at - u64::from(s.start)) as usize;
            let to = (stop - u64::from(s.start)) as usize;
            (Some(&s.data[from..to]), stop)
        }
        Some(s) => (None, u64::from(s.start).min(end)),
        None => (None, end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::inspect_image;

    fn image(pieces: &[(u32, &[u8])]) -> MemoryImage {
        let mut image = MemoryImage::new();
        for (start, data) in pieces {
            image.write(*start, data);
        }
        image
    }

    #[test]
    fn differences_are_counted_over_gaps_and_segment_edges() {
        let a = image(&[(0x100, &[1, 2, 3, 4]), (0x200, &[9; 8])]);
        let b = image(&[(0x100, &[1, 2, 0, 4, 5]), (0x204, &[9; 4])]);
        assert_eq!(count_differences(&a, &b, 0x100, 0x108), (Some(0x102), 2));
        assert_eq!(count_differences(&a, &b, 0x200, 0x208), (Some(0x200), 4));
        assert_eq!(count_differences(&a, &a, 0x0, 0x1000), (None, 0));
    }

    #[test]
    fn glue_of_the_same_kind_pairs_and_reports_its_first_difference() {
        let a = image(&[(0x2000_0000, &[0xAA; 16])]);
        let mut bytes = [0xAA; 16];
        bytes[5] = 0;
        let b = image(&[(0x2000_0000, &bytes)]);
        let (ra, rb) = (
            inspect_image(&a, crate::inspect::ImageFormat::Hex),
            inspect_image(&b, crate::inspect::ImageFormat::Hex),
        );
        let diff = diff_images(
            Inspected {
                image: &a,
                report: &ra,
            },
            Inspected {
                image: &b,
                report: &rb,
            },
        );
        assert!(!diff.identical);
        assert_eq!(diff.regions.len(), 1);
        let r = &diff.regions[0];
        assert_eq!(r.status, DiffStatus::GlueDiffers);
        assert_eq!(r.a.as_ref().unwrap().kind, "unknown");
        assert_eq!(r.first_difference, Some(0x2000_0005));
        assert_eq!(r.differing_bytes, Some(1));
    }
}
