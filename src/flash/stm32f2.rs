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
