//! `hexsmith versions` and `hexsmith plan`, end to end: one test per rule of the seeds
//! (Particle's upgrade and downgrade guides), named after the rule, asserting the exact
//! releases a plan installs and the order and mode of its writes; snapshots of the
//! release table and of a few plans.
//!
//! Cases that share a shape are rows of a table: a row names the plan it asks for
//! (platform, from, to, via) and what that plan must hold, so a failing row says which.

use serde_json::Value;
use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn hexsmith(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_hexsmith"))
        .args(args)
        .output()
        .expect("hexsmith runs");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// A table row: the plan asked for, as `platform from to via` (a model may stand for the
/// platform), and what that plan must hold.
type Row<'a, T> = (&'a str, T);

/// The command a plan runs, as a failing assertion names it.
fn asked(platform: &str, from: &str, to: &str, via: &str) -> String {
    format!("plan --platform {platform} --from {from} --to {to} --via {via}")
}

/// A row's `platform from to via`.
fn words(row: &str) -> [&str; 4] {
    let words: Vec<&str> = row.split_whitespace().collect();
    words
        .try_into()
        .unwrap_or_else(|_| panic!("row {row:?} is not `platform from to via`"))
}

/// The row's plan, which must succeed, and the command that names it.
fn row_plan(row: &str) -> (Value, String) {
    let [platform, from, to, via] = words(row);
    (
        plan(platform, from, to, via),
        asked(platform, from, to, via),
    )
}

/// `hexsmith plan --platform P --from F --to T`, then `more` (`--via`, `--json`).
fn run_plan(platform: &str, from: &str, to: &str, more: &[&str]) -> Run {
    let mut args = vec!["plan", "--platform", platform, "--from", from, "--to", to];
    args.extend(more);
    hexsmith(&args)
}

/// `hexsmith plan ... --json`, which must succeed.
fn plan(platform: &str, from: &str, to: &str, via: &str) -> Value {
    let r = run_plan(platform, from, to, &["--via", via, "--json"]);
    let row = asked(platform, from, to, via);
    assert_eq!(r.code, 0, "{row}: {}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{row}: {e}"))
}

/// `hexsmith plan ...`, which must be refused: the one-line error.
fn refused(platform: &str, from: &str, to: &str, via: &str) -> String {
    let r = run_plan(platform, from, to, &["--via", via]);
    let row = asked(platform, from, to, via);
    assert_eq!(r.code, 1, "{row}: {}", r.stdout);
    assert!(r.stdout.is_empty(), "{row}: {}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "{row}: {}", r.stderr);
    r.stderr.trim_end().to_string()
}

/// One string field of each element of a JSON array: `array[*][field]`.
fn each_field<'v>(array: &'v Value, field: &str) -> Vec<&'v str> {
    array
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[field].as_str().unwrap())
        .collect()
}

/// The releases a plan installs, in order.
fn versions(p: &Value) -> Vec<&str> {
    each_field(&p["steps"], "version")
}

/// Why each step is there: its rule.
fn step_rules(p: &Value) -> Vec<&str> {
    each_field(&p["steps"], "rule")
}

/// One step's writes as `component[part] mode`, e.g. `system-part3 ota`.
fn writes(p: &Value, step: usize) -> Vec<String> {
    p["steps"][step]["writes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let part = w["part"].as_u64().map_or(String::new(), |n| n.to_string());
            let optional = if w["optional"] == true {
                " optional"
            } else {
                ""
            };
            format!(
                "{}{part} {}{optional}",
                w["component"].as_str().unwrap(),
                w["mode"].as_str().unwrap()
            )
        })
        .collect()
}

/// One step's writes by a string field of each (`file`, `command`, `rule`).
fn write_fields<'p>(p: &'p Value, step: usize, field: &str) -> Vec<&'p str> {
    each_field(&p["steps"][step]["writes"], field)
}

fn files(p: &Value, step: usize) -> Vec<&str> {
    write_fields(p, step, "file")
}

fn warnings(p: &Value) -> Vec<&str> {
    p["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect()
}

/// Whether `line` is what `pattern` says: the line itself, or with `…` standing for any
/// text (`error: --to 4.0.1…2.x LTS line`, `…published for electron only…`), so that a
/// row asserts the part of a message that matters.
fn matches(pattern: &str, line: &str) -> bool {
    let mut pieces = pattern.split('…');
    let first = pieces.next().unwrap_or("");
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    let mut last = None;
    for piece in pieces {
        if let Some(before) = last.replace(piece) {
            match rest.find(before) {
                Some(at) => rest = &rest[at + before.len()..],
                None => return false,
            }
        }
    }
    match last {
        None => rest.is_empty(),
        Some(end) => rest.ends_with(end),
    }
}

/// `lines` are as many as `patterns`, each matching its own.
fn lines_match(row: &str, lines: &[&str], patterns: &[&str]) {
    assert_eq!(lines.len(), patterns.len(), "{row}: {lines:?}");
    for (line, pattern) in lines.iter().zip(patterns) {
        assert!(matches(pattern, line), "{row}: {line:?} is not {pattern:?}");
    }
}

/// Each row's plan installs exactly these releases, in this order.
fn versions_are(rows: &[Row<&[&str]>]) {
    for &(row, expected) in rows {
        let (p, row) = row_plan(row);
        assert_eq!(versions(&p), expected, "{row}");
    }
}

/// Each row's plan installs these releases, every one but the target for `rule`.
fn stops_are(rule: &str, rows: &[Row<&[&str]>]) {
    for &(row, expected) in rows {
        let (p, row) = row_plan(row);
        assert_eq!(versions(&p), expected, "{row}");
        let mut rules = vec![rule; expected.len() - 1];
        rules.push("target");
        assert_eq!(step_rules(&p), rules, "{row}");
    }
}

/// Each row's plan writes exactly these, in this order, at the step named.
fn writes_are(rows: &[Row<(usize, &[&str])>]) {
    for &(row, (step, expected)) in rows {
        let (p, row) = row_plan(row);
        assert_eq!(writes(&p, step), expected, "{row}, step {step}");
    }
}

/// Each row's first step cites this rule for its write at this index.
fn write_rules_are(rows: &[Row<(usize, &str)>]) {
    for &(row, (at, rule)) in rows {
        let (p, row) = row_plan(row);
        assert_eq!(write_fields(&p, 0, "rule")[at], rule, "{row}, write {at}");
    }
}

/// Each row's plan writes exactly these files, in this order, at its first step.
fn files_are(rows: &[Row<&[&str]>]) {
    for &(row, expected) in rows {
        let (p, row) = row_plan(row);
        assert_eq!(files(&p, 0), expected, "{row}");
    }
}

/// Each row's first step writes no component whose name starts so.
fn never_writes(rows: &[Row<&str>]) {
    for &(row, component) in rows {
        let (p, row) = row_plan(row);
        let w = writes(&p, 0);
        assert!(!w.iter().any(|w| w.starts_with(component)), "{row}: {w:?}");
    }
}

/// Each row's plan warns exactly these, in this order.
fn warnings_are(rows: &[Row<&[&str]>]) {
    for &(row, expected) in rows {
        let (p, row) = row_plan(row);
        lines_match(&row, &warnings(&p), expected);
    }
}

/// Each row is refused with this one-line error.
fn refusals_are(rows: &[Row<&str>]) {
    for &(row, expected) in rows {
        let [platform, from, to, via] = words(row);
        let e = refused(platform, from, to, via);
        lines_match(&asked(platform, from, to, via), &[&e], &[expected]);
    }
}

/// Each row's SWD step builds its restore image with this command.
fn builds_are(rows: &[Row<&str>]) {
    for &(row, expected) in rows {
        let (p, row) = row_plan(row);
        let build = p["steps"][0]["build"].as_str().unwrap_or("");
        lines_match(&row, &[build], &[expected]);
    }
}

/// The patterns rows use match what they say and nothing else: a matcher that let every
/// line through would pass every refusal row.
#[test]
fn line_patterns_match_only_what_they_say() {
    for (pattern, line, expected) in [
        ("error: a", "error: a", true),
        ("error: a", "error: ab", false),
        ("error: a", "xerror: a", false),
        ("error:…", "error: a", true),
        ("error:…", "warning: a", false),
        ("…published for…", "was published for electron", true),
        ("…published for…", "was released for electron", false),
        ("…LTS line", "must stay on the 2.x LTS line", true),
        ("…LTS line", "the LTS line yet", false),
        ("the …2.x", "the P1 stays on 2.x", true),
        ("the …2.x", "the P1 stays on 4.x", false),
        ("a…b…c", "a1b2c", true),
        ("a…b…c", "a1c2b", false),
        ("ab…ba", "aba", false),
    ] {
        assert_eq!(matches(pattern, line), expected, "{pattern:?} on {line:?}");
    }
}

/// Every rule id, of the logic rules and of the `[[stop]]` rules, has a test here named
/// after it: the rules are what a plan cites, so each needs a case that proves it.
#[test]
fn every_seed_rule_has_a_test_named_after_it() {
    use hexsmith::upgrade::{rules, seeds::seeds};
    let source = include_str!("versions_plan.rs");
    let ids = rules::ALL
        .iter()
        .map(|r| r.id)
        .chain(seeds().stop.iter().map(|s| s.rule.as_str()));
    for id in ids {
        let test = format!("fn {}()", id.replace(['-', '.'], "_"));
        assert!(source.contains(&test), "rule {id} has no test `{test}`");
    }
}

// ---- Intermediate releases (the [[stop]] rules of src/upgrade/seeds.toml) ----

/// Versions and upgrades, "Using OTA or Serial (YModem) on Electron": 0.5.5, 0.6.4,
/// 0.7.0, 1.2.1, each if the device has less.
#[test]
fn electron_up_through_0_5_5_0_6_4_0_7_0_1_2_1() {
    const ALL_FOUR: &[&str] = &["0.5.5", "0.6.4", "0.7.0", "1.2.1", "2.0.0"];
    stops_are(
        "electron-up-through-0.5.5-0.6.4-0.7.0-1.2.1",
        &[
            // The old factory default (the table's "Electron MFG Release") to 2.0.0.
            ("electron 0.4.8-rc.6 2.0.0 ota", ALL_FOUR),
            ("electron 0.4.8-rc.6 2.0.0 serial", ALL_FOUR),
            // "if the current version is less than that": only the stops ahead of the
            // device.
            ("electron 0.6.4 2.0.0 ota", &["0.7.0", "1.2.1", "2.0.0"]),
            ("electron 1.2.1 2.0.0 ota", &["2.0.0"]),
            // ... and only those below the target.
            (
                "electron 0.4.8-rc.6 1.0.1 ota",
                &["0.5.5", "0.6.4", "0.7.0", "1.0.1"],
            ),
            // The older guide's example (0.4.8 to 0.6.2 "first 0.5.3, then 0.6.2"); the
            // newest page's first stop is 0.5.5, which we follow.
            ("electron 0.4.8-rc.6 0.6.2 ota", &["0.5.5", "0.6.2"]),
            // The older guide let 0.5.3 and 0.5.4 go straight on; the newest stops them
            // at 0.5.5.
            ("electron 0.5.4 0.6.2 ota", &["0.5.5", "0.6.2"]),
        ],
    );
    // Each step writes only what it must: 0.5.5 has two parts and its bootloader
    // inside them; 0.7.0 brings the first separate bootloader.
    const PARTS: [&str; 4] = [
        "system-part1 ota",
        "system-part2 ota",
        "system-part3 ota",
        "bootloader ota",
    ];
    writes_are(&[
        ("electron 0.4.8-rc.6 2.0.0 ota", (0, &PARTS[..2])),
        ("electron 0.4.8-rc.6 2.0.0 ota", (1, &PARTS[..3])),
        ("electron 0.4.8-rc.6 2.0.0 ota", (2, &PARTS)),
    ]);
}

/// Versions and upgrades, "OTA - Downgrade": Electron 1.2.1, 0.7.0, 0.6.4, 0.5.5.
#[test]
fn electron_down_through_1_2_1_0_7_0_0_6_4_0_5_5() {
    const GUIDE: &[&str] = &["1.2.1", "0.7.0", "0.6.4", "0.6.2"];
    stops_are(
        "electron-down-through-1.2.1-0.7.0-0.6.4-0.5.5",
        &[
            // The guide's example: an Electron on 1.5.2 to 0.6.2 over the air.
            ("electron 1.5.2 0.6.2 ota", GUIDE),
            ("electron 1.5.2 0.6.2 serial", GUIDE),
            // The older chart: 0.7.0 or later to 0.5.x through 0.5.5 (the newest adds
            // 0.6.4); 0.6.x to 0.5.2 or earlier through 0.5.3, 0.5.4 or 0.5.5.
            ("electron 0.7.0 0.5.3 ota", &["0.6.4", "0.5.5", "0.5.3"]),
            ("electron 0.6.2 0.5.2 ota", &["0.5.5", "0.5.2"]),
            // The guide's other example: 2.0.0 to 1.5.2 is one step.
            ("electron 2.0.0 1.5.2 ota", &["1.5.2"]),
        ],
    );
}

/// "OTA - Downgrade" lists 0.6.4 for Photon and P1 too, but they never had 0.6.4 (it was
/// published for the Electron only); the older chart's 0.6.3 ("only this version
/// downgrades the bootloader") is the release the plan installs.
#[test]
fn photon_p1_down_through_1_2_1_0_7_0_0_6_3_0_5_5() {
    const GUIDE: &[&str] = &["1.2.1", "0.7.0", "0.6.3", "0.6.2"];
    for platform in ["photon", "p1"] {
        stops_are(
            "photon-p1-down-through-1.2.1-0.7.0-0.6.3-0.5.5",
            &[
                (&format!("{platform} 1.5.2 0.6.2 ota"), GUIDE),
                (&format!("{platform} 1.5.2 0.6.2 serial"), GUIDE),
                // 0.7.0 or later to 0.6.x: 0.6.3 first; to 0.5.x: 0.5.5 first.
                (&format!("{platform} 0.7.0 0.6.1 ota"), &["0.6.3", "0.6.1"]),
                (
                    &format!("{platform} 0.7.0 0.5.3 ota"),
                    &["0.6.3", "0.5.5", "0.5.3"],
                ),
            ],
        );
        let error = format!(
            "error: --to 0.6.4: {platform} cannot run Device OS 0.6.4: Device OS 0.6.4 was published for electron only (release-published-for-platform)"
        );
        refusals_are(&[(&format!("{platform} 1.5.2 0.6.4 ota"), &error)]);
    }
}

/// Versions and upgrades: a Boron LTE BRN402 or B402 going from 2.0.0 or later to 1.5.1
/// or earlier installs 1.5.2 and lets it connect to cellular first (the modem keeps the
/// 460800 baud rate of 2.0.0). A modem setting, so for every way of writing, SWD too.
#[test]
fn boron_lte_down_through_1_5_2() {
    const STOP: &[&str] = &["1.5.2", "1.4.4"];
    for model in ["brn402", "b402"] {
        stops_are(
            "boron-lte-down-through-1.5.2",
            &[
                (&format!("{model} 2.0.0 1.4.4 ota"), STOP),
                (&format!("{model} 2.0.0 1.4.4 serial"), STOP),
                (&format!("{model} 2.0.0 1.4.4 usb"), STOP),
                (&format!("{model} 2.0.0 1.4.4 swd"), STOP),
                // From any 2.0.0 prerelease too; from 4.0.1 the same.
                (&format!("{model} 2.0.0-rc.4 1.4.4 usb"), STOP),
                (&format!("{model} 4.0.1 1.4.4 usb"), STOP),
                // The older page said "from 1.5.3 or later"; the newest says 2.0.0 or
                // later.
                (&format!("{model} 1.5.4-rc.2 1.4.4 usb"), &["1.4.4"]),
                // To 1.5.2 itself, nothing in between.
                (&format!("{model} 2.0.0 1.5.2 usb"), &["1.5.2"]),
            ],
        );
    }
    // A Boron of unnamed model: the guide's own example (2.0.0 to 1.4.4 in one jump),
    // with a warning naming the models that must stop.
    versions_are(&[("boron 2.0.0 1.4.4 usb", &["1.4.4"])]);
    warnings_are(&[
        (
            "boron 2.0.0 1.4.4 usb",
            &["…plan for brn402 instead: it must stop at 1.5.2…"],
        ),
        ("bsom 2.0.0 1.4.4 ota", &["…plan for b402 instead…"]),
    ]);
}

// ---- What each step writes, in which order and mode ----

/// Downgrading, the application goes first (built for the target or earlier, or Tinker),
/// or the safe mode healer upgrades the device again; once, at the start.
#[test]
fn user_firmware_first_when_downgrading() {
    for (via, mode) in [("ota", "ota"), ("serial", "listening"), ("usb", "dfu")] {
        let row = asked("electron", "1.5.2", "0.6.2", via);
        let p = plan("electron", "1.5.2", "0.6.2", via);
        assert_eq!(writes(&p, 0)[0], format!("user-part {mode}"), "{row}");
        assert_eq!(files(&p, 0)[0], "tinker", "{row}");
        assert_eq!(
            write_fields(&p, 0, "rule")[0],
            "user-firmware-first-when-downgrading",
            "{row}"
        );
        for step in 1..versions(&p).len() {
            let w = writes(&p, step);
            assert!(
                !w.iter().any(|w| w.starts_with("user-part")),
                "{row}: {w:?}"
            );
        }
    }
    // Never when going up.
    never_writes(&[("electron 1.5.2 2.0.0 ota", "user-part")]);
}

/// Going up, system parts in numerical order, all of the same release.
#[test]
fn system_parts_in_order_going_up() {
    files_are(&[(
        "electron 1.5.2 2.2.0 ota",
        &[
            "electron-system-part1@2.2.0.bin",
            "electron-system-part2@2.2.0.bin",
            "electron-system-part3@2.2.0.bin",
            "electron-bootloader@2.2.0+lto.bin",
        ],
    )]);
    let row = "photon 1.5.2 2.2.0 usb";
    const WRITES: &[&str] = &[
        "system-part1 dfu",
        "system-part2 dfu",
        "bootloader listening",
    ];
    writes_are(&[(row, (0, WRITES))]);
    write_rules_are(&[(row, (0, "system-parts-in-order-going-up"))]);
}

/// Downgrading over the air or serial: system parts in reverse order, then the
/// bootloader; the guide's "electron7" example, file for file.
#[test]
fn system_parts_in_reverse_going_down() {
    let p = plan("electron", "2.0.0", "1.5.2", "ota");
    assert_eq!(
        files(&p, 0),
        [
            "tinker",
            "electron-system-part3@1.5.2.bin",
            "electron-system-part2@1.5.2.bin",
            "electron-system-part1@1.5.2.bin",
            "electron-bootloader@1.5.2+lto.bin"
        ]
    );
    assert_eq!(
        write_fields(&p, 0, "command")[1],
        "particle flash DEVICE electron-system-part3@1.5.2.bin"
    );
    const WRITES: &[&str] = &[
        "user-part listening",
        "system-part2 listening",
        "system-part1 listening",
        "bootloader listening",
    ];
    let row = "photon 2.2.0 1.5.2 serial";
    writes_are(&[(row, (0, WRITES))]);
    write_rules_are(&[(row, (1, "system-parts-in-reverse-going-down"))]);
}

/// Downgrading over DFU: one jump, the guide's "Boron from 2.0.0 back to 1.4.4":
/// application and system part in DFU mode, bootloader and (not always required)
/// SoftDevice in listening mode.
#[test]
fn system_parts_over_dfu_in_any_order() {
    writes_are(&[
        (
            "boron 2.0.0 1.4.4 usb",
            (
                0,
                &[
                    "user-part dfu",
                    "system-part1 dfu",
                    "bootloader listening",
                    "softdevice listening optional",
                ],
            ),
        ),
        (
            "electron 2.2.0 1.5.2 usb",
            (
                0,
                &[
                    "user-part dfu",
                    "system-part1 dfu",
                    "system-part2 dfu",
                    "system-part3 dfu",
                    "bootloader listening",
                ],
            ),
        ),
    ]);
    files_are(&[(
        "boron 2.0.0 1.4.4 usb",
        &[
            "tinker",
            "boron-system-part1@1.4.4.bin",
            "boron-bootloader@1.4.4.bin",
            "boron-softdevice@1.4.4.bin",
        ],
    )]);
}

/// The bootloader is written after the system parts when the release's differs from the
/// device's (the table's bootloader versions), never in DFU mode. The guides' "Upgrading
/// a Boron to 2.0.0 by USB" and "Updating SoftDevice and Bootloader via OTA".
#[test]
fn bootloader_when_it_changes() {
    writes_are(&[
        (
            "boron 1.5.2 2.0.0 usb",
            (
                0,
                &[
                    "system-part1 dfu",
                    "bootloader listening",
                    "softdevice listening optional",
                ],
            ),
        ),
        (
            "boron 1.5.2 2.0.0 ota",
            (
                0,
                &[
                    "system-part1 ota",
                    "bootloader ota",
                    "softdevice ota optional",
                ],
            ),
        ),
        // 2.2.0 and 2.3.0 share bootloader 1006 and SoftDevice 202 (the published
        // images): only the system part to write.
        ("boron 2.2.0 2.3.0 usb", (0, &["system-part1 dfu"])),
    ]);
    files_are(&[
        // The older page's example names, for 2.0.0-rc.4.
        (
            "boron 1.5.2 2.0.0-rc.4 usb",
            &[
                "boron-system-part1@2.0.0-rc.4.bin",
                "boron-bootloader@2.0.0-rc.4.bin",
                "boron-softdevice@2.0.0-rc.4.bin",
            ],
        ),
        // Photon/P1 crossing 0.7.0: "0.7.0 requires a bootloader upgrade".
        (
            "photon 0.6.3 0.7.0 ota",
            &[
                "system-part1-0.7.0-photon.bin",
                "system-part2-0.7.0-photon.bin",
                "bootloader-0.7.0-photon.bin",
            ],
        ),
    ]);
    // Over USB, never in DFU mode.
    for (platform, from, to) in [("photon", "0.6.3", "2.2.0"), ("electron", "2.2.0", "1.5.2")] {
        let w = writes(&plan(platform, from, to, "usb"), 0);
        let row = asked(platform, from, to, "usb");
        assert!(
            w.contains(&"bootloader listening".to_string()),
            "{row}: {w:?}"
        );
    }
}

/// Before 0.7.0 a Gen 2 release carries its bootloader inside its system parts (0.6.3 and
/// 0.6.4 put the old one back): no bootloader file.
#[test]
fn gen2_bootloader_inside_system_parts_before_0_7_0() {
    const FILES: &[&str] = &[
        "tinker",
        "system-part2-0.6.3-photon.bin",
        "system-part1-0.6.3-photon.bin",
    ];
    files_are(&[("photon 0.7.0 0.6.3 ota", FILES)]);
    let p = plan("photon", "0.7.0", "0.6.3", "ota");
    let note = p["steps"][0]["notes"][0].as_str().unwrap();
    assert!(note.starts_with("no bootloader file: 0.6.3 puts its own bootloader back"));
}

/// The Electron had two system parts before 0.6.0 ("0.5.x has two parts").
#[test]
fn electron_two_system_parts_before_0_6_0() {
    writes_are(&[(
        "electron 0.6.4 0.5.5 serial",
        (
            0,
            &[
                "user-part listening",
                "system-part2 listening",
                "system-part1 listening",
            ],
        ),
    )]);
}

/// nRF52840 only, and only when the release's SoftDevice differs from the device's or the
/// table cannot tell ("not always required").
#[test]
fn softdevice_when_it_changes() {
    writes_are(&[
        // 2.2.0 and 4.0.1 both carry S140 7.0.1 (radio stack 202).
        (
            "boron 2.2.0 4.0.1 ota",
            (0, &["system-part1 ota", "bootloader ota"]),
        ),
        // 2.0.0's is not in the table: written if needed.
        (
            "argon 2.0.0 2.2.0 ota",
            (
                0,
                &[
                    "system-part1 ota",
                    "bootloader ota",
                    "softdevice ota optional",
                ],
            ),
        ),
    ]);
    // Gen 2 has none.
    never_writes(&[("photon 1.5.2 2.2.0 ota", "softdevice")]);
}

/// The Tracker's NCP firmware came with 3.0.0: written going up across it (listening
/// mode or over the air), never going down. The Argon's never changed.
#[test]
fn ncp_going_up_across_its_release() {
    const WRITES: &[&str] = &["system-part1 dfu", "bootloader listening", "ncp listening"];
    writes_are(&[("tracker 2.2.0 4.0.1 usb", (0, WRITES))]);
    let p = plan("tracker", "2.2.0", "4.0.1", "usb");
    assert_eq!(files(&p, 0)[2], "tracker-esp32-ncp@0.0.7.bin");
    never_writes(&[
        ("tracker 4.0.1 2.2.0 ota", "ncp"),
        ("argon 1.5.2 4.0.1 ota", "ncp"),
    ]);
}

/// Gen 3 devices on 0.8.0 release candidates can only upgrade Device OS in DFU mode;
/// from 0.9.0 on, listening mode works too.
#[test]
fn gen3_0_8_0_rc_upgrades_over_dfu_only() {
    let p = plan("boron", "0.8.0-rc.27", "1.5.2", "serial");
    assert_eq!(writes(&p, 0)[0], "system-part1 dfu");
    write_rules_are(&[(
        "boron 0.8.0-rc.27 1.5.2 serial",
        (0, "gen3-0.8.0-rc-upgrades-over-dfu-only"),
    )]);
    let p = plan("boron", "0.9.0", "1.5.2", "serial");
    assert_eq!(writes(&p, 0)[0], "system-part1 listening");
}

/// Over the air every write reboots the device: wait for it to come back online.
#[test]
fn ota_waits_for_the_device_after_each_write() {
    let p = plan("electron", "2.0.0", "1.5.2", "ota");
    for w in p["steps"][0]["writes"].as_array().unwrap() {
        assert!(w["then"].as_str().unwrap().contains("back online"));
    }
    let p = plan("electron", "2.0.0", "1.5.2", "usb");
    for w in p["steps"][0]["writes"].as_array().unwrap() {
        assert!(w["then"].is_null());
    }
}

// ---- USB and SWD ----

/// "Using DFU over USB on Electron/Photon/P1: you may update Device OS to 2.0.0
/// directly"; downgrading by USB "can generally be done in one version jump".
#[test]
fn usb_installs_device_os_in_one_jump() {
    versions_are(&[
        ("electron 0.4.8-rc.6 2.0.0 usb", &["2.0.0"]),
        ("electron 2.0.0 0.6.2 usb", &["0.6.2"]),
        ("photon 1.5.2 0.6.2 usb", &["0.6.2"]),
    ]);
}

/// Over SWD, one restore image upgrades and downgrades alike: a catalog of
/// restore-images/ where one lists the platform, else the release's module files.
#[test]
fn swd_one_restore_image() {
    let p = plan("electron", "0.4.8-rc.6", "2.0.0", "swd");
    assert_eq!(versions(&p), ["2.0.0"]);
    assert_eq!(writes(&p, 0), ["restore-image swd"]);
    files_are(&[("boron 4.0.1 2.2.0 swd", &["OUT/boron.hex"])]);
    builds_are(&[
        (
            "electron 0.4.8-rc.6 2.0.0 swd",
            "hexsmith build -o electron.hex electron-system-part1@2.0.0.bin electron-system-part2@2.0.0.bin electron-system-part3@2.0.0.bin electron-bootloader@2.0.0+lto.bin electron-tinker@2.0.0.bin",
        ),
        (
            "boron 4.0.1 2.2.0 swd",
            "hexsmith build --catalog restore-images/2.2.0.toml --from DIR --out-dir OUT --mbr FILE",
        ),
        (
            "asom 1.1.0 1.4.4 swd",
            "hexsmith build --catalog restore-images/1.4.4.toml…",
        ),
        (
            "xenon 1.4.4 1.5.2 swd",
            "hexsmith build --catalog restore-images/1.5.2.toml…",
        ),
        (
            "photon 2.2.0 2.3.1 swd",
            "hexsmith build --catalog restore-images/2.3.1.toml…",
        ),
        (
            "esomx 6.3.4 4.0.1 swd",
            "hexsmith build --catalog restore-images/4.0.1.toml…",
        ),
        // Electron 1.5.2 is in no catalog (its files came without a bootloader).
        (
            "electron 2.2.0 1.5.2 swd",
            "hexsmith build -o electron.hex…",
        ),
        // Gen 3 images from module files: the MBR too.
        (
            "boron 2.2.0 1.4.4 swd",
            "hexsmith build --mbr FILE -o boron.hex boron-softdevice@1.4.4.bin boron-system-part1@1.4.4.bin boron-bootloader@1.4.4.bin boron-tinker@1.4.4.bin",
        ),
    ]);
}

// ---- What a device can run ----

/// Photon and P1 (factory 1.2.1), Electron and E Series (factory 2.2.0) must stay on 2.x.
#[test]
fn gen2_stays_on_2_x_lts() {
    for platform in ["photon", "p1", "electron"] {
        let error = format!(
            "error: --to 4.0.1: {platform} cannot run Device OS 4.0.1: the …must stay on the 2.x LTS line (gen2-stays-on-2.x-lts)"
        );
        refusals_are(&[(&format!("{platform} 2.2.0 4.0.1 ota"), &error)]);
    }
}

/// B404X, BRN404X and E404X need 4.0.0 or later; B404 2.3.0 or later.
#[test]
fn platform_and_model_minimum_releases() {
    refusals_are(&[
        (
            "b404x 4.0.1 2.2.0 usb",
            "error: --to 2.2.0: b404x cannot run Device OS 2.2.0: the B404X requires Device OS 4.0.0 or later (platform-and-model-minimum-releases)",
        ),
        (
            "brn404x 4.0.1 1.5.2 swd",
            "error: --to 1.5.2: brn404x cannot run Device OS 1.5.2: the BRN404X requires Device OS 4.0.0 or later (platform-and-model-minimum-releases)",
        ),
        ("b404 4.0.1 2.2.0 usb", "…2.3.0 or later…"),
        // A device cannot be on a release it cannot run.
        (
            "b404x 2.2.0 4.0.1 usb",
            "error: --from 2.2.0: b404x cannot run Device OS 2.2.0…",
        ),
    ]);
    versions_are(&[("b404 4.0.1 2.3.0 usb", &["2.3.0"])]);
}

/// A platform runs the releases published for it: the Photon never had 0.6.4, the Xenon
/// stops at 1.5.x, the Electron had no 0.4.9.
#[test]
fn release_published_for_platform() {
    refusals_are(&[
        ("photon 0.6.4 1.5.2 ota", "…published for electron only…"),
        ("xenon 1.5.2 2.2.0 ota", "…cannot run Device OS 2.2.0…"),
        (
            "electron 1.5.2 0.4.9 usb",
            "…published for core, photon, p1 only…",
        ),
        // No Gen 3 platform had 0.4.x.
        (
            "argon 0.4.7 1.5.2 usb",
            "…argon first appears in the table with 0.8.0-rc.13, and 0.4.9 was published without it (release-published-for-platform)",
        ),
    ]);
}

/// "This device can use older versions of Device OS but we do not recommend downgrading".
#[test]
fn advised_minimum_release() {
    warnings_are(&[
        (
            "electron 2.2.0 1.5.2 usb",
            &["1.5.2 is below 2.2.0: recent Electrons…"],
        ),
        ("photon 2.2.0 1.2.1 usb", &[]),
        ("photon 2.2.0 1.1.0 usb", &["1.1.0 is below 1.2.1: …"]),
        // Going up to it is not a downgrade.
        ("electron 1.5.2 2.0.0 usb", &[]),
        // "0.9.0: Oldest recommended Gen 3 version".
        (
            "boron 1.5.2 0.8.0-rc.27 usb",
            &[
                "0.8.0-rc.27 is below 0.9.0: 0.9.0 is the oldest recommended Gen 3 version (advised-minimum-release)",
            ],
        ),
    ]);
}

/// Photons on monolithic firmware (before 0.4.1) can only be switched to modular by USB.
#[test]
fn photon_monolithic_firmware_usb_only() {
    refusals_are(&[(
        "photon 0.4.0 0.6.3 ota",
        "error: --from 0.4.0: a Photon running monolithic firmware…never over the air (photon-monolithic-firmware-usb-only): use --via usb",
    )]);
    versions_are(&[("photon 0.4.0 0.6.3 usb", &["0.6.3"])]);
}

/// "You should be able to upgrade any 0.4.6 or later directly to any version for
/// Photon/P1": no stops; from older ones a warning.
#[test]
fn photon_p1_direct_upgrade_from_0_4_6() {
    for platform in ["photon", "p1"] {
        let p = plan(platform, "0.4.6", "2.2.0", "ota");
        assert_eq!(versions(&p), ["2.2.0"], "{platform}");
        // 0.4.6 is not in Particle's platform columns: said so, not refused.
        let w = warnings(&p);
        assert!(w.iter().all(|w| !w.contains("seeds do not say")), "{w:?}");
    }
    let p = plan("photon", "0.4.5", "2.2.0", "ota");
    let w = warnings(&p);
    assert!(
        w.iter()
            .any(|w| w.contains("photon-p1-direct-upgrade-from-0.4.6")),
        "{w:?}"
    );
}

/// The Spark Core runs monolithic firmware: nothing to plan.
#[test]
fn core_monolithic_no_device_os_to_plan() {
    refusals_are(&[(
        "core 1.0.0 1.2.1 ota",
        "error: core: the Spark Core runs monolithic firmware: each application carries its own Device OS (core-monolithic-no-device-os-to-plan), so there is no Device OS to upgrade or downgrade",
    )]);
}

// ---- Input ----

#[test]
fn releases_are_named_by_version_or_by_the_module_version_a_device_reports() {
    let p = plan("boron", "1406", "v2.2.0", "ota");
    assert_eq!((&p["from"], &p["to"]), (&"1.4.4".into(), &"2.2.0".into()));
    let p = plan("photon", "207", "1512", "ota");
    assert_eq!((&p["from"], &p["to"]), (&"0.7.0".into(), &"1.5.2".into()));
}

#[test]
fn bad_input_is_one_line_naming_the_fault() {
    refusals_are(&[
        (
            "photon3 1.5.2 2.0.0 ota",
            "error: unknown platform or model 'photon3' (known: core, photon, p1, electron,…",
        ),
        (
            "photon 1.5 2.0.0 ota",
            "error: --from 1.5: '1.5' is not a Device OS version (like 1.5.2) or a system module version (like 1512)…",
        ),
        (
            "photon 1.5.2 9.9.9 ota",
            "error: --to 9.9.9: photon cannot run Device OS 9.9.9: the Photon and P1 must stay on the 2.x LTS line (gen2-stays-on-2.x-lts)…",
        ),
        (
            "photon 313 2.0.0 ota",
            "error: --from 313: no Device OS release for photon in the table carries system module version 313…",
        ),
        (
            "photon 1.5.2 2.0.0 wifi",
            "error: --via wifi: not a way of writing a device (ota, serial, usb or swd)…",
        ),
        (
            "p2 5.0.0 4.1.0 ota",
            "error: --to 4.1.0: p2 cannot run Device OS 4.1.0: the P2 cannot use an LTS line yet…",
        ),
    ]);
    let r = hexsmith(&["versions", "--platform", "nope"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .starts_with("error: unknown platform or model 'nope'")
    );
}

#[test]
fn same_release_is_nothing_to_do() {
    let p = plan("boron", "2.2.0", "2.2.0", "ota");
    assert_eq!(p["direction"], "none");
    assert!(versions(&p).is_empty());
}

// ---- versions ----

fn versions_json(args: &[&str]) -> Value {
    let mut full = vec!["versions", "--json"];
    full.extend(args);
    let r = hexsmith(&full);
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap()
}

/// The releases a `versions --json` lists, in its order.
fn release_names(v: &Value) -> Vec<&str> {
    each_field(&v["system"], "version")
}

fn find_module(system: &[Value], name: &str) -> u64 {
    system
        .iter()
        .find(|s| s["version"] == name)
        .and_then(|s| s["module_version"].as_u64())
        .unwrap_or_else(|| panic!("{name} missing"))
}

/// Every pair of Particle's system-versions.md (0.4.0 to 3.2.0, 150 lines) and the later
/// ones seen in binaries, with bootloader versions, LTS lines and platforms.
#[test]
fn versions_carries_every_published_pair() {
    let v = versions_json(&[]);
    let system = v["system"].as_array().unwrap();
    // Plus the 33 releases only Particle's published restore images name (2.0.2, 3.3.x,
    // 4.0.0 to 6.5.0).
    assert_eq!(system.len(), 186);
    assert_eq!(find_module(system, "5.1.0"), 5004);
    assert_eq!(find_module(system, "5.4.1"), 5410);
    assert_eq!(find_module(system, "6.5.0"), 6500);
    let find = |name: &str| system.iter().find(|s| s["version"] == name).unwrap();
    assert_eq!(find("1.5.2")["module_version"], 1512);
    assert_eq!(find("1.5.2")["bootloader_module_version"], 502);
    assert_eq!(find("0.7.0")["module_version"], 207);
    assert_eq!(find("0.6.4")["platforms"], serde_json::json!(["electron"]));
    assert_eq!(find("4.0.1")["module_version"], 4005);
    assert_eq!(find("6.3.4")["module_version"], 6305);
    assert_eq!(find("2.0.0-rc.4")["prerelease"], true);
    let lts: Vec<&str> = system
        .iter()
        .filter(|s| s["lts"] == true)
        .map(|s| s["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        lts,
        [
            "2.0.1", "2.0.2", "2.1.0", "2.2.0", "2.3.0", "2.3.1", "4.0.0", "4.0.1", "4.0.2",
            "4.1.0", "4.2.0", "6.1.0", "6.1.1", "6.2.0", "6.2.1", "6.3.0", "6.3.2", "6.3.3",
            "6.3.4", "6.3.5", "6.4.0", "6.4.1", "6.5.0"
        ]
    );
    // The releases of one platform only.
    let photon = versions_json(&["--platform", "photon"]);
    let names = release_names(&photon);
    assert!(names.contains(&"0.6.3") && !names.contains(&"0.6.4"));
    assert_eq!(names.last(), Some(&"2.3.1"));
    assert_eq!(photon["platforms"][0]["last_line"]["major"], 2);
}

#[test]
fn snapshot_versions_json() {
    let r = hexsmith(&["versions", "--json"]);
    assert_eq!(r.code, 0);
    insta::assert_snapshot!("versions_json", r.stdout);
}

#[test]
fn snapshot_versions_text_of_one_platform() {
    let r = hexsmith(&["versions", "--platform", "electron"]);
    assert_eq!(r.code, 0);
    insta::assert_snapshot!("versions_electron_text", r.stdout);
}

#[test]
fn snapshot_plans() {
    for (name, platform, from, to, more) in [
        (
            "plan_electron_0.4.8-rc.6_to_2.0.0_ota_text",
            "electron",
            "0.4.8-rc.6",
            "2.0.0",
            &[][..],
        ),
        (
            "plan_photon_1.5.2_to_0.6.2_ota_text",
            "photon",
            "1.5.2",
            "0.6.2",
            &[],
        ),
        (
            "plan_brn402_2.0.0_to_1.4.4_usb_json",
            "brn402",
            "2.0.0",
            "1.4.4",
            &["--via", "usb", "--json"],
        ),
        (
            "plan_tracker_2.2.0_to_4.0.1_serial_json",
            "tracker",
            "2.2.0",
            "4.0.1",
            &["--via", "serial", "--json"],
        ),
        (
            "plan_boron_4.0.1_to_2.2.0_swd_text",
            "boron",
            "4.0.1",
            "2.2.0",
            &["--via", "swd"],
        ),
    ] {
        let r = run_plan(platform, from, to, more);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        insta::assert_snapshot!(name, r.stdout);
    }
}

// ---- current platforms (issue 9) ----

#[test]
fn p2_has_every_published_release_and_plans_between_them() {
    let v = versions_json(&["--platform", "p2"]);
    let names = release_names(&v);
    assert_eq!(names.first(), Some(&"5.0.0"));
    assert_eq!(names.last(), Some(&"6.5.0"));
    assert_eq!(names.len(), 25);
    let p = plan("p2", "5.0.0", "6.3.4", "ota");
    assert_eq!(versions(&p), ["6.3.4"]);
    assert_eq!(p["from_module_version"], 5002);
    assert_eq!(p["to_module_version"], 6305);
    assert_eq!(
        files(&p, 0),
        ["p2-system-part1@6.3.4.bin", "p2-bootloader@6.3.4.bin"]
    );
    assert_eq!(
        p["steps"][0]["notes"][0],
        "the prebootloader part changes (3 -> 11, p2-prebootloader-part1@6.3.4.bin): the seeds do not say how to write it on its own; an SWD restore image carries it (--via swd)"
    );
    // 6.4.0 to 6.5.0 share prebootloader 13: nothing to say.
    let p = plan("p2", "6.4.0", "6.5.0", "ota");
    assert!(p["steps"][0]["notes"].as_array().unwrap().is_empty());
    let p = plan("p2", "5.0.0", "6.3.4", "swd");
    assert!(
        p["steps"][0]["build"]
            .as_str()
            .unwrap()
            .contains("p2-prebootloader-part1@6.3.4.bin")
    );
}

/// Every release each current platform has, planned from its first and to its last, over
/// every way of writing; and the way down. Through the library: hundreds of plans.
#[test]
fn current_platforms_plan_over_every_release_they_have() {
    use hexsmith::upgrade::{Direction, Via, device, plan};
    for (platform, first, count) in [
        ("p2", "5.0.0", 25),
        ("msom", "5.5.0", 16),
        ("trackerm", "5.0.0", 25),
        ("esomx", "4.0.0", 32),
    ] {
        let d = device(platform).unwrap();
        let (runs, unknown) = d.releases();
        assert!(unknown.is_empty(), "{platform}");
        assert_eq!(runs.len(), count, "{platform}");
        assert_eq!(runs[0].release, first, "{platform}");
        for release in &runs[1..] {
            for via in Via::ALL {
                let up = plan(&d, runs[0], release, via).unwrap();
                assert_eq!(up.direction, Direction::Upgrade);
                assert_eq!(up.steps.last().unwrap().version, release.release);
                assert!(
                    up.warnings.is_empty(),
                    "{platform} {via:?}: {:?}",
                    up.warnings
                );
            }
            let down = plan(&d, release, runs[0], Via::Usb).unwrap();
            assert_eq!(down.direction, Direction::Downgrade);
        }
    }
}

/// A plan goes by version order: a well-formed version the table does not list is
/// planned, with a note, never refused for that alone.
#[test]
fn versions_the_table_does_not_list_are_planned_by_order() {
    let p = plan("electron", "0.4.8", "2.0.0", "ota");
    assert_eq!(versions(&p), ["0.5.5", "0.6.4", "0.7.0", "1.2.1", "2.0.0"]);
    assert!(p["from_module_version"].is_null());
    assert!(
        p["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("--from 0.4.8: Device OS 0.4.8 is not in hexsmith's release table (it has 0.4.8-rc.1, 0.4.8-rc.6): planned by version order")
    );
    let p = plan("boron", "4.1.0", "6.5.0", "ota");
    assert_eq!(versions(&p), ["6.5.0"]);
    let p = plan("p2", "6.5.0", "7.2.1", "usb");
    assert_eq!(versions(&p), ["7.2.1"]);
    assert!(p["to_module_version"].is_null());
    assert!(p["steps"][0]["module_version"].is_null());
    assert!(
        p["warnings"][0]
            .as_str()
            .unwrap()
            .contains("7.2.1 is not in hexsmith's release table")
    );
}
