//! Restore-image catalogs (`restore-images/RELEASE.toml`): for each platform of a Device
//! OS release, the files that make its restore image and their SHA-256. Building from a
//! catalog refuses any file whose hash differs: the supply-chain check a manufacturer
//! wants between a download and a programming station.

use super::{BuildError, ModuleInput};
use crate::inspect::hex_lower;
use crate::platform::{self, Platform};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub release: String,
    /// Where the files come from, for people.
    #[serde(default)]
    pub source: String,
    pub platform: Vec<CatalogPlatform>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogPlatform {
    pub name: String,
    pub files: Vec<CatalogFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    pub name: String,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a valid catalog: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("{catalog}: {file} not found under {dir}")]
    Missing {
        catalog: String,
        file: String,
        dir: PathBuf,
    },
    #[error("{path}: SHA-256 {found} differs from the catalog's {expected}: refusing this input")]
    HashMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error(transparent)]
    Input(Box<crate::input::InputError>),
    #[error("{dir}: {source}")]
    Walk {
        dir: PathBuf,
        #[source]
        source: walkdir::Error,
    },
    #[error(transparent)]
    Build(#[from] BuildError),
}

impl CatalogError {
    /// A catalog or folder that cannot be read, or a catalog that is not valid, is
    /// `Unreadable`; a file that is missing or differs from the catalog is refused.
    pub fn failure(&self) -> crate::Failure {
        match self {
            CatalogError::Io { .. } | CatalogError::Invalid { .. } | CatalogError::Walk { .. } => {
                crate::Failure::Unreadable
            }
            CatalogError::Input(e) => e.failure(),
            CatalogError::Build(b) => b.failure(),
            CatalogError::Missing { .. } | CatalogError::HashMismatch { .. } => {
                crate::Failure::Refused
            }
        }
    }
}

impl Catalog {
    pub fn read(path: &Path) -> Result<Catalog, CatalogError> {
        let bytes = crate::input::read_bytes(path).map_err(|e| CatalogError::Input(Box::new(e)))?;
        let text = String::from_utf8(bytes).map_err(|_| CatalogError::Invalid {
            path: path.to_path_buf(),
            reason: "not UTF-8 text".to_string(),
        })?;
        let catalog: Catalog = toml::from_str(&text).map_err(|e| CatalogError::Invalid {
            path: path.to_path_buf(),
            reason: e.message().to_string(),
        })?;
        for (i, p) in catalog.platform.iter().enumerate() {
            if platform::by_name(&p.name).is_none() {
                return Err(CatalogError::Invalid {
                    path: path.to_path_buf(),
                    reason: format!("unknown platform {:?}", p.name),
                });
            }
            if catalog.platform[..i].iter().any(|q| q.name == p.name) {
                return Err(CatalogError::Invalid {
                    path: path.to_path_buf(),
                    reason: format!(
                        "platform {:?} is listed twice ([[platform]] number {}): list each platform once",
                        p.name,
                        i + 1
                    ),
                });
            }
            for f in &p.files {
                let is_sha256 =
                    f.sha256.len() == 64 && f.sha256.bytes().all(|b| b.is_ascii_hexdigit());
                if !is_sha256 {
                    return Err(CatalogError::Invalid {
                        path: path.to_path_buf(),
                        reason: format!("{}: sha256 {:?} is not 64 hex digits", f.name, f.sha256),
                    });
                }
            }
        }
        Ok(catalog)
    }
}

/// Every file below a folder, at any depth, by file name.
pub struct FileIndex {
    dir: PathBuf,
    files: BTreeMap<String, Vec<PathBuf>>,
}

impl FileIndex {
    pub fn new(dir: &Path) -> Result<FileIndex, CatalogError> {
        Ok(FileIndex {
            dir: dir.to_path_buf(),
            files: index_files(dir)?,
        })
    }
}

/// Finds each of a platform's files in the index and reads it, refusing a file whose
/// SHA-256 differs from the catalog's.
pub fn collect(
    catalog_name: &str,
    entry: &CatalogPlatform,
    index: &FileIndex,
) -> Result<(&'static Platform, Vec<ModuleInput>), CatalogError> {
    let platform = platform::by_name(&entry.name).expect("checked when read");
    let dir = &index.dir;
    let index = &index.files;
    let mut modules = Vec::new();
    for file in &entry.files {
        let candidates = index.get(&file.name).map(Vec::as_slice).unwrap_or(&[]);
        let mut mismatch = None;
        let mut chosen = None;
        for path in candidates {
            let bytes =
                crate::input::read_bytes(path).map_err(|e| CatalogError::Input(Box::new(e)))?;
            let found = hex_lower(&Sha256::digest(&bytes));
            if found.eq_ignore_ascii_case(&file.sha256) {
                chosen = Some((path, bytes));
                break;
            }
            mismatch.get_or_insert((path.clone(), found));
        }
        match (chosen, mismatch) {
            (Some((path, bytes)), _) => {
                modules.push(ModuleInput::from_bytes(path.display().to_string(), bytes)?)
            }
            (None, Some((path, found))) => {
                return Err(CatalogError::HashMismatch {
                    path,
                    expected: file.sha256.clone(),
                    found,
                });
            }
            (None, None) => {
                return Err(CatalogError::Missing {
                    catalog: catalog_name.to_string(),
                    file: file.name.clone(),
                    dir: dir.to_path_buf(),
                });
            }
        }
    }
    Ok((platform, modules))
}

/// Every file below `dir`, following links to folders but never around a loop, which
/// `walkdir` detects.
fn index_files(dir: &Path) -> Result<BTreeMap<String, Vec<PathBuf>>, CatalogError> {
    let mut index: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(true) {
        let entry = match entry {
            Ok(entry) => entry,
            // A link back to a folder above: everything below it is indexed already.
            Err(e) if e.loop_ancestor().is_some() => continue,
            Err(source) => {
                return Err(CatalogError::Walk {
                    dir: dir.to_path_buf(),
                    source,
                });
            }
        };
        if entry.file_type().is_dir() {
            continue;
        }
        if let Some(name) = entry.file_name().to_str() {
            index
                .entry(name.to_string())
                .or_default()
                .push(entry.into_path());
        }
    }
    for paths in index.values_mut() {
        paths.sort();
    }
    Ok(index)
}
