//! A folder of release binaries laid out as Particle names them
//! (`boron-system-part1@4.0.1.bin`, `boron-bootloader@4.0.1.bin`, ...), sorted into one
//! set of modules per platform. The module headers decide, not the file names.

use super::{BuildError, ModuleInput};
use crate::input::InputError;
use crate::module::ModuleFunction;
use crate::platform::{self, Platform};
use std::collections::BTreeMap;
use std::path::Path;

/// The modules of one platform found in a release folder.
#[derive(Debug)]
pub struct PlatformSet {
    /// The platform whose id the modules' prefixes carry.
    pub platform: &'static Platform,
    /// Its modules, in file-name order, not yet checked: [`build`](super::build) checks
    /// them.
    pub modules: Vec<ModuleInput>,
}

/// What [`scan`] found in a release folder.
#[derive(Debug, Default)]
pub struct ReleaseDir {
    /// One set per platform, in platform-id order.
    pub platforms: Vec<PlatformSet>,
    /// Files left out, each with the reason.
    pub skipped: Vec<String>,
}

/// Reads every `.bin` file directly in `dir` (not in folders below), in name order so
/// output is deterministic. A file that is not a Particle module, NCP firmware (which
/// no image holds) and a module of a platform hexsmith does not know are skipped with
/// their reason; a folder or file that cannot be read is an error.
pub fn scan(dir: &Path) -> Result<ReleaseDir, BuildError> {
    let io = |source| {
        BuildError::Input(InputError::Io {
            path: dir.to_path_buf(),
            source,
        })
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io)?
        .into_iter()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "bin"))
        .collect();
    paths.sort();
    let mut by_platform: BTreeMap<u16, Vec<ModuleInput>> = BTreeMap::new();
    let mut skipped = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        let module = match ModuleInput::read(&path) {
            Ok(m) => m,
            Err(BuildError::Input(InputError::Module { source, .. })) => {
                skipped.push(format!("{name}: not a Particle module ({source})"));
                continue;
            }
            Err(e) => return Err(e),
        };
        if module.module.info.function == ModuleFunction::Ncp {
            skipped.push(format!(
                "{name}: NCP firmware runs on a separate chip and is not part of a hex image"
            ));
            continue;
        }
        let id = module.module.info.platform_id;
        if platform::by_id(id).is_none() {
            skipped.push(format!(
                "{name}: a module for platform {id}, which hexsmith does not know"
            ));
            continue;
        }
        by_platform.entry(id).or_default().push(module);
    }
    let platforms = by_platform
        .into_iter()
        .map(|(id, modules)| PlatformSet {
            platform: platform::by_id(id).expect("unknown platforms were skipped above"),
            modules,
        })
        .collect();
    Ok(ReleaseDir { platforms, skipped })
}
