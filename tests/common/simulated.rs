//! The simulated device of the flash tests, defined once: the simulated flash with a
//! platform's real erase units, a unique ID where the chip keeps one (a station tells
//! boards apart by it), shared so that a board outlives the connection to it, and the
//! check that it holds an image.

use hexsmith::flash::sim::SimulatedFlash;
use hexsmith::flash::{EraseUnit, FlashJob, FlashTarget, TargetError, UnitWrite};
use hexsmith::memory::MemoryImage;
use hexsmith::platform::Mcu;
use std::sync::{Arc, Mutex};

/// A blank device of this MCU whose ROM holds `id` where the chip keeps its unique ID.
pub fn with_id(mcu: &Mcu, id: &[u8]) -> SimulatedFlash {
    let mut sim = SimulatedFlash::new(mcu);
    let source = mcu.device_id.as_ref().expect("the MCU has a device ID");
    assert_eq!(
        id.len(),
        source.length as usize,
        "an ID of the MCU's length"
    );
    sim.set_rom(source.address, id);
    sim
}

/// A blank device of this job's platform, with an ID to read.
pub fn blank(job: &FlashJob) -> SimulatedFlash {
    let length = job.mcu().device_id.as_ref().unwrap().length as usize;
    with_id(job.mcu(), &vec![0x42; length])
}

/// A blank Boron whose FICR device ID ends in `id`, shared as a board on a fixture is.
pub fn boron(id: u8) -> Arc<Mutex<SimulatedFlash>> {
    let mcu = hexsmith::platform::by_name("boron").unwrap().mcu();
    Arc::new(Mutex::new(with_id(mcu, &[0xAB, 0xCD, 0, 0, 0, 0, 0, id])))
}

/// Every byte of the image is on the device.
pub fn holds(sim: &SimulatedFlash, image: &MemoryImage) -> bool {
    image.segments().iter().all(|s| {
        s.data
            .iter()
            .enumerate()
            .all(|(i, b)| sim.byte(u64::from(s.start) + i as u64) == Some(*b))
    })
}

/// A board on a fixture: the simulated flash, shared so that it outlives a connection.
pub struct Attached(pub Arc<Mutex<SimulatedFlash>>);

impl FlashTarget for Attached {
    fn read(&mut self, address: u32, buf: &mut [u8]) -> Result<(), TargetError> {
        self.0.lock().unwrap().read(address, buf)
    }
    fn write_units(&mut self, writes: &[UnitWrite<'_>]) -> Result<(), TargetError> {
        self.0.lock().unwrap().write_units(writes)
    }
    fn erase_chip(&mut self) -> Result<(), TargetError> {
        self.0.lock().unwrap().erase_chip()
    }
    fn reset(&mut self) -> Result<(), TargetError> {
        self.0.lock().unwrap().reset()
    }
    fn is_write_protected(&mut self, unit: EraseUnit) -> Result<bool, TargetError> {
        self.0.lock().unwrap().is_write_protected(unit)
    }
    fn clear_write_protection(&mut self, unit: EraseUnit) -> Result<(), TargetError> {
        self.0.lock().unwrap().clear_write_protection(unit)
    }
}
