//! What a build or a replacement allowed that a device may not like.

use serde::{Serialize, Serializer};
use std::fmt;

/// A problem [`build`](super::build) or [`replace_user`](super::replace::replace_user)
/// let through instead of refusing. Shown to people and written to JSON as its sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildWarning {
    /// A module's dependency the image does not meet, allowed by `allow_safe_mode`: the
    /// device will start in safe mode.
    UnmetDependency {
        /// What the errors call the module's input.
        name: String,
        /// What it needs and what the image holds instead.
        message: String,
    },
    /// An nRF52840 image built without the Nordic MBR.
    NoMbr,
}

impl fmt::Display for BuildWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildWarning::UnmetDependency { name, message } => {
                write!(f, "{name}: {message} (allowed by --allow-safe-mode)")
            }
            BuildWarning::NoMbr => f.write_str(
                "no MBR given (--mbr): the image carries no Nordic MBR and must never be written after a full chip erase",
            ),
        }
    }
}

// JSON documents carry warnings as the sentences people read (docs/json.md).
impl Serialize for BuildWarning {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
