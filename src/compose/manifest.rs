//! The build manifest: what a CI pipeline snapshots. It names every region of the image
//! with its SHA-256 and ends with the SHA-256 of the whole memory content, so a changed
//! byte anywhere shows, and it holds nothing that varies between runs or machines.

use super::{ModuleInput, RestoreImage, file_name};
use crate::inspect;
use crate::memory::MemoryImage;
use crate::module::ModuleFunction;
use crate::platform::{self, Platform, releases};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// One run of bytes the image holds: a module, or a region of the layout that is not a
/// module. Serialised as a `regions` entry of the manifest; None fields are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestRegion {
    /// `uicr`, `nordic-mbr`, `compatibility-fill`, or a module function.
    pub kind: String,
    /// The module index from its prefix; None for a region that is not a module.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u8>,
    /// The module version from its prefix (section 5 of the spec: an integer, not the
    /// release); None for a region that is not a module.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_version: Option<u16>,
    /// The input's file name (no folder), for modules of a build; None for regions that
    /// are not modules and for every region of [`Manifest::of_image`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Flash address of the first byte.
    pub start: u32,
    /// Address past the last byte (exclusive).
    pub end: u64,
    /// `end - start`, in bytes.
    pub size: u64,
    /// SHA-256 of the region's bytes, lower-case hex. Empty in
    /// [`RestoreImage::regions`]: [`Manifest::describe`] fills it in.
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

/// hexsmith's build manifest (`build --manifest`, `replace-user --manifest`), serialised
/// as JSON. It holds nothing that varies between runs or machines, so a CI pipeline can
/// compare it to a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Manifest {
    /// The platform's name in hexsmith's platform table, e.g. `boron`.
    pub platform: String,
    /// Particle's platform id, as module prefixes carry it.
    pub platform_id: u16,
    /// The Device OS release of the system part, where the release table knows it.
    pub release: Option<String>,
    /// Every region the image holds, in address order, each with its SHA-256.
    pub regions: Vec<ManifestRegion>,
    /// Bytes of memory content, gaps not counted.
    pub bytes: u64,
    /// SHA-256 of the memory content: each run of bytes as its start address (u32,
    /// big-endian), its length (u32, big-endian) and its bytes, in address order.
    pub sha256: String,
    /// The warnings of the build (see [`RestoreImage::warnings`]), so that a snapshot
    /// shows a newly allowed problem.
    pub warnings: Vec<super::BuildWarning>,
}

impl RestoreImage {
    /// The image's manifest, hashing every region and the whole content: a pass over
    /// the image, done only when asked.
    pub fn manifest(&self) -> Manifest {
        Manifest::describe(
            &self.image,
            self.platform,
            self.release.clone(),
            &self.regions,
            self.warnings.clone(),
        )
    }
}

impl Manifest {
    /// A manifest of an image whose regions are known: each region's SHA-256 and the
    /// whole content's are computed here.
    ///
    /// # Panics
    ///
    /// If a region does not lie wholly in `image`.
    pub fn describe(
        image: &MemoryImage,
        platform: &Platform,
        release: Option<String>,
        regions: &[ManifestRegion],
        warnings: Vec<super::BuildWarning>,
    ) -> Manifest {
        Manifest {
            platform: platform.name.clone(),
            platform_id: platform.id,
            release,
            regions: regions
                .iter()
                .map(|r| {
                    let bytes = image
                        .read(u64::from(r.start), r.size as usize)
                        .expect("regions lie in the image");
                    ManifestRegion {
                        sha256: hex::encode(Sha256::digest(bytes)),
                        ..r.clone()
                    }
                })
                .collect(),
            bytes: image.len(),
            sha256: hex::encode(image.sha256()),
            warnings,
        }
    }

    /// A manifest of any image, its regions found the way `inspect` finds them: the
    /// same as `build` writes for the same content, but for the input file names, which
    /// an image does not carry. None for an image without a known platform.
    pub fn of_image(image: &MemoryImage, warnings: Vec<super::BuildWarning>) -> Option<Manifest> {
        let report = inspect::inspect_image(image, inspect::ImageFormat::Image);
        let platform = platform::by_id(report.platform_id?)?;
        let mut regions: Vec<ManifestRegion> = report
            .modules
            .iter()
            .map(|m| {
                // A module's bytes run to the end of its CRC; a placed radio stack's to
                // the end of its payload.
                let end = if m.crc.is_some() {
                    m.end_address + 4
                } else {
                    m.end_address
                };
                ManifestRegion {
                    kind: m.function.to_string(),
                    index: Some(m.index),
                    module_version: Some(m.module_version),
                    file: None,
                    start: m.start_address,
                    end,
                    size: end - u64::from(m.start_address),
                    sha256: String::new(),
                }
            })
            .collect();
        regions.extend(
            report
                .regions
                .iter()
                .filter(|r| r.kind != "unknown")
                .map(|r| ManifestRegion {
                    kind: r.kind.clone(),
                    index: None,
                    module_version: None,
                    file: None,
                    start: r.start as u32,
                    end: r.end,
                    size: r.size,
                    sha256: String::new(),
                }),
        );
        // A region the image does not wholly hold (a radio stack with a hole) has no
        // SHA-256 to give; inspect reports it.
        regions.retain(|r| image.read(u64::from(r.start), r.size as usize).is_some());
        regions.sort_by_key(|r| r.start);
        let release = report
            .modules
            .iter()
            .filter(|m| m.function == ModuleFunction::SystemPart.name())
            .map(|m| m.module_version)
            .min()
            .and_then(|v| releases().system_release(v).map(str::to_string));
        Some(Manifest::describe(
            image, platform, release, &regions, warnings,
        ))
    }
}
