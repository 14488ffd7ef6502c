//! The manifest Particle publishes beside each restore image (`<platform>.json`): for
//! every module, the `prefixInfo` and `suffixInfo` objects exactly as Particle's own
//! reader, binary-version-reader, prints them, so that tools written around the published
//! files read hexsmith's. Field names, their order, and their formats (addresses as
//! lower-case hex without `0x`, -1 for product fields a short suffix does not have,
//! extensions with their raw bytes as a Node `Buffer` serialises) follow that reader
//! (version 3.1.3), not hexsmith's own manifest.

use super::ModuleInput;
use crate::module::{ModuleFlags, ModuleFunction, PREFIX_LEN, SUFFIX_BASE_LEN};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// One module as the published manifest lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParticleModule {
    /// The module's name in the manifest: `bootloader`, `softdevice`, `system-part1`, ...
    #[serde(skip)]
    pub key: String,
    /// The prefix fields, as binary-version-reader's `prefixInfo`.
    #[serde(rename = "prefixInfo")]
    pub prefix_info: PrefixInfo,
    /// The suffix fields, as binary-version-reader's `suffixInfo`.
    #[serde(rename = "suffixInfo")]
    pub suffix_info: SuffixInfo,
}

/// The whole `<platform>.json`: one entry per module, in the order Particle's newest
/// manifests (6.3.4) list them ([`manifest_rank`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ParticleManifest {
    /// The modules, bootloader first, NCP firmware last ([`manifest_rank`]).
    pub modules: Vec<ParticleModule>,
}

impl Serialize for ParticleManifest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.modules.len()))?;
        for m in &self.modules {
            map.serialize_entry(&m.key, m)?;
        }
        map.end()
    }
}

impl ParticleManifest {
    /// The manifest of the modules an image was built from. Keys are the names Particle's
    /// manifests use; an application is `tracker-edge` when its file name says so or, on
    /// the tracker, when it does not say `tinker`, and `tinker` otherwise: Particle's
    /// manifests have no other name for an application, and the tools that read them look
    /// for these. A second module under the same key gets `-2`, `-3`, ... appended, so
    /// none is lost.
    pub fn of(modules: &[&ModuleInput]) -> ParticleManifest {
        let modules = keyed(modules)
            .into_iter()
            .map(|(key, m)| {
                let (prefix_info, suffix_info) = describe(&m.bytes, m.module.prefix_offset);
                ParticleModule {
                    key,
                    prefix_info,
                    suffix_info,
                }
            })
            .collect();
        ParticleManifest { modules }
    }
}

/// Each module under its manifest key ([`ParticleManifest::of`]'s rule), in manifest
/// order. Particle's `<platform>.zip` holds each module as `KEY.bin`: its Device Restore
/// page looks a module up by the `.json`'s key that way.
pub fn keyed<'a>(modules: &[&'a ModuleInput]) -> Vec<(String, &'a ModuleInput)> {
    let mut sorted: Vec<&'a ModuleInput> = modules.to_vec();
    sorted.sort_by_key(|m| {
        (
            manifest_rank(&m.module.info),
            m.module.info.start,
            m.name.clone(),
        )
    });
    let mut out: Vec<(String, &'a ModuleInput)> = Vec::new();
    for m in sorted {
        let base = key_of(m);
        let mut key = base.clone();
        let mut n = 2;
        while out.iter().any(|(k, _)| *k == key) {
            key = format!("{base}-{n}");
            n += 1;
        }
        out.push((key, m));
    }
    out
}

/// Where a module comes in Particle's 6.3.4 manifests: the bootloader, the RTL872x
/// prebootloader parts, the radio stack, the system parts by index, the application, NCP
/// firmware (which lives on another chip) last, anything else before it by address.
pub fn manifest_rank(info: &crate::module::ModuleInfo) -> (u8, u8) {
    match info.function {
        ModuleFunction::Bootloader => (0, info.index),
        ModuleFunction::RadioStack => (1, info.index),
        ModuleFunction::SystemPart => (2, info.index),
        ModuleFunction::UserPart => (3, info.index),
        ModuleFunction::Ncp => (5, info.index),
        _ => (4, 0),
    }
}

fn key_of(m: &ModuleInput) -> String {
    let info = &m.module.info;
    match info.function {
        ModuleFunction::Bootloader if info.index == 0 => "bootloader".into(),
        ModuleFunction::Bootloader => format!("prebootloader-part{}", info.index - 1),
        ModuleFunction::SystemPart => format!("system-part{}", info.index),
        ModuleFunction::RadioStack => "softdevice".into(),
        ModuleFunction::Ncp => "ncp".into(),
        ModuleFunction::UserPart => {
            let file = std::path::Path::new(&m.name)
                .file_name()
                .map(|f| f.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            let tracker =
                crate::platform::by_id(info.platform_id).is_some_and(|p| p.name == "tracker");
            if file.contains("edge") || (tracker && !file.contains("tinker")) {
                "tracker-edge".into()
            } else {
                "tinker".into()
            }
        }
        other => other.name().to_string(),
    }
}

/// binary-version-reader's `prefixInfo`, field for field and in its order. Numbers are
/// the prefix's raw values (spec section 1); offsets are into the prefix.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrefixInfo {
    /// Start address (offset 0), lower-case hex without `0x`.
    pub module_start_addy: String,
    /// End address (offset 4), where the CRC starts, lower-case hex without `0x`.
    pub module_end_addy: String,
    /// The reserved byte (offset 8).
    pub reserved: u8,
    /// Flags (offset 9): 0x01 drop module info, 0x02 compressed, 0x04 combined, 0x08
    /// encrypted, 0x10 prefix extensions.
    pub module_flags: u8,
    /// Module version (offset 10): an integer, not the release.
    pub module_version: u16,
    /// Platform id (offset 12).
    #[serde(rename = "platformID")]
    pub platform_id: u16,
    /// Module function (offset 14) as its number: 2 bootloader, 4 system part, 5 user
    /// part, 8 radio stack, ...
    pub module_function: u8,
    /// Module index (offset 15).
    pub module_index: u8,
    /// First dependency's function (offset 16); 0 for none.
    pub dep_module_function: u8,
    /// First dependency's index (offset 17).
    pub dep_module_index: u8,
    /// First dependency's minimum version (offset 18).
    pub dep_module_version: u16,
    /// Second dependency's function (offset 20); 0 for none.
    pub dep2_module_function: u8,
    /// Second dependency's index (offset 21).
    pub dep2_module_index: u8,
    /// Second dependency's minimum version (offset 22).
    pub dep2_module_version: u16,
    /// Bytes: 24, plus the prefix extensions when flag 0x10 is set.
    pub prefix_size: usize,
    /// The extensions after the prefix, only when flag 0x10 is set (then possibly
    /// empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Vec<Extension>>,
    /// Where the prefix lies in the file, in bytes: 0, or after the vector table (0x184
    /// on STM32F2, 0x200 on nRF52840).
    pub prefix_offset: usize,
}

/// binary-version-reader's `suffixInfo`, field for field and in its order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SuffixInfo {
    /// Product id; -1 when the suffix is too short to hold it (under 40 bytes).
    pub product_id: i32,
    /// Product version; -1 when the suffix is too short to hold it (under 40 bytes).
    pub product_version: i32,
    /// The suffix's SHA-256 of the module, lower-case hex.
    pub fw_unique_id: String,
    /// The reserved half-word before the SHA-256.
    pub reserved: u16,
    /// The suffix size the module states (the half-word before the CRC), in bytes, the
    /// CRC not counted.
    pub suffix_size: usize,
    /// The trailing CRC-32 as its four bytes in the file (big-endian), lower-case hex.
    pub crc_block: String,
    /// The suffix's extensions, only when the suffix is larger than 40 bytes and holds
    /// at least one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Vec<Extension>>,
}

/// A module info extension as binary-version-reader's `_readExtension` reports it: type,
/// length, offset, its raw bytes, then the parsed fields of the types it knows (each type
/// has its own subset, in this order). The parsed fields are None for the types that do
/// not carry them, and left out of the JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    /// Type: 0 end, 1 product data, 2 dynamic location, 3 dependency, 0x10 hash, 0x11
    /// name, 0x12 asset dependency, 0x13 security mode, 0x14 asset type.
    #[serde(rename = "type")]
    pub kind: u16,
    /// Bytes of the whole extension, its 4-byte type and length included.
    pub length: usize,
    /// Where it starts, in bytes: from the prefix for a prefix extension, from the
    /// file's start for a suffix extension.
    pub offset: usize,
    /// The whole extension, header included.
    pub data: NodeBuffer,
    /// Product data (type 1): the product id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<u16>,
    /// Product data (type 1): the product version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_version: Option<u16>,
    /// Dynamic location (type 2): the module's start address, hex without `0x`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_start_address: Option<String>,
    /// Dynamic location (type 2): where the dynalib is loaded, hex without `0x`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynalib_load_address: Option<String>,
    /// Dynamic location (type 2): where the dynalib starts, hex without `0x`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynalib_start_address: Option<String>,
    /// Dependency (type 3): the function of the module depended on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_function: Option<u8>,
    /// Dependency (type 3): its index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_index: Option<u8>,
    /// Dependency (type 3): its minimum version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_version: Option<u16>,
    /// Dependency (type 3): the target id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_id: Option<u32>,
    /// Hash (0x10) and asset dependency (0x12): the hash algorithm's number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_type: Option<u8>,
    /// Hash (0x10) and asset dependency (0x12): the hash's length in bytes, as stated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_length: Option<u8>,
    /// Hash (0x10) and asset dependency (0x12): the hash, lower-case hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Name (0x11) and asset dependency (0x12): the name, as UTF-8 (invalid bytes
    /// replaced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Security mode (0x13): the mode byte.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_mode: Option<u8>,
    /// Security mode (0x13): the certificate that follows it, when not empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<NodeBuffer>,
    /// Asset type (0x14): the type byte.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset_type: Option<u8>,
}

/// Bytes as `JSON.stringify` writes a Node `Buffer`: `{"type": "Buffer", "data": [...]}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeBuffer(pub Vec<u8>);

impl Serialize for NodeBuffer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("type", "Buffer")?;
        map.serialize_entry("data", &self.0)?;
        map.end()
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `prefixInfo` and `suffixInfo` of a module already checked by [`crate::module::Module`]
/// (so every fixed field is in bounds), read from the raw bytes as binary-version-reader
/// reads them.
fn describe(bytes: &[u8], prefix_offset: usize) -> (PrefixInfo, SuffixInfo) {
    (prefix_info(bytes, prefix_offset), suffix_info(bytes))
}

fn prefix_info(bytes: &[u8], prefix_offset: usize) -> PrefixInfo {
    let r = &bytes[prefix_offset.min(bytes.len())..];
    let u8r = |at: usize| r.get(at).copied().unwrap_or(0);
    let u16r = |at: usize| u16_at(r, at).unwrap_or(0);
    let u32r = |at: usize| u32_at(r, at).unwrap_or(0);
    let flags = u8r(9);
    let mut prefix_size = PREFIX_LEN;
    let mut extensions = None;
    if ModuleFlags(flags).contains(ModuleFlags::PREFIX_EXTENSIONS) {
        let mut offs = PREFIX_LEN;
        let mut found = Vec::new();
        let limit = r.len().saturating_sub(SUFFIX_BASE_LEN + 4);
        while offs < limit {
            let Some(ext) = extension(r, offs) else { break };
            let (kind, length) = (ext.kind, ext.length);
            found.push(ext);
            offs += length;
            if length == 0 || kind == 0 {
                break;
            }
        }
        extensions = Some(found);
        prefix_size = offs;
    }
    PrefixInfo {
        module_start_addy: format!("{:x}", u32r(0)),
        module_end_addy: format!("{:x}", u32r(4)),
        reserved: u8r(8),
        module_flags: flags,
        module_version: u16r(10),
        platform_id: u16r(12),
        module_function: u8r(14),
        module_index: u8r(15),
        dep_module_function: u8r(16),
        dep_module_index: u8r(17),
        dep_module_version: u16r(18),
        dep2_module_function: u8r(20),
        dep2_module_index: u8r(21),
        dep2_module_version: u16r(22),
        prefix_size,
        extensions,
        prefix_offset,
    }
}

fn suffix_info(bytes: &[u8]) -> SuffixInfo {
    let len = bytes.len();
    let crc_at = len.saturating_sub(4);
    let suffix_size = u16_at(bytes, crc_at.saturating_sub(2)).unwrap_or(0) as usize;
    let sha_at = crc_at.saturating_sub(2 + 32);
    let reserved = u16_at(bytes, sha_at.saturating_sub(2)).unwrap_or(0);
    let (mut product_id, mut product_version) = (
        i32::from(u16_at(bytes, sha_at.saturating_sub(6)).unwrap_or(0)),
        i32::from(u16_at(bytes, sha_at.saturating_sub(4)).unwrap_or(0)),
    );
    if suffix_size < SUFFIX_BASE_LEN + 4 {
        product_id = -1;
        product_version = -1;
    }
    let mut extensions = Vec::new();
    if suffix_size > SUFFIX_BASE_LEN + 4 {
        let mut idx = len as i64 - 4 - suffix_size as i64;
        let end = len as i64 - 4 - SUFFIX_BASE_LEN as i64;
        while idx > 0 && idx < end {
            let Some(ext) = extension(bytes, idx as usize) else {
                break;
            };
            let (kind, length) = (ext.kind, ext.length);
            extensions.push(ext);
            idx += length as i64;
            if length == 0 || kind == 0 {
                break;
            }
        }
    }
    SuffixInfo {
        product_id,
        product_version,
        fw_unique_id: hex_of(&bytes[sha_at..crc_at.saturating_sub(2)]),
        reserved,
        suffix_size,
        crc_block: hex_of(&bytes[crc_at..]),
        extensions: (!extensions.is_empty()).then_some(extensions),
    }
}

/// One extension at `at`, or none where binary-version-reader finds none (an invalid
/// type, a length past the end).
fn extension(b: &[u8], at: usize) -> Option<Extension> {
    let kind = u16_at(b, at)?;
    let length = u16_at(b, at + 2)? as usize;
    if kind == 0xffff || at + length > b.len() {
        return None;
    }
    let body = at + 4;
    let end = at + length;
    let hex32 = |o: usize| u32_at(b, o).map(|v| format!("{v:x}"));
    let mut e = Extension {
        kind,
        length,
        offset: at,
        data: NodeBuffer(b[at..end].to_vec()),
        ..Extension::default()
    };
    match kind {
        // Product data: a reserved half-word, then the product id and version.
        0x0001 => {
            e.product_id = u16_at(b, body + 2);
            e.product_version = u16_at(b, body + 4);
        }
        0x0002 => {
            e.module_start_address = hex32(body);
            e.dynalib_load_address = hex32(body + 4);
            e.dynalib_start_address = hex32(body + 8);
        }
        0x0003 => {
            e.module_function = b.get(body).copied();
            e.module_index = b.get(body + 1).copied();
            e.module_version = u16_at(b, body + 2);
            e.target_id = u32_at(b, body + 4);
        }
        0x0010 => {
            e.hash_type = b.get(body).copied();
            e.hash_length = b.get(body + 1).copied();
            e.hash = b.get(body + 2..end).map(hex_of);
        }
        0x0011 => {
            e.name = b
                .get(body..end)
                .map(|n| String::from_utf8_lossy(n).into_owned());
        }
        0x0012 => {
            let hash_len = *b.get(body + 1)? as usize;
            let hash_end = body + 2 + hash_len;
            e.hash_type = b.get(body).copied();
            e.hash_length = Some(hash_len as u8);
            e.hash = b.get(body + 2..hash_end).map(hex_of);
            e.name = b
                .get(hash_end..end)
                .map(|n| String::from_utf8_lossy(n).into_owned());
        }
        0x0013 => {
            e.security_mode = b.get(body).copied();
            e.certificate = b
                .get(body + 1..end)
                .filter(|c| !c.is_empty())
                .map(|c| NodeBuffer(c.to_vec()));
        }
        0x0014 => {
            e.asset_type = b.get(body).copied();
        }
        _ => {}
    }
    Some(e)
}
