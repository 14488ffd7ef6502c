//! Checking modules and images the way a device checks itself at boot, and the way
//! `particle serial inspect` reports it: integrity, address range, platform, dependencies.

pub mod diff;
mod report;
pub mod softdevice;
mod warning;

pub use report::{
    CheckStatus, DependencyReport, ExtensionReport, ImageChecks, ImageFormat, ImageReport,
    ModuleChecks, ModuleReport, RegionReport, SegmentReport, known_as,
};
pub use warning::ImageWarning;

use crate::memory::MemoryImage;
use crate::module::{
    DependencyStatus, Module, ModuleFlags, ModuleFunction, ModuleInfo, PREFIX_LEN, PREFIX_OFFSETS,
    PREFIX_SEARCH_LIMIT, Present, suffix_size,
};
use crate::platform::{self, Platform, RegionName, releases};
use sha2::{Digest, Sha256};
use softdevice::{SOFTDEVICE_START, SoftDeviceInfo};

/// A module found in an image, with where it sits.
#[derive(Debug, Clone)]
pub struct PlacedModule {
    /// The module as parsed from the image at its start address; it may fail its CRC or
    /// SHA-256, which the report then says.
    pub module: Module,
    /// First address past the module's CRC.
    pub end: u64,
}

/// A radio stack found in an image by its SoftDevice info structure.
#[derive(Debug, Clone)]
pub struct PlacedRadioStack {
    /// Nordic's info structure, as read from the image.
    pub info: SoftDeviceInfo,
    /// Where the payload begins: always [`SOFTDEVICE_START`] (0x1000).
    pub start: u32,
    /// End of the payload: from the known radio stack table, or the end of contiguous data.
    pub end: u64,
    /// `Some(ok)` when the payload could be compared with a known radio stack's SHA-256.
    pub sha256_ok: Option<bool>,
}

/// Finds every module in an image by its prefix, wherever it is, in address order.
///
/// A candidate prefix must be consistent with the bytes around it: its module's whole
/// range (start to CRC) present in one segment, the prefix at a plausible offset from
/// the start, and a plausible suffix size. Integrity is judged afterwards, so a corrupt
/// module is still found and reported as such.
pub fn find_modules(image: &MemoryImage) -> Vec<PlacedModule> {
    search_modules(image).modules
}

/// What [`search_modules`] found, and whether it stopped early.
#[derive(Debug, Clone)]
pub struct ModuleSearch {
    /// The modules found, by start address, corrupt ones included.
    pub modules: Vec<PlacedModule>,
    /// The address where the search stopped because checksumming candidates would have
    /// cost more than twice the image's size: only a crafted image gets here.
    pub stopped_at: Option<u64>,
}

/// [`find_modules`] in time linear in the image's size, whatever its content: a prefix
/// inside a module that passes its CRC is that module's data, not searched; and the
/// bytes checksummed for candidates never exceed twice the image's size (plus 1 MiB).
pub fn search_modules(image: &MemoryImage) -> ModuleSearch {
    let budget = 2 * image.len() + (1 << 20);
    let mut spent = 0u64;
    let mut found = Vec::new();
    for seg in image.segments() {
        let base = u64::from(seg.start);
        let first = (4 - base % 4) % 4;
        let mut off = first as usize;
        let mut sound_end = 0u64;
        while off + PREFIX_LEN <= seg.data.len() {
            let address = base + off as u64;
            if address < sound_end {
                off = (sound_end - base).next_multiple_of(4) as usize;
                continue;
            }
            match candidate_at(&seg.data, base, off, &mut spent, budget) {
                Candidate::Found(placed) => {
                    if placed.module.crc_ok() {
                        sound_end = placed.end;
                    }
                    found.push(placed);
                }
                Candidate::None => {}
                Candidate::OverBudget => {
                    found.sort_by_key(|p: &PlacedModule| p.module.info.start);
                    return ModuleSearch {
                        modules: found,
                        stopped_at: Some(address),
                    };
                }
            }
            off += 4;
        }
    }
    found.sort_by_key(|p| p.module.info.start);
    ModuleSearch {
        modules: found,
        stopped_at: None,
    }
}

enum Candidate {
    Found(PlacedModule),
    None,
    OverBudget,
}

fn candidate_at(data: &[u8], base: u64, off: usize, spent: &mut u64, budget: u64) -> Candidate {
    match plausible_candidate(data, base, off) {
        Some((bytes, prefix_offset, start)) => {
            *spent += bytes.len() as u64;
            if *spent > budget {
                return Candidate::OverBudget;
            }
            match Module::parse_at(bytes, prefix_offset) {
                Ok(module) => Candidate::Found(PlacedModule {
                    end: start + module.info.file_len(),
                    module,
                }),
                Err(_) => Candidate::None,
            }
        }
        None => Candidate::None,
    }
}

/// The bytes of the module a prefix at `off` describes, its prefix offset and start
/// address, if they are consistent enough to be worth parsing.
fn plausible_candidate(data: &[u8], base: u64, off: usize) -> Option<(&[u8], usize, u64)> {
    let info = ModuleInfo::read(data, off)?;
    let address = base + off as u64;
    let start = u64::from(info.start);
    let prefix_offset = address.checked_sub(start)? as usize;
    let plausible_offset = PREFIX_OFFSETS.contains(&prefix_offset)
        || (prefix_offset < PREFIX_SEARCH_LIMIT && prefix_offset.is_multiple_of(4));
    if !plausible_offset || start < base {
        return None;
    }
    let from = (start - base) as usize;
    let to = from.checked_add(usize::try_from(info.file_len()).ok()?)?;
    let bytes = data.get(from..to)?;
    suffix_size(bytes, prefix_offset).ok()?;
    Some((bytes, prefix_offset, start))
}

/// What an image holds, as far as dependencies are concerned: its modules, and a radio
/// stack placed without its prefix, counted by its SoftDevice firmware id.
pub fn present_in_image<'a>(
    placed: impl IntoIterator<Item = &'a PlacedModule>,
    radio: Option<&PlacedRadioStack>,
) -> Vec<Present> {
    let mut present: Vec<Present> = placed
        .into_iter()
        .map(|p| Present {
            function: p.module.info.function,
            index: p.module.info.index,
            version: p.module.info.version,
        })
        .collect();
    if let Some(r) = radio {
        present.push(Present {
            function: ModuleFunction::RadioStack,
            index: 0,
            version: r.info.firmware_id,
        });
    }
    present
}

/// Finds a radio stack placed without its prefix (as it must be) at 0x1000, by Nordic's
/// info structure 0x2000 into it. When the release table knows its firmware id, its end
/// and SHA-256 come from there; otherwise it ends where the contiguous data (within the
/// SoftDevice's own region) does, and its integrity is not judged. None when no info
/// structure is there, as on every platform but the nRF52840 ones.
pub fn find_radio_stack(image: &MemoryImage) -> Option<PlacedRadioStack> {
    let info = SoftDeviceInfo::read(image)?;
    let start = SOFTDEVICE_START;
    let known = releases().radio_stack(info.firmware_id);
    let seg = image.segment_at(u64::from(start))?;
    let contiguous_end = seg
        .end()
        .min(u64::from(info.region_end).max(u64::from(start)));
    let (end, sha256_ok) = match known {
        Some(k) => {
            let end = u64::from(start) + u64::from(k.payload_size);
            let ok = image
                .read(u64::from(start), k.payload_size as usize)
                .map(|payload| hex::encode(Sha256::digest(payload)) == k.sha256);
            (end, Some(ok.unwrap_or(false)))
        }
        None => (contiguous_end, None),
    };
    Some(PlacedRadioStack {
        info,
        start,
        end,
        sha256_ok,
    })
}

/// Reports on a single module file: what its prefix and suffix say and whether its CRC
/// and SHA-256 verify. Slot, platform and dependency checks need an image
/// ([`inspect_image`]).
pub fn inspect_module(module: &Module) -> ModuleReport {
    ModuleReport::from_module(module)
}

/// Particle's release file names can disagree with the headers they hold: the Electron's
/// `system-part1` file holds index 3 (at 0x08060000), its `system-part2` index 1. The
/// header is what counts; say so when a name says otherwise.
pub fn file_name_note(file_name: &str, info: &ModuleInfo) -> Option<String> {
    let at = file_name.find("system-part")? + "system-part".len();
    let named: u8 = file_name[at..]
        .chars()
        .next()
        .and_then(|c| c.to_digit(10))
        .and_then(|d| u8::try_from(d).ok())?;
    (info.function == ModuleFunction::SystemPart && named != info.index).then(|| {
        format!(
            "the file name says system part {named}, the header says index {}: the header is what a device goes by",
            info.index
        )
    })
}

/// Inspects a whole memory image: its modules, the checks a device would make at boot,
/// and what the bytes outside any module are. `format` is only recorded in the report
/// ([`ImageReport::format`]). Never fails: what is wrong is in the report's checks,
/// notes and warnings. Linear in the image's size (see [`search_modules`]).
pub fn inspect_image(image: &MemoryImage, format: ImageFormat) -> ImageReport {
    let search = search_modules(image);
    let placed = search.modules;
    let radio = find_radio_stack(image);
    let platform_id = image_platform(&placed);
    let platform = platform_id.and_then(platform::by_id);
    let present = present_in_image(&placed, radio.as_ref());

    // Ranges every module occupies, for the overlap check: (start, end, label).
    let mut occupied: Vec<(u64, u64, String)> = placed
        .iter()
        .map(|p| {
            (
                u64::from(p.module.info.start),
                p.end,
                describe(&p.module.info),
            )
        })
        .collect();
    if let Some(r) = &radio {
        occupied.push((u64::from(r.start), r.end, "radio-stack 0".to_string()));
    }

    let mut modules = Vec::new();
    if let Some(r) = &radio {
        modules.push(radio_stack_report(r, platform, &occupied));
    }
    for p in &placed {
        modules.push(placed_module_report(p, platform, &occupied, &present));
    }
    modules.sort_by_key(|m| m.start_address);

    let regions = classify_other_bytes(image, &occupied, platform, radio.as_ref());
    let mut warnings = Vec::new();
    if platform.is_some_and(Platform::is_nrf52840)
        && !regions
            .iter()
            .any(|r| r.kind == RegionName::NordicMbr.as_str())
    {
        warnings.push(ImageWarning::NoNordicMbr);
    }
    if let Some(at) = search.stopped_at {
        warnings.push(ImageWarning::SearchStopped { at });
    }
    if placed.is_empty() && radio.is_none() {
        warnings.push(ImageWarning::NoModule);
    }
    if let (Some(id), None) = (platform_id, platform) {
        warnings.push(ImageWarning::UnknownPlatform { id });
    }
    let checks = ImageChecks::combine(modules.iter().filter_map(|m| m.checks.as_ref()));
    ImageReport {
        format,
        platform_id,
        platform: platform.map(|p| p.name.clone()),
        segments: image
            .segments()
            .iter()
            .map(|s| SegmentReport {
                start: s.start,
                end: s.end(),
                size: s.data.len() as u64,
            })
            .collect(),
        modules,
        regions,
        checks,
        warnings,
    }
}

/// The platform id most modules name (radio stacks aside: theirs may name another platform
/// of the same MCU); a disagreement shows up in the platform check.
fn image_platform(placed: &[PlacedModule]) -> Option<u16> {
    let mut counts: Vec<(u16, usize)> = Vec::new();
    let others: Vec<&PlacedModule> = placed
        .iter()
        .filter(|p| p.module.info.function != ModuleFunction::RadioStack)
        .collect();
    let voters = if others.is_empty() {
        placed.iter().collect()
    } else {
        others
    };
    for p in voters {
        let id = p.module.info.platform_id;
        match counts.iter_mut().find(|(i, _)| *i == id) {
            Some((_, n)) => *n += 1,
            None => counts.push((id, 1)),
        }
    }
    let best = counts.iter().map(|(_, n)| *n).max()?;
    Some(counts.iter().find(|(_, n)| *n == best)?.0)
}

fn describe(info: &ModuleInfo) -> String {
    format!("{} {}", info.function, info.index)
}

/// The range check: inside its slot (or the MCU's flash), and overlapping no other module.
fn range_problems(
    start: u64,
    end: u64,
    function: ModuleFunction,
    index: u8,
    platform: Option<&Platform>,
    occupied: &[(u64, u64, String)],
) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(p) = platform
        && let Err(outside) = p.check_placement(function, index, start, end)
    {
        problems.push(outside.to_string());
    }
    for (s, e, label) in occupied {
        let same = *s == start && *e == end;
        if !same && *s < end && start < *e {
            problems.push(format!("overlaps {label} at {s:#010x}-{e:#010x}"));
        }
    }
    problems
}

fn placed_module_report(
    p: &PlacedModule,
    platform: Option<&Platform>,
    occupied: &[(u64, u64, String)],
    present: &[Present],
) -> ModuleReport {
    let info = &p.module.info;
    let mut report = ModuleReport::from_module(&p.module);
    let mut notes = Vec::new();
    let mut range = range_problems(
        u64::from(info.start),
        p.end,
        info.function,
        info.index,
        platform,
        occupied,
    );
    if info.flags.contains(ModuleFlags::DROP_MODULE_INFO) {
        range.push(
            "placed with its module prefix, which must be dropped in flash: the payload sits 24 bytes late"
                .to_string(),
        );
    }
    let platform_ok = platform.is_some_and(|pl| pl.accepts(info.function, info.platform_id));
    if !platform_ok {
        notes.push(match platform {
            Some(pl) => format!(
                "platform {} differs from the image's {}",
                info.platform_id, pl.id
            ),
            None if platform::by_id(info.platform_id).is_none() => format!(
                "platform {} is not one hexsmith knows (src/platform/platforms.toml)",
                info.platform_id
            ),
            None => format!(
                "platform {} differs from the image's (unknown)",
                info.platform_id
            ),
        });
    }
    let mut deps_ok = true;
    for (dep, report) in info.active_dependencies().zip(&mut report.dependencies) {
        let status = dep.status(present);
        if status == DependencyStatus::Unmet {
            deps_ok = false;
        }
        report.status = Some(status.name());
    }
    notes.extend(range.iter().cloned());
    report.checks = Some(ModuleChecks {
        integrity: CheckStatus::from(p.module.crc_ok() && p.module.sha256_ok()),
        range: CheckStatus::from(range.is_empty()),
        platform: CheckStatus::from(platform_ok),
        dependencies: CheckStatus::from(deps_ok),
    });
    report.notes.extend(notes);
    report
}

fn radio_stack_report(
    r: &PlacedRadioStack,
    platform: Option<&Platform>,
    occupied: &[(u64, u64, String)],
) -> ModuleReport {
    let known = releases().radio_stack(r.info.firmware_id);
    let mut notes = vec![format!(
        "found by its SoftDevice info structure ({}); the Particle prefix is dropped in flash",
        r.info.version_text()
    )];
    match r.sha256_ok {
        Some(true) => notes.push("payload matches the known radio stack's SHA-256".to_string()),
        Some(false) => {
            notes.push("payload differs from the known radio stack's SHA-256".to_string())
        }
        None => notes.push("unknown radio stack: integrity not checkable".to_string()),
    }
    let range = range_problems(
        u64::from(r.start),
        r.end,
        ModuleFunction::RadioStack,
        0,
        platform,
        occupied,
    );
    notes.extend(range.iter().cloned());
    ModuleReport {
        function: ModuleFunction::RadioStack.name(),
        index: 0,
        platform_id: None,
        platform: None,
        module_version: r.info.firmware_id,
        release: None,
        known_as: Some(known.map_or_else(|| r.info.version_text(), |k| k.name.clone())),
        start_address: r.start,
        end_address: r.end,
        flags: 0,
        flag_names: Vec::new(),
        prefix_offset: None,
        dependencies: Vec::new(),
        product_id: None,
        product_version: None,
        suffix_size: None,
        extensions: Vec::new(),
        crc: None,
        crc_ok: None,
        sha256: None,
        sha256_ok: r.sha256_ok,
        checks: Some(ModuleChecks {
            integrity: CheckStatus::from(r.sha256_ok != Some(false)),
            range: CheckStatus::from(range.is_empty()),
            platform: CheckStatus::Pass,
            dependencies: CheckStatus::Pass,
        }),
        notes,
    }
}

/// Names every byte that belongs to no module: a region the platform's layout knows,
/// the stray start of a radio stack's suffix, or unknown.
fn classify_other_bytes(
    image: &MemoryImage,
    occupied: &[(u64, u64, String)],
    platform: Option<&Platform>,
    radio: Option<&PlacedRadioStack>,
) -> Vec<RegionReport> {
    let mut covered: Vec<(u64, u64)> = occupied.iter().map(|(s, e, _)| (*s, *e)).collect();
    covered.sort();
    let mut leftovers = Vec::new();
    for seg in image.segments() {
        let mut at = u64::from(seg.start);
        let end = seg.end();
        for (s, e) in &covered {
            if *e <= at || *s >= end {
                continue;
            }
            if *s > at {
                leftovers.push((at, *s));
            }
            at = at.max(*e);
        }
        if at < end {
            leftovers.push((at, end));
        }
    }

    let mut reports = Vec::new();
    let regions = platform.map_or(&[][..], Platform::regions);
    for (start, end) in leftovers {
        let mut at = start;
        while at < end {
            // The next named boundary inside [at, end).
            let named = regions
                .iter()
                .find(|r| u64::from(r.start) <= at && at < u64::from(r.end));
            let (piece_end, kind, what, ok) = if let Some(r) = named {
                let piece_end = end.min(u64::from(r.end));
                let bytes = image.read(at, (piece_end - at) as usize).unwrap_or(&[]);
                let (what, ok) = describe_region(r, at, piece_end, bytes, image, platform);
                (piece_end, r.name.as_str().to_string(), what, ok)
            } else if let Some(area) = DEVICE_AREAS.iter().find(|a| a.start <= at && at < a.end) {
                (
                    end.min(area.end),
                    area.kind.to_string(),
                    area.what.to_string(),
                    true,
                )
            } else {
                let next_region = regions
                    .iter()
                    .map(|r| u64::from(r.start))
                    .chain(DEVICE_AREAS.iter().map(|a| a.start))
                    .filter(|s| *s > at)
                    .min()
                    .unwrap_or(u64::MAX);
                let piece_end = end.min(next_region);
                match suffix_remnant(at, piece_end, image, radio) {
                    Some(remnant_end) => (
                        remnant_end,
                        "radio-stack-suffix-remnant".to_string(),
                        "first 4 bytes of the radio stack's suffix, as Particle's published images carry".to_string(),
                        true,
                    ),
                    // A device's dump or a page-granular image holds erased flash
                    // around its modules: nothing to warn of.
                    None if image
                        .read(at, (piece_end - at) as usize)
                        .is_some_and(|b| b.iter().all(|x| *x == 0xFF)) =>
                    {
                        (piece_end, "erased".to_string(), "erased flash (0xFF)".to_string(), true)
                    }
                    None => (piece_end, "unknown".to_string(), "unknown bytes".to_string(), false),
                }
            };
            reports.push(RegionReport {
                start: at,
                end: piece_end,
                size: piece_end - at,
                kind,
                what,
                recognized: ok,
            });
            at = piece_end;
        }
    }
    reports
}

/// A chip's memory outside its flash that a device dump or an emulated device's state
/// file holds: what makes the Particle device ID, and the STM32F2's option bytes.
struct DeviceArea {
    start: u64,
    end: u64,
    kind: &'static str,
    what: &'static str,
}

/// Their addresses are the chips' own (nRF52840 product specification, STM32F2 RM0033) and
/// lie where no Particle module goes, so they are named whatever the image's platform.
const DEVICE_AREAS: &[DeviceArea] = &[
    DeviceArea {
        start: 0x1000_0060,
        end: 0x1000_0068,
        kind: "device-id",
        what: "nRF52840 FICR DEVICEID, the chip's unique ID (the Particle device ID is e00fce68 and these 8 bytes)",
    },
    DeviceArea {
        start: 0x1FFF_7A10,
        end: 0x1FFF_7A1C,
        kind: "device-id",
        what: "STM32F2 unique device ID (UID), the 12 bytes of the Particle device ID",
    },
    DeviceArea {
        start: 0x1FFF_C000,
        end: 0x1FFF_C010,
        kind: "option-bytes",
        what: "STM32F2 option bytes: read protection (RDP), user options and sector write protection (nWRP)",
    },
];

fn describe_region(
    region: &platform::Region,
    start: u64,
    end: u64,
    bytes: &[u8],
    image: &MemoryImage,
    platform: Option<&Platform>,
) -> (String, bool) {
    let whole = start == u64::from(region.start) && end == u64::from(region.end);
    if let Some(fill) = region.fill {
        let ok = bytes.iter().all(|b| *b == fill);
        let what = if ok {
            region.what.clone()
        } else {
            format!(
                "{} expected, but not all bytes are {fill:#04x}",
                region.what
            )
        };
        return (what, ok);
    }
    match region.name {
        RegionName::NordicMbr if whole => {
            let sha = hex::encode(Sha256::digest(bytes));
            match releases().known_mbr(&sha) {
                Some(name) => (format!("Nordic MBR: {name}"), true),
                None => (
                    "Nordic MBR region (contents not recognised)".to_string(),
                    false,
                ),
            }
        }
        RegionName::Uicr => {
            let expected = platform.and_then(Platform::uicr);
            match expected {
                Some(u) if whole => {
                    let mismatch = u.words.iter().find(|[addr, value]| {
                        image.read(u64::from(*addr), 4) != Some(&value.to_le_bytes()[..])
                    });
                    let others_ff = (0..bytes.len()).step_by(4).all(|i| {
                        let addr = start + i as u64;
                        u.words.iter().any(|[a, _]| u64::from(*a) == addr)
                            || bytes[i..(i + 4).min(bytes.len())]
                                .iter()
                                .all(|b| *b == 0xFF)
                    });
                    match mismatch {
                        None if others_ff => (
                            "UICR, as Particle's restore images set it".to_string(),
                            true,
                        ),
                        Some([addr, value]) => (
                            format!(
                                "UICR, but word {addr:#010x} is not {value:#010x} as in Particle's restore images"
                            ),
                            false,
                        ),
                        None => (
                            "UICR, with words Particle's restore images leave erased".to_string(),
                            false,
                        ),
                    }
                }
                _ => ("UICR".to_string(), true),
            }
        }
        _ => (format!("{} (partial)", region.what), whole),
    }
}

/// Particle's published images keep the first 4 bytes of the radio stack's suffix:
/// reserved (0x0000) and the first two bytes of its SHA-256.
fn suffix_remnant(
    start: u64,
    end: u64,
    image: &MemoryImage,
    radio: Option<&PlacedRadioStack>,
) -> Option<u64> {
    let r = radio?;
    if start != r.end || end < start + 4 {
        return None;
    }
    let known = releases().radio_stack(r.info.firmware_id)?;
    let sha_prefix = known.sha256.get(0..4)?;
    let expected = format!("0000{sha_prefix}");
    let bytes = image.read(start, 4)?;
    (hex::encode(bytes) == expected).then_some(start + 4)
}
