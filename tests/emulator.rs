//! SWD programming on emulated silicon: probe-rs's own attach, `FlashLoader` and the real
//! nRF52840 and STM32F2 flash algorithms (executed by the emulated core, as is hexsmith's
//! checksum routine) against the emulated chip, for every flash scenario. Every test
//! checks that no write broke NOR rules (programming only clears bits).

mod common;

use common::emulated::{holds, locked_nrf52840, protected_stm32f205, run_on};
use common::{
    assert_says, catalog_hex, catalog_image, hexsmith, read_real, relocated, stderr, stdout,
    write_hex,
};
use hexsmith::compose::ModuleInput;
use hexsmith::compose::replace::{ReplaceOptions, replace_user};
use hexsmith::flash::emulator::{Chip, EmulatedDevice, NorViolation};
use hexsmith::flash::probe::{Connect, ProbeTarget};
use hexsmith::flash::{
    EraseUnit, Event, FlashOptions, FlashPlan, FlashReport, FlashTarget, PlanOptions, TargetError,
    execute, read_device_id,
};
use hexsmith::memory::MemoryImage;
use hexsmith::platform::Platform;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The Boron image with a new customer application: Tinker's code linked at another
/// address, so every byte of the application differs.
fn with_customer_app(image: &MemoryImage) -> MemoryImage {
    let tinker =
        read_real("particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin");
    let app = ModuleInput::from_bytes("app.bin", relocated(&tinker, 0xB4000)).unwrap();
    replace_user("boron", image, &app, ReplaceOptions::default())
        .unwrap()
        .image
}

fn connect(device: &EmulatedDevice, platform: &Platform, chip_erase: bool) -> ProbeTarget {
    let mcu = platform.mcu();
    ProbeTarget::connect(
        &Connect::to_chip(mcu.chip.clone().unwrap())
            .with_emulate(Some(device.clone()))
            .with_under_reset(mcu.attach_under_reset)
            .with_allow_erase_all(chip_erase),
    )
    .unwrap_or_else(|e| panic!("{e}; core faults {:?}", device.core_faults()))
}

fn options(cancel: Option<Arc<AtomicBool>>) -> FlashOptions {
    FlashOptions::default()
        .with_verify(true)
        .with_reset(true)
        .with_cancel(cancel)
        .with_batch_units(16)
}

fn flash(device: &EmulatedDevice, platform: &Platform, image: &MemoryImage) -> FlashReport {
    let mut target = connect(device, platform, false);
    let plan = FlashPlan::new(image, platform, platform.mcu(), PlanOptions::default()).unwrap();
    execute(&plan, image, &mut target, &options(None), &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}; core faults {:?}", device.core_faults()))
}

fn clean(device: &EmulatedDevice) {
    assert_eq!(device.nor_violations(), Vec::<NorViolation>::new());
    assert_eq!(device.core_faults(), Vec::<String>::new());
}

#[test]
fn nrf52840_flash_again_and_a_new_application() {
    let (platform, image) = catalog_image("4.0.1", "boron", true);
    let id = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0];
    let device = EmulatedDevice::blank(Chip::Nrf52840, &id);

    let mut target = connect(&device, platform, false);
    let shown = read_device_id(&mut target, platform.mcu()).unwrap();
    assert_eq!(shown.as_deref(), Some("e00fce68123456789abcdef0"));
    drop(target);

    let first = flash(&device, platform, &image);
    assert!(first.verified && first.units_written > 0 && first.units_skipped == 0);
    assert!(holds(&device, &image));
    let wire = first.wire.as_ref().expect("an emulated device counts");
    // Loaded once for the device, though written in batches (Ctrl-C is seen between them).
    assert!(first.units_written > 16);
    assert_eq!(wire.algorithm_loads, 1);
    assert!(wire.transfers > 0);
    // Runs of 0xFF words on the erased pages are not programmed; every other word is.
    let words = image
        .segments()
        .iter()
        .flat_map(|s| s.data.chunks(4))
        .filter(|w| w.iter().any(|b| *b != 0xFF))
        .count() as u64;
    assert!(
        4 * words <= wire.bytes_programmed && wire.bytes_programmed < first.bytes_written,
        "{} bytes programmed, {} in the image's words, {} in the units",
        wire.bytes_programmed,
        4 * words,
        first.bytes_written
    );

    // The same image again: nothing written, only checksums on the wire.
    device.reset_counts();
    let again = flash(&device, platform, &image);
    assert_eq!(
        (again.units_written, again.units_skipped),
        (0, first.units_written)
    );
    let counts = device.counts();
    assert_eq!(counts.algorithm_loads, 0);
    assert_eq!(counts.bytes_programmed + counts.bytes_erased, 0);
    assert!(counts.transfers * 10 < wire.transfers, "{counts:?}");

    // A new application on the same Device OS: only its units.
    let updated = with_customer_app(&image);
    let report = flash(&device, platform, &updated);
    assert!(report.units_written > 0 && report.verified);
    for [start, end] in &report.written {
        assert!(*start >= 0xB4000 && *end <= 0xF4000, "{start:#x}-{end:#x}");
    }
    assert!(holds(&device, &updated));
    clean(&device);
}

/// Another Device OS release over one: erasing the chip (ERASEALL, 169 ms) and programming
/// everything again is quicker than erasing the pages that changed (85 ms each), and
/// loses nothing when the device holds nothing outside the image, so it is chosen. With
/// a page outside the image programmed, the pages are erased one by one and it is kept.
#[test]
fn another_release_goes_after_a_chip_erase_when_quicker_and_nothing_is_lost() {
    let (platform, old) = catalog_image("4.0.1", "boron", true);
    let (_, new) = catalog_image("4.0.2", "boron", true);
    let id = [0x12; 8];
    let device = EmulatedDevice::blank(Chip::Nrf52840, &id);
    assert!(!flash(&device, platform, &old).chip_erased);
    device.reset_counts();
    let report = flash(&device, platform, &new);
    assert!(report.chip_erased && report.verified, "{report:?}");
    assert_eq!(report.units_skipped, 0);
    assert!(holds(&device, &new));
    assert_eq!(device.counts().algorithm_loads, 1);
    clean(&device);

    // A page the new image leaves alone, programmed on the device.
    let geometry = hexsmith::flash::Geometry::of(platform.mcu());
    let free = geometry
        .units()
        .iter()
        .find(|u| {
            new.segments()
                .iter()
                .all(|s| s.end() <= u64::from(u.start) || u64::from(s.start) >= u.end)
        })
        .copied()
        .expect("a page outside the image");
    let mut kept = old.clone();
    kept.write(free.start, b"the customer's data, outside the image");
    let device = EmulatedDevice::blank(Chip::Nrf52840, &id);
    flash(&device, platform, &kept);
    let report = flash(&device, platform, &new);
    assert!(!report.chip_erased && report.verified, "{report:?}");
    assert!(holds(&device, &new));
    assert_eq!(
        device.peek(free.start, 38),
        b"the customer's data, outside the image"
    );
    clean(&device);

    // Asked not to choose, it erases pages.
    let device = EmulatedDevice::blank(Chip::Nrf52840, &id);
    flash(&device, platform, &old);
    let mut target = connect(&device, platform, false);
    let unchosen = PlanOptions::default().with_choose_chip_erase(false);
    let plan = FlashPlan::new(&new, platform, platform.mcu(), unchosen).unwrap();
    let report = execute(&plan, &new, &mut target, &options(None), &mut |_| {}).unwrap();
    assert!(
        !report.chip_erased && report.units_skipped > 0,
        "{report:?}"
    );
    assert!(holds(&device, &new));
}

#[test]
fn stm32f2_attached_under_reset_flash_and_again() {
    let (platform, image) = catalog_image("2.3.1", "photon", false);
    assert!(platform.mcu().attach_under_reset);
    let uid: Vec<u8> = (1..=12).collect();
    let device = EmulatedDevice::blank(Chip::Stm32f205, &uid);
    let mut target = connect(&device, platform, false);
    let shown = read_device_id(&mut target, platform.mcu()).unwrap();
    assert_eq!(shown, Some(::hex::encode(&uid)));
    drop(target);

    let first = flash(&device, platform, &image);
    assert!(first.verified && first.units_written > 0);
    assert!(holds(&device, &image));
    let again = flash(&device, platform, &image);
    assert_eq!(again.units_written, 0);
    assert_eq!(
        again.wire.unwrap().algorithm_loads,
        first.wire.unwrap().algorithm_loads
    );
    clean(&device);
}

/// Write protection is the attached chip's to answer: the STM32F2's sector 0 address asked
/// of an nRF52840 (as an RTL872x's first unit would be) is neither protected nor
/// unprotectable, and nothing reaches the chip; an STM32F2 answers for its own sector 0.
#[test]
fn write_protection_is_answered_by_the_chip_attached() {
    let sector0 = EraseUnit {
        start: 0x0800_0000,
        end: 0x0800_4000,
        erase_ms: 0,
    };
    let boron = hexsmith::platform::by_name("boron").unwrap();
    let nrf = EmulatedDevice::without_state(Chip::Nrf52840);
    let mut target = connect(&nrf, boron, false);
    nrf.reset_counts();
    assert!(!target.is_write_protected(sector0).unwrap());
    assert!(matches!(
        target.clear_write_protection(sector0),
        Err(TargetError::ProtectionUnsupported(0x0800_0000))
    ));
    assert_eq!(nrf.counts().transfers, 0);
    drop(target);

    let photon = hexsmith::platform::by_name("photon").unwrap();
    let stm = EmulatedDevice::without_state(Chip::Stm32f205);
    stm.protect_stm32_sectors(1);
    let mut target = connect(&stm, photon, false);
    assert!(target.is_write_protected(sector0).unwrap());
    target.clear_write_protection(sector0).unwrap();
    assert!(!target.is_write_protected(sector0).unwrap());
    clean(&nrf);
    clean(&stm);
}

#[test]
fn chip_erase_needs_mbr_and_uicr_and_clears_the_rest() {
    let (platform, image) = catalog_image("4.0.1", "boron", true);
    let device = EmulatedDevice::blank(Chip::Nrf52840, &[7; 8]);
    // An application the image does not carry where it starts: only a chip erase removes it.
    flash(&device, platform, &with_customer_app(&image));
    let stray = device.peek(0xB4000, 16);
    assert_ne!(stray, vec![0xFF; 16]);

    let plan = FlashPlan::new(
        &image,
        platform,
        platform.mcu(),
        PlanOptions::default().with_chip_erase(true),
    )
    .unwrap();
    let mut target = connect(&device, platform, true);
    let report = execute(&plan, &image, &mut target, &options(None), &mut |_| {}).unwrap();
    assert!(report.verified);
    assert!(holds(&device, &image));
    assert!(image.read(0xB4000, 16).is_none());
    assert_eq!(device.peek(0xB4000, 16), vec![0xFF; 16]);
    clean(&device);

    let (_, without_mbr) = catalog_image("4.0.1", "boron", false);
    assert!(
        FlashPlan::new(
            &without_mbr,
            platform,
            platform.mcu(),
            PlanOptions::default().with_chip_erase(true)
        )
        .is_err()
    );
}

#[test]
fn an_interrupted_flash_is_finished_by_a_rerun() {
    let (platform, image) = catalog_image("4.0.1", "boron", true);
    let device = EmulatedDevice::blank(Chip::Nrf52840, &[3; 8]);
    let cancel = Arc::new(AtomicBool::new(false));
    let mut target = connect(&device, platform, false);
    let plan = FlashPlan::new(&image, platform, platform.mcu(), PlanOptions::default()).unwrap();
    let stop = cancel.clone();
    let first = execute(
        &plan,
        &image,
        &mut target,
        &options(Some(cancel)),
        &mut |e| {
            if matches!(e, Event::Written { .. }) {
                stop.store(true, Ordering::SeqCst);
            }
        },
    )
    .unwrap();
    drop(target);
    assert!(first.interrupted && first.units_written > 0);
    assert!(!holds(&device, &image));

    let rest = flash(&device, platform, &image);
    assert_eq!(rest.units_skipped, first.units_written);
    assert_eq!(rest.units_written + first.units_written, plan.units.len());
    assert!(rest.verified && holds(&device, &image));
    clean(&device);
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(out)))
}

#[test]
fn the_command_line_flashes_a_state_file_that_inspect_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (_, boron) = catalog_hex(dir.path(), "4.0.1", "boron", true);
    let args = [
        "flash",
        "--emulate",
        "nRF52840_xxAA",
        "--emulate-state",
        "dev.hex",
        "--json",
        "--log",
        "log.jsonl",
        "boron.hex",
    ];
    let first = hexsmith(dir.path(), &args);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let doc = json(&first);
    let device = &doc["devices"][0];
    assert_eq!(device["result"], "ok");
    assert_eq!(device["report"]["verified"], true);
    assert!(device["report"]["wire"]["transfers"].as_u64().unwrap() > 0);
    assert!(
        device["report"]["wire"]["algorithm_loads"]
            .as_u64()
            .unwrap()
            >= 1
    );
    let id = device["device_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("e00fce68") && id.len() == 24, "{id}");
    assert!(stderr(&first).contains(&id), "the device ID is shown");

    let inspected = hexsmith(dir.path(), &["inspect", "dev.hex"]);
    assert_eq!(inspected.status.code(), Some(0), "{}", stdout(&inspected));
    assert!(stdout(&inspected).contains("boron"));

    let again = hexsmith(dir.path(), &args);
    let doc = json(&again);
    assert_eq!(
        doc["devices"][0]["device_id"],
        id.as_str(),
        "one device per state file"
    );
    assert_eq!(doc["devices"][0]["report"]["units_written"], 0);
    assert_eq!(doc["devices"][0]["report"]["wire"]["algorithm_loads"], 0);

    // One log line per attempt, each a JSON object about this device and image.
    let log = std::fs::read_to_string(dir.path().join("log.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        assert_eq!(line["device_id"], id.as_str());
        assert_eq!(line["result"], "ok");
        assert_eq!(line["chip"], "nRF52840_xxAA");
        assert_eq!(line["image_sha256"], ::hex::encode(boron.sha256()));
    }

    // The photon, on its STM32F205RG, the same way.
    catalog_hex(dir.path(), "2.3.1", "photon", false);
    let out = run_on(dir.path(), "STM32F205RG", "p.hex", &["flash", "photon.hex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let inspected = hexsmith(dir.path(), &["inspect", "p.hex"]);
    assert_eq!(inspected.status.code(), Some(0), "{}", stdout(&inspected));
    assert!(stdout(&inspected).contains("photon"));
}

#[test]
fn a_locked_nrf52840_is_refused_unless_recovered() {
    let dir = tempfile::tempdir().unwrap();
    catalog_hex(dir.path(), "4.0.1", "boron", true);
    locked_nrf52840(&dir.path().join("locked.hex"));
    let run = |args: &[&str]| run_on(dir.path(), "nRF52840_xxAA", "locked.hex", args);
    let refused = run(&["flash", "boron.hex"]);
    assert_ne!(refused.status.code(), Some(0));
    // The result line says why, as for any device that failed.
    let message = stdout(&refused);
    assert!(message.contains("locked"), "{message}");
    assert!(message.contains("Device Protection"), "{message}");
    assert!(message.contains("--recover") && message.contains("erases the whole chip"));

    let recovered = run(&["flash", "--recover", "boron.hex"]);
    assert_eq!(recovered.status.code(), Some(0), "{}", stderr(&recovered));
    let inspected = hexsmith(dir.path(), &["inspect", "locked.hex"]);
    assert_eq!(inspected.status.code(), Some(0), "{}", stdout(&inspected));
}

#[test]
fn a_protected_gen2_bootloader_is_refused_or_unprotected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, photon) = catalog_hex(dir.path(), "2.3.1", "photon", false);
    protected_stm32f205(&dir.path().join("p.hex"), 1);
    let after = refused_until_unprotected(
        dir.path(),
        &["flash"],
        "photon.hex",
        "--unprotect-bootloader",
    );
    assert!(holds(&after, &photon));
}

/// `erase --all --erase-device-keys` on the emulated STM32F205 of `p.hex`: a Gen 2 chip
/// erase that may take the keys.
fn erase_all_keys_too(dir: &Path) -> std::process::Output {
    let args = [
        "erase",
        "--all",
        "--erase-device-keys",
        "--platform",
        "photon",
    ];
    run_on(dir, "STM32F205RG", "p.hex", &args)
}

/// `ARGS FILE` on the emulated STM32F205 of `p.hex` is refused, its result saying `why`;
/// with `--unprotect-bootloader` it goes through. The device as that left it.
fn refused_until_unprotected(dir: &Path, args: &[&str], file: &str, why: &str) -> EmulatedDevice {
    let run = |extra: &[&str]| run_on(dir, "STM32F205RG", "p.hex", &[args, extra].concat());
    let refused = run(&[file]);
    assert_ne!(refused.status.code(), Some(0));
    assert_says(&stdout(&refused), why);
    let done = run(&["--unprotect-bootloader", file]);
    assert_eq!(done.status.code(), Some(0), "{}", stdout(&done));
    EmulatedDevice::open(Chip::Stm32f205, &dir.join("p.hex")).unwrap()
}

/// An STM32F2 refuses a mass erase while a sector is write-protected and probe-rs's flash
/// algorithm says nothing of it: `erase --all` names the sector and leaves the device as
/// it was, and `flash --chip-erase` is refused, or goes through with
/// `--unprotect-bootloader`.
#[test]
fn a_chip_erase_of_a_protected_stm32f2_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (platform, photon) = catalog_image("2.3.1", "photon", false);
    let system = common::segments_from(&photon, 0x0800_4000);
    write_hex(dir.path(), "system.hex", &system);
    let state = dir.path().join("p.hex");
    let device = EmulatedDevice::open(Chip::Stm32f205, &state).unwrap();
    flash(&device, platform, &photon);
    device.protect_stm32_sectors(1);
    device.save().unwrap();

    let erase = erase_all_keys_too(dir.path());
    assert_ne!(erase.status.code(), Some(0), "{}", stdout(&erase));
    assert_says(
        &stderr(&erase),
        "erase unit 0x08000000-0x08004000 is write-protected",
    );
    let after = EmulatedDevice::open(Chip::Stm32f205, &state).unwrap();
    assert!(holds(&after, &photon), "nothing erased");

    let after = refused_until_unprotected(
        dir.path(),
        &["flash", "--chip-erase", "--erase-device-keys"],
        "system.hex",
        "--chip-erase: the bootloader sector 0x08000000 is write-protected",
    );
    assert!(holds(&after, &system));
    assert!(
        after.peek(0x0800_0000, 16).iter().all(|b| *b == 0xFF),
        "the chip was erased"
    );
    clean(&after);
}

#[test]
fn all_probes_writes_to_several_emulated_devices() {
    let dir = tempfile::tempdir().unwrap();
    let (_, photon) = catalog_hex(dir.path(), "2.3.1", "photon", false);
    let out = hexsmith(
        dir.path(),
        &[
            "flash",
            "--emulate",
            "STM32F205RG",
            "--emulate-state",
            "a.hex",
            "--emulate-state",
            "b.hex",
            "--all-probes",
            "--json",
            "photon.hex",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    let devices = doc["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert!(devices.iter().all(|d| d["result"] == "ok"));
    assert_ne!(devices[0]["device_id"], devices[1]["device_id"]);
    for name in ["a.hex", "b.hex"] {
        let device = EmulatedDevice::open(Chip::Stm32f205, &dir.path().join(name)).unwrap();
        assert!(holds(&device, &photon));
    }
}

/// A Gen 2 chip erase would wipe the DCT and EEPROM emulation (the device's keys,
/// settings, the application's EEPROM data), which no image puts back: `flash
/// --chip-erase` (a dry run too) and `erase --all` refuse, naming the range and the flag,
/// and touch nothing; with `--erase-device-keys` the erase goes through.
#[test]
fn a_gen2_chip_erase_does_not_lose_the_device_keys_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (platform, photon) = catalog_hex(dir.path(), "2.3.1", "photon", false);
    let device = EmulatedDevice::blank(Chip::Stm32f205, &[7; 12]);
    flash(&device, platform, &photon);
    let mut state = device.nvm_image();
    let keys: Vec<u8> = (0..0x400u32).map(|i| (i * 7 + 1) as u8).collect();
    state.write(0x0800_4000, &keys);
    write_hex(dir.path(), "p.hex", &state);
    let held = || {
        EmulatedDevice::open(Chip::Stm32f205, &dir.path().join("p.hex"))
            .unwrap()
            .nvm_image()
    };
    let before = held();

    for command in [
        &["flash", "--chip-erase", "photon.hex"][..],
        &["flash", "--chip-erase", "--dry-run", "photon.hex"][..],
        &["erase", "--all", "--platform", "photon"][..],
    ] {
        let out = run_on(dir.path(), "STM32F205RG", "p.hex", command);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {}", stderr(&out));
        let message = stderr(&out);
        assert!(
            message.contains("0x08004000-0x08020000")
                && message.contains("keys")
                && message.contains("--erase-device-keys"),
            "{message}"
        );
        assert!(held() == before, "{command:?} touched the device");
    }

    let out = erase_all_keys_too(dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let after = EmulatedDevice::open(Chip::Stm32f205, &dir.path().join("p.hex")).unwrap();
    assert!(after.peek(0x0800_4000, 0x400).iter().all(|b| *b == 0xFF));
}
