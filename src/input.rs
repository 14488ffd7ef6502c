//! Reading a file as whatever it is: a module binary, an Intel HEX image or an ELF file.
//! The content decides; the extension only breaks ties, so a misnamed file still reads.

use crate::memory::{MemoryImage, elf, hex};
use crate::module::{Module, ModuleError};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Module,
    Hex,
    Elf,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Module => "module",
            Format::Hex => "hex",
            Format::Elf => "elf",
        }
    }
}

#[derive(Debug)]
pub enum Input {
    Module { bytes: Vec<u8>, module: Module },
    Image { format: Format, image: MemoryImage },
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: larger than {} MiB, more than any Particle device's flash: not a module or image",
        MAX_INPUT_LEN >> 20
    )]
    TooLarge { path: PathBuf },
    #[error("{path}: not a Particle module: {source}")]
    Module { path: PathBuf, source: ModuleError },
    #[error("{path}: malformed Intel HEX: {source}")]
    Hex {
        path: PathBuf,
        source: hex::HexError,
    },
    #[error("{path}: {source}")]
    Elf {
        path: PathBuf,
        source: elf::ElfError,
    },
}

impl InputError {
    /// Every input error means the file cannot be used as what it was given as.
    pub fn failure(&self) -> crate::Failure {
        crate::Failure::Unreadable
    }

    pub fn path(&self) -> &Path {
        match self {
            InputError::Io { path, .. }
            | InputError::TooLarge { path }
            | InputError::Module { path, .. }
            | InputError::Hex { path, .. }
            | InputError::Elf { path, .. } => path,
        }
    }
}

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

/// Reads a whole input file, refusing one over [`MAX_INPUT_LEN`] before reading it (by
/// its size) or as soon as it passes the limit (a pipe or device, such as /dev/zero).
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, InputError> {
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
    if meta.is_file() && meta.len() > MAX_INPUT_LEN {
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
    file.take(MAX_INPUT_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_INPUT_LEN {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

pub fn read(path: &Path) -> Result<Input, InputError> {
    let bytes = read_bytes(path)?;
    parse(path, bytes)
}

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
