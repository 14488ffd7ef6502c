//! Inputs the fuzzers found that once panicked (fuzz/regressions/). Each must now give a
//! clean answer.

use hexsmith::inspect::{ImageFormat, inspect_image};
use hexsmith::memory::{bin, elf, hex};
use std::path::PathBuf;

fn regression(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/regressions")
            .join(name),
    )
    .unwrap()
}

/// The image_inspect target's input: a little-endian u32 address, then the bytes.
fn image_inspect(name: &str) {
    let input = regression(name);
    let address = u32::from_le_bytes(input[..4].try_into().unwrap());
    let image = bin::load(&input[4..], address).unwrap();
    let report = inspect_image(&image, ImageFormat::Bin);
    assert!(report.modules.is_empty());
}

#[test]
fn module_of_five_bytes_in_an_image() {
    image_inspect("image_inspect/candidate-at-5-byte-module");
    let (image, _) = hex::parse(&regression("cli/five-byte-module.hex")).unwrap();
    assert!(inspect_image(&image, ImageFormat::Hex).modules.is_empty());
}

#[test]
fn prefix_past_the_end_of_its_module() {
    image_inspect("image_inspect/candidate-at-prefix-past-module-end");
}

#[test]
fn elf_segment_at_the_top_of_a_64_bit_address_space() {
    let err = elf::load(&regression("elf_load/paddr-near-u64-max.elf")).unwrap_err();
    assert!(
        err.to_string().contains("past the 4 GiB address space"),
        "{err}"
    );
}
