//! The flash orchestration the command line runs, driven here on the simulated flash: the
//! per-device sequence, write protection, the station loop with a failing device in the
//! middle, the `--log` writer, `verify`, erase ranges, the chip check of `--chip`, the
//! probe conventions, and the JSON documents (snapshots).

mod common;

#[cfg(feature = "emulator")]
use common::emulated;
use common::simulated::{self, Attached, blank, holds};
use common::{catalog_image, hexsmith, refused_for_no_probe, stderr, stdout};
use hexsmith::flash::sim::SimulatedFlash;
use hexsmith::flash::station::{StationObserver, StationOptions, run_station};
use hexsmith::flash::{
    Connector, DeviceError, DeviceEvent, DeviceOptions, DeviceResult, EraseRangeError,
    FlashDocument, FlashJob, FlashOptions, LogWriter, Outcome, PlanOptions, TargetError, attempt,
    error_chain, flash_device, units_to_erase, verify_device,
};
use hexsmith::memory::hex;
use hexsmith::platform::{self};
use serde_json::Value;
use std::collections::VecDeque;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

fn job(release: &str, name: &str) -> FlashJob {
    let (platform, image) = catalog_image(release, name, true);
    FlashJob::for_platform(image, platform, None, None).unwrap()
}

/// A catalog image's job, and its plan with the default options.
fn job_and_plan(release: &str, name: &str) -> (FlashJob, hexsmith::flash::FlashPlan) {
    let job = job(release, name);
    let plan = job.plan(PlanOptions::default()).unwrap();
    (job, plan)
}

/// Three blank emulated boards of `chip`, whose `id_len`-byte device IDs are all 1s, all 2s
/// and all 3s.
#[cfg(feature = "emulator")]
fn three_blank_boards(
    chip: hexsmith::flash::emulator::Chip,
    id_len: usize,
) -> Vec<hexsmith::flash::emulator::EmulatedDevice> {
    (1..=3)
        .map(|i| hexsmith::flash::emulator::EmulatedDevice::blank(chip, &vec![i; id_len]))
        .collect()
}

fn options() -> DeviceOptions {
    DeviceOptions {
        flash: FlashOptions {
            verify: true,
            reset: true,
            cancel: None,
            batch_units: 16,
            write_unchanged: false,
        },
        unprotect_bootloader: false,
    }
}

/// A probe whose fixture holds, at each poll, the next device of a script (None: nothing
/// answers). When the scripts of all `total` fixtures have run out, the operator presses
/// Ctrl-C.
struct Fixture {
    script: VecDeque<Option<Arc<Mutex<SimulatedFlash>>>>,
    cancel: Arc<AtomicBool>,
    finished: bool,
    done: Arc<AtomicUsize>,
    total: usize,
}

impl Fixture {
    fn new(
        script: impl IntoIterator<Item = Option<Arc<Mutex<SimulatedFlash>>>>,
        cancel: &Arc<AtomicBool>,
    ) -> Fixture {
        Fixture {
            script: script.into_iter().collect(),
            cancel: cancel.clone(),
            finished: false,
            done: Arc::default(),
            total: 1,
        }
    }
}

impl Connector for Fixture {
    type Target = Attached;
    fn label(&self) -> String {
        "fixture".into()
    }
    fn connect(&mut self) -> Result<(Attached, String), DeviceError> {
        match self.script.pop_front() {
            Some(Some(device)) => Ok((Attached(device), "1209:da42:fixture".into())),
            Some(None) => Err(DeviceError::NoProbe),
            None => {
                if !self.finished {
                    self.finished = true;
                    if self.done.fetch_add(1, Ordering::SeqCst) + 1 == self.total {
                        self.cancel.store(true, Ordering::SeqCst);
                    }
                }
                Err(DeviceError::NoProbe)
            }
        }
    }
}

/// What a station showed, and its log.
struct Recorder {
    waiting: usize,
    ids: Vec<String>,
    results: Vec<(Outcome, Option<String>, Option<String>)>,
    log: LogWriter,
    job: FlashJob,
}

impl Recorder {
    fn new(log: &Path, job: &FlashJob) -> Recorder {
        Recorder {
            waiting: 0,
            ids: Vec::new(),
            results: Vec::new(),
            log: LogWriter::open(log, []).unwrap(),
            job: job.clone(),
        }
    }
}

impl StationObserver for Recorder {
    fn waiting(&mut self, _: Option<&DeviceError>) {
        self.waiting += 1;
    }
    fn event(&mut self, event: DeviceEvent) {
        if let DeviceEvent::DeviceId(id) = event {
            self.ids.push(id);
        }
    }
    fn finished(&mut self, r: &DeviceResult) {
        self.results.push((
            r.result,
            r.device_id.clone(),
            r.error.as_ref().map(|e| error_chain(e)),
        ));
        self.log
            .append(&r.log_line(&self.job, SystemTime::now()))
            .unwrap();
    }
}

fn log_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_station_flashes_each_new_device_and_survives_a_failing_one() {
    let (job, plan) = job_and_plan("4.0.1", "boron");
    let (a, b, c) = (
        simulated::boron(1),
        simulated::boron(2),
        simulated::boron(3),
    );
    // Device B has a weak cell: its verify fails.
    b.lock().unwrap().corrupt_at = Some(0x0003_0321);
    let cancel = Arc::new(AtomicBool::new(false));
    let mut fixture = Fixture::new(
        [
            None,            // nothing on the fixture yet
            Some(a.clone()), // A: flashed
            Some(a.clone()), // A still there: not flashed again
            None,            // A taken off
            Some(b.clone()), // B: fails
            Some(b.clone()),
            None,
            Some(c.clone()), // C: flashed
            Some(c.clone()),
        ],
        &cancel,
    );
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("station.jsonl");
    let (summary, recorder) = run_to_end(&mut fixture, &job, &plan, &cancel, &log_path);

    assert_eq!(
        (
            summary.devices,
            summary.passed,
            summary.failed,
            summary.interrupted
        ),
        (3, 2, 1, 0)
    );
    assert!(summary.mean_seconds.is_some());
    assert_eq!(
        recorder.ids,
        [
            "e00fce68abcd000000000001",
            "e00fce68abcd000000000002",
            "e00fce68abcd000000000003"
        ]
    );
    assert_eq!(recorder.results[0].0, Outcome::Ok);
    assert_eq!(recorder.results[1].0, Outcome::Failed);
    let reason = recorder.results[1].2.as_deref().unwrap();
    assert!(
        reason.starts_with("verify failed at 0x00030321"),
        "{reason}"
    );
    assert_eq!(recorder.results[2].0, Outcome::Ok);
    assert!(holds(&a.lock().unwrap(), &job.image));
    assert!(holds(&c.lock().unwrap(), &job.image));
    assert_eq!(a.lock().unwrap().resets, 1, "A was flashed once");
    assert_eq!(
        b.lock().unwrap().resets,
        0,
        "no reset after a failed verify"
    );
    assert!(recorder.waiting >= 3);

    let lines = log_lines(&log_path);
    assert_eq!(lines.len(), 3);
    for (line, (id, result)) in lines.iter().zip([
        ("e00fce68abcd000000000001", "ok"),
        ("e00fce68abcd000000000002", "failed"),
        ("e00fce68abcd000000000003", "ok"),
    ]) {
        assert_eq!(line["device_id"], id);
        assert_eq!(line["result"], result);
        assert_eq!(line["image_sha256"], job.image_sha256.as_str());
        assert_eq!(line["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(line["schema"], 1);
        assert_eq!(line["chip"], "nRF52840_xxAA");
        let time = line["time"].as_str().unwrap();
        assert!(humantime_like(time), "{time}");
    }
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("verify failed")
    );
    assert_eq!(lines[0]["error"], Value::Null);
}

/// How the tests run a station: the device options above, polling at once.
fn station_options() -> StationOptions {
    StationOptions {
        device: options(),
        poll: Duration::ZERO,
    }
}

/// A station run on `fixture` to its end, logging to `log`: the summary and what it showed.
fn run_to_end<C: Connector>(
    fixture: &mut C,
    job: &FlashJob,
    plan: &hexsmith::flash::FlashPlan,
    cancel: &AtomicBool,
    log: &Path,
) -> (hexsmith::flash::station::StationSummary, Recorder) {
    let mut recorder = Recorder::new(log, job);
    let summary = run_station(
        fixture,
        job,
        plan,
        &station_options(),
        cancel,
        &mut recorder,
    );
    (summary, recorder)
}

/// The results of a log's lines, in order.
#[cfg(feature = "emulator")]
fn results(lines: &[Value]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| l["result"].as_str().unwrap())
        .collect()
}

/// A station saw three boards, of which the middle one failed.
#[track_caller]
fn three_boards_the_middle_one_failed(
    summary: &hexsmith::flash::station::StationSummary,
    recorder: &Recorder,
) {
    assert_eq!(
        (summary.devices, summary.passed, summary.failed),
        (3, 2, 1),
        "{:?}",
        recorder.results
    );
}

fn humantime_like(t: &str) -> bool {
    t.len() == 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T'
}

#[test]
fn the_same_device_put_back_is_flashed_again_and_ctrl_c_ends_the_wait() {
    let (job, plan) = job_and_plan("4.0.1", "boron");
    let a = simulated::boron(7);
    let cancel = Arc::new(AtomicBool::new(false));
    let mut fixture = Fixture::new([Some(a.clone()), None, Some(a.clone())], &cancel);
    let dir = tempfile::tempdir().unwrap();
    let (summary, _) = run_to_end(&mut fixture, &job, &plan, &cancel, &dir.path().join("log"));
    assert_eq!((summary.devices, summary.passed), (2, 2));
    // The second time everything is already there: each unit was written once only.
    let a = a.lock().unwrap();
    assert_eq!(a.erase_count.len(), plan.units.len());
    assert!(a.erase_count.values().all(|n| *n == 1));
    assert_eq!(a.resets, 2);
}

/// Flashes `sim` with its bootloader sector write-protected, which must fail: the result.
#[track_caller]
fn refused_while_protected(
    sim: &mut SimulatedFlash,
    job: &FlashJob,
    plan: &hexsmith::flash::FlashPlan,
) -> DeviceResult {
    sim.protected = vec![0x0800_0000];
    let result = flash_device(sim, "p".into(), job, plan, &options(), &mut |_| {});
    assert_eq!(result.result, Outcome::Failed);
    result
}

/// Flashes `sim` as `--unprotect-bootloader` does, which must succeed.
#[track_caller]
fn flash_unprotecting(sim: &mut SimulatedFlash, job: &FlashJob, plan: &hexsmith::flash::FlashPlan) {
    let unprotect = DeviceOptions {
        unprotect_bootloader: true,
        ..options()
    };
    let result = flash_device(sim, "p".into(), job, plan, &unprotect, &mut |_| {});
    assert_eq!(result.result, Outcome::Ok, "{:?}", result.error);
}

#[test]
fn write_protected_bootloader_is_refused_or_cleared_on_request() {
    let (job, plan) = job_and_plan("2.3.1", "electron");
    let mut sim = blank(&job);
    let result = refused_while_protected(&mut sim, &job, &plan);
    assert!(matches!(
        result.error,
        Some(DeviceError::BootloaderProtected { unit: 0x0800_0000 })
    ));
    assert_eq!(sim.write_calls, 0, "nothing written before the refusal");
    assert!(
        error_chain(result.error.as_ref().unwrap()).contains("--unprotect-bootloader"),
        "the message says how to go on"
    );

    flash_unprotecting(&mut sim, &job, &plan);
    assert!(sim.protected.is_empty());
    assert!(holds(&sim, &job.image));
}

/// `--chip-erase` would hit the protected bootloader sector even where the image does not
/// write it: refused before anything is touched, with both ways on, or cleared on request.
#[test]
fn a_chip_erase_of_a_protected_gen2_device_is_refused_or_cleared_on_request() {
    let (platform, image) = catalog_image("2.3.1", "electron", true);
    let system = common::segments_from(&image, 0x0800_4000);
    let job = FlashJob::for_platform(system, platform, None, None).unwrap();
    let plan = job
        .plan(PlanOptions {
            chip_erase: true,
            erase_device_keys: true,
        })
        .unwrap();
    let mut sim = blank(&job);
    let result = refused_while_protected(&mut sim, &job, &plan);
    assert!(matches!(
        result.error,
        Some(DeviceError::ChipEraseProtected { unit: 0x0800_0000 })
    ));
    assert_eq!((sim.chip_erases, sim.write_calls), (0, 0));
    let message = error_chain(result.error.as_ref().unwrap());
    assert!(
        message.contains("0x08000000")
            && message.contains("--unprotect-bootloader")
            && message.contains("without --chip-erase"),
        "{message}"
    );

    flash_unprotecting(&mut sim, &job, &plan);
    assert_eq!(sim.chip_erases, 1);
    assert!(holds(&sim, &job.image));
}

/// A probe error with a cause of its own, as probe-rs's are.
#[derive(Debug, thiserror::Error)]
#[error("SWD transfer failed")]
struct SwdFault(#[source] std::io::Error);

#[test]
fn a_probe_error_keeps_its_cause() {
    let fault = SwdFault(std::io::Error::other("WAIT response after 100 retries"));
    let error = DeviceError::DeviceId(TargetError::Probe(Arc::new(fault)));
    assert_eq!(
        error_chain(&error),
        "reading the device ID: SWD transfer failed: WAIT response after 100 retries"
    );
}

/// A connector with no probe behind it.
struct Nothing;

impl Connector for Nothing {
    type Target = SimulatedFlash;
    fn label(&self) -> String {
        "probe".into()
    }
    fn connect(&mut self) -> Result<(SimulatedFlash, String), DeviceError> {
        Err(DeviceError::NoProbe)
    }
}

#[test]
fn an_attempt_without_a_probe_is_a_result_and_a_log_line() {
    let (job, plan) = job_and_plan("4.0.1", "boron");
    let result = attempt(&mut Nothing, &job, &plan, &options(), &mut |_| {});
    assert!(result.is_no_probe());
    assert_eq!(result.result, Outcome::Failed);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    std::fs::write(&path, "{\"earlier\":true}\n").unwrap();
    let mut log = LogWriter::open(&path, []).unwrap();
    log.append(&result.log_line(&job, SystemTime::UNIX_EPOCH))
        .unwrap();
    log.append(&result.log_line(&job, SystemTime::UNIX_EPOCH))
        .unwrap();
    let lines = log_lines(&path);
    assert_eq!(lines.len(), 3, "appended, the earlier line kept");
    let mut line = lines[1].clone();
    line["version"] = "[version]".into();
    line["seconds"] = "[seconds]".into();
    insta::assert_json_snapshot!("log_line_no_probe", line);

    let unwritable = LogWriter::open(&dir.path().join("missing/log.jsonl"), []);
    let text = error_chain(&unwritable.err().unwrap());
    assert!(
        text.contains("missing/log.jsonl: cannot write the log: "),
        "{text}"
    );
}

#[test]
fn verify_compares_without_writing() {
    let (job, plan) = job_and_plan("2.3.1", "photon");
    let mut sim = blank(&job);
    let erased = verify_device(&mut sim, &job.image, &plan, &mut |_| {}).unwrap();
    assert!(!erased.matches());
    assert_eq!(erased.bytes_compared, job.image.len());
    assert_eq!(erased.units_differing.len(), plan.units.len());

    let result = flash_device(&mut sim, "p".into(), &job, &plan, &options(), &mut |_| {});
    assert_eq!(result.result, Outcome::Ok);
    let writes = sim.write_calls;
    let report = verify_device(&mut sim, &job.image, &plan, &mut |_| {}).unwrap();
    assert!(report.matches(), "{report:?}");
    // A byte the image does not cover may differ: verify compares the image's bytes only.
    let uncovered = plan
        .units
        .iter()
        .flat_map(|u| u64::from(u.start)..u.end)
        .find(|a| job.image.read(*a, 1).is_none())
        .unwrap();
    sim.preload(uncovered as u32, &[0]);
    assert!(
        verify_device(&mut sim, &job.image, &plan, &mut |_| {})
            .unwrap()
            .matches()
    );
    // One the image does cover is found.
    let address = 0x0802_0400u32;
    let byte = job.image.read(u64::from(address), 1).unwrap()[0];
    let mut changed = blank(&job);
    flash_device(
        &mut changed,
        "p".into(),
        &job,
        &plan,
        &options(),
        &mut |_| {},
    );
    changed.preload(address, &[!byte]);
    let report = verify_device(&mut changed, &job.image, &plan, &mut |_| {}).unwrap();
    assert_eq!(report.first_difference, Some(u64::from(address)));
    assert_eq!(report.units_differing, [[0x0802_0000, 0x0804_0000]]);
    assert_eq!(sim.write_calls, writes, "verify wrote nothing");
}

#[test]
fn an_erase_range_must_be_whole_units() {
    let mcu = platform::by_name("electron").unwrap().mcu();
    let units = units_to_erase(mcu, 0x0800_4000, 0x0801_0000).unwrap();
    assert_eq!(units.len(), 3);
    assert_eq!(
        units_to_erase(mcu, 0x0800_4000, 0x0800_5000).unwrap_err(),
        EraseRangeError::NotAligned {
            address: 0x0800_5000,
            unit_start: 0x0800_4000,
            unit_end: 0x0800_8000
        }
    );
    assert_eq!(
        units_to_erase(mcu, 0x0810_0000, 0x0810_1000).unwrap_err(),
        EraseRangeError::Outside {
            address: 0x0810_0000
        }
    );
}

#[test]
fn a_flash_result_document() {
    let (job, plan) = job_and_plan("4.0.1", "boron");
    let mut device = simulated::boron(9).lock().unwrap().clone();
    let mut results = vec![flash_device(
        &mut device,
        "1209:da42:0123".into(),
        &job,
        &plan,
        &options(),
        &mut |_| {},
    )];
    results.push(attempt(&mut Nothing, &job, &plan, &options(), &mut |_| {}));
    let mut doc = serde_json::to_value(FlashDocument::new(&job, &results)).unwrap();
    doc["version"] = "[version]".into();
    for d in doc["devices"].as_array_mut().unwrap() {
        d["seconds"] = "[seconds]".into();
        let written = d["report"]["written"].as_array().map_or(0, Vec::len);
        d["report"]["written"] = format!("[{written} units]").into();
    }
    insta::assert_json_snapshot!("flash_document", doc);
}

fn image_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (_, boron) = catalog_image("4.0.1", "boron", true);
    let (_, electron) = catalog_image("2.3.1", "electron", true);
    std::fs::write(dir.path().join("boron.hex"), hex::write(&boron)).unwrap();
    std::fs::write(dir.path().join("electron.hex"), hex::write(&electron)).unwrap();
    dir
}

fn run_env(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hexsmith"));
    cmd.args(args).current_dir(dir);
    cmd.env_remove("PROBE_RS_CHIP").env_remove("PROBE_RS_PROBE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn dry_run_plans_for_the_chip_given_or_refuses_it() {
    let dir = image_dir();
    let plan = |env: &[(&str, &str)], args: &[&str]| {
        let mut full = vec!["flash", "--dry-run", "--json"];
        full.extend_from_slice(args);
        run_env(dir.path(), env, &full)
    };
    // A chip of another family: refused, as a real run would be.
    let out = plan(&[], &["--chip", "STM32F205RGTx", "boron.hex"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: boron.hex: --chip STM32F205RGTx: its flash does not hold boron's layout (nrf52840 flash 0x00000000-0x10002000); name a chip of the image's platform, or leave --chip out\n"
    );
    // With --json the refusal is a document on standard output too (docs/json.md).
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["error"]["kind"], "refused");
    // PROBE_RS_CHIP is --chip.
    let out = plan(&[("PROBE_RS_CHIP", "STM32F205RGTx")], &["boron.hex"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--chip STM32F205RGTx: its flash does not hold"));
    // A chip of the platform's family: planned for that chip, by its full name.
    let out = plan(&[], &["--chip", "STM32F205RGTx", "electron.hex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["chip"], "STM32F205RGTx");
    let out = plan(&[("PROBE_RS_CHIP", "nRF52840_xxAA")], &["boron.hex"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["chip"], "nRF52840_xxAA");
    // A name probe-rs does not know.
    let out = plan(&[], &["--chip", "foo", "boron.hex"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with(
            "error: boron.hex: --chip foo: not a chip probe-rs knows (see `probe-rs chip list`, or describe it with --chip-description-path)"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn probe_conventions() {
    let dir = image_dir();
    let d = dir.path();
    // --speed 0 is a usage error.
    let out = run_env(d, &[], &["flash", "--speed", "0", "boron.hex"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(stderr(&out).contains("--speed"), "{}", stderr(&out));
    // --protocol takes swd or jtag.
    let out = run_env(
        d,
        &[],
        &["flash", "--dry-run", "--protocol", "jtag", "boron.hex"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run_env(d, &[], &["flash", "--protocol", "spi", "boron.hex"]);
    assert_eq!(out.status.code(), Some(64));
    // A malformed selector is refused before anything is connected, from the flag or
    // from PROBE_RS_PROBE.
    for (env, args) in [
        (&[][..], &["flash", "--probe", "nonsense", "boron.hex"][..]),
        (
            &[("PROBE_RS_PROBE", "nonsense")][..],
            &["flash", "boron.hex"][..],
        ),
        (
            &[][..],
            &[
                "read",
                "--platform",
                "boron",
                "--probe",
                "nonsense",
                "-o",
                "x.hex",
            ][..],
        ),
        (
            &[][..],
            &["inspect", "--probe", "nonsense", "--platform", "boron"][..],
        ),
    ] {
        let out = run_env(d, env, args);
        assert_eq!(out.status.code(), Some(64), "{args:?}: a usage error");
        let err = stderr(&out);
        assert!(
            err.starts_with("error: --probe nonsense: "),
            "{args:?}: {err}"
        );
        assert!(err.contains("VID:PID"), "{err}");
    }
    // --all-probes: PROBE_RS_PROBE is a default it overrides; --probe contradicts it.
    let out = run_env(
        d,
        &[("PROBE_RS_PROBE", "nonsense")],
        &["flash", "--all-probes", "--dry-run", "boron.hex"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run_env(
        d,
        &[],
        &["flash", "--all-probes", "--probe", "1209:da42", "boron.hex"],
    );
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(
        stderr(&out),
        "error: --all-probes writes to every probe: leave out --probe\n"
    );
    // inspect --probe takes the probe flags too.
    let out = run_env(
        d,
        &[],
        &[
            "inspect",
            "--probe",
            "auto",
            "--platform",
            "boron",
            "--speed",
            "0",
        ],
    );
    assert_eq!(out.status.code(), Some(64));
    // The old name of the chip-description flag still works.
    for flag in ["--chip-description", "--chip-description-path"] {
        let out = run_env(
            d,
            &[],
            &[
                "flash",
                "--dry-run",
                flag,
                "missing.yaml",
                "--chip",
                "nRF52840_xxAA",
                "boron.hex",
            ],
        );
        // A description that cannot be read is an unreadable input: exit 2.
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(
            stderr(&out).contains("missing.yaml: not a usable probe-rs target description"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn all_probes_with_no_probe_still_logs_the_attempt() {
    let dir = image_dir();
    let args = ["flash", "--all-probes", "--log", "line.jsonl", "boron.hex"];
    refused_for_no_probe(&hexsmith(dir.path(), &args), &args);
    let lines = log_lines(&dir.path().join("line.jsonl"));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["result"], "failed");
    assert_eq!(lines[0]["error"], "no debug probe attached");
    assert_eq!(lines[0]["device_id"], Value::Null);
    // The same for one probe, and for a station with nothing to flash on.
    let out = hexsmith(dir.path(), &["flash", "--log", "line.jsonl", "boron.hex"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(log_lines(&dir.path().join("line.jsonl")).len(), 2);
}

#[test]
fn dry_run_plan_document() {
    let dir = image_dir();
    let out = hexsmith(
        dir.path(),
        &["flash", "--dry-run", "--json", "electron.hex"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    v["version"] = "[version]".into();
    insta::assert_json_snapshot!("plan_document_electron", v);
}

#[test]
fn verify_erase_and_reset_are_commands() {
    let dir = image_dir();
    let d = dir.path();
    for args in [
        &["verify", "boron.hex"][..],
        &["erase", "--platform", "boron", "--range", "0x30000:0x32000"],
        &["erase", "--platform", "boron", "--all"],
        &["reset", "--platform", "boron"],
        &["reset", "--chip", "STM32F205RGTx"],
    ] {
        refused_for_no_probe(&run_env(d, &[], args), args);
    }
    // Refused before anything is connected.
    let out = run_env(
        d,
        &[],
        &[
            "erase",
            "--platform",
            "electron",
            "--range",
            "0x08000000:0x08001000",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: --range: 0x08001000 lies inside the erase unit 0x08000000-0x08004000, so erasing would clear bytes outside the range: give erase-unit boundaries\n"
    );
    let out = run_env(d, &[], &["erase", "--platform", "boron"]);
    assert_eq!(out.status.code(), Some(64), "--range or --all is required");
    let out = run_env(
        d,
        &[],
        &["reset", "--platform", "boron", "--chip", "STM32F205RGTx"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("its flash does not hold boron's layout"));
}

#[cfg(unix)]
#[test]
fn a_station_with_no_device_waits_and_ctrl_c_ends_it_with_a_summary() {
    let dir = image_dir();
    let child = Command::new(env!("CARGO_BIN_EXE_hexsmith"))
        .args([
            "flash",
            "--station",
            "--poll-ms",
            "20",
            "--json",
            "boron.hex",
        ])
        .env_remove("PROBE_RS_PROBE")
        .env_remove("PROBE_RS_CHIP")
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(summary["devices"], 0);
    assert_eq!(summary["schema"], 1);
    assert_eq!(summary["mean_seconds"], Value::Null);
}

#[test]
fn station_summary_and_probes_documents() {
    let (job, plan) = job_and_plan("2.3.1", "photon");
    let cancel = Arc::new(AtomicBool::new(false));
    let device = Arc::new(Mutex::new(blank(&job)));
    let mut fixture = Fixture::new([Some(device)], &cancel);
    let dir = tempfile::tempdir().unwrap();
    let (summary, _) = run_to_end(&mut fixture, &job, &plan, &cancel, &dir.path().join("log"));
    let mut v = serde_json::to_value(&summary).unwrap();
    assert!(v["mean_seconds"].as_f64().unwrap() >= 0.0);
    v["version"] = "[version]".into();
    v["mean_seconds"] = "[seconds]".into();
    insta::assert_json_snapshot!("station_summary", v);

    // No probe attached: an empty list, not an error.
    let out = run_env(dir.path(), &[], &["probes", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let mut v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    v["version"] = "[version]".into();
    insta::assert_json_snapshot!("probes_none", v);
}

#[test]
fn stations_on_several_probes_at_once() {
    let (job, plan) = job_and_plan("4.0.1", "boron");
    let cancel = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let dir = tempfile::tempdir().unwrap();
    let stations: Vec<(Fixture, Recorder)> = (0..2u8)
        .map(|probe| {
            let devices = [
                simulated::boron(probe * 10 + 1),
                simulated::boron(probe * 10 + 2),
            ];
            if probe == 1 {
                devices[0].lock().unwrap().fail_after_units = Some(3);
            }
            let mut fixture = Fixture::new(
                [Some(devices[0].clone()), None, Some(devices[1].clone())],
                &cancel,
            );
            fixture.done = done.clone();
            fixture.total = 2;
            let recorder = Recorder::new(&dir.path().join("log"), &job);
            (fixture, recorder)
        })
        .collect();
    let summary =
        hexsmith::flash::station::run_stations(stations, &job, &plan, &station_options(), &cancel);
    assert_eq!((summary.devices, summary.passed, summary.failed), (4, 3, 1));
    let lines = log_lines(&dir.path().join("log"));
    assert_eq!(lines.len(), 4, "both stations append to one log");
    let failed: Vec<&Value> = lines.iter().filter(|l| l["result"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["device_id"], "e00fce68abcd00000000000b");
    assert_eq!(failed[0]["error"], "probe disconnected");
}

#[cfg(feature = "emulator")]
/// A fixture whose devices are emulated chips, reached through probe-rs's own attach,
/// flash loader and the chips' real flash algorithms.
struct EmulatedFixture {
    script: VecDeque<Option<hexsmith::flash::emulator::EmulatedDevice>>,
    cancel: Arc<AtomicBool>,
    chip: String,
    under_reset: bool,
}

#[cfg(feature = "emulator")]
impl Connector for EmulatedFixture {
    type Target = hexsmith::flash::probe::ProbeTarget;
    fn label(&self) -> String {
        "emulated".into()
    }
    fn connect(&mut self) -> Result<(Self::Target, String), DeviceError> {
        use hexsmith::flash::probe::{Connect, ProbeTarget};
        match self.script.pop_front() {
            Some(Some(device)) => {
                let target = ProbeTarget::connect(&Connect {
                    emulate: Some(device),
                    chip: self.chip.clone(),
                    under_reset: self.under_reset,
                    ..Connect::default()
                })?;
                let name = target.probe.clone();
                Ok((target, name))
            }
            Some(None) => Err(DeviceError::NoProbe),
            None => {
                self.cancel.store(true, Ordering::SeqCst);
                Err(DeviceError::NoProbe)
            }
        }
    }
}

#[cfg(feature = "emulator")]
impl EmulatedFixture {
    /// A fixture for `job`'s chip on which the devices come in this order (None: nobody
    /// on it for a poll); the run ends after the last.
    fn new(
        job: &FlashJob,
        script: impl IntoIterator<Item = Option<hexsmith::flash::emulator::EmulatedDevice>>,
    ) -> EmulatedFixture {
        EmulatedFixture {
            script: script.into_iter().collect(),
            cancel: Arc::new(AtomicBool::new(false)),
            chip: job.chip.clone().unwrap(),
            under_reset: job.mcu().attach_under_reset,
        }
    }

    /// A station run on this fixture to its end: the summary, what it showed, its log.
    fn run_station(
        &mut self,
        job: &FlashJob,
        plan: &hexsmith::flash::FlashPlan,
    ) -> (
        hexsmith::flash::station::StationSummary,
        Recorder,
        Vec<Value>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let cancel = self.cancel.clone();
        let (summary, recorder) = run_to_end(self, job, plan, &cancel, &dir.path().join("log"));
        let lines = log_lines(&dir.path().join("log"));
        (summary, recorder, lines)
    }
}

#[cfg(feature = "emulator")]
#[test]
fn a_station_on_emulated_gen2_devices_refuses_a_protected_bootloader() {
    use hexsmith::flash::emulator::Chip;
    let (job, plan) = job_and_plan("2.3.1", "photon");
    let devices = three_blank_boards(Chip::Stm32f205, 12);
    // The middle one's bootloader sector is write-protected, as Device OS leaves it.
    devices[1].protect_stm32_sectors(1);
    let mut fixture = EmulatedFixture::new(
        &job,
        [
            Some(devices[0].clone()),
            Some(devices[0].clone()),
            None,
            Some(devices[1].clone()),
            None,
            Some(devices[2].clone()),
        ],
    );
    let (summary, recorder, lines) = fixture.run_station(&job, &plan);
    three_boards_the_middle_one_failed(&summary, &recorder);
    assert_eq!(
        recorder.ids,
        [
            "010101010101010101010101",
            "020202020202020202020202",
            "030303030303030303030303"
        ]
    );
    let reason = recorder.results[1].2.as_deref().unwrap();
    assert!(
        reason.starts_with("the bootloader sector 0x08000000 is write-protected"),
        "{reason}"
    );
    for (i, device) in devices.iter().enumerate() {
        let holds = emulated::holds(device, &job.image);
        assert_eq!(holds, i != 1, "device {i}");
        assert_eq!(device.nor_violations(), vec![], "device {i}");
    }
    assert_eq!(devices[1].counts().bytes_programmed, 0, "nothing written");
    assert_eq!(results(&lines), ["ok", "failed", "ok"]);

    // --unprotect-bootloader: the option bytes are changed through probe-rs, then written.
    let mut again = EmulatedFixture {
        script: VecDeque::from([Some(devices[1].clone())]),
        ..fixture
    };
    let unprotect = DeviceOptions {
        unprotect_bootloader: true,
        ..options()
    };
    let result = attempt(&mut again, &job, &plan, &unprotect, &mut |_| {});
    assert_eq!(result.result, Outcome::Ok, "{:?}", result.error);
    assert!(emulated::holds(&devices[1], &job.image));
    assert_eq!(devices[1].nor_violations(), vec![]);
}

/// A board whose device ID cannot be read (here: no FICR at all) answers the probe: one
/// failed device, written nothing, reported once for its two polls on the fixture.
#[test]
fn a_station_counts_a_board_without_a_readable_id_as_failed_once() {
    let (job, plan) = job_and_plan("4.0.1", "boron");
    let no_id = Arc::new(Mutex::new(SimulatedFlash::new(job.mcu())));
    let cancel = Arc::new(AtomicBool::new(false));
    let mut fixture = Fixture::new(
        [
            Some(simulated::boron(1)),
            None,
            Some(no_id.clone()),
            Some(no_id.clone()),
            None,
            Some(simulated::boron(2)),
        ],
        &cancel,
    );
    let dir = tempfile::tempdir().unwrap();
    let (summary, recorder) =
        run_to_end(&mut fixture, &job, &plan, &cancel, &dir.path().join("log"));
    three_boards_the_middle_one_failed(&summary, &recorder);
    let (outcome, id, reason) = &recorder.results[1];
    assert_eq!((*outcome, id.as_deref()), (Outcome::Failed, None));
    assert!(
        reason
            .as_deref()
            .unwrap()
            .starts_with("reading the device ID"),
        "{reason:?}"
    );
    let sim = no_id.lock().unwrap();
    assert_eq!((sim.write_calls, sim.erase_count.len()), (0, 0));
}

/// A locked nRF52840 answers the probe but cannot be debugged: the station shows it as one
/// failed device (however long it stays on the fixture), erases nothing, and goes on.
#[cfg(feature = "emulator")]
#[test]
fn a_station_counts_a_locked_device_as_failed_and_erases_nothing() {
    use hexsmith::flash::emulator::Chip;
    let (job, plan) = job_and_plan("4.0.1", "boron");
    let devices = three_blank_boards(Chip::Nrf52840, 8);
    // The locked one holds a product's firmware, which no station may erase unasked.
    let mut earlier = EmulatedFixture::new(&job, [Some(devices[1].clone())]);
    let flashed = attempt(&mut earlier, &job, &plan, &options(), &mut |_| {});
    assert_eq!(flashed.result, Outcome::Ok, "{:?}", flashed.error);
    devices[1].lock_approtect();
    devices[1].reset_counts();
    let before = devices[1].peek(0, 0x10_0000);
    assert!(before.iter().any(|b| *b != 0xFF));
    let mut fixture = EmulatedFixture::new(
        &job,
        [
            Some(devices[0].clone()),
            None,
            // The locked one stays for three polls.
            Some(devices[1].clone()),
            Some(devices[1].clone()),
            Some(devices[1].clone()),
            None,
            Some(devices[2].clone()),
        ],
    );
    let (summary, recorder, lines) = fixture.run_station(&job, &plan);
    three_boards_the_middle_one_failed(&summary, &recorder);
    let (outcome, id, reason) = &recorder.results[1];
    assert_eq!((*outcome, id.as_deref()), (Outcome::Failed, None));
    let reason = reason.as_deref().unwrap();
    assert!(
        reason.contains("is locked") && reason.contains("--recover"),
        "{reason}"
    );
    assert_eq!(
        devices[1].peek(0, 0x10_0000),
        before,
        "the locked chip keeps its flash"
    );
    assert_eq!(
        (
            devices[1].counts().bytes_erased,
            devices[1].counts().bytes_programmed
        ),
        (0, 0)
    );
    for device in [&devices[0], &devices[2]] {
        assert!(emulated::holds(device, &job.image));
        assert_eq!(device.nor_violations(), vec![]);
    }
    assert_eq!(results(&lines), ["ok", "failed", "ok"]);
    assert!(lines[1]["device_id"].is_null());
}

/// A station rehearsed from the command line on three emulated boards, a.hex to c.hex in
/// `dir`: the exit status, standard output, the verdicts shown and the log's results.
#[cfg(feature = "emulator")]
fn rehearse(dir: &Path, chip: &str, image: &str) -> (Option<i32>, String, Vec<String>, Vec<Value>) {
    let states = ["a.hex", "b.hex", "c.hex"];
    let mut args = vec!["flash", "--station", "--poll-ms", "0", "--emulate", chip];
    for state in &states {
        args.extend(["--emulate-state", state]);
    }
    args.extend(["--log", "line.jsonl", image]);
    let out = run_env(dir, &[], &args);
    let text = stdout(&out);
    let verdicts = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| ["PASS", "FAIL"].contains(w))
        .map(String::from)
        .collect();
    let lines = log_lines(&dir.join("line.jsonl"));
    let status = out.status.code();
    if status != Some(1) {
        eprintln!("{}", stderr(&out));
    }
    (status, text, verdicts, lines)
}

/// A station rehearsed from the command line on emulated devices: each state file is a
/// device put on the fixture in turn; the run ends after the last.
#[cfg(feature = "emulator")]
#[test]
fn a_station_rehearsed_on_emulated_devices() {
    let dir = tempfile::tempdir().unwrap();
    common::catalog_hex(dir.path(), "2.3.1", "photon", true);
    // The second board's bootloader sector is write-protected.
    emulated::protected_stm32f205(&dir.path().join("b.hex"), 1);
    let (status, text, verdicts, lines) = rehearse(dir.path(), "STM32F205RG", "photon.hex");
    assert_eq!(status, Some(1), "{text}");
    assert_eq!(verdicts, ["PASS", "FAIL", "PASS"], "{text}");
    // Standard error is no terminal here: one plain line per board, its reason on it.
    assert!(
        !text.contains("██"),
        "block letters only on the terminal's screen: {text}"
    );
    let fail = text.lines().find(|l| l.starts_with("FAIL ")).unwrap();
    assert!(
        fail.contains("the bootloader sector 0x08000000 is write-protected"),
        "{fail}"
    );
    assert!(
        text.contains("station: 3 devices, 2 passed, 1 failed, 0 interrupted; mean "),
        "{text}"
    );
    assert_eq!(results(&lines), ["ok", "failed", "ok"]);
    assert_eq!(lines[0]["probe"], "emulated:a.hex");
    // The devices keep what was written: inspect reads a state file as an image.
    for file in ["a.hex", "c.hex"] {
        let out = run_env(dir.path(), &[], &["inspect", file]);
        assert!(out.status.success(), "{file}: {}", stdout(&out));
    }
}

/// The same on Gen 3, with a locked board in the middle: FAIL with the reason (and the
/// way out), then the next board is flashed.
#[cfg(feature = "emulator")]
#[test]
fn a_station_rehearsal_fails_a_locked_board_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    common::catalog_hex(dir.path(), "4.0.1", "boron", true);
    emulated::locked_nrf52840(&dir.path().join("b.hex"));
    let locked_state = std::fs::read(dir.path().join("b.hex")).unwrap();
    let (status, text, verdicts, lines) = rehearse(dir.path(), "nRF52840_xxAA", "boron.hex");
    assert_eq!(status, Some(1), "{text}");
    assert_eq!(verdicts, ["PASS", "FAIL", "PASS"], "{text}");
    assert!(
        text.contains("FAIL (no device ID) on emulated:b.hex"),
        "{text}"
    );
    assert!(
        text.contains("is locked") && text.contains("--recover"),
        "{text}"
    );
    assert!(
        text.contains("station: 3 devices, 2 passed, 1 failed"),
        "{text}"
    );
    assert_eq!(results(&lines), ["ok", "failed", "ok"]);
    assert_eq!(
        std::fs::read(dir.path().join("b.hex")).unwrap(),
        locked_state,
        "the locked board is left as it was"
    );
}

/// verify, erase and reset through probe-rs on an emulated Photon, from the command line.
#[cfg(feature = "emulator")]
#[test]
fn verify_erase_and_reset_on_an_emulated_device() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, photon) = common::catalog_hex(d, "2.3.1", "photon", true);
    let run = |command: &[&str]| emulated::run_on(d, "STM32F205RG", "dev.hex", command);
    let verify = || {
        let out = run(&["verify", "--json", "photon.hex"]);
        let mut v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["probe"], "emulated:dev.hex");
        assert_eq!(v["device_id"].as_str().unwrap().len(), 24);
        v["version"] = "[version]".into();
        v["device_id"] = "[device id]".into();
        assert!(v["wire"]["transfers"].as_u64().unwrap() > 0);
        (out.status.code(), v)
    };

    // Erased flash reads 0xFF: every other byte of the image differs.
    let programmed = photon
        .segments()
        .iter()
        .flat_map(|s| s.data.iter())
        .filter(|b| **b != 0xFF)
        .count();
    let (code, v) = verify();
    assert_eq!(code, Some(1), "blank silicon does not hold the image");
    assert_eq!(v["bytes_differing"], programmed);

    let out = run(&["flash", "photon.hex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (code, v) = verify();
    assert_eq!(code, Some(0));
    assert_eq!(v["matches"], true);
    // Compared by checksums computed on the chip: the image's half megabyte is not read back.
    let read = v["wire"]["bytes_read"].as_u64().unwrap();
    assert!(read < 4096, "{read} bytes read");

    // One sector erased: verify names it, and only it.
    let out = run(&[
        "erase",
        "--platform",
        "photon",
        "--range",
        "0x08020000:0x08040000",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "emulated:dev.hex: erased 1 units (131072 bytes)\n"
    );
    let (code, mut v) = verify();
    assert_eq!(code, Some(1));
    v.as_object_mut().unwrap().remove("wire");
    insta::assert_json_snapshot!("verify_document_one_sector_erased", v);

    let out = run(&["reset", "--platform", "photon"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "emulated:dev.hex: reset\n");
    assert!(stderr(&out).starts_with("emulated:dev.hex: device "));

    // A flash now writes back only the erased sector.
    let out = run(&["flash", "--json", "photon.hex"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let report = &v["devices"][0]["report"];
    assert_eq!(
        report["written"],
        serde_json::json!([[0x0802_0000, 0x0804_0000]])
    );

    let out = run(&[
        "erase",
        "--platform",
        "photon",
        "--all",
        "--erase-device-keys",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (code, v) = verify();
    assert_eq!(code, Some(1));
    assert_eq!(v["bytes_differing"], programmed, "the whole chip erased");
}

/// read, erase and reset with --json on an emulated Photon: each prints one document with
/// its schema and tool version, and the read dump is what the device holds.
#[cfg(feature = "emulator")]
#[test]
fn read_erase_and_reset_print_json_documents() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, photon) = common::catalog_hex(d, "2.3.1", "photon", true);
    let run = |command: &[&str]| {
        let out = emulated::run_on(d, "STM32F205RG", "dev.hex", command);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let mut v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["schema"], 1);
        assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(v["device_id"].as_str().unwrap().len(), 24);
        v["version"] = "[version]".into();
        v["device_id"] = "[device id]".into();
        v
    };
    let out = emulated::run_on(d, "STM32F205RG", "dev.hex", &["flash", "photon.hex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let v = run(&[
        "read",
        "--json",
        "--platform",
        "photon",
        "--range",
        "0x08020000:0x08040000",
        "-o",
        "dump.hex",
    ]);
    let (dump, _) = hex::parse(&std::fs::read(d.join("dump.hex")).unwrap()).unwrap();
    assert_eq!(v["bytes"], dump.len());
    assert_eq!(v["bytes"], 0x2_0000);
    assert_eq!(v["memory_sha256"], ::hex::encode(dump.sha256()));
    // The sector holds the image's bytes where it has some, erased flash elsewhere.
    let held = dump.read(0x0802_0000, 0x2_0000).unwrap();
    for (i, b) in held.iter().enumerate() {
        let address = 0x0802_0000 + i as u64;
        let expected = photon.read(address, 1).map_or(0xFF, |s| s[0]);
        assert_eq!(*b, expected, "at {address:#010x}");
    }
    insta::assert_json_snapshot!("read_document", v);

    let erase = |what: &[&str]| run(&[&["erase", "--json", "--platform", "photon"], what].concat());
    let v = erase(&["--range", "0x08020000:0x08040000"]);
    insta::assert_json_snapshot!("erase_document", v);
    let v = erase(&["--all", "--erase-device-keys"]);
    assert_eq!(v["whole_chip"], true);
    let v = run(&["reset", "--json", "--platform", "photon"]);
    insta::assert_json_snapshot!("reset_document", v);
}
