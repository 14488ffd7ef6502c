//! What `inspect` reports. These structures are serialised as hexsmith's JSON output, so
//! their field names are a stable interface: CI pipelines snapshot them.

use super::hex_lower;
use crate::module::{ExtensionKind, Module, ModuleFunction};
use crate::platform::{self, releases};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Fail,
}

impl From<bool> for CheckStatus {
    fn from(ok: bool) -> Self {
        if ok { Self::Pass } else { Self::Fail }
    }
}

impl CheckStatus {
    pub fn is_pass(self) -> bool {
        self == Self::Pass
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleChecks {
    pub integrity: CheckStatus,
    pub range: CheckStatus,
    pub platform: CheckStatus,
    pub dependencies: CheckStatus,
}

pub type ImageChecks = ModuleChecks;

impl ModuleChecks {
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependencyReport {
    pub function: &'static str,
    pub index: u8,
    pub version: u16,
    /// The Device OS release a system-part version stands for, where the table knows it.
    pub release: Option<String>,
    /// In an image: `met`, `unmet` or `not-checkable` (NCP firmware lives on another chip).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtensionReport {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub type_id: u16,
    pub offset: usize,
    pub length: usize,
    /// The extension's data as lower-case hex.
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleReport {
    pub function: &'static str,
    pub index: u8,
    /// Null for a radio stack found in an image: its prefix, which names the platform, is
    /// not in flash.
    pub platform_id: Option<u16>,
    pub platform: Option<String>,
    pub module_version: u16,
    /// The Device OS release of a system part's version, where the table knows it.
    pub release: Option<String>,
    /// A human name for the version: "Device OS 4.0.1", "S140 7.0.1", ...
    pub known_as: Option<String>,
    pub start_address: u32,
    /// Exclusive: the module's CRC starts here (for a placed radio stack: payload end).
    pub end_address: u64,
    pub flags: u8,
    pub flag_names: Vec<String>,
    pub prefix_offset: Option<usize>,
    pub dependencies: Vec<DependencyReport>,
    pub product_id: Option<u32>,
    pub product_version: Option<u16>,
    pub suffix_size: Option<u16>,
    pub extensions: Vec<ExtensionReport>,
    /// The stored CRC-32, as 8 lower-case hex digits.
    pub crc: Option<String>,
    pub crc_ok: Option<bool>,
    /// The SHA-256 stored in the suffix.
    pub sha256: Option<String>,
    pub sha256_ok: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<ModuleChecks>,
    pub notes: Vec<String>,
}

/// How a version of a module of this function is known to people.
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
                    data: hex_lower(&e.data),
                })
                .collect(),
            crc: Some(format!("{:08x}", m.crc_stored)),
            crc_ok: Some(m.crc_ok()),
            sha256: Some(hex_lower(&m.suffix.sha256)),
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentReport {
    pub start: u32,
    pub end: u64,
    pub size: u64,
}

/// Bytes of an image that belong to no module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionReport {
    pub start: u64,
    pub end: u64,
    pub size: u64,
    /// `nordic-mbr`, `uicr`, `compatibility-fill`, `radio-stack-suffix-remnant`, `erased`
    /// (0xFF beside modules, as a device dump holds) or `unknown`.
    pub kind: String,
    pub what: String,
    /// False when the bytes are not what such a region should hold (or are unknown).
    pub recognized: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageReport {
    pub format: String,
    pub platform_id: Option<u16>,
    pub platform: Option<String>,
    pub segments: Vec<SegmentReport>,
    pub modules: Vec<ModuleReport>,
    pub regions: Vec<RegionReport>,
    pub checks: ImageChecks,
    pub warnings: Vec<String>,
}

impl ImageReport {
    pub fn passes(&self) -> bool {
        self.checks.all_pass()
    }
}
