//! ELF loader: any bytes give an image or an error, never a panic; a loaded image can be
//! inspected.
#![no_main]

use hexsmith::inspect::{ImageFormat, inspect_image};
use hexsmith::memory::elf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(image) = elf::load(data) {
        let _ = inspect_image(&image, ImageFormat::Elf);
    }
});
