//! How every command writes files: never over an input, a link, a special or read-only
//! file; staged and renamed whole, sets all or none; no temporary file outlives a run.

mod common;

use common::{build_release, device_os, hexsmith, mkfifo, one_error_line, repo, stderr};
use std::path::{Path, PathBuf};
use std::process::Command;

fn boron_modules() -> Vec<PathBuf> {
    let dir = device_os().join("particle-cli-3.6.0/updates");
    ["bootloader", "softdevice", "system-part1"]
        .iter()
        .map(|f| dir.join(format!("boron-{f}@4.0.1.bin")))
        .collect()
}

/// `build` of Boron 4.0.1 from copies of its modules in `dir`, plus `extra` arguments.
fn build_boron(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<String> = vec!["build".into(), "--allow-safe-mode".into()];
    for m in boron_modules() {
        let name = m.file_name().unwrap().to_str().unwrap().to_string();
        if !dir.join(&name).exists() {
            std::fs::copy(&m, dir.join(&name)).unwrap();
        }
        args.push(name);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    hexsmith(dir, &refs)
}

/// `build_boron` into `out`, which must be refused with one error line saying `says`.
#[track_caller]
fn build_refused(dir: &Path, out: &str, says: &str) {
    let err = one_error_line(&build_boron(dir, &["-o", out]), 1);
    assert!(err.contains(says), "{err}");
}

fn temporaries(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in walk(dir) {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with(".hexsmith-") {
            found.push(name);
        }
    }
    found
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() && !p.is_symlink() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn an_output_never_replaces_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sp = "boron-system-part1@4.0.1.bin";
    build_boron(d, &["-o", "ok.hex"]);
    let before = std::fs::read(d.join(sp)).unwrap();

    let err = one_error_line(&build_boron(d, &["-o", sp]), 1);
    assert!(err.contains("is also an input"), "{err}");
    // Another name for the same file is caught too.
    std::fs::hard_link(d.join(sp), d.join("alias.hex")).unwrap();
    build_refused(d, "alias.hex", "is also an input");
    let err = one_error_line(&build_boron(d, &["-o", "x.hex", "--manifest", sp]), 1);
    assert!(err.contains("is also an input"), "{err}");
    let err = one_error_line(&build_boron(d, &["-o", "x.hex", "--manifest", "x.hex"]), 1);
    assert!(err.contains("named twice as an output"), "{err}");
    let err = one_error_line(
        &build_boron(d, &["-o", "./x.hex", "--manifest", "x.hex"]),
        1,
    );
    assert!(err.contains("named twice as an output"), "{err}");
    assert_eq!(std::fs::read(d.join(sp)).unwrap(), before);
    assert!(!d.join("x.hex").exists());

    // replace-user: neither the base nor the application.
    let run = hexsmith(
        d,
        &[
            "replace-user",
            "--base",
            "ok.hex",
            "--user",
            sp,
            "-o",
            "ok.hex",
        ],
    );
    let err = one_error_line(&run, 1);
    assert!(err.contains("ok.hex: is also an input"), "{err}");
    assert!(temporaries(d).is_empty());
}

#[cfg(unix)]
#[test]
fn links_special_and_read_only_files_are_not_replaced() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("target.hex"), b"keep\n").unwrap();
    symlink("target.hex", d.join("link.hex")).unwrap();
    build_refused(d, "link.hex", "link.hex: is a symbolic link");
    assert!(
        std::fs::symlink_metadata(d.join("link.hex"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(d.join("target.hex")).unwrap(), b"keep\n");

    mkfifo(&d.join("pipe.hex"));
    build_refused(d, "pipe.hex", "pipe.hex: is a named pipe");
    build_refused(d, "/dev/null", "/dev/null: is a device node");

    std::fs::write(d.join("ro.hex"), b"read-only\n").unwrap();
    std::fs::set_permissions(d.join("ro.hex"), std::fs::Permissions::from_mode(0o444)).unwrap();
    build_refused(d, "ro.hex", "ro.hex: is read-only");
    assert_eq!(std::fs::read(d.join("ro.hex")).unwrap(), b"read-only\n");

    // A writable file is replaced and keeps its mode.
    std::fs::write(d.join("mine.hex"), b"old\n").unwrap();
    std::fs::set_permissions(d.join("mine.hex"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = build_boron(d, &["-o", "mine.hex"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let meta = std::fs::metadata(d.join("mine.hex")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(meta.len() > 100_000);
    assert!(temporaries(d).is_empty());
}

#[test]
fn out_dir_naming_a_file_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("out"), b"a file\n").unwrap();
    let err = one_error_line(&build_release(d, "4.0.1", "out", &[]), 1);
    assert!(
        err.ends_with("out: is a file, not a folder: give --out-dir a folder (new or existing)"),
        "{err}"
    );
}

/// A set stops at its first failure with nothing renamed: the previous set stays whole.
#[cfg(unix)]
#[test]
fn a_failed_catalog_build_leaves_the_previous_set_whole() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = build_release(d, "2.2.0", "out", &[]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let snapshot = |d: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut files: Vec<_> = walk(&d.join("out"))
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(&p).unwrap();
                (p, bytes)
            })
            .collect();
        files.sort();
        files
    };
    let before = snapshot(d);
    // The last platform's manifest cannot be replaced: the run fails after staging the others.
    let last = before.last().unwrap().0.clone();
    std::fs::set_permissions(&last, std::fs::Permissions::from_mode(0o444)).unwrap();
    let run = build_release(d, "4.0.1", "out", &[]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert_eq!(snapshot(d), before, "the 2.2.0 set must be untouched");
    assert!(temporaries(d).is_empty());
}

/// Two catalog builds of different releases into one folder at once: afterwards every
/// manifest names one release, and every image is the one its manifest describes.
#[test]
fn concurrent_catalog_builds_never_mix_their_sets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin = env!("CARGO_BIN_EXE_hexsmith");
    for round in 0..4 {
        let runs: Vec<_> = ["2.2.0", "4.0.1"]
            .iter()
            .map(|r| {
                Command::new(bin)
                    .args(["build", "--catalog"])
                    .arg(repo().join(format!("restore-images/{r}.toml")))
                    .arg("--from")
                    .arg(device_os())
                    .args(["--out-dir", "out"])
                    .current_dir(d)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut r in runs {
            assert!(r.wait().unwrap().success());
        }
        let mut releases = std::collections::BTreeSet::new();
        for json in walk(&d.join("out"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
        {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
            releases.insert(v["release"].as_str().unwrap().to_string());
            let hex = json.with_extension("hex");
            let img = hexsmith::input::read(&hex).unwrap();
            let hexsmith::input::Input::Image { image, .. } = img else {
                panic!("{} is not an image", hex.display())
            };
            assert_eq!(
                hex::encode(image.sha256()),
                v["sha256"].as_str().unwrap(),
                "round {round}: {} is not the image {} describes",
                hex.display(),
                json.display()
            );
        }
        // Platforms only 4.0.1 has stay from its run; those both have must agree.
        assert!(!releases.is_empty());
    }
    assert!(temporaries(d).is_empty());
}

/// A run killed with SIGKILL leaves its temporary file; the next write into that folder
/// removes it, and leaves a live run's alone. Live is what the file's lock says, not the
/// PID in its name: a run in another PID namespace (two containers sharing a volume) may
/// carry any PID, a dead one included, and a stale file may carry a running one.
#[cfg(unix)]
#[test]
fn stale_temporaries_are_told_by_their_lock_not_their_pid() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut child = Command::new("sleep").arg("0").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let stale = d.join(format!(".hexsmith-{dead_pid}-abcdef.tmp"));
    std::fs::write(&stale, vec![0u8; 1000]).unwrap();
    // A PID that runs (this test's), on a file no one holds: stale all the same.
    let stale_live_pid = d.join(format!(".hexsmith-{}-ghijkl.tmp", std::process::id()));
    std::fs::write(&stale_live_pid, b"left by a killed run").unwrap();
    // A dead PID on a file held locked: another namespace's live build.
    let live = d.join(format!(".hexsmith-{dead_pid}-mnopqr.tmp"));
    std::fs::write(&live, b"in use").unwrap();
    let held = std::fs::File::open(&live).unwrap();
    held.lock().unwrap();
    let run = build_boron(d, &["-o", "out.hex"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(!stale.exists(), "a dead run's temporary file stays");
    assert!(
        !stale_live_pid.exists(),
        "an unlocked temporary file stays because its PID runs"
    );
    assert!(
        live.exists(),
        "a live run's (locked) temporary file was removed"
    );
    drop(held);
}

/// Past `ulimit -f`, the write fails with a one-line error and no temporary file.
#[cfg(unix)]
#[test]
fn a_file_size_limit_fails_the_write_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    build_boron(d, &["-o", "first.hex"]);
    let bin = env!("CARGO_BIN_EXE_hexsmith");
    let mods: Vec<String> = boron_modules()
        .iter()
        .map(|m| m.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // 2,000 blocks of 512 bytes: the modules are read, the 1.3 MB hex cannot be written.
    let script = format!(
        "ulimit -f 2000; exec {bin} build --allow-safe-mode {} -o out.hex",
        mods.join(" ")
    );
    let run = Command::new("sh")
        .args(["-c", &script])
        .current_dir(d)
        .output()
        .unwrap();
    let err = one_error_line(&run, 2);
    assert!(err.contains("out.hex"), "{err}");
    assert!(!d.join("out.hex").exists());
    assert!(temporaries(d).is_empty(), "{:?}", temporaries(d));
}

/// SIGINT or SIGTERM at any moment of a catalog build: the folder holds the previous set
/// or the new one, and no temporary file.
#[cfg(unix)]
#[test]
fn signals_leave_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin = env!("CARGO_BIN_EXE_hexsmith");
    let catalog = repo().join("restore-images/4.0.1.toml");
    let mut interrupted = 0;
    for (i, delay_ms) in (0..60).step_by(3).enumerate() {
        let child = Command::new(bin)
            .args(["build", "--catalog"])
            .arg(&catalog)
            .arg("--from")
            .arg(device_os())
            .args(["--out-dir", "out"])
            .current_dir(d)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let signal = if i % 2 == 0 { "-INT" } else { "-TERM" };
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        let out = child.wait_with_output().unwrap();
        if out.status.code() == Some(130) {
            interrupted += 1;
        }
        assert!(
            temporaries(d).is_empty(),
            "after {signal} at {delay_ms} ms: {:?}",
            temporaries(d)
        );
    }
    assert!(
        interrupted > 0,
        "no run was interrupted: the test proves nothing"
    );
}

/// A library caller gets an `OutputSet` without an error to handle. An input that does not
/// exist yet (an emulator state a command will create) is guarded by its folder and
/// name: an output named so would become that file.
#[test]
fn an_output_set_is_made_without_failing_and_guards_its_inputs() {
    use hexsmith::output::{OutputError, OutputSet};
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.hex");
    std::fs::write(&input, ":00000001FF\n").unwrap();
    let missing = dir.path().join("missing.bin");
    let set: OutputSet = OutputSet::new([input.as_path(), missing.as_path()]);
    let refused = set.check(&dir.path().join(".").join("in.hex")).unwrap_err();
    assert!(matches!(refused, OutputError::IsInput { .. }), "{refused}");
    let refused = set
        .check(&dir.path().join(".").join("missing.bin"))
        .unwrap_err();
    assert!(matches!(refused, OutputError::IsInput { .. }), "{refused}");
    set.check(&dir.path().join("out.hex")).unwrap();
}
