//! The device a plan is for (a platform, or a model of one) and the releases it can run.

use super::seeds::{FewerParts, Model, PlatformReleases, seeds};
use super::{PlanError, rules, table_version};
use crate::platform::{self, Platform, Published, SystemRelease, releases};
use semver::Version;
use std::borrow::Cow;

/// A platform, or one model of it where the seeds give the model rules of its own.
#[derive(Debug, Clone, Copy)]
pub struct Device {
    /// The platform, whose facts, part count and file names a plan uses.
    pub platform: &'static Platform,
    /// The model asked for, whose own minimum and stop rules apply too; None when only a
    /// platform was named (model-only stop rules then become warnings).
    pub model: Option<&'static Model>,
}

/// Whether a device can run a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runs {
    /// Published for (or seen on) its platform, and within its bounds.
    Yes,
    /// It cannot.
    No {
        /// The id of the rule that refuses it ([`rules::Rule::id`]).
        rule: &'static str,
        /// The seeds' or the table's reason.
        why: String,
    },
    /// The table cannot tell; the text says why.
    Unknown(String),
}

/// Looks a device up by platform name or id, or by model name (`brn402`), in any case;
/// [`PlanError::UnknownPlatform`] lists the names it knows.
pub fn device(name: &str) -> Result<Device, PlanError> {
    if let Some(platform) = platform::by_name(name) {
        return Ok(Device {
            platform,
            model: None,
        });
    }
    let model = seeds()
        .model(name)
        .ok_or_else(|| PlanError::UnknownPlatform {
            name: name.to_string(),
            known: known_names(),
        })?;
    let platform = platform::by_name(&model.platform).expect("models name known platforms");
    Ok(Device {
        platform,
        model: Some(model),
    })
}

fn known_names() -> String {
    let mut names: Vec<&str> = platform::all().iter().map(|p| p.name.as_str()).collect();
    names.extend(seeds().model.iter().map(|m| m.name.as_str()));
    names.join(", ")
}

impl Device {
    /// The name it was asked for by: the model's, or the platform's.
    pub fn name(&self) -> &'static str {
        self.model
            .map_or(self.platform.name.as_str(), |m| m.name.as_str())
    }

    /// What the seeds say about its platform's releases (a model's minimum is on
    /// [`Device::model`]).
    pub fn facts(&self) -> &'static PlatformReleases {
        seeds().platform_facts(&self.platform.name)
    }

    /// Whether it can run a release: the model's and platform's minimum, the last major
    /// line it may run, then the table's platform columns.
    pub fn runs(&self, release: &SystemRelease) -> Runs {
        let min = self
            .model
            .and_then(|m| m.min_release.as_ref())
            .into_iter()
            .chain(self.facts().min_release.as_ref());
        for bound in min {
            if release.version() < &table_version(&bound.release) {
                return Runs::No {
                    rule: rules::MINIMUM_RELEASE.id,
                    why: bound.why.clone(),
                };
            }
        }
        if let Some(line) = &self.facts().last_line
            && release.version().major > line.major
        {
            return Runs::No {
                rule: rules::LAST_LINE.id,
                why: line.why.clone(),
            };
        }
        let unpublished = |why| Runs::No {
            rule: rules::PUBLISHED_FOR_PLATFORM.id,
            why,
        };
        match release.published_for(&self.platform.name) {
            Published::Yes => Runs::Yes,
            Published::No(why) => unpublished(why),
            Published::Unknown(why) => self
                .not_yet(release)
                .map_or(Runs::Unknown(why), unpublished),
        }
    }

    /// An unlisted release from before the platform existed: older than a published line
    /// without the platform, itself older than the first line with it.
    fn not_yet(&self, release: &SystemRelease) -> Option<String> {
        let name = &self.platform.name;
        let all = &releases().system;
        let first = all
            .iter()
            .find(|s| s.published_for(name) == Published::Yes)?;
        if release.version() >= first.version() {
            return None;
        }
        let without = all.iter().find(|s| {
            release.version() < s.version()
                && s.version() < first.version()
                && matches!(s.published_for(name), Published::No(_))
        })?;
        Some(format!(
            "{name} first appears in the table with {}, and {} was published without it",
            first.release, without.release
        ))
    }

    /// Where a release has fewer system parts than the platform has now (the Electron had
    /// 2 before 0.6.0), the fact that says so.
    pub fn fewer_system_parts(&self, release: &SystemRelease) -> Option<&'static FewerParts> {
        self.facts()
            .fewer_system_parts
            .as_ref()
            .filter(|f| release.version() < &table_version(&f.before))
    }

    /// How many system parts `release` has on this device: the platform's number, or
    /// fewer for an old release ([`Device::fewer_system_parts`]).
    pub fn system_parts(&self, release: &SystemRelease) -> u8 {
        self.fewer_system_parts(release)
            .map_or(self.platform.system_parts, |f| f.parts)
    }

    /// Whether a release carries its bootloader inside its system parts, with no file of
    /// its own (Gen 2 before 0.7.0).
    pub fn bootloader_inside_system_parts(&self, release: &SystemRelease) -> bool {
        self.facts()
            .bootloader_in_system_parts_before
            .as_ref()
            .is_some_and(|b| release.version() < &table_version(&b.release))
    }

    /// The releases of the table it runs, and those the table cannot tell about, in
    /// table order.
    pub fn releases(&self) -> (Vec<&'static SystemRelease>, Vec<&'static SystemRelease>) {
        let mut yes = Vec::new();
        let mut unknown = Vec::new();
        for r in &releases().system {
            match self.runs(r) {
                Runs::Yes => yes.push(r),
                Runs::Unknown(_) => unknown.push(r),
                Runs::No { .. } => {}
            }
        }
        (yes, unknown)
    }

    /// A release named as a semantic version (`1.5.2`, `v2.0.0-rc.4`), or as the system
    /// module version a device reports (`1512`, as `particle serial inspect` shows it):
    /// the table's line, borrowed. A well-formed version the table lacks becomes an owned
    /// [`SystemRelease::unlisted`], not an error, so that planning arbitrary versions keeps
    /// nothing; a module version must name one release of the platform
    /// ([`PlanError::UnknownModule`], [`PlanError::AmbiguousModule`]). Whether the device
    /// runs it is [`plan`](super::plan)'s to check.
    pub fn release(&self, arg: &str) -> Result<Cow<'static, SystemRelease>, PlanError> {
        let text = arg.trim();
        let text = text.strip_prefix('v').unwrap_or(text);
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            let module: u16 = text.parse().map_err(|_| PlanError::BadVersion {
                arg: arg.to_string(),
            })?;
            return self.release_by_module(module).map(Cow::Borrowed);
        }
        let version = Version::parse(text).map_err(|_| PlanError::BadVersion {
            arg: arg.to_string(),
        })?;
        Ok(releases()
            .system
            .iter()
            .find(|s| s.version() == &version)
            .map_or_else(
                || Cow::Owned(SystemRelease::unlisted(&version)),
                Cow::Borrowed,
            ))
    }

    fn release_by_module(&self, module: u16) -> Result<&'static SystemRelease, PlanError> {
        let name = &self.platform.name;
        if let Some(r) = releases().system_release_on(module, name) {
            return Ok(r);
        }
        let lines: Vec<&str> = releases()
            .system
            .iter()
            .filter(|s| s.module == module)
            .filter(|s| !matches!(s.published_for(name), Published::No(_)))
            .map(|s| s.release.as_str())
            .collect();
        Err(if lines.is_empty() {
            PlanError::UnknownModule {
                module,
                platform: name.clone(),
            }
        } else {
            PlanError::AmbiguousModule {
                module,
                platform: name.clone(),
                releases: lines.join(", "),
            }
        })
    }
}

/// Releases of the table close to one it does not have: the same major.minor.patch
/// (0.4.8: 0.4.8-rc.1, 0.4.8-rc.6), else the same major.minor.
pub(super) fn nearby(v: &Version) -> String {
    let all = &releases().system;
    let same_patch: Vec<&str> = all
        .iter()
        .filter(|s| {
            let w = s.version();
            (w.major, w.minor, w.patch) == (v.major, v.minor, v.patch)
        })
        .map(|s| s.release.as_str())
        .collect();
    let list = if same_patch.is_empty() {
        all.iter()
            .filter(|s| (s.version().major, s.version().minor) == (v.major, v.minor))
            .map(|s| s.release.as_str())
            .collect()
    } else {
        same_patch
    };
    if list.is_empty() {
        String::new()
    } else {
        format!(" (it has {})", list.join(", "))
    }
}
