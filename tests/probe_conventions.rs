//! probe-rs's ways of saying things, honoured on emulated devices (probe-rs's own code
//! against emulated silicon): `--range START..END`, `--allow-erase-all`, a force-write
//! flag, probe-rs's environment variables, and `erase` without a flag.

#![cfg(feature = "probe")]

mod common;

use common::{catalog_image, stderr, stdout};
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
    let (_, boron) = catalog_image("4.0.1", "boron", true);
    std::fs::write(d.path().join("boron.hex"), hex::write(&boron)).unwrap();
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
    let (_, boron) = catalog_image("4.0.1", "boron", true);
    std::fs::write(d.path().join("boron.hex"), hex::write(&boron)).unwrap();
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
    let (_, boron) = catalog_image("4.0.1", "boron", true);
    std::fs::write(d.path().join("boron.hex"), hex::write(&boron)).unwrap();
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
