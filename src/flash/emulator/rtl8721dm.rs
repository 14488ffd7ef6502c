//! The Realtek RTL8721DM (AmebaD) as Particle's flash loader sees it from the KM0 core:
//! its RAM, the SPI NOR behind the flash controller (XIP-mapped at 0x0800_0000), the
//! always-on registers the OpenOCD script touches, the watchdog, an eFuse MAC, and the
//! KM0 boot ROM routines the loader calls, provided at their entry points.
//!
//! The ROM is not public. Its routines are written from the AmebaD SDK's declarations
//! (`rtl8721d_flash.h`: the FLASH_* prototypes, `FLASH_InitTypeDef`'s fields, the erase
//! types), Realtek's flash driver source for the MXIC defaults (`FLASH_StructInit_MXIC`),
//! Device OS `hal/src/rtl872x/deviceid_hal.cpp` for the eFuse logical map, and what the
//! loader itself does with them; the entry points are the KM0 ROM symbol table
//! `rlx8721d_rom_symbol_acut.ld` (`project_lp`), as spec 4.1 lists them. Everything else the loader does (its command
//! dispatch, the CRC-32 of `verify`, chunking, padding) runs as the loader's own Thumb
//! code on the emulated core: no mailbox command is recognised here.

use super::bus::{Bus, BusFault};

/// KM0 SRAM (Device OS `scripts/init_km0.gdb`: "KM0 RAM 64KB", 0x00080000-0x0008FFFF).
pub const RAM: u32 = 0x0008_0000;
/// Its size.
pub const RAM_LEN: usize = 0x1_0000;
/// The external SPI NOR flash as the flash controller maps it for XIP (init_km0.gdb:
/// "External flash 8MB", 0x08000000-0x087FFFFF). Read-only on the bus: it is written
/// only through the controller's user mode, which the ROM's FLASH_* routines drive.
pub const FLASH: u32 = 0x0800_0000;
/// 8 MiB: the P2's MX25L6433F-class part (the user part ends at 0x085FFFFC).
pub const FLASH_LEN: usize = 0x80_0000;
/// The KM0 boot ROM (init_km0.gdb: "KM0 ROM 128KB + 32KB", 0x00000000-0x00027FFF). The
/// core's fetches here are calls of ROM routines.
pub const ROM_END: u32 = 0x0002_8000;

/// REG_LP_BOOT_CFG in the always-on domain: a system reset keeps it. Bit 26 makes the ROM
/// start the RAM image (the script's `rtl872x_init`).
pub const BOOT_CFG: u32 = 0x4800_03F8;
/// BOOT_CFG bit 26: boot the RAM image at 0x0008_2000 instead of flash.
pub const BOOT_RAM: u32 = 1 << 26;
/// REG_LP_KM4_CTRL: bits 3 and 24 let the KM4 run; the script clears both.
pub const KM4_CTRL: u32 = 0x4800_021C;
/// REG_AON_PM_OPT: bit 1 resets the chip when a download finishes.
pub const AON_PM_OPT: u32 = 0x4800_0054;
/// The KM0 watchdog's control register (the script's `WDG_BASE`).
pub const WATCHDOG: u32 = 0x4000_2800;
/// Watchdog enable (bit 16) and reset mode (bit 30): with both set the watchdog resets the
/// chip. The model resets at once instead of after the divider's timeout.
const WDG_RESET: u32 = 1 << 16 | 1 << 30;

/// What BOOT_CFG and KM4_CTRL read on a P2 out of reset (measured on RTL8720DF silicon by
/// a public write-up; Particle's `init_km0.gdb` writes 0x201 to BOOT_CFG for XIP boot).
const BOOT_CFG_RESET: u32 = 0x0000_0201;
const KM4_CTRL_RESET: u32 = 0x0101_001F;

/// The top of the KM0 RAM, where the stack starts when the ROM enters the RAM image.
pub const STACK_TOP: u32 = RAM + RAM_LEN as u32;

/// Where the state file keeps the eFuse (not on any bus: the eFuse is read through the
/// ROM's `EFUSE_LogicalMap_Read`): the logical map's 1 KiB from here.
pub const EFUSE_RECORD: u32 = 0xF000_0000;
/// The Wi-Fi MAC's offset in the eFuse logical map: the loader copies 6 bytes from
/// `map + 0x11A` (Realtek's `EEPROM_MAC_ADDR_8721D`).
pub const EFUSE_MAC_OFFSET: u32 = 0x11A;
/// The state file's record of Device Protection's eFuse: any value but 0xFF keeps SWD
/// closed. (Which eFuse Particle burns is not public; the model needs only its effect.)
pub const EFUSE_SWD_CLOSED: u32 = EFUSE_RECORD + 0x3F0;

/// The KM0 ROM's flash_init_para, the `FLASH_InitTypeDef` the ROM's FLASH_* routines use:
/// the loader hands this address to FLASH_StructInit_MXIC and reads its commands back.
const FLASH_INIT_PARA: u32 = 0x0008_01F8;

/// The JEDEC ID the SPI NOR answers to 0x9F: Macronix (0xC2), MX25L, 64 Mbit (0x17).
const JEDEC_ID: [u8; 3] = [0xC2, 0x20, 0x17];
/// A NOR page: a page program that runs past its end wraps to its start (Macronix
/// MX25L6433F datasheet, PP), which the model does too.
const PAGE: u32 = 256;

/// The SPI NOR's registers that survive between commands.
#[derive(Debug, Clone, Default)]
pub struct Nor {
    /// Status register (0x05/0x01) and the MXIC configuration register (0x15).
    status: [u8; 3],
}

/// The values of the registers the script reads before it writes them.
pub fn reset_registers(bus: &mut Bus) {
    bus.scratch.insert(BOOT_CFG, BOOT_CFG_RESET);
    bus.scratch.insert(KM4_CTRL, KM4_CTRL_RESET);
    bus.scratch.insert(AON_PM_OPT, 0);
}

/// Where the core starts after a reset: the RAM image's entry when BOOT_CFG asks for it,
/// else `None` (the ROM boots the firmware in flash, which the emulator does not run).
///
/// The RAM image starts with AmebaD's `RAM_START_FUNCTION` table, whose first word is
/// `RamStartFun`; Particle's loader fills every entry of it with its own entry point
/// (0x0008_2051), so the ROM's jump to the first word is what starts it.
pub fn boot(bus: &mut Bus) -> Option<(u32, u32)> {
    let cfg = bus.scratch.get(&BOOT_CFG).copied().unwrap_or(0);
    if cfg & BOOT_RAM == 0 {
        return None;
    }
    let entry = bus
        .read(super::super::rtl872x::loader::LOAD_ADDRESS, 4)
        .ok()?;
    Some((STACK_TOP, entry & !1))
}

/// A register write: the watchdog resets the chip, anything else is kept.
pub fn write_register(bus: &mut Bus, address: u32, value: u32) -> Result<(), BusFault> {
    if address < 0x4000_0000 {
        return Err(BusFault);
    }
    if address == WATCHDOG && value & WDG_RESET == WDG_RESET {
        bus.reset_requested = true;
    }
    bus.scratch.insert(address, value);
    Ok(())
}

/// Reads a register (or the ROM, which reads as zeros: its content is not public).
pub fn read_register(bus: &Bus, address: u32) -> Result<u32, BusFault> {
    if address < ROM_END {
        return Ok(0);
    }
    if address < 0x4000_0000 {
        return Err(BusFault);
    }
    Ok(bus.scratch.get(&address).copied().unwrap_or(0))
}

/// Runs the ROM routine whose entry the core reached (`pc`, Thumb bit clear) with the
/// AAPCS arguments `args` (r0-r3); returns r0. A routine the model does not provide is an
/// error naming its address, never a silent return.
pub fn rom_call(pc: u32, args: [u32; 4], bus: &mut Bus) -> Result<u32, String> {
    let [a0, a1, a2, a3] = args;
    let fault = |what: &str, at: u32| format!("{what}: no memory at {at:#010x}");
    match pc | 1 {
        // EFUSE_LogicalMap_Read(u8 *pbuf): the 1 KiB logical map, 0xFF where unprogrammed
        // (Device OS reads it the same way, through the SDK's EFUSE_LMAP_READ, into a
        // buffer it fills with 0xFF first); returns 1, which the loader checks as success.
        0x1965 => {
            let mut map = vec![0xFF; 1024];
            let mac = bus.id_bytes.clone();
            let at = EFUSE_MAC_OFFSET as usize;
            map[at..at + mac.len()].copy_from_slice(&mac);
            store(bus, a0, &map).map_err(|_| fault("EFUSE_LogicalMap_Read", a0))?;
            Ok(1)
        }
        // void FLASH_RxCmd(u8 cmd, u32 read_len, u8 *read_data) (rtl8721d_flash.h): a
        // command with a data-in phase, in user mode.
        0x1D1D => {
            let answer = nor_register(bus, a0 as u8, a1)?;
            store(bus, a2, &answer).map_err(|_| fault("FLASH_RxCmd", a2))?;
            Ok(0)
        }
        // void FLASH_RxData(u8 cmd, u32 StartAddr, u32 read_len, u8 *read_data): cmd 0
        // is the controller's current read command; the address is a flash offset.
        0x1DF5 => {
            let from = flash_offset("FLASH_RxData", a1, a2)?;
            let bytes = flash(bus)[from..from + a2 as usize].to_vec();
            store(bus, a3, &bytes).map_err(|_| fault("FLASH_RxData", a3))?;
            Ok(0)
        }
        // void FLASH_TxData12B(u32 StartAddr, u8 DataPhaseLen, u8 *pData): write enable,
        // then a page program of at most 12 bytes (the SPIC FIFO), then wait for WIP.
        0x2049 => {
            let len = a1 & 0xFF;
            if len > 12 {
                return Err(format!(
                    "FLASH_TxData12B called with {len} bytes (at most 12)"
                ));
            }
            flash_offset("FLASH_TxData12B", a0, 1)?;
            let data = load(bus, a2, len).map_err(|_| fault("FLASH_TxData12B", a2))?;
            for (k, byte) in data.iter().enumerate() {
                // Within the page: past its end the address wraps to the page's start.
                let page = a0 & !(PAGE - 1);
                let at = page | (a0 + k as u32) & (PAGE - 1);
                bus.program(FLASH + (at & (FLASH_LEN as u32 - 1)), &[*byte]);
            }
            // The NOR is busy for the platform table's time per word, and the routine
            // waits for WIP before it returns.
            let words = u64::from(len.div_ceil(4));
            bus.flash_operation_waited(words * bus.timing.word_ns);
            Ok(0)
        }
        // void FLASH_SetStatus(u8 Cmd, u32 Len, u8 *Status): write enable, then write the
        // status (and, on MXIC, configuration) register.
        0x2129 => {
            let len = a1.min(3);
            let bytes = load(bus, a2, len).map_err(|_| fault("FLASH_SetStatus", a2))?;
            if a0 as u8 != 0x01 {
                return Err(format!(
                    "FLASH_SetStatus with command {:#04x}, which the emulated MXIC flash does not have",
                    a0 as u8
                ));
            }
            bus.nor.status[..bytes.len()].copy_from_slice(&bytes);
            Ok(0)
        }
        // void FLASH_Erase(u32 EraseType, u32 Address): EraseChip 0, EraseBlock 1 (64 KiB),
        // EraseSector 2 (4 KiB); the address is rounded down to its block or sector.
        0x2147 => {
            let (start, len) = match a0 {
                0 => (0, FLASH_LEN as u32),
                1 => (a1 & !0xFFFF, 0x1_0000),
                2 => (a1 & !0xFFF, 0x1000),
                other => return Err(format!("FLASH_Erase with erase type {other}")),
            };
            flash_offset("FLASH_Erase", start, len)?;
            bus.erase_range(FLASH + start, len);
            // Busy for the platform table's sector time (a 64 KiB block counted as its 16
            // sectors, which overstates it) or chip time; the routine waits for WIP.
            let busy = match a0 {
                0 => bus.timing.chip_erase_ns,
                _ => u64::from(len / 0x1000) * bus.timing.unit_erase_ns(FLASH + start),
            };
            bus.flash_operation_waited(busy);
            Ok(0)
        }
        // void FLASH_StructInit_MXIC(FLASH_InitTypeDef *): the MXIC defaults, at the
        // field offsets of AmebaD's FLASH_InitTypeDef (u32 FLASH_Id at 0, the u8 commands
        // from FLASH_cmd_wr_en at 76 on).
        0x2333 => {
            let mut s = vec![0u8; 96];
            s[0] = 1; // FLASH_ID_MXIC
            s[5] = 1; // FLASH_baud_rate
            s[12] = 1 << 6; // FLASH_QuadEn_bit: MXIC QE is status bit 6
            s[16] = 1; // FLASH_Busy_bit (WIP)
            s[20] = 1 << 1; // FLASH_WLE_bit (WEL)
            s[31..33].copy_from_slice(&[0x08, 0x04]); // read dummy cycles, dual o / io
            s[36] = 0x3B; // FLASH_rd_dual_o
            s[40] = 0xBB; // FLASH_rd_dual_io
            s[44] = 0x6B; // FLASH_rd_quad_o
            s[48] = 0xEB; // FLASH_rd_quad_io
            s[64] = 0x38; // FLASH_wr_quad_ii
            let commands = [
                0x06, 0x9F, 0x05, 0x00, 0x01, 0x00, 0x60, 0xD8, 0x20, 0xAB, 0xB9,
            ];
            s[76..87].copy_from_slice(&commands);
            s[89] = 3; // FLASH_addr_phase_len: ADDR_3_BYTE
            s[92] = 0xBB; // FLASH_rd_fast_single
            store(bus, a0, &s).map_err(|_| fault("FLASH_StructInit_MXIC", a0))?;
            Ok(0)
        }
        // u8 FLASH_Init(u8 SpicBitMode): configures the controller from flash_init_para
        // and records the bit mode in it; returns _TRUE.
        0x24E1 => {
            store(bus, FLASH_INIT_PARA + 4, &[a0 as u8])
                .map_err(|_| fault("FLASH_Init", FLASH_INIT_PARA))?;
            Ok(1)
        }
        // void irq_disable(IRQn_Type): the model raises no interrupts.
        0x5575 => Ok(0),
        // void *_memcpy(void *dst, const void *src, size_t n)
        0x6591 => {
            let bytes = load(bus, a1, a2).map_err(|_| fault("_memcpy", a1))?;
            store(bus, a0, &bytes).map_err(|_| fault("_memcpy", a0))?;
            Ok(a0)
        }
        // void *_memset(void *dst, int c, size_t n)
        0x66AD => {
            let fill = vec![a1 as u8; a2 as usize];
            store(bus, a0, &fill).map_err(|_| fault("_memset", a0))?;
            Ok(a0)
        }
        // int DiagPrintf(const char *fmt, ...): the log UART is not modelled.
        0x0475 => Ok(0),
        _ => Err(format!(
            "the code called the KM0 boot ROM at {:#07x}, a routine the emulated RTL8721DM does not provide",
            pc | 1
        )),
    }
}

/// The answer of the SPI NOR to a command with a data-in phase.
fn nor_register(bus: &Bus, cmd: u8, len: u32) -> Result<Vec<u8>, String> {
    let source: &[u8] = match cmd {
        0x9F => &JEDEC_ID,
        0x05 => &bus.nor.status[..1],
        // MXIC RDCR: the configuration register, written as the second status byte.
        0x15 => &bus.nor.status[1..],
        other => {
            return Err(format!(
                "FLASH_RxCmd with command {other:#04x}, which the emulated MXIC flash does not answer"
            ));
        }
    };
    // Past its register the flash repeats it, as NOR parts do on a longer read.
    Ok((0..len as usize)
        .map(|k| source[k % source.len()])
        .collect())
}

fn flash(bus: &mut Bus) -> &[u8] {
    &bus.nvm_starting_at(FLASH)
        .expect("the RTL8721DM has its flash")
        .data
}

/// A flash offset range checked against the flash's size.
fn flash_offset(routine: &str, offset: u32, len: u32) -> Result<usize, String> {
    if u64::from(offset) + u64::from(len) > FLASH_LEN as u64 {
        return Err(format!(
            "{routine}: flash offset {offset:#x} + {len:#x} lies beyond the 8 MiB flash"
        ));
    }
    Ok(offset as usize)
}

fn load(bus: &mut Bus, at: u32, len: u32) -> Result<Vec<u8>, BusFault> {
    (0..len)
        .map(|k| bus.read(at.wrapping_add(k), 1).map(|b| b as u8))
        .collect()
}

fn store(bus: &mut Bus, at: u32, bytes: &[u8]) -> Result<(), BusFault> {
    for (k, b) in bytes.iter().enumerate() {
        bus.write(at.wrapping_add(k as u32), 1, u32::from(*b))?;
    }
    Ok(())
}
