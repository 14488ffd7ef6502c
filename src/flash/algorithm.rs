//! What hexsmith asks of a CMSIS-Pack flash algorithm when it drives one itself (see
//! `driver`, with a probe): which calls, and how much each programs. Kept apart from the
//! probe so that `flash --dry-run`'s estimate prices the very same calls.
//!
//! Every call of an algorithm costs a handful of register round trips while the flash
//! waits (the arguments, the resume, the result), so a call programs as much as one RAM
//! buffer holds; and words that would program 0xFFFFFFFF onto an erased unit are left
//! out, unless the gap between two runs is too short to be worth a call of its own.

#[cfg(feature = "probe")]
pub(crate) mod driver;

/// Bytes one ProgramPage call programs at most: the size of each of the two RAM buffers
/// the host fills in turn. Two of them, the algorithm and its stack take 66 KiB of the
/// STM32F205's 112 KiB SRAM, below the checksum routine at its top; a call costs about
/// ten register round trips, a few percent of moving 32 KiB on any probe here.
pub const BUFFER_BYTES: u32 = 0x4000;

/// A run of 0xFF words shorter than this is programmed rather than skipped: a call costs
/// about as much wire time as moving 128 words (about 8 CMSIS-DAP round trips, 20 J-Link
/// commands), and an nRF52840 programs 128 words in 5 ms.
pub const MIN_GAP_BYTES: usize = 512;

/// The first and the last call of a batch program this much, the second and the one
/// before the last three times as much: the first buffer is loaded while the flash has
/// nothing to do, and the last calls program while the wire has nothing to send. Growing
/// by three keeps the wire and the flash both busy at either end, on a probe faster than
/// the flash (a J-Link: the next buffer is loaded while this one programs) and on one
/// slower (CMSIS-DAP: the call before is done when the next buffer is loaded).
pub const RAMP_BYTES: usize = 1024;

/// `runs` (as [`program_runs`] gives them) with the first to begin with calls of 1 and 3
/// times [`RAMP_BYTES`], and the last to end with calls of 3 and 1 times that, where
/// they are long enough.
pub fn ramped(runs: Vec<(u32, usize, usize)>) -> Vec<(u32, usize, usize)> {
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
    let mut out = Vec::with_capacity(n + 4);
    for (k, (address, from, len)) in runs.into_iter().enumerate() {
        let head: &[usize] = if k == 0 { steps(len) } else { &[] };
        let rest = len - head.iter().sum::<usize>();
        let tail: Vec<usize> = if k + 1 == n {
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
    out
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
        let runs = ramped(vec![(0, 0, 0x4000), (0x4000, 0x4000, 0x4000)]);
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
        assert_eq!(ramped(vec![(0, 0, 0x800)]), vec![(0, 0, 0x800)]);
        assert_eq!(
            ramped(vec![(0, 0, 0xC00)]),
            vec![(0, 0, 0x400), (0x400, 0x400, 0x800)]
        );
        let one = ramped(vec![(0, 0, 0x4000)]);
        assert_eq!(one.iter().map(|r| r.2).sum::<usize>(), 0x4000);
        assert_eq!(
            one.iter().map(|r| r.2).collect::<Vec<_>>(),
            vec![0x400, 0xC00, 0x2000, 0xC00, 0x400]
        );
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
