//! What an image's inspection found that fails no check but matters.

use serde::{Serialize, Serializer};
use std::fmt;

/// A finding of [`inspect_image`](super::inspect_image) that is not a failed check.
/// Shown to people and written to JSON as its sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageWarning {
    /// An nRF52840 image without the Nordic MBR: a full chip erase clears it, and nothing
    /// would put it back.
    NoNordicMbr,
    /// The module search gave up at this address (more overlapping candidates than any
    /// real image holds).
    SearchStopped {
        /// Where the search stopped.
        at: u64,
    },
    /// Neither a module nor a radio stack.
    NoModule,
    /// The modules name a platform hexsmith does not know.
    UnknownPlatform {
        /// The platform id they name.
        id: u16,
    },
}

impl fmt::Display for ImageWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageWarning::NoNordicMbr => f.write_str(
                "no Nordic MBR at 0x00000000-0x00000FFF: this image must never be written after a full chip erase",
            ),
            ImageWarning::SearchStopped { at } => write!(
                f,
                "module search stopped at {at:#010x}: the image holds more overlapping module candidates than any real image; modules past it are not reported"
            ),
            ImageWarning::NoModule => f.write_str("no Particle module found"),
            ImageWarning::UnknownPlatform { id } => write!(
                f,
                "its modules are for platform {id}, which hexsmith does not know: slots and platform checks are unknown"
            ),
        }
    }
}

// JSON documents carry warnings as the sentences people read (docs/json.md).
impl Serialize for ImageWarning {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
