//! What `inspect` reports. These structures are serialised as hexsmith's JSON output, so
//! their field names are a stable interface: CI pipelines snapshot them.

use crate::module::{ExtensionKind, Module, ModuleFunction};
use crate::platform::{self, releases};
use serde::Serialize;

/// The verdict of one check, `"pass"` or `"fail"` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// A device would accept this.
    Pass,
    /// A device would not: the module's notes say why.
    Fail,
}

impl From<bool> for CheckStatus {
    fn from(ok: bool) -> Self {
        if ok { Self::Pass } else { Self::Fail }
    }
}

impl CheckStatus {
    /// True for [`Pass`](Self::Pass).
    pub fn is_pass(self) -> bool {
        self == Self::Pass
    }

    /// `PASS` or `FAIL`, as the text report prints it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
        }
    }
}

/// The four checks a device makes at boot, for one module in an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleChecks {
    /// CRC and SHA-256 both verify. A placed radio stack fails only when its payload
    /// differs from the known radio stack's SHA-256; an unknown one passes.
    pub integrity: CheckStatus,
    /// Inside its slot of the platform's layout (or, with no slot known, the MCU's
    /// flash) and overlapping no other module; a radio stack placed with its prefix
    /// fails too. Without a known platform only overlaps are checked.
    pub range: CheckStatus,
    /// Built for the image's platform (a radio stack for any platform of the same MCU).
    /// Fails for every module with a prefix when the image's platform is one hexsmith
    /// does not know.
    pub platform: CheckStatus,
    /// Every dependency met by a module in the same image; a not-checkable one (NCP
    /// firmware) counts as met.
    pub dependencies: CheckStatus,
}

/// An image's checks: each passes when every module's does ([`ModuleChecks::combine`]),
/// so an image without any module passes all four (and carries a warning).
pub type ImageChecks = ModuleChecks;

impl ModuleChecks {
    /// All four pass: for an image, what `inspect`'s exit status 0 needs.
    pub fn all_pass(&self) -> bool {
        [self.integrity, self.range, self.platform, self.dependencies]
            .iter()
            .all(|c| c.is_pass())
    }

    /// An image passes a check when every module in it does.
    pub fn combine<'a>(checks: impl Iterator<Item = &'a ModuleChecks>) -> ModuleChecks {
        let mut all = ModuleChecks {
            integrity: CheckStatus::Pass,
            range: CheckStatus::Pass,
            platform: CheckStatus::Pass,
            dependencies: CheckStatus::Pass,
        };
        for c in checks {
            let and =
                |a: CheckStatus, b: CheckStatus| CheckStatus::from(a.is_pass() && b.is_pass());
            all.integrity = and(all.integrity, c.integrity);
            all.range = and(all.range, c.range);
            all.platform = and(all.platform, c.platform);
            all.dependencies = and(all.dependencies, c.dependencies);
        }
        all
    }
}

/// One dependency slot in use, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependencyReport {
    /// The [`ModuleFunction::name`] of the module needed.
    pub function: &'static str,
    /// The index of the module needed.
    pub index: u8,
    /// The lowest module version that satisfies it.
    pub version: u16,
    /// The Device OS release a system-part version stands for, where the table knows it.
    pub release: Option<String>,
    /// In an image: `met`, `unmet` or `not-checkable` (NCP firmware lives on another chip).
    /// None, and absent from JSON, for a module file, which has nothing to check against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
}

/// One extension record of a module: those after the prefix first, then the suffix's;
/// `End` records left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtensionReport {
    /// The [`ExtensionKind::name`], `type` in JSON.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The type code as stored, which tells unknown types apart.
    pub type_id: u16,
    /// Offset of the record's header from the module's first byte.
    pub offset: usize,
    /// The record's length field: data plus the 4-byte header.
    pub length: usize,
    /// The extension's data as lower-case hex.
    pub data: String,
}

/// One module as `inspect` reports it, from a module file ([`ModuleReport::from_module`])
/// or found in an image ([`inspect_image`](super::inspect_image)), where a radio stack
/// without its prefix is reported too and several fields are then None. The JSON object
/// README.md describes under `hexsmith inspect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ModuleReport {
    /// The [`ModuleFunction::name`] (prefix byte 14).
    pub function: &'static str,
    /// Prefix byte 15; 0 for a placed radio stack.
    pub index: u8,
    /// Null for a radio stack found in an image: its prefix, which names the platform, is
    /// not in flash.
    pub platform_id: Option<u16>,
    /// The platform's name from hexsmith's table; None when the id is unknown or null.
    pub platform: Option<String>,
    /// Prefix offset 10; for a placed radio stack, its SoftDevice firmware id, which is
    /// the same number.
    pub module_version: u16,
    /// The Device OS release of a system part's version, where the table knows it.
    pub release: Option<String>,
    /// A human name for the version: "Device OS 4.0.1", "S140 7.0.1", ...
    pub known_as: Option<String>,
    /// Flash address of the module's first byte (prefix offset 0).
    pub start_address: u32,
    /// Exclusive: the module's CRC starts here (for a placed radio stack: payload end).
    pub end_address: u64,
    /// The flags byte (prefix offset 9) as stored; 0 for a placed radio stack.
    pub flags: u8,
    /// [`ModuleFlags::names`](crate::module::ModuleFlags::names) of `flags`.
    pub flag_names: Vec<String>,
    /// Where the prefix sits in the module's bytes; None for a placed radio stack.
    pub prefix_offset: Option<usize>,
    /// The slots in use, in prefix order.
    pub dependencies: Vec<DependencyReport>,
    /// See [`Suffix::product_id`](crate::module::Suffix::product_id); None also for a
    /// placed radio stack, whose suffix is not in flash.
    pub product_id: Option<u32>,
    /// See [`Suffix::product_version`](crate::module::Suffix::product_version).
    pub product_version: Option<u16>,
    /// The suffix size field; None for a placed radio stack.
    pub suffix_size: Option<u16>,
    /// Extension records, empty for a placed radio stack.
    pub extensions: Vec<ExtensionReport>,
    /// The stored CRC-32, as 8 lower-case hex digits.
    pub crc: Option<String>,
    /// Whether the CRC verifies; None for a placed radio stack (no CRC in flash).
    pub crc_ok: Option<bool>,
    /// The SHA-256 stored in the suffix.
    pub sha256: Option<String>,
    /// Whether the SHA-256 verifies; for a placed radio stack, whether its payload
    /// matches the known radio stack's, None when that radio stack is not known.
    pub sha256_ok: Option<bool>,
    /// The boot checks of a module in an image; None, and absent from JSON, for a
    /// module file, which [`passes`](Self::passes) judges by integrity alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<ModuleChecks>,
    /// Remarks in words: why a check failed, how a radio stack was found, a file name
    /// that contradicts the header ([`file_name_note`](super::file_name_note)).
    pub notes: Vec<String>,
}

/// How a version of a module of this function is known to people: "Device OS 4.0.1"
/// for system part 4005, "bootloader of Device OS 2.2.0, 2.3.1", "S140 7.0.1". None
/// when the release table does not know the version, and for other functions.
pub fn known_as(function: ModuleFunction, index: u8, version: u16) -> Option<String> {
    let r = releases();
    match function {
        ModuleFunction::SystemPart => r.system_release(version).map(|v| format!("Device OS {v}")),
        // The RTL872x prebootloader part numbers its versions on its own.
        ModuleFunction::Bootloader if index == 2 => {
            let releases = r.prebootloader_releases(version);
            (!releases.is_empty())
                .then(|| format!("prebootloader of Device OS {}", releases.join(", ")))
        }
        ModuleFunction::Bootloader => r
            .bootloader_releases(version)
            .map(|v| format!("bootloader of Device OS {}", v.join(", "))),
        ModuleFunction::RadioStack => r.radio_stack(version).map(|k| k.name.clone()),
        _ => None,
    }
}

fn system_release(function: ModuleFunction, version: u16) -> Option<String> {
    (function == ModuleFunction::SystemPart)
        .then(|| releases().system_release(version).map(str::to_string))
        .flatten()
}

impl ModuleReport {
    /// Everything a module's prefix and suffix say, with its integrity; no boot checks
    /// ([`checks`](Self::checks) None, notes empty).
    pub fn from_module(m: &Module) -> ModuleReport {
        let info = &m.info;
        ModuleReport {
            function: info.function.name(),
            index: info.index,
            platform_id: Some(info.platform_id),
            platform: platform::by_id(info.platform_id).map(|p| p.name.clone()),
            module_version: info.version,
            release: system_release(info.function, info.version),
            known_as: known_as(info.function, info.index, info.version),
            start_address: info.start,
            end_address: u64::from(info.end),
            flags: info.flags.0,
            flag_names: info.flags.names(),
            prefix_offset: Some(m.prefix_offset),
            dependencies: info
                .active_dependencies()
                .map(|d| DependencyReport {
                    function: d.function.name(),
                    index: d.index,
                    version: d.version,
                    release: system_release(d.function, d.version),
                    status: None,
                })
                .collect(),
            product_id: m.suffix.product_id,
            product_version: m.suffix.product_version,
            suffix_size: Some(m.suffix.size),
            extensions: m
                .prefix_extensions
                .iter()
                .chain(&m.suffix.extensions)
                .filter(|e| e.kind != ExtensionKind::End)
                .map(|e| ExtensionReport {
                    kind: e.kind.name(),
                    type_id: e.kind.code(),
                    offset: e.offset,
                    length: e.data.len() + 4,
                    data: hex::encode(&e.data),
                })
                .collect(),
            crc: Some(format!("{:08x}", m.crc_stored)),
            crc_ok: Some(m.crc_ok()),
            sha256: Some(hex::encode(m.suffix.sha256)),
            sha256_ok: Some(m.sha256_ok()),
            checks: None,
            notes: Vec::new(),
        }
    }

    /// A module file passes when its CRC and SHA-256 both verify; a module in an image
    /// when every boot check passes.
    pub fn passes(&self) -> bool {
        match &self.checks {
            Some(c) => c.all_pass(),
            None => self.crc_ok != Some(false) && self.sha256_ok != Some(false),
        }
    }
}

/// One run of bytes in an image ([`crate::memory::Segment`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentReport {
    /// Address of its first byte.
    pub start: u32,
    /// Exclusive end address (up to 2^32).
    pub end: u64,
    /// Length in bytes.
    pub size: u64,
}

/// Bytes of an image that belong to no module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionReport {
    /// Address of its first byte.
    pub start: u64,
    /// Exclusive end address.
    pub end: u64,
    /// Length in bytes.
    pub size: u64,
    /// `nordic-mbr`, `uicr`, `compatibility-fill`, `radio-stack-suffix-remnant`, `erased`
    /// (0xFF beside modules, as a device dump holds), `device-id` and `option-bytes` (a
    /// device dump's or emulated device's chip areas) or `unknown`.
    pub kind: String,
    /// In words: which MBR it is, or which UICR word differs from Particle's.
    pub what: String,
    /// False when the bytes are not what such a region should hold (or are unknown).
    pub recognized: bool,
}

/// Where an inspected image came from: the `format` of its report, by the name `inspect`
/// prints and JSON carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageFormat {
    /// An Intel HEX file (an emulator state file included).
    Hex,
    /// An ELF file's loadable segments.
    Elf,
    /// A module file, placed at its start address (`diff` compares one so).
    Module,
    /// A raw binary placed from an address.
    Bin,
    /// A device's flash, read over SWD (`inspect --probe`).
    Swd,
    /// An image held in memory: the one `build` or `flash` checks.
    Image,
}

impl ImageFormat {
    /// The name reports give it.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Hex => "hex",
            ImageFormat::Elf => "elf",
            ImageFormat::Module => "module",
            ImageFormat::Bin => "bin",
            ImageFormat::Swd => "swd",
            ImageFormat::Image => "image",
        }
    }
}

impl From<crate::input::Format> for ImageFormat {
    fn from(format: crate::input::Format) -> ImageFormat {
        match format {
            crate::input::Format::Module => ImageFormat::Module,
            crate::input::Format::Hex => ImageFormat::Hex,
            crate::input::Format::Elf => ImageFormat::Elf,
        }
    }
}

impl std::fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ImageFormat {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// What `inspect` reports on a memory image ([`inspect_image`](super::inspect_image)); the
/// JSON object README.md describes under `hexsmith inspect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ImageReport {
    /// What the image was read from, as the caller said.
    pub format: ImageFormat,
    /// The platform id most modules name (radio stacks count only when there is nothing
    /// else); None when the image holds no module.
    pub platform_id: Option<u16>,
    /// That platform's name; None when hexsmith does not know the id (a warning says so).
    pub platform: Option<String>,
    /// Every run of bytes, in address order.
    pub segments: Vec<SegmentReport>,
    /// Every module found, a placed radio stack included, by start address.
    pub modules: Vec<ModuleReport>,
    /// The bytes outside every module, named, in address order.
    pub regions: Vec<RegionReport>,
    /// The boot checks over all modules.
    pub checks: ImageChecks,
    /// What does not fail a check but matters: no Nordic MBR (never write the image
    /// after a full chip erase), no module found, an unknown platform, a search cut short.
    pub warnings: Vec<super::ImageWarning>,
}

impl ImageReport {
    /// Every image check passes: `inspect` exits 0. Warnings do not count.
    pub fn passes(&self) -> bool {
        self.checks.all_pass()
    }
}
