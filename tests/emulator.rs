//! SWD programming on emulated silicon: probe-rs's own attach, `FlashLoader` and the real
//! nRF52840 and STM32F2 flash algorithms (executed by the emulated core) against the
//! emulated chip. Every test checks that no write broke NOR rules.
#![cfg(feature = "probe")]

mod common;

use common::{device_os, repo, stand_in_mbr_input};
use hexsmith::compose::catalog::{Catalog, FileIndex, collect};
use hexsmith::compose::{BuildOptions, build};
use hexsmith::flash::emulator::{Chip, EmulatedDevice};
use hexsmith::flash::probe::{Connect, ProbeTarget};
use hexsmith::flash::{FlashOptions, FlashPlan, FlashReport, PlanOptions, execute, read_device_id};
use hexsmith::memory::MemoryImage;
use hexsmith::platform::Platform;

fn restore_image(release: &str, name: &str) -> (&'static Platform, MemoryImage) {
    let index = FileIndex::new(&device_os()).unwrap();
    let catalog = Catalog::read(&repo().join(format!("restore-images/{release}.toml"))).unwrap();
    let entry = catalog.platform.iter().find(|p| p.name == name).unwrap();
    let (platform, modules) = collect(release, entry, &index).unwrap();
    let opts = BuildOptions {
        mbr: Some(stand_in_mbr_input()),
        ..BuildOptions::default()
    };
    (platform, build(modules, &opts).unwrap().image)
}

fn connect(device: &EmulatedDevice, platform: &Platform) -> ProbeTarget {
    let mcu = platform.mcu();
    ProbeTarget::connect(&Connect {
        emulate: Some(device.clone()),
        chip: mcu.chip.clone().unwrap(),
        under_reset: mcu.attach_under_reset,
        ..Connect::default()
    })
    .unwrap_or_else(|e| panic!("{e}; core faults {:?}", device.core_faults()))
}

fn flash(device: &EmulatedDevice, platform: &Platform, image: &MemoryImage) -> FlashReport {
    let mut target = connect(device, platform);
    let plan = FlashPlan::new(image, platform, platform.mcu(), PlanOptions::default()).unwrap();
    let options = FlashOptions {
        verify: true,
        reset: true,
        cancel: None,
        batch_units: 16,
    };
    execute(&plan, image, &mut target, &options, &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}; core faults {:?}", device.core_faults()))
}

fn holds(device: &EmulatedDevice, image: &MemoryImage) -> bool {
    image
        .segments()
        .iter()
        .all(|s| device.peek(s.start, s.data.len()) == s.data)
}

#[test]
fn boron_restore_image_through_probe_rs() {
    let (platform, image) = restore_image("4.0.1", "boron");
    let device = EmulatedDevice::blank(Chip::Nrf52840, &[1, 2, 3, 4, 5, 6, 7, 8]);
    let report = flash(&device, platform, &image);
    assert!(report.verified);
    assert!(report.units_written > 0);
    assert!(holds(&device, &image));
    assert_eq!(device.nor_violations(), vec![]);
    assert_eq!(device.core_faults(), Vec::<String>::new());
    eprintln!("{:?}", device.counts());
}

#[test]
fn photon_restore_image_through_probe_rs() {
    let (platform, image) = restore_image("2.3.1", "photon");
    let device = EmulatedDevice::blank(Chip::Stm32f205, &[9; 12]);
    let report = flash(&device, platform, &image);
    assert!(report.verified);
    assert!(holds(&device, &image));
    assert_eq!(device.nor_violations(), vec![]);
    let mut target = connect(&device, platform);
    let id = read_device_id(&mut target, platform.mcu())
        .unwrap()
        .unwrap();
    assert_eq!(id, "090909090909090909090909");
    eprintln!("{:?}", device.counts());
}
