//! Property: writing any memory image as Intel HEX and reading it back gives the same
//! memory, and writing is deterministic.

use hexsmith::memory::{MemoryImage, hex};
use proptest::prelude::*;

fn image() -> impl Strategy<Value = MemoryImage> {
    // Addresses cluster near 64 KiB boundaries and the top of the address space, where
    // address records and record splitting matter.
    let address = prop_oneof![
        any::<u32>(),
        (any::<u16>(), 0u32..64).prop_map(|(hi, lo)| (u32::from(hi) << 16).wrapping_sub(lo)),
        (0u32..4096).prop_map(|lo| u32::MAX - lo),
    ];
    prop::collection::vec((address, prop::collection::vec(any::<u8>(), 0..300)), 0..8).prop_map(
        |pieces| {
            let mut img = MemoryImage::new();
            for (start, data) in pieces {
                let room = (u64::from(u32::MAX) + 1 - u64::from(start)) as usize;
                img.write(start, &data[..data.len().min(room)]);
            }
            img
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn write_then_read_gives_the_same_memory(img in image()) {
        let text = hex::write(&img);
        let (back, _) = hex::parse(text.as_bytes()).unwrap();
        prop_assert_eq!(&back, &img);
        prop_assert_eq!(hex::write(&back), text);
        for line in hex::write(&img).lines() {
            prop_assert!(line.len() <= 1 + 2 * (1 + 2 + 1 + 16 + 1));
            prop_assert_eq!(line.to_uppercase(), line);
        }
    }
}
