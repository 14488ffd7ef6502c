//! `flash --dry-run`'s time model against the emulator's virtual clock: for Boron
//! (nRF52840) and Photon (STM32F205) restore images, on every kind of probe, the
//! estimate of each scenario a production line meets (a blank device, the same image
//! again, a new application, another Device OS release) is within 15% of the emulated
//! run's time.

mod common;

use common::*;
use hexsmith::flash::emulator::{Chip, EmulatedDevice, ProbeKind};
use hexsmith::flash::estimate::estimate;
use hexsmith::flash::probe::{Connect, ProbeTarget};
use hexsmith::flash::{FlashOptions, FlashPlan, PlanOptions, execute};
use hexsmith::memory::MemoryImage;
use hexsmith::platform::Platform;

const BATCH: usize = 16;

fn flash_timed(device: &EmulatedDevice, platform: &Platform, image: &MemoryImage) -> f64 {
    let mcu = platform.mcu();
    device.reset_counts();
    let mut target = ProbeTarget::connect(
        &Connect::to_chip(mcu.chip.clone().unwrap())
            .with_emulate(Some(device.clone()))
            .with_under_reset(mcu.attach_under_reset),
    )
    .unwrap();
    let plan = FlashPlan::new(image, platform, mcu, PlanOptions::default()).unwrap();
    let options = FlashOptions::default()
        .with_verify(true)
        .with_reset(true)
        .with_batch_units(BATCH);
    execute(&plan, image, &mut target, &options, &mut |_| {}).unwrap();
    device.counts().emulated_ns as f64 / 1e9
}

/// A new application: the image's user part with its middle changed and re-sealed.
fn new_app(platform: &Platform, image: &MemoryImage) -> MemoryImage {
    let tinker = match platform.name.as_str() {
        "boron" => "boron/tinker/tinker-0.8.0-rc.27-boron.bin",
        _ => "photon/tinker/tinker-0.4.5-photon.bin",
    };
    let mut app = std::fs::read(
        device_os()
            .join("particle-cli-3.51.0/knownApps")
            .join(tinker),
    )
    .unwrap();
    let n = app.len();
    for b in &mut app[n / 4..n / 2] {
        *b ^= 0x5A;
    }
    hexsmith::module::seal(&mut app).unwrap();
    let input = hexsmith::compose::ModuleInput::from_bytes("customer-app.bin", app).unwrap();
    hexsmith::compose::replace::replace_user(&platform.name, image, &input, Default::default())
        .unwrap()
        .image
}

fn check(chip: Chip, first: (&str, &str), other: &str) {
    let (platform, image) = catalog_image(first.0, first.1, chip == Chip::Nrf52840);
    let (_, other) = catalog_image(other, first.1, chip == Chip::Nrf52840);
    let app = new_app(platform, &image);
    let mut failures = Vec::new();
    for kind in ProbeKind::ALL {
        let device = EmulatedDevice::without_state(chip);
        device.set_probe_kind(kind);
        let mut held = MemoryImage::new();
        for (scenario, img) in [
            ("blank", &image),
            ("same-again", &image),
            ("new-app", &app),
            ("other-release", &other),
        ] {
            let plan =
                FlashPlan::new(img, platform, platform.mcu(), PlanOptions::default()).unwrap();
            let (estimated, _) = estimate(&plan, img, platform.mcu(), &held, kind, BATCH);
            let emulated = flash_timed(&device, platform, img);
            let off = (estimated - emulated).abs() / emulated;
            eprintln!(
                "{} {kind} {scenario}: estimated {estimated:.2} s, emulated {emulated:.2} s ({:+.0}%)",
                chip.target_name(),
                (estimated / emulated - 1.0) * 100.0
            );
            if off > 0.15 {
                failures.push(format!(
                    "{kind} {scenario}: {estimated:.2} s vs {emulated:.2} s"
                ));
            }
            held = device.nvm_image();
        }
    }
    assert!(failures.is_empty(), "{}: {failures:?}", chip.target_name());
}

#[test]
fn boron_estimates_are_within_15_percent_of_the_emulator() {
    check(Chip::Nrf52840, ("4.0.1", "boron"), "4.0.2");
}

#[test]
fn photon_estimates_are_within_15_percent_of_the_emulator() {
    check(Chip::Stm32f205, ("2.3.1", "photon"), "2.2.0");
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `--emulate-probe` picks the wire an emulated device is flashed over and the kind a
/// dry run assumes; `flash --json` reports the virtual time, and a dry run onto an
/// emulated state knows what that device holds.
#[test]
fn the_command_line_times_runs_by_probe_kind() {
    let dir = tempfile::tempdir().unwrap();
    let app =
        device_os().join("particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin");
    let app = app.to_str().unwrap();
    let dry = |extra: &[&str]| {
        let mut args = vec!["flash", app, "--dry-run", "--json"];
        args.extend_from_slice(extra);
        json(&hexsmith(dir.path(), &args))["time"].clone()
    };
    let time = dry(&["--emulate-probe", "cmsis-dap-v2"]);
    assert_eq!(time["probe"], "cmsis-dap-v2");
    assert_eq!(time["probe_from"], "--emulate-probe");
    assert_eq!(time["device"], "blank");
    let v2 = time["seconds"].as_f64().unwrap();
    let jlink = dry(&["--emulate-probe", "jlink"])["seconds"]
        .as_f64()
        .unwrap();
    assert!(jlink < v2 && v2 > 0.0, "{jlink} {v2}");

    let bad = hexsmith(
        dir.path(),
        &["flash", app, "--dry-run", "--emulate-probe", "stlink"],
    );
    assert_eq!(bad.status.code(), Some(64));
    assert!(stderr(&bad).contains("cmsis-dap-v1, cmsis-dap-v2, jlink"));

    let mut seconds = Vec::new();
    for kind in ["jlink", "cmsis-dap-v1"] {
        let state = format!("{kind}.hex");
        let out = json(&hexsmith(
            dir.path(),
            &[
                "flash",
                app,
                "--emulate",
                "nRF52840_xxAA",
                "--emulate-state",
                &state,
                "--emulate-probe",
                kind,
                "--json",
            ],
        ));
        let wire = &out["devices"][0]["report"]["wire"];
        assert_eq!(wire["probe"], kind);
        seconds.push(wire["emulated_seconds"].as_f64().unwrap());
        // The dry run onto that device: nothing left to write, and it says so.
        let time = dry(&[
            "--emulate",
            "nRF52840_xxAA",
            "--emulate-state",
            &state,
            "--emulate-probe",
            kind,
        ]);
        assert_eq!(
            (time["device"].as_str(), time["units_written"].as_u64()),
            (Some("emulated state"), Some(0))
        );
    }
    // The Particle Debugger's 1 ms reports cost more than a J-Link's microframes.
    assert!(
        seconds[0] > 0.0 && seconds[1] > 2.0 * seconds[0],
        "{seconds:?}"
    );
}
