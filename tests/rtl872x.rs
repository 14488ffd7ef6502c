//! The RTL872x (P2, Photon 2, M-SoM, Tracker M) programmed through Particle's own RAM
//! flash loader, on an emulated RTL8721DM whose KM0 executes that loader. The loader is
//! Particle's (LGPL-3.0) and not in this repository: these tests read it from
//! HEXSMITH_RTL872X_LOADER or ../shared/fixtures/rtl872x.tcl, and are ignored (counted
//! and named as skipped by `scripts/test`) where neither exists.

#![cfg(feature = "emulator")]

mod common;

use common::{read_real, relocated, stderr, stdout};
use hexsmith::compose::{BuildOptions, ModuleInput, build};
use hexsmith::flash::emulator::{Chip, EmulatedDevice};
use hexsmith::memory::{MemoryImage, hex};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NEEDS_LOADER: &str = "needs Particle's RTL872x flash loader: set HEXSMITH_RTL872X_LOADER or provide ../shared/fixtures/rtl872x.tcl";

fn loader() -> PathBuf {
    std::env::var_os("HEXSMITH_RTL872X_LOADER")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join("../shared/fixtures/rtl872x.tcl"))
}

/// Runs hexsmith in `dir` with the loader named on the command line, and no loader from
/// the environment.
fn run(dir: &Path, args: &[&str]) -> Output {
    let loader = loader();
    Command::new(env!("CARGO_BIN_EXE_hexsmith"))
        .args(args)
        .args(["--rtl872x-loader", loader.to_str().unwrap()])
        .env_remove("HEXSMITH_RTL872X_LOADER")
        .current_dir(dir)
        .output()
        .expect("hexsmith runs")
}

/// Runs hexsmith with no loader at all.
fn run_without_loader(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hexsmith"))
        .args(args)
        .env_remove("HEXSMITH_RTL872X_LOADER")
        .current_dir(dir)
        .output()
        .expect("hexsmith runs")
}

fn tinker() -> Vec<u8> {
    read_real("particle-cli-3.51.0/knownApps/p2/tinker/tinker-5.0.0-p2.bin")
}

/// The P2 image: the published 6.4.1 layout's modules, forged and re-sealed at their
/// addresses, and the real P2 Tinker from particle-cli 3.51.0, built by hexsmith.
fn p2_image() -> MemoryImage {
    let body = read_real("particle-cli-3.6.0/updates/boron-system-part1@4.0.1.bin");
    let tinker = tinker();
    let mut inputs: Vec<ModuleInput> = common::p2::P2_6_4_1
        .iter()
        .map(|r| {
            ModuleInput::from_bytes(
                format!("{:#x}", r.start),
                common::p2::forge(r, &body[0x200..], &tinker),
            )
            .unwrap()
        })
        .collect();
    inputs.push(ModuleInput::from_bytes("tinker", tinker).unwrap());
    build(inputs, &BuildOptions::default()).unwrap().image
}

fn flash_json(dir: &Path, image: &str, state: &str) -> (Output, Value) {
    let out = on_device(dir, state, &["flash", "--json", "--no-progress", image]);
    let v: Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&out), stderr(&out)));
    (out, v)
}

fn device(v: &Value) -> &Value {
    &v["devices"][0]
}

fn state_image(path: &Path) -> MemoryImage {
    hex::parse(&std::fs::read(path).unwrap()).unwrap().0
}

/// Runs `args` with the loader on the emulated RTL8721DM whose state file is `state`.
fn on_device(dir: &Path, state: &str, args: &[&str]) -> Output {
    run(
        dir,
        &[args, &["--emulate", "RTL8721DM", "--emulate-state", state]].concat(),
    )
}

/// The Wi-Fi MAC of the emulated RTL8721DM of `state`: its bytes, and as text.
fn mac_of(dir: &Path, state: &str) -> (Vec<u8>, String) {
    let mac = EmulatedDevice::open(Chip::Rtl8721dm, &dir.join(state))
        .unwrap()
        .device_id_bytes();
    let text = mac
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    (mac, text)
}

/// A folder holding the P2 Tinker (`tinker.bin`) and an emulated RTL8721DM (`dev.hex`)
/// it was flashed onto through the loader.
fn device_with_tinker() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("tinker.bin"), tinker()).unwrap();
    let flash = on_device(d, "dev.hex", &["flash", "--no-progress", "tinker.bin"]);
    assert_eq!(flash.status.code(), Some(0), "{}", stderr(&flash));
    dir
}

#[test]
#[cfg_attr(
    not(rtl872x_loader),
    ignore = "needs Particle's RTL872x flash loader: set HEXSMITH_RTL872X_LOADER or provide ../shared/fixtures/rtl872x.tcl"
)]
fn a_p2_image_flashes_then_costs_nothing_and_a_new_application_rewrites_only_its_sectors() {
    let _ = NEEDS_LOADER;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let image = p2_image();
    std::fs::write(d.join("p2.hex"), hex::write(&image)).unwrap();

    let (out, first) = flash_json(d, "p2.hex", "dev.hex");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first = device(&first);
    assert_eq!(first["result"], "ok", "{first}");
    assert!(
        first["report"]["units_written"].as_u64().unwrap() > 300,
        "{first}"
    );
    // The loader said each unit was blank already: nothing was erased (each sector
    // would have cost 50 ms).
    assert_eq!(first["report"]["wire"]["bytes_erased"], 0, "{first}");
    // The state holds every byte of the image.
    let state = state_image(&d.join("dev.hex"));
    for seg in image.segments() {
        assert_eq!(
            state.read(u64::from(seg.start), seg.data.len()),
            Some(&seg.data[..]),
            "segment at {:#x}",
            seg.start
        );
    }
    // hexsmith inspect reads the state and recognises the modules.
    let inspect = common::hexsmith(d, &["inspect", "dev.hex"]);
    let text = stdout(&inspect);
    for module in [
        "bootloader 0",
        "bootloader 2",
        "system-part 1",
        "user-part 1",
    ] {
        assert!(
            text.contains(&format!("module {module}")),
            "{module}: {text}"
        );
    }
    assert!(text.contains("platform 32 (p2)"), "{text}");
    let bytes = image.len();
    let transfers = first["report"]["wire"]["transfers"].as_u64().unwrap();
    eprintln!("whole P2 image: {bytes} bytes, {transfers} transfers");
    assert!(
        transfers as f64 <= bytes as f64 / 4.0 * 1.15,
        "{transfers} transfers"
    );

    // The same image again writes nothing.
    let (out, again) = flash_json(d, "p2.hex", "dev.hex");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let again = device(&again);
    assert_eq!(again["report"]["units_written"], 0, "{again}");
    assert_eq!(again["report"]["wire"]["bytes_programmed"], 0, "{again}");
    let unchanged = again["report"]["wire"]["transfers"].as_u64().unwrap();
    eprintln!("same image again: {unchanged} transfers");
    assert!(
        unchanged as f64 <= bytes as f64 / 4.0 * 1.15 / 20.0,
        "{unchanged} transfers"
    );
    // One question for each run of sectors past its first, not one per 4 KiB sector
    // (which took 18,044 transfers here, more than a thirtieth of the whole write).
    assert!(
        unchanged * 30 < transfers,
        "{unchanged} of {transfers} transfers"
    );

    // A new application (moved 4 KiB left and re-sealed) rewrites only its sectors.
    let app = relocated(&tinker(), 0x085F_3000);
    let mut with_app = image.clone();
    with_app.write(0x085F_3000, &app);
    std::fs::write(d.join("app.hex"), hex::write(&with_app)).unwrap();
    let (out, new_app) = flash_json(d, "app.hex", "dev.hex");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let new_app = device(&new_app);
    let written: Vec<u64> = new_app["report"]["written"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w[0].as_u64().unwrap())
        .collect();
    assert!(!written.is_empty());
    assert!(
        written
            .iter()
            .all(|a| (0x085F_3000..0x0860_0000).contains(a)),
        "{written:x?}"
    );
    let app_transfers = new_app["report"]["wire"]["transfers"].as_u64().unwrap();
    eprintln!("new application: {app_transfers} transfers");
    assert!(
        app_transfers as f64 <= bytes as f64 / 4.0 * 1.15 / 4.0,
        "{app_transfers}"
    );
}

#[test]
#[cfg_attr(
    not(rtl872x_loader),
    ignore = "needs Particle's RTL872x flash loader: set HEXSMITH_RTL872X_LOADER or provide ../shared/fixtures/rtl872x.tcl"
)]
fn verify_names_the_unit_with_a_corrupted_byte_and_flash_repairs_it() {
    let dir = device_with_tinker();
    let d = dir.path();
    // One byte of the application changes on the device.
    let mut state = state_image(&d.join("dev.hex"));
    let at = 0x085F_5123u64;
    let byte = state.read(at, 1).unwrap()[0];
    state.write(at as u32, &[!byte]);
    std::fs::write(d.join("dev.hex"), hex::write(&state)).unwrap();

    let verify = on_device(d, "dev.hex", &["verify", "--json", "tinker.bin"]);
    assert_eq!(verify.status.code(), Some(1), "{}", stderr(&verify));
    let v: Value = serde_json::from_str(&stdout(&verify)).unwrap();
    let text = v.to_string();
    assert!(text.contains(&(0x085F_5000u64).to_string()), "{text}");
    assert!(text.contains(&at.to_string()), "{text}");

    let (out, repaired) = flash_json(d, "tinker.bin", "dev.hex");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = &repaired["devices"][0]["report"]["written"];
    assert_eq!(
        written.to_string(),
        format!("[[{},{}]]", 0x085F_5000u32, 0x085F_6000u32)
    );
    let verify = on_device(d, "dev.hex", &["verify", "tinker.bin"]);
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
}

#[test]
#[cfg_attr(
    not(rtl872x_loader),
    ignore = "needs Particle's RTL872x flash loader: set HEXSMITH_RTL872X_LOADER or provide ../shared/fixtures/rtl872x.tcl"
)]
fn refusals_come_before_anything_is_sent() {
    let dir = device_with_tinker();
    let d = dir.path();
    let before = std::fs::read(d.join("dev.hex")).unwrap();

    // An image with bytes in the prebootloader-mbr.
    let mut mbr = MemoryImage::new();
    mbr.write(0x0800_1000, &[0x12; 16]);
    mbr.write(0x085F_4000, &tinker());
    std::fs::write(d.join("mbr.hex"), hex::write(&mbr)).unwrap();
    let bin = d.join("other.bin");
    std::fs::write(&bin, [0x55u8; 256]).unwrap();
    let cases: Vec<(Vec<&str>, &str, Option<i32>)> = vec![
        (
            vec!["flash", "--chip-erase", "tinker.bin"],
            "refusing a chip erase",
            Some(1),
        ),
        (vec!["erase", "--all"], "erase --all: refused", Some(1)),
        (
            vec!["erase", "--range", "0x08000000:0x08004000"],
            "never erases it",
            Some(1),
        ),
        (vec!["flash", "mbr.hex"], "prebootloader-mbr", Some(1)),
    ];
    for (args, says, code) in cases {
        let out = on_device(d, "dev.hex", &args);
        assert_eq!(out.status.code(), code, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("device 0a10aced"),
            "{args:?} connected: {}",
            stderr(&out)
        );
    }
    // No loader, and an unknown one.
    let device = ["--emulate", "RTL8721DM", "--emulate-state", "dev.hex"];
    let out = run_without_loader(d, &[&["flash"][..], &device, &["tinker.bin"]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(said.contains("scripts/rtl872x.tcl"), "{said}");
    let out = run_without_loader(
        d,
        &[
            &["flash", "--rtl872x-loader", bin.to_str().unwrap()][..],
            &device,
            &["tinker.bin"],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unknown RTL872x flash loader"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(d.join("dev.hex")).unwrap(),
        before,
        "the device is unchanged"
    );
}

#[test]
#[cfg_attr(
    not(rtl872x_loader),
    ignore = "needs Particle's RTL872x flash loader: set HEXSMITH_RTL872X_LOADER or provide ../shared/fixtures/rtl872x.tcl"
)]
fn a_protected_device_gets_the_three_causes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("tinker.bin"), tinker()).unwrap();
    let protected = EmulatedDevice::open(Chip::Rtl8721dm, &d.join("dev.hex")).unwrap();
    protected.close_swd();
    protected.save().unwrap();
    let out = on_device(d, "dev.hex", &["flash", "tinker.bin"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    for cause in [
        "Device Protection",
        "Service Mode",
        "external power",
        "wiring",
    ] {
        assert!(all.contains(cause), "{cause}: {all}");
    }
}

#[test]
#[cfg_attr(
    not(rtl872x_loader),
    ignore = "needs Particle's RTL872x flash loader: set HEXSMITH_RTL872X_LOADER or provide ../shared/fixtures/rtl872x.tcl"
)]
fn a_loader_with_one_instruction_changed_fails() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("tinker.bin"), tinker()).unwrap();
    let good = hexsmith::flash::rtl872x::loader::load(&loader(), false).unwrap();
    // At 0x000822A4 the write command's loop sets FLASH_TxData12B's length: `movs r1, #8`.
    // Made `movs r1, #4`, every other word of the data is never programmed.
    let mut broken = good.bytes.clone();
    assert_eq!(broken[0x2A4..0x2A6], [0x08, 0x21]);
    broken[0x2A4] = 0x04;
    std::fs::write(d.join("broken.bin"), &broken).unwrap();
    let out = run_without_loader(
        d,
        &[
            "flash",
            "--no-progress",
            "--rtl872x-loader",
            "broken.bin",
            "--allow-unknown-loader",
            "--emulate",
            "RTL8721DM",
            "--emulate-state",
            "dev.hex",
            "tinker.bin",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("FAILED") || stderr(&out).contains("verify"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // The same run with the real loader passes.
    let out = on_device(d, "good.hex", &["flash", "--no-progress", "tinker.bin"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
#[cfg_attr(
    not(rtl872x_loader),
    ignore = "needs Particle's RTL872x flash loader: set HEXSMITH_RTL872X_LOADER or provide ../shared/fixtures/rtl872x.tcl"
)]
fn the_mac_is_in_the_text_the_json_and_a_station_of_three_m_soms() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // An M-SoM application: the P2 Tinker as platform 35.
    let mut app = tinker();
    app[12..14].copy_from_slice(&35u16.to_le_bytes());
    hexsmith::module::seal(&mut app).unwrap();
    std::fs::write(d.join("msom.bin"), &app).unwrap();
    let mut args = vec![
        "flash",
        "--station",
        "--poll-ms",
        "0",
        "--emulate",
        "RTL8721DM",
    ];
    for state in ["a.hex", "b.hex", "c.hex"] {
        args.extend(["--emulate-state", state]);
    }
    args.extend(["--log", "line.jsonl", "msom.bin"]);
    let out = run(d, &args);
    let text = stdout(&out);
    let verdicts: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| ["PASS", "FAIL"].contains(w))
        .collect();
    assert_eq!(
        verdicts,
        ["PASS", "PASS", "PASS"],
        "{text}\n{}",
        stderr(&out)
    );
    let lines: Vec<Value> = std::fs::read_to_string(d.join("line.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for (line, state) in lines.iter().zip(["a.hex", "b.hex", "c.hex"]) {
        let (mac, mac_text) = mac_of(d, state);
        assert_eq!(line["mac"], mac_text.as_str(), "{line}");
        assert_eq!(
            line["device_id"],
            format!("0a10aced2021{}", hex_lower(&mac)),
            "{line}"
        );
    }
    // One device, text and JSON.
    let out = on_device(d, "a.hex", &["flash", "--no-progress", "msom.bin"]);
    let (_, mac_text) = mac_of(d, "a.hex");
    assert!(
        format!("{}{}", stdout(&out), stderr(&out)).contains(&mac_text),
        "{}",
        stdout(&out)
    );
    let (_, v) = flash_json(d, "msom.bin", "a.hex");
    assert_eq!(v["devices"][0]["mac"], mac_text.as_str(), "{v}");
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
#[cfg_attr(
    not(rtl872x_loader),
    ignore = "needs Particle's RTL872x flash loader: set HEXSMITH_RTL872X_LOADER or provide ../shared/fixtures/rtl872x.tcl"
)]
fn read_erase_reset_and_inspect_go_through_the_loader() {
    let dir = device_with_tinker();
    let d = dir.path();
    let app = tinker();

    // read: the application's bytes, through the loader's read command.
    let read = on_device(
        d,
        "dev.hex",
        &[
            "read",
            "--platform",
            "p2",
            "--range",
            "0x085f4000:0x08600000",
            "-o",
            "back.hex",
        ],
    );
    assert_eq!(read.status.code(), Some(0), "{}", stderr(&read));
    let back = state_image(&d.join("back.hex"));
    assert_eq!(back.read(0x085F_4000, app.len()), Some(&app[..]));

    // inspect --probe on the emulated chip recognises the application.
    let inspect = on_device(d, "dev.hex", &["inspect", "--platform", "p2"]);
    assert!(
        stdout(&inspect).contains("module user-part 1"),
        "{}{}",
        stdout(&inspect),
        stderr(&inspect)
    );

    // erase --range: one sector erased, the others kept.
    let erase = on_device(
        d,
        "dev.hex",
        &[
            "erase",
            "--platform",
            "p2",
            "--range",
            "0x085f4000:0x085f5000",
        ],
    );
    assert_eq!(erase.status.code(), Some(0), "{}", stderr(&erase));
    let state = state_image(&d.join("dev.hex"));
    assert_eq!(
        state.read(0x085F_4000, 16),
        None,
        "the erased sector is blank"
    );
    assert_eq!(state.read(0x085F_5000, 16), Some(&app[0x1000..0x1010]));

    // reset: the script's finish, the watchdog reset.
    let reset = on_device(d, "dev.hex", &["reset", "--platform", "p2", "--json"]);
    assert_eq!(reset.status.code(), Some(0), "{}", stderr(&reset));
}
