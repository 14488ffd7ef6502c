//! Intel HEX reader: any bytes give an image or an error, never a panic; and whatever
//! parses survives a round trip through the writer unchanged.
#![no_main]

use hexsmith::memory::hex;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((image, _extras)) = hex::parse(data) else {
        return;
    };
    let text = hex::write(&image);
    match hex::parse(text.as_bytes()) {
        Ok((again, _)) => assert_eq!(again, image, "write() then parse() changed the image"),
        Err(e) => panic!("hex::write output does not re-parse: {e}\n{text}"),
    }
});
