//! Issue 18: device refusals and advice true for the command that prints them, on
//! emulated silicon running probe-rs's real code.

mod common;

use common::{catalog_image, hexsmith, stderr, stdout};
use hexsmith::flash::emulator::{Chip, EmulatedDevice};
use hexsmith::memory::{MemoryImage, hex};
use std::path::Path;

fn write_hex(dir: &Path, name: &str, image: &MemoryImage) {
    std::fs::write(dir.join(name), hex::write(image)).unwrap();
}

fn holds(device: &EmulatedDevice, image: &MemoryImage) -> bool {
    image
        .segments()
        .iter()
        .all(|s| device.peek(s.start, s.data.len()) == s.data)
}

/// A locked nRF52840: commands without `--recover` do not advise it; `flash --recover`
/// says, in its output and its log line, that the chip was wiped.
#[test]
fn locked_chip_advice_fits_the_command_and_recover_says_it_wiped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, boron) = catalog_image("4.0.1", "boron", true);
    write_hex(d, "boron.hex", &boron);
    let device = EmulatedDevice::open(Chip::Nrf52840, &d.join("locked.hex")).unwrap();
    device.lock_approtect();
    device.save().unwrap();
    let emulated = [
        "--emulate",
        "nRF52840_xxAA",
        "--emulate-state",
        "locked.hex",
    ];
    let run = |args: &[&str]| hexsmith(d, &[args, &emulated[..]].concat());
    for args in [
        &["verify", "boron.hex"][..],
        &["read", "--platform", "boron", "-o", "dump.hex"],
        &["reset", "--platform", "boron"],
    ] {
        let out = run(args);
        let err = stderr(&out);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(err.contains("is locked"), "{args:?}: {err}");
        assert!(!err.contains("Rerun with --recover"), "{args:?}: {err}");
        assert!(
            err.contains("hexsmith flash --recover IMAGE"),
            "{args:?}: {err}"
        );
    }
    let out = run(&["flash", "boron.hex"]);
    assert!(
        stdout(&out).contains("Rerun with --recover"),
        "{}",
        stdout(&out)
    );

    let out = run(&["flash", "--recover", "boron.hex", "--log", "log.jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("ok, verified"), "{text}");
    assert!(
        text.contains("the chip was locked and was erased whole"),
        "{text}"
    );
    let line: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(d.join("log.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(line["chip_wiped"], true, "{line}");
    // Unlocked now: a second --recover wipes nothing and says nothing of it.
    let out = run(&["flash", "--recover", "boron.hex", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stdout(&out).contains("chip_wiped"), "{}", stdout(&out));
}

/// A write-protected Gen 2 bootloader sector blocks a flash only when that sector must
/// change: a device that already holds it is flashed.
#[test]
fn a_protected_bootloader_that_already_matches_blocks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, photon) = catalog_image("2.3.1", "photon", false);
    write_hex(d, "photon.hex", &photon);
    let emulated = ["--emulate", "STM32F205RG", "--emulate-state", "p.hex"];
    let run = |args: &[&str]| hexsmith(d, &[args, &emulated[..]].concat());
    let out = run(&["flash", "photon.hex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let device = EmulatedDevice::open(Chip::Stm32f205, &d.join("p.hex")).unwrap();
    device.protect_stm32_sectors(1);
    device.save().unwrap();
    let out = run(&["verify", "photon.hex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = run(&["flash", "photon.hex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("ok, verified"), "{}", stdout(&out));
}

/// Another protected STM32F2 sector, and `erase --range` over a protected sector 0, are
/// named in a clear message, not probe-rs's "erase_sector failed with code 1".
#[test]
fn other_protected_stm32f2_sectors_and_erase_ranges_get_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, photon) = catalog_image("2.3.1", "photon", false);
    write_hex(d, "photon.hex", &photon);
    let device = EmulatedDevice::open(Chip::Stm32f205, &d.join("p.hex")).unwrap();
    // Sector 5, 0x08020000-0x08040000: system part 1.
    device.protect_stm32_sectors(1 << 5);
    device.save().unwrap();
    let emulated = ["--emulate", "STM32F205RG", "--emulate-state", "p.hex"];
    let run = |args: &[&str]| hexsmith(d, &[args, &emulated[..]].concat());
    let out = run(&["flash", "photon.hex"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("erase unit 0x08020000-0x08040000 is write-protected"),
        "{text}"
    );
    assert!(!text.contains("erase_sector failed"), "{text}");

    let device = EmulatedDevice::open(Chip::Stm32f205, &d.join("q.hex")).unwrap();
    device.protect_stm32_sectors(1);
    device.save().unwrap();
    let out = hexsmith(
        d,
        &[
            "erase",
            "--platform",
            "photon",
            "--range",
            "0x08000000:0x08004000",
            "--emulate",
            "STM32F205RG",
            "--emulate-state",
            "q.hex",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("erase unit 0x08000000-0x08004000 is write-protected"),
        "{err}"
    );
    assert!(!err.contains("erase_sector failed"), "{err}");
}

/// An image that sets UICR.APPROTECT is written and verified whole: the lock takes hold
/// at the next reset, as on the chip, not when the word is programmed.
#[test]
fn approtect_takes_hold_at_the_next_reset() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, mut boron) = catalog_image("4.0.1", "boron", true);
    boron.write(0x1000_1208, &[0, 0, 0, 0]);
    write_hex(d, "protected.hex", &boron);
    let emulated = ["--emulate", "nRF52840_xxAA", "--emulate-state", "b.hex"];
    let out = hexsmith(
        d,
        &[&["flash", "--no-reset", "protected.hex"][..], &emulated].concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("ok, verified"), "{}", stdout(&out));
    let device = EmulatedDevice::open(Chip::Nrf52840, &d.join("b.hex")).unwrap();
    assert!(holds(&device, &boron));
    // Next attach resets the chip: locked now.
    let out = hexsmith(d, &[&["verify", "protected.hex"][..], &emulated].concat());
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("is locked"), "{}", stderr(&out));
}
