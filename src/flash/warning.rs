//! Why an image that may be written may still not run.

use serde::{Serialize, Serializer};
use std::fmt;

/// What [`check_before_writing`](super::check_before_writing) lets through. Shown to
/// people and written to JSON as its sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobWarning {
    /// A module needs one the image does not hold: the device must already have it (an
    /// image of an application alone relies on the Device OS on the device).
    DependencyNotInImage {
        /// The [`ModuleFunction::name`](crate::module::ModuleFunction::name) of the module.
        function: &'static str,
        /// Its index.
        index: u8,
        /// The function name of the module it needs.
        needs: &'static str,
        /// That module's index.
        needs_index: u8,
        /// The lowest version that would do.
        version: u16,
    },
}

impl fmt::Display for JobWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobWarning::DependencyNotInImage {
                function,
                index,
                needs,
                needs_index,
                version,
            } => write!(
                f,
                "{function} {index} needs {needs} {needs_index} version {version} or later, which the image does not hold: the device must already have it"
            ),
        }
    }
}

// JSON documents carry warnings as the sentences people read (docs/json.md).
impl Serialize for JobWarning {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
