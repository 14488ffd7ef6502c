//! Emulated devices as the tests prepare and check them.

use hexsmith::flash::emulator::{Chip, EmulatedDevice};
use hexsmith::memory::MemoryImage;
use std::path::Path;
use std::process::{Command, Output};

/// Every byte of the image is in the emulated device's memory.
pub fn holds(device: &EmulatedDevice, image: &MemoryImage) -> bool {
    image
        .segments()
        .iter()
        .all(|s| device.peek(s.start, s.data.len()) == s.data)
}

/// An nRF52840 whose APPROTECT is set, saved to its state file `state`: a board that
/// answers the probe but refuses debugging until erased.
pub fn locked_nrf52840(state: &Path) -> EmulatedDevice {
    let device = EmulatedDevice::open(Chip::Nrf52840, state).unwrap();
    device.lock_approtect();
    device.save().unwrap();
    device
}

/// An STM32F205 whose option bytes write-protect the sectors of `mask` (bit N: sector N),
/// saved to its state file `state`.
pub fn protected_stm32f205(state: &Path, mask: u32) -> EmulatedDevice {
    let device = EmulatedDevice::open(Chip::Stm32f205, state).unwrap();
    device.protect_stm32_sectors(mask);
    device.save().unwrap();
    device
}

/// Runs hexsmith in `dir` with `args`, on the emulated `chip` whose state file is `state`
/// (a probe or chip named in the environment left out).
pub fn run_on(dir: &Path, chip: &str, state: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hexsmith"))
        .args(args)
        .args(["--emulate", chip, "--emulate-state", state])
        .env_remove("PROBE_RS_CHIP")
        .env_remove("PROBE_RS_PROBE")
        .current_dir(dir)
        .output()
        .expect("hexsmith runs")
}
