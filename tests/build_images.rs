//! `hexsmith build` on every platform of every shipped catalog, checked byte for byte
//! against an independent reading of spec section 3 written here from the spec alone
//! (raw offsets, its own hex reader), and the manifests snapshotted.

mod common;

use common::{
    build_catalog, build_release, device_os, fails_with, file_names, hexsmith, read_real,
    relocated, repo, stand_in_mbr, stderr, stdout, succeeds,
};
use std::collections::BTreeMap;
use std::path::Path;

/// Memory in 4 KiB pages; a cell holds a byte or `ABSENT`. Simple enough to be obviously
/// right, fast enough to compare 26 whole images.
#[derive(Default, PartialEq, Eq, Debug)]
struct Memory(BTreeMap<u32, Vec<u16>>);

const ABSENT: u16 = 0x100;

impl Memory {
    fn put(&mut self, at: u32, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            self.insert(at + i as u32, *b);
        }
    }

    /// Returns whether the address already held a byte.
    fn insert(&mut self, addr: u32, b: u8) -> bool {
        let page = self
            .0
            .entry(addr >> 12)
            .or_insert_with(|| vec![ABSENT; 4096]);
        let cell = &mut page[(addr & 0xFFF) as usize];
        let was = *cell != ABSENT;
        *cell = u16::from(b);
        was
    }

    fn get(&self, addr: u32) -> Option<u8> {
        let cell = self.0.get(&(addr >> 12))?[(addr & 0xFFF) as usize];
        (cell != ABSENT).then_some(cell as u8)
    }

    fn has_from(&self, addr: u32) -> bool {
        self.0
            .range(addr >> 12..)
            .any(|(_, p)| p.iter().any(|c| *c != ABSENT))
    }

    fn first_difference(&self, other: &Memory) -> Option<(u32, Option<u8>, Option<u8>)> {
        let pages: std::collections::BTreeSet<u32> =
            self.0.keys().chain(other.0.keys()).copied().collect();
        for page in pages {
            for off in 0..4096u32 {
                let a = (page << 12) | off;
                if self.get(a) != other.get(a) {
                    return Some((a, self.get(a), other.get(a)));
                }
            }
        }
        None
    }
}

/// Memory read from Intel HEX without hexsmith's reader.
fn read_hex(text: &str) -> Memory {
    let mut mem = Memory::default();
    let mut base = 0u32;
    let mut saw_eof = false;
    for line in text.lines() {
        assert!(!saw_eof, "data after EOF");
        let raw: Vec<u8> = (1..line.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap())
            .collect();
        assert!(line.starts_with(':'));
        assert_eq!(
            raw.iter().fold(0u8, |a, b| a.wrapping_add(*b)),
            0,
            "checksum: {line}"
        );
        assert_eq!(line, line.to_uppercase(), "upper case");
        let (len, addr, kind) = (
            raw[0] as usize,
            u16::from_be_bytes([raw[1], raw[2]]),
            raw[3],
        );
        let data = &raw[4..4 + len];
        match kind {
            0 => {
                assert!(len <= 16);
                for (i, b) in data.iter().enumerate() {
                    assert!(
                        !mem.insert(base + u32::from(addr) + i as u32, *b),
                        "byte written twice"
                    );
                }
            }
            1 => saw_eof = true,
            4 => base = u32::from(u16::from_be_bytes([data[0], data[1]])) << 16,
            other => panic!("unexpected record type {other}"),
        }
    }
    assert!(saw_eof);
    mem
}

fn u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// The spec's rules, read independently: where each module file's bytes go.
fn expected_memory(platform: &str, release: &str, files: &[Vec<u8>], mbr: &[u8]) -> Memory {
    let mut mem = Memory::default();
    let put = |mem: &mut Memory, at: u32, bytes: &[u8]| mem.put(at, bytes);
    let gen3 = !matches!(platform, "photon" | "p1" | "electron");
    if gen3 {
        // Every Gen 3 platform, tracker included (spec section 3, corrected).
        let mut uicr = vec![0xFFu8; 4096];
        let mut words = vec![(0x14, 0x000F_4000u32), (0x200, 0x12), (0x204, 0x12)];
        if platform == "esomx" {
            words.extend([(0x18, 0x0002_F000), (0x20C, 0xFFFF_FFFE)]);
        }
        for (off, v) in words {
            uicr[off..off + 4].copy_from_slice(&v.to_le_bytes());
        }
        put(&mut mem, 0x1000_1000, &uicr);
        put(&mut mem, 0, mbr);
    }
    let mut user_start = None;
    for f in files {
        // The prefix: at 0 for radio stacks and user parts, after the vector table otherwise.
        let off = [0usize, 0x200, 0x184]
            .into_iter()
            .find(|o| {
                let (s, e) = (u32_le(f, *o), u32_le(f, o + 4));
                e > s && (e - s + 4) as usize == f.len()
            })
            .unwrap();
        let start = u32_le(f, off);
        let function = f[off + 14];
        if f[off + 9] & 1 != 0 {
            let suffix = u16::from_le_bytes([f[f.len() - 6], f[f.len() - 5]]) as usize;
            put(&mut mem, start, &f[24..f.len() - 4 - suffix]);
        } else {
            put(&mut mem, start, f);
        }
        if function == 5 {
            user_start = Some(start);
        }
    }
    let release_at_least_3_1 = !release.starts_with(['0', '1', '2']) && release != "3.0.0";
    if gen3 && platform != "tracker" && release_at_least_3_1 && user_start != Some(0xD4000) {
        mem.put(0xD4000, &[0xFF; 0x400]);
    }
    mem
}

#[derive(serde::Deserialize)]
struct Catalog {
    release: String,
    platform: Vec<CatalogPlatform>,
}

#[derive(serde::Deserialize)]
struct CatalogPlatform {
    name: String,
    files: Vec<CatalogFile>,
}

#[derive(serde::Deserialize)]
struct CatalogFile {
    name: String,
}

fn find(name: &str) -> std::path::PathBuf {
    common::all_bins()
        .into_iter()
        .find(|p| p.file_name().unwrap() == name)
        .unwrap_or_else(|| panic!("{name} not in the cache"))
}

#[test]
fn every_catalog_platform_matches_the_spec_byte_for_byte() {
    let out = tempfile::tempdir().unwrap();
    let mbr = out.path().join("mbr.bin");
    std::fs::write(&mbr, stand_in_mbr()).unwrap();
    let mut catalogs: Vec<_> = std::fs::read_dir(repo().join("restore-images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    catalogs.sort();
    let mut images = 0;
    for path in catalogs {
        let catalog: Catalog = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let dir = out.path().join(&catalog.release);
        let run = build_catalog(
            &repo(),
            &path,
            &device_os(),
            dir.to_str().unwrap(),
            &["--mbr", mbr.to_str().unwrap()],
        );
        assert_eq!(
            run.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            stderr(&run)
        );
        for p in &catalog.platform {
            let files: Vec<Vec<u8>> = p
                .files
                .iter()
                .map(|f| std::fs::read(find(&f.name)).unwrap())
                .collect();
            let hex = std::fs::read_to_string(dir.join(format!("{}.hex", p.name))).unwrap();
            let built = read_hex(&hex);
            let expected = expected_memory(&p.name, &catalog.release, &files, &stand_in_mbr());
            if built == expected {
                // Nothing to explain.
            } else if let Some((a, got, want)) = built.first_difference(&expected) {
                panic!(
                    "{} {}: at {a:#010x} built {got:?}, expected {want:?}",
                    catalog.release, p.name
                );
            }
            let manifest: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(dir.join(format!("{}.json", p.name))).unwrap(),
            )
            .unwrap();
            insta::assert_json_snapshot!(
                format!("manifest_{}_{}", catalog.release, p.name),
                manifest
            );
            images += 1;
        }
    }
    assert_eq!(images, 40);
}

const UPDATES: &str = "particle-cli-3.6.0/updates";

fn boron_inputs() -> Vec<String> {
    let d = device_os();
    let mut v: Vec<String> = ["bootloader", "softdevice", "system-part1"]
        .iter()
        .map(|p| {
            d.join(format!("{UPDATES}/boron-{p}@4.0.1.bin"))
                .display()
                .to_string()
        })
        .collect();
    v.push(
        d.join("particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin")
            .display()
            .to_string(),
    );
    v
}

fn build_args<'a>(out: &'a str, extra: &[&'a str], inputs: &'a [String]) -> Vec<&'a str> {
    let mut args = vec!["build", "-o", out];
    args.extend_from_slice(extra);
    args.extend(inputs.iter().map(String::as_str));
    args
}

#[test]
fn output_is_deterministic_whatever_the_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let mbr = dir.path().join("mbr.bin");
    std::fs::write(&mbr, stand_in_mbr()).unwrap();
    let inputs = boron_inputs();
    let mut reversed = inputs.clone();
    reversed.reverse();
    let mbr_s = mbr.to_str().unwrap();
    let a = hexsmith(
        dir.path(),
        &build_args("a.hex", &["--mbr", mbr_s, "--manifest", "a.json"], &inputs),
    );
    let b = hexsmith(
        dir.path(),
        &build_args(
            "b.hex",
            &["--mbr", mbr_s, "--manifest", "b.json"],
            &reversed,
        ),
    );
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    assert_eq!(b.status.code(), Some(0));
    let read = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
    assert_eq!(read("a.hex"), read("b.hex"));
    assert_eq!(read("a.json"), read("b.json"));
    assert_eq!(stdout(&a).replace("a.hex", "b.hex"), stdout(&b));
}

#[test]
fn mbr_comes_from_hex_bin_or_an_existing_image() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = boron_inputs();
    std::fs::write(dir.path().join("mbr.bin"), stand_in_mbr()).unwrap();
    let first = hexsmith(
        dir.path(),
        &build_args("first.hex", &["--mbr", "mbr.bin"], &inputs),
    );
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    // The whole restore image as MBR source: only 0x0000-0x0FFF is taken.
    let again = hexsmith(
        dir.path(),
        &build_args("again.hex", &["--mbr", "first.hex"], &inputs),
    );
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let read = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
    assert_eq!(read("first.hex"), read("again.hex"));
    let mem = read_hex(&String::from_utf8(read("first.hex")).unwrap());
    let mbr: Vec<u8> = (0..4096).map(|a| mem.get(a).unwrap()).collect();
    assert_eq!(mbr, stand_in_mbr());

    std::fs::write(dir.path().join("short.bin"), &stand_in_mbr()[..4000]).unwrap();
    let bad = hexsmith(
        dir.path(),
        &build_args("bad.hex", &["--mbr", "short.bin"], &inputs),
    );
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        stderr(&bad).trim_end(),
        "error: short.bin: not a usable MBR: a binary MBR must be exactly 4096 bytes, this one is 4000"
    );
    assert!(!dir.path().join("bad.hex").exists());
}

#[test]
fn without_mbr_the_image_warns_and_inspect_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let run = hexsmith(dir.path(), &build_args("x.hex", &[], &boron_inputs()));
    assert_eq!(run.status.code(), Some(0));
    assert!(
        stderr(&run).contains("warning: boron: no MBR given (--mbr)"),
        "{}",
        stderr(&run)
    );
    let inspect = hexsmith(dir.path(), &["inspect", "x.hex"]);
    assert_eq!(inspect.status.code(), Some(0));
    assert!(stdout(&inspect).contains("must never be written after a full chip erase"));
}

#[test]
fn no_uicr_leaves_the_page_out() {
    let dir = tempfile::tempdir().unwrap();
    let run = hexsmith(
        dir.path(),
        &build_args(
            "x.hex",
            &["--no-uicr", "--manifest", "m.json"],
            &boron_inputs(),
        ),
    );
    assert_eq!(run.status.code(), Some(0));
    let m = std::fs::read_to_string(dir.path().join("m.json")).unwrap();
    assert!(!m.contains("uicr"));
    let mem = read_hex(&std::fs::read_to_string(dir.path().join("x.hex")).unwrap());
    assert!(!mem.has_from(0x1000_0000));
}

#[test]
fn compatibility_fill_follows_the_application() {
    // Tinker moved to the 256 KiB slot at 0xB4000: now the fill at 0xD4000 is due.
    let dir = tempfile::tempdir().unwrap();
    let tinker =
        read_real("particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin");
    std::fs::write(dir.path().join("app.bin"), relocated(&tinker, 0xB4000)).unwrap();
    let mut inputs = boron_inputs();
    inputs.pop();
    inputs.push("app.bin".into());
    let run = hexsmith(
        dir.path(),
        &build_args("x.hex", &["--manifest", "m.json"], &inputs),
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let mem = read_hex(&std::fs::read_to_string(dir.path().join("x.hex")).unwrap());
    assert!((0xD4000..0xD4400).all(|a| mem.get(a) == Some(0xFF)));
    assert_eq!(mem.get(0xD4400), None);
    let m = std::fs::read_to_string(dir.path().join("m.json")).unwrap();
    assert!(m.contains("compatibility-fill"));
}

/// Runs a build that must be refused: exit 1 (or 2), one line on stderr, and the output
/// file, which exists beforehand, left exactly as it was.
fn refused(dir: &Path, args: &[&str], code: i32) -> String {
    let out = dir.join("out.hex");
    std::fs::write(&out, "precious\n").unwrap();
    let mut full = vec!["build", "-o", "out.hex"];
    full.extend_from_slice(args);
    let run = hexsmith(dir, &full);
    assert_eq!(run.status.code(), Some(code), "{args:?}: {}", stderr(&run));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious\n");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter(|n| n.starts_with(".hexsmith-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let err = stderr(&run);
    assert_eq!(err.lines().count(), 1, "{err}");
    err.trim_end().to_string()
}

#[test]
fn refusals_name_the_file_and_the_fault() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let copy = |name: &str, bytes: &[u8]| std::fs::write(d.join(name), bytes).unwrap();
    let sd = read_real(&format!("{UPDATES}/boron-softdevice@4.0.1.bin"));
    let sp = read_real(&format!("{UPDATES}/boron-system-part1@4.0.1.bin"));
    let bl = read_real(&format!("{UPDATES}/boron-bootloader@4.0.1.bin"));
    copy("sd.bin", &sd);
    copy("sp.bin", &sp);
    copy("bl.bin", &bl);
    let mut bad = sp.clone();
    bad[0x1000] ^= 1;
    copy("bad-crc.bin", &bad);
    copy(
        "argon-bl.bin",
        &read_real(&format!("{UPDATES}/argon-bootloader@4.0.1.bin")),
    );
    let esomx = |p: &str| read_real(&format!("{UPDATES}/esomx-{p}@4.0.1.bin"));
    copy("e-sd.bin", &esomx("softdevice"));
    copy("e-sp.bin", &esomx("system-part1"));
    copy("e-bl.bin", &esomx("bootloader"));
    copy(
        "tinker634.bin",
        &read_real("particle-cli-3.51.0/knownApps/esomx/tinker/tinker-6.3.4-esomx.bin"),
    );
    let tinker =
        read_real("particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin");
    copy("app-over-bl.bin", &relocated(&tinker, 0xF2000));
    copy("app-at-c0000.bin", &relocated(&tinker, 0xC0000));
    copy(
        "sp152.bin",
        &read_real("particle-cli-2.6.0/updates/boron-system-part1@1.5.2.bin"),
    );
    copy("truncated.bin", &sp[..1000]);

    let err = refused(d, &["sd.bin", "bad-crc.bin", "bl.bin"], 1);
    assert!(
        err.starts_with("error: bad-crc.bin: CRC mismatch (stored efae9fb3, computed "),
        "{err}"
    );
    assert!(err.ends_with("): the module is corrupt"), "{err}");

    let err = refused(d, &["sd.bin", "sp.bin", "argon-bl.bin"], 1);
    assert_eq!(
        err,
        "error: argon-bl.bin: module is for argon (platform 12), not boron (platform 13) like sp.bin"
    );

    let err = refused(d, &["--platform", "argon", "sd.bin", "sp.bin", "bl.bin"], 1);
    assert_eq!(
        err,
        "error: sp.bin: module is for boron (platform 13), not argon (platform 12)"
    );

    let err = refused(d, &["sd.bin", "sp.bin", "bl.bin", "bl.bin"], 1);
    assert_eq!(err, "error: bl.bin: bootloader 0 given twice (also bl.bin)");

    let err = refused(d, &["e-sd.bin", "e-sp.bin", "e-bl.bin", "tinker634.bin"], 1);
    assert_eq!(
        err,
        "error: tinker634.bin: user part needs Device OS 6.3.4 or later (system module 6305); \
         the image has 4.0.1 (4005): the device would start in safe mode (--allow-safe-mode builds it anyway)"
    );

    let err = refused(d, &["sd.bin", "sp.bin", "bl.bin", "app-over-bl.bin"], 1);
    assert_eq!(
        err,
        "error: app-over-bl.bin: user-part 1 at 0x000f2000-0x000f4c94 lies outside its slot 0x000b4000-0x000f4000"
    );

    let err = refused(d, &["sd.bin", "sp152.bin", "bl.bin", "app-at-c0000.bin"], 1);
    assert_eq!(
        err,
        "error: app-at-c0000.bin: user-part 1 at 0x000c0000-0x000c2c94 overlaps system-part 1 from sp152.bin"
    );

    let err = refused(d, &["sd.bin", "sp.bin", "truncated.bin"], 2);
    assert!(
        err.starts_with("error: truncated.bin: not a Particle module: 1000 bytes, but the prefix"),
        "{err}"
    );

    let err = refused(d, &["sd.bin", "sp.bin", "missing.bin"], 2);
    assert!(err.starts_with("error: missing.bin: No such file"), "{err}");

    // Without a bootloader, the system part's dependency on it is unmet.
    let err = refused(d, &["sd.bin", "sp.bin"], 1);
    assert_eq!(
        err,
        "error: sd.bin: radio stack needs bootloader 0 version 501 or later; the image has none: \
         the device would start in safe mode (--allow-safe-mode builds it anyway)"
    );
}

#[test]
fn allow_safe_mode_builds_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let d = device_os();
    let inputs: Vec<String> = ["softdevice", "system-part1", "bootloader"]
        .iter()
        .map(|p| {
            d.join(format!("{UPDATES}/esomx-{p}@4.0.1.bin"))
                .display()
                .to_string()
        })
        .chain([d
            .join("particle-cli-3.51.0/knownApps/esomx/tinker/tinker-6.3.4-esomx.bin")
            .display()
            .to_string()])
        .collect();
    let run = hexsmith(
        dir.path(),
        &build_args("x.hex", &["--allow-safe-mode"], &inputs),
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(stderr(&run).contains("user part needs Device OS 6.3.4 or later"));
    assert!(stderr(&run).contains("(allowed by --allow-safe-mode)"));
    let inspect = hexsmith(dir.path(), &["inspect", "--json", "x.hex"]);
    assert_eq!(inspect.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&inspect)).unwrap();
    assert_eq!(v["checks"]["dependencies"], "fail");
}

#[test]
fn catalog_refuses_a_file_whose_hash_differs() {
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("from");
    std::fs::create_dir(&from).unwrap();
    let catalog = repo().join("restore-images/2.3.1.toml");
    let listed: Catalog = toml::from_str(&std::fs::read_to_string(&catalog).unwrap()).unwrap();
    for f in listed.platform.iter().flat_map(|p| &p.files) {
        std::fs::copy(find(&f.name), from.join(&f.name)).unwrap();
    }
    let mut tinker = std::fs::read(find("tinker-0.4.5-photon.bin")).unwrap();
    tinker[100] ^= 0xFF;
    hexsmith::module::seal(&mut tinker).unwrap();
    std::fs::write(from.join("tinker-0.4.5-photon.bin"), &tinker).unwrap();
    let build_from_folder = || build_catalog(dir.path(), &catalog, Path::new("from"), "out", &[]);
    let run = build_from_folder();
    assert_eq!(run.status.code(), Some(1));
    let err = stderr(&run);
    assert!(
        err.starts_with("error: from/tinker-0.4.5-photon.bin: SHA-256 "),
        "{err}"
    );
    assert!(err.contains("differs from the catalog's"), "{err}");
    assert!(!dir.path().join("out").exists(), "nothing written");

    std::fs::remove_file(from.join("photon-system-part2@2.3.1.bin")).unwrap();
    fails_with(
        &build_from_folder(),
        1,
        "photon-system-part2@2.3.1.bin not found under from",
    );
}

#[test]
fn release_folder_builds_every_platform_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let updates = device_os().join(UPDATES);
    let updates = updates.to_str().unwrap();
    let release = ["build", "--release", updates, "--out-dir", "out"];
    succeeds(&hexsmith(dir.path(), &release));
    let made = file_names(&dir.path().join("out"));
    let platforms = [
        "argon", "b5som", "boron", "bsom", "electron", "esomx", "p1", "photon", "tracker", "xenon",
    ];
    let mut expected: Vec<String> = platforms
        .iter()
        .flat_map(|p| [format!("{p}.hex"), format!("{p}.json")])
        .collect();
    expected.sort();
    assert_eq!(made, expected);
    let check = hexsmith(
        &dir.path().join("out"),
        &["inspect", "boron.hex", "electron.hex"],
    );
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
}

/// A radio stack as Particle's published 2.x and 3.x images carry it on every Gen 3
/// platform: with the Argon's platform id (12) in its prefix.
fn as_argon_radio_stack(relative: &str) -> Vec<u8> {
    let bytes = read_real(relative);
    let version = hexsmith::module::Module::parse(&bytes)
        .unwrap()
        .info
        .version;
    resealed_radio_stack(bytes, 12, version)
}

/// A radio stack with another platform id and module version in its prefix, sealed.
fn resealed_radio_stack(mut bytes: Vec<u8>, platform_id: u16, module_version: u16) -> Vec<u8> {
    let m = hexsmith::module::Module::parse(&bytes).unwrap();
    assert_eq!(
        m.info.function,
        hexsmith::module::ModuleFunction::RadioStack
    );
    let prefix = m.prefix_offset;
    bytes[prefix + 10..prefix + 12].copy_from_slice(&module_version.to_le_bytes());
    bytes[prefix + 12..prefix + 14].copy_from_slice(&platform_id.to_le_bytes());
    let sealed = hexsmith::module::seal(&mut bytes).unwrap();
    assert_eq!(
        (sealed.info.platform_id, sealed.info.version),
        (platform_id, module_version)
    );
    bytes
}

/// Runs `build --release DIR --out-dir OUT` in `dir`; `files` are (name, bytes) put in
/// `dir/DIR`.
fn build_release_folder(
    dir: &Path,
    folder: &str,
    files: &[(String, Vec<u8>)],
) -> std::process::Output {
    std::fs::create_dir(dir.join(folder)).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(folder).join(name), bytes).unwrap();
    }
    let out = format!("{folder}-out");
    hexsmith(dir, &["build", "--release", folder, "--out-dir", &out])
}

#[test]
fn release_folder_shares_a_radio_stack_among_the_platforms_of_its_mcu() {
    const UPDATES_2_2_0: &str = "particle-cli-2.16.0/updates";
    let file = |platform: &str, part: &str| {
        let name = format!("{platform}-{part}@2.2.0.bin");
        let bytes = read_real(&format!("{UPDATES_2_2_0}/{name}"));
        (name, bytes)
    };
    let shared = |platform: &str| {
        let name = format!("{platform}-softdevice@2.2.0.bin");
        let bytes = as_argon_radio_stack(&format!("{UPDATES_2_2_0}/{name}"));
        (name, bytes)
    };
    // Re-sealed with id 12, every Gen 3 platform's radio stack is the Argon's file.
    let argon_stack = read_real(&format!("{UPDATES_2_2_0}/argon-softdevice@2.2.0.bin"));
    assert_eq!(shared("boron").1, argon_stack);
    assert_eq!(shared("bsom").1, argon_stack);

    let dir = tempfile::tempdir().unwrap();
    let platforms = ["argon", "boron", "bsom"];
    let own: Vec<_> = platforms
        .iter()
        .flat_map(|p| ["bootloader", "system-part1", "softdevice"].map(|part| file(p, part)))
        .collect();
    let run = build_release_folder(dir.path(), "own", &own);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let hex = |folder: &str, platform: &str| {
        std::fs::read(dir.path().join(format!("{folder}-out/{platform}.hex"))).unwrap()
    };
    let made = |folder: &str| file_names(&dir.path().join(format!("{folder}-out")));

    // Boron and B SoM files whose radio stacks both carry id 12, and no Argon modules:
    // both images take it, the same as with their own radio stacks, and no Argon image
    // appears.
    let files: Vec<_> = ["boron", "bsom"]
        .iter()
        .flat_map(|p| [file(p, "bootloader"), file(p, "system-part1"), shared(p)])
        .collect();
    let run = build_release_folder(dir.path(), "shared", &files);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(
        made("shared"),
        ["boron.hex", "boron.json", "bsom.hex", "bsom.json"]
    );
    for platform in ["boron", "bsom"] {
        assert!(
            hex("shared", platform) == hex("own", platform),
            "{platform}: the image differs from the one built with its own radio stack"
        );
    }
    assert!(
        stderr(&run).contains(
            "bsom-softdevice@2.2.0.bin: the same radio stack as shared/boron-softdevice@2.2.0.bin, which is used"
        ),
        "{}",
        stderr(&run)
    );

    // The same with the Argon's modules in the folder too, as the published folders
    // hold them: the Argon takes its radio stack, and so do the others.
    let files: Vec<_> = platforms
        .iter()
        .flat_map(|p| [file(p, "bootloader"), file(p, "system-part1"), shared(p)])
        .collect();
    let run = build_release_folder(dir.path(), "published", &files);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    for platform in platforms {
        assert!(
            hex("published", platform) == hex("own", platform),
            "{platform}: the image differs from the one built with its own radio stack"
        );
    }

    // A radio stack no platform of the folder can take is left out, not made an
    // image of its own.
    let mut files: Vec<_> = ["system-part1", "system-part2", "system-part3"]
        .map(|part| file("electron", part))
        .to_vec();
    files.push((
        "electron-bootloader@2.2.0+lto.bin".to_string(),
        read_real(&format!(
            "{UPDATES_2_2_0}/electron-bootloader@2.2.0+lto.bin"
        )),
    ));
    files.push(file("argon", "softdevice"));
    let run = build_release_folder(dir.path(), "alone", &files);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(made("alone"), ["electron.hex", "electron.json"]);
    assert!(
        stderr(&run).contains(
            "argon-softdevice@2.2.0.bin: a radio stack for argon (platform 12), and no platform of its MCU has other modules here"
        ),
        "{}",
        stderr(&run)
    );
}

#[test]
fn release_folder_refuses_two_different_radio_stacks_for_one_platform() {
    // Boron files with two radio stacks that both carry id 12: 2.2.0's, and the same
    // one marked as SoftDevice module version 203 (the cache holds only one SoftDevice
    // release, so a newer one is made up).
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "boron-bootloader@2.2.0.bin".to_string(),
            read_real("particle-cli-2.16.0/updates/boron-bootloader@2.2.0.bin"),
        ),
        (
            "boron-system-part1@2.2.0.bin".to_string(),
            read_real("particle-cli-2.16.0/updates/boron-system-part1@2.2.0.bin"),
        ),
        (
            "boron-softdevice@2.2.0.bin".to_string(),
            as_argon_radio_stack("particle-cli-2.16.0/updates/boron-softdevice@2.2.0.bin"),
        ),
        (
            "bsom-softdevice@9.9.9.bin".to_string(),
            resealed_radio_stack(
                read_real("particle-cli-2.16.0/updates/bsom-softdevice@2.2.0.bin"),
                12,
                203,
            ),
        ),
    ];
    let run = build_release_folder(dir.path(), "two", &files);
    fails_with(
        &run,
        1,
        "two/bsom-softdevice@9.9.9.bin: a different radio stack from two/boron-softdevice@2.2.0.bin, and both fit boron: leave one of them in the folder",
    );
    assert!(!dir.path().join("two-out").exists(), "nothing written");
}

/// Each catalog's header says how its images differ from Particle's published ones, in
/// the words `build` prints (src/compose/published_diff.rs, from the published table);
/// scripts/make-catalogs writes it, and this fails while a header is stale.
#[test]
fn catalog_headers_say_how_the_images_differ_from_particles() {
    use hexsmith::compose::catalog::{Catalog, FileIndex, collect};
    use hexsmith::compose::{ImageModule, published_differences};
    let index = FileIndex::new(&device_os()).unwrap();
    let mut tracker_ncp = 0;
    for entry in std::fs::read_dir(repo().join("restore-images")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let catalog = Catalog::read(&path).unwrap();
        let mut expected = Vec::new();
        for p in &catalog.platform {
            let (platform, modules) = collect(&catalog.release, p, &index).unwrap();
            let lines = published_differences(
                platform,
                &catalog.release,
                modules.iter().map(|m| ImageModule {
                    name: m.name.rsplit('/').next().unwrap(),
                    info: &m.module.info,
                    sha256: &m.module.suffix.sha256,
                }),
            );
            assert!(
                !lines.is_empty(),
                "{}: no application in the packages is Particle's",
                p.name
            );
            expected.extend(lines.iter().map(|l| format!("# - {}: {l}", p.name)));
        }
        tracker_ncp += expected
            .iter()
            .filter(|l| l.contains("tracker: no NCP firmware"))
            .count();
        let header: Vec<&str> = text.lines().filter(|l| l.starts_with("# - ")).collect();
        assert_eq!(
            header,
            expected,
            "{}: stale header: run scripts/make-catalogs",
            path.display()
        );
    }
    // 4.0.1 and 4.0.2: the published tracker manifests list NCP firmware.
    assert_eq!(tracker_ncp, 2);
    let text = std::fs::read_to_string(repo().join("restore-images/4.0.1.toml")).unwrap();
    for fact in [
        "# - boron: application tinker-0.8.0-rc.27-boron.bin is version 5 at 0x000d4000; Particle's image has tinker version 6 at 0x000b4000",
        "# - esomx: no application; Particle's image has tinker version 6 at 0x000b4000",
        "# - tracker: application tracker-tinker@1.5.4-rc.1.bin is version 6 at 0x000d4000; Particle's image has tracker-edge version 6 at 0x000b4000 in its place",
    ] {
        assert!(text.contains(fact), "{fact}");
    }
}

#[test]
fn build_says_how_each_image_differs_from_particles() {
    let d = tempfile::tempdir().unwrap();
    let o = build_release(d.path(), "4.0.1", "out", &["--platform", "tracker"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("  unlike Particle's 4.0.1 image: application tracker-tinker@1.5.4-rc.1.bin is version 6 at 0x000d4000; Particle's image has tracker-edge version 6 at 0x000b4000 in its place\n"), "{text}");
    assert!(text.contains("  unlike Particle's 4.0.1 image: no NCP firmware; Particle's manifest lists ncp version 7"), "{text}");
    let o = build_release(
        d.path(),
        "4.0.1",
        "json",
        &["--platform", "esomx", "--json"],
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        doc["images"][0]["unlike_published"],
        serde_json::json!(["no application; Particle's image has tinker version 6 at 0x000b4000"])
    );
    let o = build_release(d.path(), "1.5.2", "old", &["--platform", "boron"]);
    assert!(
        stdout(&o).contains("Particle published no boron restore image of Device OS 1.5.2"),
        "{}",
        stdout(&o)
    );
}
