//! When a module's dependency is met: the one rule a device applies at boot, shared by
//! `build`, `replace-user`, `inspect` and `flash` so that they can never disagree.

use super::{Dependency, ModuleFunction};

/// A module an image holds, as far as dependencies are concerned: what it is and its
/// version. A radio stack placed without its prefix counts with the firmware id of its
/// SoftDevice info structure, which is its module version. Build the list for an image with [`crate::inspect::present_in_image`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Present {
    /// The module's function (prefix byte 14).
    pub function: ModuleFunction,
    /// The module's index (prefix byte 15); 0 for a placed radio stack.
    pub index: u8,
    /// The module version (prefix offset 10), or a placed radio stack's firmware id.
    pub version: u16,
}

/// The outcome of [`Dependency::status`]: what a device would conclude at boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyStatus {
    /// A module of the same function and index, at least at the version, is present.
    Met,
    /// No such module: a device does not run the dependent module (a user part whose
    /// system part is missing or too old leaves the device in safe mode, breathing
    /// magenta). Add or upgrade the module the dependency names.
    Unmet,
    /// NCP firmware lives on another chip (the Tracker's ESP32), which no image holds;
    /// never counted as a failure.
    NotCheckable,
}

impl DependencyStatus {
    /// The stable name used in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Met => "met",
            Self::Unmet => "unmet",
            Self::NotCheckable => "not-checkable",
        }
    }
}

impl Dependency {
    /// Met when a present module of the same function and index has at least the version;
    /// a dependency on NCP firmware is never checkable. Meant for slots in use
    /// ([`ModuleInfo::active_dependencies`](super::ModuleInfo::active_dependencies)):
    /// an empty slot would come out unmet.
    pub fn status(&self, present: &[Present]) -> DependencyStatus {
        if self.function == ModuleFunction::Ncp {
            return DependencyStatus::NotCheckable;
        }
        let met = present.iter().any(|p| {
            p.function == self.function && p.index == self.index && p.version >= self.version
        });
        if met {
            DependencyStatus::Met
        } else {
            DependencyStatus::Unmet
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn met_by_same_function_and_index_at_least_the_version() {
        let dep = Dependency {
            function: ModuleFunction::SystemPart,
            index: 1,
            version: 6305,
        };
        let has = |index, version| Present {
            function: ModuleFunction::SystemPart,
            index,
            version,
        };
        assert_eq!(dep.status(&[has(1, 6305)]), DependencyStatus::Met);
        assert_eq!(dep.status(&[has(1, 6500)]), DependencyStatus::Met);
        assert_eq!(dep.status(&[has(1, 6304)]), DependencyStatus::Unmet);
        assert_eq!(dep.status(&[has(2, 6305)]), DependencyStatus::Unmet);
        assert_eq!(dep.status(&[]), DependencyStatus::Unmet);
        let ncp = Dependency {
            function: ModuleFunction::Ncp,
            index: 0,
            version: 7,
        };
        assert_eq!(ncp.status(&[]), DependencyStatus::NotCheckable);
    }
}
