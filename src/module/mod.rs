//! The Particle module format: a flat binary that carries a 24-byte prefix
//! (`module_info_t`), a suffix with a SHA-256, and a big-endian CRC-32 at the end.
//!
//! Device OS decides whether a module may run by reading exactly these fields at boot,
//! so everything here is parsed defensively: any byte string gives either a [`Module`]
//! or a [`ModuleError`] that says what is wrong, never a panic.
//!
//! ```
//! use hexsmith::module::{Module, ModuleFunction, seal};
//!
//! // The smallest user part for a Boron (platform 13) at 0xD4000: a prefix, 8 bytes of
//! // code, a 36-byte base suffix and the CRC. `seal` fills in the SHA-256 and the CRC.
//! let mut bytes = vec![0u8; 24 + 8 + 36 + 4];
//! let end = 0xD4000 + (bytes.len() as u32 - 4);
//! bytes[0..4].copy_from_slice(&0xD4000u32.to_le_bytes());
//! bytes[4..8].copy_from_slice(&end.to_le_bytes());
//! bytes[12..14].copy_from_slice(&13u16.to_le_bytes());
//! bytes[14] = ModuleFunction::UserPart.code();
//! let n = bytes.len();
//! bytes[n - 6..n - 4].copy_from_slice(&36u16.to_le_bytes());
//! seal(&mut bytes)?;
//!
//! let module = Module::parse(&bytes)?;
//! assert!(module.crc_ok() && module.sha256_ok());
//! assert_eq!(module.info.function, ModuleFunction::UserPart);
//! assert_eq!(module.info.file_len(), bytes.len() as u64);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod dependency;
mod extension;
mod prefix;
mod seal;

pub use dependency::{DependencyStatus, Present};
pub use extension::{Extension, ExtensionKind};
pub use prefix::{Dependency, ModuleFlags, ModuleFunction, ModuleInfo, PREFIX_LEN};
pub use seal::{SealError, seal};

use sha2::{Digest, Sha256};

/// CRC-32 as Device OS computes it (ISO-HDLC, the zlib polynomial), stored big-endian.
pub const MODULE_CRC: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISO_HDLC);

/// Where the prefix may sit: at the start, or after the interrupt vector table of an
/// nRF52840 (0x200) or STM32F2 (0x184) image. Tried first, in this order.
pub const PREFIX_OFFSETS: [usize; 3] = [0, 0x200, 0x184];

/// Beyond the well-known offsets, a prefix is searched at every 4-byte boundary below this.
pub const PREFIX_SEARCH_LIMIT: usize = 8 * 1024;

/// reserved (2) + SHA-256 (32) + size (2): the smallest suffix Device OS writes.
pub const SUFFIX_BASE_LEN: usize = 36;
const CRC_LEN: usize = 4;
const SHA_LEN: usize = 32;

/// Why bytes are not a readable module. A module that reads but fails its CRC or SHA-256
/// is not an error: see [`Module::crc_ok`] and [`Module::sha256_ok`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleError {
    /// No bytes at all.
    #[error("file is empty")]
    Empty,
    /// No offset holds a prefix consistent with the bytes: not a Particle module, or one
    /// whose prefix is corrupt.
    #[error(
        "no valid module prefix found (tried offsets 0, 0x200, 0x184 and every 4-byte boundary below 8 KiB); at offset 0, {at_start}"
    )]
    NoPrefix {
        /// Which prefix field at offset 0 is invalid, in words, e.g. "the function field
        /// (byte 14) is 66, ...".
        at_start: String,
    },
    /// [`Module::parse_at`] found no valid prefix at the one offset it was given.
    #[error("no valid module prefix at offset {offset:#x}, the only offset tried: {reason}")]
    NoPrefixAt {
        /// The offset given, in bytes from the module's first byte.
        offset: usize,
        /// Which prefix field there is invalid, in words, as for
        /// [`NoPrefix`](Self::NoPrefix).
        reason: String,
    },
    /// A valid prefix (at a well-known offset, or the offset given to
    /// [`Module::parse_at`]) describes a module of another length: the file is truncated
    /// or has bytes appended.
    #[error(
        "{found} bytes, but the prefix at offset {offset:#x} describes a module of {expected} bytes ({start:#010x}-{end:#010x}): truncated or padded"
    )]
    LengthMismatch {
        /// Where the prefix sits in the file, in bytes.
        offset: usize,
        /// The prefix's start address.
        start: u32,
        /// The prefix's (exclusive) end address.
        end: u32,
        /// The file length the prefix implies: `end - start + 4`.
        expected: u64,
        /// The actual length of the bytes given.
        found: usize,
    },
    /// The suffix size field (the u16 just before the CRC) is below [`SUFFIX_BASE_LEN`] or
    /// larger than the room between prefix and CRC. Size 0 is also reported for bytes too
    /// short to hold a prefix, a base suffix and a CRC.
    #[error("suffix size {size} is impossible for a module of {len} bytes")]
    BadSuffixSize {
        /// The suffix size as stored (or 0, see above).
        size: u16,
        /// The module's length in bytes.
        len: usize,
    },
    /// An extension record cannot be read: a length field under 4 or past the end of its
    /// list, bytes left over in the suffix, or more than 64 records.
    #[error("{place} extension at offset {offset:#x}: {reason}")]
    BadExtension {
        /// `"prefix"` (extensions after the prefix, flag 0x10) or `"suffix"`.
        place: &'static str,
        /// Offset of the offending record's header from the module's first byte.
        offset: usize,
        /// What is wrong with it, in words.
        reason: String,
    },
}

/// The suffix that precedes the CRC: product data, extensions and the module's SHA-256.
/// Read backwards from the end: CRC (4 bytes), size (u16), SHA-256 (32), reserved (2),
/// then whatever the size says lies in front of those 36 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suffix {
    /// The suffix size field, 6 bytes from the end: bytes from the suffix's first byte to
    /// the CRC. 36 for the base suffix, 40 with legacy product data, more with extensions
    /// (62 on P2, Tracker M and M-SoM user parts).
    pub size: u16,
    /// The SHA-256 as stored (38 to 6 bytes from the end); compare
    /// [`Module::sha256_computed`].
    pub sha256: [u8; SHA_LEN],
    /// From the 40-byte legacy suffix (its 16-bit id), or from the product-data extension:
    /// its whole 32-bit id, except when the extension ends right where the legacy suffix
    /// kept the id, where the id's upper 16 bits are taken, as Particle's own reader and
    /// cloud do. None when the suffix holds neither.
    pub product_id: Option<u32>,
    /// From the same place as [`product_id`](Self::product_id); None when it is None.
    pub product_version: Option<u16>,
    /// Extension records in front of the base suffix, in file order, `End` padding
    /// included; empty for 36- and 40-byte suffixes.
    pub extensions: Vec<Extension>,
}

/// A parsed module together with the outcome of its integrity checks. It holds no
/// bytes: functions that need them ([`flash_payload`]) take the parsed bytes beside it.
#[derive(Debug, Clone)]
pub struct Module {
    /// The prefix, as read at [`prefix_offset`](Self::prefix_offset).
    pub info: ModuleInfo,
    /// Offset of the prefix from the first byte of the module: 0, 0x184 (STM32F2) or
    /// 0x200 (nRF52840) in real files.
    pub prefix_offset: usize,
    /// Extensions that follow the prefix (flag 0x10), up to and including their `End`
    /// record; empty without the flag.
    pub prefix_extensions: Vec<Extension>,
    /// The suffix in front of the CRC.
    pub suffix: Suffix,
    /// The big-endian CRC-32 in the last 4 bytes.
    pub crc_stored: u32,
    /// [`MODULE_CRC`] over every byte before the CRC.
    pub crc_computed: u32,
    /// What [`Suffix::sha256`] should be: the SHA-256 of every byte before the stored
    /// hash, or for a module flagged [`ModuleFlags::DROP_MODULE_INFO`] (the radio stack)
    /// of the payload between prefix and suffix only, the bytes that land in flash.
    pub sha256_computed: [u8; SHA_LEN],
}

impl Module {
    /// Parses a module file, searching for its prefix the way a robust reader must:
    /// offsets 0, 0x200, 0x184, then every 4-byte boundary below 8 KiB, taking the first
    /// valid prefix whose length matches the file's. Refuses with a [`ModuleError`] what
    /// cannot be read; a corrupt but readable module parses, with
    /// [`crc_ok`](Self::crc_ok) or [`sha256_ok`](Self::sha256_ok) false. Linear in the
    /// file's length.
    pub fn parse(bytes: &[u8]) -> Result<Module, ModuleError> {
        if bytes.is_empty() {
            return Err(ModuleError::Empty);
        }
        let offset = find_prefix(bytes)?;
        Module::parse_at(bytes, offset)
    }

    /// Parses a module whose prefix is known to sit at `prefix_offset`; `bytes` is the
    /// whole module, from its start address to the end of its CRC. For callers that
    /// already found a candidate prefix, as the module search in an image does; no other
    /// offset is tried.
    pub fn parse_at(bytes: &[u8], prefix_offset: usize) -> Result<Module, ModuleError> {
        let info =
            ModuleInfo::read(bytes, prefix_offset).ok_or_else(|| ModuleError::NoPrefixAt {
                offset: prefix_offset,
                reason: prefix_fault(bytes, prefix_offset),
            })?;
        let expected = info.file_len();
        if expected != bytes.len() as u64 {
            return Err(ModuleError::LengthMismatch {
                offset: prefix_offset,
                start: info.start,
                end: info.end,
                expected,
                found: bytes.len(),
            });
        }
        let suffix = read_suffix(bytes, prefix_offset)?;
        let prefix_extensions = if info.flags.contains(ModuleFlags::PREFIX_EXTENSIONS) {
            let range = body(bytes.len(), prefix_offset, &suffix);
            extension::read_list(bytes, range.start, range.end, true)?
        } else {
            Vec::new()
        };

        let crc_at = bytes.len() - CRC_LEN;
        let crc_stored = u32::from_be_bytes(bytes[crc_at..].try_into().expect("4 bytes"));
        let crc_computed = MODULE_CRC.checksum(&bytes[..crc_at]);
        let sha256_computed = sha256_of_covered(bytes, prefix_offset, &info, &suffix);
        Ok(Module {
            info,
            prefix_offset,
            prefix_extensions,
            suffix,
            crc_stored,
            crc_computed,
            sha256_computed,
        })
    }

    /// The CRC a device checks at boot matches: false means the file was altered or
    /// damaged after it was sealed.
    pub fn crc_ok(&self) -> bool {
        self.crc_stored == self.crc_computed
    }

    /// The suffix's SHA-256 matches the bytes it covers. After editing a module's bytes,
    /// [`seal`] makes both this and [`crc_ok`](Self::crc_ok) true again.
    pub fn sha256_ok(&self) -> bool {
        self.suffix.sha256 == self.sha256_computed
    }
}

/// The bytes a module puts in flash. For a module flagged "drop module info" (the
/// radio stack) that is the payload between prefix and suffix; otherwise the whole file.
/// Either way it is written from `module.info.start` on. `module` must be the result of
/// parsing these same `bytes`.
pub fn flash_payload<'a>(bytes: &'a [u8], module: &Module) -> &'a [u8] {
    if module.info.flags.contains(ModuleFlags::DROP_MODULE_INFO) {
        &bytes[body(bytes.len(), module.prefix_offset, &module.suffix)]
    } else {
        bytes
    }
}

/// The bytes between the prefix and the suffix.
fn body(len: usize, prefix_offset: usize, suffix: &Suffix) -> std::ops::Range<usize> {
    let from = prefix_offset + PREFIX_LEN;
    let to = len - CRC_LEN - usize::from(suffix.size);
    from..to.max(from)
}

/// The SHA-256 in the suffix covers everything before it, except for "drop module
/// info" modules, where it covers only what lands in flash (checked on real radio stacks).
fn sha256_of_covered(
    bytes: &[u8],
    prefix_offset: usize,
    info: &ModuleInfo,
    suffix: &Suffix,
) -> [u8; 32] {
    let covered = if info.flags.contains(ModuleFlags::DROP_MODULE_INFO) {
        &bytes[body(bytes.len(), prefix_offset, suffix)]
    } else {
        &bytes[..bytes.len() - CRC_LEN - 2 - SHA_LEN]
    };
    Sha256::digest(covered).into()
}

fn find_prefix(bytes: &[u8]) -> Result<usize, ModuleError> {
    let candidates = PREFIX_OFFSETS
        .into_iter()
        .chain((0..PREFIX_SEARCH_LIMIT).step_by(4));
    let mut first_plausible = None;
    for offset in candidates {
        let Some(info) = ModuleInfo::read(bytes, offset) else {
            continue;
        };
        if info.file_len() == bytes.len() as u64 {
            return Ok(offset);
        }
        if first_plausible.is_none() && PREFIX_OFFSETS.contains(&offset) {
            first_plausible = Some((offset, info));
        }
    }
    match first_plausible {
        Some((offset, info)) => Err(ModuleError::LengthMismatch {
            offset,
            start: info.start,
            end: info.end,
            expected: info.file_len(),
            found: bytes.len(),
        }),
        None => Err(ModuleError::NoPrefix {
            at_start: prefix_fault(bytes, 0),
        }),
    }
}

/// Which field of the prefix at `offset` makes it invalid, for a one-line refusal.
fn prefix_fault(bytes: &[u8], offset: usize) -> String {
    let Some(p) = bytes.get(offset..).filter(|p| p.len() >= PREFIX_LEN) else {
        return format!(
            "only {} bytes, fewer than the {PREFIX_LEN}-byte prefix: the file is truncated",
            bytes.len().saturating_sub(offset)
        );
    };
    let u32_at = |i: usize| u32::from_le_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]]);
    let function = p[14];
    if ModuleFunction::from_code(function).is_none_or(|f| f == ModuleFunction::None) {
        return format!(
            "the function field (byte 14) is {function}, not a module function (1 to 9): not a Particle module, or a corrupt one"
        );
    }
    let (start, end) = (u32_at(0), u32_at(4));
    if end <= start {
        return format!(
            "the end address (bytes 4-7) {end:#010x} is not after the start address (bytes 0-3) {start:#010x}"
        );
    }
    for at in [16, 20] {
        if ModuleFunction::from_code(p[at]).is_none() {
            return format!(
                "the dependency's function field (byte {at}) is {}, not a module function (0 to 9)",
                p[at]
            );
        }
    }
    "the prefix's fields are valid but describe another length".to_string()
}

/// The suffix size field of a module whose prefix sits at `prefix_offset`, if a suffix of
/// that size fits between prefix and CRC. The module search in an image asks this before
/// it spends checksum budget on a candidate, by the same rule [`Module::parse_at`] applies.
pub(crate) fn suffix_size(bytes: &[u8], prefix_offset: usize) -> Result<u16, ModuleError> {
    let len = bytes.len();
    let min_len = prefix_offset + PREFIX_LEN + SUFFIX_BASE_LEN + CRC_LEN;
    let bad = |size| ModuleError::BadSuffixSize { size, len };
    if len < min_len {
        return Err(bad(0));
    }
    let size = u16::from_le_bytes([bytes[len - 6], bytes[len - 5]]);
    let suffix_len = usize::from(size);
    if suffix_len < SUFFIX_BASE_LEN || suffix_len > len - CRC_LEN - prefix_offset - PREFIX_LEN {
        return Err(bad(size));
    }
    Ok(size)
}

fn read_suffix(bytes: &[u8], prefix_offset: usize) -> Result<Suffix, ModuleError> {
    let len = bytes.len();
    let size = suffix_size(bytes, prefix_offset)?;
    let suffix_len = usize::from(size);
    let sha_at = len - CRC_LEN - 2 - SHA_LEN;
    let sha256: [u8; 32] = bytes[sha_at..sha_at + SHA_LEN]
        .try_into()
        .expect("32 bytes");
    let suffix_start = len - CRC_LEN - suffix_len;
    // What precedes the base suffix (reserved, SHA, size): legacy product data or extensions.
    let extra = &bytes[suffix_start..len - CRC_LEN - SUFFIX_BASE_LEN];
    let (mut product_id, mut product_version, extensions) = if extra.len() == 4 {
        let id = u16::from_le_bytes([extra[0], extra[1]]);
        let version = u16::from_le_bytes([extra[2], extra[3]]);
        (Some(u32::from(id)), Some(version), Vec::new())
    } else if extra.is_empty() {
        (None, None, Vec::new())
    } else {
        let list = extension::read_list(bytes, suffix_start, suffix_start + extra.len(), false)?;
        (None, None, list)
    };
    // Particle's own reader (and so its cloud) takes the product id and version from the
    // 4 bytes before the base suffix, where the legacy suffix kept them; the product-data
    // extension always ends there, its 32-bit id's upper half in the id's old place.
    if let Some(ext) = extensions.iter().find(|e| e.product_data().is_some()) {
        let ends_at_base = ext.offset + 4 + ext.data.len() == suffix_start + extra.len();
        let (id, version) = ext.product_data().expect("checked");
        product_id = Some(if ends_at_base { id >> 16 } else { id });
        product_version = Some(version);
    }
    Ok(Suffix {
        size,
        sha256,
        product_id,
        product_version,
        extensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small synthetic module: enough to exercise the parser without real binaries.
    pub(crate) fn synthetic(start: u32, body: usize, suffix_size: u16) -> Vec<u8> {
        let len = PREFIX_LEN + body + usize::from(suffix_size) + CRC_LEN;
        let end = start + (len - CRC_LEN) as u32;
        let mut bytes = vec![0u8; len];
        bytes[0..4].copy_from_slice(&start.to_le_bytes());
        bytes[4..8].copy_from_slice(&end.to_le_bytes());
        bytes[10..12].copy_from_slice(&7u16.to_le_bytes());
        bytes[12..14].copy_from_slice(&13u16.to_le_bytes());
        bytes[14] = 5;
        bytes[15] = 1;
        bytes[16] = 4;
        bytes[17] = 1;
        bytes[18..20].copy_from_slice(&4005u16.to_le_bytes());
        let size_at = len - CRC_LEN - 2;
        bytes[size_at..size_at + 2].copy_from_slice(&suffix_size.to_le_bytes());
        seal(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn sealed_synthetic_module_verifies() {
        let bytes = synthetic(0xD4000, 100, 40);
        let m = Module::parse(&bytes).unwrap();
        assert!(m.crc_ok() && m.sha256_ok());
        assert_eq!(m.info.function, ModuleFunction::UserPart);
        assert_eq!(m.suffix.product_id, Some(0));
    }

    #[test]
    fn every_flipped_byte_is_caught() {
        let bytes = synthetic(0xD4000, 64, 36);
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x5A;
            if let Ok(m) = Module::parse(&b) {
                assert!(!m.crc_ok(), "flip at {i} not caught by CRC");
            }
        }
    }

    #[test]
    fn truncation_is_reported_with_sizes() {
        let bytes = synthetic(0xD4000, 64, 36);
        let err = Module::parse(&bytes[..bytes.len() - 10]).unwrap_err();
        assert!(
            matches!(err, ModuleError::LengthMismatch { offset: 0, .. }),
            "{err}"
        );
    }

    #[test]
    fn garbage_has_no_prefix() {
        let err = Module::parse(&[0x42; 100]).unwrap_err().to_string();
        assert!(
            err.ends_with("at offset 0, the function field (byte 14) is 66, not a module function (1 to 9): not a Particle module, or a corrupt one"),
            "{err}"
        );
        assert_eq!(Module::parse(&[]).unwrap_err(), ModuleError::Empty);
    }

    #[test]
    fn an_invalid_prefix_names_its_field() {
        let fault = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut bytes = synthetic(0xD4000, 64, 36);
            edit(&mut bytes);
            Module::parse(&bytes).unwrap_err().to_string()
        };
        let err = fault(&|b| b.truncate(10));
        assert!(
            err.ends_with("only 10 bytes, fewer than the 24-byte prefix: the file is truncated"),
            "{err}"
        );
        let err = fault(&|b| b[4..8].copy_from_slice(&0xD0000u32.to_le_bytes()));
        assert!(
            err.ends_with("the end address (bytes 4-7) 0x000d0000 is not after the start address (bytes 0-3) 0x000d4000"),
            "{err}"
        );
        let err = fault(&|b| b[14] = 42);
        assert!(err.contains("the function field (byte 14) is 42"), "{err}");
        let err = fault(&|b| b[20] = 200);
        assert!(
            err.contains("the dependency's function field (byte 20) is 200"),
            "{err}"
        );
    }

    #[test]
    fn impossible_suffix_size_is_refused() {
        let mut bytes = synthetic(0xD4000, 64, 36);
        let n = bytes.len();
        bytes[n - 6..n - 4].copy_from_slice(&0xFFFFu16.to_le_bytes());
        assert!(matches!(
            Module::parse(&bytes),
            Err(ModuleError::BadSuffixSize { .. })
        ));
    }
}
