//! Transfers and flash-algorithm loads of hexsmith's flash against probe-rs's own download
//! path, on the same emulated chip and the same images, in one run: a whole Boron restore image on blank silicon, the same image
//! again, and a new customer application on a device that holds the same Device OS.
//! Run through `scripts/bench-flash`.
//!
//! probe-rs's `download_file_with_options` is `build_loader` (the file's segments into a
//! `FlashLoader`) followed by `FlashLoader::commit`; its file parsing needs probe-rs's
//! `builtin-formats` feature, which hexsmith leaves out (it reads images itself), so the
//! bench hands the image's segments to the `FlashLoader` and commits, as that function does.

use hexsmith::compose::catalog::{Catalog, FileIndex, collect};
use hexsmith::compose::replace::{ReplaceOptions, replace_user};
use hexsmith::compose::{BuildOptions, ModuleInput, build};
use hexsmith::flash::emulator::{Chip, EmulatedDevice, WireCounts};
use hexsmith::flash::probe::{Connect, ProbeTarget};
use hexsmith::flash::{FlashOptions, FlashPlan, PlanOptions, execute};
use hexsmith::memory::MemoryImage;
use hexsmith::platform::Platform;
use probe_rs::Permissions;
use probe_rs::flashing::DownloadOptions;
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cache = std::env::var_os("HEXSMITH_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join(".cache"));
    let index = FileIndex::new(&cache.join("device-os"))?;
    let catalog = Catalog::read(&repo.join("restore-images/4.0.1.toml"))?;
    let entry = catalog
        .platform
        .iter()
        .find(|p| p.name == "boron")
        .ok_or("no boron in the 4.0.1 catalog")?;
    let (platform, modules) = collect("4.0.1", entry, &index)?;
    let image = build(modules, &BuildOptions::default())?.image;

    // A customer application on the same Device OS: Tinker's code linked at another
    // address, so every byte of the application differs.
    let app_path = cache
        .join("device-os/particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin");
    let mut app = std::fs::read(&app_path)
        .map_err(|e| format!("{}: {e}: run scripts/fetch-device-os", app_path.display()))?;
    let m = hexsmith::module::Module::parse(&app)?;
    let len = m.info.end - m.info.start;
    app[0..4].copy_from_slice(&0xB4000u32.to_le_bytes());
    app[4..8].copy_from_slice(&(0xB4000 + len).to_le_bytes());
    hexsmith::module::seal(&mut app)?;
    let app = ModuleInput::from_bytes("customer-app.bin", app)?;
    let customer = replace_user("boron", &image, &app, ReplaceOptions::default())?.image;

    let image_hex = &image;
    let customer_hex = &customer;

    println!(
        "Boron, Device OS 4.0.1: image {} bytes; emulated nRF52840_xxAA",
        image.len()
    );
    println!(
        "{:<44} {:>10} {:>6} {:>9} {:>9} {:>9} {:>7}",
        "", "transfers", "loads", "erased", "written", "read", "emu s"
    );

    let hexsmith_dev = EmulatedDevice::without_state(Chip::Nrf52840);
    let probe_rs_dev = EmulatedDevice::without_state(Chip::Nrf52840);
    let verified = DownloadOptions::default;

    let a = with_hexsmith(&hexsmith_dev, platform, &image)?;
    let b = with_probe_rs(&probe_rs_dev, image_hex, DownloadOptions::default())?;
    let b_verify = with_probe_rs(&EmulatedDevice::without_state(Chip::Nrf52840), image_hex, {
        let mut o = verified();
        o.verify = true;
        o
    })?;
    row("blank chip, hexsmith flash (verified)", a);
    row("blank chip, probe-rs download", b);
    row("blank chip, probe-rs download --verify", b_verify);

    let c = with_hexsmith(&hexsmith_dev, platform, &image)?;
    let d = with_probe_rs(&probe_rs_dev, image_hex, DownloadOptions::default())?;
    row("same image again, hexsmith flash (verified)", c);
    row("same image again, probe-rs download", d);

    let e = with_hexsmith(&hexsmith_dev, platform, &customer)?;
    let f = with_probe_rs(&probe_rs_dev, customer_hex, DownloadOptions::default())?;
    row("new customer app, hexsmith flash (verified)", e);
    row("new customer app, probe-rs download", f);

    for (what, dev) in [("hexsmith", &hexsmith_dev), ("probe-rs", &probe_rs_dev)] {
        let v = dev.nor_violations();
        if !v.is_empty() {
            return Err(format!("{what}: {} NOR violations", v.len()).into());
        }
    }
    let goal = |name: &str, ours: u64, limit: f64| {
        let met = (ours as f64) <= limit;
        println!(
            "goal: {name}: {ours} <= {limit:.0}: {}",
            if met { "met" } else { "NOT met" }
        );
        met
    };
    let base = b.0.transfers as f64;
    let all = [
        goal(
            "blank chip, no more transfers than probe-rs's download",
            a.0.transfers,
            base,
        ),
        goal(
            "same image again, at most a tenth",
            c.0.transfers,
            base / 10.0,
        ),
        goal(
            "new customer app, at most a quarter",
            e.0.transfers,
            base / 4.0,
        ),
    ];
    if all.iter().all(|m| *m) {
        Ok(())
    } else {
        Err("a goal is not met".into())
    }
}

fn row(what: &str, (c, seconds): (WireCounts, f64)) {
    println!(
        "{what:<44} {:>10} {:>6} {:>9} {:>9} {:>9} {seconds:>7.2}",
        c.transfers, c.algorithm_loads, c.bytes_erased, c.bytes_programmed, c.bytes_read
    );
}

/// `hexsmith flash` as the command line runs it: compare, write what differs, verify, reset.
fn with_hexsmith(
    device: &EmulatedDevice,
    platform: &Platform,
    image: &MemoryImage,
) -> Result<(WireCounts, f64), Box<dyn std::error::Error>> {
    let mcu = platform.mcu();
    let mut target = ProbeTarget::connect(&Connect {
        emulate: Some(device.clone()),
        chip: mcu.chip.clone().ok_or("no chip")?,
        ..Connect::default()
    })?;
    device.reset_counts();
    let start = Instant::now();
    let plan = FlashPlan::new(image, platform, mcu, PlanOptions::default())?;
    let options = FlashOptions {
        verify: true,
        reset: true,
        cancel: None,
        batch_units: 16,
    };
    execute(&plan, image, &mut target, &options, &mut |_| {})?;
    Ok((device.counts(), start.elapsed().as_secs_f64()))
}

/// probe-rs's own download of the same image, as `probe-rs download` does it.
fn with_probe_rs(
    device: &EmulatedDevice,
    image: &MemoryImage,
    options: DownloadOptions,
) -> Result<(WireCounts, f64), Box<dyn std::error::Error>> {
    let mut session = device
        .probe()
        .attach(Chip::Nrf52840.target_name(), Permissions::new())?;
    device.reset_counts();
    let start = Instant::now();
    let mut loader = session.target().flash_loader();
    for seg in image.segments() {
        loader.add_data(u64::from(seg.start), &seg.data)?;
    }
    loader.commit(&mut session, options)?;
    session.core(0)?.reset()?;
    Ok((device.counts(), start.elapsed().as_secs_f64()))
}
