//! `replace-user` must give exactly the image `build` makes from the same modules, for
//! every family, with applications shortened, lengthened and moved (real Tinker binaries,
//! edited and re-sealed), and refuse what would not work.

mod common;

use common::{
    build_catalog, device_os, hexsmith, read_real, region_kinds, repo, stand_in_mbr_input, stderr,
    stdout, succeeds,
};
use hexsmith::compose::catalog::{Catalog, FileIndex, collect};
use hexsmith::compose::replace::{ReplaceOptions, replace_user};
use hexsmith::compose::{BuildOptions, ModuleInput, build};
use hexsmith::memory::{MemoryImage, hex};
use hexsmith::module::{ExtensionKind, Module, ModuleFunction, seal};

/// A copy of an application with its payload cut or grown to `payload_len` bytes and its
/// start moved to `start`, re-sealed so that it verifies.
fn variant(app: &[u8], start: u32, payload_len: usize) -> Vec<u8> {
    let m = Module::parse(app).unwrap();
    assert_eq!(m.prefix_offset, 0, "user parts carry their prefix first");
    let suffix_len = usize::from(m.suffix.size);
    let body = &app[24..app.len() - 4 - suffix_len];
    let mut suffix = app[app.len() - 4 - suffix_len..app.len() - 4].to_vec();
    let new_body: Vec<u8> = body.iter().copied().cycle().take(payload_len).collect();
    let end = start + (24 + payload_len + suffix_len) as u32;
    let mut out = app[..24].to_vec();
    out[0..4].copy_from_slice(&start.to_le_bytes());
    out[4..8].copy_from_slice(&end.to_le_bytes());
    // Keep the dynamic-location extension (RTL872x) pointing at the module's start.
    if let Some(ext) = m
        .suffix
        .extensions
        .iter()
        .find(|e| e.kind == ExtensionKind::DynamicLocation)
    {
        let at = ext.offset + 4 - (app.len() - 4 - suffix_len);
        suffix[at..at + 4].copy_from_slice(&start.to_le_bytes());
    }
    out.extend_from_slice(&new_body);
    out.extend_from_slice(&suffix);
    out.extend_from_slice(&[0; 4]);
    seal(&mut out).unwrap();
    out
}

fn input(name: &str, bytes: Vec<u8>) -> ModuleInput {
    ModuleInput::from_bytes(name, bytes).unwrap()
}

fn options(allow_safe_mode: bool) -> BuildOptions {
    BuildOptions::default()
        .with_mbr(Some(stand_in_mbr_input()))
        .with_allow_safe_mode(allow_safe_mode)
}

/// Checks replace-user against build for one base composition and a set of applications.
fn check_family(
    label: &str,
    others: &[ModuleInput],
    original: &ModuleInput,
    apps: &[(String, Vec<u8>)],
    safe: bool,
) {
    let mut with_original = others.to_vec();
    with_original.push(original.clone());
    let base = build(with_original, &options(safe)).unwrap().image;
    for (name, app) in apps {
        let app = input(name, app.clone());
        let replaced = replace_user(
            "base.hex",
            &base,
            &app,
            ReplaceOptions::default().with_allow_safe_mode(safe),
        )
        .unwrap_or_else(|e| panic!("{label} {name}: {e}"));
        let mut with_app = others.to_vec();
        with_app.push(app.clone());
        let fresh = build(with_app, &options(safe)).unwrap().image;
        assert_images_equal(&replaced.image, &fresh, &format!("{label} {name}"));
        // And a second replacement on the result, back to the original.
        let back = replace_user(
            "r.hex",
            &replaced.image,
            original,
            ReplaceOptions::default().with_allow_safe_mode(safe),
        )
        .unwrap();
        assert_images_equal(&back.image, &base, &format!("{label} {name} and back"));
    }
}

fn assert_images_equal(a: &MemoryImage, b: &MemoryImage, label: &str) {
    if a == b {
        return;
    }
    let sa: Vec<(u32, u64)> = a.segments().iter().map(|s| (s.start, s.end())).collect();
    let sb: Vec<(u32, u64)> = b.segments().iter().map(|s| (s.start, s.end())).collect();
    panic!("{label}: images differ\n replaced: {sa:x?}\n built:    {sb:x?}");
}

/// Applications of different sizes and places for one platform's Tinker.
fn variants(tinker: &[u8], slots: &[u32], grows_left_end: Option<u32>) -> Vec<(String, Vec<u8>)> {
    let m = Module::parse(tinker).unwrap();
    let payload = tinker.len() - 28 - usize::from(m.suffix.size);
    let mut out = Vec::new();
    let overhead = 24 + usize::from(m.suffix.size) + 4;
    for len in [payload / 3, payload + 4321, payload + 40_000] {
        for &start in slots {
            let (start, len) = match grows_left_end {
                // RTL872x: the application ends where its area ends and grows left, from
                // a 4 KiB boundary.
                Some(end) => {
                    let start = (end - (len + overhead) as u32) & !0xFFF;
                    (start, (end - start) as usize - overhead)
                }
                None => (start, len),
            };
            out.push((
                format!("app-{len}-at-{start:#x}.bin"),
                variant(tinker, start, len),
            ));
        }
    }
    out
}

#[test]
fn gen3_every_catalog_platform_with_shorter_longer_and_moved_applications() {
    let index = FileIndex::new(&device_os()).unwrap();
    let mut checked = 0;
    for release in ["1.5.2", "2.2.0", "4.0.1"] {
        let path = repo().join(format!("restore-images/{release}.toml"));
        let catalog = Catalog::read(&path).unwrap();
        for entry in &catalog.platform {
            let (platform, modules) = collect(release, entry, &index).unwrap();
            if !platform.is_nrf52840() {
                continue;
            }
            let (users, others): (Vec<_>, Vec<_>) = modules
                .into_iter()
                .partition(|m| m.module.info.function == ModuleFunction::UserPart);
            let Some(original) = users.first() else {
                continue;
            };
            // From 3.1.0 on, 256 KiB platforms may also place an application at 0xB4000
            // (before, the system part reaches past it).
            let big = platform.user_part_max == 0x40000 && release == "4.0.1";
            let slots: &[u32] = if big { &[0xD4000, 0xB4000] } else { &[0xD4000] };
            check_family(
                &format!("{release} {}", platform.name),
                &others,
                original,
                &variants(&original.bytes, slots, None),
                false,
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 15);
}

#[test]
fn gen2_photon_and_electron() {
    let index = FileIndex::new(&device_os()).unwrap();
    let catalog = Catalog::read(&repo().join("restore-images/2.3.1.toml")).unwrap();
    for entry in &catalog.platform {
        let (_, modules) = collect("2.3.1", entry, &index).unwrap();
        let (users, others): (Vec<_>, Vec<_>) = modules
            .into_iter()
            .partition(|m| m.module.info.function == ModuleFunction::UserPart);
        let original = &users[0];
        let start = original.module.info.start;
        check_family(
            &entry.name,
            &others,
            original,
            &variants(&original.bytes, &[start], None),
            false,
        );
    }
}

#[test]
fn rtl872x_applications_grow_left() {
    // No RTL872x Device OS is in the packages: the images hold the application alone,
    // built and replaced with --allow-safe-mode.
    for (platform, file) in [
        ("p2", "p2/tinker/tinker-5.0.0-p2.bin"),
        ("msom", "msom/tinker/tinker-6.3.4-msom.bin"),
        ("trackerm", "trackerm/tinker/tinker-5.8.0-trackerm.bin"),
    ] {
        let tinker = read_real(&format!("particle-cli-3.51.0/knownApps/{file}"));
        let original = input(file, tinker.clone());
        let apps = variants(&tinker, &[0], Some(0x0860_0000));
        let larger = Module::parse(&apps[2].1).unwrap();
        assert!(
            larger.info.start < original.module.info.start,
            "a larger application starts lower"
        );
        assert!(larger.sha256_ok() && larger.crc_ok());
        check_family(platform, &[], &original, &apps, true);
    }
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn cli_replaces_and_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let catalog = repo().join("restore-images/4.0.1.toml");
    succeeds(&build_catalog(d, &catalog, &device_os(), ".", &[]));
    let tinker =
        read_real("particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin");
    write(d, "big.bin", &variant(&tinker, 0xB4000, 150_000));
    let replace = [
        "replace-user",
        "--base",
        "boron.hex",
        "--user",
        "big.bin",
        "-o",
        "out.hex",
    ];
    let said = succeeds(&hexsmith(d, &replace));
    assert!(
        said.starts_with(
            "boron: out.hex (user part 0x000b4000-0x000d8a34 in place of 0x000d4000-0x000d6c94"
        ),
        "{said}"
    );
    let check = hexsmith(d, &["inspect", "--json", "out.hex"]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
    let v: serde_json::Value = serde_json::from_str(&stdout(&check)).unwrap();
    assert_eq!(
        region_kinds(&v),
        ["uicr"],
        "a 150 KB application covers 0xD4000: no fill"
    );

    let refuse = |args: &[&str], code: i32| -> String {
        write(d, "out.hex", b"precious\n");
        let mut full = vec!["replace-user", "-o", "out.hex"];
        full.extend_from_slice(args);
        let run = hexsmith(d, &full);
        assert_eq!(run.status.code(), Some(code), "{args:?}: {}", stderr(&run));
        assert_eq!(std::fs::read(d.join("out.hex")).unwrap(), b"precious\n");
        assert_eq!(stderr(&run).lines().count(), 1, "{}", stderr(&run));
        stderr(&run).trim_end().to_string()
    };
    write(
        d,
        "argon-app.bin",
        &read_real("particle-cli-3.51.0/knownApps/argon/tinker/tinker-0.8.0-rc.27-argon.bin"),
    );
    assert_eq!(
        refuse(&["--base", "boron.hex", "--user", "argon-app.bin"], 1),
        "error: argon-app.bin: module is for argon (platform 12), not boron (platform 13) like boron.hex"
    );
    write(
        d,
        "new.bin",
        &read_real("particle-cli-3.51.0/knownApps/esomx/tinker/tinker-6.3.4-esomx.bin"),
    );
    assert_eq!(
        refuse(&["--base", "esomx.hex", "--user", "new.bin"], 1),
        "error: new.bin: user part needs Device OS 6.3.4 or later (system module 6305); the image has 4.0.1 (4005): \
         the device would start in safe mode (--allow-safe-mode builds it anyway)"
    );
    write(d, "huge.bin", &variant(&tinker, 0xB4000, 300_000));
    assert!(
        refuse(&["--base", "boron.hex", "--user", "huge.bin"], 1)
            .contains("lies outside its slot 0x000b4000-0x000f4000")
    );
    let mut corrupt = tinker.clone();
    corrupt[3000] ^= 4;
    write(d, "corrupt.bin", &corrupt);
    assert!(
        refuse(&["--base", "boron.hex", "--user", "corrupt.bin"], 1)
            .starts_with("error: corrupt.bin: CRC mismatch")
    );
    let mut no_sha = tinker.clone();
    let n = no_sha.len();
    no_sha[n - 20] ^= 1; // inside the stored SHA-256; then fix the CRC
    let crc = hexsmith::module::MODULE_CRC.checksum(&no_sha[..n - 4]);
    no_sha[n - 4..].copy_from_slice(&crc.to_be_bytes());
    write(d, "no-sha.bin", &no_sha);
    assert!(
        refuse(&["--base", "boron.hex", "--user", "no-sha.bin"], 1)
            .starts_with("error: no-sha.bin: SHA-256 mismatch")
    );
    let mut mbr_only = MemoryImage::new();
    mbr_only.write(0, &[0xAA; 4096]);
    write(d, "empty.hex", hex::write(&mbr_only).as_bytes());
    assert_eq!(
        refuse(&["--base", "empty.hex", "--user", "big.bin"], 1),
        "error: empty.hex: holds no Particle module, so its platform and user-part slot are unknown"
    );
    assert!(refuse(&["--base", "big.bin", "--user", "big.bin"], 2).contains("not an image"));
    write(
        d,
        "sp.bin",
        &read_real("particle-cli-3.6.0/updates/boron-system-part1@4.0.1.bin"),
    );
    assert_eq!(
        refuse(&["--base", "boron.hex", "--user", "sp.bin"], 1),
        "error: sp.bin: not an application: it is a system-part module"
    );

    // --allow-safe-mode lets the dependency through, with a warning.
    let run = hexsmith(
        d,
        &[
            "replace-user",
            "--base",
            "esomx.hex",
            "--user",
            "new.bin",
            "-o",
            "x.hex",
            "--allow-safe-mode",
        ],
    );
    assert_eq!(run.status.code(), Some(0));
    assert!(stderr(&run).contains("(allowed by --allow-safe-mode)"));
}

#[test]
fn build_user_option_replaces_the_inputs_application() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tinker =
        read_real("particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin");
    write(d, "app.bin", &variant(&tinker, 0xB4000, 70_000));
    let updates = device_os().join("particle-cli-3.6.0/updates");
    let part = |p: &str| {
        updates
            .join(format!("boron-{p}@4.0.1.bin"))
            .display()
            .to_string()
    };
    let tinker_path = device_os()
        .join("particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin")
        .display()
        .to_string();
    let (bl, sd, sp) = (part("bootloader"), part("softdevice"), part("system-part1"));
    let with_user = hexsmith(
        d,
        &[
            "build",
            "-o",
            "a.hex",
            "--user",
            "app.bin",
            &bl,
            &sd,
            &sp,
            &tinker_path,
        ],
    );
    assert_eq!(with_user.status.code(), Some(0), "{}", stderr(&with_user));
    let plain = hexsmith(d, &["build", "-o", "b.hex", &bl, &sd, &sp, "app.bin"]);
    assert_eq!(plain.status.code(), Some(0));
    assert_eq!(
        std::fs::read(d.join("a.hex")).unwrap(),
        std::fs::read(d.join("b.hex")).unwrap()
    );

    let catalog = repo().join("restore-images/4.0.1.toml");
    let from = device_os();
    let run = build_catalog(d, &catalog, &from, "cat", &["--user", "boron=app.bin"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(
        std::fs::read(d.join("a.hex")).unwrap(),
        std::fs::read(d.join("cat/boron.hex")).unwrap()
    );
    let run = build_catalog(d, &catalog, &from, "x", &["--user", "photon=app.bin"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(!d.join("x").exists());
}

/// The manifest of a replaced image is the one `build` writes for the same modules, but
/// for the input file names, which an image does not carry.
#[test]
fn replace_user_manifest_matches_builds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("mbr.bin"), common::stand_in_mbr()).unwrap();
    let catalog = repo().join("restore-images/4.0.1.toml");
    let run = build_catalog(d, &catalog, &device_os(), ".", &["--mbr", "mbr.bin"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let tinker =
        read_real("particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin");
    write(d, "app.bin", &variant(&tinker, 0xB4000, 20_000));
    let run = build_catalog(
        d,
        &catalog,
        &device_os(),
        "fresh",
        &["--mbr", "mbr.bin", "--user", "boron=app.bin"],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let run = hexsmith(
        d,
        &[
            "replace-user",
            "--base",
            "boron.hex",
            "--user",
            "app.bin",
            "-o",
            "r.hex",
            "--manifest",
            "r.json",
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let without_files = |path: &str| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join(path)).unwrap()).unwrap();
        for r in v["regions"].as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("file");
        }
        v
    };
    let replaced = without_files("r.json");
    assert_eq!(replaced, without_files("fresh/boron.json"));
    assert_eq!(
        region_kinds(&replaced),
        [
            "nordic-mbr",
            "radio-stack",
            "system-part",
            "user-part",
            "compatibility-fill",
            "bootloader",
            "uicr"
        ]
    );
}
