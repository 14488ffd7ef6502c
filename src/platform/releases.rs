//! Device OS releases and the module versions that stand for them, the bootloaders, radio
//! stacks, MBRs and NCP firmware they carry. All of it is `releases.toml`, merged at load
//! with the releases of Particle's published images; this file only loads, merges and
//! looks up. What the seeds say about moving a device between releases is the upgrade
//! planner's own data ([`crate::upgrade::seeds`]).

use semver::Version;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One Device OS release: a line of the `system` table.
#[derive(Debug, Clone, Deserialize)]
pub struct SystemRelease {
    /// The release as Particle names it, a semantic version without `v` (`2.0.0-rc.4`).
    pub release: String,
    /// The system module version its system parts carry; 0 on an unlisted release (use
    /// [`SystemRelease::module_version`]).
    pub module: u16,
    /// The bootloader module version Particle lists for it, where it lists one.
    #[serde(default)]
    pub bootloader: Option<u16>,
    /// The RTL872x prebootloader part (bootloader index 2) of its published images.
    #[serde(default)]
    pub prebootloader: Option<u16>,
    /// The platforms Particle published it for (a complete list), where its table names them.
    #[serde(default)]
    pub platforms: Option<Vec<String>>,
    /// Past the published table: platforms whose binaries of it were seen (not complete).
    #[serde(default)]
    pub seen_on: Option<Vec<String>>,
    /// The published table's note, where it has one instead of platforms.
    #[serde(default)]
    pub note: Option<String>,
    /// A release of a Long Term Support line.
    #[serde(default)]
    pub lts: bool,
    #[serde(skip)]
    version: Option<Version>,
    /// A well-formed version the table does not list, made up for a plan: its module
    /// versions and platforms are unknown.
    #[serde(skip)]
    unlisted: bool,
}

/// Whether a release was made for a platform, as far as the table knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// Particle published it for the platform, or its binaries were seen for it.
    Yes,
    /// It was not; the text says what it was published for.
    No(String),
    /// The table cannot tell; the text says why.
    Unknown(String),
}

impl SystemRelease {
    /// The release as a semantic version (checked when the table is loaded).
    pub fn version(&self) -> &Version {
        self.version
            .as_ref()
            .expect("parsed when the table is loaded")
    }

    /// The system module version, unless the release is not in the table.
    pub fn module_version(&self) -> Option<u16> {
        (!self.unlisted).then_some(self.module)
    }

    /// Made by [`SystemRelease::unlisted`]: not in the table, so its module versions and
    /// platforms are unknown.
    pub fn is_unlisted(&self) -> bool {
        self.unlisted
    }

    /// A release the table does not list, for plans that go by version order alone. The
    /// caller owns it, so that a long-running program planning arbitrary versions keeps
    /// nothing of them.
    pub fn unlisted(version: &Version) -> SystemRelease {
        SystemRelease {
            release: version.to_string(),
            module: 0,
            bootloader: None,
            prebootloader: None,
            platforms: None,
            seen_on: None,
            note: None,
            lts: false,
            version: Some(version.clone()),
            unlisted: true,
        }
    }

    /// An alpha, beta or release candidate: never LTS, and passed over for the final
    /// release where both carry the same module version.
    pub fn is_prerelease(&self) -> bool {
        !self.version().pre.is_empty()
    }

    /// What the table's platform columns say about this release on `platform`.
    pub fn published_for(&self, platform: &str) -> Published {
        if let Some(list) = &self.platforms {
            return if list.iter().any(|p| p == platform) {
                Published::Yes
            } else {
                Published::No(format!(
                    "Device OS {} was published for {} only",
                    self.release,
                    list.join(", ")
                ))
            };
        }
        match &self.seen_on {
            Some(list) if list.iter().any(|p| p == platform) => Published::Yes,
            Some(list) => Published::Unknown(format!(
                "the table has Device OS {} from binaries seen for {} only",
                self.release,
                list.join(", ")
            )),
            None => Published::Unknown(format!(
                "Particle's table names no platforms for Device OS {}",
                self.release
            )),
        }
    }
}

/// A bootloader module version and the releases that carry it, so that a bootloader
/// found in an image can be named.
#[derive(Debug, Deserialize)]
pub struct BootloaderRelease {
    /// The bootloader module version, a numbering of its own (502 came with 1.5.2).
    pub module: u16,
    /// Its final releases in table order, or its prereleases where no final release
    /// carries it.
    pub releases: Vec<String>,
}

/// A Nordic SoftDevice as Particle ships it (the radio stack module). In flash it has no
/// Particle prefix, so it is recognised by the SoftDevice's own info structure, whose
/// firmware id is the module version.
#[derive(Debug, Deserialize)]
pub struct RadioStackInfo {
    /// The radio stack module version (= the SoftDevice firmware id).
    pub module: u16,
    /// Nordic's name for it (`S140 7.0.1`), for reports.
    pub name: String,
    /// Bytes it places in flash from its start (0x1000): the module without its Particle
    /// prefix and suffix.
    pub payload_size: u32,
    /// Lower-case hex SHA-256 of those bytes, to tell an intact one in an image.
    pub sha256: String,
    /// Releases known to carry it (binaries seen, and the published images).
    pub releases: Vec<String>,
}

/// A Nordic MBR seen in Particle's Gen 3 restore images.
#[derive(Debug, Deserialize)]
pub struct KnownMbr {
    /// What reports call it.
    pub name: String,
    /// Lower-case hex SHA-256 of its 4 KiB (0x0000-0x0FFF).
    pub sha256: String,
}

/// Network co-processor firmware written on its own; a plan going up across `since` writes it.
#[derive(Debug, Deserialize)]
pub struct NcpFirmware {
    /// The platform's name (the Tracker's ESP32 is the only one a plan writes).
    pub platform: String,
    /// Its NCP module version, which system parts name as a dependency (Tracker 4.0.1
    /// depends on NCP version 7).
    pub module: u16,
    /// Particle's file name for it, as the plan tells the user to write.
    pub file: String,
    /// The first release that needs it, a semantic version.
    pub since: String,
}

/// Everything hexsmith knows about Device OS releases. Get it with [`releases`]; the seeds'
/// rules for moving a device between them are [`crate::upgrade::seeds`].
#[derive(Debug, Deserialize)]
pub struct Releases {
    /// Every release line, sorted by system module version (on any one platform that is
    /// release order), including the releases of the published images.
    pub system: Vec<SystemRelease>,
    /// Bootloader module versions, ascending, each with the releases that carry it.
    pub bootloader: Vec<BootloaderRelease>,
    /// The SoftDevices known by module version and payload hash.
    pub radio_stack: Vec<RadioStackInfo>,
    /// The Nordic MBRs known by hash.
    pub mbr: Vec<KnownMbr>,
    /// Network co-processor firmware that plans write on their own.
    #[serde(default)]
    pub ncp: Vec<NcpFirmware>,
}

/// The release table: `releases.toml` merged with the releases of Particle's published
/// images, parsed on first use (a malformed built-in table panics there; the unit tests
/// rule that out).
pub fn releases() -> &'static Releases {
    static RELEASES: OnceLock<Releases> = OnceLock::new();
    RELEASES.get_or_init(|| {
        let mut r: Releases = toml::from_str(include_str!("releases.toml"))
            .unwrap_or_else(|e| panic!("built-in releases.toml is invalid: {e}"));
        for s in &mut r.system {
            let v = Version::parse(&s.release)
                .unwrap_or_else(|e| panic!("releases.toml: {}: {e}", s.release));
            s.version = Some(v);
        }
        merge_published(&mut r, crate::platform::published_releases());
        merge_bootloaders(&mut r);
        r
    })
}

/// Adds what Particle's published restore images say (2.0.1 to 6.5.0) to the table: a
/// release it lacks becomes a line, and a line it has gains the image's bootloader and
/// platforms. The images are the published artefacts, so where they disagree with a line
/// (its module or bootloader version), they win. A line stays in module-version order.
fn merge_published(r: &mut Releases, published: &[super::PublishedRelease]) {
    for p in published {
        let version = Version::parse(&p.release)
            .unwrap_or_else(|e| panic!("published.toml: {}: {e}", p.release));
        match r.system.iter_mut().find(|s| s.release == p.release) {
            Some(line) => {
                line.module = p.module;
                line.bootloader = Some(p.bootloader);
                line.prebootloader = p.prebootloader;
                let platforms = line.platforms.get_or_insert_with(Vec::new);
                for name in &p.platforms {
                    if !platforms.contains(name) {
                        platforms.push(name.clone());
                    }
                }
            }
            None => r.system.push(SystemRelease {
                release: p.release.clone(),
                module: p.module,
                bootloader: Some(p.bootloader),
                prebootloader: p.prebootloader,
                platforms: Some(p.platforms.clone()),
                seen_on: None,
                note: None,
                lts: version.major.is_multiple_of(2) && version.pre.is_empty(),
                version: Some(version),
                unlisted: false,
            }),
        }
    }
    r.system.sort_by_key(|s| s.module);
    for p in published {
        let Some(module) = p.radio_stack else {
            continue;
        };
        if let Some(known) = r.radio_stack.iter_mut().find(|k| k.module == module)
            && !known.releases.contains(&p.release)
        {
            known.releases.push(p.release.clone());
        }
    }
}

/// Adds the bootloader of every release line to the `bootloader` list, so that a
/// bootloader module version names the releases it came with: its final releases, or
/// only prereleases where no final release carries it (a one-line new release stays one
/// line).
fn merge_bootloaders(r: &mut Releases) {
    let mut by_module: BTreeMap<u16, Vec<&SystemRelease>> = BTreeMap::new();
    for s in &r.system {
        if let Some(b) = s.bootloader {
            by_module.entry(b).or_default().push(s);
        }
    }
    for (module, lines) in by_module {
        let finals: Vec<&SystemRelease> = lines
            .iter()
            .copied()
            .filter(|s| !s.is_prerelease())
            .collect();
        let chosen = if finals.is_empty() { lines } else { finals };
        let entry = match r.bootloader.iter().position(|b| b.module == module) {
            Some(i) => &mut r.bootloader[i],
            None => {
                r.bootloader.push(BootloaderRelease {
                    module,
                    releases: Vec::new(),
                });
                r.bootloader.last_mut().expect("just pushed")
            }
        };
        for s in chosen {
            if !entry.releases.contains(&s.release) {
                entry.releases.push(s.release.clone());
            }
        }
    }
    let order = |name: &str| {
        r.system
            .iter()
            .position(|s| s.release == name)
            .unwrap_or(usize::MAX)
    };
    let mut sorted: Vec<(u16, Vec<String>)> = r
        .bootloader
        .iter()
        .map(|b| {
            let mut names = b.releases.clone();
            names.sort_by_key(|n| order(n));
            (b.module, names)
        })
        .collect();
    sorted.sort_by_key(|(m, _)| *m);
    r.bootloader = sorted
        .into_iter()
        .map(|(module, releases)| BootloaderRelease { module, releases })
        .collect();
}

/// The one release among `lines` a module version can be named by: the only line, or the
/// only final release among them (0.5.0-rc.2 and 0.5.0 both carry 13: "0.5.0"). None when
/// that is ambiguous (the six 0.4.4 release candidates all carry 4).
fn one_of<'a>(lines: &[&'a SystemRelease]) -> Option<&'a SystemRelease> {
    if let [only] = lines {
        return Some(only);
    }
    let finals: Vec<_> = lines.iter().filter(|s| !s.is_prerelease()).collect();
    match finals.as_slice() {
        [only] => Some(only),
        _ => None,
    }
}

impl Releases {
    /// The Device OS release whose system parts carry this module version; None when no
    /// line does, or several do with no one final release among them (312: use
    /// [`Releases::system_release_on`]).
    pub fn system_release(&self, module: u16) -> Option<&str> {
        let lines: Vec<_> = self.system.iter().filter(|r| r.module == module).collect();
        one_of(&lines).map(|r| r.release.as_str())
    }

    /// The release a system module version stands for on one platform, where module
    /// versions are shared between platforms (312 is 0.8.0-rc.13 on Xenon and Argon,
    /// 0.8.0-rc.14 on Gen 2).
    pub fn system_release_on(&self, module: u16, platform: &str) -> Option<&SystemRelease> {
        let lines: Vec<_> = self
            .system
            .iter()
            .filter(|r| r.module == module)
            .filter(|r| !matches!(r.published_for(platform), Published::No(_)))
            .collect();
        one_of(&lines)
    }

    /// The table's line for a release, by its exact name.
    pub fn release(&self, name: &str) -> Option<&SystemRelease> {
        self.system.iter().find(|r| r.release == name)
    }

    /// The releases whose RTL872x prebootloader part carries this module version.
    pub fn prebootloader_releases(&self, module: u16) -> Vec<&str> {
        self.system
            .iter()
            .filter(|s| s.prebootloader == Some(module))
            .map(|s| s.release.as_str())
            .collect()
    }

    /// The releases that carry a bootloader module version (see
    /// [`BootloaderRelease::releases`]); None for one the table does not know.
    pub fn bootloader_releases(&self, module: u16) -> Option<&[String]> {
        self.bootloader
            .iter()
            .find(|r| r.module == module)
            .map(|r| r.releases.as_slice())
    }

    /// The SoftDevice with this radio stack module version (or SoftDevice firmware id).
    pub fn radio_stack(&self, module: u16) -> Option<&RadioStackInfo> {
        self.radio_stack.iter().find(|r| r.module == module)
    }

    /// The radio stack (SoftDevice) a release is known to carry.
    pub fn radio_stack_of(&self, release: &str) -> Option<&RadioStackInfo> {
        self.radio_stack
            .iter()
            .find(|r| r.releases.iter().any(|x| x == release))
    }

    /// The name of a known Nordic MBR, by the lower-case hex SHA-256 of its 4 KiB; None
    /// for one not seen in Particle's images.
    pub fn known_mbr(&self, sha256_hex: &str) -> Option<&str> {
        self.mbr
            .iter()
            .find(|m| m.sha256 == sha256_hex)
            .map(|m| m.name.as_str())
    }

    /// The NCP firmware a plan for this platform may write; None for all but the Tracker.
    pub fn ncp_of(&self, platform: &str) -> Option<&NcpFirmware> {
        self.ncp.iter().find(|n| n.platform == platform)
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
        // Module versions never go down in table order.
        assert!(r.system.windows(2).all(|w| w[0].module <= w[1].module));
        // On every platform, table order is release order and module versions rise
        // (but for 0.5.0-rc.2/0.5.0 and 0.5.1-rc.2/0.5.1, which share theirs).
        let platforms: std::collections::BTreeSet<&String> = r
            .system
            .iter()
            .flat_map(|s| s.platforms.iter().chain(s.seen_on.iter()).flatten())
            .collect();
        for p in platforms {
            let lines: Vec<_> = r
                .system
                .iter()
                .filter(|s| s.published_for(p) == Published::Yes)
                .collect();
            for w in lines.windows(2) {
                assert!(w[0].version() < w[1].version(), "{p}: {}", w[1].release);
                assert!(w[0].module <= w[1].module, "{p}: {}", w[1].release);
            }
        }
        assert_eq!(r.radio_stack(202).unwrap().name, "S140 7.0.1");
    }

    #[test]
    fn carries_every_published_pair() {
        let r = releases();
        // 150 lines of Particle's system-versions.md (0.4.0 to 3.2.0), plus 2.3.1, 4.0.1
        // and 6.3.4 seen in binaries, plus 33 more releases of the published images.
        assert_eq!(r.system.len(), 186);
        for (release, module, bootloader) in [
            ("0.4.0", 0, None),
            ("0.4.9", 11, Some(7)),
            ("0.5.5", 23, None),
            ("0.6.4", 110, Some(11)),
            ("0.7.0", 207, Some(101)),
            ("0.8.0-rc.1", 300, Some(101)),
            ("0.9.0", 403, Some(300)),
            ("1.2.1", 1213, Some(311)),
            ("1.4.4", 1406, Some(501)),
            ("1.5.2", 1512, Some(502)),
            ("2.0.0", 2008, Some(1003)),
            ("3.0.0", 3005, Some(1005)),
            ("3.2.0", 3201, Some(1100)),
            ("4.0.1", 4005, Some(1101)),
            ("6.3.4", 6305, Some(3200)),
            ("2.0.2", 2021, Some(1005)),
            ("5.0.0", 5002, Some(2000)),
            ("5.1.0", 5004, Some(2001)),
            ("5.4.1", 5410, Some(2210)),
            ("6.5.0", 6500, Some(3301)),
        ] {
            let line = r.release(release).unwrap();
            assert_eq!(
                (line.module, line.bootloader),
                (module, bootloader),
                "{release}"
            );
        }
    }

    #[test]
    fn shared_module_versions_are_named_only_when_one_release_fits() {
        let r = releases();
        assert_eq!(r.system_release(13), Some("0.5.0"));
        assert_eq!(r.system_release(15), Some("0.5.1"));
        assert_eq!(r.system_release(4), None);
        assert_eq!(r.system_release(312), None);
        assert_eq!(r.system_release(313), None);
        assert_eq!(
            r.system_release_on(312, "argon").unwrap().release,
            "0.8.0-rc.13"
        );
        assert_eq!(
            r.system_release_on(312, "photon").unwrap().release,
            "0.8.0-rc.14"
        );
        assert_eq!(r.system_release(110), Some("0.6.4"));
    }

    #[test]
    fn bootloaders_name_their_final_releases() {
        let r = releases();
        assert_eq!(r.bootloader_releases(502).unwrap(), ["1.5.2"]);
        assert_eq!(
            r.bootloader_releases(1006).unwrap(),
            ["2.2.0", "2.3.0", "2.3.1"]
        );
        // 4.0.0 to 4.0.2 all carry 1101 (the published images).
        assert_eq!(
            r.bootloader_releases(1101).unwrap(),
            ["4.0.0", "4.0.1", "4.0.2"]
        );
        assert_eq!(r.bootloader_releases(1003).unwrap(), ["2.0.0"]);
        // Only prereleases carried 1000.
        assert_eq!(
            r.bootloader_releases(1000).unwrap(),
            ["2.0.0-alpha.1", "2.0.0-alpha.2"]
        );
        assert!(r.bootloader.windows(2).all(|w| w[0].module < w[1].module));
    }

    #[test]
    fn lts_lines_are_even_major_final_releases() {
        let r = releases();
        for s in &r.system {
            if s.lts {
                assert!(s.version().major % 2 == 0 && s.version().major >= 2);
                assert!(!s.is_prerelease(), "{}", s.release);
            }
        }
        assert!(!r.release("2.0.0").unwrap().lts);
        assert!(r.release("2.0.1").unwrap().lts);
        assert!(r.release("4.0.1").unwrap().lts);
        assert!(!r.release("3.2.0").unwrap().lts);
    }

    #[test]
    fn photon_and_p1_never_had_0_6_4() {
        let line = releases().release("0.6.4").unwrap();
        assert_eq!(line.published_for("electron"), Published::Yes);
        assert!(matches!(line.published_for("photon"), Published::No(_)));
        assert!(matches!(line.published_for("p1"), Published::No(_)));
    }

    #[test]
    fn ncp_firmware_names_known_platforms_and_releases() {
        for n in &releases().ncp {
            assert!(crate::platform::by_name(&n.platform).is_some());
            Version::parse(&n.since).unwrap();
        }
    }
}
