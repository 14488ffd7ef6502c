//! The probe-rs side of [`FlashTarget`]: a debug probe (Particle Debugger / CMSIS-DAP,
//! J-Link, ST-LINK) attached to a chip. Kept small on purpose: everything that decides
//! what to write lives in the planner and is tested against the simulated flash; this
//! file only moves bytes.

use super::algorithm::driver::Driver;
#[cfg(feature = "emulator")]
use super::emulator::EmulatedDevice;
use super::rtl872x::mailbox::{self, Mailbox};
use super::{EraseUnit, FlashTarget, TargetError, UnitWrite, checksum};
use crate::flash::armv7m::{C_DEBUGEN, C_HALT, C_MASKINTS, DBGKEY, S_HALT, S_LOCKUP};
use crate::platform::{Mcu, Platform};
use probe_rs::config::CoreType;
use probe_rs::config::TargetSelector;
use probe_rs::config::{MemoryRegion, Registry};
use probe_rs::flashing::{DownloadOptions, FlashProgress, erase_all};
use probe_rs::probe::list::Lister;
use probe_rs::probe::{DebugProbeSelector, Probe, WireProtocol};
use probe_rs::{MemoryInterface, Permissions, Session};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// DHCSR as probe-rs addresses memory.
const DHCSR: u64 = crate::flash::armv7m::DHCSR as u64;

const STM32F2_SECTOR0: u32 = 0x0800_0000;

/// Whether a probe-rs target is an STM32F2 (RM0033's flash interface and option bytes),
/// the one chip whose write protection hexsmith reads and clears.
fn is_stm32f2(target_name: &str) -> bool {
    target_name.to_ascii_uppercase().starts_with("STM32F2")
}

/// The STM32F2 target with its main-flash algorithm's pages as large as the smallest
/// sector (16 KiB instead of 1 KiB). Every ProgramPage call costs dozens of register round
/// trips (arguments, resume, status polls, result, stack check) while the flash is idle;
/// with 16 times fewer calls a Particle Debugger spends its time moving data. The
/// algorithm (Keil's STM32F2xx FLM) programs any length word by word, pages never cross a
/// sector (every sector is a multiple of 16 KiB), hexsmith writes whole sectors, and 2 x
/// 16 KiB buffers fit the 128 KiB of RAM. The page timeout grows in proportion.
fn with_sector_sized_pages(mut target: probe_rs::Target) -> probe_rs::Target {
    sector_sized_pages(&mut target.flash_algorithms);
    target
}

/// [`with_sector_sized_pages`] on a family's algorithms (for the registry chip detection
/// attaches with, so that the session it hands over is the one `connect` would make).
pub(crate) fn sector_sized_pages(algorithms: &mut [probe_rs::config::RawFlashAlgorithm]) {
    const SECTOR_PAGE: u32 = 0x4000;
    for algorithm in algorithms {
        let properties = &mut algorithm.flash_properties;
        if properties.address_range.start == u64::from(STM32F2_SECTOR0)
            && properties.page_size < SECTOR_PAGE
        {
            let factor = SECTOR_PAGE / properties.page_size.max(1);
            properties.page_size = SECTOR_PAGE;
            properties.program_page_timeout =
                properties.program_page_timeout.saturating_mul(factor);
        }
    }
}

/// An attached probe, as `hexsmith probes` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProbeInfo {
    /// `VID:PID[:SERIAL]`, as probe-rs writes it: what `--probe` takes.
    pub selector: String,
    /// The probe's product name, as it reports itself over USB.
    pub name: String,
    /// Its serial number; `None` for a probe that reports none (then two of the same
    /// kind cannot be told apart by selector).
    pub serial: Option<String>,
}

/// Every debug probe probe-rs finds attached, without opening any.
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

impl ProbeError {
    /// A chip description that cannot be read or is not one is `Unreadable` (exit 2);
    /// the rest are said by the command that met them.
    pub fn failure(&self) -> Option<crate::report::Failure> {
        match self {
            ProbeError::ChipDescription { .. } => Some(crate::report::Failure::Unreadable),
            _ => None,
        }
    }
}

/// The kind of each attached probe the time model knows (see
/// [`super::wire::ProbeKind::of_attached`]), without opening any.
pub fn attached_kinds() -> Vec<super::wire::ProbeKind> {
    Lister::new()
        .list_all()
        .iter()
        .filter_map(|p| {
            super::wire::ProbeKind::of_attached(p.vendor_id, &p.identifier, p.is_hid_interface)
        })
        .collect()
}

/// Why a probe could not be opened or attached. The probe-rs error is kept as the source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// No `--probe` was given and no probe is attached.
    #[error("no debug probe attached")]
    NoProbe,
    /// No `--probe` was given and more than one probe is attached: hexsmith will not guess
    /// which device to write. Holds their number and their selectors, comma-separated.
    #[error("{0} debug probes attached: pick one with --probe ({1})")]
    Several(usize, String),
    /// The `--probe` selector does not parse; found before anything is connected.
    #[error(
        "--probe {selector}: {reason} (write VID:PID or VID:PID:SERIAL in hex, as `hexsmith probes` lists them)"
    )]
    BadSelector {
        /// The selector as given.
        selector: String,
        /// probe-rs's parse error.
        reason: String,
    },
    /// The `--probe` selector (held here) matches no attached probe.
    #[error("--probe {0}: no such probe attached")]
    NotAttached(String),
    /// The probe was found but could not be opened, or refused the protocol or speed
    /// asked for.
    #[error("cannot open probe {probe}")]
    Open {
        /// The probe's selector.
        probe: String,
        /// probe-rs's error.
        #[source]
        source: probe_rs::probe::DebugProbeError,
    },
    /// The chip's debug port is locked (nRF52 APPROTECT) and erasing was not allowed:
    /// `--recover` erases the whole chip to unlock it.
    #[error(
        "{chip} on {probe} is locked (access port protection, APPROTECT): its debug port offers nothing but a full erase. A product device with Particle's Device Protection (Device OS 6.x) looks exactly like this. {}",
        unlock.advice()
    )]
    Locked {
        /// The probe-rs target name.
        chip: String,
        /// The probe's selector.
        probe: String,
        /// How the command that met it can unlock it.
        unlock: Unlock,
    },
    /// The probe opened but probe-rs could not attach to the chip (no power, wiring, a
    /// wrong `--chip`, SWD turned off by firmware: try `--connect-under-reset`).
    #[error("cannot attach to {chip} through {probe}")]
    Attach {
        /// The probe-rs target name.
        chip: String,
        /// The probe's selector.
        probe: String,
        /// probe-rs's error.
        #[source]
        source: probe_rs::Error,
    },
    /// Nothing answered on SWD where an RTL872x should be. A protected RTL872x looks
    /// exactly like this, so the message names the three causes and the way out of each.
    #[error(
        "{chip} on {probe} does not answer on SWD. Three likely causes: (1) Device Protection (Device OS 6.x) has closed SWD for good: run `particle device-protection disable` over USB to put the device in Service Mode, during which the bootloader leaves SWD open, and program it then; (2) the module has no external power (the debugger does not power an RTL872x): power it; (3) wiring: check SWDIO, SWCLK and GND between probe and board"
    )]
    Unanswered {
        /// The target name.
        chip: String,
        /// The probe's selector.
        probe: String,
        /// probe-rs's error.
        #[source]
        source: Box<probe_rs::Error>,
    },
    /// An RTL872x is programmed only through Particle's flash loader, and none was given.
    #[error(transparent)]
    Loader(Box<super::rtl872x::loader::LoaderError>),
    /// The `--chip-description-path` file could not be read or is not a probe-rs target
    /// family YAML.
    #[error("{}: not a usable probe-rs target description", path.display())]
    ChipDescription {
        /// The file as given.
        path: PathBuf,
        /// The read or parse error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No chip was named and the attached one did not identify itself to probe-rs's
    /// auto-detection (the RTL8721DM never does), or identified itself as a chip no
    /// Particle platform uses.
    #[error(
        "the chip on {probe} did not identify itself ({reason}): name the device with --platform NAME or --chip NAME"
    )]
    Undetected {
        /// The probe's selector.
        probe: String,
        /// What auto-detection found, or why it found nothing.
        reason: String,
    },
    /// `--chip` (held here) names no target in probe-rs's registry (with the description
    /// file, if one was given).
    #[error(
        "--chip {0}: not a chip probe-rs knows (see `probe-rs chip list`, or describe it with --chip-description-path)"
    )]
    UnknownChip(String, #[source] probe_rs::config::RegistryError),
    /// `--chip` is a known target whose flash does not hold every erase unit of the
    /// image's platform: writing would use the wrong geometry.
    #[error(
        "--chip {chip}: its flash does not hold {platform}'s layout ({layout}); name a chip of the image's platform, or leave --chip out"
    )]
    WrongChip {
        /// The target's full probe-rs name.
        chip: String,
        /// The image's platform name.
        platform: String,
        /// The platform's MCU and its flash range, as the message shows them.
        layout: String,
    },
}

/// The probe `selector` names, or the only one attached.
pub(super) fn find_probe(
    selector: Option<&str>,
) -> Result<probe_rs::probe::DebugProbeInfo, ProbeError> {
    let lister = Lister::new();
    match selector {
        Some(s) => {
            let selector = check_selector(s)?;
            lister
                .list_all()
                .into_iter()
                .find(|p| selector.matches_probe(p))
                .ok_or_else(|| ProbeError::NotAttached(s.to_string()))
        }
        None => {
            let mut all = lister.list_all();
            match all.len() {
                0 => Err(ProbeError::NoProbe),
                1 => Ok(all.remove(0)),
                n => {
                    let names: Vec<String> = all
                        .iter()
                        .map(|p| DebugProbeSelector::from(p).to_string())
                        .collect();
                    Err(ProbeError::Several(n, names.join(", ")))
                }
            }
        }
    }
}

/// Checks a `--probe` selector's syntax, before anything is connected.
pub fn check_selector(selector: &str) -> Result<DebugProbeSelector, ProbeError> {
    selector
        .parse()
        .map_err(
            |e: <DebugProbeSelector as std::str::FromStr>::Err| ProbeError::BadSelector {
                selector: selector.to_string(),
                reason: e.to_string(),
            },
        )
}

/// The probe-rs registry: the built-in targets and, if given, a target description.
pub fn registry(chip_description: Option<&Path>) -> Result<Registry, ProbeError> {
    let mut registry = Registry::from_builtin_families();
    registry
        .add_target_family_from_yaml(super::rtl872x::mailbox::TARGET_YAML)
        .expect("the built-in RTL872x description parses (a unit test checks it)");
    if let Some(path) = chip_description {
        let bad = |source: Box<dyn std::error::Error + Send + Sync>| ProbeError::ChipDescription {
            path: path.to_path_buf(),
            source,
        };
        let bytes = crate::input::read_bytes(path).map_err(|e| match e {
            crate::input::InputError::Io { source, .. } => bad(source.into()),
            other => bad(other.to_string().into()),
        })?;
        let yaml = String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".into()))?;
        add_chip_description(&mut registry, &yaml).map_err(bad)?;
    }
    Ok(registry)
}

/// Adds a target family description (YAML, as `--chip-description-path` holds it) to
/// `registry`, and checks that each of its targets resolves, so that a description that
/// parses but names nothing usable is refused here rather than at attach.
pub fn add_chip_description(
    registry: &mut Registry,
    yaml: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let family = registry.add_target_family_from_yaml(yaml)?;
    for variant in family_variants(registry, &family) {
        registry.get_target_by_name(&variant)?;
    }
    Ok(())
}

fn family_variants(registry: &Registry, family: &str) -> Vec<String> {
    registry
        .families()
        .iter()
        .filter(|f| f.name == family)
        .flat_map(|f| f.variants.iter().map(|v| v.name.clone()))
        .collect()
}

/// Resolves `--chip` through probe-rs's registry to its full target name, and checks that
/// the chip's flash holds every erase unit of the platform's MCU: a chip of another family
/// would be planned for with the wrong geometry.
pub fn resolve_chip(
    chip: &str,
    chip_description: Option<&Path>,
    platform: &Platform,
) -> Result<String, ProbeError> {
    let target = registry(chip_description)?
        .get_target_by_name(chip)
        .map_err(|e| ProbeError::UnknownChip(chip.to_string(), e))?;
    let nvm: Vec<std::ops::Range<u64>> = target
        .memory_map
        .iter()
        .filter_map(|r| match r {
            MemoryRegion::Nvm(n) if !n.is_alias => Some(n.range.clone()),
            _ => None,
        })
        .collect();
    let geometry = super::Geometry::of(platform.mcu());
    let fits = geometry.units().iter().all(|u| {
        nvm.iter()
            .any(|r| r.start <= u64::from(u.start) && u.end <= r.end)
    });
    if !fits {
        let units = geometry.units();
        let layout = match (units.first(), units.last()) {
            (Some(a), Some(b)) => {
                format!("{} flash {:#010x}-{:#010x}", platform.mcu, a.start, b.end)
            }
            _ => platform.mcu.clone(),
        };
        return Err(ProbeError::WrongChip {
            chip: target.name,
            platform: platform.name.clone(),
            layout,
        });
    }
    Ok(target.name)
}

/// How to reach one device.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Connect {
    /// The `--probe` selector; `None` takes the only probe attached.
    pub probe: Option<String>,
    /// An emulated chip to attach to instead of a probe's (`--emulate`).
    #[cfg(feature = "emulator")]
    pub emulate: Option<EmulatedDevice>,
    /// The probe-rs target name to attach as.
    pub chip: String,
    /// The debug clock in kHz; `None` leaves the probe's default.
    pub speed_khz: Option<u32>,
    /// SWD or JTAG; `None` leaves the probe's default.
    pub protocol: Option<WireProtocol>,
    /// Attach while the core is held in reset, before firmware can turn SWD off.
    pub under_reset: bool,
    /// A probe-rs target family YAML added to the registry (`--chip-description-path`).
    pub chip_description: Option<PathBuf>,
    /// Let probe-rs erase the whole chip: needed for a chip erase and to unlock a locked
    /// nRF52 (`--recover`); off by default, so that no attach can erase a device.
    pub allow_erase_all: bool,
    /// Particle's flash loader, for an RTL872x.
    pub rtl872x_loader: Option<std::sync::Arc<super::rtl872x::loader::Loader>>,
    /// What a locked chip's refusal advises: only a command that has `--recover` may
    /// say "rerun with --recover".
    pub unlock: Unlock,
}

/// How a locked chip can be unlocked from the command that found it locked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Unlock {
    /// The command has `--recover` (`flash`).
    RerunWithRecover,
    /// It has not (`verify`, `read`, `reset`, `erase --range`, `inspect --probe`): name
    /// the commands that can.
    #[default]
    OtherCommand,
}

impl Unlock {
    fn advice(self) -> &'static str {
        match self {
            Unlock::RerunWithRecover => {
                "Rerun with --recover to unlock it, which erases the whole chip (application, Device OS, UICR and any data) before writing"
            }
            Unlock::OtherCommand => {
                "`hexsmith flash --recover IMAGE` unlocks it by erasing the whole chip (application, Device OS, UICR and any data) and then writes IMAGE; `hexsmith erase --all` unlocks it and writes nothing"
            }
        }
    }
}

impl Connect {
    /// Attaching as probe-rs target `chip`, with everything else as by default.
    pub fn to_chip(chip: impl Into<String>) -> Connect {
        Connect {
            chip: chip.into(),
            ..Connect::default()
        }
    }
    /// With [`Connect::probe`].
    pub fn with_probe(mut self, probe: Option<String>) -> Connect {
        self.probe = probe;
        self
    }
    /// With [`Connect::emulate`].
    #[cfg(feature = "emulator")]
    pub fn with_emulate(mut self, device: Option<EmulatedDevice>) -> Connect {
        self.emulate = device;
        self
    }
    /// With [`Connect::speed_khz`].
    pub fn with_speed_khz(mut self, speed_khz: Option<u32>) -> Connect {
        self.speed_khz = speed_khz;
        self
    }
    /// With [`Connect::protocol`].
    pub fn with_protocol(mut self, protocol: Option<WireProtocol>) -> Connect {
        self.protocol = protocol;
        self
    }
    /// With [`Connect::under_reset`].
    pub fn with_under_reset(mut self, under_reset: bool) -> Connect {
        self.under_reset = under_reset;
        self
    }
    /// With [`Connect::chip_description`].
    pub fn with_chip_description(mut self, path: Option<PathBuf>) -> Connect {
        self.chip_description = path;
        self
    }
    /// With [`Connect::allow_erase_all`].
    pub fn with_allow_erase_all(mut self, allow: bool) -> Connect {
        self.allow_erase_all = allow;
        self
    }
    /// With [`Connect::rtl872x_loader`].
    pub fn with_rtl872x_loader(
        mut self,
        loader: Option<std::sync::Arc<super::rtl872x::loader::Loader>>,
    ) -> Connect {
        self.rtl872x_loader = loader;
        self
    }
    /// With [`Connect::unlock`].
    pub fn with_unlock(mut self, unlock: Unlock) -> Connect {
        self.unlock = unlock;
        self
    }

    /// The one connection rule: the chip named by the user or the MCU's built-in target,
    /// attached under reset when asked or when the MCU needs it (Gen 2's Device OS turns
    /// SWD off once running).
    pub fn new(
        settings: &super::ProbeSettings,
        mcu: &Mcu,
        chip: Option<String>,
    ) -> Result<Connect, super::DeviceError> {
        let chip = chip.ok_or(super::DeviceError::NoBuiltInTarget)?;
        Ok(Connect {
            probe: settings.probe.clone(),
            #[cfg(feature = "emulator")]
            emulate: settings.emulate.first().cloned(),
            chip,
            speed_khz: settings.speed_khz,
            protocol: settings.protocol.map(|p| match p {
                super::Protocol::Swd => WireProtocol::Swd,
                super::Protocol::Jtag => WireProtocol::Jtag,
            }),
            under_reset: settings.connect_under_reset || mcu.attach_under_reset,
            chip_description: settings.chip_description.clone(),
            allow_erase_all: false,
            unlock: Unlock::default(),
            rtl872x_loader: settings.rtl872x_loader.clone(),
        })
    }
}

/// A chip attached through a probe-rs session: the [`FlashTarget`] of every real (and
/// emulated) run. Computes unit checksums on the chip where it can (see
/// [`super::checksum`]), and falls back to reading for good once that fails.
pub struct ProbeTarget {
    session: Session,
    /// The probe's selector, or the emulated device's name.
    pub probe: String,
    #[cfg(feature = "emulator")]
    emulated: Option<EmulatedDevice>,
    /// Where the checksum routine is loaded, while it is (a flash algorithm or the
    /// firmware after a reset may overwrite that RAM).
    checksum_at: Option<checksum::Layout>,
    /// Set once the routine failed: checksums are then not tried again.
    checksum_failed: bool,
    /// Runs of the routines so far: each run's marker differs from the last's.
    runs: u32,
    /// The chip is an STM32F2. Write protection is answered by the chip attached, not by
    /// a unit's address: an RTL872x's flash also starts at 0x0800_0000, and its registers
    /// are not an STM32's.
    stm32f2: bool,
    /// Attaching erased the whole chip to unlock it.
    wiped_to_unlock: bool,
    /// An RTL872x: flash goes through Particle's loader, not probe-rs's flash algorithms.
    rtl: Option<Mailbox>,
    /// The flash algorithm hexsmith drives itself, once a write needed it; it stays in
    /// RAM for the rest of the run.
    driver: Option<Driver>,
}

impl super::Connector for Connect {
    type Target = ProbeTarget;

    fn label(&self) -> String {
        #[cfg(feature = "emulator")]
        if let Some(device) = &self.emulate {
            return device.name();
        }
        self.probe.clone().unwrap_or_else(|| "probe".into())
    }

    fn device_done(&mut self) -> Result<(), super::DeviceError> {
        #[cfg(feature = "emulator")]
        if let Some(device) = &self.emulate {
            device
                .save()
                .map_err(|e| super::DeviceError::SaveState(Box::new(e)))?;
        }
        Ok(())
    }

    fn connect(&mut self) -> Result<(ProbeTarget, String), super::DeviceError> {
        let target = ProbeTarget::connect(self)?;
        let name = target.probe.clone();
        Ok((target, name))
    }
}

impl From<ProbeError> for super::DeviceError {
    fn from(e: ProbeError) -> Self {
        match e {
            ProbeError::NoProbe => super::DeviceError::NoProbe,
            locked @ ProbeError::Locked { .. } => super::DeviceError::Locked(Box::new(locked)),
            other => super::DeviceError::Connect(Box::new(other)),
        }
    }
}

impl ProbeTarget {
    /// Opens the probe `c` names (or the only one attached, or the emulated chip) and
    /// attaches to the chip. Fails with [`ProbeError::NoProbe`] or
    /// [`ProbeError::Several`] when there is not exactly one probe to take.
    pub fn connect(c: &Connect) -> Result<ProbeTarget, ProbeError> {
        #[cfg(feature = "emulator")]
        if let Some(device) = &c.emulate {
            let mut target =
                ProbeTarget::attach_telling_wipe(&|| Ok(device.probe()), device.name(), c)?;
            target.emulated = Some(device.clone());
            return Ok(target);
        }
        let info = find_probe(c.probe.as_deref())?;
        let name = DebugProbeSelector::from(&info).to_string();
        let open = || {
            info.open().map_err(|source| ProbeError::Open {
                probe: name.clone(),
                source,
            })
        };
        ProbeTarget::attach_telling_wipe(&open, name.clone(), c)
    }

    /// Goes on with the session chip detection attached (see
    /// [`super::detect::detect_attached`]) instead of opening the probe a second time,
    /// which costs a real probe about 0.2 s; attaches afresh where that session will not
    /// do: a chip erase allowed (its permission is given at attach time), or a chip other
    /// than the one `c` names.
    pub fn connect_detected(
        c: &Connect,
        detected: super::detect::Detected,
    ) -> Result<ProbeTarget, ProbeError> {
        let (chip, session) = detected.into_parts();
        if c.allow_erase_all
            || c.rtl872x_loader.is_some()
            || !session.target().name.eq_ignore_ascii_case(&c.chip)
        {
            drop(session);
            return ProbeTarget::connect(c);
        }
        #[cfg_attr(not(feature = "emulator"), allow(unused_mut))]
        let mut target = ProbeTarget::attached(session, chip.probe, None);
        #[cfg(feature = "emulator")]
        {
            target.emulated = c.emulate.clone();
        }
        Ok(target)
    }

    /// Attaches; when erasing the whole chip is allowed, first without that permission,
    /// so that a chip unlocked by erasing it is known to have been (probe-rs erases a
    /// locked chip during the attach and says nothing). An unlocked chip is then
    /// attached to again with the permission, which a chip erase needs.
    fn attach_telling_wipe(
        open: &dyn Fn() -> Result<Probe, ProbeError>,
        name: String,
        c: &Connect,
    ) -> Result<ProbeTarget, ProbeError> {
        if !c.allow_erase_all {
            return ProbeTarget::attach(open()?, name, c);
        }
        let cautious = Connect {
            allow_erase_all: false,
            ..c.clone()
        };
        let wiped = match ProbeTarget::attach(open()?, name.clone(), &cautious) {
            Ok(target) => {
                drop(target);
                false
            }
            Err(ProbeError::Locked { .. }) => true,
            Err(e) => return Err(e),
        };
        let mut target = ProbeTarget::attach(open()?, name, c)?;
        target.wiped_to_unlock = wiped;
        Ok(target)
    }

    /// Attaches through an opened probe, real or emulated.
    fn attach(mut probe: Probe, name: String, c: &Connect) -> Result<ProbeTarget, ProbeError> {
        let open = |source| ProbeError::Open {
            probe: name.clone(),
            source,
        };
        if let Some(protocol) = c.protocol {
            probe.select_protocol(protocol).map_err(open)?;
        }
        if let Some(khz) = c.speed_khz {
            probe.set_speed(khz).map_err(open)?;
        }
        let registry = registry(c.chip_description.as_deref())?;
        let permissions = if c.allow_erase_all {
            Permissions::new().allow_erase_all()
        } else {
            Permissions::new()
        };
        let rtl872x = c.chip.eq_ignore_ascii_case(super::rtl872x::RTL8721DM);
        let rtl = if rtl872x {
            let loader = c.rtl872x_loader.clone().ok_or_else(|| {
                ProbeError::Loader(Box::new(super::rtl872x::loader::LoaderError::Missing))
            })?;
            Some(Mailbox::new(loader))
        } else {
            None
        };
        let target = match registry.get_target_by_name(&c.chip) {
            Ok(target) if is_stm32f2(&target.name) => {
                TargetSelector::Specified(with_sector_sized_pages(target))
            }
            _ => TargetSelector::Unspecified(c.chip.clone()),
        };
        let attached = if c.under_reset {
            probe.attach_under_reset_with_registry(target, permissions, &registry)
        } else {
            probe.attach_with_registry(target, permissions, &registry)
        };
        let session = attached.map_err(|source| match source {
            source if rtl872x => ProbeError::Unanswered {
                chip: c.chip.clone(),
                probe: name.clone(),
                source: Box::new(source),
            },
            // The chip refuses debugging unless erased first, and erasing was not allowed.
            probe_rs::Error::Arm(probe_rs::architecture::arm::ArmError::MissingPermissions(_))
            | probe_rs::Error::MissingPermissions(_) => ProbeError::Locked {
                chip: c.chip.clone(),
                probe: name.clone(),
                unlock: c.unlock,
            },
            source => ProbeError::Attach {
                chip: c.chip.clone(),
                probe: name.clone(),
                source,
            },
        })?;
        Ok(ProbeTarget::attached(session, name, rtl))
    }

    /// A target around an attached session.
    fn attached(session: Session, name: String, rtl: Option<Mailbox>) -> ProbeTarget {
        let stm32f2 = is_stm32f2(&session.target().name);
        ProbeTarget {
            session,
            probe: name,
            #[cfg(feature = "emulator")]
            emulated: None,
            checksum_at: None,
            checksum_failed: false,
            runs: 0,
            stm32f2,
            wiped_to_unlock: false,
            rtl,
            driver: None,
        }
    }

    /// The emulated chip behind this target, if it is one.
    #[cfg(feature = "emulator")]
    pub fn emulated(&self) -> Option<&EmulatedDevice> {
        self.emulated.as_ref()
    }

    /// Clears the write protection of the STM32F2's sector 0 (the Gen 2 bootloader)
    /// through the option bytes: unlock, set nWRP0, start, wait, lock.
    fn unprotect_stm32f2_sector0(&mut self) -> Result<(), TargetError> {
        use super::stm32f2::{self as f2, offset};
        let optkeyr = u64::from(f2::register(offset::OPTKEYR));
        let sr = u64::from(f2::register(offset::SR));
        let optcr_at = u64::from(f2::register(offset::OPTCR));
        let nwrp0 = 1 << f2::OPTCR_NWRP_SHIFT;
        let mut core = self.session.core(0).map_err(probe_error)?;
        core.write_word_32(optkeyr, f2::OPTKEY1)
            .map_err(probe_error)?;
        core.write_word_32(optkeyr, f2::OPTKEY2)
            .map_err(probe_error)?;
        let optcr = core.read_word_32(optcr_at).map_err(probe_error)?;
        core.write_word_32(optcr_at, optcr | nwrp0)
            .map_err(probe_error)?;
        core.write_word_32(optcr_at, optcr | nwrp0 | f2::OPTCR_OPTSTRT)
            .map_err(probe_error)?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while core.read_word_32(sr).map_err(probe_error)? & f2::SR_BSY != 0 {
            if std::time::Instant::now() > deadline {
                return Err(TargetError::Timeout("option byte write"));
            }
        }
        let optcr = core.read_word_32(optcr_at).map_err(probe_error)?;
        core.write_word_32(optcr_at, optcr | f2::OPTCR_OPTLOCK)
            .map_err(probe_error)?;
        Ok(())
    }

    /// An STM32F2 with a write-protected sector refuses a mass erase (WRPERR) while its
    /// flash algorithm still returns success: [`TargetError::WriteProtected`], naming the
    /// sector, before anything is tried.
    fn refuse_protected_chip_erase(&mut self) -> Result<(), TargetError> {
        match self.stm32f2 {
            true => match self.stm32f2_first_protected_sector()? {
                Some(n) => Err(TargetError::WriteProtected {
                    start: n.start,
                    end: n.end,
                }),
                None => Ok(()),
            },
            false => Ok(()),
        }
    }

    /// Whether the STM32F2's sector 0 is write-protected (nWRP0 clear in FLASH_OPTCR).
    fn stm32f2_sector0_protected(&mut self) -> Result<bool, TargetError> {
        Ok(self
            .stm32f2_first_protected_sector()?
            .is_some_and(|u| u.start == STM32F2_SECTOR0))
    }

    /// The lowest STM32F2 sector whose nWRP bit in FLASH_OPTCR is clear, if any.
    fn stm32f2_first_protected_sector(&mut self) -> Result<Option<EraseUnit>, TargetError> {
        Ok(self.stm32f2_protected_sectors()?.first().copied())
    }

    /// Every STM32F2 sector whose nWRP bit in FLASH_OPTCR is clear, lowest first. Bit
    /// 16 + n guards sector n, the n-th erase unit of the layout platforms.toml gives.
    fn stm32f2_protected_sectors(&mut self) -> Result<Vec<EraseUnit>, TargetError> {
        let mut core = self.session.core(0).map_err(probe_error)?;
        let optcr_at = super::stm32f2::register(super::stm32f2::offset::OPTCR);
        let optcr = core
            .read_word_32(u64::from(optcr_at))
            .map_err(probe_error)?;
        let geometry = crate::platform::mcu("stm32f205").map(super::Geometry::of);
        let sectors = geometry.as_ref().map_or(&[][..], |g| g.units());
        Ok(sectors
            .iter()
            .take(12)
            .enumerate()
            .filter(|(n, _)| optcr & 1 << (super::stm32f2::OPTCR_NWRP_SHIFT as usize + n) == 0)
            .map(|(_, u)| *u)
            .collect())
    }
}

/// Runs an STM32F2's core at 120 MHz (the main PLL from the HSI) instead of the 16 MHz
/// HSI it resets to: the flash algorithm's and the checksum routine's instructions take
/// an eighth of the time, and the flash's own times do not depend on the clock. The wait
/// states first, as RM0033 3.5.1 orders it when the clock goes up; the reset that ends a
/// run puts the HSI back. A PLL that does not lock leaves the core on the HSI, slower
/// but correct.
pub(crate) fn stm32f2_fast_clock(core: &mut probe_rs::Core<'_>) -> Result<(), TargetError> {
    use super::stm32f2::{self as f2, rcc};
    let acr = u64::from(f2::register(f2::offset::ACR));
    core.write_word_32(acr, rcc::ACR_120MHZ)
        .map_err(probe_error)?;
    if core.read_word_32(acr).map_err(probe_error)? & 0b111 != rcc::ACR_120MHZ & 0b111 {
        return Ok(());
    }
    core.write_word_32(u64::from(rcc::PLLCFGR), rcc::PLLCFGR_120MHZ)
        .map_err(probe_error)?;
    let cr = core.read_word_32(u64::from(rcc::CR)).map_err(probe_error)?;
    core.write_word_32(u64::from(rcc::CR), cr | rcc::CR_PLLON)
        .map_err(probe_error)?;
    // The datasheet's tLOCK is at most 300 us; a few polls on any probe.
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(100);
    while core.read_word_32(u64::from(rcc::CR)).map_err(probe_error)? & rcc::CR_PLLRDY == 0 {
        if std::time::Instant::now() > deadline {
            return Ok(());
        }
    }
    core.write_word_32(u64::from(rcc::CFGR), rcc::CFGR_120MHZ)
        .map_err(probe_error)
}

impl ProbeTarget {
    /// Where the checksum routine goes: the top of the RAM at 0x2000_0000 (every Cortex-M
    /// here has it), clear of the flash algorithm probe-rs loads at the bottom.
    fn checksum_layout(&self) -> Option<checksum::Layout> {
        let ram = self
            .session
            .target()
            .memory_map
            .iter()
            .find_map(|r| match r {
                MemoryRegion::Ram(ram) if ram.range.start == 0x2000_0000 => Some(ram.range.clone()),
                _ => None,
            })?;
        let base = ram.end.checked_sub(u64::from(checksum::Layout::SIZE))? & !3;
        (base >= ram.start + 0x8000).then_some(checksum::Layout { base: base as u32 })
    }

    /// Where the target's main flash starts (its boot NVM region).
    fn flash_start(&self) -> u32 {
        self.session
            .target()
            .memory_map
            .iter()
            .find_map(|r| match r {
                MemoryRegion::Nvm(nvm) if !nvm.is_alias => Some(nvm.range.start as u32),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// Whether the driver (made now if need be) can write these units: an algorithm of the
    /// target holds them all, and fits in RAM below the checksum routine's region, so
    /// that neither overwrites the other.
    fn driver_for(&mut self, units: &[EraseUnit]) -> bool {
        if self.driver.as_ref().is_some_and(|d| d.holds(units)) {
            return true;
        }
        let ram_end = self
            .checksum_layout()
            .map_or(u64::MAX, |layout| u64::from(layout.base));
        self.driver = Driver::for_units(self.session.target(), units, ram_end);
        if self.stm32f2
            && let Some(driver) = &mut self.driver
        {
            driver.after_reset = Some(stm32f2_fast_clock);
        }
        self.driver.is_some()
    }

    /// Runs `routine` over `ranges` (as many runs as [`checksum::MAX_RANGES`] needs) and
    /// returns its result words; `None` where there is no room for the routines in RAM.
    /// Loads them first after a reset and halt, as probe-rs starts its flash algorithms:
    /// no interrupts, no firmware running.
    fn run_routine(
        &mut self,
        routine: checksum::Routine,
        ranges: &[(u32, u32)],
    ) -> Result<Option<Vec<u32>>, TargetError> {
        let layout = match self.checksum_at {
            Some(layout) => layout,
            None => {
                let Some(layout) = self.checksum_layout() else {
                    return Ok(None);
                };
                let mut core = self.session.core(0).map_err(probe_error)?;
                core.reset_and_halt(Duration::from_millis(500))
                    .map_err(probe_error)?;
                // Interrupts masked while the routine runs; C_MASKINTS may change only
                // while halted, so it is set here, once.
                core.write_word_32(DHCSR, DBGKEY | C_MASKINTS | C_HALT | C_DEBUGEN)
                    .map_err(probe_error)?;
                if self.stm32f2 {
                    stm32f2_fast_clock(&mut core)?;
                }
                core.write_32(u64::from(layout.code()), &checksum::program())
                    .map_err(probe_error)?;
                self.checksum_at = Some(layout);
                layout
            }
        };
        let mut out = Vec::with_capacity(ranges.len());
        let mut core = self.session.core(0).map_err(probe_error)?;
        if self.stm32f2 {
            // The flash algorithm's Init clears FLASH_ACR (Keil's FLM: zero wait states,
            // no caches), which is right for the HSI it expects and for programming at any
            // clock, but the routine reads flash: at 120 MHz it needs its 3 wait states.
            let acr = u64::from(super::stm32f2::register(super::stm32f2::offset::ACR));
            core.write_word_32(acr, super::stm32f2::rcc::ACR_120MHZ)
                .map_err(probe_error)?;
        }
        for chunk in ranges.chunks(checksum::MAX_RANGES) {
            self.runs = self.runs.wrapping_add(1);
            let marker = RUN_MARKER ^ self.runs;
            core.write_32(u64::from(layout.header()), &checksum::header(chunk, marker))
                .map_err(probe_error)?;
            core.write_core_reg(core.program_counter(), layout.entry(routine))
                .map_err(probe_error)?;
            // Resumed by clearing C_HALT (ARMv7-M C1.6.2): probe-rs's `Core::run` first
            // steps one instruction, a dozen register round trips more, which only a core
            // sitting on a breakpoint needs.
            core.write_word_32(DHCSR, DBGKEY | C_MASKINTS | C_DEBUGEN)
                .map_err(probe_error)?;
            let deadline = Instant::now() + ROUTINE_TIMEOUT;
            // DHCSR alone: probe-rs's `Core::status` also reads DFSR and, on a breakpoint,
            // the instruction there, three round trips more.
            loop {
                let dhcsr = core.read_word_32(DHCSR).map_err(probe_error)?;
                if dhcsr & S_LOCKUP != 0 {
                    return Err(routine_failed("locked the core up"));
                }
                if dhcsr & S_HALT != 0 {
                    break;
                }
                if Instant::now() > deadline {
                    core.write_word_32(DHCSR, DBGKEY | C_MASKINTS | C_HALT | C_DEBUGEN)
                        .ok();
                    return Err(TargetError::Timeout("the checksum routine"));
                }
            }
            // The results and, after them, the marker the routine stores last: read
            // together, they show that this run went to its end.
            let mut words = vec![0u32; chunk.len() + 1];
            core.read_32(u64::from(layout.results()), &mut words)
                .map_err(probe_error)?;
            if words.pop() != Some(marker) {
                let pc: u32 = core
                    .read_core_reg(core.program_counter())
                    .map_err(probe_error)?;
                return Err(routine_failed(&format!(
                    "stopped at {pc:#010x} before its end at {:#010x}",
                    layout.halt()
                )));
            }
            out.extend(words);
        }
        Ok(Some(out))
    }

    /// [`ProbeTarget::run_routine`] where the routines can serve: a chip probe-rs drives
    /// (not the RTL872x's loader) with an ARMv7-M core (the routines are Thumb-2) whose
    /// routine has not failed before. A failure turns them off for good: the bytes can
    /// still be read, so a chip that cannot run them costs time, not correctness.
    fn routine_answer(
        &mut self,
        routine: checksum::Routine,
        ranges: &[(u32, u32)],
    ) -> Option<Vec<u32>> {
        let thumb2 = self
            .session
            .target()
            .cores
            .first()
            .is_some_and(|c| matches!(c.core_type, CoreType::Armv7m | CoreType::Armv7em));
        if self.rtl.is_some() || self.checksum_failed || !thumb2 {
            return None;
        }
        if ranges.is_empty() {
            return Some(Vec::new());
        }
        match self.run_routine(routine, ranges) {
            Ok(answer) => answer,
            Err(_) => {
                self.checksum_failed = true;
                self.checksum_at = None;
                None
            }
        }
    }
}

/// The marker a run of the routines stores after its results, with the run's count in
/// its low bits: never 0 or 1 (what a blank check stores), rarely a CRC.
const RUN_MARKER: u32 = 0x5EA1_0000;

/// How long one run of the routines may wait before it counts as stuck: the CRC of a
/// whole 1 MiB flash at 16 MHz, 4 cycles a byte, takes 0.26 s.
const ROUTINE_TIMEOUT: Duration = Duration::from_secs(10);

fn routine_failed(what: &str) -> TargetError {
    probe_error(std::io::Error::other(format!(
        "the checksum routine {what}"
    )))
}

fn probe_error(e: impl std::error::Error + Send + Sync + 'static) -> TargetError {
    TargetError::Probe(std::sync::Arc::new(e))
}

impl FlashTarget for ProbeTarget {
    /// On an STM32F2, ranges of whole words go to the chip's CRC unit; anything else, and
    /// any other chip, to the CRC routine.
    fn checksums(
        &mut self,
        ranges: &[(u32, u32)],
    ) -> Result<Option<checksum::Checksums>, TargetError> {
        let words = ranges.iter().all(|(a, l)| a % 4 == 0 && l % 4 == 0);
        let (routine, kind) = if self.stm32f2 && words {
            (
                checksum::Routine::Stm32CrcUnit,
                checksum::Kind::Stm32CrcUnit,
            )
        } else {
            (checksum::Routine::Crc, checksum::Kind::Crc32Register)
        };
        Ok(self
            .routine_answer(routine, ranges)
            .map(|values| checksum::Checksums { kind, values }))
    }

    fn blank(&mut self, ranges: &[(u32, u32)]) -> Result<Option<Vec<bool>>, TargetError> {
        Ok(self
            .routine_answer(checksum::Routine::Blank, ranges)
            .map(|words| words.iter().map(|w| *w == 1).collect()))
    }

    fn wiped_to_unlock(&self) -> bool {
        self.wiped_to_unlock
    }

    #[cfg(feature = "emulator")]
    fn wire_counts(&self) -> Option<super::WireCounts> {
        self.emulated.as_ref().map(EmulatedDevice::counts)
    }

    fn compare(&mut self, checks: &[(u32, u32, u32)]) -> Result<Option<Vec<bool>>, TargetError> {
        match &mut self.rtl {
            Some(rtl) => rtl_compare(rtl, &mut self.session, checks).map(Some),
            None => Ok(None),
        }
    }

    fn read(&mut self, address: u32, buf: &mut [u8]) -> Result<(), TargetError> {
        if let Some(rtl) = &mut self.rtl {
            return rtl_read(rtl, &mut self.session, address, buf);
        }
        let mut core = self.session.core(0).map_err(probe_error)?;
        core.read(u64::from(address), buf).map_err(probe_error)
    }

    /// A unit to write that an STM32F2 write-protects is [`TargetError::WriteProtected`],
    /// naming it, before anything is sent: the chip would refuse to erase or program it,
    /// and probe-rs's algorithm would say only "erase_sector failed with code 1".
    fn write_units(&mut self, writes: &[UnitWrite<'_>]) -> Result<(), TargetError> {
        if let Some(rtl) = &mut self.rtl {
            return rtl_write(rtl, &mut self.session, writes);
        }
        if self.stm32f2 && !writes.is_empty() {
            let protected = self.stm32f2_protected_sectors()?;
            let hit = writes.iter().find_map(|w| {
                protected
                    .iter()
                    .find(|p| u64::from(p.start) < w.unit.end && u64::from(w.unit.start) < p.end)
            });
            if let Some(p) = hit {
                return Err(TargetError::WriteProtected {
                    start: p.start,
                    end: p.end,
                });
            }
        }
        let units: Vec<EraseUnit> = writes.iter().map(|w| w.unit).collect();
        if self.driver_for(&units)
            && let Some(driver) = &mut self.driver
        {
            return driver.write(&mut self.session, writes);
        }
        // probe-rs's FlashLoader, where hexsmith cannot drive the target's algorithm: it
        // loads its algorithm over the checksum routine's RAM and the driver's.
        self.checksum_at = None;
        if let Some(driver) = &mut self.driver {
            driver.forget();
        }
        // Units known to be erased are only programmed: an erase costs a call of the flash
        // algorithm per unit, and time on the chip.
        for erased in [false, true] {
            let group: Vec<&UnitWrite<'_>> = writes.iter().filter(|w| w.erased == erased).collect();
            if group.is_empty() {
                continue;
            }
            let mut loader = self.session.target().flash_loader();
            for w in group {
                loader
                    .add_data(u64::from(w.unit.start), w.data)
                    .map_err(probe_error)?;
            }
            let mut options = DownloadOptions::default();
            options.verify = false;
            options.keep_unwritten_bytes = false;
            options.skip_erase = erased;
            loader
                .commit(&mut self.session, options)
                .map_err(probe_error)?;
        }
        Ok(())
    }

    /// An STM32F2 with a write-protected sector refuses its mass erase (WRPERR), yet
    /// probe-rs's flash algorithm returns success (the emulated chip, which runs that
    /// algorithm, shows it): so that case is [`TargetError::WriteProtected`], naming the
    /// sector, before anything is tried.
    fn erase_chip(&mut self) -> Result<(), TargetError> {
        if self.rtl.is_some() {
            return Err(TargetError::Probe(std::sync::Arc::new(
                std::io::Error::other(RTL872X_NO_CHIP_ERASE),
            )));
        }
        self.refuse_protected_chip_erase()?;
        self.checksum_at = None;
        if let Some(driver) = &mut self.driver {
            driver.forget();
        }
        erase_all(&mut self.session, &mut FlashProgress::empty(), false).map_err(probe_error)
    }

    /// With the target's flash algorithm (its EraseChip), through the driver; an STM32F2
    /// with a write-protected sector is refused as for [`FlashTarget::erase_chip`].
    fn erase_whole_chip(&mut self) -> Result<bool, TargetError> {
        if self.rtl.is_some() {
            return Ok(false);
        }
        self.refuse_protected_chip_erase()?;
        // The algorithm for the main flash: the one holding its first unit.
        let start = self.flash_start();
        let first_word = EraseUnit {
            start,
            end: u64::from(start) + 4,
            erase_ms: 0,
        };
        if !self.driver_for(&[first_word]) {
            return Ok(false);
        }
        match &mut self.driver {
            Some(driver) => driver.erase_chip(&mut self.session),
            None => Ok(false),
        }
    }

    fn erase_units(&mut self, units: &[EraseUnit]) -> Result<(), TargetError> {
        if let Some(rtl) = &mut self.rtl {
            for run in runs(units.iter().copied()) {
                guard_mbr(run.0, run.1)?;
                rtl.erase(&mut self.session, run.0, run.1)?;
            }
            return Ok(());
        }
        super::write_blank(self, units)
    }

    fn reset(&mut self) -> Result<(), TargetError> {
        if let Some(rtl) = &mut self.rtl {
            return rtl.finish(&mut self.session);
        }
        self.checksum_at = None;
        if let Some(driver) = &mut self.driver {
            driver.forget();
        }
        let mut core = self.session.core(0).map_err(probe_error)?;
        core.reset().map_err(probe_error)
    }

    /// An STM32F2's sectors are answered by their nWRP bits; any unit of another chip is
    /// not protected as far as a probe can see.
    fn is_write_protected(&mut self, unit: EraseUnit) -> Result<bool, TargetError> {
        if !self.stm32f2 {
            return Ok(false);
        }
        if unit.start == STM32F2_SECTOR0 {
            return self.stm32f2_sector0_protected();
        }
        Ok(self
            .stm32f2_protected_sectors()?
            .iter()
            .any(|p| p.start == unit.start))
    }

    /// Only an STM32F2's sector 0 can be unprotected; anything else is
    /// [`TargetError::ProtectionUnsupported`], with nothing written to the chip.
    fn clear_write_protection(&mut self, unit: EraseUnit) -> Result<(), TargetError> {
        if !self.stm32f2 || unit.start != STM32F2_SECTOR0 {
            return Err(TargetError::ProtectionUnsupported(unit.start));
        }
        self.unprotect_stm32f2_sector0()
    }
}

/// Why an RTL872x is never chip-erased: its first 16 KiB hold the device's own
/// prebootloader-mbr, with its secure-boot keys, which no image carries.
pub const RTL872X_NO_CHIP_ERASE: &str = "an RTL872x is never chip-erased: 0x08000000-0x08003FFF holds the device's own prebootloader-mbr (with its secure-boot keys), which no restore image carries; erase ranges instead (erase --range)";

/// The RTL872x's per-device prebootloader-mbr: nothing is ever written or erased there.
pub const RTL872X_MBR: std::ops::Range<u32> = 0x0800_0000..0x0800_4000;

/// Refuses any write or erase that reaches the prebootloader-mbr.
fn guard_mbr(start: u32, len: u32) -> Result<(), TargetError> {
    let end = u64::from(start) + u64::from(len);
    if u64::from(start) < u64::from(RTL872X_MBR.end) && end > u64::from(RTL872X_MBR.start) {
        return Err(TargetError::Probe(std::sync::Arc::new(
            std::io::Error::other(format!(
                "refused to write or erase {start:#010x}-{end:#010x}: it reaches 0x08000000-0x08003FFF, the RTL872x's per-device prebootloader-mbr"
            )),
        )));
    }
    Ok(())
}

/// Contiguous units merged into `(start, length)` runs.
fn runs(units: impl Iterator<Item = EraseUnit>) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for u in units {
        match out.last_mut() {
            Some((s, l)) if u64::from(*s) + u64::from(*l) == u64::from(u.start) => {
                *l += u.len() as u32;
            }
            _ => out.push((u.start, u.len() as u32)),
        }
    }
    out
}

/// Where [`FlashTarget::read`] finds the eFuse's Wi-Fi MAC on an RTL872x: the loader
/// reads the eFuse logical map and returns only the MAC (offset 0x11A of the map), which
/// the platform table gives as the device ID's source at this address.
pub const RTL872X_MAC_ADDRESS: u32 = 0xF000_011A;

fn rtl_read(
    rtl: &mut Mailbox,
    session: &mut Session,
    address: u32,
    buf: &mut [u8],
) -> Result<(), TargetError> {
    let end = u64::from(address) + buf.len() as u64;
    if address >= RTL872X_MAC_ADDRESS && end <= u64::from(RTL872X_MAC_ADDRESS) + 6 {
        let mac = rtl.mac(session)?;
        let from = (address - RTL872X_MAC_ADDRESS) as usize;
        buf.copy_from_slice(&mac[from..from + buf.len()]);
        return Ok(());
    }
    let flash =
        u64::from(mailbox::FLASH)..u64::from(mailbox::FLASH) + u64::from(mailbox::FLASH_LEN);
    if flash.contains(&u64::from(address)) && end <= flash.end {
        return rtl.read(session, address, buf);
    }
    let mut core = session.core(0).map_err(probe_error)?;
    core.read(u64::from(address), buf).map_err(probe_error)
}

/// Erases the units that are not known to be erased (contiguous ones in one command, so
/// that the loader takes 64 KiB blocks where it can), then programs what is not 0xFF, in
/// messages of up to 16 KiB.
fn rtl_write(
    rtl: &mut Mailbox,
    session: &mut Session,
    writes: &[UnitWrite<'_>],
) -> Result<(), TargetError> {
    for w in writes {
        guard_mbr(w.unit.start, w.unit.len() as u32)?;
    }
    for (start, len) in runs(writes.iter().filter(|w| !w.erased).map(|w| w.unit)) {
        rtl.erase(session, start, len)?;
    }
    // Runs of units with something to program, each written in order.
    let mut pending: Vec<(u32, Vec<u8>)> = Vec::new();
    for w in writes {
        if w.data.iter().all(|b| *b == 0xFF) {
            continue;
        }
        match pending.last_mut() {
            Some((s, d)) if u64::from(*s) + d.len() as u64 == u64::from(w.unit.start) => {
                d.extend_from_slice(w.data);
            }
            _ => pending.push((w.unit.start, w.data.to_vec())),
        }
    }
    for (start, data) in pending {
        rtl.write(session, start, &data)?;
    }
    Ok(())
}

/// Each `(address, length, checksum)` asked of the loader's verify command; the checksum
/// is [`checksum::expected`]'s register, whose inverse is the standard CRC-32 the loader
/// compares with.
fn rtl_compare(
    rtl: &mut Mailbox,
    session: &mut Session,
    checks: &[(u32, u32, u32)],
) -> Result<Vec<bool>, TargetError> {
    checks
        .iter()
        .map(|(address, len, sum)| rtl.verify(session, *address, *len, !*sum))
        .collect()
}
