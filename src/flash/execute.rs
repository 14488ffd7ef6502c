//! Carrying out a flash plan: read each touched unit, leave alone those that already hold
//! the image's bytes, write the others whole (keeping the device's bytes the image does
//! not cover, so nothing the user did not ask to lose is lost), verify, reset.

use super::{EraseUnit, FlashPlan, FlashTarget, TargetError, UnitWrite, checksum};
use crate::memory::MemoryImage;
use crate::platform::Mcu;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How [`execute`] carries out a plan. The default does neither verify nor reset; the CLI
/// turns both on unless told otherwise.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct FlashOptions {
    /// Check every written unit afterwards: by the target's checksums where it can
    /// compute them, else by reading it back. A difference is [`FlashError::Verify`].
    pub verify: bool,
    /// Reset the chip at the end, so that it boots what was written.
    pub reset: bool,
    /// Set from elsewhere (Ctrl-C) to stop before the next batch of units; the report
    /// then says `interrupted`.
    pub cancel: Option<Arc<AtomicBool>>,
    /// How many units to hand the target at once (0 counts as 1): a probe programs a
    /// batch in one pass of its flash algorithm, while `cancel` is only seen between
    /// batches.
    pub batch_units: usize,
    /// Write every unit the plan touches, even one found to hold the image already
    /// (espflash's `--no-skip`): for a device whose flash reads back right but is
    /// suspected all the same, or to time a full write.
    pub write_unchanged: bool,
}

impl FlashOptions {
    /// With [`FlashOptions::verify`].
    pub fn with_verify(mut self, verify: bool) -> FlashOptions {
        self.verify = verify;
        self
    }
    /// With [`FlashOptions::reset`].
    pub fn with_reset(mut self, reset: bool) -> FlashOptions {
        self.reset = reset;
        self
    }
    /// With [`FlashOptions::cancel`].
    pub fn with_cancel(mut self, cancel: Option<Arc<AtomicBool>>) -> FlashOptions {
        self.cancel = cancel;
        self
    }
    /// With [`FlashOptions::batch_units`].
    pub fn with_batch_units(mut self, units: usize) -> FlashOptions {
        self.batch_units = units;
        self
    }
    /// With [`FlashOptions::write_unchanged`].
    pub fn with_write_unchanged(mut self, write: bool) -> FlashOptions {
        self.write_unchanged = write;
        self
    }
}

/// Progress, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Units compared with the image so far, of all.
    Compared {
        /// Units compared.
        done: usize,
        /// Units the plan touches.
        total: usize,
    },
    /// Bytes erased and programmed so far, of all that need it.
    Written {
        /// Bytes of the units written so far.
        done: u64,
        /// Bytes of all units to be written.
        total: u64,
    },
    /// Bytes read back and checked so far.
    Verified {
        /// Bytes of the units checked so far.
        done: u64,
        /// Bytes of all units to check.
        total: u64,
    },
    /// Bytes read so far (reading a device into a file).
    Read {
        /// Bytes read.
        done: u64,
        /// Bytes to read.
        total: u64,
    },
}

/// What [`execute`] did to a device; part of `flash --json`'s per-device record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FlashReport {
    /// Erase units erased and programmed.
    pub units_written: usize,
    /// Units left alone because they already held the image's bytes.
    pub units_skipped: usize,
    /// Bytes of the erase units written (whole units).
    pub bytes_written: u64,
    /// Bytes of the units left alone because they already held the image.
    pub bytes_skipped: u64,
    /// Units written, in order, as `[start, end)` flash addresses (end exclusive).
    pub written: Vec<[u64; 2]>,
    /// Every written unit was checked and agrees with the image (true also when nothing
    /// needed writing); false when verification was off or did not get that far.
    pub verified: bool,
    /// The whole chip was erased first: asked for, or chosen as quicker than erasing the
    /// units one by one, where it loses nothing ([`FlashPlan::whole_chip`]).
    pub chip_erased: bool,
    /// The run stopped at [`FlashOptions::cancel`]: the units in `written` were written,
    /// the rest not, and nothing was verified or reset.
    pub interrupted: bool,
    /// On an emulated device: everything on its wire since the command opened it
    /// (attaching and reading the device ID included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wire: Option<Box<super::WireCounts>>,
}

/// A failure, with what had been done before it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{error}")]
#[non_exhaustive]
pub struct FlashFailure {
    /// What went wrong.
    pub error: FlashError,
    /// What had been done up to then: the units already written stay written.
    pub report: FlashReport,
}

/// Why [`execute`] stopped.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum FlashError {
    /// The target failed an operation (a probe error, a protected unit, a timeout).
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A written unit does not read back as written: a worn cell, or a write the chip
    /// refused without saying so. A rerun writes the unit again.
    #[error("verify failed at {address:#010x}: wrote {expected:#04x}, read back {found:#04x}")]
    Verify {
        /// The first differing byte's flash address.
        address: u64,
        /// The byte that was written there.
        expected: u8,
        /// The byte the device holds.
        found: u8,
    },
}

/// Runs a plan against a target: compares each unit the plan touches with the image (by
/// the target's checksums where it can compute them, else by reading the unit), writes
/// those that differ in batches of [`FlashOptions::batch_units`], keeping the device's
/// bytes the image does not cover, then verifies and resets as `options` say.
/// `progress` gets an [`Event`] after each unit compared, batch written and unit verified.
///
/// With `plan.chip_erase` the chip is erased first and every unit is written. A failure
/// comes with the [`FlashReport`] of what had been done.
pub fn execute(
    plan: &FlashPlan,
    image: &MemoryImage,
    target: &mut dyn FlashTarget,
    options: &FlashOptions,
    progress: &mut dyn FnMut(Event),
) -> Result<FlashReport, FlashFailure> {
    let mut result = execute_counted(plan, image, target, options, progress);
    let wire = target.wire_counts().map(Box::new);
    match &mut result {
        Ok(report) => report.wire = wire,
        Err(failure) => failure.report.wire = wire,
    }
    result
}

fn execute_counted(
    plan: &FlashPlan,
    image: &MemoryImage,
    target: &mut dyn FlashTarget,
    options: &FlashOptions,
    progress: &mut dyn FnMut(Event),
) -> Result<FlashReport, FlashFailure> {
    let mut report = FlashReport::default();
    let fail = |error: FlashError, report: &FlashReport| FlashFailure {
        error,
        report: report.clone(),
    };
    let cancelled = || {
        options
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::SeqCst))
    };

    // What each touched unit must hold afterwards, and whether it does already.
    let mut pending: Vec<(usize, Vec<u8>)> = Vec::new();
    // Units known to be erased: after a chip erase, or by their checksum.
    let mut blank = vec![false; plan.units.len()];
    if plan.chip_erase {
        target.erase_chip().map_err(|e| fail(e.into(), &report))?;
    }
    // What the target's blank checks and checksums tell about each unit; a unit they
    // leave open is read and compared.
    let matching = if plan.chip_erase {
        let erased = UnitState {
            holds_image: false,
            rest_erased: true,
            blank: true,
        };
        vec![Some(erased); plan.units.len()]
    } else {
        units_matching(plan, image, target).map_err(|e| fail(e.into(), &report))?
    };
    for (i, unit) in plan.units.iter().enumerate() {
        let state = matching[i];
        blank[i] = state.is_some_and(|s| s.blank);
        let must_read = state.is_none_or(|s| !s.rest_erased);
        if state.is_some_and(|s| s.holds_image) && !options.write_unchanged {
            report.units_skipped += 1;
            report.bytes_skipped += unit.len() as u64;
        } else {
            let mut current = vec![0xFF; unit.len()];
            // Bytes the image leaves out are kept; when it covers the unit there are none.
            if must_read {
                target
                    .read(unit.start, &mut current)
                    .map_err(|e| fail(e.into(), &report))?;
            }
            let mut wanted = current.clone();
            image.copy_into(unit.start, &mut wanted);
            if must_read && wanted == current && !options.write_unchanged {
                report.units_skipped += 1;
                report.bytes_skipped += unit.len() as u64;
            } else {
                pending.push((i, wanted));
            }
        }
        progress(Event::Compared {
            done: i + 1,
            total: plan.units.len(),
        });
    }

    report.chip_erased = plan.chip_erase;
    // Only where the target told each unit's state without its bytes being read.
    if let Some(whole) = &plan.whole_chip
        && matching.iter().all(Option::is_some)
        && whole.quicker(
            image,
            pending
                .iter()
                .filter(|(i, _)| !blank[*i])
                .map(|(i, _)| plan.units[*i]),
            plan.units
                .iter()
                .enumerate()
                .filter(|(i, _)| pending.iter().all(|(p, _)| p != i))
                .map(|(_, u)| *u),
        )
        && rest_of_flash_blank(image, whole, target).map_err(|e| fail(e.into(), &report))?
        && target
            .erase_whole_chip()
            .map_err(|e| fail(e.into(), &report))?
    {
        // Every unit is blank now, and is written whole: the image over 0xFF.
        report.chip_erased = true;
        report.units_skipped = 0;
        report.bytes_skipped = 0;
        blank = vec![true; plan.units.len()];
        pending = plan
            .units
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let mut wanted = vec![0xFF; u.len()];
                image.copy_into(u.start, &mut wanted);
                (i, wanted)
            })
            .collect();
    }

    let total: u64 = pending
        .iter()
        .map(|(i, _)| plan.units[*i].len() as u64)
        .sum();
    let batch = options.batch_units.max(1);
    for chunk in pending.chunks(batch) {
        if cancelled() {
            report.interrupted = true;
            return Ok(report);
        }
        let writes: Vec<UnitWrite<'_>> = chunk
            .iter()
            .map(|(i, data)| UnitWrite {
                unit: plan.units[*i],
                data,
                erased: blank[*i],
            })
            .collect();
        target
            .write_units(&writes)
            .map_err(|e| fail(e.into(), &report))?;
        for w in &writes {
            report.units_written += 1;
            report.bytes_written += w.unit.len() as u64;
            report.written.push([u64::from(w.unit.start), w.unit.end]);
        }
        progress(Event::Written {
            done: report.bytes_written,
            total,
        });
    }

    if options.verify {
        let written: Vec<(EraseUnit, &[u8])> = pending
            .iter()
            .map(|(i, wanted)| (plan.units[*i], &wanted[..]))
            .collect();
        let agree = units_agree(target, &written).map_err(|e| fail(e.into(), &report))?;
        let mut done = 0;
        for (k, (i, wanted)) in pending.iter().enumerate() {
            let unit = plan.units[*i];
            if !agree[k] {
                // Read it back: without checksums, or to name the first differing byte.
                let mut back = vec![0; unit.len()];
                target
                    .read(unit.start, &mut back)
                    .map_err(|e| fail(e.into(), &report))?;
                if let Some(at) = back.iter().zip(wanted).position(|(a, b)| a != b) {
                    let error = FlashError::Verify {
                        address: u64::from(unit.start) + at as u64,
                        expected: wanted[at],
                        found: back[at],
                    };
                    return Err(fail(error, &report));
                }
            }
            done += unit.len() as u64;
            progress(Event::Verified { done, total });
        }
        report.verified = true;
    }
    if options.reset {
        target.reset().map_err(|e| fail(e.into(), &report))?;
    }
    Ok(report)
}

/// Whether every byte of the flash that the image does not cover is erased on the
/// target, so that a chip erase loses nothing: by blank checks, or checksums where the
/// target has none; false where it cannot tell either way.
fn rest_of_flash_blank(
    image: &MemoryImage,
    whole: &super::WholeChip,
    target: &mut dyn FlashTarget,
) -> Result<bool, TargetError> {
    let rest = rest_of_flash(image, whole);
    if rest.is_empty() {
        return Ok(true);
    }
    if let Some(answers) = target.blank(&rest)? {
        return Ok(answers.iter().all(|b| *b));
    }
    let Some(sums) = target.checksums(&rest)? else {
        return Ok(false);
    };
    Ok(rest
        .iter()
        .enumerate()
        .all(|(k, (_, len))| sums.matches(k, &vec![0xFF; *len as usize])))
}

/// The flash the image does not cover, as `(address, length)` ranges, contiguous ones
/// merged.
pub(super) fn rest_of_flash(image: &MemoryImage, whole: &super::WholeChip) -> Vec<(u32, u32)> {
    let mut rest: Vec<(u32, u32)> = Vec::new();
    for unit in &whole.units {
        for (start, len) in gaps(&image_ranges(image, *unit), *unit) {
            match rest.last_mut() {
                Some((s, l)) if u64::from(*s) + u64::from(*l) == u64::from(start) => *l += len,
                _ => rest.push((start, len)),
            }
        }
    }
    rest
}

/// The image's bytes inside a unit, as `(address, length)` ranges.
pub(super) fn image_ranges(image: &MemoryImage, unit: EraseUnit) -> Vec<(u32, u32)> {
    let (lo, hi) = (u64::from(unit.start), unit.end);
    image
        .segments()
        .iter()
        .filter(|seg| seg.end() > lo && u64::from(seg.start) < hi)
        .map(|seg| {
            let from = u64::from(seg.start).max(lo);
            let to = seg.end().min(hi);
            (from as u32, (to - from) as u32)
        })
        .collect()
}

/// What the target's checksums say about one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UnitState {
    /// The unit holds the image's bytes already.
    holds_image: bool,
    /// The bytes the image leaves out are erased, so they need not be read to be kept.
    rest_erased: bool,
    /// The whole unit is erased.
    blank: bool,
}

/// The parts of a unit the image does not cover.
fn gaps(ranges: &[(u32, u32)], unit: EraseUnit) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let mut at = u64::from(unit.start);
    for (start, len) in ranges {
        if u64::from(*start) > at {
            out.push((at as u32, (u64::from(*start) - at) as u32));
        }
        at = u64::from(*start) + u64::from(*len);
    }
    if at < unit.end {
        out.push((at as u32, (unit.end - at) as u32));
    }
    out
}

/// Runs of contiguous units, as `(start, length)` with the indices of their units.
pub(super) fn unit_runs(units: &[EraseUnit]) -> Vec<((u32, u32), std::ops::Range<usize>)> {
    let mut runs: Vec<((u32, u32), std::ops::Range<usize>)> = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        match runs.last_mut() {
            Some(((start, len), members))
                if u64::from(*start) + u64::from(*len) == u64::from(unit.start) =>
            {
                *len += unit.len() as u32;
                members.end = i + 1;
            }
            _ => runs.push(((unit.start, unit.len() as u32), i..i + 1)),
        }
    }
    runs
}

/// ANDs into each unit's verdict the answer for every range that overlaps it; the
/// answers come in the order of `ranges`, and a missing one counts as false.
fn tally(
    verdicts: &mut [bool],
    units: &[EraseUnit],
    ranges: &[(u32, u32)],
    answers: impl IntoIterator<Item = bool>,
) {
    let mut answers = answers.into_iter();
    for (start, len) in ranges {
        if answers.next() == Some(true) {
            continue;
        }
        let end = u64::from(*start) + u64::from(*len);
        for (verdict, unit) in verdicts.iter_mut().zip(units) {
            if u64::from(unit.start) < end && u64::from(*start) < unit.end {
                *verdict = false;
            }
        }
    }
}

/// Whether each written unit holds what was written, by the target's answers. Contiguous
/// units are checked together, so that the ranges (each costing words on the wire) follow
/// the content, not the units: its runs of erased words ([`checksum::erased_runs`]) by
/// the blank check, the rest by CRC. A target without the blank check is asked for each
/// unit's CRC, or, computing none, to compare it. False where the answers fall short (or
/// a range that spans several units disagrees): the caller reads that unit back.
fn units_agree(
    target: &mut dyn FlashTarget,
    units: &[(EraseUnit, &[u8])],
) -> Result<Vec<bool>, TargetError> {
    let mut agree = vec![true; units.len()];
    let bare: Vec<EraseUnit> = units.iter().map(|(u, _)| *u).collect();
    let spans: Vec<(u32, Vec<u8>)> = unit_runs(&bare)
        .into_iter()
        .map(|((start, _), members)| {
            (
                start,
                units[members]
                    .iter()
                    .flat_map(|(_, d)| d.iter().copied())
                    .collect(),
            )
        })
        .collect();
    let erased: Vec<(u32, u32)> = spans
        .iter()
        .flat_map(|(start, data)| checksum::erased_runs(*start, data))
        .collect();
    let blank = if erased.is_empty() {
        Some(Vec::new())
    } else {
        target.blank(&erased)?
    };
    // The rest, as `(address, the bytes written there)`.
    let expected: Vec<(u32, &[u8])> = match blank {
        Some(answers) => {
            tally(&mut agree, &bare, &erased, answers);
            spans
                .iter()
                .flat_map(|(start, data)| {
                    let runs = checksum::erased_runs(*start, data);
                    checksum::between(*start, data.len() as u32, &runs)
                        .into_iter()
                        .map(|(s, l)| {
                            let from = (s - start) as usize;
                            (s, &data[from..from + l as usize])
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        }
        None => units
            .iter()
            .map(|(unit, data)| (unit.start, *data))
            .collect(),
    };
    let ranges: Vec<(u32, u32)> = expected
        .iter()
        .map(|(s, data)| (*s, data.len() as u32))
        .collect();
    let answers = match target.checksums(&ranges)? {
        Some(sums) => Some(
            expected
                .iter()
                .enumerate()
                .map(|(k, (_, data))| sums.matches(k, data))
                .collect(),
        ),
        None => {
            let checks: Vec<(u32, u32, u32)> = expected
                .iter()
                .map(|(s, data)| (*s, data.len() as u32, checksum::expected(data)))
                .collect();
            target.compare(&checks)?
        }
    };
    tally(&mut agree, &bare, &ranges, answers.unwrap_or_default());
    Ok(agree)
}

/// Whether each range is all 0xFF: by the blank check where the target has it, else by
/// comparing its CRC with an erased range's.
fn erased(
    target: &mut dyn FlashTarget,
    can_blank: bool,
    ranges: &[(u32, u32)],
) -> Result<Option<Vec<bool>>, TargetError> {
    if can_blank {
        return target.blank(ranges);
    }
    Ok(target.checksums(ranges)?.map(|sums| {
        ranges
            .iter()
            .enumerate()
            .map(|(k, (_, len))| sums.matches(k, &vec![0xFF; *len as usize]))
            .collect()
    }))
}

/// What a unit the blank check found blank is: it holds the image only where the image's
/// bytes in it are all 0xFF.
fn blank_state(image: &MemoryImage, unit: EraseUnit) -> UnitState {
    let holds_image = image_ranges(image, unit).iter().all(|(start, len)| {
        image
            .read(u64::from(*start), *len as usize)
            .is_some_and(|bytes| bytes.iter().all(|b| *b == 0xFF))
    });
    UnitState {
        holds_image,
        rest_erased: true,
        blank: true,
    }
}

/// For each unit of the plan, what the target can tell about it without the bytes
/// crossing the wire; `None` for a unit it cannot, which the caller reads.
///
/// 1. A blank check of each run of contiguous units: a blank device needs nothing more.
/// 2. In the runs that are not blank, each unit's CRC of the image's bytes: a device
///    that holds the image costs that CRC alone.
/// 3. In the units that do not hold the image, whether the image's part and the rest are
///    erased: a blank unit is then not erased before it is written, and the rest of a
///    programmed one is read only if it holds something to keep.
fn units_matching(
    plan: &FlashPlan,
    image: &MemoryImage,
    target: &mut dyn FlashTarget,
) -> Result<Vec<Option<UnitState>>, TargetError> {
    let mut states: Vec<Option<UnitState>> = vec![None; plan.units.len()];
    let runs = unit_runs(&plan.units);
    let whole: Vec<(u32, u32)> = runs.iter().map(|(r, _)| *r).collect();
    let blank = target.blank(&whole)?;
    let can_blank = blank.is_some();
    let mut open = Vec::new();
    for (k, (_, members)) in runs.into_iter().enumerate() {
        if !blank.as_ref().is_some_and(|b| b[k]) {
            open.extend(members);
            continue;
        }
        for i in members {
            states[i] = Some(blank_state(image, plan.units[i]));
        }
    }
    if open.is_empty() {
        return Ok(states);
    }
    let ranges: Vec<Vec<(u32, u32)>> = open
        .iter()
        .map(|i| image_ranges(image, plan.units[*i]))
        .collect();
    let all: Vec<(u32, u32)> = ranges.iter().flatten().copied().collect();
    let Some(sums) = target.checksums(&all)? else {
        // No CRC: a unit the blank check finds blank on its own is known all the same.
        let alone: Vec<(u32, u32)> = if can_blank {
            open.iter()
                .map(|i| (plan.units[*i].start, plan.units[*i].len() as u32))
                .collect()
        } else {
            Vec::new()
        };
        let blank_alone = target.blank(&alone)?.unwrap_or_default();
        // The units still open, and each one's image ranges and the rest, to compare.
        let (mut comparing, mut asked) = (Vec::new(), Vec::new());
        for (k, (i, r)) in open.iter().zip(ranges).enumerate() {
            if blank_alone.get(k) == Some(&true) {
                states[*i] = Some(blank_state(image, plan.units[*i]));
            } else {
                let rest = gaps(&r, plan.units[*i]);
                comparing.push(*i);
                asked.push([r, rest]);
            }
        }
        if let Some(found) = units_comparing(image, target, &asked)? {
            for (i, state) in comparing.iter().zip(found) {
                states[*i] = Some(state);
            }
        }
        return Ok(states);
    };
    let mut k = 0;
    let mut differ = Vec::new();
    for (i, unit_ranges) in open.iter().zip(ranges) {
        let mut holds_image = true;
        for (start, len) in &unit_ranges {
            let bytes = image
                .read(u64::from(*start), *len as usize)
                .expect("the range lies in the image");
            holds_image &= sums.matches(k, bytes);
            k += 1;
        }
        states[*i] = Some(UnitState {
            holds_image,
            rest_erased: false,
            blank: false,
        });
        if !holds_image {
            let rest = gaps(&unit_ranges, plan.units[*i]);
            differ.push((*i, unit_ranges, rest));
        }
    }
    let asked: Vec<(u32, u32)> = differ
        .iter()
        .flat_map(|(_, r, g)| r.iter().chain(g).copied())
        .collect();
    if let Some(answers) = erased(target, can_blank, &asked)? {
        let mut answers = answers.into_iter();
        for (i, unit_ranges, rest) in &differ {
            let image_part = unit_ranges
                .iter()
                .fold(true, |all, _| answers.next() == Some(true) && all);
            let rest_erased = rest
                .iter()
                .fold(true, |all, _| answers.next() == Some(true) && all);
            if let Some(state) = &mut states[*i] {
                state.rest_erased = rest_erased;
                state.blank = image_part && rest_erased;
            }
        }
    }
    Ok(states)
}

/// [`units_matching`] for a target that can only compare a range with a checksum (the
/// RTL872x loader): one question per range, whether the image's part holds the image and
/// whether the rest is erased; then, for each unit that does not hold the image and whose
/// rest is erased, whether the image's part is erased too, which spares its erase (a
/// question costs the loader a CRC of the range, 5 to 13 ms a 4 KiB sector on the
/// emulator, an erase 50 ms).
///
/// A device that holds the image already is asked fewer questions: for each run of
/// adjacent units whose first unit holds the image, one question covers the rest of the
/// run (the image over 0xFF), and only a run that fails it is asked unit by unit. The
/// loader's CRC of the bytes is the same; the wire's round trips per question are not
/// (a P2's same image again: one question per run instead of one per 4 KiB sector).
fn units_comparing(
    image: &MemoryImage,
    target: &mut dyn FlashTarget,
    per_unit: &[[Vec<(u32, u32)>; 2]],
) -> Result<Option<Vec<UnitState>>, TargetError> {
    let extent = |k: usize| {
        let [ranges, rest] = &per_unit[k];
        let all = || ranges.iter().chain(rest);
        let start = all().map(|(s, _)| u64::from(*s)).min().unwrap_or(0);
        let end = all()
            .map(|(s, l)| u64::from(*s) + u64::from(*l))
            .max()
            .unwrap_or(0);
        (start, end)
    };
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    for k in 0..per_unit.len() {
        match runs.last_mut() {
            Some(r) if extent(r.end - 1).1 == extent(k).0 => r.end = k + 1,
            _ => runs.push(k..k + 1),
        }
    }
    let mut states: Vec<Option<UnitState>> = vec![None; per_unit.len()];
    let held = UnitState {
        holds_image: true,
        rest_erased: true,
        blank: false,
    };
    // Each longer run's first unit, then the rest of the runs whose first unit matched.
    let firsts: Vec<usize> = runs
        .iter()
        .filter(|r| r.len() > 1)
        .map(|r| r.start)
        .collect();
    let asked: Vec<[Vec<(u32, u32)>; 2]> = firsts.iter().map(|k| per_unit[*k].clone()).collect();
    let Some(found) = units_comparing_one_by_one(image, target, &asked)? else {
        return Ok(None);
    };
    for (k, state) in firsts.iter().zip(found) {
        states[*k] = Some(state);
    }
    let rests: Vec<std::ops::Range<usize>> = runs
        .iter()
        .filter(|r| r.len() > 1 && states[r.start] == Some(held))
        .map(|r| r.start + 1..r.end)
        .collect();
    let checks: Vec<(u32, u32, u32)> = rests
        .iter()
        .map(|r| {
            let (start, _) = extent(r.start);
            let (_, end) = extent(r.end - 1);
            let mut bytes = vec![0xFF; (end - start) as usize];
            image.copy_into(start as u32, &mut bytes);
            (
                start as u32,
                (end - start) as u32,
                checksum::expected(&bytes),
            )
        })
        .collect();
    if !checks.is_empty() {
        let Some(answers) = target.compare(&checks)? else {
            return Ok(None);
        };
        for (r, yes) in rests.iter().zip(answers) {
            if yes {
                for k in r.clone() {
                    states[k] = Some(held);
                }
            }
        }
    }
    let open: Vec<usize> = (0..per_unit.len())
        .filter(|k| states[*k].is_none())
        .collect();
    let asked: Vec<[Vec<(u32, u32)>; 2]> = open.iter().map(|k| per_unit[*k].clone()).collect();
    let Some(found) = units_comparing_one_by_one(image, target, &asked)? else {
        return Ok(None);
    };
    for (k, state) in open.iter().zip(found) {
        states[*k] = Some(state);
    }
    Ok(states.into_iter().collect())
}

/// [`units_comparing`]'s questions for each unit on its own.
fn units_comparing_one_by_one(
    image: &MemoryImage,
    target: &mut dyn FlashTarget,
    per_unit: &[[Vec<(u32, u32)>; 2]],
) -> Result<Option<Vec<UnitState>>, TargetError> {
    if per_unit.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let blank = |len: u32| checksum::expected(&vec![0xFF; len as usize]);
    let mut checks = Vec::new();
    for [ranges, rest] in per_unit {
        for (start, len) in ranges {
            let bytes = image
                .read(u64::from(*start), *len as usize)
                .expect("the range lies in the image");
            checks.push((*start, *len, checksum::expected(bytes)));
        }
        for (start, len) in rest {
            checks.push((*start, *len, blank(*len)));
        }
    }
    let Some(answers) = target.compare(&checks)? else {
        return Ok(None);
    };
    let mut answers = answers.into_iter();
    let mut states: Vec<UnitState> = per_unit
        .iter()
        .map(|[ranges, rest]| {
            let holds_image = ranges
                .iter()
                .fold(true, |all, _| answers.next() == Some(true) && all);
            let rest_erased = rest
                .iter()
                .fold(true, |all, _| answers.next() == Some(true) && all);
            UnitState {
                holds_image,
                rest_erased,
                blank: false,
            }
        })
        .collect();
    let asked: Vec<usize> = (0..states.len())
        .filter(|i| !states[*i].holds_image && states[*i].rest_erased)
        .collect();
    let checks: Vec<(u32, u32, u32)> = asked
        .iter()
        .flat_map(|i| {
            per_unit[*i][0]
                .iter()
                .map(|(start, len)| (*start, *len, blank(*len)))
        })
        .collect();
    if checks.is_empty() {
        return Ok(Some(states));
    }
    let Some(answers) = target.compare(&checks)? else {
        return Ok(None);
    };
    let mut answers = answers.into_iter();
    for i in asked {
        states[i].blank = per_unit[i][0]
            .iter()
            .fold(true, |all, _| answers.next() == Some(true) && all);
    }
    Ok(Some(states))
}

/// The Particle device ID: a fixed prefix and the chip's unique bytes, as lower-case hex
/// (24 digits on either generation). `None` for an MCU whose ID source the platform
/// table does not give; reads only those few bytes.
pub fn read_device_id(
    target: &mut dyn FlashTarget,
    mcu: &Mcu,
) -> Result<Option<String>, TargetError> {
    let Some(source) = &mcu.device_id else {
        return Ok(None);
    };
    let mut buf = vec![0; source.length as usize];
    target.read(source.address, &mut buf)?;
    Ok(Some(format!("{}{}", source.prefix, hex::encode(&buf))))
}

/// A device's flash as a memory image, read one erase unit at a time. Without a range,
/// units that are entirely erased (0xFF) are left out, so the image shows what is
/// programmed; with one, exactly `[start, end)` is read.
pub fn read_device(
    target: &mut dyn FlashTarget,
    mcu: &Mcu,
    range: Option<(u32, u64)>,
) -> Result<MemoryImage, TargetError> {
    read_device_with_progress(target, mcu, range, &mut |_| {})
}

/// [`read_device`], reporting [`Event::Read`] after each unit.
pub fn read_device_with_progress(
    target: &mut dyn FlashTarget,
    mcu: &Mcu,
    range: Option<(u32, u64)>,
    progress: &mut dyn FnMut(Event),
) -> Result<MemoryImage, TargetError> {
    let mut image = MemoryImage::new();
    let spans: Vec<(u64, u64)> = super::Geometry::of(mcu)
        .units()
        .iter()
        .map(|unit| match range {
            Some((s, e)) => (u64::from(unit.start).max(u64::from(s)), unit.end.min(e)),
            None => (u64::from(unit.start), unit.end),
        })
        .filter(|(lo, hi)| lo < hi)
        .collect();
    let total = spans.iter().map(|(lo, hi)| hi - lo).sum();
    let mut done = 0;
    for (lo, hi) in spans {
        let mut buf = vec![0; (hi - lo) as usize];
        target.read(lo as u32, &mut buf)?;
        if range.is_some() || buf.iter().any(|b| *b != 0xFF) {
            image.write(lo as u32, &buf);
        }
        done += hi - lo;
        progress(Event::Read { done, total });
    }
    Ok(image)
}
