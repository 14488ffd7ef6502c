//! Flashing time of hexsmith against probe-rs's own download path, on the emulator's
//! virtual clock, for each chip, scenario and kind of probe: a whole restore image on a
//! blank chip, the same image again, a new customer application, and an image of another
//! Device OS release. Run through `scripts/bench-flash` (`--json` for one JSON document,
//! else a table); exits non-zero when a goal of issue 17 is not met.
//!
//! probe-rs's `download_file_with_options` is `build_loader` (the file's segments into a
//! `FlashLoader`) followed by `FlashLoader::commit`; its file parsing needs probe-rs's
//! `builtin-formats` feature, which hexsmith leaves out (it reads images itself), so the
//! bench hands the image's segments to the `FlashLoader` and commits, as that function does.

#[path = "../tests/common/p2.rs"]
mod p2;

use hexsmith::compose::catalog::{Catalog, FileIndex, collect};
use hexsmith::compose::replace::{ReplaceOptions, replace_user};
use hexsmith::compose::{BuildOptions, Mbr, ModuleInput, build};
use hexsmith::flash::emulator::{Chip, EmulatedDevice, ProbeKind, WireCounts};
use hexsmith::flash::probe::{Connect, ProbeTarget};
use hexsmith::flash::rtl872x::loader::Loader;
use hexsmith::flash::{FlashOptions, FlashPlan, PlanOptions, execute};
use hexsmith::memory::MemoryImage;
use hexsmith::platform::Platform;
use probe_rs::Permissions;
use probe_rs::flashing::DownloadOptions;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The scenarios, in the order one device goes through them.
const SCENARIOS: [&str; 4] = ["blank", "same-again", "new-app", "other-release"];

/// One chip's images: what the scenarios write, in order.
struct Case {
    chip: Chip,
    platform: &'static Platform,
    label: String,
    images: [MemoryImage; 4],
}

#[derive(Serialize, Clone, Copy)]
struct Tool {
    emulated_seconds: f64,
    transfers: u64,
    algorithm_loads: u64,
    erased: u64,
    programmed: u64,
    read: u64,
}

impl From<WireCounts> for Tool {
    fn from(c: WireCounts) -> Tool {
        Tool {
            emulated_seconds: (c.emulated_ns / 1_000) as f64 / 1e6,
            transfers: c.transfers,
            algorithm_loads: c.algorithm_loads,
            erased: c.bytes_erased,
            programmed: c.bytes_programmed,
            read: c.bytes_read,
        }
    }
}

#[derive(Serialize)]
struct Row {
    chip: &'static str,
    scenario: &'static str,
    probe: ProbeKind,
    floor_seconds: f64,
    hexsmith: Tool,
    /// None where probe-rs cannot program the chip: it has no flash algorithm for the
    /// RTL8721DM (hexsmith registers that target itself and writes through Particle's
    /// loader).
    #[serde(rename = "probe-rs")]
    probe_rs: Option<Tool>,
}

#[derive(Serialize)]
struct Document {
    scenarios: Vec<Row>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let json = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--json") => true,
        Some(other) => {
            return Err(format!("unknown argument {other:?}: give --json or nothing").into());
        }
    };
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cache = std::env::var_os("HEXSMITH_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join(".cache"));
    let index = FileIndex::new(&cache.join("device-os"))?;
    let image = |release: &str,
                 name: &str|
     -> Result<(&'static Platform, MemoryImage), Box<dyn std::error::Error>> {
        let catalog = Catalog::read(&repo.join(format!("restore-images/{release}.toml")))?;
        let entry = catalog
            .platform
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| format!("no {name} in the {release} catalog"))?;
        let (platform, modules) = collect(release, entry, &index)?;
        let options =
            BuildOptions::default().with_mbr((platform.mcu == "nrf52840").then(stand_in_mbr));
        Ok((platform, build(modules, &options)?.image))
    };
    let knowns = cache.join("device-os/particle-cli-3.51.0/knownApps");

    let (boron, boron_401) = image("4.0.1", "boron")?;
    let (_, boron_402) = image("4.0.2", "boron")?;
    // A customer application on the same Device OS: Tinker's code linked at another
    // address, so every byte of the application differs.
    let tinker = read(&knowns.join("boron/tinker/tinker-0.8.0-rc.27-boron.bin"))?;
    let app = ModuleInput::from_bytes("customer-app.bin", relinked(&tinker, 0xB4000)?)?;
    let boron_app = replace_user("boron", &boron_401, &app, ReplaceOptions::default())?.image;

    let (photon, photon_231) = image("2.3.1", "photon")?;
    let (_, photon_220) = image("2.2.0", "photon")?;
    // The Photon's application slot is fixed: the new application is Tinker with its code
    // changed, re-sealed.
    let tinker = read(&knowns.join("photon/tinker/tinker-0.4.5-photon.bin"))?;
    let app = changed(&tinker)?;
    let photon_app = replace_user("photon", &photon_231, &app, ReplaceOptions::default())?.image;

    let cases = [
        Case {
            chip: Chip::Nrf52840,
            platform: boron,
            label: "Boron 4.0.1 (with an MBR), then 4.0.2".into(),
            images: [boron_401.clone(), boron_401.clone(), boron_app, boron_402],
        },
        Case {
            chip: Chip::Stm32f205,
            platform: photon,
            label: "Photon 2.3.1, then 2.2.0".into(),
            images: [photon_231.clone(), photon_231, photon_app, photon_220],
        },
    ];

    let mut rows = Vec::new();
    for case in &cases {
        rows.extend(case_rows(case, None, json)?);
    }
    let p2 = rtl872x(&cache, json)?;
    let met = goals(&rows, json)
        & p2.as_ref()
            .is_none_or(|(p2, bytes)| rtl872x_goals(p2, *bytes, json));
    rows.extend(p2.into_iter().flat_map(|(p2, _)| p2));
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&Document { scenarios: rows })?
        );
    }
    if met {
        Ok(())
    } else {
        Err("a goal is not met".into())
    }
}

/// Every scenario of one chip on every kind of probe, with hexsmith and (where it can)
/// probe-rs, each on a fresh device; printed as a table unless `json`.
fn case_rows(
    case: &Case,
    loader: Option<&Arc<Loader>>,
    json: bool,
) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let dash = |t: Option<Tool>, f: fn(&Tool) -> String| t.as_ref().map_or("-".into(), f);
    let mut rows = Vec::new();
    {
        if !json {
            println!("{} on an emulated {}", case.label, case.chip.target_name());
            println!(
                "{:<14} {:<13} {:>7} | {:>8} {:>9} {:>5} | {:>8} {:>9} {:>5}",
                "scenario",
                "probe",
                "floor s",
                "ours s",
                "transfers",
                "loads",
                "p-rs s",
                "transfers",
                "loads"
            );
        }
        for kind in ProbeKind::ALL {
            let ours = run_all(case, kind, Flasher::Hexsmith(loader))?;
            let theirs = match loader {
                None => Some(run_all(case, kind, Flasher::ProbeRs)?),
                Some(_) => None,
            };
            let mut before = MemoryImage::new();
            for (k, scenario) in SCENARIOS.iter().enumerate() {
                let image = &case.images[k];
                let row = Row {
                    chip: case.chip.target_name(),
                    scenario,
                    probe: kind,
                    floor_seconds: floor_seconds(case, kind, &before, image),
                    hexsmith: ours[k].into(),
                    probe_rs: theirs.as_ref().map(|t| t[k].into()),
                };
                before = image.clone();
                if !json {
                    println!(
                        "{:<14} {:<13} {:>7.2} | {:>8.2} {:>9} {:>5} | {:>8} {:>9} {:>5}",
                        row.scenario,
                        kind.name(),
                        row.floor_seconds,
                        row.hexsmith.emulated_seconds,
                        row.hexsmith.transfers,
                        row.hexsmith.algorithm_loads,
                        dash(row.probe_rs, |t| format!("{:.2}", t.emulated_seconds)),
                        dash(row.probe_rs, |t| t.transfers.to_string()),
                        dash(row.probe_rs, |t| t.algorithm_loads.to_string()),
                    );
                }
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

/// The goals of issue 17, each printed (to standard error with `--json`) with whether it
/// is met.
fn goals(rows: &[Row], json: bool) -> bool {
    let mut all = true;
    let find = |chip: &str, scenario: &str, kind: ProbeKind| {
        rows.iter()
            .find(|r| r.chip == chip && r.scenario == scenario && r.probe == kind)
    };
    for chip in [Chip::Nrf52840, Chip::Stm32f205].map(Chip::target_name) {
        for kind in ProbeKind::ALL {
            let (Some(blank), Some(again), Some(app)) = (
                find(chip, "blank", kind),
                find(chip, "same-again", kind),
                find(chip, "new-app", kind),
            ) else {
                continue;
            };
            let Some(probe_rs) = blank.probe_rs else {
                continue;
            };
            let factor = if kind == ProbeKind::Jlink { 1.10 } else { 1.20 };
            let ours = blank.hexsmith.emulated_seconds;
            let checks = [
                (
                    format!("blank <= {factor:.2} x floor"),
                    ours,
                    factor * blank.floor_seconds,
                ),
                (
                    "blank <= 0.6 x probe-rs".into(),
                    ours,
                    0.6 * probe_rs.emulated_seconds,
                ),
                (
                    "same image again <= 0.5 s".into(),
                    again.hexsmith.emulated_seconds,
                    0.5,
                ),
                (
                    "new application <= blank / 10".into(),
                    app.hexsmith.emulated_seconds,
                    ours / 10.0,
                ),
            ];
            for (what, value, limit) in checks {
                let ok = value <= limit;
                all &= ok;
                let line = format!(
                    "goal: {chip} {kind}: {what}: {value:.2} s <= {limit:.2} s: {}",
                    if ok { "met" } else { "NOT met" }
                );
                if json {
                    eprintln!("{line}");
                } else {
                    println!("{line}");
                }
            }
        }
    }
    all
}

/// The floor: the larger of the chip's time to program the words of `image` that
/// are not 0xFFFFFFFF and differ from what the device held, and the wire time to move
/// those words at the probe's best block rate. Erasing is not in it.
fn floor_seconds(case: &Case, kind: ProbeKind, before: &MemoryImage, image: &MemoryImage) -> f64 {
    let mut words = 0u64;
    for seg in image.segments() {
        for (k, word) in seg.data.chunks(4).enumerate() {
            let at = u64::from(seg.start) + 4 * k as u64;
            let held = before
                .read(at, word.len())
                .unwrap_or(&[0xFF; 4][..word.len()]);
            if word.iter().any(|b| *b != 0xFF) && word != held {
                words += 1;
            }
        }
    }
    let mcu = case.platform.mcu();
    let program = words as f64 * f64::from(mcu.program_us_per_word) / 1e6;
    let costs = kind.costs();
    let wire = costs.block_ns(words, costs.default_swd_khz) as f64 / 1e9;
    (program.max(wire) * 1e3).round() / 1e3
}

#[derive(Clone, Copy)]
enum Flasher<'a> {
    /// With Particle's loader for a chip written through it.
    Hexsmith(Option<&'a Arc<Loader>>),
    ProbeRs,
}

/// One fresh device through every scenario, with one tool.
fn run_all(
    case: &Case,
    kind: ProbeKind,
    with: Flasher<'_>,
) -> Result<Vec<WireCounts>, Box<dyn std::error::Error>> {
    let device = EmulatedDevice::without_state(case.chip);
    device.set_probe_kind(kind);
    let mut out = Vec::new();
    for image in &case.images {
        out.push(match with {
            Flasher::Hexsmith(loader) => with_hexsmith(&device, case.platform, image, loader)?,
            Flasher::ProbeRs => with_probe_rs(&device, image)?,
        });
    }
    let v = device.nor_violations();
    if !v.is_empty() {
        return Err(format!("{} NOR violations on {}", v.len(), case.chip.target_name()).into());
    }
    Ok(out)
}

/// `hexsmith flash` as the command line runs it: compare, write what differs, verify,
/// reset; attaching counts.
fn with_hexsmith(
    device: &EmulatedDevice,
    platform: &Platform,
    image: &MemoryImage,
    loader: Option<&Arc<Loader>>,
) -> Result<WireCounts, Box<dyn std::error::Error>> {
    let mcu = platform.mcu();
    device.reset_counts();
    let mut target = ProbeTarget::connect(
        &Connect::to_chip(mcu.chip.clone().ok_or("no chip")?)
            .with_emulate(Some(device.clone()))
            .with_under_reset(mcu.attach_under_reset)
            .with_rtl872x_loader(loader.cloned()),
    )?;
    let plan = FlashPlan::new(image, platform, mcu, PlanOptions::default())?;
    let options = FlashOptions::default()
        .with_verify(true)
        .with_reset(true)
        .with_batch_units(16);
    execute(&plan, image, &mut target, &options, &mut |_| {})?;
    Ok(device.counts())
}

/// probe-rs's own download of the same image, as `probe-rs download` does it; attaching
/// counts.
fn with_probe_rs(
    device: &EmulatedDevice,
    image: &MemoryImage,
) -> Result<WireCounts, Box<dyn std::error::Error>> {
    device.reset_counts();
    let chip = device.chip();
    let probe = device.probe();
    let mut session = if chip == Chip::Stm32f205 {
        probe.attach_under_reset(chip.target_name(), Permissions::new())?
    } else {
        probe.attach(chip.target_name(), Permissions::new())?
    };
    let mut loader = session.target().flash_loader();
    for seg in image.segments() {
        loader.add_data(u64::from(seg.start), &seg.data)?;
    }
    loader.commit(&mut session, DownloadOptions::default())?;
    session.core(0)?.reset()?;
    Ok(device.counts())
}

fn read(path: &Path) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    std::fs::read(path)
        .map_err(|e| format!("{}: {e}: run scripts/fetch-device-os", path.display()).into())
}

/// An application re-linked to another start address, re-sealed: every byte differs.
fn relinked(app: &[u8], start: u32) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut app = app.to_vec();
    let m = hexsmith::module::Module::parse(&app)?;
    let len = m.info.end - m.info.start;
    app[0..4].copy_from_slice(&start.to_le_bytes());
    app[4..8].copy_from_slice(&(start + len).to_le_bytes());
    hexsmith::module::seal(&mut app)?;
    Ok(app)
}

/// An application with the middle half of its bytes changed, re-sealed.
fn changed(app: &[u8]) -> Result<ModuleInput, Box<dyn std::error::Error>> {
    let mut app = app.to_vec();
    let n = app.len();
    for b in &mut app[n / 4..n / 2] {
        *b ^= 0x5A;
    }
    hexsmith::module::seal(&mut app)?;
    Ok(ModuleInput::from_bytes("customer-app.bin", app)?)
}

/// Stands in for Nordic's MBR, which the project must not carry: 4 KiB that start as an
/// MBR does (a stack pointer in RAM, handlers inside its page), and program as long.
fn stand_in_mbr() -> Mbr {
    let mut mbr: Vec<u8> = (0..4096u32).map(|i| (i * 13 + 5) as u8).collect();
    mbr[0..4].copy_from_slice(&0x2000_0400u32.to_le_bytes());
    for i in 1..16u32 {
        let handler = 0x0600 + 0x0A * i + 1;
        mbr[i as usize * 4..i as usize * 4 + 4].copy_from_slice(&handler.to_le_bytes());
    }
    Mbr {
        name: "stand-in".into(),
        bytes: mbr,
    }
}

/// The P2's rows, and its blank image's size in bytes (issue 16's goals are in its words).
type P2Rows = (Vec<Row>, u64);

/// The RTL872x rows: P2 images built from the published 6.4.1 and 6.3.4 layouts' modules
/// (stand-ins forged from real Device OS bytes and re-sealed at their addresses, as no
/// package carries P2 system parts) and the real P2 Tinker, through Particle's flash loader
/// on the emulated RTL8721DM, every scenario on every kind of probe. None, said so,
/// without the loader.
fn rtl872x(cache: &Path, json: bool) -> Result<Option<P2Rows>, Box<dyn std::error::Error>> {
    use hexsmith::flash::rtl872x::loader;
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = loader::locate(None).unwrap_or_else(|| repo.join("../shared/fixtures/rtl872x.tcl"));
    if !path.is_file() {
        say(
            json,
            format!(
                "RTL872x: SKIPPED (no flash loader: set {})",
                loader::ENV_VAR
            ),
        );
        return Ok(None);
    }
    let the_loader = Arc::new(loader::load(&path, false)?);
    let read = |p: &str| std::fs::read(cache.join("device-os").join(p));
    let tinker = read("particle-cli-3.51.0/knownApps/p2/tinker/tinker-5.0.0-p2.bin")?;
    let body = read("particle-cli-3.6.0/updates/boron-system-part1@4.0.1.bin")?;
    let image = |rows: &[p2::Row], from: usize| {
        let mut inputs = Vec::new();
        for row in rows {
            let module = p2::forge(row, &body[from..], &tinker);
            inputs.push(ModuleInput::from_bytes(
                format!("{:#x}", row.start),
                module,
            )?);
        }
        inputs.push(ModuleInput::from_bytes("tinker", tinker.clone())?);
        let built = build(inputs, &BuildOptions::default())?;
        Ok::<_, Box<dyn std::error::Error>>((built.platform, built.image))
    };
    let (platform, image_641) = image(&p2::P2_6_4_1, 0x200)?;
    let (_, image_634) = image(&p2::P2_6_3_4, 0x1200)?;
    // A customer application: Tinker linked 4 KiB lower, written over the image as a
    // device holding it would be.
    let app = relinked(&tinker, 0x085F_3000)?;
    let mut customer = image_641.clone();
    customer.write(0x085F_3000, &app);
    let image_bytes = image_641.len();
    let case = Case {
        chip: Chip::Rtl8721dm,
        platform,
        label: "P2, modules of 6.4.1 (stand-ins) + Tinker, then of 6.3.4".into(),
        images: [image_641.clone(), image_641, customer, image_634],
    };
    Ok(Some((
        case_rows(&case, Some(&the_loader), json)?,
        image_bytes,
    )))
}

/// Issue 16's goals for the RTL872x, in transfers on the default probe: a blank chip at
/// most the image's bytes / 4 x 1.15, the same image again a twentieth of that, a new
/// application a quarter.
fn rtl872x_goals(rows: &[Row], image_bytes: u64, json: bool) -> bool {
    let find = |scenario: &str| {
        rows.iter()
            .find(|r| r.scenario == scenario && r.probe == ProbeKind::DEFAULT)
    };
    let (Some(blank), Some(again), Some(app)) =
        (find("blank"), find("same-again"), find("new-app"))
    else {
        return false;
    };
    let base = image_bytes as f64 / 4.0 * 1.15;
    [
        ("blank chip, at most bytes / 4 x 1.15", blank, base),
        (
            "same image again, at most a twentieth of that",
            again,
            base / 20.0,
        ),
        (
            "new customer app, at most a quarter of that",
            app,
            base / 4.0,
        ),
    ]
    .into_iter()
    .fold(true, |all, (name, row, limit)| {
        let met = (row.hexsmith.transfers as f64) <= limit;
        say(
            json,
            format!(
                "goal: RTL8721DM {}: {name}: {} <= {limit:.0}: {}",
                ProbeKind::DEFAULT,
                row.hexsmith.transfers,
                if met { "met" } else { "NOT met" }
            ),
        );
        all & met
    })
}

/// A line for the reader: standard output for the table, standard error with `--json`,
/// whose standard output carries the document alone.
fn say(json: bool, line: String) {
    if json {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}
