//! The station's screen as an operator sees it: a rehearsal on emulated boards run inside
//! a real terminal (tmux, a pseudo-terminal with a screen buffer), its screen captured at
//! a PASS, at a FAIL and after a Ctrl-C in the middle of writing a board. Needs `tmux`
//! (Debian: `apt-get install tmux`); the test fails, never skips, without it.

#![cfg(feature = "emulator")]

mod common;

use common::catalog_hex;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of this test's own, killed when dropped.
struct Terminal {
    socket: String,
}

impl Terminal {
    fn start(dir: &Path, command: &str) -> Terminal {
        let socket = format!("hexsmith-test-{}", std::process::id());
        let terminal = Terminal { socket };
        let status = terminal
            .tmux(&[
                "new-session",
                "-d",
                "-x",
                "100",
                "-y",
                "32",
                "-s",
                "station",
                "-c",
            ])
            .arg(dir)
            .arg(command)
            .status()
            .expect("tmux runs (apt-get install tmux)");
        assert!(status.success());
        terminal
    }

    fn tmux(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket, "-f", "/dev/null"]).args(args);
        cmd
    }

    fn screen(&self) -> String {
        let out = self
            .tmux(&["capture-pane", "-p", "-t", "station"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    /// The screen once `ready` holds for it, polled every 100 ms for up to two minutes.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "never saw {what}:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Lines that scrolled off the top: a screen redrawn in place scrolls none.
    fn scrolled(&self) -> usize {
        let out = self
            .tmux(&["display-message", "-p", "-t", "station", "#{history_size}"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]).status();
    }
}

fn line_with<'a>(screen: &'a str, text: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(text))
        .unwrap_or_else(|| panic!("no line with {text:?}:\n{screen}"))
}

#[test]
fn the_station_screen_at_a_pass_a_fail_and_a_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    catalog_hex(dir.path(), "4.0.1", "boron", true);
    // The second board is locked (APPROTECT): a FAIL with no device ID and no time spent.
    common::emulated::locked_nrf52840(&dir.path().join("b.hex"));
    // The shell ignores Ctrl-C (hexsmith sets its own handler) and stays, so that the
    // screen is read as the station left it, with its exit status below.
    let command = format!(
        "trap '' INT; {} flash --station --poll-ms 1500 --emulate nRF52840_xxAA --emulate-state a.hex --emulate-state b.hex --emulate-state c.hex --log line.jsonl boron.hex; echo exit status $?; sleep 600",
        env!("CARGO_BIN_EXE_hexsmith")
    );
    let term = Terminal::start(dir.path(), &command);

    // A board being written: its percentage in bytes with the rate and time left.
    let writing = term.wait_for("the first board being written", |s| s.contains("writing "));
    let line = line_with(&writing, "writing ");
    assert!(line.starts_with("fixture: board e00fce68"), "{line}");
    assert!(line.contains(" KiB") && line.contains("%"), "{line}");
    assert!(!writing.contains("0/0"), "{writing}");

    // A PASS: the verdict in block letters, the counts, the last results.
    let pass = term.wait_for("a PASS", |s| s.contains("passed 1 "));
    eprintln!("at the PASS:\n{pass}");
    assert!(
        pass.lines()
            .next()
            .unwrap()
            .starts_with("station: boron (nRF52840_xxAA), image ")
    );
    assert!(pass.contains("█████    ████    █████   █████"), "{pass}");
    let verdict = line_with(&pass, "fixture: PASS e00fce68");
    assert!(verdict.contains(" on emulated:a.hex in "), "{verdict}");
    let counts = line_with(&pass, "passed 1 ");
    assert!(
        counts.starts_with("passed 1   failed 0   yield 100.0 %   time per board "),
        "{counts}"
    );
    assert!(pass.contains("last results:\n  "), "{pass}");
    assert_eq!(pass.matches("  PASS  e00fce68").count(), 1, "{pass}");
    // No progress line left under the verdict.
    assert!(!pass.contains("writing "), "{pass}");
    let seconds = |line: &str| -> String {
        line.rsplit(" in ")
            .next()
            .unwrap()
            .trim_end_matches(" s")
            .to_string()
    };
    let first_board = seconds(verdict);

    // A FAIL and why; the locked board's 0.0 s does not count in the time per board.
    let fail = term.wait_for("a FAIL", |s| s.contains("failed 1 "));
    eprintln!("at the FAIL:\n{fail}");
    assert_eq!(term.scrolled(), 0, "{fail}");
    let counts = line_with(&fail, "failed 1 ");
    assert_eq!(
        counts,
        format!("passed 1   failed 1   yield 50.0 %   time per board {first_board} s")
    );
    assert!(fail.contains("██████   ████   ██████  ██"), "{fail}");
    line_with(&fail, "fixture: FAIL (no device ID) on emulated:b.hex");
    assert!(
        fail.contains("is locked") && fail.contains("--recover"),
        "{fail}"
    );
    // The waiting line names the fixture, not the board last flashed.
    let waiting = line_with(&fail, "waiting for the next one");
    assert!(
        waiting.starts_with("fixture: take the board off"),
        "{waiting}"
    );
    assert!(!waiting.contains("a.hex"), "{waiting}");
    let recent: Vec<&str> = fail
        .lines()
        .skip_while(|l| *l != "last results:")
        .skip(1)
        .collect();
    assert!(
        recent[0].contains("  FAIL  (no device ID)") && recent[1].contains("  PASS  e00fce68"),
        "{fail}"
    );

    // Ctrl-C while the third board is being written: it stops, the screen says so, and
    // no frozen progress line is left; the summary follows the last frame.
    term.wait_for("the third board being written", |s| {
        s.contains("writing ") && s.contains("failed 1 ")
    });
    let status = term
        .tmux(&["send-keys", "-t", "station", "C-c"])
        .status()
        .unwrap();
    assert!(status.success());
    let end = term.wait_for("the end of the run", |s| s.contains("exit status "));
    eprintln!("after Ctrl-C:\n{end}");
    assert_eq!(term.scrolled(), 0, "{end}");
    line_with(&end, "exit status 130");
    assert!(!end.contains("writing "), "{end}");
    line_with(&end, "fixture: STOP e00fce68");
    assert!(end.contains(" █████  ██████   ████   █████"), "{end}");
    line_with(
        &end,
        &format!(
            "passed 1   failed 1   yield 50.0 %   time per board {first_board} s   interrupted 1"
        ),
    );
    line_with(&end, "interrupted 1");
    line_with(
        &end,
        "station: 3 devices, 1 passed, 1 failed, 1 interrupted; mean ",
    );
    // Redrawn in place: the frame still starts on the terminal's first line.
    assert!(
        end.starts_with("station: boron (nRF52840_xxAA), image "),
        "{end}"
    );
    assert_eq!(end.matches("station: boron").count(), 1, "{end}");

    let log = std::fs::read_to_string(dir.path().join("line.jsonl")).unwrap();
    let results: Vec<String> = log
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["result"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(results, ["ok", "failed", "interrupted"]);
}
