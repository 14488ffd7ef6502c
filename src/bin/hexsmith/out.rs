//! Standard output as a pipeline sees it, and the JSON documents written to it.
//!
//! A reader that has what it wants closes the pipe (`hexsmith versions | head -1`). That
//! is not a failure of hexsmith's job, and must never abort one half done (a device
//! half flashed), so output to a closed pipe is dropped and the command runs to its end
//! with the exit status its work earns.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);
static FAILED: AtomicBool = AtomicBool::new(false);

/// Standard output, with a closed pipe taken as "the reader is done".
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if CLOSED.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        match io::stdout().lock().write(buf) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                CLOSED.store(true, Ordering::Relaxed);
                Ok(buf.len())
            }
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if CLOSED.load(Ordering::Relaxed) {
            return Ok(());
        }
        match io::stdout().lock().flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                CLOSED.store(true, Ordering::Relaxed);
                Ok(())
            }
            other => other,
        }
    }
}

/// Writes text to standard output. Any failure but a closed pipe (a full disk behind a
/// redirect) is reported once and makes the command fail: output was lost.
pub fn print(args: fmt::Arguments) {
    let mut out = Stdout;
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush())
        && !FAILED.swap(true, Ordering::Relaxed)
    {
        eprintln!("error: writing to standard output: {e}");
    }
}

/// Whether some output could not be written for a reason other than a closed pipe.
pub fn failed() -> bool {
    FAILED.load(Ordering::Relaxed)
}

/// `println!` for standard output that survives a closed pipe.
macro_rules! outln {
    () => { $crate::out::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::print(format_args!("{}\n", format_args!($($arg)*))) };
}
pub(crate) use outln;

pub use hexsmith::report::{Document, SCHEMA};

/// Prints one JSON document, pretty, on standard output.
pub fn json<T: Serialize>(body: T) -> anyhow::Result<()> {
    print_document(&Document::new(body))
}

/// Prints a document that carries its own `schema` and `version` (the library's flash
/// documents), pretty, on standard output.
pub fn print_document(document: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(document)?;
    print(format_args!("{text}\n"));
    Ok(())
}

/// What went wrong, for a pipeline that reads `--json` output: the same line as on
/// standard error, and its class, which is also the exit status.
#[derive(Serialize)]
pub struct ErrorBody<'a> {
    pub error: ErrorReport<'a>,
}

#[derive(Serialize)]
pub struct ErrorReport<'a> {
    /// `refused`, `unreadable` or `usage`.
    pub kind: &'static str,
    pub exit_status: u8,
    pub message: &'a str,
}

/// Writes through `fill` into `sink` and returns the SHA-256 of the bytes written, so
/// that a file's hash (what `sha256sum` prints) costs no second read.
pub fn sha256_of_writing<W: Write>(
    sink: W,
    fill: impl FnOnce(&mut HashingWriter<W>) -> io::Result<()>,
) -> io::Result<String> {
    let mut hashing = HashingWriter {
        inner: sink,
        hasher: Sha256::new(),
    };
    fill(&mut hashing)?;
    Ok(hex::encode(hashing.hasher.finalize()))
}

/// Hashes what passes through it, so that the file's SHA-256 costs no second read.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Stages `image` as Intel HEX at `path` and returns the SHA-256 of the file's bytes.
pub fn stage_hex(
    outputs: &mut hexsmith::output::OutputSet,
    path: &std::path::Path,
    image: &hexsmith::memory::MemoryImage,
) -> Result<String, hexsmith::output::OutputError> {
    let mut sha256 = String::new();
    outputs.stage(path, |file| {
        sha256 = sha256_of_writing(file, |w| hexsmith::memory::hex::write_to(image, w))?;
        Ok(())
    })?;
    Ok(sha256)
}
