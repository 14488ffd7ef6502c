//! `inspect` on whole images assembled from real modules, as Particle composes its
//! restore images (spec section 3), and on images broken in each way a check must catch.

mod common;

use common::{has_note, hexsmith, read_real, relocated, stand_in_mbr, stderr, stdout};
use hexsmith::inspect::{CheckStatus, ImageFormat, ImageReport, ModuleReport, inspect_image};
use hexsmith::memory::{MemoryImage, hex};
use hexsmith::module::{Module, flash_payload};

fn place(image: &mut MemoryImage, bytes: &[u8]) {
    let m = Module::parse(bytes).unwrap();
    image.write(m.info.start, flash_payload(bytes, &m));
}

/// An image of real modules, each placed at its start address as a restore image holds
/// it; `files` are paths below the Device OS cache.
fn image_of(files: &[&str]) -> MemoryImage {
    let mut img = MemoryImage::new();
    for f in files {
        place(&mut img, &read_real(f));
    }
    img
}

/// The report's first module of this function (`user-part`, `system-part`, ...).
fn module<'r>(r: &'r ImageReport, function: &str) -> &'r ModuleReport {
    r.modules
        .iter()
        .find(|m| m.function == function)
        .unwrap_or_else(|| panic!("no {function} in {:?}", r.modules))
}

fn uicr(words: &[(u32, u32)]) -> Vec<u8> {
    let mut page = vec![0xFF; 4096];
    for (addr, value) in words {
        let at = (addr - 0x1000_1000) as usize;
        page[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }
    page
}

const UICR_DEFAULT: &[(u32, u32)] = &[
    (0x1000_1014, 0xF4000),
    (0x1000_1200, 0x12),
    (0x1000_1204, 0x12),
];

/// A Boron 4.0.1 image the way Particle composes one, with Tinker 0.8.0-rc.27.
fn boron_401(with_mbr: bool) -> MemoryImage {
    let mut img = image_of(&[
        "particle-cli-3.6.0/updates/boron-softdevice@4.0.1.bin",
        "particle-cli-3.6.0/updates/boron-system-part1@4.0.1.bin",
        "particle-cli-3.6.0/updates/boron-bootloader@4.0.1.bin",
        "particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin",
    ]);
    img.write(0x1000_1000, &uicr(UICR_DEFAULT));
    if with_mbr {
        img.write(0, &stand_in_mbr());
    }
    img
}

fn kinds(r: &ImageReport) -> Vec<String> {
    r.regions.iter().map(|x| x.kind.clone()).collect()
}

fn functions(r: &ImageReport) -> Vec<(&str, u32)> {
    r.modules
        .iter()
        .map(|m| (m.function, m.start_address))
        .collect()
}

#[test]
fn boron_restore_image_passes_every_check() {
    let r = inspect_image(&boron_401(true), ImageFormat::Hex);
    assert!(r.passes(), "{:#?}", r.checks);
    assert_eq!(r.platform.as_deref(), Some("boron"));
    assert_eq!(
        functions(&r),
        [
            ("radio-stack", 0x1000),
            ("system-part", 0x30000),
            ("user-part", 0xD4000),
            ("bootloader", 0xF4000)
        ]
    );
    let radio = &r.modules[0];
    assert_eq!(radio.module_version, 202);
    assert_eq!(radio.sha256_ok, Some(true));
    assert_eq!(radio.end_address, 0x1000 + 152_984);
    let system = &r.modules[1];
    let statuses: Vec<_> = system
        .dependencies
        .iter()
        .map(|d| d.status.unwrap())
        .collect();
    assert_eq!(statuses, ["met", "met"]);
    // The stand-in MBR is named for where it is, but not recognised as Nordic's.
    assert_eq!(kinds(&r), ["nordic-mbr", "uicr"]);
    assert!(!r.regions[0].recognized);
    assert!(r.regions[1].recognized, "{}", r.regions[1].what);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    insta::assert_json_snapshot!("boron_401_image", r);
}

#[test]
fn missing_mbr_is_a_warning() {
    let r = inspect_image(&boron_401(false), ImageFormat::Hex);
    assert!(r.passes());
    assert_eq!(r.warnings, [hexsmith::inspect::ImageWarning::NoNordicMbr]);
    assert!(
        r.warnings[0]
            .to_string()
            .contains("must never be written after a full chip erase")
    );
}

/// A device dump holds erased flash around its modules: named as such and no warning; any
/// other stray byte stays unknown.
#[test]
fn erased_flash_beside_modules_is_named_and_other_bytes_stay_unknown() {
    let mut img = boron_401(true);
    img.write(0x000A_FF00, &[0xFF; 0x100]);
    let r = inspect_image(&img, ImageFormat::Hex);
    assert!(r.passes());
    let erased = r.regions.iter().find(|x| x.start == 0x000A_FF00).unwrap();
    assert_eq!((erased.kind.as_str(), erased.recognized), ("erased", true));
    img.write(0x000A_FF80, &[0x00]);
    let r = inspect_image(&img, ImageFormat::Hex);
    let stray: Vec<_> = r
        .regions
        .iter()
        .filter(|x| (0x000A_FF00..0x000B_0000).contains(&x.start))
        .collect();
    assert!(
        stray.iter().all(|x| x.kind == "unknown" && !x.recognized),
        "{stray:?}"
    );
}

#[test]
fn published_stray_suffix_bytes_are_named() {
    let mut img = boron_401(true);
    let sd = read_real("particle-cli-3.6.0/updates/boron-softdevice@4.0.1.bin");
    let suffix_start = sd.len() - 4 - 36;
    img.write(0x1000 + 152_984, &sd[suffix_start..suffix_start + 4]);
    let r = inspect_image(&img, ImageFormat::Hex);
    assert!(r.passes());
    assert!(
        kinds(&r).contains(&"radio-stack-suffix-remnant".to_string()),
        "{:?}",
        kinds(&r)
    );
    assert!(
        r.regions
            .iter()
            .all(|x| x.recognized || x.kind == "nordic-mbr")
    );
}

#[test]
fn unmet_user_part_dependency_fails_the_dependencies_check() {
    // Tinker 6.3.4 needs system module 6305; an E-SoM-X 4.0.1 image has 4005.
    let img = image_of(&[
        "particle-cli-3.6.0/updates/esomx-softdevice@4.0.1.bin",
        "particle-cli-3.6.0/updates/esomx-system-part1@4.0.1.bin",
        "particle-cli-3.6.0/updates/esomx-bootloader@4.0.1.bin",
        "particle-cli-3.51.0/knownApps/esomx/tinker/tinker-6.3.4-esomx.bin",
    ]);
    let r = inspect_image(&img, ImageFormat::Hex);
    assert_eq!(r.checks.dependencies, CheckStatus::Fail);
    assert_eq!(r.checks.integrity, CheckStatus::Pass);
    assert_eq!(r.checks.range, CheckStatus::Pass);
    let user = module(&r, "user-part");
    assert_eq!(user.dependencies[0].version, 6305);
    assert_eq!(user.dependencies[0].status, Some("unmet"));
}

#[test]
fn tracker_ncp_dependency_is_not_checkable_and_not_a_failure() {
    let img = image_of(&[
        "particle-cli-3.6.0/updates/tracker-softdevice@4.0.1.bin",
        "particle-cli-3.6.0/updates/tracker-system-part1@4.0.1.bin",
        "particle-cli-3.6.0/updates/tracker-bootloader@4.0.1.bin",
    ]);
    let r = inspect_image(&img, ImageFormat::Hex);
    assert!(r.passes(), "{:#?}", r.checks);
    let system = module(&r, "system-part");
    let ncp = system
        .dependencies
        .iter()
        .find(|d| d.function == "ncp")
        .unwrap();
    assert_eq!(ncp.status, Some("not-checkable"));
}

#[test]
fn corrupted_module_fails_integrity() {
    let mut img = boron_401(true);
    let at = 0x40000;
    let byte = img.read(at, 1).unwrap()[0];
    img.write(at as u32, &[byte ^ 0x01]);
    let r = inspect_image(&img, ImageFormat::Hex);
    assert_eq!(r.checks.integrity, CheckStatus::Fail);
    let system = module(&r, "system-part");
    assert_eq!(
        (system.crc_ok, system.sha256_ok),
        (Some(false), Some(false))
    );
}

#[test]
fn corrupted_radio_stack_fails_integrity() {
    let mut img = boron_401(true);
    let byte = img.read(0x20000, 1).unwrap()[0];
    img.write(0x20000, &[!byte]);
    let r = inspect_image(&img, ImageFormat::Hex);
    assert_eq!(r.checks.integrity, CheckStatus::Fail);
    assert_eq!(r.modules[0].sha256_ok, Some(false));
}

#[test]
fn modules_of_two_platforms_fail_the_platform_check() {
    let mut img = boron_401(true);
    place(
        &mut img,
        &read_real("particle-cli-3.6.0/updates/argon-bootloader@4.0.1.bin"),
    );
    let r = inspect_image(&img, ImageFormat::Hex);
    assert_eq!(r.checks.platform, CheckStatus::Fail);
}

#[test]
fn overlapping_modules_fail_the_range_check() {
    // A 1.5.2 Boron system part reaches 0xCF710; an application at 0xB4000 overlaps it.
    let mut img = image_of(&[
        "particle-cli-2.6.0/updates/boron-softdevice@1.5.2.bin",
        "particle-cli-2.6.0/updates/boron-system-part1@1.5.2.bin",
        "particle-cli-2.6.0/updates/boron-bootloader@1.5.2.bin",
    ]);
    let tinker =
        read_real("particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin");
    place(&mut img, &relocated(&tinker, 0xC0000));
    let r = inspect_image(&img, ImageFormat::Hex);
    assert_eq!(r.checks.range, CheckStatus::Fail);
    // In one memory image the later write wins, so the system part is damaged too.
    assert_eq!(r.checks.integrity, CheckStatus::Fail);
    let user = module(&r, "user-part");
    assert!(
        user.notes
            .iter()
            .any(|n| n.starts_with("overlaps system-part 1")),
        "{:?}",
        user.notes
    );
}

#[test]
fn module_outside_its_slot_fails_the_range_check() {
    let mut img = boron_401(true);
    let tinker =
        read_real("particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin");
    // Inside the bootloader's slot: overlaps it and lies outside the user-part slot.
    place(&mut img, &relocated(&tinker, 0xF8000));
    let r = inspect_image(&img, ImageFormat::Hex);
    assert_eq!(r.checks.range, CheckStatus::Fail);
}

#[test]
fn radio_stack_written_with_its_prefix_is_caught() {
    let mut img = MemoryImage::new();
    let sd = read_real("particle-cli-3.6.0/updates/boron-softdevice@4.0.1.bin");
    img.write(0x1000, &sd);
    let r = inspect_image(&img, ImageFormat::Hex);
    assert_eq!(r.checks.range, CheckStatus::Fail);
    assert!(
        has_note(&r.modules[0].notes, "must be dropped"),
        "{:?}",
        r.modules[0].notes
    );
}

#[test]
fn gen2_electron_image_passes() {
    let img = image_of(&[
        "particle-cli-3.6.0/updates/electron-bootloader@2.3.1+lto.bin",
        "particle-cli-3.6.0/updates/electron-system-part1@2.3.1.bin",
        "particle-cli-3.6.0/updates/electron-system-part2@2.3.1.bin",
        "particle-cli-3.6.0/updates/electron-system-part3@2.3.1.bin",
        "particle-cli-3.51.0/knownApps/electron/tinker/electron_tinker.bin",
    ]);
    let r = inspect_image(&img, ImageFormat::Hex);
    assert!(r.passes(), "{:#?}", r.modules);
    assert_eq!(r.modules.len(), 5);
    assert!(r.regions.is_empty());
    assert!(r.warnings.is_empty());
}

#[test]
fn rtl872x_user_part_is_found_and_checked() {
    let img = image_of(&["particle-cli-3.51.0/knownApps/msom/tinker/tinker-6.3.4-msom.bin"]);
    let r = inspect_image(&img, ImageFormat::Hex);
    assert_eq!(r.platform.as_deref(), Some("msom"));
    assert_eq!(r.checks.range, CheckStatus::Pass);
    assert_eq!(r.checks.integrity, CheckStatus::Pass);
    // No system part in the image, so the user part's dependency is unmet.
    assert_eq!(r.checks.dependencies, CheckStatus::Fail);
}

#[test]
fn cli_reads_hex_files_and_sets_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("boron.hex");
    std::fs::write(&good, hex::write(&boron_401(true))).unwrap();
    let out = hexsmith(dir.path(), &["inspect", "boron.hex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!("boron_401_image_text", stdout(&out));

    // Published images are lower case with LF; CRLF must read too.
    let lower_crlf = hex::write(&boron_401(true))
        .to_lowercase()
        .replace('\n', "\r\n");
    std::fs::write(dir.path().join("lower.hex"), lower_crlf).unwrap();
    let out = hexsmith(dir.path(), &["inspect", "--json", "lower.hex"]);
    assert_eq!(out.status.code(), Some(0));

    let mut broken = boron_401(true);
    place(
        &mut broken,
        &read_real("particle-cli-3.6.0/updates/argon-bootloader@4.0.1.bin"),
    );
    std::fs::write(dir.path().join("mixed.hex"), hex::write(&broken)).unwrap();
    let out = hexsmith(dir.path(), &["inspect", "--json", "mixed.hex"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["checks"]["platform"], "fail");
    assert_eq!(v["kind"], "image");
}

#[test]
fn elf_files_are_read_at_their_load_addresses() {
    let tinker =
        read_real("particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin");
    let elf = minimal_elf(0xD4000, &tinker);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.elf"), &elf).unwrap();
    let out = hexsmith(dir.path(), &["inspect", "--json", "app.elf"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["format"], "elf");
    assert_eq!(v["modules"][0]["function"], "user-part");
    assert_eq!(v["modules"][0]["start_address"], 0xD4000);
    assert_eq!(v["checks"]["integrity"], "pass");
}

/// An ELF32 little-endian ARM executable with one PT_LOAD segment whose physical address
/// is `paddr` (its virtual address deliberately differs, as in RAM-copied sections).
pub fn minimal_elf(paddr: u32, data: &[u8]) -> Vec<u8> {
    let mut e = Vec::new();
    e.extend_from_slice(b"\x7fELF\x01\x01\x01\0\0\0\0\0\0\0\0\0");
    let u16le = |v: u16| v.to_le_bytes();
    let u32le = |v: u32| v.to_le_bytes();
    e.extend_from_slice(&u16le(2)); // ET_EXEC
    e.extend_from_slice(&u16le(40)); // EM_ARM
    e.extend_from_slice(&u32le(1));
    e.extend_from_slice(&u32le(paddr)); // entry
    e.extend_from_slice(&u32le(52)); // phoff
    e.extend_from_slice(&u32le(0)); // shoff
    e.extend_from_slice(&u32le(0x0500_0000)); // flags
    e.extend_from_slice(&u16le(52)); // ehsize
    e.extend_from_slice(&u16le(32)); // phentsize
    e.extend_from_slice(&u16le(1)); // phnum
    e.extend_from_slice(&u16le(40)); // shentsize
    e.extend_from_slice(&u16le(0)); // shnum
    e.extend_from_slice(&u16le(0)); // shstrndx
    let offset = 52 + 32;
    e.extend_from_slice(&u32le(1)); // PT_LOAD
    e.extend_from_slice(&u32le(offset));
    e.extend_from_slice(&u32le(0x2000_0000)); // vaddr
    e.extend_from_slice(&u32le(paddr));
    e.extend_from_slice(&u32le(data.len() as u32)); // filesz
    e.extend_from_slice(&u32le(data.len() as u32 + 256)); // memsz (bss beyond)
    e.extend_from_slice(&u32le(5));
    e.extend_from_slice(&u32le(4));
    e.extend_from_slice(data);
    e
}

/// Bytes without a module: the report says so in the warning, and in the same sentence
/// `inspect` has always printed.
#[test]
fn an_image_without_modules_warns_of_it() {
    let mut img = MemoryImage::new();
    img.write(0x0003_0000, &[0xA5; 256]);
    let r = inspect_image(&img, ImageFormat::Hex);
    assert_eq!(r.warnings, [hexsmith::inspect::ImageWarning::NoModule]);
    assert_eq!(
        serde_json::to_value(&r).unwrap()["warnings"],
        serde_json::json!(["no Particle module found"])
    );
    assert_eq!(serde_json::to_value(&r).unwrap()["format"], "hex");
}
