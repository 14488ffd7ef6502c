//! The ARMv7-M debug registers and bits that both sides of the SWD link use: the algorithm
//! driver writes them through probe-rs, and the emulated core answers them. Named once so
//! that the two cannot drift apart (ARMv7-M Architecture Reference Manual, C1.6).

/// Debug Halting Control and Status Register; a write takes effect only with [`DBGKEY`].
pub const DHCSR: u32 = 0xE000_EDF0;
/// DHCSR's write key, in bits 31:16.
pub const DBGKEY: u32 = 0xA05F_0000;
/// Debug Core Register Selector Register: starts a core register transfer.
pub const DCRSR: u32 = 0xE000_EDF4;
/// Debug Core Register Data Register: the value a DCRSR transfer moves.
pub const DCRDR: u32 = 0xE000_EDF8;
/// Debug Exception and Monitor Control Register; bit 0 is VC_CORERESET.
pub const DEMCR: u32 = 0xE000_EDFC;
/// Debug Fault Status Register: why the core halted, cleared by writing 1s.
pub const DFSR: u32 = 0xE000_ED30;
/// Application Interrupt and Reset Control Register; a write with VECTKEY 0x05FA and
/// SYSRESETREQ or VECTRESET resets the chip.
pub const AIRCR: u32 = 0xE000_ED0C;
/// CPUID Base Register.
pub const CPUID: u32 = 0xE000_ED00;
/// Flash Patch and Breakpoint Control Register; bit 0 ENABLE is written only with KEY
/// (bit 1) set.
pub const FP_CTRL: u32 = 0xE000_2000;
/// DWT Control Register.
pub const DWT_CTRL: u32 = 0xE000_1000;

/// DHCSR.C_DEBUGEN: halting debug enabled.
pub const C_DEBUGEN: u32 = 1;
/// DHCSR.C_HALT: halt request, and set while halted.
pub const C_HALT: u32 = 1 << 1;
/// DHCSR.C_STEP: a resume executes one instruction.
pub const C_STEP: u32 = 1 << 2;
/// DHCSR.C_MASKINTS: interrupts masked while the core runs; changed only while halted.
pub const C_MASKINTS: u32 = 1 << 3;
/// DHCSR.S_REGRDY: the last DCRSR transfer finished.
pub const S_REGRDY: u32 = 1 << 16;
/// DHCSR.S_HALT: the core is in Debug state.
pub const S_HALT: u32 = 1 << 17;
/// DHCSR.S_LOCKUP: the core locked up on a fault it could not handle.
pub const S_LOCKUP: u32 = 1 << 19;
/// DHCSR.S_RETIRE_ST: an instruction retired since DHCSR was last read.
pub const S_RETIRE_ST: u32 = 1 << 24;
/// DHCSR.S_RESET_ST: the core was reset since DHCSR was last read.
pub const S_RESET_ST: u32 = 1 << 25;

/// DFSR.HALTED: halted by a C_HALT request or a step.
pub const DFSR_HALTED: u32 = 1;
/// DFSR.BKPT: halted on a BKPT instruction (where flash algorithms and the checksum
/// routine stop).
pub const DFSR_BKPT: u32 = 1 << 1;
/// DFSR.VCATCH: halted by vector catch, at the reset vector.
pub const DFSR_VCATCH: u32 = 1 << 3;
