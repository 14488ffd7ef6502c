//! hexsmith's on-target routines (`flash::checksum`: the blank check, the CRC, and the
//! STM32F2's CRC unit fed by a routine), their real Thumb-2 code executed by the emulated
//! nRF52840 and STM32F205 through probe-rs, against the `crc` crate and a plain scan of
//! the same bytes: ranges of every alignment and length, more ranges than one run takes,
//! erased ranges with one programmed byte anywhere. Then what they buy: a blank device is
//! compared without a CRC.

mod common;

use common::catalog_image;
use hexsmith::flash::checksum::{self, Kind, MAX_RANGES};
use hexsmith::flash::emulator::{Chip, EmulatedDevice};
use hexsmith::flash::probe::{Connect, ProbeTarget};
use hexsmith::flash::{FlashOptions, FlashPlan, FlashTarget, PlanOptions, execute};
use hexsmith::memory::MemoryImage;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

fn connect(device: &EmulatedDevice) -> ProbeTarget {
    let chip = device.chip();
    ProbeTarget::connect(
        &Connect::to_chip(chip.target_name().to_string())
            .with_emulate(Some(device.clone()))
            .with_under_reset(chip == Chip::Stm32f205),
    )
    .unwrap_or_else(|e| panic!("{e}; core faults {:?}", device.core_faults()))
}

/// Pseudo-random bytes (xorshift), the same every run.
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A device whose flash holds 64 KiB of noise at `base`, then 64 KiB erased but for
/// single programmed bytes at 0x100 + 0x1000 * k + k (every alignment, every place in
/// an eight-word block).
fn device(chip: Chip, base: u32) -> (EmulatedDevice, MemoryImage) {
    let mut image = EmulatedDevice::without_state(chip).nvm_image();
    image.write(base, &noise(0x1_0000, base ^ 0x1234_5678));
    let mut erased = vec![0xFF; 0x1_0000];
    for k in 0..16 {
        erased[0x100 + 0x1000 * k + k] = 0x7F;
    }
    image.write(base + 0x1_0000, &erased);
    let device = EmulatedDevice::from_image(chip, &image).unwrap();
    (device, image)
}

fn check_routines(chip: Chip, base: u32) {
    let (device, image) = device(chip, base);
    let mut target = connect(&device);
    let bytes = |start: u32, len: u32| image.read(u64::from(start), len as usize).unwrap();

    // More ranges than one run takes: starts and lengths of every alignment, zero
    // length included, over programmed bytes.
    let mut ranges: Vec<(u32, u32)> = (0..3 * MAX_RANGES as u32 + 5)
        .map(|k| (base + k * 97 % 0xF000, k * 37 % 300))
        .collect();
    ranges.push((base, 0x1_0000));
    let sums = target
        .checksums(&ranges)
        .unwrap()
        .expect("the chip runs the CRC");
    assert_eq!(sums.kind, Kind::Crc32Register);
    for ((start, len), sum) in ranges.iter().zip(&sums.values) {
        assert_eq!(
            *sum,
            checksum::expected(bytes(*start, *len)),
            "{start:#x}+{len}"
        );
    }

    // Whole words: an STM32F2's CRC unit takes them (clocked by the routine: before, the
    // unclocked unit reads 0), any other chip's routine.
    let mut words: Vec<(u32, u32)> = (0..MAX_RANGES as u32 + 3)
        .map(|k| (base + k * 4 * 97 % 0xF000, k * 4 * 37 % 1200))
        .collect();
    words.push((base, 0x1_0000));
    let crc_dr = 0x4002_3000;
    if chip == Chip::Stm32f205 {
        let mut before = [0xAA; 4];
        target.read(crc_dr, &mut before).unwrap();
        assert_eq!(before, [0; 4], "the CRC unit is not clocked after reset");
    }
    let sums = target.checksums(&words).unwrap().unwrap();
    let kind = match chip {
        Chip::Stm32f205 => Kind::Stm32CrcUnit,
        _ => Kind::Crc32Register,
    };
    assert_eq!(sums.kind, kind);
    for (k, (start, len)) in words.iter().enumerate() {
        let expected = kind.of(bytes(*start, *len));
        assert_eq!(sums.values[k], expected, "{start:#x}+{len}");
        assert!(sums.matches(k, bytes(*start, *len)));
    }
    if chip == Chip::Stm32f205 {
        // The unit holds the last range's result, as the routine read it.
        let mut dr = [0; 4];
        target.read(crc_dr, &mut dr).unwrap();
        assert_eq!(u32::from_le_bytes(dr), *sums.values.last().unwrap());
    }

    // Erased ranges, and the same ranges reaching one programmed byte at any offset.
    let erased = base + 0x1_0000;
    let mut ranges = Vec::new();
    for k in 0..16u32 {
        let odd = erased + 0x1000 * k + 0x100 + k;
        ranges.push((odd + 1, 0xEFF - k));
        for (from, to) in [(0, 1), (3, 1), (5, 40), (33, 64), (260, 300)] {
            ranges.push((odd - from.min(0xFF), from.min(0xFF) + to));
        }
        ranges.push((odd - 0x100 - k + 1, 0x100 + k - 1));
    }
    ranges.push((base, 0x1_0000));
    ranges.push((erased, 0));
    let answers = target
        .blank(&ranges)
        .unwrap()
        .expect("the chip runs the blank check");
    let mut seen = [0; 2];
    for ((start, len), blank) in ranges.iter().zip(&answers) {
        let want = bytes(*start, *len).iter().all(|b| *b == 0xFF);
        assert_eq!(*blank, want, "{start:#x}+{len}");
        seen[usize::from(want)] += 1;
    }
    assert!(seen[0] > 16 && seen[1] > 16, "{seen:?}");
    assert_eq!(device.core_faults(), Vec::<String>::new());
}

#[test]
fn the_routines_answer_as_the_crc_crate_on_the_nrf52840() {
    check_routines(Chip::Nrf52840, 0x4_0000);
}

#[test]
fn the_routines_answer_as_the_crc_crate_on_the_stm32f205() {
    check_routines(Chip::Stm32f205, 0x0804_0000);
}

/// Instructions the emulated core executes to compare `image` with what the device
/// holds: `execute` stopped (as by Ctrl-C) before anything is written.
fn compare_instructions(
    device: &EmulatedDevice,
    release: &str,
    name: &str,
    mbr: bool,
) -> (u64, u64) {
    let (platform, image) = catalog_image(release, name, mbr);
    let mut target = connect(device);
    let plan = FlashPlan::new(&image, platform, platform.mcu(), PlanOptions::default()).unwrap();
    let before = device.instructions();
    let options = FlashOptions::default().with_cancel(Some(Arc::new(AtomicBool::new(true))));
    let report = execute(&plan, &image, &mut target, &options, &mut |_| {}).unwrap();
    assert_eq!(report.units_written, 0);
    (device.instructions() - before, image.len())
}

/// A blank device's compare is blank checks alone (about 1.5 instructions a word, no
/// CRC at 16 a word); a device that holds the image costs the CRC of the image's bytes
/// and little more.
#[test]
fn a_blank_device_is_compared_without_a_crc() {
    for (chip, release, name, mbr) in [
        (Chip::Nrf52840, "4.0.1", "boron", true),
        (Chip::Stm32f205, "2.3.1", "photon", false),
    ] {
        let device = EmulatedDevice::without_state(chip);
        let (blank, bytes) = compare_instructions(&device, release, name, mbr);
        assert!(
            blank > 0 && blank < bytes / 2,
            "{name}: {blank} instructions for {bytes} bytes"
        );

        let (_, image) = catalog_image(release, name, mbr);
        let mut held = EmulatedDevice::without_state(chip).nvm_image();
        for seg in image.segments() {
            held.write(seg.start, &seg.data);
        }
        let device = EmulatedDevice::from_image(chip, &held).unwrap();
        let (same, _) = compare_instructions(&device, release, name, mbr);
        eprintln!(
            "{name}: {bytes} image bytes, compared in {blank} instructions blank, {same} holding it"
        );
        // The Boron's CRC routine: 4 instructions a byte. The Photon's image ranges are
        // whole words, which its CRC unit takes: 7 instructions for 4 words.
        let per_byte = if chip == Chip::Stm32f205 {
            7.0 / 16.0
        } else {
            4.0
        };
        let floor = (bytes as f64 * per_byte) as u64;
        assert!(
            same >= floor && same < floor + bytes / 8,
            "{name}: {same} instructions for {bytes} bytes"
        );
    }
}
