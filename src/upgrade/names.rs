//! The names Particle gives a release's files, so that a plan names the files a user
//! downloads from the Device OS releases page.

use crate::platform::{Platform, SystemRelease};
use semver::Version;

/// `PLATFORM-system-part1@VERSION.bin` from the release the table names on, before it
/// `system-part1-VERSION-PLATFORM.bin`.
fn at_names(release: &SystemRelease) -> bool {
    super::seeds::seeds()
        .files
        .at_names_since
        .as_deref()
        .and_then(|s| Version::parse(s).ok())
        .is_none_or(|since| release.version() >= &since)
}

fn name(platform: &Platform, what: &str, release: &SystemRelease, suffix: &str) -> String {
    if at_names(release) {
        format!("{}-{what}@{}{suffix}.bin", platform.name, release.release)
    } else {
        format!("{what}-{}-{}.bin", release.release, platform.name)
    }
}

pub fn system_part(platform: &Platform, part: u8, release: &SystemRelease) -> String {
    name(platform, &format!("system-part{part}"), release, "")
}

/// Gen 2 bootloaders are `+lto` builds (`photon-bootloader@1.5.2+lto.bin`).
pub fn bootloader(platform: &Platform, release: &SystemRelease) -> String {
    let lto = if platform.generation == 2 { "+lto" } else { "" };
    name(platform, "bootloader", release, lto)
}

pub fn softdevice(platform: &Platform, release: &SystemRelease) -> String {
    name(platform, "softdevice", release, "")
}

/// The RTL872x's first-stage bootloader, which its restore images carry.
pub fn prebootloader(platform: &Platform, release: &SystemRelease) -> String {
    name(platform, "prebootloader-part1", release, "")
}

pub fn tinker(platform: &Platform, release: &SystemRelease) -> String {
    name(platform, "tinker", release, "")
}
