//! What moving words over a debug probe costs, by kind of probe: the figures the emulated
//! probe charges its virtual clock with and the ones `flash --dry-run` estimates with, so
//! that the two cannot drift apart.
//!
//! A probe-rs host talks to a probe in USB packets. Every packet costs one USB round trip
//! (host to probe and back) plus the SWD bits the probe clocks out for the transfers it
//! carries. How many transfers a packet carries is decided by probe-rs's driver for that
//! kind of probe (`probe-rs 0.32`, `src/probe/cmsisdap/mod.rs` and
//! `src/architecture/arm/traits/polyfill.rs`), which [`Packing`] describes.

use serde::Serialize;

/// Bits on the SWD line for one DP or AP transfer: an 8-bit request, a turnaround, a
/// 3-bit ACK, a turnaround, 32 data bits and a parity bit (ARM ADIv5.2, B4.2).
pub const SWD_BITS_PER_TRANSFER: u64 = 46;

/// The kinds of debug probe whose wire the emulator and the estimates model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeKind {
    /// CMSIS-DAP v1 over USB HID (the Particle Debugger, DAPLink): 64-byte reports on
    /// full-speed interrupt endpoints, one command per report.
    CmsisDapV1,
    /// CMSIS-DAP v2 over USB bulk endpoints (DAPLink with WinUSB), full speed.
    CmsisDapV2,
    /// SEGGER J-Link over high-speed USB, driven bit by bit (`swd_io`) by probe-rs.
    Jlink,
}

/// How probe-rs's driver for a kind of probe groups transfers into USB packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    /// CMSIS-DAP: register writes wait in a batch of at most `(packet - 3) / 5`; a read
    /// sends the batch with the read at its end and waits for the answer; a block goes
    /// out in DAP_TransferBlock commands of `(packet - 6) / 4` words each, after the
    /// batch (`CmsisDap::batch_add`, `raw_write_block`).
    CmsisDap {
        /// The probe's packet size in bytes (DAP_Info packet size).
        packet_bytes: u64,
    },
    /// J-Link: every register access is its own `swd_io` command, with a read of RDBUFF
    /// after it to learn its ACK; a block is one command of at most `max_bits` SWD bits
    /// (`perform_transfers`, `JLink::swd_io`).
    PerAccess {
        /// The most SWD bits one command may carry.
        max_bits: u64,
    },
}

/// The cost figures of one kind of probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireCosts {
    /// One USB command and its answer, in nanoseconds.
    pub round_trip_ns: u64,
    /// The SWD clock probe-rs leaves the probe at unless `--speed` is given, in kHz.
    pub default_swd_khz: u32,
    /// How transfers are grouped into packets.
    pub packing: Packing,
}

impl ProbeKind {
    /// Every kind, in the order tables list them.
    pub const ALL: [ProbeKind; 3] = [
        ProbeKind::CmsisDapV1,
        ProbeKind::CmsisDapV2,
        ProbeKind::Jlink,
    ];

    /// The kind an emulated probe is when none is named: the Particle Debugger.
    pub const DEFAULT: ProbeKind = ProbeKind::CmsisDapV1;

    /// The name `--emulate-probe` takes and JSON writes.
    pub fn name(self) -> &'static str {
        match self {
            ProbeKind::CmsisDapV1 => "cmsis-dap-v1",
            ProbeKind::CmsisDapV2 => "cmsis-dap-v2",
            ProbeKind::Jlink => "jlink",
        }
    }

    /// The kind a name stands for, ignoring case.
    pub fn from_name(name: &str) -> Option<ProbeKind> {
        ProbeKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// The kind of an attached probe, from what USB says about it: SEGGER's vendor ID is
    /// a J-Link, a CMSIS-DAP probe found through its HID interface is v1, one found
    /// otherwise v2. `None` for other probes (ST-LINK, ...), which the model lacks.
    pub fn of_attached(vendor_id: u16, name: &str, hid: bool) -> Option<ProbeKind> {
        /// SEGGER Microcontroller's USB vendor ID (probe-rs `jlink::VID_SEGGER`).
        const VID_SEGGER: u16 = 0x1366;
        if vendor_id == VID_SEGGER {
            return Some(ProbeKind::Jlink);
        }
        if !name.to_ascii_uppercase().contains("CMSIS-DAP") {
            return None;
        }
        Some(if hid {
            ProbeKind::CmsisDapV1
        } else {
            ProbeKind::CmsisDapV2
        })
    }

    /// The figures, each with where it comes from.
    pub fn costs(self) -> WireCosts {
        match self {
            // Full-speed HID interrupt endpoints with bInterval 1 are polled once per 1 ms
            // frame (USB 2.0, 5.7.4 and 9.6.6): a report out and its answer back take one
            // frame at best. 64 bytes is the full-speed interrupt maximum and DAPLink's
            // DAP_PACKET_SIZE. 1 MHz is probe-rs's CMSIS-DAP default (`CmsisDap::new`).
            ProbeKind::CmsisDapV1 => WireCosts {
                round_trip_ns: 1_000_000,
                default_swd_khz: 1_000,
                packing: Packing::CmsisDap { packet_bytes: 64 },
            },
            // Bulk endpoints are not tied to the 1 ms polling interval: the host controller
            // schedules an OUT and an IN within one frame when the bus is idle. No
            // datasheet gives a figure; a quarter frame (250 us) is an assumption, the
            // weakest figure here. Full-speed bulk packets are 64 bytes (USB 2.0, 5.8.3).
            ProbeKind::CmsisDapV2 => WireCosts {
                round_trip_ns: 250_000,
                default_swd_khz: 1_000,
                packing: Packing::CmsisDap { packet_bytes: 64 },
            },
            // A high-speed bulk OUT and IN fit in one 125 us microframe (USB 2.0, 5.12).
            // 4 MHz is the interface speed J-Link Commander offers by default (SEGGER
            // UM08001). probe-rs caps one swd_io command at 65535 bits (`JLink::swd_io`).
            ProbeKind::Jlink => WireCosts {
                round_trip_ns: 125_000,
                default_swd_khz: 4_000,
                packing: Packing::PerAccess { max_bits: 65_535 },
            },
        }
    }
}

impl std::fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl WireCosts {
    /// One packet carrying `transfers` SWD transfers, at `swd_khz`.
    pub fn packet_ns(&self, transfers: u64, swd_khz: u32) -> u64 {
        self.round_trip_ns + bits_ns(transfers * SWD_BITS_PER_TRANSFER, swd_khz)
    }

    /// Register writes a CMSIS-DAP batch holds before it is sent (1 for a J-Link, which
    /// sends each at once).
    pub fn writes_per_batch(&self) -> u64 {
        match self.packing {
            Packing::CmsisDap { packet_bytes } => (packet_bytes - 3) / 5,
            Packing::PerAccess { .. } => 1,
        }
    }

    /// Words one block command carries.
    pub fn block_words_per_packet(&self) -> u64 {
        match self.packing {
            Packing::CmsisDap { packet_bytes } => (packet_bytes - 6) / 4,
            // One transfer of each command is the RDBUFF read that returns the last ACK.
            Packing::PerAccess { max_bits } => max_bits / SWD_BITS_PER_TRANSFER - 1,
        }
    }

    /// A block of `words` to or from one AP register, as probe-rs sends it.
    pub fn block_ns(&self, words: u64, swd_khz: u32) -> u64 {
        let per = self.block_words_per_packet();
        let packets = words.div_ceil(per);
        let extra = match self.packing {
            Packing::CmsisDap { .. } => 0,
            Packing::PerAccess { .. } => packets,
        };
        packets * self.round_trip_ns + bits_ns((words + extra) * SWD_BITS_PER_TRANSFER, swd_khz)
    }
}

/// SWD clock cycles at `khz`, in nanoseconds.
fn bits_ns(bits: u64, khz: u32) -> u64 {
    bits * 1_000_000 / u64::from(khz.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64-byte CMSIS-DAP report holds 12 batched writes or 14 block words, as probe-rs
    /// computes them; a J-Link command about 1400.
    #[test]
    fn packets_hold_what_probe_rs_puts_in_them() {
        let v1 = ProbeKind::CmsisDapV1.costs();
        assert_eq!(
            (v1.writes_per_batch(), v1.block_words_per_packet()),
            (12, 14)
        );
        assert_eq!(ProbeKind::Jlink.costs().block_words_per_packet(), 1423);
        // 14 words: one round trip and 14 x 46 bits at 1 MHz.
        assert_eq!(v1.block_ns(14, 1_000), 1_000_000 + 14 * 46_000);
        assert_eq!(v1.block_ns(15, 1_000), 2_000_000 + 15 * 46_000);
    }

    #[test]
    fn names_round_trip() {
        for k in ProbeKind::ALL {
            assert_eq!(ProbeKind::from_name(k.name()), Some(k));
        }
        assert_eq!(ProbeKind::from_name("stlink"), None);
        assert_eq!(
            ProbeKind::of_attached(0x1366, "J-Link", false),
            Some(ProbeKind::Jlink)
        );
        assert_eq!(
            ProbeKind::of_attached(0x2b04, "Particle CMSIS-DAP", true),
            Some(ProbeKind::CmsisDapV1)
        );
        assert_eq!(ProbeKind::of_attached(0x0483, "STLink V2", false), None);
    }
}
