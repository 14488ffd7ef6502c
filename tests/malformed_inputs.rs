//! Bad input gets one line naming the file and the fault, exit status 2 (unusable) or 1
//! (a check fails), and never a panic.

mod common;

use common::{hexsmith, read_real, stderr, stdout};
use std::path::Path;

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// Runs `inspect` on one file and returns (exit code, the one stderr line).
fn inspect(dir: &Path, name: &str) -> (i32, String) {
    let out = hexsmith(dir, &["inspect", name]);
    let code = out.status.code().expect("exited, not killed");
    assert_ne!(code, 101, "panicked on {name}: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.lines().count() <= 1,
        "more than one line for {name}: {err}"
    );
    (code, err.trim_end().to_string())
}

const TINKER: &str = "particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin";
const SYSTEM: &str = "particle-cli-3.6.0/updates/boron-system-part1@4.0.1.bin";

#[test]
fn truncated_module() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = read_real(SYSTEM);
    write(dir.path(), "cut.bin", &bytes[..bytes.len() - 1000]);
    let (code, err) = inspect(dir.path(), "cut.bin");
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: cut.bin: not a Particle module: 509794 bytes, but the prefix at offset 0x200 \
         describes a module of 510794 bytes (0x00030000-0x000acb46): truncated or padded"
    );
}

#[test]
fn crc_mismatch_is_a_failed_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = read_real(TINKER);
    let n = bytes.len();
    bytes[n - 1] ^= 0xFF;
    write(dir.path(), "crc.bin", &bytes);
    let out = hexsmith(dir.path(), &["inspect", "crc.bin"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("CRC           MISMATCH"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("SHA-256       ok"));
}

#[test]
fn corrupt_payload_fails_crc_and_sha() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = read_real(TINKER);
    bytes[2000] ^= 0x10;
    write(dir.path(), "bad.bin", &bytes);
    let out = hexsmith(dir.path(), &["inspect", "--json", "bad.bin"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["modules"][0]["crc_ok"], false);
    assert_eq!(v["modules"][0]["sha256_ok"], false);
}

#[test]
fn not_a_module() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "noise.bin", &[0x5A; 3000]);
    write(dir.path(), "empty.bin", &[]);
    let (code, err) = inspect(dir.path(), "noise.bin");
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: noise.bin: not a Particle module: no valid module prefix"),
        "{err}"
    );
    let (code, err) = inspect(dir.path(), "empty.bin");
    assert_eq!(
        (code, err.as_str()),
        (2, "error: empty.bin: not a Particle module: file is empty")
    );
}

#[test]
fn malformed_hex_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        (
            "checksum.hex",
            ":0400100001020304E3\n:00000001FF\n",
            "line 1: checksum byte is E3, the record's bytes need E2",
        ),
        (
            "length.hex",
            ":020000040000FA\n:0500100001020304E2\n:00000001FF\n",
            "line 2: length byte says 5 data bytes, the record holds 4",
        ),
        (
            "garbage.hex",
            ":020000040000FA\nhello world\n:00000001FF\n",
            "line 2: a record must start with ':'",
        ),
        (
            "badchar.hex",
            ":020000040000FA\n:04001000010203G4E2\n:00000001FF\n",
            "line 2: a record holds only hex digits after its ':'",
        ),
        (
            "type.hex",
            ":020000060000F8\n:00000001FF\n",
            "line 1: record type 06 is none of Intel HEX's 00 to 05",
        ),
        (
            "noeof.hex",
            ":0400100001020304E2\n",
            "no end-of-file record: the file is truncated",
        ),
        (
            "aftereof.hex",
            ":00000001FF\n:0400100001020304E2\n",
            "line 2: data after the end-of-file record",
        ),
        (
            "past4g.hex",
            ":02000004FFFFFC\n:10FFF800000102030405060708090A0B0C0D0E0F81\n:00000001FF\n",
            "past the 4 GiB address space",
        ),
        (
            "overlap.hex",
            ":0400100001020304E2\n:020012000506E1\n:00000001FF\n",
            "line 2 overlaps data from line 1 at address 0x00000012",
        ),
        (
            "binary.hex",
            "\u{1}\u{2}\u{3}",
            "line 1: a record must start with ':'",
        ),
    ];
    for (name, text, expected) in cases {
        write(dir.path(), name, text.as_bytes());
        let (code, err) = inspect(dir.path(), name);
        assert_eq!(code, 2, "{name}: {err}");
        let prefix = format!("error: {name}: malformed Intel HEX: ");
        assert!(err.starts_with(&prefix), "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err}");
    }
    write(dir.path(), "utf8.hex", "é".as_bytes());
    let (code, err) = inspect(dir.path(), "utf8.hex");
    assert_eq!(
        (code, err.as_str()),
        (
            2,
            "error: utf8.hex: malformed Intel HEX: not text: byte 0 is not ASCII"
        )
    );
}

#[test]
fn malformed_elf() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "short.elf", b"\x7fELF\x01\x01\x01\0");
    let (code, err) = inspect(dir.path(), "short.elf");
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: short.elf: not a valid ELF file"),
        "{err}"
    );

    // A program header that points past the end of the file.
    let tinker = read_real(TINKER);
    let mut elf = minimal_elf_with_filesz(&tinker[..64], 1 << 20);
    elf.truncate(200);
    write(dir.path(), "cut.elf", &elf);
    let (code, err) = inspect(dir.path(), "cut.elf");
    assert_eq!(code, 2);
    assert!(err.contains("lie past the end of the file"), "{err}");
}

fn minimal_elf_with_filesz(data: &[u8], filesz: u32) -> Vec<u8> {
    let mut e = b"\x7fELF\x01\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    for v in [2u16, 40] {
        e.extend_from_slice(&v.to_le_bytes());
    }
    for v in [1u32, 0, 52, 0, 0] {
        e.extend_from_slice(&v.to_le_bytes());
    }
    for v in [52u16, 32, 1, 40, 0, 0] {
        e.extend_from_slice(&v.to_le_bytes());
    }
    for v in [1u32, 84, 0xD4000, 0xD4000, filesz, filesz, 5, 4] {
        e.extend_from_slice(&v.to_le_bytes());
    }
    e.extend_from_slice(data);
    e
}

#[test]
fn unreadable_paths() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = inspect(dir.path(), "missing.bin");
    assert_eq!(code, 2);
    assert!(err.starts_with("error: missing.bin: No such file"), "{err}");
    std::fs::create_dir(dir.path().join("folder.hex")).unwrap();
    let (code, err) = inspect(dir.path(), "folder.hex");
    assert_eq!(code, 2);
    assert!(err.starts_with("error: folder.hex: "), "{err}");
}

#[test]
fn one_bad_file_among_good_ones_sets_the_worst_status() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.bin", &read_real(TINKER));
    write(dir.path(), "noise.bin", &[1, 2, 3]);
    let out = hexsmith(dir.path(), &["inspect", "--json", "good.bin", "noise.bin"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v[0]["modules"][0]["function"], "user-part");
    assert!(
        v[1]["error"]
            .as_str()
            .unwrap()
            .contains("not a Particle module")
    );
}
