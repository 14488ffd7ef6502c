//! Raw binaries: the bytes of a file placed from one address on.

use super::{Chunk, MemoryError, MemoryImage, Origin};

/// Places a file's bytes from `address` on: a module (at its prefix's start address) or
/// a flash dump. Refuses only bytes that would run past 4 GiB; no bytes give an empty
/// image.
pub fn load(bytes: &[u8], address: u32) -> Result<MemoryImage, MemoryError> {
    MemoryImage::from_chunks(vec![Chunk {
        start: u64::from(address),
        data: bytes.to_vec(),
        origin: Origin::Piece("the binary".into()),
    }])
}

/// The bytes from the image's first to its last address, gaps filled with `fill`, and
/// the address of the first; `(0, [])` for an empty image. The result spans every gap:
/// an nRF52840 image with its UICR page (0x10001000) flattens to over 256 MiB.
pub fn flatten(image: &MemoryImage, fill: u8) -> (u32, Vec<u8>) {
    let Some(first) = image.segments().first() else {
        return (0, Vec::new());
    };
    let last = image.segments().last().expect("not empty");
    let mut out = vec![fill; (last.end() - u64::from(first.start)) as usize];
    for seg in image.segments() {
        let at = (seg.start - first.start) as usize;
        out[at..at + seg.data.len()].copy_from_slice(&seg.data);
    }
    (first.start, out)
}
