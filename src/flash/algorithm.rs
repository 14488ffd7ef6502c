//! What hexsmith asks of a CMSIS-Pack flash algorithm when it drives one itself (see
//! `driver`, with a probe): which calls, and how much each programs. Kept apart from the
//! probe so that `flash --dry-run`'s estimate prices the very same calls.
//!
//! Every call of an algorithm costs the host a few round trips (posting it in the
//! driver's mailbox, seeing it done), so a call programs as much as one RAM buffer holds;
//! and words that would program 0xFFFFFFFF onto an erased unit are left
//! out, unless the gap between two runs is too short to be worth a call of its own.

#[cfg(feature = "probe")]
pub(crate) mod driver;

/// Bytes one ProgramPage call programs at most: the size of each of the two RAM buffers
/// the host fills in turn. Two of them, the algorithm and its stack take 66 KiB of the
/// STM32F205's 112 KiB SRAM, below the checksum routine at its top; a call costs a few
/// round trips, well under a percent of moving 32 KiB on any probe here.
pub const BUFFER_BYTES: u32 = 0x4000;

/// A run of 0xFF words shorter than this is programmed rather than skipped: a call costs
/// a few round trips, and cutting a run in two costs the ramps' short calls besides; an
/// nRF52840 programs 128 words in 5 ms.
pub const MIN_GAP_BYTES: usize = 512;

/// The first and the last call of a batch program this much, and the calls next to them
/// grow from it: the first buffer is loaded while the flash has nothing to do, and the
/// last calls program while the wire has nothing to send.
pub const RAMP_BYTES: usize = 1024;

/// Which side kept the other waiting in a batch's full-size calls, as the driver saw it
/// (the call before had halted, or not, by the time the next buffer was loaded): what
/// the next batch's ramps are cut for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pace {
    /// Not seen yet (the first batch, or one without two full-size calls in a row).
    #[default]
    Unknown,
    /// The wire: CMSIS-DAP, on these chips. The flash waits for every buffer; what is
    /// lost is the wire's time at a batch's end, while the last calls program. `gentle`
    /// once a batch's last calls, shrinking by three, still found the call before them
    /// running (the wire is less than three times slower than the flash).
    Wire {
        /// The last calls shrink by half again each time, not by three.
        gentle: bool,
    },
    /// The flash: a J-Link on an nRF52840. The wire waits; what is lost is the flash's
    /// time at a batch's start, while the first buffer is loaded.
    Flash,
}

/// The pace the next batch is cut for, after one that saw `paced` (full-size calls in
/// a row where the call before had halted when the next buffer was loaded, and where it
/// had not) and, if `tail_waited`, a shrinking call that found the one before running.
pub fn next_pace(pace: Pace, paced: [u32; 2], tail_waited: bool) -> Pace {
    match pace {
        Pace::Wire { gentle: false } if tail_waited && paced[0] >= paced[1] => {
            Pace::Wire { gentle: true }
        }
        Pace::Wire { gentle } if paced[0] >= paced[1] => Pace::Wire { gentle },
        _ if paced == [0, 0] => pace,
        _ if paced[0] >= paced[1] => Pace::Wire { gentle: false },
        _ => Pace::Flash,
    }
}

/// Sizes of the calls a wire-paced batch ends with, last first: each call is loaded in
/// about the time the call before it programs when the wire is about three times slower
/// than the flash (a Particle Debugger on an nRF52840: 2.9), or, gently, 1.5 times
/// (`cmsis-dap-v2`: 1.6), at the cost of more calls.
const WIRE_TAIL: [usize; 3] = [1024, 3072, 9216];
const WIRE_TAIL_GENTLE: [usize; 7] = [1024, 1536, 2304, 3456, 5184, 7776, 11664];

/// `runs` (as [`program_runs`] gives them) cut into the calls a batch makes at `pace`:
/// a batch paced by the flash, or not known, begins with calls of 1 and 3 times
/// [`RAMP_BYTES`]; one not known ends with calls of 3 and 1 times it; one paced by the
/// wire ends with calls shrinking by three (or gently, by half again) down to it.
pub fn ramped(runs: Vec<(u32, usize, usize)>, pace: Pace) -> Vec<(u32, usize, usize)> {
    let steps = |len: usize| -> &'static [usize] {
        if len >= 8 * RAMP_BYTES {
            &[RAMP_BYTES, 3 * RAMP_BYTES]
        } else if len > 2 * RAMP_BYTES {
            &[RAMP_BYTES]
        } else {
            &[]
        }
    };
    let n = runs.len();
    let mut out = Vec::with_capacity(n + 8);
    for (k, (address, from, len)) in runs.into_iter().enumerate() {
        let head: &[usize] = if k == 0 && !matches!(pace, Pace::Wire { .. }) {
            steps(len)
        } else {
            &[]
        };
        let rest = len - head.iter().sum::<usize>();
        let tail: Vec<usize> = if k + 1 == n && pace == Pace::Unknown {
            steps(rest).iter().rev().copied().collect()
        } else {
            Vec::new()
        };
        let middle = rest - tail.iter().sum::<usize>();
        let mut at = 0;
        for piece in head
            .iter()
            .copied()
            .chain((middle > 0).then_some(middle))
            .chain(tail)
        {
            out.push((address + at as u32, from + at, piece));
            at += piece;
        }
    }
    match pace {
        Pace::Wire { gentle: false } => wire_tail(out, &WIRE_TAIL),
        Pace::Wire { gentle: true } => wire_tail(out, &WIRE_TAIL_GENTLE),
        _ => out,
    }
}

/// The calls' last bytes recut into `sizes`, from the end, each within one call of
/// `calls` (a piece never joins two runs).
fn wire_tail(mut calls: Vec<(u32, usize, usize)>, sizes: &[usize]) -> Vec<(u32, usize, usize)> {
    let mut tail = Vec::new();
    let mut next = 0;
    while let Some(&size) = sizes.get(next) {
        let Some((address, from, len)) = calls.pop() else {
            break;
        };
        if len <= size + RAMP_BYTES || len < 2 * size {
            // A run not much longer is a call whole (never a short piece before a long
            // one); the call before it is to be larger still.
            tail.push((address, from, len));
            next = sizes.iter().position(|s| *s > len).unwrap_or(sizes.len());
            continue;
        }
        let keep = len - size;
        tail.push((address + keep as u32, from + keep, size));
        calls.push((address, from, keep));
        next += 1;
    }
    calls.extend(tail.into_iter().rev());
    calls
}

/// The runs of `data` (an erase unit's new content, from flash address `start`) that hold
/// something other than 0xFF, as `(address, offset into data, length)`: runs closer than
/// [`MIN_GAP_BYTES`] are merged, none is longer than `max_len`, and none crosses a
/// multiple of `boundary` (an algorithm whose calls must stay within one page). Lengths
/// are whole words but for a last partial one.
pub fn program_runs(
    start: u32,
    data: &[u8],
    max_len: usize,
    boundary: Option<u32>,
) -> Vec<(u32, usize, usize)> {
    let words = data.chunks(4).map(|w| w.iter().any(|b| *b != 0xFF));
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for (k, programmed) in words.enumerate() {
        if !programmed {
            continue;
        }
        let from = 4 * k;
        let to = (from + 4).min(data.len());
        match spans.last_mut() {
            Some((_, end)) if from - *end < MIN_GAP_BYTES => *end = to,
            _ => spans.push((from, to)),
        }
    }
    let max_len = max_len.max(4) & !3;
    let mut out = Vec::new();
    for (mut from, end) in spans {
        while from < end {
            let address = u64::from(start) + from as u64;
            let mut to = end.min(from + max_len);
            if let Some(b) = boundary.filter(|b| *b > 0) {
                let next = (address / u64::from(b) + 1) * u64::from(b);
                to = to.min(from + (next - address) as usize);
            }
            out.push((address as u32, from, to - from));
            from = to;
        }
    }
    out
}

/// Units' new contents `(start, bytes)`, in address order, joined where one ends at the
/// next one's start: a run of programmed words may then span units, so that a call is not
/// cut short at every 4 KiB page of an nRF52840.
pub fn contiguous<'a>(units: impl IntoIterator<Item = (u32, &'a [u8])>) -> Vec<(u32, Vec<u8>)> {
    let mut out: Vec<(u32, Vec<u8>)> = Vec::new();
    for (start, data) in units {
        match out.last_mut() {
            Some((s, d)) if u64::from(*s) + d.len() as u64 == u64::from(start) => {
                d.extend_from_slice(data);
            }
            _ => out.push((start, data.to_vec())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_data_is_no_run() {
        assert!(program_runs(0x1000, &[0xFF; 4096], 0x4000, None).is_empty());
    }

    #[test]
    fn short_gaps_merge_and_long_ones_split() {
        let mut data = vec![0xFF; 8192];
        data[0..8].fill(0);
        data[100..104].fill(0); // a gap of 92 bytes: merged
        data[4000..4004].fill(1); // a gap of ~3.9 KiB: a run of its own
        let runs = program_runs(0x2_0000, &data, 0x4000, None);
        assert_eq!(runs, vec![(0x2_0000, 0, 104), (0x2_0000 + 4000, 4000, 4)]);
    }

    #[test]
    fn runs_are_cut_at_the_buffer_and_at_boundaries() {
        let data = vec![0u8; 0x3000];
        let runs = program_runs(0x800, &data, 0x2000, None);
        assert_eq!(runs, vec![(0x800, 0, 0x2000), (0x2800, 0x2000, 0x1000)]);
        let runs = program_runs(0x800, &data, 0x2000, Some(0x1000));
        assert_eq!(
            runs,
            vec![
                (0x800, 0, 0x800),
                (0x1000, 0x800, 0x1000),
                (0x2000, 0x1800, 0x1000),
                (0x3000, 0x2800, 0x800)
            ]
        );
    }

    #[test]
    fn a_batch_starts_and_ends_with_short_calls() {
        let runs = ramped(
            vec![(0, 0, 0x4000), (0x4000, 0x4000, 0x4000)],
            Pace::Unknown,
        );
        assert_eq!(
            runs,
            vec![
                (0, 0, 0x400),
                (0x400, 0x400, 0xC00),
                (0x1000, 0x1000, 0x3000),
                (0x4000, 0x4000, 0x3000),
                (0x7000, 0x7000, 0xC00),
                (0x7C00, 0x7C00, 0x400)
            ]
        );
        assert_eq!(
            ramped(vec![(0, 0, 0x800)], Pace::Unknown),
            vec![(0, 0, 0x800)]
        );
        assert_eq!(
            ramped(vec![(0, 0, 0xC00)], Pace::Unknown),
            vec![(0, 0, 0x400), (0x400, 0x400, 0x800)]
        );
        let one = ramped(vec![(0, 0, 0x4000)], Pace::Unknown);
        assert_eq!(one.iter().map(|r| r.2).sum::<usize>(), 0x4000);
        assert_eq!(
            one.iter().map(|r| r.2).collect::<Vec<_>>(),
            vec![0x400, 0xC00, 0x2000, 0xC00, 0x400]
        );
    }

    #[test]
    fn the_ramps_follow_the_pace() {
        let runs = vec![
            (0, 0, 0x4000),
            (0x4000, 0x4000, 0x4000),
            (0x9000, 0x9000, 0x800),
        ];
        let sizes = |pace| {
            ramped(runs.clone(), pace)
                .iter()
                .map(|r| r.2)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            sizes(Pace::Flash),
            vec![0x400, 0xC00, 0x3000, 0x4000, 0x800]
        );
        // The wire's tail: the last run whole, then calls growing by half from the runs
        // before it, each inside one run.
        assert_eq!(
            sizes(Pace::Wire { gentle: true }),
            vec![8608, 7776, 5440, 5184, 3456, 2304, 0x800]
        );
        assert_eq!(
            sizes(Pace::Wire { gentle: false }),
            vec![0x4000, 0x4000 - 3072, 3072, 0x800]
        );
        for pace in [
            Pace::Unknown,
            Pace::Flash,
            Pace::Wire { gentle: false },
            Pace::Wire { gentle: true },
        ] {
            let cut = ramped(runs.clone(), pace);
            // Every byte once, in order, no piece across two runs.
            let mut at = 0;
            for (address, from, len) in &cut {
                assert!(*from >= at);
                let run = runs
                    .iter()
                    .find(|r| r.1 <= *from && from + len <= r.1 + r.2);
                let run = run.expect("inside one run");
                assert_eq!(*address as usize - run.0 as usize, from - run.1);
                at = from + len;
            }
            assert_eq!(
                cut.iter().map(|r| r.2).sum::<usize>(),
                runs.iter().map(|r| r.2).sum::<usize>()
            );
        }
    }

    #[test]
    fn the_pace_is_learnt_from_what_waited() {
        let steep = Pace::Wire { gentle: false };
        let gentle = Pace::Wire { gentle: true };
        // Nothing seen: as before.
        assert_eq!(next_pace(Pace::Unknown, [0, 0], false), Pace::Unknown);
        assert_eq!(next_pace(Pace::Flash, [0, 0], true), Pace::Flash);
        // Calls done before the next buffer was loaded: the wire paces.
        assert_eq!(next_pace(Pace::Unknown, [5, 0], false), steep);
        assert_eq!(next_pace(Pace::Unknown, [0, 5], false), Pace::Flash);
        // A steep tail that still waited turns gentle, and gentle stays.
        assert_eq!(next_pace(steep, [5, 0], true), gentle);
        assert_eq!(next_pace(steep, [5, 0], false), steep);
        assert_eq!(next_pace(gentle, [5, 0], false), gentle);
        assert_eq!(next_pace(gentle, [0, 5], false), Pace::Flash);
    }

    #[test]
    fn adjacent_units_join() {
        let joined = contiguous([(0, &[1u8; 4][..]), (4, &[2; 4][..]), (12, &[3; 4][..])]);
        assert_eq!(
            joined,
            vec![(0, vec![1, 1, 1, 1, 2, 2, 2, 2]), (12, vec![3; 4])]
        );
    }

    #[test]
    fn a_partial_last_word_is_kept() {
        let runs = program_runs(0, &[0xFF, 0xFF, 0xFF, 0xFF, 1, 2], 64, None);
        assert_eq!(runs, vec![(4, 4, 2)]);
    }
}
