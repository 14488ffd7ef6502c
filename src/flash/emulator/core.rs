//! The Cortex-M core as a debugger sees it: the halting debug registers (DHCSR, DCRSR,
//! DCRDR, DEMCR, DFSR), AIRCR resets, the breakpoint unit, and a Thumb interpreter
//! (`armagnac`) that runs whatever code the debugger starts from RAM, which is how
//! probe-rs's flash algorithms and hexsmith's checksum routine execute.

use super::Chip;
use super::bus::{Bus, BusFault};
use super::clock::Nanos;
use super::rtl8721dm;
use crate::flash::armv7m::{
    AIRCR, C_DEBUGEN, C_HALT, C_STEP, CPUID, DBGKEY, DCRDR, DCRSR, DEMCR, DFSR, DFSR_BKPT,
    DFSR_HALTED, DFSR_VCATCH, DHCSR, DWT_CTRL, FP_CTRL, S_HALT, S_LOCKUP, S_REGRDY, S_RESET_ST,
    S_RETIRE_ST,
};
use armagnac::core::{ArmVersion, Config, Emulator, Event, ItState, Processor};
use armagnac::decoder::{BasicInstructionDecoder, InstructionDecode, InstructionDecodeError};
use armagnac::instructions::{Instruction, InstructionSize};
use armagnac::memory::{
    Env, MemoryAccessError, MemoryInterface, MemoryReadResult, MemoryWriteResult,
};
use armagnac::registers::RegisterIndex;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;
use std::rc::Rc;

/// Instructions one resume may execute before the core counts as running away (a flash
/// algorithm programs a 4 KiB page in well under a hundred thousand).
const INSTRUCTION_BUDGET: usize = 200_000_000;

/// The core and its debug logic, with the memory it sits on.
#[derive(Debug)]
pub struct Silicon {
    /// The memory map below the System Control Space (0xE000_0000 and up is the core's).
    pub bus: Bus,
    /// Core registers by DCRSR number: R0-R12, SP, LR, DebugReturnAddress, xPSR, MSP,
    /// PSP, the CONTROL/FAULTMASK/BASEPRI/PRIMASK word (20), FP registers above.
    regs: [u32; 128],
    control: u32,
    halted: bool,
    locked_up: bool,
    reset_held: bool,
    reset_seen: bool,
    retired: bool,
    dcrdr: u32,
    demcr: u32,
    dfsr: u32,
    fp_ctrl: u32,
    /// System registers the model stores without interpreting (FPB comparators, DWT, CPACR).
    ppb: BTreeMap<u32, u32>,
    /// Why the core stopped other than by a breakpoint: a fault or a runaway, for tests.
    pub faults: Vec<String>,
    /// Instructions executed, all runs together.
    pub instructions: u64,
    /// The core was resumed into code it executes and has not stopped: it runs as virtual
    /// time passes ([`Silicon::catch_up`]), so that the wire and the flash controller work
    /// while it does.
    running: bool,
    /// How far the running core has got in virtual time; it may be ahead of the wire
    /// (it spun on a busy flash controller), never behind once caught up.
    core_ns: Nanos,
    /// When the core halted: a debugger looking earlier still sees it running.
    halted_at: Nanos,
    /// Instructions the current run may still execute before it counts as running away.
    budget_left: usize,
    /// The RTL8721DM's ROM started the RAM image at the last reset: the KM0 runs code the
    /// model executes (the flash loader, and the ROM routines it calls), for good.
    ram_image: bool,
    /// The bus's store count when the KM0 was last found waiting for memory to change:
    /// until something stores, it would only spin, so its time moves on without running.
    idle_at: Option<u64>,
}

impl Silicon {
    /// A core on `bus`, just out of a system reset.
    pub fn new(bus: Bus) -> Silicon {
        let mut s = Silicon {
            bus,
            regs: [0; 128],
            control: 0,
            halted: false,
            locked_up: false,
            reset_held: false,
            reset_seen: false,
            retired: false,
            dcrdr: 0,
            demcr: 0,
            dfsr: 0,
            fp_ctrl: 0x260,
            ppb: BTreeMap::new(),
            faults: Vec::new(),
            instructions: 0,
            running: false,
            core_ns: 0,
            halted_at: 0,
            budget_left: 0,
            ram_image: false,
            idle_at: None,
        };
        s.power_on_reset();
        s
    }

    /// Power-on: the UICR is read, then the system resets.
    pub fn power_on_reset(&mut self) {
        self.bus.load_uicr();
        self.system_reset();
    }

    /// Whether nRESET is held asserted.
    pub fn reset_held(&self) -> bool {
        self.reset_held
    }

    /// A system reset: peripherals to their reset state, the core fetches SP and PC from
    /// the vector table and either stops there (vector catch) or goes on running firmware,
    /// which the model does not execute.
    pub fn system_reset(&mut self) {
        self.bus.reset();
        let (sp, pc) = match self.bus.chip {
            Chip::Nrf52840 => self.vectors(0),
            Chip::Stm32f205 => self.vectors(super::bus::STM_FLASH),
            // The boot ROM runs first and is not modelled: booting from flash leaves the
            // core in the ROM, running what the emulator does not execute.
            Chip::Rtl8721dm => {
                let entry = rtl8721dm::boot(&mut self.bus);
                self.ram_image = entry.is_some();
                entry.unwrap_or((0, 0))
            }
        };
        self.regs[13] = sp;
        self.regs[17] = sp;
        self.regs[15] = pc;
        self.regs[14] = 0xFFFF_FFFF;
        self.regs[16] = 1 << 24;
        self.regs[20] = 0;
        self.locked_up = false;
        self.reset_seen = true;
        self.running = false;
        self.halted_at = self.bus.now;
        self.control &= !(C_HALT | C_STEP);
        if self.demcr & 1 != 0 && self.control & C_DEBUGEN != 0 {
            self.enter_debug_state(DFSR_VCATCH);
        } else {
            self.halted = false;
            if self.ram_image {
                // The ROM jumps into the RAM image: the KM0 runs the loader from now on.
                self.start_running();
            }
        }
    }

    /// The initial SP and PC from a vector table.
    fn vectors(&mut self, table: u32) -> (u32, u32) {
        (
            self.bus.read(table, 4).unwrap_or(0) & !3,
            self.bus.read(table + 4, 4).unwrap_or(0) & !1,
        )
    }

    /// The core runs as the wire's time passes, from now. The RTL8721DM's loader never
    /// stops, so it has no runaway budget.
    fn start_running(&mut self) {
        self.running = true;
        self.core_ns = self.bus.now;
        self.idle_at = None;
        self.budget_left = if self.bus.chip == Chip::Rtl8721dm {
            usize::MAX
        } else {
            INSTRUCTION_BUDGET
        };
    }

    /// Drives nRESET (from the probe's pin or the nRF52 CTRL-AP RESET register):
    /// releasing it resets the system.
    pub fn set_reset_pin(&mut self, asserted: bool) {
        if self.reset_held && !asserted {
            self.reset_held = false;
            // probe-rs enables halting debug only after it releases the pin; on a chip the
            // core is still coming out of reset then. The model has no such delay, so a
            // reset catch armed under reset counts as armed with debug enabled.
            if self.demcr & 1 != 0 {
                self.control |= C_DEBUGEN;
            }
            // A pin reset reads the UICR, as power-on does; a soft reset (AIRCR) does not.
            self.bus.load_uicr();
            self.system_reset();
        } else if asserted {
            self.reset_held = true;
            self.reset_seen = true;
            self.running = false;
        }
    }

    /// Reads `size` (1, 2 or 4) bytes as the AHB-AP does: the debug and system registers
    /// from 0xE000_0000 up, the [`Bus`] below.
    pub fn read(&mut self, address: u32, size: u32) -> Result<u32, BusFault> {
        if address >= 0xE000_0000 {
            let word = self.read_ppb(address & !3);
            let shifted = word >> ((address & 3) * 8);
            return Ok(match size {
                1 => shifted & 0xFF,
                2 => shifted & 0xFFFF,
                _ => word,
            });
        }
        self.bus.read(address, size)
    }

    /// Writes `size` (1, 2 or 4) bytes as the AHB-AP does; see [`Silicon::read`].
    pub fn write(&mut self, address: u32, size: u32, value: u32) -> Result<(), BusFault> {
        if address >= 0xE000_0000 {
            if size != 4 {
                let word = address & !3;
                let shift = (address & 3) * 8;
                let mask = if size == 1 { 0xFF } else { 0xFFFF } << shift;
                let merged = self.read_ppb(word) & !mask | (value << shift) & mask;
                self.write_ppb(word, merged);
            } else {
                self.write_ppb(address, value);
            }
            return Ok(());
        }
        self.bus.write(address, size, value)?;
        if self.bus.reset_requested {
            self.system_reset();
        }
        Ok(())
    }

    fn read_ppb(&mut self, address: u32) -> u32 {
        match address {
            DHCSR => {
                let mut v = self.control & 0xF | S_REGRDY;
                if self.halted && self.halted_at <= self.bus.now {
                    v |= S_HALT;
                }
                if self.locked_up {
                    v |= S_LOCKUP;
                }
                if self.retired {
                    v |= S_RETIRE_ST;
                }
                if self.reset_seen || self.reset_held {
                    v |= S_RESET_ST;
                }
                self.retired = false;
                self.reset_seen = self.reset_held;
                v
            }
            DCRSR => 0,
            DCRDR => self.dcrdr,
            DEMCR => self.demcr,
            DFSR => self.dfsr,
            AIRCR => 0xFA05_0000,
            CPUID => match self.bus.chip {
                Chip::Nrf52840 => 0x410F_C241,
                Chip::Stm32f205 => 0x412F_C230,
                // Cortex-M23 r0p0: the KM0 is of that class (ARMv8-M baseline).
                Chip::Rtl8721dm => 0x410C_D200,
            },
            FP_CTRL => self.fp_ctrl,
            DWT_CTRL => 0x4000_0000,
            _ => super::coresight::read(self.bus.chip, address)
                .unwrap_or_else(|| self.ppb.get(&address).copied().unwrap_or(0)),
        }
    }

    fn write_ppb(&mut self, address: u32, value: u32) {
        match address {
            DHCSR => {
                if value & 0xFFFF_0000 == DBGKEY {
                    self.write_dhcsr(value & 0xF);
                }
            }
            DCRSR => self.register_transfer(value),
            DCRDR => self.dcrdr = value,
            DEMCR => self.demcr = value,
            DFSR => self.dfsr &= !value,
            AIRCR => {
                if value >> 16 == 0x05FA && value & 0b101 != 0 {
                    self.system_reset();
                }
            }
            FP_CTRL => {
                if value & 2 != 0 {
                    self.fp_ctrl = self.fp_ctrl & !1 | value & 1;
                }
            }
            _ => {
                self.ppb.insert(address, value);
            }
        }
    }

    /// Halts the core; like the chip, it shows C_HALT set from then on.
    fn enter_debug_state(&mut self, reason: u32) {
        self.running = false;
        self.halted = true;
        self.control |= C_HALT;
        self.dfsr |= reason;
    }

    fn write_dhcsr(&mut self, bits: u32) {
        self.control = bits;
        if bits & C_DEBUGEN == 0 {
            self.halted = false;
            return;
        }
        if bits & C_HALT != 0 {
            // A halt request also ends a lockup, and shows a core that ran ahead halted now.
            self.locked_up = false;
            self.halted_at = self.halted_at.min(self.bus.now);
            if !self.halted {
                self.enter_debug_state(DFSR_HALTED);
            }
            return;
        }
        if !self.halted {
            return;
        }
        if bits & C_STEP != 0 {
            if self.bus.chip == Chip::Rtl8721dm && !self.runs_code_from_ram() {
                // The boot ROM's own code is not modelled: a step stays where it is.
                self.enter_debug_state(DFSR_HALTED);
                return;
            }
            self.halted = false;
            self.core_ns = self.bus.now;
            self.execute(1, Nanos::MAX);
            return;
        }
        self.halted = false;
        if self.runs_code_from_ram() {
            self.start_running();
        }
    }

    /// Called before the debugger reaches the chip at virtual time `until`: a core that
    /// was resumed into code runs that code up to `until` (or to a breakpoint, a fault, or
    /// its budget), so that what the debugger writes meanwhile (the next page buffer, a
    /// stub's mailbox) is there when the code looks. A wait for the flash controller may
    /// carry the core past `until`; it halts at the virtual time its instructions and the
    /// waits add up to, and the debugger sees it running until then.
    pub fn catch_up(&mut self, until: Nanos) {
        if self.bus.reset_requested {
            self.system_reset();
        }
        if self.running && self.core_ns < until && self.idle_at == Some(self.bus.stores) {
            // Waiting on memory nobody has written since: it would only spin until then.
            self.core_ns = until;
            return;
        }
        if self.running && self.core_ns < until {
            self.idle_at = None;
            let budget = self.budget_left;
            let executed = self.execute(budget, until);
            self.budget_left = budget.saturating_sub(executed);
        }
    }

    /// Whether a resume starts code the model executes: anything in RAM. From flash it is
    /// the device's own firmware, which the emulator leaves running unseen.
    fn runs_code_from_ram(&mut self) -> bool {
        if self.bus.chip == Chip::Rtl8721dm {
            return self.ram_image;
        }
        let pc = self.regs[15];
        (0x2000_0000..0x2010_0000).contains(&pc)
            || (self.bus.chip == Chip::Nrf52840 && (0x0080_0000..0x0084_0000).contains(&pc))
    }

    fn register_transfer(&mut self, dcrsr: u32) {
        let sel = (dcrsr & 0x7F) as usize;
        let write = dcrsr & 1 << 16 != 0;
        if write {
            let v = match sel {
                15 => self.dcrdr & !1,
                _ => self.dcrdr,
            };
            self.regs[sel] = v;
            match sel {
                13 => self.regs[17] = v,
                17 => self.regs[13] = v,
                _ => {}
            }
        } else {
            self.dcrdr = self.regs[sel];
        }
    }

    /// Runs the core from its PC, from virtual time `core_ns`, for at most `budget`
    /// instructions or until `until`; a BKPT halts it, a fault locks it up. Each
    /// instruction costs one cycle of the core's clock (on the chip most take one or two).
    /// Returns the instructions executed.
    fn execute(&mut self, budget: usize, until: Nanos) -> usize {
        let chip = self.bus.chip;
        let timing = self.bus.timing.clone();
        let placeholder = Bus::new_empty(chip, timing.clone());
        let bus = Rc::new(RefCell::new(std::mem::replace(&mut self.bus, placeholder)));
        let version = match chip {
            Chip::Nrf52840 => Config::v7em(),
            Chip::Stm32f205 => Config::v7m(),
            Chip::Rtl8721dm => Config::v8m(),
        };
        let mut cpu = Processor::new(version);
        cpu.instruction_decoder = Box::new(CachedDecoder);
        cpu.map_iface(0, Rc::new(RefCell::new(Port(bus.clone()))))
            .expect("the bus fits below the system area");
        if chip == Chip::Rtl8721dm {
            // A fetch from the boot ROM is a call of one of its routines.
            cpu.hook_code(0..rtl8721dm::ROM_END as usize);
        }
        for (i, index) in GENERAL.iter().enumerate() {
            cpu.registers.set(*index, self.regs[i]);
        }
        cpu.registers.lr = self.regs[14];
        cpu.registers.msp = self.regs[13];
        cpu.registers.psp = self.regs[18];
        cpu.registers
            .set(RegisterIndex::Xpsr, self.regs[16] | 1 << 24);
        cpu.set_pc(self.regs[15] & !1);

        {
            let mut b = bus.borrow_mut();
            b.now = self.core_ns;
            b.core_access = true;
        }
        let mut executed = 0usize;
        let rom = chip == Chip::Rtl8721dm;
        let outcome = run_stepping(&mut cpu, &bus, budget, until, &mut executed, rom);
        self.instructions += executed as u64;
        self.retired |= executed > 0;

        for (i, index) in GENERAL.iter().enumerate() {
            self.regs[i] = cpu.registers[*index];
        }
        self.regs[14] = cpu.registers.lr;
        self.regs[13] = cpu.registers.msp;
        self.regs[17] = cpu.registers.msp;
        self.regs[18] = cpu.registers.psp;
        self.regs[16] = cpu.registers.psr.get();
        self.regs[15] = cpu.pc();
        drop(cpu);
        self.bus = Rc::try_unwrap(bus)
            .map(RefCell::into_inner)
            .unwrap_or_else(|_| unreachable!("the processor was dropped"));
        self.bus.core_access = false;
        self.core_ns = self.bus.now;
        self.halted_at = self.core_ns;
        match outcome {
            Outcome::Paused => {}
            Outcome::Idle => {
                self.idle_at = Some(self.bus.stores);
                self.core_ns = self.core_ns.max(until);
            }
            Outcome::Breakpoint => {
                // The PC stays on the BKPT, as on the chip.
                self.regs[15] = self.regs[15].wrapping_sub(2);
                self.enter_debug_state(DFSR_BKPT);
            }
            Outcome::Fault(why) => {
                // A step of blank or foreign firmware faults on real chips too; only code
                // run from RAM (an algorithm, the checksum routine) is the tools' business.
                if budget > 1 {
                    self.faults.push(why);
                }
                self.locked_up = true;
                self.halted = false;
                self.running = false;
            }
            Outcome::Budget if budget == 1 => self.enter_debug_state(DFSR_HALTED),
            Outcome::Budget => {
                self.running = false;
                self.faults.push(format!(
                    "no breakpoint after {INSTRUCTION_BUDGET} instructions"
                ));
            }
        }
        if self.bus.reset_requested {
            self.system_reset();
        }
        executed
    }
}

enum Outcome {
    Breakpoint,
    Fault(String),
    Budget,
    /// The core reached the time it was run until, and goes on later.
    Paused,
    /// The core waits in a loop that only reads memory nobody has written since: until
    /// something stores, its time passes without anything to execute.
    Idle,
}

/// Runs the core instruction by instruction until `until`, one cycle of its clock each,
/// on the bus's time (which a wait for the flash controller moves on). On the RTL8721DM
/// (`rom`) a fetch from the boot ROM runs that routine ([`rtl8721dm::rom_call`]) and
/// returns to its caller. A loop that comes back to the same place with the same
/// registers, with no store and no read of anything but RAM in between, can only wait for
/// the debugger to write (a loader's or a stub's mailbox), so the run ends there
/// ([`Outcome::Idle`]), as the chip would spin until then.
fn run_stepping(
    cpu: &mut Processor,
    bus: &Rc<RefCell<Bus>>,
    budget: usize,
    until: Nanos,
    executed: &mut usize,
    rom: bool,
) -> Outcome {
    type Seen = ([u32; 16], u64, u64);
    let mut last_at: HashMap<u32, Seen> = HashMap::new();
    let mut pc_before = cpu.pc();
    // Time is counted from `base` in whole cycles, so that 64 MHz's 15.625 ns do not
    // round; a wait for the flash moves the bus on, and the count starts again from there.
    let mut base = bus.borrow().now;
    let mut cycles = 0u64;
    // The core's clock for this run (a tool changes it only while the core is halted).
    let hz = bus.borrow().core_hz();
    let cycles_ns = |cycles: u64| cycles * 1_000_000_000 / hz;
    loop {
        let now = bus.borrow().now;
        if bus.borrow().reset_requested {
            return Outcome::Idle;
        }
        if now >= until {
            return Outcome::Paused;
        }
        if *executed >= budget {
            return Outcome::Budget;
        }
        let event = cpu.next_event();
        {
            let b = bus.borrow();
            if b.now != base + cycles_ns(cycles) {
                base = b.now;
                cycles = 0;
            }
        }
        match event {
            Ok(Event::Instruction { .. }) => {
                *executed += 1;
                cycles += 1;
                bus.borrow_mut().now = base + cycles_ns(cycles);
                let pc = cpu.pc();
                if pc < pc_before {
                    let mut regs = [0u32; 16];
                    for (i, index) in GENERAL.iter().enumerate() {
                        regs[i] = cpu.registers[*index];
                    }
                    regs[13] = cpu.registers.msp;
                    regs[14] = cpu.registers.lr;
                    regs[15] = cpu.registers.psr.get();
                    let seen = {
                        let b = bus.borrow();
                        (regs, b.stores, b.volatile_reads)
                    };
                    if last_at.insert(pc, seen) == Some(seen) {
                        return Outcome::Idle;
                    }
                    if last_at.len() > 64 {
                        last_at.clear();
                    }
                }
                pc_before = pc;
            }
            Ok(Event::Hook { address }) if rom => {
                let args = [
                    cpu.registers[RegisterIndex::R0],
                    cpu.registers[RegisterIndex::R1],
                    cpu.registers[RegisterIndex::R2],
                    cpu.registers[RegisterIndex::R3],
                ];
                match rtl8721dm::rom_call(address, args, &mut bus.borrow_mut()) {
                    Ok(r0) => {
                        cpu.registers.set(RegisterIndex::R0, r0);
                        let back = cpu.registers.lr & !1;
                        cpu.set_pc(back);
                        pc_before = back;
                    }
                    Err(why) => return Outcome::Fault(why),
                }
            }
            Ok(Event::Break(_)) => return Outcome::Breakpoint,
            Ok(_) => {}
            Err(e) => return Outcome::Fault(format!("{e:?} at pc {:#010x}", cpu.pc())),
        }
    }
}

const GENERAL: [RegisterIndex; 13] = [
    RegisterIndex::R0,
    RegisterIndex::R1,
    RegisterIndex::R2,
    RegisterIndex::R3,
    RegisterIndex::R4,
    RegisterIndex::R5,
    RegisterIndex::R6,
    RegisterIndex::R7,
    RegisterIndex::R8,
    RegisterIndex::R9,
    RegisterIndex::R10,
    RegisterIndex::R11,
    RegisterIndex::R12,
];

/// armagnac's decoder with a memo: decoding matches an instruction against every pattern,
/// which costs more than executing it, and a flash algorithm runs the same few
/// instructions millions of times. Decoding depends only on the bits and the IT state, and
/// ARMv7-M's decoder accepts everything the chips here run, so one memo per thread serves
/// both chips (a `Processor` is not `Send`, so neither is what it decodes to).
struct CachedDecoder;

thread_local! {
    static DECODER: BasicInstructionDecoder = BasicInstructionDecoder::new(ArmVersion::V7EM);
    static DECODED: RefCell<HashMap<u64, Rc<dyn Instruction>, BuildHasherDefault<KeyHasher>>> =
        RefCell::default();
}

/// The memo's keys are already well spread in their low bits; SipHash would cost more
/// than the lookup saves.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl InstructionDecode for CachedDecoder {
    fn try_decode(
        &self,
        ins: u32,
        size: InstructionSize,
        state: ItState,
    ) -> Result<Rc<dyn Instruction>, InstructionDecodeError> {
        let key = u64::from(ins)
            | u64::from(size == InstructionSize::Ins32) << 32
            | u64::from(state.0) << 40;
        if let Some(found) = DECODED.with_borrow(|m| m.get(&key).cloned()) {
            return Ok(found);
        }
        let decoded = DECODER.with(|d| d.try_decode(ins, size, state))?;
        DECODED.with_borrow_mut(|m| m.insert(key, decoded.clone()));
        Ok(decoded)
    }
}

/// The bus as armagnac's processor sees it, for the length of one run.
struct Port(Rc<RefCell<Bus>>);

fn fault(_: BusFault) -> MemoryAccessError {
    MemoryAccessError::HardwareError
}

impl MemoryInterface for Port {
    fn read_u8(&mut self, address: u32, _: &mut Env) -> MemoryReadResult<u8> {
        Ok(self.0.borrow_mut().read(address, 1).map_err(fault)? as u8)
    }
    fn write_u8(&mut self, address: u32, value: u8, _: &mut Env) -> MemoryWriteResult {
        self.0
            .borrow_mut()
            .write(address, 1, u32::from(value))
            .map_err(fault)
    }
    fn read_u16le(&mut self, address: u32, _: &mut Env) -> MemoryReadResult<u16> {
        Ok(self.0.borrow_mut().read(address, 2).map_err(fault)? as u16)
    }
    fn write_u16le(&mut self, address: u32, value: u16, _: &mut Env) -> MemoryWriteResult {
        self.0
            .borrow_mut()
            .write(address, 2, u32::from(value))
            .map_err(fault)
    }
    fn read_u32le(&mut self, address: u32, _: &mut Env) -> MemoryReadResult<u32> {
        self.0.borrow_mut().read(address, 4).map_err(fault)
    }
    fn write_u32le(&mut self, address: u32, value: u32, _: &mut Env) -> MemoryWriteResult {
        self.0.borrow_mut().write(address, 4, value).map_err(fault)
    }
    fn size(&self) -> u32 {
        0xE000_0000
    }
}
