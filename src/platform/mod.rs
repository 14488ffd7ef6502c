//! Platform and Device OS release knowledge, kept as data (`platforms.toml`,
//! `releases.toml`) so that a new platform or release is an edit to a table, not code.

mod published;
mod releases;

pub use published::{PublishedRelease, derive as derive_published};
pub use releases::{
    BootloaderRelease, FewerParts, KnownMbr, LineBound, Model, NcpFirmware, PlatformReleases,
    Published, RadioStackInfo, ReleaseBound, Releases, StopRule, SystemRelease, releases,
};

use crate::module::ModuleFunction;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::OnceLock;

/// A module reaching outside the range its slot (or the MCU's flash) allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideSlot {
    pub function: ModuleFunction,
    pub start: u64,
    pub end: u64,
    pub allowed: Range<u32>,
    /// True when `allowed` is the module's slot, false when it is the whole flash.
    pub slot: bool,
}

impl std::fmt::Display for OutsideSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.slot {
            format!("the {} slot", self.function)
        } else {
            "flash".to_string()
        };
        write!(
            f,
            "{:#010x}-{:#010x} is outside {what} {:#010x}-{:#010x}",
            self.start, self.end, self.allowed.start, self.allowed.end
        )
    }
}

#[derive(Debug, Deserialize)]
pub struct Platform {
    pub id: u16,
    pub name: String,
    pub display: String,
    pub generation: u8,
    pub mcu: String,
    pub system_parts: u8,
    layout: String,
    pub user_part_max: u32,
    #[serde(default)]
    uicr: Option<String>,
    /// Has a network co-processor whose firmware no hex image can hold.
    #[serde(default)]
    pub ncp: bool,
    /// Whether its images carry the layout's compatibility fill (from 3.1.0 on).
    #[serde(default = "carries_fill")]
    pub compatibility_fill: bool,
}

fn carries_fill() -> bool {
    true
}

#[derive(Debug, Deserialize)]
pub struct Mcu {
    /// The probe-rs target name; none where probe-rs has no built-in target.
    pub chip: Option<String>,
    pub flash: [u32; 2],
    #[serde(default)]
    pub erase_units: Vec<EraseUnitRun>,
    #[serde(default)]
    pub program_us_per_word: u32,
    #[serde(default)]
    pub chip_erase_ms: u32,
    #[serde(default)]
    pub attach_under_reset: bool,
    /// An erase unit that may be write-protected (Gen 2's bootloader sector).
    pub protected_unit: Option<u32>,
    /// Regions a full chip erase destroys beyond main flash, by layout region name.
    #[serde(default)]
    pub chip_erase_clears: Vec<String>,
    pub device_id: Option<DeviceIdSource>,
}

/// `count` erase units of `size` bytes from `start` on.
#[derive(Debug, Deserialize)]
pub struct EraseUnitRun {
    pub start: u32,
    pub size: u32,
    pub count: u32,
    pub erase_ms: u32,
}

/// Where the Particle device ID is read: `prefix` followed by these bytes as lower-case hex.
#[derive(Debug, Deserialize)]
pub struct DeviceIdSource {
    pub address: u32,
    pub length: u32,
    #[serde(default)]
    pub prefix: String,
}

/// Where modules of a function (and index, where given) may live. A user part's slot may
/// give only one end: it then reaches the platform's largest application from there.
#[derive(Debug, Deserialize)]
struct SlotEntry {
    function: String,
    index: Option<u8>,
    start: Option<u32>,
    end: Option<u32>,
}

/// Flash no module may reach into (Gen 2's device configuration sectors); slots derived
/// from the published images stop before it.
#[derive(Debug, Deserialize)]
struct Reserved {
    start: u32,
    #[allow(dead_code)]
    end: u32,
    #[allow(dead_code)]
    what: String,
}

/// A named range that is not a module but belongs in an image.
#[derive(Debug, Deserialize)]
pub struct Region {
    pub name: String,
    pub start: u32,
    pub end: u32,
    pub what: String,
    /// Set when the region is only this byte repeated.
    pub fill: Option<u8>,
}

#[derive(Debug, Deserialize)]
struct Layout {
    /// Hand-kept slots, for layouts the published images do not cover.
    #[serde(default)]
    slots: Vec<SlotEntry>,
    #[serde(default)]
    regions: Vec<Region>,
    #[serde(default)]
    reserved: Vec<Reserved>,
}

#[derive(Debug, Deserialize)]
pub struct Uicr {
    pub address: u32,
    /// (address, value) pairs; every other byte of the page is 0xFF.
    pub words: Vec<[u32; 2]>,
}

#[derive(Debug, Deserialize)]
struct Table {
    platform: Vec<Platform>,
    mcu: BTreeMap<String, Mcu>,
    layout: BTreeMap<String, Layout>,
    uicr: BTreeMap<String, Uicr>,
}

impl Table {
    /// The end of flash of the MCU whose platforms use layout `name`.
    fn layout_mcu_flash_end(&self, name: &str) -> u32 {
        self.platform
            .iter()
            .find(|p| p.layout == name)
            .map_or(u32::MAX, |p| p.mcu().flash[1])
    }
}

fn published_table() -> &'static published::PublishedTable {
    static PUBLISHED: OnceLock<published::PublishedTable> = OnceLock::new();
    PUBLISHED.get_or_init(published::load)
}

/// Releases of Particle's published restore images (2.0.1 to 6.5.0), oldest first.
pub fn published_releases() -> &'static [PublishedRelease] {
    &published_table().release
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let table: Table = toml::from_str(include_str!("platforms.toml"))
            .unwrap_or_else(|e| panic!("built-in platforms.toml is invalid: {e}"));
        table
    })
}

pub fn all() -> &'static [Platform] {
    &table().platform
}

pub fn mcu(name: &str) -> Option<&'static Mcu> {
    table().mcu.get(name)
}

pub fn by_id(id: u16) -> Option<&'static Platform> {
    all().iter().find(|p| p.id == id)
}

/// Looks a platform up by name or by id written as a number.
pub fn by_name(name: &str) -> Option<&'static Platform> {
    let lower = name.to_ascii_lowercase();
    all()
        .iter()
        .find(|p| p.name == lower)
        .or_else(|| lower.parse().ok().and_then(by_id))
}

impl Platform {
    pub fn mcu(&self) -> &'static Mcu {
        &table().mcu[&self.mcu]
    }

    fn layout(&self) -> &'static Layout {
        &table().layout[&self.layout]
    }

    pub fn is_nrf52840(&self) -> bool {
        self.mcu == "nrf52840"
    }

    /// The slots of this platform's layout: derived from the published images where they
    /// cover it, else kept by hand in platforms.toml.
    fn slots(&self) -> &'static [SlotEntry] {
        published_table()
            .layout
            .get(&self.layout)
            .map_or(&self.layout().slots, |l| &l.slots)
    }

    /// Where a module of this function and index may live, if the layout knows.
    pub fn slot(&self, function: ModuleFunction, index: u8) -> Option<Range<u32>> {
        self.slots()
            .iter()
            .find(|s| s.function == function.name() && s.index.is_none_or(|i| i == index))
            .map(|s| match (s.start, s.end) {
                (Some(start), Some(end)) => start..end,
                (None, Some(end)) => end.saturating_sub(self.user_part_max)..end,
                (Some(start), None) => start..start.saturating_add(self.user_part_max),
                (None, None) => 0..0,
            })
    }

    /// The one rule for "inside its slot", used by build, replace-user, inspect and
    /// flash: a module's bytes (`start..end`, CRC included) must lie in its slot, or in
    /// the MCU's flash where the layout has no slot for it.
    pub fn check_placement(
        &self,
        function: ModuleFunction,
        index: u8,
        start: u64,
        end: u64,
    ) -> Result<(), OutsideSlot> {
        let (allowed, slot) = match self.slot(function, index) {
            Some(slot) => (slot, true),
            None => {
                let [lo, hi] = self.mcu().flash;
                (lo..hi, false)
            }
        };
        if start < u64::from(allowed.start) || end > u64::from(allowed.end) {
            return Err(OutsideSlot {
                function,
                start,
                end,
                allowed,
                slot,
            });
        }
        Ok(())
    }

    /// Whether a module tagged `platform_id` belongs in this platform's images. A radio
    /// stack (the Nordic SoftDevice) is firmware of the MCU, not of a platform: Particle's
    /// published 2.x and 3.x radio stacks carry Argon's id (12) on every nRF52840 platform.
    pub fn accepts(&self, function: ModuleFunction, platform_id: u16) -> bool {
        platform_id == self.id
            || (function == ModuleFunction::RadioStack
                && by_id(platform_id).is_some_and(|other| other.mcu == self.mcu))
    }

    pub fn regions(&self) -> &'static [Region] {
        &self.layout().regions
    }

    pub fn uicr(&self) -> Option<&'static Uicr> {
        self.uicr.as_ref().map(|name| &table().uicr[name])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_consistent() {
        for p in all() {
            let _ = p.mcu();
            let _ = p.layout();
            let _ = p.uicr();
            for s in p.slots() {
                assert!(s.start.is_some() || s.end.is_some(), "{}", p.name);
                assert!(
                    ModuleFunction::from_name(&s.function).is_some(),
                    "{}",
                    s.function
                );
            }
        }
        assert_eq!(by_name("Boron").unwrap().id, 13);
        assert_eq!(by_name("13").unwrap().name, "boron");
    }

    #[test]
    fn user_part_slots_follow_maximum_size() {
        let argon = by_name("argon").unwrap();
        assert_eq!(
            argon.slot(ModuleFunction::UserPart, 2),
            Some(0xB4000..0xF4000)
        );
        let xenon = by_name("xenon").unwrap();
        assert_eq!(
            xenon.slot(ModuleFunction::UserPart, 1),
            Some(0xD4000..0xF4000)
        );
        let electron = by_name("electron").unwrap();
        assert_eq!(
            electron.slot(ModuleFunction::SystemPart, 3),
            Some(0x0806_0000..0x0808_0000)
        );
    }
}
