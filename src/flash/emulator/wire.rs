//! The emulated probe's USB side: groups the DP and AP accesses probe-rs makes into the
//! packets probe-rs's driver for the chosen kind of probe would send
//! ([`crate::flash::wire::Packing`]), and says how much virtual time each access costs
//! when its packet goes out.

use super::clock::Nanos;
use crate::flash::wire::{Packing, ProbeKind, WireCosts};

/// The packet state of one emulated probe kind.
#[derive(Debug, Clone)]
pub struct Wire {
    /// The kind of probe modelled.
    pub kind: ProbeKind,
    costs: WireCosts,
    /// The SWD clock, in kHz (the kind's default, or what probe-rs set).
    pub swd_khz: u32,
    /// CMSIS-DAP register writes waiting in the batch.
    queued: u64,
    /// USB packets sent so far.
    pub packets: u64,
}

impl Wire {
    /// A probe of `kind` at its default SWD clock.
    pub fn new(kind: ProbeKind) -> Wire {
        let costs = kind.costs();
        Wire {
            kind,
            costs,
            swd_khz: costs.default_swd_khz,
            queued: 0,
            packets: 0,
        }
    }

    fn packet(&mut self, transfers: u64) -> Nanos {
        self.packets += 1;
        self.costs.packet_ns(transfers, self.swd_khz)
    }

    /// A register write: queued in a CMSIS-DAP batch (sent when full), sent at once with
    /// its RDBUFF check by a J-Link.
    pub fn register_write(&mut self) -> Nanos {
        match self.costs.packing {
            Packing::CmsisDap { .. } => {
                self.queued += 1;
                if self.queued == self.costs.writes_per_batch() {
                    self.flush()
                } else {
                    0
                }
            }
            Packing::PerAccess { .. } => self.packet(2),
        }
    }

    /// A register read: it ends the batch and waits for its answer; an AP read needs the
    /// RDBUFF read that returns it.
    pub fn register_read(&mut self) -> Nanos {
        let queued = std::mem::take(&mut self.queued);
        self.packet(queued + 2)
    }

    /// Sends the queued writes, if any (a block, a flush or a line operation does).
    pub fn flush(&mut self) -> Nanos {
        match std::mem::take(&mut self.queued) {
            0 => 0,
            n => self.packet(n),
        }
    }

    /// A block of `words` to or from one AP register, after the batch.
    pub fn block(&mut self, words: u64) -> Nanos {
        let batch = self.flush();
        let per = self.costs.block_words_per_packet();
        self.packets += words.div_ceil(per);
        batch + self.costs.block_ns(words, self.swd_khz)
    }

    /// A command of its own that moves no DP or AP transfer (a line reset, the reset pin):
    /// one round trip after the batch.
    pub fn command(&mut self) -> Nanos {
        let batch = self.flush();
        batch + self.packet(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmsis_dap_batches_writes_until_a_read() {
        let mut w = Wire::new(ProbeKind::CmsisDapV1);
        assert_eq!(w.register_write(), 0);
        assert_eq!(w.register_write(), 0);
        // The read carries the two writes: one round trip, four transfers of bits.
        assert_eq!(w.register_read(), 1_000_000 + 4 * 46_000);
        assert_eq!(w.packets, 1);
        for _ in 0..11 {
            assert_eq!(w.register_write(), 0);
        }
        // The twelfth fills the report.
        assert_eq!(w.register_write(), 1_000_000 + 12 * 46_000);
    }

    #[test]
    fn a_jlink_sends_every_access() {
        let mut w = Wire::new(ProbeKind::Jlink);
        let one = w.register_write();
        assert_eq!(one, 125_000 + 2 * 46 * 1_000 / 4);
        assert_eq!(w.register_write(), one);
        assert_eq!(w.packets, 2);
    }
}
