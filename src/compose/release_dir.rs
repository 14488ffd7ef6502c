//! A folder of release binaries laid out as Particle names them
//! (`boron-system-part1@4.0.1.bin`, `boron-bootloader@4.0.1.bin`, ...), sorted into one
//! set of modules per platform. The module headers decide, not the file names.
//!
//! A radio stack cannot be sorted by its platform id alone: Particle's 2.x and 3.x
//! SoftDevice modules carry the Argon's id (12) on every Gen 3 platform, and a device
//! takes a radio stack of any platform of its MCU ([`Platform::accepts`]).

use super::{BuildError, ModuleInput};
use crate::input::InputError;
use crate::module::ModuleFunction;
use crate::platform::{self, Platform};
use std::collections::BTreeMap;
use std::path::Path;

/// The modules of one platform found in a release folder.
#[derive(Debug)]
pub struct PlatformSet {
    /// The platform whose id the modules' prefixes carry; its radio stack may carry the
    /// id of another platform of its MCU.
    pub platform: &'static Platform,
    /// Its modules, in file-name order with the radio stack last, not yet checked:
    /// [`build`](super::build) checks them.
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
///
/// Modules other than radio stacks make the sets, by the platform id they carry. Each
/// set then takes the radio stacks that carry its own id; failing those, the ones of
/// its MCU whose platform has no other modules in the folder; failing those, the ones
/// of another platform of its MCU in the folder (the 2.x and 3.x radio stack, id 12,
/// in a folder of Argon and Boron files). Several radio stacks of the same bytes are
/// one, the first by name; two different ones for one set are
/// [`BuildError::RadioStackConflict`]. A radio stack no set takes is skipped with the
/// reason, so no set holds a radio stack alone.
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
    let mut radio_stacks = Vec::new();
    let mut skipped = Vec::new();
    let mut budget = crate::input::ReadBudget::default();
    for path in paths {
        let name = path.display().to_string();
        let module = match ModuleInput::read_within(&path, &mut budget) {
            Ok(m) => m,
            Err(BuildError::Input(InputError::Module { source, .. })) => {
                skipped.push(format!("{name}: not a Particle module ({source})"));
                continue;
            }
            Err(e) => return Err(e),
        };
        let function = module.module.info.function;
        if function == ModuleFunction::Ncp {
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
        if function == ModuleFunction::RadioStack {
            radio_stacks.push(module);
        } else {
            by_platform.entry(id).or_default().push(module);
        }
    }
    let mut platforms: Vec<PlatformSet> = by_platform
        .into_iter()
        .map(|(id, modules)| PlatformSet {
            platform: platform::by_id(id).expect("unknown platforms were skipped above"),
            modules,
        })
        .collect();
    let chosen = choose_radio_stacks(&platforms, &radio_stacks, &mut skipped)?;
    for (set, stack) in platforms.iter_mut().zip(chosen) {
        if let Some(i) = stack {
            set.modules.push(radio_stacks[i].clone());
        }
    }
    Ok(ReleaseDir { platforms, skipped })
}

/// For each set, the index in `stacks` of the radio stack it takes, if any (see
/// [`scan`]); every stack no set takes is added to `skipped` with the reason.
fn choose_radio_stacks(
    sets: &[PlatformSet],
    stacks: &[ModuleInput],
    skipped: &mut Vec<String>,
) -> Result<Vec<Option<usize>>, BuildError> {
    let carried = |i: usize| stacks[i].module.info.platform_id;
    let has_set = |id: u16| sets.iter().any(|s| s.platform.id == id);
    let mut used = vec![false; stacks.len()];
    // For a stack left out because another of the same bytes was taken: that one.
    let mut same_as: Vec<Option<usize>> = vec![None; stacks.len()];
    let mut chosen = Vec::with_capacity(sets.len());
    for set in sets {
        let platform = set.platform;
        let fits = |i: &usize| platform.accepts(ModuleFunction::RadioStack, carried(*i));
        let own: Vec<usize> = (0..stacks.len())
            .filter(|&i| carried(i) == platform.id)
            .collect();
        let orphans: Vec<usize> = (0..stacks.len())
            .filter(fits)
            .filter(|&i| carried(i) != platform.id && !has_set(carried(i)))
            .collect();
        let of_others: Vec<usize> = (0..stacks.len())
            .filter(fits)
            .filter(|&i| carried(i) != platform.id && has_set(carried(i)))
            .collect();
        let Some(tier) = [own, orphans, of_others]
            .into_iter()
            .find(|t| !t.is_empty())
        else {
            chosen.push(None);
            continue;
        };
        let first = tier[0];
        for &other in &tier[1..] {
            if stacks[other].bytes != stacks[first].bytes {
                return Err(BuildError::RadioStackConflict {
                    platform: platform.name.clone(),
                    first: stacks[first].name.clone(),
                    second: stacks[other].name.clone(),
                });
            }
            same_as[other].get_or_insert(first);
        }
        used[first] = true;
        chosen.push(Some(first));
    }
    for (i, stack) in stacks.iter().enumerate() {
        if used[i] {
            continue;
        }
        let name = &stack.name;
        let label = super::platform_label(carried(i));
        let reason = match same_as[i] {
            Some(kept) => format!(
                "the same radio stack as {}, which is used",
                stacks[kept].name
            ),
            None if sets
                .iter()
                .any(|s| s.platform.accepts(ModuleFunction::RadioStack, carried(i))) =>
            {
                format!(
                    "a radio stack for {label}, which has no other modules here, and every platform of its MCU here has its own"
                )
            }
            None => format!(
                "a radio stack for {label}, and no platform of its MCU has other modules here"
            ),
        };
        skipped.push(format!("{name}: {reason}"));
    }
    Ok(chosen)
}
