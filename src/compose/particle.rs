//! The manifest Particle publishes beside each restore image (`<platform>.json`): for
//! every module, the `prefixInfo` and `suffixInfo` objects exactly as Particle's own
//! reader, binary-version-reader, prints them, so that tools written around the published
//! files read hexsmith's. Field names, their order, and their formats (addresses as
//! lower-case hex without `0x`, -1 for product fields a short suffix does not have,
//! extensions with their raw bytes as a Node `Buffer` serialises) follow that reader
//! (version 3.1.3), not hexsmith's own manifest.

use super::ModuleInput;
use crate::module::ModuleFunction;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// The module prefix is 24 bytes; binary-version-reader's `prefixSize` grows by the
/// prefix extensions.
const PREFIX_SIZE: usize = 24;
/// The smallest suffix (size, reserved, SHA-256): product fields lie below it.
const MIN_SUFFIX_SIZE: usize = 36;
/// Module flag: extensions follow the prefix.
const FLAG_PREFIX_EXTENSIONS: u8 = 0x10;

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

/// The whole `<platform>.json`: one entry per module, in address order.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticleManifest {
    /// The modules, in the image's address order.
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
    /// manifests use; an application is `tinker` or `tracker-edge` when its file name
    /// says so (as in the published manifests), `user-part` otherwise. A second module
    /// under the same key gets `-2`, `-3`, ... appended, so none is lost.
    pub fn of(modules: &[&ModuleInput]) -> ParticleManifest {
        let mut sorted: Vec<&&ModuleInput> = modules.iter().collect();
        sorted.sort_by_key(|m| (m.module.info.start, m.name.clone()));
        let mut out: Vec<ParticleModule> = Vec::new();
        for m in sorted {
            let base = key_of(m);
            let mut key = base.clone();
            let mut n = 2;
            while out.iter().any(|o| o.key == key) {
                key = format!("{base}-{n}");
                n += 1;
            }
            let (prefix_info, suffix_info) = describe(&m.bytes, m.module.prefix_offset);
            out.push(ParticleModule {
                key,
                prefix_info,
                suffix_info,
            });
        }
        ParticleManifest { modules: out }
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
            if file.contains("tinker") {
                "tinker".into()
            } else if file.contains("edge") {
                "tracker-edge".into()
            } else {
                "user-part".into()
            }
        }
        other => other.name().to_string(),
    }
}

/// binary-version-reader's `prefixInfo`, field for field and in its order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)] // The names are the reader's; the module doc says where they come from.
pub struct PrefixInfo {
    pub module_start_addy: String,
    pub module_end_addy: String,
    pub reserved: u8,
    pub module_flags: u8,
    pub module_version: u16,
    #[serde(rename = "platformID")]
    pub platform_id: u16,
    pub module_function: u8,
    pub module_index: u8,
    pub dep_module_function: u8,
    pub dep_module_index: u8,
    pub dep_module_version: u16,
    pub dep2_module_function: u8,
    pub dep2_module_index: u8,
    pub dep2_module_version: u16,
    pub prefix_size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Vec<Extension>>,
    pub prefix_offset: usize,
}

/// binary-version-reader's `suffixInfo`, field for field and in its order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct SuffixInfo {
    /// -1 when the suffix is too short to hold it.
    pub product_id: i32,
    /// -1 when the suffix is too short to hold it.
    pub product_version: i32,
    pub fw_unique_id: String,
    pub reserved: u16,
    pub suffix_size: usize,
    pub crc_block: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Vec<Extension>>,
}

/// A module info extension as binary-version-reader's `_readExtension` reports it: type,
/// length, offset, its raw bytes, then the parsed fields of the types it knows (each type
/// has its own subset, in this order).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Extension {
    #[serde(rename = "type")]
    pub kind: u16,
    pub length: usize,
    pub offset: usize,
    pub data: NodeBuffer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_version: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_start_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynalib_load_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynalib_start_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_function: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_index: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_version: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_length: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_mode: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<NodeBuffer>,
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
    let mut prefix_size = PREFIX_SIZE;
    let mut extensions = None;
    if flags & FLAG_PREFIX_EXTENSIONS != 0 {
        let mut offs = PREFIX_SIZE;
        let mut found = Vec::new();
        let limit = r.len().saturating_sub(MIN_SUFFIX_SIZE + 4);
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
    if suffix_size < MIN_SUFFIX_SIZE + 4 {
        product_id = -1;
        product_version = -1;
    }
    let mut extensions = Vec::new();
    if suffix_size > MIN_SUFFIX_SIZE + 4 {
        let mut idx = len as i64 - 4 - suffix_size as i64;
        let end = len as i64 - 4 - MIN_SUFFIX_SIZE as i64;
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
