//! Inputs that used to give a wrong or silent result: each is refused with one line
//! naming the file, the field and the fix, with the exit status the library's error
//! kind gives, and no output.

mod common;

use common::{
    assert_says, build_catalog, device_os, hexsmith, read_real, relocated, repo, stand_in_mbr,
    stderr,
};
use hexsmith::memory::{MemoryImage, hex};
use hexsmith::module::seal;
use std::path::Path;

const TINKER: &str = "particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin";

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// The one error line of a run that must fail with `code` and write no `out.hex`.
fn refusal(dir: &Path, args: &[&str], code: i32) -> String {
    let run = hexsmith(dir, args);
    assert_eq!(run.status.code(), Some(code), "{args:?}: {}", stderr(&run));
    let err = stderr(&run);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(!dir.join("out.hex").exists(), "{args:?} wrote its output");
    errors[0].to_string()
}

/// `replace-user --base BASE --user USER -o out.hex`.
fn replace_args<'a>(base: &'a str, user: &'a str) -> Vec<&'a str> {
    vec![
        "replace-user",
        "--base",
        base,
        "--user",
        user,
        "-o",
        "out.hex",
    ]
}

/// The one error line of `replace-user` of `base` and `user` (and `extra`), which must
/// fail with `code` and write no `out.hex`.
fn replace_refused(dir: &Path, base: &str, user: &str, extra: &[&str], code: i32) -> String {
    refusal(dir, &[&replace_args(base, user)[..], extra].concat(), code)
}

/// Boron 4.0.1 as the catalog builds it, in `dir/boron.hex`.
fn boron_image(dir: &Path) {
    let catalog = repo().join("restore-images/4.0.1.toml");
    let run = build_catalog(dir, &catalog, &device_os(), ".", &[]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
}

fn read_image(path: &Path) -> MemoryImage {
    match hexsmith::input::read(path).unwrap() {
        hexsmith::input::Input::Image { image, .. } => image,
        _ => panic!("{} is not an image", path.display()),
    }
}

#[test]
fn a_user_part_at_an_unaligned_start_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    boron_image(d);
    write(d, "odd.bin", &relocated(&read_real(TINKER), 0xD4001));
    let err = replace_refused(d, "boron.hex", "odd.bin", &[], 1);
    assert_eq!(
        err,
        "error: odd.bin: user-part 1 starts at 0x000d4001, not on a 4 KiB boundary where every slot starts: build the module for its slot"
    );
    let sp = device_os().join("particle-cli-3.6.0/updates/boron-system-part1@4.0.1.bin");
    let err = refusal(
        d,
        &["build", sp.to_str().unwrap(), "odd.bin", "-o", "out.hex"],
        1,
    );
    assert_says(&err, "odd.bin: user-part 1 starts at 0x000d4001");
}

#[test]
fn packed_user_parts_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    boron_image(d);
    for (flag, word) in [
        (0x02u8, "compressed"),
        (0x08, "encrypted"),
        (0x04, "combined"),
    ] {
        let mut app = read_real(TINKER);
        app[9] |= flag;
        seal(&mut app).unwrap();
        let name = format!("{word}.bin");
        write(d, &name, &app);
        let err = replace_refused(d, "boron.hex", &name, &[], 1);
        assert!(
            err.starts_with(&format!("error: {name}: user-part 1 is {word}")),
            "{err}"
        );
    }
}

#[test]
fn an_mbr_must_look_like_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sp = device_os().join("particle-cli-3.6.0/updates/boron-system-part1@4.0.1.bin");
    let sp = sp.to_str().unwrap();
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write(d, "random.bin", &random);
    let args = |mbr| {
        vec![
            "build",
            "--allow-safe-mode",
            "--mbr",
            mbr,
            sp,
            "-o",
            "out.hex",
        ]
    };
    let err = refusal(d, &args("random.bin"), 1);
    assert!(
        err.starts_with(
            "error: random.bin: not a usable MBR: its first word, the initial stack pointer, is 0x"
        ),
        "{err}"
    );
    assert!(
        err.ends_with("(--allow-unknown-mbr takes it all the same)"),
        "{err}"
    );

    // Handlers outside its own 4 KiB.
    let mut far = stand_in_mbr();
    far[4..8].copy_from_slice(&0x0002_0001u32.to_le_bytes());
    write(d, "far.bin", &far);
    let refs = args("far.bin");
    let err = refusal(d, &refs, 1);
    assert!(
        err.contains(
            "its reset vector (word 1) is 0x00020001, not a Thumb address inside its own 4 KiB"
        ),
        "{err}"
    );

    // The user knows better; and a plausible MBR is taken with a note.
    let mut forced: Vec<&str> = refs.clone();
    forced[3] = "random.bin";
    forced.insert(1, "--allow-unknown-mbr");
    let run = hexsmith(d, &forced);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    write(d, "plausible.bin", &stand_in_mbr());
    let run = hexsmith(d, &args("plausible.bin"));
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        stderr(&run)
            .contains("note: plausible.bin: not one of the Nordic MBRs of Particle's images"),
        "{}",
        stderr(&run)
    );
}

#[test]
fn replace_user_refuses_a_corrupt_base() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    boron_image(d);
    write(d, "app.bin", &read_real(TINKER));
    let image = read_image(&d.join("boron.hex"));

    // One flipped byte inside the system part.
    let mut corrupt = image.clone();
    let at = 0x0003_1000u32;
    let byte = corrupt.read(u64::from(at), 1).unwrap()[0];
    corrupt.write(at, &[byte ^ 0x40]);
    write(d, "corrupt.hex", hex::write(&corrupt).as_bytes());
    let err = replace_refused(d, "corrupt.hex", "app.bin", &[], 1);
    assert_eq!(
        err,
        "error: corrupt.hex: system-part 1 at 0x00030000 is corrupt: its CRC does not match: give an intact image as the base"
    );

    // A hole in the radio stack: refused (it used to panic after writing the image).
    let mut holed = image.clone();
    holed.remove(0x2_0000, 0x2_0100);
    write(d, "holed.hex", hex::write(&holed).as_bytes());
    let err = replace_refused(d, "holed.hex", "app.bin", &["--manifest", "out.json"], 1);
    assert!(
        err.starts_with(
            "error: holed.hex: radio stack at 0x00001000 is corrupt: its bytes 0x00001000-"
        ),
        "{err}"
    );
    assert!(!d.join("out.json").exists());
}

#[test]
fn a_manifest_of_an_image_with_a_hole_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    boron_image(dir.path());
    let mut image = read_image(&dir.path().join("boron.hex"));
    image.remove(0x2_0000, 0x2_0100);
    let manifest = hexsmith::compose::Manifest::of_image(&image, Vec::new()).unwrap();
    assert!(manifest.regions.iter().all(|r| r.kind != "radio-stack"));
}

#[test]
fn a_module_file_holding_other_bytes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    boron_image(d);
    let app = read_real(TINKER);
    let mut image = MemoryImage::new();
    image.write(0xD4000, &app);
    image.write(0xF0000, b"configuration the app needs");
    write(d, "app-plus.hex", hex::write(&image).as_bytes());
    let err = replace_refused(d, "boron.hex", "app-plus.hex", &[], 1);
    assert_eq!(
        err,
        "error: app-plus.hex: holds 27 bytes besides its user-part 1 (the first at 0x000f0000), which would be lost: give a file that holds the module alone"
    );
    // The application alone, as hex, is taken.
    let mut alone = MemoryImage::new();
    alone.write(0xD4000, &app);
    write(d, "app.hex", hex::write(&alone).as_bytes());
    let run = hexsmith(d, &replace_args("boron.hex", "app.hex"));
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
}

/// The exit status comes from the library's error kind: unreadable input 2, refusal 1.
#[test]
fn exit_status_follows_the_error_kind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "garbage.bin", &[0x42; 100]);
    let err = refusal(d, &["build", "garbage.bin", "-o", "out.hex"], 2);
    assert!(
        err.ends_with("at offset 0, the function field (byte 14) is 66, not a module function (1 to 9): not a Particle module, or a corrupt one"),
        "{err}"
    );
    let err = refusal(d, &["build", "missing.bin", "-o", "out.hex"], 2);
    assert!(err.starts_with("error: missing.bin: "), "{err}");
    let mut corrupt = read_real(TINKER);
    corrupt[3000] ^= 1;
    write(d, "corrupt.bin", &corrupt);
    let err = refusal(d, &["build", "corrupt.bin", "-o", "out.hex"], 1);
    assert!(err.starts_with("error: corrupt.bin: CRC mismatch"), "{err}");
    // A module file given as --base cannot be read as an image.
    write(d, "app.bin", &read_real(TINKER));
    let err = replace_refused(d, "app.bin", "app.bin", &[], 2);
    assert_says(&err, "app.bin: a module file, not an image");
}
