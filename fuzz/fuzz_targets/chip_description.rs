//! Chip descriptions (`--chip-description-path`): any bytes are added to probe-rs's
//! registry or refused with a reason, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(yaml) = std::str::from_utf8(data) else {
        return;
    };
    // An empty registry: the built-in families cost milliseconds to load per input, and
    // what is fuzzed is the description's own parsing and resolution.
    let mut registry = probe_rs::config::Registry::new();
    let _ = hexsmith::flash::probe::add_chip_description(&mut registry, yaml);
});
