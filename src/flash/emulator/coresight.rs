//! What a debugger reads to learn which chip it is attached to, before it is told: the
//! CoreSight ROM table the AHB-AP's BASE register points at, the identification registers
//! of each component it lists, and the STM32F2's DBGMCU_IDCODE. probe-rs's
//! auto-detection (`TargetSelector::Auto`) reads exactly these, then the vendor's own ID
//! registers (the nRF52840's FICR INFO, modelled in [`super::bus`]).
//!
//! The RTL8721DM's ROM table is not modelled: probe-rs detects no Realtek chip, and the
//! target hexsmith registers for it carries no part number, so a table there would only
//! be read to be ignored. Its reads come back zero, as the map below 0xE00FF000 does, which
//! is no ROM table at all: detection fails there as it does on the real module.

use super::Chip;

/// Where the AHB-AP's BASE register says the ROM table is (the Cortex-M3 and M4 TRMs:
/// "the ROM table is at 0xE00FF000"), with BASE's format (bit 1) and present (bit 0) bits.
pub const ROM_TABLE_BASE: u32 = 0xE00F_F003;
const ROM_TABLE: u32 = ROM_TABLE_BASE & !0xFFF;

/// STM32F2 DBGMCU_IDCODE (RM0033 32.6.1 "MCU device ID code"), on the external PPB.
const DBGMCU_IDCODE: u32 = 0xE004_2000;
/// DEV_ID 0x411 (every STM32F20x and F21x) and REV_ID 0x201F ("revision 2 or 3", the
/// newest RM0033 rev 9 lists).
const STM32F2_IDCODE: u32 = 0x201F_0411;

/// One CoreSight component's identification: its class (CIDR1[7:4], ADIv5 table D1-2),
/// the designer's JEP106 code (continuation count, identity) and the part number.
struct ComponentId {
    class: u8,
    jep106_cc: u8,
    jep106_id: u8,
    part: u16,
    /// PIDR2[7:4] / PIDR3: the revision fields, as the silicon's designer set them.
    revision: u8,
}

/// ARM's JEP106 code: continuation 4, identity 0x3B ("designer=43b" in pyOCD's logs).
const ARM: (u8, u8) = (4, 0x3B);

impl ComponentId {
    const fn arm(class: u8, part: u16) -> ComponentId {
        ComponentId {
            class,
            jep106_cc: ARM.0,
            jep106_id: ARM.1,
            part,
            revision: 0,
        }
    }

    /// The 32-bit register at `offset` (0xFD0..0xFFC) of the component's 4 KiB block.
    /// PIDR4..7 at 0xFD0, PIDR0..3 at 0xFE0, CIDR0..3 at 0xFF0; each holds one byte
    /// (ADIv5 D1.2 / CoreSight architecture B2.2).
    fn register(&self, offset: u32) -> u32 {
        let pidr = |n: u32| -> u32 {
            match n {
                0 => u32::from(self.part & 0xFF),
                1 => u32::from(self.part >> 8 & 0xF) | u32::from(self.jep106_id & 0xF) << 4,
                // JEP106 identity's top three bits, and bit 3: "a JEDEC code is used".
                2 => u32::from(self.jep106_id >> 4 & 0x7) | 0x8 | u32::from(self.revision) << 4,
                3 => 0,
                4 => u32::from(self.jep106_cc & 0xF),
                _ => 0,
            }
        };
        match offset {
            0xFD0..=0xFDC => pidr(4 + (offset - 0xFD0) / 4),
            0xFE0..=0xFEC => pidr((offset - 0xFE0) / 4),
            // The CIDR preamble 0xB105_000D with the class in CIDR1[7:4].
            0xFF0 => 0x0D,
            0xFF4 => u32::from(self.class) << 4,
            0xFF8 => 0x05,
            0xFFC => 0xB1,
            _ => 0,
        }
    }
}

/// The ROM table's own identification. Its designer and part name the chip: that is what
/// probe-rs's `read_chip_info_from_rom_table` takes as the chip's manufacturer and part.
fn rom_table_id(chip: Chip) -> Option<ComponentId> {
    match chip {
        // A real nRF52840 QIAA D0 as pyOCD's discovery lists it: "ROM table #0 @
        // 0xe00ff000 (designer=244 part=008)", Nordic's JEP106 code 0x244 (continuation
        // 2, identity 0x44, as probe-rs's JEP_NORDICSEMI), part 0x008.
        Chip::Nrf52840 => Some(ComponentId {
            class: 1,
            jep106_cc: 2,
            jep106_id: 0x44,
            part: 0x008,
            revision: 0,
        }),
        // ST names the chip's DEV_ID as the ROM table's part (RM0033 32.6.1: DEV_ID
        // 0x411), with its JEP106 code 0x20 (continuation 0: STMicroelectronics, as the
        // STM32F2 target family's `manufacturer` in probe-rs says).
        Chip::Stm32f205 => Some(ComponentId {
            class: 1,
            jep106_cc: 0,
            jep106_id: 0x20,
            part: 0x411,
            revision: 0,
        }),
        Chip::Rtl8721dm => None,
    }
}

/// The ROM table's entries: each component's offset from the table, with bit 0 "present"
/// and bit 1 "32-bit format". The Cortex-M3 and M4 TRMs' ROM tables (table "Cortex-M4 ROM
/// table", 0xFFF0F003 for the SCS and so on), with the TPIU and ETM both chips have
/// (pyOCD's nRF52840 log lists TPIU M4 and ETM M4; RM0033 32.1 shows the F2's TPIU and
/// ETM), then the zero entry that ends the table.
const ENTRIES: [(u32, u32); 6] = [
    (0xE000_E000, 0xFFF0_F003), // SCS
    (0xE000_1000, 0xFFF0_2003), // DWT
    (0xE000_2000, 0xFFF0_3003), // FPB
    (0xE000_0000, 0xFFF0_1003), // ITM
    (0xE004_0000, 0xFFF4_1003), // TPIU
    (0xE004_1000, 0xFFF4_2003), // ETM
];

/// Each listed component's identification (Cortex-M3 r2p0 TRM and Cortex-M4 r0p1 TRM,
/// "identification registers"; the M4 part numbers as pyOCD reads them from an nRF52840:
/// SCS 00c, DWT 002, FPB 003, ITM 001, TPIU 9a1, ETM 925).
fn component_id(chip: Chip, base: u32) -> Option<ComponentId> {
    let m4 = chip == Chip::Nrf52840;
    Some(match base {
        // SCS: class 0xE (generic IP); the M3's part is 0x000, the M4's 0x00C.
        0xE000_E000 => ComponentId::arm(0xE, if m4 { 0x00C } else { 0x000 }),
        0xE000_1000 => ComponentId::arm(0xE, 0x002),
        0xE000_2000 => ComponentId::arm(0xE, 0x003),
        0xE000_0000 => ComponentId::arm(0xE, 0x001),
        // TPIU and ETM are CoreSight components (class 9): M3 TPIU 0x923, ETM-M3 0x924.
        0xE004_0000 => ComponentId::arm(0x9, if m4 { 0x9A1 } else { 0x923 }),
        0xE004_1000 => ComponentId::arm(0x9, if m4 { 0x925 } else { 0x924 }),
        _ => return None,
    })
}

/// The word at `address` (0xE000_0000 and up, word-aligned) if it is one of the
/// identification registers above; `None` leaves the address to the core's registers.
pub fn read(chip: Chip, address: u32) -> Option<u32> {
    if chip == Chip::Stm32f205 && address == DBGMCU_IDCODE {
        return Some(STM32F2_IDCODE);
    }
    let rom = rom_table_id(chip)?;
    let block = address & !0xFFF;
    let offset = address & 0xFFF;
    if block == ROM_TABLE {
        return Some(match offset {
            0x000..=0x014 => {
                let (component, _) = ENTRIES[(offset / 4) as usize];
                // The offset is relative to the table (two's complement).
                component.wrapping_sub(ROM_TABLE) & !0xFFF | 0x3
            }
            // MEMTYPE.SYSMEM: system memory is on this bus too.
            0xFCC => 1,
            0xFD0.. => rom.register(offset),
            _ => 0,
        });
    }
    if offset < 0xFD0 {
        return None;
    }
    component_id(chip, block).map(|c| c.register(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entries are computed from the component addresses; the TRMs give them as
    /// constants, which must agree.
    #[test]
    fn rom_table_entries_are_the_trm_values() {
        for (k, (_, trm)) in ENTRIES.iter().enumerate() {
            let at = ROM_TABLE + 4 * k as u32;
            assert_eq!(read(Chip::Nrf52840, at), Some(*trm), "entry {k}");
            assert_eq!(read(Chip::Stm32f205, at), Some(*trm), "entry {k}");
        }
        assert_eq!(read(Chip::Nrf52840, ROM_TABLE + 0x18), Some(0));
        assert_eq!(read(Chip::Rtl8721dm, ROM_TABLE), None);
    }

    /// The ROM table's PIDR bytes as pyOCD decodes them ("designer=244 part=008").
    #[test]
    fn nrf52840_rom_table_names_nordic() {
        let word = |o| read(Chip::Nrf52840, ROM_TABLE + o).unwrap();
        let part = word(0xFE0) | (word(0xFE4) & 0xF) << 8;
        let identity = word(0xFE4) >> 4 | (word(0xFE8) & 0x7) << 4;
        let cc = word(0xFD0) & 0xF;
        assert_eq!((cc, identity, part), (2, 0x44, 0x008));
        let cidr: Vec<u32> = (0..4).map(|k| word(0xFF0 + 4 * k)).collect();
        assert_eq!(cidr, [0x0D, 0x10, 0x05, 0xB1]);
    }
}
