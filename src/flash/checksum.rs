//! Comparing flash by checksums computed on the target: a small Thumb routine, run from
//! RAM by the chip's own core, computes the CRC-32 (ISO-HDLC, as zlib) of many ranges in
//! one run, so an unchanged erase unit costs a few words on the wire instead of its size.
//! The host computes the same CRC with the `crc` crate.

/// The routine, ARMv6-M Thumb (runs on any Cortex-M). In: r5 points at `count` pairs
/// (address, length), r6 = count, r2 = the CRC table, r7 = where the results go. Each
/// range's CRC register (before the final inversion) is stored at r7, in order; then it
/// stops on a BKPT.
const ROUTINE: [u16; 18] = [
    0xCD03, // outer: ldmia r5!, {r0, r1}
    0x2300, //        movs r3, #0
    0x43DB, //        mvns r3, r3
    0x7804, // inner: ldrb r4, [r0]
    0x3001, //        adds r0, #1
    0x405C, //        eors r4, r3
    0x0624, //        lsls r4, r4, #24
    0x0DA4, //        lsrs r4, r4, #22
    0x5914, //        ldr  r4, [r2, r4]
    0x0A1B, //        lsrs r3, r3, #8
    0x4063, //        eors r3, r4
    0x3901, //        subs r1, #1
    0xD1F5, //        bne  inner
    0xC708, //        stmia r7!, {r3}
    0x3E01, //        subs r6, #1
    0xD1EF, //        bne  outer
    0xBE00, //        bkpt #0
    0x46C0, //        nop (mov r8, r8): pads the table to a word boundary
];

/// The host's side of the same CRC, for the bytes a unit should hold.
pub const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Ranges one run handles at most; the RAM it needs grows with it.
pub const MAX_RANGES: usize = 128;

/// Where the routine, its table, the ranges and the results lie in the target's RAM, one
/// after the other from `base`: [`Layout::SIZE`] bytes in all.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// RAM address of the routine: word-aligned, with [`Layout::SIZE`] bytes of RAM from
    /// it (a probe takes the top of the RAM at 0x2000_0000).
    pub base: u32,
}

impl Layout {
    /// Bytes of RAM the routine needs, from `base` on.
    pub const SIZE: u32 = 36 + 1024 + (MAX_RANGES as u32) * 12;

    /// Where the routine's 36 bytes of Thumb code go: run from here, it stops on its BKPT
    /// at `code() + 32`.
    pub fn code(&self) -> u32 {
        self.base
    }
    /// The 256-word CRC table (r2), right after the code.
    pub fn table(&self) -> u32 {
        self.base + 36
    }
    /// Room for [`MAX_RANGES`] `(address, length)` word pairs (r5).
    pub fn ranges(&self) -> u32 {
        self.table() + 1024
    }
    /// Room for [`MAX_RANGES`] result words (r7), one per range, in order.
    pub fn results(&self) -> u32 {
        self.ranges() + (MAX_RANGES as u32) * 8
    }
}

/// The routine and its table, as the words to load at `Layout::code`.
pub fn program() -> Vec<u32> {
    let mut words: Vec<u32> = ROUTINE
        .chunks(2)
        .map(|h| u32::from(h[0]) | u32::from(h[1]) << 16)
        .collect();
    words.extend((0..256u32).map(|n| {
        (0..8).fold(n, |c, _| {
            if c & 1 != 0 {
                c >> 1 ^ 0xEDB8_8320
            } else {
                c >> 1
            }
        })
    }));
    words
}

/// The routine's result for these bytes: the CRC register before its final inversion.
pub fn expected(bytes: &[u8]) -> u32 {
    !CRC.checksum(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_the_crc_crates() {
        // Running the table the way the routine does gives the crate's CRC.
        let table = &program()[9..];
        let bytes = b"123456789 and some more bytes";
        let mut reg = !0u32;
        for b in bytes {
            reg = table[((reg ^ u32::from(*b)) & 0xFF) as usize] ^ reg >> 8;
        }
        assert_eq!(reg, expected(bytes));
        assert_eq!(!expected(b"123456789"), 0xCBF4_3926);
    }
}
