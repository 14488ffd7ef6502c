//! The vocabulary of what hexsmith reports: the kind of failure an error is, and the
//! envelope and versions of every JSON document. The command line turns the first into
//! exit statuses and prints the second; a program using the library may do the same.

use serde::Serialize;

/// What kind of failure an error is, which the command line turns into its exit status:
/// a refusal (exit 1) is an input that was read and judged wrong, or an output that
/// would break a rule; `Unreadable` (exit 2) is a file that could not be read or
/// written, or is not the kind of file it should be.
// Not `non_exhaustive`: each class is an exit status of the command line, so a third one
// is a change callers must handle, not one they may ignore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Read and judged wrong: exit 1.
    Refused,
    /// Not readable, or not the kind of file it should be: exit 2.
    Unreadable,
}

/// The version of every JSON document hexsmith writes (the command line's and the flash
/// layer's alike), raised when a field changes meaning or goes away; a field added keeps
/// it. Documented in docs/json.md.
pub const SCHEMA: u32 = 1;
/// The hexsmith version that wrote a document or log line.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A JSON document: [`SCHEMA`] and [`TOOL_VERSION`] first, so that a pipeline can tell
/// what it reads before reading it, then the body's fields.
#[derive(Debug, Serialize)]
pub struct Document<T: Serialize> {
    /// [`SCHEMA`].
    pub schema: u32,
    /// [`TOOL_VERSION`].
    pub version: &'static str,
    /// The document's own fields.
    #[serde(flatten)]
    pub body: T,
}

impl<T: Serialize> Document<T> {
    /// `body` in the envelope of this hexsmith.
    pub fn new(body: T) -> Self {
        Document {
            schema: SCHEMA,
            version: TOOL_VERSION,
            body,
        }
    }
}
