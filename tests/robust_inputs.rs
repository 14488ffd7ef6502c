//! Bounded work on any input: huge and endless files refused early, module search linear
//! in the image whatever its content, `--from` safe from link loops, long argument lists
//! refused before reading; and catalogs read as people write them.

mod common;

use common::{build_catalog, device_os, hexsmith, one_error_line, repo, stderr};
use hexsmith::compose::{BuildError, BuildOptions, ModuleInput, build};
use hexsmith::inspect::{inspect_image, search_modules};
use hexsmith::memory::MemoryImage;
use hexsmith::module::ModuleFunction;
use std::path::Path;
use std::time::{Duration, Instant};

#[cfg(unix)]
#[test]
fn endless_and_huge_inputs_are_refused_before_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let started = Instant::now();
    let err = one_error_line(&hexsmith(d, &["inspect", "/dev/zero"]), 2);
    assert_eq!(
        err,
        "error: /dev/zero: larger than 64 MiB, more than any Particle device's flash: not a module or image"
    );
    let sparse = std::fs::File::create(d.join("sparse.bin")).unwrap();
    sparse.set_len(4 << 30).unwrap();
    let err = one_error_line(&hexsmith(d, &["inspect", "sparse.bin"]), 2);
    assert!(err.contains("sparse.bin: larger than 64 MiB"), "{err}");
    let err = one_error_line(&hexsmith(d, &["build", "sparse.bin", "-o", "out.hex"]), 2);
    assert!(err.contains("sparse.bin: larger than 64 MiB"), "{err}");
    let err = one_error_line(
        &hexsmith(
            d,
            &["build", "--mbr", "/dev/zero", "sparse.bin", "-o", "out.hex"],
        ),
        2,
    );
    assert!(err.contains("/dev/zero: larger than 64 MiB"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(!d.join("out.hex").exists());
}

/// A segment of module prefixes every 24 bytes, each describing a module that runs to
/// the segment's end: checksumming every candidate would take time quadratic in its size.
fn crafted_prefixes(len: usize) -> MemoryImage {
    let start = 0xD4000u32;
    let end = start + len as u32 - 4;
    let mut data = vec![0u8; len];
    for at in (0..len - 64).step_by(24) {
        let p = &mut data[at..at + 24];
        p[0..4].copy_from_slice(&(start + at as u32).to_le_bytes());
        p[4..8].copy_from_slice(&end.to_le_bytes());
        p[10..12].copy_from_slice(&5u16.to_le_bytes());
        p[12..14].copy_from_slice(&13u16.to_le_bytes());
        p[14] = 5;
        p[15] = 1;
        p[16] = 4;
        p[17] = 1;
        p[18..20].copy_from_slice(&4005u16.to_le_bytes());
    }
    data[len - 6..len - 4].copy_from_slice(&36u16.to_le_bytes());
    let mut img = MemoryImage::new();
    img.write(start, &data);
    img
}

#[test]
fn module_search_is_linear_in_the_image_whatever_it_holds() {
    let img = crafted_prefixes(1 << 20);
    let started = Instant::now();
    let search = search_modules(&img);
    let report = inspect_image(&img, "hex");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(search.stopped_at.is_some());
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.starts_with("module search stopped at 0x000d")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn a_real_image_is_searched_whole() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = repo().join("restore-images/4.0.1.toml");
    let run = build_catalog(dir.path(), &catalog, &device_os(), ".", &[]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let hexsmith::input::Input::Image { image, .. } =
        hexsmith::input::read(&dir.path().join("boron.hex")).unwrap()
    else {
        panic!("an image")
    };
    let search = search_modules(&image);
    assert_eq!(search.stopped_at, None);
    assert_eq!(search.modules.len(), 3, "bootloader, system part, Tinker");
}

#[cfg(unix)]
#[test]
fn from_with_a_link_loop_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let from = d.join("from");
    std::fs::create_dir_all(from.join("sub")).unwrap();
    std::os::unix::fs::symlink("..", from.join("sub/up")).unwrap();
    std::os::unix::fs::symlink(device_os(), from.join("cache")).unwrap();
    let catalog = repo().join("restore-images/4.0.1.toml");
    let started = Instant::now();
    let run = build_catalog(d, &catalog, &from, "out", &[]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(d.join("out/boron.hex").exists());
}

#[test]
fn a_long_argument_list_is_refused_before_any_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let module = device_os().join("particle-cli-3.6.0/updates/boron-system-part1@4.0.1.bin");
    std::fs::copy(module, d.join("m.bin")).unwrap();
    let mut args = vec!["build", "-o", "out.hex"];
    args.extend(std::iter::repeat_n("m.bin", 30_000));
    let started = Instant::now();
    let err = one_error_line(&hexsmith(d, &args), 1);
    assert_eq!(
        err,
        "error: 30000 modules given: a restore image holds at most 16: give each module once"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

fn catalog_with(d: &Path, edit: impl Fn(&str) -> String) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo().join("restore-images/4.0.1.toml")).unwrap();
    let path = d.join("edited.toml");
    std::fs::write(&path, edit(&text)).unwrap();
    path
}

#[test]
fn catalog_hashes_are_read_in_either_case() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let upper = catalog_with(d, |t| {
        t.lines()
            .map(|l| match l.split_once("sha256 = \"") {
                Some((head, hash)) => format!("{head}sha256 = \"{}", hash.to_ascii_uppercase()),
                None => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    let run = build_catalog(d, &upper, &device_os(), "out", &[]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
}

#[test]
fn a_platform_listed_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let twice = catalog_with(d, |t| {
        let first = t.find("[[platform]]").unwrap();
        let second = first + 1 + t[first + 1..].find("[[platform]]").unwrap();
        format!("{t}\n{}", &t[first..second])
    });
    let err = one_error_line(&build_catalog(d, &twice, &device_os(), "out", &[]), 2);
    assert!(
        err.contains("edited.toml: not a valid catalog: platform ")
            && err.contains("is listed twice"),
        "{err}"
    );
    assert!(!d.join("out").exists());
}

/// A sealed module of 64 bytes at `start`: a prefix, no code, the smallest suffix.
fn tiny_module(start: u32, function: ModuleFunction, index: u8) -> Vec<u8> {
    let mut b = vec![0u8; 64];
    b[0..4].copy_from_slice(&start.to_le_bytes());
    b[4..8].copy_from_slice(&(start + 60).to_le_bytes());
    b[12..14].copy_from_slice(&13u16.to_le_bytes());
    b[14] = function.code();
    b[15] = index;
    b[58..60].copy_from_slice(&36u16.to_le_bytes());
    hexsmith::module::seal(&mut b).unwrap();
    b
}

#[test]
fn build_work_stays_bounded_however_many_modules_it_is_given() {
    // The most modules that can reach the pairwise overlap check: every placeable
    // function and index the Boron has no slot for (only the MCU's flash bounds those),
    // 1 KiB apart so none overlap; alignment then refuses the image.
    let boron = hexsmith::platform::by_name("boron").unwrap();
    let functions = [
        ModuleFunction::Bootloader,
        ModuleFunction::SystemPart,
        ModuleFunction::UserPart,
        ModuleFunction::RadioStack,
    ];
    let mut distinct = Vec::new();
    for f in functions {
        for index in 0..=u8::MAX {
            if boron.slot(f, index).is_none() {
                let start = 0x400 * distinct.len() as u32;
                distinct.push(tiny_module(start, f, index));
            }
        }
    }
    let inputs = |count: usize| -> Vec<ModuleInput> {
        (0..count)
            .map(|i| {
                let bytes = distinct[i % distinct.len()].clone();
                ModuleInput::from_bytes(format!("m{i}"), bytes).unwrap()
            })
            .collect()
    };
    let count = distinct.len();
    assert!(count > 700, "{count}");
    let started = Instant::now();
    let err = build(inputs(count), &BuildOptions::default()).unwrap_err();
    assert!(matches!(err, BuildError::Unaligned { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    // Any more repeat a function and index, and the duplicate check, which comes
    // first, stops at the first repeat.
    let started = Instant::now();
    let err = build(inputs(100_000), &BuildOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("m{count}: bootloader 1 given twice (also m0)")
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
