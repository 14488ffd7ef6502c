//! How a restore image differs from the one Particle published for its release and
//! platform, as far as the table of published modules says (`published.toml`, derived
//! from `tests/data/published-restore-modules.tsv`). Device OS itself is the same files
//! in both; what differs is the application beside it (and the NCP firmware a tracker's
//! manifest lists), so that is what is compared.

use crate::module::{ModuleFunction, ModuleInfo};
use crate::platform::{self, Platform};
use std::collections::BTreeSet;

/// One module of the image being described: its file name, prefix and the SHA-256 its
/// suffix carries.
#[derive(Debug, Clone, Copy)]
pub struct ImageModule<'a> {
    /// The file it came from, as the user named it.
    pub name: &'a str,
    /// Its prefix.
    pub info: &'a ModuleInfo,
    /// Its suffix's SHA-256.
    pub sha256: &'a [u8; 32],
}

/// Sentences, one per difference, saying how an image of `release` for `platform` made of
/// `modules` differs from Particle's published one: another application (version and
/// address), none, one Particle's image lacks, no Tracker Edge, no NCP firmware. Empty
/// when the applications are the same module. One sentence when Particle published no
/// image of that release for that platform.
pub fn published_differences<'a>(
    platform: &Platform,
    release: &str,
    modules: impl IntoIterator<Item = ImageModule<'a>>,
) -> Vec<String> {
    let published = platform::published_releases()
        .iter()
        .any(|r| r.release == release && r.platforms.contains(&platform.name));
    if !published {
        let releases = platform::published_releases();
        let span = match (releases.first(), releases.last()) {
            (Some(first), Some(last)) => format!(" ({} to {})", first.release, last.release),
            _ => String::new(),
        };
        return vec![format!(
            "Particle published no {} restore image of Device OS {release} among those the table holds{span}: nothing to compare",
            platform.name
        )];
    }
    let mut seen = BTreeSet::new();
    let theirs: Vec<&platform::PublishedApp> = platform::published_apps()
        .iter()
        .filter(|a| a.release == release && a.platform == platform.name)
        // A few tracker manifests list their NCP firmware twice, once as "undefined".
        .filter(|a| seen.insert(a.sha256.clone()))
        .collect();
    let ours: Vec<ImageModule> = modules
        .into_iter()
        .filter(|m| m.info.function == ModuleFunction::UserPart)
        .collect();
    let mut out = Vec::new();
    let their_app = theirs.iter().find(|a| a.function == "user-part");
    match (ours.first(), their_app) {
        (Some(m), Some(a)) if hex::encode(m.sha256) == a.sha256 => {}
        (Some(m), Some(a)) if m.info.version == a.version && m.info.start == a.start => {
            out.push(format!(
                "application {} is version {} at {:#010x}, as Particle's {} is, but another build (its SHA-256 differs)",
                m.name, m.info.version, m.info.start, a.key
            ))
        }
        (Some(m), Some(a)) => out.push(format!(
            "application {} is version {} at {:#010x}; Particle's image has {} version {} at {:#010x}{}",
            m.name,
            m.info.version,
            m.info.start,
            a.key,
            a.version,
            a.start,
            if a.key == "tinker" {
                ""
            } else {
                " in its place"
            }
        )),
        (None, Some(a)) => out.push(format!(
            "no application; Particle's image has {} version {} at {:#010x}",
            a.key, a.version, a.start
        )),
        (Some(m), None) => out.push(format!(
            "application {} (version {} at {:#010x}), which Particle's image does not have",
            m.name, m.info.version, m.info.start
        )),
        (None, None) => {}
    }
    for a in theirs.iter().filter(|a| a.function == "ncp") {
        out.push(format!(
            "no NCP firmware; Particle's manifest lists {} version {}, the firmware of the tracker's ESP32, which is not in the nRF52840's flash",
            a.key, a.version
        ));
    }
    out
}
