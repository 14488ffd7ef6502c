//! Issue 18: the rules for outputs hold for every file hexsmith touches (the `--log`, man
//! pages, emulator states), bounds hold for every file it reads and for a command's total
//! work, unrelated files under `--from` break nothing, and names, exit statuses and
//! signals are as README says.

mod common;

#[cfg(feature = "emulator")]
use common::emulated::run_on;
#[cfg(feature = "probe")]
use common::stdout;
use common::{build_catalog, device_os, hexsmith, make_read_only, mkfifo, real, repo, stderr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The one line on standard error, checked to be one line with the exit status `code`.
#[track_caller]
fn one_error_line(run: &std::process::Output, code: i32) -> String {
    let err = stderr(run);
    assert_eq!(run.status.code(), Some(code), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    lines[0].to_string()
}

/// The one error line of `run`, which exited with `code` and says `part` there.
#[track_caller]
fn refused_saying(run: &std::process::Output, code: i32, part: &str) {
    let line = one_error_line(run, code);
    assert!(line.contains(part), "{line}");
}

fn tinker() -> PathBuf {
    real("particle-cli-3.6.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin")
}

#[cfg(feature = "probe")]
/// A folder holding the Boron Tinker as `app.bin`, a small module to flash quickly.
fn dir_with_app() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(tinker(), dir.path().join("app.bin")).unwrap();
    dir
}

#[cfg(feature = "emulator")]
/// The same, with `app.bin` flashed onto the emulated nRF52840 of `dev.hex`.
fn dir_with_flashed_app() -> tempfile::TempDir {
    let dir = dir_with_app();
    let run = flash_app(dir.path(), "dev.hex", &[]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    dir
}

#[cfg(feature = "emulator")]
const NRF: [&str; 2] = ["--emulate", "nRF52840_xxAA"];

#[cfg(feature = "emulator")]
/// `flash app.bin` onto an emulated nRF52840 whose state is `state`, plus `extra`.
fn flash_app(dir: &Path, state: &str, extra: &[&str]) -> std::process::Output {
    let args = [&["flash", "app.bin", "--no-progress"][..], extra].concat();
    run_on(dir, "nRF52840_xxAA", state, &args)
}

#[cfg(feature = "emulator")]
#[test]
fn a_log_is_never_an_input_a_link_or_read_only_and_is_checked_before_work() {
    let dir = dir_with_app();
    let d = dir.path();
    let app = d.join("app.bin");
    let before = std::fs::read(&app).unwrap();
    // The log named as the image itself.
    let run = flash_app(d, "dev.hex", &["--log", "app.bin"]);
    refused_saying(&run, 1, "app.bin: is also an input");
    assert_eq!(
        std::fs::read(&app).unwrap(),
        before,
        "the image was appended to"
    );
    assert!(
        !d.join("dev.hex").exists(),
        "the device was flashed before the refusal"
    );
    // The log named as the emulator's state.
    let run = flash_app(d, "dev.hex", &["--log", "dev.hex"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    // A link to the image.
    std::os::unix::fs::symlink("app.bin", d.join("link.jsonl")).unwrap();
    let run = flash_app(d, "dev.hex", &["--log", "link.jsonl"]);
    refused_saying(&run, 1, "link.jsonl: is a symbolic link");
    assert_eq!(std::fs::read(&app).unwrap(), before);
    // A read-only log.
    std::fs::write(d.join("ro.jsonl"), "{\"kept\":1}\n").unwrap();
    make_read_only(&d.join("ro.jsonl"));
    let run = flash_app(d, "dev.hex", &["--log", "ro.jsonl"]);
    refused_saying(&run, 1, "ro.jsonl: is read-only");
    assert!(
        !d.join("dev.hex").exists(),
        "work was done before the refusal"
    );
    // A named pipe: refused at once, not waited on.
    let fifo = d.join("fifo.jsonl");
    mkfifo(&fifo);
    let run = flash_app(d, "dev.hex", &["--log", "fifo.jsonl"]);
    refused_saying(&run, 1, "is a named pipe");
}

/// A log line that does not fit (`ulimit -f`, as a full disk) is taken back whole: the
/// file keeps exactly its earlier lines, and the next run's line starts a line of its own.
#[cfg(feature = "emulator")]
#[test]
fn a_failed_log_append_leaves_no_half_line() {
    let dir = dir_with_app();
    let d = dir.path();
    // 1000 bytes of earlier lines: under a 1 KiB limit, no new line fits.
    let earlier = format!("{}\n", "x".repeat(999));
    std::fs::write(d.join("log.jsonl"), &earlier).unwrap();
    let bin = env!("CARGO_BIN_EXE_hexsmith");
    let run = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -f 1; exec {bin} flash app.bin --no-progress --emulate nRF52840_xxAA --log log.jsonl"
        ))
        .current_dir(d)
        .output()
        .unwrap();
    assert_ne!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("log.jsonl: cannot write the log"),
        "{}",
        stderr(&run)
    );
    assert_eq!(
        std::fs::read_to_string(d.join("log.jsonl")).unwrap(),
        earlier,
        "a half line was left"
    );
    let run = hexsmith(
        d,
        &[
            "flash",
            "app.bin",
            "--no-progress",
            "--emulate",
            "nRF52840_xxAA",
            "--log",
            "log.jsonl",
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let text = std::fs::read_to_string(d.join("log.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let line: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(line["result"], "ok");
}

#[cfg(unix)]
#[test]
fn man_pages_follow_no_link_replace_no_read_only_page_wait_on_no_pipe_and_are_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = hexsmith(d, &["man", "--out-dir", "man"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let page = d.join("man/hexsmith-build.1");
    let first = std::fs::read(&page).unwrap();
    // Atomic: the page is replaced by a new file, so another name for the old one keeps it.
    std::fs::hard_link(&page, d.join("old-build.1")).unwrap();
    std::fs::write(&page, b"stale page").unwrap();
    let run = hexsmith(d, &["man", "--out-dir", "man"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(std::fs::read(&page).unwrap(), first);
    assert_eq!(std::fs::read(d.join("old-build.1")).unwrap(), b"stale page");
    // A link to a file outside: refused, its target untouched, no page written.
    std::fs::write(d.join("precious"), b"keep me").unwrap();
    std::fs::remove_file(d.join("man/hexsmith-read.1")).unwrap();
    std::os::unix::fs::symlink(d.join("precious"), d.join("man/hexsmith-read.1")).unwrap();
    std::fs::remove_file(&page).unwrap();
    let run = hexsmith(d, &["man", "--out-dir", "man"]);
    refused_saying(&run, 1, "hexsmith-read.1: is a symbolic link");
    assert_eq!(std::fs::read(d.join("precious")).unwrap(), b"keep me");
    assert!(!page.exists(), "part of the set was written");
    std::fs::remove_file(d.join("man/hexsmith-read.1")).unwrap();
    // A read-only page.
    let ro = d.join("man/hexsmith-flash.1");
    make_read_only(&ro);
    let run = hexsmith(d, &["man", "--out-dir", "man"]);
    refused_saying(&run, 1, "hexsmith-flash.1: is read-only");
    std::fs::remove_file(&ro).unwrap();
    // A named pipe: refused at once.
    std::fs::remove_file(d.join("man/hexsmith-erase.1")).unwrap();
    mkfifo(&d.join("man/hexsmith-erase.1"));
    let started = Instant::now();
    let run = hexsmith(d, &["man", "--out-dir", "man"]);
    refused_saying(&run, 1, "hexsmith-erase.1: is a named pipe");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[cfg(feature = "emulator")]
#[test]
fn a_state_that_cannot_be_saved_is_refused_before_any_work() {
    let dir = dir_with_flashed_app();
    let d = dir.path();
    let saved = std::fs::read(d.join("dev.hex")).unwrap();
    // Read-only: verify prints one refusal document, not "the device holds the image"
    // and then a second document.
    make_read_only(&d.join("dev.hex"));
    let run = run_on(
        d,
        "nRF52840_xxAA",
        "dev.hex",
        &["verify", "app.bin", "--json", "--no-progress"],
    );
    refused_saying(&run, 1, "dev.hex: is read-only");
    let doc: serde_json::Value = serde_json::from_str(&stdout(&run)).expect("one document");
    assert_eq!(doc["error"]["kind"], "refused");
    let run = flash_app(d, "dev.hex", &[]);
    one_error_line(&run, 1);
    // A link to a state: refused, the state it points to unchanged.
    std::os::unix::fs::symlink("dev.hex", d.join("link.hex")).unwrap();
    let run = flash_app(d, "link.hex", &["--chip-erase"]);
    refused_saying(&run, 1, "link.hex: is a symbolic link");
    assert_eq!(std::fs::read(d.join("dev.hex")).unwrap(), saved);
}

/// verify, read and reset leave the state file as it was, byte and inode; a usage error
/// creates none; `read -o X --emulate-state X` is refused.
#[cfg(feature = "emulator")]
#[test]
fn read_only_commands_and_usage_errors_leave_states_alone() {
    use std::os::unix::fs::MetadataExt;
    let dir = dir_with_flashed_app();
    let d = dir.path();
    let state = d.join("dev.hex");
    let bytes = std::fs::read(&state).unwrap();
    let inode = std::fs::metadata(&state).unwrap().ino();
    let device = |command: &[&str]| {
        run_on(
            d,
            "nRF52840_xxAA",
            "dev.hex",
            &[command, &["--no-progress"]].concat(),
        )
    };
    for command in [
        &["verify", "app.bin"][..],
        &[
            "read",
            "--platform",
            "boron",
            "--range",
            "0xD4000:0xD5000",
            "-o",
            "r.hex",
        ],
        &["reset", "--platform", "boron"],
    ] {
        let run = device(command);
        assert_eq!(run.status.code(), Some(0), "{command:?}: {}", stderr(&run));
        assert_eq!(std::fs::read(&state).unwrap(), bytes, "{command:?}");
        assert_eq!(
            std::fs::metadata(&state).unwrap().ino(),
            inode,
            "{command:?} rewrote it"
        );
    }
    // A new state, only read: not created.
    let run = run_on(
        d,
        "nRF52840_xxAA",
        "new.hex",
        &["verify", "app.bin", "--no-progress"],
    );
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(!d.join("new.hex").exists(), "verify created a state");
    // Usage errors.
    let run = run_on(
        d,
        "nRF52840_xxAA",
        "new.hex",
        &[
            "read",
            "--platform",
            "boron",
            "--range",
            "nonsense",
            "-o",
            "r2.hex",
        ],
    );
    one_error_line(&run, 64);
    assert!(!d.join("new.hex").exists(), "a usage error created a state");
    // Output and state the same file.
    let run = device(&["read", "--platform", "boron", "-o", "dev.hex"]);
    refused_saying(&run, 1, "dev.hex: is also an input");
    assert_eq!(std::fs::read(&state).unwrap(), bytes);
    // The image and the state the same file.
    let run = run_on(
        d,
        "nRF52840_xxAA",
        "app.bin",
        &["flash", "app.bin", "--no-progress"],
    );
    refused_saying(&run, 1, "app.bin: is also an input");
    assert_eq!(
        std::fs::read(d.join("app.bin")).unwrap(),
        std::fs::read(tinker()).unwrap()
    );
}

/// Unknown chip 64; a state or chip description that is not one, or too large to be one,
/// 2 and at once; /dev/zero as a state is refused before it is read.
#[cfg(feature = "emulator")]
#[test]
fn emulator_inputs_exit_as_readme_says_and_are_bounded() {
    let dir = dir_with_app();
    let d = dir.path();
    let run = hexsmith(d, &["verify", "app.bin", "--emulate", "nRF99999"]);
    refused_saying(&run, 64, "unknown chip \"nRF99999\"");
    std::fs::write(d.join("garbage.hex"), b"not a state\n").unwrap();
    let run = flash_app(d, "garbage.hex", &[]);
    refused_saying(&run, 2, "garbage.hex: not an emulator state");
    let sparse = std::fs::File::create(d.join("sparse.hex")).unwrap();
    sparse.set_len(1 << 30).unwrap();
    let started = Instant::now();
    let run = flash_app(d, "sparse.hex", &[]);
    let line = one_error_line(&run, 2);
    assert!(
        line.contains("sparse.hex") && line.contains("larger than 64 MiB"),
        "{line}"
    );
    let run = flash_app(d, "/dev/zero", &[]);
    refused_saying(&run, 1, "/dev/zero: is a device node");
    for description in ["/dev/zero", "sparse.hex", "missing.yaml"] {
        let run = hexsmith(
            d,
            &[
                "flash",
                "--dry-run",
                "app.bin",
                "--chip",
                "nRF52840_xxAA",
                "--chip-description-path",
                description,
            ],
        );
        refused_saying(&run, 2, description);
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

/// Two state files whose names are not UTF-8, and differ only there, are two devices.
#[cfg(feature = "emulator")]
#[test]
fn non_utf8_state_names_are_different_devices() {
    use hexsmith::flash::emulator::{Chip, EmulatedDevice};
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join(std::ffi::OsStr::from_bytes(b"\xff.hex"));
    let b = dir.path().join(std::ffi::OsStr::from_bytes(b"\xfe.hex"));
    let a = EmulatedDevice::open(Chip::Nrf52840, &a).unwrap();
    let b = EmulatedDevice::open(Chip::Nrf52840, &b).unwrap();
    assert_ne!(a.device_id_bytes(), b.device_id_bytes());
}

/// In a station each board's state is saved when that board ends, before its result is
/// logged: killed after board 1, its log line and its state are both there.
#[cfg(feature = "emulator")]
#[test]
fn a_station_saves_each_board_when_it_ends() {
    let dir = dir_with_app();
    let d = dir.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hexsmith"))
        .args([
            "flash",
            "--station",
            "--poll-ms",
            "0",
            "app.bin",
            "--log",
            "log.jsonl",
        ])
        .args(NRF)
        .args(["--emulate-state", "a.hex", "--emulate-state", "b.hex"])
        .args(["--emulate-state", "c.hex", "--emulate-state", "d.hex"])
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let log = d.join("log.jsonl");
    while std::fs::read_to_string(&log).map_or(true, |t| t.is_empty()) {
        assert!(Instant::now() < deadline, "no board was logged");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Killed outright the moment board 1 is logged.
    child.kill().unwrap();
    child.wait().unwrap();
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["result"], "ok");
    let run = hexsmith(
        d,
        &[
            "verify",
            "app.bin",
            "--emulate",
            "nRF52840_xxAA",
            "--emulate-state",
            "a.hex",
        ],
    );
    assert_eq!(
        run.status.code(),
        Some(0),
        "board 1 logged ok, but its state: {}",
        stderr(&run)
    );
}

/// `flash boron.hex --json` on an emulated nRF52840, returned once the device is attached
/// (its ID line is on standard error) and before the first unit is written, so that a
/// signal sent now lands while it writes however fast the machine is; the rest of
/// standard error is collected by the returned thread.
#[cfg(feature = "emulator")]
fn flash_until_attached(
    d: &std::path::Path,
    extra: &[&str],
) -> (std::process::Child, std::thread::JoinHandle<String>) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hexsmith"))
        .args(["flash", "boron.hex", "--no-progress", "--json"])
        .args(NRF)
        .args(extra)
        .current_dir(d)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(": device ") {
            break;
        }
    }
    assert!(seen.contains(": device "), "never attached: {seen}");
    let rest = std::thread::spawn(move || {
        for line in lines {
            seen.push_str(&line.unwrap_or_default());
            seen.push('\n');
        }
        seen
    });
    (child, rest)
}

/// Ctrl-C in `flash` exits 130 as in every command, and the device is left to a rerun.
#[cfg(feature = "emulator")]
#[test]
fn ctrl_c_in_flash_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, boron) = common::catalog_image("4.0.1", "boron", true);
    std::fs::write(d.join("boron.hex"), hexsmith::memory::hex::write(&boron)).unwrap();
    let (child, err) = flash_until_attached(d, &["--emulate-state", "dev.hex"]);
    // SAFETY: kill sends a signal to the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let err = err.join().unwrap();
    assert_eq!(out.status.code(), Some(130), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["devices"][0]["result"], "interrupted", "{doc}");
}

/// Without a probe, the error document's kind says so instead of "unreadable".
#[cfg(feature = "probe")]
#[test]
fn no_probe_is_its_own_kind() {
    let dir = dir_with_app();
    let d = dir.path();
    let run = Command::new(env!("CARGO_BIN_EXE_hexsmith"))
        .args(["verify", "app.bin", "--json"])
        .env_remove("PROBE_RS_PROBE")
        .env_remove("PROBE_RS_CHIP")
        .current_dir(d)
        .output()
        .unwrap();
    if !stderr(&run).contains("no debug probe attached") {
        return; // a probe is attached to this machine: nothing to show
    }
    let doc: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!(doc["error"]["kind"], "no-probe");
    assert_eq!(doc["error"]["exit_status"], 2);
}

/// A `--from` folder with the real files (links to the cache) for `platforms` of
/// `release`, as the catalog names them.
fn from_with(d: &Path, release: &str, platforms: &[&str]) -> PathBuf {
    let from = d.join("from");
    std::fs::create_dir_all(&from).unwrap();
    let catalog = hexsmith::compose::catalog::Catalog::read(
        &repo().join(format!("restore-images/{release}.toml")),
    )
    .unwrap();
    let index = hexsmith::compose::catalog::FileIndex::new(&device_os()).unwrap();
    for p in catalog
        .platform
        .iter()
        .filter(|p| platforms.contains(&p.name.as_str()))
    {
        let (_, modules) = hexsmith::compose::catalog::collect(release, p, &index).unwrap();
        for (file, module) in p.files.iter().zip(&modules) {
            let target = module.path.clone().unwrap();
            let link = from.join(&file.name);
            if !link.exists() {
                std::os::unix::fs::symlink(target, link).unwrap();
            }
        }
    }
    from
}

/// A FIFO, a dangling link and a /dev/zero link that carry catalog file names, beside the
/// real files: the build finds the real ones, and waits on nothing. `--platform boron`
/// needs only Boron's files.
#[cfg(unix)]
#[test]
fn unrelated_files_under_from_break_no_catalog_build() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let from = from_with(d, "4.0.1", &["boron"]);
    let hostile = from.join("hostile");
    std::fs::create_dir(&hostile).unwrap();
    mkfifo(&hostile.join("boron-bootloader@4.0.1.bin"));
    std::os::unix::fs::symlink("/nonexistent", hostile.join("boron-softdevice@4.0.1.bin")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", hostile.join("boron-system-part1@4.0.1.bin")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", from.join("a-zero.bin")).unwrap();
    let catalog = repo().join("restore-images/4.0.1.toml");
    let started = Instant::now();
    let run = build_catalog(d, &catalog, &from, "out", &["--platform", "boron"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(d.join("out/boron.hex").exists());
    assert!(!d.join("out/argon.hex").exists());
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// A catalog that lists one file a thousand times is refused when read, before any file.
#[test]
fn a_catalog_listing_a_file_many_times_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let entry = "  { name = \"boron-system-part1@4.0.1.bin\", sha256 = \"5c77975119ca99b82bb665fc5944ace7235a7aa22b04c87f877fb2d0f6dd0751\" },\n";
    let text = format!(
        "release = \"4.0.1\"\n[[platform]]\nname = \"boron\"\nfiles = [\n{}]\n",
        entry.repeat(1000)
    );
    std::fs::write(d.join("many.toml"), text).unwrap();
    let started = Instant::now();
    let run = build_catalog(d, &d.join("many.toml"), &device_os(), "out", &[]);
    refused_saying(&run, 2, "lists 1000 files");
    assert!(started.elapsed() < Duration::from_secs(20));
    let text = format!(
        "release = \"4.0.1\"\n[[platform]]\nname = \"boron\"\nfiles = [\n{}]\n",
        entry.repeat(2)
    );
    std::fs::write(d.join("twice.toml"), text).unwrap();
    let run = build_catalog(d, &d.join("twice.toml"), &device_os(), "out", &[]);
    refused_saying(&run, 2, "twice");
}

/// A catalog file name with a newline and an ANSI escape cannot forge a line of output.
#[test]
fn control_characters_in_names_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = "release = \"4.0.1\"\n[[platform]]\nname = \"boron\"\nfiles = [\n  { name = \"x\\nok: forged\\u001b[2J.bin\", sha256 = \"5c77975119ca99b82bb665fc5944ace7235a7aa22b04c87f877fb2d0f6dd0751\" },\n]\n";
    std::fs::write(d.join("evil.toml"), text).unwrap();
    std::fs::create_dir(d.join("from")).unwrap();
    let run = build_catalog(d, &d.join("evil.toml"), &d.join("from"), "out", &[]);
    let err = stderr(&run);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains('\u{1b}'), "{err}");
    assert!(
        err.contains("x\\nok: forged\\u{1b}[2J.bin not found"),
        "{err}"
    );
}

/// With an `--out-dir` whose name is not UTF-8, a catalog file found in it under an
/// output's name (`boron.zip`) is still an input: `--zip` does not overwrite it.
#[cfg(unix)]
#[test]
fn non_utf8_out_dir_still_protects_its_inputs() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let from = from_with(d, "4.0.1", &["boron"]);
    let out = d.join(std::ffi::OsStr::from_bytes(b"out\xff"));
    std::fs::create_dir(&out).unwrap();
    for name in [
        "boron-bootloader@4.0.1.bin",
        "boron-softdevice@4.0.1.bin",
        "boron-system-part1@4.0.1.bin",
    ] {
        std::fs::copy(from.join(name), out.join(name)).unwrap();
    }
    let app = out.join("boron.zip");
    std::fs::copy(tinker(), &app).unwrap();
    let before = std::fs::read(&app).unwrap();
    let catalog = std::fs::read_to_string(repo().join("restore-images/4.0.1.toml"))
        .unwrap()
        .replace("tinker-0.8.0-rc.27-boron.bin", "boron.zip");
    std::fs::write(d.join("renamed.toml"), catalog).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_hexsmith"))
        .args([
            "build",
            "--catalog",
            "renamed.toml",
            "--platform",
            "boron",
            "--zip",
        ])
        .arg("--from")
        .arg(&out)
        .arg("--out-dir")
        .arg(&out)
        .current_dir(d)
        .output()
        .unwrap();
    refused_saying(&run, 1, "boron.zip: is also an input");
    assert_eq!(std::fs::read(&app).unwrap(), before);
}

/// Ctrl-C while waiting for the folder lock ends the run at once: nothing published, no
/// temporary file left, exit 130.
#[cfg(unix)]
#[test]
fn ctrl_c_while_waiting_for_the_folder_lock_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let from = from_with(d, "4.0.1", &["boron"]);
    let out = d.join("out");
    std::fs::create_dir(&out).unwrap();
    let lock = std::fs::File::open(&out).unwrap();
    lock.lock().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_hexsmith"))
        .arg("build")
        .arg("--catalog")
        .arg(repo().join("restore-images/4.0.1.toml"))
        .arg("--from")
        .arg(&from)
        .args(["--platform", "boron", "--out-dir", "out"])
        .current_dir(d)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Staged: the temporary files are there, and the run waits for the lock.
    let deadline = Instant::now() + Duration::from_secs(60);
    let staged = || {
        std::fs::read_dir(&out)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".hexsmith-")
            })
            .count()
    };
    while staged() < 2 {
        assert!(Instant::now() < deadline, "the build staged nothing");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: kill sends a signal to the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let started = Instant::now();
    let out_run = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "Ctrl-C was not heard"
    );
    assert_eq!(out_run.status.code(), Some(130), "{}", stderr(&out_run));
    drop(lock);
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// A second Ctrl-C quits at once: `flash` does not finish its batch of units or print its
/// result, and exits 130; the device is left for a rerun, which finishes it.
#[cfg(feature = "emulator")]
#[test]
fn a_second_ctrl_c_quits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, boron) = common::catalog_image("4.0.1", "boron", true);
    std::fs::write(d.join("boron.hex"), hexsmith::memory::hex::write(&boron)).unwrap();
    let (child, err) = flash_until_attached(d, &[]);
    // Two SIGINTs sent a few milliseconds apart raced the run: a unit boundary can come
    // first, and the run then stopped cleanly and printed its result. Pending signals of one
    // kind merge, so the second is a SIGTERM (which counts as the second signal, see
    // signals.rs), sent right after the first: microseconds, not the milliseconds of a unit.
    // SAFETY: kill sends signals to the child this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    let err = err.join().unwrap();
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert_eq!(stdout(&out), "", "the run went on to print its result");
}
