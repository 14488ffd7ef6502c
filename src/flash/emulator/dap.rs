//! The chip's SW-DP and access ports, and the probe that reaches them: the layer probe-rs
//! calls one DP or AP register access at a time (`RawDapAccess`), exactly where a CMSIS-DAP
//! probe would put bits on the wire. Everything above it is probe-rs's own code.

use super::{Chip, Shared};
use probe_rs::CoreStatus;
use probe_rs::architecture::arm::{
    ArmCommunicationInterface, ArmDebugInterface, ArmError, DapError, DapProbe, RawDapAccess,
    RegisterAddress, sequences::ArmDebugSequence,
};
use probe_rs::probe::{DebugProbe, DebugProbeError, WireProtocol};
use std::sync::Arc;

/// DPIDR of the Cortex-M3/M4 SW-DP (DPv1, designer ARM).
const DPIDR: u32 = 0x2BA0_1477;
/// DPIDR of the RTL8721DM's SW-DP (DPv2), the IDCODE Particle's script expects.
const RTL8721DM_DPIDR: u32 = 0x6BA0_2477;
/// IDR of the Cortex-M AHB-AP.
const AHB_AP_IDR: u32 = 0x2477_0011;
/// IDR of the nRF52's CTRL-AP.
const NRF_CTRL_AP_IDR: u32 = 0x0288_0000;
/// DP CTRL/STAT.STICKYERR (ARM ADIv5): an AP transaction faulted; cleared through
/// ABORT.STKERRCLR.
const STICKYERR: u32 = 1 << 5;

/// The state of the debug port and access ports, kept with the chip.
#[derive(Debug, Default)]
pub struct DapState {
    select: u32,
    ctrl_stat: u32,
    csw: u32,
    tar: u32,
    /// The next DRW write is the first since TAR was set: the start of a block.
    block_start: bool,
}

/// A debug probe wired to an emulated chip.
#[derive(Debug)]
pub struct EmulatedProbe {
    /// The chip the probe is wired to, shared with every other handle on it.
    pub(super) device: Shared,
    name: String,
    protocol: WireProtocol,
}

impl EmulatedProbe {
    pub(super) fn new(device: Shared, name: String) -> EmulatedProbe {
        EmulatedProbe {
            device,
            name,
            protocol: WireProtocol::Swd,
        }
    }
}

fn fault() -> ArmError {
    ArmError::Dap(DapError::FaultResponse)
}

impl super::DeviceState {
    /// A probe command that drives the lines (a reset pin): it costs a round trip, and
    /// the chip is brought to the wire's time first.
    fn line_command(&mut self) {
        self.now += self.wire.command();
        self.at_now(false);
    }

    fn dp_read(&mut self, address: u8) -> u32 {
        match address & 0xC {
            0x0 if self.chip == Chip::Rtl8721dm => RTL8721DM_DPIDR,
            0x0 => DPIDR,
            0x4 => {
                // Power-up requests are acknowledged at once.
                let c = self.dap.ctrl_stat;
                c | (c << 1 & (1 << 31 | 1 << 29))
            }
            0x8 => 0,
            _ => 0,
        }
    }

    fn dp_write(&mut self, address: u8, value: u32) {
        match address & 0xC {
            // ABORT: STKERRCLR clears the sticky error.
            0x0 if value & 1 << 2 != 0 => self.dap.ctrl_stat &= !STICKYERR,
            0x0 => {}
            0x4 => self.dap.ctrl_stat = value & !STICKYERR | self.dap.ctrl_stat & STICKYERR,
            0x8 => self.dap.select = value,
            _ => {}
        }
    }

    fn ap_index(&self) -> (u8, u8) {
        (
            (self.dap.select >> 24) as u8,
            (self.dap.select & 0xF0) as u8,
        )
    }

    fn ap_read(&mut self, address: u8) -> Result<u32, ArmError> {
        let (ap, bank) = self.ap_index();
        let reg = bank | address & 0xC;
        match (ap, self.chip) {
            (0, _) => self.mem_ap_read(reg),
            (1, Chip::Nrf52840) => Ok(match reg {
                // ERASEALLSTATUS: the NVMC is still erasing.
                0x08 => u32::from(self.silicon.bus.flash.busy_at(self.now)),
                0x0C => u32::from(!self.silicon.bus.nrf_approtect_enabled()),
                0xFC => NRF_CTRL_AP_IDR,
                _ => 0,
            }),
            _ => Ok(0),
        }
    }

    fn ap_write(&mut self, address: u8, value: u32) -> Result<(), ArmError> {
        let (ap, bank) = self.ap_index();
        let reg = bank | address & 0xC;
        match (ap, self.chip) {
            (0, _) => self.mem_ap_write(reg, value),
            (1, Chip::Nrf52840) => {
                match reg {
                    0x00 => {
                        self.at_now(false);
                        self.silicon.set_reset_pin(value & 1 != 0);
                    }
                    0x04 if value & 1 != 0 => {
                        self.at_now(false);
                        let bus = &mut self.silicon.bus;
                        bus.erase_all_nvm();
                        bus.flash.start(self.now, bus.timing.chip_erase_ns);
                    }
                    _ => {}
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A chip whose SWD is closed (Device Protection on an RTL8721DM) does not answer at
    /// all: no ACK to any request.
    fn answers(&self) -> Result<(), ArmError> {
        if self.swd_closed {
            return Err(ArmError::Dap(DapError::NoAcknowledge));
        }
        Ok(())
    }

    /// Brings the chip to the wire's time before the AP reaches it: a core running code
    /// runs until then. A write into RAM does not wait for it: a flash algorithm's page
    /// buffers are filled while it works on the other one (probe-rs's double buffering),
    /// and nothing the core does depends on a buffer it is not reading.
    fn at_now(&mut self, into_ram: bool) {
        if !into_ram {
            self.silicon.catch_up(self.now);
        }
        self.silicon.bus.now = self.now;
    }

    fn mem_ap_locked(&self) -> bool {
        self.silicon.bus.nrf_approtect_enabled()
    }

    fn transfer_size(&self) -> u32 {
        match self.dap.csw & 7 {
            0 => 1,
            1 => 2,
            _ => 4,
        }
    }

    fn advance_tar(&mut self) {
        if self.dap.csw >> 4 & 3 == 1 {
            // Auto-increment stays within a 1 KiB block, as the architecture allows.
            let t = self.dap.tar;
            self.dap.tar = t & !0x3FF | t.wrapping_add(self.transfer_size()) & 0x3FF;
        }
    }

    fn mem_ap_read(&mut self, reg: u8) -> Result<u32, ArmError> {
        match reg {
            0x00 => {
                let enabled = if self.mem_ap_locked() { 0 } else { 1 << 6 };
                Ok(self.dap.csw | enabled | 0x2300_0000)
            }
            0x04 => Ok(self.dap.tar),
            0x0C => {
                if self.mem_ap_locked() {
                    self.dap.ctrl_stat |= STICKYERR;
                    return Err(fault());
                }
                let size = self.transfer_size();
                let address = self.dap.tar & !(size - 1);
                self.at_now(false);
                let value = self.silicon.read(address, size).map_err(|_| {
                    self.dap.ctrl_stat |= STICKYERR;
                    fault()
                })?;
                self.counters.bytes_read += u64::from(size);
                self.advance_tar();
                // Narrow reads come back in their byte lane.
                Ok(value << ((address & 3) * 8))
            }
            0x10..=0x1C => {
                let address = self.dap.tar & !0xF | u32::from(reg & 0xC);
                self.at_now(false);
                self.silicon.read(address, 4).map_err(|_| fault())
            }
            0xF4 => Ok(0),
            // BASE: where the ROM table is, which auto-detection reads first.
            0xF8 => Ok(super::coresight::ROM_TABLE_BASE),
            0xFC => Ok(AHB_AP_IDR),
            _ => Ok(0),
        }
    }

    fn mem_ap_write(&mut self, reg: u8, value: u32) -> Result<(), ArmError> {
        match reg {
            0x00 => self.dap.csw = value & 0xFF00_0037,
            0x04 => {
                self.dap.tar = value;
                self.dap.block_start = true;
            }
            0x0C => {
                if self.mem_ap_locked() {
                    self.dap.ctrl_stat |= STICKYERR;
                    return Err(fault());
                }
                let size = self.transfer_size();
                let address = self.dap.tar & !(size - 1);
                let lane = value >> ((address & 3) * 8);
                // probe-rs starts every flash algorithm blob it downloads with two BKPT
                // instructions; a block that begins with them is an algorithm load.
                // On the RTL8721DM the download is Particle's loader, written to its RAM
                // image address.
                let rtl_loader = self.chip == Chip::Rtl8721dm
                    && address == crate::flash::rtl872x::loader::LOAD_ADDRESS;
                if std::mem::take(&mut self.dap.block_start)
                    && size == 4
                    && (value == super::ALGORITHM_HEADER || rtl_loader)
                {
                    self.counters.algorithm_loads += 1;
                }
                let into_ram = self.silicon.bus.is_ram(address, size);
                self.at_now(into_ram);
                self.silicon.write(address, size, lane).map_err(|_| {
                    self.dap.ctrl_stat |= STICKYERR;
                    fault()
                })?;
                self.advance_tar();
            }
            0x10..=0x1C => {
                let address = self.dap.tar & !0xF | u32::from(reg & 0xC);
                self.at_now(false);
                self.silicon.write(address, 4, value).map_err(|_| fault())?;
            }
            _ => {}
        }
        Ok(())
    }
}

impl RawDapAccess for EmulatedProbe {
    fn raw_read_register(&mut self, address: RegisterAddress) -> Result<u32, ArmError> {
        let mut d = self.device.lock();
        d.answers()?;
        d.counters.transfers += 1;
        d.now += d.wire.register_read();
        match address {
            RegisterAddress::DpRegister(r) => Ok(d.dp_read(r.address)),
            RegisterAddress::ApRegister(r) => d.ap_read(r),
        }
    }

    fn raw_write_register(&mut self, address: RegisterAddress, value: u32) -> Result<(), ArmError> {
        let mut d = self.device.lock();
        d.answers()?;
        d.counters.transfers += 1;
        d.now += d.wire.register_write();
        match address {
            RegisterAddress::DpRegister(r) => {
                d.dp_write(r.address, value);
                Ok(())
            }
            RegisterAddress::ApRegister(r) => d.ap_write(r, value),
        }
    }

    /// One block command per packet's worth of words, as probe-rs's driver sends it; the
    /// words themselves go through the AP one by one.
    fn raw_read_block(
        &mut self,
        address: RegisterAddress,
        values: &mut [u32],
    ) -> Result<(), ArmError> {
        let mut d = self.device.lock();
        d.answers()?;
        d.counters.transfers += values.len() as u64;
        d.now += d.wire.block(values.len() as u64);
        for v in values {
            *v = match address {
                RegisterAddress::DpRegister(r) => d.dp_read(r.address),
                RegisterAddress::ApRegister(r) => d.ap_read(r)?,
            };
        }
        Ok(())
    }

    /// See [`EmulatedProbe::raw_read_block`].
    fn raw_write_block(
        &mut self,
        address: RegisterAddress,
        values: &[u32],
    ) -> Result<(), ArmError> {
        let mut d = self.device.lock();
        d.answers()?;
        d.counters.transfers += values.len() as u64;
        d.now += d.wire.block(values.len() as u64);
        for v in values {
            match address {
                RegisterAddress::DpRegister(r) => d.dp_write(r.address, *v),
                RegisterAddress::ApRegister(r) => d.ap_write(r, *v)?,
            }
        }
        Ok(())
    }

    fn raw_flush(&mut self) -> Result<(), ArmError> {
        let mut d = self.device.lock();
        d.now += d.wire.flush();
        Ok(())
    }

    fn jtag_sequence(&mut self, _: u8, _: bool, _: u64) -> Result<(), DebugProbeError> {
        Err(DebugProbeError::CommandNotSupportedByProbe {
            command_name: "jtag_sequence",
        })
    }

    fn swj_sequence(&mut self, _: u8, _: u64) -> Result<(), DebugProbeError> {
        let mut d = self.device.lock();
        d.now += d.wire.command();
        Ok(())
    }

    fn swj_pins(&mut self, pin_out: u32, pin_select: u32, _: u32) -> Result<u32, DebugProbeError> {
        const NRESET: u32 = 1 << 7;
        let mut d = self.device.lock();
        d.line_command();
        if pin_select & NRESET != 0 {
            d.silicon.set_reset_pin(pin_out & NRESET == 0);
        }
        let held = d.silicon.reset_held();
        Ok(if held { 0 } else { NRESET })
    }

    fn into_probe(self: Box<Self>) -> Box<dyn DebugProbe> {
        self
    }

    fn core_status_notification(&mut self, _: CoreStatus) -> Result<(), DebugProbeError> {
        Ok(())
    }
}

impl DapProbe for EmulatedProbe {}

impl DebugProbe for EmulatedProbe {
    fn get_name(&self) -> &str {
        &self.name
    }

    fn speed_khz(&self) -> u32 {
        self.device.lock().wire.swd_khz
    }

    fn set_speed(&mut self, speed_khz: u32) -> Result<u32, DebugProbeError> {
        self.device.lock().wire.swd_khz = speed_khz.max(1);
        Ok(speed_khz)
    }

    fn attach(&mut self) -> Result<(), DebugProbeError> {
        Ok(())
    }

    fn detach(&mut self) -> Result<(), probe_rs::Error> {
        Ok(())
    }

    fn target_reset(&mut self) -> Result<(), DebugProbeError> {
        let mut d = self.device.lock();
        d.line_command();
        d.silicon.set_reset_pin(true);
        d.silicon.set_reset_pin(false);
        Ok(())
    }

    fn target_reset_assert(&mut self) -> Result<(), DebugProbeError> {
        let mut d = self.device.lock();
        d.line_command();
        d.silicon.set_reset_pin(true);
        Ok(())
    }

    fn target_reset_deassert(&mut self) -> Result<(), DebugProbeError> {
        let mut d = self.device.lock();
        d.line_command();
        d.silicon.set_reset_pin(false);
        Ok(())
    }

    fn select_protocol(&mut self, protocol: WireProtocol) -> Result<(), DebugProbeError> {
        match protocol {
            WireProtocol::Swd => {
                self.protocol = protocol;
                Ok(())
            }
            WireProtocol::Jtag => Err(DebugProbeError::UnsupportedProtocol(protocol)),
        }
    }

    fn active_protocol(&self) -> Option<WireProtocol> {
        Some(self.protocol)
    }

    fn has_arm_interface(&self) -> bool {
        true
    }

    fn try_get_arm_debug_interface<'probe>(
        self: Box<Self>,
        sequence: Arc<dyn ArmDebugSequence>,
    ) -> Result<Box<dyn ArmDebugInterface + 'probe>, (Box<dyn DebugProbe>, ArmError)> {
        Ok(ArmCommunicationInterface::create(self, sequence, false))
    }

    fn into_probe(self: Box<Self>) -> Box<dyn DebugProbe> {
        self
    }

    fn try_as_dap_probe(&mut self) -> Option<&mut dyn DapProbe> {
        Some(self)
    }
}
