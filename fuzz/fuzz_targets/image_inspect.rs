//! Image inspection (module search, radio stack, region classification) over arbitrary
//! bytes at an arbitrary address. Input: a little-endian u32 load address, then the bytes.
#![no_main]

use hexsmith::inspect::{ImageFormat, inspect_image};
use hexsmith::memory::bin;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((address, bytes)) = data.split_first_chunk::<4>() else {
        return;
    };
    let address = u32::from_le_bytes(*address);
    if let Ok(image) = bin::load(bytes, address) {
        let _ = inspect_image(&image, ImageFormat::Bin);
    }
});
