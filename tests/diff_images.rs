//! `hexsmith diff` on real Device OS images: the case (Tinker 5 at 0xD4000
//! against a Tinker 6 at 0xB4000), two releases of one platform, glue that differs, and
//! the exit statuses and JSON document a CI job asserts on.

mod common;

use common::{build_catalog, device_os, hexsmith, read_real, repo, stderr, stdout};
use hexsmith::memory::hex;
use hexsmith::module::seal;
use std::path::Path;

/// Real Tinker 0.8.0-rc.27 for the Boron, moved to 0xB4000 and relabelled version 6,
/// re-sealed: a stand-in for the Tinker v6 Particle's published 4.0.1 image carries.
fn tinker_v6_at_b4000() -> Vec<u8> {
    let mut b =
        read_real("particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin");
    let m = hexsmith::module::Module::parse(&b).unwrap();
    let (start, end) = (0xB4000u32, 0xB4000 + (m.info.end - m.info.start));
    b[0..4].copy_from_slice(&start.to_le_bytes());
    b[4..8].copy_from_slice(&end.to_le_bytes());
    b[10..12].copy_from_slice(&6u16.to_le_bytes());
    b[15] = 2; // user part index 2, as applications at 0xB4000 are
    seal(&mut b).unwrap();
    b
}

fn build(dir: &Path, release: &str) {
    let o = build_catalog(
        dir,
        &repo().join(format!("restore-images/{release}.toml")),
        &device_os(),
        release,
        &["--platform", "boron"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn regions<'a>(doc: &'a serde_json::Value, status: &str) -> Vec<&'a serde_json::Value> {
    doc["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == status)
        .collect()
}

#[test]
fn an_application_moved_and_at_another_version_is_named_with_both() {
    let d = tempfile::tempdir().unwrap();
    build(d.path(), "4.0.1");
    std::fs::write(d.path().join("tinker6.bin"), tinker_v6_at_b4000()).unwrap();
    let o = hexsmith(
        d.path(),
        &[
            "replace-user",
            "--base",
            "4.0.1/boron.hex",
            "--user",
            "tinker6.bin",
            "-o",
            "published-like.hex",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));

    let o = hexsmith(d.path(), &["diff", "4.0.1/boron.hex", "published-like.hex"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("other version user-part: A 1 version 5 (needs Device OS 0.8.0-rc.27 or later) at 0x000d4000-0x000d6c94; B 2 version 6 (needs Device OS 0.8.0-rc.27 or later) at 0x000b4000-0x000b6c94"),
        "{text}"
    );
    assert!(
        text.contains("only in B     0x000d4000-0x000d4400 compatibility-fill: "),
        "{text}"
    );
    for same in [
        "radio-stack 0",
        "system-part 1 version 4005 (Device OS 4.0.1)",
        "bootloader 0",
        "uicr",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("  same") && l.contains(same)),
            "{same} not the same:\n{text}"
        );
    }
    assert!(
        text.ends_with("differs: 2 of 6 regions not the same\n"),
        "{text}"
    );

    let o = hexsmith(
        d.path(),
        &["diff", "--json", "4.0.1/boron.hex", "published-like.hex"],
    );
    assert_eq!(o.status.code(), Some(1));
    let doc = json(&o);
    assert_eq!(doc["schema"], 1);
    assert_eq!(doc["identical"], false);
    assert_eq!(doc["a"]["file"], "4.0.1/boron.hex");
    assert_eq!(doc["b"]["platform"], "boron");
    let moved = regions(&doc, "other-version");
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0]["category"], "module");
    assert_eq!(moved[0]["a"]["start"], 0xD4000);
    assert_eq!(moved[0]["a"]["module_version"], 5);
    assert_eq!(moved[0]["b"]["start"], 0xB4000);
    assert_eq!(moved[0]["b"]["module_version"], 6);
    // The two do not overlap: no byte count, the addresses say it.
    assert_eq!(moved[0]["first_difference"], serde_json::Value::Null);
    let fill = regions(&doc, "only-in-b");
    assert_eq!(fill.len(), 1);
    assert_eq!(fill[0]["b"]["kind"], "compatibility-fill");
    assert_eq!(regions(&doc, "same").len(), 4);
}

#[test]
fn two_releases_differ_in_system_part_version_and_in_a_rebuilt_bootloader() {
    let d = tempfile::tempdir().unwrap();
    build(d.path(), "4.0.1");
    build(d.path(), "4.0.2");
    let o = hexsmith(
        d.path(),
        &["diff", "--json", "4.0.1/boron.hex", "4.0.2/boron.hex"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let doc = json(&o);
    let system = regions(&doc, "other-version");
    assert_eq!(system.len(), 1);
    let s = system[0];
    assert_eq!(s["a"]["kind"], "system-part");
    assert_eq!(
        (&s["a"]["release"], &s["b"]["release"]),
        (&"4.0.1".into(), &"4.0.2".into())
    );
    assert_eq!(
        (&s["a"]["what"], &s["b"]["what"]),
        (&"Device OS 4.0.1".into(), &"Device OS 4.0.2".into())
    );
    // Same start, overlapping: the first differing byte is inside the prefix (its end
    // address and version at 0x30200 + 4..12 come later; the vector table differs first).
    let first = s["first_difference"].as_u64().unwrap();
    assert!((0x30000..0x30300).contains(&first), "{first:#x}");
    assert!(s["differing_bytes"].as_u64().unwrap() > 100_000);
    // Both releases carry bootloader 1101, built twice: the same module, other bytes.
    let boot = regions(&doc, "different");
    assert_eq!(boot.len(), 1);
    assert_eq!(boot[0]["a"]["kind"], "bootloader");
    assert_eq!(
        boot[0]["a"]["module_version"],
        boot[0]["b"]["module_version"]
    );
    let first = boot[0]["first_difference"].as_u64().unwrap();
    let n = boot[0]["differing_bytes"].as_u64().unwrap();
    assert!((0xF4000..0x100000).contains(&first) && n > 0);
    // The first differing address and the count are the bytes' own.
    let a = hex::parse(&std::fs::read(d.path().join("4.0.1/boron.hex")).unwrap())
        .unwrap()
        .0;
    let b = hex::parse(&std::fs::read(d.path().join("4.0.2/boron.hex")).unwrap())
        .unwrap()
        .0;
    let (start, end) = (
        boot[0]["a"]["start"].as_u64().unwrap(),
        boot[0]["a"]["end"].as_u64().unwrap(),
    );
    let xa = a.read(start, (end - start) as usize).unwrap();
    let xb = b.read(start, (end - start) as usize).unwrap();
    let differing: Vec<usize> = (0..xa.len()).filter(|i| xa[*i] != xb[*i]).collect();
    assert_eq!(first, start + differing[0] as u64);
    assert_eq!(n, differing.len() as u64);
}

#[test]
fn identical_memory_is_exit_0_however_the_files_lay_it_out() {
    let d = tempfile::tempdir().unwrap();
    build(d.path(), "4.0.1");
    // The same bytes in records of another length: another file, the same memory.
    let text = std::fs::read_to_string(d.path().join("4.0.1/boron.hex")).unwrap();
    let image = hex::parse(text.as_bytes()).unwrap().0;
    let mut relaid = String::new();
    for seg in image.segments() {
        let mut at = seg.start;
        for chunk in seg.data.chunks(32) {
            let mut one = hexsmith::memory::MemoryImage::new();
            one.write(at, chunk);
            let t = hex::write(&one);
            relaid.extend(
                t.lines()
                    .filter(|l| !l.starts_with(":00000001"))
                    .map(|l| format!("{l}\n")),
            );
            at += chunk.len() as u32;
        }
    }
    relaid.push_str(":00000001FF\n");
    std::fs::write(d.path().join("relaid.hex"), &relaid).unwrap();
    assert_ne!(relaid, text);
    let o = hexsmith(d.path(), &["diff", "4.0.1/boron.hex", "relaid.hex"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).ends_with("identical: the same bytes at the same addresses\n"));
    let o = hexsmith(
        d.path(),
        &["diff", "--json", "relaid.hex", "4.0.1/boron.hex"],
    );
    assert_eq!(o.status.code(), Some(0));
    let doc = json(&o);
    assert_eq!(doc["identical"], true);
    assert_eq!(doc["a"]["bytes"], doc["b"]["bytes"]);
    assert!(
        doc["regions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "same")
    );
}

#[test]
fn a_module_file_compares_as_it_sits_in_flash_and_glue_is_named() {
    let d = tempfile::tempdir().unwrap();
    build(d.path(), "4.0.1");
    let system = device_os().join("particle-cli-3.6.0/updates/boron-system-part1@4.0.1.bin");
    let o = hexsmith(
        d.path(),
        &["diff", system.to_str().unwrap(), "4.0.1/boron.hex"],
    );
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(
        text.contains(
            "  same          0x00030000-0x000acb4a system-part 1 version 4005 (Device OS 4.0.1)"
        ),
        "{text}"
    );
    assert!(
        text.contains("  only in B     0x10001000-0x10002000 uicr: "),
        "{text}"
    );

    // One UICR word changed: glue that differs, at that word.
    let path = d.path().join("4.0.1/boron.hex");
    let mut image = hex::parse(&std::fs::read(&path).unwrap()).unwrap().0;
    image.write(0x1000_1200, &0xFFFF_FFFFu32.to_le_bytes());
    std::fs::write(d.path().join("pin.hex"), hex::write(&image)).unwrap();
    let o = hexsmith(d.path(), &["diff", "4.0.1/boron.hex", "pin.hex"]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    let line = text
        .lines()
        .find(|l| l.contains("glue differs"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("0x10001000-0x10002000 uicr: A UICR, as Particle's restore images set it; B UICR, but word 0x10001200 is not 0x00000012"), "{line}");
    assert!(
        line.ends_with("(first difference at 0x10001200, 4 bytes differ)"),
        "{line}"
    );
}

#[test]
fn an_unreadable_input_is_exit_2_naming_it() {
    let d = tempfile::tempdir().unwrap();
    build(d.path(), "4.0.1");
    std::fs::write(d.path().join("bad.hex"), ":10000000\n").unwrap();
    let o = hexsmith(d.path(), &["diff", "4.0.1/boron.hex", "bad.hex"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).is_empty());
    assert!(
        stderr(&o).starts_with("error: bad.hex: malformed Intel HEX: line 1"),
        "{}",
        stderr(&o)
    );
    let o = hexsmith(
        d.path(),
        &["diff", "--json", "missing.hex", "4.0.1/boron.hex"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(json(&o)["error"]["kind"], "unreadable");
}
