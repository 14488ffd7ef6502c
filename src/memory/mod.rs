//! A sparse memory image: what an Intel HEX, ELF or raw binary says goes where in a
//! device's address space, kept as sorted, non-overlapping, non-adjacent segments.
//! It knows nothing of modules; composing, inspecting and flashing all work on it.
//!
//! ```
//! use hexsmith::memory::{MemoryImage, hex};
//!
//! let mut image = MemoryImage::new();
//! image.write(0x000D_4000, &[0xFF; 1024]);
//! let text = hex::write(&image);
//! assert!(text.starts_with(":02000004000DED\n"));
//! let (read_back, _extras) = hex::parse(text.as_bytes())?;
//! assert_eq!(read_back, image);
//! # Ok::<(), hexsmith::memory::hex::HexError>(())
//! ```

pub mod bin;
pub mod elf;
pub mod hex;

use sha2::{Digest, Sha256};
use std::fmt;

/// A run of bytes at consecutive addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Address of the first byte.
    pub start: u32,
    /// The bytes from `start` on; never empty in a [`MemoryImage`].
    pub data: Vec<u8>,
}

impl Segment {
    /// Exclusive end; may be 2^32 for a segment that reaches the top of the address space.
    pub fn end(&self) -> u64 {
        u64::from(self.start) + self.data.len() as u64
    }
}

/// Where a piece of loaded data came from, so an overlap can name both places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An Intel HEX record, by its 1-based line number.
    Line(usize),
    /// Consecutive records that continue each other, first and last line.
    Lines(usize, usize),
    /// An ELF program header, by its 0-based index in the program header table.
    ElfSegment(usize),
    /// Anything else, in words (a raw binary is "the binary").
    Piece(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Line(n) => write!(f, "line {n}"),
            Origin::Lines(a, b) => write!(f, "lines {a}-{b}"),
            Origin::ElfSegment(n) => write!(f, "program header {n}"),
            Origin::Piece(s) => f.write_str(s),
        }
    }
}

/// Loaded pieces that cannot form one image: a fault of the input file, named by the
/// [`Origin`]s of the pieces involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    /// Two pieces claim the same byte. Which one a device would end up with depends on
    /// the order a programmer writes them, so the file is refused rather than guessed at.
    #[error("{second} overlaps data from {first} at address {address:#010x}")]
    Overlap {
        /// The piece overlapped, which starts no later than `second`.
        first: Origin,
        /// The piece that starts inside it.
        second: Origin,
        /// The first address both claim: where `second` starts.
        address: u64,
    },
    /// A piece runs past address 0xFFFFFFFF, which no device has.
    #[error("{origin} reaches address {end:#x}, past the 4 GiB address space")]
    PastAddressSpace {
        /// The piece.
        origin: Origin,
        /// The exclusive end address it would reach, above 2^32.
        end: u64,
    },
}

/// One loaded piece, before pieces are merged into segments.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Address of the first byte; 64-bit so that a piece beyond 4 GiB is refused rather
    /// than wrapped.
    pub start: u64,
    /// The bytes; an empty chunk is ignored.
    pub data: Vec<u8>,
    /// Where it came from, for error messages.
    pub origin: Origin,
}

/// What goes where in a device's 32-bit address space: the common currency of hexsmith.
/// The readers ([`hex::parse`], [`elf::load`], [`bin::load`]) produce it; composing
/// writes modules into it; inspecting and flashing read it. Its segments are kept sorted,
/// non-empty and neither overlapping nor touching, so two images with the same bytes at
/// the same addresses are equal however their files laid them out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryImage {
    segments: Vec<Segment>,
}

impl MemoryImage {
    /// An empty image, to fill with [`write`](Self::write).
    pub fn new() -> Self {
        Self::default()
    }

    /// Merges loaded pieces; any byte claimed twice is an error naming both pieces, and a
    /// piece past 4 GiB is refused. Pieces may come in any order. O(n log n) in the
    /// number of pieces.
    pub fn from_chunks(mut chunks: Vec<Chunk>) -> Result<Self, MemoryError> {
        for c in &chunks {
            let end = c.start.saturating_add(c.data.len() as u64);
            if end > 1 << 32 {
                return Err(MemoryError::PastAddressSpace {
                    origin: c.origin.clone(),
                    end,
                });
            }
        }
        chunks.retain(|c| !c.data.is_empty());
        chunks.sort_by_key(|c| c.start);
        let mut segments: Vec<Segment> = Vec::new();
        let mut last: Option<(u64, Origin)> = None;
        for chunk in chunks {
            if let Some((end, origin)) = &last
                && chunk.start < *end
            {
                return Err(MemoryError::Overlap {
                    first: origin.clone(),
                    second: chunk.origin,
                    address: chunk.start,
                });
            }
            let end = chunk.start + chunk.data.len() as u64;
            match segments.last_mut() {
                Some(seg) if seg.end() == chunk.start => seg.data.extend_from_slice(&chunk.data),
                _ => segments.push(Segment {
                    start: chunk.start as u32,
                    data: chunk.data,
                }),
            }
            last = Some((end, chunk.origin));
        }
        Ok(MemoryImage { segments })
    }

    /// The runs of bytes in address order, with a gap between any two.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// True when the image holds no byte.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Number of bytes the image holds (gaps not counted).
    pub fn len(&self) -> u64 {
        self.segments.iter().map(|s| s.data.len() as u64).sum()
    }

    /// Writes `data` at `start`, replacing whatever was there.
    ///
    /// # Panics
    ///
    /// When `data` runs past address 0xFFFFFFFF: the image would hold bytes no device has,
    /// and [`hex::write`] would wrap them to address 0. Data from a file comes in through
    /// [`from_chunks`](Self::from_chunks), which refuses it; a caller of `write` places data
    /// where it has checked it belongs (composing, inside a platform's slots).
    pub fn write(&mut self, start: u32, data: &[u8]) {
        let end = u64::from(start) + data.len() as u64;
        assert!(
            end <= 1 << 32,
            "MemoryImage::write: {} bytes at {start:#010x} run past the 4 GiB address space",
            data.len()
        );
        if data.is_empty() {
            return;
        }
        self.remove(u64::from(start), end);
        let at = self
            .segments
            .partition_point(|s| s.end() < u64::from(start));
        // After `remove`, a segment at `at` can only touch the new data, never overlap it.
        let touches_left = self
            .segments
            .get(at)
            .is_some_and(|s| s.end() == u64::from(start));
        if touches_left {
            self.segments[at].data.extend_from_slice(data);
        } else {
            self.segments.insert(
                at,
                Segment {
                    start,
                    data: data.to_vec(),
                },
            );
        }
        if let Some(next) = self.segments.get(at + 1)
            && u64::from(next.start) == self.segments[at].end()
        {
            let next = self.segments.remove(at + 1);
            self.segments[at].data.extend_from_slice(&next.data);
        }
    }

    /// Forgets every byte in `[start, end)`.
    pub fn remove(&mut self, start: u64, end: u64) {
        if end <= start {
            return;
        }
        let mut kept = Vec::with_capacity(self.segments.len() + 1);
        for seg in self.segments.drain(..) {
            if seg.end() <= start || u64::from(seg.start) >= end {
                kept.push(seg);
                continue;
            }
            let seg_start = u64::from(seg.start);
            if seg_start < start {
                kept.push(Segment {
                    start: seg.start,
                    data: seg.data[..(start - seg_start) as usize].to_vec(),
                });
            }
            if seg.end() > end {
                kept.push(Segment {
                    start: end as u32,
                    data: seg.data[(end - seg_start) as usize..].to_vec(),
                });
            }
        }
        self.segments = kept;
    }

    /// The bytes at `[start, start + len)` if the image holds all of them.
    pub fn read(&self, start: u64, len: usize) -> Option<&[u8]> {
        let i = self.segments.partition_point(|s| s.end() <= start);
        let seg = self.segments.get(i)?;
        let from = start.checked_sub(u64::from(seg.start))? as usize;
        seg.data.get(from..from.checked_add(len)?)
    }

    /// Writes the bytes the image holds in `[start, start + buf.len())` over `buf`, leaving
    /// the rest of `buf` as it was: what a region reads as once the image is written over it.
    pub fn copy_into(&self, start: u32, buf: &mut [u8]) {
        let lo = u64::from(start);
        let hi = lo + buf.len() as u64;
        let first = self.segments.partition_point(|s| s.end() <= lo);
        for seg in &self.segments[first..] {
            let (s, e) = (u64::from(seg.start), seg.end());
            if s >= hi {
                break;
            }
            let from = s.max(lo);
            let to = e.min(hi);
            buf[(from - lo) as usize..(to - lo) as usize]
                .copy_from_slice(&seg.data[(from - s) as usize..(to - s) as usize]);
        }
    }

    /// The segment holding `address`, if any.
    pub fn segment_at(&self, address: u64) -> Option<&Segment> {
        let i = self.segments.partition_point(|s| s.end() <= address);
        self.segments
            .get(i)
            .filter(|s| u64::from(s.start) <= address)
    }

    /// SHA-256 over the content: for each segment, its start address (u32 big-endian),
    /// its length (u32 big-endian) and its bytes. Gaps therefore count, and two images
    /// hash alike exactly when they hold the same bytes at the same addresses.
    pub fn sha256(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        for s in &self.segments {
            h.update(s.start.to_be_bytes());
            h.update((s.data.len() as u32).to_be_bytes());
            h.update(&s.data);
        }
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(start: u64, data: &[u8], line: usize) -> Chunk {
        Chunk {
            start,
            data: data.to_vec(),
            origin: Origin::Line(line),
        }
    }

    #[test]
    fn copy_into_writes_only_what_the_image_holds_in_the_window() {
        let mut img = MemoryImage::new();
        img.write(0x0FFE, &[1, 2, 3, 4]);
        img.write(0x1006, &[5]);
        img.write(0x2000, &[6]);
        let mut buf = [0xEE; 8];
        img.copy_into(0x1000, &mut buf);
        assert_eq!(buf, [3, 4, 0xEE, 0xEE, 0xEE, 0xEE, 5, 0xEE]);
    }

    #[test]
    fn adjacent_chunks_merge_and_gaps_stay() {
        let img = MemoryImage::from_chunks(vec![
            chunk(0x10, &[3, 4], 2),
            chunk(0x0e, &[1, 2], 1),
            chunk(0x20, &[9], 3),
        ])
        .unwrap();
        assert_eq!(img.segments().len(), 2);
        assert_eq!(img.segments()[0].data, vec![1, 2, 3, 4]);
        assert_eq!(img.read(0x0f, 3), Some(&[2, 3, 4][..]));
        assert_eq!(img.read(0x11, 2), None);
    }

    #[test]
    fn overlap_names_both_origins() {
        let err = MemoryImage::from_chunks(vec![chunk(0x10, &[0; 16], 5), chunk(0x18, &[0; 4], 9)])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 9 overlaps data from line 5 at address 0x00000018"
        );
    }

    #[test]
    fn write_replaces_and_merges() {
        let mut img = MemoryImage::new();
        img.write(0, &[1; 8]);
        img.write(12, &[2; 4]);
        img.write(6, &[3; 8]);
        assert_eq!(img.segments().len(), 1);
        assert_eq!(
            img.read(0, 16).unwrap(),
            &[1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2]
        );
        img.remove(4, 10);
        assert_eq!(img.segments().len(), 2);
        assert_eq!(img.len(), 10);
    }

    #[test]
    fn the_top_byte_of_the_address_space_is_written_there_and_nowhere_else() {
        let mut img = MemoryImage::new();
        img.write(0xFFFF_FFFF, &[0xA5]);
        let text = hex::write(&img);
        assert_eq!(text, ":02000004FFFFFC\n:01FFFF00A55C\n:00000001FF\n");
        assert_eq!(hex::parse(text.as_bytes()).unwrap().0, img);
    }

    /// Such bytes would be written as HEX at address 0 on: a wrong image, not a refusal.
    #[test]
    #[should_panic(expected = "2 bytes at 0xffffffff run past the 4 GiB address space")]
    fn write_past_four_gib_is_refused() {
        MemoryImage::new().write(0xFFFF_FFFF, &[1, 2]);
    }

    #[test]
    fn past_four_gib_is_refused() {
        let err = MemoryImage::from_chunks(vec![chunk(0xFFFF_FFF0, &[0; 32], 3)]).unwrap_err();
        assert!(matches!(err, MemoryError::PastAddressSpace { .. }));
    }
}
