//! ELF files: the bytes of each loadable segment, at its physical (load) address, which
//! is where a firmware image's bytes sit in flash.

use super::{Chunk, MemoryError, MemoryImage, Origin};
use goblin::elf::{Elf, program_header::PT_LOAD};

/// Why an ELF file gives no image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ElfError {
    /// The `goblin` crate cannot read the headers (not ELF, or truncated); its reason.
    #[error("not a valid ELF file: {0}")]
    Parse(String),
    /// A loadable program header names file bytes past the end of the file: the ELF is
    /// truncated.
    #[error(
        "program header {index}: file bytes {offset:#x}+{size:#x} lie past the end of the file"
    )]
    OutOfFile {
        /// The program header's 0-based index.
        index: usize,
        /// Its `p_offset`: where its bytes start in the file.
        offset: u64,
        /// Its `p_filesz`: how many bytes it says the file holds.
        size: u64,
    },
    /// The loadable segments together hold more bytes than any input may
    /// ([`crate::input::MAX_INPUT_LEN`]): headers that name the same file bytes over and
    /// over, which would cost memory without end.
    #[error(
        "program header {index}: the loadable segments together pass {} MiB, more than any flash: not a firmware image",
        crate::input::MAX_INPUT_LEN >> 20
    )]
    TooLarge {
        /// The 0-based index of the program header that passed the limit.
        index: usize,
    },
    /// No `PT_LOAD` program header carries file bytes, so there is nothing to flash (an
    /// object file, say, rather than a linked firmware).
    #[error("no loadable segment with data")]
    Empty,
    /// The loadable segments overlap, or one runs past 4 GiB.
    #[error(transparent)]
    Memory(#[from] MemoryError),
}

/// The image an ELF file puts in flash: the file bytes (`p_filesz`) of every `PT_LOAD`
/// program header at its physical address `p_paddr`, so initialised data counts at its
/// flash copy rather than its RAM address; zero-fill (`p_memsz` beyond `p_filesz`) is
/// not flash content and is left out. Sections and symbols are not read.
pub fn load(bytes: &[u8]) -> Result<MemoryImage, ElfError> {
    let elf = Elf::parse(bytes).map_err(|e| ElfError::Parse(e.to_string()))?;
    let mut chunks = Vec::new();
    let mut total: u64 = 0;
    for (index, ph) in elf.program_headers.iter().enumerate() {
        if ph.p_type != PT_LOAD || ph.p_filesz == 0 {
            continue;
        }
        // Counted before the copy: overlapping headers may name one file's bytes many times.
        total = total.saturating_add(ph.p_filesz);
        if total > crate::input::MAX_INPUT_LEN {
            return Err(ElfError::TooLarge { index });
        }
        let range = ph
            .p_offset
            .checked_add(ph.p_filesz)
            .filter(|end| *end <= bytes.len() as u64)
            .map(|end| ph.p_offset as usize..end as usize)
            .ok_or(ElfError::OutOfFile {
                index,
                offset: ph.p_offset,
                size: ph.p_filesz,
            })?;
        chunks.push(Chunk {
            start: ph.p_paddr,
            data: bytes[range].to_vec(),
            origin: Origin::ElfSegment(index),
        });
    }
    if chunks.is_empty() {
        return Err(ElfError::Empty);
    }
    Ok(MemoryImage::from_chunks(chunks)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ELF32 file of `size` bytes of data and `count` PT_LOAD headers that all name
    /// those same bytes, each at its own address.
    fn overlapping(size: u32, count: u16) -> Vec<u8> {
        let phoff = 52u32;
        let data_at = phoff + 32 * u32::from(count);
        let mut b = vec![0u8; 52];
        b[0..4].copy_from_slice(b"\x7fELF");
        b[4] = 1; // 32-bit
        b[5] = 1; // little-endian
        b[6] = 1;
        b[16..18].copy_from_slice(&2u16.to_le_bytes()); // executable
        b[18..20].copy_from_slice(&40u16.to_le_bytes()); // ARM
        b[20..24].copy_from_slice(&1u32.to_le_bytes());
        b[28..32].copy_from_slice(&phoff.to_le_bytes());
        b[40..42].copy_from_slice(&52u16.to_le_bytes());
        b[42..44].copy_from_slice(&32u16.to_le_bytes());
        b[44..46].copy_from_slice(&count.to_le_bytes());
        for k in 0..u32::from(count) {
            let mut ph = [0u8; 32];
            ph[0..4].copy_from_slice(&PT_LOAD.to_le_bytes());
            ph[4..8].copy_from_slice(&data_at.to_le_bytes());
            ph[8..12].copy_from_slice(&(k * size).to_le_bytes());
            ph[12..16].copy_from_slice(&(k * size).to_le_bytes());
            ph[16..20].copy_from_slice(&size.to_le_bytes());
            ph[20..24].copy_from_slice(&size.to_le_bytes());
            b.extend_from_slice(&ph);
        }
        b.resize(data_at as usize + size as usize, 0xA5);
        b
    }

    /// 8 MiB of file named by 100 headers would be 800 MiB of image: refused at the
    /// header that passes the limit, before its bytes are copied.
    #[test]
    fn headers_naming_the_same_bytes_are_counted_before_copying() {
        let e = load(&overlapping(8 << 20, 100)).unwrap_err();
        assert_eq!(e, ElfError::TooLarge { index: 8 });
        assert_eq!(load(&overlapping(8 << 20, 2)).unwrap().len(), 16 << 20);
    }
}
