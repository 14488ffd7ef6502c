//! What the seeds (Particle's upgrade and downgrade guides) say about moving a device
//! between releases, as data (`seeds.toml`): how release files are named, the order a
//! release's components are written in, the intermediate releases plans must stop at, and
//! per-platform and per-model facts. Only the planner reads it; the releases themselves
//! are [`crate::platform::releases`].

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{LazyLock, OnceLock};

/// How Particle names release files.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct FileNames {
    /// From this release on `PLATFORM-system-part1@VERSION.bin`, before it
    /// `system-part1-VERSION-PLATFORM.bin`.
    pub(crate) at_names_since: Option<String>,
}

/// The order one release's components are written in, by component name.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WriteOrder {
    pub(crate) up: Vec<String>,
    pub(crate) down: Vec<String>,
}

/// Intermediate releases a plan must pass through (one `[[stop]]` of the table).
#[derive(Debug, Deserialize)]
pub struct StopRule {
    /// Its id, which a plan's step carries ([`crate::upgrade::Step::rule`]) and tests are
    /// named after.
    pub rule: String,
    /// Platform names it holds for; it holds for a device matching these or `models`.
    #[serde(default)]
    pub platforms: Vec<String>,
    /// Model names ([`Model::name`]) it holds for. A plan that names only the model's
    /// platform gets a warning naming the stop instead.
    #[serde(default)]
    pub models: Vec<String>,
    /// `up` or `down`.
    pub direction: String,
    /// Ways of writing it holds for: `ota`, `serial`, `usb`, `swd`.
    pub via: Vec<String>,
    /// The releases to stop at; a plan installs each that lies strictly between its start
    /// and its target, in the order it passes them.
    pub releases: Vec<String>,
    /// Only for plans that start from this release or later.
    #[serde(default)]
    pub from_at_least: Option<String>,
    /// The reason, quoted in the plan's step.
    pub why: String,
    /// Where in the seeds the rule is.
    pub seed: String,
}

/// A release bound with the reason for it.
#[derive(Debug, Clone, Deserialize)]
pub struct ReleaseBound {
    /// The release, a semantic version.
    pub release: String,
    /// The seeds' reason, quoted in the refusal or warning the bound causes.
    pub why: String,
}

/// The newest major line a platform may run, with the reason for it.
#[derive(Debug, Clone, Deserialize)]
pub struct LineBound {
    /// The major version (2: a 3.x release is refused).
    pub major: u64,
    /// The seeds' reason, quoted in the refusal.
    pub why: String,
}

/// Older releases of a platform that had fewer system parts than it has now.
#[derive(Debug, Clone, Deserialize)]
pub struct FewerParts {
    /// The first release with the current number, a semantic version.
    pub before: String,
    /// How many system parts releases before it have.
    pub parts: u8,
    /// The reason, added to each system part write of such a release.
    pub why: String,
}

/// What the seeds say about one platform's releases (see `seeds.toml`); each fact
/// carries the reason a plan quotes. Most platforms have none.
#[derive(Debug, Default, Deserialize)]
pub struct PlatformReleases {
    /// It cannot run anything older: a plan to or from an older release is refused.
    pub min_release: Option<ReleaseBound>,
    /// It can run older releases, but the seeds advise against them: a downgrade below
    /// it is planned with a warning.
    pub advised_min: Option<ReleaseBound>,
    /// The newest major line it runs (Gen 2: 2.x); newer releases are refused.
    pub last_line: Option<LineBound>,
    /// Before this it runs monolithic firmware, which only USB can replace: an
    /// over-the-air plan from an older release is refused.
    pub modular_since: Option<ReleaseBound>,
    /// The seeds promise a direct upgrade to any release only from here: an upgrade from
    /// an older release is planned with a warning.
    pub direct_upgrade_since: Option<ReleaseBound>,
    /// Before this a release carries its bootloader inside its system parts: a plan
    /// writes no bootloader file for it.
    pub bootloader_in_system_parts_before: Option<ReleaseBound>,
    /// Releases before a point with fewer system parts (the Electron before 0.6.0).
    pub fewer_system_parts: Option<FewerParts>,
    /// Coming from a release before this, listening mode cannot write Device OS: a
    /// serial plan writes the system parts in DFU mode.
    pub dfu_only_before: Option<ReleaseBound>,
}

/// A model (SKU) with rules of its own.
#[derive(Debug, Deserialize)]
pub struct Model {
    /// The lower-case SKU (`brn402`), which `--platform` takes too; never a platform name.
    pub name: String,
    /// The name of the platform it is.
    pub platform: String,
    /// Product name and modem, for people ("Boron LTE BRN402 (u-blox SARA-R410M)").
    pub display: String,
    /// Like [`PlatformReleases::min_release`], for this model alone.
    #[serde(default)]
    pub min_release: Option<ReleaseBound>,
}

/// The seeds' rules, as `seeds.toml` holds them. Get them with [`seeds`].
#[derive(Debug, Deserialize)]
pub struct Seeds {
    #[serde(default)]
    pub(crate) files: FileNames,
    #[serde(default)]
    pub(crate) order: WriteOrder,
    /// The intermediate releases plans must stop at.
    #[serde(default)]
    pub stop: Vec<StopRule>,
    /// Per platform name, what the seeds say; read it through [`Seeds::platform_facts`],
    /// which also answers for platforms without an entry.
    #[serde(default)]
    pub platform: BTreeMap<String, PlatformReleases>,
    /// Models with rules of their own.
    #[serde(default)]
    pub model: Vec<Model>,
}

/// The seeds' rules, parsed on first use (a malformed built-in table panics there; the
/// unit tests rule that out).
pub fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        toml::from_str(include_str!("seeds.toml"))
            .unwrap_or_else(|e| panic!("built-in seeds.toml is invalid: {e}"))
    })
}

impl Seeds {
    /// What the seeds say about a platform's releases (nothing, for most).
    pub fn platform_facts(&self, platform: &str) -> &PlatformReleases {
        static NONE: LazyLock<PlatformReleases> = LazyLock::new(PlatformReleases::default);
        self.platform.get(platform).unwrap_or(&NONE)
    }

    /// A model by its name, in any case.
    pub fn model(&self, name: &str) -> Option<&Model> {
        let lower = name.to_ascii_lowercase();
        self.model.iter().find(|m| m.name == lower)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{by_name, releases};

    #[test]
    fn facts_name_known_platforms_and_releases() {
        let s = seeds();
        for name in s.platform.keys() {
            assert!(by_name(name).is_some(), "{name}");
        }
        for m in &s.model {
            assert!(by_name(&m.platform).is_some(), "{}", m.name);
            assert!(by_name(&m.name).is_none(), "{}", m.name);
        }
        for rule in &s.stop {
            for release in &rule.releases {
                assert!(
                    releases().release(release).is_some(),
                    "{}: {release}",
                    rule.rule
                );
            }
        }
    }
}
