//! `hexsmith inspect` on real module files of every family, snapshotted as text and JSON.

mod common;

use common::{device_os, has_note, hexsmith, stdout};

/// One module of each kind that matters: Gen 3 system part, radio stack and bootloader,
/// Gen 2 (including the Electron file whose name says part 1 but holds index 3), and the
/// RTL872x and Gen 3 user parts with suffix extensions.
const FILES: &[&str] = &[
    "particle-cli-3.6.0/updates/boron-system-part1@4.0.1.bin",
    "particle-cli-3.6.0/updates/boron-softdevice@4.0.1.bin",
    "particle-cli-3.6.0/updates/tracker-system-part1@4.0.1.bin",
    "particle-cli-2.6.0/updates/argon-bootloader@1.5.2.bin",
    "particle-cli-3.6.0/updates/electron-system-part1@2.3.1.bin",
    "particle-cli-3.6.0/updates/electron-bootloader@2.3.1+lto.bin",
    "particle-cli-3.6.0/updates/photon-system-part2@2.3.1.bin",
    "particle-cli-3.51.0/knownApps/p2/tinker/tinker-5.0.0-p2.bin",
    "particle-cli-3.51.0/knownApps/msom/tinker/tinker-6.3.4-msom.bin",
    "particle-cli-3.51.0/knownApps/esomx/tinker/tinker-6.3.4-esomx.bin",
];

fn snapshot_name(file: &str) -> String {
    file.rsplit('/').next().unwrap().replace(['@', '+'], "_")
}

#[test]
fn text_reports() {
    let dir = device_os();
    for file in FILES {
        let out = hexsmith(&dir, &["inspect", file]);
        assert_eq!(out.status.code(), Some(0), "{file}");
        insta::assert_snapshot!(format!("text_{}", snapshot_name(file)), stdout(&out));
    }
}

#[test]
fn json_reports() {
    let dir = device_os();
    for file in FILES {
        let out = hexsmith(&dir, &["inspect", "--json", file]);
        assert_eq!(out.status.code(), Some(0), "{file}");
        let value: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        insta::assert_json_snapshot!(format!("json_{}", snapshot_name(file)), value);
    }
}

#[test]
fn electron_file_names_lie_and_headers_do_not() {
    let dir = device_os();
    let out = hexsmith(
        &dir,
        &[
            "inspect",
            "--json",
            "particle-cli-3.6.0/updates/electron-system-part1@2.3.1.bin",
            "particle-cli-3.6.0/updates/electron-system-part2@2.3.1.bin",
            "particle-cli-3.6.0/updates/electron-system-part3@2.3.1.bin",
        ],
    );
    let docs: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let placed: Vec<(u64, u64)> = docs
        .iter()
        .map(|d| {
            let m = &d["modules"][0];
            (
                m["index"].as_u64().unwrap(),
                m["start_address"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        placed,
        [(3, 0x0806_0000), (1, 0x0802_0000), (2, 0x0804_0000)]
    );
}

#[test]
fn every_real_module_passes_its_own_integrity_checks() {
    let files = common::all_bins();
    let mut modules = std::collections::BTreeMap::new();
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        if let Ok(m) = hexsmith::module::Module::parse(&bytes) {
            assert!(m.crc_ok() && m.sha256_ok(), "{}", path.display());
            let package = path
                .strip_prefix(common::device_os())
                .unwrap()
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .into_owned();
            *modules.entry(package).or_insert(0) += 1;
        }
    }
    let counts: Vec<(&str, i32)> = modules.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        counts,
        [
            ("particle-cli-2.14.0", 50),
            ("particle-cli-2.16.0", 50),
            ("particle-cli-2.6.0", 44),
            ("particle-cli-3.51.0", 15),
            ("particle-cli-3.6.0", 46),
            ("particle-cli-3.9.0", 46),
        ]
    );
}

/// The module format stands below platform knowledge: a module of a platform the tables do
/// not know is read and reported as such, never as "no module"; `build` refuses it by name.
#[test]
fn module_of_an_unknown_platform_is_read_and_reported_as_such() {
    let mut bytes = common::read_real("particle-cli-3.6.0/updates/boron-system-part1@4.0.1.bin");
    let m = hexsmith::module::Module::parse(&bytes).unwrap();
    let at = m.prefix_offset + 12;
    bytes[at..at + 2].copy_from_slice(&99u16.to_le_bytes());
    hexsmith::module::seal(&mut bytes).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new-platform.bin");
    std::fs::write(&path, &bytes).unwrap();

    let out = common::hexsmith(dir.path(), &["inspect", "--json", "new-platform.bin"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let module = &json["modules"][0];
    assert_eq!(module["platform_id"], 99, "{json}");
    assert_eq!(module["function"], "system-part", "{json}");
    assert!(module["platform"].is_null(), "{json}");

    let out = common::hexsmith(dir.path(), &["build", "-o", "x.hex", "new-platform.bin"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out)
            .contains("new-platform.bin: module is for platform 99, which hexsmith does not know"),
        "{}",
        common::stderr(&out)
    );
    assert!(!dir.path().join("x.hex").exists());

    // In an image: found, with its platform id, and the platform check says why it fails.
    let mut image = hexsmith::memory::MemoryImage::new();
    image.write(m.info.start, &bytes);
    let report = hexsmith::inspect::inspect_image(&image, hexsmith::inspect::ImageFormat::Image);
    assert_eq!(report.platform_id, Some(99));
    assert_eq!(report.modules.len(), 1);
    assert!(!report.checks.platform.is_pass());
    assert!(
        has_note(
            &report.modules[0].notes,
            "platform 99 is not one hexsmith knows"
        ),
        "{:?}",
        report.modules[0].notes
    );
}

/// The Tinkers of current platforms depend on releases the published images name.
#[test]
fn current_tinkers_name_the_release_they_depend_on() {
    for (file, module, release) in [
        ("p2/tinker/tinker-5.0.0-p2.bin", 5002, "5.0.0"),
        ("trackerm/tinker/tinker-5.8.0-trackerm.bin", 5800, "5.8.0"),
        ("msom/tinker/tinker-6.3.4-msom.bin", 6305, "6.3.4"),
        ("esomx/tinker/tinker-6.3.4-esomx.bin", 6305, "6.3.4"),
    ] {
        let path = common::real(&format!("particle-cli-3.51.0/knownApps/{file}"));
        let out = common::hexsmith(
            &common::repo(),
            &["inspect", "--json", path.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(0), "{file}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let dep = &json["modules"][0]["dependencies"][0];
        assert_eq!(dep["function"], "system-part", "{file}");
        assert_eq!(dep["version"], module, "{file}");
        assert_eq!(dep["release"], release, "{file}");
        let out = common::hexsmith(&common::repo(), &["inspect", path.to_str().unwrap()]);
        assert!(
            common::stdout(&out).contains(&format!(
                "system-part 1 version {module} (Device OS {release})"
            )),
            "{}",
            common::stdout(&out)
        );
    }
}

/// A refusal names the offsets that were tried: every candidate for `Module::parse`, only
/// the one given for `Module::parse_at`, and the prefix fault at that offset.
#[test]
fn no_prefix_names_the_offsets_tried() {
    use hexsmith::module::Module;
    // A Boron system part: its prefix sits at 0x200, after the vector table.
    let bytes = common::read_real("particle-cli-3.6.0/updates/boron-system-part1@4.0.1.bin");
    assert!(Module::parse_at(&bytes, 0x200).is_ok());
    let at = |offset| Module::parse_at(&bytes, offset).unwrap_err().to_string();
    assert_eq!(
        at(0),
        "no valid module prefix at offset 0x0, the only offset tried: the end address \
         (bytes 4-7) 0x00030291 is not after the start address (bytes 0-3) 0x2003f000"
    );
    assert_eq!(
        at(0x184),
        "no valid module prefix at offset 0x184, the only offset tried: the function field \
         (byte 14) is 0, not a module function (1 to 9): not a Particle module, or a corrupt one"
    );
    assert_eq!(
        at(bytes.len() - 8),
        "no valid module prefix at offset 0x7cb42, the only offset tried: only 8 bytes, \
         fewer than the 24-byte prefix: the file is truncated"
    );

    let mut corrupt = bytes.clone();
    corrupt[0x200 + 14] = 66;
    assert_eq!(
        Module::parse(&corrupt).unwrap_err().to_string(),
        "no valid module prefix found (tried offsets 0, 0x200, 0x184 and every 4-byte \
         boundary below 8 KiB); at offset 0, the end address (bytes 4-7) 0x00030291 is not \
         after the start address (bytes 0-3) 0x2003f000"
    );
}
