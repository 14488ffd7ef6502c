//! The build manifest: what a CI pipeline snapshots. It names every region of the image
//! with its SHA-256 and ends with the SHA-256 of the whole memory content, so a changed
//! byte anywhere shows, and it holds nothing that varies between runs or machines.

use super::{ModuleInput, RestoreImage, file_name};
use crate::inspect::hex_lower;
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestRegion {
    /// `uicr`, `nordic-mbr`, `compatibility-fill`, or a module function.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_version: Option<u16>,
    /// The input's file name (no folder), for modules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub start: u32,
    /// Exclusive.
    pub end: u64,
    pub size: u64,
    pub sha256: String,
}

impl ManifestRegion {
    /// A region whose SHA-256 is filled in when a manifest is asked for: most builds
    /// never need one, and hashing is a pass over the whole image.
    pub(super) fn new(kind: &str, module: Option<&ModuleInput>, start: u32, len: usize) -> Self {
        ManifestRegion {
            kind: kind.to_string(),
            index: module.map(|m| m.module.info.index),
            module_version: module.map(|m| m.module.info.version),
            file: module.map(|m| file_name(&m.name)),
            start,
            end: u64::from(start) + len as u64,
            size: len as u64,
            sha256: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    pub platform: String,
    pub platform_id: u16,
    /// The Device OS release of the system part, where the release table knows it.
    pub release: Option<String>,
    pub regions: Vec<ManifestRegion>,
    /// Bytes of memory content, gaps not counted.
    pub bytes: u64,
    /// SHA-256 of the memory content: each run of bytes as its start address (u32,
    /// big-endian), its length (u32, big-endian) and its bytes, in address order.
    pub sha256: String,
    pub warnings: Vec<String>,
}

impl RestoreImage {
    pub fn manifest(&self) -> Manifest {
        Manifest {
            platform: self.platform.name.clone(),
            platform_id: self.platform.id,
            release: self.release.clone(),
            regions: self
                .regions
                .iter()
                .map(|r| {
                    let bytes = self
                        .image
                        .read(u64::from(r.start), r.size as usize)
                        .expect("regions lie in the image");
                    ManifestRegion {
                        sha256: hex_lower(&Sha256::digest(bytes)),
                        ..r.clone()
                    }
                })
                .collect(),
            bytes: self.image.len(),
            sha256: hex_lower(&self.image.sha256()),
            warnings: self.warnings.clone(),
        }
    }
}
