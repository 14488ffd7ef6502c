//! Reading a file as whatever it is: a module binary, an Intel HEX image or an ELF file.
//! The content decides; the extension only breaks ties, so a misnamed file still reads.

use crate::memory::{MemoryImage, elf, hex};
use crate::module::{Module, ModuleError};
use std::path::{Path, PathBuf};

/// What a file holds, as [`sniff`] judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A module binary (`.bin`): whatever is neither ELF nor Intel HEX.
    Module,
    /// Intel HEX: by extension (`.hex`, `.ihex`, `.ihx`), or by a first byte `:`.
    Hex,
    /// ELF: by its magic number whatever the name, or by extension (`.elf`).
    Elf,
}

/// A file as read: one module, or a memory image that may hold many.
#[derive(Debug)]
pub enum Input {
    /// A module binary.
    Module {
        /// The whole file.
        bytes: Vec<u8>,
        /// `bytes` parsed; its CRC and SHA-256 are computed but not judged.
        module: Module,
    },
    /// An Intel HEX or ELF file.
    Image {
        /// Which of the two.
        format: Format,
        /// Its bytes at their addresses: a HEX file's data records, an ELF file's
        /// loadable segments at their physical addresses.
        image: MemoryImage,
    },
}

/// Why a file could not be used as an input. Every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The file could not be opened or read, or is a folder.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_INPUT_LEN`]: no module or image is that large.
    #[error(
        "{path}: larger than {} MiB, more than any Particle device's flash: not a module or image",
        MAX_INPUT_LEN >> 20
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The command's inputs together pass [`MAX_TOTAL_INPUT_LEN`]; `path` is the one
    /// that passed it.
    #[error(
        "{path}: the command's inputs together pass {} MiB, more than any device's modules: give fewer or smaller files",
        MAX_TOTAL_INPUT_LEN >> 20
    )]
    TotalTooLarge {
        /// The input being read when the total passed the limit.
        path: PathBuf,
    },
    /// The file was taken for a module binary (it is neither ELF nor Intel HEX) but is
    /// not a valid module.
    #[error("{path}: not a Particle module: {source}")]
    Module {
        /// The file, or the name given to
        /// [`ModuleInput::from_bytes`](crate::compose::ModuleInput::from_bytes).
        path: PathBuf,
        /// What is wrong with it.
        source: ModuleError,
    },
    /// The file was taken for Intel HEX but is not valid Intel HEX.
    #[error("{path}: malformed Intel HEX: {source}")]
    Hex {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its line where there is one.
        source: hex::HexError,
    },
    /// The file was taken for ELF but cannot be loaded.
    #[error("{path}: {source}")]
    Elf {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: elf::ElfError,
    },
}

impl InputError {
    /// Every input error means the file cannot be used as what it was given as.
    pub fn failure(&self) -> crate::report::Failure {
        crate::report::Failure::Unreadable
    }

    /// The file the error is about, for a caller that reports it its own way.
    pub fn path(&self) -> &Path {
        match self {
            InputError::Io { path, .. }
            | InputError::TooLarge { path }
            | InputError::TotalTooLarge { path }
            | InputError::Module { path, .. }
            | InputError::Hex { path, .. }
            | InputError::Elf { path, .. } => path,
        }
    }
}

/// What `bytes` (read from `path`) are: ELF by its magic number first, then by the
/// extension (`.hex`, `.ihex`, `.ihx`, `.elf`, any case), then Intel HEX by a first byte
/// `:`, and otherwise a module. It never fails: a file judged wrongly fails in [`parse`].
pub fn sniff(path: &Path, bytes: &[u8]) -> Format {
    if bytes.starts_with(b"\x7fELF") {
        return Format::Elf;
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("hex" | "ihex" | "ihx") => Format::Hex,
        Some("elf") => Format::Elf,
        _ if bytes.first() == Some(&b':') => Format::Hex,
        _ => Format::Module,
    }
}

/// The most any input may hold: more than the flash of any Particle device (the largest
/// has 8 MiB, and an Intel HEX file of it is under 24 MiB).
pub const MAX_INPUT_LEN: u64 = 64 << 20;

/// The most one command reads from all its inputs together ([`ReadBudget`]): twice
/// what one input may hold, more than all the modules of any device.
pub const MAX_TOTAL_INPUT_LEN: u64 = 2 * MAX_INPUT_LEN;

/// What one command may still read, so that many inputs (forty large modules, a catalog
/// whose folder holds a file's name a thousand times) cost no more than a bounded total.
#[derive(Debug, Clone)]
pub struct ReadBudget {
    left: u64,
}

impl Default for ReadBudget {
    fn default() -> ReadBudget {
        ReadBudget {
            left: MAX_TOTAL_INPUT_LEN,
        }
    }
}

impl ReadBudget {
    /// [`read_bytes`], counted against the budget: refused with
    /// [`InputError::TotalTooLarge`] as soon as the total passes it.
    pub fn read_bytes(&mut self, path: &Path) -> Result<Vec<u8>, InputError> {
        let limit = self.left.min(MAX_INPUT_LEN);
        let bytes = read_within(path, limit).map_err(|e| match e {
            InputError::TooLarge { path } if limit < MAX_INPUT_LEN => {
                InputError::TotalTooLarge { path }
            }
            other => other,
        })?;
        self.left -= bytes.len() as u64;
        Ok(bytes)
    }

    /// [`read`], counted against the budget.
    pub fn read(&mut self, path: &Path) -> Result<Input, InputError> {
        let bytes = self.read_bytes(path)?;
        parse(path, bytes)
    }
}

/// Reads a whole input file, refusing one over [`MAX_INPUT_LEN`] before reading it (by
/// its size) or as soon as it passes the limit (a pipe or device, such as /dev/zero).
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, InputError> {
    read_within(path, MAX_INPUT_LEN)
}

fn read_within(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    use std::io::Read;
    let io = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "a folder, not a file",
        )));
    }
    if meta.is_file() && meta.len() > limit {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let capacity = if meta.is_file() {
        meta.len() as usize
    } else {
        0
    };
    let mut bytes = Vec::with_capacity(capacity);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

/// Reads `path` ([`read_bytes`]) and parses it as what it is ([`parse`]): the way in for
/// a file whose kind is not known.
pub fn read(path: &Path) -> Result<Input, InputError> {
    let bytes = read_bytes(path)?;
    parse(path, bytes)
}

/// Parses bytes already read from `path`, as [`sniff`] judges them; `path` names the
/// file in errors. An Intel HEX start address (record 03 or 05) is not kept.
pub fn parse(path: &Path, bytes: Vec<u8>) -> Result<Input, InputError> {
    let path_buf = || path.to_path_buf();
    match sniff(path, &bytes) {
        Format::Module => match Module::parse(&bytes) {
            Ok(module) => Ok(Input::Module { bytes, module }),
            Err(source) => Err(InputError::Module {
                path: path_buf(),
                source,
            }),
        },
        Format::Hex => {
            let (image, _) = hex::parse(&bytes).map_err(|source| InputError::Hex {
                path: path_buf(),
                source,
            })?;
            Ok(Input::Image {
                format: Format::Hex,
                image,
            })
        }
        Format::Elf => {
            let image = elf::load(&bytes).map_err(|source| InputError::Elf {
                path: path_buf(),
                source,
            })?;
            Ok(Input::Image {
                format: Format::Elf,
                image,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each file within the single-file limit, the third passes the command's total:
    /// refused as it is read, naming it.
    #[test]
    fn a_budget_bounds_what_one_command_reads_in_all() {
        let dir = tempfile::tempdir().unwrap();
        let mut budget = ReadBudget::default();
        for k in 0..3 {
            let path = dir.path().join(format!("{k}.bin"));
            std::fs::File::create(&path)
                .unwrap()
                .set_len(50 << 20)
                .unwrap();
            let read = budget.read_bytes(&path);
            if k < 2 {
                assert_eq!(read.unwrap().len(), 50 << 20);
            } else {
                let e = read.unwrap_err();
                assert!(matches!(e, InputError::TotalTooLarge { .. }), "{e}");
                assert!(e.to_string().starts_with(&format!("{}:", path.display())));
            }
        }
    }
}
