//! Particle's published companions of a restore image, written by `build --particle-json`
//! and `--zip`: the manifest must be what binary-version-reader prints for each module
//! (byte for byte, as compact JSON) and carry the values of Particle's published manifests
//! wherever the module is the same one; the zip must hold exactly the image's module files
//! and be the same bytes for the same inputs.
#![cfg(feature = "cli")]

mod common;

use common::{build_release, device_os, hexsmith, repo, stderr};
use hexsmith::compose::ModuleInput;
use hexsmith::compose::particle::ParticleManifest;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

#[test]
fn manifest_entries_are_what_binary_version_reader_prints() {
    // Every real module hexsmith reads (those it refuses are no module to describe).
    let modules: Vec<ModuleInput> = common::all_bins()
        .iter()
        .filter_map(|p| ModuleInput::read(p).ok())
        .collect();
    assert!(modules.len() > 150, "{} modules", modules.len());
    let script = r#"
const { HalModuleParser } = require(process.env.BVR);
(async () => {
  const out = [];
  for (const f of process.argv.slice(1)) {
    const i = await new HalModuleParser().parseFile(f);
    out.push(JSON.stringify({ prefixInfo: i.prefixInfo, suffixInfo: i.suffixInfo }));
  }
  console.log(out.join('\n'));
})();
"#;
    let bvr = common::cache().join("bvr/node_modules/binary-version-reader");
    let stdout = common::node(
        Command::new("node")
            .arg("-e")
            .arg(script)
            .args(modules.iter().map(|m| &m.name))
            .env("BVR", &bvr),
    );
    let theirs = String::from_utf8(stdout).unwrap();
    let theirs: Vec<&str> = theirs.lines().collect();
    assert_eq!(theirs.len(), modules.len());
    let mut with_extensions = 0;
    for (m, expected) in modules.iter().zip(theirs) {
        let manifest = ParticleManifest::of(&[m]);
        let ours = serde_json::to_string(&manifest.modules[0]).unwrap();
        assert_eq!(ours, expected, "{}", m.name);
        if expected.contains("\"extensions\"") {
            with_extensions += 1;
        }
    }
    // The RTL872x applications carry suffix extensions: the rare path is exercised.
    assert!(with_extensions > 0);
}

/// The published table's rows, by the module's SHA-256.
fn published() -> BTreeMap<String, Vec<BTreeMap<String, String>>> {
    let text =
        std::fs::read_to_string(repo().join("tests/data/published-restore-modules.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let mut by_sha: BTreeMap<String, Vec<BTreeMap<String, String>>> = BTreeMap::new();
    for line in lines {
        let row: BTreeMap<String, String> = header
            .iter()
            .zip(line.split('\t'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        by_sha.entry(row["sha256"].clone()).or_default().push(row);
    }
    by_sha
}

fn hex_field(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap(), 16).unwrap()
}

fn num(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap(),
    }
}

/// Builds 4.0.1 (and every other catalog release) with `--particle-json` and checks each
/// entry against the published manifests' values wherever the module is the same one
/// (same SHA-256), and that each key is the published one for its kind of module.
#[test]
fn manifests_match_the_published_values_of_the_same_modules() {
    let published = published();
    let d = tempfile::tempdir().unwrap();
    let mut compared = 0;
    let mut compared_401_boron = 0;
    let mut catalogs: Vec<_> = std::fs::read_dir(repo().join("restore-images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    catalogs.sort();
    for catalog in catalogs {
        let release = catalog.file_stem().unwrap().to_string_lossy().into_owned();
        let out = format!("out-{release}");
        let o = common::build_catalog(d.path(), &catalog, &device_os(), &out, &["--particle-json"]);
        assert_eq!(o.status.code(), Some(0), "{release}: {}", stderr(&o));
        for entry in std::fs::read_dir(d.path().join(&out)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let Some(platform) = name.strip_suffix(".json").filter(|p| !p.contains('.')) else {
                continue;
            };
            let manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            for (key, module) in manifest.as_object().unwrap() {
                let p = &module["prefixInfo"];
                let s = &module["suffixInfo"];
                let sha = s["fwUniqueId"].as_str().unwrap();
                let Some(rows) = published.get(sha) else {
                    continue;
                };
                // The same module: same SHA-256 and CRC, and the same platform id (a radio
                // stack's hashes cover its payload only, which every Gen 3 platform shares,
                // while its prefix names the platform).
                let crc = s["crcBlock"].as_str().unwrap();
                let id = p["platformID"].as_u64().unwrap();
                for row in rows
                    .iter()
                    .filter(|r| r["crc"] == crc && num(&r["platform_id"]) == id)
                {
                    let at = format!(
                        "{release} {platform} {key} vs published {} {}",
                        row["release"], row["platform"]
                    );
                    // Each prefix field against its column of the published table.
                    for (field, column) in [
                        ("moduleFunction", "function"),
                        ("moduleIndex", "index"),
                        ("platformID", "platform_id"),
                        ("moduleVersion", "module_version"),
                        ("moduleFlags", "flags"),
                        ("depModuleFunction", "dep1_function"),
                        ("depModuleIndex", "dep1_index"),
                        ("depModuleVersion", "dep1_version"),
                        ("dep2ModuleFunction", "dep2_function"),
                        ("dep2ModuleIndex", "dep2_index"),
                        ("dep2ModuleVersion", "dep2_version"),
                        ("prefixOffset", "prefix_offset"),
                    ] {
                        assert_eq!(
                            p[field].as_u64().unwrap(),
                            num(&row[column]),
                            "{at}: {field}"
                        );
                    }
                    for (field, column) in [("moduleStartAddy", "start"), ("moduleEndAddy", "end")]
                    {
                        assert_eq!(hex_field(&p[field]), num(&row[column]), "{at}: {field}");
                    }
                    assert_eq!(
                        s["suffixSize"].as_u64().unwrap(),
                        num(&row["suffix_size"]),
                        "{at}"
                    );
                    assert_eq!(s["crcBlock"].as_str().unwrap(), row["crc"], "{at}");
                    // The same kind of module has the published key (the Electron's
                    // published system parts are named out of index order, so not there).
                    if platform != "electron" {
                        assert_eq!(key, &row["key"], "{at}");
                    }
                    compared += 1;
                    if release == "4.0.1" && platform == "boron" && row["release"] == "4.0.1" {
                        compared_401_boron += 1;
                    }
                }
            }
        }
    }
    // 4.0.1 boron: radio stack, system part and bootloader are the published ones.
    assert_eq!(compared_401_boron, 3);
    assert!(compared > 100, "only {compared} published rows compared");
}

fn zip_entries(path: &Path) -> Vec<(String, Vec<u8>, zip::DateTime)> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            (
                f.name().unwrap().to_string(),
                bytes,
                f.last_modified().unwrap(),
            )
        })
        .collect()
}

/// Each entry is a module file, whole, named `KEY.bin` after its key in the `.json`
/// beside it: Particle's Device Restore page (particle-iot/docs,
/// `src/assets/js/device-restore-dfu.js`) finds a module in `<platform>.zip` as
/// `zipFs.find(partName + '.bin')`, with `partName` the `.json`'s key, and takes its
/// address from the module's own prefix.
#[test]
fn zip_holds_the_module_files_and_is_deterministic() {
    let d = tempfile::tempdir().unwrap();
    let catalog = repo().join("restore-images/4.0.1.toml");
    let a = common::build_catalog(
        d.path(),
        &catalog,
        &device_os(),
        "a",
        &["--zip", "--particle-json", "--platform", "boron"],
    );
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    let entries = zip_entries(&d.path().join("a/boron.zip"));
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "bootloader.bin",
            "softdevice.bin",
            "system-part1.bin",
            "tinker.bin"
        ]
    );
    let files = [
        "boron-bootloader@4.0.1.bin",
        "boron-softdevice@4.0.1.bin",
        "boron-system-part1@4.0.1.bin",
        "tinker-0.8.0-rc.27-boron.bin",
    ];
    for ((name, bytes, time), file) in entries.iter().zip(files) {
        assert_eq!(bytes, &std::fs::read(cached(file)).unwrap(), "{name}");
        assert_eq!(*time, zip::DateTime::default(), "{name}");
    }
    // The keys are the .json's, so every module the .json lists is in the zip.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("a/boron.json")).unwrap()).unwrap();
    let keys: Vec<String> = json
        .as_object()
        .unwrap()
        .keys()
        .map(|k| format!("{k}.bin"))
        .collect();
    let mut keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, names);
    // The same modules given as files, in another order, an hour later or not: same bytes.
    let args: Vec<String> = [
        "tinker-0.8.0-rc.27-boron.bin",
        "boron-system-part1@4.0.1.bin",
        "boron-bootloader@4.0.1.bin",
        "boron-softdevice@4.0.1.bin",
    ]
    .iter()
    .map(|n| cached(n).display().to_string())
    .collect();
    let mut cmd: Vec<&str> = vec!["build"];
    cmd.extend(args.iter().map(String::as_str));
    cmd.extend(["-o", "b.hex", "--zip=b.zip", "--particle-json=b.json"]);
    let b = hexsmith(d.path(), &cmd);
    assert_eq!(b.status.code(), Some(0), "{}", stderr(&b));
    assert_eq!(
        std::fs::read(d.path().join("a/boron.zip")).unwrap(),
        std::fs::read(d.path().join("b.zip")).unwrap()
    );
    // -o needs the companions' file names; --out-dir takes none.
    let o = hexsmith(d.path(), &["build", &args[0], "-o", "c.hex", "--zip"]);
    assert_eq!(o.status.code(), Some(64));
    assert_eq!(stderr(&o), "error: with -o, name the file: --zip=FILE\n");
    assert!(!d.path().join("c.hex").exists());
}

/// A file of the fetched packages, by its name.
fn cached(name: &str) -> std::path::PathBuf {
    fn find(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .ok()?
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                if let Some(found) = find(&p, name) {
                    return Some(found);
                }
            } else if p.file_name().is_some_and(|f| f == name) {
                return Some(p);
            }
        }
        None
    }
    find(&device_os(), name).unwrap_or_else(|| panic!("{name} not in the cache"))
}

/// The keys of a JSON text at one indentation, in the order written (serde_json's map
/// would sort them).
fn keys_at(text: &str, indent: usize) -> Vec<String> {
    let pad = " ".repeat(indent);
    text.lines()
        .filter_map(|l| l.strip_prefix(&pad))
        .filter(|l| l.starts_with('"'))
        .filter_map(|l| l[1..].split_once('"').map(|(k, _)| k.to_string()))
        .collect()
}

/// The layout of Particle's newest manifests, as published for 6.3.4
/// (particle-iot/docs, src/assets/files/device-restore/6.3.4/boron.json, tracker.json,
/// p2.json at commit 3b8836f5): modules bootloader, softdevice, system parts, the
/// application, NCP firmware; `prefixSize` in every `prefixInfo`; no final newline.
#[test]
fn particle_json_follows_the_6_3_4_layout() {
    let d = tempfile::tempdir().unwrap();
    let o = build_release(d.path(), "4.0.1", "out", &["--particle-json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let boron = std::fs::read_to_string(d.path().join("out/boron.json")).unwrap();
    assert!(
        boron.ends_with("\n}") && !boron.ends_with('\n'),
        "no final newline"
    );
    // Gen 3 modules in Particle's order, the application keyed as Tinker.
    let modules = ["bootloader", "softdevice", "system-part1", "tinker"];
    assert_eq!(keys_at(&boron, 2), modules);
    let prefix_keys = [
        "moduleStartAddy",
        "moduleEndAddy",
        "reserved",
        "moduleFlags",
        "moduleVersion",
        "platformID",
        "moduleFunction",
        "moduleIndex",
        "depModuleFunction",
        "depModuleIndex",
        "depModuleVersion",
        "dep2ModuleFunction",
        "dep2ModuleIndex",
        "dep2ModuleVersion",
        "prefixSize",
        "prefixOffset",
    ];
    let suffix_keys = [
        "productId",
        "productVersion",
        "fwUniqueId",
        "reserved",
        "suffixSize",
        "crcBlock",
    ];
    let fields = keys_at(&boron, 6);
    assert_eq!(fields.len(), 4 * (prefix_keys.len() + suffix_keys.len()));
    for module in fields.chunks(prefix_keys.len() + suffix_keys.len()) {
        assert_eq!(&module[..prefix_keys.len()], prefix_keys);
        assert_eq!(&module[prefix_keys.len()..], suffix_keys);
    }
    // The tracker's application is Tinker here, and keyed so.
    let tracker = std::fs::read_to_string(d.path().join("out/tracker.json")).unwrap();
    assert_eq!(keys_at(&tracker, 2), modules);

    // An application of any other name takes Particle's key for the platform's
    // application: tinker, or tracker-edge on the tracker; never user-part.
    let apps = [
        (
            "boron",
            "particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin",
        ),
        (
            "tracker",
            "particle-cli-3.51.0/knownApps/tracker/tinker/tracker-tinker@1.5.4-rc.1.bin",
        ),
    ];
    for (platform, app) in apps {
        std::fs::copy(device_os().join(app), d.path().join("firmware.bin")).unwrap();
        let user = format!("{platform}=firmware.bin");
        let o = build_release(
            d.path(),
            "4.0.1",
            platform,
            &["--platform", platform, "--user", &user, "--particle-json"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let text =
            std::fs::read_to_string(d.path().join(format!("{platform}/{platform}.json"))).unwrap();
        let expected = if platform == "tracker" {
            "tracker-edge"
        } else {
            "tinker"
        };
        assert_eq!(keys_at(&text, 2)[3], expected, "{platform}");
    }
}
