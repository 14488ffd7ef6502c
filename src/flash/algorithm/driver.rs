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
}

/// One call of the algorithm, in the order they run.
enum Call<'a> {
    Init(u32),
    UnInit(u32),
    Erase(u32),
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
        let ram = RamRegion {
            range: ram.range.start..ram.range.end.min(ram_end),
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

    /// Downloads the blob after a reset and halt (no firmware running, peripherals at
    /// their reset state, as probe-rs loads it), and reads it back.
    fn load(&mut self, core: &mut Core<'_>) -> Result<(), TargetError> {
        core.reset_and_halt(Duration::from_millis(500))
            .map_err(probe_error)?;
        // Interrupts masked while the algorithm runs; C_MASKINTS may change only while
        // halted, so it is set here, once.
        core.write_word_32(DHCSR, DBGKEY | C_MASKINTS | C_HALT | C_DEBUGEN)
            .map_err(probe_error)?;
        let blob = &self.algorithm.instructions;
        core.write_32(self.algorithm.load_address, blob)
            .map_err(probe_error)?;
        let mut back = vec![0; blob.len()];
        core.read_32(self.algorithm.load_address, &mut back)
            .map_err(probe_error)?;
        if &back != blob {
            return Err(failed(format!(
                "the flash algorithm did not read back as written at {:#010x}: the target's RAM there is not usable",
                self.algorithm.load_address
            )));
        }
        self.loaded = true;
        Ok(())
    }

    /// The calls in order, each program call's data written to its buffer while the call
    /// before it runs: the wire and the flash work at the same time.
    fn run(&mut self, core: &mut Core<'_>, calls: &[Call<'_>]) -> Result<(), TargetError> {
        let buffers = [
            self.algorithm.page_buffers[0],
            self.algorithm.page_buffers[1],
        ];
        let mut next_buffer = 0;
        let mut running: Option<(&Call<'_>, Duration)> = None;
        let mut first = true;
        let mut paced = [0u32; 2];
        // A shrinking call found the one before it still running.
        let mut tail_waited = false;
        for call in calls {
            let mut buffer = 0;
            if let Call::Program { data, .. } = call {
                buffer = buffers[next_buffer];
                next_buffer ^= 1;
                let mut words = vec![0xFFFF_FFFFu32; data.len().div_ceil(4)];
                for (w, bytes) in words.iter_mut().zip(data.chunks(4)) {
                    let mut b = [0xFF; 4];
                    b[..bytes.len()].copy_from_slice(bytes);
                    *w = u32::from_le_bytes(b);
                }
                core.write_32(buffer, &words).map_err(probe_error)?;
            }
            if let Some((before, timeout)) = running.take() {
                let polls = self.finish(core, before, timeout)?;
                // Two full-size calls in a row: had the first halted by the time the
                // second's buffer was loaded?
                if let (Call::Program { data: a, .. }, Call::Program { data: b, .. }) =
                    (before, call)
                {
                    if a.len().min(b.len()) >= FULL_SIZE {
                        paced[usize::from(polls > 1)] += 1;
                    } else if b.len() < a.len() && polls > 1 {
                        tail_waited = true;
                    }
                }
            }
            running = Some((call, self.start(core, call, buffer, &mut first)?));
        }
        if let Some((last, timeout)) = running {
            self.finish(core, last, timeout)?;
        }
        // [the wire kept the flash waiting, the flash kept the wire waiting]
        self.pace = super::next_pace(self.pace, paced, tail_waited);
        Ok(())
    }

    /// Sets a call's registers and resumes the core; returns how long it may take. The
    /// `first` call that runs also sets R9 and SP, which the calls after it keep (AAPCS:
    /// R9 is preserved, SP restored), whether or not the algorithm has an Init.
    fn start(
        &self,
        core: &mut Core<'_>,
        call: &Call<'_>,
        buffer: u64,
        first: &mut bool,
    ) -> Result<Duration, TargetError> {
        let a = &self.algorithm;
        let properties = &a.flash_properties;
        let missing = |name: &str| failed(format!("the flash algorithm {} has no {name}", a.name));
        let (pc, args, timeout) = match call {
            Call::Init(function) => (
                a.pc_init,
                [properties.address_range.start, 0, u64::from(*function)],
                INIT_TIMEOUT,
            ),
            Call::UnInit(function) => (a.pc_uninit, [u64::from(*function), 0, 0], INIT_TIMEOUT),
            Call::Erase(address) => (
                Some(a.pc_erase_sector),
                [u64::from(*address), 0, 0],
                Duration::from_millis(u64::from(properties.erase_sector_timeout)),
            ),
            Call::Program { address, data } => {
                let pages = (data.len() as u64).div_ceil(u64::from(self.page));
                (
                    Some(a.pc_program_page),
                    [u64::from(*address), data.len() as u64, buffer],
                    Duration::from_millis(
                        u64::from(properties.program_page_timeout).saturating_mul(pages.max(1)),
                    ),
                )
            }
        };
        let Some(pc) = pc else {
            // An algorithm without Init or UnInit needs neither.
            if matches!(call, Call::Init(_) | Call::UnInit(_)) {
                return Ok(Duration::ZERO);
            }
            return Err(missing("entry point for this call"));
        };
        let regs = core.registers();
        let mut values = vec![
            (core.program_counter(), pc),
            (regs.argument_register(0), args[0]),
            (regs.argument_register(1), args[1]),
            (regs.argument_register(2), args[2]),
            // Thumb: the return lands on the blob's BKPT with bit 0 set.
            (core.return_address(), a.load_address + 1),
        ];
        if std::mem::take(first) {
            values.push((regs.core_register(9), a.static_base));
            values.push((core.stack_pointer(), a.stack_top));
        }
        for (register, value) in values {
            core.write_core_reg(register, value).map_err(probe_error)?;
        }
        // Resumed by clearing C_HALT (ARMv7-M C1.6.2). probe-rs's `Core::run` first steps
        // one instruction, in case the core sits on a breakpoint, which costs a dozen
        // register round trips per call; every call here starts at an entry point.
        core.write_word_32(DHCSR, DBGKEY | C_MASKINTS | C_DEBUGEN)
            .map_err(probe_error)?;
        Ok(timeout)
    }

    /// Waits for a call to halt on the blob's BKPT and checks its result; returns how many
    /// status reads it took (1: it had halted before the host looked).
    fn finish(
        &self,
        core: &mut Core<'_>,
        call: &Call<'_>,
        timeout: Duration,
    ) -> Result<u32, TargetError> {
        let (name, address) = match call {
            Call::Init(_) if self.algorithm.pc_init.is_none() => return Ok(0),
            Call::UnInit(_) if self.algorithm.pc_uninit.is_none() => return Ok(0),
            Call::Init(_) => ("Init", None),
            Call::UnInit(_) => ("UnInit", None),
            Call::Erase(a) => ("EraseSector", Some(*a)),
            Call::Program { address, .. } => ("ProgramPage", Some(*address)),
        };
        let at = address.map_or(String::new(), |a| format!(" at {a:#010x}"));
        let deadline = Instant::now() + timeout + Duration::from_secs(1);
        // DHCSR alone: probe-rs's `Core::status` also reads and clears DFSR and, on a
        // breakpoint, reads the instruction there (semihosting), three round trips more.
        let mut polls = 0;
        loop {
            polls += 1;
            let dhcsr = core.read_word_32(DHCSR).map_err(probe_error)?;
            if dhcsr & S_LOCKUP != 0 {
                return Err(failed(format!(
                    "the flash algorithm's {name}{at} locked the core up"
                )));
            }
            if dhcsr & S_HALT != 0 {
                break;
            }
            if Instant::now() > deadline {
                // Stopped, so that it writes nothing after the error is reported.
                core.write_word_32(DHCSR, DBGKEY | C_MASKINTS | C_HALT | C_DEBUGEN)
                    .ok();
                return Err(TargetError::Timeout("a flash algorithm call"));
            }
        }
        let pc: u64 = core
            .read_core_reg(core.program_counter())
            .map_err(probe_error)?;
        if pc != self.algorithm.load_address {
            return Err(failed(format!(
                "the flash algorithm's {name}{at} stopped at {pc:#010x}, not at its return"
            )));
        }
        let result: u32 = core
            .read_core_reg(core.registers().result_register(0))
            .map_err(probe_error)?;
        if result != 0 {
            return Err(failed(format!(
                "the flash algorithm's {name}{at} failed with code {result}"
            )));
        }
        Ok(polls)
    }
}
