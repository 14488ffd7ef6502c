//! The 24-byte module prefix (`module_info_t`).

use std::fmt;

pub const PREFIX_LEN: usize = 24;

/// What a module is for. The numbers are Device OS's `module_function_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModuleFunction {
    None,
    Resource,
    Bootloader,
    MonoFirmware,
    SystemPart,
    UserPart,
    Settings,
    Ncp,
    RadioStack,
    Asset,
}

impl ModuleFunction {
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

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

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

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for ModuleFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModuleFlags(pub u8);

impl ModuleFlags {
    /// The prefix must not be written to flash (every radio stack has it).
    pub const DROP_MODULE_INFO: ModuleFlags = ModuleFlags(0x01);
    pub const COMPRESSED: ModuleFlags = ModuleFlags(0x02);
    pub const COMBINED: ModuleFlags = ModuleFlags(0x04);
    pub const ENCRYPTED: ModuleFlags = ModuleFlags(0x08);
    pub const PREFIX_EXTENSIONS: ModuleFlags = ModuleFlags(0x10);

    const NAMES: [(u8, &'static str); 5] = [
        (0x01, "drop-module-info"),
        (0x02, "compressed"),
        (0x04, "combined"),
        (0x08, "encrypted"),
        (0x10, "prefix-extensions"),
    ];

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
/// at least this version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dependency {
    pub function: ModuleFunction,
    pub index: u8,
    pub version: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    pub start: u32,
    /// Exclusive; the CRC starts here.
    pub end: u32,
    pub reserved: u8,
    pub flags: ModuleFlags,
    pub version: u16,
    pub platform_id: u16,
    pub function: ModuleFunction,
    pub index: u8,
    /// Both slots as stored; function `None` means the slot is empty.
    pub dependencies: [Dependency; 2],
}

impl ModuleInfo {
    /// Reads a prefix at `offset` and accepts it only if it could describe a real module:
    /// a known function and an end after its start. The platform id is not judged here:
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
