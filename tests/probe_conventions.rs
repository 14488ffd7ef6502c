//! probe-rs's ways of saying things, honoured on emulated devices (probe-rs's own code
//! against emulated silicon): `--range START..END`, `--allow-erase-all`, a force-write
//! flag, probe-rs's environment variables, and `erase` without a flag.

#![cfg(feature = "emulator")]

mod common;

use common::{catalog_hex, catalog_image, stderr, stdout};
use hexsmith::flash::emulator::{Chip, EmulatedDevice};
use hexsmith::memory::hex;
use std::path::Path;
use std::process::{Command, Output};

fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hexsmith"));
    cmd.args(args).current_dir(dir);
    for var in [
        "PROBE_RS_CHIP",
        "PROBE_RS_PROBE",
        "PROBE_RS_SPEED",
        "PROBE_RS_PROTOCOL",
        "PROBE_RS_CONNECT_UNDER_RESET",
        "PROBE_RS_CHIP_DESCRIPTION_PATH",
        "PROBE_RS_ALLOW_ERASE_ALL",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(o), stderr(o)))
}

const NRF: &[&str] = &["--emulate", "nRF52840_xxAA", "--emulate-state", "dev.hex"];

fn with<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend_from_slice(NRF);
    all
}

#[test]
fn erase_takes_probe_rs_range_syntax_and_without_a_flag_names_both() {
    let d = tempfile::tempdir().unwrap();
    let o = run(d.path(), &[], &with(&["erase", "--platform", "boron"]));
    assert_eq!(o.status.code(), Some(64));
    let err = stderr(&o);
    assert!(
        err.contains("--range START..END") && err.contains("--all"),
        "{err}"
    );
    for range in ["0xd4000..0xd6000", "0xd4000:0xd6000"] {
        let o = run(
            d.path(),
            &[],
            &with(&["erase", "--platform", "boron", "--range", range, "--json"]),
        );
        assert!(o.status.success(), "{range}: {}", stderr(&o));
        assert_eq!(
            json(&o)["units"],
            serde_json::json!([[0xD4000, 0xD5000], [0xD5000, 0xD6000]])
        );
    }
    let o = run(
        d.path(),
        &[],
        &with(&["erase", "--platform", "boron", "--range", "0xd4000-0xd6000"]),
    );
    assert_eq!(o.status.code(), Some(64));
    assert!(
        stderr(&o).contains("write START..END or START:END"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn write_unchanged_writes_every_unit_a_plain_rerun_skips() {
    let d = tempfile::tempdir().unwrap();
    catalog_hex(d.path(), "4.0.1", "boron", true);
    let flash = |extra: &[&str]| {
        let mut args = with(&["flash", "--json", "boron.hex"]);
        args.extend_from_slice(extra);
        let o = run(d.path(), &[], &args);
        assert!(o.status.success(), "{}", stderr(&o));
        let doc = json(&o);
        let report = &doc["devices"][0]["report"];
        (
            report["units_written"].as_u64().unwrap(),
            report["units_skipped"].as_u64().unwrap(),
        )
    };
    let (first, _) = flash(&[]);
    assert!(first > 100);
    assert_eq!(flash(&[]), (0, first), "a rerun skips every unit");
    assert_eq!(flash(&["--no-skip"]), (first, 0), "espflash's name");
    assert_eq!(flash(&["--write-unchanged"]), (first, 0));
}

#[test]
fn allow_erase_all_recovers_a_locked_chip_by_flag_or_environment() {
    let d = tempfile::tempdir().unwrap();
    catalog_hex(d.path(), "4.0.1", "boron", true);
    let lock = || {
        let dev = EmulatedDevice::open(Chip::Nrf52840, &d.path().join("dev.hex")).unwrap();
        dev.lock_approtect();
        dev.save().unwrap();
    };
    lock();
    let o = run(d.path(), &[], &with(&["flash", "boron.hex"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--recover") || stdout(&o).contains("--recover"));
    let o = run(
        d.path(),
        &[],
        &with(&["flash", "--allow-erase-all", "boron.hex"]),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    lock();
    let o = run(
        d.path(),
        &[("PROBE_RS_ALLOW_ERASE_ALL", "1")],
        &with(&["flash", "boron.hex"]),
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn probe_rs_environment_variables_are_honoured() {
    let d = tempfile::tempdir().unwrap();
    catalog_hex(d.path(), "4.0.1", "boron", true);
    // Each is read as its flag is: the same verdict and the same message.
    for (var, value, flag, args) in [
        (
            "PROBE_RS_SPEED",
            "0",
            "--speed",
            &["flash", "--dry-run", "boron.hex"][..],
        ),
        (
            "PROBE_RS_PROTOCOL",
            "spi",
            "--protocol",
            &["flash", "--dry-run", "boron.hex"][..],
        ),
        (
            "PROBE_RS_CHIP_DESCRIPTION_PATH",
            "missing.yaml",
            "--chip-description-path",
            &["read", "--platform", "p2", "--chip", "P2", "-o", "x.hex"][..],
        ),
    ] {
        let by_env = run(d.path(), &[(var, value)], args);
        let mut flagged = args.to_vec();
        flagged.extend([flag, value]);
        let by_flag = run(d.path(), &[], &flagged);
        assert_ne!(by_env.status.code(), Some(0), "{var}={value}");
        assert_eq!(by_env.status.code(), by_flag.status.code(), "{var}");
        let first = |o: &Output| stderr(o).lines().next().unwrap_or_default().to_string();
        if var == "PROBE_RS_CHIP_DESCRIPTION_PATH" {
            assert_eq!(first(&by_env), first(&by_flag));
            assert!(
                first(&by_env).contains("missing.yaml"),
                "{}",
                first(&by_env)
            );
        } else {
            assert_eq!(by_env.status.code(), Some(64), "{}", stderr(&by_env));
        }
    }
    // Good values are taken: the emulated device is attached and flashed with them.
    let o = run(
        d.path(),
        &[
            ("PROBE_RS_SPEED", "4000"),
            ("PROBE_RS_PROTOCOL", "SWD"),
            ("PROBE_RS_CONNECT_UNDER_RESET", "true"),
        ],
        &with(&["flash", "boron.hex"]),
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn no_probe_says_what_to_check_and_the_udev_rules_are_printed() {
    let d = tempfile::tempdir().unwrap();
    let o = run(d.path(), &[], &["reset", "--platform", "boron"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], "error: no debug probe attached");
    for fact in [
        "data cable",
        "0d28:0204",
        "--udev-rules",
        "Windows",
        "J-Link",
        "ST-LINK",
    ] {
        assert!(err.contains(fact), "{fact}: {err}");
    }
    assert!(lines[1..].iter().all(|l| l.starts_with("hint: ")), "{err}");
    let o = run(d.path(), &[], &["probes", "--udev-rules"]);
    assert!(o.status.success());
    let rules = stdout(&o);
    let rule_lines: Vec<&str> = rules
        .lines()
        .filter(|l| l.starts_with("ATTRS{idVendor}"))
        .collect();
    assert!(rule_lines.contains(
        &r#"ATTRS{idVendor}=="0d28", ATTRS{idProduct}=="0204", MODE="660", GROUP="plugdev", TAG+="uaccess""#
    ));
    assert!(
        rule_lines
            .iter()
            .any(|l| l.starts_with(r#"ATTRS{idVendor}=="1366", MODE"#))
    );
    assert!(
        rule_lines
            .iter()
            .filter(|l| l.contains(r#""0483""#))
            .count()
            >= 5
    );
    // Every line is a comment, blank, or a rule udev reads: key, operator, quoted value.
    for line in rules
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        for part in line.split(", ") {
            let ok = ["==", "!=", "+=", "="].iter().any(|op| {
                part.split_once(op)
                    .is_some_and(|(k, v)| !k.is_empty() && v.starts_with('"') && v.ends_with('"'))
            });
            assert!(ok, "{part:?} in {line:?}");
        }
    }
}

#[test]
fn verbose_shows_probe_rs_log_and_log_file_keeps_it() {
    let d = tempfile::tempdir().unwrap();
    let reset = ["reset", "--platform", "boron"];
    let quiet = run(d.path(), &[], &with(&reset));
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    assert!(!stderr(&quiet).contains("probe_rs::"), "{}", stderr(&quiet));
    let mut args = vec!["-v"];
    args.extend(with(&reset));
    let v = run(d.path(), &[], &args);
    assert!(v.status.success());
    assert!(stderr(&v).contains(" INFO probe_rs::"), "{}", stderr(&v));
    assert!(!stderr(&v).contains(" DEBUG "), "-v is info");
    let mut args = vec!["-vv"];
    args.extend(with(&reset));
    assert!(stderr(&run(d.path(), &[], &args)).contains(" DEBUG probe_rs::"));
    // RUST_LOG chooses by target.
    let r = run(
        d.path(),
        &[("RUST_LOG", "probe_rs::config=debug")],
        &with(&reset),
    );
    let err = stderr(&r);
    assert!(err.contains(" DEBUG probe_rs::config::"), "{err}");
    assert!(
        err.lines()
            .filter(|l| l.contains(" probe_rs::"))
            .all(|l| l.contains(" probe_rs::config")),
        "{err}"
    );
    let bad = run(d.path(), &[("RUST_LOG", "probe_rs=loud")], &with(&reset));
    assert_eq!(bad.status.code(), Some(64));
    // --log-file: the log goes to the file (debug by default), appended, not to stderr.
    let mut args = vec!["--log-file", "support.log"];
    args.extend(with(&reset));
    let f = run(d.path(), &[], &args);
    assert!(f.status.success());
    assert!(!stderr(&f).contains("probe_rs::"));
    let log = std::fs::read_to_string(d.path().join("support.log")).unwrap();
    assert!(
        log.lines().count() > 10 && log.contains(" DEBUG probe_rs::"),
        "{log}"
    );
    let f = run(d.path(), &[], &args);
    assert!(f.status.success());
    let again = std::fs::read_to_string(d.path().join("support.log")).unwrap();
    assert!(again.len() > log.len() && again.starts_with(&log));
    // Never over an input.
    let mut args = vec!["--log-file", "dev.hex"];
    args.extend(with(&reset));
    let refused = run(d.path(), &[], &args);
    assert_ne!(refused.status.code(), Some(0), "{}", stderr(&refused));
}

#[test]
fn inspect_of_an_emulated_device_names_its_id_and_option_bytes() {
    let d = tempfile::tempdir().unwrap();
    for (chip, release, platform, kinds) in [
        ("nRF52840_xxAA", "4.0.1", "boron", &["device-id"][..]),
        (
            "STM32F205RG",
            "2.3.1",
            "photon",
            &["device-id", "option-bytes"][..],
        ),
    ] {
        let (_, image) = catalog_image(release, platform, true);
        std::fs::write(d.path().join("image.hex"), hex::write(&image)).unwrap();
        let state = format!("{platform}-state.hex");
        let o = run(
            d.path(),
            &[],
            &[
                "flash",
                "--emulate",
                chip,
                "--emulate-state",
                &state,
                "image.hex",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let o = run(d.path(), &[], &["inspect", "--json", &state]);
        assert!(o.status.success(), "{}", stdout(&o));
        let doc = json(&o);
        let regions = doc["regions"].as_array().unwrap();
        let named: Vec<&str> = regions
            .iter()
            .map(|r| r["kind"].as_str().unwrap())
            .collect();
        assert!(!named.contains(&"unknown"), "{chip}: {named:?}");
        for kind in kinds {
            let r = regions
                .iter()
                .find(|r| r["kind"] == *kind)
                .unwrap_or_else(|| panic!("{chip}: no {kind}: {named:?}"));
            assert_eq!(r["recognized"], true);
        }
        // In words, and not marked as bytes hexsmith cannot place (the stand-in MBR is).
        let o = run(d.path(), &[], &["inspect", &state]);
        for kind in kinds {
            let text = stdout(&o);
            let line = text
                .lines()
                .find(|l| l.contains(&format!(" {kind}: ")))
                .unwrap();
            assert!(!line.ends_with("(!)"), "{line}");
        }
    }
}

#[test]
fn a_dry_run_names_the_platform_and_why() {
    let d = tempfile::tempdir().unwrap();
    catalog_hex(d.path(), "4.0.1", "boron", true);
    let o = run(
        d.path(),
        &[],
        &["flash", "--dry-run", "--chip", "nRF52840_xxAA", "boron.hex"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("platform      boron (the image's modules are for platform 13)\n"),
        "{}",
        stdout(&o)
    );
    // 16 bytes of 0xFF at 0xD4000: no module, so the platform is the chip's, assumed.
    let mut fill = hexsmith::memory::MemoryImage::new();
    fill.write(0xD4000, &[0xFF; 16]);
    std::fs::write(d.path().join("fill.hex"), hex::write(&fill)).unwrap();
    let o = run(
        d.path(),
        &[],
        &["flash", "--dry-run", "--chip", "nRF52840_xxAA", "fill.hex"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let line = text.lines().find(|l| l.starts_with("platform ")).unwrap();
    assert!(line.contains("(assumed: the image holds no module, and --chip nRF52840_xxAA is the chip of argon, boron"), "{line}");
    // The JSON says the same, and a script can tell the assumption from a named platform.
    for (file, from, basis) in [
        ("fill.hex", "chip", "assumed: the image holds no module"),
        (
            "boron.hex",
            "modules",
            "the image's modules are for platform 13",
        ),
    ] {
        let o = run(
            d.path(),
            &[],
            &[
                "flash",
                "--dry-run",
                "--json",
                "--chip",
                "nRF52840_xxAA",
                file,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(doc["platform_from"], from, "{file}: {doc}");
        let said = doc["platform_basis"].as_str().unwrap_or_default();
        assert!(said.starts_with(basis), "{file}: {said}");
    }
}
