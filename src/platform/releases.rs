//! Device OS releases and the module versions that stand for them.

use serde::Deserialize;
use std::sync::OnceLock;

#[derive(Debug, Deserialize)]
pub struct SystemRelease {
    pub release: String,
    pub module: u16,
}

#[derive(Debug, Deserialize)]
pub struct BootloaderRelease {
    pub module: u16,
    pub releases: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct RadioStackInfo {
    pub module: u16,
    pub name: String,
    pub payload_size: u32,
    pub sha256: String,
    pub releases: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct KnownMbr {
    pub name: String,
    pub sha256: String,
}

#[derive(Debug, Deserialize)]
pub struct Releases {
    pub system: Vec<SystemRelease>,
    pub bootloader: Vec<BootloaderRelease>,
    pub radio_stack: Vec<RadioStackInfo>,
    pub mbr: Vec<KnownMbr>,
}

pub fn releases() -> &'static Releases {
    static RELEASES: OnceLock<Releases> = OnceLock::new();
    RELEASES.get_or_init(|| {
        toml::from_str(include_str!("releases.toml"))
            .unwrap_or_else(|e| panic!("built-in releases.toml is invalid: {e}"))
    })
}

impl Releases {
    /// The Device OS release whose system parts carry this module version.
    pub fn system_release(&self, module: u16) -> Option<&str> {
        self.system
            .iter()
            .find(|r| r.module == module)
            .map(|r| r.release.as_str())
    }

    pub fn bootloader_releases(&self, module: u16) -> Option<&[String]> {
        self.bootloader
            .iter()
            .find(|r| r.module == module)
            .map(|r| r.releases.as_slice())
    }

    pub fn radio_stack(&self, module: u16) -> Option<&RadioStackInfo> {
        self.radio_stack.iter().find(|r| r.module == module)
    }

    pub fn known_mbr(&self, sha256_hex: &str) -> Option<&str> {
        self.mbr
            .iter()
            .find(|m| m.sha256 == sha256_hex)
            .map(|m| m.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_and_is_ordered() {
        let r = releases();
        assert_eq!(r.system_release(4005), Some("4.0.1"));
        assert_eq!(r.system_release(1234), None);
        let versions: Vec<semver::Version> = r
            .system
            .iter()
            .map(|s| semver::Version::parse(&s.release).unwrap())
            .collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]));
        assert!(r.system.windows(2).all(|w| w[0].module < w[1].module));
        assert_eq!(r.radio_stack(202).unwrap().name, "S140 7.0.1");
    }
}
