//! What a plan could not settle from the seeds and the release table.

use super::Role;
use serde::{Serialize, Serializer};
use std::fmt;

/// A note of [`plan`](super::plan): planned anyway, but by version order or with a rule
/// that may not apply. Shown to people and written to JSON as its sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpgradeWarning {
    /// A release hexsmith's table does not list.
    Unlisted {
        /// `--from` or `--to`.
        role: Role,
        /// The release as asked.
        release: String,
        /// The listed releases near it, as a clause (empty when there are none).
        nearby: String,
    },
    /// A listed release the table cannot place on this device.
    NotKnownToRun {
        /// `--from` or `--to`.
        role: Role,
        /// The release as asked.
        release: String,
        /// The platform or model.
        device: String,
        /// What the table knows instead.
        why: String,
    },
    /// An upgrade from below the release the seeds start to speak of direct upgrades.
    DirectUpgradeUnsaid {
        /// The seeds' reason.
        why: String,
        /// The rule's id.
        rule: &'static str,
        /// The release upgraded from.
        from: String,
    },
    /// A downgrade below the release the seeds advise as a minimum.
    BelowAdvisedMinimum {
        /// The release downgraded to.
        to: String,
        /// The advised minimum.
        minimum: String,
        /// The seeds' reason.
        why: String,
        /// The rule's id.
        rule: &'static str,
    },
    /// A stop a rule names that the device cannot run, left out.
    StopNotRun {
        /// The stop rule's name.
        rule: String,
        /// The release it names.
        release: String,
        /// The platform or model.
        device: String,
    },
    /// A stop rule for some models of the platform when only the platform was named.
    ModelMustStop {
        /// The model as people call it.
        display: String,
        /// The model's name, as `--model` takes it.
        model: String,
        /// Where it must stop.
        at: Vec<String>,
        /// The stop rule's name.
        rule: String,
        /// The seeds' reason.
        why: String,
    },
}

impl fmt::Display for UpgradeWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpgradeWarning::Unlisted {
                role,
                release,
                nearby,
            } => write!(
                f,
                "{role} {release}: Device OS {release} is not in hexsmith's release table{nearby}: planned by version order, its module versions and files unchecked"
            ),
            UpgradeWarning::NotKnownToRun {
                role,
                release,
                device,
                why,
            } => write!(
                f,
                "{role} {release}: not known to run on {device}: {why}: planned by version order"
            ),
            UpgradeWarning::DirectUpgradeUnsaid { why, rule, from } => {
                write!(f, "{why} ({rule}): from {from} the seeds do not say")
            }
            UpgradeWarning::BelowAdvisedMinimum {
                to,
                minimum,
                why,
                rule,
            } => write!(f, "{to} is below {minimum}: {why} ({rule})"),
            UpgradeWarning::StopNotRun {
                rule,
                release,
                device,
            } => write!(
                f,
                "{rule} names {release}, which {device} is not known to run: skipped"
            ),
            UpgradeWarning::ModelMustStop {
                display,
                model,
                at,
                rule,
                why,
            } => write!(
                f,
                "if this is a {display}, plan for {model} instead: it must stop at {} ({rule}: {why})",
                at.join(", ")
            ),
        }
    }
}

// JSON documents carry warnings as the sentences people read (docs/json.md).
impl Serialize for UpgradeWarning {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
