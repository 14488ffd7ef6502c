//! How long `hexsmith flash` takes on a kind of probe, without one: the time model a dry
//! run prints. It follows what a run does (attach, compare by on-chip checksums, erase the
//! units that differ and program their runs of words in batches of calls of the flash
//! algorithm hexsmith drives, each call's buffer loaded while the call before runs, verify
//! by checksums, reset) and prices each step with [`super::wire`]'s packet costs and the
//! platform table's flash times, as the emulator's clock does.
//!
//! The accesses each step makes are those probe-rs 0.32 makes, counted on the emulator
//! (`tests/flash_estimate.rs` checks the whole model against it on real images, scenario
//! by scenario): they are properties of probe-rs's code, not of the probe.

use super::geometry::EraseUnit;
use super::wire::{ProbeKind, WireCosts};
use super::{FlashPlan, algorithm, checksum};
use crate::memory::MemoryImage;
use crate::platform::Mcu;
use serde::Serialize;

/// Register reads and writes of one step, not counting blocks, and the times probe-rs
/// flushes the CMSIS-DAP batch on its own (after a resume or a halt): a packet there, no
/// cost on a J-Link, which never holds writes back.
#[derive(Debug, Clone, Copy)]
struct Accesses {
    reads: u64,
    writes: u64,
    flushes: u64,
}

/// Attaching (probe-rs's debug sequences, halting the core) and reading the device ID.
const ATTACH: Accesses = Accesses {
    reads: 60,
    writes: 75,
    flushes: 0,
};
/// Loading the checksum routines after a reset-and-halt (besides their words).
const ROUTINE_LOAD: Accesses = Accesses {
    reads: 14,
    writes: 32,
    flushes: 1,
};
/// One run of a checksum routine, besides its header and results blocks and the status
/// reads while it runs: the PC, the resume by DHCSR.
const ROUTINE_CALL: Accesses = Accesses {
    reads: 4,
    writes: 15,
    flushes: 2,
};
/// Loading the flash algorithm once per device (a reset and halt, the blob, reading it
/// back), besides the blob's words.
const ALGORITHM_LOAD: Accesses = Accesses {
    reads: 60,
    writes: 80,
    flushes: 0,
};
/// Starting the driver's stub once per batch: R4, R9, SP and PC (each a DCRDR and a
/// DCRSR write and a DHCSR read), the resume; the two mailbox slots are a block besides.
const STUB_START: Accesses = Accesses {
    reads: 4,
    writes: 9,
    flushes: 1,
};
/// Stopping it after a batch's last call: the STOP word, a DHCSR read that sees it
/// halted, where it stopped (DCRSR write, DHCSR and DCRDR reads); the last slot's
/// result and state are a block besides.
const STUB_STOP: Accesses = Accesses {
    reads: 3,
    writes: 2,
    flushes: 0,
};
/// One status read while the core runs.
const STATUS_POLL: Accesses = Accesses {
    reads: 1,
    writes: 0,
    flushes: 0,
};
/// Words the host writes to post one call (a mailbox slot), and reads to see one done.
const SLOT_WORDS: u64 = 5;
const DONE_WORDS: u64 = 2;
/// Calls at least this long (in words) show which side paces a batch, as in the driver.
const FULL_SIZE_WORDS: u64 = 4 * algorithm::RAMP_BYTES as u64 / 4;
/// Instructions the algorithm runs per word it programs, besides waiting for the flash.
const ALGORITHM_INSTRUCTIONS_PER_WORD: u64 = 8;
/// The reset at the end.
const RESET: Accesses = Accesses {
    reads: 10,
    writes: 15,
    flushes: 0,
};
/// Instructions the CRC routine executes per byte (a word at a time, four lookups).
const CRC_INSTRUCTIONS_PER_BYTE: u64 = 4;
/// Cycles the STM32F2's CRC unit takes per word (4 AHB cycles, RM0033 4.2), which the
/// routine's loads and stores keep fed; its flash reads' wait states come on top.
const UNIT_CYCLES_PER_WORD: u64 = 4;
/// Instructions the blank check executes per eight erased words (`ldm`, seven ANDs, the
/// test and the loop).
const BLANK_INSTRUCTIONS_PER_BLOCK: u64 = 12;
/// Instructions a routine spends on a range besides its bytes (loading the pair, storing
/// the result, a programmed range's way out of the blank check).
const ROUTINE_INSTRUCTIONS_PER_RANGE: u64 = 20;

/// What probe-rs's built-in flash algorithm for an MCU is like.
struct Algorithm {
    /// Words of the algorithm blob.
    words: u64,
    /// The core's clock while hexsmith's code runs, in Hz (as the emulator's clock runs it).
    core_hz: u64,
    /// The chip has the STM32F2's CRC unit, which checksums ranges of whole words.
    crc_unit: bool,
    /// Wait states on each read of flash by the core (the checksum routine's).
    flash_read_cycles: u64,
    /// Accesses that set the clock after each of the two resets (the checksum routine's
    /// and the algorithm's).
    clock_setup: Accesses,
}

/// The STM32F2's switch to 120 MHz (`probe::stm32f2_fast_clock`): FLASH_ACR written and
/// read back, RCC_PLLCFGR, RCC_CR read and written, a PLLRDY poll or two, RCC_CFGR.
const STM32F2_CLOCK_SETUP: Accesses = Accesses {
    reads: 4,
    writes: 5,
    flushes: 0,
};

fn algorithm(mcu: &Mcu) -> Algorithm {
    match mcu.chip.as_deref() {
        // probe-rs's STM32F2 Series target's stm32f2xx_1024; 120 MHz, the PLL hexsmith
        // switches to after each reset (`probe::stm32f2_fast_clock`).
        Some(c) if c.to_ascii_uppercase().starts_with("STM32F2") => Algorithm {
            words: 211,
            crc_unit: true,
            core_hz: 120_000_000,
            flash_read_cycles: 3,
            clock_setup: STM32F2_CLOCK_SETUP,
        },
        // probe-rs's nRF52840 target's nrf52; 64 MHz. Also the guess for chips without a
        // built-in target.
        _ => Algorithm {
            words: 186,
            core_hz: 64_000_000,
            crc_unit: false,
            flash_read_cycles: 0,
            clock_setup: Accesses {
                reads: 0,
                writes: 0,
                flushes: 0,
            },
        },
    }
}

/// A dry run's time for one kind of probe.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProbeEstimate {
    /// The kind of probe assumed.
    pub probe: ProbeKind,
    /// Why that kind: `"--emulate-probe"`, `"attached probe"` or `"default"`.
    pub probe_from: &'static str,
    /// What the device was assumed to hold: `"blank"`, or `"emulated state"` when
    /// `--emulate-state` gave its content.
    pub device: &'static str,
    /// Units that would be erased and programmed.
    pub units_written: usize,
    /// The whole run, rounded to 0.01 s.
    pub seconds: f64,
}

impl ProbeEstimate {
    /// The estimate of a run of `plan` (batches of 16 units, as the command line writes)
    /// on a `probe` kind chosen for the reason `probe_from`, onto a device holding `held`
    /// (`None`: assumed blank).
    pub fn new(
        plan: &FlashPlan,
        image: &MemoryImage,
        mcu: &Mcu,
        held: Option<&MemoryImage>,
        probe: ProbeKind,
        probe_from: &'static str,
    ) -> ProbeEstimate {
        let blank = MemoryImage::new();
        let (seconds, units_written) =
            estimate(plan, image, mcu, held.unwrap_or(&blank), probe, BATCH_UNITS);
        ProbeEstimate {
            probe,
            probe_from,
            device: if held.is_some() {
                "emulated state"
            } else {
                "blank"
            },
            units_written,
            seconds,
        }
    }
}

/// Units per batch of `hexsmith flash` (its `FlashOptions::batch_units`).
pub const BATCH_UNITS: usize = 16;

/// Prices steps on one kind of probe at its default SWD clock.
struct Pricer {
    costs: WireCosts,
    khz: u32,
}

impl Pricer {
    fn accesses(&self, a: Accesses) -> u64 {
        let read = self.costs.packet_ns(2, self.khz);
        let write_bits = self.costs.packet_ns(1, self.khz) - self.costs.round_trip_ns;
        match self.costs.writes_per_batch() {
            // J-Link: every write is its own command, checked by an RDBUFF read.
            1 => a.reads * read + a.writes * self.costs.packet_ns(2, self.khz),
            // CMSIS-DAP: writes ride in the packet of the next read or flush.
            _ => a.reads * read + a.flushes * self.costs.round_trip_ns + a.writes * write_bits,
        }
    }

    fn block(&self, words: u64) -> u64 {
        if words == 0 {
            return 0;
        }
        self.costs.block_ns(words, self.khz)
    }

    /// Runs of a checksum routine over `ranges` ranges, [`checksum::MAX_RANGES`] at a
    /// time, which keep the core busy `core_ns` in all: each writes its header, resumes
    /// the core, polls its status until it halts and reads the results.
    fn routine(&self, ranges: u64, core_ns: u64) -> u64 {
        let poll = self.accesses(STATUS_POLL).max(1);
        let max = checksum::MAX_RANGES as u64;
        let runs = ranges.div_ceil(max).max(1);
        (0..runs)
            .map(|k| {
                let n = (ranges - k * max).min(max);
                let busy = core_ns * n / ranges.max(1);
                self.ram_block(2 + 2 * n)
                    + self.accesses(ROUTINE_CALL)
                    + busy.div_ceil(poll).max(1) * poll
                    + self.block(n + 1)
            })
            .sum()
    }

    /// A block as probe-rs writes it to RAM: split at 1 KiB (the AP's auto-increment
    /// limit), each piece after a TAR write.
    fn ram_block(&self, words: u64) -> u64 {
        let mut total = 0;
        let mut left = words;
        while left > 0 {
            let piece = left.min(256);
            total += self.block(piece);
            left -= piece;
        }
        total
    }
}

/// The time `hexsmith flash` (verify and reset on, batches of `batch_units`) takes to
/// write `image` by `plan` to a device that holds `held` (an empty image for a blank
/// device), on a probe of `kind`, in seconds (to 0.01 s), with the units it would write.
pub fn estimate(
    plan: &FlashPlan,
    image: &MemoryImage,
    mcu: &Mcu,
    held: &MemoryImage,
    kind: ProbeKind,
    batch_units: usize,
) -> (f64, usize) {
    let costs = kind.costs();
    let p = Pricer {
        costs,
        khz: costs.default_swd_khz,
    };
    let algo = algorithm(mcu);
    let word_ns = u64::from(mcu.program_us_per_word) * 1_000;
    let core_ns = |instructions: u64| instructions * 1_000_000_000 / algo.core_hz;

    let mut ns = p.accesses(ATTACH);
    let empty = MemoryImage::new();
    // Compare as `execute` does: a blank check of each run of units, the CRC of the
    // image's bytes in the runs that are not blank, and where a unit differs, a blank
    // check of its image part and of the rest.
    if !plan.chip_erase {
        ns += p.ram_block(checksum::program().len() as u64)
            + p.accesses(ROUTINE_LOAD)
            + p.accesses(algo.clock_setup);
        let runs = super::execute::unit_runs(&plan.units);
        let mut instructions = 0;
        let mut open = Vec::new();
        for ((start, len), members) in &runs {
            let mut bytes = vec![0xFF; *len as usize];
            held.copy_into(*start, &mut bytes);
            instructions += blank_check_cycles(&algo, &bytes);
            if bytes.iter().any(|b| *b != 0xFF) {
                open.extend(members.clone());
            }
        }
        ns += p.routine(runs.len() as u64, core_ns(instructions));
        if !open.is_empty() {
            let ranges: Vec<(u32, u32)> = open
                .iter()
                .flat_map(|i| super::execute::image_ranges(image, plan.units[*i]))
                .collect();
            ns += p.routine(ranges.len() as u64, core_ns(crc_cycles(&algo, &ranges)));
            let differ: Vec<EraseUnit> = open
                .iter()
                .map(|i| plan.units[*i])
                .filter(|u| content(image, held, *u) != content(held, &empty, *u))
                .collect();
            if !differ.is_empty() {
                // Each unit's image ranges and the gaps between them, about twice as many.
                let mut ranges = 0;
                let mut instructions = 0;
                for u in &differ {
                    let have = content(held, &empty, *u);
                    ranges += 2 * image_ranges_in(image, *u) + 1;
                    instructions += blank_check_cycles(&algo, &have);
                }
                ns += p.routine(ranges, core_ns(instructions));
            }
        }
    } else {
        ns += u64::from(mcu.chip_erase_ms) * 1_000_000 + p.accesses(ALGORITHM_LOAD);
    }

    // The units that differ, and whether each is blank on the device.
    let pending: Vec<(EraseUnit, bool)> = plan
        .units
        .iter()
        .filter_map(|u| {
            let want = content(image, held, *u);
            let have = content(held, &empty, *u);
            (want != have).then(|| (*u, plan.chip_erase || have.iter().all(|b| *b == 0xFF)))
        })
        .collect();
    if !plan.chip_erase {
        // A unit whose bytes outside the image are not erased is read whole, to keep them.
        for (u, _) in &pending {
            let outside = content(held, &empty, *u);
            let mut covered = vec![false; u.len()];
            for seg in image.segments() {
                let from = u64::from(seg.start).max(u64::from(u.start));
                let to = seg.end().min(u.end);
                for c in covered
                    .iter_mut()
                    .take(to.saturating_sub(u64::from(u.start)) as usize)
                    .skip(from.saturating_sub(u64::from(u.start)) as usize)
                {
                    *c = true;
                }
            }
            if outside.iter().zip(&covered).any(|(b, c)| !c && *b != 0xFF) {
                ns += p.ram_block(u.len() as u64 / 4);
            }
        }
    }
    // A chip erase instead of the units' erases, where `execute` would choose one: quicker
    // by the datasheet, and nothing outside the image on the device (a blank check of the
    // rest of the flash tells).
    let mut pending = pending;
    let mut chip_erased = false;
    if let Some(whole) = &plan.whole_chip
        && !plan.chip_erase
        && !pending.is_empty()
    {
        let to_erase = pending.iter().filter(|(_, blank)| !blank).map(|(u, _)| *u);
        let held_units = plan
            .units
            .iter()
            .filter(|u| pending.iter().all(|(p, _)| p != *u))
            .copied();
        if whole.quicker(image, to_erase, held_units) {
            // A blank check of the rest of the flash, as `execute` asks it.
            let rest = super::execute::rest_of_flash(image, whole);
            let mut rest_blank = true;
            let mut instructions = 0;
            for (start, len) in &rest {
                let mut have = vec![0xFF; *len as usize];
                held.copy_into(*start, &mut have);
                rest_blank &= have.iter().all(|b| *b == 0xFF);
                instructions += blank_check_cycles(&algo, &have);
            }
            if !rest.is_empty() {
                ns += p.routine(rest.len() as u64, core_ns(instructions));
            }
            if rest_blank {
                chip_erased = true;
                pending = plan.units.iter().map(|u| (*u, true)).collect();
            }
        }
    }
    let held = if chip_erased { &empty } else { held };
    let mut driver = Driver {
        pricer: &p,
        now: 0,
        pace: algorithm::Pace::Unknown,
    };
    if !pending.is_empty() {
        driver.wire(
            p.ram_block(algo.words) + p.accesses(ALGORITHM_LOAD) + p.accesses(algo.clock_setup),
        );
    }
    if chip_erased {
        driver.batch(&[
            (0, 0),
            (0, u64::from(mcu.chip_erase_ms) * 1_000_000),
            (0, 0),
        ]);
    }
    for batch in pending.chunks(batch_units.max(1)) {
        // The batch's calls in the order the driver posts them: (words to load, core time).
        let mut calls: Vec<(u64, u64)> = Vec::new();
        let erase: Vec<EraseUnit> = batch.iter().filter(|(_, b)| !b).map(|(u, _)| *u).collect();
        if !erase.is_empty() {
            calls.push((0, 0));
            calls.extend(erase.iter().map(|u| (0, u64::from(u.erase_ms) * 1_000_000)));
            calls.push((0, 0));
        }
        let contents: Vec<(u32, Vec<u8>)> = batch
            .iter()
            .map(|(u, _)| (u.start, content(image, held, *u)))
            .collect();
        let spans = algorithm::contiguous(contents.iter().map(|(s, d)| (*s, &d[..])));
        let runs: Vec<u64> = algorithm::ramped(
            spans
                .iter()
                .flat_map(|(start, data)| {
                    algorithm::program_runs(*start, data, algorithm::BUFFER_BYTES as usize, None)
                })
                .collect(),
            driver.pace,
        )
        .into_iter()
        .map(|(_, _, len)| (len as u64).div_ceil(4))
        .collect();
        if !runs.is_empty() {
            calls.push((0, 0));
            calls.extend(runs.iter().map(|words| {
                (
                    *words,
                    words * word_ns + core_ns(words * ALGORITHM_INSTRUCTIONS_PER_WORD),
                )
            }));
            calls.push((0, 0));
        }
        driver.batch(&calls);
    }
    ns += driver.finish();
    if !pending.is_empty() {
        // Verify (the routines stay loaded beside the algorithm): each run of written
        // units' erased stretches by the blank check, the rest by CRC.
        let units: Vec<EraseUnit> = pending.iter().map(|(u, _)| *u).collect();
        let (mut erased, mut erased_bytes, mut crc) = (0, 0, Vec::new());
        for ((start, len), _) in super::execute::unit_runs(&units) {
            let mut data = vec![0xFF; len as usize];
            held.copy_into(start, &mut data);
            image.copy_into(start, &mut data);
            let runs = checksum::erased_runs(start, &data);
            let rest = checksum::between(start, len, &runs);
            erased += runs.len() as u64;
            erased_bytes += runs.iter().map(|(_, l)| u64::from(*l)).sum::<u64>();
            crc.extend(rest);
        }
        if erased > 0 {
            let blocks = erased_bytes / 32;
            ns += p.routine(
                erased,
                core_ns(
                    blocks * (BLANK_INSTRUCTIONS_PER_BLOCK + 8 * algo.flash_read_cycles)
                        + erased * ROUTINE_INSTRUCTIONS_PER_RANGE,
                ),
            );
        }
        ns += p.routine(crc.len() as u64, core_ns(crc_cycles(&algo, &crc)));
    }
    ns += p.accesses(RESET);
    let seconds = (ns as f64 / 1e7).round() / 100.0;
    (seconds, pending.len())
}

/// The calls of the flash algorithm hexsmith drives (`algorithm::driver`), on a timeline:
/// the core runs the posted calls one after the other; the host waits for the call two
/// before a call to be done (it takes that one's slot and buffer), loads the call's data
/// and posts it.
struct Driver<'a> {
    pricer: &'a Pricer,
    /// The host's time.
    now: u64,
    /// What paced the last batch (`algorithm::driver` cuts the next one's calls for it).
    pace: algorithm::Pace,
}

impl Driver<'_> {
    fn wire(&mut self, ns: u64) {
        self.now += ns;
    }

    /// One batch's calls, each `(words to load, core time)`, through the stub.
    fn batch(&mut self, calls: &[(u64, u64)]) {
        if calls.is_empty() {
            return;
        }
        let p = self.pricer;
        // When each call ends on the core.
        let mut ends: Vec<u64> = Vec::with_capacity(calls.len());
        let mut paced = [0u32; 2];
        let mut tail_waited = false;
        for (i, (words, busy)) in calls.iter().enumerate() {
            if let Some(k) = i.checked_sub(2) {
                // Had call k finished when the host came to load call i?
                let flash_left = self.wait_done(ends[k]);
                let (before, _) = calls[k];
                if before.min(*words) >= FULL_SIZE_WORDS {
                    paced[usize::from(flash_left)] += 1;
                } else if before > 0 && *words > 0 && *words < before && flash_left {
                    tail_waited = true;
                }
            }
            self.now += p.ram_block(*words);
            if i == 0 {
                self.now += p.ram_block(2 * SLOT_WORDS) + p.accesses(STUB_START);
            } else {
                self.now += p.ram_block(SLOT_WORDS);
            }
            let start = ends.last().copied().unwrap_or(0).max(self.now);
            ends.push(start + busy);
        }
        let n = calls.len();
        if n >= 2 {
            self.wait_done(ends[n - 2]);
        }
        // The STOP, then DHCSR polls until the stub has stopped after the last call.
        self.now += p.accesses(Accesses {
            reads: 0,
            writes: 1,
            flushes: 0,
        });
        let poll = p.accesses(STATUS_POLL);
        if ends[n - 1] > self.now {
            self.now += (ends[n - 1] - self.now).div_ceil(poll.max(1)) * poll;
        }
        self.now += p.accesses(STUB_STOP) + p.block(DONE_WORDS);
        self.pace = algorithm::next_pace(self.pace, paced, tail_waited);
    }

    /// Reads the slot of a call ending at `end` until it says done; returns whether it
    /// was still running at the first read.
    fn wait_done(&mut self, end: u64) -> bool {
        let read = self.pricer.block(DONE_WORDS);
        let left = end > self.now;
        if left {
            self.now += (end - self.now).div_ceil(read.max(1)) * read;
        }
        self.now += read;
        left
    }

    fn finish(self) -> u64 {
        self.now
    }
}

/// Core cycles a run of checksums over `ranges` takes: the STM32F2's CRC unit where the
/// chip has one and every range is whole words (as `probe` picks it), else the routine;
/// either way each word is read from flash once, with its wait states.
fn crc_cycles(algo: &Algorithm, ranges: &[(u32, u32)]) -> u64 {
    let words: u64 = ranges.iter().map(|(_, l)| u64::from(*l) / 4).sum();
    let whole_words = ranges.iter().all(|(a, l)| a % 4 == 0 && l % 4 == 0);
    let per_word = if algo.crc_unit && whole_words {
        UNIT_CYCLES_PER_WORD
    } else {
        4 * CRC_INSTRUCTIONS_PER_BYTE
    };
    words * (per_word + algo.flash_read_cycles)
        + ranges.len() as u64 * ROUTINE_INSTRUCTIONS_PER_RANGE
}

/// Core cycles the blank check spends on `bytes`: eight words a block (each read from
/// flash with its wait states) up to the block with the first programmed byte, where it
/// stops.
fn blank_check_cycles(algo: &Algorithm, bytes: &[u8]) -> u64 {
    let scanned = bytes.iter().position(|b| *b != 0xFF).unwrap_or(bytes.len());
    (scanned as u64 / 32) * (BLANK_INSTRUCTIONS_PER_BLOCK + 8 * algo.flash_read_cycles)
        + ROUTINE_INSTRUCTIONS_PER_RANGE
}

/// How many of the image's segments reach into `unit`: the ranges a CRC of its image
/// bytes asks.
fn image_ranges_in(image: &MemoryImage, unit: EraseUnit) -> u64 {
    image
        .segments()
        .iter()
        .filter(|seg| seg.end() > u64::from(unit.start) && u64::from(seg.start) < unit.end)
        .count() as u64
}

/// What a unit would hold after `image` is written over `base`: `base`'s bytes (0xFF
/// where it has none) with `image`'s on top.
fn content(image: &MemoryImage, base: &MemoryImage, unit: EraseUnit) -> Vec<u8> {
    let mut out = vec![0xFF; unit.len()];
    base.copy_into(unit.start, &mut out);
    image.copy_into(unit.start, &mut out);
    out
}
