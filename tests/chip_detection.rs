//! Issue 19: a chip that answers for itself. probe-rs's own auto-detection
//! (`TargetSelector::Auto`) runs against the emulated silicon's ROM table and ID
//! registers, and the device commands use what it finds when no chip was named.

mod common;

use hexsmith::flash::ProbeSettings;
use hexsmith::flash::detect::detect;
use hexsmith::flash::emulator::{Chip, EmulatedDevice};
use hexsmith::flash::probe::ProbeError;

fn settings(device: &EmulatedDevice) -> ProbeSettings {
    ProbeSettings {
        emulate: vec![device.clone()],
        ..Default::default()
    }
}

#[test]
fn nrf52840_and_stm32f205_name_themselves_and_the_rtl8721dm_does_not() {
    let nrf = EmulatedDevice::without_state(Chip::Nrf52840);
    let found = detect(&settings(&nrf)).unwrap();
    assert_eq!(found.chip, "nRF52840_xxAA");
    assert!(
        found.evidence.contains("INFO.PART 0x52840"),
        "{}",
        found.evidence
    );
    assert!(
        found.evidence.contains("INFO.VARIANT AAD0"),
        "{}",
        found.evidence
    );

    let stm = EmulatedDevice::without_state(Chip::Stm32f205);
    let found = detect(&settings(&stm)).unwrap();
    assert_eq!(found.chip, "STM32F205RG");
    assert!(
        found.evidence.contains("DEV_ID 0x411"),
        "{}",
        found.evidence
    );
    assert!(
        found.evidence.contains("F_SIZE 1024 KiB"),
        "{}",
        found.evidence
    );

    let rtl = EmulatedDevice::without_state(Chip::Rtl8721dm);
    match detect(&settings(&rtl)) {
        Err(ProbeError::Undetected { reason, .. }) => {
            assert!(reason.contains("auto-detection"), "{reason}")
        }
        other => panic!("the RTL8721DM was detected: {other:?}"),
    }
}
