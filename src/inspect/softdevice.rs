//! Recognising a radio stack in flash. Its Particle prefix is dropped when it is placed,
//! so what remains is Nordic's own SoftDevice info structure, 0x2000 into the SoftDevice.

use crate::memory::MemoryImage;

/// Where the SoftDevice begins on an nRF52840 (right after the 4 KiB MBR).
pub const SOFTDEVICE_START: u32 = 0x1000;
const INFO_OFFSET: u64 = 0x2000;
const INFO_MAGIC: u32 = 0x51B1_E5DB;

/// Nordic's SoftDevice info structure at 0x3000, recognised by its magic word
/// 0x51B1E5DB (offset 4); the fields are Nordic's, at offsets 8, 12, 16 and 20.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftDeviceInfo {
    /// Nordic's firmware id, which Particle uses as the radio stack's module version.
    pub firmware_id: u16,
    /// Nordic's SoftDevice id (140 for S140).
    pub softdevice_id: u32,
    /// Version as Nordic encodes it: major * 1_000_000 + minor * 1_000 + patch.
    pub version: u32,
    /// First address past the SoftDevice's reserved flash.
    pub region_end: u32,
}

impl SoftDeviceInfo {
    /// Reads the structure from an image; None when its 24 bytes are not all present or
    /// the magic word is not there (no SoftDevice at 0x1000).
    pub fn read(image: &MemoryImage) -> Option<SoftDeviceInfo> {
        let at = u64::from(SOFTDEVICE_START) + INFO_OFFSET;
        let b = image.read(at, 0x18)?;
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        if u32_at(4) != INFO_MAGIC {
            return None;
        }
        Some(SoftDeviceInfo {
            region_end: u32_at(8),
            firmware_id: u16::from_le_bytes([b[12], b[13]]),
            softdevice_id: u32_at(16),
            version: u32_at(20),
        })
    }

    /// The SoftDevice as Nordic names it, e.g. `S140 7.0.1`.
    pub fn version_text(&self) -> String {
        format!(
            "S{} {}.{}.{}",
            self.softdevice_id,
            self.version / 1_000_000,
            self.version / 1_000 % 1_000,
            self.version % 1_000
        )
    }
}
