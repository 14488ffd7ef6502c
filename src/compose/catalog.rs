//! Restore-image catalogs (`restore-images/RELEASE.toml`): for each platform of a Device
//! OS release, the files that make its restore image and their SHA-256. Building from a
//! catalog refuses any file whose hash differs: the supply-chain check a manufacturer
//! wants between a download and a programming station.

use super::{BuildError, ModuleInput};
use crate::platform::{self, Platform};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One catalog file, checked by [`Catalog::read`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// The Device OS release the files are of, e.g. `4.0.1`. Informative: nothing checks
    /// it against the modules' versions.
    pub release: String,
    /// Where the files come from, for people.
    #[serde(default)]
    pub source: String,
    /// One entry per platform (`[[platform]]`), each a platform hexsmith knows, each
    /// listed once.
    pub platform: Vec<CatalogPlatform>,
}

/// One platform's restore image: the files that make it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogPlatform {
    /// The platform's name in hexsmith's platform table, e.g. `boron`.
    pub name: String,
    /// The module files, in any order: [`build`](super::build) sorts them by address.
    pub files: Vec<CatalogFile>,
}

/// One file and the hash it must have.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    /// The file name, without a folder: [`collect`] looks for it anywhere below the
    /// folder of its [`FileIndex`].
    pub name: String,
    /// The file's SHA-256, 64 hex digits of either case.
    pub sha256: String,
}

/// Why a catalog could not be read, or a platform's files not collected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// The catalog is not UTF-8 TOML of the catalog's shape (an unknown field is an
    /// error too), names an unknown platform or one twice, or has a `sha256` that is not
    /// 64 hex digits: fix the catalog.
    #[error("{path}: not a valid catalog: {reason}")]
    Invalid {
        /// The catalog file.
        path: PathBuf,
        /// What is wrong, as the TOML parser or the check says.
        reason: String,
    },
    /// No file of a name the catalog lists lies anywhere below the folder: fetch it.
    #[error("{catalog}: {file} not found under {dir}")]
    Missing {
        /// The catalog, as its caller names it.
        catalog: String,
        /// The file name the catalog lists.
        file: String,
        /// The folder searched.
        dir: PathBuf,
    },
    /// Every file of the listed name differs from the catalog's SHA-256: it is not the
    /// file the catalog vouches for (a damaged or substituted download).
    #[error("{path}: SHA-256 {found} differs from the catalog's {expected}: refusing this input")]
    HashMismatch {
        /// The first file of that name, in path order.
        path: PathBuf,
        /// The catalog's SHA-256, as written there.
        expected: String,
        /// The file's SHA-256, lower-case hex.
        found: String,
    },
    /// The catalog or a listed file could not be read.
    #[error(transparent)]
    Input(Box<crate::input::InputError>),
    /// The folder of a [`FileIndex`] could not be walked: a folder below it could not be
    /// listed, or a link could not be followed.
    #[error("{dir}: {source}")]
    Walk {
        /// The folder given to [`FileIndex::new`].
        dir: PathBuf,
        /// What went wrong, and where.
        #[source]
        source: walkdir::Error,
    },
    /// A file with the catalog's hash is not a Particle module.
    #[error(transparent)]
    Build(#[from] BuildError),
}

impl CatalogError {
    /// A catalog or folder that cannot be read, or a catalog that is not valid, is
    /// `Unreadable`; a file that is missing or differs from the catalog is refused.
    pub fn failure(&self) -> crate::report::Failure {
        match self {
            CatalogError::Invalid { .. } | CatalogError::Walk { .. } => {
                crate::report::Failure::Unreadable
            }
            CatalogError::Input(e) => e.failure(),
            CatalogError::Build(b) => b.failure(),
            CatalogError::Missing { .. } | CatalogError::HashMismatch { .. } => {
                crate::report::Failure::Refused
            }
        }
    }
}

impl Catalog {
    /// Reads a catalog and checks it: TOML with no unknown fields, every platform known
    /// to hexsmith and listed once, every `sha256` 64 hex digits
    /// ([`CatalogError::Invalid`] otherwise). It reads none of the files it lists.
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
            if p.files.len() > super::MAX_MODULES {
                return Err(CatalogError::Invalid {
                    path: path.to_path_buf(),
                    reason: format!(
                        "platform {:?} lists {} files: a restore image holds at most {} modules",
                        p.name,
                        p.files.len(),
                        super::MAX_MODULES
                    ),
                });
            }
            for (k, f) in p.files.iter().enumerate() {
                if p.files[..k].iter().any(|g| g.name == f.name) {
                    return Err(CatalogError::Invalid {
                        path: path.to_path_buf(),
                        reason: format!(
                            "platform {:?} lists {:?} twice: list each file once",
                            p.name, f.name
                        ),
                    });
                }
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
    /// What the builds from this index may still read, all platforms together.
    budget: std::cell::RefCell<crate::input::ReadBudget>,
}

impl FileIndex {
    /// Walks `dir` once, at any depth, following links to folders but never around a
    /// loop. Files of one name in several folders are all kept, in path order:
    /// [`collect`] takes the first whose SHA-256 matches. Only regular files (or links
    /// to them) are kept: a named pipe, a device node (a link to `/dev/zero`) or a
    /// dangling link is nothing a catalog can vouch for, and reading it could hang or
    /// fail a build whose real file lies elsewhere. Names that are not UTF-8 are left out.
    pub fn new(dir: &Path) -> Result<FileIndex, CatalogError> {
        Ok(FileIndex {
            dir: dir.to_path_buf(),
            files: index_files(dir)?,
            budget: Default::default(),
        })
    }
}

/// Finds each of a platform's files in the index and reads it, refusing a file whose
/// SHA-256 differs from the catalog's. `catalog_name` is what errors call the catalog.
/// Returns the platform and its modules in the catalog's order; checking them is
/// [`build`](super::build)'s work.
pub fn collect(
    catalog_name: &str,
    entry: &CatalogPlatform,
    index: &FileIndex,
) -> Result<(&'static Platform, Vec<ModuleInput>), CatalogError> {
    let platform = platform::by_name(&entry.name).expect("checked when read");
    let dir = &index.dir;
    let budget = &index.budget;
    let index = &index.files;
    let mut modules = Vec::new();
    for file in &entry.files {
        let candidates = index.get(&file.name).map(Vec::as_slice).unwrap_or(&[]);
        let mut mismatch = None;
        let mut chosen = None;
        for path in candidates {
            let bytes = budget
                .borrow_mut()
                .read_bytes(path)
                .map_err(|e| CatalogError::Input(Box::new(e)))?;
            let found = hex::encode(Sha256::digest(&bytes));
            if found.eq_ignore_ascii_case(&file.sha256) {
                chosen = Some((path, bytes));
                break;
            }
            mismatch.get_or_insert((path.clone(), found));
        }
        match (chosen, mismatch) {
            (Some((path, bytes)), _) => {
                let mut module = ModuleInput::from_bytes(path.display().to_string(), bytes)?;
                module.path = Some(path.clone());
                modules.push(module);
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
            // A dangling link: no file to index.
            Err(e) if e.path().is_some_and(|p| p.is_symlink() && !p.exists()) => continue,
            Err(source) => {
                return Err(CatalogError::Walk {
                    dir: dir.to_path_buf(),
                    source,
                });
            }
        };
        if !entry.file_type().is_file() {
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
