//! A simulated flash with a real chip's geometry and NOR flash's rules: erased bytes read
//! 0xFF, programming can only clear bits, erasing works on whole units. Faults can be
//! injected (a corrupted write, a run cut short, a write-protected unit) so that every
//! path of planning and verification is tested without a device.

use super::geometry::{EraseUnit, Geometry};
use super::{FlashTarget, TargetError, UnitWrite};
use crate::platform::Mcu;
use std::collections::BTreeMap;

/// A [`FlashTarget`] in memory, for tests: the counters and fault switches below are
/// public so that a test can arrange a situation and check what the planner did.
/// It answers blank checks as a probe's routine does (exactly, without the bytes
/// crossing), but computes no checksums, so [`super::execute`] reads every unit that is
/// not blank to compare it.
#[derive(Debug, Clone)]
pub struct SimulatedFlash {
    geometry: Geometry,
    /// Contents by unit start; a unit not here is erased.
    units: BTreeMap<u32, Vec<u8>>,
    /// Bytes outside the erase units (FICR, the STM32 unique ID): readable, never written.
    rom: BTreeMap<u32, u8>,
    /// Erases per unit, by unit start: shows which units a run rewrote and which it left.
    pub erase_count: BTreeMap<u32, usize>,
    /// Chip erases carried out by [`FlashTarget::erase_chip`] (a refused one not counted).
    pub chip_erases: usize,
    /// Calls of [`FlashTarget::reset`].
    pub resets: usize,
    /// Calls of [`FlashTarget::write_units`], one per batch.
    pub write_calls: usize,
    /// After this many more units written, every write fails (a cable pulled mid-run).
    pub fail_after_units: Option<usize>,
    /// The next program of this address clears one bit too many.
    pub corrupt_at: Option<u32>,
    /// Starts of the write-protected units: erasing one, or the whole chip while one is
    /// protected (an STM32F2 refuses its mass erase then, WRPERR), fails with
    /// [`TargetError::WriteProtected`] until its protection is cleared.
    pub protected: Vec<u32>,
    /// Answer [`FlashTarget::blank`] (on by default); off, the target is one that can
    /// neither check nor checksum, and every unit is read.
    pub answers_blank: bool,
    /// Ranges asked of [`FlashTarget::blank`].
    pub ranges_blank_checked: usize,
    /// Bytes read through [`FlashTarget::read`].
    pub bytes_read: u64,
}

impl SimulatedFlash {
    /// An erased chip of this MCU's geometry.
    pub fn new(mcu: &Mcu) -> SimulatedFlash {
        SimulatedFlash {
            geometry: Geometry::of(mcu),
            units: BTreeMap::new(),
            rom: BTreeMap::new(),
            erase_count: BTreeMap::new(),
            chip_erases: 0,
            resets: 0,
            write_calls: 0,
            fail_after_units: None,
            corrupt_at: None,
            protected: Vec::new(),
            answers_blank: true,
            ranges_blank_checked: 0,
            bytes_read: 0,
        }
    }

    /// Factory-programmed read-only bytes, such as a device's unique ID.
    pub fn set_rom(&mut self, address: u32, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            self.rom.insert(address + i as u32, *b);
        }
    }

    /// Puts bytes in flash directly, as if programmed earlier.
    pub fn preload(&mut self, address: u32, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let a = u64::from(address) + i as u64;
            let unit = self.geometry.unit_at(a).expect("preload inside flash");
            let data = self.unit_mut(unit);
            data[(a - u64::from(unit.start)) as usize] = *b;
        }
    }

    /// Whether `[start, start + len)` is all 0xFF, a unit at a time.
    fn erased(&self, start: u32, len: u32) -> Result<bool, TargetError> {
        let end = u64::from(start) + u64::from(len);
        let mut at = u64::from(start);
        let mut all = true;
        while at < end {
            let Some(unit) = self.geometry.unit_at(at) else {
                let b = self.byte(at).ok_or(TargetError::NoMemory { address: at })?;
                all &= b == 0xFF;
                at += 1;
                continue;
            };
            let to = unit.end.min(end);
            if let Some(data) = self.units.get(&unit.start) {
                let from = (at - u64::from(unit.start)) as usize;
                let upto = (to - u64::from(unit.start)) as usize;
                all &= data[from..upto].iter().all(|b| *b == 0xFF);
            }
            at = to;
        }
        Ok(all)
    }

    fn unit_mut(&mut self, unit: EraseUnit) -> &mut Vec<u8> {
        self.units
            .entry(unit.start)
            .or_insert_with(|| vec![0xFF; unit.len()])
    }

    /// The byte at `address` as the chip holds it (0xFF where erased); `None` where
    /// there is neither flash nor ROM.
    pub fn byte(&self, address: u64) -> Option<u8> {
        if let Some(unit) = self.geometry.unit_at(address) {
            let at = (address - u64::from(unit.start)) as usize;
            return Some(self.units.get(&unit.start).map_or(0xFF, |d| d[at]));
        }
        self.rom.get(&u32::try_from(address).ok()?).copied()
    }

    fn erase(&mut self, unit: EraseUnit) -> Result<(), TargetError> {
        if self.protected.contains(&unit.start) {
            return Err(TargetError::WriteProtected {
                start: unit.start,
                end: unit.end,
            });
        }
        self.units.remove(&unit.start);
        *self.erase_count.entry(unit.start).or_default() += 1;
        Ok(())
    }

    /// NOR programming: each bit can only go from 1 to 0.
    fn program(&mut self, unit: EraseUnit, data: &[u8]) {
        let corrupt = self.corrupt_at.filter(|a| unit.contains(u64::from(*a)));
        let cells = self.unit_mut(unit);
        for (cell, b) in cells.iter_mut().zip(data) {
            *cell &= *b;
        }
        if let Some(a) = corrupt {
            // A weak cell: one bit fails to clear (or, in an erased byte, clears wrongly).
            let at = (a - unit.start) as usize;
            let v = cells[at];
            cells[at] = if v == 0xFF {
                0xFE
            } else {
                v | (!v & (!v).wrapping_neg())
            };
            self.corrupt_at = None;
        }
    }
}

impl FlashTarget for SimulatedFlash {
    fn read(&mut self, address: u32, buf: &mut [u8]) -> Result<(), TargetError> {
        self.bytes_read += buf.len() as u64;
        for (i, b) in buf.iter_mut().enumerate() {
            let a = u64::from(address) + i as u64;
            *b = self.byte(a).ok_or(TargetError::NoMemory { address: a })?;
        }
        Ok(())
    }

    fn blank(&mut self, ranges: &[(u32, u32)]) -> Result<Option<Vec<bool>>, TargetError> {
        if !self.answers_blank {
            return Ok(None);
        }
        self.ranges_blank_checked += ranges.len();
        ranges
            .iter()
            .map(|(start, len)| self.erased(*start, *len))
            .collect::<Result<Vec<bool>, TargetError>>()
            .map(Some)
    }

    fn write_units(&mut self, writes: &[UnitWrite<'_>]) -> Result<(), TargetError> {
        self.write_calls += 1;
        for w in writes {
            if let Some(left) = self.fail_after_units.as_mut() {
                if *left == 0 {
                    return Err(TargetError::Disconnected);
                }
                *left -= 1;
            }
            self.erase(w.unit)?;
            self.program(w.unit, w.data);
        }
        Ok(())
    }

    fn erase_chip(&mut self) -> Result<(), TargetError> {
        let first_protected = self
            .geometry
            .units()
            .iter()
            .find(|u| self.protected.contains(&u.start));
        if let Some(unit) = first_protected {
            return Err(TargetError::WriteProtected {
                start: unit.start,
                end: unit.end,
            });
        }
        self.units.clear();
        self.chip_erases += 1;
        Ok(())
    }

    fn erase_whole_chip(&mut self) -> Result<bool, TargetError> {
        self.erase_chip().map(|()| true)
    }

    fn reset(&mut self) -> Result<(), TargetError> {
        self.resets += 1;
        Ok(())
    }

    fn is_write_protected(&mut self, unit: EraseUnit) -> Result<bool, TargetError> {
        Ok(self.protected.contains(&unit.start))
    }

    fn clear_write_protection(&mut self, unit: EraseUnit) -> Result<(), TargetError> {
        self.protected.retain(|p| *p != unit.start);
        Ok(())
    }
}
