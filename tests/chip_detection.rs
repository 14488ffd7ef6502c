//! Issue 19: a chip that answers for itself. probe-rs's own auto-detection
//! (`TargetSelector::Auto`) runs against the emulated silicon's ROM table and ID
//! registers, and the device commands use what it finds when no chip was named.

mod common;

use common::{catalog_image, hexsmith, stderr, stdout};
use hexsmith::flash::ProbeSettings;
use hexsmith::flash::detect::detect;
use hexsmith::flash::emulator::{Chip, EmulatedDevice};
use hexsmith::flash::probe::ProbeError;
use hexsmith::memory::hex;

fn settings(device: &EmulatedDevice) -> ProbeSettings {
    ProbeSettings::default().with_emulate(vec![device.clone()])
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

/// `--emulate CHIP --emulate-unnamed`: the emulated probe is wired to CHIP, but the
/// command is not told; with no `--platform` or `--chip` it must ask the chip.
fn unnamed(chip: &'static str, state: &'static str) -> [&'static str; 5] {
    [
        "--emulate",
        chip,
        "--emulate-unnamed",
        "--emulate-state",
        state,
    ]
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", stdout(out), stderr(out));
    })
}

#[test]
fn read_erase_and_reset_take_the_chip_the_device_names() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (chip, state, range, evidence) in [
        (
            "nRF52840_xxAA",
            "nrf.hex",
            "0xd4000..0xd5000",
            "INFO.PART 0x52840",
        ),
        (
            "STM32F205RG",
            "stm.hex",
            "0x080a0000..0x080c0000",
            "DEV_ID 0x411",
        ),
    ] {
        let device = unnamed(chip, state);
        for args in [
            &["read", "--json", "-o", "dump.hex", "--range", range][..],
            &["erase", "--json", "--range", range],
            &["reset", "--json"],
        ] {
            let out = hexsmith(d, &[args, &device[..]].concat());
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
            let doc = json_of(&out);
            assert_eq!(doc["chip"], chip, "{args:?}");
            let detected = doc["chip_detected"].as_str().unwrap_or_default();
            assert!(detected.contains(evidence), "{args:?}: {doc}");
            assert!(
                stderr(&out).contains(&format!("detected {chip}")),
                "{args:?}: {}",
                stderr(&out)
            );
        }
    }
    // A chip named on the command line is not asked.
    let out = hexsmith(
        d,
        &[
            &["reset", "--json", "--platform", "boron"][..],
            &unnamed("nRF52840_xxAA", "nrf.hex"),
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_of(&out)["chip_detected"], serde_json::Value::Null);
}

/// The RTL8721DM does not answer probe-rs's auto-detection: the command says to name it.
#[test]
fn an_rtl8721dm_is_still_named_by_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let out = hexsmith(
        dir.path(),
        &[&["reset"][..], &unnamed("RTL8721DM", "p2.hex")].concat(),
    );
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("did not identify itself"), "{err}");
    assert!(err.contains("--platform NAME or --chip NAME"), "{err}");
}

/// A device state holding `platform`'s catalog image of `release`, on the chip it is for.
fn device_holding(d: &std::path::Path, chip: Chip, release: &str, platform: &str, state: &str) {
    let (_, image) = catalog_image(release, platform, true);
    let mut memory = EmulatedDevice::without_state(chip).nvm_image();
    for seg in image.segments() {
        memory.write(seg.start, &seg.data);
    }
    let device = EmulatedDevice::from_image(chip, &memory).unwrap();
    std::fs::write(d.join(state), hex::write(&device.nvm_image())).unwrap();
}

/// `inspect` of an unnamed device: the chip from the chip, the platform from the modules
/// it holds; a blank nRF52840 names no platform, and every platform using it is listed.
#[test]
fn inspect_finds_the_platform_in_the_modules_and_never_guesses_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    device_holding(d, Chip::Nrf52840, "4.0.1", "boron", "boron.hex");
    device_holding(d, Chip::Stm32f205, "2.3.1", "photon", "photon.hex");
    for (chip, state, platform) in [
        ("nRF52840_xxAA", "boron.hex", "boron"),
        ("STM32F205RG", "photon.hex", "photon"),
    ] {
        let out = hexsmith(
            d,
            &[&["inspect", "--json"][..], &unnamed(chip, state)].concat(),
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let doc = json_of(&out);
        assert_eq!(doc["device"]["chip"], chip, "{doc}");
        assert!(doc["device"]["chip_detected"].is_string(), "{doc}");
        assert_eq!(doc["device"]["platform"], platform, "{doc}");
    }
    let out = hexsmith(
        d,
        &[&["inspect"][..], &unnamed("nRF52840_xxAA", "blank.hex")].concat(),
    );
    let text = stdout(&out);
    assert!(
        text.contains("detected: ROM table designer Nordic"),
        "{text}"
    );
    assert!(text.contains("not named by any module"), "{text}");
    assert!(text.contains("boron") && text.contains("tracker"), "{text}");
}

/// A locked nRF52840 shows no memory, so nothing identifies it: the command says to name
/// it, and names the lock as a likely cause.
#[test]
fn a_locked_nrf52840_is_to_be_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let device = EmulatedDevice::open(Chip::Nrf52840, &d.join("locked.hex")).unwrap();
    device.lock_approtect();
    device.save().unwrap();
    let out = hexsmith(
        d,
        &[
            &["erase", "--all"][..],
            &unnamed("nRF52840_xxAA", "locked.hex"),
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("did not identify itself"), "{err}");
    assert!(err.contains("locked nRF52840 (APPROTECT)"), "{err}");
}

/// The session detection attached is the one the command goes on with: no second attach
/// (on a real probe about 0.2 s), and it reads the device as a fresh one would.
#[test]
fn the_detected_session_is_handed_over() {
    use hexsmith::flash::FlashTarget as _;
    use hexsmith::flash::probe::{Connect, ProbeTarget};
    for (chip, mcu) in [(Chip::Nrf52840, "nrf52840"), (Chip::Stm32f205, "stm32f205")] {
        let device = EmulatedDevice::without_state(chip);
        let settings = settings(&device);
        let mcu = hexsmith::platform::mcu(mcu).unwrap();
        let detected = hexsmith::flash::detect::detect_attached(&settings).unwrap();
        let named = detected.chip.chip.clone();
        let after_detection = device.counts().transfers;
        let connect = Connect::new(&settings, mcu, Some(named.clone())).unwrap();
        let mut target = ProbeTarget::connect_detected(&connect, detected).unwrap();
        assert_eq!(
            device.counts().transfers,
            after_detection,
            "{named}: connecting attached again"
        );
        let mut handed_over = [0u8; 16];
        target
            .read(mcu.device_id.as_ref().unwrap().address, &mut handed_over)
            .unwrap();
        drop(target);

        // The same bytes through a session of its own, which costs an attach.
        let before = device.counts().transfers;
        let mut fresh = ProbeTarget::connect(&connect).unwrap();
        let attach = device.counts().transfers - before;
        assert!(attach > 100, "{named}: an attach took {attach} transfers");
        let mut again = [0u8; 16];
        fresh
            .read(mcu.device_id.as_ref().unwrap().address, &mut again)
            .unwrap();
        assert_eq!(handed_over, again, "{named}");
    }
}
