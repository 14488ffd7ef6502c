//! The 24-byte module prefix (`module_info_t`): where a module belongs in flash, what it
//! is, and what it needs. Field offsets are those of the spec's prefix table
//! (`device-os-images.md`, section 1); all multi-byte fields are little-endian.

use std::fmt;

/// Size of the prefix in bytes; it sits at [`PREFIX_OFFSETS`](super::PREFIX_OFFSETS) or at
/// a 4-byte-aligned offset found by search, and, for a module flagged
/// [`ModuleFlags::DROP_MODULE_INFO`], is left out of flash.
pub const PREFIX_LEN: usize = 24;

/// What a module is for: prefix byte 14, Device OS's `module_function_t`. Together with
/// the index (byte 15) it names the slot a module fills and what a dependency points at.
/// The variants are declared in code order, so the derived ordering is that of the codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModuleFunction {
    /// Code 0. Never a module's own function (a prefix naming it is refused); in a
    /// dependency slot it means the slot is empty.
    None,
    /// Code 1.
    Resource,
    /// Code 2: the bootloader (index 0), and on RTL872x also the prebootloader part
    /// (index 2).
    Bootloader,
    /// Code 3: a monolithic firmware, system and application in one module.
    MonoFirmware,
    /// Code 4: a Device OS system part; Gen 2 has two or three (indices 1 to 3), later
    /// platforms one. Its version is the Device OS module version (e.g. 4005 for 4.0.1).
    SystemPart,
    /// Code 5: the user application (Tinker, Tracker Edge, a customer's firmware).
    UserPart,
    /// Code 6.
    Settings,
    /// Code 7: firmware for a network co-processor on another chip (the Tracker's ESP32),
    /// which no image holds; a dependency on it is never checkable from an image.
    Ncp,
    /// Code 8: the Nordic SoftDevice of nRF52840 platforms, always flagged
    /// [`ModuleFlags::DROP_MODULE_INFO`].
    RadioStack,
    /// Code 9.
    Asset,
}

impl ModuleFunction {
    /// Every function in code order: `ALL[code]` has that code.
    pub const ALL: [ModuleFunction; 10] = [
        Self::None,
        Self::Resource,
        Self::Bootloader,
        Self::MonoFirmware,
        Self::SystemPart,
        Self::UserPart,
        Self::Settings,
        Self::Ncp,
        Self::RadioStack,
        Self::Asset,
    ];

    /// The function with this `module_function_t` code; `None` above 9, a code Device OS
    /// does not define (which makes a prefix invalid).
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// The `module_function_t` code, as stored in prefix byte 14 and dependency byte 0.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The stable name used in JSON output and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Resource => "resource",
            Self::Bootloader => "bootloader",
            Self::MonoFirmware => "mono-firmware",
            Self::SystemPart => "system-part",
            Self::UserPart => "user-part",
            Self::Settings => "settings",
            Self::Ncp => "ncp",
            Self::RadioStack => "radio-stack",
            Self::Asset => "asset",
        }
    }

    /// The inverse of [`name`](Self::name), for command-line arguments; `None` for any
    /// other string (names are case-sensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for ModuleFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The prefix's flags byte (offset 9), kept whole so unknown bits survive a round trip.
/// Test bits with [`contains`](Self::contains).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModuleFlags(pub u8);

impl ModuleFlags {
    /// The prefix must not be written to flash (every radio stack has it).
    pub const DROP_MODULE_INFO: ModuleFlags = ModuleFlags(0x01);
    /// Packed for an over-the-air update, which the device inflates: a restore image
    /// cannot carry it, and `build` refuses it.
    pub const COMPRESSED: ModuleFlags = ModuleFlags(0x02);
    /// Several modules in one file, an update format: `build` refuses it.
    pub const COMBINED: ModuleFlags = ModuleFlags(0x04);
    /// Only a device's update path decrypts it: `build` refuses it.
    pub const ENCRYPTED: ModuleFlags = ModuleFlags(0x08);
    /// Extensions also follow the prefix, ending at an `End` record
    /// ([`Module::prefix_extensions`](super::Module::prefix_extensions)).
    pub const PREFIX_EXTENSIONS: ModuleFlags = ModuleFlags(0x10);

    const NAMES: [(u8, &'static str); 5] = [
        (0x01, "drop-module-info"),
        (0x02, "compressed"),
        (0x04, "combined"),
        (0x08, "encrypted"),
        (0x10, "prefix-extensions"),
    ];

    /// True when every bit of `other` is set (so an empty `other` is always contained).
    pub fn contains(self, other: ModuleFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Names of the set flags; unknown bits appear as hex so nothing is hidden.
    pub fn names(self) -> Vec<String> {
        let mut names: Vec<String> = Self::NAMES
            .iter()
            .filter(|(bit, _)| self.0 & bit != 0)
            .map(|(_, name)| (*name).to_string())
            .collect();
        let unknown = self.0 & !Self::NAMES.iter().fold(0, |acc, (bit, _)| acc | bit);
        if unknown != 0 {
            names.push(format!("{unknown:#04x}"));
        }
        names
    }
}

/// A module this one needs: present in the same image, same function and index, and
/// at least this version (judged by [`Dependency::status`]). Stored in the prefix as 4
/// bytes at offset 16 (first slot) or 20 (second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dependency {
    /// Byte 0 of the slot; [`ModuleFunction::None`] marks an unused slot.
    pub function: ModuleFunction,
    /// Byte 1: which module of that function (e.g. system part 1).
    pub index: u8,
    /// Bytes 2-3: the lowest module version that satisfies it (for a system part, a
    /// Device OS module version such as 4005).
    pub version: u16,
}

/// A decoded module prefix. A value from [`ModuleInfo::read`] always has a function other
/// than [`ModuleFunction::None`] and `end > start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Offset 0: flash address of the module's first byte (of the file, not of the
    /// prefix, which may sit 0x184 or 0x200 bytes in).
    pub start: u32,
    /// Offset 4: exclusive end address; the 4-byte CRC starts here, so the file is
    /// `end - start + 4` bytes ([`file_len`](Self::file_len)).
    pub end: u32,
    /// Offset 8: unused by Device OS; kept so a prefix can be shown as stored.
    pub reserved: u8,
    /// Offset 9.
    pub flags: ModuleFlags,
    /// Offset 10: the module version, an integer (4005 for a 4.0.1 system part; the
    /// mapping to releases is a table, see [`crate::platform`]).
    pub version: u16,
    /// Offset 12: the platform the module was built for (13 = boron); not checked here,
    /// since a platform hexsmith does not know is still a module.
    pub platform_id: u16,
    /// Offset 14.
    pub function: ModuleFunction,
    /// Offset 15: distinguishes modules of one function (system part 1, 2, 3; the
    /// RTL872x prebootloader is bootloader index 2).
    pub index: u8,
    /// Offsets 16 and 20, both slots as stored; function `None` means the slot is empty
    /// ([`active_dependencies`](Self::active_dependencies) skips those).
    pub dependencies: [Dependency; 2],
}

impl ModuleInfo {
    /// Reads a prefix at `offset` and accepts it only if it could describe a real module:
    /// a known function other than `None`, an end after its start, and a known function
    /// (or `None`) in both dependency slots. None also when fewer than 24 bytes follow
    /// `offset`. The platform id is not judged here:
    /// a module of a platform the tables do not know is still a module, and is reported
    /// as such by the layers that know platforms. Whether the length matches the bytes
    /// around it is for the caller to judge.
    pub fn read(bytes: &[u8], offset: usize) -> Option<ModuleInfo> {
        let p = bytes.get(offset..offset.checked_add(PREFIX_LEN)?)?;
        let u16_at = |i: usize| u16::from_le_bytes([p[i], p[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]]);
        let function = ModuleFunction::from_code(p[14]).filter(|f| *f != ModuleFunction::None)?;
        let platform_id = u16_at(12);
        let (start, end) = (u32_at(0), u32_at(4));
        if end <= start {
            return None;
        }
        let dependency = |at: usize| -> Option<Dependency> {
            Some(Dependency {
                function: ModuleFunction::from_code(p[at])?,
                index: p[at + 1],
                version: u16_at(at + 2),
            })
        };
        Some(ModuleInfo {
            start,
            end,
            reserved: p[8],
            flags: ModuleFlags(p[9]),
            version: u16_at(10),
            platform_id,
            function,
            index: p[15],
            dependencies: [dependency(16)?, dependency(20)?],
        })
    }

    /// Bytes the module occupies in its file: start to end, plus the CRC.
    pub fn file_len(&self) -> u64 {
        u64::from(self.end) - u64::from(self.start) + 4
    }

    /// The dependency slots that are in use.
    pub fn active_dependencies(&self) -> impl Iterator<Item = &Dependency> {
        self.dependencies
            .iter()
            .filter(|d| d.function != ModuleFunction::None)
    }
}
