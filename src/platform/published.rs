//! What Particle's published restore images say about releases and layouts, derived from
//! the table of their modules (`tests/data/published-restore-modules.tsv`, 2.0.1 to
//! 6.5.0) into `published.toml` by `scripts/derive-published`, so that 1,434 rows are
//! read by a program, never copied by hand. A unit test fails when the checked-in file
//! and a fresh derivation disagree.
//!
//! Slots are derived, not listed: a module's slot runs from its lowest published start to
//! the furthest point the next module (or a reserved range, or the end of flash) left it
//! in any published image. A user part's slot is anchored where its published images
//! anchor it (at the next module, at a fixed end, or at a fixed start) and reaches as far
//! as the platform's largest application.

use super::{Platform, SlotEntry, by_name, table};
use crate::module::ModuleFunction;
use semver::Version;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// One release of the published images: its module versions and its platforms. The
/// release table ([`crate::platform::releases`]) already merges these in; read them here
/// only to know what Particle's images themselves say.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PublishedRelease {
    /// The Device OS release, as a semantic version (`5.4.1`).
    pub release: String,
    /// The system module version its system parts carry.
    pub module: u16,
    /// The bootloader (index 0) module version its images carry; one per release, as
    /// derivation refuses a release whose images disagree.
    pub bootloader: u16,
    /// The RTL872x prebootloader part (bootloader index 2), where the release has one.
    #[serde(default)]
    pub prebootloader: Option<u16>,
    /// The nRF52840 radio stack (SoftDevice) module version.
    #[serde(default)]
    pub radio_stack: Option<u16>,
    /// The platforms an image of it was published for, by platform id; never empty.
    pub platforms: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct PublishedLayout {
    pub(super) slots: Vec<SlotEntry>,
}

/// A module of a published image that is not Device OS: its application (Tinker, Tracker
/// Edge) or the NCP firmware its manifest lists. What a restore image made from other
/// files is compared with ([`crate::compose::published_differences`]).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PublishedApp {
    /// The Device OS release of the image.
    pub release: String,
    /// The platform's name.
    pub platform: String,
    /// The manifest's name for it: `tinker`, `tracker-edge`, `ncp`, ...
    pub key: String,
    /// [`ModuleFunction::name`]: `user-part` or `ncp`.
    pub function: String,
    /// Its module index.
    pub index: u8,
    /// Its module version.
    pub version: u16,
    /// Its start address (0 for NCP firmware, which lives on another chip).
    pub start: u32,
    /// The SHA-256 its suffix carries, lower-case hex.
    pub sha256: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct PublishedTable {
    pub(super) release: Vec<PublishedRelease>,
    pub(super) application: Vec<PublishedApp>,
    pub(super) layout: BTreeMap<String, PublishedLayout>,
}

pub(super) fn load() -> PublishedTable {
    toml::from_str(include_str!("published.toml"))
        .unwrap_or_else(|e| panic!("built-in published.toml is invalid: {e}"))
}

/// One module row of the published table, the columns derivation needs.
struct Row {
    version: Version,
    platform: &'static Platform,
    function: ModuleFunction,
    index: u8,
    module_version: u16,
    start: u32,
    end: u32,
    key: String,
    sha256: String,
}

fn parse_rows(tsv: &str) -> Result<Vec<Row>, String> {
    let mut lines = tsv.lines().enumerate();
    let (_, header) = lines.next().ok_or("the table is empty")?;
    let columns: Vec<&str> = header.split('\t').collect();
    let column = |name: &str| {
        columns
            .iter()
            .position(|c| *c == name)
            .ok_or_else(|| format!("the header has no column {name}"))
    };
    let [
        release,
        platform,
        function,
        index,
        version,
        start,
        end,
        key,
        sha256,
    ] = [
        "release",
        "platform",
        "function",
        "index",
        "module_version",
        "start",
        "end",
        "key",
        "sha256",
    ]
    .map(column);
    let (release, platform, function, index, version, start, end, key, sha256) = (
        release?, platform?, function?, index?, version?, start?, end?, key?, sha256?,
    );
    let mut rows = Vec::new();
    for (n, line) in lines {
        let line_no = n + 1;
        let cells: Vec<&str> = line.split('\t').collect();
        let cell = |i: usize| {
            cells
                .get(i)
                .copied()
                .ok_or_else(|| format!("line {line_no}: too few columns"))
        };
        let number = |i: usize| -> Result<u64, String> {
            let text = cell(i)?;
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            parsed.map_err(|e| format!("line {line_no}: {}: {text:?}: {e}", columns[i]))
        };
        let small = |i: usize, max: u64| -> Result<u64, String> {
            let v = number(i)?;
            if v > max {
                return Err(format!("line {line_no}: {}: {v} is too large", columns[i]));
            }
            Ok(v)
        };
        let name = cell(release)?;
        let platform_name = cell(platform)?;
        rows.push(Row {
            version: Version::parse(name).map_err(|e| format!("line {line_no}: {name}: {e}"))?,
            platform: by_name(platform_name)
                .ok_or_else(|| format!("line {line_no}: unknown platform {platform_name}"))?,
            function: ModuleFunction::from_code(small(function, 255)? as u8)
                .ok_or_else(|| format!("line {line_no}: unknown module function"))?,
            index: small(index, 255)? as u8,
            module_version: small(version, 0xFFFF)? as u16,
            start: small(start, 0xFFFF_FFFF)? as u32,
            end: small(end, 0xFFFF_FFFF)? as u32,
            key: cell(key)?.to_string(),
            sha256: cell(sha256)?.to_string(),
        });
    }
    Ok(rows)
}

/// The one value all `values` share, or a message naming the disagreement.
fn only<T: Ord + Copy + std::fmt::Display>(
    values: impl Iterator<Item = T>,
    what: &str,
) -> Result<Option<T>, String> {
    let set: BTreeSet<T> = values.collect();
    match set.len() {
        0 => Ok(None),
        1 => Ok(set.first().copied()),
        _ => Err(format!(
            "{what}: several values ({})",
            set.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Where one kind of module was published in one layout.
#[derive(Default)]
struct Seen {
    /// Start address -> the releases that put it there.
    starts: BTreeMap<u32, BTreeSet<Version>>,
    /// How far the next module (or reserved range) left it, per image; None when nothing
    /// followed it.
    boundaries: Vec<Option<u32>>,
    /// First addresses past the CRC.
    file_ends: BTreeSet<u64>,
}

/// Derives `published.toml` from the text of `tests/data/published-restore-modules.tsv`
/// (tab-separated, with at least the columns `release`, `platform`, `function`, `index`,
/// `module_version`, `start` and `end`). It exists for `scripts/derive-published`
/// (through `examples/derive-published.rs`) and the test that keeps the checked-in file
/// current. Err names the line and cell of a bad row, an unknown platform, or a release
/// whose images disagree on (or lack) its system or bootloader version.
pub fn derive(tsv: &str) -> Result<String, String> {
    let rows = parse_rows(tsv)?;
    let mut out = String::new();
    out.push_str(
        "# Generated by scripts/derive-published from tests/data/published-restore-modules.tsv\n\
         # (Particle's published restore images, 2.0.1 to 6.5.0). Do not edit: rerun the script.\n\
         # src/platform/published.rs says how slots are derived.\n\n",
    );

    let mut by_release: BTreeMap<&Version, Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        by_release.entry(&r.version).or_default().push(r);
    }
    out.push_str(
        "# Releases: the system module version, the bootloader (and RTL872x prebootloader)\n\
         # version, the radio stack version, and the platforms an image was published for.\n\
         release = [\n",
    );
    for (version, rows) in &by_release {
        let what = |f: &str| format!("{version}: {f}");
        let module = only(
            rows.iter()
                .filter(|r| r.function == ModuleFunction::SystemPart)
                .map(|r| r.module_version),
            &what("system module version"),
        )?
        .ok_or_else(|| what("no system part"))?;
        let bootloader_of = |index: u8| {
            only(
                rows.iter()
                    .filter(|r| r.function == ModuleFunction::Bootloader && r.index == index)
                    .map(|r| r.module_version),
                &what("bootloader version"),
            )
        };
        let bootloader = bootloader_of(0)?.ok_or_else(|| what("no bootloader"))?;
        let prebootloader = bootloader_of(2)?;
        let radio_stack = only(
            rows.iter()
                .filter(|r| r.function == ModuleFunction::RadioStack)
                .map(|r| r.module_version),
            &what("radio stack version"),
        )?;
        let platforms: BTreeSet<(u16, &str)> = rows
            .iter()
            .map(|r| (r.platform.id, r.platform.name.as_str()))
            .collect();
        let names: Vec<String> = platforms.iter().map(|(_, n)| format!("{n:?}")).collect();
        let _ = write!(
            out,
            "  {{ release = \"{version}\", module = {module}, bootloader = {bootloader}, "
        );
        if let Some(p) = prebootloader {
            let _ = write!(out, "prebootloader = {p}, ");
        }
        if let Some(r) = radio_stack {
            let _ = write!(out, "radio_stack = {r}, ");
        }
        let _ = writeln!(out, "platforms = [{}] }},", names.join(", "));
    }
    out.push_str("]\n");

    out.push_str(
        "\n# What each image carries besides Device OS: its application and the NCP firmware\n\
         # its manifest lists, by release and platform.\n\
         application = [\n",
    );
    for (version, rows) in &by_release {
        for r in rows
            .iter()
            .filter(|r| matches!(r.function, ModuleFunction::UserPart | ModuleFunction::Ncp))
        {
            let _ = writeln!(
                out,
                "  {{ release = \"{version}\", platform = \"{}\", key = \"{}\", function = \"{}\", index = {}, version = {}, start = {:#010x}, sha256 = \"{}\" }},",
                r.platform.name, r.key, r.function, r.index, r.module_version, r.start, r.sha256
            );
        }
    }
    out.push_str("]\n");

    // Per layout, per (function, index; all user parts together): where modules were seen.
    let mut layouts: BTreeMap<&str, BTreeMap<(ModuleFunction, Option<u8>), Seen>> = BTreeMap::new();
    let mut images: BTreeMap<(&Version, &str), Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        images
            .entry((&r.version, r.platform.name.as_str()))
            .or_default()
            .push(r);
    }
    for ((version, _), rows) in &images {
        let platform = rows[0].platform;
        let [flash_start, flash_end] = platform.mcu().flash;
        let reserved = &platform.layout().reserved;
        // NCP firmware (start 0 on another chip) is not in this flash.
        let mut placed: Vec<&Row> = rows
            .iter()
            .copied()
            .filter(|r| r.function != ModuleFunction::Ncp)
            .filter(|r| r.start >= flash_start && r.end <= flash_end)
            .collect();
        placed.sort_by_key(|r| r.start);
        let layout = layouts.entry(platform.layout.as_str()).or_default();
        for r in &placed {
            let next_module = placed.iter().map(|o| o.start).filter(|s| *s > r.start);
            let next_reserved = reserved.iter().map(|x| x.start).filter(|s| *s > r.start);
            let boundary = next_module.chain(next_reserved).min();
            let key = match r.function {
                ModuleFunction::UserPart => (r.function, None),
                f => (f, Some(r.index)),
            };
            let seen = layout.entry(key).or_default();
            seen.starts
                .entry(r.start)
                .or_default()
                .insert((*version).clone());
            seen.boundaries.push(boundary);
            seen.file_ends.insert(u64::from(r.end) + 4);
        }
    }

    out.push_str(
        "\n# Slots by layout (platforms.toml names each platform's layout). Each slot's comment\n\
         # says where its modules were published, release by release. A user part's slot with\n\
         # only `end` reaches back the platform's largest application; with only `start`, it\n\
         # reaches forward as far.\n",
    );
    for (name, seen_by_kind) in &layouts {
        let flash_end = table().layout_mcu_flash_end(name);
        let _ = writeln!(out, "\n[layout.{name}]\nslots = [");
        let mut slots: Vec<(u32, String, String)> = Vec::new();
        for ((function, index), seen) in seen_by_kind {
            let min_start = *seen.starts.keys().next().expect("seen at least once");
            let furthest = seen.boundaries.iter().flatten().max().copied();
            let history = seen
                .starts
                .iter()
                .map(|(start, releases)| {
                    let first = releases.first().expect("non-empty");
                    let last = releases.last().expect("non-empty");
                    let span = if first == last {
                        format!("{first}")
                    } else {
                        format!("{first} to {last}")
                    };
                    format!("{start:#010x} ({span})")
                })
                .collect::<Vec<_>>()
                .join(", ");
            let entry = match (function, index) {
                (ModuleFunction::UserPart, _) => {
                    let fixed_end = (seen.file_ends.len() == 1)
                        .then(|| *seen.file_ends.first().expect("one"))
                        .filter(|_| seen.starts.len() > 1);
                    match (furthest, fixed_end) {
                        (Some(end), _) => {
                            format!("{{ function = \"user-part\", end = {end:#010x} }}")
                        }
                        (None, Some(end)) => {
                            format!("{{ function = \"user-part\", end = {end:#010x} }}")
                        }
                        (None, None) => {
                            format!("{{ function = \"user-part\", start = {min_start:#010x} }}")
                        }
                    }
                }
                (f, Some(i)) => {
                    let end = furthest.unwrap_or(flash_end);
                    format!(
                        "{{ function = \"{f}\", index = {i}, start = {min_start:#010x}, end = {end:#010x} }}"
                    )
                }
                (f, None) => unreachable!("only user parts are keyed without index: {f}"),
            };
            let label = match index {
                Some(i) => format!("{function} {i}"),
                None => format!("{function}"),
            };
            slots.push((min_start, entry, format!("{label}: {history}")));
        }
        slots.sort_by_key(|(start, _, _)| *start);
        for (_, entry, comment) in slots {
            let _ = writeln!(out, "  # {comment}\n  {entry},");
        }
        out.push_str("]\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSV: &str = include_str!("../../tests/data/published-restore-modules.tsv");

    #[test]
    fn checked_in_file_is_what_the_table_derives() {
        let derived = derive(TSV).unwrap();
        assert!(
            derived == include_str!("published.toml"),
            "src/platform/published.toml is stale: run scripts/derive-published"
        );
    }

    #[test]
    fn every_published_release_is_loaded() {
        let t = load();
        assert_eq!(t.release.len(), 43);
        let p2: Vec<&str> = t
            .release
            .iter()
            .filter(|r| r.platforms.iter().any(|p| p == "p2"))
            .map(|r| r.release.as_str())
            .collect();
        assert_eq!(p2.first(), Some(&"5.0.0"));
        assert_eq!(p2.last(), Some(&"6.5.0"));
    }

    #[test]
    fn a_table_that_disagrees_with_itself_is_refused() {
        let mut lines: Vec<String> = TSV.lines().take(3).map(str::to_string).collect();
        // Two system module versions for one release.
        let cells: Vec<&str> = lines[1].split('\t').collect();
        let mut other: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
        other[3] = "4".into();
        other[6] = "1".into();
        lines.push(other.join("\t"));
        let mut twice = other.clone();
        twice[6] = "2".into();
        lines.push(twice.join("\t"));
        let err = derive(&lines.join("\n")).unwrap_err();
        assert!(
            err.contains("system module version: several values"),
            "{err}"
        );
        assert!(derive("release\tplatform\n6.3.4\tboron").is_err());
    }
}
