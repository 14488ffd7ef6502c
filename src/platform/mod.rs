//! Platform and Device OS release knowledge, kept as data (`platforms.toml`,
//! `releases.toml`, and `published.toml` derived from Particle's published restore
//! images) so that a new platform or release is an edit to a table, not code.
//!
//! Every layer above reads it: [`crate::compose`] and [`crate::inspect`] for slots,
//! regions and the UICR, [`crate::flash`] for the MCU's erase units and device ID,
//! [`crate::upgrade`] for releases (the seed rules are its own data, [`crate::upgrade::seeds`]). The tables are built in and parsed
//! on first use; a malformed table panics there, which the unit tests rule out.

mod published;
mod releases;

pub use published::{PublishedApp, PublishedRelease, derive as derive_published};
pub use releases::{
    BootloaderRelease, KnownMbr, NcpFirmware, Published, RadioStackInfo, Releases, SystemRelease,
    releases,
};

use crate::module::ModuleFunction;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::OnceLock;

/// A module reaching outside the range its slot (or the MCU's flash) allows: what
/// [`Platform::check_placement`] refuses. Its `Display` names both ranges, for errors,
/// each end exclusive as everywhere hexsmith prints a range (`[start, end)` in JSON),
/// and says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideSlot {
    /// The module's function, from its prefix.
    pub function: ModuleFunction,
    /// First flash address of the module's placed bytes.
    pub start: u64,
    /// End of the module's placed bytes (exclusive).
    pub end: u64,
    /// The range it had to stay in (end exclusive).
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
            "{:#010x}-{:#010x} is outside {what} {:#010x}-{:#010x} (ends exclusive)",
            self.start, self.end, self.allowed.start, self.allowed.end
        )
    }
}

/// A Particle platform (one `[[platform]]` of `platforms.toml`): what its modules are
/// tagged with, which MCU and flash layout its images are for. Get one with [`by_name`]
/// or [`by_id`]; every one is `'static`.
#[derive(Debug, Deserialize)]
pub struct Platform {
    /// Particle's platform id (from `@particle/device-constants`): the id every module
    /// built for the platform carries in its prefix.
    pub id: u16,
    /// The lower-case name the command line's `--platform`, catalogs and Particle's
    /// release file names use (`boron`, `p2`).
    pub name: String,
    /// The product name(s) for people, e.g. "Tracker SoM / Tracker One / Monitor One".
    pub display: String,
    /// Particle's hardware generation: 2 for the STM32F205 platforms, 3 for the nRF52840
    /// ones and the Tracker M, 4 for the P2 and M-SoM (1: the Spark Core).
    pub generation: u8,
    /// The key of its MCU in `platforms.toml` (`stm32f205`, `nrf52840`, `rtl872x`,
    /// `stm32f103`); [`Platform::mcu`] gives the entry.
    pub mcu: String,
    /// How many system parts a current release has (Electron 3, Photon and P1 2, others
    /// 1); 0 for the Spark Core, whose firmware is monolithic. An older release may have
    /// fewer: see [`crate::upgrade::Device::system_parts`].
    pub system_parts: u8,
    layout: String,
    /// The largest user application in bytes (`@particle/device-constants`); a user
    /// part slot that gives only one end reaches this far from it. 0 on the Spark Core.
    pub user_part_max: u32,
    #[serde(default)]
    uicr: Option<String>,
    /// Has a network co-processor whose firmware no hex image can hold (the Tracker's
    /// ESP32): upgrade plans write it as a file of its own.
    #[serde(default)]
    pub ncp: bool,
    /// Whether its images from 3.1.0 on carry the layout's `compatibility-fill` region
    /// (1 KiB of 0xFF hiding a stale 128 KiB application). False only for the Tracker,
    /// whose published images never carry it (spec section 3).
    #[serde(default = "carries_fill")]
    pub compatibility_fill: bool,
}

fn carries_fill() -> bool {
    true
}

/// An MCU family (one `[mcu.NAME]` of `platforms.toml`): what programming it over SWD
/// needs to know. Timings are datasheet figures (nRF52840 maximums, STM32F205 typical)
/// used only for a flash plan's time estimate; 0 where unknown.
#[derive(Debug, Deserialize)]
pub struct Mcu {
    /// The probe-rs target name: probe-rs's own, or for the RTL872x the one hexsmith
    /// registers (`RTL8721DM`). None for the Spark Core's STM32F103.
    pub chip: Option<String>,
    /// Main flash as `[start, end)` addresses: where a module without a slot must lie.
    pub flash: [u32; 2],
    /// What one erase clears, as runs of equal units; empty where unknown
    /// (the Spark Core's STM32F103), and [`crate::flash`] then refuses to plan a write.
    /// May include units outside main flash (the nRF52840's UICR page).
    #[serde(default)]
    pub erase_units: Vec<EraseUnitRun>,
    /// Time to program one 32-bit word, in microseconds.
    #[serde(default)]
    pub program_us_per_word: u32,
    /// Time of a full chip erase, in milliseconds.
    #[serde(default)]
    pub chip_erase_ms: u32,
    /// Attach with the core held in reset: Device OS for Gen 2 is built with the SWD pins
    /// disabled, so a running device cannot be attached to.
    #[serde(default)]
    pub attach_under_reset: bool,
    /// Start address of an erase unit that may be write-protected (Gen 2's bootloader
    /// sector, by the option bytes): [`crate::flash`] checks it before writing and
    /// refuses unless told to clear the protection.
    pub protected_unit: Option<u32>,
    /// Regions a full chip erase destroys beyond main flash, by layout region name
    /// ([`Region::name`]; nRF52840: the MBR and the UICR): a chip erase is refused for an
    /// image that does not put them back.
    #[serde(default)]
    pub chip_erase_clears: Vec<RegionName>,
    /// Where the Particle device ID is read; None where hexsmith does not know
    /// (STM32F103).
    pub device_id: Option<DeviceIdSource>,
    /// Flash nothing may ever write or erase (the RTL872x's per-device
    /// prebootloader-mbr): an image with bytes there is refused before anything is sent.
    #[serde(default)]
    pub never_write: Option<NeverWrite>,
    /// Whether a full chip erase may be used at all; false on the RTL872x, whose chip
    /// erase would destroy what [`Mcu::never_write`] protects.
    #[serde(default = "allowed")]
    pub chip_erase: bool,
}

fn allowed() -> bool {
    true
}

/// Flash no image may touch, and what it holds.
#[derive(Debug, Deserialize)]
pub struct NeverWrite {
    /// First address.
    pub start: u32,
    /// End, exclusive.
    pub end: u32,
    /// What lives there, for the refusal.
    pub what: String,
}

/// `count` erase units of `size` bytes from `start` on.
#[derive(Debug, Deserialize)]
pub struct EraseUnitRun {
    /// Address of the first unit.
    pub start: u32,
    /// Bytes per unit (nRF52840: 4 KiB pages; STM32F205: 16, 64 or 128 KiB sectors).
    pub size: u32,
    /// Units in the run, contiguous from `start`.
    pub count: u32,
    /// Datasheet time to erase one unit, in milliseconds, for estimates.
    pub erase_ms: u32,
}

/// Where the Particle device ID is read: `prefix` followed by these bytes as lower-case
/// hex (spec section 4).
#[derive(Debug, Deserialize)]
pub struct DeviceIdSource {
    /// Address of the ID bytes (nRF52840: FICR 0x10000060; STM32F205: the unique ID at
    /// 0x1FFF7A10).
    pub address: u32,
    /// Number of bytes read (8 on the nRF52840, 12 on the STM32F205).
    pub length: u32,
    /// Text put before the hex digits (`e00fce68` on the nRF52840); empty on the STM32F205.
    #[serde(default)]
    pub prefix: String,
    /// The bytes are the Wi-Fi MAC (RTL872x), which is then reported as well.
    #[serde(default)]
    pub mac: bool,
}

impl DeviceIdSource {
    /// The Wi-Fi MAC in a device ID read from this source (`aa:bb:cc:dd:ee:ff`), where the
    /// ID's bytes are one.
    pub fn mac_of(&self, device_id: &str) -> Option<String> {
        let digits = device_id.strip_prefix(&self.prefix).filter(|_| self.mac)?;
        let pairs: Vec<&str> = (0..digits.len() / 2)
            .map(|k| &digits[2 * k..2 * k + 2])
            .collect();
        (pairs.len() == 6).then(|| pairs.join(":"))
    }
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
pub struct Reserved {
    /// First address.
    pub start: u32,
    /// End address, exclusive.
    pub end: u32,
    /// What the device keeps there ("device configuration (DCT) and EEPROM emulation").
    pub what: String,
}

/// A named range that is not a module but belongs in an image (nRF52840: the Nordic MBR,
/// the UICR page, the compatibility fill): [`crate::compose`] writes it (the MBR from
/// the user's file), [`crate::inspect`] recognises it instead of calling it stray bytes.
#[derive(Debug, Deserialize)]
pub struct Region {
    /// Which region it is: what code looks it up by.
    pub name: RegionName,
    /// First address.
    pub start: u32,
    /// End address (exclusive).
    pub end: u32,
    /// What it is, for reports and errors ("Nordic MBR").
    pub what: String,
    /// Set when the region is this byte repeated (the compatibility fill's 0xFF):
    /// inspection checks every byte against it.
    pub fill: Option<u8>,
}

/// The regions a layout can hold, named as platforms.toml names them; code refers to a
/// region only through these, never by its name in the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegionName {
    /// The Nordic MBR at 0x00000000, which the user supplies.
    NordicMbr,
    /// The nRF52840's UICR page.
    Uicr,
    /// The 0xFF fill that hides a stale 128 KiB user part.
    CompatibilityFill,
}

impl RegionName {
    /// Every region name.
    pub const ALL: [RegionName; 3] = [
        RegionName::NordicMbr,
        RegionName::Uicr,
        RegionName::CompatibilityFill,
    ];

    /// The name in platforms.toml, and the `kind` of reports and manifests (the serde
    /// name; a test holds the two together).
    pub fn as_str(self) -> &'static str {
        match self {
            RegionName::NordicMbr => "nordic-mbr",
            RegionName::Uicr => "uicr",
            RegionName::CompatibilityFill => "compatibility-fill",
        }
    }

    /// The region a report's `kind` names, if it is one of these.
    pub fn from_kind(kind: &str) -> Option<RegionName> {
        RegionName::ALL.into_iter().find(|r| r.as_str() == kind)
    }
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

/// The UICR page of Particle's Gen 3 restore images (spec section 3): the bootloader
/// address for the MBR and the reset pin, plus the NFC pins on the E404X.
#[derive(Debug, Deserialize)]
pub struct Uicr {
    /// Start of the 4 KiB page (0x10001000).
    pub address: u32,
    /// (address, value) pairs of 32-bit little-endian words; every other byte of the
    /// page is 0xFF.
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

/// The applications and NCP firmware of Particle's published restore images, by release
/// and platform, in the order of the published table.
pub fn published_apps() -> &'static [PublishedApp] {
    &published_table().application
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let table: Table = toml::from_str(include_str!("platforms.toml"))
            .unwrap_or_else(|e| panic!("built-in platforms.toml is invalid: {e}"));
        table
    })
}

/// Every platform hexsmith knows, in `platforms.toml` order (by id).
pub fn all() -> &'static [Platform] {
    &table().platform
}

/// An MCU by its key ([`Platform::mcu`] names it), for callers that have no platform;
/// None for an unknown key.
pub fn mcu(name: &str) -> Option<&'static Mcu> {
    table().mcu.get(name)
}

/// The platform a module's prefix names by id; None for an id not in the table.
pub fn by_id(id: u16) -> Option<&'static Platform> {
    all().iter().find(|p| p.id == id)
}

/// Looks a platform up by name (any case) or by id written as a number (`"13"`), as
/// `--platform` takes it. Model names (`brn402`) are [`crate::upgrade::device`]'s.
pub fn by_name(name: &str) -> Option<&'static Platform> {
    let lower = name.to_ascii_lowercase();
    all()
        .iter()
        .find(|p| p.name == lower)
        .or_else(|| lower.parse().ok().and_then(by_id))
}

impl Platform {
    /// The MCU its images are written to.
    pub fn mcu(&self) -> &'static Mcu {
        &table().mcu[&self.mcu]
    }

    fn layout(&self) -> &'static Layout {
        &table().layout[&self.layout]
    }

    /// Gen 3 on the nRF52840: the platforms whose images carry a radio stack (SoftDevice),
    /// the Nordic MBR and a UICR page.
    pub fn is_nrf52840(&self) -> bool {
        self.mcu == "nrf52840"
    }

    /// The Realtek RTL872x platforms (P2, M-SoM, Tracker M): their images carry a
    /// prebootloader part, with versions of its own, and no SoftDevice.
    pub fn is_rtl872x(&self) -> bool {
        self.mcu == "rtl872x"
    }

    /// The slots of this platform's layout: derived from the published images where they
    /// cover it, else kept by hand in platforms.toml.
    fn slots(&self) -> &'static [SlotEntry] {
        published_table()
            .layout
            .get(&self.layout)
            .map_or(&self.layout().slots, |l| &l.slots)
    }

    /// Where a module of this function and index may live (end exclusive), if the layout
    /// knows: derived from Particle's published images where they cover the layout, else
    /// hand-kept. A user part's slot is anchored at one end and spans
    /// [`Platform::user_part_max`]. None: no slot is known, and only the MCU's flash
    /// bounds the module.
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

    /// The non-module ranges its images carry (nRF52840 only; empty elsewhere).
    pub fn regions(&self) -> &'static [Region] {
        &self.layout().regions
    }

    /// The region of this name, where the platform's images carry it.
    pub fn region(&self, name: RegionName) -> Option<&'static Region> {
        self.regions().iter().find(|r| r.name == name)
    }

    /// Flash the device keeps its own data in (`reserved` in the platform table: the Gen 2
    /// DCT, with the device's keys, and the EEPROM emulation), which no image carries.
    pub fn reserved(&self) -> &'static [Reserved] {
        &self.layout().reserved
    }

    /// The UICR page its images carry; None off the nRF52840.
    pub fn uicr(&self) -> Option<&'static Uicr> {
        self.uicr.as_ref().map(|name| &table().uicr[name])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `as_str` is what reports print; it must be the name the data uses.
    #[test]
    fn region_names_are_the_data_names() {
        for name in RegionName::ALL {
            let value = toml::Value::String(name.as_str().to_string());
            assert_eq!(value.try_into::<RegionName>().unwrap(), name);
            assert_eq!(RegionName::from_kind(name.as_str()), Some(name));
        }
        let named: Vec<RegionName> = all()
            .iter()
            .flat_map(|p| p.regions().iter().map(|r| r.name))
            .collect();
        for name in RegionName::ALL {
            assert!(named.contains(&name), "{name:?} is in no layout");
        }
    }

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
    fn a_module_outside_its_slot_is_told_with_both_ends_exclusive() {
        let argon = by_name("argon").unwrap();
        // The slot's own end is inside: [start, end).
        assert!(
            argon
                .check_placement(ModuleFunction::UserPart, 2, 0xB4000, 0xF4000)
                .is_ok()
        );
        let outside = argon
            .check_placement(ModuleFunction::UserPart, 2, 0xB4000, 0xF4004)
            .unwrap_err();
        assert_eq!(
            outside.to_string(),
            "0x000b4000-0x000f4004 is outside the user-part slot 0x000b4000-0x000f4000 (ends exclusive)"
        );
    }

    #[test]
    fn mcu_families_are_told_apart() {
        let rtl872x: Vec<&str> = all()
            .iter()
            .filter(|p| p.is_rtl872x())
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(rtl872x, ["trackerm", "p2", "msom"]);
        assert!(all().iter().all(|p| !(p.is_rtl872x() && p.is_nrf52840())));
        // The Tracker M is Gen 3, like the nRF52840 platforms, but not one of them.
        let tracker_m = by_name("trackerm").unwrap();
        assert_eq!(tracker_m.generation, 3);
        assert!(!tracker_m.is_nrf52840());
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
