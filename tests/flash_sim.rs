//! Programming, tested against a simulated flash with the real geometries (erased bytes
//! read 0xFF, programming only clears bits, erase works on whole units), on real images:
//! plans, skip-unchanged, verification, refusals, interrupted runs, several devices.

mod common;

use common::refused_for_no_probe;
use common::simulated::holds;
use common::{
    catalog_hex, catalog_image, device_os, hexsmith, read_real, relocated, repo, stderr, stdout,
};
use hexsmith::compose::ModuleInput;
use hexsmith::compose::replace::{ReplaceOptions, replace_user};
use hexsmith::flash::sim::SimulatedFlash;
use hexsmith::flash::{
    FlashFailure, FlashOptions, FlashPlan, FlashReport, FlashTarget, PlanError, PlanOptions,
    TargetError, execute, read_device, read_device_id,
};
use hexsmith::memory::{MemoryImage, hex};
use hexsmith::platform::{self, Platform};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

fn options() -> FlashOptions {
    FlashOptions::default()
        .with_verify(true)
        .with_reset(true)
        .with_batch_units(8)
}

fn plan(
    image: &MemoryImage,
    platform: &Platform,
    chip_erase: bool,
) -> Result<FlashPlan, PlanError> {
    FlashPlan::new(
        image,
        platform,
        platform.mcu(),
        // The device-keys refusal has its own test below.
        PlanOptions::default()
            .with_chip_erase(chip_erase)
            .with_erase_device_keys(true),
    )
}

fn flash(sim: &mut SimulatedFlash, image: &MemoryImage, platform: &Platform) -> FlashReport {
    let p = plan(image, platform, false).unwrap();
    execute(&p, image, sim, &options(), &mut |_| {}).unwrap()
}

/// The dry run says a Gen 3 image with MBR and UICR may take a chip erase instead of its
/// pages, and `--no-auto-chip-erase` takes that choice away; a Gen 2 image never has it.
#[test]
fn dry_run_says_when_a_chip_erase_may_be_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let (_, boron) = catalog_image("4.0.1", "boron", true);
    let (_, photon) = catalog_image("2.3.1", "photon", false);
    std::fs::write(dir.path().join("boron.hex"), hex::write(&boron)).unwrap();
    std::fs::write(dir.path().join("photon.hex"), hex::write(&photon)).unwrap();
    let says = |args: &[&str]| {
        let mut full = vec!["flash", "--dry-run"];
        full.extend_from_slice(args);
        let out = hexsmith(dir.path(), &full);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out).contains("or the whole chip instead")
    };
    assert!(says(&["boron.hex"]));
    assert!(!says(&["--no-auto-chip-erase", "boron.hex"]));
    assert!(!says(&["photon.hex"]));
}

#[test]
fn dry_run_plans_for_each_family() {
    let dir = tempfile::tempdir().unwrap();
    let (_, boron) = catalog_image("4.0.1", "boron", true);
    let (_, electron) = catalog_image("2.3.1", "electron", true);
    std::fs::write(dir.path().join("boron.hex"), hex::write(&boron)).unwrap();
    std::fs::write(dir.path().join("electron.hex"), hex::write(&electron)).unwrap();
    let plan_of = |args: &[&str]| -> serde_json::Value {
        let mut full = vec!["flash", "--dry-run", "--json"];
        full.extend_from_slice(args);
        let out = hexsmith(dir.path(), &full);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    };

    let v = plan_of(&["boron.hex"]);
    assert_eq!(v["chip"], "nRF52840_xxAA");
    assert_eq!(v["bytes"], boron.len());
    let sectors = v["sectors"].as_array().unwrap();
    // 4 KiB pages throughout flash, and the UICR page on its own at the end.
    assert!(
        sectors[..sectors.len() - 1]
            .iter()
            .all(|s| s[1].as_u64().unwrap() - s[0].as_u64().unwrap() == 0x1000)
    );
    assert_eq!(
        sectors.last().unwrap(),
        &serde_json::json!([0x1000_1000u32, 0x1000_2000u32])
    );
    assert_eq!(sectors[0], serde_json::json!([0, 0x1000]));
    assert_eq!(sectors.len(), 39 + 125 + 3 + 12 + 1);

    let v = plan_of(&["electron.hex"]);
    assert_eq!(v["chip"], "STM32F205RG");
    assert_eq!(v["attach_under_reset"], true);
    // Bootloader: the first 16 KiB sector; system parts 1-3 and the application: 128 KiB sectors.
    assert_eq!(
        v["sectors"],
        serde_json::json!([
            [0x0800_0000u32, 0x0800_4000u32],
            [0x0802_0000u32, 0x0804_0000u32],
            [0x0804_0000u32, 0x0806_0000u32],
            [0x0806_0000u32, 0x0808_0000u32],
            [0x0808_0000u32, 0x080A_0000u32],
        ])
    );

    let p2 = device_os().join("particle-cli-3.51.0/knownApps/p2/tinker/tinker-5.0.0-p2.bin");
    let v = plan_of(&[p2.to_str().unwrap()]);
    // The RTL872x goes through Particle's loader as the target hexsmith registers.
    assert_eq!(v["chip"], "RTL8721DM");
    assert_eq!(v["sectors"].as_array().unwrap().len(), 12);
    let text = hexsmith(dir.path(), &["flash", "--dry-run", p2.to_str().unwrap()]);
    assert!(stdout(&text).contains("RTL8721DM"), "{}", stdout(&text));
}

#[test]
fn skip_unchanged_and_a_new_application_touches_only_its_units() {
    let (platform, image, mut sim) = blank_device("4.0.1", "boron");
    let first = flash(&mut sim, &image, platform);
    assert_eq!(first.units_skipped, 0);
    assert!(first.verified && holds(&sim, &image));
    assert_eq!(sim.resets, 1);

    let again = flash(&mut sim, &image, platform);
    assert_eq!(
        (again.units_written, again.units_skipped),
        (0, first.units_written)
    );
    assert_eq!(again.bytes_written, 0);

    // The same Device OS with a new, larger application at 0xB4000.
    let tinker =
        read_real("particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin");
    let app = ModuleInput::from_bytes("app.bin", relocated(&tinker, 0xB4000)).unwrap();
    let updated = replace_user("boron", &image, &app, ReplaceOptions::default())
        .unwrap()
        .image;
    let report = flash(&mut sim, &updated, platform);
    assert!(report.units_written > 0);
    for [start, end] in &report.written {
        // The new application's pages, the fill at 0xD4000 and the old application's
        // pages (now only fill or untouched): all inside the user-part area.
        assert!(
            *start >= 0xB4000 && *end <= 0xF4000,
            "{start:#x}-{end:#x} written"
        );
    }
    assert!(holds(&sim, &updated));
}

#[test]
fn bytes_the_image_does_not_cover_are_kept() {
    let (platform, image, mut sim) = blank_device("4.0.1", "boron");
    // Something already on the device in the last page of the application's range.
    let app_end = 0xD6C94u32;
    sim.preload(app_end + 16, b"keep me");
    flash(&mut sim, &image, platform);
    let kept: Vec<u8> = (0..7)
        .map(|i| sim.byte(u64::from(app_end + 16 + i)).unwrap())
        .collect();
    assert_eq!(kept, b"keep me");
}

/// The simulated target answers blank checks exactly, a byte anywhere in a range making
/// it programmed, and reading nothing to answer.
#[test]
fn the_simulated_blank_check_is_exact() {
    let (_, _, mut sim) = blank_device("4.0.1", "boron");
    sim.preload(0x3_1007, &[0xFE]);
    let ranges = [
        (0x3_0000, 0x1000),
        (0x3_1000, 0x1000),
        (0x3_1000, 7),
        (0x3_1007, 1),
        (0x3_0FF0, 0x10),
        (0x3_1008, 0x2000),
    ];
    let answers = sim.blank(&ranges).unwrap().unwrap();
    assert_eq!(answers, [true, false, true, false, true, true]);
    assert_eq!(sim.bytes_read, 0);
    sim.answers_blank = false;
    assert_eq!(sim.blank(&ranges).unwrap(), None);
}

/// On a blank device the blank checks answer for every unit: nothing is read to compare,
/// and no unit is erased before it is programmed. A device that holds something in a
/// unit is read there only. Without blank checks, each unit is read.
#[test]
fn a_blank_device_is_compared_by_blank_checks_alone() {
    let (platform, image, mut sim) = blank_device("4.0.1", "boron");
    let p = plan(&image, platform, false).unwrap();
    let unverified = options().with_verify(false);
    let report = execute(&p, &image, &mut sim, &unverified, &mut |_| {}).unwrap();
    assert_eq!(report.units_written, p.units.len());
    assert_eq!(sim.bytes_read, 0);
    assert!(sim.ranges_blank_checked > 0);
    assert!(holds(&sim, &image));

    // One page of the application's range holds something the image does not cover: that
    // unit alone is read, to keep it.
    let (_, _, mut sim) = blank_device("4.0.1", "boron");
    sim.preload(0xD6C94 + 16, b"keep me");
    execute(&p, &image, &mut sim, &unverified, &mut |_| {}).unwrap();
    assert_eq!(sim.bytes_read, 0x1000);

    let (_, _, mut sim) = blank_device("4.0.1", "boron");
    sim.answers_blank = false;
    execute(&p, &image, &mut sim, &unverified, &mut |_| {}).unwrap();
    let planned: u64 = p.units.iter().map(|u| u.len() as u64).sum();
    assert_eq!(sim.bytes_read, planned);
}

/// Verification checks the erased stretches of what was written by blank checks, so a
/// bit that failed to stay erased there is found, and named.
#[test]
fn verify_catches_a_corrupted_erased_byte() {
    let (platform, image, mut sim) = blank_device("2.3.1", "photon");
    // The end of the last sector the image reaches is erased in what was written.
    let unit = *plan(&image, platform, false).unwrap().units.last().unwrap();
    let address = (unit.end - 5) as u32;
    assert_eq!(image.read(u64::from(address), 1), None);
    sim.corrupt_at = Some(address);
    let failure = failed_run(&mut sim, &image, platform, false);
    assert_eq!(
        failure.error.to_string(),
        format!("verify failed at {address:#010x}: wrote 0xff, read back 0xfe")
    );
}

#[test]
fn verify_catches_a_corrupted_write() {
    let (platform, image, mut sim) = blank_device("2.3.1", "photon");
    sim.corrupt_at = Some(0x0802_0321);
    let failure = failed_run(&mut sim, &image, platform, false);
    let text = failure.error.to_string();
    assert!(
        text.starts_with("verify failed at 0x08020321: wrote "),
        "{text}"
    );
    assert_eq!(sim.resets, 0, "no reset after a failed verify");
    // Without verification the corruption would have gone unnoticed.
    let mut unverified = SimulatedFlash::new(platform.mcu());
    unverified.corrupt_at = Some(0x0802_0321);
    let opts = options().with_verify(false);
    let p = plan(&image, platform, false).unwrap();
    assert!(execute(&p, &image, &mut unverified, &opts, &mut |_| {}).is_ok());
    assert!(!holds(&unverified, &image));
}

#[test]
fn chip_erase_is_refused_without_mbr_and_uicr() {
    let (platform, image) = catalog_image("4.0.1", "boron", true);
    let mut no_mbr = image.clone();
    no_mbr.remove(0, 0x1000);
    let err = plan(&no_mbr, platform, true).unwrap_err();
    assert_eq!(
        err.to_string(),
        "refusing --chip-erase: the image has no Nordic MBR (0x00000000-0x00001000, end exclusive); a full chip erase \
         also erases Nordic MBR and the UICR, and the device would not boot (flash without --chip-erase, \
         or build the image with --mbr)"
    );
    let mut no_uicr = image.clone();
    no_uicr.remove(0x1000_1000, 0x1000_2000);
    assert!(
        plan(&no_uicr, platform, true)
            .unwrap_err()
            .to_string()
            .contains("no UICR (0x10001000-0x10002000, end exclusive)")
    );

    // A complete image may erase the chip: everything is rewritten.
    let mut sim = SimulatedFlash::new(platform.mcu());
    sim.preload(0xE0000, b"stale");
    let p = plan(&image, platform, true).unwrap();
    let report = execute(&p, &image, &mut sim, &options(), &mut |_| {}).unwrap();
    assert_eq!(sim.chip_erases, 1);
    assert_eq!(report.units_written, p.units.len());
    assert_eq!(sim.byte(0xE0000), Some(0xFF));
    assert!(holds(&sim, &image));

    // Gen 2 has no MBR to lose, but its DCT holds the device's keys.
    let (photon, photon_image) = catalog_image("2.3.1", "photon", true);
    assert!(plan(&photon_image, photon, true).is_ok());
    let keys = FlashPlan::new(
        &photon_image,
        photon,
        photon.mcu(),
        PlanOptions::default().with_chip_erase(true),
    );
    assert!(
        matches!(
            keys,
            Err(PlanError::ChipEraseLosesDeviceData {
                start: 0x0800_4000,
                end: 0x0802_0000,
                ..
            })
        ),
        "{keys:?}"
    );
}

#[test]
fn an_interrupted_run_is_finished_by_a_rerun() {
    let (platform, image, mut sim) = blank_device("4.0.1", "boron");
    sim.fail_after_units = Some(20);
    let failure = failed_run(&mut sim, &image, platform, false);
    let p = plan(&image, platform, false).unwrap();
    assert_eq!(failure.error.to_string(), "probe disconnected");
    assert_eq!(
        failure.report.units_written, 16,
        "the batches before the failing one"
    );
    assert!(!holds(&sim, &image));

    sim.fail_after_units = None;
    let rerun = execute(&p, &image, &mut sim, &options(), &mut |_| {}).unwrap();
    assert!(rerun.verified && holds(&sim, &image));
    // The 16 units of the finished batches, and the 4 the failing batch got through.
    assert_eq!(
        rerun.units_skipped, 20,
        "what the first run finished is not written again"
    );

    // Ctrl-C: stops between batches and says what was written.
    let mut sim = SimulatedFlash::new(platform.mcu());
    let cancel = Arc::new(AtomicBool::new(true));
    let opts = options().with_cancel(Some(cancel));
    let report = execute(&p, &image, &mut sim, &opts, &mut |_| {}).unwrap();
    assert!(report.interrupted);
    assert_eq!(report.units_written, 0);
    assert_eq!(sim.resets, 0);
}

#[test]
fn several_devices_at_once() {
    let (platform, image) = catalog_image("2.2.0", "electron", true);
    let p = plan(&image, platform, false).unwrap();
    let mut sims: Vec<SimulatedFlash> = (0..4)
        .map(|i| {
            let mut s = SimulatedFlash::new(platform.mcu());
            if i % 2 == 1 {
                // Half of them already hold the image.
                s.preload(0x0808_0000, &[0u8; 64]);
            }
            s
        })
        .collect();
    flash(&mut sims[3], &image, platform);
    let reports: Vec<FlashReport> = std::thread::scope(|scope| {
        let handles: Vec<_> = sims
            .iter_mut()
            .map(|sim| {
                let (p, image) = (&p, &image);
                scope.spawn(move || execute(p, image, sim, &options(), &mut |_| {}).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(sims.iter().all(|s| holds(s, &image)));
    assert_eq!(reports[3].units_written, 0);
    assert!(reports[0].units_written > 0);
}

/// A catalog's restore image (with the stand-in MBR) and a blank simulated device of its
/// platform.
fn blank_device(release: &str, name: &str) -> (&'static Platform, MemoryImage, SimulatedFlash) {
    let (platform, image) = catalog_image(release, name, true);
    (platform, image, SimulatedFlash::new(platform.mcu()))
}

/// Flashing `image` (with a chip erase or without) onto `sim`, which must fail: how.
fn failed_run(
    sim: &mut SimulatedFlash,
    image: &MemoryImage,
    platform: &Platform,
    chip_erase: bool,
) -> FlashFailure {
    let p = plan(image, platform, chip_erase).unwrap();
    execute(&p, image, sim, &options(), &mut |_| {}).unwrap_err()
}

/// Flashing `image` (with a chip erase or without) onto `sim` with its bootloader sector
/// write-protected: the failure, which must name that sector.
fn refused_by_protected_bootloader(
    sim: &mut SimulatedFlash,
    image: &MemoryImage,
    platform: &Platform,
    chip_erase: bool,
) -> FlashFailure {
    sim.protected = vec![0x0800_0000];
    let failure = failed_run(sim, image, platform, chip_erase);
    common::assert_starts(
        &failure.error.to_string(),
        "erase unit 0x08000000-0x08004000 is write-protected",
    );
    failure
}

#[test]
fn write_protected_bootloader_sector_is_reported() {
    let (platform, image, mut sim) = blank_device("2.3.1", "electron");
    let failure = refused_by_protected_bootloader(&mut sim, &image, platform, false);
    assert!(matches!(
        failure.error,
        hexsmith::flash::FlashError::Target(TargetError::WriteProtected { .. })
    ));
    assert_eq!(platform.mcu().protected_unit, Some(0x0800_0000));
}

/// A chip erase is refused whole while a unit is write-protected, as an STM32F2 refuses its
/// mass erase (WRPERR): the error names the unit, and nothing is erased or written.
#[test]
fn a_chip_erase_is_refused_while_a_unit_is_protected() {
    let (platform, image) = catalog_image("2.3.1", "electron", true);
    let system = common::segments_from(&image, 0x0800_4000);
    let mut sim = SimulatedFlash::new(platform.mcu());
    sim.preload(0x0800_0000, &[0x12; 16]);
    sim.preload(0x080E_0000, &[0x34; 16]);
    let p = plan(&system, platform, true).unwrap();
    let failure = refused_by_protected_bootloader(&mut sim, &system, platform, true);
    assert_eq!((sim.chip_erases, sim.write_calls), (0, 0));
    assert_eq!(failure.report.units_written, 0);
    assert_eq!(sim.byte(0x080E_0000), Some(0x34), "nothing erased");

    sim.protected.clear();
    execute(&p, &system, &mut sim, &options(), &mut |_| {}).unwrap();
    assert_eq!(sim.chip_erases, 1);
    assert_eq!(sim.byte(0x0800_0000), Some(0xFF));
    assert!(holds(&sim, &system));
}

#[test]
fn device_ids_as_particle_prints_them() {
    let boron = platform::by_name("boron").unwrap();
    let mut sim = SimulatedFlash::new(boron.mcu());
    sim.set_rom(
        0x1000_0060,
        &[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0],
    );
    assert_eq!(
        read_device_id(&mut sim, boron.mcu()).unwrap().unwrap(),
        "e00fce68123456789abcdef0"
    );
    let photon = platform::by_name("photon").unwrap();
    let mut sim = SimulatedFlash::new(photon.mcu());
    sim.set_rom(
        0x1FFF_7A10,
        &[
            0x31, 0x00, 0x2a, 0x00, 0x0b, 0x47, 0x34, 0x35, 0x33, 0x33, 0x35, 0x31,
        ],
    );
    assert_eq!(
        read_device_id(&mut sim, photon.mcu()).unwrap().unwrap(),
        "31002a000b47343533333531"
    );
}

#[test]
fn an_image_outside_flash_is_refused() {
    let boron = platform::by_name("boron").unwrap();
    let mut image = MemoryImage::new();
    image.write(0x0010_0000, &[1, 2, 3]);
    assert_eq!(
        plan(&image, boron, false).unwrap_err(),
        PlanError::OutsideFlash {
            address: 0x0010_0000
        }
    );
}

#[test]
fn commands_that_need_a_probe_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let (_, image) = catalog_hex(dir.path(), "4.0.1", "boron", true);
    let out = hexsmith(dir.path(), &["probes"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "no debug probe attached\n");
    for args in [
        &["flash", "boron.hex"][..],
        &["flash", "--all-probes", "boron.hex"],
        &["read", "--platform", "boron", "-o", "dump.hex"],
        &["inspect", "--probe", "auto", "--platform", "boron"],
    ] {
        refused_for_no_probe(&hexsmith(dir.path(), args), args);
    }
    assert!(!dir.path().join("dump.hex").exists());
    let mut no_mbr = image.clone();
    no_mbr.remove(0, 0x1000);
    std::fs::write(dir.path().join("no-mbr.hex"), hex::write(&no_mbr)).unwrap();
    let out = hexsmith(dir.path(), &["flash", "--chip-erase", "no-mbr.hex"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: refusing --chip-erase: the image has no Nordic MBR"));
}

#[test]
fn reading_a_device_back_gives_what_was_flashed() {
    let (platform, image, mut sim) = blank_device("4.0.1", "boron");
    flash(&mut sim, &image, platform);
    let back = read_device(&mut sim, platform.mcu(), None).unwrap();
    // Whole units come back, erased ones left out: the image's bytes are all there, and
    // the rest of each written unit reads 0xFF.
    assert!(
        image
            .segments()
            .iter()
            .all(|s| back.read(u64::from(s.start), s.data.len()) == Some(&s.data[..]))
    );
    assert_eq!(back.len(), 180 * 0x1000);
    assert!(
        back.read(0xE0000, 1).is_none(),
        "an erased unit is left out"
    );
    let inspected = hexsmith::inspect::inspect_image(&back, hexsmith::inspect::ImageFormat::Swd);
    assert!(inspected.passes(), "{:#?}", inspected.checks);
    assert_eq!(inspected.modules.len(), 4);

    let part = read_device(&mut sim, platform.mcu(), Some((0x30100, 0x30200))).unwrap();
    assert_eq!(part.len(), 0x100);
    assert_eq!(part.read(0x30100, 0x100), image.read(0x30100, 0x100));
}

#[test]
fn a_broken_image_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut image) = catalog_image("4.0.1", "boron", true);
    let byte = image.read(0x40000, 1).unwrap()[0];
    image.write(0x40000, &[!byte]);
    std::fs::write(dir.path().join("corrupt.hex"), hex::write(&image)).unwrap();
    let out = hexsmith(dir.path(), &["flash", "--dry-run", "corrupt.hex"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: corrupt.hex: refusing to write an image that fails its integrity check: system-part 1 at 0x00030000\n"
    );

    // An application alone relies on the Device OS already on the device: a warning.
    let app = read_real("particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin");
    let mut only_app = MemoryImage::new();
    only_app.write(0xD4000, &app);
    std::fs::write(dir.path().join("app.hex"), hex::write(&only_app)).unwrap();
    let out = hexsmith(dir.path(), &["flash", "--dry-run", "app.hex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "warning: app.hex: user-part 1 needs system-part 1 version 326 or later, which the image does not hold: the device must already have it\n"
    );
}

/// Tracker images carry boron's UICR page now (spec section 3, corrected), so one built
/// with `--mbr` may be written after a chip erase; without the page it may not.
#[test]
fn tracker_image_built_with_mbr_survives_a_chip_erase() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mbr.bin"), common::stand_in_mbr()).unwrap();
    for (extra, code) in [(None, 0), (Some("--no-uicr"), 1)] {
        let mut args = vec!["build", "--catalog", "restore-images/4.0.1.toml", "--from"];
        let from = device_os();
        let out_dir = dir.path().join("out");
        args.push(from.to_str().unwrap());
        args.extend(["--out-dir", out_dir.to_str().unwrap(), "--mbr"]);
        let mbr = dir.path().join("mbr.bin");
        args.push(mbr.to_str().unwrap());
        args.extend(extra);
        let out = hexsmith(&repo(), &args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let tracker = out_dir.join("tracker.hex");
        let out = hexsmith(
            dir.path(),
            &[
                "flash",
                "--dry-run",
                "--chip-erase",
                tracker.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(code), "{extra:?}: {}", stderr(&out));
        if code != 0 {
            assert!(stderr(&out).contains("no UICR"), "{}", stderr(&out));
        }
    }
}
