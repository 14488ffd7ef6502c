//! Particle module reader: any bytes give a module or an error, never a panic; a parsed
//! module can be reported on and re-sealed, and a re-sealed module verifies.
#![no_main]

use hexsmith::inspect::inspect_module;
use hexsmith::module::{Module, seal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(module) = Module::parse(data) else {
        return;
    };
    let _ = inspect_module(&module);
    let mut bytes = data.to_vec();
    // Sealing may fail when the new SHA-256 bytes happen to form a prefix that the
    // search prefers: an error, which is allowed; a panic is not.
    let Ok(sealed) = seal(&mut bytes) else {
        return;
    };
    // The CRC is written last, over the final bytes: it always verifies.
    assert!(sealed.crc_ok(), "a sealed module's CRC does not verify");
    // The SHA-256 never covers itself, so with the same prefix it verifies too.
    if sealed.prefix_offset == module.prefix_offset {
        assert!(
            sealed.sha256_ok(),
            "a sealed module's SHA-256 does not verify"
        );
    }
});
