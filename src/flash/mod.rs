//! Getting an image onto a chip. The decisions (which erase units an image touches,
//! which of them already hold the right bytes, what must never be erased, how to verify)
//! live here and work against the small [`FlashTarget`] trait, which a debug probe
//! (`probe`) or a simulated flash with the real geometries (`sim`) implements. So every
//! path is tested without hardware.

mod execute;
mod geometry;
mod plan;
#[cfg(feature = "probe")]
pub mod probe;
pub mod sim;

pub use execute::{
    Event, FlashError, FlashFailure, FlashOptions, FlashReport, execute, read_device,
    read_device_id,
};
pub use geometry::{EraseUnit, Geometry};
pub use plan::{Estimate, FlashPlan, PlanError, PlanOptions, check_before_writing};

/// One erase unit's complete new content.
#[derive(Debug, Clone, Copy)]
pub struct UnitWrite<'a> {
    pub unit: EraseUnit,
    pub data: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("erase unit {start:#010x}-{end:#010x} is write-protected")]
    WriteProtected { start: u32, end: u64 },
    #[error("{0}")]
    Probe(String),
}

/// What planning and verification need from a device.
pub trait FlashTarget {
    /// Reads `buf.len()` bytes from `address`.
    fn read(&mut self, address: u32, buf: &mut [u8]) -> Result<(), TargetError>;
    /// Erases each unit and programs its whole new content. Given several units at once
    /// so that a probe can do them in one pass of its flash algorithm.
    fn write_units(&mut self, writes: &[UnitWrite<'_>]) -> Result<(), TargetError>;
    /// Erases the whole chip (on an nRF52840, UICR and MBR included).
    fn erase_chip(&mut self) -> Result<(), TargetError>;
    fn reset(&mut self) -> Result<(), TargetError>;
}
