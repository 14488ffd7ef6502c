//! Comparing flash on the target: small Thumb-2 routines, run from RAM by the chip's
//! own core, answer for many ranges in one run, so an unchanged erase unit costs a few
//! words on the wire instead of its size.
//!
//! - The blank check says whether each range is all 0xFF: exact (every word is read),
//!   eight words per `ldm` ANDed together, so an erased range costs about 1.5
//!   instructions a word and a programmed one stops at its first programmed block.
//! - The CRC gives each range's CRC-32 (ISO-HDLC, as zlib) register: a word at a time,
//!   four table lookups, 4 instructions a byte. On an STM32F2, ranges of whole words go
//!   to the chip's CRC unit instead (4 cycles a word where the table takes 16; each word's
//!   flash wait states come on top of either). Each run says which [`Kind`] it computed,
//!   and the host computes the same with the `crc` crate.
//!
//! The routines' source is `checksum.s` beside this file (ARMv7-M: the nRF52840's
//! Cortex-M4 and the STM32F2's Cortex-M3); the halfwords below are its assembly.

/// The routines, ARMv7-M Thumb-2, assembled from `checksum.s` by
/// `llvm-mc -triple thumbv7m-none-eabi`. Each entry finds its header, results and table
/// PC-relative in the [`Layout`], so a call sets only the PC; both end on the BKPT at
/// [`Layout::halt`] after storing the header's marker after the last result.
#[rustfmt::skip]
const ROUTINES: [u16; 170] = [
    0xF20F, 0x55FC, // 0x000 crc: adr.w r5, header
    0xE8B5, 0x0140, // 0x004 ldm.w r5!, {r6, r8}
    0xF60F, 0x17FC, // 0x008 adr.w r7, results
    0xF20F, 0x12F0, // 0x00c adr.w r2, table
    0xCD03, // 0x010 crc_range: ldm r5!, {r0, r1}
    0xF04F, 0x33FF, // 0x012 mov.w r3, #-1
    0xB351, // 0x016 crc_head: cbz r1, crc_store
    0xF010, 0x0F03, // 0x018 tst.w r0, #3
    0xD101, // 0x01c bne crc_byte
    0x2904, // 0x01e cmp r1, #4
    0xD209, // 0x020 bhs crc_words
    0xF810, 0x4B01, // 0x022 crc_byte: ldrb r4, [r0], #1
    0x405C, // 0x026 eors r4, r3
    0xB2E4, // 0x028 uxtb r4, r4
    0xF852, 0x4024, // 0x02a ldr.w r4, [r2, r4, lsl #2]
    0xEA84, 0x2313, // 0x02e eor.w r3, r4, r3, lsr #8
    0x3901, // 0x032 subs r1, #1
    0xE7EF, // 0x034 b crc_head
    0x3904, // 0x036 crc_words: subs r1, #4
    0xF850, 0x4B04, // 0x038 crc_word: ldr r4, [r0], #4
    0x4063, // 0x03c eors r3, r4
    0xB2DC, // 0x03e uxtb r4, r3
    0xF852, 0x4024, // 0x040 ldr.w r4, [r2, r4, lsl #2]
    0xEA84, 0x2313, // 0x044 eor.w r3, r4, r3, lsr #8
    0xB2DC, // 0x048 uxtb r4, r3
    0xF852, 0x4024, // 0x04a ldr.w r4, [r2, r4, lsl #2]
    0xEA84, 0x2313, // 0x04e eor.w r3, r4, r3, lsr #8
    0xB2DC, // 0x052 uxtb r4, r3
    0xF852, 0x4024, // 0x054 ldr.w r4, [r2, r4, lsl #2]
    0xEA84, 0x2313, // 0x058 eor.w r3, r4, r3, lsr #8
    0xB2DC, // 0x05c uxtb r4, r3
    0xF852, 0x4024, // 0x05e ldr.w r4, [r2, r4, lsl #2]
    0xEA84, 0x2313, // 0x062 eor.w r3, r4, r3, lsr #8
    0x3904, // 0x066 subs r1, #4
    0xD2E6, // 0x068 bhs crc_word
    0x3104, // 0x06a adds r1, #4
    0xE7D3, // 0x06c b crc_head
    0xF847, 0x3B04, // 0x06e crc_store: str r3, [r7], #4
    0x3E01, // 0x072 subs r6, #1
    0xD1CC, // 0x074 bne crc_range
    0xE03B, // 0x076 b done
    0xF20F, 0x5584, // 0x078 blank: adr.w r5, header
    0xE8B5, 0x0140, // 0x07c ldm.w r5!, {r6, r8}
    0xF60F, 0x1784, // 0x080 adr.w r7, results
    0xCD03, // 0x084 blank_range: ldm r5!, {r0, r1}
    0xB361, // 0x086 blank_head: cbz r1, blank_yes
    0xF010, 0x0F03, // 0x088 tst.w r0, #3
    0xD103, // 0x08c bne blank_byte
    0x2920, // 0x08e cmp r1, #32
    0xD207, // 0x090 bhs blank_blocks
    0x2904, // 0x092 cmp r1, #4
    0xD21B, // 0x094 bhs blank_words
    0xF810, 0x4B01, // 0x096 blank_byte: ldrb r4, [r0], #1
    0x2CFF, // 0x09a cmp r4, #0xff
    0xD123, // 0x09c bne blank_no
    0x3901, // 0x09e subs r1, #1
    0xE7F1, // 0x0a0 b blank_head
    0x3920, // 0x0a2 blank_blocks: subs r1, #32
    0xE8B0, 0x5E1C, // 0x0a4 blank_block: ldm.w r0!, {r2, r3, r4, r9, r10, r11, r12, lr}
    0x401A, // 0x0a8 ands r2, r3
    0x4022, // 0x0aa ands r2, r4
    0xEA02, 0x0209, // 0x0ac and.w r2, r2, r9
    0xEA02, 0x020A, // 0x0b0 and.w r2, r2, r10
    0xEA02, 0x020B, // 0x0b4 and.w r2, r2, r11
    0xEA02, 0x020C, // 0x0b8 and.w r2, r2, r12
    0xEA02, 0x020E, // 0x0bc and.w r2, r2, lr
    0xF112, 0x0F01, // 0x0c0 cmn.w r2, #1
    0xD10F, // 0x0c4 bne blank_no
    0x3920, // 0x0c6 subs r1, #32
    0xD2EC, // 0x0c8 bhs blank_block
    0x3120, // 0x0ca adds r1, #32
    0xE7DB, // 0x0cc b blank_head
    0x3904, // 0x0ce blank_words: subs r1, #4
    0xF850, 0x2B04, // 0x0d0 blank_word: ldr r2, [r0], #4
    0xF112, 0x0F01, // 0x0d4 cmn.w r2, #1
    0xD105, // 0x0d8 bne blank_no
    0x3904, // 0x0da subs r1, #4
    0xD2F8, // 0x0dc bhs blank_word
    0x3104, // 0x0de adds r1, #4
    0xE7D1, // 0x0e0 b blank_head
    0x2301, // 0x0e2 blank_yes: movs r3, #1
    0xE000, // 0x0e4 b blank_store
    0x2300, // 0x0e6 blank_no: movs r3, #0
    0xF847, 0x3B04, // 0x0e8 blank_store: str r3, [r7], #4
    0x3E01, // 0x0ec subs r6, #1
    0xD1C9, // 0x0ee bne blank_range
    0xF8C7, 0x8000, // 0x0f0 done: str.w r8, [r7]
    0xBE00, // 0x0f4 bkpt #0
    0xF20F, 0x5508, // 0x0f6 unit: adr.w r5, header
    0xE8B5, 0x0140, // 0x0fa ldm.w r5!, {r6, r8}
    0xF60F, 0x1708, // 0x0fe adr.w r7, results
    0xF643, 0x0230, // 0x102 movw r2, #0x3830
    0xF2C4, 0x0202, // 0x106 movt r2, #0x4002
    0x6813, // 0x10a ldr r3, [r2]
    0xF443, 0x5380, // 0x10c orr r3, r3, #0x1000
    0x6013, // 0x110 str r3, [r2]
    0xF243, 0x0200, // 0x112 movw r2, #0x3000
    0xF2C4, 0x0202, // 0x116 movt r2, #0x4002
    0xCD03, // 0x11a unit_range: ldm r5!, {r0, r1}
    0x2301, // 0x11c movs r3, #1
    0x6093, // 0x11e str r3, [r2, #8]
    0x0889, // 0x120 lsrs r1, r1, #2
    0x3904, // 0x122 subs r1, #4
    0xD309, // 0x124 blo unit_tail
    0xE8B0, 0x0618, // 0x126 unit_block: ldm.w r0!, {r3, r4, r9, r10}
    0x6013, // 0x12a str r3, [r2]
    0x6014, // 0x12c str r4, [r2]
    0xF8C2, 0x9000, // 0x12e str.w r9, [r2]
    0xF8C2, 0xA000, // 0x132 str.w r10, [r2]
    0x3904, // 0x136 subs r1, #4
    0xD2F5, // 0x138 bhs unit_block
    0x3104, // 0x13a unit_tail: adds r1, #4
    0xB121, // 0x13c unit_words: cbz r1, unit_store
    0xF850, 0x3B04, // 0x13e ldr r3, [r0], #4
    0x6013, // 0x142 str r3, [r2]
    0x3901, // 0x144 subs r1, #1
    0xE7F9, // 0x146 b unit_words
    0x6813, // 0x148 unit_store: ldr r3, [r2]
    0xF847, 0x3B04, // 0x14a str r3, [r7], #4
    0x3E01, // 0x14e subs r6, #1
    0xD1E3, // 0x150 bne unit_range
    0xE7CD, // 0x152 b done
];

/// Where the CRC routine starts, from [`Layout::code`].
const CRC_ENTRY: u32 = 0x00;
/// Where the blank check starts, from [`Layout::code`].
const BLANK_ENTRY: u32 = 0x78;
/// Where the STM32F2 CRC unit's routine starts, from [`Layout::code`].
const UNIT_ENTRY: u32 = 0xF6;
/// Where both stop, on their BKPT, from [`Layout::code`].
const HALT: u32 = 0xF4;
/// Bytes set aside for the code: the table follows at this offset, as `checksum.s` has it.
const CODE_BYTES: u32 = 512;

/// The host's side of the same CRC, for the bytes a unit should hold.
pub const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Ranges one run handles at most; the RAM it needs grows with it.
pub const MAX_RANGES: usize = 128;

/// Verify checks a run of erased words at least this long with the blank check rather
/// than the CRC: shorter ones would cost more on the wire (two words in, one out, about
/// 0.2 ms on a CMSIS-DAP v1 probe) than the core time they save (about 3.6 cycles a
/// byte; 0.23 us at the STM32F2's 16 MHz).
pub const MIN_BLANK_RUN: usize = 4096;

/// Which routine a run starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routine {
    /// Each range's CRC register ([`Kind::Crc32Register`]).
    Crc,
    /// 1 for each range that is all 0xFF, 0 for any other.
    Blank,
    /// Each range's result from the STM32F2's CRC unit ([`Kind::Stm32CrcUnit`]); whole
    /// aligned words only.
    Stm32CrcUnit,
}

/// What a target's checksums are, so that the host computes the same of the bytes it
/// expects. One run of checksums is all of one kind ([`Checksums`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The CRC routine's register: CRC-32/ISO-HDLC (as zlib) before its final inversion,
    /// of any range; also what the RTL872x loader's verify command compares, inverted.
    Crc32Register,
    /// The STM32F2's CRC calculation unit (RM0033 section 4): polynomial 0x04C11DB7 from
    /// 0xFFFFFFFF, fed 32-bit words, each most significant bit first, no final XOR; that
    /// is CRC-32/MPEG-2 over each little-endian word's bytes, most significant first. Of
    /// whole aligned words only. The unit does a word in 4 AHB cycles, where the routine's
    /// table takes 16 instructions.
    Stm32CrcUnit,
}

impl Kind {
    /// This kind's checksum of `bytes` (for [`Kind::Stm32CrcUnit`], a whole number of
    /// words; a partial last word counts as padded with 0xFF).
    pub fn of(self, bytes: &[u8]) -> u32 {
        match self {
            Kind::Crc32Register => expected(bytes),
            Kind::Stm32CrcUnit => {
                let mut digest = MPEG_2.digest();
                for word in bytes.chunks(4) {
                    let mut w = [0xFF; 4];
                    w[..word.len()].copy_from_slice(word);
                    digest.update(&u32::from_le_bytes(w).to_be_bytes());
                }
                digest.finalize()
            }
        }
    }
}

/// The STM32F2 CRC unit's computation, in the `crc` crate's terms.
const MPEG_2: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_MPEG_2);

/// One checksum per range asked, all of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksums {
    /// What they are.
    pub kind: Kind,
    /// One per range, in order.
    pub values: Vec<u32>,
}

impl Checksums {
    /// Whether the `k`-th range's checksum is that of `bytes`.
    pub fn matches(&self, k: usize, bytes: &[u8]) -> bool {
        self.values.get(k) == Some(&self.kind.of(bytes))
    }
}

/// Where the routines, their table, the ranges and the results lie in the target's RAM,
/// one after the other from `base`: [`Layout::SIZE`] bytes in all.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// RAM address of the routines: word-aligned, with [`Layout::SIZE`] bytes of RAM from
    /// it (a probe takes the top of the RAM at 0x2000_0000).
    pub base: u32,
}

impl Layout {
    /// Bytes of RAM the routines need, from `base` on: code, table, header and pairs,
    /// results and the marker.
    pub const SIZE: u32 =
        CODE_BYTES + 1024 + 8 + (MAX_RANGES as u32) * 8 + (MAX_RANGES as u32 + 1) * 4;

    /// Where the code goes ([`program`] loads from here).
    pub fn code(&self) -> u32 {
        self.base
    }
    /// Where `routine` starts: the PC to set.
    pub fn entry(&self, routine: Routine) -> u32 {
        self.base
            + match routine {
                Routine::Crc => CRC_ENTRY,
                Routine::Blank => BLANK_ENTRY,
                Routine::Stm32CrcUnit => UNIT_ENTRY,
            }
    }
    /// The BKPT every routine stops on.
    pub fn halt(&self) -> u32 {
        self.base + HALT
    }
    /// The 256-word CRC table, right after the code.
    pub fn table(&self) -> u32 {
        self.base + CODE_BYTES
    }
    /// The header: the count of ranges, the call's marker, then up to [`MAX_RANGES`]
    /// `(address, length)` word pairs; [`header`] gives its words.
    pub fn header(&self) -> u32 {
        self.table() + 1024
    }
    /// One result word per range, in order, then the marker.
    pub fn results(&self) -> u32 {
        self.header() + 8 + (MAX_RANGES as u32) * 8
    }
}

/// The routines and their table, as the words to load at [`Layout::code`].
pub fn program() -> Vec<u32> {
    let mut words: Vec<u32> = ROUTINES
        .chunks(2)
        .map(|h| u32::from(h[0]) | u32::from(*h.get(1).unwrap_or(&0xBF00)) << 16)
        .collect();
    words.resize(CODE_BYTES as usize / 4, 0);
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

/// The header words of one run over `ranges` (at most [`MAX_RANGES`]): the count, the
/// marker the routine stores after its last result (so that results left by an earlier
/// run are never taken for this one's), then the pairs.
pub fn header(ranges: &[(u32, u32)], marker: u32) -> Vec<u32> {
    let mut words = vec![ranges.len() as u32, marker];
    words.extend(ranges.iter().flat_map(|(a, l)| [*a, *l]));
    words
}

/// The routine's result for these bytes: the CRC register before its final inversion.
pub fn expected(bytes: &[u8]) -> u32 {
    !CRC.checksum(bytes)
}

/// The runs of erased (0xFF) words in `bytes`, which start at flash address `start`, at
/// least [`MIN_BLANK_RUN`] bytes long, as `(address, length)`; each starts on a word of
/// the flash. What they leave is [`between`]'s.
pub fn erased_runs(start: u32, bytes: &[u8]) -> Vec<(u32, u32)> {
    let skew = (4 - start as usize % 4) % 4;
    let mut runs = Vec::new();
    let mut from: Option<usize> = None;
    let words = bytes.get(skew..).unwrap_or_default().chunks(4);
    let mut at = skew;
    for word in words.chain(std::iter::once(&[][..])) {
        let erased = word.len() == 4 && word.iter().all(|b| *b == 0xFF);
        match (erased, from) {
            (true, None) => from = Some(at),
            (false, Some(f)) => {
                if at - f >= MIN_BLANK_RUN {
                    runs.push((start + f as u32, (at - f) as u32));
                }
                from = None;
            }
            _ => {}
        }
        at += word.len();
    }
    runs
}

/// The parts of `[start, start + len)` outside `runs` (sorted, inside it).
pub fn between(start: u32, len: u32, runs: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let mut at = u64::from(start);
    for (s, l) in runs {
        if u64::from(*s) > at {
            out.push((at as u32, (u64::from(*s) - at) as u32));
        }
        at = u64::from(*s) + u64::from(*l);
    }
    let end = u64::from(start) + u64::from(len);
    if at < end {
        out.push((at as u32, (end - at) as u32));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_the_crc_crates() {
        // Running the table the way the routine does, a word at a time, gives the crate's
        // CRC.
        let table = &program()[CODE_BYTES as usize / 4..];
        let bytes = b"123456789 and some more bytes...";
        let mut reg = !0u32;
        for word in bytes.chunks(4) {
            reg ^= u32::from_le_bytes(word.try_into().unwrap());
            for _ in 0..4 {
                reg = table[(reg & 0xFF) as usize] ^ reg >> 8;
            }
        }
        assert_eq!(reg, expected(bytes));
        assert_eq!(!expected(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn the_code_fits_its_room_and_ends_on_the_bkpt() {
        assert!(ROUTINES.len() * 2 <= CODE_BYTES as usize);
        assert_eq!(ROUTINES[HALT as usize / 2], 0xBE00);
        let layout = Layout { base: 0x2000_0000 };
        assert_eq!(
            layout.results() + (MAX_RANGES as u32 + 1) * 4,
            layout.base + Layout::SIZE
        );
        // The PC-relative addresses in the code are the layout's (adr.w: Align(PC, 4) +
        // imm), as the assembler computed them from `checksum.s`.
        let adr = |at: usize| {
            let (a, b) = (u32::from(ROUTINES[at / 2]), u32::from(ROUTINES[at / 2 + 1]));
            let imm = (a >> 10 & 1) << 11 | (b >> 12 & 7) << 8 | b & 0xFF;
            (at as u32 + 4) / 4 * 4 + imm
        };
        for at in [0x00, 0x78, 0xF6] {
            assert_eq!(adr(at), layout.header() - layout.base, "{at:#x}");
            assert_eq!(adr(at + 8), layout.results() - layout.base, "{at:#x}");
        }
        assert_eq!(adr(0x0C), layout.table() - layout.base);
    }

    #[test]
    fn the_stm32_unit_kind_is_mpeg_2_over_big_endian_words() {
        // Bit by bit, as RM0033 4.3 describes the unit: each word's MSB first.
        let unit = |words: &[u32]| {
            words.iter().fold(!0u32, |crc, w| {
                (0..32).fold(crc ^ w, |c, _| {
                    if c & 0x8000_0000 != 0 {
                        c << 1 ^ 0x04C1_1DB7
                    } else {
                        c << 1
                    }
                })
            })
        };
        let bytes = b"0123456789abcdefGHIJ";
        let words: Vec<u32> = bytes
            .chunks(4)
            .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
            .collect();
        assert_eq!(Kind::Stm32CrcUnit.of(bytes), unit(&words));
        assert_eq!(Kind::Crc32Register.of(bytes), expected(bytes));
    }

    #[test]
    fn erased_runs_are_long_word_aligned_and_exact() {
        let mut bytes = vec![0u8; 3 * MIN_BLANK_RUN];
        bytes[10..10 + MIN_BLANK_RUN + 9].fill(0xFF);
        bytes[2 * MIN_BLANK_RUN..2 * MIN_BLANK_RUN + 100].fill(0xFF);
        // Starting two bytes into a word: runs begin on the flash's words.
        let runs = erased_runs(0x1002, &bytes);
        assert_eq!(runs, vec![(0x1002 + 10, MIN_BLANK_RUN as u32 + 8)]);
        let rest = between(0x1002, bytes.len() as u32, &runs);
        assert_eq!(rest.len(), 2);
        assert_eq!(rest[0], (0x1002, 10));
        let end = rest[1].0 + rest[1].1;
        assert_eq!(end, 0x1002 + bytes.len() as u32);
        assert_eq!(
            erased_runs(0, &vec![0xFF; 4 * MIN_BLANK_RUN]),
            vec![(0, 4 * MIN_BLANK_RUN as u32)]
        );
        assert_eq!(erased_runs(0, &vec![0xFF; MIN_BLANK_RUN - 4]), vec![]);
    }
}
