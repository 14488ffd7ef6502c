//! Getting an image onto a chip. The decisions (which erase units an image touches,
//! which of them already hold the right bytes, what must never be erased, how to verify)
//! live here and work against the small [`FlashTarget`] trait, which a debug probe
//! (`probe`) or a simulated flash with the real geometries (`sim`) implements. So every
//! path is tested without hardware.
//!
//! A job decides what to write, its plan which units, [`execute`] does it; the same code
//! drives a probe (`probe::ProbeTarget`) or, as here, the simulated flash:
//!
//! ```rust
//! use hexsmith::flash::{FlashJob, FlashOptions, PlanOptions, execute, sim::SimulatedFlash};
//! use hexsmith::memory::MemoryImage;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut image = MemoryImage::new();
//! image.write(0x000F_4000, &[0x5A; 100]); // bytes in one 4 KiB page
//! let boron = hexsmith::platform::by_name("boron").expect("in the platform table");
//! let job = FlashJob::for_platform(image, boron, None, None)?;
//! let plan = job.plan(PlanOptions::default())?;
//! let mut device = SimulatedFlash::new(job.mcu());
//! let options = FlashOptions::default().with_verify(true);
//! let first = execute(&plan, &job.image, &mut device, &options, &mut |_| {})?;
//! assert_eq!(first.units_written, 1);
//! // The page holds the image now: a second run leaves it alone.
//! let second = execute(&plan, &job.image, &mut device, &options, &mut |_| {})?;
//! assert_eq!((second.units_written, second.units_skipped), (0, 1));
//! # Ok(())
//! # }
//! ```

mod algorithm;
pub mod armv7m;
pub mod checksum;
#[cfg(feature = "probe")]
pub mod detect;
mod device;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod estimate;
mod execute;
mod geometry;
mod job;
mod plan;
#[cfg(feature = "probe")]
pub mod probe;
mod report;
pub mod rtl872x;
// A test double: compiled for the crate's own tests and for whoever asks for it (the
// integration tests, through the `testing` feature), never into a user's build by default.
#[cfg(any(test, feature = "testing"))]
pub mod sim;
pub mod station;
pub mod stm32f2;
mod warning;
pub mod wire;

pub use device::{
    Connector, DeviceError, DeviceEvent, DeviceOptions, DeviceResult, EraseRangeError, LogError,
    LogWriter, Outcome, ProbeSettings, Protocol, VerifyReport, attempt, check_chip_erase,
    error_chain, flash_all, flash_device, units_to_erase, verify_device,
};
pub use execute::{
    Event, FlashError, FlashFailure, FlashOptions, FlashReport, execute, read_device,
    read_device_id, read_device_with_progress,
};
pub use geometry::{EraseUnit, Geometry};
pub use job::{FlashJob, JobError, PlatformFrom, chip_for, platform_for_chip};
pub use plan::{
    Estimate, FlashPlan, PlanError, PlanOptions, WholeChip, check_before_writing,
    device_data_cleared_by_chip_erase, refuse_losing_device_data,
};
#[cfg(feature = "probe")]
pub use report::ProbesDocument;
pub use report::{
    Attached, DeviceActionDocument, FlashDocument, LogLine, PlanDocument, ReadDocument,
    VerifyDocument,
};
pub use warning::JobWarning;

/// One erase unit's complete new content: a target erases the unit and programs all of
/// `data`, so bytes of the unit the image does not cover must already be filled in (with
/// what the device held, as [`execute`] does).
#[derive(Debug, Clone, Copy)]
pub struct UnitWrite<'a> {
    /// The unit to erase and program.
    pub unit: EraseUnit,
    /// Exactly `unit.len()` bytes, from `unit.start` on.
    pub data: &'a [u8],
    /// The unit is known to be erased already (its checksum on the target says so): a
    /// target may program it without erasing it first.
    pub erased: bool,
}

/// Why an operation on a [`FlashTarget`] failed. Units written before it stay written,
/// so a rerun skips them.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// An erase hit a write-protected unit, or a chip erase was refused because one is
    /// (the simulated flash; over a probe, an STM32F2's chip erase, while a probe's sector
    /// erase reports it as [`TargetError::Probe`]). Clear it first with
    /// [`FlashTarget::clear_write_protection`] (`--unprotect-bootloader`).
    #[error(
        "erase unit {start:#010x}-{end:#010x} is write-protected (an STM32F2 nWRP option bit): the chip refuses to erase it, so nothing was erased or written there; clear its protection first (`hexsmith flash --unprotect-bootloader` clears the bootloader sector's), or leave that range out"
    )]
    WriteProtected {
        /// The unit's first address.
        start: u32,
        /// The unit's end, exclusive.
        end: u64,
    },
    /// A read reached an address with no memory behind it (outside flash and the
    /// read-only ID bytes).
    #[error("no memory at {address:#010x}")]
    NoMemory {
        /// The first address that could not be read.
        address: u64,
    },
    /// The link to the device went away mid-run: the simulated flash's
    /// `fail_after_units` (a real probe's lost link comes as [`TargetError::Probe`]).
    #[error("probe disconnected")]
    Disconnected,
    /// An operation the chip was polled for did not finish before its deadline; the
    /// string names the operation (e.g. `"option byte write"`).
    #[error("{0} did not finish in time")]
    Timeout(&'static str),
    /// [`FlashTarget::clear_write_protection`] was asked for a unit (its start address)
    /// the target cannot unprotect (over a probe, only the STM32F2's sector 0 can be).
    #[error("write protection of erase unit {0:#010x} is not something this device can change")]
    ProtectionUnsupported(u32),
    /// The debug probe's own error, kept whole so that its cause stays readable.
    #[error(transparent)]
    Probe(std::sync::Arc<dyn std::error::Error + Send + Sync>),
}

/// What crossed the wire between probe and chip, and what the flash hardware did: on a
/// real probe, time goes to transfers and to downloading the flash algorithm. Only an
/// emulated device can count them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WireCounts {
    /// DP and AP register accesses; a block of N words counts N.
    pub transfers: u64,
    /// Flash algorithm downloads into the target's RAM.
    pub algorithm_loads: u64,
    /// Bytes the flash controller erased (a page, a sector, or all of a chip erase).
    pub bytes_erased: u64,
    /// Bytes the flash controller programmed (16 per STM32F2 option byte write).
    pub bytes_programmed: u64,
    /// Bytes read from the target's memory over the wire.
    pub bytes_read: u64,
    /// Virtual time the emulator's clock advanced (the wire, waiting on the core and the
    /// flash controller where it polls them), in ns; JSON gives it in seconds.
    #[serde(rename = "emulated_seconds", serialize_with = "ns_as_seconds")]
    pub emulated_ns: u64,
    /// The kind of probe the emulated wire behaved as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<wire::ProbeKind>,
}

/// Nanoseconds as seconds, to the microsecond.
fn ns_as_seconds<S: serde::Serializer>(ns: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((*ns / 1_000) as f64 / 1e6)
}

/// What planning and verification need from a device: implemented by a debug probe
/// (`probe::ProbeTarget`, also over the emulated chip) and by the simulated flash of the
/// tests (`sim::SimulatedFlash`).
pub trait FlashTarget {
    /// Reads `buf.len()` bytes from `address`: flash, or any other memory the chip maps
    /// (the device ID is read this way, from FICR or the STM32 UID).
    fn read(&mut self, address: u32, buf: &mut [u8]) -> Result<(), TargetError>;
    /// Erases each unit (or not, where [`UnitWrite::erased`] allows) and programs its whole
    /// new content. Given several units at once so that a probe can do them in one pass
    /// of its flash algorithm.
    fn write_units(&mut self, writes: &[UnitWrite<'_>]) -> Result<(), TargetError>;
    /// Erases the whole chip (on an nRF52840, UICR and MBR included).
    fn erase_chip(&mut self) -> Result<(), TargetError>;
    /// Erases the whole chip as the flash's own algorithm does (nRF52840 ERASEALL: the
    /// code flash and the UICR), for [`execute`] when it chose a chip erase as quicker
    /// ([`FlashPlan::whole_chip`]). Unlike [`FlashTarget::erase_chip`] it needs no
    /// permission given at attach time (which would also let probe-rs wipe a locked chip
    /// while attaching). `Ok(false)` where the target cannot, and the caller erases units.
    fn erase_whole_chip(&mut self) -> Result<bool, TargetError> {
        Ok(false)
    }
    /// Resets the chip so that it boots what was written.
    fn reset(&mut self) -> Result<(), TargetError>;
    /// Erases units, leaving them blank. Writing 0xFF throughout is what an erase leaves,
    /// so that is the default.
    fn erase_units(&mut self, units: &[EraseUnit]) -> Result<(), TargetError> {
        write_blank(self, units)
    }
    /// Whether this unit is write-protected (STM32F2 option bytes). Most flash has no
    /// per-unit protection a probe can see.
    fn is_write_protected(&mut self, _unit: EraseUnit) -> Result<bool, TargetError> {
        Ok(false)
    }
    /// Clears the write protection of this unit.
    fn clear_write_protection(&mut self, unit: EraseUnit) -> Result<(), TargetError> {
        Err(TargetError::ProtectionUnsupported(unit.start))
    }
    /// What crossed the wire so far, where the target can count it (an emulated device).
    fn wire_counts(&self) -> Option<WireCounts> {
        None
    }
    /// Whether attaching erased the whole chip to unlock it (a locked nRF52840 attached
    /// with `--recover`): what it held before is gone, which the result must say.
    fn wiped_to_unlock(&self) -> bool {
        false
    }
    /// A checksum of each `(address, length)` range, computed on the target so that only
    /// checksums cross the wire, with the [`checksum::Kind`] the host computes to compare;
    /// `None` where the target cannot run code, and the caller reads the bytes instead.
    fn checksums(
        &mut self,
        _ranges: &[(u32, u32)],
    ) -> Result<Option<checksum::Checksums>, TargetError> {
        Ok(None)
    }
    /// Whether each `(address, length)` range is all 0xFF, checked exactly on the target
    /// so that only the answers cross the wire (a word a range); `None` where the target
    /// cannot tell without the caller reading the bytes. Far cheaper than a checksum on
    /// an erased range, so a blank device is compared without one.
    fn blank(&mut self, _ranges: &[(u32, u32)]) -> Result<Option<Vec<bool>>, TargetError> {
        Ok(None)
    }
    /// For a target that can only compare (the RTL872x loader's verify command): whether
    /// each `(address, length)` range has the checksum [`checksum::expected`] gives;
    /// `None` where the target cannot. Asked only when [`FlashTarget::checksums`] gave
    /// `None`.
    fn compare(&mut self, _checks: &[(u32, u32, u32)]) -> Result<Option<Vec<bool>>, TargetError> {
        Ok(None)
    }
}

/// Erases units by writing 0xFF throughout them: what [`FlashTarget::erase_units`] does
/// unless a target erases some other way.
pub(crate) fn write_blank<T: FlashTarget + ?Sized>(
    target: &mut T,
    units: &[EraseUnit],
) -> Result<(), TargetError> {
    let blank: Vec<Vec<u8>> = units.iter().map(|u| vec![0xFF; u.len()]).collect();
    let writes: Vec<UnitWrite<'_>> = units
        .iter()
        .zip(&blank)
        .map(|(unit, data)| UnitWrite {
            unit: *unit,
            data,
            erased: false,
        })
        .collect();
    target.write_units(&writes)
}
