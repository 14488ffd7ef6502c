//! Upgrade and downgrade plans: how a device gets from the Device OS it has to the one
//! wanted, and what can go wrong on the way.
//!
//! A device checks at boot that its application's Device OS dependency is met, and a
//! device whose isn't goes into safe mode, where the cloud upgrades it (never
//! downgrades). Particle's guides (the seeds) turn that, and the history of the releases,
//! into rules: intermediate releases over the air, the order system parts go in, when the
//! bootloader, SoftDevice and NCP are written and in which device mode, the application
//! first when going down. The release table and the intermediate releases are data
//! (`src/platform/releases.toml`, and the seeds' own `src/upgrade/seeds.toml`, read by
//! [`mod@seeds`]); the rules that are logic are named in [`rules`].
//!
//! An [`UpgradePlan`] is a list of [`Step`]s, one per release installed, each a list of
//! [`Write`]s in order, each with its file, device mode, command and the rule behind it.
//! Start from [`device`], name the two releases with [`Device::release`], then call
//! [`plan`]. Planning reads only the built-in tables: it never touches a device or a file.

mod device;
mod names;
mod restore;
pub mod rules;
pub mod seeds;
mod steps;
mod warning;

pub use device::{Device, Runs, device};
pub use warning::UpgradeWarning;

use crate::platform::{SystemRelease, releases};
use seeds::{StopRule, seeds};
use semver::Version;
use serde::Serialize;
use std::fmt;

/// How the device is written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// Over the air (`particle flash DEVICE FILE`), the device online.
    Ota,
    /// Over USB in listening mode (`particle flash --local`, which particle-cli 3.x has in
    /// place of the deprecated `--serial`).
    Serial,
    /// Over USB: system parts and application in DFU mode, the rest in listening mode.
    Usb,
    /// A restore image written by an SWD/JTAG programmer.
    Swd,
}

impl Via {
    /// Every way, in the order `--via` lists them.
    pub const ALL: [Via; 4] = [Via::Ota, Via::Serial, Via::Usb, Via::Swd];

    /// The name `--via`, the JSON plan and the stop rules' `via` use (`ota`, `serial`,
    /// `usb`, `swd`).
    pub fn name(self) -> &'static str {
        match self {
            Via::Ota => "ota",
            Via::Serial => "serial",
            Via::Usb => "usb",
            Via::Swd => "swd",
        }
    }

    /// The way [`Via::name`] names, exactly (lower case); None for anything else.
    pub fn from_name(name: &str) -> Option<Via> {
        Via::ALL.into_iter().find(|v| v.name() == name)
    }

    /// For sentences: "over the air", "over SWD/JTAG".
    pub fn describe(self) -> &'static str {
        match self {
            Via::Ota => "over the air",
            Via::Serial => "over USB serial (listening mode)",
            Via::Usb => "over USB (DFU and listening mode)",
            Via::Swd => "over SWD/JTAG",
        }
    }
}

/// Which way a plan goes, by the semantic version order of its two releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// To a newer release.
    Upgrade,
    /// To an older release: the down stop rules apply and, but over SWD, the application
    /// is written first.
    Downgrade,
    /// Already there: nothing to do.
    None,
}

impl Direction {
    /// As the stop rules of the data name it.
    fn data_name(self) -> &'static str {
        match self {
            Direction::Upgrade => "up",
            Direction::Downgrade => "down",
            Direction::None => "none",
        }
    }
}

/// The state the device must be in for a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Online (breathing cyan), written over the air.
    Ota,
    /// Listening mode (blinking dark blue): `particle usb start-listening`.
    Listening,
    /// DFU mode (blinking yellow): `particle usb dfu`.
    Dfu,
    /// Attached to an SWD/JTAG programmer.
    Swd,
}

impl Mode {
    /// The mode with how a person puts the device in it, for a printed plan.
    pub fn describe(self) -> &'static str {
        match self {
            Mode::Ota => "online, over the air",
            Mode::Listening => "listening mode (blinking dark blue): particle usb start-listening",
            Mode::Dfu => "DFU mode (blinking yellow): particle usb dfu",
            Mode::Swd => "SWD/JTAG programmer",
        }
    }

    /// The Particle CLI command that writes a file in this mode, as particle-cli 3.51.0's
    /// help gives it: `--serial` is deprecated there for `--local`, and `--local` given an
    /// application alone also updates Device OS to what it was built for unless told
    /// `--application-only` (a plan writes Device OS itself, step by step).
    fn command(self, component: Component, file: &str) -> String {
        match self {
            Mode::Ota => format!("particle flash DEVICE {file}"),
            Mode::Listening if component == Component::UserPart => {
                format!("particle flash --local --application-only {file}")
            }
            Mode::Listening => format!("particle flash --local {file}"),
            Mode::Dfu => format!("particle flash --usb {file}"),
            Mode::Swd => format!("write {file} with an SWD/JTAG programmer"),
        }
    }

    /// Over the air every write reboots the device: the next waits for it.
    fn then(self) -> Option<&'static str> {
        (self == Mode::Ota).then_some(
            "wait until the device is back online (spark/status online event) before the next write",
        )
    }
}

/// What a write puts on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    /// The application: Tinker, or the user's own built for the target release or earlier.
    UserPart,
    /// One system part; [`Write::part`] says which.
    SystemPart,
    /// The bootloader (on Gen 2 a `+lto` build).
    Bootloader,
    /// The nRF52840 radio stack (Nordic SoftDevice).
    Softdevice,
    /// Network co-processor firmware (the Tracker's ESP32).
    Ncp,
    /// An SWD restore image holding every module of a release.
    RestoreImage,
}

impl Component {
    /// As `seeds.toml`'s `[order]` and the JSON plan name it (`system-part`).
    pub fn name(self) -> &'static str {
        match self {
            Component::UserPart => "user-part",
            Component::SystemPart => "system-part",
            Component::Bootloader => "bootloader",
            Component::Softdevice => "softdevice",
            Component::Ncp => "ncp",
            Component::RestoreImage => "restore-image",
        }
    }
}

/// One file written to the device.
#[derive(Debug, Clone, Serialize)]
pub struct Write {
    /// What is written.
    pub component: Component,
    /// The system part's number, as in its file name; None for other components.
    pub part: Option<u8>,
    /// As Particle names the release file (`tinker`: Particle CLI's Tinker, or your
    /// application built for the target release or earlier).
    pub file: String,
    /// The state the device must be in.
    pub mode: Mode,
    /// What a person runs to write it, with `DEVICE` for the device's name or id
    /// (`particle flash --usb boron-system-part1@2.2.0.bin`).
    pub command: String,
    /// Write it only if the device needs it (the table cannot tell).
    pub optional: bool,
    /// The id of the rule that puts this write here ([`rules::Rule::id`]).
    pub rule: &'static str,
    /// The rule's reason, where it helps with what made it apply here
    /// (`bootloader 1003 -> 1005: ...`).
    pub why: String,
    /// What to do before the next write.
    pub then: Option<&'static str>,
}

/// One release installed.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// The Device OS release installed.
    pub version: String,
    /// None for a release the table does not list.
    pub module_version: Option<u16>,
    /// Why the step is there: the stop rule that requires this release, or `target`.
    pub rule: &'static str,
    /// That rule's reason.
    pub why: String,
    /// Over SWD: the `hexsmith build` command that makes the restore image.
    pub build: Option<String>,
    /// In the order they are written.
    pub writes: Vec<Write>,
    /// What the step cannot say as a write: the prebootloader changing, the bootloader
    /// coming back from the system parts, where a restore image's files come from.
    pub notes: Vec<String>,
}

/// What [`plan`] returns: the steps from one release to another, and what the planner
/// could not check. `hexsmith plan --json` serializes it (docs/json.md).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct UpgradePlan {
    /// The platform's name.
    pub platform: &'static str,
    /// The model asked for (`brn402`), where one was.
    pub model: Option<&'static str>,
    /// The release the device has.
    pub from: String,
    /// None for a release the table does not list.
    pub from_module_version: Option<u16>,
    /// The release to install.
    pub to: String,
    /// None for a release the table does not list.
    pub to_module_version: Option<u16>,
    /// How the device is written to.
    pub via: Via,
    /// [`Direction::None`] when `from` is `to`: then there are no steps.
    pub direction: Direction,
    /// One per release installed, in order; the last installs `to`.
    pub steps: Vec<Step>,
    /// What the planner could not verify, or the seeds advise against; the plan stands.
    pub warnings: Vec<UpgradeWarning>,
}

/// Which release of a plan a fault is about, named as the command line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The release the device has (`--from`).
    From,
    /// The release to install (`--to`).
    To,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::From => "--from",
            Role::To => "--to",
        })
    }
}

/// Why no plan could be made: each is a refusal of what was asked (exit 1 on the
/// command line), with what to ask instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// Neither a platform (name or id) nor a model: use one of `known`.
    #[error("unknown platform or model '{name}' (known: {known})")]
    UnknownPlatform {
        /// The name as given.
        name: String,
        /// Every platform and model name, comma-separated.
        known: String,
    },
    /// Neither a semantic version nor a system module version (digits, at most 65535).
    #[error(
        "'{arg}' is not a Device OS version (like 1.5.2) or a system module version (like 1512)"
    )]
    BadVersion {
        /// The release as given.
        arg: String,
    },
    /// No release of the table for the platform carries this module version: name the
    /// release instead.
    #[error(
        "no Device OS release for {platform} in the table carries system module version {module}"
    )]
    UnknownModule {
        /// The system module version as given.
        module: u16,
        /// The platform's name.
        platform: String,
    },
    /// Several releases carry this module version on the platform (the six 0.4.4
    /// release candidates all carry 4): name the release.
    #[error(
        "system module version {module} stands for several releases on {platform} ({releases}): name the release"
    )]
    AmbiguousModule {
        /// The system module version as given.
        module: u16,
        /// The platform's name.
        platform: String,
        /// The releases that carry it, comma-separated.
        releases: String,
    },
    /// The device cannot run one of the two releases: below its platform's or model's
    /// minimum, past its last major line, or never published for its platform.
    #[error("{role} {release}: {device} cannot run Device OS {release}: {why} ({rule})")]
    CannotRun {
        /// Which of the two releases.
        role: Role,
        /// The model's or platform's name ([`Device::name`]).
        device: String,
        /// The release.
        release: String,
        /// The id of the rule that refuses it ([`rules::Rule::id`]), named after the
        /// reason as plans name a rule after theirs.
        rule: &'static str,
        /// The seeds' or the table's reason.
        why: String,
    },
    /// The platform runs monolithic firmware (the Spark Core): there is no Device OS of
    /// its own to plan.
    #[error(
        "{platform}: {} ({}), so there is no Device OS to upgrade or downgrade",
        rules::CORE_MONOLITHIC.why,
        rules::CORE_MONOLITHIC.id
    )]
    Monolithic {
        /// The platform's name.
        platform: String,
    },
    /// Over the air from monolithic firmware (a Photon before 0.4.1): only USB can switch
    /// it to modular firmware, so plan with `--via usb`.
    #[error("--from {from}: {why} ({}): use --via usb", rules::MONOLITHIC_USB_ONLY.id)]
    MonolithicOverTheAir {
        /// The release the device has.
        from: String,
        /// The seeds' reason.
        why: String,
    },
}

/// A release the built-in table names as a bound (`min_release`, `since`, a stop's
/// `from_at_least`), as a semantic version. Only a malformed built-in table could make it
/// panic, and a unit test parses every bound.
fn table_version(release: &str) -> Version {
    Version::parse(release).expect("releases.toml bounds are semantic versions")
}

/// The plan that takes `device` from `from` to `to` by `via`: the stops the seeds require
/// on the way, then the target, each step with its writes in order. A release the table
/// cannot place on the device is planned by version order with a warning; one the device
/// cannot run is refused ([`PlanError::CannotRun`]).
///
/// ```
/// use hexsmith::upgrade::{self, Via};
///
/// let electron = upgrade::device("electron")?;
/// let from = electron.release("0.5.3")?;
/// let to = electron.release("2.2.0")?;
/// let plan = upgrade::plan(&electron, &from, &to, Via::Ota)?;
/// // Over the air an old Electron cannot jump: it stops at four releases first.
/// let steps: Vec<&str> = plan.steps.iter().map(|s| s.version.as_str()).collect();
/// assert_eq!(steps, ["0.5.5", "0.6.4", "0.7.0", "1.2.1", "2.2.0"]);
/// # Ok::<(), upgrade::PlanError>(())
/// ```
pub fn plan(
    device: &Device,
    from: &SystemRelease,
    to: &SystemRelease,
    via: Via,
) -> Result<UpgradePlan, PlanError> {
    let platform = device.platform;
    if platform.system_parts == 0 {
        return Err(PlanError::Monolithic {
            platform: platform.name.clone(),
        });
    }
    let mut warnings = Vec::new();
    // A plan's rules are about version order: a release the table cannot place on this
    // device, or does not list at all, is planned by order, with a note; only one the
    // device cannot run is refused.
    for (role, release) in [(Role::From, from), (Role::To, to)] {
        match device.runs(release) {
            Runs::Yes => {}
            Runs::No { rule, why } => {
                return Err(PlanError::CannotRun {
                    role,
                    device: device.name().to_string(),
                    release: release.release.clone(),
                    rule,
                    why,
                });
            }
            Runs::Unknown(_) if release.is_unlisted() => warnings.push(UpgradeWarning::Unlisted {
                role,
                release: release.release.clone(),
                nearby: device::nearby(release.version()),
            }),
            Runs::Unknown(why) => warnings.push(UpgradeWarning::NotKnownToRun {
                role,
                release: release.release.clone(),
                device: device.name().to_string(),
                why,
            }),
        }
    }
    let direction = match from.version().cmp(to.version()) {
        std::cmp::Ordering::Less => Direction::Upgrade,
        std::cmp::Ordering::Greater => Direction::Downgrade,
        std::cmp::Ordering::Equal => Direction::None,
    };
    let facts = device.facts();
    if let Some(b) = &facts.modular_since
        && via == Via::Ota
        && from.version() < &table_version(&b.release)
    {
        return Err(PlanError::MonolithicOverTheAir {
            from: from.release.clone(),
            why: b.why.clone(),
        });
    }
    if let Some(b) = &facts.direct_upgrade_since
        && direction == Direction::Upgrade
        && from.version() < &table_version(&b.release)
    {
        warnings.push(UpgradeWarning::DirectUpgradeUnsaid {
            why: b.why.clone(),
            rule: rules::DIRECT_UPGRADE_SINCE.id,
            from: from.release.clone(),
        });
    }
    if let Some(b) = &facts.advised_min
        && direction == Direction::Downgrade
        && to.version() < &table_version(&b.release)
    {
        warnings.push(UpgradeWarning::BelowAdvisedMinimum {
            to: to.release.clone(),
            minimum: b.release.clone(),
            why: b.why.clone(),
            rule: rules::ADVISED_MINIMUM.id,
        });
    }
    let mut plan = UpgradePlan {
        platform: &platform.name,
        model: device.model.map(|m| m.name.as_str()),
        from: from.release.clone(),
        from_module_version: from.module_version(),
        to: to.release.clone(),
        to_module_version: to.module_version(),
        via,
        direction,
        steps: Vec::new(),
        warnings,
    };
    if direction == Direction::None {
        return Ok(plan);
    }
    let stops = stops(device, from, to, via, direction, &mut plan.warnings);
    let mut releases_in_order: Vec<(&SystemRelease, &'static str, String)> = stops
        .into_iter()
        .map(|(r, rule)| (r, rule.rule.as_str(), rule.why.clone()))
        .collect();
    let target_why = match via {
        Via::Usb if direction == Direction::Upgrade => format!(
            "{}: over USB (DFU) Device OS is installed in one jump",
            rules::TARGET.why
        ),
        _ => rules::TARGET.why.to_string(),
    };
    releases_in_order.push((to, rules::TARGET.id, target_why));
    let context = steps::Context {
        device,
        via,
        direction,
        target: to,
    };
    let mut previous = from;
    for (i, (release, rule, why)) in releases_in_order.into_iter().enumerate() {
        let step = match via {
            Via::Swd => restore::step(device, release, rule, why),
            _ => context.step(previous, release, i == 0, rule, why),
        };
        plan.steps.push(step);
        previous = release;
    }
    Ok(plan)
}

/// The intermediate releases the stop rules require between `from` and `to`, in the
/// order the plan passes them, each with the rule that requires it. A rule for models
/// of the platform, when no model was named, becomes a warning.
fn stops(
    device: &Device,
    from: &SystemRelease,
    to: &SystemRelease,
    via: Via,
    direction: Direction,
    warnings: &mut Vec<UpgradeWarning>,
) -> Vec<(&'static SystemRelease, &'static StopRule)> {
    let platform = &device.platform.name;
    let between = |r: &SystemRelease| {
        let v = r.version();
        match direction {
            Direction::Upgrade => from.version() < v && v < to.version(),
            _ => to.version() < v && v < from.version(),
        }
    };
    let mut found: Vec<(&'static SystemRelease, &'static StopRule)> = Vec::new();
    for rule in &seeds().stop {
        if rule.direction != direction.data_name() || !rule.via.iter().any(|v| v == via.name()) {
            continue;
        }
        if let Some(min) = &rule.from_at_least
            && from.version() < &table_version(min)
        {
            continue;
        }
        let lines: Vec<&'static SystemRelease> = rule
            .releases
            .iter()
            .filter_map(|r| releases().release(r))
            .filter(|r| between(r))
            .collect();
        if lines.is_empty() {
            continue;
        }
        let for_platform = rule.platforms.iter().any(|p| p == platform);
        let for_model = device.model.is_some_and(|m| rule.models.contains(&m.name));
        if !(for_platform || for_model) {
            if device.model.is_none() {
                warn_of_model_rule(rule, platform, &lines, warnings);
            }
            continue;
        }
        for line in lines {
            match device.runs(line) {
                Runs::Yes => found.push((line, rule)),
                _ => warnings.push(UpgradeWarning::StopNotRun {
                    rule: rule.rule.clone(),
                    release: line.release.clone(),
                    device: device.name().to_string(),
                }),
            }
        }
    }
    found.sort_by(|a, b| a.0.version().cmp(b.0.version()));
    if direction == Direction::Downgrade {
        found.reverse();
    }
    found.dedup_by(|a, b| a.0.release == b.0.release);
    found
}

/// A stop rule for some models of a platform, when the plan names only the platform:
/// the plan cannot know, so it says which models must stop where.
fn warn_of_model_rule(
    rule: &StopRule,
    platform: &str,
    lines: &[&SystemRelease],
    warnings: &mut Vec<UpgradeWarning>,
) {
    let models: Vec<_> = seeds()
        .model
        .iter()
        .filter(|m| m.platform == platform && rule.models.contains(&m.name))
        .collect();
    for m in models {
        warnings.push(UpgradeWarning::ModelMustStop {
            display: m.display.clone(),
            model: m.name.clone(),
            at: lines.iter().map(|l| l.release.clone()).collect(),
            rule: rule.rule.clone(),
            why: rule.why.clone(),
        });
    }
}

#[cfg(test)]
mod tests;
