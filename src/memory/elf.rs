//! ELF files: the bytes of each loadable segment, at its physical (load) address, which
//! is where a firmware image's bytes sit in flash.

use super::{Chunk, MemoryError, MemoryImage, Origin};
use goblin::elf::{Elf, program_header::PT_LOAD};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    #[error("not a valid ELF file: {0}")]
    Parse(String),
    #[error(
        "program header {index}: file bytes {offset:#x}+{size:#x} lie past the end of the file"
    )]
    OutOfFile {
        index: usize,
        offset: u64,
        size: u64,
    },
    #[error("no loadable segment with data")]
    Empty,
    #[error(transparent)]
    Memory(#[from] MemoryError),
}

pub fn load(bytes: &[u8]) -> Result<MemoryImage, ElfError> {
    let elf = Elf::parse(bytes).map_err(|e| ElfError::Parse(e.to_string()))?;
    let mut chunks = Vec::new();
    for (index, ph) in elf.program_headers.iter().enumerate() {
        if ph.p_type != PT_LOAD || ph.p_filesz == 0 {
            continue;
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
