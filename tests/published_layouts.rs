//! Every published restore image of Particle's table (tests/data, 2.0.1 to 6.5.0: 346
//! images), rebuilt from real modules. No registry carries 5.x or 6.x binaries, so each
//! module of a published image is made from a real one of its MCU family: moved to the
//! published start and end, given the published version, platform, function, index, flags
//! and dependencies, its prefix at the published offset and a suffix of the published size,
//! and re-sealed (CRC, SHA-256). Then `build`, `inspect` and `replace-user` must treat each
//! image as the spec says, through the library so that all of them take a few seconds.

mod common;

use common::{read_real, stand_in_mbr_input};
use hexsmith::compose::replace::{ReplaceOptions, replace_user};
use hexsmith::compose::{BuildError, BuildOptions, ModuleInput, RestoreImage, build};
use hexsmith::inspect::{ImageFormat, inspect_image};
use hexsmith::memory::hex;
use hexsmith::module::Module;
use semver::Version;
use std::collections::BTreeMap;

const TSV: &str = include_str!("data/published-restore-modules.tsv");

#[derive(Debug, Clone)]
struct Row {
    release: String,
    platform: String,
    key: String,
    function: u8,
    index: u8,
    platform_id: u16,
    version: u16,
    start: u32,
    end: u32,
    flags: u8,
    deps: [(u8, u8, u16); 2],
    prefix_offset: usize,
    suffix_size: usize,
    sha256: String,
}

fn rows() -> Vec<Row> {
    let mut lines = TSV.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|c| *c == name).unwrap();
    lines
        .map(|line| {
            let c: Vec<&str> = line.split('\t').collect();
            let num = |name: &str| -> u64 {
                let t = c[col(name)];
                match t.strip_prefix("0x") {
                    Some(h) => u64::from_str_radix(h, 16).unwrap(),
                    None => t.parse().unwrap(),
                }
            };
            let dep = |p: &str| {
                (
                    num(&format!("{p}_function")) as u8,
                    num(&format!("{p}_index")) as u8,
                    num(&format!("{p}_version")) as u16,
                )
            };
            Row {
                release: c[col("release")].to_string(),
                platform: c[col("platform")].to_string(),
                key: c[col("key")].to_string(),
                function: num("function") as u8,
                index: num("index") as u8,
                platform_id: num("platform_id") as u16,
                version: num("module_version") as u16,
                start: num("start") as u32,
                end: num("end") as u32,
                flags: num("flags") as u8,
                deps: [dep("dep1"), dep("dep2")],
                prefix_offset: num("prefix_offset") as usize,
                suffix_size: num("suffix_size") as usize,
                sha256: c[col("sha256")].to_string(),
            }
        })
        .collect()
}

/// Real modules whose bytes the made-up ones are built from.
struct Donors {
    /// (family, function) -> the body of a real module of that family, its prefix blanked.
    bodies: BTreeMap<(&'static str, u8), Vec<u8>>,
    /// suffix size -> the last `size + 4` bytes of a real module with a suffix that size.
    suffixes: BTreeMap<usize, Vec<u8>>,
    /// The real radio stack (S140 7.0.1, version 202), which every Gen 3 image carries.
    radio_stack: Vec<u8>,
}

fn family(platform: &str) -> &'static str {
    match platform {
        "electron" | "photon" | "p1" => "stm32f2",
        "p2" | "msom" | "trackerm" => "rtl872x",
        _ => "nrf52840",
    }
}

fn blanked(bytes: Vec<u8>) -> Vec<u8> {
    let m = Module::parse(&bytes).unwrap();
    let mut b = bytes;
    b[m.prefix_offset..m.prefix_offset + 24].fill(0);
    let body_end = b.len() - 4 - usize::from(m.suffix.size);
    b.truncate(body_end);
    b
}

fn donors() -> Donors {
    let u = "particle-cli-3.6.0/updates";
    let apps = "particle-cli-3.51.0/knownApps";
    let nrf_sp = read_real(&format!("{u}/boron-system-part1@4.0.1.bin"));
    let p2_tinker = read_real(&format!("{apps}/p2/tinker/tinker-5.0.0-p2.bin"));
    let radio_stack = read_real(&format!("{u}/boron-softdevice@4.0.1.bin"));
    let mut bodies = BTreeMap::new();
    bodies.insert(
        ("nrf52840", 2),
        blanked(read_real(&format!("{u}/boron-bootloader@4.0.1.bin"))),
    );
    bodies.insert(("nrf52840", 4), blanked(nrf_sp.clone()));
    bodies.insert(
        ("nrf52840", 5),
        blanked(read_real(&format!(
            "{apps}/boron/tinker/tinker-0.8.0-rc.27-boron.bin"
        ))),
    );
    bodies.insert(
        ("stm32f2", 2),
        blanked(read_real(&format!("{u}/electron-bootloader@2.3.1+lto.bin"))),
    );
    bodies.insert(
        ("stm32f2", 4),
        blanked(read_real(&format!("{u}/photon-system-part1@2.3.1.bin"))),
    );
    bodies.insert(
        ("stm32f2", 5),
        blanked(read_real(&format!(
            "{apps}/electron/tinker/electron_tinker.bin"
        ))),
    );
    // No RTL872x Device OS binary is published on npm: its modules take the Gen 3 system
    // part's bytes and the P2 Tinker's 62-byte suffix (with its extensions).
    for function in [2, 4] {
        bodies.insert(("rtl872x", function), blanked(nrf_sp.clone()));
    }
    bodies.insert(("rtl872x", 5), blanked(p2_tinker.clone()));
    let tail = |b: &[u8], size: usize| b[b.len() - size - 4..].to_vec();
    let suffixes = BTreeMap::from([
        (36, tail(&radio_stack, 36)),
        (40, tail(&nrf_sp, 40)),
        (62, tail(&p2_tinker, 62)),
    ]);
    Donors {
        bodies,
        suffixes,
        radio_stack,
    }
}

/// The module a row describes, made from real bytes and sealed.
fn forge(row: &Row, donors: &Donors) -> Vec<u8> {
    let len = (row.end - row.start + 4) as usize;
    let mut bytes = if row.function == 8 {
        assert_eq!(donors.radio_stack.len(), len, "{row:?}");
        donors.radio_stack.clone()
    } else {
        let suffix = &donors.suffixes[&row.suffix_size];
        let body = &donors.bodies[&(family(&row.platform), row.function)];
        let mut b = Vec::with_capacity(len);
        while b.len() < len - suffix.len() {
            let n = body.len().min(len - suffix.len() - b.len());
            b.extend_from_slice(&body[..n]);
        }
        b.extend_from_slice(suffix);
        b
    };
    let p = row.prefix_offset;
    let prefix = &mut bytes[p..p + 24];
    prefix[0..4].copy_from_slice(&row.start.to_le_bytes());
    prefix[4..8].copy_from_slice(&row.end.to_le_bytes());
    prefix[8] = 0;
    prefix[9] = row.flags;
    prefix[10..12].copy_from_slice(&row.version.to_le_bytes());
    prefix[12..14].copy_from_slice(&row.platform_id.to_le_bytes());
    prefix[14] = row.function;
    prefix[15] = row.index;
    for (i, (f, x, v)) in row.deps.iter().enumerate() {
        let at = 16 + 4 * i;
        prefix[at] = *f;
        prefix[at + 1] = *x;
        prefix[at + 2..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    seal_as_the_spec_says(&mut bytes, row.flags & 1 != 0, p, row.suffix_size);
    bytes
}

/// Spec section 1, written here independently of hexsmith's `seal`: the SHA-256 covers
/// every byte before it (only the payload between prefix and suffix for a "drop module
/// info" module), the CRC-32 every byte before it, stored big-endian.
fn seal_as_the_spec_says(bytes: &mut [u8], drop_info: bool, prefix_at: usize, suffix: usize) {
    use sha2::{Digest, Sha256};
    let len = bytes.len();
    let sha_at = len - 4 - 2 - 32;
    let covered = if drop_info {
        &bytes[prefix_at + 24..len - 4 - suffix]
    } else {
        &bytes[..sha_at]
    };
    let digest = Sha256::digest(covered);
    bytes[sha_at..sha_at + 32].copy_from_slice(&digest);
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&bytes[..len - 4]);
    bytes[len - 4..].copy_from_slice(&crc.to_be_bytes());
}

fn input(name: String, bytes: Vec<u8>) -> ModuleInput {
    ModuleInput::from_bytes(name, bytes).unwrap()
}

/// Published images, in table order: (release, platform) -> rows. NCP firmware (the
/// Tracker's ESP32, also listed under the key `undefined`) is not in the hex.
fn images(rows: &[Row]) -> BTreeMap<(Version, String), Vec<Row>> {
    let mut out: BTreeMap<(Version, String), Vec<Row>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.function != 7) {
        out.entry((Version::parse(&r.release).unwrap(), r.platform.clone()))
            .or_default()
            .push(r.clone());
    }
    out
}

fn options() -> BuildOptions {
    BuildOptions::default().with_mbr(Some(stand_in_mbr_input()))
}

fn build_image(inputs: Vec<ModuleInput>, what: &str) -> RestoreImage {
    build(inputs, &options()).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// A customer's application for the image: a different size (on RTL872x it grows
/// left, ending where the published one ends), its own version, and a dependency on the
/// image's system part.
fn customer_app(user: &Row, system_version: u16, donors: &Donors) -> Vec<u8> {
    let mut app = user.clone();
    app.version = 4242;
    app.deps = [(4, 1, system_version), (0, 0, 0)];
    match family(&user.platform) {
        "rtl872x" => app.start -= 0x1000,
        _ => app.end += 0x800,
    }
    forge(&app, donors)
}

/// Builds one published image from its rows and checks what the spec says of it.
fn check_image(version: &Version, platform: &str, rows: &[Row], donors: &Donors) {
    let what = format!("{version} {platform}");
    let inputs: Vec<ModuleInput> = rows
        .iter()
        .map(|r| input(format!("{what} {}", r.key), forge(r, donors)))
        .collect();
    for (r, m) in rows.iter().zip(&inputs) {
        if r.function == 8 {
            // The published radio stack is the npm one: same payload, same SHA-256.
            assert_eq!(::hex::encode(m.module.suffix.sha256), r.sha256, "{what}");
        }
    }
    let built = build_image(inputs.clone(), &what);
    assert!(built.warnings.is_empty(), "{what}: {:?}", built.warnings);
    assert_eq!(
        built.release.as_deref(),
        Some(version.to_string().as_str()),
        "{what}"
    );
    for r in rows {
        assert!(
            built
                .regions
                .iter()
                .any(|g| g.start == r.start && g.module_version == Some(r.version)),
            "{what}: {} not at {:#x}",
            r.key,
            r.start
        );
    }
    let kinds: Vec<&str> = built.regions.iter().map(|g| g.kind.as_str()).collect();
    let nrf = family(platform) == "nrf52840";
    let user = rows.iter().find(|r| r.function == 5).unwrap();
    // Spec section 3: every Gen 3 image (tracker too) carries the UICR page and the
    // MBR; the 0xD4000 fill from 3.1.0 on, not for tracker, not under a 128 KiB app.
    assert_eq!(kinds.contains(&"uicr"), nrf, "{what}");
    assert_eq!(kinds.contains(&"nordic-mbr"), nrf, "{what}");
    let fill_due =
        nrf && *version >= Version::new(3, 1, 0) && platform != "tracker" && user.start != 0xD4000;
    assert_eq!(kinds.contains(&"compatibility-fill"), fill_due, "{what}");

    let report = inspect_image(&built.image, ImageFormat::Image);
    assert!(report.passes(), "{what}: {:?}", report.checks);
    assert!(report.warnings.is_empty(), "{what}: {:?}", report.warnings);
    // All bytes outside modules are known regions (the stand-in MBR is not Nordic's).
    assert!(
        report
            .regions
            .iter()
            .all(|g| g.recognized || g.kind == "nordic-mbr"),
        "{what}: {:?}",
        report.regions
    );
    assert_eq!(report.platform.as_deref(), Some(platform), "{what}");

    // A customer application in place of the published one equals a build with it.
    let system = rows
        .iter()
        .find(|r| r.function == 4 && r.index == 1)
        .unwrap();
    let app = input(
        format!("{what} app"),
        customer_app(user, system.version, donors),
    );
    let replaced = replace_user(&what, &built.image, &app, ReplaceOptions::default())
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut with_app = inputs.clone();
    with_app.retain(|m| m.module.info.function != hexsmith::module::ModuleFunction::UserPart);
    with_app.push(app.clone());
    let rebuilt = build_image(with_app, &what);
    assert!(
        replaced.image == rebuilt.image,
        "{what}: replace-user differs from a build with the application"
    );
    assert!(
        inspect_image(&replaced.image, ImageFormat::Image).passes(),
        "{what}"
    );

    // One that needs a newer Device OS than the image has is refused.
    let needy = input(
        format!("{what} needy"),
        customer_app(user, system.version + 1, donors),
    );
    let err = replace_user(&what, &built.image, &needy, ReplaceOptions::default())
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(err, BuildError::UnmetDependency { .. }),
        "{what}: {err}"
    );
}

#[test]
fn every_published_image_builds_passes_inspect_and_takes_a_customer_application() {
    let rows = rows();
    let donors = donors();
    let images = images(&rows);
    assert_eq!(images.len(), 346);
    let list: Vec<_> = images.iter().collect();
    // Two threads: a few seconds for 346 images of up to 2 MiB, each built, inspected,
    // given an application and rebuilt.
    let families: Vec<&str> = std::thread::scope(|scope| {
        let workers: Vec<_> = list
            .chunks(list.len().div_ceil(2))
            .map(|chunk| {
                let donors = &donors;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|((version, platform), rows)| {
                            check_image(version, platform, rows, donors);
                            family(platform)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let mut by_family: BTreeMap<&str, usize> = BTreeMap::new();
    for f in families {
        *by_family.entry(f).or_default() += 1;
    }
    assert_eq!(
        by_family,
        BTreeMap::from([("nrf52840", 247), ("rtl872x", 66), ("stm32f2", 33)])
    );
}

/// The slots accept every published layout and still refuse what no release does.
#[test]
fn what_no_release_does_is_refused() {
    let rows = rows();
    let donors = donors();
    let images = images(&rows);
    let boron = &images[&(Version::new(6, 5, 0), "boron".to_string())];
    let moved = |key: &str, start: u32| {
        let mut r = boron.iter().find(|r| r.key == key).unwrap().clone();
        r.end = r.end - r.start + start;
        r.start = start;
        r
    };
    let with = |replaced: Row| -> Vec<ModuleInput> {
        boron
            .iter()
            .map(|r| if r.key == replaced.key { &replaced } else { r })
            .map(|r| input(r.key.clone(), forge(r, &donors)))
            .collect()
    };
    let refusal = |inputs: Vec<ModuleInput>| build(inputs, &options()).map(|_| ()).unwrap_err();

    // A system part where the bootloader lives.
    let err = refusal(with(moved("system-part1", 0xF4000)));
    assert!(matches!(err, BuildError::OutsideSlot { .. }), "{err}");
    // A system part below any published start (into the radio stack).
    let err = refusal(with(moved("system-part1", 0x20000)));
    assert!(matches!(err, BuildError::OutsideSlot { .. }), "{err}");
    // An application past the end of flash.
    let err = refusal(with(moved("tinker", 0xFF000)));
    assert!(matches!(err, BuildError::OutsideSlot { .. }), "{err}");
    // An application overlapping the system part: 6.5.0's ends at 0xB3CD4.
    let err = refusal(with(moved("tinker", 0xB3000)));
    assert!(
        matches!(
            err,
            BuildError::OutsideSlot { .. } | BuildError::Overlap { .. }
        ),
        "{err}"
    );
    let err = refusal(with(moved("tinker", 0xB4000 - 0x100)));
    assert!(
        matches!(
            err,
            BuildError::Overlap { .. } | BuildError::OutsideSlot { .. }
        ),
        "{err}"
    );

    // On RTL872x the prebootloader part may not reach into the system part.
    let p2 = &images[&(Version::new(6, 5, 0), "p2".to_string())];
    let mut grown = p2
        .iter()
        .find(|r| r.key == "prebootloader-part1")
        .unwrap()
        .clone();
    grown.end = 0x0806_0100;
    let inputs: Vec<ModuleInput> = p2
        .iter()
        .map(|r| if r.key == grown.key { &grown } else { r })
        .map(|r| input(r.key.clone(), forge(r, &donors)))
        .collect();
    let err = refusal(inputs);
    assert!(matches!(err, BuildError::OutsideSlot { .. }), "{err}");
}

/// `build` writes the image a device restore tool would write: as Intel HEX, read back,
/// the same memory (one 6.x image per family, through the text format).
#[test]
fn published_layouts_survive_the_hex_round_trip() {
    let rows = rows();
    let donors = donors();
    let images = images(&rows);
    for (release, platform) in [("6.5.0", "boron"), ("6.5.0", "msom"), ("3.3.1", "electron")] {
        let rows = &images[&(Version::parse(release).unwrap(), platform.to_string())];
        let inputs = rows
            .iter()
            .map(|r| input(r.key.clone(), forge(r, &donors)))
            .collect();
        let built = build_image(inputs, platform);
        let text = hex::write(&built.image);
        let (back, _) = hex::parse(text.as_bytes()).unwrap();
        assert!(back == built.image, "{release} {platform}");
    }
}

/// The commands a user runs, on a 6.x Gen 3, a 6.x P2 and M-SoM and a tracker image of the
/// published table: `build` from module files, `inspect` passing (exit 0), `replace-user`
/// with a customer application.
#[test]
fn the_cli_builds_inspects_and_replaces_on_published_layouts() {
    let rows = rows();
    let donors = donors();
    let images = images(&rows);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("mbr.bin"), common::stand_in_mbr()).unwrap();
    for (release, platform) in [
        ("6.5.0", "boron"),
        ("6.3.4", "p2"),
        ("6.5.0", "msom"),
        ("3.1.0", "tracker"),
        ("6.5.0", "tracker"),
    ] {
        let rows = &images[&(Version::parse(release).unwrap(), platform.to_string())];
        let mut args = vec!["build".to_string(), "--mbr".into(), "mbr.bin".into()];
        for r in rows {
            let name = format!("{platform}-{}@{release}.bin", r.key);
            std::fs::write(d.join(&name), forge(r, &donors)).unwrap();
            args.push(name);
        }
        let image = format!("{platform}-{release}.hex");
        args.extend(["-o".to_string(), image.clone()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = common::hexsmith(d, &args);
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));

        let out = common::hexsmith(d, &["inspect", &image]);
        assert_eq!(out.status.code(), Some(0), "{}", common::stdout(&out));
        let text = common::stdout(&out);
        assert!(text.contains(&format!("(Device OS {release})")), "{text}");

        let user = rows.iter().find(|r| r.function == 5).unwrap();
        let system = rows.iter().find(|r| r.function == 4).unwrap();
        std::fs::write(
            d.join("app.bin"),
            customer_app(user, system.version, &donors),
        )
        .unwrap();
        let out = common::hexsmith(
            d,
            &[
                "replace-user",
                "--base",
                &image,
                "--user",
                "app.bin",
                "-o",
                "out.hex",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        let out = common::hexsmith(d, &["inspect", "out.hex"]);
        assert_eq!(out.status.code(), Some(0), "{}", common::stdout(&out));
        assert!(common::stdout(&out).contains("4242"));
    }
}
