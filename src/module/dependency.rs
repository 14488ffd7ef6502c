//! When a module's dependency is met: the one rule a device applies at boot, shared by
//! `build`, `replace-user`, `inspect` and `flash` so that they can never disagree.

use super::{Dependency, ModuleFunction};

/// A module an image holds, as far as dependencies are concerned: what it is and its
/// version. A radio stack placed without its prefix counts with the firmware id of its
/// SoftDevice info structure, which is its module version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Present {
    pub function: ModuleFunction,
    pub index: u8,
    pub version: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyStatus {
    Met,
    Unmet,
    /// NCP firmware lives on another chip (the Tracker's ESP32), which no image holds.
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
    /// Met when a present module of the same function and index has at least the version.
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
