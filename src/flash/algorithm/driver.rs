//! Runs a target's flash algorithm (probe-rs's `RawFlashAlgorithm`, a CMSIS-Pack FLM)
//! through probe-rs's `Core`, as the CMSIS-Pack calling convention says (Keil, "Flash
//! Programming Functions"): Init(address, clock, function), EraseSector(address),
//! ProgramPage(address, size, buffer), UnInit(function); arguments in R0-R2, R9 the
//! static base, SP the algorithm's stack, LR the blob's leading BKPT, the result in R0.
//!
//! probe-rs's own `Flasher` does this too, but only behind `FlashLoader`, one page per
//! call and a page started only once the previous one is done, so every call's register
//! round trips come while the flash idles. Here a call programs a whole run of up to
//! [`super::BUFFER_BYTES`], the host fills the other buffer while the core programs one,
//! the algorithm stays loaded for the device's whole run, and runs of 0xFF words are left
//! out (see [`super::program_runs`]). probe-rs still lays the algorithm out in RAM
//! (`FlashAlgorithm::assemble_from_raw_with_data`): code, static base, stack, buffers.
//!
//! The core does not halt between calls. A small stub of hexsmith's (see [`STUB`]) runs
//! the calls the host posts in a two-slot mailbox in RAM, one after the other: the host
//! posts the next call while the core runs the one before, so the flash goes from one
//! call to the next without waiting for the host to see a halt, read the result and set
//! five registers (about 45 J-Link commands, 7 ms, per call).

use super::Pace;
use crate::flash::armv7m::{C_DEBUGEN, C_HALT, C_MASKINTS, DBGKEY, S_HALT, S_LOCKUP};
use crate::flash::{EraseUnit, TargetError, UnitWrite};

/// DHCSR as probe-rs addresses memory.
const DHCSR: u64 = crate::flash::armv7m::DHCSR as u64;
use probe_rs::config::{MemoryRegion, RamRegion};
use probe_rs::flashing::FlashAlgorithm;
use probe_rs::{Core, MemoryInterface, Session};
use std::time::{Duration, Instant};

/// Algorithms whose ProgramPage programs every word of any `size` it is given (a loop
/// over the words, the flash's READY or BSY polled after each), proven on the emulator,
/// which runs their code: probe-rs's `nrf52` (NVMC word writes) and `stm32f2xx_1024`
/// (Keil's STM32F2xx FLM, x32 programming). Any other algorithm gets one page per call.
const LONG_CALLS: [&str; 2] = ["nrf52", "stm32f2xx_1024"];

/// Calls at least this long show which side paces a batch (shorter ones are the ramps).
const FULL_SIZE: usize = 4 * super::RAMP_BYTES;

/// Init's and UnInit's function codes (CMSIS-Pack): 1 erase, 2 program.
const ERASE: u32 = 1;
const PROGRAM: u32 = 2;

/// How long Init and UnInit may take (probe-rs waits as long).
const INIT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long EraseChip may take: five times the slowest chip erase in the platform table
/// (the STM32F205's mass erase, 8 s typical at x32 parallelism).
const CHIP_ERASE_TIMEOUT: Duration = Duration::from_secs(40);

/// The mailbox stub, ARMv6-M Thumb (runs on any Cortex-M). R4 points at two slots of five
/// words, `[entry, r1, r2, r0, state]`; the host writes a slot in one block, `state` last.
/// The stub takes the slots in turn: it waits for `state` to be [`GO`], calls `entry`
/// (a Thumb address) with R0-R2, stores R0 back in the slot and sets `state` to
/// [`DONE`]; a call that returns non-zero stops it on `BKPT #1`, and [`STOP`] in the slot
/// it waits on stops it on `BKPT #0`. It keeps R4, and the algorithm's R9 and SP
/// (AAPCS callee-saved), and stores nothing but the slots.
const STUB: [u16; 24] = [
    0x4625, // start:  mov  r5, r4
    0x6928, // wait:   ldr  r0, [r5, #16]
    0x2801, //         cmp  r0, #GO
    0xD002, //         beq  call
    0x2803, //         cmp  r0, #STOP
    0xD1FA, //         bne  wait
    0xBE00, //         bkpt #0
    0x682B, // call:   ldr  r3, [r5, #0]
    0x68E8, //         ldr  r0, [r5, #12]
    0x6869, //         ldr  r1, [r5, #4]
    0x68AA, //         ldr  r2, [r5, #8]
    0x4798, //         blx  r3
    0x60E8, //         str  r0, [r5, #12]
    0x2102, //         movs r1, #DONE
    0x6129, //         str  r1, [r5, #16]
    0x2800, //         cmp  r0, #0
    0xD105, //         bne  failed
    0x42A5, //         cmp  r5, r4
    0xD101, //         bne  first
    0x3514, //         adds r5, #20
    0xE7EB, //         b    wait
    0x4625, // first:  mov  r5, r4
    0xE7E9, //         b    wait
    0xBE01, // failed: bkpt #1
];

/// Where the stub stops when told to (a failed call stops it at `failed`).
const STUB_STOPPED: u64 = 12;

/// A slot's `state`: empty (or taken), posted, done, and the stub's stop.
const EMPTY: u32 = 0;
const GO: u32 = 1;
const DONE: u32 = 2;
const STOP: u32 = 3;

/// Reads of a slot between two looks at the core: an algorithm that faulted is reported
/// at once instead of at its deadline.
const POLLS_PER_STATUS: u32 = 32;

/// Bytes the stub and its mailbox take, just below the checksum routine's region.
const STUB_BYTES: u64 = 2 * STUB.len() as u64 + 2 * 20;

/// A chip's setup after a reset, before the algorithm is loaded.
pub(crate) type AfterReset = fn(&mut Core<'_>) -> Result<(), TargetError>;

/// A flash algorithm laid out in the target's RAM, and whether it is there now.
pub(crate) struct Driver {
    algorithm: FlashAlgorithm,
    /// Bytes one ProgramPage call may program.
    call_bytes: u32,
    /// The algorithm's own page size, which its per-page timeout is for.
    page: u32,
    /// Calls must not cross a multiple of this (the algorithm's own page size) when the
    /// algorithm is not known to loop over any size.
    boundary: Option<u32>,
    /// The blob is in RAM (a reset leaves RAM as it is; other code loaded there, a chip
    /// erase's algorithm or firmware that ran, does not).
    loaded: bool,
    /// What paced the last batch, which the next one's calls are cut for.
    pace: Pace,
    /// RAM address of the stub; its mailbox follows it.
    stub: u64,
    /// What the chip needs after the reset that precedes loading the algorithm (the
    /// STM32F2's faster clock).
    pub(crate) after_reset: Option<AfterReset>,
}

/// One call of the algorithm, in the order they run.
enum Call<'a> {
    Init(u32),
    UnInit(u32),
    Erase(u32),
    EraseChip,
    Program { address: u32, data: &'a [u8] },
}

fn probe_error(e: impl std::error::Error + Send + Sync + 'static) -> TargetError {
    TargetError::Probe(std::sync::Arc::new(e))
}

fn failed(what: String) -> TargetError {
    TargetError::Probe(std::sync::Arc::new(std::io::Error::other(what)))
}

impl Driver {
    /// The target's default algorithm for the flash that holds every unit, laid out in
    /// the RAM at 0x2000_0000 below `ram_end` (where the checksum routine's region
    /// begins); `None` when there is none that hexsmith can drive (no such algorithm, an
    /// encoded transfer, a core that is not a Cortex-M, too little RAM), and the caller
    /// takes probe-rs's `FlashLoader` instead.
    pub(crate) fn for_units(
        target: &probe_rs::Target,
        units: &[EraseUnit],
        ram_end: u64,
    ) -> Option<Driver> {
        if !matches!(
            target.default_core().core_type,
            probe_rs::CoreType::Armv6m
                | probe_rs::CoreType::Armv7m
                | probe_rs::CoreType::Armv7em
                | probe_rs::CoreType::Armv8m
        ) {
            return None;
        }
        let holds = |a: &&probe_rs::config::RawFlashAlgorithm| {
            let range = &a.flash_properties.address_range;
            units
                .iter()
                .all(|u| range.start <= u64::from(u.start) && u.end <= range.end)
        };
        let mut fitting: Vec<_> = target.flash_algorithms.iter().filter(holds).collect();
        fitting.sort_by_key(|a| !a.default);
        let raw = fitting.first()?;
        if raw
            .transfer_encoding
            .is_some_and(|e| e != Default::default())
        {
            return None;
        }
        let ram = target.memory_map.iter().find_map(|r| match r {
            MemoryRegion::Ram(ram) if ram.range.start == 0x2000_0000 => Some(ram.clone()),
            _ => None,
        })?;
        let stub = ram.range.end.min(ram_end).checked_sub(STUB_BYTES)? & !7;
        let ram = RamRegion {
            range: ram.range.start..stub,
            ..ram
        };
        let long = LONG_CALLS.contains(&raw.name.as_str());
        let page = raw.flash_properties.page_size.max(4);
        let call_bytes = if long { super::BUFFER_BYTES } else { page };
        let mut raw = (*raw).clone();
        raw.flash_properties.page_size = call_bytes;
        let algorithm =
            FlashAlgorithm::assemble_from_raw_with_data(&raw, &ram, &ram, target).ok()?;
        if algorithm.page_buffers.len() < 2 {
            return None;
        }
        Some(Driver {
            algorithm,
            call_bytes,
            page,
            boundary: (!long).then_some(page),
            loaded: false,
            pace: Pace::Unknown,
            stub,
            after_reset: None,
        })
    }

    /// The algorithm's RAM is no longer known to hold it.
    pub(crate) fn forget(&mut self) {
        self.loaded = false;
    }

    /// Whether the algorithm was laid out for the flash holding every unit.
    pub(crate) fn holds(&self, units: &[EraseUnit]) -> bool {
        let range = &self.algorithm.flash_properties.address_range;
        units
            .iter()
            .all(|u| range.start <= u64::from(u.start) && u.end <= range.end)
    }

    /// Erases the units not known to be erased, then programs what is not 0xFF: Init,
    /// the calls, UnInit for each of the two, so that the chip's flash is locked again
    /// between batches (where Ctrl-C stops a run). Returns with every call done, or at
    /// the first that failed.
    pub(crate) fn write(
        &mut self,
        session: &mut Session,
        writes: &[UnitWrite<'_>],
    ) -> Result<(), TargetError> {
        let mut calls = Vec::new();
        let erase: Vec<u32> = writes
            .iter()
            .filter(|w| !w.erased)
            .map(|w| w.unit.start)
            .collect();
        if !erase.is_empty() {
            calls.push(Call::Init(ERASE));
            calls.extend(erase.into_iter().map(Call::Erase));
            calls.push(Call::UnInit(ERASE));
        }
        let spans = super::contiguous(writes.iter().map(|w| (w.unit.start, w.data)));
        let runs: Vec<(u32, usize, usize)> = spans
            .iter()
            .flat_map(|(start, data)| {
                super::program_runs(*start, data, self.call_bytes as usize, self.boundary)
            })
            .collect();
        // The ramps cut runs into calls, in order, never one call across two runs: each
        // call lies inside one span.
        let program = super::ramped(runs, self.pace)
            .into_iter()
            .map(|(address, _, len)| {
                let inside = |(start, data): &&(u32, Vec<u8>)| {
                    *start <= address
                        && u64::from(address) + len as u64 <= u64::from(*start) + data.len() as u64
                };
                let (start, data) = spans.iter().find(inside).ok_or_else(|| {
                    failed(format!(
                        "internal: a call at {address:#010x} lies outside the data to write"
                    ))
                })?;
                let offset = (address - start) as usize;
                Ok(Call::Program {
                    address,
                    data: &data[offset..offset + len],
                })
            })
            .collect::<Result<Vec<_>, TargetError>>()?;
        if !program.is_empty() {
            calls.push(Call::Init(PROGRAM));
            calls.extend(program);
            calls.push(Call::UnInit(PROGRAM));
        }
        if calls.is_empty() {
            return Ok(());
        }
        let mut core = session.core(0).map_err(probe_error)?;
        if !self.loaded {
            self.load(&mut core)?;
        }
        self.run(&mut core, &calls)
    }

    /// Erases the whole flash the algorithm is for with its own EraseChip (Init, EraseChip,
    /// UnInit); `Ok(false)` when it has none.
    pub(crate) fn erase_chip(&mut self, session: &mut Session) -> Result<bool, TargetError> {
        if self.algorithm.pc_erase_all.is_none() {
            return Ok(false);
        }
        let mut core = session.core(0).map_err(probe_error)?;
        if !self.loaded {
            self.load(&mut core)?;
        }
        self.run(
            &mut core,
            &[Call::Init(ERASE), Call::EraseChip, Call::UnInit(ERASE)],
        )?;
        Ok(true)
    }

    /// Downloads the blob after a reset and halt (no firmware running, peripherals at
    /// their reset state, as probe-rs loads it), and reads it back.
    fn load(&mut self, core: &mut Core<'_>) -> Result<(), TargetError> {
        core.reset_and_halt(Duration::from_millis(500))
            .map_err(probe_error)?;
        // Interrupts masked while the algorithm runs; C_MASKINTS may change only while
        // halted, so it is set here, once.
        core.write_word_32(DHCSR, DBGKEY | C_MASKINTS | C_HALT | C_DEBUGEN)
            .map_err(probe_error)?;
        if let Some(after_reset) = self.after_reset {
            after_reset(core)?;
        }
        let blob = &self.algorithm.instructions;
        core.write_32(self.algorithm.load_address, blob)
            .map_err(probe_error)?;
        let mut back = vec![0; blob.len()];
        core.read_32(self.algorithm.load_address, &mut back)
            .map_err(probe_error)?;
        let stub: Vec<u32> = STUB
            .chunks(2)
            .map(|h| u32::from(h[0]) | u32::from(h[1]) << 16)
            .collect();
        core.write_32(self.stub, &stub).map_err(probe_error)?;
        let mut stub_back = vec![0; stub.len()];
        core.read_32(self.stub, &mut stub_back)
            .map_err(probe_error)?;
        if &back != blob || stub_back != stub {
            return Err(failed(format!(
                "the flash algorithm did not read back as written at {:#010x}: the target's RAM there is not usable",
                self.algorithm.load_address
            )));
        }
        self.loaded = true;
        Ok(())
    }

    /// The calls in order through the stub, each program call's data written to its
    /// buffer while the calls before it run: the wire and the flash work at the same time,
    /// and the flash goes from one call to the next without the host in between.
    fn run(&mut self, core: &mut Core<'_>, calls: &[Call<'_>]) -> Result<(), TargetError> {
        let calls: Vec<(&Call<'_>, Posted)> = calls
            .iter()
            .filter_map(|c| Some((c, self.posted(c)?)))
            .collect();
        if calls.is_empty() {
            return Ok(());
        }
        let buffers = [
            self.algorithm.page_buffers[0],
            self.algorithm.page_buffers[1],
        ];
        let mut next_buffer = 0;
        let mut paced = [0u32; 2];
        // A shrinking call found the one two before it still running.
        let mut tail_waited = false;
        for (i, (call, posted)) in calls.iter().enumerate() {
            // Call i takes the slot, and perhaps the buffer, of call i - 2.
            let polls = match i.checked_sub(2) {
                Some(k) => Some(self.wait_done(core, &calls[k], k)?),
                None => None,
            };
            let mut args = posted.args;
            if let Call::Program { data, .. } = call {
                let buffer = buffers[next_buffer];
                next_buffer ^= 1;
                args[2] = buffer as u32;
                let mut words = vec![0xFFFF_FFFFu32; data.len().div_ceil(4)];
                for (w, bytes) in words.iter_mut().zip(data.chunks(4)) {
                    let mut b = [0xFF; 4];
                    b[..bytes.len()].copy_from_slice(bytes);
                    *w = u32::from_le_bytes(b);
                }
                core.write_32(buffer, &words).map_err(probe_error)?;
            }
            let slot = [posted.entry, args[1], args[2], args[0], GO];
            if i == 0 {
                self.start(core, slot)?;
            } else {
                core.write_32(self.slot(i), &slot).map_err(probe_error)?;
            }
            // Two full-size calls two apart: had the first finished by the time the
            // second's buffer was to be loaded?
            if let (Some(polls), Some(k)) = (polls, i.checked_sub(2))
                && let (Call::Program { data: a, .. }, Call::Program { data: b, .. }) =
                    (calls[k].0, call)
            {
                if a.len().min(b.len()) >= FULL_SIZE {
                    paced[usize::from(polls > 1)] += 1;
                } else if b.len() < a.len() && polls > 1 {
                    tail_waited = true;
                }
            }
        }
        let n = calls.len();
        if n >= 2 {
            self.wait_done(core, &calls[n - 2], n - 2)?;
        }
        // The stub stops once the last call is done, on the slot it takes next.
        core.write_word_32(self.slot(n) + 16, STOP)
            .map_err(probe_error)?;
        self.wait_stopped(core, &calls[n - 1], n - 1)?;
        // [the wire kept the flash waiting, the flash kept the wire waiting]
        self.pace = super::next_pace(self.pace, paced, tail_waited);
        Ok(())
    }

    /// The mailbox slot call `i` takes.
    fn slot(&self, i: usize) -> u64 {
        self.stub + 2 * STUB.len() as u64 + 20 * (i % 2) as u64
    }

    /// A call's entry point (Thumb), arguments (R0-R2; a program call's buffer is filled
    /// in when it is posted) and how long it may take; `None` for a call the algorithm
    /// has no entry for (an Init or UnInit it does without), which is skipped.
    fn posted(&self, call: &Call<'_>) -> Option<Posted> {
        let a = &self.algorithm;
        let properties = &a.flash_properties;
        let start = properties.address_range.start as u32;
        let (entry, args, timeout) = match call {
            Call::Init(function) => (a.pc_init, [start, 0, *function], INIT_TIMEOUT),
            Call::UnInit(function) => (a.pc_uninit, [*function, 0, 0], INIT_TIMEOUT),
            Call::EraseChip => (a.pc_erase_all, [0, 0, 0], CHIP_ERASE_TIMEOUT),
            Call::Erase(address) => (
                Some(a.pc_erase_sector),
                [*address, 0, 0],
                Duration::from_millis(u64::from(properties.erase_sector_timeout)),
            ),
            Call::Program { address, data } => {
                let pages = (data.len() as u64).div_ceil(u64::from(self.page));
                (
                    Some(a.pc_program_page),
                    [*address, data.len() as u32, 0],
                    Duration::from_millis(
                        u64::from(properties.program_page_timeout).saturating_mul(pages.max(1)),
                    ),
                )
            }
        };
        Some(Posted {
            entry: entry? as u32 | 1,
            args,
            timeout,
        })
    }

    /// Posts the first call with the other slot empty, sets the stub's registers (R4 the
    /// mailbox, R9 and SP the algorithm's, which other code run since, such as the
    /// checksum routine, may have changed) and resumes the core at the stub.
    fn start(&self, core: &mut Core<'_>, first: [u32; 5]) -> Result<(), TargetError> {
        let mut slots = [EMPTY; 10];
        slots[..5].copy_from_slice(&first);
        core.write_32(self.slot(0), &slots).map_err(probe_error)?;
        let regs = core.registers();
        let values = [
            (regs.core_register(4), self.slot(0)),
            (regs.core_register(9), self.algorithm.static_base),
            (core.stack_pointer(), self.algorithm.stack_top),
            (core.program_counter(), self.stub),
        ];
        for (register, value) in values {
            core.write_core_reg(register, value).map_err(probe_error)?;
        }
        // Resumed by clearing C_HALT (ARMv7-M C1.6.2). probe-rs's `Core::run` first steps
        // one instruction, in case the core sits on a breakpoint, which costs a dozen
        // register round trips; the stub starts at its first instruction.
        core.write_word_32(DHCSR, DBGKEY | C_MASKINTS | C_DEBUGEN)
            .map_err(probe_error)
    }

    /// What a call is called in an error: its name and address.
    fn named(call: &Call<'_>) -> (&'static str, String) {
        let (name, address) = match call {
            Call::Init(_) => ("Init", None),
            Call::UnInit(_) => ("UnInit", None),
            Call::Erase(a) => ("EraseSector", Some(*a)),
            Call::EraseChip => ("EraseChip", None),
            Call::Program { address, .. } => ("ProgramPage", Some(*address)),
        };
        (
            name,
            address.map_or(String::new(), |a| format!(" at {a:#010x}")),
        )
    }

    /// Waits for call `i`'s slot to say it is done, and checks its result; returns how
    /// many reads of the slot it took (1: it was done before the host looked).
    fn wait_done(
        &self,
        core: &mut Core<'_>,
        (call, posted): &(&Call<'_>, Posted),
        i: usize,
    ) -> Result<u32, TargetError> {
        // Call i started, at the latest, when call i - 1 was done, which the host waited
        // for before it posted call i + 1.
        let deadline = Instant::now() + posted.timeout + Duration::from_secs(1);
        let mut polls = 0;
        loop {
            polls += 1;
            let mut result_state = [0u32; 2];
            core.read_32(self.slot(i) + 12, &mut result_state)
                .map_err(probe_error)?;
            if result_state[1] == DONE {
                return self.check_result(call, result_state[0]).map(|()| polls);
            }
            let stopped = polls.is_multiple_of(POLLS_PER_STATUS)
                && core.read_word_32(DHCSR).map_err(probe_error)? & (S_HALT | S_LOCKUP) != 0;
            if stopped || Instant::now() > deadline {
                return Err(self.stopped_short(core, call));
            }
        }
    }

    /// Waits for the stub to stop on its BKPT after the last call, `i`, and checks it.
    fn wait_stopped(
        &self,
        core: &mut Core<'_>,
        (call, posted): &(&Call<'_>, Posted),
        i: usize,
    ) -> Result<(), TargetError> {
        let deadline = Instant::now() + posted.timeout + Duration::from_secs(1);
        // DHCSR alone: probe-rs's `Core::status` also reads and clears DFSR and, on a
        // breakpoint, reads the instruction there (semihosting), three round trips more.
        loop {
            let dhcsr = core.read_word_32(DHCSR).map_err(probe_error)?;
            if dhcsr & (S_HALT | S_LOCKUP) != 0 {
                break;
            }
            if Instant::now() > deadline {
                return Err(self.stopped_short(core, call));
            }
        }
        let pc: u64 = core
            .read_core_reg(core.program_counter())
            .map_err(probe_error)?;
        let mut result_state = [0u32; 2];
        core.read_32(self.slot(i) + 12, &mut result_state)
            .map_err(probe_error)?;
        if result_state[1] == DONE {
            self.check_result(call, result_state[0])?;
        }
        if pc != self.stub + STUB_STOPPED || result_state[1] != DONE {
            let (name, at) = Self::named(call);
            return Err(failed(format!(
                "the flash algorithm's {name}{at} stopped at {pc:#010x}, not at its return"
            )));
        }
        Ok(())
    }

    fn check_result(&self, call: &Call<'_>, result: u32) -> Result<(), TargetError> {
        if result != 0 {
            let (name, at) = Self::named(call);
            return Err(failed(format!(
                "the flash algorithm's {name}{at} failed with code {result}"
            )));
        }
        Ok(())
    }

    /// A call that did not finish in time: the core is stopped, so that it writes nothing
    /// after the error is reported, and the error says what became of it.
    fn stopped_short(&self, core: &mut Core<'_>, call: &Call<'_>) -> TargetError {
        let (name, at) = Self::named(call);
        let dhcsr = core.read_word_32(DHCSR).unwrap_or(0);
        core.write_word_32(DHCSR, DBGKEY | C_MASKINTS | C_HALT | C_DEBUGEN)
            .ok();
        if dhcsr & S_LOCKUP != 0 {
            return failed(format!(
                "the flash algorithm's {name}{at} locked the core up"
            ));
        }
        if dhcsr & S_HALT != 0 {
            let pc: u64 = core.read_core_reg(core.program_counter()).unwrap_or(0);
            return failed(format!(
                "the flash algorithm's {name}{at} stopped at {pc:#010x}, not at its return"
            ));
        }
        TargetError::Timeout("a flash algorithm call")
    }
}

/// A call as the stub takes it.
struct Posted {
    entry: u32,
    args: [u32; 3],
    timeout: Duration,
}

#[cfg(all(test, feature = "emulator"))]
mod tests {
    use super::*;
    use crate::flash::emulator::{Chip, EmulatedDevice};
    use probe_rs::Permissions;

    const UNIT: EraseUnit = EraseUnit {
        start: 0x0001_0000,
        end: 0x0001_1000,
        erase_ms: 85,
    };

    /// A blank emulated nRF52840, attached, and the driver for its flash, whose
    /// ProgramPage starts with `entry` (Thumb halfwords) when given.
    fn attached(entry: Option<&[u16]>) -> (EmulatedDevice, Session, Driver) {
        let device = EmulatedDevice::blank(Chip::Nrf52840, &[0x12; 8]);
        let session = device
            .probe()
            .attach("nRF52840_xxAA", Permissions::default())
            .expect("the emulated nRF52840 attaches");
        let mut driver = Driver::for_units(session.target(), &[UNIT], 0x2003_0000)
            .expect("probe-rs's nrf52 algorithm can be driven");
        if let Some(halfwords) = entry {
            let a = &mut driver.algorithm;
            let first = (a.pc_program_page - a.load_address) as usize / 2;
            for (at, h) in (first..).zip(halfwords) {
                let word = &mut a.instructions[at / 2];
                let shift = 16 * (at % 2);
                *word = *word & !(0xFFFF << shift) | u32::from(*h) << shift;
            }
        }
        (device, session, driver)
    }

    fn write(session: &mut Session, driver: &mut Driver, data: &[u8]) -> Result<(), TargetError> {
        let writes = [UnitWrite {
            unit: UNIT,
            data,
            erased: true,
        }];
        driver.write(session, &writes)
    }

    #[test]
    fn the_stub_runs_the_calls_and_stops_after_the_last() {
        let (device, mut session, mut driver) = attached(None);
        let data: Vec<u8> = (0..UNIT.len()).map(|i| (i * 7) as u8).collect();
        write(&mut session, &mut driver, &data).unwrap();
        assert_eq!(device.peek(UNIT.start, UNIT.len()), data);
        // Halted on the stub's stop, ready for the next batch.
        let mut core = session.core(0).unwrap();
        let pc: u64 = core.read_core_reg(core.program_counter()).unwrap();
        assert_eq!(pc, driver.stub + STUB_STOPPED);
        drop(core);
        let again: Vec<u8> = data.iter().map(|b| b & 0x0F).collect();
        write(&mut session, &mut driver, &again).unwrap();
        assert_eq!(device.peek(UNIT.start, UNIT.len()), again);
    }

    #[test]
    fn a_failing_call_is_named_with_its_code() {
        // movs r0, #7; bx lr
        let (device, mut session, mut driver) = attached(Some(&[0x2007, 0x4770]));
        let err = write(&mut session, &mut driver, &[0u8; 4096]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("ProgramPage at 0x00010000 failed with code 7"),
            "{text}"
        );
        assert_eq!(device.peek(UNIT.start, 4), [0xFF; 4]);
    }

    #[test]
    fn a_call_that_faults_is_reported_before_its_deadline() {
        // udf #0
        let (_device, mut session, mut driver) = attached(Some(&[0xDE00]));
        let started = Instant::now();
        let err = write(&mut session, &mut driver, &[0u8; 4096]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("locked the core up"), "{text}");
        assert!(started.elapsed() < Duration::from_secs(1), "{text}");
    }
}
