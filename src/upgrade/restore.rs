//! Over SWD a plan is one restore image per release: which `hexsmith build` command makes
//! it (from a catalog in `restore-images/` where one lists the platform, else from the
//! release's module files) and how it is written.

use super::rules;
use super::{Component, Device, Mode, Step, Write, names};
use crate::platform::SystemRelease;
use serde::Deserialize;
use std::sync::OnceLock;

/// The catalogs of `restore-images/`, built in so a plan does not depend on the working
/// directory. A unit test checks that every catalog file is here.
const CATALOGS: &[(&str, &str)] = &[
    (
        "restore-images/1.4.4.toml",
        include_str!("../../restore-images/1.4.4.toml"),
    ),
    (
        "restore-images/1.5.2.toml",
        include_str!("../../restore-images/1.5.2.toml"),
    ),
    (
        "restore-images/2.1.0.toml",
        include_str!("../../restore-images/2.1.0.toml"),
    ),
    (
        "restore-images/2.2.0.toml",
        include_str!("../../restore-images/2.2.0.toml"),
    ),
    (
        "restore-images/2.3.1.toml",
        include_str!("../../restore-images/2.3.1.toml"),
    ),
    (
        "restore-images/4.0.1.toml",
        include_str!("../../restore-images/4.0.1.toml"),
    ),
    (
        "restore-images/4.0.2.toml",
        include_str!("../../restore-images/4.0.2.toml"),
    ),
];

/// Only what a plan needs of a catalog: its release and platforms.
#[derive(Deserialize)]
struct Catalog {
    release: String,
    platform: Vec<CatalogPlatform>,
}

#[derive(Deserialize)]
struct CatalogPlatform {
    name: String,
}

fn catalogs() -> &'static [(&'static str, Catalog)] {
    static PARSED: OnceLock<Vec<(&'static str, Catalog)>> = OnceLock::new();
    PARSED.get_or_init(|| {
        CATALOGS
            .iter()
            .map(|(path, text)| {
                let c: Catalog = toml::from_str(text)
                    .unwrap_or_else(|e| panic!("built-in catalog {path} is invalid: {e}"));
                (*path, c)
            })
            .collect()
    })
}

/// The path of the catalog that makes this release's image for a platform, if any.
pub(super) fn catalog_for(release: &str, platform: &str) -> Option<&'static str> {
    catalogs()
        .iter()
        .find(|(_, c)| c.release == release && c.platform.iter().any(|p| p.name == platform))
        .map(|(path, _)| *path)
}

#[cfg(test)]
pub(super) fn catalog_paths() -> Vec<&'static str> {
    CATALOGS.iter().map(|(p, _)| *p).collect()
}

/// The module files a release's restore image is made of, as Particle names them, in the
/// order Particle's own image generator lists them.
pub(super) fn module_files(device: &Device, release: &SystemRelease) -> Vec<String> {
    let p = device.platform;
    let mut files = Vec::new();
    if p.is_nrf52840() {
        files.push(names::softdevice(p, release));
        files.push(names::system_part(p, 1, release));
        files.push(names::bootloader(p, release));
    } else if p.is_rtl872x() {
        files.push(names::system_part(p, 1, release));
        files.push(names::prebootloader(p, release));
        files.push(names::bootloader(p, release));
    } else {
        let parts = device.system_parts(release);
        files.extend((1..=parts).map(|n| names::system_part(p, n, release)));
        if !device.bootloader_inside_system_parts(release) {
            files.push(names::bootloader(p, release));
        }
    }
    files.push(names::tinker(p, release));
    files
}

/// How to write the image: `hexsmith flash` through a Particle Debugger, J-Link or
/// ST-LINK (Gen 2: attached under reset, which it does by itself).
fn flash_command(device: &Device, image: &str) -> String {
    let p = device.platform;
    if p.is_nrf52840() {
        format!("hexsmith flash {image} (Particle Debugger or Segger J-Link)")
    } else if p.generation == 2 {
        format!(
            "hexsmith flash {image} (Particle Debugger, Segger J-Link or ST-LINK/V2; attaches under reset, as Gen 2 Device OS disables SWD)"
        )
    } else {
        format!(
            "hexsmith flash --rtl872x-loader scripts/rtl872x.tcl {image} (Particle Debugger or Segger J-Link, through Particle's RAM flash loader from the Device OS source tree; the module powered externally)"
        )
    }
}

/// The one step that restores `release` over SWD.
pub(super) fn step(
    device: &Device,
    release: &SystemRelease,
    rule: &'static str,
    why: String,
) -> Step {
    let p = device.platform;
    let mbr = if p.is_nrf52840() { " --mbr FILE" } else { "" };
    let mut notes = Vec::new();
    let (build, image) = match catalog_for(&release.release, &p.name) {
        Some(path) => {
            notes.push(format!(
                "DIR holds the release files ({path} lists them with their SHA-256; scripts/fetch-device-os puts them in .cache/device-os); add --user {}=APP to put your application in place of Tinker",
                p.name
            ));
            (
                format!("hexsmith build --catalog {path} --from DIR --out-dir OUT{mbr}"),
                format!("OUT/{}.hex", p.name),
            )
        }
        None => {
            notes.push(format!(
                "no catalog in restore-images/ has {} for {}: the files are those of the Device OS {} release; add --user APP to put your application in place of Tinker",
                release.release, p.name, release.release
            ));
            (
                format!(
                    "hexsmith build{mbr} -o {}.hex {}",
                    p.name,
                    module_files(device, release).join(" ")
                ),
                format!("{}.hex", p.name),
            )
        }
    };
    if p.is_nrf52840() {
        notes.push(
            "the image holds the SoftDevice without its Particle header, and the Nordic MBR from --mbr FILE (a SoftDevice .hex, a 4 KiB .bin or an existing restore image): the release's softdevice .bin cannot be written over SWD as it is, and an image without an MBR must never be written after a full chip erase".to_string(),
        );
    }
    let swd = rules::SWD_RESTORE_IMAGE;
    let write = Write {
        component: Component::RestoreImage,
        part: None,
        command: flash_command(device, &image),
        file: image,
        mode: Mode::Swd,
        optional: false,
        rule: swd.id,
        why: swd.why.to_string(),
        then: None,
    };
    Step {
        version: release.release.clone(),
        module_version: release.module_version(),
        rule,
        why,
        build: Some(build),
        writes: vec![write],
        notes,
    }
}
