//! Issue 18: device refusals and advice true for the command that prints them, on
//! emulated silicon running probe-rs's real code.

mod common;

use common::emulated::{holds, locked_nrf52840, protected_stm32f205, run_on};
use common::{assert_says, catalog_hex, catalog_image, stderr, stdout, write_hex};
use hexsmith::flash::emulator::{Chip, EmulatedDevice};
use std::process::Output;

/// A locked nRF52840: commands without `--recover` do not advise it; `flash --recover`
/// says, in its output and its log line, that the chip was wiped.
#[test]
fn locked_chip_advice_fits_the_command_and_recover_says_it_wiped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    catalog_hex(d, "4.0.1", "boron", true);
    locked_nrf52840(&d.join("locked.hex"));
    let run = |args: &[&str]| run_on(d, "nRF52840_xxAA", "locked.hex", args);
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
    assert_says(&stdout(&out), "Rerun with --recover");

    let out = run(&["flash", "--recover", "boron.hex", "--log", "log.jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_says(&text, "ok, verified");
    assert_says(&text, "the chip was locked and was erased whole");
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
    catalog_hex(d, "2.3.1", "photon", false);
    let run = |args: &[&str]| run_on(d, "STM32F205RG", "p.hex", args);
    let out = run(&["flash", "photon.hex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    protected_stm32f205(&d.join("p.hex"), 1);
    let out = run(&["verify", "photon.hex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = run(&["flash", "photon.hex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_says(&stdout(&out), "ok, verified");
}

/// Another protected STM32F2 sector, and `erase --range` over a protected sector 0, are
/// named in a clear message, not probe-rs's "erase_sector failed with code 1".
#[test]
fn other_protected_stm32f2_sectors_and_erase_ranges_get_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    catalog_hex(d, "2.3.1", "photon", false);
    // The sectors protected, the command, where it reports, and the unit it must name.
    type Report = fn(&Output) -> String;
    let cases: [(u32, &[&str], Report, &str); 2] = [
        // Sector 5: system part 1.
        (
            1 << 5,
            &["flash", "photon.hex"],
            stdout,
            "0x08020000-0x08040000",
        ),
        (
            1,
            &[
                "erase",
                "--platform",
                "photon",
                "--range",
                "0x08000000:0x08004000",
            ],
            stderr,
            "0x08000000-0x08004000",
        ),
    ];
    for (k, (sectors, args, report, unit)) in cases.into_iter().enumerate() {
        let state = format!("p{k}.hex");
        protected_stm32f205(&d.join(&state), sectors);
        let out = run_on(d, "STM32F205RG", &state, args);
        let text = report(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {text}");
        let named = format!("erase unit {unit} is write-protected");
        assert!(text.contains(&named), "{args:?}: {text}");
        assert!(!text.contains("erase_sector failed"), "{args:?}: {text}");
    }
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
    let run = |args: &[&str]| run_on(d, "nRF52840_xxAA", "b.hex", args);
    let out = run(&["flash", "--no-reset", "protected.hex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_says(&stdout(&out), "ok, verified");
    let device = EmulatedDevice::open(Chip::Nrf52840, &d.join("b.hex")).unwrap();
    assert!(holds(&device, &boron));
    // Next attach resets the chip: locked now.
    let out = run(&["verify", "protected.hex"]);
    assert_ne!(out.status.code(), Some(0));
    assert_says(&stderr(&out), "is locked");
}
