//! Emulator state files (`--emulate-state`): any bytes give a device or a reason, never a
//! panic; and a device's state, written and read back, is the same device.
#![no_main]

use hexsmith::flash::emulator::{Chip, EmulatedDevice};
use hexsmith::memory::hex;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, state)) = data.split_first() else {
        return;
    };
    let chip = Chip::ALL[usize::from(which) % Chip::ALL.len()];
    let Ok(device) = EmulatedDevice::from_state(chip, state) else {
        return;
    };
    let image = device.nvm_image();
    let text = hex::write(&image);
    match EmulatedDevice::from_state(chip, text.as_bytes()) {
        Ok(again) => assert_eq!(again.nvm_image(), image, "a saved state reads back otherwise"),
        Err(e) => panic!("a saved state does not read back: {e}"),
    }
});
