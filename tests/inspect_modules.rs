//! `hexsmith inspect` on real module files of every family, snapshotted as text and JSON.

mod common;

use common::{device_os, hexsmith, stdout};

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
    let mut modules = 0;
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        if let Ok(m) = hexsmith::module::Module::parse(&bytes) {
            assert!(m.crc_ok() && m.sha256_ok(), "{}", path.display());
            modules += 1;
        }
    }
    assert_eq!(modules, 155);
}
