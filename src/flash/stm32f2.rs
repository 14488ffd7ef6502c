//! The STM32F2's flash interface (RM0033, section 2: embedded Flash memory), named once
//! for the code that drives it over a probe and the emulated chip that answers it.

/// Base of the flash interface registers.
pub const FLASH_IF: u32 = 0x4002_3C00;

/// Register offsets from [`FLASH_IF`].
pub mod offset {
    /// FLASH_ACR: access control (latency, caches).
    pub const ACR: u32 = 0x00;
    /// FLASH_KEYR: takes [`KEY1`](super::KEY1) then [`KEY2`](super::KEY2) to unlock FLASH_CR.
    pub const KEYR: u32 = 0x04;
    /// FLASH_OPTKEYR: takes [`OPTKEY1`](super::OPTKEY1) then [`OPTKEY2`](super::OPTKEY2)
    /// to unlock FLASH_OPTCR.
    pub const OPTKEYR: u32 = 0x08;
    /// FLASH_SR: status.
    pub const SR: u32 = 0x0C;
    /// FLASH_CR: control.
    pub const CR: u32 = 0x10;
    /// FLASH_OPTCR: option control, the option bytes as staged.
    pub const OPTCR: u32 = 0x14;
    /// The interface's address block: offsets past the registers read as zero.
    pub const BLOCK_LEN: u32 = 0x400;
}

/// The address of a flash interface register.
pub const fn register(offset: u32) -> u32 {
    FLASH_IF + offset
}

/// First FLASH_KEYR key.
pub const KEY1: u32 = 0x4567_0123;
/// Second FLASH_KEYR key.
pub const KEY2: u32 = 0xCDEF_89AB;
/// First FLASH_OPTKEYR key.
pub const OPTKEY1: u32 = 0x0819_2A3B;
/// Second FLASH_OPTKEYR key.
pub const OPTKEY2: u32 = 0x4C5D_6E7F;

/// FLASH_SR.BSY: an erase or program operation is in progress.
pub const SR_BSY: u32 = 1 << 16;
/// FLASH_OPTCR.OPTLOCK: the option control register is locked.
pub const OPTCR_OPTLOCK: u32 = 1 << 0;
/// FLASH_OPTCR.OPTSTRT: program the staged option bytes.
pub const OPTCR_OPTSTRT: u32 = 1 << 1;
/// FLASH_OPTCR.nWRP: bit `NWRP_SHIFT + n` set leaves sector n writable, clear protects it.
pub const OPTCR_NWRP_SHIFT: u32 = 16;
/// FLASH_CR.LOCK: the control register is locked until the key sequence.
pub const CR_LOCK: u32 = 1 << 31;
/// FLASH_CR.STRT: start the erase CR selects.
pub const CR_STRT: u32 = 1 << 16;
/// FLASH_CR.MER: mass erase.
pub const CR_MER: u32 = 1 << 2;
/// FLASH_CR.SER: sector erase (of the sector in SNB).
pub const CR_SER: u32 = 1 << 1;
/// FLASH_CR.PG: programming.
pub const CR_PG: u32 = 1 << 0;
/// FLASH_SR.EOP: an operation ended.
pub const SR_EOP: u32 = 1 << 0;
/// FLASH_SR.WRPERR: a write or erase hit a write-protected sector.
pub const SR_WRPERR: u32 = 1 << 4;
/// FLASH_SR.PGPERR: an access size other than FLASH_CR.PSIZE.
pub const SR_PGPERR: u32 = 1 << 6;
/// FLASH_SR.PGSERR: programming while FLASH_CR does not allow it.
pub const SR_PGSERR: u32 = 1 << 7;

/// The reset and clock control registers (RM0033 section 5.3) that set the core's clock:
/// the 16 MHz HSI after reset, or the main PLL from it.
pub mod rcc {
    /// RCC_CR: clock control (HSION, PLLON, PLLRDY).
    pub const CR: u32 = 0x4002_3800;
    /// RCC_PLLCFGR: the main PLL's source and factors.
    pub const PLLCFGR: u32 = 0x4002_3804;
    /// RCC_CFGR: the system clock switch and the bus prescalers.
    pub const CFGR: u32 = 0x4002_3808;
    /// RCC_CR after reset: HSION, HSIRDY, HSITRIM 16.
    pub const CR_RESET: u32 = 0x0000_0083;
    /// RCC_PLLCFGR after reset.
    pub const PLLCFGR_RESET: u32 = 0x2400_3010;
    /// RCC_CR.PLLON.
    pub const CR_PLLON: u32 = 1 << 24;
    /// RCC_CR.PLLRDY: the PLL is locked.
    pub const CR_PLLRDY: u32 = 1 << 25;
    /// RCC_CFGR.SW (bits 1:0) and SWS (bits 3:2): 0b10 is the PLL.
    pub const CFGR_SW_PLL: u32 = 0b10;
    /// RCC_CFGR.SWS shift.
    pub const CFGR_SWS_SHIFT: u32 = 2;
    /// The HSI's frequency (RM0033 5.2.2).
    pub const HSI_HZ: u64 = 16_000_000;

    /// RCC_PLLCFGR for 120 MHz from the HSI: PLLM 16 (1 MHz in), PLLN 240 (a 240 MHz VCO),
    /// PLLP 2, PLLQ 5 (48 MHz for USB), source HSI. RM0033 5.3.2; 120 MHz is the
    /// STM32F205's maximum.
    pub const PLLCFGR_120MHZ: u32 = 16 | 240 << 6 | 5 << 24;
    /// RCC_CFGR for it: APB1 at HCLK / 4 (30 MHz, its maximum), APB2 at HCLK / 2 (60 MHz),
    /// AHB undivided, the PLL as system clock.
    pub const CFGR_120MHZ: u32 = 0b101 << 10 | 0b100 << 13 | CFGR_SW_PLL;
    /// FLASH_ACR for 120 MHz at 2.7-3.6 V (RM0033 table 3): 3 wait states, with prefetch
    /// and the instruction and data caches on.
    pub const ACR_120MHZ: u32 = 3 | 1 << 8 | 1 << 9 | 1 << 10;

    /// The system clock these registers give, in Hz: the HSI, or the main PLL from the
    /// HSI once switched to (HSE is not modelled: a Photon's is not needed here), divided
    /// by the AHB prescaler.
    pub fn hclk(pllcfgr: u32, cfgr: u32) -> u64 {
        let sysclk = if cfgr >> CFGR_SWS_SHIFT & 0b11 == CFGR_SW_PLL {
            let m = u64::from(pllcfgr & 0x3F).max(2);
            let n = u64::from(pllcfgr >> 6 & 0x1FF);
            let p = 2 * (u64::from(pllcfgr >> 16 & 0b11) + 1);
            HSI_HZ / m * n / p
        } else {
            HSI_HZ
        };
        let hpre = cfgr >> 4 & 0xF;
        let shift = match hpre {
            0b1000..=0b1011 => hpre - 0b0111,
            0b1100..=0b1111 => hpre - 0b0110,
            _ => 0,
        };
        sysclk >> shift
    }

    /// The wait states FLASH_ACR.LATENCY must have at `hclk` (RM0033 table 3, 2.7-3.6 V):
    /// one per 30 MHz started past the first.
    pub fn latency_needed(hclk: u64) -> u32 {
        (hclk.saturating_sub(1) / 30_000_000) as u32
    }
}
