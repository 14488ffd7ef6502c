//! The STM32F2's CRC calculation unit (RM0033 section 4), which hexsmith's checksum
//! routine feeds on a Photon or Electron: CRC_DR at 0x4002_3000 takes a 32-bit word and
//! folds it into the CRC (polynomial 0x04C11DB7, most significant bit first, 4 AHB cycles
//! a word), CRC_IDR holds a byte for software, CRC_CR's RESET bit sets CRC_DR back to
//! 0xFFFF_FFFF. The unit is clocked by RCC_AHB1ENR.CRCEN (RM0033 5.3.10, bit 12): without
//! it, writes are lost and reads give 0, as an unclocked peripheral does.

use super::clock::Nanos;

/// CRC_DR; CRC_IDR at +4, CRC_CR at +8 (RM0033 4.4).
pub const BASE: u32 = 0x4002_3000;
/// RCC_AHB1ENR (RM0033 5.3.10).
pub const RCC_AHB1ENR: u32 = 0x4002_3830;
/// RCC_AHB1ENR.CRCEN.
pub const CRCEN: u32 = 1 << 12;
/// AHB cycles the unit takes for one word (RM0033 4.2: "4 AHB clock cycles").
pub const CYCLES_PER_WORD: u64 = 4;

/// The unit's registers and when it is done with the last word written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrcUnit {
    dr: u32,
    idr: u8,
    busy_until: Nanos,
}

impl Default for CrcUnit {
    /// The reset state: CRC_DR 0xFFFF_FFFF, CRC_IDR 0 (RM0033 4.4).
    fn default() -> CrcUnit {
        CrcUnit {
            dr: 0xFFFF_FFFF,
            idr: 0,
            busy_until: 0,
        }
    }
}

/// Whether `address` is one of the unit's registers.
pub fn holds(address: u32) -> bool {
    (BASE..BASE + 0xC).contains(&address)
}

impl CrcUnit {
    /// Reads a register at `now`; returns the value and when the read completes (a read
    /// of CRC_DR waits for the word in progress).
    pub fn read(&self, address: u32, now: Nanos) -> (u32, Nanos) {
        match address - BASE {
            0 => (self.dr, now.max(self.busy_until)),
            4 => (u32::from(self.idr), now),
            _ => (0, now),
        }
    }

    /// Writes a register at `now`; returns when the write completes. A word written to
    /// CRC_DR while the unit is busy waits for it, then keeps it busy for `word_ns`
    /// ([`CYCLES_PER_WORD`] cycles of the AHB clock).
    pub fn write(&mut self, address: u32, value: u32, now: Nanos, word_ns: Nanos) -> Nanos {
        match address - BASE {
            0 => {
                let start = now.max(self.busy_until);
                self.dr = fold(self.dr, value);
                self.busy_until = start + word_ns;
                start
            }
            4 => {
                self.idr = value as u8;
                now
            }
            _ => {
                if value & 1 != 0 {
                    self.dr = 0xFFFF_FFFF;
                }
                now
            }
        }
    }
}

/// One word folded into the CRC, most significant bit first (RM0033 4.3).
fn fold(crc: u32, word: u32) -> u32 {
    (0..32).fold(crc ^ word, |c, _| {
        if c & 0x8000_0000 != 0 {
            c << 1 ^ 0x04C1_1DB7
        } else {
            c << 1
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flash::checksum::Kind;

    #[test]
    fn the_unit_computes_what_the_host_expects() {
        let bytes: Vec<u8> = (0..64u8).map(|b| b.wrapping_mul(37)).collect();
        let mut unit = CrcUnit::default();
        unit.write(BASE + 8, 1, 0, 250);
        let mut now = 0;
        for word in bytes.chunks(4) {
            now = unit.write(BASE, u32::from_le_bytes(word.try_into().unwrap()), now, 250);
        }
        // Back-to-back words wait for each other: 4 cycles of 16 MHz each.
        assert_eq!(now, 15 * 250);
        let (value, done) = unit.read(BASE, now);
        assert_eq!(done, 16 * 250);
        assert_eq!(value, Kind::Stm32CrcUnit.of(&bytes));
        unit.write(BASE + 8, 1, done, 250);
        assert_eq!(unit.read(BASE, done).0, 0xFFFF_FFFF);
    }
}
