//! The chip's address space as its core and its AHB-AP see it: flash and the other
//! non-volatile memories, RAM, the flash controller the flash algorithms drive, and the
//! read-only identification the tools read. Both masters go through the same rules, so a
//! write the debugger makes to flash behaves exactly as one the algorithm makes.

use super::Chip;
use super::clock::{Controller, FlashTiming, Nanos};
use super::rtl8721dm;
use super::stm32_crc::{self, CrcUnit};
use crate::flash::stm32f2::{self as f2, offset};

/// A write that tried to turn a 0 bit back into a 1 without an erase: real NOR flash
/// silently keeps the 0, so the bytes on the device would differ from what was written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NorViolation {
    /// The byte's address.
    pub address: u32,
    /// The byte the flash held.
    pub held: u8,
    /// The byte the write asked for.
    pub written: u8,
}

/// Why a bus access failed; the core takes a fault, the AP reports an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusFault;

/// Work the flash hardware did, for the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NvmWork {
    /// Bytes set back to 0xFF by page, sector, UICR or mass erases.
    pub bytes_erased: u64,
    /// Bytes written under NOR rules, and 16 per option byte write.
    pub bytes_programmed: u64,
}

/// One non-volatile memory: main flash, UICR, OTP or option bytes.
#[derive(Debug, Clone)]
pub struct Nvm {
    /// Its first address on the bus.
    pub start: u32,
    /// Its whole content, 0xFF where erased.
    pub data: Vec<u8>,
}

impl Nvm {
    fn blank(start: u32, len: usize) -> Nvm {
        Nvm {
            start,
            data: vec![0xFF; len],
        }
    }

    fn contains(&self, address: u32) -> bool {
        address >= self.start && u64::from(address) < u64::from(self.start) + self.data.len() as u64
    }

    fn end(&self) -> u64 {
        u64::from(self.start) + self.data.len() as u64
    }
}

/// nRF52840 code flash base (nRF52840 Product Specification, memory map).
pub const NRF_FLASH: u32 = 0x0000_0000;
/// nRF52840 code flash size: 1 MiB, 256 pages of 4 KiB (FICR.CODEPAGESIZE/CODESIZE).
pub const NRF_FLASH_LEN: usize = 0x10_0000;
/// nRF52840 UICR base: the user information configuration page, erased and written
/// through the NVMC like flash.
pub const NRF_UICR: u32 = 0x1000_1000;
/// nRF52840 FICR base: factory information configuration registers, read-only.
const NRF_FICR: u32 = 0x1000_0000;
/// nRF52840 FICR.DEVICEID[0..1]: the 64-bit unique device identifier.
pub const NRF_DEVICE_ID: u32 = 0x1000_0060;
/// nRF52840 NVMC base: the non-volatile memory controller (READY, CONFIG, ERASEPAGE,
/// ERASEALL, ERASEUICR).
const NRF_NVMC: u32 = 0x4001_E000;
/// nRF52840 data RAM base (on the system bus).
const NRF_RAM: u32 = 0x2000_0000;
/// nRF52840 RAM size: 256 KiB.
const NRF_RAM_LEN: usize = 0x4_0000;
/// nRF52840 code RAM: the same RAM seen on the code bus.
const NRF_CODE_RAM: u32 = 0x0080_0000;
/// UICR.APPROTECT: 0xFF in its low byte (or 0x5A on newer revisions) leaves the debug port open.
pub const NRF_APPROTECT: u32 = 0x1000_1208;

/// STM32F205 main flash base (RM0033, embedded Flash memory).
pub const STM_FLASH: u32 = 0x0800_0000;
/// STM32F205xG main flash size: 1 MiB in 12 sectors.
const STM_FLASH_LEN: usize = 0x10_0000;
/// STM32F2 unique device ID register, 96 bits (RM0033, device electronic signature).
pub const STM_UID: u32 = 0x1FFF_7A10;
/// STM32F2 Flash size register F_SIZE, in KiB (RM0033, device electronic signature).
const STM_FLASH_SIZE_REG: u32 = 0x1FFF_7A22;
/// STM32F2 OTP area: 512 one-time programmable bytes and 16 lock bytes (RM0033).
const STM_OTP: u32 = 0x1FFF_7800;
/// Size of the OTP area with its lock bytes.
const STM_OTP_LEN: usize = 0x210;
/// STM32F2 option bytes, 16 bytes: RDP and USER, then nWRP (RM0033).
pub const STM_OPTION_BYTES: u32 = 0x1FFF_C000;
/// STM32F205 SRAM base (SRAM1 and SRAM2, contiguous).
const STM_RAM: u32 = 0x2000_0000;
/// STM32F205xG SRAM size: 128 KiB.
const STM_RAM_LEN: usize = 0x2_0000;
/// The reset value of FLASH_OPTCR on a chip fresh from the factory: no write protection,
/// read protection level 0, BOR off, option bytes locked.
const STM_OPTCR_FACTORY: u32 = 0x0FFF_AAED;

/// STM32F205xG sector boundaries, from flash base: 4 x 16 KiB, 64 KiB, 7 x 128 KiB.
fn stm_sector(n: u32) -> Option<(u32, u32)> {
    let (offset, len) = match n {
        0..=3 => (n * 0x4000, 0x4000),
        4 => (0x1_0000, 0x1_0000),
        5..=11 => (0x2_0000 * (n - 4), 0x2_0000),
        _ => return None,
    };
    Some((STM_FLASH + offset, len))
}

fn stm_sector_of(address: u32) -> Option<u32> {
    (0..12).find(|n| stm_sector(*n).is_some_and(|(s, l)| address >= s && address - s < l))
}

#[derive(Debug, Clone, Default)]
struct Nvmc {
    config: u32,
}

#[derive(Debug, Clone)]
struct StmFlash {
    acr: u32,
    sr: u32,
    cr: u32,
    optcr: u32,
    /// The option bytes themselves (nWRP, RDP, USER, BOR): what OPTCR shows after a reset
    /// and what write protection obeys; OPTCR writes only stage a change until OPTSTRT.
    options: u32,
    key_step: u8,
    optkey_step: u8,
    /// A wrong key locks the interface until the next reset, as on the chip.
    key_fault: bool,
    /// RCC_CR, RCC_PLLCFGR, RCC_CFGR: what clocks the core.
    rcc_cr: u32,
    rcc_pllcfgr: u32,
    rcc_cfgr: u32,
    /// When PLLON was set: the PLL locks [`PLL_LOCK_NS`] later.
    pll_on_at: Option<Nanos>,
}

/// The main PLL's lock time: the STM32F205xx datasheet's tLOCK, "Main PLL
/// characteristics", typical for a VCO below 432 MHz (the STM32 figures here are typical).
const PLL_LOCK_NS: Nanos = 100_000;

/// One chip's memory map below the core's own registers (0xE000_0000 and up), as both
/// the core and the AHB-AP reach it.
#[derive(Debug, Clone)]
pub struct Bus {
    /// The chip whose memory map and flash controller this is.
    pub chip: Chip,
    /// Flash, UICR / OTP; looked up by address, never by position.
    pub nvm: Vec<Nvm>,
    ram: Vec<u8>,
    ram_start: u32,
    /// FICR (nRF) or the system-memory identification words (STM32): read-only.
    pub id_bytes: Vec<u8>,
    nvmc: Nvmc,
    stm: StmFlash,
    /// The STM32F2's CRC calculation unit.
    stm_crc: CrcUnit,
    /// Peripheral and system registers the model does not interpret: kept so that what a
    /// tool writes it reads back (DBGMCU, clock setup, watchdog freeze bits).
    pub(super) scratch: std::collections::BTreeMap<u32, u32>,
    /// The RTL8721DM's SPI NOR registers (status, configuration).
    pub(super) nor: rtl8721dm::Nor,
    /// A watchdog asked for a system reset, which the core performs after the access.
    pub(super) reset_requested: bool,
    /// Writes by either master, so that the core can tell a loop that only waits for
    /// memory to change from one that works.
    pub(super) stores: u64,
    /// Reads of anything but RAM (flash, peripheral registers), whose answer may change
    /// with time alone: a loop that makes one is polling, not waiting for a store.
    pub(super) volatile_reads: u64,
    /// Every write that tried to set a programmed bit, in order.
    pub violations: Vec<NorViolation>,
    /// What the flash hardware did, for [`super::WireCounts`].
    pub work: NvmWork,
    /// The virtual time of the access in progress: the wire's for the AP, the core's
    /// while it runs. A core that waits for the flash controller moves it on.
    pub now: Nanos,
    /// The access in progress is the core's (which stalls or spins until the controller
    /// is ready), not the debugger's (which is answered at once).
    pub core_access: bool,
    /// The flash controller, busy for each operation's datasheet time.
    pub flash: Controller,
    /// Those datasheet times.
    pub timing: std::sync::Arc<FlashTiming>,
    /// UICR.APPROTECT as read at the last reset: what locks the debug port now.
    approtect_latched: bool,
}

impl Bus {
    /// Erased NVM, zeroed RAM and the given unique ID (FICR DEVICEID or STM32 UID bytes).
    pub fn new(chip: Chip, device_id: &[u8]) -> Bus {
        let mut bus = Bus::new_empty(chip, std::sync::Arc::new(FlashTiming::of(chip)));
        bus.id_bytes = device_id.to_vec();
        let (nvm, ram): (Vec<(u32, usize)>, usize) = match chip {
            Chip::Nrf52840 => (
                vec![(NRF_FLASH, NRF_FLASH_LEN), (NRF_UICR, 0x1000)],
                NRF_RAM_LEN,
            ),
            Chip::Stm32f205 => (
                vec![(STM_FLASH, STM_FLASH_LEN), (STM_OTP, STM_OTP_LEN)],
                STM_RAM_LEN,
            ),
            Chip::Rtl8721dm => (
                vec![(rtl8721dm::FLASH, rtl8721dm::FLASH_LEN)],
                rtl8721dm::RAM_LEN,
            ),
        };
        if chip == Chip::Rtl8721dm {
            rtl8721dm::reset_registers(&mut bus);
        }
        bus.nvm = nvm
            .into_iter()
            .map(|(start, len)| Nvm::blank(start, len))
            .collect();
        bus.ram = vec![0; ram];
        bus
    }

    /// A bus with no memory behind it, to stand in while the real one is lent to the core.
    pub fn new_empty(chip: Chip, timing: std::sync::Arc<FlashTiming>) -> Bus {
        let stm = StmFlash {
            acr: 0,
            sr: 0,
            cr: f2::CR_LOCK,
            rcc_cr: f2::rcc::CR_RESET,
            rcc_pllcfgr: f2::rcc::PLLCFGR_RESET,
            rcc_cfgr: 0,
            pll_on_at: None,
            optcr: STM_OPTCR_FACTORY,
            options: STM_OPTCR_FACTORY & 0x0FFF_FFFC,
            key_step: 0,
            optkey_step: 0,
            key_fault: false,
        };
        Bus {
            chip,
            nvm: Vec::new(),
            ram: Vec::new(),
            ram_start: match chip {
                Chip::Nrf52840 => NRF_RAM,
                Chip::Stm32f205 => STM_RAM,
                Chip::Rtl8721dm => rtl8721dm::RAM,
            },
            id_bytes: Vec::new(),
            nvmc: Nvmc::default(),
            stm,
            stm_crc: CrcUnit::default(),
            scratch: Default::default(),
            nor: Default::default(),
            reset_requested: false,
            stores: 0,
            volatile_reads: 0,
            violations: Vec::new(),
            work: NvmWork::default(),
            now: 0,
            core_access: false,
            flash: Controller::default(),
            timing,
            approtect_latched: false,
        }
    }

    /// Whether `size` bytes at `address` are RAM.
    pub fn is_ram(&self, address: u32, size: u32) -> bool {
        self.ram_offset(address, size).is_some()
    }

    /// Starts a flash operation of `duration`; the core stalls until the controller takes
    /// it (a write or erase issued while busy waits for the one in progress).
    pub(super) fn start_flash(&mut self, duration: Nanos) {
        let start = self.flash.start(self.now, duration);
        if self.core_access {
            self.now = start;
        }
    }

    /// A flash operation its caller waits out (a ROM routine that polls the NOR's WIP bit
    /// before it returns): the core's time moves on to its end.
    pub(super) fn flash_operation_waited(&mut self, duration: Nanos) {
        self.start_flash(duration);
        if self.core_access {
            self.now = self.flash.idle_from();
        }
    }

    /// Whether the controller is ready, as a status register answers at this time. A core
    /// polling it spins until the controller is done: its time moves on to then, without
    /// executing the millions of loop iterations that takes (the next poll sees ready).
    fn poll_ready(&mut self) -> bool {
        if !self.flash.busy_at(self.now) {
            return true;
        }
        if self.core_access {
            self.now = self.flash.idle_from();
        }
        false
    }

    /// The option word as the chip keeps it in non-volatile memory (STM32F2).
    pub fn option_word(&self) -> u32 {
        self.stm.options
    }

    /// Replaces the option bytes (in FLASH_OPTCR's layout) as if programmed, and shows
    /// them in a locked OPTCR.
    pub fn set_option_word(&mut self, word: u32) {
        self.stm.options = word & 0x0FFF_FFFC;
        self.stm.optcr = self.stm.options | f2::OPTCR_OPTLOCK;
    }

    /// A system reset: controllers back to their reset state, option bytes reloaded.
    pub fn reset(&mut self) {
        self.reset_requested = false;
        self.nvmc = Nvmc::default();
        self.stm.acr = 0;
        self.stm.sr = 0;
        self.stm.cr = f2::CR_LOCK;
        self.stm.optcr = self.stm.options | f2::OPTCR_OPTLOCK;
        self.stm.key_step = 0;
        self.stm.optkey_step = 0;
        self.stm.key_fault = false;
        self.stm.rcc_cr = f2::rcc::CR_RESET;
        self.stm.rcc_pllcfgr = f2::rcc::PLLCFGR_RESET;
        self.stm.rcc_cfgr = 0;
        self.stm.pll_on_at = None;
        self.stm_crc = CrcUnit::default();
        self.scratch.remove(&stm32_crc::RCC_AHB1ENR);
    }

    /// Whether RCC_AHB1ENR clocks the STM32F2's CRC unit.
    fn stm_crc_clocked(&self) -> bool {
        self.scratch
            .get(&stm32_crc::RCC_AHB1ENR)
            .is_some_and(|v| v & stm32_crc::CRCEN != 0)
    }

    /// The core's clock now, in Hz: the platform table's figure, or on the STM32F2 what
    /// its RCC selects (the HSI after reset, the PLL once a tool switched to it).
    pub fn core_hz(&self) -> u64 {
        match self.chip {
            Chip::Stm32f205 => f2::rcc::hclk(self.stm.rcc_pllcfgr, self.stm.rcc_cfgr),
            _ => self.timing.core_hz,
        }
    }

    /// `cycles` of the core's clock now.
    pub fn cycles_ns(&self, cycles: u64) -> Nanos {
        cycles * 1_000_000_000 / self.core_hz()
    }

    /// The PLL has locked by now.
    fn pll_ready(&self) -> bool {
        self.stm
            .pll_on_at
            .is_some_and(|t| self.now >= t + PLL_LOCK_NS)
    }

    /// The non-volatile memory that starts at `start` (the UICR at [`NRF_UICR`]): found by
    /// its address, so that nothing depends on the order of [`Bus::nvm`].
    pub fn nvm_starting_at(&mut self, start: u32) -> Option<&mut Nvm> {
        self.nvm.iter_mut().find(|n| n.start == start)
    }

    /// Whether access port protection locks the nRF52840's AHB-AP (never on an STM32F2):
    /// UICR.APPROTECT as it was at the last power-on or pin reset ([`Bus::load_uicr`]),
    /// so an image that programs APPROTECT is written and verified whole (the soft
    /// resets a debugger makes meanwhile keep its access), and the lock takes hold when
    /// the device next powers up or is reset by its pin.
    pub fn nrf_approtect_enabled(&self) -> bool {
        self.approtect_latched
    }

    /// What the chip does at power-on and at a pin reset: reads the UICR, whose
    /// APPROTECT then decides whether the debug port is locked.
    pub fn load_uicr(&mut self) {
        self.approtect_latched = self.uicr_approtect_set();
    }

    /// Whether the UICR's APPROTECT word, as programmed now, asks for the lock.
    fn uicr_approtect_set(&self) -> bool {
        let uicr = self
            .nvm
            .iter()
            .find(|n| n.start == NRF_UICR)
            .filter(|_| self.chip == Chip::Nrf52840);
        uicr.is_some_and(|u| {
            let b = u.data[(NRF_APPROTECT - NRF_UICR) as usize];
            b != 0xFF && b != 0x5A
        })
    }

    /// The nRF52 ERASEALL (main flash and UICR, which clears APPROTECT), or the STM32F2's
    /// mass erase (main flash only: the OTP area is never erased).
    pub fn erase_all_nvm(&mut self) {
        for i in 0..self.nvm.len() {
            if self.chip == Chip::Stm32f205 && self.nvm[i].start != STM_FLASH {
                continue;
            }
            self.erase_range(self.nvm[i].start, self.nvm[i].data.len() as u32);
        }
    }

    pub(super) fn erase_range(&mut self, start: u32, len: u32) {
        for nvm in &mut self.nvm {
            if nvm.contains(start) {
                let from = (start - nvm.start) as usize;
                let to = (from + len as usize).min(nvm.data.len());
                nvm.data[from..to].fill(0xFF);
                self.work.bytes_erased += (to - from) as u64;
                return;
            }
        }
    }

    fn nvm_index(&self, address: u32) -> Option<usize> {
        self.nvm.iter().position(|n| n.contains(address))
    }

    /// Programs `bytes` at `address` under NOR rules: bits only go from 1 to 0.
    pub(super) fn program(&mut self, address: u32, bytes: &[u8]) {
        let Some(i) = self.nvm_index(address) else {
            return;
        };
        for (k, &b) in bytes.iter().enumerate() {
            let at = address + k as u32;
            let nvm = &mut self.nvm[i];
            if !nvm.contains(at) {
                break;
            }
            let cell = &mut nvm.data[(at - nvm.start) as usize];
            if b & !*cell != 0 {
                self.violations.push(NorViolation {
                    address: at,
                    held: *cell,
                    written: b,
                });
            }
            *cell &= b;
        }
        self.work.bytes_programmed += bytes.len() as u64;
    }

    fn ram_offset(&self, address: u32, size: u32) -> Option<usize> {
        let alias = match self.chip {
            Chip::Nrf52840
                if (NRF_CODE_RAM..NRF_CODE_RAM + NRF_RAM_LEN as u32).contains(&address) =>
            {
                address - NRF_CODE_RAM + NRF_RAM
            }
            _ => address,
        };
        let offset = alias.checked_sub(self.ram_start)? as usize;
        (offset + size as usize <= self.ram.len()).then_some(offset)
    }

    /// Reads `size` (1, 2 or 4) bytes, little-endian.
    pub fn read(&mut self, address: u32, size: u32) -> Result<u32, BusFault> {
        if let Some(o) = self.ram_offset(address, size) {
            return Ok(le(&self.ram[o..o + size as usize]));
        }
        self.volatile_reads += 1;
        let flash_alias = match self.chip {
            // The STM32 boots from flash mapped at 0 too.
            Chip::Stm32f205 if (address as usize) < STM_FLASH_LEN => address + STM_FLASH,
            _ => address,
        };
        if let Some(i) = self.nvm_index(flash_alias) {
            if self.core_access && self.flash.busy_at(self.now) {
                // A read of flash while it is programmed or erased stalls the bus until
                // the operation ends (RM0033 3.5; the nRF52840's NVMC halts the CPU).
                self.now = self.flash.idle_from();
            }
            if self.core_access && self.chip == Chip::Stm32f205 {
                // FLASH_ACR.LATENCY wait states on each read (the ART's prefetch and
                // caches, which would hide some, are not modelled). Too few for the clock
                // and the chip reads wrong data: a fault here, so that it shows.
                let latency = self.stm.acr & 0b111;
                if latency < f2::rcc::latency_needed(self.core_hz()) {
                    return Err(BusFault);
                }
                self.now += self.cycles_ns(u64::from(latency));
            }
            let nvm = &self.nvm[i];
            let o = (flash_alias - nvm.start) as usize;
            if u64::from(flash_alias) + u64::from(size) > nvm.end() {
                return Err(BusFault);
            }
            return Ok(le(&nvm.data[o..o + size as usize]));
        }
        if size != 4 {
            // Registers are read a word at a time; narrower reads take their lanes.
            let word = self.read(address & !3, 4)?;
            let shifted = word >> ((address & 3) * 8);
            return Ok(match size {
                1 => shifted & 0xFF,
                _ => shifted & 0xFFFF,
            });
        }
        self.read_register(address)
    }

    fn read_register(&mut self, address: u32) -> Result<u32, BusFault> {
        match self.chip {
            Chip::Nrf52840 => {
                if (NRF_FICR..NRF_FICR + 0x1000).contains(&address) {
                    return Ok(self.ficr(address - NRF_FICR));
                }
                match address {
                    // READY, READYNEXT.
                    a if a == NRF_NVMC + 0x400 || a == NRF_NVMC + 0x408 => {
                        Ok(u32::from(self.poll_ready()))
                    }
                    a if a == NRF_NVMC + 0x504 => Ok(self.nvmc.config),
                    a if (NRF_NVMC..NRF_NVMC + 0x1000).contains(&a) => Ok(0),
                    _ => self.scratch_read(address),
                }
            }
            Chip::Rtl8721dm => rtl8721dm::read_register(self, address),
            Chip::Stm32f205 => {
                if address & !0xF == STM_UID {
                    let o = (address - STM_UID) as usize;
                    let mut w = [0u8; 4];
                    for (k, b) in w.iter_mut().enumerate() {
                        *b = self.id_bytes.get(o + k).copied().unwrap_or(0xFF);
                    }
                    return Ok(u32::from_le_bytes(w));
                }
                if address == STM_FLASH_SIZE_REG & !3 {
                    return Ok(0xFFFF | (STM_FLASH_LEN as u32 / 1024) << 16);
                }
                if (STM_OPTION_BYTES..STM_OPTION_BYTES + 0x10).contains(&address) {
                    let optcr = self.stm.options;
                    return Ok(match address - STM_OPTION_BYTES {
                        0 => 0xFFFF_0000 | (optcr & 0xFFFC),
                        8 => 0xFFFF_0000 | (optcr >> 16 & 0xFFF),
                        _ => 0xFFFF_FFFF,
                    });
                }
                if stm32_crc::holds(address) {
                    if !self.stm_crc_clocked() {
                        return Ok(0);
                    }
                    let (value, done) = self.stm_crc.read(address, self.now);
                    if self.core_access {
                        self.now = done;
                    }
                    return Ok(value);
                }
                match address {
                    f2::rcc::CR => {
                        let ready = if self.pll_ready() {
                            f2::rcc::CR_PLLRDY
                        } else {
                            0
                        };
                        return Ok(self.stm.rcc_cr | ready);
                    }
                    f2::rcc::PLLCFGR => return Ok(self.stm.rcc_pllcfgr),
                    f2::rcc::CFGR => return Ok(self.stm.rcc_cfgr),
                    _ => {}
                }
                match address.wrapping_sub(f2::FLASH_IF) {
                    offset::ACR => Ok(self.stm.acr),
                    offset::KEYR | offset::OPTKEYR => Ok(0),
                    offset::SR => {
                        let busy = !self.poll_ready();
                        Ok(self.stm.sr | if busy { f2::SR_BSY } else { 0 })
                    }
                    offset::CR => Ok(self.stm.cr),
                    offset::OPTCR => Ok(self.stm.optcr),
                    o if (offset::OPTCR + 4..offset::BLOCK_LEN).contains(&o) => Ok(0),
                    _ => self.scratch_read(address),
                }
            }
        }
    }

    fn scratch_read(&self, address: u32) -> Result<u32, BusFault> {
        if address < 0x4000_0000 {
            return Err(BusFault);
        }
        Ok(self.scratch.get(&address).copied().unwrap_or(0))
    }

    fn ficr(&self, offset: u32) -> u32 {
        match offset {
            0x10 => 0x1000,
            0x14 => (NRF_FLASH_LEN / 0x1000) as u32,
            0x60 | 0x64 => {
                let o = (offset - 0x60) as usize;
                u32::from_le_bytes(self.id_bytes[o..o + 4].try_into().expect("8-byte ID"))
            }
            // INFO.PART, INFO.VARIANT, INFO.PACKAGE, INFO.RAM, INFO.FLASH (nRF52840
            // Product Specification, FICR): an nRF52840 "AAD0" (0x41414430, one of the
            // variants probe-rs's nRF52 `chip_detection` maps to nRF52840_xxAA, and the
            // D0 pyOCD names on a real QIAA), package QI (0x2004), 256 KiB RAM, 1 MiB flash.
            0x100 => 0x52840,
            0x104 => 0x4141_4430,
            0x108 => 0x2004,
            0x10C => 0x100,
            0x110 => 0x400,
            _ => 0xFFFF_FFFF,
        }
    }

    /// Writes `size` (1, 2 or 4) bytes, little-endian.
    pub fn write(&mut self, address: u32, size: u32, value: u32) -> Result<(), BusFault> {
        self.stores += 1;
        if let Some(o) = self.ram_offset(address, size) {
            self.ram[o..o + size as usize].copy_from_slice(&value.to_le_bytes()[..size as usize]);
            return Ok(());
        }
        if self.nvm_index(address).is_some() {
            return self.write_nvm(address, size, value);
        }
        match self.chip {
            Chip::Nrf52840 => self.write_nrf_register(address, value),
            Chip::Stm32f205 => self.write_stm_register(address, size, value),
            Chip::Rtl8721dm => rtl8721dm::write_register(self, address, value),
        }
    }

    fn write_nvm(&mut self, address: u32, size: u32, value: u32) -> Result<(), BusFault> {
        let bytes = value.to_le_bytes();
        match self.chip {
            // XIP is read-only: the flash is written through the controller's user mode.
            Chip::Rtl8721dm => Err(BusFault),
            Chip::Nrf52840 => {
                // NVMC: only whole aligned words, only with CONFIG = Wen.
                if self.nvmc.config & 3 != 1 || size != 4 || address & 3 != 0 {
                    return Err(BusFault);
                }
                self.start_flash(self.timing.word_ns);
                self.program(address, &bytes);
                Ok(())
            }
            Chip::Stm32f205 => {
                let cr = self.stm.cr;
                if cr & f2::CR_LOCK != 0 || cr & f2::CR_PG == 0 {
                    self.stm.sr |= f2::SR_PGSERR;
                    return Ok(());
                }
                let psize = match cr >> 8 & 3 {
                    0 => 1,
                    1 => 2,
                    _ => 4,
                };
                if size != psize {
                    self.stm.sr |= f2::SR_PGPERR;
                    return Ok(());
                }
                if address >= STM_FLASH
                    && let Some(n) = stm_sector_of(address)
                    && self.stm_sector_protected(n)
                {
                    self.stm.sr |= f2::SR_WRPERR;
                    return Ok(());
                }
                self.start_flash(self.timing.word_ns);
                self.program(address, &bytes[..size as usize]);
                self.stm.sr |= f2::SR_EOP;
                Ok(())
            }
        }
    }

    fn stm_sector_protected(&self, n: u32) -> bool {
        self.stm.options >> f2::OPTCR_NWRP_SHIFT & 1 << n == 0
    }

    fn write_nrf_register(&mut self, address: u32, value: u32) -> Result<(), BusFault> {
        let erase_enabled = self.nvmc.config & 3 == 2;
        match address.wrapping_sub(NRF_NVMC) {
            0x504 => self.nvmc.config = value & 3,
            // ERASEPAGE (and its old name ERASEPCR1 at 0x508), ERASEPCR0 at 0x510.
            0x508 | 0x510 if erase_enabled => {
                let page = value & !0xFFF;
                if self.nvm_index(page).is_some() {
                    self.start_flash(self.timing.unit_erase_ns(page));
                    self.erase_range(page, 0x1000);
                }
            }
            0x50C if erase_enabled && value & 1 == 1 => {
                self.start_flash(self.timing.chip_erase_ns);
                self.erase_all_nvm();
            }
            0x514 if erase_enabled && value & 1 == 1 => {
                self.start_flash(self.timing.unit_erase_ns(NRF_UICR));
                self.erase_range(NRF_UICR, 0x1000);
            }
            0x000..=0xFFF => {}
            _ => {
                if address < 0x4000_0000 {
                    return Err(BusFault);
                }
                self.scratch.insert(address, value);
            }
        }
        Ok(())
    }

    /// RCC_CR, RCC_PLLCFGR and RCC_CFGR as far as the core's clock goes (RM0033 5.3):
    /// the PLL locks some time after PLLON, its factors change only while it is off, and
    /// the switch to it (SW) takes effect (SWS) only once it is locked. Whether it was
    /// one of them.
    fn write_rcc(&mut self, address: u32, value: u32) -> bool {
        use f2::rcc;
        let stm = &mut self.stm;
        match address {
            rcc::CR => {
                let on = value & rcc::CR_PLLON != 0;
                let running_on_pll = stm.rcc_cfgr >> rcc::CFGR_SWS_SHIFT & 0b11 == rcc::CFGR_SW_PLL;
                match (on, stm.pll_on_at) {
                    (true, None) => stm.pll_on_at = Some(self.now),
                    // The PLL cannot stop while it clocks the system.
                    (false, Some(_)) if !running_on_pll => stm.pll_on_at = None,
                    _ => {}
                }
                stm.rcc_cr = value & !rcc::CR_PLLRDY | rcc::CR_RESET & 0b11;
            }
            rcc::PLLCFGR => {
                if stm.pll_on_at.is_none() {
                    stm.rcc_pllcfgr = value;
                }
            }
            rcc::CFGR => {
                let sw = value & 0b11;
                let sws = match sw {
                    rcc::CFGR_SW_PLL if self.pll_ready() => rcc::CFGR_SW_PLL,
                    rcc::CFGR_SW_PLL => self.stm.rcc_cfgr >> rcc::CFGR_SWS_SHIFT & 0b11,
                    _ => 0,
                };
                self.stm.rcc_cfgr =
                    value & !(0b11 << rcc::CFGR_SWS_SHIFT) | sws << rcc::CFGR_SWS_SHIFT;
            }
            _ => return false,
        }
        true
    }

    fn write_stm_register(&mut self, address: u32, size: u32, value: u32) -> Result<(), BusFault> {
        if stm32_crc::holds(address) {
            if self.stm_crc_clocked() {
                let word_ns = self.cycles_ns(stm32_crc::CYCLES_PER_WORD);
                let done = self.stm_crc.write(address & !3, value, self.now, word_ns);
                if self.core_access {
                    self.now = done;
                }
            }
            return Ok(());
        }
        if size == 4 && self.write_rcc(address, value) {
            return Ok(());
        }
        let at = address.wrapping_sub(f2::FLASH_IF);
        if at >= offset::BLOCK_LEN {
            if address < 0x4000_0000 {
                return Err(BusFault);
            }
            let word = address & !3;
            let merged = if size == 4 {
                value
            } else {
                let shift = (address & 3) * 8;
                let mask = if size == 1 { 0xFF } else { 0xFFFF } << shift;
                let old = self.scratch.get(&word).copied().unwrap_or(0);
                old & !mask | (value << shift) & mask
            };
            self.scratch.insert(word, merged);
            return Ok(());
        }
        let stm = &mut self.stm;
        match at {
            offset::ACR => stm.acr = value,
            offset::KEYR => match (stm.key_step, value) {
                _ if stm.key_fault || stm.cr & f2::CR_LOCK == 0 => stm.key_fault = true,
                (0, f2::KEY1) => stm.key_step = 1,
                (1, f2::KEY2) => {
                    stm.key_step = 0;
                    stm.cr &= !f2::CR_LOCK;
                }
                _ => stm.key_fault = true,
            },
            offset::OPTKEYR => match (stm.optkey_step, value) {
                (0, f2::OPTKEY1) => stm.optkey_step = 1,
                (1, f2::OPTKEY2) => {
                    stm.optkey_step = 0;
                    stm.optcr &= !f2::OPTCR_OPTLOCK;
                }
                _ => stm.optkey_step = 0,
            },
            // SR: error and EOP bits are cleared by writing 1.
            offset::SR => stm.sr &= !(value & 0xF3),
            offset::CR => {
                if stm.cr & f2::CR_LOCK != 0 {
                    return Ok(());
                }
                stm.cr = value & 0x8301_03FF | value & f2::CR_STRT;
                if value & f2::CR_STRT != 0 {
                    self.stm_start(value);
                }
            }
            offset::OPTCR => {
                if stm.optcr & f2::OPTCR_OPTLOCK != 0 {
                    return Ok(());
                }
                let staged = value & 0x0FFF_FFFF;
                if staged & f2::OPTCR_OPTSTRT != 0 {
                    // The staged values become the option bytes.
                    self.work.bytes_programmed += 16;
                    self.stm.options = staged & 0x0FFF_FFFC;
                    self.stm.optcr = staged & !f2::OPTCR_OPTSTRT;
                } else {
                    self.stm.optcr = staged;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// CR.STRT: a sector or mass erase. The bytes are erased at once; SR.BSY shows for
    /// the erase's datasheet time.
    fn stm_start(&mut self, cr: u32) {
        self.stm.cr &= !f2::CR_STRT;
        if cr & f2::CR_MER != 0 {
            if (0..12).any(|n| self.stm_sector_protected(n)) {
                self.stm.sr |= f2::SR_WRPERR;
                return;
            }
            self.start_flash(self.timing.chip_erase_ns);
            self.erase_range(STM_FLASH, STM_FLASH_LEN as u32);
            self.stm.sr |= f2::SR_EOP;
        } else if cr & f2::CR_SER != 0 {
            let n = cr >> 3 & 0xF;
            let Some((start, len)) = stm_sector(n) else {
                self.stm.sr |= f2::SR_PGSERR;
                return;
            };
            if self.stm_sector_protected(n) {
                self.stm.sr |= f2::SR_WRPERR;
                return;
            }
            self.start_flash(self.timing.unit_erase_ns(start));
            self.erase_range(start, len);
            self.stm.sr |= f2::SR_EOP;
        }
    }
}

fn le(bytes: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w[..bytes.len()].copy_from_slice(bytes);
    u32::from_le_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use f2::rcc;

    /// RM0033 5.3: the switch to the PLL takes effect once it is locked, the core's clock
    /// follows, and a flash read with too few wait states for that clock is refused.
    #[test]
    fn the_stm32f2_core_runs_on_the_pll_once_locked() {
        let mut bus = Bus::new(Chip::Stm32f205, &[0; 12]);
        assert_eq!(bus.core_hz(), 16_000_000);
        bus.write(rcc::PLLCFGR, 4, rcc::PLLCFGR_120MHZ).unwrap();
        bus.write(rcc::CR, 4, rcc::CR_PLLON | rcc::CR_RESET)
            .unwrap();
        // Not locked yet: the switch waits.
        bus.write(rcc::CFGR, 4, rcc::CFGR_120MHZ).unwrap();
        assert_eq!(bus.read(rcc::CR, 4).unwrap() & rcc::CR_PLLRDY, 0);
        assert_eq!(bus.core_hz(), 16_000_000);
        bus.now += PLL_LOCK_NS;
        assert_ne!(bus.read(rcc::CR, 4).unwrap() & rcc::CR_PLLRDY, 0);
        bus.write(rcc::CFGR, 4, rcc::CFGR_120MHZ).unwrap();
        assert_eq!(bus.core_hz(), 120_000_000);
        assert_eq!(
            bus.read(rcc::CFGR, 4).unwrap() >> rcc::CFGR_SWS_SHIFT & 0b11,
            0b10
        );

        // The core reads flash: refused at zero wait states, three cycles more at three.
        bus.core_access = true;
        assert!(bus.read(STM_FLASH, 4).is_err());
        bus.write(f2::register(offset::ACR), 4, rcc::ACR_120MHZ)
            .unwrap();
        let before = bus.now;
        bus.read(STM_FLASH, 4).unwrap();
        assert_eq!(bus.now - before, 25);
        bus.core_access = false;

        bus.reset();
        assert_eq!(bus.core_hz(), 16_000_000);
    }

    #[test]
    fn the_clock_tree_as_rm0033_gives_it() {
        assert_eq!(rcc::hclk(rcc::PLLCFGR_RESET, 0), 16_000_000);
        let on_pll = rcc::CFGR_120MHZ | rcc::CFGR_SW_PLL << rcc::CFGR_SWS_SHIFT;
        assert_eq!(rcc::hclk(rcc::PLLCFGR_120MHZ, on_pll), 120_000_000);
        // AHB prescaler /2.
        assert_eq!(
            rcc::hclk(rcc::PLLCFGR_120MHZ, on_pll | 0b1000 << 4),
            60_000_000
        );
        assert_eq!(rcc::latency_needed(30_000_000), 0);
        assert_eq!(rcc::latency_needed(30_000_001), 1);
        assert_eq!(rcc::latency_needed(120_000_000), 3);
    }
}
