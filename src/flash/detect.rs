//! Which chip is on the probe when the user did not say: probe-rs's own auto-detection
//! (`TargetSelector::Auto`, which reads the CoreSight ROM table's designer and part, then
//! the vendor's ID registers), checked against the chip's identification registers before
//! hexsmith takes a flash geometry from its answer.

use super::probe::{ProbeError, find_probe, registry};
use probe_rs::config::{MemoryRegion, Registry, TargetSelector};
use probe_rs::probe::{DebugProbeSelector, Probe, WireProtocol};
use probe_rs::{MemoryInterface, Permissions, Session};

/// STM32F2 DBGMCU_IDCODE (RM0033 32.6.1): DEV_ID in bits 11:0, REV_ID in 31:16.
const STM32F2_DBGMCU_IDCODE: u64 = 0xE004_2000;
/// DEV_ID of every STM32F20x and F21x (RM0033 32.6.1).
const STM32F2_DEV_ID: u32 = 0x411;
/// The word holding F_SIZE (RM0033 "Flash size": a half-word at 0x1FFF_7A22, in KiB).
const STM32F2_F_SIZE_WORD: u64 = 0x1FFF_7A20;
/// nRF52840 FICR INFO.PART and INFO.VARIANT (nRF52840 Product Specification, FICR).
const NRF_FICR_INFO_PART: u64 = 0x1000_0100;
const NRF_FICR_INFO_VARIANT: u64 = 0x1000_0104;

/// A chip that named itself.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DetectedChip {
    /// The probe's selector, or the emulated device's name.
    pub probe: String,
    /// Its probe-rs target name, as auto-detection gave it.
    pub chip: String,
    /// The registers that named it, as read: what a user can check against the datasheet.
    pub evidence: String,
}

/// A chip that named itself, still attached: the command that asked goes on with this
/// session ([`super::probe::ProbeTarget::connect_detected`]) instead of opening the probe
/// again.
#[derive(Debug)]
pub struct Detected {
    /// What answered, and how.
    pub chip: DetectedChip,
    session: Session,
}

impl Detected {
    pub(crate) fn into_parts(self) -> (DetectedChip, Session) {
        (self.chip, self.session)
    }
}

/// Asks the chip on the probe `settings` name (or on the emulated device) what it is.
/// Holding it in reset is tried when it does not answer otherwise: Gen 2's Device OS turns
/// SWD off once it runs, and no MCU is known yet to say so.
pub fn detect(settings: &super::ProbeSettings) -> Result<DetectedChip, ProbeError> {
    detect_attached(settings).map(|d| d.chip)
}

/// [`detect`], keeping the session it attached.
pub fn detect_attached(settings: &super::ProbeSettings) -> Result<Detected, ProbeError> {
    type Opener = Box<dyn Fn() -> Result<Probe, ProbeError>>;
    #[cfg(feature = "emulator")]
    let emulated = settings.emulate.first().map(|device| {
        let device = device.clone();
        let name = device.name();
        (Box::new(move || Ok(device.probe())) as Opener, name)
    });
    #[cfg(not(feature = "emulator"))]
    let emulated: Option<(Opener, String)> = None;
    let (open, name): (Opener, String) = match emulated {
        Some(emulated) => emulated,
        None => {
            let info = find_probe(settings.probe.as_deref())?;
            let name = DebugProbeSelector::from(&info).to_string();
            let probe = name.clone();
            let open = move || {
                info.open().map_err(|source| ProbeError::Open {
                    probe: probe.clone(),
                    source,
                })
            };
            (Box::new(open), name)
        }
    };
    let registry = detection_registry(settings.chip_description.as_deref())?;
    let attempt = |under_reset: bool| -> Result<Session, ProbeError> {
        let mut probe = open()?;
        let opened = |source| ProbeError::Open {
            probe: name.clone(),
            source,
        };
        if let Some(protocol) = settings.protocol {
            probe
                .select_protocol(match protocol {
                    super::Protocol::Swd => WireProtocol::Swd,
                    super::Protocol::Jtag => WireProtocol::Jtag,
                })
                .map_err(opened)?;
        }
        if let Some(khz) = settings.speed_khz {
            probe.set_speed(khz).map_err(opened)?;
        }
        let attached = if under_reset {
            probe.attach_under_reset_with_registry(
                TargetSelector::Auto,
                Permissions::new(),
                &registry,
            )
        } else {
            probe.attach_with_registry(TargetSelector::Auto, Permissions::new(), &registry)
        };
        attached.map_err(|e| ProbeError::Undetected {
            probe: name.clone(),
            reason: match e {
                probe_rs::Error::ChipNotFound(_) => "probe-rs's auto-detection matched no chip it knows to its ROM table and ID registers; an RTL872x never answers it, nor does a locked nRF52840 (APPROTECT), which shows no memory".to_string(),
                other => format!("probe-rs's auto-detection: {other}"),
            },
        })
    };
    let mut session = match attempt(settings.connect_under_reset) {
        Ok(session) => session,
        Err(first @ ProbeError::Undetected { .. }) if !settings.connect_under_reset => {
            attempt(true).map_err(|_| first)?
        }
        Err(e) => return Err(e),
    };
    let chip = confirm(&mut session, &name)?;
    Ok(Detected { chip, session })
}

/// probe-rs's registry with the part number its STM32F2 family lacks. Its auto-detection
/// matches the ROM table's part against the targets' `part`, and the STM32F2 targets (from
/// ST's CMSIS pack) carry none, so no STM32F2 is ever found. Every STM32F2's ROM table
/// names DEV_ID 0x411; it is given to STM32F205RG, the one Particle uses, and what is
/// detected is then checked against F_SIZE (see [`confirm`]).
fn detection_registry(chip_description: Option<&std::path::Path>) -> Result<Registry, ProbeError> {
    let mut registry = registry(chip_description)?;
    let stm32f2 = registry
        .families()
        .iter()
        .find(|f| f.name == "STM32F2 Series")
        .cloned();
    if let Some(mut family) = stm32f2 {
        for variant in &mut family.variants {
            if variant.name == "STM32F205RG" {
                variant.part = Some(STM32F2_DEV_ID as u16);
            }
        }
        super::probe::sector_sized_pages(&mut family.flash_algorithms);
        // The family came from the registry, so it validates; should it not, detection
        // simply finds no STM32F2, as probe-rs alone does.
        let _ = registry.add_target_family(family);
    }
    Ok(registry)
}

fn read_word(session: &mut Session, address: u64) -> Result<u32, probe_rs::Error> {
    session.core(0)?.read_word_32(address)
}

/// The detected chip with the registers that identify it, read; an STM32F2 whose flash
/// size is not the detected target's is refused, as is one whose DBGMCU_IDCODE disagrees.
fn confirm(session: &mut Session, probe: &str) -> Result<DetectedChip, ProbeError> {
    let chip = session.target().name.clone();
    let target_kib = nvm_kib(session);
    let undetected = |reason: String| ProbeError::Undetected {
        probe: probe.to_string(),
        reason,
    };
    let mut read = |address: u64| {
        read_word(session, address)
            .map_err(|e| undetected(format!("{chip}: reading {address:#010x}: {e}")))
    };
    let upper = chip.to_ascii_uppercase();
    let evidence = if upper.starts_with("NRF52") {
        let part = read(NRF_FICR_INFO_PART)?;
        let variant = read(NRF_FICR_INFO_VARIANT)?;
        let variant: String = variant
            .to_be_bytes()
            .iter()
            .map(|b| match b {
                0x20..=0x7E => char::from(*b),
                _ => '?',
            })
            .collect();
        format!(
            "ROM table designer Nordic Semiconductor; FICR INFO.PART {part:#x}, INFO.VARIANT {variant}"
        )
    } else if upper.starts_with("STM32F2") {
        let idcode = read(STM32F2_DBGMCU_IDCODE)?;
        let f_size_kib = read(STM32F2_F_SIZE_WORD)? >> 16;
        if idcode & 0xFFF != STM32F2_DEV_ID {
            return Err(undetected(format!(
                "its ROM table names an STM32F2, but DBGMCU_IDCODE is {idcode:#010x}, not DEV_ID 0x411"
            )));
        }
        if f_size_kib != target_kib {
            return Err(undetected(format!(
                "an STM32F2 (DEV_ID 0x411) with {f_size_kib} KiB of flash (F_SIZE), where {chip} has {target_kib} KiB"
            )));
        }
        format!(
            "ROM table designer STMicroelectronics, part 0x411; DBGMCU_IDCODE DEV_ID 0x411, REV_ID {:#06x}; F_SIZE {f_size_kib} KiB",
            idcode >> 16
        )
    } else {
        "probe-rs's auto-detection".to_string()
    };
    Ok(DetectedChip {
        probe: probe.to_string(),
        chip,
        evidence,
    })
}

/// The target's main flash, in KiB, as its probe-rs memory map gives it.
fn nvm_kib(session: &Session) -> u32 {
    let bytes: u64 = session
        .target()
        .memory_map
        .iter()
        .filter_map(|r| match r {
            MemoryRegion::Nvm(n) if !n.is_alias => Some(n.range.end - n.range.start),
            _ => None,
        })
        .sum();
    (bytes / 1024) as u32
}
