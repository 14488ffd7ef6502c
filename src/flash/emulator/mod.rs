//! An emulated nRF52840 or STM32F205 behind an emulated debug probe, so that probe-rs's
//! own code (ADI, memory APs, Cortex-M debug, vendor sequences, `FlashLoader` running the
//! real flash algorithms) runs without hardware: for tests, and for a production engineer
//! who rehearses a station's commands before the hardware arrives (`--emulate`).
//!
//! Layers: `dap` (SW-DP, AHB-AP, nRF52 CTRL-AP: where a probe's wire would be), `wire`
//! (the USB packets a probe of the chosen kind sends, and what they cost), `core`
//! (Cortex-M debug registers and a Thumb interpreter for code run from RAM), `bus`
//! (memories and the flash controllers, with NOR rules), and `clock`, the virtual time
//! all of them advance, against which flash operations keep their controller busy.
//!
//! A device's non-volatile memory can live in a state file, an Intel HEX of that memory,
//! so successive commands see one device and `hexsmith inspect FILE` reads it.

mod bus;
pub mod clock;
mod core;
mod coresight;
mod dap;
mod rtl8721dm;
mod stm32_crc;
mod wire;

pub use bus::NorViolation;
pub use dap::EmulatedProbe;

pub use super::WireCounts;
pub use super::wire::ProbeKind;
use crate::memory::MemoryImage;
use bus::Bus;
use core::Silicon;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub use super::rtl872x::RTL8721DM;

/// The first word of every flash algorithm probe-rs downloads (two BKPT instructions).
const ALGORITHM_HEADER: u32 = 0xBE00_BE00;

/// The chips the emulator models, by their probe-rs target names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chip {
    /// nRF52840_xxAA: Gen 3 (Argon, Boron, B SoM, Tracker, ...).
    Nrf52840,
    /// STM32F205RG: Gen 2 (Photon, P1, Electron).
    Stm32f205,
    /// RTL8721DM: P2, Photon 2, M-SoM, Tracker M; programmed through Particle's RAM flash
    /// loader, which the emulated KM0 core executes.
    Rtl8721dm,
}

impl Chip {
    /// Every chip the emulator models.
    pub const ALL: [Chip; 3] = [Chip::Nrf52840, Chip::Stm32f205, Chip::Rtl8721dm];

    /// The chip for a probe-rs target name, ignoring case.
    pub fn from_target_name(name: &str) -> Option<Chip> {
        Chip::ALL
            .into_iter()
            .find(|c| c.target_name().eq_ignore_ascii_case(name))
    }

    /// The probe-rs target name, as `--chip` and the platform table write it.
    pub fn target_name(self) -> &'static str {
        match self {
            Chip::Nrf52840 => "nRF52840_xxAA",
            Chip::Stm32f205 => "STM32F205RG",
            Chip::Rtl8721dm => RTL8721DM,
        }
    }

    /// Where the unique ID lies, and how long it is.
    fn device_id_location(self) -> (u32, usize) {
        match self {
            Chip::Nrf52840 => (bus::NRF_DEVICE_ID, 8),
            Chip::Stm32f205 => (bus::STM_UID, 12),
            // The eFuse's Wi-Fi MAC, as the state file records it.
            Chip::Rtl8721dm => (rtl8721dm::EFUSE_RECORD + rtl8721dm::EFUSE_MAC_OFFSET, 6),
        }
    }
}

/// Why an emulated device could not be opened or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The state file could not be read or written, is not Intel HEX, or holds data the
    /// chip has no non-volatile memory for (a state file of the other chip).
    #[error("{path}: {reason}")]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// `--emulate` named a chip the emulator does not model (the name is held here).
    #[error(
        "unknown chip {0:?} for --emulate: the emulator models nRF52840_xxAA, STM32F205RG and RTL8721DM"
    )]
    UnknownChip(String),
    /// The state file may not be written: a symbolic link, a special or read-only file,
    /// or one of the command's inputs. Found before the device is touched.
    #[error(transparent)]
    Refused(#[from] crate::output::OutputError),
}

impl EmulatorError {
    /// A state file that cannot be read or is not a state is `Unreadable` (exit 2), one
    /// that may not be written is refused; an unknown chip is the command line's fault,
    /// which the caller says (it has no [`crate::report::Failure`]).
    pub fn failure(&self) -> Option<crate::report::Failure> {
        match self {
            EmulatorError::State { .. } => Some(crate::report::Failure::Unreadable),
            EmulatorError::UnknownChip(_) => None,
            EmulatorError::Refused(e) => Some(e.failure()),
        }
    }
}

/// The device behind the emulated probe: silicon, debug port state, counters.
#[derive(Debug)]
pub(crate) struct DeviceState {
    chip: Chip,
    /// SHA-256 of [`EmulatedDevice::nvm_image`] as the state file holds it (loaded or
    /// last saved); `None` while there is no file. A save that would write the same
    /// leaves the file alone, so read-only commands never rewrite it.
    saved: Option<[u8; 32]>,
    silicon: Silicon,
    dap: dap::DapState,
    counters: WireCounts,
    /// Device Protection's eFuse is burnt (RTL8721DM): the SWD pins stay GPIO and nothing
    /// answers on the wire.
    swd_closed: bool,
    /// The wire's virtual time: what the host has spent so far.
    now: clock::Nanos,
    /// The time [`EmulatedDevice::reset_counts`] was last called.
    origin: clock::Nanos,
    wire: wire::Wire,
}

#[derive(Debug, Clone)]
pub(crate) struct Shared(Arc<Mutex<DeviceState>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, DeviceState> {
        // A panic elsewhere leaves the chip as it was; its state is still the best record.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An emulated chip. Cloning gives another handle to the same chip; `probe()` gives a
/// probe-rs `Probe` wired to it.
#[derive(Debug, Clone)]
pub struct EmulatedDevice {
    shared: Shared,
    state_file: Option<PathBuf>,
}

impl EmulatedDevice {
    /// Erased silicon with the given unique ID (8 bytes for nRF52840, 12 for STM32F2, the
    /// 6-byte Wi-Fi MAC for the RTL8721DM).
    pub fn blank(chip: Chip, device_id: &[u8]) -> EmulatedDevice {
        let (_, len) = chip.device_id_location();
        let mut id = device_id.to_vec();
        id.resize(len, 0);
        if chip == Chip::Rtl8721dm {
            // A unicast, globally administered MAC.
            id[0] &= 0xFC;
        }
        let bus = Bus::new(chip, &id);
        EmulatedDevice {
            shared: Shared(Arc::new(Mutex::new(DeviceState {
                chip,
                saved: None,
                silicon: Silicon::new(bus),
                dap: dap::DapState::default(),
                counters: WireCounts::default(),
                swd_closed: false,
                now: 0,
                origin: 0,
                wire: wire::Wire::new(ProbeKind::DEFAULT),
            }))),
            state_file: None,
        }
    }

    /// A device without a state file: erased silicon, the same ID every time.
    pub fn without_state(chip: Chip) -> EmulatedDevice {
        let digest = Sha256::new()
            .chain_update("hexsmith emulated ")
            .chain_update(chip.target_name())
            .finalize();
        EmulatedDevice::blank(chip, &digest)
    }

    /// The device a state file describes; erased silicon (with an ID derived from the
    /// file's path, so each file is its own device) if the file does not exist yet.
    /// The file is refused first, before anything is read or emulated, if
    /// [`EmulatedDevice::save`] could not write it (see [`crate::output`]); it is read
    /// within [`crate::input::MAX_INPUT_LEN`].
    pub fn open(chip: Chip, state_file: &Path) -> Result<EmulatedDevice, EmulatorError> {
        EmulatedDevice::open_beside(chip, state_file, std::iter::empty::<&Path>())
    }

    /// [`EmulatedDevice::open`] for a command whose `inputs` the state file must not be.
    pub fn open_beside<'a>(
        chip: Chip,
        state_file: &Path,
        inputs: impl IntoIterator<Item = &'a Path>,
    ) -> Result<EmulatedDevice, EmulatorError> {
        let bad = |reason: String| EmulatorError::State {
            path: state_file.to_path_buf(),
            reason,
        };
        crate::output::check_output(state_file, inputs)?;
        let mut device = match std::fs::symlink_metadata(state_file) {
            Ok(_) => {
                let bytes = crate::input::read_bytes(state_file).map_err(|e| match e {
                    crate::input::InputError::Io { source, .. } => bad(source.to_string()),
                    _ => bad(format!(
                        "larger than {} MiB, more than any chip's memory: not an emulator state",
                        crate::input::MAX_INPUT_LEN >> 20
                    )),
                })?;
                EmulatedDevice::from_state(chip, &bytes).map_err(bad)?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let absolute = std::path::absolute(state_file).unwrap_or(state_file.into());
                let digest = Sha256::new()
                    .chain_update(chip.target_name())
                    .chain_update(path_bytes(&absolute))
                    .finalize();
                EmulatedDevice::blank(chip, &digest)
            }
            Err(e) => return Err(bad(e.to_string())),
        };
        device.state_file = Some(state_file.to_path_buf());
        Ok(device)
    }

    /// The device a state file's bytes describe, as [`EmulatedDevice::open`] reads them,
    /// without a file to save to: Intel HEX of what [`EmulatedDevice::nvm_image`] holds.
    /// The reason, naming the address where there is one, if the bytes are not a state
    /// of `chip`.
    pub fn from_state(chip: Chip, bytes: &[u8]) -> Result<EmulatedDevice, String> {
        let (image, _) = crate::memory::hex::parse(bytes)
            .map_err(|e| format!("not an emulator state (Intel HEX): {e}"))?;
        let device = EmulatedDevice::from_image(chip, &image)?;
        let saved = device.nvm_digest();
        device.shared.lock().saved = Some(saved);
        Ok(device)
    }

    fn nvm_digest(&self) -> [u8; 32] {
        let image = self.nvm_image();
        let mut hasher = Sha256::new();
        for seg in image.segments() {
            hasher.update(seg.start.to_be_bytes());
            hasher.update((seg.data.len() as u64).to_be_bytes());
            hasher.update(&seg.data);
        }
        hasher.finalize().into()
    }

    /// A device whose non-volatile memory and ID are those an image of it holds (as
    /// `nvm_image` writes it). Fails, naming the address, on data the chip cannot hold.
    pub fn from_image(chip: Chip, image: &MemoryImage) -> Result<EmulatedDevice, String> {
        let (id_at, id_len) = chip.device_id_location();
        let Some(id) = image.read(u64::from(id_at), id_len) else {
            return Err(format!(
                "no device ID at {id_at:#010x}: not a state file of an emulated {}",
                chip.target_name()
            ));
        };
        let device = EmulatedDevice::blank(chip, id);
        {
            let mut d = device.shared.lock();
            if chip == Chip::Rtl8721dm {
                let closed = image.read(u64::from(rtl8721dm::EFUSE_SWD_CLOSED), 1);
                d.swd_closed = closed.is_some_and(|b| b[0] != 0xFF);
            }
            let bus = &mut d.silicon.bus;
            for seg in image.segments() {
                place(bus, chip, seg.start, &seg.data)?;
            }
            // Loaded from a state file: the device powers up.
            d.silicon.power_on_reset();
        }
        Ok(device)
    }

    /// A new probe-rs probe on this device's debug port.
    pub fn probe(&self) -> probe_rs::probe::Probe {
        let name = format!("emulated {}", self.chip().target_name());
        probe_rs::probe::Probe::from_specific_probe(Box::new(EmulatedProbe::new(
            self.shared.clone(),
            name,
        )))
    }

    /// Which chip this is.
    pub fn chip(&self) -> Chip {
        self.shared.lock().chip
    }

    /// The name the device goes by where a probe's selector would be shown.
    pub fn name(&self) -> String {
        match &self.state_file {
            Some(path) => format!("emulated:{}", path.display()),
            None => format!("emulated:{}", self.chip().target_name()),
        }
    }

    /// Where [`EmulatedDevice::save`] writes the device; `None` for one that lives only
    /// in memory.
    pub fn state_file(&self) -> Option<&Path> {
        self.state_file.as_deref()
    }

    /// The unique ID as the chip holds it (FICR DEVICEID, or the STM32 UID).
    pub fn device_id_bytes(&self) -> Vec<u8> {
        self.shared.lock().silicon.bus.id_bytes.clone()
    }

    /// What crossed the wire and what the flash did since the device was made or
    /// [`EmulatedDevice::reset_counts`] was last called, over every probe on it, and the
    /// virtual time that took.
    pub fn counts(&self) -> WireCounts {
        let d = self.shared.lock();
        let mut c = d.counters;
        c.bytes_erased = d.silicon.bus.work.bytes_erased;
        c.bytes_programmed = d.silicon.bus.work.bytes_programmed;
        c.emulated_ns = d.now - d.origin;
        c.probe = Some(d.wire.kind);
        c
    }

    /// Zeroes the counters and starts the time [`WireCounts::emulated_ns`] counts from,
    /// to measure one command on its own.
    pub fn reset_counts(&self) {
        let mut d = self.shared.lock();
        d.counters = WireCounts::default();
        d.silicon.bus.work = Default::default();
        d.origin = d.now;
    }

    /// The kind of probe the emulated wire behaves as ([`ProbeKind::DEFAULT`] unless set).
    pub fn probe_kind(&self) -> ProbeKind {
        self.shared.lock().wire.kind
    }

    /// Makes every probe on this device behave as one of `kind`: its packets, round trips
    /// and default SWD clock. Commands to come are charged accordingly.
    pub fn set_probe_kind(&self, kind: ProbeKind) {
        let mut d = self.shared.lock();
        let speed = d.wire.swd_khz;
        let default = d.wire.kind.costs().default_swd_khz;
        d.wire = wire::Wire::new(kind);
        // A clock probe-rs set stays; the old kind's default does not.
        if speed != default {
            d.wire.swd_khz = speed;
        }
    }

    /// Virtual time since the device was made: the wire's, which waits for the core and
    /// the flash controller whenever it polls them.
    pub fn elapsed_ns(&self) -> clock::Nanos {
        self.shared.lock().now
    }

    /// Every write that tried to set a programmed bit back to 1 without an erase.
    pub fn nor_violations(&self) -> Vec<NorViolation> {
        self.shared.lock().silicon.bus.violations.clone()
    }

    /// Faults and runaways of code the core ran (a flash algorithm that crashed).
    pub fn core_faults(&self) -> Vec<String> {
        self.shared.lock().silicon.faults.clone()
    }

    /// Instructions the emulated core executed, all runs together.
    pub fn instructions(&self) -> u64 {
        self.shared.lock().silicon.instructions
    }

    /// The non-volatile memory as a state file holds it: programmed flash (4 KiB runs, an
    /// nRF52840 page, that are not all erased, kept whole so that `inspect` sees an MBR or
    /// UICR page entire), UICR or OTP, the option bytes, and the device ID.
    pub fn nvm_image(&self) -> MemoryImage {
        let d = self.shared.lock();
        let bus = &d.silicon.bus;
        let mut image = MemoryImage::new();
        for nvm in &bus.nvm {
            for (k, chunk) in nvm.data.chunks(4096).enumerate() {
                if chunk.iter().any(|b| *b != 0xFF) {
                    image.write(nvm.start + (k * 4096) as u32, chunk);
                }
            }
        }
        let (id_at, _) = d.chip.device_id_location();
        image.write(id_at, &bus.id_bytes);
        if d.swd_closed {
            image.write(rtl8721dm::EFUSE_SWD_CLOSED, &[0x00]);
        }
        if d.chip == Chip::Stm32f205 {
            image.write(bus::STM_OPTION_BYTES, &stm_option_bytes(bus.option_word()));
        }
        image
    }

    /// Bytes of non-volatile memory, read directly (not over the wire, so not counted).
    pub fn peek(&self, address: u32, len: usize) -> Vec<u8> {
        let mut d = self.shared.lock();
        (0..len as u32)
            .map(|k| d.silicon.bus.read(address + k, 1).unwrap_or(0) as u8)
            .collect()
    }

    /// Writes the state file, if the device has one and its memory differs from what the
    /// file holds (a device only read is not rewritten, a new one only read not created):
    /// whole or not at all.
    pub fn save(&self) -> Result<(), EmulatorError> {
        let Some(path) = &self.state_file else {
            return Ok(());
        };
        let digest = self.nvm_digest();
        let blank = EmulatedDevice::blank(self.chip(), &self.device_id_bytes()).nvm_digest();
        let saved = self.shared.lock().saved;
        if saved == Some(digest) || (saved.is_none() && digest == blank) {
            return Ok(());
        }
        let image = self.nvm_image();
        crate::output::write_atomic_with(path, |f| crate::memory::hex::write_to(&image, f))?;
        self.shared.lock().saved = Some(digest);
        Ok(())
    }

    /// Turns on the nRF52840's access port protection (UICR.APPROTECT = 0), as Particle's
    /// Device Protection does: the debugger then sees only the CTRL-AP.
    pub fn lock_approtect(&self) {
        let mut d = self.shared.lock();
        let at = (bus::NRF_APPROTECT - bus::NRF_UICR) as usize;
        if let Some(uicr) = d.silicon.bus.nvm_starting_at(bus::NRF_UICR) {
            uicr.data[at..at + 4].fill(0);
        }
        d.silicon.power_on_reset();
    }

    /// Burns Device Protection's eFuse on an RTL8721DM, as Particle's Device Protection
    /// does: the chip no longer answers on SWD.
    pub fn close_swd(&self) {
        self.shared.lock().swd_closed = true;
    }

    /// Write-protects STM32F2 sectors (clears their nWRP bits), as Device OS does for its
    /// bootloader sector.
    pub fn protect_stm32_sectors(&self, sectors: u32) {
        let mut d = self.shared.lock();
        let word = d.silicon.bus.option_word() & !((sectors & 0xFFF) << 16);
        d.silicon.bus.set_option_word(word);
    }
}

/// A path's bytes as the operating system holds them: two different names never give
/// the same bytes, as a lossy string of two non-UTF-8 names would.
fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

fn stm_option_bytes(word: u32) -> [u8; 16] {
    let mut b = [0xFF; 16];
    b[0..2].copy_from_slice(&((word & 0xFFFC) as u16).to_le_bytes());
    b[8..10].copy_from_slice(&((word >> 16 & 0xFFF) as u16 | 0xF000).to_le_bytes());
    b
}

/// Puts a state file's segment where it belongs: NVM, option bytes, or the ID (read
/// before). Fails on any byte the chip has no non-volatile memory for.
fn place(bus: &mut Bus, chip: Chip, start: u32, data: &[u8]) -> Result<(), String> {
    let (id_at, id_len) = chip.device_id_location();
    let seg_end = u64::from(start) + data.len() as u64;
    let mut covered = vec![false; data.len()];
    let mut overlap = |lo: u64, hi: u64| -> Option<(usize, usize)> {
        let from = lo.max(u64::from(start));
        let to = hi.min(seg_end);
        (from < to).then(|| {
            let (a, b) = (
                (from - u64::from(start)) as usize,
                (to - u64::from(start)) as usize,
            );
            covered[a..b].fill(true);
            (a, b)
        })
    };
    overlap(u64::from(id_at), u64::from(id_at) + id_len as u64);
    if chip == Chip::Rtl8721dm {
        let at = u64::from(rtl8721dm::EFUSE_SWD_CLOSED);
        overlap(at, at + 1);
    }
    if chip == Chip::Stm32f205 {
        let at = u64::from(bus::STM_OPTION_BYTES);
        if let Some((a, b)) = overlap(at, at + 16) {
            let mut bytes = stm_option_bytes(bus.option_word());
            let o = (u64::from(start) + a as u64 - at) as usize;
            bytes[o..o + (b - a)].copy_from_slice(&data[a..b]);
            let word = u32::from(u16::from_le_bytes([bytes[0], bytes[1]])) & 0xFFFC
                | (u32::from(u16::from_le_bytes([bytes[8], bytes[9]])) & 0xFFF) << 16;
            bus.set_option_word(word);
        }
    }
    for nvm in &mut bus.nvm {
        let lo = u64::from(nvm.start);
        if let Some((a, b)) = overlap(lo, lo + nvm.data.len() as u64) {
            let o = (u64::from(start) + a as u64 - lo) as usize;
            nvm.data[o..o + (b - a)].copy_from_slice(&data[a..b]);
        }
    }
    match covered.iter().position(|c| !c) {
        None => Ok(()),
        Some(k) => Err(format!(
            "data at {:#010x} lies outside the non-volatile memory of {}: this state file belongs to another chip",
            u64::from(start) + k as u64,
            chip.target_name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// APPROTECT lies in the UICR whatever place the UICR has among the chip's memories.
    #[test]
    fn approtect_is_found_by_the_uicr_address() {
        let device = EmulatedDevice::without_state(Chip::Nrf52840);
        device.shared.lock().silicon.bus.nvm.reverse();
        device.lock_approtect();
        let d = device.shared.lock();
        assert!(d.silicon.bus.nrf_approtect_enabled());
        let flash = d.silicon.bus.nvm.iter().find(|n| n.start == bus::NRF_FLASH);
        assert!(flash.is_some_and(|f| f.data.iter().all(|b| *b == 0xFF)));
    }
}
