//! Plan, write and verify an image on an emulated nRF52840 through probe-rs, then read the
//! device back: the path `hexsmith flash --emulate nRF52840_xxAA IMAGE` takes, and the
//! one a real probe takes (only `Connect::emulate` differs).
//!
//! ```sh
//! cargo run --example flash_emulated -- boron.hex
//! ```

use hexsmith::flash::emulator::{Chip, EmulatedDevice};
use hexsmith::flash::probe::{Connect, ProbeTarget};
use hexsmith::flash::{FlashOptions, read_device};
use hexsmith::input::{self, Input};
use hexsmith::{FlashJob, PlanOptions, execute};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os().nth(1).map(PathBuf::from);
    let path = path.ok_or("usage: flash_emulated IMAGE.hex (a Gen 3 image)")?;
    let Input::Image { image, .. } = input::read(&path)? else {
        return Err(format!("{}: a module, not an image", path.display()).into());
    };
    // Refused here, before any probe is touched, if a module fails a boot check.
    let job = FlashJob::from_image(image, None, None)?;
    let plan = job.plan(PlanOptions::default())?;
    let device = EmulatedDevice::without_state(Chip::Nrf52840);
    let chip = job
        .chip
        .clone()
        .ok_or("the platform has no probe-rs target")?;
    let mut target =
        ProbeTarget::connect(&Connect::to_chip(chip).with_emulate(Some(device.clone())))?;
    let options = FlashOptions::default().with_verify(true);
    let report = execute(&plan, &job.image, &mut target, &options, &mut |_| {})?;
    println!(
        "{}: {} units written, {} skipped, verified",
        job.platform.name, report.units_written, report.units_skipped
    );
    // Flashing again compares first (a CRC computed on the chip) and writes nothing.
    let again = execute(&plan, &job.image, &mut target, &options, &mut |_| {})?;
    assert_eq!(again.units_written, 0);
    let back = read_device(&mut target, job.mcu(), None)?;
    for segment in job.image.segments() {
        let held = back.read(u64::from(segment.start), segment.data.len());
        assert_eq!(
            held,
            Some(segment.data.as_slice()),
            "bytes at {:#x}",
            segment.start
        );
    }
    let counts = device.counts();
    println!(
        "read back equal; {} SWD transfers, {} bytes programmed",
        counts.transfers, counts.bytes_programmed
    );
    Ok(())
}
