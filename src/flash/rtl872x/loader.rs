//! Particle's RAM flash loader for the RTL872x, as an input: hexsmith does not carry it
//! (it is Particle's code, LGPL-3.0, in every Device OS source tree as
//! `scripts/rtl872x.tcl`), so the user names the file and hexsmith checks what it holds.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// SHA-256 of the loader's bytes in Device OS `scripts/rtl872x.tcl` (6.2.0; spec 4.1):
/// the one loader whose mailbox protocol hexsmith was built and tested against.
pub const KNOWN_SHA256: &str = "672452925fbd6c00770d8a67bf258c430436100dae3e39518adf4ca66962835d";

/// Where the script writes the loader: the KM0 RAM image the boot ROM starts when
/// BOOT_CFG bit 26 is set.
pub const LOAD_ADDRESS: u32 = 0x0008_2000;

/// The environment variable naming the loader file when `--rtl872x-loader` is not given.
pub const ENV_VAR: &str = "HEXSMITH_RTL872X_LOADER";

/// The list the script writes with `write_memory` (newer OpenOCD).
const LIST_NAME: &str = "rtl872x_flash_loader_binary_list";
/// The same words as an index/value array, for older OpenOCD's `array2mem`.
const ARRAY_NAME: &str = "rtl872x_flash_loader_binary_array";

/// The KM0 RAM from the load address up: a loader must fit below 0x0009_0000 (Device OS
/// `scripts/init_km0.gdb`: KM0 RAM 0x00080000-0x0008FFFF).
const MAX_LEN: usize = 0x0009_0000 - LOAD_ADDRESS as usize;

/// A loader ready to be written to the chip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loader {
    /// The loader's bytes, as they go to [`LOAD_ADDRESS`].
    pub bytes: Vec<u8>,
    /// SHA-256 of [`Loader::bytes`], lower-case hex.
    pub sha256: String,
    /// The file it came from.
    pub path: PathBuf,
}

/// Why no loader could be had. Each message names the file and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoaderError {
    /// No `--rtl872x-loader` and no `HEXSMITH_RTL872X_LOADER`.
    #[error(
        "programming an RTL872x needs Particle's flash loader: pass --rtl872x-loader FILE (or set HEXSMITH_RTL872X_LOADER) naming scripts/rtl872x.tcl of a Device OS source tree (github.com/particle-iot/device-os) or of a Particle Workbench installation, or the loader as a raw .bin"
    )]
    Missing,
    /// The file could not be read.
    #[error("{path}: cannot read the RTL872x flash loader: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file holds no loader hexsmith can take.
    #[error("{path}: {reason}")]
    NotALoader {
        /// The file.
        path: PathBuf,
        /// What is wrong, and what to give instead.
        reason: String,
    },
    /// The file holds a loader other than the one hexsmith knows.
    #[error(
        "{path}: unknown RTL872x flash loader (SHA-256 {sha256}, expected {KNOWN_SHA256}, the one in Device OS 6.2.0 scripts/rtl872x.tcl): its mailbox protocol may differ; use that file, or pass --allow-unknown-loader to try this one anyway"
    )]
    Unknown {
        /// The file.
        path: PathBuf,
        /// The loader's SHA-256.
        sha256: String,
    },
}

impl LoaderError {
    /// A file that is not a loader is unreadable; a missing or unknown loader is refused.
    pub fn failure(&self) -> crate::report::Failure {
        match self {
            LoaderError::Read { .. } | LoaderError::NotALoader { .. } => {
                crate::report::Failure::Unreadable
            }
            LoaderError::Missing | LoaderError::Unknown { .. } => crate::report::Failure::Refused,
        }
    }
}

/// The loader file to use: the flag's, else the environment variable's (an empty value
/// counts as unset).
pub fn locate(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf).or_else(|| {
        std::env::var_os(ENV_VAR)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// Reads and checks the loader in `path`: Particle's Tcl script or a raw binary. An
/// unknown loader is refused unless `allow_unknown`.
pub fn load(path: &Path, allow_unknown: bool) -> Result<Loader, LoaderError> {
    let content = std::fs::read(path).map_err(|source| LoaderError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = parse(&content).map_err(|reason| LoaderError::NotALoader {
        path: path.to_path_buf(),
        reason,
    })?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    if sha256 != KNOWN_SHA256 && !allow_unknown {
        return Err(LoaderError::Unknown {
            path: path.to_path_buf(),
            sha256,
        });
    }
    Ok(Loader {
        bytes,
        sha256,
        path: path.to_path_buf(),
    })
}

/// The loader's bytes from a file's content: the words of the script's list (or, in an
/// older script, its array), or the content itself as a raw binary.
pub fn parse(content: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(content).ok();
    let bytes = match text {
        Some(t) if t.contains(LIST_NAME) => words_of_list(t)?,
        Some(t) if t.contains(ARRAY_NAME) => words_of_array(t)?,
        Some(t) if t.contains("proc ") || t.contains("set ") => {
            return Err(format!(
                "a Tcl script without the flash loader (no {LIST_NAME}): give Device OS scripts/rtl872x.tcl or the loader as a raw .bin"
            ));
        }
        _ => content.to_vec(),
    };
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return Err(format!(
            "{} bytes is not a flash loader (a whole number of 32-bit words is expected): give Device OS scripts/rtl872x.tcl or the loader as a raw .bin",
            bytes.len()
        ));
    }
    if bytes.len() > MAX_LEN {
        return Err(format!(
            "{} bytes is not a flash loader: it would not fit the KM0 RAM from {LOAD_ADDRESS:#010x} ({MAX_LEN} bytes)",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// The text between the braces that follow `set NAME {`.
fn braced<'a>(text: &'a str, name: &str) -> Result<&'a str, String> {
    let at = text
        .find(&format!("{name} {{"))
        .ok_or_else(|| format!("{name} is not followed by a braced list"))?;
    let body = &text[at + name.len() + 2..];
    let end = body
        .find('}')
        .ok_or_else(|| format!("{name}: the list is not closed by a brace"))?;
    Ok(&body[..end])
}

fn word(token: &str, name: &str) -> Result<u32, String> {
    token
        .strip_prefix("0x")
        .or_else(|| token.strip_prefix("0X"))
        .filter(|h| !h.is_empty() && h.len() <= 8)
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or_else(|| format!("{name}: {token:?} is not a 32-bit hex word"))
}

fn words_of_list(text: &str) -> Result<Vec<u8>, String> {
    braced(text, LIST_NAME)?
        .split_whitespace()
        .map(|t| word(t, LIST_NAME).map(u32::to_le_bytes))
        .collect::<Result<Vec<_>, _>>()
        .map(|w| w.concat())
}

fn words_of_array(text: &str) -> Result<Vec<u8>, String> {
    let tokens: Vec<&str> = braced(text, ARRAY_NAME)?.split_whitespace().collect();
    if !tokens.len().is_multiple_of(2) {
        return Err(format!("{ARRAY_NAME}: an index without a value"));
    }
    let mut words = vec![None; tokens.len() / 2];
    for pair in tokens.chunks(2) {
        let index: usize = pair[0]
            .parse()
            .ok()
            .filter(|i| *i < words.len())
            .ok_or_else(|| format!("{ARRAY_NAME}: index {:?} is out of order", pair[0]))?;
        words[index] = Some(word(pair[1], ARRAY_NAME)?);
    }
    words
        .into_iter()
        .map(|w| w.map(u32::to_le_bytes))
        .collect::<Option<Vec<_>>>()
        .map(|w| w.concat())
        .ok_or_else(|| format!("{ARRAY_NAME}: an index is missing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_gives_its_words_little_endian() {
        let script = "set x 1\nset rtl872x_flash_loader_binary_list {\n 0x00082051 0x0013B560\n}\n";
        assert_eq!(
            parse(script.as_bytes()).unwrap(),
            [0x51, 0x20, 0x08, 0x00, 0x60, 0xB5, 0x13, 0x00]
        );
    }

    #[test]
    fn the_array_form_gives_the_same_words() {
        let script =
            "array set rtl872x_flash_loader_binary_array {\n 1 0x0013B560 0 0x00082051\n}\n";
        assert_eq!(
            parse(script.as_bytes()).unwrap(),
            [0x51, 0x20, 0x08, 0x00, 0x60, 0xB5, 0x13, 0x00]
        );
    }

    #[test]
    fn bad_words_and_scripts_without_the_loader_are_refused() {
        let bad = "set rtl872x_flash_loader_binary_list { 0x1 zz }";
        assert!(parse(bad.as_bytes()).unwrap_err().contains("\"zz\""));
        let other = "proc foo {} { set a 1 }";
        assert!(
            parse(other.as_bytes())
                .unwrap_err()
                .contains("without the flash loader")
        );
        assert!(parse(&[1, 2, 3]).unwrap_err().contains("32-bit words"));
        assert!(
            parse(&vec![0; MAX_LEN + 4])
                .unwrap_err()
                .contains("KM0 RAM")
        );
    }

    #[test]
    fn an_unknown_loader_is_refused_unless_allowed() {
        let dir = std::env::temp_dir().join(format!("hexsmith-loader-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("other.bin");
        std::fs::write(&path, [0u8; 64]).unwrap();
        let refused = load(&path, false).unwrap_err().to_string();
        assert!(
            refused.contains("unknown RTL872x flash loader"),
            "{refused}"
        );
        assert!(refused.contains("--allow-unknown-loader"), "{refused}");
        assert_eq!(load(&path, true).unwrap().bytes, [0u8; 64]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
