//! Shared helpers for tests on real Device OS binaries. The binaries are fetched by
//! `scripts/fetch-device-os` into a cache outside version control; a test that needs
//! them fails loudly when they are missing rather than passing without looking.

#![allow(dead_code)]

#[cfg(feature = "emulator")]
pub mod emulated;
pub mod p2;
pub mod simulated;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn cache() -> PathBuf {
    std::env::var_os("HEXSMITH_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".cache"))
}

/// The unpacked particle-cli assets, one folder per particle-cli version.
pub fn device_os() -> PathBuf {
    let dir = cache().join("device-os");
    for version in ["2.6.0", "2.14.0", "2.16.0", "3.6.0", "3.9.0", "3.51.0"] {
        assert!(
            dir.join(format!("particle-cli-{version}/.complete"))
                .exists(),
            "real Device OS binaries of particle-cli {version} are missing from {}: run scripts/fetch-device-os first",
            dir.display()
        );
    }
    dir
}

/// A file from the cache, by its path below `device-os/`.
pub fn real(relative: &str) -> PathBuf {
    let path = device_os().join(relative);
    assert!(path.exists(), "{} is missing", path.display());
    path
}

pub fn read_real(relative: &str) -> Vec<u8> {
    std::fs::read(real(relative)).unwrap()
}

/// Every .bin file in the cache, sorted.
pub fn all_bins() -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(&device_os(), &mut out);
    out.retain(|p| p.extension().is_some_and(|e| e == "bin"));
    out.sort();
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Runs the hexsmith binary in `dir`.
pub fn hexsmith(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hexsmith"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("hexsmith runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Stands in for Nordic's MBR, which the project must not carry: 4 KiB that start as an
/// MBR does, with a stack pointer in RAM and handlers inside its own 4 KiB.
pub fn stand_in_mbr() -> Vec<u8> {
    let mut mbr: Vec<u8> = (0..4096u32).map(|i| (i * 13 + 5) as u8).collect();
    mbr[0..4].copy_from_slice(&0x2000_0400u32.to_le_bytes());
    for i in 1..16u32 {
        let handler = 0x0600 + 0x0A * i + 1;
        mbr[i as usize * 4..i as usize * 4 + 4].copy_from_slice(&handler.to_le_bytes());
    }
    mbr
}

/// A real application moved to another start address and re-sealed, as a build for
/// another slot would place it.
pub fn relocated(bytes: &[u8], start: u32) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let m = hexsmith::module::Module::parse(&b).unwrap();
    let end = start + (m.info.end - m.info.start);
    b[0..4].copy_from_slice(&start.to_le_bytes());
    b[4..8].copy_from_slice(&end.to_le_bytes());
    hexsmith::module::seal(&mut b).unwrap();
    b
}

/// The stand-in MBR as `build` takes it.
pub fn stand_in_mbr_input() -> hexsmith::compose::Mbr {
    hexsmith::compose::Mbr {
        name: "stand-in".into(),
        bytes: stand_in_mbr(),
    }
}

/// Runs `hexsmith build --catalog CATALOG --from FROM --out-dir OUT EXTRA...` in `dir`.
pub fn build_catalog(dir: &Path, catalog: &Path, from: &Path, out: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "build",
        "--catalog",
        catalog.to_str().unwrap(),
        "--from",
        from.to_str().unwrap(),
        "--out-dir",
        out,
    ];
    args.extend_from_slice(extra);
    hexsmith(dir, &args)
}

/// Runs `build --catalog restore-images/RELEASE.toml --from` the real binaries `--out-dir
/// OUT EXTRA...` in `dir`.
pub fn build_release(dir: &Path, release: &str, out: &str, extra: &[&str]) -> Output {
    let catalog = repo().join(format!("restore-images/{release}.toml"));
    build_catalog(dir, &catalog, &device_os(), out, extra)
}

/// A restore image and the platform it is for.
pub type PlatformImage = (
    &'static hexsmith::platform::Platform,
    hexsmith::memory::MemoryImage,
);

/// A catalog's restore image of one platform, built in memory from the real binaries,
/// with the stand-in MBR or without one.
pub fn catalog_image(release: &str, name: &str, mbr: bool) -> PlatformImage {
    use hexsmith::compose::catalog::{Catalog, FileIndex, collect};
    use hexsmith::compose::{BuildOptions, build};
    let index = FileIndex::new(&device_os()).unwrap();
    let catalog = Catalog::read(&repo().join(format!("restore-images/{release}.toml"))).unwrap();
    let entry = catalog.platform.iter().find(|p| p.name == name).unwrap();
    let (platform, modules) = collect(release, entry, &index).unwrap();
    let opts = BuildOptions::default().with_mbr(mbr.then(stand_in_mbr_input));
    (platform, build(modules, &opts).unwrap().image)
}

/// The image's segments that start at `address` or above: a Gen 2 restore image without
/// its bootloader sector, say.
pub fn segments_from(
    image: &hexsmith::memory::MemoryImage,
    address: u32,
) -> hexsmith::memory::MemoryImage {
    let mut out = hexsmith::memory::MemoryImage::new();
    for seg in image.segments().iter().filter(|s| s.start >= address) {
        out.write(seg.start, &seg.data);
    }
    assert!(
        !out.is_empty(),
        "the image has data from {address:#010x} on"
    );
    out
}

/// Whether any of a report's notes says `part`: notes are sentences, and a test asserts
/// the fact a note carries rather than its whole wording.
pub fn has_note(notes: &[String], part: &str) -> bool {
    notes.iter().any(|n| n.contains(part))
}

/// Runs a Node.js companion (Particle's own readers), which must succeed: its stdout.
pub fn node(command: &mut Command) -> Vec<u8> {
    let output = command
        .output()
        .expect("node runs (scripts/fetch-device-os installs the reader)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A run that must fail with `code` and say `part` on stderr.
pub fn fails_with(o: &Output, code: i32, part: &str) {
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    assert!(stderr(o).contains(part), "{}", stderr(o));
}

/// The names of the files in `dir`, sorted: what a run wrote there.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The kinds of the regions `inspect --json` lists (`uicr`, `compatibility-fill`, ...).
pub fn region_kinds(report: &serde_json::Value) -> Vec<&str> {
    report["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect()
}

/// A run that must succeed: its stdout.
pub fn succeeds(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    stdout(o)
}

/// Runs the hexsmith binary in `dir` with these environment variables set.
pub fn hexsmith_env(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hexsmith"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("hexsmith runs")
}

/// Writes `image` into `dir` as the Intel HEX file `name`.
pub fn write_hex(dir: &Path, name: &str, image: &hexsmith::memory::MemoryImage) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, hexsmith::memory::hex::write(image)).unwrap();
    path
}

/// A catalog's restore image of one platform (with the stand-in MBR or without one),
/// written into `dir` as `NAME.hex` for a command to read: the image and its platform.
pub fn catalog_hex(dir: &Path, release: &str, name: &str, mbr: bool) -> PlatformImage {
    let (platform, image) = catalog_image(release, name, mbr);
    write_hex(dir, &format!("{name}.hex"), &image);
    (platform, image)
}

/// Asserts that `text` says `part`, showing all of `text` where it does not; a failure
/// names the caller's line.
#[track_caller]
pub fn assert_says(text: &str, part: &str) {
    assert!(text.contains(part), "{part:?} is not in:\n{text}");
}

/// Asserts that `text` starts with `prefix`, showing all of `text` where it does not.
#[track_caller]
pub fn assert_starts(text: &str, prefix: &str) {
    assert!(
        text.starts_with(prefix),
        "{prefix:?} does not start:\n{text}"
    );
}

/// The one error line of a run that exited with `code` (warnings aside): asserts that
/// there is exactly one.
#[track_caller]
pub fn one_error_line(run: &Output, code: i32) -> String {
    assert_eq!(run.status.code(), Some(code), "{}", stderr(run));
    let err = stderr(run);
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("warning: "))
        .collect();
    assert_eq!(errors.len(), 1, "{err}");
    errors[0].to_string()
}

/// A run of `args` refused for want of a probe: exit 2, the error and the first of its
/// hints.
#[track_caller]
pub fn refused_for_no_probe(out: &Output, args: &[&str]) {
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(out));
    assert!(
        stderr(out).starts_with("error: no debug probe attached\nhint: check the USB cable"),
        "{args:?}: {}",
        stderr(out)
    );
}

/// Makes the file at `path` read-only.
pub fn make_read_only(path: &Path) {
    let mut perm = std::fs::metadata(path).unwrap().permissions();
    perm.set_readonly(true);
    std::fs::set_permissions(path, perm).unwrap();
}

/// Creates a named pipe at `path`: a special file no output may replace or wait on.
pub fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}
