//! Edge cases of the planner and consistency of the data it works on. The seed rules
//! themselves are tested end to end in `tests/versions_plan.rs`.

use super::*;
use seeds::seeds;
use std::borrow::Cow;

fn dev(name: &str) -> Device {
    device(name).unwrap()
}

fn rel(d: &Device, v: &str) -> Cow<'static, SystemRelease> {
    d.release(v).unwrap()
}

fn versions(p: &UpgradePlan) -> Vec<&str> {
    p.steps.iter().map(|s| s.version.as_str()).collect()
}

#[test]
fn releases_are_named_by_version_or_module_version() {
    let photon = dev("photon");
    assert_eq!(rel(&photon, "1.5.2").release, "1.5.2");
    assert_eq!(rel(&photon, "v1.5.2").release, "1.5.2");
    assert_eq!(rel(&photon, "1512").release, "1.5.2");
    assert_eq!(rel(&photon, "2.0.0-rc.4").release, "2.0.0-rc.4");
    // 207 is what `particle serial inspect` shows for 0.7.0 (the older guide's example).
    assert_eq!(rel(&photon, "207").release, "0.7.0");
    // Shared module versions: per platform, and the final release over its candidate.
    assert_eq!(rel(&dev("argon"), "312").release, "0.8.0-rc.13");
    assert_eq!(rel(&photon, "312").release, "0.8.0-rc.14");
    assert_eq!(rel(&photon, "13").release, "0.5.0");
}

#[test]
fn bad_versions_are_refused_and_unlisted_ones_planned_by_order() {
    let photon = dev("photon");
    for arg in ["abc", "1.5", "", "99999", "1.5.2.1"] {
        assert!(
            matches!(photon.release(arg), Err(PlanError::BadVersion { .. })),
            "{arg}"
        );
    }
    let unlisted = rel(&photon, "1.5.3");
    assert!(unlisted.is_unlisted());
    assert_eq!(unlisted.module_version(), None);
    // Owned by the caller, where a table line is borrowed: planning arbitrary versions
    // keeps nothing of them.
    assert!(matches!(unlisted, Cow::Owned(_)));
    assert!(matches!(rel(&photon, "1.5.2"), Cow::Borrowed(_)));
    assert!(matches!(rel(&photon, "1512"), Cow::Borrowed(_)));
    let p = plan(&photon, &rel(&photon, "1.5.2"), &unlisted, Via::Ota).unwrap();
    assert_eq!(versions(&p), ["1.5.3"]);
    assert_eq!(p.to_module_version, None);
    assert_eq!(p.steps[0].module_version, None);
    assert_eq!(
        p.warnings[0].to_string(),
        "--to 1.5.3: Device OS 1.5.3 is not in hexsmith's release table (it has 1.5.3-tracker.1): planned by version order, its module versions and files unchecked"
    );
    let e = dev("electron");
    let p = plan(&e, &rel(&e, "0.4.8"), &rel(&e, "2.0.0"), Via::Ota).unwrap();
    assert!(p.warnings[0].to_string().ends_with("(it has 0.4.8-rc.1, 0.4.8-rc.6): planned by version order, its module versions and files unchecked"), "{:?}", p.warnings);
    // A version newer than the table: still a plan, still bounded by what the device runs.
    let p2 = dev("p2");
    let p = plan(&p2, &rel(&p2, "6.5.0"), &rel(&p2, "7.1.0"), Via::Ota).unwrap();
    assert_eq!(versions(&p), ["7.1.0"]);
    let e = plan(
        &photon,
        &rel(&photon, "2.3.1"),
        &rel(&photon, "7.1.0"),
        Via::Ota,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("must stay on the 2.x LTS line"), "{e}");
    assert!(matches!(
        photon.release("313"),
        Err(PlanError::UnknownModule { module: 313, .. })
    ));
    let e = photon.release("4").unwrap_err().to_string();
    assert!(e.contains("0.4.4-rc.1, 0.4.4-rc.2"), "{e}");
}

#[test]
fn unknown_platforms_are_refused_and_models_resolve_to_their_platform() {
    let e = device("photon3").unwrap_err().to_string();
    assert!(e.starts_with("unknown platform or model 'photon3' (known: core, photon"));
    assert!(e.contains("brn402"));
    let brn402 = dev("BRN402");
    assert_eq!(brn402.platform.name, "boron");
    assert_eq!(brn402.name(), "brn402");
    assert_eq!(dev("13").platform.name, "boron");
}

#[test]
fn same_release_is_a_plan_with_nothing_to_do() {
    let boron = dev("boron");
    let r = rel(&boron, "2.2.0");
    for via in Via::ALL {
        let p = plan(&boron, &r, &r, via).unwrap();
        assert_eq!(p.direction, Direction::None);
        assert!(p.steps.is_empty());
    }
}

#[test]
fn a_release_the_table_cannot_place_is_planned_by_order_with_a_warning() {
    let photon = dev("photon");
    let old = rel(&photon, "0.4.7");
    let new = rel(&photon, "0.6.3");
    let p = plan(&photon, &old, &new, Via::Usb).unwrap();
    assert!(p.warnings[0].to_string().starts_with(
        "--from 0.4.7: not known to run on photon: Particle's table names no platforms"
    ));
    let p = plan(&photon, &new, &old, Via::Usb).unwrap();
    assert_eq!(versions(&p), ["0.4.7"]);
    assert!(
        p.warnings[0]
            .to_string()
            .starts_with("--to 0.4.7: not known to run on photon"),
        "{:?}",
        p.warnings
    );
    // Seen binaries are not a complete list: Photon 0.4.8-rc.6 is unknown, not impossible.
    let p = plan(&photon, &rel(&photon, "0.4.8-rc.6"), &new, Via::Usb).unwrap();
    assert!(
        p.warnings[0].to_string().contains("seen for electron only"),
        "{:?}",
        p.warnings
    );
}

#[test]
fn warning_not_stop_for_model_rules_when_only_the_platform_is_named() {
    let boron = dev("boron");
    let p = plan(
        &boron,
        &rel(&boron, "2.2.0"),
        &rel(&boron, "1.4.4"),
        Via::Usb,
    )
    .unwrap();
    assert_eq!(versions(&p), ["1.4.4"]);
    assert_eq!(p.warnings.len(), 1);
    assert!(p.warnings[0].to_string().starts_with(
        "if this is a Boron LTE BRN402 (u-blox SARA-R410M), plan for brn402 instead: it must stop at 1.5.2"
    ));
    // Not when the stop would not apply anyway.
    let p = plan(
        &boron,
        &rel(&boron, "2.2.0"),
        &rel(&boron, "1.5.2"),
        Via::Usb,
    )
    .unwrap();
    assert!(p.warnings.is_empty());
}

#[test]
fn the_electron_has_two_system_parts_before_0_6_0() {
    let e = dev("electron");
    let p = plan(&e, &rel(&e, "0.5.5"), &rel(&e, "0.5.4"), Via::Ota).unwrap();
    let files: Vec<&str> = p.steps[0].writes.iter().map(|w| w.file.as_str()).collect();
    assert_eq!(
        files,
        [
            "tinker",
            "system-part2-0.5.4-electron.bin",
            "system-part1-0.5.4-electron.bin"
        ]
    );
}

#[test]
fn file_names_follow_particle_naming_of_the_release() {
    let photon = dev("photon");
    let boron = dev("boron");
    assert_eq!(
        names::system_part(photon.platform, 1, &rel(&photon, "1.0.1")),
        "system-part1-1.0.1-photon.bin"
    );
    assert_eq!(
        names::system_part(photon.platform, 2, &rel(&photon, "1.1.0")),
        "photon-system-part2@1.1.0.bin"
    );
    assert_eq!(
        names::bootloader(photon.platform, &rel(&photon, "0.7.0")),
        "bootloader-0.7.0-photon.bin"
    );
    assert_eq!(
        names::bootloader(photon.platform, &rel(&photon, "1.5.2")),
        "photon-bootloader@1.5.2+lto.bin"
    );
    assert_eq!(
        names::bootloader(boron.platform, &rel(&boron, "2.0.0")),
        "boron-bootloader@2.0.0.bin"
    );
    assert_eq!(
        names::softdevice(boron.platform, &rel(&boron, "2.0.0-rc.4")),
        "boron-softdevice@2.0.0-rc.4.bin"
    );
    assert_eq!(
        names::system_part(boron.platform, 1, &rel(&boron, "0.9.0")),
        "system-part1-0.9.0-boron.bin"
    );
}

#[test]
fn every_catalog_in_restore_images_is_built_in() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/restore-images");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .map(|n| format!("restore-images/{n}"))
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, restore::catalog_paths());
    assert_eq!(
        restore::catalog_for("2.2.0", "boron"),
        Some("restore-images/2.2.0.toml")
    );
    assert_eq!(restore::catalog_for("1.5.2", "electron"), None);
    assert_eq!(restore::catalog_for("1.4.4", "boron"), None);
}

#[test]
fn stop_rules_name_known_ways_directions_and_releases_their_devices_run() {
    let r = releases();
    for rule in &seeds().stop {
        assert!(
            ["up", "down"].contains(&rule.direction.as_str()),
            "{}",
            rule.rule
        );
        for v in &rule.via {
            assert!(Via::from_name(v).is_some(), "{}: {v}", rule.rule);
        }
        let devices = rule.platforms.iter().chain(&rule.models).map(|n| dev(n));
        for d in devices {
            for release in &rule.releases {
                let line = r.release(release).unwrap();
                assert_eq!(d.runs(line), Runs::Yes, "{}: {release}", rule.rule);
            }
        }
        assert!(!rule.why.is_empty() && !rule.seed.is_empty());
    }
}

#[test]
fn write_order_names_known_components() {
    let known = [
        Component::UserPart,
        Component::SystemPart,
        Component::Bootloader,
        Component::Softdevice,
        Component::Ncp,
    ]
    .map(Component::name);
    let order = &seeds().order;
    assert!(!order.up.is_empty() && !order.down.is_empty());
    for c in order.up.iter().chain(&order.down) {
        assert!(known.contains(&c.as_str()), "{c}");
    }
    // The NCP is never downgraded.
    assert!(!order.down.iter().any(|c| c == "ncp"));
}

#[test]
fn rule_names_are_unique() {
    let mut ids: Vec<&str> = rules::ALL.iter().map(|r| r.id).collect();
    ids.extend(seeds().stop.iter().map(|s| s.rule.as_str()));
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n);
}

#[test]
fn stops_are_not_repeated_and_come_in_the_order_passed() {
    let e = dev("electron");
    let p = plan(&e, &rel(&e, "0.4.8-rc.6"), &rel(&e, "2.2.0"), Via::Serial).unwrap();
    assert_eq!(versions(&p), ["0.5.5", "0.6.4", "0.7.0", "1.2.1", "2.2.0"]);
    let p = plan(&e, &rel(&e, "2.2.0"), &rel(&e, "0.5.4"), Via::Serial).unwrap();
    assert_eq!(versions(&p), ["1.2.1", "0.7.0", "0.6.4", "0.5.5", "0.5.4"]);
    // 0.4.9 was never published for the Electron.
    let e = plan(&e, &rel(&e, "2.2.0"), &rel(&e, "0.4.9"), Via::Serial).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--to 0.4.9: electron cannot run Device OS 0.4.9: Device OS 0.4.9 was published for core, photon, p1 only (release-published-for-platform)"
    );
}

#[test]
fn a_stop_is_only_strictly_between_start_and_target() {
    let e = dev("electron");
    let p = plan(&e, &rel(&e, "0.5.5"), &rel(&e, "0.7.0"), Via::Ota).unwrap();
    assert_eq!(versions(&p), ["0.6.4", "0.7.0"]);
    let p = plan(&e, &rel(&e, "1.2.1"), &rel(&e, "0.6.4"), Via::Ota).unwrap();
    assert_eq!(versions(&p), ["0.7.0", "0.6.4"]);
    // From a release candidate of a stop: the stop is still ahead.
    let p = plan(&e, &rel(&e, "0.7.0-rc.3"), &rel(&e, "1.5.2"), Via::Ota).unwrap();
    assert_eq!(versions(&p), ["0.7.0", "1.2.1", "1.5.2"]);
}

#[test]
fn the_core_has_no_device_os_to_plan() {
    let core = dev("core");
    let e = plan(&core, &rel(&core, "0.5.0"), &rel(&core, "0.6.0"), Via::Ota)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("core: the Spark Core runs monolithic firmware"),
        "{e}"
    );
}

#[test]
fn an_unknown_bootloader_or_softdevice_is_an_optional_write() {
    // 6.6.0 is past the table: neither its bootloader nor its SoftDevice is known.
    let esomx = dev("esomx");
    let p = plan(
        &esomx,
        &rel(&esomx, "4.0.1"),
        &rel(&esomx, "6.6.0"),
        Via::Usb,
    )
    .unwrap();
    let w = &p.steps[0].writes;
    let optional: Vec<(Component, bool)> = w.iter().map(|w| (w.component, w.optional)).collect();
    assert_eq!(
        optional,
        [
            (Component::SystemPart, false),
            (Component::Bootloader, true),
            (Component::Softdevice, true)
        ]
    );
    // The published images name both for 6.3.4: a known bootloader is written, the same
    // SoftDevice (202 since 2.0.1) is not.
    let p = plan(
        &esomx,
        &rel(&esomx, "4.0.1"),
        &rel(&esomx, "6.3.4"),
        Via::Usb,
    )
    .unwrap();
    let written: Vec<(Component, bool)> = p.steps[0]
        .writes
        .iter()
        .map(|w| (w.component, w.optional))
        .collect();
    assert_eq!(
        written,
        [
            (Component::SystemPart, false),
            (Component::Bootloader, false)
        ]
    );
}

#[test]
fn the_softdevice_rule_names_the_mcu_the_planner_checks() {
    // The Tracker M is Gen 3 but an RTL872x: no SoftDevice, whatever the guides' "Gen 3
    // only" says. 6.6.0 is past the table, so an nRF52840 plan writes one (optional).
    let softdevice_writes = |name: &str, from: &str| {
        let d = dev(name);
        let p = plan(&d, &rel(&d, from), &rel(&d, "6.6.0"), Via::Usb).unwrap();
        p.steps[0]
            .writes
            .iter()
            .filter(|w| w.component == Component::Softdevice)
            .count()
    };
    let tracker_m = dev("trackerm").platform;
    assert_eq!((tracker_m.generation, tracker_m.is_nrf52840()), (3, false));
    assert_eq!(softdevice_writes("trackerm", "5.0.0"), 0);
    assert_eq!(softdevice_writes("boron", "5.0.0"), 1);
    let why = rules::SOFTDEVICE_WHEN_IT_CHANGES.why;
    assert!(why.starts_with("nRF52840 platforms only"), "{why}");
    assert!(!why.contains("Gen 3 only"), "{why}");
}

#[test]
fn every_release_bound_of_the_table_is_a_semantic_version() {
    let r = seeds();
    let mut bounds: Vec<&str> = Vec::new();
    for facts in r.platform.values() {
        bounds.extend(
            [
                &facts.min_release,
                &facts.advised_min,
                &facts.modular_since,
                &facts.direct_upgrade_since,
                &facts.bootloader_in_system_parts_before,
                &facts.dfu_only_before,
            ]
            .into_iter()
            .flatten()
            .map(|b| b.release.as_str()),
        );
        bounds.extend(facts.fewer_system_parts.iter().map(|f| f.before.as_str()));
    }
    bounds.extend(
        r.model
            .iter()
            .flat_map(|m| &m.min_release)
            .map(|b| b.release.as_str()),
    );
    bounds.extend(
        r.stop
            .iter()
            .flat_map(|s| &s.from_at_least)
            .map(String::as_str),
    );
    bounds.extend(releases().ncp.iter().map(|n| n.since.as_str()));
    assert!(bounds.len() > 10, "{bounds:?}");
    for b in bounds {
        table_version(b);
    }
}
