//! Particle's flash loader on the RTL872x's KM0, driven over SWD with probe-rs's memory
//! access: started as `rtl872x_init` of Device OS `scripts/rtl872x.tcl` starts it, then
//! given one command at a time through two flag words and two message buffers in RAM
//! (spec 4.1). A command is: write the message, set the host flag, poll the device flag,
//! clear it, read the result.

use super::loader::{LOAD_ADDRESS, Loader};
use crate::flash::TargetError;
use probe_rs::{MemoryInterface, Session};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The probe-rs target family hexsmith registers for the RTL872x: probe-rs carries no
/// Realtek target. The KM0 (Cortex-M23 class, ARMv8-M baseline) on the first AP; the
/// flash is XIP-mapped but written only by the loader, so it has no flash algorithm.
pub const TARGET_YAML: &str = r#"
name: Realtek RTL872x (hexsmith)
variants:
- name: RTL8721DM
  cores:
  - name: km0
    type: armv8m
    core_access_options: !Arm
      ap: !v1 0
  memory_map:
  - !Nvm
    name: SPI NOR (XIP)
    range:
      start: 0x08000000
      end: 0x08800000
    cores:
    - km0
    access:
      boot: true
  - !Ram
    name: KM0 SRAM
    range:
      start: 0x00080000
      end: 0x00090000
    cores:
    - km0
  flash_algorithms: []
"#;

/// Where the host's flag and message are (the script's `pc_msg_*`).
const HOST_FLAG: u64 = 0x0008_7410;
const HOST_MESSAGE: u64 = 0x0008_7420;
/// Where the loader's flag and message are (the script's `mcu_msg_*`).
const DEVICE_FLAG: u64 = 0x0008_3400;
const DEVICE_MESSAGE: u64 = 0x0008_3410;
/// The most data one message carries (the script's `MSG_BUF_SIZE`).
pub const MAX_DATA: usize = 16 * 1024;

/// The always-on registers of the start and finish sequences (spec 4.1).
const BOOT_CFG: u64 = 0x4800_03F8;
const BOOT_RAM: u32 = 1 << 26;
const KM4_CTRL: u64 = 0x4800_021C;
const AON_PM_OPT: u64 = 0x4800_0054;
const WATCHDOG: u64 = 0x4000_2800;
/// Divider 1666 with enable (16), clear (24), reset mode (30) and interrupt clear (31).
const WATCHDOG_RESET: u32 = 1666 | 1 << 16 | 1 << 24 | 1 << 30 | 1 << 31;

/// Flash as the loader addresses it: offsets from here.
pub const FLASH: u32 = 0x0800_0000;
/// 8 MiB of SPI NOR.
pub const FLASH_LEN: u32 = 0x80_0000;

/// The loader's commands (the script's `CMD_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
enum Command {
    ReadId = 0x10,
    Erase = 0x12,
    Read = 0x13,
    Write = 0x14,
    Verify = 0x15,
    ReadMac = 0x16,
}

/// Polls of the device flag between two looks at the core: a loader that crashed is
/// reported at once instead of at the deadline.
const POLLS_PER_STATUS: u32 = 32;

/// The loader, and whether it is running on the chip.
#[derive(Debug, Clone)]
pub struct Mailbox {
    loader: Arc<Loader>,
    running: bool,
}

fn probe_error(e: impl std::error::Error + Send + Sync + 'static) -> TargetError {
    TargetError::Probe(Arc::new(e))
}

fn other(message: String) -> TargetError {
    TargetError::Probe(Arc::new(std::io::Error::other(message)))
}

impl Mailbox {
    /// A mailbox that starts `loader` on first use.
    pub fn new(loader: Arc<Loader>) -> Mailbox {
        Mailbox {
            loader,
            running: false,
        }
    }

    /// Loads and boots the loader, as `rtl872x_init` does: reset and halt, loader to
    /// 0x0008_2000, BOOT_CFG bit 26 (only its low 16 bits kept), KM4 stopped, both flags
    /// cleared, reset and run.
    fn start(&mut self, session: &mut Session) -> Result<(), TargetError> {
        if self.running {
            return Ok(());
        }
        let mut core = session.core(0).map_err(probe_error)?;
        core.reset_and_halt(Duration::from_millis(500))
            .map_err(probe_error)?;
        let words: Vec<u32> = self
            .loader
            .bytes
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        core.write_32(u64::from(LOAD_ADDRESS), &words)
            .map_err(probe_error)?;
        let cfg = core.read_word_32(BOOT_CFG).map_err(probe_error)?;
        core.write_word_32(BOOT_CFG, cfg & 0xFFFF | BOOT_RAM)
            .map_err(probe_error)?;
        let km4 = core.read_word_32(KM4_CTRL).map_err(probe_error)?;
        core.write_word_32(KM4_CTRL, km4 & !(1 << 3 | 1 << 24))
            .map_err(probe_error)?;
        core.write_word_32(HOST_FLAG, 0).map_err(probe_error)?;
        core.write_word_32(DEVICE_FLAG, 0).map_err(probe_error)?;
        core.reset().map_err(probe_error)?;
        self.running = true;
        Ok(())
    }

    /// One command: the message (command, address, length, the CRC or 0, then `data`),
    /// the host flag, the wait, and the reply's result word and `reply` data bytes.
    fn command(
        &mut self,
        session: &mut Session,
        command: Command,
        args: [u32; 3],
        data: &[u8],
        reply: usize,
    ) -> Result<(u32, Vec<u8>), TargetError> {
        self.start(session)?;
        let mut core = session.core(0).map_err(probe_error)?;
        let mut words = vec![command as u32, args[0], args[1], args[2]];
        words.extend(data.chunks(4).map(|c| {
            let mut w = [0xFF; 4];
            w[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(w)
        }));
        core.write_32(HOST_MESSAGE, &words).map_err(probe_error)?;
        core.write_word_32(HOST_FLAG, 1).map_err(probe_error)?;
        // Erasing 8 MiB of NOR takes tens of seconds; everything else far less.
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut polls = 0u32;
        while core.read_word_32(DEVICE_FLAG).map_err(probe_error)? == 0 {
            polls += 1;
            if polls.is_multiple_of(POLLS_PER_STATUS) {
                let status = core.status().map_err(probe_error)?;
                if !status.is_running() {
                    let pc: u32 = core
                        .read_core_reg(core.program_counter())
                        .map_err(probe_error)?;
                    self.running = false;
                    return Err(other(format!(
                        "the RTL872x flash loader stopped ({status:?} at pc {pc:#010x}) during command {:#04x}",
                        command as u32
                    )));
                }
            }
            if Instant::now() > deadline {
                return Err(TargetError::Timeout("RTL872x flash loader command"));
            }
        }
        core.write_word_32(DEVICE_FLAG, 0).map_err(probe_error)?;
        let mut back = vec![0u32; (4 + reply).div_ceil(4)];
        core.read_32(DEVICE_MESSAGE, &mut back)
            .map_err(probe_error)?;
        let bytes: Vec<u8> = back.iter().flat_map(|w| w.to_le_bytes()).collect();
        Ok((back[0] & 0xFF, bytes[4..4 + reply].to_vec()))
    }

    /// A command that must succeed: result 0, else an error naming it.
    fn ok(
        &mut self,
        session: &mut Session,
        command: Command,
        args: [u32; 3],
        data: &[u8],
        reply: usize,
    ) -> Result<Vec<u8>, TargetError> {
        let (result, bytes) = self.command(session, command, args, data, reply)?;
        if result != 0 {
            return Err(other(format!(
                "the RTL872x flash loader reported an error (result {result}) for command {:#04x} at flash offset {:#x}",
                command as u32, args[0]
            )));
        }
        Ok(bytes)
    }

    /// The SPI NOR's JEDEC ID (3 bytes: manufacturer, type, capacity).
    pub fn flash_id(&mut self, session: &mut Session) -> Result<[u8; 3], TargetError> {
        let b = self.ok(session, Command::ReadId, [0; 3], &[], 3)?;
        Ok([b[0], b[1], b[2]])
    }

    /// The Wi-Fi MAC from the eFuse.
    pub fn mac(&mut self, session: &mut Session) -> Result<[u8; 6], TargetError> {
        let b = self.ok(session, Command::ReadMac, [0; 3], &[], 6)?;
        let mut mac = [0; 6];
        mac.copy_from_slice(&b);
        Ok(mac)
    }

    /// Reads flash (`address` on the bus, from [`FLASH`]).
    pub fn read(
        &mut self,
        session: &mut Session,
        address: u32,
        buf: &mut [u8],
    ) -> Result<(), TargetError> {
        for (k, chunk) in buf.chunks_mut(MAX_DATA).enumerate() {
            let offset = address - FLASH + (k * MAX_DATA) as u32;
            let bytes = self.ok(
                session,
                Command::Read,
                [offset, chunk.len() as u32, 0],
                &[],
                chunk.len(),
            )?;
            chunk.copy_from_slice(&bytes);
        }
        Ok(())
    }

    /// Erases `[address, address + len)`, sector-aligned; the loader takes 64 KiB blocks
    /// where it can.
    pub fn erase(
        &mut self,
        session: &mut Session,
        address: u32,
        len: u32,
    ) -> Result<(), TargetError> {
        self.ok(session, Command::Erase, [address - FLASH, len, 0], &[], 0)
            .map(drop)
    }

    /// Programs erased flash, at most [`MAX_DATA`] bytes per message.
    pub fn write(
        &mut self,
        session: &mut Session,
        address: u32,
        data: &[u8],
    ) -> Result<(), TargetError> {
        for (k, chunk) in data.chunks(MAX_DATA).enumerate() {
            let offset = address - FLASH + (k * MAX_DATA) as u32;
            self.ok(
                session,
                Command::Write,
                [offset, chunk.len() as u32, 0],
                chunk,
                0,
            )?;
        }
        Ok(())
    }

    /// Whether `[address, address + len)` has this CRC-32 (standard, as zlib), by the
    /// loader's own verify command.
    pub fn verify(
        &mut self,
        session: &mut Session,
        address: u32,
        len: u32,
        crc32: u32,
    ) -> Result<bool, TargetError> {
        let (result, _) = self.command(
            session,
            Command::Verify,
            [address - FLASH, len, crc32],
            &[],
            0,
        )?;
        Ok(result == 0)
    }

    /// The script's `rtl872x_wdg_reset`: boot from flash again (BOOT_CFG bit 26 clear),
    /// reset when the download finishes, the watchdog reset, and that bit cleared again so
    /// that the reset button works.
    pub fn finish(&mut self, session: &mut Session) -> Result<(), TargetError> {
        let mut core = session.core(0).map_err(probe_error)?;
        let cfg = core.read_word_32(BOOT_CFG).map_err(probe_error)?;
        core.write_word_32(BOOT_CFG, cfg & 0xFFFF & !BOOT_RAM)
            .map_err(probe_error)?;
        let pm = core.read_word_32(AON_PM_OPT).map_err(probe_error)?;
        core.write_word_32(AON_PM_OPT, pm | 1 << 1)
            .map_err(probe_error)?;
        core.write_word_32(WATCHDOG, WATCHDOG_RESET)
            .map_err(probe_error)?;
        let pm = core.read_word_32(AON_PM_OPT).map_err(probe_error)?;
        core.write_word_32(AON_PM_OPT, pm & !(1 << 1))
            .map_err(probe_error)?;
        self.running = false;
        Ok(())
    }
}
