//! Erase units: the smallest pieces of flash an erase clears (nRF52840: 4 KiB pages and
//! the UICR page on its own; STM32F205: sectors of 16, 16, 16, 16, 64 and 128 KiB).

use crate::platform::Mcu;
use serde::Serialize;

/// One erase unit: a page or sector that an erase clears as a whole, so writing any byte
/// of it means rewriting all of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EraseUnit {
    /// First flash address.
    pub start: u32,
    /// End address, exclusive (a `u64`, as a memory image's segment ends are).
    pub end: u64,
    /// Datasheet time to erase it, in ms, from `platforms.toml`; only for estimates.
    #[serde(skip)]
    pub erase_ms: u32,
}

impl EraseUnit {
    /// Size in bytes (4 KiB to 128 KiB on the chips in the platform table).
    pub fn len(&self) -> usize {
        (self.end - u64::from(self.start)) as usize
    }

    /// Whether the unit holds no bytes; never true for a unit of a [`Geometry`].
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `address` lies in `[start, end)`.
    pub fn contains(&self, address: u64) -> bool {
        u64::from(self.start) <= address && address < self.end
    }
}

/// All of an MCU's erase units, sorted by address and not overlapping. They need not be
/// contiguous: the nRF52840's UICR page lies far above its main flash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    units: Vec<EraseUnit>,
}

impl Geometry {
    /// The units the platform table lists for this MCU (`erase_units`); empty for an MCU
    /// without them, which cannot be planned for.
    pub fn of(mcu: &Mcu) -> Geometry {
        let mut units = Vec::new();
        for run in &mcu.erase_units {
            for i in 0..run.count {
                let start = run.start + i * run.size;
                units.push(EraseUnit {
                    start,
                    end: u64::from(start) + u64::from(run.size),
                    erase_ms: run.erase_ms,
                });
            }
        }
        units.sort_by_key(|u| u.start);
        Geometry { units }
    }

    /// Every unit, in address order.
    pub fn units(&self) -> &[EraseUnit] {
        &self.units
    }

    /// The unit holding `address`, or `None` outside every unit (a binary search).
    pub fn unit_at(&self, address: u64) -> Option<EraseUnit> {
        let i = self.units.partition_point(|u| u.end <= address);
        self.units.get(i).copied().filter(|u| u.contains(address))
    }

    /// The units that overlap `[start, end)`, or the first address no unit holds.
    pub fn units_in(&self, start: u64, end: u64) -> Result<Vec<EraseUnit>, u64> {
        let mut out = Vec::new();
        let mut at = start;
        while at < end {
            let unit = self.unit_at(at).ok_or(at)?;
            out.push(unit);
            at = unit.end;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform;

    #[test]
    fn stm32f205_sectors() {
        let g = Geometry::of(platform::mcu("stm32f205").unwrap());
        let sizes: Vec<usize> = g.units().iter().map(EraseUnit::len).collect();
        let k = 1024;
        assert_eq!(
            sizes,
            [
                16 * k,
                16 * k,
                16 * k,
                16 * k,
                64 * k,
                128 * k,
                128 * k,
                128 * k,
                128 * k,
                128 * k,
                128 * k,
                128 * k
            ]
        );
        assert_eq!(g.units().last().unwrap().end, 0x0810_0000);
        assert_eq!(g.unit_at(0x0801_2345).unwrap().start, 0x0801_0000);
    }

    #[test]
    fn nrf52840_pages_and_uicr() {
        let g = Geometry::of(platform::mcu("nrf52840").unwrap());
        assert_eq!(g.units().len(), 257);
        assert_eq!(g.unit_at(0x1000_1204).unwrap().start, 0x1000_1000);
        assert_eq!(g.units_in(0xFFF, 0x1001).unwrap().len(), 2);
        assert_eq!(g.units_in(0xFF000, 0x100001), Err(0x100000));
    }
}
