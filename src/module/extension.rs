//! Module info extensions: `{type: u16, length: u16, data}` records, where `length`
//! counts the 4-byte header too. Newer Device OS puts them in front of the suffix (and,
//! with flag 0x10, after the prefix).

use super::ModuleError;

/// An extension's type, the u16 at the start of its header. Device OS's own list; only
/// [`ProductData`](Self::ProductData) and [`Name`](Self::Name) are decoded here, the
/// rest are reported by name with their data as hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionKind {
    /// 0x0000: ends a list after the prefix; in front of the suffix, padding.
    End,
    /// 0x0001: a 32-bit product id and a 16-bit product version
    /// ([`Extension::product_data`]): what the legacy 40-byte suffix carries, in a list.
    ProductData,
    /// 0x0002.
    DynamicLocation,
    /// 0x0003.
    Dependency,
    /// 0x0010.
    Hash,
    /// 0x0011: a NUL-terminated name ([`Extension::name_text`]).
    Name,
    /// 0x0012.
    AssetDependency,
    /// 0x0013.
    SecurityMode,
    /// 0x0014.
    AssetType,
    /// 0xffff.
    Invalid,
    /// A type none of the above names, kept with its code so nothing read is lost.
    Unknown(u16),
}

impl ExtensionKind {
    /// Never fails: a code Device OS does not define becomes [`Unknown`](Self::Unknown).
    pub fn from_code(code: u16) -> Self {
        match code {
            0x0000 => Self::End,
            0x0001 => Self::ProductData,
            0x0002 => Self::DynamicLocation,
            0x0003 => Self::Dependency,
            0x0010 => Self::Hash,
            0x0011 => Self::Name,
            0x0012 => Self::AssetDependency,
            0x0013 => Self::SecurityMode,
            0x0014 => Self::AssetType,
            0xffff => Self::Invalid,
            other => Self::Unknown(other),
        }
    }

    /// The type as stored, the inverse of [`from_code`](Self::from_code).
    pub fn code(self) -> u16 {
        match self {
            Self::End => 0x0000,
            Self::ProductData => 0x0001,
            Self::DynamicLocation => 0x0002,
            Self::Dependency => 0x0003,
            Self::Hash => 0x0010,
            Self::Name => 0x0011,
            Self::AssetDependency => 0x0012,
            Self::SecurityMode => 0x0013,
            Self::AssetType => 0x0014,
            Self::Invalid => 0xffff,
            Self::Unknown(code) => code,
        }
    }

    /// The stable name used in JSON output (an extension's `type`); every
    /// [`Unknown`](Self::Unknown) code is `"unknown"`, so the JSON carries the code too.
    pub fn name(self) -> &'static str {
        match self {
            Self::End => "end",
            Self::ProductData => "product-data",
            Self::DynamicLocation => "dynamic-location",
            Self::Dependency => "dependency",
            Self::Hash => "hash",
            Self::Name => "name",
            Self::AssetDependency => "asset-dependency",
            Self::SecurityMode => "security-mode",
            Self::AssetType => "asset-type",
            Self::Invalid => "invalid",
            Self::Unknown(_) => "unknown",
        }
    }
}

/// One extension record as read from a module: a header of type (u16) and length (u16,
/// the header's 4 bytes included), then the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The type from the header.
    pub kind: ExtensionKind,
    /// Offset of the extension header from the start of the module.
    pub offset: usize,
    /// The extension's data, header excluded.
    pub data: Vec<u8>,
}

impl Extension {
    /// Product id (32-bit in this extension) and product version, from the data's first 6
    /// bytes; None for another kind or data too short. [`Suffix::product_id`](super::Suffix::product_id)
    /// says which id Particle's tools take from it.
    pub fn product_data(&self) -> Option<(u32, u16)> {
        if self.kind != ExtensionKind::ProductData || self.data.len() < 6 {
            return None;
        }
        let d = &self.data;
        Some((
            u32::from_le_bytes([d[0], d[1], d[2], d[3]]),
            u16::from_le_bytes([d[4], d[5]]),
        ))
    }

    /// The text of a name extension up to its first NUL, invalid UTF-8 replaced; None
    /// for another kind.
    pub fn name_text(&self) -> Option<String> {
        (self.kind == ExtensionKind::Name).then(|| {
            let end = self
                .data
                .iter()
                .position(|b| *b == 0)
                .unwrap_or(self.data.len());
            String::from_utf8_lossy(&self.data[..end]).into_owned()
        })
    }
}

/// Real modules carry a handful of extensions; a list longer than this is garbage, and
/// refusing it early keeps a search through a crafted image linear.
pub(crate) const MAX_EXTENSIONS: usize = 64;

/// Reads extensions from `bytes[from..to]`. A prefix list ends at its `End` record; a
/// suffix list fills its space exactly (an `End` there is padding).
pub(super) fn read_list(
    bytes: &[u8],
    from: usize,
    to: usize,
    stop_at_end: bool,
) -> Result<Vec<Extension>, ModuleError> {
    let place = if stop_at_end { "prefix" } else { "suffix" };
    let bad = |offset: usize, reason: String| ModuleError::BadExtension {
        place,
        offset,
        reason,
    };
    let mut list = Vec::new();
    let mut at = from;
    while at + 4 <= to {
        if list.len() == MAX_EXTENSIONS {
            return Err(bad(
                at,
                format!("more than {MAX_EXTENSIONS} extensions: the list is garbage"),
            ));
        }
        let code = u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let kind = ExtensionKind::from_code(code);
        let length = usize::from(u16::from_le_bytes([bytes[at + 2], bytes[at + 3]]));
        if length < 4 {
            return Err(bad(
                at,
                format!(
                    "type {code:#06x}, length field {length}: less than the 4-byte header it counts"
                ),
            ));
        }
        if at + length > to {
            return Err(bad(
                at,
                format!(
                    "type {code:#06x}, length field {length}: runs {} bytes past the end of the {place} extensions at offset {to:#x}",
                    at + length - to
                ),
            ));
        }
        list.push(Extension {
            kind,
            offset: at,
            data: bytes[at + 4..at + length].to_vec(),
        });
        at += length;
        if stop_at_end && kind == ExtensionKind::End {
            return Ok(list);
        }
    }
    if at != to && !stop_at_end {
        return Err(bad(
            at,
            format!(
                "{} bytes left over, too few for an extension header: the suffix size field or an extension's length is wrong",
                to - at
            ),
        ));
    }
    Ok(list)
}
