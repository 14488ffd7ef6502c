//! The probe-rs side of [`FlashTarget`]: a debug probe (Particle Debugger / CMSIS-DAP,
//! J-Link, ST-LINK) attached to a chip. Kept small on purpose: everything that decides
//! what to write lives in the planner and is tested against the simulated flash; this
//! file only moves bytes.

use super::{FlashTarget, TargetError, UnitWrite};
use probe_rs::config::Registry;
use probe_rs::flashing::{DownloadOptions, FlashProgress, erase_all};
use probe_rs::probe::DebugProbeSelector;
use probe_rs::probe::list::Lister;
use probe_rs::{MemoryInterface, Permissions, Session};
use std::path::PathBuf;

/// An attached probe, as `hexsmith probes` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProbeInfo {
    /// `VID:PID[:SERIAL]`, as probe-rs writes it: what `--probe` takes.
    pub selector: String,
    pub name: String,
    pub serial: Option<String>,
}

pub fn list() -> Vec<ProbeInfo> {
    Lister::new()
        .list_all()
        .iter()
        .map(|p| ProbeInfo {
            selector: DebugProbeSelector::from(p).to_string(),
            name: p.identifier.clone(),
            serial: p.serial_number.clone(),
        })
        .collect()
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProbeError {
    #[error("no debug probe attached")]
    NoProbe,
    #[error("{0} debug probes attached: pick one with --probe ({1})")]
    Several(usize, String),
    #[error("--probe {0}: {1}")]
    BadSelector(String, String),
    #[error("cannot open probe {0}: {1}")]
    Open(String, String),
    #[error("cannot attach to {chip} through {probe}: {reason}")]
    Attach {
        chip: String,
        probe: String,
        reason: String,
    },
    #[error("{path}: not a usable probe-rs target description: {reason}")]
    ChipDescription { path: PathBuf, reason: String },
}

#[derive(Debug, Clone, Default)]
pub struct Connect {
    pub probe: Option<String>,
    pub chip: String,
    pub speed_khz: Option<u32>,
    pub under_reset: bool,
    pub chip_description: Option<PathBuf>,
    /// Needed for a full chip erase.
    pub allow_erase_all: bool,
}

pub struct ProbeTarget {
    session: Session,
    pub probe: String,
}

impl ProbeTarget {
    pub fn connect(c: &Connect) -> Result<ProbeTarget, ProbeError> {
        let lister = Lister::new();
        let info = match &c.probe {
            Some(s) => {
                let selector: DebugProbeSelector =
                    s.parse()
                        .map_err(|e: <DebugProbeSelector as std::str::FromStr>::Err| {
                            ProbeError::BadSelector(s.clone(), e.to_string())
                        })?;
                lister
                    .list_all()
                    .into_iter()
                    .find(|p| selector.matches_probe(p))
                    .ok_or_else(|| {
                        ProbeError::BadSelector(s.clone(), "no such probe attached".into())
                    })?
            }
            None => {
                let mut all = lister.list_all();
                match all.len() {
                    0 => return Err(ProbeError::NoProbe),
                    1 => all.remove(0),
                    n => {
                        let names: Vec<String> = all
                            .iter()
                            .map(|p| DebugProbeSelector::from(p).to_string())
                            .collect();
                        return Err(ProbeError::Several(n, names.join(", ")));
                    }
                }
            }
        };
        let name = DebugProbeSelector::from(&info).to_string();
        let mut probe = info
            .open()
            .map_err(|e| ProbeError::Open(name.clone(), e.to_string()))?;
        if let Some(khz) = c.speed_khz {
            probe
                .set_speed(khz)
                .map_err(|e| ProbeError::Open(name.clone(), e.to_string()))?;
        }
        let mut registry = Registry::from_builtin_families();
        if let Some(path) = &c.chip_description {
            let bad = |reason: String| ProbeError::ChipDescription {
                path: path.clone(),
                reason,
            };
            let yaml = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
            registry
                .add_target_family_from_yaml(&yaml)
                .map_err(|e| bad(e.to_string()))?;
        }
        let permissions = if c.allow_erase_all {
            Permissions::new().allow_erase_all()
        } else {
            Permissions::new()
        };
        let attached = if c.under_reset {
            probe.attach_under_reset_with_registry(c.chip.as_str(), permissions, &registry)
        } else {
            probe.attach_with_registry(c.chip.as_str(), permissions, &registry)
        };
        let session = attached.map_err(|e| ProbeError::Attach {
            chip: c.chip.clone(),
            probe: name.clone(),
            reason: e.to_string(),
        })?;
        Ok(ProbeTarget {
            session,
            probe: name,
        })
    }

    /// Clears the write protection of the STM32F2's sector 0 (the Gen 2 bootloader)
    /// through the option bytes: unlock, set nWRP0, start, wait, lock.
    pub fn unprotect_stm32f2_sector0(&mut self) -> Result<(), TargetError> {
        const OPTKEYR: u64 = 0x4002_3C08;
        const SR: u64 = 0x4002_3C0C;
        const OPTCR: u64 = 0x4002_3C14;
        let mut core = self.session.core(0).map_err(probe_error)?;
        core.write_word_32(OPTKEYR, 0x0819_2A3B)
            .map_err(probe_error)?;
        core.write_word_32(OPTKEYR, 0x4C5D_6E7F)
            .map_err(probe_error)?;
        let optcr = core.read_word_32(OPTCR).map_err(probe_error)?;
        core.write_word_32(OPTCR, optcr | 1 << 16)
            .map_err(probe_error)?;
        core.write_word_32(OPTCR, optcr | 1 << 16 | 1 << 1)
            .map_err(probe_error)?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while core.read_word_32(SR).map_err(probe_error)? & 1 << 16 != 0 {
            if std::time::Instant::now() > deadline {
                return Err(TargetError::Probe(
                    "option byte write did not finish".into(),
                ));
            }
        }
        let optcr = core.read_word_32(OPTCR).map_err(probe_error)?;
        core.write_word_32(OPTCR, optcr | 1).map_err(probe_error)?;
        Ok(())
    }

    /// Whether the STM32F2's sector 0 is write-protected (nWRP0 clear in FLASH_OPTCR).
    pub fn stm32f2_sector0_protected(&mut self) -> Result<bool, TargetError> {
        let mut core = self.session.core(0).map_err(probe_error)?;
        let optcr = core.read_word_32(0x4002_3C14).map_err(probe_error)?;
        Ok(optcr & 1 << 16 == 0)
    }
}

fn probe_error(e: impl std::fmt::Display) -> TargetError {
    TargetError::Probe(e.to_string())
}

impl FlashTarget for ProbeTarget {
    fn read(&mut self, address: u32, buf: &mut [u8]) -> Result<(), TargetError> {
        let mut core = self.session.core(0).map_err(probe_error)?;
        core.read(u64::from(address), buf).map_err(probe_error)
    }

    fn write_units(&mut self, writes: &[UnitWrite<'_>]) -> Result<(), TargetError> {
        let mut loader = self.session.target().flash_loader();
        for w in writes {
            loader
                .add_data(u64::from(w.unit.start), w.data)
                .map_err(probe_error)?;
        }
        let mut options = DownloadOptions::default();
        options.verify = false;
        options.keep_unwritten_bytes = false;
        loader
            .commit(&mut self.session, options)
            .map_err(probe_error)
    }

    fn erase_chip(&mut self) -> Result<(), TargetError> {
        erase_all(&mut self.session, &mut FlashProgress::empty(), false).map_err(probe_error)
    }

    fn reset(&mut self) -> Result<(), TargetError> {
        let mut core = self.session.core(0).map_err(probe_error)?;
        core.reset().map_err(probe_error)
    }
}
