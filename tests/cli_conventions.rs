//! The command line's conventions for scripts and pipelines: one exit status for usage
//! errors, clap's own messages for build's argument combinations, a closed standard output
//! that is not a failure, `--json` documents (errors included) with their schema and tool
//! version, and both SHA-256 values of a built image.

mod common;

use common::{assert_says, device_os, file_names, hexsmith, stderr, stdout};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Stdio};

const USAGE: i32 = 64;

fn updates() -> std::path::PathBuf {
    device_os().join("particle-cli-3.6.0/updates")
}

/// `build` of one platform of the 4.0.1 release folder `updates` into `out`.
fn release_build<'a>(updates: &'a str, out: &'a str, platform: &'a str) -> Vec<&'a str> {
    vec![
        "build",
        "--release",
        updates,
        "--out-dir",
        out,
        "--platform",
        platform,
    ]
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

#[test]
fn build_argument_combinations_get_clap_messages_and_the_usage_status() {
    let d = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["build", "a.bin", "b.bin"],
            "error: the following required arguments were not provided:",
        ),
        (
            &["build", "--release", "dir", "-o", "x.hex"],
            "error: the argument '--release <DIR>' cannot be used with '--output <OUT.hex>'",
        ),
        (
            &[
                "build",
                "--catalog",
                "c.toml",
                "--from",
                "dir",
                "-o",
                "x.hex",
            ],
            "error: the argument '--catalog <FILE>' cannot be used with '--output <OUT.hex>'",
        ),
        (
            &["build", "--release", "dir"],
            "error: the following required arguments were not provided:",
        ),
        (
            &["build", "a.bin", "--out-dir", "o"],
            "error: the argument '[MODULE]...' cannot be used with '--out-dir <OUT>'",
        ),
    ];
    for (args, message) in cases {
        let o = hexsmith(d.path(), args);
        assert_eq!(o.status.code(), Some(USAGE), "{args:?}");
        assert_eq!(first_line(&stderr(&o)), *message, "{args:?}");
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
    // Which argument is missing, by name.
    let o = hexsmith(d.path(), &["build", "a.bin"]);
    assert_eq!(
        stderr(&o).lines().nth(1).unwrap().trim(),
        "--output <OUT.hex>"
    );
    let o = hexsmith(d.path(), &["build", "--release", "dir"]);
    assert_eq!(stderr(&o).lines().nth(1).unwrap().trim(), "--out-dir <OUT>");
    assert!(
        std::fs::read_dir(d.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

#[test]
fn usage_errors_found_inside_a_command_share_clap_status() {
    let d = tempfile::tempdir().unwrap();
    let u = updates();
    let u = u.to_str().unwrap();
    for (args, message) in [
        (
            vec![
                "build",
                "--release",
                u,
                "--out-dir",
                "o",
                "--user",
                "app.bin",
            ],
            "error: --user app.bin: with --release or --catalog, write --user PLATFORM=APP",
        ),
        (
            vec![
                "build",
                "--release",
                u,
                "--out-dir",
                "o",
                "--platform",
                "nosuch",
            ],
            "error: --platform nosuch: unknown platform",
        ),
        (
            vec!["flash", "--bogus-flag"],
            "error: unexpected argument '--bogus-flag' found",
        ),
    ] {
        let o = hexsmith(d.path(), &args);
        assert_eq!(o.status.code(), Some(USAGE), "{args:?}: {}", stderr(&o));
        assert_eq!(first_line(&stderr(&o)), message);
    }
    // Unreadable input keeps 2, a refusal 1: distinct from usage.
    let o = hexsmith(d.path(), &["build", "missing.bin", "-o", "x.hex"]);
    assert_eq!(o.status.code(), Some(2));
    // --help and --version are not errors.
    for args in [&["--help"][..], &["build", "--help"], &["--version"]] {
        let o = hexsmith(d.path(), args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert!(!stdout(&o).is_empty());
    }
}

#[test]
fn platform_selects_one_platform_of_a_release_folder() {
    let d = tempfile::tempdir().unwrap();
    let u = updates();
    let u = u.to_str().unwrap();
    let o = hexsmith(d.path(), &release_build(u, "out", "boron"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        file_names(&d.path().join("out")),
        ["boron.hex", "boron.json"]
    );

    let o = hexsmith(d.path(), &release_build(u, "out2", "p2"));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        first_line(&stderr(&o))
            .starts_with("error: --platform p2: no p2 modules among the inputs (found: "),
        "{}",
        stderr(&o)
    );
    assert!(!d.path().join("out2").exists());
}

#[test]
fn build_names_the_file_hash_and_the_memory_content_hash() {
    let d = tempfile::tempdir().unwrap();
    let u = updates();
    let o = hexsmith(
        d.path(),
        &release_build(u.to_str().unwrap(), "out", "boron"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let file_sha = hex(&Sha256::digest(
        std::fs::read(d.path().join("out/boron.hex")).unwrap(),
    ));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("out/boron.json")).unwrap()).unwrap();
    let memory_sha = manifest["sha256"].as_str().unwrap();
    assert_ne!(file_sha, memory_sha);
    let text = stdout(&o);
    assert_says(&text, &format!("  file sha256            {file_sha}\n"));
    assert_says(&text, &format!("  memory-content sha256  {memory_sha}\n"));
}

#[test]
fn json_documents_carry_schema_and_version_and_are_snapshotted() {
    let d = tempfile::tempdir().unwrap();
    let u = updates();
    std::fs::create_dir(d.path().join("rel")).unwrap();
    for f in [
        "boron-bootloader@4.0.1.bin",
        "boron-softdevice@4.0.1.bin",
        "boron-system-part1@4.0.1.bin",
    ] {
        std::fs::copy(u.join(f), d.path().join("rel").join(f)).unwrap();
    }
    let o = hexsmith(
        d.path(),
        &["build", "--release", "rel", "--out-dir", "out", "--json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let build = document(&o);
    insta::assert_json_snapshot!("build_json", build);

    let tinker =
        common::real("particle-cli-3.51.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin");
    std::fs::copy(tinker, d.path().join("app.bin")).unwrap();
    let o = hexsmith(
        d.path(),
        &[
            "replace-user",
            "--base",
            "out/boron.hex",
            "--user",
            "app.bin",
            "-o",
            "new.hex",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    insta::assert_json_snapshot!("replace_user_json", document(&o));

    // Every other command's document carries the same two fields.
    for args in [
        vec!["versions", "--json", "--platform", "boron"],
        vec![
            "plan",
            "--platform",
            "boron",
            "--from",
            "2.2.0",
            "--to",
            "4.0.1",
            "--json",
        ],
        vec!["inspect", "--json", "out/boron.hex"],
    ] {
        let o = hexsmith(d.path(), &args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        document(&o);
    }
}

#[test]
fn json_errors_are_documents_on_stdout_and_a_line_on_stderr() {
    let d = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["build", "missing.bin", "-o", "x.hex", "--json"],
            2,
            "unreadable",
        ),
        (
            &["build", "--json", "--release", "dir", "-o", "x.hex"],
            USAGE,
            "usage",
        ),
        (
            &[
                "replace-user",
                "--base",
                "none.hex",
                "--user",
                "a.bin",
                "-o",
                "x.hex",
                "--json",
            ],
            2,
            "unreadable",
        ),
    ];
    for (args, status, kind) in cases {
        let o = hexsmith(d.path(), args);
        assert_eq!(o.status.code(), Some(*status), "{args:?}");
        let doc = document(&o);
        assert_eq!(doc["error"]["kind"], *kind, "{args:?}");
        assert_eq!(doc["error"]["exit_status"], *status, "{args:?}");
        let line = first_line(&stderr(&o)).to_string();
        assert_eq!(
            format!("error: {}", doc["error"]["message"].as_str().unwrap()),
            line,
            "{args:?}"
        );
    }
    // A refusal: an application whose dependency the image cannot meet.
    let u = updates();
    let sd = u.join("boron-softdevice@4.0.1.bin");
    let sp = u.join("boron-system-part1@4.0.1.bin");
    let o = hexsmith(
        d.path(),
        &[
            "build",
            sd.to_str().unwrap(),
            sp.to_str().unwrap(),
            "-o",
            "x.hex",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let doc = document(&o);
    assert_eq!(doc["error"]["kind"], "refused");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with("(--allow-safe-mode builds it anyway)")
    );
    assert!(!d.path().join("x.hex").exists());
}

/// Parses a JSON document from standard output, checks the fields every document
/// carries, and gives it back with the tool version masked (snapshots outlive versions).
fn document(o: &std::process::Output) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(&stdout(o)).unwrap_or_else(|e| {
        panic!("not one JSON document ({e}): {}", stdout(o));
    });
    assert_eq!(v["schema"], 1);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    v["version"] = "[version]".into();
    v
}

/// Runs hexsmith with standard output a pipe whose reading end is already closed: every
/// write fails with EPIPE (Rust ignores SIGPIPE, so no signal ends the process first).
fn run_into_closed_pipe(dir: &Path, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_hexsmith"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_pipe_is_not_a_failure() {
    let d = tempfile::tempdir().unwrap();
    let u = updates();
    let sp = u.join("boron-system-part1@4.0.1.bin");
    let sp = sp.to_str().unwrap();
    let build = release_build(u.to_str().unwrap(), "out", "boron");
    let cases: Vec<Vec<&str>> = vec![
        vec!["versions"],
        vec!["versions", "--json"],
        vec![
            "plan",
            "--platform",
            "electron",
            "--from",
            "0.6.4",
            "--to",
            "2.3.1",
        ],
        vec!["inspect", sp],
        vec!["inspect", "--json", sp],
        build.clone(),
        [&build[..], &["--json"]].concat(),
        vec!["flash", "--dry-run", "out/boron.hex"],
        vec!["flash", "--dry-run", "--json", "out/boron.hex"],
        vec!["probes"],
        vec!["--help"],
    ];
    for args in &cases {
        let o = run_into_closed_pipe(d.path(), args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
    }
    // The work was still done.
    assert!(d.path().join("out/boron.hex").exists());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// particle-cli 3.51.0 (the latest on npm when this was written) marks `flash --serial`
/// "DEPRECATED. Use --local instead", and its `--local` given an application alone also
/// updates Device OS unless `--application-only`: a plan that writes Device OS step by
/// step must say both.
#[test]
fn serial_plans_use_particle_cli_current_flags() {
    let d = tempfile::tempdir().unwrap();
    let o = hexsmith(
        d.path(),
        &[
            "plan",
            "--platform",
            "boron",
            "--from",
            "4.0.1",
            "--to",
            "2.2.0",
            "--via",
            "serial",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let commands: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["writes"].as_array().unwrap())
        .map(|w| w["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        commands,
        [
            "particle flash --local --application-only tinker",
            "particle flash --local boron-system-part1@2.2.0.bin",
            "particle flash --local boron-bootloader@2.2.0.bin",
        ]
    );
    assert!(!stdout(&o).contains("--serial"));
}

#[test]
fn completions_and_man_pages_come_from_the_command_line_definition() {
    let d = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = hexsmith(d.path(), &["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        for word in ["replace-user", "allow-safe-mode", "particle-json"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    // The bash script is valid bash.
    std::fs::write(
        d.path().join("hexsmith.bash"),
        stdout(&hexsmith(d.path(), &["completions", "bash"])),
    )
    .unwrap();
    let syntax = Command::new("bash")
        .args(["-n", "hexsmith.bash"])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    let o = hexsmith(d.path(), &["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(USAGE));

    let o = hexsmith(d.path(), &["man"]);
    assert_eq!(o.status.code(), Some(0));
    let page = stdout(&o);
    assert!(page.contains(".TH hexsmith 1"), "{page}");
    assert!(page.contains("replace\\-user"), "{page}");
    let o = hexsmith(d.path(), &["man", "--out-dir", "man1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let build_page = std::fs::read_to_string(d.path().join("man1/hexsmith-build.1")).unwrap();
    assert!(build_page.contains("allow\\-safe\\-mode"), "{build_page}");
    assert!(d.path().join("man1/hexsmith.1").exists());
}

/// Every command's --help ends with two or three examples of that command, and every man
/// page has EXAMPLES, EXIT STATUS and ENVIRONMENT.
#[test]
fn help_ends_with_examples_and_man_pages_have_the_usual_sections() {
    let d = tempfile::tempdir().unwrap();
    let commands = [
        "",
        "inspect",
        "diff",
        "build",
        "replace-user",
        "versions",
        "plan",
        "probes",
        "flash",
        "read",
        "verify",
        "erase",
        "reset",
        "completions",
        "man",
    ];
    for command in commands {
        let mut args: Vec<&str> = command.split_whitespace().collect();
        args.push("--help");
        let o = hexsmith(d.path(), &args);
        assert_eq!(o.status.code(), Some(0), "{command}");
        let help = stdout(&o);
        let tail = help.trim_end().rsplit_once("Examples:\n").map(|(_, t)| t);
        let examples: Vec<&str> = tail
            .unwrap_or_else(|| panic!("{command}: {help}"))
            .lines()
            .collect();
        assert!((2..=3).contains(&examples.len()), "{command}: {examples:?}");
        let prefix = format!("  hexsmith {command}").trim_end().to_string();
        for e in &examples {
            assert!(
                e.starts_with(&prefix) || e.starts_with("  hexsmith -"),
                "{command}: {e}"
            );
        }
    }
    let o = hexsmith(d.path(), &["man", "--out-dir", "man1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for command in commands {
        let name = if command.is_empty() {
            "hexsmith.1".to_string()
        } else {
            format!("hexsmith-{command}.1")
        };
        let page = std::fs::read_to_string(d.path().join("man1").join(&name)).unwrap();
        for section in [".SH EXAMPLES", ".SH \"EXIT STATUS\"", ".SH ENVIRONMENT"] {
            assert!(page.contains(section), "{name}: no {section}");
        }
        assert!(
            page.contains("PROBE_RS_SPEED") && page.contains("\\fB64\\fR"),
            "{name}"
        );
    }
}

/// The completions offer values, not only flags: platform names, the chips --emulate
/// takes, --protocol's, and the probe kinds --probe selects; parsing stays the commands'.
#[test]
fn completions_offer_platforms_chips_protocols_and_probe_kinds() {
    let d = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        // zsh escapes the colon.
        let script = stdout(&hexsmith(d.path(), &["completions", shell])).replace("\\:", ":");
        // The chips --emulate takes are there in a build with the emulator.
        let chips: &[&str] = if cfg!(feature = "emulator") {
            &["nRF52840_xxAA", "STM32F205RG"]
        } else {
            &[]
        };
        for value in [
            "boron",
            "tracker",
            "photon",
            "p2",
            "jtag",
            "0d28:0204",
            "auto",
        ]
        .iter()
        .chain(chips)
        {
            assert!(script.contains(value), "{shell}: no {value}");
        }
    }
    // A value the completions do not offer is still judged by the command, in its words.
    let o = hexsmith(d.path(), &["versions", "--platform", "brn402"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = hexsmith(
        d.path(),
        &["flash", "--dry-run", "--emulate", "nRF52832", "x.hex"],
    );
    // Without the emulator no chip is one it models: the feature's refusal, exit 1.
    let unknown_chip = if cfg!(feature = "emulator") { USAGE } else { 1 };
    assert_eq!(o.status.code(), Some(unknown_chip), "{}", stderr(&o));
    // The candidates do not crowd --help.
    let help = stdout(&hexsmith(d.path(), &["read", "--help"]));
    assert!(!help.contains("possible values: core"), "{help}");
}

/// A command line built with probe-rs but without the emulated chips refuses `--emulate`
/// and `--emulate-state` in one line that names the feature (exit 1), creating no state
/// file, while a dry run's estimate, which needs no emulator, still works. Runs only in
/// such a build: `cargo test --no-default-features --features cli,probe`.
#[cfg(all(feature = "probe", not(feature = "emulator")))]
#[test]
fn without_the_emulator_feature_emulate_is_refused_and_the_estimate_stays() {
    let d = tempfile::tempdir().unwrap();
    let app =
        common::real("particle-cli-3.6.0/knownApps/boron/tinker/tinker-0.8.0-rc.27-boron.bin");
    let app = app.to_str().unwrap();
    let cases: [&[&str]; 3] = [
        &[
            "flash",
            app,
            "--emulate",
            "nRF52840_xxAA",
            "--emulate-state",
            "dev.hex",
        ],
        &["verify", app, "--emulate", "nRF52840_xxAA"],
        &[
            "inspect",
            "--emulate",
            "nRF52840_xxAA",
            "--emulate-state",
            "dev.hex",
        ],
    ];
    for args in cases {
        let o = hexsmith(d.path(), args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains("cargo feature \"emulator\""),
            "{args:?}: {err}"
        );
        assert!(!d.path().join("dev.hex").exists(), "{args:?} made a state");
    }
    let o = hexsmith(
        d.path(),
        &["flash", "--dry-run", "--chip", "nRF52840_xxAA", app],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("estimate"), "{}", stdout(&o));
}
