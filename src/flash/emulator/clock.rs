//! The emulator's virtual time. One clock, in nanoseconds, that the probe's wire advances
//! (by the `wire` module's packet costs), that the core advances one cycle per instruction
//! while it runs code, and against which a flash controller is busy for its datasheet
//! time: so a status register polled by the flash algorithm or over the wire answers
//! "busy" until that time has passed, and what overlaps shows as overlapping.
//!
//! A chip's flash controller plugs in through [`Controller`]: start an operation of N
//! nanoseconds, ask whether it is still busy. The durations come from the platform table
//! ([`FlashTiming`]), the same figures `flash --dry-run` estimates with.

use super::Chip;

/// Nanoseconds of virtual time since the emulated device was made.
pub type Nanos = u64;

/// A flash controller (the nRF52840's NVMC, the STM32F2's flash interface, a SPI NOR):
/// one operation at a time, each keeping it busy for its duration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Controller {
    busy_until: Nanos,
}

impl Controller {
    /// Starts an operation lasting `duration` at `now`, or when the one in progress ends;
    /// returns the time it starts, which is when a master that issued it can go on (a
    /// bus stalls while the controller is busy).
    pub fn start(&mut self, now: Nanos, duration: Nanos) -> Nanos {
        let start = now.max(self.busy_until);
        self.busy_until = start + duration;
        start
    }

    /// Whether an operation is still in progress at `now`.
    pub fn busy_at(&self, now: Nanos) -> bool {
        now < self.busy_until
    }

    /// When the last operation started ends.
    pub fn idle_from(&self) -> Nanos {
        self.busy_until
    }
}

/// How long a chip's flash operations take, from the platform table (`platforms.toml`,
/// where each figure names its datasheet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashTiming {
    /// Programming one 32-bit word.
    pub word_ns: Nanos,
    /// Erasing the whole chip (nRF52840 ERASEALL, STM32F2 mass erase).
    pub chip_erase_ns: Nanos,
    /// Each erase unit's `(start, length, erase time)`.
    units: Vec<(u32, u32, Nanos)>,
    /// The core's clock after reset, in Hz: one instruction costs one cycle of it.
    pub core_hz: u64,
}

impl FlashTiming {
    /// The figures of `chip`'s MCU in the platform table.
    pub fn of(chip: Chip) -> FlashTiming {
        let (key, core_hz) = match chip {
            // nRF52840 Product Specification 4.1.2: the CPU runs at 64 MHz.
            Chip::Nrf52840 => ("nrf52840", 64_000_000),
            // RM0033 5.2: after reset the STM32F2 runs on the 16 MHz HSI oscillator; the
            // bus follows its RCC when a tool switches to the PLL (`Bus::core_hz`).
            Chip::Stm32f205 => ("stm32f205", 16_000_000),
            // The KM0, AmebaD's low-power core: 20 MHz is the figure the AmebaD datasheet
            // gives for it; the boot ROM's clock setup is not public.
            Chip::Rtl8721dm => ("rtl872x", 20_000_000),
        };
        let mcu = crate::platform::mcu(key).expect("the emulated chips are in the platform table");
        let units = super::super::Geometry::of(mcu)
            .units()
            .iter()
            .map(|u| (u.start, u.len() as u32, u64::from(u.erase_ms) * 1_000_000))
            .collect();
        FlashTiming {
            word_ns: u64::from(mcu.program_us_per_word) * 1_000,
            chip_erase_ns: u64::from(mcu.chip_erase_ms) * 1_000_000,
            units,
            core_hz,
        }
    }

    /// Erasing the unit that holds `address` (zero outside every unit).
    pub fn unit_erase_ns(&self, address: u32) -> Nanos {
        self.units
            .iter()
            .find(|(start, len, _)| address >= *start && address - start < *len)
            .map_or(0, |u| u.2)
    }

    /// `cycles` of the core's clock.
    pub fn cycles_ns(&self, cycles: u64) -> Nanos {
        cycles * 1_000_000_000 / self.core_hz
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_controller_queues_the_next_operation() {
        let mut c = Controller::default();
        assert_eq!(c.start(100, 41_000), 100);
        assert!(c.busy_at(41_099) && !c.busy_at(41_100));
        // Issued while busy: starts when the first ends.
        assert_eq!(c.start(200, 41_000), 41_100);
        assert_eq!(c.idle_from(), 82_100);
    }

    #[test]
    fn timings_come_from_the_platform_table() {
        let nrf = FlashTiming::of(Chip::Nrf52840);
        assert_eq!(nrf.word_ns, 41_000);
        assert_eq!(nrf.unit_erase_ns(0x000F_4000), 85_000_000);
        assert_eq!(nrf.chip_erase_ns, 169_000_000);
        let stm = FlashTiming::of(Chip::Stm32f205);
        assert!(stm.unit_erase_ns(0x0802_0000) > stm.unit_erase_ns(0x0800_0000));
        assert_eq!(stm.cycles_ns(16), 1_000);
    }
}
